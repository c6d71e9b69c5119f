//! Semaphore, Mutex, RwLock and Condition on a real runtime (both flavors): FIFO order,
//! large requests not starved, close, add_permits, try_* forms, owned guards across tasks,
//! mutual exclusion, reader sharing and writer priority, producer/consumer, and
//! cancellation of every wait.

mod common;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use common::runtimes;
use corio::sync::{Condition, Mutex, RwLock, Semaphore, TryAcquireError, oneshot};
use corio::task::{JoinHandle, yield_now};
use corio::time::{sleep, timeout};

/// Generous bound for "this must happen"; a hang fails instead of blocking CI.
const PATIENCE: Duration = Duration::from_secs(10);

/// Awaits `fut`, calling `on_wait` the first time it is pending: from then on it is queued,
/// so whatever follows must wake it.
async fn signal_when_waiting<F: Future>(fut: F, on_wait: impl FnOnce()) -> F::Output {
    let mut fut = pin!(fut);
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

/// Spawns `fut` and returns once it waits (or has finished without waiting).
async fn spawn_waiting<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let handle = corio::spawn(signal_when_waiting(fut, move || {
        let _ = tx.send(());
    }));
    let _ = rx.await; // Err if it finished without waiting
    handle
}

/// Polls `fut` once, then drops it: a cancellation after it queued.
async fn poll_once_then_drop<F: Future>(fut: F) -> bool {
    let mut fut = pin!(fut);
    std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_ready())).await
}

/// Yields enough times for every runnable task to have run.
async fn settle() {
    for _ in 0..50 {
        yield_now().await;
    }
    sleep(Duration::from_millis(5)).await;
}

fn shared_log() -> Arc<std::sync::Mutex<Vec<usize>>> {
    Arc::new(std::sync::Mutex::new(Vec::new()))
}

// ---------------------------------------------------------------------------------------
// Semaphore

#[test]
fn semaphore_serves_waiters_in_fifo_order() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(0));
            let order = shared_log();
            let mut tasks = Vec::new();
            for i in 0..8 {
                let (sem, order) = (sem.clone(), order.clone());
                tasks.push(
                    spawn_waiting(async move {
                        let permit = sem.acquire().await.unwrap();
                        order.lock().unwrap().push(i);
                        drop(permit); // hands it to the next in line
                    })
                    .await,
                );
            }
            sem.add_permits(1);
            for task in tasks {
                task.await.unwrap();
            }
            assert_eq!(
                *order.lock().unwrap(),
                (0..8).collect::<Vec<_>>(),
                "{flavor}"
            );
            assert_eq!(sem.available_permits(), 1, "{flavor}");
        });
    }
}

#[test]
fn acquire_many_is_served_before_later_small_requests() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(3));
            let held = sem.clone().acquire_many_owned(2).await.unwrap();
            let order = shared_log();
            let big = {
                let (sem, order) = (sem.clone(), order.clone());
                spawn_waiting(async move {
                    let permits = sem.acquire_many(3).await.unwrap();
                    order.lock().unwrap().push(100);
                    sleep(Duration::from_millis(1)).await;
                    drop(permits);
                })
                .await
            };
            // One permit was free, but the big request took it and waits for two more.
            assert_eq!(sem.available_permits(), 0, "{flavor}");
            let mut small = Vec::new();
            for i in 0..5 {
                let (sem, order) = (sem.clone(), order.clone());
                small.push(
                    spawn_waiting(async move {
                        let _permit = sem.acquire().await.unwrap();
                        order.lock().unwrap().push(i);
                    })
                    .await,
                );
            }
            drop(held);
            big.await.unwrap();
            for task in small {
                task.await.unwrap();
            }
            let order = order.lock().unwrap().clone();
            assert_eq!(order[0], 100, "{flavor}: {order:?}");
            assert_eq!(order.len(), 6, "{flavor}");
            assert_eq!(sem.available_permits(), 3, "{flavor}");
        });
    }
}

#[test]
fn acquire_many_is_not_starved_by_a_stream_of_small_acquirers() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(3));
            let stop = Arc::new(AtomicBool::new(false));
            let loopers: Vec<_> = (0..4)
                .map(|_| {
                    let (sem, stop) = (sem.clone(), stop.clone());
                    corio::spawn(async move {
                        let mut rounds = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            let _permit = sem.acquire().await.unwrap();
                            yield_now().await;
                            rounds += 1;
                        }
                        rounds
                    })
                })
                .collect();
            yield_now().await;
            let all = timeout(PATIENCE, sem.acquire_many(3)).await;
            let all = all.unwrap_or_else(|_| panic!("{flavor}: starved"));
            assert_eq!(all.unwrap().num_permits(), 3);
            stop.store(true, Ordering::Relaxed);
            for looper in loopers {
                looper.await.unwrap();
            }
            assert_eq!(sem.available_permits(), 3, "{flavor}");
        });
    }
}

#[test]
fn close_wakes_every_waiter_with_an_error() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(1));
            let mut waiters = Vec::new();
            for n in 1..=6 {
                waiters.push(spawn_waiting(sem.clone().acquire_many_owned(n)).await);
            }
            // The first asked for one and got it; the rest wait (the second holds nothing).
            sem.close();
            let mut results = Vec::new();
            for waiter in waiters {
                results.push(timeout(PATIENCE, waiter).await.unwrap().unwrap().is_ok());
            }
            assert_eq!(
                results,
                [true, false, false, false, false, false],
                "{flavor}"
            );
            assert!(sem.is_closed());
            assert!(
                sem.acquire().await.is_err(),
                "{flavor}: later acquires fail too"
            );
            assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
            assert_eq!(sem.available_permits(), 1, "{flavor}: the permit came back");
        });
    }
}

#[test]
fn add_permits_wakes_exactly_that_many_waiters() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(0));
            let served = Arc::new(AtomicUsize::new(0));
            let mut waiters = Vec::new();
            for _ in 0..5 {
                let (sem, served) = (sem.clone(), served.clone());
                waiters.push(
                    spawn_waiting(async move {
                        sem.acquire().await.unwrap().forget();
                        served.fetch_add(1, Ordering::SeqCst);
                    })
                    .await,
                );
            }
            sem.add_permits(3);
            settle().await;
            assert_eq!(served.load(Ordering::SeqCst), 3, "{flavor}");
            assert_eq!(sem.available_permits(), 0, "{flavor}");
            sem.add_permits(3);
            for waiter in waiters {
                waiter.await.unwrap();
            }
            assert_eq!(served.load(Ordering::SeqCst), 5, "{flavor}");
            assert_eq!(sem.available_permits(), 1, "{flavor}");
        });
    }
}

#[test]
fn try_acquire_respects_waiters_and_close() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(2));
            let two = sem.try_acquire_many(2).unwrap();
            assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
            assert!(sem.try_acquire_many(0).is_ok(), "{flavor}");
            let waiter = spawn_waiting(sem.clone().acquire_many_owned(2)).await;
            drop(two);
            // The released permits belong to the waiter, not to a try.
            assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
            let permits = waiter.await.unwrap().unwrap();
            assert_eq!(permits.num_permits(), 2);
            drop(permits);
            let owned = sem.clone().try_acquire_owned().unwrap();
            assert_eq!(sem.available_permits(), 1, "{flavor}");
            drop(owned);
            sem.close();
            assert_eq!(
                sem.try_acquire_many(1).unwrap_err(),
                TryAcquireError::Closed
            );
            assert_eq!(
                sem.clone().try_acquire_owned().unwrap_err(),
                TryAcquireError::Closed
            );
        });
    }
}

#[test]
fn owned_permits_move_into_tasks() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(2));
            let inside = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for _ in 0..20 {
                let permit = sem.clone().acquire_owned().await.unwrap();
                let inside = inside.clone();
                tasks.push(corio::spawn(async move {
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    assert!(now <= 2, "{now} holders");
                    sleep(Duration::from_millis(1)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                    drop(permit);
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            assert_eq!(sem.available_permits(), 2, "{flavor}");
        });
    }
}

#[test]
fn semaphore_waits_are_cancellation_safe() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(0));
            // Queued, then dropped while its permit was already handed over: passed on.
            let mut first = Box::pin(sem.acquire());
            assert!(!poll_once_then_drop(first.as_mut()).await);
            let second = spawn_waiting(sem.clone().acquire_owned()).await;
            sem.add_permits(1);
            drop(first);
            let permit = timeout(PATIENCE, second).await.unwrap().unwrap().unwrap();
            drop(permit);
            assert_eq!(sem.available_permits(), 1, "{flavor}");

            // A timed-out acquire_many at the head gives back what it collected.
            let held = sem.try_acquire().unwrap();
            let small = spawn_waiting(sem.clone().acquire_owned()).await;
            let big = timeout(Duration::from_millis(20), sem.acquire_many(2));
            // `small` queued first; `big` queues behind it and times out.
            assert!(big.await.is_err(), "{flavor}");
            drop(held);
            drop(timeout(PATIENCE, small).await.unwrap().unwrap().unwrap());
            assert_eq!(sem.available_permits(), 1, "{flavor}");

            // Head collecting permits, then cancelled: the next waiter gets them.
            let held = sem.try_acquire().unwrap();
            let mut big = Box::pin(sem.acquire_many(3));
            assert!(!poll_once_then_drop(big.as_mut()).await);
            let next = spawn_waiting(sem.clone().acquire_many_owned(1)).await;
            drop(held); // goes to `big`, which is still at the head
            assert_eq!(sem.available_permits(), 0);
            drop(big);
            let next = timeout(PATIENCE, next).await.unwrap().unwrap().unwrap();
            drop(next);
            assert_eq!(sem.available_permits(), 1, "{flavor}: nothing lost");
        });
    }
}

// ---------------------------------------------------------------------------------------
// Mutex

#[test]
fn mutex_excludes_across_yields() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let counter = Arc::new(Mutex::new(0u64));
            let tasks: Vec<_> = (0..100)
                .map(|_| {
                    let counter = counter.clone();
                    corio::spawn(async move {
                        for _ in 0..100 {
                            let mut guard = counter.lock().await;
                            let read = *guard;
                            yield_now().await; // others run, but cannot get in
                            *guard = read + 1;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            assert_eq!(*counter.lock().await, 10_000, "{flavor}");
        });
    }
}

#[test]
fn mutex_is_fair() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mutex = Arc::new(Mutex::new(Vec::new()));
            let guard = mutex.lock().await;
            let mut tasks = Vec::new();
            for i in 0..6 {
                let mutex = mutex.clone();
                tasks.push(spawn_waiting(async move { mutex.lock().await.push(i) }).await);
            }
            assert!(mutex.try_lock().is_err(), "{flavor}");
            drop(guard);
            for task in tasks {
                task.await.unwrap();
            }
            assert_eq!(*mutex.lock().await, [0, 1, 2, 3, 4, 5], "{flavor}");
        });
    }
}

#[test]
fn owned_mutex_guard_moves_into_a_task() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mutex = Arc::new(Mutex::new(String::new()));
            let mut guard = mutex.clone().lock_owned().await;
            let waiter = {
                let mutex = mutex.clone();
                spawn_waiting(async move { mutex.lock().await.clone() }).await
            };
            let writer = corio::spawn(async move {
                sleep(Duration::from_millis(2)).await;
                guard.push_str("written under the lock");
            });
            writer.await.unwrap();
            assert_eq!(waiter.await.unwrap(), "written under the lock", "{flavor}");
            assert!(mutex.clone().try_lock_owned().is_ok());
        });
    }
}

#[test]
fn mutex_lock_is_cancellation_safe() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mutex = Arc::new(Mutex::new(0));
            // Dropped after one poll, with the unlock in between: passed on.
            let guard = mutex.lock().await;
            let mut first = Box::pin(mutex.lock());
            assert!(!poll_once_then_drop(first.as_mut()).await);
            let second = {
                let mutex = mutex.clone();
                spawn_waiting(async move { *mutex.lock().await += 1 }).await
            };
            drop(guard); // hands the lock to `first`, which never looks again
            drop(first);
            timeout(PATIENCE, second).await.unwrap().unwrap();

            // Under a timeout.
            let guard = mutex.lock().await;
            assert!(
                timeout(Duration::from_millis(10), mutex.lock())
                    .await
                    .is_err()
            );
            let third = {
                let mutex = mutex.clone();
                spawn_waiting(async move { *mutex.lock().await += 1 }).await
            };
            drop(guard);
            timeout(PATIENCE, third).await.unwrap().unwrap();
            assert_eq!(*mutex.try_lock().unwrap(), 2, "{flavor}");
        });
    }
}

// ---------------------------------------------------------------------------------------
// RwLock

#[test]
fn rwlock_readers_share() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let lock = Arc::new(RwLock::new(7));
            let inside = Arc::new(AtomicUsize::new(0));
            let readers: Vec<_> = (0..5)
                .map(|_| {
                    let (lock, inside) = (lock.clone(), inside.clone());
                    corio::spawn(async move {
                        let guard = lock.read().await;
                        inside.fetch_add(1, Ordering::SeqCst);
                        // Only finishes once all five hold the lock at once.
                        while inside.load(Ordering::SeqCst) < 5 {
                            yield_now().await;
                        }
                        *guard
                    })
                })
                .collect();
            for reader in readers {
                assert_eq!(
                    timeout(PATIENCE, reader).await.unwrap().unwrap(),
                    7,
                    "{flavor}"
                );
            }
        });
    }
}

#[test]
fn rwlock_writer_excludes() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // Two fields a writer changes together; readers must never see them differ.
            let lock = Arc::new(RwLock::new((0u64, 0u64)));
            let writers: Vec<_> = (0..4)
                .map(|_| {
                    let lock = lock.clone();
                    corio::spawn(async move {
                        for _ in 0..50 {
                            let mut pair = lock.write().await;
                            pair.0 += 1;
                            yield_now().await;
                            pair.1 += 1;
                        }
                    })
                })
                .collect();
            let readers: Vec<_> = (0..4)
                .map(|_| {
                    let lock = lock.clone();
                    corio::spawn(async move {
                        for _ in 0..50 {
                            let pair = lock.read().await;
                            assert_eq!(pair.0, pair.1);
                            yield_now().await;
                            assert_eq!(pair.0, pair.1);
                        }
                    })
                })
                .collect();
            for task in writers.into_iter().chain(readers) {
                task.await.unwrap();
            }
            assert_eq!(*lock.read().await, (200, 200), "{flavor}");
        });
    }
}

#[test]
fn rwlock_writer_is_not_starved_by_readers() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let lock = Arc::new(RwLock::new(0u32));
            let stop = Arc::new(AtomicBool::new(false));
            let readers: Vec<_> = (0..4)
                .map(|_| {
                    let (lock, stop) = (lock.clone(), stop.clone());
                    corio::spawn(async move {
                        // Overlapping readers: the lock is never free of readers.
                        while !stop.load(Ordering::Relaxed) {
                            let _guard = lock.read().await;
                            yield_now().await;
                        }
                    })
                })
                .collect();
            yield_now().await;
            let mut guard = timeout(PATIENCE, lock.write())
                .await
                .unwrap_or_else(|_| panic!("{flavor}: writer starved"));
            *guard += 1;
            drop(guard);
            stop.store(true, Ordering::Relaxed);
            for reader in readers {
                reader.await.unwrap();
            }
            assert_eq!(*lock.read().await, 1);
        });
    }
}

#[test]
fn rwlock_readers_after_a_waiting_writer_wait_for_it() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let lock = Arc::new(RwLock::new(Vec::new()));
            let reader = lock.clone().read_owned().await;
            let writer = {
                let lock = lock.clone();
                spawn_waiting(async move { lock.write().await.push("writer") }).await
            };
            assert!(lock.try_read().is_err(), "{flavor}: a writer waits");
            let late_reader = {
                let lock = lock.clone();
                spawn_waiting(async move { lock.read().await.clone() }).await
            };
            drop(reader);
            writer.await.unwrap();
            assert_eq!(late_reader.await.unwrap(), ["writer"], "{flavor}");
            let w = lock.clone().try_write_owned().unwrap();
            drop(w);
        });
    }
}

#[test]
fn rwlock_waits_are_cancellation_safe() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let lock = Arc::new(RwLock::with_max_readers(0, 4));
            // A writer collecting reader slots, cancelled: the slots go to the next.
            let r1 = lock.read().await;
            let r2 = lock.read().await;
            let mut writer = Box::pin(lock.write());
            assert!(!poll_once_then_drop(writer.as_mut()).await);
            let reader = {
                let lock = lock.clone();
                spawn_waiting(async move { *lock.read().await }).await
            };
            drop(r1);
            drop(writer);
            assert_eq!(timeout(PATIENCE, reader).await.unwrap().unwrap(), 0);
            drop(r2);
            // A timed-out write.
            let r = lock.read().await;
            assert!(
                timeout(Duration::from_millis(10), lock.write())
                    .await
                    .is_err()
            );
            drop(r);
            let mut w = timeout(PATIENCE, lock.write()).await.unwrap();
            *w = 1;
            drop(w);
            assert_eq!(*lock.try_read().unwrap(), 1, "{flavor}");
        });
    }
}

// ---------------------------------------------------------------------------------------
// Condition

#[test]
fn condition_producer_consumer() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            struct Shared {
                items: Mutex<(VecDeque<u64>, usize)>, // queue, producers still running
                changed: Condition,
            }
            let shared = Arc::new(Shared {
                items: Mutex::new((VecDeque::new(), 2)),
                changed: Condition::new(),
            });
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    let shared = shared.clone();
                    corio::spawn(async move {
                        let mut sum = 0;
                        loop {
                            let guard = shared.items.lock().await;
                            let mut guard = shared
                                .changed
                                .wait_for(guard, |(queue, producers)| {
                                    !queue.is_empty() || *producers == 0
                                })
                                .await;
                            match guard.0.pop_front() {
                                Some(item) => sum += item,
                                None => return sum, // empty and no producer left
                            }
                        }
                    })
                })
                .collect();
            let producers: Vec<_> = (0..2)
                .map(|p| {
                    let shared = shared.clone();
                    corio::spawn(async move {
                        for n in 1..=100 {
                            shared.items.lock().await.0.push_back(p * 1000 + n);
                            shared.changed.notify_one();
                            if n % 7 == 0 {
                                yield_now().await;
                            }
                        }
                        shared.items.lock().await.1 -= 1;
                        shared.changed.notify_all();
                    })
                })
                .collect();
            for producer in producers {
                producer.await.unwrap();
            }
            let mut total = 0;
            for consumer in consumers {
                total += timeout(PATIENCE, consumer).await.unwrap().unwrap();
            }
            assert_eq!(total, 2 * 5050 + 100 * 1000, "{flavor}");
        });
    }
}

#[test]
fn condition_notify_wakes_the_requested_number() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let state = Arc::new((Mutex::new(0usize), Condition::new()));
            let woken = Arc::new(AtomicUsize::new(0));
            let mut waiters = Vec::new();
            for _ in 0..5 {
                let (state, woken) = (state.clone(), woken.clone());
                waiters.push(
                    spawn_waiting(async move {
                        let (count, changed) = &*state;
                        let guard = count.lock().await;
                        drop(changed.wait(guard).await);
                        woken.fetch_add(1, Ordering::SeqCst);
                    })
                    .await,
                );
            }
            // Not remembered: nobody new is waiting after this.
            let (_, changed) = &*state;
            changed.notify(2);
            settle().await;
            assert_eq!(woken.load(Ordering::SeqCst), 2, "{flavor}");
            changed.notify_all();
            for waiter in waiters {
                timeout(PATIENCE, waiter).await.unwrap().unwrap();
            }
            assert_eq!(woken.load(Ordering::SeqCst), 5, "{flavor}");
        });
    }
}

#[test]
fn condition_wait_is_cancellation_safe() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let state = Arc::new((Mutex::new(false), Condition::new()));
            let (flag, changed) = &*state;
            // A wait that timed out leaves the lock free and does not eat a notification.
            let guard = flag.lock().await;
            assert!(
                timeout(Duration::from_millis(10), changed.wait(guard))
                    .await
                    .is_err()
            );
            assert!(flag.try_lock().is_ok(), "{flavor}: unlocked");

            // A notified waiter cancelled before it relocked passes it on.
            let first = {
                let state = state.clone();
                spawn_waiting(async move {
                    let (flag, changed) = &*state;
                    drop(changed.wait(flag.lock().await).await);
                })
                .await
            };
            let second = {
                let state = state.clone();
                spawn_waiting(async move {
                    let (flag, changed) = &*state;
                    *changed.wait_for(flag.lock().await, |set| *set).await
                })
                .await
            };
            let mut holder = flag.lock().await;
            changed.notify_one(); // to `first`, which then waits for the lock
            settle().await;
            *holder = true;
            first.abort(); // no new notification: `first` passes its own on
            let _ = first.await;
            drop(holder);
            assert!(
                timeout(PATIENCE, second).await.unwrap().unwrap(),
                "{flavor}"
            );
        });
    }
}

// ---------------------------------------------------------------------------------------
// Blocking forms, for synchronous code

#[test]
fn blocking_forms_work_from_spawn_blocking() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mutex = Arc::new(Mutex::new(0));
            let lock = Arc::new(RwLock::new(0));
            let guard = mutex.lock().await;
            let worker = {
                let (mutex, lock) = (mutex.clone(), lock.clone());
                corio::spawn_blocking(move || {
                    *mutex.blocking_lock() += 1; // waits for the task to unlock
                    *lock.blocking_write() += 1;
                    *lock.blocking_read()
                })
            };
            sleep(Duration::from_millis(5)).await;
            drop(guard);
            assert_eq!(
                timeout(PATIENCE, worker).await.unwrap().unwrap(),
                1,
                "{flavor}"
            );
            assert_eq!(*mutex.lock().await, 1, "{flavor}");
        });
    }
}

#[test]
fn blocking_lock_inside_a_runtime_panics() {
    for (flavor, rt) in runtimes() {
        let mutex = Mutex::new(());
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { drop(mutex.blocking_lock()) })
        }));
        assert!(caught.is_err(), "{flavor}");
    }
}

#[test]
fn wait_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let sem = Arc::new(Semaphore::new(1));
    let mutex = Arc::new(Mutex::new(0));
    let lock = Arc::new(RwLock::new(0));
    let condition = Condition::new();
    assert_send(&sem.acquire());
    assert_send(&sem.acquire_many(2));
    assert_send(&sem.clone().acquire_owned());
    assert_send(&mutex.lock());
    assert_send(&mutex.clone().lock_owned());
    assert_send(&lock.read());
    assert_send(&lock.write());
    assert_send(&lock.clone().read_owned());
    assert_send(&lock.clone().write_owned());
    let guard = mutex.try_lock().unwrap();
    let wait = condition.wait_for(guard, |n| *n > 0);
    assert_send(&wait);
    drop(wait);
    let owned = mutex.clone().try_lock_owned().unwrap();
    assert_send(&condition.wait_owned(owned));
}
