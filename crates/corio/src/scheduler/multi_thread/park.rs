//! Worker parking: one worker sleeps in the driver (timers, later I/O), the rest on a
//! condition variable.
//!
//! Whichever idle worker grabs the driver first parks in it with the next timer's timeout,
//! so timers fire even when every worker is idle. Unparking a worker goes through its state:
//! a worker asleep in the driver is woken through the driver's own unpark.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};

use crate::runtime::driver::{Driver, DriverHandle};

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// The driver, shared by all workers of a runtime; at most one parks in it at a time.
pub(crate) struct SharedDriver {
    driver: Mutex<Driver>,
    handle: DriverHandle,
}

impl SharedDriver {
    pub(crate) fn new(driver: Driver, handle: DriverHandle) -> Arc<SharedDriver> {
        Arc::new(SharedDriver {
            driver: Mutex::new(driver),
            handle,
        })
    }

    pub(crate) fn shutdown(&self) {
        self.driver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .shutdown();
    }
}

struct Inner {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
    shared: Arc<SharedDriver>,
}

pub(crate) struct Parker {
    inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Unparker {
    inner: Arc<Inner>,
}

impl Parker {
    pub(crate) fn new(shared: Arc<SharedDriver>) -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                mutex: Mutex::new(()),
                condvar: Condvar::new(),
                shared,
            }),
        }
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Sleeps until unparked (or, in the driver, until a timer fires).
    pub(crate) fn park(&mut self) {
        let inner = &self.inner;
        if inner
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if let Ok(mut driver) = inner.shared.driver.try_lock() {
            match inner
                .state
                .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
            {
                Ok(_) => {}
                Err(NOTIFIED) => {
                    inner.state.store(EMPTY, SeqCst);
                    return;
                }
                Err(actual) => panic!("inconsistent park state: {actual}"),
            }
            driver.park();
            // Woken by our unpark, a timer, or another source: either way, awake now.
            inner.state.swap(EMPTY, SeqCst);
        } else {
            let mut guard = inner.mutex.lock().unwrap();
            match inner
                .state
                .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
            {
                Ok(_) => {}
                Err(NOTIFIED) => {
                    inner.state.store(EMPTY, SeqCst);
                    return;
                }
                Err(actual) => panic!("inconsistent park state: {actual}"),
            }
            loop {
                guard = inner.condvar.wait(guard).unwrap();
                if inner
                    .state
                    .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                    .is_ok()
                {
                    return;
                }
            }
        }
    }

    /// Fires due timers if the driver is free, without sleeping.
    pub(crate) fn poll_driver(&mut self) {
        if let Ok(mut driver) = self.inner.shared.driver.try_lock() {
            driver.poll();
        }
    }
}

impl Unparker {
    pub(crate) fn unpark(&self) {
        let inner = &self.inner;
        match inner.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                drop(inner.mutex.lock().unwrap());
                inner.condvar.notify_one();
            }
            PARKED_DRIVER => inner.shared.handle.unpark(),
            actual => panic!("inconsistent park state: {actual}"),
        }
    }
}
