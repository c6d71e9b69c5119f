//! The request scope is created by the first registration, not when a layer enters: these
//! are the ways a registration finds the layer that runs it.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use corio_web::depends::{BackgroundTasks, Dependency, Depends, RequestScope, Teardown};
use corio_web::extract::{FromRequestParts, State};
use corio_web::http::request::Parts;
use corio_web::testing::TestClient;
use corio_web::{App, Body, Request, Response, Service, service_fn};

/// What happened, in order.
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

/// Registers a teardown and a background task.
struct Db;

impl Dependency<Log> for Db {
    type Rejection = Infallible;

    async fn resolve(parts: &mut Parts, log: &Log) -> Result<Self, Infallible> {
        log.push("open db");
        let closing = log.clone();
        Teardown::of(parts).defer(async move { closing.push("close db") });
        let later = log.clone();
        BackgroundTasks::of(parts).add(async move { later.push("db task") });
        Ok(Db)
    }
}

/// Registers nothing.
struct Quiet;

impl Dependency<Log> for Quiet {
    type Rejection = Infallible;

    async fn resolve(_parts: &mut Parts, log: &Log) -> Result<Self, Infallible> {
        log.push("quiet");
        Ok(Quiet)
    }
}

/// The last extractor consumes the request's extensions: what it registers still runs,
/// for async and blocking handlers alike.
#[test]
fn what_the_last_extractor_registers_runs() {
    async fn last(State(log): State<Log>, _db: Depends<Db>) -> &'static str {
        log.push("handler");
        "last"
    }
    fn blocking(State(log): State<Log>, _db: Depends<Db>) -> &'static str {
        log.push("handler");
        "blocking"
    }
    corio::run(async {
        let log = Log::default();
        let app = App::with_state(log.clone())
            .get("/last", last)
            .get("/blocking", blocking);
        let client = TestClient::new(app);
        for path in ["/last", "/blocking"] {
            client.get(path).send().await;
            assert_eq!(
                log.take(),
                ["open db", "handler", "close db", "db task"],
                "{path}"
            );
        }
    });
}

/// An app-level dependency that registers nothing leaves the scope to the handler layer;
/// one that registers owns it, and the handler's registrations join it.
#[test]
fn behind_app_dependencies_the_handlers_registrations_run() {
    async fn handler(_db: Depends<Db>, State(log): State<Log>) -> &'static str {
        log.push("handler");
        "ok"
    }
    corio::run(async {
        let log = Log::default();
        let client = TestClient::new(
            App::with_state(log.clone())
                .dependency::<Depends<Quiet>>()
                .get("/", handler),
        );
        client.get("/").send().await;
        assert_eq!(
            log.take(),
            ["quiet", "open db", "handler", "close db", "db task"]
        );

        // The app's own dependency registers first, so it is torn down last.
        struct Outer;
        impl Dependency<Log> for Outer {
            type Rejection = Infallible;
            async fn resolve(parts: &mut Parts, log: &Log) -> Result<Self, Infallible> {
                let closing = log.clone();
                Teardown::of(parts).defer(async move { closing.push("close outer") });
                Ok(Outer)
            }
        }
        let client = TestClient::new(
            App::with_state(log.clone())
                .dependency::<Depends<Outer>>()
                .get("/", handler),
        );
        client.get("/").send().await;
        assert_eq!(
            log.take(),
            ["open db", "handler", "close db", "close outer", "db task"]
        );
    });
}

/// A plain service behind an app-level dependency that registered nothing registers on
/// the request it was given: the dependency layer, whose answer it is, runs it.
#[test]
fn a_plain_service_behind_an_app_dependency_registers_with_it() {
    corio::run(async {
        let log = Log::default();
        let seen = log.clone();
        let plain = service_fn(move |request: Request| {
            let log = seen.clone();
            async move {
                let (mut parts, _body) = request.into_parts();
                let closing = log.clone();
                Teardown::of(&mut parts).defer(async move { closing.push("close plain") });
                log.push("plain");
                Response::new(Body::from("plain"))
            }
        });
        let app = App::with_state(log.clone())
            .dependency::<Depends<Quiet>>()
            .route_service(corio_web::http::Method::GET, "/", plain);
        TestClient::new(app).get("/").send().await;
        assert_eq!(log.take(), ["quiet", "plain", "close plain"]);
    });
}

/// A dependency resolved by hand, outside any request's answer, makes the scope unowned;
/// the first layer to enter adopts it and runs it.
#[test]
fn a_scope_made_before_any_layer_entered_is_adopted() {
    corio::run(async {
        let log = Log::default();
        let (mut parts, body) = Request::new(Body::empty()).into_parts();
        let _db = Depends::<Db>::from_request_parts(&mut parts, &log).await;
        let request = Request::from_parts(parts, body);
        let seen = log.clone();
        let service = service_fn(move |request: Request| {
            let log = seen.clone();
            async move {
                let (mut parts, _body) = request.into_parts();
                let scope = RequestScope::enter(&mut parts.extensions);
                assert!(scope.is_owner());
                let inner = RequestScope::enter(&mut parts.extensions);
                assert!(!inner.is_owner(), "the scope has an owner now");
                scope
                    .run(async move {
                        log.push("answered");
                        Response::new(Body::empty())
                    })
                    .await
            }
        });
        let mut response = service.call(request).await;
        let after = corio_web::depends::AfterResponse::take(&mut response);
        assert_eq!(log.take(), ["open db", "answered", "close db"]);
        after.expect("the dependency's task").run().await;
        assert_eq!(log.take(), ["db task"]);
    });
}

/// A request head a handler builds, and resolves a dependency on, while its answer is
/// polled: what the dependency registers runs when that answer is done.
#[test]
fn a_head_built_during_an_answer_registers_with_that_answer() {
    async fn handler(State(log): State<Log>, _quiet: Depends<Quiet>) -> &'static str {
        let (mut parts, _body) = Request::new(Body::empty()).into_parts();
        let _db = Depends::<Db>::from_request_parts(&mut parts, &log).await;
        log.push("handler");
        "built"
    }
    corio::run(async {
        let log = Log::default();
        let client = TestClient::new(App::with_state(log.clone()).get("/", handler));
        assert_eq!(client.get("/").send().await.text(), "built");
        assert_eq!(
            log.take(),
            ["quiet", "open db", "handler", "close db", "db task"]
        );
    });
}

/// A handler that answers through another app: each request runs its own scope, the
/// inner one when its answer is done, before the outer handler goes on.
#[test]
fn a_request_answered_inside_another_runs_its_own_scope() {
    async fn inner(_db: Depends<Db>, State(log): State<Log>) -> &'static str {
        log.push("inner handler");
        "inner"
    }
    corio::run(async {
        let log = Log::default();
        let inner_app = Arc::new(App::with_state(log.clone()).get("/", inner));
        let outer = move |State(log): State<Log>, teardown: Teardown| {
            let inner_app = inner_app.clone();
            async move {
                let closing = log.clone();
                teardown.defer(async move { closing.push("close outer") });
                let mut request = Request::new(Body::empty());
                *request.uri_mut() = "/".parse().unwrap();
                let mut response = inner_app.call(request).await;
                let after = corio_web::depends::AfterResponse::take(&mut response);
                log.push("outer handler");
                after.expect("the inner request's task").run().await;
                "outer"
            }
        };
        let client = TestClient::new(App::with_state(log.clone()).get("/", outer));
        assert_eq!(client.get("/").send().await.text(), "outer");
        assert_eq!(
            log.take(),
            [
                "open db",
                "inner handler",
                "close db",
                "outer handler",
                "db task",
                "close outer"
            ]
        );
    });
}

/// A blocking handler that takes the whole request and registers in its body (on a
/// blocking-pool thread, where no answer is polled) creates a scope no layer runs: its
/// teardown and background task still run, on their own, instead of being dropped.
#[test]
fn registrations_no_answer_runs_are_run_on_their_own_not_lost() {
    fn blocking(request: Request) -> &'static str {
        let (mut parts, _) = request.into_parts();
        let log = parts.extensions.get::<Log>().unwrap().clone();
        let closing = log.clone();
        Teardown::of(&mut parts).defer(async move { closing.push("teardown") });
        BackgroundTasks::of(&mut parts).add(async move { log.push("task") });
        "done"
    }
    let log = Log::default();
    let with_log = log.clone();
    let app = App::new().get("/", blocking);
    let service = service_fn(move |mut request: Request| {
        request.extensions_mut().insert(with_log.clone());
        app.call(request)
    });
    corio::run(async {
        let client = TestClient::new(service);
        assert_eq!(client.get("/").send().await.text(), "done");
        // They run in a task of their own: give it a moment.
        for _ in 0..200 {
            if log.0.lock().unwrap().len() == 2 {
                break;
            }
            corio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    assert_eq!(log.take(), ["teardown", "task"]);
}
