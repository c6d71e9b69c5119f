//! The free `spawn` functions: spawn onto whichever runtime this thread is in.

use std::future::Future;
use std::panic::Location;

use super::Handle;
use super::context;
use crate::scheduler;
use crate::task::JoinHandle;

/// Spawns a task on the current runtime, like `asyncio.create_task`.
///
/// The task starts running in the background at once; await the returned [`JoinHandle`] for
/// its output. Panics if called outside a runtime (use [`Handle::spawn`] from other threads)
/// or if the runtime has shut down.
///
/// ```
/// corio::run(async {
///     let a = corio::spawn(async { 1 });
///     let b = corio::spawn(async { 2 });
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let location = Location::caller();
    match context::with_current(|h| h.spawn(future, None, location)) {
        Ok(Ok(join)) => join,
        Ok(Err(_)) => panic!("{}", super::handle::SHUT_DOWN),
        Err(err) => panic!("corio::spawn: {err}"),
    }
}

/// Spawns a `!Send` task on the current thread's loop.
///
/// The task is polled and dropped only on this thread, so it may hold `Rc`, `RefCell` and
/// other thread-bound values across `.await`. On a current-thread runtime that is the loop
/// itself (as in asyncio); on a multi-thread runtime the task is pinned to the worker that
/// spawned it and is never stolen by the others. Call it from inside a current-thread
/// runtime's `block_on`, or from a task of either flavor.
///
/// ```
/// use std::rc::Rc;
///
/// let rt = corio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let shared = Rc::new(5);
///     let task = corio::spawn_local({
///         let shared = shared.clone();
///         async move { *shared * 2 }
///     });
///     assert_eq!(task.await.unwrap(), 10);
/// });
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local_named(future, None, Location::caller())
}

#[track_caller]
pub(crate) fn spawn_local_named<F>(
    future: F,
    name: Option<Box<str>>,
    location: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let spawned = context::with_scheduler(|cx| match cx {
        Some(scheduler::Context::CurrentThread(cx)) => Some(
            scheduler::current_thread::Handle::spawn_local(&cx.handle(), future, name, location),
        ),
        Some(scheduler::Context::MultiThread(cx)) => Some(cx.spawn_local(future, name, location)),
        None => None,
    });
    match spawned {
        Some(Ok(join)) => join,
        Some(Err(_)) => panic!("{}", super::handle::SHUT_DOWN),
        None => panic!(
            "corio::spawn_local must be called on a thread that runs the runtime's tasks: \
             inside a current-thread runtime's block_on, or inside a task of either flavor \
             (a multi-thread runtime's block_on thread only waits; spawn a task first)"
        ),
    }
}

impl Handle {
    pub(crate) fn spawn_named<F>(
        &self,
        future: F,
        name: Option<Box<str>>,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self.inner.spawn(future, name, location) {
            Ok(join) => join,
            Err(_) => panic!("{}", super::handle::SHUT_DOWN),
        }
    }
}
