//! Reports: golden outputs per renderer on a hand-made [`Analysis`] (the reasoning stages fill
//! incidents in parallel, so these do not depend on them), the JSON schema, JUnit and SVG
//! parsed back, the CLI's output options and exit codes, byte-identical reruns, and the
//! golden `reports/<sample>/` folders.
//!
//! Golden files live in `tests/fixtures/reports/`; `GAPLOG_BLESS=1 cargo test reports`
//! rewrites them (review the diff before committing).

use gaplog::analysis::*;
use gaplog::report::{self, FrontMatter, RenderOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gaplog");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn fixtures() -> PathBuf {
    Path::new(ROOT).join("tests/fixtures/reports")
}

/// Unix ns of 2026-03-25 `hh:mm:ss` UTC.
fn at(h: i64, m: i64, s: i64) -> i64 {
    (1_774_396_800 + h * 3600 + m * 60 + s) * 1_000_000_000
}

fn t(h: i64, m: i64, s: i64) -> Option<String> {
    Some(gaplog::time::rfc3339(at(h, m, s)))
}

fn ev(rule: &str, time: i64, host: &str, source: &str, line: u32, excerpt: &str) -> Evidence {
    Evidence {
        rule: rule.into(),
        time: Some(gaplog::time::rfc3339(time)),
        host: host.into(),
        source: source.into(),
        line,
        excerpt: excerpt.into(),
    }
}

/// Per-minute counts: a base rate with a burst, deterministic.
fn minutes(
    from: (i64, i64),
    to: (i64, i64),
    base: u64,
    burst: &[((i64, i64), u64)],
) -> Vec<(i64, u64)> {
    let (a, b) = (
        at(from.0, from.1, 0) / 1_000_000_000,
        at(to.0, to.1, 0) / 1_000_000_000,
    );
    (a..=b)
        .step_by(60)
        .enumerate()
        .map(|(k, m)| {
            let extra: u64 = burst
                .iter()
                .filter(|((h, mi), _)| at(*h, *mi, 0) / 1_000_000_000 == m)
                .map(|(_, n)| *n)
                .sum();
            (m, base + (k as u64 * 7 % 5) + extra)
        })
        .collect()
}

/// The seed's outage as an Analysis: a tailscaled restart drops the SSH session of a
/// `nixos-rebuild` copy (declared vs operational), leaving a corrupt store; the runner then
/// fails with a stale token (identity vs address); an atticd 401 on an anonymous pull is
/// expected. Text carries markdown and XML special characters on purpose.
pub fn handmade() -> Analysis {
    let j = "node1/journal.export";
    let d = "node1/dmesg.txt";
    let tr = "ci/job-4711.log";
    let r = "node1/gitlab-runner.log";
    Analysis {
        schema: SCHEMA,
        generator: "gaplog 0.0.0-test".into(),
        sources: vec![
            SourceSummary {
                path: tr.into(),
                format: "gitlab-trace".into(),
                hosts: vec!["runner-7".into()],
                lines: 412,
                events: 398,
                continuations: 10,
                unparsed: 4,
                first: t(9, 2, 0),
                last: t(9, 31, 40),
                clock: "interpolated between section markers".into(),
                issues: vec![],
                unparsed_examples: vec![
                    "17: \u{fffd}\u{fffd}binary junk | with a pipe".into(),
                    "93: `backticks` and *stars* stay literal".into(),
                ],
            },
            SourceSummary {
                path: d.into(),
                format: "kernel".into(),
                hosts: vec!["node1".into()],
                lines: 2210,
                events: 2104,
                continuations: 106,
                unparsed: 0,
                first: t(7, 58, 3),
                last: t(9, 40, 12),
                clock: "aligned-monotonic from journal (±2 ms)".into(),
                issues: vec![],
                unparsed_examples: vec![],
            },
            SourceSummary {
                path: j.into(),
                format: "journal-export".into(),
                hosts: vec!["node1".into()],
                lines: 96_512,
                events: 8_803,
                continuations: 0,
                unparsed: 0,
                first: t(7, 58, 0),
                last: t(9, 41, 0),
                clock: "exact".into(),
                issues: vec![],
                unparsed_examples: vec![],
            },
            SourceSummary {
                path: r.into(),
                format: "gitlab-runner".into(),
                hosts: vec!["node1".into()],
                lines: 130,
                events: 128,
                continuations: 0,
                unparsed: 2,
                first: t(8, 0, 0),
                last: t(9, 35, 0),
                clock: "exact".into(),
                issues: vec![format!("{r}:77 (byte 9120): truncated JSON record")],
                unparsed_examples: vec!["77: {\"level\":\"warn\",\"msg\":\"Checking for jobs".into()],
            },
        ],
        incidents: vec![
            Incident {
                id: "I1".into(),
                title: "tailscaled restart cut the nix copy of nixos-rebuild".into(),
                gap: Gap::DeclaredVsOperational,
                verdict: Verdict::Failure,
                root_cause: "switching the new generation restarted tailscaled, which carried the SSH session of the running `nix copy`, so the store was left half written".into(),
                start: t(8, 12, 4),
                end: t(8, 14, 30),
                hosts: vec!["node1".into(), "thinkpad".into()],
                caused_by: None,
                reasoning: "A unit restart of tailscaled on node1 is followed within 60 s by an SSH disconnect on the build host, then by SQLite foreign-key errors from nix-daemon: rules tailscaled-restart, ssh-disconnect and nix-store-corrupt link them.".into(),
                chain: vec![
                    "tailscaled restarted by switch-to-configuration".into(),
                    "SSH connection over Tailscale closed".into(),
                    "nix store paths registered but missing".into(),
                ],
                evidence: vec![
                    ev("systemd-unit-restart", at(8, 12, 4), "node1", j, 48_211, "Stopping tailscaled.service - Tailscale node agent..."),
                    ev("ssh-disconnect", at(8, 12, 5), "node1", j, 48_230, "Connection to 100.105.10.61 closed by remote host."),
                    ev("nix-store-corrupt", at(8, 14, 30), "node1", j, 49_002, "error: path '/nix/store/0c7ijs5yqh8hlx8ai1vhxhqqwr52zlz8-etc' is not valid | FOREIGN KEY constraint failed"),
                ],
                fixes: vec!["repair-store".into(), "rebuild".into()],
            },
            Incident {
                id: "I2".into(),
                title: "kubelet & etcd memory pressure: OOM killer <etcd>".into(),
                gap: Gap::DeclaredVsOperational,
                verdict: Verdict::Failure,
                root_cause: "etcd grew without a memory limit until the kernel OOM killer ended it and nix-daemon's copy".into(),
                start: t(8, 40, 0),
                end: t(8, 40, 0),
                hosts: vec!["node1".into()],
                caused_by: None,
                reasoning: "kernel-oom-kill names etcd as the victim; kubelet reports MemoryPressure one minute earlier.".into(),
                chain: vec!["kubelet MemoryPressure".into(), "kernel-oom-kill etcd".into()],
                evidence: vec![ev(
                    "kernel-oom-kill",
                    at(8, 40, 0),
                    "node1",
                    d,
                    1_877,
                    "Out of memory: Killed process 2211 (etcd) total-vm:8812340kB, anon-rss:6120044kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:13004kB oom_score_adj:0 and a long tail that the report shortens",
                )],
                fixes: vec!["limit-etcd".into()],
            },
            Incident {
                id: "I3".into(),
                title: "gitlab-runner rejected: token with a trailing newline".into(),
                gap: Gap::IdentityVsAddress,
                verdict: Verdict::Failure,
                root_cause: "the agenix runner token file ends with a newline, so the runner sends `glrt-…\\n` and GitLab answers 403".into(),
                start: t(9, 2, 10),
                end: t(9, 31, 40),
                hosts: vec!["node1".into(), "runner-7".into()],
                caused_by: Some("I1".into()),
                reasoning: "runner-forbidden repeats every 3 s after the rebuild; the token file changed with the new generation.".into(),
                chain: vec!["secrets re-created by the new generation".into(), "runner 403 Forbidden".into()],
                evidence: vec![
                    ev("runner-forbidden", at(9, 2, 10), "node1", r, 61, "ERROR: Checking for jobs... forbidden  runner=t1_Ab status=403 Forbidden"),
                    ev("job-stuck", at(9, 31, 40), "runner-7", tr, 398, "ERROR: Job failed: execution took longer than 30m0s seconds"),
                ],
                fixes: vec!["runner-token-newline".into()],
            },
            Incident {
                id: "I4".into(),
                title: "atticd 401 on anonymous pull".into(),
                gap: Gap::ExpectedVsFailure,
                verdict: Verdict::Expected,
                root_cause: "the cache is private; substituters try it before authenticating".into(),
                start: t(9, 5, 0),
                end: t(9, 6, 30),
                hosts: vec!["runner-7".into()],
                caused_by: None,
                reasoning: "attic-unauthorized on a GET of nix-cache-info followed by a successful authenticated pull within 2 s.".into(),
                chain: vec![],
                evidence: vec![ev("attic-unauthorized", at(9, 5, 0), "runner-7", tr, 120, "warning: error: unable to download 'https://cache.example/main/nix-cache-info': HTTP error 401")],
                fixes: vec![],
            },
        ],
        fix_order: vec![
            FixStep {
                step: 1,
                id: "repair-store".into(),
                action: "Delete store DB rows whose paths are missing, then collect garbage".into(),
                commands: vec!["sudo python3 store-fix.py".into(), "sudo nix-collect-garbage".into()],
                incidents: vec!["I1".into()],
            },
            FixStep {
                step: 2,
                id: "rebuild".into(),
                action: "Rebuild node1 from a console, not over Tailscale".into(),
                commands: vec!["nixos-rebuild switch --flake .#node1".into()],
                incidents: vec!["I1".into()],
            },
            FixStep {
                step: 3,
                id: "limit-etcd".into(),
                action: "Give etcd a memory limit (systemd MemoryMax=)".into(),
                commands: vec![],
                incidents: vec!["I2".into()],
            },
            FixStep {
                step: 4,
                id: "runner-token-newline".into(),
                action: "Strip the trailing newline from the runner token secret".into(),
                commands: vec!["tr -d '\\n' < token.age.plain | agenix -e runner-token.age".into()],
                incidents: vec!["I3".into()],
            },
        ],
        unexplained: vec![
            Unexplained {
                template: "minio: Condition check resulted in <unit> being skipped | <num>".into(),
                count: 14,
                first: t(8, 1, 0),
                example: Location { source: j.into(), line: 1_204 },
                example_text: "minio: Condition check resulted in minio.service being skipped | 0".into(),
            },
        ],
        stats: Stats {
            sources: 4,
            lines: 99_264,
            events: 11_433,
            timeline_events: 11_120,
            duplicates_removed: 313,
            signals: 7,
            unparsed: 6,
            unclocked: 0,
            start: t(7, 58, 0),
            end: t(9, 41, 0),
            per_source: vec![
                SourceCount { source: tr.into(), events: 398 },
                SourceCount { source: d.into(), events: 1_791 },
                SourceCount { source: j.into(), events: 8_803 },
                SourceCount { source: r.into(), events: 128 },
            ],
        },
        activity: vec![
            Activity {
                host: "node1".into(),
                source: d.into(),
                per_minute: minutes((7, 58), (9, 40), 3, &[((8, 40), 120), ((8, 39), 40)]),
                errors_per_minute: vec![(at(8, 39, 0) / 1_000_000_000, 12), (at(8, 40, 0) / 1_000_000_000, 60)],
            },
            Activity {
                host: "node1".into(),
                source: j.into(),
                per_minute: minutes((7, 58), (9, 41), 60, &[((8, 12), 900), ((8, 13), 400), ((8, 14), 150)]),
                errors_per_minute: vec![(at(8, 12, 0) / 1_000_000_000, 30), (at(8, 14, 0) / 1_000_000_000, 80)],
            },
            Activity {
                host: "node1".into(),
                source: r.into(),
                per_minute: minutes((9, 2), (9, 32), 1, &[]),
                errors_per_minute: minutes((9, 2), (9, 32), 1, &[]),
            },
            Activity {
                host: "runner-7".into(),
                source: tr.into(),
                per_minute: minutes((9, 2), (9, 31), 12, &[((9, 5), 30)]),
                errors_per_minute: vec![(at(9, 31, 0) / 1_000_000_000, 2)],
            },
        ],
        marks: vec![
            SignalMark { rule: "systemd-unit-restart".into(), time: at(8, 12, 4), host: "node1".into(), source: String::new(), incident: Some("I1".into()) },
            SignalMark { rule: "ssh-disconnect".into(), time: at(8, 12, 5), host: "thinkpad".into(), source: String::new(), incident: Some("I1".into()) },
            SignalMark { rule: "kernel-oom-kill".into(), time: at(8, 40, 0), host: "node1".into(), source: String::new(), incident: Some("I2".into()) },
            SignalMark { rule: "runner-forbidden".into(), time: at(9, 2, 10), host: "node1".into(), source: String::new(), incident: Some("I3".into()) },
            SignalMark { rule: "attic-unauthorized".into(), time: at(9, 5, 0), host: "runner-7".into(), source: String::new(), incident: Some("I4".into()) },
            SignalMark { rule: "disk-pressure".into(), time: at(8, 55, 0), host: "node1".into(), source: String::new(), incident: None },
        ],
        timings: Timings::default(),
    }
}

/// Compares `got` with the golden file `name`, or rewrites it under `GAPLOG_BLESS=1`.
fn golden(name: &str, got: &str) {
    let p = fixtures().join(name);
    if std::env::var_os("GAPLOG_BLESS").is_some() {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e} (run with GAPLOG_BLESS=1 to create)", p.display()));
    assert!(
        want == got,
        "{} is stale; rerun with GAPLOG_BLESS=1 and review the diff\n--- got ---\n{got}",
        p.display()
    );
}

fn render(name: &str, a: &Analysis, o: &RenderOptions) -> String {
    (report::renderer(name).unwrap().render)(a, o)
}

#[test]
fn golden_markdown() {
    let o = RenderOptions {
        timeline_link: Some("timeline.svg".into()),
        ..Default::default()
    };
    golden("handmade/report.md", &render("md", &handmade(), &o));
}

#[test]
fn golden_markdown_front_matter() {
    for (fm, name) in [
        (FrontMatter::Hugo, "hugo"),
        (FrontMatter::Zola, "zola"),
        (FrontMatter::Jekyll, "jekyll"),
    ] {
        let o = RenderOptions {
            front_matter: Some(fm),
            ..Default::default()
        };
        let md = render("md", &handmade(), &o);
        // Only the front matter differs between engines: pin it, not the whole body again.
        let head: String = md.split_inclusive('\n').take(6).collect();
        golden(&format!("front-matter/{name}.md"), &head);
    }
}

#[test]
fn golden_json() {
    golden(
        "handmade/report.json",
        &render("json", &handmade(), &RenderOptions::default()),
    );
}

#[test]
fn golden_junit() {
    golden(
        "handmade/junit.xml",
        &render("junit", &handmade(), &RenderOptions::default()),
    );
}

#[test]
fn golden_svg() {
    golden(
        "handmade/timeline.svg",
        &render("svg", &handmade(), &RenderOptions::default()),
    );
}

#[test]
fn golden_table() {
    golden(
        "handmade/table.txt",
        &render("table", &handmade(), &RenderOptions::default()),
    );
}

#[test]
fn golden_empty_analysis() {
    let a = Analysis {
        schema: SCHEMA,
        generator: "gaplog 0.0.0-test".into(),
        ..Default::default()
    };
    let o = RenderOptions::default();
    golden("empty/report.md", &render("md", &a, &o));
    golden("empty/junit.xml", &render("junit", &a, &o));
    golden("empty/timeline.svg", &render("svg", &a, &o));
    golden("empty/table.txt", &render("table", &a, &o));
}

#[test]
fn table_has_colour_only_when_asked() {
    let a = handmade();
    let plain = render("table", &a, &RenderOptions::default());
    assert!(!plain.contains('\u{1b}'));
    let coloured = render(
        "table",
        &a,
        &RenderOptions {
            color: true,
            ..Default::default()
        },
    );
    assert!(coloured.contains("\u{1b}["), "{coloured}");
    // Colour never leaks into another renderer, whatever the option says.
    for name in ["md", "json", "junit", "svg"] {
        let s = render(
            name,
            &a,
            &RenderOptions {
                color: true,
                ..Default::default()
            },
        );
        assert!(!s.contains('\u{1b}'), "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// JSON schema: a small validator for the subset of JSON Schema 2020-12 that
// docs/report-schema.json uses (type, const, enum, pattern, minimum, required, properties,
// additionalProperties: false, items, $ref to #/$defs/…). Unknown keywords fail loudly, so
// the schema cannot silently use something this validator ignores.

use serde_json::Value;

fn schema() -> Value {
    let p = Path::new(ROOT).join("docs/report-schema.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/$defs/").expect("only local $defs refs");
            resolve(root, &root["$defs"][name])
        }
        None => s,
    }
}

fn type_ok(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_u64() || v.is_i64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        other => panic!("unknown type {other}"),
    }
}

/// Validates `v` against `s`; errors name the JSON path.
fn validate(root: &Value, s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let s = resolve(root, s);
    for k in s.as_object().unwrap().keys() {
        assert!(
            [
                "type",
                "const",
                "enum",
                "pattern",
                "minimum",
                "required",
                "properties",
                "additionalProperties",
                "items",
                "format",
                "description",
                "title",
                "$schema",
                "$id",
                "$defs"
            ]
            .contains(&k.as_str()),
            "validator does not know keyword {k}"
        );
    }
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(v, t),
            Value::Array(ts) => ts.iter().any(|t| type_ok(v, t.as_str().unwrap())),
            _ => panic!("bad type"),
        };
        if !ok {
            errs.push(format!("{path}: expected type {t}, got {v}"));
            return;
        }
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        errs.push(format!("{path}: expected {c}, got {v}"));
    }
    if let Some(e) = s.get("enum")
        && !e.as_array().unwrap().contains(v)
    {
        errs.push(format!("{path}: {v} is not one of {e}"));
    }
    if let (Some(p), Some(text)) = (s.get("pattern").and_then(Value::as_str), v.as_str())
        && !regex::Regex::new(p).unwrap().is_match(text)
    {
        errs.push(format!("{path}: {text:?} does not match {p}"));
    }
    if let (Some(m), Some(n)) = (s.get("minimum").and_then(Value::as_i64), v.as_i64())
        && n < m
    {
        errs.push(format!("{path}: {n} is below {m}"));
    }
    if let Some(o) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(req) = s.get("required").and_then(Value::as_array) {
            for r in req {
                if !o.contains_key(r.as_str().unwrap()) {
                    errs.push(format!("{path}: missing {r}"));
                }
            }
        }
        for (k, val) in o {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(root, ps, val, &format!("{path}.{k}"), errs),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errs.push(format!("{path}: unexpected key {k}"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(a)) = (s.get("items"), v.as_array()) {
        for (i, x) in a.iter().enumerate() {
            validate(root, items, x, &format!("{path}[{i}]"), errs);
        }
    }
}

/// Validation errors of a JSON report against docs/report-schema.json.
pub fn schema_errors(json: &str) -> Vec<String> {
    let root = schema();
    let v: Value = serde_json::from_str(json).expect("report is JSON");
    let mut errs = Vec::new();
    validate(&root, &root, &v, "$", &mut errs);
    errs
}

#[test]
fn json_report_matches_the_schema() {
    let json = report::json(&handmade());
    assert_eq!(schema_errors(&json), Vec::<String>::new());
    let empty = Analysis {
        schema: SCHEMA,
        generator: "gaplog 0.0.0-test".into(),
        ..Default::default()
    };
    assert_eq!(schema_errors(&report::json(&empty)), Vec::<String>::new());
}

#[test]
fn schema_validator_rejects_broken_reports() {
    let mut v: Value = serde_json::from_str(&report::json(&handmade())).unwrap();
    v["incidents"][0]["verdict"] = "maybe".into();
    v["incidents"][1].as_object_mut().unwrap().remove("gap");
    v["sources"][0]["lines"] = (-1).into();
    v["stats"]["start"] = "2026-03-25 07:58:00".into();
    v["fix_order"][0]["extra"] = true.into();
    v["schema"] = "gaplog/report/v0".into();
    assert_eq!(
        schema_errors(&v.to_string()),
        [
            "$.fix_order[0]: unexpected key extra",
            "$.incidents[0].verdict: \"maybe\" is not one of [\"failure\",\"expected\"]",
            "$.incidents[1]: missing \"gap\"",
            "$.schema: expected \"gaplog/report/v1\", got \"gaplog/report/v0\"",
            "$.sources[0].lines: -1 is below 0",
            "$.stats.start: \"2026-03-25 07:58:00\" does not match ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
        ]
    );
}

/// Every field path of the schema (`incidents[].evidence[].rule`), in schema order.
fn field_paths(root: &Value, s: &Value, prefix: &str, out: &mut Vec<String>) {
    let s = resolve(root, s);
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (k, ps) in props {
            let p = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push(p.clone());
            field_paths(root, ps, &p, out);
        }
    }
    if let Some(items) = s.get("items") {
        field_paths(root, items, &format!("{prefix}[]"), out);
    }
}

#[test]
fn schema_doc_names_every_field() {
    let root = schema();
    let mut paths = Vec::new();
    field_paths(&root, &root, "", &mut paths);
    assert!(paths.len() > 50, "{paths:?}");
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/report-schema.md")).unwrap();
    let missing: Vec<_> = paths
        .iter()
        .filter(|p| !doc.contains(&format!("`{p}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/report-schema.md does not document {missing:?}"
    );
    // The example in the doc is a valid report too.
    let example = doc
        .split("```json\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .expect("an example block");
    assert_eq!(schema_errors(example), Vec::<String>::new());
}

#[test]
fn json_keys_keep_the_documented_order() {
    // serde_json::Value sorts keys, so check the text: each object's keys appear in the
    // order of the schema's `required` list (an array keeps its order; every listed object
    // requires all its keys).
    let json = report::json(&handmade());
    let root = schema();
    let order = |def: &str| -> Vec<String> {
        let s = if def.is_empty() {
            &root
        } else {
            &root["$defs"][def]
        };
        s["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    };
    for (def, first_key) in [
        ("", "\"schema\""),
        ("incident", "\"id\": \"I1\""),
        ("stats", "\"sources\": 4"),
    ] {
        let at = json.find(first_key).unwrap();
        let mut pos = at;
        for k in order(def) {
            let needle = format!("\"{k}\":");
            let p = json[pos..]
                .find(&needle)
                .unwrap_or_else(|| panic!("{def}: {k} out of order"))
                + pos;
            pos = p;
        }
    }
}

// ---------------------------------------------------------------------------------------
// JUnit and SVG parse back.

use quick_xml::Reader;
use quick_xml::events::Event as X;

/// An element: name, attributes (unescaped), text inside (unescaped).
pub type Element = (String, Vec<(String, String)>, String);

/// Every element of `xml` in document order; panics when it is not well-formed.
pub fn xml_elements(xml: &str) -> Vec<Element> {
    let mut r = Reader::from_str(xml);
    let mut out: Vec<Element> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    loop {
        match r
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed: {e}"))
        {
            X::Start(e) => {
                out.push(element(&e));
                stack.push(out.len() - 1);
            }
            X::Empty(e) => out.push(element(&e)),
            X::End(_) => {
                stack.pop();
            }
            X::Text(t) => {
                if let Some(&i) = stack.last() {
                    out[i].2.push_str(&t.xml_content().unwrap());
                }
            }
            X::GeneralRef(g) => {
                if let Some(&i) = stack.last() {
                    let name = String::from_utf8(g.to_vec()).unwrap();
                    let c = match name.as_str() {
                        "amp" => "&".to_string(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        n => {
                            let code = n.strip_prefix('#').expect("char ref");
                            let c = code.strip_prefix('x').map_or_else(
                                || code.parse().unwrap(),
                                |h| u32::from_str_radix(h, 16).unwrap(),
                            );
                            char::from_u32(c).unwrap().to_string()
                        }
                    };
                    out[i].2.push_str(&c);
                }
            }
            X::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements");
    out
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Element {
    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.expect("well-formed attribute");
            (
                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                a.unescape_value().expect("valid escapes").into_owned(),
            )
        })
        .collect();
    (name, attrs, String::new())
}

fn attr<'a>(e: &'a Element, k: &str) -> &'a str {
    e.1.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {k} on {}", e.0))
}

#[test]
fn junit_parses_back_one_case_per_incident() {
    let a = handmade();
    let xml = render("junit", &a, &RenderOptions::default());
    let els = xml_elements(&xml);
    let suites = &els[0];
    assert_eq!(suites.0, "testsuites");
    assert_eq!(attr(suites, "tests"), "4");
    assert_eq!(attr(suites, "failures"), "3");
    let cases: Vec<_> = els.iter().filter(|e| e.0 == "testcase").collect();
    let names: Vec<&str> = cases.iter().map(|c| attr(c, "name")).collect();
    assert_eq!(
        names,
        [
            "I1: tailscaled restart cut the nix copy of nixos-rebuild",
            "I2: kubelet & etcd memory pressure: OOM killer <etcd>",
            "I3: gitlab-runner rejected: token with a trailing newline",
            "I4: atticd 401 on anonymous pull",
        ]
    );
    let failures: Vec<_> = els.iter().filter(|e| e.0 == "failure").collect();
    assert_eq!(failures.len(), 3);
    assert_eq!(attr(failures[1], "message"), a.incidents[1].root_cause);
    assert!(
        failures[0]
            .2
            .contains("node1/journal.export:49002 [nix-store-corrupt]"),
        "{}",
        failures[0].2
    );
    assert!(failures[0].2.contains("is not valid | FOREIGN KEY"));
    assert!(
        failures[2]
            .2
            .contains("$ tr -d '\\n' < token.age.plain | agenix")
    );
    let out: Vec<_> = els.iter().filter(|e| e.0 == "system-out").collect();
    assert_eq!(out.len(), 1);
    assert!(
        out[0]
            .2
            .starts_with("atticd 401 on anonymous pull (expected-vs-failure, expected)\n")
    );
}

#[test]
fn junit_survives_hostile_text() {
    let mut a = handmade();
    a.incidents[0].title = "]]> <![CDATA[ \u{1b}[31mred\u{1b}[0m & \"q\" \u{0}\u{7}".into();
    a.incidents[0].root_cause = "line1\nline2\ttab".into();
    let els = xml_elements(&render("junit", &a, &RenderOptions::default()));
    let case = els.iter().find(|e| e.0 == "testcase").unwrap();
    assert_eq!(
        attr(case, "name"),
        "I1: ]]> <![CDATA[ \u{fffd}[31mred\u{fffd}[0m & \"q\" \u{fffd}\u{fffd}"
    );
    let f = els.iter().find(|e| e.0 == "failure").unwrap();
    assert_eq!(attr(f, "message"), "line1\nline2\ttab");
}

#[test]
fn junit_without_incidents_still_reports_a_passed_case() {
    let els = xml_elements(&render(
        "junit",
        &Analysis::default(),
        &RenderOptions::default(),
    ));
    let cases: Vec<_> = els.iter().filter(|e| e.0 == "testcase").collect();
    assert_eq!(cases.len(), 1);
    assert_eq!(attr(cases[0], "name"), "no incidents found");
    assert!(!els.iter().any(|e| e.0 == "failure"));
}

#[test]
fn svg_is_well_formed_at_blog_width() {
    let mut a = handmade();
    a.activity[0].host = "host<&>\"'".into();
    let svg = render("svg", &a, &RenderOptions::default());
    let els = xml_elements(&svg);
    assert_eq!(els[0].0, "svg");
    assert_eq!(attr(&els[0], "width"), "800");
    // One band per incident, each titled with its id.
    let titles: Vec<&str> = els
        .iter()
        .filter(|e| e.0 == "title")
        .map(|e| e.2.as_str())
        .collect();
    for id in ["I1 ", "I2 ", "I3 ", "I4 "] {
        assert!(
            titles.iter().any(|t| t.starts_with(id)),
            "{id} in {titles:?}"
        );
    }
    // Every signal mark is drawn.
    assert_eq!(
        titles.iter().filter(|t| t.contains(" 2026-03-25T")).count(),
        a.marks.len()
    );
    let texts: Vec<&str> = els
        .iter()
        .filter(|e| e.0 == "text")
        .map(|e| e.2.as_str())
        .collect();
    assert!(texts.contains(&"host<&>\"'"), "{texts:?}");
    assert!(texts.contains(&"thinkpad (signals)"), "{texts:?}");
    // Every coordinate stays inside the picture.
    for e in &els {
        for (k, v) in &e.1 {
            if ["x", "x1", "x2"].contains(&k.as_str()) {
                let x: f64 = v.parse().unwrap();
                assert!((0.0..=800.0).contains(&x), "{k}={v} on {}", e.0);
            }
        }
    }
}

#[test]
fn svg_buckets_long_windows() {
    let mut a = handmade();
    // Three days of one event per minute: bars are merged (16 minutes each) so no lane has
    // more than one bar per two pixels of the 550-px plot.
    let start = at(0, 0, 0) / 1_000_000_000;
    a.incidents.clear();
    a.marks.clear();
    a.activity = vec![Activity {
        host: "node1".into(),
        source: "long.log".into(),
        per_minute: (0..3 * 1440).map(|k| (start + k * 60, 1)).collect(),
        errors_per_minute: vec![],
    }];
    let svg = render("svg", &a, &RenderOptions::default());
    let bars = svg.matches("fill=\"#5b7fa6\"/>").count();
    assert!(bars > 200 && bars <= 276, "{bars} bars");
    assert!(svg.contains("Events per 16 minutes"), "{}", &svg[..400]);
}

// ---------------------------------------------------------------------------------------
// The CLI: output selection, --out, exit codes, determinism, stable paths.

/// Runs gaplog in `tests/fixtures/reports` (so input paths are short and relative) with a
/// fixed environment: UTC, no colour.
fn gaplog(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(fixtures())
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .output()
        .expect("gaplog runs")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn cli_default_is_the_table() {
    let o = gaplog(&["analyze", "inputs"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("3 incidents (3 failures, 0 expected) in 3 sources, 9 lines, 7 events, 2026-03-25 08:12:03 to 09:02:10 UTC (50 min)\n"),
        "{out}"
    );
    assert!(
        out.contains("issue: inputs/thinkpad/notes.txt: format not recognised"),
        "{out}"
    );
    assert!(!out.contains('\u{1b}'), "no colour when piped");
}

#[test]
fn cli_each_format_on_stdout() {
    let json = gaplog(&["analyze", "inputs", "--format", "json"]);
    assert_eq!(json.status.code(), Some(0));
    assert_eq!(schema_errors(&stdout(&json)), Vec::<String>::new());
    assert!(!stdout(&json).contains('\u{1b}'));

    let md = gaplog(&["analyze", "inputs", "--format", "md"]);
    assert_eq!(md.status.code(), Some(0));
    assert!(
        stdout(&md).starts_with(
            "# Postmortem: Activation restarted tailscaled → Nix reports a store path as not valid\n"
        ),
        "{}",
        stdout(&md)
    );
    // On stdout the markdown has no picture beside it to link.
    assert!(!stdout(&md).contains("timeline.svg"));

    let junit = gaplog(&["analyze", "inputs", "--format", "junit"]);
    assert_eq!(junit.status.code(), Some(0));
    assert!(
        xml_elements(&stdout(&junit))
            .iter()
            .any(|e| e.0 == "testcase")
    );

    let svg = gaplog(&["analyze", "inputs", "--format", "svg"]);
    assert_eq!(svg.status.code(), Some(0));
    assert_eq!(xml_elements(&stdout(&svg))[0].0, "svg");
}

#[test]
fn cli_unknown_output_format_is_a_usage_error() {
    let o = gaplog(&["analyze", "inputs", "--format", "xml"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "gaplog: --format: unknown output format `xml` (expected table, md, json, junit, svg)\n"
    );
    assert!(o.stdout.is_empty(), "nothing is analysed on a usage error");
    let o = gaplog(&["analyze", "inputs", "--format", "jsno"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `json`?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn cli_format_with_equals_still_forces_an_input_format() {
    let o = gaplog(&[
        "analyze",
        "inputs",
        "--format",
        "notes.txt=syslog",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let notes = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == "inputs/thinkpad/notes.txt")
        .unwrap();
    assert_eq!(notes["format"], "syslog");
    let o = gaplog(&["analyze", "inputs", "--format", "notes.txt=sylsog"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `syslog`?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn cli_out_writes_every_report_and_prints_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/reports");
    let o = gaplog(&["analyze", "inputs", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("3 incidents"), "{}", stdout(&o));
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["junit.xml", "report.json", "report.md", "timeline.svg"]
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("](timeline.svg)"),
        "the markdown links the picture beside it"
    );
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert_eq!(schema_errors(&json), Vec::<String>::new());
    xml_elements(&std::fs::read_to_string(out.join("junit.xml")).unwrap());
    xml_elements(&std::fs::read_to_string(out.join("timeline.svg")).unwrap());
}

#[test]
fn cli_out_into_a_file_fails_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, "x").unwrap();
    let o = gaplog(&["analyze", "inputs", "--out", file.to_str().unwrap()]);
    // 2, not 1: 1 means only "--fail-on failure found a failure"
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(&format!(
            "gaplog: cannot write reports into {}: ",
            file.display()
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn cli_exit_codes() {
    // No input could be read: 2, after printing what was found.
    let o = gaplog(&["analyze", "does-not-exist.log"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).ends_with("gaplog: no input could be read\n"),
        "{}",
        stderr(&o)
    );
    // --fail-on failure with failures: 1, the report still written.
    let o = gaplog(&["analyze", "inputs", "--fail-on", "failure"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("3 incidents (3 failures"));
    // Without the flag the same analysis exits 0.
    let o = gaplog(&["analyze", "inputs"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // --fail-on failure when only expected findings exist (the quiet sample): 0.
    let quiet = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/quiet-2025-08-09");
    let o = gaplog(&["analyze", quiet.to_str().unwrap(), "--fail-on", "failure"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // Bad values are usage errors: 2.
    for bad in [
        &["analyze", "inputs", "--fail-on", "expected"][..],
        &["analyze", "inputs", "--front-matter", "wordpress"],
        &["analyze"],
    ] {
        let o = gaplog(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn fail_on_failure_decision() {
    // The CLI exits 1 exactly when this holds (the reasoning stages produce the incidents).
    let mut a = handmade();
    assert!(report::any_verdict(&a, Verdict::Failure));
    a.incidents.retain(|i| i.verdict == Verdict::Expected);
    assert!(!report::any_verdict(&a, Verdict::Failure));
    assert!(report::any_verdict(&a, Verdict::Expected));
}

#[test]
fn cli_front_matter() {
    let o = gaplog(&[
        "analyze",
        "inputs",
        "--format",
        "md",
        "--front-matter",
        "zola",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).starts_with(
            "+++\ntitle = \"Postmortem: Activation restarted tailscaled → Nix reports a store path as not valid\"\ndate = 2026-03-25T08:12:03Z\n+++\n"
        ),
        "{}",
        stdout(&o)
    );
}

#[test]
fn cli_help_documents_outputs_and_exit_codes() {
    let o = gaplog(&["analyze", "--help"]);
    let h = stdout(&o);
    for needle in [
        "--out <DIR>",
        "--fail-on <VERDICT>",
        "--front-matter <ENGINE>",
        "--no-redact",
        "Exit status:",
        "2  usage error",
    ] {
        assert!(h.contains(needle), "{needle} in\n{h}");
    }
}

fn read_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn cli_outputs_are_byte_identical_across_runs_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let runs = [("a", &["-j1"][..]), ("b", &[][..]), ("c", &["-j", "2"][..])];
    let mut results = Vec::new();
    for (name, extra) in runs {
        let out = dir.path().join(name);
        let mut args = vec!["analyze", "inputs", "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = gaplog(&args);
        assert_eq!(o.status.code(), Some(0));
        results.push((o.stdout, read_all(&out)));
    }
    assert_eq!(results[0].1.len(), 4);
    assert!(
        results.windows(2).all(|w| w[0] == w[1]),
        "outputs differ between runs"
    );
}

#[test]
fn cli_paths_are_kept_as_given() {
    let o = gaplog(&[
        "analyze",
        "inputs/thinkpad",
        "./inputs/node1/messages.log",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let paths: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        // A file is named as given; a file found in a folder by the folder's last component
        // and its path inside (ingest's rule), so reports do not depend on where they ran.
        [
            "thinkpad/messages.log",
            "thinkpad/notes.txt",
            "./inputs/node1/messages.log"
        ]
    );
    assert!(
        !stdout(&o).contains(ROOT),
        "no absolute path leaks into the report"
    );
}

// ---------------------------------------------------------------------------------------
// Golden reports of the samples: `reports/<sample>/` must be what `scripts/regen-reports`
// writes today, for every sample (a folder of `samples/` with a README.md).

/// The sample folders, sorted.
fn sample_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("samples"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("README.md").is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn golden_sample_reports_are_up_to_date() {
    let names = sample_names();
    assert!(names.len() >= 5, "samples: {names:?}");
    let tmp = tempfile::tempdir().unwrap();
    let mut stale = Vec::new();
    for name in names {
        let golden = Path::new(ROOT).join("reports").join(&name);
        let out = tmp.path().join(&name);
        // Exactly the command of scripts/regen-reports (and of the README, for the tale).
        let o = Command::new(BIN)
            .arg("analyze")
            .arg(format!("samples/{name}"))
            .arg("--out")
            .arg(&out)
            .current_dir(ROOT)
            .env("TZ", "UTC")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "{name}: {}",
            stderr(&o)
        );
        for file in ["report.md", "report.json", "junit.xml", "timeline.svg"] {
            let want = std::fs::read(golden.join(file)).unwrap_or_default();
            let got = std::fs::read(out.join(file)).unwrap();
            if want != got {
                stale.push(format!("reports/{name}/{file}"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing golden reports (run scripts/regen-reports, review git diff reports/): {stale:?}"
    );
}

#[test]
fn progress_callback_sees_every_input() {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<gaplog::ProgressUpdate>>> = Arc::default();
    let s = seen.clone();
    let opts = gaplog::Options {
        progress: gaplog::Progress(Some(Arc::new(move |u| s.lock().unwrap().push(u)))),
        ..Default::default()
    };
    gaplog::load(&[fixtures().join("inputs")], &opts).unwrap();
    let mut v = seen.lock().unwrap().clone();
    v.sort_by_key(|u| u.inputs_done);
    assert_eq!(
        v.iter().map(|u| u.inputs_done).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(v[0].bytes_done, 0, "the first update comes before any work");
    let last = v.last().unwrap();
    assert_eq!(last.inputs_total, 3);
    assert_eq!(last.bytes_total, 619 + 210 + 62, "the three files' sizes");
    assert!(v.iter().all(|u| u.bytes_total == last.bytes_total));
    assert_eq!(v.iter().map(|u| u.bytes_done).max(), Some(last.bytes_total));
}

#[test]
fn svg_keeps_the_busiest_lanes() {
    let mut a = handmade();
    let m = at(8, 0, 0) / 1_000_000_000;
    a.activity = (0..40u64)
        .map(|k| Activity {
            host: format!("h{k:02}"),
            source: format!("h{k:02}/journal.export"),
            per_minute: vec![(m, k + 1)],
            errors_per_minute: vec![],
        })
        .collect();
    let svg = render("svg", &a, &RenderOptions::default());
    let texts: Vec<String> = xml_elements(&svg)
        .into_iter()
        .filter(|e| e.0 == "text")
        .map(|e| e.2)
        .collect();
    assert!(texts.contains(&"(8 quieter lanes not shown)".to_string()));
    // The eight quietest hosts (h00..h07) are the ones left out; order stays by host.
    assert!(!texts.contains(&"h07".to_string()) && texts.contains(&"h08".to_string()));
    let hosts: Vec<&String> = texts
        .iter()
        .filter(|t| t.len() == 3 && t.starts_with('h'))
        .collect();
    assert_eq!(hosts.len(), 32);
    assert!(hosts.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn incidents_without_times_still_render() {
    let mut a = handmade();
    for i in &mut a.incidents {
        i.start = None;
        i.end = None;
        for e in &mut i.evidence {
            e.time = None;
        }
    }
    let o = RenderOptions::default();
    let md = render("md", &a, &o);
    assert!(md.contains("### I1 — tailscaled restart"));
    assert!(!md.contains("```mermaid"), "no chart without times");
    assert!(md.contains("| ? | node1 |"));
    let table = render("table", &a, &o);
    let row = table.lines().find(|l| l.contains(" I1 ")).unwrap();
    let cells: Vec<&str> = row.split('┆').map(str::trim).collect();
    assert_eq!(cells[3..5], ["?", "?"], "{row}");
    xml_elements(&render("svg", &a, &o));
    xml_elements(&render("junit", &a, &o));
}
