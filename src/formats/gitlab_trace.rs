//! Placeholder for the `gitlab-trace` format, being written in parallel; it recognises nothing yet.

use super::{Format, Sink};
use crate::ingest::Source;
use crate::lines::Lines;

/// GitLab CI job traces (raw with ANSI and section markers, or copied from the web page).
pub struct GitlabTrace;

impl Format for GitlabTrace {
    fn name(&self) -> &'static str {
        "gitlab-trace"
    }
    fn description(&self) -> &'static str {
        "GitLab CI job traces (raw with ANSI and section markers, or copied from the web page)"
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
