//! The guards of a borrowed [`RwLock`](super::RwLock): read, write, and mapped write.
//!
//! Each guard is the permits it holds (released on drop) plus a pointer to the data it
//! gives access to: the whole value, or a part of it after `map`.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use crate::sync::semaphore::{BatchSemaphore, fmt_as_target};

/// Shared read access to an [`RwLock`](super::RwLock); released when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    semaphore: &'a BatchSemaphore,
    data: NonNull<T>,
    _borrow: PhantomData<&'a T>,
}

/// Exclusive write access to an [`RwLock`](super::RwLock); released when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    semaphore: &'a BatchSemaphore,
    data: NonNull<T>,
    /// Every permit of the lock (its `max_readers`).
    permits: u32,
    _borrow: PhantomData<&'a mut T>,
}

/// Exclusive write access to part of an [`RwLock`](super::RwLock)'s data, made by
/// [`RwLockWriteGuard::map`]; released when dropped. Unlike a write guard it cannot be
/// downgraded (readers would see the whole value).
#[must_use = "the lock is released at once if the guard is unused"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    semaphore: &'a BatchSemaphore,
    data: NonNull<T>,
    permits: u32,
    _borrow: PhantomData<&'a mut T>,
}

// SAFETY: a read guard only gives `&T`: sending or sharing it needs `T: Sync`.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: a write guard gives `&mut T` (moving it moves access: `T: Send`) and can be
// downgraded to a read guard (`T: Sync`).
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: shared, it gives `&T`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// # Safety
    ///
    /// The caller holds one read permit of `semaphore`, which guards `data`; the guard
    /// takes it over.
    pub(super) unsafe fn new(semaphore: &'a BatchSemaphore, data: NonNull<T>) -> Self {
        RwLockReadGuard {
            semaphore,
            data,
            _borrow: PhantomData,
        }
    }

    /// Narrows the guard to part of the data, `f`'s result. An associated function, so as
    /// not to shadow a method of `T`.
    ///
    /// ```
    /// use corio::sync::{RwLock, RwLockReadGuard};
    ///
    /// corio::run(async {
    ///     let lock = RwLock::new((String::from("name"), 7));
    ///     let name = RwLockReadGuard::map(lock.read().await, |pair| &pair.0);
    ///     assert_eq!(*name, "name");
    /// });
    /// ```
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&T) -> &U) -> RwLockReadGuard<'a, U> {
        let data = NonNull::from(f(&*this));
        let this = ManuallyDrop::new(this); // its permit moves to the new guard
        RwLockReadGuard {
            semaphore: this.semaphore,
            data,
            _borrow: PhantomData,
        }
    }

    /// As [`map`](RwLockReadGuard::map), but `f` may decline, which hands the guard back.
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&T) -> Option<&U>,
    ) -> Result<RwLockReadGuard<'a, U>, Self> {
        let Some(data) = f(&*this).map(NonNull::from) else {
            return Err(this);
        };
        let this = ManuallyDrop::new(this);
        Ok(RwLockReadGuard {
            semaphore: this.semaphore,
            data,
            _borrow: PhantomData,
        })
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// # Safety
    ///
    /// The caller holds all `permits` of `semaphore`, which guards `data`; the guard takes
    /// them over.
    pub(super) unsafe fn new(
        semaphore: &'a BatchSemaphore,
        data: NonNull<T>,
        permits: u32,
    ) -> Self {
        RwLockWriteGuard {
            semaphore,
            data,
            permits,
            _borrow: PhantomData,
        }
    }

    /// Turns write access into read access without letting a writer in between; readers
    /// waiting first in line may join at once.
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
        let this = ManuallyDrop::new(this);
        // Keep one permit: a read guard's.
        this.semaphore.release(this.permits as usize - 1);
        RwLockReadGuard {
            semaphore: this.semaphore,
            data: this.data,
            _borrow: PhantomData,
        }
    }

    /// Downgrades (as [`downgrade`](RwLockWriteGuard::downgrade)) and narrows to part of the
    /// data (as [`RwLockReadGuard::map`]) in one step.
    pub fn downgrade_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&T) -> &U,
    ) -> RwLockReadGuard<'a, U> {
        RwLockReadGuard::map(RwLockWriteGuard::downgrade(this), f)
    }

    /// Narrows the guard to part of the data, `f`'s result.
    ///
    /// ```
    /// use corio::sync::{RwLock, RwLockWriteGuard};
    ///
    /// corio::run(async {
    ///     let lock = RwLock::new((0, 0));
    ///     let mut second = RwLockWriteGuard::map(lock.write().await, |pair| &mut pair.1);
    ///     *second = 5;
    ///     drop(second);
    ///     assert_eq!(*lock.read().await, (0, 5));
    /// });
    /// ```
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> RwLockMappedWriteGuard<'a, U> {
        let data = NonNull::from(f(&mut *this));
        let this = ManuallyDrop::new(this);
        RwLockMappedWriteGuard {
            semaphore: this.semaphore,
            data,
            permits: this.permits,
            _borrow: PhantomData,
        }
    }

    /// As [`map`](RwLockWriteGuard::map), but `f` may decline, which hands the guard back.
    pub fn try_map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self> {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let this = ManuallyDrop::new(this);
        Ok(RwLockMappedWriteGuard {
            semaphore: this.semaphore,
            data,
            permits: this.permits,
            _borrow: PhantomData,
        })
    }

    /// The same access as a mapped guard (of the whole value).
    pub fn into_mapped(this: Self) -> RwLockMappedWriteGuard<'a, T> {
        RwLockWriteGuard::map(this, |value| value)
    }
}

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    /// Narrows the guard further, to part of what it gives access to.
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> RwLockMappedWriteGuard<'a, U> {
        let data = NonNull::from(f(&mut *this));
        let this = ManuallyDrop::new(this);
        RwLockMappedWriteGuard {
            semaphore: this.semaphore,
            data,
            permits: this.permits,
            _borrow: PhantomData,
        }
    }

    /// As [`map`](RwLockMappedWriteGuard::map), but `f` may decline, which hands the guard
    /// back.
    pub fn try_map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self> {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let this = ManuallyDrop::new(this);
        Ok(RwLockMappedWriteGuard {
            semaphore: this.semaphore,
            data,
            permits: this.permits,
            _borrow: PhantomData,
        })
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: we hold a read permit: no writer until we drop.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: we hold every permit: the data is ours alone.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold every permit: the data is ours alone.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: we hold every permit: the data is ours alone.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold every permit: the data is ours alone.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.semaphore.release(1);
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.semaphore.release(self.permits as usize);
    }
}

impl<T: ?Sized> Drop for RwLockMappedWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.semaphore.release(self.permits as usize);
    }
}

fmt_as_target!(impl<'a, T> RwLockReadGuard<'a, T> => T);
fmt_as_target!(impl<'a, T> RwLockWriteGuard<'a, T> => T);
fmt_as_target!(impl<'a, T> RwLockMappedWriteGuard<'a, T> => T);
