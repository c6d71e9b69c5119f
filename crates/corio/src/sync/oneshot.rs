//! A channel that carries exactly one value from one task to another.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`]. The sender hands over one value with
//! [`Sender::send`]; the receiver is a future that resolves to that value, or to
//! [`RecvError`] if the sender was dropped without sending. Sending never waits, so a
//! plain thread may send too.
//!
//! ```
//! use corio::sync::oneshot;
//!
//! corio::run(async {
//!     let (tx, rx) = oneshot::channel();
//!     corio::spawn(async move {
//!         if tx.send(6 * 7).is_err() {
//!             println!("the receiver is gone");
//!         }
//!     });
//!     assert_eq!(rx.await, Ok(42));
//! });
//! ```
//!
//! # How it works
//!
//! Both halves share one allocation, `Inner`, holding an atomic state word, a slot for the
//! value and a slot for each side's waker. Everything is coordinated through the state word;
//! there is no lock.
//!
//! | bit            | set by                                  | meaning                                  |
//! |----------------|-----------------------------------------|------------------------------------------|
//! | `RX_WAKER_SET` | the receiver                            | `rx_waker` holds the receiving task's waker, which the sender may wake |
//! | `VALUE_SENT`   | the sender, in `send`                   | `value` holds the value; it now belongs to the receiver |
//! | `CLOSED`       | the receiver (`close`, drop) or the sender (drop without sending) | no value will be sent any more |
//! | `TX_WAKER_SET` | the sender, in `poll_closed`            | `tx_waker` holds the waker of a task awaiting `closed()`, which the receiver may wake |
//!
//! `VALUE_SENT` and `CLOSED` are never cleared. A value that was sent stays receivable even
//! once `CLOSED` is set as well (`close` followed by `try_recv`).
//!
//! **The value slot.** The sender writes it before it sets `VALUE_SENT`, with a
//! compare-exchange that fails if `CLOSED` is already set: then `VALUE_SENT` is never set and
//! the sender takes the value back out and returns it. The receiver reads the slot only after
//! it has seen `VALUE_SENT` (acquire, pairing with the sender's release). So the two never
//! touch the slot at the same time. A value sent but never received stays in the slot and is
//! dropped with `Inner`, when both halves are gone: it is dropped exactly once, by exactly one
//! owner, in every order of events.
//!
//! **The waker slots.** Each slot has an *owner* (the receiver for `rx_waker`, the sender
//! for `tx_waker`), a *flag* (`RX_WAKER_SET`, `TX_WAKER_SET`) and a *completion* (for the
//! receiver, `VALUE_SENT | CLOSED`; for the sender, `CLOSED`). The other side sets the
//! completion with a read-modify-write that also returns the flag, and reads the slot only
//! if that read-modify-write is what completed it. (The receiver's own `close` sets `CLOSED`
//! too; the sender then never reads `rx_waker`, since its send fails and its drop finds
//! `CLOSED` already set.)
//!
//! 1. While the flag is clear, the owner has the slot to itself: the other side never
//!    touches it.
//! 2. The owner stores a waker, then sets the flag with a read-modify-write (release).
//!    From then on the other side may *read* the slot (`wake_by_ref`), but only if its
//!    completing read-modify-write saw the flag set.
//! 3. To replace the waker, the owner first clears the flag with a read-modify-write. If
//!    that shows the completion, the other side may be reading the slot right now: the owner
//!    leaves the slot alone for good (the stale waker is dropped with `Inner`) and reports
//!    the completion instead of waiting.
//! 4. If the read-modify-write that sets the flag (2) shows the completion, the other side
//!    completed while the flag was clear and will not wake anyone: the owner reports the
//!    completion itself instead of waiting.
//!
//! No wake-up is lost: the completing read-modify-write and the owner's flag-setting one are
//! ordered in the state word's modification order. If the completion comes first, the owner
//! sees it (4). If the flag comes first, the completer sees it and wakes the waker in the
//! slot, which is the latest one, because the owner can only replace it after clearing the
//! flag (3). Both sides only ever read a published slot, so the owner's `will_wake` check
//! (to skip re-registering the same waker) may overlap the other side's `wake_by_ref`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};

use crate::loom::UnsafeCell;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::scheduler::coop;

/// `rx_waker` holds a waker the sender may wake.
const RX_WAKER_SET: usize = 0b0001;
/// `value` holds the sent value; it belongs to the receiver.
const VALUE_SENT: usize = 0b0010;
/// No value will be sent any more (one side closed or dropped).
const CLOSED: usize = 0b0100;
/// `tx_waker` holds a waker the receiver may wake.
const TX_WAKER_SET: usize = 0b1000;

/// Creates a channel for one value: the sending and the receiving half.
///
/// Costs one allocation, shared by the two halves.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: UnsafeCell::new(None),
        tx_waker: UnsafeCell::new(None),
    });
    let tx = Sender {
        inner: Some(inner.clone()),
    };
    let rx = Receiver { inner: Some(inner) };
    (tx, rx)
}

/// The sending half of a [`channel`]. Sends one value with [`send`](Sender::send).
///
/// Dropping it without sending makes the receiver resolve to [`RecvError`].
pub struct Sender<T> {
    /// `None` only once `send` has taken it, so `Drop` knows not to close.
    inner: Option<Arc<Inner<T>>>,
}

/// The receiving half of a [`channel`]: a future that resolves to the value.
///
/// Resolves to `Err(RecvError)` if the sender was dropped without sending. Dropping the
/// receiver (or calling [`close`](Receiver::close)) makes later sends fail, returning the
/// value to the sender. Once it has resolved, it must not be polled again.
pub struct Receiver<T> {
    /// `None` once the value has been taken.
    inner: Option<Arc<Inner<T>>>,
}

/// The allocation both halves share; see the module docs for the protocol.
struct Inner<T> {
    /// `RX_WAKER_SET | VALUE_SENT | CLOSED | TX_WAKER_SET`.
    state: AtomicUsize,
    /// Written by the sender before `VALUE_SENT`; read by the receiver after it.
    value: UnsafeCell<Option<T>>,
    /// The receiving task's waker; owned by the receiver while `RX_WAKER_SET` is clear.
    rx_waker: UnsafeCell<Option<Waker>>,
    /// The waker of a task awaiting `Sender::closed`; owned by the sender while
    /// `TX_WAKER_SET` is clear.
    tx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: `Inner` is shared between the two halves, which may live on different threads.
// The slots are only touched as the module docs lay out: the value slot by one side at a
// time, handed over by `VALUE_SENT` (acquire/release); a waker slot written only by its
// owner while its flag is clear, and only read while it is set. The value moves between
// threads, hence `T: Send`; no `&T` is ever shared, so `T: Sync` is not needed. `Waker` is
// `Send + Sync`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Inner<T> {}

/// No value will come: the sender was dropped without sending one, or the receiver
/// [closed](Receiver::close) the channel before it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed before a value was sent")
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value yet; one may still be sent.
    Empty,
    /// No value will come: the sender was dropped without sending, the receiver was
    /// closed, or the value was already received.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("channel empty: no value sent yet"),
            TryRecvError::Closed => f.write_str("channel closed: no value will be received"),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl<T> Sender<T> {
    /// Sends `value` to the receiver, waking it.
    ///
    /// Fails, handing `value` back, if the receiver was dropped or closed. Success does not
    /// mean the receiver will see the value: it may still be dropped before it looks.
    pub fn send(mut self, value: T) -> Result<(), T> {
        // Taking `inner` tells `Drop` the channel is dealt with here.
        let inner = self
            .inner
            .take()
            .expect("a sender holds its channel until it sends");

        // SAFETY: the sender writes the value slot only here, once (`send` takes `self`), and
        // before `VALUE_SENT` is set; the receiver reads it only after seeing `VALUE_SENT`.
        inner
            .value
            .with_mut(|value_ptr| unsafe { *value_ptr = Some(value) });

        let mut state = inner.state.load(Ordering::Relaxed);
        loop {
            if state & CLOSED != 0 {
                // SAFETY: `VALUE_SENT` was not and now never will be set (the receiver has
                // closed), so the receiver never reads the slot: it is still the sender's.
                let value = inner
                    .value
                    .with_mut(|value_ptr| unsafe { (*value_ptr).take() });
                return Err(value.expect("the value was stored above"));
            }
            // Release publishes the value; acquire makes the receiver's waker visible.
            match inner.state.compare_exchange_weak(
                state,
                state | VALUE_SENT,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }

        if state & RX_WAKER_SET != 0 {
            // SAFETY: our completing compare-exchange saw `RX_WAKER_SET`, so the slot holds
            // the receiver's latest waker, and the receiver will not write it again (rule 3).
            inner
                .rx_waker
                .with(|waker_ptr| unsafe { wake_by_ref(waker_ptr) });
        }
        Ok(())
    }

    /// True once the receiver has been dropped or closed: a `send` would fail.
    pub fn is_closed(&self) -> bool {
        self.inner().state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Waits until the receiver is dropped or closed.
    ///
    /// Useful to stop computing a value nobody wants any more, e.g. racing it against the
    /// work that produces the value.
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Polls for the receiver to be dropped or closed: the poll form of
    /// [`closed`](Sender::closed).
    ///
    /// Only the waker of the latest call is woken.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        let inner = self.inner();

        let mut state = inner.state.load(Ordering::Acquire);
        if state & CLOSED != 0 {
            coop.made_progress();
            return Poll::Ready(());
        }

        if state & TX_WAKER_SET != 0 {
            // SAFETY: the flag is set, so the slot is published and only ever read (rule 2).
            let same = inner
                .tx_waker
                .with(|waker_ptr| unsafe { will_wake(waker_ptr, cx.waker()) });
            if same {
                return Poll::Pending;
            }
            state = inner.state.fetch_and(!TX_WAKER_SET, Ordering::AcqRel);
            if state & CLOSED != 0 {
                // The receiver may be waking the old waker: leave the slot alone (rule 3).
                coop.made_progress();
                return Poll::Ready(());
            }
        }

        // SAFETY: `TX_WAKER_SET` is clear (never set yet, or cleared by us above without
        // `CLOSED` having been set first), so the receiver will not touch the slot (rule 1).
        inner
            .tx_waker
            .with_mut(|waker_ptr| unsafe { *waker_ptr = Some(cx.waker().clone()) });
        state = inner.state.fetch_or(TX_WAKER_SET, Ordering::AcqRel);
        if state & CLOSED != 0 {
            // Closed while the flag was clear: nobody will wake us (rule 4).
            coop.made_progress();
            return Poll::Ready(());
        }
        Poll::Pending
    }

    fn inner(&self) -> &Inner<T> {
        self.inner
            .as_deref()
            .expect("a sender holds its channel until it sends")
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.as_deref() else {
            return; // sent
        };
        let prev = inner.state.fetch_or(CLOSED, Ordering::AcqRel);
        if prev & (CLOSED | VALUE_SENT) == 0 && prev & RX_WAKER_SET != 0 {
            // SAFETY: our completing read-modify-write saw `RX_WAKER_SET`: the slot holds
            // the receiver's latest waker and the receiver will not write it again.
            inner
                .rx_waker
                .with(|waker_ptr| unsafe { wake_by_ref(waker_ptr) });
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent, without waiting.
    ///
    /// [`TryRecvError::Empty`] if it may still come, [`TryRecvError::Closed`] if it never
    /// will (or was already received).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = self.inner.as_deref() else {
            return Err(TryRecvError::Closed);
        };
        let state = inner.state.load(Ordering::Acquire);
        if state & VALUE_SENT != 0 {
            // SAFETY: `VALUE_SENT` is set (acquire): the sender is done with the slot.
            let value = unsafe { inner.take_value() };
            self.inner = None;
            Ok(value)
        } else if state & CLOSED != 0 {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Closes the channel without dropping the receiver: any later `send` fails.
    ///
    /// A value sent before the close can still be taken with [`try_recv`](Receiver::try_recv)
    /// or by awaiting the receiver. A task awaiting [`Sender::closed`] is woken.
    pub fn close(&mut self) {
        if let Some(inner) = self.inner.as_deref() {
            inner.close_from_receiver();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = this
            .inner
            .as_deref()
            .expect("oneshot::Receiver polled after it resolved");
        let coop = ready!(coop::poll_proceed(cx));
        let result = ready!(inner.poll_recv(cx));
        coop.made_progress();
        this.inner = None;
        Poll::Ready(result)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // A value sent but not received stays in the slot and goes with `Inner`.
        if let Some(inner) = self.inner.as_deref() {
            inner.close_from_receiver();
        }
    }
}

impl<T> Inner<T> {
    /// The receiver's side of the protocol: the result, or `Pending` with our waker stored.
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let mut state = self.state.load(Ordering::Acquire);
        if state & (VALUE_SENT | CLOSED) != 0 {
            // SAFETY: acquire load; `VALUE_SENT` hands us the slot.
            return Poll::Ready(unsafe { self.complete(state) });
        }

        if state & RX_WAKER_SET != 0 {
            // SAFETY: the flag is set, so the slot is published and only ever read (rule 2).
            let same = self
                .rx_waker
                .with(|waker_ptr| unsafe { will_wake(waker_ptr, cx.waker()) });
            if same {
                return Poll::Pending;
            }
            state = self.state.fetch_and(!RX_WAKER_SET, Ordering::AcqRel);
            if state & (VALUE_SENT | CLOSED) != 0 {
                // The sender may be waking the old waker: leave the slot alone (rule 3).
                // SAFETY: acquire read-modify-write; `VALUE_SENT` hands us the value slot.
                return Poll::Ready(unsafe { self.complete(state) });
            }
        }

        // SAFETY: `RX_WAKER_SET` is clear (never set yet, or cleared by us above before any
        // completion), so the sender will not touch the slot (rule 1).
        self.rx_waker
            .with_mut(|waker_ptr| unsafe { *waker_ptr = Some(cx.waker().clone()) });
        state = self.state.fetch_or(RX_WAKER_SET, Ordering::AcqRel);
        if state & (VALUE_SENT | CLOSED) != 0 {
            // Completed while the flag was clear: nobody will wake us (rule 4).
            // SAFETY: acquire read-modify-write; `VALUE_SENT` hands us the value slot.
            return Poll::Ready(unsafe { self.complete(state) });
        }
        Poll::Pending
    }

    /// The receiver's result for a completed `state`: the value if sent, else `RecvError`.
    ///
    /// # Safety
    ///
    /// Receiver side only, at most once with `VALUE_SENT`, and `state` must have been read
    /// with acquire ordering.
    unsafe fn complete(&self, state: usize) -> Result<T, RecvError> {
        debug_assert!(state & (VALUE_SENT | CLOSED) != 0);
        if state & VALUE_SENT != 0 {
            // SAFETY: forwarded from the caller.
            Ok(unsafe { self.take_value() })
        } else {
            Err(RecvError(()))
        }
    }

    /// Moves the sent value out of the slot.
    ///
    /// # Safety
    ///
    /// Receiver side only, at most once, after an acquire read of the state that showed
    /// `VALUE_SENT`.
    unsafe fn take_value(&self) -> T {
        // SAFETY: `VALUE_SENT` was seen with acquire, so the sender's write is visible and the
        // sender never touches the slot again; the receiver takes it at most once.
        let value = self
            .value
            .with_mut(|value_ptr| unsafe { (*value_ptr).take() });
        value.expect("VALUE_SENT is set only after the value is stored")
    }

    /// Sets `CLOSED` from the receiver's side, waking a task awaiting `Sender::closed`.
    fn close_from_receiver(&self) {
        let prev = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if prev & (CLOSED | VALUE_SENT) == 0 && prev & TX_WAKER_SET != 0 {
            // SAFETY: our completing read-modify-write saw `TX_WAKER_SET`: the slot holds the
            // sender's latest waker and the sender will not write it again (rule 3).
            self.tx_waker
                .with(|waker_ptr| unsafe { wake_by_ref(waker_ptr) });
        }
    }
}

/// Wakes the waker in a published slot.
///
/// # Safety
///
/// `waker_ptr` points to a waker slot whose flag the caller saw set, so no one writes it.
unsafe fn wake_by_ref(waker_ptr: *const Option<Waker>) {
    // SAFETY: forwarded from the caller: the slot is only read while published.
    if let Some(waker) = unsafe { &*waker_ptr } {
        waker.wake_by_ref();
    }
}

/// True if the published slot already holds a waker that wakes the same task as `waker`.
///
/// # Safety
///
/// As for [`wake_by_ref`].
unsafe fn will_wake(waker_ptr: *const Option<Waker>, waker: &Waker) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe { &*waker_ptr }
        .as_ref()
        .is_some_and(|stored| stored.will_wake(waker))
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner().state.load(Ordering::Relaxed);
        f.debug_struct("Sender")
            .field("closed", &(state & CLOSED != 0))
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Receiver");
        match self.inner.as_deref() {
            Some(inner) => {
                let state = inner.state.load(Ordering::Relaxed);
                s.field("value_sent", &(state & VALUE_SENT != 0))
                    .field("closed", &(state & CLOSED != 0))
            }
            None => s.field("received", &true),
        }
        .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, DropCounter, block_on, spend_budget_but_one};
    use std::sync::Arc as StdArc;

    fn poll<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
        Pin::new(fut).poll(&mut Context::from_waker(waker))
    }

    fn poll_closed<T>(tx: &mut Sender<T>, waker: &Waker) -> Poll<()> {
        tx.poll_closed(&mut Context::from_waker(waker))
    }

    #[test]
    fn send_then_recv() {
        let (tx, mut rx) = channel();
        assert_eq!(tx.send(7), Ok(()));
        assert_eq!(poll(&mut rx, Waker::noop()), Poll::Ready(Ok(7)));
    }

    #[test]
    fn recv_waits_then_send_wakes() {
        let (tx, mut rx) = channel::<String>();
        let (counter, waker) = CountingWaker::new();
        assert!(poll(&mut rx, &waker).is_pending());
        assert!(
            poll(&mut rx, &waker).is_pending(),
            "same waker, still pending"
        );
        assert_eq!(counter.wakes(), 0);
        tx.send("hi".to_owned()).unwrap();
        assert_eq!(counter.wakes(), 1);
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(Ok("hi".to_owned())));
    }

    #[test]
    fn dropped_sender_gives_recv_error() {
        let (tx, mut rx) = channel::<u8>();
        let (counter, waker) = CountingWaker::new();
        assert!(poll(&mut rx, &waker).is_pending());
        drop(tx);
        assert_eq!(counter.wakes(), 1);
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(Err(RecvError(()))));

        // And without a waiting receiver.
        let (tx, mut rx) = channel::<u8>();
        drop(tx);
        assert_eq!(
            poll(&mut rx, Waker::noop()),
            Poll::Ready(Err(RecvError(())))
        );
    }

    #[test]
    fn dropped_receiver_fails_send_with_the_value() {
        let (tx, rx) = channel();
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send(vec![1, 2, 3]), Err(vec![1, 2, 3]));
    }

    #[test]
    fn value_dropped_once_when_received() {
        let count = DropCounter::new();
        let (tx, mut rx) = channel();
        tx.send(count.tracked()).unwrap();
        let Poll::Ready(Ok(got)) = poll(&mut rx, Waker::noop()) else {
            panic!("value was sent");
        };
        assert_eq!(count.get(), 0);
        drop(rx);
        assert_eq!(count.get(), 0);
        drop(got);
        assert_eq!(count.get(), 1);
    }

    #[test]
    fn value_dropped_once_when_never_received() {
        let count = DropCounter::new();
        let (tx, rx) = channel();
        tx.send(count.tracked()).unwrap();
        assert_eq!(count.get(), 0);
        drop(rx);
        assert_eq!(count.get(), 1);
    }

    #[test]
    fn value_dropped_once_when_receiver_polled_then_dropped() {
        let count = DropCounter::new();
        let (tx, mut rx) = channel();
        assert!(poll(&mut rx, Waker::noop()).is_pending());
        tx.send(count.tracked()).unwrap();
        drop(rx);
        assert_eq!(count.get(), 1);
    }

    #[test]
    fn value_dropped_once_when_send_fails() {
        let count = DropCounter::new();
        let (tx, rx) = channel();
        drop(rx);
        let back = tx.send(count.tracked()).unwrap_err();
        assert_eq!(count.get(), 0, "the value came back, not dropped");
        drop(back);
        assert_eq!(count.get(), 1);
    }

    #[test]
    fn value_dropped_once_after_close_and_try_recv() {
        let count = DropCounter::new();
        let (tx, mut rx) = channel();
        tx.send(count.tracked()).unwrap();
        rx.close();
        let got = rx.try_recv().unwrap();
        assert_eq!(count.get(), 0);
        drop(got);
        drop(rx);
        assert_eq!(count.get(), 1);
    }

    #[test]
    fn value_dropped_once_when_closed_but_not_taken() {
        let count = DropCounter::new();
        let (tx, mut rx) = channel();
        tx.send(count.tracked()).unwrap();
        rx.close();
        assert_eq!(count.get(), 0);
        drop(rx);
        assert_eq!(count.get(), 1);
    }

    #[test]
    fn try_recv_states() {
        let (tx, mut rx) = channel();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tx.send(5).unwrap();
        assert_eq!(rx.try_recv(), Ok(5));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed), "already received");

        let (tx, mut rx) = channel::<u8>();
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        // Still awaitable after a failed try_recv.
        assert_eq!(
            poll(&mut rx, Waker::noop()),
            Poll::Ready(Err(RecvError(())))
        );
    }

    #[test]
    fn close_fails_later_sends_and_wakes_closed() {
        let (mut tx, mut rx) = channel();
        let (counter, waker) = CountingWaker::new();
        assert!(poll_closed(&mut tx, &waker).is_pending());
        assert!(poll_closed(&mut tx, &waker).is_pending());
        rx.close();
        assert_eq!(counter.wakes(), 1);
        assert!(tx.is_closed());
        assert_eq!(poll_closed(&mut tx, &waker), Poll::Ready(()));
        assert_eq!(tx.send(1), Err(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(
            poll(&mut rx, Waker::noop()),
            Poll::Ready(Err(RecvError(())))
        );
    }

    #[test]
    fn close_keeps_a_value_already_sent() {
        let (tx, mut rx) = channel();
        tx.send(3).unwrap();
        rx.close();
        assert_eq!(poll(&mut rx, Waker::noop()), Poll::Ready(Ok(3)));
    }

    #[test]
    fn dropped_receiver_wakes_closed() {
        let (mut tx, rx) = channel::<u8>();
        let (counter, waker) = CountingWaker::new();
        assert!(poll_closed(&mut tx, &waker).is_pending());
        drop(rx);
        assert_eq!(counter.wakes(), 1);
        assert_eq!(poll_closed(&mut tx, &waker), Poll::Ready(()));
    }

    #[test]
    fn replaced_receiver_waker_is_the_one_woken() {
        let (tx, mut rx) = channel();
        let (first, first_waker) = CountingWaker::new();
        let (second, second_waker) = CountingWaker::new();
        assert!(poll(&mut rx, &first_waker).is_pending());
        assert!(poll(&mut rx, &second_waker).is_pending());
        tx.send(()).unwrap();
        assert_eq!(first.wakes(), 0);
        assert_eq!(second.wakes(), 1);
        assert_eq!(poll(&mut rx, &second_waker), Poll::Ready(Ok(())));
    }

    #[test]
    fn replaced_sender_waker_is_the_one_woken() {
        let (mut tx, rx) = channel::<u8>();
        let (first, first_waker) = CountingWaker::new();
        let (second, second_waker) = CountingWaker::new();
        assert!(poll_closed(&mut tx, &first_waker).is_pending());
        assert!(poll_closed(&mut tx, &second_waker).is_pending());
        drop(rx);
        assert_eq!(first.wakes(), 0);
        assert_eq!(second.wakes(), 1);
    }

    #[test]
    fn wakers_are_released_with_the_channel() {
        let (counter, waker) = CountingWaker::new();
        let (mut tx, mut rx) = channel::<u8>();
        assert!(poll(&mut rx, &waker).is_pending());
        assert!(poll_closed(&mut tx, &waker).is_pending());
        assert_eq!(StdArc::strong_count(&counter), 4);
        drop(tx);
        drop(rx);
        assert_eq!(
            StdArc::strong_count(&counter),
            2,
            "only ours and `waker` remain"
        );
    }

    #[test]
    fn ready_receiver_spends_budget() {
        coop::budget(|| {
            let (counter, waker) = CountingWaker::new();
            let mut cx = Context::from_waker(&waker);
            spend_budget_but_one(&mut cx);
            let (tx, mut rx) = channel();
            // Pending does not spend the last unit...
            assert!(poll(&mut rx, &waker).is_pending());
            assert!(coop::has_budget_remaining());
            tx.send(1).unwrap();
            assert_eq!(counter.wakes(), 1);
            // ...Ready does.
            assert_eq!(poll(&mut rx, &waker), Poll::Ready(Ok(1)));
            assert!(!coop::has_budget_remaining());

            // Out of budget: even a ready channel yields, and asks to be polled again.
            let (tx, mut rx) = channel();
            tx.send(2).unwrap();
            assert!(poll(&mut rx, &waker).is_pending());
            assert_eq!(counter.wakes(), 2);
            assert_eq!(rx.try_recv(), Ok(2), "the value is still there");
        });
    }

    #[test]
    #[should_panic(expected = "polled after it resolved")]
    fn poll_after_ready_panics() {
        let (tx, mut rx) = channel();
        tx.send(1).unwrap();
        assert!(poll(&mut rx, Waker::noop()).is_ready());
        let _ = poll(&mut rx, Waker::noop());
    }

    #[test]
    fn halves_are_send_and_sync() {
        fn is_send_sync<T: Send + Sync>() {}
        is_send_sync::<Sender<std::cell::Cell<u8>>>();
        is_send_sync::<Receiver<std::cell::Cell<u8>>>();
        is_send_sync::<RecvError>();
    }

    #[test]
    fn across_threads() {
        for round in 0..20 {
            let (tx, rx) = channel();
            let (back_tx, back_rx) = channel();
            let echo = std::thread::spawn(move || {
                let n: u32 = block_on(rx).unwrap();
                back_tx.send(n + 1).unwrap();
            });
            tx.send(round).unwrap();
            assert_eq!(block_on(back_rx), Ok(round + 1));
            echo.join().unwrap();
        }
    }

    #[test]
    fn debug_and_display() {
        let (tx, rx) = channel::<u8>();
        assert_eq!(format!("{tx:?}"), "Sender { closed: false }");
        assert_eq!(
            format!("{rx:?}"),
            "Receiver { value_sent: false, closed: false }"
        );
        assert!(
            RecvError(())
                .to_string()
                .contains("before a value was sent")
        );
        assert!(TryRecvError::Empty.to_string().contains("empty"));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model-checked races (`RUSTFLAGS="--cfg loom" cargo test --release --lib`).
    //!
    //! `block_on` parks the thread on `Pending` and only resumes on a wake-up, so a lost
    //! wake-up shows up as a deadlock that loom reports.
    use super::*;
    use loom::thread;

    /// Polls `fut` on this loom thread, parking between polls until a waker unparks it.
    fn block_on<F: Future>(fut: F) -> F::Output {
        struct Unpark(thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(std::sync::Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            thread::park();
        }
    }

    /// A value that counts how often it is dropped.
    struct Tracked(Arc<AtomicUsize>);

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn tracked() -> (Tracked, Arc<AtomicUsize>) {
        let drops = Arc::new(AtomicUsize::new(0));
        (Tracked(drops.clone()), drops)
    }

    /// A waker that counts its wake-ups (std `Arc`, as `Wake` wants; loom counter).
    struct CountingWaker(AtomicUsize);

    impl std::task::Wake for CountingWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
        let counter = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    #[test]
    fn send_races_recv() {
        loom::model(|| {
            let (value, drops) = tracked();
            let (tx, rx) = channel();
            let sender = thread::spawn(move || {
                assert!(tx.send(value).is_ok(), "the receiver is alive");
            });
            let got = block_on(rx).expect("value was sent");
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            drop(got);
            sender.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn sender_drop_races_recv() {
        loom::model(|| {
            let (tx, rx) = channel::<u8>();
            let sender = thread::spawn(move || drop(tx));
            assert_eq!(block_on(rx), Err(RecvError(())));
            sender.join().unwrap();
        });
    }

    #[test]
    fn send_races_receiver_drop() {
        loom::model(|| {
            let (value, drops) = tracked();
            let (tx, rx) = channel();
            let sender = thread::spawn(move || {
                // On failure the value comes back here and is dropped with `_back`.
                let _back = tx.send(value).err();
            });
            drop(rx);
            sender.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn close_races_send() {
        loom::model(|| {
            let (value, drops) = tracked();
            let (tx, mut rx) = channel();
            let sender = thread::spawn(move || tx.send(value).is_ok());
            rx.close();
            let got = rx.try_recv();
            let sent = sender.join().unwrap();
            // A send that won the race is still receivable; one that lost failed.
            assert_eq!(sent, got.is_ok());
            if !sent {
                assert!(matches!(got, Err(TryRecvError::Closed)));
            }
            drop(got);
            drop(rx);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn receiver_drop_races_closed() {
        loom::model(|| {
            let (mut tx, rx) = channel::<u8>();
            let receiver = thread::spawn(move || drop(rx));
            block_on(tx.closed());
            assert!(tx.is_closed());
            assert_eq!(tx.send(1), Err(1));
            receiver.join().unwrap();
        });
    }

    #[test]
    fn replaced_waker_races_send() {
        loom::model(|| {
            let (tx, mut rx) = channel::<u8>();
            let (first, first_waker) = counting_waker();
            let (second, second_waker) = counting_waker();
            let sender = thread::spawn(move || tx.send(9).unwrap());

            let mut cx = Context::from_waker(&first_waker);
            if let Poll::Ready(got) = Pin::new(&mut rx).poll(&mut cx) {
                assert_eq!(got, Ok(9));
                sender.join().unwrap();
                return;
            }
            let mut cx = Context::from_waker(&second_waker);
            let second_poll = Pin::new(&mut rx).poll(&mut cx);
            sender.join().unwrap();
            match second_poll {
                Poll::Ready(got) => assert_eq!(got, Ok(9)),
                Poll::Pending => {
                    // The send came after the second registration: it must wake the second
                    // waker, never only the stale first one.
                    assert_eq!(second.0.load(Ordering::SeqCst), 1);
                    assert_eq!(first.0.load(Ordering::SeqCst), 0);
                    let mut cx = Context::from_waker(&second_waker);
                    assert_eq!(Pin::new(&mut rx).poll(&mut cx), Poll::Ready(Ok(9)));
                }
            }
        });
    }

    #[test]
    fn replaced_closed_waker_races_receiver_drop() {
        loom::model(|| {
            let (mut tx, rx) = channel::<u8>();
            let (_first, first_waker) = counting_waker();
            let (second, second_waker) = counting_waker();
            let receiver = thread::spawn(move || drop(rx));

            let mut cx = Context::from_waker(&first_waker);
            if tx.poll_closed(&mut cx).is_ready() {
                receiver.join().unwrap();
                return;
            }
            let mut cx = Context::from_waker(&second_waker);
            let second_poll = tx.poll_closed(&mut cx);
            receiver.join().unwrap();
            if second_poll.is_pending() {
                assert_eq!(second.0.load(Ordering::SeqCst), 1);
            }
            assert!(tx.is_closed());
        });
    }
}
