//! Hierarchical timing wheel over explicit integer ticks (no clock, no locking), so it can be
//! tested with fake time. See the `time` module docs for the layout.

#![forbid(unsafe_code)]

mod level;
mod slab;
#[cfg(test)]
mod tests;

use std::task::Waker;

use level::{LEVELS, Level, SLOTS, position};
use slab::Slab;
pub(crate) use slab::{Key, MAX_TICK};

#[derive(Debug)]
pub(crate) struct Wheel {
    slab: Slab,
    levels: [Level; LEVELS],
    /// Every tick up to and including this one has been processed: all entries are due later,
    /// except ones that fired and await removal by their owner.
    elapsed: u64,
}

/// Slab index of the list head of `slot` on `level`.
fn head_of(level: usize, slot: usize) -> u32 {
    (level * SLOTS + slot) as u32
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            slab: Slab::new(),
            levels: Default::default(),
            elapsed: 0,
        }
    }

    /// The last processed tick.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Allocated entries, pending or fired.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// Entry slots ever created: the peak of [`Wheel::len`], never more.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.slab.capacity()
    }

    /// Adds an entry due at tick `when` (clamped to [`MAX_TICK`]). Returns `None`, adding
    /// nothing, if that tick has already been processed: the caller treats it as fired.
    pub(crate) fn insert(&mut self, when: u64, waker: Option<Waker>) -> Option<Key> {
        let when = when.min(MAX_TICK);
        if when <= self.elapsed {
            return None;
        }
        let key = self.slab.alloc(when, waker);
        self.link(self.slab.index(key));
        Some(key)
    }

    /// Frees the entry, pending or fired, and returns its waker so the caller can drop it
    /// outside any lock.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waker> {
        let index = self.slab.index(key);
        self.unlink(index);
        self.slab.free(index)
    }

    /// True once the entry has fired (it stays allocated until removed).
    pub(crate) fn is_fired(&self, key: Key) -> bool {
        !self.slab.is_linked(self.slab.index(key))
    }

    /// Stores `waker` in the entry unless the stored one already wakes the same task. Returns
    /// the replaced waker, for dropping outside any lock.
    pub(crate) fn register_waker(&mut self, key: Key, waker: &Waker) -> Option<Waker> {
        let index = self.slab.index(key);
        match self.slab.waker_mut(index) {
            Some(stored) if stored.will_wake(waker) => None,
            slot => slot.replace(waker.clone()),
        }
    }

    /// Makes the entry due at `when` instead, pending again even if it had fired. If `when`
    /// has already been processed the entry fires at once and its waker is returned, for
    /// waking outside any lock.
    pub(crate) fn reset(&mut self, key: Key, when: u64) -> Option<Waker> {
        let index = self.slab.index(key);
        let when = when.min(MAX_TICK);
        self.unlink(index);
        self.slab.set_tick(index, when);
        if when <= self.elapsed {
            return self.slab.waker_mut(index).take();
        }
        self.link(index);
        None
    }

    /// The tick at which the wheel next has work: an entry to fire or a slot to cascade.
    /// Never later than the earliest pending deadline, and `None` iff nothing is pending.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.next_slot().map(|(_, _, due)| due)
    }

    /// Fires the next entry due at or before `now` and takes its waker. Returns `None` once
    /// none is left, having advanced `elapsed` to `now`. Entries without a waker fire silently.
    pub(crate) fn poll(&mut self, now: u64) -> Option<Waker> {
        while let Some(key) = self.next_expired(now) {
            let index = self.slab.index(key);
            if let Some(waker) = self.slab.waker_mut(index).take() {
                return Some(waker);
            }
        }
        None
    }

    /// Fires the next entry due at or before `now`, cascading higher-level slots as they come
    /// due. Returns `None` once none is left, having advanced `elapsed` to `now`.
    pub(crate) fn next_expired(&mut self, now: u64) -> Option<Key> {
        let now = now.min(MAX_TICK);
        loop {
            match self.next_slot() {
                Some((level, slot, due)) if due <= now => {
                    debug_assert!(due >= self.elapsed, "a slot came due in the past");
                    self.elapsed = due;
                    let head = head_of(level, slot);
                    if level == 0 {
                        // Every entry in a level-0 slot is due exactly at the slot's tick.
                        let index = self.slab.front(head).expect("occupied slot is empty");
                        debug_assert_eq!(self.slab.tick(index), due);
                        self.unlink(index);
                        return Some(self.slab.key(index));
                    }
                    self.cascade(level, slot);
                }
                _ => {
                    // Safe to jump: no slot comes due before `now`, so every entry's position
                    // is still right relative to the new `elapsed`.
                    self.elapsed = self.elapsed.max(now);
                    return None;
                }
            }
        }
    }

    /// Fires any pending entry regardless of its deadline (shutdown) and takes its waker.
    pub(crate) fn fire_any(&mut self) -> Option<Waker> {
        loop {
            let (level, slot) = self
                .levels
                .iter()
                .enumerate()
                .find_map(|(level, l)| l.any().map(|slot| (level, slot)))?;
            let index = self
                .slab
                .front(head_of(level, slot))
                .expect("occupied slot is empty");
            self.unlink(index);
            if let Some(waker) = self.slab.waker_mut(index).take() {
                return Some(waker);
            }
        }
    }

    /// The occupied slot that comes due first: (level, slot, due tick). Lower levels always
    /// come due before higher ones, but taking the minimum keeps that an optimisation detail.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        self.levels
            .iter()
            .enumerate()
            .filter_map(|(level, l)| {
                l.next(level, self.elapsed)
                    .map(|(slot, due)| (level, slot, due))
            })
            .min_by_key(|&(_, _, due)| due)
    }

    /// Re-places every entry of a slot that has come due; they land on lower levels (or, for
    /// clamped far-future entries, back in the top level for its next turn).
    fn cascade(&mut self, level: usize, slot: usize) {
        self.levels[level].clear(slot);
        let mut next = self.slab.take_list(head_of(level, slot));
        while let Some(index) = next {
            next = self.slab.chain_next(index);
            self.slab.mark_unlinked(index);
            self.link(index);
        }
    }

    /// Puts an unlinked entry in the slot for its deadline (which is after `elapsed`).
    fn link(&mut self, index: u32) {
        let (level, slot) = position(self.elapsed, self.slab.tick(index));
        self.slab.push_back(head_of(level, slot), index);
        self.levels[level].set(slot);
    }

    /// Takes the entry out of its slot, if it is in one.
    fn unlink(&mut self, index: u32) {
        if self.slab.is_linked(index)
            && let Some(head) = self.slab.unlink(index)
        {
            let head = head as usize;
            self.levels[head / SLOTS].clear(head % SLOTS);
        }
    }
}
