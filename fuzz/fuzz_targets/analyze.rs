//! Fuzz target: the whole analysis on in-memory inputs. The data is cut into up to three
//! sources at 0xff 0x00 separators; every stage runs, then every renderer.
#![no_main]

use gaplog::ingest::Source;
use gaplog::signals::Catalog;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The embedded grammar, compiled once (compiling it per input made the target ~100x slower).
fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| Catalog::embedded().expect("the embedded grammar compiles"))
}

fuzz_target!(|data: &[u8]| {
    let mut sources = Vec::new();
    for (i, part) in data.split(|&b| b == 0xff).take(3).enumerate() {
        sources.push(Source::from_bytes(i as u32, format!("in{i}.log"), part.to_vec()));
    }
    let opts = gaplog::Options {
        threads: Some(1),
        ..Default::default()
    };
    let Ok((tl, timings)) = gaplog::load_sources(sources, &opts) else {
        return;
    };
    if let Ok(a) = gaplog::analyze_timeline_with(&tl, timings, catalog()) {
        let _ = gaplog::report::json(&a);
    }
});
