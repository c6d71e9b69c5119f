//! `App::exception_handler`: FastAPI's `@app.exception_handler`, for the framework's errors
//! and the application's own.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use corio_web::depends::BackgroundTasks;
use corio_web::extract::Json;
use corio_web::extract::{Path, RequestValidationError};
use corio_web::http::{StatusCode, header};
use corio_web::response::{Exception, HttpError};
use corio_web::server::Server;
use corio_web::testing::TestClient;
use corio_web::{App, IntoResponse, RequestHead};
use serde::Deserialize;
use serde_json::{Value, json};

async fn read_item(Path(item_id): Path<u32>) -> Result<String, HttpError> {
    if item_id == 3 {
        return Err(HttpError::new(418, "Nope! I don't like 3."));
    }
    Ok(format!("item {item_id}"))
}

#[derive(Clone, Debug)]
struct UnicornError {
    name: String,
}

async fn unicorn(Path(name): Path<String>) -> Result<&'static str, Exception<UnicornError>> {
    if name == "yolo" {
        return Err(Exception(UnicornError { name }));
    }
    Ok("a fine unicorn")
}

#[test]
fn validation_errors_can_be_answered_differently() {
    corio::run(async {
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .exception_handler(|errors: RequestValidationError| {
                // FastAPI's docs example: plain text instead of the JSON body.
                (
                    StatusCode::BAD_REQUEST,
                    format!("{} invalid value(s)", errors.errors().len()),
                )
            });
        let client = TestClient::new(app);
        let response = client.get("/items/foo").send().await;
        assert_eq!(response.status(), 400);
        assert_eq!(response.text(), "1 invalid value(s)");
        assert_eq!(client.get("/items/5").send().await.text(), "item 5");
    });
}

#[test]
fn http_errors_and_the_apps_own_404_can_be_answered_differently() {
    corio::run(async {
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .exception_handler(|error: HttpError| {
                Json(json!({"error": error.detail(), "code": error.status().as_u16()}))
            });
        let client = TestClient::new(app);
        let teapot: Value = client.get("/items/3").send().await.json();
        assert_eq!(
            teapot,
            json!({"error": "Nope! I don't like 3.", "code": 418})
        );
        let missing: Value = client.get("/nowhere").send().await.json();
        assert_eq!(missing, json!({"error": "Not Found", "code": 404}));
    });
}

#[test]
fn the_applications_own_exceptions_reach_their_handler() {
    corio::run(async {
        let with_handler = App::new()
            .get("/unicorns/{name}", unicorn)
            .exception_handler(|e: UnicornError| {
                (
                    StatusCode::IM_A_TEAPOT,
                    Json(json!({"message": format!("Oops! {} did something. There goes a rainbow...", e.name)})),
                )
            });
        let client = TestClient::new(with_handler);
        let response = client.get("/unicorns/yolo").send().await;
        assert_eq!(response.status(), 418);
        let body: Value = response.json();
        assert_eq!(
            body["message"],
            "Oops! yolo did something. There goes a rainbow..."
        );
        assert_eq!(
            client.get("/unicorns/bob").send().await.text(),
            "a fine unicorn"
        );

        // Without a handler, the client learns nothing but 500.
        let client = TestClient::new(App::new().get("/unicorns/{name}", unicorn));
        let response = client.get("/unicorns/yolo").send().await;
        assert_eq!(response.status(), 500);
        assert!(response.bytes().is_empty());
    });
}

#[test]
fn the_first_matching_handler_answers() {
    corio::run(async {
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .exception_handler(|_: UnicornError| "unicorn")
            .exception_handler(|_: HttpError| "first http")
            .exception_handler(|_: HttpError| "second http");
        let client = TestClient::new(app);
        assert_eq!(client.get("/items/3").send().await.text(), "first http");
    });
}

// ---- Async handlers, the request, per-status handlers ----------------------------------

/// FastAPI's `async def handler(request: Request, exc: HTTPException)`: it awaits, and it
/// words its answer with the request's path.
async fn not_found(head: RequestHead, error: HttpError) -> (StatusCode, String) {
    corio::time::sleep(Duration::from_millis(5)).await;
    (
        error.status(),
        format!("nothing at {} (checked twice)", head.path()),
    )
}

async fn not_allowed(head: RequestHead, _: HttpError) -> (StatusCode, String) {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} is not for {}", head.method(), head.path()),
    )
}

#[test]
fn an_async_handler_awaits_and_sees_the_request() {
    corio::run(async {
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .exception_handler(not_found);
        let client = TestClient::new(app);
        let response = client.get("/nowhere?x=1").send().await;
        assert_eq!(response.status(), 404);
        assert_eq!(response.text(), "nothing at /nowhere (checked twice)");
        // A route's own HttpError reaches it too; success goes by untouched.
        let teapot = client.get("/items/3").send().await;
        assert_eq!(teapot.status(), 418);
        assert_eq!(teapot.text(), "nothing at /items/3 (checked twice)");
        assert_eq!(client.get("/items/4").send().await.text(), "item 4");
    });
}

#[test]
fn each_status_can_have_its_handler() {
    corio::run(async {
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .exception_handler_for_status(StatusCode::NOT_FOUND, not_found)
            .exception_handler_for_status(StatusCode::METHOD_NOT_ALLOWED, not_allowed);
        let client = TestClient::new(app);
        let missing = client.get("/nowhere").send().await;
        assert_eq!(missing.status(), 404);
        assert_eq!(missing.text(), "nothing at /nowhere (checked twice)");
        let wrong = client.delete("/items/5").send().await;
        assert_eq!(wrong.status(), 405);
        assert_eq!(wrong.text(), "DELETE is not for /items/5");
        // A status without a handler keeps FastAPI's answer.
        let teapot = client.get("/items/3").send().await;
        assert_eq!(teapot.status(), 418);
        assert_eq!(teapot.text(), r#"{"detail":"Nope! I don't like 3."}"#);
    });
}

/// The router's 405 carries its `Allow` on the error, so a handler that answers instead
/// can keep the header HTTP requires.
#[test]
fn a_405_handler_can_keep_the_allow_header() {
    corio::run(async {
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .exception_handler_for_status(StatusCode::METHOD_NOT_ALLOWED, |e: HttpError| {
                let mut response = (e.status(), "use another method").into_response();
                if let Some(headers) = e.headers() {
                    response.headers_mut().extend(headers.clone());
                }
                response
            });
        let client = TestClient::new(app);
        let wrong = client.delete("/items/5").send().await;
        assert_eq!(wrong.status(), 405);
        assert_eq!(wrong.text(), "use another method");
        assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
    });
}

#[test]
fn registration_order_decides_between_status_and_type_handlers() {
    corio::run(async {
        // Specific first: the 404 handler answers 404s, the general one the rest.
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .exception_handler_for_status(StatusCode::NOT_FOUND, |_: HttpError| "404 handler")
            .exception_handler(|_: HttpError| "general handler");
        let client = TestClient::new(app);
        assert_eq!(client.get("/nowhere").send().await.text(), "404 handler");
        assert_eq!(
            client.get("/items/3").send().await.text(),
            "general handler"
        );

        // General first: it answers everything, the 404 handler never runs.
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .exception_handler(|_: HttpError| async { "general handler" })
            .exception_handler_for_status(StatusCode::NOT_FOUND, |_: HttpError| -> &str {
                unreachable!("registered after a handler for every HttpError")
            });
        let client = TestClient::new(app);
        assert_eq!(
            client.get("/nowhere").send().await.text(),
            "general handler"
        );
    });
}

#[derive(Deserialize, schemars::JsonSchema)]
#[allow(dead_code)] // only its validation matters here
struct Item {
    name: String,
    price: f64,
}

async fn create_item(Json(item): Json<Item>) -> String {
    format!("created {}", item.name)
}

/// Validation errors answered with the method and path, in the format the client accepts.
async fn invalid(head: RequestHead, errors: RequestValidationError) -> (StatusCode, String) {
    let fields: Vec<String> = errors
        .errors()
        .iter()
        .map(|error| {
            error
                .loc
                .last()
                .map(ToString::to_string)
                .unwrap_or_default()
        })
        .collect();
    let plain = head
        .headers()
        .get(header::ACCEPT)
        .is_some_and(|accept| accept == "text/plain");
    let body = if plain {
        format!(
            "{} {}: invalid {}",
            head.method(),
            head.path(),
            fields.join(", ")
        )
    } else {
        json!({"method": head.method().as_str(), "invalid": fields}).to_string()
    };
    (StatusCode::BAD_REQUEST, body)
}

#[test]
fn validation_errors_are_answered_with_the_request_method() {
    corio::run(async {
        let app = App::new()
            .post("/items/", create_item)
            .get("/items/{item_id}", read_item)
            .exception_handler(invalid);
        let client = TestClient::new(app);

        let response = client
            .post("/items/")
            .header("accept", "text/plain")
            .json(&json!({"name": "Foo"}))
            .send()
            .await;
        assert_eq!(response.status(), 400);
        assert_eq!(response.text(), "POST /items/: invalid price");

        let response = client.get("/items/foo").send().await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json();
        assert_eq!(body, json!({"method": "GET", "invalid": ["item_id"]}));

        let created = client
            .post("/items/")
            .json(&json!({"name": "Foo", "price": 1.5}))
            .send()
            .await;
        assert_eq!(created.text(), "created Foo");
    });
}

#[test]
fn all_three_shapes_mix() {
    corio::run(async {
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .get("/unicorns/{name}", unicorn)
            // Sync, as before.
            .exception_handler(|e: UnicornError| format!("sync: {}", e.name))
            // Async without the request: nothing is copied for it.
            .exception_handler(|errors: RequestValidationError| async move {
                corio::time::sleep(Duration::from_millis(1)).await;
                format!("async: {} error(s)", errors.errors().len())
            })
            // Async with the request, as an async closure.
            .exception_handler(async |head: RequestHead, _: HttpError| {
                format!("with request: {}", head.uri())
            });
        let client = TestClient::new(app);
        assert_eq!(
            client.get("/unicorns/yolo").send().await.text(),
            "sync: yolo"
        );
        assert_eq!(
            client.get("/items/x").send().await.text(),
            "async: 1 error(s)"
        );
        assert_eq!(
            client.get("/items/3?q=1").send().await.text(),
            "with request: /items/3?q=1"
        );
    });
}

#[test]
fn the_replaced_responses_background_tasks_still_run() {
    corio::run(async {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let failing = move |tasks: BackgroundTasks| {
            let flag = flag.clone();
            async move {
                tasks.add(async move { flag.store(true, Ordering::SeqCst) });
                Err::<(), _>(HttpError::new(409, "conflict"))
            }
        };
        let app = App::new()
            .post("/orders", failing)
            .exception_handler(|error: HttpError| async move { error.detail().to_uppercase() });
        let response = TestClient::new(app).post("/orders").send().await;
        assert_eq!(response.text(), "CONFLICT");
        assert!(ran.load(Ordering::SeqCst), "the route's task was dropped");
    });
}

// ---- Panics ------------------------------------------------------------------------------

/// The app on a real server: a panic in an exception handler, sync or async, is answered
/// as the server answers any handler's panic, with a 500, and serving goes on.
#[test]
fn a_panicking_exception_handler_is_the_servers_500() {
    // Without them, these would be a 422 and a 418.
    let app = App::new()
        .get("/items/{item_id}", read_item)
        .exception_handler(|_: RequestValidationError| -> &str { panic!("sync handler blew up") })
        .exception_handler(async |_: RequestHead, _: HttpError| -> &str {
            corio::time::sleep(Duration::from_millis(1)).await;
            panic!("async handler blew up")
        });
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = corio::sync::oneshot::channel::<()>();
    let server = thread::spawn(move || {
        corio::run(async move {
            let server = Server::bind("127.0.0.1:0").await?;
            addr_tx.send(server.local_addr()?).unwrap();
            server
                .serve(app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        })
    });
    let addr = addr_rx.recv().expect("the server failed to start");

    assert!(get(addr, "/items/foo").starts_with("HTTP/1.1 500 "));
    assert!(get(addr, "/items/3").starts_with("HTTP/1.1 500 "));
    let fine = get(addr, "/items/4");
    assert!(fine.starts_with("HTTP/1.1 200 "), "{fine}");
    assert!(fine.ends_with("item 4"), "{fine}");

    let _ = stop.send(());
    server.join().unwrap().unwrap();
}

/// The whole answer to `GET path`, on a connection of its own.
fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}
