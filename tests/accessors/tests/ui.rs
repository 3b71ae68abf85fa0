//! UI tests of `flags!`: what a user sees when flag code is wrong, as `.stderr` snapshots
//! (`TRYBUILD=overwrite cargo test -p flagc-accessor-tests --test ui` to update them).
//!
//! trybuild compiles each case in its own project under `target/tests/trybuild/`, where
//! `CARGO_MANIFEST_DIR` is that project's directory; the fixtures' flag directories (in
//! `tests/ui/flags/`) are linked into it as `ui/`, so the cases name them `ui/flags/…`,
//! relative to the crate root as usual.

use std::path::{Path, PathBuf};

/// The trybuild project directory for this package (trybuild's own layout).
#[cfg(unix)]
fn trybuild_project() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory");
    target
        .join("tests")
        .join("trybuild")
        .join(env!("CARGO_PKG_NAME"))
}

#[cfg(unix)]
fn link_fixtures() {
    let project = trybuild_project();
    std::fs::create_dir_all(&project).expect("create the trybuild project directory");
    let link = project.join("ui");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("ui");
    if std::fs::read_link(&link).ok().as_deref() != Some(fixtures.as_path()) {
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_dir_all(&link);
        std::os::unix::fs::symlink(&fixtures, &link).expect("link the UI fixtures");
    }
}

// The fixtures are linked with a symlink.
#[cfg(unix)]
#[test]
fn ui() {
    link_fixtures();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
