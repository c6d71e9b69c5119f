//! [`AccessLog`]: one `tracing` event per request.

use std::sync::Arc;
use std::time::Instant;

use super::Layer;
use super::request_id::RequestId;
use crate::service::ResponseFuture;
use crate::{Request, Service};

/// Middleware logging each request as one `info` event with target `corio_web::access`
/// and fields `method`, `path`, `status`, `duration_ms` (until the response head was
/// ready, not until its body was sent) and `request_id` (absent when there is none).
///
/// The request id is the [`RequestId`] in the request's extensions (a
/// [`RequestIdLayer`](super::RequestIdLayer) outside this one), or failing that the
/// response's `x-request-id` header (one inside). The query string is left out of the
/// path: it often carries tokens that do not belong in logs.
///
/// ```
/// use corio_web::App;
/// use corio_web::middleware::{AccessLog, RequestIdLayer, ServiceExt};
///
/// async fn hello() -> &'static str {
///     "hello"
/// }
///
/// // Logs e.g. `GET / 200` with method="GET" path="/" status=200 duration_ms=0.012
/// // request_id="5f0c…" through whatever tracing subscriber the program installed.
/// let app = App::new()
///     .get("/", hello)
///     .layer(AccessLog::new())
///     .layer(RequestIdLayer::new());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AccessLog {
    _private: (),
}

impl AccessLog {
    /// An access log at `info`, target `corio_web::access`.
    pub fn new() -> AccessLog {
        AccessLog { _private: () }
    }
}

impl Layer for AccessLog {
    fn wrap(self, inner: Arc<dyn Service>) -> Arc<dyn Service> {
        Arc::new(AccessLogService { inner })
    }
}

struct AccessLogService {
    inner: Arc<dyn Service>,
}

impl Service for AccessLogService {
    /// The application's start-up and shutdown hooks, through this middleware.
    fn lifespan(&self) -> Option<&dyn crate::service::Lifespan> {
        self.inner.lifespan()
    }

    fn call(&self, request: Request) -> ResponseFuture {
        // Nobody listens (no subscriber, or one filtering the target out): skip the copy of
        // the path, the clock read and the extra boxed future on every request.
        if !tracing::enabled!(target: "corio_web::access", tracing::Level::INFO) {
            return self.inner.call(request);
        }
        let start = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let request_id = request.extensions().get::<RequestId>().cloned();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            // Whole microseconds: a log line reads `0.572`, not `0.5720569999999999`.
            let duration_ms = start.elapsed().as_micros() as f64 / 1000.0;
            let status = response.status().as_u16();
            let from_response = || {
                response
                    .headers()
                    .get("x-request-id")
                    .and_then(|value| value.to_str().ok())
            };
            let request_id = request_id
                .as_ref()
                .map(RequestId::as_str)
                .or_else(from_response);
            tracing::info!(
                target: "corio_web::access",
                method = method.as_str(),
                path = path.as_str(),
                status,
                duration_ms,
                request_id,
                "{method} {path} {status}",
            );
            response
        })
    }
}
