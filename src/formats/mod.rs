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

use crate::event::{Atoms, Event, Severity};
use crate::ingest::{Source, SourceIssue};
use crate::lines::Line;
use serde::Serialize;

/// How many bytes of an input `sniff` sees.
pub const SNIFF_BYTES: usize = 16 * 1024;
/// Unparsed-line examples kept per source.
pub const MAX_UNPARSED_EXAMPLES: usize = 5;

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

/// Picks the best format for `sample`; `None` when every format scores 0.
pub fn sniff(sample: &[u8]) -> Option<u16> {
    let sample = &sample[..sample.len().min(SNIFF_BYTES)];
    let mut best: Option<(u8, u16)> = None;
    for (i, f) in FORMATS.iter().enumerate() {
        let s = f.sniff(sample);
        if s > 0 && best.is_none_or(|(b, _)| s > b) {
            best = Some((s, i as u16));
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
    /// Line accounting.
    pub counts: LineCounts,
    /// A few unparsed lines.
    pub unparsed_examples: Vec<UnparsedExample>,
    /// Problems found (bad records, truncation).
    pub issues: Vec<SourceIssue>,
    /// The registry index of the format parsing this source (set on new events).
    pub format: u16,
}

impl<'a> Sink<'a> {
    /// A sink for `src` parsed by format index `format`.
    pub fn new(src: &'a Source, format: u16) -> Self {
        Sink {
            src,
            atoms: Atoms::default(),
            events: Vec::new(),
            counts: LineCounts::default(),
            unparsed_examples: Vec::new(),
            issues: Vec::new(),
            format,
        }
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
        if self.issues.len() < 100 {
            self.issues
                .push(SourceIssue::at(line, offset as u64, message.into()));
        }
    }
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
            counts,
            unparsed_examples: examples,
            issues,
        };
    };
    let mut sink = Sink::new(src, fi);
    FORMATS[fi as usize].parse(src, &mut sink);
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
        counts: sink.counts,
        unparsed_examples: sink.unparsed_examples,
        issues,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
