//! A counting semaphore: asyncio's `Semaphore` with tokio's API.
//!
//! A [`Semaphore`] holds a number of permits. [`acquire`](Semaphore::acquire) waits for
//! one and returns it as a [`SemaphorePermit`] guard; dropping the guard gives the permit
//! back. [`acquire_many`](Semaphore::acquire_many) takes several at once.
//!
//! The semaphore is **fair**: waiters are served in the order they started waiting, and a
//! waiter asking for many permits is not overtaken by later ones asking for few. It
//! collects the permits as they come back, while those behind it wait.
//!
//! ```
//! use std::sync::Arc;
//! use corio::sync::Semaphore;
//!
//! corio::run(async {
//!     // At most two downloads at a time.
//!     let slots = Arc::new(Semaphore::new(2));
//!     let tasks: Vec<_> = (0..5)
//!         .map(|n| {
//!             let slots = slots.clone();
//!             corio::spawn(async move {
//!                 let _permit = slots.acquire().await.unwrap();
//!                 n * 10 // ... the download, with a permit held ...
//!             })
//!         })
//!         .collect();
//!     let mut total = 0;
//!     for task in tasks {
//!         total += task.await.unwrap();
//!     }
//!     assert_eq!(total, 100);
//!     assert_eq!(slots.available_permits(), 2);
//! });
//! ```
//!
//! # For asyncio users
//!
//! `async with sem:` is `let _permit = sem.acquire().await?;` (the permit is released
//! when it goes out of scope); `sem.locked()` is `sem.available_permits() == 0`;
//! `sem.release()` without a permit is [`add_permits(1)`](Semaphore::add_permits). A
//! `BoundedSemaphore` is the default here: a permit can only be given back once, by
//! dropping it. Waiters are served first come, first served.
//!
//! # How it works
//!
//! An atomic permit count, so that an uncontended acquire or release is a single
//! compare-and-swap, and a FIFO queue behind a lock whose nodes live inside the waiting
//! futures (nothing is allocated per wait). See `batch.rs` for the invariants.

mod batch;
mod error;
mod waiter_list;

use std::fmt;
use std::sync::Arc;

pub(crate) use batch::BatchSemaphore;
pub use error::{AcquireError, TryAcquireError, TryLockError};

/// Runs `future` to completion on this thread, blocking it between polls: the `blocking_*`
/// methods of the locks, for synchronous code.
///
/// # Panics
///
/// If this thread runs async tasks (a runtime's `block_on`, a worker): blocking it would
/// stall them, possibly the very task that holds the lock.
#[track_caller]
pub(crate) fn block_outside_runtime<F: std::future::Future>(future: F) -> F::Output {
    let _not_in_a_runtime = crate::runtime::context::enter_runtime();
    crate::runtime::park::block_on_parked(future)
}

/// `Debug` and `Display` for a lock guard, as those of the data it derefs to (shared by the
/// guards of `Mutex` and `RwLock`).
macro_rules! fmt_as_target {
    (impl<$($lt:lifetime,)? $($param:ident),+> $guard:ty => $target:ident) => {
        impl<$($lt,)? $($param: ?Sized),+> std::fmt::Debug for $guard
        where
            $target: std::fmt::Debug,
        {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($lt,)? $($param: ?Sized),+> std::fmt::Display for $guard
        where
            $target: std::fmt::Display,
        {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&**self, f)
            }
        }
    };
}
pub(crate) use fmt_as_target;

/// A counting semaphore whose waiters are served in FIFO order. See the
/// [module docs](self).
pub struct Semaphore {
    permits: BatchSemaphore,
}

/// A permit (or several) from a [`Semaphore`], given back when dropped.
#[must_use = "the permit is released at once if unused"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
}

/// A permit (or several) from a [`Semaphore`] held in an [`Arc`], given back when dropped.
///
/// Unlike [`SemaphorePermit`] it borrows nothing, so it can move into a spawned task.
#[must_use = "the permit is released at once if unused"]
pub struct OwnedSemaphorePermit {
    semaphore: Arc<Semaphore>,
    permits: usize,
}

impl Semaphore {
    /// The most permits a semaphore can hold: `usize::MAX >> 3`.
    pub const MAX_PERMITS: usize = batch::MAX_PERMITS;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            permits: BatchSemaphore::new(permits),
        }
    }

    /// A semaphore with `permits` permits, in a `const` context (e.g. a `static`).
    ///
    /// ```
    /// use corio::sync::Semaphore;
    ///
    /// static CONNECTIONS: Semaphore = Semaphore::const_new(10);
    /// assert_eq!(CONNECTIONS.available_permits(), 10);
    /// ```
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    #[cfg(not(loom))]
    pub const fn const_new(permits: usize) -> Semaphore {
        Semaphore {
            permits: BatchSemaphore::const_new(permits),
        }
    }

    /// How many permits are available now. Zero while anyone waits: released permits go
    /// straight to the waiters.
    pub fn available_permits(&self) -> usize {
        self.permits.available_permits()
    }

    /// Adds `n` permits, serving waiters first (oldest first). asyncio's `release()`.
    ///
    /// # Panics
    ///
    /// If the available permits would exceed [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    pub fn add_permits(&self, n: usize) {
        self.permits.release(n);
    }

    /// Removes up to `n` of the available permits, for good; returns how many it removed.
    /// Permits held or owed to waiters are not touched.
    pub fn forget_permits(&self, n: usize) -> usize {
        self.permits.forget_permits(n)
    }

    /// Waits for a permit.
    ///
    /// Fails only if the semaphore is [closed](Semaphore::close) before a permit is
    /// handed over. Waiters are served in FIFO order.
    ///
    /// Cancellation-safe: dropping the future gives back any permit it had been handed,
    /// to the next waiter, and keeps its place for nobody.
    ///
    /// ```
    /// use corio::sync::Semaphore;
    ///
    /// corio::run(async {
    ///     let semaphore = Semaphore::new(1);
    ///     let permit = semaphore.acquire().await.unwrap();
    ///     assert_eq!(semaphore.available_permits(), 0);
    ///     drop(permit);
    ///     assert_eq!(semaphore.available_permits(), 1);
    /// });
    /// ```
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.permits.acquire(1).await?;
        Ok(SemaphorePermit {
            semaphore: self,
            permits: 1,
        })
    }

    /// Waits for `n` permits, taken together.
    ///
    /// While this waits at the head of the queue it collects released permits, and later
    /// waiters wait behind it even if they want fewer. So a request for more permits than
    /// will ever be available waits (and holds up those behind it) until permits are added
    /// or the semaphore closes. As [`acquire`](Semaphore::acquire) otherwise.
    ///
    /// ```
    /// use corio::sync::Semaphore;
    ///
    /// corio::run(async {
    ///     let semaphore = Semaphore::new(5);
    ///     let permits = semaphore.acquire_many(3).await.unwrap();
    ///     assert_eq!(permits.num_permits(), 3);
    ///     assert_eq!(semaphore.available_permits(), 2);
    /// });
    /// ```
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        let permits = n as usize;
        self.permits.acquire(permits).await?;
        Ok(SemaphorePermit {
            semaphore: self,
            permits,
        })
    }

    /// Takes a permit if one is available and nobody is waiting.
    ///
    /// ```
    /// use corio::sync::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Semaphore::new(1);
    /// let permit = semaphore.try_acquire().unwrap();
    /// assert_eq!(semaphore.try_acquire().err(), Some(TryAcquireError::NoPermits));
    /// drop(permit);
    /// semaphore.close();
    /// assert_eq!(semaphore.try_acquire().err(), Some(TryAcquireError::Closed));
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are available and nobody is waiting.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let permits = n as usize;
        self.permits.try_acquire(permits)?;
        Ok(SemaphorePermit {
            semaphore: self,
            permits,
        })
    }

    /// Waits for a permit of a shared semaphore; the permit keeps the semaphore alive and
    /// can move into a spawned task. As [`acquire`](Semaphore::acquire) otherwise.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corio::sync::Semaphore;
    ///
    /// corio::run(async {
    ///     let semaphore = Arc::new(Semaphore::new(1));
    ///     let permit = semaphore.clone().acquire_owned().await.unwrap();
    ///     let worker = corio::spawn(async move {
    ///         // ... work while holding the permit ...
    ///         drop(permit);
    ///     });
    ///     worker.await.unwrap();
    ///     assert_eq!(semaphore.available_permits(), 1);
    /// });
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// Waits for `n` permits of a shared semaphore. As
    /// [`acquire_many`](Semaphore::acquire_many) and
    /// [`acquire_owned`](Semaphore::acquire_owned).
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        let permits = n as usize;
        self.permits.acquire(permits).await?;
        Ok(OwnedSemaphorePermit {
            semaphore: self,
            permits,
        })
    }

    /// Takes a permit of a shared semaphore if one is available and nobody is waiting.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits of a shared semaphore if they are available and nobody is
    /// waiting.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let permits = n as usize;
        self.permits.try_acquire(permits)?;
        Ok(OwnedSemaphorePermit {
            semaphore: self,
            permits,
        })
    }

    /// Closes the semaphore: every waiter fails with [`AcquireError`] now, and every later
    /// acquire fails too. Permits already held stay valid and can still be given back.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corio::sync::Semaphore;
    ///
    /// corio::run(async {
    ///     let semaphore = Arc::new(Semaphore::new(0));
    ///     let waiter = corio::spawn(semaphore.clone().acquire_owned());
    ///     corio::task::yield_now().await;
    ///     semaphore.close();
    ///     assert!(waiter.await.unwrap().is_err());
    ///     assert!(semaphore.is_closed());
    /// });
    /// ```
    pub fn close(&self) {
        self.permits.close();
    }

    /// True once [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl SemaphorePermit<'_> {
    /// Keeps the permits from going back to the semaphore: they are gone for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Moves the permits of `other` into this guard.
    ///
    /// # Panics
    ///
    /// If `other` is from a different semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.semaphore, other.semaphore),
            "merging permits from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new guard, or returns `None` if this one holds fewer.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.permits = self.permits.checked_sub(n)?;
        Some(SemaphorePermit {
            semaphore: self.semaphore,
            permits: n,
        })
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.semaphore.permits.release(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

impl OwnedSemaphorePermit {
    /// Keeps the permits from going back to the semaphore: they are gone for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }

    /// Moves the permits of `other` into this guard.
    ///
    /// # Panics
    ///
    /// If `other` is from a different semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.semaphore, &other.semaphore),
            "merging permits from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new guard, or returns `None` if this one holds fewer.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.permits = self.permits.checked_sub(n)?;
        Some(OwnedSemaphorePermit {
            semaphore: self.semaphore.clone(),
            permits: n,
        })
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.semaphore.permits.release(self.permits);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
