//! Path and query parameters, as in FastAPI's tutorial: typed path parameters (numbers,
//! strings, a fixed set of values, whole paths), query parameters that are required,
//! optional, defaulted, repeated or booleans, and constraints declared on the types, with
//! the 422 each bad value gets.
//!
//! ```text
//! cargo run -p corio-web --example path_and_query          # listens on 127.0.0.1:8000
//! curl 127.0.0.1:8000/items/42
//! # {"item_id":42,"q":null,"description":"This is an amazing item that has a long description"}
//! curl '127.0.0.1:8000/items/42?q=hi&short=yes'
//! # {"item_id":42,"q":"hi"}
//! curl 127.0.0.1:8000/models/lenet
//! # {"model_name":"lenet","message":"LeCNN all the images"}
//! curl 127.0.0.1:8000/models/vgg
//! # 422: {"detail":[{"type":"enum","loc":["path","model_name"],
//! #   "msg":"Input should be 'alexnet', 'resnet' or 'lenet'","input":"vgg",
//! #   "ctx":{"expected":"'alexnet', 'resnet' or 'lenet'"}}]}
//! curl 127.0.0.1:8000/files/home/johndoe/myfile.txt
//! # {"file_path":"home/johndoe/myfile.txt"}
//! curl '127.0.0.1:8000/items/?skip=1'
//! # [{"item_name":"Bar"},{"item_name":"Baz"}]
//! curl '127.0.0.1:8000/tags/?tag=rust&tag=web'
//! # {"tags":["rust","web"]}
//! curl '127.0.0.1:8000/search/?q=no'
//! # 422: {"detail":[{"type":"string_too_short","loc":["query","q"],
//! #   "msg":"String should have at least 3 characters","input":"no","ctx":{"min_length":3}}]}
//! curl '127.0.0.1:8000/measures/0?size=2.5'
//! # 422: {"detail":[{"type":"greater_than_equal","loc":["path","item_id"],
//! #   "msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}}]}
//! ```

use std::io;

use corio::signal::{SignalKind, signals};
use corio_web::App;
use corio_web::extract::{
    Between, Constrained, ErrorKind, Json, Length, Path, Query, Validate, Validated,
    ValidationErrors,
};
use corio_web::server::Server;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// 1. Path parameters: their type is declared, and the value is parsed into it.

/// `GET /items/{item_id}` reads an integer; the query after it is optional (`q`) or
/// defaulted (`short`, a boolean: `1`, `true`, `on`, `yes` and their opposites).
#[derive(Deserialize, schemars::JsonSchema)]
struct ItemQuery {
    q: Option<String>,
    #[serde(default)]
    short: bool,
}

async fn read_item(Path(item_id): Path<i64>, Query(query): Query<ItemQuery>) -> Json<Value> {
    let mut item = json!({"item_id": item_id, "q": query.q});
    if !query.short {
        item["description"] = "This is an amazing item that has a long description".into();
    }
    Json(item)
}

/// `GET /users/me`: a fixed path wins over `/users/{user_id}`, whatever the order the
/// routes were added in (FastAPI needs them declared in this order; the radix tree does
/// not).
async fn read_user_me() -> Json<Value> {
    Json(json!({"user_id": "the current user"}))
}

/// `GET /users/{user_id}`: a string parameter takes any segment, percent-decoded.
async fn read_user(Path(user_id): Path<String>) -> Json<Value> {
    Json(json!({"user_id": user_id}))
}

/// A parameter with a fixed set of values: FastAPI's `Enum`, here a serde enum. Any other
/// value is a 422 `enum` listing the allowed ones.
#[derive(Clone, Copy, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum ModelName {
    Alexnet,
    Resnet,
    Lenet,
}

/// `GET /models/{model_name}`.
async fn get_model(Path(model_name): Path<ModelName>) -> Json<Value> {
    let message = match model_name {
        ModelName::Alexnet => "Deep Learning FTW!",
        ModelName::Lenet => "LeCNN all the images",
        ModelName::Resnet => "Have some residuals",
    };
    Json(json!({"model_name": model_name, "message": message}))
}

/// `GET /files/{file_path:path}`: a parameter that takes the rest of the path, slashes
/// and all (FastAPI's `:path` converter).
async fn read_file(Path(file_path): Path<String>) -> Json<Value> {
    Json(json!({"file_path": file_path}))
}

// ---------------------------------------------------------------------------------------
// 2. Query parameters: every field of the struct is one, and serde says which are needed.

const FAKE_ITEMS_DB: [&str; 3] = ["Foo", "Bar", "Baz"];

/// Defaults make parameters optional: `?skip=0&limit=10` when absent.
#[derive(Deserialize, schemars::JsonSchema)]
struct Page {
    #[serde(default)]
    skip: usize,
    #[serde(default = "ten")]
    limit: usize,
}

fn ten() -> usize {
    10
}

/// `GET /items/`.
async fn list_items(Query(page): Query<Page>) -> Json<Value> {
    let items: Vec<Value> = FAKE_ITEMS_DB
        .iter()
        .skip(page.skip)
        .take(page.limit)
        .map(|name| json!({"item_name": name}))
        .collect();
    Json(Value::Array(items))
}

/// FastAPI's `read_user_item`: `needy` has no default, so it is required; `limit` is
/// optional with no default at all.
#[derive(Deserialize, schemars::JsonSchema)]
struct NeedyQuery {
    needy: String,
    #[serde(default)]
    skip: u32,
    limit: Option<u32>,
}

/// `GET /items/{item_id}/needy`: path and query together.
async fn read_user_item(
    Path(item_id): Path<String>,
    Query(query): Query<NeedyQuery>,
) -> Json<Value> {
    Json(json!({
        "item_id": item_id,
        "needy": query.needy,
        "skip": query.skip,
        "limit": query.limit,
    }))
}

/// A repeated key (`?tag=a&tag=b`) fills a `Vec`; absent, the default is empty.
#[derive(Deserialize, schemars::JsonSchema)]
struct Tags {
    #[serde(default)]
    tag: Vec<String>,
}

/// `GET /tags/`.
async fn read_tags(Query(tags): Query<Tags>) -> Json<Value> {
    Json(json!({"tags": tags.tag}))
}

// ---------------------------------------------------------------------------------------
// 3. Constraints: declared on the type (FastAPI's `Query(min_length=3)`, `Path(ge=1)`), so
//    validation and the 422 (and the OpenAPI schema, which can ask the type for them) read
//    the same declaration.

corio_web::constraint! {
    /// Search text: 3 to 50 word characters or spaces.
    SearchText: min_length(3), max_length(50), pattern("^[\\w ]+$");
    /// A size: strictly between 0 and 10.5.
    Size: gt(0), lt(10.5);
}

/// An optional `q`: absent is fine; present, it must meet `SearchText`.
#[derive(Deserialize, schemars::JsonSchema)]
struct Search {
    q: Option<Constrained<String, SearchText>>,
    /// Repeated `id`s, each from 1 to 1000.
    #[serde(default)]
    id: Vec<Constrained<u32, Between<1, 1000>>>,
}

/// `GET /search/`.
async fn search(Query(search): Query<Search>) -> Json<Value> {
    let ids: Vec<u32> = search.id.iter().map(|id| **id).collect();
    Json(json!({"q": search.q.as_deref(), "ids": ids}))
}

/// `?size=` is required, and constrained.
#[derive(Deserialize, schemars::JsonSchema)]
struct Measure {
    size: Constrained<f64, Size>,
}

/// `GET /measures/{item_id}`: a constrained path parameter (`Path(ge=1, le=1000)`) and a
/// constrained float query parameter (`Query(gt=0, lt=10.5)`).
async fn read_measure(
    Path(item_id): Path<Constrained<i64, Between<1, 1000>>>,
    Query(measure): Query<Measure>,
) -> Json<Value> {
    Json(json!({"item_id": *item_id, "size": *measure.size}))
}

/// A list of one to three values (`Query(min_length=1, max_length=3)` on a list).
#[derive(Deserialize, schemars::JsonSchema)]
struct Colors {
    color: Constrained<Vec<String>, Length<1, 3>>,
}

/// `GET /palette/`.
async fn palette(Query(colors): Query<Colors>) -> Json<Value> {
    Json(json!({"colors": *colors.color}))
}

/// A rule about two values together is not a constraint: it goes in a `Validate` impl
/// (pydantic's model validator), and reports like one.
#[derive(Deserialize, schemars::JsonSchema)]
struct Range {
    start: u32,
    end: u32,
}

impl Validate for Range {
    fn validate(&self, errors: &mut ValidationErrors) {
        if self.end < self.start {
            errors.add(
                ["end"],
                ErrorKind::value_error("end must not be before start"),
                self.end.into(),
            );
        }
    }
}

/// `GET /range/`.
async fn read_range(Query(range): Query<Validated<Range>>) -> Json<Value> {
    Json(json!({"start": range.start, "end": range.end, "len": range.end - range.start}))
}

/// The application: every route of this tutorial.
fn app() -> App {
    App::new()
        .get("/items/", list_items)
        .get("/items/{item_id}", read_item)
        .get("/items/{item_id}/needy", read_user_item)
        .get("/users/{user_id}", read_user)
        .get("/users/me", read_user_me)
        .get("/models/{model_name}", get_model)
        .get("/files/{file_path:path}", read_file)
        .get("/tags/", read_tags)
        .get("/search/", search)
        .get("/measures/{item_id}", read_measure)
        .get("/palette/", palette)
        .get("/range/", read_range)
}

#[corio::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into());
    let server = Server::bind(&addr).await?;
    println!(
        "path_and_query: listening on http://{}",
        server.local_addr()?
    );
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
    use corio_web::testing::TestClient;

    /// The document at /openapi.json is valid OpenAPI 3.1 (`.ci/run` also runs the
    /// openapi-spec-validator on it).
    #[test]
    fn openapi_document_is_valid() {
        corio_web::testing::assert_valid_openapi("path_and_query", &app().openapi());
    }

    /// `GET uri`, expecting `status`; the body as JSON.
    async fn get(client: &TestClient, uri: &str, status: u16) -> Value {
        let response = client.get(uri).send().await;
        assert_eq!(response.status(), status, "{uri}: {}", response.text());
        response.json()
    }

    #[test]
    fn path_parameters_are_typed() {
        corio::run(async {
            let client = TestClient::new(app());
            assert_eq!(
                get(&client, "/items/42", 200).await,
                json!({
                    "item_id": 42,
                    "q": null,
                    "description": "This is an amazing item that has a long description"
                })
            );
            assert_eq!(
                get(&client, "/items/foo", 422).await,
                json!({"detail": [{
                    "type": "int_parsing",
                    "loc": ["path", "item_id"],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": "foo"
                }]})
            );
            // A float is not an integer either, even in a path.
            let body = get(&client, "/items/4.2", 422).await;
            assert_eq!(body["detail"][0]["type"], "int_parsing");
            assert_eq!(body["detail"][0]["input"], "4.2");

            assert_eq!(
                get(&client, "/users/me", 200).await,
                json!({"user_id": "the current user"})
            );
            assert_eq!(
                get(&client, "/users/ada%20lovelace", 200).await,
                json!({"user_id": "ada lovelace"})
            );

            assert_eq!(
                get(&client, "/files/home/johndoe/myfile.txt", 200).await,
                json!({"file_path": "home/johndoe/myfile.txt"})
            );
        });
    }

    #[test]
    fn enum_parameters_accept_only_their_values() {
        corio::run(async {
            let client = TestClient::new(app());
            assert_eq!(
                get(&client, "/models/alexnet", 200).await,
                json!({"model_name": "alexnet", "message": "Deep Learning FTW!"})
            );
            assert_eq!(
                get(&client, "/models/lenet", 200).await,
                json!({"model_name": "lenet", "message": "LeCNN all the images"})
            );
            assert_eq!(
                get(&client, "/models/vgg", 422).await,
                json!({"detail": [{
                    "type": "enum",
                    "loc": ["path", "model_name"],
                    "msg": "Input should be 'alexnet', 'resnet' or 'lenet'",
                    "input": "vgg",
                    "ctx": {"expected": "'alexnet', 'resnet' or 'lenet'"}
                }]})
            );
        });
    }

    #[test]
    fn query_parameters_optional_defaulted_and_boolean() {
        corio::run(async {
            let client = TestClient::new(app());
            assert_eq!(
                get(&client, "/items/", 200).await,
                json!([{"item_name": "Foo"}, {"item_name": "Bar"}, {"item_name": "Baz"}])
            );
            assert_eq!(
                get(&client, "/items/?skip=1&limit=1", 200).await,
                json!([{"item_name": "Bar"}])
            );

            // Every spelling pydantic reads as a boolean.
            for yes in ["1", "true", "True", "on", "yes", "y"] {
                let uri = format!("/items/7?q=hi&short={yes}");
                assert_eq!(
                    get(&client, &uri, 200).await,
                    json!({"item_id": 7, "q": "hi"})
                );
            }
            let long = get(&client, "/items/7?short=off", 200).await;
            assert!(long.get("description").is_some());
            assert_eq!(
                get(&client, "/items/7?short=maybe", 422).await,
                json!({"detail": [{
                    "type": "bool_parsing",
                    "loc": ["query", "short"],
                    "msg": "Input should be a valid boolean, unable to interpret input",
                    "input": "maybe"
                }]})
            );
        });
    }

    #[test]
    fn required_query_parameters_and_every_error_at_once() {
        corio::run(async {
            let client = TestClient::new(app());
            assert_eq!(
                get(&client, "/items/foo-item/needy?needy=sooooneedy", 200).await,
                json!({"item_id": "foo-item", "needy": "sooooneedy", "skip": 0, "limit": null})
            );
            assert_eq!(
                get(&client, "/items/foo-item/needy", 422).await,
                json!({"detail": [{
                    "type": "missing",
                    "loc": ["query", "needy"],
                    "msg": "Field required",
                    "input": null
                }]})
            );
            // Three wrong values, three errors, in one answer. `skip` is a `u32`, so a
            // negative one breaks the type's own bound, reported as pydantic's `ge=0`.
            assert_eq!(
                get(&client, "/items/foo-item/needy?skip=-1&limit=lots", 422).await,
                json!({"detail": [
                    {"type": "missing", "loc": ["query", "needy"], "msg": "Field required",
                     "input": null},
                    {"type": "greater_than_equal", "loc": ["query", "skip"],
                     "msg": "Input should be greater than or equal to 0", "input": "-1",
                     "ctx": {"ge": 0}},
                    {"type": "int_parsing", "loc": ["query", "limit"],
                     "msg": "Input should be a valid integer, unable to parse string as an integer",
                     "input": "lots"},
                ]})
            );
        });
    }

    #[test]
    fn repeated_keys_fill_a_list() {
        corio::run(async {
            let client = TestClient::new(app());
            assert_eq!(
                get(&client, "/tags/?tag=rust&tag=web&tag=rust", 200).await,
                json!({"tags": ["rust", "web", "rust"]})
            );
            assert_eq!(get(&client, "/tags/", 200).await, json!({"tags": []}));
        });
    }

    #[test]
    fn string_constraints() {
        corio::run(async {
            let client = TestClient::new(app());
            assert_eq!(
                get(&client, "/search/?q=corio+web", 200).await,
                json!({"q": "corio web", "ids": []})
            );
            assert_eq!(
                get(&client, "/search/", 200).await,
                json!({"q": null, "ids": []})
            );
            assert_eq!(
                get(&client, "/search/?q=no", 422).await,
                json!({"detail": [{
                    "type": "string_too_short",
                    "loc": ["query", "q"],
                    "msg": "String should have at least 3 characters",
                    "input": "no",
                    "ctx": {"min_length": 3}
                }]})
            );
            let long = "x".repeat(51);
            assert_eq!(
                get(&client, &format!("/search/?q={long}"), 422).await,
                json!({"detail": [{
                    "type": "string_too_long",
                    "loc": ["query", "q"],
                    "msg": "String should have at most 50 characters",
                    "input": long,
                    "ctx": {"max_length": 50}
                }]})
            );
            assert_eq!(
                get(&client, "/search/?q=drop%3Btable", 422).await,
                json!({"detail": [{
                    "type": "string_pattern_mismatch",
                    "loc": ["query", "q"],
                    "msg": "String should match pattern '^[\\w ]+$'",
                    "input": "drop;table",
                    "ctx": {"pattern": "^[\\w ]+$"}
                }]})
            );
        });
    }

    #[test]
    fn number_constraints() {
        corio::run(async {
            let client = TestClient::new(app());
            assert_eq!(
                get(&client, "/measures/5?size=2.5", 200).await,
                json!({"item_id": 5, "size": 2.5})
            );
            assert_eq!(
                get(&client, "/measures/0?size=2.5", 422).await,
                json!({"detail": [{
                    "type": "greater_than_equal",
                    "loc": ["path", "item_id"],
                    "msg": "Input should be greater than or equal to 1",
                    "input": "0",
                    "ctx": {"ge": 1}
                }]})
            );
            // Both wrong: the path's error comes first, as in FastAPI.
            assert_eq!(
                get(&client, "/measures/1001?size=10.5", 422).await,
                json!({"detail": [
                    {"type": "less_than_equal", "loc": ["path", "item_id"],
                     "msg": "Input should be less than or equal to 1000", "input": "1001",
                     "ctx": {"le": 1000}},
                    {"type": "less_than", "loc": ["query", "size"],
                     "msg": "Input should be less than 10.5", "input": "10.5",
                     "ctx": {"lt": 10.5}},
                ]})
            );
            assert_eq!(
                get(&client, "/measures/3?size=0", 422).await,
                json!({"detail": [{
                    "type": "greater_than",
                    "loc": ["query", "size"],
                    "msg": "Input should be greater than 0",
                    "input": "0",
                    "ctx": {"gt": 0}
                }]})
            );

            // Each item of a list is checked on its own, at its index.
            assert_eq!(
                get(&client, "/search/?id=3&id=0&id=7", 422).await,
                json!({"detail": [{
                    "type": "greater_than_equal",
                    "loc": ["query", "id", 1],
                    "msg": "Input should be greater than or equal to 1",
                    "input": "0",
                    "ctx": {"ge": 1}
                }]})
            );
        });
    }

    #[test]
    fn list_length_constraints() {
        corio::run(async {
            let client = TestClient::new(app());
            assert_eq!(
                get(&client, "/palette/?color=red&color=blue", 200).await,
                json!({"colors": ["red", "blue"]})
            );
            assert_eq!(
                get(&client, "/palette/?color=a&color=b&color=c&color=d", 422).await,
                json!({"detail": [{
                    "type": "too_long",
                    "loc": ["query", "color"],
                    "msg": "List should have at most 3 items after validation, not 4",
                    "input": ["a", "b", "c", "d"],
                    "ctx": {"field_type": "List", "max_length": 3, "actual_length": 4}
                }]})
            );
        });
    }

    #[test]
    fn rules_across_fields() {
        corio::run(async {
            let client = TestClient::new(app());
            assert_eq!(
                get(&client, "/range/?start=2&end=5", 200).await,
                json!({"start": 2, "end": 5, "len": 3})
            );
            assert_eq!(
                get(&client, "/range/?start=5&end=2", 422).await,
                json!({"detail": [{
                    "type": "value_error",
                    "loc": ["query", "end"],
                    "msg": "Value error, end must not be before start",
                    // Echoed as the client sent it: a query only carries strings.
                    "input": "2",
                    "ctx": {"error": {}}
                }]})
            );
        });
    }
}
