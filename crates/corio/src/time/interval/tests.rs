use std::sync::Arc;
use std::task::Waker;

use super::*;
use crate::test_util::CountingWaker;
use crate::time::TimeDriver;
use crate::time::test_util::driver;

const AHEAD: Duration = Duration::from_secs(3600);
const P: Duration = Duration::from_millis(100);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An interval bound to `driver` whose first tick is at `start` (in the future).
fn bound(driver: &Arc<TimeDriver>, start: Instant, behavior: MissedTickBehavior) -> Interval {
    let mut interval = Interval {
        delay: Sleep::with_driver(start, driver.clone()),
        period: P,
        missed_tick_behavior: MissedTickBehavior::Burst,
    };
    interval.set_missed_tick_behavior(behavior);
    interval
}

/// `poll_tick`, but with the tick taken at the fake instant `now`.
fn poll_tick_at(interval: &mut Interval, waker: &Waker, now: Instant) -> Poll<Instant> {
    let mut cx = Context::from_waker(waker);
    ready!(Pin::new(&mut interval.delay).poll(&mut cx));
    Poll::Ready(interval.advance(now))
}

/// Ticks scheduled at base, base+P, ...; the first is only taken at base + 3.5P.
fn late_ticks(behavior: MissedTickBehavior) -> Vec<Option<Duration>> {
    let (driver, _) = driver();
    let (_, waker) = CountingWaker::new();
    let base = driver.origin() + AHEAD;
    let mut interval = bound(&driver, base, behavior);
    assert!(poll_tick_at(&mut interval, &waker, base).is_pending());
    let mut now = base + ms(350);
    driver.process_at(now);
    let mut ticks = Vec::new();
    for _ in 0..6 {
        match poll_tick_at(&mut interval, &waker, now) {
            Poll::Ready(at) => ticks.push(Some(at - base)),
            Poll::Pending => {
                ticks.push(None);
                // Let time run on to the pending tick, on time.
                now = interval.delay.deadline();
                driver.process_at(now);
            }
        }
    }
    ticks
}

#[test]
fn burst_catches_up_immediately() {
    let got = late_ticks(MissedTickBehavior::Burst);
    let expected = [Some(0), Some(100), Some(200), Some(300), None, Some(400)];
    assert_eq!(got, expected.map(|t| t.map(ms)));
}

#[test]
fn delay_restarts_a_period_after_the_late_tick() {
    let got = late_ticks(MissedTickBehavior::Delay);
    let expected = [Some(0), None, Some(450), None, Some(550), None];
    assert_eq!(got, expected.map(|t| t.map(ms)));
}

#[test]
fn skip_drops_missed_ticks_and_keeps_the_schedule() {
    let got = late_ticks(MissedTickBehavior::Skip);
    let expected = [Some(0), None, Some(400), None, Some(500), None];
    assert_eq!(got, expected.map(|t| t.map(ms)));
}

#[test]
fn next_after_each_behavior() {
    let base = Instant::now();
    let scheduled = base + P;
    let next = |b: MissedTickBehavior, now: Duration| b.next_after(scheduled, base + now, P) - base;
    assert_eq!(next(MissedTickBehavior::Burst, ms(350)), ms(200));
    assert_eq!(next(MissedTickBehavior::Delay, ms(350)), ms(450));
    assert_eq!(next(MissedTickBehavior::Skip, ms(350)), ms(400));
    // Exactly on a later tick: that tick is taken now, so skip to the one after.
    assert_eq!(next(MissedTickBehavior::Skip, ms(300)), ms(400));
    assert_eq!(next(MissedTickBehavior::Skip, ms(301)), ms(400));
}

#[test]
fn slight_lateness_keeps_the_schedule() {
    let (_, waker) = CountingWaker::new();
    for behavior in [MissedTickBehavior::Delay, MissedTickBehavior::Skip] {
        let (driver, _) = driver();
        let base = driver.origin() + AHEAD;
        let mut interval = bound(&driver, base, behavior);
        let _ = poll_tick_at(&mut interval, &waker, base);
        driver.process_at(base + ms(4));
        assert_eq!(
            poll_tick_at(&mut interval, &waker, base + ms(4)),
            Poll::Ready(base)
        );
        assert_eq!(interval.delay.deadline(), base + P, "{behavior:?}");
    }
}

#[test]
fn first_tick_is_immediate_and_ticks_follow_the_period() {
    let (driver, _) = driver();
    let (counter, waker) = CountingWaker::new();
    let start = Instant::now();
    let mut interval = bound(&driver, start, MissedTickBehavior::Burst);
    // A period real time won't reach during the test: only `process_at` does.
    interval.period = AHEAD;
    // Its start has passed: ready without registering a timer.
    assert_eq!(
        poll_tick_at(&mut interval, &waker, start),
        Poll::Ready(start)
    );
    assert_eq!(driver.wheel_len(), 0);
    assert!(poll_tick_at(&mut interval, &waker, start).is_pending());
    driver.process_at(start + AHEAD - ms(1));
    assert_eq!(counter.wakes(), 0);
    // `start` is not on a whole tick, so the deadline rounds up to the next one.
    driver.process_at(start + AHEAD + ms(1));
    assert_eq!(counter.wakes(), 1);
    let second = poll_tick_at(&mut interval, &waker, start + AHEAD + ms(1));
    assert_eq!(second, Poll::Ready(start + AHEAD));
    assert_eq!(interval.delay.deadline(), start + 2 * AHEAD);
}

#[test]
fn reset_restarts_one_period_from_now() {
    let mut interval = interval(P);
    let before = Instant::now();
    interval.reset();
    let deadline = interval.delay.deadline();
    assert!(deadline >= before + P && deadline <= Instant::now() + P);
}

#[test]
fn accessors() {
    let mut interval = interval_at(Instant::now(), ms(7));
    assert_eq!(interval.period(), ms(7));
    assert_eq!(interval.missed_tick_behavior(), MissedTickBehavior::Burst);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    assert_eq!(interval.missed_tick_behavior(), MissedTickBehavior::Delay);
    fn assert_traits<T: Unpin + Send + Sync>(_: &T) {}
    assert_traits(&interval);
    assert_traits(&interval.tick());
}

#[test]
#[should_panic(expected = "corio: interval period must be non-zero")]
fn zero_period_panics() {
    let _ = interval(Duration::ZERO);
}

#[test]
#[cfg_attr(miri, ignore = "real time")]
fn ticks_in_a_runtime() {
    crate::run(async {
        let start = Instant::now();
        let mut ticks = interval(ms(10));
        let mut scheduled = Vec::new();
        for _ in 0..5 {
            scheduled.push(ticks.tick().await);
        }
        assert!(start.elapsed() >= ms(40));
        for pair in scheduled.windows(2) {
            assert_eq!(pair[1] - pair[0], ms(10));
        }
    });
}
