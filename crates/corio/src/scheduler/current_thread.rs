//! The current-thread scheduler: one event loop, on the thread that calls `block_on`.
//!
//! This is asyncio's model. The loop owns a `Core` (the local run queue and the driver);
//! tasks woken on the loop's own thread go straight to the local queue, tasks woken from
//! other threads go through the injection queue and unpark the loop.
//!
//! Fairness: every `global_queue_interval` ticks the loop takes from the injection queue
//! first, so remote wake-ups are not starved by a busy local queue; every `event_interval`
//! ticks it fires due timers even if tasks are still ready; and a task that wakes itself
//! goes to the back of the queue (see `task::harness`). Between those, the main future is
//! polled whenever its waker fired.
//!
//! Slow polls: with detection on, every poll (and every poll of the `block_on` future) is
//! stamped in `slot` for the runtime's monitor. This scheduler cannot hand off — its one
//! thread is the one that is stuck — so the monitor only warns.
//!
//! Only one thread drives the core at a time. Another thread calling `block_on` meanwhile
//! polls just its own future and waits for the core to become free.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::ThreadId;

use super::coop;
use super::inject::Inject;
use crate::runtime::context;
use crate::runtime::driver::{Driver, DriverHandle};
use crate::runtime::monitor::{self, PollSlot};
use crate::runtime::park::{Parker, Unparker};
use crate::task::list::{Closed, OwnedTasks};
use crate::task::{JoinHandle, Notified, Schedule, Task, TaskInfo};

type Queued = Notified<Arc<Handle>>;

pub(crate) struct Config {
    pub(crate) event_interval: u32,
    pub(crate) global_queue_interval: u32,
    /// Stamp every poll for the monitor (slow-poll detection).
    pub(crate) detect: bool,
    pub(crate) io_driver: crate::runtime::IoDriverKind,
}

/// Shared state, reachable from wakers, handles and other threads.
pub(crate) struct Handle {
    inject: Inject<Arc<Handle>>,
    owned: OwnedTasks<Arc<Handle>>,
    /// `!Send` tasks: polled and dropped only on `local_thread`.
    local_owned: OwnedTasks<LocalScheduler>,
    local_thread: OnceLock<ThreadId>,
    /// The main (`block_on`) future was woken.
    woken: AtomicBool,
    shutdown: AtomicBool,
    pub(crate) driver: DriverHandle,
    pub(crate) blocking: crate::blocking::BlockingPool,
    config: Config,
    /// The core, while no thread is driving the loop.
    core: Mutex<Option<Box<Core>>>,
    /// Threads blocked in `block_on` waiting for the core.
    waiters: Mutex<Vec<Unparker>>,
    /// The loop's poll stamp, for the monitor.
    slot: PollSlot,
    monitor_stats: monitor::Stats,
}

/// The loop's exclusive state.
struct Core {
    tasks: VecDeque<Queued>,
    tick: u32,
    driver: Option<Driver>,
}

/// The loop running on this thread (see `runtime::context`).
pub(crate) struct Context {
    handle: Arc<Handle>,
    core: RefCell<Option<Box<Core>>>,
}

/// The scheduler of `!Send` tasks: same queues, separate owned list.
pub(crate) struct LocalScheduler(Arc<Handle>);

impl Handle {
    pub(crate) fn new(
        config: Config,
        blocking: crate::blocking::BlockingPool,
    ) -> std::io::Result<Arc<Handle>> {
        let (driver, driver_handle) = Driver::new(config.io_driver, 1)?;
        let core = Box::new(Core {
            tasks: VecDeque::with_capacity(64),
            tick: 0,
            driver: Some(driver),
        });
        Ok(Arc::new(Handle {
            inject: Inject::new(),
            owned: OwnedTasks::new(1),
            local_owned: OwnedTasks::new(1),
            local_thread: OnceLock::new(),
            woken: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            driver: driver_handle,
            blocking,
            config,
            core: Mutex::new(Some(core)),
            waiters: Mutex::new(Vec::new()),
            slot: PollSlot::default(),
            monitor_stats: monitor::Stats::default(),
        }))
    }

    /// Runs the loop until `future` completes.
    pub(crate) fn block_on<F: Future>(self: &Arc<Self>, future: F) -> F::Output {
        let handle = self;
        let mut future = pin!(future);
        let mut parker: Option<Parker> = None;
        loop {
            let core = self.core.lock().unwrap().take();
            if let Some(core) = core {
                let (core, out) = run_loop(handle, core, future.as_mut());
                self.release_core(core);
                match out {
                    Some(out) => return out,
                    None => {
                        panic!("corio: the runtime was shut down while block_on was running on it")
                    }
                }
            }
            // Another thread drives the loop: poll our future alone until the core frees up.
            let parker = parker.get_or_insert_with(Parker::new);
            let unparker = parker.unparker();
            self.waiters.lock().unwrap().push(unparker.clone());
            if self.core.lock().unwrap().is_some() {
                continue;
            }
            let waker = crate::runtime::park::waker(unparker);
            let mut cx = TaskContext::from_waker(&waker);
            if let Poll::Ready(out) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                return out;
            }
            parker.park();
        }
    }

    fn release_core(&self, core: Box<Core>) {
        *self.core.lock().unwrap() = Some(core);
        for waiter in self.waiters.lock().unwrap().drain(..) {
            waiter.unpark();
        }
    }

    /// Cancels every task and empties the queues. Called when the runtime is dropped.
    pub(crate) fn shutdown(&self) {
        let handle = self;
        handle.shutdown.store(true, Ordering::Release);
        let core = self.core.lock().unwrap().take();
        handle.owned.close_and_shutdown_all();
        let local_here = handle
            .local_thread
            .get()
            .is_none_or(|t| *t == std::thread::current().id());
        if local_here {
            handle.local_owned.close_and_shutdown_all();
        }
        handle.inject.close();
        if !local_here && handle.local_owned.live() > 0 {
            // `!Send` futures must not be dropped on this thread: leak them and every queue
            // entry that may point at them.
            std::mem::forget(core);
            while let Some(task) = handle.inject.pop() {
                std::mem::forget(task);
            }
            return;
        }
        while let Some(task) = handle.inject.pop() {
            drop(task);
        }
        if let Some(mut core) = core {
            core.tasks.clear();
            if let Some(driver) = core.driver.as_mut() {
                driver.shutdown();
            }
        } else {
            // A thread is inside `block_on` right now; stop its timers at least.
            handle.driver.time.shutdown();
        }
    }
}

/// Drives the core until `future` completes. Returns `None` if the runtime shut down.
fn run_loop<F: Future>(
    handle: &Arc<Handle>,
    core: Box<Core>,
    mut future: std::pin::Pin<&mut F>,
) -> (Box<Core>, Option<F::Output>) {
    if let Some(owner) = handle.local_thread.get() {
        assert!(
            *owner == std::thread::current().id() || handle.local_owned.live() == 0,
            "corio: this runtime has !Send tasks (spawn_local) that belong to another thread; \
             block_on must run on that thread"
        );
    }
    let cx = super::Context::CurrentThread(Context {
        handle: handle.clone(),
        core: RefCell::new(Some(core)),
    });
    let super::Context::CurrentThread(local) = &cx else {
        unreachable!()
    };
    // A panic out of the future (or a task's waker) must not take the core with it: the next
    // `block_on` would wait for it for ever.
    let return_core_on_unwind = ReturnCoreOnUnwind {
        handle,
        core: &local.core,
    };
    handle.woken.store(true, Ordering::Release);
    let waker = Waker::from(handle.clone());
    let mut task_cx = TaskContext::from_waker(&waker);
    let _slot = handle
        .config
        .detect
        .then(|| context::set_poll_slot(&handle.slot));

    let out = context::set_scheduler(&cx, || {
        'outer: loop {
            if handle.woken.swap(false, Ordering::AcqRel) {
                // Stamped as task 0, so a `block_on` future that blocks is reported too.
                let running = if handle.config.detect {
                    handle.slot.begin(0)
                } else {
                    0
                };
                let polled = coop::budget(|| future.as_mut().poll(&mut task_cx));
                if running != 0 {
                    handle.slot.end(running);
                }
                if let Poll::Ready(out) = polled {
                    return Some(out);
                }
            }
            for _ in 0..handle.config.event_interval {
                if handle.shutdown.load(Ordering::Acquire) {
                    return None;
                }
                let Some(task) = local.next_task() else {
                    if !handle.woken.load(Ordering::Acquire) {
                        local.park();
                    }
                    continue 'outer;
                };
                coop::budget(|| task.run());
                if handle.woken.load(Ordering::Acquire) {
                    continue 'outer;
                }
            }
            // A full batch ran: let due timers fire before the next one.
            local.poll_driver();
        }
    });
    drop(return_core_on_unwind);
    let super::Context::CurrentThread(local) = cx else {
        unreachable!()
    };
    let core = local
        .core
        .into_inner()
        .expect("core missing after the loop");
    (core, out)
}

/// Gives the core back to the handle if `run_loop` unwinds.
struct ReturnCoreOnUnwind<'a> {
    handle: &'a Arc<Handle>,
    core: &'a RefCell<Option<Box<Core>>>,
}

impl Drop for ReturnCoreOnUnwind<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        if let Some(core) = self
            .core
            .try_borrow_mut()
            .ok()
            .and_then(|mut core| core.take())
        {
            self.handle.release_core(core);
        }
    }
}

impl Context {
    fn next_task(&self) -> Option<Queued> {
        let mut core = self.core.borrow_mut();
        let core = core.as_mut().expect("core missing");
        core.tick = core.tick.wrapping_add(1);
        if core
            .tick
            .is_multiple_of(self.handle.config.global_queue_interval)
        {
            self.handle.inject.pop().or_else(|| core.tasks.pop_front())
        } else {
            core.tasks.pop_front().or_else(|| self.handle.inject.pop())
        }
    }

    fn take_driver(&self) -> Driver {
        let mut core = self.core.borrow_mut();
        core.as_mut()
            .and_then(|c| c.driver.take())
            .expect("driver missing")
    }

    fn put_driver(&self, driver: Driver) {
        self.core
            .borrow_mut()
            .as_mut()
            .expect("core missing")
            .driver = Some(driver);
    }

    /// Sleeps until a timer is due or something is scheduled from another thread.
    fn park(&self) {
        let mut driver = self.take_driver();
        // Firing timers wakes tasks, which re-enter `schedule` and borrow the core: the
        // driver is taken out first so no borrow is held across the park.
        driver.park();
        self.put_driver(driver);
    }

    fn poll_driver(&self) {
        let mut driver = self.take_driver();
        driver.poll();
        self.put_driver(driver);
    }
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
        me.schedule(notified);
        Ok(join)
    }

    /// Spawns a `!Send` task; must be called on the thread currently driving this loop.
    pub(crate) fn spawn_local<F>(
        me: &Arc<Handle>,
        future: F,
        name: Option<Box<str>>,
        location: &'static Location<'static>,
    ) -> Result<JoinHandle<F::Output>, Closed>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let here = std::thread::current().id();
        let owner = *me.local_thread.get_or_init(|| here);
        assert!(
            owner == here,
            "corio: spawn_local on a runtime whose !Send tasks belong to another thread"
        );
        // SAFETY: this scheduler polls tasks only on the thread driving its core, which is
        // `owner` whenever local tasks exist (checked in `run_loop`), and shutdown leaks
        // rather than drops them on any other thread.
        let (join, notified) = unsafe {
            me.local_owned
                .bind_inner(future, LocalScheduler(me.clone()), name, location)?
        };
        me.schedule(notified.cast());
        Ok(join)
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire) || self.owned.is_closed()
    }

    /// Every live task, for `Handle::dump`.
    pub(crate) fn dump(&self) -> Vec<TaskInfo> {
        let sampled = self.config.detect;
        let mut tasks = Vec::with_capacity(self.owned.live() + self.local_owned.live());
        self.owned
            .for_each(|task| tasks.push(TaskInfo::read(task, false, sampled)));
        self.local_owned
            .for_each(|task| tasks.push(TaskInfo::read(task, true, sampled)));
        tasks
    }

    /// Counters for `Handle::metrics`.
    pub(crate) fn metrics(&self) -> crate::runtime::RuntimeMetrics {
        crate::runtime::RuntimeMetrics {
            workers: 1,
            tasks_spawned: self.owned.spawned() + self.local_owned.spawned(),
            tasks_alive: self.owned.live() + self.local_owned.live(),
            polls: self.config.detect.then(|| self.slot.polls()),
            slow_polls: self.monitor_stats.slow_polls.load(Ordering::Relaxed),
            blocking_threads: self.blocking.num_threads(),
            ..Default::default()
        }
    }
}

impl monitor::Watched for Handle {
    fn num_slots(&self) -> usize {
        1
    }

    fn slot(&self, _index: usize) -> &PollSlot {
        &self.slot
    }

    fn describe(&self, task: u64) -> Option<TaskInfo> {
        let sampled = self.config.detect;
        self.owned
            .find(task, |t| TaskInfo::read(t, false, sampled))
            .or_else(|| {
                self.local_owned
                    .find(task, |t| TaskInfo::read(t, true, sampled))
            })
    }

    fn stats(&self) -> &monitor::Stats {
        &self.monitor_stats
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        context::with_scheduler(|cx| {
            if let Some(super::Context::CurrentThread(cx)) = cx
                && Arc::ptr_eq(self, &cx.handle)
                && let Some(core) = cx.core.borrow_mut().as_mut()
            {
                core.tasks.push_back(task);
                return;
            }
            self.inject.push(task);
            self.driver.unpark();
        });
    }
}

impl Schedule for LocalScheduler {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.0.local_owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        self.0.schedule(task.cast());
    }
}

/// The main future's waker: flags it and wakes the loop.
impl Wake for Handle {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.driver.unpark();
    }
}

impl Context {
    pub(crate) fn handle(&self) -> Arc<Handle> {
        self.handle.clone()
    }
}
