//! `AtomicWaker`: one task's waker, registered by that task and woken by anyone.
//!
//! A receiver (of an `mpsc` channel, or each `broadcast` receiver) registers here before it
//! parks; a sender (or a closer) that must wake it calls [`AtomicWaker::wake`]. The slot is guarded by a small state word
//! instead of a lock:
//!
//! | state          | meaning                                                        |
//! |----------------|----------------------------------------------------------------|
//! | `IDLE`         | nobody is touching the slot                                    |
//! | `REGISTERING`  | the owner is replacing the waker: it alone touches the slot    |
//! | `WAKING`       | a waker is reading the slot to wake it: it alone touches it    |
//! | both           | a wake came in while the owner was registering                 |
//!
//! Only one task registers (the receiver that owns the slot), so `REGISTERING` is never
//! contended; wakers contend only among themselves, and a wake that finds another one in
//! progress skips, because the one in progress wakes the same task.
//!
//! **No wake-up is lost.** `register` ends with a read-modify-write back to `IDLE`; `wake`
//! starts with one that sets `WAKING`. If the wake comes second, it reads the new waker. If
//! it comes while the owner registers, the owner's final compare-exchange fails and the
//! owner wakes its own new waker. If it comes first, the owner's first compare-exchange
//! reads the state the wake (or a later one) left, so the owner sees everything the waking
//! thread did before it woke: the condition it then re-checks is already visible. This is
//! the protocol of `futures::task::AtomicWaker`. A wake takes the waker out and wakes it after
//! releasing the slot, so the owner never finds the slot busy for longer than that swap.

use std::fmt;
use std::task::Waker;

use crate::loom::UnsafeCell;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};

const IDLE: usize = 0;
const REGISTERING: usize = 0b01;
const WAKING: usize = 0b10;

/// A waker slot one task registers in and any thread wakes; see the module docs.
pub(crate) struct AtomicWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the slot is only touched by whoever moved the state out of `IDLE` (see the module
// docs), so access is exclusive; `Waker` is `Send + Sync`.
unsafe impl Send for AtomicWaker {}
// SAFETY: as above.
unsafe impl Sync for AtomicWaker {}

impl AtomicWaker {
    pub(crate) fn new() -> AtomicWaker {
        AtomicWaker {
            state: AtomicUsize::new(IDLE),
            waker: UnsafeCell::new(None),
        }
    }

    /// Makes `waker` the one the next [`wake`](AtomicWaker::wake) wakes.
    ///
    /// Only one task may call this (and [`take`](AtomicWaker::take)) at a time. A wake that
    /// races the registration wakes `waker` itself, here.
    pub(crate) fn register(&self, waker: &Waker) {
        match self
            .state
            .compare_exchange(IDLE, REGISTERING, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => {
                // SAFETY: `REGISTERING` is ours: no waker reads the slot until we leave it.
                let replaced = self.waker.with_mut(|slot| unsafe {
                    match &*slot {
                        Some(old) if old.will_wake(waker) => None,
                        _ => (*slot).replace(waker.clone()),
                    }
                });
                if self
                    .state
                    .compare_exchange(REGISTERING, IDLE, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    // A wake came in while we registered and skipped the slot: it may have
                    // been meant for this registration, so wake it here.
                    self.state.swap(IDLE, Ordering::AcqRel);
                    waker.wake_by_ref();
                }
                // Dropped outside the protocol: a waker's drop may run arbitrary code.
                drop(replaced);
            }
            Err(_) => {
                // A wake is taking the old waker out right now (a few instructions): it may
                // have been meant for this registration, so wake the new waker ourselves.
                waker.wake_by_ref();
                // Under loom, let the waking thread run (the task will be polled again at
                // once, and would otherwise find the slot busy forever in the model).
                #[cfg(loom)]
                loom::thread::yield_now();
            }
        }
    }

    /// Wakes the registered waker, if any. The waker is taken out first and woken after the
    /// slot is released: waking may take a while (a syscall to unpark a thread, or a
    /// preemption), and the owner must not find the slot busy meanwhile.
    pub(crate) fn wake(&self) {
        if let Some(waker) = self.take_waker() {
            waker.wake();
        }
    }

    /// Takes the waker out to wake it, as [`wake`](AtomicWaker::wake) does, for a caller
    /// that must wake it later (after unlocking something). `None` if there is none, or if
    /// the owner is registering a new one right now: it then wakes that one itself.
    pub(crate) fn take_waker(&self) -> Option<Waker> {
        if self.state.fetch_or(WAKING, Ordering::AcqRel) != IDLE {
            // The owner is registering (and will wake itself, seeing `WAKING`), or another
            // wake is taking the waker, to wake the same task.
            return None;
        }
        // SAFETY: we moved the state from `IDLE` to `WAKING`: the slot is ours until we
        // clear it.
        let waker = self.waker.with_mut(|slot| unsafe { (*slot).take() });
        self.state.fetch_and(!WAKING, Ordering::Release);
        waker
    }

    /// Takes the registered waker out, so it no longer keeps its task alive.
    ///
    /// The registering task only (as for [`register`](AtomicWaker::register)).
    pub(crate) fn take(&self) -> Option<Waker> {
        if self
            .state
            .compare_exchange(IDLE, REGISTERING, Ordering::Acquire, Ordering::Acquire)
            .is_err()
        {
            // A wake is reading the slot; the waker goes with the channel instead.
            return None;
        }
        // SAFETY: `REGISTERING` is ours.
        let waker = self.waker.with_mut(|slot| unsafe { (*slot).take() });
        // A wake that came in meanwhile found no one to wake but the one we took, which
        // belongs to a task that is going away.
        self.state.swap(IDLE, Ordering::AcqRel);
        waker
    }
}

impl fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicWaker").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::CountingWaker;
    use std::sync::Arc;

    #[test]
    fn wake_without_registration_does_nothing() {
        AtomicWaker::new().wake();
    }

    #[test]
    fn wake_takes_the_waker() {
        let slot = AtomicWaker::new();
        let (count, waker) = CountingWaker::new();
        slot.register(&waker);
        slot.wake();
        assert_eq!(count.wakes(), 1);
        assert_eq!(Arc::strong_count(&count), 2, "the slot let go of its clone");
        slot.wake();
        assert_eq!(count.wakes(), 1, "nothing registered any more");
        slot.register(&waker);
        assert!(slot.take().is_some());
        slot.wake();
        assert_eq!(count.wakes(), 1);
    }

    #[test]
    fn same_task_is_not_cloned_again() {
        let slot = AtomicWaker::new();
        let (count, waker) = CountingWaker::new();
        slot.register(&waker);
        assert_eq!(Arc::strong_count(&count), 3);
        slot.register(&waker);
        assert_eq!(Arc::strong_count(&count), 3);
        let (other_count, other) = CountingWaker::new();
        slot.register(&other);
        assert_eq!(Arc::strong_count(&count), 2, "the old waker was dropped");
        slot.wake();
        assert_eq!((count.wakes(), other_count.wakes()), (0, 1));
    }

    #[test]
    fn registering_during_a_wake_wakes_the_new_waker() {
        let slot = AtomicWaker::new();
        let (count, waker) = CountingWaker::new();
        // Pretend a wake is in progress.
        slot.state.store(WAKING, Ordering::SeqCst);
        slot.register(&waker);
        assert_eq!(count.wakes(), 1);
        assert!(slot.take().is_none(), "a wake holds the slot");
        slot.state.store(IDLE, Ordering::SeqCst);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// A waker that counts its wake-ups.
    struct Counter(AtomicUsize);

    impl std::task::Wake for Counter {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Explores every interleaving with up to 3 preemptions (unless `LOOM_MAX_PREEMPTIONS`
    /// says otherwise).
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = builder.preemption_bound.or(Some(3));
        builder.check(f);
    }

    #[test]
    fn a_wake_after_the_flag_is_never_lost() {
        // The owner registers, then checks a flag; the waker sets the flag, then wakes. Either
        // the owner sees the flag or its waker is woken.
        model(|| {
            let slot = Arc::new(AtomicWaker::new());
            let flag = Arc::new(AtomicUsize::new(0));
            let counter = std::sync::Arc::new(Counter(AtomicUsize::new(0)));
            let waker = Waker::from(counter.clone());

            let waking = {
                let (slot, flag) = (slot.clone(), flag.clone());
                thread::spawn(move || {
                    flag.store(1, Ordering::Release);
                    slot.wake();
                })
            };
            slot.register(&waker);
            let seen = flag.load(Ordering::Acquire) == 1;
            waking.join().unwrap();
            assert!(seen || counter.0.load(Ordering::SeqCst) >= 1);
        });
    }

    #[test]
    fn two_wakes_race_a_registration() {
        model(|| {
            let slot = Arc::new(AtomicWaker::new());
            let flag = Arc::new(AtomicUsize::new(0));
            let counter = std::sync::Arc::new(Counter(AtomicUsize::new(0)));
            let waker = Waker::from(counter.clone());
            let wakers: Vec<_> = (0..2)
                .map(|_| {
                    let (slot, flag) = (slot.clone(), flag.clone());
                    thread::spawn(move || {
                        flag.fetch_add(1, Ordering::AcqRel);
                        slot.wake();
                    })
                })
                .collect();
            slot.register(&waker);
            let seen = flag.load(Ordering::Acquire);
            for thread in wakers {
                thread.join().unwrap();
            }
            // Both flags seen, or a wake-up follows the last one we missed.
            assert!(seen == 2 || counter.0.load(Ordering::SeqCst) >= 1);
        });
    }
}
