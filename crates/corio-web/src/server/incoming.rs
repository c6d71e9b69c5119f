//! Request bodies, streamed off the connection as the handler reads them.
//!
//! # Who owns the read side
//!
//! Between requests the connection task owns its [`Reader`]: the socket's read half and the
//! read buffer (which may already hold the next pipelined requests). For a request with a
//! body, the connection moves the reader into a [`BodyReader`] (the reader plus where the
//! body ends) inside an [`IncomingBody`], the stream behind the request's [`Body`]. The
//! handler may read it, pass it to another task, keep it inside its response body, or drop
//! it; in every case the reader comes back exactly once, through a oneshot channel:
//!
//! - when the body has been read to its end ([`Outcome::Complete`]), at once, even if the
//!   handler holds on to the `Body`;
//! - when reading failed ([`Outcome::Failed`]): too large, broken framing, I/O error;
//! - when the `Body` is dropped unfinished ([`Outcome::Unfinished`]).
//!
//! The connection writes the response, then waits for the reader (for at most its
//! keep-alive timeout, so a leaked body cannot hold the connection forever), reads and
//! discards whatever the handler left unread (up to a limit), and parses the next request
//! from the same buffer. Bytes of the next request that arrived with the body stay in the
//! buffer, untouched: a body never reads past its own end.
//!
//! # `Expect: 100-continue`
//!
//! A client that sends `Expect: 100-continue` waits for `100 Continue` before sending the
//! body. The body stream asks for it on its first poll through a shared [`Continue`]; the
//! connection task, which owns the write side, writes it (it polls the handler and watches
//! the request together). If the handler answers while the body is still out (in the
//! response body, or in a task of its own), the body will be read after the answer: `100`
//! goes out before the final response. If the handler answers having dropped the body
//! unread, no `100` is sent, and the connection closes after the response, since the client
//! may or may not send the body now.
//!
//! [`Body`]: crate::Body

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use corio::net::OwnedReadHalf;
use corio::sync::oneshot;
use corio::time::{Sleep, sleep};
use futures_core::Stream;
use futures_util::task::AtomicWaker;

use super::buf::ReadBuf;
use super::chunked::{ChunkedDecoder, ChunkedError, Step};
use super::framing::BodyFraming;
use crate::body::BodyError;

/// The read side of a connection: the socket's read half and the bytes read from it.
#[derive(Debug)]
pub(crate) struct Reader {
    pub(crate) io: OwnedReadHalf,
    pub(crate) buf: ReadBuf,
}

impl Reader {
    /// Reads once more into the buffer; `Ok(0)` is end of stream.
    pub(crate) fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        hint: usize,
    ) -> Poll<io::Result<usize>> {
        self.buf.poll_read_from(&mut self.io, cx, hint)
    }
}

/// How much of a body is left.
#[derive(Debug)]
enum Remaining {
    Length(u64),
    Chunked(ChunkedDecoder),
    Done,
}

/// Why a body could not be read to its end.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Longer than the limit.
    TooLarge,
    /// Broken chunked framing.
    Framing(ChunkedError),
    /// The client closed the connection before the body ended.
    Eof,
    /// No body bytes came for the body read timeout.
    TimedOut,
    /// The socket failed.
    Io(io::Error),
}

/// A request body being read: the connection's reader and where the body ends.
///
/// A client that stops sending in the middle of a body is cut off after the read timeout:
/// the timer is armed when a read first has to wait and left alone while bytes keep
/// coming; when it fires early (bytes came since it was armed) it is re-armed from the
/// last progress, so a fast upload does not touch the timer wheel per read.
#[derive(Debug)]
pub(crate) struct BodyReader {
    reader: Reader,
    remaining: Remaining,
    /// Body bytes read so far.
    read: u64,
    limit: u64,
    timeout: Duration,
    /// When bytes last came (or the body started).
    progress: Instant,
    timer: Option<Sleep>,
}

impl BodyReader {
    /// Reads a body framed as `framing`, failing once more than `limit` bytes came, or when
    /// no bytes came for `timeout`.
    pub(crate) fn new(
        reader: Reader,
        framing: BodyFraming,
        limit: u64,
        timeout: Duration,
    ) -> BodyReader {
        let remaining = match framing {
            BodyFraming::Empty => Remaining::Done,
            BodyFraming::Length(n) => Remaining::Length(n),
            BodyFraming::Chunked => Remaining::Chunked(ChunkedDecoder::new()),
        };
        BodyReader {
            reader,
            remaining,
            read: 0,
            limit,
            timeout,
            progress: Instant::now(),
            timer: None,
        }
    }

    /// Whether the body has been read to its end.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.remaining, Remaining::Done)
    }

    /// The bytes left of a body of known length.
    pub(crate) fn remaining_len(&self) -> Option<u64> {
        match self.remaining {
            Remaining::Length(n) => Some(n),
            Remaining::Done => Some(0),
            Remaining::Chunked(_) => None,
        }
    }

    /// Body bytes read so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The reader, for the next request (meaningful once the body is done).
    pub(crate) fn into_reader(self) -> Reader {
        self.reader
    }

    /// The next piece of the body, `None` at its end.
    pub(crate) fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Bytes>, ReadError>> {
        loop {
            let buf = &mut self.reader.buf;
            let hint = match &mut self.remaining {
                Remaining::Done => return Poll::Ready(Ok(None)),
                Remaining::Length(left) => {
                    if !buf.is_empty() {
                        let take = (*left).min(buf.len() as u64);
                        // `take` is at most `buf.len()`, so it fits in usize.
                        let chunk = buf.split_to(take as usize).freeze();
                        *left -= take;
                        if *left == 0 {
                            self.remaining = Remaining::Done;
                        }
                        return Poll::Ready(self.count(chunk));
                    }
                    usize::try_from(*left).unwrap_or(usize::MAX)
                }
                Remaining::Chunked(decoder) => {
                    match decoder.decode(buf.data()).map_err(ReadError::Framing)? {
                        Step::Data { skip, len } => {
                            buf.consume(skip);
                            let chunk = buf.split_to(len).freeze();
                            return Poll::Ready(self.count(chunk));
                        }
                        Step::Done(n) => {
                            buf.consume(n);
                            self.remaining = Remaining::Done;
                            return Poll::Ready(Ok(None));
                        }
                        Step::NeedMore => {
                            let all = buf.len();
                            buf.consume(all);
                            0
                        }
                    }
                }
            };
            match self.reader.poll_fill(cx, hint) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(ReadError::Eof)),
                Poll::Ready(Ok(_)) => {
                    if self.timer.is_some() {
                        self.progress = Instant::now();
                    }
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(ReadError::Io(err))),
                Poll::Pending => return self.poll_timeout(cx),
            }
        }
    }

    /// Waiting for bytes: `TimedOut` once none came for the timeout, else pending.
    fn poll_timeout(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, ReadError>> {
        let timer = match &mut self.timer {
            Some(timer) => timer,
            None => {
                self.progress = Instant::now();
                self.timer.insert(sleep(self.timeout))
            }
        };
        loop {
            ready!(Pin::new(&mut *timer).poll(cx));
            let due = self.progress + self.timeout;
            if Instant::now() >= due {
                return Poll::Ready(Err(ReadError::TimedOut));
            }
            timer.reset(due);
        }
    }

    fn count(&mut self, chunk: Bytes) -> Result<Option<Bytes>, ReadError> {
        self.read += chunk.len() as u64;
        if self.read > self.limit {
            return Err(ReadError::TooLarge);
        }
        Ok(Some(chunk))
    }
}

/// How a body's reading ended, as the connection learns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Read to its end.
    Complete,
    /// Dropped before its end; the rest may be drained.
    Unfinished,
    /// Reading failed; the connection cannot go on.
    Failed(Failure),
}

/// Why reading a body failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Over the limit: the answer is `413`.
    TooLarge,
    /// Broken framing: the answer is `400`.
    Framing,
    /// The client stopped sending: the answer is `408`.
    TimedOut,
    /// The connection failed or the client went away: there is no one to answer.
    Io,
}

/// The reader coming home, with how the body ended.
#[derive(Debug)]
pub(crate) struct Returned {
    pub(crate) body: BodyReader,
    pub(crate) outcome: Outcome,
}

/// The stream behind a request's `Body`. See the [module docs](self).
pub(crate) struct IncomingBody {
    body: Option<BodyReader>,
    home: Option<oneshot::Sender<Returned>>,
    expect: Option<Arc<Continue>>,
}

impl IncomingBody {
    /// A body stream reading from `body`, sending the reader back through `home`, and
    /// asking for `100 Continue` through `expect` if the client waits for one.
    pub(crate) fn new(
        body: BodyReader,
        home: oneshot::Sender<Returned>,
        expect: Option<Arc<Continue>>,
    ) -> IncomingBody {
        IncomingBody {
            body: Some(body),
            home: Some(home),
            expect,
        }
    }

    fn send_home(&mut self, outcome: Outcome) {
        if let (Some(body), Some(home)) = (self.body.take(), self.home.take()) {
            // The connection may be gone (closed, shut down); then nobody needs the reader.
            let _ = home.send(Returned { body, outcome });
        }
    }
}

impl Stream for IncomingBody {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(body) = this.body.as_mut() else {
            return Poll::Ready(None);
        };
        if let Some(expect) = this.expect.take() {
            expect.want();
        }
        let limit = body.limit;
        match ready!(body.poll_chunk(cx)) {
            Ok(Some(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Ok(None) => {
                this.send_home(Outcome::Complete);
                Poll::Ready(None)
            }
            Err(err) => {
                let (failure, err) = match err {
                    ReadError::TooLarge => (
                        Failure::TooLarge,
                        BodyError::TooLarge {
                            limit: usize::try_from(limit).unwrap_or(usize::MAX),
                        },
                    ),
                    ReadError::Framing(e) => (
                        Failure::Framing,
                        BodyError::Io(io::Error::new(io::ErrorKind::InvalidData, e)),
                    ),
                    ReadError::Eof => (
                        Failure::Io,
                        BodyError::Io(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the client closed the connection before the body ended",
                        )),
                    ),
                    ReadError::TimedOut => (
                        Failure::TimedOut,
                        BodyError::Io(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the client stopped sending the body",
                        )),
                    ),
                    ReadError::Io(e) => (Failure::Io, BodyError::Io(e)),
                };
                this.send_home(Outcome::Failed(failure));
                Poll::Ready(Some(Err(err)))
            }
        }
    }
}

impl Drop for IncomingBody {
    fn drop(&mut self) {
        let done = self.body.as_ref().is_some_and(BodyReader::is_done);
        self.send_home(if done {
            Outcome::Complete
        } else {
            Outcome::Unfinished
        });
    }
}

const IDLE: u8 = 0;
const WANTED: u8 = 1;
const SENT: u8 = 2;
const SUPPRESSED: u8 = 3;

/// The `100 Continue` handshake between a body stream (which wants the body) and the
/// connection task (which writes). The state only moves forward: `IDLE → WANTED → SENT`,
/// `IDLE → SENT` when the final response is on its way and the body will be read after
/// it, or `IDLE → SUPPRESSED` when it will not.
#[derive(Debug)]
pub(crate) struct Continue {
    state: AtomicU8,
    waker: AtomicWaker,
}

impl Continue {
    pub(crate) fn new() -> Continue {
        Continue {
            state: AtomicU8::new(IDLE),
            waker: AtomicWaker::new(),
        }
    }

    /// Body side: the handler started reading; wake the connection to send `100`.
    pub(crate) fn want(&self) {
        if self
            .state
            .compare_exchange(IDLE, WANTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.waker.wake();
        }
    }

    /// Connection side, while the handler runs: registers for the wake-up, and returns
    /// true (once) when `100 Continue` must be written now.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> bool {
        self.waker.register(cx.waker());
        self.state
            .compare_exchange(WANTED, SENT, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Connection side, once the handler answered: true if `100 Continue` must be written
    /// before the response, because it was asked for, or because the body is still `out`
    /// (it will be read after the answer). After this no `100` is ever asked for.
    pub(crate) fn finish(&self, out: bool) -> bool {
        let (next, send) = if out {
            (SENT, true)
        } else {
            (SUPPRESSED, false)
        };
        match self
            .state
            .compare_exchange(IDLE, next, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => send,
            // Only the connection moves the state on from WANTED, so this store races
            // with nothing.
            Err(WANTED) => {
                self.state.store(SENT, Ordering::Release);
                true
            }
            Err(_) => false,
        }
    }
}
