//! What a change to a flag directory does: flag by flag, and per combination of the static
//! attributes, in words and numbers (`flagc diff`).
//!
//! [`diff`] compares two checked [`Model`]s (usually a git revision, read with [`git`], and
//! the working tree). Flags are matched by key, then removed/added pairs are recognised as
//! renames (by `salt`, or by an identical definition). For each changed flag it reports
//! field changes, rule changes (matched by `id`, then by meaning, then by position: added,
//! removed, changed, moved), and the *effect*: both versions are compiled with
//! [`compile`](crate::compile::compile) for every combination of the static attributes the
//! flag refers to, the rules that survive are compared, and combinations with the same
//! effect are grouped ("production: 25 % → 50 % of users matching country in [US, CA]").
//! Risks are called out: removed flags and changed types break services compiled against
//! them, a changed salt or bucketing attribute reshuffles users, a lower percentage moves
//! users out.
//!
//! # JSON (`flagc diff --format json`), format 1
//!
//! [`Diff`] serialises to one object. Fields are only ever added within format 1; a field
//! that changes meaning bumps `format`. Every list is in a fixed order (flags by key).
//!
//! ```text
//! format      1
//! base        {rev, commit, has_flags} | null: the revision compared against (set by the CLI)
//! dir         the flag directory, relative to the repository root ("" for the root) | null
//! summary     {added, removed, changed, renamed, unchanged, manifest, segments,
//!              risks, breaking, differences: bool}
//! manifest[]  {kind, name|null, before|null, after|null, text, risk: Risk|null}
//!             kind: static_added | static_removed | static_values | context_added |
//!                   context_removed | context_type | rollout_by | deprecate_expired | format
//! segments[]  {name, change: added|removed|changed, before|null, after|null, flags[], text}
//!             before/after: the segment's conditions in words; flags: keys whose meaning
//!             changes through it (directly or through other segments)
//! flags[]     {key, change: added|removed|changed|renamed, renamed_from|null,
//!              buckets_preserved: bool|null (renames only), owner, description,
//!              expires: "YYYY-MM-DD"|null, type, file|null, line|null,
//!              before_file|null, before_line|null, fields[], rules[], segments[],
//!              effects[], risks[]}
//!   fields[]  {field, before, after, text}; field: description | owner | expires | permanent |
//!             type | variants | default | salt | file
//!   rules[]   {change: added|removed|changed|moved, rule, before: RuleState|null,
//!              after: RuleState|null, text}
//!             RuleState: {position (1-based), id|null, when (words, "" = always), outcome}
//!   segments  names of changed segments the flag depends on
//!   effects[] {label, statics: [{attr: value}], changes[]}: one entry per group of static
//!             combinations with the same changes; label is what people read ("production",
//!             "everywhere", "development, staging")
//!   changes[] {kind, rule|null, when|null, before: Outcome|null, after: Outcome|null,
//!              moved: [{from, to, percent}], reshuffled: bool, text}
//!             kind: constant | rule | added | removed | value | rollout | outcome |
//!                   targeting | segment | reordered | default | rebucket
//!             moved: the share of the matching users that move between values (exact when
//!             bucketing is unchanged; `reshuffled` when it is an expectation)
//!   risks[]   Risk
//! Outcome     {"value": V} | {"rollout": {bucket: percent, ...}, "by": attr}
//! Risk        {level: breaking | rebucket | warning, kind, text}
//!             kind: flag_removed | flag_renamed | type_changed | variants_changed |
//!                   salt_changed | rename_rebuckets | bucketing_changed | users_move_out |
//!                   static_added | static_removed | static_value_removed |
//!                   context_removed | context_type_changed | rollout_by_changed
//! ```

pub mod git;
pub mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::compile::{Statics, compile};
use crate::ir::{CompiledFlag, Layout, Program};
use crate::model::{
    AttrType, Condition, Flag, FlagType, FlagValue, Manifest, Model, Outcome, Rule, WEIGHT_TOTAL,
};
use crate::source::Sources;
use text::{of_users, percent, who};

/// The JSON format version written in [`Diff::format`].
pub const FORMAT: u32 = 1;

/// One side of a comparison: a checked model and the files it came from (for line numbers).
/// A side without a flag directory is an empty model with empty sources.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The checked model.
    pub model: &'a Model,
    /// The files it was checked from.
    pub sources: &'a Sources,
}

/// The whole comparison. See the [module documentation](self) for the JSON form.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// The JSON format version, [`FORMAT`].
    pub format: u32,
    /// The revision compared against, when the comparison is with git.
    pub base: Option<Base>,
    /// The flag directory relative to the repository root.
    pub dir: Option<String>,
    /// Counts.
    pub summary: Summary,
    /// Manifest changes other than segments.
    pub manifest: Vec<ManifestChange>,
    /// Segment changes.
    pub segments: Vec<SegmentChange>,
    /// Every flag that is added, removed, renamed or changed, by key.
    pub flags: Vec<FlagDiff>,
}

/// The git revision a diff compares against.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Base {
    /// As the user gave it (`main`, `origin/main`, a hash).
    pub rev: String,
    /// The full commit hash it resolved to.
    pub commit: String,
    /// Whether the revision has the flag directory at all.
    pub has_flags: bool,
}

/// How many of what.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Flags only in the new version (renames not counted).
    pub added: usize,
    /// Flags only in the old version (renames not counted).
    pub removed: usize,
    /// Flags in both whose definition or meaning changed.
    pub changed: usize,
    /// Flags recognised as renamed.
    pub renamed: usize,
    /// Flags in both with no change.
    pub unchanged: usize,
    /// Manifest changes (other than segments).
    pub manifest: usize,
    /// Segment changes.
    pub segments: usize,
    /// Risks of every level.
    pub risks: usize,
    /// Risks of level [`RiskLevel::Breaking`].
    pub breaking: usize,
    /// Whether there is any difference at all.
    pub differences: bool,
}

/// What happened to a flag or segment.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
    /// In both, different.
    Changed,
    /// A removed flag that reappears under a new key.
    Renamed,
}

impl Change {
    /// `added`, `removed`, `changed` or `renamed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
            Change::Renamed => "renamed",
        }
    }
}

/// How bad a risk is.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Users see something they did not expect (e.g. some lose a feature).
    Warning,
    /// Users are reshuffled between rollout buckets.
    Rebucket,
    /// Services compiled against the old version break (build or startup).
    Breaking,
}

impl RiskLevel {
    /// `warning`, `rebucket` or `breaking`.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Warning => "warning",
            RiskLevel::Rebucket => "rebucket",
            RiskLevel::Breaking => "breaking",
        }
    }
}

/// Something a reviewer should look at twice.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Risk {
    /// How bad.
    pub level: RiskLevel,
    /// A stable name for the kind of risk (see the module documentation).
    pub kind: &'static str,
    /// In words.
    pub text: String,
}

/// A change to the manifest other than segments.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ManifestChange {
    /// What changed (see the module documentation).
    pub kind: &'static str,
    /// The attribute concerned.
    pub name: Option<String>,
    /// Before.
    pub before: Option<serde_json::Value>,
    /// After.
    pub after: Option<serde_json::Value>,
    /// In words.
    pub text: String,
    /// What could go wrong.
    pub risk: Option<Risk>,
}

/// A segment added, removed or redefined.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SegmentChange {
    /// Its name.
    pub name: String,
    /// Added, removed or changed.
    pub change: Change,
    /// Its conditions before, in words.
    pub before: Option<String>,
    /// Its conditions after, in words.
    pub after: Option<String>,
    /// Flags whose meaning changes through it (directly or through other segments).
    pub flags: Vec<String>,
    /// In words.
    pub text: String,
}

/// One flag that differs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FlagDiff {
    /// Its key (the new key for renames).
    pub key: String,
    /// What happened to it.
    pub change: Change,
    /// The old key of a renamed flag.
    pub renamed_from: Option<String>,
    /// For renames: whether the salt keeps every user in their bucket.
    pub buckets_preserved: Option<bool>,
    /// Its owner (the new one, or the old one for removed flags).
    pub owner: String,
    /// Its description (the new one, or the old one for removed flags).
    pub description: String,
    /// Its expiry date, `YYYY-MM-DD`; `None` for permanent flags.
    pub expires: Option<String>,
    /// Its type (`bool`, `int`, `float`, `string`, `enum`).
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// Its file in the new version.
    pub file: Option<String>,
    /// The line of its key in the new version (1-based).
    pub line: Option<usize>,
    /// Its file in the old version.
    pub before_file: Option<String>,
    /// The line of its key in the old version (1-based).
    pub before_line: Option<usize>,
    /// Changed fields.
    pub fields: Vec<FieldChange>,
    /// Changed rules.
    pub rules: Vec<RuleChange>,
    /// Changed segments the flag depends on.
    pub segments: Vec<String>,
    /// What changes for users, per group of static combinations.
    pub effects: Vec<Effect>,
    /// What could go wrong.
    pub risks: Vec<Risk>,
}

/// A changed field of a flag.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldChange {
    /// The field's name in the flag file (`file` for a move between files).
    pub field: &'static str,
    /// Before.
    pub before: serde_json::Value,
    /// After.
    pub after: serde_json::Value,
    /// In words.
    pub text: String,
}

/// A rule added, removed, changed or moved.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleChange {
    /// `added`, `removed`, `changed` or `moved`.
    pub change: &'static str,
    /// How people name the rule (`rule `id`` or `rule #n`), in the new version if it has one.
    pub rule: String,
    /// The rule before.
    pub before: Option<RuleState>,
    /// The rule after.
    pub after: Option<RuleState>,
    /// In words.
    pub text: String,
}

/// A rule as written.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleState {
    /// Position in the flag's rules, 1-based.
    pub position: usize,
    /// Its `id`.
    pub id: Option<String>,
    /// Its conditions in words (empty: always).
    pub when: String,
    /// What it decides.
    pub outcome: serde_json::Value,
}

/// What changes for users in a group of static combinations.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Effect {
    /// The combinations in words: `production`, `development, staging`, `everywhere`.
    pub label: String,
    /// The combinations, each as attribute → value (only the statics the flag refers to).
    pub statics: Vec<BTreeMap<String, String>>,
    /// What changes there.
    pub changes: Vec<EffectChange>,
}

/// One change for users in one static combination.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EffectChange {
    /// What kind of change (see the module documentation).
    pub kind: &'static str,
    /// The rule concerned.
    pub rule: Option<String>,
    /// Who it concerns: the rule's conditions in words, without the static ones.
    pub when: Option<String>,
    /// The outcome before.
    pub before: Option<serde_json::Value>,
    /// The outcome after.
    pub after: Option<serde_json::Value>,
    /// Share of the matching users that move between values.
    pub moved: Vec<Move>,
    /// Whether `moved` is an expectation because bucketing changed.
    pub reshuffled: bool,
    /// In words.
    pub text: String,
    /// Some users leave a value they had through a rollout (becomes a risk).
    #[serde(skip)]
    users_move_out: bool,
}

/// Users moving from one value to another.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Move {
    /// The value they had.
    pub from: String,
    /// The value they get.
    pub to: String,
    /// Percent of the users the rule applies to.
    pub percent: f64,
    #[serde(skip)]
    weight: u32,
}

impl Diff {
    /// Whether anything differs.
    pub fn has_differences(&self) -> bool {
        self.summary.differences
    }

    /// Every risk, flag risks prefixed with the flag's key.
    pub fn risks(&self) -> impl Iterator<Item = (Option<&str>, &Risk)> {
        self.manifest
            .iter()
            .filter_map(|m| m.risk.as_ref().map(|r| (None, r)))
            .chain(
                self.flags
                    .iter()
                    .flat_map(|f| f.risks.iter().map(move |r| (Some(f.key.as_str()), r))),
            )
    }
}

/// Compares two checked flag directories.
pub fn diff(old: Side<'_>, new: Side<'_>) -> Diff {
    let (om, nm) = (&old.model.manifest, &new.model.manifest);
    let manifest = manifest_changes(om, nm);
    let seg_changes = segment_changes(om, nm);
    let seg_names: Vec<String> = seg_changes.iter().map(|s| s.name.clone()).collect();
    let changed_segments: BTreeSet<&str> = seg_names.iter().map(String::as_str).collect();
    let segment_words: BTreeMap<&str, String> = seg_changes
        .iter()
        .filter_map(|s| {
            let (b, a) = (s.before.as_ref()?, s.after.as_ref()?);
            Some((
                s.name.as_str(),
                format!("`{}` now means {a} (was: {b})", s.name),
            ))
        })
        .collect();

    // Match flags by key; then recognise renames among the removed and added.
    let mut pairs: Vec<(Option<&Flag>, Option<&Flag>)> = Vec::new();
    let mut removed: Vec<&Flag> = Vec::new();
    let mut added: Vec<&Flag> = Vec::new();
    let mut unchanged = 0usize;
    let mut segment_users: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    {
        let (mut i, mut j) = (0, 0);
        let (of, nf) = (&old.model.flags, &new.model.flags);
        while i < of.len() || j < nf.len() {
            match (of.get(i), nf.get(j)) {
                (Some(a), Some(b)) if a.key == b.key => {
                    let segs = segments_hit(nm, b, &changed_segments);
                    for s in &segs {
                        segment_users.entry(s).or_default().insert(b.key.clone());
                    }
                    if segs.is_empty() && same_flag(om, a, nm, b) && a.loc.file == b.loc.file {
                        unchanged += 1;
                    } else {
                        pairs.push((Some(a), Some(b)));
                    }
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) if a.key < b.key => {
                    removed.push(a);
                    i += 1;
                }
                (Some(a), None) => {
                    removed.push(a);
                    i += 1;
                }
                (_, Some(b)) => {
                    added.push(b);
                    j += 1;
                }
                (None, None) => break,
            }
        }
    }
    for (a, b) in renames(om, &removed, nm, &added) {
        removed.retain(|f| f.key != a.key);
        added.retain(|f| f.key != b.key);
        pairs.push((Some(a), Some(b)));
    }
    for &a in &removed {
        pairs.push((Some(a), None));
    }
    for &b in &added {
        for s in segments_hit(nm, b, &changed_segments) {
            segment_users.entry(s).or_default().insert(b.key.clone());
        }
        pairs.push((None, Some(b)));
    }
    for &a in &removed {
        for s in segments_hit(om, a, &changed_segments) {
            segment_users.entry(s).or_default().insert(a.key.clone());
        }
    }
    pairs.sort_by(|x, y| pair_key(x).cmp(pair_key(y)));

    let mut olds = Evaluator::new(old.model, pairs.iter().filter_map(|p| p.0));
    let mut news = Evaluator::new(new.model, pairs.iter().filter_map(|p| p.1));
    let mut flags = Vec::with_capacity(pairs.len());
    for (a, b) in pairs {
        let cx = FlagCx {
            old: a.map(|f| (om, f, old.sources)),
            new: b.map(|f| (nm, f, new.sources)),
            changed_segments: &changed_segments,
            segment_words: &segment_words,
        };
        flags.push(cx.diff(&mut olds, &mut news));
    }

    let mut segments = seg_changes;
    for s in &mut segments {
        s.flags = segment_users
            .remove(s.name.as_str())
            .map(|k| k.into_iter().collect())
            .unwrap_or_default();
        if !s.flags.is_empty() {
            s.text
                .push_str(&format!("; affects {}", backticked(&s.flags)));
        }
    }

    let count = |c: Change| flags.iter().filter(|f| f.change == c).count();
    let mut summary = Summary {
        added: count(Change::Added),
        removed: count(Change::Removed),
        changed: count(Change::Changed),
        renamed: count(Change::Renamed),
        unchanged,
        manifest: manifest.len(),
        segments: segments.len(),
        ..Summary::default()
    };
    let mut out = Diff {
        format: FORMAT,
        base: None,
        dir: None,
        summary: Summary::default(),
        manifest,
        segments,
        flags,
    };
    summary.risks = out.risks().count();
    summary.breaking = out
        .risks()
        .filter(|(_, r)| r.level == RiskLevel::Breaking)
        .count();
    summary.differences =
        !out.flags.is_empty() || !out.manifest.is_empty() || !out.segments.is_empty();
    out.summary = summary;
    out
}

fn pair_key<'a>(p: &(Option<&'a Flag>, Option<&'a Flag>)) -> &'a str {
    match p {
        (_, Some(b)) => &b.key,
        (Some(a), None) => &a.key,
        (None, None) => "",
    }
}

fn backticked(names: &[String]) -> String {
    let v: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    v.join(", ")
}

// ---- manifest -------------------------------------------------------------------------

fn type_json(ty: &AttrType) -> serde_json::Value {
    match ty {
        AttrType::Enum(v) => v.clone().into(),
        t => t.name().into(),
    }
}

fn type_words(ty: &AttrType) -> String {
    match ty {
        AttrType::Enum(v) => format!("[{}]", v.join(", ")),
        t => t.name().to_owned(),
    }
}

fn risk(level: RiskLevel, kind: &'static str, text: impl Into<String>) -> Risk {
    Risk {
        level,
        kind,
        text: text.into(),
    }
}

fn manifest_changes(old: &Manifest, new: &Manifest) -> Vec<ManifestChange> {
    let mut out = Vec::new();
    let change = |kind, name: Option<&str>, before, after, text: String, risk| ManifestChange {
        kind,
        name: name.map(str::to_owned),
        before,
        after,
        text,
        risk,
    };
    if old.format != new.format && !(old.statics.is_empty() && old.context.is_empty()) {
        out.push(change(
            "format",
            None,
            Some(old.format.into()),
            Some(new.format.into()),
            format!("format {} → {}", old.format, new.format),
            None,
        ));
    }
    for s in &old.statics {
        match new.statics.iter().find(|n| n.name == s.name) {
            None => out.push(change(
                "static_removed",
                Some(&s.name),
                Some(s.values.clone().into()),
                None,
                format!("static attribute `{}` removed", s.name),
                Some(risk(
                    RiskLevel::Breaking,
                    "static_removed",
                    format!(
                        "services that pass static `{}` at startup or in `flags!` fail until they stop",
                        s.name
                    ),
                )),
            )),
            Some(n) if n.values != s.values => {
                let gone: Vec<&String> = s.values.iter().filter(|v| !n.values.contains(v)).collect();
                let came: Vec<&String> = n.values.iter().filter(|v| !s.values.contains(v)).collect();
                let mut words = Vec::new();
                if !came.is_empty() {
                    words.push(format!("added {}", join(&came)));
                }
                if !gone.is_empty() {
                    words.push(format!("removed {}", join(&gone)));
                }
                if words.is_empty() {
                    words.push("values reordered".to_owned());
                }
                let r = (!gone.is_empty()).then(|| {
                    risk(
                        RiskLevel::Breaking,
                        "static_value_removed",
                        format!(
                            "services started with `{}` = {} fail to load the flags",
                            s.name,
                            join(&gone)
                        ),
                    )
                });
                out.push(change(
                    "static_values",
                    Some(&s.name),
                    Some(s.values.clone().into()),
                    Some(n.values.clone().into()),
                    format!("static `{}`: {}", s.name, words.join("; ")),
                    r,
                ));
            }
            Some(_) => {}
        }
    }
    for n in &new.statics {
        if !old.statics.iter().any(|s| s.name == n.name) {
            let r = (!old.statics.is_empty() || !old.context.is_empty()).then(|| {
                risk(
                    RiskLevel::Breaking,
                    "static_added",
                    format!(
                        "every service must now give static `{}` at startup or in `flags!`",
                        n.name
                    ),
                )
            });
            out.push(change(
                "static_added",
                Some(&n.name),
                None,
                Some(n.values.clone().into()),
                format!(
                    "static attribute `{}` added: [{}]",
                    n.name,
                    n.values.join(", ")
                ),
                r,
            ));
        }
    }
    for c in &old.context {
        match new.context.iter().find(|n| n.name == c.name) {
            None => out.push(change(
                "context_removed",
                Some(&c.name),
                Some(type_json(&c.ty)),
                None,
                format!("context attribute `{}` removed", c.name),
                Some(risk(
                    RiskLevel::Breaking,
                    "context_removed",
                    format!("code that sets context `{}` no longer compiles", c.name),
                )),
            )),
            Some(n) if n.ty != c.ty => {
                // Adding enum values breaks nothing that compiles today.
                let only_added = matches!((&c.ty, &n.ty), (AttrType::Enum(a), AttrType::Enum(b))
                    if a.iter().all(|v| b.contains(v)));
                let r = (!only_added).then(|| {
                    risk(
                        RiskLevel::Breaking,
                        "context_type_changed",
                        format!(
                            "code that sets context `{}` as {} may no longer compile",
                            c.name,
                            type_words(&c.ty)
                        ),
                    )
                });
                out.push(change(
                    "context_type",
                    Some(&c.name),
                    Some(type_json(&c.ty)),
                    Some(type_json(&n.ty)),
                    format!(
                        "context `{}`: {} → {}",
                        c.name,
                        type_words(&c.ty),
                        type_words(&n.ty)
                    ),
                    r,
                ));
            }
            Some(_) => {}
        }
    }
    for n in &new.context {
        if !old.context.iter().any(|c| c.name == n.name) {
            out.push(change(
                "context_added",
                Some(&n.name),
                None,
                Some(type_json(&n.ty)),
                format!(
                    "context attribute `{}` added: {}",
                    n.name,
                    type_words(&n.ty)
                ),
                None,
            ));
        }
    }
    let by = |m: &Manifest| {
        m.rollout_by
            .and_then(|i| m.context.get(i))
            .map(|a| a.name.clone())
    };
    let (ob, nb) = (by(old), by(new));
    if ob != nb {
        let words = |b: &Option<String>| b.clone().unwrap_or_else(|| "(none)".to_owned());
        let r = ob.is_some().then(|| {
            risk(
                RiskLevel::Rebucket,
                "rollout_by_changed",
                format!(
                    "rollouts without their own `by` now bucket by {} instead of {}: their users are reshuffled",
                    words(&nb),
                    words(&ob)
                ),
            )
        });
        out.push(change(
            "rollout_by",
            None,
            ob.clone().map(Into::into),
            nb.clone().map(Into::into),
            format!("[rollout] by: {} → {}", words(&ob), words(&nb)),
            r,
        ));
    }
    if old.deprecate_expired != new.deprecate_expired && !old.context.is_empty() {
        out.push(change(
            "deprecate_expired",
            None,
            Some(old.deprecate_expired.into()),
            Some(new.deprecate_expired.into()),
            format!(
                "[codegen] deprecate_expired: {} → {}",
                old.deprecate_expired, new.deprecate_expired
            ),
            None,
        ));
    }
    out
}

fn join<S: AsRef<str>>(items: &[S]) -> String {
    let v: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    v.join(", ")
}

// ---- segments -------------------------------------------------------------------------

fn segment_text(m: &Manifest, name: &str, canonical: bool) -> Option<String> {
    let s = m.segments.iter().find(|s| s.name == name)?;
    let t = text::when(m, &s.when, true, canonical);
    Some(if t.is_empty() { "everyone".into() } else { t })
}

/// Segments added, removed or redefined, and those whose meaning changes through another
/// (a segment referring to a changed one).
fn segment_changes(old: &Manifest, new: &Manifest) -> Vec<SegmentChange> {
    let mut names: Vec<&str> = new.segments.iter().map(|s| s.name.as_str()).collect();
    names.extend(
        old.segments
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| new.segment_index(n).is_none()),
    );
    let mut direct: Vec<SegmentChange> = Vec::new();
    for name in names {
        let (b, a) = (segment_text(old, name, true), segment_text(new, name, true));
        if a == b {
            continue;
        }
        let (before, after) = (
            segment_text(old, name, false),
            segment_text(new, name, false),
        );
        let (change, text) = match (&before, &after) {
            (None, Some(a)) => (Change::Added, format!("segment `{name}` added: {a}")),
            (Some(b), None) => (
                Change::Removed,
                format!("segment `{name}` removed (was: {b})"),
            ),
            (Some(b), Some(a)) => (Change::Changed, format!("segment `{name}`: {b} → {a}")),
            (None, None) => continue,
        };
        direct.push(SegmentChange {
            name: name.to_owned(),
            change,
            before,
            after,
            flags: Vec::new(),
            text,
        });
    }
    direct
}

/// The names of segments a flag refers to, directly or through other segments.
fn segments_used<'m>(m: &'m Manifest, flag: &Flag) -> BTreeSet<&'m str> {
    segments_reached(m, flag.rules.iter().flat_map(|r| &r.when))
}

/// The names of segments some conditions refer to, directly or through other segments.
fn segments_reached<'m, 'c>(
    m: &'m Manifest,
    conds: impl IntoIterator<Item = &'c Condition>,
) -> BTreeSet<&'m str> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<usize> = Vec::new();
    let push = |c: &Condition, stack: &mut Vec<usize>| {
        if let Condition::Segment { segments, .. } = c {
            stack.extend(segments);
        }
    };
    for c in conds {
        push(c, &mut stack);
    }
    while let Some(s) = stack.pop() {
        if let Some(seg) = m.segments.get(s)
            && out.insert(seg.name.as_str())
        {
            for c in &seg.when {
                push(c, &mut stack);
            }
        }
    }
    out
}

/// The changed segments a flag depends on.
fn segments_hit<'s>(m: &Manifest, flag: &Flag, changed: &BTreeSet<&'s str>) -> Vec<&'s str> {
    if changed.is_empty() {
        return Vec::new();
    }
    let used = segments_used(m, flag);
    changed
        .iter()
        .copied()
        .filter(|s| used.contains(s))
        .collect()
}

/// The static attributes (by name) a flag refers to, directly or through segments.
fn statics_used<'m>(m: &'m Manifest, flag: &Flag) -> BTreeSet<&'m str> {
    let mut out = BTreeSet::new();
    let mut add = |conds: &[Condition]| {
        for c in conds {
            if let Condition::Attr {
                attr: crate::model::AttrRef::Static(i),
                ..
            } = c
                && let Some(s) = m.statics.get(*i)
            {
                out.insert(s.name.as_str());
            }
        }
    };
    for r in &flag.rules {
        add(&r.when);
    }
    for name in segments_used(m, flag) {
        if let Some(s) = m.segments.iter().find(|s| s.name == name) {
            add(&s.when);
        }
    }
    out
}

// ---- flags: identity and renames ------------------------------------------------------

fn same_flag(om: &Manifest, a: &Flag, nm: &Manifest, b: &Flag) -> bool {
    a.description == b.description
        && a.owner == b.owner
        && a.expires == b.expires
        && a.permanent == b.permanent
        && a.ty == b.ty
        && a.default == b.default
        && a.salt == b.salt
        && same_rules(om, a, nm, b)
}

fn same_rules(om: &Manifest, a: &Flag, nm: &Manifest, b: &Flag) -> bool {
    a.rules.len() == b.rules.len()
        && a.rules.iter().zip(&b.rules).all(|(x, y)| {
            x.id == y.id && text::rule_meaning(om, a, x) == text::rule_meaning(nm, b, y)
        })
}

fn has_rollout(f: &Flag) -> bool {
    f.rules
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Rollout(_)))
}

/// Pairs of (removed, added) flags that are one flag under a new key: the new flag's salt
/// is the old one's (buckets preserved), or, failing that, the definition is the same.
fn renames<'a>(
    om: &Manifest,
    removed: &[&'a Flag],
    nm: &Manifest,
    added: &[&'a Flag],
) -> Vec<(&'a Flag, &'a Flag)> {
    let mut out = Vec::new();
    let mut used_old: HashSet<&str> = HashSet::new();
    let mut used_new: HashSet<&str> = HashSet::new();
    for &b in added {
        if let Some(&a) = removed
            .iter()
            .find(|a| a.salt == b.salt && !used_old.contains(a.key.as_str()))
        {
            used_old.insert(&a.key);
            used_new.insert(&b.key);
            out.push((a, b));
        }
    }
    for &b in added {
        if used_new.contains(b.key.as_str()) {
            continue;
        }
        let same = |a: &&&Flag| {
            !used_old.contains(a.key.as_str())
                && a.ty == b.ty
                && a.default == b.default
                && a.owner == b.owner
                && (!a.rules.is_empty() || a.description == b.description)
                && same_rules(om, a, nm, b)
        };
        let candidates: Vec<&&Flag> = removed.iter().filter(same).collect();
        if let [a] = candidates.as_slice() {
            used_old.insert(&a.key);
            used_new.insert(&b.key);
            out.push((a, b));
        }
    }
    out
}

// ---- flags: rules -----------------------------------------------------------------------

/// Which old rule is which new rule: by id, then by meaning, then by conditions, then (for
/// rules without ids) by position.
fn pair_rules(om: &Manifest, a: &Flag, nm: &Manifest, b: &Flag) -> Vec<(usize, usize)> {
    let (on, nn) = (a.rules.len(), b.rules.len());
    let mut old_to: Vec<Option<usize>> = vec![None; on];
    let mut new_to: Vec<Option<usize>> = vec![None; nn];
    let link = |i: usize, j: usize, o: &mut Vec<Option<usize>>, n: &mut Vec<Option<usize>>| {
        o[i] = Some(j);
        n[j] = Some(i);
    };
    for (j, r) in b.rules.iter().enumerate() {
        if let Some(id) = &r.id
            && let Some(i) = a.rules.iter().position(|x| x.id.as_ref() == Some(id))
        {
            link(i, j, &mut old_to, &mut new_to);
        }
    }
    let full = |m: &Manifest, f: &Flag, r: &Rule| text::rule_meaning(m, f, r);
    let cond = |m: &Manifest, r: &Rule| text::when(m, &r.when, true, true);
    let old_full: Vec<String> = a.rules.iter().map(|r| full(om, a, r)).collect();
    let old_cond: Vec<String> = a.rules.iter().map(|r| cond(om, r)).collect();
    for pass in 0..2 {
        for (j, r) in b.rules.iter().enumerate() {
            if new_to[j].is_some() {
                continue;
            }
            let key = if pass == 0 {
                full(nm, b, r)
            } else {
                cond(nm, r)
            };
            let keys = if pass == 0 { &old_full } else { &old_cond };
            if let Some(i) = (0..on).find(|&i| old_to[i].is_none() && keys[i] == key) {
                link(i, j, &mut old_to, &mut new_to);
            }
        }
    }
    // By position, for what is left without ids on both sides.
    let old_left: Vec<usize> = (0..on)
        .filter(|&i| old_to[i].is_none() && a.rules[i].id.is_none())
        .collect();
    let new_left: Vec<usize> = (0..nn)
        .filter(|&j| new_to[j].is_none() && b.rules[j].id.is_none())
        .collect();
    for &j in &new_left {
        if old_left.contains(&j) && old_to[j].is_none() {
            link(j, j, &mut old_to, &mut new_to);
        }
    }
    let mut pairs: Vec<(usize, usize)> = old_to
        .iter()
        .enumerate()
        .filter_map(|(i, j)| j.map(|j| (i, j)))
        .collect();
    pairs.sort_unstable();
    pairs
}

/// Indices (into `seq`) of a longest strictly increasing subsequence.
fn longest_increasing(seq: &[usize]) -> Vec<usize> {
    let n = seq.len();
    let mut len = vec![1usize; n];
    let mut prev = vec![usize::MAX; n];
    for i in 0..n {
        for k in 0..i {
            if seq[k] < seq[i] && len[k] + 1 > len[i] {
                len[i] = len[k] + 1;
                prev[i] = k;
            }
        }
    }
    let Some(mut at) = (0..n).max_by_key(|&i| (len[i], std::cmp::Reverse(i))) else {
        return Vec::new();
    };
    let mut out = vec![at];
    while prev[at] != usize::MAX {
        at = prev[at];
        out.push(at);
    }
    out.reverse();
    out
}

fn rule_state(m: &Manifest, f: &Flag, r: &Rule, position: usize) -> RuleState {
    RuleState {
        position: position + 1,
        id: r.id.clone(),
        when: text::when(m, &r.when, true, false),
        outcome: outcome_json(m, f, &r.outcome),
    }
}

fn outcome_json(m: &Manifest, f: &Flag, o: &Outcome) -> serde_json::Value {
    match o {
        Outcome::Value(v) => serde_json::json!({ "value": v.to_json(&f.ty) }),
        Outcome::Rollout(r) => {
            let keys = f.ty.rollout_keys().unwrap_or_default();
            let split: serde_json::Map<String, serde_json::Value> = keys
                .iter()
                .zip(&r.weights)
                .map(|(k, w)| ((*k).to_owned(), text::percent_number(*w).into()))
                .collect();
            serde_json::json!({ "rollout": split, "by": text::rollout_by(m, r) })
        }
    }
}

fn value_json(f: &Flag, v: &FlagValue) -> serde_json::Value {
    serde_json::json!({ "value": v.to_json(&f.ty) })
}

fn rule_words(m: &Manifest, f: &Flag, r: &Rule) -> String {
    let w = text::when(m, &r.when, true, false);
    let o = text::outcome(m, f, &r.outcome, false);
    if w.is_empty() {
        format!("always → {o}")
    } else {
        format!("when {w} → {o}")
    }
}

// ---- flags: the per-flag comparison -----------------------------------------------------

type Version<'a> = (&'a Manifest, &'a Flag, &'a Sources);

struct FlagCx<'a, 's> {
    old: Option<Version<'a>>,
    new: Option<Version<'a>>,
    changed_segments: &'s BTreeSet<&'s str>,
    /// What each redefined segment means now, in words.
    segment_words: &'s BTreeMap<&'s str, String>,
}

fn line_of(sources: &Sources, f: &Flag) -> Option<usize> {
    sources
        .get(&f.loc.file)
        .map(|s| s.line_col(f.loc.span.start).0)
}

impl FlagCx<'_, '_> {
    fn diff(&self, olds: &mut Evaluator, news: &mut Evaluator) -> FlagDiff {
        let (change, renamed_from) = match (self.old, self.new) {
            (Some((_, a, _)), Some((_, b, _))) if a.key != b.key => {
                (Change::Renamed, Some(a.key.clone()))
            }
            (Some(_), Some(_)) => (Change::Changed, None),
            (Some(_), None) => (Change::Removed, None),
            _ => (Change::Added, None),
        };
        let main = self.new.or(self.old).map(|v| v.1);
        let (key, owner, ty) = main.map_or((String::new(), String::new(), "bool"), |f| {
            (f.key.clone(), f.owner.clone(), f.ty.name())
        });
        let description = main.map(|f| f.description.clone()).unwrap_or_default();
        let expires = main.and_then(|f| f.expires).map(|d| d.to_string());
        let place = |v: Option<Version<'_>>| match v {
            Some((_, f, s)) => (Some(f.loc.file.clone()), line_of(s, f)),
            None => (None, None),
        };
        let (file, line) = place(self.new);
        let (before_file, before_line) = place(self.old);
        let mut d = FlagDiff {
            key,
            change,
            renamed_from,
            buckets_preserved: None,
            owner,
            description,
            expires,
            ty,
            file,
            line,
            before_file,
            before_line,
            fields: Vec::new(),
            rules: Vec::new(),
            segments: Vec::new(),
            effects: Vec::new(),
            risks: Vec::new(),
        };
        let mut pairs = Vec::new();
        match (self.old, self.new) {
            (Some((om, a, _)), Some((nm, b, _))) => {
                d.fields = field_changes(a, b);
                pairs = pair_rules(om, a, nm, b);
                d.rules = rule_changes(om, a, nm, b, &pairs);
                d.segments = segments_hit(nm, b, self.changed_segments)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                self.flag_risks(&mut d, a, b);
            }
            (Some((_, a, _)), None) => d.risks.push(risk(
                RiskLevel::Breaking,
                "flag_removed",
                format!(
                    "services compiled against `{}` no longer build until its accessor's uses are removed; \
                     running services keep serving its last definition until redeployed",
                    a.key
                ),
            )),
            _ => {}
        }
        d.effects = self.effects(olds, news, &pairs);
        for e in &d.effects {
            for c in &e.changes {
                if c.users_move_out {
                    let who = of_users(c.when.as_deref().unwrap_or(""));
                    let moved: Vec<String> = c
                        .moved
                        .iter()
                        .enumerate()
                        .map(|(k, m)| {
                            let p = percent(m.weight);
                            if k == 0 {
                                format!("{p} {who} move from {} to {}", m.from, m.to)
                            } else {
                                format!("{p} from {} to {}", m.from, m.to)
                            }
                        })
                        .collect();
                    let rule = c
                        .rule
                        .as_deref()
                        .map(|r| format!(", {r}"))
                        .unwrap_or_default();
                    d.risks.push(risk(
                        RiskLevel::Warning,
                        "users_move_out",
                        format!("{}{rule}: {}", e.label, moved.join(", ")),
                    ));
                }
            }
        }
        d
    }

    fn flag_risks(&self, d: &mut FlagDiff, a: &Flag, b: &Flag) {
        if a.key != b.key {
            let preserved = a.salt == b.salt;
            d.buckets_preserved = Some(preserved);
            d.risks.push(risk(
                RiskLevel::Breaking,
                "flag_renamed",
                format!(
                    "code must call `{}` instead of `{}`, which no longer exists",
                    b.key, a.key
                ),
            ));
            if !preserved && (has_rollout(a) || has_rollout(b)) {
                d.risks.push(risk(
                    RiskLevel::Rebucket,
                    "rename_rebuckets",
                    format!(
                        "the salt changed with the key ({:?} → {:?}): users in its rollouts are reshuffled; \
                         set `salt = {:?}` to keep them in their buckets",
                        a.salt, b.salt, a.salt
                    ),
                ));
            }
        } else if a.salt != b.salt && (has_rollout(a) || has_rollout(b)) {
            d.risks.push(risk(
                RiskLevel::Rebucket,
                "salt_changed",
                format!(
                    "salt {:?} → {:?}: every user in its rollouts is bucketed anew",
                    a.salt, b.salt
                ),
            ));
        }
        if a.ty.name() != b.ty.name() {
            d.risks.push(risk(
                RiskLevel::Breaking,
                "type_changed",
                format!(
                    "type {} → {}: code using `{}` no longer compiles; running services keep serving \
                     the old definition until redeployed",
                    a.ty.name(),
                    b.ty.name(),
                    b.key
                ),
            ));
        } else if let (FlagType::Enum(va), FlagType::Enum(vb)) = (&a.ty, &b.ty)
            && va != vb
        {
            let same_set = va.len() == vb.len() && va.iter().all(|v| vb.contains(v));
            if same_set {
                if has_rollout(a) || has_rollout(b) {
                    d.risks.push(risk(
                        RiskLevel::Rebucket,
                        "variants_changed",
                        "variants reordered: rollouts take buckets in `variants` order, so users move between variants",
                    ));
                }
            } else {
                d.risks.push(risk(
                    RiskLevel::Breaking,
                    "variants_changed",
                    format!(
                        "variants [{}] → [{}]: code matching on the generated enum may no longer compile; \
                         running services keep serving the old definition until redeployed",
                        va.join(", "),
                        vb.join(", ")
                    ),
                ));
            }
        }
    }

    /// The effect per group of static combinations.
    fn effects(
        &self,
        olds: &mut Evaluator,
        news: &mut Evaluator,
        pairs: &[(usize, usize)],
    ) -> Vec<Effect> {
        // The statics either version refers to, with every value either manifest lists.
        let mut attrs: Vec<(String, Vec<String>)> = Vec::new();
        let mut used: Vec<&str> = Vec::new();
        for (m, f, _) in [self.new, self.old].into_iter().flatten() {
            used.extend(statics_used(m, f));
        }
        for (m, _, _) in [self.new, self.old].into_iter().flatten() {
            for s in &m.statics {
                if !used.contains(&s.name.as_str()) {
                    continue;
                }
                match attrs.iter_mut().find(|(n, _)| *n == s.name) {
                    Some((_, values)) => {
                        for v in &s.values {
                            if !values.contains(v) {
                                values.push(v.clone());
                            }
                        }
                    }
                    None => attrs.push((s.name.clone(), s.values.clone())),
                }
            }
        }
        let salt_changed =
            matches!((self.old, self.new), (Some((_, a, _)), Some((_, b, _))) if a.salt != b.salt);
        let mut groups: Vec<(Vec<Vec<usize>>, Vec<EffectChange>)> = Vec::new();
        for combo in product(&attrs) {
            let names: Vec<(&str, &str)> = attrs
                .iter()
                .zip(&combo)
                .map(|((n, vs), &i)| (n.as_str(), vs[i].as_str()))
                .collect();
            let seen = |v: Option<Version<'_>>, ev: &mut Evaluator| -> Option<Behaviour> {
                let (_, f, _) = v?;
                ev.behaviour(&f.key, &names)
            };
            let ob = seen(self.old, olds);
            let nb = seen(self.new, news);
            let changes = self.combo_changes(ob.as_ref(), nb.as_ref(), pairs, salt_changed);
            if changes.is_empty() {
                continue;
            }
            match groups.iter_mut().find(|(_, c)| *c == changes) {
                Some((combos, _)) => combos.push(combo),
                None => groups.push((vec![combo], changes)),
            }
        }
        let total = attrs.iter().map(|(_, v)| v.len()).product::<usize>();
        groups
            .into_iter()
            .map(|(combos, changes)| Effect {
                label: combo_label(&attrs, &combos, total),
                statics: combos
                    .iter()
                    .map(|c| {
                        attrs
                            .iter()
                            .zip(c)
                            .map(|((n, vs), &i)| (n.clone(), vs[i].clone()))
                            .collect()
                    })
                    .collect(),
                changes,
            })
            .collect()
    }

    /// What changes in one static combination.
    fn combo_changes(
        &self,
        ob: Option<&Behaviour>,
        nb: Option<&Behaviour>,
        pairs: &[(usize, usize)],
        salt_changed: bool,
    ) -> Vec<EffectChange> {
        let mut out = Vec::new();
        let (old, new) = match (self.old.zip(ob), self.new.zip(nb)) {
            (None, None) => return out,
            (Some(((m, f, _), b)), None) | (None, Some(((m, f, _), b))) => {
                // A flag (or a combination) on one side only: what it does there.
                let is_new = self.new.is_some() && nb.is_some();
                return describe(m, f, b, is_new);
            }
            (Some(o), Some(n)) => (o, n),
        };
        let (((om, a, _), ob), ((nm, b, _), nb)) = (old, new);
        if let (Some(x), Some(y)) = (&ob.constant, &nb.constant) {
            let (tx, ty) = (text::value(x, &a.ty), text::value(y, &b.ty));
            if tx != ty || a.ty != b.ty {
                out.push(effect(
                    "constant",
                    None,
                    None,
                    Some(value_json(a, x)),
                    Some(value_json(b, y)),
                    format!("always {tx} → always {ty}"),
                ));
            }
            return out;
        }
        let old_of = |j: usize| pairs.iter().find(|p| p.1 == j).map(|p| p.0);
        let new_of = |i: usize| pairs.iter().find(|p| p.0 == i).map(|p| p.1);
        // Rules in both effective lists, in new order, with their old position.
        let mut both: Vec<(usize, usize)> = Vec::new();
        for &j in &nb.rules {
            let Some(nr) = b.rules.get(j) else { continue };
            let nw = text::when(nm, &nr.when, false, false);
            match old_of(j).filter(|i| ob.rules.contains(i)) {
                Some(i) => {
                    both.push((i, j));
                    let Some(or) = a.rules.get(i) else { continue };
                    out.extend(rule_change(om, a, or, nm, b, nr, self.segment_words));
                }
                None => {
                    let mut e = gets(nm, b, nr, &nw);
                    e.kind = "added";
                    e.text = format!("now: {}", e.text);
                    out.push(e);
                }
            }
        }
        for &i in &ob.rules {
            if new_of(i).is_some_and(|j| nb.rules.contains(&j)) {
                continue;
            }
            let Some(or) = a.rules.get(i) else { continue };
            let ow = text::when(om, &or.when, false, false);
            let mut e = gets(om, a, or, &ow);
            e.kind = "removed";
            e.before = e.after.take();
            e.text = format!("no longer: {}", e.text);
            out.push(e);
        }
        // Precedence: a rule that now comes before rules it used to follow. The rules that
        // keep their relative order are a longest increasing run, as in `rule_changes`.
        both.sort_unstable();
        let seq: Vec<usize> = both.iter().map(|p| p.1).collect();
        let keep: BTreeSet<usize> = longest_increasing(&seq).into_iter().collect();
        for (k, &(i, j)) in both.iter().enumerate() {
            if keep.contains(&k) {
                continue;
            }
            let (Some(or), Some(nr)) = (a.rules.get(i), b.rules.get(j)) else {
                continue;
            };
            let mo = text::outcome(nm, b, &nr.outcome, true);
            let describe_rule = |r2: &Rule| {
                format!(
                    "{} ({})",
                    who(&text::when(nm, &r2.when, false, false)),
                    text::outcome(nm, b, &r2.outcome, false)
                )
            };
            // Rules it now precedes, and rules it now follows (those with the same outcome
            // make no difference).
            let mut ahead = Vec::new();
            let mut behind = Vec::new();
            for &(i2, j2) in &both {
                let Some(r2) = b.rules.get(j2) else { continue };
                if text::outcome(nm, b, &r2.outcome, true) == mo {
                    continue;
                }
                if i2 < i && j2 > j {
                    ahead.push(describe_rule(r2));
                } else if i2 > i && j2 < j {
                    behind.push(describe_rule(r2));
                }
            }
            let mut words = Vec::new();
            if !ahead.is_empty() {
                words.push(format!("now decided before {}", ahead.join(", ")));
            }
            if !behind.is_empty() {
                words.push(format!("now decided after {}", behind.join(", ")));
            }
            if words.is_empty() {
                continue;
            }
            let nw = text::when(nm, &nr.when, false, false);
            out.push(effect(
                "reordered",
                Some(nr.label()),
                Some(nw.clone()),
                Some(outcome_json(om, a, &or.outcome)),
                Some(outcome_json(nm, b, &nr.outcome)),
                format!("{}: {}", describe_rule(nr), words.join("; ")),
            ));
        }
        // Who is left for the default.
        let dv = |f: &Flag, bh: &Behaviour| bh.default_reachable.then(|| f.default.clone());
        let (od, nd) = (dv(a, ob), dv(b, nb));
        let words = |f: &Flag, v: &Option<FlagValue>| match v {
            Some(v) => text::value(v, &f.ty),
            None => "no one (an earlier rule always decides)".to_owned(),
        };
        let (tod, tnd) = (words(a, &od), words(b, &nd));
        if tod != tnd {
            out.push(effect(
                "default",
                None,
                None,
                od.as_ref().map(|v| value_json(a, v)),
                nd.as_ref().map(|v| value_json(b, v)),
                format!("everyone else: {tod} → {tnd}"),
            ));
        }
        if salt_changed {
            let rollouts = |f: &Flag, bh: &Behaviour| {
                bh.rules.iter().any(|&r| {
                    f.rules
                        .get(r)
                        .is_some_and(|r| matches!(r.outcome, Outcome::Rollout(_)))
                })
            };
            if rollouts(a, ob) && rollouts(b, nb) {
                out.push(effect(
                    "rebucket",
                    None,
                    None,
                    None,
                    None,
                    format!(
                        "users in its rollouts are reshuffled (salt {:?} → {:?})",
                        a.salt, b.salt
                    ),
                ));
            }
        }
        out
    }
}

/// What a flag does in one combination, rule by rule, when there is nothing to compare with.
fn describe(m: &Manifest, f: &Flag, b: &Behaviour, is_new: bool) -> Vec<EffectChange> {
    let place = |mut e: EffectChange| {
        if !is_new {
            e.before = e.after.take();
            let sep = if e.kind == "constant" { " " } else { ": " };
            e.text = format!("was{sep}{}", e.text);
        }
        e
    };
    if let Some(v) = &b.constant {
        return vec![place(effect(
            "constant",
            None,
            None,
            None,
            Some(value_json(f, v)),
            format!("always {}", text::value(v, &f.ty)),
        ))];
    }
    let mut out: Vec<EffectChange> = b
        .rules
        .iter()
        .filter_map(|&i| f.rules.get(i))
        .map(|r| place(gets(m, f, r, &text::when(m, &r.when, false, false))))
        .collect();
    if b.default_reachable {
        out.push(place(effect(
            "default",
            None,
            None,
            None,
            Some(value_json(f, &f.default)),
            format!("everyone else: {}", text::value(&f.default, &f.ty)),
        )));
    }
    out
}

fn effect(
    kind: &'static str,
    rule: Option<String>,
    when: Option<String>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    text: String,
) -> EffectChange {
    EffectChange {
        kind,
        rule,
        when,
        before,
        after,
        moved: Vec::new(),
        reshuffled: false,
        text,
        users_move_out: false,
    }
}

/// `users matching C get V` (kind `rule`, outcome in `after`).
fn gets(m: &Manifest, f: &Flag, r: &Rule, when: &str) -> EffectChange {
    let text = match &r.outcome {
        Outcome::Value(v) => {
            let verb = if when.is_empty() { "gets" } else { "get" };
            format!("{} {verb} {}", who(when), text::value(v, &f.ty))
        }
        Outcome::Rollout(ro) if f.ty == FlagType::Bool => format!(
            "{} {} get true (the rest false){}",
            percent(ro.weights.first().copied().unwrap_or(0)),
            of_users(when),
            by_note(m, ro)
        ),
        Outcome::Rollout(ro) => format!(
            "{}: {}{}",
            who(when),
            text::split(&f.ty, &ro.weights),
            by_note(m, ro)
        ),
    };
    effect(
        "rule",
        Some(r.label()),
        Some(when.to_owned()),
        None,
        Some(outcome_json(m, f, &r.outcome)),
        text,
    )
}

fn by_note(m: &Manifest, r: &crate::model::Rollout) -> String {
    if m.rollout_by == Some(r.by) {
        String::new()
    } else {
        format!(", bucketed by {}", text::rollout_by(m, r))
    }
}

/// A rule's buckets as value intervals over `0..WEIGHT_TOTAL`.
fn buckets(f: &Flag, o: &Outcome) -> Vec<(String, u32, u32)> {
    let label = |v: &FlagValue| match (v, &f.ty) {
        (FlagValue::Enum(i), FlagType::Enum(vs)) => vs
            .get(*i as usize)
            .cloned()
            .unwrap_or_else(|| format!("#{i}")),
        (v, ty) => text::value(v, ty),
    };
    match o {
        Outcome::Value(v) => vec![(label(v), 0, WEIGHT_TOTAL)],
        Outcome::Rollout(r) => {
            let mut at = 0;
            let mut out = Vec::new();
            for (i, &w) in r.weights.iter().enumerate() {
                if w > 0 {
                    out.push((label(&f.ty.rollout_value(i)), at, at + w));
                }
                at += w;
            }
            out
        }
    }
}

/// Users moving between values when a rule's outcome changes. With the same bucketing the
/// intervals say exactly who moves; otherwise each user lands anywhere, independently.
fn moves(a: &Flag, ao: &Outcome, b: &Flag, bo: &Outcome, same_buckets: bool) -> Vec<Move> {
    let (x, y) = (buckets(a, ao), buckets(b, bo));
    let mut out: Vec<Move> = Vec::new();
    for (from, lo, hi) in &x {
        for (to, lo2, hi2) in &y {
            if from == to {
                continue;
            }
            let w = if same_buckets {
                hi.min(hi2).saturating_sub(*lo.max(lo2))
            } else {
                let p = u64::from(hi - lo) * u64::from(hi2 - lo2) / u64::from(WEIGHT_TOTAL);
                u32::try_from(p).unwrap_or(WEIGHT_TOTAL)
            };
            if w == 0 {
                continue;
            }
            match out.iter_mut().find(|m| m.from == *from && m.to == *to) {
                Some(m) => m.weight += w,
                None => out.push(Move {
                    from: from.clone(),
                    to: to.clone(),
                    percent: 0.0,
                    weight: w,
                }),
            }
        }
    }
    for m in &mut out {
        m.percent = text::percent_number(m.weight);
    }
    out
}

fn moves_words(moves: &[Move], reshuffled: bool) -> String {
    if moves.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = moves
        .iter()
        .enumerate()
        .map(|(k, m)| {
            if k == 0 {
                format!(
                    "{} of them move from {} to {}",
                    percent(m.weight),
                    m.from,
                    m.to
                )
            } else {
                format!("{} from {} to {}", percent(m.weight), m.from, m.to)
            }
        })
        .collect();
    let about = if reshuffled { "about " } else { "" };
    format!(" ({about}{})", parts.join(", "))
}

/// A rule in both versions and in both effective lists of one combination.
fn rule_change(
    om: &Manifest,
    a: &Flag,
    or: &Rule,
    nm: &Manifest,
    b: &Flag,
    nr: &Rule,
    segment_words: &BTreeMap<&str, String>,
) -> Option<EffectChange> {
    let (ow, nw) = (
        text::when(om, &or.when, false, false),
        text::when(nm, &nr.when, false, false),
    );
    let same_when = text::when(om, &or.when, false, true) == text::when(nm, &nr.when, false, true);
    let (oc, nc) = (
        text::outcome(om, a, &or.outcome, true),
        text::outcome(nm, b, &nr.outcome, true),
    );
    let (bj, aj) = (
        outcome_json(om, a, &or.outcome),
        outcome_json(nm, b, &nr.outcome),
    );
    let (od, nd) = (
        text::outcome(om, a, &or.outcome, false),
        text::outcome(nm, b, &nr.outcome, false),
    );
    if same_when && oc == nc {
        let segs: Vec<&str> = segments_reached(nm, &nr.when)
            .into_iter()
            .filter_map(|n| segment_words.get(n).map(String::as_str))
            .collect();
        if segs.is_empty() {
            return None;
        }
        let mut e = gets(nm, b, nr, &nw);
        e.kind = "segment";
        e.before = Some(bj);
        e.text = format!("{}; {}", e.text, segs.join("; "));
        return Some(e);
    }
    if !same_when {
        let what = if oc == nc {
            format!("{} ({nd}) → {}", who(&ow), who(&nw))
        } else {
            format!("{} ({od}) → {} ({nd})", who(&ow), who(&nw))
        };
        return Some(effect(
            "targeting",
            Some(nr.label()),
            Some(nw),
            Some(bj),
            Some(aj),
            format!("targeting of {}: {what}", nr.label()),
        ));
    }
    // Same conditions, different outcome.
    let same_buckets = a.salt == b.salt
        && match (&or.outcome, &nr.outcome) {
            (Outcome::Rollout(x), Outcome::Rollout(y)) => {
                text::rollout_by(om, x) == text::rollout_by(nm, y) && a.ty == b.ty
            }
            _ => true,
        };
    let rollout =
        matches!(or.outcome, Outcome::Rollout(_)) || matches!(nr.outcome, Outcome::Rollout(_));
    let mv = if rollout {
        moves(a, &or.outcome, b, &nr.outcome, same_buckets)
    } else {
        Vec::new()
    };
    let reshuffled = !same_buckets;
    let (kind, mut text) = match (&or.outcome, &nr.outcome) {
        (Outcome::Value(x), Outcome::Value(y)) => (
            "value",
            format!(
                "{}: {} → {}",
                who(&nw),
                text::value(x, &a.ty),
                text::value(y, &b.ty)
            ),
        ),
        (Outcome::Rollout(x), Outcome::Rollout(y)) => {
            let by_change = text::rollout_by(om, x) != text::rollout_by(nm, y);
            let mut t = if a.ty == FlagType::Bool && b.ty == FlagType::Bool {
                let (p, q) = (
                    x.weights.first().copied().unwrap_or(0),
                    y.weights.first().copied().unwrap_or(0),
                );
                if p == q {
                    format!("{} {}: true", percent(q), of_users(&nw))
                } else {
                    format!("{} → {} {}", percent(p), percent(q), of_users(&nw))
                }
            } else {
                format!(
                    "{}: {} → {}",
                    who(&nw),
                    text::split(&a.ty, &x.weights),
                    text::split(&b.ty, &y.weights)
                )
            };
            if by_change {
                t.push_str(&format!(
                    ", bucketed by {} instead of {}",
                    text::rollout_by(nm, y),
                    text::rollout_by(om, x)
                ));
            }
            ("rollout", t)
        }
        _ => ("outcome", format!("{}: {od} → {nd}", who(&nw))),
    };
    text.push_str(&moves_words(&mv, reshuffled));
    let mut e = effect(kind, Some(nr.label()), Some(nw), Some(bj), Some(aj), text);
    // A rollout sends some users away from what they had: for bool flags, away from `true`
    // (a lower percentage); for enums, any move between variants.
    e.users_move_out = rollout
        && if b.ty == FlagType::Bool {
            mv.iter().any(|m| m.from == "true")
        } else {
            !mv.is_empty()
        };
    e.moved = mv;
    e.reshuffled = reshuffled;
    Some(e)
}

fn field_changes(a: &Flag, b: &Flag) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push = |field, before: serde_json::Value, after: serde_json::Value, text| {
        out.push(FieldChange {
            field,
            before,
            after,
            text,
        })
    };
    if a.description != b.description {
        push(
            "description",
            a.description.clone().into(),
            b.description.clone().into(),
            format!("description: {:?} → {:?}", a.description, b.description),
        );
    }
    if a.owner != b.owner {
        push(
            "owner",
            a.owner.clone().into(),
            b.owner.clone().into(),
            format!("owner: {} → {}", a.owner, b.owner),
        );
    }
    let date = |d: Option<crate::model::Date>| d.map(|d| d.to_string());
    if a.expires != b.expires {
        let w = |d: Option<String>| d.unwrap_or_else(|| "never".to_owned());
        push(
            "expires",
            date(a.expires).into(),
            date(b.expires).into(),
            format!("expires: {} → {}", w(date(a.expires)), w(date(b.expires))),
        );
    }
    if a.permanent != b.permanent {
        push(
            "permanent",
            a.permanent.into(),
            b.permanent.into(),
            format!("permanent: {} → {}", a.permanent, b.permanent),
        );
    }
    let variants = |t: &FlagType| match t {
        FlagType::Enum(v) => Some(v.clone()),
        _ => None,
    };
    if a.ty.name() != b.ty.name() {
        push(
            "type",
            a.ty.name().into(),
            b.ty.name().into(),
            format!("type: {} → {}", a.ty.name(), b.ty.name()),
        );
    }
    if let (Some(x), Some(y)) = (variants(&a.ty), variants(&b.ty))
        && x != y
    {
        let t = format!("variants: [{}] → [{}]", x.join(", "), y.join(", "));
        push("variants", x.into(), y.into(), t);
    }
    let (da, db) = (
        text::value(&a.default, &a.ty),
        text::value(&b.default, &b.ty),
    );
    if da != db || a.ty.name() != b.ty.name() {
        push(
            "default",
            a.default.to_json(&a.ty),
            b.default.to_json(&b.ty),
            format!("default: {da} → {db}"),
        );
    }
    if a.salt != b.salt {
        push(
            "salt",
            a.salt.clone().into(),
            b.salt.clone().into(),
            format!("salt: {:?} → {:?}", a.salt, b.salt),
        );
    }
    if a.loc.file != b.loc.file {
        push(
            "file",
            a.loc.file.clone().into(),
            b.loc.file.clone().into(),
            format!("moved from {} to {} (no effect)", a.loc.file, b.loc.file),
        );
    }
    out
}

fn rule_changes(
    om: &Manifest,
    a: &Flag,
    nm: &Manifest,
    b: &Flag,
    pairs: &[(usize, usize)],
) -> Vec<RuleChange> {
    let mut out = Vec::new();
    let seq: Vec<usize> = pairs.iter().map(|p| p.1).collect();
    let keep: BTreeSet<usize> = longest_increasing(&seq).into_iter().collect();
    // Walk the new rules in order, with the removed ones where they were.
    for (j, nr) in b.rules.iter().enumerate() {
        let Some(k) = pairs.iter().position(|p| p.1 == j) else {
            out.push(RuleChange {
                change: "added",
                rule: nr.label(),
                before: None,
                after: Some(rule_state(nm, b, nr, j)),
                text: format!(
                    "added {} (#{}): {}",
                    nr.label(),
                    j + 1,
                    rule_words(nm, b, nr)
                ),
            });
            continue;
        };
        let i = pairs[k].0;
        let Some(or) = a.rules.get(i) else { continue };
        let mut parts = Vec::new();
        if or.id != nr.id {
            let w =
                |id: &Option<String>| id.as_ref().map_or("none".to_owned(), |i| format!("`{i}`"));
            parts.push(format!("id {} → {}", w(&or.id), w(&nr.id)));
        }
        let (ow, nw) = (
            text::when(om, &or.when, true, true),
            text::when(nm, &nr.when, true, true),
        );
        if ow != nw {
            let w = |m, r: &Rule| {
                let t = text::when(m, &r.when, true, false);
                if t.is_empty() { "always".to_owned() } else { t }
            };
            parts.push(format!("when {} → {}", w(om, or), w(nm, nr)));
        }
        let (oo, no) = (
            text::outcome(om, a, &or.outcome, true),
            text::outcome(nm, b, &nr.outcome, true),
        );
        if oo != no {
            let show = |m, f, r: &Rule| {
                let short = text::outcome(m, f, &r.outcome, false);
                // Show `by` on both sides when it is what changed.
                if text::outcome(om, a, &or.outcome, false)
                    == text::outcome(nm, b, &nr.outcome, false)
                {
                    text::outcome(m, f, &r.outcome, true)
                } else {
                    short
                }
            };
            parts.push(format!("{} → {}", show(om, a, or), show(nm, b, nr)));
        }
        let moved = !keep.contains(&k);
        if moved {
            parts.push(format!("moved #{} → #{}", i + 1, j + 1));
        }
        if parts.is_empty() {
            continue;
        }
        let only_moved = moved && parts.len() == 1;
        out.push(RuleChange {
            change: if only_moved { "moved" } else { "changed" },
            rule: nr.label(),
            before: Some(rule_state(om, a, or, i)),
            after: Some(rule_state(nm, b, nr, j)),
            text: format!("{}: {}", nr.label(), parts.join("; ")),
        });
    }
    for (i, or) in a.rules.iter().enumerate() {
        if pairs.iter().any(|p| p.0 == i) {
            continue;
        }
        out.push(RuleChange {
            change: "removed",
            rule: or.label(),
            before: Some(rule_state(om, a, or, i)),
            after: None,
            text: format!(
                "removed {} (was #{}): {}",
                or.label(),
                i + 1,
                rule_words(om, a, or)
            ),
        });
    }
    out
}

// ---- static combinations ------------------------------------------------------------

/// Every combination of value indices, lexicographically.
pub(crate) fn product(attrs: &[(String, Vec<String>)]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new()];
    for (_, values) in attrs {
        let mut next = Vec::with_capacity(out.len() * values.len());
        for prefix in &out {
            for i in 0..values.len() {
                let mut c = prefix.clone();
                c.push(i);
                next.push(c);
            }
        }
        out = next;
    }
    out
}

/// How people name a group of combinations: `everywhere`, `production`,
/// `development, staging`, `production/eu`, …
pub(crate) fn combo_label(
    attrs: &[(String, Vec<String>)],
    combos: &[Vec<usize>],
    total: usize,
) -> String {
    if combos.len() == total {
        return "everywhere".to_owned();
    }
    // A full product of one subset per attribute reads as one phrase per attribute.
    let sets: Vec<BTreeSet<usize>> = (0..attrs.len())
        .map(|k| combos.iter().map(|c| c[k]).collect())
        .collect();
    let product_size: usize = sets.iter().map(BTreeSet::len).product();
    let names = |k: usize, set: &BTreeSet<usize>| -> String {
        let v: Vec<&str> = set.iter().map(|&i| attrs[k].1[i].as_str()).collect();
        v.join(", ")
    };
    if product_size == combos.len() {
        let parts: Vec<String> = sets
            .iter()
            .enumerate()
            .filter(|(k, s)| s.len() < attrs[*k].1.len())
            .map(|(k, s)| names(k, s))
            .collect();
        if parts.len() <= 1 {
            return parts.join("");
        }
        return parts.join(" / ");
    }
    let parts: Vec<String> = combos
        .iter()
        .map(|c| {
            let v: Vec<&str> = c
                .iter()
                .enumerate()
                .map(|(k, &i)| attrs[k].1[i].as_str())
                .collect();
            v.join("/")
        })
        .collect();
    parts.join(", ")
}

/// What survives of a flag in one static combination.
#[derive(Debug, Clone, PartialEq)]
struct Behaviour {
    /// Positions (in the flag's rules) of the rules that can still fire, in order.
    rules: Vec<usize>,
    /// Whether a context can fall through to the default.
    default_reachable: bool,
    /// The one value it can take, if it is constant there.
    constant: Option<FlagValue>,
}

impl Behaviour {
    fn of(f: &CompiledFlag) -> Self {
        Behaviour {
            rules: f.rules.iter().map(|r| r.index).collect(),
            default_reachable: !f.rules.last().is_some_and(|r| r.is_unconditional()),
            constant: f.constant.as_ref().map(|v| v.to_flag_value()),
        }
    }
}

/// Compiles (lazily, once per combination of all static values) the flags of one version
/// that the diff looks at.
struct Evaluator {
    model: Model,
    layout: Layout,
    programs: HashMap<Vec<u32>, Option<Program>>,
}

impl Evaluator {
    fn new<'a>(full: &Model, flags: impl Iterator<Item = &'a Flag>) -> Self {
        let mut flags: Vec<Flag> = flags.cloned().collect();
        flags.sort_by(|a, b| a.key.cmp(&b.key));
        flags.dedup_by(|a, b| a.key == b.key);
        Evaluator {
            layout: Layout::of(&full.manifest),
            model: Model {
                manifest: full.manifest.clone(),
                flags,
            },
            programs: HashMap::new(),
        }
    }

    /// The behaviour of flag `key` where each named static has the given value (statics not
    /// named do not matter to it); `None` when a value does not exist in this version.
    fn behaviour(&mut self, key: &str, statics: &[(&str, &str)]) -> Option<Behaviour> {
        let mut values = Vec::with_capacity(self.model.manifest.statics.len());
        for s in &self.model.manifest.statics {
            match statics.iter().find(|(n, _)| *n == s.name) {
                Some((_, v)) => values.push(s.values.iter().position(|x| x == v)? as u32),
                None => values.push(0),
            }
        }
        let model = &self.model;
        let layout = &self.layout;
        let program = self
            .programs
            .entry(values.clone())
            .or_insert_with(|| {
                Statics::from_indices(&model.manifest, values).map(|s| compile(model, &s, layout))
            })
            .as_ref()?;
        let i = program.flag_index(key)?;
        program.flags.get(i).map(Behaviour::of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> Vec<(String, Vec<String>)> {
        vec![
            (
                "env".into(),
                vec!["development".into(), "staging".into(), "production".into()],
            ),
            ("region".into(), vec!["eu".into(), "us".into()]),
        ]
    }

    #[test]
    fn combinations_are_named_as_people_would() {
        let a = attrs();
        let all = product(&a);
        assert_eq!(all.len(), 6);
        assert_eq!(combo_label(&a, &all, 6), "everywhere");
        assert_eq!(
            combo_label(&a, &[vec![2, 0], vec![2, 1]], 6),
            "production",
            "a region that does not matter is left out"
        );
        assert_eq!(
            combo_label(&a, &[vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]], 6),
            "development, staging"
        );
        assert_eq!(combo_label(&a, &[vec![2, 0]], 6), "production / eu");
        assert_eq!(
            combo_label(&a, &[vec![0, 0], vec![2, 1]], 6),
            "development/eu, production/us"
        );
    }

    #[test]
    fn longest_increasing_keeps_the_most_rules_in_place() {
        assert_eq!(longest_increasing(&[0, 1, 2]), [0, 1, 2]);
        assert_eq!(longest_increasing(&[1, 0]), [0]);
        assert_eq!(longest_increasing(&[2, 0, 1]), [1, 2]);
        assert!(longest_increasing(&[]).is_empty());
    }

    fn bool_flag() -> Flag {
        Flag {
            key: "f".into(),
            description: String::new(),
            owner: String::new(),
            expires: None,
            permanent: true,
            ty: FlagType::Bool,
            default: FlagValue::Bool(false),
            salt: "f".into(),
            rules: Vec::new(),
            loc: Default::default(),
        }
    }

    fn rollout(weights: &[u32]) -> Outcome {
        Outcome::Rollout(crate::model::Rollout {
            by: 0,
            weights: weights.to_vec(),
        })
    }

    #[test]
    fn moves_are_exact_with_the_same_buckets_and_expected_otherwise() {
        let f = bool_flag();
        let m = moves(
            &f,
            &rollout(&[25_000, 75_000]),
            &f,
            &rollout(&[50_000, 50_000]),
            true,
        );
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].from.as_str(), m[0].to.as_str(), m[0].weight),
            ("false", "true", 25_000)
        );
        let m = moves(
            &f,
            &Outcome::Value(FlagValue::Bool(true)),
            &f,
            &rollout(&[10_000, 90_000]),
            true,
        );
        assert_eq!((m[0].from.as_str(), m[0].weight), ("true", 90_000));
        // A new salt: each user lands anywhere; 50 % → 50 % moves half of them, on average.
        let m = moves(
            &f,
            &rollout(&[50_000, 50_000]),
            &f,
            &rollout(&[50_000, 50_000]),
            false,
        );
        let total: u32 = m.iter().map(|m| m.weight).sum();
        assert_eq!(total, 50_000);
    }
}
