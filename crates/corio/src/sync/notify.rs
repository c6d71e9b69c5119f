//! Wakes tasks waiting for "something happened", without carrying a value.
//!
//! A [`Notify`] has two ways to signal: [`notify_one`](Notify::notify_one) wakes one waiting
//! task, or, if none waits, stores a single *permit* that the next
//! [`notified`](Notify::notified) future takes at once, so a notification sent just before
//! the wait starts is not lost; [`notify_waiters`](Notify::notify_waiters) wakes every task
//! waiting at that moment and stores nothing. Waiters are woken first come, first served.
//!
//! ```
//! use std::sync::Arc;
//! use corio::sync::Notify;
//!
//! corio::run(async {
//!     let notify = Arc::new(Notify::new());
//!     let waiter = corio::spawn({
//!         let notify = notify.clone();
//!         async move {
//!             notify.notified().await;
//!             "notified"
//!         }
//!     });
//!     // Whether or not the waiter is already waiting, it will see this.
//!     notify.notify_one();
//!     assert_eq!(waiter.await.unwrap(), "notified");
//! });
//! ```
//!
//! # Waiting for a condition without losing a wake-up
//!
//! A `Notify` usually guards some condition kept elsewhere (a flag, a queue). Wake-ups may
//! come for a condition that no longer holds, so always check it again, in a loop. To be
//! sure a notification sent between the check and the wait still reaches this task, create
//! the [`Notified`] future and [`enable`](Notified::enable) it *before* checking: from then
//! on it receives [`notify_one`](Notify::notify_one) like any waiting future, and it receives
//! [`notify_waiters`](Notify::notify_waiters) from the moment it is created.
//!
//! ```
//! use std::pin::pin;
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use corio::sync::Notify;
//!
//! corio::run(async {
//!     let ready = Arc::new(AtomicBool::new(false));
//!     let notify = Arc::new(Notify::new());
//!
//!     let waiter = corio::spawn({
//!         let (ready, notify) = (ready.clone(), notify.clone());
//!         async move {
//!             loop {
//!                 let mut notified = pin!(notify.notified());
//!                 notified.as_mut().enable(); // registered: no notify_one can slip past
//!                 if ready.load(Ordering::Acquire) {
//!                     return;
//!                 }
//!                 notified.await;
//!             }
//!         }
//!     });
//!
//!     ready.store(true, Ordering::Release); // change the condition first,
//!     notify.notify_waiters(); // then notify
//!     waiter.await.unwrap();
//! });
//! ```
//!
//! # Cancellation
//!
//! A notification is taken only when a `Notified` future returns `Ready`. A future that
//! received a [`notify_one`](Notify::notify_one) (or a stored permit) but is dropped before
//! returning passes it on: to the next waiter, or back into the stored permit. Dropping a
//! waiting future simply leaves the queue.
//!
//! # Differences from tokio
//!
//! The API and behaviour follow `tokio::sync::Notify`, with one strengthening: in tokio a
//! permit taken by [`enable`](Notified::enable) is lost if the future is then dropped; here
//! it is passed on, as for a waiting future. [`Notified`] does not need pinning (it is
//! `Unpin`), though `enable` keeps tokio's `Pin<&mut Self>` receiver.
//!
//! # How it works
//!
//! There is no `unsafe` here. `Notify` is a state word and a locked queue of waiters.
//!
//! **The state word** holds, in its two low bits, `EMPTY`, `NOTIFIED` (a stored permit) or
//! `WAITING` (the queue is not empty), and above them the number of `notify_waiters` calls
//! so far. `WAITING` is set and cleared only with the queue locked, exactly when the queue
//! becomes non-empty or empty. When the state is not `WAITING`, `notify_one` stores the
//! permit with a compare-exchange, and a future takes a stored permit the same way: neither
//! locks. All atomics are `SeqCst`, so a caller's own writes before `notify_one` are visible
//! to the task that takes its notification.
//!
//! **The queue** is a slab of entries linked into a FIFO list by index (no pointers, no
//! allocation once the slab has grown to the largest number of simultaneous waiters). A
//! future registers by appending an entry, under the lock, after setting `WAITING` (a
//! compare-exchange that fails, and is retried, if a permit was stored meanwhile: then the
//! future takes it instead). A notifier takes entries off the front (`notify_last`: the back),
//! marks them notified and wakes their wakers after unlocking. The entry stays allocated
//! until its future sees the mark, so a dropped future knows whether it had been notified,
//! and passes a `notify_one` on.
//!
//! **`notify_waiters`** increments the call count with the queue locked. A future records
//! the count when it is created and completes as soon as it sees a different one, so it
//! receives every later `notify_waiters` even before it registers. Registered entries record
//! the count they registered under; the list is ordered by it. `notify_waiters` takes
//! entries in batches of `WAKE_BATCH`, waking each batch after unlocking, and takes only
//! entries registered before its own increment, so it never wakes a later waiter even
//! though it unlocks between batches.

use crate::sync::wake_batch::WakeBatch;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker, ready};

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::scheduler::coop;

/// The low bits of the state word: `EMPTY`, `WAITING` or `NOTIFIED`.
const STATE_MASK: usize = 0b11;
/// Nobody waits and no permit is stored.
const EMPTY: usize = 0b00;
/// The queue holds at least one waiter (so no permit is stored).
const WAITING: usize = 0b01;
/// A `notify_one` permit is stored (so the queue is empty).
const NOTIFIED: usize = 0b10;
/// One `notify_waiters` call, counted in the bits above `STATE_MASK`.
const CALL: usize = STATE_MASK + 1;

/// How many wakers `notify_waiters` takes out of the queue before it unlocks to wake them.
const WAKE_BATCH: usize = 32;

/// The end of a list in [`Waiters`].
const NIL: usize = usize::MAX;

/// Notifies waiting tasks that something happened; see the [module docs](self).
///
/// ```
/// use corio::sync::Notify;
///
/// corio::run(async {
///     let notify = Notify::new();
///     notify.notify_one(); // no one waits yet: a permit is stored
///     notify.notified().await; // takes it at once
/// });
/// ```
pub struct Notify {
    /// `EMPTY`, `WAITING` or `NOTIFIED`, plus the `notify_waiters` call count.
    state: AtomicUsize,
    /// The waiting futures, in arrival order.
    waiters: Mutex<Waiters>,
}

/// A future that completes when its [`Notify`] notifies it; from
/// [`Notify::notified`].
///
/// Receives [`notify_waiters`](Notify::notify_waiters) calls made after its creation, and
/// [`notify_one`](Notify::notify_one) calls once polled or [enabled](Notified::enable) (or a
/// permit stored before). Dropping it passes on a `notify_one` it received but did not
/// return.
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    notify: &'a Notify,
    waiter: Waiter,
}

/// A [`Notified`] that owns a reference-counted [`Notify`], so it can be moved into a task
/// or stored without a lifetime; from [`Notify::notified_owned`].
#[must_use = "futures do nothing unless awaited"]
pub struct OwnedNotified {
    notify: std::sync::Arc<Notify>,
    waiter: Waiter,
}

/// How a waiter was notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notification {
    /// By `notify_one` (`Front`) or `notify_last` (`Back`), or a stored permit (`Front`);
    /// a waiter that drops it passes it on the same way.
    One(End),
    /// By `notify_waiters`.
    All,
}

/// Which end of the queue a single notification takes its waiter from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Front,
    Back,
}

/// The per-future half of a wait: what a [`Notified`] has got so far.
#[derive(Debug)]
struct Waiter {
    /// The `notify_waiters` call count (`state & !STATE_MASK`) when the future was created.
    calls: usize,
    phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not registered: not polled or enabled yet.
    Idle,
    /// Registered as this entry of the queue's slab.
    Listed(usize),
    /// Notified, but not returned yet: dropping passes a `One` on.
    Holding(Notification),
    /// Returned `Ready`: the notification is spent.
    Done,
}

impl Notify {
    /// Creates a `Notify` with no stored permit and no waiters.
    pub fn new() -> Notify {
        Notify {
            state: AtomicUsize::new(EMPTY),
            waiters: Mutex::new(Waiters::new()),
        }
    }

    /// Creates a `Notify` in a `const` context, e.g. a `static`.
    ///
    /// ```
    /// use corio::sync::Notify;
    ///
    /// static SHUTDOWN: Notify = Notify::const_new();
    ///
    /// corio::run(async {
    ///     SHUTDOWN.notify_one();
    ///     SHUTDOWN.notified().await;
    /// });
    /// ```
    #[cfg(not(loom))]
    pub const fn const_new() -> Notify {
        Notify {
            state: AtomicUsize::new(EMPTY),
            waiters: Mutex::new(Waiters::new()),
        }
    }

    /// Waits for a notification.
    ///
    /// The returned future completes on a [`notify_waiters`](Notify::notify_waiters) made
    /// after this call, or on a [`notify_one`](Notify::notify_one) once it waits (or a
    /// permit stored earlier). It joins the queue when first polled or
    /// [enabled](Notified::enable). Cancellation-safe: see the [module docs](self).
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            waiter: self.new_waiter(),
        }
    }

    /// Like [`notified`](Notify::notified), but the future holds `self` by `Arc` instead of
    /// borrowing it, so it is `'static`.
    pub fn notified_owned(self: std::sync::Arc<Self>) -> OwnedNotified {
        OwnedNotified {
            waiter: self.new_waiter(),
            notify: self,
        }
    }

    /// Wakes the task that has waited longest, or, if no task waits, stores a permit for
    /// the next one.
    ///
    /// At most one permit is stored: calling `notify_one` again before a task takes it
    /// changes nothing.
    pub fn notify_one(&self) {
        self.notify(End::Front);
    }

    /// Like [`notify_one`](Notify::notify_one), but wakes the task that started waiting
    /// last.
    pub fn notify_last(&self) {
        self.notify(End::Back);
    }

    /// Wakes every task waiting now, and every [`Notified`] future created before this
    /// call even if not polled yet. Stores no permit: later waiters keep waiting.
    pub fn notify_waiters(&self) {
        let mut waiters = self.lock();
        // Counted under the lock, so it is ordered with every registration.
        let state = self.state.fetch_add(CALL, SeqCst).wrapping_add(CALL);
        if state & STATE_MASK != WAITING {
            return;
        }
        let calls = state & !STATE_MASK;
        loop {
            let mut batch = WakeBatch::<WAKE_BATCH>::new();
            while !batch.is_full() {
                let Some(id) = waiters.front() else { break };
                if !is_before(waiters.calls(id), calls) {
                    break; // registered after this call; so is everyone behind it
                }
                if let Some(waker) = self.take_waiter(&mut waiters, id, Notification::All) {
                    batch.push(waker);
                }
            }
            let more = batch.is_full();
            drop(waiters);
            batch.wake_all();
            if !more {
                return;
            }
            waiters = self.lock();
        }
    }

    /// `notify_one` or `notify_last`.
    fn notify(&self, end: End) {
        let mut state = self.state.load(SeqCst);
        // Nobody waits: store the permit without locking.
        while state & STATE_MASK != WAITING {
            let permit = (state & !STATE_MASK) | NOTIFIED;
            match self
                .state
                .compare_exchange_weak(state, permit, SeqCst, SeqCst)
            {
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
        let mut waiters = self.lock();
        let waker = self.notify_locked(&mut waiters, end);
        drop(waiters);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Gives one notification to the waiter at `end`, or stores the permit if none waits.
    /// Returns the waker to wake once `waiters` is unlocked.
    fn notify_locked(&self, waiters: &mut Waiters, end: End) -> Option<Waker> {
        let mut state = self.state.load(SeqCst);
        loop {
            if state & STATE_MASK == WAITING {
                let id = match end {
                    End::Front => waiters.front(),
                    End::Back => waiters.back(),
                };
                let id = id.expect("WAITING only while the queue has a waiter");
                return self.take_waiter(waiters, id, Notification::One(end));
            }
            // Not WAITING, and the queue is locked: only lock-free permit stores and takes
            // can race with us.
            let permit = (state & !STATE_MASK) | NOTIFIED;
            match self
                .state
                .compare_exchange_weak(state, permit, SeqCst, SeqCst)
            {
                Ok(_) => return None,
                Err(actual) => state = actual,
            }
        }
    }

    /// Takes waiting entry `id` off the queue, marked `notification`, clearing `WAITING` if
    /// it was the last. Returns its waker.
    fn take_waiter(
        &self,
        waiters: &mut Waiters,
        id: usize,
        notification: Notification,
    ) -> Option<Waker> {
        let waker = waiters.take(id, notification);
        if waiters.is_empty() {
            // WAITING: only lock holders change the state bits now.
            self.state.fetch_and(!STATE_MASK, SeqCst);
        }
        waker
    }

    fn new_waiter(&self) -> Waiter {
        Waiter {
            calls: self.state.load(SeqCst) & !STATE_MASK,
            phase: Phase::Idle,
        }
    }

    /// Advances `waiter`: `Ready` once it has a notification. With a waker (a poll) the
    /// notification is spent and the waker is registered otherwise; without one (`enable`)
    /// the waiter only registers, and holds a notification it finds.
    fn poll_waiter(&self, waiter: &mut Waiter, waker: Option<&Waker>) -> Poll<()> {
        let got = match waiter.phase {
            Phase::Done => return Poll::Ready(()),
            Phase::Holding(notification) => notification,
            Phase::Idle => match self.register(waiter, waker) {
                Some(notification) => notification,
                None => return Poll::Pending,
            },
            Phase::Listed(id) => {
                let mut waiters = self.lock();
                match waiters.status(id) {
                    Status::Notified(notification) => {
                        let (_, stale) = waiters.remove(id);
                        drop(waiters);
                        drop(stale);
                        notification
                    }
                    _ => {
                        let replaced = waker.and_then(|waker| waiters.set_waker(id, waker));
                        drop(waiters);
                        drop(replaced);
                        return Poll::Pending;
                    }
                }
            }
        };
        waiter.phase = match waker {
            Some(_) => Phase::Done,
            None => Phase::Holding(got),
        };
        Poll::Ready(())
    }

    /// Registers an idle waiter, unless it is notified already: by a `notify_waiters` since
    /// its creation, or a stored permit (which it takes).
    fn register(&self, waiter: &mut Waiter, waker: Option<&Waker>) -> Option<Notification> {
        // The common ready cases first, without locking.
        let mut state = self.state.load(SeqCst);
        loop {
            if state & !STATE_MASK != waiter.calls {
                return Some(Notification::All);
            }
            if state & STATE_MASK != NOTIFIED {
                break;
            }
            match self
                .state
                .compare_exchange_weak(state, state & !STATE_MASK, SeqCst, SeqCst)
            {
                Ok(_) => return Some(Notification::One(End::Front)),
                Err(actual) => state = actual,
            }
        }

        let waker = waker.cloned(); // outside the lock: `clone` is the task's code
        let mut waiters = self.lock();
        let mut state = self.state.load(SeqCst);
        let got = loop {
            if state & !STATE_MASK != waiter.calls {
                break Some(Notification::All);
            }
            let (next, got) = match state & STATE_MASK {
                WAITING => break None,
                NOTIFIED => (state & !STATE_MASK, Some(Notification::One(End::Front))),
                _ => (state | WAITING, None),
            };
            match self
                .state
                .compare_exchange_weak(state, next, SeqCst, SeqCst)
            {
                Ok(_) if got.is_some() => break got,
                Ok(_) => break None,
                Err(actual) => state = actual,
            }
        };
        if got.is_some() {
            drop(waiters);
            drop(waker);
            return got;
        }
        let id = waiters.push_back(waiter.calls, waker);
        waiter.phase = Phase::Listed(id);
        None
    }

    /// Undoes `waiter` when its future is dropped: leaves the queue, and passes on a
    /// single notification it had not returned.
    fn cancel(&self, waiter: &mut Waiter) {
        match waiter.phase {
            Phase::Idle | Phase::Done | Phase::Holding(Notification::All) => {}
            Phase::Holding(Notification::One(end)) => self.notify(end),
            Phase::Listed(id) => {
                let mut waiters = self.lock();
                let (status, stale) = waiters.remove(id);
                let forwarded = match status {
                    Status::Notified(Notification::One(end)) => {
                        self.notify_locked(&mut waiters, end)
                    }
                    Status::Waiting if waiters.is_empty() => {
                        self.state.fetch_and(!STATE_MASK, SeqCst);
                        None
                    }
                    _ => None,
                };
                drop(waiters);
                drop(stale);
                if let Some(waker) = forwarded {
                    waker.wake();
                }
            }
        }
        waiter.phase = Phase::Done;
    }

    fn lock(&self) -> MutexGuard<'_, Waiters> {
        // No panic can leave the queue half-updated: the only code of others that runs
        // under the lock is `Waker::clone` / `will_wake`, before anything changes.
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// True if call count `a` comes before `b`; the counts wrap around.
fn is_before(a: usize, b: usize) -> bool {
    (b.wrapping_sub(a) as isize) > 0
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(SeqCst);
        f.debug_struct("Notify")
            .field("waiting", &(state & STATE_MASK == WAITING))
            .field("permit", &(state & STATE_MASK == NOTIFIED))
            .finish()
    }
}

impl Notified<'_> {
    /// Registers this future to receive [`notify_one`](Notify::notify_one) without polling
    /// it, so that a condition can be checked before awaiting without missing a
    /// notification sent in between.
    ///
    /// Returns `true` if the future already has a notification: awaiting it completes at
    /// once. Calling it again, or after polling, does nothing more. A notification it finds
    /// is not spent until the future returns `Ready`: dropping the future passes a
    /// `notify_one` on. See the [module docs](self) for the pattern.
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.notify.poll_waiter(&mut this.waiter, None).is_ready()
    }

    /// Polls without spending cooperative budget: for primitives that spend it themselves.
    pub(crate) fn poll_unbudgeted(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.notify.poll_waiter(&mut self.waiter, Some(cx.waker()))
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        ready!(this.poll_unbudgeted(cx));
        coop.made_progress();
        Poll::Ready(())
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        self.notify.cancel(&mut self.waiter);
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("phase", &self.waiter.phase)
            .finish_non_exhaustive()
    }
}

impl OwnedNotified {
    /// Registers this future without polling it; see [`Notified::enable`].
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.notify.poll_waiter(&mut this.waiter, None).is_ready()
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        ready!(this.notify.poll_waiter(&mut this.waiter, Some(cx.waker())));
        coop.made_progress();
        Poll::Ready(())
    }
}

impl Drop for OwnedNotified {
    fn drop(&mut self) {
        self.notify.cancel(&mut self.waiter);
    }
}

impl fmt::Debug for OwnedNotified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedNotified")
            .field("phase", &self.waiter.phase)
            .finish_non_exhaustive()
    }
}

/// The queue: a slab of entries, the waiting ones linked into a FIFO list.
///
/// An entry is allocated from registration until its future sees its status (or is
/// dropped); it is in the list exactly while its status is `Waiting`.
struct Waiters {
    entries: Vec<Entry>,
    /// The first waiting entry, or [`NIL`].
    head: usize,
    /// The last waiting entry, or [`NIL`].
    last: usize,
    /// The first free entry, or [`NIL`]; free entries are chained through `next`.
    free: usize,
}

struct Entry {
    /// The waiting task, if it was polled (an enabled future has none).
    waker: Option<Waker>,
    status: Status,
    /// The `notify_waiters` call count when it registered; the list is ordered by it.
    calls: usize,
    prev: usize,
    next: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Free,
    /// In the list.
    Waiting,
    /// Taken off the list by a notification its future has not seen yet.
    Notified(Notification),
}

impl Waiters {
    const fn new() -> Waiters {
        Waiters {
            entries: Vec::new(),
            head: NIL,
            last: NIL,
            free: NIL,
        }
    }

    fn is_empty(&self) -> bool {
        self.head == NIL
    }

    fn front(&self) -> Option<usize> {
        (self.head != NIL).then_some(self.head)
    }

    fn back(&self) -> Option<usize> {
        (self.last != NIL).then_some(self.last)
    }

    fn status(&self, id: usize) -> Status {
        self.entries[id].status
    }

    fn calls(&self, id: usize) -> usize {
        self.entries[id].calls
    }

    /// Allocates a waiting entry at the back of the list.
    fn push_back(&mut self, calls: usize, waker: Option<Waker>) -> usize {
        let entry = Entry {
            waker,
            status: Status::Waiting,
            calls,
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

    /// Replaces a waiting entry's waker unless it would wake the same task; returns the
    /// replaced one, to drop after unlocking.
    fn set_waker(&mut self, id: usize, waker: &Waker) -> Option<Waker> {
        let slot = &mut self.entries[id].waker;
        match slot {
            Some(old) if old.will_wake(waker) => None,
            _ => slot.replace(waker.clone()),
        }
    }

    /// Takes a waiting entry off the list, marking it notified; returns its waker. The
    /// entry stays allocated for its future to see.
    fn take(&mut self, id: usize, notification: Notification) -> Option<Waker> {
        debug_assert_eq!(self.entries[id].status, Status::Waiting);
        self.unlink(id);
        let entry = &mut self.entries[id];
        entry.status = Status::Notified(notification);
        entry.waker.take()
    }

    /// Frees an entry, unlinking it if it waits. Returns its status before and its waker.
    fn remove(&mut self, id: usize) -> (Status, Option<Waker>) {
        let status = self.entries[id].status;
        debug_assert_ne!(status, Status::Free);
        if status == Status::Waiting {
            self.unlink(id);
        }
        let entry = &mut self.entries[id];
        entry.status = Status::Free;
        entry.next = self.free;
        self.free = id;
        (status, entry.waker.take())
    }

    fn unlink(&mut self, id: usize) {
        let Entry { prev, next, .. } = self.entries[id];
        match prev {
            NIL => self.head = next,
            prev => self.entries[prev].next = next,
        }
        match next {
            NIL => self.last = prev,
            next => self.entries[next].prev = prev,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, block_on, spend_budget_but_one};
    use std::sync::Arc as StdArc;

    fn poll(fut: &mut (impl Future<Output = ()> + Unpin), waker: &Waker) -> Poll<()> {
        Pin::new(fut).poll(&mut Context::from_waker(waker))
    }

    fn enable(fut: &mut Notified<'_>) -> bool {
        Pin::new(fut).enable()
    }

    fn state_bits(notify: &Notify) -> usize {
        notify.state.load(SeqCst) & STATE_MASK
    }

    fn queued(notify: &Notify) -> Vec<usize> {
        let waiters = notify.lock();
        let mut ids = Vec::new();
        let mut id = waiters.head;
        while id != NIL {
            ids.push(id);
            id = waiters.entries[id].next;
        }
        ids
    }

    #[test]
    fn waiter_list_links_and_reuses_entries() {
        let (_, waker) = CountingWaker::new();
        let mut w = Waiters::new();
        assert!(w.is_empty());
        let a = w.push_back(0, Some(waker.clone()));
        let b = w.push_back(0, None);
        let c = w.push_back(4, Some(waker.clone()));
        assert_eq!((w.front(), w.back()), (Some(a), Some(c)));

        // Taking from the middle relinks its neighbours; the entry stays allocated.
        assert!(w.take(b, Notification::All).is_none(), "b had no waker");
        assert_eq!(w.status(b), Status::Notified(Notification::All));
        assert_eq!((w.entries[a].next, w.entries[c].prev), (c, a));
        // Removing a notified entry does not touch the list.
        let (status, no_waker) = w.remove(b);
        assert_eq!(status, Status::Notified(Notification::All));
        assert!(no_waker.is_none());
        assert_eq!((w.front(), w.back()), (Some(a), Some(c)));
        assert_eq!(w.push_back(8, None), b, "the freed entry is reused");
        assert_eq!(w.back(), Some(b));
        assert_eq!(w.calls(b), 8);

        // Removing a waiting entry unlinks it.
        let (status, waker_back) = w.remove(a);
        assert_eq!(status, Status::Waiting);
        assert!(waker_back.is_some());
        assert_eq!(w.front(), Some(c));
        assert!(w.take(c, Notification::One(End::Front)).is_some());
        assert!(w.take(b, Notification::One(End::Back)).is_none());
        assert!(w.is_empty());
        assert_eq!((w.head, w.last), (NIL, NIL));
        w.remove(c);
        w.remove(b);
        assert_eq!(w.entries.len(), 3, "no entry leaked, none added");
    }

    #[test]
    fn set_waker_keeps_an_equivalent_waker() {
        let (_, first) = CountingWaker::new();
        let (_, second) = CountingWaker::new();
        let mut w = Waiters::new();
        let id = w.push_back(0, Some(first.clone()));
        // `will_wake` compares vtable pointers, which Miri does not deduplicate.
        if !cfg!(miri) {
            assert!(w.set_waker(id, &first).is_none());
        }
        assert!(w.set_waker(id, &second).is_some());
        let id2 = w.push_back(0, None);
        assert!(w.set_waker(id2, &second).is_none(), "nothing replaced");
        assert!(w.entries[id2].waker.is_some());
    }

    #[test]
    fn notify_one_stores_a_single_permit() {
        let (_, waker) = CountingWaker::new();
        let notify = Notify::new();
        notify.notify_one();
        notify.notify_one();
        assert_eq!(state_bits(&notify), NOTIFIED);
        let mut first = notify.notified();
        assert!(poll(&mut first, &waker).is_ready());
        let mut second = notify.notified();
        assert!(
            poll(&mut second, &waker).is_pending(),
            "one permit, not two"
        );
        assert_eq!(state_bits(&notify), WAITING);
    }

    #[test]
    fn notify_one_wakes_in_fifo_order_and_notify_last_in_lifo() {
        let notify = Notify::new();
        let counters: Vec<_> = (0..4).map(|_| CountingWaker::new()).collect();
        let mut futs: Vec<_> = (0..4).map(|_| notify.notified()).collect();
        for (fut, (_, waker)) in futs.iter_mut().zip(&counters) {
            assert!(poll(fut, waker).is_pending());
        }
        let wakes = || counters.iter().map(|(c, _)| c.wakes()).collect::<Vec<_>>();
        notify.notify_one();
        assert_eq!(wakes(), [1, 0, 0, 0]);
        notify.notify_last();
        assert_eq!(wakes(), [1, 0, 0, 1]);
        notify.notify_one();
        assert_eq!(wakes(), [1, 1, 0, 1]);
        for (i, (fut, (_, waker))) in futs.iter_mut().zip(&counters).enumerate() {
            assert_eq!(poll(fut, waker).is_ready(), i != 2, "future {i}");
        }
        assert_eq!(state_bits(&notify), WAITING, "future 2 still waits");
    }

    #[test]
    fn notify_waiters_wakes_present_and_created_futures_only() {
        let (counter, waker) = CountingWaker::new();
        let notify = Notify::new();
        let mut polled = notify.notified();
        assert!(poll(&mut polled, &waker).is_pending());
        let mut enabled = notify.notified();
        assert!(!enable(&mut enabled));
        let mut created = notify.notified(); // never polled before the call
        notify.notify_waiters();
        let mut later = notify.notified();

        assert_eq!(counter.wakes(), 1, "only the polled future had a waker");
        assert!(poll(&mut polled, &waker).is_ready());
        assert!(poll(&mut enabled, &waker).is_ready());
        assert!(poll(&mut created, &waker).is_ready());
        assert!(poll(&mut later, &waker).is_pending(), "nothing was stored");
        assert_eq!(queued(&notify).len(), 1);
    }

    #[test]
    fn notify_waiters_wakes_more_than_a_batch() {
        let notify = Notify::new();
        let counters: Vec<_> = (0..WAKE_BATCH * 2 + 5)
            .map(|_| CountingWaker::new())
            .collect();
        let mut futs: Vec<_> = counters.iter().map(|_| notify.notified()).collect();
        for (fut, (_, waker)) in futs.iter_mut().zip(&counters) {
            assert!(poll(fut, waker).is_pending());
        }
        notify.notify_waiters();
        assert!(counters.iter().all(|(c, _)| c.wakes() == 1));
        assert_eq!(state_bits(&notify), EMPTY);
        assert!(queued(&notify).is_empty());
        for (fut, (_, waker)) in futs.iter_mut().zip(&counters) {
            assert!(poll(fut, waker).is_ready());
        }
        let waiters = notify.lock();
        let mut free = 0;
        let mut id = waiters.free;
        while id != NIL {
            free += 1;
            id = waiters.entries[id].next;
        }
        assert_eq!(free, futs.len(), "every entry went back to the free list");
    }

    #[test]
    fn notify_waiters_skips_waiters_registered_after_it() {
        // What a waiter that joins between two batches looks like: an entry registered
        // under a later call count.
        let notify = Notify::new();
        let (early, early_waker) = CountingWaker::new();
        let (late, late_waker) = CountingWaker::new();
        let mut first = notify.notified();
        assert!(poll(&mut first, &early_waker).is_pending());
        notify.notify_waiters();
        let mut second = notify.notified();
        assert!(poll(&mut second, &late_waker).is_pending());
        // `second` registered under the new count: a front-to-back sweep for the old count
        // stops at it.
        let waiters = notify.lock();
        let id = waiters.front().unwrap();
        let calls = notify.state.load(SeqCst) & !STATE_MASK;
        assert!(!is_before(waiters.calls(id), calls));
        drop(waiters);
        assert_eq!((early.wakes(), late.wakes()), (1, 0));
    }

    #[test]
    fn call_counts_compare_across_wrap_around() {
        assert!(is_before(0, CALL));
        assert!(is_before(usize::MAX - STATE_MASK, 0));
        assert!(!is_before(CALL, CALL));
        assert!(!is_before(2 * CALL, CALL));
    }

    #[test]
    fn dropped_notified_future_passes_its_notification_on() {
        let notify = Notify::new();
        let (_, waker) = CountingWaker::new();
        let (second_count, second_waker) = CountingWaker::new();
        let mut first = notify.notified();
        let mut second = notify.notified();
        assert!(poll(&mut first, &waker).is_pending());
        assert!(poll(&mut second, &second_waker).is_pending());
        notify.notify_one(); // goes to `first`
        assert_eq!(second_count.wakes(), 0);
        drop(first);
        assert_eq!(second_count.wakes(), 1, "passed on to the next waiter");
        assert!(poll(&mut second, &second_waker).is_ready());

        // With nobody else waiting, it goes back into the permit.
        let mut third = notify.notified();
        assert!(poll(&mut third, &waker).is_pending());
        notify.notify_one();
        drop(third);
        assert_eq!(state_bits(&notify), NOTIFIED);
        assert!(poll(&mut notify.notified(), &waker).is_ready());
        assert_eq!(state_bits(&notify), EMPTY);
    }

    #[test]
    fn dropped_notify_last_passes_on_to_the_back() {
        let notify = Notify::new();
        let counters: Vec<_> = (0..3).map(|_| CountingWaker::new()).collect();
        let mut futs: Vec<_> = (0..3).map(|_| notify.notified()).collect();
        for (fut, (_, waker)) in futs.iter_mut().zip(&counters) {
            assert!(poll(fut, waker).is_pending());
        }
        notify.notify_last();
        drop(futs.pop());
        let wakes: Vec<_> = counters.iter().map(|(c, _)| c.wakes()).collect();
        assert_eq!(wakes, [0, 1, 1]);
    }

    #[test]
    fn dropped_waiting_future_leaves_the_queue() {
        let (_, waker) = CountingWaker::new();
        let notify = Notify::new();
        let mut fut = notify.notified();
        assert!(poll(&mut fut, &waker).is_pending());
        assert_eq!(state_bits(&notify), WAITING);
        drop(fut);
        assert_eq!(state_bits(&notify), EMPTY);
        assert!(queued(&notify).is_empty());
        // So the next notification is stored, not given to a ghost.
        notify.notify_one();
        assert!(poll(&mut notify.notified(), &waker).is_ready());
    }

    #[test]
    fn dropped_future_that_got_notify_waiters_passes_nothing_on() {
        let (_, waker) = CountingWaker::new();
        let notify = Notify::new();
        let mut fut = notify.notified();
        assert!(poll(&mut fut, &waker).is_pending());
        notify.notify_waiters();
        drop(fut);
        assert_eq!(state_bits(&notify), EMPTY);
    }

    #[test]
    fn enable_registers_and_holds_without_spending() {
        let (_, waker) = CountingWaker::new();
        let notify = Notify::new();

        // A permit found by `enable` is held, and passed back if the future is dropped.
        notify.notify_one();
        let mut fut = notify.notified();
        assert!(enable(&mut fut));
        assert_eq!(state_bits(&notify), EMPTY);
        drop(fut);
        assert_eq!(state_bits(&notify), NOTIFIED);

        // Awaited, it is spent.
        let mut fut = notify.notified();
        assert!(enable(&mut fut));
        assert!(poll(&mut fut, &waker).is_ready());
        drop(fut);
        assert_eq!(state_bits(&notify), EMPTY);

        // Enabled with nothing to take: registered, so `notify_one` picks it.
        let mut fut = notify.notified();
        assert!(!enable(&mut fut));
        assert!(!enable(&mut fut), "idempotent");
        assert_eq!(queued(&notify).len(), 1);
        notify.notify_one();
        assert_eq!(state_bits(&notify), EMPTY, "given to the enabled future");
        assert!(enable(&mut fut));
        assert!(poll(&mut fut, &waker).is_ready());
    }

    #[test]
    fn only_the_latest_waker_is_woken() {
        let notify = Notify::new();
        let (first, first_waker) = CountingWaker::new();
        let (second, second_waker) = CountingWaker::new();
        let mut fut = notify.notified();
        assert!(poll(&mut fut, &first_waker).is_pending());
        assert!(poll(&mut fut, &second_waker).is_pending());
        assert_eq!(queued(&notify).len(), 1, "registered once");
        notify.notify_one();
        assert_eq!((first.wakes(), second.wakes()), (0, 1));
        assert_eq!(
            StdArc::strong_count(&first),
            2,
            "the stale waker was dropped"
        );
    }

    #[test]
    fn owned_notified_behaves_alike() {
        let (counter, waker) = CountingWaker::new();
        let notify = StdArc::new(Notify::new());
        let mut fut = notify.clone().notified_owned();
        assert!(poll(&mut fut, &waker).is_pending());
        let mut other = notify.clone().notified_owned();
        assert!(!Pin::new(&mut other).enable());
        notify.notify_one();
        assert_eq!(counter.wakes(), 1);
        drop(fut); // passes it on to `other`
        assert!(Pin::new(&mut other).enable());
        assert!(poll(&mut other, &waker).is_ready());
    }

    #[test]
    fn ready_notified_spends_budget() {
        coop::budget(|| {
            let (counter, waker) = CountingWaker::new();
            let mut cx = Context::from_waker(&waker);
            spend_budget_but_one(&mut cx);
            let notify = Notify::new();
            let mut waiting = notify.notified();
            assert!(poll(&mut waiting, &waker).is_pending());
            assert!(coop::has_budget_remaining(), "Pending refunds the unit");
            notify.notify_waiters();
            assert!(poll(&mut waiting, &waker).is_ready());
            assert!(!coop::has_budget_remaining());
            notify.notify_one();
            let mut permit = notify.notified();
            let wakes = counter.wakes();
            assert!(poll(&mut permit, &waker).is_pending(), "out of budget");
            assert_eq!(counter.wakes(), wakes + 1, "asked to be polled again");
            assert_eq!(state_bits(&notify), NOTIFIED, "the permit is still there");
        });
    }

    #[test]
    fn across_threads() {
        // Ping-pong: each side waits for the other's notify_one; a lost wake-up hangs.
        let rounds = if cfg!(miri) { 20 } else { 2000 };
        let ping = StdArc::new(Notify::new());
        let pong = StdArc::new(Notify::new());
        let other = std::thread::spawn({
            let (ping, pong) = (ping.clone(), pong.clone());
            move || {
                for _ in 0..rounds {
                    block_on(ping.notified());
                    pong.notify_one();
                }
            }
        });
        for _ in 0..rounds {
            ping.notify_one();
            block_on(pong.notified());
        }
        other.join().unwrap();
        assert_eq!(state_bits(&ping), EMPTY);
        assert_eq!(state_bits(&pong), EMPTY);
    }

    #[test]
    fn types_are_send_sync_and_unpin() {
        fn is_send_sync_unpin<T: Send + Sync + Unpin>() {}
        is_send_sync_unpin::<Notify>();
        is_send_sync_unpin::<Notified<'static>>();
        is_send_sync_unpin::<OwnedNotified>();
    }

    #[test]
    fn debug() {
        let notify = Notify::new();
        notify.notify_one();
        assert_eq!(
            format!("{notify:?}"),
            "Notify { waiting: false, permit: true }"
        );
        let fut = notify.notified();
        assert_eq!(format!("{fut:?}"), "Notified { phase: Idle, .. }");
    }
}

#[cfg(all(test, loom))]
pub(super) mod loom_tests {
    //! Model-checked races (`RUSTFLAGS="--cfg loom" cargo test --release --lib notify::loom`).
    //!
    //! `block_on` parks the thread on `Pending` and only resumes on a wake-up, so a lost
    //! wake-up shows up as a deadlock that loom reports.
    use super::*;
    use loom::thread;
    // `notified_owned` takes std's `Arc`; sharing through it is fine, loom checks the
    // atomics and the lock inside.
    use std::sync::Arc;

    /// Polls `fut` on this loom thread, parking between polls until a waker unparks it.
    /// (The other signal primitives' models use it too.)
    pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
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

    #[test]
    fn notify_one_races_registration() {
        loom::model(|| {
            let notify = Arc::new(Notify::new());
            let notifier = thread::spawn({
                let notify = notify.clone();
                move || notify.notify_one()
            });
            block_on(notify.notified());
            notifier.join().unwrap();
            assert_eq!(notify.state.load(SeqCst) & STATE_MASK, EMPTY);
        });
    }

    #[test]
    fn enable_then_check_misses_no_notify_one() {
        use loom::sync::atomic::AtomicBool;
        loom::model(|| {
            let notify = Arc::new(Notify::new());
            let ready = Arc::new(AtomicBool::new(false));
            let notifier = thread::spawn({
                let (notify, ready) = (notify.clone(), ready.clone());
                move || {
                    ready.store(true, SeqCst);
                    notify.notify_one();
                }
            });
            loop {
                let mut notified = std::pin::pin!(notify.notified());
                notified.as_mut().enable();
                if ready.load(SeqCst) {
                    break;
                }
                block_on(notified);
            }
            notifier.join().unwrap();
        });
    }

    #[test]
    fn notify_waiters_reaches_a_created_future() {
        loom::model(|| {
            let notify = Arc::new(Notify::new());
            let notified = notify.clone().notified_owned();
            let notifier = thread::spawn({
                let notify = notify.clone();
                move || notify.notify_waiters()
            });
            block_on(notified);
            notifier.join().unwrap();
            assert_eq!(notify.state.load(SeqCst) & STATE_MASK, EMPTY, "no permit");
        });
    }

    #[test]
    fn dropped_notified_forwards_its_notification() {
        loom::model(|| {
            let notify = Arc::new(Notify::new());
            let mut first = notify.clone().notified_owned();
            // Registered before the others start: it is first in line.
            let waker = Waker::noop();
            assert!(
                Pin::new(&mut first)
                    .poll(&mut Context::from_waker(waker))
                    .is_pending()
            );
            let notifier = thread::spawn({
                let notify = notify.clone();
                move || notify.notify_one()
            });
            let second = thread::spawn({
                let notify = notify.clone();
                move || block_on(notify.notified())
            });
            // Whether `first` got the notification or not, dropping it must leave it for
            // `second`, which hangs otherwise.
            drop(first);
            notifier.join().unwrap();
            second.join().unwrap();
        });
    }

    #[test]
    fn concurrent_notify_one_wake_two_queued_waiters() {
        // Two permits would collapse into one if stored; queued waiters each get their own.
        loom::model(|| {
            let notify = Arc::new(Notify::new());
            let mut first = notify.clone().notified_owned();
            let mut second = notify.clone().notified_owned();
            assert!(!Pin::new(&mut first).enable());
            assert!(!Pin::new(&mut second).enable());
            let waiter = thread::spawn(move || block_on(first));
            let notifier = thread::spawn({
                let notify = notify.clone();
                move || notify.notify_one()
            });
            notify.notify_one();
            block_on(second);
            waiter.join().unwrap();
            notifier.join().unwrap();
            assert_eq!(notify.state.load(SeqCst) & STATE_MASK, EMPTY);
        });
    }
}
