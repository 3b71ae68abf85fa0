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
//! On top of the files' snapshot come overrides: typed test overrides
//! ([`Runtime::set_overrides`]) and the break-glass override file ([`overrides`], read by
//! [`Runtime::reload_overrides`]). [`Runtime::watch`](crate::watch) keeps both current.
//! Every reload attempt that changes something (a new snapshot, a rejection, a recovery) is
//! logged with `tracing` and sent to the listeners of [`Runtime::on_reload`] and
//! [`Runtime::subscribe`] as a [`ReloadEvent`].
//!
//! **Invariant:** readers never block and always see one whole snapshot; an invalid directory
//! (or override file) never replaces a good snapshot (or the overrides in effect).
//!
//! **Invariant:** in the typed program of a snapshot, flag `i` is the spec's flag `i` and
//! has the spec's type, so generated accessors can match on the value without failing.
//!
//! **Invariant:** reloads are serialized; the same content is never checked twice in a row
//! (a rejected content is remembered by hash, so a re-scan of a broken directory neither
//! rebuilds nor logs again).

pub mod overrides;

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;

use crate::compile::{Statics, StaticsError, compile};
use crate::diag::{Code, Diagnostic, Diagnostics, Severity};
use crate::eval::{ContextView, Evaluation};
use crate::ir::{CompiledFlag, Layout, Program, Value};
use crate::model::{FlagType, Model};
use crate::source::{SourceFile, Sources};
use crate::{CheckOptions, check_sources_with};

pub use overrides::Override;

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

    /// The ordinal of flag `key`.
    fn ordinal(&self, key: &str) -> Option<usize> {
        self.flags
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
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
    typed: Arc<Program>,
    /// Every flag in the files (for lookups by key, including flags added after the build).
    full: Arc<Program>,
    /// A hash of each flag's compiled definition, by position in `full`.
    fingerprints: Arc<[u64]>,
    /// A hash of each file's text, by path: a flag whose file and manifest are unchanged
    /// keeps its fingerprint without being formatted again.
    files: Arc<BTreeMap<String, u64>>,
    /// Increases by one with every change swapped in: new flag content, or a change of the
    /// break-glass overrides in effect.
    pub generation: u64,
    /// Hash of the files' content.
    pub hash: u64,
    /// Where the content came from.
    pub origin: Origin,
    /// When its flag content was swapped in.
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

    /// The same content under another generation, with other programs (overrides applied).
    fn derive(&self, typed: Arc<Program>, full: Arc<Program>, generation: u64) -> Snapshot {
        Snapshot {
            typed,
            full,
            fingerprints: self.fingerprints.clone(),
            files: self.files.clone(),
            generation,
            hash: self.hash,
            origin: self.origin.clone(),
            loaded_at: self.loaded_at,
            kept: self.kept.clone(),
        }
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
    /// The break-glass override file is invalid (or unreadable); the overrides in effect stay.
    Overrides {
        /// The file.
        file: PathBuf,
        /// Every error, rendered `file:line:col: error[CODE]: message`.
        messages: Vec<String>,
        /// The diagnostics themselves.
        diagnostics: Vec<Diagnostic>,
    },
}

impl LoadError {
    /// The error as diagnostics (one for an I/O or static-values error).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            LoadError::Io { message, .. } => vec![
                Diagnostic::global(Severity::Error, Code::Io, None, self.to_string()).with_help(
                    if message.contains("No such file") {
                        "the last good flags stay live; they reload when the directory is back"
                    } else {
                        "the last good flags stay live"
                    },
                ),
            ],
            LoadError::Invalid { diagnostics, .. } | LoadError::Overrides { diagnostics, .. } => {
                diagnostics.clone()
            }
            LoadError::Statics(m) => vec![Diagnostic::global(
                Severity::Error,
                Code::StaticValue,
                None,
                m.clone(),
            )],
        }
    }

    fn invalid(sources: &Sources, diagnostics: Vec<Diagnostic>) -> LoadError {
        LoadError::Invalid {
            messages: diagnostics.iter().map(|d| one_line(sources, d)).collect(),
            diagnostics,
        }
    }

    fn overrides(file: &Path, sources: &Sources, diagnostics: Vec<Diagnostic>) -> LoadError {
        LoadError::Overrides {
            file: file.to_path_buf(),
            messages: diagnostics.iter().map(|d| one_line(sources, d)).collect(),
            diagnostics,
        }
    }
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
            LoadError::Overrides { file, messages, .. } => {
                write!(f, "invalid break-glass override file {}", file.display())?;
                for m in messages {
                    write!(f, "\n  {m}")?;
                }
                Ok(())
            }
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
    /// Content hash of the live snapshot's flag files, as 16 hex digits.
    pub hash: String,
    /// When the live snapshot's flag content was swapped in.
    pub loaded_at: SystemTime,
    /// Where it came from.
    pub origin: Origin,
    /// The last rejected reload, if the live snapshot is not from the latest content.
    pub last_error: Option<LoadError>,
    /// Flags serving a previous definition, with why.
    pub kept: Vec<String>,
    /// Overrides in effect (flag keys), from tests or the break-glass file (whose details
    /// are in [`Runtime::break_glass`]).
    pub overrides: Vec<String>,
}

/// The break-glass override file, as a status page shows it next to the [`Status`].
#[derive(Debug, Clone, Default)]
pub struct BreakGlass {
    /// The file, when one was given.
    pub file: Option<PathBuf>,
    /// The overrides in effect, with their reasons.
    pub active: Vec<Override>,
    /// Why the file's latest content was rejected (the overrides before it stay).
    pub error: Option<LoadError>,
}

/// What a reload attempt read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The flag directory.
    Flags,
    /// The break-glass override file.
    Overrides(PathBuf),
}

/// A reload attempt that changed something: a new snapshot, a rejection, or a recovery (the
/// content went back to the live snapshot's after a rejection: the error is cleared).
#[derive(Debug, Clone)]
pub struct ReloadEvent {
    /// What was read.
    pub reloaded: Reloaded,
    /// The outcome: `Swapped`, `Rejected`, or `Unchanged` for a recovery.
    pub outcome: Reload,
    /// The live generation after the attempt.
    pub generation: u64,
    /// Every diagnostic of the attempt: the errors of a rejection, warnings of a success.
    pub diagnostics: Vec<Diagnostic>,
    /// The files the diagnostics point into (the override file alone, for overrides).
    pub sources: Arc<Sources>,
    /// Flags serving a previous definition after the attempt.
    pub kept: Vec<String>,
    /// How long the attempt took: read, check, compile and swap.
    pub elapsed: Duration,
    /// When it ended.
    pub at: SystemTime,
}

impl ReloadEvent {
    /// Whether the attempt was accepted (the live flags are from the latest content).
    pub fn ok(&self) -> bool {
        !matches!(self.outcome, Reload::Rejected(_))
    }

    /// Keys of the flags whose definition (or forced value) changed.
    pub fn changed(&self) -> &[String] {
        match &self.outcome {
            Reload::Swapped { changed, .. } => changed,
            _ => &[],
        }
    }
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

type Listener = Box<dyn FnMut(&ReloadEvent) -> bool + Send>;

struct Shared {
    current: ArcSwap<Snapshot>,
    /// This runtime's own stamp, which names it in threads' snapshot caches.
    id: u64,
    /// The stamp of the snapshot last stored in `current` (see [`next_stamp`]): a thread's
    /// cached snapshot is current while its stamp is this one.
    stamp: AtomicU64,
    spec: Spec,
    statics: Vec<(String, String)>,
    dir: Option<PathBuf>,
    /// A tool's runtime ([`Runtime::checker`]): no typed flags, the files' own layout, and
    /// static attributes not given compiled for each of their values.
    checker: bool,
    /// Held for a whole reload, listeners included: reloads are serialized and their events
    /// arrive in order.
    reloading: Mutex<()>,
    attempts: AtomicU64,
    state: Mutex<State>,
    listeners: Mutex<Vec<Listener>>,
}

struct State {
    /// The last good snapshot before overrides.
    base: Arc<Snapshot>,
    /// Forced values by ordinal (typed test overrides).
    overrides: BTreeMap<usize, Value>,
    last_error: Option<LoadError>,
    /// What the last rejected attempt read (content hash, or the error), so that the same
    /// rejection is neither rebuilt nor reported twice.
    rejected: Option<u64>,
    generation: u64,
    glass: Glass,
}

/// The break-glass override file's state.
#[derive(Default)]
struct Glass {
    path: Option<PathBuf>,
    /// Every entry of the last good file (some may have expired).
    entries: Vec<Override>,
    /// Keys of the entries applied at the last publish.
    applied: Vec<String>,
    /// Hash of the last good file's content (`None`: no file).
    hash: Option<u64>,
    error: Option<LoadError>,
    rejected: Option<u64>,
}

/// The outcome of a reload attempt.
#[derive(Debug, Clone)]
pub enum Reload {
    /// A new snapshot is live.
    Swapped {
        /// Its generation.
        generation: u64,
        /// Keys of the flags whose compiled definition (or forced value) changed.
        changed: Vec<String>,
    },
    /// The content is the same as the live snapshot's, or as the last rejected attempt's:
    /// nothing to do.
    Unchanged,
    /// The content was rejected; the previous snapshot stays.
    Rejected(LoadError),
}

/// A built snapshot, or why not; with every diagnostic and the files they point into.
struct Built {
    result: Result<Snapshot, LoadError>,
    diagnostics: Vec<Diagnostic>,
    sources: Arc<Sources>,
}

impl Runtime {
    /// Loads and compiles the flag directory at `dir` for `spec`, with the static attributes
    /// fixed for this process. A missing or invalid directory is an error.
    pub fn load(
        dir: &Path,
        spec: Spec,
        statics: Vec<(String, String)>,
    ) -> Result<Runtime, LoadError> {
        let (sources, diags) = read(dir)?;
        let built = build(
            &spec,
            &statics,
            false,
            sources,
            diags,
            None,
            Origin::Directory(dir.to_path_buf()),
            1,
        );
        let snapshot = built.result?;
        Ok(Runtime::start(
            snapshot,
            spec,
            statics,
            Some(dir.to_path_buf()),
            false,
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
        let built = build(
            &spec,
            &statics,
            false,
            sources,
            Diagnostics::new(),
            None,
            Origin::Embedded,
            1,
        );
        let snapshot = built.result?;
        tracing::error!(
            reason = reason.as_ref().map(ToString::to_string),
            "serving flags embedded at build time"
        );
        let rt = Runtime::start(snapshot, spec, statics, None, false);
        rt.lock().last_error = reason;
        Ok(rt)
    }

    /// A runtime for tools (`flagc watch`): no typed flags, every flag of the files by key,
    /// compiled with the files' own context layout. It starts empty (generation 0) and never
    /// fails: the first [`reload`](Runtime::reload) reads the directory. Static attributes
    /// missing from `statics` are compiled for each of their values when comparing
    /// definitions (lookups use the first).
    pub fn checker(dir: &Path, statics: Vec<(String, String)>) -> Runtime {
        let empty = Arc::new(Program {
            flags: Vec::new(),
            layout: Layout::new([]),
        });
        let snapshot = Snapshot {
            typed: empty.clone(),
            full: empty,
            fingerprints: Arc::from([]),
            files: Arc::default(),
            generation: 0,
            hash: 0,
            origin: Origin::Directory(dir.to_path_buf()),
            loaded_at: SystemTime::now(),
            kept: Vec::new(),
        };
        let spec = Spec {
            flags: Vec::new(),
            layout: Layout::new([]),
            embedded: &[],
        };
        Runtime::start(snapshot, spec, statics, Some(dir.to_path_buf()), true)
    }

    fn start(
        snapshot: Snapshot,
        spec: Spec,
        statics: Vec<(String, String)>,
        dir: Option<PathBuf>,
        checker: bool,
    ) -> Runtime {
        let generation = snapshot.generation;
        let snapshot = Arc::new(snapshot);
        Runtime {
            shared: Arc::new(Shared {
                current: ArcSwap::new(snapshot.clone()),
                id: next_stamp(),
                stamp: AtomicU64::new(next_stamp()),
                spec,
                statics,
                dir,
                checker,
                reloading: Mutex::new(()),
                attempts: AtomicU64::new(0),
                state: Mutex::new(State {
                    base: snapshot,
                    overrides: BTreeMap::new(),
                    last_error: None,
                    rejected: None,
                    generation,
                    glass: Glass::default(),
                }),
                listeners: Mutex::new(Vec::new()),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written (every update
        // is a whole assignment), so a poisoned lock is still usable.
        lock(&self.shared.state)
    }

    /// The live snapshot: one atomic load, never blocks.
    #[inline]
    pub fn snapshot(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.shared.current.load()
    }

    /// Runs `f` on the live snapshot, through this thread's cache of it. While no reload
    /// has published a new snapshot this is one atomic load and a compare (no reference
    /// count touched, nothing shared written); after one, the thread's first call picks the
    /// new snapshot up.
    ///
    /// Each thread caches the snapshots of the last few runtimes it used, so a thread that
    /// has gone idle keeps those alive (not the runtime) until it calls an accessor again
    /// or exits. `f` may itself use flags (it then takes the slower [`Runtime::snapshot`]
    /// path), and this never panics.
    #[inline]
    pub fn with_snapshot<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        self.cached(|_, s| f(s))
    }

    /// Evaluates the spec's flag number `ordinal` on the live snapshot, through this
    /// thread's cache ([`Runtime::with_snapshot`]), and hands the result to `f`: the
    /// generated accessors' path.
    #[inline]
    pub fn eval_with<C: ContextView + ?Sized, R>(
        &self,
        ordinal: usize,
        ctx: &C,
        f: impl FnOnce(Evaluation<'_>) -> R,
    ) -> R {
        self.cached(|typed, _| f(typed.eval(ordinal, ctx)))
    }

    /// The bool flag number `N` for `ctx` ([`Runtime::eval_with`]); `default` only if that
    /// flag is not a bool, which the runtime never allows for a typed flag.
    ///
    /// The generated accessors are one call of this or of its siblings below, so that the
    /// generated code is small for rustc to check. The ordinal is a const parameter so that
    /// each accessor still gets its own copy of the evaluation path, which the optimiser
    /// inlines whole into the call site (one shared copy is not inlined, and costs ~4 ns).
    #[inline]
    pub fn bool_flag<const N: usize, C: ContextView + ?Sized>(
        &self,
        ctx: &C,
        default: bool,
    ) -> bool {
        self.eval_with(N, ctx, |e| match e.value {
            Value::Bool(v) => *v,
            _ => default,
        })
    }

    /// The int flag number `N` for `ctx` (see [`Runtime::bool_flag`]).
    #[inline]
    pub fn int_flag<const N: usize, C: ContextView + ?Sized>(&self, ctx: &C, default: i64) -> i64 {
        self.eval_with(N, ctx, |e| match e.value {
            Value::Int(v) => *v,
            _ => default,
        })
    }

    /// The float flag number `N` for `ctx` (see [`Runtime::bool_flag`]).
    #[inline]
    pub fn float_flag<const N: usize, C: ContextView + ?Sized>(
        &self,
        ctx: &C,
        default: f64,
    ) -> f64 {
        self.eval_with(N, ctx, |e| match e.value {
            Value::Float(v) => *v,
            _ => default,
        })
    }

    /// The string flag number `N` for `ctx`: a reference-count bump, no copy (see
    /// [`Runtime::bool_flag`]; `default` is copied only in the case that never happens).
    #[inline]
    pub fn str_flag<const N: usize, C: ContextView + ?Sized>(
        &self,
        ctx: &C,
        default: &str,
    ) -> Arc<str> {
        self.eval_with(N, ctx, |e| match e.value {
            Value::Str(v) => Arc::clone(v),
            _ => Arc::from(default),
        })
    }

    /// The enum flag number `N` for `ctx`, as its value in `all`, the enum's variants (see
    /// [`Runtime::bool_flag`]): `all[default]` for an index out of range.
    #[inline]
    pub fn enum_flag<const N: usize, C: ContextView + ?Sized, T: Copy>(
        &self,
        ctx: &C,
        default: usize,
        all: &[T],
    ) -> T {
        let i = self.eval_with(N, ctx, |e| match e.value {
            Value::Enum(v) if (*v as usize) < all.len() => *v as usize,
            _ => default,
        });
        all[i]
    }

    /// `f` on the typed program and the snapshot, from this thread's cache, or from the
    /// live snapshot itself when there is no cache (re-entered, or the thread is exiting).
    #[inline(always)]
    fn cached<R>(&self, f: impl FnOnce(&Program, &Snapshot) -> R) -> R {
        let stamp = self.shared.stamp.load(Ordering::Acquire);
        let mut f = Some(f);
        let done = SNAPSHOTS.try_with(|cell| {
            let mut cache = cell.try_borrow_mut().ok()?;
            let c = cache.get(self.shared.id, stamp, &self.shared.current);
            f.take().map(|f| f(&c.typed, &c.snapshot))
        });
        match (done, f) {
            (Ok(Some(r)), _) => r,
            (_, Some(f)) => {
                let s = self.shared.current.load();
                f(&s.typed, &s)
            }
            (_, None) => unreachable!("`f` is taken only to be called"),
        }
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
        let mut overrides: Vec<String> = state
            .overrides
            .keys()
            .filter_map(|&i| names.get(i).map(|(k, _)| k.clone()))
            .chain(state.glass.applied.iter().cloned())
            .collect();
        overrides.sort();
        overrides.dedup();
        Status {
            generation: live.generation,
            hash: format!("{:016x}", live.hash),
            loaded_at: live.loaded_at,
            origin: live.origin.clone(),
            last_error: state.last_error.clone(),
            kept: live.kept.clone(),
            overrides,
        }
    }

    /// The break-glass override file's state.
    pub fn break_glass(&self) -> BreakGlass {
        let state = self.lock();
        BreakGlass {
            file: state.glass.path.clone(),
            active: state
                .glass
                .entries
                .iter()
                .filter(|o| state.glass.applied.contains(&o.key))
                .cloned()
                .collect(),
            error: state.glass.error.clone(),
        }
    }

    /// Reload attempts so far (flag directory and override file), unchanged ones included:
    /// a counter for metrics.
    pub fn reload_attempts(&self) -> u64 {
        self.shared.attempts.load(Ordering::Relaxed)
    }

    /// Calls `f` with every reload attempt that changes something (see [`ReloadEvent`]), on
    /// the thread that reloads (the watcher's), after the new snapshot is live. Keep it
    /// short: reloads wait for it. A panic in `f` is caught and logged.
    pub fn on_reload(&self, mut f: impl FnMut(&ReloadEvent) + Send + 'static) {
        lock(&self.shared.listeners).push(Box::new(move |e| {
            f(e);
            true
        }));
    }

    /// A channel of reload events (see [`on_reload`](Runtime::on_reload)); dropping the
    /// receiver unsubscribes.
    pub fn subscribe(&self) -> mpsc::Receiver<ReloadEvent> {
        let (tx, rx) = mpsc::channel();
        lock(&self.shared.listeners).push(Box::new(move |e| tx.send(e.clone()).is_ok()));
        rx
    }

    /// Re-reads the flag directory and swaps in a new snapshot if it is valid and changed.
    pub fn reload(&self) -> Reload {
        let Some(dir) = self.shared.dir.clone() else {
            return Reload::Unchanged;
        };
        let _serial = lock(&self.shared.reloading);
        self.shared.attempts.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let (outcome, event) = match read(&dir) {
            Ok((sources, diags)) => {
                self.reload_sources(sources, diags, Origin::Directory(dir), started)
            }
            Err(e) => self.reject_unread(e, started),
        };
        self.notify(event);
        outcome
    }

    /// Swaps in a snapshot built from `sources` (the reload path, also used by tests).
    pub fn reload_from(&self, sources: Result<(Sources, Origin), LoadError>) -> Reload {
        let _serial = lock(&self.shared.reloading);
        self.shared.attempts.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let (outcome, event) = match sources {
            Ok((sources, origin)) => {
                self.reload_sources(sources, Diagnostics::new(), origin, started)
            }
            Err(e) => self.reject_unread(e, started),
        };
        self.notify(event);
        outcome
    }

    fn reload_sources(
        &self,
        sources: Sources,
        read_diags: Diagnostics,
        origin: Origin,
        started: Instant,
    ) -> (Reload, Option<ReloadEvent>) {
        let hash = content_hash(&sources);
        // Problems reading a file (not UTF-8, unreadable) are part of what was read.
        let attempt = if read_diags.as_slice().is_empty() {
            hash
        } else {
            hash_of(&(hash, format!("{:?}", read_diags.as_slice())))
        };
        let (base, generation) = {
            let state = self.lock();
            if attempt == state.base.hash && state.last_error.is_none()
                || state.rejected == Some(attempt)
            {
                return (Reload::Unchanged, None);
            }
            (state.base.clone(), state.generation)
        };
        // Built outside the state lock: `status()` never waits for a compile.
        let built = build(
            &self.shared.spec,
            &self.shared.statics,
            self.shared.checker,
            sources,
            read_diags,
            Some(&base),
            origin,
            generation + 1,
        );
        let mut state = self.lock();
        let next = match built.result {
            Ok(s) => s,
            Err(e) => {
                state.rejected = Some(attempt);
                let outcome = self.reject(&mut state, e);
                let event = self.event(
                    &state,
                    Reloaded::Flags,
                    outcome.clone(),
                    built.diagnostics,
                    built.sources,
                    started,
                );
                return (outcome, Some(event));
            }
        };
        state.rejected = None;
        if next.hash == state.base.hash {
            let recovered = state.last_error.take().is_some();
            if !recovered {
                return (Reload::Unchanged, None);
            }
            tracing::info!(
                generation = state.generation,
                "flag files are back to the live content; error cleared"
            );
            let event = self.event(
                &state,
                Reloaded::Flags,
                Reload::Unchanged,
                built.diagnostics,
                built.sources,
                started,
            );
            return (Reload::Unchanged, Some(event));
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
            hash = format_args!("{:016x}", state.base.hash),
            changed = changed.len(),
            "flags reloaded"
        );
        self.publish(&mut state);
        let outcome = Reload::Swapped {
            generation: state.generation,
            changed,
        };
        let event = self.event(
            &state,
            Reloaded::Flags,
            outcome.clone(),
            built.diagnostics,
            built.sources,
            started,
        );
        (outcome, Some(event))
    }

    /// A directory that could not be read (or sources that could not be produced).
    fn reject_unread(&self, e: LoadError, started: Instant) -> (Reload, Option<ReloadEvent>) {
        let attempt = hash_of(&e.to_string());
        let mut state = self.lock();
        if state.rejected == Some(attempt) {
            return (Reload::Unchanged, None);
        }
        state.rejected = Some(attempt);
        let diagnostics = e.diagnostics();
        let outcome = self.reject(&mut state, e);
        let event = self.event(
            &state,
            Reloaded::Flags,
            outcome.clone(),
            diagnostics,
            Arc::new(Sources::default()),
            started,
        );
        (outcome, Some(event))
    }

    fn reject(&self, state: &mut State, e: LoadError) -> Reload {
        tracing::error!(error = %e, "flag reload rejected; the last good flags stay live");
        state.last_error = Some(e.clone());
        Reload::Rejected(e)
    }

    fn event(
        &self,
        state: &State,
        reloaded: Reloaded,
        outcome: Reload,
        diagnostics: Vec<Diagnostic>,
        sources: Arc<Sources>,
        started: Instant,
    ) -> ReloadEvent {
        ReloadEvent {
            reloaded,
            outcome,
            generation: state.generation,
            diagnostics,
            sources,
            kept: state.base.kept.clone(),
            elapsed: started.elapsed(),
            at: SystemTime::now(),
        }
    }

    /// Sends an event to every listener (the caller holds `reloading`, so events keep their
    /// order). Listeners whose channel is closed are dropped; a panicking one is logged.
    fn notify(&self, event: Option<ReloadEvent>) {
        let Some(event) = event else { return };
        // Taken out while they run, so that a listener may subscribe another.
        let mut listeners = std::mem::take(&mut *lock(&self.shared.listeners));
        listeners.retain_mut(|l| {
            catch_unwind(AssertUnwindSafe(|| l(&event))).unwrap_or_else(|_| {
                tracing::error!("a reload listener panicked; it stays subscribed");
                true
            })
        });
        let mut all = lock(&self.shared.listeners);
        listeners.append(&mut all);
        *all = listeners;
    }

    /// Reads the break-glass override file at `path` and applies it on top of the flag
    /// files: a missing file means no overrides; an invalid one changes nothing (the
    /// overrides in effect stay, the error is in the status).
    pub fn reload_overrides(&self, path: &Path) -> Reload {
        let _serial = lock(&self.shared.reloading);
        self.shared.attempts.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let (outcome, event) = self.reload_glass(path, started);
        self.notify(event);
        outcome
    }

    fn reload_glass(&self, path: &Path, started: Instant) -> (Reload, Option<ReloadEvent>) {
        let name = path
            .file_name()
            .map_or_else(|| "overrides.toml".into(), |n| n.to_string_lossy());
        let reloaded = Reloaded::Overrides(path.to_path_buf());
        let mut state = self.lock();
        if state.glass.path.as_deref() != Some(path) {
            state.glass.path = Some(path.to_path_buf());
        }
        let text = match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                let error = LoadError::overrides(
                    path,
                    &Sources::default(),
                    vec![Diagnostic::global(
                        Severity::Error,
                        Code::Io,
                        Some(name.as_ref()),
                        format!("cannot read the override file {}: {e}", path.display()),
                    )],
                );
                return self.reject_glass(
                    &mut state,
                    reloaded,
                    hash_of(&error.to_string()),
                    error,
                    Arc::new(Sources::default()),
                    started,
                );
            }
        };
        let hash = text.as_deref().map(hash_of);
        if (hash == state.glass.hash && state.glass.error.is_none())
            || (hash.is_some() && hash == state.glass.rejected)
        {
            return (Reload::Unchanged, None);
        }
        let (entries, sources) = match text {
            None => (Vec::new(), Sources::default()),
            Some(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let sources = Sources {
                    root: path.parent().map(Path::to_path_buf).unwrap_or_default(),
                    files: vec![SourceFile::new(name.as_ref(), text.as_str())],
                };
                let base = &state.base;
                let spec = &self.shared.spec;
                let flag_type = |key: &str| {
                    spec.ordinal(key)
                        .map(|i| spec.flags[i].1.clone())
                        .or_else(|| {
                            base.full
                                .flag_index(key)
                                .map(|i| base.full.flags[i].ty.clone())
                        })
                };
                let known: Vec<&str> = spec
                    .flags
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .chain(base.full.flags.iter().map(|f| &*f.key))
                    .collect();
                let parsed = if std::str::from_utf8(&bytes).is_err() {
                    Err(vec![Diagnostic::global(
                        Severity::Error,
                        Code::NotUtf8,
                        Some(name.as_ref()),
                        "the override file is not valid UTF-8",
                    )])
                } else {
                    overrides::parse(&name, &text, flag_type, &known)
                };
                match parsed {
                    Ok(entries) => (entries, sources),
                    Err(diagnostics) => {
                        let error = LoadError::overrides(path, &sources, diagnostics);
                        return self.reject_glass(
                            &mut state,
                            reloaded,
                            hash.unwrap_or_default(),
                            error,
                            Arc::new(sources),
                            started,
                        );
                    }
                }
            }
        };
        state.glass.hash = hash;
        state.glass.rejected = None;
        let recovered = state.glass.error.take().is_some();
        if entries == state.glass.entries {
            if !recovered {
                return (Reload::Unchanged, None);
            }
            let event = self.event(
                &state,
                reloaded,
                Reload::Unchanged,
                Vec::new(),
                Arc::new(sources),
                started,
            );
            return (Reload::Unchanged, Some(event));
        }
        let now = jiff::Timestamp::now();
        for o in entries.iter().filter(|o| o.active_at(now)) {
            tracing::warn!(
                flag = o.key.as_str(),
                value = %o.value_json(),
                reason = o.reason.as_deref(),
                until = o.until.map(|u| u.to_string()),
                file = %path.display(),
                "break-glass override in effect"
            );
        }
        if entries.is_empty() {
            tracing::warn!(file = %path.display(), "break-glass overrides removed");
        }
        let changed = changed_overrides(&state.glass.entries, &entries);
        state.glass.entries = entries;
        let outcome = self.republish(&mut state, changed);
        let event = self.event(
            &state,
            reloaded,
            outcome.clone(),
            Vec::new(),
            Arc::new(sources),
            started,
        );
        (outcome, Some(event))
    }

    fn reject_glass(
        &self,
        state: &mut State,
        reloaded: Reloaded,
        attempt: u64,
        error: LoadError,
        sources: Arc<Sources>,
        started: Instant,
    ) -> (Reload, Option<ReloadEvent>) {
        if state.glass.rejected == Some(attempt) {
            return (Reload::Unchanged, None);
        }
        state.glass.rejected = Some(attempt);
        tracing::error!(
            error = %error,
            "break-glass override file rejected; the overrides in effect stay"
        );
        state.glass.error = Some(error.clone());
        let diagnostics = error.diagnostics();
        let outcome = Reload::Rejected(error);
        let event = self.event(
            state,
            reloaded,
            outcome.clone(),
            diagnostics,
            sources,
            started,
        );
        (outcome, Some(event))
    }

    /// Stops applying the break-glass overrides whose `until` has passed (the watcher calls
    /// it when one expires). Returns how long until the next one expires.
    pub fn expire_overrides(&self) -> Option<Duration> {
        let _serial = lock(&self.shared.reloading);
        let started = Instant::now();
        let now = jiff::Timestamp::now();
        let mut state = self.lock();
        let next = state
            .glass
            .entries
            .iter()
            .filter_map(|o| o.until)
            .filter(|&u| u > now)
            .min()
            .and_then(|u| Duration::try_from(u.duration_since(now)).ok());
        let active: Vec<String> = active_keys(&state.glass.entries, now);
        if active == state.glass.applied {
            return next;
        }
        let expired: Vec<String> = state
            .glass
            .applied
            .iter()
            .filter(|k| !active.contains(k))
            .cloned()
            .collect();
        for k in &expired {
            tracing::warn!(flag = k.as_str(), "break-glass override expired");
        }
        let outcome = self.republish(&mut state, expired);
        let path = state.glass.path.clone().unwrap_or_default();
        let event = self.event(
            &state,
            Reloaded::Overrides(path),
            outcome,
            Vec::new(),
            Arc::new(Sources::default()),
            started,
        );
        drop(state);
        self.notify(Some(event));
        next
    }

    /// A new generation with the same flag content (the overrides in effect changed).
    fn republish(&self, state: &mut State, changed: Vec<String>) -> Reload {
        state.generation += 1;
        self.publish(state);
        tracing::info!(
            generation = state.generation,
            changed = changed.len(),
            "break-glass overrides applied"
        );
        Reload::Swapped {
            generation: state.generation,
            changed,
        }
    }

    /// Forces flags (by ordinal) to values on top of the files, until cleared. Replaces any
    /// overrides set before. Values must have the flag's type (generated code guarantees it).
    pub fn set_overrides(&self, overrides: impl IntoIterator<Item = (usize, Value)>) {
        let mut state = self.lock();
        state.overrides = overrides
            .into_iter()
            .filter(|(i, _)| *i < self.shared.spec.flags.len())
            .collect();
        self.publish(&mut state);
    }

    /// Removes every override.
    pub fn clear_overrides(&self) {
        self.set_overrides([]);
    }

    /// Publishes `state.base` with the overrides applied, under `state.generation`.
    fn publish(&self, state: &mut State) {
        let now = jiff::Timestamp::now();
        state.glass.applied = active_keys(&state.glass.entries, now);
        let base = &state.base;
        if state.overrides.is_empty()
            && state.glass.applied.is_empty()
            && base.generation == state.generation
        {
            self.store(base.clone());
            return;
        }
        let mut typed: Option<Program> = None;
        let mut full: Option<Program> = None;
        for o in state.glass.entries.iter().filter(|o| o.active_at(now)) {
            if let Some(i) = self.shared.spec.ordinal(&o.key)
                && self.shared.spec.flags[i].1 == o.ty
            {
                let p = typed.get_or_insert_with(|| (*base.typed).clone());
                if let Some(f) = p.flags.get_mut(i) {
                    force(f, o.value.clone());
                }
            }
            if let Some(i) = base.full.flag_index(&o.key)
                && base.full.flags[i].ty == o.ty
            {
                let p = full.get_or_insert_with(|| (*base.full).clone());
                force(&mut p.flags[i], o.value.clone());
            }
        }
        for (&i, v) in &state.overrides {
            let p = typed.get_or_insert_with(|| (*base.typed).clone());
            if let Some(f) = p.flags.get_mut(i) {
                force(f, v.clone());
            }
        }
        let typed = typed.map_or_else(|| base.typed.clone(), Arc::new);
        let full = full.map_or_else(|| base.full.clone(), Arc::new);
        let live = base.derive(typed, full, state.generation);
        self.store(Arc::new(live));
    }

    /// Makes `snapshot` the live one: readers of [`Runtime::snapshot`] see it at once, and
    /// each thread's [`Runtime::with_snapshot`] cache on its next call.
    fn store(&self, snapshot: Arc<Snapshot>) {
        self.shared.current.store(snapshot);
        // After the store: a reader that sees the new stamp finds the new snapshot.
        self.shared.stamp.store(next_stamp(), Ordering::Release);
    }
}

/// A stamp no snapshot of any runtime in this process has had (a stamp, unlike an address,
/// is never reused, so a thread's cache cannot mistake a new runtime's snapshot for a
/// dropped one's).
fn next_stamp() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// How many runtimes' snapshots a thread caches (most services have one; tests and tools a
/// few).
const CACHED_RUNTIMES: usize = 4;

/// One runtime's snapshot in a thread's cache.
struct Cached {
    /// The runtime's id.
    runtime: u64,
    /// The stamp it was published under.
    stamp: u64,
    /// Its typed program, one pointer closer than through the snapshot.
    typed: Arc<Program>,
    snapshot: Arc<Snapshot>,
}

/// A thread's cached snapshots.
struct SnapshotCache {
    slots: [Option<Cached>; CACHED_RUNTIMES],
    /// The slot the next miss of a runtime not in the cache replaces.
    next: usize,
}

impl SnapshotCache {
    /// The snapshot of runtime `id` published under `stamp`, or a newer one loaded from
    /// `current`.
    ///
    /// The first slot is tested inline (a service with one runtime always hits it there);
    /// the others out of line, which keeps the accessors' hot path short.
    #[inline(always)]
    fn get(&mut self, id: u64, stamp: u64, current: &ArcSwap<Snapshot>) -> &Cached {
        let i = match &self.slots[0] {
            Some(c) if c.stamp == stamp => 0,
            _ => self.find(id, stamp, current),
        };
        match &self.slots[i] {
            Some(cached) => cached,
            None => unreachable!("slot {i} was just found or filled"),
        }
    }

    /// The slot of runtime `id`'s snapshot published under `stamp`, filled if missing.
    #[inline(never)]
    fn find(&mut self, id: u64, stamp: u64, current: &ArcSwap<Snapshot>) -> usize {
        let hit = self
            .slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|c| c.stamp == stamp));
        match hit {
            Some(i) => i,
            None => self.refill(id, stamp, current),
        }
    }

    /// Loads runtime `id`'s live snapshot into its slot (its older snapshot is let go), or
    /// for a runtime not in the cache, into the next slot in turn.
    #[cold]
    #[inline(never)]
    fn refill(&mut self, id: u64, stamp: u64, current: &ArcSwap<Snapshot>) -> usize {
        let i = self
            .slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|c| c.runtime == id))
            .unwrap_or_else(|| {
                let i = self.next;
                self.next = (self.next + 1) % CACHED_RUNTIMES;
                i
            });
        let snapshot = current.load_full();
        self.slots[i] = Some(Cached {
            runtime: id,
            stamp,
            typed: snapshot.typed.clone(),
            snapshot,
        });
        i
    }
}

thread_local! {
    static SNAPSHOTS: std::cell::RefCell<SnapshotCache> = const {
        std::cell::RefCell::new(SnapshotCache {
            slots: [None, None, None, None],
            next: 0,
        })
    };
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Keys of the entries in effect at `now`, sorted.
fn active_keys(entries: &[Override], now: jiff::Timestamp) -> Vec<String> {
    let mut keys: Vec<String> = entries
        .iter()
        .filter(|o| o.active_at(now))
        .map(|o| o.key.clone())
        .collect();
    keys.sort();
    keys
}

/// Keys whose forced value differs between two override sets.
fn changed_overrides(old: &[Override], new: &[Override]) -> Vec<String> {
    let find = |set: &[Override], k: &str| {
        set.iter()
            .find(|o| o.key == k)
            .map(|o| (o.value.clone(), o.until))
    };
    let mut keys: Vec<String> = old
        .iter()
        .chain(new)
        .map(|o| o.key.clone())
        .filter(|k| find(old, k) != find(new, k))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Makes a compiled flag always return `v`.
fn force(f: &mut CompiledFlag, v: Value) {
    f.rules.clear();
    f.default = v.clone();
    f.constant = Some(v);
}

/// Reads the directory: the files and the problems reading them.
fn read(dir: &Path) -> Result<(Sources, Diagnostics), LoadError> {
    let mut diags = Diagnostics::new();
    let sources = Sources::read_dir(dir, &mut diags).map_err(|e| LoadError::Io {
        dir: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok((sources, diags))
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
    let mut h = DefaultHasher::new();
    for f in &sources.files {
        f.path.hash(&mut h);
        f.text.hash(&mut h);
    }
    h.finish()
}

fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// Hashes what is written to it (a compiled flag's `Debug` form, without building a string).
struct HashWriter(DefaultHasher);

impl fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

fn fingerprint(flags: &[&CompiledFlag]) -> u64 {
    use fmt::Write as _;
    let mut w = HashWriter(DefaultHasher::new());
    for f in flags {
        // Writing to a hasher cannot fail.
        let _ = write!(w, "{f:?}");
    }
    w.0.finish()
}

/// Checks and compiles `sources` for `spec`; flags that do not fit keep `previous`'s
/// definition (or the embedded build-time one).
#[allow(clippy::too_many_arguments)]
fn build(
    spec: &Spec,
    statics: &[(String, String)],
    checker: bool,
    sources: Sources,
    read_diags: Diagnostics,
    previous: Option<&Snapshot>,
    origin: Origin,
    generation: u64,
) -> Built {
    let hash = content_hash(&sources);
    let files: BTreeMap<String, u64> = sources
        .files
        .iter()
        .map(|f| (f.path.clone(), hash_of(f.text.as_str())))
        .collect();
    // A service needs only the errors; tools (`flagc watch`) also show the cleanup notes.
    let checked = check_sources_with(sources, read_diags, &CheckOptions::default(), checker);
    let sources = Arc::new(checked.sources);
    let mut diagnostics = checked.diagnostics;
    let result = match checked.model {
        None => {
            diagnostics.retain(Diagnostic::is_error);
            Err(LoadError::invalid(&sources, diagnostics.clone()))
        }
        Some(model) => compile_snapshot(
            spec,
            statics,
            checker,
            &model,
            previous,
            Content {
                hash,
                files,
                origin,
            },
            generation,
        ),
    };
    if let Err(LoadError::Statics(_)) = &result {
        diagnostics = result
            .as_ref()
            .err()
            .map(LoadError::diagnostics)
            .unwrap_or_default();
    }
    Built {
        result,
        diagnostics,
        sources,
    }
}

/// What a snapshot is built from, besides the model.
struct Content {
    hash: u64,
    files: BTreeMap<String, u64>,
    origin: Origin,
}

#[allow(clippy::too_many_arguments)]
fn compile_snapshot(
    spec: &Spec,
    statics: &[(String, String)],
    checker: bool,
    model: &Model,
    previous: Option<&Snapshot>,
    content: Content,
    generation: u64,
) -> Result<Snapshot, LoadError> {
    // A flag's compiled definition depends only on its own file and the manifest (the
    // static values and the layout are fixed for the runtime's life).
    let reusable = |i: usize| -> Option<u64> {
        let prev = previous?;
        let file = &model.flags.get(i)?.loc.file;
        let same = |f: &str| {
            prev.files
                .get(f)
                .is_some_and(|h| content.files.get(f) == Some(h))
        };
        if !same(crate::source::MANIFEST) || !same(file) {
            return None;
        }
        let j = prev.full.flag_index(&model.flags[i].key)?;
        prev.fingerprints.get(j).copied()
    };
    let (full, fingerprints) = if checker {
        let combos = checker_statics(model, statics)?;
        let layout = Layout::of(&model.manifest);
        let programs: Vec<Program> = combos.iter().map(|s| compile(model, s, &layout)).collect();
        let Some(first) = programs.first() else {
            return Err(LoadError::Statics(
                "a static attribute has no values".into(),
            ));
        };
        let fingerprints = (0..first.flags.len())
            .map(|i| {
                reusable(i).unwrap_or_else(|| {
                    let all: Vec<&CompiledFlag> = programs.iter().map(|p| &p.flags[i]).collect();
                    fingerprint(&all)
                })
            })
            .collect();
        (first.clone(), fingerprints)
    } else {
        let st = Statics::from_pairs(
            &model.manifest,
            statics.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .map_err(statics_error)?;
        let full = compile(model, &st, &spec.layout);
        let fingerprints = full
            .flags
            .iter()
            .enumerate()
            .map(|(i, f)| reusable(i).unwrap_or_else(|| fingerprint(&[f])))
            .collect();
        (full, fingerprints)
    };
    let full = Arc::new(full);

    // The usual case: the files hold exactly the binary's flags, so the typed program is
    // the full one.
    let exact = !checker
        && full.flags.len() == spec.flags.len()
        && full
            .flags
            .iter()
            .zip(&spec.flags)
            .all(|(f, (k, ty))| *f.key == **k && f.ty == *ty);
    if exact {
        return Ok(Snapshot {
            typed: full.clone(),
            full,
            fingerprints,
            files: Arc::new(content.files),
            generation,
            hash: content.hash,
            origin: content.origin,
            loaded_at: SystemTime::now(),
            kept: Vec::new(),
        });
    }

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
        let old = match previous.filter(|p| p.typed.flags.len() == spec.flags.len()) {
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
        typed: Arc::new(typed),
        full,
        fingerprints,
        files: Arc::new(content.files),
        generation,
        hash: content.hash,
        origin: content.origin,
        loaded_at: SystemTime::now(),
        kept,
    })
}

/// The combinations a checker compiles: the given static values fixed, the others each.
fn checker_statics(model: &Model, statics: &[(String, String)]) -> Result<Vec<Statics>, LoadError> {
    let manifest = &model.manifest;
    if let Err(errors) = Statics::from_pairs(
        manifest,
        statics.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ) {
        let real: Vec<StaticsError> = errors
            .into_iter()
            .filter(|e| !matches!(e, StaticsError::Missing { .. }))
            .collect();
        if !real.is_empty() {
            return Err(statics_error(real));
        }
    }
    let fixed: Vec<(usize, u32)> = statics
        .iter()
        .filter_map(|(k, v)| {
            let i = manifest.static_index(k)?;
            let x = manifest.statics[i].values.iter().position(|x| x == v)?;
            Some((i, x as u32))
        })
        .collect();
    Ok(Statics::combinations(manifest)
        .filter(|s| fixed.iter().all(|&(i, x)| s.get(i) == Some(x)))
        .collect())
}

fn statics_error(errors: Vec<StaticsError>) -> LoadError {
    LoadError::Statics(
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    )
}

fn compile_embedded(spec: &Spec, statics: &[(String, String)]) -> Result<Program, LoadError> {
    let checked = check_sources_with(
        embedded_sources(spec),
        Diagnostics::new(),
        &CheckOptions::default(),
        false,
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

/// Keys whose compiled definition differs between two snapshots (all flags of the files):
/// a merge of the two key-sorted flag lists.
fn changed_flags(old: &Snapshot, new: &Snapshot) -> Vec<String> {
    let (a, b) = (&old.full.flags, &new.full.flags);
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    loop {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => match x.key.cmp(&y.key) {
                std::cmp::Ordering::Less => {
                    out.push(x.key.to_string());
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(y.key.to_string());
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    if old.fingerprints.get(i) != new.fingerprints.get(j) {
                        out.push(y.key.to_string());
                    }
                    i += 1;
                    j += 1;
                }
            },
            (Some(x), None) => {
                out.push(x.key.to_string());
                i += 1;
            }
            (None, Some(y)) => {
                out.push(y.key.to_string());
                j += 1;
            }
            (None, None) => return out,
        }
    }
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
    pub use memchr::memmem::Finder;
    pub use semver;
    pub use std::sync::LazyLock;

    pub use crate::bucket::pick;
    pub use crate::ir::{Pattern, StrSet};

    use crate::ir::Value;
    use crate::model::FlagType;

    /// Whether `tail` accepts what follows some occurrence of `finder`'s needle in `hay`
    /// (overlapping occurrences included): a lowered `matches` pattern's search.
    #[inline]
    pub fn any_after(hay: &str, finder: &Finder<'_>, tail: impl Fn(&[u8]) -> bool) -> bool {
        let (hay, n) = (hay.as_bytes(), finder.needle().len());
        let mut at = 0;
        while let Some(i) = hay.get(at..).and_then(|rest| finder.find(rest)) {
            if hay.get(at + i + n..).is_some_and(&tail) {
                return true;
            }
            at += i + 1;
        }
        false
    }

    /// Bucket of an integer's decimal form, without allocating.
    #[inline]
    pub fn bucket_int(salt: &[u8], n: i64) -> u32 {
        let mut buf = [0u8; 20];
        crate::bucket::bucket(salt, crate::eval::decimal(n, &mut buf))
    }

    /// The string values of static-mode code: one `static` table built without code (no
    /// closure per value), each value's `Arc` made on first use and shared after that.
    pub struct StaticStrs<const N: usize> {
        texts: [&'static str; N],
        arcs: [std::sync::OnceLock<std::sync::Arc<str>>; N],
    }

    impl<const N: usize> StaticStrs<N> {
        /// The values `texts`.
        pub const fn new(texts: [&'static str; N]) -> Self {
            StaticStrs {
                texts,
                arcs: [const { std::sync::OnceLock::new() }; N],
            }
        }

        /// Value number `k`, shared: a reference-count bump after the first call.
        ///
        /// # Panics
        ///
        /// If `k` is out of range, which generated code never asks.
        #[inline]
        pub fn get(&self, k: usize) -> std::sync::Arc<str> {
            std::sync::Arc::clone(self.arcs[k].get_or_init(|| std::sync::Arc::from(self.texts[k])))
        }
    }

    /// `v.cmp_precedence(major.minor.patch)` for a version without pre-release: what
    /// static-mode code compares with, without building the literal.
    #[inline]
    pub fn semver_cmp(
        v: &semver::Version,
        major: u64,
        minor: u64,
        patch: u64,
    ) -> std::cmp::Ordering {
        (v.major, v.minor, v.patch)
            .cmp(&(major, minor, patch))
            .then(if v.pre.is_empty() {
                std::cmp::Ordering::Equal
            } else {
                std::cmp::Ordering::Less
            })
    }

    /// A flag's type as the generated `spec()` writes it: data, not code.
    pub enum Ty {
        /// `bool`.
        Bool,
        /// `int`.
        Int,
        /// `float`.
        Float,
        /// `string`.
        Str,
        /// An enum with these variants.
        Enum(&'static [&'static str]),
    }

    /// The [`Spec`](super::Spec) of generated code: its flags as a table of keys and types.
    pub fn spec(
        flags: &[(&str, Ty)],
        layout: crate::ir::Layout,
        embedded: &'static [(&'static str, &'static str)],
    ) -> super::Spec {
        let ty = |t: &Ty| match t {
            Ty::Bool => FlagType::Bool,
            Ty::Int => FlagType::Int,
            Ty::Float => FlagType::Float,
            Ty::Str => FlagType::String,
            Ty::Enum(v) => FlagType::Enum(v.iter().map(|&s| s.to_owned()).collect()),
        };
        super::Spec {
            flags: flags
                .iter()
                .map(|(k, t)| ((*k).to_owned(), ty(t)))
                .collect(),
            layout,
            embedded,
        }
    }

    /// A value a typed override can force: the flag types, and each generated enum.
    pub trait Forced {
        /// As the runtime holds it.
        fn value(self) -> Value;
    }
    impl Forced for bool {
        fn value(self) -> Value {
            Value::Bool(self)
        }
    }
    impl Forced for i64 {
        fn value(self) -> Value {
            Value::Int(self)
        }
    }
    impl Forced for f64 {
        fn value(self) -> Value {
            Value::Float(self)
        }
    }
    impl Forced for String {
        fn value(self) -> Value {
            Value::Str(std::sync::Arc::from(self))
        }
    }

    /// Adds `(ordinal, v)` to `forced` when `v` is set: one line of `Overrides::apply`.
    pub fn force<T: Forced>(forced: &mut Vec<(usize, Value)>, ordinal: usize, v: Option<T>) {
        if let Some(v) = v {
            forced.push((ordinal, v.value()));
        }
    }

    /// A generated enum's `FromStr`: the value of `all` whose string in `strs` is `s`.
    pub fn parse<T: Copy>(
        s: &str,
        strs: &[&str],
        all: &[T],
        expected: &'static str,
    ) -> Result<T, super::ValueError> {
        match strs.iter().position(|v| *v == s).and_then(|i| all.get(i)) {
            Some(v) => Ok(*v),
            None => Err(super::ValueError {
                input: s.to_owned(),
                expected,
                reason: "unknown value".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::__private::{StaticStrs, semver_cmp};
    use semver::Version;

    #[test]
    fn semver_cmp_is_precedence_against_a_plain_version() {
        let vs = [
            "0.9.9",
            "1.0.0",
            "1.0.0-rc.1",
            "1.0.1",
            "1.1.0",
            "2.0.0",
            "1.0.0+build.7",
            "1.0.1-alpha",
            "0.0.0",
        ];
        for a in vs {
            let a = Version::parse(a).expect("a version");
            for b in vs {
                let b = Version::parse(b).expect("a version");
                if !b.pre.is_empty() {
                    continue;
                }
                assert_eq!(
                    semver_cmp(&a, b.major, b.minor, b.patch),
                    a.cmp_precedence(&b),
                    "{a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn static_strs_share_one_arc_per_value() {
        static S: StaticStrs<2> = StaticStrs::new(["a", "bc"]);
        assert_eq!(&*S.get(1), "bc");
        assert_eq!(&*S.get(0), "a");
        assert!(std::sync::Arc::ptr_eq(&S.get(1), &S.get(1)));
    }
}
