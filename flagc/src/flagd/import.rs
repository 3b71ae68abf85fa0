//! A flagd flag-definition document as a flagc manifest and flag file, for teams migrating.
//!
//! The targeting of each flag is read as an `if` chain (flat or nested) whose results are
//! variant names, `null` (the default variant) or `fractional` splits, with conditions built
//! from `and`, `or`, `!`, `$ref`, `in`, `==`/`===`, `!=`/`!==`, `<`/`<=`/`>`/`>=` (two or
//! three operands), `starts_with`, `ends_with`, `sem_ver`, `some`/`none` over a list, and
//! `{"!==": [{"var": x}, null]}` as a presence test. Each condition becomes a disjunction of
//! `when` tables; an `or` becomes several rules with the same outcome.
//!
//! Only what evaluates exactly as in flagd is translated. flagc conditions never match an
//! unset attribute, so a JSONLogic test that is true on a missing variable (`!`, `!=`, `none`,
//! `<` against a positive number: JSONLogic reads `null` as `0`) is accepted only next to a
//! presence test of the same variable. Everything else (and flags in state `DISABLED`, object
//! variants, weights that 0.001 % steps cannot express, …) is an [`ImportIssue`] with the JSON
//! pointer of what could not be translated, and the flag is left out, never guessed.
//!
//! Attribute types are inferred from how the document uses each variable (a `sem_ver`
//! operand is a `semver`, a `some` operand a `string[]`, a number literal an `int` or a
//! `float`, …). Keys and variable names that are not flagc names are renamed to snake_case
//! (a renamed flag keeps its bucketing through `salt`), and flagd's `targetingKey` becomes the
//! `targeting_key` attribute, the manifest's `[rollout] by`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Map, Number, Value as Json};

use super::MAX_SAFE_INTEGER;
use crate::check::RUST_KEYWORDS;
use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{CmpOp, StrOp, WEIGHT_TOTAL, type_ident};
use crate::source::Sources;
use crate::{CheckOptions, check_sources};

/// The result of an import.
#[derive(Debug, Clone, Default)]
pub struct Import {
    /// The files to write, manifest first (paths relative to the flag directory).
    pub files: Vec<ImportedFile>,
    /// Keys of the flags imported (flagc's names).
    pub imported: Vec<String>,
    /// flagc flag key → flagd flag key, for every flag imported.
    pub keys: BTreeMap<String, String>,
    /// flagd variable → flagc context attribute.
    pub variables: BTreeMap<String, String>,
    /// What could not be translated; a flag with an issue is left out.
    pub issues: Vec<ImportIssue>,
    /// Renamings and other remarks that need no action.
    pub notes: Vec<String>,
    /// Diagnostics of `flagc check` on the files written (errors would be an importer bug).
    pub diagnostics: Vec<Diagnostic>,
}

/// One file of the imported flag directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFile {
    /// Path relative to the flag directory.
    pub path: String,
    /// Its text.
    pub text: String,
}

/// Something of the document that has no exact flagc equivalent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportIssue {
    /// The flag left out, if the issue is about one.
    pub flag: Option<String>,
    /// JSON pointer into the document (`/flags/new-ui/targeting/if/0`).
    pub path: String,
    /// Why.
    pub message: String,
}

impl std::fmt::Display for ImportIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.flag {
            Some(flag) => write!(f, "flag `{flag}` at {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

type Issue = (String, String);

fn issue<T>(path: &str, message: impl Into<String>) -> Result<T, Issue> {
    Err((path.to_owned(), message.into()))
}

/// A JSON pointer segment.
fn ptr(base: &str, segment: impl std::fmt::Display) -> String {
    let s = segment.to_string().replace('~', "~0").replace('/', "~1");
    format!("{base}/{s}")
}

/// A literal a condition compares with.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Num(Number),
    Bool(bool),
}

/// One operator on one variable, before the variable's type is known.
#[derive(Debug, Clone, PartialEq)]
enum AOp {
    In(Vec<Lit>),
    NotIn(Vec<Lit>),
    Cmp(CmpOp, Lit),
    Str(StrOp, String),
    /// `{"in": [lit, var]}`: a substring of a string, or an element of a list.
    Haystack(String),
    SemIn(String),
    SemNe(String),
    SemCmp(CmpOp, String),
    ListIn(Vec<String>),
    ListNotIn(Vec<String>),
    ListStr(StrOp, String),
    Present,
}

/// Operators on one variable (all must hold), and whether flagd would find the test true on
/// a missing variable.
#[derive(Debug, Clone, PartialEq)]
struct Atom {
    var: String,
    ops: Vec<AOp>,
    true_on_missing: bool,
    path: String,
}

/// Disjunctive normal form: OR of ANDs. `[]` is never, `[[]]` always.
type Dnf = Vec<Vec<Atom>>;

fn and_dnf(a: Dnf, b: Dnf, path: &str) -> Result<Dnf, Issue> {
    let mut out = Vec::new();
    for x in &a {
        for y in &b {
            let mut c = x.clone();
            c.extend(y.iter().cloned());
            out.push(c);
        }
    }
    if out.len() > 64 {
        return issue(
            path,
            "too many alternatives (more than 64 rules for one result)",
        );
    }
    Ok(out)
}

/// What the type of a variable must allow, from one use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Use {
    String,
    Int,
    Float,
    Bool,
    Semver,
    List,
    /// `{"in": [lit, var]}`: a string or a list.
    Haystack,
    /// Presence only, or the bucketing value.
    Any,
}

fn lit_use(l: &Lit) -> Use {
    match l {
        Lit::Str(_) => Use::String,
        Lit::Num(n) if n.is_i64() || n.is_u64() => Use::Int,
        Lit::Num(_) => Use::Float,
        Lit::Bool(_) => Use::Bool,
    }
}

fn op_uses(op: &AOp) -> Vec<Use> {
    match op {
        AOp::In(l) | AOp::NotIn(l) => l.iter().map(lit_use).collect(),
        AOp::Cmp(_, l) => vec![lit_use(l)],
        AOp::Str(..) => vec![Use::String],
        AOp::Haystack(_) => vec![Use::Haystack],
        AOp::SemIn(_) | AOp::SemNe(_) | AOp::SemCmp(..) => vec![Use::Semver],
        AOp::ListIn(_) | AOp::ListNotIn(_) | AOp::ListStr(..) => vec![Use::List],
        AOp::Present => vec![Use::Any],
    }
}

/// The flagc type of a variable from all its uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    String,
    Int,
    Float,
    Bool,
    Semver,
    List,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::String => "string",
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Bool => "bool",
            Ty::Semver => "semver",
            Ty::List => "string[]",
        }
    }
}

fn resolve_type(uses: &BTreeSet<Use>) -> Result<Ty, String> {
    let kinds: BTreeSet<Use> = uses
        .iter()
        .copied()
        .filter(|u| !matches!(u, Use::Any))
        .collect();
    let has = |u| kinds.contains(&u);
    let ty = if kinds.is_empty() {
        Ty::String
    } else if has(Use::List) {
        Ty::List
    } else if has(Use::Semver) {
        Ty::Semver
    } else if has(Use::Float) {
        Ty::Float
    } else if has(Use::Int) {
        Ty::Int
    } else if has(Use::Bool) {
        Ty::Bool
    } else {
        Ty::String
    };
    let ok = kinds.iter().all(|u| match (u, ty) {
        (Use::Haystack, Ty::String | Ty::List) => true,
        (Use::String, Ty::String | Ty::List) => true,
        (Use::Int, Ty::Float) => true,
        (u, t) => *u == use_of(t),
    });
    if ok {
        Ok(ty)
    } else {
        let names: Vec<&str> = kinds.iter().map(|u| use_name(*u)).collect();
        Err(format!("it is used as {}", names.join(" and as ")))
    }
}

fn use_of(t: Ty) -> Use {
    match t {
        Ty::String => Use::String,
        Ty::Int => Use::Int,
        Ty::Float => Use::Float,
        Ty::Bool => Use::Bool,
        Ty::Semver => Use::Semver,
        Ty::List => Use::List,
    }
}

fn use_name(u: Use) -> &'static str {
    match u {
        Use::String => "a string",
        Use::Int => "an integer",
        Use::Float => "a float",
        Use::Bool => "a bool",
        Use::Semver => "a semver",
        Use::List => "a list",
        Use::Haystack => "a string or list",
        Use::Any => "anything",
    }
}

/// A flag's value type.
#[derive(Debug, Clone, PartialEq)]
enum FlagTy {
    Bool,
    Int,
    Float,
    Str,
    /// Variant names equal their values: an enum, with its variants in bucketing order.
    Enum(Vec<String>),
}

/// The outcome of a rule before it is written.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Variant(String),
    Rollout {
        by: String,
        /// (variant, weight in 0.001 %) as written.
        buckets: Vec<(String, u64)>,
        /// The bucketing salt.
        salt: String,
    },
}

#[derive(Debug, Clone)]
struct Rule {
    when: Vec<Atom>,
    outcome: Outcome,
    comment: Option<String>,
}

/// One flag, translated.
#[derive(Debug, Clone)]
struct FlagOut {
    key: String,
    original: String,
    /// The bucketing salt of its splits (the flagd key when it has none).
    salt: String,
    ty: FlagTy,
    variants: Map<String, Json>,
    default: String,
    rules: Vec<Rule>,
    metadata: Map<String, Json>,
    path: String,
}

/// Imports a flagd document (its JSON text).
pub fn import(document: &str) -> Import {
    let mut out = Import::default();
    let doc: Json = match serde_json::from_str(document) {
        Ok(d) => d,
        Err(e) => {
            out.issues.push(ImportIssue {
                flag: None,
                path: String::new(),
                message: format!("not JSON: {e}"),
            });
            return out;
        }
    };
    let Some(flags) = doc.get("flags").and_then(Json::as_object) else {
        out.issues.push(ImportIssue {
            flag: None,
            path: "/flags".into(),
            message: "a flagd document needs a `flags` object".into(),
        });
        return out;
    };
    let evaluators = doc
        .get("$evaluators")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    let set_metadata = doc
        .get("metadata")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    let reader = Reader {
        evaluators: &evaluators,
    };

    // Pass 1: each flag on its own.
    let mut translated: Vec<FlagOut> = Vec::new();
    let mut keys = Names::default();
    for (key, flag) in flags {
        let path = ptr("/flags", key);
        let name = keys.name(key, "flag", &mut out.notes);
        match reader.flag(key, &name, flag, &path, &set_metadata) {
            Ok(f) => translated.push(f),
            Err((path, message)) => out.issues.push(ImportIssue {
                flag: Some(key.clone()),
                path,
                message,
            }),
        }
    }

    // Pass 2: variable types from every use in the flags kept, then the flags again, minus
    // those using a variable inconsistently.
    loop {
        let mut uses: BTreeMap<String, BTreeSet<Use>> = BTreeMap::new();
        for f in &translated {
            for r in &f.rules {
                for a in &r.when {
                    let u = uses.entry(a.var.clone()).or_default();
                    for op in &a.ops {
                        u.extend(op_uses(op));
                    }
                }
                if let Outcome::Rollout { by, .. } = &r.outcome {
                    uses.entry(by.clone()).or_default().insert(Use::Any);
                }
            }
        }
        let mut types = BTreeMap::new();
        let mut bad: Option<(String, String)> = None;
        for (var, u) in &uses {
            match resolve_type(u) {
                Ok(t) => {
                    types.insert(var.clone(), t);
                }
                Err(why) => {
                    bad = Some((var.clone(), why));
                    break;
                }
            }
        }
        if let Some((var, why)) = bad {
            // Every flag using it goes; the others may then agree on a type.
            translated.retain(|f| {
                let used = f.rules.iter().find_map(|r| {
                    r.when
                        .iter()
                        .find(|a| a.var == var)
                        .map(|a| a.path.clone())
                        .or_else(|| match &r.outcome {
                            Outcome::Rollout { by, .. } if *by == var => Some(f.path.clone()),
                            _ => None,
                        })
                });
                match used {
                    Some(path) => {
                        out.issues.push(ImportIssue {
                            flag: Some(f.original.clone()),
                            path,
                            message: format!("variable `{var}` has no single flagc type: {why}"),
                        });
                        false
                    }
                    None => true,
                }
            });
            continue;
        }
        // Pass 3: write.
        write(&mut out, &translated, &types);
        break;
    }
    out
}

/// Renames to flagc names (snake_case identifiers, not Rust keywords), uniquely.
#[derive(Debug, Default)]
struct Names {
    taken: BTreeMap<String, String>,
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            out.push('_');
            prev_lower = false;
        }
    }
    let mut collapsed = String::new();
    for part in out.split('_').filter(|p| !p.is_empty()) {
        if !collapsed.is_empty() {
            collapsed.push('_');
        }
        collapsed.push_str(part);
    }
    if collapsed.is_empty() || collapsed.starts_with(|c: char| c.is_ascii_digit()) {
        collapsed.insert_str(0, "x_");
    }
    if RUST_KEYWORDS.contains(&collapsed.as_str()) || collapsed == "segment" {
        collapsed.push('_');
        collapsed.push('x');
    }
    collapsed
}

fn is_name(s: &str) -> bool {
    let mut parts = s.split('_');
    let first_ok = parts.next().is_some_and(|p| {
        p.starts_with(|c: char| c.is_ascii_lowercase())
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    });
    first_ok
        && parts.all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && !RUST_KEYWORDS.contains(&s)
        && s != "segment"
}

impl Names {
    fn name(&mut self, original: &str, what: &str, notes: &mut Vec<String>) -> String {
        if let Some(n) = self.taken.get(original) {
            return n.clone();
        }
        let base = if is_name(original) {
            original.to_owned()
        } else {
            snake(original)
        };
        let mut name = base.clone();
        let mut i = 2;
        while self.taken.values().any(|v| *v == name) {
            name = format!("{base}_{i}");
            i += 1;
        }
        if name != original {
            notes.push(format!("{what} `{original}` is named `{name}` in flagc"));
        }
        self.taken.insert(original.to_owned(), name.clone());
        name
    }
}

struct Reader<'a> {
    evaluators: &'a Map<String, Json>,
}

/// A variable reference: `{"var": "x"}` or `{"var": ["x"]}` (a default value is refused).
fn as_var(j: &Json) -> Option<&str> {
    let v = j.as_object().filter(|o| o.len() == 1)?.get("var")?;
    match v {
        Json::String(s) => Some(s),
        Json::Array(a) if a.len() == 1 => a[0].as_str(),
        _ => None,
    }
}

fn as_lit(j: &Json) -> Option<Lit> {
    match j {
        Json::String(s) => Some(Lit::Str(s.clone())),
        Json::Number(n) => Some(Lit::Num(n.clone())),
        Json::Bool(b) => Some(Lit::Bool(*b)),
        _ => None,
    }
}

/// `{"op": args}`: the operator and its arguments as a list (a single argument is wrapped).
fn as_op(j: &Json) -> Option<(&str, Vec<&Json>)> {
    let o = j.as_object().filter(|o| o.len() == 1)?;
    let (k, v) = o.iter().next()?;
    let args = match v {
        Json::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    Some((k.as_str(), args))
}

/// The number as f64 for JSONLogic's arithmetic comparisons.
fn num(n: &Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

fn cmp_holds(op: CmpOp, a: f64, b: f64) -> bool {
    match op {
        CmpOp::Lt => a < b,
        CmpOp::Lte => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Gte => a >= b,
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Lte => CmpOp::Gte,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Gte => CmpOp::Lte,
    }
}

fn negate_cmp(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gte,
        CmpOp::Lte => CmpOp::Gt,
        CmpOp::Gt => CmpOp::Lte,
        CmpOp::Gte => CmpOp::Lt,
    }
}

fn cmp_of(op: &str) -> Option<CmpOp> {
    Some(match op {
        "<" => CmpOp::Lt,
        "<=" => CmpOp::Lte,
        ">" => CmpOp::Gt,
        ">=" => CmpOp::Gte,
        _ => return None,
    })
}

/// A version as flagd's `sem_ver` reads it: a leading `v` dropped, `1` and `1.2` completed.
fn normalize_version(s: &str) -> Option<String> {
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    if let Ok(v) = semver::Version::parse(s.trim()) {
        return Some(v.to_string());
    }
    let parts: Vec<&str> = s.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if (1..=2).contains(&parts.len()) && parts.iter().all(numeric) {
        let n: Vec<u64> = parts.iter().filter_map(|p| p.parse().ok()).collect();
        return Some(format!(
            "{}.{}.0",
            n.first().copied().unwrap_or(0),
            n.get(1).copied().unwrap_or(0)
        ));
    }
    None
}

/// The element test of `some`/`none`, as list operators.
enum ElemTest {
    In(Vec<String>),
    Str(StrOp, String),
    Any,
}

impl Reader<'_> {
    fn flag(
        &self,
        key: &str,
        name: &str,
        flag: &Json,
        path: &str,
        set_metadata: &Map<String, Json>,
    ) -> Result<FlagOut, Issue> {
        let Some(obj) = flag.as_object() else {
            return issue(path, "a flag must be an object");
        };
        match obj.get("state").and_then(Json::as_str) {
            Some("ENABLED") => {}
            Some("DISABLED") => {
                return issue(
                    &ptr(path, "state"),
                    "a disabled flag serves each caller's own default; flagc has no equivalent",
                );
            }
            _ => return issue(&ptr(path, "state"), "`state` must be ENABLED or DISABLED"),
        }
        let Some(variants) = obj.get("variants").and_then(Json::as_object) else {
            return issue(&ptr(path, "variants"), "a flag needs `variants`");
        };
        let ty = flag_type(variants, &ptr(path, "variants"))?;
        let default = match obj.get("defaultVariant") {
            Some(Json::String(d)) if variants.contains_key(d) => d.clone(),
            Some(Json::String(d)) => {
                return issue(
                    &ptr(path, "defaultVariant"),
                    format!("`{d}` is not one of the variants"),
                );
            }
            _ => {
                return issue(
                    &ptr(path, "defaultVariant"),
                    "without a default variant flagd serves each caller's own default; flagc \
                     flags need a `default`",
                );
            }
        };
        let mut rules = Vec::new();
        if let Some(t) = obj.get("targeting")
            && !t.is_null()
            && !t.as_object().is_some_and(Map::is_empty)
        {
            let tpath = ptr(path, "targeting");
            self.result(t, &vec![vec![]], &tpath, key, variants, &mut rules)?;
        }
        let ty = match ty {
            FlagTy::Enum(names) => FlagTy::Enum(enum_order(&names, &rules, path)?),
            t => t,
        };
        if ty == FlagTy::Bool {
            check_bool_order(&rules, variants, path)?;
        }
        if matches!(ty, FlagTy::Int | FlagTy::Float | FlagTy::Str)
            && rules
                .iter()
                .any(|r| matches!(r.outcome, Outcome::Rollout { .. }))
        {
            return issue(
                &ptr(path, "targeting"),
                format!(
                    "a `fractional` split on a {} flag: flagc rolls out bool and enum flags only",
                    match ty {
                        FlagTy::Int => "number",
                        FlagTy::Float => "number",
                        _ => "string flag whose variant names differ from their values, or a",
                    }
                ),
            );
        }
        let mut salts: Vec<&str> = rules
            .iter()
            .filter_map(|r| match &r.outcome {
                Outcome::Rollout { salt, .. } => Some(salt.as_str()),
                Outcome::Variant(_) => None,
            })
            .collect();
        salts.dedup();
        if salts.len() > 1 {
            return issue(
                &ptr(path, "targeting"),
                format!(
                    "the splits use different salts ({}); a flagc flag has one",
                    salts.join(", ")
                ),
            );
        }
        let salt = salts
            .first()
            .map_or_else(|| key.to_owned(), |s| (*s).to_owned());
        let mut metadata = set_metadata.clone();
        if let Some(m) = obj.get("metadata").and_then(Json::as_object) {
            metadata.extend(m.clone());
        }
        Ok(FlagOut {
            key: name.to_owned(),
            original: key.to_owned(),
            salt,
            ty,
            variants: variants.clone(),
            default,
            rules,
            metadata,
            path: path.to_owned(),
        })
    }

    /// Translates a targeting result reached when every conjunction of `prefix` may hold
    /// (`prefix` is a DNF: one rule per conjunction).
    fn result(
        &self,
        r: &Json,
        prefix: &Dnf,
        path: &str,
        key: &str,
        variants: &Map<String, Json>,
        rules: &mut Vec<Rule>,
    ) -> Result<(), Issue> {
        match r {
            Json::Null => {
                // flagd answers with the default variant; so do the rules that follow only if
                // nothing else matches, hence an explicit rule unless it ends the chain.
                for c in prefix {
                    rules.push(Rule {
                        when: c.clone(),
                        outcome: Outcome::Variant(String::new()),
                        comment: None,
                    });
                }
                Ok(())
            }
            Json::String(v) if variants.contains_key(v) => {
                for c in prefix {
                    rules.push(Rule {
                        when: c.clone(),
                        outcome: Outcome::Variant(v.clone()),
                        comment: None,
                    });
                }
                Ok(())
            }
            Json::String(v) => issue(path, format!("`{v}` is not one of the flag's variants")),
            Json::Bool(b) if variants.contains_key(&b.to_string()) => self.result(
                &Json::String(b.to_string()),
                prefix,
                path,
                key,
                variants,
                rules,
            ),
            _ => {
                if let Some(target) = self.reference(r) {
                    return self.result(target, prefix, path, key, variants, rules);
                }
                let Some((op, args)) = as_op(r) else {
                    return issue(
                        path,
                        "a targeting result must be a variant name, null, `if` or `fractional`",
                    );
                };
                match op {
                    "if" | "?:" => {
                        let n = args.len();
                        let mut i = 0;
                        while i + 1 < n {
                            let cpath = ptr(&ptr(path, op), i);
                            let cond = self.condition(args[i], &cpath)?;
                            let mut reach = Vec::new();
                            for p in prefix {
                                reach.extend(and_dnf(vec![p.clone()], cond.clone(), &cpath)?);
                            }
                            self.result(
                                args[i + 1],
                                &reach,
                                &ptr(&ptr(path, op), i + 1),
                                key,
                                variants,
                                rules,
                            )?;
                            i += 2;
                        }
                        let otherwise = if n % 2 == 1 { args[n - 1] } else { &Json::Null };
                        let epath = ptr(&ptr(path, op), n.saturating_sub(1));
                        // The final `else` of the whole chain: reaching the default needs no rule.
                        if otherwise.is_null() && prefix.iter().all(Vec::is_empty) {
                            return Ok(());
                        }
                        self.result(otherwise, prefix, &epath, key, variants, rules)
                    }
                    "fractional" => {
                        self.fractional(&args, prefix, &ptr(path, op), key, variants, rules)
                    }
                    other => issue(
                        path,
                        format!(
                            "`{other}` as a targeting result: flagc rules decide a variant or a split"
                        ),
                    ),
                }
            }
        }
    }

    fn reference<'j>(&'j self, j: &Json) -> Option<&'j Json> {
        let o = j.as_object().filter(|o| o.len() == 1)?;
        let name = o.get("$ref")?.as_str()?;
        self.evaluators.get(name)
    }

    fn fractional(
        &self,
        args: &[&Json],
        prefix: &Dnf,
        path: &str,
        key: &str,
        variants: &Map<String, Json>,
        rules: &mut Vec<Rule>,
    ) -> Result<(), Issue> {
        let (by, salt, rest) = match args.first() {
            Some(first) if !first.is_array() => {
                let (salt, var) = self.bucketing_expr(first, &ptr(path, 0), key)?;
                (var, Some(salt), &args[1..])
            }
            _ => ("targetingKey".to_owned(), None, args),
        };
        let mut buckets = Vec::new();
        for (i, b) in rest.iter().enumerate() {
            let bpath = ptr(path, i + args.len() - rest.len());
            let Some(items) = b.as_array() else {
                return issue(&bpath, "a bucket must be `[variant, weight]`");
            };
            let Some(variant) = items.first().and_then(|v| match v {
                Json::String(s) => Some(s.clone()),
                Json::Bool(b) => Some(b.to_string()),
                _ => None,
            }) else {
                return issue(&bpath, "a bucket's variant must be a variant name");
            };
            if !variants.contains_key(&variant) {
                return issue(
                    &bpath,
                    format!("`{variant}` is not one of the flag's variants"),
                );
            }
            let weight = match items.get(1) {
                None => 1,
                Some(w) => match w.as_u64() {
                    Some(w) => w,
                    None if w.as_i64().is_some_and(|w| w < 0) => 0,
                    None => return issue(&bpath, "a weight must be an integer"),
                },
            };
            buckets.push((variant, weight));
        }
        let total: u64 = buckets.iter().map(|b| b.1).sum();
        if total == 0 || total > i32::MAX as u64 {
            return issue(path, "the weights must sum to between 1 and 2^31 - 1");
        }
        // flagd's bucket is (h × total) >> 32; flagc's (h × 100 000) >> 32. They pick the same
        // variant for every hash exactly when every boundary scales to a whole 0.001 %.
        if buckets
            .iter()
            .any(|b| (b.1 * u64::from(WEIGHT_TOTAL)) % total != 0)
        {
            return issue(
                path,
                format!(
                    "weights summing to {total} do not scale to whole 0.001 % steps, so flagc \
                     would bucket some users differently"
                ),
            );
        }
        let buckets: Vec<(String, u64)> = buckets
            .into_iter()
            .map(|(v, w)| (v, w * u64::from(WEIGHT_TOTAL) / total))
            .collect();
        // flagd's default bucketing hashes the flag key and the targeting key.
        let salt = salt.unwrap_or_else(|| key.to_owned());
        let outcome = Outcome::Rollout {
            by: by.clone(),
            buckets: buckets.clone(),
            salt: salt.clone(),
        };
        let default_bucketing = args.first().is_some_and(|a| a.is_array());
        for c in prefix {
            let guarded = c.iter().any(|a| a.var == by);
            rules.push(Rule {
                when: c.clone(),
                outcome: outcome.clone(),
                comment: None,
            });
            if !guarded {
                if !default_bucketing {
                    // flagd's evaluators disagree on a missing value: compiled JSONLogic
                    // hashes the salt with "null", interpreted JSONLogic the salt alone.
                    return issue(
                        &ptr(path, 0),
                        format!(
                            "bucketing by `{by}`, which may be missing here (flagd then hashes \
                             the salt with \"null\" or with nothing, depending on the evaluator; \
                             flagc goes on to the next rule): test it first with \
                             `{{\"!==\": [{{\"var\": \"{by}\"}}, null]}}`"
                        ),
                    );
                }
                // Without a targeting key flagd's default bucketing gives up and serves the
                // default variant; flagc goes on to the next rule, so that rule says so.
                rules.push(Rule {
                    when: c.clone(),
                    outcome: Outcome::Variant(String::new()),
                    comment: Some(format!(
                        "what flagd answers when `{}` is missing",
                        snake_var(&by)
                    )),
                });
            }
        }
        Ok(())
    }

    /// `{"cat": [salt, {"var": x}]}` (the salt a string or `{"var": "$flagd.flagKey"}`).
    fn bucketing_expr(&self, j: &Json, path: &str, key: &str) -> Result<(String, String), Issue> {
        if let Some(v) = as_var(j) {
            // No salt: the value alone is hashed. flagc always prefixes the salt.
            return issue(
                path,
                format!(
                    "bucketing by `{v}` alone, without the flag key: flagc always hashes a salt first"
                ),
            );
        }
        let Some(("cat", parts)) = as_op(j) else {
            return issue(
                path,
                "the bucketing expression must be `{\"cat\": [salt, {\"var\": attribute}]}`",
            );
        };
        let [salt, var] = parts.as_slice() else {
            return issue(
                path,
                "the bucketing expression must be `{\"cat\": [salt, {\"var\": attribute}]}`",
            );
        };
        let salt = match (salt.as_str(), as_var(salt)) {
            (Some(s), _) => s.to_owned(),
            (None, Some("$flagd.flagKey")) => key.to_owned(),
            _ => {
                return issue(
                    &ptr(path, "cat/0"),
                    "the salt must be a string or `$flagd.flagKey`",
                );
            }
        };
        let Some(var) = as_var(var) else {
            return issue(&ptr(path, "cat/1"), "the bucketing value must be a `var`");
        };
        check_var(var, &ptr(path, "cat/1"))?;
        Ok((salt, var.to_owned()))
    }

    /// A condition as a DNF.
    fn condition(&self, c: &Json, path: &str) -> Result<Dnf, Issue> {
        match c {
            Json::Bool(true) => return Ok(vec![vec![]]),
            Json::Bool(false) | Json::Null => return Ok(vec![]),
            Json::Object(_) => {}
            _ => {
                return issue(
                    path,
                    "a condition must be an operation (JSONLogic truthiness of literals has no flagc equivalent)",
                );
            }
        }
        if let Some(target) = self.reference(c) {
            return self.condition(target, &ptr(path, "$ref"));
        }
        if as_var(c).is_some() {
            return issue(
                path,
                "a variable used as a condition tests its truthiness (\"\", 0, false and [] are \
                 false); compare it, or test it with `{\"!==\": [{\"var\": …}, null]}`",
            );
        }
        let Some((op, args)) = as_op(c) else {
            return issue(path, "a condition must have exactly one operator");
        };
        let opath = ptr(path, op);
        let arg = |i: usize| ptr(&opath, i);
        match op {
            "and" => {
                let mut acc: Dnf = vec![vec![]];
                for (i, a) in args.iter().enumerate() {
                    acc = and_dnf(acc, self.condition(a, &arg(i))?, &opath)?;
                }
                Ok(acc)
            }
            "or" => {
                let mut acc: Dnf = Vec::new();
                for (i, a) in args.iter().enumerate() {
                    acc.extend(self.condition(a, &arg(i))?);
                }
                if acc.len() > 64 {
                    return issue(&opath, "too many alternatives");
                }
                Ok(acc)
            }
            "!" | "not" => {
                let [inner] = args.as_slice() else {
                    return issue(&opath, "`!` takes one operand");
                };
                let inner_path = if c.get(op).is_some_and(Json::is_array) {
                    arg(0)
                } else {
                    opath.clone()
                };
                let dnf = self.condition(inner, &inner_path)?;
                match dnf.as_slice() {
                    [] => Ok(vec![vec![]]),
                    [c] if c.is_empty() => Ok(vec![]),
                    [c] if c.len() == 1 => Ok(vec![vec![negate(&c[0], &inner_path)?]]),
                    _ => issue(
                        &opath,
                        "`!` of a combination of tests has no flagc equivalent (only `!` of one test)",
                    ),
                }
            }
            "!!" => {
                let [inner] = args.as_slice() else {
                    return issue(&opath, "`!!` takes one operand");
                };
                self.condition(inner, &arg(0))
            }
            _ => Ok(vec![vec![self.atom(op, &args, &opath)?]]),
        }
    }

    /// One test of one variable.
    fn atom(&self, op: &str, args: &[&Json], path: &str) -> Result<Atom, Issue> {
        let at = |var: &str, ops: Vec<AOp>, true_on_missing: bool| -> Result<Atom, Issue> {
            check_var(var, path)?;
            Ok(Atom {
                var: var.to_owned(),
                ops,
                true_on_missing,
                path: path.to_owned(),
            })
        };
        match (op, args) {
            ("in", [x, list]) => {
                if let (Some(var), Json::Array(items)) = (as_var(x), list) {
                    let lits = lits(items, path)?;
                    return at(var, vec![AOp::In(lits)], false);
                }
                if let (Json::String(needle), Some(var)) = (x, as_var(list)) {
                    if needle.is_empty() {
                        return issue(
                            path,
                            "`in` with an empty string is false for an empty haystack, which no flagc test says",
                        );
                    }
                    return at(var, vec![AOp::Haystack(needle.clone())], false);
                }
                issue(
                    path,
                    "`in` must test a variable against a list, or a string within a variable",
                )
            }
            ("==" | "===" | "!=" | "!==", [a, b]) => {
                let (var, lit) = match (as_var(a), as_var(b)) {
                    (Some(v), None) => (v, *b),
                    (None, Some(v)) => (v, *a),
                    _ => {
                        return issue(
                            path,
                            "an equality must compare one variable with one literal",
                        );
                    }
                };
                let strict = op.len() == 3;
                let negated = op.starts_with('!');
                if lit.is_null() {
                    if negated && strict {
                        return at(var, vec![AOp::Present], false);
                    }
                    return issue(
                        path,
                        if negated {
                            "loose `!=` null also treats 0 and false as missing; test presence with `!==`"
                        } else {
                            "a test that a variable is missing has no flagc equivalent (conditions never match an unset attribute)"
                        },
                    );
                }
                let Some(l) = as_lit(lit) else {
                    return issue(
                        path,
                        "an equality must compare with a string, number or bool",
                    );
                };
                // Loose equality converts `null` to 0: `null == 0` and `null == false` hold.
                let loose_zero = !strict
                    && (matches!(&l, Lit::Bool(false))
                        || matches!(&l, Lit::Num(n) if num(n) == 0.0));
                if negated {
                    at(var, vec![AOp::NotIn(vec![l])], !loose_zero)
                } else {
                    at(var, vec![AOp::In(vec![l])], loose_zero)
                }
            }
            ("<" | "<=" | ">" | ">=", _) => {
                let Some(cmp) = cmp_of(op) else {
                    return issue(path, "unknown comparison");
                };
                let number = |j: &Json| match j {
                    Json::Number(n) => Some(n.clone()),
                    _ => None,
                };
                match args {
                    [a, b] => {
                        let (var, n, cmp) = match (as_var(a), as_var(b), number(a), number(b)) {
                            (Some(v), None, _, Some(n)) => (v, n, cmp),
                            (None, Some(v), Some(n), _) => (v, n, flip(cmp)),
                            _ => {
                                return issue(
                                    path,
                                    "a comparison must compare one variable with a number (JSONLogic orders strings by code unit, flagc does not order strings)",
                                );
                            }
                        };
                        // flagd reads a missing variable as 0.
                        let on_missing = cmp_holds(cmp, 0.0, num(&n));
                        at(var, vec![AOp::Cmp(cmp, Lit::Num(n))], on_missing)
                    }
                    [lo, x, hi] => {
                        let (Some(var), Some(lo), Some(hi)) = (as_var(x), number(lo), number(hi))
                        else {
                            return issue(
                                path,
                                "a three-operand comparison must be `[number, variable, number]`",
                            );
                        };
                        let on_missing =
                            cmp_holds(cmp, num(&lo), 0.0) && cmp_holds(cmp, 0.0, num(&hi));
                        // `lo < x < hi`: x > lo and x < hi.
                        let ops = vec![
                            AOp::Cmp(flip(cmp), Lit::Num(lo)),
                            AOp::Cmp(cmp, Lit::Num(hi)),
                        ];
                        at(var, ops, on_missing)
                    }
                    _ => issue(path, "a comparison takes two or three operands"),
                }
            }
            ("starts_with" | "ends_with", [x, needle]) => {
                let (Some(var), Json::String(n)) = (as_var(x), needle) else {
                    return issue(
                        path,
                        format!("`{op}` must test a variable against a string"),
                    );
                };
                let sop = if op == "starts_with" {
                    StrOp::StartsWith
                } else {
                    StrOp::EndsWith
                };
                at(var, vec![AOp::Str(sop, n.clone())], false)
            }
            ("sem_ver", [a, o, b]) => {
                let Some(o) = o.as_str() else {
                    return issue(path, "`sem_ver`'s operator must be a string");
                };
                let (var, lit, flipped) = match (as_var(a), as_var(b)) {
                    (Some(v), None) => (v, *b, false),
                    (None, Some(v)) => (v, *a, true),
                    _ => return issue(path, "`sem_ver` must compare one variable with a version"),
                };
                let text = match lit {
                    Json::String(s) => s.clone(),
                    Json::Number(n) => n.to_string(),
                    _ => return issue(path, "`sem_ver` must compare with a version string"),
                };
                let Some(v) = normalize_version(&text) else {
                    return issue(path, format!("{text:?} is not a version flagd can compare"));
                };
                let op = match (o, flipped) {
                    ("=", _) => AOp::SemIn(v),
                    ("!=", _) => AOp::SemNe(v),
                    (c, f) if cmp_of(c).is_some() => {
                        let c = cmp_of(c).unwrap_or(CmpOp::Lt);
                        AOp::SemCmp(if f { flip(c) } else { c }, v)
                    }
                    ("^" | "~", _) => {
                        let Ok(parsed) = semver::Version::parse(&v) else {
                            return issue(path, "invalid version");
                        };
                        // Only the major (and minor) are compared: every version from
                        // X.0.0-0 (the lowest with that major) up to the next major.
                        let (lo, hi) = if o == "^" {
                            (
                                format!("{}.0.0-0", parsed.major),
                                format!("{}.0.0-0", parsed.major + 1),
                            )
                        } else {
                            (
                                format!("{}.{}.0-0", parsed.major, parsed.minor),
                                format!("{}.{}.0-0", parsed.major, parsed.minor + 1),
                            )
                        };
                        return at(
                            var,
                            vec![AOp::SemCmp(CmpOp::Gte, lo), AOp::SemCmp(CmpOp::Lt, hi)],
                            false,
                        );
                    }
                    _ => return issue(path, format!("unknown `sem_ver` operator {o:?}")),
                };
                at(var, vec![op], false)
            }
            ("some" | "none", [list, test]) => {
                let Some(var) = as_var(list) else {
                    return issue(path, format!("`{op}` must iterate over a variable"));
                };
                let elem = self.element_test(test, &ptr(path, 1))?;
                let aop = match (op, elem) {
                    ("some", ElemTest::In(v)) => AOp::ListIn(v),
                    ("some", ElemTest::Str(s, n)) => AOp::ListStr(s, n),
                    ("some", ElemTest::Any) => AOp::ListStr(StrOp::Contains, String::new()),
                    ("none", ElemTest::In(v)) => AOp::ListNotIn(v),
                    _ => {
                        return issue(
                            path,
                            "`none` with a string test has no flagc equivalent (only `none` … `in`)",
                        );
                    }
                };
                at(var, vec![aop], op == "none")
            }
            ("missing" | "missing_some", _) => issue(
                path,
                format!(
                    "`{op}` tests that variables are missing; flagc conditions never match an unset attribute"
                ),
            ),
            (other, _) => issue(path, format!("`{other}` has no flagc equivalent here")),
        }
    }

    fn element_test(&self, t: &Json, path: &str) -> Result<ElemTest, Issue> {
        let is_elem = |j: &Json| as_var(j) == Some("");
        let Some((op, args)) = as_op(t) else {
            return issue(
                path,
                "the test of `some`/`none` must be an operation on `{\"var\": \"\"}`",
            );
        };
        let opath = ptr(path, op);
        match (op, args.as_slice()) {
            ("in", [x, Json::Array(items)]) if is_elem(x) => {
                let mut v = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Json::String(s) => v.push(s.clone()),
                        _ => return issue(&ptr(&ptr(&opath, 1), i), "list elements are strings"),
                    }
                }
                Ok(ElemTest::In(v))
            }
            ("in", [Json::String(n), x]) if is_elem(x) && !n.is_empty() => {
                Ok(ElemTest::Str(StrOp::Contains, n.clone()))
            }
            ("==" | "===", [a, Json::String(s)]) | ("==" | "===", [Json::String(s), a])
                if is_elem(a) =>
            {
                Ok(ElemTest::In(vec![s.clone()]))
            }
            ("!==", [a, Json::Null]) if is_elem(a) => Ok(ElemTest::Any),
            ("starts_with", [x, Json::String(n)]) if is_elem(x) => {
                Ok(ElemTest::Str(StrOp::StartsWith, n.clone()))
            }
            ("ends_with", [x, Json::String(n)]) if is_elem(x) => {
                Ok(ElemTest::Str(StrOp::EndsWith, n.clone()))
            }
            // flagc's own export: `substr` instead of flagd-core's `starts_with`/`ends_with`.
            ("==" | "===", [s, Json::String(n)]) => {
                let len = n.encode_utf16().count() as i64;
                match as_op(s) {
                    Some(("substr", sargs)) => match sargs.as_slice() {
                        [x, from, count]
                            if is_elem(x)
                                && from.as_i64() == Some(0)
                                && count.as_i64() == Some(len)
                                && len > 0 =>
                        {
                            Ok(ElemTest::Str(StrOp::StartsWith, n.clone()))
                        }
                        [x, from] if is_elem(x) && from.as_i64() == Some(-len) && len > 0 => {
                            Ok(ElemTest::Str(StrOp::EndsWith, n.clone()))
                        }
                        _ => issue(&opath, "`substr` other than a prefix or suffix test"),
                    },
                    _ => issue(&opath, "unsupported element test"),
                }
            }
            _ => issue(
                &opath,
                format!("`{op}` as an element test has no flagc equivalent"),
            ),
        }
    }
}

fn check_var(var: &str, path: &str) -> Result<(), Issue> {
    if var.starts_with("$flagd.") {
        return issue(
            path,
            format!("`{var}` is flagd's own property; flagc has no equivalent"),
        );
    }
    if var.is_empty() || var.contains('.') {
        return issue(
            path,
            format!("`{var}` reads a nested value; flagc contexts are flat"),
        );
    }
    Ok(())
}

fn lits(items: &[Json], path: &str) -> Result<Vec<Lit>, Issue> {
    items
        .iter()
        .enumerate()
        .map(|(i, j)| match as_lit(j) {
            Some(l) => Ok(l),
            None => issue(
                &ptr(path, i),
                "list items must be strings, numbers or bools",
            ),
        })
        .collect()
}

/// `!` of one test.
fn negate(a: &Atom, path: &str) -> Result<Atom, Issue> {
    let [op] = a.ops.as_slice() else {
        return issue(path, "`!` of a range has no flagc equivalent");
    };
    let op = match op {
        AOp::In(l) => AOp::NotIn(l.clone()),
        AOp::NotIn(l) => AOp::In(l.clone()),
        AOp::Cmp(c, l) => AOp::Cmp(negate_cmp(*c), l.clone()),
        AOp::SemIn(v) => AOp::SemNe(v.clone()),
        AOp::SemNe(v) => AOp::SemIn(v.clone()),
        AOp::SemCmp(c, v) => AOp::SemCmp(negate_cmp(*c), v.clone()),
        AOp::ListIn(v) => AOp::ListNotIn(v.clone()),
        AOp::ListNotIn(v) => AOp::ListIn(v.clone()),
        _ => {
            return issue(
                path,
                "this test has no negated form in flagc (`!` of a string test, a presence test or a range)",
            );
        }
    };
    Ok(Atom {
        var: a.var.clone(),
        true_on_missing: !a.true_on_missing,
        ops: vec![op],
        path: a.path.clone(),
    })
}

fn flag_type(variants: &Map<String, Json>, path: &str) -> Result<FlagTy, Issue> {
    if variants.is_empty() {
        return issue(path, "a flag needs at least one variant");
    }
    let all = |f: fn(&Json) -> bool| variants.values().all(f);
    if all(Json::is_boolean) {
        return Ok(FlagTy::Bool);
    }
    if all(|v| {
        v.as_i64()
            .is_some_and(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER as u64)
    }) {
        return Ok(FlagTy::Int);
    }
    if all(Json::is_number) {
        return Ok(FlagTy::Float);
    }
    if all(Json::is_string) {
        let enum_like = variants.iter().all(|(k, v)| {
            v.as_str() == Some(k)
                && k != "by"
                && k.starts_with(|c: char| c.is_ascii_alphanumeric())
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        });
        let idents: BTreeSet<String> = variants.keys().map(|k| type_ident(k)).collect();
        if enum_like && idents.len() == variants.len() {
            return Ok(FlagTy::Enum(variants.keys().cloned().collect()));
        }
        return Ok(FlagTy::Str);
    }
    issue(
        path,
        "variants must all be bools, all numbers or all strings (flagc has no object flags)",
    )
}

/// An enum's variants in an order every split agrees with (flagc buckets in the order of
/// `variants`, flagd in the order the split is written).
fn enum_order(names: &[String], rules: &[Rule], path: &str) -> Result<Vec<String>, Issue> {
    let mut order: Vec<String> = Vec::new();
    let mut edges: Vec<(String, String)> = Vec::new();
    for r in rules {
        if let Outcome::Rollout { buckets, .. } = &r.outcome {
            let live: Vec<&String> = buckets.iter().filter(|b| b.1 > 0).map(|b| &b.0).collect();
            for w in live.windows(2) {
                if w[0] != w[1] {
                    edges.push((w[0].clone(), w[1].clone()));
                }
            }
            for (i, v) in live.iter().enumerate() {
                if live[..i].contains(v) {
                    return issue(
                        &ptr(path, "targeting"),
                        format!("variant `{v}` appears twice in one split, apart"),
                    );
                }
            }
        }
    }
    let mut left: Vec<String> = names.to_vec();
    while !left.is_empty() {
        let next = left
            .iter()
            .position(|n| !edges.iter().any(|(a, b)| b == n && left.contains(a)));
        match next {
            Some(i) => order.push(left.remove(i)),
            None => {
                return issue(
                    &ptr(path, "targeting"),
                    "the splits list the variants in orders no single `variants` list follows",
                );
            }
        }
    }
    Ok(order)
}

/// flagc buckets `true` before `false`; flagd in written order.
fn check_bool_order(rules: &[Rule], variants: &Map<String, Json>, path: &str) -> Result<(), Issue> {
    for r in rules {
        if let Outcome::Rollout { buckets, .. } = &r.outcome {
            let values: Vec<bool> = buckets
                .iter()
                .filter(|b| b.1 > 0)
                .filter_map(|b| variants.get(&b.0).and_then(Json::as_bool))
                .collect();
            if values.windows(2).any(|w| !w[0] && w[1]) {
                return issue(
                    &ptr(path, "targeting"),
                    "the split lists `false` before `true`; flagc buckets `true` first, so users \
                     would change sides",
                );
            }
        }
    }
    Ok(())
}

fn snake_var(v: &str) -> String {
    if v == "targetingKey" {
        "targeting_key".to_owned()
    } else if is_name(v) {
        v.to_owned()
    } else {
        snake(v)
    }
}

fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_num(n: &Number, float: bool) -> String {
    if float {
        let x = num(n);
        let s = format!("{x:?}");
        if s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("NaN") {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        n.to_string()
    }
}

fn toml_lit(l: &Lit, ty: Ty) -> String {
    match l {
        Lit::Str(s) => toml_str(s),
        Lit::Num(n) => toml_num(n, ty == Ty::Float),
        Lit::Bool(b) => b.to_string(),
    }
}

/// A `when` table from one conjunction; `None` when it can never hold, an issue when it has
/// no single-table form.
fn when_table(
    conj: &[Atom],
    types: &BTreeMap<String, Ty>,
    names: &BTreeMap<String, String>,
    rollout_by: Option<&str>,
) -> Result<Option<String>, Issue> {
    // Guards: a test true on a missing variable needs a presence test (or another test that
    // is false on a missing one) of the same variable in the same conjunction.
    for a in conj {
        if a.true_on_missing && !conj.iter().any(|b| b.var == a.var && !b.true_on_missing) {
            return issue(
                &a.path,
                format!(
                    "this test is true when `{}` is missing, and flagc conditions never match an \
                     unset attribute; guard it with `{{\"!==\": [{{\"var\": \"{}\"}}, null]}}`",
                    a.var, a.var
                ),
            );
        }
    }
    let mut order: Vec<&str> = Vec::new();
    for a in conj {
        if !order.contains(&a.var.as_str()) {
            order.push(&a.var);
        }
    }
    let mut parts = Vec::new();
    for var in order {
        let ty = types.get(var).copied().unwrap_or(Ty::String);
        let name = names.get(var).cloned().unwrap_or_else(|| snake_var(var));
        let mut tests: BTreeMap<&'static str, String> = BTreeMap::new();
        let mut ins: Option<Vec<String>> = None;
        let mut notins: Vec<String> = Vec::new();
        let mut present = false;
        // (operator, literal text, numeric value for numbers / version for semvers)
        let mut bounds: Vec<(CmpOp, String, Bound)> = Vec::new();
        let mut first_path = "";
        for a in conj.iter().filter(|a| a.var == var) {
            let path = a.path.as_str();
            if first_path.is_empty() {
                first_path = path;
            }
            for op in &a.ops {
                let mut member = |vals: Vec<String>| -> Result<(), Issue> {
                    ins = Some(match ins.take() {
                        None => vals,
                        // Two memberships of a list may hold for different elements.
                        Some(_) if ty == Ty::List => {
                            return issue(
                                path,
                                format!(
                                    "two membership tests on the list `{var}` in one rule (each may hold for another element)"
                                ),
                            );
                        }
                        Some(prev) => prev.into_iter().filter(|v| vals.contains(v)).collect(),
                    });
                    Ok(())
                };
                match (op, ty) {
                    (AOp::Present, _) => present = true,
                    (AOp::In(l), _) => member(l.iter().map(|l| toml_lit(l, ty)).collect())?,
                    (AOp::ListIn(v), Ty::List) => member(v.iter().map(|s| toml_str(s)).collect())?,
                    (AOp::Haystack(n), Ty::List) => member(vec![toml_str(n)])?,
                    (AOp::SemIn(v), Ty::Semver) => member(vec![toml_str(v)])?,
                    (AOp::NotIn(l), _) => notins.extend(l.iter().map(|l| toml_lit(l, ty))),
                    (AOp::ListNotIn(v), Ty::List) => notins.extend(v.iter().map(|s| toml_str(s))),
                    (AOp::SemNe(v), Ty::Semver) => notins.push(toml_str(v)),
                    (AOp::Cmp(c, Lit::Num(n)), Ty::Int | Ty::Float) => {
                        if ty == Ty::Int && !(n.is_i64() || n.is_u64()) {
                            return issue(path, format!("`{var}` is an int, compared with {n}"));
                        }
                        bounds.push((*c, toml_num(n, ty == Ty::Float), Bound::Num(num(n))));
                    }
                    (AOp::SemCmp(c, v), Ty::Semver) => match semver::Version::parse(v) {
                        Ok(parsed) => bounds.push((*c, toml_str(v), Bound::Version(parsed))),
                        Err(_) => return issue(path, format!("{v:?} is not a version")),
                    },
                    (AOp::Str(sop, n), Ty::String) | (AOp::ListStr(sop, n), Ty::List) => {
                        let key = sop.name();
                        if tests.insert(key, toml_str(n)).is_some() {
                            return issue(
                                path,
                                format!(
                                    "two `{key}` tests on `{var}` in one rule: flagc's list of them means any"
                                ),
                            );
                        }
                    }
                    (AOp::Haystack(n), Ty::String) => {
                        if tests.insert("contains", toml_str(n)).is_some() {
                            return issue(
                                path,
                                format!("two `contains` tests on `{var}` in one rule"),
                            );
                        }
                    }
                    _ => {
                        return issue(
                            path,
                            format!("this test does not apply to `{var}`, a {}", ty.name()),
                        );
                    }
                }
            }
        }
        let mut table: Vec<String> = Vec::new();
        if let Some(mut v) = ins {
            v.dedup();
            if v.is_empty() {
                // Equal to one of nothing: the rule never fires.
                return Ok(None);
            }
            table.push(format!("in = [{}]", v.join(", ")));
        }
        if !notins.is_empty() {
            notins.sort();
            notins.dedup();
            table.push(format!("not_in = [{}]", notins.join(", ")));
        }
        // Several bounds of one kind: the tightest one decides.
        let mut tightest: BTreeMap<&'static str, (String, Bound)> = BTreeMap::new();
        for (c, text, bound) in bounds {
            let key = c.name();
            let replace = match tightest.get(key) {
                None => true,
                Some((_, prev)) => match c {
                    CmpOp::Lt | CmpOp::Lte => bound.less(prev),
                    CmpOp::Gt | CmpOp::Gte => prev.less(&bound),
                },
            };
            if replace {
                tightest.insert(key, (text, bound));
            }
        }
        for (k, (text, _)) in tightest {
            table.push(format!("{k} = {text}"));
        }
        for (k, v) in tests {
            table.push(format!("{k} = {v}"));
        }
        if table.is_empty() && present {
            if rollout_by == Some(var) {
                // A rollout needs its bucketing attribute anyway.
                continue;
            }
            table.push("not_in = []".into());
        }
        match table.as_slice() {
            [only] if only.starts_with("in = [") => {
                let inner = &only[6..only.len() - 1];
                if inner.contains(", ") {
                    parts.push(format!("{name} = [{inner}]"));
                } else {
                    parts.push(format!("{name} = {inner}"));
                }
            }
            _ => parts.push(format!("{name} = {{ {} }}", table.join(", "))),
        }
        let _ = first_path;
    }
    Ok(Some(format!("{{ {} }}", parts.join(", "))))
}

/// A bound's value, to find the tightest of several.
#[derive(Debug, Clone)]
enum Bound {
    Num(f64),
    Version(semver::Version),
}

impl Bound {
    fn less(&self, other: &Bound) -> bool {
        match (self, other) {
            (Bound::Num(a), Bound::Num(b)) => a < b,
            (Bound::Version(a), Bound::Version(b)) => a.cmp_precedence(b).is_lt(),
            _ => false,
        }
    }
}

fn write(out: &mut Import, flags: &[FlagOut], types: &BTreeMap<String, Ty>) {
    // Variable names → attribute names.
    let mut names = Names::default();
    let mut attr_names = BTreeMap::new();
    let mut notes = Vec::new();
    for var in types.keys() {
        let n = if var == "targetingKey" {
            names.taken.insert(var.clone(), "targeting_key".into());
            notes.push("flagd's `targetingKey` is the attribute `targeting_key`".to_owned());
            "targeting_key".to_owned()
        } else {
            names.name(var, "variable", &mut notes)
        };
        attr_names.insert(var.clone(), n);
    }
    out.notes.extend(notes);
    out.variables = attr_names.clone();

    let mut text = String::from(
        "#:schema ./.flagc/flags.schema.json\n# Imported from a flagd flag definition by `flagc import flagd`.\n",
    );
    let mut uses_targeting_key = false;
    for f in flags {
        match flag_toml(f, types, &attr_names) {
            Ok(t) => {
                text.push('\n');
                text.push_str(&t);
                out.imported.push(f.key.clone());
                out.keys.insert(f.key.clone(), f.original.clone());
                uses_targeting_key |= f.rules.iter().any(
                    |r| matches!(&r.outcome, Outcome::Rollout { by, .. } if by == "targetingKey"),
                );
            }
            Err((path, message)) => out.issues.push(ImportIssue {
                flag: Some(f.original.clone()),
                path,
                message,
            }),
        }
    }
    let mut manifest = String::from(
        "#:schema ./.flagc/manifest.schema.json\n# Imported from a flagd flag definition by `flagc import flagd`.\nformat = 1\n",
    );
    if !types.is_empty() {
        manifest.push_str("\n[context]\n");
        for (var, ty) in types {
            let _ = writeln!(
                manifest,
                "{} = {}",
                attr_names.get(var).cloned().unwrap_or_default(),
                toml_str(ty.name())
            );
        }
    }
    if uses_targeting_key {
        manifest.push_str("\n[rollout]\nby = \"targeting_key\"\n");
    }
    out.files.push(ImportedFile {
        path: "flagc.toml".into(),
        text: manifest,
    });
    if !out.imported.is_empty() {
        out.files.push(ImportedFile {
            path: "flags.toml".into(),
            text,
        });
    }
    let mut diags = Diagnostics::new();
    let sources = Sources::from_memory(
        out.files.iter().map(|f| (f.path.clone(), f.text.clone())),
        &mut diags,
    );
    let checked = check_sources(sources, diags, &CheckOptions::default());
    out.diagnostics = checked.diagnostics;
}

/// Thousandths of a percent as the shortest decimal (`12.5`, `50`).
fn percent(w: u64) -> String {
    let text = format!("{}.{:03}", w / 1000, w % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn value_toml(f: &FlagOut, variant: &str) -> String {
    let v = f.variants.get(variant).cloned().unwrap_or(Json::Null);
    match (&f.ty, &v) {
        (FlagTy::Bool, Json::Bool(b)) => b.to_string(),
        (FlagTy::Float, Json::Number(n)) => toml_num(n, true),
        (FlagTy::Int, Json::Number(n)) => n.to_string(),
        (_, Json::String(s)) => toml_str(s),
        _ => "\"?\"".into(),
    }
}

fn flag_toml(
    f: &FlagOut,
    types: &BTreeMap<String, Ty>,
    names: &BTreeMap<String, String>,
) -> Result<String, Issue> {
    let mut t = String::new();
    let meta = |k: &str| f.metadata.get(k).and_then(Json::as_str);
    let _ = writeln!(t, "[{}]", f.key);
    let description = meta("description")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Imported from flagd flag `{}`", f.original));
    let _ = writeln!(t, "description = {}", toml_str(&description));
    let _ = writeln!(
        t,
        "owner = {}",
        toml_str(meta("owner").unwrap_or("unowned"))
    );
    let expires =
        meta("expires").filter(|d| d.len() == 10 && d.parse::<jiff::civil::Date>().is_ok());
    match expires {
        Some(d) => {
            let _ = writeln!(t, "expires = {d}");
        }
        None if f.metadata.get("permanent") == Some(&Json::Bool(true)) => {
            let _ = writeln!(t, "permanent = true");
        }
        None => {
            let _ = writeln!(
                t,
                "permanent = true  # no expiry in flagd: set `expires` if it is temporary"
            );
        }
    }
    if f.salt != f.key {
        let why = if f.salt == f.original {
            "the flagd key: nobody changes bucket"
        } else {
            "the salt of flagd's bucketing expression"
        };
        let _ = writeln!(t, "salt = {}  # {why}", toml_str(&f.salt));
    }
    match &f.ty {
        FlagTy::Enum(order) => {
            let list: Vec<String> = order.iter().map(|s| toml_str(s)).collect();
            let _ = writeln!(t, "variants = [{}]", list.join(", "));
        }
        FlagTy::Float => {
            let _ = writeln!(t, "type = \"float\"");
        }
        _ => {}
    }
    let _ = writeln!(t, "default = {}", value_toml(f, &f.default));
    for r in &f.rules {
        let by = match &r.outcome {
            Outcome::Rollout { by, .. } => Some(by.as_str()),
            Outcome::Variant(_) => None,
        };
        let Some(when) = when_table(&r.when, types, names, by)? else {
            continue;
        };
        let mut rule = String::new();
        let _ = writeln!(rule, "\n[[{}.rules]]", f.key);
        if let Some(c) = &r.comment {
            let _ = writeln!(rule, "# {c}");
        }
        if when != "{  }" {
            let _ = writeln!(rule, "when = {when}");
        }
        match &r.outcome {
            Outcome::Variant(v) => {
                let v = if v.is_empty() { &f.default } else { v };
                let _ = writeln!(rule, "value = {}", value_toml(f, v));
            }
            Outcome::Rollout { by, buckets, .. } => {
                let by_ty = types.get(by).copied().unwrap_or(Ty::String);
                if !matches!(by_ty, Ty::String | Ty::Int) {
                    return issue(
                        &f.path,
                        format!(
                            "bucketing by `{by}`, a {}: flagc buckets by strings, ints and enums",
                            by_ty.name()
                        ),
                    );
                }
                let by_name = names.get(by).cloned().unwrap_or_else(|| snake_var(by));
                let mut weights: BTreeMap<String, u64> = BTreeMap::new();
                for (v, w) in buckets {
                    let key = match &f.ty {
                        FlagTy::Bool => value_toml(f, v),
                        _ => v.clone(),
                    };
                    *weights.entry(key).or_default() += w;
                }
                let mut parts = vec![format!("by = {}", toml_str(&by_name))];
                let keys: Vec<String> = match &f.ty {
                    FlagTy::Bool => vec!["true".into(), "false".into()],
                    FlagTy::Enum(order) => order.clone(),
                    _ => Vec::new(),
                };
                for k in keys {
                    if let Some(w) = weights.get(&k) {
                        let key = if is_name(&k) || k == "true" || k == "false" {
                            k.clone()
                        } else {
                            toml_str(&k)
                        };
                        parts.push(format!("{key} = {}", percent(*w)));
                    }
                }
                let _ = writeln!(rule, "rollout = {{ {} }}", parts.join(", "));
            }
        }
        t.push_str(&rule);
    }
    Ok(t)
}
