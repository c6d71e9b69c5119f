//! A blocking closure as a task: polled exactly once, on a pool thread.
//!
//! Running closures through the ordinary task cell gives `spawn_blocking` the same
//! `JoinHandle`, abort-before-start and panic capture as `spawn`, with no second mechanism.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::scheduler::coop;
use crate::task::{Notified, Schedule, Task};

/// The future of a blocking task: runs the closure on its first poll.
pub(crate) struct BlockingTask<F> {
    func: Option<F>,
}

impl<F> BlockingTask<F> {
    pub(crate) fn new(func: F) -> BlockingTask<F> {
        BlockingTask { func: Some(func) }
    }
}

// The closure is moved out, never pinned.
impl<F> Unpin for BlockingTask<F> {}

impl<F, R> Future for BlockingTask<F>
where
    F: FnOnce() -> R,
{
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let func = self
            .func
            .take()
            .expect("a blocking task is polled only once");
        // A blocking closure may drive async code with its own block_on: no budget applies.
        Poll::Ready(coop::with_unconstrained(func))
    }
}

/// The scheduler of blocking tasks. Their future never returns `Pending`, so nothing ever
/// wakes them, and they live in no owned list: the pool's queue owns them until they run.
pub(crate) struct BlockingSchedule;

impl Schedule for BlockingSchedule {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        None
    }

    fn schedule(&self, task: Notified<Self>) {
        // Unreachable in practice (the future is always ready); dropping the reference is
        // the safe answer if it ever happens.
        debug_assert!(false, "a blocking task was woken");
        drop(task);
    }
}
