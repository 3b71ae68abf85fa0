//! The `flagc diff` benchmark repository (BENCHMARKS.md, "Diff (issue 6)"): 10,000 flags in
//! 100 files, committed, and a working-tree change to 100 of them, one per file (so every
//! file differs and every changed flag is compiled in every static combination).
//!
//! Ignored by default. Build the repository and time the binary once:
//!
//! ```sh
//! FLAGC_BENCH_REPO=/tmp/flagc-bench cargo test --release -p flagc-cli --test diff_bench -- --ignored --nocapture
//! cd /tmp/flagc-bench && hyperfine -N --warmup 3 --runs 30 '<target>/release/flagc diff main flags --format markdown'
//! ```

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const FILES: usize = 100;
const PER_FILE: usize = 100;

const MANIFEST: &str = r#"format = 1

[static]
env = ["development", "staging", "production"]
region = ["eu", "us"]

[context]
user_id = "string"
email = "string"
country = "string"
plan = ["free", "pro", "enterprise"]

[rollout]
by = "user_id"

[segments]
internal = { email = { ends_with = "@example.com" } }
"#;

fn flag_file(file: usize, changed: Option<usize>) -> String {
    let mut out = String::new();
    for i in 0..PER_FILE {
        let key = format!("flag_{file:03}_{i:03}");
        let pct = if changed == Some(i) { 50 } else { 25 };
        let _ = write!(
            out,
            "[{key}]\ndescription = \"Flag {key}\"\nowner = \"team-{}\"\nexpires = 2027-03-01\ndefault = false\n\n\
             [[{key}.rules]]\nwhen = {{ env = \"development\" }}\nvalue = true\n\n\
             [[{key}.rules]]\nwhen = {{ segment = \"internal\" }}\nvalue = true\n\n\
             [[{key}.rules]]\nwhen = {{ env = \"production\", country = [\"US\", \"CA\"] }}\nrollout = {pct}\n\n",
            file % 7
        );
    }
    out
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("`git` must be installed");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "builds a 10,000-flag repository and times flagc diff; see BENCHMARKS.md"]
fn ten_thousand_flags_hundred_changed() {
    let kept = std::env::var_os("FLAGC_BENCH_REPO");
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = kept.as_deref().map_or(tmp.path(), Path::new).to_path_buf();
    if dir.exists() && kept.is_some() {
        fs::remove_dir_all(&dir).expect("clear the old benchmark repository");
    }
    fs::create_dir_all(dir.join("flags")).expect("mkdir");
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["config", "user.name", "bench"]);
    git(&dir, &["config", "user.email", "bench@example.invalid"]);
    fs::write(dir.join("flags/flagc.toml"), MANIFEST).expect("write");
    for f in 0..FILES {
        fs::write(dir.join(format!("flags/f{f:03}.toml")), flag_file(f, None)).expect("write");
    }
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "10,000 flags"]);
    // One flag per file goes from 25 % to 50 % in production.
    for f in 0..FILES {
        let changed = Some((f * 7) % PER_FILE);
        fs::write(
            dir.join(format!("flags/f{f:03}.toml")),
            flag_file(f, changed),
        )
        .expect("write");
    }

    let mut times: Vec<Duration> = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_flagc"))
            .args(["diff", "main", "flags", "--format", "json"])
            .current_dir(&dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("flagc runs");
        times.push(start.elapsed());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        last = Some(out.stdout);
    }
    let diff: serde_json::Value = serde_json::from_slice(&last.unwrap_or_default()).expect("JSON");
    assert_eq!(diff["summary"]["changed"], 100);
    assert_eq!(diff["summary"]["unchanged"], 9_900);
    times.sort();
    println!(
        "flagc diff, 10,000 flags, 100 changed: median {:?} (min {:?}, max {:?}) in {}",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        dir.display()
    );
}
