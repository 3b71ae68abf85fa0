//! Hot-reload benchmarks, recorded in BENCHMARKS.md ("Hot reload (issue 5)"):
//!
//! * `latency` — a rename-save of a flag file in a copy of `examples/flags` until the new
//!   value is visible to a reader, with the default watch options; 100 saves, p50 and p99;
//! * `throughput` — evaluations per second of eight example flags with the watcher running,
//!   idle, against the same while a file of the directory is rewritten (and reloaded) ten
//!   times a second; three alternating rounds of each;
//! * `big` — `Runtime::reload` of a 10,000-flag directory (100 files) after one file
//!   changed: read, check, compile and swap.
//!
//! `cargo bench -p flagc --bench reload [latency|throughput|big]` (all by default). These are
//! wall-clock measurements of a real watcher on a real filesystem, not criterion loops.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use flagc::eval::Context;
use flagc::ir::Value;
use flagc::runtime::{Runtime, Spec};
use flagc::watch::WatchOptions;

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if run("latency") {
        latency();
    }
    if run("throughput") {
        throughput();
    }
    if run("big") {
        big();
    }
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/flags")
}

/// A copy of `examples/flags` in a temporary directory.
fn example_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("flags");
    copy_dir(&examples(), &dir);
    (tmp, dir)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The runtime a binary built from `dir` would have, for production in the EU.
fn runtime(dir: &Path) -> Runtime {
    let checked = flagc::check_dir(dir, &flagc::CheckOptions::default()).unwrap();
    let model = checked.model.expect("valid flags");
    let spec = Spec::of(&model, &[]);
    let statics = vec![
        ("env".to_owned(), "production".to_owned()),
        ("region".to_owned(), "eu".to_owned()),
    ];
    Runtime::load(dir, spec, statics).unwrap()
}

fn ordinal(rt: &Runtime, key: &str) -> usize {
    rt.spec().flags.iter().position(|(k, _)| k == key).unwrap()
}

fn rename_save(path: &Path, text: &str) {
    let tmp = path.with_file_name(".save.tmp");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, path).unwrap();
}

/// `search.toml` of the examples with another default page size.
fn search_file(page_size: i64) -> String {
    fs::read_to_string(examples().join("search.toml"))
        .unwrap()
        .replace("default = 24\n", &format!("default = {page_size}\n"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn latency() {
    let (_tmp, dir) = example_copy();
    let rt = runtime(&dir);
    let options = WatchOptions::default();
    println!(
        "latency: rename-save to visible, debounce {:?} (default), 100 saves",
        options.debounce
    );
    let _watch = rt.watch(options).unwrap();
    let page_size = ordinal(&rt, "search_page_size");
    let layout = rt.spec().layout.clone();
    let ctx = Context::new(&layout);
    let file = dir.join("search.toml");
    let mut samples = Vec::with_capacity(100);
    for i in 0..100 {
        let want = 100 + i;
        let text = search_file(want);
        let start = Instant::now();
        rename_save(&file, &text);
        // Poll as a reader would: one atomic load per look.
        while *rt.snapshot().eval(page_size, &ctx).value != Value::Int(want) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "save {i} never seen"
            );
            thread::yield_now();
        }
        samples.push(start.elapsed());
        // Saves a human makes are seconds apart; a short pause keeps them from coalescing.
        thread::sleep(Duration::from_millis(20));
    }
    samples.sort();
    println!(
        "  p50 {}  p99 {}  min {}  max {}",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(samples[0]),
        ms(samples[samples.len() - 1])
    );
}

/// Evaluations of eight flags through `rt.snapshot()` (as generated accessors do), on one
/// thread, for `window`: per second of wall time, and per second this thread was on a CPU
/// (the machine's load moves the first much more than the second).
fn evals_per_second(rt: &Runtime, window: Duration) -> (f64, f64) {
    let keys = [
        "one_page_checkout",
        "checkout_layout",
        "free_shipping_threshold",
        "search_page_size",
        "search_ranking_model",
        "apple_pay",
        "fraud_review_threshold",
        "price_display",
    ];
    let ordinals: Vec<usize> = keys.iter().map(|k| ordinal(rt, k)).collect();
    let layout = rt.spec().layout.clone();
    let mut ctx = Context::new(&layout);
    for (k, v) in [
        ("user_id", "u-1042"),
        ("email", "ana@example.org"),
        ("country", "DE"),
        ("plan", "plus"),
        ("platform", "ios"),
        ("app_version", "4.2.0"),
        ("cart_total", "79.5"),
    ] {
        ctx.set_text(k, v).unwrap();
    }
    let start = Instant::now();
    let cpu_start = thread_cpu();
    let mut n = 0u64;
    while start.elapsed() < window {
        for _ in 0..1000 {
            for &i in &ordinals {
                black_box(rt.snapshot().eval(black_box(i), &ctx).value);
            }
        }
        n += 1000 * ordinals.len() as u64;
    }
    let wall = start.elapsed();
    let cpu = thread_cpu()
        .zip(cpu_start)
        .map_or(wall, |(end, start)| end - start);
    (n as f64 / wall.as_secs_f64(), n as f64 / cpu.as_secs_f64())
}

/// Time this thread has spent on a CPU (Linux, `/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu() -> Option<Duration> {
    let stat = fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn throughput() {
    let (_tmp, dir) = example_copy();
    let rt = runtime(&dir);
    let _watch = rt.watch(WatchOptions::default()).unwrap();
    let window = Duration::from_secs(3);
    let rounds = 5;
    println!("throughput: one reader thread, {window:?} per round, watcher running");
    let (mut idle, mut busy) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        idle.push(evals_per_second(&rt, window));

        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (stop, file) = (stop.clone(), dir.join("search.toml"));
            let texts = [search_file(30), search_file(31)];
            thread::spawn(move || {
                let mut saves = 0u64;
                let start = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    // In place: a file rename-saved over and over faster than the debounce
                    // window is only reloaded once it settles (the debouncer restarts its
                    // wait on each replacement), which would measure no reloads at all.
                    fs::write(&file, &texts[(saves % 2) as usize]).unwrap();
                    saves += 1;
                    // Ten saves a second, on schedule.
                    let next = start + Duration::from_millis(100) * saves as u32;
                    thread::sleep(next.saturating_duration_since(Instant::now()));
                }
                saves
            })
        };
        let generation = rt.status().generation;
        let attempts = rt.reload_attempts();
        busy.push(evals_per_second(&rt, window));
        stop.store(true, Ordering::Relaxed);
        let saves = writer.join().unwrap();
        let reloads = rt.status().generation - generation;
        let attempts = rt.reload_attempts() - attempts;
        println!(
            "  round {round}: idle {:.1} M/s ({:.1} M per CPU-s), reloading {:.1} M/s ({:.1} M per CPU-s); \
             {saves} saves, {attempts} attempts, {reloads} reloads",
            idle[round].0 / 1e6,
            idle[round].1 / 1e6,
            busy[round].0 / 1e6,
            busy[round].1 / 1e6
        );
    }
    let median = |v: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
        let mut x: Vec<f64> = v.iter().map(pick).collect();
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    for (what, pick) in [
        (
            "per wall second",
            (|x: &(f64, f64)| x.0) as fn(&(f64, f64)) -> f64,
        ),
        ("per CPU second", |x: &(f64, f64)| x.1),
    ] {
        let (i, b) = (median(&idle, pick), median(&busy, pick));
        println!(
            "  median {what}: idle {:.1} M evals, reloading 10/s {:.1} M evals ({:+.1} %)",
            i / 1e6,
            b / 1e6,
            (b / i - 1.0) * 100.0
        );
    }
}

/// A 10,000-flag directory: the example manifest and 100 files of 100 flags with a rule each.
fn big_dir(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    fs::copy(examples().join("flagc.toml"), dir.join("flagc.toml")).unwrap();
    for f in 0..100 {
        fs::write(dir.join(format!("f{f:03}.toml")), big_file(f, 0)).unwrap();
    }
}

fn big_file(f: usize, version: usize) -> String {
    let mut text = String::new();
    for i in 0..100 {
        let key = format!("flag_{f:03}_{i:03}");
        text.push_str(&format!(
            "[{key}]\ndescription = \"Flag {key}\"\nowner = \"team{}\"\nexpires = 2030-01-01\n\
             default = false\n\n[[{key}.rules]]\nwhen = {{ country = [\"US\", \"CA\"], plan = \"business\" }}\n\
             rollout = {}\n\n",
            f % 7,
            25 + (version + i) % 50
        ));
    }
    text
}

fn big() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("flags");
    big_dir(&dir);
    let rt = runtime(&dir);
    assert_eq!(rt.spec().flags.len(), 10_000);
    let mut samples = Vec::new();
    let cpu_before = process_cpu();
    for round in 1..=20 {
        fs::write(dir.join("f042.toml"), big_file(42, round)).unwrap();
        let start = Instant::now();
        let outcome = rt.reload();
        samples.push(start.elapsed());
        assert!(
            matches!(&outcome, flagc::runtime::Reload::Swapped { changed, .. } if changed.len() == 100),
            "{outcome:?}"
        );
    }
    let cpu = process_cpu().map(|after| (after - cpu_before.unwrap_or_default()) / 20);
    samples.sort();
    // Where the time goes, stage by stage (the same work `reload` does).
    let stage = |name: &str, f: &mut dyn FnMut()| {
        let cpu_before = process_cpu();
        let mut t: Vec<Duration> = (0..10)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect();
        let cpu = process_cpu().map(|after| (after - cpu_before.unwrap_or_default()) / 10);
        t.sort();
        println!(
            "  stage {name}: p50 {}, CPU {}",
            ms(t[5]),
            cpu.map_or_else(|| "?".into(), ms)
        );
    };
    let read = || {
        let mut d = flagc::diag::Diagnostics::new();
        (flagc::Sources::read_dir(&dir, &mut d).unwrap(), d)
    };
    stage("read", &mut || {
        black_box(read());
    });
    stage("check", &mut || {
        let (s, d) = read();
        black_box(flagc::check_sources(s, d, &flagc::CheckOptions::default()));
    });
    let (s, d) = read();
    let model = flagc::check_sources(s, d, &flagc::CheckOptions::default())
        .model
        .unwrap();
    let statics = flagc::compile::Statics::from_pairs(
        &model.manifest,
        [("env", "production"), ("region", "eu")],
    )
    .unwrap();
    stage("compile", &mut || {
        black_box(flagc::compile::compile(&model, &statics, &rt.spec().layout));
    });
    println!(
        "big: reload of 10,000 flags in 100 files after one file changed, 20 reloads\n  \
         p50 {}  p90 {}  min {}  max {}",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.9)),
        ms(samples[0]),
        ms(samples[samples.len() - 1])
    );
    if let Some(cpu) = cpu {
        println!("  CPU time (all threads) per reload: {}", ms(cpu));
    }
}

/// User and system CPU time of the whole process so far (Linux, `/proc/self/stat`; clock
/// ticks taken as 10 ms, the usual `CLK_TCK` of 100): the machine's load does not inflate it.
fn process_cpu() -> Option<Duration> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}
