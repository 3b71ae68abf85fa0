//! Semantic checks: from parsed, schema-checked files to the typed [`Model`].
//!
//! Runs over every file and reports every problem: unknown attributes, segments, variants and
//! `by` attributes; literals of the wrong type (semver, datetime, regex, enum values); rule
//! outcomes; rollout sums and precision; rule ids; names; duplicate keys across files;
//! segment cycles; shadowed rules and expired flags (warnings).
//!
//! **Invariant:** a structural problem (a field of the wrong TOML type, an unknown field) is
//! the schema's to report; these checks skip such nodes silently. As a safety net, if a node
//! was skipped and no error at all was reported, the skip itself becomes an error, so an
//! invalid directory can never produce a model.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use crate::CheckOptions;
use crate::diag::{Code, Diagnostic, Diagnostics, Severity, did_you_mean};
use crate::model::*;
use crate::par;
use crate::parse::{Key, Node, NodeKind, ParsedFile, parse_file};
use crate::schema::{self, FileKind, with_article};
use crate::source::Sources;

/// Rust keywords (strict, reserved and edition-2018+), which cannot be generated names.
pub const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Today's date in UTC: `SOURCE_DATE_EPOCH` (seconds) when set, for reproducible builds,
/// else the system clock.
pub fn today_utc() -> Date {
    let ts = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| jiff::Timestamp::from_second(secs).ok())
        .unwrap_or_else(jiff::Timestamp::now);
    let d = ts.to_zoned(jiff::tz::TimeZone::UTC).date();
    Date {
        year: d.year(),
        month: d.month(),
        day: d.day(),
    }
}

/// Checks every file and builds the model. Returns `None` when the model could not be built
/// (there are then errors in `diags`).
///
/// Files are parsed and validated in parallel, and so are the flags once the manifest and the
/// uniqueness of keys are known: all of that is per file. Diagnostics come out in the same
/// (sorted) order whatever the number of threads.
pub fn check(sources: &Sources, options: &CheckOptions, diags: &mut Diagnostics) -> Option<Model> {
    let errors_before = diags.error_count();

    let parsed: Vec<ParsedFile> = par::map(
        &sources.files,
        |f| f.text.len(),
        |f| {
            let mut d = Diagnostics::new();
            let p = parse_file(&f.path, &f.text, &mut d);
            // A partial tree would only produce follow-on noise.
            if !p.had_errors {
                let kind = if p.path == crate::source::MANIFEST {
                    FileKind::Manifest
                } else {
                    FileKind::Flags
                };
                schema::validate(kind, &p, &mut d);
            }
            (p, d)
        },
    )
    .into_iter()
    .map(|(p, d)| {
        diags.extend(d);
        p
    })
    .collect();

    let mut cx = Checker {
        diags: Diagnostics::new(),
        skipped: Vec::new(),
        today: options.today.unwrap_or_else(today_utc),
        options,
        opaque: false,
        broken: HashSet::new(),
        rollout_by_broken: false,
        static_types: Arc::new([]),
    };
    // Flags are checked even when the manifest is broken or missing, so that one run reports
    // every problem: names the manifest fails to declare properly are then not reported as
    // unknown (see `Checker::unresolvable`).
    let manifest_file = parsed.iter().find(|p| p.path == crate::source::MANIFEST);
    let (manifest, manifest_ok) = match manifest_file {
        Some(m) if !m.had_errors => cx.manifest(m),
        _ => {
            cx.opaque = true;
            (Manifest::default(), false)
        }
    };

    // Keys are unique across files, the first definition (in path order) winning: decided
    // before the flags are checked, so that a duplicate is reported once, at the second.
    let mut seen: HashMap<&str, (&str, Range<usize>)> = HashMap::with_capacity(
        parsed
            .iter()
            .map(|p| p.root.as_table().map_or(0, <[_]>::len))
            .sum(),
    );
    // Per file to check: its index in `parsed`, the entries to check, its weight.
    let mut jobs: Vec<(usize, Vec<usize>, usize)> = Vec::new();
    for (index, p) in parsed
        .iter()
        .enumerate()
        .filter(|(_, p)| p.path != crate::source::MANIFEST && !p.had_errors)
    {
        let table = p.root.as_table().unwrap_or_default();
        if table.is_empty() {
            cx.diags.push(
                Diagnostic::error(Code::EmptyFile, &p.path, 0..0, "flag file defines no flags")
                    .with_help("add a flag (`[flag_key]` with description, owner, expires and default), or delete the file"),
            );
            continue;
        }
        let mut firsts = Vec::with_capacity(table.len());
        for (i, (key, _)) in table.iter().enumerate() {
            if let Some((file, span)) = seen.get(key.name.as_str()) {
                cx.diags.push(
                    Diagnostic::error(Code::DuplicateFlag, &p.path, key.span.clone(), format!("flag `{}` is defined twice", key.name))
                        .with_label(file, span.clone(), "first defined here")
                        .with_help("flag keys are unique across the whole flag directory; rename or remove one"),
                );
                continue;
            }
            seen.insert(&key.name, (&p.path, key.span.clone()));
            cx.reserved_name(&p.path, key, "flag key");
            firsts.push(i);
        }
        jobs.push((index, firsts, p.root.span.len()));
    }
    drop(seen);

    // Each file's tree is freed by the thread that checked it, as soon as it is done with
    // it: freeing thousands of small nodes is work too, better not left to one thread.
    let parsed: Vec<Mutex<Option<ParsedFile>>> =
        parsed.into_iter().map(|p| Mutex::new(Some(p))).collect();
    let checked = par::map(
        &jobs,
        |(_, _, weight)| *weight,
        |(index, firsts, _)| {
            let p = parsed[*index]
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            let mut w = cx.worker();
            let flags: Vec<Flag> = p.as_ref().map_or_else(Vec::new, |p| {
                let table = p.root.as_table().unwrap_or_default();
                firsts
                    .iter()
                    .filter_map(|&i| {
                        let (key, node) = &table[i];
                        w.flag(&manifest, &p.path, key, node)
                    })
                    .collect()
            });
            drop(p);
            (flags, w.diags, w.skipped)
        },
    );
    let mut flags = Vec::new();
    for (f, d, skipped) in checked {
        flags.extend(f);
        cx.diags.extend(d);
        cx.skipped.extend(skipped);
    }

    diags.extend(std::mem::take(&mut cx.diags));
    if diags.error_count() == errors_before {
        for (file, span, what) in std::mem::take(&mut cx.skipped) {
            diags.push(Diagnostic::error(
                Code::InvalidValue,
                &file,
                span,
                format!("invalid {what}"),
            ));
        }
    }
    if !manifest_ok || diags.error_count() > errors_before {
        return None;
    }
    flags.sort_by(|a, b| a.key.cmp(&b.key));
    Some(Model { manifest, flags })
}

struct Checker<'o> {
    diags: Diagnostics,
    /// Nodes skipped as structurally invalid (the schema's to report): file, span, what.
    skipped: Vec<(String, Range<usize>, &'static str)>,
    today: Date,
    options: &'o CheckOptions,
    /// The manifest is missing or not valid TOML: no name can be resolved, and none is
    /// reported as unknown.
    opaque: bool,
    /// Attributes the manifest declares but that are invalid (their errors are reported
    /// there); conditions on them are skipped rather than reported as unknown.
    broken: HashSet<String>,
    /// `[rollout] by` is set but invalid (reported there).
    rollout_by_broken: bool,
    /// The static attributes' types, by index (the manifest holds only their values).
    static_types: Arc<[AttrType]>,
}

impl<'o> Checker<'o> {
    /// A checker with what the manifest taught this one, and nothing reported yet.
    fn worker(&self) -> Checker<'o> {
        Checker {
            diags: Diagnostics::new(),
            skipped: Vec::new(),
            today: self.today,
            options: self.options,
            opaque: self.opaque,
            broken: self.broken.clone(),
            rollout_by_broken: self.rollout_by_broken,
            static_types: Arc::clone(&self.static_types),
        }
    }
}

impl Checker<'_> {
    /// Whether a name that did not resolve is explained by an error in the manifest, so
    /// reporting it as unknown would only be noise.
    fn unresolvable(&self, name: &str) -> bool {
        self.opaque || self.broken.contains(name)
    }

    fn skip<T>(&mut self, file: &str, node: &Node, what: &'static str) -> Option<T> {
        self.skipped
            .push((file.to_owned(), node.span.clone(), what));
        None
    }

    fn error(
        &mut self,
        code: Code,
        file: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::error(code, file, span, message)
    }

    /// Reports a Rust keyword (or `segment`/`by` where reserved) used as a name.
    fn reserved_name(&mut self, file: &str, key: &Key, what: &str) -> bool {
        if RUST_KEYWORDS.contains(&key.name.as_str()) {
            let d = self
                .error(
                    Code::ReservedName,
                    file,
                    key.span.clone(),
                    format!("{what} `{}` is a Rust keyword", key.name),
                )
                .with_help(format!(
                    "names become Rust identifiers; try `{}_` or a more specific name",
                    key.name
                ));
            self.diags.push(d);
            return true;
        }
        false
    }

    // ---- manifest ---------------------------------------------------------------------

    /// The manifest, as far as it is valid, and whether it is wholly valid.
    fn manifest(&mut self, p: &ParsedFile) -> (Manifest, bool) {
        let file = p.path.as_str();
        let mut m = Manifest {
            format: 1,
            deprecate_expired: true,
            ..Manifest::default()
        };
        let mut ok = true;
        let mut names: HashMap<String, Range<usize>> = HashMap::new();

        if let Some(NodeKind::Int(Some(f))) = p.root.get("format").map(|n| &n.kind) {
            m.format = u32::try_from(*f).unwrap_or(0);
        }
        // A section of the wrong type (the schema's to report) hides every name in it.
        let sections = ["static", "context", "segments"];
        if sections
            .iter()
            .any(|s| p.root.get(s).is_some_and(|n| n.as_table().is_none()))
        {
            self.opaque = true;
            ok = false;
        }
        if let Some(table) = p.root.get("static").and_then(Node::as_table) {
            for (key, node) in table {
                ok &= self.attr_name(file, key, &mut names);
                let Some(values) = self.enum_values(
                    file,
                    node,
                    "value",
                    &format!("static attribute `{}`", key.name),
                ) else {
                    self.broken.insert(key.name.clone());
                    ok = false;
                    continue;
                };
                m.statics.push(StaticAttr {
                    name: key.name.clone(),
                    values,
                    loc: Loc {
                        file: file.into(),
                        span: key.span.clone(),
                    },
                });
            }
        }
        self.static_types = m
            .statics
            .iter()
            .map(|s| AttrType::Enum(s.values.clone()))
            .collect();
        if let Some(table) = p.root.get("context").and_then(Node::as_table) {
            for (key, node) in table {
                ok &= self.attr_name(file, key, &mut names);
                let ty = match &node.kind {
                    // An unknown type name is the schema's to report.
                    NodeKind::Str(s) => AttrType::from_name(s),
                    NodeKind::Array(_) => self
                        .enum_values(
                            file,
                            node,
                            "enum value",
                            &format!("context attribute `{}`", key.name),
                        )
                        .map(AttrType::Enum),
                    _ => None,
                };
                let Some(ty) = ty else {
                    self.broken.insert(key.name.clone());
                    ok = false;
                    continue;
                };
                m.context.push(ContextAttr {
                    name: key.name.clone(),
                    ty,
                    loc: Loc {
                        file: file.into(),
                        span: key.span.clone(),
                    },
                });
            }
        }
        if let Some(node) = p.root.get("rollout").and_then(|r| r.get("by")) {
            match node
                .as_str()
                .and_then(|name| self.bucketing_attr(&m, file, name, node))
            {
                Some(i) => m.rollout_by = Some(i),
                None => {
                    self.rollout_by_broken = true;
                    ok = false;
                }
            }
        }
        if let Some(b) = p
            .root
            .get("codegen")
            .and_then(|c| c.get("deprecate_expired"))
            .and_then(Node::as_bool)
        {
            m.deprecate_expired = b;
        }
        if let Some(table) = p.root.get("segments").and_then(Node::as_table) {
            // Names first: segments may refer to segments declared after them.
            m.segments = table
                .iter()
                .map(|(k, _)| Segment {
                    name: k.name.clone(),
                    when: Vec::new(),
                    loc: Loc {
                        file: file.into(),
                        span: k.span.clone(),
                    },
                })
                .collect();
            for (i, (_, node)) in table.iter().enumerate() {
                match self.conditions(&m, file, node) {
                    Some(c) => m.segments[i].when = c,
                    None => ok = false,
                }
            }
            ok &= self.segment_cycles(&m, file);
        }
        (m, ok)
    }

    fn attr_name(
        &mut self,
        file: &str,
        key: &Key,
        names: &mut HashMap<String, Range<usize>>,
    ) -> bool {
        if let Some(first) = names.get(&key.name) {
            let d = self
                .error(
                    Code::DuplicateName,
                    file,
                    key.span.clone(),
                    format!("attribute `{}` is declared twice", key.name),
                )
                .with_label(file, first.clone(), "first declared here")
                .with_help("static and context attributes share one namespace");
            self.diags.push(d);
            return false;
        }
        names.insert(key.name.clone(), key.span.clone());
        if key.name == "segment" {
            let d = self
                .error(Code::ReservedName, file, key.span.clone(), "`segment` is reserved and cannot name an attribute")
                .with_help("`segment = \"name\"` in a condition refers to a segment; pick another attribute name");
            self.diags.push(d);
            return false;
        }
        !self.reserved_name(file, key, "attribute")
    }

    /// A list of enum values: strings, unique, distinct as Rust names.
    /// A list of enum values: each an `item` (e.g. "variant") of `owner` (e.g. "flag `x`").
    fn enum_values(
        &mut self,
        file: &str,
        node: &Node,
        item_name: &str,
        owner: &str,
    ) -> Option<Vec<String>> {
        // Not a list, or an empty one: the schema reports it.
        let Some(items) = node.as_array().filter(|a| !a.is_empty()) else {
            return self.skip(file, node, "list");
        };
        let mut values = Vec::with_capacity(items.len());
        let mut ok = true;
        let mut idents: HashMap<String, (&str, Range<usize>)> = HashMap::new();
        for item in items {
            // Not a string, or not a valid value: the schema reports it.
            let Some(s) = item.as_str().filter(|s| is_enum_value(s)) else {
                self.skipped
                    .push((file.to_owned(), item.span.clone(), "enum value"));
                ok = false;
                continue;
            };
            let ident = type_ident(s);
            if let Some((first, first_span)) = idents.get(&ident) {
                let (message, help) = if *first == s {
                    (
                        format!("{item_name} `{s}` is listed twice in {owner}"),
                        "remove the repetition",
                    )
                } else {
                    (
                        format!("{item_name} `{s}` would be `{ident}` in Rust, as `{first}` is"),
                        "values must differ by more than case or punctuation, since each becomes a Rust enum variant",
                    )
                };
                let d = self
                    .error(Code::DuplicateName, file, item.span.clone(), message)
                    .with_label(file, first_span.clone(), "first listed here")
                    .with_help(help);
                self.diags.push(d);
                ok = false;
                continue;
            }
            idents.insert(ident, (s, item.span.clone()));
            values.push(s.to_owned());
        }
        ok.then_some(values)
    }

    fn bucketing_attr(
        &mut self,
        m: &Manifest,
        file: &str,
        name: &str,
        node: &Node,
    ) -> Option<usize> {
        let Some(i) = m.context_index(name) else {
            if m.static_index(name).is_some() {
                let d = self
                    .error(Code::RolloutBy, file, node.span.clone(), format!("cannot bucket by `{name}`, a static attribute"))
                    .with_help("static attributes are the same for every user; bucket by a context attribute such as a user id");
                self.diags.push(d);
                return None;
            }
            if self.unresolvable(name) {
                return self.skip(file, node, "bucketing attribute");
            }
            let mut d = self.error(
                Code::UnknownAttribute,
                file,
                node.span.clone(),
                format!("unknown bucketing attribute `{name}`"),
            );
            if let Some(h) = did_you_mean(name, m.context.iter().map(|a| a.name.as_str())) {
                d = d.with_help(h);
            }
            self.diags.push(d);
            return None;
        };
        let ty = &m.context[i].ty;
        if !matches!(ty, AttrType::String | AttrType::Int | AttrType::Enum(_)) {
            let d = self
                .error(Code::RolloutBy, file, node.span.clone(), format!("cannot bucket by `{name}`, {} attribute", with_article(ty.name())))
                .with_help("bucket by a `string`, `int` or enum context attribute (usually a user or account id)");
            self.diags.push(d);
            return None;
        }
        Some(i)
    }

    fn segment_cycles(&mut self, m: &Manifest, file: &str) -> bool {
        fn refs(when: &[Condition]) -> Vec<usize> {
            when.iter()
                .flat_map(|c| match c {
                    Condition::Segment { segments, .. } => segments.clone(),
                    Condition::Attr { .. } => Vec::new(),
                })
                .collect()
        }
        // 0 = unvisited, 1 = on the stack, 2 = done.
        fn visit(
            m: &Manifest,
            i: usize,
            state: &mut [u8],
            stack: &mut Vec<usize>,
            cycles: &mut Vec<Vec<usize>>,
        ) {
            state[i] = 1;
            stack.push(i);
            for j in refs(&m.segments[i].when) {
                match state[j] {
                    0 => visit(m, j, state, stack, cycles),
                    1 => {
                        let start = stack.iter().position(|&s| s == j).unwrap_or(0);
                        cycles.push(stack[start..].to_vec());
                    }
                    _ => {}
                }
            }
            stack.pop();
            state[i] = 2;
        }
        let mut state = vec![0u8; m.segments.len()];
        let mut cycles = Vec::new();
        for i in 0..m.segments.len() {
            if state[i] == 0 {
                visit(m, i, &mut state, &mut Vec::new(), &mut cycles);
            }
        }
        for cycle in &cycles {
            let names: Vec<String> = cycle
                .iter()
                .chain(cycle.first())
                .map(|&i| format!("`{}`", m.segments[i].name))
                .collect();
            let first = &m.segments[cycle[0]];
            let mut d = self.error(
                Code::SegmentCycle,
                file,
                first.loc.span.clone(),
                format!(
                    "segments refer to each other in a cycle: {}",
                    names.join(" → ")
                ),
            );
            for &i in &cycle[1..] {
                d = d.with_label(file, m.segments[i].loc.span.clone(), "part of the cycle");
            }
            self.diags
                .push(d.with_help("a segment cannot include itself, directly or through others"));
        }
        cycles.is_empty()
    }

    // ---- conditions -------------------------------------------------------------------

    /// A `when` table (or a segment's body). `None` when any condition is invalid; every
    /// problem is reported.
    fn conditions(&mut self, m: &Manifest, file: &str, node: &Node) -> Option<Vec<Condition>> {
        let Some(table) = node.as_table() else {
            return self.skip(file, node, "conditions");
        };
        let mut out = Vec::with_capacity(table.len());
        let mut ok = true;
        for (key, value) in table {
            let loc = Loc {
                file: file.into(),
                span: key.span.start..value.span.end.max(key.span.end),
            };
            if key.name == "segment" {
                match self.segment_refs(m, file, value) {
                    Some(segments) => out.push(Condition::Segment { segments, loc }),
                    None => ok = false,
                }
                continue;
            }
            let attr = if let Some(i) = m.static_index(&key.name) {
                AttrRef::Static(i)
            } else if let Some(i) = m.context_index(&key.name) {
                AttrRef::Context(i)
            } else if self.unresolvable(&key.name) {
                ok = false;
                self.skipped
                    .push((file.to_owned(), key.span.clone(), "attribute"));
                continue;
            } else {
                let all = m
                    .statics
                    .iter()
                    .map(|s| s.name.as_str())
                    .chain(m.context.iter().map(|c| c.name.as_str()));
                let mut d = self.error(
                    Code::UnknownAttribute,
                    file,
                    key.span.clone(),
                    format!("unknown attribute `{}`", key.name),
                );
                d = match did_you_mean(&key.name, all) {
                    Some(h) => d.with_help(h),
                    None => {
                        d.with_help("declare it under `[context]` (or `[static]`) in flagc.toml")
                    }
                };
                self.diags.push(d);
                ok = false;
                continue;
            };
            match self.ops(m, file, attr, value) {
                Some(ops) => out.push(Condition::Attr { attr, ops, loc }),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn segment_refs(&mut self, m: &Manifest, file: &str, node: &Node) -> Option<Vec<usize>> {
        let names: Vec<&Node> = match &node.kind {
            NodeKind::Str(_) => vec![node],
            NodeKind::Array(a) => a.iter().collect(),
            _ => return self.skip(file, node, "segment reference"),
        };
        let mut out = Vec::new();
        let mut ok = true;
        for n in names {
            let Some(name) = n.as_str() else {
                return self.skip(file, n, "segment name");
            };
            match m.segment_index(name) {
                Some(i) => out.push(i),
                None if self.opaque => {
                    self.skipped
                        .push((file.to_owned(), n.span.clone(), "segment"));
                    ok = false;
                }
                None => {
                    let mut d = self.error(
                        Code::UnknownSegment,
                        file,
                        n.span.clone(),
                        format!("unknown segment `{name}`"),
                    );
                    d = match did_you_mean(name, m.segments.iter().map(|s| s.name.as_str())) {
                        Some(h) => d.with_help(h),
                        None => d.with_help("declare it under `[segments]` in flagc.toml"),
                    };
                    self.diags.push(d);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn ops(&mut self, m: &Manifest, file: &str, attr: AttrRef, node: &Node) -> Option<Vec<Op>> {
        let statics = Arc::clone(&self.static_types);
        let ty = match attr {
            AttrRef::Static(i) => &statics[i],
            AttrRef::Context(i) => &m.context[i].ty,
        };
        let name = m.attr_name(attr);
        match &node.kind {
            NodeKind::Table(ops) => {
                let mut out = Vec::with_capacity(ops.len());
                let mut ok = true;
                for (op, v) in ops {
                    match self.op(file, name, ty, op, v) {
                        Some(o) => out.push(o),
                        None => ok = false,
                    }
                }
                if ops.is_empty() {
                    return self.skip(file, node, "empty operator table");
                }
                ok.then_some(out)
            }
            NodeKind::Array(items) => Some(vec![Op::In(self.lits(file, name, ty, items)?)]),
            _ => Some(vec![Op::In(vec![self.lit(file, name, ty, node)?])]),
        }
    }

    fn op(&mut self, file: &str, name: &str, ty: &AttrType, op: &Key, v: &Node) -> Option<Op> {
        let cmp = match op.name.as_str() {
            "in" | "not_in" => {
                let Some(items) = v.as_array() else {
                    return self.skip(file, v, "list");
                };
                let lits = self.lits(file, name, ty, items)?;
                return Some(if op.name == "in" {
                    Op::In(lits)
                } else {
                    Op::NotIn(lits)
                });
            }
            "ne" => return Some(Op::NotIn(vec![self.lit(file, name, ty, v)?])),
            "lt" => CmpOp::Lt,
            "lte" => CmpOp::Lte,
            "gt" => CmpOp::Gt,
            "gte" => CmpOp::Gte,
            "starts_with" | "ends_with" | "contains" | "matches" => {
                let sop = match op.name.as_str() {
                    "starts_with" => StrOp::StartsWith,
                    "ends_with" => StrOp::EndsWith,
                    "contains" => StrOp::Contains,
                    _ => StrOp::Matches,
                };
                return self.str_op(file, name, ty, op, sop, v);
            }
            _ => return self.skip(file, v, "operator"), // the schema reports unknown operators
        };
        if !ty.is_ordered() {
            let d = self
                .error(
                    Code::OperatorType,
                    file,
                    op.span.clone(),
                    format!(
                        "`{}` is an ordered comparison, but `{name}` is {} attribute",
                        op.name,
                        attr_type_phrase(ty)
                    ),
                )
                .with_help("ordered comparisons apply to `int`, `float`, `semver` and `datetime` attributes; use `in`, `not_in` or a string test");
            self.diags.push(d);
            return None;
        }
        Some(Op::Cmp(cmp, self.lit(file, name, ty, v)?))
    }

    fn str_op(
        &mut self,
        file: &str,
        name: &str,
        ty: &AttrType,
        op: &Key,
        sop: StrOp,
        v: &Node,
    ) -> Option<Op> {
        if !matches!(ty, AttrType::String | AttrType::StringList) {
            let d = self
                .error(
                    Code::OperatorType,
                    file,
                    op.span.clone(),
                    format!("`{}` is a string test, but `{name}` is {} attribute", op.name, attr_type_phrase(ty)),
                )
                .with_help(if matches!(ty, AttrType::Enum(_)) {
                    "string tests apply to `string` and `string[]` attributes; for an enum, list the values with `in`"
                } else {
                    "string tests apply to `string` and `string[]` attributes"
                });
            self.diags.push(d);
            return None;
        }
        let nodes: Vec<&Node> = match &v.kind {
            NodeKind::Array(a) => a.iter().collect(),
            _ => vec![v],
        };
        let mut out = Vec::with_capacity(nodes.len());
        let mut ok = true;
        for n in nodes {
            let Some(s) = n.as_str() else {
                return self.skip(file, n, "string");
            };
            if sop == StrOp::Matches
                && let Some(e) = regex_error(s)
            {
                let (detail, help) = match e {
                    RegexError::Syntax(detail) => (
                        detail,
                        "the syntax is the Rust `regex` crate's (no look-around or backreferences)",
                    ),
                    RegexError::TooBig(detail) => (
                        detail,
                        "use smaller counted repetitions (`{n,m}`), or ASCII classes such as `[0-9]` or `(?-u:\\w)` instead of Unicode ones",
                    ),
                };
                let d = self
                    .error(
                        Code::InvalidRegex,
                        file,
                        n.span.clone(),
                        format!("invalid regex {s:?}: {detail}"),
                    )
                    .with_help(help);
                self.diags.push(d);
                ok = false;
                continue;
            }
            out.push(s.to_owned());
        }
        ok.then_some(Op::Str(sop, out))
    }

    fn lits(&mut self, file: &str, name: &str, ty: &AttrType, items: &[Node]) -> Option<Vec<Lit>> {
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for n in items {
            match self.lit(file, name, ty, n) {
                Some(l) => out.push(l),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A literal compared with attribute `name` of type `ty`.
    fn lit(&mut self, file: &str, name: &str, ty: &AttrType, n: &Node) -> Option<Lit> {
        let lit = match (ty, &n.kind) {
            (AttrType::String | AttrType::StringList, NodeKind::Str(s)) => Lit::Str(s.clone()),
            (AttrType::Int, NodeKind::Int(Some(i))) => Lit::Int(*i),
            (AttrType::Float, NodeKind::Int(Some(i))) => Lit::Float(*i as f64),
            (AttrType::Float, NodeKind::Float(f, _)) if f.is_finite() => Lit::Float(*f),
            (AttrType::Bool, NodeKind::Bool(b)) => Lit::Bool(*b),
            (AttrType::Semver, NodeKind::Str(s)) => match semver::Version::parse(s) {
                Ok(v) => Lit::Semver(v),
                Err(e) => {
                    let d = self
                        .error(Code::InvalidSemver, file, n.span.clone(), format!("invalid semver {s:?}: {e}"))
                        .with_help("semantic versions have three numbers, e.g. \"3.2.0\" or \"3.2.0-rc.1\"");
                    self.diags.push(d);
                    return None;
                }
            },
            (AttrType::Datetime, NodeKind::Datetime(dt)) => match datetime(dt) {
                Some(ts) => Lit::Datetime(ts),
                None => {
                    let d = self
                        .error(
                            Code::InvalidDatetime,
                            file,
                            n.span.clone(),
                            format!("datetime `{dt}` has no offset"),
                        )
                        .with_help("instants need an offset: write e.g. `2026-06-01T00:00:00Z`");
                    self.diags.push(d);
                    return None;
                }
            },
            (AttrType::Datetime, NodeKind::Str(s)) => {
                let quoted = s
                    .parse::<toml::value::Datetime>()
                    .ok()
                    .and_then(|dt| datetime(&dt));
                let d = match quoted {
                    Some(_) => self
                        .error(
                            Code::InvalidDatetime,
                            file,
                            n.span.clone(),
                            format!("datetime written as a string: {s:?}"),
                        )
                        .with_help(format!("write it bare, without quotes: `{s}`")),
                    None => self
                        .error(
                            Code::InvalidDatetime,
                            file,
                            n.span.clone(),
                            format!("invalid datetime {s:?}"),
                        )
                        .with_help(
                            "write a bare TOML offset date-time, e.g. `2026-06-01T00:00:00Z`",
                        ),
                };
                self.diags.push(d);
                return None;
            }
            (AttrType::Enum(values), NodeKind::Str(s)) => {
                match values.iter().position(|v| v == s) {
                    Some(i) => Lit::Enum(i as u32),
                    None => {
                        let mut d = self.error(
                            Code::UnknownVariant,
                            file,
                            n.span.clone(),
                            format!("`{name}` has no value {s:?}"),
                        );
                        if let Some(h) = did_you_mean(s, values.iter().map(String::as_str)) {
                            d = d.with_help(h);
                        }
                        self.diags.push(d);
                        return None;
                    }
                }
            }
            (_, NodeKind::Int(None) | NodeKind::Float(..)) if !is_finite_number(n) => {
                self.not_a_number(file, n);
                return None;
            }
            // A list or table where a literal belongs is the schema's to report.
            (_, NodeKind::Array(_) | NodeKind::Table(_)) => return self.skip(file, n, "literal"),
            _ => {
                let expected = attr_type_phrase(ty);
                let mut d = self.error(
                    Code::TypeMismatch,
                    file,
                    n.span.clone(),
                    format!(
                        "`{name}` is {expected} attribute, but this is {}",
                        with_article(n.type_name())
                    ),
                );
                if let Some(h) = literal_help(ty, n) {
                    d = d.with_help(h);
                }
                self.diags.push(d);
                return None;
            }
        };
        Some(lit)
    }

    /// Reports an integer beyond 64 bits, NaN or an infinity where a number is expected.
    fn not_a_number(&mut self, file: &str, n: &Node) {
        let message = match &n.kind {
            NodeKind::Float(_, text) => format!("`{text}` is not a finite number"),
            _ => "integer does not fit in 64 bits".to_owned(),
        };
        let d = self.error(Code::InvalidValue, file, n.span.clone(), message);
        self.diags.push(d);
    }

    // ---- flags ------------------------------------------------------------------------

    fn flag(&mut self, m: &Manifest, file: &str, key: &Key, node: &Node) -> Option<Flag> {
        if node.as_table().is_none() {
            return self.skip(file, node, "flag");
        }
        let mut ok = true;
        let text = |k: &str| node.get(k).and_then(Node::as_str).map(str::to_owned);
        let description = text("description");
        let owner = text("owner");
        let permanent = node
            .get("permanent")
            .and_then(Node::as_bool)
            .unwrap_or(false);
        let expires = match node.get("expires") {
            None => None,
            Some(n) => match &n.kind {
                NodeKind::Datetime(dt) if dt.date.is_some() && dt.time.is_none() => {
                    dt.date.map(|d| Date {
                        year: d.year as i16,
                        month: d.month as i8,
                        day: d.day as i8,
                    })
                }
                // A string that is not a date at all fails the schema's `format: date`.
                NodeKind::Str(s) if is_date(s) => {
                    let d = self
                        .error(
                            Code::DateAsString,
                            file,
                            n.span.clone(),
                            format!("`expires` is a string, not a date: {s:?}"),
                        )
                        .with_help(format!(
                            "write the date bare, without quotes: `expires = {s}`"
                        ));
                    self.diags.push(d);
                    ok = false;
                    None
                }
                _ => {
                    ok = false; // the schema's `format: date` reports it
                    None
                }
            },
        };
        if permanent
            && expires.is_some()
            && let Some((k, _)) = node.entry("expires")
        {
            let d = Diagnostic::warning(
                Code::PermanentWithExpiry,
                file,
                k.span.clone(),
                format!("flag `{}` is permanent and also has `expires`", key.name),
            )
            .with_help(
                "a permanent flag never expires: remove `expires`, or remove `permanent = true`",
            );
            self.diags.push(d);
        }
        if let (Some(date), false) = (expires, permanent)
            && date < self.today
        {
            let span = node
                .get("expires")
                .map_or(key.span.clone(), |n| n.span.clone());
            let severity = if self.options.deny_expired {
                Severity::Error
            } else {
                Severity::Warning
            };
            let owner_note = owner
                .as_deref()
                .map(|o| format!(" (owner: {o})"))
                .unwrap_or_default();
            let d = Diagnostic::new(
                    severity,
                    Code::ExpiredFlag,
                    file,
                    span,
                    format!("flag `{}` expired on {date}{owner_note}", key.name),
                )
                .with_help("remove the flag and the code paths it guards, or move `expires` forward if it is still needed");
            self.diags.push(d);
        }

        let ty = self.flag_type(file, key, node);
        let default = match (&ty, node.get("default")) {
            (Some(ty), Some(d)) => self.flag_value(file, key, ty, d),
            _ => None,
        };
        let salt = text("salt").unwrap_or_else(|| key.name.clone());

        let mut rules = Vec::new();
        if let (Some(ty), Some(rs)) = (&ty, node.get("rules")) {
            let Some(items) = rs.as_array() else {
                return self.skip(file, rs, "rules");
            };
            let mut ids: HashMap<String, Range<usize>> = HashMap::new();
            for (index, r) in items.iter().enumerate() {
                match self.rule(m, file, key, ty, index, r, &mut ids) {
                    Some(rule) => rules.push(rule),
                    None => ok = false,
                }
            }
            self.shadowed(file, key, &rules);
        }
        let loc = Loc {
            file: file.into(),
            span: key.span.clone(),
        };
        Some(Flag {
            key: key.name.clone(),
            description: description?,
            owner: owner?,
            expires,
            permanent,
            ty: ty?,
            default: default?,
            salt,
            rules,
            loc,
        })
        .filter(|_| ok)
    }

    fn flag_type(&mut self, file: &str, key: &Key, node: &Node) -> Option<FlagType> {
        let explicit = node.entry("type");
        if let Some(vnode) = node.get("variants") {
            let variants =
                self.enum_values(file, vnode, "variant", &format!("flag `{}`", key.name));
            let mut ok = variants.is_some();
            if let Some(by) = vnode
                .as_array()
                .and_then(|a| a.iter().find(|n| n.as_str() == Some("by")))
            {
                let d = self
                    .error(Code::ReservedName, file, by.span.clone(), "`by` cannot be a variant name")
                    .with_help("`by` names the bucketing attribute inside a rollout table; rename the variant");
                self.diags.push(d);
                ok = false;
            }
            if let Some((k, _)) = explicit {
                let d = self
                    .error(
                        Code::TypeMismatch,
                        file,
                        k.span.clone(),
                        format!("flag `{}` has both `type` and `variants`", key.name),
                    )
                    .with_help("a flag with `variants` is an enum flag; remove `type`");
                self.diags.push(d);
                ok = false;
            }
            return variants.filter(|_| ok).map(FlagType::Enum);
        }
        if let Some((_, t)) = explicit {
            return match t.as_str() {
                Some("bool") => Some(FlagType::Bool),
                Some("int") => Some(FlagType::Int),
                Some("float") => Some(FlagType::Float),
                Some("string") => Some(FlagType::String),
                _ => self.skip(file, t, "type"), // the schema's enum reports it
            };
        }
        let default = node.get("default")?;
        match &default.kind {
            NodeKind::Bool(_) => Some(FlagType::Bool),
            NodeKind::Int(_) => Some(FlagType::Int),
            NodeKind::Float(..) => Some(FlagType::Float),
            NodeKind::Str(_) => Some(FlagType::String),
            // Datetimes reach the schema as strings, so they are reported here.
            NodeKind::Datetime(_) => {
                let d = self
                    .error(
                        Code::TypeMismatch,
                        file,
                        default.span.clone(),
                        format!("the default of flag `{}` is a datetime", key.name),
                    )
                    .with_help("flags are bool, int, float, string or enum (`variants`); quote it to make a string flag");
                self.diags.push(d);
                None
            }
            NodeKind::Table(_) | NodeKind::Array(_) => self.skip(file, default, "default"),
        }
    }

    fn flag_value(&mut self, file: &str, key: &Key, ty: &FlagType, n: &Node) -> Option<FlagValue> {
        let v = match (ty, &n.kind) {
            (FlagType::Bool, NodeKind::Bool(b)) => FlagValue::Bool(*b),
            (FlagType::Int, NodeKind::Int(Some(i))) => FlagValue::Int(*i),
            (FlagType::Float, NodeKind::Int(Some(i))) => FlagValue::Float(*i as f64),
            (FlagType::Float, NodeKind::Float(f, _)) if f.is_finite() => FlagValue::Float(*f),
            (FlagType::String, NodeKind::Str(s)) => FlagValue::Str(s.clone()),
            (FlagType::Enum(variants), NodeKind::Str(s)) => {
                match variants.iter().position(|v| v == s) {
                    Some(i) => FlagValue::Enum(i as u32),
                    None => {
                        let mut d = self.error(
                            Code::UnknownVariant,
                            file,
                            n.span.clone(),
                            format!("{s:?} is not a variant of flag `{}`", key.name),
                        );
                        d = match did_you_mean(s, variants.iter().map(String::as_str)) {
                            Some(h) => d.with_help(h),
                            None => d.with_help(format!(
                                "add it to `variants`, or use one of: {}",
                                variants.join(", ")
                            )),
                        };
                        self.diags.push(d);
                        return None;
                    }
                }
            }
            // Tables and arrays are the schema's to report; datetimes pass it as strings.
            (_, NodeKind::Table(_) | NodeKind::Array(_)) => {
                return self.skip(file, n, "value");
            }
            (FlagType::Int | FlagType::Float, NodeKind::Int(None) | NodeKind::Float(..))
                if !is_finite_number(n) =>
            {
                self.not_a_number(file, n);
                return None;
            }
            (ty, _) => {
                let mut d = self.error(
                    Code::TypeMismatch,
                    file,
                    n.span.clone(),
                    format!(
                        "flag `{}` is {}, but this value is {}",
                        key.name,
                        flag_type_phrase(ty),
                        with_article(n.type_name())
                    ),
                );
                if matches!((ty, &n.kind), (FlagType::Int, NodeKind::Float(..))) {
                    d = d.with_help("int flags take whole numbers; for a float knob set `type = \"float\"` and write the default accordingly");
                } else if let FlagType::Enum(v) = ty {
                    d = d.with_help(format!(
                        "write one of the variants as a string: {}",
                        v.join(", ")
                    ));
                }
                self.diags.push(d);
                return None;
            }
        };
        Some(v)
    }

    #[allow(clippy::too_many_arguments)]
    fn rule(
        &mut self,
        m: &Manifest,
        file: &str,
        key: &Key,
        ty: &FlagType,
        index: usize,
        node: &Node,
        ids: &mut HashMap<String, Range<usize>>,
    ) -> Option<Rule> {
        if node.as_table().is_none() {
            return self.skip(file, node, "rule");
        }
        let mut ok = true;
        let id = match node.entry("id") {
            Some((_, n)) => match n.as_str() {
                Some(s) => {
                    if let Some(first) = ids.get(s) {
                        let d = self
                            .error(
                                Code::DuplicateName,
                                file,
                                n.span.clone(),
                                format!("flag `{}` has two rules with id {s:?}", key.name),
                            )
                            .with_label(file, first.clone(), "first used here")
                            .with_help("rule ids are unique within a flag");
                        self.diags.push(d);
                        ok = false;
                    } else {
                        ids.insert(s.to_owned(), n.span.clone());
                    }
                    Some(s.to_owned())
                }
                None => None,
            },
            None => None,
        };
        let when = match node.get("when") {
            Some(w) => self.conditions(m, file, w),
            None => Some(Vec::new()),
        };
        let value = node.entry("value");
        let rollout = node.entry("rollout");
        let label = match &id {
            Some(id) => format!("rule `{id}` of flag `{}`", key.name),
            None => format!("rule #{} of flag `{}`", index + 1, key.name),
        };
        let outcome = match (value, rollout) {
            (Some((vk, _)), Some((rk, _))) => {
                let d = self
                    .error(
                        Code::RuleOutcome,
                        file,
                        rk.span.clone(),
                        format!("{label} has both `value` and `rollout`"),
                    )
                    .with_label(file, vk.span.clone(), "`value` here")
                    .with_help(
                        "a rule has exactly one outcome; split it into two rules if both are meant",
                    );
                self.diags.push(d);
                None
            }
            (None, None) if has_unknown_field(node, RULE_FIELDS) => {
                // Most likely a misspelled `value` or `rollout`: the schema reports the
                // unknown field, with a suggestion.
                self.skip(file, node, "rule")
            }
            (None, None) => {
                let d = self
                    .error(
                        Code::RuleOutcome,
                        file,
                        node.span.clone(),
                        format!("{label} has neither `value` nor `rollout`"),
                    )
                    .with_help("add `value = …` or `rollout = …`");
                self.diags.push(d);
                None
            }
            (Some((_, v)), None) => self.flag_value(file, key, ty, v).map(Outcome::Value),
            (None, Some((rk, r))) => self.rollout(m, file, key, ty, rk, r).map(Outcome::Rollout),
        };
        let (when, outcome) = (when?, outcome?);
        ok.then(|| Rule {
            index,
            id,
            when,
            outcome,
            loc: Loc {
                file: file.into(),
                span: node.span.clone(),
            },
        })
    }

    fn rollout(
        &mut self,
        m: &Manifest,
        file: &str,
        key: &Key,
        ty: &FlagType,
        rk: &Key,
        r: &Node,
    ) -> Option<Rollout> {
        let Some(bucket_keys) = ty.rollout_keys() else {
            let d = self
                .error(
                    Code::RolloutFlagType,
                    file,
                    rk.span.clone(),
                    format!(
                        "flag `{}` is {}; rollouts are for bool and enum flags",
                        key.name,
                        flag_type_phrase(ty)
                    ),
                )
                .with_help(
                    "use rules with `value` for knobs, or make the flag an enum with `variants`",
                );
            self.diags.push(d);
            return None;
        };
        let mut weights = vec![0u32; bucket_keys.len()];
        let mut by = None;
        // Whether the table names a `by` (valid or not), and whether the weights are valid:
        // a bad `by` does not make the sum meaningless, nor bad weights a missing `by`.
        let mut by_named = false;
        let mut by_ok = true;
        let mut ok = true;
        match &r.kind {
            NodeKind::Int(_) | NodeKind::Float(..) => {
                if !matches!(ty, FlagType::Bool) {
                    let d = self
                        .error(
                            Code::RolloutFlagType,
                            file,
                            r.span.clone(),
                            "a bare percentage is the shorthand for bool flags",
                        )
                        .with_help(format!(
                            "for an enum flag, name the variants: `rollout = {{ {} = 50, … }}`",
                            bucket_keys.first().copied().unwrap_or("variant")
                        ));
                    self.diags.push(d);
                    return None;
                }
                match self.percentage(file, r) {
                    Some(w) => weights = vec![w, WEIGHT_TOTAL.saturating_sub(w)],
                    None => ok = false,
                }
            }
            NodeKind::Table(entries) => {
                for (k, v) in entries {
                    if k.name == "by" {
                        by_named = true;
                        let Some(name) = v.as_str() else {
                            by_ok = self.skip(file, v, "`by`").unwrap_or(false);
                            continue;
                        };
                        match self.bucketing_attr(m, file, name, v) {
                            Some(i) => by = Some(i),
                            None => by_ok = false,
                        }
                        continue;
                    }
                    let Some(slot) = bucket_keys.iter().position(|b| *b == k.name) else {
                        let what = if matches!(ty, FlagType::Bool) {
                            "bool rollout keys are `true` and `false`"
                        } else {
                            "not a variant"
                        };
                        let mut d = self.error(
                            Code::UnknownVariant,
                            file,
                            k.span.clone(),
                            format!("`{}` in the rollout of flag `{}`: {what}", k.name, key.name),
                        );
                        if let Some(h) = did_you_mean(&k.name, bucket_keys.iter().copied()) {
                            d = d.with_help(h);
                        }
                        self.diags.push(d);
                        ok = false;
                        continue;
                    };
                    match self.percentage(file, v) {
                        Some(w) => weights[slot] = w,
                        None => ok = false,
                    }
                }
                let sum: u64 = weights.iter().map(|&w| u64::from(w)).sum();
                if ok && sum != u64::from(WEIGHT_TOTAL) {
                    let d = self
                        .error(
                            Code::RolloutSum,
                            file,
                            r.span.clone(),
                            format!(
                                "rollout percentages of flag `{}` sum to {}, not 100",
                                key.name,
                                format_weight(sum)
                            ),
                        )
                        .with_help(
                            "percentages must add up to exactly 100; variants left out get 0",
                        );
                    self.diags.push(d);
                    ok = false;
                }
            }
            _ => return self.skip(file, r, "rollout"),
        }
        let by = match by.or(m.rollout_by) {
            Some(b) => b,
            None if by_named => return None,
            None if self.opaque || self.rollout_by_broken => {
                return self.skip(file, r, "rollout");
            }
            None => {
                let d = self
                    .error(Code::RolloutNoBy, file, rk.span.clone(), format!("rollout of flag `{}` has no bucketing attribute", key.name))
                    .with_help("set `[rollout] by = \"user_id\"` in flagc.toml, or write `rollout = { by = \"attr\", … }`");
                self.diags.push(d);
                return None;
            }
        };
        (ok && by_ok).then_some(Rollout { by, weights })
    }

    /// A percentage literal in units of 0.001 %, converted exactly from its decimal text.
    fn percentage(&mut self, file: &str, n: &Node) -> Option<u32> {
        // Out of range (negative, over 100, NaN, infinite) is the schema's to report.
        let exact = match &n.kind {
            NodeKind::Int(Some(i @ 0..=100)) => u32::try_from(*i * 1000).ok(),
            NodeKind::Float(f, text) if (0.0..=100.0).contains(f) => decimal_thousandths(text),
            _ => return self.skip(file, n, "percentage"),
        };
        match exact {
            Some(w) if w <= WEIGHT_TOTAL => Some(w),
            Some(_) => self.skip(file, n, "percentage"),
            None => {
                let d = self
                    .error(
                        Code::RolloutPrecision,
                        file,
                        n.span.clone(),
                        "rollout percentages have at most three decimals",
                    )
                    .with_help("round to a multiple of 0.001, e.g. 33.333");
                self.diags.push(d);
                None
            }
        }
    }

    /// Warns about rules after an unconditional value rule.
    fn shadowed(&mut self, file: &str, key: &Key, rules: &[Rule]) {
        let Some(first) = rules
            .iter()
            .position(|r| r.when.is_empty() && matches!(r.outcome, Outcome::Value(_)))
        else {
            return;
        };
        for r in &rules[first + 1..] {
            let d = Diagnostic::warning(
                Code::ShadowedRule,
                file,
                r.loc.span.clone(),
                format!("{} of flag `{}` can never fire", r.label(), key.name),
            )
            .with_label(
                file,
                rules[first].loc.span.clone(),
                "this rule has no `when` and always decides",
            )
            .with_help(
                "move the unconditional rule last, give it a `when`, or remove the rules after it",
            );
            self.diags.push(d);
        }
    }
}

/// Why a `matches` pattern cannot be used.
#[derive(Debug, PartialEq)]
enum RegexError {
    /// Not valid syntax: the regex crate's own explanation.
    Syntax(String),
    /// Valid, but it compiles to more than the regex crate allows.
    TooBig(String),
}

/// Whether `pattern` is a regex the compiler can build, and if not why.
///
/// Parsing it (`regex-syntax`, the parser the `regex` crate uses, with the same defaults)
/// finds every syntax error at a fraction of the cost of compiling it. Only a pattern whose
/// compiled form could approach the size limit (see [`nfa_units`]) is also compiled, by the
/// function the compiler builds regexes with.
fn regex_error(pattern: &str) -> Option<RegexError> {
    let hir = match regex_syntax::Parser::new().parse(pattern) {
        Ok(hir) => hir,
        Err(e) => return Some(RegexError::Syntax(syntax_error_detail(&e.to_string()))),
    };
    if nfa_units(&hir) <= SMALL_NFA_UNITS {
        return None;
    }
    match crate::compile::regex(pattern).err()? {
        regex::Error::Syntax(detail) => Some(RegexError::Syntax(syntax_error_detail(&detail))),
        regex::Error::CompiledTooBig(limit) => Some(RegexError::TooBig(format!(
            "it compiles to more than the regex size limit of {limit} bytes"
        ))),
        e => Some(RegexError::Syntax(e.to_string())),
    }
}

/// The `error: …` line of a regex syntax error (the rest repeats the pattern with a caret).
fn syntax_error_detail(detail: &str) -> String {
    detail
        .lines()
        .rfind(|l| l.trim_start().starts_with("error:"))
        .unwrap_or("")
        .trim()
        .trim_start_matches("error: ")
        .to_owned()
}

/// Up to this many [`nfa_units`], a pattern is far below the `regex` crate's default size
/// limit (10 MiB per compiled NFA): a unit stands for at most one NFA state and one
/// transition, about 40 bytes, so this is about 1.3 MiB.
const SMALL_NFA_UNITS: u64 = 32 * 1024;

/// An upper bound on the size of the Thompson NFA `hir` compiles to, in states plus
/// transitions: each literal byte one, a character class one per ASCII range and 96 per
/// other range (a range of scalar values is at most 21 sequences of at most four UTF-8 byte
/// ranges), a counted repetition its sub-expression once per copy the compiler makes.
fn nfa_units(hir: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(lit) => lit.0.len() as u64 + 1,
        HirKind::Class(Class::Bytes(c)) => c.ranges().len() as u64 + 2,
        HirKind::Class(Class::Unicode(c)) => c
            .ranges()
            .iter()
            .map(|r| if r.end().is_ascii() { 1 } else { 96 })
            .sum::<u64>()
            .saturating_add(2),
        HirKind::Repetition(rep) => {
            let copies = u64::from(rep.max.unwrap_or(rep.min)).saturating_add(1);
            nfa_units(&rep.sub).saturating_add(1).saturating_mul(copies)
        }
        HirKind::Capture(cap) => nfa_units(&cap.sub).saturating_add(2),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().fold(subs.len() as u64 + 1, |n, sub| {
                n.saturating_add(nfa_units(sub))
            })
        }
    }
}

/// "an `int`", "a `string[]`", "an enum": for "`x` is … attribute".
fn attr_type_phrase(ty: &AttrType) -> String {
    match ty {
        AttrType::Enum(_) => "an enum".to_owned(),
        AttrType::Int => "an `int`".to_owned(),
        t => format!("a `{}`", t.name()),
    }
}

/// Whether a node is an `i64` or a finite float (TOML allows bigger integers, `nan`, `inf`).
fn is_finite_number(n: &Node) -> bool {
    match &n.kind {
        NodeKind::Int(i) => i.is_some(),
        NodeKind::Float(f, _) => f.is_finite(),
        _ => false,
    }
}

/// How to fix a literal of the wrong type, when the fix is clear.
fn literal_help(ty: &AttrType, n: &Node) -> Option<String> {
    match (ty, &n.kind) {
        (AttrType::Int, NodeKind::Str(s)) if s.trim().parse::<i64>().is_ok() => {
            Some(format!("remove the quotes: `{}`", s.trim()))
        }
        (AttrType::Float, NodeKind::Str(s))
            if s.trim().parse::<f64>().is_ok_and(f64::is_finite) =>
        {
            Some(format!("remove the quotes: `{}`", s.trim()))
        }
        (AttrType::Bool, NodeKind::Str(s)) if matches!(s.as_str(), "true" | "false") => {
            Some(format!("remove the quotes: `{s}`"))
        }
        (AttrType::String | AttrType::StringList | AttrType::Enum(_), NodeKind::Int(Some(i))) => {
            Some(format!("write it as a string: `\"{i}\"`"))
        }
        (AttrType::String | AttrType::StringList | AttrType::Enum(_), NodeKind::Bool(b)) => {
            Some(format!("write it as a string: `\"{b}\"`"))
        }
        (AttrType::Semver, _) => Some("write versions as strings, e.g. \"3.2.0\"".to_owned()),
        (AttrType::Datetime, _) => {
            Some("write a bare TOML offset date-time, e.g. `2026-06-01T00:00:00Z`".to_owned())
        }
        _ => None,
    }
}

/// Whether a string matches the schemas' `enumValue` pattern `^[A-Za-z0-9][A-Za-z0-9_.-]*$`.
fn is_enum_value(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Whether a string is a plain date such as `2027-03-01`.
fn is_date(s: &str) -> bool {
    s.parse::<toml::value::Datetime>()
        .is_ok_and(|dt| dt.date.is_some() && dt.time.is_none() && dt.offset.is_none())
}

/// The fields of a rule.
const RULE_FIELDS: &[&str] = &["id", "when", "value", "rollout"];

fn has_unknown_field(node: &Node, known: &[&str]) -> bool {
    node.as_table()
        .is_some_and(|t| t.iter().any(|(k, _)| !known.contains(&k.name.as_str())))
}

fn flag_type_phrase(ty: &FlagType) -> &'static str {
    match ty {
        FlagType::Bool => "a bool flag",
        FlagType::Int => "an int flag",
        FlagType::Float => "a float flag",
        FlagType::String => "a string flag",
        FlagType::Enum(_) => "an enum flag",
    }
}

/// `33.333` → `33333`; `None` when the text has more than three decimals (or is not a plain
/// non-negative decimal in range).
pub fn decimal_thousandths(text: &str) -> Option<u32> {
    let t = text.replace('_', "");
    let t = t.strip_prefix('+').unwrap_or(&t);
    let (mantissa, exp) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) || int.is_empty() {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0); // whatever the exponent: `0e999999999` must not loop
    }
    // value = digits × 10^(exp − frac.len()); we want value × 1000.
    let scale = i32::try_from(frac.len())
        .ok()
        .and_then(|len| exp.checked_sub(len)?.checked_add(3))?;
    let mut n: u128 = digits.parse().ok()?;
    if scale >= 0 {
        for _ in 0..scale {
            n = n.checked_mul(10)?;
            if n > u128::from(u32::MAX) {
                return Some(u32::MAX);
            }
        }
    } else {
        for _ in 0..(-scale) {
            if !n.is_multiple_of(10) {
                return None;
            }
            n /= 10;
        }
    }
    Some(u32::try_from(n).unwrap_or(u32::MAX))
}

fn format_weight(w: u64) -> String {
    let (int, frac) = (w / 1000, w % 1000);
    if frac == 0 {
        int.to_string()
    } else {
        format!("{int}.{frac:03}").trim_end_matches('0').to_owned()
    }
}

/// A TOML offset date-time as an instant; `None` for local dates and times.
pub fn datetime(dt: &toml::value::Datetime) -> Option<jiff::Timestamp> {
    dt.offset?;
    dt.to_string().parse().ok()
}

/// Flags by key with the file they are in (for tools that do not need the full model).
pub fn flag_files(model: &Model) -> BTreeMap<&str, &str> {
    model
        .flags
        .iter()
        .map(|f| (f.key.as_str(), f.loc.file.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_convert_exactly() {
        assert_eq!(decimal_thousandths("33.333"), Some(33_333));
        assert_eq!(decimal_thousandths("12.5"), Some(12_500));
        assert_eq!(decimal_thousandths("50.0"), Some(50_000));
        assert_eq!(decimal_thousandths("0.001"), Some(1));
        assert_eq!(decimal_thousandths("1e1"), Some(10_000));
        assert_eq!(decimal_thousandths("2.5e-1"), Some(250));
        assert_eq!(decimal_thousandths("33.3333"), None);
        assert_eq!(decimal_thousandths("33.3330"), Some(33_333));
    }

    #[test]
    fn extreme_exponents_neither_overflow_nor_loop() {
        assert_eq!(decimal_thousandths("0e2147483647"), Some(0));
        assert_eq!(decimal_thousandths("0e-2147483648"), Some(0));
        assert_eq!(decimal_thousandths("1e2147483647"), None);
        assert_eq!(decimal_thousandths("1e-2147483648"), None);
        assert_eq!(decimal_thousandths("5e99"), Some(u32::MAX));
    }

    #[test]
    fn regexes_are_validated_without_compiling_small_ones() {
        assert_eq!(regex_error(r"^[a-z0-9.]+\+1@shop\.example$"), None);
        assert_eq!(regex_error(r"\w+@(corp|contractors)\.example$"), None);
        // The same text as the regex crate's error.
        let detail = |p: &str| match regex::Regex::new(p) {
            Err(regex::Error::Syntax(d)) => syntax_error_detail(&d),
            other => panic!("{other:?}"),
        };
        for bad in [
            "^(unclosed",
            "a{2,1}",
            "(?<=x)y",
            r"\1",
            "[z-a]",
            r"\p{Nope}",
        ] {
            assert_eq!(
                regex_error(bad),
                Some(RegexError::Syntax(detail(bad))),
                "{bad}"
            );
        }
        // Valid syntax, but too big to compile: still an error, not a rule that never fires.
        for big in [
            r"\w{1000}{1000}",
            "(a{1000}){1000}",
            r"[\p{L}\p{N}]{500}{100}",
        ] {
            assert!(regex::Regex::new(big).is_err(), "{big}");
            assert!(
                matches!(regex_error(big), Some(RegexError::TooBig(_))),
                "{big}: {:?}",
                regex_error(big)
            );
        }
        // Big but within the limit: compiled to be sure, and accepted.
        assert!(
            nfa_units(&regex_syntax::parse(r"\w{100}").unwrap_or_else(|e| panic!("{e}")))
                > SMALL_NFA_UNITS
        );
        assert_eq!(regex_error(r"\w{100}"), None);
    }

    #[test]
    fn weights_format_as_percentages() {
        assert_eq!(format_weight(99_500), "99.5");
        assert_eq!(format_weight(100_000), "100");
        assert_eq!(format_weight(33_333), "33.333");
    }
}
