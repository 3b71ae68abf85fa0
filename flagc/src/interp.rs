//! The reference evaluator: the model, uncompiled, read the way DESIGN §1 is written.
//!
//! It walks a flag's rules in order against the static values and a dynamic [`Context`],
//! and records for each rule tried whether it matched and, if not, which condition failed
//! and why. `flagc eval --explain` prints that; the property tests use it as the oracle the
//! compiled [`Program`](crate::ir::Program) must agree with, so it shares no evaluation code
//! with the compiler: clarity beats speed here.

use std::fmt;

use crate::bucket;
use crate::compile::Statics;
use crate::eval::{Context, Slot};
use crate::model::{
    AttrRef, AttrType, Condition, Flag, FlagValue, Lit, Loc, Model, Op, Outcome, StrOp,
};

/// Why a flag has its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The value.
    pub value: FlagValue,
    /// The source index of the rule that decided; `None` for the default.
    pub rule: Option<usize>,
    /// Each rule tried, in order, up to the one that decided.
    pub trace: Vec<RuleTrace>,
}

/// One rule tried.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleTrace {
    /// Position in the flag's rules as written (0-based).
    pub index: usize,
    /// `rule "id"` or `rule #n`.
    pub label: String,
    /// The whole rule in the source.
    pub loc: Loc,
    /// What happened.
    pub verdict: Verdict,
}

/// What happened to one rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Its conditions held and it has a fixed value.
    Matched,
    /// Its conditions held and the rollout put the context in a bucket.
    Bucketed {
        /// The bucket, in `0..100_000`.
        bucket: u32,
        /// Index of the chosen variant (in rollout order).
        variant: usize,
    },
    /// A condition failed.
    Failed {
        /// Where the failing condition is written.
        condition: Loc,
        /// Why it failed.
        reason: Reason,
    },
    /// Its conditions held, but the rollout's bucketing attribute is unset (or unknown to the
    /// running binary), so evaluation went on.
    BucketingUnset {
        /// The bucketing attribute.
        attr: String,
    },
}

/// Why a condition failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// A static attribute has another value.
    Static {
        /// The attribute.
        attr: String,
        /// Its value.
        value: String,
    },
    /// The context leaves the attribute unset.
    Unset {
        /// The attribute.
        attr: String,
    },
    /// The running binary's layout lacks the attribute or has it with another type.
    UnknownAttribute {
        /// The attribute.
        attr: String,
    },
    /// An operator does not hold for the attribute's value.
    Operator {
        /// The attribute.
        attr: String,
        /// The operator (`in`, `not_in`, `lt`, `starts_with`, …).
        op: &'static str,
    },
    /// None of the segments matched; why each failed.
    Segments(Vec<(String, Reason)>),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Static { attr, value } => write!(f, "static `{attr}` is {value:?}"),
            Reason::Unset { attr } => write!(f, "`{attr}` is unset"),
            Reason::UnknownAttribute { attr } => {
                write!(f, "`{attr}` is not an attribute of this binary's context")
            }
            Reason::Operator { attr, op } => write!(f, "`{attr}` does not satisfy `{op}`"),
            Reason::Segments(failures) => {
                f.write_str("no segment matched")?;
                for (i, (name, why)) in failures.iter().enumerate() {
                    write!(f, "{} `{name}`: {why}", if i == 0 { ":" } else { ";" })?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Matched => f.write_str("matched"),
            Verdict::Bucketed { bucket, variant } => {
                write!(
                    f,
                    "matched: bucket {bucket} of 100000, variant #{}",
                    variant + 1
                )
            }
            Verdict::Failed { reason, .. } => write!(f, "skipped: {reason}"),
            Verdict::BucketingUnset { attr } => {
                write!(f, "skipped: bucketing attribute `{attr}` is unset")
            }
        }
    }
}

/// Evaluates flag number `flag` of `model` and explains the result. `None` when the model
/// has no such flag.
pub fn explain(
    model: &Model,
    statics: &Statics,
    flag: usize,
    ctx: &Context<'_>,
) -> Option<Explanation> {
    let f = model.flags.get(flag)?;
    let interp = Interp {
        model,
        statics,
        ctx,
    };
    let mut trace = Vec::new();
    for rule in &f.rules {
        let mut record = |verdict| {
            trace.push(RuleTrace {
                index: rule.index,
                label: rule.label(),
                loc: rule.loc.clone(),
                verdict,
            });
        };
        if let Err((condition, reason)) = interp.all(&rule.when) {
            record(Verdict::Failed { condition, reason });
            continue;
        }
        match &rule.outcome {
            Outcome::Value(v) => {
                record(Verdict::Matched);
                return Some(Explanation {
                    value: v.clone(),
                    rule: Some(rule.index),
                    trace,
                });
            }
            Outcome::Rollout(r) => match interp.bucketing_value(r.by) {
                Some(value) => {
                    let b = interp.bucket(f, &value);
                    let variant = bucket::pick(&r.weights, b);
                    record(Verdict::Bucketed { bucket: b, variant });
                    return Some(Explanation {
                        value: f.ty.rollout_value(variant),
                        rule: Some(rule.index),
                        trace,
                    });
                }
                None => {
                    let attr = model
                        .manifest
                        .context
                        .get(r.by)
                        .map_or_else(String::new, |a| a.name.clone());
                    record(Verdict::BucketingUnset { attr });
                }
            },
        }
    }
    Some(Explanation {
        value: f.default.clone(),
        rule: None,
        trace,
    })
}

struct Interp<'a> {
    model: &'a Model,
    statics: &'a Statics,
    ctx: &'a Context<'a>,
}

impl Interp<'_> {
    /// All conditions hold, or the first that fails with its location and reason.
    fn all(&self, conds: &[Condition]) -> Result<(), (Loc, Reason)> {
        for c in conds {
            self.condition(c)
                .map_err(|reason| (c.loc().clone(), reason))?;
        }
        Ok(())
    }

    fn condition(&self, c: &Condition) -> Result<(), Reason> {
        let manifest = &self.model.manifest;
        match c {
            Condition::Segment { segments, .. } => {
                let mut failures = Vec::new();
                for &s in segments {
                    let Some(seg) = manifest.segments.get(s) else {
                        continue;
                    };
                    match self.all(&seg.when) {
                        Ok(()) => return Ok(()),
                        Err((_, why)) => failures.push((seg.name.clone(), why)),
                    }
                }
                Err(Reason::Segments(failures))
            }
            Condition::Attr {
                attr: AttrRef::Static(i),
                ops,
                ..
            } => {
                let s = &manifest.statics[*i];
                let v = self.statics.get(*i).unwrap_or(u32::MAX);
                let name = s.values.get(v as usize).cloned().unwrap_or_default();
                let holds = ops.iter().all(|op| match op {
                    Op::In(lits) => lits.contains(&Lit::Enum(v)),
                    Op::NotIn(lits) => !lits.contains(&Lit::Enum(v)),
                    Op::Cmp(..) => false,
                    Op::Str(sop, needles) => string_test(*sop, needles, &name),
                });
                if holds {
                    Ok(())
                } else {
                    Err(Reason::Static {
                        attr: s.name.clone(),
                        value: name,
                    })
                }
            }
            Condition::Attr {
                attr: AttrRef::Context(i),
                ops,
                ..
            } => {
                let attr = &manifest.context[*i];
                let name = || attr.name.clone();
                // The binary's context may not know the attribute, or know it as another type.
                let layout = self.ctx.layout();
                let Some(field) = layout.index(&attr.name) else {
                    return Err(Reason::UnknownAttribute { attr: name() });
                };
                let layout_ty = &layout.attrs()[field].ty;
                if !same_kind(layout_ty, &attr.ty) {
                    return Err(Reason::UnknownAttribute { attr: name() });
                }
                let slot = self.ctx.slot(field).unwrap_or(&Slot::Unset);
                if *slot == Slot::Unset {
                    return Err(Reason::Unset { attr: name() });
                }
                for op in ops {
                    if !op_holds(op, slot, &attr.ty, layout_ty) {
                        return Err(Reason::Operator {
                            attr: name(),
                            op: op_name(op),
                        });
                    }
                }
                Ok(())
            }
        }
    }

    /// The bucketing attribute's string form, if it is set (and known to the binary as a
    /// string, int or enum).
    fn bucketing_value(&self, by: usize) -> Option<String> {
        let attr = self.model.manifest.context.get(by)?;
        let layout = self.ctx.layout();
        let field = layout.index(&attr.name)?;
        let layout_ty = &layout.attrs()[field].ty;
        if !same_kind(layout_ty, &attr.ty) {
            return None;
        }
        match (self.ctx.slot(field)?, layout_ty) {
            (Slot::Str(s), AttrType::String) => Some(s.clone()),
            (Slot::Int(i), AttrType::Int) => Some(i.to_string()),
            // The value's name in the binary's layout: the index means nothing across layouts.
            (Slot::Enum(i), AttrType::Enum(names)) => names.get(*i as usize).cloned(),
            _ => None,
        }
    }

    fn bucket(&self, flag: &Flag, value: &str) -> u32 {
        // Concatenated here on purpose: the compiled path hashes the two parts in place, and
        // the property tests compare the two.
        let input = format!("{}{}", flag.salt, value);
        bucket::bucket(input.as_bytes(), b"")
    }
}

/// Whether two attribute types are the same kind (enums match whatever their values).
fn same_kind(a: &AttrType, b: &AttrType) -> bool {
    match (a, b) {
        (AttrType::Enum(_), AttrType::Enum(_)) => true,
        _ => a == b,
    }
}

fn op_name(op: &Op) -> &'static str {
    match op {
        Op::In(_) => "in",
        Op::NotIn(_) => "not_in",
        Op::Cmp(c, _) => c.name(),
        Op::Str(s, _) => s.name(),
    }
}

/// One operator on a set value. `model_ty` names the enum values the literals index;
/// `layout_ty` those the context's index refers to.
fn op_holds(op: &Op, slot: &Slot, model_ty: &AttrType, layout_ty: &AttrType) -> bool {
    match slot {
        Slot::Unset => false,
        // string[]: each operator asks about the elements on its own.
        Slot::List(items) => match op {
            Op::In(lits) => items.iter().any(|s| lits.contains(&Lit::Str(s.clone()))),
            Op::NotIn(lits) => !items.iter().any(|s| lits.contains(&Lit::Str(s.clone()))),
            Op::Str(sop, needles) => items.iter().any(|s| string_test(*sop, needles, s)),
            Op::Cmp(..) => false,
        },
        Slot::Str(s) => match op {
            Op::In(lits) => lits.contains(&Lit::Str(s.clone())),
            Op::NotIn(lits) => !lits.contains(&Lit::Str(s.clone())),
            Op::Str(sop, needles) => string_test(*sop, needles, s),
            Op::Cmp(..) => false,
        },
        Slot::Enum(i) => {
            let AttrType::Enum(names) = layout_ty else {
                return false;
            };
            let name = names.get(*i as usize);
            let equal = |lit: &Lit| match (lit, model_ty) {
                (Lit::Enum(l), AttrType::Enum(model_names)) => {
                    name.is_some() && model_names.get(*l as usize) == name
                }
                _ => false,
            };
            match op {
                Op::In(lits) => lits.iter().any(equal),
                Op::NotIn(lits) => !lits.iter().any(equal),
                Op::Str(sop, needles) => name.is_some_and(|n| string_test(*sop, needles, n)),
                Op::Cmp(..) => false,
            }
        }
        Slot::Int(x) => ordered(op, |lit| match lit {
            Lit::Int(l) => Some(x.cmp(l)),
            _ => None,
        }),
        Slot::Float(x) => ordered(op, |lit| match lit {
            Lit::Float(l) => x.partial_cmp(l),
            _ => None,
        }),
        Slot::Semver(v) => ordered(op, |lit| match lit {
            Lit::Semver(l) => Some(v.cmp_precedence(l)),
            _ => None,
        }),
        Slot::Datetime(t) => ordered(op, |lit| match lit {
            Lit::Datetime(l) => Some(t.cmp(l)),
            _ => None,
        }),
        // Bools are not ordered: only membership applies.
        Slot::Bool(b) => match op {
            Op::In(lits) => lits.contains(&Lit::Bool(*b)),
            Op::NotIn(lits) => !lits.contains(&Lit::Bool(*b)),
            Op::Cmp(..) | Op::Str(..) => false,
        },
    }
}

/// Membership and comparison through `cmp` (the value against a literal; `None` when
/// incomparable, e.g. NaN or a literal of another type).
fn ordered(op: &Op, cmp: impl Fn(&Lit) -> Option<std::cmp::Ordering>) -> bool {
    let equal = |l: &Lit| cmp(l).is_some_and(|o| o.is_eq());
    match op {
        Op::In(lits) => lits.iter().any(equal),
        Op::NotIn(lits) => !lits.iter().any(equal),
        Op::Cmp(c, lit) => cmp(lit).is_some_and(|o| c.holds(o)),
        Op::Str(..) => false,
    }
}

/// A string test: any of the needles passes (for `matches`, each is a regex on its own).
fn string_test(op: StrOp, needles: &[String], s: &str) -> bool {
    needles.iter().any(|n| match op {
        StrOp::StartsWith => s.starts_with(n.as_str()),
        StrOp::EndsWith => s.ends_with(n.as_str()),
        StrOp::Contains => s.contains(n.as_str()),
        StrOp::Matches => regex::Regex::new(n).is_ok_and(|re| re.is_match(s)),
    })
}
