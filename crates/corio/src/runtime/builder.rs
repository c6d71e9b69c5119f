//! `Builder`: choose the scheduler and tune it.

use std::fmt;
use std::io;
use std::time::Duration;

use super::Runtime;
use super::monitor::{DEFAULT_THRESHOLD, ENV_THRESHOLD};

/// Which scheduler a runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flavor {
    /// One event loop on the thread that calls `block_on`, as asyncio has.
    CurrentThread,
    /// A pool of worker threads with work stealing.
    MultiThread,
}

/// Which I/O driver a runtime uses; see [`Builder::io_driver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IoDriverKind {
    /// io_uring where the kernel allows it (and has what corio needs), epoll otherwise.
    Auto,
    /// The edge-triggered epoll reactor: readiness, then a non-blocking syscall.
    Epoll,
    /// The io_uring completion driver; building the runtime fails if the kernel refuses it.
    Uring,
}

/// The environment variable read when the builder does not choose a driver.
pub(crate) const ENV_DRIVER: &str = "CORIO_DRIVER";

impl IoDriverKind {
    fn from_env_value(value: &str) -> io::Result<IoDriverKind> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(IoDriverKind::Auto),
            "epoll" => Ok(IoDriverKind::Epoll),
            "uring" | "io_uring" | "io-uring" => Ok(IoDriverKind::Uring),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("corio: {ENV_DRIVER}={other:?}: expected auto, epoll or uring"),
            )),
        }
    }
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
    slow_poll_detection: Option<bool>,
    slow_poll_threshold: Option<Duration>,
    max_extra_workers: Option<usize>,
    io_driver: Option<IoDriverKind>,
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
            slow_poll_detection: None,
            slow_poll_threshold: None,
            max_extra_workers: None,
            io_driver: None,
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

    /// Switches slow-poll detection on or off (default: on, unless `CORIO_SLOW_POLL_MS` is
    /// `0` or `off`).
    ///
    /// With detection on, each worker stamps the start and end of every poll (a few plain
    /// stores) and a monitor thread looks at the stamps every few milliseconds. A poll that
    /// runs past the [threshold](Builder::slow_poll_threshold) — a blocking call inside
    /// async code — gets a `tracing` warning (target `corio::slow_poll`) naming the task: id,
    /// name, [label](crate::task::set_label) and spawn location; a second one tells how long
    /// it blocked once it returns. On a multi-thread runtime the stuck worker's queued tasks
    /// are also handed to a replacement worker (see
    /// [`max_extra_workers`](Builder::max_extra_workers)).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = corio::runtime::Builder::new_multi_thread()
    ///     .slow_poll_threshold(Duration::from_millis(50))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// let quiet = corio::runtime::Builder::new_current_thread()
    ///     .slow_poll_detection(false)
    ///     .build()
    ///     .unwrap();
    /// # drop(quiet);
    /// ```
    pub fn slow_poll_detection(mut self, enabled: bool) -> Builder {
        self.slow_poll_detection = Some(enabled);
        self
    }

    /// How long a poll may run before it is reported as blocking (default 100 ms, or
    /// `CORIO_SLOW_POLL_MS` milliseconds when that is set). Panics if zero.
    #[track_caller]
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        assert!(
            !threshold.is_zero(),
            "corio: slow_poll_threshold must be positive (use slow_poll_detection(false))"
        );
        self.slow_poll_threshold = Some(threshold);
        self
    }

    /// At most how many replacement workers a multi-thread runtime starts for workers stuck
    /// in a blocking poll (default: as many as it has workers). `0` turns hand-off off: a
    /// stuck worker is still reported, but the tasks queued on it wait for it.
    ///
    /// A replacement worker takes the stuck worker's queued tasks and runs like any other;
    /// when the stuck poll returns it hands its tasks back and exits.
    pub fn max_extra_workers(mut self, n: usize) -> Builder {
        self.max_extra_workers = Some(n);
        self
    }

    /// Chooses the I/O driver. Without this call, `CORIO_DRIVER` (`auto`, `epoll` or
    /// `uring`) decides. Without either, it is `Auto`: io_uring where the kernel allows it
    /// (5.11 or later, not disabled by `kernel.io_uring_disabled` or a seccomp filter),
    /// epoll otherwise. A multi-thread runtime on io_uring has one ring per worker (see
    /// `docs/design/io_uring.md`).
    ///
    /// The public types (sockets, listeners) are the same on both; on io_uring, TCP runs on
    /// the ring and everything else on an epoll reactor the ring watches. `Auto` uses
    /// io_uring when the kernel allows it and says which it chose in a `tracing` debug event
    /// (target `corio::driver`); [`Handle::io_driver`](crate::runtime::Handle::io_driver)
    /// tells too.
    ///
    /// ```
    /// use corio::runtime::{Builder, IoDriverKind};
    ///
    /// let rt = Builder::new_current_thread()
    ///     .io_driver(IoDriverKind::Auto)
    ///     .build()
    ///     .unwrap();
    /// assert_ne!(rt.handle().io_driver(), IoDriverKind::Auto);
    /// ```
    pub fn io_driver(mut self, kind: IoDriverKind) -> Builder {
        self.io_driver = Some(kind);
        self
    }

    /// Builds the runtime (starting worker threads for the multi-thread flavor).
    pub fn build(&self) -> io::Result<Runtime> {
        Runtime::from_builder(self)
    }

    /// The slow-poll threshold, or `None` with detection off.
    pub(crate) fn resolved_slow_poll(&self) -> Option<Duration> {
        if self.slow_poll_detection == Some(false) {
            return None;
        }
        if let Some(threshold) = self.slow_poll_threshold {
            return Some(threshold);
        }
        let from_env = std::env::var(ENV_THRESHOLD)
            .ok()
            .and_then(|v| match v.trim() {
                "off" | "false" | "0" => Some(None),
                ms => ms
                    .parse::<u64>()
                    .ok()
                    .map(|ms| Some(Duration::from_millis(ms))),
            });
        match from_env {
            // Off through the environment, unless the builder switched it on explicitly.
            Some(None) if self.slow_poll_detection != Some(true) => None,
            Some(Some(threshold)) => Some(threshold),
            _ => Some(DEFAULT_THRESHOLD),
        }
    }

    /// The builder's choice, else `CORIO_DRIVER`, else `Auto`.
    pub(crate) fn resolved_io_driver(&self) -> io::Result<IoDriverKind> {
        if let Some(kind) = self.io_driver {
            return Ok(kind);
        }
        match std::env::var(ENV_DRIVER) {
            Ok(value) => IoDriverKind::from_env_value(&value),
            Err(_) => Ok(IoDriverKind::Auto),
        }
    }

    pub(crate) fn resolved_extra_workers(&self) -> usize {
        self.max_extra_workers
            .unwrap_or_else(|| self.resolved_worker_threads())
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
            .field("slow_poll_threshold", &self.resolved_slow_poll())
            .field("io_driver", &self.io_driver)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn driver_names_from_the_environment() {
        for (value, kind) in [
            ("auto", IoDriverKind::Auto),
            ("", IoDriverKind::Auto),
            ("epoll", IoDriverKind::Epoll),
            (" EPOLL ", IoDriverKind::Epoll),
            ("uring", IoDriverKind::Uring),
            ("io_uring", IoDriverKind::Uring),
        ] {
            assert_eq!(
                IoDriverKind::from_env_value(value).unwrap(),
                kind,
                "{value:?}"
            );
        }
        let err = IoDriverKind::from_env_value("kqueue").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("CORIO_DRIVER"));
    }

    #[test]
    fn the_builder_choice_beats_the_environment() {
        // Whatever CORIO_DRIVER says (the CI runs this suite with it set), an explicit
        // choice wins.
        let builder = Builder::new_current_thread().io_driver(IoDriverKind::Epoll);
        assert_eq!(builder.resolved_io_driver().unwrap(), IoDriverKind::Epoll);
        if std::env::var_os(ENV_DRIVER).is_none() {
            // The default: the ring where the kernel allows it, on both schedulers.
            let ct = Builder::new_current_thread().resolved_io_driver().unwrap();
            assert_eq!(ct, IoDriverKind::Auto);
            let mt = Builder::new_multi_thread().resolved_io_driver().unwrap();
            assert_eq!(mt, IoDriverKind::Auto);
        }
    }
}
