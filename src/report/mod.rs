//! Stage 7, report: renders an [`Analysis`] (already redacted) as JSON or a terminal table.
//! The markdown, JUnit and SVG renderers and redaction are added by the Reports issue.

use crate::analysis::Analysis;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

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
