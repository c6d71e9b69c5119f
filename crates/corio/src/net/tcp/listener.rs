//! `TcpListener`: accept connections without blocking the loop.

use std::future::{Future as _, poll_fn};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::TcpStream;
use crate::io::stream_io::StreamIo;
use crate::time::{Sleep, sleep};

/// How long `incoming` waits before retrying after the process ran out of file descriptors.
const FD_EXHAUSTED_BACKOFF: Duration = Duration::from_millis(50);

/// A TCP socket server, listening for connections.
///
/// ```
/// use corio::net::{TcpListener, TcpStream};
///
/// corio::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = corio::spawn(async move { TcpStream::connect(addr).await.unwrap() });
///     let (_server_side, peer) = listener.accept().await.unwrap();
///     let client = client.await.unwrap();
///     assert_eq!(peer, client.local_addr().unwrap());
/// });
/// ```
#[derive(Debug)]
pub struct TcpListener {
    source: StreamIo<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (each resolved address in turn, first success wins) and listens.
    ///
    /// Host names resolve with the system resolver on the calling thread; use
    /// [`lookup_host`](crate::net::lookup_host) first to keep a slow resolver off the loop.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last_err = None;
        for addr in addr.to_socket_addrs()? {
            match bind_addr(addr) {
                Ok(listener) => return TcpListener::from_std(listener),
                Err(err) => last_err = Some(err),
            }
        }
        Err(last_err.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to bind to")
        }))
    }

    /// Wraps a std listener (switching it to non-blocking mode).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            source: StreamIo::new(listener)?,
        })
    }

    /// Unwraps the std listener (still in non-blocking mode).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.source.into_inner()
    }

    /// Waits for the next connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (fd, addr) = ready!(self.source.poll_accept(cx, accept_nonblocking))?;
        Poll::Ready(TcpStream::from_nonblocking(fd.into()).map(|s| (s, addr)))
    }

    /// A stream of incoming connections. When the process runs out of file descriptors
    /// (EMFILE/ENFILE) it logs, waits a moment and retries instead of failing or spinning.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            backoff: None,
        }
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// Sets the IP time-to-live of accepted sockets.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.source.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    pub fn ttl(&self) -> io::Result<u32> {
        self.source.get_ref().ttl()
    }
}

fn bind_addr(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Restarting a server must not fail on connections still in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// `accept4` with `SOCK_NONBLOCK | SOCK_CLOEXEC`: the new socket is ready for the reactor
/// without the extra syscall `set_nonblocking` would cost per connection.
fn accept_nonblocking(listener: &std::net::TcpListener) -> io::Result<(OwnedFd, SocketAddr)> {
    // SAFETY: `try_init` hands us a zeroed address buffer and its length, which accept4
    // fills in (and never past `len`); on success the returned fd is new and ours alone.
    let (fd, addr) = unsafe {
        socket2::SockAddr::try_init(|storage, len| {
            let fd = libc::accept4(
                listener.as_raw_fd(),
                storage.cast(),
                len,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            );
            if fd < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(OwnedFd::from_raw_fd(fd))
            }
        })?
    };
    let addr = addr.as_socket().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, "accepted a non-IP peer address")
    })?;
    Ok((fd, addr))
}

/// Connections as they arrive; see [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    backoff: Option<Sleep>,
}

impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(backoff) = self.backoff.as_mut() {
                ready!(Pin::new(backoff).poll(cx));
                self.backoff = None;
            }
            match ready!(self.listener.poll_accept(cx)) {
                Ok((stream, _)) => return Poll::Ready(Some(Ok(stream))),
                Err(err) if is_fd_exhaustion(&err) => {
                    // The connection stays in the backlog; retrying at once would spin.
                    tracing::warn!(
                        error = %err,
                        "corio: accept failed, out of file descriptors; retrying in {:?}",
                        FD_EXHAUSTED_BACKOFF
                    );
                    self.backoff = Some(sleep(FD_EXHAUSTED_BACKOFF));
                }
                Err(err) => return Poll::Ready(Some(Err(err))),
            }
        }
    }
}

/// EMFILE / ENFILE: the process or system is out of file descriptors.
pub(crate) fn is_fd_exhaustion(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}
