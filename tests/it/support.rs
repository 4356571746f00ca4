//! Helpers shared by the format tests: load a fixture as the CLI does, and read an event's
//! message and fields as text.

use gaplog::event::Event;
use gaplog::formats::{self, Parsed};
use gaplog::ingest::{self, IngestOptions, Source};
use std::path::{Path, PathBuf};

/// `tests/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Reads (and decompresses) the fixture `rel` and parses it with the sniffed format.
pub fn load(rel: &str) -> (Source, Parsed) {
    let found = ingest::discover(&[fixtures().join(rel)]);
    assert_eq!(found.len(), 1, "{rel}");
    let src = ingest::read(0, &found[0], &IngestOptions::default());
    let parsed = formats::parse_source(&src, None);
    (src, parsed)
}

/// The event's message, lossily decoded.
pub fn msg(src: &Source, ev: &Event) -> String {
    String::from_utf8_lossy(ev.message.bytes(&src.bytes)).into_owned()
}

/// The event's field `k`, lossily decoded.
pub fn field(src: &Source, p: &Parsed, ev: &Event, k: &str) -> Option<String> {
    ev.field(&p.fields, &p.atoms, k, &src.bytes)
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// The event that starts at physical line `line`.
pub fn at_line(p: &Parsed, line: u32) -> &Event {
    p.events
        .iter()
        .find(|e| e.line == line)
        .unwrap_or_else(|| panic!("no event at line {line}"))
}
