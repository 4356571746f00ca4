//! Stage 6, incidents: links the [`Signal`]s of stage 5 into incidents with the causal
//! rules of `grammars/playbook.toml`, classifies each (gap, verdict, reasoning), and orders
//! the fixes the evidence calls for.
//!
//! Grouping (union-find over signals): signals on one event; signals of one rule in one
//! place (host, else source) closer than `group_window`; and every `[[link]]` with
//! `merge = true` whose effect follows its cause within `within` seconds (minus
//! `clock_tolerance` when the two are on different hosts, whose clocks may disagree).
//! Links with `merge = false` make the effect's incident `caused_by` the cause's.
//! Incidents get ids `I1`, `I2`... by start time. The fix plan is the topological order of
//! the called fixes (`after`), ties broken by the time of each fix's first calling signal.

pub mod unexplained;

use crate::analysis::{Evidence, FixStep, Gap, Incident, SignalMark, Verdict};
use crate::signals::grammar::{GrammarError, Raw, parse_gap};
use crate::signals::{Catalog, Signal, same_place, unknown};
use crate::timeline::Timeline;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Evidence lines kept per rule in one incident (the reasoning gives the full count).
pub const MAX_EVIDENCE_PER_RULE: usize = 20;

/// A compiled causal link.
#[derive(Clone, Debug)]
pub struct Link {
    /// Id.
    pub id: String,
    /// Cause rule ids.
    pub cause: Vec<String>,
    /// Effect rule ids.
    pub effect: Vec<String>,
    /// Window, ns.
    pub within_ns: i64,
    /// Same host required.
    pub same_host: bool,
    /// Captures that must agree.
    pub shared: Vec<String>,
    /// Same incident, or caused_by.
    pub merge: bool,
    /// How long the effect may precede the cause, ns.
    pub lead_ns: i64,
    /// The effect's fixes are not called (fixing the cause removes it).
    pub symptom: bool,
    /// Applies only to effects no other link explains.
    pub fallback: bool,
    /// Why.
    pub explanation: String,
}

/// A compiled fix.
#[derive(Clone, Debug)]
pub struct Fix {
    /// Id.
    pub id: String,
    /// Action text.
    pub action: String,
    /// Commands.
    pub commands: Vec<String>,
    /// Calling rule ids.
    pub signals: Vec<String>,
    /// Gap filter.
    pub gaps: Vec<Gap>,
    /// Predecessors.
    pub after: Vec<String>,
    /// Rule ids one of which must have a signal near the calling one.
    pub near: Vec<String>,
    /// Window for `near`, ns.
    pub within_ns: i64,
    /// Fixes this one replaces within one incident.
    pub supersedes: Vec<String>,
}

/// Links, fixes and settings.
#[derive(Clone, Debug, Default)]
pub struct Playbook {
    /// Causal links.
    pub links: Vec<Link>,
    /// Fixes.
    pub fixes: Vec<Fix>,
    /// Clock tolerance across hosts, ns.
    pub tolerance_ns: i64,
    /// Same-rule grouping window, ns.
    pub group_ns: i64,
}

impl Playbook {
    /// Compiles the playbook part of a raw grammar, checking signal ids and `after` cycles.
    pub fn compile(raw: &Raw, ids: &[&str], errs: &mut Vec<GrammarError>) -> Playbook {
        let s = raw.settings.clone();
        let mut pb = Playbook {
            tolerance_ns: (s.as_ref().and_then(|s| s.clock_tolerance).unwrap_or(60.0) * 1e9) as i64,
            group_ns: (s.as_ref().and_then(|s| s.group_window).unwrap_or(600.0) * 1e9) as i64,
            ..Playbook::default()
        };
        let check =
            |f: usize, v: &[toml::Spanned<String>], what: &str, errs: &mut Vec<GrammarError>| {
                for x in v {
                    if !ids.contains(&x.get_ref().as_str()) {
                        errs.push(raw.err(
                            f,
                            x.span().into(),
                            format!("{what}: {}", unknown(x.get_ref(), ids)),
                        ));
                    }
                }
            };
        for (f, l) in &raw.links {
            let id = l.id.get_ref();
            check(*f, &l.cause, &format!("link `{id}`: cause"), errs);
            check(*f, &l.effect, &format!("link `{id}`: effect"), errs);
            if l.within.is_nan() || l.within <= 0.0 {
                errs.push(raw.err(
                    *f,
                    l.id.span().into(),
                    format!("link `{id}`: `within` must be positive"),
                ));
            }
            pb.links.push(Link {
                id: id.clone(),
                cause: l.cause.iter().map(|x| x.get_ref().clone()).collect(),
                effect: l.effect.iter().map(|x| x.get_ref().clone()).collect(),
                within_ns: (l.within * 1e9) as i64,
                same_host: l.same_host.unwrap_or(true),
                shared: l.shared.clone(),
                merge: l.merge.unwrap_or(true),
                lead_ns: (l.lead.unwrap_or(0.0).max(0.0) * 1e9) as i64,
                symptom: l.symptom.unwrap_or(false),
                fallback: l.fallback.unwrap_or(false),
                explanation: l.explanation.clone(),
            });
        }
        let fix_ids: Vec<&str> = raw
            .fixes
            .iter()
            .map(|(_, x)| x.id.get_ref().as_str())
            .collect();
        for (f, x) in &raw.fixes {
            let id = x.id.get_ref();
            if !crate::signals::grammar::is_kebab(id) {
                errs.push(raw.err(
                    *f,
                    x.id.span().into(),
                    format!("fix id `{id}` is not kebab-case"),
                ));
            }
            check(*f, &x.signals, &format!("fix `{id}`: signals"), errs);
            let mut gaps = Vec::new();
            for g in &x.gaps {
                match parse_gap(g) {
                    Ok(g) => gaps.push(g),
                    Err(m) => {
                        errs.push(raw.err(*f, x.id.span().into(), format!("fix `{id}`: {m}")))
                    }
                }
            }
            for (what, list) in [("after", &x.after), ("supersedes", &x.supersedes)] {
                for a in list {
                    if !fix_ids.contains(&a.get_ref().as_str()) {
                        errs.push(raw.err(
                            *f,
                            a.span().into(),
                            format!("fix `{id}`: {what}: unknown fix `{}`", a.get_ref()),
                        ));
                    }
                }
            }
            check(*f, &x.near, &format!("fix `{id}`: near"), errs);
            if x.within.is_some_and(|w| w.is_nan() || w <= 0.0) {
                errs.push(raw.err(
                    *f,
                    x.id.span().into(),
                    format!("fix `{id}`: `within` must be positive"),
                ));
            }
            pb.fixes.push(Fix {
                id: id.clone(),
                action: x.action.clone(),
                commands: x.commands.clone(),
                signals: x.signals.iter().map(|s| s.get_ref().clone()).collect(),
                gaps,
                after: x.after.iter().map(|s| s.get_ref().clone()).collect(),
                near: x.near.iter().map(|s| s.get_ref().clone()).collect(),
                within_ns: (x.within.unwrap_or(3600.0) * 1e9) as i64,
                supersedes: x.supersedes.iter().map(|s| s.get_ref().clone()).collect(),
            });
        }
        if let Some(cycle) = find_cycle(&pb.fixes) {
            let (f, x) = raw
                .fixes
                .iter()
                .find(|(_, x)| *x.id.get_ref() == cycle[0])
                .expect("cycle members are fixes");
            errs.push(raw.err(
                *f,
                x.id.span().into(),
                format!("fix order has a cycle: {}", cycle.join(" -> ")),
            ));
        }
        pb
    }
}

/// A cycle in the `after` graph, as fix ids (first repeated at the end).
fn find_cycle(fixes: &[Fix]) -> Option<Vec<String>> {
    let idx: HashMap<&str, usize> = fixes
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id.as_str(), i))
        .collect();
    // 0 = unvisited, 1 = on stack, 2 = done
    let mut state = vec![0u8; fixes.len()];
    fn dfs(
        i: usize,
        fixes: &[Fix],
        idx: &HashMap<&str, usize>,
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        state[i] = 1;
        stack.push(i);
        for a in &fixes[i].after {
            let Some(&j) = idx.get(a.as_str()) else {
                continue;
            };
            if state[j] == 1 {
                let pos = stack.iter().position(|&k| k == j).unwrap_or(0);
                let mut c: Vec<String> =
                    stack[pos..].iter().map(|&k| fixes[k].id.clone()).collect();
                c.push(fixes[j].id.clone());
                return Some(c);
            }
            if state[j] == 0
                && let Some(c) = dfs(j, fixes, idx, state, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        state[i] = 2;
        None
    }
    for i in 0..fixes.len() {
        if state[i] == 0
            && let Some(c) = dfs(i, fixes, &idx, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

struct Uf(Vec<usize>);
impl Uf {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            // The smaller index (earlier signal) stays the representative: deterministic.
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            self.0[hi] = lo;
        }
    }
}

/// One applied link: (link index, cause signal, effect signal).
type Edge = (usize, usize, usize);

/// The result of correlation.
#[derive(Clone, Debug, Default)]
pub struct Correlated {
    /// Incidents in id order.
    pub incidents: Vec<Incident>,
    /// The fix plan.
    pub fix_order: Vec<FixStep>,
    /// One mark per signal.
    pub marks: Vec<SignalMark>,
}

fn rfc(t: Option<i64>) -> Option<String> {
    t.map(crate::time::rfc3339)
}

/// The physical line and text of the message line where the signal matched (an OOM block
/// is one event; its evidence is the `Killed process` line, not the block's first line).
fn matched_line(tl: &Timeline, s: &Signal) -> (u32, String) {
    let msg = tl.message_bytes(s.ev);
    let at = (s.at as usize).min(msg.len());
    let start = memchr::memrchr(b'\n', &msg[..at]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &msg[at..]).map_or(msg.len(), |i| at + i);
    let ev = tl.event(s.ev);
    let line = (ev.line + memchr::memchr_iter(b'\n', &msg[..start]).count() as u32)
        .min(tl.end_line(s.ev).max(ev.line));
    let text = String::from_utf8_lossy(&msg[start..end]).trim().to_string();
    (line, shorten(&text, 240))
}

/// Shortens to at most `n` characters, marking the cut with `…`.
pub fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut o: String = s.chars().take(n.saturating_sub(1)).collect();
        o.push('…');
        o
    }
}

/// Whether two signals come from two different CI jobs (each trace carries its `job`): two
/// runs of a pipeline are separate executions, so a line of one is neither the same problem
/// seen again nor the direct effect of a line of the other (a push hidden by `|| true` in
/// one job is not hiding the failed push of the job before).
fn other_jobs(tl: &Timeline, a: &Signal, b: &Signal) -> bool {
    a.ev.source != b.ev.source
        && matches!((tl.field(a.ev, "job"), tl.field(b.ev, "job")), (Some(x), Some(y)) if x != y)
}

/// Finds the applied links: for each effect signal, the nearest qualifying cause.
fn link_edges(cat: &Catalog, tl: &Timeline, sigs: &[Signal]) -> Vec<Edge> {
    let pb = &cat.playbook;
    let mut by_rule: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in sigs.iter().enumerate() {
        if s.time.is_some() {
            by_rule
                .entry(cat.rules[s.rule as usize].id.as_str())
                .or_default()
                .push(i);
        }
    }
    let mut edges: Vec<Edge> = Vec::new();
    // Fallback links run last and only for effects nothing else explains.
    let order = (0..pb.links.len())
        .filter(|&li| !pb.links[li].fallback)
        .chain((0..pb.links.len()).filter(|&li| pb.links[li].fallback));
    let mut explained: BTreeSet<usize> = BTreeSet::new();
    for li in order {
        let l = &pb.links[li];
        if l.fallback && explained.is_empty() {
            explained = edges.iter().map(|&(_, _, e)| e).collect();
        }
        let causes: Vec<usize> = {
            let mut v: Vec<usize> = l
                .cause
                .iter()
                .flat_map(|c| by_rule.get(c.as_str()).into_iter().flatten().copied())
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        if causes.is_empty() {
            continue;
        }
        let mut effects: Vec<usize> = l
            .effect
            .iter()
            .flat_map(|c| by_rule.get(c.as_str()).into_iter().flatten().copied())
            .collect();
        effects.sort_unstable();
        effects.dedup();
        // Signals are in time order, so `causes` is sorted by time: only the causes in
        // [te - within - tolerance, te + tolerance] need a look.
        let ctime = |c: usize| sigs[c].time.unwrap_or_default();
        for &e in &effects {
            if l.fallback && explained.contains(&e) {
                continue;
            }
            let se = &sigs[e];
            let te = se.time.unwrap_or_default();
            let mut best: Option<(i64, usize)> = None;
            let lo = causes.partition_point(|&c| ctime(c) < te - l.within_ns - pb.tolerance_ns);
            let hi = causes.partition_point(|&c| ctime(c) <= te + pb.tolerance_ns + l.lead_ns);
            for &c in &causes[lo..hi.max(lo)] {
                // Two rules on one line are one observation, not a cause and its effect.
                if c == e || sigs[c].ev == se.ev {
                    continue;
                }
                let sc = &sigs[c];
                // A failure does not cause expected behaviour (a job cancelled by a newer
                // commit is not the effect of the storage error a minute before).
                if sc.verdict == Verdict::Failure && se.verdict == Verdict::Expected {
                    continue;
                }
                let tc = sc.time.unwrap_or_default();
                let same = same_place(sc, se);
                if l.same_host && !same {
                    continue;
                }
                if l.merge && other_jobs(tl, sc, se) {
                    continue;
                }
                // Different hosts: their clocks may disagree, so the effect may appear
                // slightly before its cause.
                let tol = if same { 0 } else { pb.tolerance_ns };
                let dt = te - tc;
                if dt < -tol - l.lead_ns || dt > l.within_ns + tol {
                    continue;
                }
                if l.shared
                    .iter()
                    .any(|k| matches!((sc.capture(k), se.capture(k)), (Some(a), Some(b)) if a != b))
                {
                    continue;
                }
                let d = dt.abs();
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, c));
                }
            }
            if let Some((_, c)) = best {
                edges.push((li, c, e));
            }
        }
    }
    edges
}

/// Signals without a usable time (terminal transcripts) cannot take part in time windows.
/// First, untimed signals of linked rules on nearby lines of one transcript are grouped
/// (an SSH drop and the copy error printed after it). Then each untimed group joins the
/// incident of a signal that has a time (directly or through an earlier attachment):
/// one of the same rule sharing a capture value (the same store path), else one of a
/// linked rule sharing a capture value, else the only incident holding that rule.
fn attach_untimed(cat: &Catalog, sigs: &[Signal], tl: &Timeline, uf: &mut Uf) {
    const NEARBY_LINES: u32 = 10;
    let pb = &cat.playbook;
    let id = |i: usize| cat.rules[sigs[i].rule as usize].id.as_str();
    let linked = |a: &str, b: &str| {
        pb.links.iter().any(|l| {
            l.merge
                && ((l.cause.iter().any(|c| c == a) && l.effect.iter().any(|e| e == b))
                    || (l.cause.iter().any(|c| c == b) && l.effect.iter().any(|e| e == a)))
        })
    };
    let shares = |a: &Signal, b: &Signal| {
        a.captures.iter().any(|(k, v)| {
            b.capture(k)
                .is_some_and(|w| w == v || w.contains(v.as_str()) || v.contains(w))
        })
    };
    let untimed: Vec<usize> = (0..sigs.len())
        .filter(|&i| sigs[i].time.is_none())
        .collect();
    if untimed.is_empty() {
        return;
    }
    for (a, &i) in untimed.iter().enumerate() {
        for &j in &untimed[a + 1..] {
            let (x, y) = (&sigs[i], &sigs[j]);
            if x.ev.source == y.ev.source
                && tl.event(y.ev).line.abs_diff(tl.event(x.ev).line) <= NEARBY_LINES
                && (x.rule == y.rule || linked(id(i), id(j)))
            {
                uf.union(i, j);
            }
        }
    }
    // Rule -> the groups of its timed signals.
    let mut rule_groups: HashMap<u32, BTreeSet<usize>> = HashMap::new();
    for (i, s) in sigs.iter().enumerate() {
        if s.time.is_some() {
            rule_groups.entry(s.rule).or_default().insert(uf.find(i));
        }
    }
    for _pass in 0..3 {
        let mut timed_root: BTreeSet<usize> = BTreeSet::new();
        for (i, s) in sigs.iter().enumerate() {
            if s.time.is_some() {
                timed_root.insert(uf.find(i));
            }
        }
        let mut changed = false;
        // Signals whose group has a time, computed once per pass (a pass may attach more,
        // the next pass sees them).
        let anchored: Vec<usize> = (0..sigs.len())
            .filter(|&j| timed_root.contains(&uf.find(j)))
            .collect();
        for &i in &untimed {
            if timed_root.contains(&uf.find(i)) {
                continue;
            }
            let target = anchored
                .iter()
                .copied()
                .find(|&j| sigs[j].rule == sigs[i].rule && shares(&sigs[i], &sigs[j]))
                .or_else(|| {
                    anchored
                        .iter()
                        .copied()
                        .find(|&j| linked(id(i), id(j)) && shares(&sigs[i], &sigs[j]))
                })
                .or_else(|| match rule_groups.get(&sigs[i].rule) {
                    Some(g) if g.len() == 1 => g.iter().next().copied(),
                    _ => None,
                });
            if let Some(j) = target {
                uf.union(j, i);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Correlates signals into incidents and the fix plan.
pub fn correlate(cat: &Catalog, tl: &Timeline, sigs: &[Signal]) -> Correlated {
    let pb = &cat.playbook;
    let n = sigs.len();
    let mut uf = Uf((0..n).collect());
    // Same event.
    for i in 1..n {
        if sigs[i].ev == sigs[i - 1].ev {
            uf.union(i - 1, i);
        }
    }
    // Same rule, same place, close in time (signals are in time order).
    let mut last: HashMap<(u32, &str, u32), usize> = HashMap::new();
    for (i, s) in sigs.iter().enumerate() {
        let key = (
            s.rule,
            s.host.as_str(),
            if s.host.is_empty() {
                s.ev.source
            } else {
                u32::MAX
            },
        );
        if let Some(&p) = last.get(&key) {
            let close = match (sigs[p].time, s.time) {
                (Some(a), Some(b)) => b - a <= pb.group_ns,
                (None, None) => true,
                _ => false,
            };
            if close && sigs[p].verdict == s.verdict && !other_jobs(tl, &sigs[p], s) {
                uf.union(p, i);
            }
        }
        last.insert(key, i);
    }
    // The same observation in two files (atticd.log and the journal's copy), one of which
    // names no host: same rule, same captures, within the clock tolerance.
    for (i, s) in sigs.iter().enumerate() {
        let Some(t) = s.time else { continue };
        for (j, o) in sigs.iter().enumerate().skip(i + 1) {
            let Some(u) = o.time else { break };
            if u - t > pb.tolerance_ns {
                break;
            }
            if o.rule == s.rule
                && o.ev.source != s.ev.source
                && (o.verdict, o.gap) == (s.verdict, s.gap)
                && (o.host.is_empty() || s.host.is_empty() || o.host == s.host)
                && o.captures == s.captures
            {
                uf.union(i, j);
            }
        }
    }
    let edges = link_edges(cat, tl, sigs);
    for &(li, c, e) in &edges {
        if pb.links[li].merge {
            uf.union(c, e);
        }
    }
    attach_untimed(cat, sigs, tl, &mut uf);
    // Effects of symptom links call no fix of their own: fixing the cause removes them.
    let symptoms: BTreeSet<usize> = edges
        .iter()
        .filter(|(li, _, _)| pb.links[*li].symptom)
        .map(|(_, _, e)| *e)
        .collect();
    // Groups, ordered by their earliest signal.
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let r = uf.find(i);
        groups.entry(r).or_default().push(i);
    }
    let mut glist: Vec<Vec<usize>> = groups.into_values().collect();
    let start = |g: &Vec<usize>| {
        g.iter()
            .filter_map(|&i| sigs[i].time)
            .min()
            .unwrap_or(i64::MAX)
    };
    glist.sort_by_key(|g| (start(g), g[0]));
    let mut group_of = vec![0usize; n];
    for (gi, g) in glist.iter().enumerate() {
        for &i in g {
            group_of[i] = gi;
        }
    }
    let id_of = |gi: usize| format!("I{}", gi + 1);
    let calls: Vec<BTreeMap<usize, i64>> = {
        let near = NearIndex::new(cat, sigs);
        glist
            .iter()
            .map(|g| fix_calls(cat, sigs, g, &symptoms, &near))
            .collect()
    };
    let mut incidents = Vec::new();
    for (gi, g) in glist.iter().enumerate() {
        incidents.push(build_incident(
            cat, tl, sigs, g, &edges, &group_of, gi, &id_of, &calls[gi],
        ));
    }
    let marks = sigs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            s.time.map(|t| SignalMark {
                rule: cat.rules[s.rule as usize].id.clone(),
                time: t,
                host: s.host.clone(),
                source: tl.path(s.ev).to_string(),
                incident: Some(id_of(group_of[i])),
            })
        })
        .collect();
    let fix_order = plan(cat, &calls, &id_of);
    for inc in &mut incidents {
        inc.fixes.retain(|f| fix_order.iter().any(|s| s.id == *f));
    }
    Correlated {
        incidents,
        fix_order,
        marks,
    }
}

#[allow(clippy::too_many_arguments)]
fn build_incident(
    cat: &Catalog,
    tl: &Timeline,
    sigs: &[Signal],
    g: &[usize],
    edges: &[Edge],
    group_of: &[usize],
    gi: usize,
    id_of: &dyn Fn(usize) -> String,
    calls: &BTreeMap<usize, i64>,
) -> Incident {
    let pb = &cat.playbook;
    let rule = |i: usize| &cat.rules[sigs[i].rule as usize];
    let inside: BTreeSet<usize> = g.iter().copied().collect();
    let internal: Vec<&Edge> = edges
        .iter()
        .filter(|(li, c, e)| pb.links[*li].merge && inside.contains(c) && inside.contains(e))
        .collect();
    // Root: the earliest signal that is no internal effect; on one instant a rule with a
    // classified default gap is preferred to a generic (unclassified) one such as
    // `job-failed`.
    // A signal on the same line as an effect is an effect too (one line, one observation).
    let effect_events: BTreeSet<_> = internal.iter().map(|(_, _, e)| sigs[*e].ev).collect();
    let effects: BTreeSet<usize> = g
        .iter()
        .copied()
        .filter(|&i| effect_events.contains(&sigs[i].ev))
        .collect();
    // Among those, the start of a causal chain (a signal, or one on its line, that causes
    // another here) comes before members grouped in only by rule and place.
    let cause_events: BTreeSet<_> = internal.iter().map(|(_, c, _)| sigs[*c].ev).collect();
    let root = g
        .iter()
        .copied()
        .filter(|i| !effects.contains(i))
        .min_by_key(|&i| {
            // Signals of one event are adjacent: within an event, the rule that matched
            // first in the record wins (an OOM report names the victim's cgroup in its
            // `oom-kill:` summary before the generic `Killed process` line).
            let mut first = i;
            while first > 0 && sigs[first - 1].ev == sigs[i].ev {
                first -= 1;
            }
            (
                internal.is_empty() || !cause_events.contains(&sigs[i].ev),
                sigs[i].time.unwrap_or(i64::MAX),
                rule(i).gap == Gap::Unclassified,
                first,
                sigs[i].at,
                i,
            )
        })
        .unwrap_or(g[0]);
    // Chain: root's rule, then rules reached through internal links (breadth first), then
    // the rest in time order.
    let mut chain_rules: Vec<u32> = vec![sigs[root].rule];
    let mut frontier: Vec<u32> = vec![sigs[root].rule];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for r in &frontier {
            for (_, c, e) in &internal {
                if sigs[*c].rule == *r && !chain_rules.contains(&sigs[*e].rule) {
                    chain_rules.push(sigs[*e].rule);
                    next.push(sigs[*e].rule);
                }
            }
        }
        frontier = next;
    }
    for &i in g {
        if !chain_rules.contains(&sigs[i].rule) {
            chain_rules.push(sigs[i].rule);
        }
    }
    let verdict = if g.iter().any(|&i| sigs[i].verdict == Verdict::Failure) {
        Verdict::Failure
    } else {
        Verdict::Expected
    };
    let gap = if sigs[root].gap != Gap::Unclassified {
        sigs[root].gap
    } else {
        g.iter()
            .map(|&i| sigs[i].gap)
            .find(|x| *x != Gap::Unclassified)
            .unwrap_or(Gap::Unclassified)
    };
    let times: Vec<i64> = g.iter().filter_map(|&i| sigs[i].time).collect();
    let mut hosts: Vec<String> = g
        .iter()
        .map(|&i| sigs[i].host.clone())
        .filter(|h| !h.is_empty())
        .collect();
    hosts.sort();
    hosts.dedup();
    // Cross-incident causes.
    let caused_by = edges
        .iter()
        .filter(|(li, c, e)| !pb.links[*li].merge && inside.contains(e) && group_of[*c] != gi)
        .min_by_key(|(_, c, _)| (sigs[*c].time.unwrap_or(i64::MAX), *c))
        .map(|(li, c, e)| (*li, *c, *e));
    // Evidence (capped per rule) and counts.
    let mut per_rule: BTreeMap<u32, usize> = BTreeMap::new();
    let mut evidence = Vec::new();
    for &i in g {
        let s = &sigs[i];
        let k = per_rule.entry(s.rule).or_default();
        *k += 1;
        if *k <= MAX_EVIDENCE_PER_RULE {
            let (line, excerpt) = matched_line(tl, s);
            evidence.push(Evidence {
                rule: rule(i).id.clone(),
                time: rfc(s.time),
                host: s.host.clone(),
                source: tl.path(s.ev).to_string(),
                line,
                excerpt,
            });
        }
    }
    let loc = |i: usize| {
        format!(
            "{}:{}{}",
            tl.path(sigs[i].ev),
            tl.event(sigs[i].ev).line,
            sigs[i].time.map_or(String::new(), |t| format!(
                " at {}",
                crate::time::rfc3339(t)
            ))
        )
    };
    let rs = rule(root);
    let root_cause = {
        let mut s = rs.explain(&sigs[root].captures);
        if let Some(n) = &sigs[root].note {
            s = format!("{s} ({n})");
        }
        s
    };
    let mut why = Vec::new();
    why.push(format!(
        "Root: `{}` ({}) on {} — {}.",
        rs.id,
        loc(root),
        if sigs[root].host.is_empty() {
            "unknown host"
        } else {
            &sigs[root].host
        },
        root_cause.trim_end_matches('.')
    ));
    let mut seen_links = BTreeSet::new();
    for (li, c, e) in &internal {
        if !seen_links.insert((*li, sigs[*c].rule, sigs[*e].rule)) {
            continue;
        }
        let l = &pb.links[*li];
        let dt = (sigs[*e].time.unwrap_or(0) - sigs[*c].time.unwrap_or(0)) as f64 / 1e9;
        why.push(format!(
            "Link `{}`: `{}` ({}) -> `{}` ({}), {:+.1} s{} — {}.",
            l.id,
            rule(*c).id,
            loc(*c),
            rule(*e).id,
            loc(*e),
            dt,
            if sigs[*c].host != sigs[*e].host
                && !sigs[*c].host.is_empty()
                && !sigs[*e].host.is_empty()
            {
                format!(", {} -> {}", sigs[*c].host, sigs[*e].host)
            } else {
                String::new()
            },
            l.explanation.trim_end_matches('.')
        ));
    }
    if let Some((li, c, _)) = caused_by {
        why.push(format!(
            "Caused by {} through link `{}`: `{}` ({}) — {}.",
            id_of(group_of[c]),
            pb.links[li].id,
            rule(c).id,
            loc(c),
            pb.links[li].explanation.trim_end_matches('.')
        ));
    }
    let untimed: Vec<String> = g
        .iter()
        .filter(|&&i| sigs[i].time.is_none())
        .map(|&i| format!("{}:{}", tl.path(sigs[i].ev), tl.event(sigs[i].ev).line))
        .collect();
    if !untimed.is_empty() && untimed.len() < g.len() {
        why.push(format!(
            "{} signal(s) without a time joined through a shared rule or entity: {}{}.",
            untimed.len(),
            untimed
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if untimed.len() > 5 { ", …" } else { "" }
        ));
    }
    for (r, count) in &per_rule {
        let first = g
            .iter()
            .copied()
            .find(|&i| sigs[i].rule == *r)
            .unwrap_or(root);
        let s = &sigs[first];
        let ru = &cat.rules[*r as usize];
        why.push(format!(
            "`{}` matched {} event(s), first {}: {} / {}{}.",
            ru.id,
            count,
            loc(first),
            s.gap.as_str(),
            s.verdict.as_str(),
            match &s.note {
                Some(n) => format!(" by context: {}", n.trim_end_matches('.')),
                None => " by default".to_string(),
            }
        ));
    }
    why.push(match verdict {
        Verdict::Failure => {
            let f: Vec<&str> = g
                .iter()
                .filter(|&&i| sigs[i].verdict == Verdict::Failure)
                .map(|&i| rule(i).id.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if f.len() == 1 {
                format!("Verdict failure: `{}` is a failure.", f[0])
            } else {
                format!("Verdict failure: `{}` are failures.", f.join("`, `"))
            }
        }
        Verdict::Expected => {
            "Verdict expected: every signal here is expected behaviour.".to_string()
        }
    });
    why.push(format!(
        "Gap {}: from `{}`.",
        gap.as_str(),
        if sigs[root].gap == gap {
            &rs.id
        } else {
            "the first classified signal"
        }
    ));
    let chain: Vec<String> = chain_rules
        .iter()
        .map(|&r| cat.rules[r as usize].title.clone())
        .collect();
    // Title: the root, and the consequence seen last (by its latest timed signal; a
    // command line echoed before its output is not the end of the story).
    let last_seen = chain_rules
        .iter()
        .skip(1)
        .filter_map(|&r| {
            g.iter()
                .filter(|&&i| sigs[i].rule == r)
                .filter_map(|&i| sigs[i].time)
                .max()
                .map(|t| (t, r))
        })
        .max_by_key(|&(t, r)| (t, std::cmp::Reverse(r)))
        .map(|(_, r)| r)
        .or_else(|| chain_rules.get(1).copied());
    let title = match last_seen {
        Some(r) => format!("{} → {}", chain[0], cat.rules[r as usize].title),
        None => chain[0].clone(),
    };
    let fixes: Vec<String> = calls.keys().map(|&f| pb.fixes[f].id.clone()).collect();
    Incident {
        id: id_of(gi),
        title,
        gap,
        verdict,
        root_cause,
        start: rfc(times.iter().min().copied()),
        end: rfc(times.iter().max().copied()),
        hosts,
        caused_by: caused_by.map(|(_, c, _)| id_of(group_of[c])),
        reasoning: why.join("\n"),
        chain,
        evidence,
        fixes,
    }
}

fn fix_called_by(f: &Fix, cat: &Catalog, s: &Signal) -> bool {
    f.signals
        .iter()
        .any(|x| *x == cat.rules[s.rule as usize].id)
        && (f.gaps.is_empty() || f.gaps.contains(&s.gap))
}

/// Timed signals by rule index, in time order, for the `near` condition of fixes.
struct NearIndex(HashMap<u32, Vec<usize>>);

impl NearIndex {
    fn new(cat: &Catalog, sigs: &[Signal]) -> NearIndex {
        let wanted: BTreeSet<&str> = cat
            .playbook
            .fixes
            .iter()
            .flat_map(|f| f.near.iter().map(String::as_str))
            .collect();
        let mut m: HashMap<u32, Vec<usize>> = HashMap::new();
        if wanted.is_empty() {
            return NearIndex(m);
        }
        for (i, s) in sigs.iter().enumerate() {
            if s.time.is_some() && wanted.contains(cat.rules[s.rule as usize].id.as_str()) {
                m.entry(s.rule).or_default().push(i);
            }
        }
        NearIndex(m)
    }

    /// Whether a signal of one of `f.near`'s rules is in `s`'s place within `f.within_ns`.
    fn holds(&self, cat: &Catalog, sigs: &[Signal], f: &Fix, s: &Signal) -> bool {
        if f.near.is_empty() {
            return true;
        }
        let Some(t) = s.time else { return false };
        self.0.iter().any(|(r, list)| {
            f.near.iter().any(|n| *n == cat.rules[*r as usize].id) && {
                let lo =
                    list.partition_point(|&o| sigs[o].time.unwrap_or_default() < t - f.within_ns);
                list[lo..]
                    .iter()
                    .take_while(|&&o| sigs[o].time.unwrap_or_default() <= t + f.within_ns)
                    .any(|&o| same_place(&sigs[o], s))
            }
        })
    }
}

/// The fixes one incident calls (fix index -> time of its first calling signal): only for a
/// failure incident, never by a symptom, `near` must hold, and a fix called here that
/// `supersedes` another removes it.
fn fix_calls(
    cat: &Catalog,
    sigs: &[Signal],
    g: &[usize],
    symptoms: &BTreeSet<usize>,
    near: &NearIndex,
) -> BTreeMap<usize, i64> {
    let fixes = &cat.playbook.fixes;
    let mut called: BTreeMap<usize, i64> = BTreeMap::new();
    if !g.iter().any(|&i| sigs[i].verdict == Verdict::Failure) {
        return called;
    }
    for &i in g.iter().filter(|i| !symptoms.contains(i)) {
        for (fi, f) in fixes.iter().enumerate() {
            if fix_called_by(f, cat, &sigs[i]) && near.holds(cat, sigs, f, &sigs[i]) {
                let e = called.entry(fi).or_insert(i64::MAX);
                *e = (*e).min(sigs[i].time.unwrap_or(i64::MAX));
            }
        }
    }
    let superseded: BTreeSet<&str> = called
        .keys()
        .flat_map(|&f| fixes[f].supersedes.iter().map(String::as_str))
        .collect();
    called.retain(|&f, _| !superseded.contains(fixes[f].id.as_str()));
    called
}

/// The fix plan: the fixes the incidents call, in topological order of `after`, ties
/// broken by the time of their first calling signal, then by id.
fn plan(
    cat: &Catalog,
    calls: &[BTreeMap<usize, i64>],
    id_of: &dyn Fn(usize) -> String,
) -> Vec<FixStep> {
    let fixes = &cat.playbook.fixes;
    // fix index -> (first time, incidents)
    let mut called: BTreeMap<usize, (i64, BTreeSet<usize>)> = BTreeMap::new();
    for (gi, c) in calls.iter().enumerate() {
        for (&fi, &t) in c {
            let e = called.entry(fi).or_insert((i64::MAX, BTreeSet::new()));
            e.0 = e.0.min(t);
            e.1.insert(gi);
        }
    }
    let idx: HashMap<&str, usize> = fixes
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id.as_str(), i))
        .collect();
    // Predecessors among called fixes, through uncalled ones too (a -> b -> c keeps a before c).
    let preds = |fi: usize| -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let mut stack: Vec<usize> = fixes[fi]
            .after
            .iter()
            .filter_map(|a| idx.get(a.as_str()).copied())
            .collect();
        let mut seen = BTreeSet::new();
        while let Some(p) = stack.pop() {
            if !seen.insert(p) {
                continue;
            }
            if called.contains_key(&p) {
                out.insert(p);
            } else {
                stack.extend(
                    fixes[p]
                        .after
                        .iter()
                        .filter_map(|a| idx.get(a.as_str()).copied()),
                );
            }
        }
        out
    };
    let pre: BTreeMap<usize, BTreeSet<usize>> = called.keys().map(|&f| (f, preds(f))).collect();
    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut out = Vec::new();
    while done.len() < called.len() {
        let next = called
            .iter()
            .filter(|(f, _)| !done.contains(f) && pre[f].iter().all(|p| done.contains(p)))
            .min_by_key(|(f, (t, _))| (*t, fixes[**f].id.clone()))
            .map(|(f, _)| *f);
        // The grammar is checked for cycles, so `next` exists; stop rather than loop if not.
        let Some(f) = next else { break };
        done.insert(f);
        let fx = &fixes[f];
        out.push(FixStep {
            step: out.len() as u32 + 1,
            id: fx.id.clone(),
            action: fx.action.trim().to_string(),
            commands: fx.commands.clone(),
            incidents: called[&f].1.iter().map(|&g| id_of(g)).collect(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(id: &str, after: &[&str]) -> Fix {
        Fix {
            id: id.into(),
            action: String::new(),
            commands: Vec::new(),
            signals: Vec::new(),
            gaps: Vec::new(),
            after: after.iter().map(|s| s.to_string()).collect(),
            near: Vec::new(),
            within_ns: 0,
            supersedes: Vec::new(),
        }
    }

    #[test]
    fn cycles_are_found_and_reported_in_order() {
        assert_eq!(find_cycle(&[fix("a", &[]), fix("b", &["a"])]), None);
        assert_eq!(
            find_cycle(&[fix("a", &["c"]), fix("b", &["a"]), fix("c", &["b"])]),
            Some(vec!["a".into(), "c".into(), "b".into(), "a".into()])
        );
        assert_eq!(
            find_cycle(&[fix("a", &["a"])]),
            Some(vec!["a".into(), "a".into()])
        );
    }

    #[test]
    fn shorten_marks_the_cut() {
        assert_eq!(shorten("abcdef", 10), "abcdef");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
