//! Conditions, outcomes and percentages in words, for people reading a diff.
//!
//! Every function renders by *name* (attribute, segment, enum value), never by index, so the
//! same text comes out of two models whose manifests declare things in a different order.
//! The `canonical` forms sort what order does not change the meaning of (the conditions of a
//! `when`, the literals of a list), and always name a rollout's bucketing attribute: two
//! rules mean the same iff their canonical texts are equal.

use std::fmt::Write as _;

use crate::model::{
    AttrRef, AttrType, CmpOp, Condition, Flag, FlagType, FlagValue, Lit, Manifest, Op, Outcome,
    Rollout, Rule, StrOp,
};

/// A weight in units of 0.001 % as a percentage: `25 %`, `12.5 %`, `33.333 %`.
pub fn percent(weight: u32) -> String {
    let (int, frac) = (weight / 1000, weight % 1000);
    if frac == 0 {
        format!("{int} %")
    } else {
        let frac = format!("{frac:03}");
        format!("{int}.{} %", frac.trim_end_matches('0'))
    }
}

/// A weight as a JSON number of percent (exact to the three decimals weights have).
pub fn percent_number(weight: u32) -> f64 {
    f64::from(weight) / 1000.0
}

/// A value as the flag file writes it: `true`, `20`, `39.9`, `"order-v3"`, `"one_page"`.
pub fn value(v: &FlagValue, ty: &FlagType) -> String {
    v.display(ty).to_string()
}

/// A string without quotes when nothing in it could be misread in a list.
fn bare(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || "_-.@+/:".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("{s:?}")
    }
}

fn enum_values(manifest: &Manifest, attr: AttrRef) -> Option<&[String]> {
    match attr {
        AttrRef::Static(i) => manifest.statics.get(i).map(|s| s.values.as_slice()),
        AttrRef::Context(i) => match &manifest.context.get(i)?.ty {
            AttrType::Enum(v) => Some(v),
            _ => None,
        },
    }
}

fn attr_name(manifest: &Manifest, attr: AttrRef) -> &str {
    match attr {
        AttrRef::Static(i) => manifest.statics.get(i).map_or("?", |s| s.name.as_str()),
        AttrRef::Context(i) => manifest.context.get(i).map_or("?", |s| s.name.as_str()),
    }
}

fn is_list(manifest: &Manifest, attr: AttrRef) -> bool {
    matches!(attr, AttrRef::Context(i)
        if manifest.context.get(i).is_some_and(|a| a.ty == AttrType::StringList))
}

fn lit(manifest: &Manifest, attr: AttrRef, l: &Lit) -> String {
    match l {
        Lit::Str(s) => bare(s),
        Lit::Int(i) => i.to_string(),
        Lit::Float(x) => format!("{x:?}"),
        Lit::Bool(b) => b.to_string(),
        Lit::Semver(v) => v.to_string(),
        Lit::Datetime(t) => t.to_string(),
        Lit::Enum(i) => enum_values(manifest, attr)
            .and_then(|v| v.get(*i as usize))
            .map_or_else(|| format!("#{i}"), |s| bare(s)),
    }
}

fn list(mut items: Vec<String>, canonical: bool) -> String {
    if canonical {
        items.sort();
        items.dedup();
    }
    format!("[{}]", items.join(", "))
}

fn cmp(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Lt => "<",
        CmpOp::Lte => "<=",
        CmpOp::Gt => ">",
        CmpOp::Gte => ">=",
    }
}

fn str_op(op: StrOp) -> &'static str {
    match op {
        StrOp::StartsWith => "starts with",
        StrOp::EndsWith => "ends with",
        StrOp::Contains => "contains",
        StrOp::Matches => "matches",
    }
}

/// One operator of a condition on `name`.
fn op(manifest: &Manifest, attr: AttrRef, o: &Op, canonical: bool) -> String {
    let name = attr_name(manifest, attr);
    let many = is_list(manifest, attr);
    let lits = |ls: &[Lit]| -> Vec<String> { ls.iter().map(|l| lit(manifest, attr, l)).collect() };
    match o {
        Op::In(ls) => match (ls.len(), many) {
            (1, false) => format!("{name} = {}", lits(ls).join("")),
            (1, true) => format!("{name} includes {}", lits(ls).join("")),
            (_, false) => format!("{name} in {}", list(lits(ls), canonical)),
            (_, true) => format!("{name} includes any of {}", list(lits(ls), canonical)),
        },
        Op::NotIn(ls) => match (ls.len(), many) {
            (0, _) => format!("{name} is set"),
            (1, false) => format!("{name} != {}", lits(ls).join("")),
            (1, true) => format!("{name} excludes {}", lits(ls).join("")),
            (_, false) => format!("{name} not in {}", list(lits(ls), canonical)),
            (_, true) => format!("{name} excludes all of {}", list(lits(ls), canonical)),
        },
        Op::Cmp(c, l) => format!("{name} {} {}", cmp(*c), lit(manifest, attr, l)),
        Op::Str(s, needles) => {
            let quoted: Vec<String> = needles
                .iter()
                .map(|n| match s {
                    StrOp::Matches => format!("/{n}/"),
                    _ => format!("{n:?}"),
                })
                .collect();
            if let [one] = quoted.as_slice() {
                format!("{name} {} {one}", str_op(*s))
            } else {
                format!("{name} {} one of {}", str_op(*s), list(quoted, canonical))
            }
        }
    }
}

/// One condition of a `when` table.
pub fn condition(manifest: &Manifest, c: &Condition, canonical: bool) -> String {
    match c {
        Condition::Attr { attr, ops, .. } => {
            if ops.is_empty() {
                return format!("{} is set", attr_name(manifest, *attr));
            }
            let mut parts: Vec<String> = ops
                .iter()
                .map(|o| op(manifest, *attr, o, canonical))
                .collect();
            if canonical {
                parts.sort();
                return parts.join(" and ");
            }
            // `app_version >= 4.1.0 and < 5.0.0`: the attribute is named once.
            let prefix = format!("{} ", attr_name(manifest, *attr));
            for p in parts.iter_mut().skip(1) {
                if let Some(rest) = p.strip_prefix(&prefix) {
                    *p = rest.to_owned();
                }
            }
            parts.join(" and ")
        }
        Condition::Segment { segments, .. } => {
            let mut names: Vec<String> = segments
                .iter()
                .map(|&s| {
                    manifest
                        .segments
                        .get(s)
                        .map_or_else(|| format!("#{s}"), |s| s.name.clone())
                })
                .collect();
            if canonical {
                names.sort();
                names.dedup();
            }
            format!("segment {}", names.join(" or "))
        }
    }
}

/// A whole `when` (AND of its conditions); empty when it always holds. `statics: false`
/// leaves out conditions on static attributes (already decided for one combination).
pub fn when(manifest: &Manifest, conds: &[Condition], statics: bool, canonical: bool) -> String {
    let mut parts: Vec<String> = conds
        .iter()
        .filter(|c| {
            statics
                || !matches!(
                    c,
                    Condition::Attr {
                        attr: AttrRef::Static(_),
                        ..
                    }
                )
        })
        .map(|c| condition(manifest, c, canonical))
        .collect();
    if canonical {
        parts.sort();
    }
    parts.join(" and ")
}

/// The name of a rollout's bucketing attribute.
pub fn rollout_by<'m>(manifest: &'m Manifest, r: &Rollout) -> &'m str {
    manifest.context.get(r.by).map_or("?", |a| a.name.as_str())
}

/// A rollout's split: `25 % true` for bool flags, `one_page 50 %, wizard 50 %` for enums
/// (buckets at 0 % left out, unless all are).
pub fn split(ty: &FlagType, weights: &[u32]) -> String {
    let keys = ty.rollout_keys().unwrap_or_default();
    if matches!(ty, FlagType::Bool) {
        return format!("{} true", percent(weights.first().copied().unwrap_or(0)));
    }
    let parts: Vec<String> = keys
        .iter()
        .zip(weights)
        .filter(|(_, w)| **w > 0)
        .map(|(k, w)| format!("{k} {}", percent(*w)))
        .collect();
    parts.join(", ")
}

/// A rule's outcome: a value, or a split (with ` by attr` when the rollout does not bucket by
/// the manifest's default, or always when `canonical`).
pub fn outcome(manifest: &Manifest, flag: &Flag, o: &Outcome, canonical: bool) -> String {
    match o {
        Outcome::Value(v) => value(v, &flag.ty),
        Outcome::Rollout(r) => {
            let mut s = format!("rollout {}", split(&flag.ty, &r.weights));
            if canonical || manifest.rollout_by != Some(r.by) {
                let _ = write!(s, " by {}", rollout_by(manifest, r));
            }
            s
        }
    }
}

/// `users matching <when>`, or `everyone` when the `when` is empty.
pub fn who(when: &str) -> String {
    if when.is_empty() {
        "everyone".to_owned()
    } else {
        format!("users matching {when}")
    }
}

/// `of users` / `of users matching <when>`, after a percentage.
pub fn of_users(when: &str) -> String {
    if when.is_empty() {
        "of users".to_owned()
    } else {
        format!("of users matching {when}")
    }
}

/// The canonical text of everything a rule means (not its id or position).
pub fn rule_meaning(manifest: &Manifest, flag: &Flag, rule: &Rule) -> String {
    format!(
        "{} => {}",
        when(manifest, &rule.when, true, true),
        outcome(manifest, flag, &rule.outcome, true)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_keep_their_decimals() {
        assert_eq!(percent(25_000), "25 %");
        assert_eq!(percent(12_500), "12.5 %");
        assert_eq!(percent(33_333), "33.333 %");
        assert_eq!(percent(0), "0 %");
        assert_eq!(percent(100_000), "100 %");
    }

    #[test]
    fn strings_are_bare_unless_ambiguous() {
        assert_eq!(bare("US"), "US");
        assert_eq!(bare("a@b.example"), "a@b.example");
        assert_eq!(bare("two words"), "\"two words\"");
        assert_eq!(bare("a,b"), "\"a,b\"");
        assert_eq!(bare(""), "\"\"");
    }
}
