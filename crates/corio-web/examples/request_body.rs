//! Request bodies, headers and cookies, as in FastAPI's tutorial: JSON bodies declared as
//! types (nested models, lists, optional fields), a body with path and query parameters in
//! one handler, several models in one body, form fields, typed and raw headers, cookies,
//! and the 422 a body that is not JSON, or misses a field, gets.
//!
//! ```text
//! cargo run -p corio-web --example request_body          # listens on 127.0.0.1:8000
//! curl -X POST 127.0.0.1:8000/items/ -H 'content-type: application/json' \
//!      -d '{"name":"Foo","price":35.4,"tax":3.2,"tags":["rock","metal"]}'
//! # {"name":"Foo","description":null,"price":35.4,"tax":3.2,"tags":["rock","metal"],
//! #  "images":null,"price_with_tax":38.6}
//! curl -X PUT '127.0.0.1:8000/items/5?q=hello' -H 'content-type: application/json' \
//!      -d '{"name":"Foo","price":1}'
//! # {"item_id":5,"q":"hello","item":{"name":"Foo","description":null,"price":1.0,...}}
//! curl -X POST 127.0.0.1:8000/items/ -H 'content-type: application/json' -d '{"name": "Foo" "price": 1}'
//! # 422: {"detail":[{"type":"json_invalid","loc":["body",15],"msg":"JSON decode error",
//! #   "input":{},"ctx":{"error":"Expecting ',' delimiter"}}]}
//! curl -X POST 127.0.0.1:8000/login/ -d 'username=ada&password=secret'
//! # {"username":"ada"}   (and set-cookie: session=...)
//! curl 127.0.0.1:8000/whoami/ -H 'x-token: foo' -H 'x-token: bar' -H 'cookie: session=s-ada'
//! # {"user_agent":"curl/7.88.1","x_token":["foo","bar"],"session":"s-ada"}
//! ```

use std::collections::HashMap;
use std::io;

use corio::signal::{SignalKind, signals};
use corio_web::App;
use corio_web::extract::{Cookie, Cookies, Form, Header, Json, Path, Query};
use corio_web::http::{HeaderMap, HeaderValue, StatusCode, header};
use corio_web::server::Server;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// 1. A JSON body: a type. Required fields, optional ones (`Option`), lists, nested models.

/// An image, nested in an item (FastAPI's "nested models").
#[derive(Deserialize, Serialize, schemars::JsonSchema)]
struct Image {
    url: String,
    name: String,
}

/// An item as clients send it.
#[derive(Deserialize, Serialize, schemars::JsonSchema)]
struct Item {
    name: String,
    /// Optional: absent or `null` is `None`.
    description: Option<String>,
    price: f64,
    tax: Option<f64>,
    /// A list with a default: absent is empty.
    #[serde(default)]
    tags: Vec<String>,
    /// An optional list of models.
    images: Option<Vec<Image>>,
}

/// `POST /items/`: the body is read, validated and handed over as an `Item`; what the
/// handler returns is serialized back.
async fn create_item(Json(item): Json<Item>) -> (StatusCode, Json<Value>) {
    let price_with_tax = item.tax.map(|tax| item.price + tax);
    let mut answer = serde_json::to_value(&item).unwrap_or_default();
    if let Some(total) = price_with_tax {
        // Rounded to cents: 35.4 + 3.2 is 38.599999999999994 in binary.
        answer["price_with_tax"] = json!((total * 100.0).round() / 100.0);
    }
    (StatusCode::CREATED, Json(answer))
}

// ---------------------------------------------------------------------------------------
// 2. Body, path and query in one handler: each argument says where it comes from.

#[derive(Deserialize, schemars::JsonSchema)]
struct UpdateQuery {
    q: Option<String>,
}

/// `PUT /items/{item_id}`.
async fn update_item(
    Path(item_id): Path<u32>,
    Query(query): Query<UpdateQuery>,
    Json(item): Json<Item>,
) -> Json<Value> {
    Json(json!({"item_id": item_id, "q": query.q, "item": item}))
}

// ---------------------------------------------------------------------------------------
// 3. Several models in one body: FastAPI's `item: Item, user: User, importance: int`,
//    which reads `{"item": {...}, "user": {...}, "importance": 5}`. Here that shape is
//    one struct, so the errors are located inside it: `["body", "user", "username"]`.

#[derive(Deserialize, Serialize, schemars::JsonSchema)]
struct User {
    username: String,
    full_name: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct ItemUpdate {
    item: Item,
    user: User,
    importance: u8,
}

/// `PUT /items/{item_id}/owner`.
async fn update_item_owner(
    Path(item_id): Path<u32>,
    Json(update): Json<ItemUpdate>,
) -> Json<Value> {
    Json(json!({
        "item_id": item_id,
        "item": update.item.name,
        "user": update.user,
        "importance": update.importance,
    }))
}

/// `POST /index-weights/`: a body that is a map (FastAPI's `dict[int, float]`): the keys
/// are JSON strings, read as integers.
async fn create_index_weights(Json(weights): Json<HashMap<u32, f64>>) -> Json<Value> {
    let total: f64 = weights.values().sum();
    Json(json!({"indexes": weights.len(), "total": total}))
}

// ---------------------------------------------------------------------------------------
// 4. Form fields: an `application/x-www-form-urlencoded` body.

#[derive(Deserialize, schemars::JsonSchema)]
struct Login {
    username: String,
    password: String,
}

/// `POST /login/`: reads a form and sets a session cookie.
async fn login(Form(form): Form<Login>) -> Result<(HeaderMap, Json<Value>), StatusCode> {
    if form.password != "secret" {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let cookie = format!("session=s-{}; HttpOnly; Path=/", form.username);
    let mut headers = HeaderMap::new();
    // A username that cannot go in a header is refused rather than mangled.
    let cookie = HeaderValue::from_str(&cookie).map_err(|_| StatusCode::BAD_REQUEST)?;
    headers.insert(header::SET_COOKIE, cookie);
    Ok((headers, Json(json!({"username": form.username}))))
}

// ---------------------------------------------------------------------------------------
// 5. Headers and cookies: typed (`Header<T>`, `Cookie<T>`), or as they came.

/// `user_agent` reads the `User-Agent` header; a `Vec` gets every value of a repeated one.
#[derive(Deserialize, schemars::JsonSchema)]
struct ClientHeaders {
    user_agent: Option<String>,
    #[serde(default)]
    x_token: Vec<String>,
}

/// The cookies this app reads.
#[derive(Deserialize, schemars::JsonSchema)]
struct Session {
    session: Option<String>,
}

/// `GET /whoami/`.
async fn whoami(
    Header(headers): Header<ClientHeaders>,
    Cookie(cookies): Cookie<Session>,
) -> Json<Value> {
    Json(json!({
        "user_agent": headers.user_agent,
        "x_token": headers.x_token,
        "session": cookies.session,
    }))
}

/// A header that must be there, and be a number.
#[derive(Deserialize, schemars::JsonSchema)]
struct Retries {
    x_retries: u8,
}

/// `GET /retries/`.
async fn retries(Header(header): Header<Retries>) -> Json<Value> {
    Json(json!({"x_retries": header.x_retries}))
}

/// `GET /raw/`: the headers and cookies as they came, for code that wants them all.
async fn raw(headers: HeaderMap, cookies: Cookies) -> Json<Value> {
    let mut names: Vec<&str> = headers.keys().map(|name| name.as_str()).collect();
    names.sort_unstable();
    let cookies: Vec<Value> = cookies.iter().map(|(k, v)| json!([k, v])).collect();
    Json(json!({"header_names": names, "cookies": cookies}))
}

/// The application: every route of this tutorial.
fn app() -> App {
    App::new()
        .post("/items/", create_item)
        .put("/items/{item_id}", update_item)
        .put("/items/{item_id}/owner", update_item_owner)
        .post("/index-weights/", create_index_weights)
        .post("/login/", login)
        .get("/whoami/", whoami)
        .get("/retries/", retries)
        .get("/raw/", raw)
}

#[corio::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into());
    let server = Server::bind(&addr).await?;
    println!("request_body: listening on http://{}", server.local_addr()?);
    let mut stop = signals([SignalKind::interrupt(), SignalKind::terminate()])?;
    server
        .serve(app())
        .with_graceful_shutdown(async move {
            stop.next().await;
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use corio_web::testing::{TestClient, TestResponse};

    /// The document at /openapi.json is valid OpenAPI 3.1 (`.ci/run` also runs the
    /// openapi-spec-validator on it).
    #[test]
    fn openapi_document_is_valid() {
        corio_web::testing::assert_valid_openapi("request_body", &app().openapi());
    }

    /// Asserts the status, then reads the body as JSON.
    fn expect(response: TestResponse, status: u16) -> Value {
        assert_eq!(response.status(), status, "{}", response.text());
        response.json()
    }

    #[test]
    fn json_bodies_with_optional_and_nested_fields() {
        corio::run(async {
            let client = TestClient::new(app());
            let sent = json!({"name": "Foo", "price": 35.4, "tax": 3.2, "tags": ["rock", "metal"]});
            let created = expect(client.post("/items/").json(&sent).send().await, 201);
            assert_eq!(
                created,
                json!({
                    "name": "Foo", "description": null, "price": 35.4, "tax": 3.2,
                    "tags": ["rock", "metal"], "images": null, "price_with_tax": 38.6
                })
            );

            let minimal = expect(
                client
                    .post("/items/")
                    .json(&json!({"name": "Bar", "price": 2}))
                    .send()
                    .await,
                201,
            );
            assert_eq!(
                minimal,
                json!({"name": "Bar", "description": null, "price": 2.0, "tax": null,
                       "tags": [], "images": null})
            );

            let nested = json!({
                "name": "Baz", "price": 1.5,
                "images": [
                    {"url": "http://example.com/baz.jpg", "name": "The Baz"},
                    {"url": "http://example.com/dave.jpg", "name": "The Dave"}
                ]
            });
            let created = expect(client.post("/items/").json(&nested).send().await, 201);
            assert_eq!(created["images"], nested["images"]);
        });
    }

    #[test]
    fn missing_and_wrong_fields_are_all_reported() {
        corio::run(async {
            let client = TestClient::new(app());
            let sent = json!({"name": "Foo"});
            assert_eq!(
                expect(client.post("/items/").json(&sent).send().await, 422),
                json!({"detail": [{
                    "type": "missing",
                    "loc": ["body", "price"],
                    "msg": "Field required",
                    "input": {"name": "Foo"}
                }]})
            );

            // Everything wrong at once, deep in lists of models too.
            let sent = json!({
                "price": "twenty",
                "tags": ["ok", 7],
                "images": [{"url": "http://a", "name": "a"}, {"name": "b"}]
            });
            assert_eq!(
                expect(client.post("/items/").json(&sent).send().await, 422),
                json!({"detail": [
                    {"type": "missing", "loc": ["body", "name"], "msg": "Field required",
                     "input": sent},
                    {"type": "float_parsing", "loc": ["body", "price"],
                     "msg": "Input should be a valid number, unable to parse string as a number",
                     "input": "twenty"},
                    {"type": "string_type", "loc": ["body", "tags", 1],
                     "msg": "Input should be a valid string", "input": 7},
                    {"type": "missing", "loc": ["body", "images", 1, "url"],
                     "msg": "Field required", "input": {"name": "b"}},
                ]})
            );
        });
    }

    #[test]
    fn bodies_that_are_not_json() {
        corio::run(async {
            let client = TestClient::new(app());
            let broken = client
                .post("/items/")
                .header("content-type", "application/json")
                .body(r#"{"name": "Foo" "price": 1}"#)
                .send()
                .await;
            // Where Python's json module stops (character 15), and why.
            assert_eq!(
                expect(broken, 422),
                json!({"detail": [{
                    "type": "json_invalid",
                    "loc": ["body", 15],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": "Expecting ',' delimiter"}
                }]})
            );

            let trailing = client
                .post("/items/")
                .header("content-type", "application/json")
                .body(r#"{"name": "Foo", "price": 1,}"#)
                .send()
                .await;
            assert_eq!(
                expect(trailing, 422),
                json!({"detail": [{
                    "type": "json_invalid",
                    "loc": ["body", 26], // at the comma, as Python 3.13 reports it
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": "Illegal trailing comma before end of object"}
                }]})
            );

            // No body at all: the body itself is missing.
            let empty = client
                .post("/items/")
                .header("content-type", "application/json")
                .send()
                .await;
            assert_eq!(
                expect(empty, 422),
                json!({"detail": [{
                    "type": "missing", "loc": ["body"], "msg": "Field required", "input": null
                }]})
            );

            // JSON sent without saying so is only text, which is not an object.
            let untyped = client
                .post("/items/")
                .body(r#"{"name": "Foo", "price": 1}"#)
                .send()
                .await;
            assert_eq!(
                expect(untyped, 422),
                json!({"detail": [{
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": "{\"name\": \"Foo\", \"price\": 1}"
                }]})
            );
        });
    }

    #[test]
    fn body_path_and_query_together() {
        corio::run(async {
            let client = TestClient::new(app());
            let updated = expect(
                client
                    .put("/items/5?q=hello")
                    .json(&json!({"name": "Foo", "price": 1}))
                    .send()
                    .await,
                200,
            );
            assert_eq!(
                updated,
                json!({"item_id": 5, "q": "hello", "item": {
                    "name": "Foo", "description": null, "price": 1.0, "tax": null,
                    "tags": [], "images": null
                }})
            );

            // One 422 for all three sources, path first, body last.
            let bad = client
                .put("/items/five")
                .json(&json!({"name": "Foo"}))
                .send()
                .await;
            assert_eq!(
                expect(bad, 422),
                json!({"detail": [
                    {"type": "int_parsing", "loc": ["path", "item_id"],
                     "msg": "Input should be a valid integer, unable to parse string as an integer",
                     "input": "five"},
                    {"type": "missing", "loc": ["body", "price"], "msg": "Field required",
                     "input": {"name": "Foo"}},
                ]})
            );
        });
    }

    #[test]
    fn several_models_in_one_body() {
        corio::run(async {
            let client = TestClient::new(app());
            let sent = json!({
                "item": {"name": "Foo", "price": 42.0},
                "user": {"username": "dave", "full_name": "Dave Grohl"},
                "importance": 5
            });
            assert_eq!(
                expect(client.put("/items/1/owner").json(&sent).send().await, 200),
                json!({"item_id": 1, "item": "Foo",
                       "user": {"username": "dave", "full_name": "Dave Grohl"},
                       "importance": 5})
            );

            let sent =
                json!({"item": {"name": "Foo", "price": 42.0}, "user": {}, "importance": 500});
            assert_eq!(
                expect(client.put("/items/1/owner").json(&sent).send().await, 422),
                json!({"detail": [
                    {"type": "missing", "loc": ["body", "user", "username"],
                     "msg": "Field required", "input": {}},
                    {"type": "less_than_equal", "loc": ["body", "importance"],
                     "msg": "Input should be less than or equal to 255", "input": 500,
                     "ctx": {"le": 255}},
                ]})
            );
        });
    }

    #[test]
    fn a_map_body_with_integer_keys() {
        corio::run(async {
            let client = TestClient::new(app());
            let sent = json!({"1": 0.5, "2": 1.5});
            assert_eq!(
                expect(client.post("/index-weights/").json(&sent).send().await, 200),
                json!({"indexes": 2, "total": 2.0})
            );
            // A bad key is located at ["body", key, "[key]"], apart from a bad value, as
            // pydantic locates it.
            let sent = json!({"one": "x"});
            let body = expect(client.post("/index-weights/").json(&sent).send().await, 422);
            assert_eq!(
                body,
                json!({"detail": [
                    {"type": "int_parsing", "loc": ["body", "one", "[key]"],
                     "msg": "Input should be a valid integer, unable to parse string as an integer",
                     "input": "one"},
                    {"type": "float_parsing", "loc": ["body", "one"],
                     "msg": "Input should be a valid number, unable to parse string as a number",
                     "input": "x"},
                ]})
            );
        });
    }

    #[test]
    fn form_fields() {
        corio::run(async {
            let client = TestClient::new(app());
            let ok = client
                .post("/login/")
                .form(&[("username", "ada"), ("password", "secret")])
                .send()
                .await;
            assert_eq!(
                ok.header("set-cookie"),
                Some("session=s-ada; HttpOnly; Path=/")
            );
            assert_eq!(expect(ok, 200), json!({"username": "ada"}));

            let wrong = client
                .post("/login/")
                .form(&[("username", "ada"), ("password", "guess")])
                .send()
                .await;
            assert_eq!(wrong.status(), 401);

            // An empty field counts as absent, as in FastAPI's forms.
            let missing = client
                .post("/login/")
                .form(&[("username", "ada"), ("password", "")])
                .send()
                .await;
            assert_eq!(
                expect(missing, 422),
                json!({"detail": [{
                    "type": "missing", "loc": ["body", "password"], "msg": "Field required",
                    "input": null
                }]})
            );
        });
    }

    #[test]
    fn typed_headers_and_cookies() {
        corio::run(async {
            let client = TestClient::new(app());
            let response = client
                .get("/whoami/")
                .header("user-agent", "testclient")
                .header("x-token", "foo")
                .header("X-Token", "bar")
                .header("cookie", "session=s-ada; theme=dark")
                .send()
                .await;
            assert_eq!(
                expect(response, 200),
                json!({"user_agent": "testclient", "x_token": ["foo", "bar"], "session": "s-ada"})
            );
            assert_eq!(
                expect(client.get("/whoami/").send().await, 200),
                json!({"user_agent": null, "x_token": [], "session": null})
            );

            // Header errors are located by the header's name, with dashes.
            assert_eq!(
                expect(client.get("/retries/").send().await, 422),
                json!({"detail": [{
                    "type": "missing", "loc": ["header", "x-retries"], "msg": "Field required",
                    "input": null
                }]})
            );
            let many = client
                .get("/retries/")
                .header("x-retries", "lots")
                .send()
                .await;
            assert_eq!(
                expect(many, 422),
                json!({"detail": [{
                    "type": "int_parsing", "loc": ["header", "x-retries"],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": "lots"
                }]})
            );
            let three = client
                .get("/retries/")
                .header("x-retries", "3")
                .send()
                .await;
            assert_eq!(expect(three, 200), json!({"x_retries": 3}));
        });
    }

    #[test]
    fn raw_headers_and_cookies() {
        corio::run(async {
            let client = TestClient::new(app());
            let response = client
                .get("/raw/")
                .header("x-one", "1")
                .header("cookie", "a=1; b=\"two\"")
                .send()
                .await;
            assert_eq!(
                expect(response, 200),
                json!({"header_names": ["cookie", "x-one"], "cookies": [["a", "1"], ["b", "two"]]})
            );
        });
    }
}
