//! `analyze` scans each source for signals and picks its unexplained errors right after
//! parsing, then keeps the text of only the events those chose (`gaplog::digest`). These
//! tests hold it to giving exactly the analysis of a timeline that kept every text
//! (`load` then `analyze_timeline`), on every sample and every fixture folder: the same
//! incidents, evidence, quotes, fix order, templates and counts.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn json(a: &gaplog::analysis::Analysis) -> String {
    serde_json::to_string_pretty(a).expect("the analysis serializes")
}

fn both(input: &Path) -> (String, String, gaplog::timeline::Timeline) {
    let o = gaplog::Options::default();
    let (lean, tl) = gaplog::analyze(&[input.to_path_buf()], &o).expect("analysis runs");
    let (full_tl, timings) = gaplog::load(&[input.to_path_buf()], &o).expect("load runs");
    let full = gaplog::analyze_timeline(&full_tl, timings, &o).expect("analysis runs");
    (json(&lean), json(&full), tl)
}

fn folders(under: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(under)
        .expect("folder lists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "tools"))
        .collect();
    v.sort();
    v
}

#[test]
fn the_lean_analysis_equals_the_full_one_on_every_sample_and_fixture_folder() {
    let mut inputs = folders(&root().join("samples"));
    inputs.extend(folders(&root().join("tests/fixtures")));
    assert!(inputs.len() >= 14, "{inputs:?}");
    let mut signals = 0;
    for input in &inputs {
        let (lean, full, _) = both(input);
        assert_eq!(lean, full, "{}", input.display());
        signals += lean.matches("\"rule\"").count();
    }
    // The comparison covered real findings, not only empty analyses.
    assert!(signals > 50, "{signals}");
}

/// The sum of `f` over the text each event of the timeline kept.
fn sum(
    tl: &gaplog::timeline::Timeline,
    f: impl Fn(&gaplog::timeline::Kept, &[u8]) -> usize,
) -> usize {
    tl.sources
        .iter()
        .map(|s| {
            (0..s.events.len())
                .filter_map(|i| s.texts.get(i))
                .map(|k| f(k, &s.src.bytes))
                .sum::<usize>()
        })
        .sum()
}

/// Events whose message is not empty.
fn with_text(tl: &gaplog::timeline::Timeline) -> usize {
    sum(tl, |e, b| usize::from(!e.message.bytes(b).is_empty()))
}

#[test]
fn the_lean_timeline_keeps_the_text_of_signal_events_only() {
    let input = root().join("samples/tale-2026-03-25");
    let (_, _, tl) = both(&input);
    let total: usize = tl.sources.iter().map(|s| s.events.len()).sum();
    let hits: usize = tl
        .sources
        .iter()
        .map(|s| s.digest.hits.as_ref().map_or(0, Vec::len))
        .sum();
    let kept = with_text(&tl);
    assert!(hits > 0);
    // Every hit's event kept its text, and most events did not.
    for s in &tl.sources {
        for h in s.digest.hits.as_deref().unwrap_or_default() {
            let k = s
                .texts
                .get(h.index as usize)
                .expect("a hit's event keeps its text");
            assert!(!k.message.bytes(&s.src.bytes).is_empty(), "{}", s.src.path);
        }
    }
    assert!(kept < total / 2, "{kept} of {total}");
    // The full load keeps every text.
    let (full, _) = gaplog::load(&[input], &gaplog::Options::default()).expect("load runs");
    let full_with_text = with_text(&full);
    assert!(full_with_text > kept);
}

fn export(tl: &gaplog::timeline::Timeline, format: gaplog::timeline::ExportFormat) -> Vec<u8> {
    let mut out = Vec::new();
    gaplog::timeline::export(tl, format, &mut out, &|_| None).expect("export runs");
    out
}

#[test]
fn loads_that_keep_less_text_give_the_same_exports_and_summaries() {
    use gaplog::Keep;
    use gaplog::timeline::ExportFormat;
    let o = gaplog::Options::default();
    let mut inputs = folders(&root().join("samples"));
    inputs.extend(folders(&root().join("tests/fixtures")));
    for input in &inputs {
        let at = |keep| {
            gaplog::load_keeping(std::slice::from_ref(input), &o, keep)
                .expect("load runs")
                .0
        };
        let (all, messages, nothing) = (at(Keep::All), at(Keep::Messages), at(Keep::Nothing));
        for f in [ExportFormat::Ndjson, ExportFormat::Csv, ExportFormat::Text] {
            assert_eq!(
                export(&all, f),
                export(&messages, f),
                "{} {f:?}",
                input.display()
            );
        }
        assert_eq!(
            sum(&messages, |e, _| e.fields.len()),
            0,
            "{}",
            input.display()
        );
        assert_eq!(with_text(&nothing), 0, "{}", input.display());
        let json = |tl| serde_json::to_string(&gaplog::source_summaries(tl)).expect("serializes");
        assert_eq!(json(&all), json(&nothing), "{}", input.display());
    }
}
