//! [`BackgroundTasks`]: work a handler queues to run after its response has been sent
//! (FastAPI's `BackgroundTasks`), and [`AfterResponse`], how the queue travels to whoever
//! sends the response.
//!
//! The handler (or a dependency) adds tasks to the request's scope. When the scope's owner
//! has the response, it moves the tasks into the response's extensions as an
//! [`AfterResponse`]. The server takes it out before writing the response and runs it once
//! the response is written and flushed; [`TestClient`](crate::testing::TestClient) runs it
//! after reading the response body, so a test sees its effects when `send` returns.
//!
//! The server runs the tasks in the connection's task, one after another, as Starlette
//! does: the next request on that connection waits for them, and a graceful shutdown waits
//! for them too (up to its timeout). Work that should not hold the connection belongs in
//! [`corio::spawn`]. The tasks run even if writing the response failed (the client left):
//! the handler committed to them.
//!
//! Tasks run only if the request was answered: a handler that panicked, or a request
//! dropped before its answer, drops its queued tasks. Unlike FastAPI, where a raised
//! `HTTPException` drops them, an error response a handler *returns* keeps them.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, resume_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt;
use http::request::Parts;

use super::scope::{Shared, shared};
use crate::Response;
use crate::extract::FromRequestParts;

type Panic = Box<dyn std::any::Any + Send + 'static>;

/// One queued task.
pub(super) enum Task {
    /// Awaited on the connection's task.
    Async(Pin<Box<dyn Future<Output = ()> + Send + 'static>>),
    /// Run on the blocking pool, and awaited.
    Blocking(Box<dyn FnOnce() + Send + 'static>),
}

/// The extractor a handler queues work with, to run after its response has been sent:
/// an email, a log line, a cache refresh.
///
/// ```
/// use corio_web::App;
/// use corio_web::depends::BackgroundTasks;
/// use corio_web::extract::{Path, State};
/// use corio_web::testing::TestClient;
/// use std::sync::{Arc, Mutex};
///
/// type Outbox = Arc<Mutex<Vec<String>>>;
///
/// async fn send_notification(
///     Path(email): Path<String>,
///     State(outbox): State<Outbox>,
///     tasks: BackgroundTasks,
/// ) -> &'static str {
///     tasks.add(async move {
///         outbox.lock().unwrap().push(format!("notification for {email}"));
///     });
///     "Notification sent in the background"
/// }
///
/// let outbox = Outbox::default();
/// let app = App::with_state(outbox.clone()).post("/send-notification/{email}", send_notification);
/// corio::run(async move {
///     let client = TestClient::new(app);
///     let response = client.post("/send-notification/a@example.com").send().await;
///     assert_eq!(response.text(), "Notification sent in the background");
///     assert_eq!(*outbox.lock().unwrap(), ["notification for a@example.com"]);
/// });
/// ```
#[derive(Clone)]
pub struct BackgroundTasks {
    shared: Arc<Shared>,
}

impl BackgroundTasks {
    /// The background tasks of the request whose head is `parts` (for a dependency).
    pub fn of(parts: &mut Parts) -> BackgroundTasks {
        BackgroundTasks {
            shared: shared(&mut parts.extensions),
        }
    }

    /// Queues `task`, to be awaited after the response was sent. Tasks run one after
    /// another, in the order they were added.
    pub fn add<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.push(Task::Async(Box::pin(task)));
    }

    /// Queues blocking `task` (FastAPI's plain `def` tasks), to run on the blocking pool
    /// after the response was sent, in turn with the others.
    pub fn add_blocking<F>(&self, task: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.push(Task::Blocking(Box::new(task)));
    }

    fn push(&self, task: Task) {
        let mut state = self.shared.lock();
        if !state.answered {
            state.tasks.push(task);
            return;
        }
        drop(state);
        // The response is built and has its tasks already: this one would be lost.
        tracing::warn!(
            "corio-web: a background task was added after the response was built; \
             running it on its own"
        );
        let spawned = corio::runtime::Handle::try_current()
            .ok()
            .and_then(|runtime| runtime.try_spawn(run_detached(vec![task])).ok());
        if spawned.is_none() {
            tracing::warn!("corio-web: no runtime to run a late background task; dropped");
        }
    }
}

impl fmt::Debug for BackgroundTasks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackgroundTasks").finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BackgroundTasks {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(BackgroundTasks::of(parts))
    }
}

/// The background tasks of a response, in its extensions: whoever sends the response
/// [takes](AfterResponse::take) them and [runs](AfterResponse::run) them once it is sent.
///
/// A middleware that rebuilds a response should carry the extensions over, or the tasks
/// are dropped with them.
#[derive(Clone)]
pub struct AfterResponse {
    /// Shared only because extensions must be `Clone`; one owner takes the tasks out.
    tasks: Arc<Mutex<Vec<Task>>>,
}

impl AfterResponse {
    /// Adds `tasks` to the ones `response` carries already.
    pub(super) fn attach(response: &mut Response, mut tasks: Vec<Task>) {
        if tasks.is_empty() {
            return;
        }
        if let Some(after) = response.extensions().get::<AfterResponse>() {
            after.lock().append(&mut tasks);
            return;
        }
        response.extensions_mut().insert(AfterResponse {
            tasks: Arc::new(Mutex::new(tasks)),
        });
    }

    /// Takes the tasks out of `response`, if it has any.
    pub fn take(response: &mut Response) -> Option<AfterResponse> {
        response.extensions_mut().remove::<AfterResponse>()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Task>> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many tasks are queued.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no task is queued.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Runs the tasks one after another, in the order they were added. A task that panics
    /// is logged, and the next one runs.
    pub async fn run(self) {
        let _ = self.run_all().await;
    }

    /// Runs every task, then resumes the first panic (for the test client: a panic in the
    /// application fails the test).
    pub(crate) async fn run_then_resume(self) {
        if let Some(panic) = self.run_all().await {
            resume_unwind(panic);
        }
    }

    async fn run_all(self) -> Option<Panic> {
        let tasks = std::mem::take(&mut *self.lock());
        run_tasks(tasks).await
    }
}

/// Runs `tasks` as [`AfterResponse::run`] does, for a scope that no response carried.
pub(super) async fn run_detached(tasks: Vec<Task>) {
    let _ = run_tasks(tasks).await;
}

/// Runs `tasks` in order; returns the first panic (each is logged).
async fn run_tasks(tasks: Vec<Task>) -> Option<Panic> {
    let mut first_panic = None;
    for task in tasks {
        let outcome = match task {
            Task::Async(future) => AssertUnwindSafe(future).catch_unwind().await,
            Task::Blocking(f) => match corio::task::spawn_blocking(f).await {
                Ok(()) => Ok(()),
                Err(error) if error.is_panic() => Err(error.into_panic()),
                // The runtime is shutting down: the rest cannot run either.
                Err(_) => {
                    tracing::warn!("corio-web: background tasks dropped at runtime shutdown");
                    return first_panic;
                }
            },
        };
        if let Err(panic) = outcome {
            tracing::error!(
                panic = super::scope::panic_message(&*panic),
                "corio-web: a background task panicked"
            );
            first_panic.get_or_insert(panic);
        }
    }
    first_panic
}

impl fmt::Debug for AfterResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterResponse")
            .field("tasks", &self.len())
            .finish()
    }
}
