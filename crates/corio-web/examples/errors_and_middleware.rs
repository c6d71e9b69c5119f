//! Errors and middleware, as in FastAPI's tutorial: `HttpError` (FastAPI's
//! `HTTPException`, headers included), an application error answered by an exception
//! handler, error answers of your own, middleware written as a function (a timing header),
//! CORS, request ids, background tasks that run after the response, and startup/shutdown
//! hooks.
//!
//! ```text
//! cargo run -p corio-web --example errors_and_middleware          # listens on 127.0.0.1:8000
//! curl -i 127.0.0.1:8000/items/foo
//! # 200, x-process-time: 0.000041, x-request-id: 5f0c...: {"item":"The Foo Wrestlers"}
//! curl -i 127.0.0.1:8000/items/bar
//! # 404: {"detail":"Item not found"}
//! curl -i 127.0.0.1:8000/items-header/bar
//! # 404, x-error: There goes my error: {"detail":"Item not found"}
//! curl 127.0.0.1:8000/unicorns/yolo
//! # 418: {"message":"Oops! yolo did something. There goes a rainbow..."}
//! curl -X OPTIONS 127.0.0.1:8000/items/foo -H 'origin: https://frontend.example.com' \
//!      -H 'access-control-request-method: GET'
//! # 200 OK, access-control-allow-origin: https://frontend.example.com
//! curl -X POST 127.0.0.1:8000/send-notification/ada@example.com
//! # {"message":"Notification sent in the background"}
//!
//! cargo run -p corio-web --example errors_and_middleware -- 127.0.0.1:8000 plain-errors
//! curl 127.0.0.1:8000/items/foo
//! # 400: 1 validation error
//! #   path.item_id: Input should be a valid integer, unable to parse string as an integer [type=int_parsing]
//! curl 127.0.0.1:8000/items/3
//! # 418: Nope! I don't like 3.
//! ```

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use corio::signal::{SignalKind, signals};
use corio_web::depends::BackgroundTasks;
use corio_web::extract::{Json, Path, RequestValidationError, State};
use corio_web::http::{HeaderValue, StatusCode};
use corio_web::middleware::{Cors, Next, RequestId, RequestIdLayer, ServiceExt, from_fn};
use corio_web::response::{Exception, HttpError};
use corio_web::server::Server;
use corio_web::{App, Request, Response, Service};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// What the handlers, hooks and middleware share.
#[derive(Clone, Default)]
struct AppState {
    /// Filled at startup, as FastAPI's tutorial fills its `items` in a startup event.
    items: Arc<Mutex<HashMap<String, String>>>,
    /// A stand-in for the tutorial's `log.txt`: what happened, in order.
    log: Arc<Mutex<Vec<String>>>,
}

impl AppState {
    fn log(&self, line: impl Into<String>) {
        self.log.lock().unwrap().push(line.into());
    }
}

// ---------------------------------------------------------------------------------------
// 1. HttpError: an error that is a response. Return it (`?` works too) and the client
//    gets its status and `{"detail": ...}`.

/// `GET /items/{item_id}`.
async fn read_item(
    Path(item_id): Path<String>,
    State(state): State<AppState>,
) -> Result<Json<Value>, HttpError> {
    let items = state.items.lock().unwrap();
    let item = items
        .get(&item_id)
        .ok_or_else(|| HttpError::new(404, "Item not found"))?;
    Ok(Json(json!({"item": item})))
}

/// `GET /items-header/{item_id}`: the same error, with a header of its own (a 401's
/// `WWW-Authenticate`, say).
async fn read_item_header(
    Path(item_id): Path<String>,
    State(state): State<AppState>,
) -> Result<Json<Value>, HttpError> {
    let items = state.items.lock().unwrap();
    match items.get(&item_id) {
        Some(item) => Ok(Json(json!({"item": item}))),
        None => Err(HttpError::new(404, "Item not found").with_header(
            "x-error".parse().expect("a valid header name"),
            HeaderValue::from_static("There goes my error"),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// 2. An error of the application's own: returned as `Exception<E>`, answered by the
//    handler registered for `E` (FastAPI's `@app.exception_handler(UnicornException)`).

#[derive(Clone, Debug)]
struct UnicornError {
    name: String,
}

/// `GET /unicorns/{name}`.
async fn read_unicorn(Path(name): Path<String>) -> Result<Json<Value>, Exception<UnicornError>> {
    if name == "yolo" {
        return Err(Exception(UnicornError { name }));
    }
    Ok(Json(json!({"unicorn_name": name})))
}

/// The answer to every `UnicornError`, wherever it came from.
fn unicorn_handler(error: UnicornError) -> (StatusCode, Json<Value>) {
    let message = format!(
        "Oops! {} did something. There goes a rainbow...",
        error.name
    );
    (StatusCode::IM_A_TEAPOT, Json(json!({"message": message})))
}

// ---------------------------------------------------------------------------------------
// 3. Background tasks: work queued by the handler, run once the response has been sent.

/// `POST /send-notification/{email}`.
async fn send_notification(
    Path(email): Path<String>,
    State(state): State<AppState>,
    tasks: BackgroundTasks,
) -> Json<Value> {
    // A plain closure is blocking work (the tutorial writes a file): it runs on the
    // blocking pool, after the response.
    tasks.add_blocking(move || state.log(format!("notification for {email}: some notification")));
    Json(json!({"message": "Notification sent in the background"}))
}

/// `GET /whoami`: the request's id, given by `RequestIdLayer`.
async fn whoami(id: RequestId) -> Json<Value> {
    Json(json!({"request_id": id.as_str()}))
}

// ---------------------------------------------------------------------------------------
// 4. Middleware as a function: it sees each request on its way in and each response on
//    its way out.

/// FastAPI's `add_process_time_header`: how long the rest of the stack took, in seconds.
async fn add_process_time_header(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let mut response = next.run(request).await;
    let seconds = format!("{:.6}", start.elapsed().as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&seconds) {
        response.headers_mut().insert("x-process-time", value);
    }
    response
}

// ---------------------------------------------------------------------------------------
// The application: routes, error handlers, hooks; then the middleware around it.

fn app(state: AppState) -> Arc<dyn Service> {
    let (startup, shutdown, audit) = (state.clone(), state.clone(), state.clone());
    App::with_state(state)
        .get("/items/{item_id}", read_item)
        .get("/items-header/{item_id}", read_item_header)
        .get("/unicorns/{name}", read_unicorn)
        .post("/send-notification/{email}", send_notification)
        .get("/whoami", whoami)
        .exception_handler(unicorn_handler)
        // Before the first request: load the items.
        .on_startup(move || {
            let state = startup.clone();
            async move {
                let mut items = state.items.lock().unwrap();
                items.insert("foo".into(), "The Foo Wrestlers".into());
                drop(items);
                state.log("Application startup");
            }
        })
        // After the last one.
        .on_shutdown(move || {
            let state = shutdown.clone();
            async move { state.log("Application shutdown") }
        })
        // Each layer wraps the ones before it: the last added sees requests first.
        .layer(from_fn(add_process_time_header))
        // A closure is middleware too; this one notes each answer as it leaves.
        .layer(from_fn(move |request: Request, next: Next| {
            let state = audit.clone();
            async move {
                let path = request.uri().path().to_owned();
                let response = next.run(request).await;
                state.log(format!(
                    "answered {path} with {}",
                    response.status().as_u16()
                ));
                response
            }
        }))
        .layer(
            Cors::new()
                .allow_origins(["https://frontend.example.com"])
                .allow_methods(["GET", "POST"])
                .allow_headers(["x-token"])
                .expose_headers(["x-process-time", "x-request-id"]),
        )
        .layer(RequestIdLayer::new())
}

// ---------------------------------------------------------------------------------------
// 5. Answering the framework's own errors your way: FastAPI's overrides of
//    `RequestValidationException` and `HTTPException`, here as plain text.

/// `GET /items/{item_id}` of the plain-errors app.
async fn read_number(Path(item_id): Path<i32>) -> Result<Json<Value>, HttpError> {
    if item_id == 3 {
        return Err(HttpError::new(418, "Nope! I don't like 3."));
    }
    Ok(Json(json!({"item_id": item_id})))
}

fn plain_errors_app() -> App {
    App::new()
        .get("/items/{item_id}", read_number)
        .exception_handler(|errors: RequestValidationError| {
            (StatusCode::BAD_REQUEST, errors.to_string())
        })
        // Also answers the router's own 404s and 405s.
        .exception_handler(|error: HttpError| (error.status(), error.detail().to_owned()))
}

#[corio::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8000".into());
    let service = match args.next().as_deref() {
        Some("plain-errors") => Arc::new(plain_errors_app()),
        _ => app(AppState::default()),
    };
    let server = Server::bind(&addr).await?;
    println!(
        "errors_and_middleware: listening on http://{}",
        server.local_addr()?
    );
    let mut stop = signals([SignalKind::interrupt(), SignalKind::terminate()])?;
    server
        .serve(service)
        .with_graceful_shutdown(async move {
            stop.next().await;
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use corio_web::testing::TestClient;

    /// The document at /openapi.json is valid OpenAPI 3.1 (`.ci/run` also runs the
    /// openapi-spec-validator on it).
    #[test]
    fn openapi_document_is_valid() {
        corio::run(async {
            let client = TestClient::new(app(AppState::default()));
            let document = client.get("/openapi.json").send().await.json();
            corio_web::testing::assert_valid_openapi("errors_and_middleware", &document);
        });
    }

    /// A client whose startup hooks have run, as `with TestClient(app):` in FastAPI.
    async fn started(state: &AppState) -> TestClient {
        let client = TestClient::new(app(state.clone()));
        client.startup().await.unwrap();
        client
    }

    #[test]
    fn http_errors_answer_with_their_status_detail_and_headers() {
        corio::run(async {
            let client = started(&AppState::default()).await;
            let found = client.get("/items/foo").send().await;
            assert_eq!(found.status(), 200);
            assert_eq!(found.json::<Value>(), json!({"item": "The Foo Wrestlers"}));

            let missing = client.get("/items/bar").send().await;
            assert_eq!(missing.status(), 404);
            assert_eq!(missing.header("content-type"), Some("application/json"));
            assert_eq!(missing.text(), r#"{"detail":"Item not found"}"#);
            assert_eq!(missing.header("x-error"), None);

            let with_header = client.get("/items-header/bar").send().await;
            assert_eq!(with_header.status(), 404);
            assert_eq!(with_header.text(), r#"{"detail":"Item not found"}"#);
            assert_eq!(with_header.header("x-error"), Some("There goes my error"));

            // The framework's own errors have the same shape.
            let nowhere = client.get("/nowhere").send().await;
            assert_eq!(nowhere.status(), 404);
            assert_eq!(nowhere.text(), r#"{"detail":"Not Found"}"#);
            let wrong_method = client.delete("/items/foo").send().await;
            assert_eq!(wrong_method.status(), 405);
            assert_eq!(wrong_method.text(), r#"{"detail":"Method Not Allowed"}"#);
        });
    }

    #[test]
    fn application_errors_go_to_their_handler() {
        corio::run(async {
            let client = started(&AppState::default()).await;
            let yolo = client.get("/unicorns/yolo").send().await;
            assert_eq!(yolo.status(), 418);
            assert_eq!(
                yolo.json::<Value>(),
                json!({"message": "Oops! yolo did something. There goes a rainbow..."})
            );
            let fine = client.get("/unicorns/sparkle").send().await;
            assert_eq!(fine.json::<Value>(), json!({"unicorn_name": "sparkle"}));
        });
    }

    #[test]
    fn the_framework_errors_answered_as_plain_text() {
        corio::run(async {
            let client = TestClient::new(plain_errors_app());
            let invalid = client.get("/items/foo").send().await;
            assert_eq!(invalid.status(), 400);
            assert_eq!(
                invalid.header("content-type"),
                Some("text/plain; charset=utf-8")
            );
            assert_eq!(
                invalid.text(),
                "1 validation error\n  path.item_id: Input should be a valid integer, \
                 unable to parse string as an integer [type=int_parsing]"
            );

            let three = client.get("/items/3").send().await;
            assert_eq!(three.status(), 418);
            assert_eq!(three.text(), "Nope! I don't like 3.");

            let nowhere = client.get("/nowhere").send().await;
            assert_eq!(
                (nowhere.status().as_u16(), nowhere.text()),
                (404, "Not Found".into())
            );

            let fine = client.get("/items/2").send().await;
            assert_eq!(fine.json::<Value>(), json!({"item_id": 2}));
        });
    }

    #[test]
    fn every_response_carries_its_process_time_and_request_id() {
        corio::run(async {
            let client = started(&AppState::default()).await;
            for uri in ["/items/foo", "/items/bar", "/unicorns/yolo", "/nowhere"] {
                let response = client.get(uri).send().await;
                let seconds: f64 = response
                    .header("x-process-time")
                    .unwrap_or_else(|| panic!("{uri}: no x-process-time"))
                    .parse()
                    .unwrap();
                assert!((0.0..5.0).contains(&seconds), "{uri}: {seconds}");
                let id = response.header("x-request-id").unwrap();
                assert_eq!(id.len(), 32, "a generated id: {id}");
                assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
            }

            // A client's own id is kept, and handlers can read it.
            let mine = client
                .get("/whoami")
                .header("x-request-id", "req-42")
                .send()
                .await;
            assert_eq!(mine.header("x-request-id"), Some("req-42"));
            assert_eq!(mine.json::<Value>(), json!({"request_id": "req-42"}));
        });
    }

    #[test]
    fn cors_preflights_and_simple_requests() {
        corio::run(async {
            let client = started(&AppState::default()).await;
            let preflight = client
                .options("/items/foo")
                .header("origin", "https://frontend.example.com")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "x-token")
                .send()
                .await;
            assert_eq!(preflight.status(), 200);
            assert_eq!(preflight.text(), "OK");
            assert_eq!(
                preflight.header("access-control-allow-origin"),
                Some("https://frontend.example.com")
            );
            assert_eq!(
                preflight.header("access-control-allow-methods"),
                Some("GET, POST")
            );
            assert_eq!(preflight.header("access-control-max-age"), Some("600"));

            let refused = client
                .options("/items/foo")
                .header("origin", "https://evil.example")
                .header("access-control-request-method", "DELETE")
                .send()
                .await;
            assert_eq!(refused.status(), 400);
            assert_eq!(refused.text(), "Disallowed CORS origin, method");

            let simple = client
                .get("/items/foo")
                .header("origin", "https://frontend.example.com")
                .send()
                .await;
            assert_eq!(simple.status(), 200);
            assert_eq!(
                simple.header("access-control-allow-origin"),
                Some("https://frontend.example.com")
            );
            assert_eq!(
                simple.header("access-control-expose-headers"),
                Some("x-process-time, x-request-id")
            );

            // Not a CORS request: no CORS headers.
            let same_origin = client.get("/items/foo").send().await;
            assert_eq!(same_origin.header("access-control-allow-origin"), None);
        });
    }

    #[test]
    fn background_tasks_run_after_the_response_and_hooks_around_serving() {
        corio::run(async {
            let state = AppState::default();
            let client = TestClient::new(app(state.clone()));
            // Before startup, the items are not loaded.
            assert_eq!(client.get("/items/foo").send().await.status(), 404);

            client.startup().await.unwrap();
            let response = client
                .post("/send-notification/ada@example.com")
                .send()
                .await;
            assert_eq!(
                response.json::<Value>(),
                json!({"message": "Notification sent in the background"})
            );
            client.shutdown().await.unwrap();

            // The audit middleware saw the response leave before the task ran.
            assert_eq!(
                *state.log.lock().unwrap(),
                [
                    "answered /items/foo with 404",
                    "Application startup",
                    "answered /send-notification/ada@example.com with 200",
                    "notification for ada@example.com: some notification",
                    "Application shutdown",
                ]
            );
        });
    }
}
