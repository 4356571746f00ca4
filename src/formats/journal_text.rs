//! Placeholder for the `journal-text` format, being written in parallel; it recognises nothing yet.

use super::{Format, Sink};
use crate::ingest::Source;
use crate::lines::Lines;

/// journalctl text modes (short, short-iso, short-precise, short-full, short-monotonic, short-unix).
pub struct JournalText;

impl Format for JournalText {
    fn name(&self) -> &'static str {
        "journal-text"
    }
    fn description(&self) -> &'static str {
        "journalctl text modes (short, short-iso, short-precise, short-full, short-monotonic, short-unix)"
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
