//! Redaction: removes secrets from every human-readable string of an [`Analysis`] once,
//! before any renderer sees it (on by default; `--no-redact` turns it off).
//!
//! Each secret is replaced by a stable placeholder that keeps its kind, `<redacted:KIND>`:
//! GitLab tokens by prefix (`glpat-`, `glrt-`, `glcbt-`, `GR1348941`, …), JWTs (`eyJ…`, the
//! shape of attic and Cachix tokens), AWS access key ids (`AKIA…`/`ASIA…`), values of
//! secret-looking keys (`aws_secret_access_key=`, `CACHIX_AUTH_TOKEN=`, `token=` query
//! parameters, `Private-Token:`/`Job-Token:` headers, `"password": "…"`), `Authorization:`
//! credentials (the scheme stays), passwords in URLs (`https://user:<redacted:password>@host`),
//! PEM private keys (the whole block, also when it continues into the next strings), and
//! long high-entropy base64 runs no other rule named (`opaque-token`; SRI hashes such as
//! `sha256-…` are kept, they are evidence, not secrets).
//!
//! Secrets hide behind encodings, so detection runs on a decoded view of each string — JSON
//! `\uXXXX` and backslash escapes, `%XX` URL escapes and ANSI sequences (raw or written as
//! `\u001b[`) are undone — and every match is mapped back to the original bytes, so the
//! encoded secret is what gets replaced. A string with none of the trigger literals, no
//! escape and no long token-like run is returned untouched after one scan (the prefilter).

use crate::analysis::Analysis;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use std::cell::Cell;
use std::sync::OnceLock;

/// Shortest base64-like run the `opaque-token` heuristic considers.
const OPAQUE_MIN: usize = 40;

/// Token prefixes with the kind they name. GitLab's documented token prefixes; each must be
/// followed by at least [`PREFIX_BODY_MIN`] token characters (a prefix alone, as in docs,
/// is no secret).
const PREFIXES: &[(&str, &str)] = &[
    ("glpat-", "gitlab-pat"),
    ("glrt-", "gitlab-runner-token"),
    ("GR1348941", "gitlab-runner-token"),
    ("glcbt-", "gitlab-job-token"),
    ("glptt-", "gitlab-trigger-token"),
    ("gldt-", "gitlab-deploy-token"),
    ("glsoat-", "gitlab-token"),
    ("glft-", "gitlab-token"),
    ("glimt-", "gitlab-token"),
    ("glagent-", "gitlab-token"),
    ("gloas-", "gitlab-token"),
    ("glffct-", "gitlab-token"),
    ("AKIA", "aws-access-key"),
    ("ASIA", "aws-access-key"),
    ("eyJ", "jwt"),
];
const PREFIX_BODY_MIN: usize = 4;

/// Literals (ASCII case-insensitive) that make a string worth the full scan.
const TRIGGERS: &[&str] = &[
    "glpat-",
    "glrt-",
    "gr1348941",
    "glcbt-",
    "glptt-",
    "gldt-",
    "glsoat-",
    "glft-",
    "glimt-",
    "glagent-",
    "gloas-",
    "glffct-",
    "akia",
    "asia",
    "eyj",
    "token",
    "secret",
    "passw",
    "authorization",
    "://",
    "private key",
    "-----end",
    "authtoken",
    "_key",
    "-key",
];

fn triggers() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(TRIGGERS)
            .expect("static patterns build")
    })
}

/// The placeholder for a secret of `kind`.
pub fn placeholder(kind: &str) -> String {
    format!("<redacted:{kind}>")
}

/// Redacts every human-readable string of `a` in place and returns how many secrets were
/// replaced. Strings are visited in [`Analysis::map_strings`] order; a PEM private key left
/// open in one string (an unparsed first line of a multi-line key) also redacts the following
/// strings that are base64 body lines, up to and including its END line.
pub fn redact(a: &mut Analysis) -> usize {
    let open_pem = Cell::new(false);
    let count = Cell::new(0usize);
    a.map_strings(&|s| {
        let mut pem = open_pem.get();
        let r = redact_with_state(s, &mut pem);
        open_pem.set(pem);
        if let Some((_, n)) = &r {
            count.set(count.get() + n);
        }
        r.map(|(s, _)| s)
    });
    count.get()
}

/// Redacts one string on its own; `None` when nothing was found.
pub fn redact_str(s: &str) -> Option<String> {
    redact_with_state(s, &mut false).map(|(s, _)| s)
}

/// A match in decoded coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    start: usize,
    end: usize,
    kind: &'static str,
}

fn redact_with_state(s: &str, open_pem: &mut bool) -> Option<(String, usize)> {
    let escaped = has_escapes(s.as_bytes());
    if !*open_pem && !escaped && !triggers().is_match(s) && !has_long_run(s.as_bytes()) {
        return None;
    }
    let (decoded, map) = if escaped {
        decode(s)
    } else {
        (s.to_string(), (0..=s.len()).collect())
    };
    let d = decoded.as_bytes();
    let mut hits = Vec::new();
    let mut from = 0;
    if *open_pem && !pem_body(d) && find_pem_end(d, 0).is_none() {
        // Not a key line: the block was cut off (only a few examples are kept).
        *open_pem = false;
    }
    if *open_pem {
        match find_pem_end(d, 0) {
            Some(end) => {
                hits.push(Hit {
                    start: line_prefix_len(d),
                    end,
                    kind: "private-key",
                });
                *open_pem = false;
                from = end;
            }
            None => hits.push(Hit {
                start: line_prefix_len(d),
                end: d.len(),
                kind: "private-key",
            }),
        }
    }
    if !*open_pem || from > 0 {
        *open_pem = pem_blocks(d, from, &mut hits);
        prefixed(d, &mut hits);
        authorization(d, &mut hits);
        key_values(d, &mut hits);
        url_passwords(d, &mut hits);
        netrc_passwords(d, &mut hits);
        opaque(d, &mut hits);
    }
    if hits.is_empty() {
        return None;
    }
    // Map to original offsets, then merge overlaps (the earliest, longest hit names it).
    let mut orig: Vec<Hit> = hits
        .into_iter()
        .map(|h| Hit {
            start: map[h.start],
            end: map[h.end],
            kind: h.kind,
        })
        .filter(|h| h.end > h.start)
        .collect();
    orig.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut merged: Vec<Hit> = Vec::new();
    for h in orig {
        match merged.last_mut() {
            Some(m) if h.start < m.end => m.end = m.end.max(h.end),
            _ => merged.push(h),
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for h in &merged {
        // Offsets come from char boundaries of the decoded text mapped to the starts of
        // original chars or escapes, so they are char boundaries of `s`.
        out.push_str(&s[at..h.start]);
        out.push_str(&placeholder(h.kind));
        at = h.end;
    }
    out.push_str(&s[at..]);
    Some((out, merged.len()))
}

fn has_escapes(b: &[u8]) -> bool {
    memchr::memchr3(b'\\', b'%', 0x1b, b).is_some()
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'_' | b'-')
}

fn has_long_run(b: &[u8]) -> bool {
    let mut run = 0;
    for &c in b {
        if is_b64(c) {
            run += 1;
            if run >= OPAQUE_MIN {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Decodes JSON escapes, `%XX` and ANSI sequences. Returns the decoded text and, for every
/// decoded byte offset (plus the end), the original byte offset it came from.
fn decode(s: &str) -> (String, Vec<usize>) {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut map = Vec::with_capacity(s.len() + 1);
    let mut i = 0;
    let push = |out: &mut String, map: &mut Vec<usize>, c: char, at: usize| {
        for _ in 0..c.len_utf8() {
            map.push(at);
        }
        out.push(c);
    };
    while i < b.len() {
        // ANSI CSI, raw or written as an escape in JSON/shell text.
        if let Some(n) = ansi_len(&b[i..]) {
            i += n;
            continue;
        }
        match b[i] {
            b'\\' if i + 1 < b.len() => match b[i + 1] {
                b'u' => {
                    if let Some((c, n)) = json_u(&b[i..]) {
                        push(&mut out, &mut map, c, i);
                        i += n;
                        continue;
                    }
                }
                c @ (b'/' | b'"' | b'\\' | b'\'') => {
                    push(&mut out, &mut map, c as char, i);
                    i += 2;
                    continue;
                }
                b'n' | b'r' | b't' => {
                    let c = match b[i + 1] {
                        b'n' => '\n',
                        b'r' => '\r',
                        _ => '\t',
                    };
                    push(&mut out, &mut map, c, i);
                    i += 2;
                    continue;
                }
                _ => {}
            },
            b'%' if i + 2 < b.len() => {
                if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                    let v = h * 16 + l;
                    if (0x20..0x7f).contains(&v) {
                        push(&mut out, &mut map, v as char, i);
                        i += 3;
                        continue;
                    }
                }
            }
            _ => {}
        }
        let c = s[i..].chars().next().unwrap_or('\u{fffd}');
        push(&mut out, &mut map, c, i);
        i += c.len_utf8().max(1);
    }
    map.push(s.len());
    (out, map)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// `\uXXXX` (with a following low surrogate when high); returns the char and bytes used.
fn json_u(b: &[u8]) -> Option<(char, usize)> {
    let unit = |b: &[u8]| -> Option<u32> {
        if b.len() < 6 || b[0] != b'\\' || b[1] != b'u' {
            return None;
        }
        let mut v = 0;
        for &c in &b[2..6] {
            v = v * 16 + hex(c)? as u32;
        }
        Some(v)
    };
    let hi = unit(b)?;
    if (0xd800..0xdc00).contains(&hi) {
        if let Some(lo) = unit(&b[6..]).filter(|lo| (0xdc00..0xe000).contains(lo)) {
            let c = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
            return Some((char::from_u32(c).unwrap_or('\u{fffd}'), 12));
        }
        return Some(('\u{fffd}', 6));
    }
    Some((char::from_u32(hi).unwrap_or('\u{fffd}'), 6))
}

/// Length of an ANSI CSI sequence at the start of `b`: raw ESC or its written forms.
fn ansi_len(b: &[u8]) -> Option<usize> {
    let intro = [
        &b"\x1b["[..],
        b"\\u001b[",
        b"\\u001B[",
        b"\\x1b[",
        b"\\x1B[",
        b"\\033[",
        b"\\e[",
    ]
    .into_iter()
    .find(|p| b.starts_with(p))?;
    let mut i = intro.len();
    while i < b.len() && (0x30..=0x3f).contains(&b[i]) {
        i += 1;
    }
    while i < b.len() && (0x20..=0x2f).contains(&b[i]) {
        i += 1;
    }
    if i < b.len() && (0x40..=0x7e).contains(&b[i]) {
        Some(i + 1)
    } else {
        None
    }
}

fn find(h: &[u8], n: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(h.get(from..)?, n).map(|p| p + from)
}

fn find_ci(h: &[u8], n: &[u8], from: usize) -> Option<usize> {
    let h = h.get(from..)?;
    h.windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
        .map(|p| p + from)
}

/// A leading `123: ` (the line number of an unparsed example) is kept.
fn line_prefix_len(d: &[u8]) -> usize {
    let digits = d.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && d[digits..].starts_with(b": ") {
        digits + 2
    } else {
        0
    }
}

/// True when `d` (after a line-number prefix) is only base64 and whitespace: a PEM body line.
fn pem_body(d: &[u8]) -> bool {
    let body = &d[line_prefix_len(d)..];
    !body.is_empty() && body.iter().all(|&c| is_b64(c) || c.is_ascii_whitespace())
}

/// The end of a `-----END … PRIVATE KEY-----` line at or after `from`.
fn find_pem_end(d: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(p) = find(d, b"-----END ", at) {
        let rest = &d[p + 9..];
        let line_end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
        if let Some(q) = find(&rest[..line_end], b"PRIVATE KEY-----", 0) {
            return Some(p + 9 + q + 16);
        }
        at = p + 9;
    }
    None
}

/// PEM private-key blocks; returns true when the last one is still open at the end.
fn pem_blocks(d: &[u8], from: usize, hits: &mut Vec<Hit>) -> bool {
    let mut at = from;
    while let Some(p) = find(d, b"-----BEGIN ", at) {
        let rest = &d[p + 11..];
        let line_end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
        if find(&rest[..line_end], b"PRIVATE KEY", 0).is_none() {
            at = p + 11;
            continue;
        }
        match find_pem_end(d, p) {
            Some(end) => {
                hits.push(Hit {
                    start: p,
                    end,
                    kind: "private-key",
                });
                at = end;
            }
            None => {
                hits.push(Hit {
                    start: p,
                    end: d.len(),
                    kind: "private-key",
                });
                return true;
            }
        }
    }
    false
}

fn is_tok(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

fn run_end(d: &[u8], from: usize, pred: impl Fn(u8) -> bool) -> usize {
    from + d[from..].iter().take_while(|&&c| pred(c)).count()
}

/// Tokens recognised by their prefix.
fn prefixed(d: &[u8], hits: &mut Vec<Hit>) {
    for &(prefix, kind) in PREFIXES {
        let p = prefix.as_bytes();
        let mut at = 0;
        while let Some(i) = find(d, p, at) {
            at = i + 1;
            if i > 0 && (d[i - 1].is_ascii_alphanumeric() || d[i - 1] == b'_') {
                continue;
            }
            let body = i + p.len();
            let end = match kind {
                // AWS key ids are upper-case letters and digits only.
                "aws-access-key" => {
                    run_end(d, body, |c| c.is_ascii_uppercase() || c.is_ascii_digit())
                }
                _ => run_end(d, body, is_tok),
            };
            let end = trim_trailing_dots(d, body, end);
            let min = if kind == "aws-access-key" {
                12
            } else {
                PREFIX_BODY_MIN
            };
            if end - body >= min {
                hits.push(Hit {
                    start: i,
                    end,
                    kind,
                });
                at = end;
            }
        }
    }
}

/// A sentence may end right after a token: `… glpat-abc.` keeps its period.
fn trim_trailing_dots(d: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && d[end - 1] == b'.' {
        end -= 1;
    }
    end
}

/// `Authorization: Bearer xyz` / `authorization="Basic xyz"`: the credential after the scheme.
fn authorization(d: &[u8], hits: &mut Vec<Hit>) {
    let mut at = 0;
    while let Some(i) = find_ci(d, b"authorization", at) {
        at = i + 13;
        let mut j = at;
        j = skip(d, j, |c| c == b'"' || c == b'\'');
        j = skip(d, j, |c| c == b' ' || c == b'\t');
        if j >= d.len() || !(d[j] == b':' || d[j] == b'=') {
            continue;
        }
        j = skip(d, j + 1, |c| {
            c.is_ascii_whitespace() || c == b'"' || c == b'\''
        });
        let word_end = run_end(d, j, |c| c.is_ascii_alphabetic());
        let after_word = skip(d, word_end, |c| c.is_ascii_whitespace());
        // A scheme is a short word followed by whitespace and a credential.
        let cred = if word_end > j
            && word_end - j <= 12
            && after_word > word_end
            && after_word < d.len()
            && !matches!(d[after_word], b'"' | b'\'')
        {
            after_word
        } else {
            j
        };
        let end = run_end(d, cred, |c| {
            !c.is_ascii_whitespace() && c != b'"' && c != b'\''
        });
        if end > cred && !d[cred..].starts_with(b"<redacted") {
            hits.push(Hit {
                start: cred,
                end,
                kind: "authorization",
            });
            at = end;
        }
    }
}

fn skip(d: &[u8], mut i: usize, pred: impl Fn(u8) -> bool) -> usize {
    while i < d.len() && pred(d[i]) {
        i += 1;
    }
    i
}

/// The kind of secret a key names, if it names one (`key` is lower-case).
fn secret_key_kind(key: &str) -> Option<&'static str> {
    let ends = |s: &str| key.ends_with(s);
    if key.contains("password") || key.contains("passwd") || ends("pass") || ends("pwd") {
        return Some("password");
    }
    if key.contains("secret_access_key")
        || key.contains("secretaccesskey")
        || key.contains("secret-access-key")
    {
        return Some("aws-secret-key");
    }
    if key.contains("cachix") && (key.contains("token") || key.contains("key")) {
        return Some("cachix-token");
    }
    if ends("job_token") || ends("job-token") || ends("jobtoken") {
        return Some("gitlab-job-token");
    }
    if ends("private_token")
        || ends("private-token")
        || ends("gitlab_token")
        || ends("gitlab-token")
    {
        return Some("gitlab-token");
    }
    if ends("token") || ends("tokens") {
        return Some("token");
    }
    if key.contains("secret")
        || ends("signing_key")
        || ends("signing-key")
        || ends("private_key")
        || ends("api_key")
        || ends("apikey")
        || ends("api-key")
    {
        return Some("secret");
    }
    None
}

/// `KEY=value`, `KEY: value`, `"key": "value"` where KEY names a secret (see
/// [`secret_key_kind`]); includes `?token=` query parameters and `Private-Token:` headers.
fn key_values(d: &[u8], hits: &mut Vec<Hit>) {
    for (sep_at, &c) in d.iter().enumerate() {
        if c != b'=' && c != b':' {
            continue;
        }
        // Walk back over spaces and a closing quote to the key.
        let mut k = sep_at;
        while k > 0 && d[k - 1] == b' ' {
            k -= 1;
        }
        let key_quoted = k > 0 && matches!(d[k - 1], b'"' | b'\'');
        if key_quoted {
            k -= 1;
        }
        let key_end = k;
        while k > 0 && (d[k - 1].is_ascii_alphanumeric() || matches!(d[k - 1], b'_' | b'-' | b'.'))
        {
            k -= 1;
        }
        if key_end == k {
            continue;
        }
        // `https://user:password@` is the URL rule's, which names it a password.
        if d[..k].ends_with(b"://") {
            continue;
        }
        let key = String::from_utf8_lossy(&d[k..key_end]).to_ascii_lowercase();
        let Some(kind) = secret_key_kind(&key) else {
            continue;
        };
        // `://` is a URL, `::` a path; neither is a separator here.
        if c == b':' && d.get(sep_at + 1).is_some_and(|&n| n == b'/' || n == b':') {
            continue;
        }
        let mut v = skip(d, sep_at + 1, |c| c == b' ' || c == b'\t');
        let value_quoted = v < d.len() && matches!(d[v], b'"' | b'\'');
        if value_quoted {
            v += 1;
        }
        let end = run_end(d, v, |c| {
            !c.is_ascii_whitespace()
                && !matches!(
                    c,
                    b'"' | b'\'' | b'&' | b',' | b';' | b'}' | b')' | b']' | b'>' | b'<'
                )
        });
        if end == v || d[v..].starts_with(b"<redacted") {
            continue;
        }
        let value = &d[v..end];
        // JSON literals are no secrets: `"token": null`.
        if matches!(value, b"null" | b"true" | b"false") {
            continue;
        }
        let strong = c == b'='
            || (key_quoted && value_quoted)
            || key.contains('-')
            || kind != "token" && kind != "secret";
        let looks_secret =
            value.len() >= 20 || (value.len() >= 8 && value.iter().any(u8::is_ascii_digit));
        if strong || looks_secret {
            hits.push(Hit {
                start: v,
                end,
                kind,
            });
        }
    }
}

/// `scheme://user:password@host`: the password (or a token-like user without one).
fn url_passwords(d: &[u8], hits: &mut Vec<Hit>) {
    let mut at = 0;
    while let Some(i) = find(d, b"://", at) {
        at = i + 3;
        let start = at;
        let end = run_end(d, start, |c| {
            !c.is_ascii_whitespace()
                && !matches!(c, b'/' | b'?' | b'#' | b'@' | b'"' | b'\'' | b'<' | b'>')
        });
        if end >= d.len() || d[end] != b'@' {
            continue;
        }
        let userinfo = &d[start..end];
        match userinfo.iter().position(|&c| c == b':') {
            Some(p) if start + p + 1 < end && !d[start + p + 1..].starts_with(b"<redacted") => {
                hits.push(Hit {
                    start: start + p + 1,
                    end,
                    kind: "password",
                });
            }
            Some(_) => {}
            None if userinfo.len() >= 20 && userinfo.iter().any(u8::is_ascii_digit) => {
                hits.push(Hit {
                    start,
                    end,
                    kind: "token",
                });
            }
            None => {}
        }
        at = end;
    }
}

/// `password VALUE` as netrc and some CLIs write it: redacted when VALUE does not read as a
/// word (it has a digit or a symbol), so "password authentication failed" stays.
fn netrc_passwords(d: &[u8], hits: &mut Vec<Hit>) {
    let mut at = 0;
    while let Some(i) = find_ci(d, b"password", at) {
        at = i + 8;
        if i > 0 && d[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        let v = skip(d, at, |c| c == b' ' || c == b'\t');
        if v == at {
            continue;
        }
        let end = run_end(d, v, |c| {
            !c.is_ascii_whitespace() && c != b'"' && c != b'\''
        });
        let value = &d[v..end];
        let wordy = value.iter().all(|c| c.is_ascii_alphabetic());
        if value.len() >= 6 && !wordy && !value.starts_with(b"<redacted") {
            hits.push(Hit {
                start: v,
                end,
                kind: "password",
            });
            at = end;
        }
    }
}

/// Long base64-like runs with the character mix of random bytes.
fn opaque(d: &[u8], hits: &mut Vec<Hit>) {
    let mut i = 0;
    while i < d.len() {
        if !is_b64(d[i]) {
            i += 1;
            continue;
        }
        // `=` is only padding: a run stops at an inner `=`, so `key=value` stays two runs
        // (the key stays readable) and the padding is kept with the value.
        let body_end = run_end(d, i, |c| is_b64(c) && c != b'=');
        let end = run_end(d, body_end, |c| c == b'=');
        if body_end == i {
            i = end.max(i + 1);
            continue;
        }
        let run = &d[i..end];
        let body = run.iter().filter(|&&c| c != b'=').count();
        if body >= OPAQUE_MIN && !is_sri(run) && !after_digest_label(&d[..i]) && random_mix(run) {
            hits.push(Hit {
                start: i,
                end,
                kind: "opaque-token",
            });
        }
        i = end;
    }
}

/// True when the text before a run ends with a digest label (`SHA256:` of an SSH key
/// fingerprint, `sha512:`): a fingerprint identifies a public key, it is no secret.
fn after_digest_label(before: &[u8]) -> bool {
    ["sha1:", "sha256:", "sha384:", "sha512:", "md5:"]
        .iter()
        .any(|p| {
            before.len() >= p.len()
                && before[before.len() - p.len()..].eq_ignore_ascii_case(p.as_bytes())
        })
}

fn is_sri(run: &[u8]) -> bool {
    [
        "sha1-", "sha256-", "sha384-", "sha512-", "md5-", "sha256:", "sha512:",
    ]
    .iter()
    .any(|p| run.len() > p.len() && run[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
}

/// Upper case, lower case and digits each well represented: random base64 has about 40 %,
/// 40 % and 16 %; identifiers, paths and Nix base32 hashes (lower case only) do not.
fn random_mix(run: &[u8]) -> bool {
    let n = run.len() as f64;
    let up = run.iter().filter(|c| c.is_ascii_uppercase()).count() as f64;
    let lo = run.iter().filter(|c| c.is_ascii_lowercase()).count() as f64;
    let dg = run.iter().filter(|c| c.is_ascii_digit()).count() as f64;
    up / n >= 0.15 && lo / n >= 0.15 && dg / n >= 0.04
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        redact_str(s).unwrap_or_else(|| s.to_string())
    }

    /// (name, input, expected output): one row per kind and encoding.
    const CASES: &[(&str, &str, &str)] = &[
        (
            "gitlab pat",
            "curl -H 'x' glpat-Abc123def456GHI789jk",
            "curl -H 'x' <redacted:gitlab-pat>",
        ),
        (
            "runner token",
            "token glrt-t1_AbCdEfGh12345678 registered",
            "token <redacted:gitlab-runner-token> registered",
        ),
        (
            "runner registration token",
            "--registration-token GR1348941aBcDeFgHiJkLmNoPq",
            "--registration-token <redacted:gitlab-runner-token>",
        ),
        (
            "job token prefix",
            "CI_JOB_TOKEN is glcbt-64_AbCdEf12345",
            "CI_JOB_TOKEN is <redacted:gitlab-job-token>",
        ),
        (
            "jwt",
            "attic login c https://cache.example/ eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl",
            "attic login c https://cache.example/ <redacted:jwt>",
        ),
        (
            "aws access key",
            "key AKIAIOSFODNN7EXAMPLE used",
            "key <redacted:aws-access-key> used",
        ),
        (
            "aws secret",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = <redacted:aws-secret-key>",
        ),
        (
            "authorization bearer",
            "Authorization: Bearer abc.def-123",
            "Authorization: Bearer <redacted:authorization>",
        ),
        (
            "authorization split over lines",
            "authorization: Bearer\n  abc123xyz",
            "authorization: Bearer\n  <redacted:authorization>",
        ),
        (
            "private token header",
            "PRIVATE-TOKEN: s3cr3t",
            "PRIVATE-TOKEN: <redacted:gitlab-token>",
        ),
        (
            "job token header",
            "JOB-TOKEN: abc",
            "JOB-TOKEN: <redacted:gitlab-job-token>",
        ),
        (
            "url password",
            "fetching https://gitlab-ci-token:hunter2@git.example.org/x.git",
            "fetching https://gitlab-ci-token:<redacted:password>@git.example.org/x.git",
        ),
        (
            "token query",
            "GET /api/v4/jobs/1/trace?private_token=abc&x=1",
            "GET /api/v4/jobs/1/trace?private_token=<redacted:gitlab-token>&x=1",
        ),
        (
            "plain token param",
            "GET /x?token=abc HTTP/1.1",
            "GET /x?token=<redacted:token> HTTP/1.1",
        ),
        (
            "cachix env",
            "CACHIX_AUTH_TOKEN=abc123",
            "CACHIX_AUTH_TOKEN=<redacted:cachix-token>",
        ),
        (
            "json password",
            "{\"password\": \"pw\"}",
            "{\"password\": \"<redacted:password>\"}",
        ),
        (
            "pem block",
            "k: -----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY----- done",
            "k: <redacted:private-key> done",
        ),
        (
            "json escaped",
            "\"msg\":\"token glpat\\u002dAbc123def456\"",
            "\"msg\":\"token <redacted:gitlab-pat>\"",
        ),
        (
            "ansi inside",
            "Authorization: \u{1b}[1mBearer\u{1b}[0m abcdef123",
            "Authorization: \u{1b}[1mBearer\u{1b}[0m <redacted:authorization>",
        ),
        (
            "url encoded",
            "url=https%3A%2F%2Fu%3Apassw0rd%40host",
            "url=https%3A%2F%2Fu%3A<redacted:password>%40host",
        ),
        (
            "opaque blob",
            "key material Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1O",
            "key material <redacted:opaque-token>",
        ),
    ];

    #[test]
    fn every_kind_is_replaced() {
        for (name, input, want) in CASES {
            assert_eq!(&r(input), want, "case {name}");
        }
    }

    /// Strings that look a little like secrets and must survive: evidence matters.
    const KEEP: &[&str] = &[
        "error: hash mismatch in fixed-output derivation: got sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "Accepted publickey for monitor from 100.101.7.23 port 55998 ssh2: ED25519 SHA256:Hx3kQ9vWmZp7Lt2RbYc8NfG4sJdE6uKaT1oVqXyBn0w",
        "/nix/store/0c7ijs5yqh8hlx8ai1vhxhqqwr52zlz8-python3-3.11.4/bin/python3",
        "password authentication failed for user nix",
        "password for user root: (not shown)",
        "token expired, re-run attic login",
        "tokens: rate limited",
        "see https://docs.gitlab.com/ee/security/token_overview.html",
        "Started NetworkManagerDispatcherServiceForDebianAndNixosSystemsNow.",
        "git fetch 8f1e3c9d2b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e",
        "pam_unix(sshd:session): session opened",
        "tokens start with glpat- followed by 20 characters",
        "{\"token\": null, \"password\": false}",
    ];

    #[test]
    fn look_alikes_survive() {
        for s in KEEP {
            assert_eq!(r(s), *s);
        }
    }

    #[test]
    fn redaction_is_idempotent() {
        for (_, input, _) in CASES {
            let once = r(input);
            assert_eq!(r(&once), once);
        }
    }

    #[test]
    fn pem_block_split_over_strings() {
        let mut a = Analysis::default();
        a.sources.push(crate::analysis::SourceSummary {
            unparsed_examples: vec![
                "1: -----BEGIN RSA PRIVATE KEY-----".into(),
                "2: MIIEowIBAAKCAQEAx".into(),
                "3: -----END RSA PRIVATE KEY-----".into(),
                "4: ordinary line".into(),
            ],
            ..Default::default()
        });
        assert_eq!(redact(&mut a), 3);
        assert_eq!(
            a.sources[0].unparsed_examples,
            [
                "1: <redacted:private-key>",
                "2: <redacted:private-key>",
                "3: <redacted:private-key>",
                "4: ordinary line"
            ]
        );
        // A block cut off after its first line does not swallow the next, unrelated string.
        let mut b = Analysis::default();
        b.sources.push(crate::analysis::SourceSummary {
            unparsed_examples: vec!["9: -----BEGIN PRIVATE KEY-----".into()],
            ..Default::default()
        });
        b.sources.push(crate::analysis::SourceSummary {
            issues: vec!["b.log: format not recognised".into()],
            ..Default::default()
        });
        assert_eq!(redact(&mut b), 1);
        assert_eq!(b.sources[1].issues, ["b.log: format not recognised"]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_text(s in "\\PC{0,120}", t in "[a-zA-Z0-9%\\\\u:=/@ \\x1b\\[\\-\\n]{0,120}") {
            for x in [&s, &t] {
                if let Some(r) = redact_str(x) {
                    proptest::prop_assert!(r.contains("<redacted:"));
                }
            }
        }
    }

    #[test]
    fn decode_maps_offsets_back() {
        let (d, m) = decode("a\\u0041%42\u{1b}[0mé");
        assert_eq!(d, "aABé");
        assert_eq!(m, vec![0, 1, 7, 14, 14, 16]);
    }
}
