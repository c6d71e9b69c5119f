//! Child processes whose pipes and exit are awaited on the reactor, like `asyncio`'s
//! subprocesses or `tokio::process`.
//!
//! [`Command`] is [`std::process::Command`] with async endings: [`spawn`](Command::spawn)
//! gives a [`Child`] whose [`wait`](Child::wait) parks the task, not the thread, and whose
//! piped stdio ([`ChildStdin`], [`ChildStdout`], [`ChildStderr`]) implements the
//! `futures-io` traits, so the extension traits in [`crate::io_util`] work on them.
//!
//! ```
//! use corio::process::Command;
//!
//! corio::run(async {
//!     let output = Command::new("echo").arg("hello").output().await.unwrap();
//!     assert!(output.status.success());
//!     assert_eq!(output.stdout, b"hello\n");
//! });
//! ```
//!
//! # How the exit is awaited
//!
//! On Linux 5.3 and later each child gets a *pidfd* (`pidfd_open`), a file descriptor that
//! turns readable when the process exits. It is registered with the reactor like a socket;
//! once it is readable the child is reaped with `waitpid(pid, WNOHANG)`. Nothing global is
//! involved: no `SIGCHLD` handler, no helper thread, and other code's children are never
//! touched. Where `pidfd_open` is missing or forbidden (old kernels, seccomp sandboxes), the
//! wait falls back to a blocking-pool thread per waiting child. See `wait.rs` for the details.
//!
//! # Dropped children
//!
//! Dropping a [`Child`] does not stop the process unless [`Command::kill_on_drop`] was set.
//! Either way corio reaps it once it exits, so it does not stay a zombie: with a pidfd a
//! small task on the runtime waits for the exit; otherwise the child joins a list that is
//! swept on every later spawn and wait. (So in the fallback, a dropped child's zombie lasts
//! until the program next spawns or waits, or exits.)
//!
//! # Stdio defaults
//!
//! As in std: [`spawn`](Command::spawn) and [`status`](Command::status) inherit all three
//! streams; [`output`](Command::output) pipes stdout and stderr and gives the child an empty
//! stdin, unless they were set with [`Command::stdin`], [`Command::stdout`] or
//! [`Command::stderr`].

mod child;
mod orphans;
mod pipes;
#[cfg(all(test, not(loom)))]
mod tests;
mod wait;

use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

pub use child::Child;
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};

use crate::runtime::Handle;

/// A process builder: [`std::process::Command`] whose spawned [`Child`] is awaited on the
/// reactor.
///
/// The builder methods mirror std's and return `&mut Command` so they chain. Anything std
/// offers beyond them (`uid`, `process_group`, `arg0`, ... from
/// [`CommandExt`](std::os::unix::process::CommandExt)) is reachable through
/// [`as_std_mut`](Command::as_std_mut).
///
/// ```
/// use corio::process::Command;
///
/// corio::run(async {
///     let status = Command::new("sh")
///         .args(["-c", "test \"$GREETING\" = hi"])
///         .env("GREETING", "hi")
///         .status()
///         .await
///         .unwrap();
///     assert!(status.success());
/// });
/// ```
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Which of stdin, stdout, stderr were set through this type (std cannot tell us).
    stdio_set: [bool; 3],
    /// False only in tests that force the blocking-pool wait.
    prefer_pidfd: bool,
}

impl Command {
    /// A command that runs `program`, found on `PATH` unless it contains a `/`; no
    /// arguments, the parent's environment and working directory.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Appends one argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what [`env`](Command::env) adds).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's stdin: [`Stdio::piped`] for a [`ChildStdin`] in [`Child::stdin`],
    /// [`Stdio::null`], [`Stdio::inherit`], a file, or another child's pipe
    /// (`Stdio::try_from(child_stdout)`).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdio_set[0] = true;
        self
    }

    /// The child's stdout: [`Stdio::piped`] for a [`ChildStdout`] in [`Child::stdout`].
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdio_set[1] = true;
        self
    }

    /// The child's stderr: [`Stdio::piped`] for a [`ChildStderr`] in [`Child::stderr`].
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stdio_set[2] = true;
        self
    }

    /// Whether dropping the [`Child`] (or a [`status`](Command::status) /
    /// [`output`](Command::output) future) before the process exits kills it with `SIGKILL`.
    /// Off by default, as in std: a dropped child keeps running (and is still reaped).
    ///
    /// ```
    /// use corio::process::Command;
    ///
    /// corio::run(async {
    ///     let child = Command::new("sleep").arg("30").kill_on_drop(true).spawn().unwrap();
    ///     drop(child); // the sleep is killed now, and reaped in the background
    /// });
    /// ```
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The std command inside, to read its settings (`get_program`, `get_args`, ...).
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std command inside, for settings this type does not mirror (the `CommandExt`
    /// ones). Set stdio through [`Command::stdin`] and friends rather than here: std cannot
    /// report it back, so [`output`](Command::output) would not see it was set and would
    /// apply its defaults over it (leaving it inherited afterwards).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the process. Must be called inside a runtime (its reactor watches the pipes
    /// and the exit); fails with an error saying so otherwise. A program that does not exist
    /// gives `NotFound`.
    ///
    /// ```
    /// use std::process::Stdio;
    ///
    /// use corio::io_util::AsyncReadExt;
    /// use corio::process::Command;
    ///
    /// corio::run(async {
    ///     let mut child = Command::new("echo")
    ///         .arg("piped")
    ///         .stdout(Stdio::piped())
    ///         .spawn()
    ///         .unwrap();
    ///     let mut text = String::new();
    ///     child.stdout.take().unwrap().read_to_string(&mut text).await.unwrap();
    ///     assert_eq!(text, "piped\n");
    ///     assert!(child.wait().await.unwrap().success());
    /// });
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        let runtime = Handle::try_current()
            .map_err(|err| io::Error::other(format!("corio::process::Command::spawn: {err}")))?;
        if runtime.is_shutdown() {
            return Err(io::Error::other(
                "corio::process::Command::spawn: the runtime has shut down",
            ));
        }
        orphans::reap();
        let child = self.std.spawn()?;
        Child::new(child, runtime, self.kill_on_drop, self.prefer_pidfd)
    }

    /// Runs the process to completion and returns its exit status.
    ///
    /// The process starts right away, when `status` is called; the returned future owns it
    /// and borrows nothing. Stdio is inherited unless set; any pipes requested are closed
    /// before waiting, so the child cannot block on them.
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send + use<> {
        let child = self.spawn();
        async move {
            let mut child = child?;
            drop((child.stdout.take(), child.stderr.take()));
            child.wait().await
        }
    }

    /// Runs the process to completion and collects its output.
    ///
    /// Unless set otherwise, stdout and stderr are piped and stdin is empty (`/dev/null`),
    /// as in std. Both pipes are read concurrently with the wait, so a child writing more
    /// than a pipe buffer holds cannot deadlock. The process starts when `output` is called.
    ///
    /// ```
    /// use corio::process::Command;
    ///
    /// corio::run(async {
    ///     let output = Command::new("sh")
    ///         .args(["-c", "echo to-out; echo to-err >&2; exit 3"])
    ///         .output()
    ///         .await
    ///         .unwrap();
    ///     assert_eq!(output.status.code(), Some(3));
    ///     assert_eq!(output.stdout, b"to-out\n");
    ///     assert_eq!(output.stderr, b"to-err\n");
    /// });
    /// ```
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> + Send + use<> {
        let child = self.spawn_with_defaults([Stdio::null, Stdio::piped, Stdio::piped]);
        async move { child?.wait_with_output().await }
    }

    /// Spawns with `defaults` for the stdio not set through this type, then restores
    /// those to "unset" (inherit, what `spawn` uses), so the command is unchanged.
    fn spawn_with_defaults(&mut self, defaults: [fn() -> Stdio; 3]) -> io::Result<Child> {
        let set = self.stdio_set;
        self.apply_unset(set, defaults);
        let child = self.spawn();
        self.apply_unset(set, [Stdio::inherit; 3]);
        child
    }

    fn apply_unset(&mut self, set: [bool; 3], cfg: [fn() -> Stdio; 3]) {
        if !set[0] {
            self.std.stdin(cfg[0]());
        }
        if !set[1] {
            self.std.stdout(cfg[1]());
        }
        if !set[2] {
            self.std.stderr(cfg[2]());
        }
    }

    /// Makes the spawned children wait on the blocking pool, as where pidfds are missing.
    #[cfg(test)]
    pub(crate) fn force_blocking_wait(&mut self) -> &mut Command {
        self.prefer_pidfd = false;
        self
    }
}

impl From<std::process::Command> for Command {
    /// Wraps a configured std command. Stdio it already sets is used by
    /// [`spawn`](Command::spawn) and [`status`](Command::status), but std cannot report it,
    /// so [`output`](Command::output) applies its defaults over it (and leaves it inherited
    /// afterwards): set stdio through [`Command::stdin`] and friends instead.
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdio_set: [false; 3],
            prefer_pidfd: true,
        }
    }
}
