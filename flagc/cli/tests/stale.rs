//! `flagc stale [DIR]` end to end: fixed fixtures, today injected with `--today`, and git
//! history (`--git`) from repositories with fixed commit dates. Needs `git` for the history
//! tests; no global or system git configuration is read.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn isolate(c: &mut Command) -> &mut Command {
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("CLICOLOR_FORCE")
        .env("NO_COLOR", "1")
}

fn flagc(cwd: &Path, args: &[&str]) -> Output {
    isolate(&mut Command::new(env!("CARGO_BIN_EXE_flagc")))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the flagc binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

const MANIFEST: &str = r#"[static]
env = ["development", "production"]

[context]
user_id = "string"
country = "string"

[rollout]
by = "user_id"
"#;

/// Expiry around 2027-03-01, constant flags of both kinds, and permanent knobs.
const FLAGS: &str = r#"[long_expired]
description = "Expired long ago"
owner = "payments"
expires = 2026-12-01
default = false

[[long_expired.rules]]
when = { country = "US" }
value = true

[just_expired]
description = "Expired yesterday"
owner = "search"
expires = 2027-02-28
default = false

[[just_expired.rules]]
when = { country = "DE" }
value = true

[last_day]
description = "Valid through today"
owner = "web"
expires = 2027-03-01
default = false

[[last_day.rules]]
when = { country = "FR" }
value = true

[soon]
description = "Expires in ten days"
owner = "web"
expires = 2027-03-11
default = false

[[soon.rules]]
when = { country = "IT" }
rollout = 50

[later]
description = "Expires in two months"
owner = "web"
expires = 2027-05-01
default = false

[[later.rules]]
when = { country = "ES" }
value = true

[rolled_out]
description = "At 100 % everywhere"
owner = "checkout"
expires = 2027-12-31
default = false

[[rolled_out.rules]]
when = { env = "development" }
value = true

[[rolled_out.rules]]
rollout = 100

[[rolled_out.rules]]
value = true

[env_only]
description = "On in development, off in production, nothing else"
owner = "checkout"
expires = 2027-12-31
default = false

[[env_only.rules]]
when = { env = "development" }
value = true

[page_size]
description = "Operational knob"
owner = "search"
permanent = true
default = 20

[region_knob]
description = "Permanent, decided per env"
owner = "search"
permanent = true
default = 20

[[region_knob.rules]]
when = { env = "production" }
value = 50
"#;

fn fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    fs::create_dir_all(tmp.path().join("flags")).expect("mkdir");
    fs::write(tmp.path().join("flags/flagc.toml"), MANIFEST).expect("write");
    fs::write(tmp.path().join("flags/flags.toml"), FLAGS).expect("write");
    tmp
}

fn json_report(cwd: &Path, args: &[&str]) -> Value {
    let mut all = vec!["stale", "--format", "json"];
    all.extend(args);
    let out = flagc(cwd, &all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("one JSON value")
}

fn keys(report: &Value) -> Vec<&str> {
    report["flags"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["key"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn expired_expiring_and_constant_flags_most_urgent_first() {
    let tmp = fixture();
    let r = json_report(tmp.path(), &["--today", "2027-03-01"]);
    assert_eq!(r["format"], 1);
    assert_eq!(r["today"], "2027-03-01");
    assert_eq!(r["within_days"], 30);
    assert_eq!(
        keys(&r),
        [
            "long_expired",
            "just_expired",
            "last_day",
            "soon",
            "rolled_out",
            "env_only"
        ]
    );
    assert_eq!(
        r["summary"],
        json!({"flags": 9, "stale": 6, "expired": 2, "expiring": 2, "constant": 2})
    );
    let f = &r["flags"][0];
    assert_eq!(f["owner"], "payments");
    assert_eq!(f["file"], "flags.toml");
    assert_eq!(f["line"], 1);
    assert_eq!(f["expires"], "2026-12-01");
    assert_eq!(
        f["reasons"],
        json!([{"kind": "expired", "expires": "2026-12-01", "days_ago": 90}])
    );
    assert_eq!(f["history"], Value::Null);
    assert_eq!(
        r["flags"][1]["reasons"][0],
        json!({"kind": "expired", "expires": "2027-02-28", "days_ago": 1})
    );
    assert_eq!(
        r["flags"][2]["reasons"][0],
        json!({"kind": "expiring", "expires": "2027-03-01", "days_left": 0}),
        "a flag is valid through its expiry date"
    );
    assert_eq!(r["flags"][3]["reasons"][0]["days_left"], 10);
    assert_eq!(
        r["flags"][5]["reasons"],
        json!([{"kind": "constant_per_combination", "values": [
            {"where": "development", "statics": [{"env": "development"}], "value": true},
            {"where": "production", "statics": [{"env": "production"}], "value": false}
        ]}])
    );
    assert_eq!(
        r["flags"][4]["reasons"],
        json!([{"kind": "constant", "value": true}])
    );
    assert_eq!(r["flags"][4]["line"], 51);
}

#[test]
fn the_horizon_and_the_date_are_arguments() {
    let tmp = fixture();
    let r = json_report(tmp.path(), &["--today", "2027-03-01", "--within", "90"]);
    assert!(keys(&r).contains(&"later"), "{:?}", keys(&r));
    let r = json_report(tmp.path(), &["--today", "2027-03-01", "--within", "0"]);
    assert_eq!(r["summary"]["expiring"], 1, "only the flag on its last day");
    let r = json_report(tmp.path(), &["--today", "2026-01-01", "--within", "0"]);
    assert_eq!(keys(&r), ["rolled_out", "env_only"]);
    // The date can also come from SOURCE_DATE_EPOCH (2027-03-01T00:00:00Z).
    let out = isolate(&mut Command::new(env!("CARGO_BIN_EXE_flagc")))
        .args(["stale", "--format", "json"])
        .env("SOURCE_DATE_EPOCH", "1803859200")
        .current_dir(tmp.path())
        .output()
        .expect("runs");
    let r: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(r["today"], "2027-03-01");
}

#[test]
fn human_and_markdown_output() {
    let tmp = fixture();
    let out = flagc(tmp.path(), &["stale", "--today", "2027-03-01"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("stale_human", stdout(&out));
    let out = flagc(
        tmp.path(),
        &["stale", "--today", "2027-03-01", "--format", "markdown"],
    );
    insta::assert_snapshot!("stale_markdown", stdout(&out));
}

#[test]
fn exit_codes() {
    let tmp = fixture();
    let args = ["stale", "--today", "2027-03-01", "--exit-code"];
    assert_eq!(flagc(tmp.path(), &args).status.code(), Some(1));
    assert_eq!(
        flagc(tmp.path(), &["stale", "--today", "2027-03-01"])
            .status
            .code(),
        Some(0)
    );

    let clean = tempfile::tempdir().expect("temp dir");
    fs::create_dir(clean.path().join("flags")).expect("mkdir");
    fs::write(clean.path().join("flags/flagc.toml"), MANIFEST).expect("write");
    fs::write(
        clean.path().join("flags/ok.toml"),
        "[ok]\ndescription = \"d\"\nowner = \"o\"\nexpires = 2030-01-01\ndefault = false\n\n\
         [[ok.rules]]\nwhen = { country = \"US\" }\nvalue = true\n",
    )
    .expect("write");
    let out = flagc(clean.path(), &args);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).starts_with("no stale flags among 1"),
        "{}",
        stdout(&out)
    );

    let out = flagc(clean.path(), &["stale", "--today", "01/03/2027"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(stderr(&out).contains("YYYY-MM-DD"), "{}", stderr(&out));

    fs::write(clean.path().join("flags/bad.toml"), "[bad]\n").expect("write");
    let out = flagc(clean.path(), &["stale"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("flags/bad.toml"), "{}", stderr(&out));

    let out = flagc(clean.path(), &["stale", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: cannot read flag directory `nowhere`"),
        "{}",
        stderr(&out)
    );
}

// ---- --git --------------------------------------------------------------------------

fn git(dir: &Path, date: &str, args: &[&str]) {
    let out = isolate(&mut Command::new("git"))
        .args(args)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .current_dir(dir)
        .output()
        .expect("`git` must be installed to run these tests");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn commit(dir: &Path, date: &str, message: &str) {
    git(dir, date, &["add", "-A"]);
    git(dir, date, &["commit", "-q", "-m", message]);
}

fn flag(key: &str, default: &str, expires: &str) -> String {
    format!(
        "[{key}]\ndescription = \"{key}\"\nowner = \"team\"\nexpires = {expires}\ndefault = {default}\n\n\
         [[{key}.rules]]\nwhen = {{ country = \"US\" }}\nvalue = true\n"
    )
}

#[test]
fn git_history_gives_added_and_last_changed() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let t0 = "2026-01-05T10:00:00Z";
    git(dir, t0, &["init", "-q", "-b", "main"]);
    git(dir, t0, &["config", "user.name", "Flag Tester"]);
    git(dir, t0, &["config", "user.email", "tester@example.invalid"]);
    let flags = dir.join("flags");
    fs::create_dir(&flags).expect("mkdir");
    let write = |name: &str, text: &str| fs::write(flags.join(name), text).expect("write");

    write("flagc.toml", MANIFEST);
    write(
        "a.toml",
        &(flag("alpha", "false", "2027-01-01") + "\n" + &flag("beta", "false", "2027-01-01")),
    );
    commit(dir, t0, "alpha and beta");

    // Only formatting and a comment: not a change.
    write(
        "a.toml",
        &(flag("alpha", "false", "2027-01-01")
            .replace("default = false", "default   = false # off")
            + "\n"
            + &flag("beta", "false", "2027-01-01")),
    );
    commit(dir, "2026-02-01T10:00:00Z", "reformat");

    // beta moves to its own file (no change), alpha changes.
    write("a.toml", &flag("alpha", "true", "2027-01-01"));
    write("b.toml", &flag("beta", "false", "2027-01-01"));
    commit(dir, "2026-03-01T10:00:00Z", "alpha on; beta to b.toml");

    // gamma is added, removed, and added again: its history starts over.
    write("c.toml", &flag("gamma", "false", "2027-01-01"));
    commit(dir, "2026-04-01T10:00:00Z", "gamma");
    fs::remove_file(flags.join("c.toml")).expect("rm");
    commit(dir, "2026-05-01T10:00:00Z", "no gamma");
    write("c.toml", &flag("gamma", "false", "2027-01-01"));
    commit(dir, "2026-06-01T10:00:00Z", "gamma again");

    // Uncommitted: delta is new, beta is edited.
    write("d.toml", &flag("delta", "false", "2027-01-01"));
    write("b.toml", &flag("beta", "true", "2027-01-01"));

    let r = json_report(dir, &["--today", "2027-03-01", "--git"]);
    assert_eq!(keys(&r), ["alpha", "beta", "delta", "gamma"]);
    let history = |key: &str| {
        r["flags"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["key"] == key))
            .map(|f| f["history"].clone())
            .unwrap_or(Value::Null)
    };
    let dates = |h: &Value| {
        (
            h["added"]["date"].as_str().map(str::to_owned),
            h["changed"]["date"].as_str().map(str::to_owned),
            h["uncommitted"].as_bool(),
        )
    };
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        dates(&history("alpha")),
        (some("2026-01-05"), some("2026-03-01"), Some(false))
    );
    assert_eq!(
        dates(&history("beta")),
        (some("2026-01-05"), some("2026-01-05"), Some(true)),
        "moving files and reformatting are not changes; the working tree edit is"
    );
    assert_eq!(
        dates(&history("gamma")),
        (some("2026-06-01"), some("2026-06-01"), Some(false))
    );
    assert_eq!(dates(&history("delta")), (None, None, Some(true)));
    assert_eq!(
        history("alpha")["added"]["commit"].as_str().map(str::len),
        Some(40)
    );

    let out = flagc(dir, &["stale", "--today", "2027-03-01", "--git"]);
    let text = stdout(&out);
    assert!(text.contains("added 2026-01-05 ("), "{text}");
    assert!(text.contains("last changed 2026-03-01 ("), "{text}");
    assert!(text.contains("not committed"), "{text}");
    assert!(text.contains("changed in the working tree"), "{text}");
}

#[test]
fn git_without_commits_or_repository() {
    let tmp = fixture();
    let out = isolate(&mut Command::new(env!("CARGO_BIN_EXE_flagc")))
        .args(["stale", "--git", "--today", "2027-03-01"])
        .env("GIT_CEILING_DIRECTORIES", tmp.path())
        .current_dir(tmp.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not inside a git repository"),
        "{}",
        stderr(&out)
    );

    git(
        tmp.path(),
        "2026-01-01T00:00:00Z",
        &["init", "-q", "-b", "main"],
    );
    let r = json_report(tmp.path(), &["--today", "2027-03-01", "--git"]);
    assert_eq!(
        r["flags"][0]["history"],
        json!({"added": null, "changed": null, "uncommitted": true})
    );
}
