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
//! Guards can be narrowed to part of the data (`map`, `try_map`), and a write guard can be
//! downgraded to a read guard without letting another writer in between.
//!
//! # How it works
//!
//! The FIFO semaphore core of [`Semaphore`](super::Semaphore) with `max_readers` permits:
//! a reader takes one, a writer all of them. A waiting writer at the head of the queue
//! collects permits as readers give them back, while later requests wait behind it. A
//! guard is the permits it holds plus a pointer to the data (or the part it was mapped
//! to).

mod guard;
mod owned_guard;

use std::cell::UnsafeCell;
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

pub use guard::{RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard};
pub use owned_guard::{OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard};

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
        // SAFETY: we hold a read permit.
        unsafe { RwLockReadGuard::new(&self.semaphore, self.data()) }
    }

    /// Waits for exclusive write access: for every reader and writer that came before to
    /// finish. Readers and writers that come after wait for this one.
    ///
    /// Cancellation-safe: dropping the future gives up its place, and gives back the
    /// reader slots it had collected so far to those waiting behind it.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(self.max_readers).await;
        // SAFETY: we hold every permit.
        unsafe { RwLockWriteGuard::new(&self.semaphore, self.data(), self.max_readers) }
    }

    /// Takes read access if it is free now and nobody waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.try_acquire(1)?;
        // SAFETY: we hold a read permit.
        Ok(unsafe { RwLockReadGuard::new(&self.semaphore, self.data()) })
    }

    /// Takes write access if the lock is free now (no reader, no writer, nobody waiting).
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.try_acquire(self.max_readers)?;
        // SAFETY: we hold every permit.
        Ok(unsafe { RwLockWriteGuard::new(&self.semaphore, self.data(), self.max_readers) })
    }

    /// Waits for read access from synchronous code, blocking the thread: for code outside
    /// the runtime (a plain thread, `spawn_blocking`) sharing data with tasks.
    ///
    /// # Panics
    ///
    /// If called on a thread that runs async tasks (inside a runtime's `block_on`, or on a
    /// worker), where blocking would stall them.
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        super::semaphore::block_outside_runtime(self.read())
    }

    /// Waits for write access from synchronous code, blocking the thread. As
    /// [`blocking_read`](RwLock::blocking_read).
    ///
    /// # Panics
    ///
    /// If called on a thread that runs async tasks.
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        super::semaphore::block_outside_runtime(self.write())
    }

    /// As [`read`](RwLock::read), for a lock held in an [`Arc`]: the guard borrows nothing.
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1).await;
        OwnedRwLockReadGuard::new(self)
    }

    /// As [`write`](RwLock::write), for a lock held in an [`Arc`]: the guard borrows
    /// nothing.
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(self.max_readers).await;
        OwnedRwLockWriteGuard::new(self)
    }

    /// As [`try_read`](RwLock::try_read), for a lock held in an [`Arc`].
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.try_acquire(1)?;
        Ok(OwnedRwLockReadGuard::new(self))
    }

    /// As [`try_write`](RwLock::try_write), for a lock held in an [`Arc`].
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.try_acquire(self.max_readers)?;
        Ok(OwnedRwLockWriteGuard::new(self))
    }

    /// The data, through an exclusive borrow of the lock: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// A pointer to the data, for a guard.
    fn data(&self) -> NonNull<T> {
        // SAFETY: `UnsafeCell::get` never returns null.
        unsafe { NonNull::new_unchecked(self.value.get()) }
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

#[cfg(all(test, not(loom)))]
mod tests;
