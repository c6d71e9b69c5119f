//! [`LifoQueue`]: last in, first out.

use super::handle::queue_handle;
use super::shared::Order;

/// A LIFO buffer: a stack.
pub(super) struct Lifo<T>(Vec<T>);

impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(Vec::new())
    }
}

impl<T> Order for Lifo<T> {
    type Item = T;

    fn push(&mut self, item: T) {
        self.0.push(item);
    }

    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

queue_handle! {
    /// A last in, first out queue (a stack) for tasks: asyncio's `LifoQueue`.
    ///
    /// The same API as [`Queue`](crate::sync::queue::Queue), except that
    /// [`get`](LifoQueue::get) returns the item put most recently.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::sync::queue::LifoQueue;
    ///
    /// let stack = LifoQueue::unbounded();
    /// for n in 1..=3 {
    ///     stack.put_nowait(n).unwrap();
    /// }
    /// assert_eq!(stack.get_nowait(), Ok(3));
    /// assert_eq!(stack.get_nowait(), Ok(2));
    /// assert_eq!(stack.get_nowait(), Ok(1));
    /// ```
    LifoQueue<T>, Lifo
}
