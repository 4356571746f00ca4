//! Integration tests, compiled as one binary: one module per area.

mod cli_formats;
mod formats_journal;
mod formats_kernel;
mod parse_chunked;
