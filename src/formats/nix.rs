//! Nix output in a saved terminal transcript (`nix build`, `nix-store`, `nix copy`,
//! `nixos-rebuild switch`, `nix-daemon`), with the attic client and ssh lines that such
//! transcripts carry. Input: a transcript file, optionally with a timestamp prefix per line
//! (`ts`, an RFC 3339 stamp or the runner's FF_TIMESTAMPS prefix). Output: one event per
//! record; `error:`/`warning:` blocks keep their 7-space indented lines and `… while …`
//! trace frames, and `these N paths will be fetched:` keeps its path list.
//!
//! The line classifier [`classify`] is shared: the GitLab trace parser runs it on job output
//! and [`Format::refine`] runs it on journal messages of `nix-daemon`, `nixos-rebuild`,
//! `nixos-upgrade`. Fields: `store_path`, `substituter`, `url`, `http_status`,
//! `sqlite_statement`, `units`, `host`, `command`, plus the attic client's `cache`, `server`
//! and `error` (see [`super::atticd::classify_client`]). Both quote styles are accepted
//! (`'…'`, `‘…’`) and the doubled `'"…"'` of Nix 2.34+ (formats.md 5.2).
//!
//! Lines without a timestamp get [`ClockMethod::Missing`]: the clock stage interpolates them
//! between stamped neighbours.

use super::{Format, Refined, Sink};
use crate::event::{ClockMethod, Event, Fields, Severity, Text};
use crate::ingest::Source;
use crate::lines::{Lines, Terminator};
use std::borrow::Cow;
use std::ops::Range;

/// Nix terminal transcripts.
pub struct Nix;

/// A physical line made readable: `\r` overwrites resolved, ANSI stripped. Borrowed (with
/// its offset in the source) when nothing had to be removed, so fields can be spans.
#[derive(Debug)]
pub struct Clean<'a> {
    /// The visible bytes.
    pub b: Cow<'a, [u8]>,
    /// Offset of `b[0]` in the source when `b` is borrowed from it.
    pub base: Option<usize>,
    /// When `b` is the line with its escapes removed: where its pieces are in the source
    /// (see [`crate::text::strip_ansi_runs`]), so that a range within one piece is still a
    /// span. Empty otherwise.
    pub runs: &'a [crate::text::Run],
}

impl<'a> Clean<'a> {
    /// Cleans `text`, which starts at byte `start` of the source; `cr` resolves `\r`
    /// overwrites first (terminal transcripts, progress bars).
    pub fn new(text: &'a [u8], start: usize, cr: bool) -> Clean<'a> {
        let (t, start) = if cr {
            let r = crate::text::resolve_cr(text);
            let off = r.as_ptr() as usize - text.as_ptr() as usize;
            (r, start + off)
        } else {
            (text, start)
        };
        match crate::text::strip_ansi(t) {
            Cow::Borrowed(b) => Clean {
                b: Cow::Borrowed(b),
                base: Some(start),
                runs: &[],
            },
            Cow::Owned(v) => Clean::owned(v),
        }
    }
    /// Decoded text that is no span of the source.
    pub fn owned(v: Vec<u8>) -> Clean<'a> {
        Clean {
            b: Cow::Owned(v),
            base: None,
            runs: &[],
        }
    }
    /// Like [`Clean::new`] without `\r` resolution, stripping into reused buffers: no
    /// allocation per line, and fields within one piece between escapes stay spans (a
    /// coloured tracing line's target, level and most values).
    pub fn with_buffers(
        text: &'a [u8],
        start: usize,
        buf: &'a mut Vec<u8>,
        runs: &'a mut Vec<crate::text::Run>,
    ) -> Clean<'a> {
        if memchr::memchr(0x1b, text).is_none() {
            return Clean {
                b: Cow::Borrowed(text),
                base: Some(start),
                runs: &[],
            };
        }
        crate::text::strip_ansi_runs(text, start, buf, runs);
        Clean {
            b: Cow::Borrowed(buf.as_slice()),
            base: None,
            runs: runs.as_slice(),
        }
    }
    /// The text of `r` (a range of `self.b`): a span when borrowed, owned otherwise.
    pub fn text(&self, r: Range<usize>) -> Text {
        let e = r.end.min(self.b.len());
        let s = r.start.min(e);
        if let Some(base) = self.base {
            return Text::span(base + s, base + e);
        }
        // A range inside one verbatim piece is the same bytes in the source: a span, when
        // it is valid UTF-8 (the owned text would be the lossy decoding).
        if s < e
            && let Some(r) = self
                .runs
                .iter()
                .find(|r| r.clean <= s && e <= r.clean + r.len)
            && std::str::from_utf8(&self.b[s..e]).is_ok()
        {
            return Text::span(r.raw + (s - r.clean), r.raw + (e - r.clean));
        }
        Text::Owned(crate::text::lossy(&self.b[s..e]).into())
    }
    /// True when the line holds only spaces and tabs.
    pub fn is_blank(&self) -> bool {
        self.b.iter().all(|c| matches!(c, b' ' | b'\t'))
    }
}

/// What [`classify`] recognised in one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Class {
    /// Severity the line states.
    pub severity: Severity,
    /// Program the line comes from (`nix`, `attic`, `ssh`, `nixos-rebuild`, `shell`).
    pub unit: &'static str,
    /// True when indented lines that follow belong to this record.
    pub block: bool,
    /// Fields found (name, range in the message).
    pub fields: Vec<(&'static str, Range<usize>)>,
}

/// Parses a timestamp prefix at the start of a transcript line: the runner's FF_TIMESTAMPS
/// prefix (`2026-03-25T10:00:00.123456Z 00O `), an RFC 3339 time, an ISO local time, or
/// `ts`'s default `Mar 25 10:00:00`. Returns (time, clock, bytes used including the
/// separating space).
pub fn stamp(b: &[u8]) -> Option<(i64, ClockMethod, usize)> {
    if b.first().is_none_or(|c| !c.is_ascii_alphanumeric()) {
        return None;
    }
    if let Some((t, used)) = runner_stamp(b) {
        return Some((t, ClockMethod::Exact, used));
    }
    if let Some((t, zone, used)) = crate::time::parse_iso(b) {
        if b.get(used) == Some(&b' ') {
            let clock = if zone {
                ClockMethod::Exact
            } else {
                ClockMethod::LocalNoZone
            };
            return Some((t, clock, used + 1));
        }
        return None;
    }
    let (t, used) = crate::time::parse_bsd(b)?;
    (b.get(used) == Some(&b' ')).then_some((t, ClockMethod::NoYear, used + 1))
}

/// Parses the runner's per-line timestamp prefix (formats.md 4.4): 27 bytes of time, a space,
/// two hex digits of stream id, `O` or `E`, and `' '` or `'+'`. Returns (time, 32).
pub fn runner_stamp(b: &[u8]) -> Option<(i64, usize)> {
    if b.len() < 32 || b[26] != b'Z' || b[27] != b' ' {
        return None;
    }
    if !b[28].is_ascii_hexdigit()
        || !b[29].is_ascii_hexdigit()
        || !matches!(b[30], b'O' | b'E')
        || !matches!(b[31], b' ' | b'+')
    {
        return None;
    }
    let (t, used) = crate::time::parse_rfc3339(&b[..27])?;
    (used == 27).then_some((t, 32))
}

/// Finds `needle` in `b`.
pub(crate) fn find(b: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(b, needle)
}

/// The inner range of a quoted string starting at `b[at]`: `'"…"'`, `'…'`, `‘…’`, `"…"`.
/// Returns (inner range, index just past the closing quote).
pub fn quoted(b: &[u8], at: usize) -> Option<(Range<usize>, usize)> {
    let rest = b.get(at..)?;
    let (open, close): (&[u8], &[u8]) = if rest.starts_with(b"'\"") {
        (b"'\"", b"\"'")
    } else if rest.starts_with(b"'") {
        (b"'", b"'")
    } else if rest.starts_with("‘".as_bytes()) {
        ("‘".as_bytes(), "’".as_bytes())
    } else if rest.starts_with(b"\"") {
        (b"\"", b"\"")
    } else {
        return None;
    };
    let s = at + open.len();
    let e = s + find(&b[s..], close)?;
    Some((s..e, e + close.len()))
}

/// The range of the first `/nix/store/<hash>-<name>` in `b` (without a sub-path).
pub fn store_path(b: &[u8]) -> Option<Range<usize>> {
    store_path_at(b, find(b, b"/nix/store/")?)
}

/// The store path whose `/nix/store/` starts at `b[s]`.
fn store_path_at(b: &[u8], s: usize) -> Option<Range<usize>> {
    let mut e = s + 11;
    while e < b.len() && (b[e].is_ascii_alphanumeric() || b"+-._?=".contains(&b[e])) {
        e += 1;
    }
    (e > s + 11).then_some(s..e)
}

fn push_once(fields: &mut Vec<(&'static str, Range<usize>)>, k: &'static str, r: Range<usize>) {
    if !r.is_empty() && !fields.iter().any(|(n, _)| *n == k) {
        fields.push((k, r));
    }
}

/// Finds a constant needle with a searcher built once per call site: `extract` runs on
/// every Nix line, and building its dozen searchers per line cost more than searching.
macro_rules! find_const {
    ($hay:expr, $needle:expr) => {{
        static FINDER: std::sync::OnceLock<memchr::memmem::Finder<'static>> =
            std::sync::OnceLock::new();
        FINDER
            .get_or_init(|| memchr::memmem::Finder::new($needle))
            .find($hay)
    }};
}

/// The quoted value after a constant key (as [`quoted_after`]).
macro_rules! quoted_after_const {
    ($hay:expr, $key:expr) => {{
        let key: &'static [u8] = $key;
        find_const!($hay, key).and_then(|i| quoted($hay, i + key.len()).map(|(r, _)| r))
    }};
}

/// Adds the fields every Nix message may carry: store path, URL, substituter, HTTP status,
/// SQLite statement.
pub fn extract(b: &[u8], fields: &mut Vec<(&'static str, Range<usize>)>) {
    if let Some(r) = find_const!(b, b"/nix/store/").and_then(|s| store_path_at(b, s)) {
        push_once(fields, "store_path", r);
    }
    for r in [
        quoted_after_const!(b, b"unable to download "),
        quoted_after_const!(b, b"unable to upload "),
        quoted_after_const!(b, b"cannot connect to "),
    ]
    .into_iter()
    .flatten()
    {
        push_once(fields, "url", r);
    }
    // `disabling binary cache '…'`, `substituter '…' is disabled`, `copying path '…' from
    // '…'`, `ignoring substitute for '…' from '…'`: only URL-like values are substituters.
    for r in [
        quoted_after_const!(b, b"binary cache "),
        quoted_after_const!(b, b"substituter "),
        quoted_after_const!(b, b" from "),
    ]
    .into_iter()
    .flatten()
    {
        if [&b"http"[..], b"s3:", b"ssh", b"file:", b"daemon", b"local"]
            .iter()
            .any(|p| b[r.clone()].starts_with(p))
        {
            push_once(fields, "substituter", r);
        }
    }
    // `copying path '…' to 'ssh://root@node1'...` (nix copy --to, nixos-rebuild --target-host)
    if let Some(r) = quoted_after_const!(b, b" to ")
        && [&b"ssh"[..], b"http", b"s3:", b"file:"]
            .iter()
            .any(|p| b[r.clone()].starts_with(p))
    {
        push_once(fields, "url", r);
    }
    if let Some(i) = find_const!(b, b"HTTP error ") {
        let s = i + 11;
        let mut e = s;
        while e < b.len() && b[e].is_ascii_digit() {
            e += 1;
        }
        push_once(fields, "http_status", s..e);
    }
    for r in [
        quoted_after_const!(b, b"SQLite statement "),
        quoted_after_const!(b, b"SQLite query "),
    ]
    .into_iter()
    .flatten()
    {
        push_once(fields, "sqlite_statement", r);
    }
    if !fields.iter().any(|(k, _)| *k == "url")
        && let Some(s) = find_const!(b, b"https://").or_else(|| find_const!(b, b"http://"))
    {
        let mut e = s;
        while e < b.len() && !matches!(b[e], b' ' | b'\'' | b'"' | b')' | b'\t') {
            e += 1;
        }
        if b[s..e].ends_with(b":") {
            e -= 1;
        }
        push_once(fields, "url", s..e);
    }
}

/// Lines of `nixos-rebuild` / `switch-to-configuration` that list units.
const UNIT_LISTS: &[&str] = &[
    "stopping the following units: ",
    "restarting the following units: ",
    "starting the following units: ",
    "reloading the following units: ",
    "the following new units were started: ",
    "NOT restarting the following changed units: ",
    "the following units failed: ",
];

/// Activation and rebuild progress lines without fields of their own.
const ACTIVATION: &[&str] = &[
    "activating the configuration...",
    "setting up /etc...",
    "reloading user units for ",
    "restarting sysinit-reactivation.target",
    "building the system configuration...",
    "updating GRUB",
    "Done. The new configuration is ",
    "switching to system configuration ",
    "copying the configuration",
    "stopping swap device",
    "restarting the following units",
];

/// Prefixes one of which every line [`classify_full`] recognises starts with (after its
/// indentation), shell errors aside (those are known by their end). Shortened where that
/// covers several branches (`error` for `error:` and `error (ignored):`): the gate must
/// only never say no to a line a branch takes. A branch added to `classify_full` needs its
/// prefix here (the test `gate_agrees_with_the_full_classifier` reads every fixture).
const GATE: &[&str] = &[
    "error",
    "warning:",
    "evaluation warning:",
    "copying ",
    "building ",
    "querying info about",
    "unpacking ",
    "evaluating derivation",
    "accepted connection from pid",
    "these ",
    "this ",
    "path ",
    "reading the Nix store",
    "checking ",
    "unexpected Nix daemon error:",
    // ssh
    "Connection to ",
    "Shared connection to ",
    "ssh: ",
    "client_loop: send disconnect:",
    "Timeout, server ",
    "packet_write_wait:",
    "kex_exchange_identification:",
    "Host key verification failed",
    // attic client
    "❌ ",
    "✅ ",
    "⚙",
    "Error",
    "✍️ ",
    "Configuring Nix to use ",
    "✨ Created cache ",
    "+ Substituter: ",
    "🤷 ",
    // the attic client's tracing lines
    "ERROR ",
    "WARN ",
    "INFO ",
    "DEBUG ",
    "TRACE ",
];

/// [`GATE`] with [`UNIT_LISTS`] and [`ACTIVATION`], as one anchored automaton: a line of
/// ordinary command output (`   Compiling serde v1.0`) is turned away after a few bytes
/// instead of some sixty prefix comparisons.
static GATE_AC: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .start_kind(aho_corasick::StartKind::Anchored)
        .build(GATE.iter().chain(UNIT_LISTS).chain(ACTIVATION))
        .expect("static patterns")
});

/// Classifies one message (ANSI already stripped, no timestamp). `None` when the line is
/// not a Nix, activation, ssh, shell or attic client line.
pub fn classify(b: &[u8]) -> Option<Class> {
    let t = b.trim_ascii_start();
    let input = aho_corasick::Input::new(t).anchored(aho_corasick::Anchored::Yes);
    if !GATE_AC.is_match(input) {
        // No prefix branch can take it: only a shell error can.
        return shell(t).map(|cl| shift(cl, b.len() - t.len()));
    }
    classify_full(b)
}

/// [`classify`] without the prefix gate.
fn classify_full(b: &[u8]) -> Option<Class> {
    let mut c = Class {
        unit: "nix",
        ..Class::default()
    };
    let t = b.trim_ascii_start();
    let lead = b.len() - t.len();
    if t.starts_with(b"error:") || t.starts_with(b"error (ignored):") {
        c.severity = Severity::Err;
        c.block = true;
    } else if t.starts_with(b"warning:") || t.starts_with(b"evaluation warning:") {
        c.severity = Severity::Warning;
        c.block = true;
    } else if t.starts_with(b"copying path ")
        || t.starts_with(b"building '")
        || t.starts_with("building ‘".as_bytes())
        || t.starts_with(b"querying info about")
        || t.starts_with(b"unpacking ")
        || t.starts_with(b"evaluating derivation")
        || t.starts_with(b"accepted connection from pid")
    {
        c.severity = Severity::Info;
    } else if (t.starts_with(b"these ") || t.starts_with(b"this "))
        && (find(t, b" will be fetched").is_some()
            || find(t, b" will be built").is_some()
            || find(t, b" will be copied").is_some())
    {
        c.severity = Severity::Info;
        c.block = true;
    } else if (t.starts_with(b"path '") || t.starts_with("path ‘".as_bytes()))
        && (find(t, b" disappeared").is_some()
            || find(t, b" was modified!").is_some()
            || find(t, b" is not valid").is_some())
    {
        // `nix-store --verify` reports with printError, without an `error:` prefix.
        c.severity = Severity::Err;
    } else if t.starts_with(b"reading the Nix store")
        || t.starts_with(b"checking path existence")
        || t.starts_with(b"checking hashes")
        || (t.starts_with(b"copying ") && find(t, b" paths").is_some())
    {
        c.severity = Severity::Info;
    } else if t.starts_with(b"unexpected Nix daemon error:") {
        c.severity = Severity::Err;
    } else if let Some(k) = UNIT_LISTS.iter().find(|k| t.starts_with(k.as_bytes())) {
        c.unit = "nixos-rebuild";
        c.severity = if k.contains("failed") {
            Severity::Err
        } else {
            Severity::Notice
        };
        let s = lead + k.len();
        push_once(&mut c.fields, "units", s..b.trim_ascii_end().len());
        return Some(c);
    } else if ACTIVATION.iter().any(|k| t.starts_with(k.as_bytes())) {
        c.unit = "nixos-rebuild";
        c.severity = Severity::Info;
    } else if let Some(cl) = ssh(t) {
        return Some(shift(cl, lead));
    } else if let Some(cl) = shell(t) {
        return Some(shift(cl, lead));
    } else if let Some(cl) = super::atticd::classify_client(t) {
        return Some(shift(cl, lead));
    } else if let Some(sev) = tracing_level(t) {
        // The attic client's own tracing output (`WARN attic::config: …`) once `stamp`
        // took its timestamp.
        c.unit = "attic";
        c.severity = sev;
    } else {
        return None;
    }
    // `warning: the following units failed: a.service` (switch-to-configuration)
    if let Some(i) = find(b, b"the following units failed: ") {
        push_once(&mut c.fields, "units", i + 28..b.trim_ascii_end().len());
    }
    extract(b, &mut c.fields);
    Some(c)
}

/// `LEVEL target: ` at the start of `t` (a tracing fmt line without its timestamp).
fn tracing_level(t: &[u8]) -> Option<Severity> {
    let sp = memchr::memchr(b' ', t)?;
    let sev = match &t[..sp] {
        b"ERROR" => Severity::Err,
        b"WARN" => Severity::Warning,
        b"INFO" => Severity::Info,
        b"DEBUG" | b"TRACE" => Severity::Debug,
        _ => return None,
    };
    let rest = &t[sp + 1..];
    let c = find(rest, b": ")?;
    rest[..c]
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        .then_some(sev)
}

fn shift(mut c: Class, by: usize) -> Class {
    for (_, r) in &mut c.fields {
        *r = r.start + by..r.end + by;
    }
    c
}

/// ssh client lines seen in `nixos-rebuild --target-host` and `nix copy --to ssh://`
/// transcripts.
fn ssh(t: &[u8]) -> Option<Class> {
    let mut c = Class {
        unit: "ssh",
        severity: Severity::Err,
        ..Class::default()
    };
    for (pre, post) in [
        (&b"Connection to "[..], &b" closed by remote host"[..]),
        (b"Shared connection to ", b" closed"),
        (b"Connection to ", b" closed"),
        (b"ssh: connect to host ", b" port "),
        (b"ssh: Could not resolve hostname ", b":"),
    ] {
        if t.starts_with(pre)
            && let Some(e) = find(&t[pre.len()..], post)
        {
            if pre.starts_with(b"Shared") || (post == b" closed" && pre == b"Connection to ") {
                c.severity = Severity::Info;
            }
            push_once(&mut c.fields, "host", pre.len()..pre.len() + e);
            return Some(c);
        }
    }
    if t.starts_with(b"client_loop: send disconnect:")
        || t.starts_with(b"Timeout, server ")
        || t.starts_with(b"packet_write_wait:")
        || t.starts_with(b"kex_exchange_identification:")
        || t.starts_with(b"Host key verification failed")
    {
        return Some(c);
    }
    None
}

/// Shell errors of a CI script: `bash: line 3: attic: command not found`,
/// `/bin/sh: 1: attic: not found` (formats.md 5.3, wording UNCONFIRMED: tolerant).
fn shell(t: &[u8]) -> Option<Class> {
    let end = t.trim_ascii_end().len();
    let tail: &[u8] = if t[..end].ends_with(b": command not found") {
        b": command not found"
    } else if t[..end].ends_with(b": not found")
        && (t.starts_with(b"/bin/sh:") || t.starts_with(b"sh:"))
    {
        b": not found"
    } else {
        return None;
    };
    let body = &t[..end - tail.len()];
    let s = memchr::memrchr(b':', body).map_or(0, |i| i + 1);
    let s = s + (body.len() - s - body[s..].trim_ascii_start().len());
    let mut c = Class {
        unit: "shell",
        severity: Severity::Err,
        ..Class::default()
    };
    push_once(&mut c.fields, "command", s..body.len());
    Some(c)
}

/// True when `t` (a message) continues an open Nix block: indented text or a `… ` frame.
pub fn continues_block(t: &[u8]) -> bool {
    matches!(t.first(), Some(b' ' | b'\t')) || t.starts_with("…".as_bytes())
}

/// The atoms of the field names one parse has used, so that naming a field on every line
/// costs a comparison of a few bytes instead of hashing the name. Names are interned on
/// first use, in the order a parse without the cache would intern them.
#[derive(Debug, Default)]
pub(crate) struct KeyAtoms(Vec<(&'static str, crate::event::Atom)>);

impl KeyAtoms {
    /// The atom of `k` in `atoms` (which must be the same for every call).
    pub(crate) fn get(
        &mut self,
        atoms: &mut crate::event::Atoms,
        k: &'static str,
    ) -> crate::event::Atom {
        // A name is nearly always the same literal as last time: its address says so
        // without comparing the bytes.
        let same = |n: &&str| std::ptr::eq(n.as_ptr(), k.as_ptr()) && n.len() == k.len();
        if let Some((_, a)) = self.0.iter().find(|(n, _)| same(n)) {
            return *a;
        }
        if let Some((_, a)) = self.0.iter().find(|(n, _)| *n == k) {
            return *a;
        }
        let a = atoms.intern(k);
        self.0.push((k, a));
        a
    }
}

/// Interns the fields of `clean` (ranges of `clean.b` shifted by `off`) onto fields `to` in
/// `sink`'s store, skipping a name `to` already has.
pub(crate) fn add_fields(
    sink: &mut Sink<'_>,
    to: &mut Fields,
    keys: &mut KeyAtoms,
    clean: &Clean<'_>,
    off: usize,
    fields: &[(&'static str, Range<usize>)],
) {
    for (k, r) in fields {
        let a = keys.get(&mut sink.atoms, k);
        if sink.fields.find(*to, a).is_some() {
            continue;
        }
        sink.fields
            .push(to, a, clean.text(r.start + off..r.end + off));
    }
}

/// Builds the message of the event being continued without copying it again for every
/// continuation line (a `these 5000 paths will be fetched` list, a long span trace, a
/// stream of `+` trace entries would otherwise cost quadratic time). The text is written
/// back into the event when another event is continued and at the end ([`Pending::flush`]).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    idx: Option<usize>,
    buf: String,
}

impl Pending {
    /// Appends `sep` and `text` to the message of the last event.
    pub(crate) fn append(&mut self, events: &mut [Event], source: &[u8], sep: &str, text: &[u8]) {
        let Some(last) = events.len().checked_sub(1) else {
            return;
        };
        if self.idx != Some(last) {
            self.flush(events);
            self.buf.clear();
            self.buf
                .push_str(&crate::text::lossy(events[last].message.bytes(source)));
            self.idx = Some(last);
        }
        self.buf.push_str(sep);
        self.buf.push_str(&crate::text::lossy(text));
    }
    /// Writes the built message back into its event.
    pub(crate) fn flush(&mut self, events: &mut [Event]) {
        if let Some(i) = self.idx.take()
            && let Some(ev) = events.get_mut(i)
        {
            ev.message = Text::Owned(std::mem::take(&mut self.buf).into_boxed_str());
        }
    }
}

/// True for the journal identifiers whose messages [`Nix`] refines.
fn refines_ident(ident: &str) -> bool {
    matches!(
        ident,
        "nix"
            | "nix-daemon"
            | "nix-store"
            | "nixos-rebuild"
            | "nixos-rebuild-ng"
            | "nixos-upgrade"
            | "switch-to-configuration"
            | "nix-gc"
            | "nixos-activation"
    )
}

/// True for the journal identifiers whose indented messages continue a Nix error block.
fn continues_ident(ident: &str) -> bool {
    ident.starts_with("nix")
}

impl Format for Nix {
    fn name(&self) -> &'static str {
        "nix"
    }
    fn description(&self) -> &'static str {
        "Nix, nixos-rebuild and attic client output saved from a terminal (error blocks, copies, activation)"
    }
    fn sniff(&self, sample: &[u8]) -> u8 {
        let mut n = 0u32;
        let mut hits = 0u32;
        for line in Lines::new(sample, Terminator::detect(sample)).take(200) {
            let c = Clean::new(line.text, line.start, true);
            if c.is_blank() {
                continue;
            }
            n += 1;
            let body = match stamp(&c.b) {
                Some((_, _, used)) => &c.b[used..],
                None => &c.b[..],
            };
            // Shell errors and bare tracing lines appear in any log: no evidence of Nix.
            if classify(body).is_some_and(|cl| cl.unit != "shell")
                && tracing_level(body.trim_ascii_start()).is_none()
            {
                hits += 1;
            }
        }
        if hits == 0 {
            return 0;
        }
        // Strong evidence only when Nix lines are a fair share of the transcript: a
        // journal with one embedded `error:` must stay a journal.
        let share = hits * 100 / n.max(1);
        if hits >= 2 && share >= 10 {
            (40 + share.min(40)) as u8
        } else {
            20
        }
    }
    fn parse(&self, src: &Source, sink: &mut Sink<'_>) {
        let mut open = false;
        let mut pending = Pending::default();
        let mut keys = KeyAtoms::default();
        for line in Lines::new(&src.bytes, src.terminator) {
            let c = Clean::new(line.text, line.start, true);
            if c.is_blank() {
                sink.blank(1);
                continue;
            }
            let (time, clock, used) = stamp(&c.b).unwrap_or((0, ClockMethod::Missing, 0));
            let body = &c.b[used..];
            if body.trim_ascii().is_empty() {
                // `ts` stamps empty lines too: blank inside a block, blank outside.
                sink.blank(1);
                continue;
            }
            if open && continues_block(body) {
                let cl = {
                    let mut f = Vec::new();
                    extract(body, &mut f);
                    f
                };
                if sink.continue_last(&line).is_some() {
                    pending.append(&mut sink.events, &src.bytes, "\n", &c.b[used..]);
                    let last = sink.events.len() - 1;
                    let mut to = sink.events[last].fields;
                    add_fields(sink, &mut to, &mut keys, &c, used, &cl);
                    sink.events[last].fields = to;
                }
                continue;
            }
            if memchr::memchr(0, body).is_some() {
                // NUL bytes: a binary file or a corrupted transcript, not terminal text.
                sink.unparsed(&line, "binary data in a transcript");
                open = false;
                continue;
            }
            let class = classify(body);
            let mut ev = Event {
                time,
                clock,
                line: line.no,
                end_line: line.no,
                offset: line.start as u64,
                ..Event::default()
            };
            ev.message = c.text(used..c.b.len());
            open = false;
            if let Some(cl) = &class {
                ev.severity = cl.severity;
                ev.unit = sink.atoms.intern(cl.unit);
                add_fields(sink, &mut ev.fields, &mut keys, &c, used, &cl.fields);
                open = cl.block;
            }
            sink.push(ev);
        }
        pending.flush(&mut sink.events);
    }
    fn embeds(&self, ident: &str) -> bool {
        refines_ident(ident) || continues_ident(ident)
    }
    fn refine(&self, ident: &str, msg: &[u8]) -> Option<Refined> {
        if !refines_ident(ident) {
            return None;
        }
        if memchr::memchr(0x1b, msg).is_none() {
            let cl = classify(msg)?;
            return Some(Refined {
                severity: Some(cl.severity),
                time: None,
                message_start: 0,
                fields: cl.fields,
            });
        }
        // Nix colours `error:` on a terminal; give the journal parser raw ranges.
        let st = crate::text::Stripped::new(msg);
        let cl = classify(&st.text)?;
        Some(Refined {
            severity: Some(cl.severity),
            time: None,
            message_start: 0,
            fields: cl
                .fields
                .into_iter()
                .filter(|(_, r)| !r.is_empty())
                .map(|(k, r)| (k, st.raw_range(r)))
                .collect(),
        })
    }
    fn is_continuation(&self, ident: &str, msg: &[u8]) -> bool {
        continues_ident(ident) && continues_block(&crate::text::strip_ansi(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_agrees_with_the_full_classifier() {
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for src in crate::ingest::fixture_and_sample_sources() {
            for l in Lines::new(&src.bytes, src.terminator) {
                let c = Clean::new(l.text, l.start, true);
                let o = stamp(&c.b).map_or(0, |(_, _, u)| u);
                lines.push(c.b[o..].to_vec());
            }
        }
        assert!(lines.len() > 1000, "fixtures not found");
        // Every literal the branches test, alone, indented and followed by text.
        for p in GATE.iter().chain(UNIT_LISTS).chain(ACTIVATION) {
            for l in [
                p.to_string(),
                format!("  {p}x y: z"),
                format!("{p} will be fetched"),
            ] {
                lines.push(l.into_bytes());
            }
        }
        let mut taken = 0;
        for l in &lines {
            let full = classify_full(l);
            taken += usize::from(full.is_some());
            assert_eq!(classify(l), full, "{}", String::from_utf8_lossy(l));
        }
        assert!(taken > 100, "{taken}");
    }

    fn field<'a>(b: &'a [u8], c: &Class, k: &str) -> Option<&'a str> {
        c.fields
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, r)| std::str::from_utf8(&b[r.clone()]).unwrap())
    }

    #[test]
    fn error_fields_http_and_url() {
        let l = b"error: unable to download 'https://cache.example.org/main/nar/0abc.nar': HTTP error 500";
        let c = classify(l).unwrap();
        assert_eq!(c.severity, Severity::Err);
        assert!(c.block);
        assert_eq!(
            field(l, &c, "url"),
            Some("https://cache.example.org/main/nar/0abc.nar")
        );
        assert_eq!(field(l, &c, "http_status"), Some("500"));
    }

    #[test]
    fn quote_styles_socket_and_sqlite() {
        let l = "error: cannot connect to socket at ‘/nix/var/nix/daemon-socket/socket’: Connection refused".as_bytes();
        let c = classify(l).unwrap();
        assert_eq!(
            field(l, &c, "url"),
            None,
            "socket paths are not urls: {c:?}"
        );
        let l = b"error: executing SQLite statement 'delete from ValidPaths where path = '\"x\"'': constraint failed";
        let c = classify(l).unwrap();
        assert!(
            field(l, &c, "sqlite_statement")
                .unwrap()
                .starts_with("delete from ValidPaths")
        );
        let l = b"error: path '\"/nix/store/ab12-hello-2.12\"' is not valid";
        let c = classify(l).unwrap();
        assert_eq!(
            field(l, &c, "store_path"),
            Some("/nix/store/ab12-hello-2.12")
        );
        assert_eq!(quoted(b"'\"/a\"' x", 0), Some((2..4, 6)));
        assert_eq!(quoted(b"'unterminated", 0), None);
    }

    #[test]
    fn copying_path_substituter_and_activation_units() {
        let l = b"copying path '/nix/store/9z8y-openssl-3.0.13' from 'https://cache.nixos.org'...";
        let c = classify(l).unwrap();
        assert_eq!(
            field(l, &c, "store_path"),
            Some("/nix/store/9z8y-openssl-3.0.13")
        );
        assert_eq!(field(l, &c, "substituter"), Some("https://cache.nixos.org"));
        let l = b"restarting the following units: tailscaled.service, sshd.service";
        let c = classify(l).unwrap();
        assert_eq!(c.unit, "nixos-rebuild");
        assert_eq!(
            field(l, &c, "units"),
            Some("tailscaled.service, sshd.service")
        );
        let l = b"switching to system configuration /nix/store/5f4d3s2a1p0o9i8u7y6t5r4e3w2q1z0x-nixos-system-node1-25.05";
        let c = classify(l).unwrap();
        assert_eq!((c.unit, c.severity), ("nixos-rebuild", Severity::Info));
        assert_eq!(
            field(l, &c, "store_path"),
            Some("/nix/store/5f4d3s2a1p0o9i8u7y6t5r4e3w2q1z0x-nixos-system-node1-25.05")
        );
        let l = b"warning: the following units failed: minio.service";
        let c = classify(l).unwrap();
        assert_eq!(c.severity, Severity::Warning);
        assert_eq!(field(l, &c, "units"), Some("minio.service"));
    }

    #[test]
    fn substituter_forms() {
        let l = b"warning: ignoring substitute for '/nix/store/aa11-x' from 'https://attic.example.net/dev-cache', as it's not signed by any of the keys in 'trusted-public-keys'";
        let c = classify(l).unwrap();
        assert_eq!(
            field(l, &c, "substituter"),
            Some("https://attic.example.net/dev-cache")
        );
        assert_eq!(field(l, &c, "store_path"), Some("/nix/store/aa11-x"));
        let l = b"error: disabling binary cache 'http://172.17.0.1:8083/blog-cache' for 60 seconds";
        let c = classify(l).unwrap();
        assert_eq!(
            field(l, &c, "substituter"),
            Some("http://172.17.0.1:8083/blog-cache")
        );
        // a local path after `from` is not a substituter
        let l = b"error: copying path '/nix/store/bb22-y' from '/tmp/x'";
        assert_eq!(field(l, &classify(l).unwrap(), "substituter"), None);
    }

    #[test]
    fn ssh_and_shell_lines() {
        let l = b"Connection to 100.64.0.7 closed by remote host.";
        let c = classify(l).unwrap();
        assert_eq!((c.unit, c.severity), ("ssh", Severity::Err));
        assert_eq!(field(l, &c, "host"), Some("100.64.0.7"));
        let l = b"bash: line 142: attic: command not found";
        let c = classify(l).unwrap();
        assert_eq!(field(l, &c, "command"), Some("attic"));
        let l = b"/bin/sh: 1: attic: not found";
        assert_eq!(field(l, &classify(l).unwrap(), "command"), Some("attic"));
        assert_eq!(classify(b"hello world"), None);
        assert_eq!(classify(b"errors: 0"), None);
    }

    #[test]
    fn attic_client_tracing_lines() {
        let l = b"2026-03-25T10:00:00.000001Z  WARN attic::config: Could not get config path: x";
        let (_, _, used) = stamp(l).unwrap();
        let c = classify(&l[used..]).unwrap();
        assert_eq!((c.unit, c.severity), ("attic", Severity::Warning));
        assert_eq!(classify(b"WARN about something: x"), None);
    }

    #[test]
    fn stamps() {
        let (t, c, u) = stamp(b"2026-03-25T10:00:00.123456Z 00O copying").unwrap();
        assert_eq!((c, u), (ClockMethod::Exact, 32));
        assert_eq!(t, 1_774_432_800_123_456_000);
        assert_eq!(
            stamp(b"Mar 25 10:00:01 error: x").unwrap().1,
            ClockMethod::NoYear
        );
        assert_eq!(
            stamp(b"2026-03-25 10:00:01 error: x").unwrap().1,
            ClockMethod::LocalNoZone
        );
        assert_eq!(stamp(b"error: x"), None);
        assert_eq!(stamp(b"2026-03-25T10:00:00Zx"), None);
    }

    #[test]
    fn refine_in_journal() {
        let m = b"error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': No such file or directory";
        let r = Nix.refine("nixos-upgrade", m).unwrap();
        assert_eq!(r.severity, Some(Severity::Err));
        assert!(Nix.refine("sshd", m).is_none());
        let m = b"\x1b[31;1merror:\x1b[0m path '/nix/store/aa11-x' is not valid";
        let r = Nix.refine("nixos-rebuild", m).unwrap();
        assert_eq!(r.severity, Some(Severity::Err));
        let (_, sp) = r.fields.iter().find(|(k, _)| *k == "store_path").unwrap();
        assert_eq!(&m[sp.clone()], b"/nix/store/aa11-x");
        assert!(Nix.is_continuation("nixos-rebuild", "       … while copying".as_bytes()));
        assert!(!Nix.is_continuation("nixos-rebuild", b"building x"));
    }
}
