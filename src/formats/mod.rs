//! Stage 2, formats: sniffs each [`Source`] and parses it into [`Event`]s.
//!
//! Every format implements [`Format`]: `sniff` scores a sample of the input's first bytes,
//! `parse` walks the whole input and reports every physical line to a [`Sink`] as exactly
//! one of: the start of an event, a continuation of one, a parsed non-event line (markers),
//! or an unparsed line. [`parse_source`] checks that the counts add up to the source's line
//! count; a mismatch is an internal error reported on the source.
//!
//! Formats are registered in one explicit ordered list, [`FORMATS`]. The order is the
//! sniffing tie-break (earlier wins on equal scores): specific formats first, the plain
//! syslog fallback last.

pub mod atticd;
pub mod gitlab_runner;
pub mod gitlab_trace;
pub mod journal_common;
pub mod journal_export;
pub mod journal_json;
pub mod journal_text;
pub mod kernel;
pub mod nix;
pub mod syslog;

use crate::event::{Atom, Atoms, Event, FieldStore, Severity, Text};
use crate::ingest::{Source, SourceIssue};
use crate::lines::{Line, Lines};
use rayon::prelude::*;
use serde::Serialize;
use std::ops::Range;

/// How many bytes of an input `sniff` sees.
pub const SNIFF_BYTES: usize = 16 * 1024;
/// Unparsed-line examples kept per source.
pub const MAX_UNPARSED_EXAMPLES: usize = 5;
/// Issues kept per source.
pub const MAX_ISSUES: usize = 100;
/// Bytes below which a source is never split: a chunk must be worth a thread.
pub const MIN_CHUNK: usize = 8 << 20;

/// A log format.
pub trait Format: Sync {
    /// Stable kebab-case name (used by `--format PATH=NAME` and in reports).
    fn name(&self) -> &'static str;
    /// One-line description for `--help` and docs.
    fn description(&self) -> &'static str;
    /// Scores how likely `sample` (the input's first [`SNIFF_BYTES`]) is of this format:
    /// 0 = no, 100 = certain. Must never panic on any bytes.
    fn sniff(&self, sample: &[u8]) -> u8;
    /// Parses the whole source, reporting every physical line to `sink` exactly once.
    fn parse(&self, src: &Source, sink: &mut Sink<'_>);
    /// For formats whose records also travel inside another container (a journal entry's
    /// MESSAGE, a syslog line): refines such an embedded message written by `ident`.
    /// Returns `None` when the message is not of this format.
    fn refine(&self, _ident: &str, _msg: &[u8]) -> Option<Refined> {
        None
    }
    /// True when `msg`, written by `ident`, continues the previous embedded record of this
    /// format (a span-trace line after an atticd error, an indented Nix error line).
    fn is_continuation(&self, _ident: &str, _msg: &[u8]) -> bool {
        false
    }
    /// False when neither [`Format::refine`] nor [`Format::is_continuation`] can answer for
    /// any message written by `ident`: the journal formats ask once per identifier and then
    /// skip this format for every entry of it (most identifiers embed no format). The
    /// default, true, is always correct; a format without embedded records says false.
    fn embeds(&self, _ident: &str) -> bool {
        true
    }
    /// Finds a safe record boundary at or after byte `near` of `bytes` (a whole source):
    /// the start of a line such that parsing `bytes[..b]` and `bytes[b..]` each from a
    /// fresh state gives the same events as one sequential parse. `None` (the default)
    /// when the format cannot tell, or no boundary lies close enough after `near`; the
    /// source is then parsed in one piece. A format that returns boundaries must parse
    /// only [`Sink::lines`] (the sink's range) and set [`Sink::dependent`] when a record of
    /// its range would have been parsed differently with state from before the range.
    fn split(&self, _bytes: &[u8], _near: usize) -> Option<usize> {
        None
    }
}

/// What a format learned from an embedded message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refined {
    /// Severity the inner format states (tracing level, logrus level).
    pub severity: Option<Severity>,
    /// An exact UTC time (ns) the inner format states.
    pub time: Option<i64>,
    /// Byte offset in the message where the message proper begins (after an inner
    /// timestamp and level).
    pub message_start: usize,
    /// Fields found (name, byte range in the message).
    pub fields: Vec<(&'static str, std::ops::Range<usize>)>,
}

/// The registry, in sniffing tie-break order. See the module doc.
pub const FORMATS: &[&dyn Format] = &[
    &journal_export::JournalExport,
    &journal_json::JournalJson,
    &gitlab_trace::GitlabTrace,
    &atticd::Atticd,
    &gitlab_runner::GitlabRunner,
    &kernel::Kernel,
    &journal_text::JournalText,
    &nix::Nix,
    &syslog::Syslog,
];

/// Looks a format up by name; the error carries a "did you mean" hint.
pub fn by_name(name: &str) -> Result<(u16, &'static dyn Format), String> {
    if let Some(i) = FORMATS.iter().position(|f| f.name() == name) {
        return Ok((i as u16, FORMATS[i]));
    }
    let best = FORMATS
        .iter()
        .map(|f| (edit_distance(f.name(), name), f.name()))
        .min();
    let names: Vec<_> = FORMATS.iter().map(|f| f.name()).collect();
    Err(match best {
        Some((d, n)) if d <= 3 => format!("unknown format `{name}`, did you mean `{n}`?"),
        _ => format!(
            "unknown format `{name}`; known formats: {}",
            names.join(", ")
        ),
    })
}

/// The name of format index `i` ("unknown" when out of range).
pub fn name_of(i: u16) -> &'static str {
    FORMATS.get(i as usize).map_or("unknown", |f| f.name())
}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The highest score [`sniff`] takes from a format (no format scores more today). A
/// later format wins only with a higher score, so once a format scores this, the formats
/// after it are not asked: for a folder of a thousand job traces, the six sniffers after
/// `gitlab-trace` cost more than the traces' own sniffing.
pub const SNIFF_SURE: u8 = 95;

/// Picks the best format for `sample`; `None` when every format scores 0.
pub fn sniff(sample: &[u8]) -> Option<u16> {
    let sample = &sample[..sample.len().min(SNIFF_BYTES)];
    let mut best: Option<(u8, u16)> = None;
    for (i, f) in FORMATS.iter().enumerate() {
        let s = f.sniff(sample).min(SNIFF_SURE);
        if s > 0 && best.is_none_or(|(b, _)| s > b) {
            best = Some((s, i as u16));
        }
        if s >= SNIFF_SURE {
            break;
        }
    }
    best.map(|(_, i)| i)
}

/// Asks every format whether it recognises an embedded message of `ident`.
pub fn refine_embedded(ident: &str, msg: &[u8]) -> Option<(u16, Refined)> {
    FORMATS
        .iter()
        .enumerate()
        .find_map(|(i, f)| f.refine(ident, msg).map(|r| (i as u16, r)))
}

/// Line accounting of one source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LineCounts {
    /// Lines that start an event or are parsed markers.
    pub parsed: u64,
    /// Lines folded into the event before them (including blank separator lines).
    pub continuation: u64,
    /// Lines no parser understood.
    pub unparsed: u64,
}

impl LineCounts {
    /// Sum of the three.
    pub fn total(&self) -> u64 {
        self.parsed + self.continuation + self.unparsed
    }
}

/// An unparsed line kept as an example.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnparsedExample {
    /// 1-based line.
    pub line: u32,
    /// The line (lossy UTF-8, shortened).
    pub text: String,
}

/// Receives a parser's output and keeps the line accounting.
#[derive(Debug)]
pub struct Sink<'a> {
    /// The source being parsed.
    pub src: &'a Source,
    /// This source's interned strings (every [`crate::event::Atom`] of its events).
    pub atoms: Atoms,
    /// Events, in source order.
    pub events: Vec<Event>,
    /// The events' fields (see [`Event::fields`]).
    pub fields: FieldStore,
    /// Line accounting.
    pub counts: LineCounts,
    /// A few unparsed lines.
    pub unparsed_examples: Vec<UnparsedExample>,
    /// Problems found (bad records, truncation).
    pub issues: Vec<SourceIssue>,
    /// The registry index of the format parsing this source (set on new events).
    pub format: u16,
    /// The bytes of the source this sink receives: the whole source, or one chunk of it
    /// (see [`Format::split`]).
    pub range: Range<usize>,
    /// Number of the first line of `range`.
    pub first_line: u32,
    /// Set by a splitting format when a record of this range would have been parsed
    /// differently with the parser state left by the bytes before the range; the
    /// range is then parsed again together with the range before it.
    pub dependent: bool,
    /// Set by a splitting format when a record of this range reached past its end (the
    /// range after it was cut inside a record); the two are parsed again as one.
    pub overran: bool,
    /// Issues recorded with [`Sink::issue_once`]: (key, index in `issues`).
    once: Vec<(&'static str, usize)>,
}

thread_local! {
    /// The emptied events vector of this thread's last source, reused by its next sink
    /// (see [`recycle_events`]).
    static SPARE_EVENTS: std::cell::RefCell<Vec<Event>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The emptied field store of this thread's last source (see [`recycle_fields`]).
    static SPARE_FIELDS: std::cell::RefCell<FieldStore> = std::cell::RefCell::new(FieldStore::new());
    /// Per format, one more than the most fields a line a source of it had on this thread,
    /// in 1/16ths (0: none parsed yet), to cut the kept store to what the next source can
    /// need.
    static FIELDS_PER_LINE: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Notes how many fields a line a source of format `format` had (see [`spare_fields`]).
fn note_fields_per_line(format: u16, fields: usize, lines: u64) {
    let per = (fields as u64).saturating_mul(16) / lines.max(1);
    let per = u32::try_from(per).unwrap_or(u32::MAX);
    FIELDS_PER_LINE.with_borrow_mut(|v| {
        let i = usize::from(format);
        if v.len() <= i {
            v.resize(i + 1, 0);
        }
        v[i] = v[i].max(per.saturating_add(1));
    });
}

/// Gives a field store, emptied, to this thread's next [`Sink`], as [`recycle_events`]
/// does for events.
pub fn recycle_fields(mut fields: FieldStore) {
    fields.clear();
    SPARE_FIELDS.with_borrow_mut(|s| {
        if fields.capacity() > s.capacity() {
            *s = fields;
        }
    });
}

/// Gives an events vector, emptied, to this thread's next [`Sink`]: its pages are already
/// faulted in, where a new vector's would fault again (at 120 bytes an event, that was
/// most of the page faults of a run). Keeps the larger of this and the one already kept.
pub fn recycle_events(mut events: Vec<Event>) {
    events.clear();
    SPARE_EVENTS.with_borrow_mut(|s| {
        if events.capacity() > s.capacity() {
            *s = events;
        }
    });
}

/// Frees this thread's kept events vector (see [`recycle_events`]).
pub fn drop_spare_events() {
    SPARE_EVENTS.take();
    SPARE_FIELDS.take();
}

/// This thread's kept events vector, cut to what `lines` lines can need.
fn spare_events(lines: u64) -> Vec<Event> {
    let mut v = SPARE_EVENTS.with_borrow_mut(std::mem::take);
    cap_events(&mut v, lines);
    v
}

/// This thread's kept field store, cut to what `lines` lines of format `format` can need:
/// as many fields a line as a source of that format had on this thread (with a quarter
/// more), four before one was seen. The pages a store touched stay resident while it is
/// kept: a journal's store kept through the dmesg that follows it held two workers' peak
/// 20–30 MiB higher (docs/benchmarks.md, ninth round).
fn spare_fields(lines: u64, format: u16) -> FieldStore {
    let per = FIELDS_PER_LINE.with_borrow(|v| v.get(usize::from(format)).copied());
    let want = match per.filter(|&p| p > 0) {
        Some(p) => {
            let p = u64::from(p - 1);
            lines.saturating_mul(p + p / 4) / 16
        }
        None => lines.saturating_mul(4),
    };
    let mut v = SPARE_FIELDS.with_borrow_mut(std::mem::take);
    v.cap(want);
    v
}

/// Cuts an empty events vector down to `n` when it has room for more than twice that: files
/// come largest first, so a kept vector mostly shrinks, and a small file does not hold a
/// large file's room.
fn cap_events(v: &mut Vec<Event>, n: u64) {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if v.is_empty() && v.capacity() / 2 > n {
        v.shrink_to(n);
    }
}

impl<'a> Sink<'a> {
    /// A sink for `src` parsed by format index `format`.
    pub fn new(src: &'a Source, format: u16) -> Self {
        Sink {
            src,
            atoms: Atoms::default(),
            events: spare_events(src.lines),
            fields: spare_fields(src.lines, format),
            counts: LineCounts::default(),
            unparsed_examples: Vec::new(),
            issues: Vec::new(),
            format,
            range: 0..src.bytes.len(),
            first_line: 1,
            dependent: false,
            overran: false,
            once: Vec::new(),
        }
    }
    /// Reserves room for the events of this sink's range, estimated from its share of the
    /// source's lines at `lines_per_event` lines each, so that the events vector is not
    /// copied again and again as it grows.
    pub fn reserve_events(&mut self, lines_per_event: u64) {
        let total = self.src.bytes.len().max(1) as u64;
        let share = self.src.lines.saturating_mul(self.range.len() as u64) / total;
        let n = share / lines_per_event.max(1) + 1;
        cap_events(&mut self.events, n);
        self.events.reserve(usize::try_from(n).unwrap_or(0));
    }
    /// The physical lines of this sink's range, numbered as in the whole source.
    pub fn lines(&self) -> Lines<'a> {
        let src: &'a Source = self.src;
        let bytes: &'a [u8] = &src.bytes;
        Lines::starting_at(
            &bytes[..self.range.end],
            src.terminator,
            self.range.start,
            self.first_line,
        )
    }
    /// Adds an event covering lines `ev.line..=ev.end_line` (the first counted as parsed,
    /// the rest as continuation). Sets `ev.source` and `ev.format`.
    pub fn push(&mut self, mut ev: Event) {
        ev.source = self.src.id;
        ev.format = self.format;
        if ev.end_line < ev.line {
            ev.end_line = ev.line;
        }
        self.counts.parsed += 1;
        self.counts.continuation += u64::from(ev.end_line - ev.line);
        self.events.push(ev);
    }
    /// Folds physical line `no` into the last event as a continuation. Returns the event
    /// so the caller can extend its message; with no event yet the line is unparsed.
    pub fn continue_last(&mut self, line: &Line<'_>) -> Option<&mut Event> {
        if self.events.is_empty() {
            self.unparsed(line, "continuation line before any record");
            return None;
        }
        self.counts.continuation += 1;
        let ev = self.events.last_mut().expect("checked non-empty");
        ev.end_line = ev.end_line.max(line.no);
        Some(ev)
    }
    /// Counts lines that are parsed but carry no event (journal `-- Boot … --` markers).
    pub fn meta(&mut self, n: u64) {
        self.counts.parsed += n;
    }
    /// Counts lines that continue a structure without content (blank separators).
    pub fn blank(&mut self, n: u64) {
        self.counts.continuation += n;
    }
    /// Records an unparsed line, keeping a few as examples.
    pub fn unparsed(&mut self, line: &Line<'_>, _why: &str) {
        self.unparsed_lines(line.no, line.text, 1);
    }
    /// Records `n` unparsed lines starting at `no` whose first line is `text`.
    pub fn unparsed_lines(&mut self, no: u32, text: &[u8], n: u64) {
        self.counts.unparsed += n;
        if self.unparsed_examples.len() < MAX_UNPARSED_EXAMPLES {
            let t = crate::text::strip_ansi(text);
            let s = crate::text::lossy(&t);
            self.unparsed_examples.push(UnparsedExample {
                line: no,
                text: crate::text::ellipsize(&s, 200).into_owned(),
            });
        }
    }
    /// Records a problem at a line.
    pub fn issue(&mut self, line: u32, offset: usize, message: impl Into<String>) {
        if self.issues.len() < MAX_ISSUES {
            self.issues
                .push(SourceIssue::at(line, offset as u64, message.into()));
        }
    }
    /// Notes that a record at the start of this sink's range would have been parsed
    /// differently with the state left by earlier bytes (nothing for the first range).
    pub fn depends_on_earlier(&mut self) {
        if self.range.start > 0 {
            self.dependent = true;
        }
    }
    /// Records a problem that is reported once per source (the first time `key` is seen).
    pub fn issue_once(
        &mut self,
        key: &'static str,
        line: u32,
        offset: usize,
        message: impl Into<String>,
    ) {
        if self.once.iter().any(|(k, _)| *k == key) || self.issues.len() >= MAX_ISSUES {
            return;
        }
        self.once.push((key, self.issues.len()));
        self.issue(line, offset, message);
    }
    /// Appends the results of the next chunk of the same source: its atoms are interned
    /// here in their first-use order (so the numbering is that of a sequential parse),
    /// its events' atoms remapped, counts added, examples and issues kept up to their
    /// limits, once-per-source issues dropped when already reported.
    fn append(&mut self, next: Sink<'_>) {
        let map: Vec<Atom> = (0..next.atoms.len() as u32)
            .map(|i| self.atoms.intern(next.atoms.get(Atom(i))))
            .collect();
        let re = |a: Atom| map.get(a.0 as usize).copied().unwrap_or(Atom::NONE);
        // Chunks of one source usually intern the same strings in the same order (the
        // unit first, then the hosts...): then the events move over in one copy.
        let identity = map.iter().enumerate().all(|(i, a)| a.0 as usize == i);
        let remap = !(identity && next.events.iter().all(|ev| atoms_below(ev, map.len())));
        // Field names are remapped as the store moves over.
        let by = self.fields.append(next.fields, re);
        if !remap && by == 0 {
            self.events.extend(next.events);
        } else {
            self.events.reserve(next.events.len());
            for mut ev in next.events {
                if remap {
                    ev.host = re(ev.host);
                    ev.boot = re(ev.boot);
                    ev.unit = re(ev.unit);
                }
                ev.fields = ev.fields.shifted(by);
                self.events.push(ev);
            }
        }
        self.counts.parsed += next.counts.parsed;
        self.counts.continuation += next.counts.continuation;
        self.counts.unparsed += next.counts.unparsed;
        for ex in next.unparsed_examples {
            if self.unparsed_examples.len() < MAX_UNPARSED_EXAMPLES {
                self.unparsed_examples.push(ex);
            }
        }
        for (i, issue) in next.issues.into_iter().enumerate() {
            let once = next.once.iter().find(|(_, at)| *at == i).map(|(k, _)| *k);
            if let Some(k) = once {
                if self.once.iter().any(|(s, _)| *s == k) {
                    continue;
                }
                self.once.push((k, self.issues.len()));
            }
            if self.issues.len() < MAX_ISSUES {
                self.issues.push(issue);
            }
        }
    }
}

/// True when every atom of `ev` but its field names is below `n` (interned by its own
/// sink; an atom out of range is remapped to [`Atom::NONE`] by [`Sink::append`]).
fn atoms_below(ev: &Event, n: usize) -> bool {
    let ok = |a: Atom| (a.0 as usize) < n;
    ok(ev.host) && ok(ev.boot) && ok(ev.unit)
}

/// A source after parsing.
#[derive(Debug)]
pub struct Parsed {
    /// Registry index of the format used, or `None` when no format matched.
    pub format: Option<u16>,
    /// The source's atoms.
    pub atoms: Atoms,
    /// Events in source order.
    pub events: Vec<Event>,
    /// The events' fields (see [`Event::fields`]).
    pub fields: FieldStore,
    /// Line accounting (adds up to the source's lines).
    pub counts: LineCounts,
    /// Unparsed examples.
    pub unparsed_examples: Vec<UnparsedExample>,
    /// Problems (read errors, bad records, undetected format, accounting mismatch).
    pub issues: Vec<SourceIssue>,
}

/// Sniffs (unless `forced`) and parses one source. Never panics on well-behaved formats;
/// an undetected format counts every line as unparsed and adds an issue.
pub fn parse_source(src: &Source, forced: Option<u16>) -> Parsed {
    parse_source_split(src, forced, true)
}

/// [`parse_source`], cutting a large source into chunks parsed in parallel only when
/// `split` (a worker that has other files to take next parses its own file whole: the
/// cores are busy anyway, and one events vector, the worker's reused one, holds it).
pub fn parse_source_split(src: &Source, forced: Option<u16>, split: bool) -> Parsed {
    let mut issues = src.issues.clone();
    let format = forced.or_else(|| sniff(&src.bytes));
    let Some(fi) = format else {
        let mut counts = LineCounts::default();
        let mut examples = Vec::new();
        if src.lines > 0 {
            counts.unparsed = src.lines;
            issues.push(SourceIssue::file(format!(
                "{}: format not recognised; {} lines left unparsed (use --format {}=NAME)",
                src.path, src.lines, src.path
            )));
            let mut sink = Sink::new(src, 0);
            for line in crate::lines::Lines::new(&src.bytes, src.terminator).take(3) {
                sink.unparsed(&line, "unknown format");
            }
            examples = sink.unparsed_examples;
        }
        return Parsed {
            format: None,
            atoms: Atoms::default(),
            events: Vec::new(),
            fields: FieldStore::new(),
            counts,
            unparsed_examples: examples,
            issues,
        };
    };
    let chunk = if split {
        chunk_size(src.bytes.len())
    } else {
        usize::MAX
    };
    let (sink, _) = parse_chunked(src, fi, chunk);
    note_fields_per_line(fi, sink.fields.len(), src.lines);
    if sink.counts.total() != src.lines {
        issues.push(SourceIssue::file(format!(
            "internal error: {} accounted for {} of {} lines of {} (parsed {}, continuation {}, unparsed {}); please report this with the file",
            FORMATS[fi as usize].name(),
            sink.counts.total(),
            src.lines,
            src.path,
            sink.counts.parsed,
            sink.counts.continuation,
            sink.counts.unparsed
        )));
    }
    issues.extend(sink.issues);
    Parsed {
        format: Some(fi),
        atoms: sink.atoms,
        events: sink.events,
        fields: sink.fields,
        counts: sink.counts,
        unparsed_examples: sink.unparsed_examples,
        issues,
    }
}

/// Copies the bytes that `events` reference (messages and field values held as spans) into a
/// new buffer, in event order, and moves every span to point into it; returns the buffer.
///
/// This is what lets a source's input go once it is parsed: every later stage reads text
/// only through an event's [`Text`], so the buffer answers exactly as the input did, at a
/// fraction of its size (a journal export's field names and other fields, line prefixes,
/// timestamps and hosts are not kept). A span that lies inside the last copied one (a field
/// quoted from its own message) points into that copy rather than being copied again, and so
/// does a field value equal to the same field's value in an earlier event. Spans reaching
/// past the input are clamped first, as [`Text::bytes`] clamps them.
pub fn keep_referenced_text(
    events: &mut [Event],
    fields: &mut FieldStore,
    bytes: &[u8],
) -> Vec<u8> {
    keep_text_of(events, fields, 0..events.len(), bytes)
}

/// [`keep_referenced_text`] when only the events at `which` (ascending indices) hold
/// spans: the others are not read. The result is the same.
pub fn keep_referenced_text_of(
    events: &mut [Event],
    fields: &mut FieldStore,
    which: &[u32],
    bytes: &[u8],
) -> Vec<u8> {
    keep_text_of(events, fields, which.iter().map(|&i| i as usize), bytes)
}

fn keep_text_of(
    events: &mut [Event],
    fields: &mut FieldStore,
    which: impl Iterator<Item = usize> + Clone,
    bytes: &[u8],
) -> Vec<u8> {
    fn clamp(t: &Text, n: usize) -> Option<(usize, usize)> {
        match t {
            Text::Span { start, len } => {
                let s = (*start as usize).min(n);
                Some((s, (s + *len as usize).min(n)))
            }
            Text::Owned(_) | Text::Shared(_) => None,
        }
    }
    let n = bytes.len();
    // Room for every span, at most the whole input (more only when spans overlap, and then
    // the vector grows). After `analyze` dropped the text of the events no signal quotes,
    // that is a few kilobytes where the input was megabytes: sized by a first pass, not
    // reserved at the input's size, because glibc answers a large request by first
    // consolidating every small block freed since (the dropped texts and fields), a cost
    // the next file's small requests would otherwise not pay.
    let spans: usize = which
        .clone()
        .filter_map(|i| events.get(i))
        .flat_map(|ev| {
            std::iter::once(&ev.message).chain(fields.get(ev.fields).iter().map(|(_, v)| v))
        })
        .filter_map(|t| clamp(t, n))
        .map(|(s, e)| e - s)
        .sum();
    let mut out = Vec::with_capacity(spans.min(n));
    // The last copied source range and where it went.
    let mut last = (0usize, 0usize, 0usize);
    // Per field name (indexed by its atom), the last few distinct values copied (at, len,
    // first eight bytes), most recent first: a value repeated from one event to the next (a
    // trace's section and executor, atticd's target) is kept once, and so is one that comes
    // back after a few others (a journal interleaves its units: identifier, unit and
    // transport take a handful of values, repeated over hundreds of thousands of entries).
    // The first bytes held here tell most candidates apart without reading the copies, far
    // back in `out` (and decide alone for values of eight bytes or less).
    let mut repeated: Vec<[(usize, usize, u64); RECENT_VALUES]> = Vec::new();
    let mut relocate = |t: &mut Text, field: Option<Atom>, out: &mut Vec<u8>| {
        let Some((s, e)) = clamp(t, n) else { return };
        let value = &bytes[s..e];
        let slot = field.map(|a| {
            let i = a.0 as usize;
            if i >= repeated.len() {
                repeated.resize(i + 1, [(0, usize::MAX, 0); RECENT_VALUES]);
            }
            i
        });
        // The position among the field's recent values of an equal one.
        let head = slot.map_or(0, |_| first_word(value));
        let hit = slot.and_then(|i| {
            repeated[i].iter().position(|&(at, len, h)| {
                len == value.len() && h == head && (len <= 8 || &out[at..at + len] == value)
            })
        });
        let at = if s >= last.0 && e <= last.1 {
            last.2 + (s - last.0)
        } else if let (Some(i), Some(j)) = (slot, hit) {
            repeated[i][j].0
        } else {
            let at = out.len();
            out.extend_from_slice(value);
            last = (s, e, at);
            at
        };
        if let Some(i) = slot {
            // To the front; a value seen before leaves its old place, a new one pushes the
            // oldest out.
            // (A plain loop: most hits are at the front, where there is nothing to move.)
            let r = &mut repeated[i];
            for k in (1..=hit.unwrap_or(RECENT_VALUES - 1)).rev() {
                r[k] = r[k - 1];
            }
            r[0] = (at, e - s, head);
        }
        *t = Text::Span {
            start: at as u64,
            len: (e - s) as u32,
        };
    };
    for i in which {
        let Some(ev) = events.get_mut(i) else { break };
        relocate(&mut ev.message, None, &mut out);
        for (a, v) in fields.get_mut(ev.fields) {
            relocate(v, Some(*a), &mut out);
        }
    }
    out.shrink_to_fit();
    out
}

/// Distinct recent values per field name that [`keep_referenced_text`] reuses.
const RECENT_VALUES: usize = 8;

/// The first eight bytes of `v` as a word (zero-padded): with the length, the whole value
/// when it is no longer.
fn first_word(v: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let k = v.len().min(8);
    w[..k].copy_from_slice(&v[..k]);
    u64::from_le_bytes(w)
}

/// The chunk size for a source of `len` bytes: one chunk per worker thread (at least
/// [`MIN_CHUNK`]), so that one big file keeps every core busy.
fn chunk_size(len: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    len.div_ceil(threads).max(MIN_CHUNK)
}

/// Where format `f` splits `bytes` into chunks of about `chunk` bytes: the chunks' byte
/// ranges in order, covering the whole input.
pub fn chunks(f: &dyn Format, bytes: &[u8], chunk: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let chunk = chunk.max(1);
    while bytes.len() - start > chunk {
        match f.split(bytes, start + chunk) {
            Some(b) if b > start && b < bytes.len() => {
                out.push(start..b);
                start = b;
            }
            _ => break,
        }
    }
    out.push(start..bytes.len());
    out
}

/// Parses `src` with format `fi` in chunks of about `chunk` bytes on the current rayon
/// pool and stitches the results; falls back to one sequential parse when the format does
/// not split or a chunk depended on state from before it. Returns the sink and the number
/// of chunks whose results were used (1 for a sequential parse). The result is identical
/// to a sequential parse whatever `chunk` is.
pub fn parse_chunked(src: &Source, fi: u16, chunk: usize) -> (Sink<'_>, usize) {
    let f = FORMATS[fi as usize];
    let ranges = chunks(f, &src.bytes, chunk);
    if ranges.len() == 1 {
        let mut sink = Sink::new(src, fi);
        f.parse(src, &mut sink);
        return (sink, 1);
    }
    let term = src.terminator;
    let lines: Vec<u64> = ranges
        .par_iter()
        .map(|r| count_terminators(&src.bytes[r.clone()], term))
        .collect();
    // (range, number of its first line, its parse once done)
    let mut parts: Vec<(Range<usize>, u64, Option<Sink<'_>>)> = Vec::with_capacity(ranges.len());
    let mut first = 1u64;
    for (r, n) in ranges.into_iter().zip(lines) {
        parts.push((r, first, None));
        first += n;
    }
    loop {
        parts.par_iter_mut().for_each(|(range, first, done)| {
            if done.is_none() {
                let mut sink = Sink::new(src, fi);
                sink.range = range.clone();
                sink.first_line = u32::try_from(*first).unwrap_or(u32::MAX);
                f.parse(src, &mut sink);
                *done = Some(sink);
            }
        });
        // A chunk that depended on earlier state is merged into the chunk before it; a
        // chunk that overran its end absorbs the chunk after it. Merged ranges are parsed
        // again; the others keep their results. Every round removes a boundary.
        let mut merged: Vec<(Range<usize>, u64, Option<Sink<'_>>)> =
            Vec::with_capacity(parts.len());
        let mut changed = false;
        let mut absorb_next = false;
        for (range, first, done) in parts {
            let dependent = done.as_ref().is_some_and(|s| s.dependent);
            let overran = done.as_ref().is_some_and(|s| s.overran);
            match merged.last_mut() {
                Some(prev) if absorb_next || dependent => {
                    prev.0.end = range.end;
                    prev.2 = None;
                    changed = true;
                }
                _ => merged.push((range, first, done)),
            }
            absorb_next = overran;
        }
        parts = merged;
        if !changed {
            break;
        }
    }
    let n = parts.len();
    let mut it = parts.into_iter().filter_map(|(_, _, s)| s);
    let mut all = it.next().expect("at least one chunk");
    for s in it {
        all.append(s);
    }
    all.range = 0..src.bytes.len();
    all.first_line = 1;
    (all, n)
}

/// How far after the requested position a boundary is looked for.
pub const SPLIT_SEARCH: usize = 1 << 20;

/// The first line start at or after `near` (and within [`SPLIT_SEARCH`] bytes) whose line
/// satisfies `ok`; a helper for [`Format::split`]. Lines end with `\n` here: a CR-only
/// input is never split.
pub fn line_start_where(bytes: &[u8], near: usize, ok: impl Fn(&[u8]) -> bool) -> Option<usize> {
    if near == 0 || near >= bytes.len() {
        return None;
    }
    let limit = bytes.len().min(near.saturating_add(SPLIT_SEARCH));
    // The line containing byte `near - 1` ends at the first `\n` from there.
    let mut at = near - 1 + memchr::memchr(b'\n', &bytes[near - 1..limit])? + 1;
    while at < limit {
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        if ok(&bytes[at..end]) {
            return Some(at);
        }
        at = end + 1;
    }
    None
}

/// Number of line terminators in `bytes`.
fn count_terminators(bytes: &[u8], term: crate::lines::Terminator) -> u64 {
    let b = match term {
        crate::lines::Terminator::Lf => b'\n',
        crate::lines::Terminator::Cr => b'\r',
    };
    memchr::memchr_iter(b, bytes).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_events_vector_serves_the_next_sink_cut_to_its_size() {
        // Tests run on threads of their own: this thread's spare is this test's.
        drop_spare_events();
        let mut big: Vec<Event> = Vec::with_capacity(10_000);
        big.push(Event::default());
        recycle_events(big);
        // A smaller vector does not replace the larger one kept.
        recycle_events(Vec::with_capacity(10));
        let src = Source::from_bytes(0, "a.log", b"one\ntwo\n".to_vec());
        let sink = Sink::new(&src, 0);
        // Emptied, and cut from 10 000 to the source's two lines.
        assert!(sink.events.is_empty());
        assert!(sink.events.capacity() >= 2 && sink.events.capacity() < 10_000);
        // Taken: the next sink starts from nothing.
        assert_eq!(Sink::new(&src, 0).events.capacity(), 0);
        recycle_events(Vec::with_capacity(5_000));
        drop_spare_events();
        assert_eq!(Sink::new(&src, 0).events.capacity(), 0);
        // A vector with room for at most twice what a sink needs is kept whole.
        let mut v: Vec<Event> = Vec::with_capacity(8);
        cap_events(&mut v, 4);
        assert!(v.capacity() >= 8);
        cap_events(&mut v, 3);
        assert!(v.capacity() >= 3 && v.capacity() < 8);
    }

    #[test]
    fn names_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for f in FORMATS {
            assert!(seen.insert(f.name()), "duplicate {}", f.name());
            assert!(
                f.name()
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'),
                "{}",
                f.name()
            );
            assert!(!f.description().is_empty());
        }
    }

    #[test]
    fn no_format_scores_above_sure_on_any_fixture() {
        // `sniff` stops at SNIFF_SURE: exact only while no format scores more.
        let mut n = 0;
        for src in crate::ingest::fixture_and_sample_sources() {
            let sample = &src.bytes[..src.bytes.len().min(SNIFF_BYTES)];
            for f in FORMATS {
                assert!(
                    f.sniff(sample) <= SNIFF_SURE,
                    "{} on {}",
                    f.name(),
                    src.path
                );
            }
            n += 1;
        }
        assert!(n > 20, "fixtures not found");
    }

    /// Every message and field value, as the later stages read them.
    fn texts(events: &[Event], fields: &FieldStore, bytes: &[u8]) -> Vec<Vec<u8>> {
        events
            .iter()
            .flat_map(|e| {
                std::iter::once(&e.message).chain(fields.get(e.fields).iter().map(|(_, v)| v))
            })
            .map(|t| t.bytes(bytes).to_vec())
            .collect()
    }

    #[test]
    fn kept_text_reads_as_the_input_did_on_every_fixture() {
        let (mut n, mut input, mut kept) = (0, 0, 0);
        for src in crate::ingest::fixture_and_sample_sources() {
            let mut p = parse_source(&src, None);
            // Every third event stripped as `analyze` strips those it will not quote: the
            // pass over the others alone keeps the same buffer and spans.
            let mut some = p.events.clone();
            let which: Vec<u32> = (0..some.len() as u32).filter(|i| i % 3 != 1).collect();
            for e in some.iter_mut().skip(1).step_by(3) {
                e.message = Text::default();
                e.fields = crate::event::Fields::default();
            }
            let mut all = some.clone();
            let (mut some_f, mut all_f) = (p.fields.clone(), p.fields.clone());
            let k_all = keep_referenced_text(&mut all, &mut all_f, &src.bytes);
            let k_some = keep_referenced_text_of(&mut some, &mut some_f, &which, &src.bytes);
            assert_eq!(k_some, k_all, "{}", src.path);
            assert_eq!(
                texts(&some, &some_f, &k_some),
                texts(&all, &all_f, &k_all),
                "{}",
                src.path
            );
            let before = texts(&p.events, &p.fields, &src.bytes);
            let k = keep_referenced_text(&mut p.events, &mut p.fields, &src.bytes);
            assert_eq!(texts(&p.events, &p.fields, &k), before, "{}", src.path);
            // Events of a source come in line order: the timeline's key relies on it.
            assert!(
                p.events.windows(2).all(|w| w[0].line <= w[1].line),
                "{}: events out of line order",
                src.path
            );
            n += 1;
            input += src.bytes.len();
            kept += k.len();
        }
        assert!(n > 20, "fixtures not found");
        assert!(kept < input, "kept {kept} of {input}");
    }

    #[test]
    fn kept_text_clamps_shares_and_leaves_owned_text_alone() {
        let span = |s: u64, len: u32| Text::Span { start: s, len };
        let bytes = b"0123456789 unit-a unit-a";
        let mut evs = vec![Event::default(), Event::default(), Event::default()];
        let mut f = FieldStore::new();
        evs[0].message = span(2, 5); // "23456"
        f.push(&mut evs[0].fields, Atom(1), span(3, 2));
        f.push(&mut evs[0].fields, Atom(2), Text::Owned("x".into()));
        evs[1].message = span(8, 2); // "89"
        f.push(&mut evs[1].fields, Atom(3), span(11, 6)); // "unit-a"
        evs[2].message = span(50, 3); // past the end: empty
        // The same value as the last event's field 3, elsewhere in the input.
        f.push(&mut evs[2].fields, Atom(3), span(18, 100));
        f.push(&mut evs[2].fields, Atom(1), span(19, 2));
        let k = keep_referenced_text(&mut evs, &mut f, bytes);
        // "34" lies inside "23456" and is not copied again; the second "unit-a" (clamped
        // to the input's end) is the first one's copy; field 1's "ni" differs from its
        // last value "34" and is copied.
        assert_eq!(k, b"2345689unit-ani");
        assert_eq!(f.get(evs[0].fields)[0].1, span(1, 2));
        assert_eq!(f.get(evs[0].fields)[1].1, Text::Owned("x".into()));
        assert_eq!(evs[1].message.bytes(&k), b"89");
        assert_eq!(evs[2].message.bytes(&k), b"");
        assert_eq!(f.get(evs[2].fields)[0].1, span(7, 6));
        assert_eq!(f.get(evs[2].fields)[1].1.bytes(&k), b"ni");
    }

    #[test]
    fn a_format_that_does_not_embed_an_identifier_never_answers_for_it() {
        // `Embedded` skips a format for every entry of an identifier it does not embed:
        // correct only while `refine` and `is_continuation` agree with `embeds`.
        let mut idents: Vec<String> = [
            "atticd",
            "attic-server",
            "gitlab-runner",
            "gitlab-ci-multi-runner",
            "nix",
            "nix-daemon",
            "nixos-rebuild",
            "nix-gc",
            "nixpkgs-review",
            "switch-to-configuration",
            "sshd",
            "kernel",
            "",
        ]
        .map(String::from)
        .to_vec();
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for src in crate::ingest::fixture_and_sample_sources() {
            let p = parse_source(&src, None);
            for ev in &p.events {
                let u = p.atoms.get(ev.unit);
                if !idents.iter().any(|i| i == u) {
                    idents.push(u.to_string());
                }
            }
            for l in crate::lines::Lines::new(&src.bytes, src.terminator).take(400) {
                lines.push(l.text.to_vec());
            }
        }
        assert!(lines.len() > 1000, "fixtures not found");
        let mut answered = 0;
        for id in &idents {
            for f in FORMATS {
                let embeds = f.embeds(id);
                for l in &lines {
                    let says = f.refine(id, l).is_some() || f.is_continuation(id, l);
                    assert!(
                        embeds || !says,
                        "{} answers for `{id}` without embedding it: {}",
                        f.name(),
                        String::from_utf8_lossy(l)
                    );
                    answered += usize::from(says);
                }
            }
        }
        assert!(answered > 100, "{answered}");
    }

    #[test]
    fn appending_a_chunk_shifts_its_fields_and_remaps_stray_atoms() {
        let src = Source::from_bytes(0, "a.log", b"one\ntwo\n".to_vec());
        let mut first = Sink::new(&src, 0);
        let unit = first.atoms.intern("u");
        let mut ev = Event {
            unit,
            ..Event::default()
        };
        first.fields.push(&mut ev.fields, unit, Text::span(0, 3));
        first.push(ev);
        // Same atoms in the same order (identity), but one event names an atom its chunk
        // never interned: it becomes none, as under any other numbering.
        let mut next = Sink::new(&src, 0);
        let u = next.atoms.intern("u");
        let mut ev = Event {
            line: 2,
            unit: u,
            host: Atom(7),
            ..Event::default()
        };
        next.fields.push(&mut ev.fields, u, Text::span(4, 7));
        next.push(ev);
        first.append(next);
        let e = &first.events[1];
        assert_eq!((e.unit, e.host), (unit, Atom::NONE));
        assert_eq!(first.fields.get(e.fields), &[(unit, Text::span(4, 7))]);
        assert_eq!(
            first.fields.get(first.events[0].fields),
            &[(unit, Text::span(0, 3))]
        );
    }

    #[test]
    fn the_kept_field_store_is_cut_to_what_its_format_had_a_line() {
        // On a thread of its own: the spare store and the ratios are per thread.
        std::thread::spawn(|| {
            let full = || {
                let mut s = FieldStore::new();
                let mut f = crate::event::Fields::default();
                for _ in 0..100_000 {
                    s.push(&mut f, Atom(1), Text::default());
                }
                s
            };
            recycle_fields(full());
            // No source of the format yet: room for four fields a line is kept.
            let s = spare_fields(20_000, 3);
            assert!(s.is_empty() && s.capacity() >= 100_000);
            recycle_fields(s);
            // A format whose sources had no field: the room goes.
            note_fields_per_line(3, 0, 20_000);
            let s = spare_fields(20_000, 3);
            assert!(s.capacity() < 1_000, "{}", s.capacity());
            // Five a line (and a quarter more): the room stays for 20 000 lines.
            recycle_fields(full());
            note_fields_per_line(4, 100_000, 20_000);
            note_fields_per_line(4, 10, 20_000);
            assert!(spare_fields(20_000, 4).capacity() >= 100_000);
            // ...and goes for 2 000.
            recycle_fields(full());
            assert!(spare_fields(2_000, 4).capacity() < 100_000);
        })
        .join()
        .expect("no panic");
    }

    #[test]
    fn every_event_owns_its_own_stretch_of_the_field_store() {
        // Fields pushed while an event is built, added to an earlier event later (an OOM
        // report's details), or dropped with an event folded into another: every event's
        // stretch lies in the store, no two overlap, and few entries are left unused.
        let (mut n, mut used, mut held) = (0, 0, 0);
        for src in crate::ingest::fixture_and_sample_sources() {
            let p = parse_source(&src, None);
            let mut taken = vec![false; p.fields.len()];
            for ev in &p.events {
                n += 1;
                assert!(ev.fields.range().end <= p.fields.len(), "{}", src.path);
                for i in ev.fields.range() {
                    assert!(!taken[i], "{} line {}: shared field", src.path, ev.line);
                    taken[i] = true;
                }
                used += ev.fields.len as usize;
            }
            held += p.fields.len();
        }
        assert!(n > 1000, "fixtures not found");
        assert!(used * 100 >= held * 95, "{used} of {held} fields used");
    }

    #[test]
    fn kept_text_holds_interleaved_field_values_once() {
        // A journal's units alternate: each value is copied the first time only, until more
        // than RECENT_VALUES others came between two uses.
        let bytes = b"kubelet sshd etcd kubelet etcd sshd kubelet systemd-logind systemd-resolv systemd-logind";
        let words: Vec<(usize, usize)> = bytes
            .split(|&c| c == b' ')
            .scan(0, |at, w| {
                let s = *at;
                *at += w.len() + 1;
                Some((s, s + w.len()))
            })
            .collect();
        let mut f = FieldStore::new();
        let mut evs: Vec<Event> = words
            .iter()
            .map(|&(s, e)| {
                let mut ev = Event {
                    message: Text::Owned("m".into()),
                    ..Event::default()
                };
                f.push(&mut ev.fields, Atom(1), Text::span(s, e));
                ev
            })
            .collect();
        let k = keep_referenced_text(&mut evs, &mut f, bytes);
        // Same length and first eight bytes, other values: both kept.
        assert_eq!(k, b"kubeletsshdetcdsystemd-logindsystemd-resolv");
        let got: Vec<&[u8]> = evs.iter().map(|e| f.get(e.fields)[0].1.bytes(&k)).collect();
        let want: Vec<&[u8]> = words.iter().map(|&(s, e)| &bytes[s..e]).collect();
        assert_eq!(got, want);
        // Past the recent values: copied again.
        let many: Vec<u8> = (0..=RECENT_VALUES)
            .chain([0])
            .flat_map(|i| format!("u{i} ").into_bytes())
            .collect();
        let mut f = FieldStore::new();
        let mut evs: Vec<Event> = (0..RECENT_VALUES + 2)
            .map(|i| {
                let mut ev = Event::default();
                f.push(&mut ev.fields, Atom(1), Text::span(3 * i, 3 * i + 2));
                ev
            })
            .collect();
        let k = keep_referenced_text(&mut evs, &mut f, &many);
        assert_eq!(k.len(), 2 * (RECENT_VALUES + 2));
        assert_eq!(f.get(evs[RECENT_VALUES + 1].fields)[0].1.bytes(&k), b"u0");
    }

    #[test]
    fn unknown_name_gets_a_hint() {
        let e = by_name("journal-jsn").err().expect("unknown name");
        assert!(e.contains("did you mean `journal-json`"), "{e}");
        assert!(by_name("syslog").is_ok());
    }

    #[test]
    fn undetected_input_is_all_unparsed_with_an_issue() {
        let src = Source::from_bytes(0, "x.bin", b"\x00\x01\x02\n\x03\n".to_vec());
        let p = parse_source(&src, None);
        assert_eq!(p.format, None);
        assert_eq!(p.counts.unparsed, 2);
        assert!(p.issues[0].message.contains("format not recognised"));
    }
}
