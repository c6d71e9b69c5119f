//! Middleware: services that wrap a [`Service`] and are services themselves.
//!
//! A middleware sees every request before the service it wraps and every response after
//! it, so it can answer on its own (a CORS preflight), change the request (a request id in
//! its extensions) or change the response (gzip, CORS headers). Because the result is
//! again a [`Service`], middleware stacks around an [`App`](crate::App) or anything else:
//!
//! ```
//! use corio_web::App;
//! use corio_web::middleware::{AccessLog, Cors, RequestIdLayer, ServiceExt};
//! use corio_web::testing::TestClient;
//!
//! async fn hello() -> &'static str {
//!     "hello"
//! }
//!
//! let app = App::new()
//!     .get("/", hello)
//!     .layer(Cors::new().allow_origins(["https://example.org"]))
//!     .layer(AccessLog::new())
//!     .layer(RequestIdLayer::new());
//! corio::run(async move {
//!     let response = TestClient::new(app)
//!         .get("/")
//!         .header("origin", "https://example.org")
//!         .header("x-request-id", "abc-123")
//!         .send()
//!         .await;
//!     assert_eq!(response.text(), "hello");
//!     assert_eq!(response.header("access-control-allow-origin"), Some("https://example.org"));
//!     assert_eq!(response.header("x-request-id"), Some("abc-123"));
//! });
//! ```
//!
//! Each [`layer`](ServiceExt::layer) wraps everything added before it, so the **last layer
//! is the outermost**: it sees the request first and the response last. Above, the request
//! id is assigned before the access log runs, so the log line carries it.
//!
//! | middleware | what it does |
//! | --- | --- |
//! | [`from_fn`] | an `async` function of the request and [`Next`] |
//! | [`Cors`] | Starlette's `CORSMiddleware`: preflights answered, CORS responses marked |
//! | [`RequestIdLayer`] | a [`RequestId`] per request, taken from `x-request-id` or generated |
//! | [`Gzip`] | gzip for clients that accept it, whole bodies and streams |
//! | [`AccessLog`] | one `tracing` event per request (target `corio_web::access`) |

mod access_log;
mod cors;
mod from_fn;
mod gzip;
mod request_id;
mod vary;

use std::any::Any;
use std::sync::Arc;

use crate::Service;

pub use access_log::AccessLog;
pub use cors::Cors;
pub use from_fn::{FromFn, Next, from_fn};
pub use gzip::Gzip;
pub use request_id::{RequestId, RequestIdLayer};

/// Wraps a service in a middleware: the middleware's configuration, turned into a
/// [`Service`] around `inner` by [`wrap`](Layer::wrap).
///
/// Services are type-erased at each layer (`Arc<dyn Service>`): every call already boxes
/// its future, so one more pointer per layer costs nothing measurable, and a stack of
/// layers keeps a short type that is easy to store and name.
///
/// ```
/// use std::sync::Arc;
/// use corio_web::middleware::{Layer, ServiceExt};
/// use corio_web::service::ResponseFuture;
/// use corio_web::testing::TestClient;
/// use corio_web::{Body, Request, Response, Service, service_fn};
///
/// /// Answers 503 to everything while maintenance is on.
/// struct Maintenance(bool);
///
/// struct MaintenanceService {
///     on: bool,
///     inner: Arc<dyn Service>,
/// }
///
/// impl Service for MaintenanceService {
///     fn call(&self, request: Request) -> ResponseFuture {
///         if self.on {
///             let mut response = Response::new(Body::from("down for maintenance"));
///             *response.status_mut() = corio_web::http::StatusCode::SERVICE_UNAVAILABLE;
///             return Box::pin(std::future::ready(response));
///         }
///         self.inner.call(request)
///     }
/// }
///
/// impl Layer for Maintenance {
///     fn wrap(self, inner: Arc<dyn Service>) -> Arc<dyn Service> {
///         Arc::new(MaintenanceService { on: self.0, inner })
///     }
/// }
///
/// let app = service_fn(|_: Request| async { Response::new(Body::from("up")) });
/// corio::run(async move {
///     let client = TestClient::new(app.layer(Maintenance(true)));
///     let response = client.get("/").send().await;
///     assert_eq!(response.status(), 503);
///     assert_eq!(response.text(), "down for maintenance");
/// });
/// ```
pub trait Layer {
    /// The middleware around `inner`.
    fn wrap(self, inner: Arc<dyn Service>) -> Arc<dyn Service>;
}

/// [`layer`](ServiceExt::layer) for every [`Service`]: `app.layer(Cors::new())`.
pub trait ServiceExt: Service + Sized {
    /// This service wrapped in `layer`'s middleware; layers added later wrap the earlier
    /// ones (the last is the outermost).
    fn layer<L: Layer>(self, layer: L) -> Arc<dyn Service> {
        layer.wrap(shared(self))
    }
}

impl<S: Service> ServiceExt for S {}

/// `service` as an `Arc<dyn Service>`; one that already is one (what `layer` returns) is
/// reused rather than wrapped again, so a stack of layers is one pointer per layer.
fn shared<S: Service>(service: S) -> Arc<dyn Service> {
    let mut slot = Some(service);
    let any: &mut dyn Any = &mut slot;
    if let Some(already) = any
        .downcast_mut::<Option<Arc<dyn Service>>>()
        .and_then(Option::take)
    {
        return already;
    }
    match slot {
        Some(service) => Arc::new(service),
        // The downcast only takes the value when it succeeds, and then we returned.
        None => unreachable!("the service was taken only when it was an Arc<dyn Service>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Body, Request, Response, service_fn};

    #[test]
    fn layered_services_are_not_wrapped_twice() {
        let inner: Arc<dyn Service> = Arc::new(service_fn(|_: Request| async {
            Response::new(Body::empty())
        }));
        let again = shared(inner.clone());
        assert!(Arc::ptr_eq(&inner, &again));
    }
}
