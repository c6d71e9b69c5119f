//! The state every handle of one queue shares, and the operations on it, generic over the
//! order items come out in ([`Order`]).
//!
//! Everything is behind one lock, taken once per operation; tasks are woken and values
//! dropped only after it is released. No `unsafe`.
//!
//! # Promises
//!
//! Waiters are served first come, first served, and a task that was chosen is never
//! robbed. So a `put` that finds getters waiting does not merely wake the first: it
//! *promises* it an item (`reserved_items += 1`, its entry becomes `Notified`). The item
//! stays in the buffer; the getter takes one when it runs (whichever the order policy gives
//! then), and nobody else can, since `get_nowait` and newcomers only take
//! `items.len() - reserved_items`. Likewise a `get` that frees a slot of a full queue
//! promises it to the first waiting putter (`reserved_slots += 1`), and other puts see the
//! slot as taken. This keeps two invariants:
//!
//! - getters are listed only while every item is promised (`items.len() == reserved_items`);
//! - putters are listed only while every slot is taken or promised
//!   (`items.len() + reserved_slots == maxsize`).
//!
//! **Cancellation.** A `get` future takes its item only when it completes, and a `put`
//! future holds its item until it completes; so dropping either loses nothing. A dropped
//! future that was promised something hands the promise on to the next waiter in line (or
//! back to the queue if nobody waits), so no wake-up is lost either.
//!
//! # Shutdown
//!
//! After `shutdown`, every `put` fails: listed putters are released (woken to fail), and
//! promised ones fail when they run (the slot promises are void). Getters still get the
//! items left; they fail once `items` is empty. Listed getters are released when that
//! happens (at once if it already is). An immediate shutdown also drains the items, voids
//! the item promises (`Notified` getters become `Released`) and counts the drained items as
//! done for `join`.
//!
//! # Join
//!
//! `unfinished` counts items put and not yet marked done. A `join` finds it zero, or waits
//! listed until `task_done` (or an immediate shutdown) brings it to zero, which releases
//! every listed joiner: like asyncio's `Event`, a joiner released once is done, even if more
//! items are put before it runs.

use std::future::Future;
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker, ready};

use super::error::{GetNowaitError, PutNowaitError, QueueShutDown, TaskDoneError};
use super::waiters::{Wait, Waiters};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::scheduler::coop;

/// The order a queue hands its items out in: the buffer of a FIFO, LIFO or priority queue.
pub(super) trait Order: Default {
    /// What the queue holds.
    type Item;

    /// Adds an item.
    fn push(&mut self, item: Self::Item);

    /// Takes out the item whose turn it is.
    fn pop(&mut self) -> Option<Self::Item>;

    /// How many items there are.
    fn len(&self) -> usize;
}

/// One queue: what its handles point to.
pub(super) struct Shared<B> {
    state: Mutex<State<B>>,
    /// Copied out of `state` so `maxsize()` needs no lock.
    maxsize: usize,
}

struct State<B> {
    items: B,
    /// 0 means unbounded.
    maxsize: usize,
    /// Items promised to `Notified` getters.
    reserved_items: usize,
    /// Free slots promised to `Notified` putters (meaningless once shut down).
    reserved_slots: usize,
    /// Items put and not yet marked done.
    unfinished: usize,
    shut_down: bool,
    getters: Waiters,
    putters: Waiters,
    joiners: Waiters,
}

/// Tasks to wake once the lock is released: at most one after an ordinary operation, any
/// number after shutdown or a `join` that completes.
#[derive(Default)]
struct Wakeups {
    one: Option<Waker>,
    many: Vec<Waker>,
}

impl Wakeups {
    fn wake(self) {
        if let Some(waker) = self.one {
            waker.wake();
        }
        for waker in self.many {
            waker.wake();
        }
    }
}

impl<B: Order> State<B> {
    /// Items not promised to anyone: what a newcomer may take.
    fn free_items(&self) -> usize {
        self.items.len() - self.reserved_items
    }

    /// True if a newcomer may put an item.
    fn has_free_slot(&self) -> bool {
        self.maxsize == 0 || self.items.len() + self.reserved_slots < self.maxsize
    }

    /// Adds `item` and promises it to the first waiting getter, if any; returns who to wake.
    fn put_item(&mut self, item: B::Item) -> Option<Waker> {
        // Counted first: should a priority queue's `Ord` panic, the item is in the heap.
        self.unfinished += 1;
        self.items.push(item);
        self.promise_item()
    }

    /// Takes an item the caller is entitled to (free or promised to it), promising the slot
    /// it frees to the first waiting putter.
    fn take_item(&mut self) -> (B::Item, Wakeups) {
        let item = self.items.pop().expect("a counted item is in the buffer");
        let mut wakeups = Wakeups {
            one: self.promise_slot(),
            many: Vec::new(),
        };
        if self.shut_down && self.items.len() == 0 {
            // No item will ever come for the getters still waiting: let them fail.
            self.getters.release_all(&mut wakeups.many);
        }
        (item, wakeups)
    }

    /// Promises a free item to the first waiting getter, if both exist.
    fn promise_item(&mut self) -> Option<Waker> {
        if self.free_items() == 0 {
            return None;
        }
        let waker = self.getters.notify_first()?;
        self.reserved_items += 1;
        Some(waker)
    }

    /// Promises a free slot to the first waiting putter, if both exist.
    fn promise_slot(&mut self) -> Option<Waker> {
        if self.shut_down || !self.has_free_slot() {
            return None;
        }
        let waker = self.putters.notify_first()?;
        self.reserved_slots += 1;
        Some(waker)
    }
}

impl<B: Order> Shared<B> {
    pub(super) fn new(maxsize: usize) -> Shared<B> {
        Shared {
            state: Mutex::new(State {
                items: B::default(),
                maxsize,
                reserved_items: 0,
                reserved_slots: 0,
                unfinished: 0,
                shut_down: false,
                getters: Waiters::new(),
                putters: Waiters::new(),
                joiners: Waiters::new(),
            }),
            maxsize,
        }
    }

    /// Locks the state, ignoring poisoning: the only user code run under the lock is a
    /// priority queue's `Ord`, and the state stays usable if it panics.
    fn lock(&self) -> MutexGuard<'_, State<B>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn maxsize(&self) -> usize {
        self.maxsize
    }

    pub(super) fn qsize(&self) -> usize {
        self.lock().items.len()
    }

    pub(super) fn is_shut_down(&self) -> bool {
        self.lock().shut_down
    }

    pub(super) fn put_nowait(&self, item: B::Item) -> Result<(), PutNowaitError<B::Item>> {
        let mut state = self.lock();
        if state.shut_down {
            return Err(PutNowaitError::ShutDown(item));
        }
        if !state.has_free_slot() {
            return Err(PutNowaitError::Full(item));
        }
        let getter = state.put_item(item);
        drop(state);
        if let Some(waker) = getter {
            waker.wake();
        }
        Ok(())
    }

    pub(super) fn get_nowait(&self) -> Result<B::Item, GetNowaitError> {
        let mut state = self.lock();
        if state.free_items() == 0 {
            return Err(if state.shut_down && state.items.len() == 0 {
                GetNowaitError::ShutDown
            } else {
                GetNowaitError::Empty
            });
        }
        let (item, wakeups) = state.take_item();
        drop(state);
        wakeups.wake();
        Ok(item)
    }

    pub(super) fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut state = self.lock();
        if state.unfinished == 0 {
            return Err(TaskDoneError);
        }
        state.unfinished -= 1;
        if state.unfinished == 0 && !state.joiners.is_empty() {
            let mut wakers = Vec::new();
            state.joiners.release_all(&mut wakers);
            drop(state);
            wakers.into_iter().for_each(Waker::wake);
        }
        Ok(())
    }

    pub(super) fn shutdown(&self, immediate: bool) {
        let mut state = self.lock();
        state.shut_down = true;
        let mut wakers = Vec::new();
        let drained = if immediate {
            let drained = std::mem::take(&mut state.items);
            state.unfinished = state.unfinished.saturating_sub(drained.len());
            state.reserved_items = 0;
            state.getters.release_notified();
            if state.unfinished == 0 {
                state.joiners.release_all(&mut wakers);
            }
            Some(drained)
        } else {
            None
        };
        // Promised putters fail when they run: `poll_put` checks `shut_down` first.
        state.reserved_slots = 0;
        state.putters.release_all(&mut wakers);
        if state.items.len() == 0 {
            state.getters.release_all(&mut wakers);
        }
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
        // Last: the items' destructors may do anything, even panic.
        drop(drained);
    }

    fn poll_get(
        &self,
        entry: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<B::Item, QueueShutDown>> {
        let coop = ready!(coop::poll_proceed(cx));
        let mut state = self.lock();
        let mut promised = false;
        if let Some(id) = *entry {
            match state.getters.wait(id) {
                Wait::Listed(_) => {
                    // Polled before being chosen: keep the place in line.
                    let replaced = state.getters.update(id, cx.waker());
                    drop(state);
                    drop(replaced);
                    return Poll::Pending;
                }
                Wait::Notified => promised = true,
                Wait::Released | Wait::Free => {}
            }
            state.getters.remove(id);
            *entry = None;
        }
        if promised {
            state.reserved_items -= 1;
        } else if state.free_items() == 0 {
            if state.shut_down && state.items.len() == 0 {
                drop(state);
                coop.made_progress();
                return Poll::Ready(Err(QueueShutDown(())));
            }
            *entry = Some(state.getters.push_back(cx.waker().clone()));
            return Poll::Pending;
        }
        let (item, wakeups) = state.take_item();
        drop(state);
        wakeups.wake();
        coop.made_progress();
        Poll::Ready(Ok(item))
    }

    fn poll_put(
        &self,
        item: &mut Option<B::Item>,
        entry: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), QueueShutDown<B::Item>>> {
        assert!(item.is_some(), "`put` future polled after completion");
        let coop = ready!(coop::poll_proceed(cx));
        let mut state = self.lock();
        let mut promised = false;
        if let Some(id) = *entry {
            match state.putters.wait(id) {
                Wait::Listed(_) => {
                    let replaced = state.putters.update(id, cx.waker());
                    drop(state);
                    drop(replaced);
                    return Poll::Pending;
                }
                Wait::Notified => promised = true,
                Wait::Released | Wait::Free => {}
            }
            state.putters.remove(id);
            *entry = None;
        }
        let item = if state.shut_down {
            drop(state);
            Err(QueueShutDown(item.take().expect("checked above")))
        } else {
            if promised {
                state.reserved_slots -= 1;
            } else if !state.has_free_slot() {
                *entry = Some(state.putters.push_back(cx.waker().clone()));
                return Poll::Pending;
            }
            let getter = state.put_item(item.take().expect("checked above"));
            drop(state);
            if let Some(waker) = getter {
                waker.wake();
            }
            Ok(())
        };
        coop.made_progress();
        Poll::Ready(item)
    }

    fn poll_join(&self, entry: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        let mut state = self.lock();
        match *entry {
            Some(id) => {
                if let Wait::Listed(_) = state.joiners.wait(id) {
                    let replaced = state.joiners.update(id, cx.waker());
                    drop(state);
                    drop(replaced);
                    return Poll::Pending;
                }
                // Released: the count reached zero since we started waiting.
                state.joiners.remove(id);
                *entry = None;
            }
            None if state.unfinished > 0 => {
                *entry = Some(state.joiners.push_back(cx.waker().clone()));
                return Poll::Pending;
            }
            None => {}
        }
        drop(state);
        coop.made_progress();
        Poll::Ready(())
    }

    /// A `get` future was dropped while it owned entry `id`.
    fn cancel_get(&self, id: usize) {
        let mut state = self.lock();
        let wait = state.getters.remove(id);
        let next = match wait {
            Wait::Notified => {
                // Hand the promised item on, so its wake-up is not lost.
                state.reserved_items -= 1;
                state.promise_item()
            }
            _ => None,
        };
        drop(state);
        drop(wait);
        if let Some(waker) = next {
            waker.wake();
        }
    }

    /// A `put` future was dropped while it owned entry `id`; its item was never put.
    fn cancel_put(&self, id: usize) {
        let mut state = self.lock();
        let wait = state.putters.remove(id);
        let next = match wait {
            Wait::Notified if !state.shut_down => {
                state.reserved_slots -= 1;
                state.promise_slot()
            }
            _ => None,
        };
        drop(state);
        drop(wait);
        if let Some(waker) = next {
            waker.wake();
        }
    }

    /// A `join` future was dropped while it owned entry `id`.
    fn cancel_join(&self, id: usize) {
        let wait = self.lock().joiners.remove(id);
        drop(wait);
    }

    #[cfg(test)]
    pub(super) fn waiter_slots(&self) -> (usize, usize, usize) {
        let state = self.lock();
        (
            state.getters.capacity(),
            state.putters.capacity(),
            state.joiners.capacity(),
        )
    }
}

/// The future of `get`.
pub(super) struct Get<'a, B: Order> {
    shared: &'a Shared<B>,
    /// Our waiter entry, while we have one.
    entry: Option<usize>,
}

impl<'a, B: Order> Get<'a, B> {
    pub(super) fn new(shared: &'a Shared<B>) -> Self {
        Get {
            shared,
            entry: None,
        }
    }
}

impl<B: Order> Future for Get<'_, B> {
    type Output = Result<B::Item, QueueShutDown>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.shared.poll_get(&mut this.entry, cx)
    }
}

impl<B: Order> Drop for Get<'_, B> {
    fn drop(&mut self) {
        if let Some(id) = self.entry {
            self.shared.cancel_get(id);
        }
    }
}

/// The future of `put`: holds the item until it is in the queue (or handed back).
pub(super) struct Put<'a, B: Order> {
    shared: &'a Shared<B>,
    item: Option<B::Item>,
    entry: Option<usize>,
}

impl<'a, B: Order> Put<'a, B> {
    pub(super) fn new(shared: &'a Shared<B>, item: B::Item) -> Self {
        Put {
            shared,
            item: Some(item),
            entry: None,
        }
    }
}

// The item is never pinned: it is only ever moved, never polled.
impl<B: Order> Unpin for Put<'_, B> {}

impl<B: Order> Future for Put<'_, B> {
    type Output = Result<(), QueueShutDown<B::Item>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.shared.poll_put(&mut this.item, &mut this.entry, cx)
    }
}

impl<B: Order> Drop for Put<'_, B> {
    fn drop(&mut self) {
        if let Some(id) = self.entry {
            self.shared.cancel_put(id);
        }
    }
}

/// The future of `join`.
pub(super) struct Join<'a, B: Order> {
    shared: &'a Shared<B>,
    entry: Option<usize>,
}

impl<'a, B: Order> Join<'a, B> {
    pub(super) fn new(shared: &'a Shared<B>) -> Self {
        Join {
            shared,
            entry: None,
        }
    }
}

impl<B: Order> Future for Join<'_, B> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.shared.poll_join(&mut this.entry, cx)
    }
}

impl<B: Order> Drop for Join<'_, B> {
    fn drop(&mut self) {
        if let Some(id) = self.entry {
            self.shared.cancel_join(id);
        }
    }
}
