//! Property: the compiled program and the reference interpreter agree — on the value and on
//! the deciding rule — for random models (statics, nested segments, every attribute type and
//! operator, rollouts), random static values, random contexts (unset attributes, empty and
//! non-empty lists, NaN) and random binary layouts (attributes missing, retyped, enum values
//! reordered). Also: a flag the compiler marks constant has that value for every context, and
//! a rule `lint` says never fires never decides.
#![allow(clippy::unwrap_used)]

use flagc::compile::{Statics, compile, lint};
use flagc::diag::Code;
use flagc::eval::Context;
use flagc::interp;
use flagc::ir::Layout;
use flagc::model::{
    AttrRef, AttrType, CmpOp, Condition, ContextAttr, Flag, FlagType, FlagValue, Lit, Loc,
    Manifest, Model, Op, Outcome, Rollout, Rule, Segment, StaticAttr, StrOp,
};
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

const STRS: &[&str] = &["", "a", "ab", "b", "abc", "beta", "x@corp", "user-1", "ü"];
const NEEDLES: &[&str] = &[
    "", "a", "b", "c", "@corp", "user", "^a", "b$", "(?i)A", "^(ab|x)",
];
const INTS: &[i64] = &[-3, -1, 0, 1, 2, 3, i64::MAX];
const FLOATS: &[f64] = &[-1.0, 0.0, -0.0, 0.5, 1.0, f64::NAN, f64::INFINITY];
const SEMVERS: &[&str] = &[
    "1.0.0",
    "1.0.0+b",
    "1.0.0-rc.1",
    "1.0.0-rc.1+x",
    "2.0.0",
    "1.10.0",
    "0.9.9",
];
const DATETIMES: &[&str] = &[
    "2026-01-01T00:00:00Z",
    "2026-01-01T01:00:00+01:00",
    "2026-06-01T00:00:00Z",
    "2025-12-31T23:59:59Z",
];
const ENUM: &[&str] = &["a", "b", "c"];

fn context_attrs() -> Vec<(&'static str, AttrType)> {
    vec![
        ("s", AttrType::String),
        ("i", AttrType::Int),
        ("f", AttrType::Float),
        ("b", AttrType::Bool),
        ("v", AttrType::Semver),
        ("d", AttrType::Datetime),
        ("l", AttrType::StringList),
        (
            "e",
            AttrType::Enum(ENUM.iter().map(|s| (*s).into()).collect()),
        ),
    ]
}

fn pick<T: Clone + std::fmt::Debug + 'static>(pool: &'static [T]) -> BoxedStrategy<T> {
    proptest::sample::select(pool).boxed()
}

fn lit(ty: &AttrType) -> BoxedStrategy<Lit> {
    match ty {
        AttrType::String | AttrType::StringList => {
            pick(STRS).prop_map(|s| Lit::Str(s.into())).boxed()
        }
        AttrType::Int => pick(INTS).prop_map(Lit::Int).boxed(),
        // Literals are finite: TOML has no NaN literal the checker would accept here.
        AttrType::Float => pick(&FLOATS[..5]).prop_map(Lit::Float).boxed(),
        AttrType::Bool => any::<bool>().prop_map(Lit::Bool).boxed(),
        AttrType::Semver => pick(SEMVERS)
            .prop_map(|s| Lit::Semver(semver::Version::parse(s).unwrap()))
            .boxed(),
        AttrType::Datetime => pick(DATETIMES)
            .prop_map(|s| Lit::Datetime(s.parse().unwrap()))
            .boxed(),
        AttrType::Enum(v) => (0..v.len() as u32).prop_map(Lit::Enum).boxed(),
    }
}

fn str_op() -> BoxedStrategy<StrOp> {
    pick(&[
        StrOp::StartsWith,
        StrOp::EndsWith,
        StrOp::Contains,
        StrOp::Matches,
    ])
}

fn op(ty: &AttrType) -> BoxedStrategy<Op> {
    let lits = proptest::collection::vec(lit(ty), 0..4);
    let member = prop_oneof![lits.clone().prop_map(Op::In), lits.prop_map(Op::NotIn)];
    let needles = proptest::collection::vec(pick(NEEDLES).prop_map(String::from), 1..3);
    match ty {
        AttrType::String | AttrType::StringList => {
            prop_oneof![member, (str_op(), needles).prop_map(|(o, n)| Op::Str(o, n))].boxed()
        }
        AttrType::Enum(_) => {
            prop_oneof![4 => member, 1 => (str_op(), needles).prop_map(|(o, n)| Op::Str(o, n))]
                .boxed()
        }
        t if t.is_ordered() => {
            let cmp = pick(&[CmpOp::Lt, CmpOp::Lte, CmpOp::Gt, CmpOp::Gte]);
            prop_oneof![member, (cmp, lit(ty)).prop_map(|(c, l)| Op::Cmp(c, l))].boxed()
        }
        _ => member.boxed(),
    }
}

fn loc() -> Loc {
    Loc::default()
}

/// A condition on a context attribute, a static, or earlier segments.
fn condition(statics: &[usize], segments: usize) -> BoxedStrategy<Condition> {
    let attrs = context_attrs();
    let ctx = (0..attrs.len())
        .prop_flat_map(move |i| {
            proptest::collection::vec(op(&attrs[i].1), 0..3).prop_map(move |ops| Condition::Attr {
                attr: AttrRef::Context(i),
                ops,
                loc: loc(),
            })
        })
        .boxed();
    let mut choices = vec![(4u32, ctx)];
    if !statics.is_empty() {
        let sizes = statics.to_vec();
        let st = (0..sizes.len())
            .prop_flat_map(move |i| {
                let lits =
                    proptest::collection::vec((0..sizes[i] as u32).prop_map(Lit::Enum), 0..3);
                let op = prop_oneof![lits.clone().prop_map(Op::In), lits.prop_map(Op::NotIn)];
                proptest::collection::vec(op, 1..3).prop_map(move |ops| Condition::Attr {
                    attr: AttrRef::Static(i),
                    ops,
                    loc: loc(),
                })
            })
            .boxed();
        choices.push((2, st));
    }
    if segments > 0 {
        let seg = proptest::collection::vec(0..segments, 1..3)
            .prop_map(|segments| Condition::Segment {
                segments,
                loc: loc(),
            })
            .boxed();
        choices.push((2, seg));
    }
    proptest::strategy::Union::new_weighted(choices).boxed()
}

fn when(statics: &[usize], segments: usize) -> BoxedStrategy<Vec<Condition>> {
    proptest::collection::vec(condition(statics, segments), 0..3).boxed()
}

fn flag_value(ty: &FlagType) -> BoxedStrategy<FlagValue> {
    match ty {
        FlagType::Bool => any::<bool>().prop_map(FlagValue::Bool).boxed(),
        FlagType::Int => (0i64..3).prop_map(FlagValue::Int).boxed(),
        FlagType::Float => pick(&[0.0, 1.5]).prop_map(FlagValue::Float).boxed(),
        FlagType::String => pick(&["x", "y"])
            .prop_map(|s| FlagValue::Str(s.into()))
            .boxed(),
        FlagType::Enum(v) => (0..v.len() as u32).prop_map(FlagValue::Enum).boxed(),
    }
}

/// Weights for `n` buckets summing to 100 000, sometimes all on one bucket.
fn weights(n: usize) -> BoxedStrategy<Vec<u32>> {
    let cuts = proptest::collection::vec(
        prop_oneof![1 => Just(0u32), 1 => Just(100_000u32), 4 => 0u32..=100_000],
        n - 1,
    );
    cuts.prop_map(|mut c| {
        c.sort_unstable();
        c.push(100_000);
        let mut prev = 0;
        c.iter()
            .map(|&x| {
                let w = x - prev;
                prev = x;
                w
            })
            .collect()
    })
    .boxed()
}

fn outcome(ty: &FlagType) -> BoxedStrategy<Outcome> {
    let value = flag_value(ty).prop_map(Outcome::Value);
    match ty.rollout_keys() {
        Some(keys) => {
            // Bucket by a string, an int or an enum attribute.
            let by = pick(&[0usize, 1, 7]);
            let r = (by, weights(keys.len()))
                .prop_map(|(by, weights)| Outcome::Rollout(Rollout { by, weights }));
            prop_oneof![value, r].boxed()
        }
        None => value.boxed(),
    }
}

fn flag(statics: Vec<usize>, segments: usize) -> BoxedStrategy<Flag> {
    let ty = pick(&[0u8, 1, 2, 3, 4]).prop_map(|t| match t {
        0 => FlagType::Bool,
        1 => FlagType::Int,
        2 => FlagType::String,
        3 => FlagType::Float,
        _ => FlagType::Enum(vec!["p".into(), "q".into(), "r".into()]),
    });
    ty.prop_flat_map(move |ty| {
        let rule = (when(&statics, segments), outcome(&ty));
        (
            flag_value(&ty),
            proptest::collection::vec(rule, 0..5),
            any::<bool>(),
            Just(ty),
        )
    })
    .prop_map(|(default, rules, salted, ty)| Flag {
        key: String::new(),
        description: String::new(),
        owner: String::new(),
        expires: None,
        permanent: false,
        ty,
        default,
        salt: if salted {
            "renamed".into()
        } else {
            String::new()
        },
        rules: rules
            .into_iter()
            .enumerate()
            .map(|(index, (when, outcome))| Rule {
                index,
                id: None,
                when,
                outcome,
                loc: loc(),
            })
            .collect(),
        loc: loc(),
    })
    .boxed()
}

fn model() -> BoxedStrategy<Model> {
    (proptest::collection::vec(1usize..=3, 0..=2), 0usize..=3)
        .prop_flat_map(|(statics, nseg)| {
            let segs: Vec<BoxedStrategy<Vec<Condition>>> = (0..nseg)
                .map(|k| proptest::collection::vec(condition(&statics, k), 0..3).boxed())
                .collect();
            (
                Just(statics.clone()),
                segs,
                proptest::collection::vec(flag(statics, nseg), 1..=3),
            )
        })
        .prop_map(|(statics, segs, flags)| {
            let manifest = Manifest {
                format: 1,
                statics: statics
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| StaticAttr {
                        name: format!("st{i}"),
                        values: (0..n).map(|v| format!("v{v}")).collect(),
                        loc: loc(),
                    })
                    .collect(),
                context: context_attrs()
                    .into_iter()
                    .map(|(n, ty)| ContextAttr {
                        name: n.into(),
                        ty,
                        loc: loc(),
                    })
                    .collect(),
                rollout_by: Some(0),
                segments: segs
                    .into_iter()
                    .enumerate()
                    .map(|(i, when)| Segment {
                        name: format!("seg{i}"),
                        when,
                        loc: loc(),
                    })
                    .collect(),
                deprecate_expired: true,
            };
            let flags = flags
                .into_iter()
                .enumerate()
                .map(|(i, mut f)| {
                    f.key = format!("flag{i}");
                    if f.salt.is_empty() {
                        f.salt = f.key.clone();
                    }
                    f
                })
                .collect();
            Model { manifest, flags }
        })
        .boxed()
}

/// How the running binary's layout differs from the model's context.
#[derive(Debug, Clone)]
struct LayoutChange {
    drop: Option<usize>,
    retype: Option<usize>,
    shuffle_enum: bool,
    reverse: bool,
}

fn layout_change() -> BoxedStrategy<LayoutChange> {
    prop_oneof![
        2 => Just(LayoutChange { drop: None, retype: None, shuffle_enum: false, reverse: false }),
        1 => (proptest::option::of(0usize..8), proptest::option::of(0usize..8), any::<bool>(), any::<bool>())
            .prop_map(|(drop, retype, shuffle_enum, reverse)| LayoutChange { drop, retype, shuffle_enum, reverse }),
    ]
    .boxed()
}

fn apply(change: &LayoutChange) -> Layout {
    let mut attrs: Vec<(String, AttrType)> = context_attrs()
        .into_iter()
        .map(|(n, t)| (n.to_owned(), t))
        .collect();
    if let Some(i) = change.retype {
        attrs[i].1 = if attrs[i].1 == AttrType::String {
            AttrType::Int
        } else {
            AttrType::String
        };
    }
    if change.shuffle_enum {
        attrs[7].1 = AttrType::Enum(vec!["c".into(), "x".into(), "a".into()]);
    }
    if let Some(i) = change.drop {
        attrs.remove(i);
    }
    if change.reverse {
        attrs.reverse();
    }
    Layout::new(attrs)
}

/// One raw value per field, interpreted by the field's type in the layout.
type RawContext = Vec<Option<(usize, Vec<usize>)>>;

fn raw_context() -> BoxedStrategy<RawContext> {
    let field = proptest::option::weighted(
        0.75,
        (0usize..16, proptest::collection::vec(0usize..16, 0..3)),
    );
    proptest::collection::vec(field, 8).boxed()
}

fn build_context<'l>(layout: &'l Layout, raw: &RawContext) -> Context<'l> {
    let mut c = Context::new(layout);
    for (a, r) in layout.attrs().iter().zip(raw) {
        let Some((x, xs)) = r else { continue };
        let n = &a.name;
        match &a.ty {
            AttrType::String => c.set_str(n, STRS[x % STRS.len()]),
            AttrType::Int => c.set_int(n, INTS[x % INTS.len()]),
            AttrType::Float => c.set_float(n, FLOATS[x % FLOATS.len()]),
            AttrType::Bool => c.set_bool(n, x % 2 == 0),
            AttrType::Semver => c.set_text(n, SEMVERS[x % SEMVERS.len()]),
            AttrType::Datetime => c.set_text(n, DATETIMES[x % DATETIMES.len()]),
            AttrType::StringList => c.set_list(n, xs.iter().map(|i| STRS[i % STRS.len()])),
            AttrType::Enum(v) => c.set_enum(n, &v[x % v.len()]),
        }
        .unwrap();
    }
    c
}

fn statics_for(model: &Model, picks: &[usize]) -> Statics {
    let values = model
        .manifest
        .statics
        .iter()
        .zip(picks)
        .map(|(s, &p)| (p % s.values.len()) as u32)
        .collect();
    Statics::from_indices(&model.manifest, values).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn compiled_program_agrees_with_the_interpreter(
        model in model(),
        picks in proptest::collection::vec(0usize..3, 2),
        change in layout_change(),
        contexts in proptest::collection::vec(raw_context(), 1..6),
    ) {
        let statics = statics_for(&model, &picks);
        let layout = apply(&change);
        let program = compile(&model, &statics, &layout);
        for raw in &contexts {
            let ctx = build_context(&layout, raw);
            for (i, f) in program.flags.iter().enumerate() {
                let compiled = program.eval(i, &ctx);
                let interpreted = interp::explain(&model, &statics, i, &ctx).unwrap();
                prop_assert_eq!(
                    (compiled.value.to_flag_value(), compiled.rule),
                    (interpreted.value.clone(), interpreted.rule),
                    "flag {} with {:?}\ntrace: {:#?}\ncompiled: {:#?}", f.key, ctx, interpreted.trace, f
                );
                if let Some(c) = &f.constant {
                    prop_assert_eq!(compiled.value, c, "constant flag {} took another value", f.key);
                }
            }
        }
    }

    #[test]
    fn rules_lint_calls_dead_never_decide(
        model in model(),
        picks in proptest::collection::vec(0usize..3, 2),
        contexts in proptest::collection::vec(raw_context(), 1..6),
    ) {
        let dead: Vec<String> =
            lint(&model).into_iter().filter(|d| d.code == Code::NeverFires).map(|d| d.message).collect();
        let statics = statics_for(&model, &picks);
        let layout = Layout::of(&model.manifest);
        for raw in &contexts {
            let ctx = build_context(&layout, raw);
            for (i, f) in model.flags.iter().enumerate() {
                let e = interp::explain(&model, &statics, i, &ctx).unwrap();
                if let Some(r) = e.rule {
                    let label = f.rules.iter().find(|x| x.index == r).unwrap().label();
                    let msg = format!("{label} of flag `{}`", f.key);
                    prop_assert!(!dead.iter().any(|m| m.starts_with(&msg)), "{} decided but lint says it never fires", msg);
                }
            }
        }
    }
}
