//! The guards of a [`Mutex`] held in an [`Arc`]: they keep the mutex alive and borrow
//! nothing, so they can move into spawned tasks.

use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::Arc;

use super::Mutex;
use crate::sync::semaphore::fmt_as_target;

/// The lock of a [`Mutex`] held in an [`Arc`]: borrows nothing, so it can move into a
/// spawned task. Derefs to the data; unlocks when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: ManuallyDrop<Arc<Mutex<T>>>,
}

/// The lock of a [`Mutex`] held in an [`Arc`], narrowed to the part `U` of its data; made
/// by [`OwnedMutexGuard::map`]. Unlocks when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    mutex: ManuallyDrop<Arc<Mutex<T>>>,
    data: NonNull<U>,
}

// `OwnedMutexGuard` is `Send` when `T: Send` (through the `Arc`).
// SAFETY: sharing a guard shares `&T` (needs `T: Sync`).
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}
// SAFETY: the guard gives `&mut U` and owns an `Arc` of the mutex (`T: Send`).
unsafe impl<T: ?Sized + Send, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: sharing it shares `&U`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedMappedMutexGuard<T, U> {}

/// Takes the `Arc` out of a guard whose `Drop` must not run.
///
/// # Safety
///
/// `mutex` is not used or dropped again.
unsafe fn take<T: ?Sized>(mutex: &mut ManuallyDrop<Arc<Mutex<T>>>) -> Arc<Mutex<T>> {
    // SAFETY: per the contract, this is the only move out of it.
    unsafe { ManuallyDrop::take(mutex) }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// Wraps the permit the caller holds.
    pub(super) fn new(mutex: Arc<Mutex<T>>) -> Self {
        OwnedMutexGuard {
            mutex: ManuallyDrop::new(mutex),
        }
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.mutex
    }

    /// Turns the guard into one that gives access to part of the data, `f`'s result.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corio::sync::{Mutex, OwnedMutexGuard};
    ///
    /// corio::run(async {
    ///     let pair = Arc::new(Mutex::new((0, String::new())));
    ///     let mut text = OwnedMutexGuard::map(pair.clone().lock_owned().await, |p| &mut p.1);
    ///     corio::spawn(async move { text.push_str("hi") }).await.unwrap();
    ///     assert_eq!(pair.lock().await.1, "hi");
    /// });
    /// ```
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> OwnedMappedMutexGuard<T, U> {
        let data = NonNull::from(f(&mut *this));
        let mut this = ManuallyDrop::new(this);
        OwnedMappedMutexGuard {
            // SAFETY: `this` is never dropped; its permit moves to the new guard.
            mutex: ManuallyDrop::new(unsafe { take(&mut this.mutex) }),
            data,
        }
    }

    /// As [`map`](OwnedMutexGuard::map), but `f` may decline, which hands the guard back.
    pub fn try_map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<OwnedMappedMutexGuard<T, U>, Self> {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let mut this = ManuallyDrop::new(this);
        Ok(OwnedMappedMutexGuard {
            // SAFETY: `this` is never dropped; its permit moves to the new guard.
            mutex: ManuallyDrop::new(unsafe { take(&mut this.mutex) }),
            data,
        })
    }
}

impl<T: ?Sized, U: ?Sized> OwnedMappedMutexGuard<T, U> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.mutex
    }

    /// Narrows the guard further, to part of what it gives access to.
    pub fn map<V: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut U) -> &mut V,
    ) -> OwnedMappedMutexGuard<T, V> {
        let data = NonNull::from(f(&mut *this));
        let mut this = ManuallyDrop::new(this);
        OwnedMappedMutexGuard {
            // SAFETY: `this` is never dropped; its permit moves to the new guard.
            mutex: ManuallyDrop::new(unsafe { take(&mut this.mutex) }),
            data,
        }
    }

    /// As [`map`](OwnedMappedMutexGuard::map), but `f` may decline, which hands the guard
    /// back.
    pub fn try_map<V: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut U) -> Option<&mut V>,
    ) -> Result<OwnedMappedMutexGuard<T, V>, Self> {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let mut this = ManuallyDrop::new(this);
        Ok(OwnedMappedMutexGuard {
            // SAFETY: `this` is never dropped; its permit moves to the new guard.
            mutex: ManuallyDrop::new(unsafe { take(&mut this.mutex) }),
            data,
        })
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

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;

    fn deref(&self) -> &U {
        // SAFETY: the guard holds the permit; `data` points into the locked value, which
        // our `Arc` keeps alive.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as for `deref`.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.semaphore.release(1);
        // SAFETY: dropping: `mutex` is not used again.
        drop(unsafe { take(&mut self.mutex) });
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        self.mutex.semaphore.release(1);
        // SAFETY: dropping: `mutex` is not used again.
        drop(unsafe { take(&mut self.mutex) });
    }
}

fmt_as_target!(impl<T> OwnedMutexGuard<T> => T);
fmt_as_target!(impl<T, U> OwnedMappedMutexGuard<T, U> => U);
