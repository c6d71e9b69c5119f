//! `as_completed`: a stream of outputs in the order the futures finish.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_core::stream::FusedStream;

use super::set::FutureSet;

/// Runs every future concurrently on the current task and yields their outputs as they
/// finish, fastest first, like `asyncio.as_completed`.
///
/// The stream ends after the last output. Each future is polled only when its waker fires.
/// Dropping the stream drops (cancels) the futures that have not finished. To know which
/// future an output came from, make the future return its own tag, as below.
///
/// The futures make progress only while the stream is being polled (awaiting its next item),
/// as with everything that runs on the awaiting task.
///
/// # Examples
///
/// ```
/// use corio::future::as_completed;
/// use corio::time::{sleep, Duration};
/// use futures_util::StreamExt;
///
/// corio::run(async {
///     let mut finished = as_completed([30, 10, 20].map(|ms| async move {
///         sleep(Duration::from_millis(ms)).await;
///         ms
///     }));
///     let mut order = Vec::new();
///     while let Some(ms) = finished.next().await {
///         order.push(ms);
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    AsCompleted {
        set: FutureSet::new(futures.into_iter().map(IntoFuture::into_future)),
    }
}

/// Stream returned by [`as_completed`].
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F> {
    set: FutureSet<F>,
}

impl<F: Future> AsCompleted<F> {
    /// How many futures have not finished yet.
    pub fn remaining(&self) -> usize {
        self.set.remaining()
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.set
            .poll_next(cx)
            .map(|finished| finished.map(|(_, output)| output))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.set.remaining(), Some(self.set.remaining()))
    }
}

impl<F: Future> FusedStream for AsCompleted<F> {
    fn is_terminated(&self) -> bool {
        self.set.remaining() == 0
    }
}

impl<F> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("set", &self.set)
            .finish()
    }
}
