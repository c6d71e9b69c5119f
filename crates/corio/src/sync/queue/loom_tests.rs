//! Model-checked races (`RUSTFLAGS="--cfg loom" cargo test --release --lib queue::loom`).
//!
//! `block_on` parks the thread on `Pending` and resumes only on a wake-up, so a lost
//! wake-up shows up as a deadlock that loom reports.

use std::future::Future;
use std::task::{Context, Poll, Waker};

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
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// Polls `fut` once with a waker that does nothing, then drops it.
fn poll_once_then_drop<F: Future>(fut: F) -> Poll<F::Output> {
    let mut fut = std::pin::pin!(fut);
    fut.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn put_races_get_registration() {
    loom::model(|| {
        let queue = Queue::unbounded();
        let producer = thread::spawn({
            let queue = queue.clone();
            move || queue.put_nowait(1).unwrap()
        });
        assert_eq!(block_on(queue.get()), Ok(1));
        producer.join().unwrap();
    });
}

#[test]
fn get_races_put_registration_on_a_full_queue() {
    loom::model(|| {
        let queue = Queue::new(1);
        queue.put_nowait(1).unwrap();
        let producer = thread::spawn({
            let queue = queue.clone();
            move || block_on(queue.put(2)).unwrap()
        });
        assert_eq!(block_on(queue.get()), Ok(1));
        assert_eq!(block_on(queue.get()), Ok(2));
        producer.join().unwrap();
    });
}

#[test]
fn a_cancelled_get_racing_a_put_hands_the_item_on() {
    loom::model(|| {
        let queue = Queue::unbounded();
        let other = thread::spawn({
            let queue = queue.clone();
            move || block_on(queue.get())
        });
        let producer = thread::spawn({
            let queue = queue.clone();
            move || queue.put_nowait(7).unwrap()
        });
        // Takes the item, or was promised it and hands it on when dropped, or neither.
        match poll_once_then_drop(queue.get()) {
            Poll::Ready(got) => {
                assert_eq!(got, Ok(7));
                queue.put_nowait(8).unwrap();
                assert_eq!(other.join().unwrap(), Ok(8));
            }
            Poll::Pending => assert_eq!(other.join().unwrap(), Ok(7)),
        }
        producer.join().unwrap();
    });
}

#[test]
fn a_cancelled_put_racing_a_get_hands_the_slot_on() {
    loom::model(|| {
        let queue = Queue::new(1);
        queue.put_nowait(0).unwrap();
        let other = thread::spawn({
            let queue = queue.clone();
            move || block_on(queue.put(2))
        });
        let consumer = thread::spawn({
            let queue = queue.clone();
            move || queue.get_nowait()
        });
        let cancelled = poll_once_then_drop(queue.put(1));
        // 0 and 2 go through; 1 only if the cancelled put completed on its one poll.
        let expected: &[i32] = match cancelled {
            Poll::Ready(Ok(())) => &[0, 1, 2],
            _ => &[0, 2],
        };
        let mut got: Vec<_> = consumer.join().unwrap().into_iter().collect();
        while got.len() < expected.len() {
            got.push(block_on(queue.get()).unwrap());
        }
        other.join().unwrap().unwrap();
        assert_eq!(queue.get_nowait(), Err(GetNowaitError::Empty));
        got.sort();
        assert_eq!(got, expected);
    });
}

#[test]
fn shutdown_races_a_waiting_get() {
    loom::model(|| {
        let queue = Queue::<u8>::unbounded();
        let closer = thread::spawn({
            let queue = queue.clone();
            move || queue.shutdown(false)
        });
        assert_eq!(block_on(queue.get()), Err(QueueShutDown(())));
        closer.join().unwrap();
    });
}

#[test]
fn task_done_races_join() {
    loom::model(|| {
        let queue = Queue::unbounded();
        queue.put_nowait(1).unwrap();
        let worker = thread::spawn({
            let queue = queue.clone();
            move || {
                queue.get_nowait().unwrap();
                queue.task_done().unwrap();
            }
        });
        block_on(queue.join());
        worker.join().unwrap();
    });
}

#[test]
fn immediate_shutdown_races_a_promised_get() {
    loom::model(|| {
        let queue = Queue::unbounded();
        let getter = thread::spawn({
            let queue = queue.clone();
            move || block_on(queue.get())
        });
        let closer = thread::spawn({
            let queue = queue.clone();
            move || queue.shutdown(true)
        });
        let put = queue.put_nowait(1);
        match getter.join().unwrap() {
            Ok(item) => {
                assert_eq!((item, put), (1, Ok(())));
                queue.task_done().unwrap();
            }
            // Refused, drained (counted done), or taken by nobody: nothing is unfinished.
            Err(QueueShutDown(())) => assert_eq!(queue.task_done(), Err(TaskDoneError)),
        }
        closer.join().unwrap();
        assert!(queue.empty());
        block_on(queue.join());
    });
}
