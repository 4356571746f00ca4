//! Reasoning on log sets that are not the story's: incidents, gaps, verdicts, causes and
//! the fix order, from syslog-format fixtures (tests/fixtures/reasoning/) and from events
//! built directly (job traces with an `executor` field, as the trace parser sets it).

use gaplog::analysis::{Analysis, Gap, Incident, Verdict};
use gaplog::event::{Atoms, ClockMethod, Event, FieldStore, Severity, Text};
use gaplog::formats::{LineCounts, Parsed};
use gaplog::ingest::Source;
use gaplog::signals::Catalog;
use gaplog::timeline::{SourceData, Timeline};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/reasoning"
    ))
    .join(name)
}

fn analyze(name: &str, year: Option<i32>) -> Analysis {
    let mut o = gaplog::Options::default();
    o.clock.year = year;
    let (a, _) = gaplog::analyze(&[fixture(name)], &o).expect("analysis runs");
    a
}

/// The rule ids of an incident's evidence, in first-seen order.
fn rules(i: &Incident) -> Vec<&str> {
    let mut v: Vec<&str> = Vec::new();
    for e in &i.evidence {
        if !v.contains(&e.rule.as_str()) {
            v.push(&e.rule);
        }
    }
    v
}

fn fix_ids(a: &Analysis) -> Vec<&str> {
    a.fix_order.iter().map(|f| f.id.as_str()).collect()
}

fn find<'a>(a: &'a Analysis, rule: &str) -> &'a Incident {
    a.incidents
        .iter()
        .find(|i| i.evidence.iter().any(|e| e.rule == rule))
        .unwrap_or_else(|| panic!("no incident with {rule}: {}", gaplog::report::json(a)))
}

/// An activation over the tailnet cuts the copy: the client's clock is ~35 s behind, so
/// the SSH drop is logged before the tailscaled restart that caused it.
#[test]
fn deploy_over_tailnet_chain_and_fix_order() {
    let a = analyze("deploy-over-tailnet", None);
    let ids: Vec<&str> = a.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["I1", "I2", "I3", "I4"]);
    let store = &a.incidents[0];
    assert_eq!(store.verdict, Verdict::Failure);
    assert_eq!(store.gap, Gap::DeclaredVsOperational);
    assert_eq!(store.hosts, ["edge2", "ws-anna"]);
    assert_eq!(store.chain[0], "Activation restarted tailscaled");
    for r in [
        "tailscaled-restarted",
        "ssh-connection-lost",
        "nix-copy-interrupted",
        "nix-store-path-missing",
        "nix-db-foreign-key-failed",
    ] {
        assert!(
            rules(store).contains(&r),
            "{r} not in I1: {:?}",
            rules(store)
        );
    }
    assert!(
        store
            .reasoning
            .contains("Link `tailscaled-restart-drops-ssh`"),
        "{}",
        store.reasoning
    );
    assert!(
        store.reasoning.contains("-33.1 s, edge2 -> ws-anna"),
        "{}",
        store.reasoning
    );
    let secrets = find(&a, "secret-file-missing");
    assert_eq!(secrets.caused_by.as_deref(), Some("I1"));
    assert!(rules(secrets).contains(&"activation-units-failed"));
    let runner = find(&a, "runner-token-invalid-header");
    assert_eq!(runner.caused_by.as_deref(), Some(secrets.id.as_str()));
    assert_eq!(runner.evidence.len(), 2, "retries are one incident");
    let attic = find(&a, "attic-jwt-rejected");
    assert_eq!(attic.caused_by.as_deref(), Some(secrets.id.as_str()));
    assert_eq!(
        fix_ids(&a),
        [
            "repair-nix-store",
            "keep-tailnet-up-during-switch",
            "rebuild-generation",
            "fix-runner-token-newline",
            "regenerate-attic-token"
        ]
    );
    assert_eq!(a.fix_order[0].incidents, ["I1"]);
    // Evidence carries file:line.
    let e = &store.evidence[0];
    assert_eq!((e.source.ends_with("ws-anna.log"), e.line), (true, 5));
    assert!(a.unexplained.is_empty(), "{:?}", a.unexplained);
    assert_eq!(a.stats.signals, 14);
    assert_eq!(a.marks.len(), 14);
}

/// Memory pressure -> etcd OOM -> nix-daemon killed -> job fails, on one host (RFC 3164
/// lines, year given), while an unrelated disk-full on another host at the same minute
/// stays a separate incident.
#[test]
fn etcd_oom_chain_and_unrelated_disk_full() {
    let a = analyze("etcd-oom", Some(2024));
    assert_eq!(a.incidents.len(), 2, "{}", gaplog::report::json(&a));
    let oom = &a.incidents[0];
    assert_eq!(oom.hosts, ["k3s-lab"]);
    assert_eq!(oom.evidence[0].rule, "kubelet-memory-pressure");
    assert_eq!(oom.verdict, Verdict::Failure);
    for r in [
        "etcd-oom-killed",
        "kernel-oom-kill",
        "systemd-unit-oom-kill",
        "nix-daemon-socket-unreachable",
        "job-failed",
    ] {
        assert!(rules(oom).contains(&r), "{r}");
    }
    let disk = &a.incidents[1];
    assert_eq!(disk.hosts, ["db-02"]);
    assert_eq!(rules(disk), ["no-space-left-on-device"]);
    assert_eq!(disk.caused_by, None);
    assert_eq!(
        fix_ids(&a),
        // limit-etcd-memory supersedes the generic stop-memory-hogs in the OOM incident.
        [
            "limit-etcd-memory",
            "free-disk-space",
            "restart-nix-daemon-socket"
        ]
    );
    assert_eq!(a.fix_order[1].incidents, ["I2"]);
}

/// The same atticd line (`status=401` on an anonymous-looking GET) is expected alone and a
/// failure next to a rejected token; a 429 and an auto-cancelled job are expected too.
#[test]
fn same_401_expected_alone_failure_with_bad_token() {
    let a = analyze("cache-401-contexts", None);
    let summary: Vec<(&str, Verdict, Gap)> = a
        .incidents
        .iter()
        .map(|i| (i.evidence[0].rule.as_str(), i.verdict, i.gap))
        .collect();
    assert_eq!(
        summary,
        [
            ("cache-http-401", Verdict::Expected, Gap::ExpectedVsFailure),
            (
                "http-429-rate-limited",
                Verdict::Expected,
                Gap::ExpectedVsFailure
            ),
            (
                "attic-jwt-rejected",
                Verdict::Failure,
                Gap::DeclaredVsOperational
            ),
            ("job-failed", Verdict::Expected, Gap::ExpectedVsFailure),
        ]
    );
    let bad = &a.incidents[2];
    assert_eq!(rules(bad), ["attic-jwt-rejected", "cache-http-401"]);
    assert!(
        bad.reasoning
            .contains("`cache-http-401` matched 1 event(s)")
            && bad
                .reasoning
                .contains("failure by context: the 401 comes with a rejected token"),
        "{}",
        bad.reasoning
    );
    assert!(a.incidents[0].reasoning.contains("expected by default"));
    let cancel = &a.incidents[3];
    assert_eq!(
        cancel.chain[0],
        "A job was cancelled because a newer commit auto-cancelled its pipeline"
    );
    assert_eq!(fix_ids(&a), ["regenerate-attic-token"]);
    assert_eq!(a.fix_order[0].incidents, ["I3"]);
}

/// Routine noise yields no incident; the unexplained errors are one template.
#[test]
fn quiet_log_set_has_no_failure() {
    let a = analyze("quiet", None);
    assert!(a.incidents.is_empty(), "{}", gaplog::report::json(&a));
    assert!(a.fix_order.is_empty());
    assert_eq!(a.unexplained.len(), 1);
    let u = &a.unexplained[0];
    assert_eq!(u.template, "error: chunk <num> checksum mismatch, retrying");
    assert_eq!(u.count, 3);
    assert_eq!(u.first.as_deref(), Some("2026-06-01T06:03:00.000000Z"));
    assert_eq!(u.example.line, 7);
}

#[test]
fn analysis_is_deterministic_across_thread_counts() {
    let run = |threads| {
        let o = gaplog::Options {
            threads: Some(threads),
            ..Default::default()
        };
        let (mut a, _) = gaplog::analyze(
            &[
                fixture("deploy-over-tailnet"),
                fixture("cache-401-contexts"),
                fixture("quiet"),
            ],
            &o,
        )
        .unwrap();
        a.timings = Default::default();
        gaplog::report::json(&a)
    };
    assert_eq!(run(1), run(2));
}

// ---- events built directly: job traces with an executor field ------------------------------

/// `Ev::t` for a line without a usable time (a terminal transcript).
const UNTIMED: i64 = i64::MIN;

struct Ev<'a> {
    t: i64,
    host: &'a str,
    unit: &'a str,
    msg: &'a str,
    fields: &'a [(&'a str, &'a str)],
}

/// One source per host group: builds a timeline of exact-clocked events.
fn timeline(sources: &[(&str, &str, &[Ev<'_>])]) -> Timeline {
    let data = sources
        .iter()
        .enumerate()
        .map(|(si, (path, format, evs))| {
            let mut atoms = Atoms::default();
            let mut store = FieldStore::new();
            let events = evs
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let mut ev = Event {
                        time: if e.t == UNTIMED {
                            0
                        } else {
                            1_769_000_000_000_000_000 + e.t * 1_000_000_000
                        },
                        clock: if e.t == UNTIMED {
                            ClockMethod::Missing
                        } else {
                            ClockMethod::Exact
                        },
                        source: si as u32,
                        line: i as u32 + 1,
                        end_line: i as u32 + 1,
                        host: atoms.intern(e.host),
                        unit: atoms.intern(e.unit),
                        severity: Severity::Unknown,
                        message: Text::Owned(e.msg.into()),
                        format: gaplog::formats::by_name(format).unwrap().0,
                        ..Event::default()
                    };
                    for (k, v) in e.fields {
                        store.push(&mut ev.fields, atoms.intern(k), Text::Owned((*v).into()));
                    }
                    ev
                })
                .collect::<Vec<_>>();
            let n = events.len() as u64;
            SourceData::new(
                Source::from_bytes(si as u32, *path, vec![b'\n'; n as usize]),
                Parsed {
                    format: Some(gaplog::formats::by_name(format).unwrap().0),
                    atoms,
                    events,
                    fields: store,
                    counts: LineCounts::default(),
                    unparsed_examples: Vec::new(),
                    issues: Vec::new(),
                },
            )
        })
        .collect();
    Timeline::build(data)
}

/// The embedded catalog, compiled once for all tests of this module.
fn catalog() -> &'static Catalog {
    static C: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    C.get_or_init(|| Catalog::embedded().expect("embedded grammar compiles"))
}

fn reason(tl: &Timeline) -> (Vec<Incident>, Vec<String>) {
    let cat = catalog();
    let sigs = cat.scan(tl);
    let c = gaplog::incidents::correlate(cat, tl, &sigs);
    (c.incidents, c.fix_order.into_iter().map(|f| f.id).collect())
}

const REFUSED: &str = "error: unable to download 'http://127.0.0.1:8083/blog-cache/nix-cache-info': Couldn't connect to server (7) Failed to connect to 127.0.0.1 port 8083 after 0 ms: Couldn't connect to server";

/// The same refused connection to 127.0.0.1 is an identity problem in a Docker job and a
/// service problem in a shell-executor job.
#[test]
fn loopback_refused_depends_on_executor() {
    let docker = [("job", "5120"), ("executor", "docker")];
    let shell = [("job", "5121"), ("executor", "shell")];
    let tl = timeline(&[
        (
            "blog/job-5120.log",
            "gitlab-trace",
            &[Ev {
                t: 0,
                host: "",
                unit: "",
                msg: REFUSED,
                fields: &docker,
            }],
        ),
        (
            "host/job-5121.log",
            "gitlab-trace",
            &[Ev {
                t: 3600,
                host: "",
                unit: "",
                msg: REFUSED,
                fields: &shell,
            }],
        ),
    ]);
    let (inc, fixes) = reason(&tl);
    assert_eq!(inc.len(), 2);
    assert_eq!(inc[0].gap, Gap::IdentityVsAddress);
    assert!(
        inc[0]
            .reasoning
            .contains("127.0.0.1 is the container itself"),
        "{}",
        inc[0].reasoning
    );
    assert!(
        inc[0].root_cause.contains("127.0.0.1:8083"),
        "{}",
        inc[0].root_cause
    );
    assert_eq!(inc[1].gap, Gap::DeclaredVsOperational);
    // No cache server log on the job's host: the substituter must change, not "use the
    // bridge" (the cache may be on another machine).
    assert_eq!(fixes, ["reconfigure-substituter", "start-cache-service"]);
}

/// A push with `|| true` is fine for attic (expected) but not for cachix, whose hidden
/// failure starves a later job (caused_by across incidents).
#[test]
fn masked_cachix_push_causes_later_substitution_failure() {
    let f = [("job", "77"), ("executor", "docker")];
    let tl = timeline(&[(
        "ci/jobs.log",
        "gitlab-trace",
        &[
            Ev {
                t: 0,
                host: "",
                unit: "",
                msg: "$ nix path-info --recursive .#blog | xargs attic push blog-cache || true",
                fields: &f,
            },
            Ev {
                t: 5,
                host: "",
                unit: "",
                msg: "$ nix path-info --recursive .#blog | cachix push -j 2 blog || true",
                fields: &f,
            },
            Ev {
                t: 9000,
                host: "",
                unit: "",
                msg: "error: path '/nix/store/1m3xq6f0q2r4c6p4g8f7k2h5z0b9n1v3-ghc-9.6.6' is required, but there is no substituter that can build it",
                fields: &f,
            },
        ],
    )]);
    let (inc, fixes) = reason(&tl);
    let v: Vec<(Verdict, Option<&str>)> = inc
        .iter()
        .map(|i| (i.verdict, i.caused_by.as_deref()))
        .collect();
    assert_eq!(
        v,
        [
            (Verdict::Expected, None),
            (Verdict::Failure, None),
            (Verdict::Failure, Some("I2"))
        ],
        "{inc:#?}"
    );
    assert_eq!(fixes, ["drop-or-true-from-primary-push"]);
}

/// Across hosts, an effect logged more than the clock tolerance before its cause is not
/// linked; within it, it is.
#[test]
fn clock_tolerance_bounds_cross_host_links() {
    let run = |skew: i64| {
        let tl = timeline(&[
            (
                "a.log",
                "syslog",
                &[Ev {
                    t: 100,
                    host: "node",
                    unit: "systemd",
                    msg: "tailscaled.service: Deactivated successfully.",
                    fields: &[],
                }],
            ),
            (
                "b.log",
                "syslog",
                &[Ev {
                    t: 100 + skew,
                    host: "laptop",
                    unit: "ssh",
                    msg: "Connection to 100.64.0.9 closed by remote host.",
                    fields: &[],
                }],
            ),
        ]);
        reason(&tl).0.len()
    };
    assert_eq!(run(-80), 1, "80 s early is clock disagreement");
    assert_eq!(run(-100), 2, "100 s early is not the restart's effect");
    assert_eq!(run(200), 1, "within the link's 120 s + tolerance");
    assert_eq!(run(400), 2);
}

/// A logrus JSON runner line keeps `status` out of the message; the status field still
/// decides whether "Checking for jobs... failed" is a token rejection.
#[test]
fn runner_status_field_is_matched_with_the_message() {
    let denied = [
        (
            "status",
            "POST https://gitlab.com/api/v4/jobs/request: 401 Unauthorized",
        ),
        ("runner", "t9Wkyj-HG"),
    ];
    let flaky = [
        (
            "status",
            "POST https://gitlab.com/api/v4/jobs/request: 502 Bad Gateway",
        ),
        ("runner", "t9Wkyj-HG"),
    ];
    let tl = timeline(&[(
        "runner.json",
        "gitlab-runner",
        &[
            Ev {
                t: 0,
                host: "ci1",
                unit: "gitlab-runner",
                msg: "Checking for jobs... failed",
                fields: &flaky,
            },
            Ev {
                t: 5000,
                host: "ci1",
                unit: "gitlab-runner",
                msg: "Checking for jobs... failed",
                fields: &denied,
            },
        ],
    )]);
    let (inc, fixes) = reason(&tl);
    assert_eq!(inc.len(), 1, "{inc:#?}");
    assert_eq!(inc[0].evidence[0].line, 2);
    assert_eq!(
        inc[0].evidence[0].excerpt, "Checking for jobs... failed",
        "evidence shows the line as logged"
    );
    assert_eq!(fixes, ["reregister-runner"]);
}

/// An OOM report is one multi-line event; its evidence points at the line that matched.
#[test]
fn evidence_points_at_the_matching_line_of_a_block() {
    let block = "etcd invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=-999\n\
                 Tasks state (memory values in pages):\n\
                 [   2210]     0  2210  2883584  1572864 13316096        0          -999 etcd\n\
                 Out of memory: Killed process 2210 (etcd) total-vm:11534336kB, anon-rss:6291456kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:13004kB oom_score_adj:-999";
    let mut tl = timeline(&[(
        "lab/dmesg",
        "kernel",
        &[Ev {
            t: 0,
            host: "lab",
            unit: "kernel",
            msg: block,
            fields: &[],
        }],
    )]);
    tl.sources[0].texts.get_mut(0).unwrap().end_line = 4;
    let (inc, fixes) = reason(&tl);
    assert_eq!(inc.len(), 1);
    let e = &inc[0].evidence[0];
    assert_eq!(e.line, 4);
    assert!(
        e.excerpt
            .starts_with("Out of memory: Killed process 2210 (etcd)"),
        "{}",
        e.excerpt
    );
    assert!(
        inc[0].root_cause.contains("etcd (pid 2210)") || inc[0].root_cause.contains("etcd grew"),
        "{}",
        inc[0].root_cause
    );
    assert_eq!(
        fixes,
        ["limit-etcd-memory"],
        "the specific fix supersedes the generic one"
    );
}

/// The same 401 from 127.0.0.1 is an identity problem in a Docker job, and the expected
/// answer of a private cache on the host.
#[test]
fn loopback_401_in_docker_job_is_identity() {
    let line = "error: unable to download 'http://127.0.0.1:8083/blog-cache/nix-cache-info': HTTP error 401";
    let tl = timeline(&[
        (
            "blog/job-88.log",
            "gitlab-trace",
            &[Ev {
                t: 0,
                host: "",
                unit: "",
                msg: line,
                fields: &[("executor", "docker")],
            }],
        ),
        (
            "host/job-89.log",
            "gitlab-trace",
            &[Ev {
                t: 10,
                host: "",
                unit: "",
                msg: line,
                fields: &[("executor", "shell")],
            }],
        ),
    ]);
    let (inc, fixes) = reason(&tl);
    let v: Vec<(Gap, Verdict)> = inc.iter().map(|i| (i.gap, i.verdict)).collect();
    assert_eq!(
        v,
        [
            (Gap::IdentityVsAddress, Verdict::Failure),
            (Gap::ExpectedVsFailure, Verdict::Expected)
        ]
    );
    assert!(
        inc[0]
            .reasoning
            .contains("identity-vs-address / failure by context: the job runs in a container"),
        "{}",
        inc[0].reasoning
    );
    // Nothing says the cache runs on the job's own host: the generic fix, not the bridge.
    assert_eq!(fixes, ["reconfigure-substituter"]);
}

/// The 401s that follow a malformed runner token are its symptom: one incident, and only
/// the newline fix (not re-registration).
#[test]
fn symptom_links_call_only_the_cause_fix() {
    let tl = timeline(&[(
        "n/journal",
        "syslog",
        &[
            Ev {
                t: 0,
                host: "n",
                unit: "gitlab-runner",
                msg: "WARNING: Checking for jobs... failed                runner=t9Wkyj-HG status=couldn't execute POST against https://gitlab.com/api/v4/jobs/request: net/http: invalid header field value for \"Private-Token\"",
                fields: &[],
            },
            Ev {
                t: 20,
                host: "n",
                unit: "gitlab-runner",
                msg: "WARNING: Checking for jobs... failed                runner=t9Wkyj-HG status=POST https://gitlab.com/api/v4/jobs/request: 401 Unauthorized",
                fields: &[],
            },
            Ev {
                t: 40,
                host: "n",
                unit: "gitlab-runner",
                msg: "Runner \"https://gitlab.com/t9Wkyj-HG\" is unhealthy and will be disabled for 3600 seconds!",
                fields: &[],
            },
        ],
    )]);
    let (inc, fixes) = reason(&tl);
    assert_eq!(inc.len(), 1, "{inc:#?}");
    assert_eq!(
        rules(&inc[0]),
        [
            "runner-token-invalid-header",
            "runner-token-rejected",
            "runner-disabled-unhealthy"
        ]
    );
    assert_eq!(fixes, ["fix-runner-token-newline"]);
}

/// Transcript lines without time join the incident that saw the same store path; a
/// copy of an atticd line in a host-less file joins the journal's.
#[test]
fn untimed_and_duplicate_observations_join_their_incident() {
    let tl = timeline(&[
        (
            "n1/journal",
            "syslog",
            &[
                Ev {
                    t: 0,
                    host: "n1",
                    unit: "nix-daemon",
                    msg: "error: path '/nix/store/d29b2jpz6p7v70wvksafd5lb3ywa4v4k-tailscale-1.80.3' is not valid",
                    fields: &[],
                },
                Ev {
                    t: 900,
                    host: "n1",
                    unit: "atticd",
                    msg: "attic_server::error: Storage error: dispatch failure: other: identity resolver timed out after 5s",
                    fields: &[],
                },
            ],
        ),
        (
            "n1/atticd.log",
            "atticd",
            &[Ev {
                t: 901,
                host: "",
                unit: "",
                msg: "attic_server::error: Storage error: dispatch failure: other: identity resolver timed out after 5s",
                fields: &[],
            }],
        ),
        (
            "n1/store-repair.log",
            "nix",
            &[
                Ev {
                    t: UNTIMED,
                    host: "",
                    unit: "",
                    msg: "path '/nix/store/d29b2jpz6p7v70wvksafd5lb3ywa4v4k-tailscale-1.80.3' disappeared, but it still has valid referrers!",
                    fields: &[],
                },
                Ev {
                    t: UNTIMED,
                    host: "",
                    unit: "",
                    msg: "error: executing SQLite statement 'delete from ValidPaths where path = '/nix/store/d29b2jpz6p7v70wvksafd5lb3ywa4v4k-tailscale-1.80.3';': constraint failed, FOREIGN KEY constraint failed (in '/nix/var/nix/db/db.sqlite')",
                    fields: &[],
                },
            ],
        ),
    ]);
    let (inc, fixes) = reason(&tl);
    assert_eq!(inc.len(), 2, "{inc:#?}");
    assert_eq!(
        rules(&inc[0]),
        [
            "nix-store-path-invalid",
            "nix-store-path-missing",
            "nix-db-foreign-key-failed"
        ]
    );
    assert!(
        inc[0].reasoning.contains("2 signal(s) without a time joined through a shared rule or entity: n1/store-repair.log:1, n1/store-repair.log:2."),
        "{}",
        inc[0].reasoning
    );
    assert_eq!(rules(&inc[1]), ["attic-storage-identity-timeout"]);
    assert_eq!(inc[1].evidence.len(), 2);
    assert_eq!(fixes, ["repair-nix-store", "disable-ec2-metadata"]);
}

/// A failure is not linked to expected behaviour that follows it: a job cancelled by a
/// newer commit a minute after a storage error stays its own, expected, incident.
#[test]
fn failure_does_not_cause_expected_behaviour() {
    let tl = timeline(&[(
        "n1/journal",
        "syslog",
        &[
            Ev {
                t: 0,
                host: "n1",
                unit: "atticd",
                msg: "Storage error: dispatch failure: other: identity resolver timed out after 5s",
                fields: &[],
            },
            Ev {
                t: 60,
                host: "n1",
                unit: "gitlab-runner",
                msg: "WARNING: Job failed: canceled                      duration_s=3.1 job=9001 project=4 runner=Ab12Cd34",
                fields: &[],
            },
        ],
    )]);
    let (inc, _) = reason(&tl);
    let v: Vec<Verdict> = inc.iter().map(|i| i.verdict).collect();
    assert_eq!(v, [Verdict::Failure, Verdict::Expected]);
}

/// An SSH timeout is logged after the half-written paths were already used (`lead`): the
/// missing store file 10 s before the timeout still belongs to the interrupted copy.
#[test]
fn link_lead_admits_late_detected_causes() {
    let tl = timeline(&[(
        "n1/journal",
        "syslog",
        &[
            Ev {
                t: 0,
                host: "n1",
                unit: "activate",
                msg: "age: error: failed to open input file \"/nix/store/3xnprm5wk9zfhr5r7179rzfwda9fxfrq-gitlab-runner-env.age\": open /nix/store/3xnprm5wk9zfhr5r7179rzfwda9fxfrq-gitlab-runner-env.age: no such file or directory",
                fields: &[],
            },
            Ev {
                t: 10,
                host: "n1",
                unit: "sshd",
                msg: "Timeout, client not responding from user xameer 100.101.7.23 port 51722",
                fields: &[],
            },
        ],
    )]);
    let (inc, fixes) = reason(&tl);
    assert_eq!(inc.len(), 1, "{inc:#?}");
    assert_eq!(
        rules(&inc[0]),
        [
            "agenix-decrypt-failed",
            "nix-store-path-missing",
            "ssh-connection-lost"
        ]
    );
    assert_eq!(
        inc[0].chain[0], "An SSH connection dropped",
        "the late-logged drop is the root"
    );
    assert_eq!(
        fixes,
        [
            "repair-nix-store",
            "rebuild-generation",
            "keep-tailnet-up-during-switch"
        ]
    );
}

/// The story's sample (samples/tale-2026-03-25, written from the blog post; its README says
/// what a correct analysis concludes). It needs the real journal, kernel, atticd, trace and
/// Nix parsers; where the sample is not in the tree yet, the test says so and stops.
#[test]
fn story_sample_chain_verdicts_and_fix_order() {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples/tale-2026-03-25"
    ));
    if !dir.join("README.md").exists() {
        eprintln!("skipped: {} is not in this tree", dir.display());
        return;
    }
    let (a, _) = gaplog::analyze(&[dir], &gaplog::Options::default()).expect("analysis runs");
    let json = gaplog::report::json(&a);
    let has = |i: &Incident, r: &str| i.evidence.iter().any(|e| e.rule == r);
    let chain = a
        .incidents
        .iter()
        .find(|i| has(i, "tailscaled-restarted"))
        .unwrap_or_else(|| panic!("no tailscaled incident: {json}"));
    assert_eq!(chain.verdict, Verdict::Failure);
    assert_eq!(chain.gap, Gap::DeclaredVsOperational);
    assert_eq!(
        chain.chain[0], "Activation restarted tailscaled",
        "{}",
        chain.reasoning
    );
    for r in [
        "ssh-connection-lost",
        "nix-copy-interrupted",
        "nix-store-path-missing",
        "nix-db-foreign-key-failed",
        "secret-file-missing",
    ] {
        assert!(has(chain, r), "{r} not in the chain: {:?}", rules(chain));
    }
    for r in ["runner-token-invalid-header", "attic-jwt-rejected"] {
        let i = find(&a, r);
        assert_eq!(
            i.caused_by.as_deref(),
            Some(chain.id.as_str()),
            "{r}: {}",
            i.reasoning
        );
    }
    for r in [
        "cache-http-401",
        "http-429-rate-limited",
        "job-auto-cancelled",
    ] {
        // atticd's own 401 to the push whose token it rejected is part of the token
        // failure; every other 401 is an anonymous GET.
        let found: Vec<&Incident> = a
            .incidents
            .iter()
            .filter(|i| has(i, r) && !has(i, "attic-jwt-rejected"))
            .collect();
        assert!(!found.is_empty(), "no {r}");
        for i in found {
            assert_eq!(
                i.verdict,
                Verdict::Expected,
                "{r} in {}: {}",
                i.id,
                i.reasoning
            );
        }
    }
    let loopback = find(&a, "cache-connection-refused");
    assert_eq!(loopback.gap, Gap::IdentityVsAddress);
    let fixes = fix_ids(&a);
    let pos = |id: &str| {
        fixes
            .iter()
            .position(|f| *f == id)
            .unwrap_or_else(|| panic!("no fix {id}: {fixes:?}"))
    };
    let order = [
        "limit-etcd-memory",
        "repair-nix-store",
        "rebuild-generation",
        "fix-runner-token-newline",
        "regenerate-attic-token",
    ];
    for w in order.windows(2) {
        assert!(pos(w[0]) < pos(w[1]), "{} before {}: {fixes:?}", w[0], w[1]);
    }
    for id in [
        "disable-ec2-metadata",
        "use-bridge-address-for-cache",
        "push-attic-as-ci-user",
    ] {
        pos(id);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    /// Any mix of rule examples and noise, on any hosts, with or without times: the
    /// reasoning never panics, ids are I1..In by start, every fix step names existing
    /// incidents and comes once, and the result is deterministic.
    #[test]
    fn reasoning_never_panics_and_is_consistent(
        picks in proptest::collection::vec((0usize..400, 0i64..20_000, 0usize..4, proptest::bool::weighted(0.1)), 0..60)
    ) {
        let cat = catalog();
        let mut pool: Vec<String> = cat.rules.iter().flat_map(|r| r.examples.iter().cloned()).collect();
        pool.push("Started Session 3 of User ops.".into());
        pool.push("error: chunk 17 checksum mismatch".into());
        let hosts = ["", "n1", "n2", "laptop"];
        let evs: Vec<(i64, &str, String)> = picks
            .iter()
            .map(|(m, t, h, untimed)| (if *untimed { UNTIMED } else { *t }, hosts[*h], pool[m % pool.len()].clone()))
            .collect();
        let run = |rev: bool| {
            let mut list: Vec<&(i64, &str, String)> = evs.iter().collect();
            if rev {
                list.reverse();
            }
            let v: Vec<Ev<'_>> = list.iter().map(|(t, h, m)| Ev { t: *t, host: h, unit: "app", msg: m, fields: &[] }).collect();
            let tl = timeline(&[("p/all.log", "syslog", &v)]);
            let sigs = cat.scan(&tl);
            let c = gaplog::incidents::correlate(cat, &tl, &sigs);
            let un = gaplog::incidents::unexplained::mine(&tl, &sigs);
            (c, un.len())
        };
        let (c, _) = run(false);
        for (k, i) in c.incidents.iter().enumerate() {
            proptest::prop_assert_eq!(&i.id, &format!("I{}", k + 1));
            proptest::prop_assert!(!i.evidence.is_empty());
        }
        let starts: Vec<Option<&String>> = c.incidents.iter().map(|i| i.start.as_ref()).collect();
        let timed: Vec<&String> = starts.iter().flatten().copied().collect();
        proptest::prop_assert!(timed.windows(2).all(|w| w[0] <= w[1]), "sorted by start");
        let mut seen = std::collections::BTreeSet::new();
        for s in &c.fix_order {
            proptest::prop_assert!(seen.insert(s.id.clone()));
            for i in &s.incidents {
                proptest::prop_assert!(c.incidents.iter().any(|x| &x.id == i));
            }
        }
        // Deterministic: the same input gives the same incidents, and the reversed file
        // does not panic either.
        let (again, _) = run(false);
        proptest::prop_assert_eq!(&c.incidents, &again.incidents);
        proptest::prop_assert_eq!(&c.fix_order, &again.fix_order);
        let _ = run(true);
    }
}

/// A Cachix push whose 401 is hidden by `|| true` (shell trace with FF_TIMESTAMPS on one
/// runner), and a later job on another runner that cannot substitute the closure (its trace
/// and the runner's journal in `-o json`): the hidden failure is the cause, across hosts.
#[test]
fn masked_cachix_push_starves_a_later_job() {
    let a = analyze("cachix-masked-push", None);
    assert_eq!(a.incidents.len(), 2, "{}", gaplog::report::json(&a));
    let push = find(&a, "cachix-auth-failed");
    assert_eq!(
        (push.gap, push.verdict),
        (Gap::DeclaredVsOperational, Verdict::Failure)
    );
    assert_eq!(
        rules(push),
        ["push-ignored-with-or-true", "cachix-auth-failed"]
    );
    assert!(
        push.reasoning.contains("Root: `cachix-auth-failed`"),
        "the error, not the echoed command line, is the root: {}",
        push.reasoning
    );
    assert!(
        push.reasoning
            .contains("failure by context: Cachix is the primary cache"),
        "{}",
        push.reasoning
    );
    let starved = find(&a, "nix-substitution-failed");
    assert_eq!(starved.verdict, Verdict::Failure);
    assert_eq!(starved.caused_by.as_deref(), Some(push.id.as_str()));
    assert_eq!(starved.hosts, ["ci-b"]);
    // The trace's and the journal's `Job failed` are the same job, explained by the
    // substitution failure: they call no fix of their own.
    assert_eq!(
        starved
            .evidence
            .iter()
            .filter(|e| e.rule == "job-failed")
            .count(),
        2
    );
    assert!(starved.fixes.is_empty(), "{:?}", starved.fixes);
    assert_eq!(
        fix_ids(&a),
        ["fix-cachix-token", "drop-or-true-from-primary-push"]
    );
}

/// A global OOM (dmesg `--time-format iso`, +02:00) kills nix-daemon; systemd's start limit
/// takes the socket down (journal short-iso); a job whose trace has only section markers
/// fails on the socket. Two days later an unrelated job on another host hangs until its
/// timeout with nothing logged about why.
#[test]
fn global_oom_downs_the_daemon_socket_and_an_unexplained_stuck_job() {
    let a = analyze("oom-daemon-socket", None);
    assert_eq!(a.incidents.len(), 2, "{}", gaplog::report::json(&a));
    let oom = &a.incidents[0];
    assert_eq!(
        (oom.gap, oom.verdict),
        (Gap::DeclaredVsOperational, Verdict::Failure)
    );
    assert!(
        oom.reasoning.starts_with("Root: `kernel-oom-kill`"),
        "{}",
        oom.reasoning
    );
    assert!(
        oom.root_cause.contains("nix-daemon (pid 1187)"),
        "{}",
        oom.root_cause
    );
    for r in [
        "systemd-unit-oom-kill",
        "systemd-unit-failed",
        "nix-daemon-socket-unreachable",
        "job-failed",
    ] {
        assert!(rules(oom).contains(&r), "{r}: {:?}", rules(oom));
    }
    // A global OOM is not the daemon's own cgroup limit: no parallelism or limit fixes.
    assert!(!rules(oom).contains(&"nix-daemon-memcg-oom"));
    assert_eq!(oom.fixes, ["stop-memory-hogs", "restart-nix-daemon-socket"]);
    let stuck = &a.incidents[1];
    assert_eq!(rules(stuck), ["job-failed", "job-timed-out"]);
    assert_eq!(
        (stuck.gap, stuck.verdict, stuck.caused_by.as_deref()),
        (Gap::DeclaredVsOperational, Verdict::Failure, None)
    );
    assert!(
        stuck.reasoning.starts_with("Root: `job-timed-out`"),
        "the classified rule wins over the generic job-failed on one line: {}",
        stuck.reasoning
    );
    assert_eq!(
        fix_ids(&a),
        [
            "stop-memory-hogs",
            "restart-nix-daemon-socket",
            "unstick-jobs"
        ]
    );
}

const LOOPBACK_ENDPOINT: &str = "INFO attic_server::config: Using configurations: ServerConfig { listen: [::]:8083, api_endpoint: Some(\"http://127.0.0.1:8083/\") }";

/// The cache server's log on the job's own host makes the bridge address the fix (and it
/// supersedes the generic endpoint fixes); the same server log on another host calls the
/// endpoint fix, then the substituter fix.
#[test]
fn bridge_fix_needs_the_cache_server_on_the_jobs_host() {
    let docker: [(&str, &str); 1] = [("executor", "docker")];
    let run = |server_host: &str| {
        let tl = timeline(&[
            (
                "srv/atticd.log",
                "atticd",
                &[Ev {
                    t: 0,
                    host: server_host,
                    unit: "atticd",
                    msg: LOOPBACK_ENDPOINT,
                    fields: &[],
                }],
            ),
            (
                "ci/job-31.log",
                "gitlab-trace",
                &[Ev {
                    t: 1200,
                    host: "runner-1",
                    unit: "",
                    msg: REFUSED,
                    fields: &docker,
                }],
            ),
        ]);
        reason(&tl)
    };
    let (inc, fixes) = run("runner-1");
    assert_eq!(inc.len(), 1, "{inc:#?}");
    assert_eq!(inc[0].gap, Gap::IdentityVsAddress);
    assert!(
        inc[0]
            .reasoning
            .starts_with("Root: `attic-endpoint-loopback`")
    );
    assert_eq!(fixes, ["use-bridge-address-for-cache"]);
    let (inc, fixes) = run("cache-vm");
    assert_eq!(inc.len(), 1, "linked across hosts: {inc:#?}");
    assert_eq!(fixes, ["set-attic-api-endpoint", "reconfigure-substituter"]);
    // A different port is a different service: no link, the endpoint alone is expected.
    let other_port = LOOPBACK_ENDPOINT.replace("8083/", "9000/");
    let tl = timeline(&[
        (
            "srv/atticd.log",
            "atticd",
            &[Ev {
                t: 0,
                host: "cache-vm",
                unit: "atticd",
                msg: &other_port,
                fields: &[],
            }],
        ),
        (
            "ci/job-31.log",
            "gitlab-trace",
            &[Ev {
                t: 1200,
                host: "runner-1",
                unit: "",
                msg: REFUSED,
                fields: &docker,
            }],
        ),
    ]);
    let (inc, fixes) = reason(&tl);
    let v: Vec<Verdict> = inc.iter().map(|i| i.verdict).collect();
    assert_eq!(v, [Verdict::Expected, Verdict::Failure]);
    assert_eq!(fixes, ["reconfigure-substituter"]);
}

const SERVER_500: &str = "ERROR tower_http::trace::on_failure: response failed classification=Status code: 500 Internal Server Error latency=3 ms";

/// A job failure with nothing of its own explaining it joins the cache server failing at
/// the time (a fallback link); a job failure with its own cause does not.
#[test]
fn fallback_link_explains_only_unexplained_job_failures() {
    let tl = timeline(&[
        (
            "cache/atticd.log",
            "atticd",
            &[
                Ev {
                    t: 0,
                    host: "cache-1",
                    unit: "atticd",
                    msg: SERVER_500,
                    fields: &[],
                },
                Ev {
                    t: 400,
                    host: "cache-1",
                    unit: "atticd",
                    msg: SERVER_500,
                    fields: &[],
                },
            ],
        ),
        (
            "ci/runner.log",
            "gitlab-runner",
            &[Ev {
                t: 300,
                host: "ci-1",
                unit: "gitlab-runner",
                msg: "WARNING: Job failed: exit code 1                    job=51 runner=abc",
                fields: &[("job", "51")],
            }],
        ),
        (
            "ci/job-52.log",
            "gitlab-trace",
            &[
                Ev {
                    t: 310,
                    host: "ci-2",
                    unit: "",
                    msg: "/bin/sh: 1: cachix: not found",
                    fields: &[("job", "52")],
                },
                Ev {
                    t: 311,
                    host: "ci-2",
                    unit: "",
                    msg: "ERROR: Job failed: exit code 127",
                    fields: &[("job", "52")],
                },
            ],
        ),
    ]);
    let (inc, fixes) = reason(&tl);
    assert_eq!(inc.len(), 2, "{inc:#?}");
    let cache = inc
        .iter()
        .find(|i| i.hosts.contains(&"cache-1".to_string()))
        .unwrap();
    assert_eq!(
        cache.hosts,
        ["cache-1", "ci-1"],
        "job 51 joins the failing cache"
    );
    assert!(
        cache
            .reasoning
            .contains("Link `failing-cache-fails-other-jobs`"),
        "{}",
        cache.reasoning
    );
    let own = inc.iter().find(|i| i.hosts == ["ci-2"]).unwrap();
    assert!(own.reasoning.starts_with("Root: `job-command-not-found`"));
    assert_eq!(fixes, ["declare-job-dependencies"]);
}
