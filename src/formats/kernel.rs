//! Placeholder for the `kernel` format, being written in parallel; it recognises nothing yet.

use super::{Format, Sink};
use crate::ingest::Source;
use crate::lines::Lines;

/// kernel ring buffer (dmesg raw, -T, --time-format iso, /dev/kmsg records, kern.log) with OOM blocks kept together.
pub struct Kernel;

impl Format for Kernel {
    fn name(&self) -> &'static str {
        "kernel"
    }
    fn description(&self) -> &'static str {
        "kernel ring buffer (dmesg raw, -T, --time-format iso, /dev/kmsg records, kern.log) with OOM blocks kept together"
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
