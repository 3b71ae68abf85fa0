//! Each thread's cache of the live snapshots (`Runtime::with_snapshot`, `Runtime::eval_with`,
//! the generated accessors' path): a reload is seen by the next call on every thread, more
//! runtimes than the cache holds each see their own flags, a new runtime is never served a
//! dropped one's snapshot, and using flags from inside the closure works.
#![allow(clippy::unwrap_used)]

mod reload_support;

use std::fs;
use std::sync::mpsc;
use std::thread;

use flagc::eval::Context;
use flagc::ir::Value;
use flagc::runtime::{Reload, Runtime};
use reload_support::{Fixture, ints};

fn page_size(rt: &Runtime) -> i64 {
    let ordinal = rt
        .spec()
        .flags
        .iter()
        .position(|(k, _)| k == "page_size")
        .unwrap();
    let ctx = Context::new(&rt.spec().layout);
    rt.eval_with(ordinal, &ctx, |e| match e.value {
        Value::Int(n) => *n,
        other => panic!("page_size is {other:?}"),
    })
}

fn fixture(n: i64) -> Fixture {
    Fixture::new(&[("a.toml", &ints(&[("page_size", n)]))])
}

fn set(f: &Fixture, n: i64) {
    fs::write(f.path("a.toml"), ints(&[("page_size", n)])).unwrap();
    assert!(
        matches!(f.rt.reload(), Reload::Swapped { .. }),
        "page_size = {n} should go live"
    );
}

#[test]
fn a_reload_is_seen_by_the_next_call() {
    let f = fixture(10);
    assert_eq!(page_size(&f.rt), 10);
    for n in 11..20 {
        set(&f, n);
        assert_eq!(page_size(&f.rt), n);
        assert_eq!(
            f.rt.with_snapshot(|s| s.generation),
            f.rt.snapshot().generation
        );
    }
}

#[test]
fn more_runtimes_than_cache_slots_each_see_their_own_flags() {
    let fixtures: Vec<Fixture> = (0..9).map(|i| fixture(100 * i)).collect();
    for round in 1..4 {
        for (i, f) in fixtures.iter().enumerate() {
            assert_eq!(page_size(&f.rt), 100 * i as i64 + round - 1);
        }
        // Reload every other runtime, read them all in another order.
        for (i, f) in fixtures.iter().enumerate().rev() {
            set(f, 100 * i as i64 + round);
        }
        for (i, f) in fixtures.iter().enumerate().rev() {
            assert_eq!(page_size(&f.rt), 100 * i as i64 + round);
        }
    }
}

#[test]
fn a_new_runtime_is_not_served_a_dropped_ones_snapshot() {
    for n in 0..20 {
        let f = fixture(n);
        assert_eq!(page_size(&f.rt), n);
        // A clone shares the runtime, and so the cached snapshot.
        let clone = f.rt.clone();
        set(&f, n + 1000);
        assert_eq!(page_size(&clone), n + 1000);
        drop(f);
    }
}

#[test]
fn flags_can_be_used_inside_the_closure() {
    let f = fixture(7);
    let other = fixture(8);
    let (inner, nested) = f.rt.with_snapshot(|outer| {
        (
            page_size(&f.rt),
            other.rt.with_snapshot(|s| s.generation) + outer.generation,
        )
    });
    assert_eq!(inner, 7);
    assert_eq!(
        nested,
        other.rt.snapshot().generation + f.rt.snapshot().generation
    );
}

#[test]
fn other_threads_see_a_reload_on_their_next_call() {
    let f = fixture(1);
    let (to_reader, requests) = mpsc::channel::<i64>();
    let (answers, from_reader) = mpsc::channel::<(i64, i64)>();
    let rt = f.rt.clone();
    let reader = thread::spawn(move || {
        for want in requests {
            answers.send((want, page_size(&rt))).unwrap();
        }
    });
    for n in 1..30 {
        if n > 1 {
            set(&f, n);
        }
        to_reader.send(n).unwrap();
        let (want, got) = from_reader.recv().unwrap();
        assert_eq!(got, want, "the reader thread saw a stale snapshot");
    }
    drop(to_reader);
    reader.join().unwrap();
}
