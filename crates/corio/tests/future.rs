//! The future combinators on both runtimes: gather/join_all order and poll counts, join!,
//! try_join_all / try_join! cancellation, select! (patterns, else, biased, fairness, drops),
//! race / select, as_completed, wait, shield and timeout_at.

mod common;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use common::{DropCount, runtimes};
use corio::future::{
    Either, ReturnWhen, as_completed, gather, join_all, race, select, shield, try_join_all, wait,
};
use corio::sync::oneshot;
use corio::time::{Instant, sleep, timeout, timeout_at};
use futures_util::{Stream, StreamExt};

/// Sleeps `ms` milliseconds, then returns `value`.
async fn after<T>(ms: u64, value: T) -> T {
    sleep(Duration::from_millis(ms)).await;
    value
}

/// Wraps a future and counts every poll of it.
struct CountPolls<F> {
    inner: F,
    polls: Arc<AtomicUsize>,
}

impl<F: Future + Unpin> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// Polls `future` once (registering its wakers), leaving it in place.
async fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    let mut future = Some(future);
    std::future::poll_fn(|cx| Poll::Ready(future.take().unwrap().poll(cx))).await
}

// ===== gather / join_all / join! =====

#[test]
fn gather_keeps_input_order_whatever_the_finishing_order() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let delays = [40, 5, 25, 0, 15, 30, 10];
            let outputs = gather(delays.map(|ms| after(ms, ms))).await;
            assert_eq!(outputs, delays, "{flavor}");

            let empty: Vec<u32> = join_all(Vec::<std::future::Ready<u32>>::new()).await;
            assert!(empty.is_empty(), "{flavor}");
        });
    }
}

#[test]
fn join_all_polls_each_future_only_when_woken() {
    const N: usize = 10_000;
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let polls = Arc::new(AtomicUsize::new(0));
            let (senders, receivers): (Vec<_>, Vec<_>) =
                (0..N).map(|_| oneshot::channel::<usize>()).unzip();
            let futures = receivers.into_iter().map(|rx| CountPolls {
                inner: rx,
                polls: polls.clone(),
            });
            // Each future is woken exactly once, from another task (another thread on the
            // multi-thread runtime), in an order unrelated to the input order.
            let waker_task = corio::spawn(async move {
                let mut senders: Vec<_> = senders.into_iter().enumerate().collect();
                senders.reverse();
                for (round, (index, tx)) in senders.into_iter().enumerate() {
                    tx.send(index).unwrap();
                    if round % 100 == 0 {
                        corio::task::yield_now().await;
                    }
                }
            });
            let outputs = join_all(futures).await;
            waker_task.await.unwrap();
            let outputs: Vec<usize> = outputs.into_iter().map(Result::unwrap).collect();
            assert_eq!(outputs, (0..N).collect::<Vec<_>>(), "{flavor}");
            // At most one poll to register and one after the wake: O(N), where polling every
            // future on every wake-up would take O(N^2).
            let total = polls.load(Ordering::Relaxed);
            assert!(total <= 2 * N, "{flavor}: {total} polls for {N} futures");
        });
    }
}

#[test]
fn dropping_join_all_cancels_unfinished_futures() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let drops = DropCount::default();
            let futures: Vec<_> = (0..5)
                .map(|i| {
                    let guard = drops.guard();
                    async move {
                        let _guard = guard;
                        if i == 0 {
                            return;
                        }
                        std::future::pending::<()>().await;
                    }
                })
                .collect();
            let mut all = Box::pin(join_all(futures));
            assert!(poll_once(all.as_mut()).await.is_pending());
            assert_eq!(
                drops.get(),
                1,
                "{flavor}: the finished one is dropped at once"
            );
            drop(all);
            assert_eq!(drops.get(), 5, "{flavor}");

            // Under a timeout, too.
            let drops = DropCount::default();
            let stuck = (0..3).map(|_| {
                let guard = drops.guard();
                async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                }
            });
            assert!(
                timeout(Duration::from_millis(5), join_all(stuck))
                    .await
                    .is_err()
            );
            assert_eq!(drops.get(), 3, "{flavor}");
        });
    }
}

#[test]
fn join_macro_returns_a_tuple_in_argument_order() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (a, b, c) = corio::join!(after(20, "slow"), after(1, 2u8), async { 'c' });
            assert_eq!((a, b, c), ("slow", 2, 'c'), "{flavor}");

            let (single,) = corio::join!(async { 1 });
            assert_eq!(single, 1);
            let () = corio::join!();

            // An `Err` output is just an output.
            let (ok, err) = corio::join!(async { Ok::<u8, u8>(1) }, async { Err::<u8, u8>(2) });
            assert_eq!((ok, err), (Ok(1), Err(2)), "{flavor}");
        });
    }
}

#[test]
fn join_macro_takes_references_to_pinned_futures() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut long = pin!(after(5, 5));
            let (a, b) = corio::join!(&mut long, after(1, 1));
            assert_eq!((a, b), (5, 1), "{flavor}");
        });
    }
}

// ===== try_join_all / try_join! =====

#[test]
fn try_join_all_succeeds_in_input_order() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let results =
                try_join_all([30, 5, 15].map(|ms| after(ms, Ok::<u64, String>(ms)))).await;
            assert_eq!(results, Ok(vec![30, 5, 15]), "{flavor}");
        });
    }
}

#[test]
fn try_join_all_returns_the_first_error_and_drops_the_rest_at_once() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let drops = DropCount::default();
            type Job = Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>;
            let futures: Vec<Job> = vec![
                {
                    let guard = drops.guard();
                    Box::pin(async move {
                        let _guard = guard;
                        std::future::pending().await
                    })
                },
                Box::pin(after(5, Err("first".to_string()))),
                Box::pin(after(50, Err("second".to_string()))),
                {
                    let guard = drops.guard();
                    Box::pin(async move {
                        let _guard = guard;
                        after(1, Ok(1)).await
                    })
                },
            ];
            let mut joined = pin!(try_join_all(futures));
            // Drive it without dropping it, to see that the others went before it returned.
            let result = std::future::poll_fn(|cx| joined.as_mut().poll(cx)).await;
            assert_eq!(result, Err("first".to_string()), "{flavor}");
            assert_eq!(
                drops.get(),
                2,
                "{flavor}: pending and finished futures both dropped"
            );
        });
    }
}

#[test]
fn try_join_macro_returns_the_first_error_and_drops_the_rest() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let ok: Result<(u8, &str), String> =
                corio::try_join!(after(5, Ok(1)), async { Ok("two") });
            assert_eq!(ok, Ok((1, "two")), "{flavor}");

            let drops = DropCount::default();
            let guard = drops.guard();
            let stuck = async move {
                let _guard = guard;
                std::future::pending::<Result<u8, String>>().await
            };
            let failed = corio::try_join!(stuck, after(2, Err::<u8, _>("boom".to_string())));
            assert_eq!(failed, Err("boom".to_string()), "{flavor}");
            assert_eq!(drops.get(), 1, "{flavor}: the pending future was cancelled");
        });
    }
}

// ===== select! =====

#[test]
fn select_runs_the_handler_of_the_ready_branch() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let got = corio::select! {
                _ = sleep(Duration::from_secs(60)) => 0,
                v = after(1, 7) => v * 2,
                _ = std::future::pending::<()>() => 1,
            };
            assert_eq!(got, 14, "{flavor}");
        });
    }
}

#[test]
fn select_skips_branches_whose_pattern_does_not_match() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let polled_again = Arc::new(AtomicUsize::new(0));
            let counter = polled_again.clone();
            // The first branch finishes first, with `Err`: it is disabled, and the select goes
            // on to the second.
            let got = corio::select! {
                Ok(v) = async { Err::<u32, &str>("no") } => v,
                Some(mut v) = CountPolls { inner: Box::pin(after(5, Some(10u32))), polls: counter } => {
                    v += 1;
                    v
                }
            };
            assert_eq!(got, 11, "{flavor}");
            assert!(polled_again.load(Ordering::SeqCst) >= 1);

            // Binding modifiers and reference patterns work in the pattern.
            let data = [1, 2, 3];
            let got = corio::select! {
                (&first, ref name, mut n) = async { (&data[0], String::from("ab"), 1) } => {
                    n += name.len() as i32;
                    first + n
                }
            };
            assert_eq!(got, 4, "{flavor}");
        });
    }
}

#[test]
fn select_accepts_patterns_of_every_shape() {
    #[derive(Debug)]
    struct Point {
        x: i32,
        y: i32,
    }
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let got = corio::select! {
                Ok(v) | Err(v) = async { Err::<i32, i32>(3) } => v,
            };
            assert_eq!(got, 3, "{flavor}");

            let got = corio::select! {
                Point { x: 0, .. } = async { Point { x: 1, y: 1 } } => -1,
                Point { x, ref mut y } = after(1, Point { x: 2, y: 5 }) => {
                    *y += 1;
                    x + *y
                }
            };
            assert_eq!(got, 8, "{flavor}");

            let got = corio::select! {
                [first, .., last] = async { [1, 2, 3, 4] } => first * last,
            };
            assert_eq!(got, 4, "{flavor}");

            let got = corio::select! {
                n @ 1..=9 = async { 10 } => n,
                n @ 10.. = after(1, 11) => n * 2,
            };
            assert_eq!(got, 22, "{flavor}");

            let numbers = [5, 6];
            let got = corio::select! {
                Some(&n) = async { numbers.first() } => n,
            };
            assert_eq!(got, 5, "{flavor}");
        });
    }
}

#[test]
fn select_runs_else_when_every_branch_is_disabled() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // By preconditions: the futures are never polled.
            let polls = Arc::new(AtomicUsize::new(0));
            let enabled = false;
            let got = corio::select! {
                _ = CountPolls { inner: std::future::ready(()), polls: polls.clone() }, if enabled => "a",
                _ = CountPolls { inner: std::future::ready(()), polls: polls.clone() }, if 1 > 2 => "b",
                else => "else",
            };
            assert_eq!(got, "else", "{flavor}");
            assert_eq!(polls.load(Ordering::SeqCst), 0, "{flavor}");

            // By patterns that all fail.
            let got = corio::select! {
                Some(v) = async { None::<u8> } => v,
                Ok(v) = after(2, Err::<u8, ()>(())) => v,
                else => 99,
            };
            assert_eq!(got, 99, "{flavor}");

            // A disabled branch does not stop an enabled one.
            let got = corio::select! {
                v = async { 1 }, if false => v,
                v = after(1, 2) => v,
                else => 0,
            };
            assert_eq!(got, 2, "{flavor}");
        });
    }
}

#[test]
fn select_supports_64_branches_within_the_default_recursion_limit() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            #[rustfmt::skip]
            let got: u32 = corio::select! {
                biased;
                v = async { 0 } => v, v = async { 1 } => v, v = async { 2 } => v, v = async { 3 } => v,
                v = async { 4 } => v, v = async { 5 } => v, v = async { 6 } => v, v = async { 7 } => v,
                v = async { 8 } => v, v = async { 9 } => v, v = async { 10 } => v, v = async { 11 } => v,
                v = async { 12 } => v, v = async { 13 } => v, v = async { 14 } => v, v = async { 15 } => v,
                v = async { 16 } => v, v = async { 17 } => v, v = async { 18 } => v, v = async { 19 } => v,
                v = async { 20 } => v, v = async { 21 } => v, v = async { 22 } => v, v = async { 23 } => v,
                v = async { 24 } => v, v = async { 25 } => v, v = async { 26 } => v, v = async { 27 } => v,
                v = async { 28 } => v, v = async { 29 } => v, v = async { 30 } => v, v = async { 31 } => v,
                v = async { 32 } => v, v = async { 33 } => v, v = async { 34 } => v, v = async { 35 } => v,
                v = async { 36 } => v, v = async { 37 } => v, v = async { 38 } => v, v = async { 39 } => v,
                v = async { 40 } => v, v = async { 41 } => v, v = async { 42 } => v, v = async { 43 } => v,
                v = async { 44 } => v, v = async { 45 } => v, v = async { 46 } => v, v = async { 47 } => v,
                v = async { 48 } => v, v = async { 49 } => v, v = async { 50 } => v, v = async { 51 } => v,
                v = async { 52 } => v, v = async { 53 } => v, v = async { 54 } => v, v = async { 55 } => v,
                v = async { 56 } => v, v = async { 57 } => v, v = async { 58 } => v, v = async { 59 } => v,
                v = async { 60 } => v, v = async { 61 } => v, v = async { 62 } => v, v = async { 63 } => v,
            };
            assert_eq!(got, 0, "{flavor}");
        });
    }
}

#[test]
fn select_without_else_panics_when_every_branch_is_disabled() {
    let rt = corio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            corio::select! {
                Some(v) = async { None::<u8> } => v,
            }
        })
    }));
    let payload = result.unwrap_err();
    assert!(common::panic_message(payload.as_ref()).contains("all branches are disabled"));
}

#[test]
fn biased_select_polls_in_order_and_unbiased_is_fair() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            for _ in 0..50 {
                let got = corio::select! {
                    biased;
                    v = async { "first" } => v,
                    v = async { "second" } => v,
                };
                assert_eq!(got, "first", "{flavor}");
            }
            let mut wins = [0u32; 3];
            for _ in 0..300 {
                let got = corio::select! {
                    v = async { 0 } => v,
                    v = async { 1 } => v,
                    v = async { 2 } => v,
                };
                wins[got] += 1;
            }
            assert!(wins.iter().all(|&w| w > 30), "{flavor}: {wins:?}");
        });
    }
}

#[test]
fn select_drops_the_losing_futures_before_the_handler_runs() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let drops = DropCount::default();
            let guard_a = drops.guard();
            let guard_b = drops.guard();
            let polled = Arc::new(AtomicBool::new(false));
            let polled_flag = polled.clone();
            let drops_seen_by_handler = corio::select! {
                biased;
                v = async { 5 } => {
                    let _ = v;
                    drops.get()
                }
                // Never polled at all (the first branch wins on the first poll).
                _ = async move {
                    polled_flag.store(true, Ordering::SeqCst);
                    let _guard = guard_a;
                    std::future::pending::<()>().await
                } => 100,
                // Not even started.
                _ = async move {
                    let _guard = guard_b;
                } => 100,
            };
            assert_eq!(drops_seen_by_handler, 2, "{flavor}");
            assert!(!polled.load(Ordering::SeqCst), "{flavor}");
        });
    }
}

#[test]
fn select_handlers_control_the_enclosing_loop_and_function() {
    async fn first_even(values: Vec<u32>) -> Result<u32, String> {
        let mut values = values.into_iter();
        loop {
            let next = values.next();
            corio::select! {
                Some(v) = async { next } => {
                    if v % 2 == 1 {
                        continue;
                    }
                    let checked = if v == 0 { Err("zero".to_string()) } else { Ok(v) };
                    let even = checked?;
                    return Ok(even);
                }
                else => break,
            }
        }
        Err("none".to_string())
    }
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            assert_eq!(first_even(vec![1, 3, 4, 6]).await, Ok(4), "{flavor}");
            assert_eq!(first_even(vec![1, 0]).await, Err("zero".into()), "{flavor}");
            assert_eq!(first_even(vec![1, 3]).await, Err("none".into()), "{flavor}");
        });
    }
}

#[test]
fn select_in_a_loop_keeps_a_pinned_future_across_iterations() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, rx) = oneshot::channel::<&str>();
            let mut tx = Some(tx);
            // The receive is polled (and registered) in every iteration but only completes
            // after the third tick: it must survive the `select!`s it lost.
            let mut stop = pin!(rx);
            let mut ticks = 0;
            let message = loop {
                corio::select! {
                    msg = &mut stop => break msg.unwrap(),
                    _ = sleep(Duration::from_millis(1)) => {
                        ticks += 1;
                        if ticks == 3 {
                            let tx = tx.take().unwrap();
                            corio::spawn(async move { tx.send("stop").unwrap() });
                        }
                    }
                }
            };
            assert_eq!(message, "stop", "{flavor}");
            assert_eq!(ticks, 3, "{flavor}");
        });
    }
}

// ===== race / select =====

#[test]
fn race_and_select_pick_the_first_to_finish() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let started = Instant::now();
            let winner = race(after(60_000, "sleep"), async { "ready" }).await;
            assert_eq!(winner, "ready", "{flavor}");
            let winner = race(after(30, "slow"), after(1, "quick")).await;
            assert_eq!(winner, "quick", "{flavor}");
            assert!(started.elapsed() < Duration::from_secs(30), "{flavor}");

            match select(after(60_000, 1u8), after(1, "text")).await {
                Either::Right(text) => assert_eq!(text, "text", "{flavor}"),
                Either::Left(_) => panic!("{flavor}: the sleep won"),
            }

            // The loser is dropped with the select.
            let drops = DropCount::default();
            let guard = drops.guard();
            let loser = async move {
                let _guard = guard;
                std::future::pending::<u8>().await
            };
            assert!(matches!(select(loser, async { 1 }).await, Either::Right(1)));
            assert_eq!(drops.get(), 1, "{flavor}");
        });
    }
}

// ===== as_completed =====

#[test]
fn as_completed_yields_in_completion_order() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut finished = as_completed([40, 1, 25, 10].map(|ms| after(ms, ms)));
            assert_eq!(finished.size_hint(), (4, Some(4)));
            let mut order = Vec::new();
            while let Some(ms) = finished.next().await {
                order.push(ms);
            }
            assert_eq!(order, [1, 10, 25, 40], "{flavor}");
            assert_eq!(finished.remaining(), 0);
            assert_eq!(finished.next().await, None, "{flavor}: stays finished");
        });
    }
}

#[test]
fn dropping_as_completed_cancels_the_rest() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let drops = DropCount::default();
            let futures: Vec<_> = [1, 60_000, 60_000]
                .into_iter()
                .map(|ms| {
                    let guard = drops.guard();
                    async move {
                        let _guard = guard;
                        after(ms, ms).await
                    }
                })
                .collect();
            let mut finished = as_completed(futures);
            assert_eq!(finished.next().await, Some(1), "{flavor}");
            assert_eq!(drops.get(), 1, "{flavor}");
            drop(finished);
            assert_eq!(drops.get(), 3, "{flavor}");
        });
    }
}

// ===== wait =====

fn spawn_after(ms: u64, value: u64) -> corio::task::JoinHandle<u64> {
    corio::spawn(after(ms, value))
}

#[test]
fn wait_first_completed_returns_the_rest_still_running() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let tasks = vec![
                spawn_after(100, 100),
                spawn_after(1, 1),
                spawn_after(200, 200),
            ];
            let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted).await;
            let done: Vec<u64> = done.into_iter().map(Result::unwrap).collect();
            assert_eq!(done, [1], "{flavor}");
            assert_eq!(pending.len(), 2, "{flavor}");

            // The pending tasks kept running; wait for them in turn.
            let (done, pending) = wait(pending, ReturnWhen::FirstCompleted).await;
            assert_eq!(
                done.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
                [100]
            );
            let (done, pending) = wait(pending, ReturnWhen::AllCompleted).await;
            assert_eq!(
                done.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
                [200]
            );
            assert!(pending.is_empty(), "{flavor}");
        });
    }
}

#[test]
fn wait_all_completed_gives_outputs_in_completion_order() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let tasks = vec![
                spawn_after(100, 100),
                spawn_after(1, 1),
                spawn_after(50, 50),
            ];
            let (done, pending) = wait(tasks, ReturnWhen::AllCompleted).await;
            let done: Vec<u64> = done.into_iter().map(Result::unwrap).collect();
            assert_eq!(done, [1, 50, 100], "{flavor}");
            assert!(pending.is_empty(), "{flavor}");

            let (done, pending) = wait(
                Vec::<corio::task::JoinHandle<u8>>::new(),
                ReturnWhen::FirstCompleted,
            )
            .await;
            assert!(done.is_empty() && pending.is_empty(), "{flavor}");
        });
    }
}

#[test]
fn wait_first_exception_stops_at_the_first_failure() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // Tasks: a panic is the exception.
            let tasks = vec![
                spawn_after(1, 1),
                corio::spawn(async {
                    sleep(Duration::from_millis(50)).await;
                    panic!("task failed");
                }),
                spawn_after(60_000, 2),
            ];
            let (done, pending) = wait(tasks, ReturnWhen::FirstException).await;
            assert_eq!(done.len(), 2, "{flavor}");
            assert_eq!(*done[0].as_ref().unwrap(), 1, "{flavor}");
            assert!(done[1].as_ref().unwrap_err().is_panic(), "{flavor}");
            assert_eq!(pending.len(), 1, "{flavor}");
            pending[0].abort();

            // Plain futures: an `Err` is the exception; without one it waits for all.
            type Job = Pin<Box<dyn Future<Output = Result<u64, String>> + Send>>;
            let jobs: Vec<Job> = vec![
                Box::pin(after(1, Ok(1))),
                Box::pin(after(50, Err("bad".to_string()))),
                Box::pin(after(60_000, Ok(3))),
            ];
            let (done, pending) = wait(jobs, ReturnWhen::FirstException).await;
            assert_eq!(done, [Ok(1), Err("bad".to_string())], "{flavor}");
            assert_eq!(pending.len(), 1, "{flavor}");

            let jobs: Vec<Job> = vec![Box::pin(after(50, Ok(1))), Box::pin(after(1, Ok(2)))];
            let (done, pending) = wait(jobs, ReturnWhen::FirstException).await;
            assert_eq!(done, [Ok(2), Ok(1)], "{flavor}");
            assert!(pending.is_empty(), "{flavor}");
        });
    }
}

// ===== shield =====

#[test]
fn shield_keeps_the_work_running_when_the_awaiter_is_dropped() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let finished = Arc::new(AtomicBool::new(false));
            let (done_tx, done_rx) = oneshot::channel();
            let work = {
                let finished = finished.clone();
                async move {
                    sleep(Duration::from_millis(50)).await;
                    finished.store(true, Ordering::SeqCst);
                    let _ = done_tx.send(());
                    "output"
                }
            };
            // The awaiting side gives up (and drops the shield) long before the work is done.
            assert!(
                timeout(Duration::from_millis(1), shield(work))
                    .await
                    .is_err()
            );
            assert!(!finished.load(Ordering::SeqCst), "{flavor}");
            done_rx.await.unwrap();
            assert!(
                finished.load(Ordering::SeqCst),
                "{flavor}: the work ran to completion"
            );
        });
    }
}

#[test]
fn shield_output_is_obtainable_when_awaited() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let shielded = shield(after(5, 42));
            // A select whose other branch wins first polls the shield but does not own it.
            let mut shielded = pin!(shielded);
            corio::select! {
                biased;
                _ = async {} => {}
                _ = &mut shielded => panic!("{flavor}: the shield won"),
            }
            assert_eq!(shielded.await, 42, "{flavor}");

            // A panic in the work resumes in the awaiter.
            let panicked = corio::spawn(async { shield(async { panic!("inner") }).await });
            let error = panicked.await.unwrap_err();
            assert!(error.is_panic(), "{flavor}");

            // Abort cancels the work after all.
            let shielded = shield(after(60_000, 1));
            shielded.abort();
            let joined = shielded.into_join_handle().await;
            assert!(joined.unwrap_err().is_cancelled(), "{flavor}");
        });
    }
}

// ===== Send =====

#[test]
fn combinators_of_send_futures_can_be_spawned() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let joined = corio::spawn(join_all((0..3).map(|n| after(1, n))));
            let tried = corio::spawn(try_join_all((0..3).map(|n| after(1, Ok::<_, ()>(n)))));
            let streamed = corio::spawn(async {
                as_completed((0..3).map(|n| after(1, n)))
                    .collect::<Vec<_>>()
                    .await
            });
            let waited = corio::spawn(async {
                let tasks: Vec<_> = (0..3).map(|n| spawn_after(1, n)).collect();
                wait(tasks, ReturnWhen::AllCompleted).await.0.len()
            });
            let macros = corio::spawn(async {
                let (a, b) = corio::join!(after(1, 1), after(2, 2));
                let c = corio::select! {
                    v = after(1, 3) => v,
                    v = after(60_000, 4) => v,
                };
                a + b + c
            });
            assert_eq!(joined.await.unwrap(), [0, 1, 2], "{flavor}");
            assert_eq!(tried.await.unwrap(), Ok(vec![0, 1, 2]), "{flavor}");
            assert_eq!(streamed.await.unwrap().len(), 3, "{flavor}");
            assert_eq!(waited.await.unwrap(), 3, "{flavor}");
            assert_eq!(macros.await.unwrap(), 6, "{flavor}");
        });
    }
}

// ===== timeout_at =====

#[test]
fn timeout_at_expires_at_the_deadline() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let deadline = Instant::now() + Duration::from_millis(10);
            let result = timeout_at(deadline, std::future::pending::<()>()).await;
            assert!(result.is_err(), "{flavor}");
            assert!(Instant::now() >= deadline, "{flavor}");

            let deadline = Instant::now() + Duration::from_secs(60);
            assert_eq!(timeout_at(deadline, after(1, 5)).await, Ok(5), "{flavor}");

            // Re-exported next to the other combinators.
            let quick = corio::future::timeout(Duration::from_secs(60), async { 1 }).await;
            assert_eq!(quick, Ok(1), "{flavor}");
        });
    }
}
