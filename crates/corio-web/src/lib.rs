//! corio-web: a FastAPI-class web framework on the corio runtime.
//!
//! The crate is layered, each folder one layer:
//!
//! - [`app`]: [`App`], the routes of an application; the `Service` the server runs.
//! - [`handler`]: `async fn` and plain `fn` handlers (the latter on the blocking pool).
//! - [`body`]: [`Body`], the bytes of a request or response, whole or streamed.
//! - [`service`]: the seam between the HTTP server and the application: a [`Service`] turns
//!   a [`Request`] into a [`Response`].
//! - [`response`]: [`IntoResponse`], what handlers return, and [`HttpError`].
//! - [`routing`]: the radix-tree router: method + path to an endpoint, or 404/405/redirect.
//! - [`testing`]: [`testing::TestClient`], the application called in-process.
//! - [`depends`]: dependency injection ([`Depends`](depends::Depends), resolved once per
//!   request), teardowns that run after the handler, and background tasks that run after
//!   the response.
//! - [`extract`]: typed request extraction ([`Path`](extract::Path),
//!   [`Query`](extract::Query), [`Json`](extract::Json), ...) with FastAPI's 422 errors.
//! - `server/`: HTTP/1.1 on corio's `TcpListener` (connection handling, limits).
//! - [`middleware`]: services wrapping services, stacked with
//!   [`ServiceExt::layer`]: [`from_fn`](middleware::from_fn) for middleware as an
//!   `async fn`, CORS, request ids, gzip and access logs.
//!
//! Routing, extraction, responses and OpenAPI come on top of the `Service` seam.

pub mod app;
pub mod body;
pub mod depends;
pub mod extract;
pub mod handler;
pub mod middleware;
pub mod openapi;
pub mod response;
pub mod routing;
pub mod server;
pub mod service;
pub mod testing;

pub use app::{App, RequestHead, Router};
pub use body::Body;
pub use middleware::ServiceExt;
pub use response::{Exception, Html, HttpError, IntoResponse, Redirect};
pub use server::{Serve, Server, ServerConfig};
pub use service::{Request, Response, Service, service_fn};

/// Re-exported so users name the same `http` types corio-web uses.
pub use http;

/// The FastAPI → corio-web guide (`docs/fastapi-to-corio-web.md`), whose examples run as
/// doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/fastapi-to-corio-web.md")]
pub struct FastApiToCorioWebGuide;
