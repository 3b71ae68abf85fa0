//! The static evaluation compiler (DESIGN §2 step 3): a checked [`Model`] plus one value per
//! static attribute plus the evaluator's [`Layout`] become a [`Program`].
//!
//! What happens to each rule:
//! - conditions on static attributes are decided: a rule with a false one is dropped, true
//!   ones are stripped;
//! - conditions on context attributes become [`Test`]s on field indices of the layout; one
//!   on an attribute the layout lacks, or has with another type, can never match, so its rule
//!   is dropped; enum literals are matched to the layout's values by name;
//! - segments are inlined (a single surviving segment is spliced in, several become a
//!   [`Cond::Any`]);
//! - rules after one that always decides are removed (a rollout never always decides: it
//!   needs its bucketing attribute);
//! - a flag whose remaining rules can only produce one value is marked constant.
//!
//! [`lint`] compiles every combination of the static attributes a flag refers to and reports
//! rules that never survive and flags that are always the same value.

use std::collections::BTreeSet;
use std::fmt;

use crate::diag::{self, Code, Diagnostic, Severity};
use crate::ir::{
    BucketKey, CompiledFlag, CompiledOutcome, CompiledRollout, CompiledRule, Cond, EnumSet, Layout,
    Needle, Pattern, Pred, Program, SetKind, StrPred, StrSet, Test, Value,
};
use crate::model::{AttrRef, AttrType, Condition, Flag, Lit, Manifest, Model, Op, Outcome, StrOp};
use crate::par;

/// One value per static attribute: indices into each [`StaticAttr`]'s values, in manifest
/// order.
///
/// [`StaticAttr`]: crate::model::StaticAttr
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Statics {
    values: Vec<u32>,
}

/// A problem with the static values given where flags are compiled (`E0601`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaticsError {
    /// A static attribute the manifest does not declare.
    UnknownAttribute {
        /// The name given.
        name: String,
        /// The declared static attributes.
        known: Vec<String>,
    },
    /// A value the static attribute does not list.
    UnknownValue {
        /// The attribute.
        attr: String,
        /// The value given.
        value: String,
        /// Its values.
        allowed: Vec<String>,
    },
    /// A static attribute without a value.
    Missing {
        /// The attribute.
        attr: String,
        /// Its values.
        allowed: Vec<String>,
    },
    /// The same static attribute given twice.
    Duplicate {
        /// The attribute.
        attr: String,
    },
}

impl fmt::Display for StaticsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StaticsError::UnknownAttribute { name, .. } => {
                write!(f, "unknown static attribute `{name}`")
            }
            StaticsError::UnknownValue { attr, value, .. } => {
                write!(f, "{value:?} is not a value of static attribute `{attr}`")
            }
            StaticsError::Missing { attr, .. } => {
                write!(f, "no value given for static attribute `{attr}`")
            }
            StaticsError::Duplicate { attr } => {
                write!(f, "static attribute `{attr}` is given twice")
            }
        }
    }
}

impl std::error::Error for StaticsError {}

impl StaticsError {
    /// A help line: the nearest name, or what is allowed.
    pub fn help(&self) -> Option<String> {
        match self {
            StaticsError::UnknownAttribute { name, known } => {
                if known.is_empty() {
                    Some("the manifest declares no static attributes".into())
                } else {
                    diag::did_you_mean(name, known.iter().map(String::as_str))
                }
            }
            StaticsError::UnknownValue { value, allowed, .. } => {
                diag::did_you_mean(value, allowed.iter().map(String::as_str))
            }
            StaticsError::Missing { attr, allowed } => Some(format!(
                "give it, e.g. `{attr}={}`",
                allowed.first().map_or("…", String::as_str)
            )),
            StaticsError::Duplicate { .. } => None,
        }
    }

    /// As a diagnostic (`E0601`).
    pub fn to_diagnostic(&self) -> Diagnostic {
        let d = Diagnostic::global(Severity::Error, Code::StaticValue, None, self.to_string());
        match self.help() {
            Some(h) => d.with_help(h),
            None => d,
        }
    }
}

impl Statics {
    /// The static values from `(attribute, value)` names, e.g. parsed from `--static
    /// env=production`. Every static attribute must be given exactly once; all problems are
    /// reported, not just the first.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        manifest: &Manifest,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Statics, Vec<StaticsError>> {
        let mut values: Vec<Option<u32>> = vec![None; manifest.statics.len()];
        let mut errors = Vec::new();
        for (k, v) in pairs {
            let (k, v) = (k.as_ref(), v.as_ref());
            let Some(i) = manifest.static_index(k) else {
                errors.push(StaticsError::UnknownAttribute {
                    name: k.to_owned(),
                    known: manifest.statics.iter().map(|s| s.name.clone()).collect(),
                });
                continue;
            };
            let attr = &manifest.statics[i];
            if values[i].is_some() {
                errors.push(StaticsError::Duplicate {
                    attr: attr.name.clone(),
                });
                continue;
            }
            match attr.values.iter().position(|x| x == v) {
                Some(x) => values[i] = Some(x as u32),
                None => errors.push(StaticsError::UnknownValue {
                    attr: attr.name.clone(),
                    value: v.to_owned(),
                    allowed: attr.values.clone(),
                }),
            }
        }
        for (i, attr) in manifest.statics.iter().enumerate() {
            let given_badly = errors.iter().any(
                |e| matches!(e, StaticsError::UnknownValue { attr: a, .. } if *a == attr.name),
            );
            if values[i].is_none() && !given_badly {
                errors.push(StaticsError::Missing {
                    attr: attr.name.clone(),
                    allowed: attr.values.clone(),
                });
            }
        }
        if errors.is_empty() {
            Ok(Statics {
                values: values.into_iter().map(|v| v.unwrap_or(0)).collect(),
            })
        } else {
            Err(errors)
        }
    }

    /// The static values from indices into each attribute's values; `None` when the count or
    /// an index does not fit the manifest.
    pub fn from_indices(manifest: &Manifest, values: Vec<u32>) -> Option<Statics> {
        let fits = values.len() == manifest.statics.len()
            && values
                .iter()
                .zip(&manifest.statics)
                .all(|(&v, s)| (v as usize) < s.values.len());
        fits.then_some(Statics { values })
    }

    /// Every combination of the manifest's static values (one, the empty one, when there are
    /// no statics; none when a static has no values).
    pub fn combinations(manifest: &Manifest) -> impl Iterator<Item = Statics> + '_ {
        let sizes: Vec<u32> = manifest
            .statics
            .iter()
            .map(|s| s.values.len() as u32)
            .collect();
        combinations(sizes).map(|values| Statics { values })
    }

    /// The value index of static attribute `i`.
    pub fn get(&self, i: usize) -> Option<u32> {
        self.values.get(i).copied()
    }

    /// `env=production, region=eu`, for messages.
    pub fn describe(&self, manifest: &Manifest) -> String {
        let parts: Vec<String> = manifest
            .statics
            .iter()
            .zip(&self.values)
            .map(|(s, &v)| {
                format!(
                    "{}={}",
                    s.name,
                    s.values.get(v as usize).map_or("?", String::as_str)
                )
            })
            .collect();
        parts.join(", ")
    }
}

/// Every vector `v` with `v[i] < sizes[i]`, in lexicographic order.
fn combinations(sizes: Vec<u32>) -> impl Iterator<Item = Vec<u32>> {
    let mut next = if sizes.contains(&0) {
        None
    } else {
        Some(vec![0u32; sizes.len()])
    };
    std::iter::from_fn(move || {
        let current = next.take()?;
        let mut n = current.clone();
        for i in (0..n.len()).rev() {
            n[i] += 1;
            if n[i] < sizes[i] {
                next = Some(n);
                break;
            }
            n[i] = 0;
        }
        Some(current)
    })
}

/// Compiles every flag of `model` for one combination of static values and one layout.
pub fn compile(model: &Model, statics: &Statics, layout: &Layout) -> Program {
    let mut c = Compiler::new(model, statics.clone(), layout, Mode::Build);
    let flags = model.flags.iter().map(|f| c.flag(f)).collect();
    Program {
        flags,
        layout: layout.clone(),
    }
}

/// Whether a segment has been folded yet (the in-progress state guards against a cycle,
/// which the checker forbids, so that a bad model cannot recurse forever).
#[derive(Clone)]
enum SegState {
    Todo,
    InProgress,
    /// `None`: never matches; `Some(empty)`: always matches.
    Done(Option<Vec<Cond>>),
}

/// What the compiled flags are for.
enum Mode {
    /// Evaluation: every test as it will run.
    Build,
    /// The lint, which looks only at which rules survive and whether a flag is constant,
    /// never evaluating a context test. A test on a context attribute then stands as "is
    /// set" when it can hold (see [`lint_can_hold`]) instead of being built: no string sets,
    /// no versions cloned, no regex compiled (the checker has validated them). Conditions on
    /// static attributes are decided as usual.
    Lint,
}

struct Compiler<'a> {
    manifest: &'a Manifest,
    /// For each model context attribute, its field in the layout, if the layout has it with
    /// the same kind of type (looked up once, not per condition).
    fields: Vec<Option<usize>>,
    statics: Statics,
    layout: &'a Layout,
    segments: Vec<SegState>,
    mode: Mode,
}

impl<'a> Compiler<'a> {
    fn new(model: &'a Model, statics: Statics, layout: &'a Layout, mode: Mode) -> Self {
        let fields = model
            .manifest
            .context
            .iter()
            .map(|a| {
                let f = layout.index(&a.name)?;
                (SetKind::of(&layout.attrs()[f].ty) == SetKind::of(&a.ty)).then_some(f)
            })
            .collect();
        Compiler {
            manifest: &model.manifest,
            fields,
            statics,
            layout,
            segments: vec![SegState::Todo; model.manifest.segments.len()],
            mode,
        }
    }

    /// The same compiler for other static values (segments are folded again).
    fn restart(&mut self, statics: Statics) {
        self.statics = statics;
        self.segments.fill(SegState::Todo);
    }

    fn flag(&mut self, flag: &Flag) -> CompiledFlag {
        let mut rules = Vec::with_capacity(flag.rules.len());
        for rule in &flag.rules {
            let Some(when) = self.conds(&rule.when) else {
                continue;
            };
            let outcome = match &rule.outcome {
                Outcome::Value(v) => CompiledOutcome::Value(Value::from(v)),
                Outcome::Rollout(r) => {
                    let Some((field, key)) = self.bucket_key(r.by) else {
                        continue;
                    };
                    let values = (0..r.weights.len())
                        .map(|i| Value::from(&flag.ty.rollout_value(i)))
                        .collect();
                    CompiledOutcome::Rollout(CompiledRollout {
                        salt: crate::bucket::Prefix::new(flag.salt.as_bytes()),
                        field,
                        key,
                        weights: r.weights.clone().into_boxed_slice(),
                        values,
                    })
                }
            };
            let rule = CompiledRule {
                index: rule.index,
                when,
                outcome,
            };
            let always = rule.is_unconditional();
            rules.push(rule);
            if always {
                break;
            }
        }
        let default = Value::from(&flag.default);
        let constant = constant_value(&rules, &default);
        CompiledFlag {
            key: flag.key.as_str().into(),
            ty: flag.ty.clone(),
            default,
            salt: flag.salt.as_str().into(),
            rules,
            constant,
        }
    }

    /// Folds an AND of conditions: `None` when one can never hold, else what is left.
    fn conds(&mut self, conds: &[Condition]) -> Option<Vec<Cond>> {
        let mut out = Vec::with_capacity(conds.len());
        for c in conds {
            match c {
                Condition::Attr {
                    attr: AttrRef::Static(i),
                    ops,
                    ..
                } => {
                    if !self.static_holds(*i, ops) {
                        return None;
                    }
                }
                Condition::Attr {
                    attr: AttrRef::Context(i),
                    ops,
                    ..
                } => {
                    self.context_tests(*i, ops, &mut out)?;
                }
                Condition::Segment { segments, .. } => {
                    let mut branches: Vec<Vec<Cond>> = Vec::new();
                    let mut always = false;
                    for &s in segments {
                        match self.segment(s) {
                            None => {}
                            Some(b) if b.is_empty() => {
                                always = true;
                                break;
                            }
                            Some(b) => branches.push(b),
                        }
                    }
                    if always {
                        continue;
                    }
                    match branches.len() {
                        0 => return None,
                        1 => out.extend(branches.into_iter().flatten()),
                        _ => out.push(Cond::Any(
                            branches.into_iter().map(Vec::into_boxed_slice).collect(),
                        )),
                    }
                }
            }
        }
        Some(out)
    }

    fn segment(&mut self, s: usize) -> Option<Vec<Cond>> {
        match self.segments.get(s)? {
            SegState::Done(r) => return r.clone(),
            SegState::InProgress => return None,
            SegState::Todo => {}
        }
        self.segments[s] = SegState::InProgress;
        let manifest = self.manifest;
        let folded = manifest
            .segments
            .get(s)
            .and_then(|seg| self.conds(&seg.when));
        self.segments[s] = SegState::Done(folded.clone());
        folded
    }

    /// Decides a condition on a static attribute.
    fn static_holds(&self, i: usize, ops: &[Op]) -> bool {
        let (Some(attr), Some(v)) = (self.manifest.statics.get(i), self.statics.get(i)) else {
            return false;
        };
        let Some(name) = attr.values.get(v as usize) else {
            return false;
        };
        ops.iter().all(|op| match op {
            Op::In(lits) => lits.contains(&Lit::Enum(v)),
            Op::NotIn(lits) => !lits.contains(&Lit::Enum(v)),
            Op::Cmp(..) => false,
            Op::Str(sop, needles) => str_op(*sop, needles).is_some_and(|p| p.holds(name)),
        })
    }

    /// Pushes the tests for a condition on a context attribute onto `out`; `None` when it
    /// can never hold in this layout.
    fn context_tests(&self, i: usize, ops: &[Op], out: &mut Vec<Cond>) -> Option<()> {
        let attr = self.manifest.context.get(i)?;
        let field = (*self.fields.get(i)?)?;
        let ty = &self.layout.attrs()[field].ty;
        if ops.is_empty() {
            let pred = Pred::IsSet(SetKind::of(ty));
            out.push(Cond::Test(Test {
                field,
                negate: false,
                pred,
            }));
        }
        for op in ops {
            out.push(Cond::Test(self.test(field, &attr.ty, ty, op)?));
        }
        Some(())
    }

    /// One operator as a test on `field`, whose type in the model is `model_ty` and in the
    /// layout `ty` (the same kind; enum values may differ).
    fn test(&self, field: usize, model_ty: &AttrType, ty: &AttrType, op: &Op) -> Option<Test> {
        if let Mode::Lint = self.mode
            && let Some(can_hold) = lint_can_hold(model_ty, ty, op)
        {
            // See `Mode::Lint`: this test is never evaluated.
            return can_hold.then(|| Test {
                field,
                negate: false,
                pred: Pred::IsSet(SetKind::of(ty)),
            });
        }
        let (negate, lits) = match op {
            Op::In(l) => (false, l),
            Op::NotIn(l) => (true, l),
            Op::Cmp(cmp, lit) => {
                let pred = match (ty, lit) {
                    (AttrType::Int, Lit::Int(x)) => Pred::IntCmp(*cmp, *x),
                    (AttrType::Float, Lit::Float(x)) => Pred::FloatCmp(*cmp, *x),
                    (AttrType::Semver, Lit::Semver(v)) => {
                        Pred::SemverCmp(*cmp, Box::new(v.clone()))
                    }
                    (AttrType::Datetime, Lit::Datetime(t)) => Pred::DatetimeCmp(*cmp, *t),
                    _ => return None,
                };
                return Some(Test {
                    field,
                    negate: false,
                    pred,
                });
            }
            Op::Str(sop, needles) => {
                let pred = match ty {
                    AttrType::String => Pred::Str(str_op(*sop, needles)?),
                    AttrType::StringList => Pred::List(str_op(*sop, needles)?),
                    // A string test on an enum is a fixed set of its values.
                    AttrType::Enum(values) => {
                        let p = str_op(*sop, needles)?;
                        let set = EnumSet::new(
                            (0..values.len() as u32).filter(|&i| p.holds(&values[i as usize])),
                        );
                        if set.is_empty() {
                            return None;
                        }
                        Pred::EnumIn(set)
                    }
                    _ => return None,
                };
                return Some(Test {
                    field,
                    negate: false,
                    pred,
                });
            }
        };
        let pred = match ty {
            AttrType::String | AttrType::StringList => {
                let set = StrSet::new(lits.iter().filter_map(|l| match l {
                    Lit::Str(s) => Some(s.as_str()),
                    _ => None,
                }));
                if set.is_empty() {
                    None
                } else if matches!(ty, AttrType::String) {
                    Some(Pred::Str(StrPred::In(set)))
                } else {
                    Some(Pred::List(StrPred::In(set)))
                }
            }
            AttrType::Int => {
                let mut v: Vec<i64> = lits
                    .iter()
                    .filter_map(|l| if let Lit::Int(x) = l { Some(*x) } else { None })
                    .collect();
                v.sort_unstable();
                v.dedup();
                (!v.is_empty()).then(|| Pred::IntIn(v.into_boxed_slice()))
            }
            AttrType::Float => {
                let v: Vec<f64> = lits
                    .iter()
                    .filter_map(|l| {
                        if let Lit::Float(x) = l {
                            Some(*x)
                        } else {
                            None
                        }
                    })
                    .collect();
                (!v.is_empty()).then(|| Pred::FloatIn(v.into_boxed_slice()))
            }
            AttrType::Bool => {
                let mask = lits.iter().fold(0u8, |m, l| {
                    if let Lit::Bool(b) = l {
                        m | 1 << u8::from(*b)
                    } else {
                        m
                    }
                });
                (mask != 0).then_some(Pred::BoolIn(mask))
            }
            AttrType::Semver => {
                let v: Vec<semver::Version> = lits
                    .iter()
                    .filter_map(|l| {
                        if let Lit::Semver(x) = l {
                            Some(x.clone())
                        } else {
                            None
                        }
                    })
                    .collect();
                (!v.is_empty()).then(|| Pred::SemverIn(v.into_boxed_slice()))
            }
            AttrType::Datetime => {
                let v: Vec<jiff::Timestamp> = lits
                    .iter()
                    .filter_map(|l| {
                        if let Lit::Datetime(x) = l {
                            Some(*x)
                        } else {
                            None
                        }
                    })
                    .collect();
                (!v.is_empty()).then(|| Pred::DatetimeIn(v.into_boxed_slice()))
            }
            AttrType::Enum(values) => {
                // By name: the model's index → its name → the layout's index, if it has it.
                let AttrType::Enum(model_values) = model_ty else {
                    return None;
                };
                let set = EnumSet::new(lits.iter().filter_map(|l| {
                    let Lit::Enum(x) = l else { return None };
                    let name = model_values.get(*x as usize)?;
                    values.iter().position(|v| v == name).map(|p| p as u32)
                }));
                (!set.is_empty()).then_some(Pred::EnumIn(set))
            }
        };
        match pred {
            Some(pred) => Some(Test {
                field,
                negate,
                pred,
            }),
            // Equal to one of nothing: never. Equal to none of nothing: whenever set.
            None if negate => Some(Test {
                field,
                negate: false,
                pred: Pred::IsSet(SetKind::of(ty)),
            }),
            None => None,
        }
    }

    /// The bucketing attribute of a rollout in this layout; `None` when the layout lacks it
    /// or has it with a type that cannot bucket (the rule then never fires).
    fn bucket_key(&self, by: usize) -> Option<(usize, BucketKey)> {
        let field = (*self.fields.get(by)?)?;
        let key = match &self.layout.attrs()[field].ty {
            AttrType::String => BucketKey::Str,
            AttrType::Int => BucketKey::Int,
            AttrType::Enum(values) => {
                BucketKey::Enum(values.iter().map(|v| v.as_str().into()).collect())
            }
            _ => return None,
        };
        Some((field, key))
    }
}

/// For the lint: whether [`Compiler::test`] would build a test for `op` (rather than find that
/// it can never hold), without building it; `None` where that needs the test built (a string
/// test on an enum). Mirrors `test` case by case; `lint_matches_compiling` checks that both
/// agree.
fn lint_can_hold(model_ty: &AttrType, ty: &AttrType, op: &Op) -> Option<bool> {
    let (negate, lits) = match op {
        Op::In(l) => (false, l),
        Op::NotIn(l) => (true, l),
        Op::Cmp(_, lit) => {
            return Some(matches!(
                (ty, lit),
                (AttrType::Int, Lit::Int(_))
                    | (AttrType::Float, Lit::Float(_))
                    | (AttrType::Semver, Lit::Semver(_))
                    | (AttrType::Datetime, Lit::Datetime(_))
            ));
        }
        // A `matches` holds whenever its regex compiles, which the checker has made sure of.
        Op::Str(_, needles) => {
            return match ty {
                AttrType::String | AttrType::StringList => Some(!needles.is_empty()),
                AttrType::Enum(_) => None,
                _ => Some(false),
            };
        }
    };
    let any = |f: fn(&Lit) -> bool| lits.iter().any(f);
    let some = match ty {
        AttrType::String | AttrType::StringList => any(|l| matches!(l, Lit::Str(_))),
        AttrType::Int => any(|l| matches!(l, Lit::Int(_))),
        AttrType::Float => any(|l| matches!(l, Lit::Float(_))),
        AttrType::Bool => any(|l| matches!(l, Lit::Bool(_))),
        AttrType::Semver => any(|l| matches!(l, Lit::Semver(_))),
        AttrType::Datetime => any(|l| matches!(l, Lit::Datetime(_))),
        AttrType::Enum(values) => {
            let AttrType::Enum(model_values) = model_ty else {
                return Some(false);
            };
            lits.iter().any(|l| {
                matches!(l, Lit::Enum(x) if model_values
                    .get(*x as usize)
                    .is_some_and(|name| values.contains(name)))
            })
        }
    };
    Some(some || negate)
}

/// A string operator with its operands prepared; `None` when it can never hold (no operands,
/// or a regex that does not compile, which a checked model never has).
fn str_op(op: StrOp, needles: &[String]) -> Option<StrPred> {
    if needles.is_empty() {
        return None;
    }
    let boxed = || needles.iter().map(|n| n.as_str().into()).collect();
    Some(match op {
        StrOp::StartsWith => StrPred::StartsWith(boxed()),
        StrOp::EndsWith => StrPred::EndsWith(boxed()),
        StrOp::Contains => StrPred::Contains(needles.iter().map(|n| Needle::new(n)).collect()),
        StrOp::Matches => {
            // "Any of them matches somewhere" is one unanchored alternation; each pattern is
            // grouped so that its inline flags and alternatives stay its own.
            let pattern = if let [one] = needles {
                one.clone()
            } else {
                needles
                    .iter()
                    .map(|p| format!("(?:{p})"))
                    .collect::<Vec<_>>()
                    .join("|")
            };
            StrPred::Matches(regex(&pattern).ok()?)
        }
    })
}

/// The IR's compiled form of a pattern: the only place one is built. The checker calls it
/// too, for patterns big enough that compiling them might fail, so that a checked model holds
/// only patterns this builds.
pub(crate) fn regex(pattern: &str) -> Result<Pattern, regex::Error> {
    Pattern::new(pattern)
}

/// The one value a flag can take whatever the context, if there is one.
fn constant_value(rules: &[CompiledRule], default: &Value) -> Option<Value> {
    let mut outcomes: Vec<&Value> = Vec::new();
    for rule in rules {
        match &rule.outcome {
            CompiledOutcome::Value(v) => outcomes.push(v),
            CompiledOutcome::Rollout(r) => {
                outcomes.extend(
                    r.values
                        .iter()
                        .zip(r.weights.iter())
                        .filter(|(_, w)| **w > 0)
                        .map(|(v, _)| v),
                );
            }
        }
    }
    // The default is reachable unless the last rule always decides.
    if !rules.last().is_some_and(CompiledRule::is_unconditional) {
        outcomes.push(default);
    }
    let first = *outcomes.first()?;
    outcomes.iter().all(|v| *v == first).then(|| first.clone())
}

/// The static attributes a flag's rules refer to, directly or through segments.
fn statics_used(manifest: &Manifest, flag: &Flag) -> BTreeSet<usize> {
    fn walk(
        manifest: &Manifest,
        conds: &[Condition],
        seen: &mut Vec<bool>,
        out: &mut BTreeSet<usize>,
    ) {
        for c in conds {
            match c {
                Condition::Attr {
                    attr: AttrRef::Static(i),
                    ..
                } => {
                    out.insert(*i);
                }
                Condition::Attr { .. } => {}
                Condition::Segment { segments, .. } => {
                    for &s in segments {
                        if let (Some(false), Some(seg)) =
                            (seen.get(s).copied(), manifest.segments.get(s))
                        {
                            seen[s] = true;
                            walk(manifest, &seg.when, seen, out);
                        }
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    let mut seen = vec![false; manifest.segments.len()];
    for rule in &flag.rules {
        walk(manifest, &rule.when, &mut seen, &mut out);
    }
    out
}

/// Lints a checked model by compiling each flag under every combination of the static
/// attributes it refers to (with its own manifest's layout):
///
/// - `W0503` [`Code::NeverFires`] at a rule that survives no combination (rules after a
///   literally unconditional rule are left to the checker's `W0501`);
/// - `N0504` [`Code::ConstantFlag`] at a flag whose value is the same for every context in
///   every combination, except permanent flags without rules (operational knobs, constant by
///   design until someone edits them).
pub fn lint(model: &Model) -> Vec<Diagnostic> {
    lint_with(model, || Mode::Lint)
}

fn lint_with(model: &Model, mode: fn() -> Mode) -> Vec<Diagnostic> {
    let layout = Layout::of(&model.manifest);
    // Flags are linted on all cores, each thread with its own compiler (layout fields
    // resolved once); results come back in flag order.
    par::map_with(
        &model.flags,
        |f| LINT_WEIGHT * (1 + f.rules.len()),
        || {
            let statics = Statics {
                values: vec![0; model.manifest.statics.len()],
            };
            Compiler::new(model, statics, &layout, mode())
        },
        |c, flag| lint_flag(c, model, flag),
    )
    .into_iter()
    .flatten()
    .collect()
}

/// What linting one rule under one static combination is worth, in bytes of TOML checked
/// (see [`par::MIN_WORK`]): a few hundred flags are linted on one thread.
const LINT_WEIGHT: usize = 64;

fn lint_flag(c: &mut Compiler<'_>, model: &Model, flag: &Flag) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let used: Vec<usize> = statics_used(&model.manifest, flag).into_iter().collect();
    let sizes = used
        .iter()
        .map(|&i| model.manifest.statics[i].values.len() as u32)
        .collect();
    let mut fired = vec![false; flag.rules.len()];
    let mut constant: Option<Option<Value>> = None;
    let mut combos = 0usize;
    for combo in combinations(sizes) {
        combos += 1;
        let mut values = vec![0u32; model.manifest.statics.len()];
        for (&i, &v) in used.iter().zip(&combo) {
            values[i] = v;
        }
        c.restart(Statics { values });
        let compiled = c.flag(flag);
        for r in &compiled.rules {
            if let Some(f) = fired.get_mut(r.index) {
                *f = true;
            }
        }
        constant = Some(match constant {
            None => compiled.constant,
            Some(Some(c)) if compiled.constant.as_ref() == Some(&c) => Some(c),
            Some(_) => None,
        });
    }
    if combos == 0 {
        return out;
    }
    let shadowed_from = flag
        .rules
        .iter()
        .position(|r| r.when.is_empty() && matches!(r.outcome, Outcome::Value(_)))
        .map_or(usize::MAX, |p| p + 1);
    for (pos, rule) in flag.rules.iter().enumerate() {
        if pos >= shadowed_from || fired.get(rule.index).copied().unwrap_or(true) {
            continue;
        }
        let msg = if used.is_empty() {
            format!("{} of flag `{}` can never fire", rule.label(), flag.key)
        } else {
            format!(
                "{} of flag `{}` fires under no combination of the static attributes",
                rule.label(),
                flag.key
            )
        };
        out.push(
            Diagnostic::new(Severity::Warning, Code::NeverFires, &rule.loc.file, rule.loc.span.clone(), msg)
                .with_help("its conditions contradict the static values or an earlier rule; remove it or fix them"),
        );
    }
    if let Some(Some(value)) = constant
        && !(flag.permanent && flag.rules.is_empty())
    {
        let msg = format!(
            "flag `{}` is always {} whatever the context",
            flag.key,
            value.to_flag_value().display(&flag.ty)
        );
        out.push(
            Diagnostic::new(
                Severity::Note,
                Code::ConstantFlag,
                &flag.loc.file,
                flag.loc.span.clone(),
                msg,
            )
            .with_help("if it is fully rolled out, remove the flag and the code it guards"),
        );
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::StaticAttr;

    fn manifest() -> Manifest {
        Manifest {
            statics: vec![
                StaticAttr {
                    name: "env".into(),
                    values: vec!["dev".into(), "prod".into()],
                    loc: Default::default(),
                },
                StaticAttr {
                    name: "region".into(),
                    values: vec!["eu".into(), "us".into()],
                    loc: Default::default(),
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn statics_from_pairs() {
        let m = manifest();
        let s = Statics::from_pairs(&m, [("region", "us"), ("env", "prod")]).unwrap();
        assert_eq!((s.get(0), s.get(1)), (Some(1), Some(1)));
        assert_eq!(s.describe(&m), "env=prod, region=us");

        let e = Statics::from_pairs(&m, [("enx", "prod")]).unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(e[0].help().as_deref(), Some("did you mean `env`?"));
        assert!(matches!(&e[1], StaticsError::Missing { attr, .. } if attr == "env"));

        let e = Statics::from_pairs(&m, [("env", "prd"), ("region", "eu")]).unwrap_err();
        assert_eq!(
            e.len(),
            1,
            "an unknown value is not also reported missing: {e:?}"
        );
        assert_eq!(
            e[0].to_string(),
            "\"prd\" is not a value of static attribute `env`"
        );
        assert_eq!(e[0].help().as_deref(), Some("did you mean `prod`?"));
        assert_eq!(e[0].to_diagnostic().code, Code::StaticValue);

        let e = Statics::from_pairs(&m, [("env", "dev"), ("env", "dev"), ("region", "eu")])
            .unwrap_err();
        assert_eq!(e, vec![StaticsError::Duplicate { attr: "env".into() }]);
    }

    /// The lint's shortcuts (`Mode::Lint`, `lint_can_hold`) change nothing it reports: the
    /// same diagnostics as compiling every test for real, over the example flags and over
    /// a directory with every operator on every attribute type, holding and not.
    #[test]
    fn lint_matches_compiling() {
        let manifest = r#"format = 1
[static]
env = ["dev", "prod"]
tier = ["t-1", "t-2", "x-3"]
[context]
s = "string"
l = "string[]"
i = "int"
f = "float"
b = "bool"
v = "semver"
d = "datetime"
e = ["red", "green", "blue"]
[rollout]
by = "s"
[segments]
never = { env = "dev", tier = "x-3" }
reds = { e = "red", l = { contains = "a" } }
both = { segment = ["never", "reds"] }
"#;
        let conditions = [
            r#"s = "a""#,
            r#"s = ["a", "b"]"#,
            r#"s = { not_in = ["a"] }"#,
            r#"s = { starts_with = "a", ends_with = ["b", "c"] }"#,
            r#"s = { contains = "x", matches = ["^a", "b$"] }"#,
            r#"l = { matches = "x+" }"#,
            r#"l = ["a"]"#,
            "i = 3",
            "i = { in = [1, 2], gt = 0 }",
            "i = { not_in = [1], lte = 9 }",
            "f = { gte = 1.5 }",
            "f = [1.5, 2]",
            "b = true",
            "b = { not_in = [false] }",
            r#"v = { gte = "1.2.3", lt = "2.0.0-rc.1" }"#,
            r#"v = ["1.0.0"]"#,
            "d = { gt = 2026-01-01T00:00:00Z }",
            r#"e = { in = ["red", "blue"] }"#,
            r#"e = { not_in = ["red", "green", "blue"] }"#,
            r#"env = "dev""#,
            r#"env = { not_in = ["dev", "prod"] }"#,
            r#"tier = { in = ["t-1", "x-3"] }"#,
            r#"tier = { not_in = ["t-1"] }, env = "dev""#,
            r#"segment = "never""#,
            r#"segment = ["reds", "both"]"#,
            r#"env = "prod", segment = "both", s = { matches = "q" }"#,
        ];
        let mut flags = String::new();
        for (n, when) in conditions.iter().enumerate() {
            for (m, tail) in ["value = true", "rollout = 50"].iter().enumerate() {
                flags.push_str(&format!(
                    "[f{n}_{m}]\ndescription = \"d\"\nowner = \"o\"\nexpires = 2031-01-01\n\
                     default = false\n[[f{n}_{m}.rules]]\nwhen = {{ {when} }}\n{tail}\n\
                     [[f{n}_{m}.rules]]\nwhen = {{ {when} }}\nvalue = false\n\n"
                ));
            }
        }
        let mut diags = diag::Diagnostics::new();
        let sources = crate::Sources::from_memory(
            [("flagc.toml", manifest), ("f.toml", flags.as_str())],
            &mut diags,
        );
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/flags");
        for checked in [
            crate::check_sources(sources, diags, &crate::CheckOptions::default()),
            crate::check_dir(&examples, &crate::CheckOptions::default()).unwrap(),
        ] {
            let model = checked
                .model
                .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics));
            let fast = lint(&model);
            let built = lint_with(&model, || Mode::Build);
            assert_eq!(fast, built);
            // The generated flags exercise both findings.
            if model.flags.len() > 50 {
                for code in [Code::NeverFires, Code::ConstantFlag] {
                    assert!(fast.iter().any(|d| d.code == code), "{fast:#?}");
                }
            }
        }
    }

    #[test]
    fn statics_combinations_and_indices() {
        let m = manifest();
        let all: Vec<String> = Statics::combinations(&m).map(|s| s.describe(&m)).collect();
        assert_eq!(
            all,
            [
                "env=dev, region=eu",
                "env=dev, region=us",
                "env=prod, region=eu",
                "env=prod, region=us"
            ]
        );
        assert_eq!(Statics::combinations(&Manifest::default()).count(), 1);
        assert!(Statics::from_indices(&m, vec![1, 2]).is_none());
        assert!(Statics::from_indices(&m, vec![1]).is_none());
        assert!(Statics::from_indices(&m, vec![1, 1]).is_some());
    }
}
