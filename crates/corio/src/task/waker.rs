//! `Waker`s that point straight at a task cell: each owned waker is one task reference.

use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::core::Header;
use super::raw::RawTask;
use super::state::Wake;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// Builds a waker that owns one reference to the task.
///
/// # Safety
/// `header` must point to a live task cell, and the caller must transfer (or, with
/// `ManuallyDrop`, lend) one reference to the waker.
pub(crate) unsafe fn from_raw(header: NonNull<Header>) -> Waker {
    let raw = RawWaker::new(header.as_ptr().cast_const().cast(), &VTABLE);
    // SAFETY: the vtable functions below uphold the `RawWaker` contract for task pointers.
    unsafe { Waker::from_raw(raw) }
}

/// # Safety
/// `ptr` must come from a waker built by `from_raw` and still hold its reference.
unsafe fn raw(ptr: *const ()) -> RawTask {
    // SAFETY: per the caller, `ptr` is a live, non-null task pointer.
    unsafe { RawTask::from_raw(NonNull::new_unchecked(ptr.cast_mut().cast())) }
}

unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: `ptr` comes from a live waker (RawWaker contract).
    unsafe { raw(ptr) }.ref_inc();
    RawWaker::new(ptr, &VTABLE)
}

unsafe fn wake(ptr: *const ()) {
    // SAFETY: `ptr` comes from a live waker whose reference we now consume.
    let task = unsafe { raw(ptr) };
    match task.header().state.transition_to_notified_by_val() {
        Wake::Submit => task.schedule(),
        Wake::Dealloc => task.dealloc(),
        Wake::DoNothing => {}
    }
}

unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: `ptr` comes from a live waker (RawWaker contract).
    let task = unsafe { raw(ptr) };
    match task.header().state.transition_to_notified_by_ref() {
        Wake::Submit => task.schedule(),
        Wake::DoNothing => {}
        Wake::Dealloc => unreachable!("a borrowed wake never drops a reference"),
    }
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: `ptr` comes from a live waker whose reference we now release.
    unsafe { raw(ptr) }.drop_reference();
}
