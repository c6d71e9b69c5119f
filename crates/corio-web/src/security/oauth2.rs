//! OAuth2's password flow: [`OAuth2PasswordBearer`] reads the token,
//! [`OAuth2PasswordRequestForm`] reads the login form of the token endpoint, and
//! [`BearerToken`] is that endpoint's answer.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::http_auth::authorization;
use super::scheme::{SecurityScheme, not_authenticated};
use crate::Request;
use crate::extract::{Constrained, ExtractError, Form, FromRequest, Json, ViaRequest};
use crate::response::{HttpError, IntoResponse};
use crate::service::Response;

/// An OAuth2 password flow: where the token is obtained, which scopes exist, and how the
/// scheme is documented. Implement it on a type of your own and name that type:
/// `OAuth2PasswordBearer<Auth>`.
///
/// ```
/// use corio_web::security::{OAuth2Config, OAuth2PasswordBearer, SecurityScheme};
///
/// struct Auth;
/// impl OAuth2Config for Auth {
///     const TOKEN_URL: &'static str = "token";
///     const SCOPES: &'static [(&'static str, &'static str)] =
///         &[("me", "Read information about the current user."), ("items", "Read items.")];
/// }
///
/// assert_eq!(OAuth2PasswordBearer::<Auth>::scheme_name(), "OAuth2PasswordBearer");
/// assert_eq!(
///     OAuth2PasswordBearer::<Auth>::scheme(),
///     serde_json::json!({"type": "oauth2", "flows": {"password": {
///         "tokenUrl": "token",
///         "scopes": {"me": "Read information about the current user.", "items": "Read items."},
///     }}})
/// );
/// ```
pub trait OAuth2Config: 'static {
    /// The URL of the token endpoint, the route that reads an
    /// [`OAuth2PasswordRequestForm`] and answers a [`BearerToken`]. Swagger UI resolves a
    /// relative URL (`"token"`) against the URL of the OpenAPI document, as FastAPI's
    /// `tokenUrl="token"` is.
    const TOKEN_URL: &'static str;
    /// The scopes a client may ask for: `(name, description)`, in the order the docs
    /// show them.
    const SCOPES: &'static [(&'static str, &'static str)] = &[];
    /// Where a token is refreshed, if anywhere.
    const REFRESH_URL: Option<&'static str> = None;
    /// The key in `components.securitySchemes`; `OAuth2PasswordBearer` if `None`.
    const SCHEME_NAME: Option<&'static str> = None;
    /// The scheme's description in the docs.
    const DESCRIPTION: Option<&'static str> = None;
}

/// The bearer token of an OAuth2 password flow (FastAPI's `OAuth2PasswordBearer`): the
/// `<token>` of `Authorization: Bearer <token>`. Derefs to it (`&str`).
///
/// Without one (no header, an empty token, another scheme) it answers `401 {"detail":
/// "Not authenticated"}` with `WWW-Authenticate: Bearer`; `Option<OAuth2PasswordBearer<C>>`
/// is `None` instead. What the token means (a user, an expiry) is the application's to
/// decide, usually in a [`Dependency`](crate::depends::Dependency): see the
/// [module docs](super) for FastAPI's `get_current_user`.
///
/// Unlike [`HttpBearer`](super::HttpBearer), it documents as an OAuth2 password flow
/// ([`OAuth2Config`]), so Swagger UI's "Authorize" asks for a username and password, gets a
/// token from [`OAuth2Config::TOKEN_URL`] and sends it on every request.
pub struct OAuth2PasswordBearer<C> {
    token: String,
    _config: PhantomData<fn() -> C>,
}

impl<C: OAuth2Config> OAuth2PasswordBearer<C> {
    /// The token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The token.
    pub fn into_inner(self) -> String {
        self.token
    }

    /// The challenge of its 401: `Bearer` (OAuth2 names none; FastAPI sends this one).
    pub fn challenge() -> HeaderValue {
        HeaderValue::from_static("Bearer")
    }

    /// Its 401 (FastAPI's `make_not_authenticated_error`).
    pub fn not_authenticated() -> HttpError {
        not_authenticated(Self::challenge())
    }

    /// The token of `headers`; `None` if there is none. (FastAPI hands an empty token
    /// on, from `Authorization: Bearer`; none can be valid, so it counts as absent here.)
    fn from_headers(headers: &HeaderMap) -> Option<OAuth2PasswordBearer<C>> {
        let (scheme, token) = authorization(headers)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return None;
        }
        Some(OAuth2PasswordBearer {
            token,
            _config: PhantomData,
        })
    }
}

impl<C> Deref for OAuth2PasswordBearer<C> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.token
    }
}

impl<C> Clone for OAuth2PasswordBearer<C> {
    fn clone(&self) -> OAuth2PasswordBearer<C> {
        OAuth2PasswordBearer {
            token: self.token.clone(),
            _config: PhantomData,
        }
    }
}

/// The token itself is not shown.
impl<C> fmt::Debug for OAuth2PasswordBearer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OAuth2PasswordBearer")
            .field(&"<redacted>")
            .finish()
    }
}

super::scheme::header_credentials_extractor!(OAuth2PasswordBearer, OAuth2Config);

/// `{"type": "oauth2", "flows": {"password": {"tokenUrl", "scopes", "refreshUrl"?}}}`,
/// with `description` if set.
impl<C: OAuth2Config> SecurityScheme for OAuth2PasswordBearer<C> {
    fn scheme_name() -> Cow<'static, str> {
        Cow::Borrowed(C::SCHEME_NAME.unwrap_or("OAuth2PasswordBearer"))
    }

    fn scheme() -> Value {
        let scopes: Map<String, Value> = C::SCOPES
            .iter()
            .map(|(name, description)| ((*name).to_owned(), Value::from(*description)))
            .collect();
        let mut password = Map::new();
        password.insert("tokenUrl".into(), C::TOKEN_URL.into());
        if let Some(refresh_url) = C::REFRESH_URL {
            password.insert("refreshUrl".into(), refresh_url.into());
        }
        password.insert("scopes".into(), Value::Object(scopes));
        let mut scheme = json!({"type": "oauth2", "flows": {"password": password}});
        if let Some(description) = C::DESCRIPTION {
            scheme["description"] = description.into();
        }
        scheme
    }
}

crate::constraint! {
    /// OAuth2's only grant type for this flow (RFC 6749 §4.3.2), as FastAPI checks it.
    PasswordGrant: pattern("^password$");
}

/// The fields of the form, as FastAPI declares them.
#[derive(Deserialize, schemars::JsonSchema)]
struct LaxFields {
    grant_type: Option<Constrained<String, PasswordGrant>>,
    username: String,
    password: String,
    #[serde(default)]
    scope: String,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The same, `grant_type` required.
#[derive(Deserialize, schemars::JsonSchema)]
struct StrictFields {
    grant_type: Constrained<String, PasswordGrant>,
    username: String,
    password: String,
    #[serde(default)]
    scope: String,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The login form of an OAuth2 password flow (FastAPI's `OAuth2PasswordRequestForm`),
/// read from an `application/x-www-form-urlencoded` body, the token endpoint's body
/// extractor.
///
/// `username` and `password` are required; `grant_type` may be left out but, if sent,
/// must be `password`; `scope` is a space-separated list, read into
/// [`scopes`](Self::scopes). Errors are [`Form`]'s (FastAPI's): `422` with
/// `loc: ["body", "username"]`, `"type": "missing"`, and `string_pattern_mismatch` for
/// another `grant_type`. An empty field counts as absent.
///
/// Its `Debug` does not show the password or the client secret.
///
/// ```
/// use corio_web::App;
/// use corio_web::security::OAuth2PasswordRequestForm;
/// use corio_web::testing::TestClient;
///
/// async fn login(form: OAuth2PasswordRequestForm) -> String {
///     format!("{} asks for {:?}", form.username, form.scopes)
/// }
///
/// corio::run(async {
///     let client = TestClient::new(App::new().post("/token", login));
///     let ok = client.post("/token")
///         .form(&[("username", "ann"), ("password", "pw"), ("scope", "me items")])
///         .send().await;
///     assert_eq!(ok.text(), r#"ann asks for ["me", "items"]"#);
///     let missing = client.post("/token").form(&[("username", "ann")]).send().await;
///     assert_eq!(missing.status(), 422);
/// });
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth2PasswordRequestForm {
    /// `password` if sent; `None` if not.
    pub grant_type: Option<String>,
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
    /// The scopes asked for: the `scope` field split at whitespace.
    pub scopes: Vec<String>,
    /// The client's id, if sent in the form (OAuth2 prefers HTTP Basic for it).
    pub client_id: Option<String>,
    /// The client's secret, if sent in the form.
    pub client_secret: Option<String>,
}

impl fmt::Debug for OAuth2PasswordRequestForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2PasswordRequestForm")
            .field("grant_type", &self.grant_type)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl OAuth2PasswordRequestForm {
    /// The JSON Schema of the form, for the token endpoint's `requestBody` (content type
    /// `application/x-www-form-urlencoded`), as FastAPI documents it: `username` and
    /// `password` required, the passwords with `"format": "password"`. Without a
    /// `title`: the generator names the body.
    pub fn request_body_schema() -> Value {
        form_schema(false)
    }
}

impl<S: Send + Sync> FromRequest<S, ViaRequest> for OAuth2PasswordRequestForm {
    type Rejection = ExtractError;

    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        operation.request_body_schema(
            "application/x-www-form-urlencoded",
            OAuth2PasswordRequestForm::request_body_schema(),
        );
    }

    async fn from_request(request: Request, state: &S) -> Result<Self, ExtractError> {
        let Form(fields) = Form::<LaxFields>::from_request(request, state).await?;
        Ok(OAuth2PasswordRequestForm {
            grant_type: fields.grant_type.map(Constrained::into_inner),
            username: fields.username,
            password: fields.password,
            scopes: split_scopes(&fields.scope),
            client_id: fields.client_id,
            client_secret: fields.client_secret,
        })
    }
}

/// [`OAuth2PasswordRequestForm`] with `grant_type=password` required, as RFC 6749 has it
/// (FastAPI's `OAuth2PasswordRequestFormStrict`); a form without it is a 422 at
/// `["body", "grant_type"]`. Derefs to the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuth2PasswordRequestFormStrict(pub OAuth2PasswordRequestForm);

impl OAuth2PasswordRequestFormStrict {
    /// The form.
    pub fn into_inner(self) -> OAuth2PasswordRequestForm {
        self.0
    }

    /// The JSON Schema of the form, as
    /// [`OAuth2PasswordRequestForm::request_body_schema`], `grant_type` required.
    pub fn request_body_schema() -> Value {
        form_schema(true)
    }
}

impl Deref for OAuth2PasswordRequestFormStrict {
    type Target = OAuth2PasswordRequestForm;

    fn deref(&self) -> &OAuth2PasswordRequestForm {
        &self.0
    }
}

impl<S: Send + Sync> FromRequest<S, ViaRequest> for OAuth2PasswordRequestFormStrict {
    type Rejection = ExtractError;

    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        operation.request_body_schema(
            "application/x-www-form-urlencoded",
            OAuth2PasswordRequestFormStrict::request_body_schema(),
        );
    }

    async fn from_request(request: Request, state: &S) -> Result<Self, ExtractError> {
        let Form(fields) = Form::<StrictFields>::from_request(request, state).await?;
        Ok(OAuth2PasswordRequestFormStrict(OAuth2PasswordRequestForm {
            grant_type: Some(fields.grant_type.into_inner()),
            username: fields.username,
            password: fields.password,
            scopes: split_scopes(&fields.scope),
            client_id: fields.client_id,
            client_secret: fields.client_secret,
        }))
    }
}

fn split_scopes(scope: &str) -> Vec<String> {
    scope.split_whitespace().map(str::to_owned).collect()
}

/// The form's JSON Schema, pydantic's shape: optional fields as `anyOf` with `null`.
fn form_schema(strict: bool) -> Value {
    let password_grant = json!({"type": "string", "pattern": "^password$"});
    let grant_type = if strict {
        let mut grant_type = password_grant;
        grant_type["title"] = "Grant Type".into();
        grant_type
    } else {
        json!({"anyOf": [password_grant, {"type": "null"}], "title": "Grant Type"})
    };
    let mut required = vec!["username", "password"];
    if strict {
        required.insert(0, "grant_type");
    }
    json!({
        "type": "object",
        "properties": {
            "grant_type": grant_type,
            "username": {"type": "string", "title": "Username"},
            "password": {"type": "string", "format": "password", "title": "Password"},
            "scope": {"type": "string", "title": "Scope", "default": ""},
            "client_id": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Client Id"},
            "client_secret": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "format": "password",
                "title": "Client Secret",
            },
        },
        "required": required,
    })
}

/// A token endpoint's answer (RFC 6749 §5.1): `{"access_token": "...", "token_type":
/// "bearer"}`, the JSON Swagger UI's "Authorize" reads the token from.
///
/// As a response it is that JSON, with `Cache-Control: no-store` and `Pragma: no-cache`
/// (the RFC requires them: a token must not sit in a cache). It also deserializes, for
/// clients and tests. Its `Debug` does not show the token.
///
/// ```
/// use corio_web::response::IntoResponse;
/// use corio_web::security::BearerToken;
///
/// let response = BearerToken::new("abc").into_response();
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// corio::run(async move {
///     let body = response.into_body().to_bytes(1024).await.unwrap();
///     assert_eq!(body, r#"{"access_token":"abc","token_type":"bearer"}"#);
/// });
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BearerToken {
    /// The token the client sends back as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// `bearer`.
    pub token_type: String,
}

impl BearerToken {
    /// A bearer token.
    pub fn new(access_token: impl Into<String>) -> BearerToken {
        BearerToken {
            access_token: access_token.into(),
            token_type: "bearer".into(),
        }
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .finish()
    }
}

impl IntoResponse for BearerToken {
    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        operation.response_body::<BearerToken>("application/json");
    }

    fn into_response(self) -> Response {
        let mut response = Json(self).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}
