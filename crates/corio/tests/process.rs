//! Child processes: output, exit codes, pipes in both directions, kill, try_wait, many
//! children, a wait that leaves the loop free, drop semantics, errors.
//!
//! These run the pidfd path (the default); the blocking-pool fallback is tested in
//! `src/process/tests.rs`, where it can be forced.

mod common;

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::runtimes;
use corio::io_util::{AsyncReadExt, AsyncWriteExt};
use corio::process::Command;
use corio::runtime::Builder;

/// True once `pid` is gone altogether: not running and not a zombie either.
fn is_gone(pid: u32) -> bool {
    // SAFETY: signal 0 sends nothing; it only asks whether `pid` exists.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Waits (without blocking the loop) until `pid` is gone; panics after 5 s.
async fn until_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !is_gone(pid) {
        assert!(Instant::now() < deadline, "process {pid} still exists");
        corio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A file path under the temp dir, unique to this test process and call.
fn temp_path(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "corio-process-{}-{}-{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

#[test]
fn echo_output_on_both_flavors() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let output = Command::new("echo")
                .args(["hello", "world"])
                .output()
                .await
                .unwrap();
            assert!(output.status.success(), "{flavor}");
            assert_eq!(output.stdout, b"hello world\n", "{flavor}");
            assert!(output.stderr.is_empty(), "{flavor}");
        });
    }
}

#[test]
fn exit_codes() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let status = Command::new("sh")
                .args(["-c", "exit 3"])
                .status()
                .await
                .unwrap();
            assert_eq!(status.code(), Some(3), "{flavor}");
            assert!(!status.success());

            let mut child = Command::new("sh").args(["-c", "exit 0"]).spawn().unwrap();
            let status = child.wait().await.unwrap();
            assert!(status.success(), "{flavor}");
            // Waiting again gives the same status.
            assert_eq!(child.wait().await.unwrap(), status);
        });
    }
}

#[test]
fn stdin_to_cat_larger_than_a_pipe_buffer() {
    const LEN: usize = 1 << 20; // 1 MiB: sixteen 64 KiB pipe buffers
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let payload: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
            let mut stdin = child.stdin.take().unwrap();
            let writer = corio::spawn({
                let payload = payload.clone();
                async move {
                    stdin.write_all(&payload).await.unwrap();
                    stdin.close().await.unwrap();
                }
            });
            let mut back = Vec::with_capacity(LEN);
            let mut stdout = child.stdout.take().unwrap();
            stdout.read_to_end(&mut back).await.unwrap();
            writer.await.unwrap();
            assert!(back == payload, "{flavor}: {} bytes came back", back.len());
            assert!(child.wait().await.unwrap().success());
        });
    }
}

#[test]
fn stderr_is_separate_from_stdout() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let output = Command::new("sh")
                .args(["-c", "echo out; echo err >&2; echo out2"])
                .output()
                .await
                .unwrap();
            assert_eq!(output.stdout, b"out\nout2\n", "{flavor}");
            assert_eq!(output.stderr, b"err\n", "{flavor}");
        });
    }
}

#[test]
fn output_drains_large_outputs_on_both_pipes() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // 512 KiB on each pipe: the child blocks unless both are read while waiting.
            let output = Command::new("sh")
                .args([
                    "-c",
                    "head -c 524288 /dev/zero; head -c 524288 /dev/zero >&2; exit 4",
                ])
                .output()
                .await
                .unwrap();
            assert_eq!(output.status.code(), Some(4), "{flavor}");
            assert_eq!(output.stdout.len(), 524_288, "{flavor}");
            assert_eq!(output.stderr.len(), 524_288, "{flavor}");
        });
    }
}

#[test]
fn kill_returns_promptly_with_a_signal() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("sleep").arg("30").spawn().unwrap();
            let start = Instant::now();
            child.kill().await.unwrap();
            let status = child.wait().await.unwrap();
            assert_eq!(status.signal(), Some(libc::SIGKILL), "{flavor}");
            assert_eq!(status.code(), None);
            assert!(start.elapsed() < Duration::from_secs(5), "{flavor}");
            // Killing a reaped child is a no-op.
            child.kill().await.unwrap();
        });
    }
}

#[test]
fn start_kill_then_wait() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("sleep").arg("30").spawn().unwrap();
            child.start_kill().unwrap();
            let status = child.wait().await.unwrap();
            assert_eq!(status.signal(), Some(libc::SIGKILL), "{flavor}");
        });
    }
}

#[test]
fn try_wait_before_and_after_exit() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("sh")
                .args(["-c", "sleep 0.1; exit 5"])
                .spawn()
                .unwrap();
            assert_eq!(child.try_wait().unwrap(), None, "{flavor}");
            assert!(child.id().is_some());
            let deadline = Instant::now() + Duration::from_secs(5);
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                assert!(Instant::now() < deadline, "{flavor}: never exited");
                corio::time::sleep(Duration::from_millis(10)).await;
            };
            assert_eq!(status.code(), Some(5), "{flavor}");
            assert_eq!(child.id(), None, "{flavor}: reaped, so no pid");
            assert_eq!(child.try_wait().unwrap(), Some(status));
            assert_eq!(child.wait().await.unwrap(), status);
        });
    }
}

#[test]
fn many_concurrent_children() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let waits: Vec<_> = (0..50)
                .map(|i| {
                    let mut child = Command::new("sh")
                        .args(["-c", &format!("exit {}", i % 7)])
                        .spawn()
                        .unwrap();
                    corio::spawn(async move { (i, child.wait().await.unwrap()) })
                })
                .collect();
            for wait in waits {
                let (i, status) = wait.await.unwrap();
                assert_eq!(status.code(), Some(i % 7), "{flavor}");
            }
        });
    }
}

#[test]
fn waiting_leaves_the_loop_free() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = corio::spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    corio::time::sleep(Duration::from_millis(10)).await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let start = Instant::now();
        let status = Command::new("sleep").arg("0.2").status().await.unwrap();
        assert!(status.success());
        assert!(start.elapsed() >= Duration::from_millis(200));
        ticker.abort();
        let ticks = ticks.load(Ordering::Relaxed);
        assert!(
            ticks >= 5,
            "only {ticks} ticks while waiting: the loop was blocked"
        );
    });
}

#[test]
fn kill_on_drop_kills_and_reaps() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let child = Command::new("sleep")
                .arg("30")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let pid = child.id().unwrap();
            assert!(!is_gone(pid), "{flavor}");
            drop(child);
            // Gone means killed *and* reaped: a zombie would still answer kill(pid, 0).
            until_gone(pid).await;
        });
    }
}

#[test]
fn a_dropped_child_keeps_running_and_is_reaped() {
    for (flavor, rt) in runtimes() {
        let marker = temp_path("marker");
        rt.block_on(async {
            let script = format!("sleep 0.1; echo done > '{}'", marker.display());
            let child = Command::new("sh").args(["-c", &script]).spawn().unwrap();
            let pid = child.id().unwrap();
            drop(child);
            until_gone(pid).await;
        });
        // It was not killed: it finished its work.
        let text = std::fs::read_to_string(&marker).unwrap_or_default();
        let _ = std::fs::remove_file(&marker);
        assert_eq!(text, "done\n", "{flavor}");
    }
}

#[test]
fn a_task_holding_a_child_dropped_at_shutdown() {
    for (flavor, rt) in runtimes() {
        let pid = rt.block_on(async {
            let mut child = Command::new("sleep")
                .arg("30")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let pid = child.id().unwrap();
            corio::spawn(async move {
                let _ = child.wait().await;
            });
            corio::time::sleep(Duration::from_millis(10)).await;
            pid
        });
        let start = Instant::now();
        drop(rt);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{flavor}: shutdown hung"
        );
        // Killed by the drop; reaped by the next spawn's sweep of the orphan list.
        let rt = Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !is_gone(pid) {
                assert!(Instant::now() < deadline, "{flavor}: {pid} never reaped");
                assert!(Command::new("true").status().await.unwrap().success());
                corio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }
}

#[test]
fn missing_program_is_not_found() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let err = Command::new("corio-no-such-program-xyz")
                .spawn()
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{flavor}");
            let err = Command::new("corio-no-such-program-xyz")
                .output()
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{flavor}");
        });
    }
}

#[test]
fn spawn_outside_a_runtime_is_a_clear_error() {
    let err = Command::new("true").spawn().unwrap_err();
    assert!(err.to_string().contains("no corio runtime"), "{err}");
}

#[test]
fn wait_closes_stdin_first() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // cat exits only at end-of-file on its stdin.
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            let status = corio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .unwrap_or_else(|_| panic!("{flavor}: wait did not close stdin"))
                .unwrap();
            assert!(status.success());
        });
    }
}

#[test]
fn closed_stdin_gives_eof_and_refuses_writes() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("wc")
                .arg("-c")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let stdin = child.stdin.as_mut().unwrap();
            stdin.write_all(b"12345").await.unwrap();
            stdin.close().await.unwrap();
            let err = stdin.write_all(b"more").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{flavor}");
            let output = child.wait_with_output().await.unwrap();
            assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "5");
        });
    }
}

#[test]
fn writing_to_an_exited_child_is_broken_pipe() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
            let mut stdin = child.stdin.take().unwrap();
            assert!(child.wait().await.unwrap().success());
            let err = stdin.write_all(&[0; 1 << 17]).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{flavor}");
        });
    }
}

#[test]
fn output_defaults_and_explicit_stdio() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // stdin defaults to empty: cat ends at once instead of reading the test's stdin.
            let mut cat = Command::new("cat");
            let output = cat.output().await.unwrap();
            assert!(output.status.success(), "{flavor}");
            assert!(output.stdout.is_empty());
            // The command is unchanged and can run again.
            assert!(cat.output().await.unwrap().status.success());

            // Explicit stdio wins over output's defaults.
            let output = Command::new("sh")
                .args(["-c", "echo hidden; echo shown >&2"])
                .stdout(Stdio::null())
                .output()
                .await
                .unwrap();
            assert!(output.stdout.is_empty(), "{flavor}");
            assert_eq!(output.stderr, b"shown\n");
        });
    }
}

#[test]
fn env_and_current_dir() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let output = Command::new("sh")
                .args(["-c", "echo \"$A-$B-${HOME:-unset}\"; pwd"])
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap())
                .envs([("A", "1"), ("B", "2")])
                .env("GONE", "x")
                .env_remove("GONE")
                .current_dir("/")
                .output()
                .await
                .unwrap();
            assert_eq!(output.stdout, b"1-2-unset\n/\n", "{flavor}");
        });
    }
}

#[test]
fn one_childs_stdout_feeds_anothers_stdin() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut producer = Command::new("printf")
                .arg("b\\na\\nc\\n")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let pipe = Stdio::try_from(producer.stdout.take().unwrap()).unwrap();
            let sorted = Command::new("sort").stdin(pipe).output().await.unwrap();
            assert!(producer.wait().await.unwrap().success());
            assert_eq!(sorted.stdout, b"a\nb\nc\n", "{flavor}");
        });
    }
}

#[test]
fn from_std_command_and_accessors() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let mut std = std::process::Command::new("echo");
        std.arg("from-std");
        let mut cmd = Command::from(std);
        assert_eq!(cmd.as_std().get_program(), "echo");
        cmd.as_std_mut().arg("too");
        let output = cmd.output().await.unwrap();
        assert_eq!(output.stdout, b"from-std too\n");
    });
}

#[test]
fn futures_are_send_and_cancel_safe() {
    fn assert_send<T: Send>(_: &T) {}
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut child = Command::new("sleep").arg("0.2").spawn().unwrap();
        assert_send(&child);
        // A wait cut short by a timeout loses nothing: the next wait still sees the exit.
        let early = corio::time::timeout(Duration::from_millis(20), child.wait()).await;
        assert!(early.is_err());
        assert!(child.wait().await.unwrap().success());
        let status = Command::new("true").status();
        assert_send(&status);
        assert!(corio::spawn(status).await.unwrap().unwrap().success());
    });
}
