//! The tasks waiting on a queue: a slab of entries, the waiting ones linked into a FIFO list.
//!
//! A pending `get`, `put` or `join` future owns one entry, by index, from its first
//! `Pending` until it completes or is dropped. An entry is in one of three states:
//!
//! - [`Wait::Listed`]: in the list, holding the task's waker. Nobody has chosen it yet.
//! - [`Wait::Notified`]: taken off the front of the list and woken, *with* something set
//!   aside for it (an item for a getter, a free slot for a putter). The future takes it when
//!   it next runs, or gives it back to the next in line if it is dropped first.
//! - [`Wait::Released`]: taken off the list and woken with nothing set aside (shutdown, or
//!   a `join` whose count reached zero). The future looks at the queue again when it runs.
//!
//! Entries are indices into a `Vec`, reused through a free list: once the slab has grown to
//! the largest number of simultaneous waiters, waiting allocates nothing.

use std::task::Waker;

/// The end of a list.
const NIL: usize = usize::MAX;

/// What an entry's future is waiting for; see the module docs.
#[derive(Debug)]
pub(super) enum Wait {
    /// In the waiting list, to be woken with this waker.
    Listed(Waker),
    /// Chosen and woken: something is set aside for it.
    Notified,
    /// Woken with nothing set aside.
    Released,
    /// Not owned by any future; chained into the free list.
    Free,
}

struct Entry {
    wait: Wait,
    /// The previous listed entry (only meaningful while `Listed`).
    prev: usize,
    /// The next listed entry while `Listed`, the next free entry while `Free`.
    next: usize,
}

/// A slab of waiter entries; the `Listed` ones form a FIFO list.
pub(super) struct Waiters {
    entries: Vec<Entry>,
    /// The first listed entry, or [`NIL`].
    head: usize,
    /// The last listed entry, or [`NIL`].
    last: usize,
    /// The first free entry, or [`NIL`].
    free: usize,
}

impl Waiters {
    pub(super) const fn new() -> Waiters {
        Waiters {
            entries: Vec::new(),
            head: NIL,
            last: NIL,
            free: NIL,
        }
    }

    /// True if no entry is listed (waiting to be chosen).
    pub(super) fn is_empty(&self) -> bool {
        self.head == NIL
    }

    /// Lists a new entry at the back with `waker`; returns its index.
    pub(super) fn push_back(&mut self, waker: Waker) -> usize {
        let entry = Entry {
            wait: Wait::Listed(waker),
            prev: self.last,
            next: NIL,
        };
        let id = if self.free == NIL {
            self.entries.push(entry);
            self.entries.len() - 1
        } else {
            let id = self.free;
            self.free = self.entries[id].next;
            self.entries[id] = entry;
            id
        };
        match self.last {
            NIL => self.head = id,
            last => self.entries[last].next = id,
        }
        self.last = id;
        id
    }

    /// The state of entry `id`.
    pub(super) fn wait(&self, id: usize) -> &Wait {
        &self.entries[id].wait
    }

    /// Makes a listed entry wake `waker` instead, keeping its place. Returns the waker it
    /// replaced, to drop after unlocking.
    pub(super) fn update(&mut self, id: usize, waker: &Waker) -> Option<Waker> {
        match &mut self.entries[id].wait {
            Wait::Listed(old) if !old.will_wake(waker) => {
                Some(std::mem::replace(old, waker.clone()))
            }
            _ => None,
        }
    }

    /// Frees entry `id`, unlinking it if it is listed. Returns the state it was in (with
    /// the waker of a listed entry, to drop after unlocking).
    pub(super) fn remove(&mut self, id: usize) -> Wait {
        if matches!(self.entries[id].wait, Wait::Listed(_)) {
            self.unlink(id);
        }
        let entry = &mut self.entries[id];
        let wait = std::mem::replace(&mut entry.wait, Wait::Free);
        debug_assert!(!matches!(wait, Wait::Free), "entry freed twice");
        entry.next = self.free;
        self.free = id;
        wait
    }

    /// Takes the first listed entry off the list and marks it `Notified`; returns the waker
    /// to wake, or `None` if nobody waits.
    pub(super) fn notify_first(&mut self) -> Option<Waker> {
        self.take_first(Wait::Notified)
    }

    /// Takes every listed entry off the list, marking them `Released`, and pushes their
    /// wakers onto `wakers`.
    pub(super) fn release_all(&mut self, wakers: &mut Vec<Waker>) {
        while let Some(waker) = self.take_first(Wait::Released) {
            wakers.push(waker);
        }
    }

    /// Turns every `Notified` entry into `Released`: what was set aside for them is gone.
    /// Scans the whole slab; only an immediate shutdown needs it.
    pub(super) fn release_notified(&mut self) {
        for entry in &mut self.entries {
            if matches!(entry.wait, Wait::Notified) {
                entry.wait = Wait::Released;
            }
        }
    }

    /// Takes the first listed entry off the list, leaving it in state `then`.
    fn take_first(&mut self, then: Wait) -> Option<Waker> {
        let id = self.head;
        if id == NIL {
            return None;
        }
        self.unlink(id);
        match std::mem::replace(&mut self.entries[id].wait, then) {
            Wait::Listed(waker) => Some(waker),
            _ => unreachable!("only listed entries are linked"),
        }
    }

    /// Unlinks listed entry `id` from the list (its state is left to the caller).
    fn unlink(&mut self, id: usize) {
        let Entry { prev, next, .. } = self.entries[id];
        match prev {
            NIL => self.head = next,
            prev => self.entries[prev].next = next,
        }
        match next {
            NIL => self.last = prev,
            next => self.entries[next].prev = prev,
        }
    }

    /// How many entries the slab holds, free or not (for tests).
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::CountingWaker;
    use std::sync::Arc;

    fn listed(w: &Waiters) -> Vec<usize> {
        let mut ids = Vec::new();
        let mut id = w.head;
        while id != NIL {
            ids.push(id);
            id = w.entries[id].next;
        }
        ids
    }

    #[test]
    fn first_listed_is_first_notified() {
        let mut w = Waiters::new();
        let (a_count, a) = CountingWaker::new();
        let (b_count, b) = CountingWaker::new();
        let ia = w.push_back(a);
        let ib = w.push_back(b);
        assert_eq!(listed(&w), [ia, ib]);
        w.notify_first().unwrap().wake();
        assert_eq!(a_count.wakes(), 1);
        assert_eq!(b_count.wakes(), 0);
        assert!(matches!(w.wait(ia), Wait::Notified));
        assert_eq!(listed(&w), [ib]);
        assert!(matches!(w.remove(ia), Wait::Notified));
        w.notify_first().unwrap().wake();
        assert!(w.notify_first().is_none());
        assert!(w.is_empty());
    }

    #[test]
    fn removing_from_the_middle_keeps_the_links() {
        let mut w = Waiters::new();
        let ids: Vec<_> = (0..4).map(|_| w.push_back(Waker::noop().clone())).collect();
        assert!(matches!(w.remove(ids[1]), Wait::Listed(_)));
        assert!(matches!(w.remove(ids[3]), Wait::Listed(_)));
        assert_eq!(listed(&w), [ids[0], ids[2]]);
        // Freed entries are reused, last freed first.
        assert_eq!(w.push_back(Waker::noop().clone()), ids[3]);
        assert_eq!(w.push_back(Waker::noop().clone()), ids[1]);
        assert_eq!(listed(&w), [ids[0], ids[2], ids[3], ids[1]]);
        assert_eq!(w.capacity(), 4);
    }

    #[test]
    fn update_replaces_only_a_different_waker() {
        let mut w = Waiters::new();
        let (count, a) = CountingWaker::new();
        let id = w.push_back(a.clone());
        // The same waker is kept (`will_wake` decides; under Miri a clone may not compare
        // equal, and then it is replaced by an equivalent one).
        drop(w.update(id, &a));
        assert_eq!(Arc::strong_count(&count), 3, "one in the entry");
        let replaced = w.update(id, Waker::noop()).expect("a different waker");
        drop(replaced);
        drop(a);
        assert_eq!(Arc::strong_count(&count), 1, "the old waker is gone");
        assert_eq!(listed(&w), [id]);
    }

    #[test]
    fn release_all_and_release_notified() {
        let mut w = Waiters::new();
        let a = w.push_back(Waker::noop().clone());
        let b = w.push_back(Waker::noop().clone());
        let c = w.push_back(Waker::noop().clone());
        w.notify_first();
        let mut wakers = Vec::new();
        w.release_all(&mut wakers);
        assert_eq!(wakers.len(), 2);
        assert!(w.is_empty());
        assert!(matches!(w.wait(a), Wait::Notified));
        assert!(matches!(w.wait(b), Wait::Released));
        assert!(matches!(w.wait(c), Wait::Released));
        w.release_notified();
        assert!(matches!(w.wait(a), Wait::Released));
    }
}
