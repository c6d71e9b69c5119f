//! A flag that tasks can wait for: asyncio's `Event`.
//!
//! An [`Event`] is set or clear. [`wait`](Event::wait) returns at once while it is set, and
//! otherwise waits until [`set`](Event::set) is called, which wakes every waiting task.
//! [`clear`](Event::clear) makes later waits wait again.
//!
//! ```
//! use std::sync::Arc;
//! use corio::sync::Event;
//!
//! corio::run(async {
//!     let started = Arc::new(Event::new());
//!     let workers: Vec<_> = (0..3)
//!         .map(|n| {
//!             let started = started.clone();
//!             corio::spawn(async move {
//!                 started.wait().await;
//!                 n * 10
//!             })
//!         })
//!         .collect();
//!     started.set(); // releases all three
//!     for (n, worker) in workers.into_iter().enumerate() {
//!         assert_eq!(worker.await.unwrap(), n * 10);
//!     }
//! });
//! ```
//!
//! # Semantics
//!
//! As in asyncio, every task waiting when `set` is called returns, even if the event is
//! cleared again before the task runs. Waiting is cancellation-safe: a dropped `wait` takes
//! nothing away from other waiters.
//!
//! # How it works
//!
//! An atomic flag and a [`Notify`]: `set` raises the flag and, if it was clear, calls
//! [`Notify::notify_waiters`]. `wait` creates its [`Notified`](super::Notified) future
//! *before* it looks at the flag, so a `set` that comes after the look is seen by the
//! future (it receives every `notify_waiters` call made after its creation). Nothing else
//! calls the `Notify`, so a completed future means the event was set.

use std::fmt;
use std::task::{Poll, ready};

use super::Notify;
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::scheduler::coop;

/// A flag tasks can wait for; see the [module docs](self).
pub struct Event {
    is_set: AtomicBool,
    /// Notified (`notify_waiters`) on each clear-to-set change.
    notify: Notify,
}

impl Event {
    /// Creates an event that is clear.
    pub fn new() -> Event {
        Event {
            is_set: AtomicBool::new(false),
            notify: Notify::new(),
        }
    }

    /// Sets the event, waking every task waiting for it. Later waits return at once until
    /// [`clear`](Event::clear) is called. Setting an event that is set does nothing.
    pub fn set(&self) {
        if !self.is_set.swap(true, SeqCst) {
            self.notify.notify_waiters();
        }
    }

    /// Clears the event: later waits wait for the next [`set`](Event::set).
    pub fn clear(&self) {
        self.is_set.store(false, SeqCst);
    }

    /// True if the event is set. A single atomic load.
    pub fn is_set(&self) -> bool {
        self.is_set.load(SeqCst)
    }

    /// Waits until the event is set; returns at once if it is set now.
    ///
    /// Cancellation-safe. Spends one unit of the task's cooperative budget, so a loop
    /// waiting on an event that stays set still lets other tasks run.
    ///
    /// ```
    /// use corio::sync::Event;
    ///
    /// corio::run(async {
    ///     let event = Event::new();
    ///     event.set();
    ///     event.wait().await; // set: returns at once
    ///     event.clear();
    ///     let waited = corio::time::timeout(std::time::Duration::from_millis(10), event.wait());
    ///     assert!(waited.await.is_err(), "clear: waits for the next set");
    /// });
    /// ```
    pub async fn wait(&self) {
        // Created before the flag is read: a `set` after the read notifies it.
        let mut notified = self.notify.notified();
        std::future::poll_fn(|cx| {
            let coop = ready!(coop::poll_proceed(cx));
            if !self.is_set() {
                ready!(notified.poll_unbudgeted(cx));
            }
            coop.made_progress();
            Poll::Ready(())
        })
        .await
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model-checked races (`RUSTFLAGS="--cfg loom" cargo test --release --lib event::loom`).
    use super::*;
    use crate::sync::notify::loom_tests::block_on;
    use loom::thread;
    use std::sync::Arc;

    #[test]
    fn set_races_wait() {
        loom::model(|| {
            let event = Arc::new(Event::new());
            let setter = thread::spawn({
                let event = event.clone();
                move || event.set()
            });
            block_on(event.wait());
            setter.join().unwrap();
            assert!(event.is_set());
        });
    }
}
