//! An async reader-writer lock (tokio's `RwLock`; asyncio has none).
//!
//! Many readers ([`RwLock::read`]) or one writer ([`RwLock::write`]) at a time. The lock is
//! **fair**: requests are served in the order they were made, so a writer waits only for
//! the readers that came before it, and readers that come after a waiting writer wait for
//! it. Writers are never starved by a stream of readers.
//!
//! ```
//! use corio::sync::RwLock;
//!
//! corio::run(async {
//!     let config = RwLock::new(String::from("v1"));
//!     {
//!         let a = config.read().await;
//!         let b = config.read().await; // readers share
//!         assert_eq!((a.as_str(), b.as_str()), ("v1", "v1"));
//!     }
//!     config.write().await.push_str("-patched");
//!     assert_eq!(*config.read().await, "v1-patched");
//! });
//! ```
//!
//! # How it works
//!
//! The FIFO semaphore core of [`Semaphore`](super::Semaphore) with `max_readers` permits:
//! a reader takes one, a writer all of them. A waiting writer at the head of the queue
//! collects permits as readers give them back, while later requests wait behind it.

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::semaphore::{BatchSemaphore, TryLockError};

/// The most readers an [`RwLock`] admits at once: the default, and the highest value
/// [`RwLock::with_max_readers`] accepts.
const MAX_READS: u32 = u32::MAX >> 3;

/// An async reader-writer lock around a `T`. See the [module docs](self).
pub struct RwLock<T: ?Sized> {
    /// How many permits `semaphore` holds: a writer takes them all.
    max_readers: u32,
    semaphore: BatchSemaphore,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one writer or `&T` to readers on any thread, so
// sending it needs `T: Send`, sharing it `T: Send + Sync` (as for `std::sync::RwLock`).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: see `Send`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// Shared read access to an [`RwLock`]; released when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

/// Exclusive write access to an [`RwLock`]; released when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

/// Shared read access to an [`RwLock`] held in an [`Arc`]; released when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct OwnedRwLockReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

/// Exclusive write access to an [`RwLock`] held in an [`Arc`]; released when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

// SAFETY: a read guard only gives `&T`: sending or sharing it needs `T: Sync`.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: as above; the `Arc` is dropped on whichever thread, so the lock must be
// sendable too.
unsafe impl<T: ?Sized + Send + Sync> Send for OwnedRwLockReadGuard<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockReadGuard<T> {}
// SAFETY: a write guard gives `&mut T` (moving it moves access: `T: Send`) and `&T`
// through shared references (`T: Sync`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockWriteGuard<T> {}

impl<T> RwLock<T> {
    /// An unlocked lock holding `value`, admitting up to `u32::MAX >> 3` readers at once.
    pub fn new(value: T) -> RwLock<T> {
        RwLock::with_max_readers(value, MAX_READS)
    }

    /// An unlocked lock holding `value` that admits at most `max_readers` readers at once
    /// (more wait for one to finish).
    ///
    /// ```
    /// use corio::sync::RwLock;
    ///
    /// let lock = RwLock::with_max_readers(0, 2);
    /// let a = lock.try_read().unwrap();
    /// let b = lock.try_read().unwrap();
    /// assert!(lock.try_read().is_err(), "a third reader waits");
    /// # drop((a, b));
    /// ```
    ///
    /// # Panics
    ///
    /// If `max_readers` is 0 or more than `u32::MAX >> 3`.
    pub fn with_max_readers(value: T, max_readers: u32) -> RwLock<T> {
        assert!(
            (1..=MAX_READS).contains(&max_readers),
            "an RwLock admits between 1 and {MAX_READS} readers, not {max_readers}"
        );
        RwLock {
            max_readers,
            semaphore: BatchSemaphore::new(max_readers as usize),
            value: UnsafeCell::new(value),
        }
    }

    /// An unlocked lock holding `value`, in a `const` context (e.g. a `static`).
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> RwLock<T> {
        RwLock::const_with_max_readers(value, MAX_READS)
    }

    /// As [`with_max_readers`](RwLock::with_max_readers), in a `const` context.
    ///
    /// # Panics
    ///
    /// If `max_readers` is 0 or more than `u32::MAX >> 3`.
    #[cfg(not(loom))]
    pub const fn const_with_max_readers(value: T, max_readers: u32) -> RwLock<T> {
        assert!(
            max_readers >= 1 && max_readers <= MAX_READS,
            "an RwLock admits between 1 and u32::MAX >> 3 readers"
        );
        RwLock {
            max_readers,
            semaphore: BatchSemaphore::const_new(max_readers as usize),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the data.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared read access.
    ///
    /// Waits for writers that asked before, and for a free reader slot if `max_readers`
    /// readers hold the lock. Cancellation-safe: dropping the future gives up its place
    /// and passes on anything it had been handed.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1).await;
        RwLockReadGuard { lock: self }
    }

    /// Waits for exclusive write access: for every reader and writer that came before to
    /// finish. Readers and writers that come after wait for this one.
    ///
    /// Cancellation-safe: dropping the future gives up its place, and gives back the
    /// reader slots it had collected so far to those waiting behind it.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(self.max_readers).await;
        RwLockWriteGuard { lock: self }
    }

    /// Takes read access if it is free now and nobody waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.try_acquire(1)?;
        Ok(RwLockReadGuard { lock: self })
    }

    /// Takes write access if the lock is free now (no reader, no writer, nobody waiting).
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.try_acquire(self.max_readers)?;
        Ok(RwLockWriteGuard { lock: self })
    }

    /// As [`read`](RwLock::read), for a lock held in an [`Arc`]: the guard borrows nothing.
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1).await;
        OwnedRwLockReadGuard { lock: self }
    }

    /// As [`write`](RwLock::write), for a lock held in an [`Arc`]: the guard borrows
    /// nothing.
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(self.max_readers).await;
        OwnedRwLockWriteGuard { lock: self }
    }

    /// As [`try_read`](RwLock::try_read), for a lock held in an [`Arc`].
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.try_acquire(1)?;
        Ok(OwnedRwLockReadGuard { lock: self })
    }

    /// As [`try_write`](RwLock::try_write), for a lock held in an [`Arc`].
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.try_acquire(self.max_readers)?;
        Ok(OwnedRwLockWriteGuard { lock: self })
    }

    /// The data, through an exclusive borrow of the lock: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    async fn acquire(&self, permits: u32) {
        if self.semaphore.acquire(permits as usize).await.is_err() {
            unreachable!("an RwLock's semaphore is never closed");
        }
    }

    fn try_acquire(&self, permits: u32) -> Result<(), TryLockError> {
        self.semaphore
            .try_acquire(permits as usize)
            .map_err(|_| TryLockError(()))
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns write access into read access without letting a writer in between; other
    /// readers (those waiting first in line) may join at once.
    ///
    /// ```
    /// use corio::sync::{RwLock, RwLockWriteGuard};
    ///
    /// corio::run(async {
    ///     let lock = RwLock::new(1);
    ///     let mut writer = lock.write().await;
    ///     *writer += 1;
    ///     let reader = RwLockWriteGuard::downgrade(writer);
    ///     assert_eq!(*lock.try_read().unwrap(), 2);
    ///     assert_eq!(*reader, 2);
    /// });
    /// ```
    pub fn downgrade(this: Self) -> RwLockReadGuard<'a, T> {
        let lock = this.lock;
        std::mem::forget(this);
        lock.semaphore.release(lock.max_readers as usize - 1);
        RwLockReadGuard { lock }
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// As [`RwLockWriteGuard::downgrade`], for an owned guard.
    pub fn downgrade(this: Self) -> OwnedRwLockReadGuard<T> {
        let this = std::mem::ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again: its `Arc` moves out exactly once.
        let lock = unsafe { std::ptr::read(&this.lock) };
        lock.semaphore.release(lock.max_readers as usize - 1);
        OwnedRwLockReadGuard { lock }
    }
}

/// Deref, Drop, Debug and Display for a guard type.
macro_rules! guard_impls {
    ($guard:ident $(<$lt:lifetime>)?, write: $write:tt) => {
        impl<$($lt,)? T: ?Sized> Deref for $guard<$($lt,)? T> {
            type Target = T;

            fn deref(&self) -> &T {
                // SAFETY: the guard holds at least one permit, so no writer is active.
                unsafe { &*self.lock.value.get() }
            }
        }

        guard_impls!(@deref_mut $write $guard $(<$lt>)?);

        impl<$($lt,)? T: ?Sized> Drop for $guard<$($lt,)? T> {
            fn drop(&mut self) {
                let permits = if $write { self.lock.max_readers } else { 1 };
                self.lock.semaphore.release(permits as usize);
            }
        }

        impl<$($lt,)? T: ?Sized + fmt::Debug> fmt::Debug for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($lt,)? T: ?Sized + fmt::Display> fmt::Display for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    };
    (@deref_mut false $guard:ident $(<$lt:lifetime>)?) => {};
    (@deref_mut true $guard:ident $(<$lt:lifetime>)?) => {
        impl<$($lt,)? T: ?Sized> DerefMut for $guard<$($lt,)? T> {
            fn deref_mut(&mut self) -> &mut T {
                // SAFETY: a write guard holds every permit, so the value is ours alone.
                unsafe { &mut *self.lock.value.get() }
            }
        }
    };
}

guard_impls!(RwLockReadGuard<'a>, write: false);
guard_impls!(RwLockWriteGuard<'a>, write: true);
guard_impls!(OwnedRwLockReadGuard, write: false);
guard_impls!(OwnedRwLockWriteGuard, write: true);

#[cfg(all(test, not(loom)))]
mod tests {
    //! Runtime-free, so they run under Miri: `cargo +nightly miri test -p corio --lib --
    //! sync::rwlock`.
    use super::*;
    use std::future::Future;
    use std::pin::{Pin, pin};
    use std::task::{Context, Poll, Waker};

    fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn readers_share_writer_excludes() {
        let lock = RwLock::new(0);
        let r1 = lock.try_read().unwrap();
        let r2 = lock.try_read().unwrap();
        assert!(lock.try_write().is_err());
        let mut writer = pin!(lock.write());
        assert!(poll_once(writer.as_mut()).is_pending());
        // A waiting writer holds back later readers.
        assert!(lock.try_read().is_err());
        let mut late_reader = pin!(lock.read());
        assert!(poll_once(late_reader.as_mut()).is_pending());
        drop(r1);
        assert!(poll_once(writer.as_mut()).is_pending(), "r2 still reads");
        drop(r2);
        let Poll::Ready(mut w) = poll_once(writer.as_mut()) else {
            panic!("the last reader lets the writer in");
        };
        *w += 1;
        assert!(poll_once(late_reader.as_mut()).is_pending());
        let r = RwLockWriteGuard::downgrade(w);
        let Poll::Ready(late) = poll_once(late_reader.as_mut()) else {
            panic!("downgrading lets readers in");
        };
        assert_eq!((*r, *late), (1, 1));
        assert!(lock.try_write().is_err());
        drop((r, late));
        assert!(lock.try_write().is_ok());
    }

    #[test]
    fn owned_guards() {
        let lock = Arc::new(RwLock::with_max_readers(String::from("a"), 3));
        let mut w = lock.clone().try_write_owned().unwrap();
        w.push('b');
        assert!(lock.clone().try_read_owned().is_err());
        let r = OwnedRwLockWriteGuard::downgrade(w);
        let r2 = lock.clone().try_read_owned().unwrap();
        assert_eq!(format!("{r} {r2:?}"), "ab \"ab\"");
        assert_eq!(format!("{lock:?}"), "RwLock { data: \"ab\" }");
        drop((r, r2));
        let w = lock.clone().try_write_owned().unwrap();
        assert_eq!(format!("{lock:?}"), "RwLock { data: <locked> }");
        drop(w);
        let mut lock = Arc::into_inner(lock).unwrap();
        lock.get_mut().push('c');
        assert_eq!(lock.into_inner(), "abc");
    }

    #[test]
    #[should_panic(expected = "admits between 1")]
    fn zero_max_readers_panics() {
        let _ = RwLock::with_max_readers((), 0);
    }

    #[test]
    fn auto_traits() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<RwLock<u8>>();
        send::<RwLock<std::cell::Cell<u8>>>();
        send_sync::<RwLockReadGuard<'_, u8>>();
        send_sync::<RwLockWriteGuard<'_, u8>>();
        send_sync::<OwnedRwLockReadGuard<u8>>();
        send_sync::<OwnedRwLockWriteGuard<u8>>();
    }
}
