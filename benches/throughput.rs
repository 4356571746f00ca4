//! Throughput benchmarks of gaplog's hot paths (criterion, `cargo bench`; CI compiles them
//! with `cargo bench --no-run`). Every group reports bytes per second.
//!
//! Inputs are the test fixtures repeated to a few MiB in memory, so the figures measure
//! the code, not the disk:
//! - `parse/<case>`: one format's `parse` on one thread, for the formats whose inputs the
//!   corpus is made of (journal JSON, export, short-iso, dmesg with OOM reports, coloured
//!   atticd request lines, GitLab traces with FF_TIMESTAMPS);
//! - `format/<name>`: every registered format (atticd, GitLab traces, ... whatever
//!   [`FORMATS`] holds when this is built), on the largest fixture or sample file that
//!   sniffs as that format; a format with no such file is skipped with a note;
//! - `parse_source/<case>`: sniffing plus the chunked parallel parse on the default pool
//!   (`gitlab-trace-small-file`: one 2 KB trace as it is, for folders of many small files);
//! - `lines`, `time`: line splitting and timestamp parsing;
//! - `timeline/load_sources`: parse, clock alignment and the merge of several sources;
//! - `miner/*`: the template miner (`gaplog templates`, the unexplained-errors stage).
//!
//! - `signals/scan`, `signals/scan_memo`: the signal scan (literal prefilter and rules) per
//!   source, without and with the memo of texts holding no literal;
//! - `signals/literals_automaton`, `signals/literals_gate`, `signals/literals_gate_learned`:
//!   the literal search alone, with the automaton only and behind the learned 3-gram gate
//!   (`signals::gate`), fresh and already learned;
//! - `reasoning/analyze_timeline`: every stage after the timeline.
//!
//! Run one group: `cargo bench --bench throughput -- parse/`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gaplog::formats::{self, FORMATS, Sink};
use gaplog::ingest::{self, IngestOptions, Source};
use gaplog::lines::{Lines, Terminator, count_lines};
use std::hint::black_box;
use std::path::PathBuf;

/// Size the fixtures are repeated to.
const TARGET: usize = 4 << 20;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `bytes` repeated (each copy ending with a newline) until at least [`TARGET`] bytes.
fn repeat(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(TARGET + bytes.len() + 1);
    while out.len() < TARGET && !bytes.is_empty() {
        out.extend_from_slice(bytes);
        if !bytes.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

/// A fixture file repeated to [`TARGET`] bytes, as a source.
fn fixture(rel: &str) -> Source {
    let p = root().join("tests/fixtures").join(rel);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    Source::from_bytes(0, rel, repeat(&bytes))
}

/// Every readable fixture and sample file (decompressed).
fn all_inputs() -> Vec<Source> {
    let dirs: Vec<PathBuf> = ["tests/fixtures", "samples"]
        .iter()
        .map(|d| root().join(d))
        .filter(|d| d.is_dir())
        .collect();
    ingest::discover(&dirs)
        .iter()
        .enumerate()
        .map(|(i, f)| ingest::read(i as u32, f, &IngestOptions::default()))
        .filter(|s| s.lines > 0 && s.issues.is_empty())
        .collect()
}

/// The format's parse of `src` on one thread.
fn parse_once(src: &Source, fi: u16) -> usize {
    let mut sink = Sink::new(src, fi);
    FORMATS[fi as usize].parse(src, &mut sink);
    sink.events.len()
}

fn parsers(c: &mut Criterion) {
    let cases = [
        ("journal-json", "journal/multi-boot.json", "journal-json"),
        (
            "journal-export",
            "journal/multi-boot.export",
            "journal-export",
        ),
        (
            "journal-short-iso",
            "journal/multi-boot.short-iso",
            "journal-text",
        ),
        ("dmesg-oom", "kernel/oom-6.1-interleaved.dmesg", "kernel"),
        // Like the corpus's atticd part: coloured tower-http request lines.
        (
            "atticd-ansi",
            "atticd/tower-http-requests-ansi.log",
            "atticd",
        ),
        // Like the corpus's job traces: FF_TIMESTAMPS, sections, cargo output.
        (
            "gitlab-trace-stamped",
            "gitlab/timestamped-cargo-build-success.log",
            "gitlab-trace",
        ),
    ];
    let mut g = c.benchmark_group("parse");
    for (case, file, format) in cases {
        let src = fixture(file);
        let fi = formats::by_name(format).expect("registered").0;
        g.throughput(Throughput::Bytes(src.bytes.len() as u64));
        g.bench_function(case, |b| b.iter(|| black_box(parse_once(&src, fi))));
    }
    g.finish();

    let mut g = c.benchmark_group("parse_source");
    for (case, file) in [
        ("journal-json", "journal/multi-boot.json"),
        ("dmesg-oom", "kernel/oom-6.1-interleaved.dmesg"),
    ] {
        let src = fixture(file);
        g.throughput(Throughput::Bytes(src.bytes.len() as u64));
        g.bench_function(case, |b| {
            b.iter(|| black_box(formats::parse_source(&src, None).events.len()))
        });
    }
    // A folder of many small job traces: sniffing and per-source setup weigh as much as
    // the lines (the fixture as it is, 2 KB, sniffed and parsed).
    let raw =
        std::fs::read(root().join("tests/fixtures/gitlab/timestamped-cargo-build-success.log"))
            .expect("fixture");
    let small = Source::from_bytes(0, "jobs/4711.log", raw);
    g.throughput(Throughput::Bytes(small.bytes.len() as u64));
    g.bench_function("gitlab-trace-small-file", |b| {
        b.iter(|| black_box(formats::parse_source(&small, None).events.len()))
    });
    g.finish();
}

/// Every registered format on the largest input that sniffs as it: measures whatever
/// parsers exist when this is built (atticd, GitLab traces and runner logs, Nix).
fn every_format(c: &mut Criterion) {
    let inputs = all_inputs();
    let mut g = c.benchmark_group("format");
    for (fi, f) in FORMATS.iter().enumerate() {
        let fi = fi as u16;
        let Some(best) = inputs
            .iter()
            .filter(|s| formats::sniff(&s.bytes) == Some(fi))
            .max_by_key(|s| s.bytes.len())
        else {
            eprintln!(
                "format/{}: no fixture or sample sniffs as it, skipped",
                f.name()
            );
            continue;
        };
        let src = Source::from_bytes(0, best.path.clone(), repeat(&best.bytes));
        g.throughput(Throughput::Bytes(src.bytes.len() as u64));
        g.bench_function(f.name(), |b| b.iter(|| black_box(parse_once(&src, fi))));
    }
    g.finish();
}

fn lines(c: &mut Criterion) {
    let src = fixture("journal/multi-boot.short-iso");
    let bytes: &[u8] = &src.bytes;
    let mut g = c.benchmark_group("lines");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("iterate", |b| {
        b.iter(|| {
            Lines::new(black_box(bytes), Terminator::Lf)
                .map(|l| l.text.len())
                .sum::<usize>()
        })
    });
    g.bench_function("count", |b| {
        b.iter(|| count_lines(black_box(bytes), Terminator::Lf))
    });
    g.finish();
}

fn time(c: &mut Criterion) {
    let rfc: Vec<&[u8]> = vec![
        b"2026-03-24T10:00:00.123456+01:00",
        b"2026-03-24T10:00:00Z",
        b"2026-03-24T10:00:00+0100",
        b"2025-12-31T23:59:59.999999999-05:00",
    ];
    let bsd: Vec<&[u8]> = vec![
        b"Mar 24 10:00:00",
        b"Dec  1 23:59:59.123456",
        b"Feb 29 00:00:00",
    ];
    let mono: Vec<&[u8]> = vec![b"1234.567890", b"5.000100", b"1774346400.123456"];
    let mut g = c.benchmark_group("time");
    let bytes = |v: &[&[u8]]| v.iter().map(|s| s.len() as u64).sum::<u64>();
    g.throughput(Throughput::Bytes(bytes(&rfc)));
    g.bench_function("rfc3339", |b| {
        b.iter(|| {
            rfc.iter()
                .filter_map(|s| gaplog::time::parse_rfc3339(black_box(s)))
                .count()
        })
    });
    g.throughput(Throughput::Bytes(bytes(&bsd)));
    g.bench_function("bsd", |b| {
        b.iter(|| {
            bsd.iter()
                .filter_map(|s| gaplog::time::parse_bsd(black_box(s)))
                .count()
        })
    });
    g.throughput(Throughput::Bytes(bytes(&mono)));
    g.bench_function("secs_us", |b| {
        b.iter(|| {
            mono.iter()
                .filter_map(|s| gaplog::time::parse_secs_us(black_box(s)))
                .count()
        })
    });
    g.finish();
}

/// Parse, clock alignment and merge of the mixed folder's sources, each repeated.
fn timeline(c: &mut Criterion) {
    let dir = root().join("tests/fixtures/mixed");
    let files: Vec<(String, Vec<u8>)> = ingest::discover(&[dir])
        .iter()
        .map(|f| {
            let s = ingest::read(0, f, &IngestOptions::default());
            (s.path.clone(), repeat(&s.bytes))
        })
        .collect();
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    let opts = gaplog::Options::default();
    let mut g = c.benchmark_group("timeline");
    g.throughput(Throughput::Bytes(total as u64));
    g.sample_size(10);
    g.bench_function("load_sources", |b| {
        b.iter_batched(
            || {
                files
                    .iter()
                    .enumerate()
                    .map(|(i, (p, bytes))| Source::from_bytes(i as u32, p.clone(), bytes.clone()))
                    .collect::<Vec<_>>()
            },
            |sources| {
                let (tl, _) = gaplog::load_sources(sources, &opts).expect("loads");
                tl.order.len()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// The template miner on real messages: the first line of every event of the samples,
/// repeated to [`TARGET`] bytes. `miner/mask` masks each line into one reused buffer,
/// `miner/mine` masks and clusters them on one thread (what `gaplog templates -j1` does
/// per line), `miner/unexplained` is the analysis stage on the mixed fixtures' timeline
/// (error selection among all events, then mining; no signal explains any of them).
fn miner(c: &mut Criterion) {
    use gaplog::incidents::unexplained::{Masked, Miner, mine};
    let opts = gaplog::Options::default();
    let (tl, _) = gaplog::load(&[root().join("samples")], &opts).expect("loads");
    let mut messages = Vec::new();
    for &r in &tl.order {
        messages.extend_from_slice(tl.first_line(r));
        messages.push(b'\n');
    }
    let text = repeat(&messages);
    let lines: Vec<&[u8]> = Lines::new(&text, Terminator::Lf).map(|l| l.text).collect();
    let mut g = c.benchmark_group("miner");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("mask", |b| {
        let mut m = Masked::default();
        b.iter(|| {
            let mut n = 0;
            for l in &lines {
                m.clear();
                m.push(l);
                n += m.tokens(0).count();
            }
            n
        })
    });
    g.bench_function("mine", |b| {
        b.iter(|| {
            let mut m: Miner<u32> = Miner::default();
            for (i, l) in lines.iter().enumerate() {
                m.add_line(l, None, i as u32);
            }
            m.len()
        })
    });
    let (tl, _) = gaplog::load(&[root().join("tests/fixtures/mixed")], &opts).expect("loads");
    let total: u64 = tl.sources.iter().map(|s| s.src.bytes.len() as u64).sum();
    g.throughput(Throughput::Bytes(total));
    g.bench_function("unexplained", |b| b.iter(|| mine(&tl, &[]).len()));
    g.finish();
}

/// The signal scan and the unexplained-error pick as `analyze` runs them on each source
/// (the literal prefilter, the regexes of the rules whose literal occurs, the error words
/// of the events without hits), over every event of the samples, in bytes of message per
/// second: `signals/scan_then_pick` as two passes without memo (the path of a timeline
/// loaded with its text), `signals/scan_pick_memo` fused in one pass with a fresh
/// [`gaplog::signals::ScanMemo`] per iteration (the samples' repeated lines hit it).
fn signals(c: &mut Criterion) {
    use gaplog::incidents::unexplained::pick_source;
    use gaplog::signals::{Catalog, ScanMemo};
    let opts = gaplog::Options::default();
    let (tl, _) = gaplog::load(&[root().join("samples")], &opts).expect("loads");
    let cat = Catalog::embedded().expect("the embedded grammar compiles");
    let bytes: u64 = tl
        .sources
        .iter()
        .flat_map(|s| s.views())
        .map(|v| v.message.len() as u64)
        .sum();
    let mut g = c.benchmark_group("signals");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("scan_then_pick", |b| {
        b.iter(|| {
            tl.sources
                .iter()
                .map(|s| {
                    let hits = cat.scan_source(s.views(), &s.parsed.atoms, &s.src.bytes);
                    let mut hit: Vec<u32> = hits.iter().map(|h| h.index).collect();
                    hit.dedup();
                    let picked = pick_source(s.views(), |i| hit.binary_search(&(i as u32)).is_ok());
                    hits.len() + picked.len()
                })
                .sum::<usize>()
        })
    });
    g.bench_function("scan_pick_memo", |b| {
        b.iter(|| {
            let mut memo = ScanMemo::default();
            tl.sources
                .iter()
                .map(|s| {
                    let (hits, picked) = cat.scan_pick_source(
                        s.views(),
                        &s.parsed.atoms,
                        &s.src.bytes,
                        &s.digest.msg,
                        &mut memo,
                    );
                    hits.len() + picked.len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
    literals(c, &tl, &cat);
}

/// Whether each distinct message of the samples holds a literal of the embedded catalog
/// (the question the scan memo leaves to the literal search), in bytes of message per
/// second: `signals/literals_automaton` asks the ASCII case-insensitive automaton built as
/// the catalog builds it, `signals/literals_gate` asks a [`gaplog::signals::gate::Gate`]
/// first, fresh per iteration (so its learning is measured too: the 5,997 texts of the
/// samples are small enough for the 1,024 it learns from to weigh), and
/// `signals/literals_gate_learned` one that has already learned from these texts (the
/// steady state of a worker on a large input; the samples are incident logs, dense in
/// literals: it asks the automaton about 1,984 texts, of which 860 hold a literal).
fn literals(c: &mut Criterion, tl: &gaplog::timeline::Timeline, cat: &gaplog::signals::Catalog) {
    use gaplog::signals::gate::{Gate, Grams};
    let mut lits: Vec<String> = cat
        .rules
        .iter()
        .flat_map(|r| r.literals.iter().map(|l| l.to_ascii_lowercase()))
        .collect();
    lits.sort_unstable();
    lits.dedup();
    let ac = gaplog::signals::literal_automaton(&lits).expect("the literals build an automaton");
    let grams = Grams::new(&lits);
    let mut seen = std::collections::HashSet::new();
    let texts: Vec<&[u8]> = tl
        .sources
        .iter()
        .flat_map(|s| s.views())
        .map(|v| v.message)
        .filter(|m| seen.insert(*m))
        .collect();
    let bytes: u64 = texts.iter().map(|t| t.len() as u64).sum();
    let mut g = c.benchmark_group("signals");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("literals_automaton", |b| {
        b.iter(|| texts.iter().filter(|t| ac.is_match(t)).count())
    });
    g.bench_function("literals_gate", |b| {
        b.iter(|| {
            let mut gate = Gate::default();
            texts
                .iter()
                .filter(|t| gate.check(&grams, t, |t| ac.is_match(t)))
                .count()
        })
    });
    // A gate that has learned from the texts once, cloned for each iteration.
    let mut learned = Gate::default();
    for t in &texts {
        learned.check(&grams, t, |t| ac.is_match(t));
    }
    g.bench_function("literals_gate_learned", |b| {
        b.iter(|| {
            let mut gate = learned.clone();
            texts
                .iter()
                .filter(|t| gate.check(&grams, t, |t| ac.is_match(t)))
                .count()
        })
    });
    g.finish();
}

/// The whole pipeline after the timeline (`analyze_timeline`) on the mixed fixtures.
fn reasoning_benches(c: &mut Criterion) {
    let dir = root().join("tests/fixtures/mixed");
    let opts = gaplog::Options::default();
    let (tl, timings) = gaplog::load(&[dir], &opts).expect("loads");
    let total: u64 = tl.sources.iter().map(|s| s.src.bytes.len() as u64).sum();
    let mut g = c.benchmark_group("reasoning");
    g.throughput(Throughput::Bytes(total));
    g.bench_function("analyze_timeline", |b| {
        b.iter(|| {
            gaplog::analyze_timeline(&tl, timings.clone(), &opts)
                .expect("analyzes")
                .stats
                .events
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    parsers,
    every_format,
    lines,
    time,
    timeline,
    miner,
    signals,
    reasoning_benches
);
criterion_main!(benches);
