//! Generated names never collide: `flags/awkward` names flags and attributes like the
//! module's own items (`new`, `load`, `status`, `context`, `rt`, `flags`, `spec`, `lookup`,
//! `apply`, `compiled`, `ctx`), an enum flag like an enum attribute (`plan`), and enum values
//! like Rust's own names (`Option`, `Some`, `None`, `Self`). Every accessor is called in both
//! modes, and the checker's refusal of variants that would collide is asserted.

use std::path::Path;
use std::sync::Arc;

use flagc::ir::Value;
use flagc_accessor_tests::{awkward, awkward_static};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/flags/awkward");

/// The same calls against both modes' modules, which have the same items.
macro_rules! check_module {
    ($m:ident, $flags:expr) => {{
        use $m::flags;
        let f = $flags;
        // `new` is an attribute, so `Context::new()` is its setter: start from `default()`.
        let empty = <flags::Context as Default>::default();
        let ctx = <flags::Context as Default>::default()
            .new("x")
            .str("sun")
            .plan(flags::Plan::Pro)
            .option(flags::Option::Self_)
            .count(-6)
            .ratio(0.0)
            .user_id("u-1");

        assert!(f.new(&empty), "env = prod");
        assert_eq!(f.load(&empty), 1);
        assert_eq!(f.load(&ctx), -7);
        assert_eq!(&*f.status(&empty), "fine");
        assert_eq!(&*f.status(&ctx), "from-new");
        assert_eq!(f.context(&empty), flags::ContextFlag::Some);
        assert_eq!(f.context(&ctx), flags::ContextFlag::Self_);
        assert_eq!(f.rt(&empty), 0.5);
        assert_eq!(f.rt(&ctx), -1.5);
        assert_eq!(f.plan(&empty), flags::PlanFlag::Free);
        assert_eq!(f.plan(&ctx), flags::PlanFlag::Max, "flags = on");
        assert_eq!(
            f.flags(&empty),
            flags::FlagsFlag::Off,
            "no user id: default"
        );
        assert!(flags::FlagsFlag::all().contains(&f.flags(&ctx)));
        assert!(f.lookup(&empty));
        assert_eq!(f.apply(&empty), 3);
        assert!(!f.spec(&empty));
        assert_eq!(&*f.compiled(&empty), "c");
        assert!(!f.ctx(&empty));
        assert!(f.ctx(&<flags::Context as Default>::default().option(flags::Option::None)));
        assert!(!f.ctx(&ctx));

        // The runtime is the `rt` field; the flag `rt` is a method.
        assert_eq!(f.rt.lookup("rt", &ctx), Some(Value::Float(-1.5)));
        assert_eq!(f.rt.lookup("context", &ctx), Some(Value::Enum(0)));
        assert_eq!(
            f.rt.lookup("status", &ctx),
            Some(Value::Str(Arc::from("from-new")))
        );
        assert_eq!(f.rt.lookup("no_such_flag", &ctx), None);
        assert_eq!(f.rt.status().generation, 1);

        // Enum helpers on the awkward enums.
        assert_eq!(flags::Option::Self_.as_str(), "self");
        assert_eq!("none".parse::<flags::Option>(), Ok(flags::Option::None));
        assert!("None".parse::<flags::Option>().is_err());
        assert_eq!(flags::FlagsStatic::On.to_string(), "on");
        assert_eq!(flags::Env::all(), &[flags::Env::Dev, flags::Env::Prod]);
        f
    }};
}

#[test]
fn dynamic_mode_awkward_names() {
    use awkward::flags;
    let f = flags::load(
        DIR,
        flags::Statics {
            env: flags::Env::Prod,
            flags: flags::FlagsStatic::On,
        },
    )
    .expect("the awkward directory loads");
    check_module!(awkward, f);
}

#[test]
fn static_mode_awkward_names() {
    use awkward_static::flags;
    let f = flags::load(
        "",
        flags::Statics {
            env: flags::Env::Prod,
            flags: flags::FlagsStatic::On,
        },
    )
    .expect("the compiled-in statics");
    check_module!(awkward_static, f);
    // Static mode refuses statics it was not compiled for, rather than lying.
    let err = flags::load(
        "",
        flags::Statics {
            env: flags::Env::Dev,
            flags: flags::FlagsStatic::On,
        },
    )
    .expect_err("compiled for prod");
    assert!(err.to_string().contains("env = prod, not dev"), "{err}");
}

#[test]
fn overrides_never_leak_between_handles() {
    {
        use awkward::flags;
        let st = flags::Statics {
            env: flags::Env::Prod,
            flags: flags::FlagsStatic::On,
        };
        let mut a = flags::load(DIR, st).expect("loads");
        let b = flags::load(DIR, st).expect("loads");
        let ctx = flags::Context::default();
        flags::Overrides {
            new: Some(false),
            status: Some("forced".to_owned()),
            context: Some(flags::ContextFlag::None),
            ..Default::default()
        }
        .apply(&mut a);
        assert!(!a.new(&ctx));
        assert_eq!(&*a.status(&ctx), "forced");
        assert_eq!(a.context(&ctx), flags::ContextFlag::None);
        assert_eq!(a.rt.lookup("new", &ctx), Some(Value::Bool(false)));
        assert_eq!(a.rt.status().overrides, ["context", "new", "status"]);
        assert!(
            b.new(&ctx),
            "a separately loaded handle never sees a's overrides"
        );
        assert_eq!(&*b.status(&ctx), "fine");
        assert!(b.rt.status().overrides.is_empty());
        flags::Overrides::clear(&mut a);
        assert!(a.new(&ctx));
        assert_eq!(a.context(&ctx), flags::ContextFlag::Some);
    }
    {
        use awkward_static::flags;
        let st = flags::Statics {
            env: flags::Env::Prod,
            flags: flags::FlagsStatic::On,
        };
        let mut a = flags::load("", st).expect("loads");
        let b = flags::load("", st).expect("loads");
        let ctx = flags::Context::default();
        flags::Overrides {
            new: Some(false),
            status: Some("forced".to_owned()),
            context: Some(flags::ContextFlag::None),
            ..Default::default()
        }
        .apply(&mut a);
        assert!(!a.new(&ctx));
        assert_eq!(&*a.status(&ctx), "forced");
        assert_eq!(a.context(&ctx), flags::ContextFlag::None);
        assert_eq!(a.rt.lookup("new", &ctx), Some(Value::Bool(false)));
        assert_eq!(a.rt.status().overrides, ["context", "new", "status"]);
        assert!(
            b.new(&ctx),
            "a separately loaded handle never sees a's overrides"
        );
        assert_eq!(&*b.status(&ctx), "fine");
        flags::Overrides::clear(&mut a);
        assert!(a.new(&ctx));
    }
}

#[test]
fn both_modes_have_the_same_names() {
    // Names are allocated from the model alone, so switching modes changes no user code.
    let checked =
        flagc::check_dir(Path::new(DIR), &flagc::CheckOptions::default()).expect("readable");
    let model = checked.model.expect("valid");
    let names = flagc::codegen::Names::new(&model);
    let show = |v: &[Option<proc_macro2::Ident>]| -> Vec<String> {
        v.iter().flatten().map(ToString::to_string).collect()
    };
    let statics: Vec<String> = names.statics.iter().map(ToString::to_string).collect();
    assert_eq!(statics, ["Env", "FlagsStatic"]);
    assert_eq!(show(&names.attrs), ["Plan", "Option"]);
    assert_eq!(show(&names.flags), ["ContextFlag", "FlagsFlag", "PlanFlag"]);
}

/// Variants that differ only in case or punctuation would be one Rust variant: the checker
/// refuses them, pointing at both.
#[test]
fn variants_that_collide_in_rust_are_rejected() {
    let manifest = "format = 1\n[context]\ntier = [\"gold\", \"Gold\"]\n";
    let flags = r#"
[layout]
description = "d"
owner = "o"
permanent = true
variants = ["one-page", "one_page", "v1", "1"]
default = "v1"
"#;
    let mut diags = flagc::diag::Diagnostics::new();
    let sources =
        flagc::Sources::from_memory([("flagc.toml", manifest), ("a.toml", flags)], &mut diags);
    let checked = flagc::check_sources(sources, diags, &flagc::CheckOptions::default());
    assert!(checked.model.is_none());
    let messages: Vec<String> = checked
        .diagnostics
        .iter()
        .map(|d| {
            let at = checked
                .sources
                .position(d)
                .map(|p| format!("{}:{}", p.line, p.column))
                .unwrap_or_default();
            format!(
                "{}:{at} {}[{}] {} / help: {}",
                d.file.as_deref().unwrap_or(""),
                d.severity.as_str(),
                d.code,
                d.message,
                d.help.as_deref().unwrap_or("")
            )
        })
        .collect();
    let help = "values must differ by more than case or punctuation, since each becomes a Rust enum variant";
    assert_eq!(
        messages,
        [
            format!(
                "a.toml:6:25 error[E0209] variant `one_page` would be `OnePage` in Rust, as `one-page` is / help: {help}"
            ),
            format!(
                "a.toml:6:43 error[E0209] variant `1` would be `V1` in Rust, as `v1` is / help: {help}"
            ),
            format!(
                "flagc.toml:3:17 error[E0209] enum value `Gold` would be `Gold` in Rust, as `gold` is / help: {help}"
            ),
        ],
    );
}
