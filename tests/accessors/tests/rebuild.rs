//! Cargo re-expands `flags!` when the flag directory changes, on stable Rust.
//!
//! A throwaway crate (path dependencies on this workspace, `--offline`, a target directory
//! shared between runs so dependencies build once) is set up with `flagc init`, built and
//! run; then a flag file is edited, broken, added and deleted, and each rebuild's output (or
//! compile error) shows the macro saw the change. Edits and deletions are tracked by the
//! expansion's `include_str!`s; an added file only through the `build.rs` that `flagc init`
//! writes (`cargo:rerun-if-changed=flags`: cargo scans the directory recursively) — the same
//! crate without it keeps serving the stale expansion, which the last test shows.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

const MAIN: &str = r#"flags_macros::flags!("flags", env = "production");

fn main() {
    let flags = flags::load("", flags::Statics { env: flags::Env::Production }).expect("statics");
    let keys: Vec<String> = flags::spec().flags.into_iter().map(|(k, _)| k).collect();
    let size = flags.page_size(&flags::Context::new());
    println!("keys={} page_size={size}", keys.join(","));
}
"#;

const PAGE_SIZE: &str = r#"[page_size]
description = "Results per page"
owner = "search"
permanent = true
default = 20
"#;

const EXTRA: &str = r#"[dark_mode]
description = "Dark theme"
owner = "web"
permanent = true
default = false
"#;

/// Shared by every run of this test, so the dependencies are compiled once.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("rebuild-probe-target")
}

struct Probe {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Probe {
    /// A crate named `name` with `flagc init flags [extra args]` and `MAIN`.
    fn new(name: &str, init_args: &[&str]) -> Probe {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().to_path_buf();
        let ws = fs::canonicalize(WORKSPACE).expect("the workspace");
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nflagc = {{ path = {flagc:?} }}\nflags-macros = {{ path = {macros:?} }}\n\n\
             [workspace]\n",
            flagc = ws.join("flagc"),
            macros = ws.join("flags-macros"),
        );
        fs::write(root.join("Cargo.toml"), manifest).expect("Cargo.toml");
        // The workspace's lock file: the same dependency versions, all available offline.
        fs::copy(ws.join("Cargo.lock"), root.join("Cargo.lock")).expect("Cargo.lock");
        fs::create_dir_all(root.join("src")).expect("src/");
        fs::write(root.join("src/main.rs"), MAIN).expect("main.rs");

        let init = Command::new(env!("CARGO_BIN_EXE_flagc-cli"))
            .args(["init", "flags"])
            .args(init_args)
            .current_dir(&root)
            .output()
            .expect("run flagc init");
        assert!(init.status.success(), "{}", text(&init.stderr));
        // Our own flag file instead of the starter one.
        fs::remove_file(root.join("flags/release.toml")).expect("remove the starter flags");
        let probe = Probe { _tmp: tmp, root };
        probe.write("flags/search.toml", PAGE_SIZE);
        probe
    }

    fn write(&self, rel: &str, content: &str) {
        // Mtimes must move past the last build even on coarse-grained filesystems.
        std::thread::sleep(Duration::from_millis(1_100));
        fs::write(self.root.join(rel), content).expect("write a flag file");
    }

    fn remove(&self, rel: &str) {
        std::thread::sleep(Duration::from_millis(1_100));
        fs::remove_file(self.root.join(rel)).expect("remove a flag file");
    }

    fn cargo(&self, args: &[&str]) -> Output {
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(args)
            .args(["--offline", "--quiet"])
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", target_dir())
            .env("CARGO_TERM_COLOR", "never")
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .expect("run cargo")
    }

    /// Builds and runs the probe; its one line of output.
    fn run(&self) -> String {
        let out = self.cargo(&["run"]);
        assert!(
            out.status.success(),
            "the probe failed to build or run:\n{}",
            text(&out.stderr)
        );
        text(&out.stdout).trim().to_owned()
    }

    /// Builds the probe, which must fail; the compiler's messages.
    fn fail(&self) -> String {
        let out = self.cargo(&["build"]);
        assert!(
            !out.status.success(),
            "the probe built:\n{}",
            text(&out.stderr)
        );
        text(&out.stderr)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn edits_additions_and_deletions_re_expand_the_macro() {
    let p = Probe::new("rebuild-probe", &[]);
    let build_rs = fs::read_to_string(p.root.join("build.rs")).expect("flagc init wrote build.rs");
    assert!(
        build_rs.contains("println!(\"cargo:rerun-if-changed=flags\");"),
        "{build_rs}"
    );

    assert_eq!(p.run(), "keys=page_size page_size=20");

    // An edit: the file is `include_str!`d.
    p.write("flags/search.toml", &PAGE_SIZE.replace("20", "50"));
    assert_eq!(p.run(), "keys=page_size page_size=50");

    // A broken edit: the compile error points into the flag file.
    p.write(
        "flags/search.toml",
        &PAGE_SIZE.replace("default = 20", "default = \"many\"\ntype = \"int\""),
    );
    let errors = p.fail();
    assert!(errors.contains("flags/search.toml:5:"), "{errors}");
    p.write("flags/search.toml", &PAGE_SIZE.replace("20", "60"));
    assert_eq!(p.run(), "keys=page_size page_size=60");

    // A new file, in a new subdirectory: seen through build.rs.
    fs::create_dir_all(p.root.join("flags/web")).expect("mkdir");
    p.write("flags/web/ui.toml", EXTRA);
    assert_eq!(p.run(), "keys=dark_mode,page_size page_size=60");

    // A deletion: the `include_str!` of a missing file forces the re-expansion.
    p.remove("flags/web/ui.toml");
    assert_eq!(p.run(), "keys=page_size page_size=60");
}

/// Why `flagc init` writes `build.rs`: without it, cargo does not notice a new flag file
/// (a proc macro cannot declare a directory as an input on stable Rust).
#[test]
fn without_build_rs_an_added_file_goes_unnoticed() {
    let p = Probe::new("rebuild-probe-no-build-rs", &["--no-build-rs"]);
    assert!(!p.root.join("build.rs").exists());
    assert_eq!(p.run(), "keys=page_size page_size=20");
    p.write("flags/ui.toml", EXTRA);
    assert_eq!(
        p.run(),
        "keys=page_size page_size=20",
        "cargo re-expanded `flags!` for a new file without build.rs: \
         if cargo now tracks directories read by proc macros, build.rs is no longer needed"
    );
    // Any tracked change brings the new file in.
    p.write("flags/search.toml", PAGE_SIZE);
    assert_eq!(p.run(), "keys=dark_mode,page_size page_size=20");
}
