//! The plain syslog fallback: RFC 3164 (`Mar 24 10:00:00 host tag[pid]: msg`, no year,
//! no zone) and RFC 5424 (`<pri>1 2026-03-24T10:00:00.123Z host app procid msgid [sd] msg`),
//! plus the RFC 3339 "high precision" rsyslog file format (`2026-03-24T10:00:00.123+01:00
//! host tag: msg`). Lines that do not start like a record are continuations when indented,
//! unparsed otherwise.

use super::{Format, Sink};
use crate::event::{ClockMethod, Event, Severity, Text};
use crate::ingest::Source;
use crate::lines::Lines;
use crate::time;

/// The syslog fallback format.
pub struct Syslog;

/// A parsed syslog header.
#[derive(Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// Time (ns) and how it was read.
    pub time: i64,
    /// `Exact`, `LocalNoZone` or `NoYear`.
    pub clock: ClockMethod,
    /// Severity from `<pri>` when present.
    pub severity: Severity,
    /// Host.
    pub host: &'a [u8],
    /// Tag / app name.
    pub ident: &'a [u8],
    /// Pid.
    pub pid: Option<u32>,
    /// Offset of the message in the line.
    pub msg_start: usize,
}

/// Parses a syslog header (either RFC) at the start of `line`.
pub fn parse_header(line: &[u8]) -> Option<Header<'_>> {
    let mut pos = 0;
    let mut severity = Severity::Unknown;
    let mut rfc5424 = false;
    if line.first() == Some(&b'<') {
        let close = line.iter().take(5).position(|&c| c == b'>')?;
        let pri = crate::text::parse_u64(&line[1..close])?;
        if pri > 191 {
            return None;
        }
        severity = Severity::from_syslog((pri % 8) as u8);
        pos = close + 1;
        if line[pos..].starts_with(b"1 ") {
            rfc5424 = true;
            pos += 2;
        }
    }
    let rest = &line[pos..];
    let (t, clock, used) = if let Some((t, used)) = time::parse_rfc3339(rest) {
        (t, ClockMethod::Exact, used)
    } else if let Some((t, used)) = time::parse_bsd(rest) {
        (t, ClockMethod::NoYear, used)
    } else if rfc5424 && rest.starts_with(b"- ") {
        (0, ClockMethod::Missing, 1)
    } else {
        return None;
    };
    pos += used;
    if line.get(pos) != Some(&b' ') {
        return None;
    }
    pos += 1;
    let host_end = pos + memchr::memchr(b' ', &line[pos..])?;
    let host = &line[pos..host_end];
    if host.is_empty() {
        return None;
    }
    pos = host_end + 1;
    if rfc5424 {
        // APP-NAME PROCID MSGID STRUCTURED-DATA MSG
        let mut fields = [&b""[..]; 3];
        for f in &mut fields {
            let end = pos + memchr::memchr(b' ', &line[pos..])?;
            *f = &line[pos..end];
            pos = end + 1;
        }
        // structured data: "-" or [..][..]
        if line.get(pos) == Some(&b'-') {
            pos += 1;
        } else {
            while line.get(pos) == Some(&b'[') {
                let mut i = pos + 1;
                let mut esc = false;
                while i < line.len() {
                    match line[i] {
                        b'\\' if !esc => esc = true,
                        b']' if !esc => break,
                        _ => esc = false,
                    }
                    i += 1;
                }
                pos = (i + 1).min(line.len());
            }
        }
        if line.get(pos) == Some(&b' ') {
            pos += 1;
        }
        let nil = |f: &[u8]| f == b"-";
        return Some(Header {
            time: t,
            clock,
            severity,
            host,
            ident: if nil(fields[0]) { b"" } else { fields[0] },
            pid: crate::text::parse_u64(fields[1]).map(|p| p as u32),
            msg_start: pos.min(line.len()),
        });
    }
    // tag[pid]: msg   (tag may be absent: then the message starts here)
    let rest = &line[pos..];
    let colon = memchr::memchr(b':', rest);
    let (ident, pid, msg_start) = match colon {
        Some(c) if c > 0 && c <= 64 && !rest[..c].contains(&b' ') => {
            let tag = &rest[..c];
            let (ident, pid) = match memchr::memchr(b'[', tag) {
                Some(b) if tag.ends_with(b"]") => (
                    &tag[..b],
                    crate::text::parse_u64(&tag[b + 1..tag.len() - 1]).map(|p| p as u32),
                ),
                _ => (tag, None),
            };
            let mut m = pos + c + 1;
            if line.get(m) == Some(&b' ') {
                m += 1;
            }
            (ident, pid, m)
        }
        _ => (&b""[..], None, pos),
    };
    Some(Header {
        time: t,
        clock,
        severity,
        host,
        ident,
        pid,
        msg_start,
    })
}

impl Format for Syslog {
    /// No records of this format travel inside a journal entry.
    fn embeds(&self, _ident: &str) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "syslog"
    }
    fn description(&self) -> &'static str {
        "plain syslog (RFC 3164, RFC 5424, rsyslog RFC 3339 file format): the fallback for timestamped lines"
    }
    fn sniff(&self, sample: &[u8]) -> u8 {
        let mut n = 0;
        let mut ok = 0;
        for line in Lines::new(sample, crate::lines::Terminator::detect(sample)).take(50) {
            if line.text.is_empty() {
                continue;
            }
            n += 1;
            if parse_header(line.text).is_some() {
                ok += 1;
            }
        }
        if n == 0 || ok == 0 {
            return 0;
        }
        // A fallback: never more than 30, so that specific formats win.
        (ok * 30 / n) as u8
    }
    fn parse(&self, src: &Source, sink: &mut Sink<'_>) {
        for line in Lines::new(&src.bytes, src.terminator) {
            if let Some(h) = parse_header(line.text) {
                let mut ev = Event {
                    time: h.time,
                    clock: h.clock,
                    line: line.no,
                    end_line: line.no,
                    offset: line.start as u64,
                    host: sink.atoms.intern_bytes(h.host),
                    unit: sink.atoms.intern_bytes(h.ident),
                    pid: h.pid,
                    severity: h.severity,
                    ..Event::default()
                };
                set_message(
                    &mut ev,
                    src,
                    line.start + h.msg_start,
                    line.end(),
                    line.text,
                );
                sink.push(ev);
            } else if line.text.is_empty() {
                sink.blank(1);
            } else if matches!(line.text[0], b' ' | b'\t') && !sink.events.is_empty() {
                let start = line.start;
                let end = line.end();
                if let Some(ev) = sink.continue_last(&line) {
                    append_message(ev, &src.bytes, start, end);
                }
            } else {
                sink.unparsed(&line, "not a syslog line");
            }
        }
    }
}

/// Sets `ev.message` to bytes `start..end` of the source: a span when clean, owned text
/// when ANSI escapes had to be removed.
pub fn set_message(ev: &mut Event, src: &Source, start: usize, end: usize, _line: &[u8]) {
    let b = &src.bytes[start.min(end)..end];
    if memchr::memchr(0x1b, b).is_some() {
        let s = crate::text::strip_ansi(b);
        ev.message = Text::Owned(crate::text::lossy(&s).into());
    } else {
        ev.message = Text::span(start.min(end), end);
    }
}

/// Appends bytes `start..end` of `source` to `ev.message` on a new line (the message
/// becomes owned).
pub fn append_message(ev: &mut Event, source: &[u8], start: usize, end: usize) {
    let mut s = super::kernel::owned_message(ev, source);
    s.push('\n');
    let add = crate::text::strip_ansi(&source[start.min(end)..end]);
    s.push_str(&crate::text::lossy(&add));
    ev.message = Text::Owned(s.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3164_with_pid() {
        let h = parse_header(b"Mar 24 10:00:00 node1 sshd[812]: Accepted publickey").unwrap();
        assert_eq!(h.clock, ClockMethod::NoYear);
        assert_eq!(h.host, b"node1");
        assert_eq!(h.ident, b"sshd");
        assert_eq!(h.pid, Some(812));
        assert_eq!(
            &b"Mar 24 10:00:00 node1 sshd[812]: Accepted publickey"[h.msg_start..],
            b"Accepted publickey"
        );
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let l = b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An application event";
        let h = parse_header(l).unwrap();
        assert_eq!(h.clock, ClockMethod::Exact);
        assert_eq!(h.severity, Severity::Notice);
        assert_eq!(h.ident, b"evntslog");
        assert_eq!(h.pid, None);
        assert_eq!(&l[h.msg_start..], b"An application event");
        assert_eq!(h.time, 1_065_910_455_003_000_000);
    }

    #[test]
    fn rsyslog_rfc3339_kernel_line() {
        let l = b"2026-03-24T10:00:00.123456+01:00 host kernel: [ 12.5] text";
        let h = parse_header(l).unwrap();
        assert_eq!(h.ident, b"kernel");
        assert_eq!(h.time, 1_774_342_800_123_456_000);
    }

    #[test]
    fn rejects_prose() {
        assert!(parse_header(b"hello world").is_none());
        assert!(parse_header(b"<999>1 x").is_none());
        assert!(parse_header(b"").is_none());
    }
}
