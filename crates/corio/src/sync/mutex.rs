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

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::semaphore::{BatchSemaphore, TryLockError};

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

/// The lock of a [`Mutex`], held: derefs to the data; unlocks when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

/// The lock of a [`Mutex`] held in an [`Arc`]: borrows nothing, so it can move into a
/// spawned task. Derefs to the data; unlocks when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
}

/// A held lock that gives access to part of the data; made by [`MutexGuard::map`].
#[must_use = "the lock is released at once if the guard is unused"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    semaphore: &'a BatchSemaphore,
    value: *mut T,
    _borrow: PhantomData<&'a mut T>,
}

// SAFETY: sharing a guard shares `&T` (needs `T: Sync`); the guard itself derefs to the
// value only while it holds the permit.
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}
// SAFETY: as for `MutexGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}
// SAFETY: the guard is a `&mut T` plus a permit; sending it sends the `&mut T`.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: sharing it shares `&T`.
unsafe impl<T: ?Sized + Send + Sync> Sync for MappedMutexGuard<'_, T> {}

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
        MutexGuard { mutex: self }
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
            Ok(()) => Ok(MutexGuard { mutex: self }),
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
        OwnedMutexGuard { mutex: self }
    }

    /// Takes the lock of a shared mutex if it is free and nobody waits for it.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.semaphore.try_acquire(1) {
            Ok(()) => Ok(OwnedMutexGuard { mutex: self }),
            Err(_) => Err(TryLockError(())),
        }
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

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.mutex
    }

    /// Turns the guard into one that gives access to part of the data, `f`'s result.
    ///
    /// An associated function (`MutexGuard::map(guard, ...)`) so as not to shadow a method
    /// of `T`.
    ///
    /// ```
    /// use corio::sync::{MappedMutexGuard, Mutex, MutexGuard};
    ///
    /// corio::run(async {
    ///     let pair = Mutex::new((1, "one"));
    ///     let mut first: MappedMutexGuard<'_, i32> = MutexGuard::map(pair.lock().await, |p| &mut p.0);
    ///     *first += 1;
    ///     drop(first);
    ///     assert_eq!(*pair.lock().await, (2, "one"));
    /// });
    /// ```
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&mut T) -> &mut U) -> MappedMutexGuard<'a, U> {
        let mutex = this.mutex;
        // SAFETY: we hold the permit, so nobody else accesses the value. If `f` panics,
        // `this` is still alive and unlocks as it unwinds.
        let value: *mut U = f(unsafe { &mut *mutex.value.get() });
        // The permit moves into the mapped guard.
        std::mem::forget(this);
        MappedMutexGuard {
            semaphore: &mutex.semaphore,
            value,
            _borrow: PhantomData,
        }
    }

    /// As [`map`](MutexGuard::map), but `f` may decline, which hands the guard back.
    #[allow(clippy::result_large_err)] // the guard is one pointer
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<MappedMutexGuard<'a, U>, Self> {
        let mutex = this.mutex;
        // SAFETY: as in `map`.
        match f(unsafe { &mut *mutex.value.get() }) {
            Some(value) => {
                let value: *mut U = value;
                std::mem::forget(this);
                Ok(MappedMutexGuard {
                    semaphore: &mutex.semaphore,
                    value,
                    _borrow: PhantomData,
                })
            }
            None => Err(this),
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the permit, so the value is ours.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the permit, so the value is ours.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.semaphore.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.mutex
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the permit, so the value is ours.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the permit, so the value is ours.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.semaphore.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the permit; `value` points into the locked data.
        unsafe { &*self.value }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the permit; `value` points into the locked data.
        unsafe { &mut *self.value }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.semaphore.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! Runtime-free, so they run under Miri: `cargo +nightly miri test -p corio --lib --
    //! sync::mutex`.
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn guard_gives_exclusive_access() {
        let mutex = Mutex::new(vec![1]);
        {
            let mut guard = mutex.try_lock().unwrap();
            guard.push(2);
            assert!(mutex.try_lock().is_err());
            let mut waiting = pin!(mutex.lock());
            assert!(poll_once(waiting.as_mut()).is_pending());
            drop(guard);
            let Poll::Ready(mut guard) = poll_once(waiting.as_mut()) else {
                panic!("unlocking hands the lock to the waiter");
            };
            guard.push(3);
        }
        assert_eq!(mutex.into_inner(), [1, 2, 3]);
    }

    #[test]
    fn mapped_guard_unlocks() {
        let mutex = Mutex::new((String::from("a"), 1));
        let mut name = MutexGuard::map(mutex.try_lock().unwrap(), |pair| &mut pair.0);
        name.push('b');
        assert!(mutex.try_lock().is_err());
        drop(name);
        let guard = mutex.try_lock().unwrap();
        let guard = MutexGuard::try_map(guard, |_| None::<&mut u8>).unwrap_err();
        assert_eq!(guard.0, "ab");
        drop(guard);
        assert!(mutex.try_lock().is_ok());
    }

    #[test]
    fn owned_guard_and_get_mut() {
        let mut mutex = Mutex::new(5);
        *mutex.get_mut() += 1;
        let mutex = Arc::new(mutex);
        let mut guard = mutex.clone().try_lock_owned().unwrap();
        *guard += 1;
        assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&guard), &mutex));
        assert!(mutex.clone().try_lock_owned().is_err());
        assert_eq!(format!("{mutex:?}"), "Mutex { data: <locked> }");
        assert_eq!(format!("{guard:?} {guard}"), "7 7");
        drop(guard);
        assert_eq!(format!("{mutex:?}"), "Mutex { data: 7 }");
    }

    #[test]
    fn auto_traits() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Mutex<std::cell::Cell<u8>>>();
        send::<MutexGuard<'_, std::cell::Cell<u8>>>();
        send::<OwnedMutexGuard<std::cell::Cell<u8>>>();
        send_sync::<MutexGuard<'_, u8>>();
        send_sync::<MappedMutexGuard<'_, u8>>();
    }
}
