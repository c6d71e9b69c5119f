//! Tasks: the unit of concurrency the schedulers run.
//!
//! # Ownership
//! A task is one heap cell (see `core.rs`) shared by several owners, each holding one
//! reference in the state word's count (see `state.rs`):
//! - the runtime's **owned list** (`list.rs`), from spawn until completion or shutdown, so that
//!   shutdown can find and cancel every task;
//! - the **`JoinHandle`**, until it is dropped;
//! - at most one **`Notified`**: the task sitting in a run queue, waiting to be polled;
//! - every **`Waker`** cloned from the task's context.
//!
//! The cell is freed when the count reaches zero. Polling consumes a `Notified`; a wake-up
//! creates one (when the task is idle) and hands it to the task's scheduler through the
//! `Schedule` trait, the only seam between tasks and schedulers.

mod builder;
pub(crate) mod core;
mod dump;
mod error;
mod group;
pub(crate) mod harness;
mod id;
mod join;
mod join_set;
pub(crate) mod label;
pub(crate) mod list;
pub(crate) mod raw;
pub(crate) mod state;
mod waker;
mod yield_now;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(test)]
pub(crate) mod test_scheduler;
#[cfg(all(test, not(loom)))]
mod tests;

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

pub use builder::Builder;
pub use dump::{TaskDump, TaskInfo, TaskState};
pub use error::JoinError;
pub use group::{ErrorGroup, GroupSpawner, TaskGroup};
pub use id::Id;
pub use join::{AbortHandle, JoinHandle};
pub use join_set::JoinSet;
pub use label::{Label, label, set_label};
pub use yield_now::yield_now;

pub use crate::blocking::{spawn_blocking, to_thread};
pub use crate::runtime::spawn::{spawn, spawn_local};
pub use crate::scheduler::coop::unconstrained;

use self::core::Header;
use self::raw::RawTask;

/// How a task gets back onto a run queue. Implemented by each scheduler's shared handle.
pub(crate) trait Schedule: Sync + Sized + 'static {
    /// The task completed: take it out of the owned list (returning the list's reference).
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>>;

    /// The task was woken: queue it.
    fn schedule(&self, task: Notified<Self>);

    /// The task woke itself while running: queue it behind the others.
    fn yield_now(&self, task: Notified<Self>) {
        self.schedule(task);
    }
}

/// One reference to a task.
pub(crate) struct Task<S: 'static> {
    raw: RawTask,
    _scheduler: PhantomData<S>,
}

// SAFETY: a `Task` only touches the state word, the header and the scheduler; futures are
// polled and dropped only where the scheduler allows (local tasks never leave their thread's
// scheduler, which is the only one that runs them).
unsafe impl<S> Send for Task<S> {}
// SAFETY: as above.
unsafe impl<S> Sync for Task<S> {}

impl<S: 'static> Task<S> {
    /// # Safety
    /// `ptr` must point to a live task whose scheduler type is `S`; the caller transfers one
    /// reference.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Task<S> {
        Task {
            // SAFETY: per the caller.
            raw: unsafe { RawTask::from_raw(ptr) },
            _scheduler: PhantomData,
        }
    }

    pub(crate) fn raw(&self) -> RawTask {
        self.raw
    }

    /// Gives up ownership of the reference without releasing it.
    pub(crate) fn into_raw(self) -> RawTask {
        ManuallyDrop::new(self).raw
    }
}

impl<S: 'static> Drop for Task<S> {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

/// A task that is ready to be polled: the only thing a run queue holds.
pub(crate) struct Notified<S: 'static>(pub(crate) Task<S>);

impl<S: 'static> Notified<S> {
    /// Polls the task (consuming this reference).
    pub(crate) fn run(self) {
        self.0.into_raw().poll();
    }

    pub(crate) fn into_raw(self) -> RawTask {
        self.0.into_raw()
    }

    /// Re-types the reference for another scheduler's queue. `S` is only a marker: the task's
    /// own vtable (not `S`) decides how it is polled and released, so this is sound; whoever
    /// queues the result must still run it only where its real scheduler allows.
    pub(crate) fn cast<T: 'static>(self) -> Notified<T> {
        // SAFETY: a `Notified<S>` is a task pointer plus a phantom; ownership of the one
        // reference moves to the result.
        unsafe { Notified::from_raw(self.into_raw().header_ptr()) }
    }

    /// # Safety
    /// As [`Task::from_raw`], and the reference must be a `Notified`'s.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified<S> {
        // SAFETY: per the caller.
        Notified(unsafe { Task::from_raw(ptr) })
    }
}

/// Allocates a task that no owned list tracks (its owner keeps the `Notified` until it runs,
/// as the blocking pool does). Returns the join handle and the task's first `Notified`.
pub(crate) fn unowned<F, S>(
    future: F,
    scheduler: S,
    name: Option<Box<str>>,
    location: &'static std::panic::Location<'static>,
) -> (JoinHandle<F::Output>, Notified<S>)
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let raw = RawTask::new(future, scheduler, Id::next(), name, location);
    // SAFETY: `RawTask::new` returns three references; the join handle and the `Notified` take
    // one each, and the third (an owned list's, here unused) is released at once.
    unsafe {
        let join = JoinHandle::new(raw);
        let notified = Notified(Task::<S>::from_raw(raw.header_ptr()));
        drop(Task::<S>::from_raw(raw.header_ptr()));
        (join, notified)
    }
}

/// The id of the task being polled on this thread.
///
/// Panics outside a task; see [`try_id`].
#[track_caller]
pub fn id() -> Id {
    try_id().expect("corio::task::id() called outside of a task")
}

/// The id of the task being polled on this thread, if any.
pub fn try_id() -> Option<Id> {
    crate::runtime::context::current_task_id()
}
