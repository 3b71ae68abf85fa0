//! The one way the pipeline uses more than one core: a map over a slice on scoped threads,
//! results in the order of the items, so that output is identical whatever the number of
//! threads. Used for the per-file stages of the check and for the cleanup lint's per-flag
//! compilations.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Below this much work, threads cost more than they save. The unit is a byte of TOML input;
/// callers weighing other items say what one of them is worth in those bytes.
pub(crate) const MIN_WORK: usize = 64 * 1024;

/// `items.iter().map(f)`, on all cores when the items weigh at least [`MIN_WORK`] in total.
/// Threads take the next item as they become free, so one heavy item does not hold up the
/// others; results keep the order of the items.
pub(crate) fn map<T: Sync, R: Send>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    map_with(items, weight, || (), |(), item| f(item))
}

/// [`map`] with per-thread scratch state: each thread calls `init` once and passes its state
/// to every `f` it runs (caches, reusable buffers). `f`'s result must not depend on which
/// thread ran it.
pub(crate) fn map_with<T: Sync, S, R: Send>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(items.len());
    // Stops summing as soon as the answer is known.
    let heavy = || {
        let mut total = 0usize;
        items.iter().any(|item| {
            total = total.saturating_add(weight(item));
            total >= MIN_WORK
        })
    };
    if threads <= 1 || !heavy() {
        let mut state = init();
        return items.iter().map(|item| f(&mut state, item)).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut state = init();
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return out;
            };
            out.push((i, f(&mut state, item)));
        }
    };
    let mut results: Vec<(usize, R)> = std::thread::scope(|s| {
        // Named, so that they are recognisable in a debugger or `top` (and not taken for the
        // thread that called the check); a thread the system refuses just leaves more work for
        // the others.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("flagc-check".to_owned())
                    .spawn_scoped(s, work)
                    .ok()
            })
            .collect();
        let mut all = work();
        for h in helpers {
            match h.join() {
                Ok(part) => all.extend(part),
                // A bug in a check: fail as the single-threaded pipeline would.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items_on_any_path() {
        let items: Vec<usize> = (0..1000).collect();
        // Light: one thread; heavy: as many as the machine has.
        for weight in [1, MIN_WORK] {
            let out = map(&items, |_| weight, |&i| i * 2);
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn state_is_per_thread_and_reused() {
        let items: Vec<usize> = (0..1000).collect();
        let out = map_with(
            &items,
            |_| MIN_WORK,
            Vec::new,
            |seen: &mut Vec<usize>, &i| {
                seen.push(i);
                // Items a thread takes come in increasing order.
                seen.windows(2).all(|w| w[0] < w[1])
            },
        );
        assert!(out.into_iter().all(|ok| ok));
    }
}
