//! `UnixStream`: a connected Unix-domain stream socket, readable and writable without
//! blocking the loop.

use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};

use crate::io::source::Source;

/// First wait before retrying a connect the listener's full backlog turned away.
const BACKLOG_RETRY_MIN: Duration = Duration::from_millis(1);
/// Longest wait between such retries.
const BACKLOG_RETRY_MAX: Duration = Duration::from_millis(50);

/// A Unix-domain stream connection.
///
/// Reads and writes go through the `futures-io` traits ([`AsyncRead`](futures_io::AsyncRead), [`AsyncWrite`](futures_io::AsyncWrite)), so the
/// extension traits in [`crate::io_util`] work with it. `&UnixStream` is readable and writable
/// too, so one task can read while another writes through a shared reference.
#[derive(Debug)]
pub struct UnixStream {
    source: Source<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the listener bound at `path`.
    ///
    /// Fails with `NotFound` when nothing exists at `path`, and `ConnectionRefused` when the
    /// file is a socket nobody listens on. A listener whose backlog is full makes the kernel
    /// turn the connect away (`EAGAIN`) rather than queue it; the connect is then retried
    /// after a short, growing pause, so it waits as a blocking connect would.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = SockAddr::unix(path)?;
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        let mut pause = BACKLOG_RETRY_MIN;
        let in_progress = loop {
            match socket.connect(&addr) {
                Ok(()) => break false,
                Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => break true,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    crate::time::sleep(pause).await;
                    pause = (pause * 2).min(BACKLOG_RETRY_MAX);
                }
                Err(err) => return Err(err),
            }
        };
        let stream = UnixStream {
            source: Source::new(std::os::unix::net::UnixStream::from(OwnedFd::from(socket)))?,
        };
        if in_progress {
            // The connect finishes (or fails) when the socket turns writable.
            poll_fn(|cx| stream.source.poll_write_ready(cx)).await?;
            if let Some(err) = stream.take_error()? {
                return Err(err);
            }
            stream.peer_addr()?;
        }
        Ok(stream)
    }

    /// A pair of connected, unnamed streams.
    ///
    /// ```
    /// use corio::io_util::{AsyncReadExt, AsyncWriteExt};
    /// use corio::net::UnixStream;
    ///
    /// corio::run(async {
    ///     let (mut a, mut b) = UnixStream::pair().unwrap();
    ///     a.write_all(b"ping").await.unwrap();
    ///     let mut buf = [0; 4];
    ///     b.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"ping");
    /// });
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a connected std stream (switching it to non-blocking mode).
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            source: Source::new(stream)?,
        })
    }

    /// Unwraps the std stream (still in non-blocking mode).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.source.into_inner()
    }

    fn std(&self) -> &std::os::unix::net::UnixStream {
        self.source.get_ref()
    }

    /// The local address (unnamed unless the socket was bound).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.std().local_addr()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.std().peer_addr()
    }

    /// Shuts down the read half, the write half or both (a half-close: after
    /// `Shutdown::Write` the peer reads end-of-file while reads here keep working).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.std().shutdown(how)
    }

    /// The pending socket error (SO_ERROR), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.std().take_error()
    }

    /// Splits into owned halves that can move to different tasks;
    /// [`OwnedReadHalf::reunite`] puts them back together.
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

impl_async_io!(UnixStream, |me| me);
impl_async_io!(&UnixStream, |me| *me);
impl_async_io!(OwnedReadHalf, |me| me.stream);
impl_async_io!(OwnedWriteHalf, |me| me.stream);

/// The read half of [`UnixStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Arc<UnixStream>,
}

/// The write half of [`UnixStream::into_split`]. Closing it (`close().await`) shuts down the
/// write direction, so the peer reads end-of-file.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Arc<UnixStream>,
}

impl OwnedReadHalf {
    /// Puts the halves back together; gives them back if they come from different streams.
    pub fn reunite(
        self,
        other: OwnedWriteHalf,
    ) -> Result<UnixStream, (OwnedReadHalf, OwnedWriteHalf)> {
        if !Arc::ptr_eq(&self.stream, &other.stream) {
            return Err((self, other));
        }
        drop(other);
        Ok(Arc::try_unwrap(self.stream).expect("the write half was just dropped"))
    }
}

impl AsRef<UnixStream> for OwnedReadHalf {
    fn as_ref(&self) -> &UnixStream {
        &self.stream
    }
}

impl AsRef<UnixStream> for OwnedWriteHalf {
    fn as_ref(&self) -> &UnixStream {
        &self.stream
    }
}
