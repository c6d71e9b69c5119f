//! `Builder`: choose the scheduler and tune it.

use std::fmt;
use std::io;

use super::Runtime;

/// Which scheduler a runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flavor {
    /// One event loop on the thread that calls `block_on`, as asyncio has.
    CurrentThread,
    /// A pool of worker threads with work stealing.
    MultiThread,
}

/// Builds a [`Runtime`].
///
/// ```
/// use corio::runtime::Builder;
///
/// let rt = Builder::new_multi_thread()
///     .worker_threads(2)
///     .thread_name("api-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
#[derive(Clone)]
pub struct Builder {
    pub(crate) flavor: Flavor,
    pub(crate) worker_threads: Option<usize>,
    pub(crate) thread_name: String,
    pub(crate) thread_stack_size: Option<usize>,
    pub(crate) event_interval: u32,
    pub(crate) global_queue_interval: u32,
    pub(crate) max_blocking_threads: usize,
    pub(crate) thread_keep_alive: std::time::Duration,
}

impl Builder {
    /// A builder for a current-thread runtime.
    pub fn new_current_thread() -> Builder {
        Builder::new(Flavor::CurrentThread)
    }

    /// A builder for a multi-thread runtime (one worker per available core by default).
    pub fn new_multi_thread() -> Builder {
        Builder::new(Flavor::MultiThread)
    }

    fn new(flavor: Flavor) -> Builder {
        Builder {
            flavor,
            worker_threads: None,
            thread_name: "corio-worker".to_owned(),
            thread_stack_size: None,
            event_interval: 61,
            global_queue_interval: 31,
            max_blocking_threads: 512,
            thread_keep_alive: std::time::Duration::from_secs(10),
        }
    }

    /// Switches the scheduler flavor.
    pub fn flavor(mut self, flavor: Flavor) -> Builder {
        self.flavor = flavor;
        self
    }

    /// Number of worker threads of a multi-thread runtime. Defaults to the number of cores
    /// available to the process. Panics if `n` is zero.
    #[track_caller]
    pub fn worker_threads(mut self, n: usize) -> Builder {
        assert!(n > 0, "corio: worker_threads must be at least 1");
        self.worker_threads = Some(n);
        self
    }

    /// Name of the worker threads (default `corio-worker`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// Stack size of the worker threads, in bytes.
    pub fn thread_stack_size(mut self, bytes: usize) -> Builder {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// Upper bound on the blocking pool's threads (default 512). Work beyond it waits in a
    /// queue. Panics if `n` is zero.
    #[track_caller]
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        assert!(n > 0, "corio: max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread lingers before exiting (default 10 s).
    pub fn thread_keep_alive(mut self, keep_alive: std::time::Duration) -> Builder {
        self.thread_keep_alive = keep_alive;
        self
    }

    /// How many tasks run between two checks of the timers (default 61).
    #[track_caller]
    pub fn event_interval(mut self, ticks: u32) -> Builder {
        assert!(ticks > 0, "corio: event_interval must be at least 1");
        self.event_interval = ticks;
        self
    }

    /// How many tasks run between two looks at the global (injection) queue (default 31).
    #[track_caller]
    pub fn global_queue_interval(mut self, ticks: u32) -> Builder {
        assert!(ticks > 0, "corio: global_queue_interval must be at least 1");
        self.global_queue_interval = ticks;
        self
    }

    /// Builds the runtime (starting worker threads for the multi-thread flavor).
    pub fn build(&self) -> io::Result<Runtime> {
        Runtime::from_builder(self)
    }

    pub(crate) fn resolved_worker_threads(&self) -> usize {
        self.worker_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("flavor", &self.flavor)
            .field("worker_threads", &self.worker_threads)
            .field("thread_name", &self.thread_name)
            .finish_non_exhaustive()
    }
}
