//! A FIFO list of waiters whose nodes live inside the futures that wait (an intrusive list).
//!
//! A waiting future embeds a [`Waiter`] and, once pinned, links it into a [`WaiterList`]
//! kept behind a lock. Queueing therefore allocates nothing: the list is two pointers, and
//! each node carries its own links, waker and the number of permits it is still owed.
//!
//! # Invariants
//!
//! - A waiter's `links` and `waker` are touched only by whoever holds the lock that
//!   guards the list the waiter is in, or is about to enter, or has just left. The list's
//!   methods take `&mut WaiterList`, which is what holding that lock looks like.
//! - A waiter is in at most one list, and stays alive and unmoved while it is in it: the
//!   future that embeds it is pinned and unlinks it (under the lock) before it is dropped.
//!   So every pointer in a list is valid while the list's lock is held.
//! - `owed` may also be read without the lock, by the waiter's owner; see
//!   [`Waiter::owed`].

use std::marker::PhantomPinned;
use std::ptr::NonNull;
use std::task::Waker;

use crate::loom::UnsafeCell;
use crate::loom::sync::atomic::AtomicUsize;

/// One waiting future's node.
pub(crate) struct Waiter {
    /// Permits this waiter still waits for. Written only under the list's lock. The owner
    /// may read it without the lock: whoever stores 0 has already unlinked the waiter and
    /// taken its waker, and never touches it again, so an owner that loads 0 (`Acquire`,
    /// paired with that `Release` store) has its node back to itself.
    pub(crate) owed: AtomicUsize,
    /// The task to wake once `owed` reaches 0 (or the semaphore closes).
    waker: UnsafeCell<Option<Waker>>,
    links: UnsafeCell<Links>,
    /// Other threads hold pointers to this node while it is linked.
    _pinned: PhantomPinned,
}

struct Links {
    prev: Option<NonNull<Waiter>>,
    next: Option<NonNull<Waiter>>,
    /// In a list: `prev`/`next` are meaningful.
    queued: bool,
}

// SAFETY: the raw pointers in `links` and the waker cell are only used under the lock of
// the list the node is in (module invariants); `owed` is atomic.
unsafe impl Send for Waiter {}
// SAFETY: as for `Send`: shared access never touches the cells without that lock.
unsafe impl Sync for Waiter {}

impl Waiter {
    /// A waiter that waits for nothing yet and is in no list.
    pub(crate) fn new() -> Waiter {
        Waiter {
            owed: AtomicUsize::new(0),
            waker: UnsafeCell::new(None),
            links: UnsafeCell::new(Links {
                prev: None,
                next: None,
                queued: false,
            }),
            _pinned: PhantomPinned,
        }
    }

    /// Stores `waker` unless the stored one would wake the same task; returns the one it
    /// replaced, to drop after unlocking.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the list this waiter is in or is about to enter.
    pub(crate) unsafe fn set_waker(&self, waker: &Waker) -> Option<Waker> {
        self.waker.with_mut(|slot| {
            // SAFETY: the caller holds the lock, so nobody else accesses the slot.
            let slot = unsafe { &mut *slot };
            match slot {
                Some(old) if old.will_wake(waker) => None,
                _ => slot.replace(waker.clone()),
            }
        })
    }

    /// Takes the stored waker out.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the list this waiter is in or has just left.
    pub(crate) unsafe fn take_waker(&self) -> Option<Waker> {
        // SAFETY: the caller holds the lock, so nobody else accesses the slot.
        self.waker.with_mut(|slot| unsafe { (*slot).take() })
    }
}

/// The list itself: oldest waiter first.
pub(crate) struct WaiterList {
    head: Option<NonNull<Waiter>>,
    tail: Option<NonNull<Waiter>>,
    len: usize,
}

// SAFETY: the list only holds pointers to `Waiter`s, which are `Send + Sync`, and is only
// used behind its lock.
unsafe impl Send for WaiterList {}

/// The links of `waiter`, to read or write.
///
/// # Safety
///
/// `waiter` is alive, and the caller holds the lock of the list it is in or will enter (so
/// the returned reference is the only one).
#[allow(clippy::mut_from_ref)] // the list's lock is what makes it unique
unsafe fn links<'a>(waiter: NonNull<Waiter>) -> &'a mut Links {
    // SAFETY: per the contract, the node is alive and nobody else touches its links.
    unsafe { waiter.as_ref().links.with_mut(|links| &mut *links) }
}

impl WaiterList {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> WaiterList {
        WaiterList {
            head: None,
            tail: None,
            len: 0,
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> WaiterList {
        WaiterList {
            head: None,
            tail: None,
            len: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// How many waiters are in the list.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The oldest waiter, still linked.
    pub(crate) fn front(&self) -> Option<NonNull<Waiter>> {
        self.head
    }

    /// Appends `waiter`: it becomes the newest.
    ///
    /// # Safety
    ///
    /// `waiter` is in no list, and stays alive and unmoved until it is taken out again by
    /// [`pop_front`](WaiterList::pop_front) or [`remove`](WaiterList::remove) on this list.
    pub(crate) unsafe fn push_back(&mut self, waiter: NonNull<Waiter>) {
        // SAFETY: alive per the contract; we hold the lock (we have `&mut self`).
        let node = unsafe { links(waiter) };
        debug_assert!(!node.queued, "a waiter is in one list at most");
        node.queued = true;
        node.prev = self.tail;
        node.next = None;
        match self.tail {
            // SAFETY: nodes in the list are alive (push_back's contract).
            Some(tail) => unsafe { links(tail) }.next = Some(waiter),
            None => self.head = Some(waiter),
        }
        self.tail = Some(waiter);
        self.len += 1;
    }

    /// Unlinks and returns the oldest waiter.
    pub(crate) fn pop_front(&mut self) -> Option<NonNull<Waiter>> {
        let head = self.head?;
        // SAFETY: `head` is in this list, so it is alive, and it is ours to unlink.
        unsafe { self.unlink(head) };
        Some(head)
    }

    /// Unlinks `waiter` if it is in the list; returns whether it was.
    ///
    /// # Safety
    ///
    /// `waiter` is alive, and is in this list or in none.
    pub(crate) unsafe fn remove(&mut self, waiter: NonNull<Waiter>) -> bool {
        // SAFETY: alive per the contract; in this list or none, so we hold its lock.
        if !unsafe { links(waiter) }.queued {
            return false;
        }
        // SAFETY: as above, and it is queued, so in this list.
        unsafe { self.unlink(waiter) };
        true
    }

    /// # Safety
    ///
    /// `waiter` is in this list.
    unsafe fn unlink(&mut self, waiter: NonNull<Waiter>) {
        // SAFETY: in this list, so alive; neighbours are in it too. Each `links` borrow
        // ends before the next starts.
        unsafe {
            let node = links(waiter);
            let (prev, next) = (node.prev.take(), node.next.take());
            node.queued = false;
            match prev {
                Some(prev) => links(prev).next = next,
                None => self.head = next,
            }
            match next {
                Some(next) => links(next).prev = prev,
                None => self.tail = prev,
            }
        }
        self.len -= 1;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! Runs under Miri: `cargo +nightly miri test -p corio --lib -- sync::semaphore`.
    use super::*;
    use std::pin::Pin;

    fn ptr(waiter: &Pin<Box<Waiter>>) -> NonNull<Waiter> {
        NonNull::from(&**waiter)
    }

    fn drain(list: &mut WaiterList) -> Vec<NonNull<Waiter>> {
        std::iter::from_fn(|| list.pop_front()).collect()
    }

    #[test]
    fn fifo_order() {
        let waiters: Vec<_> = (0..4).map(|_| Box::pin(Waiter::new())).collect();
        let mut list = WaiterList::new();
        for waiter in &waiters {
            // SAFETY: in no list; the boxes outlive the list's use of them.
            unsafe { list.push_back(ptr(waiter)) };
        }
        assert_eq!(list.len(), 4);
        assert_eq!(list.front(), Some(ptr(&waiters[0])));
        let order: Vec<_> = waiters.iter().map(ptr).collect();
        assert_eq!(drain(&mut list), order);
        assert!(list.is_empty());
        assert_eq!(list.len(), 0);
    }

    #[test]
    fn remove_from_anywhere() {
        let waiters: Vec<_> = (0..5).map(|_| Box::pin(Waiter::new())).collect();
        let mut list = WaiterList::new();
        for waiter in &waiters {
            // SAFETY: in no list; the boxes outlive the list's use of them.
            unsafe { list.push_back(ptr(waiter)) };
        }
        // SAFETY (all removes): alive, and in this list or none.
        unsafe {
            assert!(list.remove(ptr(&waiters[2])), "middle");
            assert!(!list.remove(ptr(&waiters[2])), "already out");
            assert!(list.remove(ptr(&waiters[0])), "head");
            assert!(list.remove(ptr(&waiters[4])), "tail");
        }
        assert_eq!(list.len(), 2);
        assert_eq!(drain(&mut list), [ptr(&waiters[1]), ptr(&waiters[3])]);
        // Unlinked waiters can join again.
        // SAFETY: in no list; alive.
        unsafe {
            list.push_back(ptr(&waiters[2]));
            list.push_back(ptr(&waiters[0]));
            assert!(list.remove(ptr(&waiters[2])));
            assert!(list.remove(ptr(&waiters[0])));
        }
        assert!(list.is_empty());
        assert_eq!(list.front(), None);
    }

    #[test]
    fn wakers_are_replaced_only_when_different() {
        use crate::test_util::CountingWaker;
        let ((a, task), (b, other)) = (CountingWaker::new(), CountingWaker::new());
        let waiter = Waiter::new();
        // SAFETY: the waiter is in no list and local: nobody else can touch it.
        unsafe {
            assert!(waiter.set_waker(&task).is_none());
            // (Miri may give one task's wakers distinct vtables, so `will_wake` can say
            // "different": either answer is allowed here.)
            drop(waiter.set_waker(&task.clone()));
            waiter
                .set_waker(&other)
                .expect("a different task replaces it")
                .wake();
            waiter.take_waker().unwrap().wake();
            assert!(waiter.take_waker().is_none());
        }
        assert_eq!((a.wakes(), b.wakes()), (1, 1));
    }
}
