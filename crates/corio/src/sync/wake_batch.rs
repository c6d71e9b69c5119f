//! `WakeBatch`: wakers taken out under a lock, woken once it is released.
//!
//! Waking under a lock would run arbitrary waker code (and cross-thread unparks) while other
//! tasks wait for that lock; a fixed-size batch keeps the wake-ups allocation-free, and a
//! caller with more waiters than fit relocks for the next batch.

use std::task::Waker;

/// Up to `N` wakers, woken together by [`wake_all`](WakeBatch::wake_all).
pub(crate) struct WakeBatch<const N: usize> {
    wakers: [Option<Waker>; N],
    len: usize,
}

impl<const N: usize> WakeBatch<N> {
    pub(crate) fn new() -> WakeBatch<N> {
        WakeBatch {
            wakers: [const { None }; N],
            len: 0,
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == N
    }

    /// Adds a waker; the caller checks [`is_full`](WakeBatch::is_full) first.
    pub(crate) fn push(&mut self, waker: Waker) {
        self.wakers[self.len] = Some(waker);
        self.len += 1;
    }

    pub(crate) fn wake_all(mut self) {
        for waker in &mut self.wakers[..self.len] {
            if let Some(waker) = waker.take() {
                waker.wake();
            }
        }
    }
}
