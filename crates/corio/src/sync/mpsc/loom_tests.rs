//! Model-checked races of the channels (`RUSTFLAGS="--cfg loom" cargo test --release --lib
//! mpsc::loom`). Blocks hold 2 slots under loom, so a few sends cross block boundaries.
//!
//! `block_on` parks the thread on `Pending` and only resumes on a wake-up, so a lost
//! wake-up shows up as a deadlock that loom reports.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use super::*;

/// Polls `fut` on this loom thread, parking between polls until a waker unparks it.
fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
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
    loom::model(|| {
        let (tx, mut rx) = unbounded_channel();
        let sender = thread::spawn(move || {
            for n in 0..3 {
                tx.send(n).unwrap();
            }
        });
        for n in 0..3 {
            assert_eq!(block_on(rx.recv()), Some(n));
        }
        assert_eq!(block_on(rx.recv()), None);
        sender.join().unwrap();
    });
}

#[test]
fn two_senders_race_recv_park() {
    loom::model(|| {
        let (tx, mut rx) = unbounded_channel();
        let senders: Vec<_> = (0..2)
            .map(|id| {
                let tx = tx.clone();
                thread::spawn(move || tx.send(id).unwrap())
            })
            .collect();
        drop(tx);
        let mut got = [block_on(rx.recv()), block_on(rx.recv())];
        got.sort();
        assert_eq!(got, [Some(0), Some(1)]);
        assert_eq!(block_on(rx.recv()), None);
        for sender in senders {
            sender.join().unwrap();
        }
    });
}

#[test]
fn last_sender_drop_races_recv_park() {
    loom::model(|| {
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
    loom::model(|| {
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
    loom::model(|| {
        let (tx, mut rx) = channel(1);
        let sender = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
            // Waits until the receive below gives the capacity back.
            block_on(tx.send(2)).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), Some(2));
        assert_eq!(block_on(rx.recv()), None);
        sender.join().unwrap();
    });
}

#[test]
fn cancelled_send_races_the_grant() {
    loom::model(|| {
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
    loom::model(|| {
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
    loom::model(|| {
        let (tx, mut rx) = channel::<u8>(1);
        let permit_holder = {
            let tx = tx.clone();
            thread::spawn(move || {
                let permit = tx.try_reserve().unwrap();
                drop(permit);
            })
        };
        drop(tx);
        rx.close();
        assert_eq!(block_on(rx.recv()), None);
        permit_holder.join().unwrap();
    });
}

#[test]
fn values_left_behind_are_dropped_once() {
    loom::model(|| {
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
