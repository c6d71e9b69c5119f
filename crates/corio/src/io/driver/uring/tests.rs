//! The ring driver alone: submit, park, reap, wake, orphan, shutdown.

use std::future::poll_fn;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use io_uring::{opcode, types};

use super::*;
use crate::io::driver::IoDriver;

struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count(AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

/// A ring plus the epoll reactor it polls; `None` if this kernel refuses io_uring.
fn ring() -> Option<(
    UringDriver,
    UringHandle,
    IoDriver,
    crate::io::driver::IoHandle,
)> {
    let (io, io_handle) = IoDriver::new().unwrap();
    match UringDriver::new(io.epoll_fd(), 1) {
        Ok((driver, handle)) => Some((driver, handle, io, io_handle)),
        Err(err) => {
            eprintln!("skipping: io_uring unavailable: {err}");
            None
        }
    }
}

/// Turns the ring until no op is in flight, or `limit` passed (the caller asserts which).
fn reap_until_idle(driver: &mut UringDriver, handle: &UringHandle, limit: Duration) {
    let deadline = Instant::now() + limit;
    while handle.in_flight() > 0 && Instant::now() < deadline {
        driver.wait(Some(Duration::from_millis(10))).unwrap();
        driver.dispatch();
    }
}

fn submit_recv(handle: &UringHandle, fd: i32, len: usize) -> OpId {
    // SAFETY: the recv writes into the slot's own buffer; the fd outlives the op in the test.
    unsafe {
        handle
            .submit(Resources::Buf(vec![0; len]), false, |res| {
                let Resources::Buf(buf) = res else {
                    unreachable!()
                };
                opcode::Recv::new(types::Fd(fd), buf.as_mut_ptr(), buf.len() as u32).build()
            })
            .unwrap()
    }
}

#[test]
fn recv_completes_and_wakes() {
    let Some((mut driver, handle, _io, _ioh)) = ring() else {
        return;
    };
    let (a, mut b) = UnixStream::pair().unwrap();
    let id = submit_recv(&handle, a.as_raw_fd(), 16);
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(handle.poll_op(id, &mut cx).is_pending());
    driver.wait(Some(Duration::ZERO)).unwrap();
    driver.dispatch();
    assert!(handle.poll_op(id, &mut cx).is_pending(), "no data yet");

    b.write_all(b"hello").unwrap();
    driver.wait(Some(Duration::from_secs(5))).unwrap();
    driver.dispatch();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    let Poll::Ready(Ok(done)) = handle.poll_op(id, &mut cx) else {
        panic!("completed")
    };
    assert_eq!(done.io_result().unwrap(), 5);
    let Resources::Buf(buf) = done.resources else {
        unreachable!()
    };
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(handle.in_flight(), 0);
}

#[test]
fn wait_times_out_and_unpark_through_epoll_wakes() {
    let Some((mut driver, _handle, _io, io_handle)) = ring() else {
        return;
    };
    let start = Instant::now();
    driver.wait(Some(Duration::from_millis(30))).unwrap();
    assert!(!driver.dispatch());
    assert!(start.elapsed() >= Duration::from_millis(30));

    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        io_handle.unpark();
    });
    let start = Instant::now();
    driver.wait(None).unwrap();
    assert!(driver.dispatch(), "the epoll poll fired");
    assert!(start.elapsed() < Duration::from_secs(5));
    t.join().unwrap();
}

#[test]
fn wake_from_another_thread_ends_a_wait_without_epoll() {
    let Some((mut driver, handle, _io, _ioh)) = ring() else {
        return;
    };
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        handle.wake(0).unwrap();
    });
    let start = Instant::now();
    driver.wait(None).unwrap();
    assert!(!driver.dispatch(), "the no-op, not the epoll poll, woke it");
    assert!(start.elapsed() < Duration::from_secs(5));
    t.join().unwrap();

    // A wake before the wait is not lost either: the wait submits the no-op and returns.
    let handle = UringHandle {
        shared: driver.shared.clone(),
    };
    handle.wake(0).unwrap();
    let start = Instant::now();
    driver.wait(Some(Duration::from_secs(5))).unwrap();
    driver.dispatch();
    assert!(start.elapsed() < Duration::from_secs(4));
}

#[test]
fn submit_from_another_thread_while_parked() {
    let Some((mut driver, handle, _io, _ioh)) = ring() else {
        return;
    };
    let (a, mut b) = UnixStream::pair().unwrap();
    b.write_all(b"x").unwrap();
    let fd = a.as_raw_fd();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        submit_recv(&handle, fd, 4)
    });
    // Parked with no timeout: only the other thread's submission (the sleeper flag makes
    // it submit itself) can complete and wake us.
    driver.wait(None).unwrap();
    driver.dispatch();
    let id = t.join().unwrap();
    let handle = UringHandle {
        shared: driver.shared.clone(),
    };
    let done = crate::test_util::block_on(poll_fn(|cx| handle.poll_op(id, cx))).unwrap();
    assert_eq!(done.io_result().unwrap(), 1);
    drop(a);
}

#[test]
fn orphaned_op_is_cancelled_and_freed_by_the_reaper() {
    let Some((mut driver, handle, _io, _ioh)) = ring() else {
        return;
    };
    let (a, _b) = UnixStream::pair().unwrap();
    let id = submit_recv(&handle, a.as_raw_fd(), 1024);
    driver.wait(Some(Duration::ZERO)).unwrap();
    handle.orphan(id, true);
    assert_eq!(handle.in_flight(), 1, "the kernel still holds it");
    reap_until_idle(&mut driver, &handle, Duration::from_secs(5));
    assert_eq!(handle.in_flight(), 0, "the cancel completed the recv");
}

#[test]
fn shutdown_cancels_and_fails_new_ops() {
    let Some((mut driver, handle, _io, _ioh)) = ring() else {
        return;
    };
    let (a, _b) = UnixStream::pair().unwrap();
    let id = submit_recv(&handle, a.as_raw_fd(), 64);
    driver.wait(Some(Duration::ZERO)).unwrap();
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(handle.poll_op(id, &mut cx).is_pending());
    driver.shutdown();
    assert_eq!(count.0.load(Ordering::SeqCst), 1, "the owner was woken");
    assert_eq!(handle.in_flight(), 0, "reaped at shutdown");
    // The completion (ECANCELED) is still there for its owner.
    let Poll::Ready(Ok(done)) = handle.poll_op(id, &mut cx) else {
        panic!("completed");
    };
    assert_eq!(done.result, -libc::ECANCELED);
    // SAFETY: no pointers.
    let err = unsafe { handle.submit(Resources::None, false, |_| opcode::Nop::new().build()) };
    assert!(err.is_err());
}

#[test]
fn pushing_past_a_full_submission_queue_flushes_it() {
    let Some((mut driver, handle, _io, _ioh)) = ring() else {
        return;
    };
    let n = SQ_ENTRIES as usize * 2 + 10;
    let pairs: Vec<_> = (0..n).map(|_| UnixStream::pair().unwrap()).collect();
    // No turn in between: the SQ fills and the pushes flush it themselves.
    let ids: Vec<_> = pairs
        .iter()
        .map(|(a, _)| submit_recv(&handle, a.as_raw_fd(), 8))
        .collect();
    for (_, b) in &pairs {
        (&*b).write_all(b"x").unwrap();
    }
    reap_until_idle(&mut driver, &handle, Duration::from_secs(10));
    assert_eq!(handle.in_flight(), 0);
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    for id in ids {
        let Poll::Ready(Ok(done)) = handle.poll_op(id, &mut cx) else {
            panic!("completed");
        };
        assert_eq!(done.io_result().unwrap(), 1);
    }
}

#[test]
fn completions_past_a_full_completion_queue_are_not_lost() {
    let Some((mut driver, handle, _io, _ioh)) = ring() else {
        return;
    };
    // More completions than the CQ holds before anyone reaps: the kernel keeps the overflow
    // (IORING_FEAT_NODROP) and hands it over on later enters.
    let n = CQ_ENTRIES as usize + 300;
    let pairs: Vec<_> = (0..n).map(|_| UnixStream::pair().unwrap()).collect();
    let ids: Vec<_> = pairs
        .iter()
        .map(|(a, _)| submit_recv(&handle, a.as_raw_fd(), 8))
        .collect();
    driver.wait(Some(Duration::ZERO)).unwrap();
    for (_, b) in &pairs {
        (&*b).write_all(b"y").unwrap();
    }
    reap_until_idle(&mut driver, &handle, Duration::from_secs(20));
    assert_eq!(handle.in_flight(), 0, "every completion arrived");
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    for id in ids {
        let Poll::Ready(Ok(done)) = handle.poll_op(id, &mut cx) else {
            panic!("completed");
        };
        assert_eq!(done.io_result().unwrap(), 1);
    }
}

/// A driver with two rings (a two-worker runtime's), or `None` without io_uring.
fn two_rings() -> Option<(UringDriver, UringHandle, IoDriver)> {
    let (io, _io_handle) = IoDriver::new().unwrap();
    match UringDriver::new(io.epoll_fd(), 2) {
        Ok((driver, handle)) => Some((driver, handle, io)),
        Err(err) => {
            eprintln!("skipping: io_uring unavailable: {err}");
            None
        }
    }
}

#[test]
fn ops_go_to_the_home_ring_and_complete_only_there() {
    let Some((mut driver, handle, _io)) = two_rings() else {
        return;
    };
    assert_eq!(handle.rings(), 2);
    let (a, _b) = UnixStream::pair().unwrap();
    let (c, mut d) = UnixStream::pair().unwrap();
    // This thread is nobody's worker: ring 0.
    let on_zero = submit_recv(&handle, a.as_raw_fd(), 16);
    assert_eq!(on_zero.ring(), 0);
    let on_one = {
        let _home = handle.set_home(1);
        submit_recv(&handle, c.as_raw_fd(), 16)
    };
    assert_eq!(on_one.ring(), 1);
    let again = submit_recv(&handle, a.as_raw_fd(), 16);
    assert_eq!(again.ring(), 0, "the home is restored with the guard");
    {
        let mut one = driver.try_reap(1).unwrap();
        one.wait(Some(Duration::ZERO), false).unwrap();
    }
    d.write_all(b"x").unwrap();
    let (_count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    // Turning ring 0 (entering the kernel runs the recv's completion work) never brings
    // ring 1's completion out.
    let until = Instant::now() + Duration::from_millis(100);
    while Instant::now() < until {
        let mut zero = driver.try_reap(0).unwrap();
        zero.wait(Some(Duration::from_millis(5)), false).unwrap();
        zero.dispatch();
        drop(zero);
        assert!(
            handle.poll_op(on_one, &mut cx).is_pending(),
            "ring 1's completion came out of ring 0"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let done = loop {
        let mut one = driver.try_reap(1).unwrap();
        one.wait(Some(Duration::from_millis(10)), false).unwrap();
        one.dispatch();
        drop(one);
        if let Poll::Ready(done) = handle.poll_op(on_one, &mut cx) {
            break done.unwrap();
        }
        assert!(Instant::now() < deadline, "ring 1 never completed its recv");
    };
    assert_eq!(done.io_result().unwrap(), 1);
    handle.orphan(on_zero, true);
    handle.orphan(again, true);
    driver.shutdown();
    assert_eq!(handle.in_flight(), 0);
}

#[test]
fn a_cancel_reaches_an_op_on_another_ring_and_a_wake_its_sleeper() {
    let Some((mut driver, handle, _io)) = two_rings() else {
        return;
    };
    let (a, _b) = UnixStream::pair().unwrap();
    let id = {
        let _home = handle.set_home(1);
        submit_recv(&handle, a.as_raw_fd(), 16)
    };
    {
        let mut one = driver.try_reap(1).unwrap();
        one.wait(Some(Duration::ZERO), false).unwrap();
        assert!(driver.try_reap(1).is_none(), "one reaper per ring");
    }
    // Orphaned from a thread whose home is ring 0: the cancel must still go to ring 1.
    handle.orphan(id, true);
    let deadline = Instant::now() + Duration::from_secs(5);
    while handle.in_flight() > 0 && Instant::now() < deadline {
        let mut one = driver.try_reap(1).unwrap();
        one.wait(Some(Duration::from_millis(10)), false).unwrap();
        one.dispatch();
    }
    assert_eq!(handle.in_flight(), 0, "the cancel found the op on its ring");

    // A sleeper in ring 1 is woken by a wake pushed to ring 1 from another thread.
    let waker_handle = handle.clone();
    let waking = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        waker_handle.wake(1).unwrap();
    });
    let started = Instant::now();
    let mut one = driver.try_reap(1).unwrap();
    one.wait(Some(Duration::from_secs(10)), false).unwrap();
    one.dispatch();
    drop(one);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the wake ended the wait"
    );
    waking.join().unwrap();
    driver.shutdown();
}
