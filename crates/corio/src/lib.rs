//! corio: an asyncio-style async runtime for Rust.
//!
//! An **event loop** drives many **tasks** (coroutines); a task that waits yields, and the
//! loop runs another. corio offers asyncio's loop as a current-thread runtime and a
//! work-stealing multi-thread runtime that spreads tasks over every core.
//!
//! ```
//! use std::time::Duration;
//!
//! #[corio::main]
//! async fn main() {
//!     let greeter = corio::spawn(async {
//!         corio::time::sleep(Duration::from_millis(10)).await;
//!         "hello from a task"
//!     });
//!     println!("{}", greeter.await.unwrap());
//! }
//! ```
//!
//! Layers, each a module with one job:
//! - [`task`]: the task cell, join handles, ids and names;
//! - `scheduler`: current-thread and multi-thread schedulers, cooperative budget;
//! - [`time`]: the timing wheel, `sleep`, `timeout`, `interval`;
//! - [`runtime`]: builders, handles, entry points, and the driver the loops sleep in;
//! - `io`: the epoll reactor; [`net`]: TCP, UDP and Unix sockets on it;
//! - [`io_util`]: the futures-io traits and their conveniences; [`fs`]: files on the blocking
//!   pool, or as ring ops on io_uring;
//! - [`process`]: child processes with async pipes; [`signal`]: `ctrl_c` and signal streams;
//! - `blocking`: the thread pool behind [`spawn_blocking`] / [`to_thread`];
//! - [`sync`]: locks, semaphores, events, channels and queues;
//! - [`future`]: gather, race, wait, as_completed, shield; [`stream`]: async generators.

#![warn(missing_docs)]
// Loom builds compile only the loom models; helpers the other tests use look dead there.
#![cfg_attr(loom, allow(dead_code))]

mod blocking;
mod loom;
#[cfg(test)]
pub(crate) mod test_util;

pub mod fs;
pub mod future;
mod io;
pub mod io_util;
pub mod net;
pub mod process;
pub mod runtime;
mod scheduler;
pub mod signal;
pub mod stream;
pub mod sync;
pub mod task;
pub mod time;

pub use corio_macros::{main, test};
pub use runtime::{Runtime, run};
pub use task::{spawn, spawn_blocking, spawn_local, to_thread};

/// The asyncio → corio guide (`docs/asyncio-to-corio.md`), whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/asyncio-to-corio.md")]
pub struct AsyncioToCorioGuide;
