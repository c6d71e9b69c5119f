//! [`Queue`]: first in, first out.

use std::collections::VecDeque;

use super::handle::queue_handle;
use super::shared::Order;

/// A FIFO buffer.
pub(super) struct Fifo<T>(VecDeque<T>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}

impl<T> Order for Fifo<T> {
    type Item = T;

    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }

    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

queue_handle! {
    /// A first in, first out queue for tasks: asyncio's `Queue`.
    ///
    /// Producers [`put`](Queue::put) items, consumers [`get`](Queue::get) them in the order
    /// they were put. A bounded queue (`maxsize > 0`) makes `put` wait while it is full.
    /// Clone the handle to share the queue between tasks; see the [module
    /// docs](crate::sync::queue) for how it maps to asyncio and for a worker pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::sync::queue::Queue;
    ///
    /// corio::run(async {
    ///     let queue = Queue::new(2);
    ///     let producer = corio::spawn({
    ///         let queue = queue.clone();
    ///         async move {
    ///             for word in ["first", "in", "first", "out"] {
    ///                 queue.put(word).await.unwrap(); // waits while 2 are queued
    ///             }
    ///         }
    ///     });
    ///     let mut got = Vec::new();
    ///     for _ in 0..4 {
    ///         got.push(queue.get().await.unwrap());
    ///     }
    ///     assert_eq!(got, ["first", "in", "first", "out"]);
    ///     producer.await.unwrap();
    /// });
    /// ```
    Queue<T>, Fifo
}
