//! `CancellationToken`: a cancellation signal shared by a tree of tokens.
//!
//! # How it works
//!
//! Each token is a handle to a `Node`; clones share the node. A node has an atomic
//! `cancelled` flag (read without locking by [`CancellationToken::is_cancelled`]) and, under
//! its mutex, the wakers of the tasks waiting on it and a weak link to each child node. A
//! child node holds its parent strongly, so a grandchild still hears a cancellation from
//! its grandparent after every handle to the parent in between is gone.
//!
//! - **Cancel** sets the flag and takes the waiters and children under the node's lock, then
//!   wakes the waiters and cancels the children (one node at a time, with a work list, so a
//!   deep tree needs no deep stack). The flag never clears.
//! - **Wait** checks the flag, and registers its waker only under the lock after checking
//!   the flag again there: the flag and the waiter list change together, so a waiter either
//!   sees the flag or is woken by the cancel.
//! - **Dropping** the last reference to a node removes it from its parent's child list (so
//!   creating and dropping children leaks nothing), then releases the parent, iteratively
//!   up a chain of nodes that held their last reference.
//!
//! Locks are taken one at a time, never nested, so no lock order can deadlock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, Weak};
use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::{Mutex, MutexGuard};

/// A signal that a piece of work should stop, shared by a tree of tokens (tokio-util's
/// `CancellationToken`).
///
/// Cancelling a token cancels every clone of it and every token derived from it with
/// [`child_token`](CancellationToken::child_token), down to grandchildren and beyond.
/// Cancelling a child leaves its parent alone. Tasks wait for the signal with
/// [`cancelled`](CancellationToken::cancelled). Cancellation is for good: a cancelled token
/// stays cancelled.
///
/// asyncio cancels a task by raising `CancelledError` inside it; in corio, aborting a task
/// drops it at its next `.await`. A token is the cooperative alternative: the task decides
/// where to stop and how to clean up.
///
/// ```
/// use std::time::Duration;
/// use corio::sync::CancellationToken;
///
/// corio::run(async {
///     let token = CancellationToken::new();
///     let worker = corio::spawn({
///         let token = token.child_token();
///         async move {
///             let mut steps = 0u32;
///             // Work in steps until told to stop; the token is checked at every step.
///             let step = || corio::time::sleep(Duration::from_millis(1));
///             while token.run_until_cancelled(step()).await.is_some() {
///                 steps += 1;
///             }
///             steps
///         }
///     });
///     corio::time::sleep(Duration::from_millis(20)).await;
///     token.cancel();
///     assert!(worker.await.unwrap() > 0);
/// });
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    node: Arc<Node>,
}

/// One node of the tree, shared by the clones of one token.
struct Node {
    /// Set once, under `state`'s lock; read without it.
    cancelled: AtomicBool,
    /// The parent, and this node's key in its child list (`None` if the parent was already
    /// cancelled when this node was made, so it never registered).
    parent: Option<(Arc<Node>, Option<usize>)>,
    state: Mutex<NodeState>,
}

struct NodeState {
    children: Slab<Weak<Node>>,
    waiters: Slab<Waker>,
}

/// A future that resolves once its token is cancelled; see
/// [`CancellationToken::cancelled`].
#[must_use = "futures do nothing unless awaited"]
pub struct WaitForCancellationFuture<'a> {
    token: &'a CancellationToken,
    waiter: Waiter,
}

/// A future that resolves once its token is cancelled; it owns a clone of the token. See
/// [`CancellationToken::cancelled_owned`].
#[must_use = "futures do nothing unless awaited"]
pub struct WaitForCancellationFutureOwned {
    token: CancellationToken,
    waiter: Waiter,
}

/// A waiting future's registration: its key in the node's waiter list, once it has one.
#[derive(Default)]
struct Waiter {
    key: Option<usize>,
}

/// Cancels its token when dropped, unless [disarmed](DropGuard::disarm). See
/// [`CancellationToken::drop_guard`].
#[must_use = "dropping the guard cancels the token at once"]
pub struct DropGuard {
    token: Option<CancellationToken>,
}

/// Cancels the token it borrows when dropped, unless [disarmed](DropGuardRef::disarm).
/// See [`CancellationToken::drop_guard_ref`].
#[must_use = "dropping the guard cancels the token at once"]
pub struct DropGuardRef<'a> {
    token: Option<&'a CancellationToken>,
}

impl CancellationToken {
    /// A new token, not cancelled, with no parent.
    pub fn new() -> CancellationToken {
        CancellationToken {
            node: Arc::new(Node {
                cancelled: AtomicBool::new(false),
                parent: None,
                state: Mutex::new(NodeState::new()),
            }),
        }
    }

    /// A token that is cancelled when this one is (or already is), and that can be cancelled
    /// on its own without affecting this one.
    ///
    /// ```
    /// use corio::sync::CancellationToken;
    ///
    /// let parent = CancellationToken::new();
    /// let child = parent.child_token();
    /// child.cancel();
    /// assert!(!parent.is_cancelled());
    ///
    /// let child = parent.child_token();
    /// let grandchild = child.child_token();
    /// parent.cancel();
    /// assert!(child.is_cancelled() && grandchild.is_cancelled());
    /// ```
    pub fn child_token(&self) -> CancellationToken {
        let parent = &self.node;
        let node = Arc::new_cyclic(|weak| {
            let mut state = lock(&parent.state);
            // Under the parent's lock: a cancel either comes before (we see the flag) or
            // after (it sees the new child).
            let cancelled = parent.cancelled.load(Ordering::Relaxed);
            let key = (!cancelled).then(|| state.children.insert(weak.clone()));
            Node {
                cancelled: AtomicBool::new(cancelled),
                parent: Some((parent.clone(), key)),
                state: Mutex::new(NodeState::new()),
            }
        });
        CancellationToken { node }
    }

    /// Cancels this token, its clones and every token derived from it, waking every task
    /// waiting on any of them. Does nothing if it is already cancelled.
    pub fn cancel(&self) {
        if self.is_cancelled() {
            return;
        }
        let mut pending = vec![self.node.clone()];
        while let Some(node) = pending.pop() {
            let (waiters, children) = {
                let mut state = lock(&node.state);
                if node.cancelled.load(Ordering::Relaxed) {
                    continue;
                }
                node.cancelled.store(true, Ordering::Release);
                (
                    std::mem::take(&mut state.waiters),
                    std::mem::take(&mut state.children),
                )
            };
            pending.extend(children.into_values().filter_map(|child| child.upgrade()));
            for waker in waiters.into_values() {
                waker.wake();
            }
        }
    }

    /// True once this token (or an ancestor) has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.node.cancelled.load(Ordering::Acquire)
    }

    /// Waits until this token is cancelled. Cancel safe: dropping the future only removes
    /// its registration.
    ///
    /// ```
    /// use corio::sync::CancellationToken;
    ///
    /// corio::run(async {
    ///     let token = CancellationToken::new();
    ///     let waiter = corio::spawn({
    ///         let token = token.clone();
    ///         async move { token.cancelled().await }
    ///     });
    ///     token.cancel();
    ///     waiter.await.unwrap();
    /// });
    /// ```
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        WaitForCancellationFuture {
            token: self,
            waiter: Waiter::default(),
        }
    }

    /// As [`cancelled`](CancellationToken::cancelled), but the future owns a clone of the
    /// token, so it can be stored or moved into a task.
    pub fn cancelled_owned(self) -> WaitForCancellationFutureOwned {
        WaitForCancellationFutureOwned {
            token: self,
            waiter: Waiter::default(),
        }
    }

    /// A guard that cancels this token when dropped: ties the token to a scope.
    ///
    /// ```
    /// use corio::sync::CancellationToken;
    ///
    /// let token = CancellationToken::new();
    /// {
    ///     let _guard = token.clone().drop_guard();
    /// }
    /// assert!(token.is_cancelled());
    /// ```
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }

    /// As [`drop_guard`](CancellationToken::drop_guard), borrowing the token.
    pub fn drop_guard_ref(&self) -> DropGuardRef<'_> {
        DropGuardRef { token: Some(self) }
    }

    /// Runs `future` until it completes (`Some(output)`) or this token is cancelled
    /// (`None`, and `future` is dropped). A token already cancelled wins over a future that
    /// is ready at once.
    ///
    /// ```
    /// use corio::sync::CancellationToken;
    ///
    /// corio::run(async {
    ///     let token = CancellationToken::new();
    ///     token.cancel();
    ///     let never = std::future::pending::<()>();
    ///     assert_eq!(token.run_until_cancelled(never).await, None);
    /// });
    /// ```
    pub async fn run_until_cancelled<F: Future>(&self, future: F) -> Option<F::Output> {
        let mut cancelled = std::pin::pin!(self.cancelled());
        let mut future = std::pin::pin!(future);
        std::future::poll_fn(|cx| {
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            future.as_mut().poll(cx).map(Some)
        })
        .await
    }

    /// As [`run_until_cancelled`](CancellationToken::run_until_cancelled), owning the token.
    pub async fn run_until_cancelled_owned<F: Future>(self, future: F) -> Option<F::Output> {
        self.run_until_cancelled(future).await
    }
}

impl Node {
    /// Ready once the node is cancelled; otherwise registers (or refreshes) `waiter`.
    fn poll_cancelled(&self, waiter: &mut Waiter, cx: &mut Context<'_>) -> Poll<()> {
        if self.cancelled.load(Ordering::Acquire) {
            waiter.key = None;
            return Poll::Ready(());
        }
        let mut state = lock(&self.state);
        if self.cancelled.load(Ordering::Relaxed) {
            // The cancel took the waiter list, key included.
            waiter.key = None;
            return Poll::Ready(());
        }
        match waiter.key {
            Some(key) => {
                let waker = state.waiters.get_mut(key);
                if !waker.will_wake(cx.waker()) {
                    waker.clone_from(cx.waker());
                }
            }
            None => waiter.key = Some(state.waiters.insert(cx.waker().clone())),
        }
        Poll::Pending
    }

    /// Drops `waiter`'s registration, if it still has one.
    fn forget(&self, waiter: &mut Waiter) {
        let Some(key) = waiter.key.take() else {
            return;
        };
        let mut state = lock(&self.state);
        // Once cancelled, the list the key belonged to is gone.
        if !self.cancelled.load(Ordering::Relaxed) {
            let waker = state.waiters.remove(key);
            drop(state);
            drop(waker);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Unlink from the parent; if that was the parent's last reference, it unlinks in
        // turn, here, rather than by a recursive drop (a long chain would overflow the stack).
        let mut link = self.parent.take();
        while let Some((parent, key)) = link {
            if let Some(key) = key {
                let mut state = lock(&parent.state);
                // A cancelled parent already emptied its child list.
                if !parent.cancelled.load(Ordering::Relaxed) {
                    state.children.remove(key);
                }
            }
            link = Arc::into_inner(parent).and_then(|mut parent| parent.parent.take());
        }
    }
}

impl NodeState {
    fn new() -> NodeState {
        NodeState {
            children: Slab::new(),
            waiters: Slab::new(),
        }
    }
}

/// Locks `mutex`, ignoring poisoning: nothing panics while holding these locks.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Future for WaitForCancellationFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.token.node.poll_cancelled(&mut this.waiter, cx)
    }
}

impl Drop for WaitForCancellationFuture<'_> {
    fn drop(&mut self) {
        self.token.node.forget(&mut self.waiter);
    }
}

impl Future for WaitForCancellationFutureOwned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.token.node.poll_cancelled(&mut this.waiter, cx)
    }
}

impl Drop for WaitForCancellationFutureOwned {
    fn drop(&mut self) {
        self.token.node.forget(&mut self.waiter);
    }
}

impl DropGuard {
    /// Keeps the token from being cancelled and returns it.
    pub fn disarm(mut self) -> CancellationToken {
        self.token
            .take()
            .expect("a guard holds its token until disarmed")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel();
        }
    }
}

impl<'a> DropGuardRef<'a> {
    /// Keeps the token from being cancelled and returns it.
    pub fn disarm(mut self) -> &'a CancellationToken {
        self.token
            .take()
            .expect("a guard holds its token until disarmed")
    }
}

impl Drop for DropGuardRef<'_> {
    fn drop(&mut self) {
        if let Some(token) = self.token {
            token.cancel();
        }
    }
}

impl Default for CancellationToken {
    fn default() -> CancellationToken {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

impl fmt::Debug for WaitForCancellationFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationFuture").finish()
    }
}

impl fmt::Debug for WaitForCancellationFutureOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationFutureOwned").finish()
    }
}

impl fmt::Debug for DropGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard").finish()
    }
}

impl fmt::Debug for DropGuardRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuardRef").finish()
    }
}

/// A vector with stable keys whose free slots are reused: waiter and child lists stay as
/// large as their peak, not as the number of insertions.
struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// Head of the free list (`slots.len()` when empty).
    free: usize,
}

enum Slot<T> {
    Full(T),
    /// Free; holds the next free slot's key.
    Free(usize),
}

impl<T> Slab<T> {
    const fn new() -> Slab<T> {
        Slab {
            slots: Vec::new(),
            free: 0,
        }
    }

    fn insert(&mut self, value: T) -> usize {
        let key = self.free;
        if key == self.slots.len() {
            self.slots.push(Slot::Full(value));
            self.free = self.slots.len();
        } else {
            let Slot::Free(next) = std::mem::replace(&mut self.slots[key], Slot::Full(value))
            else {
                unreachable!("the free list points at a full slot");
            };
            self.free = next;
        }
        key
    }

    fn get_mut(&mut self, key: usize) -> &mut T {
        match &mut self.slots[key] {
            Slot::Full(value) => value,
            Slot::Free(_) => unreachable!("a key outlived its entry"),
        }
    }

    fn remove(&mut self, key: usize) -> T {
        match std::mem::replace(&mut self.slots[key], Slot::Free(self.free)) {
            Slot::Full(value) => {
                self.free = key;
                value
            }
            Slot::Free(_) => unreachable!("a key outlived its entry"),
        }
    }

    fn into_values(self) -> impl Iterator<Item = T> {
        self.slots.into_iter().filter_map(|slot| match slot {
            Slot::Full(value) => Some(value),
            Slot::Free(_) => None,
        })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| matches!(slot, Slot::Full(_)))
            .count()
    }
}

impl<T> Default for Slab<T> {
    fn default() -> Slab<T> {
        Slab::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn noop_cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    /// Large enough to show growth or deep recursion natively; small enough for Miri.
    const MANY: usize = if cfg!(miri) { 200 } else { 100_000 };
    const DEEP: usize = if cfg!(miri) { 200 } else { 200_000 };

    #[test]
    fn creating_and_dropping_children_leaks_nothing() {
        let root = CancellationToken::new();
        for _ in 0..MANY {
            let child = root.child_token();
            let grandchild = child.child_token();
            drop(child);
            drop(grandchild);
        }
        let state = lock(&root.node.state);
        assert_eq!(state.children.len(), 0);
        // The list reused one slot throughout.
        assert_eq!(state.children.slots.len(), 1);
        drop(state);
        assert_eq!(Arc::strong_count(&root.node), 1);
        assert_eq!(Arc::weak_count(&root.node), 0);
    }

    #[test]
    fn dropping_a_long_chain_does_not_recurse() {
        let root = CancellationToken::new();
        let mut leaf = root.child_token();
        for _ in 0..DEEP {
            leaf = leaf.child_token();
        }
        // Every node in between is alive only through its child.
        drop(leaf);
        assert_eq!(Arc::strong_count(&root.node), 1);
        assert_eq!(lock(&root.node.state).children.len(), 0);
    }

    #[test]
    fn cancelling_a_long_chain_does_not_recurse() {
        let root = CancellationToken::new();
        let mut leaf = root.child_token();
        for _ in 0..DEEP {
            leaf = leaf.child_token();
        }
        root.cancel();
        assert!(leaf.is_cancelled());
    }

    #[test]
    fn dropped_waiters_free_their_slots() {
        let token = CancellationToken::new();
        let mut cx = noop_cx();
        for _ in 0..MANY.min(1000) {
            let mut a = std::pin::pin!(token.cancelled());
            let mut b = std::pin::pin!(token.cancelled());
            assert!(a.as_mut().poll(&mut cx).is_pending());
            assert!(b.as_mut().poll(&mut cx).is_pending());
        }
        let state = lock(&token.node.state);
        assert_eq!(state.waiters.len(), 0);
        assert_eq!(state.waiters.slots.len(), 2);
    }

    #[test]
    fn a_waiter_dropped_after_cancel_is_harmless() {
        let token = CancellationToken::new();
        let mut cx = noop_cx();
        let mut waiter = Box::pin(token.cancelled());
        assert!(waiter.as_mut().poll(&mut cx).is_pending());
        token.cancel();
        drop(waiter);
        assert!(lock(&token.node.state).waiters.len() == 0);
    }

    #[test]
    fn slab_reuses_freed_keys() {
        let mut slab = Slab::new();
        let a = slab.insert('a');
        let b = slab.insert('b');
        assert_eq!(slab.remove(a), 'a');
        let c = slab.insert('c');
        assert_eq!(c, a);
        assert_eq!(*slab.get_mut(b), 'b');
        assert_eq!(slab.into_values().collect::<String>(), "cb");
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Cancel racing with waiting and with making children (`RUSTFLAGS="--cfg loom" cargo
    //! test --release --lib sync::cancellation::loom`).
    use super::*;
    use ::loom::thread;

    /// Polls `fut` on this loom thread, parking until woken: a lost wake-up deadlocks.
    fn block_on<F: Future>(fut: F) -> F::Output {
        struct Unpark(thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            thread::park();
        }
    }

    #[test]
    fn cancel_races_wait_on_child() {
        ::loom::model(|| {
            let parent = CancellationToken::new();
            let child = parent.child_token();
            let canceller = thread::spawn(move || parent.cancel());
            block_on(child.cancelled());
            canceller.join().unwrap();
        });
    }

    #[test]
    fn cancel_races_child_creation() {
        ::loom::model(|| {
            let parent = CancellationToken::new();
            let other = parent.clone();
            let canceller = thread::spawn(move || other.cancel());
            let child = parent.child_token();
            block_on(child.cancelled_owned());
            canceller.join().unwrap();
        });
    }

    #[test]
    fn child_dropped_while_parent_cancels() {
        ::loom::model(|| {
            let parent = CancellationToken::new();
            let child = parent.child_token();
            let grandchild = child.child_token();
            let canceller = thread::spawn({
                let parent = parent.clone();
                move || parent.cancel()
            });
            drop(child);
            block_on(grandchild.cancelled());
            canceller.join().unwrap();
            drop(grandchild);
            assert_eq!(Arc::strong_count(&parent.node), 1);
        });
    }
}
