//! `Sleep`: a future that completes at a deadline.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};
use std::time::{Duration, Instant};

use super::driver::TimeDriver;
use super::wheel::Key;
use crate::runtime::context;
use crate::scheduler::coop;

/// Panic message for a timer polled outside any runtime.
const NO_RUNTIME: &str = "corio: sleep/timeout/interval must be polled inside a corio runtime";

/// Not registered: the next poll checks the deadline and registers if needed.
const IDLE: Key = Key::reserved(0);
/// Completed: the entry (if any) is freed and every poll is ready.
const DONE: Key = Key::reserved(1);

/// Waits until `duration` has elapsed.
///
/// The deadline is fixed when `sleep` is called; the timer starts running when the returned
/// future is first polled, which must happen inside a corio runtime. Timers have millisecond
/// resolution and never complete early. A duration too large to represent means "about 30
/// years", i.e. never in practice.
///
/// Equivalent to `sleep_until(Instant::now() + duration)`, and like asyncio's `sleep`.
///
/// # Panics
///
/// Polling the returned future outside a corio runtime, or after its runtime shut down.
///
/// # Examples
///
/// ```
/// use corio::time::{sleep, Duration, Instant};
///
/// corio::run(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let now = Instant::now();
    Sleep::new(now.checked_add(duration).unwrap_or_else(|| far_future(now)))
}

/// Waits until `deadline`.
///
/// Completes on its first poll if `deadline` has already passed. Otherwise as [`sleep`].
///
/// # Examples
///
/// ```
/// use corio::time::{sleep_until, Duration, Instant};
///
/// corio::run(async {
///     let deadline = Instant::now() + Duration::from_millis(10);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// About 30 years after `now`: the stand-in for deadlines that overflow `Instant`.
pub(super) fn far_future(now: Instant) -> Instant {
    const THIRTY_YEARS: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);
    now.checked_add(THIRTY_YEARS).unwrap_or(now)
}

/// `base + duration`, or the far future if that overflows.
pub(super) fn after(base: Instant, duration: Duration) -> Instant {
    base.checked_add(duration)
        .unwrap_or_else(|| far_future(base))
}

/// Future returned by [`sleep`] and [`sleep_until`].
///
/// `Sleep` is `Unpin`: await it by `&mut` reference, store it in a struct, or move it freely,
/// without pinning. It registers with the runtime's timer on its first poll and deregisters
/// when dropped or completed. Polling it again after it completed returns `Ready` again.
///
/// # Examples
///
/// Reusing one `Sleep` as a resettable deadline:
///
/// ```
/// use corio::time::{sleep, Duration, Instant};
///
/// corio::run(async {
///     let mut deadline = sleep(Duration::from_secs(60));
///     // Something happened: come back sooner.
///     deadline.reset(Instant::now() + Duration::from_millis(5));
///     (&mut deadline).await;
///     assert!(deadline.is_elapsed());
/// });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    /// Bound on first poll (or explicitly, in tests); never changes afterwards.
    driver: Option<Arc<TimeDriver>>,
    /// `IDLE`, `DONE`, or the wheel entry: 8 bytes where an enum would take 12.
    key: Key,
    /// The waker registered with the entry at the last locked poll, and the driver's fire
    /// epoch then. Polled again by that waker with the epoch unchanged, the timer cannot
    /// have fired: it stays pending without taking the driver's lock (a connection polls
    /// its idle timer on every wait).
    seen: Option<(Waker, u64)>,
}

impl Sleep {
    fn new(deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            driver: None,
            key: IDLE,
            seen: None,
        }
    }

    /// A sleep bound to `driver` up front, so tests need no runtime context.
    #[cfg(test)]
    pub(crate) fn with_driver(deadline: Instant, driver: Arc<TimeDriver>) -> Sleep {
        Sleep {
            deadline,
            driver: Some(driver),
            key: IDLE,
            seen: None,
        }
    }

    /// The instant this sleep completes at.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::time::{sleep_until, Duration, Instant};
    ///
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(sleep_until(deadline).deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the sleep is complete: the timer fired, or (before its first poll) the
    /// deadline has passed. Then the next poll returns `Ready`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::time::{sleep, Duration};
    ///
    /// let done = sleep(Duration::ZERO);
    /// assert!(done.is_elapsed());
    /// let pending = sleep(Duration::from_secs(60));
    /// assert!(!pending.is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        match self.key {
            DONE => true,
            IDLE => self.deadline <= Instant::now(),
            key => self.bound_driver().is_fired(key),
        }
    }

    /// Moves the deadline to `deadline`, whether or not the sleep already completed.
    ///
    /// A registered sleep is re-registered at once and keeps its waker, so the waiting task
    /// is woken at the new deadline even if it does not poll in between.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::time::{sleep, Duration, Instant};
    ///
    /// corio::run(async {
    ///     let mut s = sleep(Duration::from_millis(1));
    ///     (&mut s).await;
    ///     let again = Instant::now() + Duration::from_millis(5);
    ///     s.reset(again);
    ///     assert_eq!(s.deadline(), again);
    ///     s.await;
    ///     assert!(Instant::now() >= again);
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        // A reset to a past deadline fires the entry at once; never skip the check after.
        self.seen = None;
        match self.key {
            DONE | IDLE => self.key = IDLE,
            key => self.bound_driver().reset(key, deadline),
        }
    }

    /// `poll` without spending cooperative budget; `Timeout` uses it so that an inner future
    /// which drained the budget cannot also keep its deadline from firing.
    pub(super) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.key {
            DONE => Poll::Ready(()),
            IDLE => {
                let driver = self
                    .driver
                    .get_or_insert_with(|| context::current_time_driver().expect(NO_RUNTIME));
                // Already due: complete without touching the wheel.
                if self.deadline <= Instant::now() {
                    self.key = DONE;
                    return Poll::Ready(());
                }
                match driver.register(self.deadline, cx.waker()) {
                    Some(key) => {
                        self.key = key;
                        Poll::Pending
                    }
                    None => {
                        self.key = DONE;
                        Poll::Ready(())
                    }
                }
            }
            key => {
                let driver = self.bound_driver();
                if let Some((waker, epoch)) = &self.seen
                    && *epoch == driver.fired_epoch()
                    && waker.will_wake(cx.waker())
                {
                    return Poll::Pending;
                }
                let (poll, epoch) = driver.poll_registered(key, cx.waker());
                if poll.is_pending() {
                    match &mut self.seen {
                        Some((waker, seen)) if waker.will_wake(cx.waker()) => *seen = epoch,
                        seen => *seen = Some((cx.waker().clone(), epoch)),
                    }
                    return Poll::Pending;
                }
                self.key = DONE;
                self.seen = None;
                Poll::Ready(())
            }
        }
    }

    fn bound_driver(&self) -> &TimeDriver {
        self.driver
            .as_deref()
            .expect("a registered Sleep is bound to a driver")
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        let poll = self.get_mut().poll_elapsed(cx);
        if poll.is_ready() {
            coop.made_progress();
        }
        poll
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if !self.key.is_reserved() {
            self.bound_driver().deregister(self.key);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.key {
            IDLE => "idle",
            DONE => "done",
            _ => "registered",
        };
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("state", &state)
            .finish()
    }
}

#[cfg(test)]
mod tests;
