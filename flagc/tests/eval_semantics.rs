//! Evaluation semantics (DESIGN §1 "Rules and conditions", "Rollouts"), on hand-built models.
//! Every case runs through both the compiled program and the interpreter.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use flagc::bucket;
use flagc::compile::{Statics, compile, lint};
use flagc::diag::{Code, Severity};
use flagc::interp::{self, Reason, Verdict};
use flagc::ir::{Layout, Value};
use flagc::model::{AttrType, CmpOp, FlagType, FlagValue, Lit, Manifest, Model, Op, StrOp};

fn context_attrs() -> Vec<(&'static str, AttrType)> {
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

fn base() -> Manifest {
    manifest(&[("env", &["dev", "prod"])], &context_attrs())
}

fn strs(v: &[&str]) -> Vec<Lit> {
    v.iter().map(|s| Lit::Str((*s).into())).collect()
}

fn svec(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).into()).collect()
}

/// Whether a one-rule bool flag with `when` is true for the context `pairs` (env=prod).
fn fires(m: &Manifest, when: Vec<flagc::model::Condition>, pairs: &[(&str, &str)]) -> bool {
    let model = model(
        m.clone(),
        vec![flag(
            "f",
            FlagType::Bool,
            FlagValue::Bool(false),
            vec![rule(when, FlagValue::Bool(true))],
        )],
    );
    let statics = Statics::from_pairs(&model.manifest, [("env", "prod")]).unwrap();
    let layout = Layout::of(&model.manifest);
    let c = ctx(&layout, pairs);
    eval_both(&model, &statics, &layout, &c, "f").0 == FlagValue::Bool(true)
}

#[test]
fn strings_and_unset() {
    let m = base();
    let is_in = |pairs: &[(&str, &str)]| {
        fires(
            &m,
            vec![cond(&m, "user_id", vec![Op::In(strs(&["a", "b"]))])],
            pairs,
        )
    };
    let not_in = |pairs: &[(&str, &str)]| {
        fires(
            &m,
            vec![cond(&m, "user_id", vec![Op::NotIn(strs(&["a"]))])],
            pairs,
        )
    };
    assert!(is_in(&[("user_id", "b")]));
    assert!(!is_in(&[("user_id", "c")]));
    assert!(!is_in(&[]));
    assert!(not_in(&[("user_id", "b")]));
    assert!(!not_in(&[("user_id", "a")]));
    assert!(!not_in(&[]), "unset never matches, not even not_in");
    // A condition without operators asks only that the attribute is set; `not_in = []` too.
    assert!(fires(
        &m,
        vec![cond(&m, "user_id", vec![])],
        &[("user_id", "")]
    ));
    assert!(!fires(&m, vec![cond(&m, "user_id", vec![])], &[]));
    assert!(fires(
        &m,
        vec![cond(&m, "user_id", vec![Op::NotIn(vec![])])],
        &[("user_id", "x")]
    ));
    assert!(!fires(
        &m,
        vec![cond(&m, "user_id", vec![Op::In(vec![])])],
        &[("user_id", "x")]
    ));
    // A large set (hashed) behaves like a small one (scanned).
    let ids: Vec<String> = (0..100).map(|i| format!("user-{i}")).collect();
    let big = vec![cond(
        &m,
        "user_id",
        vec![Op::In(ids.iter().map(|s| Lit::Str(s.clone())).collect())],
    )];
    assert!(fires(&m, big.clone(), &[("user_id", "user-57")]));
    assert!(!fires(&m, big, &[("user_id", "user-100")]));
}

#[test]
fn string_tests_and_regexes() {
    let m = base();
    let t = |op: StrOp, needles: &[&str], v: &str| {
        fires(
            &m,
            vec![cond(&m, "user_id", vec![Op::Str(op, svec(needles))])],
            &[("user_id", v)],
        )
    };
    assert!(t(StrOp::StartsWith, &["x", "ab"], "abc"));
    assert!(!t(StrOp::StartsWith, &["b"], "abc"));
    assert!(t(StrOp::EndsWith, &[".de", ".fr"], "a.fr"));
    assert!(t(StrOp::Contains, &["b"], "abc"));
    assert!(!t(StrOp::Contains, &["z"], "abc"));
    assert!(t(StrOp::Matches, &["b+c"], "abbbcd"), "unanchored");
    assert!(!t(StrOp::Matches, &["^b+c$"], "abbbcd"));
    assert!(
        t(StrOp::Matches, &["^z$", "(?i)^ABC"], "abc"),
        "any of several, each with its own flags"
    );
    assert!(!t(StrOp::Matches, &["^z$", "(?i)^ABD"], "abc"));
    // Several operators in one table must all hold.
    let both = |v: &str| {
        fires(
            &m,
            vec![cond(
                &m,
                "user_id",
                vec![
                    Op::Str(StrOp::StartsWith, svec(&["a"])),
                    Op::Str(StrOp::EndsWith, svec(&["z"])),
                ],
            )],
            &[("user_id", v)],
        )
    };
    assert!(both("abz"));
    assert!(!both("abc"));
}

#[test]
fn string_lists_judge_each_operator_on_its_own() {
    let m = base();
    let f = |ops: Vec<Op>, groups: Option<&str>| {
        let pairs: Vec<(&str, &str)> = groups.map(|g| ("groups", g)).into_iter().collect();
        fires(&m, vec![cond(&m, "groups", ops)], &pairs)
    };
    assert!(f(vec![Op::In(strs(&["beta"]))], Some("vip,beta")));
    assert!(!f(vec![Op::In(strs(&["beta"]))], Some("vip")));
    assert!(f(vec![Op::NotIn(strs(&["beta"]))], Some("vip")));
    assert!(!f(vec![Op::NotIn(strs(&["beta"]))], Some("vip,beta")));
    assert!(
        f(vec![Op::NotIn(strs(&["beta"]))], Some("")),
        "an empty list is set"
    );
    assert!(!f(vec![Op::In(strs(&["beta"]))], Some("")));
    assert!(
        !f(vec![Op::NotIn(strs(&["beta"]))], None),
        "an absent list is unset"
    );
    // Two operators may be satisfied by different elements.
    let two = vec![
        Op::Str(StrOp::StartsWith, svec(&["a"])),
        Op::Str(StrOp::EndsWith, svec(&["z"])),
    ];
    assert!(f(two.clone(), Some("ab,xz")));
    assert!(!f(two, Some("ab,xy")));
    assert!(f(
        vec![Op::Str(StrOp::Matches, svec(&["^adm"]))],
        Some("x,admin")
    ));
}

#[test]
fn numbers_bools_semver_datetimes() {
    let m = base();
    let age = |op: Op, v: &str| fires(&m, vec![cond(&m, "age", vec![op])], &[("age", v)]);
    assert!(age(Op::Cmp(CmpOp::Gte, Lit::Int(18)), "18"));
    assert!(!age(Op::Cmp(CmpOp::Gt, Lit::Int(18)), "18"));
    assert!(age(Op::In(vec![Lit::Int(3), Lit::Int(-4)]), "-4"));
    assert!(age(Op::NotIn(vec![Lit::Int(3)]), "4"));

    let score = |op: Op, v: &str| fires(&m, vec![cond(&m, "score", vec![op])], &[("score", v)]);
    assert!(score(Op::Cmp(CmpOp::Lt, Lit::Float(0.5)), "0.25"));
    assert!(score(Op::Cmp(CmpOp::Lte, Lit::Float(0.5)), "0.5"));
    assert!(
        !score(Op::Cmp(CmpOp::Lt, Lit::Float(0.5)), "NaN"),
        "IEEE: NaN compares false"
    );
    assert!(!score(Op::Cmp(CmpOp::Gte, Lit::Float(0.5)), "NaN"));
    assert!(!score(Op::In(vec![Lit::Float(f64::NAN)]), "NaN"));
    assert!(score(Op::In(vec![Lit::Float(0.0)]), "-0"));

    let emp = |op: Op, v: &str| fires(&m, vec![cond(&m, "employee", vec![op])], &[("employee", v)]);
    assert!(emp(Op::In(vec![Lit::Bool(true)]), "true"));
    assert!(!emp(Op::In(vec![Lit::Bool(true)]), "false"));
    assert!(emp(Op::NotIn(vec![Lit::Bool(true)]), "false"));

    let sv = |s: &str| Lit::Semver(semver::Version::parse(s).unwrap());
    let ver = |op: Op, v: &str| fires(&m, vec![cond(&m, "version", vec![op])], &[("version", v)]);
    assert!(
        ver(Op::Cmp(CmpOp::Lt, sv("3.0.0")), "3.0.0-rc.1"),
        "pre-releases are lower"
    );
    assert!(ver(Op::Cmp(CmpOp::Gte, sv("2.0.0-beta.2")), "3.0.0-rc.1"));
    assert!(
        ver(Op::In(vec![sv("1.0.0")]), "1.0.0+build.5"),
        "build metadata is ignored"
    );
    assert!(ver(Op::Cmp(CmpOp::Lte, sv("1.0.0+a")), "1.0.0+b"));
    assert!(!ver(Op::NotIn(vec![sv("1.0.0+a")]), "1.0.0"));
    assert!(
        ver(Op::Cmp(CmpOp::Gt, sv("1.9.0")), "1.10.0"),
        "numeric, not lexicographic"
    );

    let ts = |s: &str| Lit::Datetime(s.parse().unwrap());
    let dt = |op: Op, v: &str| fires(&m, vec![cond(&m, "signup", vec![op])], &[("signup", v)]);
    assert!(
        dt(
            Op::In(vec![ts("2026-06-01T00:00:00Z")]),
            "2026-06-01T02:00:00+02:00"
        ),
        "instants, whatever the offset"
    );
    assert!(dt(
        Op::Cmp(CmpOp::Lt, ts("2026-06-01T00:00:00Z")),
        "2026-06-01T01:59:59+02:00"
    ));
    assert!(!dt(
        Op::Cmp(CmpOp::Lt, ts("2026-06-01T00:00:00Z")),
        "2026-06-01T00:00:00Z"
    ));
}

#[test]
fn enums_are_matched_by_name_against_the_binarys_layout() {
    let m = base();
    let one = model(
        m.clone(),
        vec![flag(
            "f",
            FlagType::Bool,
            FlagValue::Bool(false),
            vec![rule(
                vec![cond(
                    &m,
                    "plan",
                    vec![Op::In(vec![Lit::Enum(1), Lit::Enum(2)])],
                )],
                FlagValue::Bool(true),
            )],
        )],
    );
    let statics = Statics::from_pairs(&one.manifest, [("env", "dev")]).unwrap();
    // An older binary: values reordered, `enterprise` unknown, one extra; `age` is a string.
    let old = Layout::new([
        ("plan".to_owned(), enum_ty(&["legacy", "pro", "free"])),
        ("age".to_owned(), AttrType::String),
    ]);
    let run = |layout: &Layout, plan: &str| {
        let c = ctx(layout, &[("plan", plan)]);
        eval_both(&one, &statics, layout, &c, "f").0 == FlagValue::Bool(true)
    };
    assert!(run(&old, "pro"));
    assert!(!run(&old, "free"));
    assert!(!run(&old, "legacy"));
    let own = Layout::of(&one.manifest);
    assert!(run(&own, "enterprise"));
    assert!(!run(&own, "free"));

    // A condition on an attribute of another type, or one the layout lacks, never matches,
    // not even `not_in`.
    let on = |name: &str, ops: Vec<Op>, pairs: &[(&str, &str)]| {
        let md = model(
            m.clone(),
            vec![flag(
                "f",
                FlagType::Bool,
                FlagValue::Bool(false),
                vec![rule(vec![cond(&m, name, ops)], FlagValue::Bool(true))],
            )],
        );
        let c = ctx(&old, pairs);
        let (v, _) = eval_both(&md, &statics, &old, &c, "f");
        let p = compile(&md, &statics, &old);
        assert!(
            p.flags[0].rules.is_empty(),
            "the rule is dropped at compile time"
        );
        v
    };
    assert_eq!(
        on("age", vec![Op::NotIn(vec![Lit::Int(1)])], &[("age", "5")]),
        FlagValue::Bool(false)
    );
    assert_eq!(
        on("user_id", vec![Op::NotIn(strs(&["a"]))], &[]),
        FlagValue::Bool(false)
    );
    // A `not_in` whose literals the layout does not know holds for any set value.
    let model2 = model(
        m.clone(),
        vec![flag(
            "f",
            FlagType::Bool,
            FlagValue::Bool(false),
            vec![rule(
                vec![cond(&m, "plan", vec![Op::NotIn(vec![Lit::Enum(2)])])],
                FlagValue::Bool(true),
            )],
        )],
    );
    let c = ctx(&old, &[("plan", "legacy")]);
    assert_eq!(
        eval_both(&model2, &statics, &old, &c, "f").0,
        FlagValue::Bool(true)
    );
}

#[test]
fn statics_are_folded() {
    let m = base();
    let dev = |ops| cond(&m, "env", ops);
    let f = flag(
        "f",
        FlagType::Int,
        FlagValue::Int(0),
        vec![
            rule(
                vec![dev(vec![Op::In(vec![Lit::Enum(0)])])],
                FlagValue::Int(1),
            ),
            rule(
                vec![
                    dev(vec![Op::NotIn(vec![Lit::Enum(0)])]),
                    cond(&m, "age", vec![Op::Cmp(CmpOp::Gt, Lit::Int(5))]),
                ],
                FlagValue::Int(2),
            ),
            rule(vec![], FlagValue::Int(3)),
            rule(vec![cond(&m, "age", vec![])], FlagValue::Int(4)),
        ],
    );
    let model = model(m.clone(), vec![f]);
    let layout = Layout::of(&model.manifest);
    let dev_s = Statics::from_pairs(&model.manifest, [("env", "dev")]).unwrap();
    let prod_s = Statics::from_pairs(&model.manifest, [("env", "prod")]).unwrap();

    let p = compile(&model, &dev_s, &layout);
    let rules: Vec<usize> = p.flags[0].rules.iter().map(|r| r.index).collect();
    assert_eq!(
        rules,
        [0],
        "in dev the first rule always decides; the rest is removed"
    );
    assert!(
        p.flags[0].rules[0].when.is_empty(),
        "the static condition is stripped"
    );
    assert_eq!(p.flags[0].constant, Some(Value::Int(1)));
    assert_eq!(p.eval(0, &ctx(&layout, &[])).rule, Some(0));

    let p = compile(&model, &prod_s, &layout);
    let rules: Vec<usize> = p.flags[0].rules.iter().map(|r| r.index).collect();
    assert_eq!(
        rules,
        [1, 2],
        "rule 0 is dropped, rule 3 is shadowed by the unconditional rule 2"
    );
    assert_eq!(p.flags[0].rules[0].when.len(), 1);
    assert_eq!(p.flags[0].constant, None);
    for (age, want) in [
        (Some("9"), (FlagValue::Int(2), Some(1))),
        (Some("1"), (FlagValue::Int(3), Some(2))),
        (None, (FlagValue::Int(3), Some(2))),
    ] {
        let c = ctx(
            &layout,
            &age.map(|a| ("age", a)).into_iter().collect::<Vec<_>>(),
        );
        assert_eq!(eval_both(&model, &prod_s, &layout, &c, "f"), want);
    }
}

#[test]
fn segments_are_inlined() {
    let mut m = base();
    let when = vec![cond(
        &m,
        "user_id",
        vec![Op::Str(StrOp::EndsWith, svec(&["@corp"]))],
    )];
    add_segment(&mut m, "internal", when);
    let when = vec![cond(&m, "env", vec![Op::In(vec![Lit::Enum(0)])])];
    add_segment(&mut m, "dev_only", when);
    let staff = vec![
        seg(&m, &["internal"]),
        cond(&m, "employee", vec![Op::In(vec![Lit::Bool(true)])]),
    ];
    add_segment(&mut m, "staff", staff);
    let when = vec![cond(&m, "groups", vec![Op::In(strs(&["beta"]))])];
    add_segment(&mut m, "beta", when);
    let f = flag(
        "f",
        FlagType::Bool,
        FlagValue::Bool(false),
        vec![rule(
            vec![seg(&m, &["staff", "beta", "dev_only"])],
            FlagValue::Bool(true),
        )],
    );
    let model = model(m, vec![f]);
    let layout = Layout::of(&model.manifest);
    let prod = Statics::from_pairs(&model.manifest, [("env", "prod")]).unwrap();
    let dev = Statics::from_pairs(&model.manifest, [("env", "dev")]).unwrap();
    let on = |s: &Statics, pairs: &[(&str, &str)]| {
        eval_both(&model, s, &layout, &ctx(&layout, pairs), "f").0 == FlagValue::Bool(true)
    };
    assert!(on(&prod, &[("user_id", "a@corp"), ("employee", "true")]));
    assert!(!on(&prod, &[("user_id", "a@corp"), ("employee", "false")]));
    assert!(on(&prod, &[("groups", "beta")]));
    assert!(!on(&prod, &[]));
    assert!(
        on(&dev, &[]),
        "a segment decided true by the statics makes the condition always hold"
    );
    let p = compile(&model, &dev, &layout);
    assert_eq!(p.flags[0].constant, Some(Value::Bool(true)));
    let p = compile(&model, &prod, &layout);
    assert!(matches!(p.flags[0].rules[0].when[..], [flagc::ir::Cond::Any(ref b)] if b.len() == 2));
}

#[test]
fn rollouts() {
    let m = base();
    let weights = [30_000, 70_000];
    let mk = |by: usize, key: &str| {
        flag(
            key,
            FlagType::Bool,
            FlagValue::Bool(false),
            vec![
                rollout(vec![], by, &weights),
                rule(vec![], FlagValue::Bool(false)),
            ],
        )
    };
    let user = m.context_index("user_id").unwrap();
    let age = m.context_index("age").unwrap();
    let plan = m.context_index("plan").unwrap();
    let model = model(
        m.clone(),
        vec![mk(user, "by_user"), mk(age, "by_age"), mk(plan, "by_plan")],
    );
    let statics = Statics::from_pairs(&model.manifest, [("env", "prod")]).unwrap();
    let layout = Layout::of(&model.manifest);
    let expect = |salt: &str, value: &str| {
        FlagValue::Bool(
            bucket::pick(&weights, bucket::bucket(salt.as_bytes(), value.as_bytes())) == 0,
        )
    };

    // Unset bucketing attribute: the rollout does not match; the next rule decides.
    assert_eq!(
        eval_both(&model, &statics, &layout, &ctx(&layout, &[]), "by_user"),
        (FlagValue::Bool(false), Some(1))
    );
    let p = compile(&model, &statics, &layout);
    assert_eq!(
        p.flags.iter().map(|f| f.rules.len()).collect::<Vec<_>>(),
        [2, 2, 2],
        "a rollout is never unconditional"
    );

    let mut trues = 0;
    for i in 0..200 {
        let id = format!("user-{i}");
        let (v, rule) = eval_both(
            &model,
            &statics,
            &layout,
            &ctx(&layout, &[("user_id", &id)]),
            "by_user",
        );
        assert_eq!((v.clone(), rule), (expect("by_user", &id), Some(0)));
        trues += usize::from(v == FlagValue::Bool(true));
        let n = (i * 7919 - 500).to_string();
        let (v, _) = eval_both(
            &model,
            &statics,
            &layout,
            &ctx(&layout, &[("age", &n)]),
            "by_age",
        );
        assert_eq!(v, expect("by_age", &n), "ints bucket by their decimal form");
    }
    assert!(
        (30..100).contains(&trues),
        "{trues} of 200 in the 30 % bucket"
    );

    // Enums bucket by the value's name, so a binary whose layout orders them differently
    // puts everyone in the same bucket.
    let other = Layout::new([("plan".to_owned(), enum_ty(&["enterprise", "pro", "free"]))]);
    for name in ["free", "pro", "enterprise"] {
        let own = eval_both(
            &model,
            &statics,
            &layout,
            &ctx(&layout, &[("plan", name)]),
            "by_plan",
        )
        .0;
        let old = eval_both(
            &model,
            &statics,
            &other,
            &ctx(&other, &[("plan", name)]),
            "by_plan",
        )
        .0;
        assert_eq!(own, expect("by_plan", name));
        assert_eq!(old, own, "{name}");
    }
}

#[test]
fn enum_flag_rollout_uses_variant_order_and_salt() {
    let m = base();
    let user = m.context_index("user_id").unwrap();
    let mut f = flag(
        "layout",
        FlagType::Enum(svec(&["classic", "one_page", "wizard"])),
        FlagValue::Enum(0),
        vec![rollout(vec![], user, &[0, 50_000, 50_000])],
    );
    f.salt = "old_name".into();
    let model = model(m, vec![f]);
    let statics = Statics::from_pairs(&model.manifest, [("env", "prod")]).unwrap();
    let layout = Layout::of(&model.manifest);
    let mut seen = [0; 3];
    for i in 0..100 {
        let id = format!("u{i}");
        let (v, _) = eval_both(
            &model,
            &statics,
            &layout,
            &ctx(&layout, &[("user_id", &id)]),
            "layout",
        );
        let want = bucket::pick(
            &[0, 50_000, 50_000],
            bucket::bucket(b"old_name", id.as_bytes()),
        ) as u32;
        assert_eq!(v, FlagValue::Enum(want));
        if let FlagValue::Enum(x) = v {
            seen[x as usize] += 1;
        }
    }
    assert_eq!(seen[0], 0);
    assert!(seen[1] > 20 && seen[2] > 20, "{seen:?}");
}

#[test]
fn explanations_name_the_failing_condition() {
    let mut m = base();
    let when = vec![cond(&m, "groups", vec![Op::In(strs(&["beta"]))])];
    add_segment(&mut m, "beta", when);
    let user = m.context_index("user_id").unwrap();
    let f = flag(
        "f",
        FlagType::Bool,
        FlagValue::Bool(false),
        vec![
            rule(
                vec![cond(&m, "env", vec![Op::In(vec![Lit::Enum(0)])])],
                FlagValue::Bool(true),
            ),
            rule(
                vec![cond(&m, "age", vec![Op::Cmp(CmpOp::Gt, Lit::Int(5))])],
                FlagValue::Bool(true),
            ),
            rule(
                vec![cond(&m, "age", vec![Op::Cmp(CmpOp::Lt, Lit::Int(5))])],
                FlagValue::Bool(true),
            ),
            rule(vec![seg(&m, &["beta"])], FlagValue::Bool(true)),
            rollout(vec![], user, &[100_000, 0]),
        ],
    );
    let model = model(m, vec![f]);
    let statics = Statics::from_pairs(&model.manifest, [("env", "prod")]).unwrap();
    let layout = Layout::of(&model.manifest);
    let c = ctx(&layout, &[("age", "5"), ("groups", "x")]);
    let e = interp::explain(&model, &statics, 0, &c).unwrap();
    assert_eq!((e.value.clone(), e.rule), (FlagValue::Bool(false), None));
    let verdicts: Vec<String> = e
        .trace
        .iter()
        .map(|t| format!("{}: {}", t.label, t.verdict))
        .collect();
    assert_eq!(
        verdicts,
        [
            "rule #1: skipped: static `env` is \"prod\"",
            "rule #2: skipped: `age` does not satisfy `gt`",
            "rule #3: skipped: `age` does not satisfy `lt`",
            "rule #4: skipped: no segment matched: `beta`: `groups` does not satisfy `in`",
            "rule #5: skipped: bucketing attribute `user_id` is unset",
        ]
    );
    let Verdict::Failed { condition, reason } = &e.trace[1].verdict else {
        panic!()
    };
    assert_eq!(condition.file, "cond:age.toml");
    assert_eq!(
        *reason,
        Reason::Operator {
            attr: "age".into(),
            op: "gt"
        }
    );

    let c = ctx(&layout, &[("user_id", "u")]);
    let e = interp::explain(&model, &statics, 0, &c).unwrap();
    assert_eq!(e.rule, Some(4));
    assert!(matches!(
        e.trace[4].verdict,
        Verdict::Bucketed { variant: 0, .. }
    ));
    assert!(
        matches!(&e.trace[1].verdict, Verdict::Failed { reason: Reason::Unset { attr }, .. } if attr == "age")
    );
    assert!(interp::explain(&model, &statics, 1, &c).is_none());
}

fn lint_model() -> Model {
    let m = base();
    let env = |v: u32| cond(&m, "env", vec![Op::In(vec![Lit::Enum(v)])]);
    let flags = vec![
        // Rule #2 contradicts rule #1's static condition in every environment.
        flag(
            "contradiction",
            FlagType::Bool,
            FlagValue::Bool(false),
            vec![
                rule(vec![cond(&m, "age", vec![])], FlagValue::Bool(true)),
                rule(
                    vec![env(0), cond(&m, "env", vec![Op::In(vec![Lit::Enum(1)])])],
                    FlagValue::Bool(true),
                ),
                rule(vec![env(1)], FlagValue::Bool(true)),
            ],
        ),
        // True everywhere: in dev by the rule, in prod by the default.
        flag(
            "always_true",
            FlagType::Bool,
            FlagValue::Bool(true),
            vec![rule(vec![env(0)], FlagValue::Bool(true))],
        ),
        // Constant per environment, but not the same constant: not reported.
        flag(
            "per_env",
            FlagType::Bool,
            FlagValue::Bool(false),
            vec![rule(vec![env(0)], FlagValue::Bool(true))],
        ),
        // A knob without rules: constant by design.
        flag("knob", FlagType::Int, FlagValue::Int(20), vec![]),
        // Literally shadowed rules are the checker's W0501, not reported again.
        flag(
            "shadowed",
            FlagType::Bool,
            FlagValue::Bool(false),
            vec![
                rule(vec![], FlagValue::Bool(true)),
                rule(vec![env(0)], FlagValue::Bool(false)),
            ],
        ),
    ];
    model(m, flags)
}

#[test]
fn lint_reports_dead_rules_and_constant_flags() {
    let diags = lint(&lint_model());
    let got: Vec<(Code, Severity, String, String)> = diags
        .iter()
        .map(|d| {
            (
                d.code,
                d.severity,
                d.file.clone().unwrap_or_default(),
                d.message.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Code::ConstantFlag, Severity::Note, "always_true.toml".into(), "flag `always_true` is always true whatever the context".into()),
            (
                Code::NeverFires,
                Severity::Warning,
                "rule.toml".into(),
                "rule #2 of flag `contradiction` fires under no combination of the static attributes".into()
            ),
            (Code::ConstantFlag, Severity::Note, "shadowed.toml".into(), "flag `shadowed` is always true whatever the context".into()),
        ]
    );
}
