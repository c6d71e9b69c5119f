//! The per-worker run queue of the multi-thread scheduler.
//!
//! A bounded ring buffer of [`CAPACITY`] slots with exactly one producer — the worker that owns
//! the [`Local`] handle — and any number of consumers: the owner itself ([`Local::pop`]) and
//! other workers stealing through cloned [`Steal`] handles ([`Steal::steal_into`]). Tasks that do
//! not fit are handed, half a queue at a time, to an [`Overflow`] sink (the global injection
//! queue).
//!
//! # Indices
//!
//! Positions are free-running `u32` counters compared and subtracted with wrapping arithmetic;
//! a position `i` lives in slot `i & MASK`. Three counters describe the queue:
//!
//! * `tail` ([`AtomicU32`]) — the next position the owner will write. **Only the owner stores
//!   it**, always with `Release` after initialising the slots below it, so a consumer that loads
//!   `tail` with `Acquire` may read every slot below the value it saw.
//! * `head` ([`AtomicU64`]) packs two positions, `steal` (high half) and `real` (low half),
//!   so that both change in one compare-and-swap:
//!   * `real` — the oldest task still in the queue; the next one `pop` or a steal would take.
//!   * `steal` — the oldest slot not yet free for the owner to overwrite. `steal == real`
//!     except while a stealer is copying tasks out: it first claims `[steal, real)` by moving
//!     `real` forward (leaving `steal` where it was), copies those slots, and only then sets
//!     `steal = real` with `Release`, handing the slots back to the owner.
//!
//! # Invariants
//!
//! With wrapping arithmetic, `steal <= real <= tail` and `tail - steal <= CAPACITY` always hold,
//! and the positions split into disjoint ranges:
//!
//! * `[steal, real)` — claimed by the one in-flight stealer (empty when none). Their slots are
//!   initialised and belong to that stealer, which moves the values out; nobody else touches
//!   them.
//! * `[real, tail)` — the queued tasks, initialised. A consumer takes ownership of a prefix of
//!   this range only by advancing `real` past it with a successful compare-and-swap on `head`.
//!   The owner never writes these slots.
//! * `[tail, steal + CAPACITY)` — free slots, logically uninitialised. Only the owner writes
//!   them (then publishes by advancing `tail`); `Acquire` on `head` before writing makes the
//!   previous lap's reads of those slots (by a stealer that released them) happen-before the
//!   write.
//!
//! At most one steal is in flight per queue: a stealer that finds `steal != real` backs off.
//! The owner may keep popping (or spilling to the overflow) while a steal is in flight; it moves
//! `real` only, and the stealer's release then sets `steal` to whatever `real` is by then.
//!
//! `head` and `tail` are never read together atomically, so any length observed by a thread
//! other than the owner is a snapshot that may already be stale.
//!
//! Under `--cfg loom` the capacity shrinks to 4 so that the model checker can reach the "full"
//! and "overflow" states in a handful of steps; the code is otherwise identical.

use std::fmt;
use std::iter;
use std::mem::MaybeUninit;
use std::ptr;

use crate::loom::UnsafeCell;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Number of slots in a local run queue.
#[cfg(not(loom))]
const CAPACITY: usize = 256;
/// Number of slots in a local run queue (small under loom to keep the models tractable).
#[cfg(loom)]
const CAPACITY: usize = 4;

const _: () = assert!(CAPACITY.is_power_of_two() && CAPACITY >= 2 && CAPACITY <= 1 << 31);

/// [`CAPACITY`] as a position delta.
const CAP: u32 = CAPACITY as u32;
/// Maps a position to its slot index.
const MASK: u32 = CAP - 1;
/// How many tasks a full queue moves to the overflow at once.
const HALF: u32 = CAP / 2;

/// Creates a local run queue, returning the handle other workers steal through and the
/// handle of the owning worker.
pub(crate) fn local<T: 'static>() -> (Steal<T>, Local<T>) {
    with_start(0)
}

/// Like [`local`] but with every position starting at `start`, so tests can exercise the
/// wrap-around of the `u32` positions without 2^32 operations.
#[cfg(test)]
pub(crate) fn local_starting_at<T: 'static>(start: u32) -> (Steal<T>, Local<T>) {
    with_start(start)
}

fn with_start<T>(start: u32) -> (Steal<T>, Local<T>) {
    let buffer: Box<[Slot<T>]> = (0..CAPACITY)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let Ok(buffer) = <Box<[Slot<T>; CAPACITY]>>::try_from(buffer) else {
        unreachable!("the buffer has exactly CAPACITY slots");
    };
    let inner = Arc::new(Inner {
        head: AtomicU64::new(pack(start, start)),
        tail: AtomicU32::new(start),
        buffer,
    });
    (Steal(inner.clone()), Local { inner })
}

/// The sink for tasks that do not fit in a local queue: the scheduler's injection queue.
pub(crate) trait Overflow<T> {
    /// Takes one task.
    fn push(&self, task: T);

    /// Takes every task `iter` yields, in order. Tasks the implementation does not pull from
    /// `iter` are dropped with it.
    fn push_batch(&self, iter: impl Iterator<Item = T>);
}

/// The owning worker's handle: the only one that pushes. Not `Clone`.
pub(crate) struct Local<T> {
    inner: Arc<Inner<T>>,
}

/// A handle other workers steal through. Cheap to clone.
pub(crate) struct Steal<T>(Arc<Inner<T>>);

type Slot<T> = UnsafeCell<MaybeUninit<T>>;

struct Inner<T> {
    /// `steal` (high 32 bits) and `real` (low 32 bits); see the module docs.
    head: AtomicU64,
    /// Next position the owner writes; stored only by the owner.
    tail: AtomicU32,
    buffer: Box<[Slot<T>; CAPACITY]>,
}

// SAFETY: an `Inner` only ever moves `T` values between threads (the owner writes a slot, a
// stealer on another thread moves the value out); no `&T` is ever handed out, so `T: Send` is
// all that is needed. Access to the slots themselves is coordinated by the `head`/`tail`
// protocol described in the module docs.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; shared access through `&Inner` is what the protocol is designed for.
unsafe impl<T: Send> Sync for Inner<T> {}

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

impl<T> Inner<T> {
    fn slot(&self, pos: u32) -> &Slot<T> {
        &self.buffer[(pos & MASK) as usize]
    }

    /// Moves the value out of the slot for `pos`.
    ///
    /// # Safety
    ///
    /// The slot must be initialised and the caller must own it: no other thread may access it
    /// until the caller hands the slot back, and the caller must not read it again.
    unsafe fn take(&self, pos: u32) -> T {
        // SAFETY: the caller guarantees the slot is initialised and exclusively ours to read;
        // reading it moves the value out, and the caller treats the slot as uninitialised after.
        self.slot(pos)
            .with(|ptr| unsafe { ptr::read(ptr).assume_init() })
    }

    /// Writes `value` into the slot for `pos`, without dropping what was there.
    ///
    /// # Safety
    ///
    /// The slot must be free (logically uninitialised) and the caller must be the owner of
    /// this queue, with every earlier read of the slot happening-before this call.
    unsafe fn put(&self, pos: u32, value: T) {
        // SAFETY: the caller guarantees exclusive access to a free slot; `MaybeUninit` has no
        // drop glue, so overwriting the stale bytes drops nothing.
        self.slot(pos)
            .with_mut(|ptr| unsafe { ptr::write(ptr, MaybeUninit::new(value)) });
    }
}

impl<T> Local<T> {
    /// The owner's `tail`. Only this thread stores it, so `Relaxed` sees the latest value.
    fn tail(&self) -> u32 {
        self.inner.tail.load(Ordering::Relaxed)
    }

    /// Number of tasks in the queue (not counting tasks an in-flight steal has claimed).
    pub(crate) fn len(&self) -> usize {
        let (_, real) = unpack(self.inner.head.load(Ordering::Acquire));
        // Exact on the owner's thread; the clamp only matters if `&Local` is shared with
        // another thread, whose `tail` may be older than the `head` it read.
        (self.tail().wrapping_sub(real) as usize).min(CAPACITY)
    }

    /// Number of tasks that can be pushed before the queue overflows. While a steal is in
    /// flight, its claimed slots are neither counted in `len` nor free yet.
    pub(crate) fn remaining_slots(&self) -> usize {
        let (steal, _) = unpack(self.inner.head.load(Ordering::Acquire));
        // Saturating for the same reason as the clamp in `len`.
        CAPACITY.saturating_sub(self.tail().wrapping_sub(steal) as usize)
    }

    /// Whether [`pop`](Self::pop) would (barring a concurrent steal) return a task.
    pub(crate) fn has_tasks(&self) -> bool {
        self.len() != 0
    }

    /// Pushes `task` at the back. If the queue is full, moves the oldest half of the queue and
    /// then `task` to `overflow` in a single [`Overflow::push_batch`], keeping their order.
    ///
    /// While another worker is stealing from this queue, the slots it claimed are not free
    /// yet, and fewer than half may be left to move; then whatever is left goes, followed by
    /// `task`. If nothing is left, `task` alone goes through [`Overflow::push`].
    pub(crate) fn push_back_or_overflow<O: Overflow<T>>(&mut self, task: T, overflow: &O) {
        let tail = self.tail();
        let mut head = self.inner.head.load(Ordering::Acquire);
        loop {
            let (steal, real) = unpack(head);
            if tail.wrapping_sub(steal) < CAP {
                // SAFETY: `tail - steal < CAPACITY`, so position `tail` is in the free range and
                // we, the owner, are its only writer. The `Acquire` load (or failed CAS) of
                // `head` that showed this `steal` synchronises with the `Release` that freed the
                // slot, so the last read of it happens-before this write.
                unsafe { self.inner.put(tail, task) };
                self.inner
                    .tail
                    .store(tail.wrapping_add(1), Ordering::Release);
                return;
            }

            // Full. Claim the oldest tasks like `pop` does, `HALF` at a time (or fewer, if a
            // steal in flight holds some of the slots and the owner popped most of the rest).
            let count = tail.wrapping_sub(real).min(HALF);
            if count == 0 {
                // The in-flight steal and our pops took everything; its slots come back when
                // it finishes.
                overflow.push(task);
                return;
            }
            let new_real = real.wrapping_add(count);
            let new_steal = if steal == real { new_real } else { steal };
            // `AcqRel` for the same reasons as in `pop`.
            match self.inner.head.compare_exchange(
                head,
                pack(new_steal, new_real),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    let batch = Drain {
                        inner: &self.inner,
                        next: real,
                        end: new_real,
                    };
                    overflow.push_batch(batch.chain(iter::once(task)));
                    return;
                }
                // A stealer claimed or released slots; look again (there may be room now).
                Err(actual) => head = actual,
            }
        }
    }

    /// Pushes every task of `tasks` at the back, in order.
    ///
    /// # Panics
    ///
    /// If there are fewer than `tasks.len()` [`remaining_slots`](Self::remaining_slots), or if
    /// `tasks` yields more items than fit (its `len` lied); the tasks pushed until then stay in
    /// the queue.
    pub(crate) fn push_back(&mut self, tasks: impl ExactSizeIterator<Item = T>) {
        let (steal, _) = unpack(self.inner.head.load(Ordering::Acquire));
        let tail = self.tail();
        let room = CAP - tail.wrapping_sub(steal);
        let len = tasks.len();
        assert!(
            len <= room as usize,
            "push_back of {len} tasks into a local queue with {room} free slots"
        );

        // Publishes whatever was written, even if `tasks` panics or overruns.
        let mut published = Publish {
            tail: &self.inner.tail,
            value: tail,
        };
        for task in tasks {
            let pos = published.value;
            assert!(
                pos.wrapping_sub(tail) < room,
                "push_back: the iterator yielded more tasks than fit in the local queue"
            );
            // SAFETY: `pos - tail < room = CAPACITY - (tail - steal)`, so `pos` is in the free
            // range `[tail, steal + CAPACITY)`, which only the owner writes. `Acquire` on `head`
            // above ordered the previous reads of these slots before this write.
            unsafe { self.inner.put(pos, task) };
            published.value = pos.wrapping_add(1);
        }
    }

    /// Takes the oldest task.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let tail = self.tail();
        let mut head = self.inner.head.load(Ordering::Acquire);
        loop {
            let (steal, real) = unpack(head);
            if real == tail {
                return None;
            }
            let next_real = real.wrapping_add(1);
            // Without a steal in flight both heads move; otherwise `steal` is the stealer's to
            // move when it is done.
            let next_steal = if steal == real { next_real } else { steal };
            // `Release`: a stealer that sees the new `real` must also see a `tail` at least as
            // new as the one this pop checked `real` against (see `Steal::steal_into`), or it
            // would compute a wrapped length. `Acquire`, so that the value a failed CAS returns
            // serves like a fresh `Acquire` load.
            match self.inner.head.compare_exchange(
                head,
                pack(next_steal, next_real),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: `real` was in `[real, tail)`, so the slot is initialised (we wrote
                    // it ourselves), and the successful CAS moved `real` past it, so no stealer
                    // can claim it; it is ours alone until we write the slot again.
                    return Some(unsafe { self.inner.take(real) });
                }
                Err(actual) => head = actual,
            }
        }
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        // Drop the tasks still queued. Tasks claimed by an in-flight steal belong to the
        // stealer, which keeps the buffer alive through its own `Arc`.
        while self.pop().is_some() {}
    }
}

impl<T> fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Local")
            .field("len", &self.len())
            .field("remaining_slots", &self.remaining_slots())
            .finish()
    }
}

impl<T> Steal<T> {
    /// Whether the queue looked empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of tasks queued (a snapshot; the queue may change at any time).
    pub(crate) fn len(&self) -> usize {
        // `head` first: `tail` read afterwards is at least the `tail` any `real` we saw was
        // derived from, so the difference does not wrap. It can still exceed the capacity if
        // `head` was stale by the time we read `tail`.
        let (_, real) = unpack(self.0.head.load(Ordering::Acquire));
        let tail = self.0.tail.load(Ordering::Acquire);
        (tail.wrapping_sub(real) as usize).min(CAPACITY)
    }

    /// Steals half of the tasks (rounded up) into `dst`, which belongs to the calling worker,
    /// and returns the oldest of them to run immediately; the others are pushed onto `dst` in
    /// order. Takes fewer if `dst` has less room (one task is always possible).
    ///
    /// Returns `None` if the queue is empty or another worker is already stealing from it.
    pub(crate) fn steal_into(&self, dst: &mut Local<T>) -> Option<T> {
        // Memory-safe even then (the ranges cannot overlap), but always a scheduler bug.
        debug_assert!(
            !ptr::eq(&*self.0, &*dst.inner),
            "a worker must not steal from its own queue"
        );
        let src = &*self.0;

        // Room in `dst`. A stale `steal` only under-reports it.
        let dst_tail = dst.tail();
        let (dst_steal, _) = unpack(dst.inner.head.load(Ordering::Acquire));
        let dst_room = CAP - dst_tail.wrapping_sub(dst_steal);

        // Claim `[real, real + count)` by moving `real`, leaving `steal` behind.
        let mut head = src.head.load(Ordering::Acquire);
        let (first, count) = loop {
            let (steal, real) = unpack(head);
            if steal != real {
                // Another worker is stealing from this queue.
                return None;
            }
            // Read after `head`: with `steal == real`, the `Acquire` above synchronised with
            // whoever last moved `real` (the owner's pop or spill, or a stealer's release, all
            // `Release` and each after a load or store of `tail` at least `real`), so this load
            // sees a `tail` no older than `real` and `tail - real` does not wrap. `Acquire`
            // makes the slots below `tail` visible.
            let tail = src.tail.load(Ordering::Acquire);
            let available = tail.wrapping_sub(real);
            if available == 0 {
                return None;
            }
            if available > CAP {
                // `head` changed after we loaded it (the owner moved on by more than a lap of
                // pops and pushes); start over from a fresh one.
                head = src.head.load(Ordering::Acquire);
                continue;
            }
            let count = (available - available / 2).min(dst_room + 1);
            // No `Release` needed: the claim publishes no data. The owner only ever reads slots
            // it wrote itself, other stealers back off until our release below (which is
            // `Release`), and as a read-modify-write the claim keeps `head`'s release sequence
            // going, so whoever reads it still synchronises with the store it replaced.
            match src.head.compare_exchange(
                head,
                pack(steal, real.wrapping_add(count)),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => break (real, count),
                Err(actual) => head = actual,
            }
        };

        // SAFETY: the CAS succeeded on a `head` with this `real`, so `[first, first + count)`
        // was within `[real, tail)` (`count <= available`): initialised, made visible by the
        // `Acquire` load of `tail`. It now lies in `[steal, real)`: claimed by us alone, since
        // the owner neither writes those slots (`steal` still bounds its free range) nor pops
        // them (`real` is past them), and other stealers back off while `steal != real`.
        let task = unsafe { src.take(first) };
        for i in 1..count {
            // SAFETY: as for `first`; each claimed slot is read exactly once.
            let value = unsafe { src.take(first.wrapping_add(i)) };
            // SAFETY: we hold `&mut dst`, so we are the owner of `dst` and its only writer.
            // `i - 1 < count - 1 <= dst_room`, so `dst_tail + i - 1` lies in dst's free range,
            // and the `Acquire` load of dst's `head` ordered the earlier reads of that slot
            // before this write.
            unsafe { dst.inner.put(dst_tail.wrapping_add(i - 1), value) };
        }

        // Hand the claimed slots back to the owner: `steal` catches up with `real` (which the
        // owner may have moved further meanwhile). `Release` orders our reads of those slots
        // before the owner overwrites them.
        let mut head = src.head.load(Ordering::Acquire);
        loop {
            let (steal, real) = unpack(head);
            debug_assert_eq!(steal, first, "only the claiming stealer moves `steal`");
            match src.head.compare_exchange(
                head,
                pack(real, real),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }

        if count > 1 {
            dst.inner
                .tail
                .store(dst_tail.wrapping_add(count - 1), Ordering::Release);
        }
        Some(task)
    }
}

impl<T> Clone for Steal<T> {
    fn clone(&self) -> Self {
        Steal(self.0.clone())
    }
}

impl<T> fmt::Debug for Steal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Steal").field("len", &self.len()).finish()
    }
}

/// Moves the tasks in `[next, end)` out of the owner's queue into an overflow batch, dropping
/// any that the consumer does not take.
struct Drain<'a, T> {
    inner: &'a Inner<T>,
    next: u32,
    end: u32,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.next == self.end {
            return None;
        }
        let pos = self.next;
        self.next = pos.wrapping_add(1);
        // SAFETY: the owner's CAS moved `real` past `[next, end)`, which was within
        // `[real, tail)`: the slots are initialised and no stealer can claim them. The owner is
        // busy in `push_back_or_overflow` for as long as this iterator lives (it borrows the
        // queue), so it cannot overwrite them either, even once a stealer's release marks them
        // free. `next` only moves forward, so each slot is read once.
        Some(unsafe { self.inner.take(pos) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.end.wrapping_sub(self.next) as usize;
        (len, Some(len))
    }
}

impl<T> ExactSizeIterator for Drain<'_, T> {}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        self.for_each(drop);
    }
}

/// Stores `value` into the owner's `tail` on drop, publishing the slots written below it.
struct Publish<'a> {
    tail: &'a AtomicU32,
    value: u32,
}

impl Drop for Publish<'_> {
    fn drop(&mut self) {
        self.tail.store(self.value, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    use std::cell::RefCell;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::thread;

    /// What an [`Overflow`] was asked to do, in order.
    #[derive(Debug, PartialEq)]
    enum Call<T> {
        Push(T),
        Batch(Vec<T>),
    }

    struct Sink<T>(RefCell<Vec<Call<T>>>);

    impl<T> Sink<T> {
        fn new() -> Self {
            Sink(RefCell::new(Vec::new()))
        }

        fn calls(&self) -> std::cell::Ref<'_, Vec<Call<T>>> {
            self.0.borrow()
        }

        fn take(&self) -> Vec<Call<T>> {
            self.0.take()
        }
    }

    impl<T> Overflow<T> for Sink<T> {
        fn push(&self, task: T) {
            self.0.borrow_mut().push(Call::Push(task));
        }

        fn push_batch(&self, iter: impl Iterator<Item = T>) {
            self.0.borrow_mut().push(Call::Batch(iter.collect()));
        }
    }

    /// An overflow that must never be used.
    struct NoOverflow;

    impl<T> Overflow<T> for NoOverflow {
        fn push(&self, _: T) {
            panic!("unexpected overflow push");
        }

        fn push_batch(&self, _: impl Iterator<Item = T>) {
            panic!("unexpected overflow push_batch");
        }
    }

    /// Counts its drops.
    struct Counted {
        id: u32,
        drops: Arc<AtomicUsize>,
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn counted(drops: &Arc<AtomicUsize>, ids: std::ops::Range<u32>) -> Vec<Counted> {
        ids.map(|id| Counted {
            id,
            drops: drops.clone(),
        })
        .collect()
    }

    fn drain<T>(local: &mut Local<T>) -> Vec<T> {
        iter::from_fn(|| local.pop()).collect()
    }

    fn fill(local: &mut Local<u32>, ids: std::ops::Range<u32>) {
        for id in ids {
            local.push_back_or_overflow(id, &NoOverflow);
        }
    }

    /// Starting positions: plain, and a few just before the `u32` wrap.
    const STARTS: [u32; 4] = [0, u32::MAX, u32::MAX - 3, u32::MAX - CAP - 7];

    /// Pretends to be a stealer stopped half-way: claims `count` tasks (moves `real` only).
    fn claim<T>(steal: &Steal<T>, count: u32) -> u32 {
        let (s, r) = unpack(steal.0.head.load(Ordering::Acquire));
        assert_eq!(s, r, "a steal is already in flight");
        let next = pack(s, r.wrapping_add(count));
        steal
            .0
            .head
            .compare_exchange(pack(s, r), next, Ordering::AcqRel, Ordering::Acquire)
            .expect("no concurrent access in this test");
        r
    }

    /// Finishes the steal `claim` started: moves the claimed tasks out and releases the slots.
    fn finish_claim<T>(steal: &Steal<T>, first: u32, count: u32) -> Vec<T> {
        // SAFETY: `claim` claimed exactly these initialised positions for us.
        let tasks = (0..count)
            .map(|i| unsafe { steal.0.take(first.wrapping_add(i)) })
            .collect();
        let (s, r) = unpack(steal.0.head.load(Ordering::Acquire));
        assert_eq!(s, first);
        steal.0.head.store(pack(r, r), Ordering::Release);
        tasks
    }

    #[test]
    fn send_sync() {
        fn send<X: Send>() {}
        fn sync<X: Sync>() {}
        send::<Local<Box<u8>>>();
        send::<Steal<Box<u8>>>();
        sync::<Steal<Box<u8>>>();
    }

    #[test]
    fn fifo_order() {
        for start in STARTS {
            let (steal, mut local) = local_starting_at::<u32>(start);
            assert!(!local.has_tasks() && steal.is_empty());
            assert_eq!(local.pop(), None);
            fill(&mut local, 0..10);
            assert_eq!(local.pop(), Some(0));
            assert_eq!(local.pop(), Some(1));
            fill(&mut local, 10..12);
            assert_eq!(drain(&mut local), (2..12).collect::<Vec<_>>());
            assert_eq!(local.pop(), None);
            assert!(!local.has_tasks());
        }
    }

    #[test]
    fn fills_to_capacity_without_overflow() {
        for start in STARTS {
            let (steal, mut local) = local_starting_at::<u32>(start);
            fill(&mut local, 0..CAP);
            assert_eq!(local.len(), CAPACITY);
            assert_eq!(steal.len(), CAPACITY);
            assert_eq!(local.remaining_slots(), 0);
            assert_eq!(drain(&mut local), (0..CAP).collect::<Vec<_>>());
            assert_eq!(local.remaining_slots(), CAPACITY);
        }
    }

    #[test]
    fn overflow_moves_half_and_the_new_task_in_order() {
        for start in STARTS {
            let (steal, mut local) = local_starting_at::<u32>(start);
            let sink = Sink::new();
            fill(&mut local, 0..CAP);
            local.push_back_or_overflow(CAP, &sink);
            let mut expected: Vec<u32> = (0..HALF).collect();
            expected.push(CAP);
            assert_eq!(*sink.calls(), vec![Call::Batch(expected)]);
            assert_eq!(local.len(), HALF as usize);
            assert_eq!(steal.len(), HALF as usize);
            assert_eq!(local.remaining_slots(), CAPACITY - HALF as usize);

            // Room again: the next pushes stay local.
            sink.take();
            local.push_back_or_overflow(CAP + 1, &sink);
            assert!(sink.calls().is_empty());
            let mut rest: Vec<u32> = (HALF..CAP).collect();
            rest.push(CAP + 1);
            assert_eq!(drain(&mut local), rest);
        }
    }

    #[test]
    fn overflow_during_a_steal_spills_what_is_left() {
        let (steal, mut local) = local_starting_at::<u32>(u32::MAX - 5);
        let sink = Sink::new();
        fill(&mut local, 0..CAP);
        // A stealer claims the oldest half and stalls; the owner pops all but 3.
        let first = claim(&steal, HALF);
        for expected in HALF..CAP - 3 {
            assert_eq!(local.pop(), Some(expected));
        }
        assert_eq!(local.len(), 3);
        assert_eq!(local.remaining_slots(), 0, "claimed slots are not free yet");
        assert_eq!(
            steal.steal_into(&mut local_starting_at(7).1),
            None,
            "one stealer at a time"
        );

        local.push_back_or_overflow(1000, &sink);
        assert_eq!(
            *sink.calls(),
            vec![Call::Batch(vec![CAP - 3, CAP - 2, CAP - 1, 1000])]
        );
        assert!(!local.has_tasks());
        sink.take();

        // Still full and nothing left to move: just the new task goes.
        local.push_back_or_overflow(1001, &sink);
        assert_eq!(*sink.calls(), vec![Call::Push(1001)]);
        sink.take();

        // The stealer finishes; the slots come back.
        assert_eq!(
            finish_claim(&steal, first, HALF),
            (0..HALF).collect::<Vec<_>>()
        );
        assert_eq!(local.remaining_slots(), CAPACITY);
        local.push_back_or_overflow(1002, &sink);
        assert!(sink.calls().is_empty());
        assert_eq!(drain(&mut local), vec![1002]);
    }

    #[test]
    fn pop_during_a_steal_leaves_claimed_tasks_alone() {
        let (steal, mut local) = local_starting_at::<u32>(u32::MAX);
        fill(&mut local, 0..6);
        let first = claim(&steal, 3);
        assert_eq!(local.len(), 3);
        assert_eq!(steal.len(), 3);
        assert_eq!(local.remaining_slots(), CAPACITY - 6);
        assert_eq!(drain(&mut local), vec![3, 4, 5]);
        assert_eq!(finish_claim(&steal, first, 3), vec![0, 1, 2]);
        assert_eq!(local.remaining_slots(), CAPACITY);
        assert!(steal.is_empty());
    }

    #[test]
    fn steal_takes_half_rounded_up() {
        for start in STARTS {
            let (steal, mut src) = local_starting_at::<u32>(start);
            let (_, mut dst) = local_starting_at::<u32>(start.wrapping_sub(2));
            fill(&mut src, 0..7);
            assert_eq!(steal.steal_into(&mut dst), Some(0));
            assert_eq!(src.len(), 3);
            assert_eq!(dst.len(), 3);
            assert_eq!(steal.steal_into(&mut dst), Some(4)); // ceil(3 / 2) = 2
            assert_eq!(steal.steal_into(&mut dst), Some(6)); // ceil(1 / 2) = 1
            assert_eq!(steal.steal_into(&mut dst), None);
            assert!(steal.is_empty());
            assert_eq!(drain(&mut dst), vec![1, 2, 3, 5]);
            assert_eq!(src.remaining_slots(), CAPACITY);
        }
    }

    #[test]
    fn steal_a_full_queue() {
        let (steal, mut src) = local_starting_at::<u32>(u32::MAX - 1);
        let (_, mut dst) = local::<u32>();
        fill(&mut src, 0..CAP);
        assert_eq!(steal.steal_into(&mut dst), Some(0));
        assert_eq!(dst.len(), HALF as usize - 1);
        assert_eq!(drain(&mut dst), (1..HALF).collect::<Vec<_>>());
        assert_eq!(drain(&mut src), (HALF..CAP).collect::<Vec<_>>());
    }

    #[test]
    fn steal_is_limited_by_room_in_dst() {
        let (steal, mut src) = local::<u32>();
        let (_, mut dst) = local_starting_at::<u32>(u32::MAX - 2);
        fill(&mut src, 0..20);
        fill(&mut dst, 100..100 + CAP);
        // No room at all: the one returned task is still stolen.
        assert_eq!(steal.steal_into(&mut dst), Some(0));
        assert_eq!(dst.len(), CAPACITY);
        // Room for two more: three are stolen.
        dst.pop();
        dst.pop();
        assert_eq!(steal.steal_into(&mut dst), Some(1));
        assert_eq!(dst.remaining_slots(), 0);
        assert_eq!(src.len(), 16);
        let tail: Vec<_> = drain(&mut dst).split_off(CAPACITY - 2);
        assert_eq!(tail, vec![2, 3]);
    }

    #[test]
    fn len_and_remaining_slots_across_the_wrap() {
        let start = u32::MAX - 9;
        let (steal, mut local) = local_starting_at::<u32>(start);
        let sink = Sink::new();
        let mut next = 0;
        let mut expected = std::collections::VecDeque::new();
        // Walk the positions well past the wrap, keeping the queue at various lengths.
        for round in 0..40u32 {
            for _ in 0..(round % 7) + 3 {
                local.push_back_or_overflow(next, &sink);
                expected.push_back(next);
                next += 1;
            }
            for _ in 0..(round % 5) + 2 {
                assert_eq!(local.pop(), expected.pop_front());
            }
            assert_eq!(local.len(), expected.len());
            assert_eq!(steal.len(), expected.len());
            assert_eq!(local.remaining_slots(), CAPACITY - expected.len());
            assert_eq!(local.has_tasks(), !expected.is_empty());
            assert_eq!(steal.is_empty(), expected.is_empty());
        }
        let (_, real) = unpack(local.inner.head.load(Ordering::Relaxed));
        assert!(real < start, "the positions wrapped");
        assert!(sink.calls().is_empty());
        assert_eq!(drain(&mut local), Vec::from(expected));
    }

    #[test]
    fn push_back_batch() {
        for start in STARTS {
            let (_, mut local) = local_starting_at::<u32>(start);
            local.push_back(0..5);
            local.push_back(5..CAP);
            assert_eq!(local.remaining_slots(), 0);
            local.push_back(iter::empty());
            assert_eq!(drain(&mut local), (0..CAP).collect::<Vec<_>>());
        }
    }

    #[test]
    #[should_panic(expected = "free slots")]
    fn push_back_more_than_fits_panics() {
        let (_, mut local) = local::<u32>();
        local.push_back(0..CAP - 1);
        local.push_back(0..2);
    }

    /// An iterator whose `len` lies.
    struct Liar<I>(I, usize);

    impl<I: Iterator> Iterator for Liar<I> {
        type Item = I::Item;
        fn next(&mut self) -> Option<I::Item> {
            self.0.next()
        }
        fn size_hint(&self) -> (usize, Option<usize>) {
            (self.1, Some(self.1))
        }
    }

    impl<I: Iterator> ExactSizeIterator for Liar<I> {}

    #[test]
    fn push_back_with_a_lying_iterator_panics_without_leaking() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (_, mut local) = local::<Counted>();
        local.push_back(counted(&drops, 0..CAP - 3).into_iter());
        let tasks = counted(&drops, 0..10);
        let result = catch_unwind(AssertUnwindSafe(|| {
            local.push_back(Liar(tasks.into_iter(), 1));
        }));
        assert!(result.is_err());
        // The three that fit were published; the fourth and the rest were dropped.
        assert_eq!(local.len(), CAPACITY);
        assert_eq!(drops.load(Ordering::Relaxed), 7);
        let ids: Vec<u32> = drain(&mut local).iter().map(|t| t.id).collect();
        assert_eq!(ids[CAPACITY - 3..], [0, 1, 2]);
        assert_eq!(drops.load(Ordering::Relaxed), 10 + CAPACITY - 3);
    }

    #[test]
    fn drop_frees_remaining_tasks() {
        for start in STARTS {
            let drops = Arc::new(AtomicUsize::new(0));
            let (steal, mut local) = local_starting_at::<Counted>(start);
            let (_, mut dst) = local_starting_at::<Counted>(start);
            local.push_back(counted(&drops, 0..50).into_iter());
            drop(local.pop());
            drop(steal.steal_into(&mut dst));
            assert_eq!(drops.load(Ordering::Relaxed), 2);
            drop(local);
            assert_eq!(drops.load(Ordering::Relaxed), 2 + 24);
            assert!(steal.is_empty());
            drop(steal);
            drop(dst);
            assert_eq!(drops.load(Ordering::Relaxed), 50);
        }
    }

    #[test]
    fn overflow_that_takes_part_of_the_batch_drops_the_rest() {
        struct TakeThree(RefCell<Vec<Counted>>);
        impl Overflow<Counted> for TakeThree {
            fn push(&self, task: Counted) {
                self.0.borrow_mut().push(task);
            }
            fn push_batch(&self, iter: impl Iterator<Item = Counted>) {
                self.0.borrow_mut().extend(iter.take(3));
            }
        }

        let drops = Arc::new(AtomicUsize::new(0));
        let (_, mut local) = local_starting_at::<Counted>(u32::MAX - 4);
        let sink = TakeThree(RefCell::new(Vec::new()));
        for task in counted(&drops, 0..CAP + 1) {
            local.push_back_or_overflow(task, &sink);
        }
        let ids: Vec<u32> = sink.0.borrow().iter().map(|t| t.id).collect();
        assert_eq!(ids, [0, 1, 2]);
        assert_eq!(drops.load(Ordering::Relaxed), HALF as usize + 1 - 3);
        assert_eq!(local.len(), HALF as usize);
        drop(local);
        drop(sink);
        assert_eq!(drops.load(Ordering::Relaxed), CAPACITY + 1);
    }

    /// The overflow sink of the stress test: records what it is given.
    struct Spill(RefCell<Vec<usize>>);

    impl Overflow<usize> for Spill {
        fn push(&self, task: usize) {
            self.0.borrow_mut().push(task);
        }
        fn push_batch(&self, iter: impl Iterator<Item = usize>) {
            self.0.borrow_mut().extend(iter);
        }
    }

    #[test]
    fn stress_owner_and_two_stealers() {
        const ITEMS: usize = if cfg!(miri) { 600 } else { 100_000 };
        const STEALERS: usize = 2;

        let seen: Arc<Vec<AtomicUsize>> =
            Arc::new((0..ITEMS).map(|_| AtomicUsize::new(0)).collect());
        let done = Arc::new(AtomicBool::new(false));
        let (steal, mut local) = local_starting_at::<usize>(u32::MAX - 1000);

        let stealers: Vec<_> = (0..STEALERS)
            .map(|n| {
                let steal = steal.clone();
                let seen = seen.clone();
                let done = done.clone();
                thread::spawn(move || {
                    let (_, mut mine) = local_starting_at::<usize>(u32::MAX - n as u32 * 77);
                    let mut stolen = 0;
                    loop {
                        if let Some(task) = steal.steal_into(&mut mine) {
                            seen[task].fetch_add(1, Ordering::Relaxed);
                            stolen += 1;
                            while let Some(task) = mine.pop() {
                                seen[task].fetch_add(1, Ordering::Relaxed);
                                stolen += 1;
                            }
                        } else if done.load(Ordering::Acquire) && steal.is_empty() {
                            return stolen;
                        } else {
                            thread::yield_now();
                        }
                    }
                })
            })
            .collect();

        let spill = Spill(RefCell::new(Vec::new()));
        let mut popped = 0;
        for task in 0..ITEMS {
            local.push_back_or_overflow(task, &spill);
            // Pop at a slower rate than pushing, so the queue fills and overflows at times.
            if task % 3 == 0
                && let Some(task) = local.pop()
            {
                seen[task].fetch_add(1, Ordering::Relaxed);
                popped += 1;
            }
            if task % 1000 == 999 {
                // Let the queue drain now and then, so it also runs near-empty.
                while local.len() > 10 {
                    if let Some(task) = local.pop() {
                        seen[task].fetch_add(1, Ordering::Relaxed);
                        popped += 1;
                    }
                }
            }
        }
        while let Some(task) = local.pop() {
            seen[task].fetch_add(1, Ordering::Relaxed);
            popped += 1;
        }
        done.store(true, Ordering::Release);
        let stolen: Vec<usize> = stealers.into_iter().map(|t| t.join().unwrap()).collect();
        let spilled = spill.0.take();
        for &task in &spilled {
            seen[task].fetch_add(1, Ordering::Relaxed);
        }

        for (task, count) in seen.iter().enumerate() {
            assert_eq!(count.load(Ordering::Relaxed), 1, "task {task}");
        }
        assert_eq!(popped + spilled.len() + stolen.iter().sum::<usize>(), ITEMS);
        assert!(!local.has_tasks());
        if !cfg!(miri) {
            println!(
                "popped {popped}, spilled {}, stolen {stolen:?}",
                spilled.len()
            );
        }
    }
}

/// Model-checked races. Run with `RUSTFLAGS="--cfg loom" cargo test --release --lib`; the
/// capacity is 4 here. Tasks are `loom::alloc::Track`ed, so loom itself fails a run that leaks
/// one, and each test checks that every task is seen exactly once.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    use loom::alloc::Track;
    use loom::thread;
    use std::cell::RefCell;

    type Task = Track<u32>;

    fn task(id: u32) -> Task {
        Track::new(id)
    }

    fn id(task: Task) -> u32 {
        task.into_inner()
    }

    /// The owner's overflow sink; it checks that each batch keeps queue order.
    #[derive(Default)]
    struct Spill(RefCell<Vec<u32>>);

    impl Overflow<Task> for Spill {
        fn push(&self, task: Task) {
            self.0.borrow_mut().push(id(task));
        }

        fn push_batch(&self, iter: impl Iterator<Item = Task>) {
            let batch: Vec<u32> = iter.map(id).collect();
            assert!(batch.is_sorted(), "batch out of order: {batch:?}");
            self.0.borrow_mut().extend(batch);
        }
    }

    /// Runs `f` under loom with a preemption bound of 3 (`LOOM_MAX_PREEMPTIONS` overrides it),
    /// printing how many executions were explored.
    fn model(f: impl Fn() + Send + Sync + 'static) {
        use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(3);
        }
        let runs = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        builder.check(move || {
            counter.fetch_add(1, Relaxed);
            f();
        });
        println!("explored {} executions", runs.load(Relaxed));
    }

    /// Steals once into a fresh queue and returns everything it got, in order.
    fn steal_once(steal: &Steal<Task>, dst_start: u32) -> Vec<u32> {
        let (_, mut dst) = local_starting_at::<Task>(dst_start);
        let mut got = Vec::new();
        if let Some(first) = steal.steal_into(&mut dst) {
            got.push(id(first));
        }
        got.extend(iter::from_fn(|| dst.pop()).map(id));
        assert!(got.is_sorted(), "stolen out of order: {got:?}");
        got
    }

    fn assert_exactly_once(mut seen: Vec<u32>, ids: std::ops::Range<u32>) {
        seen.sort_unstable();
        assert_eq!(seen, ids.collect::<Vec<_>>());
    }

    #[test]
    fn owner_push_pop_vs_stealer() {
        model(|| {
            let (steal, mut local) = local_starting_at::<Task>(u32::MAX - 1);
            let stealer = thread::spawn(move || steal_once(&steal, u32::MAX));

            let spill = Spill::default();
            let mut seen = Vec::new();
            local.push_back_or_overflow(task(0), &spill);
            local.push_back([task(1), task(2)].into_iter());
            seen.extend(local.pop().map(id));
            local.push_back_or_overflow(task(3), &spill);
            seen.extend(iter::from_fn(|| local.pop()).map(id));

            seen.extend(stealer.join().unwrap());
            assert!(spill.0.borrow().is_empty());
            assert_exactly_once(seen, 0..4);
        });
    }

    #[test]
    fn two_stealers_vs_owner() {
        model(|| {
            let (steal, mut local) = local_starting_at::<Task>(u32::MAX - 1);
            let spill = Spill::default();
            for i in 0..CAP {
                local.push_back_or_overflow(task(i), &spill);
            }
            let stealers: Vec<_> = (0..2)
                .map(|n| {
                    let steal = steal.clone();
                    thread::spawn(move || steal_once(&steal, u32::MAX - n))
                })
                .collect();

            // Pop one, then push into the slots it (or a finished steal) freed: slots a second,
            // overlapping stealer would still be reading if the protocol let it in.
            let mut seen: Vec<u32> = local.pop().map(id).into_iter().collect();
            local.push_back_or_overflow(task(CAP), &spill);
            local.push_back_or_overflow(task(CAP + 1), &spill);
            seen.extend(iter::from_fn(|| local.pop()).map(id));
            for stealer in stealers {
                seen.extend(stealer.join().unwrap());
            }
            seen.extend(spill.0.take());
            assert_exactly_once(seen, 0..CAP + 2);
        });
    }

    #[test]
    fn overflow_vs_stealer() {
        model(|| {
            let (steal, mut local) = local_starting_at::<Task>(u32::MAX - 2);
            let spill = Spill::default();
            for i in 0..CAP {
                local.push_back_or_overflow(task(i), &spill);
            }
            let stealer = thread::spawn(move || steal_once(&steal, 0));

            // Full unless the steal has already released its slots.
            local.push_back_or_overflow(task(CAP), &spill);
            local.push_back_or_overflow(task(CAP + 1), &spill);
            let mut seen: Vec<u32> = iter::from_fn(|| local.pop()).map(id).collect();

            seen.extend(stealer.join().unwrap());
            seen.extend(spill.0.take());
            assert_exactly_once(seen, 0..CAP + 2);
        });
    }

    #[test]
    fn drop_vs_stealer() {
        model(|| {
            let (steal, mut local) = local_starting_at::<Task>(u32::MAX);
            let spill = Spill::default();
            for i in 0..3 {
                local.push_back_or_overflow(task(i), &spill);
            }
            let stealer = thread::spawn(move || steal_once(&steal, 0));
            // Whatever the stealer did not claim is dropped here; the `Track`s catch a leak.
            drop(local);
            let got = stealer.join().unwrap();
            assert!(got.len() <= 2, "stole {got:?}");
        });
    }

    #[test]
    fn steal_into_a_queue_being_stolen_from() {
        // Worker B steals from A into its own queue while C steals from B.
        model(|| {
            let (steal_a, mut a) = local_starting_at::<Task>(u32::MAX - 1);
            let (steal_b, mut b) = local_starting_at::<Task>(u32::MAX - 2);
            let spill = Spill::default();
            for i in 0..CAP {
                a.push_back_or_overflow(task(i), &spill);
            }
            // Move B's positions along, so the slots it steals into have been used before.
            let mut seen = Vec::new();
            for i in 10..13 {
                b.push_back_or_overflow(task(i), &spill);
                seen.extend(b.pop().map(id));
            }
            let thief = thread::spawn(move || steal_once(&steal_b, 0));

            // Takes 2 of A's 4: runs task 0 and queues task 1 on B, where C may steal it.
            seen.extend(steal_a.steal_into(&mut b).map(id));
            seen.extend(iter::from_fn(|| b.pop()).map(id));
            seen.extend(iter::from_fn(|| a.pop()).map(id));
            seen.extend(thief.join().unwrap());
            seen.sort_unstable();
            assert_eq!(seen, [0, 1, 2, 3, 10, 11, 12]);
        });
    }
}
