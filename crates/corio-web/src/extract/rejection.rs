//! What a failed extractor answers: [`Rejection`], [`ExtractError`], and [`Rejections`],
//! which merges the rejections of all of a handler's extractors into one response.

use std::any::TypeId;
use std::convert::Infallible;
use std::fmt;

use http::StatusCode;

use super::validation::RequestValidationError;
use crate::Response;
use crate::depends::DependencyError;
use crate::response::{HttpError, IntoResponse};

/// The rejection of an extractor: a response, and possibly validation errors that merge
/// with those of the handler's other extractors.
///
/// A rejection that is not about the request's values (a body too large, a missing state)
/// keeps the default method: it is answered as it is. Rejections that are validation
/// errors hand them over, so the client gets every problem of the request in one 422.
pub trait Rejection: IntoResponse + Send + 'static {
    /// The validation errors this rejection stands for (`Ok`), or the response to answer
    /// right away (`Err`).
    #[allow(
        clippy::result_large_err,
        reason = "a rejection is answered once per request; boxing the response buys nothing"
    )]
    fn into_validation_error(self) -> Result<RequestValidationError, Response>
    where
        Self: Sized,
    {
        Err(self.into_response())
    }
}

impl Rejection for RequestValidationError {
    fn into_validation_error(self) -> Result<RequestValidationError, Response> {
        Ok(self)
    }
}

impl Rejection for HttpError {}
impl Rejection for StatusCode {}
impl Rejection for Response {}

impl Rejection for Infallible {
    fn into_validation_error(self) -> Result<RequestValidationError, Response> {
        match self {}
    }
}

/// `Infallible` never happens; it is here so extractors that cannot fail can name it.
impl IntoResponse for Infallible {
    fn into_response(self) -> Response {
        match self {}
    }
}

/// The rejection of corio's extractors: the request's values are invalid (422, mergeable),
/// or something else is wrong (a body too large: 413; unreadable: 400; a route or state
/// the handler does not fit: 500).
#[derive(Debug)]
pub enum ExtractError {
    /// Invalid values.
    Invalid(RequestValidationError),
    /// Anything else, answered as it is (boxed: it is large, and rare).
    Http(Box<HttpError>),
}

impl ExtractError {
    /// A 500: the program, not the request, is wrong. Logged, with a generic detail for the
    /// client.
    pub(crate) fn internal(why: impl fmt::Display) -> ExtractError {
        tracing::error!("extraction failed: {why}");
        ExtractError::Http(Box::new(HttpError::new(500, "Internal Server Error")))
    }

    /// The validation errors, if that is what this is.
    pub fn validation_error(&self) -> Option<&RequestValidationError> {
        match self {
            ExtractError::Invalid(errors) => Some(errors),
            ExtractError::Http(_) => None,
        }
    }

    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ExtractError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ExtractError::Http(e) => e.status(),
        }
    }
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractError::Invalid(e) => e.fmt(f),
            ExtractError::Http(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ExtractError {}

impl From<RequestValidationError> for ExtractError {
    fn from(errors: RequestValidationError) -> ExtractError {
        ExtractError::Invalid(errors)
    }
}

impl From<HttpError> for ExtractError {
    fn from(error: HttpError) -> ExtractError {
        ExtractError::Http(Box::new(error))
    }
}

impl IntoResponse for ExtractError {
    fn into_response(self) -> Response {
        match self {
            ExtractError::Invalid(e) => e.into_response(),
            ExtractError::Http(e) => e.into_response(),
        }
    }
}

impl Rejection for ExtractError {
    fn into_validation_error(self) -> Result<RequestValidationError, Response> {
        match self {
            ExtractError::Invalid(e) => Ok(e),
            ExtractError::Http(e) => Err(e.into_response()),
        }
    }
}

/// Collects the rejections of a handler's extractors into one answer, as FastAPI does:
/// every validation error of the request in one 422, those of dependencies
/// ([`DependencyError`] rejections) first, in the order they were taken, then the
/// extractors' own ordered path, query, header, cookie, body.
///
/// Run each extractor and pass its result through [`take`](Rejections::take); once
/// [`is_fatal`](Rejections::is_fatal) says a rejection must be answered as it is (a 413,
/// a 500), the remaining extractors need not run. Then [`finish`](Rejections::finish).
///
/// ```
/// use corio_web::extract::{FromRequestParts, Path, PathParams, Query, Rejections};
/// use corio_web::{Body, http};
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, schemars::JsonSchema)]
/// struct Page { limit: u32 }
///
/// corio::run(async {
///     let mut request = http::Request::builder().uri("/items/foo?limit=x").body(Body::empty()).unwrap();
///     request.extensions_mut().insert(PathParams::from_pairs([("item_id", "foo")]));
///     let (mut parts, _body) = request.into_parts();
///
///     let mut rejections = Rejections::new();
///     let id = rejections.take(
///         <Path<u64> as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await);
///     let page = rejections.take(
///         <Query<Page> as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await);
///     let response = rejections.finish().unwrap_err();
///     assert!(id.is_none() && page.is_none());
///     assert_eq!(response.status(), 422);
///     let body = response.into_body().to_bytes(4096).await.unwrap();
///     let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
///     assert_eq!(body["detail"][0]["loc"], serde_json::json!(["path", "item_id"]));
///     assert_eq!(body["detail"][1]["loc"], serde_json::json!(["query", "limit"]));
/// });
/// ```
#[derive(Debug, Default)]
pub struct Rejections {
    /// FastAPI solves an endpoint's dependencies before its own parameters and lists
    /// their errors first, unsorted.
    dependencies: RequestValidationError,
    invalid: RequestValidationError,
    fatal: Option<Response>,
}

impl Rejections {
    /// None yet.
    pub fn new() -> Rejections {
        Rejections::default()
    }

    /// The extracted value, or `None` after keeping the rejection.
    pub fn take<T, R: Rejection>(&mut self, result: Result<T, R>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(rejection) => {
                self.push(rejection);
                None
            }
        }
    }

    /// Keeps a rejection: its validation errors join the others; the first rejection that
    /// is not about values is the one answered.
    pub fn push<R: Rejection>(&mut self, rejection: R) {
        let from_dependency = TypeId::of::<R>() == TypeId::of::<DependencyError>();
        match rejection.into_validation_error() {
            // A rejection that names no error would leave the handler without a value and
            // nothing to answer: a bug in the rejection type, answered as one.
            Ok(errors) if errors.is_empty() => {
                tracing::error!(
                    "an extractor was rejected with an empty list of validation errors"
                );
                self.fatal
                    .get_or_insert(HttpError::new(500, "Internal Server Error").into_response());
            }
            Ok(errors) if from_dependency => self.dependencies.merge(errors),
            Ok(errors) => self.invalid.merge(errors),
            Err(response) => {
                self.fatal.get_or_insert(response);
            }
        }
    }

    /// Whether a rejection must be answered as it is (further extraction is wasted).
    pub fn is_fatal(&self) -> bool {
        self.fatal.is_some()
    }

    /// Whether nothing was rejected.
    pub fn is_empty(&self) -> bool {
        self.fatal.is_none() && self.invalid.is_empty() && self.dependencies.is_empty()
    }

    /// `Ok(())` if nothing was rejected; else the response: the first non-validation
    /// rejection, or one 422 with every validation error.
    #[allow(
        clippy::result_large_err,
        reason = "the error is the response the handler returns as it is"
    )]
    pub fn finish(self) -> Result<(), Response> {
        if let Some(response) = self.fatal {
            return Err(response);
        }
        if self.invalid.is_empty() && self.dependencies.is_empty() {
            return Ok(());
        }
        let mut invalid = self.invalid;
        invalid.sort_by_source();
        let mut all = self.dependencies;
        all.merge(invalid);
        Err(all.into_response())
    }
}
