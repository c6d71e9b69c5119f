//! `try_join_all`: await many fallible futures, stopping at the first error.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::future::TryFuture;
use futures_util::future::{IntoFuture as TryIntoFuture, TryFutureExt};

use super::set::FutureSet;

/// Runs every future concurrently on the current task and resolves to `Ok` with all their
/// outputs in input order, or to the first `Err` as soon as one future fails.
///
/// On the first error the other futures are dropped (cancelled) at once, before the error is
/// returned. This is asyncio's `gather` without `return_exceptions`, except that asyncio
/// leaves the others running: a future here cannot outlive its awaiter unless it was
/// [`spawn`](crate::spawn)ed, and a dropped [`JoinHandle`](crate::task::JoinHandle) does keep
/// its task running.
///
/// Like [`join_all`](super::join_all), each future is polled only when its waker fires.
///
/// # Examples
///
/// ```
/// use corio::future::try_join_all;
///
/// corio::run(async {
///     let parsed = try_join_all(["1", "2", "3"].map(|s| async move { s.parse::<u32>() })).await;
///     assert_eq!(parsed, Ok(vec![1, 2, 3]));
///
///     let failed = try_join_all(["1", "x"].map(|s| async move { s.parse::<u32>() })).await;
///     assert!(failed.is_err());
/// });
/// ```
pub fn try_join_all<I>(futures: I) -> TryJoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
    <I::Item as IntoFuture>::IntoFuture: TryFuture,
{
    let set = FutureSet::new(
        futures
            .into_iter()
            .map(|future| TryFutureExt::into_future(future.into_future())),
    );
    let outputs = std::iter::repeat_with(|| None).take(set.len()).collect();
    TryJoinAll {
        set,
        outputs,
        finished: false,
    }
}

/// Future returned by [`try_join_all`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TryJoinAll<F: TryFuture> {
    set: FutureSet<TryIntoFuture<F>>,
    /// `outputs[i]`: the value of future `i`, once it succeeded.
    outputs: Vec<Option<F::Ok>>,
    finished: bool,
}

impl<F: TryFuture> Future for TryJoinAll<F> {
    type Output = Result<Vec<F::Ok>, F::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        assert!(!this.finished, "`TryJoinAll` polled after completion");
        loop {
            match ready!(this.set.poll_next(cx)) {
                Some((index, Ok(value))) => this.outputs[index] = Some(value),
                Some((_, Err(error))) => {
                    this.finished = true;
                    this.set.clear();
                    return Poll::Ready(Err(error));
                }
                None => {
                    this.finished = true;
                    let outputs = std::mem::take(&mut this.outputs);
                    return Poll::Ready(Ok(outputs
                        .into_iter()
                        .map(|value| value.expect("every future succeeded"))
                        .collect()));
                }
            }
        }
    }
}

// Outputs are never pinned, and the futures are pinned behind a box.
impl<F: TryFuture> Unpin for TryJoinAll<F> {}

impl<F: TryFuture> fmt::Debug for TryJoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryJoinAll")
            .field("len", &self.set.len())
            .field("remaining", &self.set.remaining())
            .finish()
    }
}
