//! `Timeout`: run a future with a deadline, like asyncio's `wait_for`.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::error::Elapsed;
use super::sleep::{Sleep, sleep, sleep_until};
use crate::scheduler::coop;

/// Runs `future` for at most `duration`.
///
/// Resolves to `Ok(output)` if the future completes first, or to `Err(Elapsed)` once
/// `duration` has passed. The future is polled before the deadline is checked, so one that is
/// ready at once wins even with a zero duration. On timeout the future is not cancelled
/// separately: it is dropped together with the `Timeout`, as with asyncio's `wait_for`.
///
/// The timer starts on first poll, which must happen inside a corio runtime (unless the
/// future completes on that first poll).
///
/// # Examples
///
/// ```
/// use corio::time::{sleep, timeout, Duration};
///
/// corio::run(async {
///     let quick = timeout(Duration::from_secs(5), async { 42 }).await;
///     assert_eq!(quick, Ok(42));
///
///     let slow = timeout(Duration::from_millis(5), sleep(Duration::from_secs(60))).await;
///     assert!(slow.is_err());
/// });
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), sleep(duration))
}

/// Runs `future` until `deadline` at the latest. Otherwise as [`timeout`].
///
/// # Examples
///
/// ```
/// use corio::time::{timeout_at, Duration, Instant};
///
/// corio::run(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     let never = std::future::pending::<()>();
///     assert!(timeout_at(deadline, never).await.is_err());
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), sleep_until(deadline))
}

/// Future returned by [`timeout`] and [`timeout_at`].
///
/// It is `Unpin` exactly when the wrapped future is.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Timeout<F> {
    /// Structurally pinned (see `poll`).
    value: F,
    /// Not pinned: `Sleep` is `Unpin`.
    delay: Sleep,
}

impl<F> Timeout<F> {
    fn new(value: F, delay: Sleep) -> Timeout<F> {
        Timeout { value, delay }
    }

    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// The wrapped future, mutably. Reachable only while the `Timeout` is unpinned or `Unpin`.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.value
    }

    /// Unwraps the future, discarding the deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::time::{timeout, Duration};
    ///
    /// let t = timeout(Duration::from_secs(1), async { 7 });
    /// let inner = t.into_inner();
    /// assert_eq!(corio::run(inner), 7);
    /// ```
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    #[allow(unsafe_code)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: pin projection. `value` is treated as structurally pinned: it is only ever
        // exposed pinned (here) or through `&mut Timeout`, which safe code cannot get from a
        // pinned `Timeout` unless `F: Unpin` (the auto trait makes `Timeout: Unpin` only
        // then); `Timeout` has no `Drop` impl and is not `repr(packed)`, so `value` is dropped
        // in place and never moved while pinned. `delay` is not structurally pinned and is
        // only used through `&mut`.
        let this = unsafe { self.get_unchecked_mut() };
        let value = unsafe { Pin::new_unchecked(&mut this.value) };

        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(output) = value.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // If the inner future spent the last of the task's budget, the deadline must still be
        // able to fire, or a busy future would never time out.
        let delay = if had_budget && !coop::has_budget_remaining() {
            this.delay.poll_elapsed(cx)
        } else {
            Pin::new(&mut this.delay).poll(cx)
        };
        delay.map(|()| Err(Elapsed::new()))
    }
}

#[cfg(test)]
mod tests;
