//! Redaction end to end: secrets seeded into inputs of every format the tree registers
//! (plain, JSON-escaped, inside ANSI sequences, URL-encoded, split across the lines of one
//! record) must not reach any file `gaplog analyze --out` writes, nor its stdout; with
//! `--no-redact` they do, which proves the inputs really carry them to the outputs.
//!
//! The fixtures (`tests/fixtures/reports/redaction/<format>.*`) start with lines no parser
//! accepts, so they surface as unparsed examples whatever the parsers' state, followed by
//! valid records of the format with secrets in their messages.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gaplog");

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports/redaction")
}

/// Distinctive parts of every seeded secret: none may appear in a redacted output.
const NEEDLES: &[&str] = &[
    "Xq7vR2mK9pL4sT8wZ1yB",                            // glpat-
    "Hn5bV8cX2zQ6wE9rT1yU",                            // glrt-
    "Wd4Fg7Hj0Kl3Zx6Cv",                               // GR1348941 registration token
    "Jk3Lm9Np2Qr5St8Uv",                               // glcbt- job token
    "eyJzdWIiOiJhdHRpYy1jaSIsImV4cCI6MTc3NDQwMDAwMH0", // JWT payload
    "Qm9ndXNTaWduYXR1cmVGb3JUZXN0c09ubHkx",            // JWT signature
    "cxT0kenV4lu3Abc123",                              // Cachix token
    "Z7QW3ERT5YUI8OPA",                                // AWS access key id
    "Wj8K2mN5pQ7rS9tU1vX3yZ5aB7cD9eF1gH3iJ5kL",        // AWS secret key
    "Tk9tQmVhcmVyU2VjcmV0MTIz",                        // Authorization: Bearer
    "PrivTok3nValue9876",                              // Private-Token header
    "S3cretPassw0rd",                                  // URL / netrc password
    "QryT0ken5555abc",                                 // token= query parameter
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",      // private key body
];

/// (fixture file, format it is forced to).
fn fixtures() -> Vec<(String, &'static str)> {
    gaplog::formats::FORMATS
        .iter()
        .map(|f| {
            let name = f.name();
            let file = std::fs::read_dir(dir())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .find(|n| n.split('.').next() == Some(name))
                .unwrap_or_else(|| panic!("no redaction fixture for format {name}"));
            (file, name)
        })
        .collect()
}

/// Runs `gaplog analyze` over every fixture with formats forced, writing into `out`;
/// returns stdout and the contents of every written file.
fn run(out: &Path, extra: &[&str]) -> Vec<(String, String)> {
    let mut args: Vec<String> = vec!["analyze".into()];
    for (file, format) in fixtures() {
        args.push(file.clone());
        args.push("--format".into());
        args.push(format!("{file}={format}"));
    }
    args.push("--out".into());
    args.push(out.to_str().unwrap().into());
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = Command::new(BIN)
        .args(&args)
        .current_dir(dir())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut texts = vec![("stdout".to_string(), String::from_utf8(o.stdout).unwrap())];
    for e in std::fs::read_dir(out).unwrap() {
        let e = e.unwrap();
        texts.push((
            e.file_name().into_string().unwrap(),
            String::from_utf8(std::fs::read(e.path()).unwrap()).unwrap(),
        ));
    }
    texts.sort();
    assert_eq!(texts.len(), 5);
    texts
}

/// The outputs with JSON and XML escapes undone, so a secret cannot hide behind them.
fn decoded(text: &str) -> String {
    text.replace("\\u002d", "-")
        .replace("\\/", "/")
        .replace("&amp;", "&")
        .replace("&#10;", "\n")
}

#[test]
fn no_seeded_secret_reaches_any_output() {
    let tmp = tempfile::tempdir().unwrap();
    let outputs = run(&tmp.path().join("out"), &[]);
    let mut leaks = Vec::new();
    for (file, text) in &outputs {
        for n in NEEDLES {
            if text.contains(n) || decoded(text).contains(n) {
                leaks.push(format!("{file}: {n}"));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked: {leaks:?}");
    // The placeholders say what was there.
    let json = &outputs.iter().find(|(f, _)| f == "report.json").unwrap().1;
    for kind in [
        "gitlab-pat",
        "jwt",
        "aws-access-key",
        "aws-secret-key",
        "authorization",
        "password",
        "private-key",
        "token",
    ] {
        assert!(
            json.contains(&format!("<redacted:{kind}>")),
            "no <redacted:{kind}> in report.json"
        );
    }
}

#[test]
fn without_redaction_the_secrets_do_reach_the_outputs() {
    // Proves the test above exercises a real path from inputs to outputs: every fixture
    // carries at least one secret into the reports when redaction is off.
    let tmp = tempfile::tempdir().unwrap();
    let outputs = run(&tmp.path().join("out"), &["--no-redact"]);
    // Each fixture alone: its secrets reach the JSON report (as unparsed examples, evidence
    // or unexplained-error examples, whichever path its format takes).
    for (file, format) in fixtures() {
        let o = Command::new(BIN)
            .args(["analyze", "--no-redact", "--format", "json"])
            .arg(&file)
            .arg("--format")
            .arg(format!("{file}={format}"))
            .current_dir(dir())
            .env("TZ", "UTC")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            NEEDLES.iter().any(|n| text.contains(n)),
            "{file} carries no secret into the report"
        );
    }
    let all: String = outputs.iter().map(|(_, t)| t.as_str()).collect();
    assert!(!all.contains("<redacted:"));
}

#[test]
fn redaction_of_a_large_analysis_is_fast() {
    // 20 000 strings of log text with a secret in every tenth: well under a second even in
    // a debug build (the literal prefilter skips clean strings after one scan).
    let mut a = gaplog::analysis::Analysis::default();
    let mut s = gaplog::analysis::SourceSummary::default();
    for i in 0..20_000 {
        s.unparsed_examples.push(if i % 10 == 0 {
            format!("{i}: curl -H 'PRIVATE-TOKEN: glpat-Xq7vR2mK9pL4sT8wZ1yB' https://gitlab.example/api/v4/jobs/{i}")
        } else {
            format!("{i}: Mar 25 09:00:01 node1 systemd[1]: Started session-{i}.scope - Session {i} of user root.")
        });
    }
    a.sources.push(s);
    let t = std::time::Instant::now();
    let n = gaplog::report::redact::redact(&mut a);
    let took = t.elapsed();
    // The header's value is the token: two rules, one placeholder per string, named by the
    // more specific rule (the prefix).
    assert_eq!(n, 2_000);
    assert_eq!(
        a.sources[0].unparsed_examples[0],
        "0: curl -H 'PRIVATE-TOKEN: <redacted:gitlab-pat>' https://gitlab.example/api/v4/jobs/0"
    );
    eprintln!("redacted 20000 strings in {took:?}");
    assert!(took.as_millis() < 1500, "redaction took {took:?}");
}
