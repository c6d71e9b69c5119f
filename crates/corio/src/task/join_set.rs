//! `JoinSet`: a collection of tasks whose outputs are read in the order they finish.
//!
//! # How it works
//!
//! The set owns one [`JoinHandle`] per task, in a dense vector. Each entry also owns an
//! [`EntryWaker`]: the waker the set polls that handle with, so the task's completion wakes
//! the *entry*, not the whole set. Waking an entry pushes it onto the set's [`ReadyList`] and
//! wakes whoever awaits [`JoinSet::join_next`]. `join_next` pops entries off that list and
//! polls only them, so each completion costs O(1) however many tasks are still running.
//!
//! - An entry's handle is polled once at spawn, which registers its waker with the task.
//! - `EntryWaker::queued` keeps an entry on the list at most once: a wake-up that finds it
//!   set does nothing. `pop` clears it before the set polls the handle, so a completion that
//!   races with that poll queues the entry again instead of being lost.
//! - A removed entry keeps `queued` set for good, so it can never be queued again. A wake-up
//!   already under way may still queue it once; `join_next` recognises it (it is no longer in
//!   the vector at its index) and skips it.
//! - The list's registered waker and the queue sit under one mutex, so a wake-up either finds
//!   the waker or is seen by the next `pop`.
//! - Entries hold the list through a `Weak`, so the list (and whatever entries sit on it) is
//!   freed with the set even if tasks finish afterwards.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker, ready};

use super::{AbortHandle, Id, JoinError, JoinHandle};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::runtime::Handle;
use crate::scheduler::coop;

/// A set of tasks spawned together, joined in the order they finish (tokio's `JoinSet`).
///
/// It plays the part of `asyncio.as_completed` over tasks you own: spawn tasks into it,
/// then [`join_next`](JoinSet::join_next) hands back each output as soon as its task is done.
/// All tasks must have the same output type `T`.
///
/// Dropping the set aborts every task still in it; [`detach_all`](JoinSet::detach_all) lets
/// them run on instead.
///
/// ```
/// use std::time::Duration;
/// use corio::task::JoinSet;
///
/// corio::run(async {
///     let mut set = JoinSet::new();
///     for ms in [30, 10, 20] {
///         set.spawn(async move {
///             corio::time::sleep(Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     let mut finished = Vec::new();
///     while let Some(result) = set.join_next().await {
///         finished.push(result.unwrap());
///     }
///     assert_eq!(finished, [10, 20, 30]);
/// });
/// ```
pub struct JoinSet<T> {
    /// The tasks in the set; each entry's `EntryWaker::index` is its position here.
    entries: Vec<Entry<T>>,
    /// The entries whose tasks woke them; the only strong reference to the list.
    ready: Arc<ReadyList>,
}

/// One task in the set.
struct Entry<T> {
    handle: JoinHandle<T>,
    /// Present only if the task had already finished when the set first polled it.
    output: Option<Result<T, JoinError>>,
    waker: Arc<EntryWaker>,
}

/// The entries whose tasks have (probably) finished, and the waker of the task awaiting them.
struct ReadyList {
    inner: Mutex<ReadyInner>,
}

struct ReadyInner {
    queue: std::collections::VecDeque<Arc<EntryWaker>>,
    /// The task awaiting `join_next`, woken (and cleared) by the next push.
    waker: Option<Waker>,
}

/// The waker an entry's task wakes on completion.
struct EntryWaker {
    list: Weak<ReadyList>,
    /// The entry's position in `JoinSet::entries`; read and written only by the set.
    index: AtomicUsize,
    /// Set while the entry is on the ready list, and for good once it left the set.
    queued: AtomicBool,
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Vec::new(),
            ready: Arc::new(ReadyList {
                inner: Mutex::new(ReadyInner {
                    queue: std::collections::VecDeque::new(),
                    waker: None,
                }),
            }),
        }
    }

    /// The number of tasks in the set: spawned and not yet joined, finished or not.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if the set holds no tasks.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds an already spawned task to the set, which now owns it: the set returns its output
    /// and aborts it when dropped. Use it for tasks spawned another way, such as through a
    /// named [`Builder`](super::Builder).
    ///
    /// ```
    /// use corio::task::{Builder, JoinSet};
    ///
    /// corio::run(async {
    ///     let mut set = JoinSet::new();
    ///     set.insert(Builder::new().name("worker").spawn(async { 7 }));
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), 7);
    /// });
    /// ```
    pub fn insert(&mut self, mut handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let waker = Arc::new(EntryWaker {
            list: Arc::downgrade(&self.ready),
            index: AtomicUsize::new(self.entries.len()),
            // Not on the list yet, so a completion may queue it from now on.
            queued: AtomicBool::new(false),
        });
        // Poll once to hand the task this entry's waker. This poll is the set's business, not
        // the caller's task's, so it spends no budget.
        let output = {
            let waker = Waker::from(waker.clone());
            let mut cx = Context::from_waker(&waker);
            match coop::with_unconstrained(|| Pin::new(&mut handle).poll(&mut cx)) {
                Poll::Ready(output) => Some(output),
                Poll::Pending => None,
            }
        };
        if output.is_some() {
            // Finished already: it will not wake the entry, so queue it here.
            waker.wake_by_ref();
        }
        self.entries.push(Entry {
            handle,
            output,
            waker,
        });
        abort
    }

    /// Spawns `future` on the current runtime and adds it to the set. Panics outside a
    /// runtime, as [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Spawns `future` on `handle`'s runtime and adds it to the set.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.insert(handle.spawn(future))
    }

    /// Spawns a `!Send` future on the current thread's loop (see [`crate::spawn_local`]) and
    /// adds it to the set.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.insert(crate::spawn_local(future))
    }

    /// Runs `func` on the blocking pool (see [`spawn_blocking`](super::spawn_blocking)) and
    /// adds it to the set. Aborting it only helps before it starts: a running closure is
    /// never interrupted.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, func: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.insert(super::spawn_blocking(func))
    }

    /// Runs `func` on `handle`'s blocking pool and adds it to the set.
    #[track_caller]
    pub fn spawn_blocking_on<F>(&mut self, func: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.insert(handle.spawn_blocking(func))
    }

    /// Waits for the next task to finish and returns its output, or `None` if the set is
    /// empty. Outputs come in the order the tasks finish.
    ///
    /// A task that panicked or was aborted gives `Err`. Cancel safe: if this future is
    /// dropped before it completes, no task is lost; the next call returns it.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// As [`join_next`](JoinSet::join_next), with the id of the task that finished.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The output of a task that has already finished, if any, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id()
            .map(|result| result.map(|(_, output)| output))
    }

    /// As [`try_join_next`](JoinSet::try_join_next), with the task's id.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        while let Some(index) = self.pop_ready(None) {
            if let Poll::Ready(result) = self.poll_entry(index) {
                return Some(result);
            }
        }
        None
    }

    /// Polls for the next finished task: `Ready(None)` if the set is empty, `Pending` (with
    /// `cx` woken later) if no task has finished yet.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|result| result.map(|result| result.map(|(_, output)| output)))
    }

    /// As [`poll_join_next`](JoinSet::poll_join_next), with the task's id.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.entries.is_empty() {
            return Poll::Ready(None);
        }
        // One unit per output, as awaiting a `JoinHandle` costs: a set whose tasks are all
        // done must still let the joining task's neighbours run.
        let coop = ready!(coop::poll_proceed(cx));
        while let Some(index) = self.pop_ready(Some(cx.waker())) {
            if let Poll::Ready(result) = self.poll_entry(index) {
                coop.made_progress();
                return Poll::Ready(Some(result));
            }
        }
        Poll::Pending
    }

    /// Aborts every task in the set. They stay in it: joining them gives
    /// [`JoinError::Cancelled`] (or the output of those that had already finished).
    pub fn abort_all(&mut self) {
        for entry in &self.entries {
            entry.handle.abort();
        }
    }

    /// Aborts every task and waits until all of them have stopped, dropping their outputs.
    /// The set is empty afterwards.
    ///
    /// ```
    /// use corio::task::JoinSet;
    ///
    /// corio::run(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.shutdown().await;
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Removes every task from the set without aborting it: they run on, detached.
    pub fn detach_all(&mut self) {
        for entry in self.entries.drain(..) {
            entry.waker.queued.store(true, Ordering::Release);
        }
        lock(&self.ready.inner).queue.clear();
    }

    /// Waits for every task and returns their outputs, in the order they finished.
    ///
    /// If a task panicked, this panics with the same payload (after aborting the rest, when
    /// the set is dropped); if one was aborted, it panics too. Loop over
    /// [`join_next`](JoinSet::join_next) to handle failures another way.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some(result) = self.join_next().await {
            match result {
                Ok(output) => outputs.push(output),
                Err(err) => err.resume_panic(),
            }
        }
        outputs
    }

    /// Takes the next queued entry, returning its index, or registers `waker` (if given) to
    /// be woken by the next push and returns `None`. Skips entries no longer in the set.
    fn pop_ready(&mut self, waker: Option<&Waker>) -> Option<usize> {
        loop {
            let entry = self.ready.pop(waker)?;
            // Only the set writes `index`, and it is `&mut self` here.
            let index = entry.index.load(Ordering::Relaxed);
            if self
                .entries
                .get(index)
                .is_some_and(|e| Arc::ptr_eq(&e.waker, &entry))
            {
                return Some(index);
            }
        }
    }

    /// Polls the entry at `index`; removes it from the set if its task is done.
    fn poll_entry(&mut self, index: usize) -> Poll<Result<(Id, T), JoinError>> {
        let entry = &mut self.entries[index];
        let result = match entry.output.take() {
            Some(result) => result,
            None => {
                let waker = Waker::from(entry.waker.clone());
                let mut cx = Context::from_waker(&waker);
                // The caller's budget was spent already, once for this output.
                match coop::with_unconstrained(|| Pin::new(&mut entry.handle).poll(&mut cx)) {
                    Poll::Ready(result) => result,
                    Poll::Pending => return Poll::Pending,
                }
            }
        };
        let entry = self.remove(index);
        Poll::Ready(result.map(|output| (entry.handle.id(), output)))
    }

    /// Takes the entry at `index` out of the set, keeping the others' indices right.
    fn remove(&mut self, index: usize) -> Entry<T> {
        let entry = self.entries.swap_remove(index);
        // Never queue it again.
        entry.waker.queued.store(true, Ordering::Release);
        if let Some(moved) = self.entries.get(index) {
            moved.waker.index.store(index, Ordering::Relaxed);
        }
        entry
    }
}

impl ReadyList {
    /// Takes the first queued entry, clearing its `queued` flag so that a later wake-up
    /// queues it again; or, if none is queued, stores `waker` for the next push.
    fn pop(&self, waker: Option<&Waker>) -> Option<Arc<EntryWaker>> {
        let mut inner = lock(&self.inner);
        match inner.queue.pop_front() {
            Some(entry) => {
                entry.queued.store(false, Ordering::Release);
                Some(entry)
            }
            None => {
                if let Some(waker) = waker {
                    match &mut inner.waker {
                        Some(old) if old.will_wake(waker) => {}
                        slot => *slot = Some(waker.clone()),
                    }
                }
                None
            }
        }
    }
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let Some(list) = self.list.upgrade() else {
            // The set is gone.
            return;
        };
        let waker = {
            let mut inner = lock(&list.inner);
            inner.queue.push_back(self.clone());
            inner.waker.take()
        };
        // Wake outside the lock: the woken task may run `pop` on another thread at once.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Locks `mutex`, ignoring poisoning: nothing panics while holding these locks.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

/// Spawns each future into a new set, as [`JoinSet::spawn`].
///
/// ```
/// use corio::task::JoinSet;
///
/// corio::run(async {
///     let set: JoinSet<u32> = (1..=3).map(|i| async move { i * 10 }).collect();
///     let mut total = set.join_all().await;
///     total.sort();
///     assert_eq!(total, [10, 20, 30]);
/// });
/// ```
impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(futures: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(futures);
        set
    }
}

/// Spawns each future into the set, as [`JoinSet::spawn`].
impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, futures: I) {
        for future in futures {
            self.spawn(future);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The ready list's wake/pop handshake (`RUSTFLAGS="--cfg loom" cargo test --release
    //! --lib task::join_set::loom`).
    use super::*;
    use loom::thread;

    /// A waker that records that it was woken.
    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn list() -> Arc<ReadyList> {
        Arc::new(ReadyList {
            inner: Mutex::new(ReadyInner {
                queue: std::collections::VecDeque::new(),
                waker: None,
            }),
        })
    }

    fn entry(list: &Arc<ReadyList>) -> Arc<EntryWaker> {
        Arc::new(EntryWaker {
            list: Arc::downgrade(list),
            index: AtomicUsize::new(0),
            queued: AtomicBool::new(false),
        })
    }

    /// A completion racing with the joiner's `pop` is either popped or wakes the joiner.
    #[test]
    fn wake_races_pop() {
        loom::model(|| {
            let list = list();
            let entry = entry(&list);
            let waker = Waker::from(entry.clone());
            let task = thread::spawn(move || waker.wake());

            let joiner = Arc::new(Flag(AtomicBool::new(false)));
            let joiner_waker = Waker::from(joiner.clone());
            let popped = list.pop(Some(&joiner_waker));
            task.join().unwrap();
            match popped {
                Some(e) => assert!(Arc::ptr_eq(&e, &entry)),
                None => {
                    assert!(joiner.0.load(Ordering::SeqCst), "wake-up lost");
                    assert!(list.pop(None).is_some());
                }
            }
        });
    }

    /// A task completing while the set registers its waker (at `insert`) is queued exactly
    /// once, and the joiner, parked until woken, finds it: the join-waker handshake is
    /// modelled as the task state does it, with one read-modify-write on each side.
    #[test]
    fn completion_races_registration() {
        const COMPLETE: usize = 1;
        const WAKER_SET: usize = 2;

        struct Unpark(thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }

        loom::model(|| {
            let list = list();
            let entry = entry(&list);
            let state = Arc::new(AtomicUsize::new(0));
            let task = thread::spawn({
                let state = state.clone();
                let waker = Waker::from(entry.clone());
                move || {
                    if state.fetch_or(COMPLETE, Ordering::AcqRel) & WAKER_SET != 0 {
                        waker.wake();
                    }
                }
            });
            // `insert`: register the entry's waker; a task already done is queued at once.
            if state.fetch_or(WAKER_SET, Ordering::AcqRel) & COMPLETE != 0 {
                Waker::from(entry.clone()).wake();
            }
            // `join_next`: wait for the entry, then read the output.
            let joiner = Waker::from(Arc::new(Unpark(thread::current())));
            loop {
                match list.pop(Some(&joiner)) {
                    Some(popped) => {
                        assert!(Arc::ptr_eq(&popped, &entry));
                        let done = state.load(Ordering::Acquire) & COMPLETE != 0;
                        assert!(done, "queued before the task completed");
                        break;
                    }
                    None => thread::park(),
                }
            }
            task.join().unwrap();
            assert!(list.pop(None).is_none(), "queued twice");
        });
    }
}
