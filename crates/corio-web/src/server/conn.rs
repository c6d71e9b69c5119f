//! One HTTP/1.1 connection: read a request head, call the service, write the response, get
//! the read side back from the request body, repeat.
//!
//! Requests on a connection are served strictly one after another, so pipelined responses
//! go out in request order. Responses are encoded into one reused write buffer, which is
//! flushed only when the connection would otherwise wait (for the client, or for a handler
//! that is not ready at once): a whole small response goes out in one `write`, and the
//! answers to pipelined requests that arrived together share one.
//!
//! Timeouts: the first request's head must arrive within `header_read_timeout` of the
//! accept; later, the connection waits `keep_alive_timeout` for a request's first byte and
//! then `header_read_timeout` for the rest of its head. A write that cannot go through (the
//! client does not read) fails once the client took nothing for `write_timeout`; that
//! clock starts only when a write has to wait, so writes that complete at once never read
//! it. One timer per connection serves every wait; it is moved only to an earlier
//! deadline, and a wake-up before the current deadline just re-arms it, so a busy
//! connection does not touch the timer wheel per request.

use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use corio::io_util::{AsyncWrite, AsyncWriteExt};
use corio::net::{OwnedWriteHalf, TcpStream};
use corio::sync::oneshot;
use corio::time::{Sleep, sleep, timeout, timeout_at};
use futures_util::{FutureExt, StreamExt};
use http::{Method, StatusCode, Version};

use super::ServerConfig;
use super::buf::ReadBuf;
use super::date;
use super::encode::{self, CONTINUE, ConnectionHeader, LAST_CHUNK};
use super::framing::{self, BodyFraming, BodyWrite};
use super::head::{self, Field, HeadError, Scanned};
use super::incoming::{BodyReader, Continue, Failure, IncomingBody, Outcome, Reader};
use super::shutdown::ConnSignal;
use crate::depends::AfterResponse;
use crate::response::IntoResponse;
use crate::response::header_pool;
use crate::service::ConnectInfo;
use crate::{Body, Response, Service};

/// Body chunks up to this size are copied into the write buffer (one write with the head);
/// larger ones are written from where they are, beside the buffer, with a vectored write.
const COPY_MAX: usize = 16 * 1024;
/// Past this many buffered bytes the connection flushes before doing anything else.
const FLUSH_AT: usize = 64 * 1024;
/// How long a closing connection keeps reading (and discarding) what the client still
/// sends, so the client reads the final answer before it sees a reset.
const LINGER_TIME: Duration = Duration::from_secs(2);
/// How much it discards at most while lingering.
const LINGER_BYTES: usize = 1024 * 1024;

/// What every connection of a server shares.
pub(crate) struct Shared<S> {
    pub(crate) service: S,
    pub(crate) config: ServerConfig,
}

/// Serves one accepted connection until it closes.
pub(crate) async fn serve_connection<S: Service>(
    stream: TcpStream,
    info: ConnectInfo,
    shared: &Shared<S>,
    signal: &ConnSignal,
) {
    let (read, write) = stream.into_split();
    let mut conn = Conn {
        shared,
        signal,
        info,
        reader: Some(Reader {
            io: read,
            buf: ReadBuf::new(),
        }),
        writer: Writer {
            io: write,
            buf: Vec::with_capacity(1024),
            pos: 0,
            timeout: shared.config.write_timeout,
            stalled: None,
            peer: info.peer,
        },
        fields: Vec::new(),
        // Armed by the first wait.
        timer: sleep(Duration::MAX),
    };
    conn.run().await;
}

struct Conn<'a, S> {
    shared: &'a Shared<S>,
    signal: &'a ConnSignal,
    info: ConnectInfo,
    /// `None` while a request body has it.
    reader: Option<Reader>,
    writer: Writer,
    /// Scratch for the head parser, reused.
    fields: Vec<Field>,
    timer: Sleep,
}

/// How reading a request head ended without a request.
enum End {
    /// Close without a word: the client left, went idle too long, or the server shuts down.
    Quiet,
    /// Answer with this status, then close.
    Reject(StatusCode),
}

/// What to do after a response.
enum Next {
    KeepAlive,
    /// Close; `linger` when the client may still be sending.
    Close {
        linger: bool,
    },
}

/// What waiting for more request bytes brought.
enum Wait {
    Data,
    Closed,
    Shutdown,
    TimedOut,
}

impl<S: Service> Conn<'_, S> {
    async fn run(&mut self) {
        let mut first = true;
        let linger = loop {
            let scanned = match self.read_head(first).await {
                Ok(scanned) => scanned,
                Err(End::Quiet) => break false,
                Err(End::Reject(status)) => {
                    encode::encode_error(&mut self.writer.buf, status, &date::now());
                    break true;
                }
            };
            first = false;
            match self.handle(scanned).await {
                Next::KeepAlive => {}
                Next::Close { linger } => break linger,
            }
        };
        self.close(linger).await;
    }

    /// Waits until the read buffer starts with a whole request head; returns what
    /// [`head::scan`] found there. (Small: the request is built where it is used, in
    /// [`handle`](Self::handle), so that it is not moved out of one future into another.)
    async fn read_head(&mut self, first: bool) -> Result<Scanned, End> {
        let shared = self.shared;
        let config = &shared.config;
        let Some(reader) = self.reader.as_mut() else {
            return Err(End::Quiet);
        };
        // The first request's head is timed from the accept; later ones from their first
        // byte, after an idle wait of up to the keep-alive timeout. The clock is read only
        // when there is something to wait for: a pipelined head already in the buffer
        // costs no clock read.
        let mut start: Option<Instant> = None;
        let mut head_deadline: Option<Instant> = None;
        let mut seen = 0;
        loop {
            let data = reader.buf.data();
            // A head ends with a newline: scan again only when one arrived (or when the
            // bytes are already too many), so a client trickling a head byte by byte
            // costs one scan per line, not per byte.
            let newline = data[seen.min(data.len())..].contains(&b'\n');
            if newline || data.len() > config.max_head_size {
                match head::scan(
                    data,
                    config.max_head_size,
                    config.max_headers,
                    &mut self.fields,
                ) {
                    Ok(Some(scanned)) => return Ok(scanned),
                    Ok(None) => {}
                    Err(err) => return Err(self.reject_head(err)),
                }
            }
            seen = data.len();
            let start = *start.get_or_insert_with(|| {
                let now = Instant::now();
                if first {
                    head_deadline = Some(now + config.header_read_timeout);
                }
                now
            });
            // About to wait for the client: send it what earlier requests left buffered.
            if !self.writer.buf.is_empty() && self.writer.flush(&mut self.timer).await.is_err() {
                return Err(End::Quiet);
            }
            let idle = reader.buf.is_empty();
            match head_deadline {
                None if !idle => head_deadline = Some(Instant::now() + config.header_read_timeout),
                // A client that keeps bytes coming (so no wait below ever times out) is still
                // held to the deadline.
                Some(deadline) if !idle && Instant::now() >= deadline => {
                    return Err(End::Reject(StatusCode::REQUEST_TIMEOUT));
                }
                _ => {}
            }
            let until = head_deadline.unwrap_or(start + config.keep_alive_timeout);
            match wait_for_bytes(reader, &mut self.timer, self.signal, until, idle).await {
                Wait::Data => {}
                Wait::Closed | Wait::Shutdown => return Err(End::Quiet),
                // Nothing of a request yet: a quiet close. Part of one: a slow client.
                Wait::TimedOut if reader.buf.is_empty() => return Err(End::Quiet),
                Wait::TimedOut => return Err(End::Reject(StatusCode::REQUEST_TIMEOUT)),
            }
        }
    }

    fn reject_head(&self, err: HeadError) -> End {
        match err {
            HeadError::TooLarge => End::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
            HeadError::Invalid(reason) => {
                tracing::debug!(peer = %self.info.peer, reason, "corio-web: bad request head");
                End::Reject(StatusCode::BAD_REQUEST)
            }
        }
    }

    /// Serves the request whose head [`read_head`](Self::read_head) found.
    async fn handle(&mut self, scanned: Scanned) -> Next {
        let shared = self.shared;
        let config = &shared.config;
        let Some(reader) = self.reader.as_mut() else {
            return Next::Close { linger: false };
        };
        let bytes = reader.buf.split_to(scanned.len).freeze();
        let mut request = match head::build(&bytes, scanned, &mut self.fields) {
            Ok(request) => request,
            Err(err) => {
                return match self.reject_head(err) {
                    End::Quiet => Next::Close { linger: false },
                    End::Reject(status) => self.reject(status),
                };
            }
        };
        let framing = match framing::request_framing(request.version(), request.headers()) {
            Ok(framing) => framing,
            Err(rejection) => {
                tracing::debug!(peer = %self.info.peer, ?rejection, "corio-web: request refused");
                return self.reject(rejection.status());
            }
        };
        if let BodyFraming::Length(n) = framing.body
            && n > config.max_body_size
        {
            return self.reject(StatusCode::PAYLOAD_TOO_LARGE);
        }
        let mut keep_alive = framing.keep_alive && config.keep_alive;
        let is_head = request.method() == Method::HEAD;
        let version = request.version();

        let mut home = None;
        let mut expect = None;
        match framing.body {
            BodyFraming::Empty => {}
            body_framing => {
                let Some(reader) = self.reader.take() else {
                    return Next::Close { linger: false };
                };
                let (tx, rx) = oneshot::channel();
                home = Some(rx);
                expect = framing.expect_continue.then(|| Arc::new(Continue::new()));
                let body = BodyReader::new(
                    reader,
                    body_framing,
                    config.max_body_size,
                    config.body_read_timeout,
                );
                let stream = IncomingBody::new(body, tx, expect.clone());
                *request.body_mut() = match body_framing {
                    BodyFraming::Length(n) => Body::from_stream_with_len(stream, n),
                    _ => Body::from_stream(stream),
                };
            }
        }

        let mut continue_sent = false;
        let info = self.info;
        let started = info.scope(|| {
            // The route sets its own label once routed; until then, none of the
            // previous request's.
            corio::task::set_label(None);
            std::panic::catch_unwind(AssertUnwindSafe(|| shared.service.call(request)))
        });
        let mut response = match started {
            Ok(future) => {
                let answered = self
                    .answer(future, expect.as_deref(), &mut continue_sent)
                    .await;
                let Ok(response) = answered else {
                    return Next::Close { linger: false };
                };
                response
            }
            Err(panic) => panicked(panic, info.peer),
        };

        // What became of the body so far (it comes home at once when read to its end or
        // failed, or when dropped with the request).
        let mut returned = home.as_mut().and_then(|rx| rx.try_recv().ok());
        // A body still out (in the response, or in a task) is read after this answer, so
        // the client must be told to send it now, before the final response.
        if expect
            .as_ref()
            .is_some_and(|expect| expect.finish(returned.is_none()))
        {
            self.writer.buf.extend_from_slice(CONTINUE);
            continue_sent = true;
        }
        let mut linger = false;
        match returned.as_ref().map(|r| r.outcome) {
            Some(Outcome::Failed(Failure::Io)) => return Next::Close { linger: false },
            Some(Outcome::Failed(failure)) => {
                // The client broke the rules; whatever the handler made of the error, the
                // answer is the server's (unless the handler chose the same status).
                let status = match failure {
                    Failure::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                    Failure::TimedOut => StatusCode::REQUEST_TIMEOUT,
                    Failure::Framing | Failure::Io => StatusCode::BAD_REQUEST,
                };
                if response.status() != status {
                    response = status.into_response();
                }
                keep_alive = false;
                linger = true;
            }
            Some(Outcome::Complete) => {}
            Some(Outcome::Unfinished) | None if home.is_some() => {
                linger = true;
                // Too much left to drain: say so in the response.
                let left = returned.as_ref().and_then(|r| r.body.remaining_len());
                if left.is_some_and(|n| n > config.max_drain_size) {
                    keep_alive = false;
                }
                // A client waiting for 100 Continue that never came may or may not send the
                // body now; the connection cannot tell where the next request starts.
                if expect.is_some() && !continue_sent {
                    keep_alive = false;
                }
            }
            Some(Outcome::Unfinished) | None => {}
        }
        if self.signal.is_draining() {
            keep_alive = false;
        }

        // Background tasks (`depends::AfterResponse`) run once the response is sent.
        let after = AfterResponse::take(&mut response);
        let mut written = self
            .write_response(response, is_head, version, keep_alive)
            .await;
        if let Some(after) = after {
            let flushed = self.run_after_response(after, written.is_ok()).await;
            if let (Ok(_), Err(err)) = (&written, flushed) {
                written = Err(err);
            }
        }
        let keep_alive = match written {
            Ok(keep_alive) => keep_alive,
            Err(err) => {
                tracing::debug!(peer = %self.info.peer, error = %err, "corio-web: writing a response failed");
                return Next::Close { linger: false };
            }
        };

        let Some(rx) = home else {
            return if keep_alive {
                Next::KeepAlive
            } else {
                // Pipelined requests behind this one will not be answered; the client may
                // still be sending them.
                let pending = self.reader.as_ref().is_some_and(|r| !r.buf.is_empty());
                Next::Close { linger: pending }
            };
        };
        if !keep_alive {
            // Linger only with the reader home; a body still out keeps its own.
            if let Some(returned) = returned {
                self.reader = Some(returned.body.into_reader());
            }
            return Next::Close { linger };
        }
        if returned.is_none() {
            // The handler still holds the body (in its response, or in a task of its
            // own): wait for it, as for an idle client, with the response on its way.
            let wait = timeout(config.keep_alive_timeout, rx);
            let waited = flushing(&mut self.writer, &mut self.timer, wait).await;
            let Ok(waited) = waited else {
                return Next::Close { linger: false };
            };
            returned = waited.ok().and_then(Result::ok);
        }
        let Some(returned) = returned else {
            return Next::Close { linger: false };
        };
        match returned.outcome {
            Outcome::Complete => {
                self.reader = Some(returned.body.into_reader());
                Next::KeepAlive
            }
            Outcome::Unfinished => self.drain(returned.body).await,
            Outcome::Failed(_) => {
                self.reader = Some(returned.body.into_reader());
                Next::Close { linger: true }
            }
        }
    }

    /// Flushes the response just written (if it was), then runs its background tasks in
    /// this connection's task: the next request waits for them, and so does a graceful
    /// shutdown. They run even if the client is gone; each task's panic is logged. Returns
    /// how the flush went.
    async fn run_after_response(&mut self, after: AfterResponse, written: bool) -> io::Result<()> {
        let flushed = if written {
            self.writer.flush(&mut self.timer).await
        } else {
            Ok(())
        };
        after.run().await;
        flushed
    }

    /// Queues the server's own answer and closes.
    fn reject(&mut self, status: StatusCode) -> Next {
        encode::encode_error(&mut self.writer.buf, status, &date::now());
        Next::Close { linger: true }
    }

    /// Runs the service's `future` to its response, catching panics, while sending
    /// buffered bytes and `100 Continue` when the body stream asks for it (and noting
    /// that in `continue_sent`).
    async fn answer(
        &mut self,
        future: crate::service::ResponseFuture,
        expect: Option<&Continue>,
        continue_sent: &mut bool,
    ) -> io::Result<Response> {
        let info = self.info;
        let mut future = AssertUnwindSafe(future).catch_unwind();
        let writer = &mut self.writer;
        let timer = &mut self.timer;
        let outcome = poll_fn(|cx| {
            if let Poll::Ready(outcome) = info.scope(|| future.poll_unpin(cx)) {
                return Poll::Ready(Ok(outcome));
            }
            if expect.is_some_and(|expect| expect.poll_take(cx)) {
                writer.buf.extend_from_slice(CONTINUE);
                *continue_sent = true;
            }
            if !writer.buf.is_empty()
                && let Poll::Ready(Err(err)) = writer.poll_flush(cx, timer)
            {
                return Poll::Ready(Err(err));
            }
            Poll::Pending
        })
        .await?;
        Ok(outcome.unwrap_or_else(|panic| panicked(panic, info.peer)))
    }

    /// Writes a response (buffered: see the module docs). Returns whether the connection
    /// stays open after it.
    async fn write_response(
        &mut self,
        response: Response,
        is_head: bool,
        version: Version,
        keep_alive: bool,
    ) -> io::Result<bool> {
        let (parts, body) = response.into_parts();
        let facts = framing::response_header_facts(&parts.headers);
        let mut keep_alive = keep_alive && !facts.close;
        let framing = framing::response_framing(
            is_head,
            version,
            parts.status,
            body.exact_len(),
            facts.has_length,
        );
        if framing.body == BodyWrite::UntilClose {
            keep_alive = false;
        }
        let connection = if !keep_alive {
            ConnectionHeader::Close
        } else if version == Version::HTTP_10 {
            ConnectionHeader::KeepAlive
        } else {
            ConnectionHeader::None
        };
        encode::encode_head(
            &mut self.writer.buf,
            parts.status,
            &parts.headers,
            framing.header,
            connection,
            &date::now(),
        );
        // Encoded: the map can serve another response (see `header_pool`).
        header_pool::give(parts.headers);
        match (framing.body, body.as_bytes()) {
            (BodyWrite::Skip, _) => {}
            (BodyWrite::Length(_), Some(bytes)) if bytes.len() <= COPY_MAX => {
                self.writer.buf.extend_from_slice(bytes);
            }
            (BodyWrite::Length(_), Some(bytes)) => {
                self.writer.write_with(bytes, &mut self.timer).await?;
            }
            (mode, _) => self.write_stream(body, mode).await?,
        }
        if self.writer.buf.len() >= FLUSH_AT {
            self.writer.flush(&mut self.timer).await?;
        }
        Ok(keep_alive)
    }

    /// Writes a streamed body as `mode` says, sending buffered bytes whenever the stream
    /// is not ready. A stream that fails, or does not match its declared length, is an
    /// error: the response cannot be finished, and the connection must close.
    async fn write_stream(&mut self, mut body: Body, mode: BodyWrite) -> io::Result<()> {
        let mut left = match mode {
            BodyWrite::Length(n) => Some(n),
            _ => None,
        };
        loop {
            let writer = &mut self.writer;
            let timer = &mut self.timer;
            let next = poll_fn(|cx| {
                if let Poll::Ready(next) = body.poll_next_unpin(cx) {
                    return Poll::Ready(Ok(next));
                }
                if !writer.buf.is_empty()
                    && let Poll::Ready(Err(err)) = writer.poll_flush(cx, timer)
                {
                    return Poll::Ready(Err(err));
                }
                Poll::Pending
            })
            .await?;
            let chunk: Bytes = match next {
                None => break,
                Some(Ok(chunk)) => chunk,
                Some(Err(err)) => return Err(io::Error::other(err)),
            };
            if chunk.is_empty() {
                // An empty chunk would end a chunked body early.
                continue;
            }
            if let Some(left) = &mut left {
                *left = left
                    .checked_sub(chunk.len() as u64)
                    .ok_or_else(|| io::Error::other("response body longer than declared"))?;
            }
            let writer = &mut self.writer;
            if mode == BodyWrite::Chunked {
                encode::chunk_size_line(&mut writer.buf, chunk.len());
            }
            if chunk.len() <= COPY_MAX {
                writer.buf.extend_from_slice(&chunk);
            } else {
                writer.write_with(&chunk, &mut self.timer).await?;
            }
            if mode == BodyWrite::Chunked {
                writer.buf.extend_from_slice(b"\r\n");
            }
            if writer.buf.len() >= FLUSH_AT {
                writer.flush(&mut self.timer).await?;
            }
        }
        match left {
            Some(0) | None => {}
            Some(_) => return Err(io::Error::other("response body shorter than declared")),
        }
        if mode == BodyWrite::Chunked {
            self.writer.buf.extend_from_slice(LAST_CHUNK);
        }
        Ok(())
    }

    /// Reads and discards the rest of a body the handler left unread, within the drain
    /// limit and the header timeout; gives back the reader if the body ended in time.
    /// The response goes out meanwhile: a client may wait for it before sending the rest.
    async fn drain(&mut self, mut body: BodyReader) -> Next {
        let shared = self.shared;
        let config = &shared.config;
        let limit = body.bytes_read().saturating_add(config.max_drain_size);
        let drained = if body
            .remaining_len()
            .is_some_and(|n| n > config.max_drain_size)
        {
            Ok(false)
        } else {
            let deadline = Instant::now() + config.header_read_timeout;
            let discard = async {
                loop {
                    match poll_fn(|cx| body.poll_chunk(cx)).await {
                        Ok(Some(_)) if body.bytes_read() <= limit => {}
                        Ok(None) => break true,
                        _ => break false,
                    }
                }
            };
            flushing(
                &mut self.writer,
                &mut self.timer,
                timeout_at(deadline, discard),
            )
            .await
            .map(|drained| drained.unwrap_or(false))
        };
        self.reader = Some(body.into_reader());
        match drained {
            Ok(true) => Next::KeepAlive,
            // The client may still be sending the rest.
            Ok(false) => Next::Close { linger: true },
            Err(_) => Next::Close { linger: false },
        }
    }

    /// Sends what is buffered (nothing after a failed write) and closes; with `linger`,
    /// first reads and discards what the client is still sending (bounded), so that closing
    /// with unread bytes does not reset the connection before the client read the last
    /// answer.
    async fn close(&mut self, linger: bool) {
        if self.writer.flush(&mut self.timer).await.is_err() {
            return;
        }
        if !linger {
            return;
        }
        let Some(reader) = self.reader.as_mut() else {
            return;
        };
        // Our FIN first, so the client knows no more is coming and closes its side.
        if self.writer.io.close().await.is_err() {
            return;
        }
        let deadline = Instant::now() + LINGER_TIME;
        let mut discarded = 0;
        while discarded <= LINGER_BYTES {
            let all = reader.buf.len();
            reader.buf.consume(all);
            match timeout_at(deadline, poll_fn(|cx| reader.poll_fill(cx, 0))).await {
                Ok(Ok(n)) if n > 0 => discarded += n,
                _ => return,
            }
        }
    }
}

/// Waits until more request bytes arrive (`Data`), the client closes or the socket fails
/// (`Closed`), `until` passes (`TimedOut`), or, when `idle`, the server shuts down.
fn wait_for_bytes<'a>(
    reader: &'a mut Reader,
    timer: &'a mut Sleep,
    signal: &'a ConnSignal,
    until: Instant,
    idle: bool,
) -> impl Future<Output = Wait> + 'a {
    if until < timer.deadline() {
        timer.reset(until);
    }
    poll_fn(move |cx| {
        loop {
            match reader.poll_fill(cx, 0) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Wait::Closed),
                Poll::Ready(Ok(_)) => return Poll::Ready(Wait::Data),
                Poll::Pending => {}
            }
            // The connection task registers its waker with the signal on every poll.
            if idle && signal.is_draining() {
                return Poll::Ready(Wait::Shutdown);
            }
            ready!(Pin::new(&mut *timer).poll(cx));
            if Instant::now() >= until {
                return Poll::Ready(Wait::TimedOut);
            }
            // The timer was set for an earlier wait's deadline: re-arm it for this one.
            timer.reset(until);
        }
    })
}

/// Runs `future` while sending what is buffered: the connection must not sit on a finished
/// response while it waits for something else. Fails if the write side does.
async fn flushing<F: Future>(
    writer: &mut Writer,
    timer: &mut Sleep,
    future: F,
) -> io::Result<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if !writer.buf.is_empty()
            && let Poll::Ready(Err(err)) = writer.poll_flush(cx, timer)
        {
            return Poll::Ready(Err(err));
        }
        Poll::Pending
    })
    .await
}

/// The response to a handler that panicked; the panic is logged.
fn panicked(panic: Box<dyn std::any::Any + Send>, peer: std::net::SocketAddr) -> Response {
    let message = crate::depends::scope::panic_message(&*panic);
    tracing::error!(%peer, panic = message, "corio-web: handler panicked; answering 500");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// The write side of a connection and its buffer.
///
/// Every write takes the connection's timer, for the write timeout: a write that returns
/// `Pending` starts the clock (`stalled`), any progress stops it, and a wait that outlasts
/// it fails the write. After a failure the buffer is dropped: nothing more can be sent.
struct Writer {
    io: OwnedWriteHalf,
    buf: Vec<u8>,
    /// How much of `buf` is already written.
    pos: usize,
    /// `ServerConfig::write_timeout`.
    timeout: Duration,
    /// While writes wait for the client: when it must have taken more bytes by. `None`
    /// while writes go through, so that they never read the clock.
    stalled: Option<Instant>,
    /// For the log.
    peer: SocketAddr,
}

impl Writer {
    /// Writes the whole buffer, then empties it.
    fn poll_flush(&mut self, cx: &mut Context<'_>, timer: &mut Sleep) -> Poll<io::Result<()>> {
        while self.pos < self.buf.len() {
            let n = match Pin::new(&mut self.io).poll_write(cx, &self.buf[self.pos..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(self.fail(io::ErrorKind::WriteZero))),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(err)) => return Poll::Ready(Err(self.fail(err))),
                Poll::Pending => return self.poll_stalled(cx, timer).map(Err),
            };
            self.pos += n;
            self.stalled = None;
        }
        self.buf.clear();
        self.pos = 0;
        Poll::Ready(Ok(()))
    }

    async fn flush(&mut self, timer: &mut Sleep) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush(cx, timer)).await
    }

    /// Writes the buffer and then `data`, vectored, then empties the buffer.
    async fn write_with(&mut self, data: &[u8], timer: &mut Sleep) -> io::Result<()> {
        let mut data_pos = 0;
        poll_fn(|cx| {
            loop {
                let buffered = &self.buf[self.pos..];
                let rest = &data[data_pos..];
                if buffered.is_empty() && rest.is_empty() {
                    return Poll::Ready(Ok::<(), io::Error>(()));
                }
                let io = Pin::new(&mut self.io);
                let written = if buffered.is_empty() {
                    io.poll_write(cx, rest)
                } else {
                    let slices = [IoSlice::new(buffered), IoSlice::new(rest)];
                    io.poll_write_vectored(cx, &slices)
                };
                let n = match written {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(self.fail(io::ErrorKind::WriteZero)));
                    }
                    Poll::Ready(Ok(n)) => n,
                    Poll::Ready(Err(err)) => return Poll::Ready(Err(self.fail(err))),
                    Poll::Pending => return self.poll_stalled(cx, timer).map(Err),
                };
                self.stalled = None;
                let from_buffer = n.min(buffered.len());
                self.pos += from_buffer;
                data_pos = (data_pos + n - from_buffer).min(data.len());
            }
        })
        .await?;
        self.buf.clear();
        self.pos = 0;
        Ok(())
    }

    /// A write would block: pending while the client may still take more bytes in time,
    /// the write's failure once it took none for the write timeout.
    fn poll_stalled(&mut self, cx: &mut Context<'_>, timer: &mut Sleep) -> Poll<io::Error> {
        // The first wait since the last progress starts the clock.
        let deadline = *self
            .stalled
            .get_or_insert_with(|| Instant::now() + self.timeout);
        // As for every wait on the connection's timer: moved only to an earlier deadline,
        // re-armed when it fires for an earlier wait's.
        if deadline < timer.deadline() {
            timer.reset(deadline);
        }
        loop {
            ready!(Pin::new(&mut *timer).poll(cx));
            if Instant::now() >= deadline {
                tracing::debug!(
                    peer = %self.peer,
                    timeout = ?self.timeout,
                    "corio-web: the client stopped reading the response; closing"
                );
                let err = io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading the response",
                );
                return Poll::Ready(self.fail(err));
            }
            timer.reset(deadline);
        }
    }

    /// The connection cannot send any more: drop what is buffered (so that closing does not
    /// try again), and pass the error on.
    fn fail(&mut self, err: impl Into<io::Error>) -> io::Error {
        self.buf.clear();
        self.pos = 0;
        self.stalled = None;
        err.into()
    }
}
