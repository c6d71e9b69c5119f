//! Security, as FastAPI's `fastapi.security`: extractors that read credentials and answer
//! `401` with a `WWW-Authenticate` challenge when there are none, each of which also
//! describes itself for the OpenAPI document ([`SecurityScheme`]).
//!
//! | extractor | reads | answers without credentials | FastAPI |
//! | --- | --- | --- | --- |
//! | [`HttpBearer`] | `Authorization: Bearer <token>` | `WWW-Authenticate: Bearer` | `HTTPBearer` |
//! | [`HttpBasic`] | `Authorization: Basic <base64(user:password)>` | `WWW-Authenticate: Basic` (with `realm="..."` if configured) | `HTTPBasic` |
//! | [`ApiKeyHeader<K>`], [`ApiKeyQuery<K>`], [`ApiKeyCookie<K>`] | the header, query parameter or cookie [`K::NAME`](ApiKeyName::NAME) | `WWW-Authenticate: APIKey` | `APIKeyHeader`, `APIKeyQuery`, `APIKeyCookie` |
//! | [`OAuth2PasswordBearer<C>`] | `Authorization: Bearer <token>` | `WWW-Authenticate: Bearer` | `OAuth2PasswordBearer` |
//! | [`OAuth2PasswordRequestForm`] | the token endpoint's login form | `422`, as any form | `OAuth2PasswordRequestForm` |
//!
//! The 401's body is FastAPI's, `{"detail": "Not authenticated"}`, whatever is wrong:
//! no credentials, another scheme (`Basic` sent where a bearer token is expected),
//! Basic credentials that are not base64 of `user:password`. (FastAPI 0.122 moved from
//! 403 to this 401.) `Option<E>` makes any of them optional (FastAPI's
//! `auto_error=False`): `None` without credentials; Basic credentials that do not decode
//! are still a 401.
//!
//! The extractors only read credentials; checking them is the application's work, in
//! the handler or, better, in a [`Dependency`](crate::depends::Dependency) every handler
//! that needs a user asks for. Compare secrets with [`constant_time_eq`].
//!
//! Types configure the schemes: an API key's name is a type implementing [`ApiKeyName`],
//! an OAuth2 flow's token URL and scopes a type implementing [`OAuth2Config`], and
//! [`BearerConfig`] and [`BasicConfig`] (optional) set a scheme name, a description, a
//! realm. So one declaration feeds both the extraction and the docs: a handler that
//! takes a security extractor has the scheme listed in `components/securitySchemes` and
//! required in its operation's `security`. A [`Dependency`](crate::depends::Dependency)
//! that reads one says so in its `describe` with [`describe_security`], as below.
//!
//! # FastAPI's tutorial: OAuth2 with password and bearer
//!
//! The token endpoint reads the login form and answers a [`BearerToken`]; a dependency
//! turns the bearer token into the current user; Swagger UI's "Authorize" does the same
//! dance (the OpenAPI document lists [`OAuth2PasswordBearer`]'s flow). Here the token is
//! just the username, as in FastAPI's first version of the tutorial: a real application
//! signs it (a JWT) and checks the signature.
//!
//! ```
//! use corio_web::{App, HttpError};
//! use corio_web::depends::{Dependency, Depends};
//! use corio_web::extract::{FromRequestParts, Json};
//! use corio_web::http::header::WWW_AUTHENTICATE;
//! use corio_web::http::request::Parts;
//! use corio_web::openapi::OperationDoc;
//! use corio_web::security::{
//!     BearerToken, OAuth2Config, OAuth2PasswordBearer, OAuth2PasswordRequestForm,
//!     constant_time_eq, describe_security,
//! };
//! use corio_web::testing::TestClient;
//! use serde::Serialize;
//! use serde_json::{Value, json};
//!
//! /// The password flow: tokens come from `POST /token`.
//! struct Auth;
//! impl OAuth2Config for Auth {
//!     const TOKEN_URL: &'static str = "token";
//! }
//! type Token = OAuth2PasswordBearer<Auth>;
//!
//! struct StoredUser { username: &'static str, full_name: &'static str, hashed_password: &'static str, disabled: bool }
//!
//! const USERS: &[StoredUser] = &[
//!     StoredUser { username: "johndoe", full_name: "John Doe", hashed_password: "fakehashedsecret", disabled: false },
//!     StoredUser { username: "alice", full_name: "Alice Wonderson", hashed_password: "fakehashedsecret2", disabled: true },
//! ];
//!
//! fn find_user(username: &str) -> Option<&'static StoredUser> {
//!     USERS.iter().find(|user| user.username == username)
//! }
//!
//! /// Not a hash: the tutorial's stand-in for one (use argon2 or bcrypt).
//! fn fake_hash_password(password: &str) -> String {
//!     format!("fakehashed{password}")
//! }
//!
//! #[derive(Clone, Serialize, schemars::JsonSchema)]
//! struct User { username: String, full_name: String, disabled: bool }
//!
//! /// FastAPI's `get_current_user`: the user the bearer token stands for.
//! struct CurrentUser(User);
//!
//! impl<S: Send + Sync> Dependency<S> for CurrentUser {
//!     type Rejection = HttpError;
//!
//!     async fn resolve(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
//!         // No token: 401 "Not authenticated", `WWW-Authenticate: Bearer`.
//!         let token = Token::from_request_parts(parts, state).await?;
//!         let Some(user) = find_user(&token) else {
//!             return Err(HttpError::new(401, "Invalid authentication credentials")
//!                 .with_header(WWW_AUTHENTICATE, Token::challenge()));
//!         };
//!         Ok(CurrentUser(User {
//!             username: user.username.into(),
//!             full_name: user.full_name.into(),
//!             disabled: user.disabled,
//!         }))
//!     }
//!
//!     /// What `resolve` reads, for the OpenAPI document: the OAuth2 bearer token.
//!     fn describe(operation: &mut OperationDoc<'_>) {
//!         describe_security::<Token>(operation);
//!     }
//! }
//!
//! /// FastAPI's `get_current_active_user`: a dependency on the dependency.
//! struct ActiveUser(User);
//!
//! impl<S: Send + Sync> Dependency<S> for ActiveUser {
//!     type Rejection = corio_web::depends::DependencyError;
//!
//!     async fn resolve(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
//!         let Depends(user) = Depends::<CurrentUser>::from_request_parts(parts, state).await?;
//!         if user.0.disabled {
//!             return Err(HttpError::new(400, "Inactive user").into());
//!         }
//!         Ok(ActiveUser(user.0.clone()))
//!     }
//!
//!     fn describe(operation: &mut OperationDoc<'_>) {
//!         <CurrentUser as Dependency<S>>::describe(operation);
//!     }
//! }
//!
//! /// `POST /token`: the login form in, a bearer token out.
//! async fn login(form: OAuth2PasswordRequestForm) -> Result<BearerToken, HttpError> {
//!     let wrong = || HttpError::new(400, "Incorrect username or password");
//!     let user = find_user(&form.username).ok_or_else(wrong)?;
//!     let hashed = fake_hash_password(&form.password);
//!     if !constant_time_eq(hashed.as_bytes(), user.hashed_password.as_bytes()) {
//!         return Err(wrong());
//!     }
//!     Ok(BearerToken::new(user.username))
//! }
//!
//! /// `GET /users/me`.
//! async fn read_users_me(Depends(user): Depends<ActiveUser>) -> Json<User> {
//!     Json(user.0.clone())
//! }
//!
//! let app = App::new().post("/token", login).get("/users/me", read_users_me);
//!
//! // Swagger UI's "Authorize" knows the flow, and that `/users/me` needs it.
//! let spec = app.openapi();
//! assert_eq!(
//!     spec["components"]["securitySchemes"]["OAuth2PasswordBearer"],
//!     json!({"type": "oauth2", "flows": {"password": {"tokenUrl": "token", "scopes": {}}}})
//! );
//! assert_eq!(spec["paths"]["/users/me"]["get"]["security"], json!([{"OAuth2PasswordBearer": []}]));
//!
//! corio::run(async move {
//!     let client = TestClient::new(app);
//!
//!     let token: Value = client
//!         .post("/token")
//!         .form(&[("username", "johndoe"), ("password", "secret")])
//!         .send()
//!         .await
//!         .json();
//!     assert_eq!(token, json!({"access_token": "johndoe", "token_type": "bearer"}));
//!
//!     let me = client.get("/users/me").header("authorization", "Bearer johndoe").send().await;
//!     assert_eq!(me.json::<Value>(), json!({"username": "johndoe", "full_name": "John Doe", "disabled": false}));
//!
//!     let anonymous = client.get("/users/me").send().await;
//!     assert_eq!(anonymous.status(), 401);
//!     assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
//!     assert_eq!(anonymous.text(), r#"{"detail":"Not authenticated"}"#);
//!
//!     let wrong = client.post("/token").form(&[("username", "johndoe"), ("password", "guess")]).send().await;
//!     assert_eq!(wrong.status(), 400);
//!     let inactive = client.get("/users/me").header("authorization", "Bearer alice").send().await;
//!     assert_eq!(inactive.text(), r#"{"detail":"Inactive user"}"#);
//! });
//! ```
//!
//! # Not yet
//!
//! `SecurityScopes` (the scopes a route's dependencies require, gathered for the
//! dependency that checks them), OAuth2's authorization-code flow, OpenID Connect and
//! HTTP Digest.

mod api_key;
mod http_auth;
mod oauth2;
mod scheme;

pub use api_key::{ApiKeyCookie, ApiKeyHeader, ApiKeyName, ApiKeyQuery};
pub use http_auth::{
    BasicConfig, BearerConfig, DefaultScheme, HttpAuthorizationCredentials, HttpBasic,
    HttpBasicCredentials, HttpBearer,
};
pub use oauth2::{
    BearerToken, OAuth2Config, OAuth2PasswordBearer, OAuth2PasswordRequestForm,
    OAuth2PasswordRequestFormStrict,
};
pub use scheme::{SecurityScheme, describe_security};

/// Whether `a` and `b` are equal, in a time that depends on their lengths but not on where
/// they differ, so a client timing the answers cannot guess a secret byte by byte
/// (Python's `secrets.compare_digest`). Use it to check passwords, tokens and API keys.
///
/// Lengths are compared first, so a secret's length is not kept from such a client;
/// compare fixed-length digests (of the password, of the token) to hide it as well.
///
/// ```
/// use corio_web::security::constant_time_eq;
///
/// assert!(constant_time_eq(b"swordfish", b"swordfish"));
/// assert!(!constant_time_eq(b"swordfish", b"swordfisH"));
/// assert!(!constant_time_eq(b"sword", b"swordfish"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Every byte is looked at; `black_box` keeps the optimizer from stopping early
    // once the difference is known to be non-zero.
    let difference = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    difference == 0
}
