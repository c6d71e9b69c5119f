//! The OpenAPI document an app serves, checked against what its handlers declare.
#![allow(dead_code)] // the models exist for the document; handlers read few of their fields

use corio_web::depends::{Dependency, Depends};
use corio_web::extract::{
    Between, Constrained, Cookie, ExtractError, Form, FromRequestParts, Header, Json, Path, Query,
};
use corio_web::http::request::Parts;
use corio_web::http::{Method, StatusCode};
use corio_web::openapi::{ApiInfo, OperationDoc};
use corio_web::response::ResponseModel;
use corio_web::security::{ApiKeyHeader, ApiKeyName, HttpBasic, HttpBearer};
use corio_web::testing::TestClient;
use corio_web::{App, HttpError, Request, Response, Router, service_fn};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

corio_web::constraint! {
    /// A name: 1 to 50 characters.
    Name: min_length(1), max_length(50), pattern("^[a-z ]+$");
}

/// Where an item comes from.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Origin {
    Local,
    Imported,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
struct Image {
    url: String,
}

/// An item for sale.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
struct Item {
    name: Constrained<String, Name>,
    /// Optional free text.
    description: Option<String>,
    price: f64,
    #[serde(default)]
    tags: Vec<String>,
    origin: Origin,
    images: Option<Vec<Image>>,
}

#[derive(Deserialize, JsonSchema)]
struct ItemQuery {
    /// Text to search for.
    q: Option<String>,
    /// How many to skip.
    #[serde(default)]
    skip: u32,
    limit: Constrained<u32, Between<1, 100>>,
}

#[derive(Deserialize, JsonSchema)]
struct Tracking {
    /// The caller's trace id.
    x_trace_id: String,
}

#[derive(Deserialize, JsonSchema)]
struct Session {
    session: Option<String>,
}

/// Read one item
///
/// The item with this id, if the caller may see it.
#[corio_web::operation(tags("reading"), responses(404 = "Item not found"))]
async fn read_item(
    Path(item_id): Path<u64>,
    Query(_query): Query<ItemQuery>,
    Header(_tracking): Header<Tracking>,
    Cookie(_session): Cookie<Session>,
) -> Result<Json<Item>, HttpError> {
    Err(HttpError::new(404, format!("no item {item_id}")))
}

#[derive(Serialize, JsonSchema)]
struct Message {
    message: String,
}

/// Create an item
#[corio_web::operation(status = 201, responses(409 = (Message, "Already there")))]
async fn create_item(Json(item): Json<Item>) -> Json<Item> {
    Json(item)
}

#[corio_web::operation(deprecated, operation_id = "legacyList")]
async fn old_list() -> &'static str {
    "old"
}

async fn list_items() -> Json<Vec<Item>> {
    Json(Vec::new())
}

#[derive(Deserialize, JsonSchema)]
struct Login {
    username: String,
    password: String,
}

async fn login(Form(_login): Form<Login>) -> String {
    "ok".into()
}

async fn pair(Path((_a, _b)): Path<(u32, String)>) -> String {
    String::new()
}

async fn files() -> String {
    String::new()
}

async fn me(_bearer: HttpBearer) -> String {
    String::new()
}

async fn maybe_me(_basic: Option<HttpBasic>) -> String {
    String::new()
}

struct ServiceKey;
impl ApiKeyName for ServiceKey {
    const NAME: &'static str = "X-API-Key";
}

async fn keyed(_key: ApiKeyHeader<ServiceKey>) -> String {
    String::new()
}

/// Paging every list endpoint shares, as a dependency that documents its parameters.
#[derive(Deserialize, JsonSchema)]
struct Paging {
    #[serde(default)]
    page: u32,
}

impl<S: Send + Sync> Dependency<S> for Paging {
    type Rejection = ExtractError;

    async fn resolve(parts: &mut Parts, state: &S) -> Result<Self, ExtractError> {
        Ok(Query::<Paging>::from_request_parts(parts, state).await?.0)
    }

    fn describe(operation: &mut OperationDoc<'_>) {
        <Query<Paging> as FromRequestParts<S>>::describe(operation);
    }
}

fn app() -> App {
    let users = Router::new()
        .prefix("/users")
        .tag("users")
        .dependency::<Depends<Paging>>()
        .get("/me", me)
        .get("/maybe", maybe_me);
    App::new()
        .info(
            ApiInfo::new("Shop", "2.1.0")
                .description("A shop.")
                .tag("users", "People."),
        )
        .get("/items/{item_id}", read_item)
        .post("/items", create_item)
        .get("/items", list_items)
        .get("/old", old_list)
        .post("/login", login)
        .get("/pair/{a}/{b}", pair)
        .get("/files/{*path}", files)
        .get("/keyed", keyed)
        .get("/also-files/{*path}", files)
        .route_service(
            Method::GET,
            "/raw",
            service_fn(|_: Request| async { Response::new("raw".into()) }),
        )
        .include_router(users)
}

fn spec() -> Value {
    app().openapi()
}

fn parameter<'a>(operation: &'a Value, name: &str) -> &'a Value {
    operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no parameter {name} in {operation}"))
}

#[test]
fn the_document_is_openapi_3_1_with_the_apps_info_and_tags() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.1.0");
    assert_eq!(
        spec["info"],
        json!({"title": "Shop", "version": "2.1.0", "description": "A shop."})
    );
    assert_eq!(
        spec["tags"],
        json!([{"name": "users", "description": "People."}])
    );
    // A plain service is not documented, as Starlette's plain routes are not.
    assert!(spec["paths"].get("/raw").is_none());
}

#[test]
fn parameters_come_from_the_extractors_fields() {
    let spec = spec();
    let operation = &spec["paths"]["/items/{item_id}"]["get"];
    let item_id = parameter(operation, "item_id");
    assert_eq!(item_id["in"], "path");
    assert_eq!(item_id["required"], true);
    assert_eq!(item_id["schema"]["type"], "integer");
    assert_eq!(item_id["schema"]["format"], "uint64");

    let q = parameter(operation, "q");
    assert_eq!(
        (q["in"].as_str(), q["required"].as_bool()),
        (Some("query"), Some(false))
    );
    assert_eq!(q["description"], "Text to search for.");
    let skip = parameter(operation, "skip");
    assert_eq!(
        skip["required"], false,
        "a field with a default is optional"
    );
    let limit = parameter(operation, "limit");
    assert_eq!(limit["required"], true);
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 100);

    let trace = parameter(operation, "x-trace-id");
    assert_eq!(trace["in"], "header");
    assert_eq!(trace["description"], "The caller's trace id.");
    let session = parameter(operation, "session");
    assert_eq!(
        (session["in"].as_str(), session["required"].as_bool()),
        (Some("cookie"), Some(false))
    );
}

#[test]
fn doc_comments_and_operation_options_are_used() {
    let spec = spec();
    let read = &spec["paths"]["/items/{item_id}"]["get"];
    assert_eq!(read["operationId"], "read_item");
    assert_eq!(read["summary"], "Read one item");
    assert_eq!(
        read["description"],
        "The item with this id, if the caller may see it."
    );
    assert_eq!(read["tags"], json!(["reading"]));
    assert_eq!(
        read["responses"]["404"],
        json!({"description": "Item not found"})
    );
    assert_eq!(
        read["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Item-Output"
    );

    let old = &spec["paths"]["/old"]["get"];
    assert_eq!(old["deprecated"], true);
    assert_eq!(old["operationId"], "legacyList");
    assert_eq!(
        old["summary"], "Old List",
        "no doc comment: the name in words"
    );
    assert_eq!(
        old["responses"]["200"]["content"]["text/plain"]["schema"],
        json!({"type": "string"})
    );
    assert!(old["responses"].get("422").is_none(), "nothing to validate");
}

#[test]
fn a_declared_status_is_documented_and_answered() {
    let spec = spec();
    let create = &spec["paths"]["/items"]["post"];
    assert!(create["responses"].get("200").is_none());
    assert_eq!(
        create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Item-Output"
    );
    assert_eq!(
        create["responses"]["409"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Message"
    );
    assert_eq!(create["requestBody"]["required"], true);
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Item-Input"
    );
    corio::run(async {
        let client = TestClient::new(app());
        let body = json!({"name": "chair", "price": 3.5, "origin": "local"});
        let created = client.post("/items").json(&body).send().await;
        assert_eq!(created.status(), StatusCode::CREATED);
        assert_eq!(created.json::<Value>()["tags"], json!([]));
        // Validation still answers 422, not the declared status.
        let invalid = client
            .post("/items")
            .json(&json!({"name": "Chair!"}))
            .send()
            .await;
        assert_eq!(invalid.status(), 422);
    });
}

#[test]
fn models_nest_in_components_with_input_and_output_forms() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let input = &schemas["Item-Input"];
    let output = &schemas["Item-Output"];
    // `tags` has a default and `description` may be absent: optional when read; a
    // response always writes them (`null` for `None`).
    assert_eq!(input["required"], json!(["name", "price", "origin"]));
    assert_eq!(
        output["required"],
        json!(["name", "description", "price", "tags", "origin", "images"])
    );
    assert_eq!(input["properties"]["name"]["maxLength"], 50);
    assert_eq!(input["properties"]["name"]["pattern"], "^[a-z ]+$");
    assert_eq!(
        input["properties"]["description"]["description"],
        "Optional free text."
    );
    assert_eq!(
        input["properties"]["origin"]["$ref"],
        "#/components/schemas/Origin"
    );
    assert_eq!(schemas["Origin"]["enum"], json!(["local", "imported"]));
    assert_eq!(
        schemas["Origin"]["description"],
        "Where an item comes from."
    );
    assert_eq!(
        schemas["Image"]["properties"]["url"],
        json!({"type": "string"})
    );
    // Lists of models.
    assert_eq!(
        spec["paths"]["/items"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/Item-Output"}})
    );
    // FastAPI's validation error schemas, wherever something is validated.
    assert_eq!(
        schemas["HTTPValidationError"]["properties"]["detail"]["items"]["$ref"],
        "#/components/schemas/ValidationError"
    );
    assert_eq!(
        schemas["ValidationError"]["required"],
        json!(["loc", "msg", "type"])
    );
    // Every `$ref` in the document points at a schema it defines.
    let refs = corio_web::openapi::check::refs(&spec);
    assert!(!refs.is_empty());
    for reference in refs {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected ref {reference}"));
        assert!(schemas.get(name).is_some(), "{reference} is not defined");
    }
}

#[test]
fn forms_tuples_and_catch_alls() {
    let spec = spec();
    let login = &spec["paths"]["/login"]["post"];
    assert_eq!(
        login["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"],
        "#/components/schemas/Login"
    );
    let pair = &spec["paths"]["/pair/{a}/{b}"]["get"];
    assert_eq!(parameter(pair, "a")["schema"]["type"], "integer");
    assert_eq!(parameter(pair, "b")["schema"]["type"], "string");
    // `{*path}` is a path template's `{path}`, documented though no extractor reads it.
    let files = &spec["paths"]["/files/{path}"]["get"];
    assert_eq!(parameter(files, "path")["required"], true);
    // The same function on two routes: FastAPI's name_path_method ids keep them apart.
    let ids = [
        files["operationId"].as_str().unwrap(),
        spec["paths"]["/also-files/{path}"]["get"]["operationId"]
            .as_str()
            .unwrap(),
    ];
    assert_eq!(
        ids,
        ["files_files__path__get", "files_also_files__path__get"]
    );
}

#[test]
fn security_schemes_and_requirements_come_from_the_extractors() {
    let spec = spec();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(
        schemes["HTTPBearer"],
        json!({"type": "http", "scheme": "bearer"})
    );
    assert_eq!(
        schemes["HTTPBasic"],
        json!({"type": "http", "scheme": "basic"})
    );
    assert_eq!(
        schemes["APIKeyHeader"],
        json!({"type": "apiKey", "in": "header", "name": "X-API-Key"})
    );
    let me = &spec["paths"]["/users/me"]["get"];
    assert_eq!(me["security"], json!([{"HTTPBearer": []}]));
    assert_eq!(me["tags"], json!(["users"]));
    // The router's dependency documents its parameter on each of its routes.
    assert_eq!(parameter(me, "page")["in"], "query");
    // Optional credentials: the operation may also be called without them.
    assert_eq!(
        spec["paths"]["/users/maybe"]["get"]["security"],
        json!([{"HTTPBasic": []}, {}])
    );
    assert_eq!(
        spec["paths"]["/keyed"]["get"]["security"],
        json!([{"APIKeyHeader": []}])
    );
}

#[test]
fn response_models_are_documented_as_the_model() {
    #[derive(Serialize, Deserialize, JsonSchema)]
    struct Public {
        name: String,
    }
    async fn public() -> ResponseModel<Public> {
        ResponseModel::from_value(&json!({"name": "a", "password": "b"}))
    }
    let spec = App::new().get("/public", public).openapi();
    assert_eq!(
        spec["paths"]["/public"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/Public"
    );
}

#[test]
fn the_document_is_served_and_can_be_moved_or_switched_off() {
    corio::run(async {
        let client = TestClient::new(app());
        let served = client.get("/openapi.json").send().await;
        assert_eq!(served.status(), 200);
        assert_eq!(served.header("content-type"), Some("application/json"));
        assert_eq!(served.json::<Value>(), spec());

        let moved = TestClient::new(app().openapi_url(Some("/api/spec.json")));
        assert_eq!(moved.get("/api/spec.json").send().await.status(), 200);
        assert_eq!(moved.get("/openapi.json").send().await.status(), 404);

        let off = TestClient::new(app().openapi_url(None));
        assert_eq!(off.get("/openapi.json").send().await.status(), 404);
    });
}

#[test]
fn an_apps_own_route_wins_over_the_documents() {
    async fn mine() -> &'static str {
        "mine"
    }
    corio::run(async {
        let client = TestClient::new(App::new().get("/openapi.json", mine));
        assert_eq!(client.get("/openapi.json").send().await.text(), "mine");
    });
}

#[test]
fn the_document_validates() {
    corio_web::testing::assert_valid_openapi("openapi_spec", &spec());
}

#[test]
fn swagger_ui_and_redoc_are_served_with_their_assets_and_can_be_switched_off() {
    use corio_web::openapi::ui::DocsConfig;
    corio::run(async {
        let client = TestClient::new(app());
        let docs = client.get("/docs").send().await;
        assert_eq!(docs.status(), 200);
        assert_eq!(
            docs.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        let html = docs.text();
        assert!(html.contains("Shop - Swagger UI"), "{html}");
        assert!(html.contains("/openapi.json"));
        // Every script and stylesheet the page loads is served here, none from a CDN.
        let assets: Vec<&str> = html
            .split(['"', '\''])
            .filter(|s| s.starts_with('/') && (s.contains(".js") || s.contains(".css")))
            .collect();
        assert!(assets.len() >= 2, "{assets:?}");
        assert!(!html.contains("src=\"http"), "no remote scripts");
        for asset in assets {
            let served = client.get(asset).send().await;
            assert_eq!(served.status(), 200, "{asset}");
            assert!(served.bytes().len() > 1000, "{asset}");
        }
        let redoc = client.get("/redoc").send().await;
        assert_eq!(redoc.status(), 200);
        assert!(redoc.text().contains("Shop - ReDoc"));
        let redirect = client.get("/docs/oauth2-redirect").send().await;
        assert_eq!(redirect.status(), 200);
        // The pages are not operations of the API.
        assert!(spec()["paths"].get("/docs").is_none());

        let off = TestClient::new(app().docs(DocsConfig::new().docs_url(None).redoc_url(None)));
        assert_eq!(off.get("/docs").send().await.status(), 404);
        assert_eq!(off.get("/redoc").send().await.status(), 404);
        assert_eq!(off.get("/openapi.json").send().await.status(), 200);

        let no_document = TestClient::new(app().openapi_url(None));
        assert_eq!(no_document.get("/docs").send().await.status(), 404);
    });
}

fn first_twin() -> App {
    #[corio_web::operation(summary = "The first")]
    async fn twin() -> &'static str {
        "first"
    }
    App::new().get("/a", twin)
}

fn second_twin() -> App {
    #[corio_web::operation(summary = "The second", status = 201)]
    async fn twin() -> &'static str {
        "second"
    }
    App::new().get("/b", twin)
}

fn lone_nested() -> App {
    /// Only one of its name.
    #[corio_web::operation(status = 202)]
    async fn lonely() -> &'static str {
        "alone"
    }
    App::new().get("/c", lonely)
}

#[test]
fn nested_handlers_are_documented_when_their_name_is_unique_in_the_module() {
    let lone = lone_nested();
    let operation = &lone.openapi()["paths"]["/c"]["get"];
    assert_eq!(operation["summary"], "Only one of its name.");
    assert!(operation["responses"]["202"].is_object());
    // Two annotated `twin`s nested in two functions of this module cannot be told apart
    // by type name: neither's documentation (nor its status) is used for either.
    for (app, path) in [(first_twin(), "/a"), (second_twin(), "/b")] {
        let spec = app.openapi();
        assert_eq!(spec["paths"][path]["get"]["summary"], "Twin");
        corio::run(async move {
            let client = TestClient::new(app);
            assert_eq!(client.get(path).send().await.status(), 200);
        });
    }
    corio::run(async move {
        assert_eq!(TestClient::new(lone).get("/c").send().await.status(), 202);
    });
}
