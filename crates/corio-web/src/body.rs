//! [`Body`]: the bytes of a request or a response, either whole or streamed.
//!
//! A body the application builds is usually whole (`Body::from("hello")`); the server knows
//! its length up front and sends a `Content-Length`. A streamed body (`Body::from_stream`) is
//! sent with chunked transfer encoding unless its length was declared. The server hands the
//! application request bodies as streams that read from the connection on demand, so a
//! handler that never reads the body never waits for it.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;

/// Any error a body stream may yield.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

type BoxStream = Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>> + Send + 'static>>;

/// The bytes of a request or response: whole, or a stream of chunks.
///
/// ```
/// use corio_web::Body;
///
/// corio::run(async {
///     let body = Body::from("hello");
///     assert_eq!(body.exact_len(), Some(5));
///     assert_eq!(body.to_bytes(1024).await.unwrap(), "hello");
/// });
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    Full(Bytes),
    Stream {
        stream: BoxStream,
        /// The total length, when the producer declared it (a request's `Content-Length`).
        len: Option<u64>,
    },
}

/// Why a body could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is longer than the limit the reader set.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The connection failed, or the peer broke the framing (a bad chunk size, a body cut
    /// short).
    Io(std::io::Error),
    /// The stream the body came from failed.
    Other(BoxError),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge { limit } => write!(f, "body larger than {limit} bytes"),
            BodyError::Io(e) => write!(f, "reading the body failed: {e}"),
            BodyError::Other(e) => write!(f, "body stream failed: {e}"),
        }
    }
}

impl StdError for BodyError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            BodyError::TooLarge { .. } => None,
            BodyError::Io(e) => Some(e),
            BodyError::Other(e) => Some(&**e),
        }
    }
}

impl From<std::io::Error> for BodyError {
    fn from(e: std::io::Error) -> BodyError {
        BodyError::Io(e)
    }
}

impl Body {
    /// An empty body.
    pub fn empty() -> Body {
        Body::from(Bytes::new())
    }

    /// A body streamed from `stream`, of unknown length (sent chunked).
    pub fn from_stream<S, E>(stream: S) -> Body
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        Body::stream_with_len(stream, None)
    }

    /// A body streamed from `stream` that will yield exactly `len` bytes (sent with a
    /// `Content-Length`). A stream that yields a different number of bytes is an error the
    /// server reports by closing the connection.
    pub fn from_stream_with_len<S, E>(stream: S, len: u64) -> Body
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        Body::stream_with_len(stream, Some(len))
    }

    fn stream_with_len<S, E>(stream: S, len: Option<u64>) -> Body
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        use futures_util::TryStreamExt;
        let stream = stream.map_err(|e| {
            let e: BoxError = e.into();
            match e.downcast::<BodyError>() {
                Ok(e) => *e,
                Err(e) => match e.downcast::<std::io::Error>() {
                    Ok(e) => BodyError::Io(*e),
                    Err(e) => BodyError::Other(e),
                },
            }
        });
        Body {
            kind: Kind::Stream {
                stream: Box::pin(stream),
                len,
            },
        }
    }

    /// The body's length, if known before reading it: always for a whole body, for a
    /// stream only if it was declared.
    pub fn exact_len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Full(bytes) => Some(bytes.len() as u64),
            Kind::Stream { len, .. } => *len,
        }
    }

    /// The bytes of a whole body, without reading anything; `None` for a stream.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match &self.kind {
            Kind::Full(bytes) => Some(bytes),
            Kind::Stream { .. } => None,
        }
    }

    /// Reads the whole body, failing with [`BodyError::TooLarge`] as soon as it exceeds
    /// `limit` bytes (without reading the rest).
    pub async fn to_bytes(self, limit: usize) -> Result<Bytes, BodyError> {
        match self.kind {
            Kind::Full(bytes) if bytes.len() > limit => Err(BodyError::TooLarge { limit }),
            Kind::Full(bytes) => Ok(bytes),
            Kind::Stream { mut stream, len } => {
                if len.is_some_and(|len| len > limit as u64) {
                    return Err(BodyError::TooLarge { limit });
                }
                use futures_util::StreamExt;
                // One chunk is common (a small request): keep it without copying.
                let mut first: Option<Bytes> = None;
                let mut rest = BytesMut::new();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk?;
                    let total = first.as_ref().map_or(0, Bytes::len) + rest.len() + chunk.len();
                    if total > limit {
                        return Err(BodyError::TooLarge { limit });
                    }
                    match &first {
                        None => first = Some(chunk),
                        Some(_) => rest.extend_from_slice(&chunk),
                    }
                }
                Ok(match first {
                    None => Bytes::new(),
                    Some(first) if rest.is_empty() => first,
                    Some(first) => {
                        let mut all = BytesMut::with_capacity(first.len() + rest.len());
                        all.extend_from_slice(&first);
                        all.extend_from_slice(&rest);
                        all.freeze()
                    }
                })
            }
        }
    }
}

impl Stream for Body {
    type Item = Result<Bytes, BodyError>;

    /// Yields the body's chunks; a whole body is one chunk (none if empty).
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match &mut this.kind {
            Kind::Full(bytes) if bytes.is_empty() => Poll::Ready(None),
            Kind::Full(bytes) => Poll::Ready(Some(Ok(std::mem::take(bytes)))),
            Kind::Stream { stream, .. } => stream.as_mut().poll_next(cx),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(bytes) => f.debug_tuple("Body").field(bytes).finish(),
            Kind::Stream { len, .. } => f
                .debug_struct("Body")
                .field("stream_len", len)
                .finish_non_exhaustive(),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body {
            kind: Kind::Full(bytes),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::from(Bytes::from(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::from(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::from(Bytes::from_static(text.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body::from(Bytes::from_static(bytes))
    }
}

impl From<()> for Body {
    fn from((): ()) -> Body {
        Body::empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{StreamExt, stream};

    fn chunks(parts: &[&'static str]) -> Body {
        let items: Vec<Result<Bytes, std::io::Error>> = parts
            .iter()
            .map(|p| Ok(Bytes::from_static(p.as_bytes())))
            .collect();
        Body::from_stream(stream::iter(items))
    }

    #[test]
    fn whole_bodies_know_their_length_and_yield_one_chunk() {
        corio::run(async {
            let mut body = Body::from("abc");
            assert_eq!(body.exact_len(), Some(3));
            assert_eq!(body.as_bytes().unwrap(), "abc");
            assert_eq!(body.next().await.unwrap().unwrap(), "abc");
            assert!(body.next().await.is_none());
            assert!(Body::empty().next().await.is_none());
        });
    }

    #[test]
    fn to_bytes_joins_chunks_and_enforces_the_limit() {
        corio::run(async {
            assert_eq!(
                chunks(&["ab", "cd", "e"]).to_bytes(5).await.unwrap(),
                "abcde"
            );
            assert_eq!(chunks(&["single"]).to_bytes(6).await.unwrap(), "single");
            assert_eq!(chunks(&[]).to_bytes(0).await.unwrap(), "");
            let err = chunks(&["ab", "cd", "e"]).to_bytes(4).await.unwrap_err();
            assert!(matches!(err, BodyError::TooLarge { limit: 4 }));
            let err = Body::from("too long").to_bytes(3).await.unwrap_err();
            assert!(matches!(err, BodyError::TooLarge { limit: 3 }));
        });
    }

    #[test]
    fn a_declared_length_over_the_limit_fails_before_reading() {
        corio::run(async {
            let never = stream::pending::<Result<Bytes, std::io::Error>>();
            let body = Body::from_stream_with_len(never, 100);
            assert_eq!(body.exact_len(), Some(100));
            assert!(matches!(
                body.to_bytes(10).await,
                Err(BodyError::TooLarge { limit: 10 })
            ));
        });
    }

    #[test]
    fn stream_errors_keep_their_kind() {
        corio::run(async {
            let items: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from_static(b"x")),
                Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "cut short",
                )),
            ];
            let err = Body::from_stream(stream::iter(items))
                .to_bytes(10)
                .await
                .unwrap_err();
            match err {
                BodyError::Io(e) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
                other => panic!("unexpected {other:?}"),
            }
            let items: Vec<Result<Bytes, BoxError>> = vec![Err("boom".into())];
            let err = Body::from_stream(stream::iter(items))
                .to_bytes(10)
                .await
                .unwrap_err();
            assert_eq!(err.to_string(), "body stream failed: boom");
        });
    }
}
