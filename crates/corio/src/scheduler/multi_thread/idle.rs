//! Which workers are parked, and how many are searching for work.
//!
//! Waking a worker costs a syscall, so the scheduler wakes one only when no worker is already
//! searching (a searching worker will find the new task or wake the next one when it finds
//! work: see `worker.rs`), and never lets more than half the workers search at once, so
//! stealers do not swarm a single busy queue.
//!
//! `state` packs two counters: searching workers (low 16 bits) and unparked workers (the
//! rest). The list of sleepers is under a mutex; the packed counters let the hot path
//! ("does anyone need waking?") decide without taking it.
//!
//! `num_workers` is the number of running workers: the configured ones plus replacement
//! workers started for stuck ones (`handoff.rs`), which join and leave through `add_worker`
//! and `remove_worker`.

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};

const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;

pub(crate) struct Idle {
    state: AtomicUsize,
    num_workers: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
}

fn num_searching(state: usize) -> usize {
    state & SEARCH_MASK
}

fn num_unparked(state: usize) -> usize {
    state >> UNPARK_SHIFT
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Idle {
            // Workers start unparked and not searching.
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            num_workers: AtomicUsize::new(num_workers),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
        }
    }

    /// The worker to wake for new work, if one should be woken. The chosen worker is counted
    /// as unparked and searching.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.notify_should_wakeup() {
            return None;
        }
        let mut sleepers = self.sleepers.lock().unwrap();
        // Re-check under the lock: another notifier may have beaten us.
        if !self.notify_should_wakeup() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add(1 | (1 << UNPARK_SHIFT), SeqCst);
        Some(worker)
    }

    fn notify_should_wakeup(&self) -> bool {
        // A read-modify-write, not a load: the notifier has just pushed a task (a store) and
        // a parking worker has just decremented `state` and will then look for tasks. With a
        // plain load, each side could miss the other's write (store buffering) and the task
        // would sit in a queue while every worker sleeps. The RMW orders this read after the
        // push on every architecture.
        let state = self.state.fetch_add(0, SeqCst);
        num_searching(state) == 0 && num_unparked(state) < self.num_workers()
    }

    /// Some worker is parked (a hint: no ordering with the parking worker).
    pub(crate) fn some_parked(&self) -> bool {
        num_unparked(self.state.load(SeqCst)) < self.num_workers()
    }

    fn num_workers(&self) -> usize {
        self.num_workers.load(SeqCst)
    }

    /// Counts a replacement worker that starts now, awake and not searching.
    pub(crate) fn add_worker(&self) {
        self.num_workers.fetch_add(1, SeqCst);
        self.state.fetch_add(1 << UNPARK_SHIFT, SeqCst);
    }

    /// A replacement worker that is awake (not on the sleeper list) leaves for good. Returns
    /// true if it was the last searching worker (then the caller must check for work that
    /// arrived meanwhile and wake someone for it, as when parking).
    pub(crate) fn remove_worker(&self, is_searching: bool) -> bool {
        let prev = self
            .state
            .fetch_sub((1 << UNPARK_SHIFT) | usize::from(is_searching), SeqCst);
        self.num_workers.fetch_sub(1, SeqCst);
        is_searching && num_searching(prev) == 1
    }

    /// Records `worker` as parked. Returns true if it was the last searching worker (then
    /// the caller must check for work that arrived meanwhile and wake someone for it).
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap();
        let dec = (1 << UNPARK_SHIFT) | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        is_searching && num_searching(prev) == 1
    }

    /// Lets a worker start searching (stealing) unless enough already are.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * num_searching(state) >= self.num_workers() {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searching worker found work. Returns true if it was the last searcher.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        num_searching(prev) == 1
    }

    /// Takes `worker` off the sleeper list if it is there (woken by something other than
    /// `worker_to_notify`, e.g. a timer). Returns true if it was.
    pub(crate) fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_add(1 << UNPARK_SHIFT, SeqCst);
                true
            }
            None => false,
        }
    }

    /// True if `worker` is on the sleeper list.
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        self.sleepers.lock().unwrap().contains(&worker)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn notifies_only_when_nobody_searches() {
        let idle = Idle::new(2);
        assert_eq!(idle.worker_to_notify(), None, "everyone is awake");
        assert!(!idle.transition_worker_to_parked(1, false));
        assert_eq!(idle.worker_to_notify(), Some(1));
        assert_eq!(
            idle.worker_to_notify(),
            None,
            "worker 1 is searching already"
        );
        assert!(idle.transition_worker_from_searching());
    }

    #[test]
    fn at_most_half_search() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_to_searching());
    }

    #[test]
    fn last_searcher_parking_is_reported() {
        let idle = Idle::new(2);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_parked(0, true));
        assert!(idle.is_parked(0));
        assert!(idle.unpark_worker_by_id(0));
        assert!(!idle.is_parked(0));
    }

    #[test]
    fn a_replacement_worker_joins_and_leaves() {
        let idle = Idle::new(1);
        assert_eq!(idle.worker_to_notify(), None);
        idle.add_worker();
        assert_eq!(idle.worker_to_notify(), None, "both are awake");
        assert!(idle.transition_worker_to_searching());
        assert!(idle.remove_worker(true), "the last searcher left");
        assert!(!idle.transition_worker_to_parked(0, false));
        assert_eq!(idle.worker_to_notify(), Some(0));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::sync::Arc;
    use crate::loom::sync::atomic::AtomicBool;

    /// A replacement worker retiring while it searches races a task being pushed while the
    /// only other worker sleeps: whichever order, someone wakes the sleeper for the task —
    /// the retiring worker (the last searcher, it checks for work as a parking one does) or
    /// the pusher (nobody searches any more). No wake-up is lost to the hand-off.
    #[test]
    fn a_retiring_searcher_races_a_push() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(1));
            assert!(!idle.transition_worker_to_parked(0, false));
            // A replacement joins (the monitor started it) and searches.
            idle.add_worker();
            assert!(idle.transition_worker_to_searching());
            let work = Arc::new(AtomicBool::new(false));
            let woken = Arc::new(AtomicBool::new(false));
            let pusher = {
                let (idle, work, woken) = (idle.clone(), work.clone(), woken.clone());
                loom::thread::spawn(move || {
                    work.store(true, SeqCst);
                    if let Some(worker) = idle.worker_to_notify() {
                        assert_eq!(worker, 0);
                        woken.store(true, SeqCst);
                    }
                })
            };
            // The stuck poll returned: the replacement retires.
            if idle.remove_worker(true)
                && work.load(SeqCst)
                && let Some(worker) = idle.worker_to_notify()
            {
                assert_eq!(worker, 0);
                woken.store(true, SeqCst);
            }
            pusher.join().unwrap();
            assert!(
                woken.load(SeqCst),
                "the task was pushed, yet nobody woke for it"
            );
        });
    }
}
