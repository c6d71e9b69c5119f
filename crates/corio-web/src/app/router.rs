//! [`Router`]: FastAPI's `APIRouter` — routes grouped under a prefix and tags, included
//! into an [`App`] (or into another router, nested).

use std::sync::Arc;

use http::Method;

use super::{App, RouteDoc, handler_endpoint};
use crate::Service;
use crate::depends::guard::{self, Check, Guarded};
use crate::extract::FromRequestParts;
use crate::handler::Handler;
use crate::openapi::document::Describe;

/// Makes a route's endpoint once the app's state is known.
type MakeEndpoint<S> = Box<dyn FnOnce(Arc<S>) -> Arc<dyn Service> + Send>;

/// A group of routes sharing a path prefix and OpenAPI tags, like FastAPI's `APIRouter`.
///
/// ```
/// use corio_web::app::Router;
/// use corio_web::testing::TestClient;
/// use corio_web::App;
///
/// async fn list_users() -> &'static str { "users" }
/// async fn read_user() -> &'static str { "one user" }
///
/// let users = Router::new()
///     .prefix("/users")
///     .tag("users")
///     .get("/", list_users)
///     .get("/{user_id}", read_user);
/// let app = App::new().include_router(Router::new().prefix("/api/v1").include_router(users));
///
/// corio::run(async move {
///     let client = TestClient::new(app);
///     assert_eq!(client.get("/api/v1/users/").send().await.text(), "users");
///     assert_eq!(client.get("/api/v1/users/7").send().await.text(), "one user");
/// });
/// ```
pub struct Router<S = ()> {
    prefix: String,
    tags: Vec<String>,
    routes: Vec<RouterRoute<S>>,
    /// Run before each of its routes' endpoints ([`Router::dependency`]).
    dependencies: Vec<Check<S>>,
    /// What those dependencies read, for each route's OpenAPI operation.
    dependency_docs: Vec<Describe>,
}

struct RouterRoute<S> {
    method: Method,
    /// Relative to the router's prefix.
    pattern: String,
    tags: Vec<String>,
    doc: RouteDoc,
    make: MakeEndpoint<S>,
}

impl<S> Default for Router<S> {
    fn default() -> Router<S> {
        Router {
            prefix: String::new(),
            tags: Vec::new(),
            routes: Vec::new(),
            dependencies: Vec::new(),
            dependency_docs: Vec::new(),
        }
    }
}

impl<S: Send + Sync + 'static> Router<S> {
    /// A router with no prefix, tags or routes.
    pub fn new() -> Router<S> {
        Router::default()
    }

    /// Puts every route of this router under `prefix` (`"/items"`; no trailing slash).
    ///
    /// # Panics
    ///
    /// If `prefix` does not start with `/` or ends with one (FastAPI's rule).
    pub fn prefix(mut self, prefix: &str) -> Router<S> {
        assert!(
            prefix.starts_with('/') && !prefix.ends_with('/'),
            "a router prefix starts with '/' and does not end with one: {prefix:?}"
        );
        self.prefix = prefix.to_string();
        self
    }

    /// Adds an OpenAPI tag to every route of this router.
    pub fn tag(mut self, tag: &str) -> Router<S> {
        self.tags.push(tag.to_string());
        self
    }

    /// Runs extractor `D` before each of this router's endpoints (nested routers' too), as
    /// FastAPI's `APIRouter(dependencies=[...])`; see [`App::dependency`]. A router's
    /// dependencies run after the app's and those of the routers it is included in.
    pub fn dependency<D>(mut self) -> Router<S>
    where
        D: FromRequestParts<S> + 'static,
    {
        self.dependencies.push(guard::check::<S, D>());
        self.dependency_docs.push(D::describe);
        self
    }

    /// Answers `method` requests to `pattern` (relative to the prefix) with `handler`.
    pub fn route<H, T>(mut self, method: Method, pattern: &str, handler: H) -> Router<S>
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let doc = RouteDoc::of::<H, T, S>();
        let endpoint_doc = doc.clone();
        self.routes.push(RouterRoute {
            method,
            pattern: pattern.to_string(),
            tags: Vec::new(),
            doc,
            make: Box::new(move |state| handler_endpoint(handler, state, &endpoint_doc)),
        });
        self
    }

    method_shortcuts! {
        Router<S>,
        [],
        /// Answers `GET` (and `HEAD`) requests with `handler`.
        get => GET;
        /// Answers `POST` requests with `handler`.
        post => POST;
        /// Answers `PUT` requests with `handler`.
        put => PUT;
        /// Answers `PATCH` requests with `handler`.
        patch => PATCH;
        /// Answers `DELETE` requests with `handler`.
        delete => DELETE;
        /// Answers `OPTIONS` requests with `handler`.
        options => OPTIONS;
    }

    /// Nests `other`: its routes go under this router's prefix (after their own), with
    /// this router's tags added to theirs.
    pub fn include_router(mut self, other: Router<S>) -> Router<S> {
        for route in other.into_routes() {
            self.routes.push(route);
        }
        self
    }

    /// The routes with this router's prefix and tags applied.
    fn into_routes(self) -> impl Iterator<Item = RouterRoute<S>> {
        let Router {
            prefix,
            tags,
            routes,
            dependencies,
            dependency_docs,
        } = self;
        let checks: Option<Arc<[Check<S>]>> =
            (!dependencies.is_empty()).then(|| dependencies.into());
        routes.into_iter().map(move |mut route| {
            if let Some(checks) = &checks {
                let checks = checks.clone();
                let make = route.make;
                route.make = Box::new(move |state| {
                    Arc::new(Guarded {
                        checks,
                        state: state.clone(),
                        inner: make(state),
                    })
                });
            }
            let inner = std::mem::take(&mut route.doc.dependencies);
            route.doc.dependencies = dependency_docs.iter().copied().chain(inner).collect();
            route.pattern = format!("{prefix}{}", route.pattern);
            let mut all = tags.clone();
            all.append(&mut route.tags);
            route.tags = all;
            route
        })
    }
}

impl<S: Send + Sync + 'static> App<S> {
    /// Adds every route of `router` (FastAPI's `app.include_router`).
    ///
    /// # Panics
    ///
    /// If a route is invalid or already registered.
    pub fn include_router(mut self, router: Router<S>) -> App<S> {
        for route in router.into_routes() {
            let endpoint = (route.make)(self.state.clone());
            let added = self.add_route(
                route.method,
                route.pattern,
                endpoint,
                route.tags,
                Some(route.doc),
            );
            if let Err(e) = added {
                panic!("{e}");
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestClient;

    async fn ok() -> &'static str {
        "ok"
    }

    #[test]
    fn prefixes_nest_and_tags_accumulate() {
        let items = Router::new().prefix("/items").tag("items").get("/{id}", ok);
        let api = Router::new()
            .prefix("/api")
            .tag("v1")
            .include_router(items)
            .post("/ping", ok);
        let app = App::new().get("/", ok).include_router(api);
        let info: Vec<(String, String, Vec<String>)> = app
            .route_info()
            .map(|r| (r.method.to_string(), r.pattern.clone(), r.tags.clone()))
            .collect();
        assert_eq!(
            info,
            [
                ("GET".into(), "/".into(), vec![]),
                (
                    "GET".into(),
                    "/api/items/{id}".into(),
                    vec!["v1".to_string(), "items".to_string()]
                ),
                ("POST".into(), "/api/ping".into(), vec!["v1".to_string()]),
            ]
        );
        corio::run(async move {
            let client = TestClient::new(app);
            assert_eq!(client.get("/api/items/3").send().await.text(), "ok");
            assert_eq!(client.post("/api/ping").send().await.text(), "ok");
            assert_eq!(client.get("/items/3").send().await.status(), 404);
        });
    }

    #[test]
    #[should_panic(expected = "router prefix")]
    fn a_prefix_with_a_trailing_slash_is_refused() {
        let _ = Router::<()>::new().prefix("/items/");
    }
}
