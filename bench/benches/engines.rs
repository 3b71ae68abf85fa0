//! flagc side by side with unleash-yggdrasil, launchdarkly-server-sdk-evaluation and
//! flagd-evaluation-engine (BENCHMARKS.md, "Side by side with other engines (issue 8)").
//!
//! Run: `cd bench && cargo bench` (then `cargo run --release --bin report` prints the tables
//! from `target/criterion`). Nothing is timed unless the agreement check passes first.
//!
//! Each scenario is one criterion group with one function per engine; every engine evaluates
//! the same flag (translated from `bench/flags`) with the same context, built before the
//! timed loop. Inputs and outputs go through `black_box`.
//!
//! The clock is the benchmark thread's CPU time, not wall time: this machine is shared with
//! other builds (load averages of 8 to 10 on 2 cores are common), and wall time then counts
//! the time the thread waits for a core, which varies from minute to minute and would skew
//! engines measured a few minutes apart. `FLAGC_BENCH_CLOCK=wall cargo bench` uses
//! criterion's usual wall clock instead.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use flagc_bench::engines::{Contexts, Documents, Engines};
use flagc_bench::scenarios::{SCENARIOS, bench_person};
use flagc_bench::{agreement, ingest, scenario_model};

/// The typed accessor for a scenario's flag, on a flagc handle (static or dynamic mode).
macro_rules! typed {
    ($group:expr, $name:literal, $flags:expr, $ctx:expr, $key:expr) => {{
        let (f, c) = (&$flags, &$ctx);
        match $key {
            "no_rules" => {
                $group.bench_function($name, |b| b.iter(|| black_box(f.no_rules(black_box(c)))))
            }
            "user_in_list" => $group.bench_function($name, |b| {
                b.iter(|| black_box(f.user_in_list(black_box(c))))
            }),
            "two_conditions" => $group.bench_function($name, |b| {
                b.iter(|| black_box(f.two_conditions(black_box(c))))
            }),
            "starts_with" => {
                $group.bench_function($name, |b| b.iter(|| black_box(f.starts_with(black_box(c)))))
            }
            "semver_gt" => {
                $group.bench_function($name, |b| b.iter(|| black_box(f.semver_gt(black_box(c)))))
            }
            "rollout_50" => {
                $group.bench_function($name, |b| b.iter(|| black_box(f.rollout_50(black_box(c)))))
            }
            "three_way_split" => $group.bench_function($name, |b| {
                b.iter(|| black_box(f.three_way_split(black_box(c))))
            }),
            // An unknown flag is a compile error for typed accessors: nothing to time.
            _ => &mut $group,
        };
    }};
}

/// The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), formatted like wall time.
struct ThreadCpuTime {
    formatter: WallTime,
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through the pointer, which points to a
    // live, writable `timespec` for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_time()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_time().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, d: &Duration) -> f64 {
        d.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.formatter.formatter()
    }
}

fn evaluation<M: Measurement>(c: &mut Criterion<M>, e: &Engines) {
    let ctx = Contexts::of(&bench_person());
    for s in SCENARIOS {
        let key = s.key;
        let mut g = c.benchmark_group(s.name);
        g.warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        typed!(g, "flagc_static", e.compiled, ctx.compiled, key);
        typed!(g, "flagc_dynamic", e.live, ctx.live, key);
        g.bench_function("flagc_lookup", |b| {
            b.iter(|| black_box(e.live.rt.lookup(black_box(key), black_box(&ctx.live))))
        });
        if key == "three_way_split" {
            g.bench_function("unleash", |b| {
                b.iter(|| black_box(e.unleash.variant(black_box(key), black_box(&ctx.unleash))))
            });
        } else {
            g.bench_function("unleash", |b| {
                b.iter(|| {
                    black_box(
                        e.unleash
                            .is_enabled(black_box(key), black_box(&ctx.unleash)),
                    )
                })
            });
        }
        g.bench_function("launchdarkly", |b| {
            b.iter(|| {
                black_box(
                    e.launchdarkly
                        .evaluate(black_box(key), black_box(&ctx.launchdarkly)),
                )
            })
        });
        g.bench_function("flagd", |b| {
            b.iter(|| black_box(e.flagd.resolve(black_box(key), black_box(&ctx.flagd))))
        });
        g.finish();
    }
}

fn ingestion<M: Measurement>(c: &mut Criterion<M>) {
    let files = ingest::flag_files();
    let docs = ingest::documents(&files);
    let mut g = c.benchmark_group("ingest_10000_flags");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    g.bench_function("flagc", |b| {
        b.iter(|| black_box(ingest::flagc_load(black_box(&files))))
    });
    g.bench_function("unleash", |b| {
        b.iter(|| black_box(ingest::unleash_load(black_box(&docs.unleash))))
    });
    g.bench_function("launchdarkly", |b| {
        b.iter(|| black_box(ingest::launchdarkly_load(black_box(&docs.launchdarkly))))
    });
    g.bench_function("flagd", |b| {
        b.iter(|| black_box(ingest::flagd_load(black_box(&docs.flagd))))
    });
    g.finish();
}

/// Leaves the translated documents in `target/translated/` for anyone who wants to read
/// exactly what each peer evaluated.
fn write_documents(docs: &Documents) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/translated");
    let _ = std::fs::create_dir_all(&dir);
    for (name, text) in [
        ("unleash.json", &docs.unleash),
        ("launchdarkly.json", &docs.launchdarkly),
        ("flagd.json", &docs.flagd),
    ] {
        let pretty = serde_json::from_str::<serde_json::Value>(text)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| text.clone());
        let _ = std::fs::write(dir.join(name), pretty + "\n");
    }
}

fn main() {
    let model = scenario_model();
    let docs = Documents::translate(&model).unwrap_or_else(|e| panic!("translation:\n{e}"));
    write_documents(&docs);
    let engines = Engines::load(&docs).unwrap_or_else(|e| panic!("{e}"));
    match agreement::check(&model, &engines) {
        Ok(report) => print!("{report}"),
        Err(errors) => {
            eprintln!("the engines disagree; nothing is timed:");
            for e in errors {
                eprintln!("  {e}");
            }
            std::process::exit(1);
        }
    }
    if std::env::var("FLAGC_BENCH_CLOCK").is_ok_and(|v| v == "wall") {
        println!("clock: wall time");
        run(Criterion::default(), &engines);
    } else {
        println!("clock: thread CPU time (FLAGC_BENCH_CLOCK=wall for wall time)");
        run(
            Criterion::default().with_measurement(ThreadCpuTime {
                formatter: WallTime,
            }),
            &engines,
        );
    }
}

fn run<M: Measurement>(c: Criterion<M>, engines: &Engines) {
    let mut c = c.configure_from_args();
    evaluation(&mut c, engines);
    ingestion(&mut c);
    c.final_summary();
}
