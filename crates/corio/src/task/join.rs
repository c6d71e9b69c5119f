//! `JoinHandle` and `AbortHandle`: the spawner's side of a task.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::core::Header;
use super::error::JoinError;
use super::id::Id;
use super::raw::RawTask;
use crate::scheduler::coop;

/// An owned permission to await a task's output, like the `Task` object `asyncio.create_task`
/// returns.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked or was cancelled.
/// Dropping it detaches the task: it keeps running.
///
/// ```
/// corio::run(async {
///     let handle = corio::spawn(async { 6 * 7 });
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
pub struct JoinHandle<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves `T` out (when it reads the output), so it may cross threads
// when `T` can; everything else goes through the atomic state protocol.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only reads the id and state, or aborts, all thread-safe.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `raw` must be a task whose output type is `T`, and the caller transfers the join
    /// handle's reference.
    pub(crate) unsafe fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancels the task: its future is dropped (at its next scheduling point, if it is running
    /// now) and awaiting this handle gives [`JoinError::Cancelled`]. A task that already
    /// finished keeps its output.
    ///
    /// ```
    /// corio::run(async {
    ///     let handle = corio::spawn(std::future::pending::<()>());
    ///     handle.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        abort(self.raw);
    }

    /// True once the task has finished (its output may not have been read yet).
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }

    /// The task's name, if it was spawned through [`Builder::name`](super::Builder::name).
    pub fn name(&self) -> Option<&str> {
        // SAFETY: the handle holds a reference, so the cell (and its trailer) is live.
        unsafe { Header::trailer(self.raw.header_ptr()) }
            .name
            .as_deref()
    }

    /// Where the task was spawned (the caller of `spawn`).
    ///
    /// ```
    /// corio::run(async {
    ///     let handle = corio::spawn(async {});
    ///     assert_eq!(handle.spawn_location().line(), line!() - 1);
    /// });
    /// ```
    pub fn spawn_location(&self) -> &'static std::panic::Location<'static> {
        // SAFETY: as in `name`.
        unsafe { Header::trailer(self.raw.header_ptr()) }.location
    }

    /// A cloneable handle that can abort the task without owning its output.
    pub fn abort_handle(&self) -> AbortHandle {
        self.raw.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

fn abort(raw: RawTask) {
    if raw.header().state.transition_to_notified_and_cancel() {
        // The task was idle: it now holds a new `Notified`; let the scheduler run the cancel.
        raw.schedule();
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = ready!(coop::poll_proceed(cx));
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `out` has the type this task's vtable writes.
        unsafe {
            self.raw.try_read_output((&raw mut out).cast(), cx.waker());
        }
        if out.is_ready() {
            coop.made_progress();
        }
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if self.raw.header().state.drop_join_handle_fast() {
            return;
        }
        self.raw.drop_join_handle_slow();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// Aborts a task without owning its output; cheap to clone.
pub struct AbortHandle {
    raw: RawTask,
}

// SAFETY: an abort handle only touches the atomic state and the scheduler (which is Sync).
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// Cancels the task, as [`JoinHandle::abort`].
    pub fn abort(&self) {
        abort(self.raw);
    }

    /// True once the task has finished.
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        self.raw.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}
