//! A hello-world corio-web server for load tests: `GET /plaintext`, `GET /json` and
//! `GET /items/{item_id}?q=...`, on a
//! current-thread runtime (one worker), at the address given (default 127.0.0.1:8088).
//!
//! `bench/run http` (the http suite) and `bench/http-cpu` drive it with wrk.

use corio_web::App;
use corio_web::extract::{Json, Path, Query};
use corio_web::server::Server;

async fn plaintext() -> &'static str {
    "Hello, World!"
}

/// The JSON body, as a typed model (what a corio-web user writes, and what the peers'
/// hello-world servers use too).
#[derive(serde::Serialize, schemars::JsonSchema)]
struct Message {
    message: &'static str,
}

async fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct ItemQuery {
    q: Option<String>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Item {
    item_id: u32,
    q: Option<String>,
}

/// `GET /items/{item_id}?q=...`: a typed path parameter, a query parameter and a JSON
/// answer, each validated (the http suite's `validated` workload).
async fn read_item(Path(item_id): Path<u32>, Query(query): Query<ItemQuery>) -> Json<Item> {
    Json(Item {
        item_id,
        q: query.q,
    })
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8088".into());
    let rt = corio::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async {
        let server = Server::bind(&addr).await?;
        // The http suite records which driver `corio` ran on from this line.
        eprintln!(
            "hello_server: listening on {} (io driver: {:?})",
            server.local_addr()?,
            corio::runtime::Handle::current().io_driver()
        );
        server
            .serve(
                App::new()
                    .get("/plaintext", plaintext)
                    .get("/json", json)
                    .get("/items/{item_id}", read_item),
            )
            .await
    })
}
