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
use crate::event::{Atom, ClockMethod, Event, Severity, Text};
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

/// A decoded journal entry: its fields in the order they were read, and where it lies.
#[derive(Debug, Default)]
pub struct Entry<'a> {
    /// Fields (name, value); a repeated field keeps its first value first.
    pub fields: Vec<(&'a [u8], Value<'a>)>,
    /// First physical line.
    pub line: u32,
    /// Last physical line (separator included).
    pub end_line: u32,
    /// Byte offset of the entry.
    pub offset: usize,
}

impl<'a> Entry<'a> {
    /// The first value of field `name`.
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, v)| v)
    }
    fn num(&self, name: &str) -> Option<u64> {
        self.get(name)
            .and_then(|v| crate::text::parse_u64(crate::lines::trim(&v.bytes)))
    }
    /// True when the entry has something to show: a message or a timestamp.
    pub fn is_record(&self) -> bool {
        self.get("MESSAGE").is_some()
            || self.get("__REALTIME_TIMESTAMP").is_some()
            || self.get("__CURSOR").is_some()
    }
}

/// Builds the event of a decoded entry (without embedded-format refinement) and returns
/// it with the identifier it was written by.
pub fn entry_event(entry: &Entry<'_>, sink: &mut Sink<'_>) -> (Event, Atom) {
    let mut ev = Event {
        line: entry.line,
        end_line: entry.line.max(entry.end_line),
        offset: entry.offset as u64,
        ..Event::default()
    };
    let rt = entry
        .num("_SOURCE_REALTIME_TIMESTAMP")
        .filter(|&t| t > 0)
        .or_else(|| entry.num("__REALTIME_TIMESTAMP"));
    if let Some(t) = rt.and_then(|t| i64::try_from(t).ok()?.checked_mul(1000)) {
        ev.time = t;
        ev.clock = ClockMethod::Exact;
    }
    let kernel = entry
        .get("_TRANSPORT")
        .is_some_and(|v| &*v.bytes == b"kernel");
    let mono = if kernel {
        entry
            .num("_SOURCE_MONOTONIC_TIMESTAMP")
            .or_else(|| entry.num("__MONOTONIC_TIMESTAMP"))
    } else {
        entry.num("__MONOTONIC_TIMESTAMP")
    };
    ev.mono_us = mono.and_then(|m| i64::try_from(m).ok());
    if let Some(h) = entry.get("_HOSTNAME") {
        ev.host = sink.atoms.intern_bytes(&h.bytes);
    }
    if let Some(b) = entry.get("_BOOT_ID") {
        ev.boot = sink.atoms.intern_bytes(crate::lines::trim(&b.bytes));
    }
    ev.pid = entry
        .num("_PID")
        .or_else(|| entry.num("SYSLOG_PID"))
        .and_then(|p| u32::try_from(p).ok());
    ev.severity = entry
        .num("PRIORITY")
        .filter(|&p| p <= 7)
        .map_or(Severity::Unknown, |p| Severity::from_syslog(p as u8));
    let ident_v = entry
        .get("SYSLOG_IDENTIFIER")
        .or_else(|| entry.get("_COMM"));
    let ident = match ident_v {
        Some(v) => sink.atoms.intern_bytes(&v.bytes),
        None if kernel => sink.atoms.intern("kernel"),
        None => Atom::NONE,
    };
    let about = entry.get("UNIT").or_else(|| entry.get("USER_UNIT"));
    let sd_unit = entry.get("_SYSTEMD_UNIT");
    ev.unit = if kernel {
        sink.atoms.intern("kernel")
    } else if ev.pid == Some(1)
        || (about.is_some() && ident_v.is_some_and(|v| *v.bytes == *b"systemd"))
    {
        // PID 1 (or a user manager) writing about a unit: the writer is systemd, the unit
        // it writes about is kept as a field (`journalctl -u` matches both).
        ident
    } else {
        match sd_unit {
            Some(u) => sink.atoms.intern_bytes(&u.bytes),
            None => ident,
        }
    };
    let mut field = |name: &str, v: Option<&Value<'_>>, ev: &mut Event| {
        if let Some(v) = v {
            let a = sink.atoms.intern(name);
            ev.fields.push((a, v.text()));
        }
    };
    // Exactly the fields pushed below: a growing Vec would reserve four (128 bytes per
    // event where one to three are used).
    ev.fields.reserve_exact(
        usize::from(ident_v.is_some())
            + usize::from(!kernel && sd_unit.is_some())
            + usize::from(about.is_some()),
    );
    field("identifier", ident_v, &mut ev);
    if !kernel {
        field("systemd_unit", sd_unit, &mut ev);
    }
    field("unit", about, &mut ev);
    field("transport", entry.get("_TRANSPORT"), &mut ev);
    field("message_id", entry.get("MESSAGE_ID"), &mut ev);
    if let Some(m) = entry.get("MESSAGE") {
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
        Text::Owned(_) => {}
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
}

impl Default for Embedded {
    fn default() -> Self {
        Embedded::with_formats(FORMATS)
    }
}

impl Embedded {
    /// Uses `formats` as the registry of inner formats (tests pass their own).
    pub fn with_formats(formats: &'static [&'static dyn Format]) -> Self {
        Embedded {
            formats,
            last: None,
            oom: Default::default(),
            ident: String::new(),
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
        self.emit_as(sink, ev, ident, source, &id);
        self.ident = id;
    }

    fn emit_as(
        &mut self,
        sink: &mut Sink<'_>,
        mut ev: Event,
        ident: Atom,
        source: &[u8],
        id: &str,
    ) {
        let msg = ev.message.bytes(source);
        // The journal holds one entry per kernel line: an OOM report is regrouped into one
        // event as the kernel format does, so that it survives duplicate removal whole.
        let kernel = sink.atoms.get(ev.unit) == "kernel";
        let at = match ev.message {
            Text::Span { start, .. } => Some(start as usize),
            Text::Owned(_) => None,
        };
        if kernel {
            if self.oom.needs_history(msg) {
                sink.depends_on_earlier();
            }
            if self.oom.fold(sink, msg, at, ev.line, ev.end_line) {
                return;
            }
            let idx = sink.events.len();
            self.last = Some((ident, ev.pid, idx));
            let msg: Cow<'_, [u8]> = match &ev.message {
                Text::Span { start, len } => {
                    let s = (*start as usize).min(source.len());
                    Cow::Borrowed(&source[s..(s + *len as usize).min(source.len())])
                }
                Text::Owned(s) => Cow::Owned(s.as_bytes().to_vec()),
            };
            sink.push(ev);
            self.oom.pushed(sink, idx, &msg, at);
            return;
        }
        if self.last.is_none()
            && !id.is_empty()
            && self.formats.iter().any(|f| f.is_continuation(id, msg))
        {
            // It would continue the last event before this chunk.
            sink.depends_on_earlier();
        }
        if let Some((pi, ppid, idx)) = self.last
            && pi == ident
            && ppid == ev.pid
            && idx + 1 == sink.events.len()
            && !id.is_empty()
            && self.formats.iter().any(|f| f.is_continuation(id, msg))
        {
            let add = crate::text::lossy(msg).into_owned();
            let prev = &mut sink.events[idx];
            let mut s = crate::text::lossy(prev.message.bytes(source)).into_owned();
            s.push('\n');
            s.push_str(&add);
            prev.message = Text::Owned(s.into());
            prev.end_line = prev.end_line.max(ev.end_line);
            sink.blank(u64::from(ev.end_line - ev.line) + 1);
            return;
        }
        if !id.is_empty()
            && let Some((fi, r)) = self
                .formats
                .iter()
                .enumerate()
                .find_map(|(i, f)| f.refine(id, msg).map(|r| (i as u16, r)))
        {
            apply_refined(&mut ev, source, sink, fi, &r);
        }
        self.last = Some((ident, ev.pid, sink.events.len()));
        sink.push(ev);
    }
}

/// Applies what an inner format found in an embedded message.
fn apply_refined(ev: &mut Event, source: &[u8], sink: &mut Sink<'_>, fi: u16, r: &super::Refined) {
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
            Text::Owned(_) => Text::Owned(crate::text::lossy(&msg[s..e]).into()),
        })
    };
    let mut fields = Vec::with_capacity(r.fields.len());
    for (name, range) in &r.fields {
        if let Some(t) = sub(range.clone()) {
            fields.push((sink.atoms.intern(name), t));
        }
    }
    let rest = sub(r.message_start..len);
    ev.fields.extend(fields);
    if let Some(m) = rest {
        ev.message = m;
    }
    ev.inner = Some(fi);
}

/// Interns `v` as field `name` of `ev`.
pub fn push_field(sink: &mut Sink<'_>, ev: &mut Event, name: &str, v: Text) {
    let a = sink.atoms.intern(name);
    // One event holds few fields: no spare capacity (see `entry_event`).
    ev.fields.reserve_exact(1);
    ev.fields.push((a, v));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Source;

    fn entry<'a>(src: &'a [u8], fields: &[(&'a str, &'a str)]) -> Entry<'a> {
        let _ = src;
        Entry {
            fields: fields
                .iter()
                .map(|(n, v)| (n.as_bytes(), Value::owned(v.as_bytes().to_vec())))
                .collect(),
            line: 1,
            end_line: 3,
            offset: 0,
        }
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
        let (ev, ident) = entry_event(&e, &mut sink);
        assert_eq!(sink.atoms.get(ev.unit), "systemd");
        assert_eq!(sink.atoms.get(ident), "systemd");
        assert_eq!(
            ev.field(&sink.atoms, "unit", b""),
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
        let (ev, _) = entry_event(&e, &mut sink);
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
        let (ev, ident) = entry_event(&k, &mut sink);
        assert_eq!(sink.atoms.get(ev.unit), "kernel");
        assert_eq!(sink.atoms.get(ident), "kernel");
        assert_eq!(ev.mono_us, Some(4_990_000));
        assert_eq!(ev.pid, None);
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
            e.field(&sink.atoms, "target", &src.bytes),
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
