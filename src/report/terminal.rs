//! The terminal summary for the person who was paged: one line of totals, the incidents
//! (id, gap, verdict, start, duration, root cause), the fix order, the most frequent
//! unexplained errors and any unreadable inputs.
//!
//! Tables are drawn with comfy-table. Colour (failures red, expected findings green) is
//! applied only when [`RenderOptions::color`] is set — the CLI sets it only when stdout is a
//! terminal and `NO_COLOR` is unset — and the width is never taken from the terminal unless
//! colour is on, so piped output is byte-stable.

use super::{RenderOptions, clock_time, duration, one_line, window};
use crate::analysis::{Analysis, Verdict};
use comfy_table::{
    Attribute, Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED,
};

/// How many unexplained templates the summary lists.
const UNEXPLAINED_SHOWN: usize = 5;

fn table(opts: &RenderOptions) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    if opts.color {
        t.enforce_styling();
        t.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        t.force_no_tty();
    }
    t
}

/// Renders the summary.
pub fn render(a: &Analysis, opts: &RenderOptions) -> String {
    let mut out = String::new();
    let s = &a.stats;
    let failures = a
        .incidents
        .iter()
        .filter(|i| i.verdict == Verdict::Failure)
        .count();
    out.push_str(&format!(
        "{} incident{} ({} failure{}, {} expected) in {} source{}, {} lines, {} events",
        a.incidents.len(),
        plural(a.incidents.len()),
        failures,
        plural(failures),
        a.incidents.len() - failures,
        s.sources,
        plural(s.sources as usize),
        super::thousands(s.lines),
        super::thousands(s.timeline_events),
    ));
    if let (Some(b), Some(e)) = (super::ns(&s.start), super::ns(&s.end)) {
        out.push_str(&format!(", {}", super::span_text(b, e)));
    }
    out.push('\n');

    if !a.incidents.is_empty() {
        let mut t = table(opts);
        t.set_header([
            "id",
            "gap",
            "verdict",
            "start (UTC)",
            "duration",
            "root cause",
        ]);
        for i in &a.incidents {
            let (start, dur) = match window(i) {
                Some((b, e)) => (clock_time(b), duration(e - b)),
                None => ("?".into(), "?".into()),
            };
            let mut verdict = Cell::new(i.verdict.as_str());
            if opts.color {
                verdict = match i.verdict {
                    Verdict::Failure => verdict.fg(Color::Red).add_attribute(Attribute::Bold),
                    Verdict::Expected => verdict.fg(Color::Green),
                };
            }
            t.add_row(vec![
                Cell::new(&i.id),
                Cell::new(i.gap.as_str()),
                verdict,
                Cell::new(start),
                Cell::new(dur),
                Cell::new(one_line(&i.root_cause, 100)),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }

    if !a.fix_order.is_empty() {
        out.push_str("\nfix order:\n");
        let mut t = table(opts);
        t.set_header(["step", "fix", "action", "resolves"]);
        for f in &a.fix_order {
            let mut action = one_line(&f.action, 100);
            for c in &f.commands {
                action.push_str("\n$ ");
                action.push_str(&one_line(c, 100));
            }
            t.add_row(vec![
                f.step.to_string(),
                f.id.clone(),
                action,
                f.incidents.join(", "),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }

    if !a.unexplained.is_empty() {
        out.push_str(&format!(
            "\nunexplained errors ({} template{}, most frequent first):\n",
            a.unexplained.len(),
            plural(a.unexplained.len())
        ));
        let mut t = table(opts);
        t.set_header(["count", "template", "example"]);
        for u in a.unexplained.iter().take(UNEXPLAINED_SHOWN) {
            t.add_row(vec![
                u.count.to_string(),
                one_line(&u.template, 80),
                format!("{}:{}", u.example.source, u.example.line),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }

    let issues: Vec<&String> = a.sources.iter().flat_map(|s| &s.issues).collect();
    if !issues.is_empty() {
        out.push('\n');
        for i in issues {
            out.push_str(&format!("issue: {}\n", one_line(i, 200)));
        }
    }
    if a.incidents.is_empty() {
        out.push_str("no incidents found\n");
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
