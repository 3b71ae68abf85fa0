//! Random flag directories and contexts for the differential tests.
//!
//! Directories use every attribute type and every operator (including the ones flagd cannot
//! express, whose flags must then be refused with the specific error). Contexts are drawn
//! from the literals the model mentions, perturbed, so that rules fire, narrowly miss and
//! meet the edge values JSONLogic is loose about (`""`, `0`, `false`, `[]`, unset).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use flagc::Model;
use flagc::model::{AttrType, Condition, Lit, Op, Outcome};
use serde_json::{Value as Json, json};

/// xorshift64*: small, seedable, good enough to pick test cases.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

const STRINGS: &[&str] = &["a", "ab", "b", "ba", "x", "xy", "y", "@e.com", ""];
const ENUM: &[&str] = &["red", "green", "blue"];
const VERSIONS: &[&str] = &["1.0.0", "1.2.0", "2.0.0-rc.1", "2.0.0", "10.1.3"];
const BUCKETING: &[&str] = &["s1", "s2", "i1", "e1"];

fn toml_str(s: &str) -> String {
    format!("{s:?}")
}

fn str_list(rng: &mut Rng, max: usize) -> String {
    let n = 1 + rng.below(max);
    let items: Vec<String> = (0..n).map(|_| toml_str(rng.pick(STRINGS))).collect();
    format!("[{}]", items.join(", "))
}

fn needles(rng: &mut Rng) -> String {
    if rng.chance(50) {
        toml_str(rng.pick(STRINGS))
    } else {
        str_list(rng, 2)
    }
}

/// A condition value for one attribute; `unexportable` is set when it is one flagd cannot
/// express (a regex on a string, a datetime comparison).
fn condition(rng: &mut Rng, attr: &str, unexportable: &mut bool) -> String {
    match attr {
        "s1" | "s2" => match rng.below(11) {
            0 => toml_str(rng.pick(STRINGS)),
            1 => str_list(rng, 3),
            2 => format!("{{ in = {} }}", str_list(rng, 3)),
            3 => format!("{{ not_in = {} }}", str_list(rng, 3)),
            4 => format!("{{ ne = {} }}", toml_str(rng.pick(STRINGS))),
            5 => format!("{{ starts_with = {} }}", needles(rng)),
            6 => format!("{{ ends_with = {} }}", needles(rng)),
            7 => format!("{{ contains = {} }}", needles(rng)),
            8 => "{ not_in = [] }".into(),
            9 if rng.chance(30) => {
                *unexportable = true;
                "{ matches = \"^a\" }".into()
            }
            _ => format!(
                "{{ starts_with = {}, ne = {} }}",
                toml_str(rng.pick(STRINGS)),
                toml_str(rng.pick(STRINGS))
            ),
        },
        "i1" => match rng.below(7) {
            0 => format!("{}", rng.below(5) as i64 - 2),
            1 => format!("[{}, {}]", rng.below(5) as i64 - 2, rng.below(5)),
            2 => format!("{{ lt = {} }}", rng.below(5) as i64 - 2),
            3 => format!(
                "{{ gte = {}, lt = {} }}",
                rng.below(3) as i64 - 2,
                rng.below(4)
            ),
            4 => "{ ne = 0 }".into(),
            5 => "{ not_in = [0, 1] }".into(),
            _ => format!("{{ gt = {} }}", rng.below(5) as i64 - 3),
        },
        "f1" => match rng.below(6) {
            0 => "{ gt = 0.5 }".into(),
            1 => "{ lte = 0 }".into(),
            2 => "1.5".into(),
            3 => "[0.0, 2.5]".into(),
            4 => "{ ne = 0.0 }".into(),
            _ => "{ gte = -1.25, lt = 2 }".into(),
        },
        "b1" => match rng.below(4) {
            0 => "true".into(),
            1 => "false".into(),
            2 => "{ ne = true }".into(),
            _ => "{ not_in = [false] }".into(),
        },
        "v1" => match rng.below(6) {
            0 => format!("{{ gte = {} }}", toml_str(rng.pick(VERSIONS))),
            1 => format!("{{ lt = {} }}", toml_str(rng.pick(VERSIONS))),
            2 => toml_str(rng.pick(VERSIONS)),
            3 => format!("{{ ne = {} }}", toml_str(rng.pick(VERSIONS))),
            4 => "{ in = [\"1.0.0+build.5\", \"2.0.0\"] }".into(),
            _ => format!(
                "{{ gt = {}, lte = {} }}",
                toml_str(VERSIONS[0]),
                toml_str(rng.pick(VERSIONS))
            ),
        },
        "e1" => match rng.below(5) {
            0 => toml_str(rng.pick(ENUM)),
            1 => "[\"red\", \"blue\"]".into(),
            2 => "{ ne = \"green\" }".into(),
            3 => "{ in = [\"green\"] }".into(),
            _ => "{ not_in = [\"red\"] }".into(),
        },
        "l1" => match rng.below(7) {
            0 => toml_str(rng.pick(STRINGS)),
            1 => str_list(rng, 2),
            2 => format!("{{ not_in = {} }}", str_list(rng, 2)),
            3 => format!("{{ ne = {} }}", toml_str(rng.pick(STRINGS))),
            4 => format!("{{ starts_with = {} }}", needles(rng)),
            5 => format!("{{ contains = {} }}", needles(rng)),
            _ => format!("{{ ends_with = {} }}", needles(rng)),
        },
        "d1" => {
            if rng.chance(25) {
                *unexportable = true;
                "{ lt = 2026-01-01T00:00:00Z }".into()
            } else {
                "{ not_in = [] }".into()
            }
        }
        "env" => match rng.below(3) {
            0 => "\"dev\"".into(),
            1 => "{ ne = \"dev\" }".into(),
            _ => "[\"dev\", \"prod\"]".into(),
        },
        _ => "\"?\"".into(),
    }
}

const ATTRS: &[&str] = &[
    "s1", "s2", "i1", "f1", "b1", "v1", "e1", "l1", "d1", "env", "segment",
];

/// A `when` table: up to `max` conditions on distinct attributes.
fn when(rng: &mut Rng, max: usize, segments: &[&str], unexportable: &mut bool) -> String {
    let n = rng.below(max + 1);
    let mut used: Vec<&str> = Vec::new();
    let mut parts = Vec::new();
    for _ in 0..n {
        let a = rng.pick(ATTRS);
        if used.contains(&a) || (a == "segment" && segments.is_empty()) {
            continue;
        }
        used.push(a);
        if a == "segment" {
            let v = if segments.len() > 1 && rng.chance(40) {
                format!(
                    "[{}]",
                    segments
                        .iter()
                        .map(|s| toml_str(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                toml_str(rng.pick(segments))
            };
            parts.push(format!("segment = {v}"));
        } else {
            parts.push(format!("{a} = {}", condition(rng, a, unexportable)));
        }
    }
    format!("{{ {} }}", parts.join(", "))
}

/// Percentages in thousandths that sum to 100, written with three decimals.
fn weights(rng: &mut Rng, keys: &[&str]) -> String {
    let mut left = 100_000u64;
    let mut parts = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let w = if i + 1 == keys.len() {
            left
        } else if rng.chance(15) {
            0
        } else {
            rng.next() % (left + 1)
        };
        left -= w;
        parts.push(format!("{k} = {}.{:03}", w / 1000, w % 1000));
    }
    parts.join(", ")
}

/// Draws a random value of a flag's type, as TOML.
type ValueGen = Box<dyn Fn(&mut Rng) -> String>;

/// A random flag directory: `(files, flags that use something flagd cannot express)`.
pub fn random_dir(seed: u64) -> (BTreeMap<String, String>, Vec<String>) {
    let mut rng = Rng::new(seed);
    let mut files = BTreeMap::new();
    let mut unexportable_flags = Vec::new();
    let mut manifest = String::from(
        "[static]\nenv = [\"dev\", \"prod\"]\n\n[context]\ns1 = \"string\"\ns2 = \"string\"\n\
         i1 = \"int\"\nf1 = \"float\"\nb1 = \"bool\"\nv1 = \"semver\"\n\
         e1 = [\"red\", \"green\", \"blue\"]\nl1 = \"string[]\"\nd1 = \"datetime\"\n\n\
         [rollout]\nby = \"s1\"\n\n[segments]\n",
    );
    // Segment conditions are exportable only; their flags must not fail for them.
    let mut seg_flags = false;
    let _ = writeln!(
        manifest,
        "seg_a = {}",
        when(&mut rng, 2, &[], &mut seg_flags)
    );
    let _ = writeln!(
        manifest,
        "seg_b = {}",
        when(&mut rng, 2, &["seg_a"], &mut seg_flags)
    );
    files.insert("flagc.toml".to_owned(), manifest);
    let segments: &[&str] = &["seg_a", "seg_b"];

    let mut text = String::new();
    for f in 0..6 + rng.below(5) {
        let kind = rng.below(5);
        let key = format!("flag_{f}");
        let mut unexportable = seg_flags;
        let (header, value): (String, ValueGen) = match kind {
            0 => (
                "default = false".into(),
                Box::new(|r: &mut Rng| r.chance(50).to_string()),
            ),
            1 => (
                "default = 0".into(),
                Box::new(|r: &mut Rng| (r.below(7) as i64 - 3).to_string()),
            ),
            2 => (
                "type = \"float\"\ndefault = 1".into(),
                Box::new(|r: &mut Rng| r.pick(&["0.0", "-2.5", "0.1", "3", "1e3"]).to_string()),
            ),
            3 => (
                "default = \"s0\"".into(),
                Box::new(|r: &mut Rng| toml_str(r.pick(&["s0", "s1", "", "on"]))),
            ),
            _ => (
                "variants = [\"v_a\", \"v_b\", \"v_c\"]\ndefault = \"v_a\"".into(),
                Box::new(|r: &mut Rng| toml_str(r.pick(&["v_a", "v_b", "v_c"]))),
            ),
        };
        let _ = writeln!(
            text,
            "[{key}]\ndescription = \"random flag {f}\"\nowner = \"tests\"\nexpires = 2099-01-01\n{header}"
        );
        if rng.chance(30) {
            let _ = writeln!(text, "salt = \"salt-{seed}-{f}\"");
        }
        text.push('\n');
        for r in 0..rng.below(5) {
            let _ = writeln!(text, "[[{key}.rules]]");
            if rng.chance(30) {
                let _ = writeln!(text, "id = \"r{r}\"");
            }
            let w = when(&mut rng, 3, segments, &mut unexportable);
            let _ = writeln!(text, "when = {w}");
            let rollout = (kind == 0 || kind == 4) && rng.chance(45);
            if rollout {
                let keys: &[&str] = if kind == 0 {
                    &["true", "false"]
                } else {
                    &["v_a", "v_b", "v_c"]
                };
                let by = if rng.chance(50) {
                    format!("by = {}, ", toml_str(rng.pick(BUCKETING)))
                } else {
                    String::new()
                };
                let _ = writeln!(text, "rollout = {{ {by}{} }}", weights(&mut rng, keys));
            } else {
                let _ = writeln!(text, "value = {}", value(&mut rng));
            }
            text.push('\n');
        }
        if unexportable {
            unexportable_flags.push(key);
        }
    }
    files.insert("flags.toml".to_owned(), text);
    (files, unexportable_flags)
}

/// Literals the model mentions, per context attribute.
#[derive(Debug, Default, Clone)]
struct Pool {
    strings: Vec<String>,
    ints: Vec<i64>,
    floats: Vec<f64>,
    versions: Vec<String>,
}

fn collect(conds: &[Condition], model: &Model, pools: &mut [Pool]) {
    for c in conds {
        let Condition::Attr {
            attr: flagc::model::AttrRef::Context(i),
            ops,
            ..
        } = c
        else {
            continue;
        };
        let pool = &mut pools[*i];
        for op in ops {
            let lits: Vec<&Lit> = match op {
                Op::In(l) | Op::NotIn(l) => l.iter().collect(),
                Op::Cmp(_, l) => vec![l],
                Op::Str(_, needles) => {
                    pool.strings.extend(needles.iter().cloned());
                    Vec::new()
                }
            };
            for l in lits {
                match l {
                    Lit::Str(s) => pool.strings.push(s.clone()),
                    Lit::Int(x) => pool.ints.push(*x),
                    Lit::Float(x) => pool.floats.push(*x),
                    Lit::Semver(v) => pool.versions.push(v.to_string()),
                    _ => {}
                }
            }
        }
    }
    let _ = model;
}

/// `n` random contexts for `model`: JSON objects as `flagc eval --contexts` and flagd take
/// them (ASCII strings only: flagd's JavaScript evaluator hashes UTF-16 code units).
pub fn contexts(model: &Model, rng: &mut Rng, n: usize) -> Vec<Json> {
    let m = &model.manifest;
    let mut pools = vec![Pool::default(); m.context.len()];
    for s in &m.segments {
        collect(&s.when, model, &mut pools);
    }
    for f in &model.flags {
        for r in &f.rules {
            collect(&r.when, model, &mut pools);
            let _ = matches!(r.outcome, Outcome::Rollout(_));
        }
    }
    let fillers = ["", "a", "z", "Q", "-", "u-1", "@", "."];
    (0..n)
        .map(|_| {
            let mut obj = serde_json::Map::new();
            for (i, attr) in m.context.iter().enumerate() {
                if rng.chance(20) {
                    if rng.chance(25) {
                        obj.insert(attr.name.clone(), Json::Null);
                    }
                    continue;
                }
                let pool = &pools[i];
                let string = |rng: &mut Rng| -> String {
                    let mut s = String::new();
                    if !pool.strings.is_empty() && rng.chance(70) {
                        s.push_str(&rng.pick(&pool.strings));
                    }
                    if rng.chance(40) {
                        s.push_str(rng.pick(&fillers));
                    }
                    if !pool.strings.is_empty() && rng.chance(30) {
                        s.push_str(&rng.pick(&pool.strings));
                    }
                    if rng.chance(15) {
                        s = format!("u-{}", rng.next() % 100_000);
                    }
                    s.retain(|c| c.is_ascii());
                    s
                };
                let value = match &attr.ty {
                    AttrType::String => json!(string(rng)),
                    AttrType::Int => {
                        let base = if pool.ints.is_empty() || rng.chance(20) {
                            rng.below(2001) as i64 - 1000
                        } else {
                            rng.pick(&pool.ints)
                        };
                        json!(base + rng.below(3) as i64 - 1)
                    }
                    AttrType::Float => {
                        let base = if pool.floats.is_empty() || rng.chance(20) {
                            (rng.below(4001) as f64 - 2000.0) / 8.0
                        } else {
                            rng.pick(&pool.floats)
                        };
                        let delta = rng.pick(&[0.0, 0.0, 0.25, -0.25, 1e-9, -1e-9]);
                        json!(base + delta)
                    }
                    AttrType::Bool => json!(rng.chance(50)),
                    AttrType::Semver => {
                        let mut all: Vec<String> = pool.versions.clone();
                        all.extend(VERSIONS.iter().map(|s| (*s).to_owned()));
                        all.extend(
                            ["0.9.9", "3.2.0", "3.2.0-beta.2", "4.1.0", "4.5.1", "5.0.0"]
                                .map(String::from),
                        );
                        let base = rng.pick(&all);
                        let suffix = rng.pick(&["", "", "", "+build.7", "-alpha", "-rc.1"]);
                        if base.contains(['-', '+']) {
                            json!(base)
                        } else {
                            json!(format!("{base}{suffix}"))
                        }
                    }
                    AttrType::Datetime => json!(rng.pick(&[
                        "2024-06-01T00:00:00Z",
                        "2026-01-01T00:00:00+01:00",
                        "2027-03-01T12:30:00Z"
                    ])),
                    AttrType::StringList => {
                        let k = rng.below(4);
                        json!((0..k).map(|_| string(rng)).collect::<Vec<_>>())
                    }
                    AttrType::Enum(values) => json!(rng.pick(values)),
                };
                obj.insert(attr.name.clone(), value);
            }
            Json::Object(obj)
        })
        .collect()
}
