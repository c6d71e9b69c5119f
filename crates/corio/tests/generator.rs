//! Generators as streams inside a runtime: laziness, order, early drop, errors, and the
//! `StreamExt` combinators, on both scheduler flavors.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{DropCount, runtimes};
use corio::stream::{Stream, StreamExt, TryStreamExt, generator, try_generator};

#[test]
fn yields_in_order() {
    for (flavor, rt) in runtimes() {
        let items: Vec<u32> = rt.block_on(
            generator(|co| async move {
                for i in 0..100 {
                    co.yield_(i).await;
                }
            })
            .collect(),
        );
        assert_eq!(items, (0..100).collect::<Vec<_>>(), "{flavor}");
    }
}

/// The body runs only as far as the consumer has asked: each side effect happens only
/// once the item before it has been taken.
#[test]
fn the_body_runs_only_when_polled() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let produced = Arc::new(AtomicUsize::new(0));
            let mut numbers = std::pin::pin!(generator({
                let produced = produced.clone();
                move |co| async move {
                    for i in 0..10 {
                        produced.fetch_add(1, Ordering::SeqCst);
                        co.yield_(i).await;
                    }
                }
            }));
            corio::time::sleep(Duration::from_millis(5)).await;
            assert_eq!(produced.load(Ordering::SeqCst), 0, "{flavor}");
            assert_eq!(numbers.next().await, Some(0), "{flavor}");
            assert_eq!(produced.load(Ordering::SeqCst), 1, "{flavor}");
            assert_eq!(numbers.next().await, Some(1), "{flavor}");
            corio::time::sleep(Duration::from_millis(5)).await;
            // Backpressure: nothing more was produced while the consumer was busy.
            assert_eq!(produced.load(Ordering::SeqCst), 2, "{flavor}");
        });
    }
}

#[test]
fn dropping_the_stream_early_drops_the_body() {
    for (flavor, rt) in runtimes() {
        let drops = DropCount::default();
        let after_drop = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let guard = drops.guard();
            let after = after_drop.clone();
            let mut stream = Box::pin(generator(move |co| async move {
                let _guard = guard;
                for i in 0.. {
                    co.yield_(i).await;
                    after.fetch_add(1, Ordering::SeqCst);
                }
            }));
            assert_eq!(stream.next().await, Some(0), "{flavor}");
            assert_eq!(stream.next().await, Some(1), "{flavor}");
            drop(stream);
            assert_eq!(drops.get(), 1, "{flavor}");
        });
        assert_eq!(after_drop.load(Ordering::SeqCst), 1, "{flavor}");
    }
}

#[test]
fn the_body_may_await_runtime_resources() {
    for (flavor, rt) in runtimes() {
        let ticks: Vec<u32> = rt.block_on(
            generator(|co| async move {
                for i in 0..3 {
                    corio::time::sleep(Duration::from_millis(2)).await;
                    co.yield_(i).await;
                }
            })
            .collect(),
        );
        assert_eq!(ticks, [0, 1, 2], "{flavor}");
    }
}

#[test]
fn try_generator_ends_with_the_first_error() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let parsed = try_generator(|co| async move {
                for text in ["1", "2", "three", "4"] {
                    let n: u32 = text.parse().map_err(|_| format!("not a number: {text}"))?;
                    co.yield_(n).await;
                }
                Ok(())
            });
            let items: Vec<Result<u32, String>> = parsed.collect().await;
            assert_eq!(
                items,
                [Ok(1), Ok(2), Err("not a number: three".to_string())],
                "{flavor}"
            );

            let all_good = try_generator(|co| async move {
                co.yield_(1).await;
                co.yield_(2).await;
                Ok::<_, String>(())
            });
            assert_eq!(
                all_good.try_collect::<Vec<_>>().await,
                Ok(vec![1, 2]),
                "{flavor}"
            );
        });
    }
}

#[test]
fn works_with_stream_combinators() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let naturals = || {
                generator(|co| async move {
                    let mut n = 0u64;
                    loop {
                        co.yield_(n).await;
                        n += 1;
                    }
                })
            };
            let odd_squares: Vec<u64> = naturals()
                .filter(|n| std::future::ready(n % 2 == 1))
                .map(|n| n * n)
                .take(4)
                .collect()
                .await;
            assert_eq!(odd_squares, [1, 9, 25, 49], "{flavor}");

            let total = naturals()
                .take(10)
                .fold(0, |acc, n| async move { acc + n })
                .await;
            assert_eq!(total, 45, "{flavor}");

            let mut zipped = std::pin::pin!(naturals().zip(corio::stream::iter(["a", "b"])));
            assert_eq!(zipped.next().await, Some((0, "a")), "{flavor}");
            assert_eq!(zipped.next().await, Some((1, "b")), "{flavor}");
            assert_eq!(zipped.next().await, None, "{flavor}");
        });
    }
}

/// A generator is `Send` when its body is, so it can be consumed in a spawned task.
#[test]
fn a_generator_moves_into_a_task() {
    fn assert_send<S: Stream + Send>(stream: S) -> S {
        stream
    }
    for (flavor, rt) in runtimes() {
        let log = Arc::new(Mutex::new(Vec::new()));
        rt.block_on(async {
            let stream = assert_send(generator(|co| async move {
                for word in ["one", "two"] {
                    corio::task::yield_now().await;
                    co.yield_(word).await;
                }
            }));
            let log = log.clone();
            corio::spawn(async move {
                let mut stream = std::pin::pin!(stream);
                while let Some(word) = stream.next().await {
                    log.lock().unwrap().push(word);
                }
            })
            .await
            .unwrap();
        });
        assert_eq!(*log.lock().unwrap(), ["one", "two"], "{flavor}");
    }
}

/// A yielder smuggled out of its body panics when used: it cannot feed another stream.
#[test]
fn a_yielder_used_outside_its_body_panics() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, rx) = corio::sync::oneshot::channel();
            let mut stream = Box::pin(generator(
                move |co: corio::stream::Yielder<u8>| async move {
                    let _ = tx.send(co);
                },
            ));
            assert_eq!(stream.next().await, None, "{flavor}");
            let co = rx.await.unwrap();
            let misuse = corio::spawn(async move { co.yield_(1).await });
            assert!(misuse.await.unwrap_err().is_panic(), "{flavor}");
        });
    }
}
