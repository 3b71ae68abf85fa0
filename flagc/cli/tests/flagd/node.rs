//! Running flagd's own evaluator (`tests/flagd/eval.mjs`, `@openfeature/flagd-core` pinned in
//! `tests/flagd/package-lock.json`) from the tests.
//!
//! Node is required: without it these tests fail, they are never skipped. The pinned packages
//! are installed with `npm ci` the first time, when `tests/flagd/node_modules` is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value as Json;

/// `tests/flagd` at the top of the repository.
pub fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/flagd")
}

/// Installs the pinned harness once per test binary; panics with the reason when it cannot.
fn ensure_installed() -> &'static PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY.get_or_init(|| {
        let dir = harness_dir();
        match Command::new("node").arg("--version").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "`node --version` failed ({}): the flagd differential tests need node 20+",
                out.status
            ),
            Err(e) => panic!(
                "cannot run `node` ({e}): the flagd differential tests need node 20+ and npm \
                 on PATH"
            ),
        }
        let installed = dir.join("node_modules/@openfeature/flagd-core/package.json");
        if !installed.exists() {
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .output()
                .unwrap_or_else(|e| panic!("cannot run `npm ci` in {}: {e}", dir.display()));
            assert!(
                out.status.success(),
                "`npm ci` in {} failed:\n{}{}",
                dir.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let pkg: Json = serde_json::from_str(
            &std::fs::read_to_string(&installed).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            pkg["version"], "4.0.1",
            "tests/flagd/node_modules holds another flagd-core: run `npm ci` in tests/flagd"
        );
        dir
    })
}

/// What flagd said about one flag for one context.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub value: Json,
    pub variant: Option<String>,
    pub reason: String,
    pub error_code: Option<String>,
}

/// The outcome of running the harness.
#[derive(Debug)]
pub enum Run {
    /// One map per context: flag key → resolution.
    Evaluated(Vec<serde_json::Map<String, Json>>),
    /// flagd-core refused the document (schema validation or targeting that does not build).
    Invalid(String),
}

/// Validates `document` with flagd-core and evaluates every flag of it on every context.
pub fn run(document: &Json, contexts: &[Json]) -> Run {
    let dir = ensure_installed();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // FLAGD_HARNESS_KEEP=DIR keeps the last document and contexts there, for debugging.
    let keep = std::env::var_os("FLAGD_HARNESS_KEEP").map(PathBuf::from);
    let dir_used = keep.as_deref().unwrap_or(tmp.path());
    let doc_path = dir_used.join("flags.flagd.json");
    let ctx_path = dir_used.join("contexts.jsonl");
    std::fs::write(
        &doc_path,
        serde_json::to_string_pretty(document).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut lines = String::new();
    for c in contexts {
        lines.push_str(&c.to_string());
        lines.push('\n');
    }
    std::fs::write(&ctx_path, lines).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new("node")
        .arg(dir.join("eval.mjs"))
        .arg(&doc_path)
        .arg(&ctx_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.code() {
        Some(0) => {}
        Some(3) => return Run::Invalid(stderr),
        _ => panic!("the flagd harness failed ({}):\n{stderr}", out.status),
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<serde_json::Map<String, Json>> = text
        .lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(Json::Object(m)) => m,
            other => panic!("bad harness output line {l:?}: {other:?}"),
        })
        .collect();
    assert_eq!(rows.len(), contexts.len(), "one result line per context");
    Run::Evaluated(rows)
}

/// Evaluates, failing the test when flagd-core does not accept the document.
pub fn evaluate(document: &Json, contexts: &[Json]) -> Vec<serde_json::Map<String, Json>> {
    match run(document, contexts) {
        Run::Evaluated(rows) => rows,
        Run::Invalid(why) => panic!(
            "flagd-core rejects the document:\n{why}\ndocument:\n{}",
            serde_json::to_string_pretty(document).unwrap_or_default()
        ),
    }
}

/// One flag's resolution in a result row.
pub fn resolution(row: &serde_json::Map<String, Json>, flag: &str) -> Resolution {
    let r = row
        .get(flag)
        .unwrap_or_else(|| panic!("flagd has no result for `{flag}`"));
    Resolution {
        value: r["value"].clone(),
        variant: r["variant"].as_str().map(str::to_owned),
        reason: r["reason"].as_str().unwrap_or_default().to_owned(),
        error_code: r.get("errorCode").and_then(Json::as_str).map(str::to_owned),
    }
}

/// Whether two JSON flag values are the same value (numbers compared as doubles: flagd's
/// `50` is flagc's `50.0`).
pub fn same_value(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
