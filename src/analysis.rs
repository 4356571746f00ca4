//! The [`Analysis`]: the one value every renderer draws from, and the JSON report model
//! (`schema: "gaplog/report/v1"`, documented field by field in `docs/report-schema.md`).
//!
//! All strings here are owned and already shortened; [`crate::report::redact::redact`]
//! rewrites every one of them once, before any renderer sees the value. Field order is the
//! JSON key order.

use serde::Serialize;

/// The JSON report's schema id.
pub const SCHEMA: &str = "gaplog/report/v1";

/// One of the three gaps (or none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Gap {
    /// What Nix declared is not what runs.
    DeclaredVsOperational,
    /// An address means something else in another execution context.
    IdentityVsAddress,
    /// A scary-looking error that is expected, or the real failure behind expected noise.
    ExpectedVsFailure,
    /// No rule classified it.
    #[default]
    Unclassified,
}

impl Gap {
    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Gap::DeclaredVsOperational => "declared-vs-operational",
            Gap::IdentityVsAddress => "identity-vs-address",
            Gap::ExpectedVsFailure => "expected-vs-failure",
            Gap::Unclassified => "unclassified",
        }
    }
    /// Parses a kebab-case name.
    pub fn parse(s: &str) -> Option<Gap> {
        [
            Gap::DeclaredVsOperational,
            Gap::IdentityVsAddress,
            Gap::ExpectedVsFailure,
            Gap::Unclassified,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
    }
}

/// Whether a finding is a real failure or expected behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Something is broken and needs fixing.
    #[default]
    Failure,
    /// Looks like an error, is correct behaviour.
    Expected,
}

impl Verdict {
    /// lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Failure => "failure",
            Verdict::Expected => "expected",
        }
    }
    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Verdict> {
        match s {
            "failure" => Some(Verdict::Failure),
            "expected" => Some(Verdict::Expected),
            _ => None,
        }
    }
}

/// One input's figures (`sources[]`; also what `gaplog formats --json` prints).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SourceSummary {
    /// Path as given (or relative to the given folder's parent).
    pub path: String,
    /// Detected or forced format name, `"unknown"` when nothing matched.
    pub format: String,
    /// Host names seen in or assigned to the source, sorted.
    pub hosts: Vec<String>,
    /// Physical lines.
    pub lines: u64,
    /// Events produced.
    pub events: u64,
    /// Lines folded into an event.
    pub continuations: u64,
    /// Lines not understood.
    pub unparsed: u64,
    /// First event time (RFC 3339 UTC), if any event has a time.
    pub first: Option<String>,
    /// Last event time.
    pub last: Option<String>,
    /// How times were obtained (e.g. `exact`, `aligned-monotonic from journal (±2 ms)`).
    pub clock: String,
    /// Read errors, undetected format, bad records.
    pub issues: Vec<String>,
    /// A few unparsed lines (`line: text`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unparsed_examples: Vec<String>,
}

/// One piece of evidence: a signal on an event.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// The signal rule id.
    pub rule: String,
    /// Event time (RFC 3339 UTC), null when the event has no clock.
    pub time: Option<String>,
    /// Host.
    pub host: String,
    /// Source path.
    pub source: String,
    /// 1-based line.
    pub line: u32,
    /// The line, shortened.
    pub excerpt: String,
}

/// A correlated group of signals.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Incident {
    /// Stable within a report: `I1`, `I2`, … in order of start time.
    pub id: String,
    /// Short title.
    pub title: String,
    /// The primary gap.
    pub gap: Gap,
    /// failure or expected.
    pub verdict: Verdict,
    /// The root cause in one sentence.
    pub root_cause: String,
    /// Start (RFC 3339 UTC).
    pub start: Option<String>,
    /// End.
    pub end: Option<String>,
    /// Hosts involved.
    pub hosts: Vec<String>,
    /// The incident that caused this one, if any.
    pub caused_by: Option<String>,
    /// Why this gap and verdict: which rules and evidence.
    pub reasoning: String,
    /// The causal chain, root first (signal titles).
    pub chain: Vec<String>,
    /// Evidence, in time order.
    pub evidence: Vec<Evidence>,
    /// Fix step ids.
    pub fixes: Vec<String>,
}

/// One step of the fix plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FixStep {
    /// 1-based position.
    pub step: u32,
    /// Fix id from the playbook.
    pub id: String,
    /// What to do (may contain commands, markdown-safe text).
    pub action: String,
    /// Commands, when the playbook gives them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// Incident ids this step resolves.
    pub incidents: Vec<String>,
}

/// An example location.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Location {
    /// Source path.
    pub source: String,
    /// 1-based line.
    pub line: u32,
}

/// An error template no rule explained.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Unexplained {
    /// The template with variable parts masked (`<num>`, `<path>`, …).
    pub template: String,
    /// How many events matched it.
    pub count: u64,
    /// First occurrence time.
    pub first: Option<String>,
    /// One example.
    pub example: Location,
    /// The example's text, shortened.
    pub example_text: String,
}

/// Per-source event counts in `stats`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SourceCount {
    /// Source path.
    pub source: String,
    /// Events kept on the timeline.
    pub events: u64,
}

/// Totals.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Inputs.
    pub sources: u64,
    /// Physical lines.
    pub lines: u64,
    /// Events parsed.
    pub events: u64,
    /// Events on the timeline after duplicates were removed.
    pub timeline_events: u64,
    /// Duplicates removed (a kernel line in dmesg and in the journal).
    pub duplicates_removed: u64,
    /// Signals matched.
    pub signals: u64,
    /// Unparsed lines.
    pub unparsed: u64,
    /// Events without usable time.
    pub unclocked: u64,
    /// First event time.
    pub start: Option<String>,
    /// Last event time.
    pub end: Option<String>,
    /// Events per source.
    pub per_source: Vec<SourceCount>,
}

/// Events per minute for one host and source (for the timeline picture).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Activity {
    /// Host.
    pub host: String,
    /// Source path.
    pub source: String,
    /// Minute start (Unix seconds, multiple of 60) and event count, ascending.
    pub per_minute: Vec<(i64, u64)>,
    /// Minute start and count of error-or-worse events.
    pub errors_per_minute: Vec<(i64, u64)>,
}

/// A matched signal, as marks on the timeline picture.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SignalMark {
    /// Rule id.
    pub rule: String,
    /// Unix nanoseconds.
    pub time: i64,
    /// Host.
    pub host: String,
    /// Source path (the picture's lane).
    pub source: String,
    /// Incident id, if the signal belongs to one.
    pub incident: Option<String>,
}

/// One stage's wall time and the process's memory when it ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StageTiming {
    /// Stage name (`read`, `parse`, `clock`, …).
    pub name: String,
    /// Wall time in milliseconds.
    pub ms: f64,
    /// Resident memory when the stage ended (KiB, from `/proc/self/status`; 0 where that
    /// file does not exist). Reading and parsing run fused, source by source: their figures
    /// are those of their common end.
    pub rss_kib: u64,
    /// Peak resident memory so far (KiB).
    pub peak_kib: u64,
}

impl Timings {
    /// Records a stage that just ended, with the memory figures of this moment.
    pub fn push(&mut self, name: &str, ms: f64) {
        let (rss_kib, peak_kib) = memory_kib();
        self.stages.push(StageTiming {
            name: name.to_string(),
            ms,
            rss_kib,
            peak_kib,
        });
    }
}

/// (VmRSS, VmHWM) of this process in KiB, or zeros where `/proc/self/status` is missing.
fn memory_kib() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (0, 0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Time spent per stage, for `--timings` (never part of golden outputs).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Timings {
    /// The stages in the order they ran.
    pub stages: Vec<StageTiming>,
    /// Bytes of input parsed (after decompression).
    pub input_bytes: u64,
    /// Bytes of message and field text kept once the inputs were parsed (the rest of the
    /// input is released; see `formats::keep_referenced_text`).
    pub kept_bytes: u64,
}

/// The complete result of an analysis.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Analysis {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// gaplog's version.
    pub generator: String,
    /// Inputs.
    pub sources: Vec<SourceSummary>,
    /// Incidents in start order (failures and expected findings).
    pub incidents: Vec<Incident>,
    /// The fix plan.
    pub fix_order: Vec<FixStep>,
    /// Unexplained error templates, most frequent first.
    pub unexplained: Vec<Unexplained>,
    /// Totals.
    pub stats: Stats,
    /// Per-minute activity (not in the JSON report; used by the SVG).
    #[serde(skip)]
    pub activity: Vec<Activity>,
    /// Signal marks (not in the JSON report; used by the SVG).
    #[serde(skip)]
    pub marks: Vec<SignalMark>,
    /// Stage timings (not in the JSON report).
    #[serde(skip)]
    pub timings: Timings,
}

impl Analysis {
    /// Applies `f` to every human-readable string of the analysis (used by redaction).
    pub fn map_strings(&mut self, f: &dyn Fn(&str) -> Option<String>) {
        fn m(s: &mut String, f: &dyn Fn(&str) -> Option<String>) {
            if let Some(n) = f(s) {
                *s = n;
            }
        }
        for s in &mut self.sources {
            s.issues.iter_mut().for_each(|x| m(x, f));
            s.unparsed_examples.iter_mut().for_each(|x| m(x, f));
        }
        for i in &mut self.incidents {
            m(&mut i.title, f);
            m(&mut i.root_cause, f);
            m(&mut i.reasoning, f);
            i.chain.iter_mut().for_each(|x| m(x, f));
            for e in &mut i.evidence {
                m(&mut e.excerpt, f);
            }
        }
        for s in &mut self.fix_order {
            m(&mut s.action, f);
            s.commands.iter_mut().for_each(|x| m(x, f));
        }
        for u in &mut self.unexplained {
            m(&mut u.template, f);
            m(&mut u.example_text, f);
        }
    }
}
