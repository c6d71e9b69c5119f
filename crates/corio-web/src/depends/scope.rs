//! The request's scope: what runs around the answer to one request — the teardowns that
//! yield-style dependencies register, run once the handler has answered, and the
//! background tasks handed to the response.
//!
//! # Who runs it
//!
//! The scope's state is shared (an `Arc`) by everything that touches the request, and
//! found through the request's extensions. It is created lazily, by the first
//! registration (a teardown, a background task, errors handed down): most requests never
//! register anything, and an insert into empty extensions alone costs three allocations.
//!
//! The first layer that [enters](RequestScope::enter) a request that carries no scope, or
//! one that nobody entered yet, *owns* it: the handler layer, or an app- or router-level
//! dependency that runs before it. The owner runs the answer inside [`RequestScope::run`],
//! which runs the teardowns when the answer is done; layers that find a scope somebody
//! owns only join it.
//!
//! How the owner learns of a scope created after it entered: while [`RequestScope::run`]
//! polls the answer, the thread's [`POLLED`] names that answer's scope (none yet). A
//! registration on a request head that carries no scope joins that scope, or creates it
//! and leaves it there for the owner to take when the poll returns (or unwinds). The
//! handler layer needs this: its last extractor consumes the request (and its
//! extensions), so only the thread tells the owner what was registered there. The same
//! holds for any head without a scope touched while the answer is polled (one a handler
//! builds): its registrations belong to the answer being polled.
//!
//! A layer that enters an outer layer's scope-less request while the outer one polls
//! (a handler behind an app-level dependency that registered nothing) owns the scope the
//! answer creates: the innermost answer being polled takes it. Either way the teardowns
//! run once the handler has answered.
//!
//! A [`Teardown`] taken from a scope-less request while no answer is polled (a
//! dependency resolved by hand, in a unit test; or on another task or thread than the
//! request's) creates the scope unowned; the next layer to enter adopts it. If none does,
//! what was registered there runs on its own when the scope is dropped (in a task, with a
//! warning): detached from any answer, but not lost.
//!
//! When teardowns run, and what happens on panic: see the public docs of [`crate::depends`].
//!
//! # Cost
//!
//! A request that registers nothing pays for a lookup in its extensions and a
//! thread-local swap per poll: no allocation, no lock. The first registration allocates
//! the shared state and inserts it into the extensions; the lists inside grow as things
//! are registered.

use std::any::Any;
use std::cell::Cell;
use std::convert::Infallible;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, resume_unwind};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_util::FutureExt;
use http::request::Parts;
use http::{Extensions, StatusCode};

use super::DependencyError;
use super::background::{AfterResponse, Task};
use crate::Response;
use crate::extract::{FromRequestParts, RequestValidationError};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type Cleanup = Box<dyn FnOnce(Exit) -> BoxFuture + Send + 'static>;
type Panic = Box<dyn Any + Send + 'static>;

/// What became of the request, as a teardown learns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// Answered with this status (the handler's response, or a rejection's).
    Responded(StatusCode),
    /// The handler panicked; the server answers 500.
    Panicked,
    /// The request was dropped before it was answered (the client left, or the server
    /// was forced to shut down).
    Cancelled,
}

impl Exit {
    /// Whether the request was answered with a 2xx or 3xx status: commit, rather than
    /// roll back.
    pub fn is_success(self) -> bool {
        matches!(self, Exit::Responded(status) if status.is_success() || status.is_redirection())
    }
}

/// What the layers of one request share.
pub(super) struct Shared {
    state: Mutex<State>,
}

#[derive(Default)]
pub(super) struct State {
    /// Whether a layer entered the scope and will run it.
    owned: bool,
    /// In registration order; run from the back.
    teardowns: Vec<Cleanup>,
    /// Validation errors of app- or router-level dependencies, handed to the handler
    /// layer so that they join its extractors' errors in one 422.
    handed_down: Option<RequestValidationError>,
    /// Background tasks, in the order they were added; they go into the response.
    pub(super) tasks: Vec<Task>,
    /// The owner has built the response and taken the tasks: a task added later (through
    /// a `BackgroundTasks` kept past the answer) runs on its own.
    pub(super) answered: bool,
}

impl Shared {
    fn new(owned: bool) -> Arc<Shared> {
        let state = State {
            owned,
            ..State::default()
        };
        Arc::new(Shared {
            state: Mutex::new(state),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing runs user code under the lock, so a poisoned lock has consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A scope no layer ran (its registrations came where no answer was polled: on another
/// task or thread than the request's, say) still loses nothing: when its last handle goes,
/// what is left runs in a task of its own, teardowns (as for a cancelled request) and then
/// background tasks, with a warning, since they ran detached from any answer.
impl Drop for Shared {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        // An owned scope's owner ran it, or dropped what is left on purpose (a panic drops
        // the background tasks, as FastAPI's do not run for a failed request).
        if state.owned || (state.teardowns.is_empty() && state.tasks.is_empty()) {
            return;
        }
        tracing::warn!(
            teardowns = state.teardowns.len(),
            tasks = state.tasks.len(),
            "corio-web: a request's teardowns or background tasks were registered where no \
             answer was being polled (another task or thread?); running them on their own"
        );
        let left = Arc::new(Shared {
            state: Mutex::new(State {
                owned: true,
                teardowns: std::mem::take(&mut state.teardowns),
                handed_down: None,
                tasks: Vec::new(),
                answered: true,
            }),
        });
        let tasks = std::mem::take(&mut state.tasks);
        let here = left.clone();
        let spawned = corio::runtime::Handle::try_current()
            .ok()
            .and_then(|runtime| {
                let job = async move {
                    let _ = tear_down(&left, Exit::Cancelled).await;
                    super::background::run_detached(tasks).await;
                };
                runtime.try_spawn(job).ok()
            });
        if spawned.is_none() {
            // No runtime to run them: teardowns as for a cancelled request; background
            // tasks (which may need the runtime) are dropped, with the warning above.
            tear_down_here(&here);
        }
    }
}

/// The scope in the request's extensions.
#[derive(Clone)]
struct ScopeKey(Arc<Shared>);

/// The scope of the request in `extensions`, if it has one yet.
fn find(extensions: &Extensions) -> Option<Arc<Shared>> {
    extensions
        .get::<ScopeKey>()
        .map(|ScopeKey(shared)| shared.clone())
}

/// The request's scope in `extensions`, for a registration: if there is none, the scope
/// of the answer this thread polls (created for it if it has none), else a new, unowned
/// one.
pub(super) fn shared(extensions: &mut Extensions) -> Arc<Shared> {
    if let Some(shared) = find(extensions) {
        return shared;
    }
    let shared = POLLED
        .try_with(|polled| match polled.take() {
            Polled::Nothing => Shared::new(false),
            Polled::Answer(scope) => {
                let shared = scope.unwrap_or_else(|| Shared::new(true));
                polled.set(Polled::Answer(Some(shared.clone())));
                shared
            }
        })
        // The thread is exiting: nothing is polled.
        .unwrap_or_else(|_| Shared::new(false));
    extensions.insert(ScopeKey(shared.clone()));
    shared
}

/// What the thread is polling, for registrations on request heads that carry no scope.
#[derive(Default)]
enum Polled {
    /// No request's answer.
    #[default]
    Nothing,
    /// A request's answer (its owner's), and its scope once there is one.
    Answer(Option<Arc<Shared>>),
}

thread_local! {
    /// See the module docs ("How the owner learns...").
    static POLLED: Cell<Polled> = const { Cell::new(Polled::Nothing) };
}

/// Names the owner's answer in [`POLLED`] for one poll; when dropped (the poll returned or
/// unwound), puts back what was there and leaves a scope created meanwhile in `scope`.
struct Polling<'a> {
    scope: &'a mut Option<Arc<Shared>>,
    outer: Polled,
}

impl Polling<'_> {
    fn start(scope: &mut Option<Arc<Shared>>) -> Polling<'_> {
        let answer = Polled::Answer(scope.clone());
        // The thread is exiting: nothing registers through it any more.
        let outer = POLLED
            .try_with(|polled| polled.replace(answer))
            .unwrap_or_default();
        Polling { scope, outer }
    }
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        let outer = std::mem::take(&mut self.outer);
        if let Ok(Polled::Answer(Some(shared))) = POLLED.try_with(|polled| polled.replace(outer)) {
            self.scope.get_or_insert(shared);
        }
    }
}

/// A layer's handle on the scope of one request: the owner [runs](RequestScope::run) the
/// request's answer in it; see [`crate::depends`] for what runs when.
///
/// Custom [`Service`](crate::Service)s that want dependencies' teardowns to run use it as
/// the handler layer does:
///
/// ```
/// use corio_web::depends::{RequestScope, Teardown};
/// use corio_web::{Body, Request, Response, service_fn};
/// use std::sync::{Arc, Mutex};
///
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let seen = log.clone();
/// let service = service_fn(move |request: Request| {
///     let log = log.clone();
///     async move {
///         let (mut parts, _body) = request.into_parts();
///         let scope = RequestScope::enter(&mut parts.extensions);
///         scope
///             .run(async move {
///                 let closing = log.clone();
///                 Teardown::of(&mut parts).defer(async move {
///                     closing.lock().unwrap().push("closed");
///                 });
///                 log.lock().unwrap().push("answered");
///                 Response::new(Body::from("hi"))
///             })
///             .await
///     }
/// });
/// corio::run(async move {
///     let client = corio_web::testing::TestClient::new(service);
///     assert_eq!(client.get("/").send().await.text(), "hi");
///     assert_eq!(*seen.lock().unwrap(), ["answered", "closed"]);
/// });
/// ```
pub struct RequestScope {
    /// The scope, if the request had one when entered; the owner's fills in when the
    /// first registration creates it.
    shared: Option<Arc<Shared>>,
    owner: bool,
}

impl RequestScope {
    /// Enters the request's scope: owns it if there is none yet (it is created when first
    /// needed) or adopts one nobody entered yet, or joins the one an outer layer owns.
    pub fn enter(extensions: &mut Extensions) -> RequestScope {
        Self::enter_taking(extensions).0
    }

    /// [`enter`](RequestScope::enter), also taking the validation errors an outer
    /// dependency layer handed down (see `depends::guard`). Only layers that report them
    /// take them. They come as the [`DependencyError`] they are, so that the handler's
    /// `Rejections` lists them with its dependencies' errors, before its own.
    pub(crate) fn enter_taking(
        extensions: &mut Extensions,
    ) -> (RequestScope, Option<DependencyError>) {
        let Some(shared) = find(extensions) else {
            let scope = RequestScope {
                shared: None,
                owner: true,
            };
            return (scope, None);
        };
        let mut state = shared.lock();
        let owner = !std::mem::replace(&mut state.owned, true);
        let handed_down = state.handed_down.take();
        drop(state);
        let scope = RequestScope {
            shared: Some(shared),
            owner,
        };
        (scope, handed_down.map(DependencyError::Invalid))
    }

    /// Whether this layer owns the scope (and [`run`](RequestScope::run) does its work).
    pub fn is_owner(&self) -> bool {
        self.owner
    }

    /// Runs `answer`, the rest of the request; the owner then runs the teardowns and
    /// moves the request's background tasks into the response's [`AfterResponse`] (see
    /// [`crate::depends`] for the order and what happens on panic). A layer that only
    /// joined the scope just awaits `answer`.
    pub async fn run<F>(self, answer: F) -> Response
    where
        F: Future<Output = Response> + Send,
    {
        if !self.owner {
            return answer.await;
        }
        // Runs what is left of the teardowns if the request is dropped before they ran.
        // Declared before the answer, so that a dropped request drops its answer first.
        let mut guard = CancelGuard(self.shared);
        let outcome = {
            let mut answer = pin!(answer);
            let scope = &mut guard.0;
            let polled = poll_fn(|cx| {
                let _polling = Polling::start(scope);
                answer.as_mut().poll(cx)
            });
            AssertUnwindSafe(polled).catch_unwind().await
        };
        let Some(shared) = &guard.0 else {
            // Nothing was registered: nothing to run, nothing to hand on.
            return outcome.unwrap_or_else(|panic| resume_unwind(panic));
        };
        let exit = match &outcome {
            Ok(response) => Exit::Responded(response.status()),
            Err(_) => Exit::Panicked,
        };
        let teardown_panic = tear_down(shared, exit).await;
        match (outcome, teardown_panic) {
            (Err(panic), _) | (Ok(_), Some(panic)) => resume_unwind(panic),
            (Ok(mut response), None) => {
                let tasks = {
                    let mut state = shared.lock();
                    state.answered = true;
                    std::mem::take(&mut state.tasks)
                };
                AfterResponse::attach(&mut response, tasks);
                response
            }
        }
    }
}

impl fmt::Debug for RequestScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestScope")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// Validation errors handed from a dependency layer to the layer inside it.
pub(crate) struct Handoff(Arc<Shared>);

impl Handoff {
    /// Hands `errors` down (merged with any not yet taken) to the layers inside, through
    /// the scope of the request whose extensions are `extensions` (created if needed).
    pub(crate) fn put(extensions: &mut Extensions, errors: RequestValidationError) -> Handoff {
        let shared = shared(extensions);
        let mut state = shared.lock();
        match &mut state.handed_down {
            Some(already) => super::merge_new(already, errors),
            slot @ None => *slot = Some(errors),
        }
        drop(state);
        Handoff(shared)
    }

    /// The errors no inner layer took.
    pub(crate) fn take(&self) -> Option<RequestValidationError> {
        self.0.lock().handed_down.take()
    }
}

/// Runs the teardowns, last registered first (including any registered meanwhile), each
/// to its end even if one panics. Returns the first panic.
async fn tear_down(shared: &Shared, exit: Exit) -> Option<Panic> {
    let mut first_panic = None;
    loop {
        let Some(cleanup) = shared.lock().teardowns.pop() else {
            return first_panic;
        };
        if let Err(panic) = AssertUnwindSafe(call(cleanup, exit)).catch_unwind().await {
            tracing::error!(
                panic = panic_message(&*panic),
                "corio-web: a dependency's teardown panicked"
            );
            first_panic.get_or_insert(panic);
        }
    }
}

/// `cleanup(exit)`, called when first polled: a `defer_with` closure that panics before it
/// returns its future panics inside `catch_unwind`, like one whose future panics.
async fn call(cleanup: Cleanup, exit: Exit) {
    cleanup(exit).await;
}

/// A panic's message for the log: its `&str` or `String` payload (what `panic!` makes).
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}

/// Held while the owner's answer and teardowns run, with the scope once there is one:
/// dropped with teardowns left, the request was cancelled, and they run in a task of
/// their own.
struct CancelGuard(Option<Arc<Shared>>);

impl Drop for CancelGuard {
    fn drop(&mut self) {
        let Some(shared) = self.0.take() else {
            return;
        };
        if shared.lock().teardowns.is_empty() {
            return;
        }
        let here = shared.clone();
        // `try_spawn`: a runtime that is shutting down drops its tasks (this request's
        // among them), and `spawn` would panic there.
        let spawned = corio::runtime::Handle::try_current()
            .ok()
            .and_then(|runtime| {
                let job = async move {
                    let _ = tear_down(&shared, Exit::Cancelled).await;
                };
                runtime.try_spawn(job).ok()
            });
        if spawned.is_none() {
            tear_down_here(&here);
        }
    }
}

/// Runs the teardowns of a cancelled request where no task can take them (the runtime is
/// shutting down, or there is none): each is polled a few times right here and dropped if
/// it still waits, since what it waits for (a timer, I/O) belongs to the runtime that is
/// gone. Teardowns that only release things finish.
fn tear_down_here(shared: &Shared) {
    const POLLS: usize = 16;
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        let Some(cleanup) = shared.lock().teardowns.pop() else {
            return;
        };
        let mut cleanup = pin!(AssertUnwindSafe(call(cleanup, Exit::Cancelled)).catch_unwind());
        let finished = (0..POLLS).find_map(|_| match cleanup.as_mut().poll(&mut cx) {
            Poll::Ready(outcome) => Some(outcome),
            Poll::Pending => None,
        });
        match finished {
            Some(Ok(())) => {}
            Some(Err(panic)) => tracing::error!(
                panic = panic_message(&*panic),
                "corio-web: a dependency's teardown panicked"
            ),
            None => tracing::error!(
                "corio-web: a teardown of a request dropped without a runtime to run it \
                 waited on that runtime, and was dropped unfinished"
            ),
        }
    }
}

/// Registers cleanups that run after the handler has answered: the `finally` of FastAPI's
/// dependencies with `yield`. A dependency takes one with [`Teardown::of`] (a handler
/// can extract one too).
///
/// ```
/// use corio_web::App;
/// use corio_web::depends::{Dependency, Depends, Exit, Teardown};
/// use corio_web::http::request::Parts;
/// use corio_web::testing::TestClient;
/// use std::convert::Infallible;
/// use std::sync::{Arc, Mutex};
///
/// type Log = Arc<Mutex<Vec<String>>>;
///
/// /// A database session: opened for the request, closed after it.
/// struct Session { log: Log }
///
/// impl Dependency<Log> for Session {
///     type Rejection = Infallible;
///     async fn resolve(parts: &mut Parts, log: &Log) -> Result<Self, Infallible> {
///         log.lock().unwrap().push("open".into());
///         let closing = log.clone();
///         Teardown::of(parts).defer_with(move |exit: Exit| async move {
///             let end = if exit.is_success() { "commit" } else { "rollback" };
///             closing.lock().unwrap().push(end.into());
///         });
///         Ok(Session { log: log.clone() })
///     }
/// }
///
/// async fn handler(Depends(session): Depends<Session>) -> &'static str {
///     session.log.lock().unwrap().push("query".into());
///     "done"
/// }
///
/// let log = Log::default();
/// let app = App::with_state(log.clone()).get("/", handler);
/// corio::run(async move {
///     TestClient::new(app).get("/").send().await;
///     assert_eq!(*log.lock().unwrap(), ["open", "query", "commit"]);
/// });
/// ```
#[derive(Clone)]
pub struct Teardown {
    shared: Arc<Shared>,
}

impl Teardown {
    /// The teardown list of the request whose head is `parts`.
    pub fn of(parts: &mut Parts) -> Teardown {
        Teardown {
            shared: shared(&mut parts.extensions),
        }
    }

    /// Runs `cleanup` after the handler has answered (before the cleanups registered
    /// earlier).
    pub fn defer<F>(&self, cleanup: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.push(Box::new(move |_| Box::pin(cleanup)));
    }

    /// Runs `cleanup(exit)` after the handler has answered, telling it how the request
    /// ended (to commit or roll back).
    pub fn defer_with<F, Fut>(&self, cleanup: F)
    where
        F: FnOnce(Exit) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.push(Box::new(move |exit| Box::pin(cleanup(exit))));
    }

    fn push(&self, cleanup: Cleanup) {
        self.shared.lock().teardowns.push(cleanup);
    }
}

impl fmt::Debug for Teardown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Teardown").finish_non_exhaustive()
    }
}

/// A handler can register teardowns too.
impl<S: Send + Sync> FromRequestParts<S> for Teardown {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Teardown::of(parts))
    }
}
