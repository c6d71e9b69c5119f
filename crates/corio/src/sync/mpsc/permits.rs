//! The capacity of a bounded channel: a permit counter, and a FIFO line of the senders that
//! wait for a permit.
//!
//! A sender takes a permit before it sends; the receiver gives one back for each value it
//! takes. So at most `capacity` values are queued or about to be.
//!
//! **The state word** holds `available << 2 | WAITERS | CLOSED`. Taking a permit when it is
//! free is one compare-exchange, giving one back one `fetch_add`: no lock on either path.
//!
//! **Waiting.** The line is a slab of entries in a `Mutex`, linked into a FIFO list by
//! index, so waiting allocates nothing once the slab has grown to the peak number of
//! waiters. `WAITERS` is set exactly while the line is non-empty, and only changed under the
//! lock. While it is set the fast path takes nothing (no barging past the line): the permits
//! given back go to the first in line. A `fetch_add` that shows `WAITERS` makes the giver
//! lock the line and hand the available permits to its head, in order, marking each entry
//! `Granted` and waking it after unlocking. A sender that finds no permit locks the line,
//! checks the state again, sets `WAITERS` and queues: a permit given back after that sees
//! `WAITERS`, so no hand-over is lost.
//!
//! **Cancellation.** A dropped waiting sender leaves the line. If it had been granted a
//! permit it never saw, it gives the permit back, to the next in line: nothing is lost.
//!
//! **Closing** (the receiver closed or dropped) sets `CLOSED` and fails every waiter.
//! Permits still come back afterwards; the receiver uses `is_idle` to know that no sender
//! holds one any more.

use crate::sync::wake_batch::WakeBatch;
use std::fmt;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Mutex, MutexGuard};

const CLOSED: usize = 0b01;
const WAITERS: usize = 0b10;
const SHIFT: usize = 2;
/// One permit, in state units.
const ONE: usize = 1 << SHIFT;

/// The most permits a channel may have (the state word needs room for the flags).
pub(super) const MAX_PERMITS: usize = usize::MAX >> 3;

/// The end of a list in [`Line`].
const NIL: usize = usize::MAX;

/// How many waiters are woken per lock: their wakers are taken out under the lock and woken
/// after it. A receive gives back one permit, so one is the common case; a small batch keeps
/// that case cheap.
const WAKE_BATCH: usize = 4;

/// Why [`Permits::try_acquire`] got no permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TryAcquireError {
    /// None free (or others wait for them first).
    NoPermits,
    /// The receiver is gone or closed.
    Closed,
}

/// The receiver is gone or closed: no permit will come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AcquireError;

/// A bounded channel's permits; see the module docs.
pub(super) struct Permits {
    /// `available << SHIFT | WAITERS | CLOSED`.
    state: AtomicUsize,
    capacity: usize,
    line: Mutex<Line>,
}

/// A slab of waiting senders, the waiting ones linked first-come first-served.
struct Line {
    entries: Vec<Entry>,
    head: usize,
    last: usize,
    /// First free entry; free entries are chained through `next`.
    free: usize,
}

struct Entry {
    state: EntryState,
    prev: usize,
    next: usize,
}

enum EntryState {
    /// In line, with the waker to wake when a permit is granted.
    Waiting(Waker),
    /// Out of line, holding a permit its owner has not seen yet.
    Granted,
    /// Out of line: the channel closed first.
    Closed,
    /// Not in use.
    Free,
}

/// Locks ignoring poisoning: no user code runs under the lock (wakers are only cloned and
/// compared there), so a panic cannot leave the line half-updated.
fn lock(line: &Mutex<Line>) -> MutexGuard<'_, Line> {
    line.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Line {
    fn new() -> Line {
        Line {
            entries: Vec::new(),
            head: NIL,
            last: NIL,
            free: NIL,
        }
    }

    fn is_empty(&self) -> bool {
        self.head == NIL
    }

    /// Queues a new waiter at the back; returns its entry.
    fn push_back(&mut self, waker: Waker) -> usize {
        let entry = Entry {
            state: EntryState::Waiting(waker),
            prev: self.last,
            next: NIL,
        };
        let id = if self.free == NIL {
            self.entries.push(entry);
            self.entries.len() - 1
        } else {
            let id = self.free;
            self.free = self.entries[id].next;
            self.entries[id] = entry;
            id
        };
        match self.last {
            NIL => self.head = id,
            last => self.entries[last].next = id,
        }
        self.last = id;
        id
    }

    /// Takes the first waiter out of line, leaving its entry in `outcome`, and returns its
    /// waker.
    fn pop_front(&mut self, outcome: EntryState) -> Option<Waker> {
        match self.head {
            NIL => None,
            head => self.unlink(head, outcome),
        }
    }

    /// Takes a waiting entry out of line, leaving it in `outcome`; returns its waker, or
    /// `None` if it was not waiting.
    fn unlink(&mut self, id: usize, outcome: EntryState) -> Option<Waker> {
        let entry = &mut self.entries[id];
        if !matches!(entry.state, EntryState::Waiting(_)) {
            return None;
        }
        let EntryState::Waiting(waker) = std::mem::replace(&mut entry.state, outcome) else {
            unreachable!("checked above");
        };
        let (prev, next) = (entry.prev, entry.next);
        match prev {
            NIL => self.head = next,
            prev => self.entries[prev].next = next,
        }
        match next {
            NIL => self.last = prev,
            next => self.entries[next].prev = prev,
        }
        Some(waker)
    }

    /// Returns an entry that is out of line to the free list.
    fn release(&mut self, id: usize) {
        let entry = &mut self.entries[id];
        debug_assert!(!matches!(entry.state, EntryState::Waiting(_)));
        entry.state = EntryState::Free;
        entry.next = self.free;
        self.free = id;
    }
}

impl Permits {
    /// `capacity` permits, all free.
    pub(super) fn new(capacity: usize) -> Permits {
        assert!(
            capacity <= MAX_PERMITS,
            "channel capacity exceeds {MAX_PERMITS}"
        );
        Permits {
            state: AtomicUsize::new(capacity << SHIFT),
            capacity,
            line: Mutex::new(Line::new()),
        }
    }

    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Free permits right now.
    pub(super) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SHIFT
    }

    pub(super) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Closed, and every permit is back: nothing is queued and no sender holds a permit.
    pub(super) fn is_closed_and_idle(&self) -> bool {
        let state = self.state.load(Ordering::Acquire);
        state & CLOSED != 0 && state >> SHIFT == self.capacity
    }

    /// Takes a permit if one is free and nobody waits in line.
    #[inline]
    pub(super) fn try_acquire(&self) -> Result<(), TryAcquireError> {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if state & WAITERS != 0 || state < ONE {
                return Err(TryAcquireError::NoPermits);
            }
            match self.state.compare_exchange_weak(
                state,
                state - ONE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => state = actual,
            }
        }
    }

    /// Takes a permit, or queues for one. `entry` is the caller's place in line: `None`
    /// until it queues, `None` again once it has a permit or an error. A caller that stops
    /// polling while `entry` is `Some` must call [`cancel`](Permits::cancel).
    pub(super) fn poll_acquire(
        &self,
        cx: &mut Context<'_>,
        entry: &mut Option<usize>,
    ) -> Poll<Result<(), AcquireError>> {
        if let Some(id) = *entry {
            return self.poll_queued(cx, entry, id);
        }
        match self.try_acquire() {
            Ok(()) => return Poll::Ready(Ok(())),
            Err(TryAcquireError::Closed) => return Poll::Ready(Err(AcquireError)),
            Err(TryAcquireError::NoPermits) => {}
        }

        let mut line = lock(&self.line);
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & CLOSED != 0 {
                return Poll::Ready(Err(AcquireError));
            }
            if state & WAITERS != 0 {
                break; // others are in line: queue behind them
            }
            let (next, took) = if state >= ONE {
                (state - ONE, true)
            } else {
                (state | WAITERS, false)
            };
            match self
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if took => return Poll::Ready(Ok(())),
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        *entry = Some(line.push_back(cx.waker().clone()));
        Poll::Pending
    }

    /// A queued caller's poll: its outcome, or a fresh waker.
    fn poll_queued(
        &self,
        cx: &mut Context<'_>,
        entry: &mut Option<usize>,
        id: usize,
    ) -> Poll<Result<(), AcquireError>> {
        let mut line = lock(&self.line);
        let outcome = match &mut line.entries[id].state {
            EntryState::Waiting(waker) => {
                if !waker.will_wake(cx.waker()) {
                    let old = std::mem::replace(waker, cx.waker().clone());
                    drop(line);
                    drop(old); // a waker's drop may run arbitrary code: not under the lock
                }
                return Poll::Pending;
            }
            EntryState::Granted => Ok(()),
            EntryState::Closed => Err(AcquireError),
            EntryState::Free => unreachable!("a queued entry is owned until it completes"),
        };
        line.release(id);
        *entry = None;
        Poll::Ready(outcome)
    }

    /// Leaves the line for good (the waiting future was dropped). A permit granted to us
    /// meanwhile goes to the next in line.
    pub(super) fn cancel(&self, entry: &mut Option<usize>) {
        let Some(id) = entry.take() else {
            return;
        };
        let mut line = lock(&self.line);
        let granted = matches!(line.entries[id].state, EntryState::Granted);
        let waker = line.unlink(id, EntryState::Free);
        if waker.is_some() && line.is_empty() {
            // The line is empty now; a permit given back meanwhile is simply free.
            self.state.fetch_and(!WAITERS, Ordering::AcqRel);
        }
        line.release(id);
        drop(line);
        drop(waker);
        if granted {
            self.release(1);
        }
    }

    /// Gives `n` permits back: to the senders in line first.
    #[inline]
    pub(super) fn release(&self, n: usize) {
        let prev = self.state.fetch_add(n << SHIFT, Ordering::AcqRel);
        if prev & WAITERS != 0 {
            self.grant_to_line();
        }
    }

    /// Hands free permits to the senders in line, in order, waking them after unlocking.
    #[cold]
    fn grant_to_line(&self) {
        loop {
            let mut batch = WakeBatch::<WAKE_BATCH>::new();
            let mut line = lock(&self.line);
            let state = self.state.load(Ordering::Acquire);
            if state & WAITERS == 0 {
                return; // someone else emptied the line
            }
            let mut available = state >> SHIFT;
            let mut granted = 0;
            while available > 0 && !batch.is_full() {
                let Some(waker) = line.pop_front(EntryState::Granted) else {
                    break;
                };
                batch.push(waker);
                available -= 1;
                granted += 1;
            }
            // Only we (under the lock) take permits while `WAITERS` is set; others only add.
            let mut taken = granted << SHIFT;
            if line.is_empty() {
                taken |= WAITERS;
            }
            self.state.fetch_sub(taken, Ordering::AcqRel);
            let more = !line.is_empty() && available > 0;
            drop(line);
            batch.wake_all();
            if !more {
                return;
            }
        }
    }

    /// Closes: every sender in line and every later acquire fails.
    pub(super) fn close(&self) {
        loop {
            let mut batch = WakeBatch::<WAKE_BATCH>::new();
            let mut line = lock(&self.line);
            self.state.fetch_or(CLOSED, Ordering::AcqRel);
            while !batch.is_full() {
                match line.pop_front(EntryState::Closed) {
                    Some(waker) => batch.push(waker),
                    None => break,
                }
            }
            let more = !line.is_empty();
            if !more {
                self.state.fetch_and(!WAITERS, Ordering::AcqRel);
            }
            drop(line);
            batch.wake_all();
            if !more {
                return;
            }
        }
    }
}

impl fmt::Debug for Permits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Ordering::Acquire);
        f.debug_struct("Permits")
            .field("available", &(state >> SHIFT))
            .field("capacity", &self.capacity)
            .field("closed", &(state & CLOSED != 0))
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::CountingWaker;

    fn poll(
        permits: &Permits,
        waker: &Waker,
        entry: &mut Option<usize>,
    ) -> Poll<Result<(), AcquireError>> {
        permits.poll_acquire(&mut Context::from_waker(waker), entry)
    }

    #[test]
    fn fast_path_counts_permits() {
        let permits = Permits::new(2);
        assert_eq!(permits.try_acquire(), Ok(()));
        assert_eq!(permits.try_acquire(), Ok(()));
        assert_eq!(permits.try_acquire(), Err(TryAcquireError::NoPermits));
        assert_eq!(permits.available(), 0);
        permits.release(1);
        assert_eq!(permits.available(), 1);
        assert!(!permits.is_closed_and_idle());
        permits.close();
        assert_eq!(permits.try_acquire(), Err(TryAcquireError::Closed));
        permits.release(1);
        assert!(permits.is_closed_and_idle());
    }

    #[test]
    fn waiters_are_served_in_order_and_block_barging() {
        let permits = Permits::new(1);
        permits.try_acquire().unwrap();
        let (a_count, a) = CountingWaker::new();
        let (b_count, b) = CountingWaker::new();
        let (mut a_entry, mut b_entry) = (None, None);
        assert!(poll(&permits, &a, &mut a_entry).is_pending());
        assert!(poll(&permits, &b, &mut b_entry).is_pending());

        permits.release(1);
        assert_eq!((a_count.wakes(), b_count.wakes()), (1, 0));
        assert_eq!(
            permits.try_acquire(),
            Err(TryAcquireError::NoPermits),
            "b is still in line: no barging"
        );
        assert_eq!(poll(&permits, &a, &mut a_entry), Poll::Ready(Ok(())));
        assert_eq!(a_entry, None);

        permits.release(1);
        assert_eq!(b_count.wakes(), 1);
        assert_eq!(poll(&permits, &b, &mut b_entry), Poll::Ready(Ok(())));
        permits.release(1);
        assert_eq!(
            permits.try_acquire(),
            Ok(()),
            "line empty: the fast path works again"
        );
        assert_eq!(permits.line.lock().unwrap().entries.len(), 2);
    }

    #[test]
    fn cancelled_waiter_passes_a_granted_permit_on() {
        let permits = Permits::new(1);
        permits.try_acquire().unwrap();
        let (_, a) = CountingWaker::new();
        let (b_count, b) = CountingWaker::new();
        let (mut a_entry, mut b_entry) = (None, None);
        assert!(poll(&permits, &a, &mut a_entry).is_pending());
        assert!(poll(&permits, &b, &mut b_entry).is_pending());
        permits.release(1); // granted to a, who never sees it
        permits.cancel(&mut a_entry);
        assert_eq!(b_count.wakes(), 1, "the permit moved on to b");
        assert_eq!(poll(&permits, &b, &mut b_entry), Poll::Ready(Ok(())));
        permits.release(1);
        assert_eq!(permits.available(), 1);
    }

    #[test]
    fn cancelled_last_waiter_leaves_permits_free() {
        let permits = Permits::new(1);
        permits.try_acquire().unwrap();
        let (_, a) = CountingWaker::new();
        let mut entry = None;
        assert!(poll(&permits, &a, &mut entry).is_pending());
        permits.cancel(&mut entry);
        permits.release(1);
        assert_eq!(permits.try_acquire(), Ok(()));
    }

    #[test]
    fn close_fails_the_line() {
        let permits = Permits::new(1);
        permits.try_acquire().unwrap();
        let (count, a) = CountingWaker::new();
        let mut entry = None;
        assert!(poll(&permits, &a, &mut entry).is_pending());
        permits.close();
        assert_eq!(count.wakes(), 1);
        assert_eq!(
            poll(&permits, &a, &mut entry),
            Poll::Ready(Err(AcquireError))
        );
        assert_eq!(
            poll(&permits, &a, &mut entry),
            Poll::Ready(Err(AcquireError))
        );
    }

    #[test]
    fn release_wakes_several_in_order() {
        let permits = Permits::new(40);
        for _ in 0..40 {
            permits.try_acquire().unwrap();
        }
        let waiters: Vec<_> = (0..40).map(|_| CountingWaker::new()).collect();
        let mut entries = vec![None; 40];
        for ((_, waker), entry) in waiters.iter().zip(&mut entries) {
            assert!(poll(&permits, waker, entry).is_pending());
        }
        permits.release(35);
        let woken: Vec<_> = waiters.iter().map(|(c, _)| c.wakes()).collect();
        assert_eq!(woken, [vec![1; 35], vec![0; 5]].concat());
        assert_eq!(permits.available(), 0);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// Acquires on this loom thread, sleeping until woken (a lost wake-up deadlocks, which
    /// loom reports).
    fn acquire(permits: &Permits) -> Result<(), AcquireError> {
        let mut entry = None;
        let acquired = loom::future::block_on(std::future::poll_fn(|cx| {
            permits.poll_acquire(cx, &mut entry)
        }));
        assert_eq!(entry, None, "done with the line");
        acquired
    }

    #[test]
    fn release_races_a_queueing_acquire() {
        loom::model(|| {
            let permits = Arc::new(Permits::new(1));
            permits.try_acquire().unwrap();
            let releaser = {
                let permits = permits.clone();
                thread::spawn(move || permits.release(1))
            };
            assert_eq!(acquire(&permits), Ok(()));
            releaser.join().unwrap();
            assert_eq!(permits.available(), 0);
        });
    }

    #[test]
    fn close_races_a_queueing_acquire() {
        loom::model(|| {
            let permits = Arc::new(Permits::new(1));
            permits.try_acquire().unwrap();
            let closer = {
                let permits = permits.clone();
                thread::spawn(move || permits.close())
            };
            assert_eq!(acquire(&permits), Err(AcquireError));
            closer.join().unwrap();
        });
    }
}
