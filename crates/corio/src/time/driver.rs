//! The runtime's timer driver: the wheel behind a mutex, the clock, and the wake protocol.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use super::wheel::{Key, MAX_TICK, Wheel};
use crate::runtime::park::Unpark;

/// Panic message for a timer used after its runtime shut down.
pub(super) const SHUTDOWN: &str = "corio: the runtime's timer driver has shut down";

/// Wakers are invoked in batches of this many, outside the lock.
const WAKE_BATCH: usize = 32;

/// `wake_at` when the parking thread has no deadline.
const NO_DEADLINE: u64 = u64::MAX;

/// Owns the timers of one runtime. See the module docs for the protocol.
pub(crate) struct TimeDriver {
    /// Tick 0. Ticks are whole milliseconds since then.
    origin: Instant,
    unpark: Arc<dyn Unpark>,
    inner: Mutex<Inner>,
    /// Moves (under the lock, before any waker is called) whenever timers fire. A timer
    /// polled again by the task it last registered sees the same epoch if it cannot have
    /// fired since, and stays pending without taking the lock (see `Sleep`).
    fired_epoch: AtomicU64,
}

struct Inner {
    wheel: Wheel,
    /// Tick the parking thread will wake at, as last told by `next_deadline`. A registration
    /// due earlier must unpark it.
    wake_at: u64,
    shutdown: bool,
}

impl Inner {
    /// Records that something is due at `tick`; true if the parked thread must be woken.
    fn note_deadline(&mut self, tick: u64) -> bool {
        let earlier = tick < self.wake_at;
        if earlier {
            // Later registrations due after `tick` need not unpark again: the woken thread
            // will ask `next_deadline` before parking.
            self.wake_at = tick;
        }
        earlier
    }
}

impl TimeDriver {
    /// A driver whose clock starts now. `unpark` wakes the thread that parks on it.
    pub(crate) fn new(unpark: Arc<dyn Unpark>) -> TimeDriver {
        TimeDriver {
            origin: Instant::now(),
            unpark,
            inner: Mutex::new(Inner {
                wheel: Wheel::new(),
                wake_at: NO_DEADLINE,
                shutdown: false,
            }),
            fired_epoch: AtomicU64::new(0),
        }
    }

    /// The instant the driver next has work (the earliest deadline, or sooner when a coarse
    /// wheel slot has to be cascaded), recorded as when the parking thread will wake: a timer
    /// registered later with an earlier deadline calls `unpark`.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let mut inner = self.lock();
        let next = match inner.shutdown {
            true => None,
            false => inner.wheel.next_expiration(),
        };
        inner.wake_at = next.unwrap_or(NO_DEADLINE);
        drop(inner);
        next.map(|tick| self.instant_at(tick))
    }

    /// Fires every timer due by now.
    pub(crate) fn process(&self) {
        let now = Instant::now();
        crate::runtime::clock::refresh(now);
        self.process_at(now);
    }

    /// Fires every timer whose deadline tick is at or before `now`.
    pub(crate) fn process_at(&self, now: Instant) {
        let now = self.tick_floor(now);
        self.fire(|wheel| wheel.poll(now));
    }

    /// Wakes every pending timer; from now on polling a registered timer panics instead of
    /// waiting for a wake-up that would never come.
    pub(crate) fn shutdown(&self) {
        self.lock().shutdown = true;
        self.fire(Wheel::fire_any);
    }

    #[allow(dead_code)] // Part of the runtime-facing API; not every runtime calls it.
    pub(crate) fn is_shutdown(&self) -> bool {
        self.lock().shutdown
    }

    /// Registers a timer due at `deadline`, waking `waker`. Returns `None` if it is already
    /// due (nothing is registered then).
    pub(super) fn register(&self, deadline: Instant, waker: &Waker) -> Option<Key> {
        let tick = self.tick_ceil(deadline);
        let mut inner = self.lock();
        if inner.shutdown {
            drop(inner);
            panic!("{SHUTDOWN}");
        }
        if tick <= inner.wheel.elapsed() {
            return None;
        }
        let key = inner.wheel.insert(tick, Some(waker.clone()));
        debug_assert!(key.is_some());
        let unpark = inner.note_deadline(tick);
        drop(inner);
        if unpark {
            self.unpark.unpark();
        }
        key
    }

    /// The current fire epoch (see the field). Acquire: a task woken by a fire sees the
    /// epoch that fire moved to.
    pub(super) fn fired_epoch(&self) -> u64 {
        self.fired_epoch.load(Ordering::Acquire)
    }

    /// Ready (and the entry freed) once the timer has fired; otherwise stores `waker`.
    /// Also returns the fire epoch read under the lock: while it stays the same, the timer
    /// has not fired.
    pub(super) fn poll_registered(&self, key: Key, waker: &Waker) -> (Poll<()>, u64) {
        let mut inner = self.lock();
        if inner.shutdown {
            drop(inner);
            panic!("{SHUTDOWN}");
        }
        let epoch = self.fired_epoch.load(Ordering::Relaxed);
        // Dropped after the lock: dropping a waker can run arbitrary code.
        let (poll, _old_waker) = if inner.wheel.is_fired(key) {
            (Poll::Ready(()), inner.wheel.remove(key))
        } else {
            (Poll::Pending, inner.wheel.register_waker(key, waker))
        };
        drop(inner);
        (poll, epoch)
    }

    /// Moves a registered timer to `deadline`, keeping its waker. A no-op after shutdown.
    pub(super) fn reset(&self, key: Key, deadline: Instant) {
        let tick = self.tick_ceil(deadline);
        let mut inner = self.lock();
        if inner.shutdown {
            return;
        }
        let due_now = inner.wheel.reset(key, tick);
        if due_now.is_some() {
            self.fired_epoch.fetch_add(1, Ordering::Release);
        }
        let unpark = !inner.wheel.is_fired(key) && inner.note_deadline(tick);
        drop(inner);
        if let Some(waker) = due_now {
            waker.wake();
        }
        if unpark {
            self.unpark.unpark();
        }
    }

    /// Frees a registered timer.
    pub(super) fn deregister(&self, key: Key) {
        let waker = self.lock().wheel.remove(key);
        drop(waker);
    }

    pub(super) fn is_fired(&self, key: Key) -> bool {
        self.lock().wheel.is_fired(key)
    }

    /// Takes wakers from `next` in batches and wakes each batch with the lock released, so a
    /// woken task may touch its timer (or this driver) from the waker without deadlocking.
    fn fire(&self, mut next: impl FnMut(&mut Wheel) -> Option<Waker>) {
        let mut batch: [Option<Waker>; WAKE_BATCH] = [const { None }; WAKE_BATCH];
        loop {
            let mut inner = self.lock();
            let mut len = 0;
            while len < WAKE_BATCH {
                match next(&mut inner.wheel) {
                    Some(waker) => {
                        batch[len] = Some(waker);
                        len += 1;
                    }
                    None => break,
                }
            }
            if len > 0 {
                // Before the wakers run: a woken task must see the new epoch.
                self.fired_epoch.fetch_add(1, Ordering::Release);
            }
            drop(inner);
            for waker in batch[..len].iter_mut().filter_map(Option::take) {
                waker.wake();
            }
            if len < WAKE_BATCH {
                return;
            }
        }
    }

    /// The lock is never held across user code, and the wheel stays consistent if something
    /// panics under it, so poisoning is ignored: a `Sleep` dropped while unwinding must not
    /// panic again.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tick a deadline falls due at, rounded up so a timer never fires early.
    fn tick_ceil(&self, deadline: Instant) -> u64 {
        let since = deadline.saturating_duration_since(self.origin);
        let partial = u128::from(!since.subsec_nanos().is_multiple_of(1_000_000));
        clamp_tick(since.as_millis() + partial)
    }

    /// The last tick that has fully begun by `now`.
    fn tick_floor(&self, now: Instant) -> u64 {
        clamp_tick(now.saturating_duration_since(self.origin).as_millis())
    }

    fn instant_at(&self, tick: u64) -> Instant {
        let at = self.origin.checked_add(Duration::from_millis(tick));
        // Unreachable in practice (ticks are clamped to centuries); never wake early anyway.
        at.unwrap_or_else(|| super::sleep::far_future(self.origin))
    }
}

#[cfg(test)]
impl TimeDriver {
    /// Tick 0: instants a whole number of milliseconds after it are exactly on a tick.
    pub(super) fn origin(&self) -> Instant {
        self.origin
    }

    /// Allocated timer entries.
    pub(super) fn wheel_len(&self) -> usize {
        self.lock().wheel.len()
    }

    /// Timer entry slots ever created.
    pub(super) fn wheel_capacity(&self) -> usize {
        self.lock().wheel.capacity()
    }
}

fn clamp_tick(ms: u128) -> u64 {
    u64::try_from(ms).map_or(MAX_TICK, |ms| ms.min(MAX_TICK))
}

impl fmt::Debug for TimeDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeDriver")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
