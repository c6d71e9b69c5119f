//! `WakerSet`: tasks waiting for one condition, all woken when it changes.
//!
//! Used where waiting is rare or cheap enough for a lock: senders awaiting
//! `Sender::closed()` here, and watch receivers awaiting a change. Each waiting future owns
//! an entry in a slab (its index, `None` until it first waits), so waiting again allocates
//! nothing and a dropped future takes its waker out at once.
//!
//! **No lost wake-up.** A waiter checks its condition *under the lock* before it stores its
//! waker; the notifier changes the condition first and then takes the wakers under the same
//! lock. So a waiter either sees the change or is in the set when the notifier looks.

use std::fmt;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::{Mutex, MutexGuard};

/// How many wakers are taken out per lock before they are woken (outside it).
const WAKE_BATCH: usize = 32;

/// The end of the free list.
const NIL: usize = usize::MAX;

/// Tasks waiting for a condition; see the module docs.
pub(crate) struct WakerSet {
    slab: Mutex<Slab>,
}

struct Slab {
    entries: Vec<Slot>,
    /// First free entry.
    free: usize,
    /// Entries holding a waker: lets `notify_all` skip the scan when nobody waits.
    waiting: usize,
}

enum Slot {
    /// Owned by a future; the waker to wake, `None` once woken.
    Owned(Option<Waker>),
    /// Free; the next free entry.
    Free(usize),
}

fn lock(slab: &Mutex<Slab>) -> MutexGuard<'_, Slab> {
    slab.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WakerSet {
    pub(crate) fn new() -> WakerSet {
        WakerSet {
            slab: Mutex::new(Slab {
                entries: Vec::new(),
                free: NIL,
                waiting: 0,
            }),
        }
    }

    /// Ready once `done()` holds (checked under the lock); otherwise stores the task's waker
    /// in `entry` (allocating it on first use) and waits. Call [`cancel`](WakerSet::cancel)
    /// when dropping a future whose `entry` is `Some`.
    pub(crate) fn poll_wait(
        &self,
        cx: &mut Context<'_>,
        entry: &mut Option<usize>,
        done: impl FnOnce() -> bool,
    ) -> Poll<()> {
        let mut slab = lock(&self.slab);
        if done() {
            let old = entry.take().and_then(|id| slab.free(id));
            drop(slab);
            drop(old);
            return Poll::Ready(());
        }
        let old = match *entry {
            Some(id) => {
                let Slot::Owned(slot) = &mut slab.entries[id] else {
                    unreachable!("an entry is owned until its future drops it");
                };
                match slot {
                    Some(waker) if waker.will_wake(cx.waker()) => None,
                    Some(waker) => Some(std::mem::replace(waker, cx.waker().clone())),
                    None => {
                        *slot = Some(cx.waker().clone());
                        slab.waiting += 1;
                        None
                    }
                }
            }
            None => {
                *entry = Some(slab.insert(cx.waker().clone()));
                None
            }
        };
        drop(slab);
        drop(old);
        Poll::Pending
    }

    /// Frees a dropped future's entry.
    pub(crate) fn cancel(&self, entry: &mut Option<usize>) {
        if let Some(id) = entry.take() {
            let waker = lock(&self.slab).free(id);
            drop(waker);
        }
    }

    /// Wakes every waiting task. Call after making the condition true (or changing it).
    pub(crate) fn notify_all(&self) {
        let mut from = 0;
        loop {
            let mut batch: [Option<Waker>; WAKE_BATCH] = [const { None }; WAKE_BATCH];
            let mut taken = 0;
            {
                let mut slab = lock(&self.slab);
                if slab.waiting == 0 {
                    return;
                }
                while from < slab.entries.len() && taken < WAKE_BATCH {
                    if let Slot::Owned(slot @ Some(_)) = &mut slab.entries[from] {
                        batch[taken] = slot.take();
                        taken += 1;
                    }
                    from += 1;
                }
                slab.waiting -= taken;
            }
            for waker in batch.iter_mut().take(taken) {
                if let Some(waker) = waker.take() {
                    waker.wake();
                }
            }
            if taken < WAKE_BATCH {
                return;
            }
        }
    }
}

impl Slab {
    fn insert(&mut self, waker: Waker) -> usize {
        self.waiting += 1;
        let slot = Slot::Owned(Some(waker));
        if self.free == NIL {
            self.entries.push(slot);
            self.entries.len() - 1
        } else {
            let id = self.free;
            let Slot::Free(next) = self.entries[id] else {
                unreachable!("the free list holds free entries");
            };
            self.free = next;
            self.entries[id] = slot;
            id
        }
    }

    /// Frees `id`, returning its waker (to drop after unlocking).
    fn free(&mut self, id: usize) -> Option<Waker> {
        let Slot::Owned(waker) = std::mem::replace(&mut self.entries[id], Slot::Free(self.free))
        else {
            unreachable!("only owned entries are freed");
        };
        self.free = id;
        if waker.is_some() {
            self.waiting -= 1;
        }
        waker
    }
}

impl fmt::Debug for WakerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakerSet").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::CountingWaker;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn waits_until_done_and_reuses_entries() {
        let set = WakerSet::new();
        let done = AtomicBool::new(false);
        let (counters, wakers): (Vec<_>, Vec<_>) = (0..40).map(|_| CountingWaker::new()).unzip();
        let mut entries = vec![None; 40];
        for (waker, entry) in wakers.iter().zip(&mut entries) {
            let mut cx = Context::from_waker(waker);
            assert!(
                set.poll_wait(&mut cx, entry, || done.load(Ordering::SeqCst))
                    .is_pending()
            );
            // Polling again with the same waker keeps one registration.
            assert!(
                set.poll_wait(&mut cx, entry, || done.load(Ordering::SeqCst))
                    .is_pending()
            );
        }
        set.cancel(&mut entries[3]);
        done.store(true, Ordering::SeqCst);
        set.notify_all();
        for (i, counter) in counters.iter().enumerate() {
            assert_eq!(counter.wakes(), usize::from(i != 3), "waiter {i}");
        }
        for (waker, entry) in wakers.iter().zip(&mut entries) {
            let mut cx = Context::from_waker(waker);
            assert!(set.poll_wait(&mut cx, entry, || true).is_ready());
            assert_eq!(*entry, None);
        }
        let slab = lock(&set.slab);
        assert_eq!((slab.entries.len(), slab.waiting), (40, 0));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicBool, Ordering};
    use loom::thread;

    #[test]
    fn notify_races_a_registering_waiter() {
        loom::model(|| {
            let set = Arc::new(WakerSet::new());
            let done = Arc::new(AtomicBool::new(false));
            let notifier = {
                let (set, done) = (set.clone(), done.clone());
                thread::spawn(move || {
                    done.store(true, Ordering::Release);
                    set.notify_all();
                })
            };
            // A lost wake-up leaves this asleep forever: loom reports the deadlock.
            let mut entry = None;
            loom::future::block_on(std::future::poll_fn(|cx| {
                set.poll_wait(cx, &mut entry, || done.load(Ordering::Acquire))
            }));
            assert_eq!(entry, None);
            notifier.join().unwrap();
        });
    }
}
