//! [`MultipartError`]: why a `multipart/form-data` body could not be read, and the answer
//! each reason gets.

use std::fmt;

use http::StatusCode;
use serde_json::Value;

use super::MAX_PARTS;
use crate::Response;
use crate::body::BodyError;
use crate::extract::{ErrorKind, ExtractError, Rejection, RequestValidationError};
use crate::response::{HttpError, IntoResponse};

/// FastAPI's answer to a body it cannot read; malformed bodies get it with the reason.
const UNREADABLE: &str = "There was an error parsing the body";

/// Why a multipart body could not be read, answered as FastAPI (Starlette) answers it:
///
/// | reason | status |
/// | --- | --- |
/// | the request is not `multipart/form-data` (only [`Multipart`](super::Multipart) refuses it) | 415 |
/// | `multipart/form-data` without a boundary | 400 |
/// | the body is larger than the [`BodyLimit`](crate::extract::BodyLimit) | 413 |
/// | more than [`MAX_PARTS`] parts | 400 |
/// | a part without a name (only [`MultipartForm`](super::MultipartForm) needs one) | 400 |
/// | the body breaks the multipart format, or cannot be read | 400 |
/// | [`Field::text`](super::Field::text) of data that is not UTF-8 | 422 (`string_unicode`) |
///
/// The detail says what went wrong:
///
/// ```
/// use corio_web::extract::{BodyLimit, Multipart};
/// use corio_web::Body;
///
/// corio::run(async {
///     let body = Body::from("--xyz\r\ncontent-disposition: form-data; name=\"a\"\r\n\r\nno end");
///     let mut multipart =
///         Multipart::new("multipart/form-data; boundary=xyz", body, BodyLimit::DEFAULT).unwrap();
///     let error = match multipart.next_field().await {
///         Ok(Some(field)) => field.bytes().await.unwrap_err(),
///         _ => unreachable!(),
///     };
///     assert_eq!(error.status(), 400);
///     assert_eq!(
///         error.to_string(),
///         "There was an error parsing the body: part \"a\" ends before the boundary that should close it",
///     );
/// });
/// ```
#[derive(Clone, Debug)]
pub struct MultipartError {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    NotMultipart,
    NoBoundary,
    TooLarge,
    TooManyParts,
    UnnamedPart,
    /// The body breaks the format: why, for the client.
    Malformed(String),
    /// The body could not be read (the connection failed).
    Unreadable,
    /// The parser was used in a way it does not allow: a bug, answered with a 500.
    Internal,
    /// A field's data is not UTF-8: the field's name (if it has one) and the data, lossily.
    NotUtf8 {
        field: Option<String>,
        lossy: String,
    },
}

impl MultipartError {
    fn new(kind: Kind) -> MultipartError {
        MultipartError { kind }
    }

    pub(crate) fn not_multipart() -> MultipartError {
        MultipartError::new(Kind::NotMultipart)
    }

    pub(crate) fn no_boundary() -> MultipartError {
        MultipartError::new(Kind::NoBoundary)
    }

    pub(crate) fn too_large() -> MultipartError {
        MultipartError::new(Kind::TooLarge)
    }

    pub(crate) fn too_many_parts() -> MultipartError {
        MultipartError::new(Kind::TooManyParts)
    }

    pub(crate) fn unnamed_part() -> MultipartError {
        MultipartError::new(Kind::UnnamedPart)
    }

    pub(crate) fn malformed(why: impl Into<String>) -> MultipartError {
        MultipartError::new(Kind::Malformed(why.into()))
    }

    pub(crate) fn not_utf8(field: Option<&str>, bytes: &[u8]) -> MultipartError {
        MultipartError::new(Kind::NotUtf8 {
            field: field.map(str::to_owned),
            lossy: String::from_utf8_lossy(bytes).into_owned(),
        })
    }

    /// Whether the request was refused for not being `multipart/form-data` at all.
    pub(crate) fn is_not_multipart(&self) -> bool {
        matches!(self.kind, Kind::NotMultipart)
    }

    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            Kind::NotMultipart => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::NoBoundary
            | Kind::TooManyParts
            | Kind::UnnamedPart
            | Kind::Malformed(_)
            | Kind::Unreadable => StatusCode::BAD_REQUEST,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Kind::NotUtf8 { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// Whether the body was larger than the [`BodyLimit`](crate::extract::BodyLimit).
    pub fn is_too_large(&self) -> bool {
        matches!(self.kind, Kind::TooLarge)
    }

    /// The `string_unicode` error of a field that is not UTF-8, at `["body", name]`.
    fn validation_error(field: &Option<String>, lossy: &str) -> RequestValidationError {
        let mut loc = vec!["body".into()];
        loc.extend(field.clone().map(Into::into));
        ErrorKind::StringUnicode
            .at(loc, Value::String(lossy.to_owned()))
            .into()
    }

    fn into_http_error(self) -> Result<HttpError, RequestValidationError> {
        let status = self.status().as_u16();
        match self.kind {
            Kind::NotUtf8 { field, lossy } => Err(Self::validation_error(&field, &lossy)),
            _ => Ok(HttpError::new(status, self.to_string())),
        }
    }
}

/// The error of the multipart parser, as corio answers it.
impl From<multer::Error> for MultipartError {
    fn from(error: multer::Error) -> MultipartError {
        use multer::Error as E;
        let name = |field: &Option<String>| match field {
            Some(name) => format!("part {name:?}"),
            None => "a part".to_owned(),
        };
        match error {
            E::FieldSizeExceeded { .. } | E::StreamSizeExceeded { .. } => {
                MultipartError::too_large()
            }
            E::StreamReadFailed(cause) => match cause.downcast::<BodyError>() {
                Ok(cause) if matches!(*cause, BodyError::TooLarge { .. }) => {
                    MultipartError::too_large()
                }
                Ok(cause) => {
                    tracing::debug!("reading a multipart body failed: {cause}");
                    MultipartError::new(Kind::Unreadable)
                }
                Err(cause) => {
                    tracing::debug!("reading a multipart body failed: {cause}");
                    MultipartError::new(Kind::Unreadable)
                }
            },
            E::IncompleteStream => MultipartError::malformed(
                "the body ends before its closing boundary, or a boundary line is malformed",
            ),
            E::IncompleteFieldData { field_name } => MultipartError::malformed(format!(
                "{} ends before the boundary that should close it",
                name(&field_name)
            )),
            E::IncompleteHeaders | E::ReadHeaderFailed(_) => {
                MultipartError::malformed("the headers of a part are malformed")
            }
            E::DecodeHeaderName { .. } | E::DecodeHeaderValue { .. } => {
                MultipartError::malformed("a header of a part is not a valid header")
            }
            E::NoMultipart => MultipartError::not_multipart(),
            E::NoBoundary => MultipartError::no_boundary(),
            E::DecodeContentType(_) => {
                MultipartError::malformed("its Content-Type header cannot be parsed")
            }
            E::LockFailure => {
                tracing::error!("the multipart parser was used while one of its fields was alive");
                MultipartError::new(Kind::Internal)
            }
            // `allowed_fields` is not used; and whatever a later version adds.
            other => MultipartError::malformed(other.to_string()),
        }
    }
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::NotMultipart => {
                f.write_str("Unsupported Media Type: expected multipart/form-data")
            }
            // Starlette's words for it.
            Kind::NoBoundary => f.write_str("Missing boundary in multipart."),
            Kind::TooLarge => f.write_str("Payload Too Large"),
            Kind::TooManyParts => {
                write!(f, "Too many parts. Maximum number of parts is {MAX_PARTS}.")
            }
            Kind::UnnamedPart => f.write_str(
                "A part of the multipart body has no name \
                 (Content-Disposition: form-data; name=\"...\")",
            ),
            Kind::Malformed(why) => write!(f, "{UNREADABLE}: {why}"),
            Kind::Unreadable => f.write_str(UNREADABLE),
            Kind::Internal => f.write_str("Internal Server Error"),
            Kind::NotUtf8 { field, .. } => match field {
                Some(name) => write!(f, "part {name:?} is not valid UTF-8"),
                None => f.write_str("a part is not valid UTF-8"),
            },
        }
    }
}

impl std::error::Error for MultipartError {}

/// `{"detail": ...}` with [`status`](MultipartError::status); a field that is not UTF-8
/// is a 422 in FastAPI's shape.
impl IntoResponse for MultipartError {
    fn into_response(self) -> Response {
        match self.into_http_error() {
            Ok(error) => error.into_response(),
            Err(errors) => errors.into_response(),
        }
    }
}

/// Answered as it is, save a field that is not UTF-8: a validation error, merged with the
/// handler's others.
impl Rejection for MultipartError {
    fn into_validation_error(self) -> Result<RequestValidationError, Response> {
        match self.into_http_error() {
            Ok(error) => Err(error.into_response()),
            Err(errors) => Ok(errors),
        }
    }
}

impl From<MultipartError> for ExtractError {
    fn from(error: MultipartError) -> ExtractError {
        match error.into_http_error() {
            Ok(error) => error.into(),
            Err(errors) => errors.into(),
        }
    }
}
