//! `File`: an open file whose reads, writes and seeks run on the blocking pool, or — on an
//! io_uring runtime — reads, writes, fsyncs and statx as ring ops (`fs/ring.rs`).
//!
//! # The state machine
//!
//! A `File` is the std file behind an `Arc` plus an [`Inner`] that is either idle or has
//! exactly one operation in flight ([`Inner::op`]): a blocking task, or a ring op
//! ([`Running`]). Every operation that touches the file descriptor goes through that one
//! slot, so operations on a `File` happen in the order they were issued, as they would on a
//! std file used from one thread. Both kinds produce the same `(Buf, Outcome)`, so
//! everything below holds for either.
//!
//! - **Buffer.** Idle, [`Inner::buf`] is the reusable buffer. While an operation is in
//!   flight, the operation owns the buffer (and an `Arc` of the file) and hands both back
//!   with its [`Outcome`]; `Inner::buf` is then an empty placeholder. A ring op's buffer sits
//!   in the ring driver's op slab while the kernel may write into it.
//! - **Read.** With unread bytes in the buffer, `poll_read` copies from it. Otherwise it
//!   starts one read of up to [`MAX_BUF`] bytes into the buffer and, once it lands,
//!   serves from it. The OS cursor is therefore ahead of the `File`'s logical position by the
//!   unread count ([`Buf::unread`]); every operation that depends on the cursor first discards
//!   those bytes and moves the cursor back by as many (seek folds the correction into its
//!   target).
//! - **Write.** `poll_write` copies up to `MAX_BUF` bytes into the buffer, starts a
//!   `write_all` of them and returns `Ok(n)` at once. Its error is kept in
//!   [`Inner::write_err`] and returned by the next read, write, seek, flush, close,
//!   `sync_all`, `sync_data` or `set_len`.
//! - **Results.** A read that returned `Ok(0)` or failed, a seek, and a `&self` method's
//!   operation leave their result in [`Inner::done`] for the caller that started them; starting
//!   any operation clears it. A caller that was dropped before collecting its result thus loses
//!   only that result, and the operation still happened. `poll_seek` knows its own result by
//!   the position asked for: a re-poll passes the same one (so a cancelled seek followed at
//!   once by an identical one counts as one seek).
//! - **Locking.** The poll methods (`AsyncRead` and friends) take `&mut File` and reach
//!   `Inner` with `Mutex::get_mut`, no lock. The `&self` methods (`sync_all`, `metadata`,
//!   `set_len`, ...) take the async lock for their whole run, so at most one of them drives
//!   the slot at a time, and they cannot overlap the poll methods (those need `&mut`).
//! - **Drop.** Dropping the `File` drops the in-flight operation's `JoinHandle`, which detaches
//!   the blocking task: it still completes (a write still lands), then drops its `Arc` of the
//!   file, and the last `Arc` closes it. A ring write dropped in flight is finished by a task
//!   of its own (`ring::WriteAll`); a ring read is cancelled; either way the driver frees the
//!   buffer only after the kernel's completion.
//! - **Ring ops start at once.** A ring op is polled once (with a no-op waker) as soon as it
//!   is created, so its SQE is queued before `poll_write` reports the bytes written; the
//!   ring submits it at its next loop turn.
//!
//! There is no `unsafe` here.

use std::any::Any;
use std::fmt;
use std::fs::Permissions;
use std::future::{Future, poll_fn};
use std::io::{self, IoSlice, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};
use futures_util::lock::Mutex;

use super::ring::{self, FsRing};
use super::{Metadata, OpenOptions, asyncify, join_error, spawn_io};
use crate::task::JoinHandle;

/// The most one read fetches, and one write takes, in bytes.
const MAX_BUF: usize = 64 * 1024;

/// An open file on the file system, for async reading and writing.
///
/// Implements [`AsyncRead`], [`AsyncWrite`] and [`AsyncSeek`], so the extension traits in
/// [`io_util`](crate::io_util) (`read_to_end`, `write_all`, `seek`, ...) and adapters like
/// `BufReader` work on it. The system calls run one at a time, in the order issued: on the
/// runtime's blocking pool, or, on an io_uring runtime, as ring operations (reads, writes,
/// `sync_all`, `sync_data` and `metadata`; seeks and the rest stay on the blocking pool).
///
/// **Writes complete in the background**: `write` returns as soon as the bytes are copied
/// into the file's buffer. An error from that write is returned by the next operation on the
/// file; `flush` waits for the write in flight and returns its error, so end a series of
/// writes with `flush` (or `sync_all`, which also waits for the disk). Dropping a `File` does
/// not cancel a write in flight; it still lands, but its error goes unseen.
///
/// **Reads are buffered**: a read fetches up to 64 KiB in one system call and serves
/// smaller reads from that buffer. Seeks account for the bytes fetched but not yet read, so
/// the position a program sees is the one it would see with a std file.
///
/// ```
/// use corio::fs::File;
/// use corio::io_util::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use std::io::SeekFrom;
///
/// corio::run(async {
///     let path = std::env::temp_dir().join(format!("corio-file-doc-{}", std::process::id()));
///
///     let mut file = File::create(&path).await.unwrap();
///     file.write_all(b"0123456789").await.unwrap();
///     file.flush().await.unwrap(); // the write's result, error or not
///
///     let mut file = File::open(&path).await.unwrap();
///     let mut head = [0u8; 4];
///     file.read_exact(&mut head).await.unwrap();
///     assert_eq!(&head, b"0123");
///
///     // The read fetched all ten bytes; the seek still starts from logical position 4.
///     file.seek(SeekFrom::Current(2)).await.unwrap();
///     let mut rest = String::new();
///     file.read_to_string(&mut rest).await.unwrap();
///     assert_eq!(rest, "6789");
///
///     corio::fs::remove_file(&path).await.unwrap();
/// });
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    inner: Mutex<Inner>,
}

/// The operation slot and what it leaves behind; see the module doc.
struct Inner {
    /// Idle: the reusable buffer. With an operation in flight: an empty placeholder.
    buf: Buf,
    /// The operation in flight, if any.
    op: Option<Op>,
    /// The error of a background write, for the next operation to return.
    write_err: Option<io::Error>,
    /// The uncollected result of the last operation (never a write's, nor a read's that
    /// filled the buffer).
    done: Option<Outcome>,
}

/// An operation in flight.
struct Op {
    kind: Kind,
    running: Running,
}

/// Where an operation runs.
enum Running {
    /// A task on the blocking pool.
    Blocking(JoinHandle<(Buf, Outcome)>),
    /// Ring ops (`fs/ring.rs`), driven by polling this future.
    Ring(Pin<Box<dyn Future<Output = (Buf, Outcome)> + Send>>),
}

/// What an operation in flight is, to build its outcome if its task produces none.
#[derive(Clone, Copy)]
enum Kind {
    Read,
    Write,
    Seek(SeekFrom),
    Other,
}

/// The result of an operation.
enum Outcome {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    /// The requested position (to match a re-poll of `poll_seek`) and the result.
    Seek(SeekFrom, io::Result<u64>),
    /// The value of a `&self` method's operation, downcast by [`File::run_other`].
    Other(io::Result<Box<dyn Any + Send>>),
}

impl Kind {
    fn failed(self, err: io::Error) -> Outcome {
        match self {
            Kind::Read => Outcome::Read(Err(err)),
            Kind::Write => Outcome::Write(Err(err)),
            Kind::Seek(pos) => Outcome::Seek(pos, Err(err)),
            Kind::Other => Outcome::Other(Err(err)),
        }
    }
}

/// The reusable buffer: bytes read ahead (`data[pos..]` not yet consumed), or bytes to write.
#[derive(Default)]
struct Buf {
    data: Vec<u8>,
    pos: usize,
}

impl Buf {
    /// Bytes read from the file and not yet handed to the reader.
    fn unread(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Copies unread bytes into `dst`; returns how many.
    fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = self.unread().min(dst.len());
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        n
    }

    /// Empties the buffer; returns how many unread bytes that dropped, which is how far the
    /// OS cursor must move back.
    fn discard(&mut self) -> u64 {
        let unread = self.unread() as u64;
        self.data.clear();
        self.pos = 0;
        unread
    }
}

/// Moves the cursor of `file` back over `unread` bytes read ahead and dropped.
fn rewind(mut file: &std::fs::File, unread: u64) -> io::Result<()> {
    if unread == 0 {
        return Ok(());
    }
    // At most MAX_BUF, so it fits.
    file.seek(SeekFrom::Current(-(unread as i64))).map(drop)
}

impl Inner {
    fn new() -> Inner {
        Inner {
            buf: Buf::default(),
            op: None,
            write_err: None,
            done: None,
        }
    }

    /// Waits until no operation is in flight, then files its outcome.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(op) = &mut self.op else {
            return Poll::Ready(());
        };
        let (buf, outcome) = match &mut op.running {
            Running::Blocking(task) => match ready!(Pin::new(task).poll(cx)) {
                Ok(done) => done,
                Err(err) => (Buf::default(), op.kind.failed(join_error(err))),
            },
            Running::Ring(ring) => ready!(ring.as_mut().poll(cx)),
        };
        self.op = None;
        self.settle(buf, outcome);
        Poll::Ready(())
    }

    /// Takes back the buffer of a finished operation and files its outcome.
    fn settle(&mut self, buf: Buf, outcome: Outcome) {
        self.buf = buf;
        match outcome {
            Outcome::Write(Ok(())) => {}
            Outcome::Write(Err(err)) => self.write_err = Some(err),
            Outcome::Read(Ok(n)) if n > 0 => {}
            other => self.done = Some(other),
        }
    }

    /// Starts `op` on the blocking pool, handing it the file and the buffer. Must be idle.
    fn start<F>(&mut self, file: &Arc<std::fs::File>, kind: Kind, op: F) -> io::Result<()>
    where
        F: FnOnce(&std::fs::File, &mut Buf) -> Outcome + Send + 'static,
    {
        debug_assert!(
            self.op.is_none(),
            "corio::fs::File: two operations in flight"
        );
        self.done = None;
        let file = Arc::clone(file);
        let mut buf = std::mem::take(&mut self.buf);
        let task = spawn_io(move || {
            let outcome = op(&file, &mut buf);
            (buf, outcome)
        })?;
        self.op = Some(Op {
            kind,
            running: Running::Blocking(task),
        });
        Ok(())
    }

    /// Starts the ring operation `op` makes from the ring, the file and the buffer, and polls
    /// it once so its SQE is queued now. Must be idle.
    fn start_ring<F>(
        &mut self,
        file: &Arc<std::fs::File>,
        ring: FsRing,
        kind: Kind,
        op: impl FnOnce(FsRing, Arc<std::fs::File>, Buf) -> F,
    ) where
        F: Future<Output = (Buf, Outcome)> + Send + 'static,
    {
        debug_assert!(
            self.op.is_none(),
            "corio::fs::File: two operations in flight"
        );
        self.done = None;
        let buf = std::mem::take(&mut self.buf);
        let mut running = Box::pin(op(ring, Arc::clone(file), buf));
        // No waker yet: whoever waits for the op next polls it with theirs.
        match running
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready((buf, outcome)) => self.settle(buf, outcome),
            Poll::Pending => {
                self.op = Some(Op {
                    kind,
                    running: Running::Ring(running),
                })
            }
        }
    }
}

/// A ring read of up to [`MAX_BUF`] bytes at the file position into `buf`.
async fn ring_read(ring: FsRing, file: Arc<std::fs::File>, buf: Buf) -> (Buf, Outcome) {
    let mut data = buf.data;
    data.clear();
    data.reserve(MAX_BUF);
    match ring.read_into(&file, data, MAX_BUF).await {
        Ok((data, n)) => (Buf { data, pos: 0 }, Outcome::Read(Ok(n))),
        Err(err) => (Buf::default(), Outcome::Read(Err(err))),
    }
}

/// A ring write of all of `buf` at the file position, after moving the cursor back over
/// `unread` bytes read ahead (an `lseek`, which never waits for the disk).
async fn ring_write(
    ring: FsRing,
    file: Arc<std::fs::File>,
    buf: Buf,
    unread: u64,
) -> (Buf, Outcome) {
    if let Err(err) = rewind(&file, unread) {
        return (buf, Outcome::Write(Err(err)));
    }
    match ring.write_all(&file, buf.data) {
        Ok(write) => {
            let (mut data, result) = write.await;
            data.clear();
            (Buf { data, pos: 0 }, Outcome::Write(result))
        }
        Err(err) => (Buf::default(), Outcome::Write(Err(err))),
    }
}

/// Retries `op` while it fails with `Interrupted`.
fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match op() {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

impl File {
    /// Opens a file for reading; see [`std::fs::File::open`].
    ///
    /// A missing file is a `NotFound` error.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens a file for writing, creating it or truncating it; see
    /// [`std::fs::File::create`].
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates a file and opens it for reading and writing, failing with `AlreadyExists` if
    /// it exists; see [`std::fs::File::create_new`].
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// Options for opening a file in other modes (append, read and write, ...).
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open std file. Needs no runtime; the file's cursor is taken as it is.
    pub fn from_std(std: std::fs::File) -> File {
        File {
            std: Arc::new(std),
            inner: Mutex::new(Inner::new()),
        }
    }

    /// Waits for the operation in flight and returns the std file, its cursor at the position
    /// this `File` had reached (bytes read ahead are given back with a seek).
    ///
    /// The error of a write still in flight is lost: `flush` first to see it.
    pub async fn into_std(mut self) -> std::fs::File {
        let inner = self.inner.get_mut();
        poll_fn(|cx| inner.poll_idle(cx)).await;
        let unread = inner.buf.discard();
        if unread > 0 {
            // A file that cannot seek cannot take the bytes back either; its cursor stays.
            let file = Arc::clone(&self.std);
            let _ = asyncify(move || rewind(&file, unread)).await;
        }
        let mut std = self.std;
        loop {
            // Idle, no blocking task holds an `Arc` of the file (each drops it when its
            // closure returns, before its handle completes), so this succeeds the first time.
            match Arc::try_unwrap(std) {
                Ok(file) => return file,
                Err(shared) => {
                    std = shared;
                    crate::task::yield_now().await;
                }
            }
        }
    }

    /// Waits for the write in flight, then flushes data and metadata to the disk; see
    /// [`std::fs::File::sync_all`]. Returns a background write's error first, if one failed.
    pub async fn sync_all(&self) -> io::Result<()> {
        match ring::current(|ops| ops.fsync) {
            Some(ring) => {
                self.run_ring(true, ring, |ring, file| async move {
                    ring.fsync(&file, false).await
                })
                .await
            }
            None => self.run_other(true, false, |file| file.sync_all()).await,
        }
    }

    /// As [`sync_all`](File::sync_all), but flushes only the data (and the metadata needed to
    /// read it back); see [`std::fs::File::sync_data`].
    pub async fn sync_data(&self) -> io::Result<()> {
        match ring::current(|ops| ops.fsync) {
            Some(ring) => {
                self.run_ring(true, ring, |ring, file| async move {
                    ring.fsync(&file, true).await
                })
                .await
            }
            None => self.run_other(true, false, |file| file.sync_data()).await,
        }
    }

    /// Truncates or extends the file to `size` bytes; the position is unchanged. See
    /// [`std::fs::File::set_len`]. Returns a background write's error first, if one failed.
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        self.run_other(true, true, move |file| file.set_len(size))
            .await
    }

    /// The file's metadata, after the operation in flight; see
    /// [`std::fs::File::metadata`]. On io_uring a statx op; the same [`Metadata`] either way.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        match ring::current(|ops| ops.statx) {
            Some(ring) => {
                self.run_ring(false, ring, |ring, file| async move {
                    ring.statx_file(&file).await
                })
                .await
            }
            None => {
                self.run_other(false, false, |file| file.metadata().map(Metadata::from))
                    .await
            }
        }
    }

    /// Changes the file's permissions; see [`std::fs::File::set_permissions`].
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        self.run_other(false, false, move |file| file.set_permissions(perm))
            .await
    }

    /// A second `File` for the same open file; see [`std::fs::File::try_clone`].
    ///
    /// The two share one cursor, as std clones do; each has its own buffer and operation
    /// slot, so interleaving them gives no ordering guarantee between the two.
    pub async fn try_clone(&self) -> io::Result<File> {
        let std = self.run_other(false, true, |file| file.try_clone()).await?;
        Ok(File::from_std(std))
    }

    /// Runs `op` as the file's one operation, after the one in flight, and returns its value.
    /// With `report`, a background write's error is returned instead of starting `op`; with
    /// `rewind`, bytes read ahead are given back first (for operations that use or expose the
    /// cursor).
    async fn run_other<T, F>(&self, report: bool, rewind_first: bool, op: F) -> io::Result<T>
    where
        F: FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(report, |inner, std| {
            let unread = if rewind_first { inner.buf.discard() } else { 0 };
            inner.start(std, Kind::Other, move |file, _| {
                let value = rewind(file, unread).and_then(|()| op(file));
                Outcome::Other(value.map(|value| Box::new(value) as Box<dyn Any + Send>))
            })
        })
        .await
    }

    /// As [`run_other`](File::run_other) for a ring operation (none of which uses the
    /// cursor, so nothing to rewind): the future `op` makes from the file.
    async fn run_ring<T, F, Fut>(&self, report: bool, ring: FsRing, op: F) -> io::Result<T>
    where
        F: FnOnce(FsRing, Arc<std::fs::File>) -> Fut + Send + 'static,
        Fut: Future<Output = io::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.run(report, |inner, std| {
            inner.start_ring(std, ring, Kind::Other, |ring, file, buf| async move {
                let value = op(ring, file).await;
                let outcome =
                    Outcome::Other(value.map(|value| Box::new(value) as Box<dyn Any + Send>));
                (buf, outcome)
            });
            Ok(())
        })
        .await
    }

    /// Runs the operation `start` starts as the file's one operation, after the one in
    /// flight, and returns its value (see `run_other`).
    async fn run<T: 'static>(
        &self,
        report: bool,
        start: impl FnOnce(&mut Inner, &Arc<std::fs::File>) -> io::Result<()>,
    ) -> io::Result<T> {
        let mut inner = self.inner.lock().await;
        poll_fn(|cx| inner.poll_idle(cx)).await;
        if report && let Some(err) = inner.write_err.take() {
            return Err(err);
        }
        start(&mut inner, &self.std)?;
        poll_fn(|cx| inner.poll_idle(cx)).await;
        // The lock is held throughout, so the result waiting is this call's.
        match inner.done.take() {
            Some(Outcome::Other(Ok(value))) => match value.downcast::<T>() {
                Ok(value) => Ok(*value),
                Err(_) => Err(lost_result()),
            },
            Some(Outcome::Other(Err(err))) => Err(err),
            _ => Err(lost_result()),
        }
    }
}

/// The error for an operation whose result went missing (a bug, reported rather than
/// panicking).
fn lost_result() -> io::Error {
    io::Error::other("corio::fs::File: the result of a file operation was lost")
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let inner = this.inner.get_mut();
        loop {
            ready!(inner.poll_idle(cx));
            if let Some(err) = inner.write_err.take() {
                return Poll::Ready(Err(err));
            }
            if inner.buf.unread() > 0 {
                return Poll::Ready(Ok(inner.buf.copy_to(dst)));
            }
            // The result of the read this call started: end of file, or an error.
            if let Some(Outcome::Read(result)) = inner.done.take() {
                return Poll::Ready(result);
            }
            if dst.is_empty() {
                return Poll::Ready(Ok(0));
            }
            match ring::current(|ops| ops.read_write) {
                Some(ring) => inner.start_ring(&this.std, ring, Kind::Read, ring_read),
                None => inner.start(&this.std, Kind::Read, |mut file, buf| {
                    buf.data.resize(MAX_BUF, 0);
                    buf.pos = 0;
                    let result = retry(|| file.read(&mut buf.data));
                    buf.data.truncate(*result.as_ref().unwrap_or(&0));
                    Outcome::Read(result)
                })?,
            }
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(src)])
    }

    /// Gathers up to 64 KiB from the slices into one background write.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        srcs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let inner = this.inner.get_mut();
        ready!(inner.poll_idle(cx));
        if let Some(err) = inner.write_err.take() {
            return Poll::Ready(Err(err));
        }
        if srcs.iter().all(|src| src.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        let unread = inner.buf.discard();
        for src in srcs {
            let room = MAX_BUF - inner.buf.data.len();
            inner
                .buf
                .data
                .extend_from_slice(&src[..src.len().min(room)]);
            if src.len() >= room {
                break;
            }
        }
        let n = inner.buf.data.len();
        match ring::current(|ops| ops.read_write) {
            Some(ring) => inner.start_ring(&this.std, ring, Kind::Write, |ring, file, buf| {
                ring_write(ring, file, buf, unread)
            }),
            None => inner.start(&this.std, Kind::Write, move |mut file, buf| {
                let result = rewind(file, unread).and_then(|()| file.write_all(&buf.data));
                buf.discard();
                Outcome::Write(result)
            })?,
        }
        Poll::Ready(Ok(n))
    }

    /// Waits for the write in flight and returns its error, if it failed. The data is then
    /// with the OS; `sync_all` waits for the disk.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let inner = self.get_mut().inner.get_mut();
        ready!(inner.poll_idle(cx));
        Poll::Ready(inner.write_err.take().map_or(Ok(()), Err))
    }

    /// As `poll_flush`. The file closes when the `File` is dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let inner = this.inner.get_mut();
        loop {
            ready!(inner.poll_idle(cx));
            if let Some(err) = inner.write_err.take() {
                return Poll::Ready(Err(err));
            }
            // The seek this call started (a re-poll asks with the same position).
            if let Some(Outcome::Seek(asked, result)) = inner.done.take()
                && asked == pos
            {
                return Poll::Ready(result);
            }
            // The OS cursor is ahead of the logical position by the unread bytes.
            let unread = inner.buf.unread() as i64;
            let target = match pos {
                SeekFrom::Current(offset) => match offset.checked_sub(unread) {
                    Some(offset) => SeekFrom::Current(offset),
                    None => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "seek offset out of range",
                        )));
                    }
                },
                other => other,
            };
            inner.buf.discard();
            inner.start(&this.std, Kind::Seek(pos), move |mut file, _| {
                Outcome::Seek(pos, file.seek(target))
            })?;
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("std", &self.std).finish()
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> File {
        File::from_std(std)
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for File {
    /// The file descriptor. Mind the operation that may be in flight on it.
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.std.as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for File {
    /// The file descriptor. Mind the operation that may be in flight on it.
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.std.as_fd()
    }
}
