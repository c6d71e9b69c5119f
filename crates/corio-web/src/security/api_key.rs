//! API keys in a header, the query or a cookie: [`ApiKeyHeader`], [`ApiKeyQuery`],
//! [`ApiKeyCookie`] (FastAPI's `APIKeyHeader`, `APIKeyQuery`, `APIKeyCookie`).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Uri};
use serde_json::Value;

use super::scheme::{SecurityScheme, not_authenticated, scheme_object};
use crate::extract::{Cookies, FromRequestParts, OptionalFromRequestParts};
use crate::response::HttpError;

/// Names an API key: the header, query parameter or cookie it is read from, and how its
/// scheme is documented. Implement it on a type of your own and name that type:
/// `ApiKeyHeader<XApiKey>`.
///
/// ```
/// use corio_web::security::{ApiKeyName, ApiKeyQuery, SecurityScheme};
///
/// struct Key;
/// impl ApiKeyName for Key {
///     const NAME: &'static str = "api_key";
///     const SCHEME_NAME: Option<&'static str> = Some("QueryKey");
///     const DESCRIPTION: Option<&'static str> = Some("Ask us for one.");
/// }
///
/// assert_eq!(ApiKeyQuery::<Key>::scheme_name(), "QueryKey");
/// assert_eq!(
///     ApiKeyQuery::<Key>::scheme(),
///     serde_json::json!({"type": "apiKey", "in": "query", "name": "api_key",
///                        "description": "Ask us for one."})
/// );
/// ```
pub trait ApiKeyName: 'static {
    /// The header (matched case-insensitively), query parameter or cookie that holds the
    /// key.
    const NAME: &'static str;
    /// The key in `components.securitySchemes`; the extractor's FastAPI class name
    /// (`APIKeyHeader`, `APIKeyQuery`, `APIKeyCookie`) if `None`.
    const SCHEME_NAME: Option<&'static str> = None;
    /// The scheme's description in the docs.
    const DESCRIPTION: Option<&'static str> = None;
}

/// The challenge of an API key's 401. No standard names one, but a 401 must carry a
/// `WWW-Authenticate` (RFC 9110 §15.5.2); FastAPI sends this made-up `APIKey`.
const CHALLENGE: HeaderValue = HeaderValue::from_static("APIKey");

/// The value of header `name`; `HeaderMap::get` finds nothing under a name that is not a
/// valid header name.
fn from_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?;
    Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// The value of query parameter `name`: the last one if repeated, as Starlette reads it.
fn from_query(uri: &Uri, name: &str) -> Option<String> {
    let query = uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key == name)
        .last()
        .map(|(_, value)| value.into_owned())
}

/// The value of cookie `name`.
fn from_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    Cookies::from_headers(headers).get(name).map(str::to_owned)
}

macro_rules! api_key_extractor {
    (
        $(#[$meta:meta])*
        $ty:ident, $class:literal, $location:literal, |$parts:ident, $name:ident| $read:expr
    ) => {
        $(#[$meta])*
        pub struct $ty<K> {
            key: String,
            _name: PhantomData<fn() -> K>,
        }

        impl<K: ApiKeyName> $ty<K> {
            /// The key.
            pub fn into_inner(self) -> String {
                self.key
            }

            /// The challenge of its 401: `APIKey`.
            pub fn challenge() -> HeaderValue {
                CHALLENGE
            }

            /// Its 401 (FastAPI's `make_not_authenticated_error`).
            pub fn not_authenticated() -> HttpError {
                not_authenticated(CHALLENGE)
            }

            /// The key of the request whose head is `parts`; `None` if it is absent or
            /// empty.
            fn read($parts: &Parts) -> Option<$ty<K>> {
                let $name = K::NAME;
                let key: Option<String> = $read;
                key.filter(|key| !key.is_empty()).map(|key| $ty {
                    key,
                    _name: PhantomData,
                })
            }
        }

        impl<K> Deref for $ty<K> {
            type Target = str;

            fn deref(&self) -> &str {
                &self.key
            }
        }

        impl<K> Clone for $ty<K> {
            fn clone(&self) -> $ty<K> {
                $ty {
                    key: self.key.clone(),
                    _name: PhantomData,
                }
            }
        }

        /// The key itself is not shown.
        impl<K> fmt::Debug for $ty<K> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($ty)).field(&"<redacted>").finish()
            }
        }

        impl<S: Send + Sync, K: ApiKeyName> FromRequestParts<S> for $ty<K> {
            type Rejection = HttpError;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, HttpError> {
                Self::read(parts).ok_or_else(Self::not_authenticated)
            }

            fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
                super::scheme::describe_security::<Self>(operation);
            }
        }

        /// `None` when the key is absent or empty.
        impl<S: Send + Sync, K: ApiKeyName> OptionalFromRequestParts<S> for $ty<K> {
            type Rejection = HttpError;

            async fn optional_from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Option<Self>, HttpError> {
                Ok(Self::read(parts))
            }

            fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
                super::scheme::describe_security::<Self>(operation);
            }
        }

        #[doc = concat!(
            "`{\"type\": \"apiKey\", \"in\": \"", $location,
            "\", \"name\": K::NAME}`, with `description` if set."
        )]
        impl<K: ApiKeyName> SecurityScheme for $ty<K> {
            fn scheme_name() -> Cow<'static, str> {
                Cow::Borrowed(K::SCHEME_NAME.unwrap_or($class))
            }

            fn scheme() -> Value {
                scheme_object(
                    [
                        ("type", "apiKey".into()),
                        ("in", $location.into()),
                        ("name", K::NAME.into()),
                    ],
                    K::DESCRIPTION,
                )
            }
        }
    };
}

api_key_extractor! {
    /// An API key in the header [`K::NAME`](ApiKeyName::NAME) (FastAPI's `APIKeyHeader`).
    /// Derefs to the key (`&str`).
    ///
    /// Without it (or with an empty one) it answers `401 {"detail": "Not authenticated"}`
    /// with `WWW-Authenticate: APIKey`; `Option<ApiKeyHeader<K>>` is `None` instead.
    /// Checking the key is the application's work: compare it with
    /// [`constant_time_eq`](super::constant_time_eq).
    ///
    /// ```
    /// use corio_web::App;
    /// use corio_web::security::{ApiKeyHeader, ApiKeyName};
    /// use corio_web::testing::TestClient;
    ///
    /// struct XApiKey;
    /// impl ApiKeyName for XApiKey {
    ///     const NAME: &'static str = "X-API-Key";
    /// }
    ///
    /// async fn items(key: ApiKeyHeader<XApiKey>) -> String {
    ///     format!("key {}", &*key)
    /// }
    ///
    /// corio::run(async {
    ///     let client = TestClient::new(App::new().get("/items", items));
    ///     let ok = client.get("/items").header("x-api-key", "k1").send().await;
    ///     assert_eq!(ok.text(), "key k1");
    ///     let missing = client.get("/items").send().await;
    ///     assert_eq!(missing.status(), 401);
    ///     assert_eq!(missing.header("www-authenticate"), Some("APIKey"));
    /// });
    /// ```
    ApiKeyHeader, "APIKeyHeader", "header", |parts, name| from_header(&parts.headers, name)
}

api_key_extractor! {
    /// An API key in the query parameter [`K::NAME`](ApiKeyName::NAME) (FastAPI's
    /// `APIKeyQuery`); the last one if it is repeated. Derefs to the key (`&str`).
    ///
    /// Without it (or with an empty one) it answers `401 {"detail": "Not authenticated"}`
    /// with `WWW-Authenticate: APIKey`; `Option<ApiKeyQuery<K>>` is `None` instead.
    /// Keys in URLs end up in logs and browser histories: prefer a header where clients
    /// allow it.
    ApiKeyQuery, "APIKeyQuery", "query", |parts, name| from_query(&parts.uri, name)
}

api_key_extractor! {
    /// An API key in the cookie [`K::NAME`](ApiKeyName::NAME) (FastAPI's `APIKeyCookie`).
    /// Derefs to the key (`&str`).
    ///
    /// Without it (or with an empty one) it answers `401 {"detail": "Not authenticated"}`
    /// with `WWW-Authenticate: APIKey`; `Option<ApiKeyCookie<K>>` is `None` instead.
    ApiKeyCookie, "APIKeyCookie", "cookie", |parts, name| from_cookie(&parts.headers, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_header_name_finds_nothing() {
        let mut headers = HeaderMap::new();
        headers.insert("x-key", "v".parse().unwrap());
        assert_eq!(from_header(&headers, "X-Key").as_deref(), Some("v"));
        assert_eq!(from_header(&headers, "not a header name"), None);
        assert_eq!(from_header(&headers, ""), None);
    }

    #[test]
    fn the_last_query_value_wins() {
        let uri: Uri = "/?k=a&other=b&k=c%20d".parse().unwrap();
        assert_eq!(from_query(&uri, "k").as_deref(), Some("c d"));
        assert_eq!(from_query(&uri, "missing"), None);
        assert_eq!(from_query(&"/".parse().unwrap(), "k"), None);
    }
}
