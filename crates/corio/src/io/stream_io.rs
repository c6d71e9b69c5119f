//! A socket on whichever I/O driver its runtime chose: the backend enum behind the public
//! socket types (`TcpStream`, `TcpListener`).
//!
//! On an epoll runtime it is a readiness [`Source`]; on an io_uring runtime a [`RingSocket`]
//! whose reads, writes and accepts are ring operations. The choice is made once, when the
//! socket is wrapped, from the current runtime; a socket stays on its driver for life.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::task::{Context, Poll};

use crate::io::ring::RingSocket;
use crate::io::source::Source;
use crate::runtime::context;

pub(crate) enum StreamIo<T: AsRawFd> {
    Epoll(Source<T>),
    Ring(RingSocket<T>),
}

impl<T: AsRawFd> StreamIo<T> {
    /// Wraps `io` (already non-blocking) for the current runtime's driver.
    pub(crate) fn new(io: T) -> io::Result<StreamIo<T>> {
        let ring = context::with_current(|h| h.driver().uring.clone())
            .map_err(|err| io::Error::other(format!("corio: {err}")))?;
        match ring {
            Some(ring) => Ok(StreamIo::Ring(RingSocket::new(io, ring))),
            None => Ok(StreamIo::Epoll(Source::new(io)?)),
        }
    }

    pub(crate) fn get_ref(&self) -> &T {
        match self {
            StreamIo::Epoll(source) => source.get_ref(),
            StreamIo::Ring(ring) => ring.get_ref(),
        }
    }

    pub(crate) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Read,
    {
        match self {
            StreamIo::Epoll(source) => source.poll_read(cx, buf),
            StreamIo::Ring(ring) => ring.poll_read(cx, buf),
        }
    }

    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Read,
    {
        match self {
            StreamIo::Epoll(source) => source.poll_read_vectored(cx, bufs),
            StreamIo::Ring(ring) => ring.poll_read_vectored(cx, bufs),
        }
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Write,
    {
        match self {
            StreamIo::Epoll(source) => source.poll_write(cx, buf),
            StreamIo::Ring(ring) => ring.poll_write(cx, buf),
        }
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Write,
    {
        match self {
            StreamIo::Epoll(source) => source.poll_write_vectored(cx, bufs),
            StreamIo::Ring(ring) => ring.poll_write_vectored(cx, bufs),
        }
    }

    /// Epoll writes go straight to the kernel; ring writes wait for their send here.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            StreamIo::Epoll(_) => Poll::Ready(Ok(())),
            StreamIo::Ring(ring) => ring.poll_flush(cx),
        }
    }

    /// Copies received bytes without consuming them; `peek` is the epoll backend's.
    pub(crate) fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        peek: impl FnMut(&T, &mut [u8]) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        match self {
            StreamIo::Epoll(source) => {
                let mut peek = peek;
                source.poll_read_io(cx, |io| peek(io, buf))
            }
            StreamIo::Ring(ring) => ring.poll_peek(cx, buf),
        }
    }

    /// A connection from a listener; `accept` is the epoll backend's non-blocking accept.
    pub(crate) fn poll_accept(
        &self,
        cx: &mut Context<'_>,
        accept: impl FnMut(&T) -> io::Result<(OwnedFd, SocketAddr)>,
    ) -> Poll<io::Result<(OwnedFd, SocketAddr)>> {
        match self {
            StreamIo::Epoll(source) => source.poll_read_io(cx, accept),
            StreamIo::Ring(ring) => ring.poll_accept(cx),
        }
    }

    /// Waits for an epoll connect to finish (writable). A ring connect is an op of its own
    /// (`io::ring::start_connect`), so this is ready at once there.
    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            StreamIo::Epoll(source) => source.poll_write_ready(cx),
            StreamIo::Ring(_) => Poll::Ready(Ok(())),
        }
    }

    /// `shutdown(2)`; on the ring, ordered after the writes already reported.
    pub(crate) fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()>
    where
        T: std::os::fd::AsFd,
    {
        match self {
            StreamIo::Epoll(source) => socket2::SockRef::from(source.get_ref()).shutdown(how),
            StreamIo::Ring(ring) => ring.shutdown(how),
        }
    }

    /// Hands back the std object (deregistered, or with its ring ops cancelled).
    pub(crate) fn into_inner(self) -> io::Result<T> {
        match self {
            StreamIo::Epoll(source) => source.into_inner(),
            StreamIo::Ring(ring) => ring.into_inner(),
        }
    }
}

impl<T: AsRawFd + std::fmt::Debug> std::fmt::Debug for StreamIo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamIo::Epoll(source) => source.fmt(f),
            StreamIo::Ring(ring) => ring.fmt(f),
        }
    }
}
