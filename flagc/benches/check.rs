//! Checking benchmark (BENCHMARKS.md, "Checking (issue 2)"): `check_dir` over a generated
//! directory of 10,000 flags in 1,000 files: bool, enum, int, float and string flags with
//! rules on every attribute type, segments, rollouts (bare, per variant, with `by`), ids,
//! sub-tables and comments, as a large service's flag tree would hold.
//!
//! Run: `cargo bench -p flagc --bench check`; on a busy machine also
//! `FLAGC_BENCH_MIN=1 cargo bench -p flagc --bench check` (see `min_mode`).
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use flagc::model::Date;
use flagc::{CheckOptions, check_dir};

const FILES: usize = 1_000;
const FLAGS_PER_FILE: usize = 10;

const MANIFEST: &str = r#"#:schema ./.flagc/manifest.schema.json
format = 1

[static]
env = ["development", "staging", "production"]
region = ["eu", "us"]

[context]
user_id = "string"
account_id = "int"
email = "string"
country = "string"
plan = ["free", "plus", "business", "enterprise"]
platform = ["web", "ios", "android"]
app_version = "semver"
employee = "bool"
account_age_days = "int"
cart_total = "float"
risk_score = "float"
signup = "datetime"
groups = "string[]"

[rollout]
by = "user_id"

[segments]
internal = { email = { ends_with = ["@shopco.example", "@contractors.shopco.example"] } }
staff = { segment = "internal", employee = true }
beta_testers = { groups = ["beta", "early_access"] }
eu_shoppers = { country = ["AT", "BE", "DE", "ES", "FR", "IE", "IT", "NL", "PL", "PT", "SE"] }
new_big_spenders = { account_age_days = { lt = 30 }, cart_total = { gte = 500 } }
"#;

/// One flag of kind `i % 5`, keyed uniquely by file and position.
fn flag(out: &mut String, file: usize, i: usize) {
    let key = format!("team{file:04}_flag{i}");
    let team = format!("team-{}", file % 37);
    let month = 1 + (file + i) % 12;
    let _ = match i % 5 {
        0 => write!(
            out,
            r#"
[{key}]
description = "Bool release flag {file}/{i}: one-page checkout variant for the web and apps"
owner = "{team}"
expires = 2031-{month:02}-28
default = false

[[{key}.rules]]
id = "dev"
when = {{ env = "development" }}
value = true

[[{key}.rules]]
id = "dogfood"
when = {{ segment = ["staff", "beta_testers"] }}
value = true

[[{key}.rules]]
when = {{ env = "production", country = ["US", "CA", "MX"], app_version = {{ gte = "4.{i}.0", lt = "6.0.0" }} }}
rollout = {rollout}

[[{key}.rules]]
when = {{ region = "eu", segment = "eu_shoppers", signup = {{ gt = 2025-0{m}-01T00:00:00Z }} }}
rollout = {{ by = "account_id", true = 10.5, false = 89.5 }}
"#,
            rollout = 5 + file % 90,
            m = 1 + i % 9,
        ),
        1 => write!(
            out,
            r#"
[{key}]
description = "Which layout to show ({file}/{i})"
owner = "{team}"
expires = 2031-{month:02}-15
variants = ["classic", "one_page", "wizard"]
default = "classic"

[[{key}.rules]]
id = "business-apps"
[{key}.rules.when]
plan = {{ in = ["business", "enterprise"] }}
platform = {{ not_in = ["web"] }}
app_version = {{ gte = "3.2.0-rc.1" }}
[{key}.rules.rollout]
one_page = 33.333
wizard = 33.333
classic = 33.334

[[{key}.rules]]
when = {{ email = {{ matches = '^[a-z0-9.]+\+{file}@shopco\.example$' }} }}
value = "wizard"

[[{key}.rules]]
when = {{ segment = "new_big_spenders", plan = {{ ne = "free" }} }}
rollout = {{ one_page = 50, wizard = 50 }}
"#
        ),
        2 => write!(
            out,
            r#"
[{key}]
description = "Maximum items per cart ({file}/{i})"
owner = "{team}"
permanent = true
default = {default}

[[{key}.rules]]
when = {{ plan = "enterprise" }}
value = 1000

[[{key}.rules]]
when = {{ account_age_days = {{ gte = 365 }}, employee = false }}
value = 250
"#,
            default = 100 + i
        ),
        3 => write!(
            out,
            r#"
[{key}]
description = "Risk score above which orders are held ({file}/{i})"
owner = "{team}"
permanent = true
type = "float"
default = 1

[[{key}.rules]]
when = {{ cart_total = {{ gt = 2000.0 }}, risk_score = {{ gte = 0.4 }} }}
value = 0.6

[[{key}.rules]]
when = {{ region = "us", groups = {{ contains = "chargeback" }} }}
value = 0.25
"#
        ),
        _ => write!(
            out,
            r#"
[{key}]
description = "Email template for the order confirmation ({file}/{i})"
owner = "{team}"
expires = 2031-{month:02}-01
default = "order-confirmation-v3"

# German-speaking shoppers get the translated template.
[[{key}.rules]]
id = "dach"
when = {{ country = {{ in = ["DE", "AT", "CH"] }}, email = {{ starts_with = "de-", ends_with = [".de", ".at", ".ch"] }} }}
value = "order-confirmation-v3-de"

[[{key}.rules]]
when = {{ account_id = [{a}, {b}, {c}], env = ["staging", "production"] }}
value = "order-confirmation-v4"
"#,
            a = file * 10 + i,
            b = file * 10 + i + 1,
            c = file * 10 + i + 2,
        ),
    };
}

/// Writes the flag directory into a fresh directory under the system's temporary one.
fn generate() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flagc-bench-check-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the bench directory");
    fs::write(dir.join("flagc.toml"), MANIFEST).expect("write the manifest");
    for file in 0..FILES {
        // Ten teams' subdirectories, as CODEOWNERS would split them.
        let sub = dir.join(format!("team{}", file % 10));
        fs::create_dir_all(&sub).expect("create a team directory");
        let mut text = String::from("#:schema ../.flagc/flags.schema.json\n");
        for i in 0..FLAGS_PER_FILE {
            flag(&mut text, file, i);
        }
        fs::write(sub.join(format!("flags{file:04}.toml")), text).expect("write a flag file");
    }
    dir
}

/// Removes the generated directory when the benchmark ends.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn options() -> CheckOptions {
    CheckOptions {
        today: Some(Date {
            year: 2026,
            month: 6,
            day: 1,
        }),
        deny_expired: false,
    }
}

fn assert_clean(dir: &Path) {
    let checked = check_dir(dir, &options()).expect("the bench directory is readable");
    let model = checked.model.as_ref();
    assert!(
        checked.errors() == 0 && model.is_some_and(|m| m.flags.len() == FILES * FLAGS_PER_FILE),
        "the generated directory must be valid: {:#?}",
        &checked.diagnostics[..checked.diagnostics.len().min(5)]
    );
    let bytes: usize = checked.sources.files.iter().map(|f| f.text.len()).sum();
    eprintln!(
        "check_dir: {} flags in {} files ({:.1} MiB), {} warnings",
        FILES * FLAGS_PER_FILE,
        checked.sources.files.len(),
        bytes as f64 / (1024.0 * 1024.0),
        checked.warnings()
    );
}

fn bench_check(c: &mut Criterion) {
    let dir = Cleanup(generate());
    assert_clean(&dir.0);
    let mut group = c.benchmark_group("check");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(15));
    // The result (sources, model, diagnostics) is dropped outside the timing: it is the
    // caller's to keep or free, and check_dir's work is producing it.
    group.bench_function("check_dir/10k_flags_1k_files", |b| {
        b.iter_with_large_drop(|| check_dir(black_box(&dir.0), black_box(&options())))
    });
    group.finish();
}

criterion_group!(benches, bench_check);

/// `FLAGC_BENCH_MIN=1`: 30 timed runs of `check_dir`, printing the fastest and the median
/// wall time and the median CPU time of the process (all threads; Linux). On a shared machine
/// the fastest run is the one least preempted, so it approximates the uncontended time where
/// criterion's median does not; CPU time is the work done, whatever the load.
fn min_mode() {
    let dir = Cleanup(generate());
    assert_clean(&dir.0);
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for _ in 0..30 {
        let cpu = process_cpu();
        let t = Instant::now();
        let checked = check_dir(black_box(&dir.0), black_box(&options()));
        walls.push(t.elapsed());
        if let (Some(before), Some(after)) = (cpu, process_cpu()) {
            cpus.push(after - before);
        }
        drop(black_box(checked));
    }
    walls.sort();
    cpus.sort();
    println!(
        "check_dir: fastest {:.1} ms, median {:.1} ms wall; median CPU {} on {} threads",
        walls[0].as_secs_f64() * 1e3,
        walls[walls.len() / 2].as_secs_f64() * 1e3,
        cpus.get(cpus.len() / 2)
            .map_or_else(|| "unknown".to_owned(), |c| format!("{} ms", c.as_millis())),
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
    );
}

/// User and system CPU time of this process so far, from `/proc/self/stat`.
fn process_cpu() -> Option<Duration> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux platform Rust supports.
    Some(Duration::from_millis(ticks * 10))
}

fn main() {
    if std::env::var_os("FLAGC_BENCH_MIN").is_some() {
        min_mode();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
