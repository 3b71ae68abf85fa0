//! Four readers evaluate continuously through a thousand mixed reloads (valid, invalid,
//! empty, unchanged, and type changes that keep a flag's old definition), the directory
//! swapped ConfigMap-style each time. Two flags in two files always hold the same number, so
//! a reader that ever saw them disagree would have seen a snapshot mixing two generations.
//!
//! The writer calls `reload()` itself: a watcher would add timing, not coverage (the
//! watcher's own paths are in `reload.rs`).
#![allow(clippy::unwrap_used)]

mod reload_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use flagc::eval::Context;
use flagc::ir::Value;
use flagc::runtime::{Reload, Runtime, Snapshot};
use reload_support::{ConfigMap, MANIFEST, flag, ints};

const RELOADS: i64 = 1000;
const READERS: usize = 4;

fn files(left: &str, right: &str, mode: &str) -> Vec<(&'static str, String)> {
    vec![
        ("flagc.toml", MANIFEST.to_owned()),
        ("left.toml", left.to_owned()),
        ("right.toml", right.to_owned()),
        ("mode.toml", flag("mode", mode)),
    ]
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("not an int: {other:?}"),
    }
}

#[test]
fn readers_never_see_a_mixed_or_bad_snapshot_through_a_thousand_mixed_reloads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("flags");
    let mut cm = ConfigMap::create(
        &dir,
        &files(&ints(&[("left", 0)]), &ints(&[("right", 0)]), "0"),
    );
    let rt = reload_support::runtime(&dir);
    let ordinal = |k: &str| {
        rt.spec()
            .flags
            .iter()
            .position(|(key, _)| key == k)
            .unwrap()
    };
    let (left, right, mode) = (ordinal("left"), ordinal("right"), ordinal("mode"));

    let stop = Arc::new(AtomicBool::new(false));
    let evaluations = Arc::new(AtomicU64::new(0));
    // Half the readers take a snapshot each time, half go through their thread's cache of
    // it (the generated accessors' path).
    let readers: Vec<_> = (0..READERS)
        .map(|n| {
            let (rt, stop, evaluations) = (rt.clone(), stop.clone(), evaluations.clone());
            let cached = n % 2 == 1;
            thread::spawn(move || read_until(&rt, &stop, &evaluations, [left, right, mode], cached))
        })
        .collect();
    let status_reader = {
        let (rt, stop) = (rt.clone(), stop.clone());
        thread::spawn(move || {
            let mut last = 0;
            while !stop.load(Ordering::Relaxed) {
                let g = rt.status().generation;
                assert!(g >= last, "status generation went back: {last} -> {g}");
                last = g;
            }
        })
    };

    let mut good = 0;
    let mut good_files = files(&ints(&[("left", 0)]), &ints(&[("right", 0)]), "0");
    let (mut swapped, mut rejected, mut unchanged) = (0, 0, 0);
    for i in 1..=RELOADS {
        let (l, r) = (ints(&[("left", i)]), ints(&[("right", i)]));
        let (next, expect_good) = match i % 10 {
            // Invalid TOML in one of the two files.
            6 => (files(&l, "[right]\ndefault = ", "0"), false),
            // One file emptied.
            9 => (files(&l, "", "0"), false),
            // `mode` turns into a string: it keeps its int definition, the rest goes live.
            7 => (files(&l, &r, "\"fast\""), true),
            // The live content again, in a new directory.
            8 => (good_files.clone(), false),
            _ => (files(&l, &r, &i.to_string()), true),
        };
        cm.update(&next);
        if expect_good {
            good_files = next;
        }
        match rt.reload() {
            Reload::Swapped { .. } => {
                assert!(expect_good, "reload {i} should not have gone live");
                swapped += 1;
                good = i;
            }
            Reload::Rejected(_) => {
                assert!(!expect_good, "reload {i} should have gone live");
                rejected += 1;
            }
            Reload::Unchanged => {
                assert!(!expect_good, "reload {i} should have gone live");
                unchanged += 1;
            }
        }
        // The last good snapshot is the one served.
        let ctx = Context::new(&rt.spec().layout);
        let snap = rt.snapshot();
        assert_eq!(int(snap.eval(left, &ctx).value), good, "after reload {i}");
        assert_eq!(int(snap.eval(right, &ctx).value), good, "after reload {i}");
        // The accessors' path (this thread's cached snapshot) sees it at once too.
        assert_eq!(
            rt.eval_with(left, &ctx, |e| int(e.value)),
            good,
            "after reload {i}"
        );
        assert_eq!(rt.with_snapshot(|s| s.generation), snap.generation);
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().expect("a reader panicked");
    }
    status_reader.join().expect("the status reader panicked");

    assert_eq!((swapped, rejected, unchanged), (700, 200, 100));
    assert!(evaluations.load(Ordering::Relaxed) > 0);
    let status = rt.status();
    assert_eq!(status.generation, 1 + swapped);
    assert!(status.last_error.is_none());
}

/// Evaluates the three flags from one snapshot at a time until told to stop: a snapshot
/// taken each time, or (`cached`) the thread's cached one.
fn read_until(
    rt: &Runtime,
    stop: &AtomicBool,
    evaluations: &AtomicU64,
    flags: [usize; 3],
    cached: bool,
) {
    let [left, right, mode] = flags;
    let ctx = Context::new(&rt.spec().layout);
    let (mut last_generation, mut last_value, mut n) = (0, 0, 0u64);
    let read = |snap: &Snapshot| {
        let l = int(snap.eval(left, &ctx).value);
        let r = int(snap.eval(right, &ctx).value);
        // `mode` keeps its type whatever the files say.
        let _ = int(snap.eval(mode, &ctx).value);
        (snap.generation, l, r)
    };
    while !stop.load(Ordering::Relaxed) {
        let (generation, l, r) = if cached {
            rt.with_snapshot(read)
        } else {
            read(&rt.snapshot())
        };
        assert_eq!(l, r, "generation {generation} mixes two contents");
        assert!(generation >= last_generation, "generation went back");
        assert!(
            l >= last_value,
            "an older snapshot came back: {last_value} -> {l}"
        );
        if generation == last_generation {
            assert_eq!(l, last_value, "one generation, two contents");
        }
        (last_generation, last_value) = (generation, l);
        n += 1;
        // Four spinning readers on a small machine would starve the writer.
        thread::yield_now();
    }
    evaluations.fetch_add(n, Ordering::Relaxed);
}
