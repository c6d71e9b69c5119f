//! [`PathParams`], which the router fills, and [`Path<T>`], which reads them.

use std::fmt;

use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::de::Shape;
use super::kv;
use super::{ExtractError, FromRequestParts, OptionalFromRequestParts, RequestValidationError};

/// The parameters of the matched route, in route order: `(name, value)` with the value
/// percent-decoded. The router puts one in the request's extensions before the extractors
/// run.
///
/// ```
/// use corio_web::extract::PathParams;
///
/// let mut params = PathParams::new();
/// params.push_encoded("name", "caf%C3%A9%20au%20lait").unwrap();
/// params.push("id", "7");
/// assert_eq!(params.get("name"), Some("café au lait"));
/// assert_eq!(params.iter().collect::<Vec<_>>(), [("name", "café au lait"), ("id", "7")]);
/// assert!(PathParams::new().push_encoded("x", "%FF").is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathParams {
    params: Vec<(String, String)>,
}

impl PathParams {
    /// None.
    pub fn new() -> PathParams {
        PathParams::default()
    }

    /// From `(name, decoded value)` pairs.
    pub fn from_pairs<I, K, V>(pairs: I) -> PathParams
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        PathParams {
            params: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Adds a parameter whose value is already decoded.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.params.push((name.into(), value.into()));
    }

    /// Adds a parameter from the raw path segment, percent-decoding it (`+` stays a `+` in
    /// a path). Fails if the decoded bytes are not UTF-8; the router should answer 400 (or
    /// 404) then.
    pub fn push_encoded(
        &mut self,
        name: impl Into<String>,
        raw: &str,
    ) -> Result<(), PathDecodeError> {
        let value = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| PathDecodeError {
                raw: raw.to_owned(),
            })?;
        self.params.push((name.into(), value.into_owned()));
        Ok(())
    }

    /// The value of the parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The parameters in route order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    fn to_value(&self) -> Value {
        let mut object = Map::new();
        for (name, value) in &self.params {
            object.insert(name.clone(), Value::String(value.clone()));
        }
        Value::Object(object)
    }
}

/// A path segment that does not percent-decode to UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathDecodeError {
    raw: String,
}

impl fmt::Display for PathDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "path segment {:?} does not decode to UTF-8", self.raw)
    }
}

impl std::error::Error for PathDecodeError {}

/// The route's path parameters, deserialized into `T`: one value (a route with one
/// parameter), a tuple (in route order) or a struct (by name). Errors are located at
/// `["path", name]`.
///
/// A `T` that does not fit the route (a tuple of the wrong length) is a program error,
/// answered with a 500.
///
/// ```
/// use corio_web::extract::{Path, PathParams};
///
/// let params = PathParams::from_pairs([("user", "ann"), ("item_id", "foo")]);
/// let errors = Path::<(String, u32)>::try_from_params(&params).unwrap_err();
/// assert_eq!(
///     errors.to_json(),
///     serde_json::json!({"detail": [{
///         "type": "int_parsing", "loc": ["path", "item_id"],
///         "msg": "Input should be a valid integer, unable to parse string as an integer",
///         "input": "foo"
///     }]})
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);

super::newtype_extractor!(Path);

impl<T: DeserializeOwned> Path<T> {
    /// Deserializes `params`.
    pub fn try_from_params(params: &PathParams) -> Result<Path<T>, RequestValidationError> {
        kv::extract_pairs_invalid(&params.params, || params.to_value(), "path", Shape::Path)
            .map(Path)
    }
}

fn extract<T: DeserializeOwned>(parts: &Parts) -> Result<Path<T>, ExtractError> {
    match parts.extensions.get::<PathParams>() {
        Some(params) => {
            kv::extract_pairs(&params.params, || params.to_value(), "path", Shape::Path)
        }
        None => kv::extract_pairs::<_, (String, String)>(
            &[],
            || Value::Object(Map::new()),
            "path",
            Shape::Path,
        ),
    }
    .map(Path)
}

kv::head_extractor!(Path, crate::openapi::ParamIn::Path);
