//! Slots for registered sources, addressed by generation-checked tokens.
//!
//! A token is `generation << 32 | index`. Freeing a slot bumps its generation, so a token
//! handed out before the slot was reused no longer resolves: an event that epoll reported
//! for a source that has since been deregistered is dropped instead of being delivered to
//! whichever source now lives in that slot.
//!
//! Index `u32::MAX` is never allocated, so no token equals the poller's `WAKE_TOKEN`
//! (`u64::MAX`).

/// Packs a slot index and its generation into an epoll token.
pub(super) const fn token(index: u32, generation: u32) -> u64 {
    ((generation as u64) << 32) | index as u64
}

/// Splits a token into (index, generation).
pub(super) const fn split(token: u64) -> (u32, u32) {
    (token as u32, (token >> 32) as u32)
}

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// A vector of slots with a free list; freed slots are reused most-recent first.
pub(super) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub(super) const fn new() -> Slab<T> {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Stores `value` and returns its token; `None` if every index is taken.
    pub(super) fn insert(&mut self, value: T) -> Option<u64> {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&i| i < u32::MAX)?;
                self.slots.push(Slot {
                    generation: 0,
                    value: None,
                });
                index
            }
        };
        let slot = &mut self.slots[index as usize];
        debug_assert!(slot.value.is_none(), "free list held an occupied slot");
        slot.value = Some(value);
        self.len += 1;
        Some(token(index, slot.generation))
    }

    /// The value behind `token`, if the token is current.
    pub(super) fn get(&self, token: u64) -> Option<&T> {
        let (index, generation) = split(token);
        let slot = self.slots.get(index as usize)?;
        if slot.generation != generation {
            return None;
        }
        slot.value.as_ref()
    }

    /// Frees the slot behind `token` (if current) and retires the token.
    pub(super) fn remove(&mut self, token: u64) -> Option<T> {
        let (index, generation) = split(token);
        let slot = self.slots.get_mut(index as usize)?;
        if slot.generation != generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
        self.len -= 1;
        Some(value)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(|slot| slot.value.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip() {
        assert_eq!(split(token(0, 0)), (0, 0));
        assert_eq!(split(token(5, 9)), (5, 9));
        assert_eq!(
            split(token(u32::MAX - 1, u32::MAX)),
            (u32::MAX - 1, u32::MAX)
        );
        assert_eq!(token(3, 1), (1 << 32) | 3);
        assert_ne!(
            token(u32::MAX - 1, u32::MAX),
            super::super::epoll::WAKE_TOKEN
        );
    }

    #[test]
    fn insert_get_remove() {
        let mut slab = Slab::new();
        let a = slab.insert("a").unwrap();
        let b = slab.insert("b").unwrap();
        assert_eq!(slab.len(), 2);
        assert_eq!(slab.get(a), Some(&"a"));
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.remove(a), Some("a"));
        assert_eq!(slab.remove(a), None, "removing twice is a no-op");
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.len(), 1);
        assert_eq!(slab.iter().copied().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn reused_slot_gets_a_new_generation() {
        let mut slab = Slab::new();
        let old = slab.insert(1).unwrap();
        slab.remove(old);
        let new = slab.insert(2).unwrap();
        assert_eq!(split(old).0, split(new).0, "the slot is reused");
        assert_ne!(old, new, "with a new token");
        assert_eq!(slab.get(old), None, "a stale token resolves to nothing");
        assert_eq!(slab.remove(old), None, "and cannot free the new value");
        assert_eq!(slab.get(new), Some(&2));
    }

    #[test]
    fn unknown_tokens_resolve_to_nothing() {
        let mut slab: Slab<u8> = Slab::new();
        assert_eq!(slab.get(token(0, 0)), None);
        assert_eq!(slab.get(u64::MAX), None);
        assert_eq!(slab.remove(token(7, 0)), None);
    }
}
