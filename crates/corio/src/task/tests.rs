//! The task cell under a deterministic single-threaded scheduler. These also run under Miri
//! (`cargo +nightly miri test -p corio --lib task::`), which checks every path for undefined
//! behaviour and leaks.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::test_scheduler::TestScheduler;
use super::{JoinError, JoinHandle};
use crate::test_util::{CountingWaker, DropCounter};

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// Polls a join handle once with a no-op waker.
fn poll_join<T>(join: &mut JoinHandle<T>) -> Poll<Result<T, JoinError>> {
    Pin::new(join).poll(&mut Context::from_waker(Waker::noop()))
}

/// The error of a finished join, panicking if it is pending or succeeded.
fn join_err<T>(polled: Poll<Result<T, JoinError>>) -> JoinError {
    match polled {
        Poll::Ready(Err(err)) => err,
        Poll::Ready(Ok(_)) => panic!("expected an error, the task succeeded"),
        Poll::Pending => panic!("expected an error, the task is pending"),
    }
}

/// A future that parks its waker in `slot` and completes once `ready` is set.
fn parked(
    slot: Arc<Mutex<Option<Waker>>>,
    ready: Arc<AtomicUsize>,
) -> impl Future<Output = u32> + Send {
    poll_fn(move |cx| {
        if ready.load(SeqCst) > 0 {
            Poll::Ready(7)
        } else {
            *slot.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    })
}

#[test]
fn spawn_run_join() {
    let sched = TestScheduler::new();
    let mut join = TestScheduler::spawn(&sched, async { 1 + 2 });
    assert!(poll_join(&mut join).is_pending());
    assert_eq!(sched.run_until_idle(), 1);
    assert!(join.is_finished());
    assert!(matches!(poll_join(&mut join), Poll::Ready(Ok(3))));
    assert!(sched.owned.is_empty());
}

#[test]
fn wake_by_val_and_by_ref_requeue_once() {
    let sched = TestScheduler::new();
    let slot = Arc::new(Mutex::new(None));
    let ready = counter();
    let mut join = TestScheduler::spawn(&sched, parked(slot.clone(), ready.clone()));
    sched.run_until_idle();
    let waker = slot.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    waker.wake_by_ref();
    assert_eq!(
        sched.queued(),
        1,
        "a second wake of a queued task is a no-op"
    );
    sched.run_until_idle();
    ready.store(1, SeqCst);
    slot.lock().unwrap().take().unwrap().wake();
    drop(waker);
    sched.run_until_idle();
    assert!(matches!(poll_join(&mut join), Poll::Ready(Ok(7))));
}

#[test]
fn waker_outlives_task() {
    let sched = TestScheduler::new();
    let slot = Arc::new(Mutex::new(None));
    let ready = counter();
    let join = TestScheduler::spawn(&sched, parked(slot.clone(), ready.clone()));
    sched.run_until_idle();
    let waker = slot.lock().unwrap().take().unwrap();
    ready.store(1, SeqCst);
    waker.wake_by_ref();
    sched.run_until_idle();
    drop(join);
    // The cell is still referenced by `waker`; waking a completed task does nothing.
    waker.wake_by_ref();
    assert_eq!(sched.queued(), 0);
    drop(waker);
}

#[test]
fn drop_join_handle_before_and_after_completion_drops_output_once() {
    for drop_early in [true, false] {
        let sched = TestScheduler::new();
        let drops = DropCounter::new();
        let out = drops.tracked();
        let join = TestScheduler::spawn(&sched, async move { out });
        if drop_early {
            drop(join);
            sched.run_until_idle();
        } else {
            sched.run_until_idle();
            drop(join);
        }
        assert_eq!(drops.get(), 1, "drop_early={drop_early}");
    }
}

#[test]
fn abort_idle_task_drops_future() {
    let sched = TestScheduler::new();
    let drops = DropCounter::new();
    let guard = drops.tracked();
    let mut join = TestScheduler::spawn(&sched, async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    sched.run_until_idle();
    assert_eq!(drops.get(), 0);
    join.abort();
    join.abort();
    sched.run_until_idle();
    assert_eq!(drops.get(), 1);
    assert!(matches!(
        poll_join(&mut join),
        Poll::Ready(Err(JoinError::Cancelled))
    ));
}

/// A pinned future that remembers where it was polled and checks, when dropped, that it is
/// still there: `Pin` promises a polled future is dropped in place, and `async fn`s that
/// borrow their own locals across an `.await` rely on it.
struct DroppedInPlace {
    polled_at: usize,
    dropped_in_place: Arc<AtomicUsize>,
    _pinned: std::marker::PhantomPinned,
}

impl Future for DroppedInPlace {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let addr = &*self as *const Self as usize;
        // SAFETY: only a plain field is written; nothing is moved out of the pinned value.
        unsafe { self.get_unchecked_mut().polled_at = addr };
        Poll::Pending
    }
}

impl Drop for DroppedInPlace {
    fn drop(&mut self) {
        if self.polled_at == self as *const Self as usize {
            self.dropped_in_place.fetch_add(1, SeqCst);
        }
    }
}

#[test]
fn an_aborted_future_is_dropped_where_it_was_pinned() {
    let sched = TestScheduler::new();
    let in_place = counter();
    let mut join = TestScheduler::spawn(
        &sched,
        DroppedInPlace {
            polled_at: 0,
            dropped_in_place: in_place.clone(),
            _pinned: std::marker::PhantomPinned,
        },
    );
    sched.run_until_idle();
    join.abort();
    sched.run_until_idle();
    assert!(join_err(poll_join(&mut join)).is_cancelled());
    assert_eq!(
        in_place.load(SeqCst),
        1,
        "the future was moved before its drop"
    );
}

#[test]
fn an_aborted_async_fn_borrowing_its_own_local_drops_cleanly() {
    // The shape that crashed the chat example: the suspended `.await` holds `&mut buffer`,
    // a local of the same future. Dropping a moved copy reads through a dangling borrow
    // (Miri reports it; natively it corrupted memory).
    struct Borrower<'a>(&'a mut Vec<u32>, Arc<AtomicUsize>);
    impl Drop for Borrower<'_> {
        fn drop(&mut self) {
            self.0.push(1);
            self.1.fetch_add(self.0.len(), SeqCst);
        }
    }
    let sched = TestScheduler::new();
    let seen = counter();
    let s = seen.clone();
    let mut join = TestScheduler::spawn(&sched, async move {
        let mut buffer = vec![7, 8, 9];
        let borrower = Borrower(&mut buffer, s);
        std::future::pending::<()>().await;
        drop(borrower);
    });
    sched.run_until_idle();
    join.abort();
    sched.run_until_idle();
    assert!(join_err(poll_join(&mut join)).is_cancelled());
    assert_eq!(seen.load(SeqCst), 4, "the borrow saw the live buffer");
}

#[test]
fn abort_before_first_poll() {
    let sched = TestScheduler::new();
    let polled = counter();
    let p = polled.clone();
    let mut join = TestScheduler::spawn(&sched, async move {
        p.fetch_add(1, SeqCst);
    });
    join.abort();
    sched.run_until_idle();
    assert_eq!(polled.load(SeqCst), 0, "an aborted task is never polled");
    assert!(join_err(poll_join(&mut join)).is_cancelled());
}

#[test]
fn abort_during_poll_cancels_after_it() {
    let sched = TestScheduler::new();
    let abort: Arc<Mutex<Option<super::AbortHandle>>> = Arc::new(Mutex::new(None));
    let a = abort.clone();
    let mut join = TestScheduler::spawn(
        &sched,
        poll_fn(move |_cx| {
            if let Some(handle) = a.lock().unwrap().as_ref() {
                handle.abort(); // aborting itself mid-poll
            }
            Poll::<()>::Pending
        }),
    );
    *abort.lock().unwrap() = Some(join.abort_handle());
    sched.run_until_idle();
    assert!(join_err(poll_join(&mut join)).is_cancelled());
    drop(abort.lock().unwrap().take());
}

#[test]
fn abort_after_completion_keeps_output() {
    let sched = TestScheduler::new();
    let mut join = TestScheduler::spawn(&sched, async { "kept" });
    sched.run_until_idle();
    join.abort();
    sched.run_until_idle();
    assert!(matches!(poll_join(&mut join), Poll::Ready(Ok("kept"))));
}

#[test]
fn panic_becomes_join_error_and_future_is_dropped() {
    let sched = TestScheduler::new();
    let drops = DropCounter::new();
    let guard = drops.tracked();
    let mut join = TestScheduler::spawn(&sched, async move {
        let _guard = guard;
        panic!("task failed");
    });
    sched.run_until_idle();
    assert_eq!(drops.get(), 1);
    match poll_join(&mut join) {
        Poll::Ready(Err(JoinError::Panic(p))) => {
            assert_eq!(p.downcast_ref::<&str>(), Some(&"task failed"))
        }
        other => panic!("unexpected {:?}", other.map(|r| r.map(|_| ()))),
    }
}

#[test]
fn panicking_destructor_on_cancel_is_reported() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("drop bomb");
        }
    }
    let sched = TestScheduler::new();
    let bomb = Bomb;
    let mut join = TestScheduler::spawn(&sched, async move {
        let _bomb = bomb;
        std::future::pending::<()>().await;
    });
    sched.run_until_idle();
    join.abort();
    sched.run_until_idle();
    assert!(join_err(poll_join(&mut join)).is_panic());
}

#[test]
fn join_waker_is_woken_and_replaceable() {
    let sched = TestScheduler::new();
    let mut join = TestScheduler::spawn(&sched, async { 5 });
    let (first, waker_a) = CountingWaker::new();
    let (second, waker_b) = CountingWaker::new();
    assert!(
        Pin::new(&mut join)
            .poll(&mut Context::from_waker(&waker_a))
            .is_pending()
    );
    assert!(
        Pin::new(&mut join)
            .poll(&mut Context::from_waker(&waker_b))
            .is_pending()
    );
    sched.run_until_idle();
    assert_eq!(first.wakes(), 0, "the replaced waker is not woken");
    assert_eq!(second.wakes(), 1);
    assert!(matches!(poll_join(&mut join), Poll::Ready(Ok(5))));
}

#[test]
fn shutdown_cancels_idle_and_queued_tasks() {
    let sched = TestScheduler::new();
    let drops = DropCounter::new();
    let mut joins = Vec::new();
    for _ in 0..3 {
        let guard = drops.tracked();
        joins.push(TestScheduler::spawn(&sched, async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
    }
    sched.run_until_idle();
    let guard = drops.tracked();
    joins.push(TestScheduler::spawn(&sched, async move { drop(guard) })); // queued, never polled
    sched.shutdown();
    assert_eq!(drops.get(), 4);
    for mut join in joins {
        assert!(join_err(poll_join(&mut join)).is_cancelled());
    }
    assert!(sched.owned.is_closed());
}

#[test]
fn spawn_after_close_is_refused() {
    let sched = TestScheduler::new();
    sched.owned.close_and_shutdown_all();
    let res = sched.owned.bind(
        async {},
        sched.clone(),
        None,
        std::panic::Location::caller(),
    );
    assert!(res.is_err());
}

#[test]
fn self_wake_requeues_behind_others() {
    let sched = TestScheduler::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    let mut polls = 0;
    let _a = TestScheduler::spawn(
        &sched,
        poll_fn(move |cx| {
            polls += 1;
            o.lock().unwrap().push("a");
            if polls < 3 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        }),
    );
    let o = order.clone();
    let _b = TestScheduler::spawn(&sched, async move { o.lock().unwrap().push("b") });
    sched.run_until_idle();
    assert_eq!(*order.lock().unwrap(), ["a", "b", "a", "a"]);
}

#[test]
fn task_ids_are_unique_and_names_kept() {
    let sched = TestScheduler::new();
    let a = TestScheduler::spawn(&sched, async {});
    let b = TestScheduler::spawn(&sched, async {});
    assert_ne!(a.id(), b.id());
    sched.run_until_idle();
}
