//! FastAPI's 422 error model: [`ValidationError`] (one problem, at a [`Loc`]) and
//! [`RequestValidationError`] (all the problems of a request, answered as
//! `422 {"detail": [...]}`).

mod kind;

pub use kind::{ErrorKind, Number};

use std::borrow::Cow;
use std::fmt;

use http::{StatusCode, header};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::response::IntoResponse;
use crate::{Body, Response};

/// One step of a [`Loc`]: a name (`"query"`, a field, a map key) or a list index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LocPart {
    /// A name: the source (`"path"`, `"query"`, `"header"`, `"cookie"`, `"body"`), a field
    /// or a map key.
    Key(Cow<'static, str>),
    /// A position in a list, or the byte offset of a JSON syntax error.
    Index(usize),
}

/// Where a value sits in a request: `["query", "limit"]`, `["body", "items", 2, "price"]`.
pub type Loc = Vec<LocPart>;

impl LocPart {
    /// The name, if this is one.
    pub fn as_key(&self) -> Option<&str> {
        match self {
            LocPart::Key(key) => Some(key),
            LocPart::Index(_) => None,
        }
    }
}

impl From<&'static str> for LocPart {
    fn from(key: &'static str) -> LocPart {
        LocPart::Key(Cow::Borrowed(key))
    }
}

impl From<String> for LocPart {
    fn from(key: String) -> LocPart {
        LocPart::Key(Cow::Owned(key))
    }
}

impl From<usize> for LocPart {
    fn from(index: usize) -> LocPart {
        LocPart::Index(index)
    }
}

impl fmt::Display for LocPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocPart::Key(key) => f.write_str(key),
            LocPart::Index(index) => write!(f, "{index}"),
        }
    }
}

impl Serialize for LocPart {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            LocPart::Key(key) => serializer.serialize_str(key),
            LocPart::Index(index) => serializer.serialize_u64(*index as u64),
        }
    }
}

/// One validation problem, serialized exactly as FastAPI lists it under `detail`:
/// `{"type", "loc", "msg", "input"[, "ctx"]}`.
///
/// Build one with [`ErrorKind::at`] (the kinds pydantic has) or [`ValidationError::new`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValidationError {
    /// The error type, e.g. `int_parsing`.
    #[serde(rename = "type")]
    pub type_: Cow<'static, str>,
    /// Where the value is.
    pub loc: Loc,
    /// What is wrong, for people.
    pub msg: String,
    /// The value that was there (`null` when it is missing).
    pub input: Value,
    /// Parameters of the error (`{"gt": 0}`), when it has some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Map<String, Value>>,
}

impl ValidationError {
    /// An error of your own `type_` with `msg`, at `loc`.
    ///
    /// ```
    /// use corio_web::extract::ValidationError;
    ///
    /// let error = ValidationError::new("token_expired", vec!["header".into(), "x-token".into()],
    ///     "Token expired", "abc".into());
    /// assert_eq!(error.type_, "token_expired");
    /// ```
    pub fn new(
        type_: impl Into<Cow<'static, str>>,
        loc: Loc,
        msg: impl Into<String>,
        input: Value,
    ) -> ValidationError {
        ValidationError {
            type_: type_.into(),
            loc,
            msg: msg.into(),
            input,
            ctx: None,
        }
    }

    /// Adds `key: value` to `ctx`.
    pub fn with_ctx(mut self, key: impl Into<String>, value: impl Into<Value>) -> ValidationError {
        self.ctx
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.loc.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{part}")?;
        }
        write!(f, ": {} [type={}]", self.msg, self.type_)
    }
}

/// Everything wrong with a request's input: answered as FastAPI answers it, `422` with
/// `{"detail": [error, ...]}`.
///
/// Extractors reject with one of these (inside [`ExtractError`](super::ExtractError)); the
/// handler layer merges the rejections of all its extractors into one (see
/// [`Rejections`](super::Rejections)), so a client sees every problem at once.
///
/// ```
/// use corio_web::extract::{ErrorKind, RequestValidationError};
/// use corio_web::response::IntoResponse;
///
/// let mut errors = RequestValidationError::default();
/// errors.push(ErrorKind::Missing.at(vec!["query".into(), "needy".into()], serde_json::Value::Null));
/// let response = errors.into_response();
/// assert_eq!(response.status(), 422);
/// corio::run(async move {
///     let body = response.into_body().to_bytes(1024).await.unwrap();
///     assert_eq!(
///         body,
///         r#"{"detail":[{"type":"missing","loc":["query","needy"],"msg":"Field required","input":null}]}"#
///     );
/// });
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestValidationError {
    errors: Vec<ValidationError>,
}

impl RequestValidationError {
    /// The errors, as given.
    pub fn new(errors: Vec<ValidationError>) -> RequestValidationError {
        RequestValidationError { errors }
    }

    /// Adds one error.
    pub fn push(&mut self, error: ValidationError) {
        self.errors.push(error);
    }

    /// Adds all the errors of `other` after these.
    pub fn merge(&mut self, other: RequestValidationError) {
        self.errors.extend(other.errors);
    }

    /// The errors, in order.
    pub fn errors(&self) -> &[ValidationError] {
        &self.errors
    }

    /// The errors, taken out.
    pub fn into_errors(self) -> Vec<ValidationError> {
        self.errors
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The response body, `{"detail": [...]}`.
    pub fn to_json(&self) -> Value {
        #[derive(Serialize)]
        struct Detail<'a> {
            detail: &'a [ValidationError],
        }
        serde_json::to_value(Detail {
            detail: &self.errors,
        })
        .unwrap_or(Value::Null)
    }

    /// Orders the errors by source as FastAPI reports them: path, query, header, cookie,
    /// then body (stable within a source).
    pub fn sort_by_source(&mut self) {
        fn rank(error: &ValidationError) -> u8 {
            match error.loc.first().and_then(LocPart::as_key) {
                Some("path") => 0,
                Some("query") => 1,
                Some("header") => 2,
                Some("cookie") => 3,
                Some("body") => 4,
                _ => 5,
            }
        }
        self.errors.sort_by_key(rank);
    }
}

impl From<Vec<ValidationError>> for RequestValidationError {
    fn from(errors: Vec<ValidationError>) -> RequestValidationError {
        RequestValidationError { errors }
    }
}

impl From<ValidationError> for RequestValidationError {
    fn from(error: ValidationError) -> RequestValidationError {
        RequestValidationError {
            errors: vec![error],
        }
    }
}

impl fmt::Display for RequestValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} validation error", self.errors.len())?;
        if self.errors.len() != 1 {
            f.write_str("s")?;
        }
        for error in &self.errors {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RequestValidationError {}

impl IntoResponse for RequestValidationError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Detail<'a> {
            detail: &'a [ValidationError],
        }
        // Serializing strings, numbers and `Value`s cannot fail; the fallback only keeps the
        // status right if that ever changes.
        let body = serde_json::to_vec(&Detail {
            detail: &self.errors,
        })
        .unwrap_or_else(|_| br#"{"detail":[]}"#.to_vec());
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        // The errors themselves ride along for `App::exception_handler`.
        response.extensions_mut().insert(self);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_invalid_has_an_integer_loc_and_ctx() {
        let error = ErrorKind::JsonInvalid {
            error: "Expecting value".into(),
        }
        .at(vec!["body".into(), 7.into()], json!({}));
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            json!({"type": "json_invalid", "loc": ["body", 7], "msg": "JSON decode error",
                   "input": {}, "ctx": {"error": "Expecting value"}})
        );
    }

    #[test]
    fn sorting_by_source_follows_fastapi() {
        let at = |source: &'static str| ErrorKind::Missing.at(vec![source.into()], Value::Null);
        let mut errors =
            RequestValidationError::new(vec![at("body"), at("query"), at("path"), at("cookie")]);
        errors.sort_by_source();
        let sources: Vec<_> = errors.errors().iter().map(|e| e.loc[0].clone()).collect();
        assert_eq!(
            sources,
            vec![
                LocPart::from("path"),
                "query".into(),
                "cookie".into(),
                "body".into()
            ]
        );
    }

    #[test]
    fn display_lists_every_error() {
        let errors = RequestValidationError::new(vec![
            ErrorKind::Missing.at(vec!["query".into(), "q".into()], Value::Null),
            ErrorKind::IntType.at(vec!["body".into(), 0.into()], Value::Null),
        ]);
        assert_eq!(
            errors.to_string(),
            "2 validation errors\n  query.q: Field required [type=missing]\n  body.0: Input should be a valid integer [type=int_type]"
        );
    }
}
