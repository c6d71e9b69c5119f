//! The seam between the HTTP server and the application.
//!
//! The server parses requests off connections and calls a [`Service`]; the application
//! (an `App` with its routes, or any function) answers. Nothing on one side of the seam
//! knows how the other side works, so each is tested alone: the server against plain
//! functions, the application through the in-process test client.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use crate::Body;
use crate::body::BoxError;

/// An HTTP request whose body is a [`Body`].
pub type Request = http::Request<Body>;

/// An HTTP response whose body is a [`Body`].
pub type Response = http::Response<Body>;

/// A boxed future answering one request.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

/// Answers requests. The server calls it once per request, from any worker thread.
///
/// A service never fails: errors are responses (a 500 if nothing better fits). A panic
/// while answering is caught by the server, logged, and answered with a 500.
pub trait Service: Send + Sync + 'static {
    /// Starts answering `request`.
    fn call(&self, request: Request) -> ResponseFuture;

    /// The hooks the server runs around serving this service: startup before it accepts
    /// its first connection, shutdown after its graceful shutdown (see [`Lifespan`]).
    /// None by default; an [`App`](crate::App) has them when it was given some
    /// ([`App::on_startup`](crate::App::on_startup)). A service that wraps another (a
    /// middleware) should return the inner service's.
    fn lifespan(&self) -> Option<&dyn Lifespan> {
        None
    }
}

/// A boxed future of a [`Lifespan`] hook.
pub type LifespanFuture<'a> = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>>;

/// What an application does when the server starts and stops (FastAPI's `lifespan`):
/// open a pool, warm a cache; flush, close.
///
/// The server calls [`startup`](Lifespan::startup) after binding and before accepting
/// the first connection (clients that connect meanwhile wait in the listen backlog); if it
/// fails, the server does not serve and returns the error. It calls
/// [`shutdown`](Lifespan::shutdown) once a graceful shutdown is complete (every connection
/// closed, their background tasks done) and returns its error, if any. A server whose
/// future is dropped (no graceful shutdown) does not run `shutdown`.
pub trait Lifespan: Send + Sync {
    /// Runs before the server accepts connections.
    fn startup(&self) -> LifespanFuture<'_>;

    /// Runs after the server has shut down gracefully.
    fn shutdown(&self) -> LifespanFuture<'_>;
}

/// A [`Service`] made of a function, for servers that need no routing (and for tests).
///
/// ```
/// use corio_web::{Body, Request, Response, Service, service_fn};
///
/// let hello = service_fn(|_request: Request| async { Response::new(Body::from("hello")) });
/// corio::run(async move {
///     let response = hello.call(Request::new(Body::empty())).await;
///     assert_eq!(response.into_body().to_bytes(64).await.unwrap(), "hello");
/// });
/// ```
pub fn service_fn<F, Fut>(f: F) -> ServiceFn<F>
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    ServiceFn(f)
}

/// The [`Service`] [`service_fn`] returns.
#[derive(Clone, Copy, Debug)]
pub struct ServiceFn<F>(F);

impl<F, Fut> Service for ServiceFn<F>
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    fn call(&self, request: Request) -> ResponseFuture {
        Box::pin((self.0)(request))
    }
}

impl<S: Service + ?Sized> Service for std::sync::Arc<S> {
    #[inline]
    fn call(&self, request: Request) -> ResponseFuture {
        (**self).call(request)
    }

    fn lifespan(&self) -> Option<&dyn Lifespan> {
        (**self).lifespan()
    }
}

/// Where a request came from: the connection the server read it on.
///
/// Handlers, dependencies and middleware take it as an extractor (`ConnectInfo` or
/// `Option<ConnectInfo>`); a raw [`Service`] asks [`ConnectInfo::current`].
///
/// The server does not put it into every request's extensions (an insert costs a map and
/// a box per request, most of a small request's allocations): it is the *current*
/// connection of the thread while the server polls the request's service future, which is
/// where handlers, their extractors and middleware run. One found in the request's
/// extensions wins (the test client puts one there); a service that hands a request to
/// another task before extracting should put it there too:
/// `request.extensions_mut().insert(info)`.
///
/// ```
/// use corio_web::service::ConnectInfo;
/// // Outside a request, there is no current connection.
/// assert_eq!(ConnectInfo::current(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// The address the server accepted the connection on.
    pub local: SocketAddr,
}

thread_local! {
    /// The [`ConnectInfo`] of the request being served, borrowed for the length of a
    /// [`ConnectInfo::scope`] (a pointer, so that entering a scope copies no addresses:
    /// the server enters one on every poll of a request's future).
    static CURRENT_CONNECTION: std::cell::Cell<Option<std::ptr::NonNull<ConnectInfo>>> =
        const { std::cell::Cell::new(None) };
}

impl ConnectInfo {
    /// The connection whose request this thread is serving right now: set by the server
    /// while it polls a request's service future, `None` elsewhere.
    pub fn current() -> Option<ConnectInfo> {
        CURRENT_CONNECTION.with(|current| {
            // SAFETY: the pointer is only set by `scope`, for the length of the call that
            // borrows `self`, and the previous value is restored before that borrow ends
            // (also on unwinding); so a pointer found here points to a live `ConnectInfo`,
            // which is only ever read.
            current.get().map(|info| unsafe { *info.as_ptr() })
        })
    }

    /// Runs `f` with `self` as the current connection, then restores the previous one
    /// (also when `f` panics).
    pub(crate) fn scope<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<std::ptr::NonNull<ConnectInfo>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT_CONNECTION.with(|current| current.set(self.0));
            }
        }
        let this = std::ptr::NonNull::from(self);
        let _restore = Restore(CURRENT_CONNECTION.with(|current| current.replace(Some(this))));
        f()
    }
}
