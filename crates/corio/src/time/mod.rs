//! Timers: [`sleep()`], [`timeout()`] and [`interval()`].
//!
//! Everything here must be polled inside a corio runtime, whose timer driver wakes the
//! waiting tasks. Futures bind to the driver lazily, on first poll, so they can be created
//! anywhere. Resolution is one millisecond; deadlines are rounded *up* to the next
//! millisecond, so a timer never completes early (it may complete up to about a millisecond
//! late, plus scheduling delay).
//!
//! ```
//! use corio::time::{interval, sleep, timeout, Duration};
//!
//! corio::run(async {
//!     sleep(Duration::from_millis(5)).await;
//!     assert!(timeout(Duration::from_millis(5), std::future::pending::<()>()).await.is_err());
//!     let mut every = interval(Duration::from_millis(5));
//!     every.tick().await;
//! });
//! ```
//!
//! # Implementation
//!
//! ## The wheel
//!
//! Time is counted in ticks, whole milliseconds since the driver was created. Pending timers
//! live in a hierarchical timing wheel (`wheel/`): 6 levels of 64 slots, a slot on level `n`
//! spanning `64^n` ticks, so the wheel covers `2^36` ms (about 795 days) ahead. A timer goes on
//! the lowest level whose current turn contains its deadline, in the slot the deadline falls
//! in (computed from the highest bit in which deadline and current tick differ). Each level
//! keeps a `u64` bitmap of occupied slots, so the next slot to come due is found with one
//! `trailing_zeros` per level: O(levels), regardless of how many timers there are.
//!
//! When a slot above level 0 comes due (at the tick it begins), its timers *cascade*: each is
//! re-placed relative to the new current tick, landing on a lower level. A level-0 slot is a
//! single tick, so its timers fire. Deadlines past the top level's current turn are clamped
//! to the top level's slot 0, which comes due when the next turn begins; they are re-placed
//! then. The driver's next wake-up may therefore be a cascade point before the earliest
//! deadline, a wake-up that fires nothing: at most one per level on the way down.
//!
//! Timers are stored in a slab: a `Vec` of 32-byte entries (waker, deadline tick packed with
//! a generation, and `u32` links) with a free list, so memory is reused and never exceeds the
//! peak number of live timers. Each wheel slot is a circular doubly linked list through the
//! slab, headed by a sentinel entry, so adding or removing a timer is O(1). A [`Sleep`] holds
//! the key (index and generation) of its entry; it owns the entry from registration until it
//! completes or is dropped, even after the entry fires, so the key can never come to name
//! another timer's entry. There is no unsafe code in the wheel, and `Sleep` is `Unpin`.
//!
//! ## Locking and waking
//!
//! The driver (`driver.rs`) keeps the wheel behind one `std::sync::Mutex`. No user code runs
//! under that lock: wakers are cloned under it, but invoked and dropped only after it is
//! released, since a waker may do anything, including touching this driver.
//!
//! - `process` takes up to 32 due wakers at a time, releases the lock, wakes them, and
//!   re-locks for the next batch. A timer registered meanwhile is placed relative to the
//!   wheel's progress so far, so it still fires in this pass if it is due.
//! - `next_deadline` records the tick the parking thread will wake at. A registration from
//!   any thread that is due before it lowers that record and, after unlocking, calls
//!   `unpark`. Unpark is a token, so one racing with the park is not lost.
//! - A `Sleep` registers on first poll (or completes at once, without locking, if its
//!   deadline has passed). Later polls lock, complete if the entry has fired (freeing it),
//!   and otherwise swap in the new waker only if it would not wake the same task.
//! - `shutdown` fires every pending timer. Afterwards a `Sleep` that needs the driver panics
//!   rather than wait forever.

#![deny(unsafe_code)]

mod driver;
pub mod error;
mod interval;
mod sleep;
mod timeout;
mod wheel;

pub(crate) use driver::TimeDriver;
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use std::time::{Duration, Instant};
pub use timeout::{Timeout, timeout, timeout_at};

#[cfg(test)]
mod test_util;
