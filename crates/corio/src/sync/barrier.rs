//! A meeting point for a fixed number of tasks: tokio's and asyncio's `Barrier`.
//!
//! A [`Barrier`] for `n` parties holds every task that calls [`wait`](Barrier::wait) until
//! `n` of them are waiting; then it releases them all at once and starts over, so it can be
//! used again and again (each round is a *generation*). In every generation exactly one task,
//! the one whose arrival completed it, gets a [`BarrierWaitResult`] whose
//! [`is_leader`](BarrierWaitResult::is_leader) is `true`.
//!
//! ```
//! use std::sync::Arc;
//! use corio::sync::Barrier;
//!
//! corio::run(async {
//!     let barrier = Arc::new(Barrier::new(3));
//!     let tasks: Vec<_> = (0..3)
//!         .map(|_| {
//!             let barrier = barrier.clone();
//!             corio::spawn(async move { barrier.wait().await.is_leader() })
//!         })
//!         .collect();
//!     let mut leaders = 0;
//!     for task in tasks {
//!         leaders += task.await.unwrap() as usize;
//!     }
//!     assert_eq!(leaders, 1);
//! });
//! ```
//!
//! # Cancellation
//!
//! A task counts as arrived from the first poll of its `wait` until the barrier releases
//! it. If its `wait` is dropped before that (cancelled, or timed out), it *withdraws*: it no
//! longer counts, and the barrier still needs `n` tasks waiting at once to release them. So
//! every task of a generation returns from `wait`, and one of them is the leader.
//!
//! This follows asyncio, whose cancelled `wait` withdraws too. **tokio differs**: there a
//! task that arrived keeps counting after its `wait` is dropped, so the others can be
//! released with fewer than `n` tasks really waiting.
//!
//! # How it works
//!
//! A mutex guards the number of tasks arrived in the current generation and the generation
//! number. The arrival that completes a generation resets the count, advances the number,
//! unlocks and calls [`Notify::notify_waiters`]. Any other arrival creates its
//! [`Notified`](super::Notified) future under the lock, so it cannot miss the
//! `notify_waiters` of its own generation, then waits until the generation number has moved
//! on (it may be woken once early by the previous generation's call, which can come after
//! the number moved). A dropped `wait` decrements the count under the lock if its generation
//! is still the current one.

use std::fmt;
use std::sync::PoisonError;

use super::Notify;
use crate::loom::sync::{Mutex, MutexGuard};
use crate::scheduler::coop;

/// Holds tasks until a fixed number of them wait, then releases them together; see the
/// [module docs](self).
pub struct Barrier {
    state: Mutex<State>,
    /// How many tasks each generation needs (at least 1).
    parties: usize,
    /// Notified (`notify_waiters`) when a generation completes.
    released: Notify,
}

struct State {
    /// Tasks waiting in the current generation.
    arrived: usize,
    /// The current generation's number.
    generation: u64,
}

/// What [`Barrier::wait`] returns: whether this task was the generation's leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    is_leader: bool,
}

impl BarrierWaitResult {
    /// True for exactly one task per generation: the one whose arrival released it.
    pub fn is_leader(&self) -> bool {
        self.is_leader
    }
}

impl Barrier {
    /// Creates a barrier that releases its waiting tasks once `parties` of them wait.
    ///
    /// A barrier for 0 parties behaves like one for 1, as in tokio: every `wait` returns at
    /// once, as the leader.
    pub fn new(parties: usize) -> Barrier {
        Barrier {
            state: Mutex::new(State {
                arrived: 0,
                generation: 0,
            }),
            parties: parties.max(1),
            released: Notify::new(),
        }
    }

    /// How many tasks a generation needs (asyncio's `parties`).
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many tasks wait in the current generation (asyncio's `n_waiting`).
    pub fn n_waiting(&self) -> usize {
        self.lock().arrived
    }

    /// Waits until `parties` tasks wait, including this one; then all return, one of them as
    /// the [leader](BarrierWaitResult::is_leader).
    ///
    /// Cancellation-safe: a `wait` dropped before the barrier releases it withdraws its
    /// arrival (see the [module docs](self)). Spends one unit of the task's cooperative
    /// budget.
    pub async fn wait(&self) -> BarrierWaitResult {
        // A barrier of one party never waits: spend budget so a loop on it still yields.
        std::future::poll_fn(|cx| coop::poll_proceed(cx).map(|unit| unit.made_progress())).await;

        let (generation, mut notified) = {
            let mut state = self.lock();
            state.arrived += 1;
            if state.arrived == self.parties {
                state.arrived = 0;
                state.generation = state.generation.wrapping_add(1);
                drop(state);
                self.released.notify_waiters();
                return BarrierWaitResult { is_leader: true };
            }
            // Created under the lock: this generation's `notify_waiters` comes after it.
            (state.generation, self.released.notified())
        };
        let mut arrival = Arrival {
            barrier: self,
            generation,
            released: false,
        };
        loop {
            notified.await;
            let state = self.lock();
            if state.generation != generation {
                break;
            }
            // Woken by the previous generation's release: wait for ours.
            notified = self.released.notified();
        }
        arrival.released = true;
        BarrierWaitResult { is_leader: false }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is updated in single steps with no user code between them.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A task's arrival in a generation; withdraws it if dropped before the release.
struct Arrival<'a> {
    barrier: &'a Barrier,
    generation: u64,
    released: bool,
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let mut state = self.barrier.lock();
        if state.generation == self.generation {
            state.arrived -= 1;
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &self.n_waiting())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model-checked races (`RUSTFLAGS="--cfg loom" cargo test --release --lib barrier::loom`).
    use super::*;
    use crate::sync::notify::loom_tests::block_on;
    use loom::thread;
    use std::sync::Arc;

    #[test]
    fn two_parties_meet_with_one_leader() {
        loom::model(|| {
            let barrier = Arc::new(Barrier::new(2));
            let other = thread::spawn({
                let barrier = barrier.clone();
                move || block_on(barrier.wait()).is_leader()
            });
            let mine = block_on(barrier.wait()).is_leader();
            let theirs = other.join().unwrap();
            assert!(mine != theirs, "exactly one leader");
            assert_eq!(barrier.n_waiting(), 0);
        });
    }
}
