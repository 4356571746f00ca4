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

/// Events whose message is not empty.
fn with_text(tl: &gaplog::timeline::Timeline) -> usize {
    tl.sources
        .iter()
        .map(|s| {
            s.parsed
                .events
                .iter()
                .filter(|e| !e.message.bytes(&s.src.bytes).is_empty())
                .count()
        })
        .sum()
}

#[test]
fn the_lean_timeline_keeps_the_text_of_signal_events_only() {
    let input = root().join("samples/tale-2026-03-25");
    let (_, _, tl) = both(&input);
    let total: usize = tl.sources.iter().map(|s| s.parsed.events.len()).sum();
    let hits: usize = tl
        .sources
        .iter()
        .map(|s| s.digest.hits.as_ref().map_or(0, Vec::len))
        .sum();
    let with_text = with_text(&tl);
    assert!(hits > 0);
    // Every hit's event kept its text, and most events did not.
    for s in &tl.sources {
        for h in s.digest.hits.as_deref().unwrap_or_default() {
            let e = &s.parsed.events[h.index as usize];
            assert!(!e.message.bytes(&s.src.bytes).is_empty(), "{}", s.src.path);
        }
    }
    assert!(with_text < total / 2, "{with_text} of {total}");
    // The full load keeps every text.
    let (full, _) = gaplog::load(&[input], &gaplog::Options::default()).expect("load runs");
    let full_with_text = with_text(&full);
    assert!(full_with_text > with_text);
}
