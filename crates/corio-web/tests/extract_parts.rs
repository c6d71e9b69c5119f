//! Head extractors (headers, cookies, state, extensions, connection info) and merging the
//! rejections of several extractors into one answer.

use std::net::SocketAddr;

use corio_web::extract::{
    Between, BodyLimit, Constrained, Cookie, Cookies, Extension, ExtractError, FromRef,
    FromRequest, FromRequestParts, Header, Json, Path, PathParams, Query, Rejections,
    RequestValidationError, State,
};
use corio_web::http::{HeaderMap, Method, StatusCode, Uri};
use corio_web::response::{HttpError, IntoResponse};
use corio_web::service::ConnectInfo;
use corio_web::{Body, Request, http};
use serde::Deserialize;
use serde_json::{Value, json};

fn head(request: Request) -> http::request::Parts {
    request.into_parts().0
}

fn get(uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut builder = http::Request::builder().uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    head(builder.body(Body::empty()).unwrap())
}

fn extract<T: FromRequestParts<S>, S>(
    parts: &mut http::request::Parts,
    state: &S,
) -> Result<T, T::Rejection> {
    corio::run(T::from_request_parts(parts, state))
}

fn answer(response: impl IntoResponse) -> (u16, Value) {
    let response = response.into_response();
    let status = response.status().as_u16();
    let body = corio::run(response.into_body().to_bytes(1 << 20)).unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Agent {
    user_agent: String,
    x_token: Vec<String>,
    x_retries: Option<u8>,
}

#[test]
fn typed_headers_use_fastapi_names() {
    let mut parts = get(
        "/",
        &[
            ("User-Agent", "curl/8"),
            ("X-Token", "a"),
            ("x-token", "b"),
            ("X-Retries", "2"),
        ],
    );
    let Header(agent) = extract::<Header<Agent>, ()>(&mut parts, &()).unwrap();
    assert_eq!(agent.user_agent, "curl/8");
    assert_eq!(agent.x_token, ["a", "b"]);
    assert_eq!(agent.x_retries, Some(2));

    let mut parts = get("/", &[("x-retries", "many"), ("x-retries", "3")]);
    let rejection = extract::<Header<Agent>, ()>(&mut parts, &()).unwrap_err();
    assert_eq!(
        answer(rejection),
        (
            422,
            json!({"detail": [
                {"type": "missing", "loc": ["header", "user-agent"], "msg": "Field required",
                 "input": null},
                {"type": "missing", "loc": ["header", "x-token"], "msg": "Field required",
                 "input": null},
                // A scalar header takes the first value, as Starlette's does.
                {"type": "int_parsing", "loc": ["header", "x-retries"],
                 "msg": "Input should be a valid integer, unable to parse string as an integer",
                 "input": "many"},
            ]})
        )
    );
}

#[test]
fn optional_headers_and_the_raw_map() {
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct Token {
        x_token: String,
    }
    let mut parts = get("/", &[("accept", "*/*")]);
    assert!(
        extract::<Option<Header<Token>>, ()>(&mut parts, &())
            .unwrap()
            .is_none()
    );
    let mut parts = get("/", &[("x-token", "t")]);
    let token = extract::<Option<Header<Token>>, ()>(&mut parts, &())
        .unwrap()
        .unwrap();
    assert_eq!(token.x_token, "t");
    let headers = extract::<HeaderMap, ()>(&mut parts, &()).unwrap();
    assert_eq!(headers["x-token"], "t");
}

/// A header is matched by its dashed name (`x_token` reads `X-Token`), so one whose own
/// name has underscores must not stand in for it: a proxy that strips or sets `X-User`
/// passes a client's `X_User` through untouched. FastAPI looks up `x-user` only.
#[test]
fn headers_named_with_underscores_do_not_stand_in_for_dashed_ones() {
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct Token {
        x_token: String,
    }
    let mut parts = get("/", &[("x_token", "forged")]);
    assert!(
        extract::<Option<Header<Token>>, ()>(&mut parts, &())
            .unwrap()
            .is_none()
    );
    let (status, body) = answer(extract::<Header<Token>, ()>(&mut parts, &()).unwrap_err());
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["header", "x-token"]));

    let mut parts = get("/", &[("x_token", "forged"), ("x-token", "real")]);
    let Header(token) = extract::<Header<Token>, ()>(&mut parts, &()).unwrap();
    assert_eq!(token.x_token, "real");
    let mut parts = get(
        "/",
        &[
            ("User-Agent", "curl/8"),
            ("X_Token", "forged"),
            ("X-Token", "real"),
        ],
    );
    let Header(agent) = extract::<Header<Agent>, ()>(&mut parts, &()).unwrap();
    assert_eq!(agent.x_token, ["real"]);
}

#[test]
fn cookies() {
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct Session {
        session_id: String,
        visits: u32,
    }
    let mut parts = get(
        "/",
        &[
            ("cookie", "session_id=abc; visits=x"),
            ("cookie", "visits=2; theme=dark"),
        ],
    );
    let cookies = extract::<Cookies, ()>(&mut parts, &()).unwrap();
    assert_eq!(cookies.len(), 4);
    assert_eq!(cookies.get("visits"), Some("2"));
    let Cookie(session) = extract::<Cookie<Session>, ()>(&mut parts, &()).unwrap();
    assert_eq!((session.session_id.as_str(), session.visits), ("abc", 2));

    let mut parts = get("/", &[("cookie", "visits=lots")]);
    let (status, body) = answer(extract::<Cookie<Session>, ()>(&mut parts, &()).unwrap_err());
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({"detail": [
            {"type": "missing", "loc": ["cookie", "session_id"], "msg": "Field required",
             "input": null},
            {"type": "int_parsing", "loc": ["cookie", "visits"],
             "msg": "Input should be a valid integer, unable to parse string as an integer",
             "input": "lots"},
        ]})
    );
    let mut parts = get("/", &[]);
    assert!(
        extract::<Option<Cookie<Session>>, ()>(&mut parts, &())
            .unwrap()
            .is_none()
    );
}

/// A chunk without `=` is a value with an empty name, as Starlette (and RFC 6265bis)
/// read it, not a name with an empty value: `Cookie: flag` sets no cookie `flag`.
#[test]
fn a_bare_cookie_word_is_a_value_without_a_name() {
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct Flags {
        flag: Option<String>,
    }
    let mut parts = get("/", &[("cookie", "flag; session=1")]);
    let cookies = extract::<Cookies, ()>(&mut parts, &()).unwrap();
    assert_eq!(cookies.get("flag"), None);
    assert_eq!(cookies.get(""), Some("flag"));
    assert_eq!(cookies.get("session"), Some("1"));
    let Cookie(flags) = extract::<Cookie<Flags>, ()>(&mut parts, &()).unwrap();
    assert_eq!(flags.flag, None);
}

#[derive(Clone)]
struct AppState {
    name: &'static str,
    limit: usize,
}

#[derive(Clone, Debug, PartialEq)]
struct Limit(usize);

impl FromRef<AppState> for Limit {
    fn from_ref(state: &AppState) -> Limit {
        Limit(state.limit)
    }
}

#[test]
fn state_whole_or_in_part() {
    let state = AppState {
        name: "app",
        limit: 3,
    };
    let mut parts = get("/", &[]);
    let State(whole) = extract::<State<AppState>, _>(&mut parts, &state).unwrap();
    assert_eq!(whole.name, "app");
    let State(limit) = extract::<State<Limit>, _>(&mut parts, &state).unwrap();
    assert_eq!(limit, Limit(3));
}

#[test]
fn extensions_connection_info_and_the_request_line() {
    #[derive(Clone, Debug, PartialEq)]
    struct UserId(u32);
    let mut request = http::Request::builder()
        .method("PATCH")
        .uri("/a/b?c=d")
        .body(Body::empty())
        .unwrap();
    let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let local: SocketAddr = "127.0.0.1:8000".parse().unwrap();
    request.extensions_mut().insert(UserId(9));
    request.extensions_mut().insert(ConnectInfo { peer, local });
    let mut parts = head(request);
    assert_eq!(
        extract::<Method, ()>(&mut parts, &()).unwrap(),
        Method::PATCH
    );
    assert_eq!(extract::<Uri, ()>(&mut parts, &()).unwrap(), "/a/b?c=d");
    let Extension(user) = extract::<Extension<UserId>, ()>(&mut parts, &()).unwrap();
    assert_eq!(user, UserId(9));
    assert_eq!(
        extract::<ConnectInfo, ()>(&mut parts, &()).unwrap().peer,
        peer
    );

    let mut bare = get("/", &[]);
    assert!(
        extract::<Option<ConnectInfo>, ()>(&mut bare, &())
            .unwrap()
            .is_none()
    );
    assert!(
        extract::<Option<Extension<UserId>>, ()>(&mut bare, &())
            .unwrap()
            .is_none()
    );
    let missing = extract::<ConnectInfo, ()>(&mut bare, &()).unwrap_err();
    assert_eq!(
        answer(missing),
        (500, json!({"detail": "Internal Server Error"}))
    );
    assert_eq!(
        extract::<Extension<UserId>, ()>(&mut bare, &())
            .unwrap_err()
            .status(),
        500
    );
}

#[test]
fn a_constrained_single_path_parameter_is_located_by_name() {
    let mut parts = get("/", &[]);
    parts
        .extensions
        .insert(PathParams::from_pairs([("item_id", "0")]));
    let rejection =
        extract::<Path<Constrained<u32, Between<1, 1000>>>, ()>(&mut parts, &()).unwrap_err();
    assert_eq!(
        answer(rejection).1,
        json!({"detail": [{"type": "greater_than_equal", "loc": ["path", "item_id"],
                           "msg": "Input should be greater than or equal to 1", "input": "0",
                           "ctx": {"ge": 1}}]})
    );
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Page {
    limit: u32,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Token {
    x_token: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Item {
    name: String,
}

/// Extracts what a handler `(Json<Item>, Path<u32>, Query<Page>, Header<Token>)` would,
/// in that (argument) order, the way the handler layer does.
fn run_handler(request: Request) -> Option<corio_web::Response> {
    corio::run(async move {
        let (mut parts, body) = request.into_parts();
        let mut rejections = Rejections::new();
        rejections
            .take(<Path<u32> as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await);
        rejections.take(
            <Header<Token> as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await,
        );
        rejections
            .take(<Query<Page> as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await);
        if !rejections.is_fatal() {
            let request = Request::from_parts(parts, body);
            rejections.take(<Json<Item> as FromRequest<()>>::from_request(request, &()).await);
        }
        rejections.finish().err()
    })
}

#[test]
fn rejections_merge_into_one_422_in_fastapi_order() {
    let mut request = http::Request::builder()
        .uri("/items/x?limit=-1")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"name": 5}"#))
        .unwrap();
    request
        .extensions_mut()
        .insert(PathParams::from_pairs([("item_id", "x")]));
    let response = run_handler(request).unwrap();
    assert_eq!(
        answer(response),
        (
            422,
            json!({"detail": [
                {"type": "int_parsing", "loc": ["path", "item_id"],
                 "msg": "Input should be a valid integer, unable to parse string as an integer",
                 "input": "x"},
                {"type": "greater_than_equal", "loc": ["query", "limit"],
                 "msg": "Input should be greater than or equal to 0", "input": "-1",
                 "ctx": {"ge": 0}},
                {"type": "missing", "loc": ["header", "x-token"], "msg": "Field required",
                 "input": null},
                {"type": "string_type", "loc": ["body", "name"],
                 "msg": "Input should be a valid string", "input": 5},
            ]})
        )
    );
}

#[test]
fn a_rejection_that_is_not_about_values_wins() {
    let mut request = http::Request::builder()
        .uri("/items/x")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"name": "a long enough body"}"#))
        .unwrap();
    request
        .extensions_mut()
        .insert(PathParams::from_pairs([("item_id", "x")]));
    request.extensions_mut().insert(BodyLimit(4));
    let response = run_handler(request).unwrap();
    assert_eq!(
        answer(response),
        (413, json!({"detail": "Payload Too Large"}))
    );

    let mut rejections = Rejections::new();
    assert!(rejections.is_empty());
    rejections.push(HttpError::new(401, "Not authenticated"));
    rejections.push(StatusCode::IM_A_TEAPOT);
    assert!(rejections.is_fatal());
    assert_eq!(rejections.finish().unwrap_err().status(), 401);
}

/// A rejection that claims invalid values but names none still rejects: `finish` said
/// `Ok(())` for it, and the handler layer, finding an extractor without its value,
/// panicked (`unreachable!`). A custom extractor could do that; it is a 500 now.
#[test]
fn a_validation_rejection_without_errors_is_a_500_not_a_pass() {
    let mut rejections = Rejections::new();
    let value: Option<u32> = rejections.take(Err(RequestValidationError::default()));
    assert!(value.is_none());
    assert!(!rejections.is_empty());
    assert_eq!(rejections.finish().unwrap_err().status(), 500);
}

#[test]
fn nothing_rejected_is_ok() {
    let mut request = http::Request::builder()
        .uri("/items/1?limit=5")
        .header("content-type", "application/json")
        .header("x-token", "t")
        .body(Body::from(r#"{"name": "a"}"#))
        .unwrap();
    request
        .extensions_mut()
        .insert(PathParams::from_pairs([("item_id", "1")]));
    assert!(run_handler(request).is_none());
}

#[test]
fn result_extractors_hand_the_rejection_to_the_handler() {
    let mut parts = get("/?limit=x", &[]);
    let result = extract::<Result<Query<Page>, ExtractError>, ()>(&mut parts, &()).unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.status(), 422);
    assert_eq!(error.validation_error().unwrap().errors()[0].input, "x");

    let request = http::Request::builder().body(Body::from("{")).unwrap();
    let result = corio::run(
        <Result<Json<Item>, ExtractError> as FromRequest<()>>::from_request(request, &()),
    )
    .unwrap();
    assert!(result.is_err());
}

#[test]
fn head_extractors_also_work_in_the_body_position() {
    let request = http::Request::builder()
        .uri("/?limit=7")
        .body(Body::from("ignored"))
        .unwrap();
    let Query(page) = corio::run(<Query<Page> as FromRequest<(), _>>::from_request(
        request,
        &(),
    ))
    .unwrap();
    assert_eq!(page.limit, 7);
}
