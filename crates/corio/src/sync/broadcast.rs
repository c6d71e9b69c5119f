//! A multi-producer, multi-consumer channel in which every receiver sees every value.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`]. Senders can be cloned, and more
//! receivers come from [`Sender::subscribe`] or [`Receiver::resubscribe`]. Each value sent is
//! seen, in order, by every receiver that existed when it was sent: each gets its own clone.
//! Sending never waits, so a plain thread may send too.
//!
//! The channel holds the last `capacity` values. A sender never waits for slow receivers:
//! once the ring is full, each send overwrites the oldest value. A receiver that fell so far
//! behind that values it had not seen yet were overwritten gets
//! [`RecvError::Lagged`]`(n)`, `n` being how many it missed, and then carries on from the
//! oldest value still held.
//!
//! Once every sender has been dropped, receivers still get every value that was buffered
//! for them, then [`RecvError::Closed`].
//!
//! ```
//! use corio::sync::broadcast;
//!
//! corio::run(async {
//!     let (tx, mut rx1) = broadcast::channel(16);
//!     let mut rx2 = tx.subscribe();
//!
//!     let printer = corio::spawn(async move {
//!         let mut seen = Vec::new();
//!         while let Ok(word) = rx2.recv().await {
//!             seen.push(word);
//!         }
//!         seen
//!     });
//!
//!     tx.send("hello").unwrap();
//!     tx.send("world").unwrap();
//!     drop(tx);
//!
//!     assert_eq!(rx1.recv().await, Ok("hello"));
//!     assert_eq!(rx1.recv().await, Ok("world"));
//!     assert_eq!(rx1.recv().await, Err(broadcast::RecvError::Closed));
//!     assert_eq!(printer.await.unwrap(), ["hello", "world"]);
//! });
//! ```
//!
//! # Differences from tokio
//!
//! The API and its behaviour follow `tokio::sync::broadcast`, except that the ring holds
//! exactly `capacity` values (tokio rounds it up to a power of two), and there are no weak
//! senders, `Sender::closed` or `blocking_recv`.
//!
//! # How it works
//!
//! There is no `unsafe` here: everything shared is behind a lock. The halves share one
//! allocation, `Shared`, holding
//!
//! - `buffer`: `capacity` slots, each its own `Mutex<Slot>`. The value sent at *position*
//!   `pos` (the sends are numbered 0, 1, 2, ...) lives in slot `pos % capacity`, together
//!   with `pos` itself and `rem`, how many receivers still have to read it.
//! - `tail`: one `Mutex<Tail>` with the next position to send, the number of receivers,
//!   whether the channel is closed, and a slab with every receiver's `Waiter`. Only
//!   senders, and receivers coming, going or lagging, take it.
//! - `sent`: `pos << 1 | CLOSED`, an atomic: the next position to send, published once the
//!   slot below it is written, and whether the channel is closed. It and `tail` each have
//!   cache lines of their own.
//! - `num_tx`: the number of senders, an atomic; the last one to go closes the channel.
//!
//! Each receiver keeps `next`, the position of the next value it wants, and shares its
//! `Waiter` (a flag and an `AtomicWaker`, on a cache line of their own) with the slab.
//!
//! **Locks.** The lock order is `tail`, then a slot; no code holds two slots at once. A
//! send takes `tail`, claims the position `tail.pos`, writes its slot and then publishes
//! `sent`, so positions are handed out and written in one order. A receiver with
//! `next < sent` has a value: it takes only that slot's lock, and finds the value there
//! (`slot.pos == next`) unless it was overwritten. Receivers reading different slots never
//! meet, and a receiver takes `tail` only when it lagged: then the oldest position held is
//! `tail.pos - capacity` (under `tail`, no send is half done), and it skips to it. No value
//! is cloned or dropped and no task is woken under `tail`. A value's `clone` runs under its
//! slot's lock alone, before anything is updated, so a panicking `clone` leaves the channel
//! as it was (locks ignore poisoning).
//!
//! **Waiting costs no lock.** A receiver that finds `next == sent` registers its waker in
//! its own `Waiter`, raises the `waiting` flag, and loads `sent` again; a send publishes
//! `sent` and then lowers every receiver's flag with a swap. Both sides change the flag
//! with a read-modify-write (acquire-release), so one of them reads the other's: if the
//! send's swap comes first, the receiver's swap reads it and so sees the new `sent` (and
//! reads instead of sleeping); otherwise the send's swap reads the raised flag, and it
//! takes the waker out (`AtomicWaker::take_waker`) to wake it after unlocking `tail`
//! (in batches of `WAKE_BATCH`, 32). Closing works the same way through the `CLOSED` bit.
//! So receivers that keep up share no lock with each other or with the sender; a send
//! costs one swap per receiver (tokio's list costs one step per waiting receiver instead,
//! but every receiver locks the tail to join it).
//!
//! The slab gives each receiver a fixed index until it is dropped, so a send that unlocks
//! `tail` between batches resumes its scan where it stopped: receivers that joined
//! meanwhile start at a later position and need no wake-up from it.
//!
//! **Values are released early.** A send sets `rem` to the number of receivers. Each
//! receiver that reads the value decrements it; the last one moves the value out instead of
//! cloning it, so the ring keeps nothing nobody needs. A dropped receiver decrements `rem`
//! for every position it had not read yet (those still held: overwritten ones went with
//! the overwrite). A receiver that lags skips only positions that were already overwritten,
//! so the count stays exact. What is left goes with `Shared`.
//!
//! **Cancellation.** `recv` takes nothing from the channel until it returns `Ready`, so
//! dropping a pending `recv` loses no value. The dropped future lowers its flag and drops
//! the registered waker, so no stale waker keeps a finished task alive.

use crate::sync::wake_batch::WakeBatch;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker, ready};

use crate::loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Mutex, MutexGuard};
use crate::scheduler::coop;
use crate::sync::atomic_waker::AtomicWaker;
use crate::sync::cache_padded::CachePadded;

/// How many wakers a send takes out of the receivers' `Waiter`s before it unlocks `tail` to
/// wake them.
const WAKE_BATCH: usize = 32;

/// `Shared::sent`: the channel is closed. The position is shifted left past it.
const CLOSED: u64 = 1;

/// `Slot::pos` of a slot nothing was written to yet: no receiver ever wants it.
const NEVER: u64 = u64::MAX;

/// Creates a broadcast channel holding up to `capacity` values: a sender and a first
/// receiver.
///
/// Every receiver sees every value sent while it exists; more receivers come from
/// [`Sender::subscribe`] and [`Receiver::resubscribe`]. Once `capacity` values are buffered,
/// each send overwrites the oldest, and a receiver that had not read it yet gets
/// [`RecvError::Lagged`]. The ring of `capacity` slots is allocated here, once.
///
/// # Panics
///
/// If `capacity` is 0, or greater than `usize::MAX / 2`.
///
/// # Examples
///
/// ```
/// use corio::sync::broadcast::{self, RecvError};
///
/// corio::run(async {
///     let (tx, mut rx) = broadcast::channel(2);
///     for n in 1..=3 {
///         tx.send(n).unwrap();
///     }
///     // The ring holds the last two values: 1 was overwritten before `rx` read it.
///     assert_eq!(rx.recv().await, Err(RecvError::Lagged(1)));
///     assert_eq!(rx.recv().await, Ok(2));
///     assert_eq!(rx.recv().await, Ok(3));
///
///     drop(tx);
///     assert_eq!(rx.recv().await, Err(RecvError::Closed));
/// });
/// ```
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel capacity cannot be zero");
    assert!(
        capacity <= usize::MAX >> 1,
        "broadcast channel capacity exceeds `usize::MAX / 2`"
    );
    let buffer = (0..capacity)
        .map(|_| {
            Mutex::new(Slot {
                pos: NEVER,
                rem: 0,
                value: None,
            })
        })
        .collect();
    let shared = Arc::new(Shared {
        buffer,
        tail: CachePadded(Mutex::new(Tail {
            pos: 0,
            rx_cnt: 0,
            closed: false,
            receivers: Vec::new(),
            free: Vec::new(),
        })),
        sent: CachePadded(AtomicU64::new(0)),
        num_tx: AtomicUsize::new(1),
    });
    let rx = Receiver::new(shared.clone());
    (Sender { shared }, rx)
}

/// The sending half of a broadcast [`channel`]. Clone it for more senders.
///
/// Once every sender has been dropped, receivers get [`RecvError::Closed`] after the values
/// still buffered for them.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half of a broadcast [`channel`]: gets a clone of every value sent while it
/// exists, in order.
///
/// Get more with [`Sender::subscribe`] or [`Receiver::resubscribe`]. Dropping a receiver
/// releases the values it had not read yet.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The position of the next value this receiver wants.
    next: u64,
    /// Where this receiver waits; shared with `Tail::receivers`.
    waiter: Arc<CachePadded<Waiter>>,
    /// This receiver's index in `Tail::receivers`.
    id: usize,
}

/// The allocation all halves share; see the module docs.
struct Shared<T> {
    /// The ring: the value sent at position `pos` lives in slot `pos % capacity`.
    buffer: Box<[Mutex<Slot<T>>]>,
    /// Lock this before any slot.
    tail: CachePadded<Mutex<Tail>>,
    /// `Tail::pos << 1 | CLOSED`, published once the slot below `pos` is written: a
    /// receiver whose `next` is below it has a value (or has lagged) without locking `tail`.
    sent: CachePadded<AtomicU64>,
    /// Live senders; the one that brings it to zero closes the channel.
    num_tx: AtomicUsize,
}

/// One place in the ring.
struct Slot<T> {
    /// The position of the value written here last, or [`NEVER`].
    pos: u64,
    /// How many receivers have yet to read `value`; at 0 it is `None`.
    rem: usize,
    /// The value sent at `pos`, until every receiver has read it or it is overwritten.
    value: Option<T>,
}

/// The sending end of the ring, and who may wait on it.
struct Tail {
    /// The position the next send will claim; the ring holds `pos - capacity..pos`.
    pos: u64,
    /// Live receivers: how many will have to read the next value.
    rx_cnt: usize,
    /// Every sender has been dropped.
    closed: bool,
    /// Every live receiver's `Waiter`, at the index the receiver keeps; `None` is free.
    receivers: Vec<Option<Arc<CachePadded<Waiter>>>>,
    /// The free indices of `receivers`.
    free: Vec<usize>,
}

/// Where one receiver waits for a send.
struct Waiter {
    /// Raised by the receiver once its waker is registered and it is about to sleep;
    /// lowered by the send that wakes it (or by the receiver, if it stops waiting).
    waiting: AtomicBool,
    /// The waiting task.
    waker: AtomicWaker,
}

impl Tail {
    /// Adds a receiver's `Waiter`, returning its index.
    fn insert(&mut self, waiter: Arc<CachePadded<Waiter>>) -> usize {
        match self.free.pop() {
            Some(id) => {
                self.receivers[id] = Some(waiter);
                id
            }
            None => {
                self.receivers.push(Some(waiter));
                self.receivers.len() - 1
            }
        }
    }

    /// Frees a dropped receiver's index.
    fn remove(&mut self, id: usize) {
        self.receivers[id] = None;
        self.free.push(id);
    }
}

/// Locks `mutex`, ignoring poisoning: no panic can leave the state behind these locks
/// inconsistent (user code runs only before anything is updated).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Shared<T> {
    /// The slot the value at `pos` lives in.
    #[inline]
    fn slot(&self, pos: u64) -> &Mutex<Slot<T>> {
        let cap = self.buffer.len() as u64;
        let index = if cap.is_power_of_two() {
            pos & (cap - 1)
        } else {
            pos % cap
        };
        &self.buffer[index as usize]
    }

    fn capacity(&self) -> u64 {
        self.buffer.len() as u64
    }

    /// Wakes every receiver whose `waiting` flag is raised, unlocking `tail`. Call after
    /// publishing `sent` (see the module docs).
    fn wake_waiters<'a>(&'a self, mut tail: MutexGuard<'a, Tail>) {
        let mut index = 0;
        loop {
            let mut batch = WakeBatch::<WAKE_BATCH>::new();
            while index < tail.receivers.len() && !batch.is_full() {
                if let Some(waiter) = &tail.receivers[index] {
                    // A swap even when the flag is down: a plain load could miss a flag
                    // raised just now, while a swap either sees it or is seen (module docs).
                    if waiter.waiting.swap(false, Ordering::AcqRel)
                        && let Some(waker) = waiter.waker.take_waker()
                    {
                        batch.push(waker);
                    }
                }
                index += 1;
            }
            let more = index < tail.receivers.len();
            drop(tail);
            batch.wake_all();
            if !more {
                return;
            }
            tail = lock(&self.tail);
        }
    }
}

/// The error [`Sender::send`] returns when there is no receiver: the value, handed back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed: no receiver")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Receiver::recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender has been dropped and every value buffered for this receiver was read.
    Closed,
    /// This receiver fell behind: this many values were overwritten before it read them.
    /// The next receive returns the oldest value still held.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("channel closed"),
            RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
        }
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No new value yet; one may still be sent.
    Empty,
    /// Every sender has been dropped and every value buffered for this receiver was read.
    Closed,
    /// This receiver fell behind: this many values were overwritten before it read them.
    /// The next receive returns the oldest value still held.
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("channel empty"),
            TryRecvError::Closed => f.write_str("channel closed"),
            TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver, waking those that wait.
    ///
    /// Returns how many receivers the value was sent to. Fails, handing `value` back, if
    /// there are none; a later [`subscribe`](Sender::subscribe) makes sends succeed again.
    /// Never waits: if the ring is full, the oldest value is overwritten. Success does not
    /// mean a receiver will read the value: it may be dropped first, or lag past it.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let shared = &*self.shared;
        let mut tail = lock(&shared.tail);
        let rx_cnt = tail.rx_cnt;
        if rx_cnt == 0 {
            return Err(SendError(value));
        }
        let pos = tail.pos;
        tail.pos += 1;
        let overwritten = {
            let mut slot = lock(shared.slot(pos));
            slot.pos = pos;
            slot.rem = rx_cnt;
            slot.value.replace(value)
        };
        // After the slot's unlock: whoever sees `pos + 1` here and then locks the slot
        // finds the value.
        shared.sent.store(tail.pos << 1, Ordering::Release);
        shared.wake_waiters(tail);
        // Dropped with no lock held: its `Drop` may do anything.
        drop(overwritten);
        Ok(rx_cnt)
    }

    /// Creates a receiver that gets every value sent after this call (none sent before).
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver::new(self.shared.clone())
    }

    /// How many values are buffered: sent, and not yet read by every receiver that existed
    /// when it was sent (nor overwritten).
    pub fn len(&self) -> usize {
        let shared = &*self.shared;
        let tail = lock(&shared.tail);
        // Whether a slot is still needed goes from "no" to "yes" along the ring, from the
        // oldest position to the newest: a receiver that still needs one value needs every
        // later one too. So binary-search for the first one still needed.
        let oldest = tail.pos;
        let (mut low, mut high) = (0, shared.capacity());
        while low < high {
            let mid = low + (high - low) / 2;
            if lock(shared.slot(oldest + mid)).rem == 0 {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        (shared.capacity() - low) as usize
    }

    /// True if no value is buffered; see [`len`](Sender::len).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many receivers there are: how many a [`send`](Sender::send) would reach now.
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.tail).rx_cnt
    }

    /// True if `self` and `other` send on the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.num_tx.fetch_add(1, Ordering::Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.num_tx.fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut tail = lock(&self.shared.tail);
            tail.closed = true;
            self.shared.sent.fetch_or(CLOSED, Ordering::Release);
            self.shared.wake_waiters(tail);
        }
    }
}

impl<T> Receiver<T> {
    /// A receiver that starts at the current tail: it gets only values sent from now on.
    fn new(shared: Arc<Shared<T>>) -> Receiver<T> {
        let mut tail = lock(&shared.tail);
        tail.rx_cnt = tail
            .rx_cnt
            .checked_add(1)
            .expect("too many broadcast receivers");
        let waiter = Arc::new(CachePadded(Waiter {
            waiting: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }));
        let id = tail.insert(waiter.clone());
        let next = tail.pos;
        drop(tail);
        Receiver {
            shared,
            next,
            waiter,
            id,
        }
    }

    /// Creates a receiver of the same channel that gets every value sent after this call,
    /// but none of those this receiver has not read yet.
    pub fn resubscribe(&self) -> Receiver<T> {
        Receiver::new(self.shared.clone())
    }

    /// How many values this receiver has yet to read: those sent since its last read,
    /// including any already overwritten.
    pub fn len(&self) -> usize {
        ((self.shared.sent.load(Ordering::Acquire) >> 1) - self.next) as usize
    }

    /// True if this receiver has read every value sent so far.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once every sender has been dropped. Values may still be buffered for this
    /// receiver: it gets them before [`RecvError::Closed`].
    pub fn is_closed(&self) -> bool {
        self.shared.num_tx.load(Ordering::Acquire) == 0
    }

    /// True if `self` and `other` receive from the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Stops waiting: lowers the flag and drops the registered waker.
    fn cancel_wait(&self) {
        self.waiter.waiting.swap(false, Ordering::AcqRel);
        drop(self.waiter.waker.take());
    }
}

impl<T: Clone> Receiver<T> {
    /// Receives the next value, waiting for it if need be.
    ///
    /// Returns [`RecvError::Lagged`]`(n)` if `n` values this receiver had not read yet were
    /// overwritten; the next call returns the oldest value still held. Returns
    /// [`RecvError::Closed`] once every sender has been dropped and every value buffered
    /// for this receiver was read.
    ///
    /// Cancellation-safe: dropping the future before it completes loses no value; the next
    /// call gets it.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        Recv {
            receiver: self,
            waiting: false,
        }
        .await
    }

    /// Receives the next value if there is one, without waiting.
    ///
    /// [`TryRecvError::Empty`] if none was sent yet; otherwise as for
    /// [`recv`](Receiver::recv).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.recv_inner(None)
    }

    /// The next value, or why there is none; registers `waker` if it is `Empty`.
    fn recv_inner(&mut self, waker: Option<&Waker>) -> Result<T, TryRecvError> {
        let mut registered = false;
        loop {
            let sent = self.shared.sent.load(Ordering::Acquire);
            if self.next < sent >> 1 {
                if registered {
                    // A send came in as we registered: no need to wait after all.
                    self.cancel_wait();
                }
                // Sent: the slot holds it, unless it was overwritten since.
                let slot = lock(self.shared.slot(self.next));
                if slot.pos == self.next {
                    return Ok(read(slot, &mut self.next));
                }
                drop(slot);
                return Err(TryRecvError::Lagged(self.skip_overwritten()));
            }
            if sent & CLOSED != 0 {
                if registered {
                    self.cancel_wait();
                }
                return Err(TryRecvError::Closed);
            }
            match waker {
                Some(waker) if !registered => {
                    // Register, raise the flag, then look at `sent` again (module docs).
                    self.waiter.waker.register(waker);
                    // A swap (see `wake_waiters`), before looking at `sent` again.
                    self.waiter.waiting.swap(true, Ordering::AcqRel);
                    registered = true;
                }
                _ => return Err(TryRecvError::Empty),
            }
        }
    }

    /// Moves `next` past the values overwritten before this receiver read them, to the
    /// oldest one held; returns how many it skipped.
    fn skip_overwritten(&mut self) -> u64 {
        // `next` was sent but its slot has been written again since, so `tail.pos > next +
        // capacity`. Under `tail` no send is half done: everything below `tail.pos -
        // capacity` was overwritten, so there is no `rem` to give back.
        let oldest = lock(&self.shared.tail).pos - self.shared.capacity();
        debug_assert!(oldest > self.next);
        let missed = oldest - self.next;
        self.next = oldest;
        missed
    }
}

/// Reads the value at `*next` from its locked slot and advances `*next`, moving the value
/// out if this is the last receiver that needs it.
fn read<T: Clone>(mut slot: MutexGuard<'_, Slot<T>>, next: &mut u64) -> T {
    debug_assert_eq!(slot.pos, *next);
    // Clone (or take) before updating anything: a panicking `clone` changes nothing.
    let value = if slot.rem == 1 {
        slot.value.take()
    } else {
        slot.value.clone()
    };
    let value = value.expect("a value stays in its slot until every receiver read it");
    slot.rem -= 1;
    drop(slot);
    *next += 1;
    value
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        let until = {
            let mut tail = lock(&shared.tail);
            tail.rx_cnt -= 1;
            tail.remove(self.id);
            tail.pos
        };
        // A waker left registered would keep its task alive as long as the channel.
        drop(self.waiter.waker.take());
        // Give back this receiver's share of every value it had not read yet, so they are
        // dropped as soon as every other receiver has read them. Values sent from here on
        // do not count this receiver; those older than the ring were overwritten.
        let start = self.next.max(until.saturating_sub(shared.capacity()));
        for pos in start..until {
            let mut slot = lock(shared.slot(pos));
            if slot.pos != pos {
                continue; // overwritten meanwhile
            }
            slot.rem -= 1;
            let released = if slot.rem == 0 {
                slot.value.take()
            } else {
                None
            };
            drop(slot);
            drop(released);
        }
    }
}

/// The future of [`Receiver::recv`].
struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
    /// The last poll registered the waker: dropping must unregister it.
    waiting: bool,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        let result = match this.receiver.recv_inner(Some(cx.waker())) {
            Ok(value) => Ok(value),
            Err(TryRecvError::Empty) => {
                this.waiting = true;
                return Poll::Pending;
            }
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
        };
        if this.waiting && this.receiver.waiter.waiting.load(Ordering::Relaxed) {
            // Polled again before a send woke us (a spurious wake): stop waiting, so no
            // later send wakes this task for nothing.
            this.receiver.cancel_wait();
        }
        this.waiting = false;
        coop.made_progress();
        Poll::Ready(result)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if self.waiting {
            self.receiver.cancel_wait();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.shared.buffer.len())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.shared.buffer.len())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, DropCounter, Tracked, block_on, spend_budget_but_one};
    use std::sync::Arc as StdArc;

    /// A cloneable value whose last clone counts a drop.
    fn tracked(counter: &DropCounter) -> StdArc<Tracked> {
        StdArc::new(counter.tracked())
    }

    /// Polls one `recv` of `rx` with `waker`, dropping the future afterwards.
    fn poll_recv<T: Clone>(rx: &mut Receiver<T>, waker: &Waker) -> Poll<Result<T, RecvError>> {
        let mut fut = std::pin::pin!(rx.recv());
        fut.as_mut().poll(&mut Context::from_waker(waker))
    }

    /// How many receiver slots the slab has grown to.
    fn entries<T>(tx: &Sender<T>) -> usize {
        lock(&tx.shared.tail).receivers.len()
    }

    /// How many receivers have their `waiting` flag raised.
    fn waiting_count<T>(tx: &Sender<T>) -> usize {
        let tail = lock(&tx.shared.tail);
        tail.receivers
            .iter()
            .flatten()
            .filter(|waiter| waiter.waiting.load(Ordering::SeqCst))
            .count()
    }

    #[test]
    fn every_receiver_gets_every_value_in_order() {
        let (tx, mut rx1) = channel(8);
        let mut rx2 = tx.subscribe();
        for n in 0..5 {
            assert_eq!(tx.send(n), Ok(2));
        }
        for n in 0..5 {
            assert_eq!(rx1.try_recv(), Ok(n));
        }
        assert_eq!(rx1.try_recv(), Err(TryRecvError::Empty));
        for n in 0..5 {
            assert_eq!(rx2.try_recv(), Ok(n));
        }
        assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    #[should_panic(expected = "capacity cannot be zero")]
    fn zero_capacity_panics() {
        let _ = channel::<u8>(0);
    }

    #[test]
    fn lag_is_exact_for_any_capacity() {
        for cap in 1..=9u64 {
            for sent in 0..30u64 {
                let (tx, mut rx) = channel(cap as usize);
                for n in 0..sent {
                    tx.send(n).unwrap();
                }
                assert_eq!(rx.len() as u64, sent);
                let mut first = 0;
                if sent > cap {
                    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(sent - cap)));
                    first = sent - cap;
                }
                for n in first..sent {
                    assert_eq!(rx.try_recv(), Ok(n), "cap {cap}, sent {sent}");
                }
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
                assert!(rx.is_empty());
            }
        }
    }

    #[test]
    fn lag_after_partial_reads() {
        let (tx, mut rx) = channel(3);
        for n in 0..3 {
            tx.send(n).unwrap();
        }
        assert_eq!(rx.try_recv(), Ok(0));
        for n in 3..8 {
            tx.send(n).unwrap();
        }
        // Holds 5, 6, 7: 1 to 4 were missed.
        assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(4)));
        assert_eq!(rx.try_recv(), Ok(5));
        tx.send(8).unwrap();
        assert_eq!(rx.try_recv(), Ok(6));
        assert_eq!(rx.try_recv(), Ok(7));
        assert_eq!(rx.try_recv(), Ok(8));
    }

    #[test]
    fn closed_only_after_draining() {
        let (tx, mut rx) = channel(4);
        let tx2 = tx.clone();
        tx.send(1).unwrap();
        tx2.send(2).unwrap();
        drop(tx);
        assert!(!rx.is_closed());
        assert_eq!(rx.try_recv(), Ok(1));
        drop(tx2);
        assert!(rx.is_closed());
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(
            poll_recv(&mut rx, Waker::noop()),
            Poll::Ready(Err(RecvError::Closed))
        );
        // A receiver made after the close sees it at once.
        let mut late = rx.resubscribe();
        assert_eq!(late.try_recv(), Err(TryRecvError::Closed));
    }

    #[test]
    fn lagged_then_closed() {
        let (tx, mut rx) = channel(1);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(1)));
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }

    #[test]
    fn send_without_receivers_returns_the_value() {
        let (tx, rx) = channel(2);
        drop(rx);
        assert_eq!(tx.receiver_count(), 0);
        let err = tx.send(String::from("back")).unwrap_err();
        assert_eq!(err.0, "back");
        let mut rx = tx.subscribe();
        assert_eq!(tx.send(String::from("there")), Ok(1));
        assert_eq!(rx.try_recv().as_deref(), Ok("there"));
    }

    #[test]
    fn subscribers_see_only_later_values() {
        let (tx, mut rx) = channel(4);
        tx.send(1).unwrap();
        let mut sub = tx.subscribe();
        let mut resub = rx.resubscribe();
        assert_eq!(sub.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(resub.try_recv(), Err(TryRecvError::Empty));
        tx.send(2).unwrap();
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(sub.try_recv(), Ok(2));
        assert_eq!(resub.try_recv(), Ok(2));
        assert!(sub.same_channel(&resub));
        assert!(tx.same_channel(&tx.clone()));
        let (other, _other_rx) = channel::<i32>(1);
        assert!(!tx.same_channel(&other));
    }

    #[test]
    fn send_wakes_only_the_receivers_that_wait() {
        let (tx, mut waiting_rx) = channel(4);
        let mut idle_rx = tx.subscribe();
        let (waiting, waiting_waker) = CountingWaker::new();
        let (idle, idle_waker) = CountingWaker::new();

        let mut fut = Box::pin(waiting_rx.recv());
        let mut cx = Context::from_waker(&waiting_waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert!(
            fut.as_mut().poll(&mut cx).is_pending(),
            "same waker, still pending"
        );
        assert_eq!(waiting_count(&tx), 1);

        tx.send(7).unwrap();
        assert_eq!(waiting.wakes(), 1);
        assert_eq!(idle.wakes(), 0);
        assert_eq!(waiting_count(&tx), 0);
        assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(Ok(7)));
        drop(fut);

        // A second send wakes nobody: nobody waits.
        tx.send(8).unwrap();
        assert_eq!(waiting.wakes(), 1);
        assert_eq!(poll_recv(&mut idle_rx, &idle_waker), Poll::Ready(Ok(7)));
        assert_eq!(idle.wakes(), 0);
    }

    #[test]
    fn replaced_waker_is_the_one_woken() {
        let (tx, mut rx) = channel(1);
        let (first, first_waker) = CountingWaker::new();
        let (second, second_waker) = CountingWaker::new();
        let mut fut = Box::pin(rx.recv());
        assert!(
            fut.as_mut()
                .poll(&mut Context::from_waker(&first_waker))
                .is_pending()
        );
        assert!(
            fut.as_mut()
                .poll(&mut Context::from_waker(&second_waker))
                .is_pending()
        );
        tx.send(()).unwrap();
        assert_eq!(first.wakes(), 0);
        assert_eq!(second.wakes(), 1);
        // The first waker was released when it was replaced.
        assert_eq!(StdArc::strong_count(&first), 2);
    }

    #[test]
    fn dropped_pending_recv_releases_its_waker_and_loses_nothing() {
        let (tx, mut rx) = channel(2);
        let (counter, waker) = CountingWaker::new();
        assert!(poll_recv(&mut rx, &waker).is_pending());
        assert_eq!(StdArc::strong_count(&counter), 2, "only ours and `waker`");
        assert_eq!(waiting_count(&tx), 0);
        tx.send(5).unwrap();
        assert_eq!(counter.wakes(), 0, "nobody waits any more");
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Ok(5)));
    }

    #[test]
    fn close_wakes_every_waiter() {
        let (tx, rx) = channel::<u8>(1);
        let (counter, waker) = CountingWaker::new();
        let mut receivers: Vec<_> = (0..3).map(|_| rx.resubscribe()).collect();
        let mut futs: Vec<_> = receivers.iter_mut().map(|rx| Box::pin(rx.recv())).collect();
        for fut in &mut futs {
            assert!(
                fut.as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
        }
        drop(tx);
        assert_eq!(counter.wakes(), 3);
        for fut in &mut futs {
            let got = fut.as_mut().poll(&mut Context::from_waker(&waker));
            assert_eq!(got, Poll::Ready(Err(RecvError::Closed)));
        }
    }

    #[test]
    fn more_waiters_than_a_batch_are_all_woken() {
        let n = WAKE_BATCH * 3 + 5;
        let (tx, rx) = channel(1);
        let (counter, waker) = CountingWaker::new();
        let mut receivers: Vec<_> = (0..n).map(|_| rx.resubscribe()).collect();
        let mut futs: Vec<_> = receivers.iter_mut().map(|rx| Box::pin(rx.recv())).collect();
        for fut in &mut futs {
            assert!(
                fut.as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
        }
        assert_eq!(waiting_count(&tx), n);
        assert_eq!(tx.send(1), Ok(n + 1));
        assert_eq!(counter.wakes(), n);
        assert_eq!(waiting_count(&tx), 0);
        for fut in &mut futs {
            assert_eq!(
                fut.as_mut().poll(&mut Context::from_waker(&waker)),
                Poll::Ready(Ok(1))
            );
        }
        drop(futs);
        drop(receivers);
        assert_eq!(
            StdArc::strong_count(&counter),
            2,
            "every waker was released"
        );
    }

    #[test]
    fn spuriously_woken_recv_that_finds_a_value_stops_waiting() {
        let (tx, mut rx) = channel(4);
        let (counter, waker) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut fut = Box::pin(rx.recv());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!(waiting_count(&tx), 1);
        // Publish a value without the send's wake-up pass, so our flag is still up when we
        // poll again (as when something else woke the task in that window).
        {
            let mut tail = lock(&tx.shared.tail);
            let pos = tail.pos;
            tail.pos += 1;
            let mut slot = lock(tx.shared.slot(pos));
            slot.pos = pos;
            slot.rem = tail.rx_cnt;
            slot.value = Some(9);
            drop(slot);
            tx.shared.sent.store(tail.pos << 1, Ordering::SeqCst);
        }
        assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(Ok(9)));
        assert_eq!(waiting_count(&tx), 0, "the flag went down with the value");
        drop(fut);
        assert_eq!(StdArc::strong_count(&counter), 2, "the waker was released");
        tx.send(10).unwrap();
        assert_eq!(
            counter.wakes(),
            0,
            "no wake-up for a receiver that does not wait"
        );
    }

    #[test]
    fn the_send_that_wakes_a_receiver_lowers_its_flag() {
        // (The send racing the registration itself is a loom model.)
        let (tx, mut rx) = channel(2);
        let (_counter, waker) = CountingWaker::new();
        tx.send(1).unwrap();
        assert_eq!(rx.recv_inner(Some(&waker)), Ok(1));
        assert_eq!(rx.recv_inner(Some(&waker)), Err(TryRecvError::Empty));
        assert_eq!(waiting_count(&tx), 1);
        tx.send(2).unwrap();
        assert_eq!(waiting_count(&tx), 0, "the send lowered it");
        assert_eq!(rx.recv_inner(Some(&waker)), Ok(2));
    }

    #[test]
    fn waiter_entries_are_reused() {
        let (tx, rx) = channel::<u8>(1);
        for _ in 0..100 {
            let a = tx.subscribe();
            let b = rx.resubscribe();
            drop((a, b));
        }
        assert_eq!(entries(&tx), 3, "rx plus two at a time");
        assert_eq!(tx.receiver_count(), 1);
    }

    #[test]
    fn values_drop_once_every_receiver_read_them() {
        let counter = DropCounter::new();
        let (tx, mut rx1) = channel(4);
        let mut rx2 = tx.subscribe();
        tx.send(tracked(&counter)).unwrap();
        let a = rx1.try_recv().unwrap();
        drop(a);
        assert_eq!(counter.get(), 0, "rx2 still needs it");
        let b = rx2.try_recv().unwrap();
        assert_eq!(counter.get(), 0, "moved out to rx2, not dropped");
        drop(b);
        assert_eq!(counter.get(), 1, "the ring kept no copy");
        assert!(tx.is_empty());
    }

    #[test]
    fn overwritten_values_drop() {
        let counter = DropCounter::new();
        let (tx, rx) = channel(2);
        for _ in 0..5 {
            tx.send(tracked(&counter)).unwrap();
        }
        assert_eq!(counter.get(), 3);
        drop(tx);
        assert_eq!(counter.get(), 3, "the receiver may still read two");
        drop(rx);
        assert_eq!(counter.get(), 5);
    }

    #[test]
    fn dropped_receiver_releases_its_share() {
        let counter = DropCounter::new();
        let (tx, mut rx1) = channel(8);
        let rx2 = tx.subscribe();
        for _ in 0..3 {
            tx.send(tracked(&counter)).unwrap();
        }
        drop(rx1.try_recv().unwrap());
        assert_eq!(counter.get(), 0);
        drop(rx2);
        assert_eq!(counter.get(), 1, "the value rx1 read is no longer needed");
        assert_eq!(tx.len(), 2);
        drop(rx1);
        assert_eq!(counter.get(), 3);
        assert!(tx.is_empty());
    }

    #[test]
    fn lagged_receiver_drop_keeps_counts_exact() {
        let counter = DropCounter::new();
        let (tx, mut fast) = channel(3);
        let slow = tx.subscribe();
        for _ in 0..7 {
            tx.send(tracked(&counter)).unwrap();
            drop(fast.try_recv().unwrap());
        }
        // `slow` lags; the ring holds the last three for it.
        assert_eq!(counter.get(), 4);
        assert_eq!(tx.len(), 3);
        drop(slow);
        assert_eq!(counter.get(), 7);
        assert_eq!(tx.len(), 0);
    }

    #[test]
    fn sender_len_counts_values_someone_still_needs() {
        let (tx, mut rx1) = channel(5);
        assert!(tx.is_empty());
        let mut rx2 = tx.subscribe();
        for n in 0..3 {
            tx.send(n).unwrap();
        }
        assert_eq!(tx.len(), 3);
        rx1.try_recv().unwrap();
        assert_eq!(tx.len(), 3);
        rx2.try_recv().unwrap();
        assert_eq!(tx.len(), 2);
        for n in 3..9 {
            tx.send(n).unwrap();
        }
        assert_eq!(tx.len(), 5, "full");
        assert_eq!(rx1.try_recv(), Err(TryRecvError::Lagged(3)));
        assert_eq!(rx2.try_recv(), Err(TryRecvError::Lagged(3)));
        for n in 4..9 {
            assert_eq!(tx.len(), 9 - n);
            assert_eq!(rx1.try_recv(), Ok(n));
            assert_eq!(rx2.try_recv(), Ok(n));
        }
        assert_eq!(tx.len(), 0);
        assert_eq!(rx1.len(), 0);
    }

    #[test]
    fn panicking_clone_leaves_the_channel_usable() {
        #[derive(Debug, PartialEq)]
        struct Fragile(u32);
        impl Clone for Fragile {
            fn clone(&self) -> Fragile {
                assert!(self.0 != 13, "unlucky");
                Fragile(self.0)
            }
        }
        let (tx, mut rx1) = channel(4);
        let mut rx2 = tx.subscribe();
        tx.send(Fragile(13)).unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rx1.try_recv()));
        assert!(caught.is_err());
        assert_eq!(rx1.len(), 1, "the failed read consumed nothing");
        tx.send(Fragile(1)).unwrap();
        drop(rx1);
        // rx2 is now the last reader of 13: it is moved out, not cloned.
        assert_eq!(rx2.try_recv(), Ok(Fragile(13)));
        assert_eq!(rx2.try_recv(), Ok(Fragile(1)));
        assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn ready_recv_spends_budget() {
        coop::budget(|| {
            let (counter, waker) = CountingWaker::new();
            let mut cx = Context::from_waker(&waker);
            spend_budget_but_one(&mut cx);
            let (tx, mut rx) = channel(4);
            assert!(poll_recv(&mut rx, &waker).is_pending());
            assert!(coop::has_budget_remaining(), "Pending refunds the unit");
            tx.send(1).unwrap();
            tx.send(2).unwrap();
            assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Ok(1)));
            assert!(!coop::has_budget_remaining());
            assert!(poll_recv(&mut rx, &waker).is_pending(), "out of budget");
            assert_eq!(counter.wakes(), 1, "asked to be polled again");
            assert_eq!(rx.try_recv(), Ok(2), "the value is still there");
        });
    }

    #[test]
    fn halves_are_send_and_sync() {
        fn is_send_sync<T: Send + Sync>() {}
        is_send_sync::<Sender<std::cell::Cell<u8>>>();
        is_send_sync::<Receiver<std::cell::Cell<u8>>>();
        is_send_sync::<SendError<u8>>();
        is_send_sync::<RecvError>();
        is_send_sync::<TryRecvError>();
    }

    #[test]
    fn across_threads() {
        let rounds = if cfg!(miri) { 20 } else { 500 };
        let (tx, rx) = channel(4);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let mut rx = rx.resubscribe();
                std::thread::spawn(move || {
                    let mut expected = 0;
                    loop {
                        match block_on(rx.recv()) {
                            Ok(n) => {
                                assert_eq!(n, expected);
                                expected += 1;
                            }
                            Err(RecvError::Lagged(missed)) => expected += missed,
                            Err(RecvError::Closed) => return expected,
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        for n in 0..rounds {
            tx.send(n).unwrap();
            if n % 3 == 0 {
                std::thread::yield_now();
            }
        }
        drop(tx);
        for thread in threads {
            assert_eq!(thread.join().unwrap(), rounds);
        }
    }

    #[test]
    fn debug_and_display() {
        let (tx, rx) = channel::<u8>(3);
        assert_eq!(format!("{tx:?}"), "Sender { capacity: 3, .. }");
        assert_eq!(
            format!("{rx:?}"),
            "Receiver { capacity: 3, closed: false, .. }"
        );
        struct NoDebug;
        assert_eq!(format!("{:?}", SendError(NoDebug)), "SendError { .. }");
        assert!(SendError(()).to_string().contains("closed"));
        assert_eq!(RecvError::Lagged(3).to_string(), "channel lagged by 3");
        assert_eq!(RecvError::Closed.to_string(), "channel closed");
        assert_eq!(TryRecvError::Empty.to_string(), "channel empty");
        assert_eq!(TryRecvError::Lagged(1).to_string(), "channel lagged by 1");
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model-checked races (`RUSTFLAGS="--cfg loom" cargo test --release --lib loom`).
    //!
    //! loom's `block_on` sleeps on `Pending` and only resumes on a wake-up, so a lost
    //! wake-up shows up as a deadlock that loom reports. (It sleeps on its own notifier: a
    //! late, spurious wake-up, which a receiver may get, does not disturb `join`.)
    use super::*;
    use loom::future::block_on;
    use loom::thread;

    /// Explores every interleaving with up to 3 preemptions (unless `LOOM_MAX_PREEMPTIONS`
    /// says otherwise): unbounded, the models with three threads take many minutes.
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = builder.preemption_bound.or(Some(3));
        builder.check(f);
    }

    /// A cloneable value; dropping its last clone counts one drop.
    #[derive(Clone)]
    struct Tracked(#[allow(dead_code)] std::sync::Arc<Count>);

    struct Count(Arc<AtomicUsize>);

    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn tracked() -> (Tracked, Arc<AtomicUsize>) {
        let drops = Arc::new(AtomicUsize::new(0));
        (Tracked(std::sync::Arc::new(Count(drops.clone()))), drops)
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

    #[test]
    fn send_races_recv_registration() {
        model(|| {
            let (tx, mut rx) = channel(1);
            let sender = thread::spawn(move || {
                assert_eq!(tx.send(1), Ok(1));
                assert_eq!(tx.send(2), Ok(1));
            });
            // Either value may have been overwritten by the time we look, never both.
            match block_on(rx.recv()) {
                Ok(1) => assert_eq!(block_on(rx.recv()), Ok(2)),
                Err(RecvError::Lagged(1)) => assert_eq!(block_on(rx.recv()), Ok(2)),
                other => panic!("unexpected {other:?}"),
            }
            assert_eq!(block_on(rx.recv()), Err(RecvError::Closed));
            sender.join().unwrap();
        });
    }

    #[test]
    fn close_races_recv_registration() {
        model(|| {
            let (tx, mut rx) = channel::<u8>(1);
            let sender = thread::spawn(move || drop(tx));
            assert_eq!(block_on(rx.recv()), Err(RecvError::Closed));
            sender.join().unwrap();
        });
    }

    #[test]
    fn one_send_wakes_two_waiting_receivers() {
        model(|| {
            let (tx, mut rx1) = channel(1);
            let mut rx2 = tx.subscribe();
            let other = thread::spawn(move || block_on(rx2.recv()));
            let sender = thread::spawn(move || tx.send(7).unwrap());
            assert_eq!(block_on(rx1.recv()), Ok(7));
            assert_eq!(other.join().unwrap(), Ok(7));
            assert_eq!(sender.join().unwrap(), 2);
        });
    }

    #[test]
    fn cancelled_recv_races_send() {
        model(|| {
            let (tx, mut rx) = channel(1);
            let counter = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
            let waker = Waker::from(counter.clone());
            let sender = thread::spawn(move || {
                tx.send(3).unwrap();
                tx
            });
            let first = {
                let mut fut = std::pin::pin!(rx.recv());
                fut.as_mut().poll(&mut Context::from_waker(&waker))
            };
            let tx = sender.join().unwrap();
            match first {
                Poll::Ready(got) => assert_eq!(got, Ok(3)),
                // Cancelled: the value is still there for the next receive.
                Poll::Pending => assert_eq!(rx.try_recv(), Ok(3)),
            }
            // The waker was either woken and dropped by the send, or dropped by the
            // cancellation: nobody keeps it.
            assert_eq!(std::sync::Arc::strong_count(&counter), 2);
            drop(tx);
        });
    }

    #[test]
    fn read_races_receiver_drop() {
        model(|| {
            let (value, drops) = tracked();
            let (tx, mut rx1) = channel(2);
            let rx2 = tx.subscribe();
            tx.send(value).unwrap();
            let dropper = thread::spawn(move || drop(rx2));
            let got = rx1.try_recv().expect("sent before");
            dropper.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            drop(got);
            // The ring kept no copy, though the sender still lives.
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            drop(tx);
        });
    }

    #[test]
    fn send_races_last_receiver_drop() {
        model(|| {
            let (value, drops) = tracked();
            let (tx, rx) = channel(1);
            let sender = thread::spawn(move || {
                // On failure the value comes back and is dropped here.
                let _back = tx.send(value).err();
                tx
            });
            drop(rx);
            let tx = sender.join().unwrap();
            // Sent or not, nobody needs it any more.
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            drop(tx);
        });
    }
}
