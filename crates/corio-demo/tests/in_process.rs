//! The app in-process (no sockets), through the library: its OpenAPI document is valid
//! and says what the handlers do, and its hooks start and stop the sweeper and close the
//! store.

use std::sync::Arc;
use std::time::Duration;

use corio_demo::app::{self, AppState};
use corio_demo::store::{Store, StoreError};
use corio_web::testing::TestClient;
use serde_json::{Value, json};

fn state() -> AppState {
    let store = Arc::new(Store::open_in_memory().unwrap());
    AppState::new(store, "in-process-token", Duration::from_secs(3600))
}

/// The document at /openapi.json is valid OpenAPI 3.1 (and, when
/// `CORIO_OPENAPI_VALIDATOR` names openapi-spec-validator, as `.ci/run` sets it, passes
/// that too).
#[test]
fn the_openapi_document_is_valid() {
    corio_web::testing::assert_valid_openapi("corio-demo", &app::build(state()).openapi());
}

#[test]
fn the_document_says_what_each_route_does() {
    let spec = app::build(state()).openapi();
    assert_eq!(spec["info"]["title"], "corio-demo");
    assert_eq!(spec["info"]["version"], env!("CARGO_PKG_VERSION"));
    let tags: Vec<&Value> = spec["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| &tag["name"])
        .collect();
    assert_eq!(tags, [&json!("notes"), &json!("meta")]);

    let paths = &spec["paths"];
    let bearer = json!([{"HTTPBearer": []}]);
    // Writes need the token; reads do not.
    for (path, method) in [
        ("/notes", "post"),
        ("/notes/{id}", "put"),
        ("/notes/{id}", "patch"),
        ("/notes/{id}", "delete"),
    ] {
        let operation = &paths[path][method];
        assert_eq!(operation["security"], bearer, "{method} {path}");
        assert!(operation["responses"]["401"].is_object(), "{method} {path}");
        assert_eq!(operation["tags"], json!(["notes"]), "{method} {path}");
    }
    for (path, method) in [
        ("/notes", "get"),
        ("/notes/{id}", "get"),
        ("/health", "get"),
    ] {
        assert!(
            paths[path][method]["security"].is_null(),
            "{method} {path} is open"
        );
    }
    let scheme = &spec["components"]["securitySchemes"]["HTTPBearer"];
    assert_eq!(scheme["scheme"], "bearer");
    assert!(scheme["description"].as_str().unwrap().contains("--token"));

    // Statuses and summaries from `#[operation]` and the doc comments.
    let create = &paths["/notes"]["post"];
    assert_eq!(create["summary"], "Create a note");
    assert!(create["responses"]["201"]["content"].is_object());
    let delete = &paths["/notes/{id}"]["delete"];
    assert!(delete["responses"]["204"].is_object());
    assert!(
        delete["responses"]["204"]["content"].is_null(),
        "a 204 has no body"
    );
    assert!(paths["/notes/{id}"]["get"]["responses"]["404"].is_object());
    assert_eq!(paths["/health"]["get"]["tags"], json!(["meta"]));

    // The constraints are in the schemas.
    let schemas = &spec["components"]["schemas"];
    let create_schema = &schemas["NoteCreate"]["properties"];
    assert_eq!(create_schema["title"]["minLength"], 1);
    assert_eq!(create_schema["title"]["maxLength"], 200);
    assert_eq!(create_schema["body"]["maxLength"], 10_000);
    assert_eq!(create_schema["tags"]["maxItems"], 10);
    assert_eq!(create_schema["tags"]["items"]["maxLength"], 32);
    assert_eq!(schemas["NoteCreate"]["required"], json!(["title"]));
    let limit = paths["/notes"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["maximum"], 100);
    assert_eq!(limit["schema"]["minimum"], 1);
}

#[test]
fn hooks_start_the_sweeper_and_close_the_store() {
    corio::run(async {
        let state = state();
        let store = state.store.clone();
        let client = TestClient::new(app::service(state));
        client.startup().await.unwrap();
        let created = client
            .post("/notes")
            .header("authorization", "Bearer in-process-token")
            .json(&json!({"title": "in process"}))
            .send()
            .await;
        assert_eq!(created.status(), 201, "{}", created.text());
        assert!(created.header("x-request-id").is_some());
        let health: Value = client.get("/health").send().await.json();
        assert_eq!(health["notes"], 1);

        client.shutdown().await.unwrap();
        assert!(matches!(store.count(), Err(StoreError::Closed)));
        // After the shutdown, the store answers 503.
        let closed = client.get("/notes").send().await;
        assert_eq!(closed.status(), 503);
        assert_eq!(closed.text(), r#"{"detail":"The database is closed"}"#);
        assert_eq!(client.get("/health").send().await.status(), 503);
    });
}
