//! `multipart/form-data` bodies: file uploads and form fields, as FastAPI's `UploadFile`,
//! `File()` and `Form()` read them.
//!
//! - [`MultipartForm<T>`]: the FastAPI way. `T` declares the fields: text ones read
//!   leniently as [`Form<T>`](crate::extract::Form) reads them, files as [`UploadFile`],
//!   `Option<UploadFile>` or `Vec<UploadFile>`; errors are FastAPI's 422s.
//! - [`Multipart`]: the parts one by one, as they arrive ([`Field`]), for uploads a
//!   handler streams rather than holds.
//!
//! Both parse with the `multer` crate over the request's [`Body`] and read at most the
//! request's [`BodyLimit`] (413 beyond) and at most [`MAX_PARTS`] parts (400 beyond);
//! [`MultipartError`] lists every answer.
//!
//! # How `MultipartForm<T>` reads files
//!
//! The parts are read first: text fields as strings, files whole into [`UploadFile`]s,
//! which go into a side table for the one extraction. The collecting deserializer then
//! reads `T` from an object of the text values with, where a file was, a marker that names
//! its row in the table; [`UploadFile`]'s `Deserialize` takes the row. The table is in a
//! thread-local set only while that (synchronous) deserialization runs. The markers are
//! objects, which no text field can be, so a client cannot forge one.

mod error;
mod typed;
mod upload_file;

pub use error::MultipartError;
pub use typed::MultipartForm;
pub use upload_file::UploadFile;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt;
use http::{HeaderMap, header};

use super::{BodyLimit, FromRequest, OptionalFromRequest, ViaRequest};
use crate::{Body, Request};

/// The most parts one body may have; more is a 400. Starlette allows as many files and as
/// many fields; a part costs a little memory whatever its size, so this bounds what a small
/// body of empty parts can cost.
pub const MAX_PARTS: usize = 1000;

/// What a request's `Content-Type` says its body is.
pub(crate) enum BodyKind<'a> {
    /// `multipart/form-data`, with the whole header (the boundary is in it).
    Multipart(&'a str),
    /// `application/x-www-form-urlencoded`.
    UrlEncoded,
    /// Anything else, or nothing.
    Other,
}

pub(crate) fn body_kind(headers: &HeaderMap) -> BodyKind<'_> {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return BodyKind::Other;
    };
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("multipart/form-data") {
        BodyKind::Multipart(content_type)
    } else if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        BodyKind::UrlEncoded
    } else {
        BodyKind::Other
    }
}

/// A `multipart/form-data` body read part by part, as it arrives: axum's `Multipart`,
/// Starlette's `request.form()` without the buffering.
///
/// A part is a [`Field`], which borrows the `Multipart` until it is dropped (so only one
/// is read at a time); the data of a field dropped before its end is skipped. The whole
/// body is read up to the request's [`BodyLimit`] (a 413 past it) and at most
/// [`MAX_PARTS`] parts (a 400). As an extractor, a request that is not
/// `multipart/form-data` is a 415, a missing boundary a 400; an empty body has no parts.
/// `Option<Multipart>` is `None` for a request that is not multipart.
///
/// ```
/// use corio_web::extract::{BodyLimit, Multipart};
/// use corio_web::Body;
///
/// corio::run(async {
///     let body = Body::from(concat!(
///         "--xyz\r\n",
///         "content-disposition: form-data; name=\"title\"\r\n\r\n",
///         "Holiday\r\n",
///         "--xyz\r\n",
///         "content-disposition: form-data; name=\"photo\"; filename=\"beach.jpg\"\r\n",
///         "content-type: image/jpeg\r\n\r\n",
///         "<jpeg>\r\n",
///         "--xyz--\r\n",
///     ));
///     let mut multipart =
///         Multipart::new("multipart/form-data; boundary=xyz", body, BodyLimit::DEFAULT).unwrap();
///     let field = multipart.next_field().await.unwrap().unwrap();
///     assert_eq!((field.name(), field.file_name()), (Some("title"), None));
///     assert_eq!(field.text().await.unwrap(), "Holiday");
///     let mut field = multipart.next_field().await.unwrap().unwrap();
///     assert_eq!(field.file_name(), Some("beach.jpg"));
///     assert_eq!(field.content_type(), Some("image/jpeg"));
///     let mut size = 0;
///     while let Some(chunk) = field.chunk().await.unwrap() {
///         size += chunk.len();
///     }
///     assert_eq!(size, 6);
///     drop(field); // it borrows `multipart`
///     assert!(multipart.next_field().await.unwrap().is_none());
/// });
/// ```
pub struct Multipart {
    inner: multer::Multipart<'static>,
    /// Parts handed out so far.
    parts: usize,
    /// Whether the body had any bytes: an empty one has no parts (rather than being cut
    /// short before its first boundary), as Starlette reads it.
    started: Arc<AtomicBool>,
    /// Set once the body ended with no parts.
    ended: bool,
    /// The first error, answered again by every later read: the parser's state after an
    /// error is not one to go on from.
    failed: Option<MultipartError>,
}

impl std::fmt::Debug for Multipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multipart")
            .field("parts", &self.parts)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Multipart {
    /// Reads `body` as `multipart/form-data` with the boundary `content_type` gives, within
    /// `limit`.
    ///
    /// # Errors
    ///
    /// A `content_type` that is not `multipart/form-data` (415), one without a boundary
    /// (400), a body whose declared length is over `limit` (413).
    pub fn new(
        content_type: &str,
        body: Body,
        limit: BodyLimit,
    ) -> Result<Multipart, MultipartError> {
        let boundary = multer::parse_boundary(content_type)?;
        if boundary.is_empty() {
            return Err(MultipartError::no_boundary());
        }
        if body.exact_len().is_some_and(|len| len > limit.0 as u64) {
            return Err(MultipartError::too_large());
        }
        let started = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&started);
        let body = body.inspect(move |chunk| {
            if chunk.as_ref().is_ok_and(|chunk| !chunk.is_empty()) {
                seen.store(true, Ordering::Relaxed);
            }
        });
        let limit = limit.0 as u64;
        let constraints = multer::Constraints::new().size_limit(
            multer::SizeLimit::new()
                .whole_stream(limit)
                .per_field(limit),
        );
        Ok(Multipart {
            inner: multer::Multipart::with_constraints(body, boundary, constraints),
            parts: 0,
            started,
            ended: false,
            failed: None,
        })
    }

    /// The next part, `None` after the last.
    ///
    /// # Errors
    ///
    /// The body is malformed, larger than the limit or cannot be read, or it has more than
    /// [`MAX_PARTS`] parts. Once a read failed, every later one fails the same way.
    pub async fn next_field(&mut self) -> Result<Option<Field<'_>>, MultipartError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if self.ended {
            return Ok(None);
        }
        let field = match self.inner.next_field().await {
            Ok(Some(field)) if self.parts < MAX_PARTS => field,
            Ok(Some(_)) => return Err(self.fail(MultipartError::too_many_parts())),
            Ok(None) => return Ok(None),
            Err(multer::Error::IncompleteStream)
                if self.parts == 0 && !self.started.load(Ordering::Relaxed) =>
            {
                self.ended = true;
                return Ok(None);
            }
            Err(error) => return Err(self.fail(error.into())),
        };
        self.parts += 1;
        Ok(Some(Field {
            inner: field,
            failed: &mut self.failed,
        }))
    }

    fn fail(&mut self, error: MultipartError) -> MultipartError {
        self.failed = Some(error.clone());
        error
    }

    /// The multipart body of `request`, with the request's [`BodyLimit`].
    fn from_request(request: Request) -> Result<Multipart, MultipartError> {
        let (parts, body) = request.into_parts();
        let limit = BodyLimit::of(&parts.extensions);
        match body_kind(&parts.headers) {
            BodyKind::Multipart(content_type) => Multipart::new(content_type, body, limit),
            BodyKind::UrlEncoded | BodyKind::Other => Err(MultipartError::not_multipart()),
        }
    }
}

/// Refuses (415) a request that is not `multipart/form-data`.
impl<S: Send + Sync> FromRequest<S, ViaRequest> for Multipart {
    type Rejection = MultipartError;

    async fn from_request(request: Request, _state: &S) -> Result<Multipart, MultipartError> {
        Multipart::from_request(request)
    }
}

/// `None` for a request that is not `multipart/form-data`.
impl<S: Send + Sync> OptionalFromRequest<S> for Multipart {
    type Rejection = MultipartError;

    async fn optional_from_request(
        request: Request,
        _state: &S,
    ) -> Result<Option<Multipart>, MultipartError> {
        match Multipart::from_request(request) {
            Ok(multipart) => Ok(Some(multipart)),
            Err(error) if error.is_not_multipart() => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// One part of a [`Multipart`] body: its headers, then its data, read with
/// [`chunk`](Field::chunk) (or as a `Stream`), [`bytes`](Field::bytes) or
/// [`text`](Field::text).
///
/// It borrows the `Multipart` until it is dropped: drop it (or let its scope end) before
/// asking for the next one.
pub struct Field<'a> {
    inner: multer::Field<'static>,
    /// The `Multipart`'s: an error here ends it too.
    failed: &'a mut Option<MultipartError>,
}

/// The parser allows one field at a time, and checks it only at run time. A `Drop` impl
/// makes the borrow of the `Multipart` last until the field is dropped, so holding a field
/// while asking for the next one is a compile error rather than an error at run time.
impl Drop for Field<'_> {
    fn drop(&mut self) {}
}

impl std::fmt::Debug for Field<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name())
            .field("file_name", &self.file_name())
            .field("headers", self.headers())
            .finish_non_exhaustive()
    }
}

impl Field<'_> {
    /// The `name` of its `Content-Disposition`: the form field it fills.
    pub fn name(&self) -> Option<&str> {
        self.inner.name()
    }

    /// The `filename` of its `Content-Disposition`, which makes the part a file.
    pub fn file_name(&self) -> Option<&str> {
        self.inner.file_name()
    }

    /// Its `Content-Type` header, as sent.
    pub fn content_type(&self) -> Option<&str> {
        self.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }

    /// All its headers.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// Its position in the body, from 0.
    pub fn index(&self) -> usize {
        self.inner.index()
    }

    /// The next piece of its data, `None` at its end. Pieces are never empty.
    ///
    /// # Errors
    ///
    /// As [`Multipart::next_field`].
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, MultipartError> {
        self.next().await.transpose()
    }

    /// All its data.
    ///
    /// # Errors
    ///
    /// As [`Multipart::next_field`].
    pub async fn bytes(mut self) -> Result<Bytes, MultipartError> {
        let Some(first) = self.chunk().await? else {
            return Ok(Bytes::new());
        };
        let Some(second) = self.chunk().await? else {
            return Ok(first);
        };
        let mut all = BytesMut::with_capacity(first.len() + second.len());
        all.extend_from_slice(&first);
        all.extend_from_slice(&second);
        while let Some(chunk) = self.chunk().await? {
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }

    /// All its data, as text.
    ///
    /// # Errors
    ///
    /// As [`Multipart::next_field`]; data that is not UTF-8 is a 422 (`string_unicode` at
    /// `["body", name]`).
    pub async fn text(self) -> Result<String, MultipartError> {
        let name = self.name().map(str::to_owned);
        let bytes = self.bytes().await?;
        match std::str::from_utf8(&bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => Err(MultipartError::not_utf8(name.as_deref(), &bytes)),
        }
    }
}

/// Its data, piece by piece (never an empty one); an error ends it.
impl Stream for Field<'_> {
    type Item = Result<Bytes, MultipartError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(error) = this.failed.as_ref() {
            return Poll::Ready(Some(Err(error.clone())));
        }
        loop {
            return match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) if chunk.is_empty() => continue,
                Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(chunk))),
                Poll::Ready(Some(Err(error))) => {
                    let error = MultipartError::from(error);
                    *this.failed = Some(error.clone());
                    Poll::Ready(Some(Err(error)))
                }
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}
