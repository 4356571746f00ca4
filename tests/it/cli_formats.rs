//! The built binary on `tests/fixtures/mixed/` (one file of every journal format, a dmesg
//! and a plain syslog): `gaplog formats --json` figures, and the timeline exports read back
//! (Parquet with polars, CSV, NDJSON).

use polars::prelude::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

fn gaplog(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_gaplog"))
        .args(args)
        .current_dir(fixtures())
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .output()
        .expect("run gaplog");
    assert!(
        out.status.success(),
        "gaplog {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn formats_json_figures_of_the_mixed_folder() {
    let out = gaplog(&["formats", "--json", "mixed"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = [
        "path",
        "format",
        "hosts",
        "lines",
        "events",
        "continuations",
        "unparsed",
        "first",
        "last",
        "clock",
        "issues",
    ];
    let got: Vec<Value> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            Value::Object(
                keys.iter()
                    .map(|k| (k.to_string(), s[*k].clone()))
                    .collect(),
            )
        })
        .collect();
    let none: [&str; 0] = [];
    let want = vec![
        // 23 entries and 5 boot markers on 30 lines: the OOM report's 5 kernel entries are
        // one event (4 continuation), the Nix error's 2 indented lines continue it.
        json!({"path": "mixed/all.short", "format": "journal-text", "hosts": ["cache1", "runner1"],
               "lines": 30, "events": 18, "continuations": 7, "unparsed": 0,
               "first": "2025-12-31T23:58:04.000000Z", "last": "2026-03-29T01:00:40.000000Z",
               "clock": "exact 3, inferred-year 15; year 2025 (from other sources' dates), zone +00:00 inferred from 9 lines with an exact time (set --tz to override)",
               "issues": none}),
        // 37 lines: 8 records, the OOM report's 29 other lines (12 stamped report lines
        // interleave with 3 unrelated ones that stay events)
        json!({"path": "mixed/cache1.dmesg", "format": "kernel", "hosts": ["cache1"],
               "lines": 37, "events": 8, "continuations": 29, "unparsed": 0,
               "first": "2025-12-31T23:58:00.000500Z", "last": "2026-01-01T00:00:10.000500Z",
               "clock": "aligned-monotonic; boot start from 2 kernel lines also in the journal of cache1 (spread 0 ms)",
               "issues": none}),
        // cache1's 20 entries, OOM regrouped: 16 events; every other line is continuation
        json!({"path": "mixed/cache1.export", "format": "journal-export", "hosts": ["cache1"],
               "lines": 284, "events": 15, "continuations": 269, "unparsed": 0,
               "first": "2025-12-31T23:58:04.000000Z", "last": "2026-03-29T01:00:31.000000Z",
               "clock": "exact", "issues": none}),
        json!({"path": "mixed/legacy.syslog", "format": "syslog", "hosts": ["gateway"],
               "lines": 4, "events": 4, "continuations": 0, "unparsed": 0,
               "first": "2026-03-29T00:58:00.000000Z", "last": "2026-03-29T01:00:35.000000Z",
               "clock": "inferred-year; year 2026 (from other sources' dates), zone UTC assumed (no zone in the lines; set --tz)",
               "issues": none}),
        json!({"path": "mixed/runner1.json", "format": "journal-json", "hosts": ["runner1"],
               "lines": 3, "events": 3, "continuations": 0, "unparsed": 0,
               "first": "2026-03-29T00:30:03.000000Z", "last": "2026-03-29T01:00:40.000000Z",
               "clock": "exact", "issues": none}),
    ];
    assert_eq!(got, want);
}

/// Rows the timeline keeps: 48 events (atticd span traces fold into their errors), less the 17 lines that two sources hold (atticd lines now match to the µs through their own stamps) (the
/// journal's text rendering duplicates its export at whole seconds; the dmesg shares its
/// first line, link-up and OOM report with the export).
fn kept_rows() -> usize {
    let tl = gaplog::load(&[fixtures().join("mixed")], &gaplog::Options::default())
        .unwrap()
        .0;
    let events: usize = tl.sources.iter().map(|s| s.events.len()).sum();
    assert_eq!(events, 48);
    assert_eq!(tl.duplicates, 17);
    tl.order.len()
}

#[test]
fn timeline_exports_read_back() {
    let rows = kept_rows();
    assert_eq!(rows, 31);
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("t.parquet");
    gaplog(&[
        "timeline",
        "mixed",
        "--export",
        "parquet",
        "-o",
        pq.to_str().unwrap(),
    ]);
    let df = ParquetReader::new(std::fs::File::open(&pq).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), rows);
    assert_eq!(
        df.column("time").unwrap().dtype(),
        &DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC))
    );
    // the exact copy of a line in two sources is the one kept
    let src = df.column("source").unwrap().str().unwrap().clone();
    let msg = df.column("message").unwrap().str().unwrap().clone();
    let started: Vec<&str> = (0..df.height())
        .filter(|&i| msg.get(i).unwrap().starts_with("Started atticd.service"))
        .map(|i| src.get(i).unwrap())
        .collect();
    assert_eq!(started, ["mixed/cache1.export", "mixed/cache1.export"]);

    let csv = dir.path().join("t.csv");
    gaplog(&[
        "timeline",
        "mixed",
        "--export",
        "csv",
        "-o",
        csv.to_str().unwrap(),
    ]);
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(csv.clone()))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(df.height(), rows);

    let out = gaplog(&["timeline", "mixed", "--export", "ndjson"]);
    let lines: Vec<Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), rows);
    assert!(lines.iter().all(|l| l["time"].is_string()));
}

/// Every bundled sample: each file detected, nothing unparsed, no issue, and the clocks of
/// one outage agree (every timed file of a sample within one window of 36 hours, each file's
/// span inside it), hosts named by every format whose lines carry one.
#[test]
fn every_sample_file_is_detected_parsed_and_aligned() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut names: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("README.md").is_file())
        .collect();
    names.sort();
    assert!(names.len() >= 5);
    for sample in names {
        let out = gaplog(&["formats", "--json", sample.to_str().unwrap()]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let sources = v["sources"].as_array().unwrap();
        assert!(sources.len() >= 2, "{}", sample.display());
        let mut lo = i64::MAX;
        let mut hi = i64::MIN;
        for s in sources {
            let path = s["path"].as_str().unwrap();
            assert_ne!(s["format"], "unknown", "{path}");
            assert_eq!(s["unparsed"], 0, "{path}: {s}");
            assert_eq!(s["issues"], json!([]), "{path}");
            // Formats whose lines name their host must yield one.
            if s["format"].as_str().unwrap().starts_with("journal") || s["format"] == "syslog" {
                assert!(
                    !s["hosts"].as_array().unwrap().is_empty(),
                    "{path}: no host"
                );
            }
            let t = |k: &str| {
                s[k].as_str().map(|x| {
                    gaplog::time::parse_rfc3339(x.as_bytes())
                        .unwrap_or_else(|| panic!("{path}: {k} {x}"))
                        .0
                })
            };
            if let (Some(a), Some(b)) = (t("first"), t("last")) {
                assert!(a <= b, "{path}");
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        let hours = (hi - lo) / 3_600_000_000_000;
        assert!(
            hours <= 36,
            "{}: files span {hours} h: a clock is misaligned",
            sample.display()
        );
    }
}

/// `gaplog timeline` without `--export` prints one line per kept event, in time order,
/// `TIME HOST UNIT[PID]: MESSAGE  (SOURCE:LINE)`, further lines of a record indented.
#[test]
fn timeline_text_is_one_line_per_event_in_time_order() {
    let rows = kept_rows();
    let out = gaplog(&["timeline", "mixed"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let heads: Vec<&str> = text.lines().filter(|l| !l.starts_with("    ")).collect();
    assert_eq!(heads.len(), rows);
    let times: Vec<&str> = heads.iter().map(|l| l.split(' ').next().unwrap()).collect();
    let timed: Vec<&&str> = times.iter().filter(|t| **t != "-").collect();
    assert!(timed.windows(2).all(|w| w[0] <= w[1]), "not in time order");
    assert!(
        heads
            .iter()
            .all(|l| l.ends_with(')') && l.contains("  (mixed/")),
        "{text}"
    );
    assert!(
        heads
            .iter()
            .any(|l| l.contains(" cache1 kernel: ") && l.contains("(mixed/cache1.export:")),
        "{text}"
    );
}

/// The timeline, in every export format, is redacted unless `--no-redact`.
#[test]
fn timeline_exports_are_redacted_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("secrets.log");
    std::fs::write(
        &log,
        "Mar 25 10:00:00 node1 runner[7]: token glpat-Xq7vR2mK9pL4sT8wZ1yB used\n",
    )
    .unwrap();
    for export in ["text", "csv", "ndjson"] {
        let out = gaplog(&["timeline", "--export", export, log.to_str().unwrap()]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains("Xq7vR2mK9pL4sT8wZ1yB"), "{export}: {text}");
        assert!(text.contains("<redacted:"), "{export}: {text}");
        let raw = gaplog(&[
            "timeline",
            "--no-redact",
            "--export",
            export,
            log.to_str().unwrap(),
        ]);
        assert!(
            String::from_utf8(raw.stdout)
                .unwrap()
                .contains("Xq7vR2mK9pL4sT8wZ1yB")
        );
    }
}

/// `gaplog templates` mines every line as it is, most frequent template first, with an
/// example location; `--json` gives the same as data.
#[test]
fn templates_mine_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.txt");
    std::fs::write(
        &f,
        "worker 1 started in 12 ms\nworker 2 started in 15 ms\nworker 3 started in 9 ms\ncache miss for key abc\n",
    )
    .unwrap();
    let out = gaplog(&["templates", f.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "2 templates from 4 lines (most frequent first)");
    assert!(
        lines[1].starts_with("        3  worker <num> started in <num> ms  ("),
        "{text}"
    );
    assert!(lines[1].ends_with("m.txt:1)"), "{text}");
    let out = gaplog(&["templates", "--json", "-j1", f.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["lines"], 4);
    assert_eq!(v["templates"][1]["count"], 1);
    assert_eq!(v["templates"][1]["example"]["line"], 4);
}

#[test]
fn timings_show_each_stage_with_memory_and_the_text_kept() {
    let out = gaplog(&["analyze", "--format", "json", "--timings", "mixed"]);
    let err = String::from_utf8(out.stderr).unwrap();
    for stage in [
        "read",
        "parse",
        "clock",
        "timeline",
        "signals",
        "unexplained",
    ] {
        let line = err
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{stage}:")))
            .unwrap_or_else(|| panic!("no {stage} line in\n{err}"));
        assert!(
            line.contains(" ms  rss ") && line.contains(" MiB  peak "),
            "{line}"
        );
    }
    // The input's size is the files' (none is compressed); less text than that is kept.
    let input: u64 = std::fs::read_dir(fixtures().join("mixed"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let kept = err
        .lines()
        .find(|l| l.trim_start().starts_with("text kept:"))
        .unwrap_or_else(|| panic!("no text kept line in\n{err}"));
    assert!(input < 1_000_000, "the fixture folder grew: {input} bytes");
    let want = format!("kB of {:.1} kB input", input as f64 / 1e3);
    assert!(kept.contains(&want), "{kept} (want {want})");
    let pct: f64 = kept
        .rsplit('(')
        .next()
        .and_then(|p| p.trim_end_matches(" %)").parse().ok())
        .unwrap_or_else(|| panic!("{kept}"));
    assert!(pct > 0.0 && pct < 100.0, "{kept}");
}
