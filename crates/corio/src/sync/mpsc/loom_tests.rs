//! Model-checked races of the channels (`RUSTFLAGS="--cfg loom" cargo test --release --lib
//! mpsc::loom`). Blocks hold 2 slots under loom, so a few sends cross block boundaries.
//!
//! loom's `block_on` sleeps on `Pending` and only resumes on a wake-up, so a lost wake-up
//! shows up as a deadlock that loom reports. (It also tolerates wake-ups arriving after it
//! returned, which a channel may legitimately send.)

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use super::*;

/// Explores every interleaving with up to 3 preemptions (unless `LOOM_MAX_PREEMPTIONS` says
/// otherwise), and allows the longer paths of models that send and receive several values.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = builder.preemption_bound.or(Some(3));
    builder.max_branches = builder.max_branches.max(10_000);
    builder.check(f);
}

/// Counts drops.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn send_races_recv_park() {
    model(|| {
        let (tx, mut rx) = unbounded_channel();
        // The sender hands `tx` back instead of dropping it: its drop would wake the
        // receiver too, hiding a lost wake-up for a value.
        let sender = thread::spawn(move || {
            for n in 0..3 {
                tx.send(n).unwrap();
            }
            tx
        });
        for n in 0..3 {
            assert_eq!(block_on(rx.recv()), Some(n));
        }
        drop(sender.join().unwrap());
        assert_eq!(block_on(rx.recv()), None);
    });
}

#[test]
fn two_senders_race_recv_park() {
    model(|| {
        let (tx, mut rx) = unbounded_channel();
        let senders: Vec<_> = (0..2)
            .map(|id| {
                let tx = tx.clone();
                // Handed back, not dropped: see `send_races_recv_park`.
                thread::spawn(move || {
                    tx.send(id).unwrap();
                    tx
                })
            })
            .collect();
        let mut got = [block_on(rx.recv()), block_on(rx.recv())];
        got.sort();
        assert_eq!(got, [Some(0), Some(1)]);
        for sender in senders {
            drop(sender.join().unwrap());
        }
        drop(tx);
        assert_eq!(block_on(rx.recv()), None);
    });
}

#[test]
fn last_sender_drop_races_recv_park() {
    model(|| {
        let (tx, mut rx) = channel::<u8>(1);
        let tx2 = tx.clone();
        let a = thread::spawn(move || drop(tx));
        let b = thread::spawn(move || drop(tx2));
        assert_eq!(block_on(rx.recv()), None);
        a.join().unwrap();
        b.join().unwrap();
    });
}

#[test]
fn send_then_drop_races_recv_park() {
    model(|| {
        let (tx, mut rx) = unbounded_channel();
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            drop(tx);
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), None);
        sender.join().unwrap();
    });
}

#[test]
fn permit_release_races_a_waiting_sender() {
    model(|| {
        let (tx, mut rx) = channel(1);
        // Handed back, not dropped: see `send_races_recv_park`.
        let sender = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
            // Waits until the receive below gives the capacity back.
            block_on(tx.send(2)).unwrap();
            tx
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), Some(2));
        drop(sender.join().unwrap());
        assert_eq!(block_on(rx.recv()), None);
    });
}

#[test]
fn cancelled_send_races_the_grant() {
    model(|| {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap();
        let tx = std::sync::Arc::new(tx);
        let sender = {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut send = pin!(tx.send(1));
                // One poll (queued or done), then cancelled.
                let first = send.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                first.is_ready()
            })
        };
        assert_eq!(rx.try_recv(), Ok(0));
        let sent = sender.join().unwrap();
        // The capacity is back (or used by the send that completed): nothing leaked.
        if sent {
            assert_eq!(rx.try_recv(), Ok(1));
        }
        assert_eq!(tx.capacity(), 1);
    });
}

#[test]
fn receiver_close_races_send() {
    model(|| {
        let (tx, mut rx) = unbounded_channel();
        let sender = thread::spawn(move || tx.send(1).is_ok());
        rx.close();
        let got = block_on(rx.recv());
        let sent = sender.join().unwrap();
        // A send that succeeded is received; one that failed is not.
        assert_eq!(got, sent.then_some(1));
        assert_eq!(block_on(rx.recv()), None);
    });
}

#[test]
fn permit_drop_after_close_races_recv_park() {
    model(|| {
        let (tx, mut rx) = channel::<u8>(1);
        let permit = tx.try_reserve_owned().unwrap();
        let permit_holder = thread::spawn(move || drop(permit));
        rx.close();
        assert_eq!(block_on(rx.recv()), None);
        permit_holder.join().unwrap();
    });
}

#[test]
fn values_left_behind_are_dropped_once() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = unbounded_channel();
        let sender = {
            let drops = drops.clone();
            thread::spawn(move || {
                for _ in 0..2 {
                    // Fails (handing back, dropped here) once the receiver is gone.
                    let _ = tx.send(Tracked(drops.clone()));
                }
            })
        };
        drop(rx);
        sender.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    });
}
