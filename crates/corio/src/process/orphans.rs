//! Reaping children whose [`Child`](super::Child) was dropped before they exited.
//!
//! An exited child stays a zombie (its pid and exit status kept by the kernel) until its
//! parent reaps it. A dropped `Child` cannot be awaited any more, so it is adopted here:
//!
//! 1. With a pidfd, a small reaper task is spawned on the child's runtime: it awaits the
//!    pidfd and reaps the child the moment it exits, as `Child::wait` would have.
//! 2. Otherwise (the fallback has no cheap way to wait; the runtime has shut down; or the
//!    reaper task is dropped at shutdown before its child exited), the child joins a global
//!    list. The list is swept (one `waitpid(pid, WNOHANG)` per entry) on every
//!    [`Command::spawn`](super::Command::spawn) and on every `Child::wait` / `try_wait`, so
//!    a program that keeps using processes keeps reaping its orphans; a zombie left when the
//!    program stops spawning lasts at most until the program exits.
//!
//! Only the adopted children's own pids are ever waited for (never `waitpid(-1)`), so
//! children spawned by other code in the process are left alone.

use std::future::poll_fn;
use std::process::Child as StdChild;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

use super::wait::ExitWatch;
use crate::runtime::Handle;

/// Children that were dropped unreaped and that no reaper task watches.
static ORPHANS: Mutex<Vec<StdChild>> = Mutex::new(Vec::new());

/// Takes over `child` (dropped, maybe still running, not yet reaped) until it is reaped.
pub(crate) fn adopt(mut child: StdChild, watch: ExitWatch, runtime: &Handle) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if !matches!(watch, ExitWatch::Pidfd(_)) {
        // A fallback watch would tie up a pool thread for as long as the child runs.
        drop(watch);
        push(child);
        return;
    }
    let mut orphan = Orphan {
        child: Some(child),
        watch,
    };
    // If the runtime refuses the task, dropping it puts the child on the list.
    let _ = runtime.try_spawn(async move { poll_fn(|cx| orphan.poll_reap(cx)).await });
}

/// Reaps every listed child that has exited; the others stay listed.
pub(crate) fn reap() {
    let mut orphans = ORPHANS.lock().unwrap_or_else(PoisonError::into_inner);
    if orphans.is_empty() {
        return;
    }
    // An error (say `ECHILD`, if other code reaped it) also means there is nothing to wait for.
    orphans.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
}

/// How many children are on the list (for tests).
#[cfg(test)]
pub(crate) fn listed() -> usize {
    ORPHANS.lock().unwrap_or_else(PoisonError::into_inner).len()
}

fn push(child: StdChild) {
    ORPHANS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(child);
}

/// A reaper task's state. Dropping it before the child is reaped lists the child.
struct Orphan {
    child: Option<StdChild>,
    watch: ExitWatch,
}

impl Orphan {
    fn poll_reap(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(child) = &mut self.child else {
            return Poll::Ready(());
        };
        match self.watch.poll_exit(cx, child) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(_)) => self.child = None,
            // Leave it to the list (pushed by the drop).
            Poll::Ready(Err(err)) => tracing::debug!(%err, "corio: reaping an orphan failed"),
        }
        Poll::Ready(())
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            push(child);
        }
    }
}
