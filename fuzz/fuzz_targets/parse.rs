//! Fuzz target: every format's `sniff` and `parse` on arbitrary bytes. The first byte picks
//! the format to force (or none: sniffing decides); the line accounting must add up.
#![no_main]

use gaplog::formats::{FORMATS, parse_source, sniff};
use gaplog::ingest::Source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    for f in FORMATS {
        let _ = f.sniff(rest);
    }
    let _ = sniff(rest);
    let forced = (sel as usize)
        .checked_rem(FORMATS.len() + 1)
        .filter(|&i| i < FORMATS.len())
        .map(|i| i as u16);
    let src = Source::from_bytes(0, "fuzz", rest.to_vec());
    let p = parse_source(&src, forced);
    assert_eq!(p.counts.total(), src.lines, "line accounting");
    for e in &p.events {
        assert!(e.line >= 1 && e.line <= e.end_line && u64::from(e.end_line) <= src.lines.max(1));
    }
});
