//! [`Query<T>`]: the query string.

use std::borrow::Cow;

use http::Uri;
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::de::Shape;
use super::kv::{self, multi_object};
use super::{ExtractError, FromRequestParts, OptionalFromRequestParts, RequestValidationError};

/// The query string, deserialized into `T` (usually a struct, one field per parameter).
///
/// Values are percent-decoded (`+` is a space). A repeated key fills a `Vec` field with
/// every value; a scalar field takes the last one, as Starlette does. Errors are located
/// at `["query", name]`, all of them at once.
///
/// `Option<Query<T>>` is `None` when every required field is absent.
///
/// ```
/// use corio_web::extract::Query;
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, schemars::JsonSchema)]
/// struct Search { q: String, tag: Vec<String>, page: Option<u32> }
///
/// let Query(search) = Query::<Search>::try_from_uri(&"/?q=a+b&tag=x&tag=y".parse().unwrap())
///     .unwrap();
/// assert_eq!((search.q.as_str(), search.tag.len(), search.page), ("a b", 2, None));
///
/// let errors = Query::<Search>::try_from_uri(&"/?page=two".parse().unwrap()).unwrap_err();
/// assert_eq!(
///     errors.to_json(),
///     serde_json::json!({"detail": [
///         {"type": "missing", "loc": ["query", "q"], "msg": "Field required", "input": null},
///         {"type": "missing", "loc": ["query", "tag"], "msg": "Field required", "input": null},
///         {"type": "int_parsing", "loc": ["query", "page"],
///          "msg": "Input should be a valid integer, unable to parse string as an integer",
///          "input": "two"},
///     ]})
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

super::newtype_extractor!(Query);

impl<T: DeserializeOwned> Query<T> {
    /// Deserializes the query of `uri`.
    pub fn try_from_uri(uri: &Uri) -> Result<Query<T>, RequestValidationError> {
        Query::try_from_query(uri.query().unwrap_or(""))
    }

    /// Deserializes a query string (without the `?`).
    pub fn try_from_query(query: &str) -> Result<Query<T>, RequestValidationError> {
        let pairs = pairs(query);
        kv::extract_pairs_invalid(&pairs, || object(query), "query", Shape::QUERY).map(Query)
    }
}

fn pairs(query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    form_urlencoded::parse(query.as_bytes()).collect()
}

fn object(query: &str) -> serde_json::Value {
    multi_object(form_urlencoded::parse(query.as_bytes()))
}

fn extract<T: DeserializeOwned>(parts: &Parts) -> Result<Query<T>, ExtractError> {
    let query = parts.uri.query().unwrap_or("");
    let pairs = pairs(query);
    kv::extract_pairs(&pairs, || object(query), "query", Shape::QUERY).map(Query)
}

kv::head_extractor!(Query, crate::openapi::ParamIn::Query);
