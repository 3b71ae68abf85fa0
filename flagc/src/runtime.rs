//! The runtime behind generated dynamic-mode `Flags` handles: a compiled snapshot read with
//! one atomic load, rebuilt from the flag directory and swapped whole.
//!
//! A binary is built against a [`Spec`]: the flags it has accessors for (key and type, in the
//! model's sorted order, so a flag's position is its *ordinal*) and the context [`Layout`] of
//! its generated `Context`. Every snapshot is compiled for that spec:
//!
//! * a flag present in the files with the same type and variants takes its new definition;
//! * a flag removed from the files, or whose type or variants changed, keeps serving its
//!   previous definition in this binary (the build-time one at startup), with a warning in the
//!   [`Status`]: someone else's cleanup never blocks a kill switch;
//! * conditions on attributes the binary does not know never match (the compiler's layout
//!   mapping).
//!
//! **Invariant:** readers never block and always see one whole snapshot; an invalid directory
//! never replaces a good snapshot.
//!
//! **Invariant:** in the typed program of a snapshot, flag `i` is the spec's flag `i` and
//! has the spec's type, so generated accessors can match on the value without failing.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::compile::{Statics, compile};
use crate::diag::{Diagnostic, Diagnostics};
use crate::eval::{ContextView, Evaluation};
use crate::ir::{CompiledFlag, Layout, Program, Value};
use crate::model::{FlagType, Model};
use crate::source::Sources;
use crate::{CheckOptions, check_sources};

/// What a binary was built against.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The flags it has accessors for: key and type, sorted by key.
    pub flags: Vec<(String, FlagType)>,
    /// Its generated `Context`'s attributes, in field order.
    pub layout: Layout,
    /// The flag files embedded at build time: relative path and text.
    pub embedded: &'static [(&'static str, &'static str)],
}

impl Spec {
    /// The spec of a model (what a build from it would have).
    pub fn of(model: &Model, embedded: &'static [(&'static str, &'static str)]) -> Spec {
        Spec {
            flags: model
                .flags
                .iter()
                .map(|f| (f.key.clone(), f.ty.clone()))
                .collect(),
            layout: Layout::of(&model.manifest),
            embedded,
        }
    }
}

/// Where a snapshot's content came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The flag directory at this path.
    Directory(PathBuf),
    /// The copy embedded at build time (the service chose to fall back to it).
    Embedded,
}

/// A compiled, immutable set of flags, as served between two reloads.
#[derive(Debug)]
pub struct Snapshot {
    /// Exactly the spec's flags, by ordinal.
    typed: Program,
    /// Every flag in the files (for lookups by key, including flags added after the build).
    full: Program,
    /// Increases by one with every snapshot swapped in.
    pub generation: u64,
    /// Hash of the files' content.
    pub hash: u64,
    /// Where the content came from.
    pub origin: Origin,
    /// When it was swapped in.
    pub loaded_at: SystemTime,
    /// Flags kept at their previous definition, with why.
    pub kept: Vec<String>,
}

impl Snapshot {
    /// Evaluates the spec's flag number `ordinal`.
    #[inline]
    pub fn eval<C: ContextView + ?Sized>(&self, ordinal: usize, ctx: &C) -> Evaluation<'_> {
        self.typed.eval(ordinal, ctx)
    }

    /// Evaluates any flag of the files by key (typed flags first, so overrides apply).
    pub fn lookup<C: ContextView + ?Sized>(&self, key: &str, ctx: &C) -> Option<Evaluation<'_>> {
        self.typed
            .eval_key(key, ctx)
            .or_else(|| self.full.eval_key(key, ctx))
    }

    /// The typed program (the spec's flags).
    pub fn program(&self) -> &Program {
        &self.typed
    }

    /// Every flag of the files.
    pub fn all_flags(&self) -> &Program {
        &self.full
    }
}

/// Why a load or reload was rejected.
#[derive(Debug, Clone)]
pub enum LoadError {
    /// The directory could not be read at all.
    Io {
        /// The directory.
        dir: PathBuf,
        /// What the OS said.
        message: String,
    },
    /// The flag files are invalid; the diagnostics say where.
    Invalid {
        /// Every error (and warning), rendered `file:line:col: error[CODE]: message`.
        messages: Vec<String>,
        /// The diagnostics themselves.
        diagnostics: Vec<Diagnostic>,
    },
    /// The static values given at startup do not fit the manifest.
    Statics(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { dir, message } => {
                write!(f, "cannot read flag directory {}: {message}", dir.display())
            }
            LoadError::Invalid { messages, .. } => {
                write!(f, "invalid flag files")?;
                for m in messages {
                    write!(f, "\n  {m}")?;
                }
                Ok(())
            }
            LoadError::Statics(m) => write!(f, "static attributes: {m}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// `file:line:col: severity[CODE]: message` for one diagnostic.
pub fn one_line(sources: &Sources, d: &Diagnostic) -> String {
    let place = match (&d.file, sources.position(d)) {
        (Some(file), Some(p)) => format!("{file}:{}:{}: ", p.line, p.column),
        (Some(file), None) => format!("{file}: "),
        _ => String::new(),
    };
    format!("{place}{}[{}]: {}", d.severity.as_str(), d.code, d.message)
}

/// What a service can read and export about its flags.
#[derive(Debug, Clone)]
pub struct Status {
    /// Generation of the live snapshot.
    pub generation: u64,
    /// Content hash of the live snapshot, as 16 hex digits.
    pub hash: String,
    /// When the live snapshot was swapped in.
    pub loaded_at: SystemTime,
    /// Where it came from.
    pub origin: Origin,
    /// The last rejected reload, if the live snapshot is not from the latest content.
    pub last_error: Option<LoadError>,
    /// Flags serving a previous definition, with why.
    pub kept: Vec<String>,
    /// Overrides in effect (flag keys), from tests or the break-glass file.
    pub overrides: Vec<String>,
}

/// A handle on the live snapshot. Cloning it shares the snapshot (and its overrides).
#[derive(Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.shared.current.load();
        f.debug_struct("Runtime")
            .field("generation", &s.generation)
            .field("origin", &s.origin)
            .finish()
    }
}

struct Shared {
    current: ArcSwap<Snapshot>,
    spec: Spec,
    statics: Vec<(String, String)>,
    dir: Option<PathBuf>,
    state: Mutex<State>,
}

struct State {
    /// The last good snapshot before overrides.
    base: Arc<Snapshot>,
    /// Forced values by ordinal (typed test overrides).
    overrides: BTreeMap<usize, Value>,
    last_error: Option<LoadError>,
    generation: u64,
}

/// The outcome of a reload attempt.
#[derive(Debug, Clone)]
pub enum Reload {
    /// A new snapshot is live.
    Swapped {
        /// Its generation.
        generation: u64,
        /// Keys of the flags whose compiled definition changed.
        changed: Vec<String>,
    },
    /// The content is the same as the live snapshot's: nothing to do.
    Unchanged,
    /// The content was rejected; the previous snapshot stays.
    Rejected(LoadError),
}

impl Runtime {
    /// Loads and compiles the flag directory at `dir` for `spec`, with the static attributes
    /// fixed for this process. A missing or invalid directory is an error.
    pub fn load(
        dir: &Path,
        spec: Spec,
        statics: Vec<(String, String)>,
    ) -> Result<Runtime, LoadError> {
        let sources = read(dir)?;
        let snapshot = build(
            &spec,
            &statics,
            sources,
            None,
            Origin::Directory(dir.to_path_buf()),
            1,
        )?;
        Ok(Runtime::start(
            snapshot,
            spec,
            statics,
            Some(dir.to_path_buf()),
        ))
    }

    /// Starts from the copy of the flag files embedded at build time. This may re-enable a
    /// feature switched off since the build, so it is logged as an error and shown in the
    /// status; `reason` says why the directory was not used.
    pub fn embedded(
        spec: Spec,
        statics: Vec<(String, String)>,
        reason: Option<LoadError>,
    ) -> Result<Runtime, LoadError> {
        let sources = embedded_sources(&spec);
        let snapshot = build(&spec, &statics, sources, None, Origin::Embedded, 1)?;
        tracing::error!(
            reason = reason.as_ref().map(ToString::to_string),
            "serving flags embedded at build time"
        );
        let rt = Runtime::start(snapshot, spec, statics, None);
        rt.lock().last_error = reason;
        Ok(rt)
    }

    fn start(
        snapshot: Snapshot,
        spec: Spec,
        statics: Vec<(String, String)>,
        dir: Option<PathBuf>,
    ) -> Runtime {
        let generation = snapshot.generation;
        let snapshot = Arc::new(snapshot);
        Runtime {
            shared: Arc::new(Shared {
                current: ArcSwap::new(snapshot.clone()),
                spec,
                statics,
                dir,
                state: Mutex::new(State {
                    base: snapshot,
                    overrides: BTreeMap::new(),
                    last_error: None,
                    generation,
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written (every update
        // is a whole assignment), so a poisoned lock is still usable.
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live snapshot: one atomic load, never blocks.
    #[inline]
    pub fn snapshot(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.shared.current.load()
    }

    /// The flag directory this runtime reads, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.shared.dir.as_deref()
    }

    /// The spec it was built against.
    pub fn spec(&self) -> &Spec {
        &self.shared.spec
    }

    /// Evaluates any flag by key (for tools and flags added after the build).
    pub fn lookup<C: ContextView + ?Sized>(&self, key: &str, ctx: &C) -> Option<Value> {
        self.snapshot().lookup(key, ctx).map(|e| e.value.clone())
    }

    /// The current status.
    pub fn status(&self) -> Status {
        let state = self.lock();
        let live = self.snapshot();
        let names = &self.shared.spec.flags;
        Status {
            generation: live.generation,
            hash: format!("{:016x}", live.hash),
            loaded_at: live.loaded_at,
            origin: live.origin.clone(),
            last_error: state.last_error.clone(),
            kept: live.kept.clone(),
            overrides: state
                .overrides
                .keys()
                .filter_map(|&i| names.get(i).map(|(k, _)| k.clone()))
                .collect(),
        }
    }

    /// Re-reads the flag directory and swaps in a new snapshot if it is valid and changed.
    pub fn reload(&self) -> Reload {
        let Some(dir) = self.shared.dir.clone() else {
            return Reload::Unchanged;
        };
        let result = read(&dir);
        self.reload_from(result.map(|s| (s, Origin::Directory(dir))))
    }

    /// Swaps in a snapshot built from `sources` (the reload path, also used by tests).
    pub fn reload_from(&self, sources: Result<(Sources, Origin), LoadError>) -> Reload {
        let mut state = self.lock();
        let (sources, origin) = match sources {
            Ok(s) => s,
            Err(e) => return self.reject(&mut state, e),
        };
        if content_hash(&sources) == state.base.hash && state.last_error.is_none() {
            return Reload::Unchanged;
        }
        let next = match build(
            &self.shared.spec,
            &self.shared.statics,
            sources,
            Some(&state.base),
            origin,
            state.generation + 1,
        ) {
            Ok(s) => s,
            Err(e) => return self.reject(&mut state, e),
        };
        if next.hash == state.base.hash {
            state.last_error = None;
            return Reload::Unchanged;
        }
        let changed = changed_flags(&state.base, &next);
        state.generation = next.generation;
        state.base = Arc::new(next);
        state.last_error = None;
        for k in &state.base.kept {
            tracing::warn!(flag = k.as_str(), "flag keeps its previous definition");
        }
        tracing::info!(
            generation = state.generation,
            changed = changed.len(),
            "flags reloaded"
        );
        self.publish(&state);
        Reload::Swapped {
            generation: state.generation,
            changed,
        }
    }

    fn reject(&self, state: &mut State, e: LoadError) -> Reload {
        tracing::error!(error = %e, "flag reload rejected; the last good flags stay live");
        state.last_error = Some(e.clone());
        Reload::Rejected(e)
    }

    /// Forces flags (by ordinal) to values on top of the files, until cleared. Replaces any
    /// overrides set before. Values must have the flag's type (generated code guarantees it).
    pub fn set_overrides(&self, overrides: impl IntoIterator<Item = (usize, Value)>) {
        let mut state = self.lock();
        state.overrides = overrides
            .into_iter()
            .filter(|(i, _)| *i < self.shared.spec.flags.len())
            .collect();
        self.publish(&state);
    }

    /// Removes every override.
    pub fn clear_overrides(&self) {
        self.set_overrides([]);
    }

    /// Publishes `state.base` with the overrides applied.
    fn publish(&self, state: &State) {
        if state.overrides.is_empty() {
            self.shared.current.store(state.base.clone());
            return;
        }
        let base = &state.base;
        let mut typed = base.typed.clone();
        for (&i, v) in &state.overrides {
            if let Some(f) = typed.flags.get_mut(i) {
                force(f, v.clone());
            }
        }
        self.shared.current.store(Arc::new(Snapshot {
            typed,
            full: base.full.clone(),
            generation: base.generation,
            hash: base.hash,
            origin: base.origin.clone(),
            loaded_at: base.loaded_at,
            kept: base.kept.clone(),
        }));
    }
}

/// Makes a compiled flag always return `v`.
fn force(f: &mut CompiledFlag, v: Value) {
    f.rules.clear();
    f.default = v.clone();
    f.constant = Some(v);
}

fn read(dir: &Path) -> Result<Sources, LoadError> {
    let mut diags = Diagnostics::new();
    let sources = Sources::read_dir(dir, &mut diags).map_err(|e| LoadError::Io {
        dir: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    if diags.has_errors() {
        let diagnostics = diags.into_sorted();
        return Err(LoadError::Invalid {
            messages: diagnostics.iter().map(|d| one_line(&sources, d)).collect(),
            diagnostics,
        });
    }
    Ok(sources)
}

fn embedded_sources(spec: &Spec) -> Sources {
    let mut diags = Diagnostics::new();
    Sources::from_memory(
        spec.embedded.iter().map(|(p, t)| (*p, t.as_bytes())),
        &mut diags,
    )
}

/// Hash of the files' paths and content.
pub fn content_hash(sources: &Sources) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for f in &sources.files {
        f.path.hash(&mut h);
        f.text.hash(&mut h);
    }
    h.finish()
}

/// Checks and compiles `sources` for `spec`; flags that do not fit keep `previous`'s
/// definition (or the embedded build-time one).
fn build(
    spec: &Spec,
    statics: &[(String, String)],
    sources: Sources,
    previous: Option<&Snapshot>,
    origin: Origin,
    generation: u64,
) -> Result<Snapshot, LoadError> {
    let hash = content_hash(&sources);
    let checked = check_sources(sources, Diagnostics::new(), &CheckOptions::default());
    let Some(model) = checked.model else {
        let diagnostics: Vec<Diagnostic> = checked
            .diagnostics
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        let messages = diagnostics
            .iter()
            .map(|d| one_line(&checked.sources, d))
            .collect();
        return Err(LoadError::Invalid {
            messages,
            diagnostics,
        });
    };
    let st = Statics::from_pairs(
        &model.manifest,
        statics.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(statics_error)?;
    let full = compile(&model, &st, &spec.layout);

    let mut typed_flags = Vec::with_capacity(spec.flags.len());
    let mut kept = Vec::new();
    let mut fallback: Option<Program> = None;
    for (ordinal, (key, ty)) in spec.flags.iter().enumerate() {
        let fresh = full
            .flag_index(key)
            .map(|i| &full.flags[i])
            .filter(|f| &f.ty == ty);
        if let Some(f) = fresh {
            typed_flags.push(f.clone());
            continue;
        }
        let why = match full.flag_index(key) {
            None => format!(
                "`{key}` was removed from the flag files; this binary keeps its previous definition"
            ),
            Some(_) => format!(
                "`{key}` changed type or variants; this binary keeps its previous definition"
            ),
        };
        let old = match previous {
            Some(p) => p.typed.flags.get(ordinal).cloned(),
            None => {
                if fallback.is_none() {
                    fallback = Some(compile_embedded(spec, statics)?);
                }
                fallback
                    .as_ref()
                    .and_then(|p| p.flag_index(key).map(|i| p.flags[i].clone()))
            }
        };
        match old {
            Some(f) => {
                kept.push(why);
                typed_flags.push(f);
            }
            None => {
                return Err(LoadError::Statics(format!(
                    "flag `{key}` is missing and has no previous definition"
                )));
            }
        }
    }
    let typed = Program {
        flags: typed_flags,
        layout: spec.layout.clone(),
    };
    Ok(Snapshot {
        typed,
        full,
        generation,
        hash,
        origin,
        loaded_at: SystemTime::now(),
        kept,
    })
}

fn statics_error(errors: Vec<crate::compile::StaticsError>) -> LoadError {
    LoadError::Statics(
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    )
}

fn compile_embedded(spec: &Spec, statics: &[(String, String)]) -> Result<Program, LoadError> {
    let checked = check_sources(
        embedded_sources(spec),
        Diagnostics::new(),
        &CheckOptions::default(),
    );
    let model = checked
        .model
        .ok_or_else(|| LoadError::Statics("the embedded flag files are invalid".into()))?;
    let st = Statics::from_pairs(
        &model.manifest,
        statics.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(statics_error)?;
    Ok(compile(&model, &st, &spec.layout))
}

/// Keys whose compiled definition differs between two snapshots (all flags of the files).
fn changed_flags(old: &Snapshot, new: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    let describe = |f: &CompiledFlag| format!("{f:?}");
    let old_map: BTreeMap<&str, String> = old
        .full
        .flags
        .iter()
        .map(|f| (&*f.key, describe(f)))
        .collect();
    let new_map: BTreeMap<&str, String> = new
        .full
        .flags
        .iter()
        .map(|f| (&*f.key, describe(f)))
        .collect();
    for (k, v) in &new_map {
        if old_map.get(k) != Some(v) {
            out.push((*k).to_owned());
        }
    }
    for k in old_map.keys() {
        if !new_map.contains_key(k) {
            out.push((*k).to_owned());
        }
    }
    out.sort();
    out
}

/// Conversions for generated `Context` setters of `semver` attributes.
pub trait IntoSemver {
    /// The version, or why the input is not one.
    fn into_semver(self) -> Result<semver::Version, ValueError>;
}

impl IntoSemver for semver::Version {
    fn into_semver(self) -> Result<semver::Version, ValueError> {
        Ok(self)
    }
}

impl IntoSemver for &semver::Version {
    fn into_semver(self) -> Result<semver::Version, ValueError> {
        Ok(self.clone())
    }
}

impl IntoSemver for &str {
    fn into_semver(self) -> Result<semver::Version, ValueError> {
        semver::Version::parse(self).map_err(|e| ValueError {
            input: self.to_owned(),
            expected: "a semantic version",
            reason: e.to_string(),
        })
    }
}

impl IntoSemver for String {
    fn into_semver(self) -> Result<semver::Version, ValueError> {
        self.as_str().into_semver()
    }
}

impl IntoSemver for &String {
    fn into_semver(self) -> Result<semver::Version, ValueError> {
        self.as_str().into_semver()
    }
}

/// Conversions for generated `Context` setters of `datetime` attributes.
pub trait IntoTimestamp {
    /// The instant, or why the input is not one.
    fn into_timestamp(self) -> Result<jiff::Timestamp, ValueError>;
}

impl IntoTimestamp for jiff::Timestamp {
    fn into_timestamp(self) -> Result<jiff::Timestamp, ValueError> {
        Ok(self)
    }
}

impl IntoTimestamp for SystemTime {
    fn into_timestamp(self) -> Result<jiff::Timestamp, ValueError> {
        jiff::Timestamp::try_from(self).map_err(|e| ValueError {
            input: format!("{self:?}"),
            expected: "a time in jiff's supported range",
            reason: e.to_string(),
        })
    }
}

impl IntoTimestamp for &str {
    fn into_timestamp(self) -> Result<jiff::Timestamp, ValueError> {
        self.parse::<jiff::Timestamp>().map_err(|e| ValueError {
            input: self.to_owned(),
            expected: "an RFC 3339 date-time with an offset, e.g. 2026-06-01T00:00:00Z",
            reason: e.to_string(),
        })
    }
}

impl IntoTimestamp for String {
    fn into_timestamp(self) -> Result<jiff::Timestamp, ValueError> {
        self.as_str().into_timestamp()
    }
}

impl IntoTimestamp for &String {
    fn into_timestamp(self) -> Result<jiff::Timestamp, ValueError> {
        self.as_str().into_timestamp()
    }
}

/// A value given to a generated setter (or parsed into a generated enum) that does not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// What was given.
    pub input: String,
    /// What was expected.
    pub expected: &'static str,
    /// Why it does not fit.
    pub reason: String,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not {}: {}",
            self.input, self.expected, self.reason
        )
    }
}

impl std::error::Error for ValueError {}

/// Items generated code refers to; not part of the stable API.
#[doc(hidden)]
pub mod __private {
    pub use jiff;
    pub use regex;
    pub use semver;
    pub use std::sync::LazyLock;

    pub use crate::bucket::{bucket, pick};
    pub use crate::ir::StrSet;

    /// Bucket of an integer's decimal form, without allocating.
    #[inline]
    pub fn bucket_int(salt: &[u8], n: i64) -> u32 {
        let mut buf = [0u8; 20];
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
        crate::bucket::bucket(salt, &buf[at..])
    }
}
