//! Combinators over futures, as asyncio has them: gather, wait, as_completed, shield, and
//! tokio's `join!` / `select!`.
//!
//! | asyncio | corio |
//! |---|---|
//! | `await asyncio.gather(*aws)` | [`gather`] / [`join_all`]; [`join!`](crate::join!) for mixed types |
//! | `gather`, failing on the first error | [`try_join_all`], [`try_join!`](crate::try_join!) |
//! | `asyncio.wait(aws, return_when=...)` | [`wait`] with [`ReturnWhen`] |
//! | `asyncio.as_completed(aws)` | [`as_completed`] (a `Stream`) |
//! | `asyncio.wait_for(aw, timeout)` | [`timeout`], [`timeout_at`] (from [`time`](crate::time)) |
//! | `asyncio.shield(aw)` | [`shield`] |
//! | the first of several, cancelling the rest | [`select!`](crate::select!), [`select`], [`race`] |
//!
//! Everything here runs its futures *concurrently on the awaiting task*: interleaved, not in
//! parallel, and only while the combinator is being awaited. Dropping a combinator drops the
//! futures it holds, which cancels them (Rust futures do nothing unless polled). To run work
//! in parallel on the worker threads, or to keep it going regardless of the awaiter, spawn it
//! ([`crate::spawn`]) and combine the [`JoinHandle`](crate::task::JoinHandle)s, which these
//! functions accept like any other future; [`shield`] does exactly that.
//!
//! ```
//! use corio::future::{join_all, race};
//! use corio::time::{sleep, Duration};
//!
//! corio::run(async {
//!     let pages = join_all((1..=3).map(|page| async move { page * 10 })).await;
//!     assert_eq!(pages, [10, 20, 30]);
//!
//!     let first = race(
//!         async { sleep(Duration::from_millis(50)).await; "slow" },
//!         async { "fast" },
//!     )
//!     .await;
//!     assert_eq!(first, "fast");
//! });
//! ```
//!
//! # How the many-future combinators work
//!
//! [`join_all`], [`try_join_all`], [`as_completed`] and [`wait`] share one engine
//! (`set.rs`): the futures sit in one pinned allocation, and each gets its own waker that
//! records its index in a ready queue (`ready_queue.rs`) and wakes the awaiting task. A poll
//! takes the queue and polls only those futures, so a wake-up costs O(1) however many
//! futures there are, the design of `futures::stream::FuturesUnordered`. The macros poll each
//! of their few futures on every wake-up instead, which is cheaper at that size.

// The two pin projections (`set.rs`, `select.rs`) opt in where they stand.
#![deny(unsafe_code)]

mod as_completed;
mod join_all;
mod join_macro;
// Public for the macros' expansions in other crates; not part of the API.
#[doc(hidden)]
pub mod macro_support;
mod ready_queue;
mod select;
mod select_macro;
mod set;
mod shield;
mod try_join_all;
mod wait;

pub use as_completed::{AsCompleted, as_completed};
pub use join_all::{JoinAll, gather, join_all};
pub use select::{Either, Race, Select, race, select};
pub use shield::{Shield, shield};
pub use try_join_all::{TryJoinAll, try_join_all};
pub use wait::{ReturnWhen, Wait, wait};

pub use crate::time::{timeout, timeout_at};
