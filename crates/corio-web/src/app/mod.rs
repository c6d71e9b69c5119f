//! [`App`]: an application — its routes and its state — and the [`Service`] the server
//! calls.
//!
//! Routes are registered on the app (`App::new().get("/items/{id}", read_item)`, or any
//! [`Service`] with `route_service`); a request is looked up in the [`PathRouter`] and answered by its endpoint, or by FastAPI's
//! answers for the other outcomes: `404 {"detail":"Not Found"}`, `405 {"detail":"Method Not
//! Allowed"}` with an `Allow` header, or a `307` redirect to the path with (or without) its
//! trailing slash, query kept.

/// Handler-registering shortcuts, `get`, `post`, ..., for the builder `$ret` (`App` and
/// `Router` share them). `$common` docs go on every method.
macro_rules! method_shortcuts {
    ($ret:ty, $common:tt, $($(#[$doc:meta])* $name:ident => $method:ident;)*) => {$(
        method_shortcuts!(@one $ret, $common, [$(#[$doc])*], $name, $method);
    )*};
    (@one $ret:ty, [$(#[$common:meta])*], [$(#[$doc:meta])*], $name:ident, $method:ident) => {
        $(#[$doc])*
        $(#[$common])*
        pub fn $name<H, T>(self, pattern: &str, handler: H) -> $ret
        where
            H: Handler<T, S>,
            T: 'static,
        {
            self.route(Method::$method, pattern, handler)
        }
    };
}

mod docs_routes;
mod exception_handlers;
mod introspection;
mod lifespan;
mod route_label;
mod router;

pub use exception_handlers::{
    ExceptionHandler, RequestHead, ReturnsFuture, ReturnsResponse, TakesRequest,
};
pub use lifespan::HookResult;
pub use router::Router;

use std::sync::Arc;

use http::{HeaderValue, Method, StatusCode, header};

use crate::depends::guard::{self, Check};
use crate::extract::{FromRequestParts, PathParams};
use crate::handler::Handler;
use crate::openapi::document::Describe;
use crate::openapi::registry;
use crate::response::{HttpError, IntoResponse};
use crate::routing::{PathRouter, RouteError, RouteMatch};
use crate::service::{Lifespan, ResponseFuture};
use crate::{Request, Response, Service};

/// What a route calls: a type-erased endpoint.
pub(crate) type Endpoint = Arc<dyn Service>;

/// An application: routes and their endpoints. It is the [`Service`] a server runs.
///
/// ```
/// use corio_web::App;
/// use corio_web::http::Method;
/// use corio_web::testing::TestClient;
/// use corio_web::{Body, Request, Response, service_fn};
///
/// let hello = service_fn(|_: Request| async { Response::new(Body::from("hello")) });
/// let app = App::new().route_service(Method::GET, "/hello", hello);
/// corio::run(async move {
///     let client = TestClient::new(app);
///     assert_eq!(client.get("/hello").send().await.text(), "hello");
///     let missing = client.get("/nope").send().await;
///     assert_eq!(missing.status(), 404);
///     assert_eq!(missing.text(), r#"{"detail":"Not Found"}"#);
/// });
/// ```
pub struct App<S = ()> {
    router: PathRouter<Endpoint>,
    /// What `State<T>` extractors read; shared by every handler.
    state: Arc<S>,
    /// Every route with its metadata, in registration order (for OpenAPI).
    route_info: Vec<RouteInfo>,
    /// Run before every route's endpoint ([`App::dependency`]).
    dependencies: Arc<[Check<S>]>,
    /// Turn errors kept on responses into other responses ([`App::exception_handler`]).
    exception_handlers: exception_handlers::ExceptionHandlers,
    /// Startup and shutdown hooks ([`App::on_startup`]).
    hooks: lifespan::Hooks,
    /// The OpenAPI document and the pages that show it.
    docs: docs_routes::DocsRoutes,
}

/// A registered route and what OpenAPI needs to know of it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RouteInfo {
    /// The method it answers.
    pub method: Method,
    /// Its path pattern, prefixes included (`/api/items/{id}`).
    pub pattern: String,
    /// Its tags, outermost router's first.
    pub tags: Vec<String>,
    /// How it is documented; `None` for a plain [`Service`], which is left out of the
    /// OpenAPI document.
    pub(crate) doc: Option<RouteDoc>,
}

/// What documents a handler's route.
#[derive(Debug, Clone)]
pub(crate) struct RouteDoc {
    /// `std::any::type_name` of the handler: its function's path.
    pub(crate) handler_name: &'static str,
    /// The handler's extractors and return type.
    pub(crate) describe: Describe,
    /// The dependencies of the routers it is in, outermost first.
    pub(crate) dependencies: Vec<Describe>,
}

impl RouteDoc {
    pub(crate) fn of<H: Handler<T, S>, T, S>() -> RouteDoc {
        RouteDoc {
            handler_name: std::any::type_name::<H>(),
            describe: H::describe,
            dependencies: Vec::new(),
        }
    }

    /// The success status `#[operation(status = ...)]` declared, if not 200.
    pub(crate) fn declared_status(&self) -> Option<StatusCode> {
        let status = registry::lookup(self.handler_name)?.status?;
        StatusCode::from_u16(status)
            .ok()
            .filter(|s| *s != StatusCode::OK)
    }
}

impl Default for App {
    fn default() -> App {
        App::new()
    }
}

impl App {
    /// An application with no routes and no state.
    pub fn new() -> App {
        App::with_state(())
    }
}

impl<S: Send + Sync + 'static> App<S> {
    /// An application whose handlers can read `state` (through `State<T>`).
    pub fn with_state(state: S) -> App<S> {
        App {
            router: PathRouter::new(),
            state: Arc::new(state),
            route_info: Vec::new(),
            dependencies: Arc::new([]),
            exception_handlers: Default::default(),
            hooks: lifespan::Hooks::default(),
            docs: docs_routes::DocsRoutes::default(),
        }
    }

    /// Answers every response that carries an error of type `E` with `handler`'s answer
    /// instead, as FastAPI's `@app.exception_handler(E)` does.
    ///
    /// The framework's own errors carry themselves: [`RequestValidationError`] (every 422,
    /// to change FastAPI's error body), [`HttpError`] (404s, 405s, dependencies' and the
    /// handlers' own); an application's errors travel as
    /// [`Exception<E>`](crate::response::Exception).
    ///
    /// `handler` is `Fn(E) -> R`, `async fn(E) -> R`, or, to see the request as FastAPI's
    /// handlers do, `async fn(RequestHead, E) -> R` (see [`ExceptionHandler`]). The last
    /// shape has a price: while one is registered, every request's head (method, URI,
    /// version, headers) is copied before dispatch, since the request is gone once its
    /// answer is known. The other shapes, and an app without exception handlers, copy
    /// nothing.
    ///
    /// Handlers are tried in registration order, whatever their shape; the first whose
    /// error is on the response answers, and its answer is final (no handler looks at
    /// it). So register the specific before the general: an
    /// [`exception_handler_for_status`](App::exception_handler_for_status) after an
    /// `exception_handler` for every `HttpError` never answers. The background tasks of
    /// the replaced response carry over to the handler's answer.
    ///
    /// A handler that panics is a handler that panics: the server logs it and answers
    /// `500` (the [`TestClient`](crate::testing::TestClient) lets the panic fail the test).
    ///
    /// ```
    /// use corio_web::extract::{Path, RequestValidationError};
    /// use corio_web::http::{StatusCode, header};
    /// use corio_web::testing::TestClient;
    /// use corio_web::{App, RequestHead};
    ///
    /// async fn read_item(Path(id): Path<u32>) -> String {
    ///     format!("item {id}")
    /// }
    ///
    /// /// FastAPI's `async def handler(request: Request, exc: RequestValidationError)`.
    /// async fn invalid(head: RequestHead, errors: RequestValidationError) -> (StatusCode, String) {
    ///     // An async handler may await (a log shipper, a database) before answering.
    ///     corio::time::sleep(std::time::Duration::from_millis(1)).await;
    ///     let plain = head.headers().get(header::ACCEPT).is_some_and(|a| a == "text/plain");
    ///     let body = if plain {
    ///         format!("{} {}: {} invalid value(s)", head.method(), head.path(), errors.errors().len())
    ///     } else {
    ///         errors.to_json().to_string()
    ///     };
    ///     (StatusCode::BAD_REQUEST, body)
    /// }
    ///
    /// let app = App::new().get("/items/{id}", read_item).exception_handler(invalid);
    /// corio::run(async move {
    ///     let client = TestClient::new(app);
    ///     let response = client.get("/items/foo").header("accept", "text/plain").send().await;
    ///     assert_eq!(response.status(), 400);
    ///     assert_eq!(response.text(), "GET /items/foo: 1 invalid value(s)");
    ///     assert_eq!(client.get("/items/3").send().await.text(), "item 3");
    /// });
    /// ```
    ///
    /// [`RequestValidationError`]: crate::extract::RequestValidationError
    pub fn exception_handler<E, H, T>(mut self, handler: H) -> App<S>
    where
        E: Send + Sync + 'static,
        H: ExceptionHandler<E, T>,
        T: 'static,
    {
        self.exception_handlers.push(|_: &E| true, handler);
        self
    }

    /// Answers every response that carries an [`HttpError`] of `status` with `handler`'s
    /// answer instead, as FastAPI's `@app.exception_handler(404)` does: `handler` is any
    /// [`ExceptionHandler`] of `HttpError`. Tried in registration order with the app's
    /// other exception handlers (see [`exception_handler`](App::exception_handler)).
    ///
    /// Only `HttpError`s: a 422 is a `RequestValidationError`, and a response a handler
    /// builds with a 404 status is its answer, not an error.
    ///
    /// ```
    /// use corio_web::http::StatusCode;
    /// use corio_web::response::HttpError;
    /// use corio_web::testing::TestClient;
    /// use corio_web::{App, RequestHead};
    ///
    /// async fn home() -> &'static str {
    ///     "home"
    /// }
    ///
    /// async fn not_found(head: RequestHead, _: HttpError) -> (StatusCode, String) {
    ///     (StatusCode::NOT_FOUND, format!("nothing at {}", head.path()))
    /// }
    ///
    /// let app = App::new()
    ///     .get("/", home)
    ///     .exception_handler_for_status(StatusCode::NOT_FOUND, not_found)
    ///     .exception_handler_for_status(StatusCode::METHOD_NOT_ALLOWED, |_: HttpError| {
    ///         (StatusCode::METHOD_NOT_ALLOWED, "read-only")
    ///     });
    /// corio::run(async move {
    ///     let client = TestClient::new(app);
    ///     assert_eq!(client.get("/nope").send().await.text(), "nothing at /nope");
    ///     assert_eq!(client.post("/").send().await.text(), "read-only");
    /// });
    /// ```
    pub fn exception_handler_for_status<H, T>(mut self, status: StatusCode, handler: H) -> App<S>
    where
        H: ExceptionHandler<HttpError, T>,
        T: 'static,
    {
        self.exception_handlers
            .push(move |error: &HttpError| error.status() == status, handler);
        self
    }

    /// Answers `method` requests to `pattern` with `handler`: an `async fn` (run on the
    /// event loop) or a plain `fn` (run on the blocking pool) whose arguments are
    /// extractors.
    ///
    /// # Panics
    ///
    /// If the route is invalid or already registered (a programming error, reported at
    /// start-up).
    pub fn route<H, T>(mut self, method: Method, pattern: &str, handler: H) -> App<S>
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let doc = RouteDoc::of::<H, T, S>();
        let endpoint = handler_endpoint(handler, self.state.clone(), &doc);
        if let Err(e) = self.add_route(method, pattern.to_string(), endpoint, Vec::new(), Some(doc))
        {
            panic!("{e}");
        }
        self
    }

    /// Registers `endpoint` for `method pattern`, labelled with its route for corio's
    /// slow-poll warnings, and records it for the OpenAPI document (`doc`: `None` for a
    /// plain service, which is left out). Every way of adding a route ends here.
    pub(crate) fn add_route(
        &mut self,
        method: Method,
        pattern: String,
        endpoint: Endpoint,
        tags: Vec<String>,
        doc: Option<RouteDoc>,
    ) -> Result<(), RouteError> {
        let endpoint = Arc::new(route_label::Labeled {
            label: route_label::route_label(&method, &pattern, doc.as_ref()),
            inner: endpoint,
        });
        self.router.route(method.clone(), &pattern, endpoint)?;
        self.route_info.push(RouteInfo {
            method,
            pattern,
            tags,
            doc,
        });
        Ok(())
    }

    method_shortcuts! {
        App<S>,
        [
            ///
            /// # Panics
            ///
            /// If the route is invalid or already registered (a programming error, reported
            /// at start-up).
        ],
        /// Answers `GET` (and `HEAD`) requests to `pattern` with `handler`.
        get => GET;
        /// Answers `POST` requests to `pattern` with `handler`.
        post => POST;
        /// Answers `PUT` requests to `pattern` with `handler`.
        put => PUT;
        /// Answers `PATCH` requests to `pattern` with `handler`.
        patch => PATCH;
        /// Answers `DELETE` requests to `pattern` with `handler`.
        delete => DELETE;
        /// Answers `OPTIONS` requests to `pattern` with `handler`.
        options => OPTIONS;
        /// Answers `HEAD` requests to `pattern` with `handler` (instead of the `GET` one).
        head => HEAD;
    }

    /// Answers `method` requests to `pattern` with `service`.
    ///
    /// # Panics
    ///
    /// If the route is invalid or already registered (a programming error, reported at
    /// start-up); [`try_route_service`](App::try_route_service) returns the error instead.
    pub fn route_service(self, method: Method, pattern: &str, service: impl Service) -> App<S> {
        match self.try_route_service(method, pattern, service) {
            Ok(app) => app,
            Err(e) => panic!("{e}"),
        }
    }

    /// As [`route_service`](App::route_service), returning an invalid or duplicate route
    /// as an error.
    pub fn try_route_service(
        mut self,
        method: Method,
        pattern: &str,
        service: impl Service,
    ) -> Result<App<S>, RouteError> {
        self.add_route(
            method,
            pattern.to_string(),
            Arc::new(service),
            Vec::new(),
            None,
        )?;
        Ok(self)
    }

    /// Runs extractor `D` before every route's endpoint, as FastAPI's
    /// `FastAPI(dependencies=[...])`: usually a [`Depends<T>`](crate::depends::Depends)
    /// that checks something (a token) and whose value the handlers do not need. Its
    /// rejection answers the request (validation errors join the handler's 422); its value
    /// is dropped, but a `Depends<T>` stays cached for the request. Dependencies run in the
    /// order they were added, before those of routers; see `depends::guard`.
    ///
    /// ```
    /// use corio_web::App;
    /// use corio_web::depends::{Dependency, Depends};
    /// use corio_web::extract::{ExtractError, FromRequestParts, Header};
    /// use corio_web::http::request::Parts;
    /// use corio_web::response::HttpError;
    /// use corio_web::testing::TestClient;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize, schemars::JsonSchema)]
    /// struct Key { x_key: String }
    ///
    /// /// FastAPI's `verify_key`.
    /// struct VerifiedKey;
    ///
    /// impl<S: Send + Sync> Dependency<S> for VerifiedKey {
    ///     type Rejection = corio_web::depends::DependencyError;
    ///     async fn resolve(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
    ///         let Header(key) = Header::<Key>::from_request_parts(parts, state).await?;
    ///         if key.x_key != "fake-super-secret-key" {
    ///             return Err(HttpError::new(400, "X-Key header invalid").into());
    ///         }
    ///         Ok(VerifiedKey)
    ///     }
    /// }
    ///
    /// async fn items() -> &'static str { "items" }
    ///
    /// let app = App::new().dependency::<Depends<VerifiedKey>>().get("/items/", items);
    /// corio::run(async move {
    ///     let client = TestClient::new(app);
    ///     let ok = client.get("/items/").header("x-key", "fake-super-secret-key").send().await;
    ///     assert_eq!(ok.text(), "items");
    ///     let wrong = client.get("/items/").header("x-key", "guess").send().await;
    ///     assert_eq!(wrong.status(), 400);
    ///     assert_eq!(client.get("/items/").send().await.status(), 422);
    /// });
    /// ```
    pub fn dependency<D>(mut self) -> App<S>
    where
        D: FromRequestParts<S> + 'static,
    {
        let mut checks = self.dependencies.to_vec();
        checks.push(guard::check::<S, D>());
        self.dependencies = checks.into();
        self.docs.dependencies.push(D::describe);
        self
    }

    /// Turns FastAPI's trailing-slash redirect off (it is on by default).
    pub fn redirect_slashes(mut self, on: bool) -> App<S> {
        self.router.set_redirect_slashes(on);
        self
    }

    /// Every route with its metadata, in registration order (for OpenAPI and tests).
    pub fn route_info(&self) -> impl Iterator<Item = &RouteInfo> {
        self.route_info.iter()
    }
}

/// The endpoint of `handler`: answering with the status `#[operation]` declared, if any.
pub(crate) fn handler_endpoint<H, T, S>(handler: H, state: Arc<S>, doc: &RouteDoc) -> Endpoint
where
    H: Handler<T, S>,
    T: 'static,
    S: Send + Sync + 'static,
{
    let service = HandlerService {
        handler,
        state,
        _marker: std::marker::PhantomData,
    };
    match doc.declared_status() {
        Some(status) => Arc::new(WithStatus {
            inner: service,
            status,
        }),
        None => Arc::new(service),
    }
}

/// Answers with `status` where the endpoint answered a plain 200 (FastAPI's
/// `status_code`: a response the handler built with its own status keeps it).
struct WithStatus<E> {
    inner: E,
    status: StatusCode,
}

impl<E: Service> Service for WithStatus<E> {
    fn call(&self, request: Request) -> ResponseFuture {
        let answer = self.inner.call(request);
        let status = self.status;
        Box::pin(async move {
            let mut response = answer.await;
            if response.status() == StatusCode::OK {
                *response.status_mut() = status;
            }
            response
        })
    }
}

/// A handler with the state it reads: the endpoint a route stores.
struct HandlerService<H, T, S> {
    handler: H,
    state: Arc<S>,
    /// `T` only selects the `Handler` implementation; `fn() -> T` keeps the type `Send`
    /// and `Sync` whatever `T` is.
    _marker: std::marker::PhantomData<fn() -> T>,
}

impl<H, T, S> Service for HandlerService<H, T, S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Send + Sync + 'static,
{
    #[inline]
    fn call(&self, request: Request) -> ResponseFuture {
        self.handler.clone().call(request, self.state.clone())
    }
}

impl<S: Send + Sync + 'static> Service for App<S> {
    fn lifespan(&self) -> Option<&dyn Lifespan> {
        (!self.hooks.is_empty()).then_some(&self.hooks as &dyn Lifespan)
    }

    #[inline]
    fn call(&self, request: Request) -> ResponseFuture {
        // Nothing to copy or wrap without handlers: the hot path stays a plain dispatch.
        if self.exception_handlers.is_empty() {
            return self.dispatch(request);
        }
        let head = self.exception_handlers.snapshot(&request);
        let answer = self.dispatch(request);
        self.exception_handlers.around(head, answer)
    }
}

impl<S: Send + Sync + 'static> App<S> {
    /// Looks the request up and starts its answer.
    #[inline]
    fn dispatch(&self, mut request: Request) -> ResponseFuture {
        let route = self.router.lookup(request.method(), request.uri().path());
        match route {
            RouteMatch::Found {
                endpoint, params, ..
            } => {
                // A route without parameters leaves extensions alone (an insert costs a
                // map and a box per request); `Path` reads no parameters as none.
                if !params.is_empty() {
                    request
                        .extensions_mut()
                        .insert(PathParams::from_pairs(params));
                }
                if self.dependencies.is_empty() {
                    return endpoint.call(request);
                }
                guard::guard(
                    self.dependencies.clone(),
                    self.state.clone(),
                    request,
                    endpoint.clone(),
                )
            }
            RouteMatch::MethodNotAllowed { allow } => {
                // `Allow` rides on the error, so an exception handler can keep it.
                let error =
                    HttpError::new(405, "Method Not Allowed").with_header(header::ALLOW, allow);
                Box::pin(std::future::ready(error.into_response()))
            }
            RouteMatch::RedirectSlash { path } => {
                Box::pin(std::future::ready(redirect(&request, path)))
            }
            RouteMatch::NotFound => {
                // The documentation's routes come last: the app's own win.
                if let Some(answer) = self.docs.call(&self.route_info, &mut request) {
                    return answer;
                }
                Box::pin(std::future::ready(
                    HttpError::new(404, "Not Found").into_response(),
                ))
            }
        }
    }
}

/// A 307 to `path`, keeping the request's query.
fn redirect(request: &Request, path: String) -> Response {
    let location = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestClient;
    use crate::{Body, service_fn};

    fn text(body: &'static str) -> impl Service {
        service_fn(move |_: Request| async move { Response::new(Body::from(body)) })
    }

    fn client() -> TestClient {
        TestClient::new(
            App::new()
                .route_service(Method::GET, "/items/", text("list"))
                .route_service(Method::POST, "/items/", text("create"))
                .route_service(Method::GET, "/items/{id}", text("one")),
        )
    }

    #[test]
    fn routes_answer_by_method_and_path() {
        corio::run(async {
            let client = client();
            assert_eq!(client.get("/items/").send().await.text(), "list");
            assert_eq!(client.post("/items/").send().await.text(), "create");
            assert_eq!(client.get("/items/3").send().await.text(), "one");
            let head = client.head("/items/3").send().await;
            assert_eq!(head.status(), 200);
        });
    }

    #[test]
    fn fastapi_answers_for_404_405_and_slashes() {
        corio::run(async {
            let client = client();
            let missing = client.get("/users").send().await;
            assert_eq!(missing.status(), 404);
            assert_eq!(missing.header("content-type"), Some("application/json"));
            assert_eq!(missing.text(), r#"{"detail":"Not Found"}"#);

            let wrong = client.delete("/items/3").send().await;
            assert_eq!(wrong.status(), 405);
            assert_eq!(wrong.text(), r#"{"detail":"Method Not Allowed"}"#);
            assert_eq!(wrong.header("allow"), Some("GET, HEAD"));

            let slash = client.get("/items?limit=5").send().await;
            assert_eq!(slash.status(), 307);
            assert_eq!(slash.header("location"), Some("/items/?limit=5"));
        });
    }

    #[test]
    fn bad_routes_are_reported() {
        let err = App::new()
            .route_service(Method::GET, "/a", text("a"))
            .try_route_service(Method::GET, "/a", text("again"))
            .err()
            .expect("duplicate");
        assert!(err.to_string().contains("registered twice"), "{err}");
    }
}
