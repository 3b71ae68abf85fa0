//! Evaluation allocates nothing (DESIGN §2 step 4): after one warm-up per thread (the regex
//! crate sets up its per-thread search cache on first use), evaluating every kind of test —
//! each operator on each attribute type, regexes, segments, rollouts by string, int and enum —
//! makes zero heap allocations, through both the dynamic `Context` and a typed struct like
//! the ones generated into user crates.
//!
//! `allocation-counter` installs a counting global allocator and counts per thread, so other
//! test threads cannot disturb the count.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use flagc::compile::{Statics, compile};
use flagc::eval::{ContextView, Evaluation};
use flagc::ir::{Layout, Program};
use flagc::model::{AttrType, CmpOp, Condition, FlagType, FlagValue, Lit, Manifest, Op, StrOp};

fn attrs() -> Vec<(&'static str, AttrType)> {
    vec![
        ("user_id", AttrType::String),
        ("age", AttrType::Int),
        ("score", AttrType::Float),
        ("employee", AttrType::Bool),
        ("version", AttrType::Semver),
        ("signup", AttrType::Datetime),
        ("groups", AttrType::StringList),
        ("plan", enum_ty(&["free", "pro", "enterprise"])),
    ]
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).into()).collect()
}

fn lits(v: &[&str]) -> Vec<Lit> {
    v.iter().map(|x| Lit::Str((*x).into())).collect()
}

/// One flag per kind of test, each with one rule that holds for [`matching`] contexts.
fn program() -> (Program, Layout) {
    let mut m: Manifest = manifest(&[("env", &["dev", "prod"])], &attrs());
    let internal = vec![cond(
        &m,
        "user_id",
        vec![Op::Str(StrOp::EndsWith, s(&["@corp"]))],
    )];
    add_segment(&mut m, "internal", internal);
    let beta = vec![cond(&m, "groups", vec![Op::In(lits(&["beta"]))])];
    add_segment(&mut m, "beta", beta);
    let sv = |x: &str| Lit::Semver(semver::Version::parse(x).unwrap());
    let ts = |x: &str| Lit::Datetime(x.parse().unwrap());
    let many: Vec<Lit> = (0..100)
        .map(|i| Lit::Str(format!("user-{i}")))
        .chain(lits(&["u-7@corp"]))
        .collect();
    let whens: Vec<(&str, Vec<Condition>)> = vec![
        (
            "str_in_small",
            vec![cond(&m, "user_id", vec![Op::In(lits(&["a", "u-7@corp"]))])],
        ),
        ("str_in_big", vec![cond(&m, "user_id", vec![Op::In(many)])]),
        (
            "str_not_in",
            vec![cond(&m, "user_id", vec![Op::NotIn(lits(&["a"]))])],
        ),
        (
            "str_tests",
            vec![cond(
                &m,
                "user_id",
                vec![
                    Op::Str(StrOp::StartsWith, s(&["x", "u-"])),
                    Op::Str(StrOp::Contains, s(&["7"])),
                    Op::Str(StrOp::EndsWith, s(&["corp"])),
                ],
            )],
        ),
        (
            "regex",
            vec![cond(
                &m,
                "user_id",
                vec![Op::Str(StrOp::Matches, s(&["^u-[0-9]+@", "zzz"]))],
            )],
        ),
        (
            "int",
            vec![cond(
                &m,
                "age",
                vec![
                    Op::In(vec![Lit::Int(-42), Lit::Int(42)]),
                    Op::Cmp(CmpOp::Gte, Lit::Int(-100)),
                ],
            )],
        ),
        (
            "float",
            vec![cond(
                &m,
                "score",
                vec![
                    Op::NotIn(vec![Lit::Float(0.0)]),
                    Op::Cmp(CmpOp::Lt, Lit::Float(0.9)),
                ],
            )],
        ),
        (
            "bool",
            vec![cond(&m, "employee", vec![Op::In(vec![Lit::Bool(true)])])],
        ),
        (
            "semver",
            vec![cond(
                &m,
                "version",
                vec![
                    Op::Cmp(CmpOp::Gte, sv("3.2.0")),
                    Op::NotIn(vec![sv("3.3.0")]),
                ],
            )],
        ),
        (
            "datetime",
            vec![cond(
                &m,
                "signup",
                vec![
                    Op::Cmp(CmpOp::Lt, ts("2026-06-01T00:00:00Z")),
                    Op::NotIn(vec![ts("2020-01-01T00:00:00Z")]),
                ],
            )],
        ),
        (
            "list",
            vec![cond(
                &m,
                "groups",
                vec![
                    Op::In(lits(&["beta"])),
                    Op::NotIn(lits(&["banned"])),
                    Op::Str(StrOp::StartsWith, s(&["vi"])),
                    Op::Str(StrOp::Matches, s(&["^b.t"])),
                ],
            )],
        ),
        (
            "enum",
            vec![cond(
                &m,
                "plan",
                vec![Op::In(vec![Lit::Enum(1), Lit::Enum(2)])],
            )],
        ),
        ("is_set", vec![cond(&m, "age", vec![])]),
        (
            "segments",
            vec![
                seg(&m, &["internal", "beta"]),
                cond(&m, "env", vec![Op::In(vec![Lit::Enum(1)])]),
            ],
        ),
    ];
    let mut flags: Vec<_> = whens
        .into_iter()
        .map(|(key, when)| {
            flag(
                key,
                FlagType::Bool,
                FlagValue::Bool(false),
                vec![rule(when, FlagValue::Bool(true))],
            )
        })
        .collect();
    let variants = FlagType::Enum(s(&["a", "b", "c"]));
    for (key, by) in [
        ("rollout_str", "user_id"),
        ("rollout_int", "age"),
        ("rollout_enum", "plan"),
    ] {
        let by = m.context_index(by).unwrap();
        // Weights split so that everyone lands in some bucket: the rule always decides.
        flags.push(flag(
            key,
            variants.clone(),
            FlagValue::Enum(0),
            vec![rollout(vec![], by, &[30_000, 30_000, 40_000])],
        ));
    }
    let model = model(m, flags);
    let layout = Layout::of(&model.manifest);
    let statics = Statics::from_pairs(&model.manifest, [("env", "prod")]).unwrap();
    (compile(&model, &statics, &layout), layout)
}

/// A struct like the ones `flags!` generates: plain optional fields, a `match` per getter.
#[derive(Default)]
struct Typed {
    user_id: Option<String>,
    age: Option<i64>,
    score: Option<f64>,
    employee: Option<bool>,
    version: Option<semver::Version>,
    signup: Option<jiff::Timestamp>,
    groups: Option<Vec<String>>,
    plan: Option<u32>,
}

impl ContextView for Typed {
    fn str(&self, i: usize) -> Option<&str> {
        match i {
            0 => self.user_id.as_deref(),
            _ => None,
        }
    }
    fn int(&self, i: usize) -> Option<i64> {
        if i == 1 { self.age } else { None }
    }
    fn float(&self, i: usize) -> Option<f64> {
        if i == 2 { self.score } else { None }
    }
    fn bool(&self, i: usize) -> Option<bool> {
        if i == 3 { self.employee } else { None }
    }
    fn semver(&self, i: usize) -> Option<&semver::Version> {
        if i == 4 { self.version.as_ref() } else { None }
    }
    fn datetime(&self, i: usize) -> Option<jiff::Timestamp> {
        if i == 5 { self.signup } else { None }
    }
    fn list(&self, i: usize) -> Option<&[String]> {
        if i == 6 { self.groups.as_deref() } else { None }
    }
    fn enum_index(&self, i: usize) -> Option<u32> {
        if i == 7 { self.plan } else { None }
    }
}

fn typed_matching() -> Typed {
    Typed {
        user_id: Some("u-7@corp".into()),
        age: Some(-42),
        score: Some(0.5),
        employee: Some(true),
        version: Some(semver::Version::parse("3.2.1-rc.1").unwrap()),
        signup: Some("2026-01-01T00:00:00Z".parse().unwrap()),
        groups: Some(vec!["vip".into(), "beta".into()]),
        plan: Some(2),
    }
}

fn eval_all<C: ContextView>(p: &Program, ctx: &C, out: &mut [Option<usize>]) {
    for (i, o) in out.iter_mut().enumerate() {
        let e: Evaluation<'_> = p.eval(i, std::hint::black_box(ctx));
        *o = std::hint::black_box(e.rule);
    }
}

#[test]
fn evaluation_does_not_allocate() {
    let (p, layout) = program();
    let n = p.flags.len();
    let matching = ctx(
        &layout,
        &[
            ("user_id", "u-7@corp"),
            ("age", "42"),
            ("score", "0.5"),
            ("employee", "true"),
            ("version", "3.2.1"),
            ("signup", "2026-01-01T00:00:00Z"),
            ("groups", "vip,beta"),
            ("plan", "pro"),
        ],
    );
    let unset = ctx(&layout, &[("groups", "")]);
    let typed = typed_matching();
    let typed_unset = Typed::default();

    let mut rules = vec![None; n];
    // Warm-up: the regex crate's per-thread cache is created on the first search.
    eval_all(&p, &matching, &mut rules);
    eval_all(&p, &typed, &mut rules);
    eval_all(&p, &unset, &mut rules);

    let info = allocation_counter::measure(|| {
        for _ in 0..100 {
            eval_all(&p, &matching, &mut rules);
            eval_all(&p, &unset, &mut rules);
            eval_all(&p, &typed, &mut rules);
            eval_all(&p, &typed_unset, &mut rules);
        }
    });
    assert_eq!(info.count_total, 0, "evaluation allocated: {info:?}");

    // Not vacuous: every flag's rule decided for the matching contexts (so every test ran to
    // a hit), and none did for the unset one.
    eval_all(&p, &matching, &mut rules);
    for (f, r) in p.flags.iter().zip(&rules) {
        assert_eq!(
            *r,
            Some(0),
            "{} did not fire for the matching context",
            f.key
        );
    }
    eval_all(&p, &typed, &mut rules);
    for (f, r) in p.flags.iter().zip(&rules) {
        assert_eq!(*r, Some(0), "{} did not fire for the typed context", f.key);
    }
    eval_all(&p, &unset, &mut rules);
    for (f, r) in p.flags.iter().zip(&rules) {
        assert_eq!(*r, None, "{} fired with attributes unset", f.key);
    }
}

#[test]
fn the_counter_counts() {
    // Guards against a silently disabled counter making the test above pass.
    let info = allocation_counter::measure(|| {
        std::hint::black_box(String::from("x"));
    });
    assert_eq!(info.count_total, 1);
}
