//! Unexplained errors: error-level events no signal rule matched, clustered into templates
//! so nothing important hides behind a missing rule.
//!
//! An event counts as an error when its severity is err or worse, or, in formats without
//! severity, when its first line contains an error word (the line folded to lower case,
//! then one aho-corasick pass whose case-sensitive patterns let it use its SIMD prefilter).
//! Masking is byte scanning, no regex: store paths, IPv4 addresses with ports, uuids, long
//! hex runs, numbers and durations become `<path>`, `<ip>`, `<uuid>`, `<hex>`, `<num>`,
//! `<dur>`. Clustering is Drain-style: templates are grouped by token count and first
//! token, an event joins the most similar template when at least half its tokens agree,
//! and differing positions become `<*>`. Deterministic: events are taken in timeline order.
//!
//! The miner is built for millions of lines (`gaplog templates` runs it on every line):
//! a line is masked into one reusable buffer ([`Masked`]: the masked tokens back to back,
//! each with a hash), tokens are interned to `u32` ids only when a new template keeps them,
//! and a line is compared with the templates of its (length, first token) as id vectors.
//! Strings are made only for the final templates.

use crate::analysis::{Location, Unexplained};
use crate::bits::Bits;
use crate::digest::fold;
use crate::event::Severity;
use crate::signals::Signal;
use crate::timeline::{EvRef, Timeline, View};
use aho_corasick::AhoCorasick;
use std::borrow::Cow;
use std::collections::HashMap;

/// Templates kept in the report.
pub const MAX_TEMPLATES: usize = 50;
const MAX_TOKENS: usize = 64;
/// Lines masked together by one worker of [`Miner::add_par`].
const BATCH: usize = 4096;

/// Lower-case, as matched against the line folded to lower case.
const ERROR_WORDS: &[&str] = &[
    "error",
    "failed",
    "failure",
    "fatal",
    "panic",
    "cannot ",
    "can't ",
    "unable to",
    "refused",
    "denied",
    "not found",
    "no such file",
    "timed out",
    "segfault",
    "traceback",
];

// Byte classes, one table lookup per byte: the tokenizer needs whitespace, digits, `=` and
// non-ASCII; the classifier of digit-bearing tokens the character sets of each mask.
const WS: u8 = 1;
const DIGIT: u8 = 2;
const EQ: u8 = 4;
const HIGH: u8 = 8;
const HEX: u8 = 16;
/// Characters of an IPv4 address with a port: digits, `.`, `:`.
const IPC: u8 = 32;
/// Characters of a plain number: digits and `.,:-+/`.
const NUMC: u8 = 64;
const DOT: u8 = 128;

const fn byte_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        // `u8::is_ascii_whitespace`, what the tokens are split on.
        if b.is_ascii_whitespace() {
            c |= WS;
        }
        if b.is_ascii_digit() {
            c |= DIGIT | IPC | NUMC;
        }
        if b == b'=' {
            c |= EQ;
        }
        if b >= 0x80 {
            c |= HIGH;
        }
        if b.is_ascii_hexdigit() {
            c |= HEX;
        }
        if b == b'.' {
            c |= DOT | IPC | NUMC;
        }
        if b == b':' {
            c |= IPC | NUMC;
        }
        if matches!(b, b',' | b'-' | b'+' | b'/') {
            c |= NUMC;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = byte_classes();

/// Token ids fixed in every miner: the wildcard, then the masks (interned first, in this
/// order, so that a literal `<num>` in a line is the same token as a masked number).
const WILD: u32 = 0;
const M_PATH: u32 = 1;
const M_IP: u32 = 2;
const M_UUID: u32 = 3;
const M_HEX: u32 = 4;
const M_NUM: u32 = 5;
const M_DUR: u32 = 6;
const MASKS: [&[u8]; 7] = [
    b"<*>", b"<path>", b"<ip>", b"<uuid>", b"<hex>", b"<num>", b"<dur>",
];
/// A token no template holds (yet): it matches nothing but the wildcard.
const NO_ID: u32 = u32::MAX;

/// Units that make a number a duration or a size (`5s`, `12.5ms`, `300MiB`).
fn is_unit(u: &[u8]) -> bool {
    matches!(
        u,
        b"ms"
            | b"s"
            | b"us"
            | b"ns"
            | b"m"
            | b"h"
            | b"min"
            | b"kB"
            | b"KiB"
            | b"MiB"
            | b"GiB"
            | b"MB"
            | b"GB"
    )
}

fn is_store_path(t: &[u8]) -> bool {
    const P: &[u8] = b"/nix/store/";
    t.starts_with(P) || (matches!(t.first(), Some(b'\'' | b'"')) && t[1..].starts_with(P))
}

/// The mask a whole token becomes, if any; `has_digit` says whether it holds a digit (only
/// store paths are masked without one).
fn mask_token(t: &[u8], has_digit: bool) -> Option<u32> {
    if is_store_path(t) {
        return Some(M_PATH);
    }
    if !has_digit {
        return None;
    }
    // The core: from the first alphanumeric or `[` to the last alphanumeric or `]`, so that
    // quotes, commas and parentheses around a value do not hide it.
    let s = t
        .iter()
        .position(|b| b.is_ascii_alphanumeric() || *b == b'[')
        .unwrap_or(t.len());
    let e = t
        .iter()
        .rposition(|b| b.is_ascii_alphanumeric() || *b == b']')
        .map_or(s, |e| e + 1);
    let core = &t[s..e.max(s)];
    if core.is_empty() {
        return Some(M_NUM);
    }
    // uuid: 8-4-4-4-12 hex
    if core.len() == 36
        && core.iter().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
    {
        return Some(M_UUID);
    }
    // One pass: the classes every byte has, and the dots.
    let mut all = u8::MAX;
    let mut dots = 0usize;
    for &b in core {
        let c = CLASS[b as usize];
        all &= c;
        dots += usize::from(c & DOT != 0);
    }
    // IPv4 with optional port
    if dots == 3 && all & IPC != 0 {
        return Some(M_IP);
    }
    if core.len() >= 8 && all & HEX != 0 {
        return Some(M_HEX);
    }
    // duration: digits (with dot) then a unit
    let nd = core
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .count();
    if nd > 0 && nd < core.len() && is_unit(&core[nd..]) {
        return Some(M_DUR);
    }
    if all & NUMC != 0 {
        return Some(M_NUM);
    }
    None
}

/// A fast hash of a token's bytes (8 bytes per multiply; short tails read as overlapping
/// words, no copy). Equal hashes are confirmed by comparing the bytes, so its quality only
/// matters for speed.
#[inline]
fn hash_bytes(b: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let n = b.len();
    let mut h = (n as u64) ^ 0xA076_1D64_78BD_642F;
    if let Some(last) = b.last_chunk::<8>() {
        let (words, rest) = b.as_chunks::<8>();
        for w in words {
            h = fold(h ^ u64::from_le_bytes(*w), K);
        }
        if !rest.is_empty() {
            h = fold(h ^ u64::from_le_bytes(*last), K);
        }
    } else if let (Some(a), Some(z)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        let w = u64::from(u32::from_le_bytes(*a)) << 32 | u64::from(u32::from_le_bytes(*z));
        h = fold(h ^ w, K);
    } else if let (Some(&a), Some(&z)) = (b.first(), b.last()) {
        let w = u64::from(a) << 16 | u64::from(b[n / 2]) << 8 | u64::from(z);
        h = fold(h ^ w, K);
    }
    fold(h, K)
}

/// `a == b` without a `memcmp` call for the short slices tokens mostly are.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 16 {
        return a == b;
    }
    if let (Some(a0), Some(a1), Some(b0), Some(b1)) = (
        a.first_chunk::<8>(),
        a.last_chunk::<8>(),
        b.first_chunk::<8>(),
        b.last_chunk::<8>(),
    ) {
        return a0 == b0 && a1 == b1;
    }
    if let (Some(a0), Some(a1), Some(b0), Some(b1)) = (
        a.first_chunk::<4>(),
        a.last_chunk::<4>(),
        b.first_chunk::<4>(),
        b.last_chunk::<4>(),
    ) {
        return a0 == b0 && a1 == b1;
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    /// The token's bytes, `Masked::bytes[start..end]` (unused for a mask: `MASKS[id]`).
    start: usize,
    end: usize,
    /// The mask's id for a token masked in full, else [`NO_ID`] (looked up by hash).
    id: u32,
    /// [`hash_bytes`] of the token when `id` is [`NO_ID`].
    hash: u64,
}

/// Masked lines, back to back: each line's masked tokens (at most 64), each with its hash.
/// A line is copied once into the buffer and its tokens kept verbatim are spans of that
/// copy; tokens rewritten (`pid=<num>`, `worker[<num>]:`) are appended after it, and tokens
/// masked in full are just the mask's id. Reusable ([`Masked::clear`] keeps the memory):
/// no allocation per line or token (a token that is not valid UTF-8 is the exception: it
/// is replaced lossily first, as the text of the template will be).
#[derive(Clone, Debug, Default)]
pub struct Masked {
    bytes: Vec<u8>,
    toks: Vec<Tok>,
    /// Each line's end in `toks`.
    lines: Vec<usize>,
}

impl Masked {
    /// Forgets the lines, keeps the memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.toks.clear();
        self.lines.clear();
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when no line was pushed.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Line `i`'s masked tokens.
    pub fn tokens(&self, i: usize) -> impl Iterator<Item = &[u8]> {
        let (a, b) = self.range(i);
        (a..b).map(move |k| self.tok_bytes(k))
    }

    fn range(&self, i: usize) -> (usize, usize) {
        let a = if i == 0 { 0 } else { self.lines[i - 1] };
        (a, self.lines[i])
    }

    fn tok_bytes(&self, k: usize) -> &[u8] {
        let t = self.toks[k];
        match MASKS.get(t.id as usize) {
            Some(m) => m,
            None => &self.bytes[t.start..t.end],
        }
    }

    /// Masks one line (split on ASCII whitespace, the first 64 tokens) and appends it.
    /// A token that is a masked value in full becomes its mask (`<num>`, `<ip>`...);
    /// `key=value` with such a value keeps its key (`pid=<num>`); other tokens with
    /// digits get each digit run masked (`worker[<num>]:`); the rest is kept.
    pub fn push(&mut self, line: &[u8]) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(line);
        let n = line.len();
        let mut i = 0;
        for _ in 0..MAX_TOKENS {
            while i < n && CLASS[line[i] as usize] & WS != 0 {
                i += 1;
            }
            if i == n {
                break;
            }
            let start = i;
            let mut acc = 0u8;
            while i < n {
                let c = CLASS[line[i] as usize];
                if c & WS != 0 {
                    break;
                }
                acc |= c;
                i += 1;
            }
            let t = &line[start..i];
            // The common case first: no digit, no `=`, ASCII, not a store path.
            if acc & (DIGIT | EQ | HIGH) == 0 && !is_store_path(t) {
                self.toks.push(Tok {
                    start: base + start,
                    end: base + i,
                    id: NO_ID,
                    hash: hash_bytes(t),
                });
            } else if acc & HIGH != 0 && std::str::from_utf8(t).is_err() {
                // Masking the lossy text gives what masking the bytes then converting
                // would: replacement characters stand for non-ASCII bytes only, which no
                // mask accepts and which never hold whitespace, digits or `=`.
                let text = String::from_utf8_lossy(t);
                let acc = text.bytes().fold(0, |a, b| a | CLASS[b as usize]);
                let at = self.bytes.len();
                self.bytes.extend_from_slice(text.as_bytes());
                self.push_token(at, self.bytes.len(), acc);
            } else {
                self.push_token(base + start, base + i, acc);
            }
        }
        self.lines.push(self.toks.len());
    }

    /// Masks the token `self.bytes[at..end]` (in the line's copy, or its lossy text);
    /// `acc` is the union of its bytes' classes.
    fn push_token(&mut self, at: usize, end: usize, acc: u8) {
        let t = &self.bytes[at..end];
        let digit = acc & DIGIT != 0;
        if let Some(m) = mask_token(t, digit) {
            return self.toks.push(Tok {
                start: at,
                end,
                id: m,
                hash: 0,
            });
        }
        let out = self.bytes.len();
        let mut rewritten = false;
        if acc & EQ != 0
            && let Some(eq) = t.iter().position(|&b| b == b'=')
        {
            let v = &t[eq + 1..];
            if let Some(m) = mask_token(v, digit && v.iter().any(u8::is_ascii_digit)) {
                self.bytes.extend_from_within(at..=at + eq);
                self.bytes.extend_from_slice(MASKS[m as usize]);
                rewritten = true;
            }
        }
        if !rewritten && digit {
            // Mixed tokens (`pid:1234`, `[1234]:`): mask digit runs. Byte by byte into
            // reserved room: the pieces are too short for a copy call each.
            self.bytes.reserve(5 * (end - at));
            let mut in_run = false;
            for i in at..end {
                let b = self.bytes[i];
                if b.is_ascii_digit() {
                    if !in_run {
                        self.bytes.extend_from_slice(b"<num>");
                    }
                    in_run = true;
                } else {
                    self.bytes.push(b);
                    in_run = false;
                }
            }
            rewritten = true;
        }
        let (start, end) = if rewritten {
            (out, self.bytes.len())
        } else {
            (at, end)
        };
        let hash = hash_bytes(&self.bytes[start..end]);
        self.toks.push(Tok {
            start,
            end,
            id: NO_ID,
            hash,
        });
    }
}

/// Masks one message line into tokens. `key=123` keeps its key: `key=<num>`. (The miner
/// masks into a reusable [`Masked`]; this is the same masking as strings.)
pub fn mask(line: &[u8]) -> Vec<String> {
    let mut m = Masked::default();
    m.push(line);
    m.tokens(0)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect()
}

/// Token texts and their ids: an open-addressing table over the tokens' hashes. Only the
/// tokens of templates are interned, so a line of one-off values costs no memory once it
/// joined a template.
#[derive(Debug, Default)]
struct Interner {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    hashes: Vec<u64>,
    /// id + 1, 0 for an empty slot; a power of two, at most half full.
    slots: Vec<u32>,
}

impl Interner {
    fn get(&self, id: u32) -> &[u8] {
        let id = id as usize;
        let a = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.bytes[a..self.ends[id]]
    }

    #[inline]
    fn find(&self, hash: u64, t: &[u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            let id = s - 1;
            if self.hashes[id as usize] == hash && same_bytes(self.get(id), t) {
                return Some(id);
            }
            i = (i + 1) & mask;
        }
    }

    fn intern(&mut self, hash: u64, t: &[u8]) -> u32 {
        if let Some(id) = self.find(hash, t) {
            return id;
        }
        if (self.hashes.len() + 1) * 2 > self.slots.len() {
            let size = (self.slots.len() * 2).max(64);
            self.slots = vec![0; size];
            for id in 0..self.hashes.len() {
                self.place(id as u32);
            }
        }
        let id = self.hashes.len() as u32;
        self.bytes.extend_from_slice(t);
        self.ends.push(self.bytes.len());
        self.hashes.push(hash);
        self.place(id);
        id
    }

    fn place(&mut self, id: u32) {
        let mask = self.slots.len() - 1;
        let mut i = self.hashes[id as usize] as usize & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = id + 1;
    }
}

#[derive(Debug)]
struct Cluster<E> {
    /// Its tokens' ids: `Miner::toks[start..start + len]` (the length is the line's).
    start: usize,
    count: u64,
    first: Option<i64>,
    example: E,
}

/// Clusters the unexplained error events of the timeline.
pub fn mine(tl: &Timeline, sigs: &[Signal]) -> Vec<Unexplained> {
    // The events a signal explains, one bit per event of each source: tested for every
    // event, a bit is cheaper than a hash lookup. Only needed for sources whose picks were
    // not made while their text was live.
    let mut by_source: Vec<Vec<usize>> = vec![Vec::new(); tl.sources.len()];
    for s in sigs {
        if let Some(v) = by_source.get_mut(s.ev.source as usize) {
            v.push(s.ev.index as usize);
        }
    }
    use rayon::prelude::*;
    let picked: Vec<Bits> = tl
        .sources
        .par_iter()
        .zip(by_source.par_iter())
        .map(|(s, explained)| {
            let n = s.events.len();
            match &s.digest.picked {
                Some(p) => Bits::of(n, p.iter().map(|&i| i as usize)),
                None => {
                    let explained = Bits::of(n, explained.iter().copied());
                    let p = pick_source(s.views(), |i| explained.contains(i));
                    Bits::of(n, p.iter().map(|&i| i as usize))
                }
            }
        })
        .collect();
    // In timeline order: clustering depends on what came before.
    let picked: Vec<EvRef> = tl
        .order
        .iter()
        .copied()
        .filter(|r| {
            picked
                .get(r.source as usize)
                .is_some_and(|b| b.contains(r.index as usize))
        })
        .collect();
    let mut miner = Miner::default();
    miner.add_par(
        &picked,
        |&r| Cow::Borrowed(tl.first_line(r)),
        |&r| (tl.has_time(r).then_some(tl.event(r).time), r),
    );
    miner
        .templates()
        .into_iter()
        .take(MAX_TEMPLATES)
        .map(|t| Unexplained {
            template: t.template,
            count: t.count,
            first: t.first.map(crate::time::rfc3339),
            example: Location {
                source: tl.path(t.example).to_string(),
                line: tl.event(t.example).line,
            },
            example_text: super::shorten(
                String::from_utf8_lossy(tl.first_line(t.example)).trim(),
                240,
            ),
        })
        .collect()
}

/// The error events of one source that no signal explains (`explained(index)`), as event
/// indices in ascending order. Reads only the events' own text: it runs right after parsing
/// too, while the source's text is live (fused with the signal scan there, see
/// [`crate::signals::Catalog::scan_pick_source`]).
pub fn pick_source<'a>(
    events: impl Iterator<Item = View<'a>>,
    explained: impl Fn(usize) -> bool,
) -> Vec<u32> {
    let mut folded: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for (i, e) in events.enumerate() {
        if explained(i) {
            continue;
        }
        let is_err = match e.severity {
            Severity::Unknown => error_line(e.message, &mut folded),
            s => s.is_error(),
        };
        if is_err {
            out.push(i as u32);
        }
    }
    out
}

/// Whether the first line of `message`, an event of unknown severity, reads as an error:
/// it holds one of [`ERROR_WORDS`] in any case. `folded` is scratch space.
pub fn error_line(message: &[u8], folded: &mut Vec<u8>) -> bool {
    // Case-sensitive lower-case patterns on the line folded to lower case, leftmost-first:
    // that lets aho-corasick use its SIMD (Teddy) prefilter, which ASCII case-insensitive
    // or standard-semantics matching disables. Whether a line matches is the same.
    static WORDS: std::sync::OnceLock<AhoCorasick> = std::sync::OnceLock::new();
    let words = WORDS.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(ERROR_WORDS)
            .expect("static patterns build")
    });
    let line = memchr::memchr(b'\n', message).map_or(message, |k| &message[..k]);
    // Sized first, then folded in place: a loop over two equal slices is one the compiler
    // turns into vector code, which `extend` over a map is not.
    folded.clear();
    folded.resize(line.len(), 0);
    for (d, s) in folded.iter_mut().zip(line) {
        *d = s.to_ascii_lowercase();
    }
    words.is_match(folded.as_slice())
}

/// A mined template: the masked tokens joined, how many lines it took, the first time, and
/// one example (the first line it was made from).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template<E> {
    /// Tokens joined with spaces; `<*>` where lines differed, `<num>`-style masks.
    pub template: String,
    /// Lines clustered into it.
    pub count: u64,
    /// Earliest time seen, if any line had one.
    pub first: Option<i64>,
    /// The first line's handle.
    pub example: E,
}

/// A Drain-style template miner: lines are masked into tokens ([`Masked`]), and a line joins
/// the cluster of the same length and first token that shares at least half its tokens
/// (positions that differ become `<*>`; ties go to the cluster started first), else starts
/// a new one. Clustering is sequential (a line's cluster depends on the ones before it);
/// masking can be done in parallel ([`Miner::add_par`]).
#[derive(Debug)]
pub struct Miner<E> {
    words: Interner,
    clusters: Vec<Cluster<E>>,
    /// Every cluster's token ids, back to back.
    toks: Vec<u32>,
    /// (token count << 32 | first token id) -> clusters, in creation order.
    index: crate::digest::FastMap<u64, Vec<u32>>,
    /// The current line's token ids.
    line: Vec<u32>,
    /// The masking buffer of [`Miner::add_line`].
    scratch: Masked,
}

impl<E> Default for Miner<E> {
    fn default() -> Self {
        let mut words = Interner::default();
        for m in MASKS {
            words.intern(hash_bytes(m), m);
        }
        Miner {
            words,
            clusters: Vec::new(),
            toks: Vec::new(),
            index: HashMap::default(),
            line: Vec::new(),
            scratch: Masked::default(),
        }
    }
}

impl<E: Copy> Miner<E> {
    /// Masks and adds one line (a line without tokens is ignored).
    pub fn add_line(&mut self, line: &[u8], time: Option<i64>, example: E) {
        let mut m = std::mem::take(&mut self.scratch);
        m.clear();
        m.push(line);
        self.add_masked(&m, 0, time, example);
        self.scratch = m;
    }

    /// Masks the lines of `items` on the current rayon pool, a batch of lines per task,
    /// and adds them in order: `line` gives an item's text, `tag` its time and example.
    pub fn add_par<'b, T: Sync>(
        &mut self,
        items: &[T],
        line: impl Fn(&T) -> Cow<'b, [u8]> + Sync,
        tag: impl Fn(&T) -> (Option<i64>, E),
    ) {
        use rayon::prelude::*;
        if rayon::current_num_threads() <= 1 || items.len() <= BATCH {
            let mut m = std::mem::take(&mut self.scratch);
            for it in items {
                m.clear();
                m.push(&line(it));
                let (time, example) = tag(it);
                self.add_masked(&m, 0, time, example);
            }
            self.scratch = m;
            return;
        }
        let batches: Vec<Masked> = items
            .par_chunks(BATCH)
            .map(|chunk| {
                let mut m = Masked::default();
                for it in chunk {
                    m.push(&line(it));
                }
                m
            })
            .collect();
        for (chunk, m) in items.chunks(BATCH).zip(&batches) {
            for (i, it) in chunk.iter().enumerate() {
                let (time, example) = tag(it);
                self.add_masked(m, i, time, example);
            }
        }
    }

    /// Adds line `i` of `m` (a line without tokens is ignored).
    pub fn add_masked(&mut self, m: &Masked, i: usize, time: Option<i64>, example: E) {
        let (a, b) = m.range(i);
        if a == b {
            return;
        }
        self.line.clear();
        for k in a..b {
            let t = m.toks[k];
            let id = if t.id != NO_ID {
                t.id
            } else {
                self.words.find(t.hash, m.tok_bytes(k)).unwrap_or(NO_ID)
            };
            self.line.push(id);
        }
        let n = self.line.len();
        let line = &self.line;
        // A first token no template holds has no candidates.
        let cands = if line[0] == NO_ID {
            &[][..]
        } else {
            self.index
                .get(&(((n as u64) << 32) | u64::from(line[0])))
                .map_or(&[][..], Vec::as_slice)
        };
        let mut best: Option<(usize, u32)> = None;
        for &c in cands {
            let s = self.clusters[c as usize].start;
            let same = self.toks[s..s + n]
                .iter()
                .zip(line)
                .filter(|&(a, b)| *a == WILD || a == b)
                .count();
            if same * 2 >= n && best.is_none_or(|(bs, _)| same > bs) {
                best = Some((same, c));
            }
        }
        match best {
            Some((_, c)) => {
                let cl = &mut self.clusters[c as usize];
                for (a, b) in self.toks[cl.start..cl.start + n].iter_mut().zip(line) {
                    if a != b {
                        *a = WILD;
                    }
                }
                cl.count += 1;
                cl.first = match (cl.first, time) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => {
                for k in 0..n {
                    if self.line[k] == NO_ID {
                        let t = m.toks[a + k];
                        self.line[k] = self.words.intern(t.hash, m.tok_bytes(a + k));
                    }
                }
                let key = ((n as u64) << 32) | u64::from(self.line[0]);
                self.index
                    .entry(key)
                    .or_default()
                    .push(self.clusters.len() as u32);
                self.clusters.push(Cluster {
                    start: self.toks.len(),
                    count: 1,
                    first: time,
                    example,
                });
                self.toks.extend_from_slice(&self.line);
            }
        }
    }

    /// Number of clusters so far.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    /// True before any line was added.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// The templates, most frequent first (ties: the one started first).
    pub fn templates(&self) -> Vec<Template<E>> {
        let mut order: Vec<usize> = (0..self.clusters.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(self.clusters[i].count), i));
        let end = |i: usize| {
            self.clusters
                .get(i + 1)
                .map_or(self.toks.len(), |c| c.start)
        };
        order
            .into_iter()
            .map(|i| {
                let c = &self.clusters[i];
                let mut text = Vec::new();
                for (k, &id) in self.toks[c.start..end(i)].iter().enumerate() {
                    if k > 0 {
                        text.push(b' ');
                    }
                    text.extend_from_slice(self.words.get(id));
                }
                Template {
                    // Valid UTF-8: lines were made so when masked.
                    template: String::from_utf8(text)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                    count: c.count,
                    first: c.first,
                    example: c.example,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The masker and miner as they were before the span-based rewrite (a `String` per
    /// token), kept as the specification the fast one must agree with.
    mod reference {
        use std::collections::HashMap;

        fn mask_token(t: &[u8]) -> Option<&'static str> {
            if t.starts_with(b"/nix/store/")
                || t.starts_with(b"'/nix/store/")
                || t.starts_with(b"\"/nix/store/")
            {
                return Some("<path>");
            }
            let digits = t.iter().filter(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            let core: &[u8] = {
                let s = t
                    .iter()
                    .position(|b| b.is_ascii_alphanumeric() || *b == b'[')
                    .unwrap_or(t.len());
                let e = t
                    .iter()
                    .rposition(|b| b.is_ascii_alphanumeric() || *b == b']')
                    .map_or(s, |e| e + 1);
                &t[s..e.max(s)]
            };
            if core.is_empty() {
                return Some("<num>");
            }
            if core.len() == 36
                && core.iter().enumerate().all(|(i, b)| {
                    if [8, 13, 18, 23].contains(&i) {
                        *b == b'-'
                    } else {
                        b.is_ascii_hexdigit()
                    }
                })
            {
                return Some("<uuid>");
            }
            let dots = core.iter().filter(|b| **b == b'.').count();
            if dots == 3
                && core
                    .iter()
                    .all(|b| b.is_ascii_digit() || *b == b'.' || *b == b':')
            {
                return Some("<ip>");
            }
            if core.len() >= 8 && core.iter().all(|b| b.is_ascii_hexdigit()) {
                return Some("<hex>");
            }
            let nd = core
                .iter()
                .take_while(|b| b.is_ascii_digit() || **b == b'.')
                .count();
            if nd > 0 && nd < core.len() {
                let unit = &core[nd..];
                if [
                    &b"ms"[..],
                    b"s",
                    b"us",
                    b"ns",
                    b"m",
                    b"h",
                    b"min",
                    b"kB",
                    b"KiB",
                    b"MiB",
                    b"GiB",
                    b"MB",
                    b"GB",
                ]
                .contains(&unit)
                {
                    return Some("<dur>");
                }
            }
            if core
                .iter()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b':' | b'-' | b'+' | b'/'))
            {
                return Some("<num>");
            }
            None
        }

        pub fn mask(line: &[u8]) -> Vec<String> {
            let mut out = Vec::new();
            for t in line
                .split(|b| b.is_ascii_whitespace())
                .filter(|t| !t.is_empty())
                .take(64)
            {
                if let Some(m) = mask_token(t) {
                    out.push(m.to_string());
                    continue;
                }
                if let Some(eq) = t.iter().position(|b| *b == b'=')
                    && let Some(m) = mask_token(&t[eq + 1..])
                {
                    out.push(format!("{}={m}", String::from_utf8_lossy(&t[..eq])));
                    continue;
                }
                if t.iter().any(|b| b.is_ascii_digit()) {
                    let mut s = Vec::with_capacity(t.len());
                    let mut i = 0;
                    while i < t.len() {
                        if t[i].is_ascii_digit() {
                            while i < t.len() && t[i].is_ascii_digit() {
                                i += 1;
                            }
                            s.extend_from_slice(b"<num>");
                        } else {
                            s.push(t[i]);
                            i += 1;
                        }
                    }
                    out.push(String::from_utf8_lossy(&s).into_owned());
                } else {
                    out.push(String::from_utf8_lossy(t).into_owned());
                }
            }
            out
        }

        /// (template, count, first, example) of every cluster, most frequent first.
        pub fn mine(lines: &[(&[u8], Option<i64>)]) -> Vec<(String, u64, Option<i64>, usize)> {
            let mut clusters: Vec<(Vec<String>, u64, Option<i64>, usize)> = Vec::new();
            let mut index: HashMap<(usize, String), Vec<usize>> = HashMap::new();
            for (no, (line, time)) in lines.iter().enumerate() {
                let toks = mask(line);
                if toks.is_empty() {
                    continue;
                }
                let cands = index.entry((toks.len(), toks[0].clone())).or_default();
                let mut best: Option<(usize, usize)> = None;
                for &c in cands.iter() {
                    let same = clusters[c]
                        .0
                        .iter()
                        .zip(&toks)
                        .filter(|(a, b)| a == b || *a == "<*>")
                        .count();
                    if same * 2 >= toks.len() && best.is_none_or(|(bs, _)| same > bs) {
                        best = Some((same, c));
                    }
                }
                match best {
                    Some((_, c)) => {
                        let cl = &mut clusters[c];
                        for (a, b) in cl.0.iter_mut().zip(&toks) {
                            if a != b {
                                *a = "<*>".to_string();
                            }
                        }
                        cl.1 += 1;
                        cl.2 = match (cl.2, *time) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                    }
                    None => {
                        cands.push(clusters.len());
                        clusters.push((toks, 1, *time, no));
                    }
                }
            }
            let mut order: Vec<usize> = (0..clusters.len()).collect();
            order.sort_by_key(|&i| (std::cmp::Reverse(clusters[i].1), i));
            order
                .into_iter()
                .map(|i| {
                    let c = &clusters[i];
                    (c.0.join(" "), c.1, c.2, c.3)
                })
                .collect()
        }
    }

    fn mine_fast(lines: &[(&[u8], Option<i64>)]) -> Vec<(String, u64, Option<i64>, usize)> {
        let mut m: Miner<usize> = Miner::default();
        for (no, (line, time)) in lines.iter().enumerate() {
            m.add_line(line, *time, no);
        }
        m.templates()
            .into_iter()
            .map(|t| (t.template, t.count, t.first, t.example))
            .collect()
    }

    #[test]
    fn miner_merges_lines_that_differ_in_masked_and_few_words() {
        let mut m: Miner<u32> = Miner::default();
        for (k, l) in [
            "connection from 10.0.0.1 port 22 accepted",
            "connection from 10.0.0.2 port 2222 accepted",
            "connection from 10.0.0.3 port 22 refused",
            "disk full on /dev/sda1",
        ]
        .iter()
        .enumerate()
        {
            m.add_line(l.as_bytes(), Some(k as i64), k as u32);
        }
        let t = m.templates();
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0].count, 3);
        assert_eq!(t[0].example, 0);
        assert_eq!(t[0].first, Some(0));
        assert_eq!(
            t[0].template, "connection from <ip> port <num> <*>",
            "{}",
            t[0].template
        );
        assert_eq!(t[1].count, 1);
        assert_eq!(t[1].template, "disk full on /dev/sda<num>");
        m.add_line(b" \t ", None, 9);
        assert_eq!(m.len(), 2, "lines without tokens are ignored");
    }

    #[test]
    fn masks_variable_parts() {
        let t = mask(b"error: opening file '/nix/store/abc-foo/bin': pid=4242 took 5s from 10.0.0.1:8083 id 0123456789abcdef");
        assert_eq!(
            t.join(" "),
            "error: opening file <path> pid=<num> took <dur> from <ip> id <hex>"
        );
        assert_eq!(
            mask(b"uuid 123e4567-e89b-12d3-a456-426614174000")[1],
            "<uuid>"
        );
        assert_eq!(mask(b"worker[77]: x")[0], "worker[<num>]:");
    }

    /// Tokens whose mask is easy to get wrong, with what they become. Some outcomes are
    /// limits of the masker pinned as they are (changing them changes templates): a `0x`
    /// value is a mixed token (its digit runs masked), an IPv6 address too, a hex word
    /// without a digit is a word, and `[1234]` keeps its brackets.
    #[test]
    fn masks_tricky_tokens() {
        let cases: &[(&str, &str)] = &[
            // IPv4, with a port, inside punctuation; three numbers are not an address.
            ("10.0.0.1", "<ip>"),
            ("10.0.0.1:8080", "<ip>"),
            ("(192.168.1.131:41641),", "<ip>"),
            ("v4a=203.0.113.186:41641", "v4a=<ip>"),
            ("1.2.3", "<num>"),
            ("v1.2.3.4", "v<num>.<num>.<num>.<num>"),
            ("fe80::1", "fe<num>::<num>"),
            // hex: eight hex digits or more, at least one a digit, no `0x` prefix.
            ("deadbeef", "deadbeef"),
            ("deadbeef0", "<hex>"),
            ("1644957308cd0ad3", "<hex>"),
            ("0x1f", "<num>x<num>f"),
            ("0x7fffdeadbeef", "<num>x<num>fffdeadbeef"),
            ("TOS=0x00", "TOS=<num>x<num>"),
            // signed and decimal numbers, lists, clock times.
            ("-42", "<num>"),
            ("+3", "<num>"),
            ("-1.5", "<num>"),
            ("1,024", "<num>"),
            ("12:34:56", "<num>"),
            ("ret=-12", "ret=<num>"),
            (
                "2026-02-01T00:00:00Z",
                "<num>-<num>-<num>T<num>:<num>:<num>Z",
            ),
            // uuids, any case, quoted.
            ("123e4567-e89b-12d3-a456-426614174000", "<uuid>"),
            ("123E4567-E89B-12D3-A456-426614174000", "<uuid>"),
            ("'123e4567-e89b-12d3-a456-426614174000',", "<uuid>"),
            (
                "123e4567-e89b-12d3-a456-42661417400",
                "<num>e<num>-e<num>b-<num>d<num>-a<num>-<num>",
            ),
            // store paths, bare, quoted, as a value; not after other punctuation.
            ("/nix/store/7vz4q-hello-2.12/bin/hello", "<path>"),
            ("'/nix/store/abc-foo'", "<path>"),
            ("\"/nix/store/abc-foo\"", "<path>"),
            ("path=/nix/store/abc-foo", "path=<path>"),
            ("(/nix/store/abc-foo)", "(/nix/store/abc-foo)"),
            (
                "(/nix/store/abc-foo-1.0)",
                "(/nix/store/abc-foo-<num>.<num>)",
            ),
            // durations and sizes; other suffixes are not units.
            ("5s", "<dur>"),
            ("12.5ms", "<dur>"),
            ("300MiB", "<dur>"),
            ("took=45.948063ms", "took=<dur>"),
            ("5sec", "<num>sec"),
            // brackets, keys, mixed tokens.
            ("[1234]", "[<num>]"),
            ("[1234]:", "[<num>]:"),
            ("a=b=3", "a=b=<num>"),
            ("pid:1234", "pid:<num>"),
            ("port=", "port="),
            ("=5", "<num>"),
            ("<num>", "<num>"),
        ];
        for (tok, want) in cases {
            assert_eq!(mask(tok.as_bytes()), [*want], "{tok}");
            assert_eq!(reference::mask(tok.as_bytes()), [*want], "reference: {tok}");
        }
    }

    #[test]
    fn masking_splits_on_ascii_whitespace_and_keeps_64_tokens() {
        // Vertical tab is not ASCII whitespace for `u8::is_ascii_whitespace`; form feed is.
        assert_eq!(mask(b"a\x0bb c\x0cd\r\ne"), ["a\x0bb", "c", "d", "e"]);
        let long: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        let t = mask(long.join(" ").as_bytes());
        assert_eq!(t.len(), 64);
        assert_eq!(t[63], "w<num>");
        assert!(mask(b"").is_empty());
        assert!(mask(b" \t\r\n").is_empty());
    }

    #[test]
    fn invalid_utf8_is_masked_as_its_lossy_text() {
        assert_eq!(
            mask(b"caf\xe9 n\xff5 \xe2\x82 42 k=\xff7"),
            [
                "caf\u{fffd}",
                "n\u{fffd}<num>",
                "\u{fffd}",
                "<num>",
                "k=<num>"
            ]
        );
        // Two different invalid bytes are the same text, hence the same template token.
        let lines: &[(&[u8], Option<i64>)] = &[(b"bad \xff x", None), (b"bad \xfe y", None)];
        let t = mine_fast(lines);
        assert_eq!(t, reference::mine(lines));
        assert_eq!(t[0].0, "bad \u{fffd} <*>");
    }

    #[test]
    fn literal_masks_and_wildcards_in_the_input_are_the_same_tokens() {
        let lines: &[(&[u8], Option<i64>)] = &[
            (b"job <*> failed 3", None),
            (b"job x failed <num>", Some(5)),
            (b"job y failed 4", Some(2)),
            (b"<num> <num> <num> <num>", None),
            (b"1 2 3 4", None),
        ];
        let t = mine_fast(lines);
        assert_eq!(t, reference::mine(lines));
        assert_eq!(t[0], ("job <*> failed <num>".to_string(), 3, Some(2), 0));
        assert_eq!(t[1], ("<num> <num> <num> <num>".to_string(), 2, None, 3));
    }

    /// Every line of every fixture and sample: the same tokens and the same templates as
    /// the reference implementation.
    #[test]
    fn agrees_with_the_reference_on_every_fixture_and_sample_line() {
        let sources = crate::ingest::fixture_and_sample_sources();
        let mut lines: Vec<(&[u8], Option<i64>)> = Vec::new();
        for s in &sources {
            for l in crate::lines::Lines::new(&s.bytes, s.terminator) {
                lines.push((l.text, Some(i64::from(l.no % 97))));
            }
        }
        assert!(lines.len() > 5000, "{} lines", lines.len());
        for (l, _) in &lines {
            assert_eq!(
                mask(l),
                reference::mask(l),
                "{}",
                String::from_utf8_lossy(l)
            );
        }
        let fast = mine_fast(&lines);
        assert!(fast.len() > 100, "{} templates", fast.len());
        assert_eq!(fast, reference::mine(&lines));
        // Masked in parallel batches, fed in order: the same.
        let mut m: Miner<usize> = Miner::default();
        let numbered: Vec<(usize, &[u8], Option<i64>)> = lines
            .iter()
            .enumerate()
            .map(|(i, (l, t))| (i, *l, *t))
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        pool.install(|| {
            m.add_par(&numbered, |x| Cow::Borrowed(x.1), |x| (x.2, x.0));
        });
        let par: Vec<_> = m
            .templates()
            .into_iter()
            .map(|t| (t.template, t.count, t.first, t.example))
            .collect();
        assert_eq!(par, fast);
    }

    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"10.0.0.1".to_vec()),
            Just(b"10.0.0.2:80".to_vec()),
            Just(b"0x1f".to_vec()),
            Just(b"-7".to_vec()),
            Just(b"deadbeef00".to_vec()),
            Just(b"123e4567-e89b-12d3-a456-426614174000".to_vec()),
            Just(b"/nix/store/".to_vec()),
            Just(b"'".to_vec()),
            Just(b"=".to_vec()),
            Just(b"[".to_vec()),
            Just(b"]".to_vec()),
            Just(b"<*>".to_vec()),
            Just(b"<num>".to_vec()),
            Just(b"ms".to_vec()),
            Just(b"MiB".to_vec()),
            Just(b"\xff".to_vec()),
            Just("é".as_bytes().to_vec()),
            Just(b"error".to_vec()),
            Just(b"x".to_vec()),
            Just(b" ".to_vec()),
            Just(b"\t".to_vec()),
            Just(b"\x0b".to_vec()),
            proptest::collection::vec(any::<u8>(), 1..4),
            "[0-9.:,+/-]{1,6}".prop_map(String::into_bytes),
        ]
    }

    fn line() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(piece(), 0..24).prop_map(|p| p.concat())
    }

    proptest! {
        #[test]
        fn masking_agrees_with_the_reference(l in line()) {
            prop_assert_eq!(mask(&l), reference::mask(&l));
        }

        #[test]
        fn mining_agrees_with_the_reference(
            ls in proptest::collection::vec((line(), proptest::option::of(0i64..50)), 0..40)
        ) {
            let lines: Vec<(&[u8], Option<i64>)> =
                ls.iter().map(|(l, t)| (l.as_slice(), *t)).collect();
            prop_assert_eq!(mine_fast(&lines), reference::mine(&lines));
        }
    }
}
