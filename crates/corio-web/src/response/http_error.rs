//! [`HttpError`]: FastAPI's `HTTPException`.

use std::fmt;

use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::{APPLICATION_JSON, IntoResponse};
use crate::{Body, Response};

/// An error that is an HTTP response: a status and a detail, answered as FastAPI answers
/// an `HTTPException`, `{"detail": ...}`.
///
/// ```
/// use corio_web::response::{HttpError, IntoResponse};
///
/// let response = HttpError::new(404, "Item not found").into_response();
/// assert_eq!(response.status(), 404);
/// corio::run(async move {
///     let body = response.into_body().to_bytes(1024).await.unwrap();
///     assert_eq!(body, r#"{"detail":"Item not found"}"#);
/// });
/// ```
#[derive(Clone, Debug)]
pub struct HttpError {
    status: StatusCode,
    detail: String,
    /// Boxed, and only when there are some: handlers return `Result<T, HttpError>`, and
    /// a small error keeps every such result small.
    headers: Option<Box<HeaderMap>>,
}

impl HttpError {
    /// An error answered with `status` and `{"detail": detail}`.
    ///
    /// # Panics
    ///
    /// If `status` is not a valid status code (100..=999).
    pub fn new(status: u16, detail: impl Into<String>) -> HttpError {
        HttpError {
            status: StatusCode::from_u16(status).expect("HttpError: invalid status code"),
            detail: detail.into(),
            headers: None,
        }
    }

    /// Adds a header to the response (FastAPI's `HTTPException(headers=...)`), e.g.
    /// `WWW-Authenticate` on a 401.
    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> HttpError {
        self.headers
            .get_or_insert_with(Default::default)
            .append(name, value);
        self
    }

    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The detail it answers with.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The headers added with [`with_header`](HttpError::with_header) (the router's 405
    /// carries its `Allow` here), so an exception handler that answers instead can keep
    /// them.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.headers.as_deref()
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.detail)
    }
}

impl std::error::Error for HttpError {}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut body = String::with_capacity(self.detail.len() + 14);
        body.push_str(r#"{"detail":"#);
        push_json_string(&mut body, &self.detail);
        body.push('}');
        let mut response = super::header_pool::response(Body::from(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, APPLICATION_JSON);
        if let Some(extra) = &self.headers {
            headers.extend(
                extra
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone())),
            );
        }
        // The error itself rides along, whole, for `App::exception_handler`.
        response.extensions_mut().insert(self);
        response
    }
}

/// Appends `text` to `out` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_is_escaped_json() {
        let mut out = String::new();
        push_json_string(&mut out, "a \"b\" \\ \n\u{1}é");
        assert_eq!(out, r#""a \"b\" \\ \n\u0001é""#);
    }

    #[test]
    fn headers_go_along() {
        let response = HttpError::new(401, "Not authenticated")
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
            .into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn an_error_is_small_enough_to_return_by_value() {
        assert!(std::mem::size_of::<HttpError>() <= 48);
    }

    #[test]
    #[should_panic(expected = "invalid status code")]
    fn invalid_status_panics() {
        let _ = HttpError::new(42, "nope");
    }
}
