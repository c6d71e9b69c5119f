use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::task::{Wake, Waker};
use std::time::Duration;

use super::*;
use crate::test_util::CountingWaker;
use crate::time::test_util::driver;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn deadlines_round_up_and_never_fire_early() {
    let (driver, _) = driver();
    let origin = driver.origin;
    let (counter, waker) = CountingWaker::new();
    let half = driver.register(origin + Duration::from_micros(1500), &waker);
    let whole = driver.register(origin + ms(3), &waker);
    assert!(half.is_some() && whole.is_some());
    driver.process_at(origin + ms(2) - Duration::from_nanos(1));
    assert_eq!(counter.wakes(), 0, "1.5 ms must not fire before tick 2");
    driver.process_at(origin + ms(2));
    assert_eq!(counter.wakes(), 1);
    assert!(driver.is_fired(half.unwrap()));
    driver.process_at(origin + ms(3) - Duration::from_nanos(1));
    assert_eq!(counter.wakes(), 1);
    driver.process_at(origin + ms(3));
    assert_eq!(counter.wakes(), 2);
    // Before the origin, or at a tick already processed: due at once, nothing registered.
    assert!(driver.register(origin + ms(3), &waker).is_none());
    assert!(driver.register(origin, &waker).is_none());
    assert_eq!(driver.wheel_len(), 2);
}

#[test]
fn process_before_origin_does_nothing() {
    let (driver, _) = driver();
    let (counter, waker) = CountingWaker::new();
    driver.register(driver.origin + ms(1), &waker).unwrap();
    if let Some(before) = driver.origin.checked_sub(ms(10)) {
        driver.process_at(before);
    }
    driver.process_at(driver.origin);
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn next_deadline_reports_the_next_wake_up() {
    let (driver, _) = driver();
    let origin = driver.origin;
    assert_eq!(driver.next_deadline(), None);
    let (_, waker) = CountingWaker::new();
    driver.register(origin + ms(10), &waker).unwrap();
    assert_eq!(driver.next_deadline(), Some(origin + ms(10)));
    // A coarse slot is due (for cascading) no later than its timers.
    driver.register(origin + ms(5), &waker).unwrap();
    driver.register(origin + ms(100_000), &waker).unwrap();
    assert_eq!(driver.next_deadline(), Some(origin + ms(5)));
    driver.process_at(origin + ms(10));
    let next = driver.next_deadline().unwrap();
    assert!(next > origin + ms(10) && next <= origin + ms(100_000));
    driver.process_at(origin + ms(100_000));
    assert_eq!(driver.next_deadline(), None);
}

#[test]
fn earlier_registration_after_next_deadline_unparks() {
    let (driver, unpark) = driver();
    let origin = driver.origin;
    let (_, waker) = CountingWaker::new();
    let register = |at: u64| driver.register(origin + ms(at), &waker).unwrap();
    // Nothing recorded yet means "parked with no deadline": any registration unparks.
    register(10_000);
    assert_eq!(unpark.count(), 1);
    let recorded = driver.next_deadline().unwrap();
    assert!(recorded <= origin + ms(10_000));
    register(20_000);
    assert_eq!(unpark.count(), 1, "a later deadline must not unpark");
    register(30);
    assert_eq!(unpark.count(), 2, "an earlier deadline must unpark");
    register(50);
    assert_eq!(unpark.count(), 2, "already waking by 30 ms");
    register(20);
    assert_eq!(unpark.count(), 3);
    assert_eq!(driver.next_deadline(), Some(origin + ms(20)));
    register(20);
    assert_eq!(unpark.count(), 3, "same tick is not earlier");
    // Reset moves count too.
    let key = register(40);
    driver.reset(key, origin + ms(15));
    assert_eq!(unpark.count(), 4);
    driver.reset(key, origin + ms(60));
    assert_eq!(unpark.count(), 4);
    // With nothing pending, the parked thread sleeps indefinitely.
    driver.process_at(origin + ms(20_000));
    assert_eq!(driver.next_deadline(), None);
    register(25_000);
    assert_eq!(unpark.count(), 5);
}

#[test]
fn registration_from_another_thread_unparks() {
    let (driver, unpark) = driver();
    let (_, waker) = CountingWaker::new();
    driver.register(driver.origin + ms(60_000), &waker).unwrap();
    driver.next_deadline();
    let before = unpark.count();
    std::thread::scope(|s| {
        s.spawn(|| {
            let (_, waker) = CountingWaker::new();
            driver.register(driver.origin + ms(5), &waker).unwrap();
        });
    });
    assert_eq!(unpark.count(), before + 1);
}

/// Unpark that checks it is called with the driver's lock released.
#[derive(Default)]
struct LockCheckingUnpark {
    driver: OnceLock<Weak<TimeDriver>>,
    unlocked: AtomicUsize,
}

impl Unpark for LockCheckingUnpark {
    fn unpark(&self) {
        let driver = self.driver.get().and_then(Weak::upgrade).unwrap();
        if driver.inner.try_lock().is_ok() {
            self.unlocked.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn unpark_is_called_outside_the_lock() {
    let unpark = Arc::new(LockCheckingUnpark::default());
    let driver = Arc::new(TimeDriver::new(unpark.clone()));
    unpark.driver.set(Arc::downgrade(&driver)).unwrap();
    let (_, waker) = CountingWaker::new();
    driver.register(driver.origin + ms(10), &waker).unwrap();
    assert_eq!(unpark.unlocked.load(Ordering::SeqCst), 1);
}

/// A waker that, when woken, uses the driver: that deadlocks unless woken outside the lock.
struct ReentrantWaker {
    driver: Arc<TimeDriver>,
    woken_unlocked: AtomicUsize,
}

impl Wake for ReentrantWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.driver.inner.try_lock().is_ok() {
            self.woken_unlocked.fetch_add(1, Ordering::SeqCst);
        }
        // Re-entering is fine too: register a timer that is already due.
        assert!(
            self.driver
                .register(self.driver.origin, Waker::noop())
                .is_none()
        );
    }
}

#[test]
fn wakers_run_outside_the_lock() {
    let (driver, _) = driver();
    let reentrant = Arc::new(ReentrantWaker {
        driver: driver.clone(),
        woken_unlocked: AtomicUsize::new(0),
    });
    let waker = Waker::from(reentrant.clone());
    // More than one batch.
    for i in 0..100 {
        driver
            .register(driver.origin + ms(1 + i % 7), &waker)
            .unwrap();
    }
    driver.process_at(driver.origin + ms(10));
    assert_eq!(reentrant.woken_unlocked.load(Ordering::SeqCst), 100);
}

/// Records whether the driver's lock was free when the last waker handle was dropped.
struct DropChecker {
    driver: OnceLock<Arc<TimeDriver>>,
    dropped_unlocked: Arc<AtomicBool>,
}

impl Wake for DropChecker {
    fn wake(self: Arc<Self>) {}
}

impl Drop for DropChecker {
    fn drop(&mut self) {
        let free = self.driver.get().unwrap().inner.try_lock().is_ok();
        self.dropped_unlocked.store(free, Ordering::SeqCst);
    }
}

#[test]
fn wakers_are_dropped_outside_the_lock() {
    let (driver, _) = driver();
    let flag = Arc::new(AtomicBool::new(false));
    let checker = DropChecker {
        driver: OnceLock::new(),
        dropped_unlocked: flag.clone(),
    };
    checker.driver.set(driver.clone()).unwrap();
    let waker = Waker::from(Arc::new(checker));
    let key = driver.register(driver.origin + ms(50), &waker).unwrap();
    drop(waker);
    assert!(!flag.load(Ordering::SeqCst));
    driver.deregister(key);
    assert!(flag.load(Ordering::SeqCst), "waker dropped under the lock");
}

#[test]
fn shutdown_wakes_every_pending_timer() {
    let (driver, _) = driver();
    let (counter, waker) = CountingWaker::new();
    let keys: Vec<Key> = (0..100)
        .map(|i| {
            let at = driver.origin + ms(1 + i * 1_000_000);
            driver.register(at, &waker).unwrap()
        })
        .collect();
    assert!(!driver.is_shutdown());
    driver.shutdown();
    assert!(driver.is_shutdown());
    assert_eq!(counter.wakes(), 100);
    assert!(keys.iter().all(|&k| driver.is_fired(k)));
    assert_eq!(driver.next_deadline(), None);
    // Owners can still let go of their entries.
    for key in keys {
        driver.deregister(key);
    }
    assert_eq!(driver.wheel_len(), 0);
    driver.process();
    assert_eq!(counter.wakes(), 100);
}

#[test]
#[should_panic(expected = "corio: the runtime's timer driver has shut down")]
fn registering_after_shutdown_panics() {
    let (driver, _) = driver();
    driver.shutdown();
    let (_, waker) = CountingWaker::new();
    driver.register(driver.origin + ms(10), &waker);
}

#[test]
fn driver_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TimeDriver>();
}
