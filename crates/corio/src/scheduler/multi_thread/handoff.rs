//! Hand-off: a replacement worker for one stuck in a blocking poll (Go's scheduler does the
//! same around blocking system calls).
//!
//! The scheduler owns `workers + extra_workers` worker slots. The extra ones start as spare
//! cores (a run queue and a parker each, no thread). When the monitor reports worker `i`
//! stuck (`Watched::hand_off`), `start_extra` takes a spare core, counts one more worker in
//! `Idle`, and starts a thread for it. The new worker steals from worker `i`'s run queue
//! before anything else (its core's `rescue`), so the tasks queued behind the stuck poll run
//! there; it also runs everything else like any worker: it steals, takes from the injection
//! queue, and parks in the I/O driver when idle, so I/O and timers keep being served even
//! if the stuck worker was the one that usually drives them. (Workers never hold the driver
//! while polling a task, so a stuck poll never holds it either.)
//!
//! When the stuck poll returns, the monitor calls `Watched::retire`: the replacement's
//! `retire` flag is set and it is unparked. At its next turn (or when it wakes) it pushes its
//! queued tasks to the injection queue, leaves `Idle`'s count, and hands its core back to the
//! spare list; its thread exits, and the number of running workers is the configured one
//! again. A replacement that has `spawn_local` tasks of its own keeps running until they
//! complete, since they may run on no other thread.
//!
//! What cannot move: the stuck worker's own `spawn_local` tasks, and the one task (at most)
//! in its LIFO slot, which the stuck poll itself woke before blocking. Those run when the
//! poll returns.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Handle;
use super::worker::{self, Worker};
use crate::runtime::monitor::{PollSlot, Stats, Watched};
use crate::task::TaskInfo;

impl Handle {
    /// Starts a spare worker in place of stuck worker `stuck`. Returns its slot index.
    fn start_extra(self: &Arc<Self>, stuck: usize) -> Option<usize> {
        // Held while starting, so shutdown either sees the thread or stops us (see `shutdown`).
        let mut threads = self.extra_threads.lock().unwrap();
        if self.is_shutdown() {
            return None;
        }
        threads.retain(|t| !t.is_finished());
        let mut core = self.spare.lock().unwrap().pop()?;
        self.extra_running.fetch_add(1, Ordering::Relaxed);
        let index = core.index();
        core.rescue(stuck);
        self.remotes[index].retire.store(false, Ordering::Release);
        self.idle.add_worker();
        let worker = Arc::new(Worker::new(self.clone(), core));
        match self
            .thread_builder(index)
            .spawn(move || worker::run(worker))
        {
            Ok(thread) => {
                threads.push(thread);
                self.monitor_stats.hand_offs.fetch_add(1, Ordering::Relaxed);
                Some(index)
            }
            Err(err) => {
                // The core went down with the closure: this slot stays unused.
                self.idle.remove_worker(false);
                self.extra_running.fetch_sub(1, Ordering::Relaxed);
                tracing::warn!(
                    target: "corio::slow_poll",
                    "could not start a replacement for stuck worker {stuck}: {err}"
                );
                None
            }
        }
    }
}

impl Watched for Handle {
    fn num_slots(&self) -> usize {
        self.remotes.len()
    }

    fn slot(&self, index: usize) -> &PollSlot {
        &self.remotes[index].slot
    }

    fn describe(&self, task: u64) -> Option<TaskInfo> {
        let sampled = self.config.detect;
        self.owned
            .find(task, |t| TaskInfo::read(t, false, sampled))
            .or_else(|| {
                self.remotes.iter().find_map(|r| {
                    r.pinned
                        .owned
                        .find(task, |t| TaskInfo::read(t, true, sampled))
                })
            })
    }

    fn stats(&self) -> &Stats {
        &self.monitor_stats
    }

    fn hand_off(self: Arc<Self>, stuck: usize) -> Option<usize> {
        self.start_extra(stuck)
    }

    fn retire(&self, replacement: usize) {
        let remote = &self.remotes[replacement];
        remote.retire.store(true, Ordering::Release);
        remote.unpark.unpark();
    }
}
