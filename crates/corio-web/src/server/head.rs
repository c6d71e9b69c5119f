//! Request heads: the request line and header fields, parsed off the read buffer.
//!
//! Parsing is two pure steps, so that header values and the URI can share the connection's
//! buffer instead of each being copied into an allocation of its own:
//!
//! 1. [`scan`] runs `httparse` over the bytes read so far. If they hold a whole head it
//!    records where each part lies (the method and header names, which are mostly
//!    well-known and cost nothing to build, are built right away) and says how long the
//!    head is.
//! 2. The connection splits exactly that many bytes off its buffer and freezes them;
//!    [`build`] then makes the request (with an empty body), each header value and the URI
//!    a slice of those bytes (a reference count, no copy). It makes the request itself, not
//!    a head to build one from: a request is a few hundred bytes, worth not moving twice.
//!
//! Neither step panics or allocates without bound on any input; the fuzz target `head`
//! holds them to that.

use std::ops::Range;

use bytes::Bytes;
use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, Method, Uri, Version};

use super::config::MAX_HEADERS_CAP;
use crate::{Body, Request};

/// A head that cannot be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// Longer than the configured maximum, or with too many header lines: `431`.
    TooLarge,
    /// Not a valid HTTP/1.x request head: `400`, with a reason for the log.
    Invalid(&'static str),
}

/// One header line found by [`scan`]: its name, and where its value lies in the head.
#[derive(Clone, Debug)]
pub struct Field {
    name: HeaderName,
    value: Range<usize>,
}

/// What [`scan`] found: a whole head of `len` bytes.
#[derive(Clone, Debug)]
pub struct Scanned {
    /// The head's length in bytes, its final empty line included.
    pub len: usize,
    method: Method,
    path: Range<usize>,
    version: Version,
}

/// Looks for a whole request head at the start of `buf`.
///
/// `Ok(None)` means the bytes so far are a valid beginning but the head is not complete;
/// the fields of a complete head are left in `fields` (cleared first) for [`build`].
/// A head longer than `max_len`, complete or not, or with more than `max_headers` lines, is
/// [`HeadError::TooLarge`].
pub fn scan(
    buf: &[u8],
    max_len: usize,
    max_headers: usize,
    fields: &mut Vec<Field>,
) -> Result<Option<Scanned>, HeadError> {
    fields.clear();
    let mut slots =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
    let slots = &mut slots[..max_headers.clamp(1, MAX_HEADERS_CAP)];
    let mut request = httparse::Request::new(&mut []);
    let len = match request.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > max_len => return Err(HeadError::TooLarge),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(err) => return Err(HeadError::Invalid(parse_error_reason(err))),
    };
    if len > max_len {
        return Err(HeadError::TooLarge);
    }
    // A complete parse fills in all three.
    let (Some(method), Some(path), Some(minor)) = (request.method, request.path, request.version)
    else {
        return Err(HeadError::Invalid("incomplete request line"));
    };
    let method =
        Method::from_bytes(method.as_bytes()).map_err(|_| HeadError::Invalid("invalid method"))?;
    let version = match minor {
        0 => Version::HTTP_10,
        1 => Version::HTTP_11,
        _ => return Err(HeadError::Invalid("unsupported HTTP version")),
    };
    let path = range_in(buf, path.as_bytes());
    for header in request.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| HeadError::Invalid("invalid header name"))?;
        fields.push(Field {
            name,
            value: range_in(buf, header.value),
        });
    }
    Ok(Some(Scanned {
        len,
        method,
        path,
        version,
    }))
}

/// Builds the request [`scan`] found (with an empty body), from its head's bytes: `head`
/// is the first `scanned.len` bytes of the buffer `scan` saw, and `fields` what `scan` left
/// there (drained here).
pub fn build(
    head: &Bytes,
    scanned: Scanned,
    fields: &mut Vec<Field>,
) -> Result<Request, HeadError> {
    let slice = |range: &Range<usize>| {
        // Always in bounds when the caller keeps the contract; checked so that a broken
        // contract is a 400, not a panic.
        if range.start <= range.end && range.end <= head.len() {
            Ok(head.slice(range.clone()))
        } else {
            Err(HeadError::Invalid("head does not match its scan"))
        }
    };
    let uri = Uri::from_maybe_shared(slice(&scanned.path)?)
        .map_err(|_| HeadError::Invalid("invalid request target"))?;
    let mut headers = HeaderMap::with_capacity(fields.len());
    for field in fields.drain(..) {
        let value = HeaderValue::from_maybe_shared(slice(&field.value)?)
            .map_err(|_| HeadError::Invalid("invalid header value"))?;
        headers.append(field.name, value);
    }
    let mut request = Request::new(Body::empty());
    *request.method_mut() = scanned.method;
    *request.uri_mut() = uri;
    *request.version_mut() = scanned.version;
    *request.headers_mut() = headers;
    Ok(request)
}

/// Where `part` (a subslice of `buf`, as httparse returns) lies in `buf`.
fn range_in(buf: &[u8], part: &[u8]) -> Range<usize> {
    // Address arithmetic only, no dereference; httparse hands back subslices of `buf`.
    let start = (part.as_ptr() as usize).saturating_sub(buf.as_ptr() as usize);
    start..start + part.len()
}

fn parse_error_reason(err: httparse::Error) -> &'static str {
    match err {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Token => "invalid token in request line",
        httparse::Error::Version => "invalid HTTP version",
        _ => "malformed request head",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Option<(Request, usize)>, HeadError> {
        let mut fields = Vec::new();
        let Some(scanned) = scan(input, 1024, 16, &mut fields)? else {
            return Ok(None);
        };
        let len = scanned.len;
        let head = Bytes::copy_from_slice(&input[..len]);
        Ok(Some((build(&head, scanned, &mut fields)?, len)))
    }

    #[test]
    fn parses_a_request_head() {
        let input = b"POST /items?id=7 HTTP/1.1\r\nHost: example\r\nX-Multi: a\r\nx-multi: b\r\nContent-Length: 3\r\n\r\nabc";
        let (head, len) = parse(input).unwrap().unwrap();
        assert_eq!(&input[len..], b"abc");
        assert_eq!(head.method(), Method::POST);
        assert_eq!(head.uri().path(), "/items");
        assert_eq!(head.uri().query(), Some("id=7"));
        assert_eq!(head.version(), Version::HTTP_11);
        assert_eq!(head.headers()["host"], "example");
        let multi: Vec<_> = head.headers().get_all("x-multi").iter().collect();
        assert_eq!(multi, ["a", "b"]);
        assert_eq!(head.headers().len(), 4);
    }

    #[test]
    fn accepts_http_1_0_extension_methods_and_other_targets() {
        let (head, _) = parse(b"PURGE * HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert_eq!(head.method().as_str(), "PURGE");
        assert_eq!(*head.uri(), "*");
        assert_eq!(head.version(), Version::HTTP_10);
        let (head, _) = parse(b"GET http://example.org/a HTTP/1.1\r\nHost: example.org\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(head.uri().host(), Some("example.org"));
        // Empty lines before the request line are skipped (RFC 9112, section 2.2).
        assert!(parse(b"\r\nGET / HTTP/1.1\r\n\r\n").unwrap().is_some());
    }

    #[test]
    fn incomplete_heads_wait_for_more() {
        let full = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        for end in 0..full.len() {
            assert!(parse(&full[..end]).unwrap().is_none(), "prefix of {end}");
        }
        assert!(parse(full).unwrap().is_some());
    }

    #[test]
    fn rejects_malformed_heads() {
        for input in [
            &b"GET / HTTP/2.0\r\n\r\n"[..],
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nName : x\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
            b"GET / HTTP/1.1\r\n folded: x\r\n\r\n",
            b"G\x01T / HTTP/1.1\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\rX\n\r\n",
        ] {
            assert!(
                matches!(parse(input), Err(HeadError::Invalid(_))),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn enforces_size_and_count_limits() {
        let mut fields = Vec::new();
        let long = [b'a'; 2000];
        assert_eq!(
            scan(&long, 1024, 16, &mut fields).unwrap_err(),
            HeadError::TooLarge
        );
        let mut complete = b"GET /".to_vec();
        complete.extend_from_slice(&[b'a'; 1100]);
        complete.extend_from_slice(b" HTTP/1.1\r\n\r\n");
        assert_eq!(
            scan(&complete, 1024, 16, &mut fields).unwrap_err(),
            HeadError::TooLarge
        );
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..17 {
            many.extend_from_slice(format!("x-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            scan(&many, 1024, 16, &mut fields).unwrap_err(),
            HeadError::TooLarge
        );
    }

    #[test]
    fn a_head_that_does_not_match_its_scan_is_an_error_not_a_panic() {
        let mut fields = Vec::new();
        let input = b"GET /long/path HTTP/1.1\r\nHost: example\r\n\r\n";
        let scanned = scan(input, 1024, 16, &mut fields).unwrap().unwrap();
        let wrong = Bytes::from_static(b"GET / HTTP/1.1\r\n\r\n");
        assert!(build(&wrong, scanned, &mut fields).is_err());
    }
}
