//! One engine evaluating one scenario in a loop, for a profiler:
//!
//! ```text
//! cargo build --profile bench --example profile
//! valgrind --tool=callgrind target/release/examples/profile flagc_lookup no_rules 1000000
//! callgrind_annotate callgrind.out.<pid>
//! ```
//!
//! Engines: `flagc_static`, `flagc_dynamic`, `flagc_lookup`, `unleash`, `launchdarkly`,
//! `flagd`; scenarios: the criterion group names (`no_rules`, `user_in_list_of_100`, …).

use std::hint::black_box;

use flagc_bench::engines::{Contexts, Documents, Engines};
use flagc_bench::scenarios::{SCENARIOS, bench_person};

/// The typed accessor for a scenario's flag.
macro_rules! typed {
    ($flags:expr, $ctx:expr, $key:expr) => {{
        let (f, c) = (&$flags, black_box(&$ctx));
        match $key {
            "no_rules" => drop(black_box(f.no_rules(c))),
            "user_in_list" => drop(black_box(f.user_in_list(c))),
            "two_conditions" => drop(black_box(f.two_conditions(c))),
            "starts_with" => drop(black_box(f.starts_with(c))),
            "semver_gt" => drop(black_box(f.semver_gt(c))),
            "rollout_50" => drop(black_box(f.rollout_50(c))),
            "three_way_split" => drop(black_box(f.three_way_split(c))),
            _ => {}
        }
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
    let n: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let Some(s) = SCENARIOS.iter().find(|s| s.name == scenario) else {
        eprintln!("unknown scenario {scenario}");
        std::process::exit(2);
    };
    let model = flagc_bench::scenario_model();
    let docs = Documents::translate(&model).unwrap_or_else(|e| panic!("{e}"));
    let e = Engines::load(&docs).unwrap_or_else(|e| panic!("{e}"));
    let ctx = Contexts::of(&bench_person());
    let key = s.key;
    for _ in 0..n {
        match engine {
            "flagc_static" => typed!(e.compiled, ctx.compiled, key),
            "flagc_dynamic" => typed!(e.live, ctx.live, key),
            "flagc_lookup" => {
                black_box(e.live.rt.lookup(black_box(key), black_box(&ctx.live)));
            }
            "unleash" if key == "three_way_split" => {
                black_box(e.unleash.variant(black_box(key), black_box(&ctx.unleash)));
            }
            "unleash" => {
                black_box(e.unleash.is_enabled(black_box(key), black_box(&ctx.unleash)));
            }
            "launchdarkly" => {
                black_box(e.launchdarkly.evaluate(black_box(key), black_box(&ctx.launchdarkly)));
            }
            "flagd" => {
                black_box(e.flagd.resolve(black_box(key), black_box(&ctx.flagd)));
            }
            other => {
                eprintln!("unknown engine {other}");
                std::process::exit(2);
            }
        }
    }
}
