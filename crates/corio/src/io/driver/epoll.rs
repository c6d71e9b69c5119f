//! The epoll system calls behind a small safe API: one [`Poller`] per reactor.
//!
//! Every source is registered edge-triggered (`EPOLLET`) with `EPOLLRDHUP`: an event reports
//! a *change*, and the layer above keeps the readiness until an operation sees `WouldBlock`.
//! An eventfd registered under [`WAKE_TOKEN`] lets any thread interrupt a blocked
//! [`Poller::wait`]; `wait` drains it and hands back only I/O events.
//!
//! Nothing here knows about tasks or wakers; tokens are opaque `u64`s chosen by the caller.

use std::io;
use std::ops::BitOr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use libc::c_int;

/// Token of the wake-up eventfd. The reactor never gives it to a source.
pub(crate) const WAKE_TOKEN: u64 = u64::MAX;

/// Which readiness a source is registered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Interest(u8);

impl Interest {
    pub(crate) const READABLE: Interest = Interest(0b01);
    pub(crate) const WRITABLE: Interest = Interest(0b10);
    #[cfg(test)]
    pub(crate) const BOTH: Interest = Interest(0b11);

    pub(crate) const fn is_readable(self) -> bool {
        self.0 & Interest::READABLE.0 != 0
    }

    pub(crate) const fn is_writable(self) -> bool {
        self.0 & Interest::WRITABLE.0 != 0
    }

    /// The `epoll_event.events` mask: always edge-triggered, always told about peer shutdown.
    /// (`EPOLLERR` and `EPOLLHUP` are reported whether asked for or not.)
    const fn epoll_flags(self) -> u32 {
        let mut flags = libc::EPOLLET | libc::EPOLLRDHUP;
        if self.is_readable() {
            flags |= libc::EPOLLIN;
        }
        if self.is_writable() {
            flags |= libc::EPOLLOUT;
        }
        flags as u32
    }
}

impl BitOr for Interest {
    type Output = Interest;

    fn bitor(self, rhs: Interest) -> Interest {
        Interest(self.0 | rhs.0)
    }
}

/// An epoll instance plus the eventfd that wakes it.
#[derive(Debug)]
pub(crate) struct Poller {
    epoll: OwnedFd,
    wake: OwnedFd,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        // SAFETY: epoll_create1 takes no pointers; on success it returns a new fd that
        // nothing else owns.
        let epoll = unsafe { owned_fd(libc::epoll_create1(libc::EPOLL_CLOEXEC))? };
        // SAFETY: as above, for eventfd.
        let wake = unsafe { owned_fd(libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC))? };
        let poller = Poller { epoll, wake };
        let flags = (libc::EPOLLIN | libc::EPOLLET) as u32;
        poller.ctl(
            libc::EPOLL_CTL_ADD,
            poller.wake.as_raw_fd(),
            WAKE_TOKEN,
            flags,
        )?;
        Ok(poller)
    }

    /// The epoll fd itself (the io_uring driver polls it).
    pub(crate) fn epoll_fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }

    /// Starts watching `fd`; its events will carry `token`.
    pub(crate) fn add(&self, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        debug_assert_ne!(token, WAKE_TOKEN, "token reserved for wake-ups");
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, interest.epoll_flags())
    }

    /// Changes the token or interest of a watched `fd`.
    #[cfg(test)]
    pub(crate) fn modify(&self, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        debug_assert_ne!(token, WAKE_TOKEN, "token reserved for wake-ups");
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, interest.epoll_flags())
    }

    /// Stops watching `fd`. Never closes it.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    fn ctl(&self, op: c_int, fd: RawFd, token: u64, flags: u32) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: flags,
            u64: token,
        };
        // SAFETY: `event` is a live, initialised epoll_event that the kernel only reads
        // during the call (DEL ignores it, but old kernels want a non-null pointer).
        cvt(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    /// Waits for events (at most `events.capacity()` of them) or until `timeout` passes.
    ///
    /// `None` blocks until an event or a [`wake`](Poller::wake). The timeout is rounded up
    /// to whole milliseconds so the call never returns early (except past `i32::MAX` ms,
    /// about 24 days, which is clamped). A signal interrupting the wait (`EINTR`) is not an
    /// error: the call returns `Ok` with no events, like a spurious wake-up.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.list.clear();
        let max = events.list.capacity().min(c_int::MAX as usize) as c_int;
        let timeout = timeout.map_or(-1, timeout_ms);
        // SAFETY: the pointer and `max` describe the spare capacity of `events.list` (it
        // was just cleared), which the kernel fills with at most `max` entries.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.list.as_mut_ptr(),
                max,
                timeout,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::Interrupted => Ok(()),
                _ => Err(err),
            };
        }
        // SAFETY: epoll_wait initialised the first `n` entries, and `n <= max <= capacity`.
        unsafe { events.list.set_len(n as usize) };

        let before = events.list.len();
        events.list.retain(|event| ({ event.u64 }) != WAKE_TOKEN);
        if events.list.len() != before {
            self.drain_wake();
        }
        Ok(())
    }

    /// Makes a blocked or the next [`wait`](Poller::wait) return. Callable from any thread.
    pub(crate) fn wake(&self) -> io::Result<()> {
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of a live u64, the unit an eventfd expects.
        let n = unsafe {
            libc::write(
                self.wake.as_raw_fd(),
                (&raw const one).cast::<libc::c_void>(),
                size_of::<u64>(),
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            // EAGAIN: the counter is saturated, so a wake-up is already pending.
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Resets the eventfd counter, so the next wake-up is a new edge and a new event.
    fn drain_wake(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64. A failure (EAGAIN: nothing to
        // drain) leaves nothing to undo.
        let _ = unsafe {
            libc::read(
                self.wake.as_raw_fd(),
                (&raw mut count).cast::<libc::c_void>(),
                size_of::<u64>(),
            )
        };
    }
}

/// A reusable buffer of events filled by [`Poller::wait`].
pub(crate) struct Events {
    list: Vec<libc::epoll_event>,
}

impl Events {
    pub(crate) fn with_capacity(capacity: usize) -> Events {
        Events {
            list: Vec::with_capacity(capacity.max(1)),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.list.capacity()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.list.iter().map(|event| Event {
            token: event.u64,
            flags: event.events,
        })
    }

    /// Appends a synthetic event (tests feed the dispatcher without the kernel).
    #[cfg(test)]
    pub(crate) fn push(&mut self, token: u64, flags: u32) {
        self.list.push(libc::epoll_event {
            events: flags,
            u64: token,
        });
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One source's event: its token and what epoll reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    token: u64,
    flags: u32,
}

impl Event {
    pub(crate) fn token(self) -> u64 {
        self.token
    }

    pub(crate) fn is_readable(self) -> bool {
        self.has(libc::EPOLLIN)
    }

    pub(crate) fn is_writable(self) -> bool {
        self.has(libc::EPOLLOUT)
    }

    /// The peer shut down its writing side (`EPOLLRDHUP`), or the whole fd hung up.
    pub(crate) fn is_read_closed(self) -> bool {
        self.has(libc::EPOLLRDHUP | libc::EPOLLHUP)
    }

    /// Both directions hung up (`EPOLLHUP`). A pipe whose reader is gone reports `EPOLLERR`
    /// instead, which surfaces as `EPIPE` from the write itself.
    pub(crate) fn is_write_closed(self) -> bool {
        self.has(libc::EPOLLHUP)
    }

    pub(crate) fn is_error(self) -> bool {
        self.has(libc::EPOLLERR)
    }

    fn has(self, mask: c_int) -> bool {
        self.flags & mask as u32 != 0
    }
}

/// `Some(d)` in whole milliseconds, rounded up (so a wait never ends before `d`) and
/// clamped to what `epoll_wait` accepts.
pub(crate) fn timeout_ms(timeout: Duration) -> c_int {
    let ms = timeout.as_nanos().div_ceil(1_000_000);
    ms.min(c_int::MAX as u128) as c_int
}

/// Turns a syscall's `-1` into the thread's `errno`.
fn cvt(ret: c_int) -> io::Result<c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Takes ownership of the fd a syscall just returned.
///
/// # Safety
/// `ret` must be the result of a syscall that, when non-negative, returns a new fd owned by
/// no one else.
unsafe fn owned_fd(ret: c_int) -> io::Result<OwnedFd> {
    let fd = cvt(ret)?;
    // SAFETY: the caller promises `fd` is new and unowned; `cvt` ruled out -1.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn timeout_rounds_up_to_whole_ms() {
        assert_eq!(timeout_ms(Duration::ZERO), 0);
        assert_eq!(timeout_ms(Duration::from_nanos(1)), 1);
        assert_eq!(timeout_ms(Duration::from_micros(999)), 1);
        assert_eq!(timeout_ms(Duration::from_millis(1)), 1);
        assert_eq!(timeout_ms(Duration::from_micros(1_001)), 2);
        assert_eq!(timeout_ms(Duration::from_millis(10)), 10);
        assert_eq!(timeout_ms(Duration::from_secs(u64::MAX)), c_int::MAX);
    }

    #[test]
    fn interest_flags() {
        assert!(Interest::READABLE.is_readable() && !Interest::READABLE.is_writable());
        assert!(Interest::WRITABLE.is_writable() && !Interest::WRITABLE.is_readable());
        assert_eq!(Interest::READABLE | Interest::WRITABLE, Interest::BOTH);
        let both = Interest::BOTH.epoll_flags();
        for flag in [
            libc::EPOLLET,
            libc::EPOLLRDHUP,
            libc::EPOLLIN,
            libc::EPOLLOUT,
        ] {
            assert_ne!(both & flag as u32, 0);
        }
        assert_eq!(Interest::READABLE.epoll_flags() & libc::EPOLLOUT as u32, 0);
        assert_eq!(Interest::WRITABLE.epoll_flags() & libc::EPOLLIN as u32, 0);
    }

    #[test]
    fn event_flag_mapping() {
        let event = |flags: c_int| Event {
            token: 7,
            flags: flags as u32,
        };
        assert!(event(libc::EPOLLIN).is_readable());
        assert!(event(libc::EPOLLOUT).is_writable());
        let rdhup = event(libc::EPOLLIN | libc::EPOLLRDHUP);
        assert!(rdhup.is_read_closed() && !rdhup.is_write_closed());
        let hup = event(libc::EPOLLHUP);
        assert!(hup.is_read_closed() && hup.is_write_closed() && !hup.is_readable());
        let err = event(libc::EPOLLERR);
        assert!(err.is_error() && !err.is_write_closed());
        assert_eq!(err.token(), 7);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // epoll syscalls
    fn wake_interrupts_wait_and_is_drained() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);

        poller.wake().unwrap();
        poller.wake().unwrap();
        let start = Instant::now();
        poller.wait(&mut events, None).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(events.is_empty(), "the wake-up is not an I/O event");

        // Both wakes were drained by that one wait: the next one times out.
        let start = Instant::now();
        poller
            .wait(&mut events, Some(Duration::from_millis(20)))
            .unwrap();
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(events.is_empty());
    }

    #[test]
    #[cfg_attr(miri, ignore)] // epoll syscalls
    fn add_modify_delete() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two fds pipe2 writes.
        assert_eq!(
            unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) },
            0
        );
        // SAFETY: pipe2 just created both fds; each is owned once.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };

        poller
            .add(write.as_raw_fd(), 1, Interest::WRITABLE)
            .unwrap();
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        let got: Vec<_> = events.iter().collect();
        assert_eq!(got.len(), 1);
        assert!(got[0].is_writable() && got[0].token() == 1);

        // Edge-triggered: no change, no event.
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());

        // MOD re-arms and reports the current state under the new token.
        poller
            .modify(write.as_raw_fd(), 2, Interest::WRITABLE)
            .unwrap();
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.iter().map(Event::token).collect::<Vec<_>>(), [2]);

        poller.delete(write.as_raw_fd()).unwrap();
        let err = poller.delete(write.as_raw_fd()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        drop(read);
    }
}
