//! `TcpStream`: a connected TCP socket, readable and writable without blocking the loop.

use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use crate::io::stream_io::StreamIo;

/// A TCP connection.
///
/// Reads and writes go through the `futures-io` traits ([`AsyncRead`](futures_io::AsyncRead), [`AsyncWrite`](futures_io::AsyncWrite)), so the
/// extension traits in [`crate::io_util`] (`read_exact`, `write_all`, `BufReader`, ...) and
/// the crates built on those traits work with it. `&TcpStream` is readable and writable too,
/// so one task can read while another writes through a shared reference.
#[derive(Debug)]
pub struct TcpStream {
    source: StreamIo<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_err = None;
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last_err = Some(err),
            }
        }
        Err(last_err.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to connect to")
        }))
    }

    /// Connects to `addr`, giving up with `TimedOut` after `timeout`.
    pub async fn connect_timeout(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        crate::time::timeout(timeout, TcpStream::connect_addr(addr)).await?
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        // Non-blocking from birth: no fcntl round trips per connection.
        let socket = Socket::new(
            Domain::for_address(addr),
            Type::STREAM.nonblocking(),
            Some(Protocol::TCP),
        )?;
        let ring = crate::runtime::context::with_current(|h| h.driver().uring.clone())
            .map_err(|err| io::Error::other(format!("corio: {err}")))?;
        if let Some(ring) = ring {
            // On the ring: one connect op, which owns the address; dropping this future
            // cancels it (and closes the socket).
            let mut connect = crate::io::ring::Connect::start(&ring, socket, addr)?;
            let socket = poll_fn(|cx| connect.poll(cx)).await?;
            return TcpStream::from_nonblocking(socket.into());
        }
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(err) => return Err(err),
        }
        let stream = TcpStream::from_nonblocking(socket.into())?;
        // The connect finishes (or fails, leaving its error in SO_ERROR) when the socket
        // turns writable.
        poll_fn(|cx| stream.source.poll_write_ready(cx)).await?;
        if let Some(err) = stream.take_error()? {
            return Err(err);
        }
        Ok(stream)
    }

    /// Wraps a stream that is already in non-blocking mode (fresh from `accept4` with
    /// `SOCK_NONBLOCK`, or created non-blocking).
    pub(crate) fn from_nonblocking(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            source: StreamIo::new(stream)?,
        })
    }

    /// Wraps a connected std stream (switching it to non-blocking mode).
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream {
            source: StreamIo::new(stream)?,
        })
    }

    /// Unwraps the std stream (still in non-blocking mode).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.source.into_inner()
    }

    fn std(&self) -> &std::net::TcpStream {
        self.source.get_ref()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.std().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.std().local_addr()
    }

    /// Reads into `buf` without consuming the data.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.source.poll_peek(cx, buf, |s, buf| s.peek(buf))).await
    }

    /// Shuts down the read half, the write half or both (a half-close: `Shutdown::Write`
    /// sends FIN while reads keep working). The FIN follows every byte already written.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.source.shutdown(how)
    }

    /// Disables (`true`) or enables Nagle's algorithm.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.std().set_nodelay(nodelay)
    }

    /// Whether Nagle's algorithm is disabled.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.std().nodelay()
    }

    /// Enables TCP keep-alive probes after `idle` time without traffic, or disables them.
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        let sock = SockRef::from(self.std());
        match idle {
            Some(idle) => sock.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle)),
            None => sock.set_keepalive(false),
        }
    }

    /// Whether keep-alive probes are enabled.
    pub fn keepalive(&self) -> io::Result<bool> {
        SockRef::from(self.std()).keepalive()
    }

    /// Sets the IP time-to-live.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.std().set_ttl(ttl)
    }

    /// The IP time-to-live.
    pub fn ttl(&self) -> io::Result<u32> {
        self.std().ttl()
    }

    /// The pending socket error (SO_ERROR), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.std().take_error()
    }

    /// Splits into owned halves that can move to different tasks.
    ///
    /// ```
    /// use corio::io_util::{AsyncReadExt, AsyncWriteExt};
    /// use corio::net::{TcpListener, TcpStream};
    ///
    /// corio::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     corio::spawn(async move {
    ///         let (mut conn, _) = listener.accept().await.unwrap();
    ///         let mut buf = [0; 5];
    ///         conn.read_exact(&mut buf).await.unwrap();
    ///         conn.write_all(&buf).await.unwrap();
    ///     });
    ///     let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
    ///     wr.write_all(b"hello").await.unwrap();
    ///     let mut echoed = [0; 5];
    ///     rd.read_exact(&mut echoed).await.unwrap();
    ///     assert_eq!(&echoed, b"hello");
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Arc::new(self);
        (
            OwnedReadHalf {
                stream: stream.clone(),
            },
            OwnedWriteHalf { stream },
        )
    }
}

impl_async_io!(TcpStream, |me| me);
impl_async_io!(&TcpStream, |me| *me);
impl_async_io!(OwnedReadHalf, |me| me.stream);
impl_async_io!(OwnedWriteHalf, |me| me.stream);

/// The read half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Arc<TcpStream>,
}

/// The write half of [`TcpStream::into_split`]. Closing it (`close().await`) sends FIN.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Arc<TcpStream>,
}

impl OwnedReadHalf {
    /// Puts the halves back together; gives them back if they come from different streams.
    pub fn reunite(
        self,
        other: OwnedWriteHalf,
    ) -> Result<TcpStream, (OwnedReadHalf, OwnedWriteHalf)> {
        if !Arc::ptr_eq(&self.stream, &other.stream) {
            return Err((self, other));
        }
        drop(other);
        Ok(Arc::try_unwrap(self.stream).expect("the write half was just dropped"))
    }
}

impl AsRef<TcpStream> for OwnedReadHalf {
    fn as_ref(&self) -> &TcpStream {
        &self.stream
    }
}

impl AsRef<TcpStream> for OwnedWriteHalf {
    fn as_ref(&self) -> &TcpStream {
        &self.stream
    }
}
