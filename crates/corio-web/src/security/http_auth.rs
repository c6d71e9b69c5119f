//! The `Authorization` header's schemes: [`HttpBearer`] and [`HttpBasic`] (FastAPI's
//! `HTTPBearer` and `HTTPBasic`).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use http::request::Parts;
use http::{HeaderMap, HeaderValue, header};
use serde_json::Value;

use super::scheme::{SecurityScheme, not_authenticated, scheme_object};
use crate::extract::{FromRequestParts, OptionalFromRequestParts};
use crate::response::HttpError;

/// How an [`HttpBearer`] scheme is documented. Every constant has a default; implement
/// it on a type of your own to set some, and name that type: `HttpBearer<MyBearer>`.
///
/// ```
/// use corio_web::security::{BearerConfig, HttpBearer, SecurityScheme};
///
/// struct Jwt;
/// impl BearerConfig for Jwt {
///     const BEARER_FORMAT: Option<&'static str> = Some("JWT");
/// }
///
/// assert_eq!(
///     HttpBearer::<Jwt>::scheme(),
///     serde_json::json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
/// );
/// ```
pub trait BearerConfig: 'static {
    /// The key in `components.securitySchemes`; `HTTPBearer` if `None`.
    const SCHEME_NAME: Option<&'static str> = None;
    /// A hint about the token's format, for the docs (`"JWT"`).
    const BEARER_FORMAT: Option<&'static str> = None;
    /// The scheme's description in the docs.
    const DESCRIPTION: Option<&'static str> = None;
}

/// How an [`HttpBasic`] scheme is documented, and its realm. Every constant has a default;
/// implement it on a type of your own to set some, and name that type: `HttpBasic<Admin>`.
pub trait BasicConfig: 'static {
    /// The key in `components.securitySchemes`; `HTTPBasic` if `None`.
    const SCHEME_NAME: Option<&'static str> = None;
    /// The realm sent in the challenge, `WWW-Authenticate: Basic realm="..."`; a bare
    /// `Basic` if `None`.
    const REALM: Option<&'static str> = None;
    /// The scheme's description in the docs.
    const DESCRIPTION: Option<&'static str> = None;
}

/// The defaults of [`BearerConfig`] and [`BasicConfig`]: what `HttpBearer` and
/// `HttpBasic` mean without a type parameter.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultScheme;

impl BearerConfig for DefaultScheme {}
impl BasicConfig for DefaultScheme {}

/// The `Authorization` header split at its first space: the scheme, and the rest (spaces
/// before it dropped). `None` when there is no header or it is empty.
///
/// A value that is not UTF-8 is read lossily: it can only carry credentials that no
/// check accepts, so reading it as "absent" would only change the error's cause.
pub(crate) fn authorization(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    if text.is_empty() {
        return None;
    }
    let (scheme, param) = text.split_once(' ').unwrap_or((&text, ""));
    Some((scheme.to_owned(), param.trim_start_matches(' ').to_owned()))
}

/// What an `Authorization` header carries: a scheme and its credentials, as sent
/// (`Authorization: Bearer abc` is `{scheme: "Bearer", credentials: "abc"}`). FastAPI's
/// `HTTPAuthorizationCredentials`.
///
/// Its `Debug` does not show the credentials, so logging it leaks nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpAuthorizationCredentials {
    /// The scheme, as the client spelled it (`Bearer`, `bearer`, ...).
    pub scheme: String,
    /// Everything after the scheme: the token.
    pub credentials: String,
}

impl fmt::Debug for HttpAuthorizationCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpAuthorizationCredentials")
            .field("scheme", &self.scheme)
            .field("credentials", &"<redacted>")
            .finish()
    }
}

/// The bearer credentials of `headers`, or `None` if there are none (no header, no
/// token, another scheme).
fn bearer(headers: &HeaderMap) -> Option<HttpAuthorizationCredentials> {
    let (scheme, credentials) = authorization(headers)?;
    if scheme.is_empty() || credentials.is_empty() || !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    Some(HttpAuthorizationCredentials {
        scheme,
        credentials,
    })
}

/// HTTP Bearer authentication (FastAPI's `HTTPBearer`): the credentials of an
/// `Authorization: Bearer <token>` header. Derefs to [`HttpAuthorizationCredentials`].
///
/// A request without them (no header, no token, another scheme such as `Basic`) is
/// answered `401 {"detail": "Not authenticated"}` with `WWW-Authenticate: Bearer`.
/// `Option<HttpBearer>` is `None` instead (FastAPI's `auto_error=False`).
///
/// Checking the token is the application's work, usually in a
/// [`Dependency`](crate::depends::Dependency); compare secrets with
/// [`constant_time_eq`](super::constant_time_eq). `C` sets how the scheme is documented
/// ([`BearerConfig`]).
///
/// ```
/// use corio_web::App;
/// use corio_web::security::HttpBearer;
/// use corio_web::testing::TestClient;
///
/// async fn me(bearer: HttpBearer) -> String {
///     format!("{} {}", bearer.scheme, bearer.credentials)
/// }
///
/// corio::run(async {
///     let client = TestClient::new(App::new().get("/me", me));
///     let ok = client.get("/me").header("authorization", "Bearer abc").send().await;
///     assert_eq!(ok.text(), "Bearer abc");
///     let missing = client.get("/me").send().await;
///     assert_eq!(missing.status(), 401);
///     assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
///     assert_eq!(missing.text(), r#"{"detail":"Not authenticated"}"#);
/// });
/// ```
pub struct HttpBearer<C = DefaultScheme> {
    credentials: HttpAuthorizationCredentials,
    _config: PhantomData<fn() -> C>,
}

impl<C: BearerConfig> HttpBearer<C> {
    /// The credentials.
    pub fn into_inner(self) -> HttpAuthorizationCredentials {
        self.credentials
    }

    /// The challenge of its 401: `Bearer`.
    pub fn challenge() -> HeaderValue {
        HeaderValue::from_static("Bearer")
    }

    /// Its 401 (FastAPI's `make_not_authenticated_error`).
    pub fn not_authenticated() -> HttpError {
        not_authenticated(Self::challenge())
    }

    fn from_headers(headers: &HeaderMap) -> Option<HttpBearer<C>> {
        bearer(headers).map(|credentials| HttpBearer {
            credentials,
            _config: PhantomData,
        })
    }
}

impl<C> Deref for HttpBearer<C> {
    type Target = HttpAuthorizationCredentials;

    fn deref(&self) -> &HttpAuthorizationCredentials {
        &self.credentials
    }
}

impl<C> Clone for HttpBearer<C> {
    fn clone(&self) -> HttpBearer<C> {
        HttpBearer {
            credentials: self.credentials.clone(),
            _config: PhantomData,
        }
    }
}

impl<C> fmt::Debug for HttpBearer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HttpBearer")
            .field(&self.credentials)
            .finish()
    }
}

super::scheme::header_credentials_extractor!(HttpBearer, BearerConfig);

/// `{"type": "http", "scheme": "bearer"}`, with `bearerFormat` and `description` if set.
impl<C: BearerConfig> SecurityScheme for HttpBearer<C> {
    fn scheme_name() -> Cow<'static, str> {
        Cow::Borrowed(C::SCHEME_NAME.unwrap_or("HTTPBearer"))
    }

    fn scheme() -> Value {
        let mut scheme =
            scheme_object([("type", "http".into()), ("scheme", "bearer".into())], None);
        if let Some(format) = C::BEARER_FORMAT {
            scheme["bearerFormat"] = format.into();
        }
        if let Some(description) = C::DESCRIPTION {
            scheme["description"] = description.into();
        }
        scheme
    }
}

/// A username and password from an `Authorization: Basic` header (FastAPI's
/// `HTTPBasicCredentials`).
///
/// Its `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpBasicCredentials {
    /// Everything before the first `:`.
    pub username: String,
    /// Everything after it (it may hold more colons).
    pub password: String,
}

impl fmt::Debug for HttpBasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpBasicCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What the `Authorization` header holds for HTTP Basic.
enum Basic {
    /// No header, or another scheme.
    Absent,
    /// `Basic` with something that is not base64 of UTF-8 `user:password`.
    Invalid,
    Credentials(HttpBasicCredentials),
}

fn basic(headers: &HeaderMap) -> Basic {
    let Some((scheme, param)) = authorization(headers) else {
        return Basic::Absent;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Basic::Absent;
    }
    let Some(decoded) = decode_base64(param.trim_end_matches(' ').as_bytes()) else {
        return Basic::Invalid;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return Basic::Invalid;
    };
    match decoded.split_once(':') {
        Some((username, password)) => Basic::Credentials(HttpBasicCredentials {
            username: username.to_owned(),
            password: password.to_owned(),
        }),
        None => Basic::Invalid,
    }
}

/// Decodes standard, padded base64 (RFC 4648 §4, as Python's `b64decode`, but strict:
/// any byte outside the alphabet fails rather than being skipped). `None` if it is not
/// base64.
fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    fn sextet(byte: u8) -> Option<u32> {
        Some(match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }

    if !input.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let quads = input.len() / 4;
    for (i, quad) in input.chunks_exact(4).enumerate() {
        // Padding only at the very end: `xx==` or `xxx=`.
        let padding = match quad {
            [_, _, b'=', b'='] => 2,
            [_, _, _, b'='] => 1,
            _ => 0,
        };
        if padding > 0 && i + 1 != quads {
            return None;
        }
        let mut bits = 0u32;
        for &byte in &quad[..4 - padding] {
            bits = (bits << 6) | sextet(byte)?;
        }
        bits <<= 6 * padding as u32;
        let bytes = [(bits >> 16) as u8, (bits >> 8) as u8, bits as u8];
        out.extend_from_slice(&bytes[..3 - padding]);
    }
    Some(out)
}

/// HTTP Basic authentication (FastAPI's `HTTPBasic`): the username and password of an
/// `Authorization: Basic <base64(user:password)>` header. Derefs to
/// [`HttpBasicCredentials`].
///
/// Without such a header (none, or another scheme), it answers `401 {"detail": "Not
/// authenticated"}` with `WWW-Authenticate: Basic` (`Basic realm="..."` if
/// [`BasicConfig::REALM`] is set), so a browser asks for a password; `Option<HttpBasic>`
/// is `None` instead. Credentials that are not base64 of UTF-8 `user:password` get the
/// same 401 even with `Option`: the client tried and failed, as in FastAPI.
///
/// Checking the password is the application's work: compare it with
/// [`constant_time_eq`](super::constant_time_eq), so the time an answer takes does not
/// tell how much of a guess was right (FastAPI's advice: `secrets.compare_digest`).
///
/// ```
/// use corio_web::{App, HttpError};
/// use corio_web::security::{BasicConfig, HttpBasic, constant_time_eq};
/// use corio_web::testing::TestClient;
///
/// struct Admin;
/// impl BasicConfig for Admin {
///     const REALM: Option<&'static str> = Some("admin");
/// }
///
/// async fn whoami(credentials: HttpBasic<Admin>) -> Result<String, HttpError> {
///     let user_ok = constant_time_eq(credentials.username.as_bytes(), b"stanley");
///     let password_ok = constant_time_eq(credentials.password.as_bytes(), b"swordfish");
///     if !(user_ok && password_ok) {
///         return Err(HttpError::new(401, "Incorrect username or password")
///             .with_header(corio_web::http::header::WWW_AUTHENTICATE, HttpBasic::<Admin>::challenge()));
///     }
///     Ok(credentials.username.clone())
/// }
///
/// corio::run(async {
///     let client = TestClient::new(App::new().get("/whoami", whoami));
///     // base64("stanley:swordfish")
///     let ok = client.get("/whoami").header("authorization", "Basic c3RhbmxleTpzd29yZGZpc2g=").send().await;
///     assert_eq!(ok.text(), "stanley");
///     let missing = client.get("/whoami").send().await;
///     assert_eq!(missing.status(), 401);
///     assert_eq!(missing.header("www-authenticate"), Some(r#"Basic realm="admin""#));
/// });
/// ```
pub struct HttpBasic<C = DefaultScheme> {
    credentials: HttpBasicCredentials,
    _config: PhantomData<fn() -> C>,
}

impl<C: BasicConfig> HttpBasic<C> {
    /// The credentials.
    pub fn into_inner(self) -> HttpBasicCredentials {
        self.credentials
    }

    /// The challenge of its 401: `Basic`, or `Basic realm="<realm>"`. A realm that
    /// cannot be sent in a header (a control character) is left out, and logged.
    pub fn challenge() -> HeaderValue {
        let Some(realm) = C::REALM else {
            return HeaderValue::from_static("Basic");
        };
        // A quoted-string: `"` and `\` escaped.
        let mut value = String::with_capacity(realm.len() + 14);
        value.push_str("Basic realm=\"");
        for c in realm.chars() {
            if c == '"' || c == '\\' {
                value.push('\\');
            }
            value.push(c);
        }
        value.push('"');
        HeaderValue::from_str(&value).unwrap_or_else(|_| {
            tracing::error!(realm, "an HTTP Basic realm that cannot be sent in a header");
            HeaderValue::from_static("Basic")
        })
    }

    /// Its 401 (FastAPI's `make_not_authenticated_error`).
    pub fn not_authenticated() -> HttpError {
        not_authenticated(Self::challenge())
    }

    fn from_headers(headers: &HeaderMap) -> Result<Option<HttpBasic<C>>, HttpError> {
        match basic(headers) {
            Basic::Absent => Ok(None),
            Basic::Invalid => Err(Self::not_authenticated()),
            Basic::Credentials(credentials) => Ok(Some(HttpBasic {
                credentials,
                _config: PhantomData,
            })),
        }
    }
}

impl<C> Deref for HttpBasic<C> {
    type Target = HttpBasicCredentials;

    fn deref(&self) -> &HttpBasicCredentials {
        &self.credentials
    }
}

impl<C> Clone for HttpBasic<C> {
    fn clone(&self) -> HttpBasic<C> {
        HttpBasic {
            credentials: self.credentials.clone(),
            _config: PhantomData,
        }
    }
}

impl<C> fmt::Debug for HttpBasic<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HttpBasic").field(&self.credentials).finish()
    }
}

impl<S: Send + Sync, C: BasicConfig> FromRequestParts<S> for HttpBasic<C> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, HttpError> {
        Self::from_headers(&parts.headers)?.ok_or_else(Self::not_authenticated)
    }

    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        super::scheme::describe_security::<Self>(operation);
    }
}

/// `None` without Basic credentials; still a 401 for Basic credentials that do not decode.
impl<S: Send + Sync, C: BasicConfig> OptionalFromRequestParts<S> for HttpBasic<C> {
    type Rejection = HttpError;

    async fn optional_from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, HttpError> {
        Self::from_headers(&parts.headers)
    }

    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        super::scheme::describe_security::<Self>(operation);
    }
}

/// `{"type": "http", "scheme": "basic"}`, with `description` if set.
impl<C: BasicConfig> SecurityScheme for HttpBasic<C> {
    fn scheme_name() -> Cow<'static, str> {
        Cow::Borrowed(C::SCHEME_NAME.unwrap_or("HTTPBasic"))
    }

    fn scheme() -> Value {
        scheme_object(
            [("type", "http".into()), ("scheme", "basic".into())],
            C::DESCRIPTION,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, authorization.parse().unwrap());
        headers
    }

    #[test]
    fn base64_decodes_padded_input_only() {
        assert_eq!(decode_base64(b"").unwrap(), b"");
        assert_eq!(decode_base64(b"Zg==").unwrap(), b"f");
        assert_eq!(decode_base64(b"Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64(b"Zm9v").unwrap(), b"foo");
        assert_eq!(decode_base64(b"Zm9vYg==").unwrap(), b"foob");
        assert_eq!(decode_base64(b"+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        for bad in [
            &b"Zg"[..],
            b"Zg=",
            b"Z===",
            b"Zg==Zg==",
            b"Zm9v!A==",
            b"notabase64token",
            b"\xff\xff\xff\xff",
        ] {
            assert_eq!(decode_base64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_authorization_header_splits_at_its_first_space() {
        let split = |value: &str| authorization(&headers(value));
        assert_eq!(split("Bearer abc"), Some(("Bearer".into(), "abc".into())));
        assert_eq!(split("Bearer   a b"), Some(("Bearer".into(), "a b".into())));
        assert_eq!(split("Bearer"), Some(("Bearer".into(), "".into())));
        assert_eq!(authorization(&HeaderMap::new()), None);
        assert!(bearer(&headers("Bearer")).is_none());
        assert!(bearer(&headers("Basic abc")).is_none());
        assert_eq!(bearer(&headers("bearer abc")).unwrap().scheme, "bearer");
    }

    #[test]
    fn basic_needs_a_colon_and_utf8() {
        let read = |value: &str| match basic(&headers(value)) {
            Basic::Absent => "absent".to_owned(),
            Basic::Invalid => "invalid".to_owned(),
            Basic::Credentials(c) => format!("{}|{}", c.username, c.password),
        };
        assert_eq!(read("Basic am9objpzZWNyZXQ="), "john|secret");
        assert_eq!(read("basic am9objpzZTpjcmV0"), "john|se:cret");
        assert_eq!(read("Basic Og=="), "|");
        assert_eq!(read("Basic am9obnNlY3JldA=="), "invalid"); // johnsecret
        assert_eq!(read("Basic //79"), "invalid"); // not UTF-8
        assert_eq!(read("Basic"), "invalid");
        assert_eq!(read("Bearer am9objpzZWNyZXQ="), "absent");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let basic = HttpBasicCredentials {
            username: "john".into(),
            password: "hunter2".into(),
        };
        let bearer = HttpAuthorizationCredentials {
            scheme: "Bearer".into(),
            credentials: "s3cr3t".into(),
        };
        let shown = format!("{basic:?} {bearer:?}");
        assert!(shown.contains("john") && !shown.contains("hunter2"));
        assert!(!shown.contains("s3cr3t"));
    }

    #[test]
    fn a_realm_is_quoted() {
        struct Odd;
        impl BasicConfig for Odd {
            const REALM: Option<&'static str> = Some(r#"a "b" \c"#);
        }
        struct Broken;
        impl BasicConfig for Broken {
            const REALM: Option<&'static str> = Some("a\nb");
        }
        assert_eq!(
            HttpBasic::<Odd>::challenge(),
            r#"Basic realm="a \"b\" \\c""#
        );
        assert_eq!(HttpBasic::<Broken>::challenge(), "Basic");
        assert_eq!(HttpBasic::<DefaultScheme>::challenge(), "Basic");
    }
}
