//! Structure: the JSON Schemas in `schema/` (the same files editors use through Taplo's
//! `#:schema` association), applied to each parsed file.
//!
//! Schema errors are mapped back to the line and column of the offending key or value. A
//! schema node may carry `x-flagc-code`, `x-flagc-message` (with `{value}` standing for the
//! offending value or name) and `x-flagc-help` to make its errors as specific as the semantic
//! checks' are.
//!
//! **Invariant:** the schema owns structure (field names, TOML types, required fields, value
//! ranges); the semantic checks in [`crate::check`] own meaning and skip anything the schema
//! already reported, so each problem is reported once.

use std::sync::OnceLock;

use jsonschema::Validator;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::diag::{Code, Diagnostic, Diagnostics, did_you_mean, suggest};
use crate::parse::{Node, NodeKind, ParsedFile};

/// The flag-file schema, as committed in `schema/flags.schema.json`.
pub const FLAGS_SCHEMA: &str = include_str!("../../schema/flags.schema.json");
/// The manifest schema, as committed in `schema/manifest.schema.json`.
pub const MANIFEST_SCHEMA: &str = include_str!("../../schema/manifest.schema.json");

/// Which schema applies to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `flagc.toml`.
    Manifest,
    /// Any other `*.toml`.
    Flags,
}

struct Compiled {
    document: Value,
    validator: Validator<tree::Tree>,
}

fn compiled(kind: FileKind) -> &'static Compiled {
    static FLAGS: OnceLock<Compiled> = OnceLock::new();
    static MANIFEST: OnceLock<Compiled> = OnceLock::new();
    let (cell, text) = match kind {
        FileKind::Flags => (&FLAGS, FLAGS_SCHEMA),
        FileKind::Manifest => (&MANIFEST, MANIFEST_SCHEMA),
    };
    cell.get_or_init(|| {
        // The schemas are committed files compiled into the binary; a test parses both, so a
        // broken schema fails CI, never a user's run.
        #[allow(clippy::expect_used)]
        let document: Value = serde_json::from_str(text).expect("committed schema is valid JSON");
        #[allow(clippy::expect_used)]
        let validator = jsonschema::options_for::<tree::Tree>()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&document)
            .expect("committed schema compiles");
        Compiled {
            document,
            validator,
        }
    })
}

/// Validates one parsed file against its schema, reporting each error at its place.
pub fn validate(kind: FileKind, file: &ParsedFile, diags: &mut Diagnostics) {
    let schema = compiled(kind);
    // The parsed tree is validated as it is, without building a JSON copy of it.
    let instance = tree::NodeRef::Tree(&file.root);
    if schema.validator.is_valid(instance.clone()) {
        return; // the common case, and much cheaper than collecting errors
    }
    let mut found = Vec::new();
    for error in schema.validator.iter_errors(instance) {
        let path: Vec<String> = error
            .instance_path()
            .segments()
            .map(|s| s.to_string())
            .collect();
        let Some((key, node)) = file.root.locate(&path) else {
            continue;
        };
        let keyword_parent = parent_node(&schema.document, error.schema_path().as_str());
        let ctx = Context {
            kind,
            file: &file.path,
            path: &path,
            node,
            key_span: key.map(|k| k.span.clone()),
            annotations: keyword_parent,
        };
        found.extend(map_error(&ctx, error.kind(), &node.to_json()));
    }
    // A misspelled required field is one mistake, not two: `descripton` is reported as an
    // unknown field that suggests `description`, and the missing `description` is not.
    let suggested: Vec<(&[String], &str)> = found
        .iter()
        .filter_map(|f| Some((f.table.as_slice(), f.suggests.as_deref()?)))
        .collect();
    for f in &found {
        let misspelled = f
            .missing
            .as_deref()
            .is_some_and(|m| suggested.contains(&(f.table.as_slice(), m)));
        if !misspelled {
            diags.push(f.diagnostic.clone());
        }
    }
}

/// A schema error mapped to a diagnostic, with what is needed to merge related errors.
struct Found {
    diagnostic: Diagnostic,
    /// The JSON path of the table the error is about (for unknown and missing fields).
    table: Vec<String>,
    /// The required field this error reports missing.
    missing: Option<String>,
    /// The allowed field an unknown field is probably a misspelling of.
    suggests: Option<String>,
}

impl Found {
    fn plain(diagnostic: Diagnostic) -> Self {
        Found {
            diagnostic,
            table: Vec::new(),
            missing: None,
            suggests: None,
        }
    }
}

struct Context<'a> {
    kind: FileKind,
    file: &'a str,
    path: &'a [String],
    node: &'a Node,
    key_span: Option<std::ops::Range<usize>>,
    /// The schema object holding the failing keyword.
    annotations: Option<&'a Value>,
}

impl Context<'_> {
    fn note(&self, name: &str) -> Option<&str> {
        self.annotations?.get(name)?.as_str()
    }

    fn code(&self, default: Code) -> Code {
        self.note("x-flagc-code")
            .and_then(|c| Code::ALL.iter().copied().find(|k| k.as_str() == c))
            .unwrap_or(default)
    }

    fn message(&self, value: &str, default: String) -> String {
        self.note("x-flagc-message")
            .map_or(default, |m| m.replace("{value}", value))
    }

    fn with_help(&self, d: Diagnostic) -> Diagnostic {
        match self.note("x-flagc-help") {
            Some(h) => d.with_help(h),
            None => d,
        }
    }

    /// "flag `x`", "rule #2 of flag `x`", "the manifest's `[context]`"… for messages.
    fn place(&self) -> String {
        describe_path(self.kind, self.path)
    }

    /// The key span if there is one, else the value span.
    fn span(&self) -> std::ops::Range<usize> {
        self.key_span
            .clone()
            .unwrap_or_else(|| self.node.span.clone())
    }
}

fn map_error(ctx: &Context<'_>, kind: &ValidationErrorKind, instance: &Value) -> Vec<Found> {
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            // `iter_errors` yields one error per object: report every unexpected key of it.
            let Some(table) = ctx.node.as_table() else {
                return Vec::new();
            };
            let allowed: Vec<&str> = ctx
                .annotations
                .and_then(|a| a.get("properties"))
                .and_then(Value::as_object)
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let mut out = Vec::new();
            for name in unexpected {
                let Some((k, _)) = table.iter().find(|(k, _)| &k.name == name) else {
                    continue;
                };
                let default = if ctx.path.is_empty() {
                    format!("unknown field `{name}`")
                } else {
                    format!("unknown field `{name}` in {}", ctx.place())
                };
                let mut d = Diagnostic::error(
                    ctx.code(Code::UnknownField),
                    ctx.file,
                    k.span.clone(),
                    ctx.message(name, default),
                );
                if let Some(h) = did_you_mean(name, allowed.iter().copied()) {
                    d = d.with_help(h);
                }
                out.push(Found {
                    diagnostic: d,
                    table: ctx.path.to_vec(),
                    missing: None,
                    suggests: suggest(name, allowed.iter().copied()).map(str::to_owned),
                });
            }
            out
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let d = Diagnostic::error(
                ctx.code(Code::MissingField),
                ctx.file,
                ctx.span(),
                ctx.message(name, format!("{} is missing `{name}`", ctx.place())),
            );
            let help = match name {
                "description" => {
                    Some("add `description = \"…\"`: it becomes the accessor's documentation")
                }
                "owner" => {
                    Some("add `owner = \"team-name\"`: the team or person who owns the flag")
                }
                "default" => Some(
                    "add `default = …`: the value when no rule decides, whose type gives the flag's type",
                ),
                _ => None,
            };
            let d = match (ctx.note("x-flagc-help"), help) {
                (Some(_), _) => ctx.with_help(d),
                (None, Some(h)) => d.with_help(h),
                (None, None) => d,
            };
            vec![Found {
                diagnostic: d,
                table: ctx.path.to_vec(),
                missing: Some(name.to_owned()),
                suggests: None,
            }]
        }
        ValidationErrorKind::Type { kind } => vec![Found::plain(wrong_type(ctx, kind))],
        ValidationErrorKind::PropertyNames { error } => {
            let Some(name) = error.instance().as_str() else {
                return Vec::new();
            };
            let Some((k, _)) = ctx
                .node
                .as_table()
                .and_then(|t| t.iter().find(|(k, _)| k.name == name))
            else {
                return Vec::new();
            };
            let inner = ctx.annotations;
            let code = inner
                .and_then(|a| a.get("x-flagc-code")?.as_str())
                .and_then(|c| Code::ALL.iter().copied().find(|k| k.as_str() == c))
                .unwrap_or(Code::InvalidName);
            let message = inner
                .and_then(|a| a.get("x-flagc-message")?.as_str())
                .map_or_else(
                    || format!("invalid name `{name}`"),
                    |m| m.replace("{value}", name),
                );
            let mut d = Diagnostic::error(code, ctx.file, k.span.clone(), message);
            if let Some(h) = inner.and_then(|a| a.get("x-flagc-help")?.as_str()) {
                d = d.with_help(h);
            }
            if let Some(snake) = to_snake_case(name).filter(|s| s != name) {
                let help = match d.help.take() {
                    Some(h) => format!("{h}; perhaps `{snake}`"),
                    None => format!("perhaps `{snake}`"),
                };
                d = d.with_help(help);
            }
            vec![Found::plain(d)]
        }
        ValidationErrorKind::Enum { options } => {
            let value = raw_value(instance);
            let choices: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(display_value).collect())
                .unwrap_or_default();
            let mut d = Diagnostic::error(
                ctx.code(Code::InvalidValue),
                ctx.file,
                ctx.node.span.clone(),
                ctx.message(
                    &value,
                    format!(
                        "invalid value {} for {}",
                        display_value(instance),
                        ctx.place()
                    ),
                ),
            );
            d = match ctx.note("x-flagc-help") {
                Some(_) => ctx.with_help(d),
                None => d.with_help(format!("expected one of: {}", choices.join(", "))),
            };
            if let Some(s) = instance.as_str() {
                let names: Vec<&str> = options
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if let Some(h) =
                    did_you_mean(s, names.iter().copied()).filter(|h| h.starts_with("did"))
                {
                    d.help = Some(h);
                }
            }
            vec![Found::plain(d)]
        }
        ValidationErrorKind::Format { format } if format == "date" => {
            vec![Found::plain(
                Diagnostic::error(
                    Code::TypeMismatch,
                    ctx.file,
                    ctx.node.span.clone(),
                    format!(
                        "{} must be a date, found {}",
                        ctx.place(),
                        display_value(instance)
                    ),
                )
                .with_help("write a bare TOML date such as `expires = 2027-03-01`"),
            )]
        }
        ValidationErrorKind::MinProperties { .. }
            if ctx.node.as_table().is_some_and(<[_]>::is_empty) =>
        {
            vec![Found::plain(
                Diagnostic::error(
                    ctx.code(Code::InvalidValue),
                    ctx.file,
                    ctx.node.span.clone(),
                    format!("empty operator table in {}", ctx.place()),
                )
                .with_help(
                    "write at least one operator, e.g. `{ in = [\"a\", \"b\"] }`, or remove the condition",
                ),
            )]
        }
        other => {
            let default = format!(
                "{} {}",
                ctx.place(),
                describe_kind(other, &display_value(instance))
            );
            let message = ctx.message(&raw_value(instance), default);
            vec![Found::plain(ctx.with_help(Diagnostic::error(
                ctx.code(Code::InvalidValue),
                ctx.file,
                ctx.node.span.clone(),
                message,
            )))]
        }
    }
}

/// A value of the wrong TOML type. The schema node's `x-flagc-*` annotations describe its
/// value constraints (a pattern, a range), not its type, so they are not used here, except
/// for NaN and infinities: they have no JSON form and reach the schema as strings, but they
/// are numbers of the right type and the wrong value.
fn wrong_type(ctx: &Context<'_>, kind: &TypeKind) -> Diagnostic {
    let types: Vec<String> = match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(ts) => ts.iter().map(|t| t.to_string()).collect(),
    };
    let what = if ctx.path.is_empty() {
        "the file".to_owned()
    } else {
        ctx.place()
    };
    if let NodeKind::Float(f, text) = &ctx.node.kind
        && !f.is_finite()
        && types.iter().any(|t| t == "number")
    {
        let d = Diagnostic::error(
            ctx.code(Code::InvalidValue),
            ctx.file,
            ctx.node.span.clone(),
            ctx.message(
                text,
                format!("{what} must be a finite number, found {text}"),
            ),
        );
        return ctx.with_help(d);
    }
    let is_date = ctx
        .annotations
        .and_then(|a| a.get("format"))
        .and_then(Value::as_str)
        == Some("date");
    let expected = if is_date {
        "a date".to_owned()
    } else {
        let names: Vec<&str> = types.iter().map(|t| type_name(t)).collect();
        join_or(&names)
    };
    let found = ctx.node.type_name();
    let d = Diagnostic::error(
        Code::WrongType,
        ctx.file,
        ctx.node.span.clone(),
        format!("{what} must be {expected}, found {}", with_article(found)),
    );
    if is_date {
        d.with_help("write a bare TOML date such as `expires = 2027-03-01`")
    } else {
        d
    }
}

/// `an integer`, `a string`…
pub(crate) fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

fn describe_kind(kind: &ValidationErrorKind, value: &str) -> String {
    match kind {
        ValidationErrorKind::Minimum { limit } => {
            format!("must be at least {limit}, found {value}")
        }
        ValidationErrorKind::Maximum { limit } => format!("must be at most {limit}, found {value}"),
        ValidationErrorKind::MinLength { .. } => "must not be empty".to_owned(),
        ValidationErrorKind::MinItems { .. } => "must not be an empty list".to_owned(),
        ValidationErrorKind::Constant { expected_value } => {
            format!("must be {expected_value}, found {value}")
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("has an invalid value {value} (expected to match `{pattern}`)")
        }
        ValidationErrorKind::UniqueItems => "lists the same value twice".to_owned(),
        _ => format!("has an invalid value {value}"),
    }
}

/// Human description of where a JSON path points in a flag file or the manifest, for
/// messages: "flag `x`", "rule #2 of flag `x`", "context attribute `plan`"…
pub fn describe_path(kind: FileKind, path: &[String]) -> String {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match kind {
        FileKind::Manifest => describe_manifest_path(&p),
        FileKind::Flags => describe_flags_path(&p),
    }
}

fn describe_manifest_path(p: &[&str]) -> String {
    match p {
        [] => "the manifest".to_owned(),
        [section @ ("context" | "static"), attr] => format!("{section} attribute `{attr}`"),
        [section @ ("context" | "static"), attr, n] => {
            format!("value #{} of {section} attribute `{attr}`", index1(n))
        }
        ["segments", seg] => format!("segment `{seg}`"),
        ["segments", seg, attr, rest @ ..] => {
            field_of(&format!("condition on `{attr}` in segment `{seg}`"), rest)
        }
        [section] => format!("`{section}`"),
        _ => format!("`{}`", p.join(".")),
    }
}

fn describe_flags_path(p: &[&str]) -> String {
    match p {
        [] => "the file".to_owned(),
        [flag] => format!("flag `{flag}`"),
        [flag, "rules", n] => format!("rule #{} of flag `{flag}`", index1(n)),
        [flag, "rules", n, "when", attr, rest @ ..] => field_of(
            &format!(
                "condition on `{attr}` in rule #{} of flag `{flag}`",
                index1(n)
            ),
            rest,
        ),
        [flag, "rules", n, field, ..] => {
            format!("`{field}` of rule #{} of flag `{flag}`", index1(n))
        }
        [flag, field, n] if n.parse::<usize>().is_ok() => {
            format!("element #{} of `{field}` of flag `{flag}`", index1(n))
        }
        [flag, field, ..] => format!("`{field}` of flag `{flag}`"),
    }
}

fn field_of(base: &str, rest: &[&str]) -> String {
    match rest.first() {
        Some(op) if op.parse::<usize>().is_err() => format!("`{op}` of the {base}"),
        _ => format!("the {base}"),
    }
}

fn index1(n: &str) -> usize {
    n.parse::<usize>().map_or(0, |i| i + 1)
}

fn type_name(json_type: &str) -> &'static str {
    match json_type {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean",
        "array" => "an array",
        "object" => "a table",
        "null" => "null",
        _ => "a value",
    }
}

fn join_or(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Object(_) => "a table".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        other => other.to_string(),
    }
}

fn raw_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => display_value(other),
    }
}

/// The schema object that holds the keyword at `pointer` (its parent).
fn parent_node<'a>(document: &'a Value, pointer: &str) -> Option<&'a Value> {
    let parent = pointer.rsplit_once('/').map_or("", |(p, _)| p);
    document.pointer(parent)
}

fn to_snake_case(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = true;
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
            prev_lower = false;
        }
    }
    let out = out.trim_matches('_').to_owned();
    (!out.is_empty() && out.starts_with(|c: char| c.is_ascii_lowercase())).then_some(out)
}

/// The parsed tree as jsonschema's JSON representation, so that files are validated without a
/// JSON copy (building and dropping one cost more than the validation itself). It presents the
/// tree exactly as [`Node::to_json`] converts it: datetimes, NaN and infinities as strings,
/// integers beyond 64 bits as the largest float.
mod tree {
    use std::borrow::Cow;

    use jsonschema::json::{self, JsonNumber, NodeIdentity};
    use jsonschema::types::JsonType;
    use serde_json::Value;

    use crate::parse::{Key, Node, NodeKind};

    /// The representation.
    pub struct Tree;

    impl json::Json for Tree {
        type Node<'a> = NodeRef<'a>;
        type PreparedKey = Box<str>;
        type StringBuffer = ();
        // Tables are short vectors searched linearly: walking the members beats looking
        // several keys up one by one.
        const KEYS_PER_LOOKUP: usize = 4;

        fn prepare_key(key: &str) -> Box<str> {
            key.into()
        }

        fn with_string_node<T>(_: &mut (), string: &str, f: impl FnOnce(NodeRef<'_>) -> T) -> T {
            f(NodeRef::Name(string))
        }
    }

    /// A node of the tree, or a bare string (a property name being validated).
    #[derive(Debug, Clone)]
    pub enum NodeRef<'a> {
        Tree(&'a Node),
        Name(&'a str),
    }

    /// A number as the JSON copy would hold it.
    #[derive(Debug, Clone, Copy)]
    pub enum Number {
        Int(i64),
        Float(f64),
    }

    impl NodeRef<'_> {
        fn kind(&self) -> Option<&NodeKind> {
            match self {
                NodeRef::Tree(n) => Some(&n.kind),
                NodeRef::Name(_) => None,
            }
        }
    }

    impl<'a> json::Node<'a, Tree> for NodeRef<'a> {
        type Object = Table<'a>;
        type Array = Items<'a>;
        type Number = Number;

        fn as_object(&self) -> Option<Table<'a>> {
            match self {
                NodeRef::Tree(Node {
                    kind: NodeKind::Table(t),
                    ..
                }) => Some(Table(t)),
                _ => None,
            }
        }

        fn as_array(&self) -> Option<Items<'a>> {
            match self {
                NodeRef::Tree(Node {
                    kind: NodeKind::Array(a),
                    ..
                }) => Some(Items(a)),
                _ => None,
            }
        }

        fn as_string(&self) -> Option<Cow<'a, str>> {
            match self {
                NodeRef::Name(s) => Some(Cow::Borrowed(s)),
                NodeRef::Tree(n) => match &n.kind {
                    NodeKind::Str(s) => Some(Cow::Borrowed(s)),
                    NodeKind::Datetime(d) => Some(Cow::Owned(d.to_string())),
                    NodeKind::Float(f, text) if !f.is_finite() => Some(Cow::Borrowed(text)),
                    _ => None,
                },
            }
        }

        fn as_number(&self) -> Option<Number> {
            match self.kind()? {
                NodeKind::Int(Some(i)) => Some(Number::Int(*i)),
                NodeKind::Int(None) => Some(Number::Float(f64::MAX)),
                NodeKind::Float(f, _) if f.is_finite() => Some(Number::Float(*f)),
                _ => None,
            }
        }

        fn as_boolean(&self) -> Option<bool> {
            match self.kind()? {
                NodeKind::Bool(b) => Some(*b),
                _ => None,
            }
        }

        fn is_null(&self) -> bool {
            false // TOML has no null
        }

        fn json_type(&self) -> JsonType {
            match self.kind() {
                None | Some(NodeKind::Str(_) | NodeKind::Datetime(_)) => JsonType::String,
                Some(NodeKind::Float(f, _)) if !f.is_finite() => JsonType::String,
                Some(NodeKind::Int(_) | NodeKind::Float(..)) => JsonType::Number,
                Some(NodeKind::Bool(_)) => JsonType::Boolean,
                Some(NodeKind::Array(_)) => JsonType::Array,
                Some(NodeKind::Table(_)) => JsonType::Object,
            }
        }

        fn equals_value(&self, expected: &Value) -> bool {
            // `const` and `enum` compare scalars; only other shapes need the JSON copy.
            match (self, expected) {
                (NodeRef::Name(s), Value::String(e)) => s == e,
                (
                    NodeRef::Tree(Node {
                        kind: NodeKind::Str(s),
                        ..
                    }),
                    Value::String(e),
                ) => s == e,
                (
                    NodeRef::Tree(Node {
                        kind: NodeKind::Bool(b),
                        ..
                    }),
                    Value::Bool(e),
                ) => b == e,
                _ => json::cmp::equal(&self.to_value(), expected),
            }
        }

        fn to_value(&self) -> Cow<'a, Value> {
            Cow::Owned(match self {
                NodeRef::Tree(n) => n.to_json(),
                NodeRef::Name(s) => Value::String((*s).to_owned()),
            })
        }

        fn identity(&self) -> Option<NodeIdentity> {
            Some(match self {
                NodeRef::Tree(n) => NodeIdentity::new(std::ptr::from_ref::<Node>(n) as usize),
                NodeRef::Name(s) => NodeIdentity::tagged(s.as_ptr() as usize, 1),
            })
        }
    }

    impl JsonNumber for Number {
        fn as_u64(&self) -> Option<u64> {
            match *self {
                Number::Int(i) => u64::try_from(i).ok(),
                Number::Float(_) => None,
            }
        }

        fn as_i64(&self) -> Option<i64> {
            match *self {
                Number::Int(i) => Some(i),
                Number::Float(_) => None,
            }
        }

        fn as_f64(&self) -> Option<f64> {
            Some(match *self {
                Number::Int(i) => i as f64,
                Number::Float(f) => f,
            })
        }

        fn as_str(&self) -> Cow<'_, str> {
            Cow::Owned(self.to_number().to_string())
        }

        fn to_number(&self) -> Cow<'_, serde_json::Number> {
            Cow::Owned(match *self {
                Number::Int(i) => i.into(),
                // Only finite floats are numbers here.
                Number::Float(f) => {
                    serde_json::Number::from_f64(f).unwrap_or_else(|| serde_json::Number::from(0))
                }
            })
        }

        fn is_integer(&self) -> bool {
            // As serde_json's `Number::from_f64` would keep it: a float is never an integer.
            matches!(self, Number::Int(_))
        }

        fn is_written_as_integer(&self) -> bool {
            matches!(self, Number::Int(_))
        }
    }

    /// A table's entries.
    #[derive(Debug, Clone, Copy)]
    pub struct Table<'a>(&'a [(Key, Node)]);

    impl<'a> json::Object<'a, Tree> for Table<'a> {
        type Node = NodeRef<'a>;
        type MemberName = &'a str;
        type MembersIter = Members<'a>;

        fn len(&self) -> usize {
            self.0.len()
        }

        fn get(&self, key: &Box<str>) -> Option<NodeRef<'a>> {
            self.0
                .iter()
                .find(|(k, _)| *k.name == **key)
                .map(|(_, v)| NodeRef::Tree(v))
        }

        fn members(&self) -> Self::MembersIter {
            Members(self.0.iter())
        }
    }

    /// A table's entries as names and nodes.
    #[derive(Debug, Clone)]
    pub struct Members<'a>(std::slice::Iter<'a, (Key, Node)>);

    impl<'a> Iterator for Members<'a> {
        type Item = (&'a str, NodeRef<'a>);

        fn next(&mut self) -> Option<Self::Item> {
            self.0
                .next()
                .map(|(k, v)| (k.name.as_str(), NodeRef::Tree(v)))
        }
    }

    /// An array's elements.
    #[derive(Debug, Clone, Copy)]
    pub struct Items<'a>(&'a [Node]);

    impl<'a> json::Array<'a, Tree> for Items<'a> {
        type Node = NodeRef<'a>;
        type ElementsIter = std::iter::Map<std::slice::Iter<'a, Node>, fn(&'a Node) -> NodeRef<'a>>;

        fn len(&self) -> usize {
            self.0.len()
        }

        fn elements(&self) -> Self::ElementsIter {
            self.0.iter().map(NodeRef::Tree)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_file;

    fn errors(kind: FileKind, text: &str) -> Vec<Diagnostic> {
        let mut d = Diagnostics::new();
        let f = parse_file("f.toml", text, &mut d);
        validate(kind, &f, &mut d);
        d.into_sorted()
    }

    #[test]
    fn both_committed_schemas_compile() {
        let _ = compiled(FileKind::Flags);
        let _ = compiled(FileKind::Manifest);
    }

    #[test]
    fn shared_definitions_agree_between_the_two_schemas() {
        let flags: Value = serde_json::from_str(FLAGS_SCHEMA).expect("json");
        let manifest: Value = serde_json::from_str(MANIFEST_SCHEMA).expect("json");
        for def in [
            "name",
            "enumValue",
            "literal",
            "literals",
            "strings",
            "conditions",
            "condition",
            "operators",
        ] {
            assert_eq!(
                flags["definitions"][def], manifest["definitions"][def],
                "definition `{def}` drifted"
            );
        }
    }

    #[test]
    fn misspelled_field_points_at_the_key_with_a_suggestion() {
        let text = "[f]\ndescripton = \"x\"\nowner = \"o\"\ndefault = true\npermanent = true\n";
        let d = errors(FileKind::Flags, text);
        // One mistake, one error: the missing `description` is the misspelling's.
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].code, Code::UnknownField);
        assert_eq!(&text[d[0].span.clone().expect("span")], "descripton");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `description`?"));
    }

    #[test]
    fn missing_field_is_reported_when_no_unknown_field_resembles_it() {
        let text = "[f]\ncolor = \"x\"\nowner = \"o\"\ndefault = true\npermanent = true\n";
        let d = errors(FileKind::Flags, text);
        let codes: Vec<_> = d.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::MissingField, Code::UnknownField], "{d:#?}");
        assert_eq!(&text[d[0].span.clone().expect("span")], "f");
        assert!(d[0].message.contains("`description`"), "{}", d[0].message);
    }

    #[test]
    fn every_unknown_field_of_a_table_is_reported() {
        let text = "[f]\ndescription = \"x\"\nowner = \"o\"\ndefault = true\npermanent = true\n\
                    color = 1\nsize = 2\n";
        let d = errors(FileKind::Flags, text);
        let keys: Vec<_> = d
            .iter()
            .map(|d| &text[d.span.clone().expect("span")])
            .collect();
        assert_eq!(keys, ["color", "size"], "{d:#?}");
    }

    #[test]
    fn nan_percentage_is_out_of_range_not_a_type_error() {
        let text = "[f]\ndescription = \"x\"\nowner = \"o\"\ndefault = true\npermanent = true\n\
                    [[f.rules]]\nrollout = nan\n";
        let d = errors(FileKind::Flags, text);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].code, Code::RolloutPrecision);
        assert!(d[0].message.ends_with("found nan"), "{}", d[0].message);
    }

    #[test]
    fn unknown_operator_and_out_of_range_percentage_get_specific_codes() {
        let text = "[f]\ndescription = \"x\"\nowner = \"o\"\ndefault = true\npermanent = true\n\
                    [[f.rules]]\nwhen = { plan = { gte = 1, bigger = 2 } }\nrollout = 120\n";
        let d = errors(FileKind::Flags, text);
        let codes: Vec<_> = d.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [Code::UnknownOperator, Code::RolloutPrecision],
            "{d:#?}"
        );
        assert_eq!(&text[d[0].span.clone().expect("span")], "bigger");
        assert_eq!(&text[d[1].span.clone().expect("span")], "120");
    }

    #[test]
    fn expires_is_required_unless_permanent() {
        let text = "[f]\ndescription = \"x\"\nowner = \"o\"\ndefault = true\n";
        let d = errors(FileKind::Flags, text);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("`expires`"));
        assert!(
            d[0].help
                .as_deref()
                .is_some_and(|h| h.contains("permanent = true"))
        );
    }

    #[test]
    fn flag_key_that_is_not_snake_case() {
        let text =
            "[NewCheckout]\ndescription = \"x\"\nowner = \"o\"\ndefault = true\npermanent = true\n";
        let d = errors(FileKind::Flags, text);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].code, Code::InvalidName);
        assert!(
            d[0].help
                .as_deref()
                .is_some_and(|h| h.contains("new_checkout")),
            "{:?}",
            d[0].help
        );
    }

    #[test]
    fn unknown_attribute_type_in_manifest() {
        let text = "[context]\nuser_id = \"strng\"\n";
        let d = errors(FileKind::Manifest, text);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].code, Code::InvalidValue);
        assert_eq!(d[0].message, "unknown attribute type `strng`");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `string`?"));
    }
}
