//! corio-demo: a notes API on corio-web, with SQLite as its embedded store. The binary
//! (`src/main.rs`) runs it; the library is the same code, so tests can build the app
//! in-process too.
//!
//! One module, one job:
//!
//! - [`config`]: command-line flags and environment variables;
//! - [`logging`]: structured logs (text or JSON lines) with `tracing`;
//! - [`serve`]: the runtime, the server, graceful shutdown on SIGINT/SIGTERM;
//! - [`app`]: the application: state, routes, docs, startup/shutdown hooks, middleware;
//! - [`routes`]: the handlers (`fn` for SQLite, `async fn` elsewhere: see there why);
//! - [`models`]: what the API reads and answers, with its validation;
//! - [`auth`]: the bearer token that writes need;
//! - [`store`]: SQLite: schema, migration, queries;
//! - [`background`]: the sweeper that purges deleted notes.

#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod background;
pub mod config;
pub mod logging;
pub mod models;
pub mod routes;
pub mod serve;
pub mod store;
