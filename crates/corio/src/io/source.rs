//! A non-blocking file descriptor registered with the runtime's reactor.
//!
//! Every socket type (and each child-process pipe) wraps one `Source`: it owns the std object (and so the fd) plus its
//! registration, and runs each non-blocking operation through `Registration::poll_io`, which
//! waits for readiness, retries after `WouldBlock`, and never loses an edge.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

use crate::io::driver::{Direction, Interest, Registration};
use crate::runtime::context;

pub(crate) struct Source<T: AsRawFd> {
    io: Option<T>,
    registration: Registration,
}

impl<T: AsRawFd> Source<T> {
    /// Registers `io` (already non-blocking) with the current runtime's reactor.
    pub(crate) fn new(io: T) -> io::Result<Source<T>> {
        let handle = context::with_current(|h| h.driver().io.clone())
            .map_err(|err| io::Error::other(format!("corio: {err}")))?;
        let registration =
            handle.register(io.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
        Ok(Source {
            io: Some(io),
            registration,
        })
    }

    pub(crate) fn get_ref(&self) -> &T {
        self.io.as_ref().expect("source used after into_inner")
    }

    /// Runs `op` when the source is readable; retries after `WouldBlock` and `Interrupted`.
    pub(crate) fn poll_read_io<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Read, op)
    }

    /// Runs `op` when the source is writable; retries after `WouldBlock` and `Interrupted`.
    pub(crate) fn poll_write_io<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Write, op)
    }

    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.get_ref();
        self.registration
            .poll_io(cx, direction, || retry_interrupted(|| op(io)))
    }

    /// Runs a stream transfer of up to `len` bytes when ready in `direction`; a transfer
    /// shorter than asked means the kernel buffer was drained (reads) or filled (writes),
    /// so readiness is cleared without a `WouldBlock` round trip.
    fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        len: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let io = self.get_ref();
        self.registration.poll_io_until_drained(
            cx,
            direction,
            || retry_interrupted(|| op(io)),
            |&n| n > 0 && n < len,
        )
    }

    /// `read` when readable; the `AsyncRead` of every stream socket and pipe.
    pub(crate) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Read,
    {
        let len = buf.len();
        self.poll_transfer(cx, Direction::Read, len, |mut io| io.read(buf))
    }

    /// `read_vectored` when readable.
    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Read,
    {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_transfer(cx, Direction::Read, len, |mut io| io.read_vectored(bufs))
    }

    /// `write` when writable; the `AsyncWrite` of every stream socket and pipe.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Write,
    {
        self.poll_transfer(cx, Direction::Write, buf.len(), |mut io| io.write(buf))
    }

    /// `write_vectored` when writable.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Write,
    {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_transfer(cx, Direction::Write, len, |mut io| io.write_vectored(bufs))
    }

    /// Writes go straight to the kernel: nothing to flush.
    pub(crate) fn poll_flush(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Waits until the source reports writability (a non-blocking connect finishing).
    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.registration
            .poll_ready(cx, Direction::Write)
            .map_ok(|_| ())
    }

    /// Deregisters and hands back the std object.
    pub(crate) fn into_inner(mut self) -> io::Result<T> {
        self.registration.deregister()?;
        Ok(self.io.take().expect("source used after into_inner"))
    }
}

fn retry_interrupted<R>(mut op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
    loop {
        match op() {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

impl<T: AsRawFd> Drop for Source<T> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            // Free our slot before the fd closes, so a reused fd number never gets our
            // events; the close itself takes the fd out of the epoll set.
            self.registration.deregister_before_close();
            drop(io);
        }
    }
}

impl<T: AsRawFd + std::fmt::Debug> std::fmt::Debug for Source<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.fmt(f)
    }
}
