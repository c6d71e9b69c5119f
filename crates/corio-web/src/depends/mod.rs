//! Dependency injection, as FastAPI's `Depends`.
//!
//! A dependency is a type that knows how to make itself for a request: it implements
//! [`Dependency<S>`], whose `resolve` gets the request head and the application state, and
//! may use any extractor ([`Query`](crate::extract::Query),
//! [`Header`](crate::extract::Header), ...) and any other dependency
//! ([`Depends<Other>`](Depends)) to do so. A handler (or another dependency) asks for one
//! with the [`Depends<T>`] extractor.
//!
//! ```
//! use corio_web::App;
//! use corio_web::depends::{Dependency, Depends};
//! use corio_web::extract::{ExtractError, FromRequestParts, Query};
//! use corio_web::http::request::Parts;
//! use corio_web::testing::TestClient;
//! use serde::Deserialize;
//!
//! /// FastAPI's `common_parameters`: paging shared by every list endpoint.
//! #[derive(Deserialize, schemars::JsonSchema)]
//! struct CommonParams { q: Option<String>, #[serde(default)] skip: u32, #[serde(default = "ten")] limit: u32 }
//! fn ten() -> u32 { 10 }
//!
//! impl<S: Send + Sync> Dependency<S> for CommonParams {
//!     type Rejection = ExtractError;
//!     async fn resolve(parts: &mut Parts, state: &S) -> Result<Self, ExtractError> {
//!         let Query(params) = Query::<CommonParams>::from_request_parts(parts, state).await?;
//!         Ok(params)
//!     }
//! }
//!
//! async fn read_items(Depends(commons): Depends<CommonParams>) -> String {
//!     format!("q={:?} skip={} limit={}", commons.q, commons.skip, commons.limit)
//! }
//!
//! corio::run(async {
//!     let client = TestClient::new(App::new().get("/items/", read_items));
//!     assert_eq!(client.get("/items/?skip=5").send().await.text(), "q=None skip=5 limit=10");
//!     assert_eq!(client.get("/items/?limit=x").send().await.status(), 422);
//! });
//! ```
//!
//! # Once per request
//!
//! A dependency asked for several times in one request (by two handler arguments, by the
//! handler and another dependency, by an app-level dependency and the handler) is resolved
//! once: the first [`Depends<T>`] stores the value, as an `Arc<T>`, in the request's
//! extensions under its type, and the others clone the `Arc`. A failure with validation
//! errors is remembered too, so the dependency is not run again; each asker reports the
//! same errors (app- and router-level dependencies and [`all`] report an error once; two
//! handler arguments both report it, as FastAPI does). A failure that
//! is answered as it is (a 401, say) is not remembered: it ends the extraction anyway.
//!
//! Dependencies cannot form a cycle: a dependency that (indirectly) asks for itself is a
//! recursive future type, which the compiler refuses.
//!
//! # Teardown: dependencies with `yield`
//!
//! A dependency that opens something (a database session) registers its closing with
//! [`Teardown::of(parts)`](Teardown::of)`.defer(...)`; it runs after the handler has
//! answered, whatever the answer. The handler layer runs them through the request's
//! [`RequestScope`] (so does an app- or router-level dependency layer whose dependencies
//! registered first). The scope costs a request nothing until something registers in it.
//! Registrations on the request's head are made where its answer runs (extractors, async
//! handler bodies); a head handed to another task or thread should register there first
//! (`Teardown::of`, `BackgroundTasks::of`) and use the handle.
//!
//! Teardowns run in reverse order of registration, as Python unwinds context managers: a session opened
//! by a dependency that a later one uses is closed after it. They run after the handler
//! has produced its response (a rejection, an error response, a success alike) and before
//! the response is written, so the response's status is known to them ([`Exit`]) and a
//! failing teardown can still turn the answer into a 500. A response body streamed after
//! the handler returned must not borrow what a teardown closes.
//!
//! - **The handler panics:** the teardowns still run (with [`Exit::Panicked`]), then the
//!   panic resumes and the server answers 500.
//! - **A teardown panics:** the others still run; then the first such panic resumes (the
//!   server answers 500 and logs it), unless the handler's own panic does.
//! - **The request is dropped unanswered** (the client left mid-request, a forced
//!   shutdown): the teardowns run in a task of their own, with [`Exit::Cancelled`]. When
//!   no task can be spawned (the runtime itself is shutting down and dropping its tasks),
//!   they run right where the request is dropped, as far as they get without the runtime:
//!   one that awaits a timer or I/O there is dropped unfinished (and logged).
//!
//! # Background tasks
//!
//! [`BackgroundTasks`] queues work to run after the response has been sent (FastAPI's
//! `BackgroundTasks`); the request's scope moves it into the response as an
//! [`AfterResponse`], which the server runs once the response is written.
//!
//! # App- and router-level dependencies
//!
//! [`App::dependency`](crate::App::dependency) and
//! [`Router::dependency`](crate::Router::dependency) run an extractor (usually a
//! `Depends<T>`) before every endpoint of the group, as FastAPI's `dependencies=[...]`;
//! the `guard` module explains how their validation errors join the handler's.
//!
//! # Errors
//!
//! A dependency's rejection is an extractor's rejection: validation errors join the
//! handler's in one 422 ([`Rejections`](crate::extract::Rejections)); anything else (an
//! [`HttpError`] 401) is answered as it is. [`DependencyError`] is a rejection type
//! convenient for dependencies: `?` converts the rejections of corio's extractors into it,
//! and [`all`] runs several extractions' results together so that every invalid value is
//! reported at once.

mod background;
pub(crate) mod guard;
pub(crate) mod scope;

pub use background::{AfterResponse, BackgroundTasks};
pub use scope::{Exit, RequestScope, Teardown};

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use http::StatusCode;
use http::request::Parts;

use crate::Response;
use crate::extract::{ExtractError, FromRequestParts, Rejection, RequestValidationError};
use crate::response::{HttpError, IntoResponse};

/// A value made for each request by [`Depends<Self>`]: a database session, the current
/// user, common query parameters.
///
/// `resolve` reads what it needs from the request head and the application state `S`:
/// through extractors (`Query::<Q>::from_request_parts(parts, state)`) and other
/// dependencies (`Depends::<Other>::from_request_parts(parts, state)`). It runs at most
/// once per request (see the [module docs](self)).
///
/// The resolved value is shared (`Depends<T>` holds an `Arc<T>`), so it is `Send + Sync`.
pub trait Dependency<S>: Sized + Send + Sync + 'static {
    /// What it answers when it cannot resolve: validation errors join the handler's 422,
    /// anything else is answered as it is. [`DependencyError`] suits most dependencies.
    type Rejection: Rejection;

    /// Makes the value for the request whose head is `parts`.
    fn resolve(
        parts: &mut Parts,
        state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;

    /// Writes what it reads into the OpenAPI operation of each route that depends on it.
    /// A dependency cannot be looked into, so one that reads parameters or credentials
    /// says so here, usually by describing the extractors `resolve` uses:
    /// `Query::<CommonParams>::describe(operation)` (see
    /// [`FromRequestParts::describe`]). The default writes nothing.
    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        let _ = operation;
    }
}

/// The extractor of a [`Dependency`]: the value `T` resolved for this request (once per
/// request, however many ask for it), shared as an `Arc<T>`.
///
/// It derefs to `T`; destructure it (`Depends(user): Depends<User>`) for the `Arc`.
pub struct Depends<T>(pub Arc<T>);

impl<T> Depends<T> {
    /// The shared value.
    pub fn into_inner(self) -> Arc<T> {
        self.0
    }
}

impl<T> Deref for Depends<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Clone for Depends<T> {
    fn clone(&self) -> Depends<T> {
        Depends(self.0.clone())
    }
}

impl<T: fmt::Debug> fmt::Debug for Depends<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Depends").field(&self.0).finish()
    }
}

/// What a request's extensions remember of dependency `T`: its value, or its validation
/// errors. Keyed by type, so each dependency type has its own.
enum Resolved<T> {
    Value(Arc<T>),
    Invalid(RequestValidationError),
}

impl<T> Clone for Resolved<T> {
    fn clone(&self) -> Resolved<T> {
        match self {
            Resolved::Value(value) => Resolved::Value(value.clone()),
            Resolved::Invalid(errors) => Resolved::Invalid(errors.clone()),
        }
    }
}

impl<S, T> FromRequestParts<S> for Depends<T>
where
    S: Send + Sync,
    T: Dependency<S>,
{
    type Rejection = DependencyError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, DependencyError> {
        match parts.extensions.get::<Resolved<T>>() {
            Some(Resolved::Value(value)) => return Ok(Depends(value.clone())),
            Some(Resolved::Invalid(errors)) => {
                return Err(DependencyError::Invalid(errors.clone()));
            }
            None => {}
        }
        match T::resolve(parts, state).await {
            Ok(value) => {
                let value = Arc::new(value);
                parts.extensions.insert(Resolved::<T>::Value(value.clone()));
                Ok(Depends(value))
            }
            Err(rejection) => {
                let error = DependencyError::from_rejection(rejection);
                if let DependencyError::Invalid(errors) = &error {
                    parts
                        .extensions
                        .insert(Resolved::<T>::Invalid(errors.clone()));
                }
                Err(error)
            }
        }
    }

    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        T::describe(operation);
    }
}

/// Why a dependency did not resolve: invalid values (they join the handler's 422), or a
/// response answered as it is.
///
/// `?` converts the rejections of corio's extractors ([`ExtractError`]), an [`HttpError`],
/// a [`StatusCode`] and a [`RequestValidationError`] into it;
/// [`from_rejection`](DependencyError::from_rejection) converts any other [`Rejection`].
#[derive(Debug)]
pub enum DependencyError {
    /// Invalid values, merged with the errors of the handler's other extractors.
    Invalid(RequestValidationError),
    /// The answer, as it is (boxed: it is large, and rare).
    Response(Box<Response>),
}

impl DependencyError {
    /// The error `rejection` stands for.
    pub fn from_rejection<R: Rejection>(rejection: R) -> DependencyError {
        match rejection.into_validation_error() {
            Ok(errors) if errors.is_empty() => DependencyError::empty(),
            Ok(errors) => DependencyError::Invalid(errors),
            Err(response) => DependencyError::Response(Box::new(response)),
        }
    }

    /// A rejection that claims invalid values but names none is a bug in the rejection
    /// type; answered as one, since the handler must not run.
    fn empty() -> DependencyError {
        tracing::error!("a dependency was rejected with an empty list of validation errors");
        DependencyError::Response(Box::new(
            HttpError::new(500, "Internal Server Error").into_response(),
        ))
    }
}

impl IntoResponse for DependencyError {
    fn into_response(self) -> Response {
        match self {
            DependencyError::Invalid(errors) => errors.into_response(),
            DependencyError::Response(response) => *response,
        }
    }
}

impl Rejection for DependencyError {
    fn into_validation_error(self) -> Result<RequestValidationError, Response> {
        match self {
            DependencyError::Invalid(errors) => Ok(errors),
            DependencyError::Response(response) => Err(*response),
        }
    }
}

/// Converts rejections into [`DependencyError`] for `?`.
macro_rules! dependency_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for DependencyError {
            fn from(rejection: $t) -> DependencyError {
                DependencyError::from_rejection(rejection)
            }
        }
    )*};
}
dependency_error_from!(
    ExtractError,
    RequestValidationError,
    HttpError,
    StatusCode,
    Response,
    Infallible
);

/// The values of several extractions, or one error with every validation error among them
/// (the first error that is not about values wins), so a dependency that reads several
/// sources reports every invalid value at once.
///
/// ```
/// use corio_web::depends::{self, Dependency, DependencyError};
/// use corio_web::extract::{FromRequestParts, Header, Query};
/// use corio_web::http::request::Parts;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, schemars::JsonSchema)]
/// struct Page { limit: u32 }
/// #[derive(Deserialize, schemars::JsonSchema)]
/// struct Token { x_token: String }
///
/// struct Caller { limit: u32, token: String }
///
/// impl<S: Send + Sync> Dependency<S> for Caller {
///     type Rejection = DependencyError;
///     async fn resolve(parts: &mut Parts, state: &S) -> Result<Self, DependencyError> {
///         let (Query(page), Header(token)) = depends::all((
///             Query::<Page>::from_request_parts(parts, state).await,
///             Header::<Token>::from_request_parts(parts, state).await,
///         ))?;
///         Ok(Caller { limit: page.limit, token: token.x_token })
///     }
/// }
/// ```
pub fn all<R: AllOf>(results: R) -> Result<R::Values, DependencyError> {
    results.all()
}

/// A tuple of extraction results, for [`all`] (up to 8).
pub trait AllOf {
    /// The tuple of the values.
    type Values;

    /// The values, or the merged error.
    fn all(self) -> Result<Self::Values, DependencyError>;
}

/// Adds the errors of `errors` that `into` does not have yet: two dependencies reading the
/// same missing value report it once.
pub(crate) fn merge_new(into: &mut RequestValidationError, errors: RequestValidationError) {
    for error in errors.into_errors() {
        if !into.errors().contains(&error) {
            into.push(error);
        }
    }
}

/// Keeps the rejection of one extraction, as the handler's `Rejections` does.
fn keep<R: Rejection>(
    invalid: &mut RequestValidationError,
    answer: &mut Option<Response>,
    rejection: R,
) {
    match DependencyError::from_rejection(rejection) {
        DependencyError::Invalid(errors) => merge_new(invalid, errors),
        DependencyError::Response(response) => {
            answer.get_or_insert(*response);
        }
    }
}

macro_rules! all_of {
    ($($v:ident $r:ident),*) => {
        #[allow(non_snake_case)]
        impl<$($v, $r: Rejection,)*> AllOf for ($(Result<$v, $r>,)*) {
            type Values = ($($v,)*);

            fn all(self) -> Result<Self::Values, DependencyError> {
                let mut invalid = RequestValidationError::default();
                let mut answer = None;
                let ($($v,)*) = self;
                $(
                    let $v = match $v {
                        Ok(value) => Some(value),
                        Err(rejection) => {
                            keep(&mut invalid, &mut answer, rejection);
                            None
                        }
                    };
                )*
                if let ($(Some($v),)*) = ($($v,)*) {
                    return Ok(($($v,)*));
                }
                Err(match answer {
                    Some(response) => DependencyError::Response(Box::new(response)),
                    None if invalid.is_empty() => DependencyError::empty(),
                    None => DependencyError::Invalid(invalid),
                })
            }
        }
    };
}

all_of!(A1 R1);
all_of!(A1 R1, A2 R2);
all_of!(A1 R1, A2 R2, A3 R3);
all_of!(A1 R1, A2 R2, A3 R3, A4 R4);
all_of!(A1 R1, A2 R2, A3 R3, A4 R4, A5 R5);
all_of!(A1 R1, A2 R2, A3 R3, A4 R4, A5 R5, A6 R6);
all_of!(A1 R1, A2 R2, A3 R3, A4 R4, A5 R5, A6 R6, A7 R7);
all_of!(A1 R1, A2 R2, A3 R3, A4 R4, A5 R5, A6 R6, A7 R7, A8 R8);
