//! `task::Builder`: spawn with a name.

use std::future::Future;

use super::JoinHandle;
use crate::runtime::Handle;

/// Configures a task before spawning it.
///
/// ```
/// corio::run(async {
///     let handle = corio::task::Builder::new()
///         .name("fetch")
///         .spawn(async { "done" });
///     assert_eq!(handle.await.unwrap(), "done");
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<Box<str>>,
}

impl Builder {
    /// A builder with no name set.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task; the name appears in task dumps and slow-poll warnings.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// Spawns the task on the current runtime. Panics outside a runtime, as [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let location = std::panic::Location::caller();
        Handle::current().spawn_named(future, self.name, location)
    }

    /// Spawns the task on `handle`'s runtime.
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let location = std::panic::Location::caller();
        handle.spawn_named(future, self.name, location)
    }

    /// Spawns a `!Send` task on the current thread's runtime, as [`crate::spawn_local`].
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let location = std::panic::Location::caller();
        crate::runtime::spawn::spawn_local_named(future, self.name, location)
    }
}
