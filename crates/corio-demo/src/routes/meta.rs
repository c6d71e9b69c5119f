//! `/` and `/health`: `async fn`s, since neither blocks (see [the rule](super)).

use corio_web::extract::{Json, State};
use corio_web::{HttpError, Router};

use super::store_error;
use crate::app::AppState;
use crate::models::{ErrorDetail, Health, Welcome};

/// The routes, tagged `meta`.
pub fn router() -> Router<AppState> {
    Router::new()
        .tag("meta")
        .get("/", welcome)
        .get("/health", health)
}

/// Welcome
///
/// What this service is, and links to its docs and its API.
#[corio_web::operation]
async fn welcome() -> Json<Welcome> {
    Json(Welcome {
        name: "corio-demo",
        version: env!("CARGO_PKG_VERSION"),
        docs: "/docs",
        redoc: "/redoc",
        openapi: "/openapi.json",
        notes: "/notes",
        health: "/health",
    })
}

/// Health check
///
/// `ok` while the database answers, with the uptime and the number of notes.
#[corio_web::operation(responses(503 = (ErrorDetail, "The database is closed")))]
async fn health(State(state): State<AppState>) -> Result<Json<Health>, HttpError> {
    // SQLite blocks: an async handler hands the query to the blocking pool itself.
    let store = state.store.clone();
    let notes = corio::to_thread(move || store.count())
        .await
        .map_err(|error| {
            tracing::error!(%error, "health: the count panicked");
            HttpError::new(500, "Internal Server Error")
        })?
        .map_err(store_error)?;
    Ok(Json(Health {
        status: "ok".to_owned(),
        uptime_seconds: state.started.elapsed().as_secs(),
        notes,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }))
}
