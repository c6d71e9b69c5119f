//! Model-checked races of the semaphore's lock-free paths against its queue:
//! `RUSTFLAGS="--cfg loom" cargo test -p corio --release --lib sync::semaphore::loom`.
//!
//! `block_on` parks the thread on `Pending` and only resumes on a wake-up, so a lost
//! wake-up shows up as a deadlock that loom reports; a lost permit shows up in the final
//! counts.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use loom::thread;

use super::batch::BatchSemaphore;
use crate::loom::sync::Arc;
use crate::sync::{Condition, Mutex};

/// Polls `fut` on this loom thread, parking between polls until a waker unparks it.
fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

#[test]
fn acquire_races_release() {
    loom::model(|| {
        let sem = Arc::new(BatchSemaphore::new(1));
        sem.try_acquire(1).unwrap();
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.release(1))
        };
        block_on(sem.acquire(1)).unwrap();
        sem.release(1);
        releaser.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn batch_acquire_collects_racing_releases() {
    loom::model(|| {
        let sem = Arc::new(BatchSemaphore::new(0));
        let releasers: Vec<_> = (0..2)
            .map(|_| {
                let sem = sem.clone();
                thread::spawn(move || sem.release(1))
            })
            .collect();
        block_on(sem.acquire(2)).unwrap();
        for releaser in releasers {
            releaser.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 0);
    });
}

#[test]
fn two_waiters_one_releaser() {
    loom::model(|| {
        let sem = Arc::new(BatchSemaphore::new(0));
        let waiter = {
            let sem = sem.clone();
            thread::spawn(move || block_on(sem.acquire(1)).unwrap())
        };
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.release(2))
        };
        block_on(sem.acquire(1)).unwrap();
        waiter.join().unwrap();
        releaser.join().unwrap();
        assert_eq!(sem.available_permits(), 0);
    });
}

#[test]
fn cancel_races_release() {
    loom::model(|| {
        let sem = Arc::new(BatchSemaphore::new(0));
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.release(1))
        };
        {
            let mut acquire = pin!(sem.acquire(1));
            let first = acquire
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()));
            if first.is_ready() {
                // Got it outright: give it back as a permit would.
                sem.release(1);
            }
            // Dropped here, possibly while (or just after) the release serves it.
        }
        releaser.join().unwrap();
        assert_eq!(sem.available_permits(), 1, "the permit is never lost");
    });
}

#[test]
fn cancel_races_release_with_another_waiter() {
    loom::model(|| {
        let sem = Arc::new(BatchSemaphore::new(0));
        let waiter = {
            let sem = sem.clone();
            thread::spawn(move || block_on(sem.acquire(1)).unwrap())
        };
        let mut acquire = Box::pin(sem.acquire(1));
        let first = acquire
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        assert!(first.is_pending(), "no permit yet");
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.release(1))
        };
        drop(acquire);
        releaser.join().unwrap();
        // If the permit went to the cancelled acquire, its drop passed it on.
        waiter.join().unwrap();
        assert_eq!(sem.available_permits(), 0);
    });
}

#[test]
fn cancel_of_a_partly_served_batch_races_release() {
    loom::model(|| {
        let sem = Arc::new(BatchSemaphore::new(1));
        let mut acquire = Box::pin(sem.acquire(2));
        let first = acquire
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        assert!(first.is_pending(), "took the one permit, owes one");
        assert_eq!(sem.available_permits(), 0);
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.release(1))
        };
        drop(acquire); // whether or not the release completed it, both permits come back
        releaser.join().unwrap();
        assert_eq!(sem.available_permits(), 2);
    });
}

#[test]
fn close_races_acquire() {
    loom::model(|| {
        let sem = Arc::new(BatchSemaphore::new(0));
        let closer = {
            let sem = sem.clone();
            thread::spawn(move || sem.close())
        };
        assert!(block_on(sem.acquire(1)).is_err());
        closer.join().unwrap();
    });
}

#[test]
fn condition_notify_after_unlock_is_not_lost() {
    loom::model(|| {
        let state = Arc::new((Mutex::new(false), Condition::new()));
        let waiter = {
            let state = state.clone();
            thread::spawn(move || {
                let (flag, changed) = &*state;
                block_on(async {
                    let guard = changed.wait_for(flag.lock().await, |set| *set).await;
                    assert!(*guard);
                })
            })
        };
        let (flag, changed) = &*state;
        *block_on(flag.lock()) = true;
        // Notified after unlocking: the waiter checked the flag under the lock, and
        // registered before unlocking.
        changed.notify_one();
        waiter.join().unwrap();
    });
}
