//! [`DeError`]: the serde error of the collecting deserializer.
//!
//! Value problems never travel as errors (they are recorded and deserialization goes on);
//! what does travel is what cannot be recovered inside one pass: a field the derive found
//! missing, an unknown field or variant it refused, or a `Deserialize` impl that failed on
//! its own. The first three teach the next pass what to do (see `Hints`); the last ends
//! the collection.

use std::fmt;

use serde_json::Value;

use super::context::{self, TypeKey};
use crate::extract::validation::{ErrorKind, Loc, LocPart, ValidationError};

/// Which struct or enum raised a missing/unknown field or variant error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Owner {
    /// Not known yet: the error has not passed a struct or enum of ours.
    Unset,
    /// A struct or enum whose type key the next pass can act on.
    Type(TypeKey),
    /// Raised inside something the next pass cannot act on (a map, e.g. a flattened
    /// struct): report it, don't learn from it.
    Opaque,
}

#[derive(Debug)]
pub(crate) enum DeError {
    MissingField {
        field: &'static str,
        owner: Owner,
        loc: Option<Loc>,
    },
    UnknownField {
        field: String,
        owner: Owner,
        loc: Option<Loc>,
    },
    UnknownVariant {
        variant: String,
        expected: &'static [&'static str],
        owner: Owner,
        loc: Option<Loc>,
    },
    Custom {
        msg: String,
        loc: Option<Loc>,
        input: Value,
    },
    /// The program, not the request, is wrong (a `Path` tuple that does not fit the route):
    /// answered with a 500.
    Internal(String),
    /// The pass collected `context::MAX_ERRORS` errors: it stops, and they are reported.
    TooMany,
    /// A type nests itself where a placeholder had to stand in for it (see
    /// `placeholder`): the pass stops, and the errors found so far are reported.
    NoPlaceholder,
}

impl DeError {
    /// Marks missing/unknown field errors (and unknown variants) that came out of the
    /// struct or enum at the current location as that type's, so the next pass can act.
    pub(crate) fn owned_by(mut self, key: Owner) -> DeError {
        match &mut self {
            DeError::MissingField { owner, loc, .. }
            | DeError::UnknownField { owner, loc, .. }
            | DeError::UnknownVariant { owner, loc, .. } => {
                if *owner == Owner::Unset {
                    *owner = key;
                    *loc = Some(context::loc());
                }
            }
            DeError::Custom { .. }
            | DeError::Internal(_)
            | DeError::TooMany
            | DeError::NoPlaceholder => {}
        }
        self
    }

    /// Attaches the current location and `input` to a custom error that has none yet.
    pub(crate) fn located(mut self, value: impl FnOnce() -> Value) -> DeError {
        if let DeError::Custom { loc, input, .. } = &mut self
            && loc.is_none()
        {
            *loc = Some(context::loc());
            *input = value();
        }
        self
    }

    /// The validation error this stands for, if any (`None` for [`DeError::Internal`]).
    pub(crate) fn into_validation_error(self, root: &Loc) -> Option<ValidationError> {
        let with = |loc: Option<Loc>, part: Option<LocPart>| {
            let mut loc = loc.unwrap_or_else(|| root.clone());
            loc.extend(part);
            loc
        };
        Some(match self {
            DeError::MissingField { field, loc, .. } => {
                ErrorKind::Missing.at(with(loc, Some(field.into())), Value::Null)
            }
            DeError::UnknownField { field, loc, .. } => {
                ErrorKind::ExtraForbidden.at(with(loc, Some(field.into())), Value::Null)
            }
            DeError::UnknownVariant {
                variant,
                expected,
                loc,
                ..
            } => ErrorKind::enum_of(expected).at(with(loc, None), Value::String(variant)),
            DeError::Custom { msg, loc, input } => {
                // `uuid::Uuid` fails this way; pydantic reports the same parser's reason.
                let kind = match msg.strip_prefix("UUID parsing failed: ") {
                    Some(reason) => ErrorKind::UuidParsing {
                        error: reason.to_owned(),
                    },
                    None => ErrorKind::value_error(msg),
                };
                kind.at(with(loc, None), input)
            }
            DeError::Internal(_) | DeError::TooMany | DeError::NoPlaceholder => return None,
        })
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeError::MissingField { field, .. } => write!(f, "missing field `{field}`"),
            DeError::UnknownField { field, .. } => write!(f, "unknown field `{field}`"),
            DeError::UnknownVariant { variant, .. } => write!(f, "unknown variant `{variant}`"),
            DeError::Custom { msg, .. } | DeError::Internal(msg) => f.write_str(msg),
            DeError::TooMany => f.write_str("too many errors"),
            DeError::NoPlaceholder => f.write_str("a type without a finite placeholder"),
        }
    }
}

impl std::error::Error for DeError {}

impl serde::de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> DeError {
        DeError::Custom {
            msg: msg.to_string(),
            loc: None,
            input: Value::Null,
        }
    }

    fn missing_field(field: &'static str) -> DeError {
        DeError::MissingField {
            field,
            owner: Owner::Unset,
            loc: None,
        }
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> DeError {
        DeError::UnknownField {
            field: field.to_owned(),
            owner: Owner::Unset,
            loc: None,
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> DeError {
        DeError::UnknownVariant {
            variant: variant.to_owned(),
            expected,
            owner: Owner::Unset,
            loc: None,
        }
    }
}
