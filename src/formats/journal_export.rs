//! The Journal Export Format (`journalctl -o export`), see systemd's
//! `docs/JOURNAL_EXPORT_FORMATS.md` and `output_export()` in `src/shared/logs-show.c`.
//!
//! Entries are separated by a blank line. A field is `NAME=value\n` when its value is
//! printable UTF-8, else `NAME\n<le64 length><bytes>\n` (multi-line messages, ANSI colour,
//! invalid UTF-8). Unknown `__` fields are skipped, as the doc asks. The walk is on bytes,
//! not lines, because binary values may contain newlines; line numbers are counted from the
//! newlines consumed, so the accounting holds: an entry's first physical line is parsed, all
//! its other lines (binary value lines and the blank separator included) are continuation.
//! A truncated entry (cut inside a binary field) is an issue at its file:line:byte and its
//! lines are counted unparsed.

use super::journal_common::{AtomCache, Embedded, Entry, Key, Value, entry_event};
use super::{Format, Sink, line_start_where};
use crate::ingest::Source;
use crate::lines::{Lines, Terminator};

/// `journalctl -o export`.
pub struct JournalExport;

/// Bytes of a journal field name: `A-Z`, `0-9`, `_`.
const NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_';
        c += 1;
    }
    t
};

/// True for a journal field name: `[A-Z0-9_]+`, not starting with a digit.
pub fn valid_name(n: &[u8]) -> bool {
    // A table lookup a byte: this runs on every line of an export stream.
    !n.is_empty()
        && n.len() <= 64
        && !n[0].is_ascii_digit()
        && n.iter().all(|&c| NAME_BYTE[usize::from(c)])
}

/// Largest binary field value believed (journald's own limit on an entry is 768 MiB).
const MAX_FIELD: u64 = 1 << 30;

/// One line of an export stream, classified.
enum Field<'a> {
    /// `NAME=value` (value offsets in the source).
    Text(&'a [u8], usize, usize),
    /// A binary field header `NAME` whose value needs `len` bytes from `data`.
    Binary(&'a [u8], usize, u64),
    /// The blank line that ends an entry.
    End,
    /// Neither.
    Junk,
}

fn strip_cr(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\r").unwrap_or(b)
}

fn classify(bytes: &[u8], start: usize, end: usize) -> Field<'_> {
    let line = strip_cr(&bytes[start..end]);
    if line.is_empty() {
        return Field::End;
    }
    match memchr::memchr(b'=', line) {
        Some(eq) if valid_name(&line[..eq]) => {
            Field::Text(&line[..eq], start + eq + 1, start + line.len())
        }
        Some(_) => Field::Junk,
        None if valid_name(line) => {
            let data = end + 1;
            match bytes.get(data..data + 8) {
                Some(l) => {
                    let len = u64::from_le_bytes(l.try_into().expect("8 bytes"));
                    let end = (data + 8).saturating_add(len.min(usize::MAX as u64 / 2) as usize);
                    // A stray upper-case word is not a binary header: its "length" (the
                    // next line's text read as a number) is absurd, or the data it claims
                    // is not followed by the field's newline.
                    if len > MAX_FIELD
                        || (end < bytes.len() && !matches!(bytes[end], b'\n' | b'\r'))
                    {
                        Field::Junk
                    } else {
                        Field::Binary(line, data + 8, len)
                    }
                }
                None => Field::Binary(line, data, u64::MAX),
            }
        }
        None => Field::Junk,
    }
}

/// Counts the newlines of `b`.
fn newlines(b: &[u8]) -> u32 {
    memchr::memchr_iter(b'\n', b).count() as u32
}

impl Format for JournalExport {
    /// No records of this format travel inside a journal entry.
    fn embeds(&self, _ident: &str) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "journal-export"
    }
    fn description(&self) -> &'static str {
        "systemd journal export stream (journalctl -o export): text and binary fields, several entries and boots"
    }
    fn sniff(&self, sample: &[u8]) -> u8 {
        let mut fields = 0;
        let mut other = 0;
        let mut stamps = 0;
        for line in Lines::new(sample, Terminator::Lf).take(200) {
            let t = strip_cr(line.text);
            if t.is_empty() {
                continue;
            }
            match memchr::memchr(b'=', t) {
                Some(eq) if valid_name(&t[..eq]) => {
                    fields += 1;
                    if t.starts_with(b"__CURSOR=") || t.starts_with(b"__REALTIME_TIMESTAMP=") {
                        stamps += 1;
                    }
                }
                // binary field headers and their data lines are neither here nor there
                None if valid_name(t) => {}
                _ => other += 1,
            }
        }
        if fields == 0 || fields < other * 2 {
            return 0;
        }
        if stamps > 0 {
            95
        } else if sample.starts_with(b"_") || sample.starts_with(b"MESSAGE=") {
            60
        } else {
            0
        }
    }
    fn split(&self, bytes: &[u8], near: usize) -> Option<usize> {
        // An entry starts after a blank line, with the cursor or the realtime stamp that
        // journalctl writes first. A binary field could hold that sequence: the chunk
        // before would then read past its end and the parse falls back (see `parse`).
        let mut from = near;
        loop {
            let at = line_start_where(bytes, from, |t| {
                t.starts_with(b"__CURSOR=") || t.starts_with(b"__REALTIME_TIMESTAMP=")
            })?;
            let before = &bytes[..at];
            if before.ends_with(b"\n\n") || before.ends_with(b"\n\r\n") {
                return Some(at);
            }
            from = at + 1;
        }
    }
    fn parse(&self, src: &Source, sink: &mut Sink<'_>) {
        if src.terminator == Terminator::Cr {
            // An export stream always has `\n`: this input is something else.
            for line in Lines::new(&src.bytes, src.terminator) {
                sink.unparsed(&line, "not an export stream");
            }
            return;
        }
        let bytes: &[u8] = &src.bytes;
        let mut emb = Embedded::default();
        let mut cache = AtomCache::default();
        // One entry reused for every record: no allocation per record.
        let mut entry = Entry::default();
        let mut pos = sink.range.start;
        let mut no = sink.first_line;
        let range_end = sink.range.end;
        while pos < range_end {
            // Blank lines between entries (or before the first).
            let nl = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
            if strip_cr(&bytes[pos..nl]).is_empty() {
                sink.blank(1);
                pos = nl + 1;
                no += 1;
                continue;
            }
            if matches!(classify(bytes, pos, nl), Field::Junk) {
                let text = strip_cr(&bytes[pos..nl]);
                sink.issue(no, pos, "not a journal export field");
                sink.unparsed_lines(no, text, 1);
                pos = nl + 1;
                no += 1;
                continue;
            }
            entry.clear();
            entry.line = no;
            entry.end_line = 0;
            entry.offset = pos;
            let mut junk: Vec<(u32, usize, usize)> = Vec::new();
            let mut truncated: Option<String> = None;
            let mut cur = pos;
            let mut cur_no = no;
            loop {
                if cur >= bytes.len() {
                    break;
                }
                let nl = memchr::memchr(b'\n', &bytes[cur..]).map_or(bytes.len(), |i| cur + i);
                match classify(bytes, cur, nl) {
                    Field::End => {
                        cur = nl + 1;
                        break;
                    }
                    Field::Text(name, s, e) => {
                        entry.add_named(name, Value::span(bytes, s, e));
                        cur = nl + 1;
                        cur_no += 1;
                    }
                    Field::Binary(name, data, len) => {
                        let avail = bytes.len().saturating_sub(data) as u64;
                        if len > avail {
                            truncated = Some(format!(
                                "truncated journal export entry: binary field {} needs {} bytes, {} left",
                                String::from_utf8_lossy(name),
                                if len == u64::MAX {
                                    "8+".to_string()
                                } else {
                                    len.to_string()
                                },
                                avail
                            ));
                            cur = bytes.len();
                            break;
                        }
                        let end = data + len as usize;
                        let value = &bytes[data..end];
                        // Binary values are kept decoded (they are rarely clean spans: they
                        // hold newlines or escapes); only the first of a field the event
                        // uses is copied.
                        if let Some(k) = Key::of(name)
                            && !entry.has(k)
                        {
                            entry.add(k, Value::owned(value.to_vec()));
                        }
                        cur_no += newlines(&bytes[cur..end]);
                        cur = end;
                        // the field's own terminator
                        if bytes.get(cur) == Some(&b'\r') && bytes.get(cur + 1) == Some(&b'\n') {
                            cur += 1;
                        }
                        if bytes.get(cur) == Some(&b'\n') {
                            cur += 1;
                            cur_no += 1;
                        }
                    }
                    Field::Junk => {
                        junk.push((cur_no, cur, nl));
                        cur = nl + 1;
                        cur_no += 1;
                    }
                }
            }
            let cur = cur.min(bytes.len());
            // Lines of this entry: newlines consumed plus an unterminated last line.
            let span = &bytes[pos..cur];
            let mut lines = newlines(span);
            if !span.is_empty() && !span.ends_with(b"\n") {
                lines += 1;
            }
            let lines = lines.max(1);
            let last = no + lines - 1;
            if let Some(why) = truncated {
                sink.issue(no, pos, why);
                sink.unparsed_lines(no, &bytes[pos..nl.min(cur)], u64::from(lines));
            } else if entry.is_record() {
                for (jno, s, _) in &junk {
                    sink.issue(*jno, *s, "not a journal export field");
                }
                entry.end_line = last;
                let (mut ev, ident) = entry_event(&entry, sink, &mut cache);
                ev.end_line = last;
                emb.emit(sink, ev, ident);
                // Junk lines inside the entry (never its first line) were counted as
                // continuation by `emit`; they are unparsed.
                sink.counts.continuation -= junk.len() as u64;
                for (jno, s, e) in &junk {
                    sink.unparsed_lines(*jno, strip_cr(&bytes[*s..*e]), 1);
                }
            } else {
                sink.unparsed_lines(no, strip_cr(&bytes[pos..nl.min(cur)]), u64::from(lines));
            }
            if cur > range_end {
                // The entry reaches into the next chunk: that chunk was split inside it
                // (a binary field holding a blank line and a cursor).
                sink.overran = true;
            }
            pos = cur;
            no = last + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ClockMethod, Severity};
    use crate::formats::parse_source;

    fn bin(name: &str, v: &[u8]) -> Vec<u8> {
        let mut o = name.as_bytes().to_vec();
        o.push(b'\n');
        o.extend_from_slice(&(v.len() as u64).to_le_bytes());
        o.extend_from_slice(v);
        o.push(b'\n');
        o
    }

    fn sample() -> Vec<u8> {
        let mut b = b"__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1774346400000000\n__MONOTONIC_TIMESTAMP=5000000\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=cache1\nPRIORITY=3\n_PID=812\nSYSLOG_IDENTIFIER=atticd\n_SYSTEMD_UNIT=atticd.service\n__FUTURE_FIELD=ignored\n".to_vec();
        b.extend(bin(
            "MESSAGE",
            b"\x1b[31mERROR\x1b[0m upload failed\nsecond line",
        ));
        b.extend(b"\n__CURSOR=s=1;i=2\n__REALTIME_TIMESTAMP=1774346401000000\n__MONOTONIC_TIMESTAMP=6000000\n_SOURCE_MONOTONIC_TIMESTAMP=5999000\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=cache1\n_TRANSPORT=kernel\nPRIORITY=6\nMESSAGE=e1000e: eth0 NIC Link is Up\n\n");
        b
    }

    #[test]
    fn text_and_binary_fields_and_accounting() {
        let src = Source::from_bytes(0, "x.export", sample());
        let p = parse_source(&src, None);
        assert_eq!(crate::formats::name_of(p.format.unwrap()), "journal-export");
        assert!(p.issues.is_empty(), "{:?}", p.issues);
        assert_eq!(p.events.len(), 2);
        let e = &p.events[0];
        assert_eq!(e.line, 1);
        assert_eq!(e.clock, ClockMethod::Exact);
        assert_eq!(e.time, 1_774_346_400_000_000_000);
        assert_eq!(e.severity, Severity::Err);
        assert_eq!(p.atoms.get(e.unit), "atticd.service");
        assert_eq!(p.atoms.get(e.host), "cache1");
        assert_eq!(
            e.message.bytes(&src.bytes),
            b"ERROR upload failed\nsecond line"
        );
        // 10 text lines + binary header + value spanning 2 lines + separator = 14
        assert_eq!(e.end_line, 14);
        let k = &p.events[1];
        assert_eq!(k.line, 15);
        assert_eq!(p.atoms.get(k.unit), "kernel");
        assert_eq!(k.mono_us, Some(5_999_000));
        assert_eq!(k.message.bytes(&src.bytes), b"e1000e: eth0 NIC Link is Up");
        assert_eq!(p.counts.parsed, 2);
        assert_eq!(p.counts.total(), src.lines);
        assert_eq!(p.counts.unparsed, 0);
    }

    #[test]
    fn truncated_binary_field_is_an_issue_with_its_lines_accounted() {
        let mut b = sample();
        let mut cut =
            b"__CURSOR=s=1;i=3\n__REALTIME_TIMESTAMP=1774346402000000\nMESSAGE\n".to_vec();
        cut.extend_from_slice(&100u64.to_le_bytes());
        cut.extend_from_slice(b"only a bit\nof it");
        let at = b.len();
        b.extend(cut);
        let src = Source::from_bytes(0, "cut.export", b);
        let p = parse_source(&src, None);
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.counts.total(), src.lines);
        assert_eq!(p.counts.unparsed, 5);
        assert_eq!(p.issues.len(), 1, "{:?}", p.issues);
        assert_eq!(p.issues[0].line, Some(25));
        assert_eq!(p.issues[0].offset, Some(at as u64));
        assert_eq!(
            p.issues[0].message,
            "truncated journal export entry: binary field MESSAGE needs 100 bytes, 16 left"
        );
    }

    #[test]
    fn crlf_and_junk_lines() {
        let b =
            b"__REALTIME_TIMESTAMP=1774346400000000\r\nMESSAGE=hi\r\nthis is not a field\r\n\r\n"
                .to_vec();
        let src = Source::from_bytes(0, "x", b);
        let p = parse_source(
            &src,
            Some(crate::formats::by_name("journal-export").unwrap().0),
        );
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.events[0].message.bytes(&src.bytes), b"hi");
        assert_eq!(p.counts.unparsed, 1);
        assert_eq!(p.counts.total(), 4);
        assert_eq!(p.issues[0].message, "not a journal export field");
        assert_eq!(p.issues[0].line, Some(3));
    }

    #[test]
    fn stray_upper_case_word_is_junk_not_a_binary_header() {
        let b = b"__REALTIME_TIMESTAMP=1774346400000000\nSTRAY\nMESSAGE=hi\n\n__REALTIME_TIMESTAMP=1774346401000000\nMESSAGE=two\n\n".to_vec();
        let src = Source::from_bytes(0, "x", b);
        let p = parse_source(&src, None);
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.events[0].message.bytes(&src.bytes), b"hi");
        assert_eq!(p.counts.unparsed, 1);
        assert_eq!(p.issues[0].line, Some(2));
        assert_eq!(p.counts.total(), src.lines);
    }

    #[test]
    fn sniff_scores() {
        assert_eq!(JournalExport.sniff(&sample()), 95);
        assert_eq!(JournalExport.sniff(b"Mar 24 10:00:00 host x: y\n"), 0);
        assert_eq!(JournalExport.sniff(b"{\"__CURSOR\":\"x\"}\n"), 0);
        assert_eq!(JournalExport.sniff(b""), 0);
    }
}
