//! A worker's poll stamp: which task it is polling, and since which poll.
//!
//! # Protocol
//! Only the worker thread writes `seq` and `task` (plain stores, no read-modify-write, so a
//! poll costs three stores and one load here). `seq` counts poll starts and ends: odd while a
//! poll runs. Starting poll `k`: `task = id` (release), then `seq = 2k + 1` (release); ending
//! it: `seq = 2k + 2` (release).
//!
//! The monitor thread reads it like a sequence lock: `seq` (acquire), then `task`, an acquire
//! fence, and `seq` again. If both reads of `seq` agree and are odd, `task` is the id of that
//! poll's task: had it read the next poll's id, that id's release store would (through the
//! fence) make the intervening even `seq` visible to the second read. The monitor measures
//! how long a poll runs with its own clock, from the first sample that saw its `seq`: the
//! worker never reads a clock.
//!
//! `sampled` goes the other way: for the poll it saw running, the monitor stores that poll's
//! `seq` (low 32 bits) and the time it has credited the poll so far (high 32 bits, in
//! microseconds). When the poll ends, the worker adds that time to the task's busy time if
//! the stamp is its own (one more load). A sample written just after the poll ended is
//! ignored, so busy time is sampled and slightly under-counted, never double-counted.

use crate::loom::sync::atomic::{AtomicU64, Ordering, fence};

/// One per worker (and one for a current-thread loop). Aligned to its own cache lines: only
/// its worker writes it, and only the monitor reads it, every few milliseconds.
#[repr(align(128))]
pub(crate) struct PollSlot {
    seq: AtomicU64,
    task: AtomicU64,
    sampled: AtomicU64,
}

/// A poll the monitor saw running: its sequence number and the id of its task (0 for a
/// current-thread runtime's `block_on` future).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Running {
    pub(crate) seq: u64,
    pub(crate) task: u64,
}

impl Default for PollSlot {
    fn default() -> PollSlot {
        PollSlot {
            seq: AtomicU64::new(0),
            task: AtomicU64::new(0),
            sampled: AtomicU64::new(0),
        }
    }
}

impl PollSlot {
    /// Stamps the start of a poll of task `task`. Returns the running sequence number to pass
    /// to [`PollSlot::end`], or 0 if a poll is already stamped (a nested poll is not timed).
    #[inline]
    pub(crate) fn begin(&self, task: u64) -> u64 {
        // Only this thread stores `seq`: a relaxed load sees its own last store.
        let seq = self.seq.load(Ordering::Relaxed);
        if seq & 1 == 1 {
            return 0;
        }
        self.task.store(task, Ordering::Release);
        let running = seq.wrapping_add(1);
        self.seq.store(running, Ordering::Release);
        running
    }

    /// Stamps the end of the poll `begin` returned `running` (non-zero) for. Returns the busy
    /// time, in microseconds, the monitor credited that poll with.
    #[inline]
    pub(crate) fn end(&self, running: u64) -> u64 {
        self.seq.store(running.wrapping_add(1), Ordering::Release);
        let sampled = self.sampled.load(Ordering::Relaxed);
        if sampled as u32 == running as u32 {
            sampled >> 32
        } else {
            0
        }
    }

    /// The poll running now, if any (monitor side; see the module docs).
    pub(crate) fn running(&self) -> Option<Running> {
        let seq = self.seq.load(Ordering::Acquire);
        if seq & 1 == 0 {
            return None;
        }
        let task = self.task.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        (self.seq.load(Ordering::Relaxed) == seq).then_some(Running { seq, task })
    }

    /// Records that poll `seq` has been credited `busy_us` so far (monitor side).
    pub(crate) fn credit(&self, seq: u64, busy_us: u64) {
        let busy = busy_us.min(u64::from(u32::MAX));
        self.sampled
            .store((busy << 32) | (seq & 0xFFFF_FFFF), Ordering::Relaxed);
    }

    /// Polls started so far.
    pub(crate) fn polls(&self) -> u64 {
        self.seq.load(Ordering::Relaxed).div_ceil(2)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_reads_a_poll() {
        let slot = PollSlot::default();
        assert_eq!(slot.running(), None);
        let running = slot.begin(7);
        assert_eq!(slot.running(), Some(Running { seq: 1, task: 7 }));
        assert_eq!(slot.begin(8), 0, "nested polls are not stamped");
        slot.credit(running, 1_500);
        assert_eq!(slot.end(running), 1_500);
        assert_eq!(slot.running(), None);
        assert_eq!(slot.polls(), 1);
        let next = slot.begin(9);
        assert_eq!(slot.end(next), 0, "the sample was for the previous poll");
        assert_eq!(slot.polls(), 2);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::sync::Arc;

    /// The monitor never pairs a poll's sequence number with another poll's task.
    #[test]
    fn a_running_poll_is_read_with_its_own_task() {
        loom::model(|| {
            let slot = Arc::new(PollSlot::default());
            let worker = {
                let slot = slot.clone();
                loom::thread::spawn(move || {
                    let first = slot.begin(10);
                    slot.end(first);
                    let second = slot.begin(20);
                    slot.end(second);
                })
            };
            if let Some(running) = slot.running() {
                match running.seq {
                    1 => assert_eq!(running.task, 10),
                    3 => assert_eq!(running.task, 20),
                    seq => panic!("seq {seq} is not a running poll"),
                }
            }
            worker.join().unwrap();
        });
    }
}
