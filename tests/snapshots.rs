//! The wording of diagnostics, snapshotted: every diagnostic of a few rich fixtures with its
//! place, code, message and help, so that a change of wording is reviewed like code
//! (`cargo insta review`). Which diagnostics appear where is `fixtures.rs`'s business.

use flagc_tests::{Case, cases};
use serde_json::{Value, json};

fn case(name: &str) -> Case {
    cases()
        .expect("fixtures/check is readable")
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no fixture case `{name}`"))
}

/// The diagnostics of a case as JSON: positions are 1-based, as the CLI's JSON output has them.
fn diagnostics(name: &str) -> Value {
    let checked = case(name).check().expect("the case can be checked");
    let items: Vec<Value> = checked
        .diagnostics
        .iter()
        .map(|d| {
            let pos = checked.sources.position(d);
            let labels: Vec<Value> = d
                .labels
                .iter()
                .map(|l| {
                    let pos = checked
                        .sources
                        .get(&l.file)
                        .map(|f| f.line_col(l.span.start));
                    json!({
                        "file": l.file,
                        "line": pos.map(|p| p.0),
                        "column": pos.map(|p| p.1),
                        "message": l.message,
                    })
                })
                .collect();
            let mut v = json!({
                "severity": d.severity.as_str(),
                "code": d.code.as_str(),
                "file": d.file,
                "line": pos.map(|p| p.line),
                "column": pos.map(|p| p.column),
                "message": d.message,
                "help": d.help,
            });
            if !labels.is_empty() {
                v["labels"] = Value::Array(labels);
            }
            v
        })
        .collect();
    Value::Array(items)
}

#[test]
fn wording_of_literal_and_reference_errors() {
    let mut all = diagnostics("wrong_literal");
    if let (Value::Array(a), Value::Array(b)) = (&mut all, diagnostics("unknown_reference")) {
        a.extend(b);
    }
    insta::assert_json_snapshot!(all);
}

#[test]
fn wording_of_rollout_and_rule_errors() {
    let mut all = diagnostics("rollout");
    for more in ["rule_outcome", "rollout_by", "shadowed_rule"] {
        if let (Value::Array(a), Value::Array(b)) = (&mut all, diagnostics(more)) {
            a.extend(b);
        }
    }
    insta::assert_json_snapshot!(all);
}

#[test]
fn wording_of_structure_and_manifest_errors() {
    let mut all = diagnostics("unknown_field");
    for more in [
        "wrong_type",
        "missing_fields",
        "duplicate_flag",
        "duplicate_name",
        "segment_cycle",
        "broken_manifest",
    ] {
        if let (Value::Array(a), Value::Array(b)) = (&mut all, diagnostics(more)) {
            a.extend(b);
        }
    }
    insta::assert_json_snapshot!(all);
}
