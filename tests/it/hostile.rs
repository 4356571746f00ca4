//! The hostile-input corpus through the real binary: every problem is named (file, line,
//! what), the rest is analysed, the exit status is as documented, nothing panics.
//! Small hostile files are committed under `tests/hostile/`; large or awkward ones (a 50 MB
//! single line, 10,000 small files, a symlink loop, a dangling link) are made here.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn gaplog() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gaplog"));
    c.env("NO_COLOR", "1").env("TZ", "UTC");
    c
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_file() {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn source<'a>(report: &'a Value, suffix: &str) -> &'a Value {
    report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no source ending in {suffix}"))
}

fn issues(s: &Value) -> String {
    s["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn hostile_folder_is_analysed_with_every_problem_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("hostile");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile"),
        &root,
    );
    // A 50 MB single line.
    std::fs::write(root.join("one-long-line.log"), vec![b'x'; 50 << 20]).unwrap();
    // A truncated zstd stream.
    let z = zstd::encode_all(
        &b"Mar 25 10:00:00 host a[1]: zstd line\n".repeat(2000)[..],
        3,
    )
    .unwrap();
    std::fs::write(root.join("truncated.log.zst"), &z[..z.len() / 2]).unwrap();
    // A symlink loop and a dangling link.
    let sub = root.join("loop");
    std::fs::create_dir(&sub).unwrap();
    std::os::unix::fs::symlink(&sub, sub.join("again")).unwrap();
    std::os::unix::fs::symlink(root.join("does-not-exist"), root.join("dangling.log")).unwrap();
    // 10,000 small files.
    let many = root.join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..10_000 {
        std::fs::write(
            many.join(format!("f{i:05}.log")),
            format!(
                "Mar 25 10:{:02}:{:02} host app[{i}]: small file {i}\n",
                i / 60 % 60,
                i % 60
            ),
        )
        .unwrap();
    }
    let out = gaplog()
        .args(["analyze", "--format", "json", "--max-decompressed", "1"])
        .arg(&root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();

    let bomb = source(&report, "bomb.log.gz");
    assert!(
        issues(bomb).contains("expands to more than 1048576 bytes (decompression bomb?)"),
        "{}",
        issues(bomb)
    );
    let gz = source(&report, "truncated.log.gz");
    assert!(issues(gz).contains("corrupt or truncated gzip data"));
    assert!(
        gz["events"].as_u64().unwrap() > 100,
        "the readable part is analysed"
    );
    let zs = source(&report, "truncated.log.zst");
    assert!(issues(zs).contains("zstd"), "{}", issues(zs));
    let cut = source(&report, "export-cut-in-binary-field.export");
    assert!(
        issues(cut).contains(":8 (byte 155): truncated journal export entry"),
        "{}",
        issues(cut)
    );
    assert_eq!(cut["events"], 1);
    // Invalid UTF-8 in journal field names: the export keeps both entries and names the bad
    // field line; JSON objects that are not JSON are named and counted, never dropped silently.
    let bad_name = source(&report, "export-invalid-utf8-field-name.export");
    assert_eq!(bad_name["events"], 2, "{bad_name}");
    assert!(
        issues(bad_name).contains(":7 (byte 154): not a journal export field"),
        "{}",
        issues(bad_name)
    );
    let bad_key = source(&report, "json-invalid-utf8-field-name.json");
    assert_eq!(bad_key["unparsed"], 2);
    assert!(issues(bad_key).contains(":2 (byte 92): not a journal JSON object"));
    let nul = source(&report, "nul-bytes.bin");
    assert!(issues(nul).contains("format not recognised"));
    let empty = source(&report, "empty.log");
    assert_eq!(empty["lines"], 0);
    let long = source(&report, "one-long-line.log");
    assert_eq!(long["lines"], 1);
    assert_eq!(long["unparsed"], 1);
    let dangling = source(&report, "dangling.log");
    assert!(
        issues(dangling).contains("cannot read"),
        "{}",
        issues(dangling)
    );
    let looped = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| issues(s).contains("symlink loop"));
    assert!(looped, "the symlink loop is reported");
    let json = source(&report, "json-dup-and-nonstring.json");
    assert!(issues(json).contains(":5 (byte 316)"), "{}", issues(json));
    let small = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["path"].as_str().unwrap().contains("many/"))
        .count();
    assert_eq!(small, 10_000);

    // Accounting on every source, and the totals.
    let mut lines = 0;
    for s in report["sources"].as_array().unwrap() {
        let l = s["lines"].as_u64().unwrap();
        assert!(
            s["continuations"].as_u64().unwrap() + s["unparsed"].as_u64().unwrap() <= l,
            "{s}"
        );
        // parse_source reports any line-accounting mismatch as an internal error issue.
        assert!(
            !issues(s).contains("internal error"),
            "accounting mismatch: {}",
            issues(s)
        );
        lines += l;
    }
    assert_eq!(report["stats"]["lines"].as_u64().unwrap(), lines);
}

#[test]
fn no_readable_input_exits_2_and_usage_errors_exit_2() {
    let out = gaplog()
        .args(["analyze", "/nonexistent/gaplog-input"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no input could be read"));
    let out = gaplog()
        .args(["analyze", "--tz", "Mars/Olympus", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown time zone `Mars/Olympus`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = gaplog()
        .args(["formats", "--input-format", "x=jurnal-json", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did you mean `journal-json`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
