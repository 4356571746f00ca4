//! The grammar: every embedded rule's examples and counterexamples, invalid grammar files
//! (errors pinned with file and line), user overrides, and docs/grammar.md against the schema.

use gaplog::signals::Catalog;
use gaplog::signals::grammar::{GrammarErrors, Raw};
use std::path::Path;

fn catalog() -> Catalog {
    match Catalog::embedded() {
        Ok(c) => c,
        Err(e) => panic!("embedded grammar is invalid:\n{e}"),
    }
}

#[test]
fn embedded_grammar_compiles() {
    let c = catalog();
    assert!(c.rules.len() >= 30, "only {} rules", c.rules.len());
}

/// Every example matches (through the prefilter, as a real line would) and every
/// counterexample does not; captures listed for the first example are asserted.
#[test]
fn every_rule_example_and_counterexample() {
    let c = catalog();
    let mut failures = Vec::new();
    for (ri, r) in c.rules.iter().enumerate() {
        assert!(!r.examples.is_empty(), "{} has no examples", r.id);
        for e in &r.examples {
            let cands = c.candidates(e.as_bytes());
            if !cands.contains(&(ri as u32)) || r.matches(e.as_bytes()).is_none() {
                failures.push(format!("{}: example does not match: {e}", r.id));
            }
        }
        for e in &r.counterexamples {
            let cands = c.candidates(e.as_bytes());
            if cands.contains(&(ri as u32)) && r.matches(e.as_bytes()).is_some() {
                failures.push(format!("{}: counterexample matches: {e}", r.id));
            }
        }
        if let Some(first) = r.examples.first() {
            let caps = r.matches(first.as_bytes()).unwrap_or_default();
            for (k, v) in &r.captures {
                let got = caps.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
                if got != Some(v.as_str()) {
                    failures.push(format!("{}: capture {k}={got:?}, expected {v:?}", r.id));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ids_are_unique_and_kebab_case() {
    let c = catalog();
    let mut ids: Vec<&str> = c.rules.iter().map(|r| r.id.as_str()).collect();
    for id in &ids {
        assert!(gaplog::signals::grammar::is_kebab(id), "{id}");
    }
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate rule ids");
    let mut fixes: Vec<&str> = c.playbook.fixes.iter().map(|f| f.id.as_str()).collect();
    let n = fixes.len();
    fixes.sort();
    fixes.dedup();
    assert_eq!(fixes.len(), n, "duplicate fix ids");
}

/// The story's required fixes exist and their `after` chain orders them.
#[test]
fn story_fixes_exist() {
    let c = catalog();
    for id in [
        "repair-nix-store",
        "rebuild-generation",
        "fix-runner-token-newline",
        "regenerate-attic-token",
        "disable-ec2-metadata",
        "use-bridge-address-for-cache",
        "limit-etcd-memory",
        // The sample READMEs' fix ids.
        "keep-tailnet-up-during-switch",
        "push-attic-as-ci-user",
        "free-disk-space",
        "configure-attic-gc",
        "separate-attic-storage-volume",
        "restart-nix-daemon-socket",
        "limit-build-parallelism",
        "raise-nix-daemon-memory-limit",
        "move-runner-to-system-service",
        "set-attic-api-endpoint",
        "reconfigure-substituter",
    ] {
        assert!(
            c.playbook.fixes.iter().any(|f| f.id == id),
            "missing fix {id}"
        );
    }
}

/// Checks a folder holding one file and returns the error text.
fn check_err(file: &str, text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("signals")).unwrap();
    let p = dir.path().join(file);
    std::fs::write(&p, text).unwrap();
    let err = check_dir(dir.path()).expect_err("grammar should be rejected");
    err.to_string()
        .replace(&format!("{}/", dir.path().display()), "")
}

fn check_dir(dir: &Path) -> Result<Catalog, GrammarErrors> {
    let mut raw = Raw::embedded()?;
    raw.add_dir(dir)?;
    Catalog::compile(&raw)
}

const GOOD_RULE: &str = r#"[[rule]]
id = "demo-thing-broke"
title = "Demo"
literals = ["thing broke"]
regex = 'thing broke: (?P<why>\w+)'
gap = "unclassified"
verdict = "failure"
severity = "err"
explanation = "it broke ({why})"
examples = ["thing broke: badly"]
counterexamples = ["thing works"]
captures = { why = "badly" }
"#;

#[test]
fn a_user_rule_is_added() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("signals")).unwrap();
    std::fs::write(dir.path().join("signals/demo.toml"), GOOD_RULE).unwrap();
    let c = check_dir(dir.path()).unwrap();
    let r = &c.rules[c.rule_index("demo-thing-broke").unwrap()];
    assert_eq!(
        r.matches(b"x thing broke: hard").unwrap(),
        vec![("why".to_string(), "hard".to_string())]
    );
}

#[test]
fn a_user_rule_overrides_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD_RULE
        .replace("demo-thing-broke", "http-429-rate-limited")
        .replace("verdict = \"failure\"", "verdict = \"expected\"");
    std::fs::write(dir.path().join("mine.toml"), text).unwrap();
    let base = catalog().rules.len();
    let c = check_dir(dir.path()).unwrap();
    assert_eq!(c.rules.len(), base);
    let r = &c.rules[c.rule_index("http-429-rate-limited").unwrap()];
    assert_eq!(r.title, "Demo");
}

#[test]
fn toml_syntax_error_names_file_and_line() {
    let e = check_err("signals/bad.toml", "[[rule]]\nid = \"x\"\ntitle = \n");
    assert!(e.starts_with("signals/bad.toml:3: "), "{e}");
}

#[test]
fn unknown_field_names_file_and_line() {
    let text = GOOD_RULE.replace(
        "severity = \"err\"",
        "severity = \"err\"\nseverty = \"err\"",
    );
    let e = check_err("signals/typo.toml", &text);
    assert!(
        e.starts_with("signals/typo.toml:9: unknown field `severty`"),
        "{e}"
    );
}

#[test]
fn bad_regex_names_file_and_line() {
    let text = GOOD_RULE.replace(r"(?P<why>\w+)", r"(?P<why>\w+");
    let e = check_err("signals/re.toml", &text);
    assert_eq!(
        e,
        "signals/re.toml:5: rule `demo-thing-broke`: regex does not compile: error: unclosed group"
    );
}

#[test]
fn failing_example_names_file_and_line() {
    let text = GOOD_RULE.replace(
        "examples = [\"thing broke: badly\"]",
        "examples = [\"thing broke badly\"]",
    );
    let e = check_err("signals/ex.toml", &text);
    assert_eq!(
        e,
        "signals/ex.toml:10: rule `demo-thing-broke`: example does not match: \"thing broke badly\"\n\
         signals/ex.toml:10: rule `demo-thing-broke`: first example captures why=nothing, expected \"badly\""
    );
}

#[test]
fn matching_counterexample_is_an_error() {
    let text = GOOD_RULE.replace(
        "counterexamples = [\"thing works\"]",
        "counterexamples = [\"thing broke: oops\"]",
    );
    let e = check_err("signals/cx.toml", &text);
    assert_eq!(
        e,
        "signals/cx.toml:11: rule `demo-thing-broke`: counterexample matches: \"thing broke: oops\""
    );
}

#[test]
fn bad_gap_and_verdict() {
    let text = GOOD_RULE.replace("gap = \"unclassified\"", "gap = \"declared\"");
    let e = check_err("signals/gap.toml", &text);
    assert_eq!(
        e,
        "signals/gap.toml:6: rule `demo-thing-broke`: unknown gap `declared`; expected declared-vs-operational, identity-vs-address, expected-vs-failure or unclassified"
    );
    let text = GOOD_RULE.replace("verdict = \"failure\"", "verdict = \"bad\"");
    let e = check_err("signals/v.toml", &text);
    assert_eq!(
        e,
        "signals/v.toml:7: rule `demo-thing-broke`: unknown verdict `bad`; expected failure or expected"
    );
}

#[test]
fn unknown_signal_in_playbook() {
    let text = "[[link]]\nid = \"l\"\ncause = [\"kernel-oom-kil\"]\neffect = [\"job-failed\"]\nwithin = 10\nexplanation = \"x\"\n";
    let e = check_err("playbook.toml", text);
    assert_eq!(
        e,
        "playbook.toml:3: link `l`: cause: unknown signal `kernel-oom-kil`, did you mean `kernel-oom-kill`?"
    );
}

#[test]
fn after_cycle_is_an_error() {
    let text = "[[fix]]\nid = \"a\"\naction = \"x\"\nsignals = [\"job-failed\"]\nafter = [\"b\"]\n\n\
                [[fix]]\nid = \"b\"\naction = \"y\"\nsignals = [\"job-failed\"]\nafter = [\"a\"]\n";
    let e = check_err("playbook.toml", text);
    assert_eq!(e, "playbook.toml:2: fix order has a cycle: a -> b -> a");
}

#[test]
fn unknown_after_is_an_error() {
    let text =
        "[[fix]]\nid = \"a\"\naction = \"x\"\nsignals = [\"job-failed\"]\nafter = [\"nope\"]\n";
    let e = check_err("playbook.toml", text);
    assert_eq!(e, "playbook.toml:5: fix `a`: after: unknown fix `nope`");
}

#[test]
fn missing_folder_is_an_error() {
    let e = check_dir(Path::new("/nonexistent/gaplog-grammars"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("/nonexistent/gaplog-grammars:1: cannot read grammar folder: "),
        "{e}"
    );
}

/// docs/grammar.md documents every field the schema accepts, and its sample rule is valid.
#[test]
fn unknown_supersedes_and_near_are_errors() {
    let text = "[[fix]]\nid = \"a\"\naction = \"x\"\nsignals = [\"job-failed\"]\nsupersedes = [\"nope\"]\nnear = [\"job-faild\"]\n";
    let e = check_err("playbook.toml", text);
    assert_eq!(
        e,
        "playbook.toml:5: fix `a`: supersedes: unknown fix `nope`\n\
         playbook.toml:6: fix `a`: near: unknown signal `job-faild`, did you mean `job-failed`?"
    );
}

#[test]
fn fix_within_must_be_positive() {
    let text = "[[fix]]\nid = \"a\"\naction = \"x\"\nsignals = [\"job-failed\"]\nnear = [\"job-failed\"]\nwithin = 0\n";
    let e = check_err("playbook.toml", text);
    assert_eq!(e, "playbook.toml:2: fix `a`: `within` must be positive");
}

/// Every `supersedes` in the embedded playbook names a fix that some rule of the superseding
/// fix's incidents also calls (else it would never have anything to drop).
#[test]
fn supersedes_pairs_share_a_calling_context() {
    let c = catalog();
    for f in &c.playbook.fixes {
        for g in &f.supersedes {
            let other = c.playbook.fixes.iter().find(|x| x.id == *g).unwrap();
            assert!(!other.signals.is_empty(), "{} supersedes {}", f.id, g);
            assert!(
                !f.after.contains(g),
                "{} both supersedes and follows {}",
                f.id,
                g
            );
        }
    }
}

#[test]
fn docs_match_the_schema() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/grammar.md")).unwrap();
    for field in [
        "id",
        "title",
        "formats",
        "units",
        "literals",
        "regex",
        "gap",
        "verdict",
        "severity",
        "explanation",
        "examples",
        "counterexamples",
        "captures",
        "when",
        "fields",
        "near",
        "within",
        "note",
        "cause",
        "effect",
        "same_host",
        "shared",
        "merge",
        "action",
        "commands",
        "signals",
        "gaps",
        "after",
        "supersedes",
        "fallback",
        "lead",
        "symptom",
        "clock_tolerance",
        "group_window",
    ] {
        assert!(
            doc.contains(&format!("`{field}`")),
            "docs/grammar.md does not document `{field}`"
        );
    }
    // The sample rule between the markers must compile and pass its own examples.
    let start = doc.find("<!-- sample-rule -->").expect("sample marker");
    let body = &doc[start..];
    let code = body
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("toml block");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sample.toml"), code).unwrap();
    check_dir(dir.path()).unwrap_or_else(|e| panic!("docs sample rule is invalid:\n{e}"));
}

fn gaplog(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gaplog"))
        .args(args)
        .output()
        .expect("run gaplog");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_rules_lists_the_catalog() {
    let (code, out, _) = gaplog(&["rules"]);
    assert_eq!(code, 0);
    let line = out
        .lines()
        .find(|l| l.starts_with("cache-http-401 "))
        .expect("listed");
    assert!(
        line.contains("expected-vs-failure")
            && line.contains("expected")
            && line.ends_with("The cache answered 401 Unauthorized"),
        "{line}"
    );
    assert_eq!(out.lines().count(), catalog().rules.len());
    let (code, out, _) = gaplog(&["rules", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rules"][0]["id"], "kernel-oom-kill");
    assert_eq!(v["rules"][0]["gap"], "declared-vs-operational");
    assert!(
        out.find("\"id\"").unwrap() < out.find("\"gap\"").unwrap(),
        "documented key order"
    );
}

#[test]
fn cli_rules_check() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("demo.toml"), GOOD_RULE).unwrap();
    let d = dir.path().display().to_string();
    let (code, out, _) = gaplog(&["rules", "--check", &d]);
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!("{d}: ok (")), "{out}");
    std::fs::write(
        dir.path().join("demo.toml"),
        GOOD_RULE.replace("title = \"Demo\"", "titel = \"Demo\""),
    )
    .unwrap();
    let (code, out, err) = gaplog(&["rules", "--check", &d]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err.trim_end(),
        format!(
            "{d}/demo.toml:3: unknown field `titel`, expected one of `id`, `title`, `formats`, `units`, `literals`, `regex`, `gap`, `verdict`, `severity`, `explanation`, `examples`, `counterexamples`, `captures`, `when`"
        )
    );
    // analyze refuses an invalid --grammars folder before reading inputs: exit 2.
    let (code, _, err) = gaplog(&["analyze", "--grammars", &d, "/nonexistent"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid grammar") && err.contains("demo.toml:3: unknown field `titel`"),
        "{err}"
    );
}

/// `docs/rules.md` is generated from the embedded grammar (`gaplog rules --markdown`): it
/// must be what the current grammar gives, so the doc and the catalog cannot drift.
#[test]
fn rules_doc_is_generated_from_the_grammar() {
    let catalog = gaplog::signals::Catalog::embedded().expect("embedded grammar");
    let want = gaplog::signals::catalog_markdown(&catalog);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
    if std::env::var_os("GAPLOG_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let got = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "docs/rules.md is stale: run `cargo run -- rules --markdown > docs/rules.md`"
    );
    // Every rule id of the catalog appears in it.
    for r in catalog.listing() {
        assert!(got.contains(&format!("`{}`", r.id)), "{}", r.id);
    }
}
