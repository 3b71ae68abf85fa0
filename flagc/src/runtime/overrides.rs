//! The break-glass override file: flag values an operator forces from outside git, for the
//! minutes a pull request takes.
//!
//! ```toml
//! reason = "INC-4711: card payments fail in the one-page flow"  # optional, logged and shown
//! until = 2026-06-01T18:00:00Z                                 # optional: ignored after it
//!
//! [overrides]
//! one_page_checkout = false
//! checkout_layout = "classic"
//! free_shipping_threshold = { value = 0, reason = "INC-4712", until = 2026-06-01T12:00:00Z }
//! ```
//!
//! Each value is checked against the flag's type (and variants) in the running binary.
//!
//! **Invariant:** a file with any error yields no overrides at all (the caller keeps the ones
//! in effect), so a half-edited file changes nothing. An empty file, or one without an
//! `[overrides]` table, is an error for the same reason (a truncated save); removing every
//! override is deleting the file.

use crate::diag::{self, Code, Diagnostic, Diagnostics};
use crate::ir::Value;
use crate::model::FlagType;
use crate::parse::{Key, Node, NodeKind, parse_file};

/// One forced flag value.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The flag's key.
    pub key: String,
    /// The flag's type the value was checked against.
    pub ty: FlagType,
    /// The forced value.
    pub value: Value,
    /// Why (the entry's own `reason`, else the file's).
    pub reason: Option<String>,
    /// When it stops applying (the entry's own `until`, else the file's).
    pub until: Option<jiff::Timestamp>,
}

impl Override {
    /// Whether it applies at `now`.
    pub fn active_at(&self, now: jiff::Timestamp) -> bool {
        self.until.is_none_or(|u| now < u)
    }

    /// The value as JSON (enum values by name), for logs and status pages.
    pub fn value_json(&self) -> serde_json::Value {
        self.value.to_json(&self.ty)
    }
}

/// Parses and checks an override file. `file` names it in diagnostics; `flag_type(key)` is
/// the type of flag `key` where the overrides will apply, `None` for an unknown key; `known`
/// lists the keys (for "did you mean").
pub fn parse(
    file: &str,
    text: &str,
    flag_type: impl Fn(&str) -> Option<FlagType>,
    known: &[&str],
) -> Result<Vec<Override>, Vec<Diagnostic>> {
    let mut diags = Diagnostics::new();
    if text.trim().is_empty() {
        diags.push(
            Diagnostic::global(
                diag::Severity::Error,
                Code::EmptyFile,
                Some(file),
                "the override file is empty",
            )
            .with_help("to remove every override, delete the file; an empty file changes nothing (it may be a save in progress)"),
        );
        return Err(diags.into_sorted());
    }
    let parsed = parse_file(file, text, &mut diags);
    if parsed.had_errors {
        return Err(diags.into_sorted());
    }
    let mut cx = Cx {
        file,
        diags,
        flag_type: &flag_type,
        known,
    };
    let entries = cx.file(&parsed.root);
    if cx.diags.has_errors() {
        Err(cx.diags.into_sorted())
    } else {
        Ok(entries)
    }
}

struct Cx<'a, F> {
    file: &'a str,
    diags: Diagnostics,
    flag_type: &'a F,
    known: &'a [&'a str],
}

impl<F: Fn(&str) -> Option<FlagType>> Cx<'_, F> {
    fn file(&mut self, root: &Node) -> Vec<Override> {
        let Some(table) = root.as_table() else {
            return Vec::new();
        };
        let mut reason = None;
        let mut until = None;
        let mut overrides = None;
        for (k, v) in table {
            match k.name.as_str() {
                "reason" => reason = self.string(k, v),
                "until" => until = self.timestamp(k, v),
                "overrides" => overrides = Some(v),
                _ => self.unknown_field(k, &["reason", "until", "overrides"]),
            }
        }
        let Some(overrides) = overrides else {
            self.diags.push(
                Diagnostic::global(
                    diag::Severity::Error,
                    Code::MissingField,
                    Some(self.file),
                    "the override file has no `[overrides]` table",
                )
                .with_help("write `[overrides]` and then `flag_key = value` lines; to remove every override, delete the file"),
            );
            return Vec::new();
        };
        let Some(entries) = overrides.as_table() else {
            self.wrong_type(
                overrides,
                "`overrides` must be a table of `flag_key = value`",
            );
            return Vec::new();
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            if let Some(o) = self.entry(k, v, reason.as_deref(), until) {
                out.push(o);
            }
        }
        out
    }

    fn entry(
        &mut self,
        key: &Key,
        node: &Node,
        file_reason: Option<&str>,
        file_until: Option<jiff::Timestamp>,
    ) -> Option<Override> {
        let Some(ty) = (self.flag_type)(&key.name) else {
            let mut d = Diagnostic::error(
                Code::UnknownFlag,
                self.file,
                key.span.clone(),
                format!("no flag `{}` to override", key.name),
            );
            if let Some(help) = diag::did_you_mean(&key.name, self.known.iter().copied()) {
                d = d.with_help(help);
            }
            self.diags.push(d);
            return None;
        };
        let (mut reason, mut until) = (file_reason.map(str::to_owned), file_until);
        let literal = match &node.kind {
            NodeKind::Table(fields) => {
                let mut value = None;
                for (k, v) in fields {
                    match k.name.as_str() {
                        "value" => value = Some(v),
                        "reason" => reason = self.string(k, v).or(reason),
                        "until" => until = self.timestamp(k, v).or(until),
                        _ => self.unknown_field(k, &["value", "reason", "until"]),
                    }
                }
                let Some(value) = value else {
                    self.diags.push(Diagnostic::error(
                        Code::MissingField,
                        self.file,
                        node.span.clone(),
                        format!("the override of `{}` has no `value`", key.name),
                    ));
                    return None;
                };
                value
            }
            _ => node,
        };
        let value = self.value(&key.name, &ty, literal)?;
        Some(Override {
            key: key.name.clone(),
            ty,
            value,
            reason,
            until,
        })
    }

    fn value(&mut self, key: &str, ty: &FlagType, node: &Node) -> Option<Value> {
        let value = match (ty, &node.kind) {
            (FlagType::Bool, NodeKind::Bool(b)) => Value::Bool(*b),
            (FlagType::Int | FlagType::Float, NodeKind::Int(None)) => {
                self.diags.push(Diagnostic::error(
                    Code::InvalidValue,
                    self.file,
                    node.span.clone(),
                    "integer out of range (i64)",
                ));
                return None;
            }
            (FlagType::Int, NodeKind::Int(Some(i))) => Value::Int(*i),
            (FlagType::Float, NodeKind::Int(Some(i))) => Value::Float(*i as f64),
            (FlagType::Float, NodeKind::Float(x, _)) => Value::Float(*x),
            (FlagType::String, NodeKind::Str(s)) => Value::Str(s.as_str().into()),
            (FlagType::Enum(variants), NodeKind::Str(s)) => {
                match variants.iter().position(|v| v == s) {
                    Some(i) => Value::Enum(i as u32),
                    None => {
                        let mut d = Diagnostic::error(
                            Code::UnknownVariant,
                            self.file,
                            node.span.clone(),
                            format!("{s:?} is not a variant of flag `{key}`"),
                        );
                        if let Some(help) =
                            diag::did_you_mean(s, variants.iter().map(String::as_str))
                        {
                            d = d.with_help(help);
                        }
                        self.diags.push(d);
                        return None;
                    }
                }
            }
            _ => {
                let expected = match ty {
                    FlagType::Bool => "`true` or `false`",
                    FlagType::Int => "an integer",
                    FlagType::Float => "a number",
                    FlagType::String => "a string",
                    FlagType::Enum(_) => "one of its variants, as a string",
                };
                self.diags.push(Diagnostic::error(
                    Code::TypeMismatch,
                    self.file,
                    node.span.clone(),
                    format!(
                        "`{key}` is {} flag: its override must be {expected}, not {}",
                        article(ty.name()),
                        article(node.type_name())
                    ),
                ));
                return None;
            }
        };
        Some(value)
    }

    fn string(&mut self, key: &Key, node: &Node) -> Option<String> {
        match node.as_str() {
            Some(s) => Some(s.to_owned()),
            None => {
                self.wrong_type(node, &format!("`{}` must be a string", key.name));
                None
            }
        }
    }

    fn timestamp(&mut self, key: &Key, node: &Node) -> Option<jiff::Timestamp> {
        let parsed = match &node.kind {
            NodeKind::Datetime(d) if d.offset.is_some() => d.to_string().parse().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.diags.push(
                Diagnostic::error(
                    Code::InvalidDatetime,
                    self.file,
                    node.span.clone(),
                    format!("`{}` must be an offset date-time", key.name),
                )
                .with_help("write it bare, with an offset: `until = 2026-06-01T18:00:00Z`"),
            );
        }
        parsed
    }

    fn wrong_type(&mut self, node: &Node, message: &str) {
        self.diags.push(Diagnostic::error(
            Code::WrongType,
            self.file,
            node.span.clone(),
            message,
        ));
    }

    fn unknown_field(&mut self, key: &Key, allowed: &[&str]) {
        let mut d = Diagnostic::error(
            Code::UnknownField,
            self.file,
            key.span.clone(),
            format!("unknown field `{}` in the override file", key.name),
        );
        if let Some(help) = diag::did_you_mean(&key.name, allowed.iter().copied()) {
            d = d.with_help(help);
        }
        self.diags.push(d);
    }
}

/// `an int`, `a string`.
fn article(noun: &str) -> String {
    let an = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if an { "an" } else { "a" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(key: &str) -> Option<FlagType> {
        match key {
            "kill" => Some(FlagType::Bool),
            "size" => Some(FlagType::Int),
            "ratio" => Some(FlagType::Float),
            "layout" => Some(FlagType::Enum(vec!["classic".into(), "wizard".into()])),
            _ => None,
        }
    }

    fn run(text: &str) -> Result<Vec<Override>, Vec<Diagnostic>> {
        parse(
            "overrides.toml",
            text,
            types,
            &["kill", "size", "ratio", "layout"],
        )
    }

    #[test]
    fn values_are_checked_against_flag_types() {
        let got = run(concat!(
            "reason = \"INC-1\"\nuntil = 2030-01-01T00:00:00Z\n[overrides]\n",
            "kill = false\nratio = 2\nlayout = { value = \"wizard\", reason = \"INC-2\" }\n",
        ))
        .expect("valid");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].value, Value::Bool(false));
        assert_eq!(got[0].reason.as_deref(), Some("INC-1"));
        assert_eq!(got[1].value, Value::Float(2.0));
        assert_eq!(got[2].value, Value::Enum(1));
        assert_eq!(got[2].reason.as_deref(), Some("INC-2"));
        assert!(got.iter().all(|o| o.until.is_some()));
    }

    #[test]
    fn every_problem_is_reported_and_nothing_applies() {
        let errs = run("[overrides]\nkil = true\nsize = \"9\"\nlayout = \"wizzard\"\n")
            .expect_err("invalid");
        let codes: Vec<_> = errs.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [Code::UnknownFlag, Code::TypeMismatch, Code::UnknownVariant]
        );
        assert_eq!(errs[0].help.as_deref(), Some("did you mean `kill`?"));
    }

    #[test]
    fn empty_truncated_or_local_time_files_are_errors() {
        for text in ["", "  \n", "reason = \"x\"\n", "[overrides\nkill = true"] {
            assert!(run(text).is_err(), "{text:?}");
        }
        let errs = run("until = 2030-01-01T00:00:00\n[overrides]\n").expect_err("local");
        assert_eq!(errs[0].code, Code::InvalidDatetime);
        assert_eq!(run("[overrides]\n").expect("empty table"), []);
    }
}
