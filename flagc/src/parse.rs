//! Parsing: TOML text into a spanned tree, collecting every syntax error.
//!
//! **Invariant:** parsing never fails: it returns the tree it could recover and the errors.
//! The tree owns its data so later stages can keep it without borrowing the text.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diag::{Code, Diagnostic, Diagnostics};

/// A byte span.
pub type Span = Range<usize>;

/// A table key with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key as written (unquoted).
    pub name: String,
    /// Where the key is.
    pub span: Span,
}

/// A TOML value with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub kind: NodeKind,
    /// Where the value is.
    pub span: Span,
}

/// A TOML value.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A string.
    Str(String),
    /// An integer; `None` when it does not fit an `i64`.
    Int(Option<i64>),
    /// A float, with its literal text (for exact decimal conversion).
    Float(f64, String),
    /// A boolean.
    Bool(bool),
    /// A date, time or date-time.
    Datetime(toml::value::Datetime),
    /// An array.
    Array(Vec<Node>),
    /// A table, in source order.
    Table(Vec<(Key, Node)>),
}

impl Node {
    /// The TOML type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Str(_) => "string",
            NodeKind::Int(_) => "integer",
            NodeKind::Float(..) => "float",
            NodeKind::Bool(_) => "boolean",
            NodeKind::Datetime(_) => "datetime",
            NodeKind::Array(_) => "array",
            NodeKind::Table(_) => "table",
        }
    }

    /// The entries, if this is a table.
    pub fn as_table(&self) -> Option<&[(Key, Node)]> {
        match &self.kind {
            NodeKind::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            NodeKind::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// A table entry by key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// A table entry (key and value) by key.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        self.as_table()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, v)| (k, v))
    }

    /// The value as JSON, for schema validation. Datetimes become strings, as editors' schema
    /// validators treat them.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Int(Some(i)) => Value::from(*i),
            NodeKind::Int(None) => Value::from(f64::MAX),
            NodeKind::Float(f, text) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Value::String(text.clone()), Value::Number),
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Datetime(d) => Value::String(d.to_string()),
            NodeKind::Array(a) => Value::Array(a.iter().map(Node::to_json).collect()),
            NodeKind::Table(t) => Value::Object(
                t.iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Follows JSON-pointer-like segments (keys and indices) down the tree. Returns the key
    /// under which the last node sits (if it is a table entry) and the node.
    pub fn locate<S: AsRef<str>>(
        &self,
        path: impl IntoIterator<Item = S>,
    ) -> Option<(Option<&Key>, &Node)> {
        let mut key = None;
        let mut node = self;
        for seg in path {
            let seg = seg.as_ref();
            match &node.kind {
                NodeKind::Table(t) => {
                    let (k, v) = t.iter().find(|(k, _)| k.name == seg)?;
                    key = Some(k);
                    node = v;
                }
                NodeKind::Array(a) => {
                    node = a.get(seg.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((key, node))
    }
}

/// A parsed file: its root table, possibly partial when there were syntax errors.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFile {
    /// Relative path.
    pub path: String,
    /// The root table.
    pub root: Node,
    /// Whether the file had syntax errors (its tree is partial).
    pub had_errors: bool,
}

/// Parses one file, recording every syntax error.
pub fn parse_file(path: &str, text: &str, diags: &mut Diagnostics) -> ParsedFile {
    let (table, errors) = DeTable::parse_recoverable(text);
    let had_errors = !errors.is_empty();
    let mut errors: Vec<_> = errors
        .into_iter()
        .map(|e| (clamp(e.span().unwrap_or(0..0), text), e))
        .collect();
    errors.sort_by_key(|(span, _)| (span.start, span.end));
    // The parser's recovery often reports one mistake several times on its line (`a = = 1`
    // is an extra `=` and then an unexpected value): keep the first error of each line.
    let (mut line, mut scanned, mut last_line) = (0, 0, None);
    for (span, e) in errors {
        line += text.as_bytes()[scanned..span.start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        scanned = span.start;
        if last_line == Some(line) {
            continue;
        }
        last_line = Some(line);
        let message = e.message().trim().trim_end_matches('.').to_owned();
        let mut d = Diagnostic::error(
            Code::TomlSyntax,
            path,
            span,
            format!("invalid TOML: {message}"),
        );
        if message.contains("duplicate key") {
            d = d.with_help(
                "a key can be defined only once per table; TOML also forbids redefining a table",
            );
        }
        diags.push(d);
    }
    let span = table.span();
    ParsedFile {
        path: path.to_owned(),
        root: Node {
            kind: NodeKind::Table(convert_table(table.get_ref())),
            span,
        },
        had_errors,
    }
}

/// The span inside the text and on character boundaries, whatever the parser reported.
fn clamp(span: Span, text: &str) -> Span {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start);
    start..floor(span.end).max(start)
}

fn convert_table(t: &DeTable<'_>) -> Vec<(Key, Node)> {
    t.iter()
        .map(|(k, v)| {
            (
                Key {
                    name: k.get_ref().to_string(),
                    span: k.span(),
                },
                convert(v),
            )
        })
        .collect()
}

fn convert(v: &Spanned<DeValue<'_>>) -> Node {
    let kind = match v.get_ref() {
        DeValue::String(s) => NodeKind::Str(s.to_string()),
        DeValue::Integer(i) => NodeKind::Int(i64::from_str_radix(i.as_str(), i.radix()).ok()),
        DeValue::Float(f) => {
            let text = f.as_str().to_owned();
            let value = match text.as_str() {
                "inf" | "+inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                t if t.ends_with("nan") => f64::NAN,
                t => t.replace('_', "").parse().unwrap_or(f64::NAN),
            };
            NodeKind::Float(value, text)
        }
        DeValue::Boolean(b) => NodeKind::Bool(*b),
        DeValue::Datetime(d) => NodeKind::Datetime(*d),
        DeValue::Array(a) => NodeKind::Array(a.iter().map(convert).collect()),
        DeValue::Table(t) => NodeKind::Table(convert_table(t)),
    };
    Node {
        kind,
        span: v.span(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syntax_error_is_reported_and_the_rest_is_kept() {
        let mut d = Diagnostics::new();
        let text = "[a]\nx = 1\ny = = 2\n[b]\nz = \"open\n";
        let f = parse_file("f.toml", text, &mut d);
        assert!(f.had_errors);
        assert!(d.as_slice().len() >= 2, "{:?}", d.as_slice());
        assert!(d.as_slice().iter().all(|d| d.code == Code::TomlSyntax));
        assert_eq!(
            f.root.locate(["a", "x"]).map(|(_, n)| n.kind.clone()),
            Some(NodeKind::Int(Some(1)))
        );
    }

    #[test]
    fn locate_returns_key_and_value_spans() {
        let mut d = Diagnostics::new();
        let text = "[f]\nrules = [{ value = true }]\n";
        let f = parse_file("f.toml", text, &mut d);
        let (key, node) = f.root.locate(["f", "rules", "0", "value"]).expect("found");
        assert_eq!(&text[key.expect("key").span.clone()], "value");
        assert_eq!(&text[node.span.clone()], "true");
    }

    #[test]
    fn float_keeps_its_literal_text() {
        let mut d = Diagnostics::new();
        let f = parse_file("f.toml", "a = 33.333\nb = 1_000.5\n", &mut d);
        assert_eq!(
            f.root.get("a").map(|n| n.kind.clone()),
            Some(NodeKind::Float(33.333, "33.333".into()))
        );
        assert!(
            matches!(f.root.get("b").map(|n| &n.kind), Some(NodeKind::Float(x, _)) if *x == 1000.5)
        );
    }
}
