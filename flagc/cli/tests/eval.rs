//! `flagc eval` end to end: values, the deciding rule, explanations, batch mode, errors.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const MANIFEST: &str = r#"
[static]
env = ["staging", "production"]

[context]
user_id = "string"
email = "string"
plan = ["free", "pro"]
app_version = "semver"
groups = "string[]"

[rollout]
by = "user_id"

[segments]
internal = { email = { ends_with = "@example.com" } }
"#;

const FLAGS: &str = r#"
[new_checkout]
description = "One-page checkout"
owner = "payments"
expires = 2099-01-01
default = false

[[new_checkout.rules]]
id = "staging"
when = { env = "staging" }
value = true

[[new_checkout.rules]]
when = { segment = "internal" }
value = true

[[new_checkout.rules]]
when = { plan = "pro", app_version = { gte = "3.0.0" } }
rollout = 100

[layout]
description = "Checkout layout"
owner = "payments"
expires = 2099-01-01
variants = ["classic", "wizard"]
default = "classic"

[[layout.rules]]
when = { groups = "beta" }
value = "wizard"
"#;

fn dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("temp dir");
    fs::create_dir(d.path().join("flags")).expect("mkdir");
    fs::write(d.path().join("flags/flagc.toml"), MANIFEST).expect("write");
    fs::write(d.path().join("flags/checkout.toml"), FLAGS).expect("write");
    d
}

fn flagc(cwd: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flagc"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flagc runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("flagc finishes")
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("UTF-8")
}

#[test]
fn prints_the_value_decided_by_a_static_rule() {
    let d = dir();
    let out = flagc(
        d.path(),
        &["eval", "--flag", "new_checkout", "--static", "env=staging"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "true\n");
}

#[test]
fn json_output_names_the_rule_index_and_id() {
    let d = dir();
    let out = flagc(
        d.path(),
        &[
            "eval",
            "--flag",
            "new_checkout",
            "--static",
            "env=staging",
            "--json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["value"], true);
    assert_eq!(v["rule"], 0);
    assert_eq!(v["rule_id"], "staging");

    let out = flagc(
        d.path(),
        &[
            "eval",
            "--flag",
            "new_checkout",
            "--static",
            "env=production",
            "--context",
            "email=a@example.com",
            "--json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (v["value"].clone(), v["rule"].clone()),
        (serde_json::json!(true), serde_json::json!(1))
    );
    assert!(v.get("rule_id").is_none());
}

#[test]
fn explain_shows_why_each_earlier_rule_did_not_fire() {
    let d = dir();
    let out = flagc(
        d.path(),
        &[
            "eval",
            "--flag",
            "new_checkout",
            "--static",
            "env=production",
            "--context",
            "user_id=u-1",
            "--context",
            "plan=pro",
            "--context",
            "app_version=3.1.0",
            "--explain",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "true");
    assert!(
        lines[1].contains("rule `staging`") && lines[1].contains("static `env` is \"production\""),
        "{s}"
    );
    assert!(
        lines[2].contains("rule #2") && lines[2].contains("`email` is unset"),
        "{s}"
    );
    assert!(
        lines[3].contains("rule #3") && lines[3].contains("matched: bucket"),
        "{s}"
    );
    assert!(
        lines[4]
            .trim_start()
            .starts_with("decided by rule #3 at flags/checkout.toml:17"),
        "{s}"
    );
}

#[test]
fn the_default_decides_when_no_rule_matches() {
    let d = dir();
    let out = flagc(
        d.path(),
        &[
            "eval",
            "--flag",
            "layout",
            "--static",
            "env=production",
            "--explain",
        ],
        None,
    );
    let s = text(&out.stdout);
    assert!(s.starts_with("classic\n"), "{s}");
    assert!(
        s.contains("no rule decided: the default \"classic\""),
        "{s}"
    );
}

#[test]
fn usage_errors_suggest_what_was_meant() {
    let d = dir();
    let out = flagc(
        d.path(),
        &["eval", "--flag", "new_chekout", "--static", "env=staging"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did you mean `new_checkout`?"),
        "{}",
        text(&out.stderr)
    );

    let out = flagc(
        d.path(),
        &["eval", "--flag", "new_checkout", "--static", "env=prod"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("prod"), "{}", text(&out.stderr));

    let out = flagc(d.path(), &["eval", "--flag", "new_checkout"], None);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing static value is an error"
    );

    let out = flagc(
        d.path(),
        &[
            "eval",
            "--flag",
            "new_checkout",
            "--static",
            "env=staging",
            "--context",
            "app_version=banana",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("app_version"),
        "{}",
        text(&out.stderr)
    );

    let out = flagc(
        d.path(),
        &[
            "eval",
            "--flag",
            "new_checkout",
            "--static",
            "env=staging",
            "--context",
            "plann=pro",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn batch_mode_answers_every_line_in_order_and_reports_bad_lines() {
    let d = dir();
    let input = [
        r#"{"flag": "new_checkout", "static": {"env": "staging"}, "context": {}}"#,
        r#"{"flag": "layout", "static": {"env": "production"}, "context": {"groups": ["x", "beta"]}}"#,
        r#"{"flag": "layout", "static": {"env": "production"}, "context": {"groups": []}}"#,
        r#"{"flag": "missing", "static": {"env": "production"}}"#,
        r#"{"flag": "new_checkout", "static": {"env": "production"}, "context": {"app_version": "3.x"}}"#,
        r#"{"flag": "new_checkout", "context": {"email": null}}"#,
        r#"not json"#,
    ]
    .join("\n");
    let out = flagc(
        d.path(),
        &["eval", "--contexts", "-", "--static", "env=production"],
        Some(&input),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed line makes the exit code 1"
    );
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(
        lines[0],
        serde_json::json!({"flag": "new_checkout", "value": true, "rule": 0, "rule_id": "staging"})
    );
    assert_eq!(
        lines[1],
        serde_json::json!({"flag": "layout", "value": "wizard", "rule": 0})
    );
    assert_eq!(
        lines[2],
        serde_json::json!({"flag": "layout", "value": "classic", "rule": null})
    );
    assert!(
        lines[3]["error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown flag"))
    );
    assert!(
        lines[4]["error"]
            .as_str()
            .is_some_and(|e| e.contains("app_version")),
        "{:?}",
        lines[4]
    );
    // The command line's --static fills in what a line leaves out; null means unset.
    assert_eq!(
        lines[5],
        serde_json::json!({"flag": "new_checkout", "value": false, "rule": null})
    );
    assert!(
        lines[6]["error"]
            .as_str()
            .is_some_and(|e| e.contains("invalid JSON"))
    );
}

#[test]
fn invalid_flags_are_reported_not_evaluated() {
    let d = dir();
    fs::write(d.path().join("flags/broken.toml"), "[x]\ndescription = 1\n").expect("write");
    let out = flagc(
        d.path(),
        &["eval", "--flag", "new_checkout", "--static", "env=staging"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("broken.toml"),
        "{}",
        text(&out.stderr)
    );
}
