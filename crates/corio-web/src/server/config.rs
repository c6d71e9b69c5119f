//! [`ServerConfig`]: the limits and timeouts of the HTTP/1.1 server.

use std::time::Duration;

/// The most header lines a request head may have, whatever the configuration says: the
/// parser keeps one slot per line on the stack.
pub(crate) const MAX_HEADERS_CAP: usize = 256;

/// The longest timeout kept: about 30 years, "never" in practice. Deadlines are computed as
/// `Instant::now() + timeout`, which panics on overflow, so a `Duration::MAX` (the natural
/// way to say "no timeout") must not reach them as is.
const FOREVER: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// Limits and timeouts of a [`Server`](super::Server). Every setting has a default that
/// suits a public-facing service; change only what you need.
///
/// ```
/// use std::time::Duration;
/// use corio_web::server::ServerConfig;
///
/// let config = ServerConfig::default()
///     .max_body_size(10 << 20)
///     .header_read_timeout(Duration::from_secs(5))
///     .max_connections(2_000);
/// # let _ = config;
/// ```
///
/// A timeout of `Duration::MAX` (anything over about 30 years) means no timeout.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub(crate) max_head_size: usize,
    pub(crate) max_headers: usize,
    pub(crate) max_body_size: u64,
    pub(crate) max_drain_size: u64,
    pub(crate) header_read_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) keep_alive_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) keep_alive: bool,
    pub(crate) max_connections: usize,
    pub(crate) shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            max_head_size: 16 * 1024,
            max_headers: 100,
            max_body_size: 2 * 1024 * 1024,
            max_drain_size: 64 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            keep_alive: true,
            max_connections: 10_000,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

impl ServerConfig {
    /// The largest request head (request line and headers) accepted, in bytes; a larger one
    /// is answered `431 Request Header Fields Too Large`. Default 16 KiB.
    pub fn max_head_size(mut self, bytes: usize) -> ServerConfig {
        // A head needs at least a request line; a tiny limit would reject everything.
        self.max_head_size = bytes.max(64);
        self
    }

    /// The most header lines a request may have (at most 256); more are answered `431`.
    /// Default 100.
    pub fn max_headers(mut self, count: usize) -> ServerConfig {
        self.max_headers = count.clamp(1, MAX_HEADERS_CAP);
        self
    }

    /// The largest request body, in bytes. A `Content-Length` above it is answered `413
    /// Payload Too Large` before the handler runs; a chunked body that grows past it makes
    /// the body stream fail with [`BodyError::TooLarge`](crate::body::BodyError::TooLarge)
    /// and the server answer `413`. Default 2 MiB.
    pub fn max_body_size(mut self, bytes: u64) -> ServerConfig {
        self.max_body_size = bytes;
        self
    }

    /// How much of a request body the handler left unread the server reads and discards to
    /// keep the connection alive; a larger rest closes the connection instead. Default 64 KiB.
    pub fn max_drain_size(mut self, bytes: u64) -> ServerConfig {
        self.max_drain_size = bytes;
        self
    }

    /// How long a client may take to send a whole request head, counted from its first
    /// byte (from the accept, for a connection's first request). Past it the server answers
    /// `408 Request Timeout` and closes: a slow sender cannot hold a connection by trickling
    /// bytes. Default 10 s.
    pub fn header_read_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.header_read_timeout = timeout.min(FOREVER);
        self
    }

    /// How long a request body may go without a byte arriving while the handler waits for
    /// it. Past it the body stream fails with a `TimedOut` I/O error and the server answers
    /// `408 Request Timeout` and closes: a client cannot hold a connection by trickling a
    /// body either. Default 30 s.
    pub fn body_read_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.body_read_timeout = timeout.min(FOREVER);
        self
    }

    /// How long a kept-alive connection may wait for its next request before the server
    /// closes it quietly. Default 60 s.
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.keep_alive_timeout = timeout.min(FOREVER);
        self
    }

    /// How long the server waits for a client to take more of a response. When a write
    /// cannot go through (the client is not reading, and the socket's buffers are full), the
    /// client has this long to read enough for it to make progress; past it the server
    /// closes the connection. A client that stops reading cannot hold a connection (and its
    /// place under [`max_connections`](ServerConfig::max_connections)) for ever.
    ///
    /// It bounds each wait, not a whole response: a large download, or a stream that goes
    /// on for hours, to a client that reads slowly but steadily takes as long as it takes.
    /// (A bound on the whole response would have to guess how long the largest legitimate
    /// one may take.) Default 30 s.
    pub fn write_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.write_timeout = timeout.min(FOREVER);
        self
    }

    /// Whether connections are kept alive between requests at all. Default `true`.
    pub fn keep_alive(mut self, enabled: bool) -> ServerConfig {
        self.keep_alive = enabled;
        self
    }

    /// The most connections open at once. At the limit the server stops accepting (new
    /// clients wait in the kernel's backlog) until a connection closes. Default 10 000.
    pub fn max_connections(mut self, count: usize) -> ServerConfig {
        self.max_connections = count.clamp(1, u32::MAX as usize);
        self
    }

    /// How long a graceful shutdown waits for requests in flight before it closes their
    /// connections anyway. Default 30 s.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.shutdown_timeout = timeout.min(FOREVER);
        self
    }
}
