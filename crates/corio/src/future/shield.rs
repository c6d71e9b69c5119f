//! `shield`: protect work from the cancellation of whoever awaits it.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use crate::task::{AbortHandle, JoinHandle};

/// Protects `future` from cancellation, like `asyncio.shield`: it is spawned as its own task
/// at once, and the returned [`Shield`] only waits for its output.
///
/// Dropping the `Shield` (because a [`timeout`](crate::time::timeout) expired, a
/// [`select!`](crate::select!) branch lost, or the awaiting task was aborted) does not touch
/// the work: the task keeps running to completion, and its output is then dropped. Awaiting
/// the `Shield` gives the output; if the task panicked, the panic resumes in the awaiter.
///
/// Because the work becomes a task, `future` and its output must be `Send + 'static`, and
/// `shield` must be called inside a corio runtime (it panics otherwise, as `spawn` does).
/// The work is then cancelled only by [`Shield::abort`] or by the runtime shutting down.
///
/// A [`JoinHandle`] is already a shield of sorts: dropping it does not cancel its task.
///
/// # Examples
///
/// ```
/// use corio::future::shield;
/// use corio::sync::oneshot;
/// use corio::time::{sleep, timeout, Duration};
///
/// corio::run(async {
///     let (saved_tx, saved_rx) = oneshot::channel();
///     let save = async move {
///         sleep(Duration::from_millis(50)).await;
///         let _ = saved_tx.send("saved");
///     };
///     // The timeout gives up on waiting, but the save itself carries on.
///     assert!(timeout(Duration::from_millis(1), shield(save)).await.is_err());
///     assert_eq!(saved_rx.await, Ok("saved"));
/// });
/// ```
#[track_caller]
pub fn shield<F>(future: F) -> Shield<F::Output>
where
    F: IntoFuture,
    F::IntoFuture: Send + 'static,
    F::Output: Send + 'static,
{
    Shield {
        task: crate::spawn(future.into_future()),
    }
}

/// Future returned by [`shield`]: resolves to the shielded work's output.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Shield<T> {
    task: JoinHandle<T>,
}

impl<T> Shield<T> {
    /// A handle that can cancel the shielded work after all (asyncio: cancelling the inner
    /// task itself). Awaiting the `Shield` then panics.
    pub fn abort_handle(&self) -> AbortHandle {
        self.task.abort_handle()
    }

    /// Cancels the shielded work. Awaiting the `Shield` afterwards panics, unless the work
    /// had already finished.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// True once the shielded work has finished.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The task running the work, to await as a [`JoinHandle`] (which reports a panic or a
    /// cancellation as a [`JoinError`](crate::task::JoinError) instead of panicking).
    pub fn into_join_handle(self) -> JoinHandle<T> {
        self.task
    }
}

impl<T> Future for Shield<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match ready!(Pin::new(&mut self.task).poll(cx)) {
            Ok(output) => Poll::Ready(output),
            Err(error) => error.resume_panic(),
        }
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield").field("task", &self.task).finish()
    }
}
