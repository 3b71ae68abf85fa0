//! The typed accessors' cost: `cargo bench -p flagc-accessor-tests --bench accessors`.
//!
//! * `constant`: a static-mode flag that production/eu decides at build time
//!   (`crypto_payments`, constant `false`), side by side with `black_box(false)`;
//! * `no_rules`: the same flag in dynamic mode (its compiled program has no rules left, so
//!   this is the thread's cached snapshot and the accessor's dispatch), beside the two ways
//!   of reaching the live snapshot alone;
//! * `rules`: flags with per-request rules in both modes (floats, enums and semver, a
//!   segment and a rollout, a regex, a six-condition rule);
//! * `expand`: what `flags!` does at build time for a 1,000-flag directory (read, check,
//!   generate, and the module as text).
//!
//! Results and exact commands: BENCHMARKS.md, "Typed accessors (issue 4)".

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use flagc_accessor_tests::examples::flags as dynamic;
use flagc_accessor_tests::examples_static::production_eu::flags as compiled;

macro_rules! shopper {
    ($m:ident) => {
        $m::Context::new()
            .user_id("u-1042")
            .email("ana@example.org")
            .country("US")
            .plan($m::Plan::Business)
            .platform($m::Platform::Web)
            .user_agent("Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15")
            .app_version("4.2.0")
            .and_then(|c| c.signup("2024-03-01T12:00:00Z"))
            .map(|c| {
                c.account_age_days(400)
                    .cart_items(4)
                    .cart_total(120.0)
                    .risk_score(0.05)
                    .employee(false)
                    .groups(["beta"])
            })
            .expect("valid context")
    };
}

fn handles() -> (dynamic::Flags, compiled::Flags) {
    flagc_accessor_tests::production_eu()
}

fn constant(c: &mut Criterion) {
    let (live, fixed) = handles();
    let (dctx, sctx) = (shopper!(dynamic), shopper!(compiled));
    let mut g = c.benchmark_group("constant");
    g.bench_function("literal black_box(false)", |b| b.iter(|| black_box(false)));
    g.bench_function("static crypto_payments", |b| {
        b.iter(|| fixed.crypto_payments(black_box(&sctx)))
    });
    g.finish();
    let mut g = c.benchmark_group("no_rules");
    g.bench_function("dynamic crypto_payments", |b| {
        b.iter(|| live.crypto_payments(black_box(&dctx)))
    });
    // The part of it that is the runtime's: the thread's cached snapshot (what accessors
    // use), and for comparison `ArcSwap::load` and the guard's drop (`rt.snapshot()`).
    g.bench_function("rt.with_snapshot() alone", |b| {
        b.iter(|| black_box(live.rt.with_snapshot(|s| s.generation)))
    });
    g.bench_function("rt.snapshot() alone", |b| {
        b.iter(|| black_box(live.rt.snapshot().generation))
    });
    g.finish();
}

fn rules(c: &mut Criterion) {
    let (live, fixed) = handles();
    let (dctx, sctx) = (shopper!(dynamic), shopper!(compiled));
    let mut g = c.benchmark_group("rules");
    macro_rules! both {
        ($flag:ident) => {
            g.bench_function(concat!("static ", stringify!($flag)), |b| {
                b.iter(|| fixed.$flag(black_box(&sctx)))
            });
            g.bench_function(concat!("dynamic ", stringify!($flag)), |b| {
                b.iter(|| live.$flag(black_box(&dctx)))
            });
        };
    }
    both!(three_ds_mode);
    both!(checkout_layout);
    both!(one_page_checkout);
    both!(apple_pay);
    both!(loyalty_discount_percent);
    g.finish();
}

fn expand(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("flags");
    flagc_accessor_tests::many_flags::write(&dir, 1_000).expect("write 1,000 flags");
    let generate = |statics: Option<Vec<(String, String)>>| {
        let checked = flagc::check_dir(&dir, &flagc::CheckOptions::default()).expect("readable");
        let model = checked.model.expect("valid");
        let options = flagc::codegen::Options {
            dir: "flags".to_owned(),
            statics,
            today: flagc::check::today_utc(),
        };
        flagc::codegen::generate(&model, &checked.sources, &options)
            .expect("generates")
            .to_string()
    };
    let mut g = c.benchmark_group("expand");
    g.sample_size(10);
    g.bench_function("1000 flags dynamic", |b| b.iter(|| generate(None).len()));
    g.bench_function("1000 flags static", |b| {
        b.iter(|| {
            generate(Some(vec![
                ("env".to_owned(), "production".to_owned()),
                ("region".to_owned(), "eu".to_owned()),
            ]))
            .len()
        })
    });
    g.finish();
}

criterion_group!(benches, constant, rules, expand);
criterion_main!(benches);
