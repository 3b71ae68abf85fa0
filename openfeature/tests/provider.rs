//! The provider through the OpenFeature client API: values, reasons, variants, the targeting
//! key, every error code, and hot reload (swapping the snapshot is seen by the next call).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use flagc::compile::{Statics, compile};
use flagc::eval::Context;
use flagc::ir::{Layout, Program};
use flagc_openfeature::FlagcProvider;
use open_feature::{
    Client, EvaluationContext, EvaluationContextFieldValue, EvaluationErrorCode, EvaluationReason,
    OpenFeature,
};

const MANIFEST: &str = r#"
[static]
env = ["dev", "prod"]

[context]
user_id = "string"
country = "string"
age = "int"
score = "float"
beta = "bool"
version = "semver"
signup = "datetime"
groups = "string[]"
plan = ["free", "pro"]

[rollout]
by = "user_id"
"#;

fn flags(new_ui_country: &str) -> String {
    format!(
        r#"
[new_ui]
description = "d"
owner = "o"
permanent = true
default = false

[[new_ui.rules]]
when = {{ country = "{new_ui_country}" }}
value = true

[[new_ui.rules]]
when = {{ plan = "pro" }}
rollout = 50

[limit]
description = "d"
owner = "o"
permanent = true
default = 10

[[limit.rules]]
when = {{ age = {{ gte = 18 }} }}
value = 20

[ratio]
description = "d"
owner = "o"
permanent = true
default = 0.5

[[ratio.rules]]
when = {{ score = {{ gt = 0.9 }} }}
value = 1.0

[banner]
description = "d"
owner = "o"
permanent = true
default = "hello"

[[banner.rules]]
when = {{ groups = "beta", beta = true }}
value = "hi beta"

[[banner.rules]]
when = {{ signup = {{ gte = 2026-01-01T00:00:00Z }} }}
value = "welcome"

[layout]
description = "d"
owner = "o"
permanent = true
variants = ["classic", "modern"]
default = "classic"

[[layout.rules]]
when = {{ version = {{ gte = "2.0.0" }} }}
value = "modern"

[always_on]
description = "d"
owner = "o"
permanent = true
default = false

[[always_on.rules]]
when = {{ env = "prod" }}
value = true
"#
    )
}

fn write_dir(dir: &Path, country: &str) {
    std::fs::write(dir.join("flagc.toml"), MANIFEST).unwrap();
    std::fs::write(dir.join("flags.toml"), flags(country)).unwrap();
}

fn program(dir: &Path) -> (flagc::Model, Program) {
    let checked = flagc::check_dir(dir, &flagc::CheckOptions::default()).unwrap();
    let model = checked
        .model
        .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics));
    let statics = Statics::from_pairs(&model.manifest, [("env", "prod")]).unwrap();
    let program = compile(&model, &statics, &Layout::of(&model.manifest));
    (model, program)
}

async fn client_for<S: flagc_openfeature::FlagSource>(
    name: &str,
    provider: FlagcProvider<S>,
) -> Client {
    let mut api = OpenFeature::singleton_mut().await;
    api.set_named_provider(name, provider).await;
    api.create_named_client(name)
}

fn ctx() -> EvaluationContext {
    EvaluationContext::default()
}

#[tokio::test]
async fn values_reasons_and_variants() {
    let tmp = tempfile::tempdir().unwrap();
    write_dir(tmp.path(), "DE");
    let (_, program) = program(tmp.path());
    let source = Arc::new(ArcSwap::from_pointee(program));
    let provider = FlagcProvider::new(source).with_targeting_key_attribute("user_id");
    let client = client_for("values", provider).await;

    let de = ctx().with_custom_field("country", "DE");
    let d = client
        .get_bool_details("new_ui", Some(&de), None)
        .await
        .unwrap();
    assert!(d.value);
    assert_eq!(d.reason, Some(EvaluationReason::TargetingMatch));
    assert_eq!(d.variant.as_deref(), Some("true"));

    let d = client
        .get_bool_details("new_ui", Some(&ctx()), None)
        .await
        .unwrap();
    assert!(!d.value);
    assert_eq!(d.reason, Some(EvaluationReason::Default));

    let d = client
        .get_bool_details("always_on", Some(&de), None)
        .await
        .unwrap();
    assert!(d.value);
    assert_eq!(d.reason, Some(EvaluationReason::Static));

    let adult = ctx().with_custom_field("age", 30i64);
    let d = client
        .get_int_details("limit", Some(&adult), None)
        .await
        .unwrap();
    assert_eq!((d.value, d.variant.as_deref()), (20, Some("20")));

    // An integer is accepted for a float attribute.
    let sure = ctx().with_custom_field("score", 1i64);
    let d = client
        .get_float_details("ratio", Some(&sure), None)
        .await
        .unwrap();
    assert_eq!(d.value, 1.0);
    let d = client
        .get_float_details("ratio", Some(&ctx()), None)
        .await
        .unwrap();
    assert_eq!((d.value, d.reason), (0.5, Some(EvaluationReason::Default)));

    let beta = ctx().with_custom_field("beta", true).with_custom_field(
        "groups",
        EvaluationContextFieldValue::new_struct(vec!["x".to_owned(), "beta".to_owned()]),
    );
    let d = client
        .get_string_details("banner", Some(&beta), None)
        .await
        .unwrap();
    assert_eq!(d.value, "hi beta");

    let signup = time_from_unix(1_800_000_000);
    let new = ctx().with_custom_field("signup", EvaluationContextFieldValue::DateTime(signup));
    let d = client
        .get_string_details("banner", Some(&new), None)
        .await
        .unwrap();
    assert_eq!(d.value, "welcome");
    let new = ctx().with_custom_field("signup", "2026-06-01T00:00:00+02:00");
    let d = client
        .get_string_details("banner", Some(&new), None)
        .await
        .unwrap();
    assert_eq!(d.value, "welcome");

    // Enum flags are strings; the variant is the enum value.
    let v2 = ctx().with_custom_field("version", "2.1.0-rc.1");
    let d = client
        .get_string_details("layout", Some(&v2), None)
        .await
        .unwrap();
    assert_eq!(
        (d.value.as_str(), d.variant.as_deref()),
        ("modern", Some("modern"))
    );
    assert_eq!(d.reason, Some(EvaluationReason::TargetingMatch));

    // Fields the manifest does not declare are ignored.
    let extra = ctx().with_custom_field("tenant", 7i64);
    assert_eq!(
        client
            .get_int_value("limit", Some(&extra), None)
            .await
            .unwrap(),
        10
    );
}

fn time_from_unix(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

#[tokio::test]
async fn the_targeting_key_fills_the_rollout_attribute() {
    let tmp = tempfile::tempdir().unwrap();
    write_dir(tmp.path(), "DE");
    let (model, program) = program(tmp.path());
    let layout = Layout::of(&model.manifest);
    let flagc_value = |user: &str| {
        let mut c = Context::new(&layout);
        c.set_str("user_id", user).unwrap();
        c.set_enum("plan", "pro").unwrap();
        let i = program.flag_index("new_ui").unwrap();
        program.eval(i, &c).value.clone()
    };
    let expected: Vec<_> = (0..40).map(|n| flagc_value(&format!("user-{n}"))).collect();
    let provider = FlagcProvider::new(Arc::new(ArcSwap::from_pointee(program.clone())))
        .with_manifest(&model.manifest);
    let client = client_for("targeting", provider).await;

    let mut seen = [false; 2];
    for (n, want) in expected.iter().enumerate() {
        let c = ctx()
            .with_targeting_key(format!("user-{n}"))
            .with_custom_field("plan", "pro");
        let d = client
            .get_bool_details("new_ui", Some(&c), None)
            .await
            .unwrap();
        assert_eq!(flagc::ir::Value::Bool(d.value), *want, "user-{n}");
        assert_eq!(d.reason, Some(EvaluationReason::Split));
        seen[usize::from(d.value)] = true;
    }
    assert_eq!(seen, [true, true], "a 50 % rollout splits 40 users");

    // An explicit attribute wins over the targeting key.
    let c = ctx()
        .with_targeting_key("user-0")
        .with_custom_field("user_id", "user-1")
        .with_custom_field("plan", "pro");
    let d = client
        .get_bool_details("new_ui", Some(&c), None)
        .await
        .unwrap();
    assert_eq!(flagc::ir::Value::Bool(d.value), expected[1]);

    // Without either, the rollout falls through to the default.
    let c = ctx().with_custom_field("plan", "pro");
    let d = client
        .get_bool_details("new_ui", Some(&c), None)
        .await
        .unwrap();
    assert_eq!(d.reason, Some(EvaluationReason::Default));

    // A provider not told which attribute the key fills leaves it unset.
    let provider = FlagcProvider::new(Arc::new(ArcSwap::from_pointee(program)));
    let client = client_for("targeting-off", provider).await;
    let c = ctx()
        .with_targeting_key("user-0")
        .with_custom_field("plan", "pro");
    let d = client
        .get_bool_details("new_ui", Some(&c), None)
        .await
        .unwrap();
    assert_eq!(d.reason, Some(EvaluationReason::Default));
}

#[tokio::test]
async fn every_error_code() {
    let tmp = tempfile::tempdir().unwrap();
    write_dir(tmp.path(), "DE");
    let (_, program) = program(tmp.path());
    let provider = FlagcProvider::new(Arc::new(ArcSwap::from_pointee(program)));
    let client = client_for("errors", provider).await;

    let e = client.get_bool_value("nope", None, None).await.unwrap_err();
    assert_eq!(e.code, EvaluationErrorCode::FlagNotFound);
    assert!(e.message.unwrap().contains("`nope`"));

    let e = client
        .get_string_value("new_ui", None, None)
        .await
        .unwrap_err();
    assert_eq!(e.code, EvaluationErrorCode::TypeMismatch);
    assert_eq!(
        e.message.as_deref(),
        Some("flag `new_ui` is a bool flag, but a string was asked for")
    );
    let e = client
        .get_float_value("limit", None, None)
        .await
        .unwrap_err();
    assert_eq!(e.code, EvaluationErrorCode::TypeMismatch);
    let e = client
        .get_bool_value("layout", None, None)
        .await
        .unwrap_err();
    assert_eq!(e.code, EvaluationErrorCode::TypeMismatch);
    let e = client
        .get_struct_value::<open_feature::StructValue>("limit", None, None)
        .await
        .unwrap_err();
    assert_eq!(e.code, EvaluationErrorCode::TypeMismatch);
    let e = client
        .get_struct_value::<open_feature::StructValue>("nope", None, None)
        .await
        .unwrap_err();
    assert_eq!(e.code, EvaluationErrorCode::FlagNotFound);

    for (field, value, message) in [
        (
            "age",
            EvaluationContextFieldValue::String("x".into()),
            "context attribute `age` is a int, but the value is the string \"x\"",
        ),
        (
            "version",
            EvaluationContextFieldValue::String("banana".into()),
            "invalid semver \"banana\" for context attribute `version`",
        ),
        (
            "plan",
            EvaluationContextFieldValue::String("gold".into()),
            "\"gold\" is not a value of context attribute `plan`",
        ),
        (
            "groups",
            EvaluationContextFieldValue::String("beta".into()),
            "context attribute `groups` is a string[], but the value is the string \"beta\"",
        ),
        (
            "beta",
            EvaluationContextFieldValue::Int(1),
            "context attribute `beta` is a bool, but the value is the int 1",
        ),
    ] {
        let c = ctx().with_custom_field(field, value);
        let e = client
            .get_int_value("limit", Some(&c), None)
            .await
            .unwrap_err();
        assert_eq!(e.code, EvaluationErrorCode::InvalidContext, "{field}");
        let got = e.message.unwrap();
        assert!(got.starts_with(message), "{field}: {got}");
    }
}

#[tokio::test]
async fn hot_reload_by_swapping_the_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    write_dir(tmp.path(), "DE");
    let (_, first) = program(tmp.path());
    let source = Arc::new(ArcSwap::from_pointee(first));
    let client = client_for("swap", FlagcProvider::new(source.clone())).await;
    let fr = ctx().with_custom_field("country", "FR");
    assert!(
        !client
            .get_bool_value("new_ui", Some(&fr), None)
            .await
            .unwrap()
    );

    write_dir(tmp.path(), "FR");
    let (_, second) = program(tmp.path());
    source.store(Arc::new(second));
    assert!(
        client
            .get_bool_value("new_ui", Some(&fr), None)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn hot_reload_through_the_flagc_runtime() {
    let tmp = tempfile::tempdir().unwrap();
    write_dir(tmp.path(), "DE");
    let provider = FlagcProvider::load(tmp.path(), &[("env", "prod")]).unwrap();
    let runtime = provider.source().clone();
    let client = client_for("runtime", provider).await;
    let fr = ctx().with_custom_field("country", "FR");
    assert!(
        !client
            .get_bool_value("new_ui", Some(&fr), None)
            .await
            .unwrap()
    );
    // The manifest's `[rollout] by` is filled from the targeting key.
    let pro = ctx()
        .with_targeting_key("user-3")
        .with_custom_field("plan", "pro");
    let d = client
        .get_bool_details("new_ui", Some(&pro), None)
        .await
        .unwrap();
    assert_eq!(d.reason, Some(EvaluationReason::Split));

    write_dir(tmp.path(), "FR");
    assert!(matches!(
        runtime.reload(),
        flagc::runtime::Reload::Swapped { .. }
    ));
    assert!(
        client
            .get_bool_value("new_ui", Some(&fr), None)
            .await
            .unwrap()
    );

    // Invalid content never replaces a good snapshot.
    std::fs::write(tmp.path().join("flags.toml"), "[new_ui]\ndefault = 3\n").unwrap();
    assert!(matches!(
        runtime.reload(),
        flagc::runtime::Reload::Rejected(_)
    ));
    assert!(
        client
            .get_bool_value("new_ui", Some(&fr), None)
            .await
            .unwrap()
    );

    // Loading refuses invalid directories and missing statics with the reason.
    let e = FlagcProvider::load(tmp.path(), &[("env", "prod")]).unwrap_err();
    assert!(e.to_string().starts_with("invalid flag directory"), "{e}");
    write_dir(tmp.path(), "FR");
    let e = FlagcProvider::load(tmp.path(), &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("no value given for static attribute `env`"),
        "{e}"
    );
}
