//! Tasks pinned to one worker: `spawn_local` on a multi-thread runtime.
//!
//! A `!Send` future must be polled and dropped on the thread that created it. Such a task
//! belongs to the worker that spawned it: it lives in that worker's own owned list, is queued
//! only in that worker's `pinned` queue (never in the stealable run queue), and wake-ups from
//! other threads go through the worker's inbox, waking that worker specifically. At shutdown
//! each worker cancels its pinned tasks itself, before its thread exits.

use std::sync::Arc;

use super::Handle;
use crate::runtime::context;
use crate::scheduler::inject::Inject;
use crate::task::list::OwnedTasks;
use crate::task::{Notified, Schedule, Task};

/// The scheduler of a task pinned to `worker`.
pub(crate) struct Pinned {
    pub(super) handle: Arc<Handle>,
    pub(super) worker: usize,
}

/// Per worker: the pinned tasks it owns and wake-ups for them from other threads.
pub(crate) struct PinnedTasks {
    pub(super) owned: OwnedTasks<Pinned>,
    pub(super) inbox: Inject<Pinned>,
}

impl PinnedTasks {
    pub(super) fn new() -> PinnedTasks {
        PinnedTasks {
            owned: OwnedTasks::new(1),
            inbox: Inject::new(),
        }
    }
}

impl Schedule for Pinned {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.handle.remotes[self.worker].pinned.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        let task = context::with_scheduler(|cx| match cx {
            Some(crate::scheduler::Context::MultiThread(cx)) => {
                cx.schedule_pinned(&self.handle, self.worker, task)
            }
            _ => Some(task),
        });
        if let Some(task) = task {
            let remote = &self.handle.remotes[self.worker];
            remote.pinned.inbox.push(task);
            // Only this worker may run the task: wake it in particular.
            self.handle.idle.unpark_worker_by_id(self.worker);
            remote.unpark.unpark();
        }
    }
}
