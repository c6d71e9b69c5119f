//! The application: its state, its routes and docs, its startup and shutdown hooks, and
//! the middleware around it. [`build`] gives the [`App`] (for in-process tests and the
//! OpenAPI document), [`service`] the same with middleware, as the server runs it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use corio_web::body::BoxError;
use corio_web::middleware::{AccessLog, RequestIdLayer};
use corio_web::openapi::ApiInfo;
use corio_web::{App, Service, ServiceExt};

use crate::background::Sweeper;
use crate::routes;
use crate::store::Store;

/// What every handler can reach, through `State<AppState>`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The notes.
    pub store: Arc<Store>,
    /// The bearer token writes need.
    pub token: Arc<str>,
    /// When the state was made: the server's start, for `/health`'s uptime.
    pub started: Instant,
    /// The background task that purges deleted notes.
    pub sweeper: Arc<Sweeper>,
}

impl AppState {
    /// The state of an app serving `store`, whose writes need `token`, and whose sweeper
    /// runs every `sweep_interval`.
    pub fn new(store: Arc<Store>, token: &str, sweep_interval: Duration) -> AppState {
        AppState {
            sweeper: Arc::new(Sweeper::new(store.clone(), sweep_interval)),
            store,
            token: token.into(),
            started: Instant::now(),
        }
    }
}

/// What `/docs` and `/redoc` say about the API as a whole.
const DESCRIPTION: &str = "\
A notes API: the demo service of corio-web, a FastAPI-class web framework on the corio \
async runtime, with SQLite as its embedded store.

Reads are open. Writes need a bearer token: the one given with `--token` (or \
`CORIO_DEMO_TOKEN`), or else the one the server printed at start. Click **Authorize** to \
set it.";

/// The app: routes, docs, and the hooks that start the sweeper before the first request
/// and, after the last, stop it and close the database.
pub fn build(state: AppState) -> App<AppState> {
    let (startup, shutdown) = (state.clone(), state.clone());
    App::with_state(state)
        .info(
            ApiInfo::new("corio-demo", env!("CARGO_PKG_VERSION"))
                .description(DESCRIPTION)
                .tag("notes", "Notes: create, read, list, change, delete.")
                .tag("meta", "The service itself."),
        )
        .include_router(routes::meta::router())
        .include_router(routes::notes::router())
        .on_startup(move || {
            let state = startup.clone();
            async move { state.sweeper.start() }
        })
        .on_shutdown(move || {
            let state = shutdown.clone();
            async move {
                // The sweeper first: it must not purge into a closed store.
                state.sweeper.stop().await;
                let store = state.store.clone();
                corio::to_thread(move || store.close())
                    .await
                    // A panic's payload is not `Sync`: keep its message.
                    .map_err(|panicked| BoxError::from(panicked.to_string()))?
                    .map_err(BoxError::from)?;
                tracing::info!(db = state.store.location(), "store: closed");
                Ok::<(), BoxError>(())
            }
        })
}

/// [`build`]'s app with its middleware: a request id for every request (taken from the
/// client's `x-request-id` or made), and one access-log line per request carrying it.
pub fn service(state: AppState) -> Arc<dyn Service> {
    build(state)
        .layer(AccessLog::new())
        // The last layer is the outermost: the id is set before the access log reads it.
        .layer(RequestIdLayer::new())
}
