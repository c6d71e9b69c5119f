//! The reactor against real fds (pipes, socketpairs, eventfds) on plain threads.
//!
//! Futures are polled by hand with counting wakers, so each test states exactly which wake-up
//! it expects. Everything here makes epoll syscalls, which Miri cannot run; the pure parts
//! (`ready`, `slab`, `scheduled_io`) have their own Miri-runnable tests.

use super::*;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Instant;

use crate::scheduler::coop;
use crate::test_util::{CountingWaker, block_on};

// ---- fds ----------------------------------------------------------------------------------

fn check(ret: libc::c_int) -> libc::c_int {
    assert!(ret >= 0, "syscall failed: {}", io::Error::last_os_error());
    ret
}

/// A non-blocking pipe: (read end, write end).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) });
    // SAFETY: both fds were just created and are owned once each.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A non-blocking AF_UNIX stream socketpair.
fn socketpair() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    let kind = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: `fds` has room for the two fds socketpair writes.
    check(unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) });
    // SAFETY: both fds were just created and are owned once each.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn write_fd(fd: &OwnedFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
    let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn read_fd(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Writes until the kernel buffer is full; returns the bytes written.
fn fill(fd: &OwnedFd) -> usize {
    let chunk = [0xAB; 64 * 1024];
    let mut total = 0;
    loop {
        match write_fd(fd, &chunk) {
            Ok(n) => total += n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return total,
            Err(err) => panic!("fill: {err}"),
        }
    }
}

/// Reads until `WouldBlock` or EOF; returns the bytes read.
fn drain(fd: &OwnedFd) -> usize {
    let mut buf = [0; 64 * 1024];
    let mut total = 0;
    loop {
        match read_fd(fd, &mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return total,
            Err(err) => panic!("drain: {err}"),
        }
    }
}

/// Raises the soft fd limit to at least `needed` (up to the hard limit), for tests that
/// open many fds on machines whose default soft limit is 1024.
fn ensure_fd_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a live rlimit for getrlimit to fill.
    check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) });
    if limit.rlim_cur < needed {
        limit.rlim_cur = needed.min(limit.rlim_max);
        // SAFETY: `limit` is a valid rlimit; raising the soft limit up to the hard limit
        // needs no privilege.
        check(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) });
    }
}

fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only inspects the descriptor table.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

// ---- wakers and polling -------------------------------------------------------------------

struct Probe {
    counter: Arc<CountingWaker>,
    waker: Waker,
}

impl Probe {
    fn new() -> Probe {
        let (counter, waker) = CountingWaker::new();
        Probe { counter, waker }
    }

    fn hits(&self) -> usize {
        self.counter.wakes()
    }

    fn cx(&self) -> Context<'_> {
        Context::from_waker(&self.waker)
    }

    fn poll_ready(
        &self,
        registration: &Registration,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        registration.poll_ready(&mut self.cx(), direction)
    }

    fn ready(&self, registration: &Registration, direction: Direction) -> ReadyEvent {
        match self.poll_ready(registration, direction) {
            Poll::Ready(Ok(event)) => event,
            other => panic!("expected {direction:?} readiness, got {other:?}"),
        }
    }

    fn assert_pending(&self, registration: &Registration, direction: Direction) {
        let polled = self.poll_ready(registration, direction);
        assert!(polled.is_pending(), "expected pending, got {polled:?}");
    }
}

/// Turns the driver (10 ms at a time) until `done`, failing after 5 s.
fn turn_until(driver: &mut IoDriver, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "condition not met within 5 s");
        driver.turn(Some(Duration::from_millis(10))).unwrap();
    }
}

// ---- readiness ----------------------------------------------------------------------------

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn readable_after_a_write_to_a_pipe() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (read, write) = pipe();
    let registration = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let task = Probe::new();

    driver.turn(Some(Duration::ZERO)).unwrap();
    task.assert_pending(&registration, Direction::Read);

    write_fd(&write, b"hi").unwrap();
    turn_until(&mut driver, || task.hits() > 0);
    assert_eq!(task.hits(), 1);
    let event = task.ready(&registration, Direction::Read);
    assert!(event.ready().is_readable() && !event.ready().is_read_closed());

    let mut buf = [0; 8];
    assert_eq!(read_fd(&read, &mut buf).unwrap(), 2);
    assert_eq!(&buf[..2], b"hi");
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn writable_immediately() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (_read, write) = pipe();
    let registration = handle
        .register(write.as_raw_fd(), Interest::WRITABLE)
        .unwrap();
    let task = Probe::new();

    // Nothing is known before the first turn; the registration itself reports the state.
    task.assert_pending(&registration, Direction::Write);
    driver.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(task.hits(), 1);
    assert!(
        task.ready(&registration, Direction::Write)
            .ready()
            .is_writable()
    );
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn would_block_clears_readiness_and_waits_for_the_next_edge() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (read, write) = pipe();
    let registration = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let task = Probe::new();
    let mut buf = [0; 16];
    let mut read_op = || read_fd(&read, &mut buf);

    write_fd(&write, b"x").unwrap();
    driver.turn(Some(Duration::ZERO)).unwrap();
    let polled = registration.poll_io(&mut task.cx(), Direction::Read, &mut read_op);
    assert!(matches!(polled, Poll::Ready(Ok(1))));

    // The pipe is empty: the read hits WouldBlock, readiness is cleared, the task waits.
    let polled = registration.poll_io(&mut task.cx(), Direction::Read, &mut read_op);
    assert!(polled.is_pending());
    driver.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(task.hits(), 0, "no new edge, no wake-up");

    write_fd(&write, b"yz").unwrap();
    turn_until(&mut driver, || task.hits() > 0);
    let polled = registration.poll_io(&mut task.cx(), Direction::Read, &mut read_op);
    assert!(matches!(polled, Poll::Ready(Ok(2))));
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn a_short_read_clears_readiness_without_a_would_block_round_trip() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (read, write) = pipe();
    let registration = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let task = Probe::new();
    let mut buf = [0; 16];
    let calls = std::cell::Cell::new(0);
    let mut read_op = || {
        calls.set(calls.get() + 1);
        read_fd(&read, &mut buf)
    };
    let short = |n: &usize| *n > 0 && *n < 16;

    write_fd(&write, b"abc").unwrap();
    driver.turn(Some(Duration::ZERO)).unwrap();
    let polled =
        registration.poll_io_until_drained(&mut task.cx(), Direction::Read, &mut read_op, short);
    assert!(matches!(polled, Poll::Ready(Ok(3))));

    // Three bytes of sixteen: the pipe is empty, so the next poll waits at once, without
    // calling the operation to learn WouldBlock.
    let polled =
        registration.poll_io_until_drained(&mut task.cx(), Direction::Read, &mut read_op, short);
    assert!(polled.is_pending());
    assert_eq!(calls.get(), 1, "no read syscall spent on an empty pipe");

    // New data is a new edge: the waiting task wakes and reads it.
    write_fd(&write, b"de").unwrap();
    turn_until(&mut driver, || task.hits() > 0);
    let polled =
        registration.poll_io_until_drained(&mut task.cx(), Direction::Read, &mut read_op, short);
    assert!(matches!(polled, Poll::Ready(Ok(2))));
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn a_short_read_before_the_peer_closed_still_reports_the_close() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (ours, peer) = socketpair();
    let registration = handle
        .register(ours.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let task = Probe::new();
    let mut buf = [0; 16];
    let short = |n: &usize| *n > 0 && *n < 16;

    write_fd(&peer, b"bye").unwrap();
    drop(peer);
    driver.turn(Some(Duration::ZERO)).unwrap();
    let polled = registration.poll_io_until_drained(
        &mut task.cx(),
        Direction::Read,
        || read_fd(&ours, &mut buf),
        short,
    );
    assert!(matches!(polled, Poll::Ready(Ok(3))));
    // The close is sticky: the short read cleared only "readable", so end-of-file is
    // reported now rather than waited for (there will be no further edge).
    let polled = registration.poll_io_until_drained(
        &mut task.cx(),
        Direction::Read,
        || read_fd(&ours, &mut buf),
        short,
    );
    assert!(matches!(polled, Poll::Ready(Ok(0))), "{polled:?}");
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn edge_between_the_op_and_the_clear_is_not_lost() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (read, write) = pipe();
    let registration = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let task = Probe::new();
    let mut buf = [0; 16];

    write_fd(&write, b"1").unwrap();
    driver.turn(Some(Duration::ZERO)).unwrap();
    let seen = task.ready(&registration, Direction::Read);
    assert_eq!(read_fd(&read, &mut buf).unwrap(), 1);
    let err = read_fd(&read, &mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

    // Data arrives, and the driver records its edge, before the task clears what it saw.
    write_fd(&write, b"2").unwrap();
    turn_until(&mut driver, || registration.word().tick() != seen.tick());
    registration.clear_readiness(seen);

    // The newer edge survived the clear: epoll will not report this data again, so losing
    // it here would hang the reader forever.
    let again = task.ready(&registration, Direction::Read);
    assert_eq!(read_fd(&read, &mut buf).unwrap(), 1);
    assert_eq!(buf[0], b'2');

    // Control: with no newer event, the same clear does take effect.
    registration.clear_readiness(again);
    task.assert_pending(&registration, Direction::Read);
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn both_directions_wait_at_once_on_a_socketpair() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (ours, peer) = socketpair();
    let registration = handle.register(ours.as_raw_fd(), Interest::BOTH).unwrap();
    let reader = Probe::new();
    let writer = Probe::new();
    let chunk = [7u8; 64 * 1024];
    let mut buf = [0u8; 64 * 1024];

    driver.turn(Some(Duration::ZERO)).unwrap();
    // Fill our send buffer through the reactor until the write would block.
    loop {
        match registration.poll_io(&mut writer.cx(), Direction::Write, || {
            write_fd(&ours, &chunk)
        }) {
            Poll::Ready(Ok(_)) => continue,
            Poll::Pending => break,
            Poll::Ready(Err(err)) => panic!("write: {err}"),
        }
    }
    let polled = registration.poll_io(&mut reader.cx(), Direction::Read, || {
        read_fd(&ours, &mut buf)
    });
    assert!(polled.is_pending(), "nothing to read yet");
    assert_eq!((reader.hits(), writer.hits()), (0, 0));

    // The peer sends: only the reader wakes.
    write_fd(&peer, b"ping").unwrap();
    turn_until(&mut driver, || reader.hits() > 0);
    assert_eq!(writer.hits(), 0, "the writer still has no room");
    let polled = registration.poll_io(&mut reader.cx(), Direction::Read, || {
        read_fd(&ours, &mut buf)
    });
    assert!(matches!(polled, Poll::Ready(Ok(4))));

    // The peer drains: only the writer wakes.
    let reader_hits = reader.hits();
    assert!(drain(&peer) > 0);
    turn_until(&mut driver, || writer.hits() > 0);
    assert_eq!(reader.hits(), reader_hits, "the reader was not waiting");
    let polled = registration.poll_io(&mut writer.cx(), Direction::Write, || {
        write_fd(&ours, b"pong")
    });
    assert!(matches!(polled, Poll::Ready(Ok(4))));
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn peer_close_gives_read_readiness_then_eof() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (ours, peer) = socketpair();
    let registration = handle
        .register(ours.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let task = Probe::new();
    let mut buf = [0; 8];

    driver.turn(Some(Duration::ZERO)).unwrap();
    task.assert_pending(&registration, Direction::Read);
    drop(peer);
    turn_until(&mut driver, || task.hits() > 0);

    let event = task.ready(&registration, Direction::Read);
    assert!(event.ready().is_read_closed(), "{event:?}");
    let polled = registration.poll_io(&mut task.cx(), Direction::Read, || read_fd(&ours, &mut buf));
    assert!(matches!(polled, Poll::Ready(Ok(0))), "EOF");
    // READ_CLOSED is sticky: later reads see EOF again instead of hanging.
    let polled = registration.poll_io(&mut task.cx(), Direction::Read, || read_fd(&ours, &mut buf));
    assert!(matches!(polled, Poll::Ready(Ok(0))));
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn pipe_writer_closed_gives_eof_after_the_data() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (read, write) = pipe();
    let registration = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let task = Probe::new();
    let mut buf = [0; 8];

    write_fd(&write, b"last").unwrap();
    drop(write);
    turn_until(&mut driver, || {
        task.poll_ready(&registration, Direction::Read).is_ready()
    });
    let mut op = || read_fd(&read, &mut buf);
    let first = registration.poll_io(&mut task.cx(), Direction::Read, &mut op);
    assert!(matches!(first, Poll::Ready(Ok(4))));
    let second = registration.poll_io(&mut task.cx(), Direction::Read, &mut op);
    assert!(matches!(second, Poll::Ready(Ok(0))));
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn closed_reader_wakes_a_blocked_writer_with_an_error() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (read, write) = pipe();
    let registration = handle
        .register(write.as_raw_fd(), Interest::WRITABLE)
        .unwrap();
    let task = Probe::new();

    fill(&write);
    driver.turn(Some(Duration::ZERO)).unwrap();
    let polled = registration.poll_io(&mut task.cx(), Direction::Write, || {
        write_fd(&write, b"more")
    });
    assert!(polled.is_pending(), "the pipe is full");

    drop(read); // epoll reports EPOLLERR on the write end
    turn_until(&mut driver, || task.hits() > 0);
    let event = task.ready(&registration, Direction::Write);
    assert!(event.ready().is_error(), "{event:?}");
    // The write itself surfaces the OS error (SIGPIPE is ignored by the Rust runtime).
    let polled = registration.poll_io(&mut task.cx(), Direction::Write, || {
        write_fd(&write, b"more")
    });
    match polled {
        Poll::Ready(Err(err)) => assert_eq!(err.raw_os_error(), Some(libc::EPIPE)),
        other => panic!("expected EPIPE, got {other:?}"),
    }
}

// ---- unpark and timeouts ------------------------------------------------------------------

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn unpark_from_another_thread_unblocks_turn() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (tx, rx) = mpsc::channel();
    let parked = thread::spawn(move || {
        let result = driver.turn(None);
        tx.send(result.is_ok()).unwrap();
    });

    thread::sleep(Duration::from_millis(50));
    assert_eq!(
        rx.try_recv(),
        Err(mpsc::TryRecvError::Empty),
        "turn(None) returned without an unpark"
    );
    let unparker = handle.clone();
    thread::spawn(move || unparker.unpark()).join().unwrap();
    let ok = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("unpark did not wake turn(None)");
    assert!(ok);
    parked.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn unpark_before_turn_is_not_lost() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let unparker = handle.clone();
    thread::spawn(move || {
        unparker.unpark();
        unparker.unpark();
    })
    .join()
    .unwrap();

    let start = Instant::now();
    driver.turn(Some(Duration::from_secs(10))).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the unpark was lost"
    );

    // Both unparks were consumed by that turn: the next one sleeps its full timeout.
    let start = Instant::now();
    driver.turn(Some(Duration::from_millis(20))).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn turn_with_a_timeout_sleeps_at_least_that_long() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (read, _write) = pipe();
    let registration = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let task = Probe::new();
    task.assert_pending(&registration, Direction::Read);

    for timeout in [Duration::from_millis(10), Duration::from_micros(2_500)] {
        let start = Instant::now();
        driver.turn(Some(timeout)).unwrap();
        let elapsed = start.elapsed();
        assert!(
            elapsed >= timeout,
            "returned after {elapsed:?} < {timeout:?}"
        );
    }
    assert!(driver.events.is_empty());
    assert_eq!(task.hits(), 0);

    let start = Instant::now();
    driver.turn(Some(Duration::ZERO)).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "a zero timeout polls"
    );
}

extern "C" fn ignore_signal(_: libc::c_int) {}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls and signals
fn signal_during_turn_returns_ok_without_events() {
    // SIGUSR2 with a no-op handler and no SA_RESTART: epoll_wait fails with EINTR (it is
    // never restarted anyway). Nothing else in this test binary uses SIGUSR2.
    // SAFETY: a zeroed sigaction is a valid starting point; the handler is a no-op, which
    // is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        check(libc::sigaction(
            libc::SIGUSR2,
            &action,
            std::ptr::null_mut(),
        ));
    }

    let (mut driver, _handle) = IoDriver::new().unwrap();
    let returned = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let parked = {
        let returned = returned.clone();
        thread::spawn(move || {
            // No sources and no unpark: only the signal can end this wait.
            let result = driver.turn(None);
            returned.store(true, SeqCst);
            tx.send((result.is_ok(), driver.events.len())).unwrap();
        })
    };

    // Keep signalling until the turn returns: a signal that lands before the thread
    // enters epoll_wait is handled and lost, so one is not enough.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !returned.load(SeqCst) && Instant::now() < deadline {
        // SAFETY: `parked` is not joined yet, so its pthread_t is valid.
        check(unsafe { libc::pthread_kill(parked.as_pthread_t(), libc::SIGUSR2) });
        thread::sleep(Duration::from_millis(10));
    }
    let (ok, events) = rx
        .recv_timeout(Duration::from_secs(1))
        .expect("a signal did not interrupt turn(None)");
    assert!(ok, "EINTR must not be an error");
    assert_eq!(events, 0);
    parked.join().unwrap();
}

// ---- tokens and registrations -------------------------------------------------------------

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn stale_event_for_a_reused_slot_is_ignored() {
    stale_event_for_a_reused_slot(false);
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn stale_event_after_deregister_before_close_is_ignored() {
    // The socket types' drop path: no EPOLL_CTL_DEL at all, the close is trusted to do it.
    // A dup defeats that, and the stale events must still go nowhere.
    stale_event_for_a_reused_slot(true);
}

fn stale_event_for_a_reused_slot(skip_epoll_del: bool) {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (old_read, old_write) = pipe();
    let mut old = handle
        .register(old_read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let old_token = old.token();

    // Keep the pipe alive through a dup, close the registered fd, then drop the
    // registration: EPOLL_CTL_DEL fails (EBADF), so epoll still watches the pipe and will
    // report it under the old token.
    // SAFETY: dup of an open fd; the result is owned once.
    let dup = unsafe { OwnedFd::from_raw_fd(check(libc::dup(old_read.as_raw_fd()))) };
    if skip_epoll_del {
        old.deregister_before_close();
    }
    drop(old_read);
    drop(old);

    let (new_read, _new_write) = pipe();
    let new = handle
        .register(new_read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    assert_eq!(slab::split(new.token()).0, slab::split(old_token).0);
    assert_ne!(new.token(), old_token, "same slot, new generation");
    let task = Probe::new();
    task.assert_pending(&new, Direction::Read);

    write_fd(&old_write, b"stale").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while driver.stale_events == 0 {
        assert!(
            Instant::now() < deadline,
            "epoll never reported the old pipe"
        );
        driver.turn(Some(Duration::from_millis(10))).unwrap();
    }
    assert_eq!(task.hits(), 0, "the new source was not woken");
    task.assert_pending(&new, Direction::Read);
    drop(dup);
}

#[test]
#[cfg_attr(miri, ignore)] // epoll_create1
fn synthetic_stale_tokens_are_ignored() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (read, _write) = pipe();
    let old = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let old_token = old.token();
    drop(old);
    let current = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let task = Probe::new();
    task.assert_pending(&current, Direction::Read);

    let flags = (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
    driver.events.push(old_token, flags);
    driver.events.push(slab::token(999, 0), flags); // never allocated
    driver.dispatch();
    assert_eq!(driver.stale_events, 2);
    assert_eq!(task.hits(), 0);

    driver.events.push(current.token(), flags);
    driver.dispatch();
    assert_eq!(task.hits(), 1);
    let event = task.ready(&current, Direction::Read);
    assert_eq!(event.ready(), Ready::READABLE | Ready::READ_CLOSED);
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn deregister_does_not_close_the_fd() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (read, write) = pipe();
    let mut registration = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    registration.deregister().unwrap();
    registration.deregister().unwrap(); // idempotent
    assert!(is_open(read.as_raw_fd()));
    let polled = Probe::new().poll_ready(&registration, Direction::Read);
    assert!(matches!(polled, Poll::Ready(Err(_))), "{polled:?}");
    drop(registration); // drop after deregister: no second DEL, no close

    // Still open and usable, and really out of epoll: registering it again is no EEXIST.
    assert!(is_open(read.as_raw_fd()));
    let again = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    drop(again); // deregistration by drop: also keeps the fd
    assert!(is_open(read.as_raw_fd()));

    write_fd(&write, b"ok").unwrap();
    let mut buf = [0; 2];
    assert_eq!(read_fd(&read, &mut buf).unwrap(), 2);
    driver.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(handle.shared.sources().slab.len(), 0);
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn register_errors_leave_no_slot_behind() {
    let (_driver, handle) = IoDriver::new().unwrap();
    let err = handle.register(-1, Interest::READABLE).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EBADF));

    // epoll refuses regular files: they are always ready.
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let err = handle
        .register(file.as_raw_fd(), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM));

    let (read, _write) = pipe();
    let first = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let err = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
    assert_eq!(handle.shared.sources().slab.len(), 1);
    drop(first);
    assert_eq!(handle.shared.sources().slab.len(), 0);
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn polling_an_unregistered_direction_is_an_error() {
    let (_driver, handle) = IoDriver::new().unwrap();
    let (read, _write) = pipe();
    let registration = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    match Probe::new().poll_ready(&registration, Direction::Write) {
        Poll::Ready(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::InvalidInput),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn a_thousand_registrations_all_get_their_events() {
    const N: usize = 1_000;
    ensure_fd_limit(4 * N as u64); // two fds per pipe, plus the other tests running alongside
    let (mut driver, handle) = IoDriver::new().unwrap();
    let pipes: Vec<_> = (0..N).map(|_| pipe()).collect();
    let registrations: Vec<_> = pipes
        .iter()
        .map(|(read, _)| {
            handle
                .register(read.as_raw_fd(), Interest::READABLE)
                .unwrap()
        })
        .collect();
    let tasks: Vec<_> = (0..N).map(|_| Probe::new()).collect();
    for (task, registration) in tasks.iter().zip(&registrations) {
        task.assert_pending(registration, Direction::Read);
    }

    for (_, write) in &pipes {
        write_fd(write, b"!").unwrap();
    }
    turn_until(&mut driver, || tasks.iter().all(|task| task.hits() > 0));

    let mut buf = [0; 4];
    for ((task, registration), (read, _)) in tasks.iter().zip(&registrations).zip(&pipes) {
        assert_eq!(task.hits(), 1);
        assert!(
            task.ready(registration, Direction::Read)
                .ready()
                .is_readable()
        );
        assert_eq!(read_fd(read, &mut buf).unwrap(), 1);
    }
    assert_eq!(handle.shared.sources().slab.len(), N);
    drop(registrations);
    assert_eq!(handle.shared.sources().slab.len(), 0);
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn more_ready_sources_than_the_event_buffer_takes_several_turns() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    driver.events = Events::with_capacity(4);
    let capacity = driver.events.capacity();
    let count = capacity * 3 + 1;
    let pipes: Vec<_> = (0..count).map(|_| pipe()).collect();
    let registrations: Vec<_> = pipes
        .iter()
        .map(|(read, _)| {
            handle
                .register(read.as_raw_fd(), Interest::READABLE)
                .unwrap()
        })
        .collect();
    let tasks: Vec<_> = (0..count).map(|_| Probe::new()).collect();
    for (task, registration) in tasks.iter().zip(&registrations) {
        task.assert_pending(registration, Direction::Read);
    }
    for (_, write) in &pipes {
        write_fd(write, b"!").unwrap();
    }
    let mut turns = 0;
    turn_until(&mut driver, || {
        turns += 1;
        tasks.iter().all(|task| task.hits() == 1)
    });
    assert!(turns > 4, "{count} events cannot fit in fewer than 4 turns");
}

// ---- shutdown -----------------------------------------------------------------------------

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn shutdown_wakes_waiters_and_later_polls_error() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (ours, _peer) = socketpair();
    let registration = handle.register(ours.as_raw_fd(), Interest::BOTH).unwrap();
    let reader = Probe::new();
    let writer = Probe::new();
    reader.assert_pending(&registration, Direction::Read);
    writer.assert_pending(&registration, Direction::Write);

    driver.shutdown();
    assert_eq!((reader.hits(), writer.hits()), (1, 1));
    for direction in [Direction::Read, Direction::Write] {
        let polled = reader.poll_ready(&registration, direction);
        assert!(matches!(polled, Poll::Ready(Err(_))), "{polled:?}");
    }
    let polled = registration.poll_io(&mut reader.cx(), Direction::Read, || Ok(()));
    assert!(matches!(polled, Poll::Ready(Err(_))));

    let (other, _) = pipe();
    assert!(
        handle
            .register(other.as_raw_fd(), Interest::READABLE)
            .is_err()
    );
    driver.shutdown(); // idempotent
    drop(registration); // still deregisters cleanly
    assert_eq!(handle.shared.sources().slab.len(), 0);
    assert!(is_open(ours.as_raw_fd()));
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn dropping_the_driver_shuts_it_down() {
    let (driver, handle) = IoDriver::new().unwrap();
    let (read, _write) = pipe();
    let registration = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let task = Probe::new();
    task.assert_pending(&registration, Direction::Read);
    drop(driver);
    assert_eq!(task.hits(), 1);
    assert!(matches!(
        task.poll_ready(&registration, Direction::Read),
        Poll::Ready(Err(_))
    ));
}

// ---- budget, threads, types ---------------------------------------------------------------

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn ready_spends_cooperative_budget() {
    let (mut driver, handle) = IoDriver::new().unwrap();
    let (_read, write) = pipe();
    let registration = handle
        .register(write.as_raw_fd(), Interest::WRITABLE)
        .unwrap();
    driver.turn(Some(Duration::ZERO)).unwrap();
    let task = Probe::new();

    coop::budget(|| {
        for _ in 0..coop::INITIAL {
            task.ready(&registration, Direction::Write);
        }
        assert!(
            task.poll_ready(&registration, Direction::Write)
                .is_pending()
        );
        assert_eq!(task.hits(), 1, "out of budget: the task is woken to yield");
    });
    coop::budget(|| {
        task.ready(&registration, Direction::Write);
    });
}

#[test]
#[cfg_attr(miri, ignore)] // epoll syscalls
fn driver_thread_and_task_thread_stream_data() {
    // The real shape: one thread parks in the driver, a task on another thread reads
    // through poll_io, a third thread writes. Every byte must arrive with no lost wake-up.
    const MESSAGES: usize = 2_000;
    let (mut driver, handle) = IoDriver::new().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let driver_thread = {
        let stop = stop.clone();
        thread::spawn(move || {
            while !stop.load(SeqCst) {
                driver.turn(None).unwrap();
            }
        })
    };

    let (read, write) = pipe();
    let registration = handle
        .register(read.as_raw_fd(), Interest::READABLE)
        .unwrap();
    let writer = thread::spawn(move || {
        for i in 0..MESSAGES {
            let byte = [(i % 251) as u8];
            loop {
                match write_fd(&write, &byte) {
                    Ok(1) => break,
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => thread::yield_now(),
                    other => panic!("write: {other:?}"),
                }
            }
            if i % 64 == 0 {
                thread::sleep(Duration::from_micros(100));
            }
        }
    });

    let mut received = Vec::with_capacity(MESSAGES);
    while received.len() < MESSAGES {
        let mut buf = [0u8; 256];
        let n = block_on(std::future::poll_fn(|cx| {
            registration.poll_io(cx, Direction::Read, || read_fd(&read, &mut buf))
        }))
        .unwrap();
        assert!(n > 0, "unexpected EOF");
        received.extend_from_slice(&buf[..n]);
    }
    writer.join().unwrap();
    let expected: Vec<u8> = (0..MESSAGES).map(|i| (i % 251) as u8).collect();
    assert_eq!(received, expected);

    stop.store(true, SeqCst);
    handle.unpark();
    driver_thread.join().unwrap();
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<IoHandle>();
    send_sync::<Registration>();
    send::<IoDriver>();
}
