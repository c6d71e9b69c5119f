//! Dependencies, as in FastAPI's tutorial: shared parameters, sub-dependencies, a database
//! session closed after each request (FastAPI's dependencies with `yield`), dependencies
//! that guard a whole router, background tasks, and startup/shutdown hooks.
//!
//! ```text
//! cargo run -p corio-web --example dependencies          # listens on 127.0.0.1:8000
//! curl '127.0.0.1:8000/items/?skip=1&limit=1'
//! # {"q":null,"items":[{"item_name":"Bar"}]}
//! curl '127.0.0.1:8000/query/' -H 'cookie: last_query=corio'
//! # {"q_or_cookie":"corio"}
//! curl 127.0.0.1:8000/db/items/1
//! # {"id":1,"name":"Bar","open_sessions":1}
//! curl 127.0.0.1:8000/admin/
//! # 422: {"detail":[{"type":"missing","loc":["header","x-token"],...},
//! #                {"type":"missing","loc":["header","x-key"],...}]}
//! curl 127.0.0.1:8000/admin/ -H 'x-token: fake-super-secret-token' -H 'x-key: fake-super-secret-key'
//! # {"admin":"welcome"}
//! curl -X POST 127.0.0.1:8000/send-notification/ada@example.com
//! # {"message":"Notification sent in the background"}
//! ```

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use corio::signal::{SignalKind, signals};
use corio_web::depends::{BackgroundTasks, Dependency, DependencyError, Depends, Teardown};
use corio_web::extract::{
    Cookies, ExtractError, FromRequestParts, Header, Json, Path, Query, State,
};
use corio_web::http::request::Parts;
use corio_web::response::HttpError;
use corio_web::server::Server;
use corio_web::{App, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// The application's state: a (fake) database and an outbox.

/// A fake database: a few items, a connection pool that startup opens and shutdown
/// closes, and a count of the sessions open right now.
#[derive(Default)]
struct Database {
    connected: AtomicBool,
    open_sessions: AtomicUsize,
}

const ITEMS: [&str; 3] = ["Foo", "Bar", "Baz"];

/// What every handler and dependency can reach through `State`.
#[derive(Clone, Default)]
struct AppState {
    db: Arc<Database>,
    /// Where the notification "emails" go.
    outbox: Arc<Mutex<Vec<String>>>,
}

// ---------------------------------------------------------------------------------------
// 1. A dependency: FastAPI's `CommonQueryParams`, shared by every list endpoint.

/// `?q=&skip=0&limit=100`, declared once.
#[derive(Deserialize, schemars::JsonSchema)]
struct CommonQueryParams {
    q: Option<String>,
    #[serde(default)]
    skip: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// A dependency is a type that makes itself from the request: here, from its query.
impl Dependency<AppState> for CommonQueryParams {
    type Rejection = ExtractError;

    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Self, ExtractError> {
        let Query(params) = Query::<CommonQueryParams>::from_request_parts(parts, state).await?;
        Ok(params)
    }
}

/// `GET /items/`: the handler asks for the dependency with `Depends<T>`.
async fn read_items(Depends(commons): Depends<CommonQueryParams>) -> Json<Value> {
    let items: Vec<Value> = ITEMS
        .iter()
        .skip(commons.skip)
        .take(commons.limit)
        .map(|name| json!({"item_name": name}))
        .collect();
    Json(json!({"q": commons.q, "items": items}))
}

/// `GET /users/`: the same parameters, declared nowhere again.
async fn read_users(Depends(commons): Depends<CommonQueryParams>) -> Json<Value> {
    Json(json!({"q": commons.q, "skip": commons.skip, "limit": commons.limit}))
}

// ---------------------------------------------------------------------------------------
// 2. Sub-dependencies: a dependency that uses another one.

/// FastAPI's `query_extractor`: the optional `?q=`.
struct QueryExtractor(Option<String>);

#[derive(Deserialize, schemars::JsonSchema)]
struct Q {
    q: Option<String>,
}

impl Dependency<AppState> for QueryExtractor {
    type Rejection = ExtractError;

    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Self, ExtractError> {
        let Query(Q { q }) = Query::<Q>::from_request_parts(parts, state).await?;
        Ok(QueryExtractor(q))
    }
}

/// FastAPI's `query_or_cookie_extractor`: `?q=`, else the `last_query` cookie.
struct QueryOrCookie(Option<String>);

impl Dependency<AppState> for QueryOrCookie {
    type Rejection = DependencyError;

    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Self, DependencyError> {
        // Another dependency (resolved once per request, however many ask for it) ...
        let Depends(q) = Depends::<QueryExtractor>::from_request_parts(parts, state).await?;
        if let Some(q) = &q.0 {
            return Ok(QueryOrCookie(Some(q.clone())));
        }
        // ... and any extractor.
        let Ok(cookies) = Cookies::from_request_parts(parts, state).await;
        Ok(QueryOrCookie(cookies.get("last_query").map(str::to_string)))
    }
}

/// `GET /query/`.
async fn read_query(Depends(query_or_default): Depends<QueryOrCookie>) -> Json<Value> {
    Json(json!({"q_or_cookie": query_or_default.0}))
}

// ---------------------------------------------------------------------------------------
// 3. Dependencies with `yield`: a session opened for the request, closed after it.

/// A database session: FastAPI's `get_db`.
struct DbSession {
    db: Arc<Database>,
}

impl Dependency<AppState> for DbSession {
    type Rejection = HttpError;

    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        if !state.db.connected.load(Ordering::SeqCst) {
            return Err(HttpError::new(503, "Database not connected"));
        }
        state.db.open_sessions.fetch_add(1, Ordering::SeqCst);
        // The code after FastAPI's `yield`: runs once the handler has answered, whatever
        // the answer (a 404 below, a panic even).
        let db = state.db.clone();
        Teardown::of(parts).defer(async move {
            db.open_sessions.fetch_sub(1, Ordering::SeqCst);
        });
        Ok(DbSession {
            db: state.db.clone(),
        })
    }
}

/// `GET /db/items/{id}`: uses the session; it is closed after the response is made.
async fn read_db_item(
    Path(id): Path<usize>,
    Depends(session): Depends<DbSession>,
) -> Result<Json<Value>, HttpError> {
    let name = ITEMS
        .get(id)
        .ok_or_else(|| HttpError::new(404, "Item not found"))?;
    let open = session.db.open_sessions.load(Ordering::SeqCst);
    Ok(Json(json!({"id": id, "name": name, "open_sessions": open})))
}

// ---------------------------------------------------------------------------------------
// 4. Dependencies of a whole router (or of the whole app, with `App::dependency`).

#[derive(Deserialize, schemars::JsonSchema)]
struct TokenHeader {
    x_token: String,
}

/// FastAPI's `verify_token`: only checks; handlers do not need its value.
struct VerifyToken;

impl Dependency<AppState> for VerifyToken {
    type Rejection = DependencyError;

    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Self, DependencyError> {
        let Header(header) = Header::<TokenHeader>::from_request_parts(parts, state).await?;
        if header.x_token != "fake-super-secret-token" {
            return Err(HttpError::new(400, "X-Token header invalid").into());
        }
        Ok(VerifyToken)
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct KeyHeader {
    x_key: String,
}

/// FastAPI's `verify_key`.
struct VerifyKey;

impl Dependency<AppState> for VerifyKey {
    type Rejection = DependencyError;

    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Self, DependencyError> {
        let Header(header) = Header::<KeyHeader>::from_request_parts(parts, state).await?;
        if header.x_key != "fake-super-secret-key" {
            return Err(HttpError::new(400, "X-Key header invalid").into());
        }
        Ok(VerifyKey)
    }
}

/// `GET /admin/`: reached only past both checks.
async fn admin() -> Json<Value> {
    Json(json!({"admin": "welcome"}))
}

// ---------------------------------------------------------------------------------------
// 5. Background tasks: work done after the response was sent.

/// `POST /send-notification/{email}`: answers at once; the "email" goes out afterwards.
async fn send_notification(
    Path(email): Path<String>,
    State(state): State<AppState>,
    tasks: BackgroundTasks,
) -> Json<Value> {
    tasks.add(async move {
        let message = format!("notification for {email}: some notification");
        state.outbox.lock().unwrap().push(message);
    });
    Json(json!({"message": "Notification sent in the background"}))
}

// ---------------------------------------------------------------------------------------
// The application, with 6. its startup and shutdown hooks.

fn app(state: AppState) -> App<AppState> {
    let admin_router = Router::new()
        .prefix("/admin")
        .dependency::<Depends<VerifyToken>>()
        .dependency::<Depends<VerifyKey>>()
        .get("/", admin);
    let (connect, disconnect) = (state.db.clone(), state.db.clone());
    App::with_state(state)
        .get("/items/", read_items)
        .get("/users/", read_users)
        .get("/query/", read_query)
        .get("/db/items/{id}", read_db_item)
        .post("/send-notification/{email}", send_notification)
        .include_router(admin_router)
        // Before the server accepts its first connection ...
        .on_startup(move || {
            let db = connect.clone();
            async move { db.connected.store(true, Ordering::SeqCst) }
        })
        // ... and after it has shut down gracefully.
        .on_shutdown(move || {
            let db = disconnect.clone();
            async move { db.connected.store(false, Ordering::SeqCst) }
        })
}

#[corio::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into());
    let server = Server::bind(&addr).await?;
    println!("dependencies: listening on http://{}", server.local_addr()?);
    let mut stop = signals([SignalKind::interrupt(), SignalKind::terminate()])?;
    server
        .serve(app(AppState::default()))
        .with_graceful_shutdown(async move {
            stop.next().await;
            println!("dependencies: shutting down");
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
        corio_web::testing::assert_valid_openapi(
            "dependencies",
            &app(AppState::default()).openapi(),
        );
    }

    #[test]
    fn shared_parameters_and_sub_dependencies() {
        corio::run(async {
            let client = TestClient::new(app(AppState::default()));
            let items: Value = client.get("/items/?skip=1&limit=1").send().await.json();
            assert_eq!(items, json!({"q": null, "items": [{"item_name": "Bar"}]}));
            let users: Value = client.get("/users/?q=ada").send().await.json();
            assert_eq!(users, json!({"q": "ada", "skip": 0, "limit": 100}));
            let bad = client.get("/users/?limit=many").send().await;
            assert_eq!(bad.status(), 422);
            let body: Value = bad.json();
            assert_eq!(body["detail"][0]["loc"], json!(["query", "limit"]));

            let q: Value = client.get("/query/?q=corio").send().await.json();
            assert_eq!(q, json!({"q_or_cookie": "corio"}));
            let cookie: Value = client
                .get("/query/")
                .header("cookie", "last_query=from-cookie")
                .send()
                .await
                .json();
            assert_eq!(cookie, json!({"q_or_cookie": "from-cookie"}));
        });
    }

    #[test]
    fn sessions_are_closed_after_each_request_and_need_startup() {
        corio::run(async {
            let state = AppState::default();
            let client = TestClient::new(app(state.clone()));
            let early = client.get("/db/items/1").send().await;
            assert_eq!(early.status(), 503, "the pool opens at startup");

            client.startup().await.unwrap();
            let item: Value = client.get("/db/items/1").send().await.json();
            assert_eq!(item, json!({"id": 1, "name": "Bar", "open_sessions": 1}));
            let missing = client.get("/db/items/9").send().await;
            assert_eq!(missing.status(), 404);
            assert_eq!(
                state.db.open_sessions.load(Ordering::SeqCst),
                0,
                "closed after a success and after an error"
            );

            client.shutdown().await.unwrap();
            assert!(!state.db.connected.load(Ordering::SeqCst));
        });
    }

    #[test]
    fn the_admin_router_checks_both_headers() {
        corio::run(async {
            let client = TestClient::new(app(AppState::default()));
            let missing = client.get("/admin/").send().await;
            assert_eq!(missing.status(), 422);
            let body: Value = missing.json();
            let locs: Vec<&Value> = body["detail"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| &e["loc"])
                .collect();
            assert_eq!(
                locs,
                [&json!(["header", "x-token"]), &json!(["header", "x-key"])]
            );

            let wrong = client
                .get("/admin/")
                .header("x-token", "guess")
                .header("x-key", "fake-super-secret-key")
                .send()
                .await;
            assert_eq!(wrong.status(), 400);
            assert_eq!(wrong.text(), r#"{"detail":"X-Token header invalid"}"#);

            let ok: Value = client
                .get("/admin/")
                .header("x-token", "fake-super-secret-token")
                .header("x-key", "fake-super-secret-key")
                .send()
                .await
                .json();
            assert_eq!(ok, json!({"admin": "welcome"}));

            // Only the admin router is guarded.
            assert_eq!(client.get("/items/").send().await.status(), 200);
        });
    }

    #[test]
    fn notifications_go_out_after_the_response() {
        corio::run(async {
            let state = AppState::default();
            let client = TestClient::new(app(state.clone()));
            let response: Value = client
                .post("/send-notification/ada@example.com")
                .send()
                .await
                .json();
            assert_eq!(
                response,
                json!({"message": "Notification sent in the background"})
            );
            assert_eq!(
                *state.outbox.lock().unwrap(),
                ["notification for ada@example.com: some notification"]
            );
        });
    }
}
