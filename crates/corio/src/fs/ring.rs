//! `corio::fs` on the io_uring driver: open, read, write, fsync and statx as ring ops.
//!
//! On a runtime whose driver is io_uring these replace the blocking pool, one opcode at a
//! time: each is used only if the kernel's probe listed it ([`FsOps`], probed once when the
//! driver starts); a missing one leaves that call on the blocking pool.
//!
//! # Ownership (what keeps the kernel away from freed memory)
//!
//! Every path, buffer and statx struct an SQE points at moves into the driver's op slab
//! (`Resources`) *before* the SQE is pushed, and comes back only with the op's completion.
//! A [`RingOp`] owns one op: dropping it before the completion orphans the op, and the
//! driver frees the resources (and closes the fd of an orphaned open) when the CQE arrives.
//! So dropping a future, or a `File`, mid-operation never frees memory the kernel writes.
//!
//! An op on an open file names its fd; the kernel resolves it when the SQE is *submitted*,
//! not when it is pushed. So a `RingOp` holds the file's `Arc` and, if dropped early,
//! submits the queue before letting it go (the rule `io::driver::uring` states): the fd is
//! never closed, and its number never reused, under an SQE still queued.
//!
//! # Cancellation, per op
//!
//! - open and read: dropped early, they are cancelled (an open or read of a FIFO may wait
//!   forever for the other side); an fd the open returns anyway is closed by the driver.
//! - write: never cancelled. A [`WriteAll`] dropped early hands itself to a task of its
//!   runtime, which finishes the write (a short write's tail included) and only then lets
//!   the file go: the blocking pool's `write_all` semantics, kept.
//! - fsync and statx: let finish (cancelling would gain nothing).
//!
//! Reads and writes use offset `-1`, the file position (`IORING_FEAT_RW_CUR_POS`), so the
//! OS cursor moves exactly as with `read(2)` / `write(2)`: `File`'s seeks and read-ahead
//! accounting work unchanged, and files that cannot seek (FIFOs) work too.
//!
//! An op can complete with `ECANCELED` that nobody asked for (the kernel cancels a thread's
//! ops when it exits, and any runtime thread may have submitted), or `EINTR`: it is then
//! simply submitted again, as std retries `EINTR`.

use std::ffi::CString;
use std::future::{Future, poll_fn};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use io_uring::{opcode, squeue, types};

use super::Metadata;
use crate::io::driver::uring::{Completion, FsOps, OpId, Resources, StatxBuf, UringHandle};
use crate::runtime::{Handle, context};

/// The most one read or write asks the kernel for (Linux caps a single call at this).
const MAX_RW: usize = 0x7fff_f000;

/// The first buffer `read_file` reads into when the size is not known.
const FIRST_READ: usize = 8 * 1024;

/// The current runtime's ring, if its driver is io_uring.
#[derive(Clone)]
pub(super) struct FsRing {
    handle: UringHandle,
    ops: FsOps,
}

/// The current runtime's ring if it can run the ops `needs` asks for; `None` outside a
/// runtime, on epoll, or when the kernel lacks an opcode (the caller uses the blocking pool,
/// which also reports a missing runtime).
pub(super) fn current(needs: impl FnOnce(FsOps) -> bool) -> Option<FsRing> {
    let handle = context::with_current(|h| h.driver().uring.clone()).ok()??;
    let ops = handle.fs_ops();
    needs(ops).then_some(FsRing { handle, ops })
}

/// `ECANCELED` we did not ask for, or `EINTR`: submit the op again.
fn is_retry(result: i32) -> bool {
    result == -libc::ECANCELED || result == -libc::EINTR
}

fn os_error(result: i32) -> io::Error {
    io::Error::from_raw_os_error(-result)
}

/// A path as the kernel reads it; a NUL inside is std's `InvalidInput` error.
fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "file name contained an unexpected NUL byte",
        )
    })
}

/// One op in the ring, owned: see the module docs for what dropping it early does.
struct RingOp {
    handle: UringHandle,
    /// `None` once the completion was taken.
    id: Option<OpId>,
    cancel_on_drop: bool,
    /// The file whose fd the SQE names (kept open until the SQE is surely submitted).
    file: Option<Arc<std::fs::File>>,
}

impl RingOp {
    /// Moves `resources` into the slab and pushes the SQE `build` makes from them.
    ///
    /// # Safety
    /// As [`UringHandle::submit`]: every pointer `build` puts into the entry points into the
    /// resources it is given; an fd in it is `file`'s (or `AT_FDCWD`).
    unsafe fn submit(
        ring: &FsRing,
        resources: Resources,
        result_is_fd: bool,
        cancel_on_drop: bool,
        file: Option<&Arc<std::fs::File>>,
        build: impl FnOnce(&mut Resources) -> squeue::Entry,
    ) -> io::Result<RingOp> {
        // SAFETY: the caller's promise, passed on; `file` is kept open by this `RingOp`
        // until the SQE is submitted (see `Drop`) or completes.
        let id = unsafe { ring.handle.submit(resources, result_is_fd, build)? };
        Ok(RingOp {
            handle: ring.handle.clone(),
            id: Some(id),
            cancel_on_drop,
            file: file.cloned(),
        })
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Completion>> {
        let id = self
            .id
            .expect("corio::fs: a ring op polled after its completion");
        let done = ready!(self.handle.poll_op(id, cx));
        self.id = None;
        Poll::Ready(done)
    }

    async fn completion(&mut self) -> io::Result<Completion> {
        poll_fn(|cx| self.poll(cx)).await
    }
}

impl Drop for RingOp {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        self.handle.orphan(id, self.cancel_on_drop);
        if self.file.is_some() && !self.handle.flush() {
            // The SQE may still be queued, naming the fd: closing it could aim the op at
            // whatever file reuses the number. Leak our reference (the fd stays open).
            tracing::error!("corio: io_uring submission stalled; an open file is leaked");
            std::mem::forget(self.file.take());
        }
    }
}

// ----- open and statx by path --------------------------------------------------------------

impl FsRing {
    /// `openat(AT_FDCWD, path, flags | O_CLOEXEC, mode)`.
    pub(super) async fn open(
        &self,
        path: &Path,
        flags: i32,
        mode: u32,
    ) -> io::Result<std::fs::File> {
        let mut path = c_path(path)?;
        loop {
            // SAFETY: the path pointer points into the op's own `CString`, which stays in the
            // slab until the completion; `AT_FDCWD` is no fd to keep open.
            let mut op = unsafe {
                RingOp::submit(self, Resources::Path(path), true, true, None, |res| {
                    let Resources::Path(path) = res else {
                        unreachable!()
                    };
                    opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr())
                        .flags(flags | libc::O_CLOEXEC)
                        .mode(mode)
                        .build()
                        // In a worker, as open(2): the kernel's inline attempt adds
                        // O_NONBLOCK, so a FIFO opened for reading would not wait for a
                        // writer, and one opened for writing would fail with ENXIO.
                        .flags(squeue::Flags::ASYNC)
                })?
            };
            let done = op.completion().await?;
            let Resources::Path(back) = done.resources else {
                unreachable!("an open owns its path")
            };
            match done.result {
                fd if fd >= 0 => {
                    // SAFETY: a successful open returns a new fd that only we know of.
                    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                    return Ok(std::fs::File::from(fd));
                }
                n if is_retry(n) => path = back,
                n => return Err(os_error(n)),
            }
        }
    }

    /// `statx` of a path, following a final symbolic link or not.
    pub(super) async fn statx_path(&self, path: &Path, follow: bool) -> io::Result<Metadata> {
        let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
        self.statx(StatxBuf::new(c_path(path)?), flags, None).await
    }

    /// `statx` of an open file (`AT_EMPTY_PATH` on its fd).
    pub(super) async fn statx_file(&self, file: &Arc<std::fs::File>) -> io::Result<Metadata> {
        self.statx(
            StatxBuf::new(CString::default()),
            libc::AT_EMPTY_PATH,
            Some(file),
        )
        .await
    }

    async fn statx(
        &self,
        mut target: Box<StatxBuf>,
        flags: i32,
        file: Option<&Arc<std::fs::File>>,
    ) -> io::Result<Metadata> {
        let dirfd = file.map_or(libc::AT_FDCWD, |file| file.as_raw_fd());
        loop {
            // SAFETY: the path and the statx buffer the kernel fills (as big as the kernel's
            // struct: checked in `fs_ops`) are both in the op's own box, which stays in the
            // slab until the completion; the fd is `file`'s (kept open by the op) or
            // `AT_FDCWD`.
            let mut op = unsafe {
                RingOp::submit(self, Resources::Statx(target), false, false, file, |res| {
                    let Resources::Statx(target) = res else {
                        unreachable!()
                    };
                    opcode::Statx::new(
                        types::Fd(dirfd),
                        target.path.as_ptr(),
                        (&raw mut target.statx).cast::<types::statx>(),
                    )
                    .flags(flags | libc::AT_STATX_SYNC_AS_STAT)
                    .mask(libc::STATX_BASIC_STATS | libc::STATX_BTIME)
                    .build()
                })?
            };
            let done = op.completion().await?;
            let Resources::Statx(back) = done.resources else {
                unreachable!("a statx owns its buffer")
            };
            match done.result {
                0.. => return Ok(Metadata::from_statx(&back.statx)),
                n if is_retry(n) => target = back,
                n => return Err(os_error(n)),
            }
        }
    }

    // ----- reads, writes, fsync on an open file ----------------------------------------------

    /// One `read(2)` at the file position into the spare capacity of `buf` (at most `max`
    /// bytes); returns the buffer, grown by the count read (0: end of file).
    pub(super) async fn read_into(
        &self,
        file: &Arc<std::fs::File>,
        mut buf: Vec<u8>,
        max: usize,
    ) -> io::Result<(Vec<u8>, usize)> {
        let fd = types::Fd(file.as_raw_fd());
        loop {
            let len = (buf.capacity() - buf.len()).min(max).min(MAX_RW) as u32;
            // SAFETY: the kernel writes at most `len` bytes into the spare capacity of the
            // op's own buffer (its heap memory stays put in the slab until the completion);
            // the fd is `file`'s, kept open by the op.
            let mut op = unsafe {
                RingOp::submit(self, Resources::Buf(buf), false, true, Some(file), |res| {
                    let Resources::Buf(buf) = res else {
                        unreachable!()
                    };
                    let spare = buf.spare_capacity_mut();
                    opcode::Read::new(fd, spare.as_mut_ptr().cast(), len)
                        .offset(u64::MAX) // -1: the file position
                        .build()
                })?
            };
            let done = op.completion().await?;
            let Resources::Buf(mut back) = done.resources else {
                unreachable!("a read owns its buffer")
            };
            match done.result {
                n @ 0.. => {
                    let n = n as usize;
                    // SAFETY: the read initialised `n <= len` bytes right after the old
                    // length, inside the capacity.
                    unsafe { back.set_len(back.len() + n) };
                    return Ok((back, n));
                }
                n if is_retry(n) => buf = back,
                n => return Err(os_error(n)),
            }
        }
    }

    /// `fsync(2)`, or `fdatasync(2)` with `data_only`.
    pub(super) async fn fsync(&self, file: &Arc<std::fs::File>, data_only: bool) -> io::Result<()> {
        let fd = types::Fd(file.as_raw_fd());
        let flags = if data_only {
            types::FsyncFlags::DATASYNC
        } else {
            types::FsyncFlags::empty()
        };
        loop {
            // SAFETY: an fsync carries no pointers; the fd is `file`'s, kept open by the op.
            let mut op = unsafe {
                RingOp::submit(self, Resources::None, false, false, Some(file), |_| {
                    opcode::Fsync::new(fd).flags(flags).build()
                })?
            };
            match op.completion().await?.result {
                0.. => return Ok(()),
                n if is_retry(n) => {}
                n => return Err(os_error(n)),
            }
        }
    }

    /// Writes all of `buf` at the file position; see [`WriteAll`].
    pub(super) fn write_all(
        &self,
        file: &Arc<std::fs::File>,
        buf: Vec<u8>,
    ) -> io::Result<WriteAll> {
        let op = self.submit_write(file, buf, 0)?;
        Ok(WriteAll {
            state: Some(Writing {
                ring: self.clone(),
                file: Arc::clone(file),
                op,
                written: 0,
                runtime: Handle::try_current().ok(),
            }),
        })
    }

    /// Submits a write of `buf[offset..]` (at most `MAX_RW` bytes of it).
    fn submit_write(
        &self,
        file: &Arc<std::fs::File>,
        buf: Vec<u8>,
        offset: usize,
    ) -> io::Result<RingOp> {
        let fd = types::Fd(file.as_raw_fd());
        // SAFETY: the kernel reads initialised bytes `offset..` of the op's own buffer (its
        // heap memory stays put in the slab until the completion); the fd is `file`'s, kept
        // open by the op.
        unsafe {
            RingOp::submit(self, Resources::Buf(buf), false, false, Some(file), |res| {
                let Resources::Buf(buf) = res else {
                    unreachable!()
                };
                let rest = &buf[offset..];
                let len = rest.len().min(MAX_RW) as u32;
                opcode::Write::new(fd, rest.as_ptr(), len)
                    .offset(u64::MAX) // -1: the file position
                    .build()
            })
        }
    }

    // ----- whole files -------------------------------------------------------------------------

    /// `std::fs::read`: open, size hint by statx (if the ring has it), read to the end.
    pub(super) async fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        let file = Arc::new(self.open(path, libc::O_RDONLY, 0).await?);
        let size = if self.ops.statx {
            self.statx_file(&file).await.ok().map(|meta| meta.len())
        } else {
            None
        };
        // One byte past the size, so the read that finds the end needs no new allocation.
        let first = size.map_or(FIRST_READ, |size| {
            usize::try_from(size)
                .unwrap_or(usize::MAX)
                .saturating_add(1)
        });
        let mut buf = Vec::new();
        buf.try_reserve_exact(first)
            .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        loop {
            if buf.len() == buf.capacity() {
                buf.try_reserve(buf.len().max(FIRST_READ))
                    .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
            }
            let (back, n) = self.read_into(&file, buf, usize::MAX).await?;
            buf = back;
            if n == 0 {
                return Ok(buf);
            }
        }
    }

    /// `std::fs::write`: create or truncate, then write everything.
    pub(super) async fn write_file(&self, path: &Path, contents: Vec<u8>) -> io::Result<()> {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC;
        let file = Arc::new(self.open(path, flags, 0o666).await?);
        if contents.is_empty() {
            return Ok(());
        }
        self.write_all(&file, contents)?.await.1
    }
}

/// A write of a whole buffer at the file position: a short write's tail is submitted again
/// until every byte is written (`write_all`). Resolves to the buffer and the result.
///
/// Dropped before it finished, it hands itself to a task on its runtime, which completes
/// the write and then drops its reference to the file. Only when that is impossible (the
/// runtime is shutting down) is the write in flight orphaned, still not cancelled.
pub(super) struct WriteAll {
    /// `None` once finished.
    state: Option<Writing>,
}

struct Writing {
    ring: FsRing,
    file: Arc<std::fs::File>,
    /// The write in the kernel: the buffer (in the op's slot) from `written` on.
    op: RingOp,
    written: usize,
    /// Where to finish the write if dropped early; `None` in the task that does so.
    runtime: Option<Handle>,
}

impl Future for WriteAll {
    type Output = (Vec<u8>, io::Result<()>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let state = self
            .state
            .as_mut()
            .expect("corio::fs: WriteAll polled after completion");
        loop {
            let done = match ready!(state.op.poll(cx)) {
                Ok(done) => done,
                Err(err) => {
                    self.state = None;
                    return Poll::Ready((Vec::new(), Err(err)));
                }
            };
            let Resources::Buf(buf) = done.resources else {
                unreachable!("a write owns its buffer")
            };
            let result = match done.result {
                0 => Some(Err(io::Error::from(io::ErrorKind::WriteZero))),
                n @ 1.. => {
                    state.written += n as usize;
                    (state.written == buf.len()).then_some(Ok(()))
                }
                n if is_retry(n) => None,
                n => Some(Err(os_error(n))),
            };
            if let Some(result) = result {
                self.state = None;
                return Poll::Ready((buf, result));
            }
            match state.ring.submit_write(&state.file, buf, state.written) {
                Ok(op) => state.op = op,
                Err(err) => {
                    self.state = None;
                    return Poll::Ready((Vec::new(), Err(err)));
                }
            }
        }
    }
}

impl Drop for WriteAll {
    fn drop(&mut self) {
        let Some(mut state) = self.state.take() else {
            return;
        };
        if let Some(runtime) = state.runtime.take() {
            let rest = WriteAll { state: Some(state) };
            // Refused at shutdown: the future (and with it the write) is then dropped below,
            // in the task-less way.
            let _ = runtime.try_spawn(async move {
                let _ = rest.await;
            });
        }
        // Otherwise `state` drops here: its `RingOp` orphans the write without cancelling.
    }
}

#[cfg(all(test, not(loom), not(miri)))] // io_uring syscalls
mod tests {
    use super::*;
    use crate::runtime::{Builder, IoDriverKind};
    use std::task::Waker;
    use std::time::{Duration, Instant};

    /// Polls `future` once with a no-op waker (its op is submitted), then drops it.
    fn poll_once_and_drop<F: Future>(future: F) {
        let mut future = std::pin::pin!(future);
        let _ = future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
    }

    /// Every kind of fs op, dropped right after submission: each is orphaned and its slot
    /// freed once the kernel completes it; none stays in the slab.
    #[test]
    fn dropped_ops_leave_nothing_in_the_slab() {
        let Ok(rt) = Builder::new_current_thread()
            .io_driver(IoDriverKind::Uring)
            .build()
        else {
            return; // no io_uring here
        };
        let path = std::env::temp_dir().join(format!("corio-ring-slab-{}", std::process::id()));
        std::fs::write(&path, vec![7u8; 100_000]).unwrap();
        rt.block_on(async {
            let ring = current(|_| true).expect("a uring runtime has a ring");
            assert_eq!(ring.ops, ring.handle.fs_ops());
            for _ in 0..50 {
                poll_once_and_drop(ring.open(&path, libc::O_RDONLY, 0));
                poll_once_and_drop(ring.statx_path(&path, false));
                poll_once_and_drop(ring.read_file(&path));
                let file = Arc::new(std::fs::File::open(&path).unwrap());
                poll_once_and_drop(ring.read_into(&file, Vec::with_capacity(4096), 4096));
                poll_once_and_drop(ring.fsync(&file, true));
                poll_once_and_drop(ring.statx_file(&file));
            }
            // Nothing was reaped yet (the driver has not turned since).
            assert!(ring.handle.in_flight() >= 6 * 50);
            let deadline = Instant::now() + Duration::from_secs(5);
            while ring.handle.in_flight() > 0 {
                assert!(
                    Instant::now() < deadline,
                    "{} ops never reaped",
                    ring.handle.in_flight()
                );
                crate::time::sleep(Duration::from_millis(1)).await;
            }
        });
        std::fs::remove_file(&path).unwrap();
    }
}
