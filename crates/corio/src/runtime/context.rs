//! Per-thread runtime context: which runtime this thread is in, which scheduler is running
//! here, the cooperative budget and the id of the task being polled.
//!
//! One `thread_local!` holds it all so the hot paths (wake, spawn, budget) pay one TLS lookup.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::scheduler::{self, coop::Budget};
use crate::task::Id;

struct Context {
    /// The runtime entered on this thread (by `block_on`, a worker, or `Handle::enter`).
    handle: RefCell<Option<scheduler::Handle>>,
    /// The scheduler loop running on this thread right now, if any.
    scheduler: Cell<*const scheduler::Context>,
    budget: Cell<Budget>,
    task_id: Cell<Option<Id>>,
    /// True while a runtime's `block_on` (or a worker loop) is running on this thread.
    in_runtime: Cell<bool>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
            scheduler: Cell::new(std::ptr::null()),
            budget: Cell::new(Budget::unconstrained()),
            task_id: Cell::new(None),
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
pub(crate) fn set_current(handle: &scheduler::Handle) -> SetCurrentGuard {
    let prev = CONTEXT
        .try_with(|cx| cx.handle.borrow_mut().replace(handle.clone()))
        .expect("corio: the thread-local runtime context was destroyed");
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

/// Runs `f` with `id` as the current task id.
#[inline]
pub(crate) fn with_task_id<R>(id: Id, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Id>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|c| c.task_id.set(self.0));
        }
    }
    let prev = CONTEXT
        .try_with(|c| c.task_id.replace(Some(id)))
        .ok()
        .flatten();
    let _reset = Reset(prev);
    f()
}

pub(crate) fn current_task_id() -> Option<Id> {
    CONTEXT.try_with(|c| c.task_id.get()).ok().flatten()
}
