//! Readiness bits, and the packed word that stores them with a tick.
//!
//! Pure values and functions only (no atomics, no syscalls), so Miri can check them. The
//! word layout is documented in the [driver's module doc](super).

use std::fmt;
use std::ops::{BitAnd, BitOr, Sub};

use super::epoll::Event;

/// What a source is ready for, as the driver learnt it from epoll.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ready(usize);

impl Ready {
    pub(crate) const EMPTY: Ready = Ready(0);
    pub(crate) const READABLE: Ready = Ready(1 << 0);
    pub(crate) const WRITABLE: Ready = Ready(1 << 1);
    /// The peer will send nothing more: reads return EOF (or an error).
    pub(crate) const READ_CLOSED: Ready = Ready(1 << 2);
    /// Nothing more can be sent: writes fail.
    pub(crate) const WRITE_CLOSED: Ready = Ready(1 << 3);
    /// `EPOLLERR`: the next operation reports the pending error.
    pub(crate) const ERROR: Ready = Ready(1 << 4);

    /// A closed direction stays closed, so clearing never removes these.
    const STICKY: Ready = Ready(Ready::READ_CLOSED.0 | Ready::WRITE_CLOSED.0);
    /// Every readiness bit; the word's low bits above these hold other flags.
    const MASK: usize = 0b1_1111;

    pub(crate) fn from_event(event: Event) -> Ready {
        let mut ready = Ready::EMPTY;
        let bits = [
            (event.is_readable(), Ready::READABLE),
            (event.is_writable(), Ready::WRITABLE),
            (event.is_read_closed(), Ready::READ_CLOSED),
            (event.is_write_closed(), Ready::WRITE_CLOSED),
            (event.is_error(), Ready::ERROR),
        ];
        for (set, bit) in bits {
            if set {
                ready = ready | bit;
            }
        }
        ready
    }

    pub(crate) const fn is_empty(self) -> bool {
        self.0 == 0
    }

    #[cfg(test)]
    pub(crate) const fn is_readable(self) -> bool {
        self.0 & Ready::READABLE.0 != 0
    }

    #[cfg(test)]
    pub(crate) const fn is_writable(self) -> bool {
        self.0 & Ready::WRITABLE.0 != 0
    }

    #[cfg(test)]
    pub(crate) const fn is_read_closed(self) -> bool {
        self.0 & Ready::READ_CLOSED.0 != 0
    }

    #[cfg(test)]
    pub(crate) const fn is_error(self) -> bool {
        self.0 & Ready::ERROR.0 != 0
    }
}

impl BitOr for Ready {
    type Output = Ready;

    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl BitAnd for Ready {
    type Output = Ready;

    fn bitand(self, rhs: Ready) -> Ready {
        Ready(self.0 & rhs.0)
    }
}

/// `a - b`: the bits of `a` that are not in `b`.
impl Sub for Ready {
    type Output = Ready;

    fn sub(self, rhs: Ready) -> Ready {
        Ready(self.0 & !rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Ready::READABLE, "READABLE"),
            (Ready::WRITABLE, "WRITABLE"),
            (Ready::READ_CLOSED, "READ_CLOSED"),
            (Ready::WRITE_CLOSED, "WRITE_CLOSED"),
            (Ready::ERROR, "ERROR"),
        ];
        let mut set = f.debug_set();
        for (bit, name) in names {
            if !(*self & bit).is_empty() {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

/// The side of a source a task waits on. Each has its own waker slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The bits that make an operation in this direction worth trying: plain readiness,
    /// a closed direction (EOF / `EPIPE`), or a pending error.
    pub(crate) const fn mask(self) -> Ready {
        match self {
            Direction::Read => Ready(Ready::READABLE.0 | Ready::READ_CLOSED.0 | Ready::ERROR.0),
            Direction::Write => Ready(Ready::WRITABLE.0 | Ready::WRITE_CLOSED.0 | Ready::ERROR.0),
        }
    }
}

/// Readiness one poll observed: the bits relevant to its direction, and the tick they
/// were read at. Handing it back to `clear_readiness` clears exactly what was observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReadyEvent {
    ready: Ready,
    tick: usize,
}

impl ReadyEvent {
    #[cfg(test)]
    pub(crate) fn ready(self) -> Ready {
        self.ready
    }

    #[cfg(test)]
    pub(super) fn tick(self) -> usize {
        self.tick
    }
}

/// What a look at the word says to a task waiting in one direction.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Observed {
    Ready(ReadyEvent),
    NotReady,
    Shutdown,
}

/// The driver has shut down: terminal, set once, never cleared.
const SHUTDOWN: usize = 1 << 5;
/// The tick occupies every bit from here up.
const TICK_SHIFT: u32 = 16;
const TICK_MASK: usize = usize::MAX >> TICK_SHIFT;

/// The packed readiness word of one source (see the module doc of the driver).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Word(usize);

impl Word {
    pub(super) const INITIAL: Word = Word(0);

    pub(super) const fn from_raw(raw: usize) -> Word {
        Word(raw)
    }

    pub(super) const fn into_raw(self) -> usize {
        self.0
    }

    pub(super) const fn ready(self) -> Ready {
        Ready(self.0 & Ready::MASK)
    }

    pub(super) const fn tick(self) -> usize {
        self.0 >> TICK_SHIFT
    }

    pub(super) const fn is_shutdown(self) -> bool {
        self.0 & SHUTDOWN != 0
    }

    /// The driver saw `ready`: add the bits and advance the tick, so a task clearing what
    /// it observed before this event keeps these bits.
    pub(super) const fn with_event(self, ready: Ready) -> Word {
        let tick = self.tick().wrapping_add(1) & TICK_MASK;
        let flags = self.0 & ((1 << TICK_SHIFT) - 1);
        Word((tick << TICK_SHIFT) | flags | ready.0)
    }

    /// A task's operation hit `WouldBlock` after observing `event`: drop those bits, unless
    /// an event arrived since (the tick moved). `None` means "leave the word as it is".
    pub(super) fn cleared(self, event: ReadyEvent) -> Option<Word> {
        if self.tick() != event.tick & TICK_MASK {
            return None;
        }
        let clear = event.ready - Ready::STICKY;
        if (self.ready() & clear).is_empty() {
            return None;
        }
        Some(Word(self.0 & !clear.0))
    }

    pub(super) const fn with_shutdown(self) -> Word {
        Word(self.0 | SHUTDOWN)
    }

    /// What a task waiting on `direction` should do, given this word.
    pub(super) fn observe(self, direction: Direction) -> Observed {
        if self.is_shutdown() {
            return Observed::Shutdown;
        }
        let ready = self.ready() & direction.mask();
        if ready.is_empty() {
            Observed::NotReady
        } else {
            Observed::Ready(ReadyEvent {
                ready,
                tick: self.tick(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(word: Word, direction: Direction) -> ReadyEvent {
        match word.observe(direction) {
            Observed::Ready(event) => event,
            other => panic!("expected ready, got {other:?}"),
        }
    }

    #[test]
    fn layout_keeps_bits_and_tick_apart() {
        let word = Word::INITIAL.with_event(Ready::READABLE | Ready::ERROR);
        assert_eq!(word.ready(), Ready::READABLE | Ready::ERROR);
        assert_eq!(word.tick(), 1);
        assert!(!word.is_shutdown());
        assert_eq!(Word::from_raw(word.into_raw()), word);
        assert_eq!(word.into_raw(), (1 << TICK_SHIFT) | 0b1_0001);

        let word = word.with_shutdown();
        assert!(word.is_shutdown());
        assert_eq!(word.ready(), Ready::READABLE | Ready::ERROR);
        assert_eq!(word.tick(), 1);
    }

    #[test]
    fn tick_wraps_without_touching_flags() {
        let word = Word::from_raw((TICK_MASK << TICK_SHIFT) | SHUTDOWN | Ready::WRITABLE.0);
        let next = word.with_event(Ready::READABLE);
        assert_eq!(next.tick(), 0);
        assert!(next.is_shutdown());
        assert_eq!(next.ready(), Ready::READABLE | Ready::WRITABLE);
    }

    #[test]
    fn observe_masks_by_direction() {
        let word = Word::INITIAL.with_event(Ready::READABLE);
        assert_eq!(observed(word, Direction::Read).ready(), Ready::READABLE);
        assert_eq!(word.observe(Direction::Write), Observed::NotReady);

        let word = word.with_event(Ready::WRITE_CLOSED);
        assert_eq!(
            observed(word, Direction::Write).ready(),
            Ready::WRITE_CLOSED
        );

        // An error is worth an attempt in both directions.
        let word = Word::INITIAL.with_event(Ready::ERROR);
        assert_eq!(observed(word, Direction::Read).ready(), Ready::ERROR);
        assert_eq!(observed(word, Direction::Write).ready(), Ready::ERROR);

        assert_eq!(
            word.with_shutdown().observe(Direction::Read),
            Observed::Shutdown
        );
        assert_eq!(
            Word::INITIAL.with_shutdown().observe(Direction::Write),
            Observed::Shutdown
        );
    }

    #[test]
    fn clear_removes_only_what_was_observed() {
        let word = Word::INITIAL.with_event(Ready::READABLE | Ready::WRITABLE);
        let read = observed(word, Direction::Read);
        let word = word.cleared(read).expect("same tick: cleared");
        assert_eq!(word.ready(), Ready::WRITABLE);
        // Nothing left to clear for that event.
        assert_eq!(word.cleared(read), None);
    }

    #[test]
    fn clear_after_a_newer_event_is_ignored() {
        // The task observed READABLE, its read hit WouldBlock, but the driver saw a new
        // edge before the task cleared: the new edge must survive.
        let word = Word::INITIAL.with_event(Ready::READABLE);
        let seen = observed(word, Direction::Read);
        let word = word.with_event(Ready::READABLE);
        assert_eq!(word.cleared(seen), None);
        assert_eq!(word.ready(), Ready::READABLE);
    }

    #[test]
    fn closed_bits_are_sticky() {
        let word = Word::INITIAL.with_event(Ready::READABLE | Ready::READ_CLOSED | Ready::ERROR);
        let seen = observed(word, Direction::Read);
        assert_eq!(
            seen.ready(),
            Ready::READABLE | Ready::READ_CLOSED | Ready::ERROR
        );
        let word = word.cleared(seen).unwrap();
        assert_eq!(word.ready(), Ready::READ_CLOSED);
        // Still ready for reading: the next read returns EOF instead of hanging.
        assert_eq!(observed(word, Direction::Read).ready(), Ready::READ_CLOSED);
    }

    #[test]
    fn from_event_maps_every_flag() {
        let mut events = super::super::epoll::Events::with_capacity(4);
        events.push(1, (libc::EPOLLIN | libc::EPOLLRDHUP) as u32);
        events.push(2, (libc::EPOLLOUT | libc::EPOLLERR) as u32);
        events.push(3, libc::EPOLLHUP as u32);
        let ready: Vec<Ready> = events.iter().map(Ready::from_event).collect();
        assert_eq!(ready[0], Ready::READABLE | Ready::READ_CLOSED);
        assert_eq!(ready[1], Ready::WRITABLE | Ready::ERROR);
        assert_eq!(ready[2], Ready::READ_CLOSED | Ready::WRITE_CLOSED);
        assert_eq!(format!("{:?}", ready[1]), "{WRITABLE, ERROR}");
    }
}
