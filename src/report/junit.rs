//! JUnit XML for GitLab's `artifacts:reports:junit` (the merge-request test widget).
//!
//! One `<testcase>` per incident: a failure is a `<failure>` whose message is the root cause
//! and whose body lists the window, hosts, reasoning, evidence (`file:line` and excerpt) and
//! fixes; an expected finding is a passed case whose `<system-out>` says why it is expected.
//! With no incidents a single passed case says so, so the widget shows that gaplog ran.
//!
//! Written by hand rather than with quick-junit: the document is a dozen fixed elements, and
//! quick-junit pulls in uuid and chrono features for report ids and timestamps we do not want
//! (they would make the output non-deterministic). [`xml_escape`] is the single escaping
//! point; the tests parse the output back.

use super::{RenderOptions, span_text, window};
use crate::analysis::{Analysis, Incident, Verdict};
use std::fmt::Write;

/// Renders the JUnit document.
pub fn render(a: &Analysis, _opts: &RenderOptions) -> String {
    let tests = a.incidents.len().max(1);
    let failures = a
        .incidents
        .iter()
        .filter(|i| i.verdict == Verdict::Failure)
        .count();
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"gaplog\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"0\">"
    );
    let timestamp = a
        .stats
        .start
        .as_deref()
        .map(|s| format!(" timestamp=\"{}\"", xml_escape(s)))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "  <testsuite name=\"gaplog incidents\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"0\"{timestamp}>"
    );
    if a.incidents.is_empty() {
        let _ = writeln!(
            o,
            "    <testcase name=\"no incidents found\" classname=\"gaplog\" time=\"0\">\n      <system-out>{}</system-out>\n    </testcase>",
            xml_text(&format!(
                "{} sources, {} lines, {} events read; no rule matched an incident.",
                a.stats.sources, a.stats.lines, a.stats.timeline_events
            ))
        );
    }
    for i in &a.incidents {
        let _ = writeln!(
            o,
            "    <testcase name=\"{}\" classname=\"gaplog.{}\" time=\"{}\">",
            xml_escape(&format!("{}: {}", i.id, i.title)),
            i.gap.as_str(),
            window(i).map_or(0, |(b, e)| (e - b) / 1_000_000_000)
        );
        let body = xml_text(&details(a, i));
        match i.verdict {
            Verdict::Failure => {
                let _ = writeln!(
                    o,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    xml_escape(&i.root_cause),
                    i.gap.as_str(),
                    body
                );
            }
            Verdict::Expected => {
                let _ = writeln!(o, "      <system-out>{body}</system-out>");
            }
        }
        o.push_str("    </testcase>\n");
    }
    o.push_str("  </testsuite>\n</testsuites>\n");
    o
}

/// The plain-text body of a test case.
fn details(a: &Analysis, i: &Incident) -> String {
    let mut d = String::new();
    let _ = writeln!(
        d,
        "{} ({}, {})",
        i.title,
        i.gap.as_str(),
        i.verdict.as_str()
    );
    if !i.root_cause.is_empty() {
        let _ = writeln!(d, "Root cause: {}", i.root_cause);
    }
    if let Some((b, e)) = window(i) {
        let _ = writeln!(d, "Window: {}", span_text(b, e));
    }
    if !i.hosts.is_empty() {
        let _ = writeln!(d, "Hosts: {}", i.hosts.join(", "));
    }
    if let Some(c) = &i.caused_by {
        let _ = writeln!(d, "Caused by: {c}");
    }
    if !i.reasoning.is_empty() {
        let _ = writeln!(d, "Why: {}", i.reasoning);
    }
    if !i.chain.is_empty() {
        let _ = writeln!(d, "Chain: {}", i.chain.join(" -> "));
    }
    if !i.evidence.is_empty() {
        d.push_str("Evidence:\n");
        for e in &i.evidence {
            let _ = writeln!(
                d,
                "  {}:{} [{}] {} {}: {}",
                e.source,
                e.line,
                e.rule,
                e.time.as_deref().unwrap_or("?"),
                e.host,
                super::one_line(&e.excerpt, 200)
            );
        }
    }
    for id in &i.fixes {
        match a.fix_order.iter().find(|f| &f.id == id) {
            Some(f) => {
                let _ = writeln!(d, "Fix (step {}, {}): {}", f.step, f.id, f.action);
                for c in &f.commands {
                    let _ = writeln!(d, "  $ {c}");
                }
            }
            None => {
                let _ = writeln!(d, "Fix: {id}");
            }
        }
    }
    d
}

/// Escapes text for XML 1.0 content and attribute values. Characters XML 1.0 forbids (C0
/// controls other than tab and line breaks, such as the ESC of a stray ANSI sequence, and
/// U+FFFE/U+FFFF) become U+FFFD; line breaks become character references so attribute
/// normalisation keeps them.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\n' => o.push_str("&#10;"),
            '\r' => o.push_str("&#13;"),
            '\t' => o.push_str("&#9;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// Escapes element content: as [`xml_escape`], but line breaks and tabs stay literal so the
/// body reads as written in GitLab's test report.
pub fn xml_text(s: &str) -> String {
    xml_escape(s)
        .replace("&#10;", "\n")
        .replace("&#9;", "\t")
        .replace("&#13;", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_forbidden_characters() {
        assert_eq!(
            xml_escape("a<b>&\"c\"'\u{1b}[31m\n"),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;\u{fffd}[31m&#10;"
        );
        assert_eq!(xml_escape("\u{ffff}ok"), "\u{fffd}ok");
    }
}
