//! Faults on the runtime path: signal storms (EINTR), and sockets closed or orphaned while a
//! task awaits them. (Peer reset, half-close and dropped read futures are in tcp.rs; running
//! out of file descriptors is in fd_exhaustion.rs, which needs a process of its own.)

mod common;

use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::runtimes;
use corio::io_util::{AsyncReadExt, AsyncWriteExt};
use corio::net::{TcpListener, TcpStream};
use corio::time::{sleep, timeout};

const PATIENCE: Duration = Duration::from_secs(10);

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Installs a do-nothing SIGUSR2 handler *without* SA_RESTART, the harshest setting: every
/// blocking system call a runtime thread is in when the signal lands fails with EINTR.
fn install_interrupting_handler() {
    // SAFETY: a zeroed sigaction is valid (empty mask, no flags); the handler is an
    // `extern "C" fn(c_int)` that does nothing, which is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        assert_eq!(
            libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
            0
        );
    }
}

/// Sends SIGUSR2 to every thread of the process, over and over, until dropped.
struct SignalStorm {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl SignalStorm {
    fn start() -> SignalStorm {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let me = std::process::id() as libc::pid_t;
            // SAFETY: gettid has no preconditions.
            let self_tid = unsafe { libc::gettid() };
            let mut sent = 0;
            while !flag.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
                    let tid: libc::pid_t = entry.file_name().to_str().unwrap().parse().unwrap();
                    if tid != self_tid {
                        // SAFETY: tgkill to a thread of our own process, with a signal that
                        // has a handler installed; a thread that just exited gives ESRCH.
                        unsafe { libc::syscall(libc::SYS_tgkill, me, tid, libc::SIGUSR2) };
                        sent += 1;
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            sent
        });
        SignalStorm {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

#[test]
fn a_signal_storm_disturbs_neither_io_nor_timers_nor_the_blocking_pool() {
    install_interrupting_handler();
    for (flavor, rt) in runtimes() {
        let storm = SignalStorm::start();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            corio::spawn(async move {
                while let Ok((conn, _)) = listener.accept().await {
                    corio::spawn(common::echo(conn));
                }
            });
            let mut clients = Vec::new();
            for client in 0..4u8 {
                clients.push(corio::spawn(async move {
                    let mut conn = TcpStream::connect(addr).await.unwrap();
                    for round in 0..200u32 {
                        let message = [client, (round % 256) as u8, 7, 9];
                        conn.write_all(&message).await.unwrap();
                        let mut echoed = [0; 4];
                        conn.read_exact(&mut echoed).await.unwrap();
                        assert_eq!(echoed, message);
                    }
                }));
            }
            let timers = corio::spawn(async {
                for _ in 0..20 {
                    let start = Instant::now();
                    sleep(Duration::from_millis(5)).await;
                    assert!(
                        start.elapsed() >= Duration::from_millis(5),
                        "a timer fired early"
                    );
                }
            });
            let blocking = corio::spawn_blocking(|| {
                std::thread::sleep(Duration::from_millis(50));
                42
            });
            for client in clients {
                timeout(PATIENCE, client)
                    .await
                    .expect("echo stalled")
                    .unwrap();
            }
            timeout(PATIENCE, timers)
                .await
                .expect("timers stalled")
                .unwrap();
            assert_eq!(blocking.await.unwrap(), 42);
        });
        let sent = storm.stop();
        assert!(sent > 100, "{flavor}: the storm only sent {sent} signals");
    }
}

#[test]
fn shutting_down_a_socket_wakes_the_task_awaiting_it() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let _client = TcpStream::connect(addr).await.unwrap();
            let (server_side, _) = listener.accept().await.unwrap();
            let (mut reader, writer) = server_side.into_split();
            // The reader parks: the peer never sends.
            let read = corio::spawn(async move {
                let mut buf = [0; 16];
                reader.read(&mut buf).await
            });
            sleep(Duration::from_millis(20)).await;
            assert!(
                !read.is_finished(),
                "{flavor}: nothing was sent, the read must wait"
            );
            // Closing our own socket under the waiting reader wakes it with end-of-file.
            writer.as_ref().shutdown(Shutdown::Both).unwrap();
            let n = timeout(PATIENCE, read)
                .await
                .unwrap_or_else(|_| panic!("{flavor}: read hangs after shutdown"))
                .unwrap()
                .unwrap();
            assert_eq!(n, 0, "{flavor}");
        });
    }
}

#[test]
fn a_socket_whose_runtime_shut_down_fails_instead_of_hanging() {
    let owner = corio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (mut client, _server_side) = owner.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        (client, server_side)
    });

    // A task on another runtime awaits the socket when its reactor goes away.
    let other = corio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let read = other.spawn(async move {
        let mut buf = [0; 16];
        let pending = client.read(&mut buf);
        started_tx.send(()).unwrap();
        pending.await
    });
    started_rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    drop(owner);

    let result = other
        .block_on(async { timeout(PATIENCE, read).await })
        .expect("the read must fail, not hang, once its reactor is gone")
        .unwrap();
    let err = result.expect_err("no data was ever sent; the read cannot succeed");
    assert!(err.to_string().contains("shut"), "unexpected error: {err}");
}
