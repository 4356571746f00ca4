//! atticd's own log (formats.md section 3): Rust `tracing-subscriber` Full fmt lines
//! (`2026-03-25T10:00:00.123456Z ERROR attic_server::error: message key=value`, level
//! right-aligned in 5 columns, always UTC), with or without ANSI colour, with span prefixes
//! (`span{a=1}:span2: target: msg`); the SpanTrace lines that `ServerError`'s Display
//! appends after an error (`   0: target::span`, `           with …`, `             at …`),
//! folded into their event; the bare stderr lines without timestamp (`Attic Server 0.1.0
//! (release)`, `Running migrations...`, `Listening on [::]:8080...`) as events with
//! [`ClockMethod::Missing`] for the clock stage to interpolate; and Rust's `Error: …` /
//! `Caused by:` blocks.
//!
//! Fields: `level`, `target`, `spans`, the tracing key=values `classification`, `latency`,
//! `e`, `error`, `status`, `method`, `uri`, and `listen`. The same parsing runs on journal
//! messages of ident `atticd` through [`Format::refine`] and [`Format::is_continuation`].
//!
//! The attic CLIENT's output (`attic push`, `attic use`, section 3.8) is not a file format of
//! its own: it appears inside job traces and terminal transcripts, so [`classify_client`] is
//! a line classifier the `nix` transcript and `gitlab-trace` parsers call.

use super::nix::{Class, Clean, KeyAtoms, Pending, add_fields};
use super::{Format, Refined, Sink};
use crate::event::{ClockMethod, Event, Severity, Text};
use crate::ingest::Source;
use crate::lines::{Lines, Terminator};
use std::ops::Range;

/// atticd (Rust tracing fmt output).
pub struct Atticd;

/// One parsed tracing fmt line (ranges into the ANSI-free text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracingLine {
    /// UTC ns.
    pub time: i64,
    /// Severity from the level.
    pub severity: Severity,
    /// Fields: `level`, `spans`, `target`, and the known key=values of the message.
    pub fields: Vec<(&'static str, Range<usize>)>,
    /// Where the message begins.
    pub msg_start: usize,
}

/// Keys of tracing fields worth keeping (tower-http's `classification`, `latency`, `status`;
/// attic's `%e`).
const KEYS: &[&str] = &[
    "classification",
    "latency",
    "e",
    "error",
    "status",
    "method",
    "uri",
    "version",
];

fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn target_shaped(t: &[u8]) -> bool {
    !t.is_empty() && t.iter().all(|&c| ident_char(c) || c == b':')
}

/// Parses a tracing fmt line (ANSI already stripped).
pub fn parse_tracing(b: &[u8]) -> Option<TracingLine> {
    let mut fields = Vec::with_capacity(6);
    let (time, severity, msg_start) = parse_tracing_into(b, &mut fields)?;
    Some(TracingLine {
        time,
        severity,
        fields,
        msg_start,
    })
}

/// [`parse_tracing`] with the fields in `fields` (emptied first, so that a file's lines
/// share one list): the time, severity and message start.
fn parse_tracing_into(
    b: &[u8],
    fields: &mut Vec<(&'static str, Range<usize>)>,
) -> Option<(i64, Severity, usize)> {
    fields.clear();
    let (time, used) = crate::time::parse_rfc3339(b)?;
    let mut p = used;
    if b.get(p) != Some(&b' ') {
        return None;
    }
    while b.get(p) == Some(&b' ') {
        p += 1;
    }
    let ls = p;
    while p < b.len() && b[p].is_ascii_uppercase() {
        p += 1;
    }
    let severity = match &b[ls..p] {
        b"ERROR" => Severity::Err,
        b"WARN" => Severity::Warning,
        b"INFO" => Severity::Info,
        b"DEBUG" | b"TRACE" => Severity::Debug,
        _ => return None,
    };
    fields.push(("level", ls..p));
    if p < b.len() && b[p] != b' ' {
        return None;
    }
    while b.get(p) == Some(&b' ') {
        p += 1;
    }
    // First token (spaces inside `{…}` belong to the span fields).
    let tok = |from: usize| -> usize {
        let mut depth = 0i32;
        let mut i = from;
        while i < b.len() {
            match b[i] {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                b' ' if depth <= 0 => break,
                _ => {}
            }
            i += 1;
        }
        i
    };
    let t1 = tok(p);
    if t1 > p && b[t1 - 1] == b':' && t1 < b.len() {
        let first = &b[p..t1 - 1];
        let n2 = t1 + 1;
        let t2 = tok(n2);
        let second_target =
            t2 > n2 + 1 && b[t2 - 1] == b':' && target_shaped(&b[n2..t2 - 1]) && t2 < b.len();
        // `single_colon` scans the whole token: only when there is no `{` to go by.
        let is_spans = memchr::memchr(b'{', first).is_some()
            || single_colon(first)
            || (second_target
                && memchr::memmem::find(first, b"::").is_none()
                && memchr::memmem::find(&b[n2..t2 - 1], b"::").is_some());
        if is_spans && second_target {
            fields.push(("spans", p..t1 - 1));
            fields.push(("target", n2..t2 - 1));
            p = t2 + 1;
        } else if is_spans {
            fields.push(("spans", p..t1 - 1));
            p = t1 + 1;
        } else if target_shaped(first) {
            fields.push(("target", p..t1 - 1));
            p = t1 + 1;
        }
    }
    let msg_start = p.min(b.len());
    key_values(b, msg_start, fields);
    Some((time, severity, msg_start))
}

/// True when `t` contains a `:` that is not part of `::` (a span list `a:b`).
fn single_colon(t: &[u8]) -> bool {
    let mut i = 0;
    let mut depth = 0;
    while i < t.len() {
        match t[i] {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b':' if depth == 0 => {
                if t.get(i + 1) == Some(&b':') {
                    i += 2;
                    continue;
                }
                return true;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Collects the tracing fields written after the message (` key=value`, values may hold
/// spaces: tower-http writes `classification=Status code: 500 Internal Server Error`). A
/// value runs to the next ` ident=`.
fn key_values(b: &[u8], from: usize, out: &mut Vec<(&'static str, Range<usize>)>) {
    // A value runs to the space before the next key: each key is taken when the next is
    // found (no list of keys per line).
    let value =
        |(ks, eq): (usize, usize), end: usize, out: &mut Vec<(&'static str, Range<usize>)>| {
            let Some(name) = KEYS.iter().find(|k| k.as_bytes() == &b[ks..eq]) else {
                return;
            };
            let mut vs = eq + 1;
            let mut ve = end;
            if ve > vs + 1 && b[vs] == b'"' && b[ve - 1] == b'"' {
                vs += 1;
                ve -= 1;
            }
            if !out.iter().any(|(k, _)| k == name) {
                out.push((name, vs..ve));
            }
        };
    let mut last: Option<(usize, usize)> = None; // (key start, '=' index)
    let mut i = from;
    while let Some(j) = memchr::memchr(b' ', &b[i.min(b.len())..]) {
        let ks = i + j + 1;
        let mut k = ks;
        while k < b.len() && (ident_char(b[k]) || b[k] == b'.') {
            k += 1;
        }
        if k > ks && b.get(k) == Some(&b'=') {
            if let Some(key) = last {
                value(key, ks - 1, out);
            }
            last = Some((ks, k));
        }
        i = ks;
    }
    if let Some(key) = last {
        value(key, b.len(), out);
    }
}

/// One tracing-subscriber JSON line (`{"timestamp":…,"level":"ERROR","fields":{"message":…},
/// "target":…}`), decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonLine {
    /// UTC ns.
    pub time: i64,
    /// Severity from `level`.
    pub severity: Severity,
    /// `fields.message`.
    pub message: String,
    /// `level`, `target`, `spans` (span names joined with `:`), and the known fields.
    pub fields: Vec<(&'static str, String)>,
}

/// Parses a tracing-subscriber JSON line. atticd itself has no JSON switch (formats.md
/// 3.1), but builds with `.json()` and other Rust services write this shape.
pub fn parse_json(b: &[u8]) -> Option<JsonLine> {
    if b.first() != Some(&b'{') || memchr::memmem::find(b, b"\"fields\"").is_none() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(b).ok()?;
    let o = v.as_object()?;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let ts = o.get("timestamp")?.as_str()?;
    let (time, _) = crate::time::parse_rfc3339(ts.as_bytes())?;
    let level = o.get("level")?.as_str()?;
    let severity = Severity::from_word(level.as_bytes());
    let f = o.get("fields")?.as_object()?;
    let message = f.get("message").map(text).unwrap_or_default();
    let mut fields = vec![("level", level.to_string())];
    if let Some(t) = o.get("target").and_then(|t| t.as_str()) {
        fields.push(("target", t.to_string()));
    }
    if let Some(spans) = o.get("spans").and_then(|s| s.as_array()) {
        let names: Vec<&str> = spans
            .iter()
            .filter_map(|s| s.get("name").and_then(|n| n.as_str()))
            .collect();
        if !names.is_empty() {
            fields.push(("spans", names.join(":")));
        }
    }
    for k in KEYS {
        if let Some(v) = f.get(*k) {
            fields.push((k, text(v)));
        }
    }
    Some(JsonLine {
        time,
        severity,
        message,
        fields,
    })
}

/// True for a SpanTrace line (tracing-error `{:>4}: target::name`, `\n           with
/// fields`, `\n             at file:line`) or a line of a Rust `Caused by:` chain.
pub fn is_span_trace(b: &[u8]) -> bool {
    let t = b.trim_ascii_start();
    let indent = b.len() - t.len();
    if t.starts_with(b"Caused by:") || t.starts_with(b"Stack backtrace:") {
        return true;
    }
    if indent == 0 {
        return false;
    }
    if t.starts_with(b"with ") || t.starts_with(b"at ") {
        return indent >= 4;
    }
    let d = t.iter().take_while(|c| c.is_ascii_digit()).count();
    d > 0 && t[d..].starts_with(b": ")
}

/// The bare stderr lines of `atticd` (section 3.3). Returns (severity, `listen` range).
pub fn bare_line(t: &[u8]) -> Option<(Severity, Option<Range<usize>>)> {
    if t.starts_with(b"Listening on ") {
        let e = if t.ends_with(b"...") {
            t.len() - 3
        } else {
            t.len()
        };
        return Some((Severity::Info, Some(13..e.max(13))));
    }
    if t.starts_with(b"Error: ") {
        return Some((Severity::Err, None));
    }
    const KNOWN: &[&str] = &[
        "Attic Server ",
        "Running migrations...",
        "Starting API server...",
        "Received SIGTERM, exiting gracefully...",
        "Received SIGINT, exiting gracefully...",
        "Note: tokio-console is enabled",
        "* Migrating NAR",
        "Welcome to Attic!",
    ];
    KNOWN
        .iter()
        .any(|k| t.starts_with(k.as_bytes()))
        .then_some((Severity::Info, None))
}

/// Classifies a line of the attic client (`attic push`, `attic login`, `attic use`,
/// `attic cache`; formats.md 3.8). Fields: `store_path` (a base name), `error`, `cache`,
/// `server`, `url`.
pub fn classify_client(t: &[u8]) -> Option<Class> {
    let mut c = Class {
        unit: "attic",
        severity: Severity::Info,
        ..Class::default()
    };
    let after = |p: &str| t.strip_prefix(p.as_bytes()).map(|_| p.len());
    let quoted_pair = |c: &mut Class, from: usize| {
        if let Some(i) = memchr::memmem::find(&t[from..], b"\"")
            && let Some((r, e)) = super::nix::quoted(t, from + i)
        {
            c.fields.push(("cache", r));
            if let Some(j) = memchr::memmem::find(&t[e..], b" on ")
                && let Some((r2, _)) = super::nix::quoted(t, e + j + 4)
            {
                c.fields.push(("server", r2));
            }
        }
    };
    if let Some(s) = after("❌ ") {
        c.severity = Severity::Err;
        if let Some(i) = memchr::memmem::find(&t[s..], b": ") {
            c.fields.push(("store_path", s..s + i));
            c.fields
                .push(("error", s + i + 2..t.trim_ascii_end().len()));
        }
    } else if let Some(s) = after("✅ ") {
        if t[s..].starts_with(b"Configured ") {
            quoted_pair(&mut c, s);
        } else if !t[s..].starts_with(b"All done") {
            let e = memchr::memmem::find(&t[s..], b" (").map_or(t.len(), |i| s + i);
            c.fields.push(("store_path", s..e));
        }
    } else if t.starts_with("⚙".as_bytes()) && memchr::memmem::find(t, b"Pushing ").is_some() {
        let s = memchr::memmem::find(t, b" to ").map_or(0, |i| i + 4);
        quoted_pair(&mut c, s);
    } else if let Some(s) = after("Error: ").or_else(|| after("Error during watch: ")) {
        c.severity = Severity::Err;
        c.fields.push(("error", s..t.trim_ascii_end().len()));
    } else if let Some(s) =
        after("✍️ Configuring server ").or_else(|| after("✍️ Overwriting server "))
    {
        if let Some((r, _)) = super::nix::quoted(t, s) {
            c.fields.push(("server", r));
        }
    } else if let Some(s) = after("Configuring Nix to use ").or_else(|| after("✨ Created cache "))
    {
        quoted_pair(&mut c, s);
    } else if let Some(s) = after("+ Substituter: ") {
        c.fields.push(("url", s..t.trim_ascii_end().len()));
    } else if t.starts_with("🤷 ".as_bytes()) {
        c.severity = Severity::Warning;
    } else {
        return None;
    }
    Some(c)
}

enum Open {
    None,
    Event,
    ErrorBlock,
}

/// True for the journal identifiers atticd writes under.
fn is_atticd(ident: &str) -> bool {
    ident == "atticd" || ident == "attic-server"
}

impl Format for Atticd {
    fn name(&self) -> &'static str {
        "atticd"
    }
    fn description(&self) -> &'static str {
        "atticd (Rust tracing fmt output, with span traces and bare stderr startup lines)"
    }
    fn sniff(&self, sample: &[u8]) -> u8 {
        let (mut n, mut tracing, mut bare) = (0u32, 0u32, 0u32);
        for line in Lines::new(sample, Terminator::detect(sample)).take(200) {
            let c = Clean::new(line.text, line.start, false);
            let b = &c.b[super::gitlab_runner::compose_prefix(&c.b)..];
            if b.trim_ascii().is_empty() || is_span_trace(b) {
                continue;
            }
            n += 1;
            if parse_tracing(b).is_some_and(|t| t.fields.len() >= 2) || parse_json(b).is_some() {
                tracing += 1;
            } else if b.starts_with(b"Attic Server ") || b.starts_with(b"Listening on [") {
                bare += 1;
            }
        }
        if tracing == 0 && bare == 0 {
            return 0;
        }
        // A tracing timestamp + padded level + target at line start is strong evidence.
        let share = (tracing + bare) * 100 / n.max(1);
        if tracing > 0 && share >= 50 {
            90
        } else if share >= 30 {
            60
        } else {
            25
        }
    }
    fn parse(&self, src: &Source, sink: &mut Sink<'_>) {
        let unit = sink.atoms.intern("atticd");
        let mut open = Open::None;
        let mut pending = Pending::default();
        sink.reserve_events(1);
        // Reused for every coloured line (no allocation per line; see Clean::with_buffers),
        // and for every tracing line's field list.
        let (mut buf, mut runs) = (Vec::new(), Vec::new());
        let mut tracing_fields = Vec::new();
        let mut keys = KeyAtoms::default();
        for line in Lines::new(&src.bytes, src.terminator) {
            let c = Clean::with_buffers(line.text, line.start, &mut buf, &mut runs);
            // `docker compose logs` prefixes every line with `service  | `.
            let o = super::gitlab_runner::compose_prefix(&c.b);
            let b = &c.b[o..];
            if b.trim_ascii().is_empty() {
                sink.blank(1);
                continue;
            }
            let mut ev = Event {
                line: line.no,
                end_line: line.no,
                offset: line.start as u64,
                unit,
                ..Event::default()
            };
            if let Some(j) = parse_json(b) {
                ev.time = j.time;
                ev.clock = ClockMethod::Exact;
                ev.severity = j.severity;
                ev.message = Text::Owned(j.message.into());
                for (k, v) in j.fields {
                    let a = sink.atoms.intern(k);
                    sink.fields.push(&mut ev.fields, a, Text::Owned(v.into()));
                }
                sink.push(ev);
                open = Open::None;
                continue;
            }
            if let Some((time, severity, msg_start)) = parse_tracing_into(b, &mut tracing_fields) {
                ev.time = time;
                ev.clock = ClockMethod::Exact;
                ev.severity = severity;
                ev.message = c.text(o + msg_start..c.b.len());
                add_fields(sink, &mut ev.fields, &mut keys, &c, o, &tracing_fields);
                sink.push(ev);
                open = Open::Event;
                continue;
            }
            let cont = match open {
                Open::None => false,
                Open::Event => is_span_trace(b),
                Open::ErrorBlock => is_span_trace(b) || matches!(b[0], b' ' | b'\t'),
            };
            if cont {
                if sink.continue_last(&line).is_some() {
                    pending.append(&mut sink.events, &src.bytes, "\n", b);
                }
                continue;
            }
            if let Some((sev, listen)) = bare_line(b) {
                ev.severity = sev;
                ev.message = c.text(o..c.b.len());
                if let Some(r) = listen {
                    add_fields(sink, &mut ev.fields, &mut keys, &c, o, &[("listen", r)]);
                }
                open = if sev == Severity::Err {
                    Open::ErrorBlock
                } else {
                    Open::None
                };
                sink.push(ev);
                continue;
            }
            // Other stderr text (banners, panics): kept as undated events; control bytes
            // mean the file is not text.
            if b.iter().any(|&c| c < 0x20 && c != b'\t') || b[0] == b' ' {
                sink.unparsed(&line, "not an atticd line");
                open = Open::None;
                continue;
            }
            if b.starts_with(b"thread '") && memchr::memmem::find(b, b"panicked").is_some() {
                ev.severity = Severity::Crit;
                open = Open::ErrorBlock;
            } else {
                open = Open::None;
            }
            ev.message = c.text(o..c.b.len());
            sink.push(ev);
        }
        pending.flush(&mut sink.events);
    }
    fn embeds(&self, ident: &str) -> bool {
        is_atticd(ident)
    }
    fn refine(&self, ident: &str, msg: &[u8]) -> Option<Refined> {
        if !is_atticd(ident) {
            return None;
        }
        let st = crate::text::Stripped::new(msg);
        let clean = &st.text;
        if let Some(j) = parse_json(clean) {
            // Decoded JSON has no byte ranges in the message: severity and time only.
            return Some(Refined {
                severity: Some(j.severity),
                time: Some(j.time),
                message_start: 0,
                fields: Vec::new(),
            });
        }
        if let Some(t) = parse_tracing(clean) {
            return Some(Refined {
                severity: Some(t.severity),
                time: Some(t.time),
                message_start: st.raw(t.msg_start),
                fields: t
                    .fields
                    .into_iter()
                    .map(|(k, r)| (k, st.raw_range(r)))
                    .collect(),
            });
        }
        let (sev, listen) = bare_line(clean)?;
        Some(Refined {
            severity: Some(sev),
            time: None,
            message_start: 0,
            fields: listen
                .map(|r| vec![("listen", st.raw_range(r))])
                .unwrap_or_default(),
        })
    }
    fn is_continuation(&self, ident: &str, msg: &[u8]) -> bool {
        is_atticd(ident) && is_span_trace(&crate::text::strip_ansi(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f<'a>(b: &'a [u8], fields: &[(&'static str, Range<usize>)], k: &str) -> Option<&'a str> {
        fields
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, r)| std::str::from_utf8(&b[r.clone()]).unwrap())
    }

    #[test]
    fn full_line_with_tower_http_fields() {
        let l = b"2026-03-24T10:00:00.123456Z ERROR tower_http::trace::on_failure: response failed classification=Status code: 500 Internal Server Error latency=12 ms";
        let t = parse_tracing(l).unwrap();
        assert_eq!(t.severity, Severity::Err);
        assert_eq!(f(l, &t.fields, "level"), Some("ERROR"));
        assert_eq!(
            f(l, &t.fields, "target"),
            Some("tower_http::trace::on_failure")
        );
        assert_eq!(
            f(l, &t.fields, "classification"),
            Some("Status code: 500 Internal Server Error")
        );
        assert_eq!(f(l, &t.fields, "latency"), Some("12 ms"));
        assert!(l[t.msg_start..].starts_with(b"response failed"));
    }

    #[test]
    fn spans_and_padded_level() {
        let l =
            b"2022-02-15T18:40:14.289974Z  INFO shaving_yaks{yaks=3}: fmt::yak_shave: shaving yaks";
        let t = parse_tracing(l).unwrap();
        assert_eq!(t.severity, Severity::Info);
        assert_eq!(f(l, &t.fields, "spans"), Some("shaving_yaks{yaks=3}"));
        assert_eq!(f(l, &t.fields, "target"), Some("fmt::yak_shave"));
        assert_eq!(&l[t.msg_start..], b"shaving yaks");
        let l = b"2026-03-25T10:00:00.000001Z  WARN request{method=PUT uri=/_api/v1/upload-path version=HTTP/1.1}:upload_path: attic_server::api::v1::upload_path: Error occurred - Cleaning up NAR entry";
        let t = parse_tracing(l).unwrap();
        assert_eq!(
            f(l, &t.fields, "target"),
            Some("attic_server::api::v1::upload_path")
        );
        assert_eq!(&l[t.msg_start..], b"Error occurred - Cleaning up NAR entry");
    }

    #[test]
    fn error_with_colon_message_keeps_target() {
        let l = b"2024-02-16T21:13:44.884923Z ERROR attic_server::error: Database error: Query Error: disk I/O error";
        let t = parse_tracing(l).unwrap();
        assert_eq!(f(l, &t.fields, "target"), Some("attic_server::error"));
        assert_eq!(f(l, &t.fields, "spans"), None);
        assert!(l[t.msg_start..].starts_with(b"Database error:"));
        let l = b"2026-03-25T10:00:00.1Z ERROR attic_server::api::binary_cache: Stream error e=Storage error: dispatch failure";
        let t = parse_tracing(l).unwrap();
        assert_eq!(
            f(l, &t.fields, "e"),
            Some("Storage error: dispatch failure")
        );
    }

    #[test]
    fn json_lines() {
        let l = br#"{"timestamp":"2026-03-25T10:00:00.123456Z","level":"ERROR","fields":{"message":"response failed","classification":"Status code: 502 Bad Gateway","latency":"3 ms"},"target":"tower_http::trace::on_failure","span":{"method":"GET","name":"request"},"spans":[{"method":"GET","name":"request"}]}"#;
        let j = parse_json(l).unwrap();
        assert_eq!(j.severity, Severity::Err);
        assert_eq!(j.time, 1_774_432_800_123_456_000);
        assert_eq!(j.message, "response failed");
        let get = |k: &str| {
            j.fields
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("target"), Some("tower_http::trace::on_failure"));
        assert_eq!(get("spans"), Some("request"));
        assert_eq!(get("classification"), Some("Status code: 502 Bad Gateway"));
        assert!(
            parse_json(br#"{"level":"warning","msg":"x","time":"2026-03-25T10:00:00Z"}"#).is_none()
        );
        assert!(parse_json(br#"{"fields":{}, broken"#).is_none());
    }

    #[test]
    fn rejects_non_tracing() {
        assert!(parse_tracing(b"2026-03-25T10:00:00Z NOTICE x: y").is_none());
        assert!(parse_tracing(b"2026-03-25T10:00:00 ERROR x: y").is_none());
        assert!(parse_tracing(b"Running migrations...").is_none());
    }

    #[test]
    fn span_trace_lines() {
        assert!(is_span_trace(
            b"   0: attic_server::api::binary_cache::get_nar"
        ));
        assert!(is_span_trace(
            b"             at server/src/api/binary_cache.rs:167"
        ));
        assert!(is_span_trace(
            b"           with method=GET uri=/x version=HTTP/1.1"
        ));
        assert!(is_span_trace(b"Caused by:"));
        assert!(!is_span_trace(b"at the start"));
        assert!(!is_span_trace(b"0: no indent"));
    }

    #[test]
    fn refine_with_ansi_maps_to_raw_offsets() {
        let m = b"\x1b[2m2026-03-25T10:00:00.123456Z\x1b[0m \x1b[31mERROR\x1b[0m \x1b[2mattic_server::error\x1b[0m\x1b[2m:\x1b[0m Storage error: identity resolver timed out after 5s";
        let r = Atticd.refine("atticd", m).unwrap();
        assert_eq!(r.severity, Some(Severity::Err));
        assert_eq!(r.time, Some(1_774_432_800_123_456_000));
        assert!(m[r.message_start..].starts_with(b"Storage error"));
        let t = r.fields.iter().find(|(k, _)| *k == "target").unwrap();
        assert_eq!(&m[t.1.clone()], b"attic_server::error");
        let r = Atticd
            .refine("atticd", b"Listening on [::]:8080...")
            .unwrap();
        assert_eq!(r.time, None);
        assert_eq!(r.fields, vec![("listen", 13..22)]);
        assert!(Atticd.refine("sshd", b"Listening on [::]:22...").is_none());
        assert!(Atticd.is_continuation("atticd", b"   1: tower_http::trace::make_span::request"));
        assert!(!Atticd.is_continuation("atticd", b"Running migrations..."));
    }

    #[test]
    fn coloured_request_lines_keep_verbatim_pieces_as_spans() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/atticd/tower-http-requests-ansi.log"
        );
        let src = Source::from_bytes(0, path, std::fs::read(path).unwrap());
        let p = crate::formats::parse_source(&src, None);
        assert_eq!(crate::formats::name_of(p.format.unwrap()), "atticd");
        assert_eq!(p.counts.total(), src.lines);
        assert_eq!((p.counts.unparsed, p.events.len()), (0, 29));
        let field = |ev: &Event, k: &str| {
            let a = p.atoms.find(k).unwrap();
            p.fields
                .get(ev.fields)
                .iter()
                .find(|(n, _)| *n == a)
                .map(|(_, t)| t.clone())
        };
        let is_span = |t: &Text| matches!(t, Text::Span { .. });
        // Text from one piece between escapes is a span; spans never hold an escape.
        let req = &p.events[4];
        assert!(is_span(&req.message), "{:?}", req.message);
        assert_eq!(req.message.bytes(&src.bytes), b"started processing request");
        let target = field(req, "target").unwrap();
        assert!(is_span(&target));
        assert_eq!(target.bytes(&src.bytes), b"tower_http::trace::on_request");
        assert!(is_span(&field(req, "level").unwrap()));
        let spans = field(req, "spans").unwrap();
        assert!(!is_span(&spans));
        assert!(spans.bytes(&src.bytes).starts_with(b"request{method="));
        // A message with coloured key=values is decoded text; the values are spans.
        let resp = &p.events[5];
        assert!(!is_span(&resp.message));
        assert!(
            resp.message
                .bytes(&src.bytes)
                .starts_with(b"finished processing request latency=")
        );
        let latency = field(resp, "latency").unwrap();
        assert!(is_span(&latency));
        assert!(latency.bytes(&src.bytes).ends_with(b" ms"));
        for ev in &p.events {
            for t in
                std::iter::once(&ev.message).chain(p.fields.get(ev.fields).iter().map(|(_, t)| t))
            {
                if is_span(t) {
                    assert!(!t.bytes(&src.bytes).contains(&0x1b));
                }
            }
        }
        // The failure and the error with its span trace.
        let fail = p
            .events
            .iter()
            .find(|e| e.severity == Severity::Err)
            .unwrap();
        assert_eq!(
            field(fail, "classification").unwrap().bytes(&src.bytes),
            b"Status code: 500 Internal Server Error"
        );
        let err = p
            .events
            .iter()
            .find(|e| e.message.bytes(&src.bytes).starts_with(b"Storage error"))
            .unwrap();
        assert_eq!(err.end_line, err.line + 3);
    }

    #[test]
    fn client_lines() {
        let l = "❌ 3kflp5w1s1jl5qkb6hjxj0wp46zic9si-lowdown-1.3.2-lib: RequestError: General request error: Bad NAR Hash or Size".as_bytes();
        let c = classify_client(l).unwrap();
        assert_eq!(c.severity, Severity::Err);
        assert_eq!(
            f(l, &c.fields, "store_path"),
            Some("3kflp5w1s1jl5qkb6hjxj0wp46zic9si-lowdown-1.3.2-lib")
        );
        assert!(
            f(l, &c.fields, "error")
                .unwrap()
                .starts_with("RequestError")
        );
        let l = "⚙️ Pushing 12 paths to \"blog-cache\" on \"local\" (3 already cached, 40 in upstream)...".as_bytes();
        let c = classify_client(l).unwrap();
        assert_eq!(f(l, &c.fields, "cache"), Some("blog-cache"));
        assert_eq!(f(l, &c.fields, "server"), Some("local"));
        let l = b"Error: Unauthorized: Unauthorized.";
        assert_eq!(
            f(l, &classify_client(l).unwrap().fields, "error"),
            Some("Unauthorized: Unauthorized.")
        );
        assert!(classify_client(b"Pushing things").is_none());
    }
}
