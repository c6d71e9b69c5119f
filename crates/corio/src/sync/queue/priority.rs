//! [`PriorityQueue`]: smallest first, ties in the order they were put.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::handle::queue_handle;
use super::shared::Order;

/// A min-heap whose equal items come out in the order they were put.
pub(super) struct Priority<T> {
    heap: BinaryHeap<Ranked<T>>,
    /// The sequence number of the next item put.
    next_seq: u64,
}

impl<T> Default for Priority<T> {
    fn default() -> Self {
        Priority {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

/// An item and when it was put. `BinaryHeap` pops the greatest, so the order is reversed:
/// the greatest `Ranked` is the smallest item, and of equal items the earliest put.
struct Ranked<T> {
    item: T,
    seq: u64,
}

impl<T: Ord> Ord for Ranked<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .item
            .cmp(&self.item)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl<T: Ord> PartialOrd for Ranked<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> PartialEq for Ranked<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T: Ord> Eq for Ranked<T> {}

impl<T: Ord> Order for Priority<T> {
    type Item = T;

    fn push(&mut self, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Ranked { item, seq });
    }

    fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|ranked| ranked.item)
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}

queue_handle! {
    /// A priority queue for tasks, smallest item first: asyncio's `PriorityQueue`.
    ///
    /// The same API as [`Queue`](crate::sync::queue::Queue), except that
    /// [`get`](PriorityQueue::get) returns the smallest item by `Ord`, like `heapq`. Equal
    /// items come out in the order they were put (asyncio leaves that unspecified).
    ///
    /// As in asyncio, the usual item is a `(priority, data)` tuple; wrap a priority in
    /// [`std::cmp::Reverse`] to have the largest first. If `T`'s `Ord` panics, the panic
    /// reaches the caller, and the item being put or taken may be lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::sync::queue::PriorityQueue;
    ///
    /// let jobs = PriorityQueue::unbounded();
    /// jobs.put_nowait((2, "write report")).unwrap();
    /// jobs.put_nowait((1, "fix outage")).unwrap();
    /// jobs.put_nowait((2, "reply to mail")).unwrap();
    /// assert_eq!(jobs.get_nowait(), Ok((1, "fix outage")));
    /// assert_eq!(jobs.get_nowait(), Ok((2, "reply to mail"))); // the smaller tuple first
    /// assert_eq!(jobs.get_nowait(), Ok((2, "write report")));
    /// ```
    PriorityQueue<T: Ord>, Priority
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Equal by `key` alone, so ties are visible.
    #[derive(Debug, PartialEq, Eq)]
    struct Keyed {
        key: u8,
        tag: &'static str,
    }

    impl Ord for Keyed {
        fn cmp(&self, other: &Self) -> Ordering {
            self.key.cmp(&other.key)
        }
    }

    impl PartialOrd for Keyed {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }

    #[test]
    fn smallest_first_and_ties_in_insertion_order() {
        let mut heap = Priority::default();
        for (key, tag) in [(2, "a"), (1, "b"), (2, "c"), (1, "d"), (0, "e"), (2, "f")] {
            heap.push(Keyed { key, tag });
        }
        let order: Vec<_> = std::iter::from_fn(|| heap.pop()).map(|k| k.tag).collect();
        assert_eq!(order, ["e", "b", "d", "a", "c", "f"]);
        assert_eq!(heap.len(), 0);
    }
}
