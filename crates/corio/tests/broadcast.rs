//! The broadcast channel on a real runtime: delivery to every receiver in order, lag, close,
//! wake-ups across tasks and threads, cancellation, many receivers, and value release.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use common::{DropCount, runtimes};
use corio::sync::broadcast::{self, Receiver, RecvError, SendError, TryRecvError};
use corio::sync::oneshot;
use corio::time::timeout;

/// Receives from `rx`, calling `on_wait` the first time the receive is pending: from then
/// on the task is registered to be woken, so a send that follows must wake it.
async fn recv_then_signal<T: Clone>(
    rx: &mut Receiver<T>,
    on_wait: impl FnOnce(),
) -> Result<T, RecvError> {
    let mut fut = std::pin::pin!(rx.recv());
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

/// Everything `rx` receives until the channel closes; panics on lag.
async fn collect<T: Clone + std::fmt::Debug>(mut rx: Receiver<T>) -> Vec<T> {
    let mut got = Vec::new();
    loop {
        match rx.recv().await {
            Ok(value) => got.push(value),
            Err(RecvError::Closed) => return got,
            Err(RecvError::Lagged(n)) => panic!("lagged by {n} after {got:?}"),
        }
    }
}

#[test]
fn every_receiver_gets_every_value_in_order() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, rx) = broadcast::channel(128);
            let mut receivers: Vec<_> = (0..3)
                .map(|_| corio::spawn(collect(rx.resubscribe())))
                .collect();
            receivers.push(corio::spawn(collect(rx)));
            for n in 0..100u32 {
                assert_eq!(tx.send(n), Ok(4), "{flavor}");
                if n % 10 == 0 {
                    corio::task::yield_now().await;
                }
            }
            drop(tx);
            for receiver in receivers {
                let got = receiver.await.unwrap();
                assert_eq!(got, (0..100).collect::<Vec<_>>(), "{flavor}");
            }
        });
    }
}

#[test]
fn lagging_receiver_gets_the_exact_count_then_the_oldest_retained() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            for capacity in [1, 4, 5, 16] {
                let (tx, mut slow) = broadcast::channel(capacity);
                let mut fast = tx.subscribe();
                let sent = 3 * capacity as u64 + 2;
                for n in 0..sent {
                    tx.send(n).unwrap();
                    assert_eq!(fast.recv().await, Ok(n));
                }
                let missed = sent - capacity as u64;
                assert_eq!(slow.len() as u64, sent, "{flavor}");
                assert_eq!(
                    slow.recv().await,
                    Err(RecvError::Lagged(missed)),
                    "{flavor}"
                );
                for n in missed..sent {
                    assert_eq!(slow.recv().await, Ok(n), "{flavor}: capacity {capacity}");
                }
                assert_eq!(slow.try_recv(), Err(TryRecvError::Empty), "{flavor}");

                // Lagging again later reports only what was missed since.
                for n in sent..sent + capacity as u64 + 1 {
                    tx.send(n).unwrap();
                }
                assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(1)), "{flavor}");
                assert_eq!(slow.try_recv(), Ok(sent + 1), "{flavor}");
            }
        });
    }
}

#[test]
fn closed_once_every_sender_is_gone_and_the_buffer_drained() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = broadcast::channel(8);
            let tx2 = tx.clone();
            tx.send("a").unwrap();
            tx2.send("b").unwrap();
            drop(tx);
            assert!(!rx.is_closed(), "{flavor}: one sender left");
            drop(tx2);
            assert!(rx.is_closed(), "{flavor}");
            assert_eq!(rx.recv().await, Ok("a"), "{flavor}");
            assert_eq!(rx.recv().await, Ok("b"), "{flavor}");
            assert_eq!(rx.recv().await, Err(RecvError::Closed), "{flavor}");
            assert_eq!(
                rx.recv().await,
                Err(RecvError::Closed),
                "{flavor}: stays closed"
            );
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed), "{flavor}");

            // A waiting receiver is woken by the last sender's drop in another task.
            let (tx, mut rx) = broadcast::channel::<u8>(8);
            let (waiting_tx, waiting_rx) = oneshot::channel();
            let receiver = corio::spawn(async move {
                recv_then_signal(&mut rx, move || {
                    let _ = waiting_tx.send(());
                })
                .await
            });
            waiting_rx.await.unwrap();
            corio::spawn(async move { drop(tx) }).await.unwrap();
            assert_eq!(receiver.await.unwrap(), Err(RecvError::Closed), "{flavor}");
        });
    }
}

#[test]
fn send_without_receivers_returns_the_value() {
    let (tx, rx) = broadcast::channel(4);
    drop(rx);
    assert_eq!(tx.receiver_count(), 0);
    let SendError(back) = tx.send(vec![1, 2, 3]).unwrap_err();
    assert_eq!(back, [1, 2, 3]);
    assert!(tx.is_empty());

    // A new subscriber makes sends succeed again; it sees none of the failed ones.
    let mut rx = tx.subscribe();
    assert_eq!(tx.send(vec![4]), Ok(1));
    assert_eq!(rx.try_recv(), Ok(vec![4]));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn subscribers_see_only_values_sent_after_subscribing() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut first) = broadcast::channel(8);
            tx.send(1).unwrap();
            tx.send(2).unwrap();
            let mut sub = tx.subscribe();
            let mut resub = first.resubscribe();
            assert!(sub.is_empty() && resub.is_empty(), "{flavor}");
            tx.send(3).unwrap();
            assert_eq!(tx.receiver_count(), 3);
            assert_eq!(first.recv().await, Ok(1), "{flavor}");
            assert_eq!(first.recv().await, Ok(2), "{flavor}");
            assert_eq!(first.recv().await, Ok(3), "{flavor}");
            assert_eq!(sub.recv().await, Ok(3), "{flavor}");
            assert_eq!(resub.recv().await, Ok(3), "{flavor}");
            assert_eq!(sub.try_recv(), Err(TryRecvError::Empty), "{flavor}");
        });
    }
}

#[test]
fn waiting_receiver_is_woken_by_a_send_from_another_task() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            for round in 0..50u32 {
                let (tx, mut rx) = broadcast::channel(2);
                let (waiting_tx, waiting_rx) = oneshot::channel();
                let receiver = corio::spawn(async move {
                    recv_then_signal(&mut rx, move || {
                        let _ = waiting_tx.send(());
                    })
                    .await
                });
                waiting_rx.await.unwrap();
                let sender = corio::spawn(async move { tx.send(round).unwrap() });
                assert_eq!(sender.await.unwrap(), 1, "{flavor}");
                assert_eq!(receiver.await.unwrap(), Ok(round), "{flavor}");
            }
        });
    }
}

#[test]
fn waiting_receiver_is_woken_by_a_send_from_another_thread() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            for round in 0..20u32 {
                let (tx, mut rx) = broadcast::channel(2);
                let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
                let thread = std::thread::spawn(move || {
                    waiting_rx.recv().unwrap();
                    tx.send(round).unwrap();
                });
                let got = recv_then_signal(&mut rx, move || waiting_tx.send(()).unwrap()).await;
                assert_eq!(got, Ok(round), "{flavor}");
                thread.join().unwrap();
            }
        });
    }
}

#[test]
fn a_dropped_pending_recv_loses_nothing() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = broadcast::channel(4);
            // Cancelled by a timeout while waiting.
            assert!(
                timeout(Duration::from_millis(5), rx.recv()).await.is_err(),
                "{flavor}"
            );
            // Cancelled right after one pending poll.
            let mut fut = Box::pin(rx.recv());
            std::future::poll_fn(|cx| {
                assert!(fut.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            drop(fut);

            tx.send(1).unwrap();
            tx.send(2).unwrap();
            assert_eq!(rx.recv().await, Ok(1), "{flavor}");
            // Cancelled with a value ready: a future not polled takes nothing.
            drop(rx.recv());
            assert_eq!(rx.recv().await, Ok(2), "{flavor}");

            // A receive cancelled in one task, then resumed in another, still works.
            let (waiting_tx, waiting_rx) = oneshot::channel();
            let waiter = corio::spawn(async move {
                let _ = timeout(
                    Duration::from_millis(50),
                    recv_then_signal(&mut rx, move || {
                        let _ = waiting_tx.send(());
                    }),
                )
                .await;
                rx
            });
            waiting_rx.await.unwrap();
            let mut rx = waiter.await.unwrap();
            tx.send(3).unwrap();
            assert_eq!(rx.recv().await, Ok(3), "{flavor}");
        });
    }
}

#[test]
fn many_receivers_across_tasks_get_every_value() {
    const RECEIVERS: usize = 8;
    const VALUES: u64 = 1000;
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, rx) = broadcast::channel(1024);
            let receivers: Vec<_> = (0..RECEIVERS)
                .map(|_| {
                    let mut rx = rx.resubscribe();
                    corio::spawn(async move {
                        let mut expected = 0;
                        loop {
                            match rx.recv().await {
                                Ok(n) => {
                                    assert_eq!(n, expected);
                                    expected += 1;
                                }
                                Err(RecvError::Closed) => return expected,
                                Err(RecvError::Lagged(n)) => panic!("lagged by {n}"),
                            }
                        }
                    })
                })
                .collect();
            drop(rx);
            let sender = corio::spawn(async move {
                for n in 0..VALUES {
                    assert_eq!(tx.send(n), Ok(RECEIVERS));
                    if n % 64 == 0 {
                        corio::task::yield_now().await;
                    }
                }
            });
            sender.await.unwrap();
            for receiver in receivers {
                assert_eq!(receiver.await.unwrap(), VALUES, "{flavor}");
            }
        });
    }
}

#[test]
fn concurrent_senders_are_seen_in_one_order_by_everyone() {
    const SENDERS: u32 = 4;
    const EACH: u32 = 250;
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, rx) = broadcast::channel(1024);
            let receivers: Vec<_> = (0..3)
                .map(|_| corio::spawn(collect(rx.resubscribe())))
                .collect();
            drop(rx);
            let senders: Vec<_> = (0..SENDERS)
                .map(|id| {
                    let tx = tx.clone();
                    corio::spawn(async move {
                        for n in 0..EACH {
                            tx.send((id, n)).unwrap();
                            if n % 16 == 0 {
                                corio::task::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            for sender in senders {
                sender.await.unwrap();
            }
            let mut orders = Vec::new();
            for receiver in receivers {
                orders.push(receiver.await.unwrap());
            }
            let first = &orders[0];
            assert_eq!(first.len(), (SENDERS * EACH) as usize, "{flavor}");
            for order in &orders {
                assert_eq!(order, first, "{flavor}: every receiver sees one order");
            }
            for id in 0..SENDERS {
                let from_id: Vec<u32> = first
                    .iter()
                    .filter(|(sender, _)| *sender == id)
                    .map(|&(_, n)| n)
                    .collect();
                assert_eq!(from_id, (0..EACH).collect::<Vec<_>>(), "{flavor}");
            }
        });
    }
}

#[test]
fn slow_receivers_account_for_every_value_by_lag_or_receipt() {
    // A small ring and receivers that fall behind: each value is either received (in order)
    // or counted in a `Lagged`, exactly once.
    const VALUES: u64 = 5000;
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, rx) = broadcast::channel(8);
            let receivers: Vec<_> = (0..4u64)
                .map(|id| {
                    let mut rx = rx.resubscribe();
                    corio::spawn(async move {
                        let (mut next, mut received, mut missed) = (0, 0, 0);
                        loop {
                            match rx.recv().await {
                                Ok(n) => {
                                    assert_eq!(n, next);
                                    next += 1;
                                    received += 1;
                                }
                                Err(RecvError::Lagged(n)) => {
                                    next += n;
                                    missed += n;
                                }
                                Err(RecvError::Closed) => return (received, missed),
                            }
                            if received % (id + 2) == 0 {
                                corio::task::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            drop(rx);
            for n in 0..VALUES {
                tx.send(n).unwrap();
                if n % 5 == 0 {
                    corio::task::yield_now().await;
                }
            }
            drop(tx);
            for receiver in receivers {
                let (received, missed) = receiver.await.unwrap();
                assert_eq!(received + missed, VALUES, "{flavor}");
                assert!(
                    received >= 8,
                    "{flavor}: the last ring-full is always received"
                );
            }
        });
    }
}

#[test]
fn values_are_released_once_read_overwritten_or_abandoned() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let drops = DropCount::default();
            let value = || Arc::new(drops.guard());

            // Read by every receiver: released while the sender still lives.
            let (tx, mut rx1) = broadcast::channel(4);
            let mut rx2 = tx.subscribe();
            tx.send(value()).unwrap();
            drop(rx1.recv().await.unwrap());
            assert_eq!(drops.get(), 0, "{flavor}: rx2 has not read it");
            drop(rx2.recv().await.unwrap());
            assert_eq!(drops.get(), 1, "{flavor}");
            assert_eq!(tx.len(), 0, "{flavor}");

            // Overwritten: released by the send that overwrote it.
            for _ in 0..6 {
                tx.send(value()).unwrap();
            }
            assert_eq!(drops.get(), 3, "{flavor}");
            assert_eq!(tx.len(), 4, "{flavor}");

            // Abandoned: released when the receivers that still needed it go.
            drop(rx1);
            assert_eq!(drops.get(), 3, "{flavor}: rx2 still needs them");
            drop(rx2);
            assert_eq!(drops.get(), 7, "{flavor}");
            assert_eq!(tx.len(), 0, "{flavor}");

            // Still buffered when everything goes: released with the channel.
            let mut rx = tx.subscribe();
            tx.send(value()).unwrap();
            tx.send(value()).unwrap();
            drop(rx.recv().await.unwrap());
            assert_eq!(drops.get(), 8, "{flavor}");
            drop(tx);
            drop(rx);
            assert_eq!(drops.get(), 9, "{flavor}");

            // Across tasks: every value released once all receivers are done.
            let (tx, rx) = broadcast::channel(64);
            let receivers: Vec<_> = (0..3)
                .map(|_| {
                    let mut rx = rx.resubscribe();
                    corio::spawn(async move { while rx.recv().await.is_ok() {} })
                })
                .collect();
            drop(rx);
            for _ in 0..50 {
                tx.send(value()).unwrap();
                corio::task::yield_now().await;
            }
            drop(tx);
            for receiver in receivers {
                receiver.await.unwrap();
            }
            assert_eq!(drops.get(), 59, "{flavor}");
        });
    }
}

#[test]
fn lengths_and_counts() {
    let (tx, mut rx) = broadcast::channel(3);
    assert!(tx.is_empty() && rx.is_empty());
    assert_eq!(tx.receiver_count(), 1);
    let rx2 = rx.resubscribe();
    assert_eq!(tx.receiver_count(), 2);
    for n in 0..5 {
        tx.send(n).unwrap();
    }
    assert_eq!(tx.len(), 3, "the ring holds three");
    assert_eq!(rx.len(), 5, "counts the overwritten too");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(2)));
    assert_eq!(rx.len(), 3);
    drop(rx2);
    assert_eq!(tx.receiver_count(), 1);
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(tx.len(), 2);
    assert!(rx.same_channel(&tx.subscribe()));
    assert!(tx.same_channel(&tx.clone()));
}

#[test]
fn errors_are_std_errors() {
    fn boxed(e: impl std::error::Error + Send + Sync + 'static) -> Box<dyn std::error::Error> {
        Box::new(e)
    }
    assert_eq!(boxed(RecvError::Closed).to_string(), "channel closed");
    assert_eq!(
        boxed(TryRecvError::Lagged(4)).to_string(),
        "channel lagged by 4"
    );
    assert_eq!(boxed(TryRecvError::Empty).to_string(), "channel empty");
    let err = SendError(String::from("x"));
    assert_eq!(format!("{err:?}"), "SendError { .. }");
    assert!(boxed(err).to_string().contains("closed"));
}

#[test]
#[should_panic(expected = "capacity cannot be zero")]
fn zero_capacity_panics() {
    let _ = broadcast::channel::<u8>(0);
}
