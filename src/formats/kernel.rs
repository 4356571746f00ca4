//! The kernel ring buffer as saved by util-linux `dmesg` (raw `[ 1234.567890] msg`, `-r`
//! `<6>[...]`, `-x` `kern  :warn  : [...]`, `-T` `[Tue Mar 24 10:00:00 2026]`,
//! `--time-format iso` `2026-03-24T10:00:00,123456+00:00`, the caller id `[  T1234]`),
//! `/dev/kmsg` records (`6,1234,5678901,-;msg` with ` KEY=VALUE` lines) and kern.log
//! (`Mar 24 10:00:00 host kernel: [ 1234.567890] text`). Layouts: util-linux
//! `sys-utils/dmesg.c` and rsyslog's file templates (formats.md, section 2.5).
//!
//! Every kernel line gets the unit `kernel` and, when it has one, the printk stamp as
//! `mono_us` (the clock stage aligns it per boot; the timeline drops the copy of a line that
//! a journal of the same boot also holds).
//!
//! OOM-killer reports (formats.md 2.1 and 2.2, kernels 4.x to 6.x) are kept as ONE event:
//! the `invoked oom-killer:` header starts it and the lines of the report (stack, Mem-Info,
//! per-node and per-zone lines, the task table, `oom-kill:constraint=...` with its 4.19
//! two-line variant, the kill lines old and new, `oom_reaper:`) are its continuation, even
//! when unrelated kernel lines are interleaved (those stay their own events). Fields:
//! `oom.invoker`, `oom.victim_pid`, `oom.victim_comm`, `oom.total_vm_kb`, `oom.anon_rss_kb`,
//! `oom.cgroup` (`task_memcg`) and `oom.constraint`.

use super::{Format, SPLIT_SEARCH, Sink, line_start_where};
use crate::event::{ClockMethod, Event, Severity, Text};
use crate::ingest::Source;
use crate::lines::{Lines, Terminator};
use crate::time;

/// The kernel format.
pub struct Kernel;

/// The layout a kernel line was read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `[ 1234.567890] msg`, optionally with `<pri>` or `fac:level:` before it.
    Dmesg,
    /// `[Tue Mar 24 10:00:00 2026] msg`.
    Ctime,
    /// `2026-03-24T10:00:00,123456+00:00 msg`.
    Iso,
    /// `/dev/kmsg`: `pri,seq,usec,flags[,caller];msg`.
    Kmsg,
    /// kern.log: a syslog line.
    Syslog,
}

/// A parsed kernel line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KLine<'a> {
    /// Layout.
    pub layout: Layout,
    /// Time as the clock stage expects for `clock`.
    pub time: i64,
    /// `Monotonic`, `LocalNoZone`, `Exact` or `NoYear`.
    pub clock: ClockMethod,
    /// printk stamp in µs.
    pub mono_us: Option<i64>,
    /// Severity when the line states it.
    pub severity: Severity,
    /// Host (kern.log).
    pub host: &'a [u8],
    /// Identifier (kern.log lines not from the kernel).
    pub ident: &'a [u8],
    /// Offset of the message in the line.
    pub msg_start: usize,
}

/// `[ 1234.567890]` at the start of `b`: (µs, bytes used including `]`).
///
/// Hand-rolled (it runs on every dmesg line): `[`, optional spaces, 1 to 12 digits of
/// seconds, `.`, at least one digit of fraction (the first six are the µs), `]`. This is
/// exactly what [`time::parse_secs_us`] accepts followed by `]`, minus the `,` fraction
/// the printk stamp never has.
fn mono_stamp(b: &[u8]) -> Option<(i64, usize)> {
    if b.first() != Some(&b'[') {
        return None;
    }
    let mut i = 1;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let s0 = i;
    let mut secs: i64 = 0;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        secs = secs.wrapping_mul(10).wrapping_add(i64::from(c - b'0'));
        i += 1;
    }
    if i == s0 || i - s0 > 12 || b.get(i) != Some(&b'.') {
        return None;
    }
    i += 1;
    let f0 = i;
    let mut us: i64 = 0;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        if i - f0 < 6 {
            us = us * 10 + i64::from(c - b'0');
        }
        i += 1;
    }
    let n = i - f0;
    if n == 0 || b.get(i) != Some(&b']') {
        return None;
    }
    for _ in n..6 {
        us *= 10;
    }
    Some((secs * 1_000_000 + us, i + 1))
}

/// `[Tue Mar 24 10:00:00 2026]` (or a localised `[dim. 19 avril 18:03:30 2026]`).
fn ctime_stamp(b: &[u8]) -> Option<(i64, usize)> {
    if b.first() != Some(&b'[') {
        return None;
    }
    let close = memchr::memchr(b']', &b[..b.len().min(48)])?;
    let inner = &b[1..close];
    let mut tok = inner.split(|&c| c == b' ').filter(|t| !t.is_empty());
    let _wday = tok.next()?;
    let a = tok.next()?;
    let c = tok.next()?;
    let hms = tok.next()?;
    let year = tok.next()?;
    if tok.next().is_some() || hms.len() != 8 || year.len() != 4 {
        return None;
    }
    let month_of = |t: &[u8]| {
        time::month(t)
            .filter(|(_, n)| *n == t.len())
            .map(|(m, _)| m)
    };
    let day_of = |t: &[u8]| crate::text::parse_u64(t).filter(|d| (1..=31).contains(d));
    let (mo, day) = match (month_of(a), day_of(c)) {
        (Some(m), Some(d)) => (m, d),
        _ => (month_of(c)?, day_of(a)?),
    };
    if hms[2] != b':' || hms[5] != b':' {
        return None;
    }
    let t = time::naive_ns(
        crate::text::digits(year, 4)? as i32,
        mo,
        day as u32,
        crate::text::digits(hms, 2)?,
        crate::text::digits(&hms[3..], 2)?,
        crate::text::digits(&hms[6..], 2)?,
        0,
    )?;
    Some((t, close + 1))
}

/// `pri,seq,usec,flags[,caller];` of a /dev/kmsg record: (pri, usec, bytes used).
fn kmsg_header(b: &[u8]) -> Option<(u64, i64, usize)> {
    let semi = memchr::memchr(b';', &b[..b.len().min(64)])?;
    let mut parts = b[..semi].split(|&c| c == b',');
    let pri = crate::text::parse_u64(parts.next()?)?;
    let _seq = crate::text::parse_u64(parts.next()?)?;
    let usec = crate::text::parse_u64(parts.next()?)?;
    let flags = parts.next()?;
    if flags.len() != 1 || !matches!(flags[0], b'-' | b'c' | b'+') {
        return None;
    }
    Some((pri, usec as i64, semi + 1))
}

/// `kern  :warn  : ` of `dmesg -x`: (level, bytes used).
fn decode_prefix(b: &[u8]) -> Option<(Severity, usize)> {
    let c1 = memchr::memchr(b':', &b[..b.len().min(10)])?;
    let fac = crate::lines::trim(&b[..c1]);
    if fac.is_empty()
        || !fac
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return None;
    }
    let rest = &b[c1 + 1..];
    let c2 = memchr::memchr(b':', &rest[..rest.len().min(10)])?;
    let level = crate::lines::trim(&rest[..c2]);
    let sev = Severity::from_word(level);
    if sev == Severity::Unknown {
        return None;
    }
    let mut used = c1 + 1 + c2 + 1;
    if b.get(used) == Some(&b' ') {
        used += 1;
    }
    Some((sev, used))
}

/// Skips a caller id `[  T1234] ` / `[    C0] ` at `b[at..]`.
fn skip_caller(b: &[u8], at: usize) -> usize {
    let r = &b[at.min(b.len())..];
    if r.first() != Some(&b'[') {
        return at;
    }
    let Some(close) = memchr::memchr(b']', &r[..r.len().min(16)]) else {
        return at;
    };
    let id = crate::lines::trim(&r[1..close]);
    if id.len() >= 2
        && matches!(id[0], b'T' | b'C')
        && id[1..].iter().all(u8::is_ascii_digit)
        && r.get(close + 1) == Some(&b' ')
    {
        at + close + 2
    } else {
        at
    }
}

/// Parses one kernel line.
pub fn parse_line(line: &[u8]) -> Option<KLine<'_>> {
    let base = KLine {
        layout: Layout::Dmesg,
        time: 0,
        clock: ClockMethod::Monotonic,
        mono_us: None,
        severity: Severity::Unknown,
        host: b"",
        ident: b"kernel",
        msg_start: 0,
    };
    let first = *line.first()?;
    if first.is_ascii_digit() {
        if let Some((pri, usec, used)) = kmsg_header(line) {
            return Some(KLine {
                layout: Layout::Kmsg,
                mono_us: Some(usec),
                severity: Severity::from_syslog((pri & 7) as u8),
                msg_start: used,
                ..base
            });
        }
        if let Some((t, true, used)) = time::parse_iso(line)
            && line.get(19) == Some(&b',')
        {
            let at = if line.get(used) == Some(&b' ') {
                used + 1
            } else {
                used
            };
            return Some(KLine {
                layout: Layout::Iso,
                time: t,
                clock: ClockMethod::Exact,
                msg_start: skip_caller(line, at),
                ..base
            });
        }
    }
    let (mut at, mut severity) = (0, Severity::Unknown);
    if first == b'<'
        && let Some(close) = memchr::memchr(b'>', &line[..line.len().min(6)])
        && let Some(pri) = crate::text::parse_u64(&line[1..close])
    {
        at = close + 1;
        severity = Severity::from_syslog((pri & 7) as u8);
    } else if first.is_ascii_lowercase()
        && let Some((sev, used)) = decode_prefix(line)
    {
        at = used;
        severity = sev;
    }
    let rest = &line[at..];
    if let Some((us, used)) = mono_stamp(rest) {
        let mut m = at + used;
        if line.get(m) == Some(&b' ') {
            m += 1;
        }
        return Some(KLine {
            mono_us: Some(us),
            severity,
            msg_start: skip_caller(line, m),
            ..base
        });
    }
    if let Some((t, used)) = ctime_stamp(rest) {
        let mut m = at + used;
        if line.get(m) == Some(&b' ') {
            m += 1;
        }
        return Some(KLine {
            layout: Layout::Ctime,
            time: t,
            clock: ClockMethod::LocalNoZone,
            severity,
            msg_start: skip_caller(line, m),
            ..base
        });
    }
    if at == 0
        && let Some(h) = super::syslog::parse_header(line)
        && !h.ident.is_empty()
    {
        let mut k = KLine {
            layout: Layout::Syslog,
            time: h.time,
            clock: h.clock,
            severity: h.severity,
            host: h.host,
            ident: h.ident,
            msg_start: h.msg_start,
            ..base
        };
        if h.ident == b"kernel"
            && let Some((us, used)) = mono_stamp(&line[h.msg_start..])
        {
            k.mono_us = Some(us);
            k.msg_start = h.msg_start + used;
            if line.get(k.msg_start) == Some(&b' ') {
                k.msg_start += 1;
            }
        }
        return Some(k);
    }
    None
}

/// The part an OOM-report line plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OomPart {
    /// `<comm> invoked oom-killer: ...`.
    Header,
    /// Stack, Mem-Info, node/zone lines, task table, memcg usage.
    Body,
    /// `oom-kill:constraint=...` or the 4.19 second line `,oom_memcg=...`/`,global_oom...`.
    Constraint,
    /// `Killed process`, `Kill process ... score ... or sacrifice child`, `OOM victim ...`.
    Kill,
    /// `oom_reaper: ...`.
    Reaper,
}

const BODY_PREFIXES: &[&[u8]] = &[
    b"CPU: ",
    b"Hardware name:",
    b"Call Trace:",
    b"<TASK>",
    b"</TASK>",
    b"Mem-Info:",
    b"active_anon:",
    b"active_file:",
    b"unevictable:",
    b"slab_reclaimable:",
    b"mapped:",
    b"free:",
    b"free_pcp:",
    b"Node ",
    b"lowmem_reserve[]:",
    b"DMA",
    b"Normal",
    b"Movable",
    b"HighMem",
    b"Free swap",
    b"Total swap",
    b"Swap cache stats:",
    b"Tasks state",
    b"Unreclaimable slab info:",
    b"Name ",
    b"COMPACTION is disabled",
    b"memory: usage",
    b"memory+swap: usage",
    b"swap: usage",
    b"kmem: usage",
    b"Memory cgroup stats for",
    b"Task in ",
    b"Memory limit reached",
    b"No memory allocation info",
    b"RIP:",
    b"RSP:",
    b"RAX:",
    b"RDX:",
    b"RBP:",
    b"R10:",
    b"R13:",
    b"Code:",
    b"workingset",
];

/// The substrings [`oom_part`] looks for, searched with prebuilt finders (building a
/// searcher per call cost more than the search on short kernel lines).
#[derive(Clone, Copy)]
enum Needle {
    Invoked,
    Killed,
    Kill,
    Score,
    Sharing,
    Victim,
    Pages,
    Plus0x,
    Slash0x,
    Cpuset,
    Mems,
}

static NEEDLES: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 11]> =
    std::sync::LazyLock::new(|| {
        [
            &b" invoked oom-killer:"[..],
            b"Killed process ",
            b"Kill process ",
            b" score ",
            b"sharing same memory",
            b": OOM victim ",
            b" pages",
            b"+0x",
            b"/0x",
            b" cpuset=",
            b"mems_allowed=",
        ]
        .map(memchr::memmem::Finder::new)
    });

/// The first bytes of [`BODY_PREFIXES`], as a table.
static BODY_FIRST: std::sync::LazyLock<[bool; 256]> = std::sync::LazyLock::new(|| {
    let mut t = [false; 256];
    for p in BODY_PREFIXES {
        t[p[0] as usize] = true;
    }
    t
});

/// True when `t` (not empty) starts with one of [`BODY_PREFIXES`]; a table of their first
/// bytes turns most lines away without comparing any prefix.
fn body_prefix(t: &[u8]) -> bool {
    let c = t[0];
    BODY_FIRST[c as usize] && BODY_PREFIXES.iter().any(|p| p[0] == c && t.starts_with(p))
}

/// A needle every header and kill line holds: ` invoked oom-killer:`, `Killed process `
/// and `Kill process ` all contain `ill`, `: OOM victim ` contains `OOM v`. One search for
/// each instead of four on the lines that are no part of a report (nearly all of them).
static KILL_HINT: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 2]> =
    std::sync::LazyLock::new(|| [&b"ill"[..], b"OOM v"].map(memchr::memmem::Finder::new));

/// Classifies a kernel message as part of an OOM report.
pub fn oom_part(msg: &[u8]) -> Option<OomPart> {
    let t = crate::lines::trim(msg);
    if t.is_empty() {
        return None;
    }
    let has = |n: Needle| NEEDLES[n as usize].find(t).is_some();
    let ill = KILL_HINT[0].find(t).is_some();
    if ill && has(Needle::Invoked) {
        return Some(OomPart::Header);
    }
    if t.starts_with(b"oom_reaper: ") {
        return Some(OomPart::Reaper);
    }
    if t.starts_with(b"oom-kill:") || t.starts_with(b",oom_memcg=") || t.starts_with(b",global_oom")
    {
        return Some(OomPart::Constraint);
    }
    if (ill
        && (has(Needle::Killed)
            || (has(Needle::Kill) && (has(Needle::Score) || has(Needle::Sharing)))))
        || (KILL_HINT[1].find(t).is_some() && has(Needle::Victim))
    {
        return Some(OomPart::Kill);
    }
    if msg[0] == b' ' || msg[0] == b'\t' || body_prefix(t) {
        return Some(OomPart::Body);
    }
    // Task table rows `[  1234]` and the table header `[  pid  ]`.
    if t[0] == b'['
        && let Some(c) = memchr::memchr(b']', &t[..t.len().min(12)])
    {
        let inner = crate::lines::trim(&t[1..c]);
        if inner == b"pid" || (!inner.is_empty() && inner.iter().all(u8::is_ascii_digit)) {
            return Some(OomPart::Body);
        }
    }
    // `12345 total pagecache pages`, `0 pages in swap cache`, `4194173 pages RAM`...
    if t[0].is_ascii_digit() && has(Needle::Pages) {
        return Some(OomPart::Body);
    }
    // stack frames, old cpuset line, memcg stat lines (`anon 42897408`).
    if (has(Needle::Plus0x) && has(Needle::Slash0x)) || (has(Needle::Cpuset) && has(Needle::Mems)) {
        return Some(OomPart::Body);
    }
    if let Some(sp) = memchr::memchr(b' ', t)
        && t[..sp].iter().all(|c| c.is_ascii_lowercase() || *c == b'_')
        && t[sp + 1..].iter().all(u8::is_ascii_digit)
        && sp + 1 < t.len()
    {
        return Some(OomPart::Body);
    }
    None
}

/// The open OOM report: its event index and whether the kill line was seen.
#[derive(Clone, Copy, Debug)]
struct Open {
    idx: usize,
    killed: bool,
}

/// Sets field `name` of event `idx` to bytes `s..e` of `msg` (a span of the source when
/// the message lies at source offset `at`) unless the field is already set.
fn set_field(
    sink: &mut Sink<'_>,
    idx: usize,
    name: &str,
    msg: &[u8],
    at: Option<usize>,
    s: usize,
    e: usize,
) {
    if e <= s || e > msg.len() {
        return;
    }
    let a = sink.atoms.intern(name);
    let ev = &mut sink.events[idx];
    if sink.fields.find(ev.fields, a).is_none() {
        let v = match at {
            Some(at) => Text::span(at + s, at + e),
            None => Text::Owned(crate::text::lossy(&msg[s..e]).into()),
        };
        // Fields arrive one by one as the report goes on (a few per report), after other
        // events' at times: the store moves them to its end then.
        sink.fields.push(&mut ev.fields, a, v);
    }
}

/// Extracts OOM fields from message `msg` (at source offset `at` when it is a span) into
/// event `idx`.
fn oom_fields(sink: &mut Sink<'_>, idx: usize, msg: &[u8], at: Option<usize>, part: OomPart) {
    let find = |n: &[u8]| memchr::memmem::find(msg, n);
    let num_end = |from: usize| {
        from + msg[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let set = |sink: &mut Sink<'_>, name: &str, s: usize, e: usize| {
        set_field(sink, idx, name, msg, at, s, e)
    };
    match part {
        OomPart::Header => {
            if let Some(i) = find(b" invoked oom-killer:") {
                let s = msg.iter().take_while(|c| **c == b' ').count();
                set(sink, "oom.invoker", s, i);
            }
        }
        OomPart::Kill => {
            let key: &[u8] = if find(b"Killed process ").is_some() {
                b"Killed process "
            } else {
                b"Kill process "
            };
            if let Some(i) = find(key) {
                let p = i + key.len();
                let pe = num_end(p);
                set(sink, "oom.victim_pid", p, pe);
                if msg.get(pe) == Some(&b' ') && msg.get(pe + 1) == Some(&b'(') {
                    let cs = pe + 2;
                    // comm may hold `)`: it ends at the `) ` before the next field.
                    let ce = memchr::memmem::find(&msg[cs..], b") ")
                        .or_else(|| memchr::memrchr(b')', &msg[cs..]))
                        .map(|c| cs + c);
                    if let Some(ce) = ce {
                        set(sink, "oom.victim_comm", cs, ce);
                    }
                }
            }
            for (key, name) in [
                (&b"total-vm:"[..], "oom.total_vm_kb"),
                (b"anon-rss:", "oom.anon_rss_kb"),
            ] {
                if let Some(i) = find(key) {
                    let p = i + key.len();
                    set(sink, name, p, num_end(p));
                }
            }
        }
        OomPart::Constraint => {
            if let Some(i) = find(b"constraint=") {
                let p = i + 11;
                let e = memchr::memchr(b',', &msg[p..]).map_or(msg.len(), |c| p + c);
                set(sink, "oom.constraint", p, e);
            }
            // `task=%s,pid=%d,uid=%d` are always last: parse from the right (paths and comm
            // may hold commas).
            let task = memchr::memmem::rfind(msg, b",task=");
            if let Some(i) = find(b"task_memcg=") {
                let p = i + 11;
                let e = task.filter(|&t| t >= p).unwrap_or(msg.len());
                set(sink, "oom.cgroup", p, e);
            }
            if let Some(t) = task
                && let Some(pi) = memchr::memmem::rfind(msg, b",pid=")
                && pi > t
            {
                set(sink, "oom.victim_comm", t + 6, pi);
                set(sink, "oom.victim_pid", pi + 5, num_end(pi + 5));
            }
        }
        OomPart::Body | OomPart::Reaper => {}
    }
}

/// Keeps the lines of an OOM report together in one event while other lines interleave.
/// Shared by the kernel format and the journal formats (whose kernel entries hold one
/// report line each).
#[derive(Debug, Default)]
pub struct OomGroup {
    open: Option<Open>,
    /// The message being offered (address, length) and its class: the parsers ask about
    /// the same message up to three times (`needs_history`, `fold`, `pushed`). Cleared
    /// when the message is done with, so a later message at a reused address is never
    /// taken for it.
    memo: Option<(usize, usize, Option<OomPart>)>,
    /// A report header was seen (by this parse, or this chunk of it).
    opened: bool,
}

impl OomGroup {
    /// True when `msg` is a report line that an open report would take, and no report was
    /// opened yet: with the state of the bytes before a chunk it might have been folded.
    pub fn needs_history(&mut self, msg: &[u8]) -> bool {
        !self.opened && self.part(msg).is_some_and(|p| p != OomPart::Header)
    }
    /// [`oom_part`] of `msg`, remembered for the next call on the same bytes.
    fn part(&mut self, msg: &[u8]) -> Option<OomPart> {
        let key = (msg.as_ptr() as usize, msg.len());
        match self.memo {
            Some((p, l, part)) if (p, l) == key => part,
            _ => {
                let part = oom_part(msg);
                self.memo = Some((key.0, key.1, part));
                part
            }
        }
    }
    /// Offers a kernel message covering lines `line..=end_line` before it becomes an event:
    /// when it belongs to the open report it is folded into that event (message, fields,
    /// lines counted as continuation) and `true` is returned.
    pub fn fold(
        &mut self,
        sink: &mut Sink<'_>,
        msg: &[u8],
        at: Option<usize>,
        line: u32,
        end_line: u32,
    ) -> bool {
        let Some(o) = self.open else { return false };
        let Some(p) = self.part(msg) else {
            return false;
        };
        if p == OomPart::Header
            || (o.killed && !matches!(p, OomPart::Kill | OomPart::Reaper | OomPart::Constraint))
        {
            return false;
        }
        let source: &[u8] = &sink.src.bytes;
        let ev = &mut sink.events[o.idx];
        let mut s = owned_message(ev, source);
        s.push('\n');
        s.push_str(&crate::text::lossy(&crate::text::strip_ansi(msg)));
        ev.message = Text::Owned(s.into());
        ev.end_line = ev.end_line.max(end_line);
        sink.blank(u64::from(end_line.saturating_sub(line)) + 1);
        oom_fields(sink, o.idx, msg, at, p);
        self.memo = None;
        self.open = match p {
            OomPart::Reaper => None,
            OomPart::Kill => Some(Open { killed: true, ..o }),
            _ => Some(o),
        };
        true
    }
    /// Tells the group that kernel message `msg` became event `idx`.
    pub fn pushed(&mut self, sink: &mut Sink<'_>, idx: usize, msg: &[u8], at: Option<usize>) {
        let part = self.part(msg);
        self.memo = None;
        if let Some(p) = part {
            oom_fields(sink, idx, msg, at, p);
            if p == OomPart::Header {
                self.opened = true;
                self.open = Some(Open { idx, killed: false });
            }
        }
    }
}

/// The message of `ev` as a `String` to append to: an owned message is taken over without
/// a copy or a UTF-8 check (a long report grows line by line; copying and checking the
/// whole text for every line made the report quadratic), a span is decoded once.
pub(crate) fn owned_message(ev: &mut Event, source: &[u8]) -> String {
    match std::mem::take(&mut ev.message) {
        Text::Owned(b) => String::from(b),
        span => crate::text::lossy(span.bytes(source)).into_owned(),
    }
}

/// Lines looked at after a candidate split point.
const SPLIT_LOOKAHEAD: usize = 256;

/// The offset of the first OOM report line other than a header within the
/// [`SPLIT_LOOKAHEAD`] lines from `at`, stopping at a header; `None` when there is none.
fn report_line_ahead(bytes: &[u8], at: usize) -> Option<usize> {
    for line in Lines::starting_at(bytes, Terminator::Lf, at, 1).take(SPLIT_LOOKAHEAD) {
        let t = line.text;
        let msg = match parse_line(t) {
            Some(k) => &t[k.msg_start.min(t.len())..],
            None => t,
        };
        match oom_part(msg) {
            Some(OomPart::Header) => return None,
            Some(_) => return Some(line.start),
            None => {}
        }
    }
    None
}

impl Format for Kernel {
    /// No records of this format travel inside a journal entry.
    fn embeds(&self, _ident: &str) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "kernel"
    }
    fn description(&self) -> &'static str {
        "kernel ring buffer (dmesg raw, -r, -x, -T, --time-format iso, /dev/kmsg records, kern.log) with OOM blocks kept together"
    }
    fn sniff(&self, sample: &[u8]) -> u8 {
        let (mut n, mut ring, mut kernlog) = (0u32, 0u32, 0u32);
        for line in Lines::new(sample, Terminator::detect(sample)).take(100) {
            let t = line.text;
            if t.is_empty() || t[0] == b' ' {
                continue;
            }
            n += 1;
            match parse_line(t) {
                Some(k) if k.layout == Layout::Syslog && k.ident == b"kernel" => kernlog += 1,
                Some(k) if k.layout == Layout::Syslog => {}
                Some(_) => ring += 1,
                None => {}
            }
        }
        if n == 0 {
            0
        } else if ring * 2 >= n {
            (40 + ring * 50 / n) as u8
        } else if kernlog * 2 >= n {
            // kern.log: syslog lines, mostly from the kernel (beats the syslog fallback).
            (30 + kernlog * 30 / n) as u8
        } else {
            0
        }
    }
    fn split(&self, bytes: &[u8], near: usize) -> Option<usize> {
        // A stamped kernel line that is no part of an OOM report, with no report line
        // other than a header in the lines that follow it (a report cut in two would
        // lose its tail).
        let mut from = near;
        while from < bytes.len() && from - near < SPLIT_SEARCH {
            let at = line_start_where(bytes, from, |t| {
                parse_line(t).is_some_and(|k| oom_part(&t[k.msg_start.min(t.len())..]).is_none())
            })?;
            match report_line_ahead(bytes, at) {
                None => return Some(at),
                Some(next) => from = next.max(at + 1),
            }
        }
        None
    }
    fn parse(&self, src: &Source, sink: &mut Sink<'_>) {
        let bytes: &[u8] = &src.bytes;
        let kernel = sink.atoms.intern("kernel");
        sink.reserve_events(1);
        let mut oom = OomGroup::default();
        let mut kmsg = false;
        // The event the previous line went to (unstamped continuation lines follow it, which
        // is not always the last event while an OOM report is open).
        let mut prev: Option<usize> = None;
        let lines = sink.lines();
        for line in lines {
            let t = line.text;
            if t.is_empty() {
                sink.blank(1);
                continue;
            }
            let Some(k) = parse_line(t) else {
                if prev.is_none() && (t[0] == b' ' || t[0] == b'\t') {
                    sink.depends_on_earlier();
                }
                match prev {
                    Some(i) if t[0] == b' ' || t[0] == b'\t' => {
                        sink.blank(1);
                        let ev = &mut sink.events[i];
                        ev.end_line = ev.end_line.max(line.no);
                        // /dev/kmsg dictionary lines (` SUBSYSTEM=...`) are not message.
                        // dmesg indents the other lines of a multi-line record to the
                        // message column: the indentation is layout, not message.
                        if !kmsg {
                            let lead = t.iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
                            super::syslog::append_message(ev, bytes, line.start + lead, line.end());
                        }
                    }
                    _ => sink.unparsed(&line, "not a kernel log line"),
                }
                continue;
            };
            kmsg = k.layout == Layout::Kmsg;
            let (ms, me) = (line.start + k.msg_start.min(t.len()), line.end());
            let msg = &bytes[ms..me];
            let is_kernel = k.ident == b"kernel";
            if is_kernel && oom.needs_history(msg) {
                sink.depends_on_earlier();
            }
            let report = oom.open.map(|o| o.idx);
            if is_kernel && oom.fold(sink, msg, Some(ms), line.no, line.no) {
                prev = report;
                continue;
            }
            let mut ev = Event {
                time: k.time,
                clock: k.clock,
                mono_us: k.mono_us,
                line: line.no,
                end_line: line.no,
                offset: line.start as u64,
                host: sink.atoms.intern_bytes(k.host),
                unit: if is_kernel {
                    kernel
                } else {
                    sink.atoms.intern_bytes(k.ident)
                },
                severity: k.severity,
                ..Event::default()
            };
            if k.clock == ClockMethod::Monotonic && k.mono_us.is_none() {
                ev.clock = ClockMethod::Missing;
            }
            super::syslog::set_message(&mut ev, src, ms, me, t);
            let idx = sink.events.len();
            sink.push(ev);
            prev = Some(idx);
            if is_kernel {
                oom.pushed(sink, idx, msg, Some(ms));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::parse_source;

    fn k(l: &str) -> KLine<'_> {
        parse_line(l.as_bytes()).unwrap_or_else(|| panic!("not parsed: {l}"))
    }

    #[test]
    fn every_dmesg_layout() {
        let l = "[ 1234.567890] e1000e: eth0 NIC Link is Up";
        let x = k(l);
        assert_eq!(
            (x.layout, x.mono_us, x.clock),
            (Layout::Dmesg, Some(1_234_567_890), ClockMethod::Monotonic)
        );
        assert_eq!(&l[x.msg_start..], "e1000e: eth0 NIC Link is Up");
        let l = "<4>[    5.000100] [  T1234] usb 1-1: reset";
        let x = k(l);
        assert_eq!(x.severity, Severity::Warning);
        assert_eq!(&l[x.msg_start..], "usb 1-1: reset");
        let l = "kern  :err   : [ 1234.567890] Out of memory";
        let x = k(l);
        assert_eq!(
            (x.severity, &l[x.msg_start..]),
            (Severity::Err, "Out of memory")
        );
        let l = "[Wed Jul  1 10:29:00 2026] ata1: link up";
        let x = k(l);
        assert_eq!(
            (x.layout, x.clock),
            (Layout::Ctime, ClockMethod::LocalNoZone)
        );
        assert_eq!(time::rfc3339(x.time), "2026-07-01T10:29:00.000000Z");
        assert_eq!(&l[x.msg_start..], "ata1: link up");
        let x = k("[dim. 19 avril 18:03:30 2026] x");
        assert_eq!(time::rfc3339(x.time), "2026-04-19T18:03:30.000000Z");
        let l = "2026-03-24T10:00:00,123456+01:00 ata1: link up";
        let x = k(l);
        assert_eq!((x.layout, x.clock), (Layout::Iso, ClockMethod::Exact));
        assert_eq!(time::rfc3339(x.time), "2026-03-24T09:00:00.123456Z");
        let x = k("2026-03-24T10:00:00,123456+0100 y");
        assert_eq!(time::rfc3339(x.time), "2026-03-24T09:00:00.123456Z");
        let l = "6,339,5140900,-,caller=T1;Linux version 6.1.0";
        let x = k(l);
        assert_eq!(
            (x.layout, x.mono_us, x.severity),
            (Layout::Kmsg, Some(5_140_900), Severity::Info)
        );
        assert_eq!(&l[x.msg_start..], "Linux version 6.1.0");
        let l = "May 30 07:19:52 ip-172-31-10-132 kernel: [329112.718596] unattended-upgr invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0";
        let x = k(l);
        assert_eq!(
            (x.layout, x.clock, x.host),
            (
                Layout::Syslog,
                ClockMethod::NoYear,
                &b"ip-172-31-10-132"[..]
            )
        );
        assert_eq!(x.mono_us, Some(329_112_718_596));
        assert!(l[x.msg_start..].starts_with("unattended-upgr invoked"));
    }

    #[test]
    fn rejects_other_lines() {
        for l in [
            "hello",
            "[abc] x",
            "[ 12] no fraction",
            "1,2;x",
            "<6>nothing",
            "kern  :bogus : [ 1.0] x",
        ] {
            assert!(parse_line(l.as_bytes()).is_none(), "{l}");
        }
    }

    #[test]
    fn oom_parts() {
        assert_eq!(oom_part(b"node invoked oom-killer: gfp_mask=0x1100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0"), Some(OomPart::Header));
        assert_eq!(oom_part(b" dump_stack_lvl+0x4d/0x70"), Some(OomPart::Body));
        assert_eq!(oom_part(b"[   2381]     0  2381    12345     1234   102400        0             0 systemd-journal"), Some(OomPart::Body));
        assert_eq!(oom_part(b"[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"), Some(OomPart::Body));
        assert_eq!(oom_part(b"anon 42897408"), Some(OomPart::Body));
        assert_eq!(
            oom_part(b",global_oom,task_memcg=/,task=x,pid=1,uid=0"),
            Some(OomPart::Constraint)
        );
        assert_eq!(
            oom_part(b"Out of memory: Kill process 23409 (perl) score 329 or sacrifice child"),
            Some(OomPart::Kill)
        );
        assert_eq!(oom_part(b"oom_reaper: reaped process 1932 (mysqld), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"), Some(OomPart::Reaper));
        assert_eq!(
            oom_part(b"e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex"),
            None
        );
        assert_eq!(
            oom_part(b"audit: type=1400 audit(1.2:3): apparmor=\"DENIED\""),
            None
        );
    }

    #[test]
    fn oom_block_with_interleaved_lines_is_one_event_with_fields() {
        let text = concat!(
            "[ 100.000001] node invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0\n",
            "[ 100.000002] CPU: 1 PID: 4242 Comm: node Not tainted 6.1.0-18-amd64 #1  Debian 6.1.76-1\n",
            "[ 100.000003] Call Trace:\n",
            "[ 100.000004]  <TASK>\n",
            "[ 100.000005]  dump_stack_lvl+0x44/0x5c\n",
            "[ 100.000006] e1000e: eth0 NIC Link is Down\n",
            "[ 100.000007]  </TASK>\n",
            "[ 100.000008] Tasks state (memory values in pages):\n",
            "[ 100.000009] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name\n",
            "[ 100.000010] [   4242]  1000  4242  1234567   456789  4000000        0             0 node\n",
            "[ 100.000011] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/user.slice/user-1000.slice/session-2.scope,task=node,pid=4242,uid=1000\n",
            "[ 100.000012] Out of memory: Killed process 4242 (node) total-vm:4938268kB, anon-rss:1827156kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:3906kB oom_score_adj:0\n",
            "[ 100.100000] usb 1-1: new high-speed USB device number 3 using xhci_hcd\n",
            "[ 100.200000] oom_reaper: reaped process 4242 (node), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB\n",
            "[ 101.000000]  stray indented line after the block\n",
        );
        let src = Source::from_bytes(0, "oom.dmesg", text.as_bytes().to_vec());
        let p = parse_source(&src, None);
        assert_eq!(crate::formats::name_of(p.format.unwrap()), "kernel");
        assert_eq!(p.events.len(), 4, "{:#?}", p.events);
        let o = &p.events[0];
        assert_eq!((o.line, o.end_line), (1, 14));
        let f = |n: &str| {
            String::from_utf8_lossy(o.field(&p.fields, &p.atoms, n, &src.bytes).unwrap_or(b"-"))
                .into_owned()
        };
        assert_eq!(f("oom.invoker"), "node");
        assert_eq!(f("oom.victim_pid"), "4242");
        assert_eq!(f("oom.victim_comm"), "node");
        assert_eq!(f("oom.total_vm_kb"), "4938268");
        assert_eq!(f("oom.anon_rss_kb"), "1827156");
        assert_eq!(
            f("oom.cgroup"),
            "/user.slice/user-1000.slice/session-2.scope"
        );
        assert_eq!(f("oom.constraint"), "CONSTRAINT_NONE");
        assert_eq!(p.events[1].line, 6);
        assert_eq!(p.events[2].line, 13);
        assert_eq!(p.events[3].line, 15);
        assert_eq!(p.atoms.get(p.events[1].unit), "kernel");
        let m = o.message.bytes(&src.bytes);
        assert!(m.starts_with(b"node invoked oom-killer"));
        assert!(m.ends_with(b"now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"));
        assert_eq!(p.counts.parsed, 4);
        assert_eq!(p.counts.continuation, 11);
        assert_eq!(p.counts.total(), src.lines);
    }

    #[test]
    fn old_two_kill_lines_and_4_19_two_line_summary() {
        let text = concat!(
            "[ 5.0] perl invoked oom-killer: gfp_mask=0x24201ca, order=0, oom_score_adj=0\n",
            "[ 5.1] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0\n",
            "[ 5.1] ,oom_memcg=/docker/abc,task_memcg=/docker/abc,task=perl,pid=23409,uid=0\n",
            "[ 5.2] Out of memory: Kill process 23409 (perl) score 329 or sacrifice child\n",
            "[ 5.3] Killed process 23409 (perl) total-vm:5370580kB, anon-rss:5224980kB, file-rss:4kB\n",
            "[ 5.4] Killed process 1 (other) total-vm:1kB, anon-rss:1kB, file-rss:4kB\n",
            "  an indented continuation\n",
        );
        let src = Source::from_bytes(0, "oom-4.19.dmesg", text.as_bytes().to_vec());
        let p = parse_source(&src, Some(crate::formats::by_name("kernel").unwrap().0));
        let o = &p.events[0];
        let f = |n: &str| {
            String::from_utf8_lossy(o.field(&p.fields, &p.atoms, n, &src.bytes).unwrap_or(b"-"))
                .into_owned()
        };
        assert_eq!(f("oom.constraint"), "CONSTRAINT_MEMCG");
        assert_eq!(f("oom.cgroup"), "/docker/abc");
        assert_eq!(f("oom.victim_pid"), "23409");
        assert_eq!(f("oom.total_vm_kb"), "5370580");
        // the third kill line folds too (still in the killed phase): one event overall
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.counts.total(), src.lines);
        assert_eq!(p.counts.unparsed, 0);
    }

    #[test]
    fn kmsg_dictionary_lines_and_kern_log() {
        let text =
            "6,1,100,-;usb 1-1: new device\n SUBSYSTEM=usb\n DEVICE=c189:1\n4,2,200,-;second\n";
        let src = Source::from_bytes(0, "kmsg", text.as_bytes().to_vec());
        let p = parse_source(&src, None);
        assert_eq!(crate::formats::name_of(p.format.unwrap()), "kernel");
        assert_eq!(p.events.len(), 2);
        assert_eq!(
            p.events[0].message.bytes(&src.bytes),
            b"usb 1-1: new device"
        );
        assert_eq!(p.counts.continuation, 2);
        let text = "Mar 24 10:00:00 h1 kernel: [  5.5] a\nMar 24 10:00:01 h1 kernel: b\n";
        let src = Source::from_bytes(0, "kern.log", text.as_bytes().to_vec());
        assert!(Kernel.sniff(&src.bytes) > 30);
        let p = parse_source(&src, None);
        assert_eq!(crate::formats::name_of(p.format.unwrap()), "kernel");
        assert_eq!(p.events[0].mono_us, Some(5_500_000));
        assert_eq!(p.events[1].mono_us, None);
        assert_eq!(p.atoms.get(p.events[1].host), "h1");
    }

    #[test]
    fn sniff_scores() {
        assert_eq!(
            Kernel.sniff(b"[    0.000000] Linux version 6.1.0\n[    0.000001] x\n"),
            90
        );
        assert_eq!(Kernel.sniff(b"Mar 24 10:00:00 h sshd[1]: x\n"), 0);
        assert_eq!(Kernel.sniff(b"hello\n"), 0);
    }
}
