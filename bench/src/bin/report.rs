//! Prints the BENCHMARKS.md tables from the last `cargo bench` run: every scenario's criterion
//! median per engine, and each engine's ratio to the three ways of using flagc.
//!
//! Run: `cd bench && cargo run --release --bin report [CRITERION_DIR]` (default
//! `target/criterion`).

use std::path::{Path, PathBuf};

use flagc_bench::scenarios::SCENARIOS;

const FLAGC: [(&str, &str); 3] = [
    ("flagc_static", "flagc typed, static"),
    ("flagc_dynamic", "flagc typed, dynamic"),
    ("flagc_lookup", "flagc lookup by key"),
];
const PEERS: [(&str, &str); 3] = [
    ("unleash", "unleash-yggdrasil 0.21.7"),
    ("launchdarkly", "launchdarkly-server-sdk-evaluation 2.2.1"),
    ("flagd", "flagd-evaluation-engine 0.1.0"),
];

/// The goal: the fastest peer takes at least this many times as long as flagc.
const GOAL: f64 = 10.0;

fn median_ns(dir: &Path, group: &str, function: &str) -> Option<f64> {
    let path = dir.join(group).join(function).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn time(ns: f64) -> String {
    if ns < 10.0 {
        format!("{ns:.2} ns")
    } else if ns < 1_000.0 {
        format!("{ns:.1} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.1} ms", ns / 1e6)
    }
}

fn ratio(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.2}×")
    } else {
        format!("{r:.0}×")
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion"));

    let mut summary = Vec::new();
    let mut tables = String::new();
    for s in SCENARIOS {
        let flagc: Vec<Option<f64>> = FLAGC
            .iter()
            .map(|(f, _)| median_ns(&dir, s.name, f))
            .collect();
        tables.push_str(&format!(
            "\n#### `{}` (flag `{}`)\n\n| engine | median | ÷ flagc static | ÷ flagc dynamic | ÷ flagc lookup |\n|---|---:|---:|---:|---:|\n",
            s.name, s.key
        ));
        let mut fastest: Option<(&str, f64)> = None;
        for (id, label) in FLAGC.iter().chain(&PEERS) {
            let Some(m) = median_ns(&dir, s.name, id) else {
                if id.starts_with("flagc_") && *id != "flagc_lookup" {
                    tables.push_str(&format!("| {label} | n/a: a compile error | | | |\n"));
                }
                continue;
            };
            if !id.starts_with("flagc") && fastest.is_none_or(|(_, f)| m < f) {
                fastest = Some((label, m));
            }
            let ratios: Vec<String> = flagc
                .iter()
                .map(|f| f.map_or_else(String::new, |f| ratio(m / f)))
                .collect();
            tables.push_str(&format!(
                "| {label} | {} | {} |\n",
                time(m),
                ratios.join(" | ")
            ));
        }
        if let Some((name, f)) = fastest {
            let r: Vec<String> = flagc
                .iter()
                .map(|x| match x {
                    Some(x) => {
                        let r = f / x;
                        format!("{}{}", ratio(r), if r >= GOAL { "" } else { " ✗" })
                    }
                    None => "n/a".into(),
                })
                .collect();
            summary.push(format!(
                "| `{}` | {} | {} | {} | {} |",
                s.name,
                flagc
                    .iter()
                    .map(|x| x.map_or("n/a".into(), time))
                    .collect::<Vec<_>>()
                    .join(" | "),
                time(f),
                name.split(' ').next().unwrap_or(name),
                r.join(" | "),
            ));
        }
    }

    println!(
        "| scenario | flagc static | flagc dynamic | flagc lookup | fastest peer | which | peer ÷ static | peer ÷ dynamic | peer ÷ lookup |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|---:|");
    for line in &summary {
        println!("{line}");
    }
    print!("{tables}");

    println!("\n#### `ingest_10000_flags`\n\n| engine | median | ÷ flagc |\n|---|---:|---:|");
    let flagc = median_ns(&dir, "ingest_10000_flags", "flagc");
    for (id, label) in [("flagc", "flagc (parse, check, compile)")]
        .iter()
        .chain(&PEERS)
    {
        if let Some(m) = median_ns(&dir, "ingest_10000_flags", id) {
            let r = flagc.map_or_else(String::new, |f| ratio(m / f));
            println!("| {label} | {} | {r} |", time(m));
        }
    }
}
