//! [`UploadFile`]: a file of a multipart body, held in memory; and the per-extraction side
//! table its `Deserialize` reads from (see the module above for the design).

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use bytes::Bytes;
use http::HeaderMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{Field, MultipartError};
use crate::extract::{ErrorKind, report_invalid};

/// The key of the marker object that stands for an uploaded file in the object the
/// collecting deserializer reads: `{UPLOAD: row}`. Text fields are strings, never objects.
pub(super) const UPLOAD: &str = "\0corio:upload";

/// The key of the marker object that stands for a text part whose data is not UTF-8:
/// `{NOT_UTF8: lossy}`. A string asked of it is a `string_unicode` error; a file asked of
/// it, the error a text value gets.
pub(super) const NOT_UTF8: &str = "\0corio:not-utf8";

/// A file uploaded in a `multipart/form-data` body: FastAPI's `UploadFile`, held in memory
/// (at most the request's [`BodyLimit`](crate::extract::BodyLimit)).
///
/// Declare it as a field of a [`MultipartForm<T>`](super::MultipartForm)'s `T`:
/// `UploadFile` for a required file, `Option<UploadFile>` for an optional one,
/// `Vec<UploadFile>` for several under one name. A part with a `filename` is a file;
/// a text value where a file is expected is a 422, as in FastAPI.
///
/// ```
/// use corio_web::extract::UploadFile;
///
/// let file = UploadFile::new("hello").with_filename("hello.txt").with_content_type("text/plain");
/// assert_eq!(file.filename(), Some("hello.txt"));
/// assert_eq!((file.len(), file.text().unwrap()), (5, "hello"));
/// ```
///
/// In OpenAPI it is `{"type": "string", "format": "binary"}`, as FastAPI describes files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UploadFile {
    /// The `filename` the client gave (`Some("")` if it gave an empty one), as sent: do
    /// not use it as a path without cleaning it.
    pub filename: Option<String>,
    /// The part's `Content-Type`, as sent.
    pub content_type: Option<String>,
    /// All the part's headers.
    pub headers: HeaderMap,
    /// The file's contents.
    pub data: Bytes,
}

impl UploadFile {
    /// A file holding `data`, with no name, content type or headers.
    pub fn new(data: impl Into<Bytes>) -> UploadFile {
        UploadFile {
            data: data.into(),
            ..UploadFile::default()
        }
    }

    /// With `filename`.
    pub fn with_filename(mut self, filename: impl Into<String>) -> UploadFile {
        self.filename = Some(filename.into());
        self
    }

    /// With `content_type`.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> UploadFile {
        self.content_type = Some(content_type.into());
        self
    }

    /// Reads a whole [`Field`] of a [`Multipart`](super::Multipart) body.
    ///
    /// # Errors
    ///
    /// As [`Field::bytes`].
    pub async fn from_field(field: Field<'_>) -> Result<UploadFile, MultipartError> {
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        let headers = field.headers().clone();
        let data = field.bytes().await?;
        Ok(UploadFile {
            filename,
            content_type,
            headers,
            data,
        })
    }

    /// The `filename` the client gave.
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// The `Content-Type` the client gave.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The part's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The contents.
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// The contents, taken out.
    pub fn into_bytes(self) -> Bytes {
        self.data
    }

    /// The size in bytes (FastAPI's `size`).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The contents as text.
    ///
    /// # Errors
    ///
    /// If they are not UTF-8.
    pub fn text(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.data)
    }

    /// What an error echoes for this file as its input: its name, type and size, never its
    /// contents.
    pub(super) fn describe(&self) -> Value {
        let mut object = Map::new();
        object.insert("filename".into(), self.filename.clone().into());
        object.insert("content_type".into(), self.content_type.clone().into());
        object.insert("size".into(), self.data.len().into());
        Value::Object(object)
    }
}

thread_local! {
    /// The files of the extraction whose deserialization is running on this thread.
    static UPLOADS: RefCell<Option<Vec<UploadFile>>> = const { RefCell::new(None) };
}

/// Runs `f` (a synchronous deserialization) with `files` as the side table the markers
/// refer to; hands the files back with `f`'s result. A table set around this one (a
/// `Deserialize` impl that extracts again) is put back after, even if `f` panics.
pub(super) fn with_uploads<R>(
    files: Vec<UploadFile>,
    f: impl FnOnce() -> R,
) -> (R, Vec<UploadFile>) {
    struct Restore(Option<Option<Vec<UploadFile>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0.take() {
                UPLOADS.with(|u| *u.borrow_mut() = previous);
            }
        }
    }
    let previous = UPLOADS.with(|u| u.borrow_mut().replace(files));
    let mut restore = Restore(Some(previous));
    let result = f();
    let previous = restore.0.take().unwrap_or(None);
    let files = UPLOADS.with(|u| std::mem::replace(&mut *u.borrow_mut(), previous));
    (result, files.unwrap_or_default())
}

/// Row `index` of the side table, if one is set and has it.
fn upload(index: u64) -> Option<UploadFile> {
    let index = usize::try_from(index).ok()?;
    UPLOADS.with(|u| {
        u.borrow()
            .as_ref()
            .and_then(|files| files.get(index).cloned())
    })
}

/// Reads the file a marker refers to. Anything else is the `value_error` FastAPI answers
/// when a file is expected and something else came (a text field, usually): reported to the
/// collecting pass, which goes on, or (outside one) the deserialization's error.
impl<'de> Deserialize<'de> for UploadFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<UploadFile, D::Error> {
        deserializer.deserialize_any(UploadVisitor)
    }
}

struct UploadVisitor;

impl UploadVisitor {
    /// Reports `input` (of the Python type `python_type`) where a file was expected, and
    /// stands in an empty file for it (the pass that reported it is answered with a 422).
    fn expected_file<E: de::Error>(python_type: &str, input: Value) -> Result<UploadFile, E> {
        let message = format!("Expected UploadFile, received: <class '{python_type}'>");
        report_invalid::<E>(ErrorKind::value_error(message), input)?;
        Ok(UploadFile::default())
    }
}

impl<'de> Visitor<'de> for UploadVisitor {
    type Value = UploadFile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an uploaded file (a part of a multipart/form-data body with a filename)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UploadFile, A::Error> {
        let mut object = Map::new();
        let Some(key) = map.next_key::<Cow<'de, str>>()? else {
            return Self::expected_file("dict", Value::Object(object));
        };
        if key == UPLOAD {
            let index: u64 = map.next_value()?;
            if map.next_key::<de::IgnoredAny>()?.is_none()
                && let Some(file) = upload(index)
            {
                return Ok(file);
            }
            return Self::expected_file("dict", Value::Object(object));
        }
        if key == NOT_UTF8 {
            let text: String = map.next_value()?;
            return Self::expected_file("str", Value::String(text));
        }
        // An object from a JSON body, say: echo it.
        let value: Value = map.next_value()?;
        object.insert(key.into_owned(), value);
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            object.insert(key, value);
        }
        Self::expected_file("dict", Value::Object(object))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<UploadFile, E> {
        Self::expected_file("str", Value::String(text.to_owned()))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<UploadFile, E> {
        Self::expected_file("bytes", String::from_utf8_lossy(bytes).into_owned().into())
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<UploadFile, E> {
        Self::expected_file("bool", b.into())
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<UploadFile, E> {
        Self::expected_file("int", n.into())
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<UploadFile, E> {
        Self::expected_file("int", n.into())
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<UploadFile, E> {
        Self::expected_file("float", n.into())
    }

    /// Also what a stand-in for a missing or wrong value answers: that was reported
    /// already, which silences this report.
    fn visit_unit<E: de::Error>(self) -> Result<UploadFile, E> {
        Self::expected_file("NoneType", Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<UploadFile, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<UploadFile, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UploadFile, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Self::expected_file("list", Value::Array(items))
    }
}

/// `{"type": "string", "format": "binary"}`, as FastAPI describes a file in a request
/// body; a `Vec<UploadFile>` is an array of those.
///
/// ```
/// use corio_web::extract::UploadFile;
///
/// let schema = schemars::schema_for!(UploadFile);
/// assert_eq!(schema.get("type"), Some(&serde_json::json!("string")));
/// assert_eq!(schema.get("format"), Some(&serde_json::json!("binary")));
/// ```
impl schemars::JsonSchema for UploadFile {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "UploadFile".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "format": "binary"})
    }
}
