//! Response encoding: the status line and headers, chunk framing, and the canned answers
//! the server gives on its own (`400`, `408`, `413`, `431`, `500`, ...).
//!
//! Everything is appended to the connection's write buffer, which is reused from one
//! response to the next, so encoding allocates nothing once the buffer has grown.

use http::StatusCode;
use http::header::{self, HeaderMap};

use super::framing::LengthHeader;

/// What `Connection` header a response carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionHeader {
    /// None: HTTP/1.1 keeps the connection open by default.
    None,
    /// `connection: keep-alive`, for an HTTP/1.0 client that asked for it.
    KeepAlive,
    /// `connection: close`: the server closes after this response.
    Close,
}

/// The interim response that tells a client waiting on `Expect: 100-continue` to send the
/// body.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The end of a chunked body: the last chunk and an empty trailer section.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Appends a response head: status line, the handler's headers (less those the server
/// owns: the length headers, `connection`), then the length header, `date` (unless the
/// handler set one) and `connection` as decided.
pub fn encode_head(
    dst: &mut Vec<u8>,
    status: StatusCode,
    headers: &HeaderMap,
    length: LengthHeader,
    connection: ConnectionHeader,
    date: &[u8],
) {
    status_line(dst, status);
    let mut has_date = false;
    for (name, value) in headers {
        has_date |= name == header::DATE;
        let owned_by_server = name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
            || (name == header::CONTENT_LENGTH && length != LengthHeader::FromHandler);
        if owned_by_server {
            continue;
        }
        dst.extend_from_slice(name.as_str().as_bytes());
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    match length {
        LengthHeader::Length(n) => {
            dst.extend_from_slice(b"content-length: ");
            push_decimal(dst, n);
            dst.extend_from_slice(b"\r\n");
        }
        LengthHeader::Chunked => dst.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        LengthHeader::None | LengthHeader::FromHandler => {}
    }
    if !has_date {
        dst.extend_from_slice(b"date: ");
        dst.extend_from_slice(date);
        dst.extend_from_slice(b"\r\n");
    }
    match connection {
        ConnectionHeader::None => {}
        ConnectionHeader::KeepAlive => dst.extend_from_slice(b"connection: keep-alive\r\n"),
        ConnectionHeader::Close => dst.extend_from_slice(b"connection: close\r\n"),
    }
    dst.extend_from_slice(b"\r\n");
}

/// Appends the server's own answer with `status` and an empty body, closing the connection.
pub fn encode_error(dst: &mut Vec<u8>, status: StatusCode, date: &[u8]) {
    encode_head(
        dst,
        status,
        &HeaderMap::new(),
        LengthHeader::Length(0),
        ConnectionHeader::Close,
        date,
    );
}

/// Appends the size line of a chunk of `len` bytes (non-zero: a zero chunk ends the body).
pub fn chunk_size_line(dst: &mut Vec<u8>, len: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = len;
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    dst.extend_from_slice(&digits[i..]);
    dst.extend_from_slice(b"\r\n");
}

fn status_line(dst: &mut Vec<u8>, status: StatusCode) {
    // The common case, without assembling it.
    if status == StatusCode::OK {
        dst.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        return;
    }
    dst.extend_from_slice(b"HTTP/1.1 ");
    dst.extend_from_slice(status.as_str().as_bytes());
    dst.push(b' ');
    if let Some(reason) = status.canonical_reason() {
        dst.extend_from_slice(reason.as_bytes());
    }
    dst.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal, without going through `fmt`.
fn push_decimal(dst: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    dst.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    fn head(
        status: StatusCode,
        headers: &HeaderMap,
        length: LengthHeader,
        connection: ConnectionHeader,
    ) -> String {
        let mut out = Vec::new();
        encode_head(&mut out, status, headers, length, connection, DATE);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn encodes_status_headers_length_date_and_connection() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        assert_eq!(
            head(
                StatusCode::OK,
                &headers,
                LengthHeader::Length(12345),
                ConnectionHeader::None
            ),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-a: 1\r\nx-a: 2\r\n\
             content-length: 12345\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
        );
        assert_eq!(
            head(
                StatusCode::NOT_FOUND,
                &HeaderMap::new(),
                LengthHeader::Chunked,
                ConnectionHeader::Close
            ),
            "HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\
             date: Sun, 06 Nov 1994 08:49:37 GMT\r\nconnection: close\r\n\r\n"
        );
        let unknown = StatusCode::from_u16(599).unwrap();
        assert!(
            head(
                unknown,
                &HeaderMap::new(),
                LengthHeader::None,
                ConnectionHeader::KeepAlive
            )
            .starts_with("HTTP/1.1 599 \r\ndate: ")
        );
    }

    #[test]
    fn the_server_owns_framing_headers_and_respects_a_handler_date() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("999"));
        headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("gzip"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::DATE, HeaderValue::from_static("yesterday"));
        assert_eq!(
            head(
                StatusCode::OK,
                &headers,
                LengthHeader::Length(3),
                ConnectionHeader::KeepAlive
            ),
            "HTTP/1.1 200 OK\r\ndate: yesterday\r\ncontent-length: 3\r\n\
             connection: keep-alive\r\n\r\n"
        );
        // HEAD and 304 pass the handler's content-length through.
        assert_eq!(
            head(
                StatusCode::OK,
                &headers,
                LengthHeader::FromHandler,
                ConnectionHeader::None
            ),
            "HTTP/1.1 200 OK\r\ncontent-length: 999\r\ndate: yesterday\r\n\r\n"
        );
    }

    #[test]
    fn canned_errors_and_chunk_sizes() {
        let mut out = Vec::new();
        encode_error(&mut out, StatusCode::PAYLOAD_TOO_LARGE, DATE);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\
             date: Sun, 06 Nov 1994 08:49:37 GMT\r\nconnection: close\r\n\r\n"
        );
        for (len, line) in [
            (1, "1\r\n"),
            (15, "f\r\n"),
            (16, "10\r\n"),
            (0x1abcd, "1abcd\r\n"),
        ] {
            let mut out = Vec::new();
            chunk_size_line(&mut out, len);
            assert_eq!(out, line.as_bytes());
        }
        let mut out = Vec::new();
        push_decimal(&mut out, 0);
        push_decimal(&mut out, u64::MAX);
        assert_eq!(out, b"018446744073709551615");
    }
}
