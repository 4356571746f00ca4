//! Placeholder for the `journal-json` format, being written in parallel; it recognises nothing yet.

use super::{Format, Sink};
use crate::ingest::Source;
use crate::lines::Lines;

/// systemd journal JSON (journalctl -o json, json-pretty, json-seq, json-sse).
pub struct JournalJson;

impl Format for JournalJson {
    fn name(&self) -> &'static str {
        "journal-json"
    }
    fn description(&self) -> &'static str {
        "systemd journal JSON (journalctl -o json, json-pretty, json-seq, json-sse)"
    }
    fn sniff(&self, _sample: &[u8]) -> u8 {
        0
    }
    fn parse(&self, src: &Source, sink: &mut Sink<'_>) {
        for line in Lines::new(&src.bytes, src.terminator) {
            sink.unparsed(&line, "not implemented");
        }
    }
}
