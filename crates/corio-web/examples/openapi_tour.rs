//! A tour of the OpenAPI document, in the spirit of FastAPI's tutorial: one small shop API
//! whose `/docs`, `/redoc` and `/openapi.json` are written from the handlers' own types —
//! path, query and body parameters, nested models, enums, optional fields, lists, a file
//! upload, and security — with nothing declared twice.
//!
//! ```text
//! cargo run -p corio-web --example openapi_tour       # listens on 127.0.0.1:8000
//! # open http://127.0.0.1:8000/docs: "Authorize" with johndoe / secret, then try
//! # POST /items/; or http://127.0.0.1:8000/redoc
//! curl 127.0.0.1:8000/openapi.json
//! ```
//!
//! How each part reaches the document:
//! - a struct's doc comment is its schema's description, a field's doc comment its
//!   property's (and its parameter's, for `Query`/`Path`/`Header`/`Cookie`);
//! - `Constrained<T, C>` adds `minLength`, `maximum`, `pattern`, ... to the schema;
//! - `Option<T>` and `#[serde(default)]` fields are optional;
//! - a handler's doc comment is its summary (first paragraph) and description (the rest),
//!   and `#[operation]` adds FastAPI's decorator options (status, responses, tags);
//! - the security extractors list their schemes, and the routes that need them.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};

use corio::signal::{SignalKind, signals};
use corio_web::depends::{Dependency, Depends};
use corio_web::extract::{
    Between, Constrained, FromRequestParts, Json, MultipartForm, Path, Query, State, UploadFile,
};
use corio_web::http::header::WWW_AUTHENTICATE;
use corio_web::http::request::Parts;
use corio_web::openapi::{ApiInfo, OperationDoc};
use corio_web::response::ResponseModel;
use corio_web::security::{
    ApiKeyHeader, ApiKeyName, BearerToken, OAuth2Config, OAuth2PasswordBearer,
    OAuth2PasswordRequestForm, constant_time_eq, describe_security,
};
use corio_web::server::Server;
use corio_web::{App, HttpError, Router};
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------
// Models: each type is the validation and the documentation at once.

corio_web::constraint! {
    /// An item's name: 1 to 50 characters.
    ItemName: min_length(1), max_length(50);
    /// A price: more than zero.
    Positive: gt(0);
    /// An http(s) URL.
    HttpUrl: pattern("^https?://");
    /// A search text: 3 to 50 characters.
    SearchText: min_length(3), max_length(50);
}

/// The machine-learning models the shop knows (FastAPI's path enum).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum ModelName {
    Alexnet,
    Resnet,
    Lenet,
}

/// A picture of an item.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
struct Image {
    /// Where the picture is.
    url: Constrained<String, HttpUrl>,
    name: String,
}

/// An item for sale.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
struct Item {
    name: Constrained<String, ItemName>,
    /// Free text, shown under the name.
    description: Option<String>,
    /// The price, before tax.
    price: Constrained<f64, Positive>,
    tax: Option<f64>,
    #[serde(default)]
    tags: Vec<String>,
    /// Pictures, if any (a nested model in a list).
    images: Option<Vec<Image>>,
}

/// `GET /items/`'s query: search and paging.
#[derive(Deserialize, JsonSchema)]
struct ItemSearch {
    /// Only items whose name contains this.
    q: Option<Constrained<String, SearchText>>,
    /// How many items to skip.
    #[serde(default)]
    skip: usize,
    /// How many items to return at most.
    #[serde(default = "ten")]
    limit: Constrained<usize, Between<1, 100>>,
}

fn ten() -> Constrained<usize, Between<1, 100>> {
    Constrained::new(10).expect("10 is within 1..=100")
}

/// A user as the API shows one: never the password.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
struct User {
    username: String,
    full_name: Option<String>,
    disabled: bool,
}

/// An error message (the body of the declared 404s).
#[derive(Serialize, JsonSchema)]
struct Message {
    detail: String,
}

/// What `POST /files/` receives: a file and a note, as `multipart/form-data`.
#[derive(Deserialize, JsonSchema)]
struct Upload {
    /// The file to store.
    file: UploadFile,
    /// A note about it.
    note: Option<String>,
}

/// What `POST /files/` answers.
#[derive(Serialize, JsonSchema)]
struct Stored {
    filename: Option<String>,
    content_type: Option<String>,
    size: usize,
    note: Option<String>,
}

/// The application's state: the items, in memory.
#[derive(Clone, Default)]
struct Shop {
    items: Arc<Mutex<BTreeMap<u32, Item>>>,
}

// ---------------------------------------------------------------------------------------
// Security: an OAuth2 password flow for people, an API key for machines.

/// Tokens come from `POST /token` (Swagger UI's "Authorize" posts the login form there).
struct Login;
impl OAuth2Config for Login {
    const TOKEN_URL: &'static str = "token";
}
type Token = OAuth2PasswordBearer<Login>;

/// The key the stats endpoint wants, in an `X-API-Key` header.
struct StatsKey;
impl ApiKeyName for StatsKey {
    const NAME: &'static str = "X-API-Key";
}

/// The tutorial's user table: (username, full name, password, disabled).
const USERS: &[(&str, &str, &str, bool)] = &[
    ("johndoe", "John Doe", "secret", false),
    ("alice", "Alice Wonderson", "secret2", true),
];

/// FastAPI's `get_current_user`: the user the bearer token stands for. (The token is the
/// username, as in FastAPI's first version of the tutorial; sign it in a real API.)
struct CurrentUser(User);

impl<S: Send + Sync> Dependency<S> for CurrentUser {
    type Rejection = HttpError;

    async fn resolve(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        let token = Token::from_request_parts(parts, state).await?;
        let Some(&(username, full_name, _, disabled)) = USERS.iter().find(|user| user.0 == &*token)
        else {
            return Err(HttpError::new(401, "Invalid authentication credentials")
                .with_header(WWW_AUTHENTICATE, Token::challenge()));
        };
        if disabled {
            return Err(HttpError::new(400, "Inactive user"));
        }
        Ok(CurrentUser(User {
            username: username.into(),
            full_name: Some(full_name.into()),
            disabled,
        }))
    }

    /// `resolve` reads the OAuth2 token: the routes that depend on it need it.
    fn describe(operation: &mut OperationDoc<'_>) {
        describe_security::<Token>(operation);
    }
}

// ---------------------------------------------------------------------------------------
// Handlers.

/// Describe a model
///
/// A path parameter that is one of a fixed set of values: the document lists them.
#[corio_web::operation(tags("models"))]
async fn get_model(Path(model): Path<ModelName>) -> Json<serde_json::Value> {
    let message = match model {
        ModelName::Alexnet => "Deep Learning FTW!",
        ModelName::Lenet => "LeCNN all the images",
        ModelName::Resnet => "Have some residuals",
    };
    Json(serde_json::json!({"model_name": model, "message": message}))
}

/// List items
///
/// Optional search, then paging; every query parameter has a default.
fn list_items(State(shop): State<Shop>, Query(search): Query<ItemSearch>) -> Json<Vec<Item>> {
    let items = shop.items.lock().unwrap();
    let found = items
        .values()
        .filter(|item| {
            search
                .q
                .as_ref()
                .is_none_or(|q| item.name.contains(q.as_str()))
        })
        .skip(search.skip)
        .take(*search.limit)
        .cloned()
        .collect();
    Json(found)
}

/// Read an item
#[corio_web::operation(responses(404 = (Message, "No item with that id")))]
fn read_item(State(shop): State<Shop>, Path(item_id): Path<u32>) -> Result<Json<Item>, HttpError> {
    let items = shop.items.lock().unwrap();
    let item = items.get(&item_id).cloned();
    item.map(Json)
        .ok_or_else(|| HttpError::new(404, "Item not found"))
}

/// Create an item
///
/// Any signed-in user may add one; the answer is the item as stored, with a 201.
#[corio_web::operation(status = 201)]
fn create_item(
    State(shop): State<Shop>,
    _user: Depends<CurrentUser>,
    Json(item): Json<Item>,
) -> Json<Item> {
    let mut items = shop.items.lock().unwrap();
    let id = items.keys().next_back().map_or(1, |last| last + 1);
    items.insert(id, item.clone());
    Json(item)
}

/// Replace an item
#[corio_web::operation(responses(404 = (Message, "No item with that id")))]
fn replace_item(
    State(shop): State<Shop>,
    _user: Depends<CurrentUser>,
    Path(item_id): Path<u32>,
    Json(item): Json<Item>,
) -> Result<Json<Item>, HttpError> {
    let mut items = shop.items.lock().unwrap();
    let slot = items
        .get_mut(&item_id)
        .ok_or_else(|| HttpError::new(404, "Item not found"))?;
    *slot = item.clone();
    Ok(Json(item))
}

/// Log in
///
/// OAuth2's password flow: the login form in, a bearer token out.
#[corio_web::operation(tags("users"), responses(400 = "Incorrect username or password"))]
async fn login(form: OAuth2PasswordRequestForm) -> Result<BearerToken, HttpError> {
    let wrong = || HttpError::new(400, "Incorrect username or password");
    let &(username, _, password, _) = USERS
        .iter()
        .find(|user| user.0 == form.username)
        .ok_or_else(wrong)?;
    if !constant_time_eq(password.as_bytes(), form.password.as_bytes()) {
        return Err(wrong());
    }
    Ok(BearerToken::new(username))
}

/// Who am I
///
/// The signed-in user, through the response model: only `User`'s fields are sent.
#[corio_web::operation(tags("users"))]
async fn read_users_me(Depends(user): Depends<CurrentUser>) -> ResponseModel<User> {
    ResponseModel::from_value(&user.0)
}

/// Shop statistics, for machines with the key.
async fn stats(
    key: ApiKeyHeader<StatsKey>,
    State(shop): State<Shop>,
) -> Result<Json<serde_json::Value>, HttpError> {
    if !constant_time_eq(key.as_bytes(), b"stats-key") {
        return Err(HttpError::new(403, "Wrong key"));
    }
    let count = shop.items.lock().unwrap().len();
    Ok(Json(serde_json::json!({"items": count})))
}

/// Upload a file
///
/// `multipart/form-data`: the file and a note. The document shows a file picker.
#[corio_web::operation(tags("files"))]
async fn upload(MultipartForm(upload): MultipartForm<Upload>) -> Json<Stored> {
    Json(Stored {
        filename: upload.file.filename().map(str::to_string),
        content_type: upload.file.content_type().map(str::to_string),
        size: upload.file.len(),
        note: upload.note,
    })
}

/// The application.
fn app(shop: Shop) -> App<Shop> {
    let items = Router::new()
        .prefix("/items")
        .tag("items")
        .get("/", list_items)
        .post("/", create_item)
        .get("/{item_id}", read_item)
        .put("/{item_id}", replace_item);
    App::with_state(shop)
        .info(
            ApiInfo::new("Shop", "1.0.0")
                .description("A tour of what corio-web documents on its own.")
                .tag("items", "Things for sale.")
                .tag("users", "Logging in and who you are."),
        )
        .get("/models/{model}", get_model)
        .include_router(items)
        .post("/token", login)
        .get("/users/me", read_users_me)
        .get("/stats", stats)
        .post("/files/", upload)
}

#[corio::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into());
    let server = Server::bind(&addr).await?;
    let local = server.local_addr()?;
    println!("openapi_tour: listening on http://{local}");
    println!("openapi_tour: docs at http://{local}/docs and http://{local}/redoc");
    let mut stop = signals([SignalKind::interrupt(), SignalKind::terminate()])?;
    server
        .serve(app(Shop::default()))
        .with_graceful_shutdown(async move {
            stop.next().await;
            println!("openapi_tour: shutting down");
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use corio_web::testing::TestClient;
    use serde_json::{Value, json};

    #[test]
    fn openapi_document_is_valid() {
        corio_web::testing::assert_valid_openapi("openapi_tour", &app(Shop::default()).openapi());
    }

    #[test]
    fn the_document_shows_what_the_types_declare() {
        let spec = app(Shop::default()).openapi();
        let schemas = &spec["components"]["schemas"];
        assert_eq!(
            schemas["ModelName"]["enum"],
            json!(["alexnet", "resnet", "lenet"])
        );
        assert_eq!(
            spec["paths"]["/models/{model}"]["get"]["parameters"][0]["schema"]["$ref"],
            "#/components/schemas/ModelName"
        );
        let list = &spec["paths"]["/items/"]["get"];
        assert_eq!(list["tags"], json!(["items"]));
        let limit = list["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap();
        assert_eq!(limit["required"], false);
        assert_eq!(limit["schema"]["maximum"], 100);
        assert_eq!(limit["description"], "How many items to return at most.");
        let create = &spec["paths"]["/items/"]["post"];
        assert_eq!(create["summary"], "Create an item");
        assert!(create["responses"]["201"].is_object());
        assert_eq!(create["security"], json!([{"OAuth2PasswordBearer": []}]));
        assert_eq!(
            schemas["Image"]["properties"]["url"]["pattern"],
            "^https?://"
        );
        assert_eq!(
            spec["paths"]["/files/"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
                ["$ref"],
            "#/components/schemas/Upload"
        );
        assert_eq!(
            schemas["Upload"]["properties"]["file"],
            json!({"type": "string", "format": "binary", "description": "The file to store."})
        );
        assert_eq!(
            spec["components"]["securitySchemes"]["APIKeyHeader"]["name"],
            "X-API-Key"
        );
        assert_eq!(
            spec["paths"]["/stats"]["get"]["security"],
            json!([{"APIKeyHeader": []}])
        );
    }

    #[test]
    fn the_tour_works_end_to_end() {
        corio::run(async {
            let client = TestClient::new(app(Shop::default()));
            let item = json!({"name": "Chair", "price": 35.5, "images": [{"url": "https://x/chair.png", "name": "front"}]});
            // Creating needs a token.
            assert_eq!(
                client.post("/items/").json(&item).send().await.status(),
                401
            );
            let token: Value = client
                .post("/token")
                .form(&[("username", "johndoe"), ("password", "secret")])
                .send()
                .await
                .json();
            let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
            let created = client
                .post("/items/")
                .header("authorization", &bearer)
                .json(&item)
                .send()
                .await;
            assert_eq!(created.status(), 201);
            assert_eq!(created.json::<Value>()["tags"], json!([]));
            let bad = json!({"name": "", "price": -1, "images": [{"url": "ftp://x", "name": "n"}]});
            let invalid = client
                .post("/items/")
                .header("authorization", &bearer)
                .json(&bad)
                .send()
                .await;
            assert_eq!(invalid.status(), 422);
            let locs: Vec<Value> = invalid.json::<Value>()["detail"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["loc"].clone())
                .collect();
            assert_eq!(
                locs,
                [
                    json!(["body", "name"]),
                    json!(["body", "price"]),
                    json!(["body", "images", 0, "url"])
                ]
            );

            let listed: Value = client.get("/items/?q=Cha").send().await.json();
            assert_eq!(listed[0]["name"], "Chair");
            assert_eq!(client.get("/items/1").send().await.status(), 200);
            assert_eq!(client.get("/items/9").send().await.status(), 404);
            let me: Value = client
                .get("/users/me")
                .header("authorization", &bearer)
                .send()
                .await
                .json();
            assert_eq!(
                me,
                json!({"username": "johndoe", "full_name": "John Doe", "disabled": false})
            );
            let model: Value = client.get("/models/lenet").send().await.json();
            assert_eq!(model["message"], "LeCNN all the images");
            assert_eq!(client.get("/models/vgg").send().await.status(), 422);
            assert_eq!(client.get("/stats").send().await.status(), 401);
            let stats = client
                .get("/stats")
                .header("x-api-key", "stats-key")
                .send()
                .await;
            assert_eq!(stats.json::<Value>(), json!({"items": 1}));
        });
    }
}
