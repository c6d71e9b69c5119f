//! Unit tests of the channels without a runtime (they also run under Miri): futures are
//! polled by hand with counting wakers.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::scheduler::coop;
use crate::test_util::{CountingWaker, DropCounter, block_on};

fn poll<F: Future>(fut: std::pin::Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

#[test]
fn receiver_is_woken_once_by_the_value_it_waits_for() {
    let (tx, mut rx) = unbounded_channel();
    let (count, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    assert!(rx.poll_recv(&mut cx).is_pending());
    assert!(rx.poll_recv(&mut cx).is_pending(), "re-polling is harmless");
    tx.send(1).unwrap();
    assert_eq!(count.wakes(), 1);
    tx.send(2).unwrap();
    assert_eq!(count.wakes(), 1, "only the awaited slot's sender wakes");
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(1)));
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(2)));
    drop(tx);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
}

#[test]
fn last_sender_drop_wakes_the_receiver() {
    let (tx, mut rx) = channel::<u8>(4);
    let tx2 = tx.clone();
    let (count, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    assert!(rx.poll_recv(&mut cx).is_pending());
    drop(tx);
    assert_eq!(count.wakes(), 0, "a sender is left");
    drop(tx2);
    assert_eq!(count.wakes(), 1);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
    assert!(rx.is_closed());
}

#[test]
fn bounded_send_waits_at_capacity_and_resumes() {
    let (tx, mut rx) = channel(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(tx.capacity(), 0);
    let (count, waker) = CountingWaker::new();
    let mut send = pin!(tx.send(3));
    assert!(poll(send.as_mut(), &waker).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(
        count.wakes(),
        1,
        "the receive handed capacity to the waiting send"
    );
    assert_eq!(poll(send.as_mut(), &waker), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.capacity(), 2);
}

#[test]
fn dropped_pending_send_loses_no_capacity() {
    let (tx, mut rx) = channel(1);
    tx.try_send(0).unwrap();
    let (_, waker) = CountingWaker::new();
    {
        let mut send = pin!(tx.send(1));
        assert!(poll(send.as_mut(), &waker).is_pending());
        // The receive grants the freed capacity to the waiting send...
        assert_eq!(rx.try_recv(), Ok(0));
        // ...which is dropped before it sees it.
    }
    assert_eq!(tx.capacity(), 1, "the grant came back");
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "its value was not sent"
    );
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn dropped_pending_send_passes_capacity_to_the_next_in_line() {
    let (tx, mut rx) = channel(1);
    tx.try_send(0).unwrap();
    let (_, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    let mut second_send = pin!(tx.send(2));
    {
        let mut first_send = pin!(tx.send(1));
        assert!(poll(first_send.as_mut(), &first_waker).is_pending());
        assert!(poll(second_send.as_mut(), &second_waker).is_pending());
        assert_eq!(rx.try_recv(), Ok(0));
    }
    assert_eq!(second.wakes(), 1);
    assert_eq!(
        poll(second_send.as_mut(), &second_waker),
        Poll::Ready(Ok(()))
    );
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn reserve_then_drop_returns_capacity() {
    let (tx, mut rx) = channel::<u8>(1);
    let (_, waker) = CountingWaker::new();
    let permit = match poll(pin!(tx.reserve()).as_mut(), &waker) {
        Poll::Ready(Ok(permit)) => permit,
        _ => panic!("capacity is free"),
    };
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(tx.try_send(1), Err(TrySendError::Full(1))));
    drop(permit);
    assert_eq!(tx.capacity(), 1);
    tx.try_reserve().unwrap().send(5);
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
fn owned_permit_sends_and_returns_the_sender() {
    let (tx, mut rx) = channel(1);
    let permit = tx.try_reserve_owned().unwrap();
    let tx = permit.send(1);
    let tx = match tx.try_reserve_owned() {
        Err(TrySendError::Full(tx)) => tx,
        _ => panic!("full"),
    };
    assert_eq!(rx.try_recv(), Ok(1));
    let tx = tx.try_reserve_owned().unwrap().release();
    assert_eq!(tx.capacity(), 1);
}

#[test]
fn receiver_close_keeps_queued_values_and_fails_sends() {
    let (tx, mut rx) = unbounded_channel();
    tx.send(1).unwrap();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));

    let (tx, mut rx) = channel(4);
    tx.try_send(1).unwrap();
    rx.close();
    assert!(matches!(tx.try_send(2), Err(TrySendError::Closed(2))));
    let (_, waker) = CountingWaker::new();
    assert_eq!(
        poll(pin!(tx.send(3)).as_mut(), &waker),
        Poll::Ready(Err(SendError(3)))
    );
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn close_waits_for_a_permit_held_before_it() {
    let (tx, mut rx) = channel(4);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    let (count, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    assert!(
        rx.poll_recv(&mut cx).is_pending(),
        "the permit may still send"
    );
    permit.send(7);
    assert_eq!(count.wakes(), 1);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(7)));

    let permit = tx.try_reserve();
    assert!(permit.is_err(), "closed");
    let (tx, mut rx) = channel::<u8>(4);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    assert!(rx.poll_recv(&mut cx).is_pending());
    drop(permit);
    assert_eq!(
        count.wakes(),
        2,
        "the last permit coming back wakes the receiver"
    );
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
}

#[test]
fn closing_wakes_waiting_senders() {
    let (tx, mut rx) = channel(1);
    tx.try_send(1).unwrap();
    let (send_count, send_waker) = CountingWaker::new();
    let (closed_count, closed_waker) = CountingWaker::new();
    let mut send = pin!(tx.send(2));
    let mut closed = pin!(tx.closed());
    assert!(poll(send.as_mut(), &send_waker).is_pending());
    assert!(poll(closed.as_mut(), &closed_waker).is_pending());
    rx.close();
    assert_eq!((send_count.wakes(), closed_count.wakes()), (1, 1));
    assert_eq!(
        poll(send.as_mut(), &send_waker),
        Poll::Ready(Err(SendError(2)))
    );
    assert_eq!(poll(closed.as_mut(), &closed_waker), Poll::Ready(()));
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn dropping_the_receiver_wakes_closed() {
    let (tx, rx) = unbounded_channel::<u8>();
    let (count, waker) = CountingWaker::new();
    let mut closed = pin!(tx.closed());
    assert!(poll(closed.as_mut(), &waker).is_pending());
    drop(rx);
    assert_eq!(count.wakes(), 1);
    assert_eq!(poll(closed.as_mut(), &waker), Poll::Ready(()));
}

#[test]
fn unreceived_values_are_dropped_once() {
    let drops = DropCounter::new();
    let (tx, mut rx) = unbounded_channel();
    for _ in 0..100 {
        tx.send(drops.tracked()).unwrap();
    }
    drop(rx.try_recv().unwrap());
    assert_eq!(drops.get(), 1);
    drop(tx);
    assert_eq!(drops.get(), 1, "the receiver may still read them");
    drop(rx);
    assert_eq!(drops.get(), 100);

    // Receiver first: it drops what is queued; a send after that fails and hands back.
    let (tx, rx) = channel(8);
    tx.try_send(drops.tracked()).unwrap();
    drop(rx);
    assert_eq!(drops.get(), 101);
    let back = tx.try_send(drops.tracked()).unwrap_err();
    assert_eq!(drops.get(), 101);
    drop(back);
    assert_eq!(drops.get(), 102);
}

#[test]
fn values_sent_with_a_permit_after_the_receiver_left_are_dropped_with_the_channel() {
    let drops = DropCounter::new();
    let (tx, rx) = channel(2);
    let permit = tx.try_reserve().unwrap();
    drop(rx);
    permit.send(drops.tracked());
    assert_eq!(drops.get(), 0);
    drop(tx);
    assert_eq!(drops.get(), 1);
}

#[test]
fn recv_many_takes_what_is_queued() {
    let (tx, mut rx) = unbounded_channel();
    let (count, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    let mut buffer = vec![100];
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 0), Poll::Ready(0));
    assert!(rx.poll_recv_many(&mut cx, &mut buffer, 4).is_pending());
    for n in 0..6 {
        tx.send(n).unwrap();
    }
    assert_eq!(count.wakes(), 1);
    assert_eq!(rx.len(), 6);
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 4), Poll::Ready(4));
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 4), Poll::Ready(2));
    assert_eq!(buffer, [100, 0, 1, 2, 3, 4, 5]);
    drop(tx);
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buffer, 4), Poll::Ready(0));
}

#[test]
fn weak_senders_do_not_keep_the_channel_open() {
    let (tx, mut rx) = unbounded_channel::<u8>();
    let weak = tx.downgrade();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
    let again = weak.upgrade().unwrap();
    assert!(again.same_channel(&tx));
    drop((tx, again));
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.sender_weak_count(), 1);
}

#[test]
fn ready_recv_spends_budget() {
    coop::budget(|| {
        let (count, waker) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let (tx, mut rx) = unbounded_channel();
        for n in 0..u32::from(coop::INITIAL) + 1 {
            tx.send(n).unwrap();
        }
        for n in 0..u32::from(coop::INITIAL) {
            assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(n)));
        }
        assert!(rx.poll_recv(&mut cx).is_pending(), "out of budget");
        assert_eq!(count.wakes(), 1, "asked to be polled again");
        assert_eq!(
            rx.try_recv(),
            Ok(coop::INITIAL.into()),
            "the value is still there"
        );
    });
}

#[test]
fn senders_on_threads_wake_a_parked_receiver() {
    let senders = 3;
    let per_sender = if cfg!(miri) { 30 } else { 5_000 };
    let (tx, mut rx) = channel(4);
    let threads: Vec<_> = (0..senders)
        .map(|id| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for seq in 0..per_sender {
                    block_on(tx.send((id, seq))).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut next = vec![0; senders];
    while let Some((id, seq)) = block_on(rx.recv()) {
        assert_eq!(seq, next[id], "per-sender order");
        next[id] += 1;
    }
    assert_eq!(next, vec![per_sender; senders]);
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn unbounded_senders_on_threads() {
    let per_sender = if cfg!(miri) { 50 } else { 20_000 };
    let (tx, mut rx) = unbounded_channel();
    let threads: Vec<_> = (0..2)
        .map(|id| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for seq in 0..per_sender {
                    tx.send((id, seq)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut next = [0, 0];
    while let Some((id, seq)) = block_on(rx.recv()) {
        assert_eq!(seq, next[id]);
        next[id] += 1;
    }
    assert_eq!(next, [per_sender; 2]);
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn handles_are_send_and_sync() {
    fn is_send_sync<T: Send + Sync>() {}
    type NotSync = std::cell::Cell<u8>;
    is_send_sync::<Sender<NotSync>>();
    is_send_sync::<Receiver<NotSync>>();
    is_send_sync::<Permit<'_, NotSync>>();
    is_send_sync::<OwnedPermit<NotSync>>();
    is_send_sync::<WeakSender<NotSync>>();
    is_send_sync::<UnboundedSender<NotSync>>();
    is_send_sync::<UnboundedReceiver<NotSync>>();
    is_send_sync::<WeakUnboundedSender<NotSync>>();
}

#[test]
fn debug_and_display() {
    let (tx, rx) = channel::<u8>(3);
    assert!(format!("{tx:?}").contains("capacity: 3"));
    assert!(format!("{rx:?}").starts_with("Receiver"));
    assert_eq!(format!("{:?}", TrySendError::Full(1)), "Full(..)");
    assert_eq!(TrySendError::Closed(1).to_string(), "channel closed");
    assert_eq!(SendError(1).to_string(), "channel closed");
    assert_eq!(
        TryRecvError::Empty.to_string(),
        "receiving on an empty channel"
    );
    assert_eq!(SendTimeoutError::Timeout(1).into_inner(), 1);
}
