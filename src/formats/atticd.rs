//! Placeholder for the `atticd` format, being written in parallel; it recognises nothing yet.

use super::{Format, Sink};
use crate::ingest::Source;
use crate::lines::Lines;

/// atticd (Rust tracing fmt output) and the attic client's output.
pub struct Atticd;

impl Format for Atticd {
    fn name(&self) -> &'static str {
        "atticd"
    }
    fn description(&self) -> &'static str {
        "atticd (Rust tracing fmt output) and the attic client's output"
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
