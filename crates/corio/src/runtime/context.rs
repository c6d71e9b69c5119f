//! Per-thread runtime context: which runtime this thread is in, which scheduler is running
//! here, the cooperative budget and the id of the task being polled.
//!
//! One `thread_local!` holds it all so the hot paths (wake, spawn, budget) pay one TLS lookup.

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::monitor::PollSlot;
use crate::scheduler::{self, coop::Budget};
use crate::task::Id;
use crate::task::core::{Header, Trailer};

struct Context {
    /// The runtime entered on this thread (by `block_on`, a worker, or `Handle::enter`).
    handle: RefCell<Option<scheduler::Handle>>,
    /// The scheduler loop running on this thread right now, if any.
    scheduler: Cell<*const scheduler::Context>,
    budget: Cell<Budget>,
    /// The task being polled (or dropped) here; the caller of `with_task`/`poll_task` holds
    /// a reference to it for as long as it is set.
    task: Cell<Option<NonNull<Header>>>,
    /// This thread's poll stamp, while it runs a scheduler loop with slow-poll detection on.
    poll_slot: Cell<*const PollSlot>,
    /// True while a runtime's `block_on` (or a worker loop) is running on this thread.
    in_runtime: Cell<bool>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
            scheduler: Cell::new(std::ptr::null()),
            budget: Cell::new(Budget::unconstrained()),
            task: Cell::new(None),
            poll_slot: Cell::new(std::ptr::null()),
            in_runtime: Cell::new(false),
        }
    };
}

/// Why there is no current runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryCurrentError {
    /// This thread is not inside any corio runtime.
    NoContext,
    /// The thread-local context is gone (the thread is exiting).
    ThreadLocalDestroyed,
}

impl std::fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TryCurrentError::NoContext => f.write_str(
                "there is no corio runtime on this thread: call this from inside corio::run, \
                 Runtime::block_on, a spawned task, or after Handle::enter",
            ),
            TryCurrentError::ThreadLocalDestroyed => {
                f.write_str("the corio runtime context was destroyed (the thread is exiting)")
            }
        }
    }
}

impl std::error::Error for TryCurrentError {}

pub(crate) fn with_budget_cell<R>(f: impl FnOnce(&Cell<Budget>) -> R) -> Option<R> {
    CONTEXT.try_with(|cx| f(&cx.budget)).ok()
}

/// Runs `f` with the current runtime's handle.
pub(crate) fn with_current<R>(
    f: impl FnOnce(&scheduler::Handle) -> R,
) -> Result<R, TryCurrentError> {
    CONTEXT
        .try_with(|cx| cx.handle.borrow().as_ref().map(f))
        .map_err(|_| TryCurrentError::ThreadLocalDestroyed)?
        .ok_or(TryCurrentError::NoContext)
}

/// The current runtime's timer driver, if this thread is inside a runtime.
pub(crate) fn current_time_driver() -> Option<Arc<crate::time::TimeDriver>> {
    with_current(|handle| handle.driver().time.clone()).ok()
}

/// Makes `handle` the current runtime until the guard drops.
///
/// On a thread whose thread-locals are being destroyed (a runtime kept in another
/// thread-local, dropped at thread exit) there is no context left to set: the guard does
/// nothing, and code that asks for the current runtime meanwhile finds none.
pub(crate) fn set_current(handle: &scheduler::Handle) -> SetCurrentGuard {
    let prev = CONTEXT
        .try_with(|cx| cx.handle.borrow_mut().replace(handle.clone()))
        .unwrap_or(None);
    SetCurrentGuard {
        prev,
        _not_send: std::marker::PhantomData,
    }
}

/// Restores the previous current runtime on drop.
pub(crate) struct SetCurrentGuard {
    prev: Option<scheduler::Handle>,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CONTEXT.try_with(|cx| *cx.handle.borrow_mut() = prev);
    }
}

/// Marks this thread as running a runtime loop. Panics if it already is: a `block_on` inside
/// a task would stall every other task on that loop.
#[track_caller]
pub(crate) fn enter_runtime() -> EnterRuntimeGuard {
    let nested = CONTEXT.with(|cx| cx.in_runtime.replace(true));
    if nested {
        panic!(
            "corio: cannot start a runtime from within a runtime. `block_on` (or `corio::run`) \
             was called from a thread that is already driving async tasks; this would block \
             them all. Await the future instead, or use spawn_blocking for blocking work."
        );
    }
    EnterRuntimeGuard {
        _not_send: std::marker::PhantomData,
    }
}

pub(crate) struct EnterRuntimeGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|cx| cx.in_runtime.set(false));
    }
}

/// Runs `f` with `cx` as this thread's running scheduler.
pub(crate) fn set_scheduler<R>(cx: &scheduler::Context, f: impl FnOnce() -> R) -> R {
    struct Reset(*const scheduler::Context);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|c| c.scheduler.set(self.0));
        }
    }
    let prev = CONTEXT.with(|c| c.scheduler.replace(cx));
    let _reset = Reset(prev);
    f()
}

/// Runs `f` with the scheduler running on this thread, if any.
#[inline]
pub(crate) fn with_scheduler<R>(f: impl FnOnce(Option<&scheduler::Context>) -> R) -> R {
    let mut f = Some(f);
    CONTEXT
        .try_with(|c| {
            let ptr = c.scheduler.get();
            // SAFETY: the pointer is set only by `set_scheduler`, for the duration of a call
            // that borrows the context; it is reset before that borrow ends.
            let cx = unsafe { ptr.as_ref() };
            (f.take().unwrap())(cx)
        })
        .unwrap_or_else(|_| (f.take().unwrap())(None))
}

/// Runs `f` with `task` as the current task (its id for `task::id`, its label slot for
/// `task::set_label`). The caller holds a reference to `task` throughout.
#[inline]
pub(crate) fn with_task<R>(task: NonNull<Header>, f: impl FnOnce() -> R) -> R {
    let prev = CONTEXT
        .try_with(|c| c.task.replace(Some(task)))
        .ok()
        .flatten();
    let _reset = ResetTask(prev);
    f()
}

/// As [`with_task`], for a poll: also stamps this thread's poll slot (if it has one) so the
/// monitor can see the poll, and adds the busy time the monitor sampled to the task.
#[inline]
pub(crate) fn poll_task<R>(task: NonNull<Header>, f: impl FnOnce() -> R) -> R {
    /// Ends the stamp even if `f` unwinds (it does not: the harness catches panics).
    struct EndPoll {
        slot: *const PollSlot,
        running: u64,
        task: NonNull<Header>,
    }
    impl Drop for EndPoll {
        #[inline]
        fn drop(&mut self) {
            if self.running == 0 {
                return;
            }
            // SAFETY: `running` is non-zero only if `slot` was set; a slot set by
            // `set_poll_slot` outlives the guard that set it, which outlives every poll on this
            // thread (the scheduler loop runs inside it).
            let busy_us = unsafe { (*self.slot).end(self.running) };
            if busy_us != 0 {
                credit_busy(self.task, busy_us);
            }
        }
    }
    let (prev, slot) = CONTEXT
        .try_with(|c| (c.task.replace(Some(task)), c.poll_slot.get()))
        .unwrap_or((None, std::ptr::null()));
    let _reset = ResetTask(prev);
    let running = if slot.is_null() {
        0
    } else {
        // SAFETY: as in `EndPoll::drop`; the task is live (the caller holds a reference).
        unsafe { (*slot).begin(task.as_ref().id.as_u64()) }
    };
    let _end = EndPoll {
        slot,
        running,
        task,
    };
    f()
}

/// Adds sampled busy time to a task (only for polls the monitor saw: rare).
#[cold]
fn credit_busy(task: NonNull<Header>, busy_us: u64) {
    // SAFETY: called from `poll_task`, whose caller holds a reference to the task.
    let trailer = unsafe { Header::trailer(task) };
    trailer.busy_us.fetch_add(busy_us, Ordering::Relaxed);
}

struct ResetTask(Option<NonNull<Header>>);

impl Drop for ResetTask {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|c| c.task.set(self.0));
    }
}

/// Runs `f` with the trailer of the task being polled on this thread, if any.
pub(crate) fn with_current_task<R>(f: impl FnOnce(&Trailer) -> R) -> Option<R> {
    let task = CONTEXT.try_with(|c| c.task.get()).ok().flatten()?;
    // SAFETY: while set, the task is live: whoever set it holds a reference (see `task`).
    Some(f(unsafe { Header::trailer(task) }))
}

pub(crate) fn current_task_id() -> Option<Id> {
    let task = CONTEXT.try_with(|c| c.task.get()).ok().flatten()?;
    // SAFETY: as in `with_current_task`.
    Some(unsafe { task.as_ref() }.id)
}

/// Makes `slot` this thread's poll stamp until the guard drops. The slot must outlive the
/// guard (it lives in the scheduler's shared state, which the loop keeps alive).
pub(crate) fn set_poll_slot(slot: &PollSlot) -> PollSlotGuard {
    let prev = CONTEXT
        .try_with(|c| c.poll_slot.replace(slot))
        .unwrap_or(std::ptr::null());
    PollSlotGuard {
        prev,
        _not_send: std::marker::PhantomData,
    }
}

/// Restores the previous poll slot on drop.
pub(crate) struct PollSlotGuard {
    prev: *const PollSlot,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for PollSlotGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|c| c.poll_slot.set(self.prev));
    }
}
