//! Cooperative budget: fairness for tasks that never return `Pending` on their own.
//!
//! Each task poll starts with a budget of [`INITIAL`] units. Runtime resources (timers,
//! channels, `yield_now`) spend one unit each time they report readiness; once the budget
//! is spent they report `Pending` instead and wake the task at once. The task goes back to
//! the queue, so a task whose resources are always ready still lets its neighbours run.

use std::cell::Cell;
use std::task::{Context, Poll};

use crate::runtime::context;

/// Units of work a task may do in one poll before resources force it to yield.
pub(crate) const INITIAL: u8 = 128;

/// Remaining budget of the current poll. `None` means unconstrained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget(Option<u8>);

impl Budget {
    pub(crate) const fn initial() -> Budget {
        Budget(Some(INITIAL))
    }

    pub(crate) const fn unconstrained() -> Budget {
        Budget(None)
    }

    fn has_remaining(self) -> bool {
        self.0.is_none_or(|n| n > 0)
    }
}

/// Runs `f` with a fresh budget, restoring the previous one afterwards.
#[inline(always)]
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget::initial(), f)
}

/// Runs `f` with no budget limit, restoring the previous one afterwards.
#[inline(always)]
pub(crate) fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget::unconstrained(), f)
}

#[inline(always)]
fn with_budget<R>(budget: Budget, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Budget>);
    impl Drop for Reset {
        fn drop(&mut self) {
            if let Some(prev) = self.0 {
                context::with_budget_cell(|cell| cell.set(prev));
            }
        }
    }
    let prev = context::with_budget_cell(|cell| cell.replace(budget));
    let _reset = Reset(prev);
    f()
}

/// True if the current poll may still do work.
pub(crate) fn has_budget_remaining() -> bool {
    context::with_budget_cell(|cell| cell.get().has_remaining()).unwrap_or(true)
}

/// Spends one unit of budget, or wakes the task and returns `Pending` if none is left.
///
/// A resource calls this before it reports readiness. If the resource then turns out
/// not to be ready after all, dropping the returned guard without calling
/// [`RestoreOnPending::made_progress`] refunds the unit.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    context::with_budget_cell(|cell| {
        let mut budget = cell.get();
        match budget.0 {
            Some(0) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(ref mut n) => {
                *n -= 1;
                let restore = RestoreOnPending(Cell::new(cell.get()));
                cell.set(budget);
                Poll::Ready(restore)
            }
            None => Poll::Ready(RestoreOnPending(Cell::new(budget))),
        }
    })
    .unwrap_or(Poll::Ready(RestoreOnPending(Cell::new(
        Budget::unconstrained(),
    ))))
}

/// Refunds a budget unit on drop unless the resource made progress.
pub(crate) struct RestoreOnPending(Cell<Budget>);

impl RestoreOnPending {
    /// Keeps the unit spent: the resource did report readiness.
    pub(crate) fn made_progress(&self) {
        self.0.set(Budget::unconstrained());
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        let budget = self.0.get();
        if budget.0.is_some() {
            context::with_budget_cell(|cell| cell.set(budget));
        }
    }
}

/// Awaits `future` without any cooperative budget limit.
///
/// Use it around a future that must not be forced to yield by the runtime (rarely right:
/// it lets that future starve its neighbours).
pub async fn unconstrained<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| with_unconstrained(|| future.as_mut().poll(cx))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn budget_runs_out_then_refills() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..INITIAL {
                match poll_proceed(&mut cx) {
                    Poll::Ready(guard) => guard.made_progress(),
                    Poll::Pending => panic!("budget ran out early"),
                }
            }
            assert!(poll_proceed(&mut cx).is_pending());
            assert!(!has_budget_remaining());
        });
        budget(|| assert!(has_budget_remaining()));
    }

    #[test]
    fn dropped_guard_refunds() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..(INITIAL as usize * 2) {
                let guard = poll_proceed(&mut cx);
                assert!(guard.is_ready());
                drop(guard);
            }
        });
    }
}
