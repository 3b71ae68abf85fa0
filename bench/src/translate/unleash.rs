//! Unleash: a `ClientFeatures` document (what the Unleash API serves to server SDKs), as
//! `unleash-yggdrasil` loads it.
//!
//! * A bool flag is a toggle: each rule that turns it on is a strategy (the `default`
//!   strategy with the rule's constraints; a rollout is a `flexibleRollout` with its
//!   percentage, `userId` stickiness and the flag key as group id). Strategies are ORed, so
//!   a bool flag must default to `false` and its rules may only turn it on; a flag whose
//!   default is `true` is an enabled toggle with no rules.
//! * An enum flag is an enabled toggle whose strategies carry variants: a rule with a value
//!   has one variant of weight 1000, a rollout has the split in Unleash's units of 0.1 %.
//!   When no strategy matches, the toggle is off and the application uses the flag's
//!   default.
//! * `not_in` is not translated: Unleash's `NOT_IN` holds when the property is absent,
//!   flagc's never does.

use serde_json::{Value as Json, json};

use super::{AttrCond, Untranslatable, check_rollout, conditions, lit_string, value_name};
use flagc::model::{AttrType, CmpOp, Flag, FlagType, FlagValue, Model, Op, Outcome, StrOp};

const ENGINE: &str = "unleash";

/// The `ClientFeatures` document for every flag of `model`.
pub fn document(model: &Model) -> Result<Json, Vec<Untranslatable>> {
    let mut features = Vec::new();
    let mut errors = Vec::new();
    for flag in &model.flags {
        match feature(model, flag) {
            Ok(f) => features.push(f),
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
    Ok(json!({ "version": 2, "features": features, "segments": [] }))
}

fn feature(model: &Model, flag: &Flag) -> Result<Json, String> {
    let mut strategies = Vec::new();
    let enabled = match &flag.ty {
        FlagType::Bool => {
            if flag.default == FlagValue::Bool(true) {
                if !flag.rules.is_empty() {
                    return Err(
                        "a bool flag that defaults to `true` and has rules: Unleash \
                                strategies can only turn a toggle on"
                            .into(),
                    );
                }
                strategies.push(json!({ "name": "default", "constraints": [] }));
            }
            for rule in &flag.rules {
                let constraints = constraints(model, &rule.when)?;
                strategies.push(match &rule.outcome {
                    Outcome::Value(FlagValue::Bool(true)) => {
                        json!({ "name": "default", "constraints": constraints })
                    }
                    Outcome::Value(_) => {
                        return Err("a rule whose value is `false`: Unleash strategies can \
                                    only turn a toggle on"
                            .into());
                    }
                    Outcome::Rollout(r) => {
                        check_rollout(model, flag, r.by)?;
                        if r.weights[0] % 1000 != 0 {
                            return Err("a rollout percentage that is not a whole number".into());
                        }
                        json!({
                            "name": "flexibleRollout",
                            "constraints": constraints,
                            "parameters": {
                                "rollout": (r.weights[0] / 1000).to_string(),
                                "stickiness": "userId",
                                "groupId": flag.key,
                            },
                        })
                    }
                });
            }
            !strategies.is_empty()
        }
        FlagType::Enum(names) => {
            for rule in &flag.rules {
                let constraints = constraints(model, &rule.when)?;
                let variants = match &rule.outcome {
                    Outcome::Value(v) => {
                        vec![
                            json!({ "name": value_name(flag, v)?, "weight": 1000, "stickiness": "userId" }),
                        ]
                    }
                    Outcome::Rollout(r) => {
                        check_rollout(model, flag, r.by)?;
                        let mut vs = Vec::new();
                        for (name, &w) in names.iter().zip(&r.weights) {
                            if w % 100 != 0 {
                                return Err("a share finer than Unleash's 0.1 %".into());
                            }
                            if w > 0 {
                                vs.push(json!({ "name": name, "weight": w / 100, "stickiness": "userId" }));
                            }
                        }
                        vs
                    }
                };
                strategies.push(json!({
                    "name": "default",
                    "constraints": constraints,
                    "parameters": { "groupId": flag.key },
                    "variants": variants,
                }));
            }
            true
        }
        t => return Err(format!("a {} flag (only bool and enum flags)", t.name())),
    };
    Ok(json!({
        "name": flag.key,
        "type": "release",
        "enabled": enabled,
        "project": "default",
        "strategies": strategies,
        "impressionData": false,
    }))
}

fn constraints(model: &Model, when: &[flagc::model::Condition]) -> Result<Vec<Json>, String> {
    conditions(model, when)?
        .into_iter()
        .map(constraint)
        .collect()
}

fn constraint(c: AttrCond<'_>) -> Result<Json, String> {
    let name = if c.identity { "userId" } else { c.name };
    if matches!(c.ty, AttrType::StringList) {
        return Err(format!(
            "`{}`: Unleash context properties are strings",
            c.name
        ));
    }
    let many = |operator: &str, values: Vec<String>| {
        json!({ "contextName": name, "operator": operator, "values": values,
                "caseInsensitive": false, "inverted": false })
    };
    let one = |operator: &str, value: String| {
        json!({ "contextName": name, "operator": operator, "value": value,
                "caseInsensitive": false, "inverted": false })
    };
    Ok(match c.op {
        Op::In(lits) => many("IN", lits.iter().map(|l| lit_string(c.ty, l)).collect()),
        Op::NotIn(_) => {
            return Err(format!(
                "`{} = {{ not_in = … }}`: Unleash's NOT_IN holds when the property is absent",
                c.name
            ));
        }
        Op::Cmp(op, lit) => {
            let prefix = match c.ty {
                AttrType::Semver => "SEMVER",
                AttrType::Int | AttrType::Float => "NUM",
                _ => {
                    return Err(format!(
                        "`{}`: an ordered comparison on a {}",
                        c.name,
                        c.ty.name()
                    ));
                }
            };
            let suffix = match op {
                CmpOp::Lt => "LT",
                CmpOp::Lte => "LTE",
                CmpOp::Gt => "GT",
                CmpOp::Gte => "GTE",
            };
            one(&format!("{prefix}_{suffix}"), lit_string(c.ty, lit))
        }
        Op::Str(op, needles) => match (op, needles.as_slice()) {
            (StrOp::StartsWith, _) => many("STR_STARTS_WITH", needles.clone()),
            (StrOp::EndsWith, _) => many("STR_ENDS_WITH", needles.clone()),
            (StrOp::Contains, _) => many("STR_CONTAINS", needles.clone()),
            (StrOp::Matches, [p]) => one("REGEX", p.clone()),
            (StrOp::Matches, _) => {
                return Err(format!("`{}`: several regexes in one condition", c.name));
            }
        },
    })
}
