//! Evaluation and compile benchmarks (BENCHMARKS.md, "Evaluation (issue 3)").
//!
//! Each case evaluates one flag by its pre-resolved index against a pre-built dynamic
//! `Context`, as the runtime does; inputs and outputs go through `black_box`.
//!
//! Run: `cargo bench -p flagc --bench eval` (thread CPU time; `FLAGC_BENCH_CLOCK=wall` for
//! wall time). `FLAGC_BENCH_MIN=1` prints the fastest of many short batches per case;
//! `FLAGC_BENCH_PROFILE=<flag key>|compile` runs one case for valgrind.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use common::*;
use criterion::Criterion;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use flagc::compile::{Statics, compile};
use flagc::eval::Context;
use flagc::ir::{Layout, Program};
use flagc::model::{
    AttrType, CmpOp, Condition, Flag, FlagType, FlagValue, Lit, Manifest, Model, Op, StrOp,
};

fn manifest_() -> Manifest {
    manifest(
        &[
            ("env", &["development", "staging", "production"]),
            ("region", &["eu", "us"]),
        ],
        &[
            ("user_id", AttrType::String),
            ("country", AttrType::String),
            ("plan", enum_ty(&["free", "pro", "enterprise"])),
            ("app_version", AttrType::Semver),
            ("email", AttrType::String),
            ("employee", AttrType::Bool),
            ("groups", AttrType::StringList),
        ],
    )
}

fn lits(v: &[&str]) -> Vec<Lit> {
    v.iter().map(|s| Lit::Str((*s).into())).collect()
}

fn bool_flag(key: &str, rules: Vec<flagc::model::Rule>) -> Flag {
    flag(key, FlagType::Bool, FlagValue::Bool(false), rules)
}

fn cases(m: &Manifest) -> Vec<Flag> {
    let user = m.context_index("user_id").unwrap();
    let ids: Vec<Lit> = (0..100).map(|i| Lit::Str(format!("user-{i:05}"))).collect();
    let two = |m: &Manifest| -> Vec<Condition> {
        vec![
            cond(m, "country", vec![Op::In(lits(&["US", "CA"]))]),
            cond(m, "plan", vec![Op::In(vec![Lit::Enum(1), Lit::Enum(2)])]),
        ]
    };
    let mut three = two(m);
    three.push(cond(m, "employee", vec![Op::In(vec![Lit::Bool(false)])]));
    vec![
        bool_flag("no_rules", vec![]),
        bool_flag(
            "in_list_100",
            vec![rule(
                vec![cond(m, "user_id", vec![Op::In(ids)])],
                FlagValue::Bool(true),
            )],
        ),
        bool_flag("two_conditions", vec![rule(two(m), FlagValue::Bool(true))]),
        bool_flag("rollout_50", vec![rollout(vec![], user, &[50_000, 50_000])]),
        bool_flag(
            "three_then_rollout_25",
            vec![rollout(three, user, &[25_000, 75_000])],
        ),
        flag(
            "enum_split_3",
            FlagType::Enum(vec!["classic".into(), "one_page".into(), "wizard".into()]),
            FlagValue::Enum(0),
            vec![rollout(vec![], user, &[33_333, 33_333, 33_334])],
        ),
        bool_flag(
            "semver",
            vec![rule(
                vec![cond(
                    m,
                    "app_version",
                    vec![Op::Cmp(
                        CmpOp::Gte,
                        Lit::Semver(semver::Version::parse("3.2.0").unwrap()),
                    )],
                )],
                FlagValue::Bool(true),
            )],
        ),
        bool_flag(
            "regex",
            vec![rule(
                vec![cond(
                    m,
                    "email",
                    vec![Op::Str(
                        StrOp::Matches,
                        vec![r"@(corp|contractors)\.example$".into()],
                    )],
                )],
                FlagValue::Bool(true),
            )],
        ),
    ]
}

fn program() -> (Program, Layout) {
    let m = manifest_();
    let flags = cases(&m);
    let model = model(m, flags);
    let layout = Layout::of(&model.manifest);
    let statics =
        Statics::from_pairs(&model.manifest, [("env", "production"), ("region", "eu")]).unwrap();
    (compile(&model, &statics, &layout), layout)
}

/// 10,000 flags shaped like real ones: an environment switch, a segment-like list, a
/// rollout, sometimes a semver gate or a regex.
fn big_model() -> Model {
    let mut m = manifest_();
    let internal = vec![cond(
        &m,
        "email",
        vec![Op::Str(StrOp::EndsWith, vec!["@corp.example".into()])],
    )];
    add_segment(&mut m, "internal", internal);
    let user = m.context_index("user_id").unwrap();
    let flags = (0..10_000)
        .map(|i| {
            let mut rules = vec![
                rule(
                    vec![cond(&m, "env", vec![Op::In(vec![Lit::Enum(0)])])],
                    FlagValue::Bool(true),
                ),
                rule(vec![seg(&m, &["internal"])], FlagValue::Bool(true)),
                rule(
                    vec![cond(
                        &m,
                        "groups",
                        vec![Op::In(lits(&["beta", "early_access"]))],
                    )],
                    FlagValue::Bool(true),
                ),
                rollout(
                    vec![
                        cond(&m, "env", vec![Op::In(vec![Lit::Enum(2)])]),
                        cond(&m, "country", vec![Op::In(lits(&["US", "CA", "MX"]))]),
                    ],
                    user,
                    &[25_000, 75_000],
                ),
            ];
            if i % 10 == 0 {
                let v = Lit::Semver(semver::Version::parse("3.2.0").unwrap());
                rules.insert(
                    0,
                    rule(
                        vec![cond(&m, "app_version", vec![Op::Cmp(CmpOp::Lt, v)])],
                        FlagValue::Bool(false),
                    ),
                );
            }
            if i % 100 == 0 {
                let re = vec![format!("^loadtest-{i}\\+")];
                rules.insert(
                    0,
                    rule(
                        vec![cond(&m, "email", vec![Op::Str(StrOp::Matches, re)])],
                        FlagValue::Bool(false),
                    ),
                );
            }
            bool_flag(&format!("flag_{i:05}"), rules)
        })
        .collect();
    model(m, flags)
}

fn context(layout: &Layout) -> Context<'_> {
    let mut ctx = Context::new(layout);
    ctx.set_str("user_id", "user-00042").unwrap();
    ctx.set_str("country", "US").unwrap();
    ctx.set_enum("plan", "pro").unwrap();
    ctx.set_text("app_version", "3.4.1").unwrap();
    ctx.set_str("email", "someone@contractors.example").unwrap();
    ctx.set_bool("employee", false).unwrap();
    ctx
}

/// Benchmark name and flag key.
const CASES: [(&str, &str); 8] = [
    ("no_rules", "no_rules"),
    ("user_in_list_of_100", "in_list_100"),
    ("two_conditions", "two_conditions"),
    ("rollout_50_percent", "rollout_50"),
    ("three_conditions_then_rollout_25", "three_then_rollout_25"),
    ("enum_three_way_split", "enum_split_3"),
    ("semver_gte", "semver"),
    ("regex", "regex"),
];

fn bench_eval<M: Measurement>(c: &mut Criterion<M>) {
    let (p, layout) = program();
    let ctx = context(&layout);
    let mut group = c.benchmark_group("eval");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    for (name, key) in CASES {
        let i = p.flag_index(key).unwrap();
        // Every case goes the whole way: its rule decides for this context.
        assert!(
            p.eval(i, &ctx).rule.is_some() || key == "no_rules",
            "{key} did not reach its rule"
        );
        group.bench_function(name, |b| {
            b.iter(|| black_box(p.eval(black_box(i), black_box(&ctx))))
        });
    }
    group.finish();
}

fn bench_compile<M: Measurement>(c: &mut Criterion<M>) {
    let model = big_model();
    let layout = Layout::of(&model.manifest);
    let statics =
        Statics::from_pairs(&model.manifest, [("env", "production"), ("region", "eu")]).unwrap();
    let mut group = c.benchmark_group("compile");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("10000_flags", |b| {
        b.iter(|| black_box(compile(black_box(&model), &statics, &layout)))
    });
    group.finish();
}

/// Runs `n` evaluations of one flag; `#[inline(never)]` so that valgrind can count the
/// instructions inside it (`--toggle-collect=*run_case*`), a measure the load of a shared
/// machine cannot disturb.
#[inline(never)]
fn run_case(p: &Program, i: usize, ctx: &Context<'_>, n: u64) -> u64 {
    let mut acc = 0u64;
    for _ in 0..n {
        acc += black_box(p.eval(black_box(i), black_box(ctx)))
            .rule
            .map_or(0, |r| r as u64 + 1);
    }
    acc
}

/// The string-set choice (DESIGN §2: "sorted/hashed"): the hashed `StrSet` against binary
/// search over the same sorted strings, 100 ten-byte ids, a hit and a miss.
fn bench_str_set<M: Measurement>(c: &mut Criterion<M>) {
    let ids: Vec<String> = (0..100).map(|i| format!("user-{i:05}")).collect();
    let set = flagc::ir::StrSet::new(&ids);
    let mut group = c.benchmark_group("str_set_100");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for (name, key) in [("hit", "user-00042"), ("miss", "user-00420")] {
        group.bench_function(format!("hashed_{name}"), |b| {
            b.iter(|| set.contains(black_box(key)))
        });
        group.bench_function(format!("binary_search_{name}"), |b| {
            b.iter(|| {
                set.items()
                    .binary_search_by(|x| (**x).cmp(black_box(key)))
                    .is_ok()
            })
        });
    }
    group.finish();
}

/// One compile, out of line so that a profiler can single it out.
#[inline(never)]
fn compile_all(model: &Model, statics: &Statics, layout: &Layout) -> Program {
    compile(model, statics, layout)
}

/// Criterion's clock for these benches: the calling thread's CPU time
/// (`CLOCK_THREAD_CPUTIME_ID`). This 2-core machine is shared with other builds; wall time
/// would count the waits for a core, which vary by the minute. Cache contention from the
/// other processes still shows. `FLAGC_BENCH_CLOCK=wall` gives criterion's wall clock.
struct ThreadCpu;

static WALL: WallTime = WallTime;

impl Measurement for ThreadCpu {
    type Intermediate = cpu_time::ThreadTime;
    type Value = Duration;
    fn start(&self) -> Self::Intermediate {
        cpu_time::ThreadTime::now()
    }
    fn end(&self, start: Self::Intermediate) -> Self::Value {
        start.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

fn run_all<M: Measurement>(mut c: Criterion<M>) {
    bench_eval(&mut c);
    bench_str_set(&mut c);
    bench_compile(&mut c);
    c.final_summary();
}

fn main() {
    // `FLAGC_BENCH_PROFILE=<flag key>`: evaluate that flag 100,000 times and exit, for
    // `valgrind --tool=callgrind --toggle-collect='*run_case*'`.
    if let Ok(key) = std::env::var("FLAGC_BENCH_PROFILE") {
        if key == "compile" {
            let model = big_model();
            let layout = Layout::of(&model.manifest);
            let statics =
                Statics::from_pairs(&model.manifest, [("env", "production"), ("region", "eu")])
                    .unwrap();
            let t = std::time::Instant::now();
            let p = compile_all(&model, &statics, &layout);
            println!("{} flags in {:?}", p.flags.len(), t.elapsed());
            return;
        }
        let (p, layout) = program();
        let ctx = context(&layout);
        let i = p
            .flag_index(&key)
            .expect("FLAGC_BENCH_PROFILE names a benchmark flag");
        println!("{}", run_case(&p, i, &ctx, 100_000));
        return;
    }
    // `FLAGC_BENCH_MIN=1`: the fastest of 2,000 batches of 2,000 evaluations per case. On a
    // shared machine a short batch often runs without being preempted, so the minimum
    // approximates the uncontended cost where criterion's median does not.
    if std::env::var_os("FLAGC_BENCH_MIN").is_some() {
        let (p, layout) = program();
        let ctx = context(&layout);
        for (name, key) in CASES {
            let i = p.flag_index(key).expect("a benchmark flag");
            let mut best = f64::INFINITY;
            for _ in 0..2_000 {
                let t = std::time::Instant::now();
                black_box(run_case(&p, i, &ctx, 2_000));
                best = best.min(t.elapsed().as_secs_f64() * 1e9 / 2_000.0);
            }
            println!("{name:<34} {best:6.2} ns");
        }
        return;
    }
    if std::env::var("FLAGC_BENCH_CLOCK").is_ok_and(|c| c == "wall") {
        run_all(Criterion::default().configure_from_args());
    } else {
        run_all(
            Criterion::default()
                .with_measurement(ThreadCpu)
                .configure_from_args(),
        );
    }
}
