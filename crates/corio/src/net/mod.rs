//! Networking on the reactor: a socket operation that would block parks the task instead of
//! the thread, and the loop runs other tasks until the socket is ready.

/// Implements the futures-io traits for a stream socket type, or a reference or split half
/// of one: `$inner` reaches the stream, which has a `source: Source<_>` field and a
/// `shutdown(Shutdown)` method. Used by TCP and Unix streams alike.
macro_rules! impl_async_io {
    ($ty:ty, |$me:ident| $inner:expr) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $me = self.get_mut();
                $inner.source.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $me = self.get_mut();
                $inner.source.poll_read_vectored(cx, bufs)
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $me = self.get_mut();
                $inner.source.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $me = self.get_mut();
                $inner.source.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Epoll writes go straight to the kernel; a ring write waits for its send.
                let $me = self.get_mut();
                $inner.source.poll_flush(cx)
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $me = self.get_mut();
                std::task::ready!($inner.source.poll_flush(cx))?;
                std::task::Poll::Ready(match $inner.shutdown(std::net::Shutdown::Write) {
                    // Already shut down, or the peer is gone: closing is done either way.
                    Err(err) if err.kind() == std::io::ErrorKind::NotConnected => Ok(()),
                    other => other,
                })
            }
        }
    };
}

mod tcp;
mod udp;
pub mod unix;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

pub use tcp::{Incoming, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};

/// Resolves `host` (for example `"localhost:8080"`) on the blocking pool, so a slow resolver
/// never stalls the loop.
///
/// ```
/// corio::run(async {
///     let addrs: Vec<_> = corio::net::lookup_host("localhost:80").await.unwrap().collect();
///     assert!(addrs.iter().all(|a| a.ip().is_loopback()));
/// });
/// ```
pub async fn lookup_host(
    host: impl Into<String>,
) -> io::Result<impl Iterator<Item = SocketAddr> + Send + 'static> {
    let host = host.into();
    let addrs = crate::task::spawn_blocking(move || host.to_socket_addrs().map(Vec::from_iter))
        .await
        .map_err(io::Error::from)??;
    Ok(addrs.into_iter())
}
