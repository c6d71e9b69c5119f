//! `Child`: a spawned process, its pipes, and its exit awaited on the reactor.

use std::future::poll_fn;
use std::io;
use std::process::{ExitStatus, Output};
use std::task::Poll;

use futures_util::io::AsyncReadExt;

use super::orphans;
use super::pipes::{ChildStderr, ChildStdin, ChildStdout};
use super::wait::ExitWatch;
use crate::runtime::Handle;

/// A child process started by [`Command::spawn`](super::Command::spawn).
///
/// Await its exit with [`wait`](Child::wait) (which does not block the loop), talk to it
/// through the [`stdin`](Child::stdin), [`stdout`](Child::stdout) and
/// [`stderr`](Child::stderr) pipes when they were requested with [`Stdio::piped`], and stop
/// it with [`kill`](Child::kill).
///
/// Dropping a `Child` does not stop the process (unless the command asked for
/// [`kill_on_drop`](super::Command::kill_on_drop)); it keeps running on its own and corio reaps
/// it once it exits, so it does not linger as a zombie (see the [module docs](super)).
///
/// [`Stdio::piped`]: std::process::Stdio::piped
///
/// ```
/// use corio::process::Command;
///
/// corio::run(async {
///     let mut child = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
///     assert!(child.id().is_some());
///     let status = child.wait().await.unwrap();
///     assert_eq!(status.code(), Some(7));
///     assert_eq!(child.id(), None); // reaped: the pid may belong to someone else now
/// });
/// ```
pub struct Child {
    /// The writing end of the child's stdin, if it was [piped](std::process::Stdio::piped).
    /// `take()` it to write while keeping the `Child`; drop (or close) it to send end-of-file.
    pub stdin: Option<ChildStdin>,
    /// The reading end of the child's stdout, if it was [piped](std::process::Stdio::piped).
    pub stdout: Option<ChildStdout>,
    /// The reading end of the child's stderr, if it was [piped](std::process::Stdio::piped).
    pub stderr: Option<ChildStderr>,
    process: Process,
}

/// The process itself, apart from its pipes.
struct Process {
    /// `None` only while being dropped (handed to the orphan reaper).
    live: Option<Live>,
    /// Set once the child has been reaped: its pid is then no longer ours.
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    runtime: Handle,
}

/// The std child and the watch on its exit.
struct Live {
    std: std::process::Child,
    watch: ExitWatch,
}

impl Child {
    /// Wraps a freshly spawned std child: registers its pipes and starts watching its exit.
    /// Must run inside `runtime`. If a pipe cannot be registered the child is killed (and
    /// reaped in the background) and the error returned.
    pub(super) fn new(
        mut std: std::process::Child,
        runtime: Handle,
        kill_on_drop: bool,
        prefer_pidfd: bool,
    ) -> io::Result<Child> {
        let (stdin, stdout, stderr) = (std.stdin.take(), std.stdout.take(), std.stderr.take());
        let watch = ExitWatch::new(std.id(), &runtime, prefer_pidfd);
        let mut child = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            process: Process {
                live: Some(Live { std, watch }),
                status: None,
                kill_on_drop,
                runtime,
            },
        };
        if let Err(err) = child.attach(stdin, stdout, stderr) {
            // Never leave a process running that the caller cannot reach.
            let _ = child.start_kill();
            return Err(err);
        }
        Ok(child)
    }

    fn attach(
        &mut self,
        stdin: Option<std::process::ChildStdin>,
        stdout: Option<std::process::ChildStdout>,
        stderr: Option<std::process::ChildStderr>,
    ) -> io::Result<()> {
        self.stdin = stdin.map(ChildStdin::from_std).transpose()?;
        self.stdout = stdout.map(ChildStdout::from_std).transpose()?;
        self.stderr = stderr.map(ChildStderr::from_std).transpose()?;
        Ok(())
    }

    /// The child's process id, or `None` once it has been reaped (by [`wait`](Child::wait)
    /// or a successful [`try_wait`](Child::try_wait)): from then on the number may name an
    /// unrelated process.
    pub fn id(&self) -> Option<u32> {
        match self.process.status {
            Some(_) => None,
            None => self.process.live.as_ref().map(|live| live.std.id()),
        }
    }

    /// Waits for the child to exit and reaps it, without blocking the loop.
    ///
    /// Closes [`stdin`](Child::stdin) first (as tokio does), so a child that reads its input
    /// to the end can finish. Does not read `stdout`/`stderr`: a child that fills a pipe
    /// nobody reads never exits, so read them concurrently, or use
    /// [`wait_with_output`](Child::wait_with_output). Once the child has exited, every call
    /// returns the same status. Cancel-safe.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let status = poll_fn(|cx| {
            if let Some(status) = self.process.status {
                return Poll::Ready(Ok(status));
            }
            let live = self.process.live();
            live.watch.poll_exit(cx, &mut live.std)
        })
        .await?;
        self.reaped(status);
        Ok(status)
    }

    /// The exit status if the child has exited (reaping it), `None` if it is still running.
    /// Never blocks.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.process.status {
            return Ok(Some(status));
        }
        let status = self.process.live().std.try_wait()?;
        if let Some(status) = status {
            self.reaped(status);
        }
        Ok(status)
    }

    /// Sends `SIGKILL` without waiting for the child to die; [`wait`](Child::wait) then
    /// reports the signal. Does nothing if the child has already been reaped.
    pub fn start_kill(&mut self) -> io::Result<()> {
        if self.process.status.is_some() {
            return Ok(());
        }
        // std's `kill` is a no-op once std has reaped the child; before that the pid is still
        // ours (an unreaped child's pid is never reused).
        self.process.live().std.kill()
    }

    /// Kills the child (`SIGKILL`) and waits for it to exit.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use corio::process::Command;
    ///
    /// corio::run(async {
    ///     let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    ///     child.kill().await.unwrap();
    ///     assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    /// });
    /// ```
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Closes stdin, then collects stdout and stderr (if piped) while waiting for the exit.
    ///
    /// The pipes are read concurrently with the wait, so a child that writes more than a
    /// pipe holds cannot deadlock.
    ///
    /// ```
    /// use std::process::Stdio;
    /// use corio::process::Command;
    ///
    /// corio::run(async {
    ///     let child = Command::new("sh")
    ///         .args(["-c", "echo out; echo err >&2"])
    ///         .stdout(Stdio::piped())
    ///         .stderr(Stdio::piped())
    ///         .spawn()
    ///         .unwrap();
    ///     let output = child.wait_with_output().await.unwrap();
    ///     assert_eq!(output.stdout, b"out\n");
    ///     assert_eq!(output.stderr, b"err\n");
    /// });
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = (self.stdout.take(), self.stderr.take());
        let (status, stdout, stderr) =
            futures_util::future::try_join3(self.wait(), read_all(stdout), read_all(stderr))
                .await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// True when the exit is watched through a pidfd (for tests).
    #[cfg(test)]
    pub(crate) fn uses_pidfd(&self) -> bool {
        self.process
            .live
            .as_ref()
            .is_some_and(|live| live.watch.is_pidfd())
    }

    fn reaped(&mut self, status: ExitStatus) {
        self.process.status = Some(status);
        self.process.live().watch.reaped();
        orphans::reap();
    }
}

async fn read_all<R: futures_io::AsyncRead + Unpin>(pipe: Option<R>) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_end(&mut bytes).await?;
    }
    Ok(bytes)
}

impl Process {
    fn live(&mut self) -> &mut Live {
        self.live.as_mut().expect("child used while being dropped")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let Some(Live { mut std, watch }) = self.live.take() else {
            return;
        };
        if self.status.is_some() {
            return;
        }
        if self.kill_on_drop {
            let _ = std.kill();
        }
        orphans::adopt(std, watch, &self.runtime);
    }
}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.process.live.as_ref().map(|live| live.std.id()))
            .field("status", &self.process.status)
            .field("watch", &self.process.live.as_ref().map(|live| &live.watch))
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}
