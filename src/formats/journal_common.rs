//! What the three journal formats (export, JSON, text) share: the mapping of journal fields
//! to an [`Event`], and the handling of messages embedded in an entry.
//!
//! Input: one decoded entry (a list of `(name, value)` pairs whose values are spans of the
//! source when the bytes could be used as written) or, for text modes, the parts of a line.
//! Output: events pushed to the [`Sink`]. The mapping follows systemd's own display rules
//! (`src/shared/logs-show.c`): the time is `_SOURCE_REALTIME_TIMESTAMP` else
//! `__REALTIME_TIMESTAMP`, the identifier `SYSLOG_IDENTIFIER` else `_COMM`, the pid `_PID`
//! else `SYSLOG_PID`. Kernel entries (`_TRANSPORT=kernel`) get the unit `kernel` and the
//! printk stamp (`_SOURCE_MONOTONIC_TIMESTAMP`) as `mono_us`, which the clock stage and the
//! timeline's duplicate removal rely on.
//!
//! Because journald stores one entry per line of a service's output, a multi-line record of
//! an application (an atticd span trace, a Nix error block) arrives as several entries.
//! [`Embedded::emit`] asks the registry whether an entry's message is of an inner format
//! (`refine`) or continues the previous entry (`is_continuation`), and folds the latter into
//! the previous event, so the three journal formats behave the same.

use super::{FORMATS, Format, Sink};
use crate::event::{Atom, Atoms, ClockMethod, Event, Severity, Text};
use std::borrow::Cow;

/// One field value of a decoded entry.
#[derive(Clone, Debug)]
pub struct Value<'a> {
    /// The bytes (decoded when the encoding required it).
    pub bytes: Cow<'a, [u8]>,
    /// Byte offset in the source when `bytes` are the source bytes as written (then the
    /// value can be kept as a span).
    pub at: Option<usize>,
}

impl Default for Value<'_> {
    fn default() -> Self {
        Value {
            bytes: Cow::Borrowed(&[]),
            at: None,
        }
    }
}

impl<'a> Value<'a> {
    /// A value that is the source bytes `start..end`.
    pub fn span(source: &'a [u8], start: usize, end: usize) -> Self {
        Value {
            bytes: Cow::Borrowed(&source[start..end]),
            at: Some(start),
        }
    }
    /// A decoded value.
    pub fn owned(bytes: Vec<u8>) -> Self {
        Value {
            bytes: Cow::Owned(bytes),
            at: None,
        }
    }
    /// The value as event text: a span when possible, else decoded and ANSI-stripped.
    pub fn text(&self) -> Text {
        let b: &[u8] = &self.bytes;
        match self.at {
            Some(at) if memchr::memchr(0x1b, b).is_none() => Text::span(at, at + b.len()),
            _ => {
                let s = crate::text::strip_ansi(b);
                Text::Owned(crate::text::lossy(&s).into())
            }
        }
    }
}

/// The journal fields an event is built from: every other field of an entry is skipped
/// by the decoders (its value is never read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Key {
    /// `MESSAGE`.
    Message,
    /// `__CURSOR`.
    Cursor,
    /// `__REALTIME_TIMESTAMP`.
    Realtime,
    /// `__MONOTONIC_TIMESTAMP`.
    Monotonic,
    /// `_SOURCE_REALTIME_TIMESTAMP`.
    SourceRealtime,
    /// `_SOURCE_MONOTONIC_TIMESTAMP`.
    SourceMonotonic,
    /// `_HOSTNAME`.
    Hostname,
    /// `_BOOT_ID`.
    BootId,
    /// `_PID`.
    Pid,
    /// `SYSLOG_PID`.
    SyslogPid,
    /// `PRIORITY`.
    Priority,
    /// `SYSLOG_IDENTIFIER`.
    SyslogIdentifier,
    /// `_COMM`.
    Comm,
    /// `UNIT`.
    Unit,
    /// `USER_UNIT`.
    UserUnit,
    /// `_SYSTEMD_UNIT`.
    SystemdUnit,
    /// `_TRANSPORT`.
    Transport,
    /// `MESSAGE_ID`.
    MessageId,
    /// Not a journal field: set by the JSON decoder when `MESSAGE` is `null` (journalctl
    /// drops fields of 4096 bytes or more without `--all`).
    NullMessage,
}

/// Number of [`Key`]s.
const KEYS: usize = Key::NullMessage as usize + 1;

/// Little-endian word of the eight bytes of `b` at `at`.
#[inline(always)]
fn w8(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

/// `name == lit` for a `name` of `lit`'s length, in word loads (the literal's words are
/// constants once inlined): no memcmp call for every field of every entry.
#[inline(always)]
fn same(name: &[u8], lit: &[u8]) -> bool {
    let n = lit.len();
    debug_assert_eq!(name.len(), n);
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if w8(name, i) != w8(lit, i) {
                return false;
            }
            i += 8;
        }
        w8(name, n - 8) == w8(lit, n - 8)
    } else if n >= 4 {
        let w4 = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4"));
        w4(name, 0) == w4(lit, 0) && w4(name, n - 4) == w4(lit, n - 4)
    } else {
        name == lit
    }
}

impl Key {
    /// The key of journal field `name`, if the event uses it.
    #[inline]
    pub fn of(name: &[u8]) -> Option<Key> {
        // The length picks one to three candidates, compared in words: this runs for
        // every field of every entry.
        let k = |lit: &[u8], k: Key| same(name, lit).then_some(k);
        match name.len() {
            4 => k(b"_PID", Key::Pid).or_else(|| k(b"UNIT", Key::Unit)),
            5 => k(b"_COMM", Key::Comm),
            7 => k(b"MESSAGE", Key::Message),
            8 => k(b"__CURSOR", Key::Cursor)
                .or_else(|| k(b"_BOOT_ID", Key::BootId))
                .or_else(|| k(b"PRIORITY", Key::Priority)),
            9 => k(b"_HOSTNAME", Key::Hostname).or_else(|| k(b"USER_UNIT", Key::UserUnit)),
            10 => k(b"SYSLOG_PID", Key::SyslogPid)
                .or_else(|| k(b"_TRANSPORT", Key::Transport))
                .or_else(|| k(b"MESSAGE_ID", Key::MessageId)),
            13 => k(b"_SYSTEMD_UNIT", Key::SystemdUnit),
            17 => k(b"SYSLOG_IDENTIFIER", Key::SyslogIdentifier),
            20 => k(b"__REALTIME_TIMESTAMP", Key::Realtime),
            21 => k(b"__MONOTONIC_TIMESTAMP", Key::Monotonic),
            26 => k(b"_SOURCE_REALTIME_TIMESTAMP", Key::SourceRealtime),
            27 => k(b"_SOURCE_MONOTONIC_TIMESTAMP", Key::SourceMonotonic),
            _ => None,
        }
    }
}

/// A decoded journal entry: the first value of each [`Key`], and where it lies. One entry
/// is reused for every record of a source ([`Entry::clear`]): no allocation per record.
#[derive(Debug, Default)]
pub struct Entry<'a> {
    /// Values by key; only those whose bit is set in `present` are meaningful.
    vals: [Value<'a>; KEYS],
    /// Bit `k` set when key `k` has a value.
    present: u32,
    /// First physical line.
    pub line: u32,
    /// Last physical line (separator included).
    pub end_line: u32,
    /// Byte offset of the entry.
    pub offset: usize,
}

impl<'a> Entry<'a> {
    /// Forgets every value (the position fields are left to the caller).
    #[inline]
    pub fn clear(&mut self) {
        self.present = 0;
    }
    /// Records `v` for `k` unless `k` already has a value: a repeated field keeps its
    /// first value.
    #[inline(always)]
    pub fn add(&mut self, k: Key, v: Value<'a>) {
        let bit = 1u32 << k as u32;
        if self.present & bit == 0 {
            self.present |= bit;
            self.vals[k as usize] = v;
        }
    }
    /// Records field `name` (skipped unless the event uses it, see [`Key::of`]).
    pub fn add_named(&mut self, name: &[u8], v: Value<'a>) {
        if let Some(k) = Key::of(name) {
            self.add(k, v);
        }
    }
    /// True when `k` has a value (without building it).
    #[inline(always)]
    pub fn has(&self, k: Key) -> bool {
        self.present & (1u32 << k as u32) != 0
    }
    /// The first value of `k`.
    #[inline]
    pub fn get(&self, k: Key) -> Option<&Value<'a>> {
        self.has(k).then(|| &self.vals[k as usize])
    }
    fn num(&self, k: Key) -> Option<u64> {
        self.get(k)
            .and_then(|v| crate::text::parse_u64(crate::lines::trim(&v.bytes)))
    }
    /// True when the entry has something to show: a message or a timestamp.
    pub fn is_record(&self) -> bool {
        self.has(Key::Message) || self.has(Key::Realtime) || self.has(Key::Cursor)
    }
}

/// A small cache in front of a sink's [`Atoms`] for the strings that repeat from record to
/// record (host, boot id, identifier, unit, field names): a hit costs one comparison with
/// the interned string instead of a hash and a table probe. The atoms (and so their
/// numbering) are exactly those [`Atoms::intern_bytes`] gives. Use one cache per sink.
#[derive(Debug)]
pub struct AtomCache {
    slots: [Atom; 64],
    names: [Atom; NAMES.len()],
}

impl Default for AtomCache {
    fn default() -> Self {
        AtomCache {
            slots: [Atom::NONE; 64],
            names: [Atom::NONE; NAMES.len()],
        }
    }
}

/// The field names events get, interned on first use (see [`AtomCache::name`]).
const NAMES: [&str; 5] = [
    "identifier",
    "systemd_unit",
    "unit",
    "transport",
    "message_id",
];

/// A field name journal events get (see [`AtomCache::name`]).
#[derive(Clone, Copy, Debug)]
pub enum Name {
    /// `identifier`.
    Identifier = 0,
    /// `systemd_unit`.
    SystemdUnit = 1,
    /// `unit`.
    Unit = 2,
    /// `transport`.
    Transport = 3,
    /// `message_id`.
    MessageId = 4,
}

impl AtomCache {
    /// `atoms.intern_bytes(b)`, through the cache.
    #[inline]
    pub fn intern(&mut self, atoms: &mut Atoms, b: &[u8]) -> Atom {
        let Some(&last) = b.last() else {
            return Atom::NONE;
        };
        let h = (b.len() as u32)
            .wrapping_mul(0x9e37_79b9)
            .wrapping_add(u32::from(b[0]) << 8 | u32::from(last) | u32::from(b[b.len() / 2]) << 16)
            .wrapping_mul(0x85eb_ca6b);
        let slot = (h >> 26) as usize;
        let a = self.slots[slot];
        if !a.is_none() && atoms.get(a).as_bytes() == b {
            return a;
        }
        let a = atoms.intern_bytes(b);
        self.slots[slot] = a;
        a
    }
    /// The atom of field name `n`, interned at its first use (as `atoms.intern` would).
    #[inline]
    pub fn name(&mut self, atoms: &mut Atoms, n: Name) -> Atom {
        let a = self.names[n as usize];
        if !a.is_none() {
            return a;
        }
        let a = atoms.intern(NAMES[n as usize]);
        self.names[n as usize] = a;
        a
    }
}

/// Builds the event of a decoded entry (without embedded-format refinement) and returns
/// it with the identifier it was written by. `cache` is the sink's [`AtomCache`]; the
/// fields go to the sink's store.
pub fn entry_event(entry: &Entry<'_>, sink: &mut Sink<'_>, cache: &mut AtomCache) -> (Event, Atom) {
    let mut ev = Event {
        line: entry.line,
        end_line: entry.line.max(entry.end_line),
        offset: entry.offset as u64,
        ..Event::default()
    };
    let rt = entry
        .num(Key::SourceRealtime)
        .filter(|&t| t > 0)
        .or_else(|| entry.num(Key::Realtime));
    if let Some(t) = rt.and_then(|t| i64::try_from(t).ok()?.checked_mul(1000)) {
        ev.time = t;
        ev.clock = ClockMethod::Exact;
    }
    let kernel = entry
        .get(Key::Transport)
        .is_some_and(|v| &*v.bytes == b"kernel");
    let mono = if kernel {
        entry
            .num(Key::SourceMonotonic)
            .or_else(|| entry.num(Key::Monotonic))
    } else {
        entry.num(Key::Monotonic)
    };
    ev.mono_us = mono.and_then(|m| i64::try_from(m).ok());
    let atoms = &mut sink.atoms;
    if let Some(h) = entry.get(Key::Hostname) {
        ev.host = cache.intern(atoms, &h.bytes);
    }
    if let Some(b) = entry.get(Key::BootId) {
        ev.boot = cache.intern(atoms, crate::lines::trim(&b.bytes));
    }
    ev.pid = entry
        .num(Key::Pid)
        .or_else(|| entry.num(Key::SyslogPid))
        .and_then(|p| u32::try_from(p).ok());
    ev.severity = entry
        .num(Key::Priority)
        .filter(|&p| p <= 7)
        .map_or(Severity::Unknown, |p| Severity::from_syslog(p as u8));
    let ident_v = entry
        .get(Key::SyslogIdentifier)
        .or_else(|| entry.get(Key::Comm));
    let ident = match ident_v {
        Some(v) => cache.intern(atoms, &v.bytes),
        None if kernel => cache.intern(atoms, b"kernel"),
        None => Atom::NONE,
    };
    let about = entry.get(Key::Unit).or_else(|| entry.get(Key::UserUnit));
    let sd_unit = entry.get(Key::SystemdUnit);
    ev.unit = if kernel {
        cache.intern(atoms, b"kernel")
    } else if ev.pid == Some(1)
        || (about.is_some() && ident_v.is_some_and(|v| *v.bytes == *b"systemd"))
    {
        // PID 1 (or a user manager) writing about a unit: the writer is systemd, the unit
        // it writes about is kept as a field (`journalctl -u` matches both).
        ident
    } else {
        match sd_unit {
            Some(u) => cache.intern(atoms, &u.bytes),
            None => ident,
        }
    };
    let transport = entry.get(Key::Transport);
    let message_id = entry.get(Key::MessageId);
    let store = &mut sink.fields;
    let mut field = |name: Name, v: Option<&Value<'_>>, ev: &mut Event| {
        if let Some(v) = v {
            let a = cache.name(atoms, name);
            store.push(&mut ev.fields, a, v.text());
        }
    };
    field(Name::Identifier, ident_v, &mut ev);
    if !kernel {
        field(Name::SystemdUnit, sd_unit, &mut ev);
    }
    field(Name::Unit, about, &mut ev);
    field(Name::Transport, transport, &mut ev);
    field(Name::MessageId, message_id, &mut ev);
    if let Some(m) = entry.get(Key::Message) {
        ev.message = m.text();
    }
    strip_link_glyph(&mut ev);
    (ev, ident)
}

/// The hyperlink glyph journalctl may print before a message on a terminal (`[🡕] `).
const LINK_GLYPH: &[u8] = "[\u{1f855}] ".as_bytes();

/// Removes a leading `[🡕] ` from the message.
pub fn strip_link_glyph(ev: &mut Event) {
    match &mut ev.message {
        Text::Owned(s) if s.as_bytes().starts_with(LINK_GLYPH) => {
            *s = s[LINK_GLYPH.len()..].into();
        }
        Text::Owned(_) | Text::Shared(_) => {}
        Text::Span { .. } => {}
    }
}

/// Removes a leading `[🡕] ` from a message span `start..end` of `bytes`.
pub fn skip_link_glyph(bytes: &[u8], start: usize, end: usize) -> usize {
    if bytes[start.min(end)..end].starts_with(LINK_GLYPH) {
        start + LINK_GLYPH.len()
    } else {
        start
    }
}

/// Embedded-format handling shared by the journal formats: remembers who wrote the last
/// event so that continuation entries can be folded into it.
pub struct Embedded {
    formats: &'static [&'static dyn Format],
    last: Option<(Atom, Option<u32>, usize)>,
    oom: super::kernel::OomGroup,
    ident: String,
    /// Atoms of the field names inner formats report (interned at first use).
    keys: super::nix::KeyAtoms,
    /// Per identifier atom, the formats (bit i: `formats[i]`) that embed records in its
    /// messages ([`Format::embeds`]), with [`MASK_KNOWN`] set once asked.
    masks: Vec<u32>,
}

/// Set in an [`Embedded`] mask once the formats were asked about its identifier.
const MASK_KNOWN: u32 = 1 << 31;

impl Default for Embedded {
    fn default() -> Self {
        Embedded::with_formats(FORMATS)
    }
}

impl Embedded {
    /// Uses `formats` as the registry of inner formats (tests pass their own).
    pub fn with_formats(formats: &'static [&'static dyn Format]) -> Self {
        // One bit per format in a mask, one bit for "known".
        assert!(formats.len() < 31, "too many formats for an embedding mask");
        Embedded {
            formats,
            last: None,
            oom: Default::default(),
            ident: String::new(),
            keys: Default::default(),
            masks: Vec::new(),
        }
    }

    /// Pushes `ev` (written by `ident`), refined by the inner format that recognises its
    /// message, or folds it into the previous event when an inner format says it continues
    /// it (same identifier and pid). `lines` is how many physical lines the record covers
    /// beyond its first, already reflected in `ev.end_line`.
    pub fn emit(&mut self, sink: &mut Sink<'_>, ev: Event, ident: Atom) {
        // The source outlives the sink's borrow: messages can be read while pushing.
        let src = sink.src;
        let source: &[u8] = &src.bytes;
        // The identifier is copied into a reused buffer (the atoms are borrowed from the
        // sink, which is mutated below): no allocation per entry.
        let mut id = std::mem::take(&mut self.ident);
        id.clear();
        id.push_str(sink.atoms.get(ident));
        let mask = self.mask(ident, &id);
        self.emit_as(sink, ev, ident, source, &id, mask);
        self.ident = id;
    }

    /// The formats that embed records in messages of `ident` (named `id`), asked once per
    /// identifier.
    fn mask(&mut self, ident: Atom, id: &str) -> u32 {
        let i = ident.0 as usize;
        if i >= self.masks.len() {
            self.masks.resize(i + 1, 0);
        }
        if self.masks[i] & MASK_KNOWN == 0 {
            let mut m = MASK_KNOWN;
            if !id.is_empty() {
                for (k, f) in self.formats.iter().enumerate() {
                    if f.embeds(id) {
                        m |= 1 << k;
                    }
                }
            }
            self.masks[i] = m;
        }
        self.masks[i] & !MASK_KNOWN
    }

    fn emit_as(
        &mut self,
        sink: &mut Sink<'_>,
        mut ev: Event,
        ident: Atom,
        source: &[u8],
        id: &str,
        mask: u32,
    ) {
        let msg = ev.message.bytes(source);
        // The journal holds one entry per kernel line: an OOM report is regrouped into one
        // event as the kernel format does, so that it survives duplicate removal whole.
        let kernel = sink.atoms.get(ev.unit) == "kernel";
        let at = match ev.message {
            Text::Span { start, .. } => Some(start as usize),
            Text::Owned(_) | Text::Shared(_) => None,
        };
        if kernel {
            if self.oom.needs_history(msg) {
                sink.depends_on_earlier();
            }
            if self.oom.fold(sink, msg, at, ev.line, ev.end_line) {
                sink.fields.discard(ev.fields);
                return;
            }
            let idx = sink.events.len();
            self.last = Some((ident, ev.pid, idx));
            let msg: Cow<'_, [u8]> = match &ev.message {
                Text::Span { start, len } => {
                    let s = (*start as usize).min(source.len());
                    Cow::Borrowed(&source[s..(s + *len as usize).min(source.len())])
                }
                Text::Owned(_) | Text::Shared(_) => Cow::Owned(ev.message.bytes(source).to_vec()),
            };
            sink.push(ev);
            self.oom.pushed(sink, idx, &msg, at);
            return;
        }
        // Only the formats that embed records in this identifier's messages are asked (an
        // empty identifier has none).
        let formats = self.formats;
        let asked = || {
            formats
                .iter()
                .enumerate()
                .filter(move |(k, _)| mask & (1 << k) != 0)
        };
        if self.last.is_none() && mask != 0 && asked().any(|(_, f)| f.is_continuation(id, msg)) {
            // It would continue the last event before this chunk.
            sink.depends_on_earlier();
        }
        if let Some((pi, ppid, idx)) = self.last
            && pi == ident
            && ppid == ev.pid
            && idx + 1 == sink.events.len()
            && mask != 0
            && asked().any(|(_, f)| f.is_continuation(id, msg))
        {
            let add = crate::text::lossy(msg).into_owned();
            let prev = &mut sink.events[idx];
            let mut s = crate::text::lossy(prev.message.bytes(source)).into_owned();
            s.push('\n');
            s.push_str(&add);
            prev.message = Text::Owned(s.into());
            prev.end_line = prev.end_line.max(ev.end_line);
            sink.blank(u64::from(ev.end_line - ev.line) + 1);
            sink.fields.discard(ev.fields);
            return;
        }
        if mask != 0
            && let Some((fi, r)) =
                asked().find_map(|(i, f)| f.refine(id, msg).map(|r| (i as u16, r)))
        {
            apply_refined(&mut ev, source, sink, &mut self.keys, fi, &r);
        }
        self.last = Some((ident, ev.pid, sink.events.len()));
        sink.push(ev);
    }
}

/// Applies what an inner format found in an embedded message.
fn apply_refined(
    ev: &mut Event,
    source: &[u8],
    sink: &mut Sink<'_>,
    keys: &mut super::nix::KeyAtoms,
    fi: u16,
    r: &super::Refined,
) {
    if let Some(s) = r.severity {
        ev.severity = s;
    }
    if let Some(t) = r.time {
        ev.time = t;
        ev.clock = ClockMethod::Exact;
    }
    let msg = ev.message.bytes(source);
    let len = msg.len();
    let sub = |range: std::ops::Range<usize>| -> Option<Text> {
        let (s, e) = (range.start.min(len), range.end.min(len));
        if s > e {
            return None;
        }
        Some(match &ev.message {
            Text::Span { start, .. } => Text::span(*start as usize + s, *start as usize + e),
            Text::Owned(_) | Text::Shared(_) => Text::Owned(crate::text::lossy(&msg[s..e]).into()),
        })
    };
    let mut fields = ev.fields;
    for (name, range) in &r.fields {
        if let Some(t) = sub(range.clone()) {
            let a = keys.get(&mut sink.atoms, name);
            sink.fields.push(&mut fields, a, t);
        }
    }
    let rest = sub(r.message_start..len);
    ev.fields = fields;
    if let Some(m) = rest {
        ev.message = m;
    }
    ev.inner = Some(fi);
}

/// Interns `v` as field `name` of `ev`.
pub fn push_field(sink: &mut Sink<'_>, ev: &mut Event, name: &str, v: Text) {
    let a = sink.atoms.intern(name);
    sink.fields.push(&mut ev.fields, a, v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Source;

    fn entry<'a>(src: &'a [u8], fields: &[(&'a str, &'a str)]) -> Entry<'a> {
        let _ = src;
        let mut e = Entry {
            line: 1,
            end_line: 3,
            offset: 0,
            ..Entry::default()
        };
        for (n, v) in fields {
            e.add_named(n.as_bytes(), Value::owned(v.as_bytes().to_vec()));
        }
        e
    }

    #[test]
    fn pid1_about_a_unit_keeps_systemd_and_the_unit_field() {
        let src = Source::from_bytes(0, "t", b"x\n".to_vec());
        let mut sink = Sink::new(&src, 0);
        let e = entry(
            b"",
            &[
                ("__REALTIME_TIMESTAMP", "1774346400000001"),
                ("_PID", "1"),
                ("SYSLOG_IDENTIFIER", "systemd"),
                ("_SYSTEMD_UNIT", "init.scope"),
                ("UNIT", "atticd.service"),
                ("PRIORITY", "4"),
                ("MESSAGE", "atticd.service: Failed with result 'oom-kill'."),
            ],
        );
        let (ev, ident) = entry_event(&e, &mut sink, &mut AtomCache::default());
        assert_eq!(sink.atoms.get(ev.unit), "systemd");
        assert_eq!(sink.atoms.get(ident), "systemd");
        assert_eq!(
            ev.field(&sink.fields, &sink.atoms, "unit", b""),
            Some(&b"atticd.service"[..])
        );
        assert_eq!(ev.severity, Severity::Warning);
        assert_eq!(ev.time, 1_774_346_400_000_001_000);
        assert_eq!(ev.end_line, 3);
    }

    #[test]
    fn service_gets_its_systemd_unit_and_kernel_its_printk_stamp() {
        let src = Source::from_bytes(0, "t", b"x\n".to_vec());
        let mut sink = Sink::new(&src, 0);
        let e = entry(
            b"",
            &[
                ("__REALTIME_TIMESTAMP", "1774346400000000"),
                ("_SOURCE_REALTIME_TIMESTAMP", "1774346399999000"),
                ("__MONOTONIC_TIMESTAMP", "99"),
                ("_PID", "812"),
                ("_COMM", "atticd"),
                ("_SYSTEMD_UNIT", "atticd.service"),
            ],
        );
        let (ev, _) = entry_event(&e, &mut sink, &mut AtomCache::default());
        assert_eq!(sink.atoms.get(ev.unit), "atticd.service");
        assert_eq!(ev.time, 1_774_346_399_999_000_000);
        assert_eq!(ev.mono_us, Some(99));
        assert_eq!(ev.pid, Some(812));
        let k = entry(
            b"",
            &[
                ("__REALTIME_TIMESTAMP", "1774346400000000"),
                ("__MONOTONIC_TIMESTAMP", "5000000"),
                ("_SOURCE_MONOTONIC_TIMESTAMP", "4990000"),
                ("_TRANSPORT", "kernel"),
                ("SYSLOG_PID", "x"),
            ],
        );
        let (ev, ident) = entry_event(&k, &mut sink, &mut AtomCache::default());
        assert_eq!(sink.atoms.get(ev.unit), "kernel");
        assert_eq!(sink.atoms.get(ident), "kernel");
        assert_eq!(ev.mono_us, Some(4_990_000));
        assert_eq!(ev.pid, None);
    }

    #[test]
    fn key_of_takes_exactly_the_kept_names() {
        let kept = [
            ("MESSAGE", Key::Message),
            ("__CURSOR", Key::Cursor),
            ("__REALTIME_TIMESTAMP", Key::Realtime),
            ("__MONOTONIC_TIMESTAMP", Key::Monotonic),
            ("_SOURCE_REALTIME_TIMESTAMP", Key::SourceRealtime),
            ("_SOURCE_MONOTONIC_TIMESTAMP", Key::SourceMonotonic),
            ("_HOSTNAME", Key::Hostname),
            ("_BOOT_ID", Key::BootId),
            ("_PID", Key::Pid),
            ("SYSLOG_PID", Key::SyslogPid),
            ("PRIORITY", Key::Priority),
            ("SYSLOG_IDENTIFIER", Key::SyslogIdentifier),
            ("_COMM", Key::Comm),
            ("UNIT", Key::Unit),
            ("USER_UNIT", Key::UserUnit),
            ("_SYSTEMD_UNIT", Key::SystemdUnit),
            ("_TRANSPORT", Key::Transport),
            ("MESSAGE_ID", Key::MessageId),
        ];
        for (n, k) in kept {
            assert_eq!(Key::of(n.as_bytes()), Some(k), "{n}");
            // one byte changed anywhere: not the field
            for i in 0..n.len() {
                let mut b = n.as_bytes().to_vec();
                b[i] ^= 0x20;
                assert_eq!(Key::of(&b), None, "{}", String::from_utf8_lossy(&b));
            }
        }
        for n in [
            "",
            "M",
            "MESSAGES",
            "MESSAG",
            "_PID_",
            "__SEQNUM",
            "_MACHINE_ID",
            "_UID",
            "__REALTIME_TIMESTAMQ",
            "_SOURCE_REALTIME_TIMESTAMP_",
            "SYSLOG_FACILITY",
            "_SYSTEMD_SLICE",
            "message",
        ] {
            assert_eq!(Key::of(n.as_bytes()), None, "{n}");
        }
    }

    #[test]
    fn link_glyph_is_removed() {
        let mut ev = Event {
            message: Text::Owned("[\u{1f855}] x.service: systemd-oomd killed".into()),
            ..Event::default()
        };
        strip_link_glyph(&mut ev);
        assert_eq!(
            ev.message,
            Text::Owned("x.service: systemd-oomd killed".into())
        );
        let b = "a [\u{1f855}] b".as_bytes();
        assert_eq!(skip_link_glyph(b, 2, b.len()), 2 + LINK_GLYPH.len());
        assert_eq!(skip_link_glyph(b, 0, b.len()), 0);
    }

    /// A test-only inner format: refines `atticd` tracing lines and says that indented
    /// lines of `atticd` continue them.
    struct Probe;

    impl Format for Probe {
        fn name(&self) -> &'static str {
            "probe"
        }
        fn description(&self) -> &'static str {
            "test"
        }
        fn sniff(&self, _: &[u8]) -> u8 {
            0
        }
        fn parse(&self, _: &Source, _: &mut Sink<'_>) {}
        fn refine(&self, ident: &str, msg: &[u8]) -> Option<super::super::Refined> {
            if ident != "atticd" {
                return None;
            }
            let (t, used) = crate::time::parse_rfc3339(msg)?;
            let rest = &msg[used + 1..];
            let lvl = memchr::memchr(b' ', rest)?;
            let start = used + 1 + lvl + 1;
            let colon = memchr::memmem::find(&msg[start..], b": ")?;
            Some(super::super::Refined {
                severity: Some(Severity::from_word(&rest[..lvl])),
                time: Some(t),
                message_start: start + colon + 2,
                fields: vec![("target", start..start + colon)],
            })
        }
        fn is_continuation(&self, ident: &str, msg: &[u8]) -> bool {
            ident == "atticd" && msg.starts_with(b"   ")
        }
    }

    static PROBES: &[&dyn Format] = &[&Probe];

    #[test]
    fn embedded_messages_are_refined_and_continuations_folded() {
        let text = "2026-03-29T01:00:30.000000Z ERROR attic_server::error: Database error\n   0: tokio::task::runtime.spawn\n   1: other pid\n   2: no ident\n";
        let src = Source::from_bytes(0, "t", text.as_bytes().to_vec());
        let mut sink = Sink::new(&src, 0);
        let mut emb = Embedded::with_formats(PROBES);
        let atticd = sink.atoms.intern("atticd");
        let mut at = 0;
        for (i, l) in text.lines().enumerate() {
            let ev = Event {
                line: i as u32 + 1,
                end_line: i as u32 + 1,
                pid: Some(if i == 2 { 9 } else { 812 }),
                time: 1,
                clock: ClockMethod::NoYear,
                message: Text::span(at, at + l.len()),
                ..Event::default()
            };
            emb.emit(&mut sink, ev, if i == 3 { Atom::NONE } else { atticd });
            at += l.len() + 1;
        }
        // line 2 folded into line 1; line 3 has another pid, line 4 no identifier
        assert_eq!(sink.events.len(), 3);
        let e = &sink.events[0];
        assert_eq!(e.severity, Severity::Err);
        assert_eq!(e.clock, ClockMethod::Exact);
        assert_eq!(crate::time::rfc3339(e.time), "2026-03-29T01:00:30.000000Z");
        assert_eq!(e.inner, Some(0));
        assert_eq!(e.end_line, 2);
        assert_eq!(
            e.message.bytes(&src.bytes),
            b"Database error\n   0: tokio::task::runtime.spawn"
        );
        assert_eq!(
            e.field(&sink.fields, &sink.atoms, "target", &src.bytes),
            Some(&b"attic_server::error"[..])
        );
        assert_eq!(sink.events[1].line, 3);
        assert_eq!(sink.events[1].inner, None);
        assert_eq!(sink.counts.parsed, 3);
        assert_eq!(sink.counts.continuation, 1);
    }

    proptest::proptest! {
        /// Every journal and kernel parser accounts for every line of any input and never
        /// panics.
        #[test]
        fn any_bytes_are_accounted(bytes in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(vec![b'\n', b'\r', b' ', b'=', b'[', b']', b'{', b'}', b'"', b':', b',', b'-', b'.', 0x1e, 0x1b, 0]),
                proptest::num::u8::ANY,
                proptest::sample::select(b"0123456789MESAGR_T".to_vec()),
            ],
            0..400,
        )) {
            let src = Source::from_bytes(0, "p", bytes);
            for name in ["journal-export", "journal-json", "journal-text", "kernel"] {
                let (i, _) = crate::formats::by_name(name).unwrap();
                let p = crate::formats::parse_source(&src, Some(i));
                proptest::prop_assert_eq!(p.counts.total(), src.lines, "{}", name);
            }
        }

        /// Structured noise: real-looking lines shuffled and cut.
        #[test]
        fn shuffled_real_lines_are_accounted(lines in proptest::collection::vec(
            proptest::sample::select(vec![
                "__REALTIME_TIMESTAMP=1774346400000000", "MESSAGE=hi", "MESSAGE", "\u{7}\0\0\0\0\0\0\0abc",
                "", "{\"__CURSOR\":\"x\",\"MESSAGE\":[27,91]}", "{", "}", "\t\"MESSAGE\" : \"x\",",
                "-- Boot 0123456789abcdef0123456789abcdef --", "Mar 24 10:00:00 h x[1]: m", "    cont",
                "[ 100.000001] node invoked oom-killer: gfp_mask=0x0, order=0, oom_score_adj=0",
                "[ 100.000002]  dump_stack+0x1/0x2", "[ 100.3] Out of memory: Killed process 1 (a) total-vm:1kB, anon-rss:2kB",
                "6,1,2,-;usb", " KEY=V", "<6>[ 1.0] x", "oom-kill:constraint=X,task_memcg=/a,task=b,pid=1,uid=0",
            ]),
            0..60,
        )) {
            let src = Source::from_bytes(0, "p", lines.join("\n").into_bytes());
            for name in ["journal-export", "journal-json", "journal-text", "kernel"] {
                let (i, _) = crate::formats::by_name(name).unwrap();
                let p = crate::formats::parse_source(&src, Some(i));
                proptest::prop_assert_eq!(p.counts.total(), src.lines, "{}", name);
            }
        }
    }
}
