//! The grammar files: their TOML schema, loading (embedded defaults plus `--grammars DIR`)
//! and validation with errors that name the file and line.
//!
//! Layout of a grammar folder: `signals/*.toml` (one file per domain, each a list of
//! `[[rule]]`) and `playbook.toml` (`[settings]`, `[[link]]`, `[[fix]]`). The embedded
//! folder is `grammars/` of the source tree, compiled in with `include_str!`. A user folder
//! adds rules, links and fixes, and replaces those with the same id. The format is
//! documented in `docs/grammar.md`.

use crate::analysis::{Gap, Verdict};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// The embedded grammar files: (name as shown in errors, text).
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "grammars/signals/kernel.toml",
        include_str!("../../grammars/signals/kernel.toml"),
    ),
    (
        "grammars/signals/systemd.toml",
        include_str!("../../grammars/signals/systemd.toml"),
    ),
    (
        "grammars/signals/nix.toml",
        include_str!("../../grammars/signals/nix.toml"),
    ),
    (
        "grammars/signals/attic.toml",
        include_str!("../../grammars/signals/attic.toml"),
    ),
    (
        "grammars/signals/gitlab.toml",
        include_str!("../../grammars/signals/gitlab.toml"),
    ),
    (
        "grammars/signals/network.toml",
        include_str!("../../grammars/signals/network.toml"),
    ),
    (
        "grammars/signals/kubernetes.toml",
        include_str!("../../grammars/signals/kubernetes.toml"),
    ),
    (
        "grammars/playbook.toml",
        include_str!("../../grammars/playbook.toml"),
    ),
];

/// A grammar problem, located.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct GrammarError {
    /// The file (as given or embedded name).
    pub file: String,
    /// 1-based line (1 when unknown).
    pub line: usize,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

/// Several grammar problems; displayed one per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct GrammarErrors(pub Vec<GrammarError>);

/// One signal file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalFile {
    /// The rules.
    #[serde(default)]
    pub rule: Vec<RuleDef>,
}

/// One regex or several alternatives tried in order (the same capture names may recur).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Patterns {
    /// One regex.
    One(String),
    /// Alternatives.
    Many(Vec<String>),
}

impl Patterns {
    /// The patterns as a list.
    pub fn list(&self) -> Vec<&String> {
        match self {
            Patterns::One(p) => vec![p],
            Patterns::Many(v) => v.iter().collect(),
        }
    }
}

/// A signal rule as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Stable kebab-case id naming the observed condition.
    pub id: Spanned<String>,
    /// Short title.
    pub title: String,
    /// Format names the rule applies to (empty: all).
    #[serde(default)]
    pub formats: Vec<String>,
    /// Units / identifiers the rule applies to (empty: all). `tailscaled` also matches
    /// `tailscaled.service`.
    #[serde(default)]
    pub units: Vec<String>,
    /// Literal strings (ASCII case-insensitive); the regexes run only on messages that
    /// contain one of them.
    pub literals: Vec<String>,
    /// The regex (or alternatives) with named captures for entities.
    pub regex: Spanned<Patterns>,
    /// Default gap.
    pub gap: Spanned<String>,
    /// Default verdict.
    pub verdict: Spanned<String>,
    /// Severity of the condition (err, warning, ...).
    pub severity: String,
    /// One-line explanation; `{name}` is replaced by the capture `name`.
    pub explanation: String,
    /// Lines that must match.
    pub examples: Vec<Spanned<String>>,
    /// Lines that must not match.
    #[serde(default)]
    pub counterexamples: Vec<Spanned<String>>,
    /// Captures the first example must yield (name -> value).
    #[serde(default)]
    pub captures: BTreeMap<String, String>,
    /// Context-dependent overrides, the first that holds wins.
    #[serde(default)]
    pub when: Vec<WhenDef>,
}

/// A context condition and the classification it implies.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenDef {
    /// Event fields (trace `executor`, `job`, ...) that must match these regexes.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Captures that must match these regexes.
    #[serde(default)]
    pub captures: BTreeMap<String, String>,
    /// Another of these signals on the same host (or source) within `within` seconds.
    #[serde(default)]
    pub near: Vec<String>,
    /// Window for `near`, seconds (default 300).
    #[serde(default)]
    pub within: Option<f64>,
    /// Gap when the condition holds.
    #[serde(default)]
    pub gap: Option<String>,
    /// Verdict when the condition holds.
    #[serde(default)]
    pub verdict: Option<String>,
    /// Why, for the incident's reasoning.
    pub note: String,
}

/// The playbook file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookFile {
    /// Global settings.
    #[serde(default)]
    pub settings: Option<SettingsDef>,
    /// Causal links.
    #[serde(default)]
    pub link: Vec<LinkDef>,
    /// Fix steps.
    #[serde(default)]
    pub fix: Vec<FixDef>,
}

/// Correlation settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsDef {
    /// Seconds an effect may appear before its cause on another host (clock disagreement).
    pub clock_tolerance: Option<f64>,
    /// Signals of one rule on one host closer than this (seconds) are one incident.
    pub group_window: Option<f64>,
}

/// A causal link between signals.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkDef {
    /// Stable id.
    pub id: Spanned<String>,
    /// Cause signal ids.
    pub cause: Vec<Spanned<String>>,
    /// Effect signal ids.
    pub effect: Vec<Spanned<String>>,
    /// Seconds after the cause.
    pub within: f64,
    /// Both on the same host (or the same source when a host is unknown); default true.
    #[serde(default)]
    pub same_host: Option<bool>,
    /// Captures that must be equal when both signals have them.
    #[serde(default)]
    pub shared: Vec<String>,
    /// One incident (true, default) or a separate incident `caused_by` the cause's.
    #[serde(default)]
    pub merge: Option<bool>,
    /// Seconds the effect may be logged *before* the cause on the same host, when the cause
    /// is detected late (an SSH timeout) or echoed early (a command line before its output).
    #[serde(default)]
    pub lead: Option<f64>,
    /// The effect goes away once the cause is fixed: the effect's own fixes are not called.
    #[serde(default)]
    pub symptom: Option<bool>,
    /// Only for effects that no other (non-fallback) link explains: a weaker, circumstantial
    /// cause (the cache was failing while the job ran) used when nothing better is logged.
    #[serde(default)]
    pub fallback: Option<bool>,
    /// Why the cause leads to the effect.
    pub explanation: String,
}

/// A fix step.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixDef {
    /// Stable id.
    pub id: Spanned<String>,
    /// What to do.
    pub action: String,
    /// Commands that help.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Signals (in failure incidents) that call for this fix.
    pub signals: Vec<Spanned<String>>,
    /// Only when the calling signal's gap is one of these (empty: any).
    #[serde(default)]
    pub gaps: Vec<String>,
    /// Fixes that must come before this one.
    #[serde(default)]
    pub after: Vec<Spanned<String>>,
    /// Only when a signal of one of these rules is in the calling signal's place (host, else
    /// source) within `within` seconds (the cache server runs on the job's own host).
    #[serde(default)]
    pub near: Vec<Spanned<String>>,
    /// Window for `near`, seconds (default 3600).
    pub within: Option<f64>,
    /// More generic fixes this one makes unnecessary when both are called by one incident.
    #[serde(default)]
    pub supersedes: Vec<Spanned<String>>,
}

/// Converts a byte offset in `text` into a 1-based line.
pub fn line_of(text: &str, offset: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', &text.as_bytes()[..offset.min(text.len())]).count()
}

/// A raw grammar: every file parsed, not yet compiled. Rules keep the file they came from.
#[derive(Clone, Debug, Default)]
pub struct Raw {
    /// (file, text, rule).
    pub rules: Vec<(usize, RuleDef)>,
    /// (file, link).
    pub links: Vec<(usize, LinkDef)>,
    /// (file, fix).
    pub fixes: Vec<(usize, FixDef)>,
    /// Settings (the last file's win).
    pub settings: Option<SettingsDef>,
    /// File names and texts, indexed by the numbers above.
    pub files: Vec<(String, String)>,
}

impl Raw {
    /// An error at a span of file `f`.
    pub fn err(&self, f: usize, span: Option<std::ops::Range<usize>>, msg: String) -> GrammarError {
        let (name, text) = &self.files[f];
        GrammarError {
            file: name.clone(),
            line: span.map_or(1, |s| line_of(text, s.start)),
            message: msg,
        }
    }

    /// Adds one file's text. `playbook` selects the schema.
    pub fn add(&mut self, name: &str, text: String, playbook: bool) -> Result<(), GrammarError> {
        let f = self.files.len();
        let parsed = if playbook {
            toml::from_str::<PlaybookFile>(&text).map(|p| (None, Some(p)))
        } else {
            toml::from_str::<SignalFile>(&text).map(|s| (Some(s), None))
        };
        let (sig, pb) = match parsed {
            Ok(x) => x,
            Err(e) => {
                let line = e.span().map_or(1, |s| line_of(&text, s.start));
                return Err(GrammarError {
                    file: name.to_string(),
                    line,
                    message: e.message().trim_end_matches('.').to_string(),
                });
            }
        };
        self.files.push((name.to_string(), text));
        if let Some(s) = sig {
            for r in s.rule {
                // A later rule with the same id replaces the earlier one (user overrides).
                self.rules.retain(|(_, x)| x.id.get_ref() != r.id.get_ref());
                self.rules.push((f, r));
            }
        }
        if let Some(p) = pb {
            if p.settings.is_some() {
                self.settings = p.settings;
            }
            for l in p.link {
                self.links.retain(|(_, x)| x.id.get_ref() != l.id.get_ref());
                self.links.push((f, l));
            }
            for x in p.fix {
                self.fixes.retain(|(_, y)| y.id.get_ref() != x.id.get_ref());
                self.fixes.push((f, x));
            }
        }
        Ok(())
    }

    /// The embedded grammar.
    pub fn embedded() -> Result<Raw, GrammarErrors> {
        let mut raw = Raw::default();
        let mut errs = Vec::new();
        for (name, text) in EMBEDDED {
            if let Err(e) = raw.add(name, text.to_string(), name.ends_with("playbook.toml")) {
                errs.push(e);
            }
        }
        if errs.is_empty() {
            Ok(raw)
        } else {
            Err(GrammarErrors(errs))
        }
    }

    /// Adds a user folder: `DIR/signals/*.toml` (or `DIR/*.toml` other than
    /// `playbook.toml`) as signal files, `DIR/playbook.toml` as a playbook. Files are read in
    /// name order so overrides are deterministic.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), GrammarErrors> {
        let mut errs = Vec::new();
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        for d in [dir.to_path_buf(), dir.join("signals")] {
            match std::fs::read_dir(&d) {
                Ok(rd) => files.extend(
                    rd.filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file()),
                ),
                Err(e) if d == dir => {
                    return Err(GrammarErrors(vec![GrammarError {
                        file: dir.display().to_string(),
                        line: 1,
                        message: format!("cannot read grammar folder: {e}"),
                    }]));
                }
                Err(_) => {}
            }
        }
        files.sort();
        for p in files {
            let name = p.display().to_string();
            match std::fs::read_to_string(&p) {
                Ok(text) => {
                    let pb = p.file_name().is_some_and(|n| n == "playbook.toml");
                    if let Err(e) = self.add(&name, text, pb) {
                        errs.push(e);
                    }
                }
                Err(e) => errs.push(GrammarError {
                    file: name,
                    line: 1,
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(GrammarErrors(errs))
        }
    }
}

/// Parses a gap name with a hint.
pub fn parse_gap(s: &str) -> Result<Gap, String> {
    Gap::parse(s).ok_or_else(|| {
        format!(
            "unknown gap `{s}`; expected declared-vs-operational, identity-vs-address, \
             expected-vs-failure or unclassified"
        )
    })
}

/// Parses a verdict name with a hint.
pub fn parse_verdict(s: &str) -> Result<Verdict, String> {
    Verdict::parse(s).ok_or_else(|| format!("unknown verdict `{s}`; expected failure or expected"))
}

/// True for a stable kebab-case id.
pub fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_from_offsets() {
        let t = "a\nbb\nccc";
        assert_eq!(line_of(t, 0), 1);
        assert_eq!(line_of(t, 2), 2);
        assert_eq!(line_of(t, 5), 3);
        assert_eq!(line_of(t, 999), 3);
    }

    #[test]
    fn kebab_case_ids() {
        assert!(is_kebab("kernel-oom-kill"));
        assert!(is_kebab("http-429-rate-limited"));
        for bad in ["", "-a", "a-", "a--b", "Kernel", "a_b", "a b"] {
            assert!(!is_kebab(bad), "{bad}");
        }
    }

    #[test]
    fn a_later_file_replaces_a_rule_by_id() {
        let rule = |title: &str| {
            format!(
                "[[rule]]\nid = \"x-y\"\ntitle = \"{title}\"\nliterals = [\"a\"]\nregex = 'a'\ngap = \"unclassified\"\n\
                 verdict = \"failure\"\nseverity = \"err\"\nexplanation = \"e\"\nexamples = [\"a\"]\n"
            )
        };
        let mut raw = Raw::default();
        raw.add("one.toml", rule("first"), false).unwrap();
        raw.add("two.toml", rule("second"), false).unwrap();
        assert_eq!(raw.rules.len(), 1);
        assert_eq!(raw.rules[0].1.title, "second");
        assert_eq!(raw.files[raw.rules[0].0].0, "two.toml");
    }

    #[test]
    fn missing_required_field_is_located() {
        let mut raw = Raw::default();
        let e = raw
            .add("f.toml", "\n[[rule]]\nid = \"x\"\n".to_string(), false)
            .unwrap_err();
        assert_eq!(e.file, "f.toml");
        assert_eq!(e.line, 2);
        assert_eq!(e.message, "missing field `title`");
    }
}
