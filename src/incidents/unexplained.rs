//! Unexplained errors: error-level events no signal rule matched, clustered into templates
//! so nothing important hides behind a missing rule.
//!
//! An event counts as an error when its severity is err or worse, or, in formats without
//! severity, when its first line contains an error word (one aho-corasick pass). Masking
//! is byte scanning, no regex: store paths, IPv4 addresses with ports, uuids, long hex runs,
//! numbers and durations become `<path>`, `<ip>`, `<uuid>`, `<hex>`, `<num>`, `<dur>`.
//! Clustering is Drain-style: templates are grouped by token count and first token, an
//! event joins the most similar template when at least half its tokens agree, and differing
//! positions become `<*>`. Deterministic: events are taken in timeline order.

use crate::analysis::{Location, Unexplained};
use crate::event::Severity;
use crate::signals::Signal;
use crate::timeline::{EvRef, Timeline};
use aho_corasick::AhoCorasick;
use std::collections::{HashMap, HashSet};

/// Templates kept in the report.
pub const MAX_TEMPLATES: usize = 50;
const MAX_TOKENS: usize = 64;

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

/// True when a token is a number-ish value (its masked class), else `None`.
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
    // uuid: 8-4-4-4-12 hex
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
    // IPv4 with optional port
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
    // duration: digits (with dot) then a unit
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
    // key=value or key:value where the value is numeric: keep the key.
    None
}

/// Masks one message line into tokens. `key=123` keeps its key: `key=<num>`.
pub fn mask(line: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for t in line
        .split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
        .take(MAX_TOKENS)
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
            // Mixed tokens (`pid:1234`, `[1234]:`): mask digit runs.
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

#[derive(Debug)]
struct Cluster<E> {
    tokens: Vec<String>,
    count: u64,
    first: Option<i64>,
    example: E,
}

/// Clusters the unexplained error events of the timeline.
pub fn mine(tl: &Timeline, sigs: &[Signal]) -> Vec<Unexplained> {
    let explained: HashSet<EvRef> = sigs.iter().map(|s| s.ev).collect();
    // A DFA: a few dozen states, the fastest `is_match` over every unexplained line.
    let words = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(ERROR_WORDS)
        .expect("static patterns build");
    // Selecting and masking the error lines is per event: done in parallel (in timeline
    // order, rayon keeps it); clustering, which depends on what came before, stays sequential.
    use rayon::prelude::*;
    let picked: Vec<(EvRef, Vec<String>)> = tl
        .order
        .par_iter()
        .filter_map(|&r| {
            if explained.contains(&r) {
                return None;
            }
            let e = tl.event(r);
            let line = tl.first_line(r);
            let is_err = match e.severity {
                Severity::Unknown => words.is_match(line),
                s => s.is_error(),
            };
            if !is_err {
                return None;
            }
            let toks = mask(line);
            (!toks.is_empty()).then_some((r, toks))
        })
        .collect();
    let mut miner = Miner::default();
    for (r, toks) in picked {
        let time = tl.has_time(r).then_some(tl.event(r).time);
        miner.add(toks, time, r);
    }
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

/// A Drain-style template miner: lines are masked into tokens ([`mask`]), and a line joins
/// the cluster of the same length and first token that shares at least half its tokens
/// (positions that differ become `<*>`), else starts a new one. Clustering is sequential
/// (a line's cluster depends on the ones before it); masking can be done in parallel.
#[derive(Debug)]
pub struct Miner<E> {
    clusters: Vec<Cluster<E>>,
    index: HashMap<(usize, String), Vec<usize>>,
}

impl<E> Default for Miner<E> {
    fn default() -> Self {
        Miner {
            clusters: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<E: Copy> Miner<E> {
    /// Adds one line's tokens (empty token lists are ignored).
    pub fn add(&mut self, toks: Vec<String>, time: Option<i64>, example: E) {
        if toks.is_empty() {
            return;
        }
        let key = (toks.len(), toks[0].clone());
        let cands = self.index.entry(key).or_default();
        let mut best: Option<(usize, usize)> = None;
        for &c in cands.iter() {
            let same = self.clusters[c]
                .tokens
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
                let cl = &mut self.clusters[c];
                for (a, b) in cl.tokens.iter_mut().zip(&toks) {
                    if a != b {
                        *a = "<*>".to_string();
                    }
                }
                cl.count += 1;
                cl.first = match (cl.first, time) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => {
                cands.push(self.clusters.len());
                self.clusters.push(Cluster {
                    tokens: toks,
                    count: 1,
                    first: time,
                    example,
                });
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
        order
            .into_iter()
            .map(|i| {
                let c = &self.clusters[i];
                Template {
                    template: c.tokens.join(" "),
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
            m.add(mask(l.as_bytes()), Some(k as i64), k as u32);
        }
        let t = m.templates();
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0].count, 3);
        assert_eq!(t[0].example, 0);
        assert_eq!(t[0].first, Some(0));
        assert!(t[0].template.ends_with("<*>"), "{}", t[0].template);
        assert_eq!(t[1].count, 1);
        m.add(Vec::new(), None, 9);
        assert_eq!(m.len(), 2, "empty token lists are ignored");
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
}
