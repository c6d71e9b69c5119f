//! What a runtime thread sleeps on: the I/O driver with the timer wheel's timeout.
//!
//! The I/O driver is the epoll reactor, plus — on a runtime built for io_uring — the
//! completion ring (`io::driver::uring`), chosen once at start-up ([`IoDriverKind`]).
//!
//! - epoll: the thread holding the `Driver` waits in `epoll_wait` until an I/O event, the
//!   earliest timer, or an unpark; then it wakes the tasks whose sockets became ready.
//! - io_uring: it waits in `io_uring_enter` instead (submitting the loop turn's batch of
//!   operations on the way in); an unpark submits a no-op to the ring. The ring keeps a poll
//!   on the epoll fd, so epoll sources (types not ported to the ring) wake it too; when that
//!   poll completes, the epoll reactor is turned without waiting.
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
use crate::io::driver::uring::{UringDriver, UringHandle};
use crate::io::driver::{IoDriver, IoHandle};
use crate::runtime::IoDriverKind;
use crate::time::TimeDriver;

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

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
    io: IoHandle,
    /// On io_uring, unparks are a no-op on the ring (no `epoll_wait` on the woken side).
    uring: Option<UringHandle>,
}

impl Driver {
    /// A driver of `kind`; `Auto` picks io_uring when the kernel allows it, else epoll.
    pub(crate) fn new(kind: IoDriverKind) -> io::Result<(Driver, DriverHandle)> {
        let (io, io_handle) = IoDriver::new()?;
        let (uring, uring_handle) = match kind {
            IoDriverKind::Epoll => (None, None),
            IoDriverKind::Uring => {
                let (driver, handle) = UringDriver::new(io.epoll_fd())?;
                (Some(driver), Some(handle))
            }
            // Miri cannot run io_uring syscalls (it stops on them rather than failing them).
            IoDriverKind::Auto if cfg!(miri) => (None, None),
            IoDriverKind::Auto => match UringDriver::new(io.epoll_fd()) {
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
            "corio: I/O driver chosen"
        );
        let state = Arc::new(ParkState {
            state: AtomicUsize::new(EMPTY),
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
    /// and fires due timers.
    pub(crate) fn park(&mut self) {
        let timeout = self
            .time
            .next_deadline()
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        // If an unpark is already pending the exchange fails: consume it and only poll.
        let sleep = self
            .state
            .state
            .compare_exchange(EMPTY, PARKED, SeqCst, SeqCst)
            .is_ok();
        if sleep {
            self.wait(timeout);
            // Awake from here on: the tasks that dispatching and timers wake (on this thread
            // or any other) are seen before the next park, so they need no eventfd write.
            self.state.state.store(EMPTY, SeqCst);
        } else {
            self.state.state.store(EMPTY, SeqCst);
            self.wait(Some(Duration::ZERO));
        }
        self.dispatch();
        self.time.process();
    }

    /// Dispatches ready I/O and fires due timers without sleeping.
    pub(crate) fn poll(&mut self) {
        self.wait(Some(Duration::ZERO));
        self.dispatch();
        self.time.process();
    }

    /// Wakes the tasks whose I/O completed or became ready.
    fn dispatch(&mut self) {
        match &mut self.uring {
            None => self.io.dispatch(),
            Some(uring) => {
                if uring.dispatch() {
                    // The poll on the epoll fd fired: collect its events without waiting.
                    if let Err(err) = self.io.wait(Some(Duration::ZERO)) {
                        tracing::error!(error = %err, "corio: the I/O reactor failed to wait for events");
                        return;
                    }
                    self.io.dispatch();
                }
            }
        }
    }

    fn wait(&mut self, timeout: Option<Duration>) {
        let result = match &mut self.uring {
            Some(uring) => uring.wait(timeout),
            None => self.io.wait(timeout),
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

    pub(crate) fn shutdown(&mut self) {
        self.time.shutdown();
        if let Some(uring) = &mut self.uring {
            uring.shutdown();
        }
        self.io.shutdown();
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
            match &self.uring {
                // The eventfd (through the poll on the epoll fd) is the fallback.
                Some(uring) if uring.wake().is_ok() => {}
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
