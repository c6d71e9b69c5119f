//! The unbounded channel: sending never waits, so plain threads can send too.

use std::fmt;
use std::future::poll_fn;
use std::task::{Context, Poll};

use super::chan::{self, Closed, Rx, TryRecv, Tx, Unbounded, WeakTx};
use super::error::{SendError, TryRecvError};

/// Creates an unbounded channel: an [`UnboundedSender`] (clone it for more) and the
/// [`UnboundedReceiver`].
///
/// Sending never waits, so the queue can grow without limit if the receiver falls behind;
/// prefer a bounded [`channel`](super::channel) where that matters.
///
/// # Examples
///
/// ```
/// use corio::sync::mpsc;
///
/// corio::run(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     // A plain thread can send: `send` does not wait.
///     std::thread::spawn(move || {
///         for n in 0..3 {
///             tx.send(n).unwrap();
///         }
///     });
///     let mut got = Vec::new();
///     while let Some(n) = rx.recv().await {
///         got.push(n);
///     }
///     assert_eq!(got, [0, 1, 2]);
/// });
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let (tx, rx) = chan::channel(Unbounded);
    (UnboundedSender { tx }, UnboundedReceiver { rx })
}

/// The sending half of an [`unbounded_channel`]. Clone it for more senders; the channel
/// closes (the receiver gets `None` after the queued values) when the last one is dropped.
pub struct UnboundedSender<T> {
    tx: Tx<T, Unbounded>,
}

/// An unbounded sender that does not keep the channel open; upgrade it to send.
pub struct WeakUnboundedSender<T> {
    tx: WeakTx<T, Unbounded>,
}

/// The receiving half of an [`unbounded_channel`].
///
/// Dropping it (or calling [`close`](UnboundedReceiver::close)) makes later sends fail;
/// values still queued are dropped with it.
pub struct UnboundedReceiver<T> {
    rx: Rx<T, Unbounded>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value`, never waiting.
    ///
    /// Fails, handing `value` back, if the receiver was dropped or closed. A value sent
    /// successfully is received unless the receiver is dropped first.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.tx.send(value).map_err(SendError)
    }

    /// Waits until the receiver is dropped or closed.
    pub async fn closed(&self) {
        Closed::new(&self.tx).await
    }

    /// True once the receiver was dropped or closed: sends fail.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// True if both senders send to the same channel.
    pub fn same_channel(&self, other: &UnboundedSender<T>) -> bool {
        self.tx.same_channel(&other.tx)
    }

    /// A [`WeakUnboundedSender`] for this channel, which does not keep it open.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        WeakUnboundedSender {
            tx: self.tx.downgrade(),
        }
    }

    /// How many senders (strong) the channel has.
    pub fn strong_count(&self) -> usize {
        self.tx.strong_count()
    }

    /// How many weak senders the channel has.
    pub fn weak_count(&self) -> usize {
        self.tx.weak_count()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            tx: self.tx.clone(),
        }
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender")
            .field("chan", &*self.tx.chan)
            .finish()
    }
}

impl<T> WeakUnboundedSender<T> {
    /// An [`UnboundedSender`], if the channel is still open (some sender is alive).
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.tx.upgrade().map(|tx| UnboundedSender { tx })
    }

    /// How many senders (strong) the channel has.
    pub fn strong_count(&self) -> usize {
        self.tx.strong_count()
    }

    /// How many weak senders the channel has.
    pub fn weak_count(&self) -> usize {
        self.tx.weak_count()
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        WeakUnboundedSender {
            tx: self.tx.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next value, waiting for one if none is queued.
    ///
    /// `None` once the channel is closed (every sender dropped, or
    /// [`close`](UnboundedReceiver::close) called) and every value sent before was received.
    /// Values from one sender arrive in the order it sent them.
    ///
    /// Cancel safety: if the future is dropped before it completes, no value was taken.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.rx.poll_recv(cx)).await
    }

    /// Receives up to `limit` values into `buffer` (appending), waiting only for the first.
    ///
    /// Returns how many were added: 0 only if `limit` is 0, or the channel is closed and
    /// drained. Cancel safe, as [`recv`](UnboundedReceiver::recv).
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        poll_fn(|cx| self.rx.poll_recv_many(cx, buffer, limit)).await
    }

    /// Receives the next value on a plain thread, blocking it until one comes; `None` once
    /// the channel is closed and drained.
    ///
    /// # Panics
    ///
    /// If called on a thread that runs async tasks (inside a runtime).
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        super::block_on(self.recv())
    }

    /// [`recv_many`](UnboundedReceiver::recv_many) for a plain thread, blocking it.
    ///
    /// # Panics
    ///
    /// If called on a thread that runs async tasks (inside a runtime).
    #[track_caller]
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        super::block_on(self.recv_many(buffer, limit))
    }

    /// Takes the next value if one is queued, without waiting.
    ///
    /// [`TryRecvError::Empty`] if none is queued yet, [`TryRecvError::Disconnected`] if none
    /// will come (closed and drained).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.rx.try_recv().map_err(|err| match err {
            TryRecv::Empty => TryRecvError::Empty,
            TryRecv::Disconnected => TryRecvError::Disconnected,
        })
    }

    /// Polls for the next value: the poll form of [`recv`](UnboundedReceiver::recv). Only
    /// the latest waker is woken.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }

    /// The poll form of [`recv_many`](UnboundedReceiver::recv_many).
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.rx.poll_recv_many(cx, buffer, limit)
    }

    /// Closes the channel without dropping the receiver: sends fail from now on, while the
    /// values already queued can still be received (then `None`).
    pub fn close(&mut self) {
        self.rx.close();
    }

    /// True once the channel is closed: every sender dropped, or
    /// [`close`](UnboundedReceiver::close) called. Values may still be queued.
    pub fn is_closed(&self) -> bool {
        self.rx.is_closed()
    }

    /// How many values are queued.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// True if no value is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many senders (strong) the channel has.
    pub fn sender_strong_count(&self) -> usize {
        self.rx.sender_strong_count()
    }

    /// How many weak senders the channel has.
    pub fn sender_weak_count(&self) -> usize {
        self.rx.sender_weak_count()
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver")
            .field("chan", &*self.rx.chan)
            .finish()
    }
}
