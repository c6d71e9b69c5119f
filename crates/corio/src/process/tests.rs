//! The seams the integration tests cannot reach: which wait path a child takes, the
//! blocking-pool fallback end to end, and the orphan list.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::io::{AsyncReadExt, AsyncWriteExt};

use super::wait::is_unsupported;
use super::{Command, orphans};
use crate::runtime::{Builder, Runtime};

fn runtimes() -> Vec<(&'static str, Runtime)> {
    vec![
        (
            "current_thread",
            Builder::new_current_thread().build().unwrap(),
        ),
        (
            "multi_thread",
            Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        ),
    ]
}

#[test]
fn spawn_uses_a_pidfd_by_default() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("true").spawn().unwrap();
            assert!(child.uses_pidfd(), "{flavor}: {child:?}");
            assert!(child.wait().await.unwrap().success());
        });
    }
}

#[test]
fn forced_fallback_waits_on_the_blocking_pool() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("sh")
                .args(["-c", "sleep 0.05; exit 3"])
                .force_blocking_wait()
                .spawn()
                .unwrap();
            assert!(!child.uses_pidfd(), "{flavor}: {child:?}");
            assert_eq!(child.try_wait().unwrap(), None);
            let pid = child.id().unwrap();
            assert_eq!(child.wait().await.unwrap().code(), Some(3), "{flavor}");
            assert_eq!(child.id(), None);
            // Reaped: the pid is gone (not a zombie).
            assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
        });
    }
}

#[test]
fn fallback_output_reads_pipes_while_waiting() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // 256 KiB on stdout: more than a pipe holds, so the child only exits if the pipe
            // is drained while the wait is pending.
            let output = Command::new("sh")
                .args(["-c", "head -c 262144 /dev/zero; echo done >&2"])
                .force_blocking_wait()
                .output()
                .await
                .unwrap();
            assert!(output.status.success(), "{flavor}");
            assert_eq!(output.stdout.len(), 262_144, "{flavor}");
            assert_eq!(output.stderr, b"done\n", "{flavor}");
        });
    }
}

#[test]
fn fallback_kill_is_prompt() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("sleep")
                .arg("30")
                .force_blocking_wait()
                .spawn()
                .unwrap();
            let start = Instant::now();
            child.kill().await.unwrap();
            let status = child.wait().await.unwrap();
            assert_eq!(status.signal(), Some(libc::SIGKILL), "{flavor}");
            assert!(start.elapsed() < Duration::from_secs(5), "{flavor}");
        });
    }
}

#[test]
fn fallback_wait_does_not_block_the_loop() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = crate::spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    crate::time::sleep(Duration::from_millis(10)).await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let status = Command::new("sleep")
            .arg("0.2")
            .force_blocking_wait()
            .status()
            .await
            .unwrap();
        assert!(status.success());
        ticker.abort();
        assert!(ticks.load(Ordering::Relaxed) >= 5, "the loop stalled");
    });
}

#[test]
fn fallback_many_children() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let waits: Vec<_> = (0..20)
            .map(|_| {
                let mut child = Command::new("true").force_blocking_wait().spawn().unwrap();
                crate::spawn(async move { child.wait().await.unwrap() })
            })
            .collect();
        for wait in waits {
            assert!(wait.await.unwrap().success());
        }
    });
}

#[test]
fn fallback_stdin_to_cat() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .force_blocking_wait()
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"round trip").await.unwrap();
        drop(stdin);
        let mut back = Vec::new();
        let mut stdout = child.stdout.take().unwrap();
        stdout.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"round trip");
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn a_dropped_fallback_child_is_listed_then_reaped() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let child = Command::new("sleep")
            .arg("0.05")
            .force_blocking_wait()
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        drop(child);
        assert!(orphans::listed() >= 1);
        // Any later spawn or wait sweeps the list; this one waits long enough.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            crate::time::sleep(Duration::from_millis(20)).await;
            assert!(Command::new("true").status().await.unwrap().success());
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                break;
            }
            assert!(Instant::now() < deadline, "orphan {pid} was never reaped");
        }
    });
}

#[test]
fn unsupported_errors_are_recognised() {
    let err = |code| std::io::Error::from_raw_os_error(code);
    assert!(is_unsupported(&err(libc::ENOSYS)));
    assert!(is_unsupported(&err(libc::EPERM)));
    assert!(!is_unsupported(&err(libc::EMFILE)));
    assert!(!is_unsupported(&std::io::Error::other("not an OS error")));
}
