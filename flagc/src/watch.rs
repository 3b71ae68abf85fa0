//! Hot reload: a thread that watches the flag directory (and the break-glass override file)
//! and reloads a [`Runtime`] whenever something changes, and on a periodic re-scan.
//!
//! Events come from `notify` through `notify-debouncer-full` (which passes notify's "rescan"
//! signal on, e.g. after an inotify queue overflow). Every change event counts, dot-entries
//! included (a Kubernetes ConfigMap update is a rename of `..data`); only access events
//! (opens and reads, our own included) are ignored. An event never says *what* to reload:
//! the whole directory is re-read, and the runtime skips content it has already seen.
//!
//! Directories are watched, never files, so that rename-saves and atomic swaps are seen:
//! the flag directory recursively; its nearest existing ancestor (normally its parent), so
//! that the directory being deleted and recreated (a git checkout) or renamed into place is
//! seen; and the parent of every symlink on the way (git-sync's `current` link). After a
//! change that touches a watched directory itself, its watch is set up again: an inotify
//! watch follows an inode, not a path.
//!
//! **Invariant:** the watcher thread never panics out: a panic while reloading is caught,
//! logged, and the thread goes on. Dropping the [`WatchGuard`] stops it and waits for it.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use crate::runtime::Runtime;

/// How long the debouncer waits after an event before handing it on, by default.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(100);

/// How often the directory is re-read without any event, by default (for filesystems that
/// send no events: some network and FUSE filesystems).
pub const DEFAULT_RESCAN: Duration = Duration::from_secs(30);

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// The debounce window: events are handed on this long after they happen, duplicates
    /// merged, and every event already waiting is coalesced into one reload.
    pub debounce: Duration,
    /// Re-read everything this often even without events; `None` never.
    pub rescan: Option<Duration>,
    /// The break-glass override file (outside git), watched like the flag directory.
    pub overrides: Option<PathBuf>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: DEFAULT_DEBOUNCE,
            rescan: Some(DEFAULT_RESCAN),
            overrides: None,
        }
    }
}

impl WatchOptions {
    /// Sets the debounce window.
    #[must_use]
    pub fn debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// Sets the periodic re-scan (`None`: never).
    #[must_use]
    pub fn rescan(mut self, every: Option<Duration>) -> Self {
        self.rescan = every;
        self
    }

    /// Sets the break-glass override file.
    #[must_use]
    pub fn overrides(mut self, file: impl Into<PathBuf>) -> Self {
        self.overrides = Some(file.into());
        self
    }
}

/// Why watching could not start.
#[derive(Debug)]
pub enum WatchError {
    /// The runtime serves the flags embedded at build time: it has no directory.
    NoDirectory,
    /// The file watcher could not be created.
    Notify(String),
    /// The watcher thread could not be started.
    Thread(std::io::Error),
}

impl fmt::Display for WatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchError::NoDirectory => {
                write!(f, "this runtime has no flag directory to watch")
            }
            WatchError::Notify(m) => write!(f, "cannot watch the flag directory: {m}"),
            WatchError::Thread(e) => write!(f, "cannot start the watcher thread: {e}"),
        }
    }
}

impl std::error::Error for WatchError {}

/// Keeps the watcher running; dropping it (or [`stop`](WatchGuard::stop)) stops the watcher
/// thread and waits for it (at most one reload and one debounce tick).
#[derive(Debug)]
pub struct WatchGuard {
    tx: Option<mpsc::Sender<Msg>>,
    thread: Option<JoinHandle<()>>,
}

impl WatchGuard {
    /// Stops watching and waits for the watcher thread to end.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Stop);
        }
        if let Some(t) = self.thread.take() {
            // Dropped from a reload listener, on the watcher thread itself: it ends by itself.
            if t.thread().id() != thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Runtime {
    /// Watches the flag directory (and `options.overrides`) on a thread of its own, reloading
    /// on every change and every `options.rescan`, until the guard is dropped. The directory
    /// and the override file are read once before this returns, so the runtime is current.
    pub fn watch(&self, options: WatchOptions) -> Result<WatchGuard, WatchError> {
        let dir = self.dir().ok_or(WatchError::NoDirectory)?.to_path_buf();
        let rt = self.clone();
        let file = options.overrides.clone();
        let targets = Targets {
            dir: absolute(&dir),
            file: file.as_deref().map(absolute),
        };
        spawn(targets, &options, move |change| {
            if change.flags {
                rt.reload();
            }
            if let (true, Some(f)) = (change.overrides, &file) {
                rt.reload_overrides(f);
            }
            // A little late rather than early, so the override has expired when we look.
            rt.expire_overrides().map(|d| d + Duration::from_millis(5))
        })
    }
}

enum Msg {
    Events(DebounceEventResult),
    Stop,
}

/// What to watch: absolute paths.
struct Targets {
    dir: PathBuf,
    file: Option<PathBuf>,
}

/// What a batch of events calls for.
#[derive(Debug, Clone, Copy, Default)]
struct Change {
    flags: bool,
    overrides: bool,
}

impl Change {
    const ALL: Change = Change {
        flags: true,
        overrides: true,
    };
}

/// Sets up the watches, calls `on_change` once for everything, then on a thread for each
/// change. `on_change` returns how long until it wants to be called again at the latest.
fn spawn(
    targets: Targets,
    options: &WatchOptions,
    mut on_change: impl FnMut(Change) -> Option<Duration> + Send + 'static,
) -> Result<WatchGuard, WatchError> {
    let (tx, rx) = mpsc::channel();
    let events = tx.clone();
    // The debouncer ticks every quarter of its timeout; keep the tick above a millisecond.
    let debounce = options.debounce.max(Duration::from_millis(4));
    let debouncer = new_debouncer(debounce, None, move |r: DebounceEventResult| {
        let _ = events.send(Msg::Events(r));
    })
    .map_err(|e| WatchError::Notify(e.to_string()))?;
    let mut watches = Watches {
        debouncer,
        targets,
        active: BTreeMap::new(),
    };
    watches.ensure();
    let wake = guarded(&mut on_change, Change::ALL);
    let rescan = options.rescan;
    let thread = thread::Builder::new()
        .name("flagc-watch".into())
        .spawn(move || run(rx, watches, on_change, rescan, wake))
        .map_err(WatchError::Thread)?;
    Ok(WatchGuard {
        tx: Some(tx),
        thread: Some(thread),
    })
}

/// Calls `on_change`, catching a panic (logged; the watcher goes on).
fn guarded(
    on_change: &mut impl FnMut(Change) -> Option<Duration>,
    change: Change,
) -> Option<Instant> {
    match catch_unwind(AssertUnwindSafe(|| on_change(change))) {
        Ok(wake) => wake.map(|d| Instant::now() + d),
        Err(_) => {
            tracing::error!("flag reload panicked; the last good flags stay live");
            None
        }
    }
}

fn run(
    rx: mpsc::Receiver<Msg>,
    mut watches: Watches,
    mut on_change: impl FnMut(Change) -> Option<Duration>,
    rescan: Option<Duration>,
    mut wake: Option<Instant>,
) {
    let mut next_rescan = rescan.map(|d| Instant::now() + d);
    'watching: loop {
        let deadline = [next_rescan, wake].into_iter().flatten().min();
        let first = match deadline {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let mut change = Change::default();
        let mut expiring = false;
        match first {
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(Msg::Events(r)) => watches.classify(r, &mut change),
            Err(RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                if next_rescan.is_some_and(|t| t <= now) {
                    change = Change::ALL;
                    next_rescan = rescan.map(|d| now + d);
                }
                expiring = wake.is_some_and(|t| t <= now);
            }
        }
        // Everything already waiting goes into the same reload.
        loop {
            match rx.try_recv() {
                Ok(Msg::Events(r)) => watches.classify(r, &mut change),
                Ok(Msg::Stop) | Err(TryRecvError::Disconnected) => break 'watching,
                Err(TryRecvError::Empty) => break,
            }
        }
        if change.flags || change.overrides || expiring {
            watches.ensure();
            wake = guarded(&mut on_change, change);
        }
    }
    // Waits for the debouncer's thread (one tick).
    watches.debouncer.stop();
}

/// The watches in place, kept in line with the targets.
struct Watches {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    targets: Targets,
    /// Watched directories: how, and which directory (an inode) the path named then.
    active: BTreeMap<PathBuf, (RecursiveMode, Option<Identity>)>,
}

impl Watches {
    /// Which directories should be watched now.
    fn desired(&self) -> BTreeMap<PathBuf, RecursiveMode> {
        let mut want = BTreeMap::new();
        let mut add = |p: &Path, mode: RecursiveMode| {
            let m = want.entry(p.to_path_buf()).or_insert(mode);
            if mode == RecursiveMode::Recursive {
                *m = mode;
            }
        };
        let dir = &self.targets.dir;
        if dir.is_dir() {
            add(dir, RecursiveMode::Recursive);
        }
        let mut around = vec![dir.as_path()];
        if let Some(file_dir) = self.targets.file.as_deref().and_then(Path::parent) {
            // The override file's own directory: a rename-save of the file, or its
            // ConfigMap's `..data` swap.
            if file_dir.is_dir() {
                add(file_dir, RecursiveMode::NonRecursive);
            }
            around.push(file_dir);
        }
        for d in around {
            // Where the directory would appear if it is (re)created: its nearest existing
            // ancestor, normally its parent.
            if let Some(anchor) = d.ancestors().skip(1).find(|a| a.is_dir()) {
                add(anchor, RecursiveMode::NonRecursive);
            }
            // A symlink on the way (git-sync's `current`) is swapped in its parent.
            for a in d.ancestors() {
                if a.symlink_metadata()
                    .is_ok_and(|m| m.file_type().is_symlink())
                    && let Some(parent) = a.parent().filter(|p| p.is_dir())
                {
                    add(parent, RecursiveMode::NonRecursive);
                }
            }
        }
        want
    }

    /// Sets up missing or outdated watches and removes unneeded ones. Problems are logged;
    /// the next change or re-scan tries again.
    fn ensure(&mut self) {
        let want = self.desired();
        let gone: Vec<PathBuf> = self
            .active
            .keys()
            .filter(|p| !want.contains_key(*p))
            .cloned()
            .collect();
        for p in gone {
            let _ = self.debouncer.unwatch(&p);
            self.active.remove(&p);
        }
        for (p, mode) in want {
            let now = (mode, Identity::of(&p));
            if self.active.get(&p) == Some(&now) {
                continue;
            }
            if self.active.remove(&p).is_some() {
                let _ = self.debouncer.unwatch(&p);
            }
            match self.debouncer.watch(&p, mode) {
                Ok(()) => {
                    self.active.insert(p, now);
                }
                Err(e) => tracing::warn!(
                    path = %p.display(),
                    error = %e,
                    "cannot watch; relying on the periodic re-scan until it can"
                ),
            }
        }
    }

    /// Notes what a batch of events calls for, and which watches it made stale.
    fn classify(&mut self, result: DebounceEventResult, change: &mut Change) {
        let events = match result {
            Ok(events) => events,
            Err(errors) => {
                for e in errors {
                    tracing::warn!(error = %e, "file watcher error; re-reading everything");
                }
                *change = Change::ALL;
                return;
            }
        };
        for e in events {
            if e.need_rescan() || e.paths.is_empty() {
                *change = Change::ALL;
                continue;
            }
            match e.kind {
                // Opens and reads (our own included) change nothing.
                EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
                EventKind::Access(_) => continue,
                // A watched directory (or one above it) removed, renamed or created: its
                // watch, if any, follows the old inode; set it up again.
                EventKind::Remove(_) | EventKind::Create(_) | EventKind::Modify(_) => {
                    let structural = matches!(
                        e.kind,
                        EventKind::Remove(_)
                            | EventKind::Create(_)
                            | EventKind::Modify(notify::event::ModifyKind::Name(_))
                    );
                    if structural {
                        for p in &e.paths {
                            self.active.retain(|watched, _| !watched.starts_with(p));
                        }
                    }
                }
                _ => {}
            }
            for p in &e.paths {
                let dir = &self.targets.dir;
                if p.starts_with(dir) || dir.starts_with(p) {
                    change.flags = true;
                }
                if let Some(file) = &self.targets.file
                    && (file.starts_with(p) || p.parent() == file.parent())
                {
                    change.overrides = true;
                }
            }
        }
    }
}

/// Which directory a path names now (device and inode, following symlinks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity(u64, u64);

impl Identity {
    #[cfg(unix)]
    fn of(p: &Path) -> Option<Identity> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p)
            .ok()
            .map(|m| Identity(m.dev(), m.ino()))
    }

    #[cfg(not(unix))]
    fn of(p: &Path) -> Option<Identity> {
        // No inode: the resolved path stands in (a symlink swap changes it).
        std::fs::canonicalize(p).ok().map(|c| {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            c.hash(&mut h);
            Identity(0, h.finish())
        })
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
