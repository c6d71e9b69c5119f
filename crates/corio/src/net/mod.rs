//! Networking on the reactor: a socket operation that would block parks the task instead of
//! the thread, and the loop runs other tasks until the socket is ready.

mod source;
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
