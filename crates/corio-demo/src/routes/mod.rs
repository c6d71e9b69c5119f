//! The HTTP routes, one module per tag: [`notes`] (the API) and [`meta`] (`/` and
//! `/health`).
//!
//! # `fn` for SQLite, `async fn` for the rest: FastAPI's rule
//!
//! FastAPI runs a `def` endpoint in a thread pool and an `async def` one on the event
//! loop; corio-web does the same with a plain `fn` and an `async fn`. The rule that
//! follows is simple: code that blocks goes in a plain `fn`, code that awaits (or does
//! nothing slow) in an `async fn`.
//!
//! - The notes handlers call SQLite, a blocking library: they are plain `fn`s, so their
//!   queries run on corio's blocking pool, and the event loop keeps accepting and serving
//!   other requests meanwhile. Their extractors (path, query, JSON body, the token check)
//!   still run on the loop, before the handler: a bad request is refused without ever
//!   taking a thread of the pool.
//! - `/` does no I/O and `/health` awaits: they are `async fn`s, and never take a thread.
//!   `/health` needs one SQLite count, which it moves to the pool explicitly with
//!   `corio::to_thread` (what a plain `fn` gets for free). Calling the store directly in
//!   an `async fn` would block the event loop: every other connection would wait.

pub mod meta;
pub mod notes;

use corio_web::HttpError;

use crate::store::StoreError;

/// The answer to a store error: 503 while shutting down, 500 (logged, not shown to the
/// client) for anything else.
fn store_error(error: StoreError) -> HttpError {
    match error {
        StoreError::Closed => HttpError::new(503, "The database is closed"),
        error => {
            tracing::error!(%error, "store: a query failed");
            HttpError::new(500, "Internal Server Error")
        }
    }
}
