//! `TaskGroup`: structured concurrency, as `asyncio.TaskGroup`.
//!
//! # How it works
//!
//! Every child runs as its own task, wrapped in a future that reports how the child ended
//! to the group's shared state: its output, its error, its panic, or (when it was dropped
//! before finishing) nothing. The report runs from a guard's `Drop`, after the child's own
//! future has been dropped, so a group that has seen every report knows that every child's
//! destructors have run.
//!
//! The state, under one mutex, counts the children still running and keeps an
//! [`AbortHandle`] for each. The first failure switches the group to *cancelling*: it takes
//! all those handles and aborts the children (outside the lock), and from then on refuses
//! new children. The joiner waits until the count reaches zero.
//!
//! Spawning reserves the child's slot (and counts it) before the task exists, and stores its
//! abort handle after; a failure in between finds the group cancelling when the spawner
//! comes back to store the handle, and the spawner aborts the child itself.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::{AbortHandle, JoinHandle};

/// A group of child tasks that succeed or fail together, like Python's `asyncio.TaskGroup`.
///
/// Children are futures returning `Result<T, E>`. [`join`](TaskGroup::join) waits for all of
/// them and returns their outputs in the order they were spawned. The first child to fail
/// (return `Err` or panic) aborts all its siblings; `join` waits for them to stop, then
/// returns that first error, or resumes that panic. Dropping the group (or the `join`
/// future) before it finished aborts every child, so no child outlives its group.
///
/// | asyncio                                   | corio                                          |
/// |-------------------------------------------|------------------------------------------------|
/// | `async with asyncio.TaskGroup() as tg:`   | `let group = TaskGroup::new();` … `group.join().await` |
/// | `tg.create_task(coro)`                    | `group.spawn(future)` (or through a [`GroupSpawner`]) |
/// | a child raises → siblings cancelled       | a child returns `Err` or panics → siblings aborted |
/// | `ExceptionGroup` with every error         | `Err(first error)`; [`join_all_errors`](TaskGroup::join_all_errors) gives an [`ErrorGroup`] |
/// | the body of the `async with` block        | [`TaskGroup::scope`]                            |
/// | `task.result()` after the block           | the `Vec<T>` that `join` returns, in spawn order |
///
/// ```python
/// async with asyncio.TaskGroup() as tg:
///     a = tg.create_task(fetch("a"))
///     b = tg.create_task(fetch("b"))
/// print(a.result(), b.result())
/// ```
///
/// ```
/// use std::time::Duration;
/// use corio::task::TaskGroup;
///
/// async fn fetch(name: &'static str) -> Result<String, std::io::Error> {
///     corio::time::sleep(Duration::from_millis(5)).await;
///     Ok(format!("page {name}"))
/// }
///
/// corio::run(async {
///     let group = TaskGroup::new();
///     group.spawn(fetch("a"));
///     group.spawn(fetch("b"));
///     let pages = group.join().await.unwrap();
///     assert_eq!(pages, ["page a", "page b"]);
/// });
/// ```
///
/// Children may spawn more children into the same group, through a [`GroupSpawner`]; the
/// group waits for those too:
///
/// ```
/// use corio::task::TaskGroup;
///
/// corio::run(async {
///     let group = TaskGroup::new();
///     let spawner = group.spawner();
///     group.spawn(async move {
///         spawner.spawn(async { Ok::<_, std::io::Error>(2) });
///         Ok(1)
///     });
///     assert_eq!(group.join().await.unwrap(), [1, 2]);
/// });
/// ```
///
/// A group keeps each child's output until it is joined, so a group that lives for ever and
/// spawns without end (a server's connections) grows without end; reap such children with
/// a [`JoinSet`](super::JoinSet) instead.
pub struct TaskGroup<T, E> {
    /// The group's own spawner: the group is its shared state plus the duty to cancel it.
    spawner: GroupSpawner<T, E>,
}

/// Spawns children into a [`TaskGroup`]; cheap to clone, and may be moved into the children
/// themselves.
pub struct GroupSpawner<T, E> {
    shared: Arc<Shared<T, E>>,
}

/// Every error the children of a [`TaskGroup`] returned, in the order they failed: asyncio's
/// `ExceptionGroup`.
///
/// Siblings aborted because of the first error return nothing, so usually this holds one
/// error; it holds more when several children failed before the abort reached them.
pub struct ErrorGroup<E> {
    /// Never empty.
    errors: Vec<E>,
}

struct Shared<T, E> {
    state: Mutex<State<T, E>>,
}

struct State<T, E> {
    phase: Phase,
    /// Children spawned and not yet reported.
    live: usize,
    /// The abort handle of each running child, by spawn index; `None` between the slot's
    /// reservation and the spawn.
    running: HashMap<usize, Option<AbortHandle>>,
    /// One slot per child ever spawned, by spawn index.
    outputs: Vec<Option<T>>,
    errors: Vec<E>,
    /// The first child panic.
    panic: Option<Box<dyn Any + Send>>,
    /// The joiner, woken when `live` reaches zero and when the group starts cancelling.
    joiner: Option<Waker>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Accepting children.
    Open,
    /// A child failed, or the group was dropped: children were aborted, no new ones start.
    Cancelling,
    /// Joined: every child reported and the outputs were taken.
    Closed,
}

/// How a child ended.
enum Outcome<T, E> {
    Output(T),
    Error(E),
    Panic(Box<dyn Any + Send>),
    /// Dropped before it finished: aborted, or its runtime shut down.
    Dropped,
}

/// What the joiner takes out of the state once every child reported.
struct Finished<T, E> {
    outputs: Vec<Option<T>>,
    errors: Vec<E>,
    panic: Option<Box<dyn Any + Send>>,
}

impl<T, E> TaskGroup<T, E> {
    /// An empty group.
    pub fn new() -> TaskGroup<T, E> {
        TaskGroup {
            spawner: GroupSpawner {
                shared: Arc::new(Shared {
                    state: Mutex::new(State {
                        phase: Phase::Open,
                        live: 0,
                        running: HashMap::new(),
                        outputs: Vec::new(),
                        errors: Vec::new(),
                        panic: None,
                        joiner: None,
                    }),
                }),
            },
        }
    }

    /// A handle that spawns children into this group from anywhere, including from the
    /// children.
    pub fn spawner(&self) -> GroupSpawner<T, E> {
        self.spawner.clone()
    }

    /// Spawns `future` as a child on the current runtime, as [`GroupSpawner::spawn`].
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> bool
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.spawner.spawn(future)
    }

    /// Spawns a `!Send` child on the current thread's loop, as [`GroupSpawner::spawn_local`].
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> bool
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: 'static,
    {
        self.spawner.spawn_local(future)
    }

    /// Waits for every child, including children spawned while waiting. Returns their
    /// outputs in spawn order, or the first error a child returned.
    ///
    /// On the first failure the other children are aborted, and this waits until they have
    /// stopped (their destructors have run) before it returns. If a child panicked, this
    /// resumes the first such panic instead, so a panic is never lost.
    ///
    /// ```
    /// use std::time::Duration;
    /// use corio::task::TaskGroup;
    ///
    /// corio::run(async {
    ///     let group = TaskGroup::new();
    ///     group.spawn(async {
    ///         corio::time::sleep(Duration::from_secs(3600)).await;
    ///         Ok(())
    ///     });
    ///     group.spawn(async { Err("bad input") });
    ///     // The sleeper is aborted; the error comes back at once.
    ///     assert_eq!(group.join().await, Err("bad input"));
    /// });
    /// ```
    pub async fn join(self) -> Result<Vec<T>, E> {
        self.join_all_errors().await.map_err(ErrorGroup::into_first)
    }

    /// As [`join`](TaskGroup::join), but a failure gives every error children returned.
    pub async fn join_all_errors(self) -> Result<Vec<T>, ErrorGroup<E>> {
        let finished = poll_fn(|cx| self.spawner.shared.poll_finished(cx)).await;
        finished.into_result()
    }

    /// Runs `body` with a spawner for a new group, then waits for the children: the shape of
    /// asyncio's `async with TaskGroup() as tg:` block.
    ///
    /// `body` runs in the calling task, alongside the children. If a child fails while it
    /// runs, `body` is dropped (asyncio cancels the block) and the child's error is returned.
    /// If `body` returns `Err`, the children are aborted and that error is returned. If it
    /// returns `Ok(value)`, the children are awaited as in [`join`](TaskGroup::join), giving
    /// `(value, outputs)`. Panics in children propagate as in `join`.
    ///
    /// ```
    /// use corio::task::TaskGroup;
    ///
    /// corio::run(async {
    ///     let (count, squares) = TaskGroup::scope(|group| async move {
    ///         for i in 1..=3u32 {
    ///             group.spawn(async move { Ok::<_, std::io::Error>(i * i) });
    ///         }
    ///         Ok(3)
    ///     })
    ///     .await
    ///     .unwrap();
    ///     assert_eq!((count, squares), (3, vec![1, 4, 9]));
    /// });
    /// ```
    pub async fn scope<R, F, Fut>(body: F) -> Result<(R, Vec<T>), E>
    where
        F: FnOnce(GroupSpawner<T, E>) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let group = TaskGroup::new();
        // In a block, so that the body is dropped as soon as it stops running.
        let body_result = {
            let mut body = pin!(body(group.spawner()));
            poll_fn(|cx| {
                if let Poll::Ready(result) = body.as_mut().poll(cx) {
                    return Poll::Ready(Some(result));
                }
                group.spawner.shared.poll_cancelling(cx).map(|()| None)
            })
            .await
        };
        match body_result {
            Some(Ok(value)) => group.join().await.map(|outputs| (value, outputs)),
            Some(Err(err)) => {
                group.spawner.shared.cancel();
                // Wait for the children to stop; a child panic still wins.
                let finished = poll_fn(|cx| group.spawner.shared.poll_finished(cx)).await;
                if let Some(payload) = finished.panic {
                    resume_unwind(payload);
                }
                Err(err)
            }
            // Only a child's failure cancels the group while we hold it.
            None => match group.join().await {
                Err(err) => Err(err),
                Ok(_) => unreachable!("a task group cancelled itself without a failure"),
            },
        }
    }
}

impl<T, E> GroupSpawner<T, E> {
    /// Spawns `future` as a child of the group, on the current runtime.
    ///
    /// Returns `false`, dropping `future` without running it, if the group no longer accepts
    /// children: it is cancelling (a child failed, or the group was dropped) or it has been
    /// joined. (asyncio raises `RuntimeError` there; a child spawning into a failing group
    /// is about to be aborted itself.) Panics outside a runtime, as [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> bool
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let Some(index) = self.shared.reserve() else {
            return false;
        };
        // If this panics (no runtime), the child's guard reports it dropped.
        let handle = crate::spawn(child(self.shared.clone(), index, future));
        self.shared.register(index, handle);
        true
    }

    /// Spawns a `!Send` child on the current thread's loop (see [`crate::spawn_local`]);
    /// otherwise as [`spawn`](GroupSpawner::spawn).
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> bool
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: 'static,
    {
        let Some(index) = self.shared.reserve() else {
            return false;
        };
        let handle = crate::spawn_local(child(self.shared.clone(), index, future));
        self.shared.register(index, handle);
        true
    }

    /// True once the group no longer accepts children.
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.state).phase != Phase::Open
    }
}

impl<T, E> Shared<T, E> {
    /// Counts a new child and reserves its slots; `None` if the group refuses children.
    fn reserve(&self) -> Option<usize> {
        let mut state = lock(&self.state);
        if state.phase != Phase::Open {
            return None;
        }
        let index = state.outputs.len();
        state.outputs.push(None);
        state.running.insert(index, None);
        state.live += 1;
        Some(index)
    }

    /// Stores the abort handle of the child spawned into slot `index`.
    fn register(&self, index: usize, handle: JoinHandle<()>) {
        let mut state = lock(&self.state);
        if state.phase != Phase::Open {
            // The group began cancelling after the reservation, when this child was not
            // abortable yet.
            drop(state);
            handle.abort();
        } else if let Some(slot) = state.running.get_mut(&index) {
            *slot = Some(handle.abort_handle());
        }
        // Otherwise the child has already finished.
    }

    /// Records how the child at `index` ended, cancelling the group if it failed.
    fn report(&self, index: usize, outcome: Outcome<T, E>) {
        let mut state = lock(&self.state);
        state.running.remove(&index);
        state.live -= 1;
        // A later panic's payload is dropped only after the lock is released: its
        // destructor is user code.
        let mut later_panic = None;
        let failed = match outcome {
            Outcome::Output(output) => {
                state.outputs[index] = Some(output);
                false
            }
            Outcome::Error(err) => {
                state.errors.push(err);
                true
            }
            Outcome::Panic(payload) => {
                if state.panic.is_none() {
                    state.panic = Some(payload);
                } else {
                    later_panic = Some(payload);
                }
                true
            }
            Outcome::Dropped => false,
        };
        let aborts = if failed && state.phase == Phase::Open {
            state.start_cancelling()
        } else {
            Vec::new()
        };
        // The joiner cares about the last report, and (in `scope`) about the first failure.
        let joiner = if state.live == 0 || failed {
            state.joiner.take()
        } else {
            None
        };
        drop(state);
        drop(later_panic);
        for abort in aborts {
            abort.abort();
        }
        if let Some(joiner) = joiner {
            joiner.wake();
        }
    }

    /// Aborts every child and refuses new ones (unless the group is already cancelling or
    /// closed).
    fn cancel(&self) {
        let mut state = lock(&self.state);
        if state.phase != Phase::Open {
            return;
        }
        let aborts = state.start_cancelling();
        drop(state);
        for abort in aborts {
            abort.abort();
        }
    }

    /// Ready once the group is cancelling (or closed).
    fn poll_cancelling(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = lock(&self.state);
        if state.phase != Phase::Open {
            return Poll::Ready(());
        }
        state.register_joiner(cx.waker());
        Poll::Pending
    }

    /// Ready once every child has reported; closes the group and takes its results.
    fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<Finished<T, E>> {
        let mut state = lock(&self.state);
        if state.live > 0 {
            state.register_joiner(cx.waker());
            return Poll::Pending;
        }
        state.phase = Phase::Closed;
        state.running = HashMap::new();
        Poll::Ready(Finished {
            outputs: std::mem::take(&mut state.outputs),
            errors: std::mem::take(&mut state.errors),
            panic: state.panic.take(),
        })
    }
}

impl<T, E> State<T, E> {
    /// Switches to cancelling; returns the abort handles to use once the lock is released.
    fn start_cancelling(&mut self) -> Vec<AbortHandle> {
        self.phase = Phase::Cancelling;
        self.running
            .drain()
            .filter_map(|(_, abort)| abort)
            .collect()
    }

    fn register_joiner(&mut self, waker: &Waker) {
        match &mut self.joiner {
            Some(old) if old.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }
}

impl<T, E> Finished<T, E> {
    fn into_result(self) -> Result<Vec<T>, ErrorGroup<E>> {
        if let Some(payload) = self.panic {
            resume_unwind(payload);
        }
        if !self.errors.is_empty() {
            return Err(ErrorGroup {
                errors: self.errors,
            });
        }
        Ok(self
            .outputs
            .into_iter()
            .map(|output| {
                output.expect(
                    "a TaskGroup child was cancelled from outside the group \
                     (did its runtime shut down?)",
                )
            })
            .collect())
    }
}

/// Wraps `future` so that its end is reported to `shared`.
fn child<F, T, E>(shared: Arc<Shared<T, E>>, index: usize, future: F) -> Child<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    Child {
        future,
        report: ReportOnDrop {
            shared,
            index,
            outcome: None,
        },
    }
}

/// The future a child's task runs: the child's own future, and its report.
///
/// A plain struct rather than an `async` block because the order of drops matters: fields
/// drop in declaration order, so `future` is gone (its destructors have run) before
/// `report` tells the group, whether the child finished, was aborted mid-way, or was
/// aborted before its first poll.
struct Child<F, T, E> {
    /// Structurally pinned.
    future: F,
    /// Not pinned.
    report: ReportOnDrop<T, E>,
}

impl<F, T, E> Future for Child<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `future` is structurally pinned: `Child` never moves it (it has no `Drop`
        // impl and hands out no `&mut F`), and is not `Unpin` unless `F` is. `report` is not
        // pinned and is only reached through `&mut`.
        let (future, report) = unsafe {
            let this = self.get_unchecked_mut();
            (Pin::new_unchecked(&mut this.future), &mut this.report)
        };
        if report.outcome.is_some() {
            // Finished already; `future` must not be polled again.
            return Poll::Ready(());
        }
        let outcome = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(output))) => Outcome::Output(output),
            Ok(Poll::Ready(Err(err))) => Outcome::Error(err),
            Err(payload) => Outcome::Panic(payload),
        };
        report.outcome = Some(outcome);
        Poll::Ready(())
    }
}

/// Reports a child's outcome (or that it was dropped) when the child's task lets go of it.
struct ReportOnDrop<T, E> {
    shared: Arc<Shared<T, E>>,
    index: usize,
    outcome: Option<Outcome<T, E>>,
}

impl<T, E> Drop for ReportOnDrop<T, E> {
    fn drop(&mut self) {
        let outcome = self.outcome.take().unwrap_or(Outcome::Dropped);
        self.shared.report(self.index, outcome);
    }
}

/// Locks `mutex`, ignoring poisoning: nothing panics while holding these locks.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        self.spawner.shared.cancel();
    }
}

impl<T, E> Default for TaskGroup<T, E> {
    fn default() -> TaskGroup<T, E> {
        TaskGroup::new()
    }
}

impl<T, E> Clone for GroupSpawner<T, E> {
    fn clone(&self) -> GroupSpawner<T, E> {
        GroupSpawner {
            shared: self.shared.clone(),
        }
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.spawner.shared.state);
        f.debug_struct("TaskGroup")
            .field("phase", &state.phase)
            .field("running", &state.live)
            .finish()
    }
}

impl<T, E> fmt::Debug for GroupSpawner<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupSpawner").finish_non_exhaustive()
    }
}

impl<E> ErrorGroup<E> {
    /// The first error.
    pub fn first(&self) -> &E {
        &self.errors[0]
    }

    /// The first error, dropping the others.
    pub fn into_first(self) -> E {
        self.errors
            .into_iter()
            .next()
            .expect("an error group is never empty")
    }

    /// Every error, in the order the children failed.
    pub fn errors(&self) -> &[E] {
        &self.errors
    }

    /// Every error, in the order the children failed.
    pub fn into_errors(self) -> Vec<E> {
        self.errors
    }
}

impl<E: fmt::Debug> fmt::Debug for ErrorGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ErrorGroup").field(&self.errors).finish()
    }
}

impl<E: fmt::Display> fmt::Display for ErrorGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.len() {
            1 => write!(f, "{}", self.first()),
            n => write!(f, "{n} tasks failed; the first: {}", self.first()),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ErrorGroup<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.first())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! The child wrapper, polled by hand (no runtime), so these run under Miri
    //! (`cargo +nightly miri test -p corio --lib -- task::group`).
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn noop_cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    /// Asserts on drop that its group has not heard from the child yet.
    struct DroppedBeforeReport(Arc<Shared<u32, &'static str>>, Arc<AtomicUsize>);

    impl Drop for DroppedBeforeReport {
        fn drop(&mut self) {
            assert_eq!(
                lock(&self.0.state).live,
                1,
                "reported before the child was dropped"
            );
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn group_with_child_slot() -> (
        TaskGroup<u32, &'static str>,
        Arc<Shared<u32, &'static str>>,
        usize,
    ) {
        let group = TaskGroup::new();
        let shared = group.spawner.shared.clone();
        let index = shared.reserve().unwrap();
        (group, shared, index)
    }

    #[test]
    fn a_finished_child_reports_its_output_after_dropping_its_future() {
        let (_group, shared, index) = group_with_child_slot();
        let drops = Arc::new(AtomicUsize::new(0));
        let witness = DroppedBeforeReport(shared.clone(), drops.clone());
        let mut task = Box::pin(child(shared.clone(), index, async move {
            let _witness = witness;
            Ok(5)
        }));
        assert_eq!(task.as_mut().poll(&mut noop_cx()), Poll::Ready(()));
        drop(task);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let state = lock(&shared.state);
        assert_eq!((state.live, state.outputs[0]), (0, Some(5)));
    }

    #[test]
    fn a_child_dropped_before_its_first_poll_reports_after_its_captures_drop() {
        let (_group, shared, index) = group_with_child_slot();
        let drops = Arc::new(AtomicUsize::new(0));
        let witness = DroppedBeforeReport(shared.clone(), drops.clone());
        let task = child(shared.clone(), index, async move {
            let _witness = witness;
            Ok(5)
        });
        drop(task);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let state = lock(&shared.state);
        assert_eq!((state.live, state.outputs[0]), (0, None));
    }

    #[test]
    fn a_child_dropped_mid_way_reports_after_its_locals_drop() {
        let (_group, shared, index) = group_with_child_slot();
        let drops = Arc::new(AtomicUsize::new(0));
        let witness = DroppedBeforeReport(shared.clone(), drops.clone());
        let mut task = Box::pin(child(shared.clone(), index, async move {
            let _witness = witness;
            std::future::pending::<()>().await;
            Ok(5)
        }));
        assert_eq!(task.as_mut().poll(&mut noop_cx()), Poll::Pending);
        drop(task);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(lock(&shared.state).live, 0);
    }

    #[test]
    fn a_failing_child_cancels_the_group() {
        let (_group, shared, index) = group_with_child_slot();
        let mut task = Box::pin(child(shared.clone(), index, async { Err("no") }));
        assert_eq!(task.as_mut().poll(&mut noop_cx()), Poll::Ready(()));
        drop(task);
        let mut state = lock(&shared.state);
        assert_eq!(state.phase, Phase::Cancelling);
        assert_eq!(state.errors, ["no"]);
        drop(state);
        assert_eq!(shared.reserve(), None);
        state = lock(&shared.state);
        assert_eq!(state.live, 0);
    }

    #[test]
    fn a_panicking_child_is_caught_and_recorded() {
        let (_group, shared, index) = group_with_child_slot();
        let mut task = Box::pin(child(shared.clone(), index, async {
            if std::hint::black_box(true) {
                panic!("child panic");
            }
            Ok(1)
        }));
        assert_eq!(task.as_mut().poll(&mut noop_cx()), Poll::Ready(()));
        // Polled again after finishing: does not touch the spent future.
        assert_eq!(task.as_mut().poll(&mut noop_cx()), Poll::Ready(()));
        drop(task);
        let state = lock(&shared.state);
        assert_eq!(state.phase, Phase::Cancelling);
        let payload = state.panic.as_ref().unwrap();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"child panic"));
    }
}
