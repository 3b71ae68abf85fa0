//! `flagc watch` end to end: the binary watching a real directory, one JSON line per reload
//! attempt, read as they come (waiting on output with a timeout, never sleeping).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serde_json::{Value, json};

const MANIFEST: &str = "format = 1\n\n[static]\nenv = [\"development\", \"production\"]\n";

fn flag(key: &str, default: &str) -> String {
    format!(
        "[{key}]\ndescription = \"d\"\nowner = \"web\"\npermanent = true\ndefault = {default}\n\n"
    )
}

/// `flagc watch` in `cwd`, its stdout lines on a channel.
fn watch(cwd: &Path, args: &[&str]) -> (Child, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flagc"))
        .arg("watch")
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn next(lines: &Receiver<String>) -> Value {
    let line = lines
        .recv_timeout(Duration::from_secs(15))
        .expect("flagc watch printed a line in time");
    serde_json::from_str(&line).unwrap()
}

#[test]
fn json_lines_report_every_reload_attempt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("flags");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("flagc.toml"), MANIFEST).unwrap();
    fs::write(
        dir.join("a.toml"),
        flag("dark_mode", "false") + &flag("page_size", "10"),
    )
    .unwrap();
    let (mut child, lines) = watch(
        tmp.path(),
        &[
            "flags",
            "--format",
            "json",
            "--debounce-ms",
            "50",
            "--max-reloads",
            "4",
        ],
    );

    // The first read.
    assert_eq!(
        next(&lines),
        json!({"generation": 1, "ok": true, "changed": ["dark_mode", "page_size"], "diagnostics": []})
    );

    // An invalid edit: rejected, with `flagc check --format json` diagnostics.
    fs::write(
        dir.join("a.toml"),
        flag("dark_mode", "false") + "[page_size]\ndefault = 10\n",
    )
    .unwrap();
    let rejected = next(&lines);
    assert_eq!(rejected["generation"], 1);
    assert_eq!(rejected["ok"], false);
    assert_eq!(rejected["changed"], json!([]));
    let d = &rejected["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "a.toml");
    assert!(d["code"].as_str().unwrap().starts_with('E'), "{d}");
    assert!(d["line"].as_u64().is_some(), "{d}");

    // A valid edit: the flags whose definition changed.
    fs::write(
        dir.join("a.toml"),
        flag("dark_mode", "true") + &flag("page_size", "10"),
    )
    .unwrap();
    assert_eq!(
        next(&lines),
        json!({"generation": 2, "ok": true, "changed": ["dark_mode"], "diagnostics": []})
    );

    // A flag removed (in a rename-save).
    fs::write(dir.join(".a.toml.tmp"), flag("dark_mode", "true")).unwrap();
    fs::rename(dir.join(".a.toml.tmp"), dir.join("a.toml")).unwrap();
    assert_eq!(
        next(&lines),
        json!({"generation": 3, "ok": true, "changed": ["page_size"], "diagnostics": []})
    );
    assert!(child.wait().unwrap().success());
}

#[test]
fn static_values_that_do_not_fit_are_reported_as_a_rejection() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("flags");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("flagc.toml"), MANIFEST).unwrap();
    fs::write(dir.join("a.toml"), flag("dark_mode", "false")).unwrap();
    let (mut child, lines) = watch(
        tmp.path(),
        &[
            "flags",
            "--static",
            "env=prod",
            "--format",
            "json",
            "--max-reloads",
            "1",
        ],
    );
    let line = next(&lines);
    assert_eq!(line["ok"], false);
    assert_eq!(line["generation"], 0);
    assert_eq!(line["diagnostics"][0]["code"], "E0601");
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

#[test]
fn a_missing_directory_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flagc"))
        .args(["watch", "nowhere"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"));
}
