//! Bucketing (DESIGN §1 "Rollouts"): every shared vector, the streamed hash against the
//! `murmur3` crate, and the laws a rollout must obey.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;
use std::path::PathBuf;

use flagc::bucket::{bucket, bucket_in, murmur3_x86_32, pick, total};
use proptest::prelude::*;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/vectors")
}

/// Checks every line of a vector file; returns how many were checked.
fn check_vectors(file: &str) -> usize {
    let path = vectors_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut n = 0;
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let salt = v["salt"].as_str().unwrap();
        let value = v["value"].as_str().unwrap();
        let weights: Vec<(String, u32)> = v["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w[0].as_str().unwrap().to_owned(),
                    w[1].as_u64().unwrap() as u32,
                )
            })
            .collect();
        let ws: Vec<u32> = weights.iter().map(|w| w.1).collect();
        let b = bucket_in(salt.as_bytes(), value.as_bytes(), total(&ws));
        let chosen = &weights[pick(&ws, b)].0;
        assert_eq!(
            chosen,
            v["variant"].as_str().unwrap(),
            "{file}:{}: salt {salt:?} value {value:?} weights {weights:?} bucket {b}",
            line_no + 1
        );
        n += 1;
    }
    n
}

#[test]
fn flagd_vectors() {
    assert_eq!(check_vectors("bucketing.jsonl"), 1250);
}

#[test]
fn utf8_vectors() {
    assert!(check_vectors("bucketing-utf8.jsonl") >= 20);
}

fn reference(bytes: &[u8]) -> u32 {
    murmur3::murmur3_32(&mut Cursor::new(bytes), 0).unwrap()
}

proptest! {
    #[test]
    fn streamed_hash_is_murmur3_of_the_concatenation(
        a in proptest::collection::vec(any::<u8>(), 0..40),
        b in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let joined: Vec<u8> = a.iter().chain(&b).copied().collect();
        prop_assert_eq!(murmur3_x86_32(&a, &b), reference(&joined));
    }

    #[test]
    fn bucketing_is_deterministic_and_in_range(salt in ".{0,20}", value in ".{0,30}") {
        let b = bucket(salt.as_bytes(), value.as_bytes());
        prop_assert!(b < 100_000);
        prop_assert_eq!(b, bucket(salt.as_bytes(), value.as_bytes()));
        // Where the salt ends and the value begins does not matter: it is salt ++ value.
        let joined = format!("{salt}{value}");
        prop_assert_eq!(b, bucket(joined.as_bytes(), b""));
    }

    #[test]
    fn raising_the_first_percentage_never_removes_anyone(
        value in "[a-z0-9-]{1,16}",
        first in 0u32..=100_000,
        raise in 0u32..=100_000,
        split in 0u32..=100,
    ) {
        let raised = first.saturating_add(raise).min(100_000);
        // The rest is split between two other variants, in some proportion.
        let weights = |p: u32| {
            let rest = 100_000 - p;
            let second = rest / 100 * split;
            [p, second, rest - second]
        };
        let b = bucket(b"flag", value.as_bytes());
        if pick(&weights(first), b) == 0 {
            prop_assert_eq!(pick(&weights(raised), b), 0);
        }
    }
}

#[test]
fn shares_follow_the_weights_over_a_million_ids() {
    let weights = [10_000u32, 25_000, 65_000];
    let mut counts = [0u32; 3];
    let mut id = String::with_capacity(16);
    for i in 0..1_000_000u32 {
        use std::fmt::Write;
        id.clear();
        write!(id, "user-{i}").unwrap();
        counts[pick(&weights, bucket(b"checkout_layout", id.as_bytes()))] += 1;
    }
    for (c, w) in counts.iter().zip(weights) {
        let share = f64::from(*c) / 10_000.0; // percent
        let want = f64::from(w) / 1_000.0;
        assert!(
            (share - want).abs() < 0.5,
            "share {share:.3}% for weight {want}% ({counts:?})"
        );
    }
}
