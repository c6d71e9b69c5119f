//! The app's startup and shutdown hooks ([`App::on_startup`], [`App::on_shutdown`]): the
//! [`Lifespan`] the server runs around serving the app.

use std::future::Future;
use std::pin::Pin;

use super::App;
use crate::body::BoxError;
use crate::service::{Lifespan, LifespanFuture};

type Hook =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>> + Send + Sync>;

/// What a lifespan hook may return: nothing, or a `Result` whose error stops the server
/// (at startup) or is returned by it (at shutdown).
pub trait HookResult {
    /// The outcome as the server sees it.
    fn into_hook_result(self) -> Result<(), BoxError>;
}

impl HookResult for () {
    fn into_hook_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> HookResult for Result<(), E> {
    fn into_hook_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// The hooks of an app, in registration order.
#[derive(Default)]
pub(super) struct Hooks {
    startup: Vec<Hook>,
    shutdown: Vec<Hook>,
}

impl Hooks {
    pub(super) fn is_empty(&self) -> bool {
        self.startup.is_empty() && self.shutdown.is_empty()
    }
}

fn hook<F, Fut>(f: F) -> Hook
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: HookResult,
{
    Box::new(move || {
        let running = f();
        Box::pin(async move { running.await.into_hook_result() })
    })
}

/// Runs `hooks` one after another; the first error stops them (at startup) or is kept
/// while the rest run (at shutdown: everything gets its chance to close).
async fn run_all(hooks: &[Hook], stop_at_error: bool) -> Result<(), BoxError> {
    let mut first_error = None;
    for hook in hooks {
        if let Err(error) = hook().await {
            if stop_at_error {
                return Err(error);
            }
            tracing::error!(%error, "corio-web: a shutdown hook failed");
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

impl Lifespan for Hooks {
    fn startup(&self) -> LifespanFuture<'_> {
        Box::pin(run_all(&self.startup, true))
    }

    fn shutdown(&self) -> LifespanFuture<'_> {
        Box::pin(run_all(&self.shutdown, false))
    }
}

impl<S: Send + Sync + 'static> App<S> {
    /// Runs `hook` when a server starts serving the app, before it accepts connections
    /// (FastAPI's startup event, or the part of `lifespan` before its `yield`). Hooks run
    /// in registration order, each awaited before the next; one that returns an error
    /// stops the server from starting (`serve` returns the error, and no shutdown hook
    /// runs).
    ///
    /// The hook is a closure returning a future, so it can run again for another server
    /// (or a [`TestClient::startup`](crate::testing::TestClient::startup)); it returns `()`
    /// or `Result<(), E>`. See the `dependencies` example for a server with hooks.
    ///
    /// ```
    /// use corio_web::App;
    /// use corio_web::testing::TestClient;
    /// use std::sync::{Arc, Mutex};
    ///
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let (on_start, on_stop) = (log.clone(), log.clone());
    /// let app = App::new()
    ///     .on_startup(move || {
    ///         let log = on_start.clone();
    ///         async move { log.lock().unwrap().push("pool opened") }
    ///     })
    ///     .on_shutdown(move || {
    ///         let log = on_stop.clone();
    ///         async move {
    ///             log.lock().unwrap().push("pool closed");
    ///             Ok::<(), std::io::Error>(())
    ///         }
    ///     });
    /// corio::run(async move {
    ///     let client = TestClient::new(app);
    ///     client.startup().await.unwrap();
    ///     client.shutdown().await.unwrap();
    ///     assert_eq!(*log.lock().unwrap(), ["pool opened", "pool closed"]);
    /// });
    /// ```
    pub fn on_startup<F, Fut>(mut self, hook: F) -> App<S>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HookResult,
    {
        self.hooks.startup.push(self::hook(hook));
        self
    }

    /// Runs `hook` once a server serving the app has shut down gracefully (every
    /// connection closed, their background tasks done): FastAPI's shutdown event. Hooks
    /// run in registration order; each runs even if an earlier one failed, and the first
    /// error is what `serve` returns. A server that is dropped instead of shut down does
    /// not run them. See [`on_startup`](App::on_startup).
    pub fn on_shutdown<F, Fut>(mut self, hook: F) -> App<S>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HookResult,
    {
        self.hooks.shutdown.push(self::hook(hook));
        self
    }
}
