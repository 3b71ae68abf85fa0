//! A checked model, with its static attributes fixed, as a flagd flag-definition document.
//!
//! Each flag's rules are folded against the static values first (as the compiler does: a
//! rule with a false static condition is dropped, true ones are stripped, rules after one
//! that always decides are unreachable), then translated: a rule's `when` becomes one
//! JSONLogic condition, the rules become one `if` (else-if) chain whose final `else` is
//! `null`, so that flagd answers with the `defaultVariant` and the reason `DEFAULT`. A flag
//! that can only take one value has no targeting at all (flagd's reason `STATIC`).
//!
//! Segments that survive folding become `$evaluators` referenced by `{"$ref": name}`, each
//! with the segments it refers to inlined (flagd substitutes references in a single pass, so
//! nested references would depend on the order of the evaluators).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value as Json, json};

use super::{FLAGD_SCHEMA, MAX_SAFE_INTEGER};
use crate::compile::Statics;
use crate::model::{
    AttrRef, AttrType, CmpOp, Condition, ContextAttr, Flag, FlagType, FlagValue, Lit, Loc, Model,
    Op, Outcome, Rollout, StrOp,
};
use crate::source::Sources;

/// The result of exporting: the document, and the flags that could not be exported.
#[derive(Debug, Clone)]
pub struct Export {
    /// The flagd flag-definition document (with only the flags that could be exported).
    pub document: Json,
    /// Keys of the flags in the document, in order.
    pub exported: Vec<String>,
    /// One entry per problem; a flag with any problem is left out of the document.
    pub errors: Vec<ExportError>,
}

impl Export {
    /// The document as pretty-printed JSON with a final newline.
    pub fn to_json_string(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.document).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// A rule that flagd cannot evaluate exactly as flagc does.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportError {
    /// The flag's key.
    pub flag: String,
    /// The rule's label (`rule `id`` or `rule #n`), or `default` for the flag's default.
    pub rule: String,
    /// The segment the condition is written in, when it is in one.
    pub segment: Option<String>,
    /// Where the offending condition (or value) is written.
    pub loc: Loc,
    /// Why.
    pub kind: Unsupported,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flag `{}`, {}", self.flag, self.rule)?;
        if let Some(s) = &self.segment {
            write!(f, " (in segment `{s}`)")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for ExportError {}

/// What flagd cannot express exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsupported {
    /// `matches`: flagd's JSONLogic has no regular expressions.
    Regex {
        /// The attribute.
        attr: String,
        /// The pattern(s).
        pattern: String,
    },
    /// A datetime condition other than "is set": flagd compares datetimes as strings, and
    /// equal instants have many RFC 3339 spellings.
    Datetime {
        /// The attribute.
        attr: String,
        /// The operator.
        op: &'static str,
    },
    /// An integer beyond ±2^53: flagd's JSON numbers are doubles.
    IntRange {
        /// The attribute, or `None` for a flag value.
        attr: Option<String>,
        /// The integer.
        value: i64,
    },
    /// A semver literal that flagd's `sem_ver` (npm's semver) cannot parse exactly: a
    /// numeric part beyond 2^53 or longer than 256 characters.
    Semver {
        /// The attribute.
        attr: String,
        /// The version.
        version: String,
    },
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::Regex { attr, pattern } => write!(
                f,
                "`{attr} = {{ matches = {pattern:?} }}`: flagd's JSONLogic has no regular \
                 expressions"
            ),
            Unsupported::Datetime { attr, op } => write!(
                f,
                "`{attr} = {{ {op} = … }}` on a datetime: flagd compares datetimes as strings, \
                 not as instants"
            ),
            Unsupported::IntRange {
                attr: Some(attr),
                value,
            } => write!(
                f,
                "`{attr}` is compared with {value}, beyond ±2^53: flagd's numbers are doubles"
            ),
            Unsupported::IntRange { attr: None, value } => write!(
                f,
                "the value {value} is beyond ±2^53: flagd's numbers are doubles"
            ),
            Unsupported::Semver { attr, version } => write!(
                f,
                "`{attr}` is compared with the version {version:?}, which flagd's `sem_ver` \
                 cannot represent exactly (a number beyond 2^53, or over 256 characters)"
            ),
        }
    }
}

/// Exports every flag of `model` for one combination of static values. `sources` are the
/// files the model was checked from (for the `source` metadata, `file:line`).
pub fn export(model: &Model, sources: &Sources, statics: &Statics) -> Export {
    let mut ex = Exporter {
        model,
        statics,
        segments: vec![None; model.manifest.segments.len()],
        used: vec![false; model.manifest.segments.len()],
    };
    let mut flags = Map::new();
    let mut exported = Vec::new();
    let mut errors = Vec::new();
    for flag in &model.flags {
        match ex.flag(flag, sources) {
            Ok(json) => {
                flags.insert(flag.key.clone(), json);
                exported.push(flag.key.clone());
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    let mut doc = Map::new();
    doc.insert("$schema".into(), FLAGD_SCHEMA.into());
    let mut metadata = Map::new();
    metadata.insert("generator".into(), "flagc".into());
    let described = statics.describe(&model.manifest);
    if !described.is_empty() {
        metadata.insert("statics".into(), described.into());
    }
    doc.insert("metadata".into(), Json::Object(metadata));
    let mut evaluators = Map::new();
    for (i, seg) in model.manifest.segments.iter().enumerate() {
        if let (true, Some(Folded::Expr(e))) = (ex.used[i], ex.segments[i].clone()) {
            evaluators.insert(seg.name.clone(), e);
        }
    }
    if !evaluators.is_empty() {
        doc.insert("$evaluators".into(), Json::Object(evaluators));
    }
    doc.insert("flags".into(), Json::Object(flags));
    Export {
        document: Json::Object(doc),
        exported,
        errors,
    }
}

/// A problem found while folding, before it is tied to a flag and rule.
#[derive(Debug, Clone, PartialEq)]
struct Problem {
    segment: Option<String>,
    loc: Loc,
    kind: Unsupported,
}

/// A condition after static folding.
#[derive(Debug, Clone, PartialEq)]
enum Folded {
    Always,
    Never,
    Expr(Json),
    /// Cannot be expressed; only an error if it decides anything.
    Bad(Vec<Problem>),
}

fn all(items: impl IntoIterator<Item = Folded>) -> Folded {
    let mut exprs = Vec::new();
    let mut bad = Vec::new();
    for item in items {
        match item {
            Folded::Always => {}
            Folded::Never => return Folded::Never,
            Folded::Expr(e) => match e {
                // Flatten nested `and`s: the JSON reads like the `when` table.
                Json::Object(ref o) if o.len() == 1 && o.contains_key("and") => {
                    match o.get("and") {
                        Some(Json::Array(a)) => exprs.extend(a.iter().cloned()),
                        _ => exprs.push(e),
                    }
                }
                e => exprs.push(e),
            },
            Folded::Bad(mut p) => bad.append(&mut p),
        }
    }
    if !bad.is_empty() {
        return Folded::Bad(bad);
    }
    // The same presence guard twice (two operators on one attribute) is said once.
    let mut unique: Vec<Json> = Vec::with_capacity(exprs.len());
    for e in exprs {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    match unique.len() {
        0 => Folded::Always,
        1 => Folded::Expr(unique.remove(0)),
        _ => Folded::Expr(json!({ "and": unique })),
    }
}

fn any(items: impl IntoIterator<Item = Folded>) -> Folded {
    let mut exprs = Vec::new();
    let mut bad = Vec::new();
    for item in items {
        match item {
            Folded::Always => return Folded::Always,
            Folded::Never => {}
            Folded::Expr(e) => exprs.push(e),
            Folded::Bad(mut p) => bad.append(&mut p),
        }
    }
    if !bad.is_empty() {
        return Folded::Bad(bad);
    }
    match exprs.len() {
        0 => Folded::Never,
        1 => Folded::Expr(exprs.remove(0)),
        _ => Folded::Expr(json!({ "or": exprs })),
    }
}

fn var(name: &str) -> Json {
    json!({ "var": name })
}

/// The current element inside `some`/`none`.
fn elem() -> Json {
    json!({ "var": "" })
}

/// `a` is set: strict, so that `0`, `""`, `false` and `[]` are set values.
fn present(name: &str) -> Json {
    json!({ "!==": [var(name), null] })
}

/// `x` is one of `lits` (`in` compares with `Array.prototype.includes`: no coercion).
fn member(x: Json, mut lits: Vec<Json>) -> Folded {
    match lits.len() {
        0 => Folded::Never,
        1 => Folded::Expr(json!({ "===": [x, lits.remove(0)] })),
        _ => Folded::Expr(json!({ "in": [x, lits] })),
    }
}

fn not(e: Folded) -> Folded {
    match e {
        Folded::Always => Folded::Never,
        Folded::Never => Folded::Always,
        Folded::Expr(e) => Folded::Expr(json!({ "!": [e] })),
        bad @ Folded::Bad(_) => bad,
    }
}

fn cmp_symbol(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Lt => "<",
        CmpOp::Lte => "<=",
        CmpOp::Gt => ">",
        CmpOp::Gte => ">=",
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

/// One string test on a string, as flagc evaluates it (for statics and enum values).
fn str_holds(op: StrOp, needles: &[String], s: &str) -> bool {
    needles.iter().any(|n| match op {
        StrOp::StartsWith => s.starts_with(n.as_str()),
        StrOp::EndsWith => s.ends_with(n.as_str()),
        StrOp::Contains => s.contains(n.as_str()),
        StrOp::Matches => regex::Regex::new(n).is_ok_and(|re| re.is_match(s)),
    })
}

/// Whether npm's semver (flagd's `sem_ver`) holds a version exactly.
fn semver_exact(v: &semver::Version) -> bool {
    let safe = |n: u64| n <= MAX_SAFE_INTEGER as u64;
    // npm compares numeric prerelease identifiers as JavaScript numbers.
    let pre_ok = v.pre.as_str().split('.').all(|id| {
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            id.parse::<u64>().is_ok_and(safe)
        } else {
            true
        }
    });
    safe(v.major) && safe(v.minor) && safe(v.patch) && pre_ok && v.to_string().len() <= 256
}

struct Exporter<'a> {
    model: &'a Model,
    statics: &'a Statics,
    /// Each segment folded, with the segments it refers to inlined.
    segments: Vec<Option<Folded>>,
    /// Segments referenced from an exported rule (they become `$evaluators`).
    used: Vec<bool>,
}

/// Names for a flag's values: flagd selects a variant by name.
struct Variants {
    ty: FlagType,
    names: Vec<(String, FlagValue)>,
}

impl Variants {
    fn new(ty: &FlagType) -> Self {
        let mut v = Variants {
            ty: ty.clone(),
            names: Vec::new(),
        };
        // Bool and enum flags list all their values, so that an import knows the type.
        match ty {
            FlagType::Bool => {
                v.name(&FlagValue::Bool(true));
                v.name(&FlagValue::Bool(false));
            }
            FlagType::Enum(values) => {
                for i in 0..values.len() {
                    v.name(&FlagValue::Enum(i as u32));
                }
            }
            _ => {}
        }
        v
    }

    fn name(&mut self, value: &FlagValue) -> String {
        if let Some((n, _)) = self.names.iter().find(|(_, v)| v == value) {
            return n.clone();
        }
        let base = match (value, &self.ty) {
            (FlagValue::Bool(b), _) => b.to_string(),
            (FlagValue::Int(i), _) => i.to_string(),
            (FlagValue::Float(x), _) => format!("{x:?}"),
            (FlagValue::Str(s), _) if s.is_empty() => "empty".to_owned(),
            (FlagValue::Str(s), _) => s.clone(),
            (FlagValue::Enum(i), FlagType::Enum(names)) => {
                names.get(*i as usize).cloned().unwrap_or_default()
            }
            (FlagValue::Enum(i), _) => format!("variant_{i}"),
        };
        let mut name = base.clone();
        let mut n = 2;
        while self.names.iter().any(|(x, _)| *x == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.names.push((name.clone(), value.clone()));
        name
    }

    fn to_json(&self) -> Json {
        Json::Object(
            self.names
                .iter()
                .map(|(n, v)| (n.clone(), v.to_json(&self.ty)))
                .collect(),
        )
    }
}

impl Exporter<'_> {
    fn flag(&mut self, flag: &Flag, sources: &Sources) -> Result<Json, Vec<ExportError>> {
        let mut variants = Variants::new(&flag.ty);
        let mut errors = Vec::new();
        let error = |rule: String, p: Problem| ExportError {
            flag: flag.key.clone(),
            rule,
            segment: p.segment,
            loc: p.loc,
            kind: p.kind,
        };
        let value_range = |v: &FlagValue, loc: &Loc| match v {
            FlagValue::Int(i) if i.unsigned_abs() > MAX_SAFE_INTEGER as u64 => Some(Problem {
                segment: None,
                loc: loc.clone(),
                kind: Unsupported::IntRange {
                    attr: None,
                    value: *i,
                },
            }),
            _ => None,
        };
        // (condition, result) pairs of the `if` chain, and its final `else`.
        let mut branches: Vec<(Json, Json)> = Vec::new();
        // Every variant the flag can end with, to see whether it is a constant.
        let mut results: Vec<String> = Vec::new();
        let mut last: Option<String> = None;
        let mut used_segments = Vec::new();
        for rule in &flag.rules {
            let mut refs = Vec::new();
            let mut cond = self.conds(&rule.when, Some(&mut refs));
            if let Folded::Bad(problems) = cond {
                errors.extend(problems.into_iter().map(|p| error(rule.label(), p)));
                continue;
            }
            if cond == Folded::Never {
                continue;
            }
            let result = match &rule.outcome {
                Outcome::Value(v) => {
                    if let Some(p) = value_range(v, &rule.loc) {
                        errors.push(error(rule.label(), p));
                        continue;
                    }
                    let name = variants.name(v);
                    results.push(name.clone());
                    if cond == Folded::Always {
                        used_segments.extend(refs);
                        last = Some(name);
                        break;
                    }
                    json!(name)
                }
                Outcome::Rollout(r) => {
                    let by = &self.model.manifest.context[r.by].name;
                    cond = all([cond, Folded::Expr(present(by))]);
                    self.fractional(flag, r, &mut variants, &mut results)
                }
            };
            used_segments.extend(refs);
            if let Folded::Expr(c) = cond {
                branches.push((c, result));
            }
        }
        if last.is_none() {
            if let Some(p) = value_range(&flag.default, &flag.loc) {
                errors.push(error("default".into(), p));
            }
            results.push(variants.name(&flag.default));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        for s in used_segments {
            self.used[s] = true;
        }

        let mut out = Map::new();
        out.insert("state".into(), "ENABLED".into());
        let default_name = variants.name(&flag.default);
        let constant = results.iter().all(|r| *r == results[0]);
        let default_variant = if constant {
            results[0].clone()
        } else {
            default_name
        };
        out.insert("variants".into(), variants.to_json());
        out.insert("defaultVariant".into(), default_variant.into());
        if !constant && !branches.is_empty() {
            let mut chain = Vec::with_capacity(branches.len() * 2 + 1);
            for (c, r) in branches {
                chain.push(c);
                chain.push(r);
            }
            chain.push(last.map_or(Json::Null, Json::String));
            out.insert("targeting".into(), json!({ "if": chain }));
        }
        out.insert("metadata".into(), metadata(flag, sources));
        Ok(Json::Object(out))
    }

    /// A rollout as flagd's `fractional`, bucketing by `cat(salt, attribute)`.
    fn fractional(
        &self,
        flag: &Flag,
        r: &Rollout,
        variants: &mut Variants,
        results: &mut Vec<String>,
    ) -> Json {
        let by = &self.model.manifest.context[r.by].name;
        let mut buckets = Vec::new();
        for (i, &w) in r.weights.iter().enumerate() {
            if w == 0 {
                continue;
            }
            let name = variants.name(&flag.ty.rollout_value(i));
            results.push(name.clone());
            buckets.push((name, w));
        }
        if let [(name, _)] = buckets.as_slice() {
            return json!(name);
        }
        let mut args = vec![json!({ "cat": [flag.salt, var(by)] })];
        args.extend(buckets.into_iter().map(|(n, w)| json!([n, w])));
        json!({ "fractional": args })
    }

    /// Folds an AND of conditions. In a rule (`refs` given), a segment that survives folding
    /// is referenced by name; inside a segment, it is inlined.
    fn conds(&mut self, conds: &[Condition], mut refs: Option<&mut Vec<usize>>) -> Folded {
        let mut parts = Vec::new();
        for c in conds {
            let part = match c {
                Condition::Attr {
                    attr: AttrRef::Static(i),
                    ops,
                    ..
                } => {
                    if self.static_holds(*i, ops) {
                        Folded::Always
                    } else {
                        Folded::Never
                    }
                }
                Condition::Attr {
                    attr: AttrRef::Context(i),
                    ops,
                    loc,
                } => {
                    let attr = &self.model.manifest.context[*i];
                    self.attr(attr, ops, loc)
                }
                Condition::Segment { segments, .. } => {
                    let mut branches = Vec::new();
                    for &s in segments {
                        let folded = self.segment(s);
                        branches.push(match (folded, refs.as_deref_mut()) {
                            (Folded::Expr(_), Some(refs)) => {
                                refs.push(s);
                                let name = &self.model.manifest.segments[s].name;
                                Folded::Expr(json!({ "$ref": name }))
                            }
                            (f, _) => f,
                        });
                    }
                    any(branches)
                }
            };
            parts.push(part);
        }
        all(parts)
    }

    fn segment(&mut self, s: usize) -> Folded {
        if let Some(Some(f)) = self.segments.get(s) {
            return f.clone();
        }
        // A cycle is a checker error; folding it as "never" keeps a bad model finite.
        self.segments[s] = Some(Folded::Never);
        let model = self.model;
        let seg = &model.manifest.segments[s];
        let folded = match self.conds(&seg.when, None) {
            Folded::Bad(problems) => Folded::Bad(
                problems
                    .into_iter()
                    .map(|p| Problem {
                        segment: Some(p.segment.unwrap_or_else(|| seg.name.clone())),
                        ..p
                    })
                    .collect(),
            ),
            f => f,
        };
        self.segments[s] = Some(folded.clone());
        folded
    }

    fn static_holds(&self, i: usize, ops: &[Op]) -> bool {
        let (Some(attr), Some(v)) = (self.model.manifest.statics.get(i), self.statics.get(i))
        else {
            return false;
        };
        let name = attr.values.get(v as usize).map_or("", String::as_str);
        ops.iter().all(|op| match op {
            Op::In(lits) => lits.contains(&Lit::Enum(v)),
            Op::NotIn(lits) => !lits.contains(&Lit::Enum(v)),
            Op::Cmp(..) => false,
            Op::Str(sop, needles) => str_holds(*sop, needles, name),
        })
    }

    /// A condition on a context attribute: all its operators, each guarded as needed.
    fn attr(&self, attr: &ContextAttr, ops: &[Op], loc: &Loc) -> Folded {
        let name = attr.name.as_str();
        if ops.is_empty() {
            return Folded::Expr(present(name));
        }
        all(ops.iter().map(|op| match self.op(attr, op) {
            Ok(f) => f,
            Err(kind) => Folded::Bad(vec![Problem {
                segment: None,
                loc: loc.clone(),
                kind,
            }]),
        }))
    }

    fn op(&self, attr: &ContextAttr, op: &Op) -> Result<Folded, Unsupported> {
        let name = attr.name.as_str();
        let v = var(name);
        let guarded = |f: Folded| all([Folded::Expr(present(name)), f]);
        // `not_in = []` holds for any set value, whatever the type.
        if let Op::NotIn(lits) = op
            && lits.is_empty()
        {
            return Ok(Folded::Expr(present(name)));
        }
        Ok(match (&attr.ty, op) {
            (AttrType::Datetime, op) => {
                return Err(Unsupported::Datetime {
                    attr: name.to_owned(),
                    op: op_name(op),
                });
            }
            (_, Op::Str(StrOp::Matches, needles)) if !matches!(attr.ty, AttrType::Enum(_)) => {
                return Err(Unsupported::Regex {
                    attr: name.to_owned(),
                    pattern: needles.join("|"),
                });
            }
            (AttrType::Enum(values), op) => {
                // The values that pass, as a set: exact for every operator (a `matches` too).
                let passes = |i: usize| match op {
                    Op::In(lits) => lits.contains(&Lit::Enum(i as u32)),
                    Op::NotIn(lits) => !lits.contains(&Lit::Enum(i as u32)),
                    Op::Str(sop, needles) => str_holds(*sop, needles, &values[i]),
                    Op::Cmp(..) => false,
                };
                let set: Vec<Json> = (0..values.len())
                    .filter(|&i| passes(i))
                    .map(|i| json!(values[i]))
                    .collect();
                member(v, set)
            }
            (AttrType::String, Op::In(lits)) => member(v, strings(lits)),
            (AttrType::String, Op::NotIn(lits)) => guarded(not(member(v, strings(lits)))),
            (AttrType::String, Op::Str(sop, needles)) => any(needles.iter().map(|n| {
                string_test(*sop, v.clone(), n).unwrap_or_else(|| Folded::Expr(present(name)))
            })),
            (AttrType::StringList, Op::In(lits)) => some(&v, member(elem(), strings(lits))),
            (AttrType::StringList, Op::NotIn(lits)) => {
                guarded(not(some(&v, member(elem(), strings(lits)))))
            }
            (AttrType::StringList, Op::Str(sop, needles)) => {
                let test = any(needles.iter().map(|n| element_test(*sop, n)));
                some(&v, test)
            }
            (AttrType::Int | AttrType::Float | AttrType::Bool | AttrType::Semver, op) => {
                let lits = match op {
                    Op::In(l) | Op::NotIn(l) => l.clone(),
                    Op::Cmp(_, l) => vec![l.clone()],
                    Op::Str(..) => Vec::new(),
                };
                let mut json_lits = Vec::with_capacity(lits.len());
                for l in &lits {
                    json_lits.push(self.scalar(name, l)?);
                }
                match (&attr.ty, op) {
                    (AttrType::Bool, Op::In(_) | Op::NotIn(_)) => {
                        let has = |b: bool| lits.contains(&Lit::Bool(b));
                        let negate = matches!(op, Op::NotIn(_));
                        let pass: Vec<Json> = [true, false]
                            .into_iter()
                            .filter(|&b| has(b) != negate)
                            .map(Json::Bool)
                            .collect();
                        if pass.len() == 2 {
                            Folded::Expr(present(name))
                        } else {
                            member(v, pass)
                        }
                    }
                    (AttrType::Semver, Op::In(_)) => any(json_lits
                        .into_iter()
                        .map(|l| Folded::Expr(json!({ "sem_ver": [v.clone(), "=", l] })))),
                    (AttrType::Semver, Op::NotIn(_)) => guarded(all(json_lits
                        .into_iter()
                        .map(|l| Folded::Expr(json!({ "sem_ver": [v.clone(), "!=", l] }))))),
                    (AttrType::Semver, Op::Cmp(c, _)) => {
                        let l = json_lits.into_iter().next().unwrap_or(Json::Null);
                        Folded::Expr(json!({ "sem_ver": [v, cmp_symbol(*c), l] }))
                    }
                    (_, Op::In(_)) => member(v, json_lits),
                    (_, Op::NotIn(_)) => guarded(not(member(v, json_lits))),
                    // JSONLogic reads a missing number as 0: `{"<": [null, 5]}` is true.
                    (_, Op::Cmp(c, _)) => {
                        let l = json_lits.into_iter().next().unwrap_or(Json::Null);
                        guarded(Folded::Expr(json!({ cmp_symbol(*c): [v, l] })))
                    }
                    (_, Op::Str(..)) => Folded::Never,
                }
            }
            (AttrType::String | AttrType::StringList, Op::Cmp(..)) => Folded::Never,
        })
    }

    /// A literal as JSON, if flagd holds it exactly.
    fn scalar(&self, attr: &str, lit: &Lit) -> Result<Json, Unsupported> {
        Ok(match lit {
            Lit::Int(i) if i.unsigned_abs() > MAX_SAFE_INTEGER as u64 => {
                return Err(Unsupported::IntRange {
                    attr: Some(attr.to_owned()),
                    value: *i,
                });
            }
            Lit::Int(i) => json!(i),
            Lit::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
            Lit::Bool(b) => json!(b),
            Lit::Semver(v) if !semver_exact(v) => {
                return Err(Unsupported::Semver {
                    attr: attr.to_owned(),
                    version: v.to_string(),
                });
            }
            Lit::Semver(v) => json!(v.to_string()),
            Lit::Str(s) => json!(s),
            Lit::Datetime(t) => json!(t.to_string()),
            Lit::Enum(i) => json!(i),
        })
    }
}

fn strings(lits: &[Lit]) -> Vec<Json> {
    lits.iter()
        .filter_map(|l| match l {
            Lit::Str(s) => Some(json!(s)),
            _ => None,
        })
        .collect()
}

/// Some element of the list `v` passes `test` (which reads the element as `{"var": ""}`).
fn some(v: &Json, test: Folded) -> Folded {
    match test {
        Folded::Expr(t) => Folded::Expr(json!({ "some": [v, t] })),
        Folded::Never => Folded::Never,
        // Any element at all.
        Folded::Always => Folded::Expr(json!({ "some": [v, { "!==": [elem(), null] }] })),
        bad @ Folded::Bad(_) => bad,
    }
}

/// A string test of `x` against one needle; `None` when it holds for any string (an empty
/// needle: JSONLogic's `in` treats an empty haystack as a missing one).
fn string_test(op: StrOp, x: Json, needle: &str) -> Option<Folded> {
    Some(Folded::Expr(match op {
        StrOp::StartsWith => json!({ "starts_with": [x, needle] }),
        StrOp::EndsWith => json!({ "ends_with": [x, needle] }),
        StrOp::Contains if needle.is_empty() => return None,
        StrOp::Contains => json!({ "in": [needle, x] }),
        // Refused by the caller.
        StrOp::Matches => return Some(Folded::Never),
    }))
}

/// A string test of the current element of `some` against one needle, with JSONLogic's own
/// operators only: flagd-core's `starts_with`/`ends_with` look for their logger in the data
/// they are given, which inside `some` is the element, and throw. `substr` counts UTF-16
/// code units, as JavaScript strings do.
fn element_test(op: StrOp, needle: &str) -> Folded {
    let len = needle.encode_utf16().count() as i64;
    if needle.is_empty() {
        // Every string starts with, ends with and contains the empty string.
        return Folded::Always;
    }
    Folded::Expr(match op {
        StrOp::StartsWith => json!({ "===": [{ "substr": [elem(), 0, len] }, needle] }),
        StrOp::EndsWith => json!({ "===": [{ "substr": [elem(), -len] }, needle] }),
        StrOp::Contains => json!({ "in": [needle, elem()] }),
        // Refused by the caller.
        StrOp::Matches => return Folded::Never,
    })
}

fn metadata(flag: &Flag, sources: &Sources) -> Json {
    let mut m = BTreeMap::new();
    m.insert("owner", json!(flag.owner));
    m.insert("description", json!(flag.description));
    match flag.expires {
        Some(d) if !flag.permanent => {
            m.insert("expires", json!(d.to_string()));
        }
        _ => {
            m.insert("permanent", json!(true));
        }
    }
    let line = sources
        .get(&flag.loc.file)
        .map_or(1, |f| f.line_col(flag.loc.span.start).0);
    m.insert("source", json!(format!("{}:{line}", flag.loc.file)));
    Json::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}
