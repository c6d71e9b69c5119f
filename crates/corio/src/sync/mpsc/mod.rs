//! Multi-producer, single-consumer channels: asyncio's `Queue` between tasks, with an owner
//! on each end.
//!
//! [`channel`] makes a bounded channel: a send waits while `capacity` values are queued
//! (backpressure), and the senders that wait get capacity in the order they started
//! waiting. [`unbounded_channel`] makes one whose sends never wait, so plain threads can
//! send too. Senders are cloned for more producers; the one receiver gets every value
//! exactly once, each sender's values in the order it sent them. Once every sender is
//! dropped, the receiver gets the values still queued, then `None`.
//!
//! ```
//! use corio::sync::mpsc;
//!
//! corio::run(async {
//!     let (tx, mut rx) = mpsc::channel(16);
//!     for worker in 0..4 {
//!         let tx = tx.clone();
//!         corio::spawn(async move {
//!             for job in 0..10 {
//!                 tx.send((worker, job)).await.unwrap();
//!             }
//!         });
//!     }
//!     drop(tx); // the workers hold the only senders now
//!
//!     let mut done = 0;
//!     while let Some((_worker, _job)) = rx.recv().await {
//!         done += 1;
//!     }
//!     assert_eq!(done, 40);
//! });
//! ```
//!
//! The API follows `tokio::sync::mpsc`: the same types, methods and errors (in [`error`]),
//! with the same close semantics; `blocking_send`/`blocking_recv` serve plain threads. Not
//! provided: `reserve_many`.
//!
//! # How it works
//!
//! Both flavors share one core (`chan.rs`) and differ only in capacity accounting.
//!
//! - **The queue** (`queue.rs`) is lock-free: a linked list of blocks of 31 slots. A send
//!   claims a position with one compare-exchange on the tail index, writes the value and
//!   sets the slot's `WRITTEN` bit; the receiver, alone at the head, reads slots in order.
//!   Blocks the receiver finishes are reset and reused, so a channel that keeps up does
//!   not allocate.
//! - **Waking the receiver** costs a send nothing unless the receiver sleeps: before it
//!   sleeps, the receiver marks the one slot it waits for (`RX_WAITING`, in the same word
//!   as `WRITTEN`), so only that slot's sender wakes it, through an `AtomicWaker`.
//! - **Capacity** (bounded, `permits.rs`) is a permit counter: one compare-exchange to take
//!   a permit, one `fetch_add` to give it back when the value is received. Senders that
//!   find none queue in a FIFO line under a mutex, and permits given back go to the head
//!   of the line; while anyone waits, nobody jumps the line.
//! - **Closing.** The last sender's drop closes the queue: its tail index is frozen, and
//!   the receiver gets `None` once it reaches it. [`Receiver::close`] (or dropping the
//!   receiver) closes the permits of a bounded channel (a sender already holding a
//!   [`Permit`] may still send, and that value is received), or the queue itself for an
//!   unbounded one.
//!
//! Cancel safety: dropping a pending `send`/`reserve` never loses capacity (a permit
//! granted to it passes to the next sender in line), and dropping a pending `recv` takes
//! no value. Receives spend the task's cooperative budget, so a task that always finds a
//! value still lets its neighbours run.

mod bounded;
mod chan;
pub mod error;
mod permits;
mod queue;
mod unbounded;
pub(crate) mod waker_set;

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;

/// Waits for `future` on this plain thread, for the `blocking_*` methods.
///
/// Panics on a thread that drives tasks: blocking it would stall them all.
#[track_caller]
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let _not_in_a_runtime = crate::runtime::context::enter_runtime();
    crate::runtime::park::block_on_parked(future)
}

pub use bounded::{OwnedPermit, Permit, Receiver, Sender, WeakSender, channel};
pub use error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
pub use unbounded::{UnboundedReceiver, UnboundedSender, WeakUnboundedSender, unbounded_channel};
