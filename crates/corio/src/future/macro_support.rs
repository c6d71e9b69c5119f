//! What the expansions of [`join!`](crate::join!), [`try_join!`](crate::try_join!) and
//! [`select!`](crate::select!) call. Public only so that expansions in other crates can reach
//! it; not part of the API.

use std::cell::Cell;
use std::hash::BuildHasher;
use std::task::Context;

pub use futures_util::future::{maybe_done, try_maybe_done};
pub use std::future::{Future, IntoFuture, poll_fn};
pub use std::pin::{Pin, pin};
pub use std::task::Poll;

use crate::scheduler::coop;

/// A branch's index from its `_` markers (one per branch before it).
pub const fn count(markers: &[&str]) -> u32 {
    markers.len() as u32
}

/// An empty output slot of the right type for `future`.
pub fn no_output<F: Future>(_future: &Pin<&mut F>) -> Option<F::Output> {
    None
}

/// `Pending` (after waking the task) once the task's cooperative budget is spent: the
/// runtime's own futures would report `Pending` anyway, and this keeps a `select!` over
/// other, always-ready futures from starving the task's neighbours.
pub fn poll_budget(cx: &mut Context<'_>) -> Poll<()> {
    if coop::has_budget_remaining() {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A pseudo-random number in `0..n` (`n > 0`), from a per-thread xorshift generator: cheap,
/// and only used to vary which branch is polled first.
pub fn random_below(n: u32) -> u32 {
    thread_local! {
        static STATE: Cell<u32> = Cell::new(seed());
    }
    let x = STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        state.set(x);
        x
    });
    // Multiply-shift maps 0..2^32 onto 0..n without division.
    ((u64::from(x) * u64::from(n)) >> 32) as u32
}

fn seed() -> u32 {
    // `RandomState` is seeded from the OS once per thread; any non-zero seed works.
    let hashed = std::collections::hash_map::RandomState::new().hash_one(0u8);
    (hashed as u32 ^ (hashed >> 32) as u32) | 1
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn random_below_covers_the_range() {
        let mut seen = [false; 5];
        for _ in 0..1000 {
            seen[random_below(5) as usize] = true;
        }
        assert_eq!(seen, [true; 5]);
        assert!((0..100).all(|_| random_below(1) == 0));
    }
}
