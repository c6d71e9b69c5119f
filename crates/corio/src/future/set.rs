//! `FutureSet`: a fixed set of futures, polled only when woken.
//!
//! The engine behind [`join_all`](super::join_all), [`try_join_all`](super::try_join_all),
//! [`as_completed`](super::as_completed) and [`wait`](super::wait). The futures live in one
//! pinned boxed slice, each slot `Some(future)` until it finishes and is dropped in place.
//! Each gets its own waker (see `ready_queue.rs`); a poll of the set polls only the members
//! woken since their last poll, so with N members a wake-up costs O(1), not O(N).
//!
//! # Fairness and bounds
//!
//! One call to [`FutureSet::poll_next`] takes the ready queue at most once. A member that
//! wakes itself while being polled (as `yield_now` does) is queued again and wakes the task,
//! so it is polled on the task's next turn, not in a loop within this one. The call also stops
//! when the task's cooperative budget is spent (the members' resources would only report
//! `Pending` now) and comes back on the next turn.
//!
//! # Pinning
//!
//! Slots are structurally pinned: the slice is never resized or moved out of its box while a
//! future in it may be pinned, a finished future is dropped in place (`Pin::set(None)`), and
//! only [`FutureSet::into_pending`], which requires `F: Unpin`, moves futures out.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::ready_queue::{MemberWaker, ReadyQueue};
use crate::scheduler::coop;

/// A fixed set of futures, each polled only after its waker fired.
pub(super) struct FutureSet<F> {
    /// `Some` until the future finishes. Structurally pinned (see the module docs).
    slots: Pin<Box<[Option<F>]>>,
    /// `wakers[i]` queues `i` on `queue`.
    wakers: Box<[Waker]>,
    queue: Arc<ReadyQueue>,
    /// Indices taken from the queue, to poll in order; `batch[next..]` are still to poll.
    batch: Vec<usize>,
    next: usize,
    /// Futures not finished yet.
    remaining: usize,
}

impl<F: Future> FutureSet<F> {
    pub(super) fn new(futures: impl IntoIterator<Item = F>) -> FutureSet<F> {
        let slots: Box<[Option<F>]> = futures.into_iter().map(Some).collect();
        let len = slots.len();
        let queue = Arc::new(ReadyQueue::new(len));
        FutureSet {
            slots: Box::into_pin(slots),
            wakers: MemberWaker::for_members(&queue, len),
            queue,
            batch: Vec::new(),
            next: 0,
            remaining: len,
        }
    }

    /// How many futures the set started with.
    pub(super) fn len(&self) -> usize {
        self.wakers.len()
    }

    /// How many futures have not finished yet.
    pub(super) fn remaining(&self) -> usize {
        self.remaining
    }

    /// Polls woken futures until one finishes, returning its index and output.
    ///
    /// `Ready(None)` once every future has finished. `Pending` when none of the woken ones
    /// finished; the task is then woken when a member is (or at once, if it ran out of budget).
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        let mut took_queue = false;
        loop {
            if self.remaining == 0 {
                return Poll::Ready(None);
            }
            if self.next == self.batch.len() {
                if took_queue {
                    // Whatever was woken since the take has woken the task: poll it then.
                    return Poll::Pending;
                }
                self.batch.clear();
                self.next = 0;
                self.queue.take_ready(cx.waker(), &mut self.batch);
                took_queue = true;
                continue;
            }
            if !coop::has_budget_remaining() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let index = self.batch[self.next];
            self.next += 1;
            let mut slot = pinned_slot(&mut self.slots, index);
            // A stale wake of a finished future.
            let Some(future) = slot.as_mut().as_pin_mut() else {
                continue;
            };
            let mut member_cx = Context::from_waker(&self.wakers[index]);
            if let Poll::Ready(output) = future.poll(&mut member_cx) {
                slot.set(None);
                self.remaining -= 1;
                return Poll::Ready(Some((index, output)));
            }
        }
    }

    /// Drops every unfinished future now (the set then counts as finished).
    pub(super) fn clear(&mut self) {
        // Dropping the box drops the futures in place, as pinning requires.
        self.slots = Box::into_pin(Box::new([]));
        self.remaining = 0;
        self.batch.clear();
        self.next = 0;
    }
}

/// Slot `index`, pinned.
#[allow(unsafe_code)]
fn pinned_slot<F>(slots: &mut Pin<Box<[Option<F>]>>, index: usize) -> Pin<&mut Option<F>> {
    // SAFETY: slots are structurally pinned (module docs): nothing moves an element out of
    // the slice while it is pinned, and the slice itself never moves or changes length.
    unsafe { slots.as_mut().map_unchecked_mut(|slots| &mut slots[index]) }
}

// The futures are pinned behind the box, never through the set itself.
impl<F> Unpin for FutureSet<F> {}

impl<F: Future + Unpin> FutureSet<F> {
    /// The unfinished futures, in input order (moving them out is fine: they are `Unpin`).
    pub(super) fn into_pending(self) -> Vec<F> {
        Pin::into_inner(self.slots)
            .into_vec()
            .into_iter()
            .flatten()
            .collect()
    }
}

impl<F> fmt::Debug for FutureSet<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureSet")
            .field("len", &self.wakers.len())
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! Run under Miri too: `cargo +nightly miri test -p corio --lib -- future::`.
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::task::Waker;

    /// Pending until `open` is set; counts its polls and its drop.
    struct Gate {
        open: Rc<Cell<bool>>,
        polls: Rc<Cell<usize>>,
        waker: Rc<Cell<Option<Waker>>>,
        dropped: Rc<Cell<usize>>,
        value: u32,
    }

    impl Future for Gate {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            self.polls.set(self.polls.get() + 1);
            if self.open.get() {
                Poll::Ready(self.value)
            } else {
                self.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }

    impl Drop for Gate {
        fn drop(&mut self) {
            self.dropped.set(self.dropped.get() + 1);
        }
    }

    #[derive(Default)]
    struct Probe {
        open: Rc<Cell<bool>>,
        polls: Rc<Cell<usize>>,
        waker: Rc<Cell<Option<Waker>>>,
        dropped: Rc<Cell<usize>>,
    }

    impl Probe {
        fn gate(&self, value: u32) -> Gate {
            Gate {
                open: self.open.clone(),
                polls: self.polls.clone(),
                waker: self.waker.clone(),
                dropped: self.dropped.clone(),
                value,
            }
        }

        fn open(&self) {
            self.open.set(true);
            if let Some(waker) = self.waker.take() {
                waker.wake();
            }
        }
    }

    fn poll_next<F: Future>(set: &mut FutureSet<F>) -> Poll<Option<(usize, F::Output)>> {
        set.poll_next(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn polls_only_woken_members() {
        let probes: Vec<Probe> = (0..4).map(|_| Probe::default()).collect();
        let mut set = FutureSet::new(probes.iter().enumerate().map(|(i, p)| p.gate(i as u32)));
        assert!(poll_next(&mut set).is_pending());
        assert!(probes.iter().all(|p| p.polls.get() == 1));

        probes[2].open();
        assert_eq!(poll_next(&mut set), Poll::Ready(Some((2, 2))));
        assert_eq!(
            probes[2].dropped.get(),
            1,
            "a finished future is dropped at once"
        );
        assert!(poll_next(&mut set).is_pending());
        assert_eq!(
            probes.iter().map(|p| p.polls.get()).collect::<Vec<_>>(),
            [1, 1, 2, 1]
        );
        assert_eq!(set.remaining(), 3);
    }

    #[test]
    fn finishes_with_none_and_drops_everything_once() {
        let probes: Vec<Probe> = (0..3).map(|_| Probe::default()).collect();
        let mut set = FutureSet::new(probes.iter().map(|p| p.gate(7)));
        assert!(poll_next(&mut set).is_pending());
        for probe in &probes {
            probe.open();
        }
        let mut finished = Vec::new();
        while let Poll::Ready(Some((index, _))) = poll_next(&mut set) {
            finished.push(index);
        }
        finished.sort_unstable();
        assert_eq!(finished, [0, 1, 2]);
        assert_eq!(poll_next(&mut set), Poll::Ready(None));
        drop(set);
        assert!(probes.iter().all(|p| p.dropped.get() == 1));
    }

    #[test]
    fn clear_drops_unfinished_futures_in_place() {
        let probes: Vec<Probe> = (0..3).map(|_| Probe::default()).collect();
        let mut set = FutureSet::new(probes.iter().map(|p| p.gate(1)));
        assert!(poll_next(&mut set).is_pending());
        set.clear();
        assert!(probes.iter().all(|p| p.dropped.get() == 1));
        assert_eq!(poll_next(&mut set), Poll::Ready(None));
        drop(set);
        assert!(probes.iter().all(|p| p.dropped.get() == 1));
    }

    #[test]
    fn self_referential_futures_stay_put() {
        // Async blocks that borrow their own locals across an await are `!Unpin`: moving one
        // after its first poll would leave a dangling borrow, which Miri would catch.
        let probes: Vec<Probe> = (0..3).map(|_| Probe::default()).collect();
        let futures = probes.iter().enumerate().map(|(i, probe)| {
            let gate = probe.gate(i as u32);
            async move {
                let local = [i as u32; 4];
                let borrowed = &local;
                let got = gate.await;
                borrowed.iter().sum::<u32>() + got
            }
        });
        let mut set = FutureSet::new(futures);
        assert!(poll_next(&mut set).is_pending());
        for probe in probes.iter().rev() {
            probe.open();
        }
        let mut outputs = Vec::new();
        while let Poll::Ready(Some(finished)) = poll_next(&mut set) {
            outputs.push(finished);
        }
        assert_eq!(outputs, [(2, 10), (1, 5), (0, 0)], "in wake order");
    }

    #[test]
    fn self_waking_member_is_polled_once_per_call() {
        struct Spin(Rc<Cell<usize>>);
        impl Future for Spin {
            type Output = ();
            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
                self.0.set(self.0.get() + 1);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
        let polls = Rc::new(Cell::new(0));
        let mut set = FutureSet::new([Spin(polls.clone())]);
        assert!(poll_next(&mut set).is_pending());
        assert_eq!(polls.get(), 1);
        assert!(poll_next(&mut set).is_pending());
        assert_eq!(polls.get(), 2);
    }

    #[test]
    fn into_pending_returns_unfinished_in_order() {
        let probes: Vec<Probe> = (0..3).map(|_| Probe::default()).collect();
        let mut set = FutureSet::new(probes.iter().enumerate().map(|(i, p)| p.gate(i as u32)));
        assert!(poll_next(&mut set).is_pending());
        probes[1].open();
        assert_eq!(poll_next(&mut set), Poll::Ready(Some((1, 1))));
        let pending = set.into_pending();
        assert_eq!(pending.iter().map(|g| g.value).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(probes[0].dropped.get(), 0);
    }

    #[test]
    fn empty_set_is_finished() {
        let mut set = FutureSet::new(std::iter::empty::<std::future::Ready<()>>());
        assert_eq!(set.len(), 0);
        assert_eq!(poll_next(&mut set), Poll::Ready(None));
    }
}
