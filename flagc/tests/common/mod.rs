//! Builders for hand-made models, and the check that the compiled program and the
//! interpreter agree, shared by the evaluation tests.
#![allow(dead_code, clippy::unwrap_used)]

use flagc::compile::{Statics, compile};
use flagc::eval::Context;
use flagc::interp;
use flagc::ir::Layout;
use flagc::model::{
    AttrRef, AttrType, Condition, ContextAttr, Flag, FlagType, FlagValue, Loc, Manifest, Model, Op,
    Outcome, Rollout, Rule, Segment, StaticAttr,
};

/// A location that names what it stands for, so explanations can be checked.
pub fn loc(what: &str) -> Loc {
    Loc {
        file: format!("{what}.toml"),
        span: 0..what.len(),
    }
}

/// A manifest from `(name, values)` statics and `(name, type)` context attributes.
pub fn manifest(statics: &[(&str, &[&str])], context: &[(&str, AttrType)]) -> Manifest {
    Manifest {
        format: 1,
        statics: statics
            .iter()
            .map(|(n, v)| StaticAttr {
                name: (*n).into(),
                values: v.iter().map(|s| (*s).into()).collect(),
                loc: loc(n),
            })
            .collect(),
        context: context
            .iter()
            .map(|(n, t)| ContextAttr {
                name: (*n).into(),
                ty: t.clone(),
                loc: loc(n),
            })
            .collect(),
        rollout_by: None,
        segments: Vec::new(),
        deprecate_expired: true,
    }
}

/// An enum type from value names.
pub fn enum_ty(values: &[&str]) -> AttrType {
    AttrType::Enum(values.iter().map(|s| (*s).into()).collect())
}

/// An attribute reference by name (statics first).
pub fn attr(m: &Manifest, name: &str) -> AttrRef {
    if let Some(i) = m.static_index(name) {
        AttrRef::Static(i)
    } else {
        AttrRef::Context(
            m.context_index(name)
                .unwrap_or_else(|| panic!("no attribute {name}")),
        )
    }
}

/// A condition on an attribute, located at `cond:<name>`.
pub fn cond(m: &Manifest, name: &str, ops: Vec<Op>) -> Condition {
    Condition::Attr {
        attr: attr(m, name),
        ops,
        loc: loc(&format!("cond:{name}")),
    }
}

/// A condition on segments by name.
pub fn seg(m: &Manifest, names: &[&str]) -> Condition {
    Condition::Segment {
        segments: names.iter().map(|n| m.segment_index(n).unwrap()).collect(),
        loc: loc(&format!("seg:{}", names.join(","))),
    }
}

/// Adds a segment.
pub fn add_segment(m: &mut Manifest, name: &str, when: Vec<Condition>) {
    m.segments.push(Segment {
        name: name.into(),
        when,
        loc: loc(name),
    });
}

/// A value rule.
pub fn rule(when: Vec<Condition>, v: FlagValue) -> Rule {
    Rule {
        index: 0,
        id: None,
        when,
        outcome: Outcome::Value(v),
        loc: loc("rule"),
    }
}

/// A rollout rule.
pub fn rollout(when: Vec<Condition>, by: usize, weights: &[u32]) -> Rule {
    Rule {
        index: 0,
        id: None,
        when,
        outcome: Outcome::Rollout(Rollout {
            by,
            weights: weights.to_vec(),
        }),
        loc: loc("rule"),
    }
}

/// A flag; rules are numbered as written.
pub fn flag(key: &str, ty: FlagType, default: FlagValue, mut rules: Vec<Rule>) -> Flag {
    for (i, r) in rules.iter_mut().enumerate() {
        r.index = i;
    }
    Flag {
        key: key.into(),
        description: "test".into(),
        owner: "test".into(),
        expires: None,
        permanent: true,
        ty,
        default,
        salt: key.into(),
        rules,
        loc: loc(key),
    }
}

/// A model; flags are sorted by key as the checker does.
pub fn model(manifest: Manifest, mut flags: Vec<Flag>) -> Model {
    flags.sort_by(|a, b| a.key.cmp(&b.key));
    Model { manifest, flags }
}

/// Evaluates `key` both ways and asserts they agree; returns the value and deciding rule.
pub fn eval_both(
    model: &Model,
    statics: &Statics,
    layout: &Layout,
    ctx: &Context<'_>,
    key: &str,
) -> (FlagValue, Option<usize>) {
    let program = compile(model, statics, layout);
    let i = model.flag_index(key).unwrap();
    let compiled = program.eval(i, ctx);
    let explained = interp::explain(model, statics, i, ctx).unwrap();
    assert_eq!(
        (compiled.value.to_flag_value(), compiled.rule),
        (explained.value.clone(), explained.rule),
        "compiled and interpreted disagree on {key}: {explained:#?}"
    );
    (explained.value, explained.rule)
}

/// Parses `k=v` pairs into a context with the text setters.
pub fn ctx<'l>(layout: &'l Layout, pairs: &[(&str, &str)]) -> Context<'l> {
    let mut c = Context::new(layout);
    for (k, v) in pairs {
        c.set_text(k, v).unwrap();
    }
    c
}
