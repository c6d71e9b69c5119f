//! Yield-style dependencies: teardowns run after the handler, in reverse order, whatever
//! the answer — error responses, rejections, panics, cancelled requests.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corio_web::App;
use corio_web::depends::{Dependency, Depends, Exit, Teardown};
use corio_web::extract::{FromRequestParts, Path};
use corio_web::http::request::Parts;
use corio_web::response::HttpError;
use corio_web::testing::TestClient;

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

/// Opened first; closed last.
struct Db;

impl Dependency<Log> for Db {
    type Rejection = Infallible;

    async fn resolve(parts: &mut Parts, log: &Log) -> Result<Self, Infallible> {
        log.push("open db");
        let log = log.clone();
        Teardown::of(parts).defer_with(move |exit| async move {
            // A teardown may await.
            corio::task::yield_now().await;
            log.push(format!("close db ({exit:?})"));
        });
        Ok(Db)
    }
}

/// Needs the db; opened after it, closed before it.
struct Repo;

impl Dependency<Log> for Repo {
    type Rejection = Infallible;

    async fn resolve(parts: &mut Parts, log: &Log) -> Result<Self, Infallible> {
        let Ok(Depends(_db)) = Depends::<Db>::from_request_parts(parts, log).await else {
            unreachable!("the db cannot fail");
        };
        log.push("open repo");
        let log = log.clone();
        Teardown::of(parts).defer(async move { log.push("close repo") });
        Ok(Repo)
    }
}

fn app(log: &Log) -> App<Log> {
    async fn ok(
        _repo: Depends<Repo>,
        _db: Depends<Db>,
        log: corio_web::extract::State<Log>,
    ) -> &'static str {
        log.push("handler");
        "ok"
    }
    async fn fails(_repo: Depends<Repo>) -> Result<&'static str, HttpError> {
        Err(HttpError::new(400, "no"))
    }
    async fn invalid(_repo: Depends<Repo>, Path(_id): Path<u32>) -> &'static str {
        "unreachable for /invalid/x"
    }
    async fn panics(_repo: Depends<Repo>) -> &'static str {
        panic!("handler boom")
    }
    fn blocking(_repo: Depends<Repo>, log: corio_web::extract::State<Log>) -> &'static str {
        std::thread::sleep(Duration::from_millis(5));
        log.push("blocking handler");
        "blocked"
    }
    async fn hangs(_repo: Depends<Repo>) -> &'static str {
        std::future::pending::<()>().await;
        "never"
    }
    async fn handler_defers(
        teardown: Teardown,
        log: corio_web::extract::State<Log>,
    ) -> &'static str {
        let log = log.0.clone();
        teardown.defer(async move { log.push("handler's own teardown") });
        "deferred"
    }
    App::with_state(log.clone())
        .get("/ok", ok)
        .get("/fails", fails)
        .get("/invalid/{id}", invalid)
        .get("/panics", panics)
        .get("/blocking", blocking)
        .get("/hangs", hangs)
        .get("/defers", handler_defers)
}

#[test]
fn teardowns_run_after_the_handler_in_reverse_order() {
    corio::run(async {
        let log = Log::default();
        let client = TestClient::new(app(&log));
        assert_eq!(client.get("/ok").send().await.text(), "ok");
        assert_eq!(
            log.take(),
            [
                "open db",
                "open repo",
                "handler",
                "close repo",
                "close db (Responded(200))"
            ]
        );
        assert_eq!(client.get("/blocking").send().await.text(), "blocked");
        assert_eq!(
            log.take(),
            [
                "open db",
                "open repo",
                "blocking handler",
                "close repo",
                "close db (Responded(200))"
            ]
        );
        assert_eq!(client.get("/defers").send().await.text(), "deferred");
        assert_eq!(log.take(), ["handler's own teardown"]);
    });
}

#[test]
fn teardowns_run_after_error_responses_and_rejections() {
    corio::run(async {
        let log = Log::default();
        let client = TestClient::new(app(&log));
        assert_eq!(client.get("/fails").send().await.status(), 400);
        assert_eq!(
            log.take(),
            [
                "open db",
                "open repo",
                "close repo",
                "close db (Responded(400))"
            ]
        );
        // The dependency resolved; a later extractor rejected the request.
        assert_eq!(client.get("/invalid/x").send().await.status(), 422);
        assert_eq!(
            log.take(),
            [
                "open db",
                "open repo",
                "close repo",
                "close db (Responded(422))"
            ]
        );
    });
}

#[test]
fn teardowns_run_when_the_handler_panics_and_the_panic_goes_on() {
    let log = Log::default();
    let app = app(&log);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        corio::run(async move { TestClient::new(app).get("/panics").send().await })
    }));
    let payload = result.expect_err("the panic reaches the server (which answers 500)");
    assert_eq!(
        payload.downcast_ref::<&str>().copied(),
        Some("handler boom")
    );
    assert_eq!(
        log.take(),
        ["open db", "open repo", "close repo", "close db (Panicked)"]
    );
}

#[test]
fn teardowns_of_a_dropped_request_run_in_a_task_of_their_own() {
    corio::run(async {
        let log = Log::default();
        let client = TestClient::new(app(&log));
        let hung =
            corio::time::timeout(Duration::from_millis(20), client.get("/hangs").send()).await;
        assert!(hung.is_err(), "the handler never answers");
        for _ in 0..100 {
            if log.0.lock().unwrap().len() == 4 {
                break;
            }
            corio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            log.take(),
            ["open db", "open repo", "close repo", "close db (Cancelled)"]
        );
    });
}

/// A runtime that shuts down with a request still in its handler drops the request's
/// task; its teardowns cannot go to a task of their own then (spawning on a runtime that
/// has shut down panicked, and they never ran). They run where the request is dropped
/// instead, as far as they can without the runtime (the db's yields, and finishes).
#[test]
fn teardowns_of_a_request_dropped_at_runtime_shutdown_still_run() {
    for multi_thread in [false, true] {
        let log = Log::default();
        let runtime = if multi_thread {
            corio::runtime::Builder::new_multi_thread().build().unwrap()
        } else {
            corio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
        };
        let client = TestClient::new(app(&log));
        let opened = log.clone();
        runtime.block_on(async move {
            corio::spawn(async move { client.get("/hangs").send().await });
            while opened.0.lock().unwrap().len() < 2 {
                corio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        drop(runtime);
        assert_eq!(
            log.take(),
            ["open db", "open repo", "close repo", "close db (Cancelled)"],
            "multi-thread: {multi_thread}"
        );
    }
}

#[test]
fn a_panicking_teardown_does_not_skip_the_others_and_fails_the_request() {
    struct Fragile;
    impl Dependency<Log> for Fragile {
        type Rejection = Infallible;
        async fn resolve(parts: &mut Parts, log: &Log) -> Result<Self, Infallible> {
            let _ = Depends::<Db>::from_request_parts(parts, log).await;
            Teardown::of(parts).defer(async { panic!("teardown boom") });
            Ok(Fragile)
        }
    }
    async fn handler(_fragile: Depends<Fragile>) -> &'static str {
        "answered"
    }
    let log = Log::default();
    let app = App::with_state(log.clone()).get("/", handler);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        corio::run(async move { TestClient::new(app).get("/").send().await })
    }));
    let payload = result.expect_err("the teardown's panic reaches the server");
    assert_eq!(
        payload.downcast_ref::<&str>().copied(),
        Some("teardown boom")
    );
    assert_eq!(log.take(), ["open db", "close db (Responded(200))"]);
}

/// `defer_with`'s closure runs when the teardowns do; a panic in it, before it returns
/// its future, is a panicking teardown like any other (it skipped the ones registered
/// before it, which then ran as if the request had been cancelled).
#[test]
fn a_teardown_closure_that_panics_before_its_future_does_not_skip_the_others() {
    struct Eager;
    impl Dependency<Log> for Eager {
        type Rejection = Infallible;
        async fn resolve(parts: &mut Parts, log: &Log) -> Result<Self, Infallible> {
            let _ = Depends::<Db>::from_request_parts(parts, log).await;
            Teardown::of(parts)
                .defer_with(|_exit| -> std::future::Ready<()> { panic!("eager boom") });
            Ok(Eager)
        }
    }
    async fn handler(_eager: Depends<Eager>) -> &'static str {
        "answered"
    }
    let log = Log::default();
    let app = App::with_state(log.clone()).get("/", handler);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        corio::run(async move { TestClient::new(app).get("/").send().await })
    }));
    let payload = result.expect_err("the teardown's panic reaches the server");
    assert_eq!(payload.downcast_ref::<&str>().copied(), Some("eager boom"));
    assert_eq!(log.take(), ["open db", "close db (Responded(200))"]);
}

#[test]
fn exit_tells_success_from_failure() {
    use corio_web::http::StatusCode;
    assert!(Exit::Responded(StatusCode::OK).is_success());
    assert!(Exit::Responded(StatusCode::SEE_OTHER).is_success());
    assert!(!Exit::Responded(StatusCode::UNPROCESSABLE_ENTITY).is_success());
    assert!(!Exit::Panicked.is_success());
    assert!(!Exit::Cancelled.is_success());
}
