//! Where the provider reads its flags: one snapshot per evaluation.

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use flagc::ir::Program;
use flagc::runtime::{self, Runtime};

/// A source of compiled flags that may be swapped at any time (hot reload).
pub trait FlagSource: Send + Sync + 'static {
    /// What one evaluation reads; it does not change while held, whatever is swapped in.
    type Snapshot: Snapshot;

    /// The current snapshot (an atomic load: never blocks).
    fn snapshot(&self) -> Self::Snapshot;
}

/// One consistent set of compiled flags.
pub trait Snapshot {
    /// The program holding flag `key` and the flag's index in it.
    fn flag(&self, key: &str) -> Option<(&Program, usize)>;
}

impl Snapshot for Guard<Arc<Program>> {
    fn flag(&self, key: &str) -> Option<(&Program, usize)> {
        let program: &Program = self;
        program.flag_index(key).map(|i| (program, i))
    }
}

impl FlagSource for Arc<ArcSwap<Program>> {
    type Snapshot = Guard<Arc<Program>>;

    fn snapshot(&self) -> Self::Snapshot {
        self.load()
    }
}

impl Snapshot for Guard<Arc<runtime::Snapshot>> {
    fn flag(&self, key: &str) -> Option<(&Program, usize)> {
        // The typed program first: it carries the runtime's overrides.
        let typed = self.program();
        if let Some(i) = typed.flag_index(key) {
            return Some((typed, i));
        }
        let all = self.all_flags();
        all.flag_index(key).map(|i| (all, i))
    }
}

impl FlagSource for Runtime {
    type Snapshot = Guard<Arc<runtime::Snapshot>>;

    fn snapshot(&self) -> Self::Snapshot {
        Runtime::snapshot(self)
    }
}
