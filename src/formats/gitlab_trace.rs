//! GitLab CI job traces (formats.md 4.1-4.4): raw traces as the runner writes them (ANSI
//! colours including `ESC[0;m` and `ESC[0K`, `\r` overwrites, CR-only files,
//! `section_start:<unix>:<name>[opts]` / `section_end:` markers anywhere on a line and several
//! per physical line, the FF_TIMESTAMPS prefix `2026-03-25T10:00:00.123456Z 00O ` detected
//! per line), and traces copied from the web page (no ANSI, section durations such as `00:13`
//! on their own line, optional line numbers).
//!
//! Output: one event per physical line with visible text or a marker, unit `job`. A line's
//! visible text is what remains after its last `\r` that has text (progress bars); a `+`
//! stamp appends to the previous line. Time: Exact from the line's stamp, else from a section
//! marker on it (whole seconds), else [`ClockMethod::Missing`] for the clock stage to
//! interpolate between stamped neighbours by line number.
//!
//! Every event carries `executor` and `job` (when known) and `section` (the open section);
//! runner lines carry `runner_version`, `runner_name`, `image`, `command` (`$ cmd`),
//! `status`, `exit_code`; command output goes through the Nix/attic/ssh classifier of
//! [`super::nix::classify`], so Nix `error:` blocks keep their indented lines. The per-job
//! summary is [`job_facts`].

use super::nix::{Clean, KeyAtoms, Pending, add_fields};
use super::{Format, Sink};
use crate::event::{ClockMethod, Event, Severity, Text};
use crate::ingest::Source;
use crate::lines::{Lines, Terminator};
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

/// A section marker found on a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// `section_start` (true) or `section_end`.
    pub start: bool,
    /// Unix seconds.
    pub secs: i64,
    /// The name (absolute byte range in the source).
    pub name: Range<usize>,
    /// The whole marker text (absolute byte range).
    pub all: Range<usize>,
}

/// One physical line made readable.
#[derive(Debug)]
pub struct View<'a> {
    /// Time from the FF_TIMESTAMPS prefix (first one on the line).
    pub stamp: Option<i64>,
    /// The line's first prefix had the `+` (append) flag.
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

/// Makes a physical line readable (see [`View`]); `start` is its offset in the source.
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
    let mut have = false;
    let mut seg_off = 0;
    for (k, seg) in CrSegments(Some(line)).enumerate() {
        let off0 = seg_off;
        seg_off += seg.len() + 1;
        let mut s = seg;
        let mut off = off0;
        let mut plus = false;
        if let Some((t, used)) = super::nix::runner_stamp(s) {
            v.stamp.get_or_insert(t);
            plus = s[31] == b'+';
            if k == 0 {
                v.append = plus;
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
                    name: start + off + name.start..start + off + name.end,
                    all: start + off + at..start + off + end,
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
        if c.is_blank() {
            continue;
        }
        if plus && have {
            let mut joined = v.text.b.into_owned();
            joined.extend_from_slice(&c.b);
            v.text = Clean::owned(joined);
        } else {
            v.text = c;
            have = true;
        }
    }
    v
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

/// Walks the trace once, calling `f` with each line, its view (after line-number
/// stripping) and the offset of the view's text in the line.
fn walk(src_bytes: &[u8], term: Terminator, mut f: impl FnMut(&crate::lines::Line<'_>, View<'_>)) {
    let first_no = numbered(src_bytes, term);
    let num = first_no.is_some();
    let mut next_no = first_no.unwrap_or(1);
    for line in Lines::new(src_bytes, term) {
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
        f(&line, view(text, start));
    }
}

/// Extracts the [`JobFacts`] of a trace; `path` supplies the job id when the content does
/// not.
pub fn job_facts_bytes(bytes: &[u8], path: &str) -> JobFacts {
    let term = Terminator::detect(bytes);
    let mut jf = JobFacts::default();
    let mut prev_text: Option<(String, u32)> = None;
    let mut saw_marker = false;
    walk(bytes, term, |line, v| {
        for m in &v.markers {
            saw_marker = true;
            let name = crate::text::lossy(&bytes[m.name.clone()]).into_owned();
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

/// Needles for the lines [`parse_facts`] must look at (besides lines with ESC or `\r`).
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
/// pieces), so every other line is passed over. Web copies with line numbers (their
/// numbering is state across lines) and CR-only files take the full walk.
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
    starts.sort_unstable();
    starts.dedup();
    let mut pf = ParseFacts {
        executor: None,
        job_id: None,
        markers: false,
    };
    for s in starts {
        let e = memchr::memchr(b'\n', &bytes[s..]).map_or(bytes.len(), |i| s + i);
        let mut text = &bytes[s..e];
        if text.last() == Some(&b'\r') {
            text = &text[..text.len() - 1];
        }
        let v = view(text, s);
        pf.markers |= !v.markers.is_empty();
        let t = &v.text.b[..];
        // The branches of `job_facts_bytes` in its order; those that name neither the
        // executor nor the job id only stop the later ones.
        if t.is_empty() || t.starts_with(b"Running with gitlab-runner ") || t.starts_with(b"  on ")
        {
            continue;
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
        // The job id as a span when the trace states it (`id=88412`), so that the field on
        // every event costs no allocation; owned when it only comes from the file name.
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
            Text::Owned(j.to_string().into())
        });
        let k_duration = sink.atoms.intern("duration_s");
        let mut starts: Vec<(Range<usize>, i64)> = Vec::new();
        let mut section: Option<Range<usize>> = None;
        let mut open_block = false;
        let saw_markers = facts.markers;
        let mut pending = Pending::default();
        let mut keys = KeyAtoms::default();
        walk(&src.bytes, src.terminator, |line, v| {
            let t = &v.text.b[..];
            if v.append && !t.is_empty() && !sink.events.is_empty() {
                if sink.continue_last(line).is_some() {
                    pending.append(&mut sink.events, &src.bytes, "", t);
                }
                return;
            }
            if t.is_empty() && v.markers.is_empty() {
                sink.blank(1);
                return;
            }
            if !saw_markers
                && v.markers.is_empty()
                && !sink.events.is_empty()
                && web_duration(t).is_some()
            {
                let a = sink.atoms.intern("duration");
                if let Some(ev) = sink.continue_last(line) {
                    ev.fields.push((a, v.text.text(0..t.len())));
                }
                return;
            }
            if open_block && !t.is_empty() && super::nix::continues_block(t) && v.markers.is_empty()
            {
                if sink.continue_last(line).is_some() {
                    pending.append(&mut sink.events, &src.bytes, "\n", t);
                }
                return;
            }
            if memchr::memchr(0, t).is_some() {
                // NUL bytes: a binary file or a corrupted trace, not job output.
                sink.unparsed(line, "binary data in a job trace");
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
                    .is_some_and(|s| src.bytes[s.clone()] == src.bytes[m.name.clone()])
                {
                    closes = true;
                }
            }
            let mut ev = Event {
                time,
                clock,
                line: line.no,
                end_line: line.no,
                offset: line.start as u64,
                unit,
                ..Event::default()
            };
            ev.message = if t.is_empty() {
                let m = &v.markers[0];
                Text::span(m.all.start, m.all.end)
            } else {
                v.text.text(0..t.len())
            };
            if let Some(e) = &executor {
                ev.fields.push((k_exec, e.clone()));
            }
            if let Some(j) = &job {
                ev.fields.push((k_job, j.clone()));
            }
            let sec = section
                .clone()
                .or_else(|| v.markers.iter().find(|m| !m.start).map(|m| m.name.clone()));
            if let Some(s) = sec {
                ev.fields.push((k_section, Text::span(s.start, s.end)));
            }
            for m in &v.markers {
                if m.start {
                    starts.push((m.name.clone(), m.secs));
                } else if let Some(i) = starts
                    .iter()
                    .rposition(|(n, _)| src.bytes[n.clone()] == src.bytes[m.name.clone()])
                {
                    let (_, t0) = starts.remove(i);
                    let d = (m.secs - t0).max(0);
                    ev.fields
                        .push((k_duration, Text::Owned(d.to_string().into())));
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
                let a = sink.atoms.intern("status");
                ev.fields.push((a, Text::Owned(st.as_str().into())));
                ev.severity = match st {
                    JobStatus::Succeeded => Severity::Notice,
                    _ => Severity::Err,
                };
                if let Some(r) = r {
                    fields.push(("error", r.clone()));
                    if let Some(c) = exit_code(&t[r]) {
                        let a = sink.atoms.intern("exit_code");
                        ev.fields.push((a, Text::Owned(c.to_string().into())));
                    }
                }
            } else if let Some(cl) = super::nix::classify(t) {
                if ev.severity == Severity::Unknown {
                    ev.severity = cl.severity;
                }
                open_block = cl.block;
                fields.extend(cl.fields);
                let a = sink.atoms.intern("program");
                ev.fields.push((a, Text::Owned(cl.unit.into())));
            }
            add_fields(&mut ev, &mut sink.atoms, &mut keys, &v.text, 0, &fields);
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
        assert_eq!(
            &l[v.markers[1].name.start - 100..v.markers[1].name.end - 100],
            b"cleanup_file_variables"
        );
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
        let l = b"2026-03-25T10:00:00.000001Z 01E Progress: .\r2026-03-25T10:00:01.000001Z 01E+.";
        let v = view(l, 0);
        assert_eq!(&*v.text.b, b"Progress: ..");
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
            ev.fields
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
        ] {
            inputs.push((b.to_vec(), name.to_string()));
        }
        for (b, path) in &inputs {
            let term = Terminator::detect(b);
            assert_eq!(parse_facts(b, term, path), full(b, path), "{path}");
        }
    }
}
