//! The blocking pool: threads for work that would stall an event loop.
//!
//! Threads start on demand (a task is queued and no thread is idle) up to `max_threads`;
//! beyond that, tasks wait in the queue. A thread with nothing to do for `keep_alive` exits.
//! At shutdown, queued tasks are cancelled (their join handles report `Cancelled`) and running
//! ones are waited for, up to the shutdown timeout.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::task::BlockingSchedule;
use crate::runtime::context;
use crate::scheduler;
use crate::task::Notified;

pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

pub(crate) struct Config {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
}

struct Inner {
    state: Mutex<State>,
    /// Idle threads wait here for work.
    work: Condvar,
    /// The shutdown waits here for the last thread to exit.
    exited: Condvar,
    config: Config,
    /// The runtime, entered on every pool thread so `spawn` and timers work in closures.
    /// Cleared at shutdown to break the handle -> pool -> handle cycle.
    runtime: Mutex<Option<scheduler::Handle>>,
}

struct State {
    queue: VecDeque<Notified<BlockingSchedule>>,
    num_threads: usize,
    num_idle: usize,
    /// Wake-ups sent to idle threads and not yet taken: each one is owed a task.
    num_notify: usize,
    shutdown: bool,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// The pool refused the task (handed back): the runtime is shutting down, or no thread could
/// be started.
pub(crate) enum SpawnFailed {
    Shutdown(Notified<BlockingSchedule>),
    NoThread(Notified<BlockingSchedule>, std::io::Error),
}

impl BlockingPool {
    pub(crate) fn new(config: Config) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    num_threads: 0,
                    num_idle: 0,
                    num_notify: 0,
                    shutdown: false,
                    threads: Vec::new(),
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
                config,
                runtime: Mutex::new(None),
            }),
        }
    }

    pub(crate) fn set_runtime(&self, handle: scheduler::Handle) {
        *self.inner.runtime.lock().unwrap() = Some(handle);
    }

    /// Number of live pool threads (busy or idle).
    pub(crate) fn num_threads(&self) -> usize {
        self.inner.state.lock().unwrap().num_threads
    }

    /// Queues `task`, starting a thread for it if none is idle and the cap allows.
    pub(crate) fn spawn(&self, task: Notified<BlockingSchedule>) -> Result<(), SpawnFailed> {
        let mut state = self.inner.state.lock().unwrap();
        if state.shutdown {
            return Err(SpawnFailed::Shutdown(task));
        }
        state.queue.push_back(task);
        if state.num_idle > 0 {
            state.num_idle -= 1;
            state.num_notify += 1;
            self.inner.work.notify_one();
            return Ok(());
        }
        if state.num_threads >= self.inner.config.max_threads {
            return Ok(()); // at the cap: a busy thread takes it when it finishes
        }
        let mut builder = std::thread::Builder::new().name(self.inner.config.thread_name.clone());
        if let Some(size) = self.inner.config.stack_size {
            builder = builder.stack_size(size);
        }
        let inner = self.inner.clone();
        match builder.spawn(move || inner.run()) {
            Ok(thread) => {
                state.num_threads += 1;
                state.threads.push(thread);
                Ok(())
            }
            Err(err) if state.num_threads == 0 => {
                let task = state.queue.pop_back().expect("just pushed");
                Err(SpawnFailed::NoThread(task, err))
            }
            // Some thread exists and will get to the task eventually.
            Err(_) => Ok(()),
        }
    }

    /// Cancels queued tasks and waits up to `timeout` (forever if `None`) for running ones.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        let mut state = self.inner.state.lock().unwrap();
        if state.shutdown {
            return;
        }
        state.shutdown = true;
        let queued = std::mem::take(&mut state.queue);
        let threads = std::mem::take(&mut state.threads);
        self.inner.work.notify_all();
        drop(state);
        for task in queued {
            // Never started: cancel it so its join handle reports `Cancelled`.
            task.into_raw().shutdown();
        }

        let deadline = timeout.map(|t| Instant::now() + t);
        let me = std::thread::current().id();
        let mut state = self.inner.state.lock().unwrap();
        // A closure may drop the runtime from a pool thread: that thread cannot wait for itself.
        let waiting_for =
            |s: &State| s.num_threads - usize::from(threads.iter().any(|t| t.thread().id() == me));
        while waiting_for(&state) > 0 {
            match deadline {
                None => state = self.inner.exited.wait(state).unwrap(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break; // abandon the stragglers: they exit when their closure returns
                    }
                    state = self
                        .inner
                        .exited
                        .wait_timeout(state, deadline - now)
                        .unwrap()
                        .0;
                }
            }
        }
        let all_exited = waiting_for(&state) == 0;
        drop(state);
        if all_exited {
            for thread in threads {
                if thread.thread().id() != me {
                    let _ = thread.join();
                }
            }
        }
        self.inner.runtime.lock().unwrap().take();
    }
}

impl Inner {
    fn run(self: Arc<Inner>) {
        let runtime = self.runtime.lock().unwrap().clone();
        let _current = runtime.as_ref().map(context::set_current);
        let mut state = self.state.lock().unwrap();
        'work: loop {
            while let Some(task) = state.queue.pop_front() {
                drop(state);
                task.run();
                state = self.state.lock().unwrap();
            }
            if state.shutdown {
                break;
            }
            state.num_idle += 1;
            loop {
                let (next, waited) = self
                    .work
                    .wait_timeout(state, self.config.keep_alive)
                    .unwrap();
                state = next;
                if state.num_notify > 0 {
                    // The spawner already took us off the idle count.
                    state.num_notify -= 1;
                    continue 'work;
                }
                if state.shutdown || waited.timed_out() {
                    state.num_idle -= 1;
                    break 'work;
                }
                // Spurious wake-up: keep waiting.
            }
        }
        state.num_threads -= 1;
        if !state.shutdown {
            // Exiting on keep-alive: nobody will join this thread, so let go of its handle.
            let me = std::thread::current().id();
            state.threads.retain(|t| t.thread().id() != me);
        }
        self.exited.notify_all();
    }
}

impl std::fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingPool")
            .field("threads", &self.num_threads())
            .finish()
    }
}

#[cfg(all(test, not(loom), not(miri)))]
mod tests {
    use super::*;

    fn pool(max_threads: usize, keep_alive: Duration) -> BlockingPool {
        BlockingPool::new(Config {
            max_threads,
            keep_alive,
            thread_name: "pool-test".to_owned(),
            stack_size: None,
        })
    }

    fn spawn(pool: &BlockingPool, f: impl FnOnce() + Send + 'static) {
        let (join, task) = crate::task::unowned(
            super::super::task::BlockingTask::new(f),
            BlockingSchedule,
            None,
            std::panic::Location::caller(),
        );
        drop(join);
        assert!(pool.spawn(task).is_ok());
    }

    fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !cond() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    #[test]
    fn idle_threads_exit_after_keep_alive() {
        let pool = pool(4, Duration::from_millis(30));
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..3 {
            let tx = tx.clone();
            spawn(&pool, move || {
                std::thread::sleep(Duration::from_millis(20));
                tx.send(()).unwrap();
            });
        }
        for _ in 0..3 {
            rx.recv().unwrap();
        }
        assert!(pool.num_threads() >= 1);
        assert!(
            wait_until(|| pool.num_threads() == 0),
            "idle threads did not exit"
        );
        pool.shutdown(None);
    }

    #[test]
    fn an_idle_thread_is_reused_rather_than_a_new_one_started() {
        let pool = pool(8, Duration::from_secs(10));
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..5 {
            let tx = tx.clone();
            spawn(&pool, move || tx.send(std::thread::current().id()).unwrap());
            rx.recv().unwrap(); // one at a time: the same idle thread can take each
            assert!(wait_until(|| pool.inner.state.lock().unwrap().num_idle == 1));
        }
        assert_eq!(pool.num_threads(), 1);
        pool.shutdown(None);
        assert_eq!(pool.num_threads(), 0);
    }
}
