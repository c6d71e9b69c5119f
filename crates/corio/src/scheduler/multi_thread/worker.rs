//! A worker thread's loop: run local work, steal, park.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::park::Parker;
use super::pinned::Pinned;
use super::queue;
use super::{Handle, Queued};
use crate::runtime::context;
use crate::scheduler::coop;
use crate::task::list::Closed;
use crate::task::{JoinHandle, Notified};

/// Consecutive LIFO-slot polls allowed before the slot's task goes to the back of the queue.
const MAX_LIFO_POLLS_PER_TICK: usize = 3;

pub(crate) struct Worker {
    handle: Arc<Handle>,
    core: std::sync::Mutex<Option<Box<Core>>>,
}

/// A worker's exclusive state; moves into the thread's `Context` while it runs.
pub(crate) struct Core {
    index: usize,
    tick: u32,
    lifo_slot: Option<Queued>,
    lifo_enabled: bool,
    run_queue: queue::Local<Queued>,
    /// Ready tasks pinned to this worker (never stolen).
    pinned: VecDeque<Notified<Pinned>>,
    is_searching: bool,
    is_shutdown: bool,
    park: Option<Parker>,
    rand: u32,
    /// A spare slot's core (`handoff.rs`): it may be told to retire.
    is_extra: bool,
    /// Running in place of this stuck worker: steal from it first.
    rescue: Option<usize>,
}

/// The worker loop running on this thread.
pub(crate) struct Context {
    worker: Arc<Worker>,
    core: RefCell<Option<Box<Core>>>,
}

/// Counts one event in a counter only this worker writes (a load and a store).
fn count(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

impl Worker {
    pub(crate) fn new(handle: Arc<Handle>, core: Core) -> Worker {
        Worker {
            handle,
            core: std::sync::Mutex::new(Some(Box::new(core))),
        }
    }
}

impl Core {
    pub(crate) fn new(
        index: usize,
        run_queue: queue::Local<Queued>,
        park: Parker,
        is_extra: bool,
    ) -> Core {
        Core {
            index,
            tick: 0,
            lifo_slot: None,
            lifo_enabled: true,
            run_queue,
            pinned: VecDeque::new(),
            is_searching: false,
            is_shutdown: false,
            park: Some(park),
            // Any non-zero seed works for xorshift; vary it per worker.
            rand: 0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1,
            is_extra,
            rescue: None,
        }
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Makes this (spare) core stand in for stuck worker `stuck`.
    pub(crate) fn rescue(&mut self, stuck: usize) {
        self.rescue = Some(stuck);
    }

    fn next_rand(&mut self, n: usize) -> usize {
        // xorshift32: cheap, and only used to spread steal attempts.
        let mut x = self.rand;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rand = x;
        (x as usize) % n
    }

    fn has_tasks(&self) -> bool {
        self.lifo_slot.is_some() || self.run_queue.has_tasks() || !self.pinned.is_empty()
    }

    /// Drops every queued task reference (at shutdown, after the owned list was cancelled).
    pub(crate) fn drain(&mut self) {
        drop(self.lifo_slot.take());
        self.pinned.clear();
        while let Some(task) = self.run_queue.pop() {
            drop(task);
        }
    }
}

/// Entry point of a worker thread.
pub(crate) fn run(worker: Arc<Worker>) {
    let Some(mut core) = worker.core.lock().unwrap().take() else {
        return;
    };
    let handle = worker.handle.clone();
    // On io_uring, the worker's own ring: its tasks' ops go there, and it reaps and sleeps
    // there. A replacement takes over the stuck worker's ring (the one that worker used,
    // which for a stuck replacement is not its slot's), or the connections in it would
    // stall with that worker.
    let _home = handle.driver.uring.as_ref().map(|uring| {
        let ring = match core.rescue {
            Some(stuck) => handle.remotes[stuck].unpark.home(),
            None => core.index % uring.rings(),
        };
        if let Some(park) = core.park.as_mut() {
            park.set_home(ring);
        }
        uring.set_home(ring)
    });
    let scheduler = crate::scheduler::Handle::MultiThread(handle.clone());
    let _in_runtime = context::enter_runtime();
    let _current = context::set_current(&scheduler);
    let _slot = handle
        .config
        .detect
        .then(|| context::set_poll_slot(&handle.remotes[core.index].slot));
    let cx = crate::scheduler::Context::MultiThread(Context {
        worker,
        core: RefCell::new(None),
    });
    let crate::scheduler::Context::MultiThread(local) = &cx else {
        unreachable!()
    };
    let core = context::set_scheduler(&cx, || {
        let mut core = local.run(core);
        if !core.is_shutdown {
            // A replacement worker told to retire (see `handoff.rs`).
            local.retire(*core);
            return None;
        }
        local.shutdown_pinned(&mut core);
        Some(core)
    });
    if let Some(core) = core {
        handle.shutdown_cores.lock().unwrap().push(*core);
    }
}

impl Context {
    fn handle(&self) -> &Arc<Handle> {
        &self.worker.handle
    }

    fn run(&self, mut core: Box<Core>) -> Box<Core> {
        while !core.is_shutdown {
            if core.is_extra && self.should_retire(&core) {
                break;
            }
            core.tick = core.tick.wrapping_add(1);
            if core
                .tick
                .is_multiple_of(self.handle().config.event_interval)
            {
                core = self.maintenance(core);
            }
            if let Some(task) = self.next_task(&mut core) {
                core = self.run_task(task, core);
                continue;
            }
            if let Some(task) = self.steal_work(&mut core) {
                core = self.run_task(task, core);
                continue;
            }
            core = self.park(core);
        }
        core
    }

    fn run_task(&self, task: Queued, core: Box<Core>) -> Box<Core> {
        let core = self.poll_task(task, core);
        self.submit_io_for_siblings(&core);
        core
    }

    /// On io_uring, hands the ops the task just started to the kernel now if a sibling is
    /// parked: its completions may wake that sibling (sooner than this worker's next turn,
    /// which batches them). With every worker busy they wait for the turn.
    fn submit_io_for_siblings(&self, core: &Core) {
        let handle = self.handle();
        if let Some(uring) = &handle.driver.uring
            && let Some(park) = &core.park
            && handle.idle.some_parked()
        {
            uring.submit_pushed(park.home());
        }
    }

    fn poll_task(&self, task: Queued, mut core: Box<Core>) -> Box<Core> {
        if core.is_searching {
            core.is_searching = false;
            if self.handle().idle.transition_worker_from_searching() {
                // The last searcher found work: there may be more, so hand the search on.
                self.handle().notify_parked();
            }
        }
        core.lifo_enabled = true;
        *self.core.borrow_mut() = Some(core);
        coop::budget(|| {
            task.run();
            let mut lifo_polls = 0;
            loop {
                let mut core = self.core.borrow_mut().take().expect("core missing");
                let Some(task) = core.lifo_slot.take() else {
                    return core;
                };
                if lifo_polls >= MAX_LIFO_POLLS_PER_TICK || !coop::has_budget_remaining() {
                    // Two tasks waking each other could hog the slot forever: requeue it.
                    core.lifo_enabled = false;
                    core.run_queue
                        .push_back_or_overflow(task, self.handle().as_ref());
                    return core;
                }
                lifo_polls += 1;
                *self.core.borrow_mut() = Some(core);
                task.run();
            }
        })
    }

    fn next_task(&self, core: &mut Core) -> Option<Queued> {
        let handle = self.handle();
        if core
            .tick
            .is_multiple_of(handle.config.global_queue_interval)
            && let Some(task) = handle.inject.pop()
        {
            // The LIFO slot is not stealable: keep it empty while a poll runs, so a poll
            // that blocks strands nothing there (see `handoff.rs`).
            if let Some(lifo) = core.lifo_slot.take() {
                core.run_queue.push_back_or_overflow(lifo, handle.as_ref());
            }
            return Some(task);
        }
        if let Some(task) = core.lifo_slot.take() {
            return Some(task);
        }
        // Alternate pinned tasks with the run queue so neither starves the other.
        if core.tick.is_multiple_of(2)
            && let Some(task) = self.next_pinned(core)
        {
            return Some(task);
        }
        if let Some(task) = core.run_queue.pop() {
            return Some(task);
        }
        if let Some(task) = self.next_pinned(core) {
            return Some(task);
        }
        if handle.inject.is_empty() {
            return None;
        }
        // Take a fair share of the injection queue in one lock acquisition.
        let running = handle.workers + handle.extra_running.load(Ordering::Relaxed);
        let share = handle.inject.len() / running + 1;
        let room = core.run_queue.remaining_slots().min(128);
        let mut first = None;
        handle.inject.pop_batch(share.min(room).max(1), |task| {
            if first.is_none() {
                first = Some(task);
            } else {
                // The batch never exceeds the room left, so this cannot overflow.
                core.run_queue.push_back(std::iter::once(task));
            }
        });
        first
    }

    /// The next pinned task, refilling from the inbox. It is run at once, never queued
    /// where another worker could take it.
    fn next_pinned(&self, core: &mut Core) -> Option<Queued> {
        if core.pinned.is_empty() {
            let inbox = &self.handle().remotes[core.index].pinned.inbox;
            inbox.pop_batch(usize::MAX, |task| core.pinned.push_back(task));
        }
        core.pinned.pop_front().map(Notified::cast)
    }

    /// Cancels this worker's pinned tasks on its own thread (their futures are `!Send`).
    fn shutdown_pinned(&self, core: &mut Core) {
        let pinned = &self.handle().remotes[core.index].pinned;
        pinned.owned.close_and_shutdown_all();
        pinned.inbox.close();
        while let Some(task) = pinned.inbox.pop() {
            drop(task);
        }
        core.pinned.clear();
    }

    /// Queues a pinned task on this worker if it is the task's worker; otherwise gives it back.
    pub(super) fn schedule_pinned(
        &self,
        handle: &Arc<Handle>,
        worker: usize,
        task: Notified<Pinned>,
    ) -> Option<Notified<Pinned>> {
        if !Arc::ptr_eq(handle, &self.worker.handle) {
            return Some(task);
        }
        let mut core = self.core.borrow_mut();
        match core.as_mut() {
            Some(core) if core.index == worker => {
                core.pinned.push_back(task);
                None
            }
            _ => Some(task),
        }
    }

    /// Spawns a `!Send` task pinned to this worker. Called from one of its tasks.
    pub(crate) fn spawn_local<F>(
        &self,
        future: F,
        name: Option<Box<str>>,
        location: &'static Location<'static>,
    ) -> Result<JoinHandle<F::Output>, Closed>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let handle = &self.worker.handle;
        let index = self.core.borrow().as_ref().map(|c| c.index).ok_or(Closed)?;
        let scheduler = Pinned {
            handle: handle.clone(),
            worker: index,
        };
        // SAFETY: a pinned task is only ever queued on worker `index` (this thread): its
        // `Notified` goes to this core's `pinned` queue or this worker's inbox, which only this
        // worker drains, and this worker cancels it at shutdown.
        let (join, notified) = unsafe {
            handle.remotes[index]
                .pinned
                .owned
                .bind_inner(future, scheduler, name, location)?
        };
        match self.core.borrow_mut().as_mut() {
            Some(core) => core.pinned.push_back(notified),
            None => unreachable!("the core was present a moment ago"),
        }
        Ok(join)
    }

    fn steal_work(&self, core: &mut Core) -> Option<Queued> {
        let handle = self.handle();
        if let Some(stuck) = core.rescue {
            // A replacement worker: the stuck worker's queue first, searching or not.
            if let Some(task) = handle.remotes[stuck].steal.steal_into(&mut core.run_queue) {
                count(&handle.remotes[core.index].steals);
                return Some(task);
            }
        }
        if !core.is_searching {
            if !handle.idle.transition_worker_to_searching() {
                return None;
            }
            core.is_searching = true;
        }
        // Spare slots hold tasks only while a replacement runs in one.
        let n = if handle.extra_running.load(Ordering::Relaxed) == 0 {
            handle.workers
        } else {
            handle.remotes.len()
        };
        let start = core.next_rand(n);
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == core.index {
                continue;
            }
            if let Some(task) = handle.remotes[victim].steal.steal_into(&mut core.run_queue) {
                count(&handle.remotes[core.index].steals);
                return Some(task);
            }
        }
        handle.inject.pop()
    }

    /// True if this worker has anything to run, including pinned wake-ups in its inbox.
    fn has_tasks(&self, core: &Core) -> bool {
        core.has_tasks() || !self.handle().remotes[core.index].pinned.inbox.is_empty()
    }

    /// Every `event_interval` ticks: fire due timers and notice shutdown.
    fn maintenance(&self, mut core: Box<Core>) -> Box<Core> {
        let mut park = core.park.take().expect("parker missing");
        *self.core.borrow_mut() = Some(core);
        park.poll_driver();
        core = self.core.borrow_mut().take().expect("core missing");
        core.park = Some(park);
        if self.handle().shutdown.load(Ordering::Acquire) {
            core.is_shutdown = true;
        }
        // Tasks the I/O events just woke were queued here without notifying anyone (the
        // parker was out); if there are more than this worker can start on, wake a sibling.
        self.share_work_if_plenty(&core);
        core
    }

    /// Wakes a parked sibling when this worker holds more runnable tasks than it can run
    /// next. A searching worker does not: finding work ends its search, which notifies.
    fn share_work_if_plenty(&self, core: &Core) {
        if !core.is_searching && usize::from(core.lifo_slot.is_some()) + core.run_queue.len() > 1 {
            self.handle().notify_parked();
        }
    }

    fn park(&self, mut core: Box<Core>) -> Box<Core> {
        if let Some(task) = core.lifo_slot.take() {
            core.run_queue
                .push_back_or_overflow(task, self.handle().as_ref());
        }
        if !self.transition_to_parked(&mut core) {
            return core;
        }
        while !core.is_shutdown {
            let mut park = core.park.take().expect("parker missing");
            count(&self.handle().remotes[core.index].parks);
            // The core stays reachable while parked: timers firing here schedule onto it.
            *self.core.borrow_mut() = Some(core);
            park.park();
            core = self.core.borrow_mut().take().expect("core missing");
            core.park = Some(park);
            if self.handle().shutdown.load(Ordering::Acquire) {
                core.is_shutdown = true;
            }
            if self.transition_from_parked(&mut core) {
                break;
            }
            if core.is_extra && self.should_retire(&core) {
                // Told to retire while asleep: off the sleeper list, then out (see `run`).
                core.is_searching = !self.handle().idle.unpark_worker_by_id(core.index);
                break;
            }
        }
        core
    }

    /// A replacement worker retires once told to and once no `spawn_local` task needs it.
    fn should_retire(&self, core: &Core) -> bool {
        let remote = &self.handle().remotes[core.index];
        remote.retire.load(Ordering::Acquire)
            && core.pinned.is_empty()
            && remote.pinned.owned.live() == 0
    }

    /// Retires a replacement worker (awake, not on the sleeper list): its queued tasks go to
    /// the injection queue, it leaves the idle count, and its core goes back to the spares.
    fn retire(&self, mut core: Core) {
        let handle = self.handle();
        let lifo = core.lifo_slot.take();
        let queued = std::iter::from_fn(|| core.run_queue.pop());
        handle.inject.push_batch(lifo.into_iter().chain(queued));
        let was_last_searcher = handle.idle.remove_worker(core.is_searching);
        core.is_searching = false;
        core.rescue = None;
        if was_last_searcher || !handle.inject.is_empty() {
            handle.notify_if_work_pending();
        }
        handle.extra_running.fetch_sub(1, Ordering::Relaxed);
        let home = core.park.as_ref().map(Parker::home);
        let index = core.index;
        handle.spare.lock().unwrap().push(core);
        // On io_uring this worker shared its ring with the worker it replaced: that worker
        // (or another replacement) may have parked on its condition variable because this
        // one was sleeping in the ring. Nobody watches the ring once this thread is gone, so
        // wake them: one re-parks in the ring.
        if let Some(home) = home
            && handle.driver.uring.is_some()
        {
            for (i, remote) in handle.remotes.iter().enumerate() {
                if i != index && remote.unpark.home() == home {
                    remote.unpark.unpark();
                }
            }
        }
    }

    fn transition_to_parked(&self, core: &mut Core) -> bool {
        let handle = self.handle();
        if self.has_tasks(core) || core.is_shutdown {
            return false;
        }
        if handle.shutdown.load(Ordering::Acquire) {
            core.is_shutdown = true;
            return false;
        }
        let was_last_searcher = handle
            .idle
            .transition_worker_to_parked(core.index, core.is_searching);
        core.is_searching = false;
        if was_last_searcher {
            handle.notify_if_work_pending();
        }
        true
    }

    /// After a wake-up: true if this worker should run again.
    fn transition_from_parked(&self, core: &mut Core) -> bool {
        let handle = self.handle();
        if self.has_tasks(core) {
            // Woken with work of our own (a timer or I/O event scheduled it here): take
            // ourselves off the sleeper list. If a notifier got there first, it already counted
            // us as searching, so we are searching: clearing that count falls to us
            // (`run_task`). Ignoring it would leak the count, and with a searcher apparently
            // about, no one would ever be woken for remotely spawned tasks again.
            core.is_searching = !handle.idle.unpark_worker_by_id(core.index);
            self.share_work_if_plenty(core);
            return true;
        }
        if core.is_shutdown {
            return true;
        }
        if handle.idle.is_parked(core.index) {
            return false;
        }
        // `worker_to_notify` counted us as searching.
        core.is_searching = true;
        true
    }

    /// Schedules `task` on this worker if it belongs to `handle`'s runtime; otherwise gives
    /// the task back for the injection queue.
    pub(super) fn schedule_local(
        &self,
        handle: &Arc<Handle>,
        task: Queued,
        is_yield: bool,
    ) -> Option<Queued> {
        if !Arc::ptr_eq(handle, &self.worker.handle) {
            return Some(task);
        }
        let mut core = self.core.borrow_mut();
        let Some(core) = core.as_mut() else {
            return Some(task);
        };
        let should_notify = if is_yield || !core.lifo_enabled {
            core.run_queue.push_back_or_overflow(task, handle.as_ref());
            true
        } else {
            match core.lifo_slot.replace(task) {
                Some(prev) => {
                    core.run_queue.push_back_or_overflow(prev, handle.as_ref());
                    true
                }
                None => false,
            }
        };
        // Only a worker that is running (has its parker) hands work on; while parked, the
        // wake-up path decides.
        if should_notify && core.park.is_some() {
            handle.notify_parked();
        }
        None
    }
}
