//! `flagc import flagd`: hand-written flagd documents covering every supported operation are
//! imported, checked, and evaluated by flagc and by flagd's own evaluator on 1,000+ contexts
//! (the same values); the import exported again must evaluate the same in flagd too.
//! Unsupported constructs are reported with their JSON paths and the flag is left out.
#![allow(clippy::unwrap_used)]

#[path = "flagd/node.rs"]
mod node;
#[allow(dead_code)] // the directory generator is for the export tests
#[path = "flagd/random.rs"]
mod random;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use flagc::compile::{Statics, compile};
use flagc::eval::Context;
use flagc::flagd;
use flagc::ir::Layout;
use flagc::{CheckOptions, Checked};
use serde_json::{Value as Json, json};

/// Every supported operation, in flagd's own idioms.
fn supported() -> Json {
    json!({
      "$schema": "https://flagd.dev/schema/v0/flags.json",
      "metadata": { "owner": "platform" },
      "$evaluators": {
        "staff": { "ends_with": [{ "var": "email" }, "@example.com"] },
        "adults": { "and": [
          { "!==": [{ "var": "age" }, null] },
          { ">=": [{ "var": "age" }, 18] }
        ] }
      },
      "flags": {
        "new-checkout": {
          "state": "ENABLED",
          "variants": { "on": true, "off": false },
          "defaultVariant": "off",
          "metadata": { "description": "One-page checkout", "expires": "2027-03-01" },
          "targeting": { "if": [
            { "$ref": "staff" }, "on",
            { "in": [{ "var": "country" }, ["DE", "FR"]] },
              { "fractional": [["on", 25], ["off", 75]] },
            { "and": [{ "==": [{ "var": "country" }, "US"] }, { "!==": [{ "var": "email" }, null] }] },
              { "fractional": [{ "cat": [{ "var": "$flagd.flagKey" }, { "var": "email" }] }, ["on"], ["off"]] },
            null
          ] }
        },
        "color": {
          "state": "ENABLED",
          "variants": { "red": "red", "green": "green", "blue": "blue" },
          "defaultVariant": "red",
          "targeting": { "if": [
            { "sem_ver": [{ "var": "appVersion" }, ">=", "2.0.0"] },
              { "if": [
                { "sem_ver": [{ "var": "appVersion" }, "^", "3.1.0"] }, "blue",
                { "sem_ver": [{ "var": "appVersion" }, "~", "2.4.0"] }, "green",
                null
              ] },
            { "sem_ver": ["1.0.0", "=", { "var": "appVersion" }] }, "green",
            { "and": [{ "sem_ver": [{ "var": "appVersion" }, "!=", "0.9.0"] }, { "!==": [{ "var": "accountId" }, null] }] },
              { "fractional": [{ "cat": ["color-salt", { "var": "accountId" }] }, ["green", 50000], ["blue", 30000], ["red", 20000]] },
            "red"
          ] }
        },
        "page_size": {
          "state": "ENABLED",
          "variants": { "small": 10, "large": 50, "huge": 100 },
          "defaultVariant": "small",
          "targeting": { "if": [
            { "and": [{ "!==": [{ "var": "age" }, null] }, { "<": [{ "var": "age" }, 13] }] }, "small",
            { "<": [18, { "var": "age" }, 65] }, "large",
            { "$ref": "adults" }, "huge",
            { "and": [{ "!==": [{ "var": "plan" }, null] }, { "!": { "in": [{ "var": "plan" }, ["free"]] } }] }, "large",
            null
          ] }
        },
        "ratio": {
          "state": "ENABLED",
          "variants": { "low": 0.25, "high": 0.75, "full": 1 },
          "defaultVariant": "low",
          "targeting": { "if": [
            { "and": [{ "!==": [{ "var": "score" }, null] }, { "<=": [{ "var": "score" }, 0.5] }] }, "high",
            { ">": [{ "var": "score" }, 0.9] }, "full",
            null
          ] }
        },
        "greeting": {
          "state": "ENABLED",
          "variants": { "plain": "Hello", "friendly": "Hi there!", "none": "" },
          "defaultVariant": "plain",
          "targeting": { "if": [
            { "or": [
              { "starts_with": [{ "var": "email" }, "vip."] },
              { "in": ["@friends.", { "var": "email" }] }
            ] }, "friendly",
            { "===": [{ "var": "beta" }, true] }, "none",
            { "and": [{ "!==": [{ "var": "country" }, null] }, { "!=": [{ "var": "country" }, "GB"] }, { "!==": [{ "var": "country" }, "IE"] }] }, "plain",
            null
          ] }
        },
        "groups_flag": {
          "state": "ENABLED",
          "variants": { "yes": true, "no": false },
          "defaultVariant": "no",
          "targeting": { "if": [
            { "some": [{ "var": "groups" }, { "in": [{ "var": "" }, ["beta", "alpha"]] }] }, "yes",
            { "in": ["vip", { "var": "groups" }] }, "yes",
            { "some": [{ "var": "groups" }, { "===": [{ "substr": [{ "var": "" }, 0, 4] }, "team"] }] }, "yes",
            { "and": [
              { "!==": [{ "var": "groups" }, null] },
              { "none": [{ "var": "groups" }, { "in": [{ "var": "" }, ["blocked"]] }] },
              { "===": [{ "var": "beta" }, false] }
            ] }, "yes",
            null
          ] }
        },
        "kill_switch": {
          "state": "ENABLED",
          "variants": { "on": true, "off": false },
          "defaultVariant": "on"
        },
        "by_key": {
          "state": "ENABLED",
          "variants": { "a": "a", "b": "b" },
          "defaultVariant": "a",
          "targeting": { "fractional": [["b", 1], ["a", 1]] }
        }
      }
    })
}

fn import_to_dir(doc: &Json) -> (flagd::Import, tempfile::TempDir, Checked) {
    let import = flagd::import(&doc.to_string());
    let dir = tempfile::tempdir().unwrap();
    for f in &import.files {
        std::fs::write(dir.path().join(&f.path), &f.text).unwrap();
    }
    let checked = flagc::check_dir(dir.path(), &CheckOptions::default()).unwrap();
    assert!(
        checked.model.is_some(),
        "the import does not check: {:#?}\n{}",
        checked.diagnostics,
        import
            .files
            .iter()
            .map(|f| f.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    );
    (import, dir, checked)
}

/// flagd's evaluation of the original document agrees with flagc's of the import, and with
/// flagd's of the import exported again.
fn round_trip(doc: &Json, contexts_seed: u64) -> usize {
    let (import, _dir, checked) = import_to_dir(doc);
    let model = checked.model.as_ref().unwrap();
    let mut rng = random::Rng::new(contexts_seed);
    let ours = random::contexts(model, &mut rng, 1_000);
    // The same contexts with flagd's variable names.
    let to_flagd: BTreeMap<&str, &str> = import
        .variables
        .iter()
        .map(|(v, a)| (a.as_str(), v.as_str()))
        .collect();
    let theirs: Vec<Json> = ours
        .iter()
        .map(|c| {
            let obj = c.as_object().unwrap();
            Json::Object(
                obj.iter()
                    .map(|(k, v)| {
                        (
                            to_flagd.get(k.as_str()).unwrap_or(&k.as_str()).to_string(),
                            v.clone(),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let original = node::evaluate(doc, &theirs);
    let statics = Statics::from_pairs::<&str, &str>(&model.manifest, []).unwrap();
    let exported = flagd::export(model, &checked.sources, &statics);
    assert!(exported.errors.is_empty(), "{:?}", exported.errors);
    let again = node::evaluate(&exported.document, &ours);
    let layout = Layout::of(&model.manifest);
    let program = compile(model, &statics, &layout);
    let mut n = 0;
    for (i, ctx_json) in ours.iter().enumerate() {
        let ctx = Context::from_json(&layout, ctx_json).unwrap();
        for (key, flagd_key) in &import.keys {
            let f = program.flag_index(key).unwrap();
            let value = program.eval(f, &ctx).value.to_json(&program.flags[f].ty);
            let a = node::resolution(&original[i], flagd_key);
            let b = node::resolution(&again[i], key);
            assert!(
                a.error_code.is_none() && b.error_code.is_none(),
                "{key}: {a:?} {b:?}"
            );
            assert!(
                node::same_value(&value, &a.value),
                "flag `{flagd_key}`, context {}: flagd {a:?}, flagc {value}",
                theirs[i]
            );
            assert!(
                node::same_value(&value, &b.value),
                "flag `{key}` exported again, context {ctx_json}: flagd {b:?}, flagc {value}"
            );
            n += 1;
        }
    }
    n
}

#[test]
fn every_supported_operation_round_trips() {
    let doc = supported();
    let import = flagd::import(&doc.to_string());
    assert_eq!(import.issues, [], "{:#?}", import.issues);
    assert_eq!(
        import.imported,
        [
            "new_checkout",
            "color",
            "page_size",
            "ratio",
            "greeting",
            "groups_flag",
            "kill_switch",
            "by_key"
        ]
    );
    assert!(
        import
            .notes
            .contains(&"flag `new-checkout` is named `new_checkout` in flagc".to_owned())
    );
    assert_eq!(import.variables["targetingKey"], "targeting_key");
    assert_eq!(import.variables["appVersion"], "app_version");
    let manifest = &import.files[0].text;
    for line in [
        "age = \"int\"",
        "app_version = \"semver\"",
        "beta = \"bool\"",
        "groups = \"string[]\"",
        "score = \"float\"",
        "targeting_key = \"string\"",
        "[rollout]\nby = \"targeting_key\"",
    ] {
        assert!(manifest.contains(line), "{line} in\n{manifest}");
    }
    let flags = &import.files[1].text;
    for snippet in [
        // A renamed flag keeps its bucketing.
        "[new_checkout]\ndescription = \"One-page checkout\"\nowner = \"platform\"\nexpires = 2027-03-01\nsalt = \"new-checkout\"",
        "rollout = { by = \"targeting_key\", true = 25, false = 75 }",
        // flagd answers the default when the targeting key is missing.
        "# what flagd answers when `targeting_key` is missing\nwhen = { country = [\"DE\", \"FR\"] }\nvalue = false",
        "when = { app_version = { gte = \"3.0.0-0\", lt = \"4.0.0-0\" } }\nvalue = \"blue\"",
        "when = { app_version = { gte = \"2.4.0-0\", lt = \"2.5.0-0\" } }",
        "variants = [\"green\", \"blue\", \"red\"]",
        "salt = \"color-salt\"",
        "when = { age = { gt = 18, lt = 65 } }",
        "when = { plan = { not_in = [\"free\"] } }",
        "when = { country = { not_in = [\"GB\", \"IE\"] } }",
        "when = { groups = { starts_with = \"team\" } }",
        "when = { groups = { not_in = [\"blocked\"] }, beta = false }",
    ] {
        assert!(flags.contains(snippet), "missing:\n{snippet}\nin:\n{flags}");
    }
    let n = round_trip(&doc, 11);
    assert_eq!(n, 8 * 1_000);
}

#[test]
fn exported_examples_round_trip() {
    // flagc → flagd → flagc → flagd: the examples (production, US) come back unchanged in
    // evaluation.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/flags");
    let checked = flagc::check_dir(&dir, &CheckOptions::default()).unwrap();
    let model = checked.model.as_ref().unwrap();
    let statics =
        Statics::from_pairs(&model.manifest, [("env", "production"), ("region", "us")]).unwrap();
    let export = flagd::export(model, &checked.sources, &statics);
    let import = flagd::import(&export.document.to_string());
    assert_eq!(import.issues, [], "{:#?}", import.issues);
    assert_eq!(import.imported, export.exported);
    round_trip(&export.document, 5);
}

fn flag(targeting: Json) -> Json {
    json!({ "state": "ENABLED", "variants": { "on": true, "off": false }, "defaultVariant": "off", "targeting": targeting })
}

#[test]
fn unsupported_constructs_are_reported_with_their_paths() {
    let doc = json!({ "flags": {
        "regex": flag(json!({ "if": [{ "matches": [{ "var": "email" }, "x"] }, "on", null] })),
        "unguarded_not": flag(json!({ "if": [{ "!": { "in": [{ "var": "country" }, ["US"]] } }, "on", null] })),
        "unguarded_lt": flag(json!({ "if": [{ "<": [{ "var": "age" }, 18] }, "on", null] })),
        "loose_zero": flag(json!({ "if": [{ "==": [{ "var": "count" }, 0] }, "on", null] })),
        "truthy": flag(json!({ "if": [{ "var": "beta" }, "on", null] })),
        "missing": flag(json!({ "if": [{ "missing": ["email"] }, "on", null] })),
        "timestamp": flag(json!({ "if": [{ ">": [{ "var": "$flagd.timestamp" }, 1_700_000_000] }, "on", null] })),
        "odd_weights": flag(json!({ "fractional": [["on", 1], ["off", 2]] })),
        "false_first": flag(json!({ "fractional": [["off", 50], ["on", 50]] })),
        "disabled": { "state": "DISABLED", "variants": { "on": true }, "defaultVariant": "on" },
        "object": { "state": "ENABLED", "variants": { "a": { "x": 1 } }, "defaultVariant": "a" },
        "nested_var": flag(json!({ "if": [{ "==": [{ "var": "user.id" }, "u"] }, "on", null] })),
        "unguarded_cat": flag(json!({ "fractional": [{ "cat": ["s", { "var": "email" }] }, ["on", 1], ["off", 1]] })),
        "string_order": flag(json!({ "if": [{ "<": [{ "var": "name" }, "m"] }, "on", null] })),
        "fine": flag(json!({ "if": [{ "in": [{ "var": "country" }, ["US"]] }, "on", null] }))
    } });
    let import = flagd::import(&doc.to_string());
    let got: Vec<(String, String)> = import
        .issues
        .iter()
        .map(|i| (i.flag.clone().unwrap_or_default(), i.path.clone()))
        .collect();
    let want = [
        ("regex", "/flags/regex/targeting/if/0/matches"),
        ("unguarded_lt", "/flags/unguarded_lt/targeting/if/0/<"),
        ("loose_zero", "/flags/loose_zero/targeting/if/0/=="),
        ("truthy", "/flags/truthy/targeting/if/0"),
        ("missing", "/flags/missing/targeting/if/0/missing"),
        ("timestamp", "/flags/timestamp/targeting/if/0/>"),
        ("odd_weights", "/flags/odd_weights/targeting/fractional"),
        ("false_first", "/flags/false_first/targeting"),
        ("disabled", "/flags/disabled/state"),
        ("object", "/flags/object/variants"),
        ("nested_var", "/flags/nested_var/targeting/if/0/=="),
        ("string_order", "/flags/string_order/targeting/if/0/<"),
        (
            "unguarded_cat",
            "/flags/unguarded_cat/targeting/fractional/0",
        ),
        ("unguarded_not", "/flags/unguarded_not/targeting/if/0/!/in"),
    ];
    let mut want: Vec<(String, String)> = want
        .iter()
        .map(|(f, p)| ((*f).to_owned(), (*p).to_owned()))
        .collect();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    want.sort();
    assert_eq!(got_sorted, want, "{:#?}", import.issues);
    assert_eq!(import.imported, ["fine"]);
    let message = |flag: &str| {
        import
            .issues
            .iter()
            .find(|i| i.flag.as_deref() == Some(flag))
            .map(|i| i.message.clone())
            .unwrap()
    };
    assert!(message("regex").contains("`matches` has no flagc equivalent"));
    assert!(message("unguarded_not").contains("true when `country` is missing"));
    assert!(message("odd_weights").contains("weights summing to 3"));
    assert!(message("truthy").contains("truthiness"));
}

#[test]
fn cli_import_writes_a_checked_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let doc_path = tmp.path().join("flags.flagd.json");
    std::fs::write(&doc_path, supported().to_string()).unwrap();
    let out_dir = tmp.path().join("flags");
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_flagc"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[
        "import".as_ref(),
        "flagd".as_ref(),
        doc_path.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("imported 8 flags"), "{stderr}");
    assert!(out_dir.join(".flagc/flags.schema.json").exists());
    let out = run(&["check".as_ref(), out_dir.as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Never over an existing flag directory.
    let out = run(&[
        "import".as_ref(),
        "flagd".as_ref(),
        doc_path.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));

    // Some flags left out: written, exit 1, each reported with its path.
    std::fs::write(
        &doc_path,
        json!({ "flags": {
            "a": flag(json!({ "if": [{ "matches": [{ "var": "e" }, "x"] }, "on", null] })),
            "b": flag(json!(null))
        } })
        .to_string(),
    )
    .unwrap();
    let partial = tmp.path().join("partial");
    let out = run(&[
        "import".as_ref(),
        "flagd".as_ref(),
        doc_path.as_os_str(),
        "--out".as_ref(),
        partial.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("warning: flag `a` at /flags/a/targeting/if/0/matches:"),
        "{stderr}"
    );
    assert!(stderr.contains("imported 1 flag into"), "{stderr}");
}
