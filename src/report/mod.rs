//! Stage 7, report: renders one [`Analysis`] for three audiences — the person who was paged
//! (terminal table), GitLab (JSON, JUnit XML for the merge-request test widget) and a blog's
//! readers (markdown with a mermaid chart and an SVG timeline).
//!
//! Every renderer is a pure function `(&Analysis, &RenderOptions) -> String`, registered in one
//! ordered list, [`RENDERERS`]; the order is the order files are written by [`write_dir`] and
//! listed in `--help`. Renderers never redact: [`redact::redact`] rewrites the `Analysis` once,
//! before any renderer sees it, so no output can miss a secret another one hides.
//! Outputs are deterministic: times are UTC, numbers use fixed formats, nothing depends on the
//! terminal unless [`RenderOptions::color`] says so (and then only the table).

pub mod junit;
pub mod markdown;
pub mod redact;
pub mod svg;
pub mod terminal;

use crate::analysis::{Analysis, Incident, Verdict};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use std::path::{Path, PathBuf};

/// Blog engines whose front matter the markdown report can start with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrontMatter {
    /// Hugo: YAML between `---` lines.
    Hugo,
    /// Zola: TOML between `+++` lines (Zola accepts nothing else).
    Zola,
    /// Jekyll: YAML between `---` lines with `layout: post`.
    Jekyll,
}

impl FrontMatter {
    /// Parses `hugo`, `zola` or `jekyll`.
    pub fn parse(s: &str) -> Option<FrontMatter> {
        match s {
            "hugo" => Some(FrontMatter::Hugo),
            "zola" => Some(FrontMatter::Zola),
            "jekyll" => Some(FrontMatter::Jekyll),
            _ => None,
        }
    }
}

/// What the renderers may vary on besides the analysis.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// Front matter for the markdown report.
    pub front_matter: Option<FrontMatter>,
    /// ANSI colour in the terminal table (only when stdout is a terminal and `NO_COLOR` is
    /// unset; never in any other output).
    pub color: bool,
    /// Relative path of the timeline picture to link from the markdown (set when it is
    /// written beside the markdown, as `--out` does).
    pub timeline_link: Option<String>,
}

/// One output format.
pub struct Renderer {
    /// Name given to `--format`.
    pub name: &'static str,
    /// File written by `--out DIR`, if any (the table goes to stdout only).
    pub file: Option<&'static str>,
    /// One line for `--help` and docs.
    pub description: &'static str,
    /// The renderer.
    pub render: fn(&Analysis, &RenderOptions) -> String,
}

/// The renderers, in the order `--out` writes them (after the table, which it prints).
pub const RENDERERS: &[Renderer] = &[
    Renderer {
        name: "table",
        file: None,
        description: "terminal summary: incidents, then the fix order",
        render: terminal::render,
    },
    Renderer {
        name: "md",
        file: Some("report.md"),
        description: "markdown for a blog post",
        render: markdown::render,
    },
    Renderer {
        name: "json",
        file: Some("report.json"),
        description: "JSON, schema gaplog/report/v1 (docs/report-schema.md)",
        render: |a, _| json(a),
    },
    Renderer {
        name: "junit",
        file: Some("junit.xml"),
        description: "JUnit XML for GitLab's artifacts:reports:junit",
        render: junit::render,
    },
    Renderer {
        name: "svg",
        file: Some("timeline.svg"),
        description: "timeline picture: activity per host and source, incidents, signals",
        render: svg::render,
    },
];

/// Looks a renderer up by name; the error carries a "did you mean" hint.
pub fn renderer(name: &str) -> Result<&'static Renderer, String> {
    if let Some(r) = RENDERERS.iter().find(|r| r.name == name) {
        return Ok(r);
    }
    let names: Vec<_> = RENDERERS.iter().map(|r| r.name).collect();
    let best = RENDERERS
        .iter()
        .map(|r| (crate::formats::edit_distance(r.name, name), r.name))
        .min();
    Err(match best {
        Some((d, n)) if d <= 2 && d < name.len().min(n.len()) => format!(
            "unknown output format `{name}`, did you mean `{n}`? (expected {})",
            names.join(", ")
        ),
        _ => format!(
            "unknown output format `{name}` (expected {})",
            names.join(", ")
        ),
    })
}

/// Writes every renderer that has a file into `dir` (created if missing) and returns the
/// paths written, in [`RENDERERS`] order. The markdown links the timeline picture.
pub fn write_dir(dir: &Path, a: &Analysis, opts: &RenderOptions) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut opts = opts.clone();
    opts.color = false;
    opts.timeline_link = Some("timeline.svg".into());
    let mut written = Vec::new();
    for r in RENDERERS {
        if let Some(file) = r.file {
            let p = dir.join(file);
            std::fs::write(&p, (r.render)(a, &opts))?;
            written.push(p);
        }
    }
    Ok(written)
}

/// The JSON report (`gaplog/report/v1`), pretty-printed, with a final newline.
pub fn json(a: &Analysis) -> String {
    let mut s =
        serde_json::to_string_pretty(a).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// The per-source table printed by `gaplog formats`.
pub fn sources_table(a: &Analysis) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "source", "format", "hosts", "lines", "events", "cont.", "unparsed", "first", "last",
        "clock",
    ]);
    for s in &a.sources {
        t.add_row([
            s.path.clone(),
            s.format.clone(),
            s.hosts.join(","),
            s.lines.to_string(),
            s.events.to_string(),
            s.continuations.to_string(),
            s.unparsed.to_string(),
            s.first.clone().unwrap_or_default(),
            s.last.clone().unwrap_or_default(),
            s.clock.clone(),
        ]);
    }
    let mut out = t.to_string();
    out.push('\n');
    for s in &a.sources {
        for i in &s.issues {
            out.push_str(&format!("issue: {i}\n"));
        }
    }
    out
}

/// UTC nanoseconds of an RFC 3339 time in the analysis (`None` when absent or malformed).
pub fn ns(t: &Option<String>) -> Option<i64> {
    t.as_deref()
        .and_then(|s| crate::time::parse_rfc3339(s.as_bytes()))
        .map(|(t, _)| t)
}

/// A human duration: `0 s`, `45 s`, `12 min`, `1 h 05 min`, `2 d 03 h`.
pub fn duration(ns: i64) -> String {
    let s = ns.max(0) / 1_000_000_000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => {
            let (m, r) = (s / 60, s % 60);
            if r == 0 || m >= 10 {
                format!("{} min", (s + 30) / 60)
            } else {
                format!("{m} min {r:02} s")
            }
        }
        3600..86400 => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {:02} h", s / 86400, (s % 86400) / 3600),
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC (no zone suffix; callers say "UTC" once).
pub fn clock_time(ns: i64) -> String {
    let s = crate::time::rfc3339_secs(ns);
    s.trim_end_matches('Z').replacen('T', " ", 1)
}

/// `2026-03-25 08:12:04 to 08:14:30 UTC (2 min 26 s)`; the end's date only when it differs,
/// a single moment without a duration.
pub fn span_text(b: i64, e: i64) -> String {
    if e <= b {
        return format!("{} UTC", clock_time(b));
    }
    let (bs, es) = (clock_time(b), clock_time(e));
    let end = if bs[..10] == es[..10] {
        &es[11..]
    } else {
        &es[..]
    };
    format!("{bs} to {end} UTC ({})", duration(e - b))
}

/// `99264` as `99,264`.
pub fn thousands(n: u64) -> String {
    let d = n.to_string();
    let mut o = String::with_capacity(d.len() + d.len() / 3);
    for (k, c) in d.chars().enumerate() {
        if k > 0 && (d.len() - k).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    o
}

/// The incident window of `i` as (start, end) ns, end at least start.
pub fn window(i: &Incident) -> Option<(i64, i64)> {
    let s = ns(&i.start)?;
    let e = ns(&i.end).unwrap_or(s).max(s);
    Some((s, e))
}

/// True when any incident has `verdict` (`--fail-on failure` exits 1 when this holds).
pub fn any_verdict(a: &Analysis, verdict: Verdict) -> bool {
    a.incidents.iter().any(|i| i.verdict == verdict)
}

/// The incident a reader should start from: among the failures nothing else caused, the one
/// that caused the most others (directly or through a chain of `caused_by`), the earlier on a
/// tie; else the first failure, else the first incident.
pub fn headline(a: &Analysis) -> Option<&Incident> {
    let failures = || a.incidents.iter().filter(|i| i.verdict == Verdict::Failure);
    let caused = |root: &str| {
        a.incidents
            .iter()
            .filter(|i| {
                // Walk up the caused_by chain (bounded: ids are unique, chains are short).
                let mut cur = i.caused_by.as_deref();
                for _ in 0..a.incidents.len() {
                    match cur {
                        Some(c) if c == root => return true,
                        Some(c) => {
                            cur = a
                                .incidents
                                .iter()
                                .find(|x| x.id == c)
                                .and_then(|x| x.caused_by.as_deref())
                        }
                        None => return false,
                    }
                }
                false
            })
            .count()
    };
    let mut best: Option<(&Incident, usize)> = None;
    for i in failures().filter(|i| i.caused_by.is_none()) {
        let n = caused(&i.id);
        if best.is_none_or(|(_, b)| n > b) {
            best = Some((i, n));
        }
    }
    best.map(|(i, _)| i)
        .or_else(|| failures().next())
        .or_else(|| a.incidents.first())
}

/// The span covered by the failures (or by every incident when none failed), as ns.
pub fn outage_window(a: &Analysis) -> Option<(i64, i64)> {
    let pick: Vec<&Incident> = if a.incidents.iter().any(|i| i.verdict == Verdict::Failure) {
        a.incidents
            .iter()
            .filter(|i| i.verdict == Verdict::Failure)
            .collect()
    } else {
        a.incidents.iter().collect()
    };
    let ws: Vec<(i64, i64)> = pick.iter().filter_map(|i| window(i)).collect();
    let s = ws.iter().map(|w| w.0).min()?;
    let e = ws.iter().map(|w| w.1).max()?;
    Some((s, e))
}

/// Shortens to `max` characters with an ellipsis, first folding line breaks and tabs into
/// visible single-line form (`⏎`), so a multi-line record stays one table row.
pub fn one_line(s: &str, max: usize) -> String {
    let mut o = String::with_capacity(s.len().min(max * 4));
    let mut prev_space = false;
    for c in s.trim().chars() {
        let c2 = match c {
            '\n' => {
                o.push_str(" ⏎ ");
                prev_space = true;
                continue;
            }
            '\r' => continue,
            '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        };
        if c2 == ' ' && prev_space {
            continue;
        }
        prev_space = c2 == ' ';
        o.push(c2);
    }
    crate::text::ellipsize(&o, max).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_is_the_root_that_caused_most() {
        let inc = |id: &str, caused_by: Option<&str>, verdict| Incident {
            id: id.into(),
            caused_by: caused_by.map(Into::into),
            verdict,
            ..Incident::default()
        };
        let mut a = Analysis {
            incidents: vec![
                inc("I1", None, Verdict::Failure),
                inc("I2", None, Verdict::Expected),
                inc("I3", None, Verdict::Failure),
                inc("I4", Some("I3"), Verdict::Failure),
                inc("I5", Some("I4"), Verdict::Failure),
            ],
            ..Analysis::default()
        };
        assert_eq!(
            headline(&a).unwrap().id,
            "I3",
            "I3 caused I4 and, through it, I5"
        );
        a.incidents.truncate(3);
        assert_eq!(headline(&a).unwrap().id, "I1", "a tie goes to the earlier");
        a.incidents.retain(|i| i.verdict == Verdict::Expected);
        assert_eq!(headline(&a).unwrap().id, "I2");
    }

    #[test]
    fn durations_read_like_prose() {
        let s = 1_000_000_000;
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(-5 * s), "0 s");
        assert_eq!(duration(45 * s), "45 s");
        assert_eq!(duration(90 * s), "1 min 30 s");
        assert_eq!(duration(120 * s), "2 min");
        assert_eq!(duration(12 * 60 * s + 40 * s), "13 min");
        assert_eq!(duration(3900 * s), "1 h 05 min");
        assert_eq!(duration(2 * 86400 * s + 3 * 3600 * s), "2 d 03 h");
    }

    #[test]
    fn one_line_folds_breaks_and_shortens() {
        assert_eq!(one_line("a\nb\tc", 80), "a ⏎ b c");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("x\u{1b}[31m", 80), "x\u{fffd}[31m");
    }

    #[test]
    fn unknown_renderer_gets_a_hint() {
        assert_eq!(
            renderer("jsno").err().unwrap(),
            "unknown output format `jsno`, did you mean `json`? (expected table, md, json, junit, svg)"
        );
        assert_eq!(
            renderer("html").err().unwrap(),
            "unknown output format `html` (expected table, md, json, junit, svg)"
        );
        assert_eq!(
            renderer("xml").err().unwrap(),
            "unknown output format `xml` (expected table, md, json, junit, svg)"
        );
        assert_eq!(renderer("md").unwrap().file, Some("report.md"));
    }

    #[test]
    fn clock_time_is_utc_without_suffix() {
        assert_eq!(clock_time(1_774_430_462_500_000_000), "2026-03-25 09:21:02");
    }
}
