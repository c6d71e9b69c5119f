//! The io_uring completion driver, beside the epoll reactor (see `docs/design/io_uring.md`).
//!
//! **One ring per worker** (one on a current-thread runtime). A thread submits to its
//! *home* ring: a multi-thread worker's own ([`UringHandle::set_home`]), ring 0 for every
//! other thread. Any thread may push to any ring (the SQ sits behind a mutex: cancels go to
//! the op's ring, wakes to the sleeper's); only the holder of a ring's [`Reaper`] reaps its
//! completions or sleeps in it. So a worker's I/O completes on its own ring, where it sleeps
//! or which it turns between tasks, and the tasks those completions wake are queued on it:
//! no completion wakes a sibling that did not ask for it. Files: `ops` (the slab of
//! in-flight ops and their owned resources, shared by the rings; pure), `fs_ops` (the
//! file-system opcodes probed for `corio::fs`) and this file (the rings, the SQs, reaping,
//! cancellation and shutdown).
//!
//! # Invariants
//!
//! - **Memory the kernel may touch is owned by the slab** (see `ops`): every pointer in an
//!   SQE points into the [`Resources`] of its op's slot, which are freed only after the
//!   op's CQE was reaped — by the owner ([`UringHandle::poll_op`]) or, for an orphan, by the
//!   reaper ([`Reaper::dispatch`]). A driver dropped with ops still in the kernel leaks
//!   their resources (`Shared::drop`); it never frees them.
//! - **One `SubmissionQueue` per ring at a time**: `submission_shared` is only called under
//!   the ring's `sq` lock.
//! - **One `CompletionQueue` per ring at a time**: `completion_shared` is only called by a
//!   [`Reaper`], which holds the ring's `reaper` lock.
//! - **An op id names its ring** (`OpId::ring`): its cancel must be submitted there, and its
//!   provided buffers are that ring's.
//! - **An fd outlives its SQEs' submission**: the kernel resolves an SQE's fd when the
//!   SQE is submitted, not when it is pushed. An owner that closes an fd with ops pushed
//!   (ring sockets, a dropped connect) first calls [`UringHandle::flush`]; once submitted,
//!   the kernel holds its own reference to the file until the op completes.
//! - **No lost submissions**: a pusher publishes its SQE, then (SeqCst fence) reads the
//!   ring's `sleeping`; the sleeper stores `sleeping` (SeqCst) before `io_uring_enter` reads
//!   the SQ tail. So either the sleeper submits the entry, or the pusher sees the sleeper
//!   and submits it itself. Otherwise the ring's next turn submits it (batching).
//!
//! # Waking a parked ring
//!
//! An unpark ([`UringHandle::wake`]) pushes an `IORING_OP_NOP` to the sleeper's ring: its
//! completion wakes it. The no-lost-submission rule above covers it too: either the unparker
//! sees the sleeper and submits the nop itself, or the sleeper's own `enter` submits it and
//! returns at once.
//!
//! The runtime keeps its epoll reactor (for everything not ported to the ring). The thread
//! holding the runtime's driver keeps a one-shot `POLL_ADD` on the epoll fd armed in the
//! ring it sleeps in: any epoll event (or the epoll eventfd, the fallback unpark) completes
//! it. Whichever thread reaps that completion records it
//! ([`UringDriver::take_epoll_pending`]) and the driver's holder turns the epoll reactor
//! without waiting. (A poll left armed in another ring by an earlier holder only causes a
//! spurious wake: the epoll fd stays readable until the reactor is turned, so the
//! holder's own poll fires too.)

mod buf_ring;
mod fs_ops;
mod ops;

use std::cell::Cell;
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

thread_local! {
    /// The ring this thread submits to: (the runtime's `Shared`, ring index). A worker of a
    /// multi-thread runtime sets its own; every other thread uses ring 0.
    static HOME: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// Owned by the runtime's driver: shuts the rings down when dropped.
pub(crate) struct UringDriver {
    shared: Arc<Shared>,
}

/// The submitting side: any thread.
#[derive(Clone)]
pub(crate) struct UringHandle {
    shared: Arc<Shared>,
}

/// One io_uring instance: any thread pushes to its SQ; whoever holds `reaper` reaps its CQ
/// (and may sleep in it).
struct Ring {
    ring: IoUring,
    /// Guards the SQ; holds how many SQEs were ever pushed (so `flush` can tell when the
    /// kernel has consumed a given one, whatever other threads push meanwhile).
    sq: Mutex<u64>,
    /// A thread is (about to be) blocked in `io_uring_enter` on this ring.
    sleeping: AtomicBool,
    /// SQEs were pushed since the ring was last entered (a hint: a missed one waits for
    /// the next turn).
    unsubmitted: AtomicBool,
    /// The provided buffers multishot recvs on this ring fill; `None` where the kernel
    /// refused the registration (before 5.19).
    buf_ring: Option<Mutex<BufRing>>,
    /// Where the buffer ring's buffers start (fixed for its life): read without its lock.
    buffers: Option<BuffersBase>,
    /// The CQ's consumer: held while reaping or sleeping in the ring.
    reaper: Mutex<ReaperState>,
}

/// What the thread reaping a ring keeps between turns.
#[derive(Default)]
struct ReaperState {
    /// A poll on the epoll fd is in the kernel on this ring.
    epoll_armed: bool,
    woken: Vec<Waker>,
    garbage: Vec<Garbage>,
}

struct Shared {
    /// One ring per worker of a multi-thread runtime (one on a current-thread runtime).
    rings: Box<[Ring]>,
    ops: Mutex<Ops>,
    /// The epoll reactor the driver's holder keeps a poll on.
    epoll_fd: RawFd,
    /// A poll on the epoll fd completed (on any ring): the driver's holder turns the epoll
    /// reactor.
    epoll_pending: AtomicBool,
    /// Set at shutdown: no new ops.
    is_shutdown: AtomicBool,
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

impl Ring {
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
        } else if !self.unsubmitted.load(Relaxed) {
            self.unsubmitted.store(true, Relaxed);
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

    /// SQEs pushed and not yet handed to the kernel, and how many were ever pushed.
    fn queued(&self) -> (u64, u64) {
        let pushed = self.sq.lock().unwrap_or_else(PoisonError::into_inner);
        // SAFETY: `sq` is held, so this is the only SubmissionQueue in existence.
        let queued = unsafe { self.ring.submission_shared() }.len() as u64;
        (queued, *pushed)
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
        let (queued, target) = self.queued();
        if queued == 0 {
            return true;
        }
        for _ in 0..3 {
            if self.submit().is_err() {
                break;
            }
            let (queued, pushed) = self.queued();
            if pushed - queued >= target {
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

    fn recycle(&self, buffers: &[u16]) {
        if let Some(ring) = &self.buf_ring {
            let mut ring = ring.lock().unwrap_or_else(PoisonError::into_inner);
            for &bid in buffers {
                ring.recycle(bid);
            }
        }
    }
}

impl Shared {
    fn ops(&self) -> MutexGuard<'_, Ops> {
        // The slab is only changed by code that cannot panic halfway.
        self.ops.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The ring this thread submits to.
    fn home(&self) -> usize {
        let (shared, ring) = HOME.with(Cell::get);
        if shared == self as *const Shared as usize {
            ring
        } else {
            0
        }
    }

    /// Recycles garbage's provided buffers (they belong to `ring`), then drops the rest
    /// (closing fds).
    fn dispose(&self, ring: usize, mut garbage: Garbage) {
        let buffers = garbage.take_buffers();
        if !buffers.is_empty() {
            self.recycle(ring, &buffers);
        }
        drop(garbage);
    }

    fn recycle(&self, ring: usize, buffers: &[u16]) {
        self.rings[ring].recycle(buffers);
        #[cfg(test)]
        self.checked_out.fetch_sub(buffers.len() as isize, SeqCst);
    }

    fn cancel(&self, id: OpId) {
        let entry = opcode::AsyncCancel::new(id.0)
            .build()
            .user_data(CANCEL_TOKEN);
        // SAFETY: a cancel carries no pointers. It goes to the op's own ring: a cancel only
        // finds ops of the ring it is submitted to.
        if let Err(err) = unsafe { self.rings[id.ring()].push(&entry) } {
            // The op then completes on its own; its orphaned resources are freed then.
            tracing::debug!(error = %err, "corio: could not submit an io_uring cancel");
        }
    }

    /// Hands every SQE queued so far, on every ring, to the kernel; see `Ring::flush`.
    fn flush(&self) -> bool {
        self.rings.iter().all(Ring::flush)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The rings (a later field's drop closes them) go after this; ops the kernel never
        // completed keep their memory forever rather than have it freed under a pending
        // write.
        let ops = self.ops.get_mut().unwrap_or_else(PoisonError::into_inner);
        if ops.in_flight() > 0 {
            // A multishot recv still in the kernel may yet pick a provided buffer.
            for ring in self.rings.iter_mut() {
                std::mem::forget(ring.buf_ring.take());
            }
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

impl Ring {
    fn new(ring: IoUring, with_buffers: bool) -> Ring {
        let buf_ring = if with_buffers {
            match register_buf_ring(&ring) {
                Ok(buf_ring) => Some(Mutex::new(buf_ring)),
                Err(err) => {
                    tracing::debug!(
                        target: "corio::driver",
                        error = %err,
                        "corio: no provided-buffer ring; recvs are single-shot"
                    );
                    None
                }
            }
        } else {
            None
        };
        Ring {
            buffers: buf_ring.as_ref().map(|ring| {
                BuffersBase(ring.lock().unwrap_or_else(PoisonError::into_inner).base())
            }),
            buf_ring,
            ring,
            sq: Mutex::new(0),
            sleeping: AtomicBool::new(false),
            unsubmitted: AtomicBool::new(false),
            reaper: Mutex::new(ReaperState::default()),
        }
    }
}

impl UringDriver {
    /// A driver with `rings` fresh rings (one per worker; at least one); `epoll_fd` is the
    /// epoll reactor it keeps a poll on.
    pub(crate) fn new(epoll_fd: RawFd, rings: usize) -> io::Result<(UringDriver, UringHandle)> {
        let rings = rings.clamp(1, ops::MAX_RINGS);
        let first = Ring::new(probe()?, true);
        let fs_ops = FsOps::probe(&first.ring);
        let with_buffers = first.buf_ring.is_some();
        let mut all = vec![first];
        for _ in 1..rings {
            let ring = Ring::new(probe()?, with_buffers);
            if ring.buf_ring.is_none() && with_buffers {
                // The kernel took the first registration: a later refusal is a real error.
                return Err(io::Error::other(
                    "corio: could not register a provided-buffer ring",
                ));
            }
            all.push(ring);
        }
        let multishot = std::env::var_os("CORIO_URING_SINGLESHOT").is_none();
        let shared = Arc::new(Shared {
            rings: all.into_boxed_slice(),
            ops: Mutex::new(Ops::default()),
            epoll_fd,
            epoll_pending: AtomicBool::new(false),
            is_shutdown: AtomicBool::new(false),
            multishot_recv: AtomicBool::new(multishot && with_buffers),
            multishot_accept: AtomicBool::new(multishot),
            #[cfg(test)]
            checked_out: std::sync::atomic::AtomicIsize::new(0),
            fs_ops,
        });
        Ok((
            UringDriver {
                shared: shared.clone(),
            },
            UringHandle { shared },
        ))
    }

    /// The reaping side of ring `ring`, unless another thread holds it.
    pub(crate) fn try_reap(&self, ring: usize) -> Option<Reaper<'_>> {
        Reaper::try_new(&self.shared, ring)
    }

    /// A poll on the epoll fd completed since the last call: turn the epoll reactor.
    pub(crate) fn take_epoll_pending(&self) -> bool {
        self.shared.epoll_pending.load(Relaxed) && self.shared.epoll_pending.swap(false, SeqCst)
    }

    /// Ring 0's `Reaper::wait`, watching the epoll fd (tests drive a one-ring driver so).
    #[cfg(test)]
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.try_reap(0)
            .expect("ring 0 is free")
            .wait(timeout, true)
    }

    /// Ring 0's `Reaper::dispatch`; true if the epoll poll fired.
    #[cfg(test)]
    pub(crate) fn dispatch(&mut self) -> bool {
        self.try_reap(0).expect("ring 0 is free").dispatch();
        self.take_epoll_pending()
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
            for index in 0..self.shared.rings.len() {
                if let Some(mut reaper) = self.try_reap(index) {
                    let _ = reaper.wait(Some(Duration::ZERO), false);
                    reaper.dispatch();
                }
            }
            let left = self.shared.ops().in_flight();
            if left == 0 || Instant::now() >= deadline {
                if left > 0 {
                    tracing::warn!(
                        ops = left,
                        "corio: io_uring ops still in the kernel at shutdown; their buffers are leaked"
                    );
                }
                break;
            }
            // Sleep on ring 0 briefly; completions on the others are picked up next round.
            if let Some(mut reaper) = self.try_reap(0) {
                let _ = reaper.wait(Some(Duration::from_millis(2)), false);
            } else {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

impl Drop for UringDriver {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The consumer of one ring's CQ, held while a thread reaps or sleeps in that ring. At most
/// one exists per ring (it holds the ring's `reaper` lock).
pub(crate) struct Reaper<'a> {
    shared: &'a Shared,
    index: usize,
    ring: &'a Ring,
    state: MutexGuard<'a, ReaperState>,
}

impl<'a> Reaper<'a> {
    fn try_new(shared: &'a Shared, index: usize) -> Option<Reaper<'a>> {
        let ring = shared.rings.get(index)?;
        let state = match ring.reaper.try_lock() {
            Ok(state) => state,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(Reaper {
            shared,
            index,
            ring,
            state,
        })
    }

    /// Which ring this reaps.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Submits what is queued on this ring and waits up to `timeout` (`None`: no limit)
    /// for at least one completion, a wake, or (with `watch_epoll`: the runtime driver's
    /// holder) an epoll event. `Some(ZERO)` only submits.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>, watch_epoll: bool) -> io::Result<()> {
        if watch_epoll && !self.state.epoll_armed {
            let entry = opcode::PollAdd::new(types::Fd(self.shared.epoll_fd), libc::POLLIN as u32)
                .build()
                .user_data(EPOLL_TOKEN);
            // SAFETY: a poll carries no pointers; the epoll fd outlives the driver (the
            // runtime's `Driver` owns both and drops the rings first).
            unsafe { self.ring.push(&entry)? };
            self.state.epoll_armed = true;
        }
        let ring = self.ring;
        ring.unsubmitted.store(false, Relaxed);
        let submitter = ring.ring.submitter();
        let result = match timeout {
            Some(Duration::ZERO) => {
                if ring.nothing_to_enter_for() {
                    return Ok(());
                }
                submitter.submit_with_args(0, &types::SubmitArgs::new())
            }
            _ => {
                ring.sleeping.store(true, SeqCst);
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
                ring.sleeping.store(false, SeqCst);
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

    /// Reaps every completion of this ring, wakes the owners and frees orphans. A completed
    /// epoll poll is recorded for the runtime driver's holder
    /// ([`UringDriver::take_epoll_pending`]).
    pub(crate) fn dispatch(&mut self) {
        let shared = self.shared;
        let state = &mut *self.state;
        let cancels = {
            let mut ops = shared.ops();
            // SAFETY: the ring's `reaper` lock is held (this `Reaper`): this is the only
            // CompletionQueue of this ring in existence.
            let cq = unsafe { self.ring.ring.completion_shared() };
            for cqe in cq {
                match cqe.user_data() {
                    EPOLL_TOKEN => {
                        state.epoll_armed = false;
                        shared.epoll_pending.store(true, SeqCst);
                    }
                    CANCEL_TOKEN | WAKE_TOKEN => {}
                    user_data => {
                        #[cfg(test)]
                        if io_uring::cqueue::buffer_select(cqe.flags()).is_some() {
                            shared.checked_out.fetch_add(1, SeqCst);
                        }
                        match ops.complete(user_data, cqe.result(), cqe.flags()) {
                            Reaped::Wake(waker) => state.woken.push(waker),
                            Reaped::Garbage(garbage, waker) => {
                                state.garbage.push(garbage);
                                state.woken.extend(waker);
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
            shared.cancel(id);
        }
        for garbage in state.garbage.drain(..) {
            // A CQE arrives on its op's own ring: the garbage's buffers are this ring's.
            shared.dispose(self.index, garbage);
        }
        for waker in state.woken.drain(..) {
            waker.wake();
        }
    }
}

/// Makes the current thread submit to one ring of a runtime until dropped.
pub(crate) struct HomeGuard {
    previous: (usize, usize),
}

impl Drop for HomeGuard {
    fn drop(&mut self) {
        HOME.with(|home| home.set(self.previous));
    }
}

impl UringHandle {
    /// How many rings the runtime has (one per worker).
    pub(crate) fn rings(&self) -> usize {
        self.shared.rings.len()
    }

    /// From now until the guard is dropped, ops this thread starts go to ring `ring` (a
    /// worker's own, which it reaps and sleeps in): their completions then come back to
    /// the thread that runs the tasks waiting for them.
    pub(crate) fn set_home(&self, ring: usize) -> HomeGuard {
        let ring = ring.min(self.shared.rings.len() - 1);
        let previous = HOME.with(|home| home.replace((Arc::as_ptr(&self.shared) as usize, ring)));
        HomeGuard { previous }
    }

    /// The reaping side of ring `ring`, unless another thread holds it.
    pub(crate) fn try_reap(&self, ring: usize) -> Option<Reaper<'_>> {
        Reaper::try_new(&self.shared, ring)
    }

    /// A poll on the epoll fd completed and the driver's holder has not turned epoll yet.
    pub(crate) fn epoll_pending(&self) -> bool {
        self.shared.epoll_pending.load(Relaxed)
    }

    /// Starts an op on this thread's ring: `resources` move into the slab, then `build`
    /// makes the SQE from them (pointers into `resources` stay valid: the slab never moves
    /// heap memory).
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
        let ring = self.shared.home();
        let (id, entry) = {
            let mut ops = self.shared.ops();
            let id = ops.insert(ring as u8, resources, result_is_fd);
            let resources = ops.resources_mut(id).expect("just inserted");
            (id, build(resources).user_data(id.0))
        };
        // SAFETY: the entry's pointers point into the slot's resources (the caller's
        // promise), which stay in the slab until the CQE is reaped.
        if let Err(err) = unsafe { self.shared.rings[ring].push(&entry) } {
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
                    self.shared.dispose(id.ring(), garbage);
                }
            }
            Orphaned::Done(garbage) => {
                if let Some(garbage) = garbage {
                    self.shared.dispose(id.ring(), garbage);
                }
            }
        }
    }

    /// Starts a multishot op of `kind` on this thread's ring: its results queue until
    /// taken with [`poll_shot`](Self::poll_shot).
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
        let ring = self.shared.home();
        let id = self.shared.ops().insert_multishot(ring as u8, kind, limit);
        let entry = build().user_data(id.0);
        // SAFETY: the entry carries no pointers (the caller's promise).
        if let Err(err) = unsafe { self.shared.rings[ring].push(&entry) } {
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

    /// The bytes a recv shot of op `id` put into provided buffer `bid`.
    ///
    /// # Safety
    /// `bid` must come from a shot of `id` that reported `len` bytes, and must not be
    /// recycled while the returned pointer is used.
    pub(crate) unsafe fn provided(&self, id: OpId, bid: u16, len: usize) -> *const u8 {
        let buffers = self.shared.rings[id.ring()]
            .buffers
            .expect("a recv shot implies the buffer ring");
        debug_assert!(
            usize::from(bid) < usize::from(buf_ring::ENTRIES) && len <= buf_ring::BUF_SIZE
        );
        // SAFETY: a shot's `bid` is below `ENTRIES`, so the offset is inside the buffers'
        // allocation (which lives as long as `shared`); the rest is the caller's promise.
        unsafe { buffers.0.add(usize::from(bid) * buf_ring::BUF_SIZE) }
    }

    /// The provided buffers of op `id`'s ring ran out: hands the kernel more. False if all
    /// are in use.
    pub(crate) fn grow_buffers(&self, id: OpId) -> bool {
        self.shared.rings[id.ring()]
            .buf_ring
            .as_ref()
            .is_some_and(|ring| ring.lock().unwrap_or_else(PoisonError::into_inner).grow())
    }

    /// Hands provided buffer `bid`, filled by a shot of op `id`, back to the kernel.
    pub(crate) fn recycle(&self, id: OpId, bid: u16) {
        self.shared.recycle(id.ring(), &[bid]);
    }

    /// Wakes the thread asleep in ring `ring` (or makes its next wait return at once): a
    /// no-op whose completion it cannot miss. Unparks are not counted.
    pub(crate) fn wake(&self, ring: usize) -> io::Result<()> {
        let entry = opcode::Nop::new().build().user_data(WAKE_TOKEN);
        // SAFETY: a no-op carries no pointers.
        unsafe { self.shared.rings[ring].push(&entry) }
    }

    /// Hands what was pushed to ring `ring` since its last turn to the kernel now, without
    /// reaping: a busy worker does so when an idle sibling could act on the completions
    /// (otherwise they wait for the worker's next turn, and the sibling with them).
    pub(crate) fn submit_pushed(&self, ring: usize) {
        let ring = &self.shared.rings[ring];
        if ring.unsubmitted.load(Relaxed) {
            ring.unsubmitted.store(false, Relaxed);
            if let Err(err) = ring.submit() {
                tracing::debug!(error = %err, "corio: io_uring submit failed; the next turn retries");
            }
        }
    }

    /// Submits every queued SQE now; see `Ring::flush`. An owner closing an fd that its
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
            .field("rings", &self.shared.rings.len())
            .field("in_flight", &self.shared.ops().in_flight())
            .finish()
    }
}

impl std::fmt::Debug for UringDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringDriver")
            .field("rings", &self.shared.rings.len())
            .finish_non_exhaustive()
    }
}

fn shutdown_error() -> io::Error {
    io::Error::other("corio: the I/O driver has shut down")
}

#[cfg(all(test, not(loom), not(miri)))] // io_uring syscalls
mod tests;
