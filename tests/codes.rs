//! `docs/codes.md`, the table of diagnostic codes, is generated from `Code::ALL` and
//! `Code::explain()`; this test fails when the file is out of date. Regenerate it with
//! `FLAGC_BLESS=1 cargo test -p flagc-tests --test codes`.

use std::fs;
use std::path::Path;

use flagc::Code;

/// The sections of the table, by the code's hundreds.
fn section(code: Code) -> &'static str {
    match code.as_str().get(1..3) {
        Some("00") => "Reading the flag directory",
        Some("01") => "TOML and structure (the JSON Schemas)",
        Some("02") => "Names and references",
        Some("03") => "Types and literals",
        Some("04") => "Rules and rollouts",
        Some("05") => "Warnings and notes: valid, but probably not what was meant",
        Some("06") => "Evaluation inputs",
        _ => "Other",
    }
}

fn severity(code: Code) -> &'static str {
    match code.as_str().as_bytes().first() {
        Some(b'E') => "error",
        Some(b'W') => "warning",
        Some(b'N') => "note",
        _ => "?",
    }
}

/// The explanation as one table cell.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn render() -> String {
    let mut out = String::from(
        "# Diagnostic codes\n\
         \n\
         <!-- Generated from `Code::ALL` and `Code::explain()` in flagc/src/diag.rs by\n\
         tests/codes.rs; do not edit. Regenerate with\n\
         `FLAGC_BLESS=1 cargo test -p flagc-tests --test codes`. -->\n\
         \n\
         Every diagnostic of `flagc check` (and of the proc macro and the runtime, which run the\n\
         same checks) has a stable code: a code never changes meaning once released. `E` codes\n\
         are errors, `W` warnings and `N` notes. `W0502` (expired flag) becomes an error with\n\
         `--deny-expired`, and every warning with `--deny-warnings`.\n",
    );
    let mut current = "";
    for &code in Code::ALL {
        let title = section(code);
        if title != current {
            current = title;
            out.push_str(&format!(
                "\n## {title}\n\n| code | severity | name | meaning |\n|---|---|---|---|\n"
            ));
        }
        out.push_str(&format!(
            "| `{code}` | {} | `{code:?}` | {} |\n",
            severity(code),
            cell(code.explain())
        ));
    }
    out
}

#[test]
fn docs_codes_md_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/codes.md");
    let expected = render();
    if std::env::var_os("FLAGC_BLESS").is_some() {
        fs::create_dir_all(path.parent().expect("docs/ has a parent")).expect("create docs/");
        fs::write(&path, &expected).expect("write docs/codes.md");
        return;
    }
    let actual = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/codes.md is out of date with Code::ALL / Code::explain(); regenerate it with\n\
         FLAGC_BLESS=1 cargo test -p flagc-tests --test codes"
    );
}

#[test]
fn every_code_is_documented_once_with_an_explanation() {
    let mut seen = std::collections::HashSet::new();
    for &code in Code::ALL {
        assert!(seen.insert(code.as_str()), "{code} appears twice");
        assert!(!code.explain().is_empty(), "{code:?} has no explanation");
        assert_ne!(severity(code), "?", "{code} has no severity letter");
        assert_ne!(
            section(code),
            "Other",
            "{code} needs a section in tests/codes.rs"
        );
    }
}
