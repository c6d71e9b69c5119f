//! App- and router-level dependencies (FastAPI's `dependencies=[...]`): extractors run
//! before each endpoint of an [`App`](crate::App) or a [`Router`](crate::Router) for what
//! they check (a token, a rate limit); their values are dropped, but a [`Depends<T>`]
//! stays cached for the request, so a handler asking for it again does not resolve it
//! twice.
//!
//! A rejection that is not about values (a 401) answers the request; the endpoint does not
//! run. Validation errors are *handed down* through the request's scope to the handler
//! layer, which reports them with its own extractors' errors in one 422. The hand-over is
//! synchronous: a handler takes the errors when it is called, before its future first
//! runs, so right after calling the endpoint the guard knows whether they were taken. If
//! they were not (the endpoint is a plain [`Service`], or a middleware that calls the
//! handler later), the guard drops the endpoint's future unpolled and answers the 422
//! itself.
//!
//! An error several layers report (two routers reading the same missing query parameter)
//! is reported once.
//!
//! Layers nest: app-level checks run first, then those of the outermost router down to the
//! innermost, then the handler's extractors — FastAPI's order.
//!
//! [`Depends<T>`]: super::Depends

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::request::Parts;

use super::scope::Handoff;
use super::{DependencyError, RequestScope, merge_new};
use crate::extract::{FromRequestParts, RequestValidationError};
use crate::response::IntoResponse;
use crate::service::ResponseFuture;
use crate::{Request, Service};

/// One dependency of a group of routes, type-erased: runs the extractor, drops its value.
pub(crate) type Check<S> =
    for<'a> fn(
        &'a mut Parts,
        &'a S,
    ) -> Pin<Box<dyn Future<Output = Result<(), DependencyError>> + Send + 'a>>;

/// The [`Check`] of extractor `D`.
pub(crate) fn check<S, D>() -> Check<S>
where
    S: Send + Sync + 'static,
    D: FromRequestParts<S> + 'static,
{
    run_check::<S, D>
}

fn run_check<'a, S, D>(
    parts: &'a mut Parts,
    state: &'a S,
) -> Pin<Box<dyn Future<Output = Result<(), DependencyError>> + Send + 'a>>
where
    S: Send + Sync + 'static,
    D: FromRequestParts<S> + 'static,
{
    Box::pin(async move {
        match D::from_request_parts(parts, state).await {
            Ok(_) => Ok(()),
            Err(rejection) => Err(DependencyError::from_rejection(rejection)),
        }
    })
}

/// Runs `checks` on `request`, then `inner` unless they rejected it (see the
/// [module docs](self)).
pub(crate) fn guard<S>(
    checks: Arc<[Check<S>]>,
    state: Arc<S>,
    request: Request,
    inner: Arc<dyn Service>,
) -> ResponseFuture
where
    S: Send + Sync + 'static,
{
    let (mut parts, body) = request.into_parts();
    let (scope, outer) = RequestScope::enter_taking(&mut parts.extensions);
    Box::pin(scope.run(async move {
        let mut invalid = match outer {
            Some(DependencyError::Invalid(errors)) => errors,
            // Only validation errors are handed down.
            Some(DependencyError::Response(_)) | None => RequestValidationError::default(),
        };
        for check in checks.iter() {
            match check(&mut parts, &state).await {
                Ok(()) => {}
                Err(DependencyError::Invalid(errors)) => merge_new(&mut invalid, errors),
                Err(DependencyError::Response(response)) => return *response,
            }
        }
        if invalid.is_empty() {
            return inner.call(Request::from_parts(parts, body)).await;
        }
        // Into the extensions before they go: the inner layer finds the errors there.
        let handoff = Handoff::put(&mut parts.extensions, invalid);
        let answer = inner.call(Request::from_parts(parts, body));
        match handoff.take() {
            // The handler layer took them: its 422 reports them with its own.
            None => answer.await,
            // In the order the dependencies ran, as FastAPI lists them.
            Some(errors) => {
                drop(answer);
                errors.into_response()
            }
        }
    }))
}

/// An endpoint behind a router's dependencies.
pub(crate) struct Guarded<S> {
    pub(crate) checks: Arc<[Check<S>]>,
    pub(crate) state: Arc<S>,
    pub(crate) inner: Arc<dyn Service>,
}

impl<S: Send + Sync + 'static> Service for Guarded<S> {
    fn call(&self, request: Request) -> ResponseFuture {
        guard(
            self.checks.clone(),
            self.state.clone(),
            request,
            self.inner.clone(),
        )
    }
}
