//! Shutdown: pending futures are dropped, late spawns are refused clearly, nothing hangs.

mod common;

use std::time::{Duration, Instant};

use common::{DropCount, runtimes};
use corio::runtime::Builder;

#[test]
fn dropping_the_runtime_drops_every_pending_future() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let d = drops.clone();
        rt.block_on(async move {
            for _ in 0..100 {
                let guard = d.guard();
                corio::spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                });
            }
            corio::task::yield_now().await;
        });
        // Spawned from outside and never polled.
        for _ in 0..10 {
            let guard = drops.guard();
            rt.spawn(async move {
                let _guard = guard;
            });
        }
        drop(rt);
        assert_eq!(drops.get(), 110, "{flavor}");
    }
}

#[test]
fn spawning_after_shutdown_is_a_clear_error() {
    for (flavor, rt) in runtimes() {
        let handle = rt.handle().clone();
        drop(rt);
        assert!(handle.is_shutdown(), "{flavor}");
        let err = handle.try_spawn(async {}).unwrap_err();
        assert!(err.to_string().contains("shut down"), "{flavor}: {err}");
        let panic = std::panic::catch_unwind(|| handle.spawn(async {})).unwrap_err();
        let msg = common::panic_message(panic.as_ref());
        assert!(msg.contains("runtime has shut down"), "{flavor}: {msg}");
    }
}

#[test]
fn shutdown_timeout_does_not_wait_for_a_stuck_worker() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let drops = DropCount::default();
    let guard = drops.guard();
    rt.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    rt.spawn(async {
        // A badly behaved task: blocks its worker for a long time.
        std::thread::sleep(Duration::from_secs(3));
    });
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(100));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "shutdown_timeout waited {:?}",
        start.elapsed()
    );
    assert_eq!(drops.get(), 1, "the idle task was still cancelled");
}

#[test]
fn destructors_that_spawn_or_wake_during_shutdown_do_not_hang() {
    struct SpawnOnDrop(Option<corio::sync::oneshot::Sender<()>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            // Waking another task and trying to spawn while the runtime shuts down.
            if let Some(tx) = self.0.take() {
                let _ = tx.send(());
            }
            if let Ok(handle) = corio::runtime::Handle::try_current() {
                assert!(handle.try_spawn(async {}).is_err());
            }
        }
    }
    for (_flavor, rt) in runtimes() {
        rt.block_on(async {
            for _ in 0..20 {
                let (tx, rx) = corio::sync::oneshot::channel::<()>();
                let dropper = SpawnOnDrop(Some(tx));
                corio::spawn(async move {
                    let _dropper = dropper;
                    std::future::pending::<()>().await;
                });
                corio::spawn(async move {
                    let _ = rx.await;
                    std::future::pending::<()>().await;
                });
            }
            corio::task::yield_now().await;
        });
        drop(rt);
    }
}
