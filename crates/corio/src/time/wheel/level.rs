//! Slot arithmetic for the wheel's levels, and each level's occupancy bitmap.
//!
//! Level `n` has 64 slots, each `64^n` ticks wide, so one turn of level `n` is `64^(n+1)`
//! ticks. An entry due at `when` sits on the lowest level whose current turn (as seen from the
//! wheel's `elapsed`) contains `when`, in the slot `when` falls in. The slot is then always
//! ahead of `elapsed`'s own slot on that level, so it comes due (at the tick it begins) no
//! later than the entry itself; it is then cascaded to a lower level, or fired on level 0.

/// Levels in the wheel.
pub(super) const LEVELS: usize = 6;
/// Slots per level, as a power of two.
pub(super) const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(super) const SLOTS: usize = 1 << SLOT_BITS;
/// One turn of the top level is `2^RANGE_BITS` ticks (about 795 days of milliseconds).
const RANGE_BITS: u32 = SLOT_BITS * LEVELS as u32;

/// Level and slot that an entry due at `when` belongs in, seen from `elapsed <= when`.
pub(super) fn position(elapsed: u64, when: u64) -> (usize, usize) {
    debug_assert!(elapsed <= when);
    // The highest bit in which the two differ picks the level: above it they share a turn.
    let diff = elapsed ^ when;
    if diff >> RANGE_BITS != 0 {
        // Past the top level's current turn. Clamp it to the top level's slot 0, which
        // `Level::next` treats as due when the next turn begins; it is re-placed then.
        return (LEVELS - 1, 0);
    }
    let highest = u64::BITS - 1 - (diff | (SLOTS as u64 - 1)).leading_zeros();
    let level = (highest / SLOT_BITS) as usize;
    (level, slot_of(when, level))
}

/// Slot that tick `t` falls in on `level`.
fn slot_of(t: u64, level: usize) -> usize {
    ((t >> (level as u32 * SLOT_BITS)) as usize) & (SLOTS - 1)
}

/// Which slots of one level hold entries: finding the next busy slot is a couple of bit ops.
#[derive(Debug, Default)]
pub(super) struct Level {
    occupied: u64,
}

impl Level {
    pub(super) fn set(&mut self, slot: usize) {
        self.occupied |= 1 << slot;
    }

    pub(super) fn clear(&mut self, slot: usize) {
        self.occupied &= !(1 << slot);
    }

    /// Any occupied slot, lowest first (used when firing everything at shutdown).
    pub(super) fn any(&self) -> Option<usize> {
        (self.occupied != 0).then(|| self.occupied.trailing_zeros() as usize)
    }

    /// The occupied slot of `level` that comes due first after `elapsed`, and its due tick
    /// (the tick the slot begins at).
    pub(super) fn next(&self, level: usize, elapsed: u64) -> Option<(usize, u64)> {
        if self.occupied == 0 {
            return None;
        }
        let shift = level as u32 * SLOT_BITS;
        let turn_len = 1u64 << (shift + SLOT_BITS);
        let turn_start = elapsed & !(turn_len - 1);
        let current = slot_of(elapsed, level) as u32;
        // On level 0 the current slot is the current tick; a cascade can leave an entry due
        // right now there. On higher levels the current slot has already begun, so anything
        // in it (only the top level's clamped entries) belongs to the next turn.
        let first = if level == 0 { current } else { current + 1 };
        let ahead = if first < u64::BITS {
            self.occupied & (u64::MAX << first)
        } else {
            0
        };
        if ahead != 0 {
            let slot = ahead.trailing_zeros();
            return Some((slot as usize, turn_start + (u64::from(slot) << shift)));
        }
        debug_assert_eq!(level, LEVELS - 1, "only the top level wraps around");
        let slot = self.occupied.trailing_zeros();
        Some((
            slot as usize,
            turn_start + turn_len + (u64::from(slot) << shift),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_picks_lowest_level_sharing_the_turn() {
        assert_eq!(position(0, 0), (0, 0));
        assert_eq!(position(0, 63), (0, 63));
        assert_eq!(position(0, 64), (1, 1));
        assert_eq!(position(60, 70), (1, 1));
        assert_eq!(position(64, 127), (0, 63));
        assert_eq!(position(0, 4095), (1, 63));
        assert_eq!(position(0, 4096), (2, 1));
        assert_eq!(position(0, (1 << 36) - 1), (5, 63));
        assert_eq!(position(0, 1 << 36), (5, 0));
        assert_eq!(position(5 << 30, 7 << 30), (5, 7));
        // Within range but across the top level's turn boundary: clamped.
        assert_eq!(position((1 << 36) - 1, 1 << 36), (5, 0));
    }

    #[test]
    fn next_slot_and_due_tick() {
        let mut level = Level::default();
        assert_eq!(level.next(0, 0), None);
        level.set(5);
        assert_eq!(level.next(0, 0), Some((5, 5)));
        assert_eq!(level.next(0, 5), Some((5, 5)));
        assert_eq!(level.next(0, 64 + 3), Some((5, 64 + 5)));

        let mut level = Level::default();
        level.set(3);
        level.set(9);
        assert_eq!(level.next(1, 0), Some((3, 3 * 64)));
        assert_eq!(level.next(1, 3 * 64 - 1), Some((3, 3 * 64)));
        // Level 1's slot 2 is current at tick 130: slot 3 is next.
        assert_eq!(level.next(1, 130), Some((3, 192)));

        // Top level wraps: slot 0 while in slot 0 means the next turn.
        let mut top = Level::default();
        top.set(0);
        assert_eq!(top.next(5, 0), Some((0, 1 << 36)));
        assert_eq!(top.next(5, 63 << 30), Some((0, 1 << 36)));
        top.set(63);
        assert_eq!(top.next(5, 0), Some((63, 63 << 30)));
        assert_eq!(top.next(5, 63 << 30), Some((0, 1 << 36)));
    }

    #[test]
    fn set_clear_any() {
        let mut level = Level::default();
        assert_eq!(level.any(), None);
        level.set(63);
        level.set(10);
        assert_eq!(level.any(), Some(10));
        level.clear(10);
        assert_eq!(level.any(), Some(63));
        level.clear(63);
        assert_eq!(level.any(), None);
    }
}
