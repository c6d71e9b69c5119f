//! [`ErrorKind`]: what went wrong with one value, worded as pydantic v2 words it.
//!
//! Each kind knows its pydantic `type` string, its message and its `ctx`. The messages are
//! pydantic-core's Python-mode templates (FastAPI validates parsed JSON in Python mode), so
//! clients written against FastAPI read the same text.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use super::{Loc, ValidationError};

/// A number in a constraint or an error's `ctx`: an integer or a float, kept apart because
/// pydantic renders them apart (`0` and `0.5`, in messages and in `ctx`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// An integer.
    Int(i128),
    /// A float.
    Float(f64),
}

impl Number {
    /// The number as a float, for comparisons.
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(n) => n as f64,
            Number::Float(f) => f,
        }
    }

    /// The number as a JSON value (a float that JSON cannot hold becomes `null`).
    pub fn to_json(self) -> Value {
        match self {
            Number::Int(n) => {
                if let Ok(n) = i64::try_from(n) {
                    Value::from(n)
                } else if let Ok(n) = u64::try_from(n) {
                    Value::from(n)
                } else {
                    Value::from(n as f64)
                }
            }
            Number::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        }
    }
}

impl fmt::Display for Number {
    /// Rust's own formatting, which is also what pydantic-core uses (`1.5`, `1`, `100`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(n) => write!(f, "{n}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

macro_rules! number_from {
    ($variant:ident as $wide:ty: $($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(n: $t) -> Number {
                Number::$variant(n as $wide)
            }
        }
    )*};
}
number_from!(Int as i128: i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, i128);
number_from!(Float as f64: f32, f64);

/// What is wrong with one value. [`ErrorKind::at`] places it in a request.
///
/// ```
/// use corio_web::extract::{ErrorKind, Number};
///
/// let kind = ErrorKind::LessThanEqual(Number::from(100));
/// assert_eq!(kind.type_name(), "less_than_equal");
/// assert_eq!(kind.message(), "Input should be less than or equal to 100");
/// assert_eq!(
///     serde_json::Value::Object(kind.ctx().unwrap()),
///     serde_json::json!({"le": 100})
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `missing`: a required value is absent.
    Missing,
    /// `int_parsing`: a string that is not an integer.
    IntParsing,
    /// `int_type`: not an integer, nor a string of one.
    IntType,
    /// `int_from_float`: a float with a fractional part where an integer belongs.
    IntFromFloat,
    /// `float_parsing`: a string that is not a number.
    FloatParsing,
    /// `float_type`: not a number, nor a string of one.
    FloatType,
    /// `bool_parsing`: a string or number that is not a boolean.
    BoolParsing,
    /// `bool_type`: not a boolean.
    BoolType,
    /// `string_type`: not a string.
    StringType,
    /// `string_unicode`: bytes that are not UTF-8.
    StringUnicode,
    /// `bytes_type`: not bytes.
    BytesType,
    /// `none_required`: only `null` fits.
    NoneRequired,
    /// `model_attributes_type`: not an object, where a struct belongs.
    ModelAttributesType,
    /// `dict_type`: not an object, where a map belongs.
    DictType,
    /// `list_type`: not an array, where a sequence belongs.
    ListType,
    /// `tuple_type`: not an array, where a tuple belongs.
    TupleType,
    /// `greater_than` (`gt`).
    GreaterThan(Number),
    /// `greater_than_equal` (`ge`).
    GreaterThanEqual(Number),
    /// `less_than` (`lt`).
    LessThan(Number),
    /// `less_than_equal` (`le`).
    LessThanEqual(Number),
    /// `multiple_of`.
    MultipleOf(Number),
    /// `string_too_short`: fewer characters than `min_length`.
    StringTooShort {
        /// The least number of characters.
        min_length: usize,
    },
    /// `string_too_long`: more characters than `max_length`.
    StringTooLong {
        /// The most characters.
        max_length: usize,
    },
    /// `string_pattern_mismatch`: the string does not match `pattern` (a regex search, as
    /// in pydantic: anchor it with `^...$` to match the whole string).
    StringPatternMismatch {
        /// The regular expression.
        pattern: Cow<'static, str>,
    },
    /// `too_short`: a collection with fewer items than `min_length`.
    TooShort {
        /// `"List"`, `"Tuple"`, ...
        field_type: &'static str,
        /// The least number of items.
        min_length: usize,
        /// How many there were.
        actual_length: usize,
    },
    /// `too_long`: a collection with more items than `max_length`.
    TooLong {
        /// `"List"`, `"Tuple"`, ...
        field_type: &'static str,
        /// The most items.
        max_length: usize,
        /// How many there were.
        actual_length: usize,
    },
    /// `enum`: not one of the allowed values; `expected` is already worded, see
    /// [`ErrorKind::enum_of`].
    Enum {
        /// `'a', 'b' or 'c'`.
        expected: String,
    },
    /// `extra_forbidden`: a field the struct does not have (`#[serde(deny_unknown_fields)]`).
    ExtraForbidden,
    /// `uuid_parsing`: not a UUID; `error` is the parser's reason.
    UuidParsing {
        /// Why, e.g. `invalid length: expected length 32 for simple format, found 3`.
        error: String,
    },
    /// `value_error`: a custom check failed (pydantic's `ValueError` in a validator).
    ValueError {
        /// The reason, shown as `Value error, {error}`.
        error: String,
    },
    /// `json_invalid`: the body is not JSON. FastAPI's wording: `JSON decode error`, with
    /// Python's `json` reason in `ctx.error`.
    JsonInvalid {
        /// Python's reason, e.g. `Expecting value`.
        error: String,
    },
    /// Any other error: a `type` and a message of your own.
    Custom {
        /// The `type`.
        type_: Cow<'static, str>,
        /// The `msg`.
        msg: String,
    },
}

impl ErrorKind {
    /// `enum` for a value that is none of `variants`, worded like pydantic:
    /// `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`.
    ///
    /// ```
    /// use corio_web::extract::ErrorKind;
    ///
    /// let kind = ErrorKind::enum_of(["alexnet", "resnet", "lenet"]);
    /// assert_eq!(kind.message(), "Input should be 'alexnet', 'resnet' or 'lenet'");
    /// ```
    pub fn enum_of<I>(variants: I) -> ErrorKind
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        let quoted: Vec<String> = variants.into_iter().map(|v| format!("'{v}'")).collect();
        let expected = match quoted.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        };
        ErrorKind::Enum { expected }
    }

    /// `value_error` with `error` as the reason.
    pub fn value_error(error: impl Into<String>) -> ErrorKind {
        ErrorKind::ValueError {
            error: error.into(),
        }
    }

    /// The pydantic `type` string.
    pub fn type_name(&self) -> &str {
        match self {
            ErrorKind::Missing => "missing",
            ErrorKind::IntParsing => "int_parsing",
            ErrorKind::IntType => "int_type",
            ErrorKind::IntFromFloat => "int_from_float",
            ErrorKind::FloatParsing => "float_parsing",
            ErrorKind::FloatType => "float_type",
            ErrorKind::BoolParsing => "bool_parsing",
            ErrorKind::BoolType => "bool_type",
            ErrorKind::StringType => "string_type",
            ErrorKind::StringUnicode => "string_unicode",
            ErrorKind::BytesType => "bytes_type",
            ErrorKind::NoneRequired => "none_required",
            ErrorKind::ModelAttributesType => "model_attributes_type",
            ErrorKind::DictType => "dict_type",
            ErrorKind::ListType => "list_type",
            ErrorKind::TupleType => "tuple_type",
            ErrorKind::GreaterThan(_) => "greater_than",
            ErrorKind::GreaterThanEqual(_) => "greater_than_equal",
            ErrorKind::LessThan(_) => "less_than",
            ErrorKind::LessThanEqual(_) => "less_than_equal",
            ErrorKind::MultipleOf(_) => "multiple_of",
            ErrorKind::StringTooShort { .. } => "string_too_short",
            ErrorKind::StringTooLong { .. } => "string_too_long",
            ErrorKind::StringPatternMismatch { .. } => "string_pattern_mismatch",
            ErrorKind::TooShort { .. } => "too_short",
            ErrorKind::TooLong { .. } => "too_long",
            ErrorKind::Enum { .. } => "enum",
            ErrorKind::ExtraForbidden => "extra_forbidden",
            ErrorKind::UuidParsing { .. } => "uuid_parsing",
            ErrorKind::ValueError { .. } => "value_error",
            ErrorKind::JsonInvalid { .. } => "json_invalid",
            ErrorKind::Custom { type_, .. } => type_,
        }
    }

    /// The message (`msg`).
    pub fn message(&self) -> String {
        fn plural(n: usize) -> &'static str {
            if n == 1 { "" } else { "s" }
        }
        match self {
            ErrorKind::Missing => "Field required".into(),
            ErrorKind::IntParsing => {
                "Input should be a valid integer, unable to parse string as an integer".into()
            }
            ErrorKind::IntType => "Input should be a valid integer".into(),
            ErrorKind::IntFromFloat => {
                "Input should be a valid integer, got a number with a fractional part".into()
            }
            ErrorKind::FloatParsing => {
                "Input should be a valid number, unable to parse string as a number".into()
            }
            ErrorKind::FloatType => "Input should be a valid number".into(),
            ErrorKind::BoolParsing => {
                "Input should be a valid boolean, unable to interpret input".into()
            }
            ErrorKind::BoolType => "Input should be a valid boolean".into(),
            ErrorKind::StringType => "Input should be a valid string".into(),
            ErrorKind::StringUnicode => {
                "Input should be a valid string, unable to parse raw data as a unicode string"
                    .into()
            }
            ErrorKind::BytesType => "Input should be a valid bytes".into(),
            ErrorKind::NoneRequired => "Input should be None".into(),
            ErrorKind::ModelAttributesType => {
                "Input should be a valid dictionary or object to extract fields from".into()
            }
            ErrorKind::DictType => "Input should be a valid dictionary".into(),
            ErrorKind::ListType => "Input should be a valid list".into(),
            ErrorKind::TupleType => "Input should be a valid tuple".into(),
            ErrorKind::GreaterThan(n) => format!("Input should be greater than {n}"),
            ErrorKind::GreaterThanEqual(n) => {
                format!("Input should be greater than or equal to {n}")
            }
            ErrorKind::LessThan(n) => format!("Input should be less than {n}"),
            ErrorKind::LessThanEqual(n) => format!("Input should be less than or equal to {n}"),
            ErrorKind::MultipleOf(n) => format!("Input should be a multiple of {n}"),
            ErrorKind::StringTooShort { min_length } => format!(
                "String should have at least {min_length} character{}",
                plural(*min_length)
            ),
            ErrorKind::StringTooLong { max_length } => format!(
                "String should have at most {max_length} character{}",
                plural(*max_length)
            ),
            ErrorKind::StringPatternMismatch { pattern } => {
                format!("String should match pattern '{pattern}'")
            }
            ErrorKind::TooShort {
                field_type,
                min_length,
                actual_length,
            } => format!(
                "{field_type} should have at least {min_length} item{} after validation, not {actual_length}",
                plural(*min_length)
            ),
            ErrorKind::TooLong {
                field_type,
                max_length,
                actual_length,
            } => format!(
                "{field_type} should have at most {max_length} item{} after validation, not {actual_length}",
                plural(*max_length)
            ),
            ErrorKind::Enum { expected } => format!("Input should be {expected}"),
            ErrorKind::ExtraForbidden => "Extra inputs are not permitted".into(),
            ErrorKind::UuidParsing { error } => format!("Input should be a valid UUID, {error}"),
            ErrorKind::ValueError { error } => format!("Value error, {error}"),
            ErrorKind::JsonInvalid { .. } => "JSON decode error".into(),
            ErrorKind::Custom { msg, .. } => msg.clone(),
        }
    }

    /// The `ctx` object, for the kinds that have one.
    pub fn ctx(&self) -> Option<Map<String, Value>> {
        let mut ctx = Map::new();
        match self {
            ErrorKind::GreaterThan(n) => ctx.insert("gt".into(), n.to_json()),
            ErrorKind::GreaterThanEqual(n) => ctx.insert("ge".into(), n.to_json()),
            ErrorKind::LessThan(n) => ctx.insert("lt".into(), n.to_json()),
            ErrorKind::LessThanEqual(n) => ctx.insert("le".into(), n.to_json()),
            ErrorKind::MultipleOf(n) => ctx.insert("multiple_of".into(), n.to_json()),
            ErrorKind::StringTooShort { min_length } => {
                ctx.insert("min_length".into(), Value::from(*min_length))
            }
            ErrorKind::StringTooLong { max_length } => {
                ctx.insert("max_length".into(), Value::from(*max_length))
            }
            ErrorKind::StringPatternMismatch { pattern } => {
                ctx.insert("pattern".into(), Value::from(pattern.as_ref()))
            }
            ErrorKind::TooShort {
                field_type,
                min_length,
                actual_length,
            } => {
                ctx.insert("field_type".into(), Value::from(*field_type));
                ctx.insert("min_length".into(), Value::from(*min_length));
                ctx.insert("actual_length".into(), Value::from(*actual_length))
            }
            ErrorKind::TooLong {
                field_type,
                max_length,
                actual_length,
            } => {
                ctx.insert("field_type".into(), Value::from(*field_type));
                ctx.insert("max_length".into(), Value::from(*max_length));
                ctx.insert("actual_length".into(), Value::from(*actual_length))
            }
            ErrorKind::Enum { expected } => ctx.insert("expected".into(), Value::from(&**expected)),
            ErrorKind::UuidParsing { error } | ErrorKind::JsonInvalid { error } => {
                ctx.insert("error".into(), Value::from(&**error))
            }
            // FastAPI renders the ValueError object in ctx through jsonable_encoder, which
            // turns an exception into `{}`; keep the shape clients already parse.
            ErrorKind::ValueError { .. } => ctx.insert("error".into(), Value::Object(Map::new())),
            _ => return None,
        };
        Some(ctx)
    }

    /// This error at `loc`, with `input` the value that was there.
    ///
    /// ```
    /// use corio_web::extract::ErrorKind;
    ///
    /// let error = ErrorKind::IntParsing.at(vec!["path".into(), "item_id".into()], "foo".into());
    /// assert_eq!(
    ///     serde_json::to_value(&error).unwrap(),
    ///     serde_json::json!({
    ///         "type": "int_parsing",
    ///         "loc": ["path", "item_id"],
    ///         "msg": "Input should be a valid integer, unable to parse string as an integer",
    ///         "input": "foo"
    ///     })
    /// );
    /// ```
    pub fn at(self, loc: Loc, input: Value) -> ValidationError {
        ValidationError {
            type_: Cow::Owned(self.type_name().to_owned()),
            msg: self.message(),
            ctx: self.ctx(),
            loc,
            input,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_follow_pydantic() {
        assert_eq!(
            ErrorKind::StringTooShort { min_length: 1 }.message(),
            "String should have at least 1 character"
        );
        assert_eq!(
            ErrorKind::StringTooLong { max_length: 50 }.message(),
            "String should have at most 50 characters"
        );
        assert_eq!(
            ErrorKind::GreaterThan(Number::from(0.5)).message(),
            "Input should be greater than 0.5"
        );
        assert_eq!(
            ErrorKind::TooShort {
                field_type: "List",
                min_length: 2,
                actual_length: 1
            }
            .message(),
            "List should have at least 2 items after validation, not 1"
        );
        assert_eq!(ErrorKind::enum_of(["a"]).message(), "Input should be 'a'");
        assert_eq!(
            ErrorKind::enum_of(["a", "b"]).message(),
            "Input should be 'a' or 'b'"
        );
    }

    #[test]
    fn ctx_keeps_numbers_typed() {
        let ctx = |k: ErrorKind| Value::Object(k.ctx().unwrap());
        assert_eq!(
            ctx(ErrorKind::GreaterThan(Number::from(0))),
            json!({"gt": 0})
        );
        assert_eq!(
            ctx(ErrorKind::LessThan(Number::from(2.5))),
            json!({"lt": 2.5})
        );
        assert_eq!(
            ctx(ErrorKind::GreaterThanEqual(Number::from(u64::MAX))),
            json!({"ge": u64::MAX})
        );
        assert_eq!(ErrorKind::Missing.ctx(), None);
    }
}
