//! `ReadyQueue`: which members of a future set were woken since their last poll.
//!
//! Each member of a set gets its own [`Waker`] (a [`MemberWaker`]: the queue plus the
//! member's index). Waking it pushes the index onto the queue, at most once until the poller
//! takes it, and wakes the task polling the set if that task is waiting. The poller takes the
//! whole queue at once ([`ReadyQueue::take_ready`]) and polls just those members, so a poll of
//! the set costs O(members woken), not O(members).
//!
//! # Invariants
//!
//! Everything is behind one `Mutex` (held only for a few word-sized writes, never while user
//! code runs; wakers are woken and dropped after it is released):
//!
//! - `queued[i]` is true exactly when `i` is in `ready`, so an index is queued at most once.
//! - `waiting` holds the poller's waker from the moment it took the queue until the next wake
//!   takes it out. A wake that queues an index takes the waker and wakes it; while `waiting`
//!   is empty the poller is already due to run (or is running) and will take the queue.
//!
//! No wake-up is lost: `take_ready` registers the waker and empties the queue under the same
//! lock, so a wake either lands before it (and its index is taken now) or after it (and finds
//! the waker registered, or finds it already taken by an earlier wake that will bring the
//! poller back).

use std::mem;
use std::sync::PoisonError;
use std::task::{Wake, Waker};

use crate::loom::sync::Mutex;

/// The woken members of a future set, in wake order, each at most once.
#[derive(Debug)]
pub(super) struct ReadyQueue {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Members woken and not yet taken by the poller.
    ready: Vec<usize>,
    /// `queued[i]`: member `i` is in `ready`.
    queued: Vec<bool>,
    /// The poller's waker, while it waits for a wake.
    waiting: Option<Waker>,
}

impl ReadyQueue {
    /// A queue for `len` members, every one of them queued: each needs a first poll.
    pub(super) fn new(len: usize) -> ReadyQueue {
        ReadyQueue {
            state: Mutex::new(State {
                ready: (0..len).collect(),
                queued: vec![true; len],
                waiting: None,
            }),
        }
    }

    /// Queues member `index` (unless it already is) and wakes the poller if it is waiting.
    pub(super) fn wake(&self, index: usize) {
        let poller = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if mem::replace(&mut state.queued[index], true) {
                return;
            }
            state.ready.push(index);
            state.waiting.take()
        };
        if let Some(poller) = poller {
            poller.wake();
        }
    }

    /// Moves every queued index into `into` (which must be empty) and registers `waker` to be
    /// woken by the next wake. The two buffers swap, so neither reallocates once both have
    /// grown to the largest batch.
    pub(super) fn take_ready(&self, waker: &Waker, into: &mut Vec<usize>) {
        debug_assert!(into.is_empty());
        let stale = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let state = &mut *state;
            mem::swap(&mut state.ready, into);
            for &index in into.iter() {
                state.queued[index] = false;
            }
            match &state.waiting {
                Some(current) if current.will_wake(waker) => None,
                _ => state.waiting.replace(waker.clone()),
            }
        };
        // A replaced waker may be the last reference to its task: drop it outside the lock.
        drop(stale);
    }
}

/// The waker of one member of a set: waking it queues the member's index.
#[derive(Debug)]
pub(super) struct MemberWaker {
    queue: std::sync::Arc<ReadyQueue>,
    index: usize,
}

impl MemberWaker {
    /// One waker per member, `0..len`.
    pub(super) fn for_members(queue: &std::sync::Arc<ReadyQueue>, len: usize) -> Box<[Waker]> {
        (0..len)
            .map(|index| {
                Waker::from(std::sync::Arc::new(MemberWaker {
                    queue: queue.clone(),
                    index,
                }))
            })
            .collect()
    }
}

impl Wake for MemberWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.queue.wake(self.index);
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.queue.wake(self.index);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::CountingWaker;
    use std::sync::Arc;

    #[test]
    fn every_member_starts_queued() {
        let queue = ReadyQueue::new(3);
        let mut batch = Vec::new();
        queue.take_ready(Waker::noop(), &mut batch);
        assert_eq!(batch, [0, 1, 2]);
    }

    #[test]
    fn a_member_is_queued_once_until_taken() {
        let queue = Arc::new(ReadyQueue::new(3));
        let (poller, waker) = CountingWaker::new();
        let mut batch = Vec::new();
        queue.take_ready(&waker, &mut batch);
        batch.clear();

        let wakers = MemberWaker::for_members(&queue, 3);
        wakers[2].wake_by_ref();
        wakers[2].wake_by_ref();
        wakers[0].wake_by_ref();
        // Only the first wake finds the poller waiting.
        assert_eq!(poller.wakes(), 1);

        queue.take_ready(&waker, &mut batch);
        assert_eq!(batch, [2, 0]);
        batch.clear();

        // Taken indices can be queued again, and the poller is waiting again.
        wakers[2].wake_by_ref();
        assert_eq!(poller.wakes(), 2);
        queue.take_ready(&waker, &mut batch);
        assert_eq!(batch, [2]);
    }

    #[test]
    fn the_latest_waker_is_woken() {
        let queue = Arc::new(ReadyQueue::new(1));
        let (first, first_waker) = CountingWaker::new();
        let (second, second_waker) = CountingWaker::new();
        let mut batch = Vec::new();
        queue.take_ready(&first_waker, &mut batch);
        batch.clear();
        queue.take_ready(&second_waker, &mut batch);
        assert!(batch.is_empty());

        queue.wake(0);
        assert_eq!(first.wakes(), 0);
        assert_eq!(second.wakes(), 1);
    }

    #[test]
    fn wakes_from_many_threads_are_all_delivered() {
        let members = 64;
        let queue = Arc::new(ReadyQueue::new(members));
        let mut batch = Vec::new();
        queue.take_ready(Waker::noop(), &mut batch);
        batch.clear();
        let wakers = MemberWaker::for_members(&queue, members);
        std::thread::scope(|scope| {
            for chunk in wakers.chunks(16) {
                scope.spawn(move || chunk.iter().for_each(Waker::wake_by_ref));
            }
        });
        queue.take_ready(Waker::noop(), &mut batch);
        batch.sort_unstable();
        assert_eq!(batch, (0..members).collect::<Vec<_>>());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model-checked races (`RUSTFLAGS="--cfg loom" cargo test --release --lib future::`).
    //!
    //! The poller waits on a `loom::sync::Notify` between takes and resumes only when a wake
    //! notifies it, so a lost wake-up shows up as a deadlock that loom reports. (A `Notify`
    //! rather than thread park/unpark: a late unpark would hit the poller inside `join`.)
    use super::*;
    use loom::sync::Notify;
    use loom::thread;
    use std::sync::Arc;

    /// Takes the queue until every index in `wanted` has been seen, waiting in between.
    fn take_until_seen(queue: &ReadyQueue, wanted: &[usize]) -> Vec<usize> {
        struct Notifier(Notify);
        impl Wake for Notifier {
            fn wake(self: Arc<Self>) {
                self.0.notify();
            }
        }
        let notifier = Arc::new(Notifier(Notify::new()));
        let waker = Waker::from(notifier.clone());
        let mut seen = Vec::new();
        let mut batch = Vec::new();
        loop {
            queue.take_ready(&waker, &mut batch);
            seen.append(&mut batch);
            if wanted.iter().all(|index| seen.contains(index)) {
                return seen;
            }
            notifier.0.wait();
        }
    }

    /// Takes the initial queue (every member), so the model starts with nothing queued.
    fn drained(len: usize) -> Arc<ReadyQueue> {
        let queue = Arc::new(ReadyQueue::new(len));
        let mut batch = Vec::new();
        queue.take_ready(Waker::noop(), &mut batch);
        queue
    }

    #[test]
    fn wake_races_take() {
        loom::model(|| {
            let queue = drained(2);
            let wakers = MemberWaker::for_members(&queue, 2);
            let member = wakers[1].clone();
            let waker_thread = thread::spawn(move || member.wake());
            let seen = take_until_seen(&queue, &[1]);
            assert_eq!(seen, [1]);
            waker_thread.join().unwrap();
        });
    }

    #[test]
    fn two_wakers_race_take() {
        loom::model(|| {
            let queue = drained(2);
            let wakers = MemberWaker::for_members(&queue, 2);
            let threads: Vec<_> = wakers
                .iter()
                .cloned()
                .map(|member| thread::spawn(move || member.wake()))
                .collect();
            let mut seen = take_until_seen(&queue, &[0, 1]);
            seen.sort_unstable();
            assert_eq!(seen, [0, 1], "each index is delivered exactly once");
            for thread in threads {
                thread.join().unwrap();
            }
        });
    }

    #[test]
    fn rewake_after_take_is_delivered() {
        // A member woken, taken, and woken again while the poller is between takes (as when
        // its poll returns Pending and a wake arrives from another thread right away).
        loom::model(|| {
            let queue = drained(1);
            let wakers = MemberWaker::for_members(&queue, 1);
            let member = wakers[0].clone();
            let waker_thread = thread::spawn(move || {
                member.wake_by_ref();
                member.wake_by_ref();
            });
            let seen = take_until_seen(&queue, &[0]);
            assert!(!seen.is_empty());
            waker_thread.join().unwrap();
            // Whatever the interleaving, nothing stays queued that was not reported, and the
            // second wake was not lost: either it merged with the first or it is queued now.
            let mut rest = Vec::new();
            queue.take_ready(Waker::noop(), &mut rest);
            assert!(seen.len() + rest.len() >= 1 && seen.len() + rest.len() <= 2);
        });
    }
}
