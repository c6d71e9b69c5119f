//! `App::exception_handler`: FastAPI's `@app.exception_handler`, for the framework's errors
//! and the application's own.

use corio_web::App;
use corio_web::extract::Json;
use corio_web::extract::{Path, RequestValidationError};
use corio_web::http::StatusCode;
use corio_web::response::{Exception, HttpError};
use corio_web::testing::TestClient;
use serde_json::{Value, json};

async fn read_item(Path(item_id): Path<u32>) -> Result<String, HttpError> {
    if item_id == 3 {
        return Err(HttpError::new(418, "Nope! I don't like 3."));
    }
    Ok(format!("item {item_id}"))
}

#[derive(Clone, Debug)]
struct UnicornError {
    name: String,
}

async fn unicorn(Path(name): Path<String>) -> Result<&'static str, Exception<UnicornError>> {
    if name == "yolo" {
        return Err(Exception(UnicornError { name }));
    }
    Ok("a fine unicorn")
}

#[test]
fn validation_errors_can_be_answered_differently() {
    corio::run(async {
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .exception_handler(|errors: RequestValidationError| {
                // FastAPI's docs example: plain text instead of the JSON body.
                (
                    StatusCode::BAD_REQUEST,
                    format!("{} invalid value(s)", errors.errors().len()),
                )
            });
        let client = TestClient::new(app);
        let response = client.get("/items/foo").send().await;
        assert_eq!(response.status(), 400);
        assert_eq!(response.text(), "1 invalid value(s)");
        assert_eq!(client.get("/items/5").send().await.text(), "item 5");
    });
}

#[test]
fn http_errors_and_the_apps_own_404_can_be_answered_differently() {
    corio::run(async {
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .exception_handler(|error: HttpError| {
                Json(json!({"error": error.detail(), "code": error.status().as_u16()}))
            });
        let client = TestClient::new(app);
        let teapot: Value = client.get("/items/3").send().await.json();
        assert_eq!(
            teapot,
            json!({"error": "Nope! I don't like 3.", "code": 418})
        );
        let missing: Value = client.get("/nowhere").send().await.json();
        assert_eq!(missing, json!({"error": "Not Found", "code": 404}));
    });
}

#[test]
fn the_applications_own_exceptions_reach_their_handler() {
    corio::run(async {
        let with_handler = App::new()
            .get("/unicorns/{name}", unicorn)
            .exception_handler(|e: UnicornError| {
                (
                    StatusCode::IM_A_TEAPOT,
                    Json(json!({"message": format!("Oops! {} did something. There goes a rainbow...", e.name)})),
                )
            });
        let client = TestClient::new(with_handler);
        let response = client.get("/unicorns/yolo").send().await;
        assert_eq!(response.status(), 418);
        let body: Value = response.json();
        assert_eq!(
            body["message"],
            "Oops! yolo did something. There goes a rainbow..."
        );
        assert_eq!(
            client.get("/unicorns/bob").send().await.text(),
            "a fine unicorn"
        );

        // Without a handler, the client learns nothing but 500.
        let client = TestClient::new(App::new().get("/unicorns/{name}", unicorn));
        let response = client.get("/unicorns/yolo").send().await;
        assert_eq!(response.status(), 500);
        assert!(response.bytes().is_empty());
    });
}

#[test]
fn the_first_matching_handler_answers() {
    corio::run(async {
        let app = App::new()
            .get("/items/{item_id}", read_item)
            .exception_handler(|_: UnicornError| "unicorn")
            .exception_handler(|_: HttpError| "first http")
            .exception_handler(|_: HttpError| "second http");
        let client = TestClient::new(app);
        assert_eq!(client.get("/items/3").send().await.text(), "first http");
    });
}
