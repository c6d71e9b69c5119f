//! The injection queue: tasks scheduled from outside a scheduler's own thread(s).
//!
//! An intrusive FIFO through `Header::queue_next` under one mutex (no allocation per push),
//! with an atomic length so that pollers can skip the lock when it is empty. Once closed
//! (shutdown), pushed tasks are dropped instead of queued.

use std::ptr::NonNull;

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::task::Notified;
use crate::task::core::Header;

pub(crate) struct Inject<S: 'static> {
    len: AtomicUsize,
    synced: Mutex<Synced>,
    _scheduler: std::marker::PhantomData<S>,
}

struct Synced {
    head: Option<NonNull<Header>>,
    tail: Option<NonNull<Header>>,
    closed: bool,
}

// SAFETY: the queued pointers are task references, which may move between threads (see
// `Task`); they are only followed under the lock.
unsafe impl Send for Synced {}

impl<S: 'static> Inject<S> {
    pub(crate) fn new() -> Inject<S> {
        Inject {
            len: AtomicUsize::new(0),
            synced: Mutex::new(Synced {
                head: None,
                tail: None,
                closed: false,
            }),
            _scheduler: std::marker::PhantomData,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the queue; returns false if it was already closed.
    pub(crate) fn close(&self) -> bool {
        let mut synced = self.synced.lock().unwrap();
        !std::mem::replace(&mut synced.closed, true)
    }

    pub(crate) fn push(&self, task: Notified<S>) {
        let ptr = task.into_raw().header_ptr();
        let mut synced = self.synced.lock().unwrap();
        if synced.closed {
            drop(synced);
            // SAFETY: we own the `Notified`'s reference; rebuild it to drop it.
            drop(unsafe { Notified::<S>::from_raw(ptr) });
            return;
        }
        // SAFETY: we own the task's queue link while it is in this queue; the lock is held.
        unsafe { link(&mut synced, ptr, ptr, 1, &self.len) };
    }

    /// Pushes many tasks with one lock acquisition.
    pub(crate) fn push_batch(&self, tasks: impl Iterator<Item = Notified<S>>) {
        let mut first: Option<NonNull<Header>> = None;
        let mut last: Option<NonNull<Header>> = None;
        let mut count = 0;
        for task in tasks {
            let ptr = task.into_raw().header_ptr();
            // SAFETY: the task is ours (not in any queue yet), so its link is too.
            unsafe { ptr.as_ref().set_queue_next(None) };
            match last {
                // SAFETY: `prev` is a task we own, linked only into this private chain.
                Some(prev) => unsafe { prev.as_ref().set_queue_next(Some(ptr)) },
                None => first = Some(ptr),
            }
            last = Some(ptr);
            count += 1;
        }
        let (Some(first), Some(last)) = (first, last) else {
            return;
        };
        let mut synced = self.synced.lock().unwrap();
        if synced.closed {
            drop(synced);
            drop_chain(first);
            return;
        }
        // SAFETY: the chain is ours; the lock is held.
        unsafe { link(&mut synced, first, last, count, &self.len) };
    }

    pub(crate) fn pop(&self) -> Option<Notified<S>> {
        if self.is_empty() {
            return None;
        }
        let mut synced = self.synced.lock().unwrap();
        self.pop_locked(&mut synced)
    }

    /// Pops up to `max` tasks under one lock acquisition, handing each to `f`.
    pub(crate) fn pop_batch(&self, max: usize, mut f: impl FnMut(Notified<S>)) -> usize {
        if self.is_empty() || max == 0 {
            return 0;
        }
        let mut synced = self.synced.lock().unwrap();
        let mut n = 0;
        while n < max {
            let Some(task) = self.pop_locked(&mut synced) else {
                break;
            };
            f(task);
            n += 1;
        }
        n
    }

    fn pop_locked(&self, synced: &mut Synced) -> Option<Notified<S>> {
        let head = synced.head?;
        // SAFETY: the lock is held and the head is a queued task, whose link we own.
        let next = unsafe { head.as_ref().queue_next() };
        synced.head = next;
        if next.is_none() {
            synced.tail = None;
        }
        // SAFETY: as above.
        unsafe { head.as_ref().set_queue_next(None) };
        self.len
            .store(self.len.load(Ordering::Relaxed) - 1, Ordering::Release);
        // SAFETY: the queue held the `Notified`'s reference; it is ours now.
        Some(unsafe { Notified::from_raw(head) })
    }
}

/// # Safety
/// The lock must be held and the chain `first..=last` must be owned by the caller.
unsafe fn link(
    synced: &mut Synced,
    first: NonNull<Header>,
    last: NonNull<Header>,
    count: usize,
    len: &AtomicUsize,
) {
    // SAFETY: per the caller, the lock guards the links of queued tasks and the chain is ours.
    unsafe {
        last.as_ref().set_queue_next(None);
        match synced.tail {
            Some(tail) => tail.as_ref().set_queue_next(Some(first)),
            None => synced.head = Some(first),
        }
    }
    synced.tail = Some(last);
    // Writers hold the lock, so load + store cannot lose an update.
    len.store(len.load(Ordering::Relaxed) + count, Ordering::Release);
}

fn drop_chain(first: NonNull<Header>) {
    let mut next = Some(first);
    while let Some(ptr) = next {
        // SAFETY: the chain is ours; each element holds a `Notified`'s reference.
        unsafe {
            next = ptr.as_ref().queue_next();
            drop(crate::task::Task::<()>::from_raw(ptr));
        }
    }
}

impl<S: 'static> Drop for Inject<S> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let head = self.synced.lock().unwrap().head.take();
        if let Some(first) = head {
            drop_chain(first);
        }
    }
}
