//! [`Json<T>`]: a JSON body in, a JSON response out.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::de::{self, Failure, Shape};
use super::{
    ErrorKind, ExtractError, FromRequest, OptionalFromRequest, RequestValidationError, ViaRequest,
    body, json_syntax,
};
use crate::response::{HttpError, IntoResponse};
use crate::{Body, Request, Response};

/// A JSON body deserialized into `T`, as FastAPI reads a body parameter; or, returned from
/// a handler, `T` serialized as a JSON response.
///
/// As FastAPI (since 0.132, `strict_content_type`) does, the body is parsed as JSON only
/// when the `Content-Type` says so (`application/json` or `application/*+json`); any other
/// body, or one without a content type, is validated as a plain string, which a struct
/// refuses with `model_attributes_type`. An empty body or `null` is `missing`. Syntax
/// errors are `json_invalid`, located at the character offset Python's parser gives, with
/// its reason. Errors inside the document are located at `["body", field, index, ...]`,
/// all of them at once.
///
/// The body is read up to the [`BodyLimit`](super::BodyLimit) (413 beyond).
/// `Option<Json<T>>` is `None` for an empty (or `null`) body.
///
/// ```
/// use corio_web::extract::Json;
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, schemars::JsonSchema)]
/// struct Item { name: String, price: f64, tags: Vec<String> }
///
/// let errors = Json::<Item>::from_bytes(br#"{"price": "twenty", "tags": ["a", 7]}"#).unwrap_err();
/// assert_eq!(
///     errors.to_json(),
///     serde_json::json!({"detail": [
///         {"type": "missing", "loc": ["body", "name"], "msg": "Field required",
///          "input": {"price": "twenty", "tags": ["a", 7]}},
///         {"type": "float_parsing", "loc": ["body", "price"],
///          "msg": "Input should be a valid number, unable to parse string as a number",
///          "input": "twenty"},
///         {"type": "string_type", "loc": ["body", "tags", 1],
///          "msg": "Input should be a valid string", "input": 7},
///     ]})
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

super::newtype_extractor!(Json);

impl<T: DeserializeOwned> Json<T> {
    /// Deserializes a JSON document, as a body sent with `Content-Type: application/json`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Json<T>, RequestValidationError> {
        match decode(true, bytes) {
            Ok(Some(value)) => Ok(Json(value)),
            Ok(None) => Err(missing()),
            Err(ExtractError::Invalid(errors)) => Err(errors),
            Err(ExtractError::Http(e)) => Err(ErrorKind::value_error(e.detail())
                .at(vec!["body".into()], Value::Null)
                .into()),
        }
    }
}

/// Whether `headers` declare a JSON body: `application/json` or `application/*+json`,
/// parameters aside, as FastAPI decides it.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let subtype = subtype.trim().to_ascii_lowercase();
    kind.trim().eq_ignore_ascii_case("application")
        && (subtype == "json" || subtype.ends_with("+json"))
}

fn missing() -> RequestValidationError {
    ErrorKind::Missing
        .at(vec!["body".into()], Value::Null)
        .into()
}

/// The body as `T`; `None` if there is none (empty, or `null`).
fn decode<T: DeserializeOwned>(json: bool, bytes: &[u8]) -> Result<Option<T>, ExtractError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let value = if json {
        // Python decodes bytes with a UTF-8 BOM as UTF-8; serde_json would refuse it.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let Ok(text) = std::str::from_utf8(bytes) else {
            // FastAPI's answer when the body is not text it can decode.
            return Err(HttpError::new(400, "There was an error parsing the body").into());
        };
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Null) => return Ok(None),
            Ok(value) => value,
            Err(e) => return Err(RequestValidationError::from(json_invalid(text, &e)).into()),
        }
    } else {
        // Not declared JSON: FastAPI validates the raw body, which only a string accepts.
        Value::String(String::from_utf8_lossy(bytes).into_owned())
    };
    match de::from_value(&value, vec!["body".into()], Shape::Json) {
        Ok(value) => Ok(Some(value)),
        Err(Failure::Invalid(errors)) => Err(RequestValidationError::from(errors).into()),
        Err(Failure::Internal(why)) => Err(ExtractError::internal(why)),
    }
}

/// `json_invalid`, where and why Python's parser gives up on `text`.
fn json_invalid(text: &str, error: &serde_json::Error) -> super::ValidationError {
    let (offset, reason) = match json_syntax::python_error(text) {
        Some((offset, reason)) => (offset, reason.to_owned()),
        // Python takes it (NaN, a huge number) or nests deeper than serde_json allows:
        // report serde_json's own reason and place.
        None => {
            let line_start: usize = text
                .split_inclusive('\n')
                .take(error.line().saturating_sub(1))
                .map(str::len)
                .sum();
            let byte = (line_start + error.column().saturating_sub(1)).min(text.len());
            let offset = text.get(..byte).map_or(byte, |s| s.chars().count());
            let reason = error.to_string();
            let reason = reason
                .split(" at line ")
                .next()
                .unwrap_or(&reason)
                .to_owned();
            (offset, reason)
        }
    };
    ErrorKind::JsonInvalid { error: reason }.at(
        vec!["body".into(), offset.into()],
        Value::Object(Map::new()),
    )
}

async fn extract<T: DeserializeOwned>(request: Request) -> Result<Option<T>, ExtractError> {
    let json = is_json(request.headers());
    let (_, bytes) = body::read(request).await?;
    decode(json, &bytes)
}

impl<S, T> FromRequest<S, ViaRequest> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned + schemars::JsonSchema + Send,
{
    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        operation.request_body::<T>("application/json");
    }

    type Rejection = ExtractError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ExtractError> {
        match extract(request).await? {
            Some(value) => Ok(Json(value)),
            None => Err(missing().into()),
        }
    }
}

impl<S, T> OptionalFromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned + schemars::JsonSchema + Send,
{
    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        operation.request_body::<T>("application/json");
    }

    type Rejection = ExtractError;

    async fn optional_from_request(
        request: Request,
        _state: &S,
    ) -> Result<Option<Self>, ExtractError> {
        Ok(extract(request).await?.map(Json))
    }
}

/// `200 application/json` with `T` serialized; a value that cannot be serialized (a map
/// with non-string keys, a failing `Serialize` impl) is a logged 500.
///
/// ```
/// use corio_web::extract::Json;
/// use corio_web::response::IntoResponse;
///
/// let response = Json(serde_json::json!({"item_id": 7})).into_response();
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
impl<T: Serialize + schemars::JsonSchema> IntoResponse for Json<T> {
    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        operation.response_body::<T>("application/json");
    }

    fn into_response(self) -> Response {
        match serialize(&self.0) {
            Ok(bytes) => {
                let mut response = crate::response::header_pool::response(Body::from(bytes));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
            Err(e) => {
                tracing::error!("serializing a JSON response failed: {e}");
                HttpError::new(500, "Internal Server Error").into_response()
            }
        }
    }
}

/// Serialized bodies up to this size are copied out of the thread's scratch buffer; larger
/// ones take the buffer itself.
const SCRATCH_KEEP: usize = 16 * 1024;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Serializes `value` into a body of exactly its size. `serde_json::to_vec` grows a vector
/// as it writes and leaves it with room to spare, which `Bytes` can only take with a
/// reference-count block besides: three allocations for a small body. Writing into a
/// reused per-thread buffer and copying the result out costs one.
fn serialize<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Bytes> {
    let scratch = SCRATCH.try_with(|scratch| {
        let Ok(mut buf) = scratch.try_borrow_mut() else {
            // Serializing inside a `Serialize` impl of another JSON response: rare.
            return None;
        };
        buf.clear();
        Some(serde_json::to_writer(&mut *buf, value).map(|()| {
            if buf.len() <= SCRATCH_KEEP {
                Bytes::copy_from_slice(&buf)
            } else {
                Bytes::from(std::mem::take(&mut *buf))
            }
        }))
    });
    match scratch {
        Ok(Some(result)) => result,
        _ => serde_json::to_vec(value).map(Bytes::from),
    }
}

#[cfg(test)]
mod serialize_tests {
    use super::*;

    #[test]
    fn small_and_large_bodies_serialize_whole_and_the_scratch_is_reused() {
        let small = serialize(&serde_json::json!({"message": "Hello"})).unwrap();
        assert_eq!(&small[..], br#"{"message":"Hello"}"#);
        let text = "x".repeat(3 * SCRATCH_KEEP);
        let large = serialize(&text).unwrap();
        assert_eq!(large.len(), text.len() + 2);
        assert_eq!(&large[1..large.len() - 1], text.as_bytes());
        // After a large body took the buffer, small ones still come out right.
        assert_eq!(&serialize(&[1, 2, 3]).unwrap()[..], b"[1,2,3]");
    }

    /// A `Serialize` impl that serializes a JSON response itself (re-entering the scratch
    /// buffer) gets a correct body from the fallback.
    #[test]
    fn nested_serialization_falls_back() {
        struct Nested;
        impl Serialize for Nested {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let inner = serialize(&"inner").map_err(serde::ser::Error::custom)?;
                s.serialize_str(std::str::from_utf8(&inner).unwrap())
            }
        }
        assert_eq!(&serialize(&Nested).unwrap()[..], br#""\"inner\"""#);
    }
}
