//! The task cell: one allocation per task, laid out hot to cold.
//!
//! ```text
//! Cell<F, S> (repr C)
//! ├── Header   state word, vtable, queue link, owned-list links, id,  (read on every poll/wake)
//! │            poll count
//! ├── S        the scheduler handle, used to reschedule the task
//! ├── Stage<F> the future, then its output, then nothing
//! └── Trailer  join waker, spawn location, name, label, spawn time,   (cold)
//!              sampled busy time
//! ```
//!
//! The statistics (poll count, busy time) and the label are plain std atomics, also under
//! loom: they are read by task dumps and slow-poll reports, never used to synchronise.
//!
//! A `NonNull<Header>` is a type-erased pointer to the whole cell (the header is its first
//! field); the vtable recovers the concrete `Cell<F, S>`.

use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::task::Waker;

use super::error::JoinError;
use super::id::Id;
use super::label::Label;
use super::raw::Vtable;
use super::state::State;
use crate::loom::UnsafeCell;

#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) header: Header,
    pub(crate) scheduler: S,
    pub(crate) stage: UnsafeCell<Stage<F>>,
    pub(crate) trailer: Trailer,
}

pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// Link for intrusive injection queues; owned by whoever holds the task's `Notified`.
    pub(crate) queue_next: UnsafeCell<Option<NonNull<Header>>>,
    /// Links for the owned-task list; guarded by that list's lock.
    pub(crate) owned: UnsafeCell<Links>,
    pub(crate) id: Id,
    /// Polls so far. Written only by the holder of `RUNNING` (a load and a store, no
    /// read-modify-write); read by task dumps.
    pub(crate) polls: AtomicU64,
}

#[derive(Default)]
pub(crate) struct Links {
    pub(crate) prev: Option<NonNull<Header>>,
    pub(crate) next: Option<NonNull<Header>>,
}

pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

pub(crate) struct Trailer {
    /// Who to wake on completion; see the `JOIN_WAKER` protocol in `state.rs`.
    pub(crate) waker: UnsafeCell<Option<Waker>>,
    pub(crate) location: &'static Location<'static>,
    pub(crate) name: Option<Box<str>>,
    /// What the task says it is doing (`task::set_label`); null or a `&'static Label`.
    pub(crate) label: AtomicPtr<Label>,
    /// When it was spawned, on the coarse clock (`runtime::clock`).
    pub(crate) spawned_ms: u64,
    /// Time spent in polls, as sampled by the runtime's monitor (see `runtime::monitor`).
    pub(crate) busy_us: AtomicU64,
}

// SAFETY: the header is shared between threads; its non-atomic fields are only touched under
// the protocols documented beside them (queue owner, owned-list lock, immutable id/vtable).
unsafe impl Send for Header {}
// SAFETY: as above.
unsafe impl Sync for Header {}

impl<F: Future, S: super::Schedule> Cell<F, S> {
    pub(crate) fn new(
        future: F,
        scheduler: S,
        id: Id,
        name: Option<Box<str>>,
        location: &'static Location<'static>,
    ) -> Box<Cell<F, S>> {
        Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: super::raw::vtable::<F, S>(),
                queue_next: UnsafeCell::new(None),
                owned: UnsafeCell::new(Links::default()),
                id,
                polls: AtomicU64::new(0),
            },
            scheduler,
            stage: UnsafeCell::new(Stage::Running(future)),
            trailer: Trailer {
                waker: UnsafeCell::new(None),
                location,
                name,
                label: AtomicPtr::new(std::ptr::null_mut()),
                spawned_ms: crate::runtime::clock::coarse_ms(),
                busy_us: AtomicU64::new(0),
            },
        })
    }
}

impl Header {
    /// The trailer of the cell this header starts.
    ///
    /// # Safety
    /// `me` must point to a live task cell.
    pub(crate) unsafe fn trailer<'a>(me: NonNull<Header>) -> &'a Trailer {
        // SAFETY: the vtable's offset is that of `trailer` in this cell's concrete type, and the
        // cell is live per the caller's contract.
        unsafe {
            let offset = me.as_ref().vtable.trailer_offset;
            &*me.as_ptr().cast::<u8>().add(offset).cast::<Trailer>()
        }
    }

    /// # Safety
    /// Must be called with the owned-list lock held (or exclusive access to the task).
    pub(crate) unsafe fn set_queue_next(&self, next: Option<NonNull<Header>>) {
        // SAFETY: per the caller, we own the queue link.
        self.queue_next.with_mut(|p| unsafe { *p = next });
    }

    /// # Safety
    /// As [`Header::set_queue_next`].
    pub(crate) unsafe fn queue_next(&self) -> Option<NonNull<Header>> {
        // SAFETY: per the caller, we own the queue link.
        self.queue_next.with(|p| unsafe { *p })
    }
}

impl Header {
    /// Counts one more poll. Only the holder of `RUNNING` calls this.
    #[inline]
    pub(crate) fn count_poll(&self) {
        let polls = self.polls.load(Ordering::Relaxed);
        self.polls.store(polls.wrapping_add(1), Ordering::Relaxed);
    }
}

impl Trailer {
    /// # Safety
    /// The caller must own the waker slot (see the `JOIN_WAKER` protocol).
    pub(crate) unsafe fn set_waker(&self, waker: Option<Waker>) {
        // SAFETY: exclusive access per the caller.
        self.waker.with_mut(|p| unsafe { *p = waker });
    }

    /// # Safety
    /// The slot must be set and readable: `JOIN_WAKER` and `COMPLETE` both set.
    pub(crate) unsafe fn wake_join(&self) {
        // SAFETY: per the caller, no one writes the slot any more.
        self.waker.with(|p| match unsafe { &*p } {
            Some(waker) => waker.wake_by_ref(),
            None => debug_assert!(false, "JOIN_WAKER set without a waker"),
        });
    }

    /// # Safety
    /// The caller must be allowed to read the slot (it owns it, or it is frozen).
    pub(crate) unsafe fn will_wake(&self, waker: &Waker) -> bool {
        // SAFETY: per the caller.
        self.waker
            .with(|p| unsafe { &*p }.as_ref().is_some_and(|w| w.will_wake(waker)))
    }
}
