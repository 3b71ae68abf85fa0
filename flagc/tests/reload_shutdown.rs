//! Dropping the watch guard leaves nothing running, and a panic on the watcher thread (here a
//! panicking reload listener) neither kills the watcher nor escapes. One test alone in its
//! binary, so that the threads it counts are its own.
#![allow(clippy::unwrap_used)]

mod reload_support;

use std::fs;
use std::time::{Duration, Instant};

use flagc::ir::Value;
use reload_support::{Fixture, ints, options};

/// Threads of this process started by the watcher (names as the kernel keeps them: at most 15
/// bytes).
fn watcher_threads() -> Vec<String> {
    let mut names = Vec::new();
    for task in fs::read_dir("/proc/self/task").unwrap().flatten() {
        if let Ok(comm) = fs::read_to_string(task.path().join("comm")) {
            let comm = comm.trim().to_owned();
            if comm.starts_with("flagc-watch") || comm.starts_with("notify-rs") {
                names.push(comm);
            }
        }
    }
    names.sort();
    names
}

/// The watcher threads once `done` holds for them, or after five seconds.
fn poll(done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let threads = watcher_threads();
        if done(&threads) || Instant::now() > deadline {
            return threads;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn dropping_the_guard_stops_every_thread_and_panics_stay_on_the_watcher_thread() {
    assert_eq!(watcher_threads(), Vec::<String>::new());
    let f = Fixture::new(&[("a.toml", &ints(&[("page_size", 10)]))]);
    f.rt.on_reload(|_| panic!("a listener that panics"));
    let guard = f.rt.watch(options()).unwrap();
    // Ours, the debouncer's and inotify's; a thread names itself once it runs.
    let all = ["flagc-watch", "notify-rs debou", "notify-rs inoti"];
    let running = poll(|t| t == all);
    assert_eq!(running, all);

    for n in [20, 30] {
        fs::write(f.path("a.toml"), ints(&[("page_size", n)])).unwrap();
        f.wait_value("page_size", Value::Int(n));
    }
    assert_eq!(
        watcher_threads(),
        running,
        "the watcher survived the panics"
    );

    drop(guard);
    // The watcher and debouncer threads are joined; notify's own event loop ends on its own
    // right after.
    assert_eq!(poll(|t| t.is_empty()), Vec::<String>::new());

    // Nothing reloads any more.
    let attempts = f.rt.reload_attempts();
    fs::write(f.path("a.toml"), ints(&[("page_size", 40)])).unwrap();
    assert!(f.drain(Duration::from_millis(300)).is_empty());
    assert_eq!(f.rt.reload_attempts(), attempts);
    assert_eq!(f.value("page_size"), Value::Int(30));
}
