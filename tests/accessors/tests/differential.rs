//! Static mode, dynamic mode, `flagc eval` and the reference interpreter agree on every value.
//!
//! For every flag of `examples/flags`, 1,000 contexts per flag from a deterministic generator
//! (unset attributes, every literal the flags and segments test and its neighbours, string
//! prefixes and suffixes, list attributes with 0–3 elements, extreme numbers, pre-release and
//! build-metadata versions, random rollout ids), under every combination of the static
//! attributes. Columns:
//!
//! 1. static mode: the module compiled for that combination (`flags!(…, env = …, region = …)`);
//! 2. dynamic mode: `flags!("…")` loaded with that combination;
//! 3. `flagc eval DIR --contexts FILE.jsonl --static …` (the CLI's batch mode);
//! 4. `flagc::interp`, the reference interpreter;
//! 5. and 6. the code `flagc generate` printed (checked in under `generated/`), dynamic mode
//!    for every combination and static mode for production/eu.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use flagc::compile::Statics;
use flagc::model::{AttrRef, AttrType, Condition, Lit, Model, Op, Outcome};
use flagc::runtime::{IntoSemver, IntoTimestamp};
use flagc_accessor_tests::rng::Rng;
use serde_json::{Value as Json, json};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/flags");
const CONTEXTS_PER_FLAG: usize = 1_000;

/// What the flags ask of one attribute: the literals and string needles they test.
#[derive(Debug, Default, Clone)]
struct Pool {
    strs: Vec<String>,
    needles: Vec<String>,
    ints: Vec<i64>,
    floats: Vec<f64>,
    semvers: Vec<String>,
    datetimes: Vec<jiff::Timestamp>,
}

fn collect(conds: &[Condition], pools: &mut BTreeMap<usize, Pool>, model: &Model) {
    for c in conds {
        match c {
            Condition::Attr {
                attr: AttrRef::Context(i),
                ops,
                ..
            } => {
                let pool = pools.entry(*i).or_default();
                for op in ops {
                    let lits: Vec<&Lit> = match op {
                        Op::In(l) | Op::NotIn(l) => l.iter().collect(),
                        Op::Cmp(_, l) => vec![l],
                        Op::Str(_, needles) => {
                            pool.needles.extend(needles.iter().cloned());
                            Vec::new()
                        }
                    };
                    for l in lits {
                        match l {
                            Lit::Str(s) => pool.strs.push(s.clone()),
                            Lit::Int(n) => pool.ints.push(*n),
                            Lit::Float(x) => pool.floats.push(*x),
                            Lit::Semver(v) => pool.semvers.push(v.to_string()),
                            Lit::Datetime(t) => pool.datetimes.push(*t),
                            Lit::Bool(_) | Lit::Enum(_) => {}
                        }
                    }
                }
            }
            Condition::Attr { .. } => {}
            Condition::Segment { segments, .. } => {
                for &s in segments {
                    if let Some(seg) = model.manifest.segments.get(s) {
                        collect(&seg.when, pools, model);
                    }
                }
            }
        }
    }
}

/// The attributes one flag tests (directly, through segments, or as a rollout's bucketing
/// attribute), with what it tests them against.
fn pools_for(model: &Model, flag: usize) -> BTreeMap<usize, Pool> {
    let mut pools = BTreeMap::new();
    let f = &model.flags[flag];
    for r in &f.rules {
        collect(&r.when, &mut pools, model);
        if let Outcome::Rollout(ro) = &r.outcome {
            pools.entry(ro.by).or_default();
        }
    }
    pools
}

fn random_word(rng: &mut Rng) -> String {
    const PARTS: &[&str] = &[
        "u_",
        "guest_",
        "acct-",
        "ana",
        "x",
        "loadtest+",
        "@shopco.example",
        ".jp",
        "DE",
        "",
    ];
    let mut s = String::new();
    for _ in 0..rng.below(3) + 1 {
        s.push_str(rng.pick(PARTS).copied().unwrap_or(""));
    }
    s.push_str(&rng.below(100_000).to_string());
    s
}

/// Browser user agents around the `apple_pay` regex (`Version/(1[6-9]|[2-9][0-9])\.`).
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/16. Safari",
    "Mozilla/5.0 Version/99.0 Safari",
    "Mozilla/5.0 Version/100.0 Safari",
    "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36",
    "Version/17.1",
];

fn string_value(rng: &mut Rng, pool: &Pool, name: &str) -> String {
    if name == "user_agent" && rng.chance(50) {
        return (*rng.pick(USER_AGENTS).unwrap_or(&"")).to_owned();
    }
    match rng.below(4) {
        0 if !pool.strs.is_empty() => rng.pick(&pool.strs).cloned().unwrap_or_default(),
        1 if !pool.needles.is_empty() => {
            let n = rng.pick(&pool.needles).cloned().unwrap_or_default();
            match rng.below(4) {
                0 => n,
                1 => format!("{n}{}", random_word(rng)),
                2 => format!("{}{n}", random_word(rng)),
                _ => n.chars().skip(1).collect(),
            }
        }
        2 if !pool.strs.is_empty() => {
            // A near miss: case or one character off.
            let s = rng.pick(&pool.strs).cloned().unwrap_or_default();
            if rng.chance(50) {
                s.to_lowercase()
            } else {
                format!("{s} ")
            }
        }
        _ => random_word(rng),
    }
}

fn value(rng: &mut Rng, ty: &AttrType, pool: &Pool, name: &str) -> Json {
    match ty {
        AttrType::String => json!(string_value(rng, pool, name)),
        AttrType::Int => {
            let base = rng.pick(&pool.ints).copied();
            json!(match (base, rng.below(6)) {
                (Some(n), 0 | 1) => n,
                (Some(n), 2) => n.saturating_add(1),
                (Some(n), 3) => n.saturating_sub(1),
                (_, 4) => *rng.pick(&[i64::MIN, i64::MAX, 0, -1, 1]).unwrap_or(&0),
                _ => rng.below(2_000) as i64 - 500,
            })
        }
        AttrType::Float => {
            let base = rng.pick(&pool.floats).copied();
            json!(match (base, rng.below(6)) {
                (Some(x), 0 | 1) => x,
                (Some(x), 2) => x.next_up(),
                (Some(x), 3) => x.next_down(),
                (_, 4) => *rng
                    .pick(&[0.0, -0.0, f64::MAX, f64::MIN, 1e-300])
                    .unwrap_or(&0.0),
                _ => (rng.below(4_000) as f64) / 2.0 - 500.0,
            })
        }
        AttrType::Bool => json!(rng.chance(50)),
        AttrType::Semver => {
            let base = rng
                .pick(&pool.semvers)
                .cloned()
                .unwrap_or_else(|| "1.0.0".to_owned());
            let v = base.as_str().into_semver().expect("literal versions parse");
            let (ma, mi, pa) = (v.major, v.minor, v.patch);
            json!(match rng.below(7) {
                0 => base,
                1 => format!("{ma}.{mi}.{}", pa + 1),
                2 if pa > 0 => format!("{ma}.{mi}.{}", pa - 1),
                2 if mi > 0 => format!("{ma}.{}.99", mi - 1),
                3 => format!("{ma}.{mi}.{pa}-rc.1"),
                4 => format!("{ma}.{mi}.{pa}+build.7"),
                5 => format!("{}.0.0", ma + 1),
                _ => format!("{}.{}.{}", rng.below(7), rng.below(12), rng.below(4)),
            })
        }
        AttrType::Datetime => {
            let base = rng.pick(&pool.datetimes).copied().unwrap_or_default();
            let t = match rng.below(5) {
                0 => base,
                1 => base - jiff::SignedDuration::from_secs(1),
                2 => base + jiff::SignedDuration::from_nanos(1),
                _ => jiff::Timestamp::from_second(1_500_000_000 + rng.below(400_000_000) as i64)
                    .unwrap_or_default(),
            };
            json!(t.to_string())
        }
        AttrType::StringList => {
            let n = rng.below(4);
            let items: Vec<String> = (0..n).map(|_| string_value(rng, pool, name)).collect();
            json!(items)
        }
        AttrType::Enum(values) => json!(rng.pick(values).cloned().unwrap_or_default()),
    }
}

/// `count` contexts aimed at flag `flag`: its attributes are usually set, from what it
/// tests; the others sometimes, at random.
fn contexts(model: &Model, flag: usize, count: usize) -> Vec<Json> {
    let mut rng = Rng(0xF1A6_C000 + flag as u64);
    let pools = pools_for(model, flag);
    let empty = Pool::default();
    (0..count)
        .map(|_| {
            let mut obj = serde_json::Map::new();
            for (i, a) in model.manifest.context.iter().enumerate() {
                let pool = pools.get(&i);
                let unset = if pool.is_some() { 15 } else { 60 };
                if rng.chance(unset) {
                    if rng.chance(50) {
                        obj.insert(a.name.clone(), Json::Null);
                    }
                    continue;
                }
                let v = value(&mut rng, &a.ty, pool.unwrap_or(&empty), &a.name);
                obj.insert(a.name.clone(), v);
            }
            Json::Object(obj)
        })
        .collect()
}

fn s(ctx: &Json, k: &str) -> Option<String> {
    ctx.get(k).and_then(Json::as_str).map(str::to_owned)
}

/// A generated `Context` from a context's JSON (every module has the same fields).
macro_rules! typed_context {
    ($($m:ident)::+, $ctx:expr) => {{
        let c: &Json = $ctx;
        $($m)::+::Context {
            user_id: s(c, "user_id"),
            account_id: s(c, "account_id"),
            email: s(c, "email"),
            country: s(c, "country"),
            user_agent: s(c, "user_agent"),
            plan: s(c, "plan").map(|v| v.parse().expect("plan")),
            platform: s(c, "platform").map(|v| v.parse().expect("platform")),
            app_version: s(c, "app_version").map(|v| v.into_semver().expect("semver")),
            employee: c.get("employee").and_then(Json::as_bool),
            account_age_days: c.get("account_age_days").and_then(Json::as_i64),
            cart_items: c.get("cart_items").and_then(Json::as_i64),
            cart_total: c.get("cart_total").and_then(Json::as_f64),
            risk_score: c.get("risk_score").and_then(Json::as_f64),
            signup: s(c, "signup").map(|v| v.into_timestamp().expect("datetime")),
            groups: c.get("groups").and_then(Json::as_array).map(|a| {
                a.iter().filter_map(Json::as_str).map(str::to_owned).collect()
            }),
        }
    }};
}

/// The flags `typed_value!` knows, which must be every flag of `examples/flags`.
const KEYS: &[&str] = &[
    "address_autocomplete",
    "apple_pay",
    "checkout_layout",
    "checkout_upsell_widget",
    "crypto_payments",
    "express_checkout_button",
    "fraud_review_threshold",
    "free_shipping_threshold",
    "loyalty_discount_percent",
    "max_cart_items",
    "one_page_checkout",
    "order_confirmation_template",
    "payment_retry_attempts",
    "payment_router_v2",
    "paypal_pay_later",
    "price_display",
    "search_page_size",
    "search_ranking_model",
    "search_typo_tolerance",
    "three_ds_mode",
];

/// One flag's value through its typed accessor, as JSON.
macro_rules! typed_value {
    ($f:expr, $ctx:expr, $key:expr) => {{
        let (f, ctx) = (&$f, $ctx);
        match $key {
            "address_autocomplete" => json!(f.address_autocomplete(ctx).as_str()),
            "apple_pay" => json!(f.apple_pay(ctx)),
            "checkout_layout" => json!(f.checkout_layout(ctx).as_str()),
            "checkout_upsell_widget" => json!(f.checkout_upsell_widget(ctx)),
            "crypto_payments" => json!(f.crypto_payments(ctx)),
            "express_checkout_button" => json!(f.express_checkout_button(ctx)),
            "fraud_review_threshold" => json!(f.fraud_review_threshold(ctx)),
            "free_shipping_threshold" => json!(f.free_shipping_threshold(ctx)),
            "loyalty_discount_percent" => json!(f.loyalty_discount_percent(ctx)),
            "max_cart_items" => json!(f.max_cart_items(ctx)),
            "one_page_checkout" => json!(f.one_page_checkout(ctx)),
            "order_confirmation_template" => json!(&*f.order_confirmation_template(ctx)),
            "payment_retry_attempts" => json!(f.payment_retry_attempts(ctx)),
            "payment_router_v2" => json!(f.payment_router_v2(ctx)),
            "paypal_pay_later" => json!(f.paypal_pay_later(ctx)),
            "price_display" => json!(f.price_display(ctx).as_str()),
            "search_page_size" => json!(f.search_page_size(ctx)),
            "search_ranking_model" => json!(f.search_ranking_model(ctx).as_str()),
            "search_typo_tolerance" => json!(f.search_typo_tolerance(ctx)),
            "three_ds_mode" => json!(f.three_ds_mode(ctx).as_str()),
            other => panic!("`{other}` is missing from typed_value!"),
        }
    }};
}

/// Loads a module's handle for a combination (`load` takes the module's own `Statics`).
macro_rules! handle {
    ($($m:ident)::+, $dir:expr, $env:expr, $region:expr) => {{
        use $($m)::+ as flags;
        let statics = flags::Statics {
            env: $env.parse().expect("env"),
            region: $region.parse().expect("region"),
        };
        flags::load($dir, statics).expect("load")
    }};
}

/// `flagc eval DIR --contexts FILE --static env=… --static region=…`: one JSON value a line.
fn cli_values(lines: &[(String, Json)], env: &str, region: &str) -> Vec<Json> {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    for (key, ctx) in lines {
        writeln!(file, "{}", json!({ "flag": key, "context": ctx })).expect("write a line");
    }
    file.flush().expect("flush");
    let out = Command::new(env!("CARGO_BIN_EXE_flagc-cli"))
        .arg("eval")
        .arg(DIR)
        .arg("--contexts")
        .arg(file.path())
        .args(["--static", &format!("env={env}")])
        .args(["--static", &format!("region={region}")])
        .output()
        .expect("run flagc eval");
    assert!(
        out.status.success(),
        "flagc eval failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let values: Vec<Json> = text
        .lines()
        .map(|l| {
            let v: Json = serde_json::from_str(l).expect("one JSON object a line");
            v.get("value").cloned().unwrap_or(Json::Null)
        })
        .collect();
    assert_eq!(values.len(), lines.len(), "one result per line");
    values
}

#[test]
fn static_dynamic_cli_and_interpreter_agree() {
    use flagc_accessor_tests as t;

    let checked = flagc::check_dir(Path::new(DIR), &flagc::CheckOptions::default())
        .expect("examples/flags is readable");
    let model = checked.model.expect("examples/flags is valid");
    let keys: Vec<&str> = model.flags.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, KEYS, "the test calls every flag of examples/flags");
    let layout = flagc::ir::Layout::of(&model.manifest);

    // Every flag's contexts, made once and used under every combination.
    let mut lines: Vec<(String, Json)> = Vec::new();
    for (i, f) in model.flags.iter().enumerate() {
        for ctx in contexts(&model, i, CONTEXTS_PER_FLAG) {
            lines.push((f.key.clone(), ctx));
        }
    }

    let combos = [
        ("development", "eu"),
        ("development", "us"),
        ("staging", "eu"),
        ("staging", "us"),
        ("production", "eu"),
        ("production", "us"),
    ];
    let mut checked_values = 0usize;
    for (env, region) in combos {
        let statics = Statics::from_pairs(&model.manifest, [("env", env), ("region", region)])
            .expect("a valid combination");
        let cli = cli_values(&lines, env, region);
        let dynamic = handle!(t::examples::flags, DIR, env, region);
        let printed_dynamic = handle!(t::checked_in_dynamic::flags, DIR, env, region);
        let printed_static = handle!(t::checked_in_production_eu::flags, "", "production", "eu");
        macro_rules! static_values {
            ($($m:ident)::+, $ctx:expr, $key:expr) => {{
                let f = handle!($($m)::+, "", env, region);
                typed_value!(f, &typed_context!($($m)::+, $ctx), $key)
            }};
        }
        for (n, (key, ctx)) in lines.iter().enumerate() {
            let flag = model.flag_index(key).expect("a flag of the model");
            let dyn_ctx = flagc::eval::Context::from_json(&layout, ctx).expect("valid context");
            let reference = flagc::interp::explain(&model, &statics, flag, &dyn_ctx)
                .expect("flag exists")
                .value
                .to_json(&model.flags[flag].ty);

            let compiled = match (env, region) {
                ("development", "eu") => {
                    static_values!(t::examples_static::development_eu::flags, ctx, key.as_str())
                }
                ("development", "us") => {
                    static_values!(t::examples_static::development_us::flags, ctx, key.as_str())
                }
                ("staging", "eu") => {
                    static_values!(t::examples_static::staging_eu::flags, ctx, key.as_str())
                }
                ("staging", "us") => {
                    static_values!(t::examples_static::staging_us::flags, ctx, key.as_str())
                }
                ("production", "eu") => {
                    static_values!(t::examples_static::production_eu::flags, ctx, key.as_str())
                }
                _ => static_values!(t::examples_static::production_us::flags, ctx, key.as_str()),
            };
            let live = typed_value!(
                dynamic,
                &typed_context!(t::examples::flags, ctx),
                key.as_str()
            );
            let printed = typed_value!(
                printed_dynamic,
                &typed_context!(t::checked_in_dynamic::flags, ctx),
                key.as_str()
            );
            let columns = [
                ("static mode", compiled),
                ("dynamic mode", live),
                ("flagc eval", cli[n].clone()),
                ("printed dynamic", printed),
            ];
            for (name, v) in &columns {
                assert_eq!(
                    *v, reference,
                    "{name} disagrees with the interpreter on `{key}` for {env}/{region}, context {ctx}"
                );
            }
            if (env, region) == ("production", "eu") {
                let p = typed_value!(
                    printed_static,
                    &typed_context!(t::checked_in_production_eu::flags, ctx),
                    key.as_str()
                );
                assert_eq!(p, reference, "printed static mode on `{key}`, {ctx}");
            }
            checked_values += 1;
        }
    }
    assert_eq!(
        checked_values,
        combos.len() * model.flags.len() * CONTEXTS_PER_FLAG
    );
}

/// The generator reaches the rules: each flag's value varies over its contexts under some
/// combination (a generator that only produced defaults would make agreement meaningless).
#[test]
fn contexts_exercise_the_rules() {
    let checked = flagc::check_dir(Path::new(DIR), &flagc::CheckOptions::default())
        .expect("examples/flags is readable");
    let model = checked.model.expect("valid");
    let layout = flagc::ir::Layout::of(&model.manifest);
    for (i, f) in model.flags.iter().enumerate() {
        let mut rules_fired = std::collections::BTreeSet::new();
        for statics in Statics::combinations(&model.manifest) {
            for ctx in contexts(&model, i, CONTEXTS_PER_FLAG) {
                let c = flagc::eval::Context::from_json(&layout, &ctx).expect("valid");
                let e = flagc::interp::explain(&model, &statics, i, &c).expect("flag");
                rules_fired.insert(e.rule);
            }
        }
        let all: std::collections::BTreeSet<Option<usize>> = std::iter::once(None)
            .chain(f.rules.iter().map(|r| Some(r.index)))
            .collect();
        assert_eq!(
            rules_fired, all,
            "`{}`: every rule and the default decide some context",
            f.key
        );
    }
}
