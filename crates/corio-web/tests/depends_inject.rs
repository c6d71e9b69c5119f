//! `Depends<T>`: dependencies resolved once per request, nested, and rejected into the
//! handler's one 422.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use corio_web::App;
use corio_web::depends::{self, Dependency, DependencyError, Depends};
use corio_web::extract::{
    ErrorKind, ExtractError, FromRequestParts, Header, Path, Query, RequestValidationError, State,
};
use corio_web::http::request::Parts;
use corio_web::response::HttpError;
use corio_web::testing::TestClient;
use serde::Deserialize;
use serde_json::{Value, json};

/// Counts how often each dependency is resolved.
#[derive(Default)]
struct Calls {
    page: AtomicUsize,
    user: AtomicUsize,
    token: AtomicUsize,
}

type AppState = Arc<Calls>;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Page {
    #[serde(default)]
    skip: u32,
    #[serde(default = "ten")]
    limit: u32,
}

fn ten() -> u32 {
    10
}

impl Dependency<AppState> for Page {
    type Rejection = ExtractError;

    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Self, ExtractError> {
        state.page.fetch_add(1, Ordering::SeqCst);
        let Query(page) = Query::<Page>::from_request_parts(parts, state).await?;
        Ok(page)
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct TokenHeader {
    x_token: String,
}

/// The caller's token, from the `x-token` header.
struct Token(String);

impl Dependency<AppState> for Token {
    type Rejection = ExtractError;

    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Self, ExtractError> {
        state.token.fetch_add(1, Ordering::SeqCst);
        let Header(header) = Header::<TokenHeader>::from_request_parts(parts, state).await?;
        Ok(Token(header.x_token))
    }
}

/// The current user: needs the token (a nested dependency); an unknown token is a 401.
struct User {
    name: String,
}

impl Dependency<AppState> for User {
    type Rejection = DependencyError;

    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Self, DependencyError> {
        state.user.fetch_add(1, Ordering::SeqCst);
        let Depends(token) = Depends::<Token>::from_request_parts(parts, state).await?;
        match token.0.as_str() {
            "alice-token" => Ok(User {
                name: "alice".into(),
            }),
            _ => Err(HttpError::new(401, "Invalid token").into()),
        }
    }
}

fn client() -> (TestClient, AppState) {
    async fn items(
        Depends(first): Depends<Page>,
        second: Depends<Page>,
        State(calls): State<AppState>,
    ) -> String {
        assert!(Arc::ptr_eq(&first, &second.0), "one value for the request");
        format!(
            "skip {} limit {}; resolved {}",
            first.skip,
            second.limit,
            calls.page.load(Ordering::SeqCst)
        )
    }
    async fn me(Depends(user): Depends<User>, Depends(token): Depends<Token>) -> String {
        format!("{} with {}", user.name, token.0)
    }
    async fn item(Path(id): Path<u32>, Depends(user): Depends<User>) -> String {
        format!("item {id} for {}", user.name)
    }
    let calls = AppState::default();
    let app = App::with_state(calls.clone())
        .get("/items/", items)
        .get("/me", me)
        .get("/items/{id}", item);
    (TestClient::new(app), calls)
}

#[test]
fn a_dependency_asked_for_twice_is_resolved_once_per_request() {
    corio::run(async {
        let (client, _) = client();
        let text = client.get("/items/?skip=3").send().await.text();
        assert_eq!(text, "skip 3 limit 10; resolved 1");
        let text = client.get("/items/?limit=7").send().await.text();
        assert_eq!(
            text, "skip 0 limit 7; resolved 2",
            "once per request, not once"
        );
    });
}

#[test]
fn nested_dependencies_share_the_request_cache() {
    corio::run(async {
        let (client, calls) = client();
        let response = client
            .get("/me")
            .header("x-token", "alice-token")
            .send()
            .await;
        assert_eq!(response.text(), "alice with alice-token");
        // The handler asked for the token after the user had resolved it.
        assert_eq!(calls.user.load(Ordering::SeqCst), 1);
        assert_eq!(calls.token.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_dependency_answers_as_it_is_when_not_about_values() {
    corio::run(async {
        let (client, _) = client();
        let response = client.get("/me").header("x-token", "mallory").send().await;
        assert_eq!(response.status(), 401);
        assert_eq!(response.text(), r#"{"detail":"Invalid token"}"#);
    });
}

#[test]
fn dependency_errors_join_the_handlers_422() {
    corio::run(async {
        let (client, calls) = client();
        let response = client.get("/items/foo").send().await;
        assert_eq!(response.status(), 422);
        let body: Value = response.json();
        let locs: Vec<&Value> = body["detail"]
            .as_array()
            .expect("a list of errors")
            .iter()
            .map(|e| &e["loc"])
            .collect();
        // FastAPI's order: the dependencies' errors, then the handler's own parameters.
        assert_eq!(
            locs,
            [&json!(["header", "x-token"]), &json!(["path", "id"])],
            "{body}"
        );
        assert_eq!(body["detail"][0]["type"], "missing");

        // Asked for twice (by the user and by the handler), the failed token is resolved
        // once; both askers report its error.
        let before = calls.token.load(Ordering::SeqCst);
        let response = client.get("/me").send().await;
        assert_eq!(response.status(), 422);
        assert_eq!(calls.token.load(Ordering::SeqCst), before + 1);
        let body: Value = response.json();
        assert!(
            body["detail"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["loc"] == json!(["header", "x-token"])),
            "{body}"
        );
    });
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Limit {
    limit: u32,
}

/// Reads two sources and reports both when both are wrong.
struct Caller {
    limit: u32,
    token: String,
}

impl<S: Send + Sync> Dependency<S> for Caller {
    type Rejection = DependencyError;

    async fn resolve(parts: &mut Parts, state: &S) -> Result<Self, DependencyError> {
        let (Query(limit), Header(token)) = depends::all((
            Query::<Limit>::from_request_parts(parts, state).await,
            Header::<TokenHeader>::from_request_parts(parts, state).await,
        ))?;
        Ok(Caller {
            limit: limit.limit,
            token: token.x_token,
        })
    }
}

#[test]
fn all_reports_every_invalid_value_of_a_dependency() {
    async fn caller(Depends(caller): Depends<Caller>) -> String {
        format!("{} {}", caller.limit, caller.token)
    }
    corio::run(async {
        let client = TestClient::new(App::new().get("/caller", caller));
        let ok = client
            .get("/caller?limit=5")
            .header("x-token", "t")
            .send()
            .await;
        assert_eq!(ok.text(), "5 t");

        let bad = client.get("/caller?limit=many").send().await;
        assert_eq!(bad.status(), 422);
        let body: Value = bad.json();
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["query", "limit"]),
            "{body}"
        );
        assert_eq!(
            body["detail"][1]["loc"],
            json!(["header", "x-token"]),
            "{body}"
        );
        assert_eq!(body["detail"].as_array().unwrap().len(), 2);
    });
}

#[test]
fn all_lets_the_first_response_win_over_validation_errors() {
    let missing = ErrorKind::Missing.at(vec!["query".into(), "q".into()], Value::Null);
    let result = depends::all((
        Err::<u32, _>(ExtractError::from(RequestValidationError::from(missing))),
        Err::<u32, _>(HttpError::new(403, "no")),
        Ok::<u32, HttpError>(3),
    ));
    match result {
        Err(DependencyError::Response(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected the 403, got {other:?}"),
    }
    let ok = depends::all((Ok::<u8, HttpError>(1), Ok::<&str, ExtractError>("two")));
    assert_eq!(ok.unwrap(), (1, "two"));
}

#[test]
fn a_rejection_without_errors_is_a_500_not_a_silent_pass() {
    let result = depends::all((Err::<u32, _>(RequestValidationError::default()),));
    match result {
        Err(DependencyError::Response(response)) => assert_eq!(response.status(), 500),
        other => panic!("expected a 500, got {other:?}"),
    }
}
