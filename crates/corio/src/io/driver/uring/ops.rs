//! The slab of in-flight ring operations; pure bookkeeping, no syscalls.
//!
//! An op's `user_data` is `generation << 32 | index`, the epoll slab's token scheme: freeing a
//! slot bumps its generation, so a completion (or a cancel) naming a freed op is ignored
//! instead of touching whichever op reuses the slot. Reserved ids (`u64::MAX - n`) are never
//! produced: the index is below `u32::MAX` and generation `u32::MAX` is skipped.
//!
//! # Ownership (the invariant the unsafe code in `uring/` leans on)
//!
//! An op's [`Resources`] — every buffer and struct whose address went into its SQE — are moved
//! into its slot *before* the SQE is pushed and leave the slot only:
//! - with the completion, through [`Ops::take_completed`] (the CQE was reaped: the kernel is
//!   done with them), or
//! - when [`Ops::complete`] reaps the CQE of an orphaned op, or
//! - via [`Ops::leak_in_flight`] (never freed: the ring is going away with the op unreaped).
//!
//! The heap addresses never move while in the slot: a `Vec`'s buffer and a `Box`'s contents
//! stay put when the `Vec`/`Box` itself is moved.
//!
//! # Multishot ops
//!
//! A multishot op (accept, recv into the provided-buffer ring) posts one CQE per result,
//! each flagged `MORE` but the last. Its slot queues them ([`Shot`]s) until the owner takes
//! them with [`Ops::take_shot`]; the slot is freed when the last one is taken. The results
//! own something — an accepted fd, a checked-out provided buffer — so an orphan's shots,
//! queued or still to come, become [`Garbage`]: fds closed, buffer ids handed back to the
//! driver to recycle.

use std::collections::VecDeque;
use std::os::fd::{FromRawFd, OwnedFd};
use std::task::Waker;

/// Names one in-flight op (its `user_data`): the slot's generation (high 32 bits), the
/// ring it was submitted to (8 bits; its cancel and its provided buffers belong there) and
/// the slot's index (low 24 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OpId(pub(super) u64);

const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// How many rings op ids can name.
pub(crate) const MAX_RINGS: usize = 256;

impl OpId {
    fn new(generation: u32, ring: u8, index: u32) -> OpId {
        debug_assert!(u64::from(index) <= INDEX_MASK);
        OpId(u64::from(generation) << 32 | u64::from(ring) << INDEX_BITS | u64::from(index))
    }

    /// The ring this op was submitted to.
    pub(crate) fn ring(self) -> usize {
        ((self.0 >> INDEX_BITS) & 0xff) as usize
    }

    fn index(self) -> usize {
        (self.0 & INDEX_MASK) as usize
    }

    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// What the kernel may read or write until the op's CQE is reaped.
#[derive(Debug, Default)]
pub(crate) enum Resources {
    #[default]
    None,
    /// A recv target (the kernel writes into the spare capacity; the completion's count
    /// becomes the length) or a send source (initialised bytes, `..len`).
    Buf(Vec<u8>),
    /// The peer address an accept fills in.
    Accept(Box<AcceptAddr>),
    /// The address a connect reads.
    Addr(Box<socket2::SockAddr>),
    /// The path an open reads (`corio::fs`).
    Path(std::ffi::CString),
    /// The path a statx reads and the buffer it fills (`corio::fs`).
    Statx(Box<super::fs_ops::StatxBuf>),
}

/// A `sockaddr_storage` (socket2's transparent wrapper) plus the length the kernel updates.
pub(crate) struct AcceptAddr {
    pub(crate) storage: socket2::SockAddrStorage,
    pub(crate) len: libc::socklen_t,
}

impl AcceptAddr {
    pub(crate) fn new() -> Box<AcceptAddr> {
        let storage = socket2::SockAddrStorage::zeroed();
        let len = storage.size_of();
        Box::new(AcceptAddr { storage, len })
    }
}

impl std::fmt::Debug for AcceptAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptAddr")
            .field("len", &self.len)
            .finish()
    }
}

/// A reaped op: the raw CQE result (`>= 0` success, `-errno`) and its resources back.
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) result: i32,
    pub(crate) resources: Resources,
}

impl Completion {
    /// The result as `io::Result`: a non-negative count/fd, or the errno.
    #[cfg(test)]
    pub(crate) fn io_result(&self) -> std::io::Result<u32> {
        if self.result < 0 {
            Err(std::io::Error::from_raw_os_error(-self.result))
        } else {
            Ok(self.result as u32)
        }
    }
}

/// One completion of a multishot op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shot {
    pub(crate) result: i32,
    pub(crate) flags: u32,
}

impl Shot {
    /// More completions follow (the op is still in the kernel).
    pub(crate) fn more(&self) -> bool {
        io_uring::cqueue::more(self.flags)
    }

    /// The provided buffer this completion filled, if any.
    pub(crate) fn buffer(&self) -> Option<u16> {
        io_uring::cqueue::buffer_select(self.flags)
    }
}

/// What a multishot op's results hold, so an unclaimed one is disposed of properly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShotKind {
    /// A new fd per successful result.
    Accept,
    /// A provided buffer per result that carries one.
    Recv,
}

#[derive(Debug)]
struct Shots {
    kind: ShotKind,
    queue: VecDeque<Shot>,
    /// Results queued before the op is stopped: an owner that falls behind (or never polls)
    /// must not take every provided buffer, nor accept without bound. It re-arms once it
    /// has taken the queue (ending with the `ECANCELED` result).
    limit: usize,
    cancelling: bool,
}

#[derive(Debug)]
enum State {
    /// In the kernel; the waker of the task waiting for it, if any.
    Submitted(Option<Waker>),
    /// The CQE was reaped; waiting for the owner to take it.
    Completed(i32),
    /// The owner is gone; the reaper frees the resources when the CQE comes.
    Orphaned,
}

#[derive(Debug)]
struct Op {
    /// The ring the op was submitted to.
    ring: u8,
    state: State,
    resources: Resources,
    /// A successful result is a new fd (accept): an orphan's must be closed, not leaked.
    result_is_fd: bool,
    /// Run by the reaper once the op completes (a shutdown waiting for a send).
    after: Option<AfterSend>,
    /// A multishot op's results not yet taken.
    shots: Option<Shots>,
}

/// A `shutdown(2)` to run once a send of `expected` bytes completed in full: what
/// `TcpStream::shutdown` does on the ring when a send is still in the kernel. The fd is a
/// `dup` owned here, so the socket's own fd may be closed (and its number reused) meanwhile.
#[derive(Debug)]
pub(crate) struct AfterSend {
    pub(crate) fd: std::os::fd::OwnedFd,
    pub(crate) how: std::net::Shutdown,
    pub(crate) expected: usize,
}

impl AfterSend {
    fn run_if_complete(self, result: i32) {
        if usize::try_from(result).is_ok_and(|n| n == self.expected) {
            // The socket's own shutdown reports errors; here a failure (the peer is gone)
            // leaves nothing to do.
            let _ = socket2::SockRef::from(&self.fd).shutdown(self.how);
        }
    }
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    op: Option<Op>,
}

/// What [`Ops::complete`] found.
pub(crate) enum Reaped {
    /// The owner waits: wake it.
    Wake(Waker),
    /// Nothing to do now (no waker registered, or a stale id).
    Nothing,
    /// Drop this outside the lock: an orphan's remains (frees buffers, closes an accepted
    /// fd), or a deferred shutdown to run; plus the owner's waker, if any.
    Garbage(Garbage, Option<Waker>),
}

/// The remains of an orphaned op, or the after-action of a completed one; run by `Drop`.
pub(crate) struct Garbage {
    _resources: Resources,
    fds: Vec<OwnedFd>,
    after: Option<(AfterSend, i32)>,
    /// Provided buffers to recycle (the driver takes them before dropping the rest).
    buffers: Vec<u16>,
}

impl Garbage {
    fn empty() -> Garbage {
        Garbage {
            _resources: Resources::None,
            fds: Vec::new(),
            after: None,
            buffers: Vec::new(),
        }
    }

    /// The provided buffers this garbage holds; they go back to the buffer ring.
    pub(crate) fn take_buffers(&mut self) -> Vec<u16> {
        std::mem::take(&mut self.buffers)
    }

    fn add_shot(&mut self, kind: ShotKind, shot: Shot) {
        match kind {
            ShotKind::Accept if shot.result >= 0 => {
                // SAFETY: a successful accept's result is a new fd that nobody else knows
                // of: its owner is gone, so it is ours to close.
                self.fds.push(unsafe { OwnedFd::from_raw_fd(shot.result) });
            }
            ShotKind::Accept => {}
            ShotKind::Recv => self.buffers.extend(shot.buffer()),
        }
    }
}

impl Drop for Garbage {
    fn drop(&mut self) {
        if let Some((after, result)) = self.after.take() {
            after.run_if_complete(result);
        }
        self.fds.clear();
    }
}

/// What [`Ops::orphan`] decided.
pub(crate) enum Orphaned {
    /// Still in the kernel: submit a cancel for it (and dispose of a multishot op's queued
    /// results, if any).
    Cancel(Option<Garbage>),
    /// Already completed (or unknown): nothing left in the kernel. Drop outside the lock.
    Done(Option<Garbage>),
}

#[derive(Debug, Default)]
pub(crate) struct Ops {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Ops whose CQE has not been reaped yet (submitted or orphaned).
    in_flight: usize,
    /// Multishot ops whose queue reached its limit: the reaper cancels them.
    to_cancel: Vec<OpId>,
}

impl Ops {
    pub(crate) fn insert(&mut self, ring: u8, resources: Resources, result_is_fd: bool) -> OpId {
        self.insert_op(Op {
            ring,
            state: State::Submitted(None),
            resources,
            result_is_fd,
            after: None,
            shots: None,
        })
    }

    /// A multishot op: its results queue in the slot until taken.
    pub(crate) fn insert_multishot(&mut self, ring: u8, kind: ShotKind, limit: usize) -> OpId {
        self.insert_op(Op {
            ring,
            state: State::Submitted(None),
            resources: Resources::None,
            result_is_fd: false,
            after: None,
            shots: Some(Shots {
                kind,
                queue: VecDeque::new(),
                limit,
                cancelling: false,
            }),
        })
    }

    fn insert_op(&mut self, op: Op) -> OpId {
        self.in_flight += 1;
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    op: None,
                });
                let index = self.slots.len() - 1;
                assert!(
                    index as u64 <= INDEX_MASK,
                    "corio: too many ring operations in flight"
                );
                index as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        let ring = op.ring;
        slot.op = Some(op);
        OpId::new(slot.generation, ring, index)
    }

    /// Gives the resources of an op back before it reached the kernel (its SQE was never
    /// pushed).
    pub(crate) fn remove_unsubmitted(&mut self, id: OpId) -> Option<Resources> {
        let op = self.free_slot(id)?;
        self.in_flight -= 1;
        Some(op.resources)
    }

    /// A resource pointer into the op's slot, for building its SQE.
    pub(crate) fn resources_mut(&mut self, id: OpId) -> Option<&mut Resources> {
        self.slot_mut(id)?.op.as_mut().map(|op| &mut op.resources)
    }

    /// Records the CQE of `user_data`.
    pub(crate) fn complete(&mut self, user_data: u64, result: i32, flags: u32) -> Reaped {
        let id = OpId(user_data);
        let Some(op) = self.slot_mut(id).and_then(|slot| slot.op.as_mut()) else {
            return Reaped::Nothing;
        };
        if op.shots.is_some() {
            return self.complete_shot(id, Shot { result, flags });
        }
        let after = op.after.take();
        match std::mem::replace(&mut op.state, State::Completed(result)) {
            State::Submitted(waker) => {
                self.in_flight -= 1;
                match after {
                    Some(after) => {
                        let mut garbage = Garbage::empty();
                        garbage.after = Some((after, result));
                        Reaped::Garbage(garbage, waker)
                    }
                    None => waker.map_or(Reaped::Nothing, Reaped::Wake),
                }
            }
            State::Orphaned => {
                self.in_flight -= 1;
                let mut op = self.free_slot(id).expect("the slot was just found");
                op.after = after;
                Reaped::Garbage(garbage(op, result), None)
            }
            // A second CQE for a single-shot op cannot happen; keep the first.
            State::Completed(first) => {
                op.state = State::Completed(first);
                Reaped::Nothing
            }
        }
    }

    fn complete_shot(&mut self, id: OpId, shot: Shot) -> Reaped {
        let op = self
            .slot_mut(id)
            .and_then(|slot| slot.op.as_mut())
            .expect("the caller found the op");
        let shots = op.shots.as_mut().expect("a multishot op");
        let last = !shot.more();
        match &mut op.state {
            State::Submitted(waker) => {
                shots.queue.push_back(shot);
                let waker = waker.take();
                if last {
                    op.state = State::Completed(shot.result);
                    self.in_flight -= 1;
                } else if shots.queue.len() >= shots.limit && !shots.cancelling {
                    shots.cancelling = true;
                    self.to_cancel.push(id);
                }
                waker.map_or(Reaped::Nothing, Reaped::Wake)
            }
            State::Orphaned => {
                let mut garbage = Garbage::empty();
                garbage.add_shot(shots.kind, shot);
                if last {
                    self.in_flight -= 1;
                    self.free_slot(id);
                }
                Reaped::Garbage(garbage, None)
            }
            // The last CQE came already; nothing follows it.
            State::Completed(_) => Reaped::Nothing,
        }
    }

    /// The multishot ops to cancel for having too many results queued.
    pub(crate) fn take_cancels(&mut self) -> Vec<OpId> {
        std::mem::take(&mut self.to_cancel)
    }

    /// The next result of the multishot op `id`, oldest first (the last one frees the
    /// slot); otherwise stores `waker` and returns `None`.
    /// With the result comes how many more are queued behind it.
    pub(crate) fn take_shot(&mut self, id: OpId, waker: Option<&Waker>) -> Option<(Shot, usize)> {
        let op = self.slot_mut(id)?.op.as_mut()?;
        let shots = op.shots.as_mut()?;
        if let Some(shot) = shots.queue.pop_front() {
            let queued = shots.queue.len();
            if !shot.more() {
                self.free_slot(id);
            }
            return Some((shot, queued));
        }
        if let (State::Submitted(slot), Some(waker)) = (&mut op.state, waker) {
            match slot {
                Some(old) if old.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
        None
    }

    /// The completion of `id` if its CQE was reaped (freeing the slot); otherwise stores
    /// `waker` and returns `None`.
    pub(crate) fn take_completed(&mut self, id: OpId, waker: Option<&Waker>) -> Option<Completion> {
        let op = self.slot_mut(id)?.op.as_mut()?;
        match &mut op.state {
            State::Completed(result) => {
                let result = *result;
                let op = self.free_slot(id).expect("the slot was just found");
                Some(Completion {
                    result,
                    resources: op.resources,
                })
            }
            State::Submitted(slot) => {
                if let Some(waker) = waker {
                    match slot {
                        Some(old) if old.will_wake(waker) => {}
                        _ => *slot = Some(waker.clone()),
                    }
                }
                None
            }
            State::Orphaned => None,
        }
    }

    /// Attaches `after` to a send still in the kernel; gives it back if the op already
    /// completed (the owner then takes the completion and acts itself).
    pub(crate) fn set_after(&mut self, id: OpId, after: AfterSend) -> Result<(), AfterSend> {
        match self.slot_mut(id).and_then(|slot| slot.op.as_mut()) {
            Some(op) if matches!(op.state, State::Submitted(_)) => {
                op.after = Some(after);
                Ok(())
            }
            _ => Err(after),
        }
    }

    /// The owner of `id` is gone.
    pub(crate) fn orphan(&mut self, id: OpId) -> Orphaned {
        let Some(op) = self.slot_mut(id).and_then(|slot| slot.op.as_mut()) else {
            return Orphaned::Done(None);
        };
        let queued = op.shots.as_mut().map(|shots| {
            let mut garbage = Garbage::empty();
            for shot in shots.queue.drain(..) {
                garbage.add_shot(shots.kind, shot);
            }
            garbage
        });
        match op.state {
            State::Submitted(_) => {
                op.state = State::Orphaned;
                Orphaned::Cancel(queued)
            }
            State::Completed(_) if queued.is_some() => {
                self.free_slot(id);
                Orphaned::Done(queued)
            }
            State::Completed(result) => {
                let op = self.free_slot(id).expect("the slot was just found");
                Orphaned::Done(Some(garbage(op, result)))
            }
            State::Orphaned => Orphaned::Done(None),
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Every op still in the kernel, for the cancels at shutdown.
    pub(crate) fn in_flight_ids(&self) -> Vec<OpId> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| match &slot.op {
                Some(
                    op @ Op {
                        state: State::Submitted(_) | State::Orphaned,
                        ..
                    },
                ) => Some(OpId::new(slot.generation, op.ring, index as u32)),
                _ => None,
            })
            .collect()
    }

    /// The wakers of every op still in the kernel (shutdown wakes them to fail).
    pub(crate) fn take_wakers(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for slot in &mut self.slots {
            if let Some(Op {
                state: State::Submitted(waker),
                ..
            }) = &mut slot.op
                && let Some(waker) = waker.take()
            {
                wakers.push(waker);
            }
        }
        wakers
    }

    /// Forgets the resources of every op whose CQE never came: the kernel may still write
    /// into them, so they must never be freed. Called only when the ring goes away.
    pub(crate) fn leak_in_flight(&mut self) {
        for slot in &mut self.slots {
            if let Some(op) = slot
                .op
                .take_if(|op| !matches!(op.state, State::Completed(_)))
            {
                std::mem::forget(op.resources);
            }
        }
        self.in_flight = 0;
    }

    fn slot_mut(&mut self, id: OpId) -> Option<&mut Slot> {
        self.slots
            .get_mut(id.index())
            .filter(|slot| slot.generation == id.generation())
            .filter(|slot| {
                slot.op
                    .as_ref()
                    .is_none_or(|op| usize::from(op.ring) == id.ring())
            })
    }

    fn free_slot(&mut self, id: OpId) -> Option<Op> {
        let index = id.index() as u32;
        let slot = self.slot_mut(id)?;
        let op = slot.op.take()?;
        // Skip u32::MAX so no id reaches the reserved range at the top of u64.
        slot.generation = match slot.generation.wrapping_add(1) {
            u32::MAX => 0,
            next => next,
        };
        self.free.push(index);
        Some(op)
    }
}

fn garbage(mut op: Op, result: i32) -> Garbage {
    let fd = (op.result_is_fd && result >= 0).then(|| {
        // SAFETY: a successful accept's result is a new fd that nobody else knows of: its
        // owner is gone, so it is ours to close.
        unsafe { OwnedFd::from_raw_fd(result) }
    });
    Garbage {
        after: op.after.take().map(|after| (after, result)),
        _resources: op.resources,
        fds: fd.into_iter().collect(),
        buffers: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn complete_then_take() {
        let mut ops = Ops::default();
        let id = ops.insert(0, Resources::Buf(vec![0; 4]), false);
        assert_eq!(ops.in_flight(), 1);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        assert!(ops.take_completed(id, Some(&waker)).is_none());
        match ops.complete(id.0, 3, 0) {
            Reaped::Wake(w) => w.wake(),
            _ => panic!("expected a waker"),
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(ops.in_flight(), 0);
        let done = ops.take_completed(id, None).unwrap();
        assert_eq!(done.io_result().unwrap(), 3);
        assert!(matches!(done.resources, Resources::Buf(b) if b.len() == 4));
        // The slot is free and its generation moved on: the old id is stale.
        assert!(ops.take_completed(id, None).is_none());
        assert!(matches!(ops.complete(id.0, 1, 0), Reaped::Nothing));
        let again = ops.insert(0, Resources::None, false);
        assert_ne!(again, id);
    }

    #[test]
    fn an_id_names_its_ring_and_another_ring_cannot_claim_it() {
        let mut ops = Ops::default();
        let on_three = ops.insert(3, Resources::None, false);
        let on_zero = ops.insert(0, Resources::None, false);
        assert_eq!((on_three.ring(), on_zero.ring()), (3, 0));
        assert_eq!(ops.in_flight_ids(), vec![on_three, on_zero]);
        // The same slot and generation on another ring is a different (stale) id.
        let forged = OpId::new(on_three.generation(), 4, on_three.index() as u32);
        assert!(matches!(ops.complete(forged.0, 1, 0), Reaped::Nothing));
        assert_eq!(ops.in_flight(), 2);
        assert!(matches!(ops.complete(on_three.0, 1, 0), Reaped::Nothing));
        assert_eq!(ops.take_completed(on_three, None).unwrap().result, 1);
    }

    #[test]
    fn orphan_before_and_after_completion() {
        let mut ops = Ops::default();
        let a = ops.insert(0, Resources::Buf(vec![1]), false);
        assert!(matches!(ops.orphan(a), Orphaned::Cancel(None)));
        assert_eq!(ops.in_flight(), 1, "still in the kernel");
        assert!(matches!(
            ops.complete(a.0, -libc::ECANCELED, 0),
            Reaped::Garbage(_, None)
        ));
        assert_eq!(ops.in_flight(), 0);

        let b = ops.insert(0, Resources::None, false);
        assert!(matches!(ops.complete(b.0, 0, 0), Reaped::Nothing));
        assert!(matches!(ops.orphan(b), Orphaned::Done(Some(_))));
        assert!(ops.in_flight_ids().is_empty());
    }

    #[test]
    #[cfg_attr(miri, ignore)] // opens a socket pair
    fn orphaned_accept_closes_its_fd() {
        use std::io::Read;
        use std::os::fd::IntoRawFd;
        let mut ops = Ops::default();
        let id = ops.insert(0, Resources::Accept(AcceptAddr::new()), true);
        ops.orphan(id);
        // The "accepted" connection; its closing shows as EOF at the peer. (Checking the fd
        // number instead races with the fds other tests open meanwhile, which reuse it.)
        let (mut peer, accepted) = std::os::unix::net::UnixStream::pair().unwrap();
        let raw = accepted.into_raw_fd();
        let Reaped::Garbage(garbage, _) = ops.complete(id.0, raw, 0) else {
            panic!("expected garbage");
        };
        drop(garbage);
        peer.set_nonblocking(true).unwrap();
        assert!(matches!(peer.read(&mut [0u8; 1]), Ok(0)), "not closed");
    }

    #[test]
    fn leak_in_flight_keeps_completed() {
        let mut ops = Ops::default();
        // `a` allocates nothing, so the leak it models does not trip LeakSanitizer.
        let a = ops.insert(0, Resources::Buf(Vec::new()), false);
        let b = ops.insert(0, Resources::Buf(vec![0; 8]), false);
        ops.complete(b.0, 8, 0);
        ops.leak_in_flight();
        assert!(ops.take_completed(a, None).is_none());
        assert!(ops.take_completed(b, None).is_some());
    }

    // The kernel ABI's CQE flags (io-uring keeps its `sys` module private).
    const MORE: u32 = 1 << 1; // IORING_CQE_F_MORE
    const BUFFER: u32 = 1 << 0; // IORING_CQE_F_BUFFER

    fn with_buffer(bid: u16, more: bool) -> u32 {
        BUFFER | (u32::from(bid) << 16/* IORING_CQE_BUFFER_SHIFT */) | if more { MORE } else { 0 }
    }

    #[test]
    fn multishot_results_queue_in_order_and_the_last_frees_the_slot() {
        let mut ops = Ops::default();
        let id = ops.insert_multishot(0, ShotKind::Recv, 16);
        let (count, waker) = (Arc::new(Count(AtomicUsize::new(0))), None::<Waker>);
        let waker = waker.unwrap_or_else(|| Waker::from(count.clone()));
        assert!(ops.take_shot(id, Some(&waker)).is_none());
        assert!(matches!(
            ops.complete(id.0, 5, with_buffer(3, true)),
            Reaped::Wake(_)
        ));
        assert!(matches!(
            ops.complete(id.0, 7, with_buffer(4, true)),
            Reaped::Nothing
        ));
        assert_eq!(ops.in_flight(), 1);
        assert!(matches!(ops.complete(id.0, 0, 0), Reaped::Nothing));
        assert_eq!(ops.in_flight(), 0, "the last result came");
        let (first, queued) = ops.take_shot(id, None).unwrap();
        assert_eq!(
            (first.result, first.buffer(), first.more(), queued),
            (5, Some(3), true, 2)
        );
        assert_eq!(ops.take_shot(id, None).unwrap().0.buffer(), Some(4));
        let (last, _) = ops.take_shot(id, None).unwrap();
        assert!(!last.more());
        assert!(ops.take_shot(id, None).is_none(), "the slot is gone");
        assert_eq!(
            ops.insert(0, Resources::None, false).0 & u64::from(u32::MAX),
            id.0 & u64::from(u32::MAX)
        );
    }

    #[test]
    fn an_orphaned_multishot_recv_hands_back_every_buffer() {
        let mut ops = Ops::default();
        let id = ops.insert_multishot(0, ShotKind::Recv, 16);
        ops.complete(id.0, 5, with_buffer(1, true));
        ops.complete(id.0, 5, with_buffer(2, true));
        let Orphaned::Cancel(Some(mut queued)) = ops.orphan(id) else {
            panic!("still in the kernel, with two results queued")
        };
        assert_eq!(queued.take_buffers(), [1, 2]);
        let Reaped::Garbage(mut late, None) = ops.complete(id.0, 5, with_buffer(9, true)) else {
            panic!("a late result of an orphan is garbage")
        };
        assert_eq!(late.take_buffers(), [9]);
        let Reaped::Garbage(mut last, None) = ops.complete(id.0, -libc::ECANCELED, 0) else {
            panic!("so is its last")
        };
        assert!(last.take_buffers().is_empty());
        assert_eq!(ops.in_flight(), 0);
        assert!(ops.in_flight_ids().is_empty());
    }

    #[test]
    fn a_full_multishot_queue_asks_for_one_cancel() {
        let mut ops = Ops::default();
        let id = ops.insert_multishot(0, ShotKind::Accept, 2);
        ops.complete(id.0, 100, MORE);
        assert!(ops.take_cancels().is_empty());
        ops.complete(id.0, 101, MORE);
        ops.complete(id.0, 102, MORE);
        assert_eq!(ops.take_cancels(), [id], "once, at the limit");
        // The queued fds are not real: take them so no garbage closes them.
        for expected in [100, 101, 102] {
            assert_eq!(ops.take_shot(id, None).unwrap().0.result, expected);
        }
        ops.complete(id.0, -libc::ECANCELED, 0);
        assert!(!ops.take_shot(id, None).unwrap().0.more());
        assert_eq!(ops.in_flight(), 0);
    }
}
