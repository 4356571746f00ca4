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
    /// A few structured fields (name, value): journal fields kept, OOM details, job facts;
    /// where they sit in the source's [`FieldStore`] (one vector per source, not one per
    /// event: an allocation and a free per event was the largest cost of parsing left).
    pub fields: Fields,
    /// The format that parsed this event's source (an index into the format registry); set
    /// by the sink.
    pub format: u16,
    /// The inner format that refined an embedded message (atticd inside a journal entry).
    pub inner: Option<u16>,
}

impl Event {
    /// The value of field `name`, if present; `store` is the event's source's fields.
    pub fn field<'a>(
        &self,
        store: &'a FieldStore,
        atoms: &Atoms,
        name: &str,
        source: &'a [u8],
    ) -> Option<&'a [u8]> {
        let a = atoms.find(name)?;
        store.find(self.fields, a).map(|v| v.bytes(source))
    }
}

/// Where an event's fields sit in its source's [`FieldStore`]: `len` entries from `start`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    /// Index of the first field in the store.
    pub start: u32,
    /// Number of fields.
    pub len: u32,
}

impl Fields {
    /// True when the event has no field.
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
    /// The store indices of the fields.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }
    /// The same fields moved `by` entries along (a chunk's store appended after another).
    pub fn shifted(self, by: u32) -> Fields {
        Fields {
            start: self.start.saturating_add(by),
            len: self.len,
        }
    }
}

/// The fields of a source's events, one after the other: an event's [`Fields`] name its
/// stretch. A parser pushes an event's fields while it builds the event, so they land at
/// the end; a field added to an event whose fields are no longer last moves them to the
/// end first (the old copies stay unused until the store is dropped), so the store is
/// right whatever order a parser pushes in.
#[derive(Clone, Debug, Default)]
pub struct FieldStore {
    items: Vec<(Atom, Text)>,
}

impl FieldStore {
    /// An empty store.
    pub fn new() -> FieldStore {
        FieldStore::default()
    }

    /// Fields `f` (none when they lie past the store: a hand-built event).
    pub fn get(&self, f: Fields) -> &[(Atom, Text)] {
        self.items.get(f.range()).unwrap_or(&[])
    }

    /// Fields `f`, to change in place.
    pub fn get_mut(&mut self, f: Fields) -> &mut [(Atom, Text)] {
        self.items.get_mut(f.range()).unwrap_or(&mut [])
    }

    /// The value of field `name` among `f`.
    pub fn find(&self, f: Fields, name: Atom) -> Option<&Text> {
        self.get(f).iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// An empty stretch at the end, for an event about to get its fields.
    pub fn begin(&self) -> Fields {
        Fields {
            start: self.end(),
            len: 0,
        }
    }

    fn end(&self) -> u32 {
        u32::try_from(self.items.len()).unwrap_or(u32::MAX)
    }

    /// Adds field (`name`, `value`) to `f`, moving `f`'s fields to the end first when
    /// others were pushed after them. A store of 2^32 fields takes no more (128 GiB of
    /// fields: no input this side of a `Text` span's own limit gets there).
    #[inline(always)]
    pub fn push(&mut self, f: &mut Fields, name: Atom, value: Text) {
        let end = self.items.len();
        if end >= u32::MAX as usize {
            return;
        }
        if f.len == 0 {
            f.start = end as u32;
        } else if f.start as usize + f.len as usize != end {
            self.move_to_end(f);
        }
        self.items.push((name, value));
        f.len += 1;
    }

    /// Copies fields `f` to the end of the store (see [`FieldStore::push`]).
    #[cold]
    #[inline(never)]
    fn move_to_end(&mut self, f: &mut Fields) {
        let moved = self.get(*f).to_vec();
        *f = self.begin();
        f.len = moved.len() as u32;
        self.items.extend(moved);
    }

    /// Forgets fields `f` when they are the last ones (an event given up while it was built,
    /// or merged into the one before it); elsewhere they stay, unused.
    pub fn discard(&mut self, f: Fields) {
        if f.start.saturating_add(f.len) == self.end() {
            self.items.truncate(f.start as usize);
        }
    }

    /// Moves every field of `other` to the end of this store, with `map` applied to its
    /// names; `other`'s [`Fields`] are then [`Fields::shifted`] by the returned amount.
    pub fn append(&mut self, other: FieldStore, map: impl Fn(Atom) -> Atom) -> u32 {
        let by = self.end();
        self.items
            .extend(other.items.into_iter().map(|(k, v)| (map(k), v)));
        by
    }

    /// Number of fields held (used or not).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when no field is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Forgets every field, keeping the room.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Room for fields, held or not.
    pub fn capacity(&self) -> usize {
        self.items.capacity()
    }

    /// Cuts an empty store's room down to `n` fields when it has more than twice that
    /// (see [`crate::formats::recycle_fields`]).
    pub fn cap(&mut self, n: u64) {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if self.items.is_empty() && self.items.capacity() / 2 > n {
            self.items.shrink_to(n);
        }
    }

    /// Every field held, in order (the values, to move their spans: see
    /// [`crate::formats::keep_referenced_text`]).
    pub fn all_mut(&mut self) -> &mut [(Atom, Text)] {
        &mut self.items
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

#[cfg(test)]
mod field_store_tests {
    use super::*;

    fn names(s: &FieldStore, f: Fields) -> Vec<u32> {
        s.get(f).iter().map(|(a, _)| a.0).collect()
    }

    #[test]
    fn fields_pushed_in_any_order_stay_with_their_event() {
        let mut s = FieldStore::new();
        let (mut a, mut b) = (Fields::default(), Fields::default());
        s.push(&mut a, Atom(1), Text::span(0, 1));
        s.push(&mut a, Atom(2), Text::span(1, 2));
        s.push(&mut b, Atom(3), Text::span(2, 3));
        assert_eq!((names(&s, a), names(&s, b)), (vec![1, 2], vec![3]));
        // A field for `a` after `b`'s: `a` moves to the end, `b` is untouched.
        s.push(&mut a, Atom(4), Text::Owned("x".into()));
        assert_eq!((names(&s, a), names(&s, b)), (vec![1, 2, 4], vec![3]));
        assert_eq!(a.range(), 3..6);
        assert_eq!(s.find(a, Atom(4)), Some(&Text::Owned("x".into())));
        assert_eq!(s.find(b, Atom(4)), None);
        // The last stretch given up goes; an earlier one stays (unused).
        s.discard(b);
        assert_eq!(s.len(), 6);
        s.discard(a);
        assert_eq!(s.len(), 3);
        // An event's first field starts a new stretch at the end.
        let mut c = Fields::default();
        s.push(&mut c, Atom(5), Text::default());
        assert_eq!(c.range(), 3..4);
        // A hand-built stretch past the store reads as none.
        let far = Fields { start: 9, len: 2 };
        assert!(s.get(far).is_empty() && s.get_mut(far).is_empty());
    }

    #[test]
    fn an_appended_store_is_found_through_shifted_stretches() {
        let mut first = FieldStore::new();
        let mut a = Fields::default();
        first.push(&mut a, Atom(1), Text::span(0, 1));
        let mut second = FieldStore::new();
        let mut b = Fields::default();
        second.push(&mut b, Atom(1), Text::span(5, 6));
        second.push(&mut b, Atom(2), Text::span(6, 7));
        let by = first.append(second, |k| Atom(k.0 + 10));
        let b = b.shifted(by);
        assert_eq!(
            (names(&first, a), names(&first, b)),
            (vec![1], vec![11, 12])
        );
        assert_eq!(first.get(b)[1].1, Text::span(6, 7));
    }

    #[test]
    fn a_recycled_store_keeps_room_only_for_what_comes_next() {
        let mut s = FieldStore::new();
        let mut f = Fields::default();
        for i in 0..1000 {
            s.push(&mut f, Atom(i), Text::default());
        }
        s.clear();
        s.cap(600);
        assert!(s.capacity() >= 1000);
        s.cap(10);
        assert!(s.capacity() < 1000);
    }
}
