//! The axum peer of `hello_server` for the http suite: `GET /plaintext`, `GET /json` and
//! `GET /items/{item_id}?q=...` with the same bodies and content types, on a tokio
//! current-thread runtime (one worker), at the address given (default 127.0.0.1:8088).
//!
//! Written as an axum user would: typed `Path`/`Query` extractors, serde models, `Json`.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query};
use axum::routing::get;
use serde::{Deserialize, Serialize};

async fn plaintext() -> &'static str {
    "Hello, World!"
}

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

#[derive(Deserialize)]
struct ItemQuery {
    q: Option<String>,
}

#[derive(Serialize)]
struct Item {
    item_id: u32,
    q: Option<String>,
}

async fn read_item(Path(item_id): Path<u32>, Query(query): Query<ItemQuery>) -> Json<Item> {
    Json(Item {
        item_id,
        q: query.q,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8088".into());
    let app = Router::new()
        .route("/plaintext", get(plaintext))
        .route("/json", get(json))
        .route("/items/{item_id}", get(read_item));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("axum_server: listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
