//! flagc's checked model in each peer engine's own format, written the way a user of that
//! engine would write the same flags by hand (its idiomatic operators, its identity
//! attribute for rollouts), so that each peer runs the configuration it is built for.
//!
//! A flag that an engine cannot express with flagc's exact meaning is an [`Untranslatable`]
//! error naming the flag and why, never an approximation; the agreement check then proves
//! that the translations mean the same thing on the contexts the bench uses.
//!
//! Conventions shared by the three translators:
//!
//! * the manifest's `[rollout] by` attribute (`user_id`) is the engine's identity: Unleash's
//!   `userId`, LaunchDarkly's context `key`, flagd's `targetingKey`; rollouts must bucket by
//!   it and salt by the flag key (each engine's own hash then does the bucketing);
//! * every other attribute keeps its manifest name (Unleash context properties, LaunchDarkly
//!   custom attributes, flagd context fields), enum values and semvers as strings;
//! * conditions on static attributes and segments are not translated (the bench's flags
//!   have none); they are errors.

pub mod flagd;
pub mod launchdarkly;
pub mod unleash;

use std::fmt;

use flagc::model::{AttrRef, AttrType, Condition, Flag, Lit, Model, Op};

/// A flag an engine cannot express exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranslatable {
    /// The engine.
    pub engine: &'static str,
    /// The flag's key.
    pub flag: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for Untranslatable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: flag `{}`: {}", self.engine, self.flag, self.reason)
    }
}

impl std::error::Error for Untranslatable {}

/// One condition on a context attribute, resolved for the translators.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttrCond<'m> {
    /// The attribute's manifest name.
    pub name: &'m str,
    /// Its type.
    pub ty: &'m AttrType,
    /// Whether it is the identity (`[rollout] by`) attribute.
    pub identity: bool,
    /// The operator.
    pub op: &'m Op,
}

/// A rule's conditions, one entry per operator (all must hold).
pub(crate) fn conditions<'m>(
    model: &'m Model,
    when: &'m [Condition],
) -> Result<Vec<AttrCond<'m>>, String> {
    let mut out = Vec::new();
    for c in when {
        match c {
            Condition::Attr {
                attr: AttrRef::Context(i),
                ops,
                ..
            } => {
                let a = &model.manifest.context[*i];
                for op in ops {
                    out.push(AttrCond {
                        name: &a.name,
                        ty: &a.ty,
                        identity: model.manifest.rollout_by == Some(*i),
                        op,
                    });
                }
            }
            Condition::Attr {
                attr: AttrRef::Static(i),
                ..
            } => {
                return Err(format!(
                    "a condition on the static attribute `{}`",
                    model.manifest.statics[*i].name
                ));
            }
            Condition::Segment { .. } => return Err("a segment condition".into()),
        }
    }
    Ok(out)
}

/// A rollout must bucket by the identity attribute and salt by the flag key, which is what
/// every engine's native rollout does.
pub(crate) fn check_rollout(model: &Model, flag: &Flag, by: usize) -> Result<(), String> {
    if model.manifest.rollout_by != Some(by) {
        return Err(format!(
            "a rollout by `{}`, not by the identity attribute",
            model.manifest.context[by].name
        ));
    }
    if flag.salt != flag.key {
        return Err("a rollout with a salt other than the flag key".into());
    }
    Ok(())
}

/// A literal as the string the peers compare it as.
pub(crate) fn lit_string(ty: &AttrType, lit: &Lit) -> String {
    match (lit, ty) {
        (Lit::Str(s), _) => s.clone(),
        (Lit::Int(i), _) => i.to_string(),
        (Lit::Float(x), _) => x.to_string(),
        (Lit::Bool(b), _) => b.to_string(),
        (Lit::Semver(v), _) => v.to_string(),
        (Lit::Datetime(t), _) => t.to_string(),
        (Lit::Enum(i), AttrType::Enum(values)) => values[*i as usize].clone(),
        (Lit::Enum(i), _) => i.to_string(),
    }
}

/// A literal as a JSON value of the type the attribute has in the peers' contexts.
pub(crate) fn lit_json(ty: &AttrType, lit: &Lit) -> serde_json::Value {
    match lit {
        Lit::Int(i) => (*i).into(),
        Lit::Float(x) => (*x).into(),
        Lit::Bool(b) => (*b).into(),
        _ => lit_string(ty, lit).into(),
    }
}

/// A flag value's name in the peers: `true`/`false`, or the variant.
pub(crate) fn value_name(flag: &Flag, v: &flagc::model::FlagValue) -> Result<String, String> {
    use flagc::model::{FlagType, FlagValue};
    match (v, &flag.ty) {
        (FlagValue::Bool(b), _) => Ok(b.to_string()),
        (FlagValue::Enum(i), FlagType::Enum(names)) => Ok(names[*i as usize].clone()),
        _ => Err(format!(
            "a {} flag (only bool and enum flags)",
            flag.ty.name()
        )),
    }
}
