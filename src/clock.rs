//! Stage 3, clock: makes every event's time a comparable UTC instant, and says how.
//!
//! Input: parsed sources whose events carry raw clocks ([`ClockMethod::Exact`],
//! `LocalNoZone`, `NoYear`, `Monotonic`, `Missing`). Output: the same events with final
//! clocks and, per source, a one-line description of the method and its estimated error.
//!
//! - Year-less times (`short`, RFC 3164) get a year: `--year` if given, else the one that
//!   puts the source closest to exact-clocked sources of the same host (any host
//!   otherwise), else the file's mtime (its last line is not after it), else the current
//!   year (standard input; the note says it was assumed). Dec -> Jan
//!   rollovers inside the file advance the year.
//! - Zone-less times get the zone of `--tz` (a per-path `PATTERN=ZONE` first, then a plain
//!   `ZONE`), UTC otherwise; DST gaps and folds are resolved as a local clock would (the
//!   earlier instant of a fold).
//! - Monotonic times (`[ 1234.567890]`) are mapped to wall time per boot, from `--boot-time`,
//!   else from journal entries that carry both clocks for the same boot, else from kernel
//!   lines present both here and in a journal (which also gives the source its host and boot).
//! - Events still without time take one interpolated from stamped neighbours in the same
//!   source (by line number); with none they stay `Missing`, kept and flagged.
//! - `--skew HOST=DURATION` shifts a host whose clock is known to be wrong.

use crate::digest::{FastMap, FastSet};
use crate::event::{Atom, ClockMethod, Slim};
use crate::time;
use chrono::{LocalResult, TimeZone};
use rayon::prelude::*;
use std::collections::HashMap;

const NS: i64 = 1_000_000_000;

/// Clock settings from the command line.
#[derive(Clone, Debug, Default)]
pub struct ClockOptions {
    /// Forced year for year-less timestamps.
    pub year: Option<i32>,
    /// Zone for zone-less timestamps: (path pattern or empty for all, zone).
    pub tz: Vec<(String, chrono_tz::Tz)>,
    /// Boot start times: (host, boot-id prefix or path pattern, UTC ns).
    pub boot_time: Vec<(String, i64)>,
    /// Clock corrections per host (ns to add).
    pub skew: Vec<(String, i64)>,
}

/// What the clock stage needs of a source.
pub struct ClockInput<'a> {
    /// Path (for `--tz PATTERN=` and `--boot-time PATTERN=`).
    pub path: &'a str,
    /// File mtime (Unix seconds).
    pub mtime: Option<i64>,
    /// Events, in source order.
    pub events: &'a mut Vec<Slim>,
    /// The source's atoms (hosts and boots may be interned here).
    pub atoms: &'a mut crate::event::Atoms,
    /// The source's digest: line keys of kernel lines, job ids (the texts may be gone).
    pub digest: &'a crate::digest::Digest,
}

/// Aligns all sources. Returns one description per source.
pub fn align(inputs: &mut [ClockInput<'_>], opts: &ClockOptions) -> Vec<String> {
    let mut notes = vec![String::new(); inputs.len()];
    // 1. Reference spans of exact clocks, per host and overall.
    let mut by_host: HashMap<String, (i64, i64)> = HashMap::new();
    let mut overall: Option<(i64, i64)> = None;
    // Per source (in parallel), spans per host atom (a source has a handful of hosts),
    // then per host name in input order: no string nor hash per event. The same pass
    // notes which clock methods the source holds, which tells the steps below which
    // sources they have work in (each step had read every event to find out).
    let (per_source, clocks): (Vec<Vec<HostSpan>>, Vec<Clocks>) = inputs
        .par_iter()
        .map(|inp| {
            let mut spans: Vec<HostSpan> = Vec::new();
            let mut index: FastMap<Atom, usize> = FastMap::default();
            let mut last = usize::MAX;
            let mut clocks = Clocks::default();
            for ev in inp.events.iter() {
                clocks.add(ev.clock);
                if ev.clock != ClockMethod::Exact {
                    continue;
                }
                // Looked up only when the host changes from the previous event's.
                if spans.get(last).is_none_or(|s| s.0 != ev.host) {
                    last = *index.entry(ev.host).or_insert_with(|| {
                        spans.push((ev.host, ev.time, ev.time));
                        spans.len() - 1
                    });
                }
                let s = &mut spans[last];
                s.1 = s.1.min(ev.time);
                s.2 = s.2.max(ev.time);
            }
            (spans, clocks)
        })
        .unzip();
    for (inp, spans) in inputs.iter().zip(per_source) {
        for (host, lo, hi) in spans {
            let e = by_host
                .entry(inp.atoms.get(host).to_string())
                .or_insert((lo, hi));
            e.0 = e.0.min(lo);
            e.1 = e.1.max(hi);
            overall = Some(match overall {
                None => (lo, hi),
                Some((a, b)) => (a.min(lo), b.max(hi)),
            });
        }
    }
    // 2. Years and zones. Kernel lines with an exact clock, by text, let a zone-less
    // source that shares them (a `dmesg -T` beside a journal) tell its offset.
    // And CI job ids: the first exact time of job N (its trace) against the first naive
    // line naming job=N (the runner's log in a zone-less journal).
    let mut kernel_exact: FastMap<u64, Vec<i64>> = FastMap::default();
    let mut job_exact: HashMap<Vec<u8>, i64> = HashMap::new();
    let any_naive = clocks
        .iter()
        .any(|c| c.has(ClockMethod::LocalNoZone) || c.has(ClockMethod::NoYear));
    for inp in inputs.iter().filter(|_| any_naive) {
        for (k, ev) in inp.events.iter().enumerate() {
            if ev.clock != ClockMethod::Exact {
                continue;
            }
            if inp.atoms.get(ev.unit) == "kernel"
                && let Some(key) = inp.digest.key(k)
            {
                kernel_exact.entry(key).or_default().push(ev.time);
            }
            if let Some(id) = inp.digest.job(k) {
                let t = job_exact.entry(id.to_vec()).or_insert(ev.time);
                *t = (*t).min(ev.time);
            }
        }
    }
    let clocks = &clocks;
    inputs
        .par_iter_mut()
        .zip(notes.par_iter_mut())
        .zip(clocks.par_iter())
        .for_each(|((inp, note), clocks)| {
        let mut parts = Vec::new();
        let has_noyear = clocks.has(ClockMethod::NoYear);
        if has_noyear {
            let host = inp
                .events
                .iter()
                .find(|e| !e.host.is_none())
                .map(|e| inp.atoms.get(e.host).to_string());
            let reference = host.and_then(|h| by_host.get(&h).copied()).or(overall);
            let (year, how) = infer_year(inp.events, opts.year, reference, inp.mtime);
            apply_years(inp.events, year);
            parts.push(format!("year {year} {how}"));
        }
        // Every event still holding a naive wall time, now with its year (the years just
        // inferred turned every `NoYear` into `InferredYear`).
        let naive: Vec<usize> = if has_noyear
            || clocks.has(ClockMethod::LocalNoZone)
            || clocks.has(ClockMethod::InferredYear)
        {
            (0..inp.events.len())
                .filter(|&k| {
                    matches!(
                        inp.events[k].clock,
                        ClockMethod::LocalNoZone | ClockMethod::InferredYear
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        if !naive.is_empty() {
            let (zone, how) = match zone_for(inp.path, opts) {
                Some(tz) => (Zone::Tz(tz), format!("zone {} (--tz)", tz.name())),
                None => match infer_offset(
                    inp.events,
                    inp.atoms,
                    inp.digest,
                    &naive,
                    &kernel_exact,
                    &job_exact,
                ) {
                    Some((off, votes)) => (
                        Zone::Fixed(off),
                        format!(
                            "zone {} inferred from {votes} lines with an exact time (set --tz to override)",
                            offset_text(off)
                        ),
                    ),
                    None => (
                        Zone::Tz(chrono_tz::UTC),
                        "zone UTC assumed (no zone in the lines; set --tz)".to_string(),
                    ),
                },
            };
            for &k in &naive {
                let ev = &mut inp.events[k];
                ev.time = zone.localize(ev.time);
                if ev.clock == ClockMethod::LocalNoZone {
                    ev.clock = ClockMethod::InferredZone;
                }
            }
            parts.push(how);
        }
        *note = parts.join(", ");
    });
    // 3. Monotonic alignment.
    // (The steps above turn no event into or out of `Monotonic` or `Missing`.)
    if clocks.iter().any(|c| c.has(ClockMethod::Monotonic)) {
        align_monotonic(inputs, clocks, opts, &mut notes);
    }
    // 4. Interpolation of the rest, and skew.
    inputs
        .par_iter_mut()
        .zip(notes.par_iter_mut())
        .zip(clocks.par_iter())
        .for_each(|((inp, note), clocks)| {
            let n = if clocks.has(ClockMethod::Missing) {
                interpolate(inp.events)
            } else {
                0
            };
            if n > 0 {
                let what = format!("{n} lines without time interpolated from neighbours");
                *note = join(note, &what);
            }
            for (host, off) in &opts.skew {
                if let Some(a) = inp.atoms.find(host) {
                    let mut hit = false;
                    for ev in inp.events.iter_mut().filter(|e| e.host == a) {
                        if ev.clock != ClockMethod::Missing && ev.clock != ClockMethod::Monotonic {
                            ev.time = ev.time.saturating_add(*off);
                            hit = true;
                        }
                    }
                    if hit {
                        let what = format!(
                            "host {host} shifted by {:+.3} s (--skew)",
                            *off as f64 / 1e9
                        );
                        *note = join(note, &what);
                    }
                }
            }
            let counts = summarize(inp.events);
            *note = if note.is_empty() {
                counts
            } else {
                format!("{counts}; {note}")
            };
        });
    notes
}

/// A host's earliest and latest exact time in one source.
type HostSpan = (Atom, i64, i64);

/// The clock methods the events of a source hold, a bit per method (nine of them).
#[derive(Clone, Copy, Debug, Default)]
struct Clocks(u32);

impl Clocks {
    fn add(&mut self, m: ClockMethod) {
        self.0 |= 1 << m as u32;
    }
    fn has(&self, m: ClockMethod) -> bool {
        self.0 & 1 << m as u32 != 0
    }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}, {b}")
    }
}

/// "exact" or "exact 120, aligned-monotonic 30".
fn summarize(events: &[Slim]) -> String {
    let mut counts: Vec<(ClockMethod, u64)> = Vec::new();
    for ev in events {
        match counts.iter_mut().find(|(c, _)| *c == ev.clock) {
            Some((_, n)) => *n += 1,
            None => counts.push((ev.clock, 1)),
        }
    }
    counts.sort();
    match counts.as_slice() {
        [] => "no events".to_string(),
        [(c, _)] => c.as_str().to_string(),
        many => many
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The zone `--tz` gives for `path` (a `PATTERN=ZONE` before a plain `ZONE`), if any.
fn zone_for(path: &str, opts: &ClockOptions) -> Option<chrono_tz::Tz> {
    opts.tz
        .iter()
        .find(|(p, _)| !p.is_empty() && path.contains(p.as_str()))
        .or_else(|| opts.tz.iter().find(|(p, _)| p.is_empty()))
        .map(|(_, z)| *z)
}

/// The zone applied to a source's naive wall times.
#[derive(Clone, Copy, Debug)]
enum Zone {
    /// A named zone (DST-aware).
    Tz(chrono_tz::Tz),
    /// A fixed offset in seconds east of UTC, inferred from the logs.
    Fixed(i64),
}

impl Zone {
    fn localize(self, naive_ns: i64) -> i64 {
        match self {
            Zone::Tz(tz) => localize(naive_ns, tz),
            Zone::Fixed(off) => naive_ns.saturating_sub(off.saturating_mul(NS)),
        }
    }
}

/// `+09:00`, `-05:00`, `+05:30`.
fn offset_text(off: i64) -> String {
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.abs();
    format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

/// Infers the UTC offset of a source's naive wall times (`naive` indexes them) from times
/// known exactly: an event of the same source whose own line carried an exact time (atticd's
/// tracing stamp inside a `short` journal line) against the naive event before it, and
/// kernel lines this source shares with an exact-clocked source, and the first line naming a
/// CI job against that job's first exact time elsewhere. Each comparison votes for
/// the difference rounded to 15 minutes (zones are multiples of it) when it is within two
/// minutes of that; the offset needs two votes and 60 % of them. Returns (offset, votes).
fn infer_offset(
    events: &[Slim],
    atoms: &crate::event::Atoms,
    digest: &crate::digest::Digest,
    naive: &[usize],
    kernel_exact: &FastMap<u64, Vec<i64>>,
    job_exact: &HashMap<Vec<u8>, i64>,
) -> Option<(i64, usize)> {
    const Q: i64 = 900;
    let mut votes: Vec<i64> = Vec::new();
    let mut vote = |naive_ns: i64, exact_ns: i64| {
        let d = (naive_ns - exact_ns).div_euclid(NS);
        let r = (d as f64 / Q as f64).round() as i64 * Q;
        if (d - r).abs() <= 120 && r.abs() <= 14 * 3600 {
            votes.push(r);
        }
    };
    let is_naive = |k: usize| naive.binary_search(&k).is_ok();
    let mut jobs_seen: Vec<&[u8]> = Vec::new();
    let mut last_naive: Option<i64> = None;
    for (k, ev) in events.iter().enumerate() {
        if is_naive(k) {
            last_naive = Some(ev.time);
            if atoms.get(ev.unit) == "kernel"
                && let Some(ts) = digest.key(k).and_then(|key| kernel_exact.get(&key))
            {
                for &t in ts {
                    vote(ev.time, t);
                }
            }
            if let Some(id) = digest.job(k)
                && !jobs_seen.contains(&id)
                && let Some(&t) = job_exact.get(id)
            {
                jobs_seen.push(id);
                vote(ev.time, t);
            }
        } else if ev.clock == ClockMethod::Exact
            && let Some(n) = last_naive
        {
            vote(n, ev.time);
        }
    }
    if votes.len() < 2 {
        return None;
    }
    votes.sort_unstable();
    let mut best = (0usize, 0i64);
    let mut i = 0;
    while i < votes.len() {
        let j = i + votes[i..].iter().take_while(|&&v| v == votes[i]).count();
        if j - i > best.0 {
            best = (j - i, votes[i]);
        }
        i = j;
    }
    (best.0 * 10 >= votes.len() * 6 && best.0 >= 2).then_some((best.1, best.0))
}

/// Converts a naive local time (ns, as if UTC) in `tz` to UTC ns.
pub fn localize(naive_ns: i64, tz: chrono_tz::Tz) -> i64 {
    let Some(n) = time::to_naive(naive_ns) else {
        return naive_ns;
    };
    let resolved = match tz.from_local_datetime(&n) {
        LocalResult::Single(t) => Some(t),
        LocalResult::Ambiguous(a, _) => Some(a),
        // In a DST gap (02:30 on a spring-forward night): read it with the offset in force
        // before the jump, which is the instant of the same wall time an hour later.
        LocalResult::None => match tz.from_local_datetime(&(n + chrono::Duration::hours(1))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
            LocalResult::None => None,
        },
    };
    resolved
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or(naive_ns)
}

/// Number of Dec -> Jan rollovers in year-less events (a backwards jump of more than
/// 180 days between consecutive stamps).
fn rollovers(events: &[Slim]) -> Vec<i32> {
    let mut add = Vec::with_capacity(events.len());
    let mut year = 0;
    let mut prev: Option<i64> = None;
    for ev in events {
        if ev.clock == ClockMethod::NoYear {
            if let Some(p) = prev
                && ev.time < p - 180 * 86_400 * NS
            {
                year += 1;
            }
            prev = Some(ev.time);
        }
        add.push(year);
    }
    add
}

fn infer_year(
    events: &[Slim],
    forced: Option<i32>,
    reference: Option<(i64, i64)>,
    mtime: Option<i64>,
) -> (i32, &'static str) {
    if let Some(y) = forced {
        return (y, "(--year)");
    }
    let add = rollovers(events);
    let first = events.iter().position(|e| e.clock == ClockMethod::NoYear);
    let last = events.iter().rposition(|e| e.clock == ClockMethod::NoYear);
    let (Some(f), Some(l)) = (first, last) else {
        return (1970, "(no stamps)");
    };
    let span = |y: i32| -> Option<(i64, i64)> {
        Some((
            time::with_year(events[f].time, y + add[f])
                .or_else(|| time::with_year(events[f].time - 86_400 * NS, y + add[f]))?,
            time::with_year(events[l].time, y + add[l])
                .or_else(|| time::with_year(events[l].time - 86_400 * NS, y + add[l]))?,
        ))
    };
    let year_of = |ns: i64| {
        use chrono::Datelike;
        time::to_naive(ns).map_or(1970, |t| t.year())
    };
    if let Some((rs, re)) = reference {
        let ry = year_of(rs);
        let mut best = (i64::MAX, ry);
        for y in (ry - 2)..=(ry + 1) {
            if let Some((s, e)) = span(y) {
                let dist = if e < rs {
                    rs - e
                } else if s > re {
                    s - re
                } else {
                    0
                };
                if dist < best.0 {
                    best = (dist, y);
                }
            }
        }
        return (best.1, "(from other sources' dates)");
    }
    if let Some(m) = mtime {
        let mns = m.saturating_mul(NS);
        let my = year_of(mns);
        for y in [my, my - 1, my - 2] {
            if let Some((_, e)) = span(y)
                && e <= mns + 86_400 * NS
            {
                return (y, "(from the file's modification time)");
            }
        }
        return (my, "(from the file's modification time)");
    }
    // Nothing dates the file (standard input, no other source): the likeliest year is this
    // one, and the note says it was assumed.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    (
        year_of(now.saturating_mul(NS)),
        "(assumed: the current year; set --year)",
    )
}

/// Gives year-less events their year (Dec -> Jan rollovers advance it); their times stay
/// naive wall times until the zone is applied.
fn apply_years(events: &mut [Slim], year: i32) {
    let add = rollovers(events);
    for (ev, a) in events.iter_mut().zip(add) {
        if ev.clock == ClockMethod::NoYear {
            // Feb 29 in a non-leap year cannot exist: keep the day before rather than fail.
            ev.time = time::with_year(ev.time, year + a)
                .or_else(|| time::with_year(ev.time - 86_400 * NS, year + a))
                .unwrap_or(ev.time);
            ev.clock = ClockMethod::InferredYear;
        }
    }
}

/// A boot's estimated start: UTC ns of monotonic 0, with the number of samples, their
/// spread, and the host the journal names for the boot.
#[derive(Clone, Debug)]
struct BootStart {
    start: i64,
    samples: u64,
    spread: i64,
    host: String,
}

/// `clocks` are the sources' clock methods before alignment.
fn align_monotonic(
    inputs: &mut [ClockInput<'_>],
    clocks: &[Clocks],
    opts: &ClockOptions,
    notes: &mut [String],
) {
    // Boot starts from events carrying both clocks (journal entries) keyed by boot id.
    let mut starts: HashMap<String, (Vec<i64>, String)> = HashMap::new();
    // Kernel lines with both clocks: (mono_us, message) -> (host, boot, wall), the host and
    // boot interned in `names` (a string per distinct name, not per line).
    let mut kernel: FastMap<(i64, u64), (Atom, Atom, i64)> = FastMap::default();
    let mut names = crate::event::Atoms::default();
    let mut ambiguous: FastSet<(i64, u64)> = FastSet::default();
    // Gathered per source in parallel, keyed by atoms (no string per event), then merged
    // in input order, which is the order the maps would have seen the events in.
    struct Gathered {
        /// (boot, host of its first event, boot starts) in first-seen order.
        boots: Vec<(Atom, Atom, Vec<i64>)>,
        /// ((mono_us, message key), host, boot, wall start) in event order.
        kernel: Vec<((i64, u64), Atom, Atom, i64)>,
    }
    let gathered: Vec<Gathered> = inputs
        .par_iter()
        .map(|inp| {
            let mut g = Gathered {
                boots: Vec::new(),
                kernel: Vec::new(),
            };
            let kernel_unit = inp.atoms.find("kernel");
            let mut last = usize::MAX;
            for (k, ev) in inp.events.iter().enumerate() {
                if let (Some(m), ClockMethod::Exact) = (inp.digest.mono(k), ev.clock) {
                    let start = ev.time.saturating_sub(m.saturating_mul(1000));
                    if !ev.boot.is_none() {
                        if g.boots.get(last).is_none_or(|b| b.0 != ev.boot) {
                            last = match g.boots.iter().position(|b| b.0 == ev.boot) {
                                Some(k) => k,
                                None => {
                                    g.boots.push((ev.boot, ev.host, Vec::new()));
                                    g.boots.len() - 1
                                }
                            };
                        }
                        g.boots[last].2.push(start);
                    }
                    if kernel_unit.is_some_and(|u| u == ev.unit)
                        && let Some(key) = inp.digest.key(k)
                    {
                        g.kernel.push(((m, key), ev.host, ev.boot, start));
                    }
                }
            }
            g
        })
        .collect();
    for (inp, g) in inputs.iter().zip(gathered) {
        for (boot, host, v) in g.boots {
            let e = starts
                .entry(inp.atoms.get(boot).to_string())
                .or_insert_with(|| (Vec::new(), inp.atoms.get(host).to_string()));
            e.0.extend(v);
        }
        // This source's atoms in `names`, interned once per atom.
        let mut ids: Vec<Option<Atom>> = Vec::new();
        let mut id_of = |a: Atom| {
            let i = a.0 as usize;
            if i >= ids.len() {
                ids.resize(i + 1, None);
            }
            *ids[i].get_or_insert_with(|| names.intern(inp.atoms.get(a)))
        };
        for (key, host, boot, start) in g.kernel {
            let val = (id_of(host), id_of(boot), start);
            // The same line at the same stamp in two boots (`Linux version ...` at
            // 0.000000) cannot tell which boot a dmesg is from: drop it.
            match kernel.get(&key) {
                Some(old) if old.1 != val.1 => {
                    ambiguous.insert(key);
                }
                _ => {
                    kernel.insert(key, val);
                }
            }
        }
    }
    for k in &ambiguous {
        kernel.remove(k);
    }
    let boots: HashMap<String, BootStart> = starts
        .into_iter()
        .map(|(k, (mut v, host))| {
            v.sort_unstable();
            let med = v[v.len() / 2];
            let spread = v[v.len() - 1] - v[0];
            (
                k,
                BootStart {
                    start: med,
                    samples: v.len() as u64,
                    spread,
                    host,
                },
            )
        })
        .collect();
    inputs
        .par_iter_mut()
        .zip(notes.par_iter_mut())
        .zip(clocks.par_iter())
        .for_each(|((inp, note), clocks)| {
        if !clocks.has(ClockMethod::Monotonic) {
            return;
        }
        // Forced boot time for this path or host.
        let forced = opts.boot_time.iter().find(|(p, _)| {
            inp.path.contains(p.as_str())
                || inp
                    .events
                    .iter()
                    .any(|e| inp.atoms.get(e.host) == p.as_str())
        });
        let (start, how, host_boot): (Option<i64>, String, Option<(String, String)>) = if let Some(
            (_, t),
        ) = forced
        {
            (Some(*t), "boot time from --boot-time".to_string(), None)
        } else {
            // By boot id when the source names one.
            // (Looked up once per run of events with one boot atom.)
            let mut prev = None;
            let by_boot = inp.events.iter().find_map(|e| {
                if prev == Some(e.boot) {
                    return None;
                }
                prev = Some(e.boot);
                let b = inp.atoms.get(e.boot);
                boots.get(b).map(|s| (b.to_string(), s))
            });
            if let Some((b, s)) = by_boot {
                (
                    Some(s.start),
                    format!(
                        "boot {} start from {} journal entries (spread {} ms)",
                        short(&b),
                        s.samples,
                        s.spread / 1_000_000
                    ),
                    // The host, not the boot: events of this source without a boot id
                    // (before its first `-- Boot` marker) belong to an earlier, unknown boot.
                    (!s.host.is_empty()).then(|| (s.host.clone(), String::new())),
                )
            } else {
                // By kernel lines present in both.
                let mut hits: Vec<(i64, &str, &str)> = Vec::new();
                // The keyed events (kernel lines and stamped lines), in index order.
                for &(k, key) in &inp.digest.keys {
                    if let Some(m) = inp.digest.mono(k as usize)
                        && let Some(&(h, b, s)) = kernel.get(&(m, key))
                    {
                        hits.push((s, names.get(h), names.get(b)));
                    }
                }
                if hits.is_empty() {
                    (None, String::new(), None)
                } else {
                    hits.sort();
                    let (s, h, b) = hits[hits.len() / 2];
                    let spread = hits[hits.len() - 1].0 - hits[0].0;
                    (
                        Some(s),
                        format!(
                            "boot start from {} kernel lines also in the journal of {h} (spread {} ms)",
                            hits.len(),
                            spread / 1_000_000
                        ),
                        Some((h.to_string(), b.to_string())),
                    )
                }
            }
        };
        let Some(start) = start else {
            *note = join(
                note,
                "monotonic times not aligned: no journal of this boot and no --boot-time; sorted by source position",
            );
            return;
        };
        let (host, boot) = match &host_boot {
            Some((h, b)) => (inp.atoms.intern(h), inp.atoms.intern(b)),
            None => (Atom::NONE, Atom::NONE),
        };
        // The boot start of the previous event's boot atom: looked up again only when the
        // boot changes.
        let mut own_cache: Option<(Atom, Option<i64>)> = None;
        for (k, ev) in inp.events.iter_mut().enumerate() {
            if ev.clock == ClockMethod::Monotonic
                && let Some(m) = inp.digest.mono(k)
            {
                // A source spanning several boots (journalctl -o short-monotonic with
                // `-- Boot` markers) maps each event by its own boot when that is known.
                let own = match forced {
                    None => match own_cache {
                        Some((b, own)) if b == ev.boot => own,
                        _ => {
                            let own = boots.get(inp.atoms.get(ev.boot)).map(|b| b.start);
                            own_cache = Some((ev.boot, own));
                            own
                        }
                    },
                    Some(_) => None,
                };
                ev.time = own.unwrap_or(start).saturating_add(m.saturating_mul(1000));
                ev.clock = ClockMethod::AlignedMonotonic;
            }
            if ev.host.is_none() {
                ev.host = host;
            }
            if ev.boot.is_none() {
                ev.boot = boot;
            }
        }
        *note = join(note, &how);
    });
}

fn short(boot: &str) -> &str {
    &boot[..boot.len().min(8)]
}

/// The time of unstamped event `i` from its stamped neighbours `before` and `after`: by line
/// number between the two, else the one there is.
fn interpolated(
    events: &[Slim],
    i: usize,
    before: Option<usize>,
    after: Option<usize>,
) -> Option<i64> {
    Some(match (before, after) {
        (Some(b), Some(a)) => {
            let (lb, la, li) = (
                i64::from(events[b].line),
                i64::from(events[a].line),
                i64::from(events[i].line),
            );
            let (tb, ta) = (events[b].time, events[a].time);
            if la > lb && ta >= tb {
                tb + ((ta - tb) as i128 * (li - lb) as i128 / (la - lb) as i128) as i64
            } else {
                tb
            }
        }
        (Some(b), None) => events[b].time,
        (None, Some(a)) => events[a].time,
        (None, None) => return None,
    })
}

/// Gives `Missing` events a time interpolated (by line number) between the nearest stamped
/// events of the same source, or inherited from the only stamped side. Returns how many.
fn interpolate(events: &mut [Slim]) -> u64 {
    let stamped = |e: &Slim| !matches!(e.clock, ClockMethod::Missing | ClockMethod::Monotonic);
    let mut n = 0;
    // The last stamped event before `i`, and the first after the run of unstamped events
    // `i` is in (looked for once per run; `None` until then): one pass, no index list.
    let mut before: Option<usize> = None;
    let mut after: Option<Option<usize>> = None;
    for i in 0..events.len() {
        if stamped(&events[i]) {
            before = Some(i);
            after = None;
            continue;
        }
        if events[i].clock != ClockMethod::Missing {
            continue;
        }
        let after =
            *after.get_or_insert_with(|| (i + 1..events.len()).find(|&j| stamped(&events[j])));
        let Some(t) = interpolated(events, i, before, after) else {
            continue;
        };
        events[i].time = t;
        events[i].clock = ClockMethod::Interpolated;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Atoms, Event};

    /// A source as the tests build it: parser events with their bytes.
    struct Input<'a> {
        path: &'a str,
        mtime: Option<i64>,
        events: &'a mut Vec<Event>,
        atoms: &'a mut Atoms,
        bytes: &'a [u8],
    }

    /// A source without text nor mtime.
    fn input<'a>(path: &'a str, events: &'a mut Vec<Event>, atoms: &'a mut Atoms) -> Input<'a> {
        Input {
            path,
            mtime: None,
            events,
            atoms,
            bytes: b"",
        }
    }

    /// Aligns the sources as a run does (digests from the parser events, then [`Slim`]
    /// events) and writes the clock's results back into the parser events.
    fn run(inputs: &mut [Input<'_>], opts: &ClockOptions) -> Vec<String> {
        let digests: Vec<crate::digest::Digest> = inputs
            .iter()
            .map(|i| {
                let none = crate::event::FieldStore::new();
                crate::digest::Digest::compute(i.events, &none, i.atoms, i.bytes)
            })
            .collect();
        let mut slims: Vec<Vec<Slim>> = inputs
            .iter()
            .map(|i| i.events.iter().map(Slim::from).collect())
            .collect();
        let mut clock: Vec<ClockInput<'_>> = inputs
            .iter_mut()
            .zip(slims.iter_mut())
            .zip(&digests)
            .map(|((i, s), d)| ClockInput {
                path: i.path,
                mtime: i.mtime,
                events: s,
                atoms: &mut *i.atoms,
                digest: d,
            })
            .collect();
        let notes = align(&mut clock, opts);
        drop(clock);
        for (i, s) in inputs.iter_mut().zip(&slims) {
            for (e, s) in i.events.iter_mut().zip(s) {
                (e.time, e.clock, e.host, e.boot) = (s.time, s.clock, s.host, s.boot);
            }
        }
        notes
    }

    fn ev(time: i64, clock: ClockMethod, line: u32) -> Event {
        Event {
            time,
            clock,
            line,
            end_line: line,
            ..Event::default()
        }
    }

    fn bsd(s: &str) -> i64 {
        time::parse_bsd(s.as_bytes()).unwrap().0
    }

    #[test]
    fn year_rollover_dec_to_jan_from_mtime() {
        let mut events = vec![
            ev(bsd("Dec 31 23:59:58"), ClockMethod::NoYear, 1),
            ev(bsd("Jan  1 00:00:02"), ClockMethod::NoYear, 2),
        ];
        let mut atoms = Atoms::default();
        // mtime 2027-01-02
        let mtime = time::naive_ns(2027, 1, 2, 0, 0, 0, 0).unwrap() / NS;
        let notes = run(
            &mut [Input {
                path: "x",
                mtime: Some(mtime),
                events: &mut events,
                atoms: &mut atoms,
                bytes: b"",
            }],
            &ClockOptions::default(),
        );
        assert_eq!(time::rfc3339(events[0].time), "2026-12-31T23:59:58.000000Z");
        assert_eq!(time::rfc3339(events[1].time), "2027-01-01T00:00:02.000000Z");
        assert!(notes[0].contains("year 2026"), "{}", notes[0]);
        assert!(notes[0].contains("inferred-year"), "{}", notes[0]);
    }

    /// A zone-less source (`dmesg -T` in Tokyo) sharing kernel lines with an exact journal.
    fn tokyo_pair() -> (Vec<Event>, Atoms, Vec<Event>, Atoms, Vec<u8>, Vec<u8>) {
        let jbytes = b"EXT4-fs error one\nEXT4-fs error two\nnoise\n".to_vec();
        let dbytes = b"EXT4-fs error one\nEXT4-fs error two\n".to_vec();
        let mut ja = Atoms::default();
        let mut da = Atoms::default();
        let (jk, dk) = (ja.intern("kernel"), da.intern("kernel"));
        let base = time::naive_ns(2024, 12, 31, 14, 0, 0, 0).unwrap(); // UTC
        let mk = |t: i64, c: ClockMethod, line: u32, s: usize, e: usize, unit| Event {
            unit,
            message: crate::event::Text::span(s, e),
            ..ev(t, c, line)
        };
        let j = vec![
            mk(base, ClockMethod::Exact, 1, 0, 17, jk),
            mk(base + 5 * NS, ClockMethod::Exact, 2, 18, 35, jk),
        ];
        let nine = 9 * 3600 * NS;
        let d = vec![
            mk(base + nine + NS, ClockMethod::LocalNoZone, 1, 0, 17, dk),
            mk(
                base + nine + 6 * NS,
                ClockMethod::LocalNoZone,
                2,
                18,
                35,
                dk,
            ),
        ];
        (j, ja, d, da, jbytes, dbytes)
    }

    /// Aligns the journal and the zone-less dmesg of [`tokyo_pair`], the dmesg cut to its
    /// first `keep` events. Returns the notes, the dmesg's first naive time before
    /// alignment, and the aligned dmesg events.
    fn align_tokyo(keep: usize, opts: &ClockOptions) -> (Vec<String>, i64, Vec<Event>) {
        let (mut j, mut ja, mut d, mut da, jb, db) = tokyo_pair();
        d.truncate(keep);
        let naive = d[0].time;
        let notes = run(
            &mut [
                Input {
                    path: "journal.json",
                    mtime: None,
                    events: &mut j,
                    atoms: &mut ja,
                    bytes: &jb,
                },
                Input {
                    path: "dmesg-T.txt",
                    mtime: None,
                    events: &mut d,
                    atoms: &mut da,
                    bytes: &db,
                },
            ],
            opts,
        );
        (notes, naive, d)
    }

    #[test]
    fn zone_offset_inferred_from_kernel_lines_shared_with_an_exact_source() {
        let (notes, naive, d) = align_tokyo(2, &ClockOptions::default());
        assert!(
            notes[1].contains("zone +09:00 inferred from 2 lines"),
            "{}",
            notes[1]
        );
        assert_eq!(
            d[0].time,
            naive - 9 * 3600 * NS,
            "the one-second skew between the two stays"
        );
        assert_eq!(d[0].clock, ClockMethod::InferredZone);
    }

    #[test]
    fn explicit_tz_wins_and_one_vote_is_not_enough() {
        let opts = ClockOptions {
            tz: vec![("dmesg".into(), "America/New_York".parse().unwrap())],
            ..ClockOptions::default()
        };
        let (notes, naive, d) = align_tokyo(2, &opts);
        assert!(
            notes[1].contains("zone America/New_York (--tz)"),
            "{}",
            notes[1]
        );
        assert_eq!(d[0].time, naive + 5 * 3600 * NS);
        // With one shared line only, no offset is inferred: UTC is assumed and said.
        let (notes, naive, d) = align_tokyo(1, &ClockOptions::default());
        assert!(notes[1].contains("zone UTC assumed"), "{}", notes[1]);
        assert_eq!(d[0].time, naive);
    }

    #[test]
    fn zone_offset_inferred_from_exact_stamps_inside_the_same_source() {
        // A `short` journal in IST whose atticd lines carry their own UTC stamp.
        let ist = (5 * 3600 + 1800) * NS;
        let t0 = time::naive_ns(2025, 6, 2, 4, 0, 0, 0).unwrap();
        let mut events = vec![
            ev(t0 + ist, ClockMethod::LocalNoZone, 1),
            ev(t0 + NS, ClockMethod::Exact, 2),
            ev(t0 + ist + 60 * NS, ClockMethod::LocalNoZone, 3),
            ev(t0 + 61 * NS, ClockMethod::Exact, 4),
        ];
        let mut atoms = Atoms::default();
        let notes = run(
            &mut [input("journal.short", &mut events, &mut atoms)],
            &ClockOptions::default(),
        );
        assert!(
            notes[0].contains("zone +05:30 inferred from 2 lines"),
            "{}",
            notes[0]
        );
        assert_eq!(events[0].time, t0);
    }

    #[test]
    fn dst_gap_and_fold_in_berlin() {
        let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        // 2026-03-29 02:30 does not exist in Berlin; a clock shows 03:30 CEST = 01:30Z.
        let gap = time::naive_ns(2026, 3, 29, 2, 30, 0, 0).unwrap();
        assert_eq!(
            time::rfc3339(localize(gap, tz)),
            "2026-03-29T01:30:00.000000Z"
        );
        // 2026-10-25 02:30 happens twice; the earlier is CEST = 00:30Z.
        let fold = time::naive_ns(2026, 10, 25, 2, 30, 0, 0).unwrap();
        assert_eq!(
            time::rfc3339(localize(fold, tz)),
            "2026-10-25T00:30:00.000000Z"
        );
    }

    #[test]
    fn monotonic_source_with_several_boots_maps_each_by_its_own_boot() {
        // Regression: every event of a multi-boot short-monotonic source was mapped with
        // the start of the first boot found.
        let mut ja = crate::event::Atoms::default();
        let mut j = vec![
            ev(5_000 * NS, ClockMethod::Exact, 1),
            ev(9_000 * NS, ClockMethod::Exact, 2),
        ];
        j[0].mono_us = Some(1_000_000);
        j[0].boot = ja.intern("b0");
        j[1].mono_us = Some(1_000_000);
        j[1].boot = ja.intern("b1");
        let mut ma = crate::event::Atoms::default();
        let mut m = vec![
            ev(0, ClockMethod::Monotonic, 1),
            ev(0, ClockMethod::Monotonic, 2),
        ];
        m[0].mono_us = Some(2_000_000);
        m[0].boot = ma.intern("b0");
        m[1].mono_us = Some(3_000_000);
        m[1].boot = ma.intern("b1");
        let _ = run(
            &mut [input("j", &mut j, &mut ja), input("m", &mut m, &mut ma)],
            &ClockOptions::default(),
        );
        assert_eq!(m[0].time, 4_999 * NS + 2 * NS);
        assert_eq!(m[1].time, 8_999 * NS + 3 * NS);
    }

    #[test]
    fn monotonic_aligned_by_boot_and_missing_interpolated() {
        let mut j = vec![Event {
            mono_us: Some(10_000_000),
            ..ev(1_000_000_000 * NS, ClockMethod::Exact, 1)
        }];
        let mut ja = Atoms::default();
        j[0].boot = ja.intern("b0");
        let mut d = vec![
            Event {
                mono_us: Some(5_000_000),
                ..ev(0, ClockMethod::Monotonic, 1)
            },
            ev(0, ClockMethod::Missing, 2),
            Event {
                mono_us: Some(7_000_000),
                ..ev(0, ClockMethod::Monotonic, 3)
            },
        ];
        let mut da = Atoms::default();
        let b = da.intern("b0");
        d.iter_mut().for_each(|e| e.boot = b);
        let notes = run(
            &mut [input("j", &mut j, &mut ja), input("d", &mut d, &mut da)],
            &ClockOptions::default(),
        );
        assert_eq!(d[0].time, (1_000_000_000 - 5) * NS);
        assert_eq!(d[0].clock, ClockMethod::AlignedMonotonic);
        assert_eq!(d[1].clock, ClockMethod::Interpolated);
        assert_eq!(d[1].time, (1_000_000_000 - 4) * NS);
        assert!(
            notes[1].contains("boot b0 start from 1 journal entries"),
            "{}",
            notes[1]
        );
    }

    /// The interpolation as first written (an index list of the stamped events): the
    /// one-pass version must give the same times, clocks and count.
    fn interpolate_by_index(events: &mut [Slim]) -> u64 {
        let stamped = |e: &Slim| !matches!(e.clock, ClockMethod::Missing | ClockMethod::Monotonic);
        let idx: Vec<usize> = (0..events.len()).filter(|&i| stamped(&events[i])).collect();
        let mut n = 0;
        let mut k = 0;
        for i in 0..events.len() {
            while k < idx.len() && idx[k] < i {
                k += 1;
            }
            if events[i].clock != ClockMethod::Missing {
                continue;
            }
            let before = k.checked_sub(1).map(|k| idx[k]);
            let Some(t) = interpolated(events, i, before, idx.get(k).copied()) else {
                continue;
            };
            events[i].time = t;
            events[i].clock = ClockMethod::Interpolated;
            n += 1;
        }
        n
    }

    proptest::proptest! {
        #[test]
        fn interpolation_in_one_pass_matches_the_index_list(
            evs in proptest::collection::vec((0u8..4, 0i64..1_000, 1u32..50), 0..40)
        ) {
            let mut a: Vec<Slim> = evs
                .iter()
                .map(|&(c, t, l)| {
                    let mut e = Slim::default();
                    e.clock = [
                        ClockMethod::Exact,
                        ClockMethod::Missing,
                        ClockMethod::Monotonic,
                        ClockMethod::InferredZone,
                    ][usize::from(c)];
                    e.time = t;
                    e.line = l;
                    e
                })
                .collect();
            let mut b = a.clone();
            let (na, nb) = (interpolate(&mut a), interpolate_by_index(&mut b));
            proptest::prop_assert_eq!(na, nb);
            let key = |v: &[Slim]| v.iter().map(|e| (e.time, e.clock)).collect::<Vec<_>>();
            proptest::prop_assert_eq!(key(&a), key(&b));
        }
    }
}
