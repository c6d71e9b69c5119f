//! `select` and `race`: the first of two futures to finish wins; the other is dropped.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// One of two values: which future of a [`select`] finished first, and its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Either<L, R> {
    /// The first future (`a`) finished first.
    Left(L),
    /// The second future (`b`) finished first.
    Right(R),
}

impl<L, R> Either<L, R> {
    /// True for `Left`.
    pub fn is_left(&self) -> bool {
        matches!(self, Either::Left(_))
    }

    /// True for `Right`.
    pub fn is_right(&self) -> bool {
        matches!(self, Either::Right(_))
    }

    /// The `Left` value, if it is one.
    pub fn left(self) -> Option<L> {
        match self {
            Either::Left(left) => Some(left),
            Either::Right(_) => None,
        }
    }

    /// The `Right` value, if it is one.
    pub fn right(self) -> Option<R> {
        match self {
            Either::Left(_) => None,
            Either::Right(right) => Some(right),
        }
    }
}

impl<T> Either<T, T> {
    /// The value, whichever side it is on.
    pub fn into_inner(self) -> T {
        match self {
            Either::Left(value) | Either::Right(value) => value,
        }
    }
}

/// Runs `a` and `b` concurrently and resolves to the output of whichever finishes first:
/// `Either::Left` for `a`, `Either::Right` for `b`.
///
/// The loser is dropped (cancelled) with the `Select`. To keep it, pass it by reference
/// (`&mut fut`, after pinning it with [`std::pin::pin!`]) and await it again later.
///
/// Fair: the two are polled in alternating order, so a future that is always ready cannot
/// starve the other. For a fixed order, or more than two futures, use
/// [`select!`](crate::select!). The futures-crate `select` (which returns the loser) is
/// `futures_util::future::select`.
///
/// # Examples
///
/// ```
/// use corio::future::{select, Either};
/// use corio::time::{sleep, Duration};
///
/// corio::run(async {
///     let slow = sleep(Duration::from_secs(60));
///     match select(slow, async { "ready" }).await {
///         Either::Left(()) => unreachable!("the sleep lost"),
///         Either::Right(message) => assert_eq!(message, "ready"),
///     }
/// });
/// ```
pub fn select<A: IntoFuture, B: IntoFuture>(a: A, b: B) -> Select<A::IntoFuture, B::IntoFuture> {
    Select {
        a: a.into_future(),
        b: b.into_future(),
        a_first: true,
    }
}

/// Runs `a` and `b` concurrently and resolves to the output of whichever finishes first,
/// dropping the other. Both must have the same output type; otherwise see [`select`].
///
/// Fair in the same way as [`select`]. A common use is racing work against a signal:
///
/// ```
/// use corio::future::race;
/// use corio::time::{sleep, Duration};
///
/// corio::run(async {
///     let work = async {
///         sleep(Duration::from_secs(60)).await;
///         "finished"
///     };
///     let deadline = async {
///         sleep(Duration::from_millis(5)).await;
///         "gave up"
///     };
///     assert_eq!(race(work, deadline).await, "gave up");
/// });
/// ```
pub fn race<A, B>(a: A, b: B) -> Race<A::IntoFuture, B::IntoFuture>
where
    A: IntoFuture,
    B: IntoFuture<Output = A::Output>,
{
    Race {
        select: select(a, b),
    }
}

/// Future returned by [`select`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Select<A, B> {
    /// Structurally pinned.
    a: A,
    /// Structurally pinned.
    b: B,
    /// Which one to poll first this time; flips every poll.
    a_first: bool,
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    #[allow(unsafe_code)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: pin projection. `a` and `b` are structurally pinned: they are only ever
        // exposed pinned (here), `Select` is `Unpin` only when both are (auto trait), it has
        // no `Drop` impl and is not `repr(packed)`, so they are dropped in place, never moved
        // while pinned. `a_first` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let mut a = unsafe { Pin::new_unchecked(&mut this.a) };
        let b = unsafe { Pin::new_unchecked(&mut this.b) };

        let a_first = this.a_first;
        this.a_first = !a_first;
        if a_first && let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(out));
        }
        if let Poll::Ready(out) = b.poll(cx) {
            return Poll::Ready(Either::Right(out));
        }
        if !a_first && let Poll::Ready(out) = a.poll(cx) {
            return Poll::Ready(Either::Left(out));
        }
        Poll::Pending
    }
}

impl<A, B> fmt::Debug for Select<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select").finish_non_exhaustive()
    }
}

/// Future returned by [`race`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Race<A, B> {
    /// Structurally pinned.
    select: Select<A, B>,
}

impl<A, B> Future for Race<A, B>
where
    A: Future,
    B: Future<Output = A::Output>,
{
    type Output = A::Output;

    #[allow(unsafe_code)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<A::Output> {
        // SAFETY: pin projection to the only field, which is structurally pinned as in
        // `Select::poll` (no `Drop`, not packed, `Unpin` only when the field is).
        let select = unsafe { self.map_unchecked_mut(|race| &mut race.select) };
        select.poll(cx).map(Either::into_inner)
    }
}

impl<A, B> fmt::Debug for Race<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Race").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! Run under Miri too: `cargo +nightly miri test -p corio --lib -- future::`.
    use super::*;
    use std::task::Waker;

    fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    /// Pending `n` times, then ready with `value`; keeps a borrow of its own local across the
    /// wait, so it is `!Unpin` and moving it would be caught by Miri.
    async fn after(n: usize, value: u32) -> u32 {
        let local = value;
        let borrowed = &local;
        for _ in 0..n {
            let mut yielded = false;
            std::future::poll_fn(|_| {
                if yielded {
                    Poll::Ready(())
                } else {
                    yielded = true;
                    Poll::Pending
                }
            })
            .await;
        }
        *borrowed
    }

    #[test]
    fn the_first_to_finish_wins() {
        let mut selected = std::pin::pin!(select(after(3, 1), after(1, 2)));
        assert!(poll_once(selected.as_mut()).is_pending());
        assert_eq!(poll_once(selected.as_mut()), Poll::Ready(Either::Right(2)));
    }

    #[test]
    fn polling_order_alternates() {
        // Both ready at once: the first poll prefers `a`, and a fresh select on its second
        // poll prefers `b`.
        let mut first = std::pin::pin!(race(after(0, 1), after(0, 2)));
        assert_eq!(poll_once(first.as_mut()), Poll::Ready(1));

        let mut second = std::pin::pin!(race(after(1, 1), after(1, 2)));
        assert!(poll_once(second.as_mut()).is_pending());
        assert_eq!(poll_once(second.as_mut()), Poll::Ready(2));
    }
}
