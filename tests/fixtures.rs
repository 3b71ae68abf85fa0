//! The checker's fixtures: every case under `fixtures/check/` must produce exactly the
//! diagnostics its `expected.txt` lists (code, file, line, column, labels), each once, in one
//! run; and the example flag directory must check clean.

use std::collections::BTreeSet;

use flagc::{CheckOptions, Code};
use flagc_tests::{Case, SYMLINKS, TODAY, cases, examples_dir, listing, span_problems};

/// Runs one case; `Err` describes every way it failed.
fn run(case: &Case) -> Result<(), String> {
    let expected = case.expected().map_err(|e| format!("expected.txt: {e}"))?;
    let checked = case.check().map_err(|e| format!("check_dir failed: {e}"))?;
    let actual = listing(&checked);
    let mut problems = Vec::new();
    if actual != expected {
        problems.push(format!(
            "diagnostics differ\n--- expected.txt\n{expected}--- actual\n{actual}--- messages\n{}",
            checked
                .diagnostics
                .iter()
                .map(|d| format!("{} {}\n", d.code, d.message))
                .collect::<String>()
        ));
    }
    problems.extend(span_problems(&checked));
    if checked.model.is_some() != (checked.errors() == 0) {
        problems.push(format!(
            "a model must exist exactly when there are no errors ({} errors, model: {})",
            checked.errors(),
            checked.model.is_some()
        ));
    }
    if let Some(n) = case.setup.flags {
        let got = checked.model.as_ref().map(|m| m.flags.len());
        if got != Some(n) {
            problems.push(format!("expected a model of {n} flags, got {got:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn every_fixture_case() {
    let cases = cases().expect("fixtures/check is readable");
    assert!(cases.len() >= 30, "only {} cases found", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        if !case.setup.symlink.is_empty() && !SYMLINKS {
            eprintln!("skipping {}: symlinks are not available here", case.name);
            continue;
        }
        if let Err(e) = run(case) {
            failures.push(format!("=== case `{}`\n{e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixture cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// Codes the checker does not emit: the compile stage's, evaluation's, and I/O failures that a
/// fixture cannot reproduce portably (an unreadable file, when tests may run as root).
const NOT_FROM_THE_CHECKER: &[Code] = &[
    Code::Io,
    Code::NeverFires,
    Code::ConstantFlag,
    Code::StaticValue,
    Code::ContextValue,
    Code::UnknownFlag,
];

#[test]
fn every_checker_code_has_a_fixture() {
    let mut seen = BTreeSet::new();
    for case in cases().expect("fixtures/check is readable") {
        let expected = case.expected().expect("expected.txt");
        for line in expected.lines().filter(|l| !l.starts_with(' ')) {
            if let Some(code) = line.split(' ').nth(1) {
                seen.insert(code.to_owned());
            }
        }
    }
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| !NOT_FROM_THE_CHECKER.contains(c))
        .map(|c| c.as_str())
        .filter(|c| !seen.contains(*c))
        .collect();
    assert!(missing.is_empty(), "no fixture expects {missing:?}");
}

#[test]
fn every_case_directory_is_complete() {
    for case in cases().expect("fixtures/check is readable") {
        assert!(
            case.dir.join("flags").is_dir(),
            "{}: no flags/ directory",
            case.name
        );
        assert!(
            case.dir.join("expected.txt").is_file(),
            "{}: no expected.txt",
            case.name
        );
    }
}

#[test]
fn the_examples_check_clean() {
    let options = CheckOptions {
        today: Some(TODAY),
        deny_expired: true,
    };
    let checked = flagc::check_dir(&examples_dir(), &options).expect("examples are readable");
    assert_eq!(listing(&checked), "", "{:#?}", checked.diagnostics);
    let model = checked.model.expect("a clean directory has a model");
    assert!(model.flags.len() >= 10, "the examples shrank");
}
