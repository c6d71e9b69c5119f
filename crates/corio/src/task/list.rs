//! The owned-task list: every live task of a runtime, so shutdown can cancel them all.
//!
//! The list holds one reference per task, from `bind` until the task completes (`remove`) or
//! the runtime shuts down (`close_and_shutdown_all`). It is an intrusive doubly linked list
//! through `Header::owned`, split into shards by task id so spawns on different workers rarely
//! meet on one lock. A shard's lock guards the links of every task in it.
//!
//! Closing sets `closed` and then drains each shard under its lock; `bind` checks `closed`
//! under the shard lock, so a task is either drained or refused, never left behind.

use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;

use super::core::Header;
use super::id::Id;
use super::join::JoinHandle;
use super::raw::RawTask;
use super::{Notified, Schedule, Task};
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub(crate) struct OwnedTasks<S: 'static> {
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
    closed: AtomicBool,
    live: AtomicUsize,
    _scheduler: std::marker::PhantomData<S>,
}

struct Shard {
    head: Option<NonNull<Header>>,
    /// Tasks ever added to this shard (for the runtime's metrics).
    spawned: u64,
}

// SAFETY: the raw pointers in a shard are only followed under the shard's lock, and the tasks
// they point to are Send-safe to manage from any thread (see `Task`).
unsafe impl Send for Shard {}

/// Why a task was not accepted.
#[derive(Debug)]
pub(crate) struct Closed;

impl<S: Schedule> OwnedTasks<S> {
    pub(crate) fn new(shards: usize) -> OwnedTasks<S> {
        let shards = shards.next_power_of_two();
        OwnedTasks {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        head: None,
                        spawned: 0,
                    })
                })
                .collect(),
            mask: shards - 1,
            closed: AtomicBool::new(false),
            live: AtomicUsize::new(0),
            _scheduler: std::marker::PhantomData,
        }
    }

    fn shard(&self, id: Id) -> &Mutex<Shard> {
        &self.shards[id.as_u64() as usize & self.mask]
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Number of tasks spawned and not yet completed.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Allocates a task for `future` and adds it to the list.
    pub(crate) fn bind<F>(
        &self,
        future: F,
        scheduler: S,
        name: Option<Box<str>>,
        location: &'static Location<'static>,
    ) -> Result<(JoinHandle<F::Output>, Notified<S>), Closed>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // SAFETY: the future and output are Send, so any thread may poll and drop them.
        unsafe { self.bind_inner(future, scheduler, name, location) }
    }

    /// As [`OwnedTasks::bind`], for a `!Send` future.
    ///
    /// # Safety
    /// The scheduler must only poll and drop this task on the thread that owns it, and the
    /// runtime must not drop it from another thread at shutdown.
    pub(crate) unsafe fn bind_inner<F>(
        &self,
        future: F,
        scheduler: S,
        name: Option<Box<str>>,
        location: &'static Location<'static>,
    ) -> Result<(JoinHandle<F::Output>, Notified<S>), Closed>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.is_closed() {
            return Err(Closed);
        }
        let id = Id::next();
        let raw = RawTask::new(future, scheduler, id, name, location);
        // SAFETY: `RawTask::new` gave us three references: one each for these.
        let (join, notified, owned) = unsafe {
            (
                JoinHandle::new(raw),
                Notified(Task::from_raw(raw.header_ptr())),
                Task::<S>::from_raw(raw.header_ptr()),
            )
        };
        let mut shard = self.shard(id).lock().unwrap();
        if self.is_closed() {
            drop(shard);
            // Lost the race with shutdown: cancel it at once; the join handle sees Cancelled.
            drop(notified);
            owned.into_raw().shutdown();
            drop(join);
            return Err(Closed);
        }
        let ptr = owned.into_raw().header_ptr();
        // SAFETY: we hold the shard lock, which guards the links of every task in the shard,
        // and `ptr` is a live task not yet in any list.
        unsafe { shard.push_front(ptr) };
        shard.spawned += 1;
        drop(shard);
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok((join, notified))
    }

    /// Removes a completing task; returns the list's reference, or `None` if shutdown already
    /// took it out.
    pub(crate) fn remove(&self, task: &Task<S>) -> Option<Task<S>> {
        let ptr = task.raw().header_ptr();
        let mut shard = self.shard(task.raw().id()).lock().unwrap();
        // SAFETY: the shard lock guards the links; the task is live (the caller holds it).
        let removed = unsafe { shard.remove(ptr) };
        drop(shard);
        if removed {
            self.live.fetch_sub(1, Ordering::Relaxed);
            // SAFETY: the list held one reference, which we now hand back.
            Some(unsafe { Task::from_raw(ptr) })
        } else {
            None
        }
    }

    /// Refuses new tasks and shuts down every task in the list.
    pub(crate) fn close_and_shutdown_all(&self) {
        self.closed.store(true, Ordering::Release);
        for shard in self.shards.iter() {
            loop {
                // Pop one at a time: shutting a task down runs user destructors, which may
                // spawn (refused) or complete other tasks (which lock this shard).
                let popped = {
                    let mut shard = shard.lock().unwrap();
                    let head = shard.head;
                    if let Some(ptr) = head {
                        // SAFETY: the shard lock is held and `ptr` is linked in it.
                        unsafe { shard.remove(ptr) };
                    }
                    head
                };
                let Some(ptr) = popped else { break };
                self.live.fetch_sub(1, Ordering::Relaxed);
                // SAFETY: the list's reference now belongs to us, and shutdown consumes it.
                unsafe { RawTask::from_raw(ptr) }.shutdown();
            }
        }
    }

    /// True if every shard is empty.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.lock().unwrap().head.is_none())
    }

    /// Tasks ever accepted by this list.
    pub(crate) fn spawned(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().unwrap().spawned).sum()
    }

    /// Runs `f` on the live task with this id, if the list holds it, under its shard's lock.
    pub(crate) fn find<R>(&self, id: u64, f: impl FnOnce(RawTask) -> R) -> Option<R> {
        let shard = self.shards[id as usize & self.mask].lock().unwrap();
        let mut next = shard.head;
        while let Some(ptr) = next {
            // SAFETY: linked tasks are live (the list holds a reference) and the lock is held.
            let task = unsafe { RawTask::from_raw(ptr) };
            if task.id().as_u64() == id {
                return Some(f(task));
            }
            // SAFETY: as above; the lock guards the links.
            next = task.header().owned.with(|l| unsafe { (*l).next });
        }
        None
    }

    /// Calls `f` on each live task, under each shard's lock in turn.
    pub(crate) fn for_each(&self, mut f: impl FnMut(RawTask)) {
        for shard in self.shards.iter() {
            let shard = shard.lock().unwrap();
            let mut next = shard.head;
            while let Some(ptr) = next {
                // SAFETY: linked tasks are live (the list holds a reference) and the lock is held.
                let task = unsafe { RawTask::from_raw(ptr) };
                f(task);
                next = task.header().owned.with(|l| unsafe { (*l).next });
            }
        }
    }
}

impl Shard {
    /// # Safety
    /// The shard lock must be held and `ptr` must be live and unlinked.
    unsafe fn push_front(&mut self, ptr: NonNull<Header>) {
        // SAFETY: per the caller, we own the links of `ptr` and of the current head.
        unsafe {
            ptr.as_ref().owned.with_mut(|l| {
                (*l).prev = None;
                (*l).next = self.head;
            });
            if let Some(head) = self.head {
                head.as_ref().owned.with_mut(|l| (*l).prev = Some(ptr));
            }
        }
        self.head = Some(ptr);
    }

    /// Unlinks `ptr` if it is in this shard. Returns whether it was.
    ///
    /// # Safety
    /// The shard lock must be held and `ptr` must be live.
    unsafe fn remove(&mut self, ptr: NonNull<Header>) -> bool {
        // SAFETY: per the caller, the lock guards the links of `ptr` and its neighbours.
        unsafe {
            let (prev, next) = ptr.as_ref().owned.with(|l| ((*l).prev, (*l).next));
            match prev {
                Some(prev) => prev.as_ref().owned.with_mut(|l| (*l).next = next),
                None if self.head == Some(ptr) => self.head = next,
                // Neither linked after anything nor the head: not in the list.
                None => return false,
            }
            if let Some(next) = next {
                next.as_ref().owned.with_mut(|l| (*l).prev = prev);
            }
            ptr.as_ref().owned.with_mut(|l| {
                (*l).prev = None;
                (*l).next = None;
            });
        }
        true
    }
}

impl<S: 'static> Drop for OwnedTasks<S> {
    fn drop(&mut self) {
        debug_assert!(
            self.shards.iter().all(|s| s.lock().unwrap().head.is_none()),
            "runtime dropped with tasks still in its owned list"
        );
    }
}
