//! Fuzz target: the whole analysis on in-memory inputs. The data is cut into up to three
//! sources at 0xff 0x00 separators; every stage runs, then every renderer.
#![no_main]

use gaplog::ingest::Source;
use libfuzzer_sys::fuzz_target;

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
    if let Ok(a) = gaplog::analyze_timeline(&tl, timings, &opts) {
        let _ = gaplog::report::json(&a);
    }
});
