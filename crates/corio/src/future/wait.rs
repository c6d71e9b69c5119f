//! `wait`: wait for some of many fallible futures, getting the rest back unfinished.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::set::FutureSet;

/// When [`wait`] returns, as asyncio's `return_when`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any future finishes.
    FirstCompleted,
    /// As soon as any future finishes with `Err`, or when all have finished.
    FirstException,
    /// When every future has finished.
    AllCompleted,
}

/// Waits until some of `futures` have finished, as [`ReturnWhen`] says, and resolves to
/// `(done, pending)`: the outputs of the finished futures in the order they finished, and the
/// unfinished futures themselves, untouched, in input order. Like `asyncio.wait`.
///
/// # Why this shape
///
/// asyncio's `wait` takes tasks, returns the finished *tasks*, and leaves the others running.
/// Here:
///
/// - The futures are any `Unpin` futures whose output is a `Result`; that includes
///   [`JoinHandle`](crate::task::JoinHandle)s (asyncio's tasks: a `JoinError` is the
///   "exception") and boxed futures (`Pin<Box<dyn Future<Output = Result<..>> + Send>>`).
///   `Result` is what gives [`ReturnWhen::FirstException`] a meaning. A task whose own output
///   is a `Result` gives `Result<Result<T, E>, JoinError>`, where only the `JoinError` counts
///   as an exception; map the handle to flatten the two (with `futures_util::FutureExt::map`)
///   to count both.
/// - `done` holds outputs rather than finished futures, since a Rust future is consumed by
///   finishing. Tag the output (return `(id, value)`) if you need to know which was which;
///   a [`JoinError`](crate::task::JoinError) says nothing about its task.
/// - `Unpin` is what lets `pending` hand the unfinished futures back by value, so you can
///   wait on them again, await them, or drop them. Dropping a pending `JoinHandle` leaves its
///   task running (call `abort` to cancel it); dropping any other future cancels it.
///
/// `done` also holds every future found finished along with the one that met the condition
/// (all the ready ones, not just the first). With no futures at all, `wait` resolves at once
/// to two empty vectors (asyncio raises `ValueError`). Dropping the `Wait` future drops the
/// futures it holds.
///
/// # Examples
///
/// ```
/// use corio::future::{wait, ReturnWhen};
/// use corio::time::{sleep, Duration};
///
/// corio::run(async {
///     let tasks: Vec<_> = [100, 1, 200]
///         .map(|ms| corio::spawn(async move {
///             sleep(Duration::from_millis(ms)).await;
///             ms
///         }))
///         .into();
///
///     let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted).await;
///     assert_eq!(done.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [1]);
///     assert_eq!(pending.len(), 2);
///
///     let (done, pending) = wait(pending, ReturnWhen::AllCompleted).await;
///     assert_eq!(done.len(), 2);
///     assert!(pending.is_empty());
/// });
/// ```
pub fn wait<I, T, E>(
    futures: I,
    return_when: ReturnWhen,
) -> Wait<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
    <I::Item as IntoFuture>::IntoFuture: Unpin,
{
    Wait {
        set: Some(FutureSet::new(
            futures.into_iter().map(IntoFuture::into_future),
        )),
        done: Vec::new(),
        return_when,
    }
}

/// Future returned by [`wait`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Wait<F: Future> {
    /// `None` once resolved.
    set: Option<FutureSet<F>>,
    /// Outputs so far, in the order the futures finished.
    done: Vec<F::Output>,
    return_when: ReturnWhen,
}

impl<F, T, E> Future for Wait<F>
where
    F: Future<Output = Result<T, E>> + Unpin,
{
    type Output = (Vec<Result<T, E>>, Vec<F>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let set = this.set.as_mut().expect("`Wait` polled after completion");
        let mut condition_met = false;
        loop {
            match set.poll_next(cx) {
                Poll::Ready(Some((_, output))) => {
                    condition_met |= match this.return_when {
                        ReturnWhen::FirstCompleted => true,
                        ReturnWhen::FirstException => output.is_err(),
                        ReturnWhen::AllCompleted => false,
                    };
                    this.done.push(output);
                }
                // All finished: every condition holds.
                Poll::Ready(None) => break,
                // Keep collecting until nothing more is ready, then report if we may.
                Poll::Pending if condition_met => break,
                Poll::Pending => return Poll::Pending,
            }
        }
        let set = this.set.take().expect("checked above");
        Poll::Ready((std::mem::take(&mut this.done), set.into_pending()))
    }
}

// Outputs are never pinned, and the futures are pinned behind a box.
impl<F: Future> Unpin for Wait<F> {}

impl<F: Future> fmt::Debug for Wait<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("set", &self.set)
            .field("done", &self.done.len())
            .field("return_when", &self.return_when)
            .finish()
    }
}
