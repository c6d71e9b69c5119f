//! `JoinSet`: completion order, aborting, shutdown, drop, panics, on both scheduler flavors.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{DropCount, panic_message, runtimes};
use corio::sync::oneshot;
use corio::task::{JoinError, JoinSet};

#[test]
fn join_next_on_an_empty_set_is_none() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut set = JoinSet::<u8>::new();
            assert!(set.is_empty(), "{flavor}");
            assert!(set.join_next().await.is_none(), "{flavor}");
            assert!(set.try_join_next().is_none(), "{flavor}");
        });
    }
}

/// Tasks released in a chosen order come back in that order, whatever the spawn order.
#[test]
fn outputs_come_in_completion_order() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let mut releases = Vec::new();
            for i in 0..5 {
                let (tx, rx) = oneshot::channel::<()>();
                releases.push(tx);
                set.spawn(async move {
                    rx.await.unwrap();
                    i
                });
            }
            assert_eq!(set.len(), 5);
            let order = [3, 0, 4, 1, 2];
            let mut releases: Vec<_> = releases.into_iter().map(Some).collect();
            for expected in order {
                releases[expected].take().unwrap().send(()).unwrap();
                let got = set.join_next().await.unwrap().unwrap();
                assert_eq!(got, expected, "{flavor}");
            }
            assert!(set.join_next().await.is_none(), "{flavor}");
        });
    }
}

#[test]
fn join_next_with_id_names_the_task() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let abort = set.spawn(async { corio::task::id() });
            let (id, inner_id) = set.join_next_with_id().await.unwrap().unwrap();
            assert_eq!(id, abort.id(), "{flavor}");
            assert_eq!(id, inner_id, "{flavor}");
        });
    }
}

#[test]
fn many_tasks_all_come_back() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut set = JoinSet::new();
            for i in 0..2000u64 {
                set.spawn(async move {
                    if i % 3 == 0 {
                        corio::task::yield_now().await;
                    }
                    i
                });
            }
            let mut sum = 0;
            let mut count = 0;
            while let Some(result) = set.join_next().await {
                sum += result.unwrap();
                count += 1;
            }
            assert_eq!((count, sum), (2000, 1999 * 2000 / 2), "{flavor}");
        });
    }
}

#[test]
fn try_join_next_returns_only_finished_tasks() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let (tx, rx) = oneshot::channel::<()>();
            set.spawn(async move {
                rx.await.unwrap();
                "late"
            });
            assert!(set.try_join_next().is_none(), "{flavor}");
            tx.send(()).unwrap();
            // Wait for the task without taking it out of the set.
            loop {
                if let Some(result) = set.try_join_next() {
                    assert_eq!(result.unwrap(), "late", "{flavor}");
                    break;
                }
                corio::time::sleep(Duration::from_millis(1)).await;
            }
            assert!(set.is_empty(), "{flavor}");
        });
    }
}

#[test]
fn panics_come_back_as_join_errors() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async { panic!("task blew up") });
            set.spawn(async { 1 });
            let mut panics = 0;
            let mut outputs = 0;
            while let Some(result) = set.join_next().await {
                match result {
                    Ok(1) => outputs += 1,
                    Err(JoinError::Panic(payload)) => {
                        assert_eq!(panic_message(&*payload), "task blew up", "{flavor}");
                        panics += 1;
                    }
                    other => panic!("{flavor}: unexpected {other:?}"),
                }
            }
            assert_eq!((panics, outputs), (1, 1), "{flavor}");
        });
    }
}

#[test]
fn abort_all_cancels_every_task_and_they_stay_joinable() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..10 {
                let guard = drops.guard();
                set.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                });
            }
            set.abort_all();
            assert_eq!(set.len(), 10, "{flavor}");
            let mut cancelled = 0;
            while let Some(result) = set.join_next().await {
                assert!(result.unwrap_err().is_cancelled(), "{flavor}");
                cancelled += 1;
            }
            assert_eq!(cancelled, 10, "{flavor}");
        });
        assert_eq!(drops.get(), 10, "{flavor}");
    }
}

#[test]
fn shutdown_aborts_and_waits_for_every_task() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..10 {
                let guard = drops.guard();
                set.spawn(async move {
                    let _guard = guard;
                    corio::time::sleep(Duration::from_secs(3600)).await;
                });
            }
            set.shutdown().await;
            assert!(set.is_empty(), "{flavor}");
            // Every task's future has been dropped by the time shutdown returns.
            assert_eq!(drops.get(), 10, "{flavor}");
        });
    }
}

#[test]
fn dropping_the_set_aborts_its_tasks() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let finished = Arc::new(AtomicBool::new(false));
        rt.block_on(async {
            let mut set = JoinSet::new();
            let mut started = Vec::new();
            for _ in 0..10 {
                let guard = drops.guard();
                let finished = finished.clone();
                let (tx, rx) = oneshot::channel();
                started.push(rx);
                set.spawn(async move {
                    let _guard = guard;
                    tx.send(()).unwrap();
                    corio::time::sleep(Duration::from_millis(200)).await;
                    finished.store(true, Ordering::SeqCst);
                });
            }
            for rx in started {
                rx.await.unwrap();
            }
            drop(set);
            // Aborted tasks are dropped at their next scheduling: give them a moment.
            for _ in 0..1000 {
                if drops.get() == 10 {
                    break;
                }
                corio::time::sleep(Duration::from_millis(1)).await;
            }
            assert_eq!(drops.get(), 10, "{flavor}");
            corio::time::sleep(Duration::from_millis(300)).await;
        });
        assert!(
            !finished.load(Ordering::SeqCst),
            "{flavor}: an aborted task ran on"
        );
    }
}

#[test]
fn detach_all_lets_tasks_run_on() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let (tx, rx) = oneshot::channel();
            set.spawn(async move {
                corio::time::sleep(Duration::from_millis(10)).await;
                tx.send("ran").unwrap();
            });
            set.detach_all();
            assert!(set.is_empty(), "{flavor}");
            drop(set);
            assert_eq!(rx.await, Ok("ran"), "{flavor}");
        });
    }
}

#[test]
fn join_all_returns_every_output() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let set: JoinSet<u32> = (0..10).map(|i| async move { i }).collect();
            let mut outputs = set.join_all().await;
            outputs.sort();
            assert_eq!(outputs, (0..10).collect::<Vec<_>>(), "{flavor}");
        });
    }
}

#[test]
fn join_all_resumes_a_task_panic_and_aborts_the_rest() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        rt.block_on(async {
            // Joined from a task, so the panic ends that task rather than `block_on`.
            let joiner = corio::spawn({
                let guard = drops.guard();
                async move {
                    let mut set = JoinSet::new();
                    set.spawn(async move {
                        let _guard = guard;
                        std::future::pending::<()>().await
                    });
                    set.spawn(async { panic!("join_all sees this") });
                    set.join_all().await
                }
            });
            let payload = joiner.await.unwrap_err().into_panic();
            assert_eq!(panic_message(&*payload), "join_all sees this", "{flavor}");
            // The pending task was aborted when the set was dropped during the unwind.
            for _ in 0..1000 {
                if drops.get() == 1 {
                    break;
                }
                corio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        assert_eq!(drops.get(), 1, "{flavor}");
    }
}

/// A `join_next` dropped before it completes loses nothing: the next call gets the task.
#[test]
fn join_next_is_cancel_safe() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let (tx, rx) = oneshot::channel::<()>();
            set.spawn(async move {
                rx.await.unwrap();
                5
            });
            let timed_out = corio::time::timeout(Duration::from_millis(10), set.join_next()).await;
            assert!(timed_out.is_err(), "{flavor}");
            tx.send(()).unwrap();
            assert_eq!(set.join_next().await.unwrap().unwrap(), 5, "{flavor}");
        });
    }
}

#[test]
fn spawn_blocking_and_spawn_on() {
    for (flavor, rt) in runtimes() {
        let handle = rt.handle().clone();
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn_blocking(|| 1);
            set.spawn_on(async { 2 }, &handle);
            set.spawn_blocking_on(|| 3, &handle);
            let mut outputs = set.join_all().await;
            outputs.sort();
            assert_eq!(outputs, [1, 2, 3], "{flavor}");
        });
    }
}

#[test]
fn spawn_local_tasks_join_too() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // `spawn_local` must be called on a runtime thread: run the test from a task.
            corio::spawn(async {
                let mut set = JoinSet::new();
                let shared = std::rc::Rc::new(7);
                set.spawn_local(async move { *shared });
                set.join_next().await.unwrap().unwrap()
            })
            .await
        })
        .map(|seven| assert_eq!(seven, 7, "{flavor}"))
        .unwrap();
    }
}

/// A task that finished before the set first polled it (here: before `insert`) still
/// comes back.
#[test]
fn inserting_a_finished_task() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let handle = corio::spawn(async { "early" });
            while !handle.is_finished() {
                corio::task::yield_now().await;
            }
            let mut set = JoinSet::new();
            set.insert(handle);
            assert_eq!(set.join_next().await.unwrap().unwrap(), "early", "{flavor}");
        });
    }
}

/// Joining a set of always-finished tasks spends the cooperative budget, so other tasks
/// on the same thread still run.
#[test]
fn join_next_spends_budget() {
    let rt = corio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..1000 {
            set.spawn(async move { i });
        }
        // Let them all finish.
        corio::time::sleep(Duration::from_millis(10)).await;
        let ticked = Arc::new(AtomicUsize::new(0));
        let ticker = corio::spawn({
            let ticked = ticked.clone();
            async move {
                ticked.fetch_add(1, Ordering::SeqCst);
            }
        });
        let mut ticked_during_join = false;
        while set.join_next().await.is_some() {
            ticked_during_join |= ticked.load(Ordering::SeqCst) > 0;
        }
        assert!(ticked_during_join, "join_next never yielded to the ticker");
        ticker.await.unwrap();
    });
}
