//! GitLab CI job traces (formats.md 4.1-4.4): raw traces as the runner writes them (ANSI
//! colours including `ESC[0;m` and `ESC[0K`, `\r` overwrites, CR-only files,
//! `section_start:<unix>:<name>[opts]` / `section_end:` markers anywhere on a line and several
//! per physical line, the FF_TIMESTAMPS prefix `2026-03-25T10:00:00.123456Z 00O ` detected
//! per line), and traces copied from the web page (no ANSI, section durations such as `00:13`
//! on their own line, optional line numbers).
//!
//! Output: one event per logical line with visible text or a marker, unit `job`. A line's
//! visible text is what remains after its last `\r` that has text (progress bars). Time:
//! Exact from the line's stamp, else from a section marker on it (whole seconds), else
//! [`ClockMethod::Missing`] for the clock stage to interpolate between stamped neighbours
//! by line number.
//!
//! `+` (append) entries. The runner's timestamper ends an entry at every `\n`, after a write
//! that holds a `\r` (adding a `\n` of its own) and when 8 KiB pile up; the next entry of
//! that stream is then flagged `+`. Such a write can end anywhere: after a marker's `\r\e[0K`,
//! inside a marker (`…\r\e[0Ksecti` / `+on_start:…`), inside a word. So a physical line and
//! the `+` entries of the same stream right after it are one logical line, read exactly as
//! if the program's bytes had been one line: each entry without its prefix, the program's
//! `\r` before the runner's `\n` kept (a `\r` overwrites, so a progress bar written as
//! twenty `+` entries shows its last state), markers searched in the joined bytes. The
//! event starts at the first physical line and ends at the last (the others count as
//! continuation lines); its stamp is the first one. Decisions:
//! - A `+` entry joins only a line with a prefix of the same stream (`01O` ≠ `01E` ≠
//!   `00O`). After another stream's line (the other stream wrote in between), a line
//!   without a prefix, or as the first line of the file, it starts a logical line of its
//!   own ([`View::append`]): an event is a run of adjacent lines, and the entry it
//!   continues cannot be known or is not adjacent.
//! - A blank entry (`00O \e[0K`) followed by `+` entries is one logical line with their text,
//!   starting at the blank line; a line with NUL bytes is unparsed with its fragments.
//! - A `+` entry after a `\r` on the same physical line (a trace whose runner wrote no `\n`
//!   there) overwrites like any `\r`.
//! - A logical line holds at most `MAX_JOINED_LINES` physical lines (a progress bar redrawn
//!   for hours); the next entry starts another.
//! - Message text that straddles two entries is owned (no span holds it); a marker name cut
//!   by the join is taken as a span of the same bytes elsewhere in the source (its
//!   `section_end`, usually), else copied once and shared ([`Raw::Joined`]).
//!
//! Every event carries `executor` and `job` (when known; a span of the trace's `id=N`, else
//! one [`Text::Shared`] of the file name's id, so no event allocates it) and `section` (the
//! open section);
//! runner lines carry `runner_version`, `runner_name`, `image`, `command` (`$ cmd`),
//! `status`, `exit_code`; command output goes through the Nix/attic/ssh classifier of
//! [`super::nix::classify`], so Nix `error:` blocks keep their indented lines. The per-job
//! summary is [`job_facts`].

use super::nix::{Clean, KeyAtoms, Pending, add_fields};
use super::{Format, Sink};
use crate::event::{ClockMethod, Event, Severity, Text};
use crate::ingest::Source;
use crate::lines::{Line, Lines, Terminator};
use serde::Serialize;
use std::borrow::Cow;
use std::ops::Range;

/// GitLab CI job traces.
pub struct GitlabTrace;

/// How a job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobStatus {
    /// `Job succeeded`.
    Succeeded,
    /// `ERROR: Job failed: exit code N` (and variants).
    Failed,
    /// `ERROR: Job failed (system failure): …`.
    SystemFailure,
    /// `execution took longer than …` / `job execution timeout`.
    Timeout,
    /// `Job canceled` / `Job failed: canceled`.
    Canceled,
}

impl JobStatus {
    /// kebab-case name (also the `status` field value).
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::SystemFailure => "system-failure",
            JobStatus::Timeout => "timeout",
            JobStatus::Canceled => "canceled",
        }
    }
}

/// One section of the job.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SectionFact {
    /// Marker name (`step_script`), or the header text in a web-copied trace.
    pub name: String,
    /// Start (UTC ns) from `section_start`.
    pub start: Option<i64>,
    /// End (UTC ns) from `section_end`.
    pub end: Option<i64>,
    /// Duration in seconds (end - start, or the `00:13` of a web-copied trace).
    pub duration_s: Option<u64>,
    /// 1-based line where the section starts.
    pub line: u32,
}

/// What a job trace says about its job, for the reasoning stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct JobFacts {
    /// Job id (from the trace, else from the file name `job-1234.log` / `1234.log`).
    pub job_id: Option<u64>,
    /// `17.11.0` from `Running with gitlab-runner 17.11.0 (0f67ff19)`.
    pub runner_version: Option<String>,
    /// Runner name from the `  on NAME TOKEN` line.
    pub runner_name: Option<String>,
    /// Short runner token from the same line.
    pub runner_token: Option<String>,
    /// `shell`, `docker`, `kubernetes`, `docker+machine`, `docker-autoscaler`, …
    pub executor: Option<String>,
    /// Job image (`Using Docker executor with image …`).
    pub image: Option<String>,
    /// Sections in order.
    pub sections: Vec<SectionFact>,
    /// Commands run (`$ cmd`), in order.
    pub commands: Vec<String>,
    /// Final status.
    pub status: Option<JobStatus>,
    /// Exit code of a failed job.
    pub exit_code: Option<i32>,
    /// The failure text after `Job failed: ` / `Job failed (system failure): `.
    pub failure: Option<String>,
    /// `WARNING: …` lines (at most 50).
    pub warnings: Vec<String>,
    /// True when the trace was copied from the web page (no markers, durations on lines).
    pub web_copy: bool,
}

/// Where the bytes of a marker's name (or whole text) are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Raw {
    /// An absolute byte range of the source.
    Source(Range<usize>),
    /// A copy (shared, as every event of the section carries it): the marker was split
    /// across `+` fragments and these bytes stand nowhere whole in the source. Names are
    /// ASCII; a whole marker's options are decoded lossily.
    Joined(std::sync::Arc<str>),
}

impl Raw {
    /// The bytes, given the source's.
    pub fn get<'a>(&'a self, src: &'a [u8]) -> &'a [u8] {
        match self {
            Raw::Source(r) => src.get(r.clone()).unwrap_or_default(),
            Raw::Joined(b) => b.as_bytes(),
        }
    }
    /// As an event text: a span, or (a [`Raw::Joined`]) the shared copy.
    fn text(&self) -> Text {
        match self {
            Raw::Source(r) => Text::span(r.start, r.end),
            Raw::Joined(b) => Text::Shared(b.clone()),
        }
    }
}

/// A section marker found on a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// `section_start` (true) or `section_end`.
    pub start: bool,
    /// Unix seconds.
    pub secs: i64,
    /// The name.
    pub name: Raw,
    /// The whole marker text.
    pub all: Raw,
}

/// One logical line (a physical line and the `+` fragments joined to it) made readable.
#[derive(Debug)]
pub struct View<'a> {
    /// Time from the FF_TIMESTAMPS prefix (the first one of the logical line).
    pub stamp: Option<i64>,
    /// The line starts with a `+` (append) prefix that joined nothing: the first line of
    /// the file, or one after a line of another stream or without a prefix.
    pub append: bool,
    /// Markers, in order.
    pub markers: Vec<Marker>,
    /// Visible text (ANSI stripped, `\r` resolved, markers and stamps removed).
    pub text: Clean<'a>,
}

/// Parses a marker at `s[i..]` (which starts with `section_`). Returns (start?, secs, name
/// range, end) relative to `s`.
fn marker_at(s: &[u8], i: usize) -> Option<(bool, i64, Range<usize>, usize)> {
    let r = &s[i..];
    let (start, mut p) = if r.starts_with(b"section_start:") {
        (true, 14)
    } else if r.starts_with(b"section_end:") {
        (false, 12)
    } else {
        return None;
    };
    let ds = p;
    while p < r.len() && r[p].is_ascii_digit() {
        p += 1;
    }
    // Unix seconds; beyond what i64 nanoseconds hold (year 2262) it is no marker of a real
    // clock (found by fuzzing: the multiplication to nanoseconds overflowed).
    let secs = crate::text::parse_u64(&r[ds..p])? as i64;
    if !(0..=i64::MAX / 1_000_000_000).contains(&secs) {
        return None;
    }
    if r.get(p) != Some(&b':') {
        return None;
    }
    p += 1;
    let ns = p;
    while p < r.len() && (r[p].is_ascii_alphanumeric() || b"_-.".contains(&r[p])) {
        p += 1;
    }
    if p == ns {
        return None;
    }
    let name = i + ns..i + p;
    if start
        && r.get(p) == Some(&b'[')
        && let Some(e) = memchr::memchr(b']', &r[p..])
    {
        p += e + 1;
    }
    Some((start, secs, name, i + p))
}

/// The marker prefix finder, built once (building a `memmem` finder per line costs more
/// than the search).
static SECTION: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"section_"));

/// The `\r`-separated segments of a line (as `split(|c| c == b'\r')` gives them), found
/// with `memchr` instead of a byte-at-a-time predicate: most lines have no `\r` at all.
struct CrSegments<'a>(Option<&'a [u8]>);

impl<'a> Iterator for CrSegments<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let r = self.0?;
        match memchr::memchr(b'\r', r) {
            Some(i) => {
                self.0 = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                self.0 = None;
                Some(r)
            }
        }
    }
}

/// Makes a line readable (see [`View`]); `start` is its offset in the source.
///
/// Segments are what `\r` separates; each may start with an FF_TIMESTAMPS prefix (a `+`
/// entry written after a `\r` without the runner's `\n`), which is removed. The visible
/// text is the last segment that has any (a `\r` overwrites the line as on a terminal,
/// whether the runner flagged the segment `+` or not).
pub fn view(line: &[u8], start: usize) -> View<'_> {
    let mut v = View {
        stamp: None,
        append: false,
        markers: Vec::new(),
        text: Clean {
            b: Cow::Borrowed(&line[..0]),
            base: Some(start),
            runs: &[],
        },
    };
    let mut seg_off = 0;
    for (k, seg) in CrSegments(Some(line)).enumerate() {
        let off0 = seg_off;
        seg_off += seg.len() + 1;
        let mut s = seg;
        let mut off = off0;
        if let Some((t, used)) = super::nix::runner_stamp(s) {
            v.stamp.get_or_insert(t);
            if k == 0 {
                v.append = s[31] == b'+';
            }
            s = &s[used..];
            off += used;
        }
        // Remove markers; keep the text around them.
        let mut pieces: [Range<usize>; 2] = [0..0, 0..0];
        let mut npieces = 0;
        let mut extra = false;
        let mut from = 0;
        let mut i = 0;
        while let Some(j) = SECTION.find(&s[i..]) {
            let at = i + j;
            if let Some((st, secs, name, end)) = marker_at(s, at) {
                v.markers.push(Marker {
                    start: st,
                    secs,
                    name: Raw::Source(start + off + name.start..start + off + name.end),
                    all: Raw::Source(start + off + at..start + off + end),
                });
                if at > from {
                    if npieces < 2 {
                        pieces[npieces] = from..at;
                        npieces += 1;
                    } else {
                        extra = true;
                    }
                }
                from = end;
                i = end;
            } else {
                i = at + 8;
            }
        }
        if from < s.len() {
            if npieces < 2 {
                pieces[npieces] = from..s.len();
                npieces += 1;
            } else {
                extra = true;
            }
        }
        let c = match npieces {
            0 => continue,
            1 if !extra => Clean::new(&s[pieces[0].clone()], start + off + pieces[0].start, false),
            _ => {
                // Text on both sides of a marker: rebuild it without the markers.
                let mut out = Vec::with_capacity(s.len());
                let mut p = 0;
                let mut q = 0;
                while let Some(j) = SECTION.find(&s[q..]) {
                    let at = q + j;
                    match marker_at(s, at) {
                        Some((_, _, _, end)) => {
                            out.extend_from_slice(&s[p..at]);
                            p = end;
                            q = end;
                        }
                        None => q = at + 8,
                    }
                }
                out.extend_from_slice(&s[p..]);
                Clean::owned(crate::text::strip_ansi(&out).into_owned())
            }
        };
        if !c.is_blank() {
            v.text = c;
        }
    }
    v
}

/// A physical line as the walk sees it: the line, and its text after a web copy's line
/// number with the text's offset in the source.
#[derive(Clone, Copy, Debug)]
struct Phys<'a> {
    line: Line<'a>,
    text: &'a [u8],
    start: usize,
}

/// The stream (`01O`) of a line with an FF_TIMESTAMPS prefix, and whether it is a `+`
/// fragment.
fn stream_of(t: &[u8]) -> Option<([u8; 3], bool)> {
    // The cheap byte tests first: most lines of most traces have no prefix.
    if t.len() < 32 || t[26] != b'Z' {
        return None;
    }
    super::nix::runner_stamp(t)?;
    Some(([t[28], t[29], t[30]], t[31] == b'+'))
}

/// Whether `t` is a `+` fragment of the stream of `head` (the first line of the logical
/// line so far). The head's prefix is parsed only for a `+` line: most lines are none.
fn continues(head: &[u8], t: &[u8]) -> bool {
    t.get(31) == Some(&b'+')
        && stream_of(t).is_some_and(|(s, _)| stream_of(head).is_some_and(|(h, _)| h == s))
}

/// Reused buffers for grouping and joining `+` fragments.
#[derive(Default)]
struct JoinBufs<'a> {
    /// The physical lines of the logical line being gathered.
    group: Vec<Phys<'a>>,
    /// The joined bytes.
    buf: Vec<u8>,
    /// (offset in `buf`, offset in the source, length) of each piece.
    pieces: Vec<(usize, usize, usize)>,
    /// The physical lines of the logical line.
    lines: Vec<Line<'a>>,
}

/// The source range of `buf[r]` when it lies within one piece.
fn to_source(pieces: &[(usize, usize, usize)], r: &Range<usize>) -> Option<Range<usize>> {
    let &(v, s, len) = pieces.iter().rev().find(|(v, _, _)| *v <= r.start)?;
    (r.end <= v + len).then(|| s + (r.start - v)..s + (r.end - v))
}

/// Calls `f` with the logical line made of `group` (a head line and the `+` fragments that
/// continue it). One line is viewed in place; several are joined as the program wrote
/// them: each fragment without its prefix, each line but the last with the `\r` before its
/// `\n` (the runner ends an entry after a write holding `\r`, and the line iterator takes
/// that `\r` for half of a CRLF). Ranges of the joined view are mapped back to the source;
/// text that straddles two fragments is owned, and a marker name that does is looked up
/// whole elsewhere in the source (its `section_end`) before it is copied.
fn emit<'a>(
    bytes: &'a [u8],
    term: Terminator,
    group: &[Phys<'a>],
    jb: &mut JoinBufs<'a>,
    f: &mut impl FnMut(&[Line<'a>], View<'_>),
) {
    let Some(last) = group.len().checked_sub(1) else {
        return;
    };
    if last == 0 {
        let p = &group[0];
        f(std::slice::from_ref(&p.line), view(p.text, p.start));
        return;
    }
    jb.buf.clear();
    jb.pieces.clear();
    jb.lines.clear();
    for (i, p) in group.iter().enumerate() {
        let skip = if i == 0 { 0 } else { 32 };
        let (s, mut e) = (p.start + skip, p.start + p.text.len());
        if i < last && term == Terminator::Lf && bytes.get(e) == Some(&b'\r') {
            e += 1;
        }
        jb.pieces.push((jb.buf.len(), s, e - s));
        jb.buf.extend_from_slice(&bytes[s..e]);
        jb.lines.push(p.line);
    }
    let pieces = &jb.pieces;
    let mut v = view(&jb.buf, 0);
    let buf = &jb.buf;
    let locate = |raw: &mut Raw, search: bool| {
        if let Raw::Source(r) = raw {
            *raw = match to_source(pieces, r) {
                Some(s) => Raw::Source(s),
                None => {
                    let b = &buf[r.clone()];
                    match memchr::memmem::find(bytes, b).filter(|_| search) {
                        Some(i) => Raw::Source(i..i + b.len()),
                        None => Raw::Joined(crate::text::lossy(b).into()),
                    }
                }
            };
        }
    };
    for m in &mut v.markers {
        locate(&mut m.name, true);
        locate(&mut m.all, false);
    }
    if let Some(b) = v.text.base {
        v.text.base = to_source(pieces, &(b..b + v.text.b.len())).map(|r| r.start);
    }
    f(&jb.lines, v);
}

/// Runner (not script) lines: header, stage titles and the end of the job.
fn runner_severity(t: &[u8]) -> Option<Severity> {
    if t.starts_with(b"ERROR: ") {
        Some(Severity::Err)
    } else if t.starts_with(b"WARNING: ") {
        Some(Severity::Warning)
    } else if t.starts_with(b"FATAL: ") {
        Some(Severity::Crit)
    } else if t.starts_with(b"Job succeeded") {
        Some(Severity::Notice)
    } else {
        None
    }
}

/// `00:13` / `01:02:03` alone on a line: a section duration in a web-copied trace.
fn web_duration(t: &[u8]) -> Option<u64> {
    let t = t.trim_ascii();
    let ok = |a: usize| t.get(a..a + 2).and_then(|d| crate::text::digits(d, 2));
    match t.len() {
        5 if t[2] == b':' => Some(u64::from(ok(0)? * 60 + ok(3)?)),
        8 if t[2] == b':' && t[5] == b':' => Some(u64::from(ok(0)? * 3600 + ok(3)? * 60 + ok(6)?)),
        _ => None,
    }
}

/// The command of a `$ cmd` echo line, without the runner's `# collapsed multi-line
/// command` note (formats.md 4.3).
fn command_of(t: &[u8]) -> Range<usize> {
    let mut e = t.trim_ascii_end().len();
    let note: &[u8] = b" # collapsed multi-line command";
    if t[..e].ends_with(note) {
        e -= note.len();
    }
    2.min(e)..e
}

/// The substrings [`status_of`] looks for on every line, with prebuilt finders (building a
/// searcher per call cost more than the search).
#[derive(Clone, Copy)]
enum Status {
    Ob,
    Timeout,
    Failed,
    TookLonger,
}

static STATUS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 4]> =
    std::sync::LazyLock::new(|| {
        [
            &b"ob "[..],
            b"job execution timeout",
            b"Job failed",
            b"execution took longer than",
        ]
        .map(memchr::memmem::Finder::new)
    });

/// Status from a final runner line.
fn status_of(t: &[u8]) -> Option<(JobStatus, Option<Range<usize>>)> {
    let has = |n: Status| STATUS[n as usize].find(t).is_some();
    if t.starts_with(b"Job succeeded") {
        return Some((JobStatus::Succeeded, None));
    }
    // Both searches need `ob `: one search rejects nearly every line of job output.
    if has(Status::Ob) && (has(Status::Timeout) || (has(Status::Failed) && has(Status::TookLonger)))
    {
        return Some((JobStatus::Timeout, None));
    }
    if t.starts_with(b"Job canceled") || t.starts_with(b"ERROR: Job failed: canceled") {
        return Some((JobStatus::Canceled, None));
    }
    for (p, s) in [
        (
            &b"ERROR: Job failed (system failure): "[..],
            JobStatus::SystemFailure,
        ),
        (b"ERROR: Job failed: ", JobStatus::Failed),
    ] {
        if t.starts_with(p) {
            return Some((s, Some(p.len()..t.trim_ascii_end().len())));
        }
    }
    None
}

/// The exit code in a failure text (`exit code 1`, `exit status 1`, `exit code: 1`).
fn exit_code(t: &[u8]) -> Option<i32> {
    for k in [&b"exit code "[..], b"exit status ", b"exit code: "] {
        if let Some(i) = memchr::memmem::find(t, k) {
            let s = i + k.len();
            let d = t[s..].iter().take_while(|c| c.is_ascii_digit()).count();
            return crate::text::parse_u64(&t[s..s + d]).map(|n| n as i32);
        }
    }
    None
}

fn quoted_in(t: &[u8], key: &[u8]) -> Option<Range<usize>> {
    let i = memchr::memmem::find(t, key)? + key.len();
    let e = memchr::memchr(b'"', &t[i..])?;
    Some(i..i + e)
}

/// The executor named by a line: `Preparing the "docker+machine" executor`, `Using Shell
/// (bash) executor...`, `Using Kubernetes executor with image …`.
fn executor_of(t: &[u8]) -> Option<Range<usize>> {
    if t.starts_with(b"Preparing the \"") && t.trim_ascii_end().ends_with(b"\" executor") {
        return quoted_in(t, b"Preparing the \"");
    }
    None
}

/// The image from `Using Docker executor with image IMG ...` (also Kubernetes).
fn image_of(t: &[u8]) -> Option<Range<usize>> {
    if !t.starts_with(b"Using ") {
        return None;
    }
    let i = memchr::memmem::find(t, b" executor with image ")? + 21;
    let e = memchr::memchr(b' ', &t[i..]).map_or(t.len(), |j| i + j);
    (e > i).then_some(i..e)
}

/// A job id from a file name: `job-1234.log`, `job_1234.txt`, `1234.log`, `1234.log.gz`, or
/// a job name with the id after a dash or underscore (`pages-4711.log`, `build_5521.txt`; at
/// least three digits there, so `node-2.log` names no job).
pub fn job_id_from_path(path: &str) -> Option<u64> {
    let base = path.rsplit(['/', '\\']).next()?;
    let stem = base.split('.').next()?;
    let all_digits = |d: &str| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit());
    let digits = stem
        .strip_prefix("job")
        .map(|s| s.trim_start_matches(['-', '_']))
        .unwrap_or(stem);
    if all_digits(digits) {
        return digits.parse().ok();
    }
    let (_, tail) = stem.rsplit_once(['-', '_'])?;
    (all_digits(tail) && tail.len() >= 3)
        .then(|| tail.parse().ok())
        .flatten()
}

/// `t` without a web page's leading line number (sniffing only).
fn skip_digits(t: &[u8]) -> &[u8] {
    &t[t.iter().take_while(|c| c.is_ascii_digit()).count()..]
}

/// Leading line number of a web-copied trace (`12` in `12$ nix build`): the shortest digit
/// prefix not below the expected number (sections collapsed in the page skip numbers; a
/// line `01:02` numbered 10 reads `1001:02`). Returns (bytes to skip, number); (0, 0) when
/// absent.
fn line_number_len(t: &[u8], expect_at_least: u64) -> (usize, u64) {
    let d = t.iter().take(7).take_while(|c| c.is_ascii_digit()).count();
    for len in 1..=d {
        let Some(n) = crate::text::parse_u64(&t[..len]) else {
            continue;
        };
        if n >= expect_at_least && n <= expect_at_least + 1000 {
            let mut e = len;
            // One separator; a second space is the content's own indent (`  on runner`).
            if t.get(e) == Some(&b'\t') || (t.get(e) == Some(&b' ') && t.get(e + 1) != Some(&b' '))
            {
                e += 1;
            }
            return (e, n);
        }
    }
    (0, 0)
}

/// The first line number when the trace is a web copy with line numbers (`1Running with…`,
/// `2  on …`), found from the first three non-blank lines reading `n…`, `n+1…`, `n+2…` (so a
/// piece cut from the middle of such a copy is recognised too).
fn numbered(bytes: &[u8], term: Terminator) -> Option<u64> {
    let mut lines = Lines::new(bytes, term).filter(|l| !l.text.trim_ascii().is_empty());
    let (a, b, c) = (lines.next()?.text, lines.next()?.text, lines.next()?.text);
    let d = a.iter().take(6).take_while(|c| c.is_ascii_digit()).count();
    (1..=d).find_map(|len| {
        let n = crate::text::parse_u64(&a[..len])?;
        let starts = |t: &[u8], k: u64| {
            let s = k.to_string();
            t.starts_with(s.as_bytes())
        };
        (starts(b, n + 1) && starts(c, n + 2)).then_some(n)
    })
}

/// Most physical lines joined into one logical line: a progress bar redrawn for hours is
/// a chain of `+` entries as long as the job, and the join copies it. The entry after the
/// cap starts a logical line of its own (and the chain goes on from it).
const MAX_JOINED_LINES: usize = 100_000;

/// Groups `lines` into logical lines (a line and the `+` fragments of its stream right
/// after it, at most [`MAX_JOINED_LINES`]) and calls `f` with each. Stops before a logical
/// line whose head `stop` returns true for.
fn logical_lines<'a>(
    bytes: &'a [u8],
    term: Terminator,
    lines: impl Iterator<Item = Phys<'a>>,
    mut stop: impl FnMut(&Phys<'a>) -> bool,
    jb: &mut JoinBufs<'a>,
    f: &mut impl FnMut(&[Line<'a>], View<'_>),
) {
    let mut group = std::mem::take(&mut jb.group);
    group.clear();
    for p in lines {
        if group.len() < MAX_JOINED_LINES
            && group.first().is_some_and(|h| continues(h.text, p.text))
        {
            group.push(p);
            continue;
        }
        emit(bytes, term, &group, jb, f);
        group.clear();
        if stop(&p) {
            break;
        }
        group.push(p);
    }
    emit(bytes, term, &group, jb, f);
    group.clear();
    jb.group = group;
}

/// Walks the trace once, calling `f` with each logical line (its physical lines, after
/// line-number stripping) and its view.
fn walk<'a>(src_bytes: &'a [u8], term: Terminator, mut f: impl FnMut(&[Line<'a>], View<'_>)) {
    let first_no = numbered(src_bytes, term);
    let num = first_no.is_some();
    let mut next_no = first_no.unwrap_or(1);
    let phys = Lines::new(src_bytes, term).map(|line| {
        let mut text = line.text;
        let mut start = line.start;
        if num {
            let (l, n) = line_number_len(text, next_no);
            if l > 0 {
                next_no = n + 1;
                text = &text[l..];
                start += l;
            }
        }
        Phys { line, text, start }
    });
    logical_lines(
        src_bytes,
        term,
        phys,
        |_| false,
        &mut JoinBufs::default(),
        &mut f,
    );
}

/// Extracts the [`JobFacts`] of a trace; `path` supplies the job id when the content does
/// not.
pub fn job_facts_bytes(bytes: &[u8], path: &str) -> JobFacts {
    let term = Terminator::detect(bytes);
    let mut jf = JobFacts::default();
    let mut prev_text: Option<(String, u32)> = None;
    let mut saw_marker = false;
    walk(bytes, term, |lines, v| {
        let line = &lines[0];
        for m in &v.markers {
            saw_marker = true;
            let name = crate::text::lossy(m.name.get(bytes)).into_owned();
            let t = m.secs * 1_000_000_000;
            if m.start {
                jf.sections.push(SectionFact {
                    name,
                    start: Some(t),
                    line: line.no,
                    ..SectionFact::default()
                });
            } else if let Some(s) = jf
                .sections
                .iter_mut()
                .rev()
                .find(|s| s.name == name && s.end.is_none())
            {
                s.end = Some(t);
                s.duration_s = s.start.map(|st| ((t - st) / 1_000_000_000).max(0) as u64);
            } else {
                jf.sections.push(SectionFact {
                    name,
                    end: Some(t),
                    line: line.no,
                    ..SectionFact::default()
                });
            }
        }
        let t = &v.text.b[..];
        if t.is_empty() {
            return;
        }
        if !saw_marker
            && let Some(d) = web_duration(t)
            && let Some((name, no)) = prev_text.take()
        {
            jf.web_copy = true;
            jf.sections.push(SectionFact {
                name,
                duration_s: Some(d),
                line: no,
                ..SectionFact::default()
            });
            return;
        }
        // Only a trace without markers reads it back (web copies): no string per line
        // otherwise.
        if !saw_marker {
            prev_text = Some((crate::text::lossy(t.trim_ascii()).into_owned(), line.no));
        }
        let s = |r: Range<usize>| crate::text::lossy(&t[r]).into_owned();
        if let Some(rest) = t.strip_prefix(b"Running with gitlab-runner ") {
            let mut it = rest.split(|&c| c == b' ');
            jf.runner_version = it.next().map(|v| crate::text::lossy(v).into_owned());
        } else if t.starts_with(b"  on ") && jf.runner_name.is_none() {
            let body = &t[5..];
            let body = memchr::memmem::find(body, b", system ID")
                .map_or(body, |i| &body[..i])
                .trim_ascii_end();
            match memchr::memrchr(b' ', body) {
                Some(i) => {
                    jf.runner_name = Some(crate::text::lossy(&body[..i]).into_owned());
                    jf.runner_token = Some(crate::text::lossy(&body[i + 1..]).into_owned());
                }
                None => jf.runner_name = Some(crate::text::lossy(body).into_owned()),
            }
        } else if let Some(r) = executor_of(t) {
            jf.executor = Some(s(r));
        } else if let Some(r) = image_of(t) {
            jf.image.get_or_insert_with(|| s(r));
            if t.starts_with(b"Using Docker executor") {
                jf.executor.get_or_insert_with(|| "docker".into());
            } else if t.starts_with(b"Using Kubernetes executor") {
                jf.executor.get_or_insert_with(|| "kubernetes".into());
            }
        } else if t.starts_with(b"Using Shell") {
            jf.executor.get_or_insert_with(|| "shell".into());
        } else if t.starts_with(b"$ ") {
            if jf.commands.len() < 500 {
                jf.commands.push(s(command_of(t)));
            }
        } else if let Some((st, r)) = status_of(t) {
            jf.status = Some(st);
            if let Some(r) = r {
                jf.exit_code = exit_code(&t[r.clone()]);
                jf.failure = Some(s(r));
            }
        } else if let Some(w) = t.strip_prefix(b"WARNING: ") {
            if jf.warnings.len() < 50 {
                jf.warnings
                    .push(crate::text::lossy(w.trim_ascii_end()).into_owned());
            }
        } else if t.starts_with(b"Uploading artifacts as ")
            && let Some(i) = memchr::memmem::find(t, b" id=")
        {
            let d = t[i + 4..].iter().take_while(|c| c.is_ascii_digit()).count();
            jf.job_id = crate::text::parse_u64(&t[i + 4..i + 4 + d]).or(jf.job_id);
        }
    });
    if jf.job_id.is_none() {
        jf.job_id = job_id_from_path(path);
    }
    jf
}

/// The [`JobFacts`] of a source.
pub fn job_facts(src: &Source) -> JobFacts {
    job_facts_bytes(&src.bytes, &src.path)
}

/// What the parse needs to know about the whole trace before its first event: the
/// executor and job id (every event carries them) and whether the trace has section
/// markers (a web copy's duration lines are read only when it has none).
#[derive(Debug, PartialEq, Eq)]
struct ParseFacts {
    executor: Option<String>,
    job_id: Option<u64>,
    markers: bool,
}

/// Needles for the lines [`parse_facts`] must look at (besides lines with ESC or `\r`, and
/// `+` fragments).
static FACT_LINES: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 4]> =
    std::sync::LazyLock::new(|| {
        [
            &b"Preparing the \""[..],
            b"Using ",
            b"Uploading artifacts as ",
            b"section_",
        ]
        .map(memchr::memmem::Finder::new)
    });

/// The [`ParseFacts`] of a trace, equal to what [`job_facts_bytes`] says, without making
/// every line readable: only the lines that can name the executor or the job id or hold a
/// marker are looked at. A line's visible text can start with `Using ` (or hold a marker)
/// only when the raw line holds that text, an escape sequence or a `\r` (which may join
/// pieces), or when it is a `+` fragment (a needle may straddle the join), so every other
/// line is passed over; a candidate is read as the whole logical line it belongs to, from
/// its head (the first line back that is no `+` fragment). Web copies with line numbers
/// (their numbering is state across lines) and CR-only files take the full walk.
fn parse_facts(bytes: &[u8], term: Terminator, path: &str) -> ParseFacts {
    if term != Terminator::Lf || numbered(bytes, term).is_some() {
        let f = job_facts_bytes(bytes, path);
        return ParseFacts {
            markers: f
                .sections
                .iter()
                .any(|s| s.start.is_some() || s.end.is_some()),
            executor: f.executor,
            job_id: f.job_id,
        };
    }
    // Starts of candidate lines: from each hit, the line around it, then on after it.
    let mut starts: Vec<usize> = Vec::new();
    let mut add = |at: usize| -> usize {
        let s = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
        starts.push(s);
        memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i + 1)
    };
    let mut pos = 0;
    while let Some(i) = memchr::memchr2(0x1b, b'\r', &bytes[pos..]) {
        pos = add(pos + i);
    }
    for f in FACT_LINES.iter() {
        let mut pos = 0;
        while let Some(i) = f.find(&bytes[pos..]) {
            pos = add(pos + i);
        }
    }
    // `+` fragments (a needle may straddle the join): one pass over `+`, the prefix's shape
    // (`…Z 01O+`) checked around each.
    let mut pos = 0;
    while let Some(i) = memchr::memchr(b'+', &bytes[pos..]) {
        let at = pos + i;
        pos = if at >= 31
            && matches!(bytes[at - 1], b'O' | b'E')
            && bytes[at - 4] == b' '
            && bytes[at - 5] == b'Z'
        {
            add(at)
        } else {
            at + 1
        };
    }
    starts.sort_unstable();
    starts.dedup();
    let mut pf = ParseFacts {
        executor: None,
        job_id: None,
        markers: false,
    };
    let mut look = |_: &[Line<'_>], v: View<'_>| {
        pf.markers |= !v.markers.is_empty();
        let t = &v.text.b[..];
        // The branches of `job_facts_bytes` in its order; those that name neither the
        // executor nor the job id only stop the later ones.
        if t.is_empty() || t.starts_with(b"Running with gitlab-runner ") || t.starts_with(b"  on ")
        {
            return;
        }
        if let Some(r) = executor_of(t) {
            pf.executor = Some(crate::text::lossy(&t[r]).into_owned());
        } else if image_of(t).is_some() {
            if t.starts_with(b"Using Docker executor") {
                pf.executor.get_or_insert_with(|| "docker".into());
            } else if t.starts_with(b"Using Kubernetes executor") {
                pf.executor.get_or_insert_with(|| "kubernetes".into());
            }
        } else if t.starts_with(b"Using Shell") {
            pf.executor.get_or_insert_with(|| "shell".into());
        } else if t.starts_with(b"$ ") || status_of(t).is_some() || t.starts_with(b"WARNING: ") {
        } else if t.starts_with(b"Uploading artifacts as ")
            && let Some(i) = memchr::memmem::find(t, b" id=")
        {
            let d = t[i + 4..].iter().take_while(|c| c.is_ascii_digit()).count();
            pf.job_id = crate::text::parse_u64(&t[i + 4..i + 4 + d]).or(pf.job_id);
        }
    };
    // `done`: where the logical lines read so far end (a logical line boundary).
    let mut done = 0;
    let mut jb = JoinBufs::default();
    for c in starts {
        if c < done {
            continue;
        }
        let mut head = c;
        // (The `+` byte first: in a stamped trace every candidate has a prefix to parse.)
        while head > done
            && bytes.get(head + 31) == Some(&b'+')
            && stream_of(&bytes[head..]).is_some_and(|(_, plus)| plus)
        {
            head = memchr::memrchr(b'\n', &bytes[..head - 1]).map_or(0, |i| i + 1);
        }
        let phys = Lines::starting_at(bytes, term, head, 1).map(|line| Phys {
            line,
            text: line.text,
            start: line.start,
        });
        done = bytes.len();
        logical_lines(
            bytes,
            term,
            phys,
            |p| {
                let stop = p.start > c;
                if stop {
                    done = p.start;
                }
                stop
            },
            &mut jb,
            &mut look,
        );
    }
    if pf.job_id.is_none() {
        pf.job_id = job_id_from_path(path);
    }
    pf
}

/// Finds the raw source range of the executor name (it is never split by ANSI codes), so
/// every event can carry it as a span.
fn executor_span(bytes: &[u8], executor: &str) -> Option<Text> {
    for key in [&b"Preparing the \""[..], b"Using "] {
        let mut from = 0;
        while let Some(i) = memchr::memmem::find(&bytes[from..], key) {
            let s = from + i + key.len();
            let ex = executor.as_bytes();
            if bytes[s..].starts_with(ex) {
                return Some(Text::span(s, s + ex.len()));
            }
            from = s;
        }
    }
    None
}

impl Format for GitlabTrace {
    /// No records of this format travel inside a journal entry.
    fn embeds(&self, _ident: &str) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "gitlab-trace"
    }
    fn description(&self) -> &'static str {
        "GitLab CI job trace, raw (ANSI, \\r, section markers, FF_TIMESTAMPS) or copied from the web page"
    }
    fn sniff(&self, sample: &[u8]) -> u8 {
        // Evidence must stand at the start of a line (after colour codes, a timestamp
        // prefix or a web page's line number): a journal that quotes a trace line in a
        // message is not a trace.
        let (mut n, mut strong, mut stamped, mut runner, mut cmd, mut end) = (0u32, 0, 0, 0, 0, 0);
        for line in Lines::new(sample, Terminator::detect(sample)).take(300) {
            let v = view(line.text, line.start);
            let t = &v.text.b[..];
            if t.is_empty() && v.markers.is_empty() {
                continue;
            }
            n += 1;
            let unnumbered = skip_digits(t);
            if unnumbered.starts_with(b"Running with gitlab-runner ") {
                strong += 1;
            }
            if !v.markers.is_empty() {
                let mut raw = line.text;
                if let Some((_, used)) = super::nix::runner_stamp(raw) {
                    raw = &raw[used..];
                }
                if crate::text::strip_ansi(raw).starts_with(b"section_") {
                    strong += 1;
                }
            }
            if v.stamp.is_some() {
                stamped += 1;
            }
            if executor_of(unnumbered).is_some()
                || image_of(unnumbered).is_some()
                || (unnumbered.starts_with(b"Executing \"")
                    && unnumbered.ends_with(b"stage of the job script"))
            {
                runner += 1;
            }
            if unnumbered.starts_with(b"$ ") {
                cmd += 1;
            }
            if status_of(unnumbered).is_some() {
                end += 1;
            }
        }
        if strong > 0 {
            95
        } else if stamped > 0 && stamped * 2 >= n {
            90
        } else if runner > 0 {
            85
        } else if cmd > 0 && end > 0 {
            70
        } else {
            0
        }
    }
    fn parse(&self, src: &Source, sink: &mut Sink<'_>) {
        let facts = parse_facts(&src.bytes, src.terminator, &src.path);
        sink.reserve_events(1);
        let unit = sink.atoms.intern("job");
        let k_exec = sink.atoms.intern("executor");
        let k_job = sink.atoms.intern("job");
        let k_section = sink.atoms.intern("section");
        let executor = facts
            .executor
            .as_deref()
            .map(|e| executor_span(&src.bytes, e).unwrap_or_else(|| Text::Owned(e.into())));
        // The job id as a span when the trace states it (`id=88412`), else (it comes from
        // the file name) one shared text: the field on every event costs no allocation.
        let job = facts.job_id.map(|j| {
            let needle = format!("id={j}");
            let mut from = 0;
            while let Some(i) = memchr::memmem::find(&src.bytes[from..], needle.as_bytes()) {
                let s = from + i + 3;
                let e = s + needle.len() - 3;
                let own_key = s == 3 || matches!(src.bytes[s - 4], b' ' | b'\t');
                if own_key && !src.bytes.get(e).is_some_and(u8::is_ascii_digit) {
                    return Text::span(s, e);
                }
                from = e;
            }
            Text::Shared(j.to_string().into())
        });
        // The `program` of classified output lines: a few names, one shared text each.
        let mut programs: Vec<(&'static str, Text)> = Vec::new();
        let k_duration = sink.atoms.intern("duration_s");
        let mut starts: Vec<(Raw, i64)> = Vec::new();
        let mut section: Option<Raw> = None;
        let mut open_block = false;
        let saw_markers = facts.markers;
        let mut pending = Pending::default();
        let mut keys = KeyAtoms::default();
        let bytes: &[u8] = &src.bytes;
        walk(bytes, src.terminator, |lines, v| {
            let line = &lines[0];
            let last_no = lines[lines.len() - 1].no;
            let n = lines.len() as u64;
            let t = &v.text.b[..];
            if t.is_empty() && v.markers.is_empty() {
                sink.blank(n);
                return;
            }
            if !saw_markers
                && v.markers.is_empty()
                && !sink.events.is_empty()
                && web_duration(t).is_some()
            {
                let a = sink.atoms.intern("duration");
                for l in lines {
                    sink.continue_last(l);
                }
                if let Some(ev) = sink.events.last_mut() {
                    sink.fields.push(&mut ev.fields, a, v.text.text(0..t.len()));
                }
                return;
            }
            if open_block && !t.is_empty() && super::nix::continues_block(t) && v.markers.is_empty()
            {
                for l in lines {
                    sink.continue_last(l);
                }
                pending.append(&mut sink.events, bytes, "\n", t);
                return;
            }
            if memchr::memchr(0, t).is_some() {
                // NUL bytes: a binary file or a corrupted trace, not job output.
                sink.unparsed_lines(line.no, line.text, n);
                open_block = false;
                return;
            }
            open_block = false;
            let (time, clock) = match (v.stamp, v.markers.first()) {
                (Some(t), _) => (t, ClockMethod::Exact),
                (None, Some(m)) => (m.secs * 1_000_000_000, ClockMethod::Exact),
                (None, None) => (0, ClockMethod::Missing),
            };
            // The section this line belongs to: a start on it opens one; an end closes
            // after the line.
            let mut closes = false;
            for m in &v.markers {
                if m.start {
                    section = Some(m.name.clone());
                    closes = false;
                } else if section
                    .as_ref()
                    .is_some_and(|s| s.get(bytes) == m.name.get(bytes))
                {
                    closes = true;
                }
            }
            let mut ev = Event {
                time,
                clock,
                line: line.no,
                end_line: last_no,
                offset: line.start as u64,
                unit,
                ..Event::default()
            };
            ev.message = if t.is_empty() {
                v.markers[0].all.text()
            } else {
                v.text.text(0..t.len())
            };
            if let Some(e) = &executor {
                sink.fields.push(&mut ev.fields, k_exec, e.clone());
            }
            if let Some(j) = &job {
                sink.fields.push(&mut ev.fields, k_job, j.clone());
            }
            let sec = section
                .as_ref()
                .or_else(|| v.markers.iter().find(|m| !m.start).map(|m| &m.name));
            if let Some(s) = sec {
                sink.fields.push(&mut ev.fields, k_section, s.text());
            }
            for m in &v.markers {
                if m.start {
                    starts.push((m.name.clone(), m.secs));
                } else if let Some(i) = starts
                    .iter()
                    .rposition(|(n, _)| n.get(bytes) == m.name.get(bytes))
                {
                    let (_, t0) = starts.remove(i);
                    let d = (m.secs - t0).max(0);
                    sink.fields.push(
                        &mut ev.fields,
                        k_duration,
                        Text::Owned(d.to_string().into()),
                    );
                }
            }
            let mut fields: Vec<(&'static str, Range<usize>)> = Vec::new();
            if let Some(sev) = runner_severity(t) {
                ev.severity = sev;
            }
            if let Some(r) = t.strip_prefix(b"Running with gitlab-runner ").map(|r| {
                let e = memchr::memchr(b' ', r).unwrap_or(r.len());
                27..27 + e
            }) {
                fields.push(("runner_version", r));
            } else if t.starts_with(b"  on ") {
                let body = &t[5..];
                let body = memchr::memmem::find(body, b", system ID")
                    .map_or(body, |i| &body[..i])
                    .trim_ascii_end();
                match memchr::memrchr(b' ', body) {
                    Some(e) => {
                        fields.push(("runner_name", 5..5 + e));
                        fields.push(("runner_token", 5 + e + 1..5 + body.len()));
                    }
                    None => fields.push(("runner_name", 5..5 + body.len())),
                }
            } else if let Some(r) = image_of(t) {
                fields.push(("image", r));
            } else if t.starts_with(b"$ ") {
                fields.push(("command", command_of(t)));
            } else if let Some((st, r)) = status_of(t) {
                let a = keys.get(&mut sink.atoms, "status");
                sink.fields
                    .push(&mut ev.fields, a, Text::Owned(st.as_str().into()));
                ev.severity = match st {
                    JobStatus::Succeeded => Severity::Notice,
                    _ => Severity::Err,
                };
                if let Some(r) = r {
                    fields.push(("error", r.clone()));
                    if let Some(c) = exit_code(&t[r]) {
                        let a = keys.get(&mut sink.atoms, "exit_code");
                        sink.fields
                            .push(&mut ev.fields, a, Text::Owned(c.to_string().into()));
                    }
                }
            } else if let Some(cl) = super::nix::classify(t) {
                if ev.severity == Severity::Unknown {
                    ev.severity = cl.severity;
                }
                open_block = cl.block;
                fields.extend(cl.fields);
                let a = keys.get(&mut sink.atoms, "program");
                let prog = match programs.iter().find(|(u, _)| *u == cl.unit) {
                    Some((_, t)) => t.clone(),
                    None => {
                        let t = Text::Shared(cl.unit.into());
                        programs.push((cl.unit, t.clone()));
                        t
                    }
                };
                sink.fields.push(&mut ev.fields, a, prog);
            }
            add_fields(sink, &mut ev.fields, &mut keys, &v.text, 0, &fields);
            sink.push(ev);
            if closes {
                section = None;
            }
        });
        pending.flush(&mut sink.events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_anywhere_and_several_per_line() {
        let l = b"section_end:1624483189:step_script\r\x1b[0Ksection_start:1624483190:cleanup_file_variables\r\x1b[0K\x1b[0K\x1b[36;1mCleaning up file based variables\x1b[0;m";
        let v = view(l, 100);
        assert_eq!(v.markers.len(), 2);
        assert!(!v.markers[0].start);
        let mut src = vec![b'x'; 100];
        src.extend_from_slice(l);
        assert_eq!(v.markers[1].name.get(&src), b"cleanup_file_variables");
        assert_eq!(v.markers[1].secs, 1_624_483_190);
        assert_eq!(&*v.text.b, b"Cleaning up file based variables");
    }

    #[test]
    fn marker_with_options_and_text_on_both_sides() {
        let l = b"x section_start:1700000000:section_script_step_0[hide_duration=true,collapsed=true] y";
        let v = view(l, 0);
        assert_eq!(v.markers.len(), 1);
        assert_eq!(&*v.text.b, b"x  y");
        assert!(marker_at(b"section_start::x", 0).is_none());
        assert!(marker_at(b"section_start:12:", 0).is_none());
    }

    #[test]
    fn progress_overwrites_and_stamps() {
        let v = view(b"Downloading 10%\rDownloading 55%\rDownloading 100%\r", 0);
        assert_eq!(&*v.text.b, b"Downloading 100%");
        assert_eq!(v.text.base, Some(32));
        let l = b"2026-03-25T10:00:00.123456Z 00O $ nix build .#ci";
        let v = view(l, 0);
        assert_eq!(v.stamp, Some(1_774_432_800_123_456_000));
        assert_eq!(&*v.text.b, b"$ nix build .#ci");
        assert_eq!(v.text.base, Some(32));
        // A `+` entry after a `\r` on the same physical line overwrites like any `\r`
        // (the program wrote `\r`; the runner only flagged the next write).
        let l = b"2026-03-25T10:00:00.000001Z 01E Progress: 10%\r2026-03-25T10:00:01.000001Z 01E+Progress: 20%";
        let v = view(l, 0);
        assert_eq!(&*v.text.b, b"Progress: 20%");
        assert_eq!(v.stamp, Some(1_774_432_800_000_001_000));
        assert!(!v.append);
        assert!(view(b"2026-03-25T10:00:01.000001Z 01E+tail", 0).append);
    }

    #[test]
    fn statuses_and_exit_codes() {
        assert_eq!(status_of(b"Job succeeded").unwrap().0, JobStatus::Succeeded);
        let t = b"ERROR: Job failed: exit code 127";
        let (s, r) = status_of(t).unwrap();
        assert_eq!(s, JobStatus::Failed);
        assert_eq!(exit_code(&t[r.unwrap()]), Some(127));
        let t = b"ERROR: Job failed (system failure): prepare environment: Cannot connect to the Docker daemon";
        assert_eq!(status_of(t).unwrap().0, JobStatus::SystemFailure);
        assert_eq!(
            status_of(b"ERROR: Job failed: execution took longer than 1h0m0s seconds")
                .unwrap()
                .0,
            JobStatus::Timeout
        );
        assert_eq!(
            status_of(b"ERROR: Job failed: canceled").unwrap().0,
            JobStatus::Canceled
        );
        assert_eq!(status_of(b"Job failed"), None);
    }

    #[test]
    fn job_id_from_file_names() {
        assert_eq!(job_id_from_path("traces/job-1234.log"), Some(1234));
        assert_eq!(job_id_from_path("5678.log.gz"), Some(5678));
        assert_eq!(job_id_from_path("job_42.txt"), Some(42));
        assert_eq!(job_id_from_path("build.log"), None);
        assert_eq!(job_id_from_path("job.log"), None);
        assert_eq!(job_id_from_path("node1/jobs/pages-4711.log"), Some(4711));
        assert_eq!(job_id_from_path("host-ci_4712.log"), Some(4712));
        assert_eq!(job_id_from_path("node-2.log"), None);
    }

    #[test]
    fn web_line_numbers() {
        assert_eq!(line_number_len(b"1001:02", 10), (2, 10));
        assert_eq!(line_number_len(b"2  on runner", 2), (1, 2));
        assert_eq!(line_number_len(b"14 $ make", 12), (3, 14));
        assert_eq!(line_number_len(b"$ make", 12), (0, 0));
        assert_eq!(line_number_len(b"3 x", 12), (0, 0));
    }

    #[test]
    fn collapsed_commands() {
        let t = b"$ nix build .#a # collapsed multi-line command";
        assert_eq!(&t[command_of(t)], b"nix build .#a");
        assert_eq!(&b"$ ls "[command_of(b"$ ls ")], b"ls");
        assert!(command_of(b"$ ").is_empty());
    }

    #[test]
    fn web_durations() {
        assert_eq!(web_duration(b"00:13"), Some(13));
        assert_eq!(web_duration(b"01:02:03"), Some(3723));
        assert_eq!(web_duration(b"0:13"), None);
        assert_eq!(web_duration(b"ab:cd"), None);
    }

    /// Parses `b` as a trace named `path`; checks the line accounting.
    fn parse(b: &[u8], path: &str) -> (Source, crate::formats::Parsed) {
        let src = Source::from_bytes(0, path, b.to_vec());
        let p = crate::formats::parse_source(
            &src,
            Some(crate::formats::by_name("gitlab-trace").unwrap().0),
        );
        assert_eq!(p.counts.total(), src.lines, "{:?}", p.counts);
        (src, p)
    }

    fn msg_of(src: &Source, ev: &Event) -> String {
        String::from_utf8_lossy(ev.message.bytes(&src.bytes)).into_owned()
    }

    fn field_of(src: &Source, p: &crate::formats::Parsed, ev: &Event, k: &str) -> Option<String> {
        ev.field(&p.fields, &p.atoms, k, &src.bytes)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The shapes of the runner's own timestamper tests (`timestamper_test.go`): a
    /// progress bar of `.\r` writes ending in `Done.\r`, a forced flush of a long line,
    /// and two markers written by two writes.
    #[test]
    fn runner_timestamper_shapes() {
        let mut b = b"2021-01-01T01:00:00.020010Z ffE PREFIX This is the beginning of a new line\n2021-01-01T02:00:00.020010Z ffE PREFIX This is a split up line\n2021-01-01T03:00:00.020010Z ffE PREFIX Progress bar: .\r\n".to_vec();
        for h in 4..=12 {
            b.extend_from_slice(format!("2021-01-01T{h:02}:00:00.020010Z ffE+.\r\n").as_bytes());
        }
        b.extend_from_slice(b"2021-01-01T13:00:00.020010Z ffE+Done.\r\n2021-01-01T14:00:00.020010Z ffE PREFIX Another windows new-line\r\n");
        let (src, p) = parse(&b, "job-1.log");
        assert_eq!(p.events.len(), 4);
        let bar = &p.events[2];
        assert_eq!((bar.line, bar.end_line), (3, 13));
        assert_eq!(msg_of(&src, bar), "Done.");
        assert!(matches!(bar.message, Text::Span { .. }));
        assert_eq!(rfc(bar.time), "2021-01-01T03:00:00.020010Z");
        assert_eq!(
            msg_of(&src, &p.events[3]),
            "PREFIX Another windows new-line"
        );

        let dots = |n| ".".repeat(n);
        let b = format!(
            "2021-01-01T03:00:00.020010Z ffE large continuous write incoming{}\n2021-01-01T04:00:00.020010Z ffE+{}\n2021-01-01T05:00:00.020010Z ffE+ended\n",
            dots(8192),
            dots(8193)
        );
        let (src, p) = parse(b.as_bytes(), "job-1.log");
        assert_eq!(p.events.len(), 1);
        assert_eq!(
            msg_of(&src, &p.events[0]),
            format!("large continuous write incoming{}ended", dots(16385))
        );

        let b = b"2021-01-01T01:00:00.020010Z 01O section_start:123:foo\r\x1b[0K\n2021-01-01T02:00:00.020010Z 01O+section_end:124:foo\r\x1b[0K\n2021-01-01T03:00:00.020010Z 01O after\n";
        let (src, p) = parse(b, "job-1.log");
        assert_eq!(p.events.len(), 2);
        let m = &p.events[0];
        assert_eq!((m.line, m.end_line), (1, 2));
        assert_eq!(msg_of(&src, m), "section_start:123:foo");
        assert_eq!(field_of(&src, &p, m, "section").as_deref(), Some("foo"));
        assert_eq!(field_of(&src, &p, m, "duration_s").as_deref(), Some("1"));
        // The section closed on the logical line before: the next line is in none.
        assert_eq!(field_of(&src, &p, &p.events[1], "section"), None);
        let f = job_facts(&src);
        assert_eq!(f.sections.len(), 1);
        assert_eq!((f.sections[0].line, f.sections[0].duration_s), (1, Some(1)));
    }

    fn rfc(t: i64) -> String {
        crate::time::rfc3339(t)
    }

    /// The task's case: a `section_end` line and a `+` entry opening the next section.
    #[test]
    fn marker_on_an_append_opens_its_section() {
        let b = b"2026-04-14T09:46:40.052000Z 01O section_end:1776160000:prepare_executor\r\x1b[0K\n2026-04-14T09:46:40.065000Z 01O+section_start:1776160001:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage of the job script\x1b[0;m\n2026-04-14T09:46:40.078000Z 01O \x1b[32;1m$ cargo build\x1b[0;m\n";
        let (src, p) = parse(b, "job-1.log");
        assert_eq!(p.events.len(), 2);
        let e = &p.events[0];
        assert_eq!((e.line, e.end_line), (1, 2));
        assert_eq!(
            msg_of(&src, e),
            "Executing \"step_script\" stage of the job script"
        );
        assert_eq!(
            field_of(&src, &p, e, "section").as_deref(),
            Some("step_script")
        );
        assert_eq!(
            field_of(&src, &p, &p.events[1], "section").as_deref(),
            Some("step_script")
        );
        let f = job_facts(&src);
        let names: Vec<_> = f
            .sections
            .iter()
            .map(|s| (s.name.as_str(), s.line))
            .collect();
        assert_eq!(names, [("prepare_executor", 1), ("step_script", 1)]);
        assert_eq!(f.sections[1].start, Some(1_776_160_001_000_000_000));
    }

    #[test]
    fn appends_that_join_nothing() {
        // First line of the file: its own event.
        let (src, p) = parse(
            b"2026-01-01T00:00:00.000000Z 00O+first\n2026-01-01T00:00:01.000000Z 00O+second\n",
            "job-1.log",
        );
        assert_eq!(p.events.len(), 1);
        assert_eq!((p.events[0].line, p.events[0].end_line), (1, 2));
        assert_eq!(msg_of(&src, &p.events[0]), "firstsecond");
        // After a line without a prefix, or of another stream (E vs O, 00 vs 01).
        for head in [
            &b"no prefix"[..],
            b"2026-01-01T00:00:00.000000Z 00E stderr",
            b"2026-01-01T00:00:00.000000Z 01O other id",
        ] {
            let mut b = head.to_vec();
            b.extend_from_slice(b"\n2026-01-01T00:00:01.000000Z 00O+tail\n");
            let (src, p) = parse(&b, "job-1.log");
            assert_eq!(p.events.len(), 2, "{}", String::from_utf8_lossy(head));
            assert_eq!(msg_of(&src, &p.events[1]), "tail");
            assert_eq!(p.events[1].line, 2);
        }
        // After a blank entry of the same stream: one logical line from the blank one.
        let (src, p) = parse(
            b"2026-01-01T00:00:00.000000Z 00O \x1b[0K\n2026-01-01T00:00:01.000000Z 00O+tail\n",
            "job-1.log",
        );
        assert_eq!(p.events.len(), 1);
        assert_eq!((p.events[0].line, p.events[0].end_line), (1, 2));
        assert_eq!(msg_of(&src, &p.events[0]), "tail");
        // A blank entry and a blank fragment: two blank lines.
        let (_, p) = parse(
            b"2026-01-01T00:00:00.000000Z 00O \n2026-01-01T00:00:01.000000Z 00O+\x1b[0K\n",
            "job-1.log",
        );
        assert_eq!((p.events.len(), p.counts.continuation), (0, 2));
        // A chain longer than the cap goes on as a second logical line.
        let mut b = b"2026-01-01T00:00:00.000000Z 00E 0%\r\n".to_vec();
        for i in 1..MAX_JOINED_LINES + 5 {
            b.extend_from_slice(
                format!("2026-01-01T00:00:00.000000Z 00E+{}%\r\n", i % 100).as_bytes(),
            );
        }
        let (src, p) = parse(&b, "job-1.log");
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.events[1].line as usize, MAX_JOINED_LINES + 1);
        assert_eq!(
            msg_of(&src, &p.events[1]),
            format!("{}%", (MAX_JOINED_LINES + 4) % 100)
        );
        // The fast facts cut the chain at the same place: `Us` ends the first logical line,
        // `ing Shell (bash) executor...` starts the next, so no executor is named.
        let mut c = b"2026-01-01T00:00:00.000000Z 00E 0%\r\n".to_vec();
        for i in 1..MAX_JOINED_LINES - 1 {
            c.extend_from_slice(
                format!("2026-01-01T00:00:00.000000Z 00E+{}%\r\n", i % 100).as_bytes(),
            );
        }
        c.extend_from_slice(b"2026-01-01T00:00:00.000000Z 00E+Us\n2026-01-01T00:00:00.000000Z 00E+ing Shell (bash) executor...\n");
        let (src, p) = parse(&c, "x.log");
        assert_eq!(p.events.len(), 2);
        assert_eq!(msg_of(&src, &p.events[1]), "ing Shell (bash) executor...");
        assert_eq!(job_facts_bytes(&c, "x.log").executor, None);
        assert_eq!(parse_facts(&c, Terminator::Lf, "x.log").executor, None);
        // A fragment of a line with NUL bytes is unparsed with it.
        let (_, p) = parse(b"2026-01-01T00:00:00.000000Z 00O ok\n2026-01-01T00:00:00.000000Z 00O a\x00b\n2026-01-01T00:00:01.000000Z 00O+tail\n", "job-1.log");
        assert_eq!((p.events.len(), p.counts.unparsed), (1, 2));
    }

    #[test]
    fn markers_cut_by_the_join() {
        // Cut inside the name, and the name written whole nowhere: the section is a copy.
        let b = b"2026-01-01T00:00:00.000000Z 00O x\rsection_start:1767225600:restore_ca\n2026-01-01T00:00:00.000001Z 00O+che\r\x1b[0KRestoring cache\n2026-01-01T00:00:02.000000Z 00O Checking cache for main-1...\n";
        let (src, p) = parse(b, "job-1.log");
        assert_eq!(p.events.len(), 2);
        assert_eq!(msg_of(&src, &p.events[0]), "Restoring cache");
        for ev in &p.events {
            assert_eq!(
                field_of(&src, &p, ev, "section").as_deref(),
                Some("restore_cache")
            );
        }
        let v = {
            let mut jb = JoinBufs::default();
            let lines: Vec<Phys> = Lines::new(b, Terminator::Lf)
                .take(2)
                .map(|line| Phys {
                    line,
                    text: line.text,
                    start: line.start,
                })
                .collect();
            let mut got = None;
            emit(b, Terminator::Lf, &lines, &mut jb, &mut |_, v| {
                got = Some(v.markers)
            });
            got.unwrap()
        };
        assert_eq!(v[0].name, Raw::Joined("restore_cache".into()));
        let k = p.atoms.find("section").unwrap();
        assert!(p.events.iter().all(|ev| {
            p.fields
                .get(ev.fields)
                .iter()
                .any(|(n, t)| *n == k && matches!(t, Text::Shared(_)))
        }));
        assert_eq!(job_facts(&src).sections[0].name, "restore_cache");
        // Cut inside the seconds, and right after `section_`; names whole: spans.
        let b = b"2026-01-01T00:00:00.000000Z 00O x\rsection_end:17672256\n2026-01-01T00:00:00.000001Z 00O+05:build\r\x1b[0Ksection_\n2026-01-01T00:00:00.000002Z 00O+start:1767225605:test\r\x1b[0K\n2026-01-01T00:00:09.000000Z 00O ok\n";
        let (src, p) = parse(b, "job-1.log");
        assert_eq!(p.events.len(), 2);
        let e = &p.events[0];
        assert_eq!((e.line, e.end_line), (1, 3));
        assert_eq!(msg_of(&src, e), "x");
        assert_eq!(
            field_of(&src, &p, &p.events[1], "section").as_deref(),
            Some("test")
        );
        let k = p.atoms.find("section").unwrap();
        assert!(p.events.iter().all(|ev| {
            p.fields
                .get(ev.fields)
                .iter()
                .any(|(n, t)| *n == k && matches!(t, Text::Span { .. }))
        }));
        let f = job_facts(&src);
        assert_eq!(f.sections.len(), 2);
        assert_eq!(
            (f.sections[0].name.as_str(), f.sections[0].end),
            ("build", Some(1_767_225_605_000_000_000))
        );
        assert_eq!(
            (f.sections[1].name.as_str(), f.sections[1].line),
            ("test", 1)
        );
    }

    /// Traces assembled at random from pieces that `+` joins can cut (markers cut at every
    /// byte, `\r`, escapes, the lines `parse_facts` looks for, other streams, NUL): every
    /// line is accounted for, and the fast facts agree with the full walk.
    #[test]
    fn random_appends_keep_accounting_and_facts() {
        let whole: &[&[u8]] = &[
            b"section_start:1700000000:get_sources\r\x1b[0K",
            b"section_end:1700000009:get_sources\r\x1b[0K",
            b"\x1b[0KUsing Docker executor with image nix:2 ...\x1b[0;m",
            b"Preparing the \"shell\" executor",
            b"Uploading artifacts as \"archive\" to coordinator... 201 Created  id=4711 responseStatus=201",
            b"Job succeeded",
            b"progress 10%\r",
            b"\x1b[0K",
            b"a\x00b",
            b"",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..400 {
            let mut b = Vec::new();
            for i in 0..next(12) + 1 {
                let piece = whole[next(whole.len())];
                let cut = next(piece.len() + 1);
                for (j, part) in [&piece[..cut], &piece[cut..]].into_iter().enumerate() {
                    let stream = [&b"00O"[..], b"00E", b"01O"][next(3).min(next(3))];
                    let flag = if j == 1 || next(3) == 0 { '+' } else { ' ' };
                    if next(8) > 0 {
                        b.extend_from_slice(
                            format!("2024-06-01T00:00:{:02}.000000Z ", i % 60).as_bytes(),
                        );
                        b.extend_from_slice(stream);
                        b.push(flag as u8);
                    }
                    b.extend_from_slice(part);
                    b.extend_from_slice(if next(4) == 0 { b"\r\n" } else { b"\n" });
                }
            }
            let name = format!("job-{round}.log");
            let (src, _) = parse(&b, &name);
            let full = job_facts_bytes(&b, &name);
            let fast = parse_facts(&b, Terminator::detect(&b), &name);
            let want = ParseFacts {
                markers: full
                    .sections
                    .iter()
                    .any(|s| s.start.is_some() || s.end.is_some()),
                executor: full.executor,
                job_id: full.job_id,
            };
            assert_eq!(fast, want, "{}", String::from_utf8_lossy(&src.bytes));
        }
    }

    #[test]
    fn stamped_cargo_build() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gitlab/timestamped-cargo-build-success.log"
        );
        let src = Source::from_bytes(0, path, std::fs::read(path).unwrap());
        let p = crate::formats::parse_source(&src, None);
        assert_eq!(crate::formats::name_of(p.format.unwrap()), "gitlab-trace");
        assert_eq!((p.counts.total(), p.counts.unparsed), (src.lines, 0));
        let field = |ev: &Event, k: &str| {
            let a = p.atoms.find(k)?;
            p.fields
                .get(ev.fields)
                .iter()
                .find(|(n, _)| *n == a)
                .map(|(_, t)| String::from_utf8_lossy(t.bytes(&src.bytes)).into_owned())
        };
        let msg = |ev: &Event| String::from_utf8_lossy(ev.message.bytes(&src.bytes)).into_owned();
        // 49 lines: the `+` line joins the section end before it, and the indented lines
        // after `warning:` are its block (cargo's `  -->` and `    Finished` alike).
        assert_eq!(p.events.len(), 46);
        assert!(p.events.iter().all(|e| e.clock == ClockMethod::Exact));
        assert!(
            p.events
                .iter()
                .all(|e| field(e, "executor").as_deref() == Some("docker"))
        );
        // Lines 5-6: `section_end:…:prepare_executor` and the `+` entry opening step_script.
        let step = &p.events[4];
        assert_eq!((step.line, step.end_line), (5, 6));
        assert_eq!(
            msg(step),
            "Executing \"step_script\" stage of the job script"
        );
        // Up to its `section_end` (line 48); `Job succeeded` comes after.
        let n = p.events.len();
        assert_eq!(p.events[n - 2].line, 48);
        assert_eq!(field(&p.events[n - 1], "section"), None);
        assert!(
            p.events[4..n - 1]
                .iter()
                .all(|e| field(e, "section").as_deref() == Some("step_script"))
        );
        let c = p
            .events
            .iter()
            .find(|e| msg(e).starts_with("   Compiling tokio"))
            .unwrap();
        assert!(matches!(c.message, Text::Span { .. }));
        let w = p
            .events
            .iter()
            .find(|e| msg(e).starts_with("warning: unused"))
            .unwrap();
        assert_eq!((w.severity, w.end_line), (Severity::Warning, w.line + 2));
        let last = p.events.last().unwrap();
        assert_eq!(field(last, "status").as_deref(), Some("succeeded"));
        let f = job_facts(&src);
        assert_eq!(f.runner_version.as_deref(), Some("18.1.0"));
        assert_eq!(f.image.as_deref(), Some("rust:1.86-bookworm"));
        assert_eq!(f.commands, ["cargo build --locked --release"]);
        let names: Vec<_> = f
            .sections
            .iter()
            .map(|s| (s.name.as_str(), s.line))
            .collect();
        assert_eq!(names, [("prepare_executor", 3), ("step_script", 5)]);
        assert_eq!(f.status, Some(JobStatus::Succeeded));
    }

    #[test]
    fn parse_facts_agree_with_the_full_walk() {
        let full = |b: &[u8], path: &str| {
            let f = job_facts_bytes(b, path);
            ParseFacts {
                markers: f
                    .sections
                    .iter()
                    .any(|s| s.start.is_some() || s.end.is_some()),
                executor: f.executor,
                job_id: f.job_id,
            }
        };
        let mut inputs: Vec<(Vec<u8>, String)> = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in [
            "tests/fixtures/gitlab",
            "tests/fixtures/gitlab/cr-only",
            "tests/fixtures/mixed",
        ] {
            let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_file()
                    && !matches!(
                        p.extension().and_then(|x| x.to_str()),
                        Some("gz" | "xz" | "zst")
                    )
                {
                    let b = std::fs::read(&p).unwrap();
                    inputs.push((b, p.display().to_string()));
                }
            }
        }
        assert!(inputs.len() >= 5, "fixtures not found");
        // Pieces split by escapes, `\r` and markers; CRLF; an executor named twice.
        for (b, name) in [
            (&b"Us\x1b[0ming Docker executor with image nix:1 ...\nUploading artifacts as \"archive\" to coordinator... 201 Created  id=4711 responseStatus=201\n"[..], "a.log"),
            (b"x\rUsing Shell (bash) executor...\r\n$ make\r\n", "job-12.log"),
            (b"Usi section_start:1700000000:s\rng Kubernetes executor with image k ...\n", "b.log"),
            (b"Preparing the \"docker+machine\" executor\nPreparing the \"shell\" executor\n  on r1 tok\nsection_end:1700000001:s\n", "c.log"),
            (b"plain output only\nUsing nothing here\n", "pages-4711.log"),
            // `+` fragments: a needle cut by the join with neither piece holding ESC or
            // `\r` (an 8 KiB flush), a marker cut in `section_`, an executor line whose
            // head is far back, another stream between.
            (b"2024-01-02T03:04:05.000000Z 00O Us\n2024-01-02T03:04:05.000001Z 00O+ing Docker executor with image alpine:3 ...\n", "d.log"),
            (b"2024-01-02T03:04:05.000000Z 00O x\rsecti\n2024-01-02T03:04:05.000001Z 00O+on_end:1700000000:s\r\n", "e.log"),
            (b"2024-01-02T03:04:05.000000Z 00O Preparing the \"\n2024-01-02T03:04:05.000001Z 00O+a\n2024-01-02T03:04:05.000002Z 00O+b\" executor\n", "f.log"),
            (b"2024-01-02T03:04:05.000000Z 00E Prep\r\n2024-01-02T03:04:05.000000Z 00O y\n2024-01-02T03:04:05.000001Z 00E+aring the \"shell\" executor\n", "g.log"),
        ] {
            inputs.push((b.to_vec(), name.to_string()));
        }
        for (b, path) in &inputs {
            let term = Terminator::detect(b);
            assert_eq!(parse_facts(b, term, path), full(b, path), "{path}");
        }
    }
}
