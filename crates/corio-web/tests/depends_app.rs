//! App- and router-level dependencies: run before every endpoint of the group, in
//! FastAPI's order; a rejection answers the request, validation errors join the
//! handler's 422.

use std::sync::{Arc, Mutex};

use corio_web::depends::{Dependency, DependencyError, Depends, Teardown};
use corio_web::extract::{FromRequestParts, Header, Path, Query, State};
use corio_web::http::Method;
use corio_web::http::request::Parts;
use corio_web::response::HttpError;
use corio_web::testing::TestClient;
use corio_web::{App, Body, Request, Response, Router, service_fn};
use serde::Deserialize;
use serde_json::{Value, json};

/// What ran, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct TokenHeader {
    x_token: String,
}

/// FastAPI's `verify_token`: a missing header is a 422, a wrong one a 401.
struct Verified {
    user: String,
}

impl Dependency<Log> for Verified {
    type Rejection = DependencyError;

    async fn resolve(parts: &mut Parts, log: &Log) -> Result<Self, DependencyError> {
        log.push("verify");
        let Header(header) = Header::<TokenHeader>::from_request_parts(parts, log).await?;
        if header.x_token != "secret" {
            return Err(HttpError::new(401, "Invalid X-Token header").into());
        }
        let closing = log.clone();
        Teardown::of(parts).defer(async move { closing.push("verify teardown") });
        Ok(Verified {
            user: "alice".into(),
        })
    }
}

/// Logs that it ran; `?tag=` is required.
struct Tagged<const N: usize>;

#[derive(Deserialize, schemars::JsonSchema)]
struct Tag {
    #[allow(dead_code, reason = "only required")]
    tag: String,
}

impl<const N: usize> Dependency<Log> for Tagged<N> {
    type Rejection = DependencyError;

    async fn resolve(parts: &mut Parts, log: &Log) -> Result<Self, DependencyError> {
        log.push(format!("router {N}"));
        let Query(_tag) = Query::<Tag>::from_request_parts(parts, log).await?;
        Ok(Tagged)
    }
}

async fn item(Path(id): Path<u32>, State(log): State<Log>) -> String {
    log.push("handler");
    format!("item {id}")
}

async fn whoami(Depends(verified): Depends<Verified>, State(log): State<Log>) -> String {
    log.push("handler");
    verified.user.clone()
}

async fn no_arguments() -> &'static str {
    "no arguments"
}

fn app(log: &Log) -> App<Log> {
    let plain = service_fn(|_: Request| async { Response::new(Body::from("plain service")) });
    App::with_state(log.clone())
        .dependency::<Depends<Verified>>()
        .get("/items/{id}", item)
        .get("/me", whoami)
        .get("/bare", no_arguments)
        .route_service(Method::GET, "/plain", plain)
}

#[test]
fn an_app_dependency_runs_before_every_route_and_rejects_with_401() {
    corio::run(async {
        let log = Log::default();
        let client = TestClient::new(app(&log));
        let ok = client
            .get("/items/3")
            .header("x-token", "secret")
            .send()
            .await;
        assert_eq!(ok.text(), "item 3");
        assert_eq!(log.take(), ["verify", "handler", "verify teardown"]);

        let wrong = client
            .get("/items/3")
            .header("x-token", "guess")
            .send()
            .await;
        assert_eq!(wrong.status(), 401);
        assert_eq!(wrong.text(), r#"{"detail":"Invalid X-Token header"}"#);
        assert_eq!(log.take(), ["verify"], "the handler did not run");

        let plain = client.get("/plain").header("x-token", "guess").send().await;
        assert_eq!(plain.status(), 401, "plain services are guarded too");
        log.take();

        // Not a route: no dependency runs.
        assert_eq!(client.get("/nowhere").send().await.status(), 404);
        assert!(log.take().is_empty());
    });
}

#[test]
fn the_handler_reuses_the_app_dependencys_value() {
    corio::run(async {
        let log = Log::default();
        let client = TestClient::new(app(&log));
        let me = client.get("/me").header("x-token", "secret").send().await;
        assert_eq!(me.text(), "alice");
        assert_eq!(log.take(), ["verify", "handler", "verify teardown"]);
    });
}

#[test]
fn app_dependency_validation_errors_join_the_handlers_422() {
    corio::run(async {
        let log = Log::default();
        let client = TestClient::new(app(&log));
        let response = client.get("/items/foo").send().await;
        assert_eq!(response.status(), 422);
        let body: Value = response.json();
        let locs: Vec<&Value> = body["detail"]
            .as_array()
            .expect("a list of errors")
            .iter()
            .map(|e| &e["loc"])
            .collect();
        // FastAPI's order: the app's dependency first, then the handler's own parameters.
        assert_eq!(
            locs,
            [&json!(["header", "x-token"]), &json!(["path", "id"])],
            "{body}"
        );
        assert_eq!(log.take(), ["verify"], "the handler did not run");
    });
}

#[test]
fn endpoints_that_cannot_merge_get_the_dependencys_422_alone() {
    corio::run(async {
        let log = Log::default();
        let client = TestClient::new(app(&log));
        for path in ["/plain", "/bare"] {
            let response = client.get(path).send().await;
            assert_eq!(response.status(), 422, "{path}");
            let body: Value = response.json();
            assert_eq!(body["detail"][0]["loc"], json!(["header", "x-token"]));
            assert_eq!(body["detail"].as_array().unwrap().len(), 1);
        }
        let ok = client.get("/bare").header("x-token", "secret").send().await;
        assert_eq!(ok.text(), "no arguments");
    });
}

/// When the endpoint cannot report them (here it has no extractors), the guard answers
/// the dependencies' errors itself, still in the order the dependencies ran: the app's
/// token check before the router's `tag`, although a query comes before a header in an
/// endpoint's own parameters.
#[test]
fn dependency_errors_answered_by_the_guard_keep_the_order_the_dependencies_ran_in() {
    corio::run(async {
        let log = Log::default();
        let tagged = Router::new()
            .prefix("/tagged")
            .dependency::<Depends<Tagged<1>>>()
            .get("/bare", no_arguments);
        let app = App::with_state(log.clone())
            .dependency::<Depends<Verified>>()
            .include_router(tagged);
        let response = TestClient::new(app).get("/tagged/bare").send().await;
        assert_eq!(response.status(), 422);
        let body: Value = response.json();
        let locs: Vec<&Value> = body["detail"]
            .as_array()
            .expect("a list of errors")
            .iter()
            .map(|e| &e["loc"])
            .collect();
        assert_eq!(
            locs,
            [&json!(["header", "x-token"]), &json!(["query", "tag"])],
            "{body}"
        );
    });
}

#[test]
fn router_dependencies_run_after_the_apps_outermost_first() {
    corio::run(async {
        let log = Log::default();
        let inner = Router::new()
            .prefix("/inner")
            .dependency::<Depends<Tagged<2>>>()
            .get("/{id}", item);
        let outer = Router::new()
            .prefix("/outer")
            .dependency::<Depends<Tagged<1>>>()
            .include_router(inner)
            .get("/{id}", item);
        let app = App::with_state(log.clone())
            .dependency::<Depends<Verified>>()
            .include_router(outer)
            .get("/top/{id}", item);
        let client = TestClient::new(app);

        let response = client
            .get("/outer/inner/1?tag=x")
            .header("x-token", "secret")
            .send()
            .await;
        assert_eq!(response.text(), "item 1");
        assert_eq!(
            log.take(),
            [
                "verify",
                "router 1",
                "router 2",
                "handler",
                "verify teardown"
            ]
        );

        let response = client
            .get("/outer/2?tag=x")
            .header("x-token", "secret")
            .send()
            .await;
        assert_eq!(response.text(), "item 2");
        assert_eq!(
            log.take(),
            ["verify", "router 1", "handler", "verify teardown"]
        );

        // Routes outside the routers do not run their dependencies.
        let response = client
            .get("/top/3")
            .header("x-token", "secret")
            .send()
            .await;
        assert_eq!(response.text(), "item 3");
        assert_eq!(log.take(), ["verify", "handler", "verify teardown"]);

        // Every layer's validation errors, and the handler's, in one 422.
        let response = client.get("/outer/inner/x").send().await;
        assert_eq!(response.status(), 422);
        let body: Value = response.json();
        let locs: Vec<&Value> = body["detail"]
            .as_array()
            .expect("a list of errors")
            .iter()
            .map(|e| &e["loc"])
            .collect();
        // The dependencies' errors in the order they ran (app, then routers), then the
        // handler's, as FastAPI lists them.
        assert_eq!(
            locs,
            [
                &json!(["header", "x-token"]),
                &json!(["query", "tag"]),
                &json!(["path", "id"])
            ],
            "{body}"
        );
        // Both routers read the missing `tag`: reported once. The handler did not run.
        assert_eq!(log.take(), ["verify", "router 1", "router 2"]);
    });
}

#[test]
fn a_router_dependency_that_rejects_answers_as_it_is() {
    struct Closed;
    impl<S: Send + Sync> Dependency<S> for Closed {
        type Rejection = HttpError;
        async fn resolve(_parts: &mut Parts, _state: &S) -> Result<Self, HttpError> {
            Err(HttpError::new(403, "closed"))
        }
    }
    corio::run(async {
        let log = Log::default();
        let closed = Router::new()
            .prefix("/closed")
            .dependency::<Depends<Closed>>()
            .get("/{id}", item);
        let client = TestClient::new(App::with_state(log.clone()).include_router(closed));
        let response = client.get("/closed/x").send().await;
        assert_eq!(
            response.status(),
            403,
            "not about values: answered before the 422"
        );
        assert_eq!(response.text(), r#"{"detail":"closed"}"#);
        assert!(log.take().is_empty());
    });
}
