//! A source's handle on the reactor: wait for readiness, run an operation, deregister.
//!
//! The owner of the fd holds one `Registration`. It must deregister (or drop the
//! registration) *before* closing the fd: epoll silently forgets a closed fd (a task still
//! waiting on it would never hear of it), and an `EPOLL_CTL_DEL` issued after the close
//! could remove an unrelated fd that reused the number.

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::epoll::Interest;
#[cfg(test)]
use super::ready::Word;
use super::ready::{Direction, ReadyEvent};
use super::scheduled_io::ScheduledIo;
use super::{IoHandle, shutdown_error};
use crate::scheduler::coop;

/// One fd registered with the reactor. `Send + Sync`; dropping it deregisters (the fd
/// itself is never closed here).
pub(crate) struct Registration {
    handle: IoHandle,
    io: Arc<ScheduledIo>,
    fd: RawFd,
    token: u64,
    interest: Interest,
    registered: bool,
}

impl Registration {
    pub(super) fn new(
        handle: IoHandle,
        io: Arc<ScheduledIo>,
        fd: RawFd,
        token: u64,
        interest: Interest,
    ) -> Registration {
        Registration {
            handle,
            io,
            fd,
            token,
            interest,
            registered: true,
        }
    }

    /// Ready when an operation in `direction` is worth trying.
    ///
    /// That includes a closed direction or a pending error (`EPOLLERR`/`EPOLLHUP`): the
    /// operation itself then reports EOF or the OS error. Errors here are the reactor's:
    /// the driver shut down, the registration was deregistered, or `direction` is not in
    /// the registered interest.
    ///
    /// At most one task per direction may wait at a time; a second one replaces the first's
    /// waker. Each `Ready` spends one unit of the task's cooperative budget.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        if !self.registered {
            return Poll::Ready(Err(io::Error::other(
                "corio: the source was deregistered from the I/O driver",
            )));
        }
        let wanted = match direction {
            Direction::Read => self.interest.is_readable(),
            Direction::Write => self.interest.is_writable(),
        };
        if !wanted {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("corio: source not registered for {direction:?} readiness"),
            )));
        }
        let coop = ready!(coop::poll_proceed(cx));
        let result = ready!(self.io.poll_readiness(cx, direction)).ok_or_else(shutdown_error);
        coop.made_progress();
        Poll::Ready(result)
    }

    /// Forgets the readiness `event` reported, after an operation hit `WouldBlock`.
    /// Readiness from an event newer than `event` is kept, so no edge is lost.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event);
    }

    /// Runs `op` once the source is ready in `direction`; on `WouldBlock` clears the
    /// readiness and waits for the next edge. Any other result (including other errors)
    /// is returned as is. `op` must be a non-blocking operation on this source.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_until_drained(cx, direction, op, |_| false)
    }

    /// [`poll_io`](Self::poll_io), plus: when `drained` says a success emptied the kernel
    /// buffer (a stream read or write that moved fewer bytes than asked), the readiness is
    /// cleared at once, so the next call waits for an edge instead of spending a syscall
    /// to learn `WouldBlock`. Safe with edge-triggered epoll: data arriving after the
    /// operation is a new edge (the tick moves, so the clear is skipped), and sticky bits
    /// (peer closed, error) are never cleared.
    pub(crate) fn poll_io_until_drained<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = ready!(self.poll_ready(cx, direction))?;
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.clear_readiness(event);
                }
                Ok(done) => {
                    if drained(&done) {
                        self.clear_readiness(event);
                    }
                    return Poll::Ready(Ok(done));
                }
                result => return Poll::Ready(result),
            }
        }
    }

    /// Removes the fd from epoll and frees the slot; the fd stays open. Idempotent: a
    /// second call (or the drop after it) does nothing. Later polls return an error.
    ///
    /// The slot is freed even if `EPOLL_CTL_DEL` fails (typically because the fd was
    /// already closed); that error is returned.
    pub(crate) fn deregister(&mut self) -> io::Result<()> {
        if !std::mem::replace(&mut self.registered, false) {
            return Ok(());
        }
        let result = self.handle.deregister(self.fd, self.token);
        self.io.clear_wakers();
        result
    }

    /// Deregisters an fd its owner is about to close, without `EPOLL_CTL_DEL`: closing
    /// the last descriptor of a file removes it from epoll anyway, so the syscall would be
    /// wasted (one per connection). Idempotent like `deregister`.
    pub(crate) fn deregister_before_close(&mut self) {
        if !std::mem::replace(&mut self.registered, false) {
            return;
        }
        self.handle.release(self.token);
        self.io.clear_wakers();
    }
}

#[cfg(test)]
impl Registration {
    pub(super) fn token(&self) -> u64 {
        self.token
    }

    pub(super) fn word(&self) -> Word {
        self.io.word()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = self.deregister();
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("fd", &self.fd)
            .field("token", &self.token)
            .field("interest", &self.interest)
            .field("registered", &self.registered)
            .finish()
    }
}
