//! [`ReadBuf`]: a connection's read buffer, reused for its whole life.
//!
//! Bytes are read into a `BytesMut` so that a request head and body chunks can be split off
//! and frozen into `Bytes` without copying. `AsyncRead` reads only into initialized memory,
//! so the spare room past the data is kept initialized: it is zeroed once when the buffer
//! grows, not before every read. `buf.len()` is the initialized length; `filled` how much of
//! it holds data.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use corio::io_util::AsyncRead;

/// What one read asks room for at least.
const READ_SIZE: usize = 8 * 1024;
/// Below this much spare room, the buffer grows (or reclaims consumed space) before a read.
const MIN_SPARE: usize = 1024;

/// See the [module docs](self).
#[derive(Debug)]
pub struct ReadBuf {
    buf: BytesMut,
    filled: usize,
}

impl ReadBuf {
    /// An empty buffer; memory comes with the first read.
    pub fn new() -> ReadBuf {
        ReadBuf {
            buf: BytesMut::new(),
            filled: 0,
        }
    }

    /// The bytes read and not yet consumed.
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    /// How many bytes are buffered.
    pub fn len(&self) -> usize {
        self.filled
    }

    /// Whether no bytes are buffered.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Drops the first `n` buffered bytes (at most all of them).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.filled);
        self.buf.advance(n);
        self.filled -= n;
    }

    /// Splits off the first `n` buffered bytes (at most all of them).
    pub fn split_to(&mut self, n: usize) -> BytesMut {
        let n = n.min(self.filled);
        self.filled -= n;
        self.buf.split_to(n)
    }

    /// Reads once from `io`, appending to the data, with room for at least `hint` bytes
    /// (within reason). `Ok(0)` is end of stream.
    pub fn poll_read_from<R: AsyncRead + Unpin>(
        &mut self,
        io: &mut R,
        cx: &mut Context<'_>,
        hint: usize,
    ) -> Poll<io::Result<usize>> {
        if self.buf.len() - self.filled < MIN_SPARE {
            self.grow(hint);
        }
        let n = ready!(Pin::new(io).poll_read(cx, &mut self.buf[self.filled..]))?;
        // A reader claiming more than it was given would be a bug there; never trust it.
        self.filled = (self.filled + n).min(self.buf.len());
        Poll::Ready(Ok(n))
    }

    fn grow(&mut self, hint: usize) {
        // Drop the initialized-but-empty tail so `reserve` moves (or copies) only data, and
        // can reuse the allocation when everything before `filled` was consumed.
        self.buf.truncate(self.filled);
        self.buf.reserve(hint.clamp(READ_SIZE, 64 * 1024));
        let capacity = self.buf.capacity();
        self.buf.resize(capacity, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corio::io_util::Cursor;

    #[test]
    fn reads_consumes_and_splits() {
        let mut io = Cursor::new(b"hello world".to_vec());
        let mut buf = ReadBuf::new();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let Poll::Ready(Ok(n)) = buf.poll_read_from(&mut io, &mut cx, 0) else {
            panic!("a cursor is always ready");
        };
        assert_eq!(n, 11);
        assert_eq!(buf.data(), b"hello world");
        assert_eq!(&buf.split_to(5)[..], b"hello");
        buf.consume(1);
        assert_eq!(buf.data(), b"world");
        assert_eq!(buf.len(), 5);
        buf.consume(100);
        assert!(buf.is_empty());
        assert!(matches!(
            buf.poll_read_from(&mut io, &mut cx, 0),
            Poll::Ready(Ok(0))
        ));
    }

    #[test]
    fn reuses_its_memory_once_data_is_consumed() {
        let mut buf = ReadBuf::new();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut io = Cursor::new(vec![7u8; 200_000]);
        let mut total = 0;
        while total < 200_000 {
            let Poll::Ready(Ok(n)) = buf.poll_read_from(&mut io, &mut cx, 0) else {
                panic!("a cursor is always ready");
            };
            total += n;
            buf.consume(n);
            assert!(buf.buf.capacity() <= 64 * 1024, "{}", buf.buf.capacity());
        }
    }
}
