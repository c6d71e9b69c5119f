//! Query and path extraction: every error at once, with FastAPI's exact bodies.

use corio_web::extract::{
    Between, Constrained, ErrorKind, ExtractError, FromRequestParts, Length, Path, PathParams,
    Query, Validate, Validated, ValidationErrors,
};
use corio_web::response::IntoResponse;
use corio_web::{Body, http};
use serde::Deserialize;
use serde_json::{Value, json};

/// Runs the head extractor `T` on a request for `uri` with the given path parameters.
fn extract<T: FromRequestParts<()>>(uri: &str, params: &[(&str, &str)]) -> Result<T, T::Rejection> {
    let mut request = http::Request::builder()
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(PathParams::from_pairs(params.iter().copied()));
    let (mut parts, _) = request.into_parts();
    corio::run(async move { T::from_request_parts(&mut parts, &()).await })
}

/// The status and JSON body a rejection answers with.
fn answer(rejection: impl IntoResponse) -> (u16, Value) {
    let response = rejection.into_response();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = corio::run(response.into_body().to_bytes(1 << 20)).unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

fn rejected<T: FromRequestParts<()>>(uri: &str, params: &[(&str, &str)]) -> (u16, Value)
where
    T::Rejection: IntoResponse,
{
    match extract::<T>(uri, params) {
        Ok(_) => panic!("{uri} was accepted"),
        Err(rejection) => answer(rejection),
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Item {
    needy: String,
    skip: Option<u32>,
    limit: Option<u32>,
}

#[test]
fn fastapi_missing_query_parameter() {
    assert_eq!(
        rejected::<Query<Item>>("/items/foo-item", &[]),
        (
            422,
            json!({"detail": [
                {"type": "missing", "loc": ["query", "needy"], "msg": "Field required", "input": null}
            ]})
        )
    );
}

#[test]
fn every_bad_query_field_is_reported_in_declaration_order() {
    // limit comes before needy in the query, after it in the struct.
    let (status, body) = rejected::<Query<Item>>("/?limit=ten&skip=-1", &[]);
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "missing", "loc": ["query", "needy"], "msg": "Field required", "input": null},
            {"type": "greater_than_equal", "loc": ["query", "skip"],
             "msg": "Input should be greater than or equal to 0", "input": "-1", "ctx": {"ge": 0}},
            {"type": "int_parsing", "loc": ["query", "limit"],
             "msg": "Input should be a valid integer, unable to parse string as an integer",
             "input": "ten"},
        ]})
    );
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Flags {
    a: bool,
    b: bool,
    c: bool,
    n: f64,
}

#[test]
fn booleans_and_floats_are_read_leniently() {
    let Query(flags) = extract::<Query<Flags>>("/?a=yes&b=0&c=ON&n=1e3", &[]).unwrap();
    assert_eq!(
        (flags.a, flags.b, flags.c, flags.n),
        (true, false, true, 1000.0)
    );
    let (_, body) = rejected::<Query<Flags>>("/?a=maybe&b=1&c=t&n=x", &[]);
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "bool_parsing", "loc": ["query", "a"],
             "msg": "Input should be a valid boolean, unable to interpret input", "input": "maybe"},
            {"type": "float_parsing", "loc": ["query", "n"],
             "msg": "Input should be a valid number, unable to parse string as a number",
             "input": "x"},
        ]})
    );
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Tags {
    tag: Vec<String>,
    id: Vec<u8>,
    one: String,
}

#[test]
fn repeated_keys_fill_lists_and_scalars_take_the_last() {
    let Query(tags) =
        extract::<Query<Tags>>("/?tag=a&id=1&tag=b%20c&one=x&id=2&one=y+z", &[]).unwrap();
    assert_eq!(tags.tag, ["a", "b c"]);
    assert_eq!(tags.id, [1, 2]);
    assert_eq!(tags.one, "y z");

    let (_, body) = rejected::<Query<Tags>>("/?tag=a&id=1&id=x&id=300&one=", &[]);
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "int_parsing", "loc": ["query", "id", 1],
             "msg": "Input should be a valid integer, unable to parse string as an integer",
             "input": "x"},
            {"type": "less_than_equal", "loc": ["query", "id", 2],
             "msg": "Input should be less than or equal to 255", "input": "300", "ctx": {"le": 255}},
        ]})
    );
}

#[test]
fn query_values_are_percent_decoded() {
    #[derive(Deserialize, schemars::JsonSchema)]
    struct Q {
        q: String,
    }
    let Query(q) = extract::<Query<Q>>("/?q=caf%C3%A9+%26+cr%C3%AApes%3F", &[]).unwrap();
    assert_eq!(q.q, "café & crêpes?");
}

#[test]
fn optional_query_is_none_only_when_absent() {
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct Page {
        page: u32,
    }
    assert!(extract::<Option<Query<Page>>>("/", &[]).unwrap().is_none());
    assert!(
        extract::<Option<Query<Page>>>("/?other=1", &[])
            .unwrap()
            .is_none()
    );
    assert_eq!(
        extract::<Option<Query<Page>>>("/?page=3", &[])
            .unwrap()
            .unwrap()
            .page,
        3
    );
    let error = extract::<Option<Query<Page>>>("/?page=x", &[]).unwrap_err();
    assert_eq!(error.status(), 422);
}

#[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum ModelName {
    Alexnet,
    Resnet,
    Lenet,
}

#[test]
fn fastapi_enum_path_parameter() {
    assert_eq!(
        extract::<Path<ModelName>>("/models/resnet", &[("model_name", "resnet")])
            .unwrap()
            .0,
        ModelName::Resnet
    );
    assert_eq!(
        rejected::<Path<ModelName>>("/models/foo", &[("model_name", "foo")]),
        (
            422,
            json!({"detail": [{
                "type": "enum", "loc": ["path", "model_name"],
                "msg": "Input should be 'alexnet', 'resnet' or 'lenet'", "input": "foo",
                "ctx": {"expected": "'alexnet', 'resnet' or 'lenet'"}
            }]})
        )
    );
}

#[test]
fn fastapi_int_path_parameter() {
    assert_eq!(
        extract::<Path<u64>>("/items/3", &[("item_id", "3")])
            .unwrap()
            .0,
        3
    );
    assert_eq!(
        rejected::<Path<u64>>("/items/foo", &[("item_id", "foo")]),
        (
            422,
            json!({"detail": [{
                "type": "int_parsing", "loc": ["path", "item_id"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": "foo"
            }]})
        )
    );
}

#[test]
fn path_tuples_and_structs_report_every_parameter() {
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Ids {
        user_id: u32,
        item_id: Constrained<i64, Between<1, 1000>>,
    }
    let params = [("user_id", "-3"), ("item_id", "0")];
    let (_, body) = rejected::<Path<Ids>>("/", &params);
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "greater_than_equal", "loc": ["path", "user_id"],
             "msg": "Input should be greater than or equal to 0", "input": "-3", "ctx": {"ge": 0}},
            {"type": "greater_than_equal", "loc": ["path", "item_id"],
             "msg": "Input should be greater than or equal to 1", "input": "0", "ctx": {"ge": 1}},
        ]})
    );
    let (_, body) = rejected::<Path<(u32, bool)>>("/", &[("a", "x"), ("b", "nope")]);
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["loc"])
        .collect();
    assert_eq!(locs, [&json!(["path", "a"]), &json!(["path", "b"])]);
    let Path((a, b)) = extract::<Path<(String, u8)>>("/", &[("a", "x y"), ("b", "7")]).unwrap();
    assert_eq!((a.as_str(), b), ("x y", 7));
}

#[test]
fn percent_decoded_path_parameters() {
    let mut params = PathParams::new();
    params
        .push_encoded("name", "na%C3%AFve%2Fsegment+plus")
        .unwrap();
    let mut request = http::Request::builder().body(Body::empty()).unwrap();
    request.extensions_mut().insert(params);
    let (mut parts, _) = request.into_parts();
    let Path(name) = corio::run(async move {
        <Path<String> as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await
    })
    .unwrap();
    assert_eq!(name, "naïve/segment+plus");
}

#[test]
fn a_handler_that_does_not_fit_its_route_is_a_500() {
    let error = extract::<Path<(u32, u32)>>("/", &[("only", "1")]).unwrap_err();
    assert!(matches!(error, ExtractError::Http(_)));
    assert_eq!(error.status(), 500);
    let error = extract::<Path<u32>>("/", &[]).unwrap_err();
    assert_eq!(error.status(), 500);
}

#[test]
fn uuid_errors_carry_the_parsers_reason() {
    let (_, body) = rejected::<Path<uuid::Uuid>>("/", &[("id", "not-a-uuid")]);
    assert_eq!(body["detail"][0]["type"], "uuid_parsing");
    assert_eq!(body["detail"][0]["loc"], json!(["path", "id"]));
    assert_eq!(body["detail"][0]["input"], "not-a-uuid");
    let reason = body["detail"][0]["ctx"]["error"].as_str().unwrap();
    assert_eq!(
        body["detail"][0]["msg"],
        format!("Input should be a valid UUID, {reason}")
    );
    assert!(reason.starts_with("invalid"), "{reason}");
}

corio_web::constraint! {
    Short: max_length(5);
    Code: pattern("^[a-z]+-\\d+$");
    Even: multiple_of(2), gt(0), lt(10.5);
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Constrained3 {
    q: Constrained<Option<String>, Short>,
    code: Constrained<String, Code>,
    n: Constrained<f64, Even>,
    tags: Constrained<Vec<String>, Length<1, 2>>,
}

#[test]
fn constraints_report_pydantic_errors_with_ctx() {
    let (_, body) =
        rejected::<Query<Constrained3>>("/?q=toolong&code=AB-1&n=11&tags=a&tags=b&tags=c", &[]);
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "string_too_long", "loc": ["query", "q"],
             "msg": "String should have at most 5 characters", "input": "toolong",
             "ctx": {"max_length": 5}},
            {"type": "string_pattern_mismatch", "loc": ["query", "code"],
             "msg": "String should match pattern '^[a-z]+-\\d+$'", "input": "AB-1",
             "ctx": {"pattern": "^[a-z]+-\\d+$"}},
            {"type": "multiple_of", "loc": ["query", "n"],
             "msg": "Input should be a multiple of 2", "input": "11", "ctx": {"multiple_of": 2}},
            {"type": "too_long", "loc": ["query", "tags"],
             "msg": "List should have at most 2 items after validation, not 3",
             "input": ["a", "b", "c"],
             "ctx": {"field_type": "List", "max_length": 2, "actual_length": 3}},
        ]})
    );
    let Query(ok) = extract::<Query<Constrained3>>("/?code=ab-12&n=4&tags=x", &[]).unwrap();
    assert_eq!(
        (ok.q.as_deref(), *ok.n, ok.code.as_str(), ok.tags.len()),
        (None, 4.0, "ab-12", 1)
    );
}

#[test]
fn a_wrong_value_is_reported_once_not_again_by_its_constraint() {
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Q {
        n: Constrained<u32, Between<10, 20>>,
        s: Constrained<String, Length<3, 5>>,
    }
    // n is no integer (its placeholder, 0, would break ge=10), s is missing (its
    // placeholder, "", would break min_length=3): one error each.
    let (_, body) = rejected::<Query<Q>>("/?n=x", &[]);
    let types: Vec<&Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["type"])
        .collect();
    assert_eq!(types, [&json!("int_parsing"), &json!("missing")]);
}

#[test]
fn unknown_fields_are_extra_forbidden_when_denied() {
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        limit: u32,
        order: Option<String>,
    }
    let (_, body) = rejected::<Query<Strict>>("/?tag=x&limit=y&page=2", &[]);
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "int_parsing", "loc": ["query", "limit"],
             "msg": "Input should be a valid integer, unable to parse string as an integer",
             "input": "y"},
            {"type": "extra_forbidden", "loc": ["query", "tag"],
             "msg": "Extra inputs are not permitted", "input": "x"},
            {"type": "extra_forbidden", "loc": ["query", "page"],
             "msg": "Extra inputs are not permitted", "input": "2"},
        ]})
    );
    // Without deny_unknown_fields, other keys are ignored.
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Lenient {
        limit: u32,
    }
    assert!(extract::<Query<Lenient>>("/?tag=x&limit=1", &[]).is_ok());
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Range {
    start: u32,
    end: u32,
}

impl Validate for Range {
    fn validate(&self, errors: &mut ValidationErrors) {
        if self.end <= self.start {
            errors.add(
                ["end"],
                ErrorKind::value_error("end must come after start"),
                self.end.into(),
            );
        }
    }
}

#[test]
fn validate_checks_run_after_the_fields_and_only_on_real_values() {
    let (_, body) = rejected::<Query<Validated<Range>>>("/?start=5&end=5", &[]);
    assert_eq!(
        body,
        json!({"detail": [{
            "type": "value_error", "loc": ["query", "end"],
            "msg": "Value error, end must come after start", "input": "5", "ctx": {"error": {}}
        }]})
    );
    // A field error means the check would see placeholders: only the field error.
    let (_, body) = rejected::<Query<Validated<Range>>>("/?start=x&end=0", &[]);
    assert_eq!(body["detail"].as_array().unwrap().len(), 1);
    assert_eq!(body["detail"][0]["type"], "int_parsing");
    let Query(range) = extract::<Query<Validated<Range>>>("/?start=1&end=2", &[]).unwrap();
    assert_eq!((range.start, range.end), (1, 2));
}

#[test]
fn many_missing_fields_in_one_struct_are_all_reported() {
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Wide {
        a: u8,
        b: u8,
        c: u8,
        d: u8,
        e: u8,
        f: u8,
        g: Option<u8>,
        #[serde(default)]
        h: u8,
    }
    let (_, body) = rejected::<Query<Wide>>("/?c=1&e=oops", &[]);
    let locs: Vec<String> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["loc"][1].as_str().unwrap(),
                e["type"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        locs,
        [
            "a:missing",
            "b:missing",
            "d:missing",
            "e:int_parsing",
            "f:missing"
        ]
    );
}

#[test]
fn maps_take_every_key() {
    use std::collections::HashMap;
    let Query(last) = extract::<Query<HashMap<String, String>>>("/?a=1&b=2&a=3", &[]).unwrap();
    assert_eq!(last.len(), 2);
    assert_eq!(last["a"], "3");
    let Query(all) = extract::<Query<HashMap<String, Vec<u8>>>>("/?a=1&b=2&a=3", &[]).unwrap();
    assert_eq!(all["a"], [1, 3]);
    let (_, body) = rejected::<Query<HashMap<String, u8>>>("/?a=1&b=x", &[]);
    assert_eq!(body["detail"][0]["loc"], json!(["query", "b"]));
    assert_eq!(body["detail"][0]["type"], "int_parsing");
}

#[test]
fn flattened_structs_read_strings_but_not_lenient_numbers() {
    // serde buffers a flattened struct's input and deserializes it itself, without corio's
    // lenient reading: strings work, numbers from a query string do not (as with
    // serde_urlencoded). The failure is still a 422 naming the value.
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct Outer {
        q: String,
        #[serde(flatten)]
        inner: Inner,
    }
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct Inner {
        sort: String,
    }
    let Query(outer) = extract::<Query<Outer>>("/?q=a&sort=name", &[]).unwrap();
    assert_eq!((outer.q.as_str(), outer.inner.sort.as_str()), ("a", "name"));
    let (status, body) = rejected::<Query<Outer>>("/?q=a", &[]);
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({"detail": [{"type": "missing", "loc": ["query", "sort"], "msg": "Field required",
                           "input": null}]})
    );
}
