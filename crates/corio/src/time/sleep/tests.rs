use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::*;
use crate::test_util::CountingWaker;
use crate::time::test_util::driver;

/// Far enough ahead that real time never reaches it during a test: only `process_at` does.
const AHEAD: Duration = Duration::from_secs(3600);

fn poll(sleep: &mut Sleep, waker: &Waker) -> Poll<()> {
    Pin::new(sleep).poll(&mut Context::from_waker(waker))
}

#[test]
fn sleep_is_small_unpin_send_and_sync() {
    fn assert_traits<T: Unpin + Send + Sync>() {}
    assert_traits::<Sleep>();
    // 32 bytes of deadline, driver and key, plus the last registered waker and fire
    // epoch that let a re-poll skip the driver's lock.
    assert!(
        size_of::<Sleep>() <= 56,
        "Sleep is {} bytes",
        size_of::<Sleep>()
    );
}

#[test]
fn past_deadline_completes_without_registering() {
    let (driver, unpark) = driver();
    let (_, waker) = CountingWaker::new();
    let mut sleep = Sleep::with_driver(Instant::now(), driver.clone());
    assert!(sleep.is_elapsed());
    assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));
    assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()), "ready again");
    assert_eq!(driver.wheel_len(), 0);
    assert_eq!(unpark.count(), 0);
}

#[test]
fn registers_on_first_poll_and_completes_when_fired() {
    let (driver, _) = driver();
    let (counter, waker) = CountingWaker::new();
    let deadline = driver.origin() + AHEAD;
    let mut sleep = Sleep::with_driver(deadline, driver.clone());
    assert_eq!(
        driver.wheel_len(),
        0,
        "nothing registered before the first poll"
    );
    assert!(poll(&mut sleep, &waker).is_pending());
    assert_eq!(driver.wheel_len(), 1);
    assert!(!sleep.is_elapsed());
    driver.process_at(deadline - Duration::from_millis(1));
    assert_eq!(counter.wakes(), 0);
    assert!(poll(&mut sleep, &waker).is_pending());
    driver.process_at(deadline);
    assert_eq!(counter.wakes(), 1);
    assert!(sleep.is_elapsed());
    assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));
    assert_eq!(driver.wheel_len(), 0, "completion frees the entry");
    assert!(sleep.is_elapsed());
    assert_eq!(sleep.deadline(), deadline);
}

#[test]
fn the_latest_waker_is_woken() {
    let (driver, _) = driver();
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    let deadline = driver.origin() + AHEAD;
    let mut sleep = Sleep::with_driver(deadline, driver.clone());
    assert!(poll(&mut sleep, &first_waker).is_pending());
    assert!(poll(&mut sleep, &second_waker).is_pending());
    driver.process_at(deadline);
    assert_eq!((first.wakes(), second.wakes()), (0, 1));
}

/// Re-polls by the registered waker skip the lock; none of them may miss a fire or a new
/// waker: a waker that changes back and forth, a fire of another timer, a fire of this one.
#[test]
fn re_polls_without_the_lock_still_see_fires_and_new_wakers() {
    let (driver, _) = driver();
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    // Both far ahead of real time (slow under Miri): only `process_at` fires them.
    let early = driver.origin() + AHEAD;
    let deadline = early + Duration::from_secs(1);
    let mut sleep = Sleep::with_driver(deadline, driver.clone());
    let mut other = Sleep::with_driver(early, driver.clone());
    assert!(poll(&mut sleep, &first_waker).is_pending());
    assert!(poll(&mut sleep, &first_waker).is_pending());
    assert!(poll(&mut sleep, &second_waker).is_pending());
    assert!(poll(&mut sleep, &first_waker).is_pending());
    // Another timer fires: this one is still pending, and re-registers the waker it has.
    assert!(poll(&mut other, &second_waker).is_pending());
    driver.process_at(early);
    assert_eq!(poll(&mut other, &second_waker), Poll::Ready(()));
    assert!(poll(&mut sleep, &first_waker).is_pending());
    driver.process_at(deadline);
    assert_eq!((first.wakes(), second.wakes()), (1, 1));
    assert_eq!(poll(&mut sleep, &first_waker), Poll::Ready(()));
    assert_eq!(driver.wheel_len(), 0);
}

#[test]
fn dropping_deregisters() {
    let (driver, _) = driver();
    let (counter, waker) = CountingWaker::new();
    let deadline = driver.origin() + AHEAD;
    let mut sleep = Sleep::with_driver(deadline, driver.clone());
    assert!(poll(&mut sleep, &waker).is_pending());
    drop(sleep);
    assert_eq!(driver.wheel_len(), 0);
    driver.process_at(deadline);
    assert_eq!(counter.wakes(), 0);
    // Dropping a fired but unobserved sleep frees its entry too.
    let mut sleep = Sleep::with_driver(deadline + AHEAD, driver.clone());
    assert!(poll(&mut sleep, &waker).is_pending());
    driver.process_at(deadline + AHEAD);
    assert_eq!(driver.wheel_len(), 1);
    drop(sleep);
    assert_eq!(driver.wheel_len(), 0);
}

#[test]
fn reset_re_registers_and_keeps_the_waker() {
    let (driver, unpark) = driver();
    let (counter, waker) = CountingWaker::new();
    let base = driver.origin() + AHEAD;
    let mut sleep = Sleep::with_driver(base, driver.clone());
    assert!(poll(&mut sleep, &waker).is_pending());
    driver.next_deadline();
    let unparks = unpark.count();

    // Later: not fired at the old deadline, fired at the new one without another poll.
    sleep.reset(base + Duration::from_millis(100));
    assert_eq!(sleep.deadline(), base + Duration::from_millis(100));
    driver.process_at(base);
    assert_eq!(counter.wakes(), 0);
    driver.process_at(base + Duration::from_millis(100));
    assert_eq!(counter.wakes(), 1);
    assert!(sleep.is_elapsed());

    // A fired sleep can be moved again before it is polled.
    sleep.reset(base + Duration::from_millis(200));
    assert!(!sleep.is_elapsed());
    assert!(poll(&mut sleep, &waker).is_pending());
    // Earlier than the parked thread's wake-up: unparks.
    driver.next_deadline();
    sleep.reset(base + Duration::from_millis(150));
    assert_eq!(unpark.count(), unparks + 1);
    // Into the past of the wheel: woken at once.
    sleep.reset(base);
    assert_eq!(counter.wakes(), 2);
    assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));
    assert_eq!(driver.wheel_len(), 0);

    // After completion, reset makes it wait again, registering on the next poll.
    sleep.reset(base + Duration::from_millis(300));
    assert!(!sleep.is_elapsed());
    assert!(poll(&mut sleep, &waker).is_pending());
    assert_eq!(driver.wheel_len(), 1);
    driver.process_at(base + Duration::from_millis(300));
    assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));
    assert_eq!(counter.wakes(), 3);
}

#[test]
#[should_panic(expected = "corio: sleep/timeout/interval must be polled inside a corio runtime")]
fn polling_outside_a_runtime_panics() {
    let mut sleep = sleep(Duration::from_secs(1));
    let _ = poll(&mut sleep, Waker::noop());
}

#[test]
fn shutdown_wakes_and_later_polls_panic() {
    let (driver, _) = driver();
    let (counter, waker) = CountingWaker::new();
    let mut sleep = Sleep::with_driver(driver.origin() + AHEAD, driver.clone());
    assert!(poll(&mut sleep, &waker).is_pending());
    driver.shutdown();
    assert_eq!(counter.wakes(), 1);
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = poll(&mut sleep, &waker);
    }))
    .unwrap_err();
    assert_eq!(panic.downcast_ref::<String>().unwrap(), SHUTDOWN_MESSAGE);
    // Still droppable, and a fresh sleep on the same driver panics the same way.
    drop(sleep);
    let mut fresh = Sleep::with_driver(driver.origin() + AHEAD, driver.clone());
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = poll(&mut fresh, &waker);
    }))
    .unwrap_err();
    assert_eq!(panic.downcast_ref::<String>().unwrap(), SHUTDOWN_MESSAGE);
}

const SHUTDOWN_MESSAGE: &str = "corio: the runtime's timer driver has shut down";

#[test]
fn ready_spends_budget_and_an_empty_budget_yields() {
    let (driver, _) = driver();
    let (counter, waker) = CountingWaker::new();
    coop::budget(|| {
        for _ in 0..coop::INITIAL {
            let mut done = Sleep::with_driver(Instant::now(), driver.clone());
            assert!(poll(&mut done, &waker).is_ready());
        }
        assert!(!coop::has_budget_remaining());
        let mut done = Sleep::with_driver(Instant::now(), driver.clone());
        assert!(poll(&mut done, &waker).is_pending(), "out of budget");
        assert_eq!(counter.wakes(), 1, "and woken to run again");
    });
    // A pending sleep refunds the unit it did not use.
    coop::budget(|| {
        let mut pending = Sleep::with_driver(driver.origin() + AHEAD, driver.clone());
        assert!(poll(&mut pending, &waker).is_pending());
        let mut budget_left = 0;
        while coop::has_budget_remaining() {
            let mut done = Sleep::with_driver(Instant::now(), driver.clone());
            assert!(poll(&mut done, &waker).is_ready());
            budget_left += 1;
        }
        assert_eq!(budget_left, coop::INITIAL);
    });
}

#[test]
fn churn_keeps_the_slab_bounded() {
    let (driver, _) = driver();
    let (_, waker) = CountingWaker::new();
    let base = driver.origin() + AHEAD;
    let iterations: u64 = if cfg!(miri) { 2_000 } else { 100_000 };
    let mut live: Vec<Sleep> = Vec::new();
    for i in 0..iterations {
        if live.len() == 64 {
            drop(live.swap_remove((i * 7) as usize % 64));
        }
        let mut sleep = Sleep::with_driver(base + Duration::from_millis(i % 5000), driver.clone());
        assert!(poll(&mut sleep, &waker).is_pending());
        live.push(sleep);
    }
    assert_eq!(driver.wheel_len(), 64);
    assert!(driver.wheel_capacity() <= 64, "slab grew under churn");
}

#[test]
#[cfg_attr(miri, ignore = "a million timers is too slow under Miri")]
fn a_million_sleeps_all_fire() {
    const N: u64 = 1_000_000;
    let (driver, _) = driver();
    let (counter, waker) = CountingWaker::new();
    // Deadlines spread over 10 minutes (every level up to 3), well in the future.
    let base = driver.origin() + AHEAD;
    let offset = |i: u64| Duration::from_millis(i * 7919 % 600_000);
    let mut sleeps: Vec<Sleep> = (0..N)
        .map(|i| Sleep::with_driver(base + offset(i), driver.clone()))
        .collect();
    for sleep in &mut sleeps {
        assert!(poll(sleep, &waker).is_pending());
    }
    assert_eq!(driver.wheel_len(), N as usize);

    let half = base + Duration::from_millis(300_000);
    driver.process_at(half);
    let due_by_half = (0..N).filter(|&i| base + offset(i) <= half).count();
    assert_eq!(counter.wakes(), due_by_half, "fired early or missed");
    driver.process_at(base + Duration::from_millis(600_000));
    assert_eq!(counter.wakes(), N as usize);

    for sleep in &mut sleeps {
        assert_eq!(poll(sleep, &waker), Poll::Ready(()));
    }
    assert_eq!(driver.wheel_len(), 0);
    assert_eq!(driver.wheel_capacity(), N as usize);
}

#[test]
#[cfg_attr(miri, ignore = "real time")]
fn sleeps_in_a_runtime() {
    crate::run(async {
        let start = Instant::now();
        sleep(Duration::from_millis(15)).await;
        assert!(start.elapsed() >= Duration::from_millis(15));
        sleep(Duration::ZERO).await;
        sleep_until(start).await;
        // Many concurrent sleeps, in a single task.
        let mut sleeps: Vec<Sleep> = (1..=20).map(|i| sleep(Duration::from_millis(i))).collect();
        for s in &mut sleeps {
            s.await;
        }
        assert!(start.elapsed() >= Duration::from_millis(35));
        assert!(sleeps.iter().all(Sleep::is_elapsed));
    });
}
