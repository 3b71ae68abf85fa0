//! Evaluating compiled flags against a context.
//!
//! The evaluator is generic over [`ContextView`], so a generated typed `Context` struct (plain
//! `Option<T>` fields) is read directly, with every getter inlined; [`Context`] is the dynamic
//! implementation the CLI, the runtime and tests use, with setters by name that validate.
//!
//! **Invariant:** [`Program::eval`] never allocates and never hashes an attribute name: fields
//! are indices, string sets are pre-hashed tables, rollouts hash the salt and the value in
//! place (an int's decimal form is written to the stack).

use std::fmt;

use crate::bucket;
use crate::diag::{self, Code, Diagnostic, Severity};
use crate::ir::{
    BucketKey, CompiledFlag, CompiledOutcome, CompiledRollout, Cond, Layout, Needle, Pattern, Pred,
    Program, SetKind, StrPred, Test, Value,
};
use crate::model::{AttrType, CmpOp};

/// Read access to a context's attributes by field index (the [`Layout`]'s order).
///
/// Each getter returns `None` when the attribute is unset, or when the field is not of that
/// type; the defaults return `None`, so an implementation only writes the getters for the
/// types it has. Generated structs implement it with a `match` on the index, which the
/// optimizer turns into a direct field read once the evaluator is monomorphised.
pub trait ContextView {
    /// A `string` attribute.
    fn str(&self, _field: usize) -> Option<&str> {
        None
    }
    /// An `int` attribute.
    fn int(&self, _field: usize) -> Option<i64> {
        None
    }
    /// A `float` attribute.
    fn float(&self, _field: usize) -> Option<f64> {
        None
    }
    /// A `bool` attribute.
    fn bool(&self, _field: usize) -> Option<bool> {
        None
    }
    /// A `semver` attribute.
    fn semver(&self, _field: usize) -> Option<&semver::Version> {
        None
    }
    /// A `datetime` attribute.
    fn datetime(&self, _field: usize) -> Option<jiff::Timestamp> {
        None
    }
    /// An enum attribute: index into the layout's values for it.
    fn enum_index(&self, _field: usize) -> Option<u32> {
        None
    }
    /// A `string[]` attribute (an empty list is set).
    fn list(&self, _field: usize) -> Option<&[String]> {
        None
    }
}

impl<C: ContextView + ?Sized> ContextView for &C {
    fn str(&self, f: usize) -> Option<&str> {
        (**self).str(f)
    }
    fn int(&self, f: usize) -> Option<i64> {
        (**self).int(f)
    }
    fn float(&self, f: usize) -> Option<f64> {
        (**self).float(f)
    }
    fn bool(&self, f: usize) -> Option<bool> {
        (**self).bool(f)
    }
    fn semver(&self, f: usize) -> Option<&semver::Version> {
        (**self).semver(f)
    }
    fn datetime(&self, f: usize) -> Option<jiff::Timestamp> {
        (**self).datetime(f)
    }
    fn enum_index(&self, f: usize) -> Option<u32> {
        (**self).enum_index(f)
    }
    fn list(&self, f: usize) -> Option<&[String]> {
        (**self).list(f)
    }
}

/// The result of evaluating one flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation<'p> {
    /// The flag's value.
    pub value: &'p Value,
    /// The source index (0-based, as written) of the rule that decided; `None` for the default.
    pub rule: Option<usize>,
}

impl Program {
    /// Evaluates flag number `flag` (see [`Program::flag_index`]) against `ctx`.
    ///
    /// # Panics
    ///
    /// If `flag` is not an index of this program (indices come from [`Program::flag_index`]
    /// or the position in [`Program::flags`]).
    #[inline(always)]
    pub fn eval<C: ContextView + ?Sized>(&self, flag: usize, ctx: &C) -> Evaluation<'_> {
        // The rule loop hands back two words (returned in registers, not through memory);
        // the `Evaluation` is assembled here, in the caller, where it usually stays in
        // registers too.
        let (value, rule) = decide(&self.flags[flag], ctx);
        Evaluation {
            value,
            rule: rule.checked_sub(1),
        }
    }

    /// Evaluates a flag by key; `None` when the program has no such flag.
    pub fn eval_key<C: ContextView + ?Sized>(&self, key: &str, ctx: &C) -> Option<Evaluation<'_>> {
        self.flag_index(key).map(|i| self.eval(i, ctx))
    }
}

/// The value and `1 + the deciding rule's index` (0 for the default).
#[inline(always)]
fn decide<'p, C: ContextView + ?Sized>(f: &'p CompiledFlag, ctx: &C) -> (&'p Value, usize) {
    if f.rules.is_empty() {
        return (&f.default, 0);
    }
    decide_rules(f, ctx)
}

#[inline]
fn decide_rules<'p, C: ContextView + ?Sized>(f: &'p CompiledFlag, ctx: &C) -> (&'p Value, usize) {
    // One function with the tests inlined: a rule is a few tests, and calls with their
    // register saves would cost as much as the tests themselves.
    'rules: for rule in &f.rules {
        for c in &rule.when {
            let holds = match c {
                Cond::Test(t) => t.holds(ctx),
                Cond::Any(branches) => any_branch(branches, ctx),
            };
            if !holds {
                continue 'rules;
            }
        }
        match &rule.outcome {
            CompiledOutcome::Value(v) => return (v, rule.index + 1),
            CompiledOutcome::Rollout(r) => {
                // An unset bucketing attribute: the rule does not match, go on.
                if let Some(i) = rollout_pick(r, ctx)
                    && let Some(v) = r.values.get(i)
                {
                    return (v, rule.index + 1);
                }
            }
        }
    }
    (&f.default, 0)
}

/// Segments: any branch whose conditions all hold (rarer, so out of line).
#[inline(never)]
fn any_branch<C: ContextView + ?Sized>(branches: &[Box<[Cond]>], ctx: &C) -> bool {
    branches.iter().any(|b| all(b, ctx))
}

fn all<C: ContextView + ?Sized>(conds: &[Cond], ctx: &C) -> bool {
    conds.iter().all(|c| match c {
        Cond::Test(t) => t.holds(ctx),
        Cond::Any(branches) => any_branch(branches, ctx),
    })
}

/// The bucket index for a rollout, or `None` when the bucketing attribute is unset.
#[inline]
fn rollout_pick<C: ContextView + ?Sized>(r: &CompiledRollout, ctx: &C) -> Option<usize> {
    let b = match &r.key {
        BucketKey::Str => r.salt.bucket(ctx.str(r.field)?.as_bytes()),
        BucketKey::Int => {
            let mut buf = [0u8; 20];
            r.salt.bucket(decimal(ctx.int(r.field)?, &mut buf))
        }
        BucketKey::Enum(names) => r
            .salt
            .bucket(names.get(ctx.enum_index(r.field)? as usize)?.as_bytes()),
    };
    Some(bucket::pick(&r.weights, b))
}

/// `n` in decimal, written into `buf` (20 bytes hold any i64), without allocating.
pub(crate) fn decimal(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut u = n.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

impl Test {
    /// Whether the test holds for `ctx` (never for an unset attribute).
    #[inline(always)]
    pub fn holds<C: ContextView + ?Sized>(&self, ctx: &C) -> bool {
        let f = self.field;
        let hit = match &self.pred {
            // The most common test, inlined here rather than dispatched twice.
            Pred::Str(StrPred::In(set)) => match ctx.str(f) {
                Some(s) => set.contains(s),
                None => return false,
            },
            Pred::Str(p) => match ctx.str(f) {
                Some(s) => p.holds(s),
                None => return false,
            },
            Pred::List(p) => match ctx.list(f) {
                Some(l) => l.iter().any(|s| p.holds(s)),
                None => return false,
            },
            Pred::EnumIn(set) => match ctx.enum_index(f) {
                Some(i) => set.contains(i),
                None => return false,
            },
            Pred::IntIn(set) => match ctx.int(f) {
                Some(i) => set.contains(&i),
                None => return false,
            },
            Pred::IntCmp(op, lit) => match ctx.int(f) {
                Some(i) => op.holds(i.cmp(lit)),
                None => return false,
            },
            Pred::FloatIn(set) => match ctx.float(f) {
                Some(x) => set.contains(&x),
                None => return false,
            },
            Pred::FloatCmp(op, lit) => match ctx.float(f) {
                Some(x) => float_cmp(*op, x, *lit),
                None => return false,
            },
            Pred::BoolIn(mask) => match ctx.bool(f) {
                Some(b) => mask & (1 << u8::from(b)) != 0,
                None => return false,
            },
            Pred::SemverIn(set) => match ctx.semver(f) {
                Some(v) => set.iter().any(|l| v.cmp_precedence(l).is_eq()),
                None => return false,
            },
            Pred::SemverCmp(op, lit) => match ctx.semver(f) {
                Some(v) => op.holds(v.cmp_precedence(lit)),
                None => return false,
            },
            Pred::DatetimeIn(set) => match ctx.datetime(f) {
                Some(t) => set.contains(&t),
                None => return false,
            },
            Pred::DatetimeCmp(op, lit) => match ctx.datetime(f) {
                Some(t) => op.holds(t.cmp(lit)),
                None => return false,
            },
            Pred::IsSet(kind) => match kind {
                SetKind::Str => ctx.str(f).is_some(),
                SetKind::Int => ctx.int(f).is_some(),
                SetKind::Float => ctx.float(f).is_some(),
                SetKind::Bool => ctx.bool(f).is_some(),
                SetKind::Semver => ctx.semver(f).is_some(),
                SetKind::Datetime => ctx.datetime(f).is_some(),
                SetKind::List => ctx.list(f).is_some(),
                SetKind::Enum => ctx.enum_index(f).is_some(),
            },
        };
        hit != self.negate
    }
}

/// Plain IEEE comparison: any comparison with NaN is false.
#[inline]
pub(crate) fn float_cmp(op: CmpOp, x: f64, lit: f64) -> bool {
    match op {
        CmpOp::Lt => x < lit,
        CmpOp::Lte => x <= lit,
        CmpOp::Gt => x > lit,
        CmpOp::Gte => x >= lit,
    }
}

impl StrPred {
    /// Whether one string passes.
    #[inline]
    pub fn holds(&self, s: &str) -> bool {
        match self {
            StrPred::In(set) => set.contains(s),
            StrPred::StartsWith(n) => n.iter().any(|n| s.starts_with(&**n)),
            StrPred::EndsWith(n) => n.iter().any(|n| s.ends_with(&**n)),
            StrPred::Contains(n) => contains_any(n, s),
            StrPred::Matches(re) => is_match(re, s),
        }
    }
}

// Substring search and regex matching inline a lot of code; kept out of line so that the
// common tests (set membership, prefixes) stay small enough to inline into `eval`.
#[inline(never)]
fn contains_any(needles: &[Needle], s: &str) -> bool {
    needles.iter().any(|n| n.is_in(s))
}

#[inline(never)]
fn is_match(re: &Pattern, s: &str) -> bool {
    re.is_match(s)
}

/// A dynamic context: one slot per [`Layout`] field, set by name with validation.
///
/// Setters never panic; a value that does not fit the attribute is a [`ContextError`] and
/// leaves the slot as it was.
#[derive(Debug, Clone)]
pub struct Context<'l> {
    layout: &'l Layout,
    slots: Vec<Slot>,
}

/// One attribute's value in a [`Context`].
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// Not set: no condition on it matches.
    Unset,
    /// A `string`.
    Str(String),
    /// An `int`.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `bool`.
    Bool(bool),
    /// A `semver`.
    Semver(semver::Version),
    /// A `datetime`.
    Datetime(jiff::Timestamp),
    /// An enum value: index into the layout's values.
    Enum(u32),
    /// A `string[]`.
    List(Vec<String>),
}

/// Why a context value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextError {
    /// The layout has no attribute of that name.
    UnknownAttribute {
        /// The name given.
        name: String,
        /// A close name, if any.
        suggestion: Option<String>,
    },
    /// The value is of the wrong kind for the attribute (a number for a string, …).
    WrongType {
        /// The attribute.
        attr: String,
        /// Its type, as the manifest spells it.
        expected: String,
        /// What was given.
        got: String,
    },
    /// The value has the right kind but is not valid for the type (bad semver, …).
    Invalid {
        /// The attribute.
        attr: String,
        /// Its type, as the manifest spells it.
        expected: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not one of an enum attribute's values.
    UnknownValue {
        /// The attribute.
        attr: String,
        /// The value given.
        value: String,
        /// The allowed values.
        allowed: Vec<String>,
    },
    /// A JSON context that is not an object.
    NotAnObject,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextError::UnknownAttribute { name, .. } => {
                write!(f, "unknown context attribute `{name}`")
            }
            ContextError::WrongType {
                attr,
                expected,
                got,
            } => {
                write!(
                    f,
                    "context attribute `{attr}` is a {expected}, but the value is {got}"
                )
            }
            ContextError::Invalid {
                attr,
                expected,
                value,
                reason,
            } => {
                write!(
                    f,
                    "invalid {expected} {value:?} for context attribute `{attr}`: {reason}"
                )
            }
            ContextError::UnknownValue { attr, value, .. } => {
                write!(f, "{value:?} is not a value of context attribute `{attr}`")
            }
            ContextError::NotAnObject => f.write_str("a context must be a JSON object"),
        }
    }
}

impl std::error::Error for ContextError {}

impl ContextError {
    /// A help line: the nearest name, or what is allowed.
    pub fn help(&self) -> Option<String> {
        match self {
            ContextError::UnknownAttribute {
                suggestion: Some(s),
                ..
            } => Some(format!("did you mean `{s}`?")),
            ContextError::UnknownAttribute {
                suggestion: None, ..
            } => None,
            ContextError::UnknownValue { value, allowed, .. } => {
                diag::did_you_mean(value, allowed.iter().map(String::as_str))
            }
            ContextError::WrongType { expected, .. } | ContextError::Invalid { expected, .. } => {
                Some(format!("give a {expected}, or null to leave it unset"))
            }
            ContextError::NotAnObject => {
                Some("write one object per line: {\"user_id\": \"u-1\"}".into())
            }
        }
    }

    /// As a diagnostic (`E0602`), for front ends that render diagnostics.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let d = Diagnostic::global(Severity::Error, Code::ContextValue, None, self.to_string());
        match self.help() {
            Some(h) => d.with_help(h),
            None => d,
        }
    }
}

/// A JSON value described for an error message.
fn json_kind(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(b) => format!("the bool {b}"),
        serde_json::Value::Number(n) => format!("the number {n}"),
        serde_json::Value::String(s) => format!("the string {s:?}"),
        serde_json::Value::Array(_) => "an array".into(),
        serde_json::Value::Object(_) => "an object".into(),
    }
}

/// The manifest spelling of a type, enums included (`["free", "pro"]`).
fn type_name(ty: &AttrType) -> String {
    match ty {
        AttrType::Enum(values) => format!("enum of {values:?}"),
        t => t.name().to_owned(),
    }
}

impl<'l> Context<'l> {
    /// An empty context (every attribute unset) for `layout`.
    pub fn new(layout: &'l Layout) -> Self {
        Context {
            layout,
            slots: vec![Slot::Unset; layout.len()],
        }
    }

    /// A context from a JSON object (one line of a `--contexts` file): `null` leaves an
    /// attribute unset. Stops at the first error.
    pub fn from_json(layout: &'l Layout, json: &serde_json::Value) -> Result<Self, ContextError> {
        let obj = json.as_object().ok_or(ContextError::NotAnObject)?;
        let mut ctx = Context::new(layout);
        for (k, v) in obj {
            ctx.set_json(k, v)?;
        }
        Ok(ctx)
    }

    /// The layout this context is for.
    pub fn layout(&self) -> &'l Layout {
        self.layout
    }

    /// The slot of field `i` (`None` past the end).
    pub fn slot(&self, i: usize) -> Option<&Slot> {
        self.slots.get(i)
    }

    /// The slot of an attribute by name.
    pub fn get(&self, name: &str) -> Option<&Slot> {
        self.layout.index(name).and_then(|i| self.slots.get(i))
    }

    fn field(&self, name: &str) -> Result<(usize, &'l AttrType), ContextError> {
        let layout = self.layout;
        match layout.index(name) {
            Some(i) => Ok((i, &layout.attrs()[i].ty)),
            None => Err(ContextError::UnknownAttribute {
                name: name.to_owned(),
                suggestion: diag::suggest(name, layout.attrs().iter().map(|a| a.name.as_str()))
                    .map(str::to_owned),
            }),
        }
    }

    fn wrong(&self, name: &str, ty: &AttrType, got: String) -> ContextError {
        ContextError::WrongType {
            attr: name.to_owned(),
            expected: type_name(ty),
            got,
        }
    }

    fn put(&mut self, i: usize, slot: Slot) {
        if let Some(s) = self.slots.get_mut(i) {
            *s = slot;
        }
    }

    /// Leaves an attribute unset.
    pub fn unset(&mut self, name: &str) -> Result<(), ContextError> {
        let (i, _) = self.field(name)?;
        self.put(i, Slot::Unset);
        Ok(())
    }

    /// Sets an attribute from its text form, as given on a command line (`--context k=v`):
    /// strings as they are, numbers and bools parsed, semver and RFC 3339 datetimes validated,
    /// enum values by name, and a `string[]` as comma-separated elements (an empty text is the
    /// empty list).
    pub fn set_text(&mut self, name: &str, text: &str) -> Result<(), ContextError> {
        let (i, ty) = self.field(name)?;
        let invalid = |reason: String| ContextError::Invalid {
            attr: name.to_owned(),
            expected: type_name(ty),
            value: text.to_owned(),
            reason,
        };
        let slot = match ty {
            AttrType::String => Slot::Str(text.to_owned()),
            AttrType::Int => Slot::Int(text.trim().parse().map_err(|e| invalid(format!("{e}")))?),
            AttrType::Float => {
                Slot::Float(text.trim().parse().map_err(|e| invalid(format!("{e}")))?)
            }
            AttrType::Bool => match text.trim() {
                "true" => Slot::Bool(true),
                "false" => Slot::Bool(false),
                _ => return Err(invalid("expected `true` or `false`".into())),
            },
            AttrType::Semver => Slot::Semver(parse_semver(text).map_err(invalid)?),
            AttrType::Datetime => Slot::Datetime(parse_datetime(text).map_err(invalid)?),
            AttrType::Enum(values) => Slot::Enum(enum_value(name, values, text)?),
            AttrType::StringList => Slot::List(if text.is_empty() {
                Vec::new()
            } else {
                text.split(',').map(str::to_owned).collect()
            }),
        };
        self.put(i, slot);
        Ok(())
    }

    /// Sets an attribute from JSON (a `--contexts` line): `null` unsets; strings for
    /// `string`, `semver`, `datetime` and enum attributes; integers for `int`; numbers for
    /// `float`; bools for `bool`; arrays of strings for `string[]`.
    pub fn set_json(&mut self, name: &str, value: &serde_json::Value) -> Result<(), ContextError> {
        use serde_json::Value as J;
        let (i, ty) = self.field(name)?;
        let slot = match (ty, value) {
            (_, J::Null) => Slot::Unset,
            (AttrType::String, J::String(s)) => Slot::Str(s.clone()),
            (AttrType::Int, J::Number(n)) => match n.as_i64() {
                Some(x) => Slot::Int(x),
                None => {
                    return Err(ContextError::Invalid {
                        attr: name.to_owned(),
                        expected: type_name(ty),
                        value: n.to_string(),
                        reason: "not an integer in the i64 range".into(),
                    });
                }
            },
            (AttrType::Float, J::Number(n)) => match n.as_f64() {
                Some(x) => Slot::Float(x),
                None => return Err(self.wrong(name, ty, json_kind(value))),
            },
            (AttrType::Bool, J::Bool(b)) => Slot::Bool(*b),
            (AttrType::Semver | AttrType::Datetime | AttrType::Enum(_), J::String(s)) => {
                return self.set_text(name, s);
            }
            (AttrType::StringList, J::Array(items)) => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        J::String(s) => list.push(s.clone()),
                        other => {
                            return Err(self.wrong(
                                name,
                                ty,
                                format!("an array holding {}", json_kind(other)),
                            ));
                        }
                    }
                }
                Slot::List(list)
            }
            _ => return Err(self.wrong(name, ty, json_kind(value))),
        };
        self.put(i, slot);
        Ok(())
    }

    fn set_typed(
        &mut self,
        name: &str,
        want: SetKind,
        slot: Slot,
        got: &str,
    ) -> Result<(), ContextError> {
        let (i, ty) = self.field(name)?;
        if SetKind::of(ty) != want {
            return Err(self.wrong(name, ty, got.to_owned()));
        }
        self.put(i, slot);
        Ok(())
    }

    /// Sets a `string` attribute.
    pub fn set_str(&mut self, name: &str, value: impl Into<String>) -> Result<(), ContextError> {
        self.set_typed(name, SetKind::Str, Slot::Str(value.into()), "a string")
    }

    /// Sets an `int` attribute.
    pub fn set_int(&mut self, name: &str, value: i64) -> Result<(), ContextError> {
        self.set_typed(name, SetKind::Int, Slot::Int(value), "an int")
    }

    /// Sets a `float` attribute.
    pub fn set_float(&mut self, name: &str, value: f64) -> Result<(), ContextError> {
        self.set_typed(name, SetKind::Float, Slot::Float(value), "a float")
    }

    /// Sets a `bool` attribute.
    pub fn set_bool(&mut self, name: &str, value: bool) -> Result<(), ContextError> {
        self.set_typed(name, SetKind::Bool, Slot::Bool(value), "a bool")
    }

    /// Sets a `semver` attribute.
    pub fn set_semver(&mut self, name: &str, value: semver::Version) -> Result<(), ContextError> {
        self.set_typed(name, SetKind::Semver, Slot::Semver(value), "a semver")
    }

    /// Sets a `datetime` attribute.
    pub fn set_datetime(&mut self, name: &str, value: jiff::Timestamp) -> Result<(), ContextError> {
        self.set_typed(name, SetKind::Datetime, Slot::Datetime(value), "a datetime")
    }

    /// Sets an enum attribute by value name.
    pub fn set_enum(&mut self, name: &str, value: &str) -> Result<(), ContextError> {
        let (i, ty) = self.field(name)?;
        match ty {
            AttrType::Enum(values) => {
                let v = enum_value(name, values, value)?;
                self.put(i, Slot::Enum(v));
                Ok(())
            }
            _ => Err(self.wrong(name, ty, format!("the enum value {value:?}"))),
        }
    }

    /// Sets a `string[]` attribute.
    pub fn set_list<S: Into<String>>(
        &mut self,
        name: &str,
        value: impl IntoIterator<Item = S>,
    ) -> Result<(), ContextError> {
        let list = value.into_iter().map(Into::into).collect();
        self.set_typed(name, SetKind::List, Slot::List(list), "a list of strings")
    }
}

fn parse_semver(text: &str) -> Result<semver::Version, String> {
    semver::Version::parse(text.trim()).map_err(|e| e.to_string())
}

fn parse_datetime(text: &str) -> Result<jiff::Timestamp, String> {
    // jiff's Timestamp parser requires an offset (or `Z`), which is what RFC 3339 says and
    // what the design asks: a local time without offset is ambiguous.
    text.trim()
        .parse::<jiff::Timestamp>()
        .map_err(|e| format!("{e} (expected RFC 3339 with an offset)"))
}

fn enum_value(attr: &str, values: &[String], value: &str) -> Result<u32, ContextError> {
    match values.iter().position(|v| v == value) {
        Some(i) => Ok(i as u32),
        None => Err(ContextError::UnknownValue {
            attr: attr.to_owned(),
            value: value.to_owned(),
            allowed: values.to_vec(),
        }),
    }
}

impl ContextView for Context<'_> {
    #[inline]
    fn str(&self, i: usize) -> Option<&str> {
        match self.slots.get(i)? {
            Slot::Str(s) => Some(s),
            _ => None,
        }
    }
    #[inline]
    fn int(&self, i: usize) -> Option<i64> {
        match self.slots.get(i)? {
            Slot::Int(x) => Some(*x),
            _ => None,
        }
    }
    #[inline]
    fn float(&self, i: usize) -> Option<f64> {
        match self.slots.get(i)? {
            Slot::Float(x) => Some(*x),
            _ => None,
        }
    }
    #[inline]
    fn bool(&self, i: usize) -> Option<bool> {
        match self.slots.get(i)? {
            Slot::Bool(b) => Some(*b),
            _ => None,
        }
    }
    #[inline]
    fn semver(&self, i: usize) -> Option<&semver::Version> {
        match self.slots.get(i)? {
            Slot::Semver(v) => Some(v),
            _ => None,
        }
    }
    #[inline]
    fn datetime(&self, i: usize) -> Option<jiff::Timestamp> {
        match self.slots.get(i)? {
            Slot::Datetime(t) => Some(*t),
            _ => None,
        }
    }
    #[inline]
    fn enum_index(&self, i: usize) -> Option<u32> {
        match self.slots.get(i)? {
            Slot::Enum(x) => Some(*x),
            _ => None,
        }
    }
    #[inline]
    fn list(&self, i: usize) -> Option<&[String]> {
        match self.slots.get(i)? {
            Slot::List(l) => Some(l),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decimal_forms() {
        let mut buf = [0u8; 20];
        for n in [0i64, 7, -7, 42, 1_000_000, i64::MAX, i64::MIN, -1] {
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }

    fn layout() -> Layout {
        Layout::new([
            ("s".to_owned(), AttrType::String),
            ("i".to_owned(), AttrType::Int),
            ("f".to_owned(), AttrType::Float),
            ("b".to_owned(), AttrType::Bool),
            ("v".to_owned(), AttrType::Semver),
            ("d".to_owned(), AttrType::Datetime),
            ("l".to_owned(), AttrType::StringList),
            (
                "e".to_owned(),
                AttrType::Enum(vec!["free".into(), "pro".into()]),
            ),
        ])
    }

    #[test]
    fn text_setters_parse_and_validate() {
        let l = layout();
        let mut c = Context::new(&l);
        c.set_text("s", "x,y").unwrap();
        c.set_text("i", "-12").unwrap();
        c.set_text("f", "2.5").unwrap();
        c.set_text("b", "true").unwrap();
        c.set_text("v", "1.2.3-rc.1").unwrap();
        c.set_text("d", "2026-06-01T00:00:00+02:00").unwrap();
        c.set_text("l", "a,b").unwrap();
        c.set_text("e", "pro").unwrap();
        assert_eq!(c.str(0), Some("x,y"));
        assert_eq!(c.int(1), Some(-12));
        assert_eq!(c.float(2), Some(2.5));
        assert_eq!(c.bool(3), Some(true));
        assert_eq!(
            c.semver(4).map(ToString::to_string).as_deref(),
            Some("1.2.3-rc.1")
        );
        assert_eq!(c.datetime(5), Some("2026-05-31T22:00:00Z".parse().unwrap()));
        assert_eq!(c.list(6), Some(&["a".to_owned(), "b".to_owned()][..]));
        assert_eq!(c.enum_index(7), Some(1));
        // Getters of the wrong type see nothing.
        assert_eq!(c.int(0), None);
        assert_eq!(c.str(99), None);

        c.set_text("l", "").unwrap();
        assert_eq!(c.list(6), Some(&[][..]));

        for (k, v) in [
            ("i", "1.5"),
            ("f", "x"),
            ("b", "yes"),
            ("v", "banana"),
            ("d", "2026-06-01T00:00:00"),
        ] {
            let e = c.set_text(k, v).unwrap_err();
            assert!(matches!(e, ContextError::Invalid { .. }), "{k}={v}: {e}");
        }
        // A refused value leaves the slot as it was.
        assert_eq!(
            c.semver(4).map(ToString::to_string).as_deref(),
            Some("1.2.3-rc.1")
        );
        let e = c.set_text("e", "prp").unwrap_err();
        assert_eq!(e.help().as_deref(), Some("did you mean `pro`?"));
        let e = c.set_text("usr", "x").unwrap_err();
        assert!(matches!(e, ContextError::UnknownAttribute { .. }));
        assert_eq!(e.to_diagnostic().code, Code::ContextValue);
    }

    #[test]
    fn json_setters() {
        let l = layout();
        let json = serde_json::json!({"s": "u", "i": 3, "f": 1, "b": false, "v": "2.0.0",
            "d": "2026-01-01T00:00:00Z", "l": ["x"], "e": "free"});
        let c = Context::from_json(&l, &json).unwrap();
        assert_eq!(c.float(2), Some(1.0));
        assert_eq!(c.enum_index(7), Some(0));
        assert_eq!(c.list(6).map(<[String]>::len), Some(1));

        let mut c = Context::from_json(&l, &serde_json::json!({"s": null})).unwrap();
        assert_eq!(c.str(0), None);
        for (k, v) in [
            ("s", serde_json::json!(1)),
            ("i", serde_json::json!(1.5)),
            ("i", serde_json::json!("1")),
            ("b", serde_json::json!("true")),
            ("l", serde_json::json!([1])),
            ("l", serde_json::json!("a")),
            ("v", serde_json::json!("1.0")),
        ] {
            assert!(c.set_json(k, &v).is_err(), "{k}={v}");
        }
        assert_eq!(
            Context::from_json(&l, &serde_json::json!([])).unwrap_err(),
            ContextError::NotAnObject
        );
    }

    #[test]
    fn typed_setters_check_the_type() {
        let l = layout();
        let mut c = Context::new(&l);
        assert!(c.set_str("i", "x").is_err());
        assert!(c.set_int("s", 1).is_err());
        assert!(c.set_enum("s", "free").is_err());
        c.set_int("i", 4).unwrap();
        c.set_list("l", ["a"]).unwrap();
        c.unset("i").unwrap();
        assert_eq!(c.int(1), None);
        assert_eq!(c.get("l"), Some(&Slot::List(vec!["a".into()])));
    }
}
