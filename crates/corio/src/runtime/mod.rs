//! The runtime: a scheduler, a timer driver, and the entry points that run futures on them.
//!
//! ```
//! use corio::runtime::Builder;
//!
//! let rt = Builder::new_current_thread().build().unwrap();
//! let out = rt.block_on(async {
//!     let task = corio::spawn(async { "hello" });
//!     task.await.unwrap()
//! });
//! assert_eq!(out, "hello");
//! ```

mod builder;
pub(crate) mod clock;
pub(crate) mod context;
pub(crate) mod driver;
mod handle;
mod metrics;
pub(crate) mod monitor;
pub(crate) mod park;
pub(crate) mod spawn;

use std::fmt;
use std::future::Future;
use std::io;
use std::time::Duration;

pub use builder::{Builder, Flavor, IoDriverKind};
pub use context::TryCurrentError;
pub use handle::{EnterGuard, Handle, SpawnError};
pub use metrics::RuntimeMetrics;

use crate::scheduler::{self, current_thread, multi_thread};
use crate::task::JoinHandle;

/// An event loop (current-thread) or a pool of them (multi-thread), with timers.
///
/// Dropping the runtime shuts it down: every task still pending is cancelled (its future is
/// dropped, so destructors run) and worker threads are joined.
pub struct Runtime {
    handle: Handle,
    workers: Option<multi_thread::Workers>,
    /// The slow-poll monitor, if detection is on.
    monitor: Option<monitor::Monitor>,
    /// Set once shut down, so `Drop` does nothing more.
    shut_down: bool,
}

impl Runtime {
    /// A multi-thread runtime with one worker per available core.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    /// A builder for the default (multi-thread) flavor; see [`Builder`].
    pub fn builder() -> Builder {
        Builder::new_multi_thread()
    }

    pub(crate) fn from_builder(builder: &Builder) -> io::Result<Runtime> {
        let blocking = crate::blocking::BlockingPool::new(crate::blocking::Config {
            max_threads: builder.max_blocking_threads,
            keep_alive: builder.thread_keep_alive,
            thread_name: "corio-blocking".to_owned(),
            stack_size: builder.thread_stack_size,
        });
        let slow_poll = builder.resolved_slow_poll();
        let (inner, workers, hand_off) = match builder.flavor {
            Flavor::CurrentThread => {
                let handle = current_thread::Handle::new(
                    current_thread::Config {
                        event_interval: builder.event_interval,
                        global_queue_interval: builder.global_queue_interval,
                        detect: slow_poll.is_some(),
                        io_driver: builder.resolved_io_driver()?,
                    },
                    blocking,
                )?;
                (scheduler::Handle::CurrentThread(handle), None, false)
            }
            Flavor::MultiThread => {
                let extra_workers = match slow_poll {
                    Some(_) => builder.resolved_extra_workers(),
                    None => 0,
                };
                let (handle, workers) = multi_thread::start(
                    builder.resolved_worker_threads(),
                    multi_thread::Config {
                        event_interval: builder.event_interval,
                        global_queue_interval: builder.global_queue_interval,
                        detect: slow_poll.is_some(),
                        extra_workers,
                        thread_name: builder.thread_name.clone(),
                        stack_size: builder.thread_stack_size,
                        io_driver: builder.resolved_io_driver()?,
                    },
                    blocking,
                )?;
                (
                    scheduler::Handle::MultiThread(handle),
                    Some(workers),
                    extra_workers > 0,
                )
            }
        };
        inner.blocking().set_runtime(inner.clone());
        let mut runtime = Runtime {
            handle: Handle {
                inner: inner.clone(),
            },
            workers,
            monitor: None,
            shut_down: false,
        };
        if let Some(threshold) = slow_poll {
            // On failure `runtime` drops here, shutting down what was started.
            runtime.monitor = Some(monitor::Monitor::start(
                inner.watched(),
                monitor::Config::new(threshold, hand_off),
                &builder.thread_name,
            )?);
        }
        Ok(runtime)
    }

    /// Runs `future` to completion on this thread, driving the runtime, and returns its
    /// output. Like `asyncio.run`'s loop, minus the shutdown (that happens on drop).
    ///
    /// Panics if called from inside a runtime: blocking a loop thread would stall its tasks.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Spawns a task on this runtime; see [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// A handle to this runtime, for other threads.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Enters the runtime's context; see [`Handle::enter`].
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Shuts down, waiting at most `timeout` for worker threads to stop.
    ///
    /// Pending tasks are cancelled. A worker stuck in a blocking call past the timeout is
    /// abandoned (its thread keeps running until that call returns) rather than waited for.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = corio::runtime::Runtime::new().unwrap();
    /// rt.spawn(std::future::pending::<()>());
    /// rt.shutdown_timeout(Duration::from_millis(100));
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Shuts down without waiting for worker threads.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        if std::mem::replace(&mut self.shut_down, true) {
            return;
        }
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        // First, so no replacement worker starts while the workers stop.
        if let Some(mut monitor) = self.monitor.take() {
            monitor.stop();
        }
        match &self.handle.inner {
            scheduler::Handle::CurrentThread(handle) => {
                let _current = context::set_current(&self.handle.inner);
                handle.shutdown();
            }
            scheduler::Handle::MultiThread(handle) => {
                let workers = self.workers.take().expect("workers already taken");
                multi_thread::shutdown(handle, workers, timeout);
            }
        }
        // Whatever is left of the timeout goes to closures still running on the pool.
        let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
        self.handle.inner.blocking().shutdown(left);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flavor", &self.handle.flavor())
            .finish()
    }
}

/// Runs `future` on a new multi-thread runtime and shuts the runtime down afterwards, like
/// `asyncio.run`.
///
/// ```
/// let sum = corio::run(async {
///     let tasks: Vec<_> = (1..=4).map(|i| corio::spawn(async move { i * 10 })).collect();
///     let mut sum = 0;
///     for task in tasks {
///         sum += task.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 100);
/// ```
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    let rt = Runtime::new().expect("corio::run: failed to build the runtime");
    rt.block_on(future)
}
