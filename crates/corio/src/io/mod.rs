//! Asynchronous I/O: the reactor that turns "this fd would block" into "wake this task later".
//!
//! - [`driver`]: the epoll reactor. A source (socket, pipe, eventfd) is registered once;
//!   the thread that parks runs `IoDriver::turn`, which waits in `epoll_wait` and wakes the
//!   tasks whose sources became ready. Tasks run their non-blocking operation through
//!   `Registration::poll_io`, which waits for readiness and retries after `WouldBlock`.
//!
//! - [`source`]: one registered non-blocking fd plus the std object that owns it; sockets,
//!   child-process pipes and the signal pipe are all built on it.
//!
//! - [`ring`]: a socket on the io_uring driver (`driver/uring/`): reads, writes, accepts and
//!   connects as completion operations whose buffers the driver owns.
//!
//! - [`stream_io`]: the backend enum behind the public socket types: a `Source` on an epoll
//!   runtime, a `RingSocket` on an io_uring one.
//!
//! Socket types live in `net/`; this module knows only file descriptors.

pub(crate) mod driver;
pub(crate) mod ring;
pub(crate) mod source;
pub(crate) mod stream_io;

#[cfg(all(test, not(loom), not(miri)))] // io_uring syscalls
mod ring_tests;
