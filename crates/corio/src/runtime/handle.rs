//! `Handle`: a cloneable reference to a runtime, usable from any thread.

use std::fmt;
use std::future::Future;
use std::panic::Location;

use super::context::{self, TryCurrentError};
use crate::scheduler;
use crate::task::JoinHandle;

pub(crate) const SHUT_DOWN: &str = "corio: cannot spawn a task: the runtime has shut down \
    (it was dropped or shut down with shutdown_timeout); build a new runtime, or use \
    Handle::try_spawn to handle this case";

/// A reference to a runtime: spawn onto it, or enter it, from any thread.
///
/// ```
/// use corio::runtime::Runtime;
///
/// let rt = Runtime::new().unwrap();
/// let handle = rt.handle().clone();
/// let answer = std::thread::spawn(move || {
///     // Not a runtime thread: spawn through the handle, then wait.
///     let task = handle.spawn(async { 21 * 2 });
///     handle.block_on(task).unwrap()
/// })
/// .join()
/// .unwrap();
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

/// The runtime refused a task because it has shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpawnError;

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot spawn a task: the runtime has shut down")
    }
}

impl std::error::Error for SpawnError {}

impl Handle {
    /// The handle of the runtime this thread is in. Panics outside a runtime.
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(handle) => handle,
            Err(err) => panic!("{err}"),
        }
    }

    /// The handle of the runtime this thread is in, if any.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with_current(|inner| Handle {
            inner: inner.clone(),
        })
    }

    /// Spawns a task on this runtime. Panics with a clear message if it has shut down.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_named(future, None, Location::caller())
    }

    /// Spawns a task on this runtime, or returns [`SpawnError`] if it has shut down.
    ///
    /// ```
    /// let rt = corio::runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// drop(rt);
    /// assert!(handle.try_spawn(async {}).is_err());
    /// ```
    #[track_caller]
    pub fn try_spawn<F>(&self, future: F) -> Result<JoinHandle<F::Output>, SpawnError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner
            .spawn(future, None, Location::caller())
            .map_err(|_| SpawnError)
    }

    /// Runs `future` to completion on the current thread, with this runtime entered.
    ///
    /// On a current-thread runtime this drives the event loop (or, if another thread is
    /// driving it, waits its turn); on a multi-thread runtime the workers run the tasks and
    /// this thread waits for `future`. Panics if called from inside a runtime.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _in_runtime = context::enter_runtime();
        let _current = context::set_current(&self.inner);
        match &self.inner {
            scheduler::Handle::CurrentThread(h) => h.block_on(future),
            scheduler::Handle::MultiThread(_) => super::park::block_on_parked(future),
        }
    }

    /// Makes this the current runtime of this thread until the guard is dropped, so that
    /// `corio::spawn` and timers work from plain code.
    ///
    /// ```
    /// let rt = corio::runtime::Runtime::new().unwrap();
    /// let _guard = rt.enter();
    /// let task = corio::spawn(async { 1 });
    /// assert_eq!(rt.block_on(task).unwrap(), 1);
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::set_current(&self.inner),
            _handle: std::marker::PhantomData,
        }
    }

    /// Which scheduler this runtime uses.
    pub fn flavor(&self) -> super::Flavor {
        match self.inner {
            scheduler::Handle::CurrentThread(_) => super::Flavor::CurrentThread,
            scheduler::Handle::MultiThread(_) => super::Flavor::MultiThread,
        }
    }

    /// The I/O driver this runtime runs on: [`Epoll`](super::IoDriverKind::Epoll) or
    /// [`Uring`](super::IoDriverKind::Uring) (never `Auto`: that was resolved at start-up).
    pub fn io_driver(&self) -> super::IoDriverKind {
        self.inner.driver().io_driver()
    }

    /// Every live task of the runtime, with its id, name, label, state (idle, scheduled,
    /// running), spawn location, age, poll count and busy time: asyncio's `all_tasks`.
    ///
    /// Taking a dump locks the task lists one shard at a time; it never waits for a task.
    ///
    /// ```
    /// let rt = corio::runtime::Runtime::new().unwrap();
    /// let ticker = corio::task::Builder::new()
    ///     .name("ticker")
    ///     .spawn_on(std::future::pending::<()>(), rt.handle());
    /// let dump = rt.handle().dump();
    /// let task = dump.tasks.iter().find(|t| t.id == ticker.id()).unwrap();
    /// assert_eq!(task.name.as_deref(), Some("ticker"));
    /// println!("{dump}");
    /// ```
    pub fn dump(&self) -> crate::task::TaskDump {
        self.inner.dump()
    }

    /// A snapshot of the runtime's counters: tasks, polls, steals, parks, blocking threads,
    /// slow polls. See [`RuntimeMetrics`](super::RuntimeMetrics).
    pub fn metrics(&self) -> super::RuntimeMetrics {
        self.inner.metrics()
    }

    /// True once the runtime has shut down and refuses new tasks.
    pub fn is_shutdown(&self) -> bool {
        self.inner.is_shutdown()
    }
}

// A panic never leaves the shared runtime state half-updated (locks are released and the
// task state is atomic), so a handle may be used across `catch_unwind`.
impl std::panic::UnwindSafe for Handle {}
impl std::panic::RefUnwindSafe for Handle {}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("flavor", &self.flavor())
            .finish()
    }
}

/// Returned by [`Handle::enter`]; restores the previous runtime context on drop.
pub struct EnterGuard<'a> {
    _guard: context::SetCurrentGuard,
    _handle: std::marker::PhantomData<&'a Handle>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}
