//! gaplog: an offline postmortem analyzer for NixOS / GitLab CI / atticd outages.
//!
//! The library is the pipeline of ARCHITECTURE.md, one module per stage:
//! [`ingest`] -> [`formats`] -> [`clock`] -> [`timeline`] -> signals -> incidents ->
//! [`report`]. [`load`] runs the first four stages; [`analyze`] runs them all and returns
//! the [`analysis::Analysis`] every renderer draws from. The library never prints and never
//! exits.

pub mod analysis;
pub mod clock;
pub mod event;
pub mod formats;
pub mod ingest;
pub mod lines;
pub mod report;
pub mod text;
pub mod time;
pub mod timeline;

use analysis::{Analysis, SourceSummary, Stats, Timings};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;
use timeline::{SourceData, Timeline};

/// Errors that stop an analysis (problems with single inputs never do).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing was given.
    #[error("no inputs given")]
    NoInputs,
    /// A `--format PATH=NAME` names an unknown format.
    #[error("--format {pattern}={name}: {hint}")]
    UnknownFormat {
        /// The path pattern.
        pattern: String,
        /// The name given.
        name: String,
        /// The message with a "did you mean" hint.
        hint: String,
    },
    /// Building the DataFrame failed.
    #[error("timeline table: {0}")]
    Polars(#[from] polars::error::PolarsError),
    /// The thread pool could not be built.
    #[error("thread pool: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
}

/// Analysis options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Reading limits.
    pub ingest: ingest::IngestOptions,
    /// Clock settings.
    pub clock: clock::ClockOptions,
    /// Forced input formats: (path pattern, format name). A pattern matches a path that
    /// equals it or contains it.
    pub formats: Vec<(String, String)>,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
}

/// Runs ingest, parsing, clock alignment and the merge.
pub fn load(inputs: &[PathBuf], opts: &Options) -> Result<(Timeline, Timings), Error> {
    if inputs.is_empty() {
        return Err(Error::NoInputs);
    }
    forced_formats(opts)?;
    let pool = pool(opts)?;
    let td = Instant::now();
    let found = ingest::discover(inputs);
    let discover_ms = ms(td);
    let t0 = Instant::now();
    let sources: Vec<ingest::Source> = pool.install(|| {
        found
            .par_iter()
            .enumerate()
            .map(|(i, f)| ingest::read(i as u32, f, &opts.ingest))
            .collect()
    });
    let read_ms = ms(t0);
    let (tl, mut timings) = load_sources(sources, opts)?;
    timings.stages.insert(0, ("read".into(), read_ms));
    timings.stages.insert(0, ("discover".into(), discover_ms));
    Ok((tl, timings))
}

fn pool(opts: &Options) -> Result<rayon::ThreadPool, Error> {
    Ok(rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .build()?)
}

fn forced_formats(opts: &Options) -> Result<Vec<(String, u16)>, Error> {
    let mut forced = Vec::new();
    for (pattern, name) in &opts.formats {
        let (i, _) = formats::by_name(name).map_err(|hint| Error::UnknownFormat {
            pattern: pattern.clone(),
            name: name.clone(),
            hint,
        })?;
        forced.push((pattern.clone(), i));
    }
    Ok(forced)
}

/// Parses, aligns and merges sources that are already in memory (their ids must be their
/// positions). Used by [`load`], by tests and by the fuzz targets.
pub fn load_sources(
    sources: Vec<ingest::Source>,
    opts: &Options,
) -> Result<(Timeline, Timings), Error> {
    let forced = forced_formats(opts)?;
    let pool = pool(opts)?;
    let mut timings = Timings::default();
    let t0 = Instant::now();
    let mut sources: Vec<SourceData> = pool.install(|| {
        sources
            .into_par_iter()
            .map(|src| {
                let force = forced
                    .iter()
                    .find(|(p, _)| src.path == *p || src.path.contains(p.as_str()))
                    .map(|(_, i)| *i);
                let parsed = formats::parse_source(&src, force);
                SourceData {
                    src,
                    parsed,
                    clock_note: String::new(),
                }
            })
            .collect()
    });
    timings.stages.push(("parse".into(), ms(t0)));
    let t1 = Instant::now();
    {
        let mut inputs: Vec<clock::ClockInput<'_>> = sources
            .iter_mut()
            .map(|s| clock::ClockInput {
                path: &s.src.path,
                mtime: s.src.mtime,
                events: &mut s.parsed.events,
                atoms: &mut s.parsed.atoms,
                bytes: &s.src.bytes,
            })
            .collect();
        let notes = clock::align(&mut inputs, &opts.clock);
        drop(inputs);
        for (s, n) in sources.iter_mut().zip(notes) {
            s.clock_note = n;
        }
    }
    timings.stages.push(("clock".into(), ms(t1)));
    let t2 = Instant::now();
    let tl = pool.install(|| Timeline::build(sources));
    timings.stages.push(("timeline".into(), ms(t2)));
    Ok((tl, timings))
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// The per-source figures (`sources[]` of the report, `gaplog formats --json`).
pub fn source_summaries(tl: &Timeline) -> Vec<SourceSummary> {
    tl.sources
        .iter()
        .map(|s| {
            let p = &s.parsed;
            // Distinct host atoms first (a source has a handful): a string per event
            // cost 400 MB and 0.3 s per GB of input.
            let mut atoms = std::collections::HashSet::new();
            let mut last = None;
            for e in &p.events {
                if last != Some(e.host) {
                    last = Some(e.host);
                    atoms.insert(e.host);
                }
            }
            let mut hosts: Vec<String> = atoms
                .into_iter()
                .map(|a| p.atoms.get(a))
                .filter(|h| !h.is_empty())
                .map(str::to_string)
                .collect();
            hosts.sort();
            hosts.dedup();
            let timed = p.events.iter().filter(|e| {
                !matches!(
                    e.clock,
                    event::ClockMethod::Missing | event::ClockMethod::Monotonic
                )
            });
            let (first, last) =
                timed.fold((None, None), |(a, b): (Option<i64>, Option<i64>), e| {
                    (
                        Some(a.map_or(e.time, |a| a.min(e.time))),
                        Some(b.map_or(e.time, |b| b.max(e.time))),
                    )
                });
            SourceSummary {
                path: s.src.path.clone(),
                format: p.format.map_or("unknown", formats::name_of).to_string(),
                hosts,
                lines: s.src.lines,
                events: p.events.len() as u64,
                continuations: p.counts.continuation,
                unparsed: p.counts.unparsed,
                first: first.map(time::rfc3339),
                last: last.map(time::rfc3339),
                clock: s.clock_note.clone(),
                issues: p
                    .issues
                    .iter()
                    .map(|i| match (i.line, i.offset) {
                        (Some(l), Some(o)) => {
                            format!("{}:{l} (byte {o}): {}", s.src.path, i.message)
                        }
                        (Some(l), None) => format!("{}:{l}: {}", s.src.path, i.message),
                        _ => i.message.clone(),
                    })
                    .collect(),
                unparsed_examples: p
                    .unparsed_examples
                    .iter()
                    .map(|u| format!("{}: {}", u.line, u.text))
                    .collect(),
            }
        })
        .collect()
}

/// Runs the whole pipeline.
pub fn analyze(inputs: &[PathBuf], opts: &Options) -> Result<(Analysis, Timeline), Error> {
    let (tl, timings) = load(inputs, opts)?;
    let a = analyze_timeline(&tl, timings, opts)?;
    Ok((a, tl))
}

/// Runs the stages after the timeline (signals, incidents, aggregation) on a loaded
/// timeline; `timings` are those of [`load`], extended here.
pub fn analyze_timeline(
    tl: &Timeline,
    mut timings: Timings,
    _opts: &Options,
) -> Result<Analysis, Error> {
    let t = Instant::now();
    let sources = source_summaries(tl);
    let activity = timeline::activity(tl)?;
    timings.stages.push(("aggregate".into(), ms(t)));
    let stats = stats(tl, &sources);
    let analysis = Analysis {
        schema: analysis::SCHEMA,
        generator: format!("gaplog {}", env!("CARGO_PKG_VERSION")),
        sources,
        stats,
        activity,
        timings,
        ..Analysis::default()
    };
    Ok(analysis)
}

fn stats(tl: &Timeline, sources: &[SourceSummary]) -> Stats {
    let timed: Vec<i64> = tl
        .order
        .iter()
        .filter(|r| tl.has_time(**r))
        .map(|r| tl.event(*r).time)
        .collect();
    let mut per_source: Vec<analysis::SourceCount> = tl
        .sources
        .iter()
        .map(|s| analysis::SourceCount {
            source: s.src.path.clone(),
            events: 0,
        })
        .collect();
    for r in &tl.order {
        per_source[r.source as usize].events += 1;
    }
    Stats {
        sources: sources.len() as u64,
        lines: sources.iter().map(|s| s.lines).sum(),
        events: sources.iter().map(|s| s.events).sum(),
        timeline_events: tl.order.len() as u64,
        duplicates_removed: tl.duplicates,
        signals: 0,
        unparsed: sources.iter().map(|s| s.unparsed).sum(),
        unclocked: (tl.order.len() - timed.len()) as u64,
        start: timed.iter().min().map(|t| time::rfc3339(*t)),
        end: timed.iter().max().map(|t| time::rfc3339(*t)),
        per_source,
    }
}
