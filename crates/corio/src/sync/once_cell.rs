//! A cell written once, by an async initialiser that runs at most once at a time:
//! tokio's `OnceCell`.
//!
//! [`OnceCell::get_or_init`] returns the value, running the given async function to
//! create it if the cell is empty. However many tasks call it at once, one initialiser runs;
//! the others wait for its value. If that initialiser is cancelled (its task aborted, a
//! timeout) or fails ([`get_or_try_init`](OnceCell::get_or_try_init) returning `Err`), one
//! of the waiting callers runs its own initialiser instead: nobody deadlocks, and the value
//! is never set twice.
//!
//! ```
//! use std::sync::Arc;
//! use corio::sync::OnceCell;
//!
//! async fn load_config() -> String {
//!     corio::time::sleep(std::time::Duration::from_millis(5)).await;
//!     "port=8080".to_string()
//! }
//!
//! corio::run(async {
//!     let config = Arc::new(OnceCell::new());
//!     let readers: Vec<_> = (0..4)
//!         .map(|_| {
//!             let config = config.clone();
//!             corio::spawn(async move { config.get_or_init(load_config).await.clone() })
//!         })
//!         .collect();
//!     for reader in readers {
//!         assert_eq!(reader.await.unwrap(), "port=8080"); // loaded once
//!     }
//! });
//! ```
//!
//! # How it works
//!
//! The value lives in a [`std::sync::OnceLock`], so reading it is one acquire load and
//! there is no `unsafe` here. The right to initialise is a *claim*, an atomic flag taken by
//! compare-exchange: only its holder writes the value, and once it has, the claim is never
//! given back (until [`take`](OnceCell::take), which has the cell to itself). A holder that
//! fails or is dropped gives the claim back and calls [`Notify::notify_one`]; a holder that
//! succeeds calls [`Notify::notify_waiters`]. A caller that finds the claim taken
//! [enables](super::Notified::enable) a `Notified` future *before* it looks again at the
//! claim and the value, so neither notification can slip between its look and its wait;
//! woken, it tries again. The one caller `notify_one` wakes either takes the claim or finds
//! it taken by a newer caller, which will notify in turn; if it is dropped before it runs,
//! [`Notify`] passes the notification on to the next caller.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;

use super::Notify;
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};

/// A cell written once, by at most one async initialiser at a time; see the
/// [module docs](self).
pub struct OnceCell<T> {
    value: OnceLock<T>,
    /// Held by the one caller that may write `value`; stays set once it has.
    claimed: AtomicBool,
    /// Callers waiting for the claim's holder to finish.
    notify: Notify,
}

/// Why [`OnceCell::set`] failed; holds the value it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// An initialiser is running (in `get_or_init` or `get_or_try_init`).
    InitializingError(T),
}

impl<T> SetError<T> {
    /// True if the cell already held a value.
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// True if an initialiser was running.
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }

    /// The value that was not stored.
    pub fn into_inner(self) -> T {
        match self {
            SetError::AlreadyInitializedError(value) | SetError::InitializingError(value) => value,
        }
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("cell already initialized"),
            SetError::InitializingError(_) => f.write_str("cell is being initialized"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for SetError<T> {}

/// The outcome of waiting for the claim.
enum Claim<'a, T> {
    /// The cell has a value.
    Initialized(&'a T),
    /// This caller holds the claim and must initialise.
    Held(ClaimGuard<'a, T>),
}

/// The claim to initialise; given back (waking a waiting caller) if dropped unused.
struct ClaimGuard<'a, T> {
    cell: &'a OnceCell<T>,
}

impl<T> OnceCell<T> {
    /// Creates an empty cell.
    pub fn new() -> OnceCell<T> {
        OnceCell {
            value: OnceLock::new(),
            claimed: AtomicBool::new(false),
            notify: Notify::new(),
        }
    }

    /// Creates an empty cell in a `const` context, e.g. a `static`.
    ///
    /// ```
    /// use corio::sync::OnceCell;
    ///
    /// static GREETING: OnceCell<String> = OnceCell::const_new();
    ///
    /// corio::run(async {
    ///     let greeting = GREETING.get_or_init(|| async { "hello".to_string() }).await;
    ///     assert_eq!(greeting, "hello");
    /// });
    /// ```
    #[cfg(not(loom))]
    pub const fn const_new() -> OnceCell<T> {
        OnceCell {
            value: OnceLock::new(),
            claimed: AtomicBool::new(false),
            notify: Notify::const_new(),
        }
    }

    /// Creates a cell holding `value` if it is `Some`, else empty.
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(value) = value {
            cell.claimed.store(true, SeqCst);
            let _ = cell.value.set(value);
        }
        cell
    }

    /// True if the cell holds a value.
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// The value, if the cell holds one. Never waits.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// The value, mutably, if the cell holds one.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.get_mut()
    }

    /// Stores `value` if the cell is empty and no initialiser is running, waking callers
    /// that wait in `get_or_init`. Otherwise hands `value` back in the error.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.try_claim() {
            Some(claim) => {
                claim.complete(value);
                Ok(())
            }
            None if self.initialized() => Err(SetError::AlreadyInitializedError(value)),
            None => Err(SetError::InitializingError(value)),
        }
    }

    /// The value, creating it with `init` if the cell is empty.
    ///
    /// Of all the callers that find the cell empty at once, one runs its `init`; the others
    /// wait for its value. If that caller is cancelled before `init` finishes, the value is
    /// not set and one waiting caller runs its own `init`.
    ///
    /// ```
    /// use corio::sync::OnceCell;
    ///
    /// corio::run(async {
    ///     let cell = OnceCell::new();
    ///     assert_eq!(*cell.get_or_init(|| async { 1 }).await, 1);
    ///     assert_eq!(*cell.get_or_init(|| async { 2 }).await, 1, "already set");
    /// });
    /// ```
    pub async fn get_or_init<F, Fut>(&self, init: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        match self.claim().await {
            Claim::Initialized(value) => value,
            Claim::Held(claim) => claim.complete(init().await),
        }
    }

    /// The value, creating it with `init` if the cell is empty; if `init` fails, its error
    /// is returned and the cell stays empty.
    ///
    /// As with [`get_or_init`](OnceCell::get_or_init), one caller at a time runs `init`;
    /// when it fails or is cancelled, one waiting caller runs its own.
    ///
    /// ```
    /// use corio::sync::OnceCell;
    ///
    /// corio::run(async {
    ///     let cell = OnceCell::new();
    ///     let failed = cell.get_or_try_init(|| async { "nope".parse::<u32>() }).await;
    ///     assert!(failed.is_err());
    ///     assert!(!cell.initialized());
    ///     let ok = cell.get_or_try_init(|| async { "7".parse::<u32>() }).await;
    ///     assert_eq!(ok, Ok(&7));
    /// });
    /// ```
    pub async fn get_or_try_init<E, F, Fut>(&self, init: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        match self.claim().await {
            Claim::Initialized(value) => Ok(value),
            // On `Err` the claim is dropped, which gives it back.
            Claim::Held(claim) => Ok(claim.complete(init().await?)),
        }
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        let value = self.value.take();
        // Exclusive access: nobody holds the claim now, or waits for it.
        self.claimed.store(false, SeqCst);
        value
    }

    /// The value, if the cell holds one, consuming the cell.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }

    /// Waits until this caller may initialise the cell, or it holds a value.
    async fn claim(&self) -> Claim<'_, T> {
        loop {
            if let Some(value) = self.get() {
                return Claim::Initialized(value);
            }
            if let Some(claim) = self.try_claim() {
                return Claim::Held(claim);
            }
            let mut notified = pin!(self.notify.notified());
            // Registered before looking again, so the holder's notification reaches us.
            notified.as_mut().enable();
            if self.initialized() || !self.claimed.load(SeqCst) {
                continue; // dropping `notified` passes on a notification it got
            }
            notified.await;
        }
    }

    fn try_claim(&self) -> Option<ClaimGuard<'_, T>> {
        self.claimed
            .compare_exchange(false, true, SeqCst, SeqCst)
            .ok()
            .map(|_| ClaimGuard { cell: self })
    }
}

impl<'a, T> ClaimGuard<'a, T> {
    /// Stores the value and wakes every waiting caller; the claim is kept for good.
    fn complete(self, value: T) -> &'a T {
        let cell = self.cell;
        std::mem::forget(self);
        if cell.value.set(value).is_err() {
            unreachable!("only the claim's holder writes the value");
        }
        cell.notify.notify_waiters();
        cell.value.get().expect("just set")
    }
}

impl<T> Drop for ClaimGuard<'_, T> {
    fn drop(&mut self) {
        // Failed or cancelled: give the claim back to one waiting caller.
        self.cell.claimed.store(false, SeqCst);
        self.cell.notify.notify_one();
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> OnceCell<T> {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> OnceCell<T> {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> OnceCell<T> {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &OnceCell<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model-checked races (`RUSTFLAGS="--cfg loom" cargo test --release --lib once_cell::loom`).
    use super::*;
    use crate::sync::notify::loom_tests::block_on;
    use loom::thread;
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};

    #[test]
    fn failed_initializer_hands_over() {
        loom::model(|| {
            let cell = Arc::new(OnceCell::new());
            let failing = thread::spawn({
                let cell = cell.clone();
                move || block_on(cell.get_or_try_init(|| async { Err::<u8, ()>(()) })).copied()
            });
            assert_eq!(*block_on(cell.get_or_init(|| async { 7 })), 7);
            let other = failing.join().unwrap();
            assert!(other == Err(()) || other == Ok(7), "{other:?}");
        });
    }

    #[test]
    fn cancelled_initializer_hands_over() {
        loom::model(|| {
            let cell = Arc::new(OnceCell::new());
            let cancelled = thread::spawn({
                let cell = cell.clone();
                move || {
                    let mut init = std::pin::pin!(cell.get_or_init(std::future::pending::<u8>));
                    // Pending (its initializer never finishes, or it waits for the other's)
                    // or the other's value; then cancelled.
                    let poll = init.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                    assert!(matches!(poll, Poll::Pending | Poll::Ready(&7)));
                }
            });
            assert_eq!(*block_on(cell.get_or_init(|| async { 7 })), 7);
            cancelled.join().unwrap();
            assert_eq!(cell.get(), Some(&7));
        });
    }
}
