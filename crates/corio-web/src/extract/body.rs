//! Reading the body: [`BodyLimit`], and the raw-body extractors (`Bytes`, `String`,
//! [`Body`]).

use bytes::Bytes;
use http::{Extensions, StatusCode};
use serde_json::Value;

use super::{
    ErrorKind, ExtractError, FromRequest, OptionalFromRequest, RequestValidationError, ViaRequest,
};
use crate::body::BodyError;
use crate::response::HttpError;
use crate::{Body, Request};

/// The most bytes a body extractor reads; a longer body is answered with `413`.
///
/// The default is [`BodyLimit::DEFAULT`] (2 MiB). The application sets another per route
/// (or for all) by putting a `BodyLimit` in the request's extensions before the extractors
/// run. [`Body`] itself is a stream and is not limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

impl BodyLimit {
    /// 2 MiB.
    pub const DEFAULT: BodyLimit = BodyLimit(2 * 1024 * 1024);

    /// The limit set in `extensions`, or the default.
    pub fn of(extensions: &Extensions) -> BodyLimit {
        extensions.get::<BodyLimit>().copied().unwrap_or_default()
    }
}

impl Default for BodyLimit {
    fn default() -> BodyLimit {
        BodyLimit::DEFAULT
    }
}

/// Reads the whole body of `request` within its [`BodyLimit`], with the head kept.
pub(crate) async fn read(request: Request) -> Result<(http::request::Parts, Bytes), ExtractError> {
    let (parts, body) = request.into_parts();
    let limit = BodyLimit::of(&parts.extensions);
    match body.to_bytes(limit.0).await {
        Ok(bytes) => Ok((parts, bytes)),
        Err(BodyError::TooLarge { .. }) => Err(HttpError::new(
            413,
            StatusCode::PAYLOAD_TOO_LARGE
                .canonical_reason()
                .unwrap_or("Payload Too Large"),
        )
        .into()),
        Err(e) => {
            tracing::debug!("reading the request body failed: {e}");
            // FastAPI's answer to a body it cannot read.
            Err(HttpError::new(400, "There was an error parsing the body").into())
        }
    }
}

/// The body's bytes, within the [`BodyLimit`].
impl<S: Send + Sync> FromRequest<S, ViaRequest> for Bytes {
    type Rejection = ExtractError;

    async fn from_request(request: Request, _state: &S) -> Result<Bytes, ExtractError> {
        read(request).await.map(|(_, bytes)| bytes)
    }
}

/// `None` for an empty body.
impl<S: Send + Sync> OptionalFromRequest<S> for Bytes {
    type Rejection = ExtractError;

    async fn optional_from_request(
        request: Request,
        _state: &S,
    ) -> Result<Option<Bytes>, ExtractError> {
        let (_, bytes) = read(request).await?;
        Ok((!bytes.is_empty()).then_some(bytes))
    }
}

fn utf8(bytes: Bytes) -> Result<String, ExtractError> {
    String::from_utf8(bytes.into()).map_err(|e| {
        let input = Value::String(String::from_utf8_lossy(e.as_bytes()).into_owned());
        let error = ErrorKind::StringUnicode.at(vec!["body".into()], input);
        RequestValidationError::from(error).into()
    })
}

/// The body as text, within the [`BodyLimit`]; not UTF-8 is a 422 (`string_unicode`).
impl<S: Send + Sync> FromRequest<S, ViaRequest> for String {
    type Rejection = ExtractError;

    async fn from_request(request: Request, _state: &S) -> Result<String, ExtractError> {
        let (_, bytes) = read(request).await?;
        utf8(bytes)
    }
}

/// `None` for an empty body.
impl<S: Send + Sync> OptionalFromRequest<S> for String {
    type Rejection = ExtractError;

    async fn optional_from_request(
        request: Request,
        _state: &S,
    ) -> Result<Option<String>, ExtractError> {
        let (_, bytes) = read(request).await?;
        if bytes.is_empty() {
            return Ok(None);
        }
        utf8(bytes).map(Some)
    }
}

/// The body as it comes, unread and unlimited: for streaming.
impl<S: Send + Sync> FromRequest<S, ViaRequest> for Body {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, _state: &S) -> Result<Body, std::convert::Infallible> {
        Ok(request.into_body())
    }
}
