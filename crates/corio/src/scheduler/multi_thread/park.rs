//! Worker parking: one worker sleeps in the driver (timers, epoll, its own ring), the rest
//! in their own io_uring rings or on a condition variable.
//!
//! Whichever idle worker grabs the driver first parks in it with the next timer's timeout,
//! so timers fire even when every worker is idle. On an io_uring runtime every worker has a
//! ring of its own (its *home*: the ops its tasks start go there), and a worker that did not
//! get the driver sleeps in its ring: its I/O completions wake it, and nobody else. On
//! epoll (or when another thread is reaping the worker's ring: a replacement for a stuck
//! worker shares its ring) it sleeps on a condition variable. Unparking a worker goes
//! through its state: a worker asleep in the driver is woken through the driver's own
//! unpark, one asleep in its ring by a no-op pushed to that ring.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};

use crate::runtime::driver::{Driver, DriverHandle};

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;
const PARKED_RING: usize = 4;

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
    /// The worker's home ring (io_uring runtimes): where it sleeps when not in the driver.
    home: AtomicUsize,
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
                home: AtomicUsize::new(0),
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

    /// The worker's home ring.
    pub(crate) fn home(&self) -> usize {
        self.inner.home.load(SeqCst)
    }

    /// Makes ring `ring` this worker's home (see the module docs).
    pub(crate) fn set_home(&mut self, ring: usize) {
        self.inner.home.store(ring, SeqCst);
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
            driver.park_on(inner.home.load(SeqCst));
            // Woken by our unpark, a timer, or another source: either way, awake now.
            inner.state.swap(EMPTY, SeqCst);
        } else if !self.park_in_ring() {
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

    /// Sleeps in the worker's home ring, if this is an io_uring runtime and no other thread
    /// reaps that ring. False if it did not (the caller sleeps on the condition variable).
    fn park_in_ring(&self) -> bool {
        let inner = &self.inner;
        let Some(uring) = &inner.shared.handle.uring else {
            return false;
        };
        let Some(mut reaper) = uring.try_reap(inner.home.load(SeqCst)) else {
            return false;
        };
        match inner
            .state
            .compare_exchange(EMPTY, PARKED_RING, SeqCst, SeqCst)
        {
            Ok(_) => {
                if let Err(err) = reaper.wait(None, false) {
                    tracing::error!(error = %err, "corio: a worker failed to wait in its ring");
                }
            }
            Err(NOTIFIED) => {}
            Err(actual) => panic!("inconsistent park state: {actual}"),
        }
        inner.state.swap(EMPTY, SeqCst);
        reaper.dispatch();
        drop(reaper);
        // An epoll event this ring reaped (from a poll an earlier driver holder left here)
        // is the holder's to handle; if nobody holds the driver, handle it now. (Otherwise
        // the ring was just turned: no second turn through the driver.)
        if uring.epoll_pending()
            && let Ok(mut driver) = inner.shared.driver.try_lock()
        {
            driver.poll_on(inner.home.load(SeqCst));
        }
        true
    }

    /// Turns the worker's home ring (submits its batch, reaps its completions), and fires
    /// due timers and turns epoll if the driver is free, without sleeping.
    pub(crate) fn poll_driver(&mut self) {
        let home = self.inner.home.load(SeqCst);
        if let Ok(mut driver) = self.inner.shared.driver.try_lock() {
            driver.poll_on(home);
        } else if let Some(uring) = &self.inner.shared.handle.uring
            && let Some(mut reaper) = uring.try_reap(home)
        {
            if let Err(err) = reaper.wait(Some(std::time::Duration::ZERO), false) {
                tracing::error!(error = %err, "corio: a worker failed to turn its ring");
            }
            reaper.dispatch();
        }
    }
}

impl Unparker {
    /// The worker's home ring (see the module docs).
    pub(crate) fn home(&self) -> usize {
        self.inner.home.load(SeqCst)
    }

    pub(crate) fn unpark(&self) {
        let inner = &self.inner;
        match inner.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                drop(inner.mutex.lock().unwrap());
                inner.condvar.notify_one();
            }
            PARKED_DRIVER => inner.shared.handle.unpark(),
            PARKED_RING => {
                let woke = inner
                    .shared
                    .handle
                    .uring
                    .as_ref()
                    .map(|uring| uring.wake(inner.home.load(SeqCst)));
                if let Some(Err(err)) = woke {
                    // Pushing a no-op only fails if the ring is broken; nothing else wakes it.
                    tracing::error!(error = %err, "corio: could not wake a worker's ring");
                }
            }
            actual => panic!("inconsistent park state: {actual}"),
        }
    }
}
