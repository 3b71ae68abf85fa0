//! Flag debt (`flagc stale`): flags past their `expires`, flags whose expiry is near, and
//! flags that no longer decide anything, each with its owner and place; optionally with when
//! it was added and last changed, from git history.
//!
//! A flag is *constant* when, in every combination of the static attributes, no context can
//! change its value (the compiler's [`CompiledFlag::constant`](crate::ir::CompiledFlag)):
//! the same value everywhere (`constant`: fully rolled out or dead, remove it) or a value
//! that only the static attributes decide (`constant_per_combination`: no targeting left,
//! usually a finished rollout that became configuration). Permanent flags are operational
//! knobs: constant by design, so they are only reported when they have rules that change
//! nothing.
//!
//! # JSON (`flagc stale --format json`), format 1
//!
//! ```text
//! {format: 1, today: "YYYY-MM-DD", within_days,
//!  summary: {flags, stale, expired, expiring, constant},
//!  flags: [{key, owner, file, line, expires|null, permanent,
//!           reasons: [{kind: "expired", expires, days_ago}
//!                   | {kind: "expiring", expires, days_left}
//!                   | {kind: "constant", value}
//!                   | {kind: "constant_per_combination", values: [{where, statics, value}]}],
//!           history: {added: {commit, date}|null, changed: {commit, date}|null,
//!                     uncommitted: bool} | null}]}
//! ```
//! Flags are ordered: expired (longest overdue first), expiring (soonest first), constant,
//! then constant per combination; by key within each.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::Serialize;

use crate::compile::{Statics, compile};
use crate::diff::git::{GitError, Repo};
use crate::diff::{combo_label, product};
use crate::ir::Layout;
use crate::model::{AttrRef, Condition, Date, Flag, FlagValue, Manifest, Model};
use crate::source::{MANIFEST, Sources};

/// The JSON format version written in [`Report::format`].
pub const FORMAT: u32 = 1;

/// What to look for.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Today's date (UTC).
    pub today: Date,
    /// Report flags expiring within this many days of today (inclusive).
    pub within_days: u32,
}

/// Every stale flag of a directory.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// [`FORMAT`].
    pub format: u32,
    /// The date the report is for, `YYYY-MM-DD`.
    pub today: String,
    /// The horizon for `expiring`.
    pub within_days: u32,
    /// Counts.
    pub summary: Summary,
    /// The stale flags, most urgent first.
    pub flags: Vec<StaleFlag>,
}

/// How many of what.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Flags in the directory.
    pub flags: usize,
    /// Flags listed (each once, whatever its reasons).
    pub stale: usize,
    /// Flags past their expiry.
    pub expired: usize,
    /// Flags expiring within the horizon.
    pub expiring: usize,
    /// Flags constant in every static combination (either kind).
    pub constant: usize,
}

/// One flag that needs attention.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StaleFlag {
    /// Its key.
    pub key: String,
    /// Its owner.
    pub owner: String,
    /// Its file, relative to the flag directory.
    pub file: String,
    /// The line of its key (1-based).
    pub line: usize,
    /// `expires`, `YYYY-MM-DD`.
    pub expires: Option<String>,
    /// `permanent`.
    pub permanent: bool,
    /// Why it is listed.
    pub reasons: Vec<Reason>,
    /// When it was added and last changed (with `--git`).
    pub history: Option<History>,
}

/// Why a flag is stale.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// Past `expires`.
    Expired {
        /// The date.
        expires: String,
        /// Days since.
        days_ago: i32,
    },
    /// `expires` is within the horizon.
    Expiring {
        /// The date.
        expires: String,
        /// Days until (0: today is the last day).
        days_left: i32,
    },
    /// The same value whatever the context, in every static combination.
    Constant {
        /// The value.
        value: serde_json::Value,
    },
    /// A value the static attributes alone decide.
    ConstantPerCombination {
        /// The value in each group of combinations.
        values: Vec<ComboValue>,
    },
}

impl Reason {
    /// The reason in words.
    pub fn text(&self) -> String {
        match self {
            Reason::Expired { expires, days_ago } => {
                format!("expired {expires} ({})", days(*days_ago, "ago"))
            }
            Reason::Expiring {
                expires,
                days_left: 0,
            } => format!("expires {expires} (today is its last day)"),
            Reason::Expiring { expires, days_left } => {
                format!("expires {expires} (in {})", days(*days_left, ""))
            }
            Reason::Constant { value } => format!("always {value} (no rule changes its value)"),
            Reason::ConstantPerCombination { values } => {
                let parts: Vec<String> = values
                    .iter()
                    .map(|v| format!("{}: {}", v.label, v.value))
                    .collect();
                format!("no targeting left ({})", parts.join("; "))
            }
        }
    }
}

fn days(n: i32, suffix: &str) -> String {
    let unit = if n == 1 { "day" } else { "days" };
    if suffix.is_empty() {
        format!("{n} {unit}")
    } else {
        format!("{n} {unit} {suffix}")
    }
}

/// A constant value in some static combinations.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ComboValue {
    /// The combinations in words (`production`, `development, staging`).
    #[serde(rename = "where")]
    pub label: String,
    /// The combinations, attribute → value.
    pub statics: Vec<BTreeMap<String, String>>,
    /// The value there.
    pub value: serde_json::Value,
}

/// When a flag was added and last changed, on the first-parent history of `HEAD`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct History {
    /// The commit that added it (most recently, if it was removed and re-added).
    pub added: Option<Event>,
    /// The last commit that changed its definition (formatting and comments aside).
    pub changed: Option<Event>,
    /// The working tree's definition differs from `HEAD`'s (or it is not committed).
    pub uncommitted: bool,
}

/// A commit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Event {
    /// Full hash.
    pub commit: String,
    /// Committer date, `YYYY-MM-DD`.
    pub date: String,
}

fn civil(d: Date) -> Option<jiff::civil::Date> {
    jiff::civil::Date::new(d.year, d.month, d.day).ok()
}

/// Days from `a` to `b` (negative when `b` is earlier).
fn days_between(a: Date, b: Date) -> Option<i32> {
    let span = civil(a)?.until(civil(b)?).ok()?;
    Some(span.get_days())
}

/// Finds the stale flags of a checked directory.
pub fn stale(model: &Model, sources: &Sources, options: &Options) -> Report {
    let constants = constant_flags(model);
    let mut flags = Vec::new();
    let mut summary = Summary {
        flags: model.flags.len(),
        ..Summary::default()
    };
    for (i, f) in model.flags.iter().enumerate() {
        let mut reasons = Vec::new();
        if let (Some(exp), false) = (f.expires, f.permanent)
            && let Some(left) = days_between(options.today, exp)
        {
            if left < 0 {
                summary.expired += 1;
                reasons.push(Reason::Expired {
                    expires: exp.to_string(),
                    days_ago: -left,
                });
            } else if left <= i32::try_from(options.within_days).unwrap_or(i32::MAX) {
                summary.expiring += 1;
                reasons.push(Reason::Expiring {
                    expires: exp.to_string(),
                    days_left: left,
                });
            }
        }
        if let Some(r) = constants.get(&i) {
            summary.constant += 1;
            reasons.push(r.clone());
        }
        if reasons.is_empty() {
            continue;
        }
        let line = sources
            .get(&f.loc.file)
            .map_or(1, |s| s.line_col(f.loc.span.start).0);
        flags.push(StaleFlag {
            key: f.key.clone(),
            owner: f.owner.clone(),
            file: f.loc.file.clone(),
            line,
            expires: f.expires.map(|d| d.to_string()),
            permanent: f.permanent,
            reasons,
            history: None,
        });
    }
    flags.sort_by_key(urgency);
    summary.stale = flags.len();
    Report {
        format: FORMAT,
        today: options.today.to_string(),
        within_days: options.within_days,
        summary,
        flags,
    }
}

/// Sort key: expired (most overdue first), expiring (soonest first), constant, constant per
/// combination; then key.
fn urgency(f: &StaleFlag) -> (u8, i32, String) {
    let (rank, days) = f
        .reasons
        .iter()
        .map(|r| match r {
            Reason::Expired { days_ago, .. } => (0, -days_ago),
            Reason::Expiring { days_left, .. } => (1, *days_left),
            Reason::Constant { .. } => (2, 0),
            Reason::ConstantPerCombination { .. } => (3, 0),
        })
        .min()
        .unwrap_or((3, 0));
    (rank, days, f.key.clone())
}

/// The static attributes a flag's rules refer to, directly or through segments (indices).
fn statics_used(m: &Manifest, flag: &Flag) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let mut seen = vec![false; m.segments.len()];
    let mut stack: Vec<&[Condition]> = flag.rules.iter().map(|r| r.when.as_slice()).collect();
    while let Some(conds) = stack.pop() {
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
                        if let (Some(false), Some(seg)) = (seen.get(s).copied(), m.segments.get(s))
                        {
                            seen[s] = true;
                            stack.push(&seg.when);
                        }
                    }
                }
            }
        }
    }
    out
}

/// The constant flags (by index), compiled group by group: flags that refer to the same
/// static attributes are compiled together, once per combination of just those.
fn constant_flags(model: &Model) -> HashMap<usize, Reason> {
    let m = &model.manifest;
    let layout = Layout::of(m);
    let mut groups: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
    for (i, f) in model.flags.iter().enumerate() {
        // Permanent knobs without rules are constant by design.
        if f.permanent && f.rules.is_empty() {
            continue;
        }
        groups
            .entry(statics_used(m, f).into_iter().collect())
            .or_default()
            .push(i);
    }
    let mut out = HashMap::new();
    for (used, members) in groups {
        let sub = Model {
            manifest: m.clone(),
            flags: members.iter().map(|&i| model.flags[i].clone()).collect(),
        };
        let attrs: Vec<(String, Vec<String>)> = used
            .iter()
            .filter_map(|&s| m.statics.get(s))
            .map(|s| (s.name.clone(), s.values.clone()))
            .collect();
        let combos = product(&attrs);
        // Per member: the constant value in each combination (None: not constant there).
        let mut values: Vec<Vec<Option<FlagValue>>> = vec![Vec::new(); members.len()];
        for combo in &combos {
            let mut indices = vec![0u32; m.statics.len()];
            for (&s, &v) in used.iter().zip(combo) {
                indices[s] = v as u32;
            }
            let Some(statics) = Statics::from_indices(m, indices) else {
                continue;
            };
            let program = compile(&sub, &statics, &layout);
            for (k, cf) in program.flags.iter().enumerate() {
                if let Some(v) = values.get_mut(k) {
                    v.push(cf.constant.as_ref().map(|c| c.to_flag_value()));
                }
            }
        }
        for (k, &i) in members.iter().enumerate() {
            let f = &model.flags[i];
            let Some(vals) = values[k]
                .iter()
                .cloned()
                .collect::<Option<Vec<FlagValue>>>()
            else {
                continue;
            };
            let Some(first) = vals.first() else { continue };
            if vals.iter().all(|v| v == first) {
                out.insert(
                    i,
                    Reason::Constant {
                        value: first.to_json(&f.ty),
                    },
                );
            } else if !f.permanent {
                let mut by_value: Vec<(FlagValue, Vec<Vec<usize>>)> = Vec::new();
                for (v, combo) in vals.iter().zip(&combos) {
                    match by_value.iter_mut().find(|(x, _)| x == v) {
                        Some((_, c)) => c.push(combo.clone()),
                        None => by_value.push((v.clone(), vec![combo.clone()])),
                    }
                }
                let values = by_value
                    .into_iter()
                    .map(|(v, cs)| ComboValue {
                        label: combo_label(&attrs, &cs, combos.len()),
                        statics: cs
                            .iter()
                            .map(|c| {
                                attrs
                                    .iter()
                                    .zip(c)
                                    .map(|((n, vs), &x)| (n.clone(), vs[x].clone()))
                                    .collect()
                            })
                            .collect(),
                        value: v.to_json(&f.ty),
                    })
                    .collect();
                out.insert(i, Reason::ConstantPerCombination { values });
            }
        }
    }
    out
}

// ---- history --------------------------------------------------------------------------

/// A fingerprint of each flag's definition in a flag file (comments, formatting and key
/// order do not count); `None` for a file that does not parse.
fn fingerprints(text: &str) -> Option<HashMap<String, u64>> {
    let table: toml::Table = toml::from_str(text).ok()?;
    Some(
        table
            .into_iter()
            .filter(|(_, v)| v.is_table())
            .map(|(k, v)| {
                let mut h = DefaultHasher::new();
                canonical(&v).hash(&mut h);
                (k, h.finish())
            })
            .collect(),
    )
}

fn canonical(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let sorted: BTreeMap<&String, String> =
                t.iter().map(|(k, v)| (k, canonical(v))).collect();
            let parts: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{k:?}={v}"))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        toml::Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        toml::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn is_flag_file(path: &str) -> bool {
    path.ends_with(".toml")
        && path != MANIFEST
        && !path.ends_with(&format!("/{MANIFEST}"))
        && !path.split('/').any(|c| c.starts_with('.') || c.is_empty())
}

/// When each flag was added and last changed, from the first-parent history of `HEAD` of the
/// directory at `prefix`; `uncommitted` compares with the working tree's `sources`.
pub fn history(
    repo: &Repo,
    prefix: &str,
    sources: &Sources,
) -> Result<HashMap<String, History>, GitError> {
    let commits = repo.history(prefix)?;
    // Read every version of every flag file once.
    let mut oids: Vec<&str> = commits
        .iter()
        .flat_map(|c| c.changes.iter())
        .filter(|(path, _)| is_flag_file(path))
        .filter_map(|(_, oid)| oid.as_deref())
        .collect();
    oids.sort_unstable();
    oids.dedup();
    let blobs = repo.read_blobs(&oids)?;
    let parsed: HashMap<&str, Option<HashMap<String, u64>>> = oids
        .iter()
        .zip(&blobs)
        .map(|(oid, b)| (*oid, fingerprints(&String::from_utf8_lossy(b))))
        .collect();

    let mut files: HashMap<&str, HashMap<String, u64>> = HashMap::new();
    let mut out: HashMap<String, History> = HashMap::new();
    let state = |files: &HashMap<&str, HashMap<String, u64>>, key: &str| -> Option<u64> {
        // A key in several files is a duplicate (an invalid commit): any of them will do.
        files.values().find_map(|f| f.get(key).copied())
    };
    for c in &commits {
        let mut updates: Vec<(&str, Option<HashMap<String, u64>>)> = Vec::new();
        let mut affected: HashSet<String> = HashSet::new();
        for (path, oid) in &c.changes {
            if !is_flag_file(path) {
                continue;
            }
            if let Some(old) = files.get(path.as_str()) {
                affected.extend(old.keys().cloned());
            }
            let new = match oid {
                // A version that does not parse keeps the previous state of the file.
                Some(oid) => match parsed.get(oid.as_str()) {
                    Some(Some(fp)) => Some(fp.clone()),
                    _ => continue,
                },
                None => None,
            };
            if let Some(new) = &new {
                affected.extend(new.keys().cloned());
            }
            updates.push((path.as_str(), new));
        }
        let before: HashMap<&String, Option<u64>> =
            affected.iter().map(|k| (k, state(&files, k))).collect();
        for (path, new) in updates {
            match new {
                Some(fp) => {
                    files.insert(path, fp);
                }
                None => {
                    files.remove(path);
                }
            }
        }
        let event = || Event {
            commit: c.hash.clone(),
            date: c.date.clone(),
        };
        for key in &affected {
            let (was, is) = (before.get(key).copied().flatten(), state(&files, key));
            match (was, is) {
                (None, Some(_)) => {
                    out.insert(
                        key.clone(),
                        History {
                            added: Some(event()),
                            changed: Some(event()),
                            uncommitted: false,
                        },
                    );
                }
                (Some(a), Some(b)) if a != b => {
                    out.entry(key.clone()).or_default().changed = Some(event());
                }
                (Some(_), None) => {
                    out.remove(key);
                }
                _ => {}
            }
        }
    }
    // The working tree against HEAD.
    let mut now: HashMap<String, u64> = HashMap::new();
    for f in &sources.files {
        if is_flag_file(&f.path)
            && let Some(fp) = fingerprints(&f.text)
        {
            now.extend(fp);
        }
    }
    for (key, fp) in now {
        let committed = state(&files, &key);
        let h = out.entry(key).or_default();
        h.uncommitted = committed != Some(fp);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Date {
        let d: jiff::civil::Date = s.parse().expect("a date");
        Date {
            year: d.year(),
            month: d.month(),
            day: d.day(),
        }
    }

    #[test]
    fn days_between_dates() {
        assert_eq!(
            days_between(date("2027-03-01"), date("2027-03-31")),
            Some(30)
        );
        assert_eq!(
            days_between(date("2027-03-01"), date("2027-02-27")),
            Some(-2)
        );
        assert_eq!(
            days_between(date("2028-02-28"), date("2028-03-01")),
            Some(2)
        );
    }

    #[test]
    fn fingerprints_ignore_formatting_and_order() {
        let a = fingerprints("[f]\nowner = \"a\"\ndefault = true # on\n").expect("parses");
        let b = fingerprints("[f]\ndefault   = true\nowner = \"a\"\n").expect("parses");
        let c = fingerprints("[f]\ndefault = false\nowner = \"a\"\n").expect("parses");
        assert_eq!(a["f"], b["f"]);
        assert_ne!(a["f"], c["f"]);
        assert!(fingerprints("[f\n").is_none());
    }

    #[test]
    fn only_flag_files_count() {
        assert!(is_flag_file("a.toml"));
        assert!(is_flag_file("sub/a.toml"));
        assert!(!is_flag_file("flagc.toml"));
        assert!(!is_flag_file("sub/flagc.toml"));
        assert!(!is_flag_file(".flagc/a.toml"));
        assert!(!is_flag_file("a.md"));
    }
}
