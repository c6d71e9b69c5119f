//! Exhaustive interleavings of the task state machine (run with
//! `RUSTFLAGS="--cfg loom" cargo test -p corio --release --lib task::loom`).
//!
//! Each model races two threads over one task and checks that the future and the output
//! are dropped exactly once, the join handle sees the right result, and nothing is polled
//! after completion. Loom fails a model on any data race it can reach through `UnsafeCell`,
//! and on leaked loom objects.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread;

use super::JoinError;
use super::test_scheduler::TestScheduler;

struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A future that completes on its second poll and hands its first waker to `slot`.
fn two_polls(
    slot: Arc<loom::sync::Mutex<Option<Waker>>>,
    drops: Arc<AtomicUsize>,
) -> impl Future<Output = DropCounter> + Send {
    let guard = DropCounter(drops.clone());
    let mut polled = false;
    poll_fn(move |cx| {
        let _keep = &guard;
        if polled {
            return Poll::Ready(DropCounter(drops.clone()));
        }
        polled = true;
        *slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    })
}

/// A `two_polls` task on a fresh test scheduler, with what the models inspect.
struct TwoPollTask {
    sched: Arc<TestScheduler>,
    slot: Arc<loom::sync::Mutex<Option<Waker>>>,
    drops: Arc<AtomicUsize>,
    join: super::JoinHandle<DropCounter>,
}

fn spawn_two_polls() -> TwoPollTask {
    let sched = TestScheduler::new();
    let slot = Arc::new(loom::sync::Mutex::new(None));
    let drops = Arc::new(AtomicUsize::new(0));
    let join = TestScheduler::spawn(&sched, two_polls(slot.clone(), drops.clone()));
    TwoPollTask {
        sched,
        slot,
        drops,
        join,
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

#[test]
fn wake_from_other_thread_during_poll() {
    model(|| {
        let TwoPollTask {
            sched,
            slot,
            drops,
            join,
        } = spawn_two_polls();

        let waker_thread = thread::spawn({
            let slot = slot.clone();
            move || {
                // Wake as soon as the waker is published, possibly while still polling.
                loop {
                    if let Some(waker) = slot.lock().unwrap().take() {
                        waker.wake();
                        return;
                    }
                    thread::yield_now();
                }
            }
        });
        while !join.is_finished() {
            if sched.run_until_idle() == 0 {
                thread::yield_now();
            }
        }
        waker_thread.join().unwrap();
        drop(join);
        // The future's guard and the output each dropped once.
        assert_eq!(drops.load(SeqCst), 2);
    });
}

#[test]
fn abort_racing_poll() {
    model(|| {
        let TwoPollTask {
            sched,
            slot,
            drops,
            mut join,
        } = spawn_two_polls();
        let abort = join.abort_handle();

        let aborter = thread::spawn(move || abort.abort());
        sched.run_until_idle();
        aborter.join().unwrap();
        // If the first poll parked the waker, wake it so a non-aborted task can finish.
        if let Some(waker) = slot.lock().unwrap().take() {
            waker.wake();
        }
        sched.run_until_idle();

        let res = Pin::new(&mut join).poll(&mut Context::from_waker(Waker::noop()));
        match res {
            Poll::Ready(Err(JoinError::Cancelled)) => assert_eq!(drops.load(SeqCst), 1),
            Poll::Ready(Ok(out)) => {
                drop(out);
                assert_eq!(drops.load(SeqCst), 2);
            }
            other => panic!("unexpected {:?}", other.map(|r| r.map(|_| ()))),
        }
        sched.shutdown();
    });
}

#[test]
fn join_racing_completion() {
    model(|| {
        let sched = TestScheduler::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let out = DropCounter(drops.clone());
        let join = TestScheduler::spawn(&sched, async move { out });

        let joiner = thread::spawn(move || {
            let out = loom::future::block_on(join).expect("task succeeded");
            drop(out);
        });
        sched.run_until_idle();
        joiner.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn drop_join_handle_racing_completion() {
    model(|| {
        let sched = TestScheduler::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let out = DropCounter(drops.clone());
        let join = TestScheduler::spawn(&sched, async move { out });

        let dropper = thread::spawn(move || drop(join));
        sched.run_until_idle();
        dropper.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1, "output dropped exactly once");
    });
}

#[test]
fn wake_racing_completion() {
    model(|| {
        let TwoPollTask {
            sched,
            slot,
            drops,
            join,
        } = spawn_two_polls();
        sched.run_until_idle();
        let waker = slot
            .lock()
            .unwrap()
            .take()
            .expect("first poll stored a waker");
        let extra = waker.clone();
        waker.wake(); // queue the completing poll

        let late_waker = thread::spawn(move || extra.wake());
        sched.run_until_idle();
        late_waker.join().unwrap();
        // A wake that lost the race to completion must not queue the task again.
        assert_eq!(sched.run_until_idle(), 0);
        assert!(join.is_finished());
        drop(join);
        assert_eq!(drops.load(SeqCst), 2);
    });
}

#[test]
fn shutdown_racing_wake() {
    model(|| {
        let TwoPollTask {
            sched,
            slot,
            drops,
            join,
        } = spawn_two_polls();
        sched.run_until_idle();
        let waker = slot.lock().unwrap().take().unwrap();

        let waker_thread = thread::spawn(move || waker.wake());
        sched.shutdown();
        waker_thread.join().unwrap();
        sched.shutdown();
        assert!(join.is_finished());
        drop(join);
        assert_eq!(
            drops.load(SeqCst),
            1,
            "the future was dropped once, no output made"
        );
    });
}
