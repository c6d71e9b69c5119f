//! asyncio's queues on a real runtime: order, bounded puts, the non-waiting forms,
//! task_done/join, shutdown, first-come-first-served waiters, cancellation, and many
//! producers and consumers.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use common::{DropCount, runtimes};
use corio::sync::oneshot;
use corio::sync::queue::{
    GetNowaitError, LifoQueue, PriorityQueue, PutNowaitError, Queue, QueueShutDown, TaskDoneError,
};
use corio::task::yield_now;
use corio::time::timeout;

/// Awaits `fut`, calling `on_wait` the first time it is pending: from then on the task is
/// registered with the queue, so whatever follows must wake it.
async fn signal_when_waiting<F: Future>(fut: F, on_wait: impl FnOnce()) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut on_wait = Some(on_wait);
    std::future::poll_fn(|cx| {
        let poll = fut.as_mut().poll(cx);
        if poll.is_pending()
            && let Some(on_wait) = on_wait.take()
        {
            on_wait();
        }
        poll
    })
    .await
}

/// Spawns `get` on a clone of `queue` and returns once it waits.
async fn spawn_waiting_get<T: Send + 'static>(
    queue: &Queue<T>,
) -> corio::task::JoinHandle<Result<T, QueueShutDown>> {
    let (waiting, is_waiting) = oneshot::channel();
    let queue = queue.clone();
    let handle = corio::spawn(async move {
        signal_when_waiting(queue.get(), move || {
            let _ = waiting.send(());
        })
        .await
    });
    is_waiting.await.unwrap();
    handle
}

/// Spawns `put(item)` on a clone of `queue` and returns once it waits.
async fn spawn_waiting_put<T: Send + 'static>(
    queue: &Queue<T>,
    item: T,
) -> corio::task::JoinHandle<Result<(), QueueShutDown<T>>> {
    let (waiting, is_waiting) = oneshot::channel();
    let queue = queue.clone();
    let handle = corio::spawn(async move {
        signal_when_waiting(queue.put(item), move || {
            let _ = waiting.send(());
        })
        .await
    });
    is_waiting.await.unwrap();
    handle
}

#[test]
fn each_queue_hands_items_out_in_its_order() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let fifo = Queue::new(0);
            let lifo = LifoQueue::new(0);
            let heap = PriorityQueue::new(0);
            for n in [3, 1, 4, 1, 5, 9, 2, 6] {
                fifo.put(n).await.unwrap();
                lifo.put(n).await.unwrap();
                heap.put(n).await.unwrap();
            }
            let mut got = (Vec::new(), Vec::new(), Vec::new());
            while !fifo.empty() {
                got.0.push(fifo.get().await.unwrap());
                got.1.push(lifo.get().await.unwrap());
                got.2.push(heap.get().await.unwrap());
            }
            assert_eq!(got.0, [3, 1, 4, 1, 5, 9, 2, 6], "{flavor}");
            assert_eq!(got.1, [6, 2, 9, 5, 1, 4, 1, 3], "{flavor}");
            assert_eq!(got.2, [1, 1, 2, 3, 4, 5, 6, 9], "{flavor}");
        });
    }
}

#[test]
fn priority_ties_come_out_in_insertion_order() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // Ordered by priority only, so equal priorities are ties.
            #[derive(Debug, PartialEq, Eq)]
            struct Job(u8, &'static str);
            impl Ord for Job {
                fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                    self.0.cmp(&other.0)
                }
            }
            impl PartialOrd for Job {
                fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                    Some(self.cmp(other))
                }
            }
            let heap = PriorityQueue::unbounded();
            for (priority, name) in [(1, "a"), (0, "b"), (1, "c"), (0, "d"), (1, "e")] {
                heap.put(Job(priority, name)).await.unwrap();
            }
            let mut names = Vec::new();
            while let Ok(job) = heap.get_nowait() {
                names.push(job.1);
            }
            assert_eq!(names, ["b", "d", "a", "c", "e"], "{flavor}");
        });
    }
}

#[test]
fn a_full_queue_blocks_put_until_a_get_makes_room() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::new(2);
            queue.put(1).await.unwrap();
            queue.put(2).await.unwrap();
            assert!(queue.full(), "{flavor}");
            let producer = spawn_waiting_put(&queue, 3).await;
            for _ in 0..10 {
                yield_now().await;
            }
            assert!(!producer.is_finished(), "{flavor}: put waits while full");
            assert_eq!(queue.qsize(), 2, "{flavor}");

            assert_eq!(queue.get().await, Ok(1), "{flavor}");
            producer.await.unwrap().unwrap();
            assert_eq!(queue.get().await, Ok(2), "{flavor}");
            assert_eq!(queue.get().await, Ok(3), "{flavor}");
            assert!(queue.empty(), "{flavor}");
        });
    }
}

#[test]
fn the_nowait_forms_fail_instead_of_waiting() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::new(1);
            assert_eq!(queue.get_nowait(), Err(GetNowaitError::Empty), "{flavor}");
            queue.put_nowait(String::from("a")).unwrap();
            let err = queue.put_nowait(String::from("b")).unwrap_err();
            assert!(err.is_full(), "{flavor}");
            assert_eq!(err.into_inner(), "b", "{flavor}: the item comes back");
            assert_eq!(queue.get_nowait().as_deref(), Ok("a"), "{flavor}");

            queue.shutdown(false);
            let err = queue.put_nowait(String::from("c")).unwrap_err();
            assert_eq!(err, PutNowaitError::ShutDown(String::from("c")), "{flavor}");
            assert_eq!(
                queue.get_nowait(),
                Err(GetNowaitError::ShutDown),
                "{flavor}"
            );
        });
    }
}

#[test]
fn join_waits_until_three_workers_finished_100_items() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::new(10);
            let processed = Arc::new(AtomicUsize::new(0));
            let workers: Vec<_> = (0..3)
                .map(|_| {
                    let queue = queue.clone();
                    let processed = processed.clone();
                    corio::spawn(async move {
                        while let Ok(n) = queue.get().await {
                            if n % 7 == 0 {
                                corio::time::sleep(Duration::from_millis(1)).await;
                            } else {
                                yield_now().await;
                            }
                            processed.fetch_add(1, Ordering::SeqCst);
                            queue.task_done().unwrap();
                        }
                    })
                })
                .collect();
            for n in 0..100 {
                queue.put(n).await.unwrap();
            }
            queue.join().await;
            assert_eq!(processed.load(Ordering::SeqCst), 100, "{flavor}");
            assert!(queue.empty(), "{flavor}");
            queue.shutdown(false);
            for worker in workers {
                worker.await.unwrap();
            }
        });
    }
}

#[test]
fn task_done_too_many_times_is_an_error() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::unbounded();
            assert_eq!(queue.task_done(), Err(TaskDoneError), "{flavor}");
            queue.put(1).await.unwrap();
            queue.put(2).await.unwrap();
            queue.get().await.unwrap();
            queue.get().await.unwrap();
            assert_eq!(queue.task_done(), Ok(()), "{flavor}");
            assert_eq!(queue.task_done(), Ok(()), "{flavor}");
            assert_eq!(queue.task_done(), Err(TaskDoneError), "{flavor}");
            // The error changed nothing: join is done, and the count starts again from 0.
            queue.join().await;
            queue.put(3).await.unwrap();
            assert_eq!(queue.task_done(), Ok(()), "{flavor}");
            assert_eq!(queue.task_done(), Err(TaskDoneError), "{flavor}");
        });
    }
}

#[test]
fn join_waits_for_a_task_done_from_another_task() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::unbounded();
            queue.put(1).await.unwrap();
            let (waiting, is_waiting) = oneshot::channel();
            let joiner = corio::spawn({
                let queue = queue.clone();
                async move {
                    signal_when_waiting(queue.join(), move || {
                        let _ = waiting.send(());
                    })
                    .await
                }
            });
            is_waiting.await.unwrap();
            assert_eq!(queue.get().await, Ok(1), "{flavor}");
            assert!(!joiner.is_finished(), "{flavor}: got, but not done");
            queue.task_done().unwrap();
            joiner.await.unwrap();
        });
    }
}

#[test]
fn shutdown_fails_waiting_putters_and_getters_but_leaves_items_to_get() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // Getters waiting on an empty queue fail.
            let queue = Queue::<u32>::new(1);
            let getters = [
                spawn_waiting_get(&queue).await,
                spawn_waiting_get(&queue).await,
            ];
            queue.shutdown(false);
            assert!(queue.is_shut_down(), "{flavor}");
            for getter in getters {
                assert_eq!(getter.await.unwrap(), Err(QueueShutDown(())), "{flavor}");
            }

            // Putters waiting on a full queue fail and get their item back; the items in
            // the queue can still be had, then gets fail.
            let queue = Queue::new(1);
            queue.put(String::from("kept")).await.unwrap();
            let putter = spawn_waiting_put(&queue, String::from("refused")).await;
            queue.shutdown(false);
            let err = putter.await.unwrap().unwrap_err();
            assert_eq!(err.into_inner(), "refused", "{flavor}");
            assert_eq!(
                queue.put(String::from("late")).await,
                Err(QueueShutDown(String::from("late"))),
                "{flavor}"
            );
            assert_eq!(queue.get().await.as_deref(), Ok("kept"), "{flavor}");
            assert_eq!(queue.get().await, Err(QueueShutDown(())), "{flavor}");
            queue.task_done().unwrap();
            queue.join().await;
        });
    }
}

#[test]
fn immediate_shutdown_drops_the_items_and_counts_them_done() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let drops = DropCount::default();
            let queue = Queue::new(3);
            for _ in 0..3 {
                queue.put(drops.guard()).await.unwrap();
            }
            let putter = spawn_waiting_put(&queue, drops.guard()).await;
            let in_progress = queue.get().await.unwrap();
            // The slot freed is promised to the putter, which may or may not have run (on
            // another thread) before the shutdown.
            queue.shutdown(true);
            assert!(queue.empty(), "{flavor}");
            match putter.await.unwrap() {
                Ok(()) => {}                                  // put, then drained: three drained
                Err(QueueShutDown(refused)) => drop(refused), // failed: two drained
            }
            assert_eq!(drops.get(), 3, "{flavor}");
            assert!(queue.get().await.is_err(), "{flavor}");
            assert!(queue.get_nowait().is_err(), "{flavor}");

            // join still waits for the item taken before the shutdown.
            let joiner = corio::spawn({
                let queue = queue.clone();
                async move { queue.join().await }
            });
            for _ in 0..10 {
                yield_now().await;
            }
            assert!(!joiner.is_finished(), "{flavor}");
            drop(in_progress);
            queue.task_done().unwrap();
            joiner.await.unwrap();
            assert_eq!(drops.get(), 4, "{flavor}");
        });
    }
}

#[test]
fn immediate_shutdown_fails_waiting_getters_at_once() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::<u8>::unbounded();
            let getter = spawn_waiting_get(&queue).await;
            queue.shutdown(true);
            assert_eq!(getter.await.unwrap(), Err(QueueShutDown(())), "{flavor}");
        });
    }
}

#[test]
fn waiting_getters_are_served_in_the_order_they_waited() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::unbounded();
            let mut getters = Vec::new();
            for _ in 0..5 {
                getters.push(spawn_waiting_get(&queue).await);
            }
            for (n, getter) in getters.into_iter().enumerate() {
                // Each item is promised to the first getter still waiting.
                queue.put(n).await.unwrap();
                assert_eq!(getter.await.unwrap(), Ok(n), "{flavor}");
            }
        });
    }
}

#[test]
fn waiting_putters_are_let_in_in_the_order_they_waited() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::new(1);
            queue.put(0).await.unwrap();
            let mut putters = Vec::new();
            for n in 1..=5 {
                putters.push(spawn_waiting_put(&queue, n).await);
            }
            for (n, putter) in (0..).zip(putters) {
                assert_eq!(queue.get().await, Ok(n), "{flavor}");
                // The slot freed is promised to the first putter still waiting.
                putter.await.unwrap().unwrap();
            }
            assert_eq!(queue.get().await, Ok(5), "{flavor}");
        });
    }
}

#[test]
fn a_get_dropped_while_an_item_arrives_loses_nothing() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::unbounded();
            // Polled once (now waiting), the item arrives (promised to it), then dropped.
            let mut get = Box::pin(queue.get());
            std::future::poll_fn(|cx| {
                assert!(get.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            queue.put(1).await.unwrap();
            drop(get);
            assert_eq!(queue.get_nowait(), Ok(1), "{flavor}");

            // The same with another getter waiting behind: it gets the item.
            let mut get = Box::pin(queue.get());
            std::future::poll_fn(|cx| {
                assert!(get.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            let next = spawn_waiting_get(&queue).await;
            queue.put(2).await.unwrap();
            drop(get);
            assert_eq!(next.await.unwrap(), Ok(2), "{flavor}");

            // A timed-out get takes nothing.
            assert!(
                timeout(Duration::from_millis(2), queue.get())
                    .await
                    .is_err()
            );
            queue.put(3).await.unwrap();
            assert_eq!(queue.get().await, Ok(3), "{flavor}");
        });
    }
}

#[test]
fn getters_aborted_while_items_arrive_lose_nothing() {
    const ROUNDS: usize = 200;
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::unbounded();
            let got = Arc::new(AtomicUsize::new(0));
            for round in 0..ROUNDS {
                // Two getters and two items; one getter is aborted at some point of the
                // exchange. The other must get an item, and no item may vanish.
                let getters: Vec<_> = (0..2)
                    .map(|_| {
                        let queue = queue.clone();
                        let got = got.clone();
                        corio::spawn(async move {
                            queue.get().await.unwrap();
                            got.fetch_add(1, Ordering::SeqCst);
                        })
                    })
                    .collect();
                if round % 3 == 0 {
                    yield_now().await;
                }
                let producer = corio::spawn({
                    let queue = queue.clone();
                    async move {
                        queue.put_nowait(2 * round).unwrap();
                        queue.put_nowait(2 * round + 1).unwrap();
                    }
                });
                if round % 2 == 0 {
                    yield_now().await;
                }
                getters[round % 2].abort();
                producer.await.unwrap();
                for getter in getters {
                    let _ = getter.await;
                }
            }
            let left = std::iter::from_fn(|| queue.get_nowait().ok()).count();
            assert_eq!(got.load(Ordering::SeqCst) + left, 2 * ROUNDS, "{flavor}");
        });
    }
}

#[test]
fn a_dropped_put_puts_nothing_and_hands_its_slot_on() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::new(1);
            queue.put(0).await.unwrap();
            // Timed out while the queue is full: 1 is not put.
            assert!(
                timeout(Duration::from_millis(2), queue.put(1))
                    .await
                    .is_err()
            );
            assert_eq!(queue.qsize(), 1, "{flavor}");

            // Polled once, a slot is promised to it, then dropped: the next putter gets it.
            let mut put = Box::pin(queue.put(2));
            std::future::poll_fn(|cx| {
                assert!(put.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            let next = spawn_waiting_put(&queue, 3).await;
            assert_eq!(queue.get().await, Ok(0), "{flavor}");
            drop(put);
            next.await.unwrap().unwrap();
            assert_eq!(queue.get().await, Ok(3), "{flavor}");
            assert!(queue.empty(), "{flavor}");
            // Only 0 and 3 were put.
            queue.task_done().unwrap();
            queue.task_done().unwrap();
            assert_eq!(queue.task_done(), Err(TaskDoneError), "{flavor}");
        });
    }
}

#[test]
fn many_producers_and_consumers_exchange_10_000_items_exactly_once() {
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 4;
    const PER_PRODUCER: usize = 2_500;
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::new(16);
            let consumers: Vec<_> = (0..CONSUMERS)
                .map(|_| {
                    let queue = queue.clone();
                    corio::spawn(async move {
                        let mut got = Vec::new();
                        while let Ok(n) = queue.get().await {
                            got.push(n);
                            queue.task_done().unwrap();
                        }
                        got
                    })
                })
                .collect();
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|p| {
                    let queue = queue.clone();
                    corio::spawn(async move {
                        for n in p * PER_PRODUCER..(p + 1) * PER_PRODUCER {
                            // Mix both forms: the non-waiting one falls back on waiting.
                            match queue.put_nowait(n) {
                                Ok(()) => {}
                                Err(PutNowaitError::Full(n)) => queue.put(n).await.unwrap(),
                                Err(err) => panic!("{err}"),
                            }
                        }
                    })
                })
                .collect();
            for producer in producers {
                producer.await.unwrap();
            }
            queue.join().await;
            queue.shutdown(false);
            let mut seen = HashSet::new();
            let mut total = 0;
            for consumer in consumers {
                for n in consumer.await.unwrap() {
                    assert!(seen.insert(n), "{flavor}: {n} received twice");
                    total += 1;
                }
            }
            assert_eq!(total, PRODUCERS * PER_PRODUCER, "{flavor}");
        });
    }
}

#[test]
fn an_always_ready_get_loop_yields_to_other_tasks() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let queue = Queue::unbounded();
            for n in 0..1_000 {
                queue.put_nowait(n).unwrap();
            }
            // Every get is ready at once; the cooperative budget still makes the loop
            // return `Pending` now and then, so its task lets others run.
            let mut drain = std::pin::pin!(async {
                for _ in 0..1_000 {
                    queue.get().await.unwrap();
                }
            });
            let mut polls = 0;
            std::future::poll_fn(|cx| {
                polls += 1;
                drain.as_mut().poll(cx)
            })
            .await;
            assert!(polls > 1, "{flavor}: never yielded");
        });
    }
}
