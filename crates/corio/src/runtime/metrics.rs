//! `RuntimeMetrics`: a snapshot of a runtime's counters, from `Handle::metrics`.

use std::fmt;

/// A runtime's counters at one moment. Plain data: every field is public.
///
/// Counters are cumulative since the runtime started; taking two snapshots and subtracting
/// gives rates. Reading them costs a few locks (the task lists' shards), nothing on the
/// runtime's hot paths.
///
/// ```
/// let rt = corio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     corio::spawn(async {}).await.unwrap();
/// });
/// let metrics = rt.handle().metrics();
/// assert_eq!(metrics.workers, 2);
/// assert!(metrics.tasks_spawned >= 1);
/// println!("{metrics}");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Configured worker threads (1 for a current-thread runtime).
    pub workers: usize,
    /// Replacement workers running now, in place of workers stuck in a blocking poll.
    pub extra_workers: usize,
    /// Tasks spawned so far (including `spawn_local` ones).
    pub tasks_spawned: u64,
    /// Tasks spawned and not yet completed.
    pub tasks_alive: usize,
    /// Polls so far (counted by the slow-poll stamps: `None` with detection off). On a
    /// current-thread runtime this includes polls of the `block_on` future.
    pub polls: Option<u64>,
    /// Successful steals from another worker's run queue.
    pub steals: u64,
    /// Times a worker went to sleep for lack of work.
    pub parks: u64,
    /// Threads in the blocking pool now (`spawn_blocking`, file system calls).
    pub blocking_threads: usize,
    /// Polls that ran past the slow-poll threshold.
    pub slow_polls: u64,
    /// Replacement workers started for stuck ones.
    pub hand_offs: u64,
}

impl fmt::Display for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "workers:          {} (+{} replacing stuck ones)",
            self.workers, self.extra_workers
        )?;
        writeln!(f, "tasks spawned:    {}", self.tasks_spawned)?;
        writeln!(f, "tasks alive:      {}", self.tasks_alive)?;
        match self.polls {
            Some(polls) => writeln!(f, "polls:            {polls}")?,
            None => writeln!(f, "polls:            - (slow-poll detection is off)")?,
        }
        writeln!(f, "steals:           {}", self.steals)?;
        writeln!(f, "parks:            {}", self.parks)?;
        writeln!(f, "blocking threads: {}", self.blocking_threads)?;
        writeln!(f, "slow polls:       {}", self.slow_polls)?;
        write!(f, "hand-offs:        {}", self.hand_offs)
    }
}
