//! Waiting for a child to exit without blocking the loop: a pidfd on the reactor, or a
//! blocking-pool thread when the kernel offers no pidfd.
//!
//! # The pidfd path (Linux 5.3+)
//!
//! `pidfd_open(pid)` gives a file descriptor that refers to the process itself and turns
//! readable once it exits. It is registered with the reactor like a socket, so an exit wakes
//! the waiting task like incoming data would. The task then reaps the child with
//! [`std::process::Child::try_wait`] (`waitpid(pid, WNOHANG)`), which also caches the status.
//!
//! Why this is race-free: a child's pid cannot be reused until its parent reaps it, and only
//! this module (through the std `Child`) reaps it. `pidfd_open` runs right after the spawn,
//! while the child is at worst a zombie, so the pidfd names the right process; from then on
//! it keeps naming that process whatever happens to the number.
//!
//! # The fallback
//!
//! `pidfd_open` fails with `ENOSYS` on kernels older than 5.3 and with `EPERM` (sometimes
//! `ENOSYS`) under seccomp filters that do not know it. Such failures are remembered, so later
//! spawns skip the syscall. Any other failure (say `EMFILE`) falls back for that child only:
//! the child is already running, so failing its spawn is not an option.
//!
//! The fallback waits on the blocking pool: a pool thread checks for the exit with
//! `waitid(P_PID, pid, WEXITED | WNOHANG | WNOWAIT)`, pausing between checks (1 ms, doubling
//! up to 50 ms). `WNOWAIT` observes the exit *without* reaping, so the pid stays reserved
//! (a zombie) until the task reaps it with `try_wait`, on the same path as with a pidfd. The
//! thread polls, rather than blocking in a plain `waitid`, so that it can be told to stop: the
//! runtime's shutdown waits for running pool closures, and a thread blocked on a long-lived
//! child would hold that shutdown hostage. Dropping the [`ExitWatch`] stops the thread at its
//! next check.
//!
//! [`ExitWatch::poll_exit`] is the one entry point; which path runs is the watch's business.

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{FromRawFd, OwnedFd};
use std::pin::Pin;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use crate::io::source::Source;
use crate::runtime::Handle;
use crate::task::JoinHandle;

/// Set once `pidfd_open` failed in a way that will not change (no syscall, or forbidden).
static PIDFD_UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// First pause of a fallback waiter between two checks.
const FALLBACK_PAUSE_MIN: Duration = Duration::from_millis(1);
/// Longest pause of a fallback waiter between two checks.
const FALLBACK_PAUSE_MAX: Duration = Duration::from_millis(50);

/// How one child's exit is awaited.
pub(crate) enum ExitWatch {
    /// A pidfd registered with the reactor: readable once the child has exited.
    Pidfd(Source<OwnedFd>),
    /// The fallback: a blocking-pool thread watches the pid.
    Blocking(BlockingWatch),
}

/// The fallback's state: the pid, and the pool thread watching it (started on first poll).
pub(crate) struct BlockingWatch {
    pid: u32,
    runtime: Handle,
    waiter: Option<Waiter>,
}

/// One pool thread watching a pid, and the flag that tells it to stop.
struct Waiter {
    join: JoinHandle<io::Result<()>>,
    stop: Arc<AtomicBool>,
}

impl ExitWatch {
    /// Watches the child `pid` (spawned, not yet reaped), with a pidfd when `prefer_pidfd`
    /// and the kernel allow it. Call it inside `runtime`, the current runtime: the pidfd is
    /// registered with its reactor, and the fallback runs on its blocking pool.
    pub(crate) fn new(pid: u32, runtime: &Handle, prefer_pidfd: bool) -> ExitWatch {
        if prefer_pidfd && !PIDFD_UNSUPPORTED.load(Ordering::Relaxed) {
            match pidfd_open(pid).and_then(Source::new) {
                Ok(source) => return ExitWatch::Pidfd(source),
                Err(err) => {
                    if is_unsupported(&err) {
                        PIDFD_UNSUPPORTED.store(true, Ordering::Relaxed);
                    }
                    tracing::debug!(pid, %err, "pidfd unavailable; waiting on the blocking pool");
                }
            }
        }
        ExitWatch::Blocking(BlockingWatch {
            pid,
            runtime: runtime.clone(),
            waiter: None,
        })
    }

    /// True when this watch uses a pidfd (for tests).
    #[cfg(test)]
    pub(crate) fn is_pidfd(&self) -> bool {
        matches!(self, ExitWatch::Pidfd(_))
    }

    /// The child was reaped (perhaps by a plain `try_wait`): stops a fallback waiter thread.
    pub(crate) fn reaped(&mut self) {
        if let ExitWatch::Blocking(watch) = self {
            watch.stop_waiter();
        }
    }

    /// Ready with the exit status once `child` (the process this watch was made for) has
    /// exited and been reaped. Cancel-safe: dropping the future loses nothing.
    pub(crate) fn poll_exit(
        &mut self,
        cx: &mut Context<'_>,
        child: &mut std::process::Child,
    ) -> Poll<io::Result<ExitStatus>> {
        match self {
            ExitWatch::Pidfd(pidfd) => pidfd.poll_read_io(cx, |_| {
                // Readable means exited; `WouldBlock` (not yet) makes the source wait for
                // the next edge.
                child
                    .try_wait()?
                    .ok_or_else(|| io::ErrorKind::WouldBlock.into())
            }),
            ExitWatch::Blocking(watch) => watch.poll_exit(cx, child),
        }
    }
}

impl BlockingWatch {
    fn poll_exit(
        &mut self,
        cx: &mut Context<'_>,
        child: &mut std::process::Child,
    ) -> Poll<io::Result<ExitStatus>> {
        if let Some(status) = child.try_wait()? {
            self.stop_waiter();
            return Poll::Ready(Ok(status));
        }
        let waiter = match &mut self.waiter {
            Some(waiter) => waiter,
            None => self.waiter.insert(Waiter::start(self.pid, &self.runtime)?),
        };
        let watched = ready!(Pin::new(&mut waiter.join).poll(cx));
        self.waiter = None;
        // The thread saw the exit (or failed): reap, or report why not.
        Poll::Ready(match (child.try_wait()?, watched) {
            (Some(status), _) => Ok(status),
            (None, Ok(Ok(()))) => Err(io::Error::other(
                "corio: the child exited, but waitpid found nothing to reap",
            )),
            (None, Ok(Err(err))) => Err(err),
            (None, Err(join)) => Err(join.into()),
        })
    }

    fn stop_waiter(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            waiter.stop.store(true, Ordering::Relaxed);
            // Cancels it if it has not started yet.
            waiter.join.abort();
        }
    }
}

impl Drop for BlockingWatch {
    fn drop(&mut self) {
        self.stop_waiter();
    }
}

impl Waiter {
    fn start(pid: u32, runtime: &Handle) -> io::Result<Waiter> {
        let stop = Arc::new(AtomicBool::new(false));
        let join = runtime
            .try_spawn_blocking({
                let stop = stop.clone();
                move || watch_pid(pid, &stop)
            })
            .map_err(|err| io::Error::other(format!("corio: cannot wait for the child: {err}")))?;
        Ok(Waiter { join, stop })
    }
}

/// Runs on a pool thread: returns once `pid` has exited (still unreaped) or `stop` is set.
fn watch_pid(pid: u32, stop: &AtomicBool) -> io::Result<()> {
    let mut pause = FALLBACK_PAUSE_MIN;
    while !stop.load(Ordering::Relaxed) {
        if has_exited(pid)? {
            break;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(FALLBACK_PAUSE_MAX);
    }
    Ok(())
}

/// True if the child `pid` has exited; never reaps it (`WNOWAIT`) and never blocks.
fn has_exited(pid: u32) -> io::Result<bool> {
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
    loop {
        // SAFETY: `info` is a writable `siginfo_t` that outlives the call; the kernel only
        // writes into it. `WNOWAIT` leaves the child unreaped.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                info.as_mut_ptr(),
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    // SAFETY: `info` started zeroed and `waitid` succeeded, so it is initialized: filled in
    // for an exited child, or left as is (with `si_pid` 0) when the child is still running.
    let pid_field = unsafe { info.assume_init_ref().si_pid() };
    Ok(pid_field != 0)
}

/// `pidfd_open(pid, 0)`: a close-on-exec fd that turns readable when `pid` exits.
///
/// No `PIDFD_NONBLOCK`: that flag only changes `waitid(P_PIDFD)`, which is not used here, and
/// kernels before 5.10 reject it. The fd is never read, only polled, so it is non-blocking in
/// every way the reactor cares about.
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: `pidfd_open` takes a pid and a flags word and returns a new fd or -1; it touches
    // no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall succeeded, so `fd` is a new, open descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Errors meaning "this kernel (or sandbox) offers no pidfd": try no more.
pub(crate) fn is_unsupported(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EPERM))
}

impl std::fmt::Debug for ExitWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitWatch::Pidfd(pidfd) => f.debug_tuple("Pidfd").field(pidfd).finish(),
            ExitWatch::Blocking(watch) => f
                .debug_struct("Blocking")
                .field("pid", &watch.pid)
                .field("waiting", &watch.waiter.is_some())
                .finish(),
        }
    }
}
