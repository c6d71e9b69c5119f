//! The actix-web peer of `hello_server` for the http suite: `GET /plaintext`, `GET /json`
//! and `GET /items/{item_id}?q=...` with the same bodies and content types, on one worker
//! (`.workers(1)`), at the address given (default 127.0.0.1:8088).
//!
//! Written as an actix-web user would: typed `web::Path`/`web::Query` extractors, serde
//! models, `web::Json`.

use actix_web::{App, HttpServer, get, web};
use serde::{Deserialize, Serialize};

#[get("/plaintext")]
async fn plaintext() -> &'static str {
    "Hello, World!"
}

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[get("/json")]
async fn json() -> web::Json<Message> {
    web::Json(Message {
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

#[get("/items/{item_id}")]
async fn read_item(item_id: web::Path<u32>, query: web::Query<ItemQuery>) -> web::Json<Item> {
    web::Json(Item {
        item_id: item_id.into_inner(),
        q: query.into_inner().q,
    })
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8088".into());
    let server = HttpServer::new(|| {
        App::new()
            .service(plaintext)
            .service(json)
            .service(read_item)
    })
    .workers(1)
    // TCP_NODELAY, as corio-web and the other peers set it (actix-web keeps the OS default
    // unless told).
    .tcp_nodelay(true)
    .bind(&addr)?;
    eprintln!("actix_server: listening on {:?}", server.addrs());
    server.run().await
}
