//! Fuzz target: the grammar loader and compiler on arbitrary text, as a signal file or a
//! playbook (first byte), added to the embedded grammar: errors must be reported, never
//! panicked on, and a grammar that compiles must scan a line without panicking.
#![no_main]

use gaplog::signals::Catalog;
use gaplog::signals::grammar::Raw;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(mut raw) = Raw::embedded() else {
        return;
    };
    let playbook = sel & 1 == 1;
    let name = if playbook { "fuzz/playbook.toml" } else { "fuzz/signals/x.toml" };
    if raw.add(name, text.to_string(), playbook).is_err() {
        return;
    }
    if let Ok(catalog) = Catalog::compile(&raw) {
        let _ = catalog.candidates(b"Out of memory: Killed process 1 (x) total-vm:1kB");
    }
});
