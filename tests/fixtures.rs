//! The checker's fixtures: every case under `fixtures/check/` must produce exactly the
//! diagnostics its `expected.txt` lists (code, file, line, column, labels), each once, in one
//! run; and the example flag directory must check clean.

use std::collections::BTreeSet;
use std::fs;

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

/// Checking is parallel over files once a directory is big enough (64 KiB): a directory of
/// many renamed copies of the examples, some broken, must report exactly what each file
/// reports when checked alone with the manifest, in the same order.
#[test]
fn a_large_directory_reports_what_each_file_reports_alone() {
    let root = examples_dir();
    let read = |p: &str| fs::read_to_string(root.join(p)).expect("example file");
    let manifest = read("flagc.toml");
    let options = CheckOptions {
        today: Some(TODAY),
        deny_expired: false,
    };
    let examples = flagc::check_dir(&root, &options).expect("examples");
    let model = examples.model.expect("the examples are clean");
    let mut files: Vec<(String, String)> = Vec::new();
    for copy in 0..12 {
        for file in examples.sources.files.iter().filter(|f| !f.is_manifest()) {
            let mut text = file.text.clone();
            for flag in &model.flags {
                text = rename_key(&text, &flag.key, &format!("{}_{copy}", flag.key));
            }
            // Every third copy is broken in ways that span the stages.
            if copy % 3 == 1 {
                text = text.replacen("owner = \"", "owner = 1 # \"", 1);
                text.push_str("\n[broken_flag_x]\ndescription = \"d\"\nowner = \"o\"\n");
                text = text.replace("broken_flag_x", &format!("broken_{copy}_{}", files.len()));
            }
            files.push((format!("copy{copy:02}/{}", file.path), text));
        }
    }
    let total: usize = files.iter().map(|(_, t)| t.len()).sum();
    assert!(
        total > 64 * 1024,
        "only {total} bytes: the check would not go parallel"
    );

    let check = |files: &[(String, String)]| {
        let mut diags = flagc::diag::Diagnostics::new();
        let all = std::iter::once(("flagc.toml", manifest.as_str()))
            .chain(files.iter().map(|(p, t)| (p.as_str(), t.as_str())));
        let sources = flagc::Sources::from_memory(all, &mut diags);
        flagc::check_sources(sources, diags, &options)
    };
    let whole = check(&files);
    assert!(whole.errors() >= 8, "the broken copies are reported");
    let alone: Vec<flagc::Diagnostic> = files
        .iter()
        .flat_map(|f| check(std::slice::from_ref(f)).diagnostics)
        .filter(|d| d.severity == flagc::Severity::Error)
        .collect();
    let errors: Vec<&flagc::Diagnostic> =
        whole.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors, alone.iter().collect::<Vec<_>>());
    // And twice the same, whatever the threads did.
    assert_eq!(check(&files).diagnostics, whole.diagnostics);
}

/// Renames a flag key where it appears as a key (`[key]`, `[[key.rules]]`, `[key.rules.when]`).
fn rename_key(text: &str, key: &str, new: &str) -> String {
    text.replace(&format!("[{key}]"), &format!("[{new}]"))
        .replace(&format!("[{key}."), &format!("[{new}."))
}
