//! The monitor: a thread per runtime that notices polls which block their worker.
//!
//! One blocking call inside a task (`std::thread::sleep`, a synchronous database driver, a
//! long computation) stops every other task queued on that worker. The monitor finds such
//! polls, names the task in a `tracing` warning, and — on the multi-thread scheduler — asks
//! the scheduler to hand the stuck worker's queued tasks to a replacement worker.
//!
//! # Cost
//! Workers never read a clock for this. Each worker stamps a [`PollSlot`] at the start and
//! end of every poll (three plain stores and a load; see `slot.rs`); the monitor wakes every
//! [`Config::interval`] (10 ms by default), reads each slot, and measures how long the same
//! poll has been running with its own clock. A poll is reported once it has run for the
//! threshold (100 ms by default), with up to one interval of delay.
//!
//! # What it reports
//! - `WARN corio::slow_poll`: "task 42 "name" [label] spawned at src/x.rs:10:5 has blocked
//!   worker 0 for 104 ms ...", once per slow poll, with the same facts as fields (`task_id`,
//!   `task_name`, `task_label`, `task_location`, `worker`, `blocked_ms`, `handed_off`);
//! - `WARN corio::slow_poll`: "... returned after 1003 ms", when that poll ends, with
//!   `total_ms`.
//!
//! A field the task does not have (no name, no label) is the empty string.
//!
//! The monitor also refreshes the coarse clock (task ages) and samples which task each
//! worker is polling, crediting it with the time since the last sample (task busy time).

mod slot;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) use slot::PollSlot;

use super::clock;
use crate::task::TaskInfo;

/// The default slow-poll threshold.
pub(crate) const DEFAULT_THRESHOLD: Duration = Duration::from_millis(100);

/// The environment variable that sets the threshold in milliseconds (`0` or `off`: no
/// detection) when the builder did not.
pub(crate) const ENV_THRESHOLD: &str = "CORIO_SLOW_POLL_MS";

/// How the monitor runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// A poll running this long is reported.
    pub(crate) threshold: Duration,
    /// How often the monitor looks.
    pub(crate) interval: Duration,
    /// Whether to ask the scheduler for a replacement worker when a poll is slow.
    pub(crate) hand_off: bool,
}

impl Config {
    pub(crate) fn new(threshold: Duration, hand_off: bool) -> Config {
        // Four looks per threshold at least, so a report comes at most a quarter late; never
        // more often than every millisecond, nor less often than every 10 ms.
        let interval = (threshold / 4).clamp(Duration::from_millis(1), Duration::from_millis(10));
        Config {
            threshold,
            interval,
            hand_off,
        }
    }
}

/// Counters the monitor keeps for the runtime's metrics.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Polls that ran past the threshold.
    pub(crate) slow_polls: AtomicU64,
    /// Replacement workers started for stuck ones.
    pub(crate) hand_offs: AtomicU64,
}

/// What the monitor needs from a scheduler.
pub(crate) trait Watched: Send + Sync + 'static {
    /// Number of poll slots (workers, including spare ones that may not be running).
    fn num_slots(&self) -> usize;

    /// The poll slot of worker `index`.
    fn slot(&self, index: usize) -> &PollSlot;

    /// A live task by id, if it still exists.
    fn describe(&self, task: u64) -> Option<TaskInfo>;

    /// Counters to update.
    fn stats(&self) -> &Stats;

    /// Worker `stuck` is blocked in a poll: start a replacement for it and move its queued
    /// tasks. Returns the replacement's slot index, if one was started.
    fn hand_off(self: Arc<Self>, stuck: usize) -> Option<usize> {
        let _ = stuck;
        None
    }

    /// The poll that blocked the worker `replacement` stood in for has returned: retire it.
    fn retire(&self, replacement: usize) {
        let _ = replacement;
    }
}

/// The running monitor thread. Stopped (and joined) by [`Monitor::stop`] or on drop.
pub(crate) struct Monitor {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Monitor {
    /// Starts watching `watched` (which the monitor holds weakly: it exits once the scheduler
    /// is gone, or when stopped).
    pub(crate) fn start(
        watched: Weak<dyn Watched>,
        config: Config,
        thread_name: &str,
    ) -> std::io::Result<Monitor> {
        clock::start();
        let shared = Arc::new(Shared {
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        // The thread's start-up (a few tens of microseconds of a core) is paid here, in
        // `build`, not in the first moments of the program's work: on a 2-core machine a
        // thread starting beside two busy workers takes a core from one of them.
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name(format!("{thread_name}-monitor"))
            .spawn({
                let shared = shared.clone();
                move || {
                    let _ = ready_tx.send(());
                    run(&shared, &watched, config)
                }
            })?;
        let _ = ready_rx.recv();
        Ok(Monitor {
            shared,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(&mut self) {
        *self.shared.stop.lock().unwrap() = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The monitor's memory of one slot.
#[derive(Default)]
struct Watch {
    /// The running poll last seen (0: none).
    seq: u64,
    /// When it was first seen running.
    since: Option<Instant>,
    /// Busy time credited to it so far.
    busy_us: u64,
    /// Set once it was reported slow.
    report: Option<Report>,
}

struct Report {
    task: Option<TaskInfo>,
    task_id: u64,
    replacement: Option<usize>,
}

fn run(shared: &Shared, watched: &Weak<dyn Watched>, config: Config) {
    let mut watches: Vec<Watch> = Vec::new();
    let mut last = Instant::now();
    loop {
        {
            let stop = shared.stop.lock().unwrap();
            let (stop, _) = shared
                .wake
                .wait_timeout_while(stop, config.interval, |stop| !*stop)
                .unwrap();
            if *stop {
                return;
            }
        }
        let Some(watched) = watched.upgrade() else {
            return;
        };
        let now = Instant::now();
        clock::refresh(now);
        let tick_us = now.saturating_duration_since(last).as_micros() as u64;
        last = now;
        let slots = watched.num_slots();
        if watches.len() < slots {
            watches.resize_with(slots, Watch::default);
        }
        for (index, watch) in watches.iter_mut().enumerate().take(slots) {
            look(&watched, index, watch, now, tick_us, &config);
        }
    }
}

/// One look at worker `index`'s slot.
fn look(
    watched: &Arc<dyn Watched>,
    index: usize,
    watch: &mut Watch,
    now: Instant,
    tick_us: u64,
    config: &Config,
) {
    let slot = watched.slot(index);
    let running = slot.running();
    if let Some(running) = running.filter(|r| r.seq == watch.seq) {
        // The same poll as last time: still running.
        watch.busy_us += tick_us;
        slot.credit(running.seq, watch.busy_us);
        let since = watch.since.unwrap_or(now);
        let blocked = now.saturating_duration_since(since);
        if watch.report.is_none() && blocked >= config.threshold {
            watch.report = Some(report_slow(watched, index, running.task, blocked, config));
        }
        return;
    }
    // The poll seen last time (if any) has ended.
    if let Some(report) = watch.report.take() {
        let total = watch
            .since
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        report_returned(index, &report, total);
        if let Some(replacement) = report.replacement {
            watched.retire(replacement);
        }
    }
    match running {
        Some(running) => {
            // A new poll: credit it with this sample (see `TaskInfo::busy`).
            watch.seq = running.seq;
            watch.since = Some(now);
            watch.busy_us = tick_us;
            slot.credit(running.seq, tick_us);
        }
        None => {
            watch.seq = 0;
            watch.since = None;
            watch.busy_us = 0;
        }
    }
}

fn report_slow(
    watched: &Arc<dyn Watched>,
    worker: usize,
    task_id: u64,
    blocked: Duration,
    config: &Config,
) -> Report {
    watched.stats().slow_polls.fetch_add(1, Ordering::Relaxed);
    let info = watched.describe(task_id);
    let replacement = if config.hand_off {
        watched.clone().hand_off(worker)
    } else {
        None
    };
    let what = describe(info.as_ref(), task_id);
    let blocked_ms = blocked.as_millis() as u64;
    let consequence = match replacement {
        Some(_) => "its queued tasks were handed to a replacement worker",
        None => "every task queued on it waits",
    };
    tracing::warn!(
        target: "corio::slow_poll",
        task_id = task_id,
        task_name = info.as_ref().and_then(|t| t.name.as_deref()).unwrap_or(""),
        task_label = info.as_ref().and_then(|t| t.label).unwrap_or(""),
        task_location = %info.as_ref().map_or_else(String::new, |t| t.location.to_string()),
        worker,
        blocked_ms,
        handed_off = replacement.is_some(),
        "{what} has blocked worker {worker} for {blocked_ms} ms so far ({consequence}): a \
         blocking call inside async code; move it to corio::spawn_blocking or await an async \
         version"
    );
    Report {
        task: info,
        task_id,
        replacement,
    }
}

fn report_returned(worker: usize, report: &Report, total: Duration) {
    let what = describe(report.task.as_ref(), report.task_id);
    let total_ms = total.as_millis() as u64;
    tracing::warn!(
        target: "corio::slow_poll",
        task_id = report.task_id,
        task_name = report.task.as_ref().and_then(|t| t.name.as_deref()).unwrap_or(""),
        task_label = report.task.as_ref().and_then(|t| t.label).unwrap_or(""),
        worker,
        total_ms,
        "{what} returned after blocking worker {worker} for about {total_ms} ms"
    );
}

fn describe(task: Option<&TaskInfo>, id: u64) -> String {
    match task {
        Some(task) => task.describe(),
        None if id == 0 => "the block_on future".to_owned(),
        None => format!("task {id} (already gone)"),
    }
}
