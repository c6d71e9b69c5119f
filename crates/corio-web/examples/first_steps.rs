//! First steps, as in FastAPI's tutorial: path and query parameters, a JSON body, a
//! blocking handler, errors, and a server that shuts down gracefully on Ctrl-C or SIGTERM.
//!
//! ```text
//! cargo run -p corio-web --example first_steps          # listens on 127.0.0.1:8000
//! curl 127.0.0.1:8000/items/5?q=somequery
//! # {"item_id":5,"q":"somequery"}
//! curl 127.0.0.1:8000/items/foo
//! # {"detail":[{"type":"int_parsing","loc":["path","item_id"],"msg":"Input should be a
//! #   valid integer, unable to parse string as an integer","input":"foo"}]}
//! curl -X POST 127.0.0.1:8000/items/ -H 'content-type: application/json' \
//!      -d '{"name":"Foo","price":50.5}'
//! ```

use std::io;

use corio::signal::{SignalKind, signals};
use corio_web::App;
use corio_web::extract::{Json, Path, Query};
use corio_web::http::StatusCode;
use corio_web::response::HttpError;
use corio_web::server::Server;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// `GET /`: the smallest handler.
async fn root() -> Json<Value> {
    Json(json!({"message": "Hello World"}))
}

/// The optional `q` of `GET /items/{item_id}`.
#[derive(Deserialize, schemars::JsonSchema)]
struct ItemQuery {
    q: Option<String>,
}

/// `GET /items/{item_id}`: a typed path parameter and an optional query parameter.
async fn read_item(Path(item_id): Path<u32>, Query(query): Query<ItemQuery>) -> Json<Value> {
    Json(json!({"item_id": item_id, "q": query.q}))
}

/// A request body, declared as a type.
#[derive(Deserialize, Serialize, schemars::JsonSchema)]
struct Item {
    name: String,
    description: Option<String>,
    price: f64,
    tax: Option<f64>,
}

/// `POST /items/`: the body is validated into `Item`; the answer is a 201.
async fn create_item(Json(item): Json<Item>) -> (StatusCode, Json<Item>) {
    (StatusCode::CREATED, Json(item))
}

/// `GET /reports/{year}`: a plain `fn` is blocking code, so it runs on the blocking pool
/// (FastAPI's `def` handlers); the event loop keeps serving meanwhile.
fn report(Path(year): Path<u16>) -> Result<String, HttpError> {
    if year < 2000 {
        return Err(HttpError::new(404, "No report for that year"));
    }
    std::thread::sleep(std::time::Duration::from_millis(50)); // a slow, blocking computation
    Ok(format!("report for {year}"))
}

/// The application: every route of this tutorial.
fn app() -> App {
    App::new()
        .get("/", root)
        .get("/items/{item_id}", read_item)
        .post("/items/", create_item)
        .get("/reports/{year}", report)
}

#[corio::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into());
    let server = Server::bind(&addr).await?;
    println!("first_steps: listening on http://{}", server.local_addr()?);
    let mut stop = signals([SignalKind::interrupt(), SignalKind::terminate()])?;
    server
        .serve(app())
        .with_graceful_shutdown(async move {
            stop.next().await;
            println!("first_steps: shutting down");
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
        corio_web::testing::assert_valid_openapi("first_steps", &app().openapi());
    }

    #[test]
    fn the_tutorial_answers_as_documented() {
        corio::run(async {
            let client = TestClient::new(app());
            let root: Value = client.get("/").send().await.json();
            assert_eq!(root, json!({"message": "Hello World"}));

            let item: Value = client.get("/items/5?q=somequery").send().await.json();
            assert_eq!(item, json!({"item_id": 5, "q": "somequery"}));
            let item: Value = client.get("/items/5").send().await.json();
            assert_eq!(item, json!({"item_id": 5, "q": null}));

            let bad = client.get("/items/foo").send().await;
            assert_eq!(bad.status(), 422);
            let body: Value = bad.json();
            assert_eq!(
                body,
                json!({"detail": [{
                    "type": "int_parsing",
                    "loc": ["path", "item_id"],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": "foo"
                }]})
            );

            let created = client
                .post("/items/")
                .json(&json!({"name": "Foo", "price": 50.5}))
                .send()
                .await;
            assert_eq!(created.status(), 201);
            let created: Value = created.json();
            assert_eq!(created["name"], "Foo");
            assert_eq!(created["price"], 50.5);

            let missing = client
                .post("/items/")
                .json(&json!({"name": "Foo"}))
                .send()
                .await;
            assert_eq!(missing.status(), 422);
            let body: Value = missing.json();
            assert_eq!(body["detail"][0]["type"], "missing");
            assert_eq!(body["detail"][0]["loc"], json!(["body", "price"]));

            assert_eq!(
                client.get("/reports/2024").send().await.text(),
                "report for 2024"
            );
            let old = client.get("/reports/1999").send().await;
            assert_eq!(old.status(), 404);
            assert_eq!(old.text(), r#"{"detail":"No report for that year"}"#);
        });
    }
}
