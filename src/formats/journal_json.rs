//! The journal's JSON outputs: `journalctl -o json` (one object per line), `json-pretty`
//! (multi-line objects), `json-seq` (RS 0x1E before each object) and `json-sse` (`data: `
//! prefix, blank line after). See systemd's `docs/JOURNAL_EXPORT_FORMATS.md`, "Journal JSON
//! Format", and `update_json_data()` in `src/shared/logs-show.c`.
//!
//! Every value is a string (numbers too), `null` (a field of 4096 bytes or more without
//! `--all`), an array of byte values (non-printable data: every ANSI-coloured message), or
//! an array of those for a repeated field (its first usable value is taken). Only the
//! fields the event needs are decoded (serde visitors skip the rest without allocating);
//! strings without escapes stay spans of the source. The field mapping is the export's
//! ([`super::journal_common`]). An object's first line is parsed, its other lines (and the
//! blank lines of json-sse) are continuation; a line that does not hold a whole object is
//! unparsed, with an issue naming the JSON error.

use super::journal_common::{Embedded, Entry, Value, entry_event};
use super::{Format, Sink, line_start_where};
use crate::ingest::Source;
use crate::lines::{Lines, Terminator};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// `journalctl -o json|json-pretty|json-seq|json-sse`.
pub struct JournalJson;

/// The fields decoded; every other key is skipped.
const KEPT: &[&str] = &[
    "MESSAGE",
    "__CURSOR",
    "__REALTIME_TIMESTAMP",
    "__MONOTONIC_TIMESTAMP",
    "_SOURCE_REALTIME_TIMESTAMP",
    "_SOURCE_MONOTONIC_TIMESTAMP",
    "_HOSTNAME",
    "_BOOT_ID",
    "_PID",
    "SYSLOG_PID",
    "PRIORITY",
    "SYSLOG_IDENTIFIER",
    "_COMM",
    "UNIT",
    "USER_UNIT",
    "_SYSTEMD_UNIT",
    "_TRANSPORT",
    "MESSAGE_ID",
];

/// Pseudo-field recorded when MESSAGE is `null`.
const NULL_MESSAGE: &str = "MESSAGE=null";

/// Strips the framing of one line: RS (json-seq) or `data: ` (json-sse). Returns the
/// offset of the object's `{` in the line, if the line starts one.
fn object_start(line: &[u8]) -> Option<usize> {
    let mut i = 0;
    if line.first() == Some(&0x1e) {
        i = 1;
    } else if line.starts_with(b"data: ") {
        i = 6;
    } else if line.starts_with(b"data:") {
        i = 5;
    }
    while matches!(line.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    (line.get(i) == Some(&b'{')).then_some(i)
}

/// The kept fields of an object, in order.
type Fields<'a> = Vec<(&'static [u8], Value<'a>)>;

/// The kept field named `key`, if it is one.
fn kept(key: &[u8]) -> Option<&'static str> {
    // A match on the bytes compiles to a length switch and one comparison: this runs for
    // every key of every entry.
    let k = match key {
        b"MESSAGE" => "MESSAGE",
        b"__CURSOR" => "__CURSOR",
        b"__REALTIME_TIMESTAMP" => "__REALTIME_TIMESTAMP",
        b"__MONOTONIC_TIMESTAMP" => "__MONOTONIC_TIMESTAMP",
        b"_SOURCE_REALTIME_TIMESTAMP" => "_SOURCE_REALTIME_TIMESTAMP",
        b"_SOURCE_MONOTONIC_TIMESTAMP" => "_SOURCE_MONOTONIC_TIMESTAMP",
        b"_HOSTNAME" => "_HOSTNAME",
        b"_BOOT_ID" => "_BOOT_ID",
        b"_PID" => "_PID",
        b"SYSLOG_PID" => "SYSLOG_PID",
        b"PRIORITY" => "PRIORITY",
        b"SYSLOG_IDENTIFIER" => "SYSLOG_IDENTIFIER",
        b"_COMM" => "_COMM",
        b"UNIT" => "UNIT",
        b"USER_UNIT" => "USER_UNIT",
        b"_SYSTEMD_UNIT" => "_SYSTEMD_UNIT",
        b"_TRANSPORT" => "_TRANSPORT",
        b"MESSAGE_ID" => "MESSAGE_ID",
        _ => return None,
    };
    debug_assert!(KEPT.contains(&k));
    Some(k)
}

/// The fast path of [`decode`] for what journalctl writes nearly always: an object whose
/// values are all strings without escapes. Returns `None` on anything else (an escape,
/// a null, a byte array, a control character, invalid UTF-8 where serde_json checks it,
/// malformed JSON), and the caller decodes the object with serde_json instead, so both
/// paths give the same result.
fn decode_plain(source: &[u8], at: usize) -> Option<(Fields<'_>, usize)> {
    let b = source;
    let ws = |mut i: usize| {
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    };
    // The end of the string whose opening quote is at `i - 1`: the closing quote's offset.
    // serde_json rejects control characters in every string.
    let string_end = |i: usize| -> Option<usize> {
        let e = i + memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[e] != b'"' || b[i..e].iter().any(|&c| c < 0x20) {
            return None;
        }
        Some(e)
    };
    let mut out: Fields<'_> = Vec::with_capacity(16);
    let mut i = ws(at);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(i + 1);
    if b.get(i) == Some(&b'}') {
        return Some((out, i + 1));
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let ke = string_end(i + 1)?;
        let key = &b[i + 1..ke];
        // Keys are decoded as `str` by serde_json: they must be UTF-8.
        std::str::from_utf8(key).ok()?;
        i = ws(ke + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(i + 1);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let ve = string_end(i + 1)?;
        if let Some(k) = kept(key) {
            let v = &b[i + 1..ve];
            std::str::from_utf8(v).ok()?;
            out.push((
                k.as_bytes(),
                Value {
                    bytes: std::borrow::Cow::Borrowed(v),
                    at: Some(i + 1),
                },
            ));
        }
        i = ws(ve + 1);
        match b.get(i) {
            Some(b',') => i = ws(i + 1),
            Some(b'}') => return Some((out, i + 1)),
            _ => return None,
        }
    }
}

/// Decodes one object at the start of `source[at..]`; returns its kept fields and the
/// offset just past the object.
fn decode(source: &[u8], at: usize) -> Result<(Fields<'_>, usize), serde_json::Error> {
    match decode_plain(source, at) {
        Some(r) => Ok(r),
        None => decode_serde(source, at),
    }
}

/// [`decode`] by serde_json: every JSON the journal can write.
fn decode_serde(source: &[u8], at: usize) -> Result<(Fields<'_>, usize), serde_json::Error> {
    let mut stream = serde_json::Deserializer::from_slice(&source[at..]).into_iter::<Kept<'_>>();
    let Kept(mut fields) = match stream.next() {
        Some(r) => r?,
        None => return Err(de::Error::custom("no object")),
    };
    let end = at + stream.byte_offset();
    // Borrowed strings are bytes of the source: turn them into spans.
    let base = source.as_ptr() as usize;
    for (_, v) in &mut fields {
        if let std::borrow::Cow::Borrowed(b) = v.bytes {
            let p = b.as_ptr() as usize;
            if p >= base && p + b.len() <= base + source.len() {
                v.at = Some(p - base);
            }
        }
    }
    Ok((fields, end))
}

/// The kept fields of one object.
struct Kept<'a>(Fields<'a>);

impl<'de> de::Deserialize<'de> for Kept<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EntryVisitor).map(Kept)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Fields<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a journal entry object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(16);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match kept(key.as_bytes()) {
                Some(k) => match map.next_value_seed(ValueSeed { depth: 0 })? {
                    Item::Val(Some(v)) => out.push((k.as_bytes(), v)),
                    // journalctl writes null for a field of 4096 bytes or more (no --all)
                    Item::Val(None) if k == "MESSAGE" => {
                        out.push((NULL_MESSAGE.as_bytes(), Value::owned(Vec::new())))
                    }
                    _ => {}
                },
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A decoded JSON item: a byte of a byte array, or a value (`None` for null).
enum Item<'a> {
    Byte(u8),
    Val(Option<Value<'a>>),
}

struct ValueSeed {
    depth: u8,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Item<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Item<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, null, a byte array or an array of these")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Item<'de>, E> {
        // A string without escapes is borrowed from the input; `decode` makes it a span.
        Ok(Item::Val(Some(Value {
            bytes: std::borrow::Cow::Borrowed(s.as_bytes()),
            at: None,
        })))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Item<'de>, E> {
        Ok(Item::Val(Some(Value::owned(s.as_bytes().to_vec()))))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Item<'de>, E> {
        // Bytes of a byte array; a bare number (not what journalctl writes) as its text.
        if self.depth > 0 && n <= 255 {
            Ok(Item::Byte(n as u8))
        } else {
            Ok(Item::Val(Some(Value::owned(n.to_string().into_bytes()))))
        }
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Item<'de>, E> {
        Ok(Item::Val(Some(Value::owned(n.to_string().into_bytes()))))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Item<'de>, E> {
        Ok(Item::Val(Some(Value::owned(n.to_string().into_bytes()))))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Item<'de>, E> {
        Ok(Item::Val(Some(Value::owned(b.to_string().into_bytes()))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Item<'de>, E> {
        Ok(Item::Val(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Item<'de>, E> {
        Ok(Item::Val(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Item::Val(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item<'de>, A::Error> {
        // Either a byte array, or (a repeated field) an array of values: take the first.
        let mut bytes = Vec::new();
        let mut first: Option<Value<'de>> = None;
        let mut all_bytes = true;
        if self.depth >= 2 {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Item::Val(None));
        }
        while let Some(item) = seq.next_element_seed(ValueSeed {
            depth: self.depth + 1,
        })? {
            match item {
                Item::Byte(b) => bytes.push(b),
                Item::Val(v) => {
                    all_bytes = false;
                    if first.is_none() {
                        first = v;
                    }
                }
            }
        }
        if all_bytes {
            Ok(Item::Val(Some(Value::owned(bytes))))
        } else {
            Ok(Item::Val(first))
        }
    }
}

impl Format for JournalJson {
    fn name(&self) -> &'static str {
        "journal-json"
    }
    fn description(&self) -> &'static str {
        "systemd journal JSON (journalctl -o json, json-pretty, json-seq, json-sse)"
    }
    fn sniff(&self, sample: &[u8]) -> u8 {
        let mut objects = 0;
        let mut other = 0;
        let mut journal = false;
        for line in Lines::new(sample, Terminator::Lf).take(400) {
            let t = crate::lines::trim(line.text);
            if t.is_empty() {
                continue;
            }
            if object_start(t).is_some() {
                objects += 1;
            } else if t[0].is_ascii_alphabetic() {
                // json-pretty's member, byte and bracket lines start with `"`, a digit or
                // punctuation; prose starts with a letter.
                other += 1;
            }
        }
        for key in [
            &b"\"__CURSOR\""[..],
            b"\"__REALTIME_TIMESTAMP\"",
            b"\"_BOOT_ID\"",
        ] {
            if memchr::memmem::find(sample, key).is_some() {
                journal = true;
            }
        }
        if objects == 0 || other > objects {
            return 0;
        }
        if journal { 95 } else { 0 }
    }
    fn split(&self, bytes: &[u8], near: usize) -> Option<usize> {
        // An object starts on a line whose first byte is `{`, RS or `data:`; member and
        // byte lines of json-pretty are indented, and strings cannot hold a raw newline.
        line_start_where(bytes, near, |t| {
            t.first() == Some(&b'{') || t.first() == Some(&0x1e) || t.starts_with(b"data:")
        })
    }
    fn parse(&self, src: &Source, sink: &mut Sink<'_>) {
        let bytes: &[u8] = &src.bytes;
        let mut emb = Embedded::default();
        let mut warned_null = false;
        let mut lines = sink.lines();
        let end_of_range = sink.range.end;
        while let Some(line) = lines.next() {
            let t = line.text;
            if crate::lines::trim(t).is_empty() || t == b"\x1e" {
                sink.blank(1);
                continue;
            }
            let Some(at) = object_start(t) else {
                sink.unparsed(&line, "not a JSON object");
                continue;
            };
            match decode(bytes, line.start + at) {
                Ok((fields, end)) => {
                    if end > end_of_range {
                        // An object reaching into the next chunk: that chunk was split
                        // at a line inside it.
                        sink.overran = true;
                    }
                    // Consume the lines the object spans (json-pretty).
                    let mut last = line.no;
                    while lines.position() < end {
                        match lines.next() {
                            Some(l) => last = l.no,
                            None => break,
                        }
                    }
                    let entry = Entry {
                        fields,
                        line: line.no,
                        end_line: last,
                        offset: line.start,
                    };
                    if entry.is_record() {
                        if !warned_null && entry.get(NULL_MESSAGE).is_some() {
                            warned_null = true;
                            sink.issue_once(
                                NULL_MESSAGE,
                                line.no,
                                line.start,
                                "message is null: journalctl drops fields of 4096 bytes or more unless run with --all",
                            );
                        }
                        let (ev, ident) = entry_event(&entry, sink);
                        emb.emit(sink, ev, ident);
                    } else {
                        sink.unparsed_lines(line.no, t, u64::from(last - line.no) + 1);
                    }
                }
                Err(e) => {
                    // serde_json's position is relative to the object; the issue carries
                    // the object's own line and byte offset instead.
                    let e = e.to_string();
                    let what = e.split(" at line ").next().unwrap_or(&e);
                    sink.issue(
                        line.no,
                        line.start,
                        format!("not a journal JSON object: {what}"),
                    );
                    sink.unparsed(&line, "bad JSON");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ClockMethod, Severity};
    use crate::formats::parse_source;

    const LINE: &str = r#"{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1774346400123456","__MONOTONIC_TIMESTAMP":"5000000","_BOOT_ID":"0123456789abcdef0123456789abcdef","_HOSTNAME":"runner1","PRIORITY":"6","_PID":"900","SYSLOG_IDENTIFIER":"gitlab-runner","_SYSTEMD_UNIT":"gitlab-runner.service","MESSAGE":[27,91,51,49,109,69,27,91,48,109,32,120],"_CMDLINE":"/usr/bin/gitlab-runner run","LARGE":null,"_UDEV_DEVLINK":["/a","/b"]}"#;

    #[test]
    fn one_object_per_line_with_byte_array_message() {
        let src = Source::from_bytes(0, "j", format!("{LINE}\n{LINE}\n").into_bytes());
        let p = parse_source(&src, None);
        assert_eq!(crate::formats::name_of(p.format.unwrap()), "journal-json");
        assert_eq!(p.events.len(), 2);
        let e = &p.events[0];
        assert_eq!(e.message.bytes(&src.bytes), b"E x");
        assert_eq!(e.time, 1_774_346_400_123_456_000);
        assert_eq!(e.clock, ClockMethod::Exact);
        assert_eq!(e.severity, Severity::Info);
        assert_eq!(p.atoms.get(e.unit), "gitlab-runner.service");
        assert_eq!(p.atoms.get(e.host), "runner1");
        // a clean string stays a span
        assert!(matches!(
            e.fields
                .iter()
                .find(|(k, _)| p.atoms.get(*k) == "identifier")
                .unwrap()
                .1,
            crate::event::Text::Span { .. }
        ));
        assert_eq!(p.counts.total(), 2);
    }

    #[test]
    fn pretty_seq_and_sse_framing_and_repeated_fields() {
        let pretty = "{\n\t\"__REALTIME_TIMESTAMP\" : \"1774346400000000\",\n\t\"MESSAGE\" : [ \"first \\\"q\\\"\", \"second\" ],\n\t\"_PID\" : \"7\"\n}\n";
        let seq = format!("\x1e{LINE}\n");
        let sse = format!("data: {LINE}\n\n");
        let src = Source::from_bytes(0, "j", format!("{pretty}{seq}{sse}").into_bytes());
        let p = parse_source(
            &src,
            Some(crate::formats::by_name("journal-json").unwrap().0),
        );
        assert_eq!(p.events.len(), 3, "{:?}", p.issues);
        assert_eq!(p.events[0].line, 1);
        assert_eq!(p.events[0].end_line, 5);
        assert_eq!(p.events[0].message.bytes(&src.bytes), b"first \"q\"");
        assert_eq!(p.events[1].line, 6);
        assert_eq!(p.events[2].line, 7);
        assert_eq!(p.counts.parsed, 3);
        assert_eq!(p.counts.continuation, 5);
        assert_eq!(p.counts.total(), src.lines);
    }

    #[test]
    fn broken_object_is_unparsed_with_the_json_error() {
        let src = Source::from_bytes(0, "j", b"{\"MESSAGE\":\"a\",\n".to_vec());
        let p = parse_source(
            &src,
            Some(crate::formats::by_name("journal-json").unwrap().0),
        );
        assert_eq!(p.counts.unparsed, 1);
        assert_eq!(
            p.issues[0].message,
            "not a journal JSON object: EOF while parsing a value"
        );
        let src = Source::from_bytes(0, "j", b"{\"a\":1}\nplain text\n".to_vec());
        let p = parse_source(
            &src,
            Some(crate::formats::by_name("journal-json").unwrap().0),
        );
        assert_eq!(p.counts.unparsed, 2);
        assert!(p.events.is_empty());
    }

    #[test]
    fn null_message_is_reported_once() {
        let l = r#"{"__REALTIME_TIMESTAMP":"1774346400000000","_HOSTNAME":"h","MESSAGE":null}"#;
        let src = Source::from_bytes(0, "j", format!("{l}\n{l}\n").into_bytes());
        let p = parse_source(
            &src,
            Some(crate::formats::by_name("journal-json").unwrap().0),
        );
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.events[0].message.bytes(&src.bytes), b"");
        assert_eq!(p.issues.len(), 1);
        assert_eq!(p.issues[0].line, Some(1));
        assert_eq!(
            p.issues[0].message,
            "message is null: journalctl drops fields of 4096 bytes or more unless run with --all"
        );
    }

    /// The fast path gives what serde_json gives, or declines.
    #[test]
    fn plain_objects_decode_as_serde_decodes_them() {
        let cases: &[&[u8]] = &[
            LINE.as_bytes(),
            br#"{"MESSAGE":"hello","_PID":"7","X":"y"}"#,
            b"{ \"MESSAGE\" : \"a\" ,\n\t\"_HOSTNAME\":\"h\" }",
            br#"{}"#,
            br#"{"MESSAGE":"dup","MESSAGE":"again"}"#,
            br#"{"MESSAGE":"esc \" q","_PID":"1"}"#,
            br#"{"MESSAGE":null}"#,
            br#"{"MESSAGE":[104,105]}"#,
            br#"{"MESSAGE":"a",}"#,
            br#"{"MESSAGE":"a""#,
            b"{\"MESSAGE\":\"tab\there\"}",
            b"{\"MESSAGE\":\"bad \xff utf8\"}",
            b"{\"OTHER\":\"bad \xff utf8\",\"MESSAGE\":\"x\"}",
            b"{\"K\xff\":\"v\"}",
            br#"{"_PID":7}"#,
        ];
        let show = |r: Result<(Fields<'_>, usize), serde_json::Error>| match r {
            Ok((f, end)) => format!(
                "{:?} {end}",
                f.iter()
                    .map(|(k, v)| (
                        String::from_utf8_lossy(k).into_owned(),
                        v.bytes.to_vec(),
                        v.at
                    ))
                    .collect::<Vec<_>>()
            ),
            Err(e) => format!("error {e}"),
        };
        let mut fast = 0;
        for c in cases {
            let mut src = b"  ".to_vec();
            src.extend_from_slice(c);
            src.extend_from_slice(b"\nnext");
            if let Some(r) = decode_plain(&src, 2) {
                fast += 1;
                assert_eq!(
                    show(Ok(r)),
                    show(decode_serde(&src, 2)),
                    "{}",
                    String::from_utf8_lossy(c)
                );
            }
            assert_eq!(show(decode(&src, 2)), show(decode_serde(&src, 2)));
        }
        // The fast path took the plain ones and declined the rest.
        assert_eq!(fast, 5);
    }

    #[test]
    fn sniff_needs_journal_keys() {
        assert_eq!(JournalJson.sniff(LINE.as_bytes()), 95);
        assert_eq!(
            JournalJson.sniff(b"{\"level\":\"info\",\"msg\":\"x\"}\n"),
            0
        );
        assert_eq!(
            JournalJson.sniff(b"__CURSOR=x\n__REALTIME_TIMESTAMP=1\n"),
            0
        );
    }
}
