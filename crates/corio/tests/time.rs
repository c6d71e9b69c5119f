//! Timers on a real runtime: sleep, timeout, interval, fairness, churn, a million sleepers.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{DropCount, runtimes};
use corio::time::{self, MissedTickBehavior, sleep, sleep_until, timeout};

#[test]
fn sleep_waits_at_least_its_duration() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let start = Instant::now();
            sleep(Duration::from_millis(20)).await;
            assert!(start.elapsed() >= Duration::from_millis(20), "{flavor}");
            let deadline = Instant::now() + Duration::from_millis(5);
            sleep_until(deadline).await;
            assert!(Instant::now() >= deadline, "{flavor}");
        });
    }
}

#[test]
fn concurrent_sleeps_never_wake_early() {
    // Firing order within one timer batch is the wheel's business (unit-tested there); here,
    // on a real runtime, each of many concurrent sleeps must last at least its duration.
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let handles: Vec<_> = (1..=40u64)
                .map(|ms| {
                    corio::spawn(async move {
                        let start = Instant::now();
                        sleep(Duration::from_millis(ms)).await;
                        (ms, start.elapsed())
                    })
                })
                .collect();
            for h in handles {
                let (ms, took) = h.await.unwrap();
                assert!(
                    took >= Duration::from_millis(ms),
                    "{flavor}: {ms} ms took {took:?}"
                );
            }
        });
    }
}

#[test]
fn timeout_elapses_and_drops_the_inner_future() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let d = drops.clone();
        rt.block_on(async move {
            let guard = d.guard();
            let slow = async move {
                let _guard = guard;
                sleep(Duration::from_secs(10)).await;
                "never"
            };
            let err = timeout(Duration::from_millis(10), slow).await.unwrap_err();
            assert_eq!(err.to_string(), "deadline has elapsed", "{flavor}");
            assert_eq!(
                timeout(Duration::from_secs(5), async { "fast" })
                    .await
                    .unwrap(),
                "fast"
            );
        });
        assert_eq!(drops.get(), 1, "{flavor}: the timed-out future was dropped");
    }
}

#[test]
fn interval_ticks_and_missed_tick_policies() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let start = Instant::now();
            let mut ticker = time::interval(Duration::from_millis(10));
            ticker.tick().await; // the first tick is immediate
            assert!(start.elapsed() < Duration::from_millis(10), "{flavor}");
            for _ in 0..3 {
                ticker.tick().await;
            }
            assert!(start.elapsed() >= Duration::from_millis(30), "{flavor}");

            // After a stall of 3.5 periods, each policy schedules the following ticks
            // differently; `tick` returns the instant each tick was scheduled for.
            let p = Duration::from_millis(10);
            for (behavior, expected) in [
                (MissedTickBehavior::Burst, [1, 2, 3]),
                (MissedTickBehavior::Skip, [1, 4, 5]),
            ] {
                let mut ticks = time::interval(p);
                ticks.set_missed_tick_behavior(behavior);
                let t0 = ticks.tick().await;
                std::thread::sleep(p * 7 / 2);
                for k in expected {
                    assert_eq!(ticks.tick().await, t0 + p * k, "{flavor}: {behavior:?}");
                }
            }
            // Delay restarts a full period after the late tick.
            let mut delayed = time::interval(p);
            delayed.set_missed_tick_behavior(MissedTickBehavior::Delay);
            delayed.tick().await;
            std::thread::sleep(p * 7 / 2);
            delayed.tick().await;
            let taken = Instant::now();
            let next = delayed.tick().await;
            assert!(
                next >= taken + p - Duration::from_millis(1),
                "{flavor}: delay"
            );
        });
    }
}

#[test]
fn busy_sleep_zero_loop_cannot_starve_others() {
    // An already-elapsed sleep is always ready; the cooperative budget must force a yield.
    let rt = corio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let spinner = corio::spawn(async {
            loop {
                sleep(Duration::ZERO).await;
            }
        });
        let (tx, rx) = corio::sync::oneshot::channel();
        corio::spawn(async move { tx.send(()).unwrap() });
        rx.await.unwrap();
        spinner.abort();
    });
}

#[test]
fn timer_churn_does_not_grow_and_timers_can_be_dropped() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            for _ in 0..20_000 {
                // Registered then dropped before firing.
                let r = timeout(Duration::from_secs(60), async {}).await;
                assert!(r.is_ok());
            }
            let fired = Arc::new(AtomicUsize::new(0));
            let f = fired.clone();
            corio::spawn(async move {
                sleep(Duration::from_millis(5)).await;
                f.fetch_add(1, Ordering::SeqCst);
            })
            .await
            .unwrap();
            assert_eq!(fired.load(Ordering::SeqCst), 1, "{flavor}");
        });
    }
}

#[test]
fn timer_registered_from_another_thread_wakes_a_parked_runtime() {
    for (flavor, rt) in runtimes() {
        let handle = rt.handle().clone();
        let (tx, rx) = corio::sync::oneshot::channel();
        // The runtime is parked in block_on(rx) with no timers; a task spawned from outside
        // then registers a short timer, which must wake the parked driver.
        let spawner = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            handle.spawn(async move {
                sleep(Duration::from_millis(10)).await;
                tx.send(()).unwrap();
            });
        });
        let start = Instant::now();
        rt.block_on(rx).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5), "{flavor}");
        spawner.join().unwrap();
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn one_million_concurrent_sleeps() {
    let rt = corio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let done = rt.block_on(async {
        let done = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::with_capacity(1_000_000);
        for i in 0..1_000_000u64 {
            let done = done.clone();
            handles.push(corio::spawn(async move {
                sleep(Duration::from_millis(1 + i % 50)).await;
                done.fetch_add(1, Ordering::Relaxed);
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        done.load(Ordering::Relaxed)
    });
    assert_eq!(done, 1_000_000);
}

#[test]
fn pending_sleeps_are_dropped_at_shutdown() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let d = drops.clone();
        rt.block_on(async move {
            for _ in 0..50 {
                let guard = d.guard();
                corio::spawn(async move {
                    let _guard = guard;
                    sleep(Duration::from_secs(3600)).await;
                });
            }
            corio::task::yield_now().await;
        });
        drop(rt);
        assert_eq!(drops.get(), 50, "{flavor}");
    }
}
