//! The state machine, driven by hand: promises, hand-overs on cancellation, shutdown and
//! join, with counting wakers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::test_util::CountingWaker;

struct Task {
    counter: Arc<CountingWaker>,
    waker: Waker,
}

impl Task {
    fn new() -> Task {
        let (counter, waker) = CountingWaker::new();
        Task { counter, waker }
    }

    fn wakes(&self) -> usize {
        self.counter.wakes()
    }

    fn poll<F: Future>(&self, fut: &mut Pin<Box<F>>) -> Poll<F::Output> {
        fut.as_mut().poll(&mut Context::from_waker(&self.waker))
    }
}

#[test]
fn an_item_put_while_getters_wait_is_promised_to_the_first() {
    let queue = Queue::unbounded();
    let (a, b) = (Task::new(), Task::new());
    let mut get_a = Box::pin(queue.get());
    let mut get_b = Box::pin(queue.get());
    assert!(a.poll(&mut get_a).is_pending());
    assert!(b.poll(&mut get_b).is_pending());

    queue.put_nowait(1).unwrap();
    assert_eq!(
        (a.wakes(), b.wakes()),
        (1, 0),
        "only the first getter is woken"
    );
    assert_eq!(queue.qsize(), 1);
    // Promised to `a`: nobody else may take it.
    assert_eq!(queue.get_nowait(), Err(GetNowaitError::Empty));
    assert!(b.poll(&mut get_b).is_pending(), "b still waits its turn");
    let newcomer = Task::new();
    let mut get_c = Box::pin(queue.get());
    assert!(newcomer.poll(&mut get_c).is_pending(), "no barging in");

    assert_eq!(a.poll(&mut get_a), Poll::Ready(Ok(1)));
    queue.put_nowait(2).unwrap();
    assert_eq!((b.wakes(), newcomer.wakes()), (1, 0));
    assert_eq!(b.poll(&mut get_b), Poll::Ready(Ok(2)));
    queue.put_nowait(3).unwrap();
    assert_eq!(newcomer.poll(&mut get_c), Poll::Ready(Ok(3)));
}

#[test]
fn a_dropped_promised_getter_hands_its_item_to_the_next() {
    let queue = Queue::unbounded();
    let (a, b) = (Task::new(), Task::new());
    let mut get_a = Box::pin(queue.get());
    let mut get_b = Box::pin(queue.get());
    assert!(a.poll(&mut get_a).is_pending());
    assert!(b.poll(&mut get_b).is_pending());
    queue.put_nowait("x").unwrap();
    assert_eq!((a.wakes(), b.wakes()), (1, 0));

    drop(get_a);
    assert_eq!(b.wakes(), 1, "the wake-up was handed on");
    assert_eq!(b.poll(&mut get_b), Poll::Ready(Ok("x")));
    assert_eq!(queue.qsize(), 0);
}

#[test]
fn a_dropped_promised_getter_with_nobody_behind_leaves_the_item_free() {
    let queue = Queue::unbounded();
    let a = Task::new();
    let mut get_a = Box::pin(queue.get());
    assert!(a.poll(&mut get_a).is_pending());
    queue.put_nowait(5).unwrap();
    drop(get_a);
    assert_eq!(queue.get_nowait(), Ok(5));
}

#[test]
fn a_freed_slot_is_promised_to_the_first_waiting_putter() {
    let queue = Queue::new(1);
    queue.put_nowait(0).unwrap();
    let (a, b) = (Task::new(), Task::new());
    let mut put_a = Box::pin(queue.put(1));
    let mut put_b = Box::pin(queue.put(2));
    assert!(a.poll(&mut put_a).is_pending());
    assert!(b.poll(&mut put_b).is_pending());

    assert_eq!(queue.get_nowait(), Ok(0));
    assert_eq!((a.wakes(), b.wakes()), (1, 0));
    assert!(!queue.full(), "the slot is free, but promised");
    assert_eq!(queue.put_nowait(9), Err(PutNowaitError::Full(9)));

    // `a` is dropped before it runs: nothing is put, and `b` gets the slot.
    drop(put_a);
    assert_eq!(b.wakes(), 1);
    assert_eq!(queue.qsize(), 0);
    assert_eq!(b.poll(&mut put_b), Poll::Ready(Ok(())));
    assert_eq!(queue.get_nowait(), Ok(2));
    assert_eq!(queue.get_nowait(), Err(GetNowaitError::Empty));
}

#[test]
fn a_dropped_listed_putter_puts_nothing() {
    let queue = Queue::new(1);
    queue.put_nowait(0).unwrap();
    let a = Task::new();
    let mut put_a = Box::pin(queue.put(1));
    assert!(a.poll(&mut put_a).is_pending());
    drop(put_a);
    assert_eq!(queue.get_nowait(), Ok(0));
    assert_eq!(queue.get_nowait(), Err(GetNowaitError::Empty));
    assert_eq!(a.wakes(), 0);
    // One task_done for the one item put.
    assert_eq!(queue.task_done(), Ok(()));
    assert_eq!(queue.task_done(), Err(TaskDoneError));
}

#[test]
fn repolling_keeps_the_place_in_line_and_uses_the_latest_waker() {
    let queue = Queue::unbounded();
    let (a, a2, b) = (Task::new(), Task::new(), Task::new());
    let mut get_a = Box::pin(queue.get());
    let mut get_b = Box::pin(queue.get());
    assert!(a.poll(&mut get_a).is_pending());
    assert!(b.poll(&mut get_b).is_pending());
    assert!(a2.poll(&mut get_a).is_pending());
    queue.put_nowait(1).unwrap();
    assert_eq!((a.wakes(), a2.wakes(), b.wakes()), (0, 1, 0));
    assert_eq!(a2.poll(&mut get_a), Poll::Ready(Ok(1)));
}

#[test]
fn waiter_entries_are_reused() {
    let queue = Queue::<u32>::new(1);
    let task = Task::new();
    for _ in 0..100 {
        let mut get = Box::pin(queue.get());
        assert!(task.poll(&mut get).is_pending());
        let mut join = Box::pin(queue.join());
        queue.put_nowait(1).unwrap();
        assert!(task.poll(&mut join).is_pending());
        let mut put = Box::pin(queue.put(2));
        assert!(task.poll(&mut put).is_pending());
        assert_eq!(task.poll(&mut get), Poll::Ready(Ok(1)));
        assert_eq!(task.poll(&mut put), Poll::Ready(Ok(())));
        assert_eq!(queue.get_nowait(), Ok(2));
        queue.task_done().unwrap();
        queue.task_done().unwrap();
        assert_eq!(task.poll(&mut join), Poll::Ready(()));
    }
    assert_eq!(queue.shared.waiter_slots(), (1, 1, 1));
}

#[test]
fn shutdown_releases_waiting_putters_and_getters_of_an_empty_queue() {
    let queue = Queue::<u8>::new(1);
    let (getter, putter) = (Task::new(), Task::new());
    let mut get = Box::pin(queue.get());
    assert!(getter.poll(&mut get).is_pending());
    queue.shutdown(false);
    assert_eq!(getter.wakes(), 1);
    assert_eq!(getter.poll(&mut get), Poll::Ready(Err(QueueShutDown(()))));

    let queue = Queue::new(1);
    queue.put_nowait(String::from("kept")).unwrap();
    let mut put = Box::pin(queue.put(String::from("refused")));
    assert!(putter.poll(&mut put).is_pending());
    queue.shutdown(false);
    assert_eq!(putter.wakes(), 1);
    match putter.poll(&mut put) {
        Poll::Ready(Err(QueueShutDown(item))) => assert_eq!(item, "refused"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        queue.put_nowait(String::from("late")),
        Err(PutNowaitError::ShutDown(String::from("late")))
    );
    assert_eq!(queue.get_nowait().as_deref(), Ok("kept"));
    assert_eq!(queue.get_nowait(), Err(GetNowaitError::ShutDown));
}

#[test]
fn a_putter_promised_a_slot_fails_if_shut_down_before_it_runs() {
    let queue = Queue::new(1);
    queue.put_nowait(1).unwrap();
    let putter = Task::new();
    let mut put = Box::pin(queue.put(2));
    assert!(putter.poll(&mut put).is_pending());
    assert_eq!(queue.get_nowait(), Ok(1));
    assert_eq!(putter.wakes(), 1);
    queue.shutdown(false);
    assert_eq!(putter.poll(&mut put), Poll::Ready(Err(QueueShutDown(2))));
    assert!(queue.empty());
}

#[test]
fn after_shutdown_waiting_getters_wait_for_promised_items_then_fail() {
    let queue = Queue::unbounded();
    let (a, b) = (Task::new(), Task::new());
    let mut get_a = Box::pin(queue.get());
    assert!(a.poll(&mut get_a).is_pending());
    queue.put_nowait(1).unwrap(); // promised to `a`
    queue.shutdown(false);
    // The item is `a`'s; `b` must wait: `a` might be dropped and hand it on.
    let mut get_b = Box::pin(queue.get());
    assert!(b.poll(&mut get_b).is_pending());
    assert_eq!(queue.get_nowait(), Err(GetNowaitError::Empty));
    assert_eq!(a.poll(&mut get_a), Poll::Ready(Ok(1)));
    assert_eq!(b.wakes(), 1, "the queue is empty now: b may fail");
    assert_eq!(b.poll(&mut get_b), Poll::Ready(Err(QueueShutDown(()))));
}

#[test]
fn after_shutdown_a_dropped_promised_getter_hands_on_its_item() {
    let queue = Queue::unbounded();
    let (a, b) = (Task::new(), Task::new());
    let mut get_a = Box::pin(queue.get());
    assert!(a.poll(&mut get_a).is_pending());
    queue.put_nowait(1).unwrap();
    queue.shutdown(false);
    let mut get_b = Box::pin(queue.get());
    assert!(b.poll(&mut get_b).is_pending());
    drop(get_a);
    assert_eq!(b.wakes(), 1);
    assert_eq!(b.poll(&mut get_b), Poll::Ready(Ok(1)));
}

#[test]
fn immediate_shutdown_drains_voids_promises_and_finishes_join() {
    let queue = Queue::unbounded();
    let (a, b, joiner) = (Task::new(), Task::new(), Task::new());
    let mut get_a = Box::pin(queue.get());
    let mut get_b = Box::pin(queue.get());
    assert!(a.poll(&mut get_a).is_pending());
    assert!(b.poll(&mut get_b).is_pending());
    for n in 0..3 {
        queue.put_nowait(n).unwrap(); // two of them promised to a and b
    }
    // A promise is for *an* item, not a particular one: the free one is whichever is next.
    assert_eq!(queue.get_nowait(), Ok(0));
    queue.put_nowait(3).unwrap();
    let mut join = Box::pin(queue.join());
    assert!(joiner.poll(&mut join).is_pending());

    queue.shutdown(true);
    assert!(queue.empty());
    assert_eq!(a.poll(&mut get_a), Poll::Ready(Err(QueueShutDown(()))));
    drop(get_b); // promise voided: nothing to hand on
    // The 3 drained items count as done; the one taken does not.
    assert!(joiner.poll(&mut join).is_pending());
    queue.task_done().unwrap();
    assert_eq!(joiner.wakes(), 1);
    assert_eq!(joiner.poll(&mut join), Poll::Ready(()));
    assert_eq!(queue.task_done(), Err(TaskDoneError));
}

#[test]
fn immediate_shutdown_drops_items_after_unlocking() {
    struct Reentrant(Queue<Reentrant>);
    impl Drop for Reentrant {
        fn drop(&mut self) {
            // Would deadlock if dropped under the lock.
            assert!(self.0.empty());
        }
    }
    let queue = Queue::unbounded();
    queue.put_nowait(Reentrant(queue.clone())).unwrap();
    queue.shutdown(true);
}

#[test]
fn join_completes_once_the_count_reached_zero_even_if_items_follow() {
    let queue = Queue::unbounded();
    let joiner = Task::new();
    let mut join = Box::pin(queue.join());
    assert_eq!(
        joiner.poll(&mut join),
        Poll::Ready(()),
        "nothing unfinished"
    );

    queue.put_nowait(1).unwrap();
    let mut join = Box::pin(queue.join());
    let mut second = Box::pin(queue.join());
    assert!(joiner.poll(&mut join).is_pending());
    assert!(joiner.poll(&mut second).is_pending());
    assert_eq!(queue.get_nowait(), Ok(1));
    queue.task_done().unwrap();
    assert_eq!(joiner.wakes(), 2);
    queue.put_nowait(2).unwrap();
    assert_eq!(joiner.poll(&mut join), Poll::Ready(()));
    assert_eq!(joiner.poll(&mut second), Poll::Ready(()));
    // A new join waits for the new item.
    let mut third = Box::pin(queue.join());
    assert!(joiner.poll(&mut third).is_pending());
}

#[test]
fn lifo_and_priority_share_the_waiting_rules() {
    let stack = LifoQueue::new(2);
    let task = Task::new();
    stack.put_nowait(1).unwrap();
    stack.put_nowait(2).unwrap();
    let mut put = Box::pin(stack.put(3));
    assert!(task.poll(&mut put).is_pending());
    assert_eq!(stack.get_nowait(), Ok(2));
    assert_eq!(task.poll(&mut put), Poll::Ready(Ok(())));
    assert_eq!(stack.get_nowait(), Ok(3));
    assert_eq!(stack.get_nowait(), Ok(1));

    let heap = PriorityQueue::unbounded();
    let mut get = Box::pin(heap.get());
    assert!(task.poll(&mut get).is_pending());
    heap.put_nowait(5).unwrap();
    heap.put_nowait(4).unwrap();
    // The promise is for *an* item: the getter takes the smallest when it runs.
    assert_eq!(task.poll(&mut get), Poll::Ready(Ok(4)));
    assert_eq!(heap.get_nowait(), Ok(5));
}

#[test]
fn errors_display_and_hand_items_back() {
    assert_eq!(PutNowaitError::Full(1).to_string(), "queue full");
    assert_eq!(PutNowaitError::ShutDown(1).to_string(), "queue shut down");
    assert!(PutNowaitError::Full(1).is_full());
    assert!(PutNowaitError::ShutDown(1).is_shut_down());
    assert_eq!(PutNowaitError::Full(7).into_inner(), 7);
    assert_eq!(QueueShutDown(8).into_inner(), 8);
    assert_eq!(
        PutNowaitError::from(QueueShutDown(9)),
        PutNowaitError::ShutDown(9)
    );
    assert_eq!(
        GetNowaitError::from(QueueShutDown(())),
        GetNowaitError::ShutDown
    );
    assert_eq!(GetNowaitError::Empty.to_string(), "queue empty");
    assert_eq!(
        format!("{:?}", QueueShutDown(String::new())),
        "QueueShutDown(..)"
    );
    assert_eq!(format!("{:?}", PutNowaitError::Full(0)), "Full(..)");
    assert!(TaskDoneError.to_string().contains("task_done()"));
    assert_eq!(
        format!("{:?}", Queue::<u8>::new(3)),
        "Queue { maxsize: 3, qsize: 0, .. }"
    );
}
