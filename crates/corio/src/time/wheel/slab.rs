//! Entry storage: one `Vec` with an intrusive free list, plus the wheel slots' linked lists.
//!
//! A freed entry is reused by the next insertion, so the `Vec` never grows past the peak
//! number of live entries. An entry stays allocated from insertion until its owner removes it,
//! even after it fires, so an owner's key can never come to name someone else's entry; the
//! generation in the key catches misuse anyway.
//!
//! The first [`HEADS`] entries are sentinels: entry `h` heads the circular doubly linked list
//! of wheel slot `h` (`level * 64 + slot`). With sentinels, unlinking an entry needs no
//! knowledge of which slot it is in, so entries don't store their position.

use std::task::Waker;

use super::level::{LEVELS, SLOTS};

/// Slab indices below this are slot list heads, not entries.
pub(super) const HEADS: u32 = (LEVELS * SLOTS) as u32;

/// Bits of a deadline tick kept in an entry: 2^44 ms is about 557 years.
const TICK_BITS: u32 = 44;
/// Latest tick the wheel represents; later deadlines are clamped to it.
pub(crate) const MAX_TICK: u64 = (1 << TICK_BITS) - 1;
/// Generations use the 20 bits of the packed word above the tick.
const GEN_MASK: u32 = (1 << (u64::BITS - TICK_BITS)) - 1;

/// `prev` of a free entry; its `next` links the free list.
const FREE: u32 = u32::MAX;
/// `prev` of an allocated entry that is in no slot (it fired, or is being moved).
const UNLINKED: u32 = u32::MAX - 1;
/// End of the free list and of a detached chain.
const NIL: u32 = u32::MAX;
/// Largest index handed out: the values above are markers.
const MAX_INDEX: u32 = u32::MAX - 2;

/// Names one allocated entry: its index and the generation it was allocated in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pub(super) index: u32,
    pub(super) generation: u32,
}

impl Key {
    /// A key that never names an entry, for owners that encode "no entry" states in a `Key`
    /// rather than paying for an enum tag. `n` is 0 or 1.
    pub(crate) const fn reserved(n: u32) -> Key {
        assert!(n <= 1);
        Key {
            index: u32::MAX - n,
            generation: 0,
        }
    }

    /// True for the keys from [`Key::reserved`].
    pub(crate) const fn is_reserved(self) -> bool {
        self.index > MAX_INDEX
    }
}

/// One timer: 32 bytes on 64-bit targets.
#[derive(Debug)]
pub(super) struct Entry {
    waker: Option<Waker>,
    /// Deadline tick in the low 44 bits, generation in the high 20 (a separate `u32` would
    /// pad the entry to 40 bytes).
    tick_gen: u64,
    prev: u32,
    next: u32,
}

impl Entry {
    fn tick(&self) -> u64 {
        self.tick_gen & MAX_TICK
    }

    fn generation(&self) -> u32 {
        (self.tick_gen >> TICK_BITS) as u32
    }

    fn set(&mut self, tick: u64, generation: u32) {
        debug_assert!(tick <= MAX_TICK && generation <= GEN_MASK);
        self.tick_gen = tick | (u64::from(generation) << TICK_BITS);
    }
}

#[derive(Debug)]
pub(super) struct Slab {
    entries: Vec<Entry>,
    /// Head of the free list, or `NIL`.
    free: u32,
    /// Allocated entries.
    len: usize,
}

impl Slab {
    pub(super) fn new() -> Slab {
        let entries = (0..HEADS)
            .map(|head| Entry {
                waker: None,
                tick_gen: 0,
                prev: head,
                next: head,
            })
            .collect();
        Slab {
            entries,
            free: NIL,
            len: 0,
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Entries ever created, live or free: at most the peak number of live entries.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.entries.len() - HEADS as usize
    }

    /// Allocates an unlinked entry due at `tick`.
    pub(super) fn alloc(&mut self, tick: u64, waker: Option<Waker>) -> Key {
        let index = if self.free != NIL {
            let index = self.free;
            let entry = &mut self.entries[index as usize];
            self.free = entry.next;
            let generation = entry.generation();
            entry.set(tick, generation);
            entry.waker = waker;
            entry.prev = UNLINKED;
            entry.next = NIL;
            index
        } else {
            let index = u32::try_from(self.entries.len())
                .ok()
                .filter(|&i| i <= MAX_INDEX)
                .expect("corio: too many timers");
            let mut entry = Entry {
                waker,
                tick_gen: 0,
                prev: UNLINKED,
                next: NIL,
            };
            entry.set(tick, 0);
            self.entries.push(entry);
            index
        };
        self.len += 1;
        self.key(index)
    }

    /// Frees an unlinked entry, returning its waker so the caller can drop it later (outside
    /// the driver's lock: dropping a waker may run arbitrary code).
    pub(super) fn free(&mut self, index: u32) -> Option<Waker> {
        let entry = &mut self.entries[index as usize];
        debug_assert_eq!(entry.prev, UNLINKED);
        // Bumping here makes every outstanding key for this entry stale at once.
        entry.set(0, (entry.generation() + 1) & GEN_MASK);
        entry.prev = FREE;
        entry.next = self.free;
        self.free = index;
        self.len -= 1;
        entry.waker.take()
    }

    /// The key of the allocated entry at `index`.
    pub(super) fn key(&self, index: u32) -> Key {
        Key {
            index,
            generation: self.entries[index as usize].generation(),
        }
    }

    /// Index of the entry `key` names. Panics if it names none: that is a bug in the owner.
    pub(super) fn index(&self, key: Key) -> u32 {
        let live = key.index >= HEADS
            && self
                .entries
                .get(key.index as usize)
                .is_some_and(|e| e.prev != FREE && e.generation() == key.generation);
        assert!(live, "corio: timer key {key:?} names no live entry");
        key.index
    }

    pub(super) fn tick(&self, index: u32) -> u64 {
        self.entries[index as usize].tick()
    }

    pub(super) fn set_tick(&mut self, index: u32, tick: u64) {
        let entry = &mut self.entries[index as usize];
        let generation = entry.generation();
        entry.set(tick, generation);
    }

    pub(super) fn waker_mut(&mut self, index: u32) -> &mut Option<Waker> {
        &mut self.entries[index as usize].waker
    }

    /// True if the allocated entry is in some slot's list.
    pub(super) fn is_linked(&self, index: u32) -> bool {
        self.entries[index as usize].prev <= MAX_INDEX
    }

    /// Appends an unlinked entry to the list headed by `head`.
    pub(super) fn push_back(&mut self, head: u32, index: u32) {
        let tail = self.entries[head as usize].prev;
        let entry = &mut self.entries[index as usize];
        entry.prev = tail;
        entry.next = head;
        self.entries[tail as usize].next = index;
        self.entries[head as usize].prev = index;
    }

    /// Unlinks a linked entry. Returns its list's head if that list is now empty.
    pub(super) fn unlink(&mut self, index: u32) -> Option<u32> {
        let entry = &mut self.entries[index as usize];
        let (prev, next) = (entry.prev, entry.next);
        entry.prev = UNLINKED;
        entry.next = NIL;
        self.entries[prev as usize].next = next;
        self.entries[next as usize].prev = prev;
        // Only the sentinel is left exactly when both neighbours are the same head.
        (prev == next && prev < HEADS).then_some(prev)
    }

    /// First entry of the list headed by `head`.
    pub(super) fn front(&self, head: u32) -> Option<u32> {
        let first = self.entries[head as usize].next;
        (first != head).then_some(first)
    }

    /// Empties the list headed by `head`, returning its entries as a chain to walk with
    /// [`Slab::chain_next`]. Each entry must be re-linked or unlinked as it is visited.
    pub(super) fn take_list(&mut self, head: u32) -> Option<u32> {
        let first = self.front(head)?;
        let sentinel = &mut self.entries[head as usize];
        let last = sentinel.prev;
        sentinel.prev = head;
        sentinel.next = head;
        self.entries[last as usize].next = NIL;
        Some(first)
    }

    /// The entry after `index` in a chain from [`Slab::take_list`]. Read it before re-linking
    /// `index`, which overwrites the link.
    pub(super) fn chain_next(&self, index: u32) -> Option<u32> {
        let next = self.entries[index as usize].next;
        (next != NIL).then_some(next)
    }

    /// Marks an entry of a taken chain as in no list.
    pub(super) fn mark_unlinked(&mut self, index: u32) {
        let entry = &mut self.entries[index as usize];
        entry.prev = UNLINKED;
        entry.next = NIL;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn entry_is_32_bytes() {
        assert_eq!(size_of::<Entry>(), 32);
        assert_eq!(size_of::<Key>(), 8);
    }

    #[test]
    fn free_list_reuses_slots_and_bumps_generation() {
        let mut slab = Slab::new();
        let a = slab.alloc(10, None);
        let b = slab.alloc(20, None);
        assert_eq!(slab.len(), 2);
        assert_eq!(slab.capacity(), 2);
        assert_eq!(slab.tick(slab.index(a)), 10);
        slab.free(slab.index(a));
        let c = slab.alloc(30, None);
        assert_eq!(c.index, a.index, "the freed slot is reused");
        assert_ne!(c.generation, a.generation);
        assert_eq!(slab.capacity(), 2);
        assert_eq!(slab.tick(slab.index(b)), 20);
        assert_eq!(slab.tick(slab.index(c)), 30);
    }

    #[test]
    #[should_panic(expected = "names no live entry")]
    fn stale_key_panics() {
        let mut slab = Slab::new();
        let a = slab.alloc(10, None);
        slab.free(slab.index(a));
        let _ = slab.alloc(11, None);
        slab.index(a);
    }

    #[test]
    #[should_panic(expected = "names no live entry")]
    fn sentinel_key_panics() {
        let slab = Slab::new();
        slab.index(Key {
            index: 0,
            generation: 0,
        });
    }

    #[test]
    fn generation_wraps_within_its_bits() {
        let mut slab = Slab::new();
        let key = slab.alloc(1, None);
        slab.entries[key.index as usize].set(MAX_TICK, GEN_MASK);
        let key = slab.key(key.index);
        assert_eq!(key.generation, GEN_MASK);
        assert_eq!(
            slab.tick(slab.index(key)),
            MAX_TICK,
            "tick and generation don't overlap"
        );
        slab.free(slab.index(key));
        let wrapped = slab.alloc(5, None);
        assert_eq!(wrapped.index, key.index);
        assert_eq!(wrapped.generation, 0);
        assert_eq!(slab.tick(slab.index(wrapped)), 5);
    }

    #[test]
    fn lists_link_unlink_and_report_empty() {
        let mut slab = Slab::new();
        let keys: Vec<u32> = (0..3).map(|i| slab.alloc(i, None).index).collect();
        for &k in &keys {
            slab.push_back(7, k);
            assert!(slab.is_linked(k));
        }
        assert_eq!(slab.front(7), Some(keys[0]));
        assert_eq!(slab.unlink(keys[1]), None);
        assert!(!slab.is_linked(keys[1]));
        assert_eq!(slab.unlink(keys[0]), None);
        assert_eq!(slab.front(7), Some(keys[2]));
        assert_eq!(slab.unlink(keys[2]), Some(7));
        assert_eq!(slab.front(7), None);
    }

    #[test]
    fn take_list_yields_a_chain_in_order() {
        let mut slab = Slab::new();
        let keys: Vec<u32> = (0..4).map(|i| slab.alloc(i, None).index).collect();
        for &k in &keys {
            slab.push_back(3, k);
        }
        let mut seen = Vec::new();
        let mut cur = slab.take_list(3);
        while let Some(i) = cur {
            cur = slab.chain_next(i);
            // Re-linking into the same list while walking must not disturb the walk.
            slab.push_back(3, i);
            seen.push(i);
        }
        assert_eq!(seen, keys);
        assert_eq!(slab.take_list(5), None);
        let mut cur = slab.take_list(3);
        while let Some(i) = cur {
            cur = slab.chain_next(i);
            slab.mark_unlinked(i);
            assert!(!slab.is_linked(i));
        }
        assert_eq!(slab.front(3), None);
    }
}
