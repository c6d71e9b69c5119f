//! Blocking and async handlers, and FastAPI's rule for them: a plain `fn` is blocking code
//! (a file, a synchronous database driver, a long computation), so it runs on the blocking
//! pool; an `async fn` awaits, and while it waits the event loop serves other requests.
//! Either way, no request holds the loop.
//!
//! The one mistake to avoid is blocking inside an `async fn`: that stops the loop. Move
//! the blocking part to the pool with `corio::to_thread`, or make the handler a plain `fn`.
//!
//! ```text
//! cargo run -p corio-web --example sync_and_async          # listens on 127.0.0.1:8000
//! curl '127.0.0.1:8000/sync/sleep?ms=100'        # a thread of the pool sleeps
//! # {"slept_ms":100,"kind":"blocking"}
//! curl '127.0.0.1:8000/async/sleep?ms=100'       # the request waits; the loop does not
//! # {"slept_ms":100,"kind":"async"}
//! curl -X PUT 127.0.0.1:8000/notes/groceries -d 'eggs, flour'
//! # 201
//! curl 127.0.0.1:8000/notes/groceries
//! # eggs, flour
//! curl -X POST 127.0.0.1:8000/checksum -d hello
//! # {"bytes":5,"fnv1a":"a430d84680aabd0b"}
//! ```

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use corio::signal::{SignalKind, signals};
use corio_web::App;
use corio_web::extract::{Constrained, Json, Path, Query, State};
use corio_web::http::StatusCode;
use corio_web::response::HttpError;
use corio_web::server::Server;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

/// `?ms=`: how long to sleep, 100 ms unless told.
#[derive(Deserialize, schemars::JsonSchema)]
struct Delay {
    #[serde(default = "hundred")]
    ms: u64,
}

fn hundred() -> u64 {
    100
}

impl Delay {
    /// A demo should not let a client park a thread for long.
    fn duration(&self) -> Duration {
        Duration::from_millis(self.ms.min(2_000))
    }
}

// ---------------------------------------------------------------------------------------
// 1. A plain `fn`: blocking is allowed. Its extractors run on the loop, then its body runs
//    on a thread of the blocking pool, so twenty of them sleep side by side.

/// `GET /sync/sleep`: stands in for a synchronous database query.
fn sleep_blocking(Query(delay): Query<Delay>) -> Json<Value> {
    std::thread::sleep(delay.duration());
    Json(json!({"slept_ms": delay.duration().as_millis(), "kind": "blocking"}))
}

// ---------------------------------------------------------------------------------------
// 2. An `async fn`: it must not block, it awaits. While it waits, the loop runs others.

/// `GET /async/sleep`: stands in for a call to another service.
async fn sleep_async(Query(delay): Query<Delay>) -> Json<Value> {
    corio::time::sleep(delay.duration()).await;
    Json(json!({"slept_ms": delay.duration().as_millis(), "kind": "async"}))
}

/// `GET /ping`: answers at once, however busy the pool is.
async fn ping() -> &'static str {
    "pong"
}

// ---------------------------------------------------------------------------------------
// 3. Files with `std::fs` in plain `fn`s: blocking calls, on the pool.

/// Where the notes are kept.
#[derive(Clone)]
struct Notes {
    dir: PathBuf,
}

corio_web::constraint! {
    /// A note's name: it becomes a file name, so nothing that could leave the directory.
    NoteName: pattern("^[a-z0-9-]{1,32}$");
}

/// `PUT /notes/{name}`: the body, saved as a file.
fn save_note(
    State(notes): State<Notes>,
    Path(name): Path<Constrained<String, NoteName>>,
    text: String,
) -> Result<StatusCode, HttpError> {
    std::fs::create_dir_all(&notes.dir).map_err(internal)?;
    std::fs::write(notes.dir.join(name.as_str()), text).map_err(internal)?;
    Ok(StatusCode::CREATED)
}

/// `GET /notes/{name}`.
fn read_note(
    State(notes): State<Notes>,
    Path(name): Path<Constrained<String, NoteName>>,
) -> Result<String, HttpError> {
    std::fs::read_to_string(notes.dir.join(name.as_str())).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => HttpError::new(404, "Note not found"),
        _ => internal(e),
    })
}

/// An I/O failure is the server's problem: logged, and a bare 500 for the client.
fn internal(error: io::Error) -> HttpError {
    eprintln!("sync_and_async: {error}");
    HttpError::new(500, "Internal Server Error")
}

// ---------------------------------------------------------------------------------------
// 4. An `async fn` with one blocking step: hand that step to the pool with `to_thread`
//    (Python's `await asyncio.to_thread(...)`) and await it.

/// `POST /checksum`: the body's FNV-1a hash, computed off the loop.
async fn checksum(body: Bytes) -> Result<Json<Value>, HttpError> {
    let len = body.len();
    let hash = corio::to_thread(move || fnv1a(&body))
        .await
        .map_err(|_| HttpError::new(500, "Internal Server Error"))?;
    Ok(Json(json!({"bytes": len, "fnv1a": format!("{hash:016x}")})))
}

/// FNV-1a, 64 bits: stands in for any CPU-heavy work (hashing a large upload, resizing an
/// image) that would hold the loop for as long as it runs.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The application: every route of this tutorial, notes kept in `notes_dir`.
fn app(notes_dir: PathBuf) -> App<Notes> {
    App::with_state(Notes { dir: notes_dir })
        .get("/sync/sleep", sleep_blocking)
        .get("/async/sleep", sleep_async)
        .get("/ping", ping)
        .put("/notes/{name}", save_note)
        .get("/notes/{name}", read_note)
        .post("/checksum", checksum)
}

#[corio::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into());
    let notes_dir = std::env::temp_dir().join("corio-notes");
    let server = Server::bind(&addr).await?;
    println!(
        "sync_and_async: listening on http://{}, notes in {}",
        server.local_addr()?,
        notes_dir.display()
    );
    let mut stop = signals([SignalKind::interrupt(), SignalKind::terminate()])?;
    server
        .serve(app(notes_dir))
        .with_graceful_shutdown(async move {
            stop.next().await;
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use corio::future::join_all;
    use corio::time::Instant;
    use corio_web::testing::TestClient;
    use std::future::Future;

    /// The document at /openapi.json is valid OpenAPI 3.1 (`.ci/run` also runs the
    /// openapi-spec-validator on it).
    #[test]
    fn openapi_document_is_valid() {
        let document = app(scratch_dir("openapi")).openapi();
        corio_web::testing::assert_valid_openapi("sync_and_async", &document);
    }

    /// Runs `future` on a single event-loop thread, as asyncio (and uvicorn) do: if
    /// anything blocked that thread, every request would wait behind it.
    fn on_one_thread<F: Future>(future: F) -> F::Output {
        corio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
            .block_on(future)
    }

    /// A notes directory of this test's own.
    fn scratch_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "corio-sync-and-async-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// `n` requests to `uri` at once; their statuses, and how long all of them took.
    async fn concurrently(client: &TestClient, uri: &str, n: usize) -> (Vec<u16>, Duration) {
        let start = Instant::now();
        let responses = join_all((0..n).map(|_| client.get(uri).send())).await;
        let statuses = responses.iter().map(|r| r.status().as_u16()).collect();
        (statuses, start.elapsed())
    }

    #[test]
    fn each_kind_answers() {
        on_one_thread(async {
            let client = TestClient::new(app(scratch_dir("answers")));
            let sync: Value = client.get("/sync/sleep?ms=5").send().await.json();
            assert_eq!(sync, json!({"slept_ms": 5, "kind": "blocking"}));
            let not_async: Value = client.get("/async/sleep?ms=5").send().await.json();
            assert_eq!(not_async, json!({"slept_ms": 5, "kind": "async"}));
            assert_eq!(client.get("/ping").send().await.text(), "pong");
            // Extractors of a plain `fn` still answer 422 as usual.
            let bad = client.get("/sync/sleep?ms=soon").send().await;
            assert_eq!(bad.status(), 422);
            assert_eq!(
                bad.json::<Value>(),
                json!({"detail": [{
                    "type": "int_parsing",
                    "loc": ["query", "ms"],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": "soon"
                }]})
            );
        });
    }

    #[test]
    fn blocking_handlers_run_side_by_side_on_the_pool() {
        on_one_thread(async {
            let client = TestClient::new(app(scratch_dir("side-by-side")));
            // Twenty 100 ms sleeps: 2 s one after another, about 0.1 s side by side.
            let (statuses, took) = concurrently(&client, "/sync/sleep?ms=100", 20).await;
            assert_eq!(statuses, [200; 20]);
            assert!(
                took >= Duration::from_millis(100),
                "they did sleep: {took:?}"
            );
            assert!(
                took < Duration::from_millis(1500),
                "not one by one: {took:?}"
            );
        });
    }

    #[test]
    fn async_handlers_wait_without_holding_the_loop() {
        on_one_thread(async {
            let client = TestClient::new(app(scratch_dir("async-wait")));
            let (statuses, took) = concurrently(&client, "/async/sleep?ms=100", 20).await;
            assert_eq!(statuses, [200; 20]);
            assert!(
                took >= Duration::from_millis(100),
                "they did sleep: {took:?}"
            );
            assert!(
                took < Duration::from_millis(1500),
                "not one by one: {took:?}"
            );
        });
    }

    #[test]
    fn the_loop_keeps_answering_while_the_pool_works() {
        on_one_thread(async {
            let client = TestClient::new(app(scratch_dir("keeps-answering")));
            let busy = client.clone();
            let batch = corio::spawn(async move {
                let (statuses, _) = concurrently(&busy, "/sync/sleep?ms=300", 20).await;
                (statuses, Instant::now())
            });
            // Let the batch start: twenty pool threads are now asleep.
            corio::time::sleep(Duration::from_millis(20)).await;
            let pong = client.get("/ping").send().await;
            let pong_at = Instant::now();
            assert_eq!(pong.text(), "pong");

            let (statuses, batch_done_at) = batch.await.unwrap();
            assert_eq!(statuses, [200; 20]);
            // Had the sleeps run on the loop, the ping would have waited for all of them.
            assert!(
                pong_at < batch_done_at,
                "the ping waited for the blocking batch"
            );
        });
    }

    #[test]
    fn files_with_std_fs_in_plain_functions() {
        on_one_thread(async {
            let dir = scratch_dir("notes");
            let client = TestClient::new(app(dir.clone()));
            let saved = client
                .put("/notes/groceries")
                .body("eggs, flour")
                .send()
                .await;
            assert_eq!(saved.status(), 201);
            let note = client.get("/notes/groceries").send().await;
            assert_eq!(note.status(), 200);
            assert_eq!(note.text(), "eggs, flour");
            assert_eq!(
                std::fs::read_to_string(dir.join("groceries")).unwrap(),
                "eggs, flour"
            );

            let missing = client.get("/notes/nothing").send().await;
            assert_eq!(missing.status(), 404);
            assert_eq!(missing.text(), r#"{"detail":"Note not found"}"#);

            // A name that could escape the directory never reaches the file system.
            let escape = client.get("/notes/..%2Fsecrets").send().await;
            assert_eq!(escape.status(), 422);
            assert_eq!(
                escape.json::<Value>(),
                json!({"detail": [{
                    "type": "string_pattern_mismatch",
                    "loc": ["path", "name"],
                    "msg": "String should match pattern '^[a-z0-9-]{1,32}$'",
                    "input": "../secrets",
                    "ctx": {"pattern": "^[a-z0-9-]{1,32}$"}
                }]})
            );
            std::fs::remove_dir_all(&dir).unwrap();
        });
    }

    #[test]
    fn blocking_steps_of_async_handlers_go_to_the_pool() {
        on_one_thread(async {
            let client = TestClient::new(app(scratch_dir("checksum")));
            let sum: Value = client.post("/checksum").body("hello").send().await.json();
            // FNV-1a 64 of "hello", as any implementation computes it.
            assert_eq!(sum, json!({"bytes": 5, "fnv1a": "a430d84680aabd0b"}));
            let empty: Value = client.post("/checksum").send().await.json();
            assert_eq!(empty, json!({"bytes": 0, "fnv1a": "cbf29ce484222325"}));
        });
    }
}
