//! The core both channel flavors share: the queue, the receiver's waker, the sender count,
//! and the receive loop. The flavors differ only in their [`Semaphore`]: a bounded channel
//! counts permits, an unbounded one counts nothing.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::permits::Permits;
use super::queue::{Armed, Pop, Queue};
use super::waker_set::WakerSet;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::scheduler::coop;
use crate::sync::atomic_waker::AtomicWaker;

/// How often a receiver re-checks a slot whose sender is mid-write before it sleeps.
const BUSY_SPINS: u32 = 100;

/// How a flavor accounts for queued values and closes to senders.
pub(super) trait Semaphore {
    /// The receiver took a value out.
    fn add_permit(&self);
    /// The receiver closed: later sends fail.
    fn close<T>(&self, queue: &Queue<T>);
    /// The receiver closed (as the senders see it).
    fn is_closed<T>(&self, queue: &Queue<T>) -> bool;
    /// Closed, and no sender holds capacity it could still send with.
    fn is_closed_and_idle(&self) -> bool;
}

/// The unbounded flavor: nothing to count. Closing closes the queue itself, so a send
/// either lands before the close (and is received) or fails.
#[derive(Debug)]
pub(super) struct Unbounded;

impl Semaphore for Unbounded {
    #[inline]
    fn add_permit(&self) {}

    fn close<T>(&self, queue: &Queue<T>) {
        queue.close();
    }

    fn is_closed<T>(&self, queue: &Queue<T>) -> bool {
        queue.is_closed()
    }

    fn is_closed_and_idle(&self) -> bool {
        false // the queue's own `Closed` says when everything was received
    }
}

/// The bounded flavor: permits. Closing closes the permits, not the queue, so a sender
/// already holding a permit can still send, and the receiver gets that value (as tokio).
impl Semaphore for Permits {
    #[inline]
    fn add_permit(&self) {
        self.release(1);
    }

    fn close<T>(&self, _queue: &Queue<T>) {
        Permits::close(self);
    }

    fn is_closed<T>(&self, _queue: &Queue<T>) -> bool {
        Permits::is_closed(self)
    }

    fn is_closed_and_idle(&self) -> bool {
        Permits::is_closed_and_idle(self)
    }
}

/// The allocation all handles of a channel share.
pub(super) struct Chan<T, S> {
    pub(super) queue: Queue<T>,
    pub(super) semaphore: S,
    /// The receiving task, woken by the sender of the value it waits for, or by a close.
    rx_waker: AtomicWaker,
    /// Live senders; the last one to go closes the queue.
    tx_count: AtomicUsize,
    /// Live weak senders.
    weak_count: AtomicUsize,
    /// Tasks in `Sender::closed()`.
    closed_waiters: WakerSet,
}

/// A new channel counting with `semaphore`: one sender, the receiver.
pub(super) fn channel<T, S: Semaphore>(semaphore: S) -> (Tx<T, S>, Rx<T, S>) {
    let chan = Arc::new(Chan {
        queue: Queue::new(),
        semaphore,
        rx_waker: AtomicWaker::new(),
        tx_count: AtomicUsize::new(1),
        weak_count: AtomicUsize::new(0),
        closed_waiters: WakerSet::new(),
    });
    let rx = Rx {
        chan: chan.clone(),
        closed: false,
    };
    (Tx { chan }, rx)
}

impl<T, S: Semaphore> Chan<T, S> {
    /// Queues `value` (capacity, if any, already taken), waking the receiver if it waits
    /// for it. Gives the value back if the queue is closed.
    #[inline]
    pub(super) fn send(&self, value: T) -> Result<(), T> {
        if self.queue.push(value)? {
            self.wake_rx();
        }
        Ok(())
    }

    /// Wakes the receiver: a value it waits for, or a change in closed state.
    pub(super) fn wake_rx(&self) {
        self.rx_waker.wake();
    }
}

/// A strong sender's share of the channel (both flavors' senders wrap one).
pub(super) struct Tx<T, S: Semaphore> {
    pub(super) chan: Arc<Chan<T, S>>,
}

impl<T, S: Semaphore> Tx<T, S> {
    /// As [`Chan::send`].
    #[inline]
    pub(super) fn send(&self, value: T) -> Result<(), T> {
        self.chan.send(value)
    }

    pub(super) fn is_closed(&self) -> bool {
        self.chan.semaphore.is_closed(&self.chan.queue)
    }

    pub(super) fn same_channel(&self, other: &Tx<T, S>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    pub(super) fn downgrade(&self) -> WeakTx<T, S> {
        self.chan.weak_count.fetch_add(1, Ordering::Relaxed);
        WeakTx {
            chan: self.chan.clone(),
        }
    }

    pub(super) fn strong_count(&self) -> usize {
        self.chan.tx_count.load(Ordering::Acquire)
    }

    pub(super) fn weak_count(&self) -> usize {
        self.chan.weak_count.load(Ordering::Acquire)
    }
}

impl<T, S: Semaphore> Clone for Tx<T, S> {
    fn clone(&self) -> Self {
        self.chan.tx_count.fetch_add(1, Ordering::Relaxed);
        Tx {
            chan: self.chan.clone(),
        }
    }
}

impl<T, S: Semaphore> Drop for Tx<T, S> {
    fn drop(&mut self) {
        if self.chan.tx_count.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // The last sender: the receiver gets what was sent, then `None`.
        self.chan.queue.close();
        self.chan.wake_rx();
    }
}

/// Waits for the receiver to close (`Sender::closed`); leaves the waiting set if dropped.
pub(super) struct Closed<'a, T, S: Semaphore> {
    tx: &'a Tx<T, S>,
    entry: Option<usize>,
}

impl<'a, T, S: Semaphore> Closed<'a, T, S> {
    pub(super) fn new(tx: &'a Tx<T, S>) -> Closed<'a, T, S> {
        Closed { tx, entry: None }
    }
}

impl<T, S: Semaphore> Future for Closed<'_, T, S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let chan = &*this.tx.chan;
        chan.closed_waiters.poll_wait(cx, &mut this.entry, || {
            chan.semaphore.is_closed(&chan.queue)
        })
    }
}

impl<T, S: Semaphore> Drop for Closed<'_, T, S> {
    fn drop(&mut self) {
        self.tx.chan.closed_waiters.cancel(&mut self.entry);
    }
}

/// A weak sender's share: keeps the allocation, not the channel, open.
pub(super) struct WeakTx<T, S: Semaphore> {
    chan: Arc<Chan<T, S>>,
}

impl<T, S: Semaphore> WeakTx<T, S> {
    /// A strong sender, if any is still alive.
    pub(super) fn upgrade(&self) -> Option<Tx<T, S>> {
        let mut count = self.chan.tx_count.load(Ordering::Relaxed);
        loop {
            if count == 0 {
                return None; // closed for good
            }
            match self.chan.tx_count.compare_exchange_weak(
                count,
                count + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(Tx {
                        chan: self.chan.clone(),
                    });
                }
                Err(actual) => count = actual,
            }
        }
    }

    pub(super) fn strong_count(&self) -> usize {
        self.chan.tx_count.load(Ordering::Acquire)
    }

    pub(super) fn weak_count(&self) -> usize {
        self.chan.weak_count.load(Ordering::Acquire)
    }
}

impl<T, S: Semaphore> Clone for WeakTx<T, S> {
    fn clone(&self) -> Self {
        self.chan.weak_count.fetch_add(1, Ordering::Relaxed);
        WeakTx {
            chan: self.chan.clone(),
        }
    }
}

impl<T, S: Semaphore> Drop for WeakTx<T, S> {
    fn drop(&mut self) {
        self.chan.weak_count.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why [`Rx::try_recv`] returned no value.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TryRecv {
    Empty,
    Disconnected,
}

/// The receiver's share: the only handle that pops.
pub(super) struct Rx<T, S: Semaphore> {
    pub(super) chan: Arc<Chan<T, S>>,
    /// `close` was called (or is being called by `Drop`).
    closed: bool,
}

impl<T, S: Semaphore> Rx<T, S> {
    /// The next value, `None` once the channel is closed and drained, or `Pending` (the task
    /// will be woken). Spends a unit of the task's cooperative budget when ready.
    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = ready!(coop::poll_proceed(cx));
        let polled = self.recv_or_register(cx);
        if polled.is_ready() {
            coop.made_progress();
        }
        polled
    }

    /// Like [`poll_recv`](Rx::poll_recv), but takes up to `limit` values at once into
    /// `buffer`. Ready with 0 only if `limit` is 0 or the channel is closed and drained.
    pub(super) fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        let coop = ready!(coop::poll_proceed(cx));
        let Some(first) = ready!(self.recv_or_register(cx)) else {
            coop.made_progress();
            return Poll::Ready(0);
        };
        coop.made_progress();
        buffer.reserve(limit.min(1 + self.len()));
        buffer.push(first);
        let mut received = 1;
        while received < limit {
            // SAFETY: `&mut self`: we are the only receiver.
            match unsafe { self.chan.queue.pop() } {
                Pop::Value(value) => {
                    self.chan.semaphore.add_permit();
                    buffer.push(value);
                    received += 1;
                }
                _ => break,
            }
        }
        Poll::Ready(received)
    }

    /// One receive attempt; on `Pending` the task is registered to be woken.
    fn recv_or_register(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(ready) = self.try_pop(BUSY_SPINS) {
            return Poll::Ready(ready);
        }
        self.chan.rx_waker.register(cx.waker());
        // SAFETY: `&mut self`: we are the only receiver.
        if unsafe { self.chan.queue.arm() } == Armed::Waiting {
            // The writer of the head slot will wake us. A close (or, bounded, the last
            // permit coming back) wakes us through `rx_waker`, registered above: check
            // for one that came first.
            if let Some(ready) = self.try_pop(0) {
                return Poll::Ready(ready);
            }
            return Poll::Pending;
        }
        match self.try_pop(0) {
            Some(ready) => Poll::Ready(ready),
            None => unreachable!("the head slot was written"),
        }
    }

    /// `Some(Some(value))`, `Some(None)` when closed and drained, or `None` to wait.
    ///
    /// If a sender has claimed the head slot but not written it yet, re-checks up to
    /// `spins` times first: the write is a few instructions away, far cheaper to wait out
    /// than sleeping and being woken.
    #[inline]
    fn try_pop(&mut self, spins: u32) -> Option<Option<T>> {
        let mut spun = 0;
        loop {
            // SAFETY: `&mut self`: we are the only receiver.
            match unsafe { self.chan.queue.pop() } {
                Pop::Value(value) => {
                    self.chan.semaphore.add_permit();
                    return Some(Some(value));
                }
                Pop::Closed => return Some(None),
                Pop::Empty if self.chan.semaphore.is_closed_and_idle() => return Some(None),
                Pop::Empty => return None,
                Pop::Busy if spun < spins && !cfg!(loom) => {
                    spun += 1;
                    std::hint::spin_loop();
                }
                Pop::Busy => return None,
            }
        }
    }

    /// A value if one was sent, without waiting.
    pub(super) fn try_recv(&mut self) -> Result<T, TryRecv> {
        let mut backoff = 0u32;
        loop {
            // SAFETY: `&mut self`: we are the only receiver.
            match unsafe { self.chan.queue.pop() } {
                Pop::Value(value) => {
                    self.chan.semaphore.add_permit();
                    return Ok(value);
                }
                Pop::Closed => return Err(TryRecv::Disconnected),
                Pop::Empty if self.chan.semaphore.is_closed_and_idle() => {
                    return Err(TryRecv::Disconnected);
                }
                Pop::Empty => return Err(TryRecv::Empty),
                // A sender is between claiming the slot and writing it: a few instructions,
                // unless it was preempted. Its send may even have been ordered before later
                // ones that did finish, so "empty" would be wrong: wait for it.
                Pop::Busy => {
                    backoff += 1;
                    if backoff < 16 && !cfg!(loom) {
                        std::hint::spin_loop();
                    } else {
                        crate::loom::thread::yield_now();
                    }
                }
            }
        }
    }

    /// Closes the channel to senders; values already sent can still be received.
    pub(super) fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let chan = &*self.chan;
        chan.semaphore.close(&chan.queue);
        chan.closed_waiters.notify_all();
    }

    /// Closed: by [`close`](Rx::close), or because every sender is gone.
    pub(super) fn is_closed(&self) -> bool {
        self.closed || self.chan.queue.is_closed()
    }

    /// Values queued (or being written) that the receiver has not taken.
    pub(super) fn len(&self) -> usize {
        // SAFETY: `&self` on the receiver, whose pops need `&mut self`: no pop overlaps.
        unsafe { self.chan.queue.len() }
    }

    pub(super) fn sender_strong_count(&self) -> usize {
        self.chan.tx_count.load(Ordering::Acquire)
    }

    pub(super) fn sender_weak_count(&self) -> usize {
        self.chan.weak_count.load(Ordering::Acquire)
    }
}

impl<T, S: Semaphore> Drop for Rx<T, S> {
    fn drop(&mut self) {
        self.close();
        // Drop what was sent so far now rather than with the last sender; values sent
        // later (with permits taken before the close) go with the allocation.
        // SAFETY: `&mut self`: we are the only receiver.
        while let Pop::Value(value) = unsafe { self.chan.queue.pop() } {
            self.chan.semaphore.add_permit();
            drop(value);
        }
        // Our task's waker must not outlive us in the channel.
        drop(self.chan.rx_waker.take());
    }
}

impl<T, S: Semaphore + fmt::Debug> fmt::Debug for Chan<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan")
            .field("semaphore", &self.semaphore)
            .field("senders", &self.tx_count.load(Ordering::Relaxed))
            .field("closed", &self.queue.is_closed())
            .finish_non_exhaustive()
    }
}
