//! Fuzz target: the whole analysis on in-memory inputs. The data is cut into up to three
//! sources at 0xff separators; every stage runs, then the JSON renderer. The analysis runs
//! twice, on a timeline that kept every text and on one that kept only the quoted events'
//! (what `gaplog analyze` does), and the two reports must be equal.
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

fn report(data: &[u8], keep: gaplog::Keep<'_>) -> Option<String> {
    let mut sources = Vec::new();
    for (i, part) in data.split(|&b| b == 0xff).take(3).enumerate() {
        sources.push(Source::from_bytes(i as u32, format!("in{i}.log"), part.to_vec()));
    }
    let opts = gaplog::Options {
        threads: Some(1),
        ..Default::default()
    };
    let (tl, timings) = gaplog::load_sources_keeping(sources, &opts, keep).ok()?;
    let a = gaplog::analyze_timeline_with(&tl, timings, catalog()).ok()?;
    Some(gaplog::report::json(&a))
}

fuzz_target!(|data: &[u8]| {
    let full = report(data, gaplog::Keep::All);
    let quoted = report(data, gaplog::Keep::Quoted(catalog()));
    assert_eq!(full, quoted, "the analysis of a timeline without unquoted text differs");
});
