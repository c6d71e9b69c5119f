//! Notify, Event, Barrier and OnceCell on a real runtime: permits and wake-up order,
//! wake-all semantics, generations and leaders, single initialisation, and cancellation
//! (dropped, aborted and timed-out waiters) for each.

mod common;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use common::runtimes;
use corio::sync::{Barrier, Event, Notify, OnceCell, SetError, oneshot};
use corio::time::{sleep, timeout};

/// Long enough that a test which would hang fails instead.
const HANG_GUARD: Duration = Duration::from_secs(10);

/// Polls `fut` once, from the current task.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

/// Awaits `fut`, failing the test instead of hanging if it never completes.
async fn guarded<F: Future>(what: &str, fut: F) -> F::Output {
    match timeout(HANG_GUARD, fut).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: still pending after {HANG_GUARD:?}"),
    }
}

/// Awaits `fut`, calling `on_wait` the first time it is pending: from then on the task is
/// registered to be woken.
async fn wait_then_signal<F: Future>(fut: F, on_wait: oneshot::Sender<()>) -> F::Output {
    let mut fut = pin!(fut);
    let mut on_wait = Some(on_wait);
    std::future::poll_fn(|cx| {
        let poll = fut.as_mut().poll(cx);
        if poll.is_pending()
            && let Some(on_wait) = on_wait.take()
        {
            let _ = on_wait.send(());
        }
        poll
    })
    .await
}

/// Spawns a task waiting on `notify` (enabled before it signals, so it is queued), and
/// returns once it is queued.
async fn spawn_waiter(notify: &Arc<Notify>) -> corio::task::JoinHandle<()> {
    let (queued_tx, queued_rx) = oneshot::channel();
    let notify = notify.clone();
    let handle = corio::spawn(async move {
        let mut notified = pin!(notify.notified());
        notified.as_mut().enable();
        let _ = queued_tx.send(());
        notified.await;
    });
    guarded("waiter queued", queued_rx).await.unwrap();
    handle
}

// ---------------------------------------------------------------------------------------
// Notify

#[test]
fn notify_one_before_wait_is_kept_as_one_permit() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            for _ in 0..3 {
                notify.notify_one();
            }
            // A task that only starts waiting now gets the stored permit...
            let waiter = corio::spawn({
                let notify = notify.clone();
                async move { notify.notified().await }
            });
            guarded(flavor, waiter).await.unwrap();
            // ...and there was only one.
            let mut second = notify.notified();
            assert!(poll_once(&mut second).await.is_pending(), "{flavor}");
            notify.notify_one();
            assert!(poll_once(&mut second).await.is_ready(), "{flavor}");
        });
    }
}

#[test]
fn notify_waiters_wakes_all_present_waiters_and_no_later_one() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let mut waiters = Vec::new();
            for _ in 0..20 {
                waiters.push(spawn_waiter(&notify).await);
            }
            let created_before = notify.notified(); // not polled yet: still counts
            notify.notify_waiters();
            for waiter in waiters {
                guarded(flavor, waiter).await.unwrap();
            }
            guarded(flavor, created_before).await;

            let mut later = notify.notified();
            assert!(
                poll_once(&mut later).await.is_pending(),
                "{flavor}: no permit"
            );
            let late_task = spawn_waiter(&notify).await;
            corio::task::yield_now().await;
            assert!(!late_task.is_finished(), "{flavor}");
            notify.notify_waiters();
            guarded(flavor, late_task).await.unwrap();
            assert!(poll_once(&mut later).await.is_ready(), "{flavor}");
        });
    }
}

#[test]
fn notify_one_wakes_waiters_first_come_first_served() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let order = Arc::new(Mutex::new(Vec::new()));
            let mut waiters = Vec::new();
            for n in 0..6 {
                let (queued_tx, queued_rx) = oneshot::channel();
                let (notify, order) = (notify.clone(), order.clone());
                waiters.push(corio::spawn(async move {
                    let mut notified = pin!(notify.notified());
                    notified.as_mut().enable();
                    let _ = queued_tx.send(());
                    notified.await;
                    order.lock().unwrap().push(n);
                }));
                guarded("queued", queued_rx).await.unwrap();
            }
            for (n, waiter) in waiters.into_iter().enumerate() {
                notify.notify_one();
                // A wrong waiter would leave this one pending: the guard catches it.
                guarded(flavor, waiter).await.unwrap();
                assert_eq!(
                    *order.lock().unwrap(),
                    (0..=n).collect::<Vec<_>>(),
                    "{flavor}"
                );
            }
        });
    }
}

#[test]
fn dropped_notified_passes_its_notification_on() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let notify = Notify::new();
            // `Notified` is `Unpin`: held by value, so `drop` really drops it.
            let mut first = notify.notified();
            let mut second = notify.notified();
            Pin::new(&mut first).enable();
            Pin::new(&mut second).enable();
            notify.notify_one(); // to `first`, the older waiter
            assert!(poll_once(&mut second).await.is_pending(), "{flavor}");
            drop(first);
            assert!(poll_once(&mut second).await.is_ready(), "{flavor}");
        });
    }
}

#[test]
fn aborted_waiter_with_a_notification_in_flight_passes_it_on() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            for _ in 0..20 {
                let notify = Arc::new(Notify::new());
                let first = spawn_waiter(&notify).await;
                let second = spawn_waiter(&notify).await;
                // Wake `first`, then cancel it, most likely before it has run.
                notify.notify_one();
                first.abort();
                match guarded(flavor, first).await {
                    // It ran first and took the notification: `second` needs another.
                    Ok(()) => notify.notify_one(),
                    Err(err) => assert!(err.is_cancelled(), "{flavor}"),
                }
                guarded(flavor, second).await.unwrap();
            }
        });
    }
}

#[test]
fn timed_out_waiter_leaves_the_queue() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let timed_out = timeout(Duration::from_millis(5), notify.notified()).await;
            assert!(timed_out.is_err(), "{flavor}");
            let waiter = spawn_waiter(&notify).await;
            notify.notify_one(); // must reach `waiter`, not the timed-out future
            guarded(flavor, waiter).await.unwrap();
        });
    }
}

#[test]
fn notify_one_across_tasks_loses_no_wake_up() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // Ping-pong between two tasks: each round needs the other's notify_one.
            let ping = Arc::new(Notify::new());
            let pong = Arc::new(Notify::new());
            let rounds = 2000;
            let other = corio::spawn({
                let (ping, pong) = (ping.clone(), pong.clone());
                async move {
                    for _ in 0..rounds {
                        ping.notified().await;
                        pong.notify_one();
                    }
                }
            });
            for _ in 0..rounds {
                ping.notify_one();
                guarded(flavor, pong.notified()).await;
            }
            guarded(flavor, other).await.unwrap();
        });
    }
}

// ---------------------------------------------------------------------------------------
// Event

#[test]
fn event_set_wakes_every_waiter_and_clear_rearms() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let event = Arc::new(Event::new());
            assert!(!event.is_set());
            let woken = Arc::new(AtomicUsize::new(0));
            let mut waiters = Vec::new();
            for _ in 0..25 {
                let (waiting_tx, waiting_rx) = oneshot::channel();
                let (event, woken) = (event.clone(), woken.clone());
                waiters.push(corio::spawn(async move {
                    wait_then_signal(event.wait(), waiting_tx).await;
                    woken.fetch_add(1, Ordering::SeqCst);
                }));
                guarded("waiting", waiting_rx).await.unwrap();
            }
            assert_eq!(woken.load(Ordering::SeqCst), 0, "{flavor}");

            // As in asyncio, every task waiting at `set` returns, even if the event is
            // cleared before it runs.
            event.set();
            event.clear();
            for waiter in waiters {
                guarded(flavor, waiter).await.unwrap();
            }
            assert_eq!(woken.load(Ordering::SeqCst), 25, "{flavor}");

            // Cleared: a new wait waits; set: it returns, and later waits return at once.
            let mut later = pin!(event.wait());
            assert!(poll_once(&mut later).await.is_pending(), "{flavor}");
            event.set();
            assert!(event.is_set());
            assert!(poll_once(&mut later).await.is_ready(), "{flavor}");
            guarded(flavor, event.wait()).await;
            event.set(); // setting again is harmless
            assert!(event.is_set(), "{flavor}");
        });
    }
}

#[test]
fn event_cancelled_waiter_takes_nothing_from_the_others() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let event = Arc::new(Event::new());
            let timed_out = timeout(Duration::from_millis(5), event.wait()).await;
            assert!(timed_out.is_err(), "{flavor}");

            let (waiting_tx, waiting_rx) = oneshot::channel();
            let aborted = corio::spawn({
                let event = event.clone();
                async move { wait_then_signal(event.wait(), waiting_tx).await }
            });
            guarded("waiting", waiting_rx).await.unwrap();
            let (waiting_tx, waiting_rx) = oneshot::channel();
            let survivor = corio::spawn({
                let event = event.clone();
                async move { wait_then_signal(event.wait(), waiting_tx).await }
            });
            guarded("waiting", waiting_rx).await.unwrap();
            aborted.abort();
            assert!(aborted.await.unwrap_err().is_cancelled(), "{flavor}");
            event.set();
            guarded(flavor, survivor).await.unwrap();
        });
    }
}

// ---------------------------------------------------------------------------------------
// Barrier

#[test]
fn barrier_has_one_leader_per_generation_over_three_generations() {
    const TASKS: usize = 8;
    const GENERATIONS: usize = 3;
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let barrier = Arc::new(Barrier::new(TASKS));
            assert_eq!(barrier.parties(), TASKS);
            let arrivals = Arc::new(AtomicUsize::new(0));
            let leaders: Arc<[AtomicUsize; GENERATIONS]> = Arc::new(Default::default());
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (barrier, arrivals, leaders) =
                        (barrier.clone(), arrivals.clone(), leaders.clone());
                    corio::spawn(async move {
                        for generation in 0..GENERATIONS {
                            arrivals.fetch_add(1, Ordering::SeqCst);
                            let result = barrier.wait().await;
                            // Nobody is released before all of its generation arrived.
                            assert!(arrivals.load(Ordering::SeqCst) >= TASKS * (generation + 1));
                            if result.is_leader() {
                                leaders[generation].fetch_add(1, Ordering::SeqCst);
                            }
                            corio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                guarded(flavor, task).await.unwrap();
            }
            for (generation, leaders) in leaders.iter().enumerate() {
                assert_eq!(leaders.load(Ordering::SeqCst), 1, "{flavor} {generation}");
            }
            assert_eq!(barrier.n_waiting(), 0, "{flavor}");
        });
    }
}

#[test]
fn barrier_waiter_dropped_before_release_withdraws() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let barrier = Arc::new(Barrier::new(2));

            // Timed out: it arrived, then withdrew.
            let timed_out = timeout(Duration::from_millis(5), barrier.wait()).await;
            assert!(timed_out.is_err(), "{flavor}");
            assert_eq!(barrier.n_waiting(), 0, "{flavor}");

            // Aborted while waiting: the same.
            let (waiting_tx, waiting_rx) = oneshot::channel();
            let aborted = corio::spawn({
                let barrier = barrier.clone();
                async move { wait_then_signal(barrier.wait(), waiting_tx).await }
            });
            guarded("waiting", waiting_rx).await.unwrap();
            assert_eq!(barrier.n_waiting(), 1, "{flavor}");
            aborted.abort();
            assert!(aborted.await.unwrap_err().is_cancelled(), "{flavor}");
            assert_eq!(barrier.n_waiting(), 0, "{flavor}");

            // So one more arrival does not release anyone: two live tasks are needed.
            let mut first = pin!(barrier.wait());
            assert!(poll_once(&mut first).await.is_pending(), "{flavor}");
            assert_eq!(barrier.n_waiting(), 1, "{flavor}");
            let second = guarded(flavor, barrier.wait()).await;
            let Poll::Ready(first) = poll_once(&mut first).await else {
                panic!("{flavor}: the second arrival releases the first");
            };
            assert!(second.is_leader() && !first.is_leader(), "{flavor}");
        });
    }
}

#[test]
fn barrier_of_one_party_always_leads() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            for parties in [0, 1] {
                let barrier = Barrier::new(parties);
                for _ in 0..3 {
                    assert!(barrier.wait().await.is_leader(), "{flavor}");
                }
            }
        });
    }
}

// ---------------------------------------------------------------------------------------
// OnceCell

#[test]
fn once_cell_concurrent_get_or_init_runs_the_initializer_once() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let cell = Arc::new(OnceCell::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let callers: Vec<_> = (0..50)
                .map(|n| {
                    let (cell, runs) = (cell.clone(), runs.clone());
                    corio::spawn(async move {
                        *cell
                            .get_or_init(|| async move {
                                runs.fetch_add(1, Ordering::SeqCst);
                                sleep(Duration::from_millis(20)).await;
                                n
                            })
                            .await
                    })
                })
                .collect();
            let mut values = Vec::new();
            for caller in callers {
                values.push(guarded(flavor, caller).await.unwrap());
            }
            assert_eq!(runs.load(Ordering::SeqCst), 1, "{flavor}");
            assert!(
                values.iter().all(|&v| v == values[0]),
                "{flavor}: {values:?}"
            );
            assert_eq!(cell.get(), Some(&values[0]), "{flavor}");
        });
    }
}

#[test]
fn once_cell_timed_out_initializer_lets_the_next_caller_initialize() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let cell = OnceCell::new();
            let slow = cell.get_or_init(|| async {
                sleep(Duration::from_secs(3600)).await;
                1
            });
            assert!(
                timeout(Duration::from_millis(5), slow).await.is_err(),
                "{flavor}"
            );
            assert!(!cell.initialized(), "{flavor}");
            assert_eq!(*cell.get_or_init(|| async { 2 }).await, 2, "{flavor}");
        });
    }
}

#[test]
fn once_cell_waiter_takes_over_from_a_cancelled_initializer() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let cell = Arc::new(OnceCell::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let (started_tx, started_rx) = oneshot::channel();
            let first = corio::spawn({
                let (cell, runs) = (cell.clone(), runs.clone());
                async move {
                    *cell
                        .get_or_init(|| async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            let _ = started_tx.send(());
                            sleep(Duration::from_secs(3600)).await;
                            1
                        })
                        .await
                }
            });
            guarded("first initializer started", started_rx)
                .await
                .unwrap();

            let mut waiters = Vec::new();
            for _ in 0..5 {
                let (waiting_tx, waiting_rx) = oneshot::channel();
                let (cell, runs) = (cell.clone(), runs.clone());
                waiters.push(corio::spawn(async move {
                    let init = cell.get_or_init(|| async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        2
                    });
                    *wait_then_signal(init, waiting_tx).await
                }));
                guarded("waiting", waiting_rx).await.unwrap();
            }
            assert!(cell.set(9).unwrap_err().is_initializing_err(), "{flavor}");

            first.abort();
            assert!(first.await.unwrap_err().is_cancelled(), "{flavor}");
            for waiter in waiters {
                assert_eq!(guarded(flavor, waiter).await.unwrap(), 2, "{flavor}");
            }
            assert_eq!(
                runs.load(Ordering::SeqCst),
                2,
                "{flavor}: the first and one waiter"
            );
        });
    }
}

#[test]
fn once_cell_get_or_try_init_error_hands_over_to_a_waiter() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let cell = Arc::new(OnceCell::new());
            let attempts = Arc::new(AtomicUsize::new(0));
            let callers: Vec<_> = (0..10)
                .map(|_| {
                    let (cell, attempts) = (cell.clone(), attempts.clone());
                    corio::spawn(async move {
                        cell.get_or_try_init(|| async move {
                            let attempt = attempts.fetch_add(1, Ordering::SeqCst);
                            sleep(Duration::from_millis(10)).await;
                            if attempt == 0 {
                                Err("first attempt fails")
                            } else {
                                Ok(attempt)
                            }
                        })
                        .await
                        .copied()
                    })
                })
                .collect();
            let mut results = Vec::new();
            for caller in callers {
                results.push(guarded(flavor, caller).await.unwrap());
            }
            assert_eq!(attempts.load(Ordering::SeqCst), 2, "{flavor}: {results:?}");
            let errors = results.iter().filter(|r| r.is_err()).count();
            assert_eq!(errors, 1, "{flavor}: {results:?}");
            assert!(
                results.iter().filter_map(|r| r.ok()).all(|v| v == 1),
                "{flavor}: {results:?}"
            );
            assert_eq!(cell.get(), Some(&1), "{flavor}");

            // Alone: an error leaves the cell empty, and the next call initialises it.
            let cell = OnceCell::new();
            let failed = cell.get_or_try_init(|| async { Err::<u8, _>("no") }).await;
            assert_eq!(failed, Err("no"), "{flavor}");
            assert!(!cell.initialized(), "{flavor}");
            assert_eq!(
                cell.get_or_try_init(|| async { Ok::<_, ()>(3) }).await,
                Ok(&3)
            );
        });
    }
}

#[test]
fn once_cell_panicking_initializer_releases_the_claim() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let cell = Arc::new(OnceCell::<u32>::new());
            let panicked = corio::spawn({
                let cell = cell.clone();
                async move {
                    cell.get_or_init(|| async { panic!("initializer failed") })
                        .await;
                }
            });
            assert!(panicked.await.unwrap_err().is_panic(), "{flavor}");
            assert_eq!(*guarded(flavor, cell.get_or_init(|| async { 4 })).await, 4);
        });
    }
}

#[test]
fn once_cell_set_get_take_and_into_inner() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut cell = OnceCell::new();
            assert_eq!(cell.get(), None);
            assert_eq!(cell.set(1), Ok(()), "{flavor}");
            assert_eq!(cell.set(2), Err(SetError::AlreadyInitializedError(2)));
            assert_eq!(*cell.get_or_init(|| async { 3 }).await, 1);
            *cell.get_mut().unwrap() += 10;
            assert_eq!(cell.take(), Some(11));
            assert!(!cell.initialized());
            assert_eq!(*cell.get_or_init(|| async { 5 }).await, 5, "{flavor}");
            assert_eq!(cell.clone().into_inner(), Some(5));
            assert_eq!(OnceCell::from(6), OnceCell::new_with(Some(6)));
            assert_eq!(OnceCell::<u8>::default().into_inner(), None);
        });
    }
}

// `const_new` does not exist under loom (loom's atomics are not `const`).
#[cfg(not(loom))]
#[test]
fn once_cell_in_a_static() {
    static SHARED: OnceCell<String> = OnceCell::const_new();
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let value = SHARED.get_or_init(|| async { flavor.to_string() }).await;
            assert_eq!(value, "current_thread", "set once, by the first runtime");
        });
    }
}
