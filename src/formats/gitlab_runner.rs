//! Placeholder for the `gitlab-runner` format, being written in parallel; it recognises nothing yet.

use super::{Format, Sink};
use crate::ingest::Source;
use crate::lines::Lines;

/// gitlab-runner daemon logs (runner, logrus text and JSON formats).
pub struct GitlabRunner;

impl Format for GitlabRunner {
    fn name(&self) -> &'static str {
        "gitlab-runner"
    }
    fn description(&self) -> &'static str {
        "gitlab-runner daemon logs (runner, logrus text and JSON formats)"
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
