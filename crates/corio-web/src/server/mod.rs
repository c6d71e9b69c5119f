//! The HTTP/1.1 server: connections on corio's [`TcpListener`](corio::net::TcpListener),
//! requests to a [`Service`](crate::Service).
//!
//! ```
//! use corio::io_util::{AsyncReadExt, AsyncWriteExt};
//! use corio_web::server::{Server, ServerConfig};
//! use corio_web::{Body, Request, Response, service_fn};
//! use std::future::IntoFuture;
//!
//! corio::run(async {
//!     let hello = service_fn(|_request: Request| async { Response::new(Body::from("hello")) });
//!     let server = Server::bind("127.0.0.1:0").await.unwrap().config(ServerConfig::default());
//!     let addr = server.local_addr().unwrap();
//!     let (stop, stopped) = corio::sync::oneshot::channel::<()>();
//!     let running = corio::spawn(
//!         server
//!             .serve(hello)
//!             .with_graceful_shutdown(async move {
//!                 let _ = stopped.await;
//!             })
//!             .into_future(),
//!     );
//!
//!     let mut client = corio::net::TcpStream::connect(addr).await.unwrap();
//!     client
//!         .write_all(b"GET / HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n")
//!         .await
//!         .unwrap();
//!     let mut response = Vec::new();
//!     client.read_to_end(&mut response).await.unwrap();
//!     assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));
//!     assert!(response.ends_with(b"\r\n\r\nhello"));
//!
//!     stop.send(()).unwrap();
//!     running.await.unwrap().unwrap();
//! });
//! ```
//!
//! # Layout
//!
//! - `serve`: [`Server`] and [`Serve`]: the accept loop, the connection limit, shutdown.
//! - `conn`: one connection: head, service call, response, keep-alive, timeouts.
//! - `incoming`: request bodies streamed off the connection, and `100 Continue`.
//! - `head`, `framing`, `chunked`: pure parsing and framing decisions (fuzzed).
//! - `encode`, `date`: response heads and the cached `Date`.
//! - `buf`: the reused read buffer; `shutdown`: the signal every connection watches;
//!   `config`: [`ServerConfig`].
//!
//! # Design
//!
//! **One task per connection, requests one at a time.** The connection task reads a head,
//! calls the service and writes the response before it reads the next head, so responses to
//! pipelined requests go out in order without any queue. A handler's future runs inside the
//! connection task (not a task of its own): no spawn per request.
//!
//! **Request bodies stream.** The handler gets a [`Body`](crate::Body) that reads from the
//! connection on demand; a handler that never reads it never waits for it. The
//! connection's read half and buffer move into the body stream and come back through a
//! oneshot channel when the body ends, fails or is dropped; the module `incoming` explains
//! the hand-over. After the response, whatever the handler left unread is drained (up to
//! [`ServerConfig::max_drain_size`]) so the next request parses from the right byte, or the
//! connection closes.
//!
//! **Strict framing.** Anything that a front proxy might read differently (request
//! smuggling) is refused with `400` and the connection closed: see `framing` and `chunked`.
//! A request body over the limit is `413`; a head over its limits `431`; a head that is not
//! complete within the header timeout `408`. A handler that panics is answered `500`, the
//! panic is logged with `tracing::error!`, and the connection goes on. A client that stops
//! reading its responses is cut off after [`ServerConfig::write_timeout`].
//!
//! **Lean hot path.** Reused read and write buffers, head fields sliced out of the read
//! buffer without copying, the `Date` formatted once a second, a whole small response
//! written with one `write` call, `TCP_NODELAY` on every connection, one timer per
//! connection that is rarely re-armed.

mod buf;
mod chunked;
mod config;
mod conn;
mod date;
mod encode;
mod framing;
mod head;
mod incoming;
mod serve;
mod shutdown;

pub use config::ServerConfig;
pub use serve::{Serve, Server};

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
