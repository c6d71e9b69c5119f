//! An async mutex: asyncio's `Lock`, holding the data it protects (tokio's shape).
//!
//! [`Mutex::lock`] waits for the lock and returns a [`MutexGuard`], through which the data
//! is read and written; dropping the guard unlocks. Unlike `std::sync::Mutex`, waiting
//! suspends the task instead of blocking the thread, and the guard may be held across an
//! `.await`.
//!
//! ```
//! use std::sync::Arc;
//! use corio::sync::Mutex;
//!
//! corio::run(async {
//!     let counter = Arc::new(Mutex::new(0));
//!     let tasks: Vec<_> = (0..10)
//!         .map(|_| {
//!             let counter = counter.clone();
//!             corio::spawn(async move {
//!                 let mut count = counter.lock().await;
//!                 corio::task::yield_now().await; // still ours across the await
//!                 *count += 1;
//!             })
//!         })
//!         .collect();
//!     for task in tasks {
//!         task.await.unwrap();
//!     }
//!     assert_eq!(*counter.lock().await, 10);
//! });
//! ```
//!
//! The lock is **fair**: tasks get it in the order they asked for it. A task that unlocks
//! and locks again at once goes behind those already waiting.
//!
//! # For asyncio users
//!
//! `async with lock:` is `let guard = mutex.lock().await;`, and the data the lock
//! protects lives inside it. `lock.locked()` is `mutex.try_lock().is_err()`.
//!
//! # How it works
//!
//! The FIFO semaphore core of [`Semaphore`](super::Semaphore) with one permit (so an
//! uncontended lock or unlock is one compare-and-swap, and waiters queue FIFO), next to
//! the data in an `UnsafeCell`: holding the permit is what lets a guard touch the data.

mod guard;
mod owned_guard;

use std::cell::UnsafeCell;
use std::fmt;
use std::sync::Arc;

pub use guard::{MappedMutexGuard, MutexGuard};
pub use owned_guard::{OwnedMappedMutexGuard, OwnedMutexGuard};

use super::semaphore::{BatchSemaphore, TryLockError, block_outside_runtime};

/// An async mutual-exclusion lock around a `T`. See the [module docs](self).
pub struct Mutex<T: ?Sized> {
    /// One permit: whoever holds it owns `value`.
    semaphore: BatchSemaphore,
    value: UnsafeCell<T>,
}

// SAFETY: the mutex hands the value to one holder at a time (the permit), so moving or
// sharing the mutex only ever moves access to the `T` between threads: `T: Send` suffices.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above: shared access gives out `&mut T` to one holder at a time.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            semaphore: BatchSemaphore::new(1),
            value: UnsafeCell::new(value),
        }
    }

    /// An unlocked mutex holding `value`, in a `const` context (e.g. a `static`).
    ///
    /// ```
    /// use corio::sync::Mutex;
    ///
    /// static NAMES: Mutex<Vec<String>> = Mutex::const_new(Vec::new());
    ///
    /// corio::run(async {
    ///     NAMES.lock().await.push("ada".to_string());
    ///     assert_eq!(NAMES.lock().await.len(), 1);
    /// });
    /// ```
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> Mutex<T> {
        Mutex {
            semaphore: BatchSemaphore::const_new(1),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex, returning the data. No lock is needed: nobody else has it.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock and returns its guard.
    ///
    /// Tasks get the lock in the order they called `lock`. Cancellation-safe: dropping the
    /// future gives up its place, and if the lock had just been handed to it, passes it on.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.acquire().await;
        MutexGuard::new(self)
    }

    /// Takes the lock if it is free and nobody waits for it.
    ///
    /// ```
    /// use corio::sync::Mutex;
    ///
    /// let mutex = Mutex::new(1);
    /// let guard = mutex.try_lock().unwrap();
    /// assert!(mutex.try_lock().is_err());
    /// drop(guard);
    /// assert_eq!(*mutex.try_lock().unwrap(), 1);
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.semaphore.try_acquire(1) {
            Ok(()) => Ok(MutexGuard::new(self)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Waits for the lock of a shared mutex; the guard keeps the mutex alive and can move
    /// into a spawned task. As [`lock`](Mutex::lock) otherwise.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corio::sync::Mutex;
    ///
    /// corio::run(async {
    ///     let log = Arc::new(Mutex::new(Vec::new()));
    ///     let mut guard = log.clone().lock_owned().await;
    ///     corio::spawn(async move { guard.push("from a task") }).await.unwrap();
    ///     assert_eq!(*log.lock().await, ["from a task"]);
    /// });
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.acquire().await;
        OwnedMutexGuard::new(self)
    }

    /// Takes the lock of a shared mutex if it is free and nobody waits for it.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.semaphore.try_acquire(1) {
            Ok(()) => Ok(OwnedMutexGuard::new(self)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Waits for the lock from synchronous code, blocking the thread: for code outside the
    /// runtime (a plain thread, `spawn_blocking`) sharing data with tasks.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corio::sync::Mutex;
    ///
    /// let mutex = Arc::new(Mutex::new(0));
    /// let worker = {
    ///     let mutex = mutex.clone();
    ///     std::thread::spawn(move || *mutex.blocking_lock() += 1)
    /// };
    /// worker.join().unwrap();
    /// corio::run(async move { assert_eq!(*mutex.lock().await, 1) });
    /// ```
    ///
    /// # Panics
    ///
    /// If called on a thread that runs async tasks (inside a runtime's `block_on`, or on a
    /// worker), where blocking would stall them, possibly the task holding the lock.
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        block_outside_runtime(self.lock())
    }

    /// As [`blocking_lock`](Mutex::blocking_lock), for a mutex held in an [`Arc`].
    ///
    /// # Panics
    ///
    /// If called on a thread that runs async tasks.
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        block_outside_runtime(self.lock_owned())
    }

    /// The data, through an exclusive borrow of the mutex: no lock is needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    async fn acquire(&self) {
        if self.semaphore.acquire(1).await.is_err() {
            unreachable!("a mutex's semaphore is never closed");
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
