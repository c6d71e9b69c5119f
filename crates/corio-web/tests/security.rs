//! The security extractors through an application: FastAPI's answers, header by header.

use corio_web::depends::{Dependency, DependencyError, Depends};
use corio_web::extract::{FromRequestParts, Json, Query};
use corio_web::http::request::Parts;
use corio_web::response::HttpError;
use corio_web::security::{
    ApiKeyCookie, ApiKeyHeader, ApiKeyName, ApiKeyQuery, BasicConfig, BearerConfig, BearerToken,
    HttpBasic, HttpBearer, OAuth2Config, OAuth2PasswordBearer, OAuth2PasswordRequestForm,
    OAuth2PasswordRequestFormStrict, SecurityScheme, constant_time_eq,
};
use corio_web::testing::{TestClient, TestResponse};
use corio_web::{App, http};
use serde::Deserialize;
use serde_json::{Value, json};

/// Asserts FastAPI's 401: the status, the challenge and the body.
fn assert_401(response: &TestResponse, challenge: &str) {
    assert_eq!(response.status(), 401, "{}", response.text());
    assert_eq!(response.header("www-authenticate"), Some(challenge));
    assert_eq!(
        response.json::<Value>(),
        json!({"detail": "Not authenticated"})
    );
}

// ---------------------------------------------------------------------------------------
// HTTP Bearer

async fn bearer(credentials: HttpBearer) -> Json<Value> {
    Json(json!({"scheme": credentials.scheme, "credentials": credentials.credentials}))
}

async fn maybe_bearer(credentials: Option<HttpBearer>) -> Json<Value> {
    Json(json!({"credentials": credentials.map(|c| c.into_inner().credentials)}))
}

#[test]
fn bearer_reads_the_token() {
    corio::run(async {
        let client = TestClient::new(App::new().get("/me", bearer));
        let ok = client
            .get("/me")
            .header("authorization", "Bearer foobar")
            .send()
            .await;
        assert_eq!(
            ok.json::<Value>(),
            json!({"scheme": "Bearer", "credentials": "foobar"})
        );
        let lower = client
            .get("/me")
            .header("authorization", "bearer foobar")
            .send()
            .await;
        assert_eq!(lower.json::<Value>()["scheme"], "bearer");
    });
}

#[test]
fn bearer_without_a_token_is_401() {
    corio::run(async {
        let client = TestClient::new(App::new().get("/me", bearer));
        assert_401(&client.get("/me").send().await, "Bearer");
        for value in [
            "Bearer",
            "Bearer ",
            "foobar",
            "Basic notreally",
            "Basic Zm9vOmJhcg==",
        ] {
            let response = client
                .get("/me")
                .header("authorization", value)
                .send()
                .await;
            assert_401(&response, "Bearer");
        }
    });
}

#[test]
fn optional_bearer_is_none_without_a_token() {
    corio::run(async {
        let client = TestClient::new(App::new().get("/me", maybe_bearer));
        let none: Value = client.get("/me").send().await.json();
        assert_eq!(none, json!({"credentials": null}));
        let other_scheme: Value = client
            .get("/me")
            .header("authorization", "Basic Zm9vOmJhcg==")
            .send()
            .await
            .json();
        assert_eq!(other_scheme, json!({"credentials": null}));
        let some: Value = client
            .get("/me")
            .header("authorization", "Bearer abc")
            .send()
            .await
            .json();
        assert_eq!(some, json!({"credentials": "abc"}));
    });
}

// ---------------------------------------------------------------------------------------
// HTTP Basic

async fn basic(credentials: HttpBasic) -> Json<Value> {
    Json(json!({"username": credentials.username, "password": credentials.password}))
}

struct Simple;
impl BasicConfig for Simple {
    const REALM: Option<&'static str> = Some("simple");
    const DESCRIPTION: Option<&'static str> = Some("HTTP Basic with a realm");
}

async fn basic_realm(credentials: HttpBasic<Simple>) -> String {
    credentials.into_inner().username
}

async fn maybe_basic(credentials: Option<HttpBasic>) -> Json<Value> {
    match credentials {
        None => Json(json!({"msg": "Create an account first"})),
        Some(c) => Json(json!({"username": c.username, "password": c.password})),
    }
}

fn basic_app() -> App {
    App::new()
        .get("/users/me", basic)
        .get("/realm", basic_realm)
        .get("/maybe", maybe_basic)
}

#[test]
fn basic_reads_username_and_password() {
    corio::run(async {
        let client = TestClient::new(basic_app());
        // base64("john:secret")
        let ok: Value = client
            .get("/users/me")
            .header("authorization", "Basic am9objpzZWNyZXQ=")
            .send()
            .await
            .json();
        assert_eq!(ok, json!({"username": "john", "password": "secret"}));
        // base64("john:se:cret"): the password keeps its colons; UTF-8 is read.
        let colons: Value = client
            .get("/users/me")
            .header("authorization", "basic am9objpzZTpjcmV0")
            .send()
            .await
            .json();
        assert_eq!(colons["password"], "se:cret");
        // base64("jöhn:")
        let utf8: Value = client
            .get("/users/me")
            .header("authorization", "Basic asO2aG46")
            .send()
            .await
            .json();
        assert_eq!(utf8, json!({"username": "jöhn", "password": ""}));
    });
}

#[test]
fn basic_without_credentials_is_401() {
    corio::run(async {
        let client = TestClient::new(basic_app());
        assert_401(&client.get("/users/me").send().await, "Basic");
        let bearer = client
            .get("/users/me")
            .header("authorization", "Bearer abc")
            .send()
            .await;
        assert_401(&bearer, "Basic");
        assert_401(
            &client.get("/realm").send().await,
            r#"Basic realm="simple""#,
        );
    });
}

#[test]
fn basic_credentials_that_do_not_decode_are_401() {
    corio::run(async {
        let client = TestClient::new(basic_app());
        // Not base64; base64 of "johnsecret" (no colon); base64 of invalid UTF-8; nothing.
        for value in [
            "Basic notabase64token",
            "Basic am9obnNlY3JldA==",
            "Basic //79",
            "Basic",
        ] {
            let response = client
                .get("/users/me")
                .header("authorization", value)
                .send()
                .await;
            assert_401(&response, "Basic");
            let realm = client
                .get("/realm")
                .header("authorization", value)
                .send()
                .await;
            assert_401(&realm, r#"Basic realm="simple""#);
            // Optional or not: the client tried, and failed.
            let optional = client
                .get("/maybe")
                .header("authorization", value)
                .send()
                .await;
            assert_401(&optional, "Basic");
        }
    });
}

#[test]
fn optional_basic_is_none_without_credentials() {
    corio::run(async {
        let client = TestClient::new(basic_app());
        let none: Value = client.get("/maybe").send().await.json();
        assert_eq!(none, json!({"msg": "Create an account first"}));
        let bearer: Value = client
            .get("/maybe")
            .header("authorization", "Bearer abc")
            .send()
            .await
            .json();
        assert_eq!(bearer, json!({"msg": "Create an account first"}));
        let some: Value = client
            .get("/maybe")
            .header("authorization", "Basic am9objpzZWNyZXQ=")
            .send()
            .await
            .json();
        assert_eq!(some, json!({"username": "john", "password": "secret"}));
    });
}

// ---------------------------------------------------------------------------------------
// API keys

struct XApiKey;
impl ApiKeyName for XApiKey {
    const NAME: &'static str = "X-API-Key";
}

struct KeyParam;
impl ApiKeyName for KeyParam {
    const NAME: &'static str = "api_key";
    const DESCRIPTION: Option<&'static str> = Some("A key in the query");
}

struct Session;
impl ApiKeyName for Session {
    const NAME: &'static str = "session";
    const SCHEME_NAME: Option<&'static str> = Some("SessionCookie");
}

async fn header_key(key: ApiKeyHeader<XApiKey>) -> String {
    key.into_inner()
}

async fn query_key(key: ApiKeyQuery<KeyParam>) -> String {
    key.to_string()
}

async fn cookie_key(key: ApiKeyCookie<Session>) -> String {
    key.to_string()
}

async fn maybe_keys(
    header: Option<ApiKeyHeader<XApiKey>>,
    query: Option<ApiKeyQuery<KeyParam>>,
    cookie: Option<ApiKeyCookie<Session>>,
) -> Json<Value> {
    Json(json!({
        "header": header.map(ApiKeyHeader::into_inner),
        "query": query.map(ApiKeyQuery::into_inner),
        "cookie": cookie.map(ApiKeyCookie::into_inner),
    }))
}

fn key_app() -> App {
    App::new()
        .get("/header", header_key)
        .get("/query", query_key)
        .get("/cookie", cookie_key)
        .get("/maybe", maybe_keys)
}

#[test]
fn api_keys_are_read_from_header_query_and_cookie() {
    corio::run(async {
        let client = TestClient::new(key_app());
        let header = client.get("/header").header("x-api-key", "h1").send().await;
        assert_eq!(header.text(), "h1");
        let query = client.get("/query?api_key=q%201").send().await;
        assert_eq!(query.text(), "q 1");
        let repeated = client.get("/query?api_key=a&api_key=b").send().await;
        assert_eq!(repeated.text(), "b");
        let cookie = client
            .get("/cookie")
            .header("cookie", "theme=dark; session=c1")
            .send()
            .await;
        assert_eq!(cookie.text(), "c1");
    });
}

#[test]
fn missing_or_empty_api_keys_are_401() {
    corio::run(async {
        let client = TestClient::new(key_app());
        for path in ["/header", "/query", "/cookie"] {
            assert_401(&client.get(path).send().await, "APIKey");
        }
        assert_401(
            &client.get("/header").header("x-api-key", "").send().await,
            "APIKey",
        );
        assert_401(&client.get("/query?api_key=").send().await, "APIKey");
        assert_401(
            &client
                .get("/query?other=1")
                .header("x-api-key", "h1")
                .send()
                .await,
            "APIKey",
        );
        assert_401(
            &client
                .get("/cookie")
                .header("cookie", "session=")
                .send()
                .await,
            "APIKey",
        );
    });
}

#[test]
fn optional_api_keys_are_none_when_absent() {
    corio::run(async {
        let client = TestClient::new(key_app());
        let none: Value = client.get("/maybe").send().await.json();
        assert_eq!(none, json!({"header": null, "query": null, "cookie": null}));
        let all: Value = client
            .get("/maybe?api_key=q")
            .header("x-api-key", "h")
            .header("cookie", "session=c")
            .send()
            .await
            .json();
        assert_eq!(all, json!({"header": "h", "query": "q", "cookie": "c"}));
    });
}

// ---------------------------------------------------------------------------------------
// OAuth2: the form

async fn form(form: OAuth2PasswordRequestForm) -> Json<Value> {
    Json(json!({
        "grant_type": form.grant_type,
        "username": form.username,
        "password": form.password,
        "scopes": form.scopes,
        "client_id": form.client_id,
        "client_secret": form.client_secret,
    }))
}

async fn strict_form(form: OAuth2PasswordRequestFormStrict) -> Json<Value> {
    Json(json!({"grant_type": form.grant_type, "username": form.username}))
}

fn form_app() -> App {
    App::new().post("/login", form).post("/strict", strict_form)
}

#[test]
fn the_password_form_reads_every_field() {
    corio::run(async {
        let client = TestClient::new(form_app());
        let full: Value = client
            .post("/login")
            .form(&[
                ("grant_type", "password"),
                ("username", "johndoe"),
                ("password", "secret"),
                ("scope", "me  items:read\tusers"),
                ("client_id", "app"),
                ("client_secret", "shh"),
            ])
            .send()
            .await
            .json();
        assert_eq!(
            full,
            json!({
                "grant_type": "password",
                "username": "johndoe",
                "password": "secret",
                "scopes": ["me", "items:read", "users"],
                "client_id": "app",
                "client_secret": "shh",
            })
        );
        let least: Value = client
            .post("/login")
            .form(&[
                ("username", "johndoe"),
                ("password", "secret"),
                ("grant_type", ""),
            ])
            .send()
            .await
            .json();
        assert_eq!(
            least,
            json!({
                "grant_type": null,
                "username": "johndoe",
                "password": "secret",
                "scopes": [],
                "client_id": null,
                "client_secret": null,
            })
        );
    });
}

#[test]
fn missing_form_fields_are_422_at_body() {
    corio::run(async {
        let client = TestClient::new(form_app());
        let missing = client.post("/login").form(&[]).send().await;
        assert_eq!(missing.status(), 422);
        assert_eq!(
            missing.json::<Value>(),
            json!({"detail": [
                {"type": "missing", "loc": ["body", "username"], "msg": "Field required", "input": null},
                {"type": "missing", "loc": ["body", "password"], "msg": "Field required", "input": null},
            ]})
        );
        // An empty value is absent, as FastAPI reads forms.
        let empty = client
            .post("/login")
            .form(&[("username", "ann"), ("password", "")])
            .send()
            .await;
        assert_eq!(empty.status(), 422);
        assert_eq!(
            empty.json::<Value>()["detail"][0]["loc"],
            json!(["body", "password"])
        );
        // A JSON body is not a form: nothing is there.
        let json_body = client
            .post("/login")
            .json(&json!({"username": "ann", "password": "pw"}))
            .send()
            .await;
        assert_eq!(json_body.status(), 422);
        assert_eq!(
            json_body.json::<Value>()["detail"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    });
}

#[test]
fn another_grant_type_is_422() {
    corio::run(async {
        let client = TestClient::new(form_app());
        let wrong = client
            .post("/login")
            .form(&[
                ("grant_type", "client_credentials"),
                ("username", "ann"),
                ("password", "pw"),
            ])
            .send()
            .await;
        assert_eq!(wrong.status(), 422);
        assert_eq!(
            wrong.json::<Value>(),
            json!({"detail": [{
                "type": "string_pattern_mismatch",
                "loc": ["body", "grant_type"],
                "msg": "String should match pattern '^password$'",
                "input": "client_credentials",
                "ctx": {"pattern": "^password$"},
            }]})
        );
        // Not a whole-string match either.
        let longer = client
            .post("/login")
            .form(&[
                ("grant_type", "passwords"),
                ("username", "a"),
                ("password", "b"),
            ])
            .send()
            .await;
        assert_eq!(longer.status(), 422);
    });
}

#[test]
fn the_strict_form_requires_the_grant_type() {
    corio::run(async {
        let client = TestClient::new(form_app());
        let without = client
            .post("/strict")
            .form(&[("username", "ann"), ("password", "pw")])
            .send()
            .await;
        assert_eq!(without.status(), 422);
        assert_eq!(
            without.json::<Value>(),
            json!({"detail": [
                {"type": "missing", "loc": ["body", "grant_type"], "msg": "Field required", "input": null},
            ]})
        );
        let with: Value = client
            .post("/strict")
            .form(&[
                ("grant_type", "password"),
                ("username", "ann"),
                ("password", "pw"),
            ])
            .send()
            .await
            .json();
        assert_eq!(with, json!({"grant_type": "password", "username": "ann"}));
    });
}

// ---------------------------------------------------------------------------------------
// OAuth2: the whole flow, with FastAPI's `get_current_user`

struct Auth;
impl OAuth2Config for Auth {
    const TOKEN_URL: &'static str = "token";
    const SCOPES: &'static [(&'static str, &'static str)] = &[
        ("me", "Read information about the current user."),
        ("items", "Read items."),
    ];
}

type Token = OAuth2PasswordBearer<Auth>;

/// name, password, disabled
const USERS: &[(&str, &str, bool)] = &[("johndoe", "secret", false), ("alice", "secret2", true)];

/// A made-up signed token: `token-<name>`.
fn issue(name: &str) -> String {
    format!("token-{name}")
}

#[derive(Debug)]
struct CurrentUser {
    name: String,
    disabled: bool,
}

impl Dependency<()> for CurrentUser {
    type Rejection = HttpError;

    async fn resolve(parts: &mut Parts, state: &()) -> Result<Self, HttpError> {
        let token = Token::from_request_parts(parts, state).await?;
        let user = USERS
            .iter()
            .find(|(name, _, _)| constant_time_eq(issue(name).as_bytes(), token.as_bytes()))
            .ok_or_else(|| {
                HttpError::new(401, "Could not validate credentials")
                    .with_header(http::header::WWW_AUTHENTICATE, Token::challenge())
            })?;
        Ok(CurrentUser {
            name: user.0.into(),
            disabled: user.2,
        })
    }
}

struct ActiveUser(String);

impl Dependency<()> for ActiveUser {
    type Rejection = DependencyError;

    async fn resolve(parts: &mut Parts, state: &()) -> Result<Self, DependencyError> {
        let Depends(user) = Depends::<CurrentUser>::from_request_parts(parts, state).await?;
        if user.disabled {
            return Err(HttpError::new(400, "Inactive user").into());
        }
        Ok(ActiveUser(user.name.clone()))
    }
}

async fn token(form: OAuth2PasswordRequestForm) -> Result<BearerToken, HttpError> {
    let user = USERS
        .iter()
        .find(|(name, password, _)| {
            *name == form.username
                && constant_time_eq(password.as_bytes(), form.password.as_bytes())
        })
        .ok_or_else(|| HttpError::new(400, "Incorrect username or password"))?;
    Ok(BearerToken::new(issue(user.0)))
}

async fn users_me(Depends(user): Depends<ActiveUser>) -> Json<Value> {
    Json(json!({"username": user.0}))
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Page {
    #[serde(default)]
    skip: u32,
}

/// A query error and a missing token together: the 401 is the answer (a dependency's
/// HTTP error ends the request, as FastAPI's `HTTPException` does).
async fn items(Depends(user): Depends<ActiveUser>, Query(page): Query<Page>) -> String {
    format!("{} from {}", user.0, page.skip)
}

/// A page for everyone, with more for those signed in.
async fn greeting(token: Option<Token>) -> String {
    match token {
        Some(token) => format!("hello {}", &*token),
        None => "hello stranger".into(),
    }
}

fn oauth2_app() -> App {
    App::new()
        .post("/token", token)
        .get("/users/me", users_me)
        .get("/items", items)
        .get("/greeting", greeting)
}

#[test]
fn the_password_flow_end_to_end() {
    corio::run(async {
        let client = TestClient::new(oauth2_app());
        // What Swagger UI's "Authorize" posts.
        let response = client
            .post("/token")
            .form(&[
                ("grant_type", "password"),
                ("username", "johndoe"),
                ("password", "secret"),
                ("scope", "me items"),
            ])
            .send()
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.header("cache-control"), Some("no-store"));
        let issued: BearerToken = response.json();
        assert_eq!(issued.token_type, "bearer");

        let me = client
            .get("/users/me")
            .header("authorization", &format!("Bearer {}", issued.access_token))
            .send()
            .await;
        assert_eq!(me.status(), 200);
        assert_eq!(me.json::<Value>(), json!({"username": "johndoe"}));
    });
}

#[test]
fn the_flow_answers_fastapis_errors() {
    corio::run(async {
        let client = TestClient::new(oauth2_app());
        let wrong_password = client
            .post("/token")
            .form(&[("username", "johndoe"), ("password", "guess")])
            .send()
            .await;
        assert_eq!(wrong_password.status(), 400);

        assert_401(&client.get("/users/me").send().await, "Bearer");
        let basic = client
            .get("/users/me")
            .header("authorization", "Basic am9objpzZWNyZXQ=")
            .send()
            .await;
        assert_401(&basic, "Bearer");
        let empty = client
            .get("/users/me")
            .header("authorization", "Bearer")
            .send()
            .await;
        assert_401(&empty, "Bearer");

        let forged = client
            .get("/users/me")
            .header("authorization", "Bearer token-mallory")
            .send()
            .await;
        assert_eq!(forged.status(), 401);
        assert_eq!(forged.header("www-authenticate"), Some("Bearer"));
        assert_eq!(
            forged.text(),
            r#"{"detail":"Could not validate credentials"}"#
        );

        let inactive = client
            .get("/users/me")
            .header("authorization", "Bearer token-alice")
            .send()
            .await;
        assert_eq!(inactive.status(), 400);
        assert_eq!(inactive.text(), r#"{"detail":"Inactive user"}"#);

        // The 401 wins over the handler's own 422.
        assert_401(&client.get("/items?skip=x").send().await, "Bearer");
        let items = client
            .get("/items?skip=3")
            .header("authorization", "Bearer token-johndoe")
            .send()
            .await;
        assert_eq!(items.text(), "johndoe from 3");
    });
}

#[test]
fn an_optional_token_is_none_without_one() {
    corio::run(async {
        let client = TestClient::new(oauth2_app());
        assert_eq!(
            client.get("/greeting").send().await.text(),
            "hello stranger"
        );
        let basic = client
            .get("/greeting")
            .header("authorization", "Basic am9objpzZWNyZXQ=")
            .send()
            .await;
        assert_eq!(basic.text(), "hello stranger");
        let bearer = client
            .get("/greeting")
            .header("authorization", "Bearer abc")
            .send()
            .await;
        assert_eq!(bearer.text(), "hello abc");
    });
}

// ---------------------------------------------------------------------------------------
// What the OpenAPI generator reads

struct Jwt;
impl BearerConfig for Jwt {
    const SCHEME_NAME: Option<&'static str> = Some("JWT");
    const BEARER_FORMAT: Option<&'static str> = Some("JWT");
    const DESCRIPTION: Option<&'static str> = Some("A signed token");
}

struct Refreshing;
impl OAuth2Config for Refreshing {
    const TOKEN_URL: &'static str = "/auth/token";
    const REFRESH_URL: Option<&'static str> = Some("/auth/refresh");
    const SCHEME_NAME: Option<&'static str> = Some("Login");
    const DESCRIPTION: Option<&'static str> = Some("Username and password");
}

#[test]
fn schemes_describe_themselves_as_fastapi_documents_them() {
    assert_eq!(<HttpBearer>::scheme_name(), "HTTPBearer");
    assert_eq!(
        <HttpBearer>::scheme(),
        json!({"type": "http", "scheme": "bearer"})
    );
    assert_eq!(HttpBearer::<Jwt>::scheme_name(), "JWT");
    assert_eq!(
        HttpBearer::<Jwt>::scheme(),
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "A signed token"})
    );

    assert_eq!(<HttpBasic>::scheme_name(), "HTTPBasic");
    assert_eq!(
        <HttpBasic>::scheme(),
        json!({"type": "http", "scheme": "basic"})
    );
    assert_eq!(
        HttpBasic::<Simple>::scheme(),
        json!({"type": "http", "scheme": "basic", "description": "HTTP Basic with a realm"})
    );

    assert_eq!(ApiKeyHeader::<XApiKey>::scheme_name(), "APIKeyHeader");
    assert_eq!(
        ApiKeyHeader::<XApiKey>::scheme(),
        json!({"type": "apiKey", "in": "header", "name": "X-API-Key"})
    );
    assert_eq!(ApiKeyQuery::<KeyParam>::scheme_name(), "APIKeyQuery");
    assert_eq!(
        ApiKeyQuery::<KeyParam>::scheme(),
        json!({"type": "apiKey", "in": "query", "name": "api_key", "description": "A key in the query"})
    );
    assert_eq!(ApiKeyCookie::<Session>::scheme_name(), "SessionCookie");
    assert_eq!(
        ApiKeyCookie::<Session>::scheme(),
        json!({"type": "apiKey", "in": "cookie", "name": "session"})
    );

    assert_eq!(Token::scheme_name(), "OAuth2PasswordBearer");
    assert_eq!(
        Token::scheme(),
        json!({"type": "oauth2", "flows": {"password": {
            "tokenUrl": "token",
            "scopes": {"me": "Read information about the current user.", "items": "Read items."},
        }}})
    );
    assert_eq!(
        OAuth2PasswordBearer::<Refreshing>::scheme(),
        json!({"type": "oauth2", "flows": {"password": {
            "tokenUrl": "/auth/token", "refreshUrl": "/auth/refresh", "scopes": {},
        }}, "description": "Username and password"})
    );

    assert_eq!(Token::requirement(), json!({"OAuth2PasswordBearer": []}));
    assert_eq!(<Option<Token>>::requirement(), Token::requirement());
    assert_eq!(<Option<HttpBasic>>::scheme(), <HttpBasic>::scheme());
    assert!(<Option<ApiKeyHeader<XApiKey>>>::scopes().is_empty());
}

#[test]
fn the_password_form_documents_its_fields() {
    let schema = OAuth2PasswordRequestForm::request_body_schema();
    assert_eq!(schema["required"], json!(["username", "password"]));
    assert_eq!(schema["properties"]["password"]["format"], "password");
    assert_eq!(
        schema["properties"]["grant_type"]["anyOf"][0],
        json!({"type": "string", "pattern": "^password$"})
    );
    assert_eq!(schema["properties"]["scope"]["default"], "");
    let strict = OAuth2PasswordRequestFormStrict::request_body_schema();
    assert_eq!(
        strict["required"],
        json!(["grant_type", "username", "password"])
    );
    assert_eq!(strict["properties"]["grant_type"]["pattern"], "^password$");
}
