//! The guards of an [`RwLock`] held in an [`Arc`]: they keep the lock alive and borrow
//! nothing, so they can move into spawned tasks.
//!
//! `T` is the lock's data; a guard narrowed by `map` gives access to a `U` inside it.

use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::Arc;

use super::RwLock;
use crate::sync::semaphore::fmt_as_target;

/// Shared read access to an [`RwLock`] held in an [`Arc`] (or to the part `U` of its data
/// it was mapped to); released when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    lock: ManuallyDrop<Arc<RwLock<T>>>,
    data: NonNull<U>,
}

/// Exclusive write access to an [`RwLock`] held in an [`Arc`]; released when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: ManuallyDrop<Arc<RwLock<T>>>,
}

/// Exclusive write access to the part `U` of an [`RwLock`]'s data, made by
/// [`OwnedRwLockWriteGuard::map`]; released when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized = T> {
    lock: ManuallyDrop<Arc<RwLock<T>>>,
    data: NonNull<U>,
}

// SAFETY: the guard gives `&U` (needs `U: Sync`) and owns an `Arc` of the lock, which may be
// dropped on another thread (the lock must be `Send + Sync`).
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Sync for OwnedRwLockReadGuard<T, U> {}
// SAFETY: it gives `&mut U` (`U: Send`) and `&U` when shared (`U: Sync`); see above for `T`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Send
    for OwnedRwLockMappedWriteGuard<T, U>
{
}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync
    for OwnedRwLockMappedWriteGuard<T, U>
{
}

/// Takes the `Arc` out of a guard whose `Drop` must not run.
///
/// # Safety
///
/// `lock` is not used or dropped again.
unsafe fn take<T: ?Sized>(lock: &mut ManuallyDrop<Arc<RwLock<T>>>) -> Arc<RwLock<T>> {
    // SAFETY: per the contract, this is the only move out of it.
    unsafe { ManuallyDrop::take(lock) }
}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    /// Wraps a read permit the caller holds.
    pub(super) fn new(lock: Arc<RwLock<T>>) -> Self {
        let data = lock.data();
        OwnedRwLockReadGuard {
            lock: ManuallyDrop::new(lock),
            data,
        }
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    /// The lock this guard reads.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// Narrows the guard to part of what it gives access to, `f`'s result.
    pub fn map<V: ?Sized>(this: Self, f: impl FnOnce(&U) -> &V) -> OwnedRwLockReadGuard<T, V> {
        let data = NonNull::from(f(&*this));
        let mut this = ManuallyDrop::new(this);
        OwnedRwLockReadGuard {
            // SAFETY: `this` is never dropped; its permit moves to the new guard.
            lock: ManuallyDrop::new(unsafe { take(&mut this.lock) }),
            data,
        }
    }

    /// As [`map`](OwnedRwLockReadGuard::map), but `f` may decline, which hands the guard
    /// back.
    pub fn try_map<V: ?Sized>(
        this: Self,
        f: impl FnOnce(&U) -> Option<&V>,
    ) -> Result<OwnedRwLockReadGuard<T, V>, Self> {
        let Some(data) = f(&*this).map(NonNull::from) else {
            return Err(this);
        };
        let mut this = ManuallyDrop::new(this);
        Ok(OwnedRwLockReadGuard {
            // SAFETY: `this` is never dropped; its permit moves to the new guard.
            lock: ManuallyDrop::new(unsafe { take(&mut this.lock) }),
            data,
        })
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// Wraps the write permits the caller holds.
    pub(super) fn new(lock: Arc<RwLock<T>>) -> Self {
        OwnedRwLockWriteGuard {
            lock: ManuallyDrop::new(lock),
        }
    }

    /// The lock this guard writes.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// Turns write access into read access without letting a writer in between. As
    /// [`RwLockWriteGuard::downgrade`](super::RwLockWriteGuard::downgrade).
    pub fn downgrade(this: Self) -> OwnedRwLockReadGuard<T> {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never dropped; one of its permits moves to the read guard.
        let lock = unsafe { take(&mut this.lock) };
        lock.semaphore.release(lock.max_readers as usize - 1);
        OwnedRwLockReadGuard::new(lock)
    }

    /// Narrows the guard to part of the data, `f`'s result.
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> OwnedRwLockMappedWriteGuard<T, U> {
        let data = NonNull::from(f(&mut *this));
        let mut this = ManuallyDrop::new(this);
        OwnedRwLockMappedWriteGuard {
            // SAFETY: `this` is never dropped; its permits move to the new guard.
            lock: ManuallyDrop::new(unsafe { take(&mut this.lock) }),
            data,
        }
    }

    /// As [`map`](OwnedRwLockWriteGuard::map), but `f` may decline, which hands the guard
    /// back.
    pub fn try_map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self> {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let mut this = ManuallyDrop::new(this);
        Ok(OwnedRwLockMappedWriteGuard {
            // SAFETY: `this` is never dropped; its permits move to the new guard.
            lock: ManuallyDrop::new(unsafe { take(&mut this.lock) }),
            data,
        })
    }

    /// The same access as a mapped guard (of the whole value).
    pub fn into_mapped(this: Self) -> OwnedRwLockMappedWriteGuard<T> {
        OwnedRwLockWriteGuard::map(this, |value| value)
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    /// The lock this guard writes.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// Narrows the guard further, to part of what it gives access to.
    pub fn map<V: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut U) -> &mut V,
    ) -> OwnedRwLockMappedWriteGuard<T, V> {
        let data = NonNull::from(f(&mut *this));
        let mut this = ManuallyDrop::new(this);
        OwnedRwLockMappedWriteGuard {
            // SAFETY: `this` is never dropped; its permits move to the new guard.
            lock: ManuallyDrop::new(unsafe { take(&mut this.lock) }),
            data,
        }
    }

    /// As [`map`](OwnedRwLockMappedWriteGuard::map), but `f` may decline, which hands the
    /// guard back.
    pub fn try_map<V: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut U) -> Option<&mut V>,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self> {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let mut this = ManuallyDrop::new(this);
        Ok(OwnedRwLockMappedWriteGuard {
            // SAFETY: `this` is never dropped; its permits move to the new guard.
            lock: ManuallyDrop::new(unsafe { take(&mut this.lock) }),
            data,
        })
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockReadGuard<T, U> {
    type Target = U;

    fn deref(&self) -> &U {
        // SAFETY: we hold a read permit: no writer until we drop; `data` points into the
        // lock's value, which our `Arc` keeps alive.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: we hold every permit: the data is ours alone.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold every permit: the data is ours alone.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockMappedWriteGuard<T, U> {
    type Target = U;

    fn deref(&self) -> &U {
        // SAFETY: we hold every permit, and our `Arc` keeps the value alive.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedRwLockMappedWriteGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: we hold every permit, and our `Arc` keeps the value alive.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockReadGuard<T, U> {
    fn drop(&mut self) {
        self.lock.semaphore.release(1);
        // SAFETY: dropping: `lock` is not used again.
        drop(unsafe { take(&mut self.lock) });
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(self.lock.max_readers as usize);
        // SAFETY: dropping: `lock` is not used again.
        drop(unsafe { take(&mut self.lock) });
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockMappedWriteGuard<T, U> {
    fn drop(&mut self) {
        self.lock.semaphore.release(self.lock.max_readers as usize);
        // SAFETY: dropping: `lock` is not used again.
        drop(unsafe { take(&mut self.lock) });
    }
}

fmt_as_target!(impl<T, U> OwnedRwLockReadGuard<T, U> => U);
fmt_as_target!(impl<T> OwnedRwLockWriteGuard<T> => T);
fmt_as_target!(impl<T, U> OwnedRwLockMappedWriteGuard<T, U> => U);
