//! journalctl's text modes (`output_short()` in systemd's `src/shared/logs-show.c`):
//! `<timestamp> <host> <ident>[<pid>]: <message>` with the timestamp of `short` and
//! `short-precise` (`Mar 24 10:00:00[.123456]`, no year, no zone, localised month names),
//! `short-full` (`Tue 2026-03-24 10:00:00 CET`), `short-iso[-precise]` (`+0100` before
//! systemd v255, `+01:00` since), `short-unix` (`1711274400.123456`) and `short-monotonic`
//! (`[ 1234.567890]`).
//!
//! Marker lines (`-- Boot <id> --`, `-- Reboot --`, `-- No entries --`, `-- Journal begins
//! ... --`, `-- Logs begin ... --`, `-- cursor: ...`) are parsed non-event lines; a boot
//! marker sets the boot of the events after it. Lines of a multi-line message follow their
//! first line indented by the prefix width and are continuation; catalog lines (`░░ `) too.
//! A leading `[🡕] ` link glyph is removed. Embedded formats are refined and folded as in the
//! other journal formats ([`super::journal_common::Embedded`]).

use super::journal_common::{AtomCache, Embedded, Name, skip_link_glyph};
use super::{Format, Sink, line_start_where};
use crate::event::{Atom, ClockMethod, Event, Text};
use crate::ingest::Source;
use crate::lines::{Lines, Terminator};
use crate::time;

/// journalctl `short*` text output.
pub struct JournalText;

/// Which `short*` layout a timestamp had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `Mar 24 10:00:00` (`short`) or with `.123456` (`short-precise`).
    Short,
    /// `Tue 2026-03-24 10:00:00 CET`.
    Full,
    /// `2026-03-24T10:00:00+0100`, with or without microseconds.
    Iso,
    /// `1711274400.123456`.
    Unix,
    /// `[ 1234.567890]`.
    Monotonic,
}

/// A parsed line prefix.
#[derive(Debug, PartialEq, Eq)]
pub struct Prefix<'a> {
    /// The layout.
    pub mode: Mode,
    /// Time (ns) as the clock stage expects for `clock`.
    pub time: i64,
    /// How `time` was read.
    pub clock: ClockMethod,
    /// Monotonic µs (`short-monotonic`).
    pub mono_us: Option<i64>,
    /// Host.
    pub host: &'a [u8],
    /// Identifier.
    pub ident: &'a [u8],
    /// Pid.
    pub pid: Option<u32>,
    /// Offset of the message in the line.
    pub msg_start: usize,
    /// True when the timestamp had sub-second digits.
    pub precise: bool,
    /// Length of the timestamp.
    pub ts_len: usize,
}

/// UTC offset (seconds east) of a zone abbreviation `short-full` may print; `None` for
/// unknown or ambiguous ones (`CST`, `IST`), which are then read as local time.
pub fn zone_abbreviation(z: &[u8]) -> Option<i64> {
    const H: i64 = 3600;
    let off = match z {
        b"UTC" | b"GMT" | b"Z" | b"WET" | b"UT" => 0,
        b"CET" | b"WEST" | b"BST" | b"MET" => H,
        b"CEST" | b"EET" | b"SAST" | b"MEST" => 2 * H,
        b"EEST" | b"MSK" => 3 * H,
        b"EST" => -5 * H,
        b"EDT" => -4 * H,
        b"CDT" => -5 * H,
        b"MST" => -7 * H,
        b"MDT" => -6 * H,
        b"PST" => -8 * H,
        b"PDT" => -7 * H,
        b"AKST" => -9 * H,
        b"AKDT" => -8 * H,
        b"HST" => -10 * H,
        b"JST" | b"KST" => 9 * H,
        b"HKT" | b"SGT" | b"AWST" => 8 * H,
        b"AEST" => 10 * H,
        b"AEDT" => 11 * H,
        b"ACST" => 9 * H + 1800,
        b"NZST" => 12 * H,
        b"NZDT" => 13 * H,
        _ => {
            // Zones without an abbreviation print their offset: `+03`, `-0330`.
            if matches!(z.first(), Some(b'+' | b'-')) && (z.len() == 3 || z.len() == 5) {
                let sign = if z[0] == b'-' { -1 } else { 1 };
                let h = i64::from(crate::text::digits(&z[1..], 2)?);
                let m = if z.len() == 5 {
                    i64::from(crate::text::digits(&z[3..], 2)?)
                } else {
                    0
                };
                return Some(sign * (h * H + m * 60));
            }
            return None;
        }
    };
    Some(off)
}

/// Parses the timestamp at the start of `b`: (mode, time, clock, mono, used, precise).
fn timestamp(b: &[u8]) -> Option<(Mode, i64, ClockMethod, Option<i64>, usize, bool)> {
    let first = *b.first()?;
    if first == b'[' {
        let (us, used) = time::parse_secs_us(&b[1..])?;
        if b.get(1 + used) != Some(&b']') || !b[1..1 + used].contains(&b'.') {
            return None;
        }
        return Some((
            Mode::Monotonic,
            0,
            ClockMethod::Monotonic,
            Some(us),
            used + 2,
            true,
        ));
    }
    if first.is_ascii_digit() {
        if let Some((t, zoned, used)) = time::parse_iso(b)
            && zoned
            && b[10] == b'T'
        {
            return Some((
                Mode::Iso,
                t,
                ClockMethod::Exact,
                None,
                used,
                b.get(19) == Some(&b'.'),
            ));
        }
        // short-unix: seconds '.' 6 digits
        let (us, used) = time::parse_secs_us(b)?;
        if used < 12 || b.get(used - 7) != Some(&b'.') {
            return None;
        }
        return Some((
            Mode::Unix,
            us.checked_mul(1000)?,
            ClockMethod::Exact,
            None,
            used,
            true,
        ));
    }
    if let Some((t, used)) = time::parse_bsd(b) {
        return Some((Mode::Short, t, ClockMethod::NoYear, None, used, used > 15));
    }
    // short-full: `Tue 2026-03-24 10:00:00 CET` (weekday may be localised)
    let sp = memchr::memchr(b' ', &b[..b.len().min(16)])?;
    let rest = &b[sp + 1..];
    let (t, zoned, used) = time::parse_iso(rest)?;
    if zoned || rest[10] != b' ' {
        return None;
    }
    let mut i = sp + 1 + used;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let zl = b[i..]
        .iter()
        .take_while(|c| !c.is_ascii_whitespace())
        .count();
    if zl == 0 {
        return None;
    }
    let z = &b[i..i + zl];
    let precise = rest.get(19) == Some(&b'.');
    let ok_zone = z
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'/' | b'_'));
    if !ok_zone {
        return None;
    }
    Some(match zone_abbreviation(z) {
        Some(off) => (
            Mode::Full,
            t - off * 1_000_000_000,
            ClockMethod::Exact,
            None,
            i + zl,
            precise,
        ),
        None => (
            Mode::Full,
            t,
            ClockMethod::LocalNoZone,
            None,
            i + zl,
            precise,
        ),
    })
}

/// Parses a `short*` line prefix. The host is required (journalctl prints it unless
/// `--no-hostname`); the identifier ends at the first `: ` (after an optional `[pid]`).
pub fn parse_prefix(line: &[u8]) -> Option<Prefix<'_>> {
    let (mode, t, clock, mono, used, precise) = timestamp(line)?;
    let mut pos = used;
    if line.get(pos) != Some(&b' ') {
        return None;
    }
    pos += 1;
    let host_end = pos + memchr::memchr(b' ', &line[pos..])?;
    let mut host = &line[pos..host_end];
    if host.is_empty() {
        return None;
    }
    if host.ends_with(b"]:") {
        // `--no-hostname`: the identifier follows the timestamp.
        host = b"";
    } else {
        pos = host_end + 1;
    }
    let rest = &line[pos..];
    // `ident[pid]: msg` or `ident: msg`; a message-less `ident:` ends the line.
    let colon = crate::text::find_pair(rest, b':', b' ')
        .or_else(|| rest.ends_with(b":").then(|| rest.len() - 1))?;
    let tag = &rest[..colon];
    if tag.is_empty() || tag.len() > 128 {
        return None;
    }
    let (ident, pid) = match memchr::memrchr(b'[', tag) {
        Some(o) if tag.ends_with(b"]") => {
            let p = crate::text::parse_u64(&tag[o + 1..tag.len() - 1])?;
            (&tag[..o], Some(p as u32))
        }
        _ => (tag, None),
    };
    if ident.is_empty() {
        return None;
    }
    Some(Prefix {
        mode,
        time: t,
        clock,
        mono_us: mono,
        host,
        ident,
        pid,
        msg_start: (pos + colon + 2).min(line.len()),
        precise,
        ts_len: used,
    })
}

/// What a marker line says.
#[derive(Debug, PartialEq, Eq)]
pub enum Marker<'a> {
    /// `-- Boot <id> --`.
    Boot(&'a [u8]),
    /// `-- Reboot --` (before systemd v247): a new, unnamed boot.
    Reboot,
    /// Any other journalctl marker (`-- No entries --`, headers, cursors).
    Other,
}

/// Recognises a journalctl marker line (ANSI highlight removed first by the caller).
pub fn marker(line: &[u8]) -> Option<Marker<'_>> {
    if let Some(rest) = line.strip_prefix(b"-- Boot ")
        && let Some(id) = rest.strip_suffix(b" --")
        && id.len() == 32
        && id.iter().all(u8::is_ascii_hexdigit)
    {
        return Some(Marker::Boot(id));
    }
    if line == b"-- Reboot --" {
        return Some(Marker::Reboot);
    }
    if line == b"-- No entries --"
        || line.starts_with(b"-- cursor: ")
        // notes journalctl and `systemctl status` print around the entries
        || line.starts_with(b"Warning: some journal files were not opened")
        || line.starts_with(b"Notice: journal has been rotated since unit was started")
        || line.starts_with(b"Hint: You are currently not seeing messages from other users")
        || ((line.starts_with(b"-- Journal begins ") || line.starts_with(b"-- Logs begin "))
            && line.ends_with(b" --"))
    {
        return Some(Marker::Other);
    }
    None
}

const CATALOG: &[u8] = "░░ ".as_bytes();

impl Format for JournalText {
    /// No records of this format travel inside a journal entry.
    fn embeds(&self, _ident: &str) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "journal-text"
    }
    fn description(&self) -> &'static str {
        "journalctl text output (short, short-precise, short-full, short-iso, short-unix, short-monotonic) with boot markers"
    }
    fn sniff(&self, sample: &[u8]) -> u8 {
        let mut n = 0u32;
        let mut ok = 0u32;
        let mut markers = 0u32;
        let mut distinct = 0u32;
        let mut pids_third = 0u32;
        for line in Lines::new(sample, Terminator::detect(sample)).take(100) {
            let t = line.text;
            if t.is_empty() || t[0] == b' ' {
                continue;
            }
            let clean = crate::text::strip_ansi(t);
            if marker(&clean).is_some() {
                markers += 1;
                continue;
            }
            n += 1;
            if let Some(p) = parse_prefix(t) {
                ok += 1;
                match p.mode {
                    // rsyslog never writes these: only journalctl does.
                    Mode::Full | Mode::Unix => distinct += 1,
                    Mode::Short if p.precise => distinct += 1,
                    // rsyslog's RFC 3339 has microseconds and `+hh:mm`; journalctl's
                    // short-iso has no fraction or (before v255) `+hhmm`.
                    Mode::Iso if !p.precise || t.get(p.ts_len.saturating_sub(3)) != Some(&b':') => {
                        distinct += 1
                    }
                    Mode::Monotonic if p.pid.is_some() || p.ident == b"kernel" => pids_third += 1,
                    _ => {}
                }
            }
        }
        if n == 0 {
            return if markers > 0 { 90 } else { 0 };
        }
        if ok == 0 {
            return 0;
        }
        let ratio = ok * 100 / n;
        if markers > 0 && ratio >= 50 {
            90
        } else if distinct * 2 >= ok && ratio >= 50 {
            85
        } else if pids_third * 2 >= ok && ratio >= 80 {
            // short-monotonic: `[ 1.5] host ident[pid]:` (dmesg has no host column). Above
            // the kernel format's 90, which also reads the stamps.
            92
        } else {
            // `short` is byte-for-byte RFC 3164: leave it to the syslog fallback.
            (ratio / 5).min(20) as u8
        }
    }
    fn split(&self, bytes: &[u8], near: usize) -> Option<usize> {
        // The boot a line belongs to is the last boot marker's: with no marker (nor an
        // ANSI-highlighted line, which could be one) before `near`, any entry line starts
        // a fresh state; otherwise only a boot or reboot marker does.
        let maybe_marker = |h: &[u8]| {
            h.starts_with(b"-- Boot ")
                || h.starts_with(b"-- Reboot")
                || h.first() == Some(&0x1b)
                || memchr::memmem::find(h, b"\n-- Boot ").is_some()
                || memchr::memmem::find(h, b"\n-- Reboot").is_some()
                || memchr::memmem::find(h, b"\n\x1b").is_some()
        };
        if let Some(at) = line_start_where(bytes, near, |t| parse_prefix(t).is_some())
            && !maybe_marker(&bytes[..at])
        {
            return Some(at);
        }
        let resets = |t: &[u8]| {
            matches!(
                marker(&crate::text::strip_ansi(t)),
                Some(Marker::Boot(_) | Marker::Reboot)
            )
        };
        let mut from = near;
        loop {
            let at = line_start_where(bytes, from, resets);
            if at.is_some() {
                return at;
            }
            // Jump to the next line that could be a marker.
            let rest = bytes.get(from..)?;
            let next = [&b"\n-- Boot "[..], b"\n-- Reboot", b"\n\x1b"]
                .iter()
                .filter_map(|k| memchr::memmem::find(rest, k))
                .min()?;
            from = from + next + 1;
        }
    }
    fn parse(&self, src: &Source, sink: &mut Sink<'_>) {
        let bytes: &[u8] = &src.bytes;
        let mut emb = Embedded::default();
        let mut cache = AtomCache::default();
        let mut boot = Atom::NONE;
        // Width of the last event's prefix (continuation lines are indented by it).
        let mut indent = 0usize;
        // One line per entry: room for every event at once (no copies as the vector grows).
        sink.reserve_events(1);
        let lines = sink.lines();
        for line in lines {
            let t = line.text;
            if t.is_empty() {
                sink.blank(1);
                continue;
            }
            if t.starts_with(b"-- ") || matches!(t[0], 0x1b | b'W' | b'N' | b'H') {
                let clean = crate::text::strip_ansi(t);
                match marker(&clean) {
                    Some(Marker::Boot(id)) => {
                        boot = sink.atoms.intern_bytes(id);
                        sink.meta(1);
                        continue;
                    }
                    Some(Marker::Reboot) => {
                        boot = Atom::NONE;
                        sink.meta(1);
                        continue;
                    }
                    Some(Marker::Other) => {
                        sink.meta(1);
                        continue;
                    }
                    None => {}
                }
            }
            if let Some(p) = parse_prefix(t) {
                let mut ev = Event {
                    time: p.time,
                    clock: p.clock,
                    mono_us: p.mono_us,
                    line: line.no,
                    end_line: line.no,
                    offset: line.start as u64,
                    host: cache.intern(&mut sink.atoms, p.host),
                    boot,
                    pid: p.pid,
                    ..Event::default()
                };
                let ident = cache.intern(&mut sink.atoms, p.ident);
                ev.unit = ident;
                let ms = skip_link_glyph(bytes, line.start + p.msg_start, line.end());
                super::syslog::set_message(&mut ev, src, ms, line.end(), t);
                let name = cache.name(&mut sink.atoms, Name::Identifier);
                let is = line.start + p.used_ident_start(t);
                // Made exact by `emit`, with the fields an inner format adds.
                sink.fields
                    .push(&mut ev.fields, name, Text::span(is, is + p.ident.len()));
                indent = p.msg_start;
                emb.emit(sink, ev, ident);
                continue;
            }
            let cont = t[0] == b' ' || t[0] == b'\t' || t.starts_with(CATALOG);
            if cont && sink.events.is_empty() {
                sink.depends_on_earlier();
            }
            if cont && !sink.events.is_empty() {
                let lead = t.iter().take(indent).take_while(|&&c| c == b' ').count();
                let (s, e) = (line.start + lead, line.end());
                if let Some(ev) = sink.continue_last(&line) {
                    super::syslog::append_message(ev, bytes, s, e);
                }
            } else {
                sink.unparsed(&line, "not a journalctl short line");
            }
        }
    }
}

impl Prefix<'_> {
    /// Offset of the identifier in `line` (the prefix borrows from it).
    fn used_ident_start(&self, line: &[u8]) -> usize {
        self.ident.as_ptr() as usize - line.as_ptr() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::parse_source;

    fn p(l: &str) -> Prefix<'_> {
        parse_prefix(l.as_bytes()).unwrap_or_else(|| panic!("no prefix: {l}"))
    }

    #[test]
    fn every_short_layout() {
        let s = p("Mar 24 10:00:00 cache1 atticd[812]: hello");
        assert_eq!(
            (s.mode, s.clock, s.pid),
            (Mode::Short, ClockMethod::NoYear, Some(812))
        );
        assert_eq!(time::rfc3339(s.time), "2000-03-24T10:00:00.000000Z");
        let s = p("Mar 24 10:00:00.123456 cache1 atticd[812]: hello");
        assert!(s.precise);
        let s = p("Tue 2026-03-24 10:00:00 CET cache1 systemd[1]: Started x.");
        assert_eq!((s.mode, s.clock), (Mode::Full, ClockMethod::Exact));
        assert_eq!(time::rfc3339(s.time), "2026-03-24T09:00:00.000000Z");
        let s = p("Tue 2026-03-24 10:00:00 CST cache1 systemd[1]: Started x.");
        assert_eq!(s.clock, ClockMethod::LocalNoZone);
        let a = p("2026-03-24T10:00:00+0100 cache1 kernel: x");
        let b = p("2026-03-24T10:00:00+01:00 cache1 kernel: x");
        assert_eq!(a.time, b.time);
        assert_eq!(a.ident, b"kernel");
        assert_eq!(a.pid, None);
        let s = p("2026-03-24T10:00:00.250000+01:00 cache1 kernel: x");
        assert_eq!(time::rfc3339(s.time), "2026-03-24T09:00:00.250000Z");
        let s = p("1774346400.123456 cache1 sshd[9]: x");
        assert_eq!((s.mode, s.time), (Mode::Unix, 1_774_346_400_123_456_000));
        let s = p("[ 1234.567890] cache1 kernel: x");
        assert_eq!((s.mode, s.mono_us), (Mode::Monotonic, Some(1_234_567_890)));
        let s = p("Mar 24 10:00:00 atticd[812]: no host column");
        assert_eq!(
            (s.host, s.ident, s.pid),
            (&b""[..], &b"atticd"[..], Some(812))
        );
        let s = p("Okt 05 16:41:38 h x[1]: y");
        assert_eq!(time::rfc3339(s.time), "2000-10-05T16:41:38.000000Z");
    }

    #[test]
    fn rejects_non_journal_lines_with_exact_reasons() {
        for l in [
            "hello world",
            "Mar 24 10:00:00",
            "Mar 24 10:00:00 hostonly",
            "[ 12.5] usb 1-1 new device",
            "2026-03-24T10:00:00 host x: naive iso is not short-iso",
            "12345 host x: y",
            "Tue 2026-03-24 10:00:00 host x: no zone",
        ] {
            assert!(parse_prefix(l.as_bytes()).is_none(), "{l}");
        }
    }

    #[test]
    fn markers_boots_continuations_and_glyph() {
        let text = concat!(
            "-- Journal begins at Tue 2026-03-24 09:00:00 UTC, ends at Tue 2026-03-24 11:00:00 UTC. --\n",
            "Mar 24 10:00:00 h1 systemd[1]: [\u{1f855}] x.service: systemd-oomd killed 2 process(es) in this unit.\n",
            "-- Boot 0123456789abcdef0123456789abcdef --\n",
            "Mar 24 10:05:00 h1 nix-daemon[50]: error: builder failed\n",
            "                                   with exit code 1\n",
            "\x1b[0;1;39m-- Reboot --\x1b[0m\n",
            "stray\n",
            "-- No entries --\n",
            "Warning: some journal files were not opened due to insufficient permissions.\n",
        );
        let src = Source::from_bytes(0, "j.txt", text.as_bytes().to_vec());
        let p = parse_source(&src, None);
        assert_eq!(crate::formats::name_of(p.format.unwrap()), "journal-text");
        assert_eq!(p.events.len(), 2);
        assert_eq!(
            p.events[0].message.bytes(&src.bytes),
            b"x.service: systemd-oomd killed 2 process(es) in this unit."
        );
        assert!(p.events[0].boot.is_none());
        assert_eq!(
            p.atoms.get(p.events[1].boot),
            "0123456789abcdef0123456789abcdef"
        );
        assert_eq!(
            p.events[1].message.bytes(&src.bytes),
            b"error: builder failed\nwith exit code 1"
        );
        assert_eq!(p.events[1].end_line, 5);
        assert_eq!(p.counts.parsed, 7);
        assert_eq!(p.counts.continuation, 1);
        assert_eq!(p.counts.unparsed, 1);
        assert_eq!(p.counts.total(), src.lines);
        assert_eq!(
            p.events[1].field(&p.fields, &p.atoms, "identifier", &src.bytes),
            Some(&b"nix-daemon"[..])
        );
    }

    #[test]
    fn sniff_leaves_plain_short_to_syslog_but_takes_the_distinct_modes() {
        let short = b"Mar 24 10:00:00 h x[1]: a\nMar 24 10:00:01 h x[1]: b\n";
        assert!(JournalText.sniff(short) <= 20);
        assert_eq!(JournalText.sniff(b"Mar 24 10:00:00.000001 h x[1]: a\n"), 85);
        assert_eq!(
            JournalText.sniff(b"2026-03-24T10:00:00+0100 h x[1]: a\n"),
            85
        );
        assert!(JournalText.sniff(b"2026-03-24T10:00:00.123456+01:00 h x[1]: a\n") <= 20);
        assert_eq!(JournalText.sniff(b"[    1.000000] h kernel: a\n"), 92);
        let mono = b"[    0.000000] h1 kernel: Linux version 6.1.0\n[    5.100000] h1 systemd[1]: Started x.\n";
        assert_eq!(
            crate::formats::name_of(crate::formats::sniff(mono).unwrap()),
            "journal-text"
        );
        let dmesg = b"[    0.000000] Linux version 6.1.0\n[    3.100000] systemd[1]: Detected architecture x86-64.\n";
        assert_eq!(
            crate::formats::name_of(crate::formats::sniff(dmesg).unwrap()),
            "kernel"
        );
        assert!(JournalText.sniff(b"[    1.000000] usb 1-1: new device\n") <= 20);
        assert_eq!(JournalText.sniff(b"-- No entries --\n"), 90);
        assert_eq!(JournalText.sniff(b"random words\n"), 0);
    }
}
