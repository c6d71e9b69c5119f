//! [`MultipartForm<T>`]: a multipart body's fields and files, typed.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::upload_file::{self, NOT_UTF8, UPLOAD};
use super::{BodyKind, Multipart, MultipartError, UploadFile, body_kind};
use crate::Request;
use crate::extract::de::{self, Failure, Shape};
use crate::extract::{
    BodyLimit, ErrorKind, ExtractError, FromRequest, OptionalFromRequest, RequestValidationError,
    ValidationError, ViaRequest, body, kv,
};

/// A `multipart/form-data` body deserialized into `T`, as FastAPI reads `File()` and
/// `Form()` parameters (`UploadFile`, `list[UploadFile]`, `str`, `int`, ...) in one handler.
///
/// `T`'s text fields read as [`Form<T>`](crate::extract::Form) reads them: leniently
/// (`"42"` is an integer), the last value of a repeated name, or all of them for a `Vec`,
/// and an empty value counts as absent. Its file fields are [`UploadFile`] (a part with a
/// `filename`), `Option<UploadFile>` or `Vec<UploadFile>`. Errors are FastAPI's 422s at
/// `["body", name]`, every one at once: `missing` for an absent required field or file,
/// `int_parsing` and the like for text, and for a text value where a file is expected
/// FastAPI's `value_error` ("Expected UploadFile, received: <class 'str'>"). A file where
/// text is expected is a `string_type` error whose input is the file's name, type and size.
///
/// As Starlette does, a `application/x-www-form-urlencoded` body is read too (it has no
/// files), and a body of any other content type has no fields, so every required one is
/// `missing`. A multipart body without a boundary, malformed or with a part without a
/// name is a 400, one over the [`BodyLimit`] a 413, one of more than
/// [`MAX_PARTS`](super::MAX_PARTS) parts a 400 (see [`MultipartError`]). Files are held in
/// memory. `Option<MultipartForm<T>>` is `None` when every required field is absent.
///
/// Declare files as `UploadFile`s: a field of a self-describing type (`serde_json::Value`,
/// a map) sees a file as the internal marker that stands for it (see the
/// [module](super)).
///
/// `T` is public, so that the OpenAPI side can describe the body with `T`'s JSON Schema
/// (`T: schemars::JsonSchema`; an `UploadFile` describes itself as a binary string).
///
/// ```
/// use corio_web::extract::{FromRequest, MultipartForm, UploadFile};
/// use corio_web::{Body, http};
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, schemars::JsonSchema)]
/// struct Upload {
///     token: String,
///     count: u32,
///     file: UploadFile,
///     notes: Option<UploadFile>,
///     #[serde(default)]
///     extra: Vec<UploadFile>,
/// }
///
/// fn request(body: &'static str) -> http::Request<Body> {
///     http::Request::builder()
///         .method("POST")
///         .header("content-type", "multipart/form-data; boundary=xyz")
///         .body(Body::from(body))
///         .unwrap()
/// }
///
/// corio::run(async {
///     let body = concat!(
///         "--xyz\r\n",
///         "content-disposition: form-data; name=\"token\"\r\n\r\n",
///         "abc\r\n",
///         "--xyz\r\n",
///         "content-disposition: form-data; name=\"count\"\r\n\r\n",
///         "42\r\n",
///         "--xyz\r\n",
///         "content-disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n",
///         "content-type: text/plain\r\n\r\n",
///         "hello\r\n",
///         "--xyz--\r\n",
///     );
///     let MultipartForm(upload) =
///         <MultipartForm<Upload> as FromRequest<()>>::from_request(request(body), &())
///             .await
///             .unwrap();
///     assert_eq!((upload.token.as_str(), upload.count), ("abc", 42));
///     assert_eq!(upload.file.filename(), Some("a.txt"));
///     assert_eq!(upload.file.content_type(), Some("text/plain"));
///     assert_eq!(upload.file.text().unwrap(), "hello");
///     assert!(upload.notes.is_none() && upload.extra.is_empty());
///
///     // A text value for the file, and no count: FastAPI's 422.
///     let body = concat!(
///         "--xyz\r\n",
///         "content-disposition: form-data; name=\"token\"\r\n\r\n",
///         "abc\r\n",
///         "--xyz\r\n",
///         "content-disposition: form-data; name=\"file\"\r\n\r\n",
///         "not a file\r\n",
///         "--xyz--\r\n",
///     );
///     let error = <MultipartForm<Upload> as FromRequest<()>>::from_request(request(body), &())
///         .await
///         .unwrap_err();
///     assert_eq!(
///         error.validation_error().unwrap().to_json(),
///         serde_json::json!({"detail": [
///             {"type": "missing", "loc": ["body", "count"], "msg": "Field required",
///              "input": null},
///             {"type": "value_error", "loc": ["body", "file"],
///              "msg": "Value error, Expected UploadFile, received: <class 'str'>",
///              "input": "not a file", "ctx": {"error": {}}},
///         ]})
///     );
/// });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MultipartForm<T>(pub T);

crate::extract::newtype_extractor!(MultipartForm);

/// One value of the body, by name, in the order the parts came.
enum Entry {
    Text(String),
    /// Not UTF-8: kept lossily, to be reported if a field reads it.
    NotUtf8(String),
    /// A row of the side table.
    File(usize),
}

/// The fields of the body, read whole.
#[derive(Default)]
struct Parts {
    entries: Vec<(String, Entry)>,
    files: Vec<UploadFile>,
}

impl Parts {
    async fn read(request: Request) -> Result<Parts, ExtractError> {
        let mut parts = Parts::default();
        match body_kind(request.headers()) {
            BodyKind::Multipart(content_type) => {
                let limit = BodyLimit::of(request.extensions());
                let content_type = content_type.to_owned();
                let (_, body) = request.into_parts();
                let mut multipart = Multipart::new(&content_type, body, limit)?;
                while let Some(field) = multipart.next_field().await? {
                    let Some(name) = field.name().map(str::to_owned) else {
                        return Err(MultipartError::unnamed_part().into());
                    };
                    if field.file_name().is_some() {
                        let row = parts.files.len();
                        parts.files.push(UploadFile::from_field(field).await?);
                        parts.entries.push((name, Entry::File(row)));
                        continue;
                    }
                    let bytes = field.bytes().await?;
                    match String::from_utf8(bytes.into()) {
                        // An empty value counts as absent (FastAPI's rule for forms).
                        Ok(text) if text.is_empty() => {}
                        Ok(text) => parts.entries.push((name, Entry::Text(text))),
                        Err(e) => {
                            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                            parts.entries.push((name, Entry::NotUtf8(lossy)));
                        }
                    }
                }
            }
            BodyKind::UrlEncoded => {
                let (_, bytes) = body::read(request).await?;
                for (name, value) in form_urlencoded::parse(&bytes) {
                    if !value.is_empty() {
                        parts
                            .entries
                            .push((name.into_owned(), Entry::Text(value.into_owned())));
                    }
                }
            }
            // Starlette reads no form out of another body.
            BodyKind::Other => {}
        }
        Ok(parts)
    }

    /// The text pairs, if every value is valid text (the fast path's input).
    fn pairs(&self) -> Option<Vec<(String, String)>> {
        self.entries
            .iter()
            .map(|(name, entry)| match entry {
                Entry::Text(text) => Some((name.clone(), text.clone())),
                Entry::NotUtf8(_) | Entry::File(_) => None,
            })
            .collect()
    }

    /// The object the collecting deserializer reads: each name (in order of first
    /// appearance) to the array of its values, files and bad text as markers.
    fn object(&self) -> Value {
        let mut object = Map::new();
        for (name, entry) in &self.entries {
            let value = match entry {
                Entry::Text(text) => Value::String(text.clone()),
                Entry::NotUtf8(lossy) => marker(NOT_UTF8, lossy.clone().into()),
                Entry::File(row) => marker(UPLOAD, (*row).into()),
            };
            match object.get_mut(name) {
                Some(Value::Array(values)) => values.push(value),
                _ => {
                    object.insert(name.clone(), Value::Array(vec![value]));
                }
            }
        }
        Value::Object(object)
    }
}

fn marker(key: &str, value: Value) -> Value {
    let mut object = Map::new();
    object.insert(key.to_owned(), value);
    Value::Object(object)
}

/// What a marker stands for, when an error echoes it as its input.
fn unmark(input: &mut Value, files: &[UploadFile]) -> Option<Marker> {
    match input {
        Value::Object(object) if object.len() == 1 => {
            let marker = match (object.get(UPLOAD), object.get(NOT_UTF8)) {
                (Some(row), _) => {
                    let file = row
                        .as_u64()
                        .and_then(|row| files.get(usize::try_from(row).ok()?));
                    *input = file.map_or(Value::Null, UploadFile::describe);
                    Marker::File
                }
                (_, Some(Value::String(lossy))) => {
                    *input = Value::String(lossy.clone());
                    Marker::NotUtf8
                }
                _ => return None,
            };
            Some(marker)
        }
        Value::Array(items) => {
            for item in items {
                unmark(item, files);
            }
            None
        }
        _ => None,
    }
}

enum Marker {
    File,
    NotUtf8,
}

/// The errors as the client sees them: markers echoed as what they stand for, and a
/// string asked of text that is not UTF-8 reported as pydantic reports bytes it cannot
/// decode.
fn unmark_errors(errors: Vec<ValidationError>, files: &[UploadFile]) -> RequestValidationError {
    let errors = errors
        .into_iter()
        .map(|mut error| match unmark(&mut error.input, files) {
            Some(Marker::NotUtf8) if error.type_ == "string_type" => {
                ErrorKind::StringUnicode.at(error.loc, error.input)
            }
            Some(Marker::File | Marker::NotUtf8) | None => error,
        })
        .collect();
    RequestValidationError::new(errors)
}

async fn extract<T: DeserializeOwned>(request: Request) -> Result<MultipartForm<T>, ExtractError> {
    let parts = Parts::read(request).await?;
    if let Some(pairs) = parts.pairs() {
        return kv::extract_pairs(&pairs, || parts.object(), "body", Shape::QUERY)
            .map(MultipartForm);
    }
    let object = parts.object();
    let (result, files) = upload_file::with_uploads(parts.files, || {
        de::from_value::<T>(&object, vec!["body".into()], Shape::QUERY)
    });
    match result {
        Ok(value) => Ok(MultipartForm(value)),
        Err(Failure::Invalid(errors)) => Err(unmark_errors(errors, &files).into()),
        Err(Failure::Internal(why)) => Err(ExtractError::internal(why)),
    }
}

impl<S, T> FromRequest<S, ViaRequest> for MultipartForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned + schemars::JsonSchema + Send,
{
    type Rejection = ExtractError;

    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        operation.request_body::<T>("multipart/form-data");
    }

    async fn from_request(request: Request, _state: &S) -> Result<Self, ExtractError> {
        extract(request).await
    }
}

/// `None` when every required field is absent.
impl<S, T> OptionalFromRequest<S> for MultipartForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned + schemars::JsonSchema + Send,
{
    type Rejection = ExtractError;

    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        operation.request_body::<T>("multipart/form-data");
    }

    async fn optional_from_request(
        request: Request,
        _state: &S,
    ) -> Result<Option<Self>, ExtractError> {
        kv::optional(extract(request).await)
    }
}
