//! The checked model: a flag directory after every check has passed.
//!
//! Everything here is resolved and typed: attribute references are indices into the manifest,
//! literals have the attribute's type, enum values are indices, percentages are exact weights.
//! It still remembers where everything came from ([`Loc`]) for explanations and diffs.
//!
//! **Invariant:** a `Model` only exists for a directory without errors; every index in it is
//! in bounds and every literal fits the type it is compared with.

use std::fmt;
use std::ops::Range;

/// A place in a flag file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Loc {
    /// File, relative to the flag directory.
    pub file: String,
    /// Byte span.
    pub span: Range<usize>,
}

/// The type of a static or context attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttrType {
    /// A UTF-8 string.
    String,
    /// An `i64`.
    Int,
    /// An `f64`.
    Float,
    /// A `bool`.
    Bool,
    /// A semantic version, compared by precedence.
    Semver,
    /// An RFC 3339 instant.
    Datetime,
    /// A list of strings; conditions ask about its elements.
    StringList,
    /// One of the listed values.
    Enum(Vec<String>),
}

impl AttrType {
    /// The manifest spelling of a non-enum type (`"string"`, `"string[]"`, …).
    pub fn name(&self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Int => "int",
            AttrType::Float => "float",
            AttrType::Bool => "bool",
            AttrType::Semver => "semver",
            AttrType::Datetime => "datetime",
            AttrType::StringList => "string[]",
            AttrType::Enum(_) => "enum",
        }
    }

    /// Parses a manifest type name (not an enum).
    pub fn from_name(name: &str) -> Option<AttrType> {
        Some(match name {
            "string" => AttrType::String,
            "int" => AttrType::Int,
            "float" => AttrType::Float,
            "bool" => AttrType::Bool,
            "semver" => AttrType::Semver,
            "datetime" => AttrType::Datetime,
            "string[]" => AttrType::StringList,
            _ => return None,
        })
    }

    /// Every non-enum type name.
    pub const NAMES: [&'static str; 7] = [
        "string", "int", "float", "bool", "semver", "datetime", "string[]",
    ];

    /// Whether `lt`/`lte`/`gt`/`gte` apply.
    pub fn is_ordered(&self) -> bool {
        matches!(
            self,
            AttrType::Int | AttrType::Float | AttrType::Semver | AttrType::Datetime
        )
    }
}

/// Which attribute a condition is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttrRef {
    /// Index into [`Manifest::statics`].
    Static(usize),
    /// Index into [`Manifest::context`].
    Context(usize),
}

/// A static attribute: always an enum, fixed when flags are compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticAttr {
    /// Its name (a Rust identifier).
    pub name: String,
    /// The values it can take.
    pub values: Vec<String>,
    /// Where it is declared.
    pub loc: Loc,
}

/// A context attribute: known per evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextAttr {
    /// Its name (a Rust identifier).
    pub name: String,
    /// Its type.
    pub ty: AttrType,
    /// Where it is declared.
    pub loc: Loc,
}

/// A named, reusable condition set.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Its name.
    pub name: String,
    /// All must hold.
    pub when: Vec<Condition>,
    /// Where it is declared.
    pub loc: Loc,
}

/// The manifest, `flagc.toml`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Manifest {
    /// `format`, 1 when absent.
    pub format: u32,
    /// `[static]` attributes, in declaration order.
    pub statics: Vec<StaticAttr>,
    /// `[context]` attributes, in declaration order.
    pub context: Vec<ContextAttr>,
    /// `[rollout] by`: index into `context`.
    pub rollout_by: Option<usize>,
    /// `[segments]`, in declaration order. Segment conditions may reference other segments;
    /// they are acyclic.
    pub segments: Vec<Segment>,
    /// `[codegen] deprecate_expired` (default true): expired flags' accessors are
    /// `#[deprecated]`.
    pub deprecate_expired: bool,
}

impl Manifest {
    /// A static attribute's index by name.
    pub fn static_index(&self, name: &str) -> Option<usize> {
        self.statics.iter().position(|s| s.name == name)
    }

    /// A context attribute's index by name.
    pub fn context_index(&self, name: &str) -> Option<usize> {
        self.context.iter().position(|s| s.name == name)
    }

    /// A segment's index by name.
    pub fn segment_index(&self, name: &str) -> Option<usize> {
        self.segments.iter().position(|s| s.name == name)
    }

    /// The name of an attribute.
    pub fn attr_name(&self, a: AttrRef) -> &str {
        match a {
            AttrRef::Static(i) => &self.statics[i].name,
            AttrRef::Context(i) => &self.context[i].name,
        }
    }

    /// The type of an attribute (statics are enums).
    pub fn attr_type(&self, a: AttrRef) -> AttrType {
        match a {
            AttrRef::Static(i) => AttrType::Enum(self.statics[i].values.clone()),
            AttrRef::Context(i) => self.context[i].ty.clone(),
        }
    }
}

/// A calendar date (for `expires`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year.
    pub year: i16,
    /// Month, 1–12.
    pub month: i8,
    /// Day, 1–31.
    pub day: i8,
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A flag's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagType {
    /// `bool`.
    Bool,
    /// `i64`.
    Int,
    /// `f64`.
    Float,
    /// A string.
    String,
    /// One of the listed variants.
    Enum(Vec<String>),
}

impl FlagType {
    /// `bool`, `int`, `float`, `string` or `enum`.
    pub fn name(&self) -> &'static str {
        match self {
            FlagType::Bool => "bool",
            FlagType::Int => "int",
            FlagType::Float => "float",
            FlagType::String => "string",
            FlagType::Enum(_) => "enum",
        }
    }

    /// The names of a rollout's buckets, in bucketing order: `["true", "false"]` for bool
    /// flags, the variants for enum flags, none otherwise.
    pub fn rollout_keys(&self) -> Option<Vec<&str>> {
        match self {
            FlagType::Bool => Some(vec!["true", "false"]),
            FlagType::Enum(v) => Some(v.iter().map(String::as_str).collect()),
            _ => None,
        }
    }

    /// The value of rollout bucket `i` (see [`FlagType::rollout_keys`]).
    pub fn rollout_value(&self, i: usize) -> FlagValue {
        match self {
            FlagType::Bool => FlagValue::Bool(i == 0),
            _ => FlagValue::Enum(i as u32),
        }
    }
}

/// A flag's value.
#[derive(Debug, Clone, PartialEq)]
pub enum FlagValue {
    /// A bool flag's value.
    Bool(bool),
    /// An int flag's value.
    Int(i64),
    /// A float flag's value.
    Float(f64),
    /// A string flag's value.
    Str(String),
    /// An enum flag's value: index into its variants.
    Enum(u32),
}

impl FlagValue {
    /// The value as JSON (enum values as their variant names).
    pub fn to_json(&self, ty: &FlagType) -> serde_json::Value {
        match (self, ty) {
            (FlagValue::Bool(b), _) => (*b).into(),
            (FlagValue::Int(i), _) => (*i).into(),
            (FlagValue::Float(f), _) => {
                serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
            }
            (FlagValue::Str(s), _) => s.as_str().into(),
            (FlagValue::Enum(i), FlagType::Enum(v)) => v[*i as usize].as_str().into(),
            (FlagValue::Enum(i), _) => (*i).into(),
        }
    }

    /// The value as written in TOML (enum values as their variant names).
    pub fn display<'a>(&'a self, ty: &'a FlagType) -> impl fmt::Display + 'a {
        DisplayValue(self, ty)
    }
}

struct DisplayValue<'a>(&'a FlagValue, &'a FlagType);

impl fmt::Display for DisplayValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (FlagValue::Bool(b), _) => write!(f, "{b}"),
            (FlagValue::Int(i), _) => write!(f, "{i}"),
            (FlagValue::Float(x), _) => write!(f, "{x:?}"),
            (FlagValue::Str(s), _) => write!(f, "{s:?}"),
            (FlagValue::Enum(i), FlagType::Enum(v)) => write!(f, "{:?}", v[*i as usize]),
            (FlagValue::Enum(i), _) => write!(f, "#{i}"),
        }
    }
}

/// A literal in a condition, of the attribute's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// For `string` and `string[]` attributes.
    Str(String),
    /// For `int` attributes.
    Int(i64),
    /// For `float` attributes (integer literals are converted).
    Float(f64),
    /// For `bool` attributes.
    Bool(bool),
    /// For `semver` attributes.
    Semver(semver::Version),
    /// For `datetime` attributes.
    Datetime(jiff::Timestamp),
    /// For enum and static attributes: index into the values.
    Enum(u32),
}

/// An ordered comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `gt`
    Gt,
    /// `gte`
    Gte,
}

impl CmpOp {
    /// The operator's name in the flag language.
    pub fn name(self) -> &'static str {
        match self {
            CmpOp::Lt => "lt",
            CmpOp::Lte => "lte",
            CmpOp::Gt => "gt",
            CmpOp::Gte => "gte",
        }
    }

    /// Whether `ord` (value compared with literal) satisfies the operator.
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Lt => ord == Less,
            CmpOp::Lte => ord != Greater,
            CmpOp::Gt => ord == Greater,
            CmpOp::Gte => ord != Less,
        }
    }
}

/// A string test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrOp {
    /// `starts_with`
    StartsWith,
    /// `ends_with`
    EndsWith,
    /// `contains`
    Contains,
    /// `matches` (a regex, unanchored unless it says `^…$`)
    Matches,
}

impl StrOp {
    /// The operator's name in the flag language.
    pub fn name(self) -> &'static str {
        match self {
            StrOp::StartsWith => "starts_with",
            StrOp::EndsWith => "ends_with",
            StrOp::Contains => "contains",
            StrOp::Matches => "matches",
        }
    }
}

/// One operator of a condition, normalised: `attr = v` and `attr = [..]` are `In`, `ne` is a
/// one-element `NotIn`.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Equal to one of them (for lists: some element is).
    In(Vec<Lit>),
    /// Equal to none of them (for lists: no element is).
    NotIn(Vec<Lit>),
    /// Ordered comparison with a literal.
    Cmp(CmpOp, Lit),
    /// Passes the test for any of the strings (for lists: some element does).
    Str(StrOp, Vec<String>),
}

/// One condition of a `when` table.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// All operators hold on the attribute's value (which must be set).
    Attr {
        /// Which attribute.
        attr: AttrRef,
        /// All must hold.
        ops: Vec<Op>,
        /// The condition's key and value in the source.
        loc: Loc,
    },
    /// Any of the named segments matches.
    Segment {
        /// Indices into [`Manifest::segments`].
        segments: Vec<usize>,
        /// The condition in the source.
        loc: Loc,
    },
}

impl Condition {
    /// Where the condition is written.
    pub fn loc(&self) -> &Loc {
        match self {
            Condition::Attr { loc, .. } | Condition::Segment { loc, .. } => loc,
        }
    }
}

/// What a rule decides.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A fixed value.
    Value(FlagValue),
    /// A percentage split.
    Rollout(Rollout),
}

/// A percentage split over a bool or enum flag's buckets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rollout {
    /// The bucketing attribute: index into [`Manifest::context`].
    pub by: usize,
    /// Weights in units of 0.001 %, one per bucket in [`FlagType::rollout_keys`] order;
    /// they sum to 100 000.
    pub weights: Vec<u32>,
}

/// Total of a rollout's weights: 100 % in units of 0.001 %.
pub const WEIGHT_TOTAL: u32 = 100_000;

/// One rule of a flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Position in the flag's `rules` as written (0-based).
    pub index: usize,
    /// Its `id`, if it has one.
    pub id: Option<String>,
    /// All must hold; empty means always.
    pub when: Vec<Condition>,
    /// What it decides.
    pub outcome: Outcome,
    /// The whole rule in the source.
    pub loc: Loc,
}

impl Rule {
    /// `rule "id"` or `rule #n` (1-based, as people count).
    pub fn label(&self) -> String {
        match &self.id {
            Some(id) => format!("rule `{id}`"),
            None => format!("rule #{}", self.index + 1),
        }
    }
}

/// A checked flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// Its key (a Rust identifier).
    pub key: String,
    /// `description`.
    pub description: String,
    /// `owner`.
    pub owner: String,
    /// `expires`, absent for permanent flags.
    pub expires: Option<Date>,
    /// `permanent`.
    pub permanent: bool,
    /// Its type.
    pub ty: FlagType,
    /// `default`.
    pub default: FlagValue,
    /// Bucketing salt (the key unless `salt` says otherwise).
    pub salt: String,
    /// Rules in order.
    pub rules: Vec<Rule>,
    /// The flag's key in its file.
    pub loc: Loc,
}

/// A checked flag directory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Model {
    /// The manifest.
    pub manifest: Manifest,
    /// Every flag, sorted by key.
    pub flags: Vec<Flag>,
}

impl Model {
    /// A flag by key.
    pub fn flag(&self, key: &str) -> Option<&Flag> {
        self.flags
            .binary_search_by(|f| f.key.as_str().cmp(key))
            .ok()
            .map(|i| &self.flags[i])
    }

    /// A flag's index by key.
    pub fn flag_index(&self, key: &str) -> Option<usize> {
        self.flags
            .binary_search_by(|f| f.key.as_str().cmp(key))
            .ok()
    }
}

/// The Rust type or variant name (UpperCamelCase) generated for a name: `one_page`,
/// `one-page` and `onePage` all become `OnePage`; a leading digit gets a `V` prefix.
/// The checker rejects lists whose values collide under this mapping.
pub fn type_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for part in name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}
