//! gitlab-runner daemon logs (formats.md 4.5) in its three `--log-format`s: the default
//! `runner` format without timestamp (`WARNING: Checking for jobs... failed` padded to 50
//! columns, then `  key=value` pairs sorted by key, values unquoted and possibly with
//! spaces), logrus `text` (`time="…" level=warning msg="…" key=value`) and logrus `json`
//! (`{"level":"warning","msg":"…","time":"…"}`), each optionally behind a docker-compose
//! prefix (`gitlab-runner    | `, with or without `docker compose logs -t`'s timestamp).
//!
//! Output: one event per line, unit `gitlab-runner`, severity from the level. Fields:
//! `level`, `message` (the message proper), `runner`, `runner_name`, `job`, `status`, `url`
//! and `http_status` (both taken from `status=POST https://…/api/v4/jobs/request: 401
//! Unauthorized`), `error`, and a few more the runner writes. Lines without a time get
//! [`ClockMethod::Missing`] (journald supplies the time when the log is in a journal: see
//! [`Format::refine`] for ident `gitlab-runner`).

use super::nix::Clean;
use super::{Format, Refined, Sink};
use crate::event::{ClockMethod, Event, Severity, Text};
use crate::ingest::Source;
use crate::lines::{Lines, Terminator};
use std::ops::Range;

/// gitlab-runner daemon logs.
pub struct GitlabRunner;

/// A field value: a range of the line, or a constant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    /// Bytes of the (ANSI-free) line.
    R(Range<usize>),
    /// A constant (the level of a runner-format info line, which writes no level word).
    S(&'static str),
}

/// One parsed runner log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunnerLine {
    /// Severity from the level.
    pub severity: Severity,
    /// UTC ns when the line carries a time (logrus text/JSON).
    pub time: Option<i64>,
    /// Where the displayed message starts (runner format: the message and its key=values as
    /// written; logrus: the `msg` value).
    pub message: Range<usize>,
    /// True when string values are JSON/logrus-escaped (`\"`).
    pub escaped: bool,
    /// Fields.
    pub fields: Vec<(&'static str, Val)>,
}

/// Keys kept as fields (logrus key -> field name).
const KEYS: &[(&str, &str)] = &[
    ("runner", "runner"),
    ("runner_name", "runner_name"),
    ("job", "job"),
    ("status", "status"),
    ("error", "error"),
    ("err", "error"),
    ("repo_url", "repo_url"),
    ("project", "project"),
    ("correlation_id", "correlation_id"),
    ("job-status", "job_status"),
    ("failure_reason", "failure_reason"),
    ("exit_code", "exit_code"),
    ("code", "code"),
    ("builds", "builds"),
    ("duration_s", "duration_s"),
];

fn key_name(k: &[u8]) -> Option<&'static str> {
    KEYS.iter()
        .find(|(n, _)| n.as_bytes() == k)
        .map(|(_, f)| *f)
}

fn level(w: &[u8]) -> Severity {
    match w {
        b"panic" | b"PANIC" => Severity::Emerg,
        b"fatal" | b"FATAL" => Severity::Crit,
        _ => Severity::from_word(w),
    }
}

fn key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.'
}

/// Length of a docker-compose service prefix (`gitlab-runner    | `), 0 when absent.
pub fn compose_prefix(b: &[u8]) -> usize {
    // The first `| ` in the first 80 bytes (memchr for `|`: no searcher built per line).
    let head = &b[..b.len().min(80)];
    let Some(bar) = memchr::memchr_iter(b'|', head).find(|&i| head.get(i + 1) == Some(&b' '))
    else {
        return 0;
    };
    let name = b[..bar].trim_ascii_end();
    if name.is_empty() || !name.iter().all(|&c| key_char(c)) {
        return 0;
    }
    bar + 2
}

/// Parses a runner log line body (no compose prefix, ANSI stripped).
pub fn parse_line(b: &[u8]) -> Option<RunnerLine> {
    let t = b.trim_ascii_end();
    if t.first() == Some(&b'{') {
        return parse_json(t);
    }
    if t.starts_with(b"time=\"") || t.starts_with(b"level=") {
        return parse_logrus(t);
    }
    parse_runner(t)
}

/// The default `runner` format.
fn parse_runner(b: &[u8]) -> Option<RunnerLine> {
    let (severity, lvl, ms) = [
        (&b"WARNING: "[..], Severity::Warning),
        (b"ERROR: ", Severity::Err),
        (b"FATAL: ", Severity::Crit),
        (b"PANIC: ", Severity::Emerg),
    ]
    .iter()
    .find(|(p, _)| b.starts_with(p))
    .map_or((Severity::Info, Val::S("info"), 0), |(p, s)| {
        (*s, Val::R(0..p.len() - 2), p.len())
    });
    if b.len() <= ms || b[ms] == b' ' {
        return None;
    }
    // The message ends at the first run of 2+ spaces followed by `key=`.
    let mut me = b.len();
    let mut kv_from = b.len();
    let mut i = ms;
    while let Some(j) = crate::text::find_pair(&b[i..], b' ', b' ') {
        let s = i + j;
        let mut k = s;
        while k < b.len() && b[k] == b' ' {
            k += 1;
        }
        let mut e = k;
        while e < b.len() && key_char(b[e]) {
            e += 1;
        }
        if e > k && b.get(e) == Some(&b'=') {
            me = s;
            kv_from = k - 1;
            break;
        }
        i = k;
        if i >= b.len() {
            break;
        }
    }
    // Room for the usual line's fields at once (a journal holds one of these per entry,
    // and growing from two reallocated twice per line).
    let mut fields = Vec::with_capacity(8);
    fields.push(("level", lvl));
    fields.push(("message", Val::R(ms..me)));
    // Keys are written sorted: a ` word=` inside a value is taken as a new key only when
    // it sorts after the previous key. A key's value runs to the space before the next
    // key: each key is taken when the next is found (no list of keys per line).
    let value = |(ks, eq): (usize, usize), end: usize, fields: &mut Vec<(&'static str, Val)>| {
        if let Some(name) = key_name(&b[ks..eq]) {
            let ve = end.max(eq + 1);
            let ve = eq + 1 + b[eq + 1..ve].trim_ascii_end().len();
            fields.push((name, Val::R(eq + 1..ve)));
        }
    };
    let mut last: Option<(usize, usize)> = None; // (key start, '=')
    let mut p = kv_from;
    while p < b.len() {
        let Some(j) = memchr::memchr(b' ', &b[p..]) else {
            break;
        };
        let ks = p + j + 1;
        let mut e = ks;
        while e < b.len() && key_char(b[e]) {
            e += 1;
        }
        if e > ks && b.get(e) == Some(&b'=') && last.is_none_or(|(ps, pe)| b[ks..e] > b[ps..pe]) {
            if let Some(k) = last {
                value(k, ks - 1, &mut fields);
            }
            last = Some((ks, e));
        }
        p = ks;
    }
    if let Some(k) = last {
        value(k, b.len(), &mut fields);
    }
    status_fields(b, &mut fields);
    Some(RunnerLine {
        severity,
        time: None,
        message: ms..b.len(),
        escaped: false,
        fields,
    })
}

/// Derives `url` and `http_status` from a `status` value: `POST https://…/jobs/request: 401
/// Unauthorized`, `401 Unauthorized`, `execute JSON request: …`.
fn status_fields(b: &[u8], fields: &mut Vec<(&'static str, Val)>) {
    let Some(Val::R(r)) = fields
        .iter()
        .find(|(k, _)| *k == "status")
        .map(|(_, v)| v.clone())
    else {
        return;
    };
    let v = &b[r.clone()];
    let mut code_at = 0;
    if let Some(sp) = memchr::memchr(b' ', v)
        && v[..sp].iter().all(u8::is_ascii_uppercase)
        && v[sp + 1..].starts_with(b"http")
    {
        let us = sp + 1;
        if let Some(j) = memchr::memmem::find(&v[us..], b": ") {
            fields.push(("url", Val::R(r.start + us..r.start + us + j)));
            code_at = us + j + 2;
        }
    }
    let d = v[code_at..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if d == 3 && v.get(code_at + 3).is_none_or(|&c| c == b' ') {
        fields.push((
            "http_status",
            Val::R(r.start + code_at..r.start + code_at + 3),
        ));
    }
}

/// Scans a quoted logrus/JSON string starting at `b[at] == '"'`; returns (inner, past end).
fn string_at(b: &[u8], at: usize) -> Option<(Range<usize>, usize)> {
    let mut i = at + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some((at + 1..i, i + 1)),
            _ => i += 1,
        }
    }
    None
}

fn finish(b: &[u8], pairs: Vec<(Range<usize>, Range<usize>)>, json: bool) -> Option<RunnerLine> {
    let mut severity = Severity::Unknown;
    let mut time = None;
    let mut message = None;
    let mut fields = Vec::new();
    let mut escaped = false;
    for (k, v) in pairs {
        escaped |= memchr::memchr(b'\\', &b[v.clone()]).is_some();
        match &b[k.clone()] {
            b"level" => {
                severity = level(&b[v.clone()]);
                fields.push(("level", Val::R(v)));
            }
            b"msg" => {
                message = Some(v.clone());
                fields.push(("message", Val::R(v)));
            }
            b"time" => time = crate::time::parse_rfc3339(&b[v]).map(|(t, _)| t),
            key => {
                if let Some(name) = key_name(key) {
                    fields.push((name, Val::R(v)));
                }
            }
        }
    }
    let message = message?;
    if !json && severity == Severity::Unknown {
        return None;
    }
    status_fields(b, &mut fields);
    Some(RunnerLine {
        severity,
        time,
        message,
        escaped,
        fields,
    })
}

/// logrus TextFormatter: `key=value` with values quoted when they need it.
fn parse_logrus(b: &[u8]) -> Option<RunnerLine> {
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        let ks = i;
        while i < b.len() && key_char(b[i]) {
            i += 1;
        }
        if i == ks || b.get(i) != Some(&b'=') {
            return None;
        }
        let k = ks..i;
        i += 1;
        let v = if b.get(i) == Some(&b'"') {
            let (r, e) = string_at(b, i)?;
            i = e;
            r
        } else {
            let s = i;
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            s..i
        };
        pairs.push((k, v));
    }
    finish(b, pairs, false)
}

/// logrus JSONFormatter: a flat object of strings and scalars.
fn parse_json(b: &[u8]) -> Option<RunnerLine> {
    let mut pairs = Vec::new();
    let mut i = 1;
    loop {
        while b
            .get(i)
            .is_some_and(|c| c.is_ascii_whitespace() || *c == b',')
        {
            i += 1;
        }
        match b.get(i) {
            Some(b'}') => break,
            Some(b'"') => {}
            _ => return None,
        }
        let (k, e) = string_at(b, i)?;
        i = e;
        while b.get(i).is_some_and(|c| *c == b' ' || *c == b':') {
            i += 1;
        }
        let v = if b.get(i) == Some(&b'"') {
            let (r, e) = string_at(b, i)?;
            i = e;
            r
        } else {
            let s = i;
            let mut depth = 0i32;
            while i < b.len() {
                match b[i] {
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b'}' if depth == 0 => break,
                    _ => {}
                }
                i += 1;
            }
            s..i
        };
        pairs.push((k, v));
    }
    finish(b, pairs, true)
}

/// Known message starts of the runner daemon (sniffing evidence).
const KNOWN: &[&str] = &[
    "Checking for jobs...",
    "Configuration loaded",
    "Starting multi-runner from",
    "Runtime platform",
    "Running in system-mode",
    "Submitting job to coordinator...",
    "Appending trace to coordinator...",
    "Updating job...",
    "Verifying runner...",
    "Metrics server listening",
    "Session server listening",
    "Initializing executor providers",
    "listen_address not defined",
    "Processing runner",
    "Feeding runners to channel",
    "Dialing:",
    "Shutting down",
];

fn evidence(l: &RunnerLine, b: &[u8]) -> bool {
    if l.time.is_some() {
        return true;
    }
    let m = match l.fields.iter().find(|(k, _)| *k == "message") {
        Some((_, Val::R(r))) => &b[r.clone()],
        _ => return false,
    };
    // A bare `key=value` tail proves little (a syslog line with `runner=` in it would
    // match); a known runner message or a level prefix with a runner token does.
    KNOWN.iter().any(|k| m.starts_with(k.as_bytes()))
        || (l.severity < Severity::Info && l.fields.iter().any(|(k, _)| *k == "runner"))
}

/// True for the journal identifiers the runner daemon writes under.
fn is_runner(ident: &str) -> bool {
    ident == "gitlab-runner" || ident == "gitlab-ci-multi-runner"
}

impl Format for GitlabRunner {
    fn name(&self) -> &'static str {
        "gitlab-runner"
    }
    fn description(&self) -> &'static str {
        "gitlab-runner daemon log (runner, logrus text and JSON formats, docker-compose prefixes)"
    }
    fn sniff(&self, sample: &[u8]) -> u8 {
        let (mut n, mut hits) = (0u32, 0u32);
        for line in Lines::new(sample, Terminator::detect(sample)).take(200) {
            let c = Clean::new(line.text, line.start, false);
            if c.is_blank() {
                continue;
            }
            n += 1;
            let mut p = compose_prefix(&c.b);
            // The runner writes no timestamp; only `docker compose logs -t` adds one.
            if p > 0
                && let Some((_, _, u)) = super::nix::stamp(&c.b[p..])
            {
                p += u;
            }
            if parse_line(&c.b[p..]).is_some_and(|l| evidence(&l, &c.b[p..])) {
                hits += 1;
            }
        }
        let share = hits * 100 / n.max(1);
        match (hits, share) {
            (0, _) => 0,
            (_, s) if s >= 30 => 85,
            (h, _) if h >= 2 => 50,
            _ => 20,
        }
    }
    fn parse(&self, src: &Source, sink: &mut Sink<'_>) {
        let unit = sink.atoms.intern("gitlab-runner");
        let mut pending = super::nix::Pending::default();
        let mut keys = super::nix::KeyAtoms::default();
        for line in Lines::new(&src.bytes, src.terminator) {
            let c = Clean::new(line.text, line.start, false);
            if c.is_blank() {
                sink.blank(1);
                continue;
            }
            let mut p = compose_prefix(&c.b);
            let (mut time, mut clock) = (0, ClockMethod::Missing);
            if let Some((t, ck, u)) = super::nix::stamp(&c.b[p..]) {
                (time, clock) = (t, ck);
                p += u;
            }
            let body = &c.b[p..];
            let Some(l) = parse_line(body) else {
                if matches!(body.first(), Some(b' ' | b'\t')) && !sink.events.is_empty() {
                    // A wrapped multi-line value (a Go error with newlines).
                    if sink.continue_last(&line).is_some() {
                        pending.append(&mut sink.events, &src.bytes, "\n", body);
                    }
                } else {
                    sink.unparsed(&line, "not a gitlab-runner log line");
                }
                continue;
            };
            if let Some(t) = l.time {
                (time, clock) = (t, ClockMethod::Exact);
            }
            let text = |r: &Range<usize>| -> Text {
                let r = r.start + p..r.end + p;
                if l.escaped && memchr::memchr(b'\\', &c.b[r.clone()]).is_some() {
                    Text::Owned(unescape(&c.b[r]).into())
                } else {
                    c.text(r)
                }
            };
            let mut ev = Event {
                time,
                clock,
                line: line.no,
                end_line: line.no,
                offset: line.start as u64,
                unit,
                severity: l.severity,
                message: text(&l.message),
                ..Event::default()
            };
            for (k, v) in &l.fields {
                let val = match v {
                    Val::R(r) => text(r),
                    Val::S(s) => Text::Owned((*s).into()),
                };
                let a = keys.get(&mut sink.atoms, k);
                sink.fields.push(&mut ev.fields, a, val);
            }
            sink.push(ev);
        }
        pending.flush(&mut sink.events);
    }
    fn embeds(&self, ident: &str) -> bool {
        is_runner(ident)
    }
    fn refine(&self, ident: &str, msg: &[u8]) -> Option<Refined> {
        if !is_runner(ident) {
            return None;
        }
        let st = crate::text::Stripped::new(msg);
        let l = parse_line(&st.text)?;
        // Sized at once: a filtered `collect` starts at four and grows, and a runner line
        // has more fields than that.
        let mut fields = Vec::with_capacity(l.fields.len());
        for (k, v) in &l.fields {
            if let Val::R(r) = v {
                fields.push((*k, st.raw_range(r.clone())));
            }
        }
        Some(Refined {
            severity: Some(l.severity),
            time: l.time,
            message_start: st.raw(l.message.start),
            fields,
        })
    }
}

/// Undoes JSON/logrus string escapes (`\"`, `\\`, `\n`, `\t`, `\uXXXX`).
fn unescape(b: &[u8]) -> String {
    let mut q = Vec::with_capacity(b.len() + 2);
    q.push(b'"');
    q.extend_from_slice(b);
    q.push(b'"');
    serde_json::from_slice::<String>(&q).unwrap_or_else(|_| crate::text::lossy(b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f<'a>(b: &'a [u8], l: &RunnerLine, k: &str) -> Option<&'a str> {
        l.fields
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| match v {
                Val::R(r) => std::str::from_utf8(&b[r.clone()]).unwrap(),
                Val::S(s) => s,
            })
    }

    #[test]
    fn runner_format_padded_with_status() {
        let b = b"WARNING: Checking for jobs... failed                runner=t9Wkyj-HG status=POST https://gitlab.example.com/api/v4/jobs/request: 401 Unauthorized";
        let l = parse_line(b).unwrap();
        assert_eq!(l.severity, Severity::Warning);
        assert_eq!(f(b, &l, "level"), Some("WARNING"));
        assert_eq!(f(b, &l, "message"), Some("Checking for jobs... failed"));
        assert_eq!(f(b, &l, "runner"), Some("t9Wkyj-HG"));
        assert_eq!(
            f(b, &l, "status"),
            Some("POST https://gitlab.example.com/api/v4/jobs/request: 401 Unauthorized")
        );
        assert_eq!(
            f(b, &l, "url"),
            Some("https://gitlab.example.com/api/v4/jobs/request")
        );
        assert_eq!(f(b, &l, "http_status"), Some("401"));
    }

    #[test]
    fn runner_format_info_and_values_with_spaces() {
        let b = b"Submitting job to coordinator...ok                  bytesize=2114 checksum=crc32:1a2b code=200 job=4417 job-status=failed runner=abc status=200 OK";
        let l = parse_line(b).unwrap();
        assert_eq!(l.severity, Severity::Info);
        assert_eq!(f(b, &l, "level"), Some("info"));
        assert_eq!(
            f(b, &l, "message"),
            Some("Submitting job to coordinator...ok")
        );
        assert_eq!(f(b, &l, "job"), Some("4417"));
        assert_eq!(f(b, &l, "job_status"), Some("failed"));
        assert_eq!(f(b, &l, "status"), Some("200 OK"));
        assert_eq!(f(b, &l, "http_status"), Some("200"));
        // a value containing ` word=` that sorts before the key stays in the value
        let b = b"ERROR: Job failed (system failure): x              error=prepare environment: cmd=foo failed job=7";
        let l = parse_line(b).unwrap();
        assert_eq!(
            f(b, &l, "error"),
            Some("prepare environment: cmd=foo failed")
        );
        assert_eq!(f(b, &l, "job"), Some("7"));
    }

    #[test]
    fn logrus_text_and_json() {
        let b = br#"time="2026-03-25T10:00:05.123456789Z" level=error msg="Checking for jobs... forbidden" runner=cnqGqEov status="POST https://gitlab.example.com/api/v4/jobs/request: 403 Forbidden""#;
        let l = parse_line(b).unwrap();
        assert_eq!(l.severity, Severity::Err);
        assert_eq!(l.time, Some(1_774_432_805_123_456_789));
        assert_eq!(f(b, &l, "http_status"), Some("403"));
        let b = br#"{"level":"warning","msg":"Checking for jobs... failed","runner":"GR1348941xXzhePNZ","status":"POST https://gitlab.example.com/api/v4/jobs/request: 500 Internal Server Error","time":"2026-03-25T10:00:06Z"}"#;
        let l = parse_line(b).unwrap();
        assert_eq!(l.severity, Severity::Warning);
        assert_eq!(f(b, &l, "runner"), Some("GR1348941xXzhePNZ"));
        assert_eq!(f(b, &l, "http_status"), Some("500"));
        assert_eq!(&b[l.message.clone()], b"Checking for jobs... failed");
        assert!(parse_line(br#"{"no":"msg"}"#).is_none());
        assert!(parse_line(b"level=info without msg").is_none());
    }

    #[test]
    fn compose_prefixes() {
        assert_eq!(
            compose_prefix(b"gitlab-runner    | Configuration loaded"),
            19
        );
        assert_eq!(compose_prefix(b"a b | x"), 0);
        assert_eq!(compose_prefix(b"no bar here"), 0);
    }

    #[test]
    fn refine_journal_message() {
        let m = b"\x1b[0;33mWARNING: Checking for jobs... failed               \x1b[0;m  \x1b[0;33mrunner\x1b[0;m=abc \x1b[0;33mstatus\x1b[0;m=POST https://g.example/api/v4/jobs/request: 401 Unauthorized";
        let r = GitlabRunner.refine("gitlab-runner", m).unwrap();
        assert_eq!(r.severity, Some(Severity::Warning));
        assert!(m[r.message_start..].starts_with(b"Checking for jobs"));
        let s = r.fields.iter().find(|(k, _)| *k == "http_status").unwrap();
        assert_eq!(&m[s.1.clone()], b"401");
        let u = r.fields.iter().find(|(k, _)| *k == "runner").unwrap();
        assert_eq!(&m[u.1.clone()], b"abc");
        assert!(GitlabRunner.refine("atticd", m).is_none());
    }
}
