//! The watch channel on a real runtime: version semantics, change notification across tasks
//! and threads, closing in both directions, in-place modification, many receivers, and
//! cancellation.

mod common;

use std::time::Duration;

use common::runtimes;
use corio::sync::watch::{self, error::RecvError};
use corio::time::{sleep, timeout};

#[test]
fn changed_and_borrow_and_update_follow_versions() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0);
            // The initial value counts as seen.
            assert_eq!(rx.has_changed(), Ok(false), "{flavor}");
            assert!(
                timeout(Duration::from_millis(5), rx.changed())
                    .await
                    .is_err()
            );

            tx.send(1).unwrap();
            tx.send(2).unwrap();
            assert_eq!(rx.has_changed(), Ok(true));
            assert_eq!(
                *rx.borrow(),
                2,
                "{flavor}: the latest, intermediate values skipped"
            );
            assert_eq!(rx.has_changed(), Ok(true), "borrow marks nothing seen");
            rx.changed().await.unwrap();
            assert_eq!(rx.has_changed(), Ok(false), "changed marked it seen");
            assert!(
                timeout(Duration::from_millis(5), rx.changed())
                    .await
                    .is_err()
            );

            tx.send(3).unwrap();
            let value = rx.borrow_and_update();
            assert!(value.has_changed());
            assert_eq!(*value, 3);
            drop(value);
            assert!(
                timeout(Duration::from_millis(5), rx.changed())
                    .await
                    .is_err()
            );

            rx.mark_changed();
            rx.changed().await.unwrap();
            assert_eq!(*rx.borrow(), 3);
        });
    }
}

#[test]
fn a_waiting_receiver_is_woken_by_a_send_from_another_task() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = watch::channel("idle");
            let waiter = corio::spawn(async move {
                rx.changed().await.unwrap();
                *rx.borrow_and_update()
            });
            sleep(Duration::from_millis(10)).await;
            tx.send("busy").unwrap();
            assert_eq!(waiter.await.unwrap(), "busy", "{flavor}");
        });
    }
}

#[test]
fn a_waiting_receiver_is_woken_by_a_send_from_an_os_thread() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0u32);
            let sender = std::thread::spawn(move || {
                for n in 1..=100 {
                    tx.send(n).unwrap();
                    if n % 10 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            });
            let mut last = 0;
            while rx.changed().await.is_ok() {
                let now = *rx.borrow_and_update();
                assert!(now > last, "{flavor}: values only move forward");
                last = now;
            }
            assert_eq!(last, 100, "{flavor}: the last value is always seen");
            sender.join().unwrap();
        });
    }
}

#[test]
fn closing_by_the_senders_reports_the_last_value_then_fails() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0);
            let tx2 = tx.clone();
            assert_eq!(tx.sender_count(), 2);
            let waiter = {
                let mut rx = rx.clone();
                corio::spawn(async move { rx.changed().await })
            };
            sleep(Duration::from_millis(5)).await;
            drop(tx);
            tx2.send(9).unwrap();
            drop(tx2);
            assert_eq!(waiter.await.unwrap(), Ok(()), "{flavor}");
            assert_eq!(rx.has_changed(), Err(RecvError::default_for_test()));
            assert_eq!(
                rx.changed().await,
                Ok(()),
                "{flavor}: the unseen last value"
            );
            assert_eq!(*rx.borrow(), 9);
            assert!(rx.changed().await.is_err(), "{flavor}");

            // A waiter with nothing unseen fails when the last sender goes.
            let (tx, mut rx) = watch::channel(());
            let waiter = corio::spawn(async move { rx.changed().await });
            sleep(Duration::from_millis(5)).await;
            drop(tx);
            assert!(waiter.await.unwrap().is_err(), "{flavor}");
        });
    }
}

/// `RecvError` has no public constructor; get one from a closed channel.
trait DefaultForTest {
    fn default_for_test() -> Self;
}

impl DefaultForTest for RecvError {
    fn default_for_test() -> RecvError {
        let (tx, rx) = watch::channel(());
        drop(tx);
        rx.has_changed().unwrap_err()
    }
}

#[test]
fn sender_closed_resolves_when_the_last_receiver_goes() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, rx) = watch::channel(0);
            let rx2 = tx.subscribe();
            assert_eq!(tx.receiver_count(), 2);
            let watcher = {
                let tx = tx.clone();
                corio::spawn(async move { tx.closed().await })
            };
            drop(rx);
            sleep(Duration::from_millis(5)).await;
            assert!(!watcher.is_finished(), "{flavor}: one receiver left");
            drop(rx2);
            watcher.await.unwrap();
            assert!(tx.is_closed());
            assert!(tx.send(1).is_err(), "{flavor}: nobody to send to");
            assert_eq!(tx.send_replace(2), 0, "stored anyway");
            assert_eq!(*tx.subscribe().borrow(), 2);
        });
    }
}

#[test]
fn send_modify_and_send_if_modified_notify() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(vec![1]);
            let waiter = {
                let mut rx = rx.clone();
                corio::spawn(async move {
                    rx.changed().await.unwrap();
                    rx.borrow_and_update().clone()
                })
            };
            sleep(Duration::from_millis(5)).await;
            tx.send_modify(|v| v.push(2));
            assert_eq!(waiter.await.unwrap(), [1, 2], "{flavor}");

            rx.borrow_and_update();
            assert!(!tx.send_if_modified(|v| v.len() > 5));
            assert!(
                timeout(Duration::from_millis(5), rx.changed())
                    .await
                    .is_err()
            );
            assert!(tx.send_if_modified(|v| {
                v.clear();
                true
            }));
            rx.changed().await.unwrap();
            assert!(rx.borrow().is_empty());
        });
    }
}

#[test]
fn every_receiver_is_notified() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, rx) = watch::channel(0);
            let waiters: Vec<_> = (0..20)
                .map(|i| {
                    let mut rx = if i % 2 == 0 {
                        rx.clone()
                    } else {
                        tx.subscribe()
                    };
                    corio::spawn(async move {
                        rx.changed().await.unwrap();
                        *rx.borrow_and_update()
                    })
                })
                .collect();
            sleep(Duration::from_millis(10)).await;
            tx.send(5).unwrap();
            for waiter in waiters {
                assert_eq!(waiter.await.unwrap(), 5, "{flavor}");
            }
            assert_eq!(tx.receiver_count(), 1);
        });
    }
}

#[test]
fn a_cancelled_changed_marks_nothing_seen() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0);
            assert!(
                timeout(Duration::from_millis(5), rx.changed())
                    .await
                    .is_err()
            );
            tx.send(1).unwrap();
            assert_eq!(rx.has_changed(), Ok(true), "{flavor}");
            rx.changed().await.unwrap();
        });
    }
}

#[test]
fn wait_for_returns_the_first_value_that_matches() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0);
            let sender = corio::spawn(async move {
                for n in 1..=10 {
                    sleep(Duration::from_millis(1)).await;
                    tx.send(n).unwrap();
                }
            });
            let value = *rx.wait_for(|n| *n >= 5).await.unwrap();
            assert!(value >= 5, "{flavor}");
            sender.await.unwrap();
            assert_eq!(*rx.wait_for(|n| *n == 10).await.unwrap(), 10);
            assert!(
                rx.wait_for(|n| *n > 10).await.is_err(),
                "{flavor}: closed first"
            );
        });
    }
}
