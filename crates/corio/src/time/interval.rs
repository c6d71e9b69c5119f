//! `Interval`: ticks at a fixed period.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use super::sleep::{Sleep, after, sleep_until};

/// A tick this much later than scheduled counts as missed. Below it, lateness is timer
/// resolution and scheduling jitter, and the schedule stays put whatever the behaviour.
const MISSED_AFTER: Duration = Duration::from_millis(5);

/// Ticks every `period`, the first tick completing immediately.
///
/// # Panics
///
/// If `period` is zero.
///
/// # Examples
///
/// ```
/// use corio::time::{interval, Duration, Instant};
///
/// corio::run(async {
///     let start = Instant::now();
///     let mut ticks = interval(Duration::from_millis(10));
///     ticks.tick().await; // immediately
///     ticks.tick().await; // 10 ms in
///     ticks.tick().await; // 20 ms in
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick completing at `start`.
///
/// # Panics
///
/// If `period` is zero.
///
/// # Examples
///
/// ```
/// use corio::time::{interval_at, Duration, Instant};
///
/// corio::run(async {
///     let start = Instant::now() + Duration::from_millis(5);
///     let mut ticks = interval_at(start, Duration::from_millis(10));
///     assert_eq!(ticks.tick().await, start);
///     assert_eq!(ticks.tick().await, start + Duration::from_millis(10));
/// });
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "corio: interval period must be non-zero");
    Interval {
        delay: sleep_until(start),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed, because the task was busy or blocked for
/// longer than a period (lateness under 5 ms does not count).
///
/// With period `P` and ticks scheduled at `0, P, 2P, ...`, suppose the tick at `P` is only
/// taken at `3.5P`. The next ticks then come at:
///
/// - `Burst`: `2P, 3P` immediately (catching up), then `4P, 5P, ...`
/// - `Delay`: `4.5P, 5.5P, ...` (a full period after the late tick)
/// - `Skip`: `4P, 5P, ...` (the original schedule, missed ticks dropped)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks as fast as possible until back on schedule. The default.
    #[default]
    Burst,
    /// Restart the schedule a full period after the late tick.
    Delay,
    /// Drop the missed ticks and continue on the original schedule.
    Skip,
}

impl MissedTickBehavior {
    /// When the tick after one scheduled at `scheduled` but taken late, at `now`, is due.
    fn next_after(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => after(scheduled, period),
            MissedTickBehavior::Delay => after(now, period),
            MissedTickBehavior::Skip => {
                // The first point of the original schedule strictly after `now`.
                let late = now.duration_since(scheduled).as_nanos();
                let into_period = nanos(late % period.as_nanos());
                after(now, period - into_period)
            }
        }
    }
}

/// A `u128` count of nanoseconds below `Duration::MAX` as a `Duration`.
fn nanos(n: u128) -> Duration {
    const PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(n / PER_SEC).unwrap_or(u64::MAX);
    Duration::new(secs, (n % PER_SEC) as u32)
}

/// Ticks at a fixed period; created by [`interval`] or [`interval_at`].
///
/// Each [`tick`](Interval::tick) resolves to the instant the tick was *scheduled* for. The
/// schedule is kept from the start instant, so processing time does not make it drift.
#[derive(Debug)]
pub struct Interval {
    /// Due at the next scheduled tick.
    delay: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    ///
    /// Cancel safe: dropping the returned future before it completes loses no tick.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::time::{interval, Duration};
    ///
    /// corio::run(async {
    ///     let mut ticks = interval(Duration::from_millis(2));
    ///     let first = ticks.tick().await;
    ///     let second = ticks.tick().await;
    ///     assert_eq!(second - first, Duration::from_millis(2));
    /// });
    /// ```
    pub fn tick(&mut self) -> impl Future<Output = Instant> {
        std::future::poll_fn(move |cx| self.poll_tick(cx))
    }

    /// Polls for the next tick: `Ready` with its scheduled instant once it is due. On
    /// `Pending`, the task is woken when it is.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.delay).poll(cx));
        Poll::Ready(self.advance(Instant::now()))
    }

    /// Moves the schedule on from a tick taken at `now`; returns the tick's scheduled instant.
    fn advance(&mut self, now: Instant) -> Instant {
        let scheduled = self.delay.deadline();
        let next = if now.saturating_duration_since(scheduled) > MISSED_AFTER {
            self.missed_tick_behavior
                .next_after(scheduled, now, self.period)
        } else {
            after(scheduled, self.period)
        };
        self.delay.reset(next);
        scheduled
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::time::{interval, Duration, Instant};
    ///
    /// corio::run(async {
    ///     let mut ticks = interval(Duration::from_millis(10));
    ///     ticks.tick().await;
    ///     let before = Instant::now();
    ///     ticks.reset();
    ///     ticks.tick().await;
    ///     assert!(before.elapsed() >= Duration::from_millis(10));
    /// });
    /// ```
    pub fn reset(&mut self) {
        self.delay.reset(after(Instant::now(), self.period));
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// How missed ticks are handled; [`MissedTickBehavior::Burst`] unless set.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets how missed ticks are handled from the next tick on.
    ///
    /// # Examples
    ///
    /// ```
    /// use corio::time::{interval, Duration, MissedTickBehavior};
    ///
    /// let mut ticks = interval(Duration::from_secs(1));
    /// ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    /// assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Skip);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

#[cfg(test)]
mod tests;
