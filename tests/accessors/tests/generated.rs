//! The generated code, as `flagc generate` prints it (prettyplease), for `examples/flags` in
//! both modes: insta snapshots to review like code, and the copies checked in under
//! `generated/` (compiled into this package's library, so the printed code is proven to
//! build and is evaluated by the differential test) must be current.
//!
//! `INSTA_UPDATE=always` updates the snapshots; `FLAGC_BLESS=1` rewrites `generated/`.

use std::path::Path;
use std::process::Command;

/// 2026-01-01T00:00:00Z: deprecations (expired flags) must not depend on the day the tests run.
const SOURCE_DATE_EPOCH: &str = "1767225600";

/// `flagc generate ARGS` from the crate root, as a user would run it.
fn generate(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_flagc-cli"))
        .arg("generate")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .env("NO_COLOR", "1")
        .output()
        .expect("run flagc generate");
    assert!(
        out.status.success(),
        "flagc generate {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 code")
}

fn check_in(name: &str, code: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("generated")
        .join(name);
    if std::env::var_os("FLAGC_BLESS").is_some() {
        std::fs::write(&path, code).expect("write the checked-in copy");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == code,
        "{} is stale: run `FLAGC_BLESS=1 cargo test -p flagc-accessor-tests --test generated`",
        path.display()
    );
}

#[test]
fn dynamic_mode() {
    let code = generate(&["../../examples/flags"]);
    insta::assert_snapshot!("examples_dynamic", code);
    check_in("examples_dynamic.rs", &code);
}

#[test]
fn static_mode_production_eu() {
    let code = generate(&[
        "../../examples/flags",
        "--static",
        "env=production",
        "--static",
        "region=eu",
    ]);
    insta::assert_snapshot!("examples_production_eu", code);
    check_in("examples_production_eu.rs", &code);
}

#[test]
fn generate_reports_invalid_directories() {
    let out = Command::new(env!("CARGO_BIN_EXE_flagc-cli"))
        .args(["generate", "tests/ui/flags/invalid"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run flagc generate");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no code for an invalid directory");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown attribute `contry`"), "{stderr}");

    let out = Command::new(env!("CARGO_BIN_EXE_flagc-cli"))
        .args(["generate", "../../examples/flags", "--static", "env=prod"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run flagc generate");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"prod\" is not a value of static attribute `env`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no value given for static attribute `region`"),
        "{stderr}"
    );
}

#[test]
fn generate_help_says_dir_is_relative_to_the_crate_root() {
    let out = Command::new(env!("CARGO_BIN_EXE_flagc-cli"))
        .args(["generate", "--help"])
        .output()
        .expect("run flagc generate --help");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("relative to the crate root"), "{help}");
}
