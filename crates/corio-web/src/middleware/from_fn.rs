//! [`from_fn`]: middleware written as an `async` function of the request and [`Next`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::Layer;
use crate::response::IntoResponse;
use crate::service::ResponseFuture;
use crate::{Request, Service};

/// Middleware from an `async` function: it gets the request and [`Next`], the rest of the
/// stack, and returns a response (anything [`IntoResponse`]). It may change the request
/// before calling `next.run(request)`, change the response after, or answer without calling
/// `next` at all.
///
/// ```
/// use corio_web::App;
/// use corio_web::http::{HeaderValue, StatusCode};
/// use corio_web::middleware::{Next, ServiceExt, from_fn};
/// use corio_web::testing::TestClient;
/// use corio_web::{IntoResponse, Request, Response};
///
/// async fn secret() -> &'static str {
///     "the secret"
/// }
///
/// async fn require_token(request: Request, next: Next) -> Response {
///     if request.headers().get("x-token").is_none_or(|token| token != "letmein") {
///         return (StatusCode::UNAUTHORIZED, "no entry").into_response();
///     }
///     let mut response = next.run(request).await;
///     response.headers_mut().insert("x-checked", HeaderValue::from_static("yes"));
///     response
/// }
///
/// let app = App::new().get("/", secret).layer(from_fn(require_token));
/// corio::run(async move {
///     let client = TestClient::new(app);
///     let refused = client.get("/").send().await;
///     assert_eq!((refused.status().as_u16(), refused.text()), (401, "no entry".into()));
///     let allowed = client.get("/").header("x-token", "letmein").send().await;
///     assert_eq!(allowed.text(), "the secret");
///     assert_eq!(allowed.header("x-checked"), Some("yes"));
/// });
/// ```
pub fn from_fn<F, Fut>(f: F) -> FromFn<F>
where
    F: Fn(Request, Next) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoResponse,
{
    FromFn { f }
}

/// The [`Layer`] [`from_fn`] returns.
#[derive(Clone, Copy)]
pub struct FromFn<F> {
    f: F,
}

impl<F> fmt::Debug for FromFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromFn").finish_non_exhaustive()
    }
}

impl<F, Fut> Layer for FromFn<F>
where
    F: Fn(Request, Next) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoResponse,
{
    fn wrap(self, inner: Arc<dyn Service>) -> Arc<dyn Service> {
        Arc::new(FromFnService { f: self.f, inner })
    }
}

struct FromFnService<F> {
    f: F,
    inner: Arc<dyn Service>,
}

impl<F, Fut> Service for FromFnService<F>
where
    F: Fn(Request, Next) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoResponse,
{
    /// The application's start-up and shutdown hooks, through this middleware.
    fn lifespan(&self) -> Option<&dyn crate::service::Lifespan> {
        self.inner.lifespan()
    }

    fn call(&self, request: Request) -> ResponseFuture {
        let next = Next {
            inner: self.inner.clone(),
        };
        let future = (self.f)(request, next);
        Box::pin(async move { future.await.into_response() })
    }
}

/// The rest of the middleware stack and the application, as seen from a [`from_fn`]
/// middleware. Running it consumes it: a request goes down the stack once.
pub struct Next {
    inner: Arc<dyn Service>,
}

impl Next {
    /// Passes `request` on and returns the response the rest of the stack answers.
    pub fn run(self, request: Request) -> ResponseFuture {
        self.inner.call(request)
    }
}

impl fmt::Debug for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next").finish_non_exhaustive()
    }
}
