//! The journal formats on fixtures rendered by the real tools (`tests/fixtures/journal/make.sh`:
//! systemd-journal-remote and journalctl): every layout yields the same events, accounting
//! adds up on every fixture, compressed copies parse identically, and the year rollover,
//! the Berlin DST change, boots, CRLF, invalid UTF-8 and binary fields come out right.

use gaplog::event::ClockMethod;
use gaplog::formats::{Parsed, name_of, parse_source};
use gaplog::ingest::{self, IngestOptions, Source};
use std::path::{Path, PathBuf};

pub fn fixture_dir(area: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(area)
}

/// Reads a fixture the way the CLI does (decompressing it).
pub fn read(path: &Path) -> Source {
    let found = ingest::discover(&[path.to_path_buf()]);
    ingest::read(0, &found[0], &IngestOptions::default())
}

pub fn parse(path: &Path) -> (Source, Parsed) {
    let src = read(path);
    let p = parse_source(&src, None);
    (src, p)
}

/// The fixture files of an area (scripts excluded), sorted.
pub fn fixtures(area: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixture_dir(area))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("sh" | "py")))
        .collect();
    v.sort();
    v
}

fn is_compressed(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("gz" | "zst" | "xz")
    )
}

/// A comparable digest of a parse: format, counts and every event's position, time,
/// clock, unit, host, boot and message.
pub fn digest(src: &Source, p: &Parsed) -> Vec<String> {
    let mut v = vec![format!(
        "{:?} {:?} issues={:?}",
        p.format.map(name_of),
        p.counts,
        p.issues
    )];
    for e in &p.events {
        v.push(format!(
            "{}-{} {} {:?} {:?} {} {} {} {:?}",
            e.line,
            e.end_line,
            e.time,
            e.clock,
            e.mono_us,
            p.atoms.get(e.unit),
            p.atoms.get(e.host),
            p.atoms.get(e.boot),
            String::from_utf8_lossy(e.message.bytes(&src.bytes))
        ));
    }
    v
}

#[test]
fn every_fixture_accounts_for_every_line() {
    for area in ["journal", "kernel", "mixed"] {
        for path in fixtures(area) {
            let (src, p) = parse(&path);
            assert!(src.lines > 0, "{}", path.display());
            assert!(p.format.is_some(), "{}: not recognised", path.display());
            assert_eq!(
                p.counts.parsed + p.counts.continuation + p.counts.unparsed,
                src.lines,
                "{}",
                path.display()
            );
            assert!(
                p.issues
                    .iter()
                    .all(|i| !i.message.contains("internal error")),
                "{}: {:?}",
                path.display(),
                p.issues
            );
        }
    }
}

#[test]
fn compressed_copies_parse_identically() {
    let mut n = 0;
    for area in ["journal", "kernel"] {
        for path in fixtures(area).into_iter().filter(|p| is_compressed(p)) {
            let plain = path.with_extension("");
            let (a, pa) = parse(&plain);
            let (b, pb) = parse(&path);
            assert_eq!(digest(&a, &pa), digest(&b, &pb), "{}", path.display());
            n += 1;
        }
    }
    // every plain fixture has its compressed copy
    let plain = ["journal", "kernel"]
        .iter()
        .flat_map(|a| fixtures(a))
        .filter(|p| !is_compressed(p))
        .count();
    assert_eq!(n, plain);
}

fn journal(name: &str) -> (Source, Parsed) {
    parse(&fixture_dir("journal").join(name))
}

/// Event messages' first lines of a parse.
fn first_lines(src: &Source, p: &Parsed) -> Vec<String> {
    p.events
        .iter()
        .map(|e| {
            let m = String::from_utf8_lossy(e.message.bytes(&src.bytes)).into_owned();
            m.lines().next().unwrap_or("").to_string()
        })
        .collect()
}

#[test]
fn every_mode_yields_the_same_events() {
    let (src, p) = journal("multi-boot.export");
    assert_eq!(name_of(p.format.unwrap()), "journal-export");
    // 23 entries: the 5 lines of the OOM report make one event, and atticd's span-trace
    // line folds into its error (the atticd format's `is_continuation`)
    assert_eq!(p.events.len(), 18);
    let want = first_lines(&src, &p);
    let exact: Vec<i64> = p.events.iter().map(|e| e.time).collect();
    for (mode, format) in [
        ("json", "journal-json"),
        ("json-pretty", "journal-json"),
        ("json-seq", "journal-json"),
        ("json-sse", "journal-json"),
        ("short", "journal-text"),
        ("short-precise", "journal-text"),
        ("short-full", "journal-text"),
        ("short-iso", "journal-text"),
        ("short-iso-precise", "journal-text"),
        ("short-unix", "journal-text"),
        ("short-monotonic", "journal-text"),
    ] {
        let (s, q) = journal(&format!("multi-boot.{mode}"));
        assert_eq!(name_of(q.format.unwrap()), format, "{mode}");
        assert_eq!(q.counts.unparsed, 0, "{mode}");
        let got = first_lines(&s, &q);
        if mode.starts_with("json") {
            assert_eq!(got, want, "{mode}");
        } else {
            // text modes show invalid UTF-8 as journalctl's blob note
            for (g, w) in got.iter().zip(&want) {
                if g != "[24B blob data]" {
                    assert_eq!(g, w, "{mode}");
                }
            }
            assert_eq!(got.len(), want.len(), "{mode}");
        }
        if matches!(
            mode,
            "json" | "json-pretty" | "json-seq" | "json-sse" | "short-iso-precise" | "short-unix"
        ) {
            let t: Vec<i64> = q.events.iter().map(|e| e.time).collect();
            assert_eq!(t, exact, "{mode}");
        }
    }
}

#[test]
fn binary_fields_boots_units_and_invalid_utf8() {
    let (src, p) = journal("multi-boot.export");
    let msg =
        |i: usize| String::from_utf8_lossy(p.events[i].message.bytes(&src.bytes)).into_owned();
    // ANSI-coloured message arrives binary-encoded; decoded, stripped, refined by the
    // atticd format (its own timestamp and level removed), with the span trace folded in
    assert_eq!(
        msg(3),
        "Storage error: File exists (os error 17)\n   0: tokio::task::runtime.spawn"
    );
    assert_eq!(p.events[3].severity, gaplog::event::Severity::Err);
    assert_eq!(p.atoms.get(p.events[3].unit), "atticd.service");
    assert_eq!(p.events[3].pid, Some(812));
    // multi-line binary MESSAGE
    assert_eq!(msg(4).lines().count(), 3);
    // invalid UTF-8, replaced
    assert_eq!(msg(5), "bad byte \u{fffd} in the middle");
    // PID 1 about a unit
    let failed = p
        .events
        .iter()
        .find(|e| e.message.bytes(&src.bytes).ends_with(b"'oom-kill'."))
        .unwrap();
    assert_eq!(p.atoms.get(failed.unit), "systemd");
    assert_eq!(
        failed.field(&p.fields, &p.atoms, "unit", &src.bytes),
        Some(&b"node-app.service"[..])
    );
    assert_eq!(
        failed.field(&p.fields, &p.atoms, "message_id", &src.bytes),
        Some(&b"d9b373ed55a64feb8242e02dbe79a49c"[..])
    );
    // kernel entries: unit kernel, printk stamp as mono_us, the OOM report regrouped
    let oom = p
        .events
        .iter()
        .find(|e| e.message.bytes(&src.bytes).starts_with(b"node invoked"))
        .unwrap();
    assert_eq!(p.atoms.get(oom.unit), "kernel");
    assert_eq!(oom.mono_us, Some(100_000_001));
    assert_eq!(
        oom.field(&p.fields, &p.atoms, "oom.victim_pid", &src.bytes),
        Some(&b"4242"[..])
    );
    assert_eq!(
        oom.field(&p.fields, &p.atoms, "oom.cgroup", &src.bytes),
        Some(&b"/system.slice/node-app.service"[..])
    );
    // three boots, two hosts
    let mut boots: Vec<&str> = p.events.iter().map(|e| p.atoms.get(e.boot)).collect();
    boots.sort();
    boots.dedup();
    assert_eq!(boots, ["a".repeat(32), "b".repeat(32), "c".repeat(32)]);
    // atticd's own tracing stamp (01:00:30.000000, the moment of logging on the same host
    // clock) wins over the journal's _SOURCE_REALTIME_TIMESTAMP (01:00:29.999) and receive time
    let db = p
        .events
        .iter()
        .find(|e| e.message.bytes(&src.bytes).ends_with(b"from pool"))
        .unwrap();
    assert_eq!(
        gaplog::time::rfc3339(db.time),
        "2026-03-29T01:00:30.000000Z"
    );
}

#[test]
fn boot_markers_set_the_boot_of_following_text_events() {
    let (src, p) = journal("multi-boot.short");
    let boot = |needle: &[u8]| {
        let e = p
            .events
            .iter()
            .find(|e| e.message.bytes(&src.bytes).starts_with(needle))
            .unwrap();
        p.atoms.get(e.boot).to_string()
    };
    // before the first marker journalctl prints none: the boot is unknown
    assert_eq!(boot(b"Accepted publickey"), "");
    assert_eq!(boot(b"Linux version 6.8.0"), "c".repeat(32));
    assert_eq!(boot(b"Started atticd.service"), "");
    assert_eq!(boot(b"atticd.service: Main process"), "b".repeat(32));
    assert_eq!(p.counts.parsed, 18 + 5, "events plus 5 boot markers");
}

fn load(paths: &[PathBuf], opts: &gaplog::Options) -> gaplog::timeline::Timeline {
    gaplog::load(paths, opts).unwrap().0
}

fn times_by_message(tl: &gaplog::timeline::Timeline) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = tl
        .order
        .iter()
        .map(|&r| {
            let m = tl.message(r);
            (m.lines().next().unwrap_or("").to_string(), tl.event(r).time)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn year_rollover_in_short() {
    let path = fixture_dir("journal").join("year-rollover.short");
    let mut o = gaplog::Options::default();
    o.formats
        .push(("year-rollover".into(), "journal-text".into()));
    o.clock.year = Some(2025);
    let tl = load(&[path], &o);
    let first = tl.event(tl.order[0]);
    let last = tl.event(*tl.order.last().unwrap());
    assert_eq!(first.clock, ClockMethod::InferredYear);
    assert_eq!(
        gaplog::time::rfc3339(first.time),
        "2025-12-31T23:58:04.000000Z"
    );
    assert_eq!(
        gaplog::time::rfc3339(last.time),
        "2026-01-01T00:00:10.000000Z"
    );
}

#[test]
fn berlin_dst_renderings_agree_with_the_export() {
    let dir = fixture_dir("journal");
    let export = load(
        &[dir.join("multi-boot.export")],
        &gaplog::Options::default(),
    );
    let secs = |v: Vec<(String, i64)>| -> Vec<(String, i64)> {
        v.into_iter()
            .map(|(m, t)| (m, t.div_euclid(1_000_000_000)))
            .filter(|(m, _)| !m.starts_with("bad byte") && !m.starts_with("[24B"))
            .collect()
    };
    let want = secs(times_by_message(&export));
    assert_eq!(want.len(), 17);
    for (name, zone) in [
        ("berlin-dst.short", true),
        ("berlin-dst.short-iso", false),
        ("berlin-dst-v255.short-iso", false),
        ("berlin-dst.short-full", false),
    ] {
        let mut o = gaplog::Options::default();
        if zone {
            o.clock.tz.push((String::new(), chrono_tz::Europe::Berlin));
            o.clock.year = Some(2026);
        }
        let tl = load(&[dir.join(name)], &o);
        assert_eq!(secs(times_by_message(&tl)), want, "{name}");
    }
}

#[test]
fn crlf_parses_like_lf() {
    let (a, pa) = journal("crlf.short-precise");
    let (b, pb) = journal("multi-boot.short-precise");
    assert_eq!(first_lines(&a, &pa), first_lines(&b, &pb));
    assert_eq!(pa.counts, pb.counts);
}

#[test]
fn short_monotonic_is_aligned_per_boot_from_the_export() {
    let dir = fixture_dir("journal");
    let tl = load(
        &[
            dir.join("multi-boot.export"),
            dir.join("multi-boot.short-monotonic"),
        ],
        &gaplog::Options::default(),
    );
    let (e, m) = (&tl.sources[0], &tl.sources[1]);
    let find = |sd: &gaplog::timeline::SourceData, needle: &[u8]| {
        sd.events
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                sd.texts
                    .get(*i)
                    .is_some_and(|k| k.message.bytes(&sd.src.bytes).starts_with(needle))
            })
            .map(|(_, e)| (e.time, e.clock, sd.parsed.atoms.get(e.boot).to_string()))
            .collect::<Vec<_>>()
    };
    // boot B and C events (after their markers) land exactly where the export has them
    for needle in [
        &b"atticd.service: Main process"[..],
        b"Checking for jobs",
        b"Job failed",
    ] {
        let want = find(e, needle);
        let got = find(m, needle);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, want[0].0, "{}", String::from_utf8_lossy(needle));
        assert_eq!(got[0].1, ClockMethod::AlignedMonotonic);
        assert_eq!(got[0].2, want[0].2);
    }
    // so the timeline keeps one copy of each
    assert!(tl.duplicates >= 3, "{}", tl.duplicates);
    // Known limit: events before the first `-- Boot` marker have no boot id; they are
    // aligned with the source's first known boot (journalctl never names the first boot).
    assert_eq!(find(m, b"Accepted publickey")[0].2, "");
}
