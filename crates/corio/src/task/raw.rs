//! Type-erased task pointers and the vtable that recovers the concrete cell.

use std::future::Future;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::task::Waker;

use super::Schedule;
use super::core::{Cell, Header};
use super::harness::Harness;
use super::id::Id;

pub(crate) struct Vtable {
    /// Runs the task: consumes the reference of a `Notified`.
    pub(crate) poll: unsafe fn(NonNull<Header>),
    /// Hands a `Notified` (one reference) to the task's scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Frees the cell; called once the refcount reaches zero.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// Reads the output into `*mut Poll<Result<T, JoinError>>` if complete, else stores the waker.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// Drops a `JoinHandle` (its reference and, if complete, the output).
    pub(crate) drop_join_handle_slow: unsafe fn(NonNull<Header>),
    /// Runtime shutdown: consumes the owned list's reference and cancels the task if idle.
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
    /// Byte offset of the trailer inside the concrete cell.
    pub(crate) trailer_offset: usize,
}

struct VtableOf<F, S>(PhantomData<(F, S)>);

impl<F: Future, S: Schedule> VtableOf<F, S> {
    const VTABLE: Vtable = Vtable {
        poll: poll::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle_slow: drop_join_handle_slow::<F, S>,
        shutdown: shutdown::<F, S>,
        trailer_offset: std::mem::offset_of!(Cell<F, S>, trailer),
    };
}

pub(crate) fn vtable<F: Future, S: Schedule>() -> &'static Vtable {
    &VtableOf::<F, S>::VTABLE
}

unsafe fn poll<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable belongs to a `Cell<F, S>`; the caller passes a live task pointer.
    unsafe { Harness::<F, S>::from_raw(ptr).poll() }
}

unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: as in `poll`; the caller transfers one reference, which the `Notified` now holds.
    unsafe { Harness::<F, S>::from_raw(ptr).schedule() }
}

unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: as in `poll`; the refcount is zero so nothing else can reach the cell.
    unsafe { Harness::<F, S>::from_raw(ptr).dealloc() }
}

unsafe fn try_read_output<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    // SAFETY: as in `poll`; the join handle passes a `Poll<Result<F::Output, JoinError>>` slot.
    unsafe { Harness::<F, S>::from_raw(ptr).try_read_output(dst.cast(), waker) }
}

unsafe fn drop_join_handle_slow<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: as in `poll`; called by the join handle's drop with its reference.
    unsafe { Harness::<F, S>::from_raw(ptr).drop_join_handle_slow() }
}

unsafe fn shutdown<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: as in `poll`; the caller transfers the owned list's reference.
    unsafe { Harness::<F, S>::from_raw(ptr).shutdown() }
}

/// A type-erased pointer to a task cell. Holds no reference by itself.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    /// Allocates a task cell holding three references (list, join handle, first `Notified`).
    pub(crate) fn new<F: Future, S: Schedule>(
        future: F,
        scheduler: S,
        id: Id,
        name: Option<Box<str>>,
        location: &'static std::panic::Location<'static>,
    ) -> RawTask {
        let cell = Cell::new(future, scheduler, id, name, location);
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        RawTask { ptr }
    }

    /// # Safety
    /// `ptr` must point to a live task cell.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn header_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a `RawTask` is only built for live cells and used while a reference is held.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn id(&self) -> Id {
        self.header().id
    }

    /// Consumes one reference (a `Notified`'s).
    pub(crate) fn poll(self) {
        // SAFETY: live cell; the vtable matches it.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// Consumes one reference and schedules the task.
    pub(crate) fn schedule(self) {
        // SAFETY: live cell; the vtable matches it.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    pub(crate) fn dealloc(self) {
        // SAFETY: live cell with no references left; the vtable matches it.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }

    /// # Safety
    /// `dst` must be a valid `*mut Poll<Result<T, JoinError>>` for this task's output type.
    pub(crate) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: per the caller; the vtable matches the cell.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    pub(crate) fn drop_join_handle_slow(self) {
        // SAFETY: live cell; the vtable matches it.
        unsafe { (self.header().vtable.drop_join_handle_slow)(self.ptr) }
    }

    /// Consumes one reference (the owned list's).
    pub(crate) fn shutdown(self) {
        // SAFETY: live cell; the vtable matches it.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    pub(crate) fn ref_inc(self) {
        self.header().state.ref_inc();
    }

    /// Drops one reference, freeing the cell if it was the last.
    pub(crate) fn drop_reference(self) {
        if self.header().state.ref_dec() {
            self.dealloc();
        }
    }
}
