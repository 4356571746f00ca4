//! Parsing a source in chunks on several threads (`Format::split`) gives exactly what one
//! sequential parse gives: same events (lines, offsets, times, hosts, boots, units,
//! messages, fields), same line accounting, same examples and issues. Checked on every
//! fixture, alone and repeated (so that boot markers, OOM reports and continuation
//! entries fall on both sides of chunk boundaries), at many chunk sizes. Also the
//! one-pass activity aggregation against a plain grouping.

use gaplog::formats::{self, FORMATS, parse_chunked, sniff};
use gaplog::ingest::{self, IngestOptions, Source};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).to_path_buf()
}

/// Everything a parse produced, with atoms resolved to strings and texts to bytes.
fn digest(src: &Source, s: &formats::Sink<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for e in &s.events {
        let fields: Vec<String> = s
            .fields
            .get(e.fields)
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    s.atoms.get(*k),
                    String::from_utf8_lossy(v.bytes(&src.bytes))
                )
            })
            .collect();
        out.push(format!(
            "{}-{} @{} t={} {:?} mono={:?} host={} boot={} unit={} pid={:?} {:?} fmt={} inner={:?} msg={:?} {:?}",
            e.line,
            e.end_line,
            e.offset,
            e.time,
            e.clock,
            e.mono_us,
            s.atoms.get(e.host),
            s.atoms.get(e.boot),
            s.atoms.get(e.unit),
            e.pid,
            e.severity,
            e.format,
            e.inner,
            String::from_utf8_lossy(e.message.bytes(&src.bytes)),
            fields
        ));
    }
    out.push(format!("{:?}", s.counts));
    out.push(format!("{:?}", s.unparsed_examples));
    out.push(format!("{:?}", s.issues));
    out
}

/// Every fixture of the journal and kernel areas and the mixed folder, decompressed.
fn sources() -> Vec<Source> {
    let found = ingest::discover(&[
        fixtures().join("journal"),
        fixtures().join("kernel"),
        fixtures().join("mixed"),
    ]);
    found
        .iter()
        .enumerate()
        .map(|(i, f)| ingest::read(i as u32, f, &IngestOptions::default()))
        .filter(|s| s.lines > 0 && s.issues.is_empty())
        .collect()
}

#[test]
fn chunked_parse_equals_sequential_parse_on_every_fixture() {
    let mut split_formats = std::collections::BTreeSet::new();
    let mut checked = 0;
    for base in sources() {
        let Some(fi) = sniff(&base.bytes) else {
            continue;
        };
        // The fixture alone, and three copies in a row (a second boot marker, OOM report
        // and continuation entries after the first copy's).
        let mut tripled = base.bytes.to_vec();
        tripled.extend_from_slice(&base.bytes);
        tripled.extend_from_slice(&base.bytes);
        for bytes in [base.bytes.to_vec(), tripled] {
            let src = Source::from_bytes(0, base.path.clone(), bytes);
            let (seq, n) = parse_chunked(&src, fi, usize::MAX);
            assert_eq!(n, 1);
            let want = digest(&src, &seq);
            assert_eq!(seq.counts.total(), src.lines, "{}", src.path);
            for chunk in [1, 7, 64, 333, 1000, 4096] {
                let (got, n) = parse_chunked(&src, fi, chunk);
                if n > 1 {
                    split_formats.insert(FORMATS[fi as usize].name());
                }
                let got = digest(&src, &got);
                assert_eq!(
                    got.len(),
                    want.len(),
                    "{} chunk {chunk}: event count",
                    src.path
                );
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g, w, "{} chunk {chunk} ({n} chunks)", src.path);
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} parses compared");
    // The comparison is not vacuous: each splitting format was really parsed in chunks.
    for name in ["journal-json", "journal-export", "journal-text", "kernel"] {
        assert!(
            split_formats.contains(name),
            "{name} never split: {split_formats:?}"
        );
    }
}

#[test]
fn chunk_boundaries_are_line_starts_and_cover_the_input() {
    for src in sources() {
        let Some(fi) = sniff(&src.bytes) else {
            continue;
        };
        let f = FORMATS[fi as usize];
        let ranges = formats::chunks(f, &src.bytes, 100);
        assert_eq!(ranges.first().map(|r| r.start), Some(0), "{}", src.path);
        assert_eq!(ranges.last().map(|r| r.end), Some(src.bytes.len()));
        for w in ranges.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            assert_eq!(src.bytes[w[1].start - 1], b'\n', "{}", src.path);
        }
    }
}

#[test]
fn a_journal_json_object_is_never_cut() {
    // An object spread over two lines whose second line starts with `{`: a split there
    // would parse the second line twice; the parse falls back to one piece.
    let line = r#"{"__REALTIME_TIMESTAMP":"1774346400000000","_HOSTNAME":"h","MESSAGE":"x"}"#;
    let mut text = String::new();
    for _ in 0..20 {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str("{\"__REALTIME_TIMESTAMP\":\"1774346400000000\",\"MESSAGE\":\n");
    text.push_str("{\"a\":\"b\"},\"_HOSTNAME\":\"h\"}\n");
    for _ in 0..20 {
        text.push_str(line);
        text.push('\n');
    }
    let src = Source::from_bytes(0, "j.json", text.into_bytes());
    let fi = formats::by_name("journal-json").unwrap().0;
    let (seq, _) = parse_chunked(&src, fi, usize::MAX);
    let want = digest(&src, &seq);
    for chunk in 1..src.bytes.len() {
        let (got, _) = parse_chunked(&src, fi, chunk);
        assert_eq!(digest(&src, &got), want, "chunk {chunk}");
    }
}

/// The per-minute activity equals a plain grouping of the kept, timed events by
/// (host, source path, minute).
#[test]
fn activity_counts_every_timed_event_once() {
    let (tl, _) =
        gaplog::load(&[fixtures().join("mixed")], &gaplog::Options::default()).expect("loads");
    let mut want: std::collections::BTreeMap<(String, String, i64), (u64, u64)> =
        Default::default();
    for &r in &tl.order {
        if !tl.has_time(r) {
            continue;
        }
        let e = tl.event(r);
        let c = want
            .entry((
                tl.host(r).to_string(),
                tl.path(r).to_string(),
                e.time.div_euclid(60_000_000_000) * 60,
            ))
            .or_default();
        c.0 += 1;
        c.1 += u64::from(e.severity.is_error());
    }
    assert!(!want.is_empty());
    let mut got: std::collections::BTreeMap<(String, String, i64), (u64, u64)> = Default::default();
    let acts = gaplog::timeline::activity(&tl);
    for a in &acts {
        assert!(a.per_minute.windows(2).all(|w| w[0].0 < w[1].0));
        for &(m, n) in &a.per_minute {
            got.entry((a.host.clone(), a.source.clone(), m))
                .or_default()
                .0 += n;
        }
        for &(m, n) in &a.errors_per_minute {
            assert!(n > 0);
            got.entry((a.host.clone(), a.source.clone(), m))
                .or_default()
                .1 += n;
        }
    }
    assert_eq!(got, want);
    let keys: Vec<_> = acts.iter().map(|a| (&a.host, &a.source)).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
}
