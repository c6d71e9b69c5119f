//! The multi-thread work-stealing scheduler.
//!
//! Each worker thread owns a `Core`: a bounded local run queue (`queue.rs`), a LIFO slot and
//! a parker. Tasks spawned or woken on a worker go to that worker (the LIFO slot first, so a
//! task that just received a message runs next while its data is hot); tasks from outside go
//! to the shared injection queue. An idle worker steals half of another worker's queue, then
//! takes from the injection queue, then parks (`park.rs`), waking only when `idle.rs` decides
//! a worker is needed.
//!
//! Fairness (behaviour at the time of writing):
//! - the injection queue is checked first every `global_queue_interval` ticks;
//! - the LIFO slot runs at most `MAX_LIFO_POLLS_PER_TICK` tasks in a row, and never outside
//!   the current task's cooperative budget, so two tasks pinging each other cannot starve the
//!   run queue;
//! - a task that wakes itself goes to the back of the run queue, not the LIFO slot;
//! - every `event_interval` ticks the worker fires due timers and checks for shutdown.

mod idle;
mod park;
mod pinned;
mod queue;
mod worker;

use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) use worker::Context;

use self::idle::Idle;
use self::park::{SharedDriver, Unparker};
use self::worker::{Core, Worker};
use super::inject::Inject;
use crate::runtime::context;
use crate::runtime::driver::{Driver, DriverHandle};
use crate::task::list::{Closed, OwnedTasks};
use crate::task::{JoinHandle, Notified, Schedule, Task};

type Queued = Notified<Arc<Handle>>;

pub(crate) struct Config {
    pub(crate) event_interval: u32,
    pub(crate) global_queue_interval: u32,
}

/// Shared state of the scheduler, reachable from every worker, waker and handle.
pub(crate) struct Handle {
    remotes: Box<[Remote]>,
    inject: Inject<Arc<Handle>>,
    idle: Idle,
    owned: OwnedTasks<Arc<Handle>>,
    /// Cores handed back by exiting workers, drained at shutdown.
    shutdown_cores: Mutex<Vec<Core>>,
    shutdown: AtomicBool,
    shared_driver: Arc<SharedDriver>,
    pub(crate) driver: DriverHandle,
    pub(crate) blocking: crate::blocking::BlockingPool,
    config: Config,
}

/// What other threads need of a worker: its queue to steal from and a way to wake it.
struct Remote {
    steal: queue::Steal<Queued>,
    unpark: Unparker,
    /// Tasks that only this worker may run (`spawn_local`).
    pinned: pinned::PinnedTasks,
}

/// The worker threads of a runtime, joined at shutdown.
pub(crate) struct Workers {
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Creates the scheduler and starts `workers` threads.
pub(crate) fn start(
    workers: usize,
    config: Config,
    thread_name: &str,
    stack_size: Option<usize>,
    blocking: crate::blocking::BlockingPool,
) -> std::io::Result<(Arc<Handle>, Workers)> {
    let (driver, driver_handle) = Driver::new()?;
    let shared_driver = SharedDriver::new(driver, driver_handle.clone());
    let mut cores = Vec::with_capacity(workers);
    let mut remotes = Vec::with_capacity(workers);
    for index in 0..workers {
        let (steal, run_queue) = queue::local();
        let park = park::Parker::new(shared_driver.clone());
        remotes.push(Remote {
            steal,
            unpark: park.unparker(),
            pinned: pinned::PinnedTasks::new(),
        });
        cores.push(Core::new(index, run_queue, park));
    }
    let handle = Arc::new(Handle {
        remotes: remotes.into_boxed_slice(),
        inject: Inject::new(),
        idle: Idle::new(workers),
        owned: OwnedTasks::new(workers * 4),
        shutdown_cores: Mutex::new(Vec::with_capacity(workers)),
        shutdown: AtomicBool::new(false),
        shared_driver,
        driver: driver_handle,
        blocking,
        config,
    });
    let mut threads = Vec::with_capacity(workers);
    for (index, core) in cores.into_iter().enumerate() {
        let worker = Arc::new(Worker::new(handle.clone(), core));
        let mut builder = std::thread::Builder::new().name(format!("{thread_name}-{index}"));
        if let Some(size) = stack_size {
            builder = builder.stack_size(size);
        }
        match builder.spawn(move || worker::run(worker)) {
            Ok(thread) => threads.push(thread),
            Err(err) => {
                shutdown(&handle, Workers { threads }, Some(Duration::from_secs(1)));
                return Err(err);
            }
        }
    }
    Ok((handle, Workers { threads }))
}

/// Stops the workers and cancels every task. With a timeout, workers still busy after it
/// (stuck in a blocking poll) are abandoned, not waited for.
pub(crate) fn shutdown(handle: &Arc<Handle>, workers: Workers, timeout: Option<Duration>) {
    handle.shutdown.store(true, Ordering::Release);
    handle.inject.close();
    for remote in handle.remotes.iter() {
        remote.unpark.unpark();
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    for thread in workers.threads {
        if thread.thread().id() == std::thread::current().id() {
            continue; // dropped from inside a worker: it cannot join itself
        }
        match deadline {
            None => {
                let _ = thread.join();
            }
            Some(deadline) => {
                while !thread.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if thread.is_finished() {
                    let _ = thread.join();
                }
            }
        }
    }
    let scheduler = crate::scheduler::Handle::MultiThread(handle.clone());
    let _current = context::set_current(&scheduler);
    handle.owned.close_and_shutdown_all();
    let cores = std::mem::take(&mut *handle.shutdown_cores.lock().unwrap());
    for mut core in cores {
        core.drain();
    }
    while let Some(task) = handle.inject.pop() {
        drop(task);
    }
    handle.shared_driver.shutdown();
}

impl Handle {
    pub(crate) fn spawn<F>(
        me: &Arc<Handle>,
        future: F,
        name: Option<Box<str>>,
        location: &'static Location<'static>,
    ) -> Result<JoinHandle<F::Output>, Closed>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = me.owned.bind(future, me.clone(), name, location)?;
        me.schedule_task(notified, false);
        Ok(join)
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    fn schedule_task(self: &Arc<Self>, task: Queued, is_yield: bool) {
        context::with_scheduler(|cx| {
            if let Some(crate::scheduler::Context::MultiThread(cx)) = cx {
                if let Some(task) = cx.schedule_local(self, task, is_yield) {
                    self.push_remote(task);
                }
                return;
            }
            self.push_remote(task);
        });
    }

    fn push_remote(&self, task: Queued) {
        self.inject.push(task);
        self.notify_parked();
    }

    /// Wakes a parked worker if one is needed.
    fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            self.remotes[index].unpark.unpark();
        }
    }

    /// Wakes a worker if any queue still has work (called when the last searcher parks).
    fn notify_if_work_pending(&self) {
        let pending = !self.inject.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty());
        if pending {
            self.notify_parked();
        }
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        self.schedule_task(task, false);
    }

    fn yield_now(&self, task: Notified<Self>) {
        self.schedule_task(task, true);
    }
}

impl queue::Overflow<Queued> for Handle {
    fn push(&self, task: Queued) {
        self.inject.push(task);
    }

    fn push_batch(&self, iter: impl Iterator<Item = Queued>) {
        self.inject.push_batch(iter);
    }
}
