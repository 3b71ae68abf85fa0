//! The `flagc` binary end to end: exit codes, output formats and `init`.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn flagc(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flagc"))
        .args(args)
        .current_dir(cwd)
        // Colour must never depend on the environment the tests run in.
        .env_remove("CLICOLOR_FORCE")
        .env("NO_COLOR", "1")
        .output()
        .expect("the flagc binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

const MANIFEST: &str = "format = 1\n\n[static]\nenv = [\"development\", \"production\"]\n";

const VALID_FLAGS: &str = r#"[dark_mode]
description = "Dark theme"
owner = "web"
permanent = true
default = false
"#;

/// Line 3 has an unterminated string; the parser reports it at the end of that line.
const SYNTAX_ERROR: &str =
    "[dark_mode]\ndescription = \"Dark theme\"\nowner = \"web\ndefault = false\n";

/// A temp dir holding `flags/` with the manifest and the given flag files.
fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    let flags = tmp.path().join("flags");
    fs::create_dir_all(&flags).expect("create flags/");
    fs::write(flags.join("flagc.toml"), MANIFEST).expect("write manifest");
    for (name, text) in files {
        fs::write(flags.join(name), text).expect("write flag file");
    }
    tmp
}

#[test]
fn valid_directory_exits_0() {
    let tmp = fixture(&[("ui.toml", VALID_FLAGS)]);
    let out = flagc(tmp.path(), &["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("files: ok"), "{}", stdout(&out));
    assert!(stderr(&out).is_empty());
}

#[test]
fn invalid_directory_exits_1_and_points_at_the_error() {
    let tmp = fixture(&[("ui.toml", SYNTAX_ERROR)]);
    let out = flagc(tmp.path(), &["check", "flags"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.starts_with("error[E0101]: invalid TOML"), "{text}");
    assert!(text.contains(" --> flags/ui.toml:3:"), "{text}");
    assert!(text.ends_with("error: 1 error in 1 file\n"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour when stdout is not a terminal: {text:?}"
    );
}

#[test]
fn paths_are_shown_as_the_user_typed_the_directory() {
    let tmp = fixture(&[("ui.toml", SYNTAX_ERROR)]);
    let out = flagc(tmp.path(), &["check", "./flags/"]);
    assert!(
        stdout(&out).contains(" --> ./flags/ui.toml:3:"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn missing_manifest_is_invalid_not_an_io_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    fs::create_dir(tmp.path().join("flags")).expect("mkdir");
    let out = flagc(tmp.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("error[E0005]"), "{}", stdout(&out));
}

#[test]
fn missing_directory_exits_2_with_a_message_on_stderr() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = flagc(tmp.path(), &["check", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot read flag directory `nowhere`: "),
        "{err}"
    );

    fs::write(tmp.path().join("file"), "").expect("write");
    let out = flagc(tmp.path(), &["check", "file"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: cannot read flag directory `file`: not a directory\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().expect("temp dir");
    assert_eq!(
        flagc(tmp.path(), &["check", "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(flagc(tmp.path(), &["frobnicate"]).status.code(), Some(2));
    assert_eq!(flagc(tmp.path(), &["--version"]).status.code(), Some(0));
}

#[test]
fn json_output_has_code_file_and_position() {
    let tmp = fixture(&[("ui.toml", SYNTAX_ERROR)]);
    let out = flagc(tmp.path(), &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let value: serde_json::Value =
        serde_json::from_str(&stdout(&out)).expect("exactly one JSON value");
    assert_eq!(value["errors"], 1);
    assert_eq!(value["warnings"], 0);
    let diagnostics = value["diagnostics"].as_array().expect("diagnostics array");
    assert_eq!(diagnostics.len(), 1, "{value}");
    let d = &diagnostics[0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "E0101");
    assert_eq!(d["file"], "ui.toml", "relative to the flag directory");
    assert_eq!(d["line"], 3);
    assert_eq!(d["column"], 13, "after `owner = \"web`");
    assert!(d["end_line"].is_u64() && d["end_column"].is_u64(), "{d}");
    assert!(
        d["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("invalid TOML")),
        "{d}"
    );
    assert!(d["help"].is_null());
}

#[test]
fn json_output_for_a_valid_directory() {
    let tmp = fixture(&[("ui.toml", VALID_FLAGS)]);
    let out = flagc(tmp.path(), &["check", "--format=json"]);
    assert_eq!(out.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(
        value,
        serde_json::json!({"diagnostics": [], "errors": 0, "warnings": 0})
    );
}

#[test]
fn github_output_is_one_workflow_command_per_diagnostic() {
    let tmp = fixture(&[("ui.toml", SYNTAX_ERROR), ("more.toml", SYNTAX_ERROR)]);
    let out = flagc(tmp.path(), &["check", "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("::error file=flags/more.toml,line=3,col=13,endLine=3,endColumn="),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("::error file=flags/ui.toml,line=3,col=13,"),
        "{}",
        lines[1]
    );
    for line in lines {
        assert!(line.contains(",title=E0101::invalid TOML"), "{line}");
    }
}

#[test]
fn init_writes_the_starter_files_and_they_check() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = flagc(tmp.path(), &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("created flags/flagc.toml"), "{text}");
    assert!(text.ends_with("next: flagc check\n"), "{text}");

    let flags = tmp.path().join("flags");
    let manifest = fs::read_to_string(flags.join("flagc.toml")).expect("manifest written");
    assert!(
        manifest.starts_with("#:schema ./.flagc/manifest.schema.json\n"),
        "{manifest}"
    );
    let release = fs::read_to_string(flags.join("release.toml")).expect("flag file written");
    assert!(
        release.starts_with("#:schema ./.flagc/flags.schema.json\n"),
        "{release}"
    );
    let schemas = [
        (
            "flags.schema.json",
            include_str!("../../../schema/flags.schema.json"),
        ),
        (
            "manifest.schema.json",
            include_str!("../../../schema/manifest.schema.json"),
        ),
    ];
    for (name, committed) in schemas {
        let written = fs::read_to_string(flags.join(".flagc").join(name)).expect("schema written");
        assert!(
            written == committed,
            "`.flagc/{name}` is the committed schema"
        );
    }

    let out = flagc(tmp.path(), &["check", "--deny-warnings", "--deny-expired"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the starter passes:\n{}",
        stdout(&out)
    );
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("custom");
    fs::create_dir(&dir).expect("mkdir");
    fs::write(dir.join("release.toml"), "# mine\n").expect("write");

    let out = flagc(tmp.path(), &["init", "custom"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: refusing to overwrite `custom/release.toml`"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        fs::read_to_string(dir.join("release.toml")).expect("read"),
        "# mine\n"
    );
    assert!(
        !dir.join("flagc.toml").exists(),
        "nothing is written when refusing"
    );

    let out = flagc(tmp.path(), &["init", "custom", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("overwrote custom/release.toml"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).ends_with("next: flagc check custom\n"),
        "{}",
        stdout(&out)
    );
    assert_ne!(
        fs::read_to_string(dir.join("release.toml")).expect("read"),
        "# mine\n"
    );
}
