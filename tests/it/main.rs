//! Integration tests, compiled as one binary: one module per area.

mod cli_formats;
mod formats_app;
mod formats_gitlab_trace;
mod formats_journal;
mod formats_kernel;
mod grammars;
mod hostile;
mod lean;
mod parse_chunked;
mod reasoning;
mod redaction;
mod reports;
mod robust;
mod samples;
mod support;
