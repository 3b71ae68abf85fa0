//! Models that come out of the checker (`examples/flags`), compiled and evaluated: the
//! compiled program agrees with the interpreter for every static combination on a spread of
//! contexts, and the example flags behave as their files say.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use flagc::CheckOptions;
use flagc::bucket;
use flagc::compile::{Statics, compile, lint};
use flagc::diag::Code;
use flagc::eval::Context;
use flagc::interp;
use flagc::ir::Layout;
use flagc::model::{FlagValue, Model};

fn example() -> Model {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/flags");
    let options = CheckOptions {
        today: Some(flagc::model::Date {
            year: 2026,
            month: 1,
            day: 1,
        }),
        ..Default::default()
    };
    let checked = flagc::check_dir(&dir, &options).unwrap();
    checked
        .model
        .unwrap_or_else(|| panic!("examples/flags does not check: {:#?}", checked.diagnostics))
}

/// A spread of contexts over the example's attributes, as `--contexts` JSON lines.
fn contexts() -> Vec<serde_json::Value> {
    let mut out = vec![serde_json::json!({})];
    let emails = [
        "a@shopco.example",
        "b@contractors.shopco.example",
        "loadtest+1@x.example",
        "c@gmail.example",
    ];
    let countries = ["US", "DE", "CA", "CH", "JP"];
    let plans = ["free", "plus", "business"];
    let platforms = ["web", "ios", "android"];
    let versions = ["3.1.0", "3.2.0", "4.1.0-rc.1", "4.2.0", "5.0.0"];
    let signups = ["2024-06-01T00:00:00Z", "2026-03-01T12:00:00+01:00"];
    for i in 0..60usize {
        let groups = match i % 4 {
            0 => serde_json::json!([]),
            1 => serde_json::json!(["beta"]),
            2 => serde_json::json!(["vip", "chargeback_watchlist"]),
            _ => serde_json::Value::Null,
        };
        let user_id: serde_json::Value = if i % 7 == 0 {
            serde_json::Value::Null
        } else {
            format!("u_{i}").into()
        };
        out.push(serde_json::json!({
            "user_id": user_id,
            "account_id": format!("acct-{}", i % 5),
            "email": emails[i % emails.len()],
            "country": countries[i % countries.len()],
            "plan": plans[i % 3],
            "platform": platforms[(i / 3) % 3],
            "app_version": versions[i % 5],
            "employee": i % 4 == 0,
            "account_age_days": (i * 37) % 800,
            "cart_items": i % 9,
            "cart_total": (i as f64) * 41.5,
            "risk_score": (i % 10) as f64 / 10.0,
            "signup": signups[i % 2],
            "groups": groups,
        }));
    }
    out
}

#[test]
fn compiled_examples_agree_with_the_interpreter_everywhere() {
    let model = example();
    let layout = Layout::of(&model.manifest);
    let contexts: Vec<Context<'_>> = contexts()
        .iter()
        .map(|j| Context::from_json(&layout, j).unwrap())
        .collect();
    let mut decided_by_rule = 0;
    for statics in Statics::combinations(&model.manifest) {
        let program = compile(&model, &statics, &layout);
        for ctx in &contexts {
            for i in 0..model.flags.len() {
                let c = program.eval(i, ctx);
                let e = interp::explain(&model, &statics, i, ctx).unwrap();
                assert_eq!(
                    (c.value.to_flag_value(), c.rule),
                    (e.value, e.rule),
                    "{} with {}",
                    model.flags[i].key,
                    statics.describe(&model.manifest)
                );
                decided_by_rule += usize::from(c.rule.is_some());
            }
        }
    }
    assert!(
        decided_by_rule > 500,
        "the contexts exercise the rules ({decided_by_rule})"
    );
}

#[test]
fn one_page_checkout_behaves_as_written() {
    let model = example();
    let layout = Layout::of(&model.manifest);
    let flag = model.flag_index("one_page_checkout").unwrap();
    let run = |env: &str, json: serde_json::Value| {
        let statics =
            Statics::from_pairs(&model.manifest, [("env", env), ("region", "us")]).unwrap();
        let program = compile(&model, &statics, &layout);
        let ctx = Context::from_json(&layout, &json).unwrap();
        let e = program.eval(flag, &ctx);
        (e.value.to_flag_value(), e.rule)
    };
    // `dev`: everyone in development.
    assert_eq!(
        run("development", serde_json::json!({})),
        (FlagValue::Bool(true), Some(0))
    );
    // `dogfood`: staff = internal email and employee.
    let staff = serde_json::json!({"email": "x@shopco.example", "employee": true});
    assert_eq!(run("production", staff), (FlagValue::Bool(true), Some(1)));
    let not_staff = serde_json::json!({"email": "x@shopco.example", "employee": false});
    assert_eq!(run("production", not_staff), (FlagValue::Bool(false), None));
    // `na-ramp`: 25 % of North American users in production, bucketed by user id; nobody
    // without a user id; nobody in staging.
    let mut on = 0;
    for i in 0..400 {
        let id = format!("user-{i}");
        let want = bucket::pick(
            &[25_000, 75_000],
            bucket::bucket(b"one_page_checkout", id.as_bytes()),
        ) == 0;
        let got = run(
            "production",
            serde_json::json!({"country": "CA", "user_id": id}),
        );
        assert_eq!(got, (FlagValue::Bool(want), Some(2)), "{id}");
        on += usize::from(want);
        let staging = run(
            "staging",
            serde_json::json!({"country": "CA", "user_id": format!("user-{i}")}),
        );
        assert_eq!(staging, (FlagValue::Bool(false), None));
    }
    assert!((70..130).contains(&on), "{on} of 400 in a 25 % rollout");
    assert_eq!(
        run("production", serde_json::json!({"country": "US"})),
        (FlagValue::Bool(false), None)
    );
}

#[test]
fn example_lint_finds_no_dead_rules() {
    let model = example();
    let diags = lint(&model);
    assert!(
        !diags.iter().any(|d| d.code == Code::NeverFires),
        "{diags:#?}"
    );
}

#[test]
fn check_for_build_skips_only_the_cleanup_lint() {
    let dir = std::env::temp_dir().join(format!("flagc-for-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("flagc.toml"),
        "[static]\nenv = [\"dev\", \"prod\"]\n\n[context]\nuser_id = \"string\"\n",
    )
    .unwrap();
    // True in every environment: a cleanup note from the lint.
    std::fs::write(
        dir.join("a.toml"),
        "[always]\ndescription = \"d\"\nowner = \"o\"\npermanent = true\ndefault = true\n\n\
         [[always.rules]]\nwhen = { env = \"dev\" }\nvalue = true\n",
    )
    .unwrap();
    let options = CheckOptions::default();
    let full = flagc::check_dir(&dir, &options).unwrap();
    let build = flagc::check_dir_for_build(&dir, &options).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let codes = |c: &flagc::Checked| c.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>();
    assert_eq!(codes(&full), [Code::ConstantFlag]);
    assert_eq!(codes(&build), []);
    assert_eq!(full.model, build.model);
}
