//! A flag directory on disk, a runtime built for it, and waiting on reload events (never on
//! sleeps) for the hot-reload tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use flagc::eval::Context;
use flagc::ir::Value;
use flagc::runtime::{ReloadEvent, Runtime, Spec};
use flagc::watch::WatchOptions;

/// How long any one wait may take before the test fails; generous for loaded CI machines,
/// never spent when things work.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub const MANIFEST: &str = "format = 1\n\n[static]\nenv = [\"dev\", \"prod\"]\n\n\
                            [context]\nuser_id = \"string\"\n";

/// A flag file defining int flags `key = default`, permanent, no rules.
pub fn ints(flags: &[(&str, i64)]) -> String {
    flags.iter().map(|(k, v)| flag(k, &v.to_string())).collect()
}

/// One permanent flag with a default literal.
pub fn flag(key: &str, default: &str) -> String {
    format!(
        "[{key}]\ndescription = \"The {key} flag\"\nowner = \"tests\"\npermanent = true\ndefault = {default}\n\n"
    )
}

/// The test's flag directory and the runtime serving it.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub rt: Runtime,
    pub events: Receiver<ReloadEvent>,
}

/// Options for tests: a short debounce, no periodic re-scan unless asked.
pub fn options() -> WatchOptions {
    WatchOptions::default()
        .debounce(Duration::from_millis(50))
        .rescan(None)
}

impl Fixture {
    /// `flags/` holding the manifest and `files`, loaded for env=prod with the spec of what
    /// it holds now (as a binary built from it would be).
    pub fn new(files: &[(&str, &str)]) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("flags");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("flagc.toml"), MANIFEST).unwrap();
        for (name, text) in files {
            fs::write(dir.join(name), text).unwrap();
        }
        Fixture::at(tmp, dir)
    }

    /// A runtime for a directory already laid out.
    pub fn at(tmp: tempfile::TempDir, dir: PathBuf) -> Fixture {
        let rt = runtime(&dir);
        let events = rt.subscribe();
        Fixture {
            tmp,
            dir,
            rt,
            events,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The value of the spec's flag `key` in the live snapshot.
    pub fn value(&self, key: &str) -> Value {
        value(&self.rt, key)
    }

    /// Waits until the live value of `key` is `want`, on reload events; returns the events
    /// seen on the way.
    pub fn wait_value(&self, key: &str, want: Value) -> Vec<ReloadEvent> {
        self.wait_for(|rt, _| value(rt, key) == want, &format!("{key} = {want:?}"))
    }

    /// Waits until an event satisfies `pred`; returns the events seen, that one last.
    pub fn wait_event(&self, what: &str, pred: impl Fn(&ReloadEvent) -> bool) -> Vec<ReloadEvent> {
        self.wait_for(|_, e| e.is_some_and(&pred), what)
    }

    /// Waits until `done(rt, latest event)` holds, checking first and after every event.
    pub fn wait_for(
        &self,
        done: impl Fn(&Runtime, Option<&ReloadEvent>) -> bool,
        what: &str,
    ) -> Vec<ReloadEvent> {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        if done(&self.rt, None) {
            return seen;
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(e) => {
                    let hit = done(&self.rt, Some(&e));
                    seen.push(e);
                    if hit {
                        return seen;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "timed out waiting for {what}; events seen: {:#?}; status: {:#?}",
                    seen.iter()
                        .map(|e| (&e.outcome, e.generation))
                        .collect::<Vec<_>>(),
                    self.rt.status()
                ),
            }
        }
    }

    /// Every event that arrives within `quiet` (for checking that nothing else happens).
    pub fn drain(&self, quiet: Duration) -> Vec<ReloadEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.recv_timeout(quiet) {
            out.push(e);
        }
        out
    }
}

/// A runtime for `dir` (env=prod), with the spec of what it holds now.
pub fn runtime(dir: &Path) -> Runtime {
    let checked = flagc::check_dir(dir, &flagc::CheckOptions::default()).unwrap();
    let model = checked
        .model
        .unwrap_or_else(|| panic!("fixture is invalid: {:#?}", checked.diagnostics));
    let spec = Spec::of(&model, &[]);
    Runtime::load(dir, spec, vec![("env".into(), "prod".into())]).unwrap()
}

/// The value of the spec's flag `key` in the live snapshot, for an empty context.
pub fn value(rt: &Runtime, key: &str) -> Value {
    let ordinal = rt
        .spec()
        .flags
        .iter()
        .position(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no flag {key} in the spec"));
    let layout = &rt.spec().layout;
    let ctx = Context::new(layout);
    rt.snapshot().eval(ordinal, &ctx).value.clone()
}

/// Writes `text` to `path` as most tools do: to a temporary file next to it, then a rename.
pub fn rename_save(path: &Path, text: &str) {
    let name = path.file_name().unwrap().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, path).unwrap();
}

/// Kubernetes' ConfigMap volume layout: timestamped directories, `..data` pointing at the
/// current one, and top-level symlinks through `..data`. An update writes a new directory,
/// points `..data_tmp` at it and renames it over `..data` (atomic), then deletes the old one.
pub struct ConfigMap {
    pub dir: PathBuf,
    pub version: u32,
}

impl ConfigMap {
    pub fn create(dir: &Path, files: &[(&str, String)]) -> ConfigMap {
        fs::create_dir_all(dir).unwrap();
        let mut cm = ConfigMap {
            dir: dir.to_path_buf(),
            version: 0,
        };
        cm.update(files);
        for (name, _) in files {
            symlink(format!("..data/{name}"), dir.join(name)).unwrap();
        }
        cm
    }

    fn stamp(version: u32) -> String {
        format!(
            "..2026_05_04_10_{:02}_{:02}.{version:09}",
            version / 60 % 60,
            version % 60
        )
    }

    pub fn update(&mut self, files: &[(&str, String)]) {
        let old = (self.version > 0).then(|| self.dir.join(Self::stamp(self.version)));
        self.version += 1;
        let stamp = Self::stamp(self.version);
        let new = self.dir.join(&stamp);
        fs::create_dir(&new).unwrap();
        for (name, text) in files {
            fs::write(new.join(name), text).unwrap();
        }
        let tmp = self.dir.join("..data_tmp");
        symlink(&stamp, &tmp).unwrap();
        fs::rename(&tmp, self.dir.join("..data")).unwrap();
        if let Some(old) = old {
            fs::remove_dir_all(old).unwrap();
        }
    }
}
