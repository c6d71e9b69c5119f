//! Task ids: unique for the life of the process, never reused.

use std::fmt;
use std::num::NonZeroU64;

// Ids are not part of any model-checked protocol, so plain std atomics serve under loom too.
use std::sync::atomic::{AtomicU64, Ordering};

/// An opaque id that identifies a task among all tasks the process has spawned.
///
/// ```
/// corio::run(async {
///     let handle = corio::spawn(async { corio::task::id() });
///     let id = handle.id();
///     assert_eq!(handle.await.unwrap(), id);
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    pub(crate) fn next() -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Id(NonZeroU64::new(n).expect("task id counter wrapped"))
    }

    /// The id as an integer.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
