//! A condition variable for [`Mutex`](super::Mutex): asyncio's `Condition` (tokio has none).
//!
//! Tasks wait for some state behind a mutex to change: a waiter holds the lock, checks the
//! state, and if it must wait calls [`Condition::wait`] with its guard. That unlocks,
//! waits for a notification, locks again and hands the guard back. A task that changes the
//! state notifies with [`notify_one`](Condition::notify_one),
//! [`notify(n)`](Condition::notify) or [`notify_all`](Condition::notify_all).
//!
//! ```
//! use std::collections::VecDeque;
//! use std::sync::Arc;
//! use corio::sync::{Condition, Mutex};
//!
//! corio::run(async {
//!     let queue = Arc::new((Mutex::new(VecDeque::new()), Condition::new()));
//!     let consumer = {
//!         let queue = queue.clone();
//!         corio::spawn(async move {
//!             let (items, ready) = &*queue;
//!             let mut items = ready.wait_for(items.lock().await, |items| !items.is_empty()).await;
//!             items.pop_front().unwrap()
//!         })
//!     };
//!     let (items, ready) = &*queue;
//!     items.lock().await.push_back("job");
//!     ready.notify_one();
//!     assert_eq!(consumer.await.unwrap(), "job");
//! });
//! ```
//!
//! # Semantics
//!
//! - **No lost wake-up.** `wait` joins the waiters *before* it unlocks. A notifier that
//!   changes the state under the lock (even if it notifies after unlocking) therefore
//!   either ran before the waiter checked the state, or finds the waiter registered.
//! - **Notifications are not remembered**: notifying with nobody waiting does nothing,
//!   as in asyncio and `std::sync::Condvar`. Wait only after checking the state under the
//!   lock (or use [`wait_for`](Condition::wait_for), which does that).
//! - **FIFO**: `notify(n)` wakes the `n` longest-waiting tasks.
//! - **Spurious wake-ups are allowed**: a woken task re-checks the state after it has the
//!   lock again. [`wait_for`](Condition::wait_for) loops for you.
//! - **Cancellation-safe**: if a `wait` is dropped after it was notified but before it
//!   returned the guard (e.g. under a timeout), it passes the notification on to another
//!   waiter, as asyncio does. Dropping never loses a wake-up nor leaves the mutex locked.
//!
//! # For asyncio users
//!
//! asyncio's `Condition` owns its lock; here the [`Mutex`](super::Mutex) owns the data and any number of
//! conditions can go with it, each waiter passing its guard. `async with cond: await
//! cond.wait()` is `guard = cond.wait(guard).await`; `cond.wait_for(pred)` is
//! `guard = cond.wait_for(guard, pred).await`. `notify` does not require the lock here;
//! notify after changing the state under it.
//!
//! # How it works
//!
//! The waiters queue in the FIFO semaphore core of [`Semaphore`](super::Semaphore), in a
//! discarding mode: it never holds permits, so a notification is a release of permits to
//! the waiters currently queued, each wanting one, and a permit nobody waits for vanishes.
//! Its cancellation rule (a dropped waiter passes on what it was handed) is the "pass the
//! notification on" rule above.

use std::fmt;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;

use super::mutex::{MutexGuard, OwnedMutexGuard};
use super::semaphore::BatchSemaphore;

/// A condition variable to wait with a [`Mutex`](super::Mutex). See the [module docs](self).
pub struct Condition {
    /// Never holds permits: `notify(n)` hands `n` to current waiters (module docs).
    waiters: BatchSemaphore,
}

impl Condition {
    /// A condition with no waiters.
    pub fn new() -> Condition {
        Condition {
            waiters: BatchSemaphore::new_discarding(),
        }
    }

    /// A condition with no waiters, in a `const` context (e.g. a `static`).
    #[cfg(not(loom))]
    pub const fn const_new() -> Condition {
        Condition {
            waiters: BatchSemaphore::const_new_discarding(),
        }
    }

    /// Unlocks `guard`'s mutex, waits to be notified, then locks it again and returns the
    /// new guard.
    ///
    /// Joins the waiters before unlocking, so a notification sent after this task
    /// released the lock always reaches it. May return without a matching notification
    /// (a passed-on notification); check the state again, or use
    /// [`wait_for`](Condition::wait_for).
    ///
    /// Cancellation-safe: dropped after it was notified, it notifies another waiter
    /// instead. The mutex is unlocked from the first poll until the guard is returned.
    pub async fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = MutexGuard::mutex(&guard);
        let notified = self.unlock_and_wait(guard).await;
        let guard = mutex.lock().await;
        notified.consume();
        guard
    }

    /// As [`wait`](Condition::wait), for the guard of a mutex held in an [`Arc`].
    pub async fn wait_owned<T: ?Sized>(&self, guard: OwnedMutexGuard<T>) -> OwnedMutexGuard<T> {
        let mutex = Arc::clone(OwnedMutexGuard::mutex(&guard));
        let notified = self.unlock_and_wait(guard).await;
        let guard = mutex.lock_owned().await;
        notified.consume();
        guard
    }

    /// Waits until `predicate` holds for the data: checks it under the lock, and waits
    /// for a notification and checks again while it does not. Returns the guard with the
    /// predicate true. asyncio's `wait_for`.
    ///
    /// Cancellation-safe, as [`wait`](Condition::wait).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corio::sync::{Condition, Mutex};
    ///
    /// corio::run(async {
    ///     let state = Arc::new((Mutex::new(0), Condition::new()));
    ///     let waiter = {
    ///         let state = state.clone();
    ///         corio::spawn(async move {
    ///             let (count, changed) = &*state;
    ///             *changed.wait_for(count.lock().await, |n| *n >= 3).await
    ///         })
    ///     };
    ///     for _ in 0..3 {
    ///         let (count, changed) = &*state;
    ///         *count.lock().await += 1;
    ///         changed.notify_all();
    ///         corio::task::yield_now().await;
    ///     }
    ///     assert_eq!(waiter.await.unwrap(), 3);
    /// });
    /// ```
    pub async fn wait_for<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut predicate: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while !predicate(&mut *guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// As [`wait_for`](Condition::wait_for), for the guard of a mutex held in an [`Arc`].
    pub async fn wait_for_owned<T: ?Sized>(
        &self,
        mut guard: OwnedMutexGuard<T>,
        mut predicate: impl FnMut(&mut T) -> bool,
    ) -> OwnedMutexGuard<T> {
        while !predicate(&mut *guard) {
            guard = self.wait_owned(guard).await;
        }
        guard
    }

    /// Wakes the longest-waiting task, if any.
    pub fn notify_one(&self) {
        self.waiters.release(1);
    }

    /// Wakes the `n` longest-waiting tasks (all of them if fewer wait). asyncio's
    /// `notify(n)`.
    pub fn notify(&self, n: usize) {
        self.waiters.release(n);
    }

    /// Wakes every waiting task.
    pub fn notify_all(&self) {
        self.waiters.release_to_all_waiting();
    }

    /// Joins the waiters, then drops `guard` (unlocking), then waits for a notification.
    async fn unlock_and_wait<G>(&self, guard: G) -> PendingNotification<'_> {
        let mut acquire = pin!(self.waiters.acquire(1));
        let mut guard = Some(guard);
        let result = poll_fn(|cx| {
            // Registers on the first poll whatever the cooperative budget says
            // (`poll_acquire` spends none), and only then unlocks.
            let poll = acquire.as_mut().poll_acquire(cx);
            drop(guard.take());
            poll
        })
        .await;
        debug_assert!(result.is_ok(), "a condition's waiters are never closed");
        PendingNotification { condition: self }
    }
}

/// A notification received and not yet acted on: passed on to another waiter if dropped.
struct PendingNotification<'a> {
    condition: &'a Condition,
}

impl PendingNotification<'_> {
    /// The waiter got its lock back: the notification reached it.
    fn consume(self) {
        std::mem::forget(self);
    }
}

impl Drop for PendingNotification<'_> {
    fn drop(&mut self) {
        self.condition.notify_one();
    }
}

impl Default for Condition {
    fn default() -> Condition {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! Runtime-free, so they run under Miri: `cargo +nightly miri test -p corio --lib --
    //! sync::condition`.
    use super::*;
    use crate::sync::Mutex;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn wait_unlocks_then_relocks_on_notify() {
        let mutex = Mutex::new(0);
        let cond = Condition::new();
        let mut waiting = pin!(cond.wait(mutex.try_lock().unwrap()));
        assert!(poll_once(waiting.as_mut()).is_pending());
        *mutex.try_lock().expect("unlocked while waiting") += 1;
        assert!(poll_once(waiting.as_mut()).is_pending(), "not notified yet");
        let holder = mutex.try_lock().unwrap();
        cond.notify_one();
        assert!(
            poll_once(waiting.as_mut()).is_pending(),
            "notified, lock busy"
        );
        drop(holder);
        let Poll::Ready(guard) = poll_once(waiting.as_mut()) else {
            panic!("notified and unlocked");
        };
        assert_eq!(*guard, 1);
    }

    #[test]
    fn notify_without_waiters_is_forgotten() {
        let mutex = Mutex::new(());
        let cond = Condition::new();
        cond.notify_one();
        cond.notify(5);
        cond.notify_all();
        let mut waiting = pin!(cond.wait(mutex.try_lock().unwrap()));
        assert!(poll_once(waiting.as_mut()).is_pending());
        assert!(poll_once(waiting.as_mut()).is_pending());
    }

    #[test]
    fn notify_counts_and_order() {
        let mutex = Mutex::new(());
        let cond = Condition::new();
        let mut a = pin!(cond.wait(mutex.try_lock().unwrap()));
        assert!(poll_once(a.as_mut()).is_pending());
        let mut b = pin!(cond.wait(mutex.try_lock().unwrap()));
        assert!(poll_once(b.as_mut()).is_pending());
        let mut c = pin!(cond.wait(mutex.try_lock().unwrap()));
        assert!(poll_once(c.as_mut()).is_pending());
        cond.notify_one();
        let Poll::Ready(guard) = poll_once(a.as_mut()) else {
            panic!("the oldest waiter goes first");
        };
        drop(guard);
        assert!(poll_once(b.as_mut()).is_pending());
        cond.notify_all();
        assert!(matches!(poll_once(b.as_mut()), Poll::Ready(_)));
        assert!(matches!(poll_once(c.as_mut()), Poll::Ready(_)));
    }

    #[test]
    fn dropped_notified_waiter_passes_it_on() {
        let mutex = Mutex::new(());
        let cond = Condition::new();
        let mut a = Box::pin(cond.wait(mutex.try_lock().unwrap()));
        assert!(poll_once(a.as_mut()).is_pending());
        let mut b = pin!(cond.wait(mutex.try_lock().unwrap()));
        assert!(poll_once(b.as_mut()).is_pending());
        cond.notify_one();
        drop(a); // notified, never polled again
        assert!(matches!(poll_once(b.as_mut()), Poll::Ready(_)));

        // Dropped while relocking: also passed on.
        let mut c = Box::pin(cond.wait(mutex.try_lock().unwrap()));
        assert!(poll_once(c.as_mut()).is_pending());
        let mut d = pin!(cond.wait(mutex.try_lock().unwrap()));
        assert!(poll_once(d.as_mut()).is_pending());
        let holder = mutex.try_lock().unwrap();
        cond.notify_one();
        assert!(poll_once(c.as_mut()).is_pending(), "waits for the lock");
        drop(c);
        drop(holder);
        assert!(matches!(poll_once(d.as_mut()), Poll::Ready(_)));
    }

    #[test]
    fn owned_wait_for() {
        let mutex = Arc::new(Mutex::new(0));
        let cond = Condition::default();
        let mut waiting =
            pin!(cond.wait_for_owned(mutex.clone().try_lock_owned().unwrap(), |n| *n == 2));
        assert!(poll_once(waiting.as_mut()).is_pending());
        *mutex.try_lock().unwrap() = 1;
        cond.notify_one();
        assert!(
            poll_once(waiting.as_mut()).is_pending(),
            "predicate still false"
        );
        *mutex.try_lock().unwrap() = 2;
        cond.notify_one();
        let Poll::Ready(guard) = poll_once(waiting.as_mut()) else {
            panic!("predicate true");
        };
        assert_eq!(*guard, 2);
        assert_eq!(format!("{cond:?}"), "Condition { .. }");
    }
}
