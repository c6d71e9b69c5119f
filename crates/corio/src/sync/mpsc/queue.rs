//! The lock-free queue that carries a channel's values: many senders push, one receiver pops.
//!
//! # Layout
//!
//! Values live in *blocks* of `BLOCK_CAP` slots, linked from the receiver's block (`head`) to
//! the senders' block (`tail`). Positions are numbered: position `p` is slot `p % LAP` of the
//! `p / LAP`-th block. `LAP` is `BLOCK_CAP + 1`: offset `BLOCK_CAP` is not a slot but a
//! marker, "the sender that claimed this block's last slot is linking the next block";
//! other senders wait the few instructions that takes. The tail index word holds
//! `position << 1 | CLOSED`.
//!
//! Each slot has a state word: `WRITTEN` once its value is in, `RX_WAITING` once the receiver
//! waits for it.
//!
//! # Sending
//!
//! 1. Load the tail index, then the tail block (both acquire). Fail if `CLOSED`; wait if the
//!    offset is the marker.
//! 2. Compare-exchange the index to the next position: the slot is now this sender's. The
//!    block is dereferenced only after that succeeds. Positions never repeat (the index
//!    wraps after `usize::MAX / 2` of them, far beyond any sender's pause between its load
//!    and its exchange), and the block pointer is stored before the index moves into its
//!    block (release/acquire), so a successful exchange proves the block loaded is the one
//!    holding the slot.
//! 3. The sender of a block's last slot links the next block first: into `tail.block`, then
//!    the index past the marker, then `block.next`, all before it writes its own slot.
//! 4. Write the value, then set `WRITTEN` with a swap. If that shows `RX_WAITING`, the
//!    receiver sleeps on exactly this slot: wake it. (The swap drops `RX_WAITING`, which
//!    nobody reads once the slot is written.)
//!
//! After step 4 a sender never touches the block again.
//!
//! # Receiving
//!
//! The receiver alone owns `head` (position and block). It takes the value at `head` once the
//! slot is `WRITTEN` (acquire). Before it sleeps it sets `RX_WAITING` in that slot with a
//! read-modify-write (`arm`): either that shows `WRITTEN` (take the value instead), or the
//! sender's own read-modify-write will show `RX_WAITING`. Both touch one word, so one of them
//! sees the other: the wake-up cannot be lost, and only the one sender that matters wakes.
//! The head slot always exists: the first block is allocated with the queue, and the next
//! one is linked before the last slot of the current one is written.
//!
//! Having taken a block's last value, the receiver is the block's only user: every sender
//! set `WRITTEN` after its last access (the linker linked before). It resets the block and
//! parks it in `spare` for the next linker (or frees it if `spare` is taken), so a channel
//! that keeps up allocates nothing in steady state.
//!
//! # Closing
//!
//! `close` sets `CLOSED` in the tail index. A compare-exchange from an unclosed index then
//! fails, so every position claimed before the close is written and none after. The
//! receiver has seen everything once `head` reaches the closed tail.

use std::fmt;
use std::mem::MaybeUninit;
use std::ptr;

use crate::loom::UnsafeCell;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::cache_padded::CachePadded;

#[cfg(loom)]
use loom::sync::atomic::AtomicPtr;
#[cfg(not(loom))]
use std::sync::atomic::AtomicPtr;

/// Positions per block: `BLOCK_CAP` slots plus the "linking" marker. Small under loom, so
/// models cross block boundaries in a few sends.
#[cfg(not(loom))]
const LAP: usize = 32;
#[cfg(loom)]
const LAP: usize = 3;

/// Slots per block.
const BLOCK_CAP: usize = LAP - 1;

/// The tail index holds `position << SHIFT | CLOSED`.
const SHIFT: usize = 1;
/// Tail index bit: closed, no more positions are handed out.
const CLOSED: usize = 1;
/// One position, in tail index units.
const STEP: usize = 1 << SHIFT;

/// Slot state bit: the value is in.
const WRITTEN: usize = 0b01;
/// Slot state bit: the receiver sleeps until this slot is written.
const RX_WAITING: usize = 0b10;

/// What the receiver found at the head of the queue.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Pop<T> {
    /// The next value.
    Value(T),
    /// Nothing was sent yet; the queue is open.
    Empty,
    /// A sender claimed the head position but has not written it yet.
    Busy,
    /// The queue is closed and every value in it was taken.
    Closed,
}

/// What [`Queue::arm`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Armed {
    /// The head slot was written meanwhile: pop it instead of sleeping.
    Written,
    /// The writer of the head slot will wake the receiver (or the queue is closed: check).
    Waiting,
}

struct Slot<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    /// `WRITTEN | RX_WAITING`.
    state: AtomicUsize,
}

struct Block<T> {
    /// The next block; linked before this block's last slot is written.
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn allocate() -> *mut Block<T> {
        Box::into_raw(Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: std::array::from_fn(|_| Slot {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                state: AtomicUsize::new(0),
            }),
        }))
    }
}

/// The senders' end.
struct Tail<T> {
    /// `position << SHIFT | CLOSED`.
    index: AtomicUsize,
    /// The block holding `index`'s position (or, while the marker is set, the block before).
    block: AtomicPtr<Block<T>>,
}

/// The receiver's end.
struct Head<T> {
    /// The next position to take, in tail index units (never the marker offset).
    index: usize,
    /// The block holding it.
    block: *mut Block<T>,
}

/// The queue of values; see the module docs.
pub(super) struct Queue<T> {
    tail: CachePadded<Tail<T>>,
    /// Receiver only.
    head: CachePadded<UnsafeCell<Head<T>>>,
    /// A reset block waiting to be linked again, or null.
    spare: AtomicPtr<Block<T>>,
}

// SAFETY: values move from senders to the receiver (hence `T: Send`); the slot protocol in
// the module docs hands each value from one thread to the other, never shared, so no
// `T: Sync` is needed. `head` is only touched by the single receiver (callers of the
// `unsafe` receiver methods guarantee it).
unsafe impl<T: Send> Send for Queue<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Queue<T> {}

/// The offset of an index within its block.
#[inline]
fn offset(index: usize) -> usize {
    (index >> SHIFT) % LAP
}

/// How many slots lie from `head` up to (not including) `tail`: positions, minus the
/// markers among them. Wrapping, like the indices.
fn slots_between(head: usize, tail: usize) -> usize {
    let positions = (tail >> SHIFT).wrapping_sub(head >> SHIFT) & (usize::MAX >> SHIFT);
    positions - ((head >> SHIFT) % LAP + positions) / LAP
}

impl<T> Queue<T> {
    pub(super) fn new() -> Queue<T> {
        let first = Block::allocate();
        Queue {
            tail: CachePadded(Tail {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(first),
            }),
            head: CachePadded(UnsafeCell::new(Head {
                index: 0,
                block: first,
            })),
            spare: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Appends `value`. Returns whether the receiver waits for it and must be woken, or the
    /// value back if the queue is closed.
    pub(super) fn push(&self, value: T) -> Result<bool, T> {
        let mut backoff = Backoff::new();
        let mut index = self.tail.0.index.load(Ordering::Acquire);
        let mut block = self.tail.0.block.load(Ordering::Acquire);
        // A block taken ahead of claiming a block's last slot, so the other senders wait only
        // for the linking itself.
        let mut next_block: *mut Block<T> = ptr::null_mut();

        loop {
            if index & CLOSED != 0 {
                // SAFETY: a block we took ahead and did not link: still ours, still reset.
                unsafe { self.give_back(next_block) };
                return Err(value);
            }
            let offset = offset(index);
            if offset == BLOCK_CAP {
                // Another sender is linking the next block.
                backoff.snooze();
                index = self.tail.0.index.load(Ordering::Acquire);
                block = self.tail.0.block.load(Ordering::Acquire);
                continue;
            }
            if offset + 1 == BLOCK_CAP && next_block.is_null() {
                next_block = self.take_block();
            }
            match self.tail.0.index.compare_exchange_weak(
                index,
                index.wrapping_add(STEP),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: the exchange succeeded, so `block` holds our slot (module docs,
                    // step 2) and stays allocated until the receiver takes our value.
                    let block = unsafe { &*block };
                    if offset + 1 == BLOCK_CAP {
                        let next = std::mem::replace(&mut next_block, ptr::null_mut());
                        self.tail.0.block.store(next, Ordering::Release);
                        // Past the marker; `fetch_add` keeps a `CLOSED` set meanwhile.
                        self.tail.0.index.fetch_add(STEP, Ordering::Release);
                        block.next.store(next, Ordering::Release);
                    }
                    let slot = &block.slots[offset];
                    // SAFETY: the slot is ours alone until `WRITTEN` is set.
                    slot.value.with_mut(|cell| unsafe { (*cell).write(value) });
                    // A swap, not `fetch_or` (a compare-exchange loop on x86): the slot held
                    // at most `RX_WAITING`, which nobody needs once `WRITTEN` is set.
                    let state = slot.state.swap(WRITTEN, Ordering::AcqRel);
                    // SAFETY: as above (null if we linked it).
                    unsafe { self.give_back(next_block) };
                    return Ok(state & RX_WAITING != 0);
                }
                Err(actual) => {
                    index = actual;
                    block = self.tail.0.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Closes the queue: later pushes fail. Returns whether this call closed it.
    pub(super) fn close(&self) -> bool {
        self.tail.0.index.fetch_or(CLOSED, Ordering::AcqRel) & CLOSED == 0
    }

    pub(super) fn is_closed(&self) -> bool {
        self.tail.0.index.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Takes the value at the head, if it is there.
    ///
    /// # Safety
    ///
    /// Receiver only: no two calls of the receiver methods may overlap.
    pub(super) unsafe fn pop(&self) -> Pop<T> {
        // SAFETY: the caller is the receiver, the only user of `head`.
        self.head.0.with_mut(|head| unsafe {
            let head = &mut *head;
            let offset = offset(head.index);
            let block = &*head.block;
            let slot = &block.slots[offset];
            if slot.state.load(Ordering::Acquire) & WRITTEN == 0 {
                return self.not_written(head.index);
            }
            // SAFETY: `WRITTEN` (acquire): the value is in and the sender is done with it.
            let value = slot.value.with(|cell| (*cell).assume_init_read());
            self.advance(head, offset);
            Pop::Value(value)
        })
    }

    /// Marks the head slot as awaited, so its writer wakes the receiver.
    ///
    /// # Safety
    ///
    /// Receiver only, as for [`pop`](Queue::pop).
    pub(super) unsafe fn arm(&self) -> Armed {
        // SAFETY: the caller is the receiver, the only user of `head`; the head block is
        // allocated until the receiver moves past it.
        self.head.0.with(|head| unsafe {
            let head = &*head;
            let slot = &(*head.block).slots[offset(head.index)];
            let state = slot.state.load(Ordering::Acquire);
            if state == RX_WAITING {
                return Armed::Waiting; // armed by an earlier poll, still unwritten
            }
            // `fetch_add`, not `fetch_or` (a compare-exchange loop on x86): `RX_WAITING` is
            // clear here, and only the receiver sets it.
            if state & WRITTEN != 0
                || slot.state.fetch_add(RX_WAITING, Ordering::AcqRel) & WRITTEN != 0
            {
                Armed::Written
            } else {
                Armed::Waiting
            }
        })
    }

    /// How many values are queued: claimed positions the receiver has not taken yet.
    ///
    /// # Safety
    ///
    /// Receiver only, as for [`pop`](Queue::pop).
    pub(super) unsafe fn len(&self) -> usize {
        // SAFETY: the caller is the receiver.
        let head = self.head.0.with(|head| unsafe { (*head).index });
        let tail = self.tail.0.index.load(Ordering::Acquire);
        slots_between(head, tail)
    }

    /// Why the head slot holds nothing yet.
    fn not_written(&self, head: usize) -> Pop<T> {
        let tail = self.tail.0.index.load(Ordering::Acquire);
        if tail >> SHIFT != head >> SHIFT {
            Pop::Busy
        } else if tail & CLOSED != 0 {
            Pop::Closed
        } else {
            Pop::Empty
        }
    }

    /// Moves `head` past the slot at `offset`, recycling the block it leaves.
    ///
    /// # Safety
    ///
    /// Receiver only; the slot's value was just taken.
    unsafe fn advance(&self, head: &mut Head<T>, offset: usize) {
        if offset + 1 < BLOCK_CAP {
            head.index = head.index.wrapping_add(STEP);
            return;
        }
        // SAFETY: the last slot was written (we took it), and its writer linked `next`
        // first (release, paired with the acquire that saw `WRITTEN`).
        let finished = head.block;
        let next = unsafe { (*finished).next.load(Ordering::Acquire) };
        debug_assert!(
            !next.is_null(),
            "the next block is linked before the last write"
        );
        head.block = next;
        head.index = head.index.wrapping_add(2 * STEP); // the last slot and the marker
        // SAFETY: every slot of `finished` was written and taken, so no sender or receiver
        // will touch it again.
        unsafe { self.recycle(finished) };
    }

    /// Resets a finished block and keeps it as the spare, or frees it.
    ///
    /// # Safety
    ///
    /// Nobody uses `block` any more, and its values were all taken.
    unsafe fn recycle(&self, block: *mut Block<T>) {
        // SAFETY: the caller hands us the block.
        let reset = unsafe { &*block };
        reset.next.store(ptr::null_mut(), Ordering::Relaxed);
        for slot in &reset.slots {
            slot.state.store(0, Ordering::Relaxed);
        }
        // SAFETY: forwarded.
        unsafe { self.give_back(block) };
    }

    /// A fresh block: the spare if there is one.
    fn take_block(&self) -> *mut Block<T> {
        if !self.spare.load(Ordering::Relaxed).is_null() {
            // Acquire: the receiver's reset happens before our writes.
            let spare = self.spare.swap(ptr::null_mut(), Ordering::Acquire);
            if !spare.is_null() {
                return spare;
            }
        }
        Block::allocate()
    }

    /// Keeps a reset, unused `block` (or null) as the spare, or frees it.
    ///
    /// # Safety
    ///
    /// `block` is null, or came from `Block::allocate`, is reset, and nobody else uses it.
    unsafe fn give_back(&self, block: *mut Block<T>) {
        if block.is_null() {
            return;
        }
        if self
            .spare
            .compare_exchange(ptr::null_mut(), block, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // SAFETY: the block is reset and ours alone; it came from `Block::allocate`.
            drop(unsafe { Box::from_raw(block) });
        }
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        // Everyone is gone, so every claimed position was written: drop the values from head
        // to tail, then free the blocks.
        let tail = self.tail.0.index.load(Ordering::Acquire) & !CLOSED;
        // SAFETY: `&mut self`: no sender or receiver is left.
        let (mut index, mut block) = self
            .head
            .0
            .with(|head| unsafe { ((*head).index, (*head).block) });
        while index != tail {
            let offset = offset(index);
            if offset == BLOCK_CAP {
                // SAFETY: a block we passed the end of; its successor was linked.
                let next = unsafe { (*block).next.load(Ordering::Acquire) };
                // SAFETY: allocated by `Block::allocate`, no longer linked from anything.
                drop(unsafe { Box::from_raw(block) });
                block = next;
            } else {
                // SAFETY: the slot was claimed before the tail, so written, and not taken.
                unsafe {
                    (*block).slots[offset]
                        .value
                        .with_mut(|cell| (*cell).assume_init_drop());
                }
            }
            index = index.wrapping_add(STEP);
        }
        while !block.is_null() {
            // SAFETY: the rest of the chain; linked blocks came from `Block::allocate`.
            let next = unsafe { (*block).next.load(Ordering::Acquire) };
            drop(unsafe { Box::from_raw(block) });
            block = next;
        }
        let spare = self.spare.load(Ordering::Acquire);
        if !spare.is_null() {
            // SAFETY: the spare is reset and unlinked.
            drop(unsafe { Box::from_raw(spare) });
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// Spins, then yields the thread, while another sender finishes linking a block.
struct Backoff(u32);

impl Backoff {
    fn new() -> Backoff {
        Backoff(0)
    }

    /// After a lost race: a short spin, growing.
    fn spin(&mut self) {
        for _ in 0..1u32 << self.0.min(4) {
            std::hint::spin_loop();
        }
        self.0 += 1;
        #[cfg(loom)]
        loom::thread::yield_now();
    }

    /// While waiting for another thread: spin a little, then give up the CPU (the linker
    /// may have been preempted).
    #[cfg(not(loom))]
    fn snooze(&mut self) {
        if self.0 < 6 {
            for _ in 0..1u32 << self.0 {
                std::hint::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
        self.0 += 1;
    }

    /// Under loom every wait must yield, or the model never ends.
    #[cfg(loom)]
    fn snooze(&mut self) {
        loom::thread::yield_now();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::DropCounter;
    use std::sync::Arc;

    /// Pops on behalf of the single receiver (each test is that receiver).
    fn pop<T>(queue: &Queue<T>) -> Pop<T> {
        // SAFETY: the test thread is the only receiver.
        unsafe { queue.pop() }
    }

    #[test]
    fn fifo_across_many_blocks() {
        let queue = Queue::new();
        assert_eq!(pop(&queue), Pop::Empty);
        let n = 5 * LAP + 3;
        for round in 0..3 {
            for i in 0..n {
                assert_eq!(queue.push(round * n + i), Ok(false));
            }
            // SAFETY: we are the receiver.
            assert_eq!(unsafe { queue.len() }, n);
            for i in 0..n {
                assert_eq!(pop(&queue), Pop::Value(round * n + i));
            }
            assert_eq!(pop(&queue), Pop::Empty);
            // SAFETY: we are the receiver.
            assert_eq!(unsafe { queue.len() }, 0);
        }
    }

    #[test]
    fn blocks_are_recycled_when_the_receiver_keeps_up() {
        let queue = Queue::new();
        for i in 0..10 * LAP {
            queue.push(i).unwrap();
            assert_eq!(pop(&queue), Pop::Value(i));
        }
        assert!(!queue.spare.load(Ordering::SeqCst).is_null());
    }

    #[test]
    fn closed_after_the_last_value() {
        let queue = Queue::new();
        queue.push(1).unwrap();
        assert!(queue.close());
        assert!(!queue.close(), "only the first close closes");
        assert_eq!(queue.push(2), Err(2));
        assert_eq!(pop(&queue), Pop::Value(1));
        assert_eq!(pop(&queue), Pop::Closed);
        assert_eq!(pop(&queue), Pop::Closed);
    }

    #[test]
    fn close_at_a_block_boundary() {
        let queue = Queue::new();
        for i in 0..BLOCK_CAP {
            queue.push(i).unwrap();
        }
        queue.close();
        for i in 0..BLOCK_CAP {
            assert_eq!(pop(&queue), Pop::Value(i));
        }
        assert_eq!(pop(&queue), Pop::Closed);
    }

    #[test]
    fn armed_slot_wakes_exactly_its_writer() {
        let queue = Queue::new();
        // SAFETY: we are the receiver.
        assert_eq!(unsafe { queue.arm() }, Armed::Waiting);
        assert_eq!(queue.push(1), Ok(true), "the awaited slot's writer wakes");
        assert_eq!(queue.push(2), Ok(false), "later writers do not");
        // SAFETY: we are the receiver.
        assert_eq!(unsafe { queue.arm() }, Armed::Written);
        assert_eq!(pop(&queue), Pop::Value(1));
        assert_eq!(pop(&queue), Pop::Value(2));
    }

    #[test]
    fn claimed_but_unwritten_is_busy() {
        let queue = Queue::<u8>::new();
        // Claim position 0 by hand, as a sender between its exchange and its write.
        queue.tail.0.index.fetch_add(STEP, Ordering::SeqCst);
        assert_eq!(pop(&queue), Pop::Busy);
        queue.close();
        assert_eq!(pop(&queue), Pop::Busy, "the claimed value still comes");
        // Write it as the sender would, so drop finds it.
        let slot = unsafe { &(*queue.tail.0.block.load(Ordering::SeqCst)).slots[0] };
        slot.value.with_mut(|cell| unsafe { (*cell).write(7) });
        slot.state.fetch_or(WRITTEN, Ordering::SeqCst);
        assert_eq!(pop(&queue), Pop::Value(7));
        assert_eq!(pop(&queue), Pop::Closed);
    }

    #[test]
    fn values_left_are_dropped_once() {
        let drops = DropCounter::new();
        let queue = Queue::new();
        let sent = 3 * LAP + 5;
        for _ in 0..sent {
            assert!(queue.push(drops.tracked()).is_ok());
        }
        for _ in 0..LAP + 2 {
            assert!(matches!(pop(&queue), Pop::Value(_)));
        }
        let taken = drops.get();
        assert_eq!(taken, LAP + 2);
        drop(queue);
        assert_eq!(drops.get(), sent);
    }

    #[test]
    fn closed_push_gives_the_value_back_undropped() {
        let drops = DropCounter::new();
        let queue = Queue::new();
        queue.close();
        let back = queue.push(drops.tracked()).err().unwrap();
        assert_eq!(drops.get(), 0);
        drop(back);
        drop(queue);
        assert_eq!(drops.get(), 1);
    }

    #[test]
    fn senders_on_threads_deliver_each_value_once_in_order() {
        let senders = 3;
        let per_sender = if cfg!(miri) { 40 } else { 20_000 };
        let queue = Arc::new(Queue::new());
        let threads: Vec<_> = (0..senders)
            .map(|id| {
                let queue = queue.clone();
                std::thread::spawn(move || {
                    for seq in 0..per_sender {
                        queue.push((id, seq)).unwrap();
                    }
                })
            })
            .collect();
        let mut next = vec![0; senders];
        let mut received = 0;
        while received < senders * per_sender {
            match pop(&queue) {
                Pop::Value((id, seq)) => {
                    assert_eq!(seq, next[id], "per-sender order");
                    next[id] += 1;
                    received += 1;
                }
                Pop::Empty | Pop::Busy => std::thread::yield_now(),
                Pop::Closed => unreachable!(),
            }
        }
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(pop(&queue), Pop::Empty);
    }

    #[test]
    fn slot_counting() {
        let at = |block: usize, offset: usize| (block * LAP + offset) << SHIFT;
        assert_eq!(slots_between(0, 0), 0);
        assert_eq!(
            slots_between(0, at(0, BLOCK_CAP)),
            BLOCK_CAP,
            "up to the marker"
        );
        assert_eq!(slots_between(0, at(1, 0)), BLOCK_CAP);
        assert_eq!(
            slots_between(at(0, 3), at(2, 2) | CLOSED),
            2 * BLOCK_CAP - 1
        );
        assert_eq!(slots_between(at(1, 0), at(1, 0)), 0);
        // Indices wrap around the word; the count does not notice.
        let near_end = (usize::MAX >> SHIFT) / LAP * LAP - LAP; // a block start
        let head = near_end << SHIFT;
        let tail = head.wrapping_add(at(3, 1));
        assert_eq!(slots_between(head, tail), 3 * BLOCK_CAP + 1);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model-checked races of the queue alone (`RUSTFLAGS="--cfg loom"`; blocks hold 2 slots).
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// Explores every interleaving with up to 3 preemptions (unless `LOOM_MAX_PREEMPTIONS`
    /// says otherwise); the receivers here spin, which makes paths long.
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = builder.preemption_bound.or(Some(3));
        builder.max_branches = builder.max_branches.max(10_000);
        builder.check(f);
    }

    fn pop<T>(queue: &Queue<T>) -> Pop<T> {
        // SAFETY: the model's main thread is the only receiver.
        unsafe { queue.pop() }
    }

    #[test]
    fn two_senders_race_to_link_the_next_block() {
        model(|| {
            let queue = Arc::new(Queue::new());
            // Blocks hold 2 slots: the racing pushes claim the first block's last slot
            // (whose sender links the next block) and the next block's first slot.
            queue.push(0).unwrap();
            let senders: Vec<_> = [1, 2]
                .into_iter()
                .map(|value| {
                    let queue = queue.clone();
                    thread::spawn(move || queue.push(value).unwrap())
                })
                .collect();
            // One pop racing the pushes (no spinning: that would make the paths endless),
            // then the rest once they are done.
            let mut got = Vec::new();
            for _ in 0..2 {
                match pop(&queue) {
                    Pop::Value(value) => got.push(value),
                    Pop::Empty | Pop::Busy => {}
                    Pop::Closed => unreachable!(),
                }
            }
            for sender in senders {
                sender.join().unwrap();
            }
            while let Pop::Value(value) = pop(&queue) {
                got.push(value);
            }
            assert_eq!(got[0], 0);
            got.sort();
            assert_eq!(got, [0, 1, 2]);
        });
    }

    #[test]
    fn close_races_push() {
        model(|| {
            let queue = Arc::new(Queue::new());
            queue.push(0).unwrap();
            let sender = {
                let queue = queue.clone();
                thread::spawn(move || queue.push(1).is_ok())
            };
            queue.close();
            let mut got = Vec::new();
            loop {
                match pop(&queue) {
                    Pop::Value(v) => got.push(v),
                    Pop::Busy => thread::yield_now(),
                    Pop::Closed => break,
                    Pop::Empty => unreachable!("closed"),
                }
            }
            let pushed = sender.join().unwrap();
            // A push that succeeded is received; one that failed is not.
            assert_eq!(got, if pushed { vec![0, 1] } else { vec![0] });
        });
    }
}
