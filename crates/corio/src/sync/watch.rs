//! A channel that holds one value, the latest: receivers watch it change.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`], both cloneable (more receivers also
//! come from [`Sender::subscribe`]). The sender replaces the value; each receiver can
//! [`borrow`](Receiver::borrow) the current value at any time, and await
//! [`changed`](Receiver::changed) to learn that a value it has not seen yet was sent.
//! Intermediate values may be skipped: a receiver sees the latest, not every one. Useful
//! for configuration, state and shutdown signals, where asyncio code would use an `Event`
//! plus a shared variable.
//!
//! ```
//! use corio::sync::watch;
//!
//! corio::run(async {
//!     let (tx, mut rx) = watch::channel("starting");
//!     assert_eq!(*rx.borrow(), "starting");
//!     let watcher = corio::spawn(async move {
//!         let mut seen = Vec::new();
//!         while rx.changed().await.is_ok() {
//!             seen.push(*rx.borrow_and_update());
//!         }
//!         seen // ends once the sender is dropped
//!     });
//!     tx.send("running").unwrap();
//!     tx.send("stopped").unwrap();
//!     drop(tx);
//!     // Intermediate values may be skipped; the last one never is.
//!     assert_eq!(watcher.await.unwrap().last(), Some(&"stopped"));
//! });
//! ```
//!
//! # Versions
//!
//! Every send bumps the channel's *version*; each receiver remembers the version it last
//! marked seen. A receiver starts having seen the value current when it was created.
//! [`changed`](Receiver::changed) and [`borrow_and_update`](Receiver::borrow_and_update)
//! mark the current version seen, [`borrow`](Receiver::borrow) does not. Once every sender
//! is dropped, `changed` still reports a last unseen value, then fails.
//!
//! The API follows `tokio::sync::watch`.
//!
//! # How it works
//!
//! The value sits behind a `RwLock`, so receivers borrow it concurrently. The version and a
//! `CLOSED` bit share one atomic word, bumped under the write lock, so a borrow (under the
//! read lock) sees the version of the value it reads. Receivers awaiting a change wait in a
//! `WakerSet`: each checks the version under the set's lock before it stores its waker,
//! and a send bumps the version before it takes the wakers under that lock, so no wake-up
//! is lost. Senders awaiting [`Sender::closed`] wait in a second set, woken when the last
//! receiver goes. No user code runs under the set locks; a `send_modify` closure runs under
//! the write lock, as in tokio.

use std::fmt;
use std::future::poll_fn;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::mpsc::waker_set::WakerSet;

/// State word bit: every sender was dropped.
const CLOSED: usize = 1;
/// One version, in state word units.
const VERSION_STEP: usize = 2;

/// Creates a watch channel holding `init`: a sender and a first receiver, which counts
/// `init` as seen.
///
/// # Examples
///
/// ```
/// use corio::sync::watch;
///
/// let (tx, rx) = watch::channel(1);
/// tx.send(2).unwrap();
/// assert!(rx.has_changed().unwrap());
/// assert_eq!(*rx.borrow(), 2);
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: AtomicUsize::new(0),
        tx_count: AtomicUsize::new(1),
        rx_count: AtomicUsize::new(1),
        changed: WakerSet::new(),
        closed: WakerSet::new(),
    });
    let rx = Receiver {
        shared: shared.clone(),
        version: 0,
    };
    (Sender { shared }, rx)
}

/// The sending half of a watch [`channel`]: replaces the value and notifies receivers.
///
/// Cloneable; receivers see the channel closed once every sender is dropped.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half of a watch [`channel`]: reads the latest value and waits for changes.
///
/// Cloning it gives a receiver that has seen what this one has.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version last marked seen (a state word without the `CLOSED` bit).
    version: usize,
}

/// A borrowed value, holding the channel's read lock: keep it short, and never across an
/// `.await` (a send waits for it).
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

/// The value could not be sent: there are no receivers. The value is handed back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// Every sender was dropped (and, for `changed`, the last value was seen).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct RecvError(());

/// Errors of the watch channel (as `tokio::sync::watch::error`).
pub mod error {
    pub use super::{RecvError, SendError};
}

struct Shared<T> {
    value: RwLock<T>,
    /// `version * VERSION_STEP | CLOSED`; changed only under the write lock (or, for
    /// `CLOSED`, by the last sender).
    state: AtomicUsize,
    tx_count: AtomicUsize,
    rx_count: AtomicUsize,
    /// Receivers awaiting a change.
    changed: WakerSet,
    /// Senders awaiting the last receiver's drop.
    closed: WakerSet,
}

impl<T> Shared<T> {
    fn read(&self) -> RwLockReadGuard<'_, T> {
        // A panic in a `send_modify` closure poisons the lock; the value is still whole.
        self.value.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.value.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn version(&self) -> usize {
        self.state.load(Ordering::Acquire) & !CLOSED
    }
}

impl<T> Sender<T> {
    /// A sender with no receiver yet; get receivers with [`subscribe`](Sender::subscribe).
    pub fn new(init: T) -> Sender<T> {
        let (tx, rx) = channel(init);
        drop(rx);
        tx
    }

    /// Replaces the value and notifies the receivers.
    ///
    /// Fails, handing `value` back, if there is no receiver (the value is not stored then;
    /// use [`send_replace`](Sender::send_replace) to store it anyway).
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.receiver_count() == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value, whether or not anyone receives, and returns the old one.
    pub fn send_replace(&self, value: T) -> T {
        let mut value = Some(value);
        self.send_if_modified(|current| {
            value = Some(std::mem::replace(current, value.take().expect("runs once")));
            true
        });
        value.expect("replaced")
    }

    /// Modifies the value in place and notifies the receivers (even with none: the value
    /// is changed regardless).
    ///
    /// `modify` runs under the write lock: it must not borrow the channel. If it panics,
    /// the change it made so far stays, and receivers are not notified.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Modifies the value in place, and notifies the receivers if `modify` returns true.
    /// Returns what `modify` returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(vec![1]);
    /// assert!(!tx.send_if_modified(|v| v.is_empty()));
    /// assert!(!rx.has_changed().unwrap());
    /// assert!(tx.send_if_modified(|v| { v.push(2); true }));
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let shared = &*self.shared;
        {
            let mut value = shared.write();
            if !modify(&mut value) {
                return false;
            }
            // Under the write lock: a borrow sees the version of what it reads.
            shared.state.fetch_add(VERSION_STEP, Ordering::AcqRel);
        }
        shared.changed.notify_all();
        true
    }

    /// The current value (receivers' seen versions are unaffected).
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
            has_changed: false,
        }
    }

    /// A new receiver, counting the current value as seen.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.rx_count.fetch_add(1, Ordering::Relaxed);
        let guard = self.shared.read();
        let version = self.shared.version();
        drop(guard);
        Receiver {
            shared: self.shared.clone(),
            version,
        }
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.rx_count.load(Ordering::Acquire)
    }

    /// How many senders exist.
    pub fn sender_count(&self) -> usize {
        self.shared.tx_count.load(Ordering::Acquire)
    }

    /// True if there is no receiver: [`send`](Sender::send) would fail.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until there is no receiver (returns at once if there is none now).
    pub async fn closed(&self) {
        let shared = &*self.shared;
        let mut entry = WaitEntry {
            set: &shared.closed,
            entry: None,
        };
        poll_fn(|cx| {
            entry.set.poll_wait(cx, &mut entry.entry, || {
                shared.rx_count.load(Ordering::Acquire) == 0
            })
        })
        .await
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.tx_count.fetch_add(1, Ordering::Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.tx_count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.state.fetch_or(CLOSED, Ordering::AcqRel);
            self.shared.changed.notify_all();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("value", &*self.borrow())
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

/// A waiting future's entry in a `WakerSet`, given back when the future is dropped.
struct WaitEntry<'a> {
    set: &'a WakerSet,
    entry: Option<usize>,
}

impl Drop for WaitEntry<'_> {
    fn drop(&mut self) {
        self.set.cancel(&mut self.entry);
    }
}

impl<T> Receiver<T> {
    /// The current value, without marking it seen.
    ///
    /// The [`Ref`] holds the read lock: keep it short and never hold it across an
    /// `.await`. [`Ref::has_changed`] says whether it was unseen.
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let has_changed = self.shared.version() != self.version;
        Ref { guard, has_changed }
    }

    /// The current value, marking it seen: a later [`changed`](Receiver::changed) waits for
    /// a newer one.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let version = self.shared.version();
        let has_changed = version != self.version;
        self.version = version;
        Ref { guard, has_changed }
    }

    /// True if a value this receiver has not seen was sent. Fails once every sender is
    /// dropped.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state.load(Ordering::Acquire);
        if state & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(state != self.version)
    }

    /// Counts the current value as unseen: the next [`changed`](Receiver::changed) returns
    /// at once.
    pub fn mark_changed(&mut self) {
        // A version no send produces (versions are even).
        self.version = usize::MAX;
    }

    /// Counts the current value as seen.
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.version();
    }

    /// Waits for a value this receiver has not seen, and marks it seen.
    ///
    /// Returns at once if the current value is unseen. Fails once every sender is dropped
    /// and the last value was seen.
    ///
    /// Cancel safety: dropping the future before it completes marks nothing seen.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        changed(&self.shared, &mut self.version).await
    }

    /// Waits until the value satisfies `condition`, and returns it borrowed (marked seen).
    ///
    /// Checks the current value first, then each new one. Fails if every sender is
    /// dropped before a value satisfies it. `condition` runs under the read lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::sync::watch;
    ///
    /// corio::run(async {
    ///     let (tx, mut rx) = watch::channel(0);
    ///     corio::spawn(async move {
    ///         for n in 1..=5 {
    ///             tx.send(n).unwrap();
    ///             corio::task::yield_now().await;
    ///         }
    ///     });
    ///     assert!(*rx.wait_for(|n| *n >= 3).await.unwrap() >= 3);
    /// });
    /// ```
    pub async fn wait_for(
        &mut self,
        mut condition: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        // Split borrows: the value is only ever borrowed shared, so the `Ref` returned from
        // inside the loop does not conflict with waiting again.
        let shared = &*self.shared;
        let seen = &mut self.version;
        let mut closed = false;
        loop {
            {
                let guard = shared.read();
                let version = shared.version();
                let has_changed = version != *seen;
                *seen = version;
                if condition(&guard) {
                    return Ok(Ref { guard, has_changed });
                }
            }
            if closed {
                return Err(RecvError(()));
            }
            if changed(shared, seen).await.is_err() {
                // The last value was checked above; nothing newer will come.
                closed = true;
            }
        }
    }

    /// True if both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// Waits for a version other than `seen`, then marks it seen; fails once closed with
/// nothing unseen. Dropping the future marks nothing seen.
async fn changed<T>(shared: &Shared<T>, seen: &mut usize) -> Result<(), RecvError> {
    let mut entry = WaitEntry {
        set: &shared.changed,
        entry: None,
    };
    let mut outcome = Err(RecvError(()));
    poll_fn(|cx| {
        entry.set.poll_wait(cx, &mut entry.entry, || {
            let state = shared.state.load(Ordering::Acquire);
            outcome = if state & !CLOSED != *seen {
                Ok(state & !CLOSED)
            } else if state & CLOSED != 0 {
                Err(RecvError(()))
            } else {
                return false;
            };
            true
        })
    })
    .await;
    drop(entry);
    *seen = outcome?;
    Ok(())
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.rx_count.fetch_add(1, Ordering::Relaxed);
        Receiver {
            shared: self.shared.clone(),
            version: self.version,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.rx_count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.closed.notify_all();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("value", &*self.borrow())
            .field("version", &self.version)
            .finish()
    }
}

impl<T> Ref<'_, T> {
    /// True if the value was unseen by the receiver when borrowed (always false from
    /// [`Sender::borrow`]).
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed: no receiver")
    }
}

impl<T> std::error::Error for SendError<T> {}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed: every sender was dropped")
    }
}

impl std::error::Error for RecvError {}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::CountingWaker;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    fn poll<F: Future>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn versions() {
        let (tx, mut rx) = channel(0);
        assert_eq!(rx.has_changed(), Ok(false));
        assert!(!rx.borrow().has_changed());
        tx.send(1).unwrap();
        assert_eq!(rx.has_changed(), Ok(true));
        assert!(rx.borrow().has_changed(), "borrow does not mark seen");
        let seen = rx.borrow_and_update();
        assert!(seen.has_changed());
        assert_eq!(*seen, 1);
        drop(seen);
        assert_eq!(rx.has_changed(), Ok(false));
        rx.mark_changed();
        assert_eq!(rx.has_changed(), Ok(true));
        rx.mark_unchanged();
        assert_eq!(rx.has_changed(), Ok(false));
        let late = tx.subscribe();
        assert_eq!(
            late.has_changed(),
            Ok(false),
            "subscribers have seen the current value"
        );
        assert!(!tx.send_if_modified(|_| false));
        assert_eq!(rx.has_changed(), Ok(false));
    }

    #[test]
    fn changed_waits_and_is_woken_once_per_send() {
        let (tx, mut rx) = channel(0);
        let (counter, waker) = CountingWaker::new();
        {
            let mut changed = std::pin::pin!(rx.changed());
            assert!(poll(changed.as_mut(), &waker).is_pending());
            assert!(poll(changed.as_mut(), &waker).is_pending());
            tx.send(1).unwrap();
            assert_eq!(counter.wakes(), 1);
            assert_eq!(poll(changed.as_mut(), &waker), Poll::Ready(Ok(())));
        }
        assert_eq!(rx.has_changed(), Ok(false));
        {
            // Cancelled: nothing marked seen, the entry is freed.
            let mut changed = std::pin::pin!(rx.changed());
            assert!(poll(changed.as_mut(), &waker).is_pending());
        }
        tx.send(2).unwrap();
        assert_eq!(counter.wakes(), 1, "the cancelled wait is gone");
        assert_eq!(rx.has_changed(), Ok(true));
    }

    #[test]
    fn closing_reports_the_last_value_then_fails() {
        let (tx, mut rx) = channel(0);
        let (_, waker) = CountingWaker::new();
        tx.send(1).unwrap();
        drop(tx);
        assert_eq!(rx.has_changed(), Err(RecvError(())));
        assert_eq!(
            poll(std::pin::pin!(rx.changed()).as_mut(), &waker),
            Poll::Ready(Ok(()))
        );
        assert_eq!(
            poll(std::pin::pin!(rx.changed()).as_mut(), &waker),
            Poll::Ready(Err(RecvError(())))
        );
        assert_eq!(*rx.borrow(), 1);
    }

    #[test]
    fn sender_closed_and_counts() {
        let (tx, rx) = channel(());
        let (counter, waker) = CountingWaker::new();
        let rx2 = rx.clone();
        assert_eq!(tx.receiver_count(), 2);
        let mut closed = std::pin::pin!(tx.closed());
        assert!(poll(closed.as_mut(), &waker).is_pending());
        drop(rx);
        assert!(poll(closed.as_mut(), &waker).is_pending());
        drop(rx2);
        assert_eq!(counter.wakes(), 1);
        assert_eq!(poll(closed.as_mut(), &waker), Poll::Ready(()));
        assert!(tx.is_closed());
        assert_eq!(tx.send(()), Err(SendError(())));
        assert_eq!(tx.send_replace(()), (), "stored anyway");
    }
}
