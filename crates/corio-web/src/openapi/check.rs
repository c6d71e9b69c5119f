//! Consistency checks of a document that JSON Schema validation of the OpenAPI format
//! cannot make: every `$ref` resolves, every templated path parameter is declared, every
//! `operationId` is unique. [`crate::testing::assert_valid_openapi`] runs them, and the
//! OpenAPI 3.1 validator when one is configured.

use std::collections::HashSet;

use serde_json::Value;

use super::operation::path_parameter_names;

/// What is wrong with `document`; empty if nothing.
pub fn problems(document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if document["openapi"] != "3.1.0" {
        problems.push(format!(
            "`openapi` is {}, not \"3.1.0\"",
            document["openapi"]
        ));
    }
    for reference in refs(document) {
        let resolves = reference
            .strip_prefix('#')
            .and_then(|pointer| document.pointer(pointer))
            .is_some();
        if !resolves {
            problems.push(format!("`$ref` {reference} points at nothing"));
        }
    }
    let mut ids = HashSet::new();
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            let Some(operations) = item.as_object() else {
                continue;
            };
            for (method, operation) in operations {
                let declared: Vec<&str> = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                for name in path_parameter_names(path) {
                    if !declared.contains(&name) {
                        problems.push(format!(
                            "{method} {path}: path parameter {name} is not declared"
                        ));
                    }
                }
                match operation["operationId"].as_str() {
                    Some(id) if !ids.insert(id.to_string()) => {
                        problems.push(format!("{method} {path}: operationId {id} is used twice"));
                    }
                    Some(_) => {}
                    None => problems.push(format!("{method} {path}: no operationId")),
                }
                if operation["responses"]
                    .as_object()
                    .is_none_or(|r| r.is_empty())
                {
                    problems.push(format!("{method} {path}: no responses"));
                }
            }
        }
    }
    problems
}

/// Every `$ref` in `document`, in document order.
pub fn refs(document: &Value) -> Vec<String> {
    let mut refs = Vec::new();
    collect_refs(document, &mut refs);
    refs
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => refs.push(reference.clone()),
                    _ => collect_refs(child, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn broken_documents_are_reported() {
        let document = json!({
            "openapi": "3.1.0",
            "paths": {
                "/a/{id}": {"get": {"operationId": "x", "responses": {"200": {"$ref": "#/components/responses/Nope"}}}},
                "/b": {"get": {"operationId": "x", "responses": {}}},
            },
        });
        let problems = problems(&document);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("points at nothing"));
        assert!(problems.iter().any(|p| p.contains("path parameter id")));
        assert!(problems.iter().any(|p| p.contains("used twice")));
        assert!(problems.iter().any(|p| p.contains("no responses")));
    }
}
