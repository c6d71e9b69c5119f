//! The task state word: lifecycle flags in the low bits, a reference count above them.
//!
//! | bit | flag            | meaning                                                        |
//! |-----|-----------------|----------------------------------------------------------------|
//! | 0   | `RUNNING`       | someone owns the future: it is being polled or cancelled       |
//! | 1   | `COMPLETE`      | the future is gone; the stage holds the output (or nothing)    |
//! | 2   | `NOTIFIED`      | a `Notified` for this task exists (queued, or will be on idle)  |
//! | 3   | `JOIN_INTEREST` | a `JoinHandle` exists and may read the output                  |
//! | 4   | `JOIN_WAKER`    | the trailer's join waker is set and owned by the runtime side  |
//! | 5   | `CANCELLED`     | abort or shutdown asked the task to drop its future            |
//! | 6.. | refcount        | `Task`, `Notified`, `JoinHandle` and `Waker`s each hold one    |
//!
//! Invariants kept by every transition below:
//! - `RUNNING` and `COMPLETE` are never both set; `COMPLETE` is never cleared.
//! - At most one `Notified` exists at a time, and it exists iff `NOTIFIED` is set and the task
//!   is idle (neither running nor complete) — while running, `NOTIFIED` asks the poller to
//!   reschedule the task itself once the poll returns.
//! - Only the holder of `RUNNING` touches the stage until `COMPLETE`; after `COMPLETE` only the
//!   join handle (if `JOIN_INTEREST` was set at completion) or the runtime (otherwise) does.
//! - While `JOIN_WAKER` is clear and the task is not complete, the join handle owns the trailer's
//!   waker slot; while it is set, the runtime may read it (only after setting `COMPLETE`).

use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};

const RUNNING: usize = 1 << 0;
const COMPLETE: usize = 1 << 1;
const NOTIFIED: usize = 1 << 2;
const JOIN_INTEREST: usize = 1 << 3;
const JOIN_WAKER: usize = 1 << 4;
const CANCELLED: usize = 1 << 5;
const LIFECYCLE: usize = RUNNING | COMPLETE;
const REF_SHIFT: u32 = 6;
const REF_ONE: usize = 1 << REF_SHIFT;

/// A new task is referenced by the owned list, its `JoinHandle` and its first `Notified`.
const INITIAL: usize = (REF_ONE * 3) | JOIN_INTEREST | NOTIFIED;

pub(crate) struct State(AtomicUsize);

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// The caller now owns the future and should poll it.
    Success,
    /// The caller owns the future and must cancel it.
    Cancelled,
    /// The task was not idle; the `Notified`'s reference was dropped.
    Failed,
    /// As `Failed`, and that was the last reference.
    Dealloc,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Idle; the poll's reference was dropped.
    Ok,
    /// Woken during the poll: the poll's reference becomes a new `Notified` to submit.
    OkNotified,
    /// Idle, and the poll's reference was the last one.
    OkDealloc,
    /// Aborted during the poll: still running, the caller must cancel.
    Cancelled,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    DoNothing,
    /// The caller holds a new `Notified` (one reference) and must schedule it.
    Submit,
    /// By-value wake dropped the last reference.
    Dealloc,
}

impl State {
    pub(crate) fn new() -> State {
        State(AtomicUsize::new(INITIAL))
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Acquire))
    }

    /// Applies `f` in a CAS loop; `f` returns the new value or `None` to leave the word alone.
    fn fetch_update<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (out, next) = f(curr);
            let Some(next) = next else { return out };
            match self
                .0
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return out,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// Called with the reference of a `Notified` that is about to run.
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.fetch_update(|mut s| {
            debug_assert!(s.is_notified());
            if !s.is_idle() {
                s.ref_dec();
                let out = if s.ref_count() == 0 {
                    ToRunning::Dealloc
                } else {
                    ToRunning::Failed
                };
                return (out, Some(s));
            }
            s.0 |= RUNNING;
            s.0 &= !NOTIFIED;
            let out = if s.is_cancelled() {
                ToRunning::Cancelled
            } else {
                ToRunning::Success
            };
            (out, Some(s))
        })
    }

    /// After a `Pending` poll. The poll's reference is dropped, or reused if woken meanwhile.
    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        self.fetch_update(|mut s| {
            debug_assert!(s.is_running());
            if s.is_cancelled() {
                return (ToIdle::Cancelled, None);
            }
            s.0 &= !RUNNING;
            if s.is_notified() {
                (ToIdle::OkNotified, Some(s))
            } else {
                s.ref_dec();
                let out = if s.ref_count() == 0 {
                    ToIdle::OkDealloc
                } else {
                    ToIdle::Ok
                };
                (out, Some(s))
            }
        })
    }

    /// RUNNING -> COMPLETE. Returns the snapshot after the change.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.0.fetch_xor(LIFECYCLE, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        Snapshot(prev.0 ^ LIFECYCLE)
    }

    /// Drops `count` references after completion; true if none remain.
    pub(crate) fn transition_to_terminal(&self, count: usize) -> bool {
        let prev = Snapshot(self.0.fetch_sub(count * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= count, "task refcount underflow");
        prev.ref_count() == count
    }

    /// Wake through an owned `Waker` (its reference is consumed).
    pub(crate) fn transition_to_notified_by_val(&self) -> Wake {
        self.fetch_update(|mut s| {
            if s.is_running() {
                s.0 |= NOTIFIED;
                s.ref_dec();
                debug_assert!(s.ref_count() > 0, "the poller holds a reference");
                (Wake::DoNothing, Some(s))
            } else if s.is_complete() || s.is_notified() {
                s.ref_dec();
                let out = if s.ref_count() == 0 {
                    Wake::Dealloc
                } else {
                    Wake::DoNothing
                };
                (out, Some(s))
            } else {
                // The waker's reference moves to the new `Notified`.
                s.0 |= NOTIFIED;
                (Wake::Submit, Some(s))
            }
        })
    }

    /// Wake through a borrowed `Waker`.
    pub(crate) fn transition_to_notified_by_ref(&self) -> Wake {
        self.fetch_update(|mut s| {
            if s.is_complete() || s.is_notified() {
                (Wake::DoNothing, None)
            } else if s.is_running() {
                s.0 |= NOTIFIED;
                (Wake::DoNothing, Some(s))
            } else {
                s.0 |= NOTIFIED;
                s.ref_inc();
                (Wake::Submit, Some(s))
            }
        })
    }

    /// Abort: marks the task cancelled. True if the caller holds a new `Notified` to schedule
    /// (the task was idle); otherwise whoever runs or queues it will see `CANCELLED`.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> bool {
        self.fetch_update(|mut s| {
            if s.is_complete() || s.is_cancelled() {
                return (false, None);
            }
            s.0 |= CANCELLED;
            if s.is_running() || s.is_notified() {
                s.0 |= NOTIFIED;
                (false, Some(s))
            } else {
                s.0 |= NOTIFIED;
                s.ref_inc();
                (true, Some(s))
            }
        })
    }

    /// Runtime shutdown: marks the task cancelled and, if it was idle, takes ownership of the
    /// future (sets `RUNNING`). True means the caller must cancel and complete the task.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.fetch_update(|mut s| {
            let idle = s.is_idle();
            if idle {
                s.0 |= RUNNING;
            }
            s.0 |= CANCELLED;
            (idle, Some(s))
        })
    }

    /// Fast path for dropping a join handle of a task that has not run yet.
    pub(crate) fn drop_join_handle_fast(&self) -> bool {
        self.0
            .compare_exchange(
                INITIAL,
                (INITIAL - REF_ONE) & !JOIN_INTEREST,
                Release,
                Relaxed,
            )
            .is_ok()
    }

    /// Clears `JOIN_INTEREST` unless the task is complete (then the handle owns the output).
    pub(crate) fn unset_join_interested(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|mut s| {
            debug_assert!(s.is_join_interested());
            if s.is_complete() {
                return (Err(s), None);
            }
            s.0 &= !JOIN_INTEREST;
            (Ok(s), Some(s))
        })
    }

    /// Publishes the join waker the handle just stored. Fails if the task completed first.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|mut s| {
            debug_assert!(s.is_join_interested() && !s.is_join_waker_set());
            if s.is_complete() {
                return (Err(s), None);
            }
            s.0 |= JOIN_WAKER;
            (Ok(s), Some(s))
        })
    }

    /// Takes the join waker back so the handle may replace it. Fails if the task completed.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|mut s| {
            debug_assert!(s.is_join_interested() && s.is_join_waker_set());
            if s.is_complete() {
                return (Err(s), None);
            }
            s.0 &= !JOIN_WAKER;
            (Ok(s), Some(s))
        })
    }

    pub(crate) fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Relaxed);
        // A refcount this large means a leak loop; aborting beats wrapping into a use-after-free.
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Drops one reference; true if it was the last.
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.0.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= 1, "task refcount underflow");
        prev.ref_count() == 1
    }
}

impl Snapshot {
    pub(crate) fn is_idle(self) -> bool {
        self.0 & LIFECYCLE == 0
    }
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
    fn ref_inc(&mut self) {
        self.0 += REF_ONE;
    }
    fn ref_dec(&mut self) {
        debug_assert!(self.ref_count() > 0);
        self.0 -= REF_ONE;
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("cancelled", &self.is_cancelled())
            .field("refs", &self.ref_count())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn initial_state_runs_and_idles() {
        let s = State::new();
        assert_eq!(s.load().ref_count(), 3);
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert!(s.load().is_running() && !s.load().is_notified());
        assert_eq!(s.transition_to_idle(), ToIdle::Ok);
        assert_eq!(s.load().ref_count(), 2);
        assert!(s.load().is_idle());
    }

    #[test]
    fn wake_while_running_reschedules_on_idle() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert_eq!(s.transition_to_notified_by_ref(), Wake::DoNothing);
        assert_eq!(s.transition_to_idle(), ToIdle::OkNotified);
        assert_eq!(
            s.load().ref_count(),
            3,
            "the poll's reference became the Notified"
        );
    }

    #[test]
    fn wake_by_ref_twice_submits_once() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert_eq!(s.transition_to_idle(), ToIdle::Ok);
        assert_eq!(s.transition_to_notified_by_ref(), Wake::Submit);
        assert_eq!(s.transition_to_notified_by_ref(), Wake::DoNothing);
        assert_eq!(s.load().ref_count(), 3);
    }

    #[test]
    fn abort_idle_submits_and_running_does_not() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert!(!s.transition_to_notified_and_cancel());
        assert_eq!(s.transition_to_idle(), ToIdle::Cancelled);

        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert_eq!(s.transition_to_idle(), ToIdle::Ok);
        assert!(s.transition_to_notified_and_cancel());
        assert_eq!(s.transition_to_running(), ToRunning::Cancelled);
        assert!(
            !s.transition_to_notified_and_cancel(),
            "second abort is a no-op"
        );
    }

    #[test]
    fn join_waker_cannot_be_set_after_complete() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        let snap = s.transition_to_complete();
        assert!(snap.is_complete() && !snap.is_running());
        assert!(s.set_join_waker().is_err());
        assert!(s.unset_join_interested().is_err());
    }

    #[test]
    fn shutdown_takes_idle_tasks_only() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert!(
            !s.transition_to_shutdown(),
            "running task is cancelled by its poller"
        );
        assert_eq!(s.transition_to_idle(), ToIdle::Cancelled);

        let s = State::new();
        assert!(s.transition_to_shutdown());
        assert_eq!(s.transition_to_running(), ToRunning::Failed);
    }
}
