//! `flagc export --format flagd`, differentially: every exportable flag of `examples/flags`
//! and of random flag directories is evaluated on 1,000+ contexts by flagc and by flagd's own
//! evaluator (`@openfeature/flagd-core` 4.0.1 under node, after its strict schema validation),
//! and every value must agree. Flags flagd cannot express must be refused with the specific
//! error. Node is required: these tests fail without it, they never skip.
#![allow(clippy::unwrap_used)]

#[path = "flagd/node.rs"]
mod node;
#[path = "flagd/random.rs"]
mod random;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use flagc::compile::{Statics, compile};
use flagc::eval::Context;
use flagc::flagd::{self, Unsupported};
use flagc::ir::Layout;
use flagc::{CheckOptions, Checked, Model};
use serde_json::{Value as Json, json};

const CONTEXTS_PER_FLAG: usize = 1_000;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/flags")
}

fn check(dir: &Path) -> Checked {
    let checked = flagc::check_dir(dir, &CheckOptions::default()).unwrap();
    assert!(
        checked.model.is_some(),
        "{} does not check: {:#?}",
        dir.display(),
        checked.diagnostics
    );
    checked
}

/// Exports `model` for `statics`, runs flagd on the document and flagc on the model for every
/// context, and asserts that every exported flag agrees. Returns the number of evaluations.
fn differential(checked: &Checked, statics: &Statics, contexts: &[Json]) -> usize {
    let model = checked.model.as_ref().unwrap();
    let export = flagd::export(model, &checked.sources, statics);
    let rows = node::evaluate(&export.document, contexts);
    let layout = Layout::of(&model.manifest);
    let program = compile(model, statics, &layout);
    let mut evaluations = 0;
    for (ctx_json, row) in contexts.iter().zip(&rows) {
        let ctx = Context::from_json(&layout, ctx_json)
            .unwrap_or_else(|e| panic!("context {ctx_json} is invalid for flagc: {e}"));
        for key in &export.exported {
            let i = program.flag_index(key).unwrap();
            let ours = program.eval(i, &ctx);
            let theirs = node::resolution(row, key);
            let want = ours.value.to_json(&program.flags[i].ty);
            let context = || {
                format!(
                    "flag `{key}` ({}), context {ctx_json}\nflagc: {want} (rule {:?})\nflagd: \
                     {theirs:?}\nexported: {}",
                    statics.describe(&model.manifest),
                    ours.rule,
                    serde_json::to_string(&export.document["flags"][key]).unwrap()
                )
            };
            assert!(theirs.error_code.is_none(), "flagd error: {}", context());
            assert!(node::same_value(&want, &theirs.value), "{}", context());
            if theirs.reason == "DEFAULT" {
                assert_eq!(ours.rule, None, "flagd fell to the default: {}", context());
            }
            evaluations += 1;
        }
    }
    evaluations
}

fn kinds(export: &flagd::Export) -> BTreeSet<(String, &'static str)> {
    export
        .errors
        .iter()
        .map(|e| {
            let kind = match e.kind {
                Unsupported::Regex { .. } => "regex",
                Unsupported::Datetime { .. } => "datetime",
                Unsupported::IntRange { .. } => "int-range",
                Unsupported::Semver { .. } => "semver",
            };
            (e.flag.clone(), kind)
        })
        .collect()
}

#[test]
fn examples_agree_with_flagd_in_every_environment() {
    let checked = check(&examples());
    let model = checked.model.as_ref().unwrap();
    let mut rng = random::Rng::new(20_260_401);
    let contexts = random::contexts(model, &mut rng, CONTEXTS_PER_FLAG);
    let mut total = 0;
    for statics in Statics::combinations(&model.manifest) {
        let export = flagd::export(model, &checked.sources, &statics);
        // The flags that cannot be exported, each for its specific reason.
        let mut want: BTreeSet<(String, &str)> = [
            ("apple_pay".to_owned(), "regex"),
            ("loyalty_discount_percent".to_owned(), "datetime"),
        ]
        .into_iter()
        .collect();
        if statics.describe(&model.manifest).contains("region=us") {
            want.insert(("price_display".to_owned(), "datetime"));
        }
        assert_eq!(
            kinds(&export),
            want,
            "{}",
            statics.describe(&model.manifest)
        );
        let safari = export
            .errors
            .iter()
            .find(|e| e.flag == "apple_pay")
            .unwrap();
        assert_eq!(safari.rule, "rule `safari`");
        assert_eq!(safari.loc.file, "payments.toml");
        assert_eq!(
            export.exported.len() + want.len(),
            model.flags.len(),
            "every other flag is exported"
        );
        total += differential(&checked, &statics, &contexts);
    }
    assert!(total >= 6 * 17 * CONTEXTS_PER_FLAG, "{total} evaluations");
}

#[test]
fn random_directories_agree_with_flagd() {
    let mut total = 0;
    let mut exported_flags = 0;
    for seed in 1..=14u64 {
        let (files, unexportable) = random::random_dir(seed);
        let tmp = tempfile::tempdir().unwrap();
        for (path, text) in &files {
            std::fs::write(tmp.path().join(path), text).unwrap();
        }
        let checked = flagc::check_dir(tmp.path(), &CheckOptions::default()).unwrap();
        let Some(model) = checked.model.as_ref() else {
            panic!(
                "seed {seed}: the generated directory does not check: {:#?}\n{}",
                checked.diagnostics,
                files.values().cloned().collect::<Vec<_>>().join("\n")
            );
        };
        let env = if seed % 2 == 0 { "prod" } else { "dev" };
        let statics = Statics::from_pairs(&model.manifest, [("env", env)]).unwrap();
        let export = flagd::export(model, &checked.sources, &statics);
        // Only flags written with a regex on a string or a datetime comparison may fail,
        // for that reason (static folding may have dropped the rule, then they export).
        for e in &export.errors {
            assert!(
                unexportable.contains(&e.flag),
                "seed {seed}: {e} for a flag the generator considers exportable"
            );
            assert!(
                matches!(
                    e.kind,
                    Unsupported::Regex { .. } | Unsupported::Datetime { .. }
                ),
                "seed {seed}: {e}"
            );
        }
        let mut rng = random::Rng::new(seed * 7919);
        let contexts = random::contexts(model, &mut rng, CONTEXTS_PER_FLAG);
        exported_flags += export.exported.len();
        total += differential(&checked, &statics, &contexts);
    }
    assert!(exported_flags >= 50, "only {exported_flags} flags exported");
    assert!(total >= exported_flags * CONTEXTS_PER_FLAG);
}

fn write_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = tmp.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    tmp
}

const MANIFEST: &str = r#"
[static]
env = ["dev", "prod"]

[context]
user_id = "string"
ua = "string"
age = "int"
version = "semver"
signup = "datetime"
groups = "string[]"

[rollout]
by = "user_id"

[segments]
bots = { ua = { matches = "bot" } }
recent = { signup = { gte = 2026-01-01T00:00:00Z } }
grown = { age = { gte = 18 } }
"#;

const FLAGS: &str = r#"
[regex_rule]
description = "d"
owner = "o"
permanent = true
default = false
[[regex_rule.rules]]
id = "crawlers"
when = { ua = { matches = "(?i)bot" } }
value = true

[regex_in_dev_only]
description = "d"
owner = "o"
permanent = true
default = false
[[regex_in_dev_only.rules]]
when = { env = "dev", ua = { matches = "bot" } }
value = true
[[regex_in_dev_only.rules]]
when = { segment = "grown" }
rollout = 50

[datetime_equal]
description = "d"
owner = "o"
permanent = true
default = 1
[[datetime_equal.rules]]
when = { signup = 2026-01-01T00:00:00Z }
value = 2

[datetime_is_set]
description = "d"
owner = "o"
permanent = true
default = 1
[[datetime_is_set.rules]]
when = { signup = { not_in = [] } }
value = 2

[through_segment]
description = "d"
owner = "o"
permanent = true
default = "a"
[[through_segment.rules]]
when = { segment = ["grown", "recent"] }
value = "b"

[huge_int_literal]
description = "d"
owner = "o"
permanent = true
default = false
[[huge_int_literal.rules]]
when = { age = { lt = 9007199254740993 } }
value = true

[huge_int_value]
description = "d"
owner = "o"
permanent = true
default = 9007199254740993

[huge_version]
description = "d"
owner = "o"
permanent = true
default = false
[[huge_version.rules]]
when = { version = { gte = "9007199254740993.0.0" } }
value = true

[after_unconditional]
description = "d"
owner = "o"
permanent = true
default = false
[[after_unconditional.rules]]
when = { env = "prod" }
value = true
[[after_unconditional.rules]]
when = { ua = { matches = "never reached in prod" } }
value = false
"#;

#[test]
fn unexportable_flags_get_the_specific_error() {
    let dir = write_dir(&[("flagc.toml", MANIFEST), ("flags.toml", FLAGS)]);
    let checked = check(dir.path());
    let model: &Model = checked.model.as_ref().unwrap();
    let prod = Statics::from_pairs(&model.manifest, [("env", "prod")]).unwrap();
    let export = flagd::export(model, &checked.sources, &prod);
    let got: Vec<String> = export.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "flag `datetime_equal`, rule #1: `signup = { in = … }` on a datetime: flagd compares \
             datetimes as strings, not as instants",
            "flag `huge_int_literal`, rule #1: `age` is compared with 9007199254740993, beyond \
             ±2^53: flagd's numbers are doubles",
            "flag `huge_int_value`, default: the value 9007199254740993 is beyond ±2^53: flagd's \
             numbers are doubles",
            "flag `huge_version`, rule #1: `version` is compared with the version \
             \"9007199254740993.0.0\", which flagd's `sem_ver` cannot represent exactly (a number \
             beyond 2^53, or over 256 characters)",
            "flag `regex_rule`, rule `crawlers`: `ua = { matches = \"(?i)bot\" }`: flagd's \
             JSONLogic has no regular expressions",
            "flag `through_segment`, rule #1 (in segment `recent`): `signup = { gte = … }` on a \
             datetime: flagd compares datetimes as strings, not as instants",
        ]
    );
    let regex = export
        .errors
        .iter()
        .find(|e| e.flag == "regex_rule")
        .unwrap();
    let file = checked.sources.get(&regex.loc.file).unwrap();
    assert_eq!(
        file.line_col(regex.loc.span.start).0,
        9,
        "points at the condition"
    );
    // Folded away by the statics: the dev-only regex rule, the rule after an unconditional
    // one; a presence test on a datetime is exact.
    assert_eq!(
        export.exported,
        [
            "after_unconditional",
            "datetime_is_set",
            "regex_in_dev_only"
        ]
    );
    let flags = &export.document["flags"];
    assert_eq!(
        flags["after_unconditional"]["defaultVariant"], "true",
        "a constant"
    );
    assert!(flags["after_unconditional"].get("targeting").is_none());
    // The segment that survives is an evaluator; the others are not emitted.
    assert_eq!(
        export.document["$evaluators"],
        json!({ "grown": { "and": [
            { "!==": [{ "var": "age" }, null] },
            { ">=": [{ "var": "age" }, 18] }
        ] } })
    );
    assert_eq!(
        flags["regex_in_dev_only"]["targeting"],
        json!({ "if": [
            { "and": [{ "$ref": "grown" }, { "!==": [{ "var": "user_id" }, null] }] },
            { "fractional": [
                { "cat": ["regex_in_dev_only", { "var": "user_id" }] },
                ["true", 50_000],
                ["false", 50_000]
            ] },
            null
        ] })
    );
    assert_eq!(
        flags["datetime_is_set"]["metadata"],
        json!({ "owner": "o", "description": "d", "permanent": true, "source": "flags.toml:33" })
    );

    // In dev, the regex rule is live.
    let dev = Statics::from_pairs(&model.manifest, [("env", "dev")]).unwrap();
    let export = flagd::export(model, &checked.sources, &dev);
    assert!(
        export
            .errors
            .iter()
            .any(|e| e.flag == "regex_in_dev_only" && matches!(e.kind, Unsupported::Regex { .. }))
    );
}

#[test]
fn flagd_validation_is_live() {
    // A document flagd-core's schema refuses must be reported as invalid by the harness, so
    // that "no error" above means something.
    let bad = json!({ "flags": { "f": {
        "state": "ENABLED",
        "variants": { "on": true, "off": false },
        "defaultVariant": "on",
        "targeting": { "regex": [{ "var": "x" }, "a"] }
    } } });
    assert!(matches!(
        node::run(&bad, &[json!({})]),
        node::Run::Invalid(_)
    ));
}

fn flagc_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flagc"))
}

#[test]
fn cli_export_writes_atomically_and_reports_errors() {
    let dir = write_dir(&[("flagc.toml", MANIFEST), ("flags.toml", FLAGS)]);
    let out_file = dir.path().join("out/flags.flagd.json");
    std::fs::create_dir_all(out_file.parent().unwrap()).unwrap();

    // Unexportable flags: exit 1, nothing written.
    let out = flagc_bin()
        .args(["export", "--format", "flagd"])
        .arg(dir.path())
        .args(["--static", "env=prod", "--out"])
        .arg(&out_file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!out_file.exists());
    assert!(
        stderr.contains(
            "error: flag `regex_rule` cannot be exported to flagd: rule `crawlers`: `ua = { \
             matches = \"(?i)bot\" }`: flagd's JSONLogic has no regular expressions"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("flags.toml:9:10"), "{stderr}");
    assert!(stderr.contains("6 flags cannot be exported"), "{stderr}");

    // Skipping them: the rest is written, through a temporary file.
    let out = flagc_bin()
        .args(["export", "--format", "flagd"])
        .arg(dir.path())
        .args(["--static", "env=prod", "--skip-unsupported", "--out"])
        .arg(&out_file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning: flag `regex_rule`"), "{stderr}");
    assert!(stderr.contains("wrote 3 flags"), "{stderr}");
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(doc["flags"].as_object().unwrap().len(), 3);
    let leftovers: Vec<_> = std::fs::read_dir(out_file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");

    // Statics are required, one document per environment.
    let out = flagc_bin()
        .args(["export", "--format", "flagd"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no value given for static attribute `env`")
    );

    // To stdout, the examples for one environment (with the flags flagd cannot express left
    // out) are a document flagd accepts.
    let out = flagc_bin()
        .args(["export", "--format", "flagd"])
        .arg(examples())
        .args([
            "--static",
            "env=staging",
            "--static",
            "region=eu",
            "--skip-unsupported",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["metadata"]["statics"], "env=staging, region=eu");
    assert_eq!(
        doc["flags"]["payment_router_v2"]["defaultVariant"], "true",
        "constant in staging"
    );
    node::evaluate(&doc, &[json!({ "user_id": "u-1" })]);
}
