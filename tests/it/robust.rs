//! Robustness: no input makes a parser panic, every line is accounted for, splitting an input
//! at a record boundary gives the same records, and the fuzzers' regression inputs (and every
//! fixture) replay through every format. This is the libFuzzer-compatible harness that runs
//! on the stable toolchain in the normal test suite.

use gaplog::formats::{FORMATS, parse_source};
use gaplog::ingest::Source;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// Checks the invariants of one parse; returns the parse.
fn check(bytes: &[u8], forced: Option<u16>, what: &str) -> gaplog::formats::Parsed {
    let src = Source::from_bytes(0, what, bytes.to_vec());
    let p = parse_source(&src, forced);
    assert_eq!(
        p.counts.total(),
        src.lines,
        "{what}: accounting {:?} vs {} lines (format {:?})",
        p.counts,
        src.lines,
        forced.map(gaplog::formats::name_of)
    );
    assert!(
        !p.issues
            .iter()
            .any(|i| i.message.contains("internal error")),
        "{what}: {:?}",
        p.issues
    );
    let mut prev = 0;
    for e in &p.events {
        assert!(e.line >= 1, "{what}: line 0");
        assert!(
            e.line <= e.end_line,
            "{what}: line {} > end {}",
            e.line,
            e.end_line
        );
        assert!(
            u64::from(e.end_line) <= src.lines,
            "{what}: end line {} past {} lines",
            e.end_line,
            src.lines
        );
        assert!(e.line >= prev, "{what}: events out of line order");
        prev = e.line;
    }
    p
}

/// Every format, forced, plus sniffing.
fn check_all(bytes: &[u8], what: &str) {
    check(bytes, None, what);
    for i in 0..FORMATS.len() {
        check(bytes, Some(i as u16), what);
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    for d in ["tests/fixtures", "tests/hostile", "samples"] {
        files_under(&root.join(d), &mut v);
    }
    v.retain(|p| {
        std::fs::metadata(p)
            .map(|m| m.len() < 4 << 20)
            .unwrap_or(false)
    });
    v
}

#[test]
fn every_fixture_and_regression_input_through_every_format() {
    let files = corpus();
    assert!(files.len() > 20, "corpus too small: {}", files.len());
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        check_all(&bytes, &f.display().to_string());
        // Truncated copies: records cut in the middle.
        for cut in [
            bytes.len() / 3,
            (bytes.len() / 2 + 1).min(bytes.len()),
            bytes.len().saturating_sub(7),
        ] {
            check_all(&bytes[..cut], &format!("{} cut at {cut}", f.display()));
        }
    }
}

/// Realistic lines of every family, for structured random inputs.
const LINES: &[&str] = &[
    "2026-03-25T10:00:00+0100 thinkpad systemd[1]: Started Tailscale node agent.",
    "2026-03-25T10:00:00.123456+01:00 node1 kernel: Out of memory: Killed process 812 (etcd) total-vm:1867272kB, anon-rss:452196kB, file-rss:8kB, shmem-rss:0kB, UID:999 pgtables:1292kB oom_score_adj:0",
    "Mar 25 10:00:01 node1 sshd[5012]: Accepted publickey for xameer from 100.101.2.3 port 52144",
    "Dec 31 23:59:59 host cron[1]: (root) CMD (true)",
    "-- Boot 6c7c6013a26343b29e964691ff25d04c --",
    "-- No entries --",
    "[ 1234.567890] etcd invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=0",
    "[ 1234.567900] Mem-Info:",
    "[ 1234.567950] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
    "[ 1234.568000] [    812]   999   812   466818   113049  1323008        0             0 etcd",
    "[ 1234.568100] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/etcd.service,task=etcd,pid=812,uid=999",
    "6,1234,5678901,-;usb 1-1: new high-speed USB device",
    " SUBSYSTEM=usb",
    "[Tue Mar 24 10:00:00 2026] eth0: link up",
    "2026-03-24T10:00:00,123456+00:00 kernel line",
    "__CURSOR=s=739ad463348b4ceca5a9e69c95a3c93f;i=4ece7",
    "__REALTIME_TIMESTAMP=1774432800123456",
    "__MONOTONIC_TIMESTAMP=4123456",
    "_BOOT_ID=6c7c6013a26343b29e964691ff25d04c",
    "MESSAGE=hello",
    "MESSAGE",
    "",
    "{\"__REALTIME_TIMESTAMP\":\"1774432800123456\",\"MESSAGE\":\"x\",\"_HOSTNAME\":\"h\",\"PRIORITY\":\"3\"}",
    "{\"MESSAGE\":[27,91,51,49,109,120],\"__REALTIME_TIMESTAMP\":\"1\"}",
    "\u{1e}{\"MESSAGE\":null}",
    "data: {\"MESSAGE\":\"sse\"}",
    "\x1b[2m2026-03-25T10:00:00.123456Z\x1b[0m \x1b[31mERROR\x1b[0m attic_server::error: Storage error: dispatch failure: other: identity resolver timed out after 5s",
    "   0: attic_server::api::v1::upload_path::upload_path",
    "           with cache_name=blog-cache",
    "             at server/src/api/v1/upload_path.rs:135",
    "Attic Server 0.1.0 (release)",
    "section_start:1774432800:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage of the job script\x1b[0;m",
    "2026-03-25T10:00:00.123456Z 00O $ nix build .#blog",
    "2026-03-25T10:00:00.123456Z 00O+progress\r",
    "\x1b[0KRunning with gitlab-runner 17.5.0 (abcdef12)",
    "WARNING: Checking for jobs... failed                runner=t9Wkyj-HG status=POST https://gitlab.com/api/v4/jobs/request: 401 Unauthorized",
    "time=\"2026-03-25T10:00:00Z\" level=warning msg=\"Checking for jobs... failed\" runner=abc",
    "{\"level\":\"error\",\"msg\":\"Checking for jobs... forbidden\",\"time\":\"2026-03-25T10:00:00Z\"}",
    "error: executing SQLite statement 'delete from ValidPaths where path = ?': constraint failed, FOREIGN KEY constraint failed (in '/nix/var/nix/db/db.sqlite')",
    "       … while copying path",
    "copying path '/nix/store/7h2g9x0wq8k1zb3m4n5p6r7s8v9y0a1c-hello-2.12' to 'ssh://xameer@100.105.10.61'...",
    "restarting the following units: tailscaled.service",
    "<165>1 2003-10-11T22:14:15.003Z host app - ID47 [x@1 a=\"]\"] msg",
    "<13>Mar 24 10:00:00 host tag: msg",
    "\u{0}\u{0}\u{0}",
    "\u{feff}BOM line",
    "Okt 05 16:41:38 host kernel: ok",
    "9月 18 02:27:12 host app[1]: 日本語",
    "\t\tindented continuation",
];

fn structured() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        8 => prop::sample::select(LINES).prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..80),
        1 => (prop::sample::select(LINES), 0usize..200).prop_map(|(s, cut)| {
            let b = s.as_bytes();
            b[..cut.min(b.len())].to_vec()
        }),
    ];
    (
        prop::collection::vec(line, 0..40),
        prop::sample::select(vec![&b"\n"[..], b"\r\n", b"\r"]),
        any::<bool>(),
    )
        .prop_map(|(lines, term, last)| {
            let mut out = Vec::new();
            for l in &lines {
                out.extend_from_slice(l);
                out.extend_from_slice(term);
            }
            if !last && !out.is_empty() {
                out.truncate(out.len() - term.len());
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_add_up(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_all(&bytes, "random bytes");
    }

    #[test]
    fn log_like_inputs_never_panic_and_add_up(bytes in structured()) {
        check_all(&bytes, "structured");
    }

    /// `analyze` keeps only the quoted events' text; on log-like inputs cut into up to three
    /// sources (one host's lines repeated in two files, kernel lines in both a journal and a
    /// dmesg), its report equals the one from a timeline that kept every text.
    #[test]
    fn keeping_only_quoted_text_never_changes_the_report(
        parts in prop::collection::vec(structured(), 1..4),
    ) {
        let report = |keep| {
            let sources = parts
                .iter()
                .enumerate()
                .map(|(i, b)| Source::from_bytes(i as u32, format!("in{i}.log"), b.clone()))
                .collect();
            let opts = gaplog::Options { threads: Some(1), ..Default::default() };
            let (tl, timings) = gaplog::load_sources_keeping(sources, &opts, keep).unwrap();
            let a = gaplog::analyze_timeline_with(&tl, timings, catalog()).unwrap();
            gaplog::report::json(&a)
        };
        prop_assert_eq!(report(gaplog::Keep::All), report(gaplog::Keep::Quoted(catalog())));
    }
}

fn catalog() -> &'static gaplog::signals::Catalog {
    static C: std::sync::OnceLock<gaplog::signals::Catalog> = std::sync::OnceLock::new();
    C.get_or_init(|| gaplog::signals::Catalog::embedded().expect("the embedded grammar compiles"))
}

/// The comparable content of an event, independent of its position.
fn content(p: &gaplog::formats::Parsed, bytes: &[u8]) -> Vec<(i64, String, u8, String)> {
    p.events
        .iter()
        .map(|e| {
            (
                if e.clock == gaplog::event::ClockMethod::Missing {
                    0
                } else {
                    e.time
                },
                String::from_utf8_lossy(e.message.bytes(bytes)).into_owned(),
                e.severity as u8,
                p.atoms.get(e.unit).to_string(),
            )
        })
        .collect()
}

#[test]
fn splitting_at_a_record_boundary_gives_the_same_records() {
    let mut checked = 0;
    for f in corpus() {
        let bytes = std::fs::read(&f).unwrap();
        if gaplog::ingest::Compression::detect(&bytes) != gaplog::ingest::Compression::None {
            continue;
        }
        let src = Source::from_bytes(0, f.display().to_string(), bytes.clone());
        let whole = parse_source(&src, None);
        let Some(fi) = whole.format else { continue };
        if whole.events.len() < 4 || whole.counts.unparsed > 0 {
            continue;
        }
        // Split before a record in the middle that no earlier record overlaps (an OOM block
        // interleaved with other kernel lines is one record spanning them).
        let mut reach = 0;
        let mut bounds = Vec::new();
        for e in &whole.events {
            if e.line > reach {
                bounds.push(e.offset as usize);
            }
            reach = reach.max(e.end_line);
        }
        let at = bounds[bounds.len() / 2];
        if at == 0 || at >= bytes.len() {
            continue;
        }
        let (a, b) = bytes.split_at(at);
        let sa = Source::from_bytes(0, "a", a.to_vec());
        let sb = Source::from_bytes(1, "b", b.to_vec());
        let pa = parse_source(&sa, Some(fi));
        let pb = parse_source(&sb, Some(fi));
        let mut parts = content(&pa, a);
        parts.extend(content(&pb, b));
        let expect = content(&whole, &bytes);
        // Formats whose records depend on context before them (a trace's job facts, a boot
        // marker) may differ in fields, not in these: time, text, severity, unit.
        assert_eq!(
            parts.len(),
            expect.len(),
            "{}: record count after split at byte {at}",
            f.display()
        );
        for (i, (x, y)) in parts.iter().zip(&expect).enumerate() {
            assert_eq!(x, y, "{}: record {i} after split at byte {at}", f.display());
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} files could be split");
}
