//! Cookies: the [`Cookies`] map and the typed [`Cookie<T>`].

use std::borrow::Cow;
use std::convert::Infallible;

use http::request::Parts;
use http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::de::Shape;
use super::kv::{self, multi_object};
use super::{ExtractError, FromRequestParts, OptionalFromRequestParts, RequestValidationError};

/// The request's cookies, name to value, from its `Cookie` headers. Parsed leniently, as
/// Starlette parses them: pairs split on `;`, surrounding quotes dropped, a later cookie of
/// the same name wins, and a chunk without `=` is a value with an empty name.
///
/// ```
/// use corio_web::extract::Cookies;
/// use corio_web::http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("cookie", r#"session=abc123; theme="dark"; flag"#.parse().unwrap());
/// let cookies = Cookies::from_headers(&headers);
/// assert_eq!(cookies.get("session"), Some("abc123"));
/// assert_eq!(cookies.get("theme"), Some("dark"));
/// assert_eq!(cookies.get(""), Some("flag"));
/// assert_eq!(cookies.get("missing"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cookies {
    pairs: Vec<(String, String)>,
}

impl Cookies {
    /// The cookies of `headers`.
    pub fn from_headers(headers: &HeaderMap) -> Cookies {
        let mut pairs = Vec::new();
        for value in headers.get_all(header::COOKIE) {
            let text = String::from_utf8_lossy(value.as_bytes());
            for chunk in text.split(';') {
                // A bare word is a value with an empty name (Starlette's reading, and
                // RFC 6265bis's), so it can never fill a named cookie.
                let (name, value) = chunk.split_once('=').unwrap_or(("", chunk));
                let (name, value) = (name.trim(), value.trim());
                if name.is_empty() && value.is_empty() {
                    continue;
                }
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                pairs.push((name.to_owned(), value.to_owned()));
            }
        }
        Cookies { pairs }
    }

    /// The value of the cookie `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every cookie, in the order sent (a repeated name appears each time).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many were sent.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether none were sent.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Cookies {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Cookies::from_headers(&parts.headers))
    }
}

/// Cookies deserialized into `T` (one field per cookie), as FastAPI reads `Cookie()`
/// parameters; errors at `["cookie", name]`.
///
/// `Option<Cookie<T>>` is `None` when every required cookie is absent.
///
/// ```
/// use corio_web::extract::Cookie;
/// use corio_web::http::HeaderMap;
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, schemars::JsonSchema)]
/// struct Prefs { ads_id: String, visits: u32 }
///
/// let mut headers = HeaderMap::new();
/// headers.insert("cookie", "ads_id=x1; visits=3".parse().unwrap());
/// let Cookie(prefs) = Cookie::<Prefs>::try_from_headers(&headers).unwrap();
/// assert_eq!((prefs.ads_id.as_str(), prefs.visits), ("x1", 3));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cookie<T>(pub T);

super::newtype_extractor!(Cookie);

fn object(headers: &HeaderMap) -> serde_json::Value {
    let cookies = Cookies::from_headers(headers);
    multi_object(
        cookies
            .pairs
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v))),
    )
}

impl<T: DeserializeOwned> Cookie<T> {
    /// Deserializes the cookies of `headers`.
    pub fn try_from_headers(headers: &HeaderMap) -> Result<Cookie<T>, RequestValidationError> {
        let cookies = Cookies::from_headers(headers);
        kv::extract_pairs_invalid(&cookies.pairs, || object(headers), "cookie", Shape::QUERY)
            .map(Cookie)
    }
}

fn extract<T: DeserializeOwned>(parts: &Parts) -> Result<Cookie<T>, ExtractError> {
    let cookies = Cookies::from_headers(&parts.headers);
    let object = || object(&parts.headers);
    kv::extract_pairs(&cookies.pairs, object, "cookie", Shape::QUERY).map(Cookie)
}

kv::head_extractor!(Cookie, crate::openapi::ParamIn::Cookie);
