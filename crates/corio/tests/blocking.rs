//! The blocking pool: results, growth, the cap, cancellation, panics, shutdown.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::runtimes;
use corio::runtime::Builder;
use corio::task::{self, JoinError};

#[test]
fn spawn_blocking_and_to_thread_return_values() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            assert_eq!(
                task::spawn_blocking(|| 6 * 7).await.unwrap(),
                42,
                "{flavor}"
            );
            assert_eq!(
                corio::to_thread(|| "done").await.unwrap(),
                "done",
                "{flavor}"
            );
        });
    }
}

#[test]
fn blocking_work_does_not_stall_the_loop() {
    // On a single loop, a 300 ms blocking call on the pool must not delay a 10 ms timer.
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let blocking = task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(300)));
        let start = Instant::now();
        corio::time::sleep(Duration::from_millis(10)).await;
        assert!(
            start.elapsed() < Duration::from_millis(250),
            "the loop was stalled"
        );
        assert!(!blocking.is_finished());
        blocking.await.unwrap();
    });
}

#[test]
fn pool_grows_to_run_closures_concurrently() {
    // Eight closures that each wait for all eight to be running: only a pool that grows
    // to eight threads lets them all see it (each gives up after a deadline, so no hang).
    for (flavor, rt) in runtimes() {
        let arrived = Arc::new(AtomicUsize::new(0));
        let all_met = rt.block_on(async {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let arrived = arrived.clone();
                    task::spawn_blocking(move || {
                        arrived.fetch_add(1, SeqCst);
                        let deadline = Instant::now() + Duration::from_secs(5);
                        while arrived.load(SeqCst) < 8 && Instant::now() < deadline {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        arrived.load(SeqCst) >= 8
                    })
                })
                .collect();
            let mut all = true;
            for h in handles {
                all &= h.await.unwrap();
            }
            all
        });
        assert!(all_met, "{flavor}: closures did not run concurrently");
    }
}

#[test]
fn max_blocking_threads_caps_concurrency_and_queues_the_rest() {
    let rt = Builder::new_current_thread()
        .max_blocking_threads(2)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let done = rt.block_on(async {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                task::spawn_blocking(move || {
                    let now = running.fetch_add(1, SeqCst) + 1;
                    peak.fetch_max(now, SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, SeqCst);
                })
            })
            .collect();
        let mut done = 0;
        for h in handles {
            h.await.unwrap();
            done += 1;
        }
        done
    });
    assert_eq!(done, 6);
    assert_eq!(
        peak.load(SeqCst),
        2,
        "never more than two at once, and the cap was reached"
    );
}

#[test]
fn abort_before_start_cancels_and_panics_are_reported() {
    let rt = Builder::new_current_thread()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = task::spawn_blocking(move || release_rx.recv().unwrap());
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = task::spawn_blocking(move || r.store(true, SeqCst));
        queued.abort();
        release_tx.send(()).unwrap();
        first.await.unwrap();
        assert!(queued.await.unwrap_err().is_cancelled());
        assert!(!ran.load(SeqCst), "an aborted closure never runs");

        match task::spawn_blocking(|| panic!("blocking boom")).await {
            Err(JoinError::Panic(p)) => {
                assert_eq!(common::panic_message(p.as_ref()), "blocking boom")
            }
            other => panic!("unexpected {other:?}"),
        }
    });
}

#[test]
fn closures_run_inside_the_runtime_context() {
    for (flavor, rt) in runtimes() {
        let out = rt.block_on(async {
            task::spawn_blocking(|| {
                let handle = corio::runtime::Handle::current();
                // Async work from a blocking closure: spawn on the runtime and wait for it.
                let inner = handle.spawn(async { 5 });
                handle.block_on(inner).unwrap()
            })
            .await
            .unwrap()
        });
        assert_eq!(out, 5, "{flavor}");
    }
}

#[test]
fn after_shutdown_blocking_spawns_are_refused_clearly() {
    for (flavor, rt) in runtimes() {
        let handle = rt.handle().clone();
        drop(rt);
        assert!(handle.try_spawn_blocking(|| ()).is_err(), "{flavor}");
        let panic = std::panic::catch_unwind(|| handle.spawn_blocking(|| ())).unwrap_err();
        let msg = common::panic_message(panic.as_ref());
        assert!(msg.contains("shutting down"), "{flavor}: {msg}");
    }
}

#[test]
fn drop_waits_for_running_closures_and_shutdown_timeout_does_not() {
    let finished = Arc::new(AtomicBool::new(false));
    let rt = Builder::new_current_thread().build().unwrap();
    let f = finished.clone();
    rt.block_on(async move {
        drop(task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(100));
            f.store(true, SeqCst);
        }));
        corio::time::sleep(Duration::from_millis(10)).await; // let it start
    });
    drop(rt);
    assert!(
        finished.load(SeqCst),
        "dropping the runtime waited for the closure"
    );

    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        drop(task::spawn_blocking(|| {
            std::thread::sleep(Duration::from_secs(3))
        }));
        corio::time::sleep(Duration::from_millis(10)).await;
    });
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(100));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
}
