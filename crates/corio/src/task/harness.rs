//! The task lifecycle: polling, completion, cancellation and join-handle hand-off.
//!
//! Every function here runs with one reference to the task held by the caller, and follows
//! the state protocol in `state.rs`. Panics from user code (poll, drop, wakers) are caught so
//! the runtime and the other tasks keep going.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use super::core::{Cell, Header, Stage, Trailer};
use super::error::JoinError;
use super::state::{State, ToIdle, ToRunning};
use super::{Notified, Schedule, Task, waker};
use crate::runtime::context;

pub(crate) struct Harness<F: Future, S: 'static> {
    cell: NonNull<Cell<F, S>>,
}

impl<F: Future, S: Schedule> Harness<F, S> {
    /// # Safety
    /// `ptr` must point to a live `Cell<F, S>`.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Harness<F, S> {
        Harness { cell: ptr.cast() }
    }

    fn cell(&self) -> &Cell<F, S> {
        // SAFETY: live per `from_raw`'s contract, and the caller holds a reference.
        unsafe { self.cell.as_ref() }
    }

    fn header_ptr(&self) -> NonNull<Header> {
        self.cell.cast()
    }

    fn state(&self) -> &State {
        &self.cell().header.state
    }

    fn trailer(&self) -> &Trailer {
        &self.cell().trailer
    }

    /// A `Task` view of the caller's reference, for handing to the scheduler.
    fn to_task(&self) -> Task<S> {
        // SAFETY: the cell is live, and the caller gives up the reference this `Task` owns.
        unsafe { Task::from_raw(self.header_ptr()) }
    }

    /// Runs the task once. Consumes the `Notified`'s reference.
    pub(crate) fn poll(self) {
        match self.state().transition_to_running() {
            ToRunning::Success => {
                let header = self.header_ptr();
                // The poll borrows the `Notified`'s reference for its waker: no refcount traffic.
                // SAFETY: the reference outlives the poll; `ManuallyDrop` keeps it from being
                // released when the waker goes out of scope.
                let waker = ManuallyDrop::new(unsafe { waker::from_raw(header) });
                let mut cx = Context::from_waker(&waker);
                if self.poll_future(&mut cx).is_ready() {
                    return self.complete();
                }
                match self.state().transition_to_idle() {
                    ToIdle::Ok => {}
                    ToIdle::OkNotified => {
                        // Woken during the poll: requeue behind the others (fairness).
                        let task = Notified(self.to_task());
                        self.cell().scheduler.yield_now(task);
                    }
                    ToIdle::OkDealloc => self.dealloc(),
                    ToIdle::Cancelled => {
                        self.cancel();
                        self.complete();
                    }
                }
            }
            ToRunning::Cancelled => {
                self.cancel();
                self.complete();
            }
            ToRunning::Failed => {}
            ToRunning::Dealloc => self.dealloc(),
        }
    }

    /// Polls the future; on completion (or panic) drops it and stores the output.
    fn poll_future(&self, cx: &mut Context<'_>) -> Poll<()> {
        let stage = &self.cell().stage;
        self.cell().header.count_poll();
        let polled = context::poll_task(self.header_ptr(), || {
            catch_unwind(AssertUnwindSafe(|| {
                stage.with_mut(|ptr| {
                    // SAFETY: we hold RUNNING, so we have exclusive access to the stage.
                    let Stage::Running(future) = (unsafe { &mut *ptr }) else {
                        unreachable!("polled a task whose future is gone");
                    };
                    // SAFETY: the future lives in the heap cell and is never moved until dropped.
                    unsafe { Pin::new_unchecked(future) }.poll(cx)
                })
            }))
        });
        let output = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(JoinError::Panic(payload)),
        };
        let dropped = self.drop_future();
        let output = match (output, dropped) {
            (Ok(_), Err(err)) => Err(err),
            (output, _) => output,
        };
        self.set_stage(Stage::Finished(output));
        Poll::Ready(())
    }

    /// Drops the future (with this task's id current), catching a panicking destructor.
    ///
    /// The future is dropped where it lies: it was pinned there, and a future may hold
    /// pointers into itself (an `async fn` awaiting a borrow of its own local), so moving it
    /// out before dropping it would leave those pointing at the vacated cell.
    fn drop_future(&self) -> Result<(), JoinError> {
        context::with_task(self.header_ptr(), || {
            self.cell().stage.with_mut(|ptr| {
                // SAFETY: the caller has exclusive access to the stage (it owns RUNNING), which
                // holds the pinned future. `drop_in_place` runs its destructor in place; even
                // if that panics, unwinding drops the rest, so the slot is dead either way and
                // is overwritten with `Consumed` without dropping it again.
                let dropped =
                    catch_unwind(AssertUnwindSafe(|| unsafe { std::ptr::drop_in_place(ptr) }));
                // SAFETY: as above; the slot's old value was dropped just now.
                unsafe { std::ptr::write(ptr, Stage::Consumed) };
                dropped.map_err(JoinError::Panic)
            })
        })
    }

    /// Cancels a running-owned task: drops the future and records why.
    fn cancel(&self) {
        let err = match self.drop_future() {
            Ok(()) => JoinError::Cancelled,
            Err(panic) => panic,
        };
        self.set_stage(Stage::Finished(Err(err)));
    }

    fn take_stage(&self) -> Stage<F> {
        self.cell().stage.with_mut(|ptr| {
            // SAFETY: the caller has exclusive access to the stage (RUNNING, or the join side
            // after COMPLETE as the protocol allows).
            unsafe { std::ptr::replace(ptr, Stage::Consumed) }
        })
    }

    fn set_stage(&self, stage: Stage<F>) {
        let old = self.take_stage();
        debug_assert!(matches!(old, Stage::Consumed));
        self.cell().stage.with_mut(|ptr| {
            // SAFETY: exclusive access as in `take_stage`; the old value (Consumed) owns nothing.
            unsafe { std::ptr::write(ptr, stage) }
        });
        std::mem::forget(old);
    }

    /// Marks the task complete, hands the output on, and releases the task.
    fn complete(self) {
        let snapshot = self.state().transition_to_complete();
        // A panicking output destructor or join waker must not take down the worker.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            if !snapshot.is_join_interested() {
                // No one will read the output: drop it here.
                drop(self.take_stage());
            } else if snapshot.is_join_waker_set() {
                // SAFETY: JOIN_WAKER and COMPLETE are set, so the slot is frozen.
                unsafe { self.trailer().wake_join() };
            }
        }));

        // SAFETY: the cell is live; `ManuallyDrop` keeps this borrowed view from releasing.
        let me = ManuallyDrop::new(self.to_task());
        let released = self.cell().scheduler.release(&me);
        let refs = match released {
            Some(task) => {
                std::mem::forget(task);
                2
            }
            None => 1,
        };
        if self.state().transition_to_terminal(refs) {
            self.dealloc();
        }
    }

    pub(crate) fn schedule(self) {
        let task = Notified(self.to_task());
        self.cell().scheduler.schedule(task);
    }

    pub(crate) fn shutdown(self) {
        if self.state().transition_to_shutdown() {
            self.cancel();
            self.complete();
        } else {
            // Running elsewhere: its poller will see CANCELLED. Drop the list's reference.
            self.drop_reference();
        }
    }

    pub(crate) fn drop_reference(self) {
        if self.state().ref_dec() {
            self.dealloc();
        }
    }

    pub(crate) fn dealloc(self) {
        // SAFETY: the refcount is zero: this is the only access left, and the cell came from
        // `Box::leak` in `RawTask::new`.
        drop(unsafe { Box::from_raw(self.cell.as_ptr()) });
    }

    /// # Safety
    /// `dst` must be a valid `Poll<Result<F::Output, JoinError>>`.
    pub(crate) unsafe fn try_read_output(
        self,
        dst: *mut Poll<Result<F::Output, JoinError>>,
        waker: &Waker,
    ) {
        if can_read_output(&self.cell().header, self.trailer(), waker) {
            let Stage::Finished(output) = self.take_stage() else {
                panic!("JoinHandle polled after it returned the output");
            };
            // SAFETY: valid per the caller; assignment drops the old `Poll` (Pending, or a
            // previous result the caller left there).
            unsafe { *dst = Poll::Ready(output) };
        }
    }

    pub(crate) fn drop_join_handle_slow(self) {
        if self.state().unset_join_interested().is_err() {
            // Complete with join interest: the output is ours to drop.
            let _ = catch_unwind(AssertUnwindSafe(|| drop(self.take_stage())));
        }
        self.drop_reference();
    }
}

/// True if the output is ready; otherwise makes sure `waker` is woken on completion.
fn can_read_output(header: &Header, trailer: &Trailer, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    let res = if !snapshot.is_join_waker_set() {
        set_join_waker(&header.state, trailer, waker)
    } else {
        // SAFETY: the runtime only reads the slot too until COMPLETE; reads may overlap.
        if unsafe { trailer.will_wake(waker) } {
            return false;
        }
        header
            .state
            .unset_join_waker()
            .and_then(|_| set_join_waker(&header.state, trailer, waker))
    };
    match res {
        Ok(_) => false,
        Err(snapshot) => {
            debug_assert!(snapshot.is_complete());
            true
        }
    }
}

fn set_join_waker(
    state: &State,
    trailer: &Trailer,
    waker: &Waker,
) -> Result<super::state::Snapshot, super::state::Snapshot> {
    // SAFETY: JOIN_WAKER is clear and the task is not complete: the handle owns the slot.
    unsafe { trailer.set_waker(Some(waker.clone())) };
    let res = state.set_join_waker();
    if res.is_err() {
        // Completed meanwhile: the runtime never read the slot, so it is still ours.
        // SAFETY: as above.
        unsafe { trailer.set_waker(None) };
    }
    res
}
