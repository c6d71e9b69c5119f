//! `join_all` / `gather`: await many futures of one type, outputs in input order.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::set::FutureSet;

/// Runs every future concurrently on the current task and resolves to all their outputs, in
/// the order the futures were given (not the order they finished), like `asyncio.gather`.
///
/// Each future is polled only when its own waker fires, so awaiting thousands of futures
/// costs O(1) per wake-up, not O(number of futures). Every future runs to completion: an
/// output that is a `Result::Err` is just an output (asyncio's `return_exceptions=True`). To
/// stop at the first error and cancel the rest, use [`try_join_all`](super::try_join_all).
///
/// The futures run on the awaiting task, interleaved, not in parallel; to use several worker
/// threads, [`spawn`](crate::spawn) them and join the handles.
///
/// Dropping the returned future drops (cancels) the futures that have not finished.
///
/// # Examples
///
/// ```
/// use corio::future::join_all;
/// use corio::time::{sleep, Duration};
///
/// corio::run(async {
///     let delays = [30, 10, 20];
///     let outputs = join_all(delays.map(|ms| async move {
///         sleep(Duration::from_millis(ms)).await;
///         ms
///     }))
///     .await;
///     assert_eq!(outputs, [30, 10, 20]);
/// });
/// ```
pub fn join_all<I>(futures: I) -> JoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let set = FutureSet::new(futures.into_iter().map(IntoFuture::into_future));
    let outputs = std::iter::repeat_with(|| None).take(set.len()).collect();
    JoinAll { set, outputs }
}

/// asyncio's name for [`join_all`]: the same function.
///
/// ```
/// corio::run(async {
///     let squares = corio::future::gather((1..=3).map(|n| async move { n * n })).await;
///     assert_eq!(squares, [1, 4, 9]);
/// });
/// ```
pub fn gather<I>(futures: I) -> JoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    join_all(futures)
}

/// Future returned by [`join_all`] and [`gather`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct JoinAll<F: Future> {
    set: FutureSet<F>,
    /// `outputs[i]`: the output of future `i`, once it finished.
    outputs: Vec<Option<F::Output>>,
}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        let this = &mut *self;
        assert!(
            this.outputs.len() == this.set.len(),
            "`JoinAll` polled after completion"
        );
        while let Some((index, output)) = std::task::ready!(this.set.poll_next(cx)) {
            this.outputs[index] = Some(output);
        }
        let outputs = std::mem::take(&mut this.outputs);
        Poll::Ready(
            outputs
                .into_iter()
                .map(|output| output.expect("every future finished"))
                .collect(),
        )
    }
}

// Outputs are never pinned, and the futures are pinned behind a box.
impl<F: Future> Unpin for JoinAll<F> {}

impl<F: Future> fmt::Debug for JoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll")
            .field("len", &self.set.len())
            .field("remaining", &self.set.remaining())
            .finish()
    }
}
