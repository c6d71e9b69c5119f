//! The chunked transfer coding of request bodies: an incremental decoder.
//!
//! [`ChunkedDecoder`] is a pure state machine: it is fed whatever bytes have arrived, tells
//! the caller which of them are framing (to skip) and which are body data (to hand on), and
//! keeps its place between calls, so a chunk may be split across reads at any byte. It never
//! allocates and never panics, whatever the input; the fuzz target `chunked` holds it to
//! that.
//!
//! It is strict where leniency lets a request be read two ways (request smuggling): a chunk
//! size is hex digits only and must fit in a `u64`, every line ends in CRLF (a bare LF is an
//! error), and chunk data must be followed by CRLF. Chunk extensions and trailer fields are
//! checked for control characters and discarded; their total size is bounded, and so is each
//! chunk-size line's padding (leading zeros, whitespace), so a client cannot keep a body
//! going forever without sending data.

use std::fmt;

/// The most bytes of chunk extensions one body may carry, summed over its chunks.
const MAX_EXTENSIONS: usize = 16 * 1024;
/// The most bytes of trailer fields one body may carry.
const MAX_TRAILERS: usize = 16 * 1024;
/// The most bytes of a chunk size and the whitespace after it, per chunk-size line: 16 hex
/// digits are a `u64`, the rest is room for leading zeros and whitespace.
const MAX_SIZE_LINE: u8 = 64;

/// Decodes one chunked body. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    extensions_left: usize,
    trailers_left: usize,
    /// What is left of [`MAX_SIZE_LINE`] on the current chunk-size line.
    size_line_left: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a chunk-size line: a hex digit must come.
    SizeStart,
    /// Inside the hex digits of a chunk size.
    Size(u64),
    /// Whitespace after the size, before `;` or the line end.
    SizeSpace(u64),
    /// Inside chunk extensions (after `;`), until CR.
    Extension(u64),
    /// CR of the chunk-size line seen: LF must come.
    SizeLf(u64),
    /// Inside chunk data, with this many bytes still to come (never 0).
    Data(u64),
    /// Chunk data done: CR must come.
    DataCr,
    /// CR after the chunk data seen: LF must come.
    DataLf,
    /// After the last chunk, at the start of a trailer line or of the final empty line.
    TrailerStart,
    /// Inside a trailer field line, until CR.
    Trailer,
    /// CR at the end of a trailer line seen: LF must come.
    TrailerLf,
    /// CR of the final empty line seen: LF must come.
    EndLf,
    /// The body is complete.
    Done,
}

/// What [`ChunkedDecoder::decode`] found in its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The first `skip` bytes are framing, then `len` (at least 1) bytes of body data.
    /// The caller consumes `skip + len` bytes and calls again with what follows.
    Data {
        /// Framing bytes before the data.
        skip: usize,
        /// Data bytes.
        len: usize,
    },
    /// All the input was framing (or there was none): the caller consumes it all and calls
    /// again once more bytes arrive.
    NeedMore,
    /// The body ended after the first `n` bytes (which are framing); what follows belongs
    /// to the next request.
    Done(usize),
}

/// A chunked body that breaks the framing rules. The connection cannot be trusted after
/// one: the server answers `400 Bad Request` and closes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkedError {
    /// A chunk size that is not hex digits.
    InvalidSize,
    /// A chunk size that does not fit in 64 bits.
    SizeOverflow,
    /// A line that does not end in CRLF, or chunk data not followed by CRLF.
    MissingCrlf,
    /// A control character in a chunk extension or trailer field.
    InvalidByte,
    /// More chunk extensions or trailer fields than the decoder accepts, or a chunk size
    /// padded past its limit.
    TooLong,
}

impl fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChunkedError::InvalidSize => "invalid chunk size",
            ChunkedError::SizeOverflow => "chunk size too large",
            ChunkedError::MissingCrlf => "chunk framing is missing a CRLF",
            ChunkedError::InvalidByte => "control character in chunk extension or trailer",
            ChunkedError::TooLong => "chunk size line, extensions or trailers too long",
        })
    }
}

impl std::error::Error for ChunkedError {}

impl Default for ChunkedDecoder {
    fn default() -> ChunkedDecoder {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::SizeStart,
            extensions_left: MAX_EXTENSIONS,
            trailers_left: MAX_TRAILERS,
            size_line_left: MAX_SIZE_LINE,
        }
    }

    /// Whether the whole body, trailers included, has been decoded.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes the start of `input`: see [`Step`]. After an error the decoder must not be
    /// used again (it would report the same error or garbage).
    pub fn decode(&mut self, input: &[u8]) -> Result<Step, ChunkedError> {
        let mut pos = 0;
        while pos < input.len() {
            if let State::Data(remaining) = self.state {
                let available = input.len() - pos;
                // Both fit in usize here: `len` is at most `available`.
                let len = remaining.min(available as u64) as usize;
                let left = remaining - len as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data(left)
                };
                return Ok(Step::Data { skip: pos, len });
            }
            if self.state == State::Done {
                return Ok(Step::Done(pos));
            }
            self.state = self.framing_byte(input[pos])?;
            pos += 1;
        }
        Ok(match self.state {
            State::Done => Step::Done(pos),
            _ => Step::NeedMore,
        })
    }

    /// The state after one framing byte (any state but `Data` and `Done`).
    fn framing_byte(&mut self, byte: u8) -> Result<State, ChunkedError> {
        if matches!(self.state, State::Size(_) | State::SizeSpace(_)) {
            self.size_line_left = self
                .size_line_left
                .checked_sub(1)
                .ok_or(ChunkedError::TooLong)?;
        }
        Ok(match self.state {
            State::SizeStart => {
                self.size_line_left = MAX_SIZE_LINE - 1;
                State::Size(u64::from(hex_digit(byte)?))
            }
            State::Size(size) => match byte {
                b'\r' => State::SizeLf(size),
                b';' => State::Extension(size),
                b' ' | b'\t' => State::SizeSpace(size),
                b'\n' => return Err(ChunkedError::MissingCrlf),
                _ => {
                    let digit = u64::from(hex_digit(byte)?);
                    let size = size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(digit))
                        .ok_or(ChunkedError::SizeOverflow)?;
                    State::Size(size)
                }
            },
            State::SizeSpace(size) => match byte {
                b' ' | b'\t' => State::SizeSpace(size),
                b';' => State::Extension(size),
                b'\r' => State::SizeLf(size),
                b'\n' => return Err(ChunkedError::MissingCrlf),
                _ => return Err(ChunkedError::InvalidSize),
            },
            State::Extension(size) => {
                if byte == b'\r' {
                    State::SizeLf(size)
                } else {
                    self.extensions_left = self
                        .extensions_left
                        .checked_sub(1)
                        .ok_or(ChunkedError::TooLong)?;
                    field_byte(byte)?;
                    State::Extension(size)
                }
            }
            State::SizeLf(size) => {
                expect(byte, b'\n')?;
                if size == 0 {
                    State::TrailerStart
                } else {
                    State::Data(size)
                }
            }
            State::DataCr => {
                expect(byte, b'\r')?;
                State::DataLf
            }
            State::DataLf => {
                expect(byte, b'\n')?;
                State::SizeStart
            }
            State::TrailerStart if byte == b'\r' => State::EndLf,
            State::TrailerStart | State::Trailer => {
                if byte == b'\r' {
                    State::TrailerLf
                } else {
                    self.trailers_left = self
                        .trailers_left
                        .checked_sub(1)
                        .ok_or(ChunkedError::TooLong)?;
                    field_byte(byte)?;
                    State::Trailer
                }
            }
            State::TrailerLf => {
                expect(byte, b'\n')?;
                State::TrailerStart
            }
            State::EndLf => {
                expect(byte, b'\n')?;
                State::Done
            }
            // `decode` handles these two before calling; reaching here would be a bug, and
            // an error is the safe answer on untrusted input.
            State::Data(_) | State::Done => return Err(ChunkedError::InvalidSize),
        })
    }
}

fn hex_digit(byte: u8) -> Result<u8, ChunkedError> {
    match byte {
        b'0'..=b'9' => Ok(byte - b'0'),
        b'a'..=b'f' => Ok(byte - b'a' + 10),
        b'A'..=b'F' => Ok(byte - b'A' + 10),
        _ => Err(ChunkedError::InvalidSize),
    }
}

fn expect(byte: u8, want: u8) -> Result<(), ChunkedError> {
    if byte == want {
        Ok(())
    } else {
        Err(ChunkedError::MissingCrlf)
    }
}

/// A byte allowed inside an extension or trailer line: anything but controls (tab is fine).
/// A bare LF lands here too and is refused, so every line must end in CRLF.
fn field_byte(byte: u8) -> Result<(), ChunkedError> {
    if byte == b'\t' || (byte >= 0x20 && byte != 0x7f) {
        Ok(())
    } else if byte == b'\n' {
        Err(ChunkedError::MissingCrlf)
    } else {
        Err(ChunkedError::InvalidByte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes; returns the data and how many bytes
    /// of the input the body took.
    fn decode_in_pieces(input: &[u8], step: usize) -> Result<(Vec<u8>, usize), ChunkedError> {
        let mut decoder = ChunkedDecoder::new();
        let mut data = Vec::new();
        // `start` is where unconsumed input begins; `end` how much has "arrived".
        let (mut start, mut end) = (0, step.min(input.len()));
        loop {
            match decoder.decode(&input[start..end])? {
                Step::Data { skip, len } => {
                    data.extend_from_slice(&input[start + skip..start + skip + len]);
                    start += skip + len;
                }
                Step::NeedMore => {
                    start = end;
                    if end == input.len() {
                        panic!("input ended before the body did");
                    }
                    end = (end + step).min(input.len());
                }
                Step::Done(n) => return Ok((data, start + n)),
            }
        }
    }

    fn decode_all_ways(input: &[u8]) -> Result<(Vec<u8>, usize), ChunkedError> {
        let whole = decode_in_pieces(input, input.len().max(1));
        for step in 1..input.len() {
            assert_eq!(decode_in_pieces(input, step), whole, "pieces of {step}");
        }
        whole
    }

    #[test]
    fn decodes_chunks_split_anywhere() {
        let input = b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\nGET /next";
        let (data, used) = decode_all_ways(input).unwrap();
        assert_eq!(data, b"hello, world");
        assert_eq!(&input[used..], b"GET /next");
    }

    #[test]
    fn accepts_extensions_trailers_and_hex_case() {
        let input = b"A;name=value;x\r\n0123456789\r\nf \r\n0123456789abcde\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n";
        let (data, used) = decode_all_ways(input).unwrap();
        assert_eq!(data, b"01234567890123456789abcde");
        assert_eq!(used, input.len());
        let (data, _) = decode_all_ways(b"0000\r\n\r\n").unwrap();
        assert!(data.is_empty());
    }

    #[test]
    fn a_large_chunk_comes_out_in_pieces_as_it_arrives() {
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(
            decoder.decode(b"10\r\nabc").unwrap(),
            Step::Data { skip: 4, len: 3 }
        );
        assert_eq!(
            decoder.decode(b"defghijklmnop\r\n").unwrap(),
            Step::Data { skip: 0, len: 13 }
        );
        assert_eq!(decoder.decode(b"\r\n").unwrap(), Step::NeedMore);
        assert!(!decoder.is_done());
        assert_eq!(decoder.decode(b"0\r\n\r\nrest").unwrap(), Step::Done(5));
        assert!(decoder.is_done());
    }

    #[test]
    fn rejects_bad_sizes() {
        for input in [
            &b"x\r\n"[..],
            b"\r\n",
            b"-1\r\n",
            b"+5\r\n",
            b"5 5\r\n",
            b" 5\r\n",
        ] {
            assert_eq!(
                decode_in_pieces(input, 64),
                Err(ChunkedError::InvalidSize),
                "{input:?}"
            );
        }
        assert_eq!(
            decode_in_pieces(b"10000000000000000\r\n", 64),
            Err(ChunkedError::SizeOverflow)
        );
        // 16 hex digits fit; leading zeros are not an overflow.
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(
            decoder.decode(b"ffffffffffffffff\r\nab").unwrap(),
            Step::Data { skip: 18, len: 2 }
        );
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(
            decoder.decode(b"00000000000000000000001\r\n").unwrap(),
            Step::NeedMore
        );
    }

    #[test]
    fn rejects_missing_crlfs() {
        for input in [
            &b"5\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhelloX\r\n0\r\n\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"5\r\nhello\r\n0\r\n\n",
            b"5\r\nhello\r\n0\n\r\n",
            b"5\r\nhello\r\n0\r\nX: y\n\r\n",
            b"3;ext\n",
        ] {
            assert_eq!(
                decode_in_pieces(input, 64),
                Err(ChunkedError::MissingCrlf),
                "{input:?}"
            );
        }
    }

    #[test]
    fn bounds_extensions_and_trailers() {
        let mut input = b"1;".to_vec();
        input.extend(std::iter::repeat_n(b'a', MAX_EXTENSIONS + 1));
        assert_eq!(decode_in_pieces(&input, 1000), Err(ChunkedError::TooLong));
        let mut input = b"0\r\nX: ".to_vec();
        input.extend(std::iter::repeat_n(b'a', MAX_TRAILERS));
        assert_eq!(decode_in_pieces(&input, 1000), Err(ChunkedError::TooLong));
        assert_eq!(
            decode_in_pieces(b"1;a\x00b\r\n", 64),
            Err(ChunkedError::InvalidByte)
        );
    }

    #[test]
    fn bounds_chunk_size_lines() {
        // Padding (leading zeros, whitespace) must not keep a body going without data.
        let mut input = b"1".to_vec();
        input.extend(std::iter::repeat_n(b' ', 100_000));
        assert_eq!(decode_in_pieces(&input, 1000), Err(ChunkedError::TooLong));
        let mut input = vec![b'0'; 100_000];
        input.extend_from_slice(b"1\r\n");
        assert_eq!(decode_in_pieces(&input, 1000), Err(ChunkedError::TooLong));
        // Every size line gets the allowance afresh.
        let mut input = Vec::new();
        for _ in 0..100 {
            input.extend(std::iter::repeat_n(b'0', 40));
            input.extend_from_slice(b"1  \r\nx\r\n");
        }
        input.extend_from_slice(b"0\r\n\r\n");
        let (data, used) = decode_in_pieces(&input, 1000).unwrap();
        assert_eq!(data, [b'x'; 100]);
        assert_eq!(used, input.len());
    }
}
