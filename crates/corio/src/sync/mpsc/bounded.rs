//! The bounded channel: senders wait (in line) while `capacity` values are queued.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use super::chan::{self, Chan, Closed, Rx, TryRecv, Tx, WeakTx};
use super::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use super::permits::{AcquireError, Permits, TryAcquireError};
use crate::scheduler::coop;

/// Creates a bounded channel holding up to `capacity` values: a [`Sender`] (clone it for
/// more) and the [`Receiver`].
///
/// A send waits while the channel is full; waiting senders get capacity in the order they
/// started waiting. Memory grows with the values queued, not with `capacity`.
///
/// # Panics
///
/// If `capacity` is 0 or greater than `usize::MAX >> 3`.
///
/// # Examples
///
/// ```
/// use corio::sync::mpsc;
///
/// corio::run(async {
///     let (tx, mut rx) = mpsc::channel(8);
///     for id in 0..3 {
///         let tx = tx.clone();
///         corio::spawn(async move {
///             tx.send(id).await.unwrap();
///         });
///     }
///     drop(tx);
///     let mut got = Vec::new();
///     while let Some(id) = rx.recv().await {
///         got.push(id);
///     }
///     got.sort();
///     assert_eq!(got, [0, 1, 2]);
/// });
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires capacity > 0");
    let (tx, rx) = chan::channel(Permits::new(capacity));
    (Sender { tx }, Receiver { rx })
}

/// The sending half of a bounded [`channel`]. Clone it for more senders; the channel closes
/// (the receiver gets `None` after the queued values) when the last one is dropped.
pub struct Sender<T> {
    tx: Tx<T, Permits>,
}

/// A sender that does not keep the channel open; [`upgrade`](WeakSender::upgrade) it to send.
pub struct WeakSender<T> {
    tx: WeakTx<T, Permits>,
}

/// Capacity reserved for one value, from [`Sender::reserve`]: [`send`](Permit::send) cannot
/// fail or wait. Dropping it unused gives the capacity back.
pub struct Permit<'a, T> {
    chan: &'a Chan<T, Permits>,
}

/// Capacity reserved for one value, owning its sender: from [`Sender::reserve_owned`].
/// Dropping it unused gives the capacity back.
pub struct OwnedPermit<T> {
    /// `None` once sent or released.
    sender: Option<Sender<T>>,
}

/// The receiving half of a bounded [`channel`].
///
/// Dropping it (or calling [`close`](Receiver::close)) makes later sends fail; values
/// still queued are dropped with it.
pub struct Receiver<T> {
    rx: Rx<T, Permits>,
}

/// Waits for one permit; leaves the line if dropped first.
struct Acquire<'a> {
    permits: &'a Permits,
    /// Our place in line, once we wait.
    entry: Option<usize>,
}

impl<'a> Acquire<'a> {
    fn new(permits: &'a Permits) -> Acquire<'a> {
        Acquire {
            permits,
            entry: None,
        }
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        let acquired = ready!(this.permits.poll_acquire(cx, &mut this.entry));
        coop.made_progress();
        Poll::Ready(acquired)
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        // A permit granted to us but not yet seen goes to the next in line.
        self.permits.cancel(&mut self.entry);
    }
}

impl<T> Sender<T> {
    /// Sends `value`, first waiting for capacity if the channel is full.
    ///
    /// Fails, handing `value` back, if the receiver was dropped or closed (also while
    /// waiting). Waiting senders are served in the order they started waiting.
    ///
    /// Cancel safety: if the future is dropped before it completes, nothing was sent (the
    /// value is dropped with it) and no capacity is lost: a place in line, or capacity
    /// granted but not yet used, passes to the next sender. Use [`reserve`](Sender::reserve)
    /// to keep the value.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match Acquire::new(&self.tx.chan.semaphore).await {
            Ok(()) => {
                self.permit().send(value);
                Ok(())
            }
            Err(AcquireError) => Err(SendError(value)),
        }
    }

    /// Sends `value` from a plain thread, blocking it while the channel is full.
    ///
    /// # Panics
    ///
    /// If called on a thread that runs async tasks (inside a runtime): that would stall
    /// them. Use [`send`](Sender::send) there.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let producer = std::thread::spawn(move || {
    ///     for n in 0..3 {
    ///         tx.blocking_send(n).unwrap();
    ///     }
    /// });
    /// corio::run(async move {
    ///     for n in 0..3 {
    ///         assert_eq!(rx.recv().await, Some(n));
    ///     }
    /// });
    /// producer.join().unwrap();
    /// ```
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        super::block_on(self.send(value))
    }

    /// Sends `value` if there is capacity right now, without waiting.
    ///
    /// [`TrySendError::Full`] if the channel is full (or other senders wait for capacity
    /// first), [`TrySendError::Closed`] if the receiver was dropped or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::sync::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.tx.chan.semaphore.try_acquire() {
            Ok(()) => {
                self.permit().send(value);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(value)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(value)),
        }
    }

    /// Sends `value`, waiting at most `timeout` for capacity.
    ///
    /// [`SendTimeoutError::Timeout`] hands the value back if no capacity came in time,
    /// [`SendTimeoutError::Closed`] if the receiver was dropped or closed. Must run inside
    /// a corio runtime (for the timer).
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        let acquire = Acquire::new(&self.tx.chan.semaphore);
        match crate::time::timeout(timeout, acquire).await {
            Ok(Ok(())) => {
                self.permit().send(value);
                Ok(())
            }
            Ok(Err(AcquireError)) => Err(SendTimeoutError::Closed(value)),
            Err(_) => Err(SendTimeoutError::Timeout(value)),
        }
    }

    /// Waits for capacity for one value and reserves it: the returned [`Permit`] then sends
    /// without waiting. Fails if the receiver was dropped or closed.
    ///
    /// Cancel safety: as [`send`](Sender::send); no capacity is lost if the future is
    /// dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::sync::mpsc;
    ///
    /// corio::run(async {
    ///     let (tx, mut rx) = mpsc::channel(1);
    ///     let permit = tx.reserve().await.unwrap();
    ///     assert_eq!(tx.capacity(), 0, "reserved");
    ///     permit.send("hello");
    ///     assert_eq!(rx.recv().await, Some("hello"));
    ///     assert_eq!(tx.capacity(), 1);
    /// });
    /// ```
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        match Acquire::new(&self.tx.chan.semaphore).await {
            Ok(()) => Ok(self.permit()),
            Err(AcquireError) => Err(SendError(())),
        }
    }

    /// Like [`reserve`](Sender::reserve), but the permit owns this sender (and gives it back
    /// when used), so it can move into another task.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        match Acquire::new(&self.tx.chan.semaphore).await {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(AcquireError) => Err(SendError(())),
        }
    }

    /// Reserves capacity for one value if there is some right now.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.tx.chan.semaphore.try_acquire() {
            Ok(()) => Ok(self.permit()),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// Like [`try_reserve`](Sender::try_reserve), owning this sender; on failure the sender
    /// comes back in the error.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Sender<T>>> {
        match self.tx.chan.semaphore.try_acquire() {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(self)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(self)),
        }
    }

    /// Waits until the receiver is dropped or closed: useful to stop producing values
    /// nobody will read.
    pub async fn closed(&self) {
        Closed::new(&self.tx).await
    }

    /// True once the receiver was dropped or closed: sends fail.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Capacity free right now: how many values could be sent without waiting (ignoring
    /// senders already waiting).
    pub fn capacity(&self) -> usize {
        self.tx.chan.semaphore.available()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.tx.chan.semaphore.capacity()
    }

    /// True if both senders send to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        self.tx.same_channel(&other.tx)
    }

    /// A [`WeakSender`] for this channel, which does not keep it open.
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
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

    /// A permit for capacity this sender has just taken.
    fn permit(&self) -> Permit<'_, T> {
        Permit {
            chan: &self.tx.chan,
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            tx: self.tx.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("chan", &*self.tx.chan)
            .finish()
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`], if the channel is still open (some sender is alive).
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.tx.upgrade().map(|tx| Sender { tx })
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

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            tx: self.tx.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

/// Queues `value` with capacity already taken.
fn send_with_permit<T>(chan: &Chan<T, Permits>, value: T) {
    // The queue only closes when the last sender goes, and a permit comes with a live
    // sender; but should it be closed, give the capacity back rather than leak it.
    if let Err(value) = chan.send(value) {
        chan.semaphore.release(1);
        drop(value);
    }
}

/// Gives an unused permit back; a receiver waiting for the last one after a close must
/// learn it came back.
fn release_permit<T>(chan: &Chan<T, Permits>) {
    chan.semaphore.release(1);
    if chan.semaphore.is_closed() {
        chan.wake_rx();
    }
}

impl<T> Permit<'_, T> {
    /// Sends `value` with the reserved capacity. Never waits.
    ///
    /// If the receiver was closed after the reservation, the value is still queued: the
    /// receiver gets it before `None`. If the receiver was dropped, the value is dropped.
    pub fn send(self, value: T) {
        let chan = self.chan;
        std::mem::forget(self); // the capacity goes with the value
        send_with_permit(chan, value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        release_permit(self.chan);
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

impl<T> OwnedPermit<T> {
    /// Sends `value` with the reserved capacity, never waiting, and gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("an unused permit holds its sender");
        send_with_permit(&sender.tx.chan, value);
        sender
    }

    /// Gives the reserved capacity back unused, and the sender with it.
    pub fn release(mut self) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("an unused permit holds its sender");
        release_permit(&sender.tx.chan);
        sender
    }

    /// True if the permit sends to the same channel as `sender`.
    pub fn same_channel(&self, sender: &Sender<T>) -> bool {
        self.sender
            .as_ref()
            .is_some_and(|own| own.same_channel(sender))
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = &self.sender {
            release_permit(&sender.tx.chan);
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting for one if none is queued.
    ///
    /// `None` once the channel is closed (every sender dropped, or [`close`](Receiver::close)
    /// called) and every value sent before was received. Values from one sender arrive in
    /// the order it sent them.
    ///
    /// Cancel safety: if the future is dropped before it completes, no value was taken.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.rx.poll_recv(cx)).await
    }

    /// Receives up to `limit` values into `buffer` (appending), waiting only for the first.
    ///
    /// Returns how many were added: 0 only if `limit` is 0, or the channel is closed and
    /// drained. Cancel safe, as [`recv`](Receiver::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::sync::mpsc;
    ///
    /// corio::run(async {
    ///     let (tx, mut rx) = mpsc::channel(8);
    ///     for n in 0..5 {
    ///         tx.send(n).await.unwrap();
    ///     }
    ///     let mut batch = Vec::new();
    ///     assert_eq!(rx.recv_many(&mut batch, 3).await, 3);
    ///     assert_eq!(rx.recv_many(&mut batch, 3).await, 2);
    ///     assert_eq!(batch, [0, 1, 2, 3, 4]);
    /// });
    /// ```
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

    /// [`recv_many`](Receiver::recv_many) for a plain thread, blocking it.
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

    /// Polls for the next value: the poll form of [`recv`](Receiver::recv), for hand-written
    /// futures and streams. Only the latest waker is woken.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }

    /// The poll form of [`recv_many`](Receiver::recv_many).
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.rx.poll_recv_many(cx, buffer, limit)
    }

    /// Closes the channel without dropping the receiver: sends fail from now on, while the
    /// values already queued can still be received (then `None`). A sender holding a
    /// [`Permit`] can still use it.
    pub fn close(&mut self) {
        self.rx.close();
    }

    /// True once the channel is closed: every sender dropped, or [`close`](Receiver::close)
    /// called. Values may still be queued.
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

    /// Capacity free right now.
    pub fn capacity(&self) -> usize {
        self.rx.chan.semaphore.available()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.rx.chan.semaphore.capacity()
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

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("chan", &*self.rx.chan)
            .finish()
    }
}
