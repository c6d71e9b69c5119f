//! What a runtime thread sleeps on: the I/O reactor (epoll) with the timer wheel's timeout.
//!
//! The thread holding the `Driver` waits in `epoll_wait` until an I/O event, the earliest
//! timer, or an unpark; then it wakes the tasks whose sockets became ready and fires the due
//! timers. The schedulers only ever see `park` / `poll` / `unpark`.
//!
//! Unparking costs a syscall (an eventfd write) only when the thread really is asleep in
//! `epoll_wait`: a small state word in front of the reactor records whether it is, so a busy
//! loop woken from other threads (remote spawns, cross-thread wakes) pays one atomic swap.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use super::park::Unpark;
use crate::io::driver::{IoDriver, IoHandle};
use crate::time::TimeDriver;

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

pub(crate) struct Driver {
    io: IoDriver,
    time: Arc<TimeDriver>,
    state: Arc<ParkState>,
}

/// The shareable side of the driver.
#[derive(Clone)]
pub(crate) struct DriverHandle {
    pub(crate) time: Arc<TimeDriver>,
    pub(crate) io: IoHandle,
    state: Arc<ParkState>,
}

/// Whether the driver's thread is asleep in the reactor, and the pending-unpark token.
struct ParkState {
    state: AtomicUsize,
    io: IoHandle,
}

impl Driver {
    pub(crate) fn new() -> io::Result<(Driver, DriverHandle)> {
        let (io, io_handle) = IoDriver::new()?;
        let state = Arc::new(ParkState {
            state: AtomicUsize::new(EMPTY),
            io: io_handle.clone(),
        });
        let time = Arc::new(TimeDriver::new(state.clone()));
        let handle = DriverHandle {
            time: time.clone(),
            io: io_handle,
            state: state.clone(),
        };
        Ok((Driver { io, time, state }, handle))
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
        self.io.dispatch();
        self.time.process();
    }

    /// Dispatches ready I/O and fires due timers without sleeping.
    pub(crate) fn poll(&mut self) {
        self.wait(Some(Duration::ZERO));
        self.io.dispatch();
        self.time.process();
    }

    fn wait(&mut self, timeout: Option<Duration>) {
        if let Err(err) = self.io.wait(timeout) {
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
        self.io.shutdown();
    }
}

impl DriverHandle {
    pub(crate) fn unpark(&self) {
        self.state.unpark();
    }
}

impl ParkState {
    fn unpark(&self) {
        if self.state.swap(NOTIFIED, SeqCst) == PARKED {
            self.io.unpark();
        }
    }
}

impl Unpark for ParkState {
    fn unpark(&self) {
        ParkState::unpark(self);
    }
}
