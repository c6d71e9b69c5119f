//! The axum peer of `hello_server` for the http suite: `GET /plaintext`, `GET /json` and
//! `GET /items/{item_id}?q=...` with the same bodies and content types, on a tokio
//! current-thread runtime (one worker), at the address given (default 127.0.0.1:8088).
//!
//! Written as an axum user would: typed `Path`/`Query` extractors, serde models, `Json`.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query};
use axum::routing::get;
use axum::serve::ListenerExt;
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
    // The same listen backlog as the other servers (tokio's `TcpListener::bind` asks for 128,
    // which 1,000 clients connecting at once overflow), and TCP_NODELAY on every connection
    // as corio-web and actix-web set it (axum's documented `tap_io` idiom): without it,
    // pipelined responses written one by one wait on the client's delayed ACK.
    let addr: std::net::SocketAddr = addr
        .parse()
        .map_err(|e| std::io::Error::other(format!("bad address {addr}: {e}")))?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(1024)?;
    eprintln!("axum_server: listening on {}", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
