//! The guards of a borrowed [`Mutex`]: the lock held, and the lock held narrowed to part
//! of the data.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use super::Mutex;
use crate::sync::semaphore::{BatchSemaphore, fmt_as_target};

/// The lock of a [`Mutex`], held: derefs to the data; unlocks when dropped.
#[must_use = "the lock is released at once if the guard is unused"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

/// A held lock that gives access to part of the data; made by [`MutexGuard::map`].
#[must_use = "the lock is released at once if the guard is unused"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    semaphore: &'a BatchSemaphore,
    data: NonNull<T>,
    _borrow: PhantomData<&'a mut T>,
}

// `MutexGuard` is `Send` when `T: Send` (it holds a `&Mutex<T>`).
// SAFETY: sharing a guard shares `&T` (needs `T: Sync`).
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}
// SAFETY: the guard is a `&mut T` plus a permit; sending it sends the `&mut T`.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: sharing it shares `&T`.
unsafe impl<T: ?Sized + Send + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Wraps the permit the caller holds.
    pub(super) fn new(mutex: &'a Mutex<T>) -> Self {
        MutexGuard { mutex }
    }

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
    /// use corio::sync::{Mutex, MutexGuard};
    ///
    /// corio::run(async {
    ///     let pair = Mutex::new((1, "one"));
    ///     let mut first = MutexGuard::map(pair.lock().await, |p| &mut p.0);
    ///     *first += 1;
    ///     drop(first);
    ///     assert_eq!(*pair.lock().await, (2, "one"));
    /// });
    /// ```
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> MappedMutexGuard<'a, U> {
        // If `f` panics, `this` is still alive and unlocks as it unwinds.
        let data = NonNull::from(f(&mut *this));
        let this = ManuallyDrop::new(this); // its permit moves to the new guard
        MappedMutexGuard {
            semaphore: &this.mutex.semaphore,
            data,
            _borrow: PhantomData,
        }
    }

    /// As [`map`](MutexGuard::map), but `f` may decline, which hands the guard back.
    pub fn try_map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<MappedMutexGuard<'a, U>, Self> {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let this = ManuallyDrop::new(this);
        Ok(MappedMutexGuard {
            semaphore: &this.mutex.semaphore,
            data,
            _borrow: PhantomData,
        })
    }
}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// Narrows the guard further, to part of what it gives access to.
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> MappedMutexGuard<'a, U> {
        let data = NonNull::from(f(&mut *this));
        let this = ManuallyDrop::new(this);
        MappedMutexGuard {
            semaphore: this.semaphore,
            data,
            _borrow: PhantomData,
        }
    }

    /// As [`map`](MappedMutexGuard::map), but `f` may decline, which hands the guard back.
    pub fn try_map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<MappedMutexGuard<'a, U>, Self> {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let this = ManuallyDrop::new(this);
        Ok(MappedMutexGuard {
            semaphore: this.semaphore,
            data,
            _borrow: PhantomData,
        })
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

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the permit; `data` points into the locked value.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the permit; `data` points into the locked value.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.semaphore.release(1);
    }
}

fmt_as_target!(impl<'a, T> MutexGuard<'a, T> => T);
fmt_as_target!(impl<'a, T> MappedMutexGuard<'a, T> => T);
