//! Unix-domain sockets: stream listeners and connections, and datagram sockets, addressed by
//! file-system paths.
//!
//! [`UnixListener`], [`UnixStream`] and [`UnixDatagram`] are also re-exported from
//! [`crate::net`]; the split halves of a stream live only here, since their TCP namesakes
//! already take the short names in `net`.

mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use stream::{OwnedReadHalf, OwnedWriteHalf, UnixStream};
