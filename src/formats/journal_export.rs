//! Placeholder for the `journal-export` format, being written in parallel; it recognises nothing yet.

use super::{Format, Sink};
use crate::ingest::Source;
use crate::lines::Lines;

/// systemd journal export format (journalctl -o export), binary fields included.
pub struct JournalExport;

impl Format for JournalExport {
    fn name(&self) -> &'static str {
        "journal-export"
    }
    fn description(&self) -> &'static str {
        "systemd journal export format (journalctl -o export), binary fields included"
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
