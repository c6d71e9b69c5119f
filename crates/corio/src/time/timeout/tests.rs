use std::marker::PhantomPinned;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;
use std::time::Duration;

use super::*;
use crate::test_util::CountingWaker;
use crate::time::test_util::driver;

const AHEAD: Duration = Duration::from_secs(3600);

fn poll<F: Future>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// Pending forever; sets a flag when dropped; `!Unpin`.
struct Pending {
    dropped: Arc<AtomicBool>,
    _pinned: PhantomPinned,
}

impl Future for Pending {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_ready_future_wins_even_past_the_deadline() {
    let (driver, _) = driver();
    let t = Timeout::new(async { 5 }, Sleep::with_driver(Instant::now(), driver));
    let mut t = std::pin::pin!(t);
    assert_eq!(poll(t.as_mut(), Waker::noop()), Poll::Ready(Ok(5)));
}

#[test]
fn elapses_and_drops_the_inner_future_with_it() {
    let (driver, _) = driver();
    let (counter, waker) = CountingWaker::new();
    let dropped = Arc::new(AtomicBool::new(false));
    let inner = Pending {
        dropped: dropped.clone(),
        _pinned: PhantomPinned,
    };
    let deadline = driver.origin() + AHEAD;
    let mut t = Box::pin(Timeout::new(
        inner,
        Sleep::with_driver(deadline, driver.clone()),
    ));
    assert!(poll(t.as_mut(), &waker).is_pending());
    driver.process_at(deadline);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll(t.as_mut(), &waker), Poll::Ready(Err(Elapsed::new())));
    assert!(
        !dropped.load(Ordering::SeqCst),
        "alive until the Timeout goes"
    );
    drop(t);
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn accessors_reach_the_inner_future() {
    let mut t = timeout(Duration::from_secs(1), std::future::ready(3));
    assert_eq!(t.get_ref().clone().into_inner(), 3);
    *t.get_mut() = std::future::ready(4);
    assert_eq!(t.into_inner().into_inner(), 4);
}

#[test]
fn unpin_exactly_when_the_inner_future_is() {
    fn assert_unpin<T: Unpin>() {}
    assert_unpin::<Timeout<std::future::Ready<()>>>();
    // `Timeout<Pending>` is !Unpin: checked by the compiler through the auto trait; this
    // just documents that pinning is required for it.
    let (driver, _) = driver();
    let t = Timeout::new(
        Pending {
            dropped: Arc::default(),
            _pinned: PhantomPinned,
        },
        Sleep::with_driver(Instant::now(), driver),
    );
    let mut t = std::pin::pin!(t);
    assert!(poll(t.as_mut(), Waker::noop()).is_ready());
}

/// Spends the whole budget on every poll, then reports `Pending` (like a busy stream).
struct BudgetHog;

impl Future for BudgetHog {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        while let Poll::Ready(spent) = coop::poll_proceed(cx) {
            spent.made_progress();
        }
        Poll::Pending
    }
}

#[test]
fn a_budget_hog_still_times_out() {
    let (driver, _) = driver();
    let (_, waker) = CountingWaker::new();
    coop::budget(|| {
        let t = Timeout::new(
            BudgetHog,
            Sleep::with_driver(Instant::now(), driver.clone()),
        );
        let mut t = std::pin::pin!(t);
        assert_eq!(poll(t.as_mut(), &waker), Poll::Ready(Err(Elapsed::new())));
    });
    // But a timeout polled with no budget left at all yields like everything else.
    coop::budget(|| {
        while let Poll::Ready(spent) = coop::poll_proceed(&mut Context::from_waker(&waker)) {
            spent.made_progress();
        }
        let t = Timeout::new(
            std::future::pending::<()>(),
            Sleep::with_driver(Instant::now(), driver.clone()),
        );
        let mut t = std::pin::pin!(t);
        assert!(poll(t.as_mut(), &waker).is_pending());
    });
}

#[test]
#[cfg_attr(miri, ignore = "real time")]
fn timeouts_in_a_runtime() {
    crate::run(async {
        let start = Instant::now();
        let slow = timeout(Duration::from_millis(10), sleep(Duration::from_secs(60))).await;
        assert_eq!(slow, Err(Elapsed::new()));
        assert!(start.elapsed() >= Duration::from_millis(10));
        let quick = timeout(Duration::from_secs(60), sleep(Duration::from_millis(1))).await;
        assert_eq!(quick, Ok(()));
        let at = timeout_at(Instant::now() + Duration::from_millis(5), async { 1 }).await;
        assert_eq!(at, Ok(1));
        let io: std::io::Result<()> = async {
            timeout(Duration::ZERO, std::future::pending::<()>()).await?;
            Ok(())
        }
        .await;
        assert_eq!(io.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    });
}
