//! The six outage sets under `samples/`: each README says what a correct analysis concludes
//! (incidents, gaps, verdicts, causes, fix ids and their order); these tests hold the
//! analysis to it. They check the conclusions, not incidental details (incident ids, counts
//! of routine signals, titles), so they fail when the reasoning regresses and survive
//! unrelated changes.
//!
//! Three sets have zone-less logs (`journalctl -o short` in Asia/Tokyo, `short-precise` in
//! Asia/Kolkata, `dmesg -T`/kern.log in EST): the runs pass no `--tz`, so they also hold the
//! clock stage to inferring those offsets from the lines that carry an exact time.

use gaplog::analysis::{Analysis, Gap, Incident, Verdict};
use std::path::PathBuf;

fn sample_dir(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/samples")).join(name)
}

/// Analyzes a sample with default options, as the README's command does.
fn analyze(name: &str) -> Analysis {
    gaplog::analyze(&[sample_dir(name)], &gaplog::Options::default())
        .expect("the sample analyzes")
        .0
}

fn has(i: &Incident, rule: &str) -> bool {
    i.evidence.iter().any(|e| e.rule == rule)
}

/// The root rule, as the reasoning's first line names it.
fn root(i: &Incident) -> &str {
    i.reasoning
        .strip_prefix("Root: `")
        .and_then(|r| r.split('`').next())
        .unwrap_or("")
}

fn fix_ids(a: &Analysis) -> Vec<&str> {
    a.fix_order.iter().map(|f| f.id.as_str()).collect()
}

fn failures(a: &Analysis) -> Vec<&Incident> {
    a.incidents
        .iter()
        .filter(|i| i.verdict == Verdict::Failure)
        .collect()
}

/// The only incident holding a signal of `rule`, else a panic naming what is there.
fn the<'a>(a: &'a Analysis, rule: &str) -> &'a Incident {
    let found: Vec<&Incident> = a.incidents.iter().filter(|i| has(i, rule)).collect();
    assert_eq!(
        found.len(),
        1,
        "{rule} is in {:?}",
        found.iter().map(|i| &i.id).collect::<Vec<_>>()
    );
    found[0]
}

fn summary(a: &Analysis) -> String {
    a.incidents
        .iter()
        .map(|i| {
            format!(
                "{} {} {} root={} caused_by={:?} fixes={:?}\n",
                i.id,
                i.gap.as_str(),
                i.verdict.as_str(),
                root(i),
                i.caused_by,
                i.fixes
            )
        })
        .collect()
}

/// `ids` appear in the plan in this relative order.
fn assert_in_order(a: &Analysis, ids: &[&str]) {
    let plan = fix_ids(a);
    let pos = |id: &str| {
        plan.iter()
            .position(|f| *f == id)
            .unwrap_or_else(|| panic!("no fix {id} in {plan:?}\n{}", summary(a)))
    };
    for w in ids.windows(2) {
        assert!(pos(w[0]) < pos(w[1]), "{} before {}: {plan:?}", w[0], w[1]);
    }
}

/// The fix ids the README's conclusions name, in the order they are written (backticked
/// ids in the paragraph(s) after "Fix order" that are fixes of the playbook).
fn readme_fix_ids(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(sample_dir(name).join("README.md")).unwrap();
    let conclusions = text
        .split("## What a correct analysis concludes")
        .nth(1)
        .expect("a conclusions section");
    let Some(at) = conclusions.find("Fix order") else {
        return Vec::new();
    };
    let cat = gaplog::signals::Catalog::embedded().expect("the embedded grammar compiles");
    let para = conclusions[at..].split("\n\n").next().unwrap_or("");
    para.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| cat.playbook.fixes.iter().any(|f| f.id == *w))
        .map(str::to_string)
        .collect()
}

#[test]
fn tale_oom_chain_tokens_ec2_loopback_and_expected_noise() {
    let a = analyze("tale-2026-03-25");
    let s = summary(&a);

    // The OOM: etcd's growth, both kills and the killed job 4709 are one incident.
    let oom = the(&a, "etcd-slow-apply");
    assert_eq!(
        (oom.gap, oom.verdict),
        (Gap::DeclaredVsOperational, Verdict::Failure)
    );
    for r in ["kubelet-memory-pressure", "kernel-oom-kill", "job-failed"] {
        assert!(has(oom, r), "{r} not in the OOM incident\n{s}");
    }
    assert_eq!(oom.fixes, ["limit-etcd-memory"], "{s}");

    // The rebuild chain: tailscaled restart -> SSH drop mid-copy -> corrupt store -> lost
    // agenix secrets.
    let chain = the(&a, "tailscaled-restarted");
    assert_eq!(
        (chain.gap, chain.verdict),
        (Gap::DeclaredVsOperational, Verdict::Failure)
    );
    assert_eq!(root(chain), "tailscaled-restarted", "{}", chain.reasoning);
    for r in [
        "ssh-connection-lost",
        "nix-copy-interrupted",
        "nix-store-path-missing",
        "nix-store-path-invalid",
        "nix-db-foreign-key-failed",
        "agenix-decrypt-failed",
        "secret-file-missing",
    ] {
        assert!(has(chain, r), "{r} not in the chain: {:?}", chain.chain);
    }
    assert!(chain.fixes.contains(&"repair-nix-store".to_string()));
    assert!(chain.fixes.contains(&"rebuild-generation".to_string()));

    // Runner token and attic token are consequences of the lost secrets.
    let runner = the(&a, "runner-token-invalid-header");
    assert_eq!(runner.caused_by.as_deref(), Some(chain.id.as_str()), "{s}");
    assert_eq!(runner.fixes, ["fix-runner-token-newline"]);
    let token = the(&a, "attic-jwt-rejected");
    assert_eq!(token.caused_by.as_deref(), Some(chain.id.as_str()), "{s}");
    assert!(has(token, "attic-push-unauthorized"), "{s}");
    assert_eq!(token.fixes, ["regenerate-attic-token"]);

    // The EC2 metadata stall is its own root cause, not the token's.
    let ec2 = the(&a, "attic-storage-identity-timeout");
    assert_ne!(ec2.id, token.id, "{s}");
    assert_eq!(root(ec2), "attic-storage-identity-timeout");
    assert_eq!(
        (ec2.gap, ec2.verdict),
        (Gap::DeclaredVsOperational, Verdict::Failure)
    );
    assert!(has(ec2, "attic-server-error"));
    assert!(!has(ec2, "attic-jwt-rejected") && !has(ec2, "attic-push-unauthorized"));
    assert_eq!(ec2.fixes, ["disable-ec2-metadata"]);

    // Docker loopback and root without a token: identity vs address.
    let lo = the(&a, "cache-connection-refused");
    assert_eq!(
        (lo.gap, lo.verdict),
        (Gap::IdentityVsAddress, Verdict::Failure)
    );
    assert_eq!(lo.fixes, ["use-bridge-address-for-cache"]);
    let rootpush = the(&a, "attic-client-not-configured");
    assert_eq!(rootpush.gap, Gap::IdentityVsAddress);
    assert_eq!(rootpush.fixes, ["push-attic-as-ci-user"]);

    // Expected: anonymous 401s, the RSS 429, the auto-cancelled job.
    for r in [
        "cache-http-401",
        "http-429-rate-limited",
        "job-auto-cancelled",
    ] {
        let found: Vec<&Incident> = a
            .incidents
            .iter()
            .filter(|i| has(i, r) && !has(i, "attic-jwt-rejected"))
            .collect();
        assert!(!found.is_empty(), "no {r}");
        for i in found {
            assert_eq!(
                (i.gap, i.verdict),
                (Gap::ExpectedVsFailure, Verdict::Expected),
                "{r} in {}",
                i.id
            );
        }
    }

    // Hidden failures: `|| true` in jobs 4711 (401) and 4713 (500) is a failure, in the
    // other jobs it is expected.
    for i in a
        .incidents
        .iter()
        .filter(|i| has(i, "push-ignored-with-or-true"))
    {
        for e in i
            .evidence
            .iter()
            .filter(|e| e.rule == "push-ignored-with-or-true")
        {
            let hidden = e.source.contains("pages-4711") || e.source.contains("pages-4713");
            assert_eq!(
                i.verdict == Verdict::Failure,
                hidden,
                "{}:{} in {}",
                e.source,
                e.line,
                i.id
            );
        }
    }

    assert_in_order(
        &a,
        &[
            "limit-etcd-memory",
            "repair-nix-store",
            "rebuild-generation",
            "fix-runner-token-newline",
            "regenerate-attic-token",
            "disable-ec2-metadata",
        ],
    );
    let plan = fix_ids(&a);
    for id in readme_fix_ids("tale-2026-03-25") {
        assert!(plan.contains(&id.as_str()), "README fix {id}: {plan:?}");
    }
    for wrong in ["stop-memory-hogs", "reregister-runner", "unstick-jobs"] {
        assert!(!plan.contains(&wrong), "{wrong}: {plan:?}");
    }
}

#[test]
fn diskfull_is_one_incident_rooted_in_the_full_disk() {
    let a = analyze("diskfull-2024-12-31");
    let s = summary(&a);
    let f = failures(&a);
    assert_eq!(f.len(), 1, "{s}");
    let disk = f[0];
    assert_eq!(disk.gap, Gap::DeclaredVsOperational);
    assert_eq!(root(disk), "no-space-left-on-device", "{}", disk.reasoning);
    for r in [
        "attic-storage-full",
        "attic-database-error",
        "attic-server-error",
        "nix-substituter-http-error",
        "nix-substitution-failed",
        "job-failed",
        "systemd-unit-failed",
    ] {
        assert!(
            has(disk, r),
            "{r} not in the disk incident: {:?}",
            disk.chain
        );
    }
    // Both failed jobs (5121 with its trace, 5123 with only the runner's line).
    let jobs = disk
        .evidence
        .iter()
        .filter(|e| e.rule == "job-failed" && e.source.ends_with("gitlab-runner.json.log"))
        .count();
    assert_eq!(jobs, 2, "{}", disk.reasoning);
    assert!(
        a.incidents.iter().all(|i| i.gap != Gap::Unclassified),
        "{s}"
    );
    assert_eq!(
        fix_ids(&a),
        [
            "free-disk-space",
            "configure-attic-gc",
            "separate-attic-storage-volume"
        ]
    );
    assert_eq!(fix_ids(&a), readme_fix_ids("diskfull-2024-12-31"));
}

#[test]
fn memcg_oom_of_nix_daemon_explains_the_dead_socket() {
    let a = analyze("memcg-nixdaemon-2025-11-14");
    let s = summary(&a);
    let f = failures(&a);
    assert_eq!(f.len(), 1, "{s}");
    let oom = f[0];
    assert_eq!(oom.gap, Gap::DeclaredVsOperational);
    assert_eq!(root(oom), "nix-daemon-memcg-oom", "{}", oom.reasoning);
    for r in [
        "kernel-memcg-oom-kill",
        "nix-daemon-socket-unreachable",
        "nix-connection-ended",
        "job-failed",
    ] {
        assert!(has(oom, r), "{r} not in {:?}", oom.chain);
    }
    // The EOF in the web-copied trace is the killed daemon, not a broken remote copy.
    assert!(
        a.incidents.iter().all(|i| !has(i, "nix-copy-interrupted")),
        "{s}"
    );
    assert_eq!(
        fix_ids(&a),
        [
            "restart-nix-daemon-socket",
            "limit-build-parallelism",
            "raise-nix-daemon-memory-limit"
        ]
    );
    assert_eq!(fix_ids(&a), readme_fix_ids("memcg-nixdaemon-2025-11-14"));
}

#[test]
fn identity_loopback_endpoint_is_the_one_failure() {
    let a = analyze("identity-2025-06-02");
    let s = summary(&a);
    let f = failures(&a);
    assert_eq!(f.len(), 1, "{s}");
    let id = f[0];
    assert_eq!(id.gap, Gap::IdentityVsAddress);
    assert_eq!(root(id), "attic-endpoint-loopback", "{}", id.reasoning);
    assert!(has(id, "cache-connection-refused"));
    assert!(has(id, "job-timed-out"), "the timeout is the consequence");
    for i in a.incidents.iter().filter(|i| has(i, "cache-http-401")) {
        assert_eq!(i.verdict, Verdict::Expected, "{s}");
    }
    assert_eq!(
        fix_ids(&a),
        ["set-attic-api-endpoint", "reconfigure-substituter"]
    );
    assert_eq!(fix_ids(&a), readme_fix_ids("identity-2025-06-02"));
}

#[test]
fn oomd_kill_of_a_user_runner_is_one_incident() {
    let a = analyze("oomd-2026-01-19");
    let s = summary(&a);
    assert_eq!(a.incidents.len(), 1, "{s}");
    let i = &a.incidents[0];
    assert_eq!(
        (i.gap, i.verdict),
        (Gap::DeclaredVsOperational, Verdict::Failure)
    );
    for r in [
        "systemd-oomd-kill",
        "runner-killed-in-user-session",
        "systemd-unit-oom-kill",
        "job-trace-rejected",
    ] {
        assert!(has(i, r), "{r} not in {:?}", i.chain);
    }
    assert!(
        !has(i, "runner-token-rejected"),
        "the 403 is no auth failure"
    );
    assert_eq!(
        fix_ids(&a),
        ["limit-build-parallelism", "move-runner-to-system-service"]
    );
    assert_eq!(fix_ids(&a), readme_fix_ids("oomd-2026-01-19"));
}

#[test]
fn quiet_has_no_failure_and_names_the_expected_errors() {
    let a = analyze("quiet-2025-08-09");
    assert!(failures(&a).is_empty(), "{}", summary(&a));
    assert!(a.fix_order.is_empty());
    for r in [
        "cache-http-401",
        "http-429-rate-limited",
        "job-auto-cancelled",
    ] {
        let i = the(&a, r);
        assert_eq!(
            (i.gap, i.verdict),
            (Gap::ExpectedVsFailure, Verdict::Expected)
        );
    }
}

/// The README parser above reads what the tests compare against: pin it on one README.
#[test]
fn readme_fix_ids_are_read_in_order() {
    assert_eq!(
        readme_fix_ids("tale-2026-03-25"),
        [
            "limit-etcd-memory",
            "repair-nix-store",
            "rebuild-generation",
            "fix-runner-token-newline",
            "regenerate-attic-token",
            "disable-ec2-metadata",
            "use-bridge-address-for-cache",
            "push-attic-as-ci-user"
        ]
    );
    assert!(readme_fix_ids("quiet-2025-08-09").is_empty());
}
