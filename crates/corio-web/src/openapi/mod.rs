//! The OpenAPI 3.1 document of an app, written from the same types that validate its
//! requests: no second declaration.
//!
//! Every [`App`](crate::App) serves its document at `/openapi.json`, Swagger UI at
//! `/docs` and ReDoc at `/redoc` (all movable or switched off: [`App::openapi_url`],
//! [`App::docs`]). What goes in it:
//!
//! - **paths and methods** from the routes, **tags** from the [`Router`](crate::Router)s;
//! - **parameters** from the extractors: [`Path`](crate::extract::Path),
//!   [`Query`](crate::extract::Query), [`Header`](crate::extract::Header) and
//!   [`Cookie`](crate::extract::Cookie) of a struct give one parameter per field, with its
//!   type, whether it is required, its [constraints](crate::extract::Constrained) and its
//!   doc comment as the description;
//! - **request bodies** from [`Json<T>`](crate::extract::Json) and
//!   [`Form<T>`](crate::extract::Form), as JSON Schema (the `schemars` crate: derive
//!   `JsonSchema` beside `Deserialize`);
//! - **responses** from the handler's return type (`Json<T>`, text, HTML,
//!   [`ResponseModel<T>`](crate::response::ResponseModel), `Result`s of them), and the 422
//!   with FastAPI's `HTTPValidationError` schema wherever something is validated;
//! - **security** requirements and `securitySchemes` from the [security
//!   extractors](crate::security);
//! - `operationId` from the handler function's name (made unique), `summary` and
//!   `description` from its doc comment, and a declared status, extra responses, tags or
//!   deprecation, with the [`#[operation]`](crate::operation) attribute.
//!
//! ```
//! use corio_web::App;
//! use corio_web::extract::{Json, Path};
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize, Serialize, JsonSchema)]
//! struct Item {
//!     name: String,
//!     /// The price, in cents.
//!     price: u32,
//! }
//!
//! /// Read an item
//! ///
//! /// Returns the item with this id.
//! #[corio_web::operation(responses(404 = "Item not found"))]
//! async fn read_item(Path(item_id): Path<u32>) -> Json<Item> {
//!     Json(Item { name: format!("item {item_id}"), price: 100 })
//! }
//!
//! let spec = App::new().get("/items/{item_id}", read_item).openapi();
//! let operation = &spec["paths"]["/items/{item_id}"]["get"];
//! assert_eq!(operation["operationId"], "read_item");
//! assert_eq!(operation["summary"], "Read an item");
//! assert_eq!(operation["parameters"][0]["name"], "item_id");
//! assert_eq!(operation["parameters"][0]["schema"]["type"], "integer");
//! assert_eq!(
//!     operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
//!     "#/components/schemas/Item"
//! );
//! assert_eq!(operation["responses"]["404"]["description"], "Item not found");
//! assert!(operation["responses"]["422"].is_object());
//! assert_eq!(spec["components"]["schemas"]["Item"]["properties"]["price"]["description"], "The price, in cents.");
//! ```
//!
//! Own extractors and response types describe themselves by overriding the `describe`
//! method of their trait (see [`OperationDoc`]); those that do not are left out of the
//! document, as Starlette's plain routes are.
//!
//! [`App::openapi_url`]: crate::App::openapi_url
//! [`App::docs`]: crate::App::docs

pub mod check;
pub(crate) mod document;
mod operation;
pub(crate) mod registry;
mod schemas;
pub mod ui;

pub use operation::{OperationDoc, ParamIn};

use serde_json::{Value, json};

/// The `info`, `servers` and `tags` of an app's OpenAPI document (FastAPI's `title`,
/// `version`, `description`, `openapi_tags`, ... arguments).
///
/// ```
/// use corio_web::App;
/// use corio_web::openapi::ApiInfo;
///
/// let app = App::new().info(
///     ApiInfo::new("ChimichangApp", "0.0.1")
///         .description("Chimichangas for everyone.")
///         .tag("users", "Operations with users."),
/// );
/// let spec = app.openapi();
/// assert_eq!(spec["info"]["title"], "ChimichangApp");
/// assert_eq!(spec["tags"][0]["description"], "Operations with users.");
/// ```
#[derive(Clone, Debug)]
pub struct ApiInfo {
    title: String,
    version: String,
    summary: Option<String>,
    description: Option<String>,
    terms_of_service: Option<String>,
    contact: Option<Value>,
    license: Option<Value>,
    pub(crate) tags: Vec<Value>,
    pub(crate) servers: Vec<Value>,
}

impl Default for ApiInfo {
    fn default() -> ApiInfo {
        ApiInfo::new("corio-web", "0.1.0")
    }
}

impl ApiInfo {
    /// The API's title and version.
    pub fn new(title: &str, version: &str) -> ApiInfo {
        ApiInfo {
            title: title.to_string(),
            version: version.to_string(),
            summary: None,
            description: None,
            terms_of_service: None,
            contact: None,
            license: None,
            tags: Vec::new(),
            servers: Vec::new(),
        }
    }

    /// The API's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// A one-line summary.
    pub fn summary(mut self, summary: &str) -> ApiInfo {
        self.summary = Some(summary.to_string());
        self
    }

    /// A description (Markdown).
    pub fn description(mut self, description: &str) -> ApiInfo {
        self.description = Some(description.to_string());
        self
    }

    /// A URL to the terms of service.
    pub fn terms_of_service(mut self, url: &str) -> ApiInfo {
        self.terms_of_service = Some(url.to_string());
        self
    }

    /// Who to contact: a name, a URL, an email address (each may be empty).
    pub fn contact(mut self, name: &str, url: &str, email: &str) -> ApiInfo {
        let mut contact = serde_json::Map::new();
        for (key, value) in [("name", name), ("url", url), ("email", email)] {
            if !value.is_empty() {
                contact.insert(key.into(), json!(value));
            }
        }
        self.contact = Some(Value::Object(contact));
        self
    }

    /// The license, by SPDX identifier (`"MIT"`).
    pub fn license(mut self, name: &str, spdx_identifier: &str) -> ApiInfo {
        self.license = Some(json!({"name": name, "identifier": spdx_identifier}));
        self
    }

    /// Describes a tag (FastAPI's `openapi_tags`); tags are listed in the order given.
    pub fn tag(mut self, name: &str, description: &str) -> ApiInfo {
        self.tags
            .push(json!({"name": name, "description": description}));
        self
    }

    /// Adds a server the API is served from.
    pub fn server(mut self, url: &str, description: &str) -> ApiInfo {
        let mut server = json!({ "url": url });
        if !description.is_empty() {
            server["description"] = json!(description);
        }
        self.servers.push(server);
        self
    }

    /// The Info Object.
    pub(crate) fn to_json(&self) -> Value {
        let mut info = json!({"title": self.title, "version": self.version});
        let optional = [
            ("summary", self.summary.clone().map(Value::String)),
            ("description", self.description.clone().map(Value::String)),
            (
                "termsOfService",
                self.terms_of_service.clone().map(Value::String),
            ),
            ("contact", self.contact.clone()),
            ("license", self.license.clone()),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                info[key] = value;
            }
        }
        info
    }
}

/// What `#[operation]` expands to uses these; not public API.
#[doc(hidden)]
pub mod __private {
    pub use super::registry::OperationMeta;
    pub use inventory;
}
