//! What a runtime thread sleeps on: the I/O driver with the timer wheel's timeout.
//!
//! The I/O driver is the epoll reactor, plus — on a runtime built for io_uring — the
//! completion ring (`io::driver::uring`), chosen once at start-up ([`IoDriverKind`]).
//!
//! - epoll: the thread holding the `Driver` waits in `epoll_wait` until an I/O event, the
//!   earliest timer, or an unpark; then it wakes the tasks whose sockets became ready.
//! - io_uring: it waits in `io_uring_enter` on its ring instead (submitting the loop turn's
//!   batch of operations on the way in); an unpark submits a no-op to that ring. The ring
//!   keeps a poll on the epoll fd, so epoll sources (types not ported to the ring) wake it
//!   too; when that poll completes, the epoll reactor is turned without waiting. A
//!   multi-thread runtime has one ring per worker: the holder parks in its own
//!   ([`Driver::park_on`]); if another thread is reaping that ring (a replacement worker
//!   standing in for a stuck one shares its ring), it waits in `epoll_wait` instead.
//!
//! Either way it then fires the due timers. The schedulers only ever see `park` / `poll` /
//! `unpark`.
//!
//! Unparking costs a syscall (an eventfd write) only when the thread really is asleep in
//! the driver: a small state word in front of the reactor records whether it is, so a busy
//! loop woken from other threads (remote spawns, cross-thread wakes) pays one atomic swap.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use super::park::Unpark;
use crate::io::driver::uring::{Reaper, UringDriver, UringHandle};
use crate::io::driver::{IoDriver, IoHandle};
use crate::runtime::IoDriverKind;
use crate::time::TimeDriver;

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

/// `ParkState::ring` while the holder waits in `epoll_wait`, not in a ring.
const NO_RING: usize = usize::MAX;

pub(crate) struct Driver {
    /// First: shut down and dropped before the epoll reactor it polls.
    uring: Option<UringDriver>,
    io: IoDriver,
    time: Arc<TimeDriver>,
    state: Arc<ParkState>,
}

/// The shareable side of the driver.
#[derive(Clone)]
pub(crate) struct DriverHandle {
    pub(crate) time: Arc<TimeDriver>,
    pub(crate) io: IoHandle,
    /// The ring, on a runtime that chose io_uring.
    pub(crate) uring: Option<UringHandle>,
    state: Arc<ParkState>,
}

/// Whether the driver's thread is asleep in the reactor, and the pending-unpark token.
struct ParkState {
    state: AtomicUsize,
    /// The ring the holder sleeps in (`NO_RING`: in `epoll_wait`); written before `state`
    /// says it sleeps.
    ring: AtomicUsize,
    io: IoHandle,
    /// On io_uring, unparks are a no-op on the ring (no `epoll_wait` on the woken side).
    uring: Option<UringHandle>,
}

impl Driver {
    /// A driver of `kind`; `Auto` picks io_uring when the kernel allows it, else epoll.
    /// `rings`: how many rings an io_uring driver has (one per worker).
    pub(crate) fn new(kind: IoDriverKind, rings: usize) -> io::Result<(Driver, DriverHandle)> {
        let (io, io_handle) = IoDriver::new()?;
        let (uring, uring_handle) = match kind {
            IoDriverKind::Epoll => (None, None),
            IoDriverKind::Uring => {
                let (driver, handle) = UringDriver::new(io.epoll_fd(), rings)?;
                (Some(driver), Some(handle))
            }
            // Miri cannot run io_uring syscalls (it stops on them rather than failing them).
            IoDriverKind::Auto if cfg!(miri) => (None, None),
            IoDriverKind::Auto => match UringDriver::new(io.epoll_fd(), rings) {
                Ok((driver, handle)) => (Some(driver), Some(handle)),
                Err(err) => {
                    tracing::debug!(
                        target: "corio::driver",
                        error = %err,
                        "corio: io_uring unavailable, using epoll"
                    );
                    (None, None)
                }
            },
        };
        tracing::debug!(
            target: "corio::driver",
            driver = if uring.is_some() { "io_uring" } else { "epoll" },
            rings = uring_handle.as_ref().map_or(0, UringHandle::rings),
            "corio: I/O driver chosen"
        );
        let state = Arc::new(ParkState {
            state: AtomicUsize::new(EMPTY),
            ring: AtomicUsize::new(NO_RING),
            io: io_handle.clone(),
            uring: uring_handle.clone(),
        });
        let time = Arc::new(TimeDriver::new(state.clone()));
        let handle = DriverHandle {
            time: time.clone(),
            io: io_handle,
            uring: uring_handle,
            state: state.clone(),
        };
        Ok((
            Driver {
                uring,
                io,
                time,
                state,
            },
            handle,
        ))
    }

    /// Sleeps until an I/O event, the next timer, or an unpark; then dispatches I/O readiness
    /// and fires due timers. On io_uring it sleeps in ring 0 (a current-thread runtime's
    /// only ring).
    pub(crate) fn park(&mut self) {
        self.park_on(0);
    }

    /// [`park`](Self::park) in ring `ring` (a multi-thread worker's own), or in
    /// `epoll_wait` if another thread is reaping that ring.
    pub(crate) fn park_on(&mut self, ring: usize) {
        let timeout = self
            .time
            .next_deadline()
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        let Driver {
            uring,
            io,
            time,
            state,
        } = self;
        let mut reaper = uring.as_ref().and_then(|uring| uring.try_reap(ring));
        state
            .ring
            .store(reaper.as_ref().map_or(NO_RING, Reaper::index), SeqCst);
        // If an unpark is already pending the exchange fails: consume it and only poll.
        let sleep = state
            .state
            .compare_exchange(EMPTY, PARKED, SeqCst, SeqCst)
            .is_ok();
        if sleep {
            wait(io, reaper.as_mut(), timeout);
            // Awake from here on: the tasks that dispatching and timers wake (on this thread
            // or any other) are seen before the next park, so they need no eventfd write.
            state.state.store(EMPTY, SeqCst);
        } else {
            state.state.store(EMPTY, SeqCst);
            wait(io, reaper.as_mut(), Some(Duration::ZERO));
        }
        dispatch(io, uring.as_ref(), reaper.as_mut());
        drop(reaper);
        time.process();
    }

    /// Dispatches ready I/O and fires due timers without sleeping.
    pub(crate) fn poll(&mut self) {
        self.poll_on(0);
    }

    /// [`poll`](Self::poll), turning ring `ring` (a multi-thread worker's own).
    pub(crate) fn poll_on(&mut self, ring: usize) {
        let Driver {
            uring, io, time, ..
        } = self;
        let mut reaper = uring.as_ref().and_then(|uring| uring.try_reap(ring));
        wait(io, reaper.as_mut(), Some(Duration::ZERO));
        dispatch(io, uring.as_ref(), reaper.as_mut());
        drop(reaper);
        time.process();
    }

    pub(crate) fn shutdown(&mut self) {
        self.time.shutdown();
        if let Some(uring) = &mut self.uring {
            uring.shutdown();
        }
        self.io.shutdown();
    }
}

/// Waits in `reaper`'s ring (watching the epoll fd), or in `epoll_wait` without one.
fn wait(io: &mut IoDriver, reaper: Option<&mut Reaper<'_>>, timeout: Option<Duration>) {
    let result = match reaper {
        Some(reaper) => reaper.wait(timeout, true),
        None => io.wait(timeout),
    };
    if let Err(err) = result {
        // epoll_wait only fails on a broken epoll fd; back off instead of spinning.
        tracing::error!(error = %err, "corio: the I/O reactor failed to wait for events");
        std::thread::sleep(
            timeout
                .unwrap_or(Duration::from_millis(10))
                .min(Duration::from_millis(10)),
        );
    }
}

/// Wakes the tasks whose I/O completed (on `reaper`'s ring) or became ready (epoll).
fn dispatch(io: &mut IoDriver, uring: Option<&UringDriver>, reaper: Option<&mut Reaper<'_>>) {
    let Some(uring) = uring else {
        io.dispatch();
        return;
    };
    let waited_in_epoll = match reaper {
        Some(reaper) => {
            reaper.dispatch();
            false
        }
        None => true,
    };
    if uring.take_epoll_pending() || waited_in_epoll {
        // The poll on the epoll fd fired: collect its events without waiting (after an
        // `epoll_wait` they are already collected).
        if !waited_in_epoll && let Err(err) = io.wait(Some(Duration::ZERO)) {
            tracing::error!(error = %err, "corio: the I/O reactor failed to wait for events");
            return;
        }
        io.dispatch();
    }
}

impl DriverHandle {
    /// The I/O driver this runtime runs on.
    pub(crate) fn io_driver(&self) -> IoDriverKind {
        if self.uring.is_some() {
            IoDriverKind::Uring
        } else {
            IoDriverKind::Epoll
        }
    }

    pub(crate) fn unpark(&self) {
        self.state.unpark();
    }
}

impl ParkState {
    fn unpark(&self) {
        if self.state.swap(NOTIFIED, SeqCst) == PARKED {
            let ring = self.ring.load(SeqCst);
            match &self.uring {
                // The eventfd (through the poll on the epoll fd) is the fallback.
                Some(uring) if ring != NO_RING && uring.wake(ring).is_ok() => {}
                _ => self.io.unpark(),
            }
        }
    }
}

impl Unpark for ParkState {
    fn unpark(&self) {
        ParkState::unpark(self);
    }
}
