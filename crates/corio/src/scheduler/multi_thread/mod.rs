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
//!
//! Hand-off (`handoff.rs`): when the runtime's monitor finds a worker stuck in one poll, a
//! spare worker slot comes to life on a new thread, steals the stuck worker's queue, and
//! retires once the stuck poll returns.

mod handoff;
mod idle;
mod park;
mod pinned;
mod queue;
mod worker;

use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) use worker::Context;

use self::idle::Idle;
use self::park::{SharedDriver, Unparker};
use self::worker::{Core, Worker};
use super::inject::Inject;
use crate::runtime::context;
use crate::runtime::driver::{Driver, DriverHandle};
use crate::runtime::monitor::{self, PollSlot};
use crate::task::list::{Closed, OwnedTasks};
use crate::task::{JoinHandle, Notified, Schedule, Task, TaskInfo};

type Queued = Notified<Arc<Handle>>;

pub(crate) struct Config {
    pub(crate) event_interval: u32,
    pub(crate) global_queue_interval: u32,
    /// Stamp every poll for the monitor (slow-poll detection).
    pub(crate) detect: bool,
    /// Spare worker slots for hand-off (0: no hand-off).
    pub(crate) extra_workers: usize,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
    pub(crate) io_driver: crate::runtime::IoDriverKind,
}

/// Shared state of the scheduler, reachable from every worker, waker and handle.
pub(crate) struct Handle {
    /// One per worker slot: the `workers` first run from the start; the rest are spares for
    /// hand-off (`handoff.rs`).
    remotes: Box<[Remote]>,
    /// The configured number of workers.
    workers: usize,
    /// Cores of the spare slots not running now.
    spare: Mutex<Vec<Core>>,
    /// How many spare slots run now (replacements). While none does, which is nearly
    /// always, stealing scans only the `workers` first slots and the injection queue is
    /// shared among them: the empty spares cost the hot paths nothing.
    extra_running: AtomicUsize,
    /// Threads of the spare slots started so far, joined at shutdown.
    extra_threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    monitor_stats: monitor::Stats,
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
    /// Stamped around every poll when slow-poll detection is on.
    slot: PollSlot,
    /// Written only by the worker (load and store), read by metrics.
    steals: AtomicU64,
    parks: AtomicU64,
    /// A spare worker running as a replacement: the poll it stood in for has returned.
    retire: AtomicBool,
}

/// The worker threads of a runtime, joined at shutdown.
pub(crate) struct Workers {
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Creates the scheduler and starts `workers` threads.
pub(crate) fn start(
    workers: usize,
    config: Config,
    blocking: crate::blocking::BlockingPool,
) -> std::io::Result<(Arc<Handle>, Workers)> {
    let (driver, driver_handle) = Driver::new(config.io_driver, workers)?;
    let shared_driver = SharedDriver::new(driver, driver_handle.clone());
    let slots = workers + config.extra_workers;
    let mut cores = Vec::with_capacity(slots);
    let mut remotes = Vec::with_capacity(slots);
    for index in 0..slots {
        let (steal, run_queue) = queue::local();
        let park = park::Parker::new(shared_driver.clone());
        remotes.push(Remote {
            steal,
            unpark: park.unparker(),
            pinned: pinned::PinnedTasks::new(),
            slot: PollSlot::default(),
            steals: AtomicU64::new(0),
            parks: AtomicU64::new(0),
            retire: AtomicBool::new(false),
        });
        cores.push(Core::new(index, run_queue, park, index >= workers));
    }
    let spare: Vec<Core> = cores.drain(workers..).rev().collect();
    let handle = Arc::new(Handle {
        remotes: remotes.into_boxed_slice(),
        workers,
        spare: Mutex::new(spare),
        extra_running: AtomicUsize::new(0),
        extra_threads: Mutex::new(Vec::new()),
        monitor_stats: monitor::Stats::default(),
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
        let builder = handle.thread_builder(index);
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
    {
        // Under the lock `start_extra` holds while it starts a thread: after this, no new
        // replacement worker starts, and every one started so far is in `extra_threads`.
        let _extra = handle.extra_threads.lock().unwrap();
        handle.shutdown.store(true, Ordering::Release);
    }
    handle.inject.close();
    for remote in handle.remotes.iter() {
        remote.unpark.unpark();
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    let extra = std::mem::take(&mut *handle.extra_threads.lock().unwrap());
    for thread in workers.threads.into_iter().chain(extra) {
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
    let spare = std::mem::take(&mut *handle.spare.lock().unwrap());
    for mut core in cores {
        core.drain();
    }
    for core in spare {
        // A spare slot's thread (if it ever ran) retired with no pinned task left; close its
        // lists so nothing is accepted there any more.
        let pinned = &handle.remotes[core.index()].pinned;
        pinned.owned.close_and_shutdown_all();
        pinned.inbox.close();
        drop(core);
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

    fn thread_builder(&self, index: usize) -> std::thread::Builder {
        let mut builder =
            std::thread::Builder::new().name(format!("{}-{index}", self.config.thread_name));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        builder
    }

    /// Every live task, for `Handle::dump`.
    pub(crate) fn dump(&self) -> Vec<TaskInfo> {
        let sampled = self.config.detect;
        let mut tasks = Vec::with_capacity(self.owned.live());
        self.owned
            .for_each(|task| tasks.push(TaskInfo::read(task, false, sampled)));
        for remote in self.remotes.iter() {
            remote
                .pinned
                .owned
                .for_each(|task| tasks.push(TaskInfo::read(task, true, sampled)));
        }
        tasks
    }

    /// Counters for `Handle::metrics`.
    pub(crate) fn metrics(&self) -> crate::runtime::RuntimeMetrics {
        let mut m = crate::runtime::RuntimeMetrics {
            workers: self.workers,
            extra_workers: (self.remotes.len() - self.workers)
                .saturating_sub(self.spare.lock().unwrap().len()),
            tasks_spawned: self.owned.spawned(),
            tasks_alive: self.owned.live(),
            polls: self.config.detect.then_some(0),
            slow_polls: self.monitor_stats.slow_polls.load(Ordering::Relaxed),
            hand_offs: self.monitor_stats.hand_offs.load(Ordering::Relaxed),
            blocking_threads: self.blocking.num_threads(),
            ..Default::default()
        };
        for remote in self.remotes.iter() {
            m.tasks_spawned += remote.pinned.owned.spawned();
            m.tasks_alive += remote.pinned.owned.live();
            m.steals += remote.steals.load(Ordering::Relaxed);
            m.parks += remote.parks.load(Ordering::Relaxed);
            if let Some(polls) = m.polls.as_mut() {
                *polls += remote.slot.polls();
            }
        }
        m
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
