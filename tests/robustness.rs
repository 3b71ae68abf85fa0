//! The pipeline never panics, and every diagnostic points into its file: properties over
//! mutated copies of the example flag directory (byte flips, truncations, deleted and
//! duplicated lines, inserted TOML fragments) and over arbitrary bytes.

use std::fs;
use std::path::Path;

use flagc::diag::Diagnostics;
use flagc::{CheckOptions, Sources, check_sources};
use flagc_tests::{TODAY, examples_dir, span_problems};
use proptest::prelude::*;

/// The example directory's files, `(relative path, bytes)`, manifest first.
fn examples() -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .expect("examples are readable")
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else if name.ends_with(".toml") {
                let rel = path
                    .strip_prefix(root)
                    .expect("below the root")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, fs::read(&path).expect("readable")));
            }
        }
    }
    let root = examples_dir();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort_by_key(|(p, _)| (p != "flagc.toml", p.clone()));
    assert!(out.len() >= 3, "the examples are there");
    out
}

/// Runs the whole pipeline on in-memory files and checks what must hold whatever the input.
fn check_invariants(files: &[(String, Vec<u8>)]) -> Result<(), TestCaseError> {
    let mut diags = Diagnostics::new();
    let sources = Sources::from_memory(files.iter().map(|(p, b)| (p.as_str(), b)), &mut diags);
    let options = CheckOptions {
        today: Some(TODAY),
        deny_expired: false,
    };
    let checked = check_sources(sources, diags, &options);
    let problems = span_problems(&checked);
    prop_assert!(problems.is_empty(), "{problems:#?}");
    for d in &checked.diagnostics {
        if d.span.is_some() {
            let pos = checked.sources.position(d);
            prop_assert!(pos.is_some(), "no position for {d:?}");
        }
    }
    prop_assert_eq!(checked.model.is_some(), checked.errors() == 0);
    Ok(())
}

/// Pieces of TOML (valid, invalid and tricky) to insert anywhere.
const FRAGMENTS: &[&str] = &[
    "\n[extra_flag]\n",
    "\n[[checkout_layout.rules]]\n",
    "[",
    "]]",
    " = ",
    "= =",
    "\"",
    "\"\"\"",
    "'''",
    "{",
    "}",
    "\n",
    "\r\n",
    "#",
    "é",
    "\u{feff}",
    "🚀",
    "nan",
    "-inf",
    "1e999",
    "99999999999999999999",
    "2027-02-30",
    "2026-01-01T00:00:00",
    "\nwhen = { plan = \"business\", app_version = { gte = \"3.2\" } }\n",
    "\nrollout = { true = 33.3333, false = 66.6667, by = \"signup\" }\n",
    "\nrollout = 120\n",
    "\nrollout = 0e2147483647\n",
    "\nvalue = 2027-01-01\n",
    "\nvariants = [\"by\", \"By\", \"b-y\"]\n",
    "\nsegment = [\"staff\", \"nobody\"]\n",
    "\n[segments]\nloop = { segment = \"loop\" }\n",
    "\nemail = { matches = \"(\" }\n",
    "\nid = \"dev\"\n",
    "\n[context]\nmatch = \"int\"\n",
    "\ndescription = \"\"\n",
    "\npermanent = true\n",
];

/// Values to put in place of a `key = value` line's value: every TOML type, and numbers, dates
/// and strings at the edges of what the checks accept.
const VALUES: &[&str] = &[
    "nan",
    "-inf",
    "0e2147483647",
    "1e-7",
    "33.3333",
    "-1",
    "100.0001",
    "99999999999999999999",
    "0x7fffffffffffffff",
    "\"\"",
    "\"3.2\"",
    "\"by\"",
    "\"2027-03-01\"",
    "2027-03-01",
    "2026-01-01T00:00:00",
    "true",
    "[]",
    "[1, \"a\"]",
    "{}",
    "{ by = \"plan\" }",
];

#[derive(Debug, Clone)]
enum Mutation {
    FlipByte { at: usize, xor: u8 },
    Truncate { at: usize },
    DeleteLine { line: usize },
    DuplicateLine { line: usize },
    Insert { at: usize, fragment: usize },
    ReplaceValue { line: usize, value: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => (any::<usize>(), 1..=255u8).prop_map(|(at, xor)| Mutation::FlipByte { at, xor }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        1 => any::<usize>().prop_map(|line| Mutation::DeleteLine { line }),
        1 => any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        2 => (any::<usize>(), 0..FRAGMENTS.len())
            .prop_map(|(at, fragment)| Mutation::Insert { at, fragment }),
        // Most likely to keep the file valid TOML, hence to reach the semantic checks.
        3 => (any::<usize>(), 0..VALUES.len())
            .prop_map(|(line, value)| Mutation::ReplaceValue { line, value }),
    ]
}

/// The byte ranges of the lines of `text`, each with its line ending.
fn lines(text: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

fn apply(text: &mut Vec<u8>, m: &Mutation) {
    let len = text.len();
    match *m {
        Mutation::FlipByte { at, xor } if len > 0 => text[at % len] ^= xor,
        Mutation::Truncate { at } => text.truncate(at % (len + 1)),
        Mutation::DeleteLine { line } | Mutation::DuplicateLine { line } => {
            let lines = lines(text);
            if lines.is_empty() {
                return;
            }
            let range = lines[line % lines.len()].clone();
            if matches!(m, Mutation::DeleteLine { .. }) {
                text.drain(range);
            } else {
                let copy = text[range.clone()].to_vec();
                text.splice(range.end..range.end, copy);
            }
        }
        Mutation::Insert { at, fragment } => {
            let at = at % (len + 1);
            text.splice(at..at, FRAGMENTS[fragment].bytes());
        }
        Mutation::ReplaceValue { line, value } => {
            // Among the lines with a `=`, so that the result is likely to stay valid TOML and
            // reach the semantic checks.
            let assignments: Vec<_> = lines(text)
                .into_iter()
                .filter_map(|l| {
                    let eq = text[l.clone()].iter().position(|&b| b == b'=')?;
                    Some(l.start + eq + 1..l.end)
                })
                .collect();
            if !assignments.is_empty() {
                let range = assignments[line % assignments.len()].clone();
                let replacement = format!(" {}\n", VALUES[value]);
                text.splice(range, replacement.bytes());
            }
        }
        Mutation::FlipByte { .. } => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_examples_never_panic_and_spans_point_into_files(
        file in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut files = examples();
        let n = files.len();
        let text = &mut files[file % n].1;
        for m in &mutations {
            apply(text, m);
        }
        check_invariants(&files)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(
        manifest in prop::collection::vec(any::<u8>(), 0..300),
        flags in prop::collection::vec(any::<u8>(), 0..300),
        text in "[ -~\n\\[\\]{}=\"é]{0,200}",
    ) {
        let files = vec![
            ("flagc.toml".to_owned(), manifest),
            ("bytes.toml".to_owned(), flags),
            ("text.toml".to_owned(), text.into_bytes()),
        ];
        check_invariants(&files)?;
        // The same junk beside the real manifest reaches the semantic checks.
        let mut with_manifest = examples();
        with_manifest.extend(files.into_iter().skip(1));
        check_invariants(&with_manifest)?;
    }
}

#[test]
fn the_unmutated_examples_are_clean() {
    // The starting point of the mutations is valid, so the properties above also cover
    // valid inputs and the compiler's lint.
    let mut diags = Diagnostics::new();
    let files = examples();
    let sources = Sources::from_memory(files.iter().map(|(p, b)| (p.as_str(), b)), &mut diags);
    let options = CheckOptions {
        today: Some(TODAY),
        deny_expired: false,
    };
    let checked = check_sources(sources, diags, &options);
    assert_eq!(checked.errors(), 0, "{:#?}", checked.diagnostics);
    assert!(checked.model.is_some());
}
