//! Scheduler behaviour: fairness, stealing, remote wake-ups, parking without spinning.

mod common;

use std::collections::HashSet;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use corio::runtime::Builder;
use corio::sync::oneshot;
use corio::task;

fn single_worker_runtimes() -> Vec<(&'static str, corio::Runtime)> {
    vec![
        (
            "current_thread",
            Builder::new_current_thread().build().unwrap(),
        ),
        (
            "multi_thread(1)",
            Builder::new_multi_thread()
                .worker_threads(1)
                .build()
                .unwrap(),
        ),
    ]
}

#[test]
fn self_waking_task_does_not_starve_others() {
    for (flavor, rt) in single_worker_runtimes() {
        rt.block_on(async {
            let spinner = corio::spawn(poll_fn(|cx| {
                cx.waker().wake_by_ref();
                Poll::<()>::Pending
            }));
            let (tx, rx) = oneshot::channel();
            corio::spawn(async move { tx.send("ran").unwrap() });
            assert_eq!(rx.await.unwrap(), "ran", "{flavor}");
            spinner.abort();
        });
    }
}

#[test]
fn lifo_ping_pong_yields_to_other_tasks() {
    // A and B bounce a token through channels forever; a third task must still get to run.
    for (flavor, rt) in single_worker_runtimes() {
        rt.block_on(async {
            let (a_tx, a_rx) = std::sync::mpsc::channel::<oneshot::Sender<()>>();
            let (b_tx, b_rx) = std::sync::mpsc::channel::<oneshot::Sender<()>>();
            let bouncer =
                |inbox: std::sync::mpsc::Receiver<oneshot::Sender<()>>,
                 outbox: std::sync::mpsc::Sender<oneshot::Sender<()>>| {
                    async move {
                        loop {
                            let (tx, rx) = oneshot::channel();
                            outbox.send(tx).unwrap();
                            // Wait for the peer to fire our channel, then fire theirs.
                            rx.await.unwrap();
                            if let Ok(peer) = inbox.try_recv() {
                                let _ = peer.send(());
                            }
                        }
                    }
                };
            let a = corio::spawn(bouncer(a_rx, b_tx));
            let b = corio::spawn(bouncer(b_rx, a_tx));
            task::yield_now().await;
            let (tx, rx) = oneshot::channel();
            corio::spawn(async move { tx.send(()).unwrap() });
            rx.await.unwrap();
            a.abort();
            b.abort();
            let _ = flavor;
        });
    }
}

#[test]
fn idle_workers_steal_from_a_busy_one() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let t = threads.clone();
    rt.block_on(async move {
        // All spawned from one task: they start on its worker; the other must steal.
        let handles: Vec<_> = (0..64)
            .map(|_| {
                let t = t.clone();
                corio::spawn(async move {
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_millis(2) {
                        std::hint::spin_loop();
                    }
                    t.lock().unwrap().insert(std::thread::current().id());
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(threads.lock().unwrap().len(), 2, "both workers ran tasks");
}

#[test]
fn wake_from_plain_thread() {
    for (flavor, rt) in common::runtimes() {
        let got = rt.block_on(async {
            let (tx, rx) = oneshot::channel();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                tx.send(99).unwrap();
            });
            corio::spawn(async move { rx.await.unwrap() })
                .await
                .unwrap()
        });
        assert_eq!(got, 99, "{flavor}");
    }
}

#[test]
fn current_thread_block_on_from_two_threads() {
    let rt = Arc::new(Builder::new_current_thread().build().unwrap());
    let (tx, rx) = oneshot::channel::<u32>();
    let rt2 = rt.clone();
    // This thread waits on a value that only a task driven by the other thread produces.
    let waiter = std::thread::spawn(move || rt2.block_on(rx).unwrap());
    std::thread::sleep(Duration::from_millis(20));
    rt.block_on(async move {
        corio::spawn(async move { tx.send(7).unwrap() })
            .await
            .unwrap();
    });
    assert_eq!(waiter.join().unwrap(), 7);
}

/// CPU time (user + system), in clock ticks, of this process's threads named `prefix*`.
/// Tests run in parallel in one process, so only the probe runtime's workers are counted.
fn thread_cpu_ticks(prefix: &str) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = entry.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if !comm.starts_with(prefix) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_comm.split(' ').collect();
        // utime and stime are fields 14 and 15 of the stat line: 11 and 12 after the comm.
        total += fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    }
    total
}

#[test]
fn idle_runtime_does_not_spin() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("idleprobe")
        .build()
        .unwrap();
    // Let the workers start, run something, and settle into park.
    rt.block_on(async {
        for _ in 0..10 {
            corio::spawn(async {}).await.unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    let before = thread_cpu_ticks("idleprobe");
    std::thread::sleep(Duration::from_secs(1));
    let used = thread_cpu_ticks("idleprobe") - before;
    // Two spinning workers would burn ~200 ticks (at 100 Hz) in that second.
    assert!(used <= 2, "idle workers used {used} ticks of CPU in 1 s");
    drop(rt);
}

#[test]
fn remote_spawns_still_wake_workers_while_io_events_wake_the_driver_worker() {
    // Regression: a worker woken by an I/O event at the moment a remote spawn picked it to
    // wake kept the "searching" count it was handed without knowing it, so later remote
    // spawns woke no one and sat in the injection queue. Each round registers fresh sockets
    // (an I/O event for the worker parked in epoll) while spawning from outside the workers.
    use corio::net::UnixDatagram;
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for round in 0..300 {
        let done = rt.block_on(corio::time::timeout(Duration::from_secs(5), async {
            let (x, y) = UnixDatagram::pair().unwrap();
            let echo = corio::spawn(async move {
                let mut buf = [0; 16];
                let n = y.recv(&mut buf).await.unwrap();
                y.send(&buf[..n]).await.unwrap();
            });
            x.send(b"ping").await.unwrap();
            let mut buf = [0; 16];
            let n = x.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping");
            echo.await.unwrap();
        }));
        assert!(
            done.is_ok(),
            "round {round}: a remotely spawned task never ran"
        );
    }
}
