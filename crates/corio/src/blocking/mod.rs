//! Blocking work off the event loop: `spawn_blocking` and `to_thread`.
//!
//! FastAPI's rule, made a function: a call that blocks (file I/O without an async API, a CPU
//! burst, a synchronous client) must not run on a loop thread, or every other task on that
//! loop stops with it. Hand it to the blocking pool instead and await the result.

mod pool;
mod task;

use std::panic::Location;

pub(crate) use pool::{BlockingPool, Config};

use self::pool::SpawnFailed;
use self::task::{BlockingSchedule, BlockingTask};
use crate::runtime::{Handle, SpawnError, context};
use crate::task::{JoinError, JoinHandle};

/// Runs `func` on the blocking pool and returns a handle to its result.
///
/// The pool grows on demand up to [`Builder::max_blocking_threads`] threads (default 512);
/// idle threads exit after [`Builder::thread_keep_alive`] (default 10 s). Aborting the handle
/// before the closure starts cancels it; once running, a closure runs to completion.
///
/// Panics outside a runtime, or if the runtime has shut down.
///
/// [`Builder::max_blocking_threads`]: crate::runtime::Builder::max_blocking_threads
/// [`Builder::thread_keep_alive`]: crate::runtime::Builder::thread_keep_alive
///
/// ```
/// corio::run(async {
///     let digest = corio::task::spawn_blocking(|| {
///         // Stand-in for CPU-heavy or blocking work.
///         (1..=10u64).product::<u64>()
///     });
///     assert_eq!(digest.await.unwrap(), 3_628_800);
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(func: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let location = Location::caller();
    match context::with_current(|h| Handle { inner: h.clone() }) {
        Ok(handle) => match handle.spawn_blocking_at(func, location) {
            Ok(join) => join,
            Err(err) => panic!("corio::spawn_blocking: {err}"),
        },
        Err(err) => panic!("corio::spawn_blocking: {err}"),
    }
}

/// Runs `func` on the blocking pool and waits for it, like `asyncio.to_thread`.
///
/// ```
/// corio::run(async {
///     let text = corio::task::to_thread(|| std::fs::read_to_string("Cargo.toml"))
///         .await
///         .unwrap()
///         .unwrap();
///     assert!(text.contains("corio"));
/// });
/// ```
#[track_caller]
pub fn to_thread<F, R>(func: F) -> impl Future<Output = Result<R, JoinError>> + Send + 'static
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    spawn_blocking(func)
}

impl Handle {
    /// Runs `func` on this runtime's blocking pool; see [`spawn_blocking`].
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        match self.spawn_blocking_at(func, Location::caller()) {
            Ok(join) => join,
            Err(err) => panic!("corio::spawn_blocking: {err}"),
        }
    }

    /// As [`Handle::spawn_blocking`], but a runtime that has shut down is an `Err`.
    #[track_caller]
    pub fn try_spawn_blocking<F, R>(&self, func: F) -> Result<JoinHandle<R>, SpawnError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_blocking_at(func, Location::caller())
            .map_err(|_| SpawnError)
    }

    fn spawn_blocking_at<F, R>(
        &self,
        func: F,
        location: &'static Location<'static>,
    ) -> Result<JoinHandle<R>, BlockingError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.inner.blocking();
        // The pool checks for shutdown under its lock; a refused task is cancelled below.
        let (join, notified) =
            crate::task::unowned(BlockingTask::new(func), BlockingSchedule, None, location);
        match pool.spawn(notified) {
            Ok(()) => Ok(join),
            Err(SpawnFailed::Shutdown(task)) => {
                task.into_raw().shutdown();
                Err(BlockingError::Shutdown)
            }
            Err(SpawnFailed::NoThread(task, err)) => {
                task.into_raw().shutdown();
                Err(BlockingError::NoThread(err))
            }
        }
    }
}

#[derive(Debug)]
enum BlockingError {
    Shutdown,
    NoThread(std::io::Error),
}

impl std::fmt::Display for BlockingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockingError::Shutdown => {
                f.write_str("the runtime is shutting down; its blocking pool accepts no more work")
            }
            BlockingError::NoThread(err) => {
                write!(f, "could not start a blocking-pool thread: {err}")
            }
        }
    }
}
