//! Runs one accessor many times, for profilers and hardware counters, which the load of a
//! shared machine does not disturb the way it does wall-clock timings:
//!
//! ```sh
//! cargo build --release -p flagc-accessor-tests --example profile
//! perf stat -e cycles:u,instructions:u target/release/examples/profile dynamic no_rules 100000000
//! ```
//!
//! Cases: `dynamic no_rules` (`crypto_payments`, no rules left in production/eu),
//! `static no_rules`, `dynamic apple_pay`, `static apple_pay`, and `none` (the loop alone).
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::process::ExitCode;

use flagc_accessor_tests::examples::flags as dynamic;
use flagc_accessor_tests::examples_static::production_eu::flags as compiled;

#[inline(never)]
fn run<F: Fn() -> u64>(n: u64, f: F) -> u64 {
    let mut acc = 0;
    for _ in 0..n {
        acc += f();
    }
    acc
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, case) = match &args[..] {
        [m, c, ..] => (m.as_str(), c.as_str()),
        _ => {
            eprintln!("usage: profile dynamic|static|none no_rules|apple_pay [N]");
            return ExitCode::from(2);
        }
    };
    let n: u64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let (live, fixed) = flagc_accessor_tests::production_eu();
    let ua = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15";
    let dctx = dynamic::Context::new()
        .platform(dynamic::Platform::Web)
        .user_agent(ua);
    let sctx = compiled::Context::new()
        .platform(compiled::Platform::Web)
        .user_agent(ua);
    let total = match (mode, case) {
        ("dynamic", "no_rules") => run(n, || u64::from(live.crypto_payments(black_box(&dctx)))),
        ("static", "no_rules") => run(n, || u64::from(fixed.crypto_payments(black_box(&sctx)))),
        ("dynamic", "apple_pay") => run(n, || u64::from(live.apple_pay(black_box(&dctx)))),
        ("static", "apple_pay") => run(n, || u64::from(fixed.apple_pay(black_box(&sctx)))),
        ("none", _) => run(n, || u64::from(black_box(false))),
        _ => {
            eprintln!("unknown case {mode} {case}");
            return ExitCode::from(2);
        }
    };
    println!("{mode} {case}: {total} of {n} true");
    ExitCode::SUCCESS
}
