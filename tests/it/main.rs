//! The integration test binary: one module per area.

mod redaction;
mod reports;
