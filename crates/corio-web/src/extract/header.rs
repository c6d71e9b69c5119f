//! [`Header<T>`]: typed headers; and the raw `HeaderMap`.

use std::borrow::Cow;
use std::convert::Infallible;

use http::HeaderMap;
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::de::Shape;
use super::kv::{self, multi_object};
use super::{ExtractError, FromRequestParts, OptionalFromRequestParts, RequestValidationError};

const HEADERS: Shape = Shape::Multi {
    pick_last: false,
    header_names: true,
};

/// Headers deserialized into `T`, as FastAPI reads `Header()` parameters: a field
/// `user_agent` reads the `user-agent` header (names are case-insensitive), a `Vec` field
/// gets every value of a repeated header, a scalar the first. Errors are located at
/// `["header", "user-agent"]`. Headers whose names have underscores are not read (a
/// client's `x_token` must not pass for `x-token`); the raw `HeaderMap` has them.
///
/// `Option<Header<T>>` is `None` when every required header is absent.
///
/// ```
/// use corio_web::extract::Header;
/// use corio_web::http::HeaderMap;
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, schemars::JsonSchema)]
/// struct Auth { x_token: String, x_retries: Option<u8> }
///
/// let mut headers = HeaderMap::new();
/// headers.insert("X-Retries", "many".parse().unwrap());
/// let errors = Header::<Auth>::try_from_headers(&headers).unwrap_err();
/// let locs: Vec<_> = errors.errors().iter().map(|e| serde_json::to_value(&e.loc).unwrap()).collect();
/// assert_eq!(locs, [serde_json::json!(["header", "x-token"]), serde_json::json!(["header", "x-retries"])]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header<T>(pub T);

super::newtype_extractor!(Header);

/// The headers keyed as fields name them, `-` read as `_`. A header whose own name has
/// an underscore is left out: it would pass for the dashed one (`X_User` for `X-User`),
/// which proxies that strip or set `X-User` do not touch. FastAPI, too, looks up only the
/// dashed name.
fn pairs(headers: &HeaderMap) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    headers
        .iter()
        .filter(|(name, _)| !name.as_str().contains('_'))
        .map(|(name, value)| {
            let name = name.as_str();
            // Most names have a dash; those without need no copy.
            let name = if name.contains('-') {
                Cow::Owned(name.replace('-', "_"))
            } else {
                Cow::Borrowed(name)
            };
            (name, String::from_utf8_lossy(value.as_bytes()))
        })
}

fn object(headers: &HeaderMap) -> Value {
    multi_object(pairs(headers))
}

impl<T: DeserializeOwned> Header<T> {
    /// Deserializes `headers`.
    pub fn try_from_headers(headers: &HeaderMap) -> Result<Header<T>, RequestValidationError> {
        let pairs: Vec<_> = pairs(headers).collect();
        kv::extract_pairs_invalid(&pairs, || object(headers), "header", HEADERS).map(Header)
    }
}

fn extract<T: DeserializeOwned>(parts: &Parts) -> Result<Header<T>, ExtractError> {
    let pairs: Vec<_> = pairs(&parts.headers).collect();
    kv::extract_pairs(&pairs, || object(&parts.headers), "header", HEADERS).map(Header)
}

kv::head_extractor!(Header, crate::openapi::ParamIn::Header);

/// All the headers, as they came.
impl<S: Send + Sync> FromRequestParts<S> for HeaderMap {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(parts.headers.clone())
    }
}
