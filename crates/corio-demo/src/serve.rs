//! Running the service: open the store, start the runtime, bind, announce the URL, serve
//! until SIGINT or SIGTERM, then shut down gracefully.
//!
//! Shutdown, in order: the server stops accepting and closes idle connections; requests
//! in flight finish (up to 30 s); then the app's shutdown hook stops the sweeper and
//! closes the database, checkpointing its WAL into the main file. `run` then returns
//! `Ok`, and the process exits with code 0.

use std::io;
use std::sync::Arc;

use corio::signal::{SignalKind, signals};
use corio_web::Server;

use crate::app::{self, AppState};
use crate::auth::generate_token;
use crate::config::Config;
use crate::store::Store;

/// Serves `config` until a SIGINT or SIGTERM has been handled.
pub fn run(config: Config) -> io::Result<()> {
    // Blocking, and before anything is served: the plain thread is the place for it.
    let store = Store::open(&config.db).map_err(|error| {
        io::Error::other(format!("cannot open the database {}: {error}", config.db))
    })?;
    tracing::info!(db = store.location(), "store: opened");
    let generated = config.token.is_none();
    let token = match &config.token {
        Some(token) => token.clone(),
        None => generate_token()?,
    };
    let state = AppState::new(Arc::new(store), &token, config.sweep_interval);

    let runtime = corio::runtime::Builder::new_multi_thread()
        .thread_name("corio-demo")
        .build()?;
    runtime.block_on(serve(config, state, generated.then_some(token)))
}

/// The async half of [`run`]. `generated_token` is the token to announce, if the server
/// made it up.
async fn serve(config: Config, state: AppState, generated_token: Option<String>) -> io::Result<()> {
    // Listen for the signals before announcing the URL: whoever reads the URL may send
    // SIGTERM at once, and it must find the handler, not the default (which kills).
    let mut stop = signals([SignalKind::interrupt(), SignalKind::terminate()])?;
    let server = Server::bind((config.host.as_str(), config.port))
        .await
        .map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot listen on {}:{}: {error}", config.host, config.port),
            )
        })?;
    let addr = server.local_addr()?;

    // stdout: the lines a person (or a test) reads to find the server.
    if let Some(token) = &generated_token {
        println!(
            "corio-demo: no --token given; writes need `Authorization: Bearer {token}` \
             (a token made for this run)"
        );
    }
    println!("corio-demo: listening on http://{addr} — docs at http://{addr}/docs");
    tracing::info!(%addr, db = state.store.location(), "listening");

    server
        .serve(app::service(state))
        .with_graceful_shutdown(async move {
            let signal = stop.recv().await;
            let name = signal.name().unwrap_or("a signal");
            tracing::info!(
                signal = name,
                "shutting down: finishing the requests in flight"
            );
        })
        .await?;
    tracing::info!("stopped");
    Ok(())
}
