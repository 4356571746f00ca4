//! Stage 5, signals: matches the rule catalog of `grammars/signals/*.toml` against every
//! event of the [`Timeline`] and returns the [`Signal`]s, in timeline order.
//!
//! All rules are compiled once ([`Catalog::compile`]): their literals go into one
//! aho-corasick automaton (ASCII case-insensitive), so each event's message is scanned once
//! whatever the number of rules; only the rules whose literal occurred run their regexes.
//! Scanning is parallel (rayon, in timeline chunks) and deterministic: the output order is
//! the timeline order, then the rule order. Context conditions (`when`) are evaluated after
//! the scan, because `near` needs the other signals.

pub mod gate;
pub mod grammar;

use crate::analysis::{Gap, Verdict};
use crate::event::{Atom, Atoms};
use crate::timeline::{EvRef, Timeline, View};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use grammar::{GrammarError, GrammarErrors, Raw, RuleDef, parse_gap, parse_verdict};
use rayon::prelude::*;
use regex::bytes::Regex;
use std::collections::HashMap;

/// Structured fields matched together with the message (as ` key=value`), for parsers
/// that split them out of the text (logrus JSON `status`, `error`).
pub const MATCHED_FIELDS: &[&str] = &["status", "error", "err", "reason", "failure_reason"];

/// One compiled context condition.
#[derive(Clone, Debug)]
pub struct When {
    /// (field name, regex).
    pub fields: Vec<(String, LazyRegex)>,
    /// (capture name, regex).
    pub captures: Vec<(String, LazyRegex)>,
    /// Rule ids one of which must occur nearby.
    pub near: Vec<String>,
    /// Window for `near`, ns.
    pub within_ns: i64,
    /// Gap override.
    pub gap: Option<Gap>,
    /// Verdict override.
    pub verdict: Option<Verdict>,
    /// Why.
    pub note: String,
}

/// One compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Format names (empty: all).
    pub formats: Vec<String>,
    /// Units (empty: all).
    pub units: Vec<String>,
    /// Literals.
    pub literals: Vec<String>,
    /// Regex alternatives.
    pub regexes: Vec<LazyRegex>,
    /// Default gap.
    pub gap: Gap,
    /// Default verdict.
    pub verdict: Verdict,
    /// Severity word.
    pub severity: String,
    /// Explanation template.
    pub explanation: String,
    /// Examples (for `rules --check` and the test suite).
    pub examples: Vec<String>,
    /// Counterexamples.
    pub counterexamples: Vec<String>,
    /// Expected captures of the first example.
    pub captures: Vec<(String, String)>,
    /// Context overrides.
    pub when: Vec<When>,
    /// Grammar file the rule came from.
    pub file: String,
}

impl Rule {
    /// Matches `msg` against the rule's regexes; returns the captures of the first that
    /// matches (name, value), or `None`.
    pub fn matches(&self, msg: &[u8]) -> Option<Vec<(String, String)>> {
        self.matches_at(msg).map(|(_, c)| c)
    }

    /// As [`Rule::matches`], with the byte offset where the match starts.
    pub fn matches_at(&self, msg: &[u8]) -> Option<(usize, Vec<(String, String)>)> {
        for re in self.regexes.iter().filter_map(LazyRegex::get) {
            // Nearly every text a rule's literal admits fails its regexes: a search that
            // stops at the first match and allocates nothing answers those; the captures
            // (an allocation) are taken only for a match.
            if !re.is_match(msg) {
                continue;
            }
            if let Some(c) = re.captures(msg) {
                let at = c.get(0).map_or(0, |m| m.start());
                let mut out = Vec::new();
                for name in re.capture_names().flatten() {
                    if let Some(m) = c.name(name) {
                        out.push((
                            name.to_string(),
                            String::from_utf8_lossy(m.as_bytes()).into_owned(),
                        ));
                    }
                }
                return Some((at, out));
            }
        }
        None
    }

    /// True when the unit filter admits `unit`.
    fn unit_ok(&self, unit: &str) -> bool {
        self.units.is_empty()
            || self.units.iter().any(|u| {
                unit == u
                    || unit
                        .strip_prefix(u.as_str())
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('@'))
            })
    }

    /// The explanation with `{name}` replaced by captures.
    pub fn explain(&self, caps: &[(String, String)]) -> String {
        let mut s = self.explanation.clone();
        for (k, v) in caps {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }
}

/// The compiled catalog and playbook.
#[derive(Debug)]
pub struct Catalog {
    /// Rules in grammar order (embedded files first, then user files).
    pub rules: Vec<Rule>,
    /// The prefilter over all literals.
    ac: AhoCorasick,
    /// The literals' 3-grams, for the gate in front of `ac` ([`gate`]).
    grams: gate::Grams,
    /// Literal pattern index -> rule indices.
    lit_rules: Vec<Vec<u32>>,
    /// The playbook.
    pub playbook: crate::incidents::Playbook,
}

/// A rule as `gaplog rules` lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RuleSummary {
    /// Id.
    pub id: String,
    /// Default gap.
    pub gap: Gap,
    /// Default verdict.
    pub verdict: Verdict,
    /// Severity word.
    pub severity: String,
    /// Title.
    pub title: String,
    /// Explanation template.
    pub explanation: String,
    /// Grammar file.
    pub file: String,
}

/// A rule that matched an event of a source, before the merge: what [`Signal`] is made of
/// once the event's time and host are final and the event survived the merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Index of the event in its source.
    pub index: u32,
    /// Rule index in the catalog.
    pub rule: u32,
    /// Byte offset of the match in the event's message.
    pub at: u32,
    /// Named captures.
    pub captures: Vec<(String, String)>,
}

/// One matched signal.
#[derive(Clone, Debug)]
pub struct Signal {
    /// Rule index in the catalog.
    pub rule: u32,
    /// The event.
    pub ev: EvRef,
    /// Byte offset of the match in the event's message (for multi-line records: which line).
    pub at: u32,
    /// Time (ns) when the event has one.
    pub time: Option<i64>,
    /// Host ("" when unknown).
    pub host: String,
    /// Named captures.
    pub captures: Vec<(String, String)>,
    /// Gap after context.
    pub gap: Gap,
    /// Verdict after context.
    pub verdict: Verdict,
    /// The context note that changed the classification, if any.
    pub note: Option<String>,
}

impl Signal {
    /// A capture's value.
    pub fn capture(&self, name: &str) -> Option<&str> {
        self.captures
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A grammar regex, compiled when first used, or at once when the grammar is validated.
///
/// An analysis with the embedded grammar alone compiles only the regexes of the rules
/// whose literals occur in its input (16 of 59 rules on the 1 GB bench corpus), and does
/// not run the examples: compiling every regex and checking every example took 40 of the
/// 45 ms a run spends before reading its first file. The embedded grammar is validated
/// by the test suite ([`Catalog::embedded`]); user grammar folders are validated on every
/// run ([`Catalog::for_analysis`]).
#[derive(Clone, Debug)]
pub struct LazyRegex {
    pattern: String,
    re: std::sync::OnceLock<Option<Regex>>,
}

impl LazyRegex {
    /// A regex to compile on first use.
    fn new(pattern: &str) -> LazyRegex {
        LazyRegex {
            pattern: pattern.to_string(),
            re: std::sync::OnceLock::new(),
        }
    }

    /// A regex compiled already.
    fn compiled(re: Regex) -> LazyRegex {
        LazyRegex {
            pattern: re.as_str().to_string(),
            re: std::sync::OnceLock::from(Some(re)),
        }
    }

    /// The compiled regex; `None` only for a pattern that does not compile, which a
    /// validated grammar never holds (such a rule then matches nothing).
    pub fn get(&self) -> Option<&Regex> {
        self.re
            .get_or_init(|| build_regex(&self.pattern).ok())
            .as_ref()
    }

    /// The pattern.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// True when the regex matches `text`.
    pub fn is_match(&self, text: &[u8]) -> bool {
        self.get().is_some_and(|re| re.is_match(text))
    }
}

fn build_regex(pat: &str) -> Result<Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pat)
        .size_limit(1 << 22)
        .build()
}

/// Compiles `pat` now (`check`, reporting an error at `span`), or leaves it to its first use.
fn compile_regex(
    raw: &Raw,
    f: usize,
    span: Option<std::ops::Range<usize>>,
    pat: &str,
    what: &str,
    check: bool,
) -> Result<LazyRegex, GrammarError> {
    if !check {
        return Ok(LazyRegex::new(pat));
    }
    build_regex(pat).map(LazyRegex::compiled).map_err(|e| {
        let first = e.to_string();
        let last = first.lines().last().unwrap_or("").trim().to_string();
        raw.err(f, span, format!("{what} does not compile: {last}"))
    })
}

/// Compiles rule `d`; with `check`, its regexes now and its examples, counterexamples and
/// captures run against it (see [`LazyRegex`]).
fn compile_rule(
    raw: &Raw,
    f: usize,
    d: &RuleDef,
    errs: &mut Vec<GrammarError>,
    check: bool,
) -> Option<Rule> {
    let id = d.id.get_ref().clone();
    let at = |s: Option<std::ops::Range<usize>>, m: String| raw.err(f, s, m);
    let n0 = errs.len();
    if !grammar::is_kebab(&id) {
        errs.push(at(
            d.id.span().into(),
            format!("rule id `{id}` is not kebab-case"),
        ));
    }
    if d.literals.is_empty() || d.literals.iter().any(|l| l.trim().is_empty()) {
        errs.push(at(
            d.id.span().into(),
            format!("rule `{id}`: `literals` must list at least one non-empty string"),
        ));
    }
    let gap = parse_gap(d.gap.get_ref())
        .map_err(|m| errs.push(at(d.gap.span().into(), format!("rule `{id}`: {m}"))))
        .ok();
    let verdict = parse_verdict(d.verdict.get_ref())
        .map_err(|m| errs.push(at(d.verdict.span().into(), format!("rule `{id}`: {m}"))))
        .ok();
    if crate::event::Severity::from_word(d.severity.as_bytes()) == crate::event::Severity::Unknown {
        errs.push(at(
            d.id.span().into(),
            format!("rule `{id}`: unknown severity `{}`", d.severity),
        ));
    }
    let mut regexes = Vec::new();
    for p in d.regex.get_ref().list() {
        match compile_regex(
            raw,
            f,
            d.regex.span().into(),
            p,
            &format!("rule `{id}`: regex"),
            check,
        ) {
            Ok(r) => regexes.push(r),
            Err(e) => errs.push(e),
        }
    }
    let mut when = Vec::new();
    for w in &d.when {
        let mut fields = Vec::new();
        let mut captures = Vec::new();
        for (k, v) in &w.fields {
            match compile_regex(
                raw,
                f,
                d.id.span().into(),
                v,
                &format!("rule `{id}`: when field `{k}`"),
                check,
            ) {
                Ok(r) => fields.push((k.clone(), r)),
                Err(e) => errs.push(e),
            }
        }
        for (k, v) in &w.captures {
            match compile_regex(
                raw,
                f,
                d.id.span().into(),
                v,
                &format!("rule `{id}`: when capture `{k}`"),
                check,
            ) {
                Ok(r) => captures.push((k.clone(), r)),
                Err(e) => errs.push(e),
            }
        }
        let g = w.gap.as_deref().map(parse_gap).transpose();
        let v = w.verdict.as_deref().map(parse_verdict).transpose();
        match (g, v) {
            (Ok(gap), Ok(verdict)) => when.push(When {
                fields,
                captures,
                near: w.near.clone(),
                within_ns: (w.within.unwrap_or(300.0) * 1e9) as i64,
                gap,
                verdict,
                note: w.note.clone(),
            }),
            (Err(m), _) | (_, Err(m)) => {
                errs.push(at(d.id.span().into(), format!("rule `{id}`: when: {m}")))
            }
        }
    }
    if errs.len() > n0 {
        return None;
    }
    let rule = Rule {
        id: id.clone(),
        title: d.title.clone(),
        formats: d.formats.clone(),
        units: d.units.clone(),
        literals: d.literals.clone(),
        regexes,
        gap: gap?,
        verdict: verdict?,
        severity: d.severity.clone(),
        explanation: d.explanation.clone(),
        examples: d.examples.iter().map(|e| e.get_ref().clone()).collect(),
        counterexamples: d
            .counterexamples
            .iter()
            .map(|e| e.get_ref().clone())
            .collect(),
        captures: d
            .captures
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        when,
        file: raw.files[f].0.clone(),
    };
    if d.examples.is_empty() {
        errs.push(at(d.id.span().into(), format!("rule `{id}`: no examples")));
    }
    if !check {
        return Some(rule);
    }
    // Examples go through the prefilter too: a regex that matches but whose literals do
    // not occur would never fire on a real log.
    let lit_hit = |s: &str| {
        let l = s.to_ascii_lowercase();
        rule.literals
            .iter()
            .any(|x| l.contains(&x.to_ascii_lowercase()))
    };
    for e in &d.examples {
        let s = e.get_ref();
        if !lit_hit(s) {
            errs.push(at(
                e.span().into(),
                format!("rule `{id}`: example contains none of the literals: {s:?}"),
            ));
        } else if rule.matches(s.as_bytes()).is_none() {
            errs.push(at(
                e.span().into(),
                format!("rule `{id}`: example does not match: {s:?}"),
            ));
        }
    }
    for e in &d.counterexamples {
        let s = e.get_ref();
        if lit_hit(s) && rule.matches(s.as_bytes()).is_some() {
            errs.push(at(
                e.span().into(),
                format!("rule `{id}`: counterexample matches: {s:?}"),
            ));
        }
    }
    if let Some(first) = d.examples.first() {
        let caps = rule.matches(first.get_ref().as_bytes()).unwrap_or_default();
        for (k, v) in &d.captures {
            let got = caps.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            if got != Some(v.as_str()) {
                errs.push(at(
                    first.span().into(),
                    format!(
                        "rule `{id}`: first example captures {k}={}, expected {v:?}",
                        got.map_or("nothing".to_string(), |g| format!("{g:?}"))
                    ),
                ));
            }
        }
    }
    Some(rule)
}

impl Catalog {
    /// The embedded grammar, compiled. The embedded grammar is tested, so an error here is
    /// a build defect; it is still returned, never panicked on.
    pub fn embedded() -> Result<Catalog, GrammarErrors> {
        Catalog::compile(&Raw::embedded()?)
    }

    /// The embedded grammar plus user folders (later ids replace earlier ones), validated.
    pub fn with_dirs(dirs: &[std::path::PathBuf]) -> Result<Catalog, GrammarErrors> {
        let mut raw = Raw::embedded()?;
        for d in dirs {
            raw.add_dir(d)?;
        }
        Catalog::compile(&raw)
    }

    /// [`Catalog::with_dirs`] for an analysis: with no user folder, the embedded grammar
    /// (validated by the test suite) is taken without running its examples, and its
    /// regexes are compiled when first used (see [`LazyRegex`]). A run gives the same
    /// results either way.
    pub fn for_analysis(dirs: &[std::path::PathBuf]) -> Result<Catalog, GrammarErrors> {
        if dirs.is_empty() {
            Catalog::compile_with(&Raw::embedded()?, false)
        } else {
            Catalog::with_dirs(dirs)
        }
    }

    /// Compiles and validates a raw grammar; every problem is reported, with file and line.
    pub fn compile(raw: &Raw) -> Result<Catalog, GrammarErrors> {
        Catalog::compile_with(raw, true)
    }

    /// Compiles a raw grammar; `check` validates it too (see [`compile_rule`]).
    fn compile_with(raw: &Raw, check: bool) -> Result<Catalog, GrammarErrors> {
        let mut errs = Vec::new();
        let mut rules = Vec::new();
        for (f, d) in &raw.rules {
            if let Some(r) = compile_rule(raw, *f, d, &mut errs, check) {
                rules.push(r);
            }
        }
        let ids: Vec<&str> = raw
            .rules
            .iter()
            .map(|(_, r)| r.id.get_ref().as_str())
            .collect();
        // `near` must name known rules.
        for (f, d) in &raw.rules {
            for w in &d.when {
                for n in &w.near {
                    if !ids.contains(&n.as_str()) {
                        errs.push(raw.err(
                            *f,
                            d.id.span().into(),
                            format!("rule `{}`: when near: {}", d.id.get_ref(), unknown(n, &ids)),
                        ));
                    }
                }
            }
        }
        let playbook = crate::incidents::Playbook::compile(raw, &ids, &mut errs);
        if !errs.is_empty() {
            return Err(GrammarErrors(errs));
        }
        let mut lits: Vec<String> = Vec::new();
        let mut lit_rules: Vec<Vec<u32>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (ri, r) in rules.iter().enumerate() {
            for l in &r.literals {
                let key = l.to_ascii_lowercase();
                let i = *index.entry(key.clone()).or_insert_with(|| {
                    lits.push(key);
                    lit_rules.push(Vec::new());
                    lits.len() - 1
                });
                if !lit_rules[i].contains(&(ri as u32)) {
                    lit_rules[i].push(ri as u32);
                }
            }
        }
        let ac = literal_automaton(&lits).map_err(|e| {
            GrammarErrors(vec![GrammarError {
                file: "grammars".into(),
                line: 1,
                message: format!("literal prefilter: {e}"),
            }])
        })?;
        Ok(Catalog {
            rules,
            grams: gate::Grams::new(&lits),
            ac,
            lit_rules,
            playbook,
        })
    }

    /// The catalog as listed by `gaplog rules`, in grammar order.
    pub fn listing(&self) -> Vec<RuleSummary> {
        self.rules
            .iter()
            .map(|r| RuleSummary {
                id: r.id.clone(),
                gap: r.gap,
                verdict: r.verdict,
                severity: r.severity.clone(),
                title: r.title.clone(),
                explanation: r.explanation.clone(),
                file: r.file.clone(),
            })
            .collect()
    }

    /// The index of rule `id`.
    pub fn rule_index(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.id == id)
    }

    /// Candidate rules for a message: those whose literal occurs, in rule order.
    pub fn candidates(&self, msg: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        self.candidates_into(msg, None, &mut out);
        out
    }

    /// [`Catalog::candidates`] into `out` (cleared first), through the worker's `gate`
    /// when there is one.
    fn candidates_into(&self, msg: &[u8], gate: Option<&mut gate::Gate>, out: &mut Vec<u32>) {
        out.clear();
        // Most texts hold no literal (97.7 % of the 1.05 M texts searched on the 1 GB
        // bench corpus): the search for any one match runs a tighter loop than the
        // overlapping search (211 → 190 ms there), which runs only after it, and the gate
        // rules out most of them before that search.
        let any = match gate {
            Some(g) => g.check(&self.grams, msg, |m| self.ac.is_match(m)),
            None => self.ac.is_match(msg),
        };
        if !any {
            return;
        }
        for m in self.ac.find_overlapping_iter(aho_corasick::Input::new(msg)) {
            for &r in &self.lit_rules[m.pattern().as_usize()] {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out.sort_unstable();
    }

    /// Scans the timeline; returns signals in timeline order with context applied.
    pub fn scan(&self, tl: &Timeline) -> Vec<Signal> {
        // Source by source, events in the order they sit in memory (messages are spans of
        // the source, so the automaton reads the input front to back instead of hopping
        // between 1,700 files in time order). A source whose hits were taken while its text
        // was live ([`crate::analyze`]) is not scanned again. Hits on events the merge
        // dropped as duplicates are skipped; the signals are then put in timeline order by
        // the merge's own key.
        let mut kept: Vec<Vec<bool>> = tl
            .sources
            .iter()
            .map(|s| vec![false; s.events.len()])
            .collect();
        for r in &tl.order {
            kept[r.source as usize][r.index as usize] = true;
        }
        let mut sigs: Vec<Signal> = tl
            .sources
            .par_iter()
            .zip(kept.par_iter())
            .flat_map_iter(|(s, kept)| {
                let source = s.src.id;
                let hits: std::borrow::Cow<'_, [Hit]> = match &s.digest.hits {
                    Some(h) => std::borrow::Cow::Borrowed(h),
                    None => std::borrow::Cow::Owned(self.scan_source(
                        s.views(),
                        &s.parsed.atoms,
                        &s.src.bytes,
                    )),
                };
                hits.iter()
                    .filter(|h| kept[h.index as usize])
                    .map(|h| {
                        let r = EvRef {
                            source,
                            index: h.index,
                        };
                        let rule = &self.rules[h.rule as usize];
                        Signal {
                            rule: h.rule,
                            ev: r,
                            at: h.at,
                            time: tl.has_time(r).then_some(tl.event(r).time),
                            host: tl.host(r).to_string(),
                            captures: h.captures.clone(),
                            gap: rule.gap,
                            verdict: rule.verdict,
                            note: None,
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        // Stable: the signals of one event keep their rule order.
        sigs.sort_by_key(|s| tl.order_key(s.ev));
        self.apply_context(tl, &mut sigs);
        sigs
    }

    /// The hits of every event of one source, in event then rule order. Reads only the
    /// events' own text, unit and format: it runs right after parsing too, while the
    /// source's text is live.
    pub fn scan_source<'a>(
        &self,
        events: impl Iterator<Item = View<'a>>,
        atoms: &Atoms,
        bytes: &[u8],
    ) -> Vec<Hit> {
        self.scan_events(events, atoms, bytes)
    }

    /// [`Catalog::scan_source`] and [`crate::incidents::unexplained::pick_source`] in one
    /// pass (an event is explained when it has a hit), remembering in `memo` what the
    /// literal search and the error words found in each text, so that a repeated text
    /// skips both. `hashes` holds [`crate::digest::hash`] of each event's message (the
    /// source's [`crate::digest::Digest::msg`]). The result is the same as without a memo.
    pub fn scan_pick_source<'a>(
        &self,
        events: impl Iterator<Item = View<'a>>,
        atoms: &Atoms,
        bytes: &[u8],
        hashes: &[u64],
        memo: &mut ScanMemo,
    ) -> (Vec<Hit>, Vec<u32>) {
        let mut scanner = self.scanner(atoms, bytes);
        for (index, e) in events.enumerate() {
            scanner.push(&e, index as u32, hashes.get(index).copied(), memo);
        }
        scanner.finish()
    }

    /// [`Catalog::scan_pick_source`] event by event, for a caller that takes each event in
    /// a pass of its own (see [`crate::digest::Builder`]).
    pub fn scanner<'a>(&self, atoms: &'a Atoms, bytes: &'a [u8]) -> Scanner<'_, 'a> {
        Scanner {
            catalog: self,
            cx: ScanCx::new(atoms, bytes),
        }
    }

    fn scan_events<'a>(
        &self,
        events: impl Iterator<Item = View<'a>>,
        atoms: &Atoms,
        bytes: &[u8],
    ) -> Vec<Hit> {
        let mut cx = ScanCx::new(atoms, bytes);
        for (index, e) in events.enumerate() {
            self.scan_event(&e, index as u32, &mut cx, None, false);
        }
        cx.out
    }

    /// Scans one event; `memo` is the memo with the hash of the event's message, if known.
    /// With `pick`, an event without hits is also checked for an unexplained error.
    fn scan_event(
        &self,
        e: &View<'_>,
        index: u32,
        cx: &mut ScanCx<'_>,
        memo: Option<(Option<u64>, &mut ScanMemo)>,
        pick: bool,
    ) {
        let (atoms, bytes) = (cx.atoms, cx.bytes);
        let mut msg = std::borrow::Cow::Borrowed(e.message);
        // Parsers that split structured logs (logrus JSON, journal fields) leave `status=`
        // or `error=` out of the message; rules are written against the text form, so such
        // fields are appended as ` key=value` (an allocation only for those events).
        if !cx.extra.is_empty() && e.fields.iter().any(|(k, _)| cx.extra.contains(k)) {
            let mut owned = msg.into_owned();
            for (k, v) in e.fields.iter().filter(|(k, _)| cx.extra.contains(k)) {
                let v = v.bytes(bytes);
                // Skip fields the message already carries in text form.
                let key = atoms.get(*k).as_bytes();
                let carried = memchr::memmem::find_iter(&owned, key)
                    .any(|i| owned.get(i + key.len()) == Some(&b'='));
                if carried {
                    continue;
                }
                owned.push(b' ');
                owned.extend_from_slice(key);
                owned.push(b'=');
                owned.extend_from_slice(v);
            }
            msg = std::borrow::Cow::Owned(owned);
        }
        let appended = matches!(msg, std::borrow::Cow::Owned(_));
        let msg: &[u8] = &msg;
        // The memo's word for the scanned text. It holds the error-word answer too when
        // that text is the message itself (nothing appended): the hash is the digest's.
        let (mut known, gate) = match memo {
            Some((h, ScanMemo(texts, gate))) => {
                let w = match h {
                    Some(h) if !appended => texts.entry(h),
                    _ => texts.entry(crate::digest::hash(msg)),
                };
                (Some(w), Some(gate))
            }
            None => (None, None),
        };
        let mut cands = std::mem::take(&mut cx.cands);
        match known.as_deref_mut() {
            Some(w) if *w & Known::CANDS != 0 => Known::cands(*w, &mut cands),
            Some(w) => {
                self.candidates_into(msg, gate, &mut cands);
                *w |= Known::with_cands(&cands);
            }
            None => self.candidates_into(msg, gate, &mut cands),
        }
        let before = cx.out.len();
        if !cands.is_empty() {
            // The word holds these candidates (read from it or just stored): it can hold
            // which of them the text fails too.
            let word = known.as_deref_mut().filter(|w| **w & Known::CANDS != 0);
            self.verify(e, index, msg, &cands, word, cx);
        }
        cx.cands = cands;
        if !pick || cx.out.len() > before {
            return;
        }
        let is_err = match e.severity {
            crate::event::Severity::Unknown => {
                let err_of = |cx: &mut ScanCx<'_>| {
                    crate::incidents::unexplained::error_line(e.message, &mut cx.folded)
                };
                match known.filter(|_| !appended) {
                    Some(w) if *w & Known::ERR_KNOWN != 0 => *w & Known::ERR != 0,
                    Some(w) => {
                        let is_err = err_of(cx);
                        *w |= Known::ERR_KNOWN | if is_err { Known::ERR } else { 0 };
                        is_err
                    }
                    None => err_of(cx),
                }
            }
            s => s.is_error(),
        };
        if is_err {
            cx.picked.push(index);
        }
    }

    /// Runs the candidate rules `cands` of an event whose (matched) text is `msg`. `word`
    /// is the memo word of `msg` when it holds `cands`: a candidate whose regexes the text
    /// is known to fail is skipped, and one found failing is remembered.
    fn verify(
        &self,
        e: &View<'_>,
        index: u32,
        msg: &[u8],
        cands: &[u32],
        mut word: Option<&mut u64>,
        cx: &mut ScanCx<'_>,
    ) {
        let unit = cx.atoms.get(e.unit);
        let fmt = crate::formats::name_of(e.format);
        let inner = e.inner.map(crate::formats::name_of);
        for (i, &ri) in cands.iter().enumerate() {
            if word.as_deref().is_some_and(|w| Known::fails(*w, i)) {
                continue;
            }
            let rule = &self.rules[ri as usize];
            if !rule.formats.is_empty()
                && !rule
                    .formats
                    .iter()
                    .any(|f| f == fmt || Some(f.as_str()) == inner)
            {
                continue;
            }
            if !rule.unit_ok(unit) {
                continue;
            }
            match rule.matches_at(msg) {
                Some((at, captures)) => cx.out.push(Hit {
                    index,
                    rule: ri,
                    at: at as u32,
                    captures,
                }),
                None => {
                    if let Some(w) = word.as_deref_mut() {
                        *w |= Known::fail(i);
                    }
                }
            }
        }
    }

    /// Applies each rule's `when` list: the first condition that holds sets gap, verdict
    /// and note.
    fn apply_context(&self, tl: &Timeline, sigs: &mut [Signal]) {
        // Signals by rule id, for `near` (each list is in time order).
        let mut by_rule: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, s) in sigs.iter().enumerate() {
            by_rule
                .entry(self.rules[s.rule as usize].id.as_str())
                .or_default()
                .push(i);
        }
        let mut updates: Vec<(usize, &When)> = Vec::new();
        for (i, s) in sigs.iter().enumerate() {
            let rule = &self.rules[s.rule as usize];
            for w in &rule.when {
                if self.holds(tl, sigs, &by_rule, i, w) {
                    updates.push((i, w));
                    break;
                }
            }
        }
        for (i, w) in updates {
            let s = &mut sigs[i];
            if let Some(g) = w.gap {
                s.gap = g;
            }
            if let Some(v) = w.verdict {
                s.verdict = v;
            }
            s.note = Some(w.note.clone());
        }
    }

    fn holds(
        &self,
        tl: &Timeline,
        sigs: &[Signal],
        by_rule: &HashMap<&str, Vec<usize>>,
        i: usize,
        w: &When,
    ) -> bool {
        let s = &sigs[i];
        for (k, re) in &w.fields {
            match tl.field(s.ev, k) {
                Some(v) if re.is_match(v) => {}
                _ => return false,
            }
        }
        for (k, re) in &w.captures {
            match s.capture(k) {
                Some(v) if re.is_match(v.as_bytes()) => {}
                _ => return false,
            }
        }
        if !w.near.is_empty() {
            let Some(t) = s.time else { return false };
            let found = w.near.iter().any(|n| {
                by_rule.get(n.as_str()).is_some_and(|list| {
                    list.iter().any(|&j| {
                        let o = &sigs[j];
                        j != i
                            && same_place(s, o)
                            && o.time.is_some_and(|u| (u - t).abs() <= w.within_ns)
                    })
                })
            });
            if !found {
                return false;
            }
        }
        true
    }
}

/// What the scan of one source reads and writes besides the event: the source's atoms and
/// bytes, the atoms of [`MATCHED_FIELDS`], scratch space, the hits and the picks.
#[derive(Debug)]
struct ScanCx<'a> {
    atoms: &'a Atoms,
    bytes: &'a [u8],
    extra: Vec<Atom>,
    /// The candidate rules of the current event.
    cands: Vec<u32>,
    /// The current line folded to lower case (the error words).
    folded: Vec<u8>,
    out: Vec<Hit>,
    /// Unexplained errors (event indices), when picked during the scan.
    picked: Vec<u32>,
}

impl<'a> ScanCx<'a> {
    fn new(atoms: &'a Atoms, bytes: &'a [u8]) -> Self {
        ScanCx {
            atoms,
            bytes,
            extra: MATCHED_FIELDS
                .iter()
                .filter_map(|f| atoms.find(f))
                .collect(),
            cands: Vec::new(),
            folded: Vec::new(),
            out: Vec::new(),
            picked: Vec::new(),
        }
    }
}

/// The signal scan and the unexplained pick of one source, event by event
/// ([`Catalog::scanner`]).
#[derive(Debug)]
pub struct Scanner<'c, 'a> {
    catalog: &'c Catalog,
    cx: ScanCx<'a>,
}

impl Scanner<'_, '_> {
    /// Scans the event of index `index` (events come in index order), whose message has
    /// [`crate::digest::hash`] `hash` when known; true when it has a hit or is picked as an
    /// unexplained error (the events a report can quote).
    pub fn push(
        &mut self,
        e: &View<'_>,
        index: u32,
        hash: Option<u64>,
        memo: &mut ScanMemo,
    ) -> bool {
        let (hits, picks) = (self.cx.out.len(), self.cx.picked.len());
        self.catalog
            .scan_event(e, index, &mut self.cx, Some((hash, memo)), true);
        self.cx.out.len() > hits || self.cx.picked.len() > picks
    }

    /// The hits (in event, then rule order) and the picks (ascending).
    pub fn finish(self) -> (Vec<Hit>, Vec<u32>) {
        (self.cx.out, self.cx.picked)
    }
}

/// The layout of a [`ScanMemo`] word: what is known of one text.
struct Known;

impl Known {
    /// The candidate rules are known: their count in bits 1–2, the rule indices (16 bits
    /// each, three at most) from bit 3.
    const CANDS: u64 = 1;
    /// Whether the first line holds an error word is known...
    const ERR_KNOWN: u64 = 1 << 62;
    /// ...and it does.
    const ERR: u64 = 1 << 63;

    /// The candidates `cands` as bits of a word; none (not remembered) when they are more
    /// than three or a rule index does not fit in 16 bits.
    fn with_cands(cands: &[u32]) -> u64 {
        if cands.len() > 3 || cands.iter().any(|&r| r > u32::from(u16::MAX)) {
            return 0;
        }
        let mut w = Known::CANDS | (cands.len() as u64) << 1;
        for (i, &r) in cands.iter().enumerate() {
            w |= u64::from(r) << (3 + 16 * i);
        }
        w
    }

    /// The bit saying the text fails every regex of its `i`th candidate (bits 51–53;
    /// whatever the event's unit and format, which only decide whether the rule runs).
    fn fail(i: usize) -> u64 {
        1 << (51 + i)
    }

    /// Whether word `w` says the text fails the regexes of its `i`th candidate.
    fn fails(w: u64, i: usize) -> bool {
        i < 3 && w & Known::fail(i) != 0
    }

    /// The candidates of a word that has them, into `out` (cleared first).
    fn cands(w: u64, out: &mut Vec<u32>) {
        out.clear();
        let n = ((w >> 1) & 3) as usize;
        out.extend((0..n).map(|i| ((w >> (3 + 16 * i)) & 0xffff) as u32));
    }
}

/// What a worker remembers of the texts it scanned, so that a repeated text skips the
/// work: the candidate rules of the literal search (three at most; a text with more is
/// searched every time), which of those candidates' regexes the text fails, and whether
/// its first line holds an error word (the unexplained pick). A candidate's regexes run
/// again only while the text is not known to fail them: almost every text a literal
/// admits fails (211 matches in 395,621 rule checks on the 1 GB bench corpus), and a match
/// is run again for its captures. The unit and format filters are read per event. One
/// word per text in a [`crate::digest::TextMemo`]. One
/// memo serves one catalog: it is made per worker for a run. It also holds the worker's
/// [`gate::Gate`], which learns from the texts new to the memo (the ones searched).
#[derive(Clone, Debug, Default)]
pub struct ScanMemo(crate::digest::TextMemo, gate::Gate);

impl ScanMemo {
    /// Brings the memo's word for the text of hash `h` into cache ahead of its lookup
    /// ([`crate::digest::TextMemo::prefetch`]).
    pub fn prefetch(&self, h: u64) {
        self.0.prefetch(h);
    }
}

/// The literal prefilter's automaton over `literals`: ASCII case-insensitive, every match
/// reported (overlapping search). A DFA: the literal set is small (a few hundred states),
/// and every new text goes through it (behind [`gate`]) once.
pub fn literal_automaton<L: AsRef<[u8]>>(
    literals: &[L],
) -> Result<AhoCorasick, aho_corasick::BuildError> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .match_kind(MatchKind::Standard)
        .build(literals)
}

/// Same host when both know it, else same source.
pub fn same_place(a: &Signal, b: &Signal) -> bool {
    if !a.host.is_empty() && !b.host.is_empty() {
        a.host == b.host
    } else {
        a.ev.source == b.ev.source
    }
}

/// "unknown signal `x`" with a did-you-mean hint.
pub fn unknown(name: &str, ids: &[&str]) -> String {
    let best = ids
        .iter()
        .map(|i| (crate::formats::edit_distance(i, name), *i))
        .min();
    match best {
        Some((d, n)) if d <= 4 => format!("unknown signal `{name}`, did you mean `{n}`?"),
        _ => format!("unknown signal `{name}`"),
    }
}

/// The catalog as markdown (`gaplog rules --markdown`, committed as `docs/rules.md`): the
/// signal rules per grammar file, the causal links and the fixes, generated from the same
/// data the analysis uses so the doc cannot drift (a test compares it).
pub fn catalog_markdown(catalog: &Catalog) -> String {
    use std::fmt::Write;
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let ids = |v: &[String]| {
        v.iter()
            .map(|x| format!("`{x}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut o = String::new();
    o.push_str(
        "# The signal catalog\n\n<!-- Generated by `gaplog rules --markdown > docs/rules.md`; \
         do not edit: edit grammars/ and regenerate. -->\n\n",
    );
    let rules = catalog.listing();
    let _ = writeln!(
        o,
        "{} signal rules, {} causal links, {} fixes. How to write them: [grammar.md](grammar.md).\n",
        rules.len(),
        catalog.playbook.links.len(),
        catalog.playbook.fixes.len()
    );
    let mut files: Vec<&str> = rules.iter().map(|r| r.file.as_str()).collect();
    files.dedup();
    for f in files {
        let _ = writeln!(o, "## `{f}`\n");
        o.push_str("| id | gap | verdict | severity | title | what it means |\n|---|---|---|---|---|---|\n");
        for r in rules.iter().filter(|r| r.file == f) {
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} | {} | {} |",
                r.id,
                r.gap.as_str(),
                r.verdict.as_str(),
                cell(&r.severity),
                cell(&r.title),
                cell(&r.explanation)
            );
        }
        o.push('\n');
    }
    o.push_str("## Causal links (`grammars/playbook.toml`)\n\n");
    o.push_str("| id | cause | effect | within | why |\n|---|---|---|---|---|\n");
    for l in &catalog.playbook.links {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} s | {} |",
            l.id,
            ids(&l.cause),
            ids(&l.effect),
            l.within_ns / 1_000_000_000,
            cell(&l.explanation)
        );
    }
    o.push_str("\n## Fixes (`grammars/playbook.toml`)\n\n");
    o.push_str("| id | after | called by | action |\n|---|---|---|---|\n");
    for f in &catalog.playbook.fixes {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} |",
            f.id,
            ids(&f.after),
            ids(&f.signals),
            cell(&f.action)
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiled once: a debug-build compile of the whole catalog takes a while.
    fn cat() -> &'static Catalog {
        static C: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        C.get_or_init(|| Catalog::embedded().expect("embedded grammar compiles"))
    }

    /// The catalog an analysis takes (regexes compiled on first use, examples not run)
    /// answers every example and counterexample as the validated one does, and compiles
    /// only the regexes it is asked to run.
    #[test]
    fn lazy_catalog_answers_as_the_validated_one() {
        let lazy = Catalog::for_analysis(&[]).expect("embedded grammar");
        let eager = cat();
        assert_eq!(lazy.rules.len(), eager.rules.len());
        assert!(
            lazy.rules
                .iter()
                .flat_map(|r| &r.regexes)
                .all(|re| re.re.get().is_none())
        );
        let mut checked = 0;
        for (l, e) in lazy.rules.iter().zip(&eager.rules) {
            assert_eq!(l.id, e.id);
            for text in l.examples.iter().chain(&l.counterexamples) {
                let b = text.as_bytes();
                assert_eq!(
                    lazy.candidates(b),
                    eager.candidates(b),
                    "{}: {text:?}",
                    l.id
                );
                assert_eq!(l.matches_at(b), e.matches_at(b), "{}: {text:?}", l.id);
                checked += 1;
            }
            assert!(
                l.regexes
                    .iter()
                    .all(|re| re.re.get().is_some_and(Option::is_some))
            );
        }
        assert!(checked > 100, "{checked}");
        // A pattern that does not compile (which validation rejects) matches nothing.
        let bad = LazyRegex::new("(unclosed");
        assert!(bad.get().is_none() && !bad.is_match(b"(unclosed"));
        assert_eq!(bad.as_str(), "(unclosed");
    }

    #[test]
    fn prefilter_selects_only_rules_whose_literal_occurs() {
        let c = cat();
        assert!(c.candidates(b"Started Session 3 of User ops.").is_empty());
        let k = c.rule_index("kernel-oom-kill").unwrap() as u32;
        // ASCII case-insensitive literals, overlapping matches all reported.
        let cands = c.candidates(b"OUT OF MEMORY: KILLED PROCESS 1 (x)");
        assert!(cands.contains(&k));
        assert!(cands.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
    }

    #[test]
    fn the_fused_scan_and_pick_with_a_memo_change_nothing() {
        use crate::event::Severity;
        let c = cat();
        let oom = "Out of memory: Killed process 1234 (atticd) total-vm:1kB";
        // More than three candidate rules: never remembered, searched every time.
        let many = "Out of memory: Killed process 1 (x) oom-kill push 401 429 cancel not found";
        assert!(c.candidates(many.as_bytes()).len() > 3);
        // A literal without its regex: the memo learns that the text fails the rule.
        let literal_only = "the oom-kill counter reads 0";
        // A rule with a unit filter, met first under a unit it skips: the regex did not
        // run there, so nothing is learnt, and the next event (right unit) is a hit.
        let filtered = "nix-daemon.service: Failed with result 'oom-kill'.";
        let mut atoms = Atoms::default();
        let (systemd, kernel) = (atoms.intern("systemd"), atoms.intern("kernel"));
        let mut msgs: Vec<(String, Severity, Atom)> = vec![
            (oom.into(), Severity::Unknown, systemd),
            ("nothing here".into(), Severity::Unknown, systemd),
            ("all fine".into(), Severity::Info, systemd),
        ];
        // Repeats, with severities that differ for one text (the pick reads the severity
        // first), errors that no rule explains, and more distinct texts than the memo has
        // slots, so that slots are reused.
        for i in 0..70_000 {
            let (m, sev) = [
                ("nothing here", Severity::Unknown),
                (oom, Severity::Unknown),
                ("all fine", Severity::Err),
                ("fatal: could not read Username", Severity::Unknown),
                ("fatal: could not read Username", Severity::Info),
                (many, Severity::Unknown),
                (literal_only, Severity::Unknown),
                (filtered, Severity::Unknown),
                (filtered, Severity::Unknown),
            ][i % 9];
            let unit = if i % 9 == 7 { kernel } else { systemd };
            msgs.push((m.into(), sev, unit));
            msgs.push((
                format!("line {i} of nothing\nerror on line two"),
                Severity::Unknown,
                systemd,
            ));
        }
        let views = || {
            msgs.iter().map(|(m, sev, unit)| View {
                unit: *unit,
                format: 0,
                inner: None,
                severity: *sev,
                message: m.as_bytes(),
                fields: &[],
            })
        };
        let plain = c.scan_source(views(), &atoms, b"");
        assert!(plain.len() > 2 * 70_000 / 9, "{}", plain.len());
        let rule = c.rule_index("systemd-unit-oom-kill").unwrap() as u32;
        let unit_hits = plain.iter().filter(|h| h.rule == rule).count();
        assert_eq!(unit_hits, (0..70_000).filter(|i| i % 9 == 8).count());
        let mut hit: Vec<u32> = plain.iter().map(|h| h.index).collect();
        hit.dedup();
        let picked = crate::incidents::unexplained::pick_source(views(), |i| {
            hit.binary_search(&(i as u32)).is_ok()
        });
        // "all fine" as an error, "fatal:" of unknown severity, `filtered` under the
        // unit its rule skips ("Failed"); the error on line two never, nor the literal
        // without its regex (no error word).
        let of = |k: usize| (0..70_000).filter(|i| i % 9 == k).count();
        assert_eq!(picked.len(), of(2) + of(3) + of(7), "{}", picked.len());
        let hashes: Vec<u64> = msgs
            .iter()
            .map(|(m, _, _)| crate::digest::hash(m.as_bytes()))
            .collect();
        let mut memo = ScanMemo::default();
        let fused = c.scan_pick_source(views(), &atoms, b"", &hashes, &mut memo);
        assert_eq!(fused, (plain.clone(), picked.clone()));
        // A second pass meets a warm memo.
        let fused = c.scan_pick_source(views(), &atoms, b"", &hashes, &mut memo);
        assert_eq!(fused, (plain.clone(), picked.clone()));
        let known = |memo: &mut ScanMemo, t: &str| *memo.0.entry(crate::digest::hash(t.as_bytes()));
        // Remembered: no candidates for a plain text, the candidates of a text with
        // literals, the error word of an unknown-severity text without hits.
        assert_eq!(
            known(&mut memo, "nothing here"),
            Known::CANDS | Known::ERR_KNOWN
        );
        let w = known(&mut memo, oom);
        let mut got = Vec::new();
        Known::cands(w, &mut got);
        assert_eq!(got, c.candidates(oom.as_bytes()));
        assert_eq!(w & Known::ERR_KNOWN, 0, "a hit: never picked");
        assert_eq!(known(&mut memo, many) & Known::CANDS, 0);
        // The literal-only text fails its one candidate; the filtered one fails none.
        let w = known(&mut memo, literal_only);
        Known::cands(w, &mut got);
        assert_eq!(got, [rule]);
        assert!(Known::fails(w, 0));
        assert!(!Known::fails(known(&mut memo, filtered), 0));
        // A list shorter than the events: the rest are hashed on the spot.
        let mut fresh = ScanMemo::default();
        let fused = c.scan_pick_source(views(), &atoms, b"", &hashes[..10], &mut fresh);
        assert_eq!(fused, (plain, picked));
    }

    /// Distinct texts (the memo never answers, every one is searched through the gate),
    /// most without a literal, every fifth a rule's example, in upper case every other
    /// time: the scan with the memo and its gate finds what the plain scan finds.
    #[test]
    fn the_literal_gate_changes_no_hit() {
        let c = cat();
        let examples: Vec<&String> = c.rules.iter().flat_map(|r| &r.examples).collect();
        let mut atoms = Atoms::default();
        let unit = atoms.intern("systemd");
        let msgs: Vec<String> = (0..4 * gate::LEARN_TEXTS as usize)
            .map(|i| match i % 10 {
                0 => format!(
                    "{} #{i}",
                    examples[i / 5 % examples.len()].to_ascii_uppercase()
                ),
                5 => format!("{} #{i}", examples[i / 5 % examples.len()]),
                _ => format!("request {i} served in {} ms", i % 97),
            })
            .collect();
        let views = || {
            msgs.iter().map(|m| View {
                unit,
                format: 0,
                inner: None,
                severity: crate::event::Severity::Info,
                message: m.as_bytes(),
                fields: &[],
            })
        };
        let plain = c.scan_source(views(), &atoms, b"");
        assert!(plain.len() > msgs.len() / 20, "{}", plain.len());
        let hashes: Vec<u64> = msgs
            .iter()
            .map(|m| crate::digest::hash(m.as_bytes()))
            .collect();
        let mut memo = ScanMemo::default();
        let (fused, _) = c.scan_pick_source(views(), &atoms, b"", &hashes, &mut memo);
        assert_eq!(fused, plain);
        assert!(
            memo.1.times_learned() > 0 && !memo.1.is_learning(),
            "{:?}",
            memo.1
        );
    }

    #[test]
    fn memo_words_round_trip_candidates() {
        let mut out = vec![7];
        for cands in [&[][..], &[0], &[3, 9], &[1, 2, 65_535]] {
            let w = Known::with_cands(cands);
            assert_ne!(w & Known::CANDS, 0);
            assert_eq!(w & (Known::ERR | Known::ERR_KNOWN), 0);
            Known::cands(w, &mut out);
            assert_eq!(out, cands);
        }
        assert_eq!(Known::with_cands(&[1, 2, 3, 4]), 0);
        assert_eq!(Known::with_cands(&[65_536]), 0);
    }

    #[test]
    fn unit_filter_admits_suffixed_units() {
        let c = cat();
        let r = &c.rules[c.rule_index("systemd-unit-oom-kill").unwrap()];
        assert!(r.unit_ok("systemd"));
        assert!(r.unit_ok("systemd.service") || !r.units.is_empty());
        assert!(!r.unit_ok("systemdx"));
        assert!(!r.unit_ok("kernel"));
    }

    #[test]
    fn explanation_substitutes_captures() {
        let c = cat();
        let r = &c.rules[c.rule_index("kernel-oom-kill").unwrap()];
        let caps = r
            .matches(b"Out of memory: Killed process 77 (etcd) total-vm:1kB")
            .unwrap();
        assert_eq!(
            r.explain(&caps),
            "the host ran out of memory and the kernel killed etcd (pid 77); what Nix declared no longer runs"
        );
    }

    #[test]
    fn unknown_hints() {
        assert_eq!(
            unknown("job-faild", &["job-failed", "kernel-oom-kill"]),
            "unknown signal `job-faild`, did you mean `job-failed`?"
        );
        assert_eq!(
            unknown("zzzzzzzzzzzz", &["job-failed"]),
            "unknown signal `zzzzzzzzzzzz`"
        );
    }

    proptest::proptest! {
        #[test]
        fn matching_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let c = cat();
            for r in c.candidates(&bytes) {
                let _ = c.rules[r as usize].matches(&bytes);
            }
        }
    }
}
