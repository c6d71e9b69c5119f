//! The collecting deserializer: reads a `T: Deserialize` out of a `serde_json::Value` and
//! reports *every* wrong value, each at its location, where serde alone stops at the first.
//!
//! # How
//!
//! Every request input is first turned into a `Value`: a parsed JSON body as it is, key-value
//! sources (query, form, headers, cookies) as an object of string arrays (one entry per key,
//! all its values, so a `Vec` field gets them all), path parameters as an object of strings.
//!
//! [`ValueDe`] then serves the derive lenient values (pydantic's lax mode: `"42"` is an
//! integer). A value of the wrong kind is *recorded* in a thread-local context, at its
//! location, and the visitor gets a placeholder of the right kind instead, so the derive
//! goes on to the next field. Constrained types report the same way.
//!
//! What the derive itself decides cannot be answered with a placeholder: a required field
//! that is absent, an unknown field under `deny_unknown_fields`, an unknown enum variant.
//! It fails the pass with an error naming the type. The next pass learns from it (the field
//! is required, the struct denies unknown fields, the enum is strict), injects a `missing`
//! stand-in for that field wherever it is absent, reports unknown fields or variants up
//! front, and runs again. Each pass learns one fact about the *types*, never about the input,
//! so the number of passes is bounded by the types' shape, not by the request.
//!
//! A `Deserialize` impl that fails on its own (not through corio's hooks) ends the
//! collection; its error is reported with the others found so far.
//!
//! All of that is for requests with errors. Key-value sources try [`fast`] first: the
//! borrowed pairs read straight into `T`, falling back to the above on any error.

mod access;
pub(crate) mod context;
mod error;
pub(crate) mod fast;
mod path;
mod placeholder;
pub(crate) mod scalar;
mod value;

pub(crate) use error::DeError;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::extract::validation::{Loc, ValidationError};
use context::Hints;
use path::PathDe;
use value::{Mode, ValueDe};

/// Where the input came from, which decides how it is laid out and echoed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A JSON body: typed values; a missing field echoes the object it is missing from.
    Json,
    /// Key-value pairs (query, form, headers, cookies): an object of string arrays.
    Multi {
        /// A scalar takes the last of its key's values (query, form, cookies) rather than
        /// the first (headers), as Starlette does.
        pick_last: bool,
        /// Keys are header names: matched with `_`, reported with `-`.
        header_names: bool,
    },
    /// Path parameters: an object of strings.
    Path,
}

impl Shape {
    /// The query-string and form layout.
    pub(crate) const QUERY: Shape = Shape::Multi {
        pick_last: true,
        header_names: false,
    };

    /// Whether every value arrived as a string (so errors echo strings).
    pub(crate) fn strings(self) -> bool {
        self != Shape::Json
    }

    pub(crate) fn pick_last(self) -> bool {
        matches!(
            self,
            Shape::Multi {
                pick_last: true,
                ..
            }
        )
    }

    pub(crate) fn header_names(self) -> bool {
        matches!(
            self,
            Shape::Multi {
                header_names: true,
                ..
            }
        )
    }
}

/// Why [`from_value`] failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The input is wrong: every error found.
    Invalid(Vec<ValidationError>),
    /// The program is wrong (answer 500).
    Internal(String),
}

/// Passes are bounded by what can be learned about the types; this caps pathological types.
const MAX_PASSES: usize = 64;

/// Deserializes `T` from `value`, laid out as `shape`, with every error located under
/// `root` (e.g. `["query"]`).
pub(crate) fn from_value<T: DeserializeOwned>(
    value: &Value,
    root: Loc,
    shape: Shape,
) -> Result<T, Failure> {
    let mut hints = Hints::default();
    let mut pass = 0;
    loop {
        pass += 1;
        let (result, mut errors, learned) = context::run(&root, shape, hints, || {
            let result = match shape {
                Shape::Path => T::deserialize(PathDe { params: value }),
                Shape::Multi { .. } => T::deserialize(ValueDe::new(value, Mode::KvRoot)),
                Shape::Json => T::deserialize(ValueDe::new(value, Mode::Plain)),
            };
            result.map_err(|e| e.located(|| value.clone()))
        });
        hints = learned;
        let error = match result {
            Ok(value) if errors.is_empty() => return Ok(value),
            Ok(_) => return Err(Failure::Invalid(errors)),
            Err(error) => error,
        };
        if pass < MAX_PASSES && hints.learn(&error) {
            continue;
        }
        if let DeError::Internal(msg) = error {
            return Err(Failure::Internal(msg));
        }
        if let Some(error) = error.into_validation_error(&root) {
            // A value already reported (or inside one) failed again on its placeholder.
            if errors.len() < context::MAX_ERRORS
                && !errors.iter().any(|known| error.loc.starts_with(&known.loc))
            {
                errors.push(error);
            }
        }
        if errors.is_empty() {
            // Cannot happen (a pass only stops early after recording an error), but an
            // empty 422 would let the handler run with a value it never got.
            return Err(Failure::Internal(
                "extraction failed without naming an error".into(),
            ));
        }
        return Err(Failure::Invalid(errors));
    }
}
