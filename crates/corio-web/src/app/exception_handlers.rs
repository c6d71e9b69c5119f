//! Exception handlers: FastAPI's `@app.exception_handler`, for the errors that responses
//! carry.
//!
//! An error travels on its response, in the extensions: [`HttpError`] and
//! [`RequestValidationError`] put themselves there, an application's own errors ride there
//! in an [`Exception<E>`]. Once the app has its answer to a request, the registered
//! handlers are tried in registration order; the first whose error type is on the response
//! (and, for [`App::exception_handler_for_status`], whose status is the error's) takes the
//! error off and answers instead. Nothing else looks at the replacement: a handler that
//! answers with an `HttpError` is not called again, and no other handler runs.
//!
//! A handler is one of three shapes, told apart by the marker type `T` of
//! [`ExceptionHandler<E, T>`] (as route handlers are by [`OnLoop`]/[`OnBlockingPool`]):
//! `Fn(E) -> R`, `async fn(E) -> R`, or FastAPI's `async fn(RequestHead, E) -> R`.
//!
//! # What it costs
//!
//! Nothing, with no handler registered: `App::call` dispatches straight away. With
//! handlers, each request's answer is wrapped in one more boxed future, and each response
//! is looked at once per handler (a look-up in its extensions, free when it has none, as
//! most successful responses do). The request itself is gone by the time its answer is
//! known, so a handler that reads it gets a [`RequestHead`] copied before dispatch: while
//! at least one such handler is registered, and only then, every request pays for that
//! copy (its header map's, mostly).
//!
//! # Panics
//!
//! A panic in an exception handler (or in its future) unwinds out of the app's future,
//! like a panic in a route handler: the server logs it and answers `500`, and the
//! connection goes on. [`TestClient`](crate::testing::TestClient) does not catch it; it
//! fails the test.
//!
//! [`HttpError`]: crate::response::HttpError
//! [`RequestValidationError`]: crate::extract::RequestValidationError
//! [`Exception<E>`]: crate::response::Exception
//! [`App::exception_handler_for_status`]: crate::App::exception_handler_for_status
//! [`OnLoop`]: crate::handler::OnLoop
//! [`OnBlockingPool`]: crate::handler::OnBlockingPool

use std::future::Future;
use std::sync::Arc;

use http::{HeaderMap, Method, Uri, Version};

use crate::Response;
use crate::depends::AfterResponse;
use crate::response::IntoResponse;
use crate::service::ResponseFuture;

/// What an exception handler sees of the request whose answer carried the error (FastAPI's
/// `request: Request` argument): its method, URI, version and headers, copied before the
/// request was dispatched. Not its body (the route read it) nor its extensions.
///
/// The connection it came on is [`ConnectInfo::current`](crate::service::ConnectInfo::current)
/// in the handler, as in a route handler.
///
/// ```
/// use corio_web::RequestHead;
/// use corio_web::http::{Method, Request};
///
/// let request = Request::post("/items/?q=x").header("accept", "text/plain").body(()).unwrap();
/// let head = RequestHead::of(&request);
/// assert_eq!(head.method(), Method::POST);
/// assert_eq!(head.path(), "/items/");
/// assert_eq!(head.headers()["accept"], "text/plain");
/// ```
#[derive(Clone, Debug)]
pub struct RequestHead {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
}

impl RequestHead {
    /// A copy of `request`'s head (to call a handler directly, in a unit test).
    pub fn of<B>(request: &http::Request<B>) -> RequestHead {
        RequestHead {
            method: request.method().clone(),
            uri: request.uri().clone(),
            version: request.version(),
            headers: request.headers().clone(),
        }
    }

    /// The request's method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request's URI, as the request line had it (usually a path and a query).
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The request's path, without its query.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The request's HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// A function that can answer an error of type `E`, registered with
/// [`App::exception_handler`](crate::App::exception_handler). It is one of:
///
/// - `Fn(E) -> R`: called as soon as the error turns up, on the event loop (not on the
///   blocking pool, unlike a plain-`fn` route handler: it should only build a response);
/// - `async fn(E) -> R`: its future is awaited;
/// - `async fn(RequestHead, E) -> R`, FastAPI's `async def handler(request, exc)`: also
///   sees the request's [`RequestHead`], which every request then pays to copy (see
///   [`App::exception_handler`](crate::App::exception_handler)).
///
/// `R` is anything [`IntoResponse`]. The marker type `T` only tells the shapes apart;
/// users never name it. The shape is chosen by the argument types, so a closure's must be
/// written out (`|e: MyError|`), even with `exception_handler::<MyError, _, _>`. An async
/// closure that uses what it captures lends it to its future, which makes it no `Fn`:
/// write a closure that clones what it needs into an `async move` block instead.
///
/// ```
/// use std::sync::Arc;
/// use corio_web::response::HttpError;
/// use corio_web::{App, RequestHead};
///
/// let site = Arc::new(String::from("example.com"));
/// let app = App::new()
///     .exception_handler(|e: HttpError| e.detail().to_uppercase())
///     .exception_handler(async |e: HttpError| e.detail().to_uppercase())
///     .exception_handler(move |head: RequestHead, _: HttpError| {
///         let site = site.clone();
///         async move { format!("no {} on {site}", head.path()) }
///     });
/// ```
///
/// The trait is sealed: these are the only shapes.
pub trait ExceptionHandler<E, T>: Send + Sync + 'static {
    /// Whether the handler takes the request's head (the app copies it only then).
    #[doc(hidden)]
    const TAKES_REQUEST: bool;

    /// Starts answering `error`; `head` is there if `TAKES_REQUEST`.
    #[doc(hidden)]
    fn answer(&self, head: Option<RequestHead>, error: E) -> sealed::Answer;
}

mod sealed {
    use crate::Response;
    use crate::service::ResponseFuture;

    /// A handler's answer. Unnameable outside the crate, which seals
    /// [`ExceptionHandler`](super::ExceptionHandler): nobody else can implement `answer`.
    pub enum Answer {
        /// A synchronous handler's (no future to box).
        Now(Response),
        /// An async handler's, to await.
        Later(ResponseFuture),
    }
}

use sealed::Answer;

/// Marks exception handlers `Fn(E) -> R`.
#[derive(Debug)]
pub enum ReturnsResponse {}

/// Marks exception handlers `async fn(E) -> R`.
#[derive(Debug)]
pub enum ReturnsFuture {}

/// Marks exception handlers `async fn(RequestHead, E) -> R`.
#[derive(Debug)]
pub enum TakesRequest {}

impl<F, E, R> ExceptionHandler<E, ReturnsResponse> for F
where
    F: Fn(E) -> R + Send + Sync + 'static,
    R: IntoResponse,
{
    const TAKES_REQUEST: bool = false;

    fn answer(&self, _head: Option<RequestHead>, error: E) -> Answer {
        Answer::Now(self(error).into_response())
    }
}

impl<F, E, Fut, R> ExceptionHandler<E, ReturnsFuture> for F
where
    F: Fn(E) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    const TAKES_REQUEST: bool = false;

    fn answer(&self, _head: Option<RequestHead>, error: E) -> Answer {
        let answer = self(error);
        Answer::Later(Box::pin(async move { answer.await.into_response() }))
    }
}

impl<F, E, Fut, R> ExceptionHandler<E, TakesRequest> for F
where
    F: Fn(RequestHead, E) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    const TAKES_REQUEST: bool = true;

    fn answer(&self, head: Option<RequestHead>, error: E) -> Answer {
        let head =
            head.expect("the app copies the head while a handler that takes it is registered");
        let answer = self(head, error);
        Answer::Later(Box::pin(async move { answer.await.into_response() }))
    }
}

/// Takes its error off a response and starts the answer to it, or leaves the response be.
/// The head is taken by the handler that answers (there is one at most).
type Erased = Arc<dyn Fn(&mut Response, &mut Option<RequestHead>) -> Option<Answer> + Send + Sync>;

/// An app's exception handlers, in registration order.
#[derive(Clone, Default)]
pub(crate) struct ExceptionHandlers {
    /// Shared with every request's future; `Arc` elements so that registering copies the
    /// list, not the handlers.
    handlers: Arc<[Erased]>,
    /// Whether one of them takes the request's head: only then is it copied.
    takes_request: bool,
}

impl ExceptionHandlers {
    /// Whether there are none (the app then dispatches without wrapping).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }

    /// Adds `handler`, for errors of type `E` for which `matches` holds.
    pub(crate) fn push<E, T, H>(
        &mut self,
        matches: impl Fn(&E) -> bool + Send + Sync + 'static,
        handler: H,
    ) where
        E: Send + Sync + 'static,
        H: ExceptionHandler<E, T>,
        T: 'static,
    {
        let erased: Erased = Arc::new(
            move |response: &mut Response, head: &mut Option<RequestHead>| {
                let extensions = response.extensions_mut();
                // Looked at before it is taken: an error that does not match stays for the
                // handlers after this one.
                if !extensions.get::<E>().is_some_and(&matches) {
                    return None;
                }
                let error = extensions.remove::<E>()?;
                Some(handler.answer(head.take(), error))
            },
        );
        let mut handlers = self.handlers.to_vec();
        handlers.push(erased);
        self.handlers = handlers.into();
        self.takes_request |= H::TAKES_REQUEST;
    }

    /// A copy of the request's head, if a handler takes it.
    #[inline]
    pub(crate) fn snapshot<B>(&self, request: &http::Request<B>) -> Option<RequestHead> {
        self.takes_request.then(|| RequestHead::of(request))
    }

    /// `answer`, or the first matching handler's answer to the error it carries.
    pub(crate) fn around(
        &self,
        head: Option<RequestHead>,
        answer: ResponseFuture,
    ) -> ResponseFuture {
        let handlers = self.handlers.clone();
        Box::pin(async move {
            let mut head = head;
            let mut response = answer.await;
            for handler in handlers.iter() {
                let Some(answer) = handler(&mut response, &mut head) else {
                    continue;
                };
                let mut replacement = match answer {
                    Answer::Now(response) => response,
                    Answer::Later(future) => future.await,
                };
                keep_background_tasks(&mut response, &mut replacement);
                return replacement;
            }
            response
        })
    }
}

/// Moves the background tasks of the answer a handler replaced onto its replacement: an
/// error response a route returns keeps its tasks (see `depends::background`), whoever
/// words the error.
fn keep_background_tasks(replaced: &mut Response, replacement: &mut Response) {
    if let Some(tasks) = AfterResponse::take(replaced) {
        // A handler's own response has none (only a request scope attaches tasks); were it
        // to have some, merging would need `depends`' internals: those stay, these drop.
        if replacement.extensions().get::<AfterResponse>().is_none() {
            replacement.extensions_mut().insert(tasks);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::HttpError;
    use crate::{Body, Request};
    use http::request::Builder;

    fn request() -> Request {
        Builder::new()
            .uri("/x")
            .header("accept", "text/plain")
            .body(Body::empty())
            .unwrap()
    }

    #[test]
    fn the_head_is_copied_only_for_handlers_that_take_it() {
        let mut handlers = ExceptionHandlers::default();
        assert!(handlers.is_empty());
        handlers.push(|_: &HttpError| true, |_: HttpError| "sync");
        handlers.push(|_: &HttpError| true, |_: HttpError| async { "async" });
        assert!(handlers.snapshot(&request()).is_none());

        handlers.push(
            |_: &HttpError| true,
            |head: RequestHead, _: HttpError| async move { head.path().to_string() },
        );
        let head = handlers
            .snapshot(&request())
            .expect("a handler takes the head");
        assert_eq!(head.headers()["accept"], "text/plain");
    }
}
