//! LaunchDarkly: the flag data a server SDK receives (`{"flags": {…}, "segments": {}}`), as
//! `launchdarkly-server-sdk-evaluation` deserializes it.
//!
//! Each flag is on, with its values as variations, the default as the fallthrough (and the
//! off variation), and one targeting rule per flagc rule: one clause per operator on a
//! `user` context, a rollout as weighted variations in LaunchDarkly's units of 0.001 % (the
//! same as flagc's), bucketed by the context key with the flag key as salt.
//!
//! LaunchDarkly never matches a clause on an absent attribute, negated or not, as flagc,
//! so `not_in` is a negated `in`.

use serde_json::{Value as Json, json};

use super::{AttrCond, Untranslatable, check_rollout, conditions, lit_json};
use flagc::model::{AttrType, CmpOp, Flag, FlagType, FlagValue, Model, Op, Outcome, StrOp};

const ENGINE: &str = "launchdarkly";

/// The flag data for every flag of `model`.
pub fn document(model: &Model) -> Result<Json, Vec<Untranslatable>> {
    let mut flags = serde_json::Map::new();
    let mut errors = Vec::new();
    for flag in &model.flags {
        match ld_flag(model, flag) {
            Ok(f) => {
                flags.insert(flag.key.clone(), f);
            }
            Err(reason) => errors.push(Untranslatable {
                engine: ENGINE,
                flag: flag.key.clone(),
                reason,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(json!({ "flags": flags, "segments": {} }))
}

/// The variations of a flag, in the order its rollout weights are listed.
fn variations(flag: &Flag) -> Result<Vec<Json>, String> {
    match &flag.ty {
        FlagType::Bool => Ok(vec![true.into(), false.into()]),
        FlagType::Enum(names) => Ok(names.iter().map(|n| Json::from(n.as_str())).collect()),
        t => Err(format!("a {} flag (only bool and enum flags)", t.name())),
    }
}

fn index(flag: &Flag, v: &FlagValue) -> Result<usize, String> {
    match v {
        FlagValue::Bool(b) => Ok(usize::from(!b)),
        FlagValue::Enum(i) => Ok(*i as usize),
        _ => Err(format!(
            "a {} flag (only bool and enum flags)",
            flag.ty.name()
        )),
    }
}

fn ld_flag(model: &Model, flag: &Flag) -> Result<Json, String> {
    let variations = variations(flag)?;
    let default = index(flag, &flag.default)?;
    let mut rules = Vec::new();
    for rule in &flag.rules {
        let clauses = conditions(model, &rule.when)?
            .into_iter()
            .map(clause)
            .collect::<Result<Vec<_>, _>>()?;
        let mut r = json!({
            "id": format!("rule-{}", rule.index),
            "clauses": clauses,
            "trackEvents": false,
        });
        match &rule.outcome {
            Outcome::Value(v) => r["variation"] = index(flag, v)?.into(),
            Outcome::Rollout(ro) => {
                check_rollout(model, flag, ro.by)?;
                let weighted: Vec<Json> = ro
                    .weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| json!({ "variation": i, "weight": w }))
                    .collect();
                r["rollout"] = json!({ "contextKind": "user", "variations": weighted });
            }
        }
        rules.push(r);
    }
    Ok(json!({
        "key": flag.key,
        "version": 1,
        "on": true,
        "targets": [],
        "contextTargets": [],
        "rules": rules,
        "prerequisites": [],
        "fallthrough": { "variation": default },
        "offVariation": default,
        "variations": variations,
        "clientSideAvailability": { "usingEnvironmentId": false, "usingMobileKey": false },
        "salt": flag.salt,
        "trackEvents": false,
        "trackEventsFallthrough": false,
    }))
}

fn clause(c: AttrCond<'_>) -> Result<Json, String> {
    let attribute = if c.identity { "key" } else { c.name };
    let make = |op: &str, values: Vec<Json>, negate: bool| {
        json!({ "contextKind": "user", "attribute": attribute, "op": op,
                "values": values, "negate": negate })
    };
    let lits = |lits: &[flagc::model::Lit]| lits.iter().map(|l| lit_json(c.ty, l)).collect();
    Ok(match c.op {
        Op::In(l) => make("in", lits(l), false),
        Op::NotIn(l) => make("in", lits(l), true),
        Op::Cmp(op, lit) => {
            let name = match (c.ty, op) {
                (AttrType::Semver, CmpOp::Lt) => "semVerLessThan",
                (AttrType::Semver, CmpOp::Gt) => "semVerGreaterThan",
                (AttrType::Int | AttrType::Float, CmpOp::Lt) => "lessThan",
                (AttrType::Int | AttrType::Float, CmpOp::Lte) => "lessThanOrEqual",
                (AttrType::Int | AttrType::Float, CmpOp::Gt) => "greaterThan",
                (AttrType::Int | AttrType::Float, CmpOp::Gte) => "greaterThanOrEqual",
                (AttrType::Datetime, CmpOp::Lt) => "before",
                (AttrType::Datetime, CmpOp::Gt) => "after",
                _ => {
                    return Err(format!(
                        "`{} = {{ {} = … }}` on a {}: no single LaunchDarkly operator",
                        c.name,
                        op.name(),
                        c.ty.name()
                    ));
                }
            };
            make(name, vec![lit_json(c.ty, lit)], false)
        }
        Op::Str(op, needles) => {
            let name = match op {
                StrOp::StartsWith => "startsWith",
                StrOp::EndsWith => "endsWith",
                StrOp::Contains => "contains",
                StrOp::Matches => "matches",
            };
            make(
                name,
                needles.iter().map(|n| Json::from(n.as_str())).collect(),
                false,
            )
        }
    })
}
