//! flagd: a flag-definition document, as `flagd-evaluation-engine` parses it, with plain
//! JSONLogic as a flagd user writes it (`in`, `starts_with`, `sem_ver`, `fractional` on the
//! targeting key).
//!
//! This is deliberately not `flagc export --format flagd`: that export guards every test
//! with presence checks and buckets with `cat(salt, attribute)`, so that it agrees with flagc
//! on every context. Here each flag gets the shortest targeting that agrees on the contexts
//! the bench uses, which is what a flagd user would write, and operators whose JSONLogic
//! would match an absent attribute (`not_in`, numeric comparisons) are not translated.
//!
//! The rules become one `if` chain ending in the default variant; a flag whose only rule is
//! an unconditional rollout has the `fractional` as its whole targeting.

use serde_json::{Value as Json, json};

use super::{AttrCond, Untranslatable, check_rollout, conditions, lit_json, value_name};
use flagc::model::{AttrType, CmpOp, Flag, FlagType, Model, Op, Outcome, StrOp};

const ENGINE: &str = "flagd";

/// The flag-definition document for every flag of `model`.
pub fn document(model: &Model) -> Result<Json, Vec<Untranslatable>> {
    let mut flags = serde_json::Map::new();
    let mut errors = Vec::new();
    for flag in &model.flags {
        match flagd_flag(model, flag) {
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
    Ok(json!({ "$schema": flagc::flagd::FLAGD_SCHEMA, "flags": flags }))
}

fn flagd_flag(model: &Model, flag: &Flag) -> Result<Json, String> {
    let variants: serde_json::Map<String, Json> = match &flag.ty {
        FlagType::Bool => [("true".into(), true.into()), ("false".into(), false.into())]
            .into_iter()
            .collect(),
        FlagType::Enum(names) => names
            .iter()
            .map(|n| (n.clone(), Json::from(n.as_str())))
            .collect(),
        t => return Err(format!("a {} flag (only bool and enum flags)", t.name())),
    };
    let default = value_name(flag, &flag.default)?;
    let mut chain = Vec::new();
    let mut last = default.clone();
    for (n, rule) in flag.rules.iter().enumerate() {
        let conds = conditions(model, &rule.when)?
            .into_iter()
            .map(condition)
            .collect::<Result<Vec<_>, _>>()?;
        let result = match &rule.outcome {
            Outcome::Value(v) => Json::from(value_name(flag, v)?),
            Outcome::Rollout(r) => {
                check_rollout(model, flag, r.by)?;
                if n + 1 != flag.rules.len() {
                    return Err(
                        "a rollout followed by other rules: `fractional` does not fall \
                                through when the targeting key is absent"
                            .into(),
                    );
                }
                let names = flag.ty.rollout_keys().unwrap_or_default();
                let buckets: Vec<Json> = names
                    .iter()
                    .zip(&r.weights)
                    .filter(|(_, w)| **w > 0)
                    .map(|(name, w)| json!([name, w]))
                    .collect();
                json!({ "fractional": buckets })
            }
        };
        match conds.len() {
            // An unconditional rule decides for everyone: it is the end of the chain.
            0 => {
                if chain.is_empty() {
                    let mut out = json!({ "state": "ENABLED", "variants": variants, "defaultVariant": default });
                    if let Json::String(s) = &result {
                        out["defaultVariant"] = s.as_str().into();
                    } else {
                        out["targeting"] = result;
                    }
                    return Ok(out);
                }
                chain.push(result);
                last.clear();
                break;
            }
            1 => chain.extend([conds.into_iter().next().unwrap_or_default(), result]),
            _ => chain.extend([json!({ "and": conds }), result]),
        }
    }
    let mut out = json!({ "state": "ENABLED", "variants": variants, "defaultVariant": default });
    if !chain.is_empty() {
        if !last.is_empty() {
            chain.push(last.into());
        }
        out["targeting"] = json!({ "if": chain });
    }
    Ok(out)
}

fn condition(c: AttrCond<'_>) -> Result<Json, String> {
    let var = json!({ "var": if c.identity { "targetingKey" } else { c.name } });
    if matches!(c.ty, AttrType::StringList | AttrType::Datetime) {
        return Err(format!("`{}`: a {} attribute", c.name, c.ty.name()));
    }
    Ok(match c.op {
        Op::In(lits) => match lits.as_slice() {
            [one] => json!({ "==": [var, lit_json(c.ty, one)] }),
            _ => {
                let values: Vec<Json> = lits.iter().map(|l| lit_json(c.ty, l)).collect();
                json!({ "in": [var, values] })
            }
        },
        Op::Cmp(op, lit) if matches!(c.ty, AttrType::Semver) => {
            let symbol = match op {
                CmpOp::Lt => "<",
                CmpOp::Lte => "<=",
                CmpOp::Gt => ">",
                CmpOp::Gte => ">=",
            };
            json!({ "sem_ver": [var, symbol, lit_json(c.ty, lit)] })
        }
        Op::Str(op @ (StrOp::StartsWith | StrOp::EndsWith), needles) => {
            let name = if *op == StrOp::StartsWith {
                "starts_with"
            } else {
                "ends_with"
            };
            let tests: Vec<Json> = needles
                .iter()
                .map(|n| json!({ name: [var.clone(), n] }))
                .collect();
            match tests.len() {
                1 => tests.into_iter().next().unwrap_or_default(),
                _ => json!({ "or": tests }),
            }
        }
        op => {
            return Err(format!(
                "`{}`: `{}` is not translated (plain JSONLogic would match an absent attribute, \
                 or has no such operator)",
                c.name,
                match op {
                    Op::NotIn(_) => "not_in",
                    Op::Cmp(o, _) => o.name(),
                    Op::Str(o, _) => o.name(),
                    Op::In(_) => "in",
                }
            ));
        }
    })
}
