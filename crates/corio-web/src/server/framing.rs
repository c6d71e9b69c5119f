//! Framing decisions: where a request body ends, whether the connection stays open, and
//! how a response body is delimited. Pure functions of versions, statuses and headers.
//!
//! Request framing is where request smuggling happens: a front proxy and this server must
//! never disagree on where a body ends. So anything ambiguous is refused (`400`, and the
//! connection is closed) rather than interpreted: `Content-Length` together with
//! `Transfer-Encoding`, several differing or malformed `Content-Length` values, a
//! `Transfer-Encoding` whose last coding is not `chunked` (or that names `chunked` twice),
//! `Transfer-Encoding` in an HTTP/1.0 request.

use http::header::{self, HeaderMap, HeaderValue};
use http::{StatusCode, Version};

/// How a request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    Empty,
    /// Exactly this many bytes (never 0: that is `Empty`).
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// What the head of a request says about reading it and about the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestFraming {
    /// Where the body ends.
    pub body: BodyFraming,
    /// Whether the client is willing to keep the connection open after this request.
    pub keep_alive: bool,
    /// Whether the client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
}

/// Why a request head cannot be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// `400 Bad Request`, with a reason for the log.
    BadRequest(&'static str),
    /// `501 Not Implemented`: a transfer coding other than `chunked`.
    NotImplemented,
}

impl Rejection {
    /// The status to answer with.
    pub fn status(self) -> StatusCode {
        match self {
            Rejection::BadRequest(_) => StatusCode::BAD_REQUEST,
            Rejection::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        }
    }
}

/// Decides how to read a request from its version and headers. See the module docs for
/// what is refused.
///
/// One pass over the fields, comparing names (well-known names compare as small integers),
/// instead of a hashed lookup per header of interest: a typical request has a handful of
/// fields and none of the interesting ones but `Host`.
pub fn request_framing(version: Version, headers: &HeaderMap) -> Result<RequestFraming, Rejection> {
    let mut hosts = 0usize;
    let mut length: Option<u64> = None;
    let mut has_length = false;
    let mut transfer = TransferCodings::default();
    let mut has_transfer = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut expect_continue = false;
    let mut expect_seen = false;
    for (name, value) in headers {
        if name == header::HOST {
            hosts += 1;
        } else if name == header::CONTENT_LENGTH {
            has_length = true;
            length = Some(content_length_value(value, length)?);
        } else if name == header::TRANSFER_ENCODING {
            has_transfer = true;
            transfer.push_line(value)?;
        } else if name == header::CONNECTION {
            close |= value_has_token(value, "close");
            keep_alive_token |= value_has_token(value, "keep-alive");
        } else if name == header::EXPECT {
            // Only the first `Expect` counts, as a map lookup would see it.
            if !expect_seen {
                expect_continue = value.as_bytes().eq_ignore_ascii_case(b"100-continue");
            }
            expect_seen = true;
        }
    }
    // RFC 9112, section 3.2: exactly one Host in an HTTP/1.1 request.
    if version == Version::HTTP_11 && hosts != 1 {
        return Err(Rejection::BadRequest(
            "an HTTP/1.1 request needs one Host header",
        ));
    }
    let body = if has_transfer {
        if version != Version::HTTP_11 {
            return Err(Rejection::BadRequest(
                "Transfer-Encoding in an HTTP/1.0 request",
            ));
        }
        if has_length {
            return Err(Rejection::BadRequest(
                "both Content-Length and Transfer-Encoding",
            ));
        }
        transfer.finish()?;
        BodyFraming::Chunked
    } else {
        match length {
            None | Some(0) => BodyFraming::Empty,
            Some(n) => BodyFraming::Length(n),
        }
    };
    // `close` wins in either version (RFC 9112, section 9.3).
    let keep_alive = match version {
        Version::HTTP_11 => !close,
        _ => keep_alive_token && !close,
    };
    Ok(RequestFraming {
        body,
        keep_alive,
        // HTTP/1.0 clients do not know 100 Continue (RFC 9110, section 10.1.1).
        expect_continue: expect_continue && version == Version::HTTP_11,
    })
}

/// The codings of all `Transfer-Encoding` lines, in order, checked as they come: they must
/// end with `chunked`, which must appear only there.
#[derive(Default)]
struct TransferCodings {
    /// A coding was seen and it was `chunked` (so another one after it is an error).
    chunked_seen: bool,
    /// Whether the last coding so far is `chunked`.
    last_is_chunked: bool,
    /// A coding other than `chunked` was seen.
    other_codings: bool,
}

impl TransferCodings {
    fn push_line(&mut self, value: &HeaderValue) -> Result<(), Rejection> {
        for coding in value.as_bytes().split(|&b| b == b',').map(trim) {
            if coding.is_empty() {
                return Err(Rejection::BadRequest("empty transfer coding"));
            }
            if self.chunked_seen {
                return Err(Rejection::BadRequest(
                    "chunked is not the last transfer coding",
                ));
            }
            if coding.eq_ignore_ascii_case(b"chunked") {
                self.chunked_seen = true;
                self.last_is_chunked = true;
            } else {
                self.other_codings = true;
                self.last_is_chunked = false;
            }
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), Rejection> {
        if !self.last_is_chunked {
            return Err(Rejection::BadRequest(
                "the last transfer coding is not chunked",
            ));
        }
        if self.other_codings {
            // Framing is clear, but the body would reach the handler still encoded.
            return Err(Rejection::NotImplemented);
        }
        Ok(())
    }
}

/// Folds one `Content-Length` line into the length seen so far: every line and list
/// element must be the same number.
fn content_length_value(value: &HeaderValue, seen: Option<u64>) -> Result<u64, Rejection> {
    let mut length = seen;
    for element in value.as_bytes().split(|&b| b == b',') {
        let n =
            parse_decimal(trim(element)).ok_or(Rejection::BadRequest("invalid Content-Length"))?;
        match length {
            Some(seen) if seen != n => {
                return Err(Rejection::BadRequest("differing Content-Length values"));
            }
            _ => length = Some(n),
        }
    }
    length.ok_or(Rejection::BadRequest("invalid Content-Length"))
}

/// Digits only (no sign, no spaces), fitting in a `u64`.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

fn trim(bytes: &[u8]) -> &[u8] {
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// What a handler's response headers say about framing the response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResponseHeaderFacts {
    /// A `Connection` line holds `close`.
    pub close: bool,
    /// The handler set a `Content-Length`.
    pub has_length: bool,
}

/// Reads [`ResponseHeaderFacts`] off `headers` in one pass (see [`request_framing`] for
/// why a pass and not lookups).
pub fn response_header_facts(headers: &HeaderMap) -> ResponseHeaderFacts {
    let mut facts = ResponseHeaderFacts::default();
    for (name, value) in headers {
        if name == header::CONNECTION {
            facts.close |= value_has_token(value, "close");
        } else if name == header::CONTENT_LENGTH {
            facts.has_length = true;
        }
    }
    facts
}

fn value_has_token(value: &HeaderValue, token: &str) -> bool {
    value
        .as_bytes()
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes()))
}

/// The length header a response carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthHeader {
    /// None at all.
    None,
    /// `content-length: n`.
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
    /// Whatever `content-length` the handler set (for `HEAD` and `304`, which describe a
    /// body they do not carry).
    FromHandler,
}

/// How a response body goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyWrite {
    /// Not at all (`HEAD`, `1xx`, `204`, `304`).
    Skip,
    /// Exactly this many bytes.
    Length(u64),
    /// In chunks, then the last chunk.
    Chunked,
    /// As is, ended by closing the connection (a body of unknown length to HTTP/1.0).
    UntilClose,
}

/// How a response is framed: its length header and how its body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseFraming {
    /// The length header.
    pub header: LengthHeader,
    /// How the body is written.
    pub body: BodyWrite,
}

/// Decides how to frame a response to a request of `version` (and method `HEAD` or not),
/// with `status`, a body of `body_len` bytes if known, and whether the handler set a
/// `content-length` of its own.
pub fn response_framing(
    head_request: bool,
    version: Version,
    status: StatusCode,
    body_len: Option<u64>,
    handler_length: bool,
) -> ResponseFraming {
    let skip = |header| ResponseFraming {
        header,
        body: BodyWrite::Skip,
    };
    if status.is_informational() || status == StatusCode::NO_CONTENT {
        return skip(LengthHeader::None);
    }
    if status == StatusCode::NOT_MODIFIED {
        return skip(if handler_length {
            LengthHeader::FromHandler
        } else {
            LengthHeader::None
        });
    }
    let chunked_ok = version == Version::HTTP_11;
    if head_request {
        // The headers a GET would get, without the body.
        return skip(match body_len {
            _ if handler_length => LengthHeader::FromHandler,
            Some(n) => LengthHeader::Length(n),
            None if chunked_ok => LengthHeader::Chunked,
            None => LengthHeader::None,
        });
    }
    match body_len {
        Some(n) => ResponseFraming {
            header: LengthHeader::Length(n),
            body: BodyWrite::Length(n),
        },
        None if chunked_ok => ResponseFraming {
            header: LengthHeader::Chunked,
            body: BodyWrite::Chunked,
        },
        None => ResponseFraming {
            header: LengthHeader::None,
            body: BodyWrite::UntilClose,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in lines {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn framing11(lines: &[(&'static str, &'static str)]) -> Result<RequestFraming, Rejection> {
        let mut all = vec![("host", "x")];
        all.extend_from_slice(lines);
        request_framing(Version::HTTP_11, &headers(&all))
    }

    fn bad(result: Result<RequestFraming, Rejection>) -> bool {
        matches!(result, Err(Rejection::BadRequest(_)))
    }

    #[test]
    fn body_framing_from_length_or_chunked() {
        assert_eq!(framing11(&[]).unwrap().body, BodyFraming::Empty);
        assert_eq!(
            framing11(&[("content-length", "0")]).unwrap().body,
            BodyFraming::Empty
        );
        assert_eq!(
            framing11(&[("content-length", "42")]).unwrap().body,
            BodyFraming::Length(42)
        );
        assert_eq!(
            framing11(&[("content-length", "42"), ("content-length", "42, 42")])
                .unwrap()
                .body,
            BodyFraming::Length(42)
        );
        assert_eq!(
            framing11(&[("transfer-encoding", "Chunked")]).unwrap().body,
            BodyFraming::Chunked
        );
    }

    #[test]
    fn refuses_smuggling_shapes() {
        assert!(bad(framing11(&[
            ("content-length", "5"),
            ("transfer-encoding", "chunked")
        ])));
        assert!(bad(framing11(&[
            ("content-length", "5"),
            ("content-length", "6")
        ])));
        assert!(bad(framing11(&[("content-length", "5, 6")])));
        for invalid in ["", "-1", "+5", "0x10", "1 2", "5,", "18446744073709551616"] {
            assert!(
                bad(framing11(&[("content-length", invalid)])),
                "{invalid:?}"
            );
        }
        for te in ["gzip", "chunked, gzip", "chunked, chunked", "", "chunked,"] {
            assert!(bad(framing11(&[("transfer-encoding", te)])), "{te:?}");
        }
        assert!(bad(framing11(&[
            ("transfer-encoding", "chunked"),
            ("transfer-encoding", "identity")
        ])));
        assert_eq!(
            framing11(&[("transfer-encoding", "gzip, chunked")]),
            Err(Rejection::NotImplemented)
        );
        assert!(bad(request_framing(
            Version::HTTP_10,
            &headers(&[("transfer-encoding", "chunked")])
        )));
    }

    #[test]
    fn http_1_1_needs_exactly_one_host() {
        assert!(bad(request_framing(Version::HTTP_11, &HeaderMap::new())));
        assert!(bad(request_framing(
            Version::HTTP_11,
            &headers(&[("host", "a"), ("host", "b")])
        )));
        assert!(request_framing(Version::HTTP_10, &HeaderMap::new()).is_ok());
    }

    #[test]
    fn keep_alive_and_expect() {
        assert!(framing11(&[]).unwrap().keep_alive);
        assert!(
            !framing11(&[("connection", "Upgrade, Close")])
                .unwrap()
                .keep_alive
        );
        assert!(
            !request_framing(Version::HTTP_10, &HeaderMap::new())
                .unwrap()
                .keep_alive
        );
        assert!(
            request_framing(Version::HTTP_10, &headers(&[("connection", "Keep-Alive")]))
                .unwrap()
                .keep_alive
        );
        assert!(
            !request_framing(
                Version::HTTP_10,
                &headers(&[("connection", "keep-alive"), ("connection", "close")])
            )
            .unwrap()
            .keep_alive
        );
        assert!(
            framing11(&[("expect", "100-Continue")])
                .unwrap()
                .expect_continue
        );
        assert!(
            !request_framing(Version::HTTP_10, &headers(&[("expect", "100-continue")]))
                .unwrap()
                .expect_continue
        );
    }

    #[test]
    fn response_framing_by_request_status_and_body() {
        use BodyWrite as B;
        use LengthHeader as L;
        let v11 = Version::HTTP_11;
        let v10 = Version::HTTP_10;
        let ok = StatusCode::OK;
        let f = |header, body| ResponseFraming { header, body };
        assert_eq!(
            response_framing(false, v11, ok, Some(5), false),
            f(L::Length(5), B::Length(5))
        );
        assert_eq!(
            response_framing(false, v11, ok, None, false),
            f(L::Chunked, B::Chunked)
        );
        assert_eq!(
            response_framing(false, v10, ok, None, false),
            f(L::None, B::UntilClose)
        );
        assert_eq!(
            response_framing(true, v11, ok, Some(5), false),
            f(L::Length(5), B::Skip)
        );
        assert_eq!(
            response_framing(true, v11, ok, Some(0), true),
            f(L::FromHandler, B::Skip)
        );
        assert_eq!(
            response_framing(true, v11, ok, None, false),
            f(L::Chunked, B::Skip)
        );
        assert_eq!(
            response_framing(true, v10, ok, None, false),
            f(L::None, B::Skip)
        );
        assert_eq!(
            response_framing(false, v11, StatusCode::NO_CONTENT, Some(3), true),
            f(L::None, B::Skip)
        );
        assert_eq!(
            response_framing(false, v11, StatusCode::NOT_MODIFIED, Some(0), true),
            f(L::FromHandler, B::Skip)
        );
    }
}
