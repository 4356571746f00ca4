//! Application formats (atticd, GitLab job traces, gitlab-runner, Nix transcripts) on the
//! fixtures under `tests/fixtures/{atticd,gitlab,runner,nix}`: every fixture is sniffed as
//! the format its folder names, every line is accounted for, `gaplog formats --json` agrees,
//! and the fields the later stages rely on are extracted.

use crate::support::{at_line, field, fixtures, load, msg};
use gaplog::event::{ClockMethod, Severity};
use gaplog::formats::{self, Format};
use gaplog::ingest::{self, IngestOptions, Source};
use std::path::PathBuf;

const DIRS: &[(&str, &str)] = &[
    ("atticd", "atticd"),
    ("gitlab", "gitlab-trace"),
    ("runner", "gitlab-runner"),
    ("nix", "nix"),
];

#[test]
fn every_fixture_is_sniffed_right_and_accounts_for_every_line() {
    let mut n = 0;
    for (dir, want) in DIRS {
        for f in ingest::discover(&[fixtures().join(dir)]) {
            let src = ingest::read(0, &f, &IngestOptions::default());
            let p = formats::parse_source(&src, None);
            let got = p.format.map_or("unknown", formats::name_of);
            assert_eq!(got, *want, "{}", f.display);
            assert_eq!(p.counts.total(), src.lines, "{}: {:?}", f.display, p.counts);
            assert_eq!(
                p.counts.unparsed, 0,
                "{}: {:?}",
                f.display, p.unparsed_examples
            );
            assert!(p.issues.is_empty(), "{}: {:?}", f.display, p.issues);
            assert!(!p.events.is_empty(), "{}", f.display);
            for ev in &p.events {
                assert!(
                    !ev.message.bytes(&src.bytes).contains(&0x1b),
                    "{}:{} keeps ANSI",
                    f.display,
                    ev.line
                );
            }
            n += 1;
        }
    }
    assert!(n >= 17, "only {n} fixtures found");
}

#[test]
fn cli_formats_json_names_each_fixture() {
    let dirs: Vec<PathBuf> = DIRS.iter().map(|(d, _)| fixtures().join(d)).collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gaplog"))
        .arg("formats")
        .arg("--json")
        .args(&dirs)
        .output()
        .expect("run gaplog");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let sources = v["sources"].as_array().expect("sources");
    assert!(sources.len() >= 17, "{}", sources.len());
    for s in sources {
        let path = s["path"].as_str().unwrap();
        let want = DIRS
            .iter()
            .find(|(d, _)| path.contains(&format!("{d}/")))
            .map(|(_, f)| *f)
            .unwrap_or_else(|| panic!("unexpected source {path}"));
        assert_eq!(s["format"], want, "{path}");
        assert_eq!(s["unparsed"], 0, "{path}");
    }
}

#[test]
fn atticd_ansi_error_keeps_span_trace_and_startup_lines_are_undated() {
    let (src, p) = load("atticd/ansi-ERROR-only-span-trace.log");
    let listen = at_line(&p, 4);
    assert_eq!(listen.clock, ClockMethod::Missing);
    assert_eq!(
        field(&src, &p, listen, "listen").as_deref(),
        Some("[::]:8083")
    );
    let e = at_line(&p, 5);
    assert_eq!(
        (e.severity, e.clock, e.end_line),
        (Severity::Err, ClockMethod::Exact, 10)
    );
    assert_eq!(gaplog::time::rfc3339(e.time), "2025-11-02T07:41:09.508112Z");
    let m = msg(&src, e);
    assert!(m.starts_with("Storage error: dispatch failure: other: identity resolver timed out after 5s\n   0: attic_server::api::v1::upload_path::upload_path"), "{m}");
    assert_eq!(
        field(&src, &p, e, "target").as_deref(),
        Some("attic_server::error")
    );
    let f = at_line(&p, 11);
    assert_eq!(
        field(&src, &p, f, "classification").as_deref(),
        Some("Status code: 500 Internal Server Error")
    );
    assert_eq!(field(&src, &p, f, "latency").as_deref(), Some("5004 ms"));
    let w = at_line(&p, 12);
    assert_eq!(w.severity, Severity::Warning);
    assert_eq!(
        field(&src, &p, w, "spans").as_deref(),
        Some("request{method=PUT uri=/_api/v1/upload-path}:upload_path")
    );
    assert_eq!(msg(&src, w), "Error occurred - Cleaning up NAR entry");
    assert_eq!(at_line(&p, 14).end_line, 16);
    assert_eq!(p.events.len(), 8);
}

#[test]
fn atticd_plain_error_caused_by_block_and_spans_without_colour() {
    let (src, p) = load("atticd/no-color-startup-error-caused-by.log");
    let e = at_line(&p, 3);
    assert_eq!((e.severity, e.end_line), (Severity::Err, 7));
    assert!(msg(&src, e).contains("\nCaused by:\n    0: error communicating"));
    assert_eq!(
        field(&src, &p, at_line(&p, 11), "listen").as_deref(),
        Some("0.0.0.0:8083")
    );
    let db = at_line(&p, 13);
    assert_eq!(db.end_line, 18);
    let tower = at_line(&p, 19);
    assert_eq!(
        field(&src, &p, tower, "target").as_deref(),
        Some("tower_http::trace::on_failure")
    );
    assert!(
        field(&src, &p, tower, "spans")
            .unwrap()
            .starts_with("request{method=GET")
    );
    let stream = at_line(&p, 20);
    assert_eq!(
        field(&src, &p, stream, "e").as_deref(),
        Some("Storage error: dispatch failure: io error: connection reset")
    );
    // Spans of a plain file stay spans into the source (no copy).
    assert!(matches!(stream.message, gaplog::event::Text::Span { .. }));
    assert_eq!(at_line(&p, 23).clock, ClockMethod::Missing);
}

#[test]
fn raw_trace_events_carry_executor_job_section_and_fold_nix_errors() {
    let (src, p) = load("gitlab/raw-docker-ansi-sections-progress.log");
    for ev in &p.events {
        assert_eq!(
            field(&src, &p, ev, "executor").as_deref(),
            Some("docker"),
            "line {}",
            ev.line
        );
        assert_eq!(field(&src, &p, ev, "job").as_deref(), Some("88412"));
        assert_eq!(p.atoms.get(ev.unit), "job");
    }
    let on = at_line(&p, 2);
    assert_eq!(
        field(&src, &p, on, "runner_name").as_deref(),
        Some("node1-docker")
    );
    assert_eq!(
        field(&src, &p, on, "runner_token").as_deref(),
        Some("t9Wkyj-HG")
    );
    assert_eq!(
        field(&src, &p, at_line(&p, 1), "runner_version").as_deref(),
        Some("17.11.0")
    );
    let prep = at_line(&p, 3);
    assert_eq!(prep.clock, ClockMethod::Exact);
    assert_eq!(
        gaplog::time::rfc3339(prep.time),
        "2026-03-25T10:00:00.000000Z"
    );
    assert_eq!(msg(&src, prep), "Preparing the \"docker\" executor");
    assert_eq!(at_line(&p, 7).clock, ClockMethod::Missing);
    assert_eq!(
        msg(&src, at_line(&p, 10)),
        "Receiving objects: 100% (30/30), done."
    );
    let build = at_line(&p, 16);
    assert_eq!(
        field(&src, &p, build, "command").as_deref(),
        Some("nix build .#site --print-build-logs")
    );
    assert_eq!(
        field(&src, &p, build, "section").as_deref(),
        Some("step_script")
    );
    let retry = at_line(&p, 17);
    assert_eq!(retry.severity, Severity::Warning);
    assert_eq!(
        field(&src, &p, retry, "url").as_deref(),
        Some("http://127.0.0.1:8083/blog-cache/nix-cache-info")
    );
    let err = at_line(&p, 20);
    assert_eq!((err.severity, err.end_line), (Severity::Err, 24));
    assert!(msg(&src, err).ends_with(
        "For full logs, run 'nix log /nix/store/xv0k3cq1q6bq8b4y0m5w2r8nq6a1d9zz-site-1.0.drv'."
    ));
    // The section_end of step_script is on line 25 (with the next section's start).
    assert_eq!(
        field(&src, &p, at_line(&p, 25), "duration_s").as_deref(),
        Some("62")
    );
    assert!(matches!(
        p.fields.get(at_line(&p, 25).fields)[1].1,
        gaplog::event::Text::Span { .. }
    ));
    let end = p.events.last().unwrap();
    assert_eq!(field(&src, &p, end, "status").as_deref(), Some("failed"));
    assert_eq!(field(&src, &p, end, "exit_code").as_deref(), Some("1"));
    assert_eq!(end.severity, Severity::Err);
}

#[test]
fn raw_trace_job_facts() {
    let (src, _) = load("gitlab/raw-docker-ansi-sections-progress.log");
    let f = formats::gitlab_trace::job_facts(&src);
    assert_eq!(f.job_id, Some(88412));
    assert_eq!(f.runner_version.as_deref(), Some("17.11.0"));
    assert_eq!(f.runner_name.as_deref(), Some("node1-docker"));
    assert_eq!(f.runner_token.as_deref(), Some("t9Wkyj-HG"));
    assert_eq!(f.executor.as_deref(), Some("docker"));
    assert_eq!(f.image.as_deref(), Some("nixos/nix:2.24.9"));
    let names: Vec<(&str, Option<u64>)> = f
        .sections
        .iter()
        .map(|s| (s.name.as_str(), s.duration_s))
        .collect();
    assert_eq!(
        names,
        vec![
            ("prepare_executor", Some(6)),
            ("prepare_script", Some(1)),
            ("get_sources", Some(2)),
            ("step_script", Some(62)),
            ("upload_artifacts_on_failure", Some(2)),
            ("cleanup_file_variables", Some(1)),
        ]
    );
    assert_eq!(f.commands.len(), 2);
    assert_eq!(f.status, Some(formats::gitlab_trace::JobStatus::Failed));
    assert_eq!(f.exit_code, Some(1));
    assert_eq!(f.warnings.len(), 1);
    assert!(!f.web_copy);
}

#[test]
fn cr_only_trace_takes_the_job_id_from_the_file_name() {
    let (src, p) = load("gitlab/cr-only/job-4471.log");
    assert_eq!(src.lines, 15);
    let f = formats::gitlab_trace::job_facts(&src);
    assert_eq!(f.job_id, Some(4471));
    assert_eq!(f.executor.as_deref(), Some("shell"));
    assert_eq!(f.runner_version.as_deref(), Some("13.12.0"));
    assert_eq!(f.runner_name.as_deref(), Some("build-host"));
    assert_eq!(f.status, Some(formats::gitlab_trace::JobStatus::Succeeded));
    assert_eq!(f.sections[1].duration_s, Some(61));
    let fail = at_line(&p, 11);
    assert_eq!(fail.severity, Severity::Err);
    assert_eq!(
        field(&src, &p, fail, "store_path").as_deref(),
        Some("3kflp5w1s1jl5qkb6hjxj0wp46zic9si-lowdown-1.3.2-lib")
    );
    assert_eq!(field(&src, &p, fail, "program").as_deref(), Some("attic"));
    assert_eq!(field(&src, &p, fail, "job").as_deref(), Some("4471"));
    assert_eq!(
        field(&src, &p, at_line(&p, 10), "cache").as_deref(),
        Some("dev-cache")
    );
}

#[test]
fn timestamped_trace_has_exact_microsecond_times() {
    let (src, p) = load("gitlab/timestamped-kubernetes-system-failure.log");
    for ev in &p.events {
        assert_eq!(ev.clock, ClockMethod::Exact, "line {}", ev.line);
        assert_eq!(
            field(&src, &p, ev, "executor").as_deref(),
            Some("kubernetes")
        );
    }
    assert_eq!(
        gaplog::time::rfc3339(at_line(&p, 2).time),
        "2026-03-25T11:02:00.100050Z"
    );
    assert_eq!(
        field(&src, &p, at_line(&p, 5), "image").as_deref(),
        Some("alpine:3.20")
    );
    assert!(msg(&src, at_line(&p, 7)).ends_with("status is Pending (still)"));
    let f = formats::gitlab_trace::job_facts(&src);
    assert_eq!(
        f.status,
        Some(formats::gitlab_trace::JobStatus::SystemFailure)
    );
    assert_eq!(
        f.failure.as_deref(),
        Some("prepare environment: waiting for pod running: timed out waiting for pod to start")
    );
    assert_eq!(f.sections[0].duration_s, Some(600));
    assert_eq!(f.job_id, None);
}

#[test]
fn web_copied_trace_with_line_numbers_and_durations() {
    let (src, p) = load("gitlab/web-copy-numbered-durations.txt");
    assert_eq!(p.events.len(), 12);
    let prep = at_line(&p, 3);
    assert_eq!(msg(&src, prep), "Preparing the \"docker+machine\" executor");
    assert_eq!(field(&src, &p, prep, "duration").as_deref(), Some("00:13"));
    assert_eq!(prep.end_line, 4);
    assert_eq!(
        msg(&src, at_line(&p, 2)),
        "  on shared-runner-3 x7Yz0aBc, system ID: s_0c2d4e6f8a1b"
    );
    let err = at_line(&p, 13);
    assert_eq!(err.severity, Severity::Err);
    assert_eq!(
        field(&src, &p, err, "store_path").as_deref(),
        Some("/nix/store/m5s1d2x3c4v5b6n7m8a9s0d1f2g3h4j5-tailscale-1.76.6")
    );
    let f = formats::gitlab_trace::job_facts(&src);
    assert!(f.web_copy);
    assert_eq!(f.executor.as_deref(), Some("docker+machine"));
    assert_eq!(
        f.image.as_deref(),
        Some("registry.example.org/ci/nix:latest")
    );
    assert_eq!(
        f.commands,
        vec!["nix copy --to ssh://deploy@node1 ./result".to_string()]
    );
    let d: Vec<u64> = f.sections.iter().filter_map(|s| s.duration_s).collect();
    assert_eq!(d, vec![13, 1, 62, 0]);
    assert_eq!(f.exit_code, Some(1));
}

#[test]
fn runner_format_with_ansi_padding_and_status() {
    let (src, p) = load("runner/runner-format-ansi-401.log");
    assert_eq!(p.events.len(), 9);
    let w = at_line(&p, 4);
    assert_eq!(
        (w.severity, w.clock),
        (Severity::Warning, ClockMethod::Missing)
    );
    assert_eq!(p.atoms.get(w.unit), "gitlab-runner");
    assert_eq!(
        field(&src, &p, w, "message").as_deref(),
        Some("Checking for jobs... failed")
    );
    assert_eq!(field(&src, &p, w, "runner").as_deref(), Some("t9Wkyj-HG"));
    assert_eq!(
        field(&src, &p, w, "runner_name").as_deref(),
        Some("node1-docker")
    );
    assert_eq!(field(&src, &p, w, "http_status").as_deref(), Some("401"));
    assert_eq!(
        field(&src, &p, w, "url").as_deref(),
        Some("https://gitlab.example.net/api/v4/jobs/request")
    );
    assert_eq!(at_line(&p, 5).severity, Severity::Err);
    let sub = at_line(&p, 8);
    assert_eq!(
        field(&src, &p, sub, "job_status").as_deref(),
        Some("failed")
    );
    assert_eq!(field(&src, &p, sub, "job").as_deref(), Some("88412"));
}

#[test]
fn runner_inside_compose_prefixes() {
    let (src, p) = load("runner/compose-prefix-runner-format.log");
    assert_eq!(
        field(&src, &p, at_line(&p, 3), "http_status").as_deref(),
        Some("502")
    );
    let t = at_line(&p, 4);
    assert!(
        field(&src, &p, t, "status")
            .unwrap()
            .starts_with("execute JSON request: Post")
    );
    assert_eq!(field(&src, &p, t, "http_status"), None);
    let stamped = at_line(&p, 5);
    assert_eq!(stamped.clock, ClockMethod::Exact);
    assert_eq!(
        gaplog::time::rfc3339(stamped.time),
        "2026-01-14T03:22:10.118273Z"
    );
    assert_eq!(stamped.severity, Severity::Err);
    assert_eq!(
        field(&src, &p, at_line(&p, 6), "job").as_deref(),
        Some("5512")
    );
}

#[test]
fn logrus_text_and_json() {
    let (src, p) = load("runner/logrus-text-rfc3339nano.log");
    let w = at_line(&p, 3);
    assert_eq!(gaplog::time::rfc3339(w.time), "2025-06-30T22:00:03.500000Z");
    assert_eq!(msg(&src, w), "Checking for jobs... failed");
    assert_eq!(field(&src, &p, w, "http_status").as_deref(), Some("500"));
    let e = at_line(&p, 4);
    assert_eq!(e.severity, Severity::Err);
    assert!(
        field(&src, &p, e, "status")
            .unwrap()
            .ends_with("403 Forbidden (token is invalid)")
    );
    assert_eq!(
        field(&src, &p, at_line(&p, 5), "error").as_deref(),
        Some("command terminated with exit code 137")
    );
    let (src, p) = load("runner/logrus-json.log.gz");
    let sf = at_line(&p, 4);
    assert_eq!(
        msg(&src, sf),
        "Job failed (system failure): prepare environment: Error response from daemon: \"no space left on device\""
    );
    assert_eq!(field(&src, &p, sf, "job").as_deref(), Some("4472"));
    let a = at_line(&p, 3);
    assert_eq!(a.severity, Severity::Warning);
    assert_eq!(field(&src, &p, a, "http_status").as_deref(), Some("403"));
}

#[test]
fn nixos_rebuild_transcript_units_and_ssh_drop() {
    let (src, p) = load("nix/nixos-rebuild-switch-ssh-drop.txt");
    let these = at_line(&p, 2);
    assert_eq!(these.end_line, 5);
    let warn = at_line(&p, 9);
    assert_eq!(warn.severity, Severity::Warning);
    assert_eq!(
        field(&src, &p, warn, "units").as_deref(),
        Some("minio.service")
    );
    let stop = at_line(&p, 10);
    assert_eq!(
        field(&src, &p, stop, "units").as_deref(),
        Some("nginx.service, tailscaled.service")
    );
    assert_eq!(p.atoms.get(stop.unit), "nixos-rebuild");
    let copy = at_line(&p, 8);
    assert_eq!(
        field(&src, &p, copy, "store_path").as_deref(),
        Some("/nix/store/0k9j8h7g6f5d4s3a2p1o0i9u8y7t6r5e-tailscale-1.80.2")
    );
    assert_eq!(
        field(&src, &p, copy, "url").as_deref(),
        Some("ssh://root@node1")
    );
    let drop = at_line(&p, 19);
    assert_eq!(
        (drop.severity, p.atoms.get(drop.unit)),
        (Severity::Err, "ssh")
    );
    assert_eq!(
        field(&src, &p, drop, "host").as_deref(),
        Some("100.101.7.12")
    );
    assert_eq!(at_line(&p, 18).severity, Severity::Err);
    assert_eq!(at_line(&p, 20).severity, Severity::Err);
    assert!(p.events.iter().all(|e| e.clock == ClockMethod::Missing));
}

#[test]
fn nix_error_block_with_indented_trace_and_doubled_quotes() {
    let (src, p) = load("nix/nix-copy-sqlite-fk-indented-trace.txt");
    let e = at_line(&p, 2);
    assert_eq!((e.severity, e.end_line), (Severity::Err, 7));
    assert_eq!(
        field(&src, &p, e, "store_path").as_deref(),
        Some("/nix/store/8d7f6g5h4j3k2l1z0x9c8v7b6n5m4q3w-blog-1.0")
    );
    assert_eq!(
        field(&src, &p, e, "sqlite_statement").as_deref(),
        Some("insert or replace into Refs (referrer, reference) values (?, ?)")
    );
    let curly = at_line(&p, 11);
    assert_eq!(
        field(&src, &p, curly, "store_path").as_deref(),
        Some("/nix/store/q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6-glibc-2.40-66")
    );
    assert_eq!(at_line(&p, 14).severity, Severity::Err);
    // Locale noise is kept as plain output, not an error.
    assert_eq!(at_line(&p, 20).severity, Severity::Unknown);
}

#[test]
fn attic_push_transcript_resolves_progress_redraws() {
    let (src, p) = load("nix/attic-push-progress-unauthorized.txt");
    assert_eq!(
        msg(&src, at_line(&p, 3)),
        "l0wd0wn0000000000000000000000000-lowdown-1.3.2-lib   [=========>----------] 310 KiB (1.2 MiB/s)"
    );
    let bad = at_line(&p, 4);
    assert_eq!(
        (bad.severity, p.atoms.get(bad.unit)),
        (Severity::Err, "attic")
    );
    assert!(
        field(&src, &p, bad, "error")
            .unwrap()
            .starts_with("InternalServerError")
    );
    let unauth = at_line(&p, 7);
    assert_eq!(
        field(&src, &p, unauth, "error").as_deref(),
        Some("Unauthorized: Unauthorized.")
    );
    let retry = at_line(&p, 9);
    assert_eq!(
        field(&src, &p, retry, "http_status").as_deref(),
        Some("401")
    );
    let e = at_line(&p, 10);
    assert_eq!(e.end_line, 14);
    assert!(
        msg(&src, e)
            .ends_with("{\"code\":401,\"error\":\"Unauthorized\",\"message\":\"Unauthorized.\"}")
    );
}

#[test]
fn ts_prefixed_transcript_has_no_year_times_and_blocks() {
    let (src, p) = load("nix/ts-prefixed-http-500-retries.txt.gz");
    let first = at_line(&p, 1);
    assert_eq!((first.clock, first.end_line), (ClockMethod::NoYear, 3));
    let sub = at_line(&p, 4);
    assert_eq!(
        field(&src, &p, sub, "substituter").as_deref(),
        Some("https://attic.example.net/dev-cache")
    );
    let e = at_line(&p, 7);
    assert_eq!((e.severity, e.end_line), (Severity::Err, 11));
    assert_eq!(field(&src, &p, e, "http_status").as_deref(), Some("500"));
    assert_eq!(p.events.len(), 6);
}

#[test]
fn app_formats_do_not_claim_journals_and_kernel_logs_that_embed_their_lines() {
    let others: &[&[u8]] = &[
        b"Mar 25 10:00:01 node1 atticd[1751]: 2026-03-25T10:00:01.884923Z ERROR attic_server::error: Database error\nMar 25 10:00:01 node1 atticd[1751]:    0: attic_server::api::binary_cache::get_nar\n",
        b"Mar 25 10:00:02 node1 gitlab-runner[812]: WARNING: Checking for jobs... failed                runner=t9Wkyj-HG status=POST https://g.example/api/v4/jobs/request: 401 Unauthorized\nMar 25 10:00:05 node1 gitlab-runner[812]: Checking for jobs... failed   runner=t9Wkyj-HG\n",
        b"Mar 25 10:00:03 node1 nixos-upgrade[5120]: error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused\nMar 25 10:00:03 node1 nix-daemon[990]: accepted connection from pid 5121, user root (trusted)\n",
        b"2026-03-25T10:00:03.000000+01:00 node1 nixos-rebuild[77]: copying path '/nix/store/aa-x' from 'https://cache.nixos.org'...\n",
        b"[ 1234.567890] Out of memory: Killed process 4242 (nix-daemon) total-vm:812345kB\n[ 1234.600000] oom_reaper: reaped process 4242 (nix-daemon)\n",
        b"{\"__REALTIME_TIMESTAMP\":\"1774432800000000\",\"SYSLOG_IDENTIFIER\":\"gitlab-runner\",\"MESSAGE\":\"Checking for jobs... failed\"}\n",
        b"{\"SYSLOG_IDENTIFIER\":\"gitlab-runner\",\"MESSAGE\":\"Running with gitlab-runner 17.0.0 (abc)\"}\n{\"MESSAGE\":\"section_start:1774432800:step_script\"}\n",
        b"Mar 25 10:00:00 node1 gitlab-runner[812]: section_start:1774432800:step_script\nMar 25 10:00:00 node1 gitlab-runner[812]: $ make\nMar 25 10:00:09 node1 gitlab-runner[812]: Job succeeded\n",
    ];
    for sample in others {
        for f in [
            &formats::atticd::Atticd as &dyn Format,
            &formats::gitlab_trace::GitlabTrace,
            &formats::gitlab_runner::GitlabRunner,
            &formats::nix::Nix,
        ] {
            assert_eq!(
                f.sniff(sample),
                0,
                "{} claims {}",
                f.name(),
                String::from_utf8_lossy(sample)
            );
        }
    }
}

/// Pieces the four parsers react to, to build inputs that reach their corner cases.
const TOKENS: &[&str] = &[
    "\r",
    "\n",
    "\r\n",
    "\x1b[0K",
    "\x1b[0;m",
    "\x1b[31;1m",
    "\x1b",
    "section_start:1774432800:step_script",
    "section_end:1774432801:step_script",
    "[collapsed=true]",
    "section_",
    "2026-03-25T10:00:00.123456Z 00O ",
    "2026-03-25T10:00:00.123456Z 01E+",
    "2026-03-25T10:00:00.123456Z ERROR ",
    "  INFO ",
    "a::b: ",
    "s{x=1 y}:t: ",
    "   0: x::y",
    "           with a=1",
    "Caused by:",
    "Error: ",
    "Listening on ",
    "...",
    "error: ",
    "warning: ",
    "       … while ",
    "'",
    "'\"",
    "\"'",
    "\"",
    "‘",
    "’",
    "{",
    "}",
    ":",
    "=",
    "  runner=",
    " status=POST http://x: 401 X",
    "WARNING: ",
    "time=\"",
    " level=error msg=\"",
    "{\"level\":\"info\",\"msg\":\"",
    "❌ ",
    "✅ ",
    ": ",
    "1",
    "12",
    "00:13",
    "$ ",
    "Job succeeded",
    "ERROR: Job failed: exit code 3",
    "Running with gitlab-runner 1 (x)",
    "  on a b",
    "Preparing the \"docker\" executor",
    "/nix/store/",
    "HTTP error ",
    "svc | ",
    " ",
    "\t",
    "x",
    "\u{fffd}",
    "\0",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
    #[test]
    fn app_parsers_never_panic_and_account_for_every_line(
        parts in proptest::collection::vec(proptest::sample::select(TOKENS), 0..80),
        raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
    ) {
        let mut bytes: Vec<u8> = parts.concat().into_bytes();
        bytes.extend_from_slice(&raw);
        let src = Source::from_bytes(0, "job-1.log", bytes.clone());
        for name in ["atticd", "gitlab-trace", "gitlab-runner", "nix"] {
            let (i, f) = formats::by_name(name).unwrap();
            let _ = f.sniff(&bytes);
            let p = formats::parse_source(&src, Some(i));
            proptest::prop_assert_eq!(p.counts.total(), src.lines, "{}", name);
            for l in bytes.split(|&c| c == b'\n') {
                let _ = f.refine("atticd", l);
                let _ = f.refine("gitlab-runner", l);
                let _ = f.refine("nixos-rebuild", l);
                let _ = f.is_continuation("atticd", l);
            }
        }
        let _ = formats::gitlab_trace::job_facts(&src);
    }
}

#[test]
fn web_copy_without_line_numbers_or_header() {
    let (src, p) = load("gitlab/web-copy-fragment-shell-success.txt");
    assert_eq!(p.format.map(formats::name_of), Some("gitlab-trace"));
    let f = formats::gitlab_trace::job_facts(&src);
    assert!(f.web_copy);
    assert_eq!(f.status, Some(formats::gitlab_trace::JobStatus::Succeeded));
    assert_eq!(f.runner_version, None);
    assert_eq!(f.commands.len(), 2);
    assert_eq!(f.sections.len(), 2);
    assert_eq!(
        f.sections[0].name,
        "Executing \"step_script\" stage of the job script"
    );
    assert_eq!(f.sections[0].duration_s, Some(754));
    let cmd = at_line(&p, 3);
    assert_eq!(
        field(&src, &p, cmd, "command").as_deref(),
        Some("kubectl -n blog rollout status deploy/site")
    );
    assert!(matches!(cmd.message, gaplog::event::Text::Span { .. }));
}

#[test]
fn journal_parsers_find_the_inner_format_by_ident() {
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "atticd",
            b"2026-03-25T10:00:00.000001Z ERROR attic_server::error: Storage error: x",
            "atticd",
        ),
        ("atticd", b"Listening on [::]:8080...", "atticd"),
        (
            "gitlab-runner",
            b"ERROR: Checking for jobs... forbidden               runner=cnqGqEov",
            "gitlab-runner",
        ),
        (
            "nixos-upgrade",
            b"error: path '/nix/store/aa-x' is not valid",
            "nix",
        ),
        (
            "nix-daemon",
            b"accepted connection from pid 5121, user root (trusted)",
            "nix",
        ),
    ];
    for (ident, msg, want) in cases {
        let (i, r) = formats::refine_embedded(ident, msg).unwrap_or_else(|| panic!("{ident}"));
        assert_eq!(formats::name_of(i), *want, "{ident}");
        assert!(r.severity.is_some());
        assert!(r.message_start <= msg.len());
    }
    assert!(formats::refine_embedded("sshd", b"error: x").is_none());
    assert!(formats::refine_embedded("atticd", b"hello").is_none());
}

#[test]
fn atticd_behind_docker_compose_prefixes() {
    let (src, p) = load("atticd/compose-prefix-no-color.log");
    assert_eq!(p.events.len(), 6);
    assert_eq!(
        field(&src, &p, at_line(&p, 4), "listen").as_deref(),
        Some("[::]:8080")
    );
    let e = at_line(&p, 5);
    assert_eq!((e.severity, e.end_line), (Severity::Err, 7));
    assert_eq!(gaplog::time::rfc3339(e.time), "2026-02-28T23:59:59.999999Z");
    assert!(msg(&src, e).starts_with("Storage error: dispatch failure"));
    assert!(msg(&src, e).ends_with("\n             at server/src/api/v1/upload_path.rs:129"));
    assert_eq!(
        field(&src, &p, at_line(&p, 8), "latency").as_deref(),
        Some("5005 ms")
    );
}

#[test]
fn nul_bytes_are_unparsed_lines_not_events() {
    for (name, text) in [
        ("gitlab-trace", &b"Running with gitlab-runner 17.0.0 (x)\n\x00\x00\x01junk\n$ make\n"[..]),
        ("nix", b"error: x\n\x00\x00\x01junk\ncopying path '/nix/store/aa-b' from 'https://c.example'...\n"),
    ] {
        let src = Source::from_bytes(0, "t.log", text.to_vec());
        let (i, _) = formats::by_name(name).unwrap();
        let p = formats::parse_source(&src, Some(i));
        assert_eq!(
            (p.counts.parsed, p.counts.unparsed, p.events.len()),
            (2, 1, 2),
            "{name}"
        );
        assert_eq!(p.unparsed_examples[0].line, 2, "{name}");
    }
}

#[test]
fn a_tracing_log_with_little_tracing_is_not_nix() {
    let sample = b"2026-03-25T10:00:00.000001Z  WARN attic_server::gc: Garbage collection failed: x\n2026-03-25T10:00:01.000001Z  INFO attic_server::gc: Running garbage collection...\nsome other line\nand another\nand more\n";
    assert_eq!(formats::nix::Nix.sniff(sample), 0);
    assert_eq!(formats::gitlab_runner::GitlabRunner.sniff(sample), 0);
    assert_eq!(formats::gitlab_trace::GitlabTrace.sniff(sample), 0);
    assert_eq!(formats::sniff(sample).map(formats::name_of), Some("atticd"));
}

#[test]
fn atticd_tracing_json_lines() {
    let (src, p) = load("atticd/tracing-json-lines.log");
    assert_eq!(p.events.len(), 3);
    let e = at_line(&p, 2);
    assert_eq!(e.severity, Severity::Err);
    assert_eq!(gaplog::time::rfc3339(e.time), "2025-12-31T23:59:59.912000Z");
    assert!(msg(&src, e).contains("\n   0: attic_server::api::binary_cache::get_store_path_info"));
    let f = at_line(&p, 3);
    assert_eq!(field(&src, &p, f, "latency").as_deref(), Some("30001 ms"));
    assert_eq!(field(&src, &p, f, "spans").as_deref(), Some("request"));
}

/// Regression: continuation lines used to copy the whole message each time (quadratic on a
/// long `these N paths will be fetched` list or a stream of `+` trace entries).
#[test]
fn long_blocks_are_built_in_linear_time() {
    let n = 20_000;
    let mut t =
        format!("these {n} paths will be fetched (1.00 GiB download, 4.00 GiB unpacked):\n");
    for i in 0..n {
        t.push_str(&format!("  /nix/store/{i:032}-pkg-{i}\n"));
    }
    let src = Source::from_bytes(0, "fetch.txt", t.into_bytes());
    let (i, _) = formats::by_name("nix").unwrap();
    let started = std::time::Instant::now();
    let p = formats::parse_source(&src, Some(i));
    assert_eq!((p.events.len(), p.events[0].end_line), (1, n + 1));
    assert_eq!(msg(&src, &p.events[0]).lines().count(), n as usize + 1);
    // Generous bound for a loaded debug build; the quadratic version took minutes.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());

    // CR-only: every `+` entry is a physical line continuing the previous event.
    let mut t = String::from(
        "Running with gitlab-runner 18.7.0 (x)\r2026-03-25T10:00:00.000000Z 01E downloading\r",
    );
    for _ in 0..n {
        t.push_str("2026-03-25T10:00:00.000001Z 01E+.\r");
    }
    let src = Source::from_bytes(0, "job-7.log", t.into_bytes());
    let p = formats::parse_source(&src, None);
    assert_eq!(p.format.map(formats::name_of), Some("gitlab-trace"));
    assert_eq!(
        (p.counts.total(), p.counts.continuation),
        (src.lines, u64::from(n))
    );
    assert_eq!(
        msg(&src, p.events.last().unwrap()).len(),
        "downloading".len() + n as usize
    );
}
