//! A minimal scheduler for testing the task cell alone: a FIFO queue and an owned list.
//! Used by the unit tests (and Miri) and by the loom models.

use std::collections::VecDeque;
use std::future::Future;

use super::list::OwnedTasks;
use super::{JoinHandle, Notified, Schedule, Task};
use crate::loom::sync::{Arc, Mutex};

pub(crate) struct TestScheduler {
    queue: Mutex<VecDeque<Notified<Arc<TestScheduler>>>>,
    pub(crate) owned: OwnedTasks<Arc<TestScheduler>>,
}

impl TestScheduler {
    pub(crate) fn new() -> Arc<TestScheduler> {
        Arc::new(TestScheduler {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(1),
        })
    }

    /// Spawns without running: the first `Notified` is queued.
    pub(crate) fn spawn<F>(this: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = this
            .owned
            .bind(future, this.clone(), None, std::panic::Location::caller())
            .expect("test scheduler closed");
        this.schedule(notified);
        join
    }

    pub(crate) fn pop(&self) -> Option<Notified<Arc<TestScheduler>>> {
        self.queue.lock().unwrap().pop_front()
    }

    /// Runs queued tasks until the queue is empty; returns how many polls ran.
    pub(crate) fn run_until_idle(&self) -> usize {
        let mut n = 0;
        while let Some(task) = self.pop() {
            task.run();
            n += 1;
        }
        n
    }

    pub(crate) fn queued(&self) -> usize {
        self.queue.lock().unwrap().len()
    }

    /// Cancels everything and drops queued references, as a runtime's shutdown does.
    pub(crate) fn shutdown(&self) {
        self.owned.close_and_shutdown_all();
        while let Some(task) = self.pop() {
            drop(task);
        }
    }
}

impl Schedule for Arc<TestScheduler> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        self.queue.lock().unwrap().push_back(task);
    }
}
