//! gaplog: an offline postmortem analyzer for NixOS / GitLab CI / atticd outages.
//!
//! The library is the pipeline of ARCHITECTURE.md, one module per stage:
//! [`ingest`] -> [`formats`] -> [`clock`] -> [`timeline`] -> signals -> incidents ->
//! [`report`]. [`load`] runs the first four stages; [`analyze`] runs them all and returns
//! the [`analysis::Analysis`] every renderer draws from. The library never prints and never
//! exits.

pub mod analysis;
pub mod bits;
pub mod clock;
pub mod digest;
pub mod event;
pub mod formats;
pub mod incidents;
pub mod ingest;
pub mod lines;
pub mod report;
pub mod signals;
pub mod text;
pub mod time;
pub mod timeline;

use analysis::{Analysis, SourceSummary, Stats, Timings};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;
use timeline::{SourceData, Timeline, Which};

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
    /// A grammar file is invalid.
    #[error("invalid grammar:\n{0}")]
    Grammar(#[from] signals::grammar::GrammarErrors),
}

/// How far [`load`] got: passed to [`Options::progress`] once before reading (nothing done)
/// and after each input is read and parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgressUpdate {
    /// Inputs read and parsed so far.
    pub inputs_done: u64,
    /// Inputs found.
    pub inputs_total: u64,
    /// Bytes (as stored, before decompression) of the inputs done.
    pub bytes_done: u64,
    /// Bytes of all inputs found.
    pub bytes_total: u64,
}

/// A progress callback, called from worker threads (so a bar can advance while inputs are
/// parsed in parallel). The library never draws anything itself.
#[derive(Clone, Default)]
pub struct Progress(pub Option<std::sync::Arc<dyn Fn(ProgressUpdate) + Send + Sync>>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(callback)"
        } else {
            "Progress(none)"
        })
    }
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
    /// Progress callback (none by default).
    pub progress: Progress,
    /// Grammar folders added to (and overriding) the embedded grammar, in order.
    pub grammars: Vec<PathBuf>,
}

/// Runs ingest, parsing, clock alignment and the merge. Every event keeps its text.
pub fn load(inputs: &[PathBuf], opts: &Options) -> Result<(Timeline, Timings), Error> {
    load_keeping(inputs, opts, Keep::All)
}

/// What text events keep once their source is parsed (the stages after parsing read what
/// they need of the rest from the source's [`digest::Digest`]). Less text is less memory:
/// at 1 GB of logs, messages and fields take about half of a full load's peak.
#[derive(Clone, Copy, Debug)]
pub enum Keep<'a> {
    /// Every message and field ([`load`]).
    All,
    /// Messages, no fields: what `gaplog timeline` prints and exports. Signal rules that
    /// read fields find none in such a timeline.
    Messages,
    /// No text: what `gaplog formats` reads (counts, hosts, first and last times). An
    /// analysis of such a timeline finds no signals.
    Nothing,
    /// The message and fields of the events the report can quote: each source is scanned
    /// with this catalog and its unexplained errors are picked right after parsing
    /// ([`analyze`]).
    Quoted(&'a signals::Catalog),
}

/// [`load`], keeping only the text `keep` says.
pub fn load_keeping(
    inputs: &[PathBuf],
    opts: &Options,
    keep: Keep<'_>,
) -> Result<(Timeline, Timings), Error> {
    if inputs.is_empty() {
        return Err(Error::NoInputs);
    }
    let forced = forced_formats(opts)?;
    let pool = pool(opts)?;
    let td = Instant::now();
    let found = ingest::discover(inputs);
    let discover_ms = ms(td);
    let t0 = Instant::now();
    let sizes: Vec<u64> = found
        .iter()
        .map(|f| std::fs::metadata(&f.fs_path).map_or(0, |m| m.len()))
        .collect();
    let progress = ProgressCounter::new(found.len() as u64, sizes.iter().sum());
    if let Some(report) = &opts.progress.0 {
        // A first update before any work, so a bar can show the total from the start.
        report(ProgressUpdate {
            inputs_total: progress.inputs_total,
            bytes_total: progress.bytes_total,
            ..Default::default()
        });
    }
    // Read, parse and keep only the referenced text source by source, on the worker that
    // read it: the whole input is never in memory at once, only the files being parsed.
    // Largest files first, each worker taking the next from one queue: a large file's
    // buffer and events are in memory while little else is (taken last, two of them came on
    // top of everything parsed before), and the run ends on small files, so no worker waits
    // for another's large one. Results go back to input order (source ids are positions).
    let mut order: Vec<usize> = (0..found.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let per_worker: Vec<Vec<Loaded>> = pool.broadcast(|_| {
        let mut mine = Vec::new();
        let mut memo = signals::ScanMemo::default();
        while let Some(&i) = order.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
            let t = Instant::now();
            // The last file's buffer, cut to this file's size: files come largest first, so
            // the buffer only shrinks (giving back what this file does not need) and its
            // pages, already touched, cost no fault.
            let mut buf = SPARE.with_borrow_mut(std::mem::take);
            buf.clear();
            buf.shrink_to(sizes[i] as usize + 4096);
            let src = ingest::read_into(i as u32, &found[i], &opts.ingest, buf);
            let read_ns = t.elapsed().as_nanos() as u64;
            let t = Instant::now();
            // A large file is cut into chunks for every core only when no other file waits to
            // be taken: until then each worker parses its own file whole.
            let last = next.load(std::sync::atomic::Ordering::Relaxed) >= order.len();
            let (data, input) = parse_one(src, &forced, &progress, opts, keep, &mut memo, last);
            SPARE.with_borrow_mut(|s| *s = input);
            mine.push((i, data, (read_ns, t.elapsed().as_nanos() as u64)));
        }
        mine
    });
    let mut done: Vec<Loaded> = per_worker.into_iter().flatten().collect();
    done.sort_unstable_by_key(|d| d.0);
    let (sources, split): (Vec<SourceData>, Vec<(u64, u64)>) =
        done.into_iter().map(|(_, d, t)| (d, t)).unzip();
    // The spare buffers go now.
    pool.broadcast(|_| {
        SPARE.take();
        formats::drop_spare_events();
    });
    // One wall time for both, shared out by the time each took on its worker.
    let wall = ms(t0);
    let (read_ns, parse_ns) = split
        .iter()
        .fold((0u64, 0u64), |(r, p), &(a, b)| (r + a, p + b));
    let read_ms = wall * read_ns as f64 / (read_ns + parse_ns).max(1) as f64;
    let mut timings = Timings::default();
    timings.push("discover", discover_ms);
    timings.push("read", read_ms);
    timings.push("parse", wall - read_ms);
    timings.input_bytes = progress.bytes_done.into_inner();
    timings.kept_bytes = sources.iter().map(|s| s.src.bytes.len() as u64).sum();
    let tl = finish(sources, &mut timings, &pool, opts);
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
/// positions). Used by tests, the fuzz targets and standard input; [`load`] reads and parses
/// file by file instead.
pub fn load_sources(
    sources: Vec<ingest::Source>,
    opts: &Options,
) -> Result<(Timeline, Timings), Error> {
    load_sources_keeping(sources, opts, Keep::All)
}

/// [`load_sources`], keeping only the text `keep` says (see [`load_keeping`]).
pub fn load_sources_keeping(
    sources: Vec<ingest::Source>,
    opts: &Options,
    keep: Keep<'_>,
) -> Result<(Timeline, Timings), Error> {
    let forced = forced_formats(opts)?;
    let pool = pool(opts)?;
    let mut timings = Timings::default();
    let t0 = Instant::now();
    let progress = ProgressCounter::new(
        sources.len() as u64,
        sources.iter().map(|s| s.bytes.len() as u64).sum(),
    );
    let sources: Vec<SourceData> = pool.install(|| {
        sources
            .into_par_iter()
            .map_init(signals::ScanMemo::default, |memo, src| {
                parse_one(src, &forced, &progress, opts, keep, memo, true).0
            })
            .collect()
    });
    pool.broadcast(|_| formats::drop_spare_events());
    timings.push("parse", ms(t0));
    timings.input_bytes = progress.bytes_done.into_inner();
    timings.kept_bytes = sources.iter().map(|s| s.src.bytes.len() as u64).sum();
    let tl = finish(sources, &mut timings, &pool, opts);
    Ok((tl, timings))
}

/// A source read and parsed by a worker: (input position, the source, (read, parse) ns).
type Loaded = (usize, SourceData, (u64, u64));

thread_local! {
    /// The last input buffer of this worker, reused for its next file (see
    /// [`ingest::read_into`]).
    static SPARE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Progress of the per-source work, shared by the workers.
struct ProgressCounter {
    inputs_total: u64,
    bytes_total: u64,
    done: std::sync::atomic::AtomicU64,
    bytes_done: std::sync::atomic::AtomicU64,
}

impl ProgressCounter {
    fn new(inputs_total: u64, bytes_total: u64) -> ProgressCounter {
        ProgressCounter {
            inputs_total,
            bytes_total,
            done: 0.into(),
            bytes_done: 0.into(),
        }
    }
}

/// Parses one source and takes its [`digest::Digest`]; drops the text `keep` does not keep
/// (with a catalog, after taking the signal hits and unexplained picks); keeps of its bytes
/// only the text its events still reference (see [`formats::keep_referenced_text`]); and
/// splits the events into [`event::Slim`]s and the kept [`timeline::Texts`]. Returns the
/// input's buffer (emptied) for the next read.
fn parse_one(
    mut src: ingest::Source,
    forced: &[(String, u16)],
    progress: &ProgressCounter,
    opts: &Options,
    keep: Keep<'_>,
    memo: &mut signals::ScanMemo,
    split: bool,
) -> (SourceData, Vec<u8>) {
    let force = forced
        .iter()
        .find(|(p, _)| src.path == *p || src.path.contains(p.as_str()))
        .map(|(_, i)| *i);
    let mut parsed = formats::parse_source_split(&src, force, split);
    let n = src.bytes.len() as u64;
    let compute = |parsed: &formats::Parsed| {
        digest::Digest::compute(&parsed.events, &parsed.fields, &parsed.atoms, &src.bytes)
    };
    let (digest, which, slim) = match keep {
        Keep::Quoted(catalog) => {
            let (digest, quoted, slim) = quoted(&mut parsed, &src.bytes, catalog, memo);
            (digest, Which::Some(quoted), Some(slim))
        }
        Keep::All => (compute(&parsed), Which::All, None),
        Keep::Messages => {
            let digest = compute(&parsed);
            for e in &mut parsed.events {
                e.fields = event::Fields::default();
            }
            parsed.fields.clear();
            (digest, Which::All, None)
        }
        Keep::Nothing => {
            let digest = compute(&parsed);
            digest::strip_unquoted(&mut parsed.events, |_| false);
            (digest, Which::Some(Vec::new()), None)
        }
    };
    // Only the events `which` names hold text now.
    let kept = match &which {
        Which::Some(w) => {
            formats::keep_referenced_text_of(&mut parsed.events, &mut parsed.fields, w, &src.bytes)
        }
        Which::All => {
            formats::keep_referenced_text(&mut parsed.events, &mut parsed.fields, &src.bytes)
        }
    };
    let input = match std::mem::replace(&mut src.bytes, ingest::Bytes::Referenced(kept)) {
        ingest::Bytes::Owned(v) | ingest::Bytes::Referenced(v) => v,
    };
    use std::sync::atomic::Ordering::Relaxed;
    let inputs_done = progress.done.fetch_add(1, Relaxed) + 1;
    let bytes_done = progress.bytes_done.fetch_add(n, Relaxed) + n;
    if let Some(report) = &opts.progress.0 {
        report(ProgressUpdate {
            inputs_done,
            inputs_total: progress.inputs_total,
            bytes_done,
            bytes_total: progress.bytes_total,
        });
    }
    let (data, events, fields) = SourceData::split_slim(src, parsed, digest, &which, slim);
    formats::recycle_events(events);
    formats::recycle_fields(fields);
    (data, input)
}

/// The digest of a source with its signal hits and unexplained picks; drops the text of
/// every other event. One pass over the events, each taken while it is in cache: its
/// message hashed, scanned (the hash is the scan memo's key), unless it is quoted
/// dropped, and its [`event::Slim`] made. Returns the digest, the events that keep their
/// text (ascending) and the slim events.
fn quoted(
    parsed: &mut formats::Parsed,
    bytes: &[u8],
    catalog: &signals::Catalog,
    memo: &mut signals::ScanMemo,
) -> (digest::Digest, Vec<u32>, Vec<event::Slim>) {
    let mut digest = digest::Builder::new(&parsed.events, &parsed.atoms);
    let mut scanner = catalog.scanner(&parsed.atoms, bytes);
    let mut keep: Vec<u32> = Vec::new();
    let events = &mut parsed.events;
    let mut slim = Vec::with_capacity(events.len());
    // One event ahead: the next event is hashed, and its memo word asked into cache,
    // before this one is scanned, so that the word's load overlaps this event's work; the
    // message after that is asked into cache for the next hash. The memo's lookups had
    // been 4.5 % of one thread's cycles, waiting for their slot (1 MiB table, larger than
    // the first-level cache): 2.96 → 2.86 s on the 1 GB corpus (paired runs, four each).
    let fields = &parsed.fields;
    let mut next = events.first().map(|e| digest.push(0, e, fields, bytes));
    for i in 0..events.len() {
        let h = next.take().unwrap_or_default();
        if let Some(event::Text::Span { start, .. }) = events.get(i + 2).map(|e| &e.message)
            && let Some(b) = bytes.get(*start as usize)
        {
            digest::prefetch(b);
        }
        if let Some(e) = events.get(i + 1) {
            let n = digest.push(i + 1, e, fields, bytes);
            memo.prefetch(n);
            next = Some(n);
        }
        let e = &mut events[i];
        if scanner.push(
            &timeline::View::of(e, fields, bytes),
            i as u32,
            Some(h),
            memo,
        ) {
            keep.push(i as u32);
        } else {
            digest::strip(e);
        }
        slim.push(event::Slim::from(&*e));
    }
    let (hits, picked) = scanner.finish();
    let mut digest = digest.finish();
    digest.hits = Some(hits);
    digest.picked = Some(picked);
    (digest, keep, slim)
}

/// Clock alignment, hosts from folders and the merge: the stages after parsing.
fn finish(
    mut sources: Vec<SourceData>,
    timings: &mut Timings,
    pool: &rayon::ThreadPool,
    opts: &Options,
) -> Timeline {
    let t1 = Instant::now();
    {
        let mut inputs: Vec<clock::ClockInput<'_>> = sources
            .iter_mut()
            .map(|s| clock::ClockInput {
                path: &s.src.path,
                mtime: s.src.mtime,
                events: &mut s.events,
                atoms: &mut s.parsed.atoms,
                digest: &s.digest,
            })
            .collect();
        let notes = pool.install(|| clock::align(&mut inputs, &opts.clock));
        drop(inputs);
        for (s, n) in sources.iter_mut().zip(notes) {
            s.clock_note = n;
        }
    }
    pool.install(|| hosts_from_folders(&mut sources));
    timings.push("clock", ms(t1));
    let t2 = Instant::now();
    let tl = pool.install(|| Timeline::build(sources));
    timings.push("timeline", ms(t2));
    tl
}

/// Gives events that name no host (dmesg, job traces, atticd's own log file) the host of
/// the nearest folder above them whose name is a host seen in another source:
/// `node1/jobs/pages-4711.log` belongs to `node1` when a journal says `_HOSTNAME=node1`.
/// A folder name that is no known host is never used, so `jobs/` is not taken for a host.
fn hosts_from_folders(sources: &mut [SourceData]) {
    // Distinct host atoms per source first (a flag per atom, no string per event), in
    // parallel, then their names.
    let mut known: Vec<String> = sources
        .par_iter()
        .map(|s| {
            let mut used = vec![false; s.parsed.atoms.len()];
            for e in &s.events {
                if let Some(u) = used.get_mut(e.host.0 as usize) {
                    *u = true;
                }
            }
            used.iter()
                .enumerate()
                .skip(1)
                .filter(|(_, u)| **u)
                .map(|(a, _)| s.parsed.atoms.get(event::Atom(a as u32)).to_string())
                .collect::<Vec<_>>()
        })
        .flatten()
        .collect();
    known.sort();
    known.dedup();
    for s in sources.iter_mut() {
        if !s.events.iter().any(|e| e.host.is_none()) {
            continue;
        }
        let path = std::path::Path::new(&s.src.path);
        let Some(host) = path
            .ancestors()
            .skip(1)
            .filter_map(|a| a.file_name()?.to_str())
            .find(|name| known.binary_search_by(|k| k.as_str().cmp(name)).is_ok())
            .map(str::to_string)
        else {
            continue;
        };
        let atom = s.parsed.atoms.intern(&host);
        for e in s.events.iter_mut().filter(|e| e.host.is_none()) {
            e.host = atom;
        }
        let note = format!("host {host} from its folder");
        s.clock_note = if s.clock_note.is_empty() {
            note
        } else {
            format!("{}; {note}", s.clock_note)
        };
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// The per-source figures (`sources[]` of the report, `gaplog formats --json`).
pub fn source_summaries(tl: &Timeline) -> Vec<SourceSummary> {
    tl.sources
        .par_iter()
        .map(|s| {
            let p = &s.parsed;
            // Distinct host atoms first (a source has a handful): a string per event
            // cost 400 MB and 0.3 s per GB of input.
            let mut atoms = std::collections::HashSet::new();
            let mut last = None;
            for e in &s.events {
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
            let timed = s.events.iter().filter(|e| {
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
                events: s.events.len() as u64,
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

/// Runs the whole pipeline. Each source is scanned for signals and its unexplained errors
/// picked right after parsing; then only those events keep their message and fields, so the
/// returned timeline holds the text the report quotes and not the rest (its events keep
/// every other attribute). Use [`load`] for a timeline with every text.
pub fn analyze(inputs: &[PathBuf], opts: &Options) -> Result<(Analysis, Timeline), Error> {
    // Compile the grammar first: an invalid --grammars folder fails before any input is read.
    let catalog = signals::Catalog::for_analysis(&opts.grammars)?;
    let (tl, timings) = load_keeping(inputs, opts, Keep::Quoted(&catalog))?;
    // The later stages use rayon too: inside a pool of the requested size, so that `-j1`
    // means one thread all the way.
    let a = pool(opts)?.install(|| analyze_timeline_with(&tl, timings, &catalog))?;
    Ok((a, tl))
}

/// Runs the stages after the timeline (signals, incidents, aggregation) on a loaded
/// timeline with the grammar of `opts`; `timings` are those of [`load`], extended here.
pub fn analyze_timeline(
    tl: &Timeline,
    timings: Timings,
    opts: &Options,
) -> Result<Analysis, Error> {
    let catalog = signals::Catalog::for_analysis(&opts.grammars)?;
    analyze_timeline_with(tl, timings, &catalog)
}

/// [`analyze_timeline`] with a catalog compiled once by the caller (fuzzing, repeated runs).
pub fn analyze_timeline_with(
    tl: &Timeline,
    mut timings: Timings,
    catalog: &signals::Catalog,
) -> Result<Analysis, Error> {
    let t = Instant::now();
    let sources = source_summaries(tl);
    let activity = timeline::activity(tl);
    timings.push("aggregate", ms(t));
    let mut stats = stats(tl, &sources);
    let t = Instant::now();
    let sigs = catalog.scan(tl);
    timings.push("signals", ms(t));
    let t = Instant::now();
    let found = incidents::correlate(catalog, tl, &sigs);
    timings.push("incidents", ms(t));
    let t = Instant::now();
    let unexplained = incidents::unexplained::mine(tl, &sigs);
    timings.push("unexplained", ms(t));
    stats.signals = sigs.len() as u64;
    let analysis = Analysis {
        schema: analysis::SCHEMA,
        generator: format!("gaplog {}", env!("CARGO_PKG_VERSION")),
        sources,
        incidents: found.incidents,
        fix_order: found.fix_order,
        unexplained,
        stats,
        activity,
        marks: found.marks,
        timings,
    };
    Ok(analysis)
}

fn stats(tl: &Timeline, sources: &[SourceSummary]) -> Stats {
    // Timed events are a prefix of the order (untimed ones sort last), in time order.
    let n_timed = tl.order.partition_point(|r| tl.has_time(*r));
    let timed = &tl.order[..n_timed];
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
        start: timed.first().map(|r| time::rfc3339(tl.event(*r).time)),
        end: timed.last().map(|r| time::rfc3339(tl.event(*r).time)),
        per_source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostless_sources_take_the_host_of_a_folder_named_like_a_known_host() {
        let srcs = vec![
            ingest::Source::from_bytes(
                0,
                "logs/node1/syslog",
                b"Mar 25 10:00:00 node1 sshd[1]: Accepted publickey for x\n".to_vec(),
            ),
            ingest::Source::from_bytes(
                1,
                "logs/node1/jobs/dmesg.txt",
                b"[    1.000000] Linux version 6.8.0\n".to_vec(),
            ),
            ingest::Source::from_bytes(
                2,
                "logs/other/dmesg.txt",
                b"[    1.000000] Linux version 6.8.0\n".to_vec(),
            ),
        ];
        let (tl, _) = load_sources(srcs, &Options::default()).unwrap();
        let host = |i: usize| {
            let s = &tl.sources[i];
            s.parsed.atoms.get(s.events[0].host).to_string()
        };
        assert_eq!(host(1), "node1");
        assert!(
            tl.sources[1]
                .clock_note
                .contains("host node1 from its folder")
        );
        assert_eq!(host(2), "", "`other` is no known host");
    }
}
