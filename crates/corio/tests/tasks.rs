//! Spawning, joining, aborting, panics, names and ids, on both scheduler flavors.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{DropCount, runtimes};
use corio::task::{self, JoinError};

#[test]
fn spawn_and_join_many() {
    for (flavor, rt) in runtimes() {
        let sum = rt.block_on(async {
            let handles: Vec<_> = (0..1000u64)
                .map(|i| corio::spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 999 * 1000 / 2, "{flavor}");
    }
}

#[test]
fn spawn_from_another_thread_through_handle() {
    for (flavor, rt) in runtimes() {
        let handle = rt.handle().clone();
        let joins = std::thread::spawn(move || {
            (0..100)
                .map(|i| handle.spawn(async move { i * 2 }))
                .collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        let total: i32 = rt.block_on(async {
            let mut total = 0;
            for j in joins {
                total += j.await.unwrap();
            }
            total
        });
        assert_eq!(total, 9900, "{flavor}");
    }
}

#[test]
fn handle_block_on_from_plain_thread() {
    for (flavor, rt) in runtimes() {
        let handle = rt.handle().clone();
        let out = std::thread::spawn(move || {
            handle.block_on(async {
                let t = corio::spawn(async { 40 });
                t.await.unwrap() + 2
            })
        })
        .join()
        .unwrap();
        assert_eq!(out, 42, "{flavor}");
    }
}

#[test]
fn panicking_task_gives_join_error_and_others_keep_running() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let n = std::hint::black_box(7);
            let bad = corio::spawn(async move { panic!("boom {n}") });
            let good = corio::spawn(async {
                task::yield_now().await;
                "fine"
            });
            match bad.await {
                Err(JoinError::Panic(payload)) => {
                    assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom 7")
                }
                other => panic!("{flavor}: unexpected {other:?}"),
            }
            assert_eq!(good.await.unwrap(), "fine");
        });
        // The runtime is still usable afterwards.
        assert_eq!(
            rt.block_on(async { corio::spawn(async { 1 }).await.unwrap() }),
            1
        );
    }
}

#[test]
fn abort_drops_future_and_reports_cancelled() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let d = drops.clone();
        rt.block_on(async move {
            let guard = d.guard();
            let handle = corio::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            task::yield_now().await;
            handle.abort();
            let err = handle.await.unwrap_err();
            assert!(err.is_cancelled(), "{flavor}");
        });
        assert_eq!(drops.get(), 1, "{flavor}");
    }
}

#[test]
fn abort_from_another_thread_while_task_spins() {
    let rt = corio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let handle = rt.spawn(async {
        loop {
            task::yield_now().await;
        }
    });
    let abort = handle.abort_handle();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        abort.abort();
    });
    let err = rt.block_on(handle).unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn dropped_join_handle_detaches() {
    for (flavor, rt) in runtimes() {
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        rt.block_on(async move {
            let (tx, rx) = corio::sync::oneshot::channel();
            drop(corio::spawn(async move {
                task::yield_now().await;
                d.fetch_add(1, Ordering::SeqCst);
                tx.send(()).unwrap();
            }));
            rx.await.unwrap();
        });
        assert_eq!(done.load(Ordering::SeqCst), 1, "{flavor}");
    }
}

#[test]
fn names_ids_and_spawn_location() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let named = task::Builder::new()
                .name("fetch")
                .spawn(async { task::id() });
            let line = line!() - 1;
            assert_eq!(named.name(), Some("fetch"));
            assert_eq!(named.spawn_location().file(), file!());
            assert_eq!(named.spawn_location().line(), line);
            let id = named.id();
            assert_eq!(
                named.await.unwrap(),
                id,
                "{flavor}: task::id inside the task"
            );

            let plain = corio::spawn(async {});
            assert_eq!(plain.name(), None);
            assert_ne!(plain.id(), id);
            assert_eq!(plain.spawn_location().line(), line!() - 3);
            plain.await.unwrap();
        });
        assert!(task::try_id().is_none());
    }
}

#[test]
fn spawn_local_runs_non_send_futures() {
    use std::cell::RefCell;
    use std::rc::Rc;

    let rt = corio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let log = rt.block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..3 {
            let log = log.clone();
            handles.push(corio::spawn_local(async move {
                task::yield_now().await;
                log.borrow_mut().push(i);
                Rc::new(i)
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        log.take()
    });
    assert_eq!(log, [0, 1, 2]);
}

#[test]
fn spawn_local_on_multi_thread_stays_on_its_worker() {
    use std::rc::Rc;

    let rt = corio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let drops = DropCount::default();
    let d = drops.clone();
    let pending_drop_thread = Arc::new(std::sync::Mutex::new(None));
    let pdt = pending_drop_thread.clone();
    rt.block_on(async move {
        corio::spawn(async move {
            let home = std::thread::current().id();
            let mut handles = Vec::new();
            for i in 0..8u32 {
                let (tx, rx) = corio::sync::oneshot::channel::<u32>();
                // Woken from a plain thread: the wake-up must come back to this worker.
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    tx.send(i).unwrap();
                });
                let rc = Rc::new(i); // !Send, held across awaits
                handles.push(corio::spawn_local(async move {
                    let mut seen = vec![std::thread::current().id()];
                    for _ in 0..20 {
                        task::yield_now().await;
                        seen.push(std::thread::current().id());
                    }
                    let got = rx.await.unwrap();
                    seen.push(std::thread::current().id());
                    (*rc + got, seen)
                }));
            }
            // Keep the other worker busy so it would steal anything stealable.
            let busy: Vec<_> = (0..50).map(|_| corio::spawn(task::yield_now())).collect();
            for (i, h) in handles.into_iter().enumerate() {
                let (sum, seen) = h.await.unwrap();
                assert_eq!(sum, 2 * i as u32);
                assert!(
                    seen.iter().all(|t| *t == home),
                    "a pinned task moved threads"
                );
            }
            for b in busy {
                b.await.unwrap();
            }

            // Abort works, and a pending pinned task is dropped at shutdown on its worker.
            let aborted = corio::spawn_local(std::future::pending::<()>());
            aborted.abort();
            assert!(aborted.await.unwrap_err().is_cancelled());
            struct RecordDrop {
                _count: common::Guard,
                thread: Arc<std::sync::Mutex<Option<std::thread::ThreadId>>>,
            }
            impl Drop for RecordDrop {
                fn drop(&mut self) {
                    *self.thread.lock().unwrap() = Some(std::thread::current().id());
                }
            }
            let record = RecordDrop {
                _count: d.guard(),
                thread: pdt,
            };
            let marker = Rc::new(());
            drop(corio::spawn_local(async move {
                let _keep = (record, marker);
                std::future::pending::<()>().await;
            }));
            home
        })
        .await
        .unwrap()
    });
    drop(rt);
    assert_eq!(
        drops.get(),
        1,
        "the pending pinned task was dropped at shutdown"
    );
    let dropped_on = pending_drop_thread.lock().unwrap().expect("dropped");
    assert_ne!(
        dropped_on,
        std::thread::current().id(),
        "dropped on its worker, not here"
    );
}

#[test]
fn spawn_local_from_multi_thread_block_on_panics_clearly() {
    let rt = corio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { drop(corio::spawn_local(async {})) })
    }))
    .unwrap_err();
    let msg = common::panic_message(err.as_ref());
    assert!(msg.contains("inside a task"), "message: {msg}");
}

#[test]
fn spawn_outside_runtime_panics_clearly() {
    let err = std::panic::catch_unwind(|| corio::spawn(async {})).unwrap_err();
    let msg = common::panic_message(err.as_ref());
    assert!(msg.contains("no corio runtime"), "message: {msg}");
}

#[test]
fn nested_block_on_panics_clearly() {
    for (flavor, rt) in runtimes() {
        let handle = rt.handle().clone();
        let err = rt
            .block_on(async move { corio::spawn(async move { handle.block_on(async {}) }).await })
            .unwrap_err();
        let payload = err.into_panic();
        let msg = common::panic_message(payload.as_ref());
        assert!(msg.contains("within a runtime"), "{flavor}: {msg}");
    }
}

#[test]
fn join_handle_is_finished_and_abort_after_completion_keeps_output() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, rx) = corio::sync::oneshot::channel();
            let h = corio::spawn(async move {
                tx.send(()).unwrap();
                5
            });
            rx.await.unwrap();
            while !h.is_finished() {
                task::yield_now().await;
            }
            h.abort();
            assert_eq!(h.await.unwrap(), 5, "{flavor}");
        });
    }
}

#[test]
fn corio_run_like_asyncio_run() {
    let out = corio::run(async {
        let a = corio::spawn(async { 20 });
        a.await.unwrap() + 22
    });
    assert_eq!(out, 42);
}

#[test]
fn a_runtime_survives_a_block_on_whose_future_panicked() {
    for (flavor, rt) in common::runtimes() {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { panic!("the main future fails") })
        }));
        assert!(caught.is_err(), "{flavor}: the panic reaches the caller");
        // The loop is usable again: the core was handed back during the unwind.
        let out = rt.block_on(async { corio::spawn(async { 7 }).await.unwrap() });
        assert_eq!(out, 7, "{flavor}");
    }
}
