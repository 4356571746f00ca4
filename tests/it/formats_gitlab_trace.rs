//! GitLab job traces whose runner split logical lines into `+` (append) entries: a trace
//! written independently of the parser (runner 16.11.1, 2024, shell executor, a failed
//! `nix flake check`) with section markers cut inside their name and inside `section_`,
//! a progress bar on stderr interrupted by a stdout line, and the final status on a `+`
//! entry after a `section_end`. The job id comes from the file name only.

use crate::support::{at_line, field, load, msg};
use gaplog::event::{ClockMethod, Severity, Text};
use gaplog::formats::{self, gitlab_trace};

const SPLIT: &str = "gitlab/timestamped-split-markers-fleet-731245.log";

#[test]
fn split_markers_are_resolved_on_the_joined_line() {
    let (src, p) = load(SPLIT);
    assert_eq!(p.format.map(formats::name_of), Some("gitlab-trace"));
    assert_eq!(src.lines, 29);
    // 29 physical lines: 20 events, 9 lines folded into them, none unparsed.
    assert_eq!(
        (p.counts.parsed, p.counts.continuation, p.counts.unparsed),
        (20, 9, 0)
    );
    // Line 5 ends inside the name (`…:get_sou`), line 6 is `+rces\r…`.
    let get = at_line(&p, 5);
    assert_eq!(get.end_line, 6);
    assert_eq!(msg(&src, get), "Getting source from Git repository");
    assert_eq!(
        field(&src, &p, get, "section").as_deref(),
        Some("get_sources")
    );
    assert_eq!(field(&src, &p, get, "duration_s").as_deref(), Some("0"));
    assert_eq!(
        (get.clock, gaplog::time::rfc3339(get.time)),
        (
            ClockMethod::Exact,
            "2024-11-05T14:20:01.290811Z".to_string()
        )
    );
    // The cut name is whole in the `section_end` of line 11: the field is a span of it.
    let k = p.atoms.find("section").unwrap();
    let sec = p.fields.find(get.fields, k).unwrap();
    assert!(matches!(sec, Text::Span { .. }), "{sec:?}");
    for line in 7..=10 {
        let ev = at_line(&p, line);
        assert_eq!(
            field(&src, &p, ev, "section").as_deref(),
            Some("get_sources")
        );
        assert!(!msg(&src, ev).contains("section_"), "line {line}");
    }
    // Line 11 ends with `secti`, line 12 goes on with `on_start:…:step_script`.
    let step = at_line(&p, 11);
    assert_eq!(step.end_line, 12);
    assert_eq!(
        msg(&src, step),
        "Executing \"step_script\" stage of the job script"
    );
    assert_eq!(
        field(&src, &p, step, "section").as_deref(),
        Some("step_script")
    );
    assert_eq!(field(&src, &p, step, "duration_s").as_deref(), Some("2"));
    let cmd = at_line(&p, 13);
    assert_eq!(
        field(&src, &p, cmd, "command").as_deref(),
        Some("nix flake check --print-build-logs")
    );
    assert_eq!(
        field(&src, &p, cmd, "section").as_deref(),
        Some("step_script")
    );
}

#[test]
fn appends_of_another_stream_stand_alone_and_progress_is_overwritten() {
    let (src, p) = load(SPLIT);
    // Line 14 (stderr progress ending in `\r`) is followed by a stdout line: the `+`
    // entries of lines 16-18 cannot join it and form their own logical line, whose
    // visible text is the last `\r` segment: the Nix error, with its indented block.
    assert_eq!(
        msg(&src, at_line(&p, 14)),
        "[1/12 built, 0.0 MiB DL] building arm-03-etc"
    );
    assert_eq!(at_line(&p, 14).end_line, 14);
    assert_eq!(
        msg(&src, at_line(&p, 15)),
        "waiting for the build lock on /nix/var/nix/db/big-lock"
    );
    let err = at_line(&p, 16);
    assert_eq!((err.severity, err.end_line), (Severity::Err, 21));
    let m = msg(&src, err);
    assert!(
        m.starts_with("error: builder for '/nix/store/0w6vdvpq3kq1ymz8i3y2kqfwf6gxlk3m-arm-03-etc.drv' failed with exit code 2;\n"),
        "{m}"
    );
    assert!(!m.contains("built,"), "{m}");
    assert_eq!(
        gaplog::time::rfc3339(err.time),
        "2024-11-05T14:20:21.730518Z"
    );
}

#[test]
fn the_status_on_an_append_after_section_end_is_read() {
    let (src, p) = load(SPLIT);
    let up = at_line(&p, 22);
    assert_eq!(up.end_line, 23);
    assert_eq!(msg(&src, up), "Uploading artifacts for failed job");
    assert_eq!(
        field(&src, &p, up, "section").as_deref(),
        Some("upload_artifacts_on_failure")
    );
    assert_eq!(field(&src, &p, up, "duration_s").as_deref(), Some("64"));
    assert_eq!(at_line(&p, 25).severity, Severity::Warning);
    let end = p.events.last().unwrap();
    assert_eq!((end.line, end.end_line), (28, 29));
    assert_eq!(msg(&src, end), "ERROR: Job failed: exit code 1");
    assert_eq!(end.severity, Severity::Err);
    assert_eq!(field(&src, &p, end, "status").as_deref(), Some("failed"));
    assert_eq!(field(&src, &p, end, "exit_code").as_deref(), Some("1"));
    assert_eq!(
        field(&src, &p, end, "section").as_deref(),
        Some("cleanup_file_variables")
    );
    // No message anywhere still holds marker text.
    for ev in &p.events {
        assert!(!msg(&src, ev).contains("section_"), "line {}", ev.line);
    }
}

#[test]
fn job_facts_of_a_split_trace() {
    let (src, _) = load(SPLIT);
    let f = gitlab_trace::job_facts(&src);
    let secs: Vec<(&str, u32, Option<u64>)> = f
        .sections
        .iter()
        .map(|s| (s.name.as_str(), s.line, s.duration_s))
        .collect();
    assert_eq!(
        secs,
        [
            ("prepare_executor", 3, Some(0)),
            ("get_sources", 5, Some(2)),
            ("step_script", 11, Some(64)),
            ("upload_artifacts_on_failure", 22, Some(1)),
            ("cleanup_file_variables", 27, Some(0)),
        ]
    );
    assert_eq!(f.sections[2].start, Some(1_730_816_403_000_000_000));
    assert_eq!(f.runner_version.as_deref(), Some("16.11.1"));
    assert_eq!(f.executor.as_deref(), Some("shell"));
    assert_eq!(f.job_id, Some(731_245));
    assert_eq!(f.commands, ["nix flake check --print-build-logs"]);
    assert_eq!(f.status, Some(gitlab_trace::JobStatus::Failed));
    assert_eq!(f.exit_code, Some(1));
    assert_eq!(f.warnings.len(), 1);
}

/// The job id of a trace that states it only in its file name is one shared text: no
/// event allocates it (nor the `program` of classified lines), and every event reads it.
#[test]
fn a_job_id_from_the_file_name_costs_no_allocation_per_event() {
    let (src, p) = load(SPLIT);
    let job = p.atoms.find("job").unwrap();
    let program = p.atoms.find("program").unwrap();
    let mut first: Option<&std::sync::Arc<str>> = None;
    let mut programs = 0;
    for ev in &p.events {
        assert_eq!(field(&src, &p, ev, "job").as_deref(), Some("731245"));
        for (k, v) in p.fields.get(ev.fields) {
            if *k == job || *k == program {
                let Text::Shared(a) = v else {
                    panic!("line {}: {v:?}", ev.line)
                };
                if *k == job {
                    assert!(std::sync::Arc::ptr_eq(a, *first.get_or_insert(a)));
                } else {
                    programs += 1;
                }
            }
        }
    }
    assert!(programs > 0);
    // Stated in the trace (`… id=88412 …`): a span of it, as before.
    let (src, p) = load("gitlab/raw-docker-ansi-sections-progress.log");
    let job = p.atoms.find("job").unwrap();
    for ev in &p.events {
        let v = p.fields.find(ev.fields, job).unwrap();
        assert!(matches!(v, Text::Span { .. }), "{v:?}");
        assert_eq!(v.bytes(&src.bytes), b"88412");
    }
}
