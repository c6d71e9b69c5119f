//! A coarse process-wide clock: milliseconds since the first runtime started, refreshed by
//! each runtime's monitor (every few milliseconds) and by every timer-driver turn.
//!
//! Spawning stamps a task with it (for its age in task dumps) at the cost of one relaxed
//! load, where reading the real clock would cost a `clock_gettime` per spawn. It may lag the
//! real time by one refresh period; it never runs ahead.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static ORIGIN: OnceLock<Instant> = OnceLock::new();
static COARSE_MS: AtomicU64 = AtomicU64::new(0);

fn origin() -> Instant {
    *ORIGIN.get_or_init(Instant::now)
}

/// The coarse clock's last reading, in milliseconds since its origin.
#[inline]
pub(crate) fn coarse_ms() -> u64 {
    COARSE_MS.load(Ordering::Relaxed)
}

/// Advances the coarse clock to `now`, and returns `now` in its milliseconds.
pub(crate) fn refresh(now: Instant) -> u64 {
    let ms = now.saturating_duration_since(origin()).as_millis() as u64;
    // A load and a store, not a `fetch_max`: two refreshes racing may briefly step back a
    // millisecond, which ages do not mind, and the common case writes nothing.
    if ms > COARSE_MS.load(Ordering::Relaxed) {
        COARSE_MS.store(ms, Ordering::Relaxed);
    }
    ms
}

/// The time elapsed since `then_ms` (a coarse reading), measured against the real clock.
pub(crate) fn since(then_ms: u64) -> Duration {
    let now_ms = Instant::now()
        .saturating_duration_since(origin())
        .as_millis() as u64;
    Duration::from_millis(now_ms.saturating_sub(then_ms))
}

/// Starts the clock (its origin) if no runtime has yet.
pub(crate) fn start() {
    refresh(Instant::now());
}
