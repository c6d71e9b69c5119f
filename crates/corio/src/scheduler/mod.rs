//! Schedulers: what decides which ready task runs next, and on which thread.
//!
//! - `current_thread`: one loop on the thread that calls `block_on`, as asyncio has.
//! - `multi_thread`: one worker per core with work stealing.
//!
//! Both implement `task::Schedule` for their shared handle; the rest of the crate talks to
//! them through [`Handle`] (shared, any thread) and [`Context`] (the loop running here).

pub(crate) mod coop;
pub(crate) mod current_thread;
pub(crate) mod inject;
pub(crate) mod multi_thread;

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::runtime::driver::DriverHandle;
use crate::task::JoinHandle;
use crate::task::list::Closed;

/// A reference to a runtime's scheduler, usable from any thread.
#[derive(Clone)]
pub(crate) enum Handle {
    CurrentThread(Arc<current_thread::Handle>),
    MultiThread(Arc<multi_thread::Handle>),
}

/// The scheduler loop running on this thread.
pub(crate) enum Context {
    CurrentThread(current_thread::Context),
    MultiThread(multi_thread::Context),
}

impl Handle {
    pub(crate) fn driver(&self) -> &DriverHandle {
        match self {
            Handle::CurrentThread(h) => &h.driver,
            Handle::MultiThread(h) => &h.driver,
        }
    }

    pub(crate) fn blocking(&self) -> &crate::blocking::BlockingPool {
        match self {
            Handle::CurrentThread(h) => &h.blocking,
            Handle::MultiThread(h) => &h.blocking,
        }
    }

    pub(crate) fn spawn<F>(
        &self,
        future: F,
        name: Option<Box<str>>,
        location: &'static Location<'static>,
    ) -> Result<JoinHandle<F::Output>, Closed>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Handle::CurrentThread(h) => current_thread::Handle::spawn(h, future, name, location),
            Handle::MultiThread(h) => multi_thread::Handle::spawn(h, future, name, location),
        }
    }

    /// Every live task of the runtime.
    pub(crate) fn dump(&self) -> crate::task::TaskDump {
        crate::task::TaskDump::new(match self {
            Handle::CurrentThread(h) => h.dump(),
            Handle::MultiThread(h) => h.dump(),
        })
    }

    /// A snapshot of the runtime's counters.
    pub(crate) fn metrics(&self) -> crate::runtime::RuntimeMetrics {
        match self {
            Handle::CurrentThread(h) => h.metrics(),
            Handle::MultiThread(h) => h.metrics(),
        }
    }

    /// The scheduler, as the monitor sees it (held weakly, so it does not keep it alive).
    pub(crate) fn watched(&self) -> std::sync::Weak<dyn crate::runtime::monitor::Watched> {
        match self {
            Handle::CurrentThread(h) => {
                let weak: std::sync::Weak<dyn crate::runtime::monitor::Watched> =
                    Arc::downgrade(h) as _;
                weak
            }
            Handle::MultiThread(h) => Arc::downgrade(h) as _,
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        match self {
            Handle::CurrentThread(h) => h.is_shutdown(),
            Handle::MultiThread(h) => h.is_shutdown(),
        }
    }
}
