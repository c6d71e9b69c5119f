//! The server's pure parsers, for the fuzz targets in `crates/corio-web/fuzz`. Not a
//! stable API: built only with the `fuzzing` feature.

pub use super::chunked::{ChunkedDecoder, ChunkedError, Step};
pub use super::framing::{BodyFraming, Rejection, RequestFraming, request_framing};
pub use super::head::{HeadError, build, scan};

/// A parsed request (its body empty) and the framing decided for it.
pub type Parsed = (crate::Request, Result<RequestFraming, Rejection>);

/// Scans and builds a head at the start of `input` as the connection does, then decides
/// its framing: `Ok(None)` if the head is incomplete.
pub fn parse_request(
    input: &[u8],
    max_len: usize,
    max_headers: usize,
) -> Result<Option<Parsed>, HeadError> {
    let mut fields = Vec::new();
    let Some(scanned) = scan(input, max_len, max_headers, &mut fields)? else {
        return Ok(None);
    };
    let head_bytes = bytes::Bytes::copy_from_slice(input.get(..scanned.len).unwrap_or(&[]));
    let head = build(&head_bytes, scanned, &mut fields)?;
    let framing = request_framing(head.version(), head.headers());
    Ok(Some((head, framing)))
}
