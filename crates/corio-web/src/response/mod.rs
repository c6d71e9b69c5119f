//! Turning handler results into responses: [`IntoResponse`].
//!
//! A handler returns anything that implements [`IntoResponse`]: text, bytes, a status code,
//! a `(StatusCode, body)` pair, a full [`Response`], or a `Result` of two such types (so
//! `?` works with errors that know their response, like [`HttpError`]).

mod exception;
pub(crate) mod header_pool;
mod http_error;
mod model;
mod redirect;

pub use exception::Exception;
pub use http_error::HttpError;
pub use model::ResponseModel;
pub use redirect::Redirect;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use crate::openapi::OperationDoc;
use crate::{Body, Response};

/// `text/plain; charset=utf-8`, the content type of `String` and `&str` responses.
pub(crate) const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// `application/json`, the content type of JSON responses and errors.
pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Something a handler can return: it knows the response it stands for.
///
/// ```
/// use corio_web::http::StatusCode;
/// use corio_web::response::IntoResponse;
///
/// let response = (StatusCode::CREATED, "made it").into_response();
/// assert_eq!(response.status(), StatusCode::CREATED);
/// assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
/// ```
pub trait IntoResponse {
    /// The response.
    fn into_response(self) -> Response;

    /// Writes the response it stands for into the route's OpenAPI operation: the success
    /// body's media type and schema, or responses it declares (see [`OperationDoc`]). The
    /// default writes nothing, and the operation shows a bare 200.
    fn describe(operation: &mut OperationDoc<'_>)
    where
        Self: Sized,
    {
        let _ = operation;
    }
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for Body {
    fn into_response(self) -> Response {
        Response::new(self)
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self;
        response
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(Body::empty())
    }
}

#[inline]
fn with_content_type(body: Body, content_type: HeaderValue) -> Response {
    let mut response = header_pool::response(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    response
}

impl IntoResponse for &'static str {
    fn describe(operation: &mut OperationDoc<'_>) {
        operation.response_body_schema("text/plain", serde_json::json!({"type": "string"}));
    }

    fn into_response(self) -> Response {
        with_content_type(Body::from(self), TEXT_PLAIN)
    }
}

impl IntoResponse for String {
    fn describe(operation: &mut OperationDoc<'_>) {
        operation.response_body_schema("text/plain", serde_json::json!({"type": "string"}));
    }

    fn into_response(self) -> Response {
        with_content_type(Body::from(self), TEXT_PLAIN)
    }
}

impl IntoResponse for Bytes {
    fn describe(operation: &mut OperationDoc<'_>) {
        operation.response_body_schema(
            "application/octet-stream",
            serde_json::json!({"type": "string", "format": "binary"}),
        );
    }

    fn into_response(self) -> Response {
        with_content_type(
            Body::from(self),
            HeaderValue::from_static("application/octet-stream"),
        )
    }
}

impl IntoResponse for Vec<u8> {
    fn describe(operation: &mut OperationDoc<'_>) {
        operation.response_body_schema(
            "application/octet-stream",
            serde_json::json!({"type": "string", "format": "binary"}),
        );
    }

    fn into_response(self) -> Response {
        Bytes::from(self).into_response()
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn describe(operation: &mut OperationDoc<'_>) {
        T::describe(operation);
    }

    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        *response.status_mut() = self.0;
        response
    }
}

impl<T: IntoResponse> IntoResponse for (http::HeaderMap, T) {
    fn describe(operation: &mut OperationDoc<'_>) {
        T::describe(operation);
    }

    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        response.headers_mut().extend(self.0);
        response
    }
}

/// Headers given inline, e.g. a content type for bytes:
/// `([(header::CONTENT_TYPE, "image/png")], png_bytes)`.
impl<T: IntoResponse, const N: usize> IntoResponse
    for ([(header::HeaderName, &'static str); N], T)
{
    fn describe(operation: &mut OperationDoc<'_>) {
        T::describe(operation);
    }

    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        for (name, value) in self.0 {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

/// An HTML page (`text/html; charset=utf-8`), FastAPI's `HTMLResponse`.
#[derive(Debug, Clone)]
pub struct Html<T>(pub T);

impl<T: Into<Body>> IntoResponse for Html<T> {
    fn describe(operation: &mut OperationDoc<'_>) {
        operation.response_body_schema("text/html", serde_json::json!({"type": "string"}));
    }

    fn into_response(self) -> Response {
        with_content_type(
            self.0.into(),
            HeaderValue::from_static("text/html; charset=utf-8"),
        )
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, http::HeaderMap, T) {
    fn describe(operation: &mut OperationDoc<'_>) {
        T::describe(operation);
    }

    fn into_response(self) -> Response {
        let mut response = (self.1, self.2).into_response();
        *response.status_mut() = self.0;
        response
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn describe(operation: &mut OperationDoc<'_>) {
        T::describe(operation);
        operation.errors(|operation| E::describe(operation));
    }

    fn into_response(self) -> Response {
        match self {
            Ok(ok) => ok.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_text(response: Response) -> String {
        corio::run(async move {
            let bytes = response.into_body().to_bytes(1 << 20).await.unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        })
    }

    #[test]
    fn text_gets_a_plain_content_type() {
        let response = "hi".into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], TEXT_PLAIN);
        assert_eq!(body_text(response), "hi");
        assert_eq!(body_text(String::from("yo").into_response()), "yo");
    }

    #[test]
    fn status_and_headers_combine_with_any_body() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-id", HeaderValue::from_static("7"));
        let response = (StatusCode::ACCEPTED, headers, "queued").into_response();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.headers()["x-id"], "7");
        assert_eq!(body_text(response), "queued");
        assert_eq!(StatusCode::NO_CONTENT.into_response().status(), 204);
    }

    #[test]
    fn inline_headers_and_html() {
        let png = ([(header::CONTENT_TYPE, "image/png")], vec![0x89u8, b'P']).into_response();
        assert_eq!(png.headers()[header::CONTENT_TYPE], "image/png");
        let page = Html("<h1>hi</h1>").into_response();
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(body_text(page), "<h1>hi</h1>");
    }

    #[test]
    fn streamed_bodies_pass_through() {
        use futures_util::stream;
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            vec![Ok(Bytes::from_static(b"a")), Ok(Bytes::from_static(b"b"))];
        let response = Body::from_stream(stream::iter(chunks)).into_response();
        assert_eq!(response.body().exact_len(), None, "sent chunked");
        assert_eq!(body_text(response), "ab");
    }

    #[test]
    fn results_answer_with_either_side() {
        let ok: Result<&'static str, StatusCode> = Ok("fine");
        assert_eq!(body_text(ok.into_response()), "fine");
        let err: Result<&'static str, StatusCode> = Err(StatusCode::IM_A_TEAPOT);
        assert_eq!(err.into_response().status(), 418);
    }
}
