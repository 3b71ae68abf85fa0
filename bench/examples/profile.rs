//! One engine evaluating one scenario in a loop, for a profiler:
//!
//! ```text
//! cargo build --profile bench --example profile
//! valgrind --tool=callgrind target/release/examples/profile flagc_lookup no_rules 1000000
//! callgrind_annotate callgrind.out.<pid>
//! ```
//!
//! Engines: `flagc_static`, `flagc_dynamic`, `flagc_lookup`, `unleash`, `launchdarkly`,
//! `flagd`; scenarios: the criterion group names (`no_rules`, `user_in_list_of_100`, …), or
//! `ingest_10000_flags` (then ITERATIONS loads of the 10,000 flags).

use std::hint::black_box;

use flagc_bench::engines::{Contexts, Documents, Engines};
use flagc_bench::scenarios::{SCENARIOS, bench_person};

/// The typed accessor for a scenario's flag, as a closure (chosen once, outside the loop).
macro_rules! typed {
    ($flags:expr, $ctx:expr, $key:expr) => {{
        let (f, c) = (&$flags, &$ctx);
        let run: Box<dyn Fn()> = match $key {
            "no_rules" => Box::new(move || {
                black_box(f.no_rules(black_box(c)));
            }),
            "user_in_list" => Box::new(move || {
                black_box(f.user_in_list(black_box(c)));
            }),
            "two_conditions" => Box::new(move || {
                black_box(f.two_conditions(black_box(c)));
            }),
            "starts_with" => Box::new(move || {
                black_box(f.starts_with(black_box(c)));
            }),
            "semver_gt" => Box::new(move || {
                black_box(f.semver_gt(black_box(c)));
            }),
            "rollout_50" => Box::new(move || {
                black_box(f.rollout_50(black_box(c)));
            }),
            "three_way_split" => Box::new(move || {
                black_box(f.three_way_split(black_box(c)));
            }),
            _ => Box::new(|| {}),
        };
        run
    }};
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (engine, scenario) = match (args.get(1), args.get(2)) {
        (Some(e), Some(s)) => (e.as_str(), s.as_str()),
        _ => {
            eprintln!("usage: profile ENGINE SCENARIO [ITERATIONS]");
            std::process::exit(2);
        }
    };
    let n: u64 = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    if scenario == "ingest_10000_flags" {
        ingest(engine, n);
        return;
    }
    let Some(s) = SCENARIOS.iter().find(|s| s.name == scenario) else {
        eprintln!("unknown scenario {scenario}");
        std::process::exit(2);
    };
    let model = flagc_bench::scenario_model();
    let docs = Documents::translate(&model).unwrap_or_else(|e| panic!("{e}"));
    let e = Engines::load(&docs).unwrap_or_else(|e| panic!("{e}"));
    let ctx = Contexts::of(&bench_person());
    let key = s.key;
    let (e, ctx) = (&e, &ctx);
    let run: Box<dyn Fn()> = match engine {
        "flagc_static" => typed!(e.compiled, ctx.compiled, key),
        "flagc_dynamic" => typed!(e.live, ctx.live, key),
        "flagc_lookup" => Box::new(move || {
            drop(black_box(
                e.live.rt.lookup(black_box(key), black_box(&ctx.live)),
            ))
        }),
        "unleash" if key == "three_way_split" => Box::new(move || {
            drop(black_box(
                e.unleash.variant(black_box(key), black_box(&ctx.unleash)),
            ))
        }),
        "unleash" => Box::new(move || {
            black_box(
                e.unleash
                    .is_enabled(black_box(key), black_box(&ctx.unleash)),
            );
        }),
        "launchdarkly" => Box::new(move || {
            drop(black_box(
                e.launchdarkly
                    .evaluate(black_box(key), black_box(&ctx.launchdarkly)),
            ))
        }),
        "flagd" => Box::new(move || {
            drop(black_box(
                e.flagd.resolve(black_box(key), black_box(&ctx.flagd)),
            ))
        }),
        other => {
            eprintln!("unknown engine {other}");
            std::process::exit(2);
        }
    };
    for _ in 0..n {
        run();
    }
}

fn ingest(engine: &str, n: u64) {
    use flagc_bench::ingest;
    let files = ingest::flag_files();
    let docs = ingest::documents(&files);
    for _ in 0..n {
        match engine {
            "flagc" => drop(black_box(ingest::flagc_load(black_box(&files)))),
            "unleash" => drop(black_box(ingest::unleash_load(black_box(&docs.unleash)))),
            "launchdarkly" => drop(black_box(ingest::launchdarkly_load(black_box(
                &docs.launchdarkly,
            )))),
            "flagd" => drop(black_box(ingest::flagd_load(black_box(&docs.flagd)))),
            other => {
                eprintln!("unknown engine {other}");
                std::process::exit(2);
            }
        }
    }
}
