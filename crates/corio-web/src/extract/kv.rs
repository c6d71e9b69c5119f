//! Shared by the extractors: key-value sources as the object the collecting deserializer
//! reads, and the mapping of its outcome to a rejection.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::de::fast::{self, Pair};
use super::de::{self, Failure, Shape};

/// `FromRequestParts` and `OptionalFromRequestParts` for a key-value extractor `$ty<T>`
/// whose module has `fn extract(&Parts) -> Result<$ty<T>, ExtractError>`: the four of them
/// (path, query, header, cookie) differ only in that function and in where the OpenAPI
/// document says their parameters are (`$location`).
macro_rules! head_extractor {
    ($ty:ident, $location:expr) => {
        impl<S, T> FromRequestParts<S> for $ty<T>
        where
            S: Send + Sync,
            T: DeserializeOwned + schemars::JsonSchema + Send,
        {
            type Rejection = ExtractError;

            async fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Self, ExtractError> {
                extract(parts)
            }

            fn describe(operation: &mut $crate::openapi::OperationDoc<'_>) {
                operation.parameters_from::<T>($location);
            }
        }

        impl<S, T> OptionalFromRequestParts<S> for $ty<T>
        where
            S: Send + Sync,
            T: DeserializeOwned + schemars::JsonSchema + Send,
        {
            type Rejection = ExtractError;

            async fn optional_from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Option<Self>, ExtractError> {
                kv::optional(extract(parts))
            }

            fn describe(operation: &mut $crate::openapi::OperationDoc<'_>) {
                operation.parameters_from::<T>($location);
            }
        }
    };
}
use super::{ErrorKind, ExtractError, RequestValidationError};
pub(super) use head_extractor;

/// Key-value pairs as an object from each key (in order of first appearance) to the array
/// of its values.
pub(crate) fn multi_object<'a, I>(pairs: I) -> Value
where
    I: IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
{
    let mut object = Map::new();
    for (key, value) in pairs {
        let value = Value::String(value.into_owned());
        match object.get_mut(key.as_ref()) {
            Some(Value::Array(values)) => values.push(value),
            _ => {
                object.insert(key.into_owned(), Value::Array(vec![value]));
            }
        }
    }
    Value::Object(object)
}

/// Deserializes `T` from `value`, with errors located under `source`.
pub(crate) fn extract<T: DeserializeOwned>(
    value: &Value,
    source: &'static str,
    shape: Shape,
) -> Result<T, ExtractError> {
    de::from_value(value, vec![source.into()], shape).map_err(|failure| match failure {
        Failure::Invalid(errors) => ExtractError::Invalid(errors.into()),
        Failure::Internal(why) => ExtractError::internal(why),
    })
}

/// [`extract`] from `pairs`: the fast path, then (on any error) the collecting
/// deserializer over the object `slow` builds from the same input.
pub(crate) fn extract_pairs<T: DeserializeOwned, P: Pair>(
    pairs: &[P],
    slow: impl FnOnce() -> Value,
    source: &'static str,
    shape: Shape,
) -> Result<T, ExtractError> {
    match fast::from_pairs(pairs, shape) {
        Some(value) => Ok(value),
        None => extract(&slow(), source, shape),
    }
}

/// [`extract_invalid`] from `pairs`, as [`extract_pairs`].
pub(crate) fn extract_pairs_invalid<T: DeserializeOwned, P: Pair>(
    pairs: &[P],
    slow: impl FnOnce() -> Value,
    source: &'static str,
    shape: Shape,
) -> Result<T, RequestValidationError> {
    match fast::from_pairs(pairs, shape) {
        Some(value) => Ok(value),
        None => extract_invalid(&slow(), source, shape),
    }
}

/// Like [`extract`], for callers that only deal in validation errors (the `try_from_*`
/// helpers): a program error becomes a `value_error` rather than a 500.
pub(crate) fn extract_invalid<T: DeserializeOwned>(
    value: &Value,
    source: &'static str,
    shape: Shape,
) -> Result<T, RequestValidationError> {
    de::from_value(value, vec![source.into()], shape).map_err(|failure| match failure {
        Failure::Invalid(errors) => errors.into(),
        Failure::Internal(why) => ErrorKind::value_error(why)
            .at(vec![source.into()], Value::Null)
            .into(),
    })
}

/// The optional form of an extraction: `None` when every error is a `missing` one (what it
/// reads is absent), the rejection when anything present is invalid.
pub(crate) fn optional<T>(result: Result<T, ExtractError>) -> Result<Option<T>, ExtractError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(ExtractError::Invalid(errors))
            if errors.errors().iter().all(|e| e.type_ == "missing") =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
