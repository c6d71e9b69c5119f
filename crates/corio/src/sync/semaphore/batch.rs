//! The permit counter and FIFO wait queue under [`Semaphore`](super::Semaphore),
//! [`Mutex`](crate::sync::Mutex), [`RwLock`](crate::sync::RwLock) and
//! [`Condition`](crate::sync::Condition).
//!
//! A [`BatchSemaphore`] hands out permits in batches of any size: an acquire of `n`
//! permits completes once it holds all `n`.
//!
//! # State
//!
//! - `word`, one atomic: the number of available permits shifted left by 2, the `WAITING`
//!   bit (someone is queued) and the `CLOSED` bit.
//! - `queue`, a std `Mutex` around a [`WaiterList`]: the acquires that wait, oldest first.
//!   Each one's node lives in its [`Acquire`] future, so queueing allocates nothing.
//!
//! # Invariants
//!
//! 1. `WAITING` is set exactly when the queue is not empty, and is changed only under the
//!    queue's lock.
//! 2. While `WAITING` is set, no permit is available: a released permit goes straight to
//!    the oldest waiter. Nobody overtakes a waiter (FIFO), and a large request at the head
//!    collects permits as they come back until it has all it asked for: small requests
//!    behind it wait.
//! 3. `word` changes without the lock (an uncontended acquire or release: one CAS) only
//!    while `WAITING` is clear, and by compare-and-swap. So a release either sees
//!    `WAITING` and takes the lock, or it lands before the CAS with which a waiter sets
//!    `WAITING`, which then fails and the waiter sees the permits.
//! 4. A queued waiter's node is touched by others only under the lock. Whoever completes
//!    it unlinks it, takes its waker, and then stores 0 to its `owed` count (`Release`); it
//!    never touches the node again. The owner may load `owed` without the lock
//!    (`Acquire`): 0 means it is done and owns its node again. So a woken waiter completes
//!    without taking the lock.
//!
//! # Why no wake-up is lost
//!
//! A waiter queues itself and stores its waker under the lock, after seeing (under that
//! lock) that it cannot be served. Every release that could serve it either takes the lock
//! after that (invariant 3) and finds it, or happened before, and the waiter saw its
//! permits. Closing takes the lock too. Wakers are woken after unlocking, in batches of
//! [`WAKE_BATCH`].
//!
//! # Cancellation
//!
//! Dropping a queued [`Acquire`] unlinks its node under the lock and releases the permits
//! it was already given (all of them if it had completed unseen, some if it was the head
//! collecting a batch). They go to the next waiters, so a cancelled waiter loses no permit
//! and swallows no wake-up.
//!
//! # Unclaimed permits
//!
//! Normally permits released while nobody waits become available. A semaphore made with
//! [`BatchSemaphore::new_discarding`] drops them instead: permits only go to current
//! waiters. That is a condition variable's notification: `notify(n)` is a release of `n`
//! permits to waiters that each want one, and a notification nobody waits for is not
//! remembered.

use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker, ready};

use super::error::{AcquireError, TryAcquireError};
use super::waiter_list::{Waiter, WaiterList};
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::scheduler::coop;

/// `word` bit: the semaphore is closed.
const CLOSED: usize = 1;
/// `word` bit: the queue is not empty.
const WAITING: usize = 2;
/// The permit count sits above the two flag bits.
const SHIFT: usize = 2;
/// The most permits a semaphore can hold, leaving headroom so that sums of counts below it
/// never overflow the shifted word.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;
/// How many wakers a release collects under the lock before unlocking to wake them.
const WAKE_BATCH: usize = 32;

/// A counting semaphore with a FIFO queue; see the module docs.
pub(crate) struct BatchSemaphore {
    word: AtomicUsize,
    queue: Mutex<WaiterList>,
    /// Permits released while nobody waits become available (else they are dropped).
    keeps_unclaimed: bool,
}

impl BatchSemaphore {
    /// A semaphore with `permits` available.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`MAX_PERMITS`].
    pub(crate) fn new(permits: usize) -> BatchSemaphore {
        assert!(
            permits <= MAX_PERMITS,
            "a semaphore holds at most {MAX_PERMITS} permits"
        );
        BatchSemaphore {
            word: AtomicUsize::new(permits << SHIFT),
            queue: Mutex::new(WaiterList::new()),
            keeps_unclaimed: true,
        }
    }

    /// As [`new`](BatchSemaphore::new), in a `const` context.
    #[cfg(not(loom))]
    pub(crate) const fn const_new(permits: usize) -> BatchSemaphore {
        assert!(permits <= MAX_PERMITS, "too many permits for a semaphore");
        BatchSemaphore {
            word: AtomicUsize::new(permits << SHIFT),
            queue: Mutex::new(WaiterList::new()),
            keeps_unclaimed: true,
        }
    }

    /// A semaphore that never holds permits: releases only serve current waiters.
    pub(crate) fn new_discarding() -> BatchSemaphore {
        BatchSemaphore {
            keeps_unclaimed: false,
            ..BatchSemaphore::new(0)
        }
    }

    /// As [`new_discarding`](BatchSemaphore::new_discarding), in a `const` context.
    #[cfg(not(loom))]
    pub(crate) const fn const_new_discarding() -> BatchSemaphore {
        BatchSemaphore {
            word: AtomicUsize::new(0),
            queue: Mutex::new(WaiterList::new()),
            keeps_unclaimed: false,
        }
    }

    /// Permits available now.
    pub(crate) fn available_permits(&self) -> usize {
        self.word.load(Ordering::Acquire) >> SHIFT
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.word.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Takes `n` permits if they are available and nobody waits for permits (zero always
    /// succeeds unless closed).
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut curr = self.word.load(Ordering::Relaxed);
        loop {
            if curr & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            // While someone waits the count is 0 (invariant 2), so this fails for n > 0.
            if curr >> SHIFT < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self.word.compare_exchange_weak(
                curr,
                curr - (n << SHIFT),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => curr = actual,
            }
        }
    }

    /// A future that completes once it holds `n` permits, or fails if the semaphore closes
    /// first. Nothing happens until it is polled.
    pub(crate) fn acquire(&self, n: usize) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            waiter: Waiter::new(),
            permits: n,
            queued: false,
        }
    }

    /// Gives `n` permits back: to the waiters, oldest first, and the rest becomes available
    /// (or is dropped, for a discarding semaphore).
    ///
    /// # Panics
    ///
    /// If the available permits would exceed [`MAX_PERMITS`].
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut curr = self.word.load(Ordering::Relaxed);
        // Invariant 3: without the lock only while nobody waits, and by CAS.
        while curr & WAITING == 0 {
            if !self.keeps_unclaimed {
                return; // nobody to notify
            }
            assert!(
                n <= MAX_PERMITS - (curr >> SHIFT),
                "a semaphore holds at most {MAX_PERMITS} permits"
            );
            match self.word.compare_exchange_weak(
                curr,
                curr + (n << SHIFT),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => curr = actual,
            }
        }
        self.release_locked(n, self.lock());
    }

    /// Releases permits enough for every current waiter to get one: wakes them all (for a
    /// discarding semaphore, whose waiters each want one).
    pub(crate) fn release_to_all_waiting(&self) {
        if self.word.load(Ordering::Relaxed) & WAITING == 0 {
            return;
        }
        let queue = self.lock();
        let waiting = queue.len();
        self.release_locked(waiting, queue);
    }

    /// Takes away up to `n` available permits; returns how many it took.
    pub(crate) fn forget_permits(&self, n: usize) -> usize {
        let mut curr = self.word.load(Ordering::Relaxed);
        loop {
            let taken = n.min(curr >> SHIFT);
            if taken == 0 {
                return 0;
            }
            match self.word.compare_exchange_weak(
                curr,
                curr - (taken << SHIFT),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return taken,
                Err(actual) => curr = actual,
            }
        }
    }

    /// Closes the semaphore: every waiter, present and future, fails. Permits still come
    /// and go through releases and `try_acquire`'s `Closed` check.
    pub(crate) fn close(&self) {
        let mut queue = self.lock();
        self.word.fetch_or(CLOSED, Ordering::Release);
        loop {
            let mut wakers = WakeList::new();
            while !wakers.is_full() {
                let Some(waiter) = queue.pop_front() else {
                    break;
                };
                // SAFETY: it was in our list, so it is alive until its owner has taken
                // the lock after us; we hold the lock. Its `owed` stays nonzero: the
                // owner, finding itself unlinked in a closed semaphore, fails.
                wakers.push(unsafe { waiter.as_ref().take_waker() });
            }
            let done = queue.is_empty();
            if done {
                self.settle_empty_queue(0);
            }
            drop(queue);
            wakers.wake_all();
            if done {
                return;
            }
            queue = self.lock();
        }
    }

    fn lock(&self) -> MutexGuard<'_, WaiterList> {
        // Nothing user-supplied runs under the lock, and every update leaves the list
        // consistent, so a poisoned lock (a panic elsewhere) is still good.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands `rem` permits to the waiters, oldest first, waking those it completes after
    /// unlocking; what is left once the queue is empty becomes available (or is dropped).
    fn release_locked<'a>(&'a self, mut rem: usize, mut queue: MutexGuard<'a, WaiterList>) {
        loop {
            let mut wakers = WakeList::new();
            while rem > 0 && !wakers.is_full() {
                let Some(head) = queue.front() else {
                    break;
                };
                // SAFETY: queued waiters are alive while we hold the lock.
                let waiter = unsafe { head.as_ref() };
                let owed = waiter.owed.load(Ordering::Relaxed);
                if rem < owed {
                    // The head keeps collecting; nobody behind it gets anything.
                    waiter.owed.store(owed - rem, Ordering::Relaxed);
                    rem = 0;
                    break;
                }
                rem -= owed;
                queue.pop_front();
                // SAFETY: we hold the lock it was queued under.
                wakers.push(unsafe { waiter.take_waker() });
                // Our last touch: the owner may free the node from here on (invariant 4).
                waiter.owed.store(0, Ordering::Release);
            }
            let done = rem == 0 || queue.is_empty();
            if queue.is_empty() {
                self.settle_empty_queue(rem);
                rem = 0;
            }
            drop(queue);
            wakers.wake_all();
            if done {
                return;
            }
            // More waiters to serve: let others at the lock between batches. `rem` stays
            // in hand; with `WAITING` still set nobody expects it in the count.
            queue = self.lock();
        }
    }

    /// With the lock held and the queue empty: clears `WAITING` and makes `rem` permits
    /// available (drops them if this semaphore does not keep unclaimed permits).
    fn settle_empty_queue(&self, rem: usize) {
        let added = if self.keeps_unclaimed { rem } else { 0 };
        let mut curr = self.word.load(Ordering::Relaxed);
        loop {
            assert!(
                added <= MAX_PERMITS - (curr >> SHIFT),
                "a semaphore holds at most {MAX_PERMITS} permits"
            );
            let next = (curr & !WAITING) + (added << SHIFT);
            // Fast paths may still race us here if `WAITING` was already clear.
            match self
                .word
                .compare_exchange_weak(curr, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => curr = actual,
            }
        }
    }

    /// The slow path of a first poll: takes the permits if they turned up, else takes what
    /// is there and queues `waiter` for the rest.
    fn enqueue(&self, waiter: &Waiter, n: usize, waker: &Waker) -> Poll<Result<(), AcquireError>> {
        let mut queue = self.lock();
        let mut curr = self.word.load(Ordering::Relaxed);
        let taken = loop {
            if curr & CLOSED != 0 {
                return Poll::Ready(Err(AcquireError(())));
            }
            let available = curr >> SHIFT;
            let (next, taken) = if available >= n {
                // Released since the lock-free attempt (so `WAITING` is clear).
                (curr - (n << SHIFT), n)
            } else {
                // Take what there is and mark the queue non-empty, in one step, so that
                // any later release takes the lock (invariants 1-3).
                (curr & CLOSED | WAITING, available)
            };
            match self
                .word
                .compare_exchange_weak(curr, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break taken,
                Err(actual) => curr = actual,
            }
        };
        if taken == n {
            return Poll::Ready(Ok(()));
        }
        waiter.owed.store(n - taken, Ordering::Relaxed);
        // SAFETY: we hold the lock of the list it is about to enter.
        let replaced = unsafe { waiter.set_waker(waker) };
        // SAFETY: `waiter` is in no list (its `Acquire` was not queued) and lives in a
        // pinned `Acquire`, whose `Drop` unlinks it under this lock.
        unsafe { queue.push_back(NonNull::from(waiter)) };
        drop(queue);
        drop(replaced);
        Poll::Pending
    }
}

/// The future of [`BatchSemaphore::acquire`].
///
/// Dropping it before it completes gives back every permit it was handed.
pub(crate) struct Acquire<'a> {
    semaphore: &'a BatchSemaphore,
    /// Our node; in the queue while `queued` and `owed > 0`.
    waiter: Waiter,
    /// How many permits we want.
    permits: usize,
    /// We queued `waiter` and have not completed: dropping must unlink it and give back
    /// what it was handed.
    queued: bool,
}

impl Acquire<'_> {
    /// Polls without spending cooperative budget: always registers the waker if it
    /// returns `Pending`. A condition variable needs that, to queue before it unlocks.
    pub(crate) fn poll_acquire(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        // SAFETY: nothing is moved out of `this`; `waiter` stays where it is.
        let this = unsafe { self.get_unchecked_mut() };
        let semaphore = this.semaphore;
        if !this.queued {
            match semaphore.try_acquire(this.permits) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(TryAcquireError::Closed) => return Poll::Ready(Err(AcquireError(()))),
                Err(TryAcquireError::NoPermits) => {}
            }
            let poll = semaphore.enqueue(&this.waiter, this.permits, cx.waker());
            this.queued = poll.is_pending();
            return poll;
        }

        // Served and unlinked: no lock needed (invariant 4).
        if this.waiter.owed.load(Ordering::Acquire) == 0 {
            this.queued = false;
            return Poll::Ready(Ok(()));
        }
        let queue = semaphore.lock();
        let owed = this.waiter.owed.load(Ordering::Relaxed);
        if owed == 0 {
            drop(queue);
            this.queued = false;
            return Poll::Ready(Ok(()));
        }
        if semaphore.word.load(Ordering::Relaxed) & CLOSED != 0 {
            this.queued = false;
            this.give_back(owed, queue);
            return Poll::Ready(Err(AcquireError(())));
        }
        // SAFETY: we hold the lock of the list our waiter is in.
        let replaced = unsafe { this.waiter.set_waker(cx.waker()) };
        drop(queue);
        drop(replaced);
        Poll::Pending
    }

    /// Unlinks our waiter (if still queued) and releases the permits it was handed.
    fn give_back<'a>(&'a self, owed: usize, mut queue: MutexGuard<'a, WaiterList>) {
        // SAFETY: our waiter is alive, and in this semaphore's list or in none.
        unsafe { queue.remove(NonNull::from(&self.waiter)) };
        // Even with nothing to give, this re-syncs `WAITING` if we were the last.
        self.semaphore.release_locked(self.permits - owed, queue);
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = ready!(coop::poll_proceed(cx));
        let poll = self.poll_acquire(cx);
        if poll.is_ready() {
            coop.made_progress();
        }
        poll
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if !self.queued {
            return;
        }
        if self.waiter.owed.load(Ordering::Acquire) == 0 {
            // Served but never polled again: unlinked already; pass everything on.
            self.semaphore.release(self.permits);
            return;
        }
        let queue = self.semaphore.lock();
        let owed = self.waiter.owed.load(Ordering::Relaxed);
        self.give_back(owed, queue);
    }
}

/// Wakers taken out under the lock, woken once it is released (or on unwinding).
struct WakeList {
    wakers: [Option<Waker>; WAKE_BATCH],
    len: usize,
}

impl WakeList {
    fn new() -> WakeList {
        WakeList {
            wakers: [const { None }; WAKE_BATCH],
            len: 0,
        }
    }

    fn is_full(&self) -> bool {
        self.len == WAKE_BATCH
    }

    fn push(&mut self, waker: Option<Waker>) {
        self.wakers[self.len] = waker;
        self.len += 1;
    }

    fn wake_all(mut self) {
        self.wake_pending();
    }

    fn wake_pending(&mut self) {
        for waker in &mut self.wakers[..self.len] {
            if let Some(waker) = waker.take() {
                waker.wake();
            }
        }
        self.len = 0;
    }
}

impl Drop for WakeList {
    fn drop(&mut self) {
        // Only non-empty if a panic cut a release short: still wake whoever was served.
        self.wake_pending();
    }
}
