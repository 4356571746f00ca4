//! The Event model: what every format parser produces and every later stage consumes.
//!
//! An [`Event`] is one log record (possibly spanning several physical lines). It holds
//! spans into its source's bytes rather than copies wherever the message can be used as
//! written; only messages that had to be decoded (JSON escapes, ANSI colour, journal binary
//! fields, `\r` overwrites) own their text. Low-cardinality strings (host, unit, boot id,
//! field names) are interned per source as [`Atom`]s.
//!
//! Invariants: `line <= end_line`; `line` is the 1-based physical line where the record
//! starts; `time` is UTC nanoseconds once the clock stage has run (before it, its meaning
//! is given by `clock`, see [`ClockMethod`]).

use serde::Serialize;
use std::fmt;

/// Index of an input within one analysis (position in the ordered source list).
pub type SourceId = u32;

/// An interned string; `Atom::NONE` means absent. Resolve with [`Atoms::get`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Atom(pub u32);

impl Atom {
    /// The absent value.
    pub const NONE: Atom = Atom(0);
    /// True when this atom names nothing.
    pub fn is_none(self) -> bool {
        self.0 == 0
    }
}

/// A small string interner. Index 0 is reserved for "absent".
#[derive(Clone, Debug)]
pub struct Atoms {
    strings: Vec<Box<str>>,
    index: crate::digest::FastMap<Box<str>, u32>,
}

impl Default for Atoms {
    fn default() -> Self {
        Atoms {
            strings: vec!["".into()],
            index: Default::default(),
        }
    }
}

impl Atoms {
    /// Interns `s` (an empty string is [`Atom::NONE`]).
    pub fn intern(&mut self, s: &str) -> Atom {
        if s.is_empty() {
            return Atom::NONE;
        }
        if let Some(&i) = self.index.get(s) {
            return Atom(i);
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.into());
        self.index.insert(s.into(), i);
        Atom(i)
    }
    /// Interns bytes, replacing invalid UTF-8.
    pub fn intern_bytes(&mut self, b: &[u8]) -> Atom {
        match std::str::from_utf8(b) {
            Ok(s) => self.intern(s),
            Err(_) => self.intern(&String::from_utf8_lossy(b)),
        }
    }
    /// The string of `a` ("" for [`Atom::NONE`] or an unknown atom).
    pub fn get(&self, a: Atom) -> &str {
        self.strings.get(a.0 as usize).map(|s| &**s).unwrap_or("")
    }
    /// Looks a string up without interning it.
    pub fn find(&self, s: &str) -> Option<Atom> {
        self.index.get(s).map(|&i| Atom(i))
    }
    /// Number of interned strings including the reserved empty one.
    pub fn len(&self) -> usize {
        self.strings.len()
    }
    /// True when nothing but the reserved empty string is interned.
    pub fn is_empty(&self) -> bool {
        self.strings.len() <= 1
    }
}

/// The text of a message or field value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Text {
    /// Bytes `start..start+len` of the event's source, used as they are (may be invalid UTF-8;
    /// they contain no ANSI escape sequences).
    Span { start: u64, len: u32 },
    /// Decoded text owned by the event.
    Owned(Box<str>),
    /// Text shared by many events of a source (a CI job id known only from the file name):
    /// a clone costs a reference count, not an allocation.
    Shared(std::sync::Arc<str>),
}

impl Default for Text {
    fn default() -> Self {
        Text::Owned("".into())
    }
}

impl Text {
    /// A span of the source bytes.
    pub fn span(start: usize, end: usize) -> Text {
        Text::Span {
            start: start as u64,
            len: end.saturating_sub(start).min(u32::MAX as usize) as u32,
        }
    }
    /// The bytes of this text, given the bytes of the event's source.
    pub fn bytes<'a>(&'a self, source: &'a [u8]) -> &'a [u8] {
        match self {
            Text::Span { start, len } => {
                let s = (*start as usize).min(source.len());
                let e = (s + *len as usize).min(source.len());
                &source[s..e]
            }
            Text::Owned(s) => s.as_bytes(),
            Text::Shared(s) => s.as_bytes(),
        }
    }
}

/// Syslog severity (0 = emerg .. 7 = debug), or unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 0, system is unusable.
    Emerg,
    /// 1.
    Alert,
    /// 2.
    Crit,
    /// 3.
    Err,
    /// 4.
    Warning,
    /// 5.
    Notice,
    /// 6.
    Info,
    /// 7.
    Debug,
    /// The record carried no severity.
    #[default]
    Unknown,
}

impl Severity {
    /// From a syslog priority digit (0-7); other values are [`Severity::Unknown`].
    pub fn from_syslog(p: u8) -> Severity {
        match p {
            0 => Severity::Emerg,
            1 => Severity::Alert,
            2 => Severity::Crit,
            3 => Severity::Err,
            4 => Severity::Warning,
            5 => Severity::Notice,
            6 => Severity::Info,
            7 => Severity::Debug,
            _ => Severity::Unknown,
        }
    }
    /// From a level word as loggers write it (`ERROR`, `warn`, `W`, `crit`, ...).
    pub fn from_word(w: &[u8]) -> Severity {
        let mut buf = [0u8; 8];
        if w.is_empty() || w.len() > buf.len() {
            return Severity::Unknown;
        }
        for (d, s) in buf.iter_mut().zip(w) {
            *d = s.to_ascii_lowercase();
        }
        match &buf[..w.len()] {
            b"emerg" | b"panic" => Severity::Emerg,
            b"alert" => Severity::Alert,
            b"crit" | b"critical" | b"fatal" => Severity::Crit,
            b"err" | b"error" | b"e" => Severity::Err,
            b"warn" | b"warning" | b"w" => Severity::Warning,
            b"notice" => Severity::Notice,
            b"info" | b"i" => Severity::Info,
            b"debug" | b"trace" | b"d" => Severity::Debug,
            _ => Severity::Unknown,
        }
    }
    /// True for err and worse.
    pub fn is_error(self) -> bool {
        self <= Severity::Err
    }
    /// Lower-case name as used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Emerg => "emerg",
            Severity::Alert => "alert",
            Severity::Crit => "crit",
            Severity::Err => "err",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
            Severity::Info => "info",
            Severity::Debug => "debug",
            Severity::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an event's time was obtained. Parsers set the "raw" kinds; the clock stage turns
/// them into final ones and fills [`Event::time`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ClockMethod {
    /// An absolute instant with its zone (RFC 3339 with offset, epoch µs, `Z`). `time` is UTC ns.
    Exact,
    /// A wall-clock time without zone; `time` holds the naive time as if it were UTC.
    /// The clock stage applies `--tz` (default UTC) and turns it into [`ClockMethod::InferredZone`].
    LocalNoZone,
    /// A wall-clock time without year nor zone (`Mar 24 10:00:00`); `time` holds the naive
    /// time in the year 2000 (a leap year, so Feb 29 is representable). The clock stage infers
    /// the year and zone and turns it into [`ClockMethod::InferredYear`].
    NoYear,
    /// Final: zone taken from `--tz` or assumed UTC.
    InferredZone,
    /// Final: year inferred (file mtime, neighbouring sources, `--year`), zone as for InferredZone.
    InferredYear,
    /// Only a monotonic time since boot is known (`[ 1234.567890]`); it is in
    /// [`Event::mono_us`]. The clock stage maps it to wall time per boot when it can.
    Monotonic,
    /// Final: wall time computed from the monotonic time and the boot's estimated start.
    AlignedMonotonic,
    /// Final: time interpolated between neighbouring stamped events (job trace sections) or
    /// inherited from the previous stamped record of the same source.
    Interpolated,
    /// Final: no usable clock; the event is kept, flagged, and sorted by its source position.
    #[default]
    Missing,
}

impl ClockMethod {
    /// kebab-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockMethod::Exact => "exact",
            ClockMethod::LocalNoZone => "local-no-zone",
            ClockMethod::NoYear => "no-year",
            ClockMethod::InferredZone => "inferred-zone",
            ClockMethod::InferredYear => "inferred-year",
            ClockMethod::Monotonic => "monotonic",
            ClockMethod::AlignedMonotonic => "aligned-monotonic",
            ClockMethod::Interpolated => "interpolated",
            ClockMethod::Missing => "missing",
        }
    }
}

impl fmt::Display for ClockMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One log record.
#[derive(Clone, Debug, Default)]
pub struct Event {
    /// Nanoseconds; UTC since the Unix epoch once the clock stage ran (see `clock`).
    pub time: i64,
    /// How `time` was obtained.
    pub clock: ClockMethod,
    /// Monotonic microseconds since boot, when the record carries them (dmesg, journal).
    pub mono_us: Option<i64>,
    /// The input this event came from.
    pub source: SourceId,
    /// 1-based physical line where the record starts.
    pub line: u32,
    /// 1-based physical line where the record ends (== `line` for one-line records).
    pub end_line: u32,
    /// Byte offset of the record's start in the source.
    pub offset: u64,
    /// Host name.
    pub host: Atom,
    /// Boot id (32 lower-case hex digits) when known.
    pub boot: Atom,
    /// systemd unit, syslog identifier or program (`kernel` for kernel lines).
    pub unit: Atom,
    /// Process id when known.
    pub pid: Option<u32>,
    /// Severity.
    pub severity: Severity,
    /// The message, ANSI-stripped; for multi-line records the lines joined with `\n`.
    pub message: Text,
    /// A few structured fields (name, value): journal fields kept, OOM details, job facts.
    pub fields: Vec<(Atom, Text)>,
    /// The format that parsed this event's source (an index into the format registry); set
    /// by the sink.
    pub format: u16,
    /// The inner format that refined an embedded message (atticd inside a journal entry).
    pub inner: Option<u16>,
}

impl Event {
    /// The value of field `name`, if present.
    pub fn field<'a>(&'a self, atoms: &Atoms, name: &str, source: &'a [u8]) -> Option<&'a [u8]> {
        let a = atoms.find(name)?;
        self.fields
            .iter()
            .find(|(k, _)| *k == a)
            .map(|(_, v)| v.bytes(source))
    }
}

/// An event as the stages after parsing hold it: an [`Event`] without its text, its
/// physical extent and its monotonic stamp, in 32 bytes instead of 120 (options are
/// sentinels, not tags). Its message and fields, when the run keeps them, are in the
/// source's [`crate::timeline::Texts`]; what later stages need of the rest (the monotonic
/// stamp among it) is in its [`crate::digest::Digest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slim {
    /// As [`Event::time`].
    pub time: i64,
    /// As [`Event::line`].
    pub line: u32,
    /// As [`Event::host`].
    pub host: Atom,
    /// As [`Event::boot`].
    pub boot: Atom,
    /// As [`Event::unit`].
    pub unit: Atom,
    /// [`Event::pid`], `u32::MAX` for none.
    pid: u32,
    /// [`Event::format`]: an index into a registry of a dozen formats.
    format: u8,
    /// [`Event::inner`], `u8::MAX` for none.
    inner: u8,
    /// As [`Event::clock`].
    pub clock: ClockMethod,
    /// As [`Event::severity`].
    pub severity: Severity,
}

// Format indices fit the slim event's byte, with `u8::MAX` left for "none".
const _: () = assert!(crate::formats::FORMATS.len() < u8::MAX as usize);

impl Default for Slim {
    fn default() -> Slim {
        Slim::from(&Event::default())
    }
}

impl From<&Event> for Slim {
    fn from(e: &Event) -> Slim {
        // A format index past the registry (only a hand-built event has one) reads back
        // as "unknown", like the index itself would.
        let index = |f: u16| u8::try_from(f).unwrap_or(u8::MAX - 1);
        Slim {
            time: e.time,
            line: e.line,
            host: e.host,
            boot: e.boot,
            unit: e.unit,
            // Process ids stay below 2^22 on Linux.
            pid: e.pid.unwrap_or(u32::MAX),
            format: index(e.format),
            inner: e.inner.map_or(u8::MAX, index),
            clock: e.clock,
            severity: e.severity,
        }
    }
}

impl Slim {
    /// As [`Event::pid`].
    pub fn pid(&self) -> Option<u32> {
        (self.pid != u32::MAX).then_some(self.pid)
    }
    /// As [`Event::format`].
    pub fn format(&self) -> u16 {
        u16::from(self.format)
    }
    /// As [`Event::inner`].
    pub fn inner(&self) -> Option<u16> {
        (self.inner != u8::MAX).then_some(u16::from(self.inner))
    }
}

#[cfg(test)]
mod slim_tests {
    use super::*;

    #[test]
    fn a_slim_event_is_32_bytes_and_keeps_every_attribute() {
        assert_eq!(std::mem::size_of::<Slim>(), 32);
        let e = Event {
            time: 7,
            mono_us: Some(0),
            line: 3,
            host: Atom(1),
            boot: Atom(2),
            unit: Atom(3),
            pid: Some(0),
            format: 4,
            inner: Some(0),
            clock: ClockMethod::Exact,
            severity: Severity::Err,
            ..Event::default()
        };
        let s = Slim::from(&e);
        assert_eq!(
            (s.time, s.line, s.pid(), s.inner(), s.format()),
            (7, 3, Some(0), Some(0), 4)
        );
        assert_eq!((s.host, s.boot, s.unit), (Atom(1), Atom(2), Atom(3)));
        assert_eq!((s.clock, s.severity), (ClockMethod::Exact, Severity::Err));
        let none = Slim::from(&Event::default());
        assert_eq!((none.pid(), none.inner()), (None, None));
    }
}
