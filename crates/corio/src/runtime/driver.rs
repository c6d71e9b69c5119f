//! What a runtime thread sleeps on: the timer wheel plus a parker.
//!
//! The thread holding the `Driver` parks until the earliest timer is due (or until
//! unparked), then fires the due timers. The I/O reactor will slot in here (epoll_wait with
//! the timer's timeout), which is why the schedulers only ever see `park`/`unpark`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::park::{Parker, Unparker};
use crate::time::TimeDriver;

pub(crate) struct Driver {
    park: Parker,
    time: Arc<TimeDriver>,
}

/// The shareable side of the driver.
#[derive(Clone)]
pub(crate) struct DriverHandle {
    pub(crate) time: Arc<TimeDriver>,
    unpark: Unparker,
}

impl Driver {
    pub(crate) fn new() -> (Driver, DriverHandle) {
        let park = Parker::new();
        let unpark = park.unparker();
        let time = Arc::new(TimeDriver::new(Arc::new(unpark.clone())));
        let handle = DriverHandle {
            time: time.clone(),
            unpark,
        };
        (Driver { park, time }, handle)
    }

    /// Sleeps until the next timer is due or someone unparks, then fires due timers.
    pub(crate) fn park(&mut self) {
        match self.time.next_deadline() {
            None => self.park.park(),
            Some(deadline) => {
                let now = Instant::now();
                if deadline > now {
                    self.park.park_timeout(deadline - now);
                } else {
                    self.park.park_timeout(Duration::ZERO);
                }
            }
        }
        self.time.process();
    }

    /// Fires due timers without sleeping (consumes a pending unpark token, if any).
    pub(crate) fn poll(&mut self) {
        self.park.park_timeout(Duration::ZERO);
        self.time.process();
    }

    pub(crate) fn shutdown(&mut self) {
        self.time.shutdown();
    }
}

impl DriverHandle {
    pub(crate) fn unpark(&self) {
        self.unpark.unpark();
    }
}
