//! asyncio's queues: [`Queue`] (first in, first out), [`LifoQueue`] and [`PriorityQueue`].
//!
//! A queue carries items between tasks: any number of producers [`put`](Queue::put) items,
//! any number of consumers [`get`](Queue::get) them, each item reaching exactly one
//! consumer. A bounded queue (`maxsize > 0`) makes producers wait while it is full. Each
//! queue is a handle: clone it to give producers and consumers in other tasks (or threads)
//! their own. It also counts the items not yet processed, so that a producer can
//! [`join`](Queue::join) until consumers have marked every item done with
//! [`task_done`](Queue::task_done); and it can be [`shutdown`](Queue::shutdown), as in
//! Python 3.13.
//!
//! # A worker pool
//!
//! The example of asyncio's documentation: a queue of jobs (here, how long to sleep),
//! three workers, and `join` to wait until every job is done.
//!
//! ```
//! use std::time::Duration;
//! use corio::sync::queue::Queue;
//!
//! async fn worker(name: String, queue: Queue<Duration>) -> Duration {
//!     let mut slept = Duration::ZERO;
//!     // `get` fails once the queue is shut down and empty: the worker's signal to stop.
//!     while let Ok(sleep_for) = queue.get().await {
//!         corio::time::sleep(sleep_for).await;
//!         slept += sleep_for;
//!         // Notify the queue that the "work item" has been processed.
//!         queue.task_done().unwrap();
//!         println!("{name} has slept for {sleep_for:?}");
//!     }
//!     slept
//! }
//!
//! corio::run(async {
//!     // Create a queue that we will use to store our "workload".
//!     let queue = Queue::unbounded();
//!
//!     // Generate timings and put them into the queue.
//!     let mut total_sleep_time = Duration::ZERO;
//!     for n in 0..20 {
//!         let sleep_for = Duration::from_millis(1 + n % 5);
//!         total_sleep_time += sleep_for;
//!         queue.put_nowait(sleep_for).unwrap();
//!     }
//!
//!     // Create three worker tasks to process the queue concurrently.
//!     let workers: Vec<_> = (0..3)
//!         .map(|i| corio::spawn(worker(format!("worker-{i}"), queue.clone())))
//!         .collect();
//!
//!     // Wait until the queue is fully processed.
//!     let started_at = std::time::Instant::now();
//!     queue.join().await;
//!     let total_slept_for = started_at.elapsed();
//!
//!     // Shut the queue down: the workers' `get` fails, and they return. (asyncio's
//!     // example cancels them instead; `JoinHandle::abort` does that.)
//!     queue.shutdown(false);
//!     let mut slept = Duration::ZERO;
//!     for w in workers {
//!         slept += w.await.unwrap();
//!     }
//!     assert_eq!(slept, total_sleep_time);
//!     println!("3 workers slept in parallel for {total_slept_for:?}");
//!     println!("total expected sleep time: {total_sleep_time:?}");
//! });
//! ```
//!
//! # From asyncio
//!
//! | asyncio | corio |
//! |---|---|
//! | `asyncio.Queue(maxsize=0)` | [`Queue::new(0)`](Queue::new) or [`Queue::unbounded()`](Queue::unbounded) |
//! | `asyncio.LifoQueue`, `asyncio.PriorityQueue` | [`LifoQueue`], [`PriorityQueue`] (`T: Ord`) |
//! | passing the queue to each task | `queue.clone()`: another handle on the same queue |
//! | `await q.put(item)` | `q.put(item).await?` ([`QueueShutDown<T>`] hands the item back) |
//! | `q.put_nowait(item)` | `q.put_nowait(item)`, `Err(`[`PutNowaitError::Full`]`(item))` for `QueueFull` |
//! | `item = await q.get()` | `let item = q.get().await?` ([`QueueShutDown`] once shut down and empty) |
//! | `q.get_nowait()` | `q.get_nowait()`, `Err(`[`GetNowaitError::Empty`]`)` for `QueueEmpty` |
//! | `q.qsize()`, `q.empty()`, `q.full()`, `q.maxsize` | [`qsize()`](Queue::qsize), [`empty()`](Queue::empty), [`full()`](Queue::full), [`maxsize()`](Queue::maxsize) |
//! | `q.task_done()`, `ValueError` if called too often | [`task_done()`](Queue::task_done)` -> Result<(), `[`TaskDoneError`]`>` |
//! | `await q.join()` | [`q.join().await`](Queue::join) |
//! | `q.shutdown(immediate=False)` (3.13) | [`q.shutdown(false)`](Queue::shutdown) |
//! | `except asyncio.QueueShutDown` | `Err(QueueShutDown(..))`, [`PutNowaitError::ShutDown`], [`GetNowaitError::ShutDown`] |
//! | `maxsize <= 0` means unbounded | `maxsize` is a `usize`; 0 means unbounded |
//!
//! What differs, and why:
//!
//! - **Errors are values.** Where asyncio raises, corio returns a `Result`; the ones that
//!   refuse an item hand it back. `get` returns `Result` because a shut-down queue makes it
//!   fallible; `while let Ok(item) = queue.get().await` is the consumer loop.
//! - **Fair waiting.** Waiting `get`s are served in the order they started waiting, and so
//!   are waiting `put`s when room frees up. An item put while getters wait is *promised* to
//!   the first of them, and nobody else can take it, so a new `get` (or `get_nowait`) does
//!   not overtake the waiters: it may report [`GetNowaitError::Empty`] although
//!   [`qsize()`](Queue::qsize) counts the promised item until its getter runs. The same
//!   goes for a slot promised to a waiting `put`. (asyncio wakes the first waiter too, but
//!   lets others barge in before it runs.)
//! - **Threads.** The queues are `Send` and `Sync` when `T: Send`, and work across the
//!   worker threads of a multi-thread runtime. The non-waiting operations (`put_nowait`,
//!   `get_nowait`, `task_done`, `shutdown`, ...) can be called from any thread, even outside
//!   a runtime.
//!
//! # For tokio users
//!
//! tokio has no queue type; this is a multi-producer, multi-consumer channel (like the
//! `async-channel` crate) in which every handle may both put and get, plus `join` and
//! `task_done`. Unlike a channel's, a queue's life does not end when the handles of one
//! side are dropped: [`shutdown`](Queue::shutdown) ends it explicitly.
//!
//! # Cancellation
//!
//! Every waiting operation is cancellation-safe, so it can be raced with a timeout
//! ([`corio::time::timeout`](crate::time::timeout)) or another future:
//!
//! - a dropped `get` future took no item. If an item had already been promised to it, the
//!   item stays in the queue and is promised to the next `get` in line;
//! - a dropped `put` future put nothing (its item is dropped with it). If a free slot had
//!   been promised to it, the slot goes to the next `put` in line;
//! - a dropped `join` future changes nothing.
//!
//! ```
//! use std::time::Duration;
//! use corio::sync::queue::Queue;
//! use corio::time::timeout;
//!
//! corio::run(async {
//!     let queue = Queue::new(1);
//!     queue.put(1).await.unwrap();
//!     // The queue is full: this `put` times out, and 2 is not put.
//!     assert!(timeout(Duration::from_millis(5), queue.put(2)).await.is_err());
//!     assert_eq!(queue.get().await, Ok(1));
//!     // The queue is empty: this `get` times out, and takes nothing.
//!     assert!(timeout(Duration::from_millis(5), queue.get()).await.is_err());
//!     queue.put(3).await.unwrap();
//!     assert_eq!(queue.get().await, Ok(3));
//! });
//! ```
//!
//! # How it works
//!
//! The three queues are one implementation (`shared.rs`), generic over the buffer that
//! decides which item comes out next: a `VecDeque` ([`Queue`]), a `Vec` ([`LifoQueue`]),
//! a binary heap of `(item, sequence number)` ([`PriorityQueue`]). Each handle is an `Arc`
//! of one mutex-protected state: the items, counters, and three FIFO lists of waiting
//! tasks (getters, putters, joiners) kept in slabs, so that waiting allocates nothing once
//! they have grown. Each operation takes the lock once and wakes at most one task, after
//! releasing it (shutdown and a completed `join` wake all that wait). There is no
//! `unsafe`.

mod error;
mod fifo;
mod handle;
mod lifo;
mod priority;
mod shared;
mod waiters;

pub use error::{GetNowaitError, PutNowaitError, QueueShutDown, TaskDoneError};
pub use fifo::Queue;
pub use lifo::LifoQueue;
pub use priority::PriorityQueue;

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
