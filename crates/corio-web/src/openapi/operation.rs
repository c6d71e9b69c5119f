//! [`OperationDoc`]: one route's entry in the OpenAPI document, written by what the route
//! is made of — each extractor adds what it reads (parameters, a body, a security
//! requirement), the handler's return type adds its response, `#[operation]` adds the
//! summary, tags and declared responses.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde_json::{Map, Value, json};

use super::schemas::Schemas;

/// Where a parameter is read from (OpenAPI's `in`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamIn {
    /// A segment of the path: `/items/{item_id}`.
    Path,
    /// The query string.
    Query,
    /// A header; field `x_token` documents the `x-token` header.
    Header,
    /// A cookie.
    Cookie,
}

impl ParamIn {
    fn as_str(self) -> &'static str {
        match self {
            ParamIn::Path => "path",
            ParamIn::Query => "query",
            ParamIn::Header => "header",
            ParamIn::Cookie => "cookie",
        }
    }
}

/// What a route's parts write its OpenAPI operation into.
///
/// Extractors describe themselves through [`FromRequestParts::describe`] (and its
/// siblings), responses through [`IntoResponse::describe`]; an own extractor or response
/// type does the same with these methods.
///
/// ```
/// use corio_web::extract::{FromRequestParts, Query};
/// use corio_web::http::request::Parts;
/// use corio_web::openapi::{OperationDoc, ParamIn};
/// use corio_web::testing::TestClient;
/// use corio_web::App;
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// /// Paging, read from the query: an own extractor that documents itself.
/// #[derive(Deserialize, JsonSchema)]
/// struct Paging {
///     /// How many items to skip.
///     #[serde(default)]
///     skip: u32,
/// }
///
/// impl<S: Send + Sync> FromRequestParts<S> for Paging {
///     type Rejection = corio_web::extract::ExtractError;
///     async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
///         Ok(Query::<Paging>::from_request_parts(parts, state).await?.0)
///     }
///     fn describe(operation: &mut OperationDoc<'_>) {
///         operation.parameters_from::<Paging>(ParamIn::Query);
///     }
/// }
///
/// async fn list(paging: Paging) -> String { paging.skip.to_string() }
///
/// let spec = App::new().get("/items", list).openapi();
/// let skip = &spec["paths"]["/items"]["get"]["parameters"][0];
/// assert_eq!(skip["name"], "skip");
/// assert_eq!(skip["in"], "query");
/// assert_eq!(skip["required"], false);
/// assert_eq!(skip["description"], "How many items to skip.");
/// ```
///
/// [`FromRequestParts::describe`]: crate::extract::FromRequestParts::describe
/// [`IntoResponse::describe`]: crate::response::IntoResponse::describe
pub struct OperationDoc<'a> {
    pattern: &'a str,
    schemas: &'a mut Schemas,
    security_schemes: &'a mut Map<String, Value>,
    parameters: Vec<Value>,
    request_body: Option<Map<String, Value>>,
    body_required: bool,
    /// The success response's content, by media type.
    success: Map<String, Value>,
    success_description: Option<String>,
    /// Responses declared besides the success one, by status.
    responses: Map<String, Value>,
    security: Vec<Value>,
    optional_security: bool,
    /// Inside [`OperationDoc::optional`]: what is added is not required.
    optional_depth: u32,
    /// Inside [`OperationDoc::errors`]: success content is not the operation's.
    error_depth: u32,
    summary: Option<String>,
    description: Option<String>,
    operation_id: Option<String>,
    tags: Vec<String>,
    deprecated: bool,
    status: Option<u16>,
}

impl<'a> OperationDoc<'a> {
    pub(crate) fn new(
        pattern: &'a str,
        schemas: &'a mut Schemas,
        security_schemes: &'a mut Map<String, Value>,
    ) -> OperationDoc<'a> {
        OperationDoc {
            pattern,
            schemas,
            security_schemes,
            parameters: Vec::new(),
            request_body: None,
            body_required: false,
            success: Map::new(),
            success_description: None,
            responses: Map::new(),
            security: Vec::new(),
            optional_security: false,
            optional_depth: 0,
            error_depth: 0,
            summary: None,
            description: None,
            operation_id: None,
            tags: Vec::new(),
            deprecated: false,
            status: None,
        }
    }

    /// The route's path pattern (`/items/{item_id}`).
    pub fn pattern(&self) -> &str {
        self.pattern
    }

    /// The names of the pattern's parameters, in order.
    pub fn path_parameter_names(&self) -> Vec<&str> {
        path_parameter_names(self.pattern)
    }

    /// Runs `describe` with what it adds made optional: the parameters of an
    /// `Option<Query<T>>`, the body of an `Option<Json<T>>`.
    pub fn optional(&mut self, describe: impl FnOnce(&mut OperationDoc<'a>)) {
        self.optional_depth += 1;
        describe(self);
        self.optional_depth -= 1;
    }

    /// Runs `describe` for the error side of a `Result`: the responses it declares count,
    /// a success body it describes does not.
    pub fn errors(&mut self, describe: impl FnOnce(&mut OperationDoc<'a>)) {
        self.error_depth += 1;
        describe(self);
        self.error_depth -= 1;
    }

    fn is_optional(&self) -> bool {
        self.optional_depth > 0
    }

    /// The schema of `T` as requests carry it (a `$ref` to `components/schemas` for named
    /// types).
    pub fn input_schema<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.schemas.input::<T>()
    }

    /// The schema of `T` as responses carry it.
    pub fn output_schema<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.schemas.output::<T>()
    }

    /// Adds a Parameter Object (`{"name", "in", "required", "schema", ...}`). A parameter
    /// of the same name and place is documented once.
    pub fn parameter(&mut self, mut parameter: Value) {
        if self.is_optional()
            && parameter["in"] != "path"
            && let Some(object) = parameter.as_object_mut()
        {
            object.insert("required".into(), Value::Bool(false));
        }
        let same = |p: &Value| p["name"] == parameter["name"] && p["in"] == parameter["in"];
        if !self.parameters.iter().any(same) {
            self.parameters.push(parameter);
        }
    }

    /// Adds a parameter per field of `T` (a struct), read from `location`: required unless
    /// the field is optional or has a default, its doc comment as the description.
    ///
    /// For [`ParamIn::Path`], `T` may also be one value (the pattern's first parameter)
    /// or a tuple (the pattern's parameters in order).
    pub fn parameters_from<T: JsonSchema + ?Sized>(&mut self, location: ParamIn) {
        let schema = self.schemas.input_inline::<T>();
        let mut fields = Vec::new();
        let mut required = Vec::new();
        collect_fields(self.schemas, &schema, &mut fields, &mut required);
        if !fields.is_empty() {
            for (name, field_schema) in fields {
                let is_required = location == ParamIn::Path || required.contains(&name);
                let name = match location {
                    ParamIn::Header => name.replace('_', "-"),
                    _ => name,
                };
                self.parameter(parameter(location, &name, is_required, field_schema));
            }
            return;
        }
        if location != ParamIn::Path {
            // A query or header read as one value has no field names to document.
            return;
        }
        let names: Vec<String> = self
            .path_parameter_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        if let Some(Value::Array(items)) = schema.get("prefixItems") {
            for (name, item) in names.iter().zip(items) {
                self.parameter(parameter(ParamIn::Path, name, true, item.clone()));
            }
        } else if let Some(name) = names.first() {
            // One value: named types (an enum) are referenced, as FastAPI does.
            let schema = self.schemas.input::<T>();
            self.parameter(parameter(ParamIn::Path, name, true, schema));
        }
    }

    /// Documents the request body as `T` in `content_type` (required unless inside
    /// [`optional`](OperationDoc::optional)).
    pub fn request_body<T: JsonSchema + ?Sized>(&mut self, content_type: &str) {
        let schema = self.schemas.input::<T>();
        self.request_body_schema(content_type, schema);
    }

    /// Documents the request body in `content_type` with a schema given as JSON.
    pub fn request_body_schema(&mut self, content_type: &str, schema: Value) {
        let required = !self.is_optional();
        let content = self.request_body.get_or_insert_with(Map::new);
        content.insert(content_type.to_string(), json!({ "schema": schema }));
        self.body_required |= required;
    }

    /// Documents the success response's body as `T` in `content_type`.
    pub fn response_body<T: JsonSchema + ?Sized>(&mut self, content_type: &str) {
        if self.error_depth > 0 {
            return;
        }
        let schema = self.schemas.output::<T>();
        self.response_body_schema(content_type, schema);
    }

    /// Documents the success response's body in `content_type` with a schema given as JSON.
    pub fn response_body_schema(&mut self, content_type: &str, schema: Value) {
        if self.error_depth > 0 {
            return;
        }
        self.success
            .insert(content_type.to_string(), json!({ "schema": schema }));
    }

    /// Sets the success response's description (FastAPI's `response_description`).
    pub fn response_description(&mut self, description: &str) {
        self.success_description = Some(description.to_string());
    }

    /// Declares a response with `status` whose body is a `T` in JSON (FastAPI's
    /// `responses={404: {"model": Message}}`).
    pub fn response<T: JsonSchema + ?Sized>(&mut self, status: u16, description: &str) {
        let schema = self.schemas.output::<T>();
        self.responses.insert(
            status.to_string(),
            json!({
                "description": description,
                "content": {"application/json": {"schema": schema}},
            }),
        );
    }

    /// Declares a response with `status` and no documented body.
    pub fn response_without_body(&mut self, status: u16, description: &str) {
        self.responses
            .insert(status.to_string(), json!({ "description": description }));
    }

    /// Requires the security scheme `name` (a Security Scheme Object, listed once in
    /// `components/securitySchemes`) with `scopes`. Inside
    /// [`optional`](OperationDoc::optional) the operation may also be called without it.
    pub fn security(&mut self, name: &str, scheme: Value, scopes: &[Cow<'_, str>]) {
        self.security_schemes.insert(name.to_string(), scheme);
        let requirement = json!({ name: scopes });
        if !self.security.contains(&requirement) {
            self.security.push(requirement);
        }
        self.optional_security |= self.is_optional();
    }

    /// Sets the summary (by default the doc comment's first line, or the function's name
    /// in words: `read_item` is "Read Item").
    pub fn summary(&mut self, summary: &str) {
        self.summary = Some(summary.to_string());
    }

    /// Sets the description (by default the doc comment after its first paragraph).
    pub fn description(&mut self, description: &str) {
        self.description = Some(description.to_string());
    }

    /// Takes the summary and the description from a doc comment: the first paragraph is
    /// the summary, the rest the description.
    pub fn doc_comment(&mut self, doc: &str) {
        let doc = doc.trim();
        if doc.is_empty() {
            return;
        }
        let (first, rest) = match doc.split_once("\n\n") {
            Some((first, rest)) => (first, rest.trim()),
            None => (doc, ""),
        };
        let summary: Vec<&str> = first.lines().map(str::trim).collect();
        self.summary(&summary.join(" "));
        if !rest.is_empty() {
            self.description(rest);
        }
    }

    /// Sets the `operationId` (by default the handler function's name, made unique).
    pub fn operation_id(&mut self, id: &str) {
        self.operation_id = Some(id.to_string());
    }

    /// Adds a tag.
    pub fn tag(&mut self, tag: &str) {
        if !self.tags.iter().any(|t| t == tag) {
            self.tags.push(tag.to_string());
        }
    }

    /// Marks the operation deprecated.
    pub fn deprecated(&mut self) {
        self.deprecated = true;
    }

    /// Sets the success response's status (FastAPI's `status_code`; 200 by default).
    pub fn status(&mut self, status: u16) {
        self.status = Some(status);
    }

    pub(crate) fn has_summary(&self) -> bool {
        self.summary.is_some()
    }

    /// The Operation Object (`operation_id` is used unless one was set), and whether it
    /// refers to the `HTTPValidationError` schema (then the document must define it).
    pub(crate) fn finish(mut self, operation_id: String) -> (Value, bool) {
        // Every parameter of the path must be documented: those no extractor reads are
        // strings.
        for name in path_parameter_names(self.pattern) {
            let documented = self
                .parameters
                .iter()
                .any(|p| p["in"] == "path" && p["name"] == name);
            if !documented {
                self.parameters.push(parameter(
                    ParamIn::Path,
                    name,
                    true,
                    json!({"type": "string"}),
                ));
            }
        }
        let mut operation = Map::new();
        if !self.tags.is_empty() {
            operation.insert("tags".into(), json!(self.tags));
        }
        if let Some(summary) = self.summary {
            operation.insert("summary".into(), json!(summary));
        }
        if let Some(description) = self.description {
            operation.insert("description".into(), json!(description));
        }
        operation.insert(
            "operationId".into(),
            json!(self.operation_id.unwrap_or(operation_id)),
        );
        let validates = !self.parameters.is_empty() || self.request_body.is_some();
        if !self.parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(self.parameters));
        }
        if let Some(content) = self.request_body {
            let mut body = json!({ "content": content });
            if self.body_required {
                body["required"] = json!(true);
            }
            operation.insert("requestBody".into(), body);
        }
        let status = self.status.unwrap_or(200);
        let mut responses = Map::new();
        let description = self
            .success_description
            .unwrap_or_else(|| "Successful Response".to_string());
        let mut success = json!({ "description": description });
        if !self.success.is_empty() && status != 204 && status != 304 {
            success["content"] = Value::Object(self.success);
        }
        responses.insert(status.to_string(), success);
        for (code, response) in self.responses {
            responses.insert(code, response);
        }
        let uses_validation_error = validates && !responses.contains_key("422");
        if uses_validation_error {
            responses.insert(
                "422".into(),
                json!({
                    "description": "Validation Error",
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/HTTPValidationError"
                    }}},
                }),
            );
        }
        operation.insert("responses".into(), Value::Object(responses));
        if !self.security.is_empty() {
            let mut security = self.security;
            if self.optional_security {
                security.push(json!({}));
            }
            operation.insert("security".into(), Value::Array(security));
        }
        if self.deprecated {
            operation.insert("deprecated".into(), json!(true));
        }
        (Value::Object(operation), uses_validation_error)
    }
}

/// A Parameter Object; the schema's description moves up to the parameter, where Swagger
/// UI shows it.
fn parameter(location: ParamIn, name: &str, required: bool, mut schema: Value) -> Value {
    let mut parameter = json!({
        "name": name,
        "in": location.as_str(),
        "required": required,
    });
    if let Some(description) = schema.as_object_mut().and_then(|s| s.remove("description")) {
        parameter["description"] = description;
    }
    if let Some(object) = schema.as_object_mut()
        && object.get("deprecated") == Some(&Value::Bool(true))
    {
        parameter["deprecated"] = json!(true);
    }
    parameter["schema"] = schema;
    parameter
}

/// The properties of an object schema (following `$ref`s and `allOf`, which flattened
/// fields produce), and which are required.
fn collect_fields(
    schemas: &Schemas,
    schema: &Value,
    fields: &mut Vec<(String, Value)>,
    required: &mut Vec<String>,
) {
    let schema = schemas.resolve_input(schema);
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, property) in properties {
            if !fields.iter().any(|(n, _)| n == name) {
                fields.push((name.clone(), property.clone()));
            }
        }
    }
    if let Some(Value::Array(names)) = schema.get("required") {
        required.extend(names.iter().filter_map(|n| n.as_str().map(str::to_string)));
    }
    if let Some(Value::Array(parts)) = schema.get("allOf") {
        for part in parts {
            collect_fields(schemas, part, fields, required);
        }
    }
}

/// The parameter names of a route pattern: `/a/{x}/b/{rest:path}` (or `{*rest}`) has `x`
/// and `rest`.
pub(crate) fn path_parameter_names(pattern: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        // `{{` is an escaped brace in matchit patterns.
        if rest[open + 1..].starts_with('{') {
            rest = &rest[open + 2..];
            continue;
        }
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        let name = name.trim_start_matches('*');
        names.push(name.split_once(':').map_or(name, |(name, _converter)| name));
        rest = &rest[open + close + 1..];
    }
    names
}

/// A route pattern as an OpenAPI path template: a catch-all `{rest:path}` (or `{*rest}`)
/// is `{rest}`.
pub(crate) fn path_template(pattern: &str) -> String {
    let mut template = pattern.replace("{*", "{");
    for name in path_parameter_names(pattern) {
        template = template.replace(&format!("{{{name}:path}}"), &format!("{{{name}}}"));
    }
    template
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_parameters_are_named_in_order() {
        assert_eq!(path_parameter_names("/a/{x}/b/{*rest}"), ["x", "rest"]);
        assert_eq!(path_parameter_names("/plain"), Vec::<&str>::new());
        assert_eq!(path_template("/files/{*path}"), "/files/{path}");
        assert_eq!(path_parameter_names("/f/{file_path:path}"), ["file_path"]);
        assert_eq!(path_template("/f/{file_path:path}"), "/f/{file_path}");
    }

    #[test]
    fn doc_comments_split_into_summary_and_description() {
        let mut schemas = Schemas::new();
        let mut security = Map::new();
        let mut doc = OperationDoc::new("/", &mut schemas, &mut security);
        doc.doc_comment("Create an item\nwith everything.\n\nLong text.\n\nMore.");
        let (operation, _) = doc.finish("create_item".into());
        assert_eq!(operation["summary"], "Create an item with everything.");
        assert_eq!(operation["description"], "Long text.\n\nMore.");
        assert_eq!(operation["operationId"], "create_item");
        assert_eq!(
            operation["responses"]["200"],
            json!({"description": "Successful Response"})
        );
        assert!(operation.get("parameters").is_none());
    }

    #[test]
    fn undocumented_path_parameters_are_strings_and_422_comes_with_parameters() {
        let mut schemas = Schemas::new();
        let mut security = Map::new();
        let doc = OperationDoc::new("/files/{*path}", &mut schemas, &mut security);
        let (operation, validated) = doc.finish("f".into());
        assert!(validated);
        assert_eq!(
            operation["parameters"],
            json!([{"name": "path", "in": "path", "required": true, "schema": {"type": "string"}}])
        );
        assert_eq!(
            operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/HTTPValidationError"
        );
    }

    #[test]
    fn optional_security_admits_anonymous_calls() {
        let mut schemas = Schemas::new();
        let mut schemes = Map::new();
        let mut doc = OperationDoc::new("/", &mut schemas, &mut schemes);
        doc.optional(|doc| {
            doc.security(
                "HTTPBearer",
                json!({"type": "http", "scheme": "bearer"}),
                &[],
            )
        });
        let (operation, _) = doc.finish("me".into());
        assert_eq!(operation["security"], json!([{"HTTPBearer": []}, {}]));
        assert_eq!(schemes["HTTPBearer"]["scheme"], "bearer");
    }
}
