//! `TaskGroup`: outputs, failure cancelling siblings, panics, drop, nested spawns and
//! `scope`, on both scheduler flavors.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{DropCount, panic_message, runtimes};
use corio::sync::oneshot;
use corio::task::{GroupSpawner, TaskGroup};

type Group = TaskGroup<u32, &'static str>;

/// A child that never finishes unless aborted: records its drop, and whether it ran past
/// the hour-long sleep (it must not).
fn sleeper(
    drops: &DropCount,
    finished: &Arc<AtomicBool>,
) -> impl Future<Output = Result<u32, &'static str>> + Send + 'static {
    let guard = drops.guard();
    let finished = finished.clone();
    async move {
        let _guard = guard;
        corio::time::sleep(Duration::from_secs(3600)).await;
        finished.store(true, Ordering::SeqCst);
        Ok(0)
    }
}

#[test]
fn all_succeed_gives_outputs_in_spawn_order() {
    for (flavor, rt) in runtimes() {
        let outputs = rt.block_on(async {
            let group = Group::new();
            for i in 0..20u32 {
                group.spawn(async move {
                    // Finish in reverse order.
                    corio::time::sleep(Duration::from_millis(u64::from(20 - i))).await;
                    Ok(i)
                });
            }
            group.join().await
        });
        assert_eq!(outputs, Ok((0..20).collect::<Vec<_>>()), "{flavor}");
    }
}

#[test]
fn an_empty_group_joins_at_once() {
    for (flavor, rt) in runtimes() {
        let outputs = rt.block_on(Group::new().join());
        assert_eq!(outputs, Ok(vec![]), "{flavor}");
    }
}

#[test]
fn first_error_cancels_siblings_and_is_returned() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let finished = Arc::new(AtomicBool::new(false));
        let result = rt.block_on(async {
            let group = Group::new();
            for _ in 0..5 {
                group.spawn(sleeper(&drops, &finished));
            }
            group.spawn(async {
                corio::time::sleep(Duration::from_millis(5)).await;
                Err("first")
            });
            group.join().await
        });
        assert_eq!(result, Err("first"), "{flavor}");
        // `join` returned only after every sibling had been dropped.
        assert_eq!(drops.get(), 5, "{flavor}");
        assert!(!finished.load(Ordering::SeqCst), "{flavor}");
    }
}

#[test]
fn join_all_errors_gives_an_error_group() {
    for (flavor, rt) in runtimes() {
        let errors = rt.block_on(async {
            let group = Group::new();
            group.spawn(async { Ok(1) });
            group.spawn(async { Err("broken") });
            group.join_all_errors().await.unwrap_err()
        });
        assert_eq!(errors.errors(), ["broken"], "{flavor}");
        assert_eq!(*errors.first(), "broken", "{flavor}");
        assert_eq!(errors.to_string(), "broken", "{flavor}");
        assert_eq!(errors.into_errors(), ["broken"], "{flavor}");
    }
}

#[test]
fn a_panicking_child_cancels_siblings_and_the_panic_resumes_in_join() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let finished = Arc::new(AtomicBool::new(false));
        let payload = rt.block_on(async {
            let group = Group::new();
            group.spawn(sleeper(&drops, &finished));
            group.spawn(async {
                let n = std::hint::black_box(3);
                if n == 3 {
                    panic!("child panicked {n}");
                }
                Ok(n)
            });
            // Joined from a task, so the panic ends that task rather than `block_on`.
            corio::spawn(group.join()).await.unwrap_err().into_panic()
        });
        assert_eq!(panic_message(&*payload), "child panicked 3", "{flavor}");
        assert_eq!(drops.get(), 1, "{flavor}");
        assert!(!finished.load(Ordering::SeqCst), "{flavor}");
    }
}

#[test]
fn dropping_the_group_aborts_its_children() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let finished = Arc::new(AtomicBool::new(false));
        rt.block_on(async {
            let group = Group::new();
            for _ in 0..5 {
                group.spawn(sleeper(&drops, &finished));
            }
            corio::task::yield_now().await;
            drop(group);
            for _ in 0..1000 {
                if drops.get() == 5 {
                    break;
                }
                corio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        assert_eq!(drops.get(), 5, "{flavor}");
        assert!(!finished.load(Ordering::SeqCst), "{flavor}");
    }
}

/// Children aborted before they were ever polled still count as stopped (and their
/// captured values are dropped) by the time the group is done with them.
#[test]
fn children_aborted_before_their_first_poll() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let finished = Arc::new(AtomicBool::new(false));
        let result = rt.block_on(async {
            let group = Group::new();
            for _ in 0..5 {
                group.spawn(sleeper(&drops, &finished));
            }
            // Fails at its first poll; on the current-thread runtime the sleepers have not
            // been polled yet.
            group.spawn(async { Err("early") });
            group.join().await
        });
        assert_eq!(result, Err("early"), "{flavor}");
        assert_eq!(drops.get(), 5, "{flavor}");
        assert!(!finished.load(Ordering::SeqCst), "{flavor}");
    }
}

/// Cancelling the joiner (here with a timeout) aborts the children: no child outlives it.
#[test]
fn dropping_the_join_future_aborts_the_children() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let finished = Arc::new(AtomicBool::new(false));
        rt.block_on(async {
            let group = Group::new();
            for _ in 0..5 {
                group.spawn(sleeper(&drops, &finished));
            }
            let timed_out = corio::time::timeout(Duration::from_millis(10), group.join()).await;
            assert!(timed_out.is_err(), "{flavor}");
            for _ in 0..1000 {
                if drops.get() == 5 {
                    break;
                }
                corio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        assert_eq!(drops.get(), 5, "{flavor}");
        assert!(!finished.load(Ordering::SeqCst), "{flavor}");
    }
}

/// Children spawn grandchildren into the same group while it is being joined; `join` waits
/// for all of them.
#[test]
fn children_spawn_more_children_while_joined() {
    fn fan_out(spawner: GroupSpawner<u32, &'static str>, depth: u32) -> bool {
        let inner = spawner.clone();
        spawner.spawn(async move {
            corio::task::yield_now().await;
            if depth > 0 {
                fan_out(inner.clone(), depth - 1);
                fan_out(inner, depth - 1);
            }
            Ok(depth)
        })
    }
    for (flavor, rt) in runtimes() {
        let outputs = rt.block_on(async {
            let group = Group::new();
            assert!(fan_out(group.spawner(), 4));
            group.join().await.unwrap()
        });
        // A full binary tree of depth 4: 31 children.
        assert_eq!(outputs.len(), 31, "{flavor}");
        assert_eq!(outputs[0], 4, "{flavor}");
        assert_eq!(outputs.iter().filter(|&&d| d == 0).count(), 16, "{flavor}");
    }
}

#[test]
fn a_failing_group_refuses_new_children() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let group = Group::new();
            let spawner = group.spawner();
            let (tx, rx) = oneshot::channel();
            let refused = spawner.clone();
            group.spawn(async move {
                // Wait until the sibling has failed, then try to spawn.
                rx.await.unwrap();
                let accepted = refused.spawn(async { Ok(1) });
                assert!(!accepted);
                Ok(0)
            });
            group.spawn(async move {
                tx.send(()).unwrap();
                Err("fail")
            });
            assert_eq!(group.join().await, Err("fail"), "{flavor}");
            assert!(spawner.is_closed(), "{flavor}");
            // Spawning after the join is refused too.
            let ran = Arc::new(AtomicBool::new(false));
            let ran_in_child = ran.clone();
            assert!(!spawner.spawn(async move {
                ran_in_child.store(true, Ordering::SeqCst);
                Ok(2)
            }));
            corio::task::yield_now().await;
            assert!(!ran.load(Ordering::SeqCst), "{flavor}");
        });
    }
}

#[test]
fn scope_joins_children_after_the_body() {
    for (flavor, rt) in runtimes() {
        let result = rt.block_on(TaskGroup::scope(|group| async move {
            for i in 1..=4u32 {
                group.spawn(async move {
                    corio::time::sleep(Duration::from_millis(u64::from(5 - i))).await;
                    Ok::<_, &'static str>(i * 10)
                });
            }
            Ok("body done")
        }));
        assert_eq!(result, Ok(("body done", vec![10, 20, 30, 40])), "{flavor}");
    }
}

#[test]
fn a_failing_child_cancels_the_scope_body() {
    for (flavor, rt) in runtimes() {
        let body_dropped = DropCount::default();
        let body_finished = Arc::new(AtomicBool::new(false));
        let result = rt.block_on(TaskGroup::scope(|group| {
            let guard = body_dropped.guard();
            let body_finished = body_finished.clone();
            async move {
                let _guard = guard;
                group.spawn(async { Err::<u32, _>("child failed") });
                corio::time::sleep(Duration::from_secs(3600)).await;
                body_finished.store(true, Ordering::SeqCst);
                Ok(())
            }
        }));
        assert_eq!(result, Err("child failed"), "{flavor}");
        assert_eq!(body_dropped.get(), 1, "{flavor}");
        assert!(!body_finished.load(Ordering::SeqCst), "{flavor}");
    }
}

#[test]
fn a_failing_scope_body_cancels_the_children() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let finished = Arc::new(AtomicBool::new(false));
        let result: Result<((), Vec<u32>), _> = rt.block_on(TaskGroup::scope(|group| {
            let child = sleeper(&drops, &finished);
            async move {
                group.spawn(child);
                corio::task::yield_now().await;
                Err("body failed")
            }
        }));
        assert_eq!(result, Err("body failed"), "{flavor}");
        assert_eq!(drops.get(), 1, "{flavor}");
        assert!(!finished.load(Ordering::SeqCst), "{flavor}");
    }
}

#[test]
fn spawn_local_children_take_part() {
    for (flavor, rt) in runtimes() {
        let outputs = rt
            .block_on(rt.spawn(async {
                let group = TaskGroup::<u32, ()>::new();
                let local = std::rc::Rc::new(5);
                group.spawn_local(async move { Ok(*local) });
                group.spawn(async { Ok(6) });
                group.join().await
            }))
            .unwrap();
        assert_eq!(outputs, Ok(vec![5, 6]), "{flavor}");
    }
}

/// A group with many short-lived children keeps no abort handles for finished ones.
#[test]
fn many_children_complete() {
    for (flavor, rt) in runtimes() {
        let done = Arc::new(AtomicUsize::new(0));
        let outputs = rt.block_on(async {
            let group = TaskGroup::<(), ()>::new();
            for _ in 0..5000 {
                let done = done.clone();
                group.spawn(async move {
                    done.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                });
            }
            group.join().await.unwrap()
        });
        assert_eq!(outputs.len(), 5000, "{flavor}");
        assert_eq!(done.load(Ordering::SeqCst), 5000, "{flavor}");
    }
}
