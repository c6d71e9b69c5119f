//! [`SecurityScheme`]: what a security extractor tells the OpenAPI generator, and the 401
//! every scheme answers with.

use std::borrow::Cow;

use http::{HeaderValue, header};
use serde_json::{Map, Value};

use crate::response::HttpError;

/// A security extractor's entry in the OpenAPI document.
///
/// The generator lists [`scheme`](SecurityScheme::scheme) under
/// `components.securitySchemes` keyed by [`scheme_name`](SecurityScheme::scheme_name), and
/// adds [`requirement`](SecurityScheme::requirement) to the `security` of every operation
/// that uses the extractor (directly or through a dependency), as FastAPI does. That is
/// what makes Swagger UI show its "Authorize" button and send the credentials.
///
/// `Option<T>` (FastAPI's `auto_error=False`) documents as `T`: the operation still lists
/// the scheme.
///
/// A type parameter's default applies where a type is expected, not in a path
/// expression: write `<HttpBearer>::scheme()`, not `HttpBearer::scheme()`.
///
/// ```
/// use corio_web::security::{ApiKeyHeader, ApiKeyName, HttpBearer, SecurityScheme};
/// use serde_json::json;
///
/// struct XApiKey;
/// impl ApiKeyName for XApiKey {
///     const NAME: &'static str = "X-API-Key";
/// }
///
/// assert_eq!(<HttpBearer>::scheme_name(), "HTTPBearer");
/// assert_eq!(<HttpBearer>::scheme(), json!({"type": "http", "scheme": "bearer"}));
/// assert_eq!(ApiKeyHeader::<XApiKey>::scheme_name(), "APIKeyHeader");
/// assert_eq!(
///     ApiKeyHeader::<XApiKey>::scheme(),
///     json!({"type": "apiKey", "in": "header", "name": "X-API-Key"})
/// );
/// assert_eq!(<Option<HttpBearer>>::requirement(), json!({"HTTPBearer": []}));
/// ```
pub trait SecurityScheme {
    /// The scheme's key in `components.securitySchemes` (FastAPI's `scheme_name`, by
    /// default its class name: `HTTPBearer`, `APIKeyHeader`, `OAuth2PasswordBearer`, ...).
    ///
    /// Two extractor types with the same name must describe the same scheme: the
    /// document has one entry per name.
    fn scheme_name() -> Cow<'static, str>;

    /// The OpenAPI 3.1 Security Scheme Object, e.g. `{"type": "http", "scheme": "bearer"}`.
    fn scheme() -> Value;

    /// The OAuth2 scopes an operation using this extractor requires (the value of its
    /// Security Requirement); none by default, and for every scheme that is not OAuth2.
    fn scopes() -> Vec<String> {
        Vec::new()
    }

    /// The Security Requirement Object of an operation that uses this extractor:
    /// `{scheme_name: scopes}`.
    fn requirement() -> Value {
        let mut requirement = Map::new();
        requirement.insert(
            Self::scheme_name().into_owned(),
            Value::from(Self::scopes()),
        );
        Value::Object(requirement)
    }
}

/// Documents as `T`: optional credentials are still the operation's security.
impl<T: SecurityScheme> SecurityScheme for Option<T> {
    fn scheme_name() -> Cow<'static, str> {
        T::scheme_name()
    }

    fn scheme() -> Value {
        T::scheme()
    }

    fn scopes() -> Vec<String> {
        T::scopes()
    }

    fn requirement() -> Value {
        T::requirement()
    }
}

/// The detail of every 401 the extractors answer, as FastAPI words it.
/// Writes scheme `T` as a requirement of the operation (and into
/// `components/securitySchemes`): what each security extractor's `describe` does.
pub fn describe_security<T: SecurityScheme>(operation: &mut crate::openapi::OperationDoc<'_>) {
    let scopes: Vec<Cow<'_, str>> = T::scopes().into_iter().map(Cow::Owned).collect();
    operation.security(&T::scheme_name(), T::scheme(), &scopes);
}

pub(crate) const NOT_AUTHENTICATED: &str = "Not authenticated";

/// FastAPI's `make_not_authenticated_error`: `401 {"detail": "Not authenticated"}` with
/// `WWW-Authenticate: <challenge>`.
pub(crate) fn not_authenticated(challenge: HeaderValue) -> HttpError {
    HttpError::new(401, NOT_AUTHENTICATED).with_header(header::WWW_AUTHENTICATE, challenge)
}

/// A Security Scheme Object: `fields`, then the description if there is one.
pub(crate) fn scheme_object<const N: usize>(
    fields: [(&str, Value); N],
    description: Option<&str>,
) -> Value {
    let mut object: Map<String, Value> = fields
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    if let Some(description) = description {
        object.insert("description".into(), description.into());
    }
    Value::Object(object)
}

/// `FromRequestParts` and `OptionalFromRequestParts` for a header-credentials extractor
/// `$ty<C>` (`C: $config`) that has `fn from_headers(&HeaderMap) -> Option<Self>` and
/// `fn not_authenticated() -> HttpError`: absent credentials are a 401, or `None` when
/// optional; both forms document the scheme.
macro_rules! header_credentials_extractor {
    ($ty:ident, $config:path) => {
        impl<S: Send + Sync, C: $config> $crate::extract::FromRequestParts<S> for $ty<C> {
            type Rejection = $crate::response::HttpError;

            async fn from_request_parts(
                parts: &mut http::request::Parts,
                _state: &S,
            ) -> Result<Self, $crate::response::HttpError> {
                Self::from_headers(&parts.headers).ok_or_else(Self::not_authenticated)
            }

            fn describe(operation: &mut $crate::openapi::OperationDoc<'_>) {
                $crate::security::scheme::describe_security::<Self>(operation);
            }
        }

        /// `None` without credentials of this scheme.
        impl<S: Send + Sync, C: $config> $crate::extract::OptionalFromRequestParts<S> for $ty<C> {
            type Rejection = $crate::response::HttpError;

            async fn optional_from_request_parts(
                parts: &mut http::request::Parts,
                _state: &S,
            ) -> Result<Option<Self>, $crate::response::HttpError> {
                Ok(Self::from_headers(&parts.headers))
            }

            fn describe(operation: &mut $crate::openapi::OperationDoc<'_>) {
                $crate::security::scheme::describe_security::<Self>(operation);
            }
        }
    };
}
pub(crate) use header_credentials_extractor;
