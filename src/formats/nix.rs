//! Placeholder for the `nix` format, being written in parallel; it recognises nothing yet.

use super::{Format, Sink};
use crate::ingest::Source;
use crate::lines::Lines;

/// Nix, nix-store, nix copy and nixos-rebuild terminal output.
pub struct Nix;

impl Format for Nix {
    fn name(&self) -> &'static str {
        "nix"
    }
    fn description(&self) -> &'static str {
        "Nix, nix-store, nix copy and nixos-rebuild terminal output"
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
