//! The agreement check the benchmark runs before timing anything, as a test, and the
//! ingest set's translations.
#![allow(clippy::unwrap_used)]

use flagc_bench::engines::{Documents, Engines};
use flagc_bench::{agreement, ingest, scenario_model};

#[test]
fn every_engine_agrees_with_flagc() {
    let model = scenario_model();
    let docs = Documents::translate(&model).unwrap_or_else(|e| panic!("{e}"));
    let engines = Engines::load(&docs).unwrap_or_else(|e| panic!("{e}"));
    match agreement::check(&model, &engines) {
        Ok(report) => print!("{report}"),
        Err(errors) => panic!("the engines disagree:\n{}", errors.join("\n")),
    }
}

#[test]
fn every_engine_loads_the_10000_flags() {
    let files = ingest::flag_files();
    assert_eq!(ingest::flagc_load(&files).flags.len(), ingest::FLAGS);
    let docs = ingest::documents(&files);
    assert_eq!(
        ingest::launchdarkly_load(&docs.launchdarkly)
            .data
            .flags
            .len(),
        ingest::FLAGS
    );
    assert_eq!(
        ingest::unleash_load(&docs.unleash)
            .engine
            .list_known_toggles()
            .len(),
        ingest::FLAGS
    );
    let flagd = ingest::flagd_load(&docs.flagd);
    let ctx = flagd_bench_context();
    assert!(flagd.resolve("flag_00001", &ctx).is_some());
}

fn flagd_bench_context() -> open_feature::EvaluationContext {
    flagc_bench::engines::Flagd::context(&flagc_bench::scenarios::bench_person())
}

#[test]
fn a_wrong_translation_is_caught() {
    let model = scenario_model();
    let mut docs = Documents::translate(&model).unwrap_or_else(|e| panic!("{e}"));
    // LaunchDarkly's rule for `two_conditions` now serves `false` (variation 1).
    let mut ld: serde_json::Value = serde_json::from_str(&docs.launchdarkly).unwrap();
    ld["flags"]["two_conditions"]["rules"][0]["variation"] = 1.into();
    docs.launchdarkly = ld.to_string();
    let engines = Engines::load(&docs).unwrap_or_else(|e| panic!("{e}"));
    let errors = agreement::check(&model, &engines).expect_err("the check must fail");
    assert!(
        errors
            .iter()
            .all(|e| e.starts_with("two_conditions: launchdarkly answers false, flagc true")),
        "{errors:#?}"
    );
}
