//! `UnixDatagram`: Unix-domain datagrams without blocking the loop.

use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use crate::io::source::Source;

/// A Unix-domain datagram socket.
///
/// Unconnected, it sends to any path (`send_to`) and receives from anyone (`recv_from`);
/// after [`connect`](UnixDatagram::connect) (or from [`pair`](UnixDatagram::pair)) it talks
/// to one peer (`send` / `recv`). Like [`UnixListener`](super::UnixListener), a bound socket
/// leaves its file behind when dropped.
///
/// ```
/// use corio::net::UnixDatagram;
///
/// corio::run(async {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     a.send(b"ping").await.unwrap();
///     let mut buf = [0; 16];
///     let n = b.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"ping");
/// });
/// ```
#[derive(Debug)]
pub struct UnixDatagram {
    source: Source<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Creates a socket bound to `path`.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// Creates a socket bound to no address: it can send, but only a peer it is connected to
    /// (or that learns its autobound address) can reply.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A pair of unnamed sockets connected to each other.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Wraps a std socket (switching it to non-blocking mode).
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Ok(UnixDatagram {
            source: Source::new(socket)?,
        })
    }

    /// Unwraps the std socket (still in non-blocking mode).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.source.into_inner()
    }

    fn std(&self) -> &std::os::unix::net::UnixDatagram {
        self.source.get_ref()
    }

    /// Sets the default peer: `send` goes to the socket bound at `path`, and `recv` only
    /// accepts datagrams from it. Connecting a datagram socket never blocks.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.std().connect(path)
    }

    /// Sends `buf` to the connected peer; returns the bytes sent.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.source.poll_write_io(cx, |s| s.send(buf))).await
    }

    /// Receives one datagram from the connected peer into `buf`; returns its length (a
    /// datagram longer than `buf` is truncated).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.source.poll_read_io(cx, |s| s.recv(buf))).await
    }

    /// Sends `buf` to the socket bound at `path`; returns the bytes sent.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        poll_fn(|cx| self.source.poll_write_io(cx, |s| s.send_to(buf, path))).await
    }

    /// Receives one datagram into `buf`; returns its length and the sender's address.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.source.poll_read_io(cx, |s| s.recv_from(buf))).await
    }

    /// The local address (unnamed unless bound).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.std().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.std().peer_addr()
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.std().shutdown(how)
    }

    /// The pending socket error (SO_ERROR), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.std().take_error()
    }
}
