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

mod fs_ops;
mod ops;

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst, fence};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use io_uring::{IoUring, opcode, squeue, types};

pub(crate) use fs_ops::{FsOps, StatxBuf};
pub(crate) use ops::{AcceptAddr, AfterSend, Completion, OpId, Resources};
use ops::{Ops, Orphaned, Reaped};

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
    sq: Mutex<()>,
    ops: Mutex<Ops>,
    /// A thread is (about to be) blocked in `io_uring_enter`.
    sleeping: AtomicBool,
    /// Set at shutdown: no new ops.
    is_shutdown: AtomicBool,
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
            let _sq = self.sq.lock().unwrap_or_else(PoisonError::into_inner);
            // SAFETY: `sq` is held, so this is the only SubmissionQueue in existence.
            let mut sq = unsafe { self.ring.submission_shared() };
            loop {
                // SAFETY: the caller guarantees the entry's pointers outlive the op.
                if unsafe { sq.push(entry) }.is_ok() {
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

    /// Hands every queued SQE to the kernel now. False if some stayed queued (completions
    /// overflowed): their fds must then stay open, since the kernel resolves an SQE's fd
    /// only when it is submitted — closing it first would aim the op at whatever file
    /// reuses the number.
    fn flush(&self) -> bool {
        for _ in 0..3 {
            if self.submit().is_err() {
                break;
            }
            let _sq = self.sq.lock().unwrap_or_else(PoisonError::into_inner);
            // SAFETY: `sq` is held, so this is the only SubmissionQueue in existence.
            if unsafe { self.ring.submission_shared() }.is_empty() {
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
        self.ops
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .leak_in_flight();
    }
}

/// Why the ring cannot be used, for the auto-detection's log and `Uring`'s error.
pub(crate) fn probe() -> io::Result<IoUring> {
    let ring = IoUring::builder()
        .setup_cqsize(CQ_ENTRIES)
        .build(SQ_ENTRIES)?;
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
        let fs_ops = FsOps::probe(&ring);
        let shared = Arc::new(Shared {
            ring,
            sq: Mutex::new(()),
            ops: Mutex::new(Ops::default()),
            sleeping: AtomicBool::new(false),
            is_shutdown: AtomicBool::new(false),
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
        {
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
                    user_data => match ops.complete(user_data, cqe.result()) {
                        Reaped::Wake(waker) => self.woken.push(waker),
                        Reaped::Garbage(garbage, waker) => {
                            self.garbage.push(garbage);
                            self.woken.extend(waker);
                        }
                        Reaped::Nothing => {}
                    },
                }
            }
            // Dropping `cq` hands the reaped slots back to the kernel.
        }
        self.garbage.clear();
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
            Orphaned::Cancel if cancel => self.shared.cancel(id),
            Orphaned::Cancel => {}
            Orphaned::Done(garbage) => drop(garbage),
        }
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
