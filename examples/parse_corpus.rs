//! Parses every file given on the command line on one worker thread, as `gaplog analyze -j1`
//! does (read, sniff, parse, keep the referenced text, trim the vectors, results kept to the
//! end), and prints
//! the parse time per format and the CPU seconds (user, system) of the parse alone: a
//! profiling aid for the parse stage (`perf record` on it sees no later stage).
//!
//! `cargo run --release --example parse_corpus -- $(find CORPUS -type f | sort)`

use gaplog::formats;
use gaplog::ingest::{self, IngestOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// (user, system) CPU seconds of this process so far, from `/proc/self/stat`.
fn cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split(' ').map(|x| x.parse().unwrap_or(0.0)).collect();
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 Hz).
    (
        f.get(11).copied().unwrap_or(0.0) / 100.0,
        f.get(12).copied().unwrap_or(0.0) / 100.0,
    )
}

fn main() {
    let inputs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let found = ingest::discover(&inputs);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    pool.install(|| {
        // (files, bytes, ns, events) per format
        let mut per: BTreeMap<&str, (usize, u64, u128, usize)> = BTreeMap::new();
        let mut kept_all = Vec::new();
        let (mut read_ns, mut parse_ns) = (0u128, 0u128);
        let (mut u, mut s) = (0.0, 0.0);
        for (i, f) in found.iter().enumerate() {
            let t = Instant::now();
            let src = ingest::read(i as u32, f, &IngestOptions::default());
            read_ns += t.elapsed().as_nanos();
            let (u0, s0) = cpu();
            let t = Instant::now();
            let mut p = formats::parse_source(&src, None);
            let kept = formats::keep_referenced_text(&mut p.events, &mut p.fields, &src.bytes);
            // As the loader does after parsing (part of its parse stage).
            p.events.shrink_to_fit();
            let ns = t.elapsed().as_nanos();
            let (u1, s1) = cpu();
            (u, s) = (u + u1 - u0, s + s1 - s0);
            parse_ns += ns;
            let name = p.format.map_or("none", formats::name_of);
            let e = per.entry(name).or_default();
            e.0 += 1;
            e.1 += src.bytes.len() as u64;
            e.2 += ns;
            e.3 += p.events.len();
            kept_all.push((p, kept));
        }
        for (name, (files, bytes, ns, events)) in &per {
            let ms = *ns as f64 / 1e6;
            println!(
                "{name:>16}: {files:>5} files {:>8.1} MB {events:>9} events {ms:>8.1} ms {:>5.2} ms/MB",
                *bytes as f64 / 1e6,
                ms / (*bytes as f64 / 1e6)
            );
        }
        println!(
            "read {:.1} ms, parse {:.1} ms, parse CPU user {u:.2} s system {s:.2} s",
            read_ns as f64 / 1e6,
            parse_ns as f64 / 1e6
        );
    });
}
