//! The io_uring completion driver, beside the epoll reactor (see `docs/design/io_uring.md`).
//!
//! One ring per runtime. Any thread may submit (the SQ sits behind a mutex); only the thread
//! holding `&mut UringDriver` — the one that parks — reaps completions. Files: `ops` (the
//! slab of in-flight ops and their owned resources; pure), `fs_ops` (the file-system
//! opcodes probed for `corio::fs`) and this file (the ring, the SQ, parking, dispatch,
//! cancellation and shutdown).
//!
//! # Invariants
//!
//! - **Memory the kernel may touch is owned by the slab** (see `ops`): every pointer in an
//!   SQE points into the [`Resources`] of its op's slot, which are freed only after the
//!   op's CQE was reaped — by the owner ([`UringHandle::poll_op`]) or, for an orphan, by the
//!   reaper ([`UringDriver::dispatch`]). A ring dropped with ops still in the kernel leaks
//!   their resources (`Shared::drop`); it never frees them.
//! - **One `SubmissionQueue` at a time**: `submission_shared` is only called under `sq`.
//! - **One `CompletionQueue` at a time**: `completion_shared` is only called with
//!   `&mut UringDriver`, and there is one driver per ring.
//! - **An fd outlives its SQEs' submission**: the kernel resolves an SQE's fd when the
//!   SQE is submitted, not when it is pushed. An owner that closes an fd with ops pushed
//!   (ring sockets, a dropped connect) first calls [`UringHandle::flush`]; once submitted,
//!   the kernel holds its own reference to the file until the op completes.
//! - **No lost submissions**: a pusher publishes its SQE, then (SeqCst fence) reads
//!   `sleeping`; the parker stores `sleeping` (SeqCst) before `io_uring_enter` reads the SQ
//!   tail. So either the sleeper submits the entry, or the pusher sees the sleeper and
//!   submits it itself. Otherwise the next loop turn's `enter` submits it (batching).
//!
//! # Waking a parked ring
//!
//! An unpark ([`UringHandle::wake`]) pushes an `IORING_OP_NOP`: its completion wakes the
//! sleeper. The no-lost-submission rule above covers it too: either the unparker sees the
//! sleeper and submits the nop itself, or the sleeper's own `enter` submits it and returns
//! at once.
//!
//! The runtime keeps its epoll reactor (for everything not ported to the ring). The driver
//! keeps a one-shot `POLL_ADD` on the epoll fd armed whenever it sleeps: any epoll event (or
//! the epoll eventfd, the fallback unpark) completes it. [`UringDriver::dispatch`] reports
//! that, and the caller turns the epoll reactor without waiting.

mod buf_ring;
mod fs_ops;
mod ops;

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, fence};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use io_uring::{IoUring, opcode, squeue, types};

use buf_ring::BufRing;
pub(crate) use buf_ring::GROUP as PROVIDED_BUF_GROUP;
pub(crate) use fs_ops::{FsOps, StatxBuf};
pub(crate) use ops::{AcceptAddr, AfterSend, Completion, OpId, Resources, Shot, ShotKind};
use ops::{Garbage, Ops, Orphaned, Reaped};

/// `user_data` of the poll on the epoll fd.
const EPOLL_TOKEN: u64 = u64::MAX;
/// `user_data` of cancel requests (their own CQEs are ignored).
const CANCEL_TOKEN: u64 = u64::MAX - 1;
/// `user_data` of the no-op an unpark submits (its CQE is ignored: it only wakes).
const WAKE_TOKEN: u64 = u64::MAX - 2;

const SQ_ENTRIES: u32 = 256;
const CQ_ENTRIES: u32 = 4096;

/// How long shutdown waits for cancelled ops to complete before leaking their resources.
const SHUTDOWN_REAP_TIMEOUT: Duration = Duration::from_secs(1);

/// The reaping side, owned by the thread that parks.
pub(crate) struct UringDriver {
    shared: Arc<Shared>,
    epoll_fd: RawFd,
    /// The poll on the epoll fd is in the kernel.
    epoll_armed: bool,
    woken: Vec<Waker>,
    garbage: Vec<ops::Garbage>,
}

/// The submitting side: any thread.
#[derive(Clone)]
pub(crate) struct UringHandle {
    shared: Arc<Shared>,
}

struct Shared {
    ring: IoUring,
    /// Held while a `SubmissionQueue` exists.
    /// Guards the SQ; holds how many SQEs were ever pushed (so `flush` can tell when the
    /// kernel has consumed a given one, whatever other threads push meanwhile).
    sq: Mutex<u64>,
    ops: Mutex<Ops>,
    /// A thread is (about to be) blocked in `io_uring_enter`.
    sleeping: AtomicBool,
    /// Set at shutdown: no new ops.
    is_shutdown: AtomicBool,
    /// The provided buffers multishot recvs fill; `None` where the kernel refused the
    /// registration (before 5.19).
    buf_ring: Option<Mutex<BufRing>>,
    /// Where the buffer ring's buffers start (fixed for its life): read without its lock.
    buffers: Option<BuffersBase>,
    /// Multishot recv (6.0) and multishot accept (5.19) work here; cleared for good when
    /// the kernel rejects one with `EINVAL` (the owner then falls back to single shots).
    multishot_recv: AtomicBool,
    multishot_accept: AtomicBool,
    /// Provided buffers reported by a CQE and not recycled yet (tests check none leak).
    #[cfg(test)]
    checked_out: std::sync::atomic::AtomicIsize,
    /// The file-system ops this kernel supports (probed at start; none is required).
    fs_ops: FsOps,
}

impl Shared {
    fn ops(&self) -> MutexGuard<'_, Ops> {
        // The slab is only changed by code that cannot panic halfway.
        self.ops.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pushes one SQE; flushes the SQ to the kernel when full, or when a thread sleeps in
    /// the ring (it would not look at the SQ until woken).
    ///
    /// # Safety
    /// Every pointer in `entry` must stay valid until its CQE is reaped (it points into the
    /// `Resources` of a slab slot, or is a cancel / poll without pointers).
    unsafe fn push(&self, entry: &squeue::Entry) -> io::Result<()> {
        {
            let mut pushed = self.sq.lock().unwrap_or_else(PoisonError::into_inner);
            // SAFETY: `sq` is held, so this is the only SubmissionQueue in existence.
            let mut sq = unsafe { self.ring.submission_shared() };
            loop {
                // SAFETY: the caller guarantees the entry's pointers outlive the op.
                if unsafe { sq.push(entry) }.is_ok() {
                    *pushed += 1;
                    break;
                }
                // Full: hand the queued entries to the kernel to make room.
                sq.sync();
                match self.ring.submitter().submit() {
                    Ok(_) => {}
                    Err(err) if err.raw_os_error() == Some(libc::EINTR) => {}
                    Err(err) => return Err(err),
                }
                sq.sync();
            }
            // Dropping `sq` publishes the new tail.
        }
        fence(SeqCst);
        if self.sleeping.load(SeqCst) {
            self.submit()?;
        }
        Ok(())
    }

    /// Hands queued SQEs to the kernel without waiting.
    fn submit(&self) -> io::Result<()> {
        match self.ring.submitter().submit() {
            Ok(_) => Ok(()),
            // EBUSY: completions overflowed; the reaper drains them and its next enter
            // submits what is queued. EINTR: likewise, the next enter.
            Err(err) if matches!(err.raw_os_error(), Some(libc::EBUSY | libc::EINTR)) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Hands every SQE queued so far to the kernel now. False if some of them stayed
    /// queued (completions overflowed): their fds must then stay open, since the kernel
    /// resolves an SQE's fd only when it is submitted — closing it first would aim the op
    /// at whatever file reuses the number.
    ///
    /// "So far": entries other threads push meanwhile do not count. (Waiting for an empty
    /// SQ instead failed under load on a multi-thread runtime — other workers kept it
    /// non-empty — and the caller then leaked a socket's fd: its peer never saw EOF.)
    fn flush(&self) -> bool {
        let target = *self.sq.lock().unwrap_or_else(PoisonError::into_inner);
        for _ in 0..3 {
            if self.submit().is_err() {
                break;
            }
            let pushed = self.sq.lock().unwrap_or_else(PoisonError::into_inner);
            // SAFETY: `sq` is held, so this is the only SubmissionQueue in existence.
            let queued = unsafe { self.ring.submission_shared() }.len() as u64;
            if *pushed - queued >= target {
                return true;
            }
        }
        false
    }

    /// No SQE queued and no completion overflowed: a non-waiting `io_uring_enter` would do
    /// nothing (completions are read from shared memory without one).
    fn nothing_to_enter_for(&self) -> bool {
        let _sq = self.sq.lock().unwrap_or_else(PoisonError::into_inner);
        // SAFETY: `sq` is held, so this is the only SubmissionQueue in existence.
        let sq = unsafe { self.ring.submission_shared() };
        sq.is_empty() && !sq.cq_overflow() && !sq.taskrun()
    }

    /// Recycles garbage's provided buffers, then drops the rest (closing fds).
    fn dispose(&self, mut garbage: Garbage) {
        let buffers = garbage.take_buffers();
        if !buffers.is_empty() {
            self.recycle(&buffers);
        }
        drop(garbage);
    }

    fn recycle(&self, buffers: &[u16]) {
        if let Some(ring) = &self.buf_ring {
            let mut ring = ring.lock().unwrap_or_else(PoisonError::into_inner);
            for &bid in buffers {
                ring.recycle(bid);
            }
            #[cfg(test)]
            self.checked_out.fetch_sub(buffers.len() as isize, SeqCst);
        }
    }

    fn cancel(&self, id: OpId) {
        let entry = opcode::AsyncCancel::new(id.0)
            .build()
            .user_data(CANCEL_TOKEN);
        // SAFETY: a cancel carries no pointers.
        if let Err(err) = unsafe { self.push(&entry) } {
            // The op then completes on its own; its orphaned resources are freed then.
            tracing::debug!(error = %err, "corio: could not submit an io_uring cancel");
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The ring (a later field) is closed after this; ops the kernel never completed
        // keep their memory forever rather than have it freed under a pending write.
        let ops = self.ops.get_mut().unwrap_or_else(PoisonError::into_inner);
        if ops.in_flight() > 0 {
            // A multishot recv still in the kernel may yet pick a provided buffer.
            std::mem::forget(self.buf_ring.take());
        }
        ops.leak_in_flight();
    }
}

/// Why the ring cannot be used, for the auto-detection's log and `Uring`'s error.
pub(crate) fn probe() -> io::Result<IoUring> {
    // COOP_TASKRUN: a completion's task work (a recv that waited for data) no longer
    // interrupts its submitting thread with an IPI while that thread runs user code; it runs
    // at the thread's next kernel entry. A thread asleep (in the ring, on a futex, in
    // epoll_wait) is still woken at once, so no completion waits on a sleeper. The IPIs cost
    // 13% of a worker's cycles on the http suite's plaintext load. TASKRUN_FLAG makes the
    // pending work visible in the SQ flags, so a non-waiting turn enters to run it
    // (`nothing_to_enter_for`). Kernels before 5.19 refuse both: build without.
    let ring = match IoUring::builder()
        .setup_cqsize(CQ_ENTRIES)
        .setup_coop_taskrun()
        .setup_taskrun_flag()
        .build(SQ_ENTRIES)
    {
        Ok(ring) => ring,
        Err(err) if err.raw_os_error() == Some(libc::EINVAL) => IoUring::builder()
            .setup_cqsize(CQ_ENTRIES)
            .build(SQ_ENTRIES)?,
        Err(err) => return Err(err),
    };
    let params = ring.params();
    if !params.is_feature_ext_arg() {
        return Err(unsupported("IORING_FEAT_EXT_ARG (kernel 5.11)"));
    }
    if !params.is_feature_nodrop() {
        return Err(unsupported("IORING_FEAT_NODROP (kernel 5.5)"));
    }
    let mut probe = io_uring::Probe::new();
    ring.submitter().register_probe(&mut probe)?;
    for (code, name) in [
        (opcode::Accept::CODE, "ACCEPT"),
        (opcode::Connect::CODE, "CONNECT"),
        (opcode::Recv::CODE, "RECV"),
        (opcode::Send::CODE, "SEND"),
        (opcode::AsyncCancel::CODE, "ASYNC_CANCEL"),
        (opcode::PollAdd::CODE, "POLL_ADD"),
        (opcode::Nop::CODE, "NOP"),
    ] {
        if !probe.is_supported(code) {
            return Err(unsupported(name));
        }
    }
    Ok(ring)
}

/// The start of the provided buffers.
#[derive(Clone, Copy)]
struct BuffersBase(*const u8);

// SAFETY: a plain address into the buffer ring's allocation, which `Shared` owns; who may
// read which buffer is governed by the CQEs, not by this pointer.
unsafe impl Send for BuffersBase {}
// SAFETY: as above; the pointer itself is never written.
unsafe impl Sync for BuffersBase {}

/// Allocates the provided-buffer ring and registers it with `ring`.
fn register_buf_ring(ring: &IoUring) -> io::Result<BufRing> {
    let buf_ring = BufRing::new()?;
    // SAFETY: the entries live at `ring_addr` (page-aligned, `ENTRIES` of them) until the
    // `BufRing` is dropped, which `Shared` does only after the io_uring fd is closed with no
    // op in flight (and otherwise leaks it).
    unsafe {
        ring.submitter().register_buf_ring_with_flags(
            buf_ring.ring_addr(),
            buf_ring::ENTRIES,
            buf_ring::GROUP,
            0,
        )?;
    }
    Ok(buf_ring)
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("corio: io_uring lacks {what}"),
    )
}

impl UringDriver {
    /// A driver on a fresh ring; `epoll_fd` is the epoll reactor it keeps a poll on.
    pub(crate) fn new(epoll_fd: RawFd) -> io::Result<(UringDriver, UringHandle)> {
        let ring = probe()?;
        let buf_ring = match register_buf_ring(&ring) {
            Ok(buf_ring) => Some(Mutex::new(buf_ring)),
            Err(err) => {
                tracing::debug!(
                    target: "corio::driver",
                    error = %err,
                    "corio: no provided-buffer ring; recvs are single-shot"
                );
                None
            }
        };
        let multishot = std::env::var_os("CORIO_URING_SINGLESHOT").is_none();
        let fs_ops = FsOps::probe(&ring);
        let shared = Arc::new(Shared {
            ring,
            sq: Mutex::new(0),
            ops: Mutex::new(Ops::default()),
            sleeping: AtomicBool::new(false),
            is_shutdown: AtomicBool::new(false),
            multishot_recv: AtomicBool::new(multishot && buf_ring.is_some()),
            multishot_accept: AtomicBool::new(multishot),
            buffers: buf_ring.as_ref().map(|ring| {
                BuffersBase(ring.lock().unwrap_or_else(PoisonError::into_inner).base())
            }),
            buf_ring,
            #[cfg(test)]
            checked_out: std::sync::atomic::AtomicIsize::new(0),
            fs_ops,
        });
        let driver = UringDriver {
            shared: shared.clone(),
            epoll_fd,
            epoll_armed: false,
            woken: Vec::new(),
            garbage: Vec::new(),
        };
        Ok((driver, UringHandle { shared }))
    }

    /// Submits what is queued and waits up to `timeout` (`None`: no limit) for at least one
    /// completion, an unpark or an epoll event. `Some(ZERO)` only submits.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if !self.epoll_armed {
            let entry = opcode::PollAdd::new(types::Fd(self.epoll_fd), libc::POLLIN as u32)
                .build()
                .user_data(EPOLL_TOKEN);
            // SAFETY: a poll carries no pointers; the epoll fd outlives the driver (the
            // runtime's `Driver` owns both and drops the ring first).
            unsafe { self.shared.push(&entry)? };
            self.epoll_armed = true;
        }
        let shared = &*self.shared;
        let submitter = shared.ring.submitter();
        let result = match timeout {
            Some(Duration::ZERO) => {
                if shared.nothing_to_enter_for() {
                    return Ok(());
                }
                submitter.submit_with_args(0, &types::SubmitArgs::new())
            }
            _ => {
                shared.sleeping.store(true, SeqCst);
                let ts = timeout.map(|t| {
                    types::Timespec::new()
                        .sec(t.as_secs())
                        .nsec(t.subsec_nanos())
                });
                let result = match &ts {
                    Some(ts) => {
                        submitter.submit_with_args(1, &types::SubmitArgs::new().timespec(ts))
                    }
                    None => submitter.submit_with_args(1, &types::SubmitArgs::new()),
                };
                shared.sleeping.store(false, SeqCst);
                result
            }
        };
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if matches!(
                    err.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    /// Reaps every completion, wakes the owners and frees orphans. Returns true if the
    /// epoll reactor has events (the caller turns it with a zero timeout).
    pub(crate) fn dispatch(&mut self) -> bool {
        let mut epoll_ready = false;
        let cancels = {
            let mut ops = self.shared.ops();
            // SAFETY: `&mut self` is exclusive and there is one driver per ring: this is the
            // only CompletionQueue in existence.
            let cq = unsafe { self.shared.ring.completion_shared() };
            for cqe in cq {
                match cqe.user_data() {
                    EPOLL_TOKEN => {
                        self.epoll_armed = false;
                        epoll_ready = true;
                    }
                    CANCEL_TOKEN | WAKE_TOKEN => {}
                    user_data => {
                        #[cfg(test)]
                        if io_uring::cqueue::buffer_select(cqe.flags()).is_some() {
                            self.shared.checked_out.fetch_add(1, SeqCst);
                        }
                        match ops.complete(user_data, cqe.result(), cqe.flags()) {
                            Reaped::Wake(waker) => self.woken.push(waker),
                            Reaped::Garbage(garbage, waker) => {
                                self.garbage.push(garbage);
                                self.woken.extend(waker);
                            }
                            Reaped::Nothing => {}
                        }
                    }
                }
            }
            // The loop consumed (and dropped) `cq`: the reaped slots are the kernel's again.
            ops.take_cancels()
        };
        for id in cancels {
            self.shared.cancel(id);
        }
        for garbage in self.garbage.drain(..) {
            self.shared.dispose(garbage);
        }
        for waker in self.woken.drain(..) {
            waker.wake();
        }
        epoll_ready
    }

    /// Refuses new ops, cancels every op in the kernel, wakes their owners (their polls then
    /// fail) and reaps for a bounded time. Idempotent.
    pub(crate) fn shutdown(&mut self) {
        if self.shared.is_shutdown.swap(true, SeqCst) {
            return;
        }
        let (ids, wakers) = {
            let mut ops = self.shared.ops();
            (ops.in_flight_ids(), ops.take_wakers())
        };
        for id in ids {
            self.shared.cancel(id);
        }
        for waker in wakers {
            waker.wake();
        }
        let deadline = Instant::now() + SHUTDOWN_REAP_TIMEOUT;
        loop {
            self.dispatch();
            let left = self.shared.ops().in_flight();
            let now = Instant::now();
            if left == 0 || now >= deadline {
                if left > 0 {
                    tracing::warn!(
                        ops = left,
                        "corio: io_uring ops still in the kernel at shutdown; their buffers are leaked"
                    );
                }
                break;
            }
            let _ = self.wait(Some((deadline - now).min(Duration::from_millis(10))));
        }
    }
}

impl Drop for UringDriver {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl UringHandle {
    /// Starts an op: `resources` move into the slab, then `build` makes the SQE from them
    /// (pointers into `resources` stay valid: the slab never moves heap memory).
    ///
    /// `result_is_fd`: a successful result is a new fd, closed if the op is orphaned.
    ///
    /// # Safety
    /// Every pointer `build` puts into the entry must point into the `Resources` it is
    /// given (or be otherwise valid until the CQE); fds in it must stay open or be held by
    /// the kernel (it takes a file reference at submission).
    pub(crate) unsafe fn submit(
        &self,
        resources: Resources,
        result_is_fd: bool,
        build: impl FnOnce(&mut Resources) -> squeue::Entry,
    ) -> io::Result<OpId> {
        if self.shared.is_shutdown.load(SeqCst) {
            return Err(shutdown_error());
        }
        let (id, entry) = {
            let mut ops = self.shared.ops();
            let id = ops.insert(resources, result_is_fd);
            let resources = ops.resources_mut(id).expect("just inserted");
            (id, build(resources).user_data(id.0))
        };
        // SAFETY: the entry's pointers point into the slot's resources (the caller's
        // promise), which stay in the slab until the CQE is reaped.
        if let Err(err) = unsafe { self.shared.push(&entry) } {
            self.shared.ops().remove_unsubmitted(id);
            return Err(err);
        }
        Ok(id)
    }

    /// The completion of `id` once its CQE was reaped (the op is then gone from the slab);
    /// `Pending` with `cx`'s waker stored until then. After shutdown an op that never
    /// completed fails with an error (its resources stay with the slab).
    pub(crate) fn poll_op(&self, id: OpId, cx: &mut Context<'_>) -> Poll<io::Result<Completion>> {
        let mut ops = self.shared.ops();
        match ops.take_completed(id, Some(cx.waker())) {
            Some(done) => Poll::Ready(Ok(done)),
            None if self.shared.is_shutdown.load(SeqCst) => Poll::Ready(Err(shutdown_error())),
            None => Poll::Pending,
        }
    }

    /// The owner of `id` is gone: if the op is in the kernel, cancel it (with `cancel`; a
    /// send is rather let finish); its resources are freed (an accepted fd closed) once its
    /// CQE is reaped.
    pub(crate) fn orphan(&self, id: OpId, cancel: bool) {
        let decided = self.shared.ops().orphan(id);
        match decided {
            Orphaned::Cancel(garbage) => {
                if cancel {
                    self.shared.cancel(id);
                }
                if let Some(garbage) = garbage {
                    self.shared.dispose(garbage);
                }
            }
            Orphaned::Done(garbage) => {
                if let Some(garbage) = garbage {
                    self.shared.dispose(garbage);
                }
            }
        }
    }

    /// Starts a multishot op of `kind`: its results queue until taken with
    /// [`poll_shot`](Self::poll_shot).
    ///
    /// # Safety
    /// As [`submit`](Self::submit); a multishot op owns no resources, so `build` must put
    /// no pointers into the entry (a recv names the provided-buffer group instead).
    /// Past `limit` queued results the driver cancels the op (the owner re-arms after
    /// taking the queue, which ends with an `ECANCELED` result).
    pub(crate) unsafe fn submit_multishot(
        &self,
        kind: ShotKind,
        limit: usize,
        build: impl FnOnce() -> squeue::Entry,
    ) -> io::Result<OpId> {
        if self.shared.is_shutdown.load(SeqCst) {
            return Err(shutdown_error());
        }
        let id = self.shared.ops().insert_multishot(kind, limit);
        let entry = build().user_data(id.0);
        // SAFETY: the entry carries no pointers (the caller's promise).
        if let Err(err) = unsafe { self.shared.push(&entry) } {
            self.shared.ops().remove_unsubmitted(id);
            return Err(err);
        }
        Ok(id)
    }

    /// The next result of the multishot op `id` (after the one without `MORE`, `id` is
    /// gone); `Pending` with `cx`'s waker stored until one comes.
    pub(crate) fn poll_shot(&self, id: OpId, cx: &mut Context<'_>) -> Poll<io::Result<Shot>> {
        let mut ops = self.shared.ops();
        match ops.take_shot(id, Some(cx.waker())) {
            Some((shot, _)) => Poll::Ready(Ok(shot)),
            None if self.shared.is_shutdown.load(SeqCst) => Poll::Ready(Err(shutdown_error())),
            None => Poll::Pending,
        }
    }

    /// Multishot recv into the provided buffers is available (and not ruled out since).
    pub(crate) fn multishot_recv(&self) -> bool {
        self.shared.multishot_recv.load(Relaxed)
    }

    /// Multishot accept is available (and not ruled out since).
    pub(crate) fn multishot_accept(&self) -> bool {
        self.shared.multishot_accept.load(Relaxed)
    }

    /// The kernel rejected a multishot op of `kind`: use single shots from now on.
    pub(crate) fn disable_multishot(&self, kind: ShotKind) {
        let flag = match kind {
            ShotKind::Recv => &self.shared.multishot_recv,
            ShotKind::Accept => &self.shared.multishot_accept,
        };
        if flag.swap(false, Relaxed) {
            tracing::debug!(target: "corio::driver", ?kind, "corio: io_uring multishot refused; single shots");
        }
    }

    /// The bytes a recv shot put into provided buffer `bid`.
    ///
    /// # Safety
    /// `bid` must come from a shot of this ring that reported `len` bytes, and must not be
    /// recycled while the returned pointer is used.
    pub(crate) unsafe fn provided(&self, bid: u16, len: usize) -> *const u8 {
        let buffers = self
            .shared
            .buffers
            .expect("a recv shot implies the buffer ring");
        debug_assert!(
            usize::from(bid) < usize::from(buf_ring::ENTRIES) && len <= buf_ring::BUF_SIZE
        );
        // SAFETY: a shot's `bid` is below `ENTRIES`, so the offset is inside the buffers'
        // allocation (which lives as long as `shared`); the rest is the caller's promise.
        unsafe { buffers.0.add(usize::from(bid) * buf_ring::BUF_SIZE) }
    }

    /// The provided buffers ran out: hands the kernel more. False if all are in use.
    pub(crate) fn grow_buffers(&self) -> bool {
        self.shared
            .buf_ring
            .as_ref()
            .is_some_and(|ring| ring.lock().unwrap_or_else(PoisonError::into_inner).grow())
    }

    /// Hands provided buffer `bid` back to the kernel.
    pub(crate) fn recycle(&self, bid: u16) {
        self.shared.recycle(&[bid]);
    }

    /// Wakes the thread asleep in the ring (or makes its next wait return at once): a no-op
    /// whose completion it cannot miss. Unparks are not counted.
    pub(crate) fn wake(&self) -> io::Result<()> {
        let entry = opcode::Nop::new().build().user_data(WAKE_TOKEN);
        // SAFETY: a no-op carries no pointers.
        unsafe { self.shared.push(&entry) }
    }

    /// Submits every queued SQE now; see `Shared::flush`. An owner closing an fd that its
    /// ops name calls this first, and keeps the fd open (leaks it) if it returns false.
    pub(crate) fn flush(&self) -> bool {
        self.shared.flush()
    }

    /// Has the reaper run `after` once the send `id` completes in full. Gives `after` back
    /// if the op already completed: the owner then acts on the completion itself.
    pub(crate) fn after_send(&self, id: OpId, after: AfterSend) -> Result<(), AfterSend> {
        self.shared.ops().set_after(id, after)
    }

    /// Provided buffers handed to us by a CQE and not recycled yet.
    #[cfg(test)]
    pub(crate) fn buffers_checked_out(&self) -> isize {
        self.shared.checked_out.load(SeqCst)
    }

    /// The file-system ops this ring runs (the rest of `corio::fs` uses the blocking pool).
    pub(crate) fn fs_ops(&self) -> FsOps {
        self.shared.fs_ops
    }

    /// Ops whose CQE has not been reaped yet.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.shared.ops().in_flight()
    }
}

impl std::fmt::Debug for UringHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringHandle")
            .field("in_flight", &self.shared.ops().in_flight())
            .finish()
    }
}

impl std::fmt::Debug for UringDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringDriver")
            .field("epoll_armed", &self.epoll_armed)
            .finish_non_exhaustive()
    }
}

fn shutdown_error() -> io::Error {
    io::Error::other("corio: the I/O driver has shut down")
}

#[cfg(all(test, not(loom), not(miri)))] // io_uring syscalls
mod tests;
