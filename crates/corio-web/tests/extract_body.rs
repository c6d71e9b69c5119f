//! Body extraction: JSON (FastAPI's exact answers), forms, raw bodies, the body limit.

use bytes::Bytes;
use corio_web::extract::{
    BodyLimit, Constrained, Form, FromRequest, Json, Length, OptionalFromRequest,
};
use corio_web::response::IntoResponse;
use corio_web::{Body, Request, http};
use futures_util::stream;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn request(content_type: Option<&str>, body: impl Into<Body>) -> Request {
    let mut builder = http::Request::builder().method("POST").uri("/items/");
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(body.into()).unwrap()
}

fn json_request(body: &'static str) -> Request {
    request(Some("application/json"), body)
}

fn extract<T: FromRequest<(), M>, M>(request: Request) -> Result<T, T::Rejection> {
    corio::run(T::from_request(request, &()))
}

/// The status and JSON body of a response.
fn answer(response: impl IntoResponse) -> (u16, Value) {
    let response = response.into_response();
    let status = response.status().as_u16();
    let body = corio::run(response.into_body().to_bytes(1 << 20)).unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

fn rejected<T: FromRequest<(), M>, M>(request: Request) -> (u16, Value) {
    match extract::<T, M>(request) {
        Ok(_) => panic!("accepted"),
        Err(rejection) => answer(rejection),
    }
}

#[derive(Debug, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
struct Item {
    name: String,
    description: Option<String>,
    price: f64,
    tax: Option<f64>,
}

// The cases of FastAPI's own tests for its first body tutorial.

#[test]
fn fastapi_body_accepts_strings_for_numbers() {
    let Json(item) =
        extract::<Json<Item>, _>(json_request(r#"{"name": "Foo", "price": "50.5"}"#)).unwrap();
    assert_eq!(item.price, 50.5);
    let Json(item) = extract::<Json<Item>, _>(request(
        Some("application/geo+json; charset=utf-8"),
        r#"{"name": "Foo", "price": 50.5, "tax": null}"#,
    ))
    .unwrap();
    assert_eq!(item.tax, None);
}

#[test]
fn fastapi_body_missing_field_echoes_the_object() {
    assert_eq!(
        rejected::<Json<Item>, _>(json_request(r#"{"name": "Foo"}"#)),
        (
            422,
            json!({"detail": [{"type": "missing", "loc": ["body", "price"],
                               "msg": "Field required", "input": {"name": "Foo"}}]})
        )
    );
}

#[test]
fn fastapi_body_float_parsing() {
    assert_eq!(
        rejected::<Json<Item>, _>(json_request(r#"{"name": "Foo", "price": "twenty"}"#)).1,
        json!({"detail": [{"type": "float_parsing", "loc": ["body", "price"],
                           "msg": "Input should be a valid number, unable to parse string as a number",
                           "input": "twenty"}]})
    );
}

#[test]
fn fastapi_body_empty_object_misses_every_field() {
    assert_eq!(
        rejected::<Json<Item>, _>(json_request("{}")).1,
        json!({"detail": [
            {"type": "missing", "loc": ["body", "name"], "msg": "Field required", "input": {}},
            {"type": "missing", "loc": ["body", "price"], "msg": "Field required", "input": {}},
        ]})
    );
}

#[test]
fn fastapi_body_none_is_missing() {
    let missing = json!({"detail": [{"type": "missing", "loc": ["body"],
                                     "msg": "Field required", "input": null}]});
    assert_eq!(
        rejected::<Json<Item>, _>(json_request("")),
        (422, missing.clone())
    );
    assert_eq!(
        rejected::<Json<Item>, _>(json_request("null")),
        (422, missing)
    );
}

#[test]
fn fastapi_broken_json() {
    assert_eq!(
        rejected::<Json<Item>, _>(json_request("{some broken json}")),
        (
            422,
            json!({"detail": [{"type": "json_invalid", "loc": ["body", 1], "msg": "JSON decode error",
                               "input": {}, "ctx": {"error": "Expecting property name enclosed in double quotes"}}]})
        )
    );
    // The offset counts characters, as Python does, not bytes.
    assert_eq!(
        rejected::<Json<Item>, _>(json_request(r#"{"name": "Fée", "price": }"#)).1["detail"][0]["loc"],
        json!(["body", 25])
    );
}

#[test]
fn fastapi_form_data_for_json() {
    assert_eq!(
        rejected::<Json<Item>, _>(request(
            Some("application/x-www-form-urlencoded"),
            "name=Foo&price=50.5"
        )),
        (
            422,
            json!({"detail": [{"type": "model_attributes_type", "loc": ["body"],
                               "msg": "Input should be a valid dictionary or object to extract fields from",
                               "input": "name=Foo&price=50.5"}]})
        )
    );
}

#[test]
fn fastapi_wrong_or_missing_content_type() {
    let text = r#"{"name": "Foo", "price": 50.5}"#;
    let expected = json!({"detail": [{"type": "model_attributes_type", "loc": ["body"],
        "msg": "Input should be a valid dictionary or object to extract fields from",
        "input": text}]});
    for content_type in [
        Some("text/plain"),
        Some("application/geo+json-seq"),
        Some("application/not-really-json"),
        None,
    ] {
        assert_eq!(
            rejected::<Json<Item>, _>(request(content_type, text)),
            (422, expected.clone()),
            "{content_type:?}"
        );
    }
}

#[test]
fn body_that_is_not_utf8_is_a_400() {
    let (status, body) = rejected::<Json<Item>, _>(request(
        Some("application/json"),
        Bytes::from_static(b"{\"name\": \"\xff\"}"),
    ));
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"detail": "There was an error parsing the body"})
    );
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Order {
    customer: Customer,
    lines: Vec<Line>,
    note: Constrained<Option<String>, Length<0, 10>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Customer {
    id: u64,
    email: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Line {
    sku: String,
    quantity: u32,
    size: Size,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Size {
    Small,
    Large,
}

#[test]
fn nested_errors_are_located_through_objects_and_lists() {
    let body = r#"{
        "customer": {"id": "x"},
        "lines": [
            {"sku": "a", "quantity": 1, "size": "small"},
            {"sku": 5, "quantity": -1, "size": "huge", "gift": true},
            {"size": "large"}
        ],
        "note": "far too long a note"
    }"#;
    let (status, body) = rejected::<Json<Order>, _>(json_request(body));
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "int_parsing", "loc": ["body", "customer", "id"],
             "msg": "Input should be a valid integer, unable to parse string as an integer",
             "input": "x"},
            {"type": "missing", "loc": ["body", "customer", "email"], "msg": "Field required",
             "input": {"id": "x"}},
            {"type": "string_type", "loc": ["body", "lines", 1, "sku"],
             "msg": "Input should be a valid string", "input": 5},
            {"type": "greater_than_equal", "loc": ["body", "lines", 1, "quantity"],
             "msg": "Input should be greater than or equal to 0", "input": -1, "ctx": {"ge": 0}},
            {"type": "enum", "loc": ["body", "lines", 1, "size"],
             "msg": "Input should be 'small' or 'large'", "input": "huge",
             "ctx": {"expected": "'small' or 'large'"}},
            {"type": "extra_forbidden", "loc": ["body", "lines", 1, "gift"],
             "msg": "Extra inputs are not permitted", "input": true},
            {"type": "missing", "loc": ["body", "lines", 2, "sku"], "msg": "Field required",
             "input": {"size": "large"}},
            {"type": "missing", "loc": ["body", "lines", 2, "quantity"], "msg": "Field required",
             "input": {"size": "large"}},
            {"type": "string_too_long", "loc": ["body", "note"],
             "msg": "String should have at most 10 characters", "input": "far too long a note",
             "ctx": {"max_length": 10}},
        ]})
    );
}

#[test]
fn wrong_container_types() {
    let (_, body) = rejected::<Json<Order>, _>(json_request(
        r#"{"customer": [], "lines": {"a": 1}, "note": null}"#,
    ));
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "model_attributes_type", "loc": ["body", "customer"],
             "msg": "Input should be a valid dictionary or object to extract fields from",
             "input": []},
            {"type": "list_type", "loc": ["body", "lines"], "msg": "Input should be a valid list",
             "input": {"a": 1}},
        ]})
    );
    let (_, body) =
        rejected::<Json<Vec<(u8, String)>>, _>(json_request(r#"[[1], [2, "b", 3], 4]"#));
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "missing", "loc": ["body", 0, 1], "msg": "Field required", "input": [1]},
            {"type": "too_long", "loc": ["body", 1],
             "msg": "Tuple should have at most 2 items after validation, not 3",
             "input": [2, "b", 3], "ctx": {"field_type": "Tuple", "max_length": 2, "actual_length": 3}},
            {"type": "tuple_type", "loc": ["body", 2], "msg": "Input should be a valid tuple",
             "input": 4},
        ]})
    );
}

#[test]
fn many_list_elements_with_errors_need_few_passes() {
    // Every element misses the same field: learnt once, reported for all.
    let lines: Vec<Value> = (0..900)
        .map(|_| json!({"sku": "a", "size": "small"}))
        .collect();
    let body = serde_json::to_vec(&json!({"customer": {"id": 1, "email": "e"},
                                          "lines": lines, "note": null}))
    .unwrap();
    let (_, body) = rejected::<Json<Order>, _>(request(Some("application/json"), body));
    let detail = body["detail"].as_array().unwrap();
    assert_eq!(detail.len(), 900);
    assert_eq!(
        detail[899]["loc"],
        json!(["body", "lines", 899, "quantity"])
    );
}

/// A small body can stand for millions of errors (`[{},{},...]`, each element missing
/// every field): 2 MiB of it took gigabytes and half a minute. The errors are cut off at
/// a thousand, and the pass stops there.
#[test]
fn a_flood_of_invalid_elements_is_cut_off() {
    let body = format!("[{}]", vec!["{}"; 20_000].join(","));
    let (status, body) = rejected::<Json<Vec<Line>>, _>(request(Some("application/json"), body));
    assert_eq!(status, 422);
    let detail = body["detail"].as_array().unwrap();
    assert_eq!(detail.len(), 1000);
    assert_eq!(detail[0]["loc"], json!(["body", 0, "sku"]));
    assert_eq!(detail[999]["loc"], json!(["body", 333, "sku"]));

    // Forms (and queries) share the collector.
    let form = vec!["n=x"; 5000].join("&");
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Numbers {
        n: Vec<u32>,
    }
    let (_, body) =
        rejected::<Form<Numbers>, _>(request(Some("application/x-www-form-urlencoded"), form));
    assert_eq!(body["detail"].as_array().unwrap().len(), 1000);
}

/// A filter language: the first variant nests the type itself.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
enum Filter {
    And(Box<Filter>, Box<Filter>),
    Eq(String, String),
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Search {
    filter: Filter,
    limit: u32,
}

/// A wrong or missing value is replaced by a stand-in so collection can go on; for an enum
/// that is its first variant, here one holding two more filters, each standing in as an
/// `And` of two more: without a bound that recursed until the stack overflowed, which
/// aborts the whole server. A client only had to send `{"filter": 1}`.
#[test]
fn a_type_that_nests_itself_in_its_first_variant_is_reported_not_a_stack_overflow() {
    let ok = br#"{"filter": {"And": [{"Eq": ["a", "b"]}, {"Eq": ["c", "d"]}]}, "limit": 1}"#;
    assert!(Json::<Search>::from_bytes(ok).is_ok());

    let (status, body) = rejected::<Json<Search>, _>(json_request(r#"{"filter": 1, "limit": 2}"#));
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"][0],
        json!({"type": "enum", "loc": ["body", "filter"], "msg": "Input should be 'And' or 'Eq'",
               "input": 1, "ctx": {"expected": "'And' or 'Eq'"}})
    );
    let (status, body) = rejected::<Json<Search>, _>(json_request(r#"{"limit": 2}"#));
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "missing");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "filter"]));
}

#[test]
fn optional_json_is_none_without_a_body() {
    assert_eq!(
        extract::<Option<Json<Item>>, _>(json_request("")).unwrap(),
        None
    );
    assert_eq!(
        extract::<Option<Json<Item>>, _>(json_request("null")).unwrap(),
        None
    );
    let item = extract::<Option<Json<Item>>, _>(json_request(r#"{"name": "a", "price": 1}"#))
        .unwrap()
        .unwrap();
    assert_eq!(item.name, "a");
    let (status, _) = rejected::<Option<Json<Item>>, _>(json_request(r#"{"name": "a"}"#));
    assert_eq!(status, 422);
}

#[test]
fn json_responses() {
    let response = Json(Item {
        name: "Foo".into(),
        description: None,
        price: 1.5,
        tax: Some(0.5),
    })
    .into_response();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        answer(response),
        (
            200,
            json!({"name": "Foo", "description": null, "price": 1.5, "tax": 0.5})
        )
    );
    // Maps with non-string keys cannot be JSON.
    let bad: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into();
    assert_eq!(
        answer(Json(bad)),
        (500, json!({"detail": "Internal Server Error"}))
    );
}

#[test]
fn the_body_limit_answers_413() {
    let mut big = json_request(r#"{"name": "Foo", "price": 50.5}"#);
    big.extensions_mut().insert(BodyLimit(10));
    assert_eq!(
        rejected::<Json<Item>, _>(big),
        (413, json!({"detail": "Payload Too Large"}))
    );
    // A streamed body is cut off as soon as it passes the limit.
    let chunks =
        stream::iter((0..100).map(|_| Ok::<_, std::io::Error>(Bytes::from_static(&[b'x'; 1024]))));
    let mut streamed = request(Some("text/plain"), Body::from_stream(chunks));
    streamed.extensions_mut().insert(BodyLimit(50 * 1024));
    assert_eq!(rejected::<String, _>(streamed).0, 413);
    // The default is 2 MiB.
    let just_over = vec![b' '; BodyLimit::DEFAULT.0 + 1];
    assert_eq!(rejected::<Bytes, _>(request(None, just_over)).0, 413);
    let at_limit = vec![b' '; BodyLimit::DEFAULT.0];
    assert_eq!(
        extract::<Bytes, _>(request(None, at_limit)).unwrap().len(),
        BodyLimit::DEFAULT.0
    );
}

#[test]
fn raw_bodies() {
    assert_eq!(
        extract::<Bytes, _>(request(None, "raw")).unwrap(),
        Bytes::from_static(b"raw")
    );
    assert_eq!(
        extract::<String, _>(request(None, "héllo")).unwrap(),
        "héllo"
    );
    let (status, body) = rejected::<String, _>(request(None, Bytes::from_static(b"a\xffb")));
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "string_unicode");
    assert_eq!(body["detail"][0]["loc"], json!(["body"]));
    assert_eq!(
        corio::run(<Bytes as OptionalFromRequest<()>>::optional_from_request(
            request(None, ""),
            &()
        ))
        .unwrap(),
        None
    );
    assert_eq!(
        extract::<Option<String>, _>(request(None, "x"))
            .unwrap()
            .as_deref(),
        Some("x")
    );
    let body = extract::<Body, _>(request(None, "stream me")).unwrap();
    assert_eq!(corio::run(body.to_bytes(100)).unwrap(), "stream me");
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Login {
    username: String,
    password: String,
    remember: bool,
    scopes: Vec<String>,
}

#[test]
fn forms_like_fastapi() {
    let form = Some("application/x-www-form-urlencoded");
    let Form(login) = extract::<Form<Login>, _>(request(
        form,
        "username=ann&password=p%40ss+word&remember=on&scopes=a&scopes=b",
    ))
    .unwrap();
    assert_eq!(login.username, "ann");
    assert_eq!(login.password, "p@ss word");
    assert!(login.remember);
    assert_eq!(login.scopes, ["a", "b"]);

    // Empty values count as absent; errors sit under "body".
    assert_eq!(
        rejected::<Form<Login>, _>(request(
            form,
            "username=&password=x&remember=perhaps&scopes=s"
        )),
        (
            422,
            json!({"detail": [
                {"type": "missing", "loc": ["body", "username"], "msg": "Field required",
                 "input": null},
                {"type": "bool_parsing", "loc": ["body", "remember"],
                 "msg": "Input should be a valid boolean, unable to interpret input",
                 "input": "perhaps"},
            ]})
        )
    );
    // Another content type has no fields at all.
    let (_, body) = rejected::<Form<Login>, _>(request(Some("application/json"), "{}"));
    assert_eq!(body["detail"].as_array().unwrap().len(), 4);
    // Optional: absent fields make None, a present bad one is still a 422.
    assert!(
        extract::<Option<Form<Login>>, _>(request(form, ""))
            .unwrap()
            .is_none()
    );
    assert_eq!(
        rejected::<Option<Form<Login>>, _>(request(
            form,
            "username=a&password=b&remember=x&scopes=s"
        ))
        .0,
        422
    );
}
