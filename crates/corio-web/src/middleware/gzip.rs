//! [`Gzip`]: gzip-compressed responses for clients that accept them.
//!
//! Whether a response *could* be compressed depends on the response alone (its status,
//! type, size, encoding); whether it *is* depends on the request's `Accept-Encoding`. Every
//! response that could be gets `Vary: Accept-Encoding`, compressed or not, so a cache
//! never hands a gzip body to a client that did not ask for one, or the reverse. So do
//! the answer to a `HEAD` that a `GET` would compress (which is itself sent as is) and
//! every `304`, which must carry the `Vary` of the `200` it stands for.
//!
//! A whole body is compressed at once (on the blocking pool when it is large, so the event
//! loop keeps serving). A streamed body is compressed as it streams: input is compressed
//! as it arrives and output sent once enough of it has built up, or as soon as the
//! producer has nothing more for the moment, so a slow stream is not held back waiting
//! for a full buffer.

use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_core::Stream;
use http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    ETAG,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::Layer;
use super::vary::add_vary;
use crate::body::BodyError;
use crate::service::ResponseFuture;
use crate::{Body, Request, Response, Service};

/// Whole bodies at least this large are compressed on the blocking pool (as Starlette
/// does past 128 KiB): a few milliseconds of compression would stall every other request
/// on the event loop thread.
const BLOCKING_MIN: usize = 128 << 10;

/// A streamed body's compressed output is sent once this much has built up.
const STREAM_OUT_TARGET: usize = 16 << 10;

/// The input a streamed body compresses in one poll before letting other tasks run: very
/// compressible input could otherwise keep one poll busy for megabytes.
const STREAM_IN_BUDGET: usize = 256 << 10;

/// Middleware compressing responses with gzip, as Starlette's `GZipMiddleware` does, for
/// requests whose `Accept-Encoding` accepts gzip (`q` values honoured; `*` counts).
///
/// A response is compressed when all of these hold:
///
/// - the request is not `HEAD`, and the client accepts gzip;
/// - the status is not 1xx, 204, 206 or 304, and the response has no `Content-Encoding`,
///   `Content-Range` or `Cache-Control: no-transform`;
/// - the content type is compressible: `text/*` (but not `text/event-stream`, whose
///   events must not wait in a compressor), JSON, XML, JavaScript, form data, SVG, WASM,
///   `*+json`, `*+xml`, and the like;
/// - the body is at least [`minimum_size`](Gzip::minimum_size) bytes (default 500); a
///   stream of unknown length is compressed.
///
/// The compressed response has `Content-Encoding: gzip`, no stale `Content-Length` (the
/// server frames it: by length when whole, chunked when streamed) and a weak `ETag` if it
/// had a strong one, since its bytes are no longer the ones the tag named.
///
/// ```
/// use corio_web::App;
/// use corio_web::middleware::{Gzip, ServiceExt};
/// use corio_web::testing::TestClient;
///
/// async fn big() -> String {
///     "corio ".repeat(200)
/// }
///
/// let app = App::new().get("/", big).layer(Gzip::new());
/// corio::run(async move {
///     let client = TestClient::new(app);
///     let gzipped = client.get("/").header("accept-encoding", "gzip, br").send().await;
///     assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
///     assert_eq!(gzipped.header("vary"), Some("Accept-Encoding"));
///     assert!(gzipped.bytes().len() < 100);
///
///     let plain = client.get("/").header("accept-encoding", "gzip;q=0, identity").send().await;
///     assert_eq!(plain.header("content-encoding"), None);
///     assert_eq!(plain.text(), "corio ".repeat(200));
/// });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Gzip {
    minimum_size: u64,
    level: u32,
}

impl Default for Gzip {
    fn default() -> Gzip {
        Gzip::new()
    }
}

impl Gzip {
    /// Compresses bodies of 500 bytes or more, at level 6.
    pub fn new() -> Gzip {
        Gzip {
            minimum_size: 500,
            level: 6,
        }
    }

    /// Bodies shorter than this are sent as they are (gzip's 20 bytes of framing and the
    /// CPU time are not worth it). Default: 500.
    pub fn minimum_size(mut self, bytes: u64) -> Gzip {
        self.minimum_size = bytes;
        self
    }

    /// The compression level, 0 (none) to 9 (smallest, slowest); larger values are taken
    /// as 9. Default: 6, zlib's own default: level 9 costs about twice the CPU for output
    /// typically 1 or 2 % smaller.
    pub fn level(mut self, level: u32) -> Gzip {
        self.level = level.min(9);
        self
    }
}

impl Layer for Gzip {
    fn wrap(self, inner: Arc<dyn Service>) -> Arc<dyn Service> {
        Arc::new(GzipService {
            config: self,
            inner,
        })
    }
}

struct GzipService {
    config: Gzip,
    inner: Arc<dyn Service>,
}

impl Service for GzipService {
    /// The application's start-up and shutdown hooks, through this middleware.
    fn lifespan(&self) -> Option<&dyn crate::service::Lifespan> {
        self.inner.lifespan()
    }

    fn call(&self, request: Request) -> ResponseFuture {
        let head = request.method() == Method::HEAD;
        let accepted = accepts_gzip(request.headers());
        let config = self.config;
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await;
            // A HEAD answer is not compressed (its length would have to be computed), and
            // a 304 has no body; both still say what the full answer varies on, as the
            // 200 to a GET would (RFC 9110, sections 9.3.2 and 15.4.5).
            if response.status() == StatusCode::NOT_MODIFIED
                || (head && compressible(&response, config.minimum_size))
            {
                add_vary(response.headers_mut(), "Accept-Encoding");
                return response;
            }
            if head || !compressible(&response, config.minimum_size) {
                return response;
            }
            let (mut parts, body) = response.into_parts();
            add_vary(&mut parts.headers, "Accept-Encoding");
            if !accepted {
                return Response::from_parts(parts, body);
            }
            let level = Compression::new(config.level);
            let body = match body.as_bytes() {
                Some(bytes) => match compress_whole(bytes.clone(), level).await {
                    Some(compressed) => Body::from(compressed),
                    // Compressing into memory does not fail; if it somehow did, the
                    // original bytes are still right to send, unmarked.
                    None => return Response::from_parts(parts, body),
                },
                None => Body::from_stream(GzipStream::new(body, level)),
            };
            mark_encoded(&mut parts.headers);
            Response::from_parts(parts, body)
        })
    }
}

/// Whether `response` is one gzip may apply to, whatever the client accepts.
fn compressible(response: &Response, minimum_size: u64) -> bool {
    let status = response.status();
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::PARTIAL_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return false;
    }
    let headers = response.headers();
    if headers.contains_key(CONTENT_ENCODING) || headers.contains_key(CONTENT_RANGE) {
        return false;
    }
    // A proxy or cache must not change a no-transform response; neither should we.
    let no_transform = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|directive| directive.trim().eq_ignore_ascii_case("no-transform"));
    if no_transform {
        return false;
    }
    let typed = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(is_compressible_type);
    if !typed {
        return false;
    }
    match response.body().exact_len() {
        Some(len) => len > 0 && len >= minimum_size,
        None => true,
    }
}

/// Whether a content type is text-like enough that gzip pays off. Already-compressed
/// formats (images, video, archives, fonts in woff) would only grow.
fn is_compressible_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    match kind {
        "text" => sub != "event-stream",
        "application" => {
            sub.ends_with("+json")
                || sub.ends_with("+xml")
                || matches!(
                    sub,
                    "json"
                        | "xml"
                        | "javascript"
                        | "ecmascript"
                        | "x-javascript"
                        | "x-www-form-urlencoded"
                        | "graphql"
                        | "wasm"
                        | "yaml"
                        | "x-yaml"
                        | "toml"
                        | "x-ndjson"
                        | "csv"
                )
        }
        "image" => matches!(sub, "svg+xml" | "x-icon" | "vnd.microsoft.icon" | "bmp"),
        "font" => matches!(sub, "ttf" | "otf"),
        _ => false,
    }
}

/// Whether the request's `Accept-Encoding` accepts gzip: a `gzip` (or `x-gzip`) entry with
/// `q` above 0, or, without one, a `*` entry with `q` above 0. Entries with a malformed
/// `q` are ignored.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip: Option<f32> = None;
    let mut any: Option<f32> = None;
    let entries = headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    for entry in entries {
        let mut params = entry.split(';');
        let coding = params.next().unwrap_or_default().trim();
        let mut q = Some(1.0);
        for param in params {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = parse_q(value.trim());
            }
        }
        let Some(q) = q else { continue };
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(gzip.map_or(q, |seen| seen.max(q)));
        } else if coding == "*" {
            any = Some(q);
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

/// A `qvalue`: `0` to `1` with at most three decimals.
fn parse_q(text: &str) -> Option<f32> {
    let well_formed = (1..=5).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && matches!(text.as_bytes()[0], b'0' | b'1');
    let q: f32 = text.parse().ok().filter(|_| well_formed)?;
    (0.0..=1.0).contains(&q).then_some(q)
}

/// Marks headers for a gzip body: encoding, no stale length, a weakened `ETag`.
fn mark_encoded(headers: &mut HeaderMap) {
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.remove(CONTENT_LENGTH);
    if let Some(etag) = headers.get(ETAG)
        && !etag.as_bytes().starts_with(b"W/")
    {
        let mut weak = b"W/".to_vec();
        weak.extend_from_slice(etag.as_bytes());
        if let Ok(weak) = HeaderValue::from_bytes(&weak) {
            headers.insert(ETAG, weak);
        }
    }
}

/// `bytes` gzipped: on the blocking pool if large and there is a runtime to ask, else here.
async fn compress_whole(bytes: Bytes, level: Compression) -> Option<Vec<u8>> {
    if bytes.len() >= BLOCKING_MIN {
        let handle = corio::runtime::Handle::try_current().ok();
        let input = bytes.clone();
        let job = handle.and_then(|h| h.try_spawn_blocking(move || gzip(&input, level)).ok());
        if let Some(job) = job {
            // A panic in the job (none is expected) falls back to compressing here.
            if let Ok(compressed) = job.await {
                return compressed;
            }
        }
    }
    gzip(&bytes, level)
}

fn gzip(bytes: &[u8], level: Compression) -> Option<Vec<u8>> {
    // Text usually shrinks to a fifth or less: start there and let the Vec grow if not.
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4 + 64), level);
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

/// A streamed body, gzipped as it streams.
struct GzipStream {
    inner: Body,
    /// `None` once the stream has ended (after the gzip trailer, or an error).
    encoder: Option<GzEncoder<Vec<u8>>>,
    /// Input was written since the last flush, so a flush would produce output.
    unflushed: bool,
}

impl GzipStream {
    fn new(inner: Body, level: Compression) -> GzipStream {
        GzipStream {
            inner,
            encoder: Some(GzEncoder::new(Vec::new(), level)),
            unflushed: false,
        }
    }
}

/// The compressed bytes an encoder has produced so far, taken out of it.
fn take_output(encoder: &mut GzEncoder<Vec<u8>>) -> Bytes {
    Bytes::from(std::mem::take(encoder.get_mut()))
}

fn compress_error(e: std::io::Error) -> Option<Result<Bytes, BodyError>> {
    Some(Err(BodyError::Io(e)))
}

impl Stream for GzipStream {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut consumed = 0;
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(None);
            };
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Err(e) = encoder.write_all(&chunk) {
                        this.encoder = None;
                        return Poll::Ready(compress_error(e));
                    }
                    this.unflushed |= !chunk.is_empty();
                    consumed += chunk.len();
                    if encoder.get_ref().len() >= STREAM_OUT_TARGET {
                        return Poll::Ready(Some(Ok(take_output(encoder))));
                    }
                    if consumed >= STREAM_IN_BUDGET {
                        if !encoder.get_ref().is_empty() {
                            return Poll::Ready(Some(Ok(take_output(encoder))));
                        }
                        // Nothing to send yet: yield to other tasks and come back.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    // The body is broken; no trailer, so the client sees it truncated.
                    this.encoder = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    let Some(encoder) = this.encoder.take() else {
                        return Poll::Ready(None);
                    };
                    return Poll::Ready(match encoder.finish() {
                        Ok(rest) => Some(Ok(Bytes::from(rest))),
                        Err(e) => compress_error(e),
                    });
                }
                Poll::Pending => {
                    // The producer has nothing for now: send what is compressed so far
                    // rather than let it sit in the compressor until more arrives.
                    if this.unflushed {
                        this.unflushed = false;
                        if let Err(e) = encoder.flush() {
                            this.encoder = None;
                            return Poll::Ready(compress_error(e));
                        }
                    }
                    if encoder.get_ref().is_empty() {
                        return Poll::Pending;
                    }
                    return Poll::Ready(Some(Ok(take_output(encoder))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(values: &[&'static str]) -> bool {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(ACCEPT_ENCODING, HeaderValue::from_static(value));
        }
        accepts_gzip(&headers)
    }

    #[test]
    fn accept_encoding_q_values_are_honoured() {
        assert!(accepts(&["gzip"]));
        assert!(accepts(&["deflate, GZIP;q=0.5"]));
        assert!(accepts(&["br", "gzip"]));
        assert!(accepts(&["x-gzip"]));
        assert!(accepts(&["*"]));
        assert!(accepts(&["gzip;q=0.001"]));
        assert!(accepts(&["gzip ; q=1.000"]));
        assert!(!accepts(&[]));
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["br, deflate"]));
        assert!(!accepts(&["gzip;q=0"]));
        assert!(!accepts(&["gzip;q=0.000"]));
        assert!(!accepts(&["*, gzip;q=0"]), "gzip's own entry wins over *");
        assert!(!accepts(&["*;q=0"]));
        assert!(!accepts(&["gzipx"]));
        // Malformed q values drop their entry.
        assert!(!accepts(&["gzip;q=2"]));
        assert!(!accepts(&["gzip;q=nan"]));
        assert!(!accepts(&["gzip;q=-1"]));
        assert!(!accepts(&["gzip;q=0.12345"]));
        assert!(!accepts(&["gzip;q="]));
    }

    #[test]
    fn compressible_types_are_text_like() {
        for yes in [
            "text/html; charset=utf-8",
            "text/plain",
            "TEXT/CSS",
            "application/json",
            "application/problem+json",
            "application/javascript",
            "application/xml",
            "application/atom+xml",
            "image/svg+xml",
        ] {
            assert!(is_compressible_type(yes), "{yes}");
        }
        for no in [
            "text/event-stream",
            "image/png",
            "application/octet-stream",
            "application/zip",
            "font/woff2",
            "video/mp4",
            "json",
            "",
        ] {
            assert!(!is_compressible_type(no), "{no}");
        }
    }
}
