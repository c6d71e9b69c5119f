//! A socket on the io_uring driver: stream reads and writes, accept and connect as ring ops.
//!
//! The socket object — not the future polling it — owns its ops (see
//! `docs/design/io_uring.md`):
//!
//! - **Reads**: at most one recv in flight, into a buffer owned by the op (so the ring
//!   driver's slab while in the kernel); the completed bytes are kept here and copied out by
//!   later reads. A dropped read future loses nothing: the next read finds the op or its data.
//! - **Writes** are reported at submission: `poll_write` copies into an owned buffer, submits
//!   one send (`MSG_WAITALL | MSG_NOSIGNAL`) and returns the count. The next write, flush or
//!   close waits for that send (resubmitting an unsent tail) and reports its error, if any.
//!   Reporting at completion would break `AsyncWrite` when a future is dropped after the
//!   submission: the bytes would go out although the caller was told nothing was written.
//! - **Accept**: at most one accept in flight; a connection it took is kept for the next
//!   `accept`, never lost with a dropped future.
//!
//! Where the kernel has them, reads and accepts are **multishot**: one recv op stays armed
//! for the socket's life and fills buffers from the driver's provided-buffer ring as data
//! arrives (a read copies out of the oldest one, then hands it back); one accept op stays
//! armed on a listener and queues connections. Neither needs an SQE per call. Past
//! [`MAX_QUEUED_RECVS`] buffers or [`MAX_QUEUED_ACCEPTS`] connections queued, the driver
//! stops the op; the owner re-arms once it took the queue. So a reader that falls behind
//! cannot take the whole buffer pool, nor a listener nobody accepts on take connections
//! out of the kernel's backlog without bound. When the pool runs dry (`ENOBUFS`) it grows;
//! at its full size a read falls back to one single-shot recv into its own buffer;
//! when the kernel refuses multishot (`EINVAL`), the runtime uses single shots from then on.
//!
//! Dropping the socket cancels its recv and accept (a recv in the kernel holds a reference
//! to the file, so without the cancel the connection would stay open), lets a send finish
//! (data written before a close is delivered, as with a plain socket), and closes the fd.
//! The ring driver frees each op's buffer when its completion arrives.
//!
//! An op can also complete with `ECANCELED` without us asking: the kernel cancels the ops of
//! a thread that exits, and any runtime thread may have been the one that submitted. Reads
//! and accepts then simply resubmit.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use io_uring::{opcode, types};

use crate::io::driver::uring::{
    AcceptAddr, AfterSend, OpId, PROVIDED_BUF_GROUP, Resources, Shot, ShotKind, UringHandle,
};

/// Smallest recv submitted: a 1-byte read still fetches a useful amount.
const MIN_RECV: usize = 4 * 1024;
/// Largest recv and largest send submitted at once.
const MAX_CHUNK: usize = 64 * 1024;
/// Provided buffers one socket may hold queued before its multishot recv is stopped.
const MAX_QUEUED_RECVS: usize = 16;
/// Connections a listener may hold queued before its multishot accept is stopped.
const MAX_QUEUED_ACCEPTS: usize = 64;

pub(crate) struct RingSocket<T: AsRawFd> {
    io: Option<T>,
    handle: UringHandle,
    read: Mutex<ReadState>,
    write: Mutex<WriteState>,
    accept: Mutex<AcceptOp>,
}

#[derive(Default)]
struct ReadState {
    /// A single-shot recv in the kernel (or completed, not yet looked at).
    op: Option<OpId>,
    /// The multishot recv, while armed.
    multi: Option<OpId>,
    /// The provided buffer being read, if any: its bytes come before newer ones.
    held: Option<Held>,
    /// The provided buffers ran out: the next recv is a single shot.
    single_once: bool,
    /// Received bytes not yet read: `buf[pos..]` (single-shot recvs).
    buf: Vec<u8>,
    pos: usize,
    /// The last recv returned 0.
    eof: bool,
}

/// A provided buffer checked out of the driver's ring: `len` bytes at `ptr`, read up to `pos`.
struct Held {
    /// The multishot recv whose shot filled it (its ring owns the buffer).
    op: OpId,
    bid: u16,
    ptr: *const u8,
    len: usize,
    pos: usize,
}

// SAFETY: `ptr` points into the driver's buffer ring, which lives as long as the
// `UringHandle` the socket holds; buffer `bid` is ours alone until recycled.
unsafe impl Send for Held {}

#[derive(Clone, Copy, Default)]
enum AcceptOp {
    #[default]
    Idle,
    Single(OpId),
    Multi(OpId),
}

#[derive(Default)]
struct WriteState {
    /// A send in the kernel; `offset` bytes of its buffer went out in earlier attempts, and
    /// it sends `len` more.
    op: Option<OpId>,
    offset: usize,
    len: usize,
    /// A buffer to reuse for the next send.
    spare: Vec<u8>,
    /// `shutdown` was called while a send was in the kernel: run once the sends drain (the
    /// reaper runs it too when the send completes in full; twice is harmless).
    shutdown: Option<Shutdown>,
}

fn lock<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `ECANCELED` we did not ask for (see the module docs), or `EINTR`: try again.
fn is_retry(result: i32) -> bool {
    result == -libc::ECANCELED || result == -libc::EINTR
}

impl<T: AsRawFd> RingSocket<T> {
    pub(crate) fn new(io: T, handle: UringHandle) -> RingSocket<T> {
        RingSocket {
            io: Some(io),
            handle,
            read: Mutex::default(),
            write: Mutex::default(),
            accept: Mutex::default(),
        }
    }

    pub(crate) fn get_ref(&self) -> &T {
        self.io.as_ref().expect("socket used after into_inner")
    }

    fn fd(&self) -> types::Fd {
        types::Fd(self.get_ref().as_raw_fd())
    }

    /// Waits until received bytes are buffered (or EOF: returns false with nothing
    /// buffered). `hint` sizes the recv.
    fn poll_fill(
        &self,
        cx: &mut Context<'_>,
        st: &mut ReadState,
        hint: usize,
    ) -> Poll<io::Result<()>> {
        loop {
            if st.pos < st.buf.len() || st.held.is_some() || st.eof {
                return Poll::Ready(Ok(()));
            }
            if let Some(id) = st.multi {
                let shot = match ready!(self.handle.poll_shot(id, cx)) {
                    Ok(shot) => shot,
                    Err(err) => {
                        st.multi = None;
                        return Poll::Ready(Err(err));
                    }
                };
                if !shot.more() {
                    st.multi = None;
                }
                if let Some(err) = self.take_recv_shot(st, id, shot) {
                    return Poll::Ready(Err(err));
                }
                continue;
            }
            if st.op.is_none() && !st.single_once && self.handle.multishot_recv() {
                let fd = self.fd();
                // SAFETY: the recv names the provided-buffer group, not a buffer: the kernel
                // writes only into buffers of the driver's ring. The fd stays open until the
                // SQE is submitted (`release_ops` flushes first); then the kernel holds it.
                let id = unsafe {
                    self.handle
                        .submit_multishot(ShotKind::Recv, MAX_QUEUED_RECVS, || {
                            opcode::RecvMulti::new(fd, PROVIDED_BUF_GROUP).build()
                        })
                };
                match id {
                    Ok(id) => st.multi = Some(id),
                    Err(err) => return Poll::Ready(Err(err)),
                }
                continue;
            }
            if let Some(id) = st.op {
                let done = match ready!(self.handle.poll_op(id, cx)) {
                    Ok(done) => done,
                    Err(err) => {
                        st.op = None;
                        return Poll::Ready(Err(err));
                    }
                };
                st.op = None;
                let Resources::Buf(mut buf) = done.resources else {
                    unreachable!("a recv owns a buffer")
                };
                match done.result {
                    n if n >= 0 => {
                        // SAFETY: the recv wrote `n` bytes at the start of the buffer's
                        // capacity (it was given the capacity, and returns at most that).
                        unsafe { buf.set_len(n as usize) };
                        st.buf = buf;
                        st.pos = 0;
                        st.eof = n == 0;
                    }
                    n if is_retry(n) => st.buf = buf,
                    n => {
                        st.buf = buf;
                        return Poll::Ready(Err(io::Error::from_raw_os_error(-n)));
                    }
                }
                continue;
            }
            // Nothing in flight: receive into the spare capacity of the (drained) buffer.
            st.single_once = false;
            let mut buf = std::mem::take(&mut st.buf);
            buf.clear();
            st.pos = 0;
            buf.reserve(hint.clamp(MIN_RECV, MAX_CHUNK));
            let fd = self.fd();
            // SAFETY: the recv writes at most `capacity` bytes into the buffer the op owns
            // (its heap memory never moves while in the driver's slab, and is only freed
            // once the completion is reaped). The fd stays open until the SQE is submitted
            // (`release_ops` flushes the SQ before the socket closes it); from then on the
            // kernel holds its own reference to the file.
            let id = unsafe {
                self.handle.submit(Resources::Buf(buf), false, |res| {
                    let Resources::Buf(buf) = res else {
                        unreachable!()
                    };
                    let len = buf.capacity().min(u32::MAX as usize) as u32;
                    opcode::Recv::new(fd, buf.as_mut_ptr(), len).build()
                })
            };
            match id {
                Ok(id) => st.op = Some(id),
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// Files one result of the multishot recv; an error to report, if any.
    fn take_recv_shot(&self, st: &mut ReadState, op: OpId, shot: Shot) -> Option<io::Error> {
        match shot.result {
            n if n > 0 => {
                let Some(bid) = shot.buffer() else {
                    return Some(io::Error::other(
                        "corio: an io_uring recv reported data without a buffer",
                    ));
                };
                let len = n as usize;
                // SAFETY: the shot checked `bid` out to us with `len` bytes; it is recycled
                // only once read (`consume`) or dropped (`release_ops`).
                let ptr = unsafe { self.handle.provided(op, bid, len) };
                st.held = Some(Held {
                    op,
                    bid,
                    ptr,
                    len,
                    pos: 0,
                });
                None
            }
            n => {
                if let Some(bid) = shot.buffer() {
                    self.handle.recycle(op, bid);
                }
                match n {
                    0 => st.eof = true,
                    // The pool ran dry: grow it, or (at its limit) receive once into
                    // this socket's own buffer.
                    n if n == -libc::ENOBUFS => st.single_once = !self.handle.grow_buffers(op),
                    n if n == -libc::EINVAL => self.handle.disable_multishot(ShotKind::Recv),
                    n if is_retry(n) => {}
                    n => return Some(io::Error::from_raw_os_error(-n)),
                }
                None
            }
        }
    }

    /// The received bytes not yet read (after `poll_fill`; empty at EOF).
    fn unread<'a>(&self, st: &'a ReadState) -> &'a [u8] {
        match &st.held {
            // SAFETY: the held buffer is ours until `consume` recycles it (which needs
            // `&mut` of the state this slice borrows), and `pos <= len`.
            Some(held) => unsafe {
                std::slice::from_raw_parts(held.ptr.add(held.pos), held.len - held.pos)
            },
            None => &st.buf[st.pos..],
        }
    }

    /// Marks `n` unread bytes as read; a drained provided buffer goes back to the ring.
    fn consume(&self, st: &mut ReadState, n: usize) {
        if let Some(held) = &mut st.held {
            held.pos += n;
            if held.pos == held.len {
                self.handle.recycle(held.op, held.bid);
                st.held = None;
            }
            return;
        }
        st.pos += n;
        if st.pos == st.buf.len() {
            // Drained: the next read receives anew (unless this one was EOF, which
            // stays reported once per read like a plain socket's).
            st.eof = false;
        }
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut st = lock(&self.read);
        ready!(self.poll_fill(cx, &mut st, dst.len()))?;
        let available = self.unread(&st);
        let n = available.len().min(dst.len());
        dst[..n].copy_from_slice(&available[..n]);
        self.consume(&mut st, n);
        Poll::Ready(Ok(n))
    }

    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        let mut st = lock(&self.read);
        ready!(self.poll_fill(cx, &mut st, total))?;
        let mut n = 0;
        for dst in bufs.iter_mut() {
            let available = self.unread(&st);
            if available.is_empty() {
                break;
            }
            let k = available.len().min(dst.len());
            dst[..k].copy_from_slice(&available[..k]);
            self.consume(&mut st, k);
            n += k;
            if st.held.is_none() && st.pos == st.buf.len() {
                // One buffer per call: the next may still be in flight.
                break;
            }
        }
        if n == 0 {
            // EOF: reported once, like `poll_read`.
            st.eof = false;
        }
        Poll::Ready(Ok(n))
    }

    /// Copies received bytes into `dst` without consuming them.
    pub(crate) fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut st = lock(&self.read);
        ready!(self.poll_fill(cx, &mut st, dst.len()))?;
        let available = self.unread(&st);
        let n = available.len().min(dst.len());
        dst[..n].copy_from_slice(&available[..n]);
        if n == 0 {
            // EOF seen by a peek: a later read reports it again by receiving anew.
            st.eof = false;
        }
        Poll::Ready(Ok(n))
    }

    /// Waits for the send in flight (resubmitting its unsent tail) and reports its error.
    fn poll_send_done(&self, cx: &mut Context<'_>, st: &mut WriteState) -> Poll<io::Result<()>> {
        while let Some(id) = st.op {
            let done = match ready!(self.handle.poll_op(id, cx)) {
                Ok(done) => done,
                Err(err) => {
                    st.op = None;
                    return Poll::Ready(Err(err));
                }
            };
            st.op = None;
            let Resources::Buf(buf) = done.resources else {
                unreachable!("a send owns a buffer")
            };
            let offset = match done.result {
                n if n >= 0 => st.offset + n as usize,
                n if is_retry(n) => st.offset,
                n => {
                    st.offset = 0;
                    st.spare = buf;
                    return Poll::Ready(Err(io::Error::from_raw_os_error(-n)));
                }
            };
            if offset >= buf.len() {
                st.offset = 0;
                st.spare = buf;
            } else {
                st.offset = offset;
                st.len = buf.len() - offset;
                st.op = Some(self.submit_send(buf, offset)?);
            }
        }
        if let Some(how) = st.shutdown.take() {
            // Every byte is out: the deferred shutdown (maybe already run by the reaper).
            let _ = shutdown_fd(self.get_ref(), how);
        }
        Poll::Ready(Ok(()))
    }

    fn submit_send(&self, buf: Vec<u8>, offset: usize) -> io::Result<OpId> {
        let fd = self.fd();
        // SAFETY: the send reads `len - offset` initialised bytes of the buffer the op owns
        // (its heap memory never moves while in the slab and is freed only after the
        // completion is reaped). The fd stays open until the SQE is submitted (`release_ops`
        // flushes the SQ before the socket closes it); then the kernel holds the file.
        unsafe {
            self.handle.submit(Resources::Buf(buf), false, |res| {
                let Resources::Buf(buf) = res else {
                    unreachable!()
                };
                let rest = &buf[offset..];
                opcode::Send::new(fd, rest.as_ptr(), rest.len() as u32)
                    .flags(libc::MSG_WAITALL | libc::MSG_NOSIGNAL)
                    .build()
            })
        }
    }

    fn poll_write_with(
        &self,
        cx: &mut Context<'_>,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> Poll<io::Result<usize>> {
        let mut st = lock(&self.write);
        ready!(self.poll_send_done(cx, &mut st))?;
        let mut buf = std::mem::take(&mut st.spare);
        buf.clear();
        fill(&mut buf);
        let n = buf.len();
        if n == 0 {
            st.spare = buf;
            return Poll::Ready(Ok(0));
        }
        st.op = Some(self.submit_send(buf, 0)?);
        st.offset = 0;
        st.len = n;
        Poll::Ready(Ok(n))
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |buf| {
            buf.extend_from_slice(&src[..src.len().min(MAX_CHUNK)]);
        })
    }

    /// Gathers the slices (up to the chunk size) into one send.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |buf| {
            for src in bufs {
                let room = MAX_CHUNK - buf.len();
                if room == 0 {
                    break;
                }
                buf.extend_from_slice(&src[..src.len().min(room)]);
            }
        })
    }

    /// Waits until every written byte was handed to the kernel's socket buffer.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = lock(&self.write);
        self.poll_send_done(cx, &mut st)
    }

    /// `shutdown(2)`, ordered after the writes already reported: with a send still in the
    /// kernel, the write side is shut down when it completes (by the ring's reaper, on a
    /// `dup` of the fd).
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()>
    where
        T: AsFd,
    {
        if how == Shutdown::Read {
            return shutdown_fd(self.get_ref(), how);
        }
        let mut st = lock(&self.write);
        while let Some(id) = st.op {
            let after = AfterSend {
                fd: self.get_ref().as_fd().try_clone_to_owned()?,
                how,
                expected: st.len,
            };
            if self.handle.after_send(id, after).is_ok() {
                st.shutdown = Some(how);
                return Ok(());
            }
            // The send already completed: settle it here (its completion is waiting, so
            // the no-op waker is never stored for long: a resubmitted tail loops back).
            let mut cx = Context::from_waker(std::task::Waker::noop());
            if let Poll::Ready(Err(err)) = self.poll_send_done(&mut cx, &mut st) {
                return Err(err);
            }
        }
        shutdown_fd(self.get_ref(), how)
    }

    /// Waits for the next connection: a new non-blocking, close-on-exec fd and the peer.
    pub(crate) fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(OwnedFd, SocketAddr)>> {
        let mut st = lock(&self.accept);
        loop {
            if let AcceptOp::Multi(id) = *st {
                let shot = match ready!(self.handle.poll_shot(id, cx)) {
                    Ok(shot) => shot,
                    Err(err) => {
                        *st = AcceptOp::Idle;
                        return Poll::Ready(Err(err));
                    }
                };
                if !shot.more() {
                    *st = AcceptOp::Idle;
                }
                match shot.result {
                    fd if fd >= 0 => {
                        // SAFETY: a successful accept returns a new fd that only we know of.
                        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                        // A multishot accept reports no address: ask for it.
                        match socket2::SockRef::from(&fd).peer_addr() {
                            Ok(addr) => match addr.as_socket() {
                                Some(addr) => return Poll::Ready(Ok((fd, addr))),
                                None => {
                                    return Poll::Ready(Err(io::Error::new(
                                        io::ErrorKind::InvalidData,
                                        "accepted a non-IP peer address",
                                    )));
                                }
                            },
                            // The peer reset the connection before we looked: nothing to
                            // serve (accept4 would have handed out a dead socket).
                            Err(err) if err.raw_os_error() == Some(libc::ENOTCONN) => {
                                tracing::debug!("corio: an accepted connection was already gone");
                            }
                            Err(err) => return Poll::Ready(Err(err)),
                        }
                    }
                    n if n == -libc::EINVAL => self.handle.disable_multishot(ShotKind::Accept),
                    n if is_retry(n) => {}
                    n => return Poll::Ready(Err(io::Error::from_raw_os_error(-n))),
                }
                continue;
            }
            if let AcceptOp::Single(id) = *st {
                let done = ready!(self.handle.poll_op(id, cx));
                *st = AcceptOp::Idle;
                let done = done?;
                let Resources::Accept(addr) = done.resources else {
                    unreachable!("an accept owns an address")
                };
                match done.result {
                    fd if fd >= 0 => {
                        // SAFETY: a successful accept returns a new fd that only we know of.
                        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                        // SAFETY: the kernel wrote a valid address of `len` bytes into the
                        // storage (zeroed beforehand), as accept4 does.
                        let addr = unsafe { socket2::SockAddr::new(addr.storage, addr.len) };
                        let addr = addr.as_socket().ok_or_else(|| {
                            io::Error::new(
                                io::ErrorKind::InvalidData,
                                "accepted a non-IP peer address",
                            )
                        })?;
                        return Poll::Ready(Ok((fd, addr)));
                    }
                    n if is_retry(n) => continue,
                    n => return Poll::Ready(Err(io::Error::from_raw_os_error(-n))),
                }
            }
            let fd = self.fd();
            if self.handle.multishot_accept() {
                // SAFETY: a multishot accept carries no pointers (it reports no address).
                // The listener fd stays open until the SQE is submitted (`release_ops`
                // flushes first); then the kernel holds it.
                let id = unsafe {
                    self.handle
                        .submit_multishot(ShotKind::Accept, MAX_QUEUED_ACCEPTS, || {
                            opcode::AcceptMulti::new(fd)
                                .flags(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
                                .build()
                        })
                };
                *st = AcceptOp::Multi(id?);
                continue;
            }
            // SAFETY: accept writes the peer address into the op's own boxed storage and its
            // length into the box's `len` (initialised to the storage size); the box stays
            // in the slab until the completion is reaped. The listener fd stays open until
            // the SQE is submitted (`release_ops` flushes first); then the kernel holds it.
            let id = unsafe {
                self.handle
                    .submit(Resources::Accept(AcceptAddr::new()), true, |res| {
                        let Resources::Accept(addr) = res else {
                            unreachable!()
                        };
                        opcode::Accept::new(
                            fd,
                            (&raw mut addr.storage).cast::<libc::sockaddr>(),
                            &raw mut addr.len,
                        )
                        .flags(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
                        .build()
                    })
            };
            *st = AcceptOp::Single(id?);
        }
    }

    /// Cancels the socket's ops (a send is let finish) and hands back the std object.
    /// Received bytes not yet read are dropped.
    pub(crate) fn into_inner(mut self) -> io::Result<T> {
        let io = self.io.take().expect("socket used after into_inner");
        if !self.release_ops() {
            // Unsubmitted SQEs still name the fd: it must be neither handed out nor closed.
            std::mem::forget(io);
            return Err(io::Error::other(
                "corio: io_uring submission stalled; the socket was leaked",
            ));
        }
        Ok(io)
    }

    /// Orphans every op (cancelling reads and accepts), then submits the SQ so no queued
    /// SQE still names the fd. False if that submission failed.
    fn release_ops(&mut self) -> bool {
        let mut any = false;
        let read = self.read.get_mut().unwrap_or_else(PoisonError::into_inner);
        for id in [read.op.take(), read.multi.take()].into_iter().flatten() {
            self.handle.orphan(id, true);
            any = true;
        }
        if let Some(held) = read.held.take() {
            self.handle.recycle(held.op, held.bid);
        }
        let accept = self
            .accept
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let AcceptOp::Single(id) | AcceptOp::Multi(id) = std::mem::take(accept) {
            self.handle.orphan(id, true);
            any = true;
        }
        let write = self.write.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(id) = write.op.take() {
            self.handle.orphan(id, false);
            any = true;
        }
        !any || self.handle.flush()
    }
}

fn shutdown_fd(fd: &impl AsRawFd, how: Shutdown) -> io::Result<()> {
    let how = match how {
        Shutdown::Read => libc::SHUT_RD,
        Shutdown::Write => libc::SHUT_WR,
        Shutdown::Both => libc::SHUT_RDWR,
    };
    // SAFETY: shutdown takes no pointers; `fd` is open (borrowed from its owner).
    if unsafe { libc::shutdown(fd.as_raw_fd(), how) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl<T: AsRawFd> Drop for RingSocket<T> {
    fn drop(&mut self) {
        if self.io.is_some() && !self.release_ops() {
            // An SQE naming the fd is still queued: closing the fd could aim it at a reused
            // fd number. Leak it instead (only if the ring's completions overflowed).
            std::mem::forget(self.io.take());
        }
        // Otherwise closing our fd now is fine: ops still in the kernel hold their own
        // reference to the file, so the socket closes when the last of them completes.
    }
}

impl<T: AsRawFd + std::fmt::Debug> std::fmt::Debug for RingSocket<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.fmt(f)
    }
}

/// A connect in flight, owning its socket: dropping it cancels the op, submits the cancel
/// (so no queued SQE names the fd any more), then closes the socket.
pub(crate) struct Connect<T: AsRawFd> {
    handle: UringHandle,
    id: Option<OpId>,
    socket: Option<T>,
}

impl<T: AsRawFd> Connect<T> {
    /// Starts connecting `socket` to `addr`; the op owns the encoded address.
    pub(crate) fn start(handle: &UringHandle, socket: T, addr: SocketAddr) -> io::Result<Self> {
        let fd = types::Fd(socket.as_raw_fd());
        // SAFETY: connect reads the address from the op's own box, which stays in the slab
        // until the completion is reaped; the socket stays open until the SQE is submitted
        // (`Drop` flushes first) and the kernel holds the file from then on.
        let id = unsafe {
            handle.submit(
                Resources::Addr(Box::new(socket2::SockAddr::from(addr))),
                false,
                |res| {
                    let Resources::Addr(addr) = res else {
                        unreachable!()
                    };
                    opcode::Connect::new(fd, addr.as_ptr().cast(), addr.len()).build()
                },
            )?
        };
        Ok(Connect {
            handle: handle.clone(),
            id: Some(id),
            socket: Some(socket),
        })
    }

    /// The connected socket, or the connect's error.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let id = self.id.expect("polled after completion");
        let done = ready!(self.handle.poll_op(id, cx));
        self.id = None;
        let done = done?;
        if done.result < 0 {
            return Poll::Ready(Err(io::Error::from_raw_os_error(-done.result)));
        }
        Poll::Ready(Ok(self.socket.take().expect("polled after completion")))
    }
}

impl<T: AsRawFd> Drop for Connect<T> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.handle.orphan(id, true);
            if !self.handle.flush() {
                // The connect SQE may still be queued: never free its fd number.
                tracing::error!(
                    "corio: io_uring submission stalled; a connecting socket is leaked"
                );
                std::mem::forget(self.socket.take());
            }
        }
    }
}
