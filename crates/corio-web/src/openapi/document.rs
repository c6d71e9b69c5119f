//! Assembling the OpenAPI 3.1 document from an app's routes.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::operation::path_template;
use super::{ApiInfo, OperationDoc, registry, schemas::Schemas};
use crate::app::RouteInfo;

/// How a route part writes itself into its operation.
pub(crate) type Describe = fn(&mut OperationDoc<'_>);

/// The document of `routes`; `dependencies` (the app's own) apply to every route.
pub(crate) fn build(info: &ApiInfo, dependencies: &[Describe], routes: &[RouteInfo]) -> Value {
    let documented: Vec<&RouteInfo> = routes.iter().filter(|r| r.doc.is_some()).collect();
    let ids = operation_ids(&documented);
    let mut schemas = Schemas::new();
    let mut security_schemes = Map::new();
    let mut paths = Map::new();
    let mut validates = false;
    for (route, id) in documented.iter().zip(ids) {
        let Some(doc) = &route.doc else { continue };
        let mut operation = OperationDoc::new(&route.pattern, &mut schemas, &mut security_schemes);
        for tag in &route.tags {
            operation.tag(tag);
        }
        for describe in dependencies.iter().chain(&doc.dependencies) {
            describe(&mut operation);
        }
        (doc.describe)(&mut operation);
        if let Some(meta) = registry::lookup(doc.handler_name) {
            (meta.describe)(&mut operation);
        }
        if !operation.has_summary()
            && let Some(name) = registry::function_name(doc.handler_name)
        {
            operation.summary(&title_case(name));
        }
        let (operation, uses_validation_error) = operation.finish(id);
        validates |= uses_validation_error;
        let path = paths
            .entry(path_template(&route.pattern))
            .or_insert_with(|| json!({}));
        path[route.method.as_str().to_ascii_lowercase()] = operation;
    }

    let (mut components_schemas, rewriter) = schemas.finish();
    if validates {
        components_schemas.insert("HTTPValidationError".into(), http_validation_error());
        components_schemas.insert("ValidationError".into(), validation_error());
    }
    let mut document = Map::new();
    document.insert("openapi".into(), json!("3.1.0"));
    document.insert("info".into(), info.to_json());
    if !info.servers.is_empty() {
        document.insert("servers".into(), json!(info.servers));
    }
    document.insert("paths".into(), Value::Object(paths));
    let mut components = Map::new();
    if !components_schemas.is_empty() {
        components_schemas.sort_keys();
        components.insert("schemas".into(), Value::Object(components_schemas));
    }
    if !security_schemes.is_empty() {
        components.insert("securitySchemes".into(), Value::Object(security_schemes));
    }
    if !components.is_empty() {
        document.insert("components".into(), Value::Object(components));
    }
    if !info.tags.is_empty() {
        document.insert("tags".into(), json!(info.tags));
    }
    let mut document = Value::Object(document);
    rewriter.rewrite(&mut document);
    document
}

/// Each operation's default `operationId`: the handler function's name; where two routes
/// share one (or the handler is a closure), FastAPI's `name_path_method` form; a number
/// after any that still collide.
fn operation_ids(routes: &[&RouteInfo]) -> Vec<String> {
    let names: Vec<Option<&str>> = routes
        .iter()
        .map(|r| {
            r.doc
                .as_ref()
                .and_then(|d| registry::function_name(d.handler_name))
        })
        .collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for name in names.iter().flatten() {
        *counts.entry(name).or_default() += 1;
    }
    let mut taken: HashMap<String, usize> = HashMap::new();
    routes
        .iter()
        .zip(&names)
        .map(|(route, name)| {
            let base = match name {
                Some(name) if counts[name] == 1 => name.to_string(),
                _ => {
                    let path: String = path_template(&route.pattern)
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect();
                    format!(
                        "{}{}_{}",
                        name.unwrap_or("handler"),
                        path,
                        route.method.as_str().to_ascii_lowercase()
                    )
                }
            };
            let seen = taken.entry(base.clone()).or_default();
            *seen += 1;
            if *seen == 1 {
                base
            } else {
                format!("{base}_{seen}")
            }
        })
        .collect()
}

/// `read_item` as words: "Read Item" (FastAPI's default summary).
fn title_case(name: &str) -> String {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// The body of every 422: `{"detail": [ValidationError, ...]}`.
fn http_validation_error() -> Value {
    json!({
        "title": "HTTPValidationError",
        "type": "object",
        "properties": {
            "detail": {
                "title": "Detail",
                "type": "array",
                "items": {"$ref": "#/components/schemas/ValidationError"},
            },
        },
    })
}

/// One entry of a 422's `detail`, as corio-web writes it (pydantic's error shape).
fn validation_error() -> Value {
    json!({
        "title": "ValidationError",
        "type": "object",
        "properties": {
            "loc": {
                "title": "Location",
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "msg": {"title": "Message", "type": "string"},
            "type": {"title": "Error Type", "type": "string"},
            "input": {"title": "Input"},
            "ctx": {"title": "Context", "type": "object"},
        },
        "required": ["loc", "msg", "type"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_names_in_words() {
        assert_eq!(title_case("read_item"), "Read Item");
        assert_eq!(title_case("list__users_"), "List Users");
    }
}
