//! [`Schemas`]: the JSON Schemas of an OpenAPI document's request and response types.
//!
//! One type may read differently from how it writes (a `#[serde(default)]` field is
//! optional in a request and always present in a response), so requests and responses
//! have a generator each, as FastAPI has a pydantic mode each. Their definitions meet in
//! `components/schemas`: a type the same both ways is listed once, one that differs as
//! `Name-Input` and `Name-Output` (FastAPI's names). Until the two sets are merged, each
//! generator points its `$ref`s into a placeholder location of its own; [`Schemas::finish`]
//! names the final schemas and [`RefRewriter`] points every `$ref` of the document at them.

use std::collections::HashMap;

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::transform::{ReplaceBoolSchemas, Transform};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value};

/// Where the request side's `$ref`s point until the document is finished.
const INPUT_PATH: &str = "/components/x-corio-input";
/// Where the response side's `$ref`s point until the document is finished.
const OUTPUT_PATH: &str = "/components/x-corio-output";
/// Where they all point in the finished document.
const FINAL_PATH: &str = "/components/schemas";

/// The two schema generators of a document being built.
pub(crate) struct Schemas {
    input: SchemaGenerator,
    output: SchemaGenerator,
}

impl Schemas {
    pub(crate) fn new() -> Schemas {
        let settings = |path: &str| {
            SchemaSettings::draft2020_12()
                .with(|s| {
                    s.definitions_path = path.to_string().into();
                    // Schemas inside an OpenAPI 3.1 document take its dialect.
                    s.meta_schema = None;
                })
                .with_transform(objects_only())
        };
        Schemas {
            input: settings(INPUT_PATH).for_deserialize().into_generator(),
            output: settings(OUTPUT_PATH).for_serialize().into_generator(),
        }
    }

    /// The schema of `T` as a request reads it: a `$ref` for named types.
    pub(crate) fn input<T: JsonSchema + ?Sized>(&mut self) -> Value {
        as_object(self.input.subschema_for::<T>())
    }

    /// The schema of `T` as a response writes it: a `$ref` for named types.
    pub(crate) fn output<T: JsonSchema + ?Sized>(&mut self) -> Value {
        as_object(self.output.subschema_for::<T>())
    }

    /// `T`'s own schema as a request reads it, never a `$ref` to it (its fields become
    /// parameters); types it refers to are still defined once.
    pub(crate) fn input_inline<T: JsonSchema + ?Sized>(&mut self) -> Value {
        as_object(T::json_schema(&mut self.input))
    }

    /// Follows a request-side `$ref` to its definition, if `schema` is one.
    pub(crate) fn resolve_input<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let prefix = format!("#{INPUT_PATH}/");
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference
                .strip_prefix(&prefix)
                .and_then(|name| self.input.definitions().get(&decode_ref_name(name)))
                .unwrap_or(schema),
            None => schema,
        }
    }

    /// The merged definitions, for `components/schemas`, and the rewriter that points the
    /// document's `$ref`s at them.
    pub(crate) fn finish(mut self) -> (Map<String, Value>, RefRewriter) {
        let inputs = self.input.take_definitions(true);
        let outputs = self.output.take_definitions(true);
        let mut merged = Map::new();
        let mut renames = HashMap::new();
        let mut name = |side: &str, from: &str, to: &str| {
            renames.insert(
                format!("#{side}/{}", encode_ref_name(from)),
                format!("#{FINAL_PATH}/{}", encode_ref_name(to)),
            );
        };
        for (key, schema) in &inputs {
            match outputs.get(key) {
                Some(other) if other != schema => {
                    let (input_name, output_name) =
                        (format!("{key}-Input"), format!("{key}-Output"));
                    name(INPUT_PATH, key, &input_name);
                    name(OUTPUT_PATH, key, &output_name);
                    merged.insert(input_name, schema.clone());
                    merged.insert(output_name, other.clone());
                }
                _ => {
                    name(INPUT_PATH, key, key);
                    name(OUTPUT_PATH, key, key);
                    merged.insert(key.clone(), schema.clone());
                }
            }
        }
        for (key, schema) in outputs {
            if !inputs.contains_key(&key) {
                name(OUTPUT_PATH, &key, &key);
                merged.insert(key, schema);
            }
        }
        (merged, RefRewriter { renames })
    }
}

/// The transform that writes the boolean schemas `true` and `false` as `{}` and
/// `{"not": {}}` (`additionalProperties: false` stays). Both are valid OpenAPI 3.1, but
/// Swagger UI cannot show a response whose schema is a boolean, and FastAPI writes `{}`.
fn objects_only() -> ReplaceBoolSchemas {
    let mut transform = ReplaceBoolSchemas::default();
    transform.skip_additional_properties = true;
    transform
}

/// `schema` with [`objects_only`] applied, as JSON.
fn as_object(mut schema: Schema) -> Value {
    objects_only().transform(&mut schema);
    schema.to_value()
}

/// Points placeholder `$ref`s at the final `components/schemas` names.
pub(crate) struct RefRewriter {
    renames: HashMap<String, String>,
}

impl RefRewriter {
    /// Rewrites every `$ref` in `value`, recursively.
    pub(crate) fn rewrite(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if key == "$ref"
                        && let Value::String(reference) = child
                        && let Some(renamed) = self.renames.get(reference.as_str())
                    {
                        *reference = renamed.clone();
                    } else {
                        self.rewrite(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.rewrite(item)),
            _ => {}
        }
    }
}

/// A schema name as a JSON Pointer token inside a URI fragment (`~` and `/` escaped as
/// RFC 6901 says, other characters outside the fragment's alphabet percent-encoded), as
/// schemars writes its `$ref`s.
fn encode_ref_name(name: &str) -> String {
    let mut encoded = String::with_capacity(name.len());
    for byte in name.bytes() {
        match byte {
            b'~' => encoded.push_str("~0"),
            b'/' => encoded.push_str("~1"),
            b'!' | b'$' | b'&'..=b';' | b'=' | b'?'..=b'Z' | b'_' | b'a'..=b'z' => {
                encoded.push(char::from(byte));
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// The inverse of [`encode_ref_name`].
fn decode_ref_name(encoded: &str) -> String {
    let unescaped = encoded.replace("~1", "/").replace("~0", "~");
    percent_encoding::percent_decode_str(&unescaped)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(serde::Deserialize, serde::Serialize, JsonSchema)]
    #[allow(dead_code)]
    struct Same {
        a: u32,
    }

    #[derive(serde::Deserialize, serde::Serialize, JsonSchema)]
    #[allow(dead_code)]
    struct Differs {
        #[serde(default)]
        tags: Vec<String>,
        inner: Same,
    }

    #[test]
    fn a_type_read_and_written_alike_is_listed_once() {
        let mut schemas = Schemas::new();
        let mut request = schemas.input::<Same>();
        let mut response = schemas.output::<Same>();
        let (merged, rewriter) = schemas.finish();
        rewriter.rewrite(&mut request);
        rewriter.rewrite(&mut response);
        assert_eq!(merged.keys().collect::<Vec<_>>(), ["Same"]);
        assert_eq!(request, json!({"$ref": "#/components/schemas/Same"}));
        assert_eq!(request, response);
    }

    #[test]
    fn a_type_that_differs_gets_input_and_output_names() {
        let mut schemas = Schemas::new();
        let mut request = schemas.input::<Differs>();
        let mut response = schemas.output::<Differs>();
        let (mut merged, rewriter) = schemas.finish();
        rewriter.rewrite(&mut request);
        rewriter.rewrite(&mut response);
        let mut components = Value::Object(std::mem::take(&mut merged));
        rewriter.rewrite(&mut components);
        assert_eq!(
            request,
            json!({"$ref": "#/components/schemas/Differs-Input"})
        );
        assert_eq!(
            response,
            json!({"$ref": "#/components/schemas/Differs-Output"})
        );
        // Optional when read, always written.
        assert_eq!(components["Differs-Input"]["required"], json!(["inner"]));
        assert_eq!(
            components["Differs-Output"]["required"],
            json!(["tags", "inner"])
        );
        // `Same` is alike on both sides, and both point at the one definition.
        assert_eq!(
            components["Differs-Input"]["properties"]["inner"],
            json!({"$ref": "#/components/schemas/Same"})
        );
        assert_eq!(
            components["Differs-Output"]["properties"]["inner"],
            json!({"$ref": "#/components/schemas/Same"})
        );
    }

    #[test]
    fn boolean_schemas_are_written_as_objects() {
        #[derive(serde::Serialize, JsonSchema)]
        #[allow(dead_code)]
        struct Anything {
            value: serde_json::Value,
        }
        let mut schemas = Schemas::new();
        assert_eq!(schemas.output::<serde_json::Value>(), json!({}));
        schemas.output::<Anything>();
        let (merged, _) = schemas.finish();
        assert_eq!(merged["Anything"]["properties"]["value"], json!({}));
    }

    #[test]
    fn names_round_trip_through_ref_encoding() {
        for name in ["Plain", "a/b~c", "Généric<T>", "x y"] {
            assert_eq!(decode_ref_name(&encode_ref_name(name)), name);
        }
        assert_eq!(encode_ref_name("a/b~c"), "a~1b~0c");
    }

    #[test]
    fn inline_schemas_resolve_to_their_definition() {
        let mut schemas = Schemas::new();
        let reference = schemas.input::<Same>();
        assert_eq!(
            schemas.resolve_input(&reference)["properties"]["a"]["type"],
            "integer"
        );
        let inline = schemas.input_inline::<Same>();
        assert_eq!(inline["properties"]["a"]["minimum"], 0);
    }
}
