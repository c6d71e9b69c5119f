//! The mpsc channels on a real runtime: ordering, exactly-once delivery, backpressure,
//! closing, cancellation, wake-ups across tasks and OS threads, and value release.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{DropCount, runtimes};
use corio::sync::mpsc::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use corio::sync::mpsc::{self, Receiver, UnboundedReceiver};
use corio::sync::oneshot;
use corio::time::{sleep, timeout};

/// Sends on `tx`, calling `on_wait` the first time the send is pending: from then on the
/// send waits in line, so the test can order what happens next without sleeping.
async fn send_then_signal<T>(
    tx: &mpsc::Sender<T>,
    value: T,
    on_wait: oneshot::Sender<()>,
) -> Result<(), SendError<T>> {
    let mut send = std::pin::pin!(tx.send(value));
    let mut on_wait = Some(on_wait);
    std::future::poll_fn(|cx| {
        let poll = send.as_mut().poll(cx);
        if poll.is_pending()
            && let Some(on_wait) = on_wait.take()
        {
            let _ = on_wait.send(());
        }
        poll
    })
    .await
}

/// Spawns a task sending `value` on a clone of `tx`; returns once that send waits in line.
async fn spawn_waiting_send<T: Send + 'static>(
    tx: &mpsc::Sender<T>,
    value: T,
) -> corio::task::JoinHandle<Result<(), SendError<T>>> {
    let (waiting_tx, waiting) = oneshot::channel();
    let tx = tx.clone();
    let handle = corio::spawn(async move { send_then_signal(&tx, value, waiting_tx).await });
    waiting.await.expect("the send waits: the channel is full");
    handle
}

/// Everything `rx` receives until the channel closes.
async fn drain<T>(mut rx: Receiver<T>) -> Vec<T> {
    let mut got = Vec::new();
    while let Some(value) = rx.recv().await {
        got.push(value);
    }
    got
}

async fn drain_unbounded<T>(mut rx: UnboundedReceiver<T>) -> Vec<T> {
    let mut got = Vec::new();
    while let Some(value) = rx.recv().await {
        got.push(value);
    }
    got
}

/// Asserts each sender's values arrived in order and all of them arrived once.
fn assert_per_sender_order(got: &[(usize, usize)], senders: usize, per_sender: usize) {
    let mut next = vec![0; senders];
    for &(id, seq) in got {
        assert_eq!(seq, next[id], "sender {id} out of order");
        next[id] += 1;
    }
    assert_eq!(next, vec![per_sender; senders]);
}

#[test]
fn values_from_each_sender_arrive_in_order() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, rx) = mpsc::channel(4);
            for id in 0..4 {
                let tx = tx.clone();
                corio::spawn(async move {
                    for seq in 0..500 {
                        tx.send((id, seq)).await.unwrap();
                    }
                });
            }
            drop(tx);
            let got = drain(rx).await;
            assert_per_sender_order(&got, 4, 500);

            let (tx, rx) = mpsc::unbounded_channel();
            for id in 0..4 {
                let tx = tx.clone();
                corio::spawn(async move {
                    for seq in 0..500 {
                        tx.send((id, seq)).unwrap();
                        if seq % 50 == 0 {
                            corio::task::yield_now().await;
                        }
                    }
                });
            }
            drop(tx);
            let got = drain_unbounded(rx).await;
            assert_per_sender_order(&got, 4, 500);
            eprintln!("{flavor}: ok");
        });
    }
}

#[test]
fn many_senders_many_values_each_received_exactly_once() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let senders = 16;
            let per_sender = 2_000;
            for capacity in [1, 7, 64, 1024] {
                let (tx, rx) = mpsc::channel(capacity);
                let handles: Vec<_> = (0..senders)
                    .map(|id| {
                        let tx = tx.clone();
                        corio::spawn(async move {
                            for seq in 0..per_sender {
                                tx.send(id * per_sender + seq).await.unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let got = drain(rx).await;
                assert_eq!(
                    got.len(),
                    senders * per_sender,
                    "{flavor} capacity {capacity}"
                );
                let unique: HashSet<_> = got.into_iter().collect();
                assert_eq!(unique.len(), senders * per_sender, "{flavor}: duplicates");
                for handle in handles {
                    handle.await.unwrap();
                }
            }
        });
    }
}

#[test]
fn bounded_send_waits_at_capacity_and_resumes_after_a_receive() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(2);
            let sent = Arc::new(AtomicUsize::new(0));
            let producer = {
                let sent = sent.clone();
                corio::spawn(async move {
                    for n in 0..5 {
                        tx.send(n).await.unwrap();
                        sent.fetch_add(1, Ordering::SeqCst);
                    }
                })
            };
            wait_until(|| sent.load(Ordering::SeqCst) == 2).await;
            sleep(Duration::from_millis(10)).await;
            assert_eq!(
                sent.load(Ordering::SeqCst),
                2,
                "{flavor}: blocked at capacity"
            );
            assert_eq!(rx.recv().await, Some(0));
            wait_until(|| sent.load(Ordering::SeqCst) == 3).await;
            sleep(Duration::from_millis(10)).await;
            assert_eq!(
                sent.load(Ordering::SeqCst),
                3,
                "{flavor}: one slot freed, one send"
            );
            for n in 1..5 {
                assert_eq!(rx.recv().await, Some(n));
            }
            producer.await.unwrap();
            assert_eq!(rx.recv().await, None);
        });
    }
}

/// Yields until `condition` holds.
async fn wait_until(condition: impl Fn() -> bool) {
    while !condition() {
        corio::task::yield_now().await;
    }
}

#[test]
fn waiting_senders_get_capacity_in_the_order_they_waited() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            tx.send(usize::MAX).await.unwrap();
            let mut sends = Vec::new();
            for id in 0..5 {
                // Each send is in line before the next one starts.
                sends.push(spawn_waiting_send(&tx, id).await);
            }
            drop(tx);
            let got = drain_all(&mut rx).await;
            assert_eq!(got, [usize::MAX, 0, 1, 2, 3, 4], "{flavor}");
            for send in sends {
                send.await.unwrap().unwrap();
            }
        });
    }
}

async fn drain_all<T>(rx: &mut Receiver<T>) -> Vec<T> {
    let mut got = Vec::new();
    while let Some(value) = rx.recv().await {
        got.push(value);
    }
    got
}

#[test]
fn try_send_reports_full_and_closed() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            assert_eq!(tx.try_send(1), Ok(()));
            assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)), "{flavor}");
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(tx.try_send(3), Ok(()));
            drop(rx);
            assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)), "{flavor}");
            assert_eq!(tx.send(5).await, Err(SendError(5)));
            assert!(tx.is_closed());
        });
    }
}

#[test]
fn reserved_capacity_comes_back_when_the_permit_is_dropped() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(2);
            assert_eq!(tx.max_capacity(), 2);
            let first = tx.reserve().await.unwrap();
            let second = tx.reserve().await.unwrap();
            assert_eq!(tx.capacity(), 0, "{flavor}");
            assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
            drop(first);
            assert_eq!(tx.capacity(), 1, "{flavor}");
            second.send("kept");
            let owned = tx.clone().reserve_owned().await.unwrap();
            assert_eq!(tx.capacity(), 0);
            let back = owned.release();
            assert!(back.same_channel(&tx));
            assert_eq!(tx.capacity(), 1);
            assert_eq!(rx.recv().await, Some("kept"));
            assert_eq!(rx.capacity(), 2);
        });
    }
}

#[test]
fn recv_returns_none_after_all_senders_drop_and_the_queue_drains() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(8);
            let tx2 = tx.clone();
            tx.send(1).await.unwrap();
            tx2.send(2).await.unwrap();
            drop(tx);
            assert!(!rx.is_closed(), "{flavor}: a sender is left");
            drop(tx2);
            assert!(rx.is_closed());
            assert_eq!(rx.len(), 2);
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, Some(2));
            assert_eq!(rx.recv().await, None);
            assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));

            // A receiver already waiting is woken by the last drop.
            let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
            let waiter = corio::spawn(async move { rx.recv().await });
            sleep(Duration::from_millis(10)).await;
            drop(tx);
            assert_eq!(waiter.await.unwrap(), None, "{flavor}");
        });
    }
}

#[test]
fn receiver_close_fails_sends_and_keeps_queued_values() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(4);
            tx.send(1).await.unwrap();
            tx.send(2).await.unwrap();
            let watcher = {
                let tx = tx.clone();
                corio::spawn(async move { tx.closed().await })
            };
            let permit = tx.reserve().await.unwrap();
            rx.close();
            watcher.await.unwrap();
            assert!(tx.is_closed(), "{flavor}");
            assert_eq!(tx.send(3).await, Err(SendError(3)));
            assert!(matches!(tx.try_send(4), Err(TrySendError::Closed(4))));
            // A permit taken before the close still sends, as in tokio.
            permit.send(5);
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, Some(2));
            assert_eq!(rx.recv().await, Some(5));
            assert_eq!(rx.recv().await, None, "{flavor}");

            let (tx, mut rx) = mpsc::unbounded_channel();
            tx.send(1).unwrap();
            rx.close();
            assert_eq!(tx.send(2), Err(SendError(2)));
            tx.closed().await;
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, None);
        });
    }
}

#[test]
fn recv_many_waits_for_the_first_and_takes_up_to_the_limit() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(16);
            let sender = corio::spawn(async move {
                sleep(Duration::from_millis(10)).await;
                for n in 0..10 {
                    tx.send(n).await.unwrap();
                }
            });
            let mut buffer = Vec::new();
            let first = rx.recv_many(&mut buffer, 4).await;
            assert!((1..=4).contains(&first), "{flavor}: {first}");
            sender.await.unwrap();
            while rx.recv_many(&mut buffer, 4).await > 0 {}
            assert_eq!(buffer, (0..10).collect::<Vec<_>>(), "{flavor}");
            assert_eq!(rx.recv_many(&mut buffer, 0).await, 0);
        });
    }
}

#[test]
fn a_cancelled_send_loses_no_capacity_and_no_sent_value() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let drops = DropCount::default();
            let (tx, mut rx) = mpsc::channel(1);
            tx.send(drops.guard()).await.unwrap();
            // Full: the send waits, then times out; its value goes with the future.
            let timed_out = timeout(Duration::from_millis(10), tx.send(drops.guard())).await;
            assert!(timed_out.is_err(), "{flavor}");
            assert_eq!(drops.get(), 1, "the unsent value was dropped, once");
            drop(rx.recv().await.unwrap());
            assert_eq!(tx.capacity(), 1, "{flavor}: no capacity lost");
            tx.send(drops.guard()).await.unwrap();
            assert_eq!(rx.len(), 1);

            // send_timeout hands the value back instead.
            match tx
                .send_timeout(drops.guard(), Duration::from_millis(5))
                .await
            {
                Err(SendTimeoutError::Timeout(value)) => drop(value),
                other => panic!("{flavor}: {:?}", other.map_err(|e| e.to_string())),
            }
            drop(rx.recv().await.unwrap());
            assert_eq!(drops.get(), 4);
        });
    }
}

#[test]
fn a_grant_to_a_dropped_send_passes_to_the_next_sender() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            tx.send(0).await.unwrap();
            // Queue two sends, then drop the first while the receive below hands it
            // capacity.
            let doomed = spawn_waiting_send(&tx, 1).await;
            let next = spawn_waiting_send(&tx, 2).await;
            doomed.abort();
            assert_eq!(rx.recv().await, Some(0));
            next.await.unwrap().unwrap();
            let mut rest = Vec::new();
            while let Ok(value) = rx.try_recv() {
                rest.push(value);
            }
            assert_eq!(rest, [2], "{flavor}: the aborted send sent nothing");
            assert_eq!(tx.capacity(), 1, "{flavor}: capacity intact");
        });
    }
}

#[test]
fn a_cancelled_recv_takes_no_value() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::unbounded_channel();
            assert!(timeout(Duration::from_millis(5), rx.recv()).await.is_err());
            tx.send(7).unwrap();
            assert_eq!(rx.recv().await, Some(7), "{flavor}");
        });
    }
}

#[test]
fn unreceived_values_are_dropped_once_everyone_is_gone() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let drops = DropCount::default();
            let (tx, mut rx) = mpsc::channel(128);
            for _ in 0..100 {
                tx.send(drops.guard()).await.unwrap();
            }
            drop(rx.recv().await);
            assert_eq!(drops.get(), 1, "{flavor}");
            let tx2 = tx.clone();
            drop(tx);
            drop(rx);
            assert_eq!(drops.get(), 100, "{flavor}: dropped with the receiver");
            drop(tx2);

            let (tx, rx) = mpsc::unbounded_channel();
            for _ in 0..100 {
                tx.send(drops.guard()).unwrap();
            }
            drop(tx);
            assert_eq!(drops.get(), 100, "the receiver may still read them");
            drop(rx);
            assert_eq!(drops.get(), 200, "{flavor}");
        });
    }
}

#[test]
fn a_waiting_sender_is_woken_by_a_receiver_on_another_os_thread() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            tx.send(0).await.unwrap();
            let receiver = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                let mut got = Vec::new();
                while got.len() < 3 {
                    match rx.try_recv() {
                        Ok(value) => got.push(value),
                        Err(TryRecvError::Empty) => std::thread::yield_now(),
                        Err(TryRecvError::Disconnected) => break,
                    }
                }
                got
            });
            tx.send(1).await.unwrap(); // waits for the thread's first receive
            tx.send(2).await.unwrap();
            assert_eq!(receiver.join().unwrap(), [0, 1, 2], "{flavor}");
        });
    }
}

#[test]
fn a_waiting_receiver_is_woken_by_a_sender_on_another_os_thread() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let sender = std::thread::spawn(move || {
                for n in 0..1_000 {
                    tx.send(n).unwrap();
                    if n % 100 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            });
            let mut expected = 0;
            while let Some(n) = rx.recv().await {
                assert_eq!(n, expected, "{flavor}");
                expected += 1;
            }
            assert_eq!(expected, 1_000);
            sender.join().unwrap();
        });
    }
}

#[test]
fn weak_senders_upgrade_only_while_the_channel_is_open() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(4);
            let weak = tx.downgrade();
            assert_eq!(rx.sender_weak_count(), 1);
            weak.upgrade().unwrap().send(1).await.unwrap();
            drop(tx);
            assert!(weak.upgrade().is_none(), "{flavor}");
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, None);
        });
    }
}

#[test]
fn an_always_ready_receiver_still_lets_other_tasks_run() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::unbounded_channel();
            for n in 0..10_000 {
                tx.send(n).unwrap();
            }
            let ran = Arc::new(AtomicBool::new(false));
            {
                let ran = ran.clone();
                corio::spawn(async move { ran.store(true, Ordering::SeqCst) });
            }
            let mut received = 0;
            let mut forced_yields = 0;
            let mut ran_before_the_end = false;
            while received < 10_000 {
                // Count the polls where a value was queued, yet the receive said "later".
                let mut recv = std::pin::pin!(rx.recv());
                let value = std::future::poll_fn(|cx| {
                    let poll = recv.as_mut().poll(cx);
                    if poll.is_pending() {
                        forced_yields += 1;
                    }
                    poll
                })
                .await;
                assert_eq!(value, Some(received), "{flavor}");
                received += 1;
                ran_before_the_end |= ran.load(Ordering::SeqCst);
            }
            assert!(
                forced_yields >= 10_000 / 128 - 1,
                "{flavor}: {forced_yields} yields"
            );
            if flavor == "current_thread" {
                // The only thread: the other task ran because the receiver yielded.
                assert!(
                    ran_before_the_end,
                    "{flavor}: the budget let the other task run"
                );
            }
        });
    }
}

#[test]
fn plain_threads_use_the_blocking_methods() {
    for (flavor, rt) in runtimes() {
        let (tx, mut rx) = mpsc::channel(2);
        let (reply_tx, mut reply_rx) = mpsc::unbounded_channel();
        let worker = std::thread::spawn(move || {
            let mut batch = Vec::new();
            while rx.blocking_recv_many(&mut batch, 8) > 0 {
                for n in batch.drain(..) {
                    reply_tx.send(n * 10).unwrap();
                }
            }
        });
        rt.block_on(async {
            for n in 0..20 {
                tx.send(n).await.unwrap();
            }
            drop(tx);
            for n in 0..20 {
                assert_eq!(reply_rx.recv().await, Some(n * 10), "{flavor}");
            }
        });
        worker.join().unwrap();
        assert_eq!(reply_rx.blocking_recv(), None);

        let (tx, mut rx) = mpsc::channel(1);
        let producer = std::thread::spawn(move || {
            for n in 0..5 {
                tx.blocking_send(n).unwrap();
            }
        });
        rt.block_on(async {
            for n in 0..5 {
                assert_eq!(rx.recv().await, Some(n), "{flavor}");
            }
        });
        producer.join().unwrap();
    }
}

#[test]
fn blocking_methods_refuse_to_block_a_runtime_thread() {
    for (flavor, rt) in runtimes() {
        let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
        let panicked = rt.block_on(async move {
            corio::spawn(async move { rx.blocking_recv() })
                .await
                .is_err()
        });
        assert!(panicked, "{flavor}");
        drop(tx);
    }
}
