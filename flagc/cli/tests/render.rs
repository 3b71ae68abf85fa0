//! Snapshots of the renderers, over diagnostics built by hand against in-memory sources, so
//! they do not depend on which checks the library implements yet.

use std::path::Path;

use flagc::diag::{Diagnostics, Severity};
use flagc::{Code, Diagnostic, Sources};
use flagc_cli::render::{self, Report};

const MANIFEST: &str = "format = 1\n\n[static]\nenv = [\"development\", \"production\"]\n";

const RELEASE: &str = r#"[new_checkout]
description = "One-page checkout"
owner = "payments"
expires = 2027-03-01
default = false

[[new_checkout.rules]]
value = true

[[new_checkout.rules]]
when = { env = "production" }
value = false
"#;

const BILLING: &str = r#"[new_checkout]
description = "Duplicate"
owner = "billing"
permanent = true
default = true
"#;

const BROKEN: &str = "[search]\nowner = \"search\nd = 1\n";

fn sources() -> Sources {
    let mut diags = Diagnostics::new();
    let sources = Sources::from_memory(
        [
            ("flagc.toml", MANIFEST),
            ("release.toml", RELEASE),
            ("team/billing.toml", BILLING),
            ("broken.toml", BROKEN),
        ],
        &mut diags,
    );
    assert!(
        diags.as_slice().is_empty(),
        "fixture sources are readable: {:?}",
        diags.as_slice()
    );
    sources
}

/// The byte span of the `nth` (0-based) occurrence of `needle` in `text`.
fn span_of(text: &str, needle: &str, nth: usize) -> std::ops::Range<usize> {
    let start = text
        .match_indices(needle)
        .nth(nth)
        .map(|(i, _)| i)
        .expect("needle is in the fixture");
    start..start + needle.len()
}

fn human(diagnostics: &[Diagnostic], flags: Option<usize>) -> String {
    let sources = sources();
    let report = Report {
        dir: Path::new("flags"),
        sources: &sources,
        diagnostics,
        flags,
    };
    render::human(&report, false)
}

fn syntax_error() -> Diagnostic {
    // Where the TOML parser reports the unterminated string: at its end of line.
    let at = BROKEN
        .find("search\nd")
        .map(|i| i + "search".len())
        .expect("fixture");
    Diagnostic::error(
        Code::TomlSyntax,
        "broken.toml",
        at..at,
        "invalid TOML: invalid basic string, expected `\"`",
    )
}

fn duplicate_flag() -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateFlag,
        "team/billing.toml",
        span_of(BILLING, "new_checkout", 0),
        "flag `new_checkout` is defined twice",
    )
    .with_label(
        "release.toml",
        span_of(RELEASE, "new_checkout", 0),
        "first defined here",
    )
    .with_help("flag keys are unique across the whole directory; rename one of them")
}

fn shadowed_rule() -> Diagnostic {
    Diagnostic::warning(
        Code::ShadowedRule,
        "release.toml",
        span_of(RELEASE, "when = { env = \"production\" }", 0),
        "rule #2 of `new_checkout` can never fire",
    )
    .with_label(
        "release.toml",
        span_of(RELEASE, "value = true", 0),
        "rule #1 always decides",
    )
    .with_help("give rule #1 a `when`, or remove rule #2")
}

#[test]
fn syntax_error_points_at_the_place() {
    insta::assert_snapshot!(human(&[syntax_error()], None));
}

#[test]
fn secondary_label_in_another_file_and_help() {
    insta::assert_snapshot!(human(&[duplicate_flag()], None));
}

#[test]
fn secondary_label_in_the_same_file_and_warning_summary() {
    insta::assert_snapshot!(human(&[shadowed_rule()], Some(1)));
}

#[test]
fn diagnostics_without_a_span_have_no_snippet() {
    let empty = Diagnostic::global(
        Severity::Error,
        Code::EmptyFile,
        Some("broken.toml"),
        "file holds no flags",
    )
    .with_help("add a flag, or delete the file");
    let missing = Diagnostic::global(
        Severity::Error,
        Code::MissingManifest,
        None,
        "no `flagc.toml` manifest",
    );
    let out = human(&[empty, missing], None);
    assert!(!out.contains(" | "), "no source line is shown:\n{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn summary_counts_errors_warnings_and_files() {
    let out = human(&[syntax_error(), duplicate_flag(), shadowed_rule()], None);
    assert!(
        out.ends_with("error: 2 errors and 1 warning in 3 files\n"),
        "{out}"
    );

    let out = human(&[], Some(3));
    assert_eq!(out, "checked 3 flags in 4 files: ok\n");
}

#[test]
fn out_of_range_spans_do_not_panic() {
    let mut diags = Diagnostics::new();
    let text = "[f]\ndescription = \"café\"\n";
    let sources = Sources::from_memory([("flagc.toml", MANIFEST), ("f.toml", text)], &mut diags);
    let inside_e_acute = text.find('é').expect("fixture") + 1;
    let (start, end) = (3, 1);
    let diagnostics = [
        Diagnostic::error(
            Code::InvalidValue,
            "f.toml",
            text.len() + 5..text.len() + 9,
            "past the end",
        ),
        Diagnostic::error(
            Code::InvalidValue,
            "f.toml",
            inside_e_acute..inside_e_acute + 1,
            "mid-character",
        ),
        Diagnostic::error(Code::InvalidValue, "flagc.toml", start..end, "reversed"),
    ];
    let report = Report {
        dir: Path::new("flags"),
        sources: &sources,
        diagnostics: &diagnostics,
        flags: None,
    };
    let out = render::human(&report, false);
    // annotate-snippets shows the end of the file at the end of its last line.
    assert!(out.contains("--> flags/f.toml:2:22"), "{out}");
    assert!(out.contains("--> flags/f.toml:2:19"), "{out}");
    assert!(out.contains("--> flags/flagc.toml:1:4"), "{out}");
}

#[test]
fn json_gives_positions_and_nulls() {
    let sources = sources();
    let diagnostics = [
        syntax_error(),
        Diagnostic::global(Severity::Error, Code::MissingManifest, None, "no manifest"),
    ];
    let report = Report {
        dir: Path::new("flags"),
        sources: &sources,
        diagnostics: &diagnostics,
        flags: None,
    };
    let out = render::json(&report);
    assert_eq!(out.lines().count(), 1, "one JSON object on one line: {out}");
    let value: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    insta::assert_json_snapshot!(value);
}

#[test]
fn github_escapes_messages_and_properties() {
    let mut diags = Diagnostics::new();
    let sources = Sources::from_memory(
        [("flagc.toml", "x = 1\n"), ("a,b.toml", "[f]\nx = 1\n")],
        &mut diags,
    );
    let d = Diagnostic::warning(
        Code::ExpiredFlag,
        "a,b.toml",
        1..2,
        "100% expired\nsince: 2020",
    )
    .with_help("remove it");
    let note = Diagnostic::global(Severity::Note, Code::ConstantFlag, None, "constant");
    let diagnostics = [d, note];
    let report = Report {
        dir: Path::new("C:flags"),
        sources: &sources,
        diagnostics: &diagnostics,
        flags: None,
    };
    assert_eq!(
        render::github(&report),
        "::warning file=C%3Aflags/a%2Cb.toml,line=1,col=2,endLine=1,endColumn=3,title=W0502::\
         100%25 expired%0Asince: 2020%0Ahelp: remove it\n\
         ::notice title=N0504::constant\n"
    );
}
