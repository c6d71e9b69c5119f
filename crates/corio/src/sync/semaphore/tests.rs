//! Unit tests of the semaphore and its queue. Runtime-free, so they run under Miri:
//! `cargo +nightly miri test -p corio --lib -- sync::semaphore`.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use super::batch::{Acquire, BatchSemaphore};
use super::*;
use crate::scheduler::coop;
use crate::test_util::{CountingWaker, block_on, spend_budget_but_one};

fn poll_with(fut: Pin<&mut Acquire<'_>>, waker: &Waker) -> Poll<Result<(), AcquireError>> {
    fut.poll(&mut Context::from_waker(waker))
}

fn poll(fut: Pin<&mut Acquire<'_>>) -> Poll<Result<(), AcquireError>> {
    poll_with(fut, Waker::noop())
}

#[test]
fn uncontended_acquire_and_release() {
    let sem = BatchSemaphore::new(3);
    let mut a = pin!(sem.acquire(2));
    assert_eq!(poll(a.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(sem.try_acquire(2), Err(TryAcquireError::NoPermits));
    assert_eq!(sem.try_acquire(1), Ok(()));
    assert_eq!(sem.try_acquire(0), Ok(()), "zero permits always fit");
    sem.release(3);
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn waiters_are_served_in_order() {
    let sem = BatchSemaphore::new(0);
    let counters: Vec<_> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut futs: Vec<_> = (0..3).map(|_| Box::pin(sem.acquire(1))).collect();
    for (fut, (_, waker)) in futs.iter_mut().zip(&counters) {
        assert!(poll_with(fut.as_mut(), waker).is_pending());
    }
    for (served, fut) in futs.iter_mut().enumerate() {
        sem.release(1);
        let wakes: Vec<_> = counters.iter().map(|(c, _)| c.wakes()).collect();
        let expected: Vec<_> = (0..3).map(|i| usize::from(i <= served)).collect();
        assert_eq!(wakes, expected, "only the oldest waiter is woken");
        assert_eq!(poll(fut.as_mut()), Poll::Ready(Ok(())));
    }
    assert_eq!(sem.available_permits(), 0, "every permit went to a waiter");
}

#[test]
fn large_request_at_the_head_is_not_overtaken() {
    let sem = BatchSemaphore::new(1);
    let mut big = pin!(sem.acquire(3));
    let mut small = pin!(sem.acquire(1));
    assert!(
        poll(big.as_mut()).is_pending(),
        "took the one permit, owed two"
    );
    assert!(poll(small.as_mut()).is_pending());
    assert_eq!(sem.try_acquire(1), Err(TryAcquireError::NoPermits));
    sem.release(1);
    assert!(poll(big.as_mut()).is_pending());
    assert!(poll(small.as_mut()).is_pending(), "the head collects it");
    assert_eq!(sem.available_permits(), 0);
    sem.release(2);
    assert_eq!(poll(big.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(poll(small.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(sem.available_permits(), 0);
    sem.release(4);
    assert_eq!(sem.available_permits(), 4);
}

#[test]
fn cancelled_head_passes_its_permits_on() {
    let sem = BatchSemaphore::new(2);
    let mut big = Box::pin(sem.acquire(5));
    let (small_count, small_waker) = CountingWaker::new();
    let mut small = pin!(sem.acquire(1));
    assert!(poll(big.as_mut()).is_pending());
    assert!(poll_with(small.as_mut(), &small_waker).is_pending());
    drop(big);
    assert_eq!(small_count.wakes(), 1);
    assert_eq!(poll(small.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(sem.available_permits(), 1, "the rest is available again");
    sem.release(1);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn cancelled_after_being_served_gives_everything_back() {
    let sem = BatchSemaphore::new(0);
    let mut first = Box::pin(sem.acquire(2));
    let (second_count, second_waker) = CountingWaker::new();
    let mut second = pin!(sem.acquire(2));
    assert!(poll(first.as_mut()).is_pending());
    assert!(poll_with(second.as_mut(), &second_waker).is_pending());
    sem.release(2);
    assert_eq!(second_count.wakes(), 0);
    drop(first); // served, never polled again
    assert_eq!(
        second_count.wakes(),
        1,
        "its permits went to the next waiter"
    );
    assert_eq!(poll(second.as_mut()), Poll::Ready(Ok(())));
}

#[test]
fn cancelled_waiter_in_the_middle() {
    let sem = BatchSemaphore::new(0);
    let mut a = pin!(sem.acquire(1));
    let mut b = Box::pin(sem.acquire(1));
    let mut c = pin!(sem.acquire(1));
    for fut in [a.as_mut(), b.as_mut(), c.as_mut()] {
        assert!(poll(fut).is_pending());
    }
    drop(b);
    sem.release(2);
    assert_eq!(poll(a.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(poll(c.as_mut()), Poll::Ready(Ok(())));
    // The last waiter gone, uncontended operation is back.
    sem.release(1);
    assert_eq!(sem.try_acquire(1), Ok(()));
}

#[test]
fn last_cancelled_waiter_reopens_the_fast_path() {
    let sem = BatchSemaphore::new(0);
    let mut a = Box::pin(sem.acquire(1));
    assert!(poll(a.as_mut()).is_pending());
    drop(a);
    sem.release(1);
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(sem.try_acquire(1), Ok(()));
}

#[test]
fn release_wakes_exactly_as_many_as_it_serves() {
    let sem = BatchSemaphore::new(0);
    let counters: Vec<_> = (0..5).map(|_| CountingWaker::new()).collect();
    let mut futs: Vec<_> = (0..5).map(|_| Box::pin(sem.acquire(1))).collect();
    for (fut, (_, waker)) in futs.iter_mut().zip(&counters) {
        assert!(poll_with(fut.as_mut(), waker).is_pending());
    }
    sem.release(2);
    let wakes: Vec<_> = counters.iter().map(|(c, _)| c.wakes()).collect();
    assert_eq!(wakes, [1, 1, 0, 0, 0]);
}

#[test]
fn more_waiters_than_a_wake_batch() {
    let n = 75;
    let sem = BatchSemaphore::new(0);
    let (counter, waker) = CountingWaker::new();
    let mut futs: Vec<_> = (0..n).map(|_| Box::pin(sem.acquire(1))).collect();
    for fut in &mut futs {
        assert!(poll_with(fut.as_mut(), &waker).is_pending());
    }
    sem.release(n + 1);
    assert_eq!(counter.wakes(), n);
    assert_eq!(sem.available_permits(), 1);
    for fut in &mut futs {
        assert_eq!(poll(fut.as_mut()), Poll::Ready(Ok(())));
    }

    // And closing.
    let mut futs: Vec<_> = (0..n).map(|_| Box::pin(sem.acquire(2))).collect();
    for fut in &mut futs {
        assert!(poll_with(fut.as_mut(), &waker).is_pending());
    }
    sem.close();
    assert_eq!(counter.wakes(), 2 * n);
    for fut in &mut futs {
        assert_eq!(poll(fut.as_mut()), Poll::Ready(Err(AcquireError(()))));
    }
}

#[test]
fn close_fails_waiters_and_returns_partial_permits() {
    let sem = BatchSemaphore::new(1);
    let (counter, waker) = CountingWaker::new();
    let mut big = pin!(sem.acquire(3));
    let mut small = pin!(sem.acquire(1));
    assert!(poll_with(big.as_mut(), &waker).is_pending());
    assert!(poll_with(small.as_mut(), &waker).is_pending());
    sem.close();
    assert!(sem.is_closed());
    assert_eq!(counter.wakes(), 2);
    assert_eq!(poll(big.as_mut()), Poll::Ready(Err(AcquireError(()))));
    assert_eq!(sem.available_permits(), 1, "the partial permit came back");
    assert_eq!(poll(small.as_mut()), Poll::Ready(Err(AcquireError(()))));
    let mut late = pin!(sem.acquire(1));
    assert_eq!(poll(late.as_mut()), Poll::Ready(Err(AcquireError(()))));
    assert_eq!(sem.try_acquire(1), Err(TryAcquireError::Closed));
    sem.release(1);
    assert_eq!(
        sem.available_permits(),
        2,
        "permits still count after closing"
    );
}

#[test]
fn served_before_close_still_succeeds() {
    let sem = BatchSemaphore::new(0);
    let mut a = pin!(sem.acquire(1));
    assert!(poll(a.as_mut()).is_pending());
    sem.release(1);
    sem.close();
    assert_eq!(poll(a.as_mut()), Poll::Ready(Ok(())));
}

#[test]
fn repoll_replaces_the_waker() {
    let sem = BatchSemaphore::new(0);
    let (old_count, old_waker) = CountingWaker::new();
    let (new_count, new_waker) = CountingWaker::new();
    let mut a = pin!(sem.acquire(1));
    assert!(poll_with(a.as_mut(), &old_waker).is_pending());
    assert!(poll_with(a.as_mut(), &new_waker).is_pending());
    assert_eq!(
        Arc::strong_count(&old_count),
        2,
        "the old waker was dropped"
    );
    sem.release(1);
    assert_eq!((old_count.wakes(), new_count.wakes()), (0, 1));
    assert_eq!(poll(a.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(Arc::strong_count(&new_count), 2, "woken and dropped");
}

#[test]
fn cancelled_waiter_drops_its_waker() {
    let sem = BatchSemaphore::new(0);
    let (count, waker) = CountingWaker::new();
    let mut a = Box::pin(sem.acquire(1));
    assert!(poll_with(a.as_mut(), &waker).is_pending());
    assert_eq!(Arc::strong_count(&count), 3);
    drop(a);
    assert_eq!(Arc::strong_count(&count), 2);
}

#[test]
fn discarding_semaphore_serves_only_current_waiters() {
    let sem = BatchSemaphore::new_discarding();
    sem.release(5);
    assert_eq!(sem.available_permits(), 0, "nobody waited: nothing kept");
    let mut a = pin!(sem.acquire(1));
    let mut b = pin!(sem.acquire(1));
    let mut c = Box::pin(sem.acquire(1));
    for fut in [a.as_mut(), b.as_mut(), c.as_mut()] {
        assert!(poll(fut).is_pending());
    }
    sem.release(1);
    assert_eq!(poll(a.as_mut()), Poll::Ready(Ok(())));
    assert!(poll(b.as_mut()).is_pending());
    sem.release_to_all_waiting();
    drop(c); // served; its permit passes on to nobody and vanishes
    assert_eq!(poll(b.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(sem.available_permits(), 0);
    sem.release_to_all_waiting();
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn forget_permits_takes_only_available_ones() {
    let sem = Semaphore::new(5);
    let held = sem.try_acquire_many(2).unwrap();
    assert_eq!(sem.forget_permits(10), 3);
    assert_eq!(sem.forget_permits(1), 0);
    drop(held);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
#[should_panic(expected = "at most")]
fn adding_past_max_permits_panics() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    sem.add_permits(2);
}

#[test]
#[should_panic(expected = "at most")]
fn creating_past_max_permits_panics() {
    let _ = Semaphore::new(Semaphore::MAX_PERMITS + 1);
}

#[test]
fn permits_split_merge_forget() {
    let sem = Arc::new(Semaphore::new(10));
    let mut a = sem.try_acquire_many(4).unwrap();
    let b = a.split(3).unwrap();
    assert!(a.split(2).is_none());
    assert_eq!((a.num_permits(), b.num_permits()), (1, 3));
    a.merge(b);
    assert_eq!(a.num_permits(), 4);
    a.forget();
    assert_eq!(sem.available_permits(), 6);

    let mut owned = sem.clone().try_acquire_many_owned(3).unwrap();
    let part = owned.split(1).unwrap();
    assert!(Arc::ptr_eq(part.semaphore(), &sem));
    drop(part);
    assert_eq!(sem.available_permits(), 4);
    owned.merge(sem.clone().try_acquire_owned().unwrap());
    assert_eq!(owned.num_permits(), 3);
    drop(owned);
    assert_eq!(sem.available_permits(), 6);
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available_permits: 6, closed: false }"
    );
}

#[test]
#[should_panic(expected = "different semaphores")]
fn merging_across_semaphores_panics() {
    let (s1, s2) = (Semaphore::new(1), Semaphore::new(1));
    let mut a = s1.try_acquire().unwrap();
    a.merge(s2.try_acquire().unwrap());
}

#[test]
fn ready_acquire_spends_budget() {
    coop::budget(|| {
        let (counter, waker) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        spend_budget_but_one(&mut cx);
        let sem = BatchSemaphore::new(0);
        let mut waiting = pin!(sem.acquire(1));
        assert!(poll_with(waiting.as_mut(), &waker).is_pending());
        assert!(coop::has_budget_remaining(), "Pending refunds the unit");
        sem.release(2);
        assert_eq!(poll(waiting.as_mut()), Poll::Ready(Ok(())));
        assert!(!coop::has_budget_remaining());
        let mut next = pin!(sem.acquire(1));
        assert!(
            poll_with(next.as_mut(), &waker).is_pending(),
            "out of budget"
        );
        assert_eq!(counter.wakes(), 2, "asked to be polled again");
        assert_eq!(sem.available_permits(), 1, "took nothing");
    });
}

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let sem = Semaphore::new(1);
    send_sync(&sem);
    send_sync(&sem.acquire());
    send_sync(&Arc::new(Semaphore::new(1)).acquire_owned());
    send_sync(&sem.try_acquire().unwrap());
    send_sync(&AcquireError(()));
    send_sync(&TryAcquireError::Closed);
}

#[test]
fn error_messages() {
    assert_eq!(AcquireError(()).to_string(), "semaphore closed");
    assert_eq!(TryAcquireError::Closed.to_string(), "semaphore closed");
    assert_eq!(
        TryAcquireError::NoPermits.to_string(),
        "no permits available"
    );
    assert_eq!(TryLockError(()).to_string(), "operation would block");
}

#[test]
fn across_threads_no_permit_lost_and_limit_kept() {
    let rounds = if cfg!(miri) { 20 } else { 2000 };
    let sem = Arc::new(Semaphore::new(2));
    let inside = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (sem, inside) = (sem.clone(), inside.clone());
            std::thread::spawn(move || {
                for i in 0..rounds {
                    let n = 1 + (t + i) % 2;
                    let permit = block_on(sem.acquire_many(n as u32)).unwrap();
                    let now = inside.fetch_add(n, Ordering::SeqCst) + n;
                    assert!(now <= 2, "{now} permits in use");
                    inside.fetch_sub(n, Ordering::SeqCst);
                    drop(permit);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn across_threads_with_cancellation() {
    let rounds = if cfg!(miri) { 20 } else { 2000 };
    let sem = Arc::new(Semaphore::new(1));
    let canceller = {
        let sem = sem.clone();
        std::thread::spawn(move || {
            for _ in 0..rounds {
                // Queue, then give up after one poll: whatever was handed over goes back.
                let mut fut = pin!(sem.acquire_many(2));
                let _ = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
            }
        })
    };
    let user = {
        let sem = sem.clone();
        std::thread::spawn(move || {
            for _ in 0..rounds {
                drop(block_on(sem.acquire()).unwrap());
            }
        })
    };
    canceller.join().unwrap();
    user.join().unwrap();
    assert_eq!(sem.available_permits(), 1);
}
