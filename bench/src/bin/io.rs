//! The `io` suite: TCP over 127.0.0.1, corio against tokio, and corio on its default driver
//! (io_uring where the kernel allows it) against corio on epoll (`corio-epoll`).
//!
//! Each workload is written once, in the `workloads!` macro, and instantiated for each peer,
//! so both run exactly the same code against their own `TcpListener`, `TcpStream`, `spawn`
//! and read/write extension traits (`corio::io_util` / `tokio::io`). Client and server are
//! tasks on the same runtime in the same process; the driving future only spawns the client
//! task and awaits it, so on `/mt2` all the work runs on the two workers. Every workload runs
//! on a current-thread runtime (`/ct`) and on a multi-thread runtime with two workers
//! (`/mt2`); each round builds a fresh runtime per peer, outside the timed region, and the
//! peers alternate round by round. Every workload checks that the work was done: echoed bytes
//! compared with what was sent, and the server's byte or connection count with the client's.
//!
//! - `echo_rtt`: one connection, 64-byte request, 64-byte echo, one at a time; round trips
//!   per second (`rps`).
//! - `echo_64conn`: 64 connections at once, each sending 4 KiB messages one at a time and
//!   reading each echo back; the time (`time_us`) to echo a fixed volume.
//! - `accept`: 16 client tasks connect in a loop; the server accepts and drops each
//!   connection at once, and a client finishes a connection when it reads the server's close;
//!   connections per second (`rps`).
//! - `idle_1k` measures memory instead: each measurement is a fresh child process (this
//!   binary, re-executed with `--rss-child <peer> <ct|mt2> <conns>`) that opens 1,000
//!   connections to itself, each server side held by a task blocked in `read` and each client
//!   side held in a `Vec`, and reports how much its resident set grew.
//!
//! Usage: `io [--quick] [--rounds N] [--only TEXT]` (normally through `bench/run io`);
//! `--only` runs the workloads whose name contains TEXT.

use std::process::ExitCode;

use corio_bench::{
    CORIO, Contender, Flavor, Metric, Options, USAGE, compare, compare_children, machine_comment,
    micros,
};

/// Bytes of an `echo_rtt` request (and of its echo).
const RTT_MSG: usize = 64;
/// Bytes of an `echo_64conn` message.
const BULK_MSG: usize = 4096;
/// Connections of `echo_64conn`.
const BULK_CONNS: usize = 64;
/// Client tasks connecting at once in `accept`; well under the listen backlog (1,024 for
/// both peers), so no SYN is ever dropped and retried a second later.
const CONNECTORS: usize = 16;
/// Bytes of the buffer each idle connection's server task reads into.
const IDLE_BUF: usize = 64;

/// Workload sizes of a full and of a `--quick` run.
struct Sizes {
    /// Round trips per `echo_rtt` round.
    trips: usize,
    /// Messages per connection per `echo_64conn` round.
    bulk_msgs: usize,
    /// Connections per `accept` round.
    accepts: usize,
    /// Connections held per `idle_1k` child.
    idle: usize,
}

const FULL: Sizes = Sizes {
    trips: 10_000,
    bulk_msgs: 200,
    accepts: 5_000,
    idle: 1_000,
};

const QUICK: Sizes = Sizes {
    trips: 2_000,
    bulk_msgs: 50,
    accepts: 1_000,
    idle: 1_000,
};

/// The workloads, once, for the runtime crate `$rt` (whose read/write extension traits live
/// in `$rt::$ext`), in module `$side`.
macro_rules! workloads {
    ($side:ident, $rt:ident, $ext:ident, $build:path) => {
        mod $side {
            use std::net::SocketAddr;
            use std::sync::Arc;
            use std::sync::atomic::{AtomicUsize, Ordering};
            use std::time::{Duration, Instant};

            use ::$rt::net::{TcpListener, TcpStream};
            use ::$rt::runtime::Runtime;
            use ::$rt::spawn;
            use ::$rt::time::sleep;
            use ::$rt::$ext::{AsyncReadExt, AsyncWriteExt};

            use corio_bench::Flavor;

            pub fn runtime(flavor: Flavor) -> Runtime {
                $build(flavor)
            }

            /// A listener on an ephemeral port of 127.0.0.1, and its address.
            async fn listen() -> (TcpListener, SocketAddr) {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let addr = listener.local_addr().expect("local_addr");
                (listener, addr)
            }

            /// A client connection with `TCP_NODELAY`, as the server side gets.
            async fn connect(addr: SocketAddr) -> TcpStream {
                let stream = TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                stream
            }

            /// Accepts `conns` connections and echoes each in its own task (reads up to
            /// `buf_size` bytes, writes them back) until its client closes; returns the
            /// bytes echoed in all.
            async fn echo_server(listener: TcpListener, conns: usize, buf_size: usize) -> usize {
                let mut echoes = Vec::with_capacity(conns);
                for _ in 0..conns {
                    let (stream, _) = listener.accept().await.expect("accept");
                    stream.set_nodelay(true).expect("nodelay");
                    echoes.push(spawn(echo(stream, buf_size)));
                }
                let mut echoed = 0;
                for echo in echoes {
                    echoed += echo.await.expect("echo task");
                }
                echoed
            }

            /// Echoes `stream` until EOF; returns the bytes echoed.
            async fn echo(mut stream: TcpStream, buf_size: usize) -> usize {
                let mut buf = vec![0; buf_size];
                let mut echoed = 0;
                loop {
                    let n = stream.read(&mut buf).await.expect("server read");
                    if n == 0 {
                        return echoed;
                    }
                    stream.write_all(&buf[..n]).await.expect("server write");
                    echoed += n;
                }
            }

            /// Sends `msgs` messages of `size` bytes (tagged with `id` and their index)
            /// one at a time, reading each echo back and checking it; returns the bytes
            /// echoed.
            async fn send_and_check(
                mut stream: TcpStream,
                id: usize,
                msgs: usize,
                size: usize,
            ) -> usize {
                let mut msg = vec![id as u8; size];
                let mut back = vec![0; size];
                for i in 0..msgs {
                    msg[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    stream.write_all(&msg).await.expect("client write");
                    stream.read_exact(&mut back).await.expect("client read");
                    assert!(
                        back == msg,
                        "echo of message {i} on connection {id} differs"
                    );
                }
                msgs * size
            }

            /// `trips` round trips of `RTT_MSG` bytes on one connection; returns round
            /// trips per second.
            pub fn echo_rtt(rt: &Runtime, trips: usize) -> f64 {
                rt.block_on(async move {
                    spawn(async move {
                        let (listener, addr) = listen().await;
                        let server = spawn(echo_server(listener, 1, crate::RTT_MSG));
                        let client = connect(addr).await;
                        let start = Instant::now();
                        let sent = send_and_check(client, 0, trips, crate::RTT_MSG).await;
                        let elapsed = start.elapsed();
                        assert_eq!(server.await.expect("server task"), sent);
                        assert_eq!(sent, trips * crate::RTT_MSG);
                        trips as f64 / elapsed.as_secs_f64()
                    })
                    .await
                    .expect("client task")
                })
            }

            /// `conns` connections at once, each echoing `msgs` messages of `BULK_MSG`
            /// bytes; the time from the first message to the last echo (connections are
            /// set up before).
            pub fn echo_64conn(rt: &Runtime, conns: usize, msgs: usize) -> Duration {
                rt.block_on(async move {
                    spawn(async move {
                        let (listener, addr) = listen().await;
                        let server = spawn(echo_server(listener, conns, crate::BULK_MSG));
                        let mut streams = Vec::with_capacity(conns);
                        for _ in 0..conns {
                            streams.push(connect(addr).await);
                        }
                        let start = Instant::now();
                        let clients: Vec<_> = streams
                            .into_iter()
                            .enumerate()
                            .map(|(id, s)| spawn(send_and_check(s, id, msgs, crate::BULK_MSG)))
                            .collect();
                        let mut sent = 0;
                        for client in clients {
                            sent += client.await.expect("client task");
                        }
                        let elapsed = start.elapsed();
                        assert_eq!(server.await.expect("server task"), sent);
                        assert_eq!(sent, conns * msgs * crate::BULK_MSG);
                        elapsed
                    })
                    .await
                    .expect("client task")
                })
            }

            /// `conns` connections, `CONNECTORS` at a time: a client connects and waits for
            /// EOF; the server accepts and drops each at once. Returns connections per
            /// second, until the last client has seen its close.
            pub fn accept(rt: &Runtime, conns: usize) -> f64 {
                rt.block_on(async move {
                    spawn(async move {
                        let (listener, addr) = listen().await;
                        let start = Instant::now();
                        let server = spawn(async move {
                            for _ in 0..conns {
                                let (stream, _) = listener.accept().await.expect("accept");
                                drop(stream);
                            }
                            conns
                        });
                        let tickets = Arc::new(AtomicUsize::new(conns));
                        let clients: Vec<_> = (0..crate::CONNECTORS)
                            .map(|_| {
                                let tickets = tickets.clone();
                                spawn(async move {
                                    let mut closed = 0;
                                    while tickets
                                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                                            n.checked_sub(1)
                                        })
                                        .is_ok()
                                    {
                                        let mut stream =
                                            TcpStream::connect(addr).await.expect("connect");
                                        let mut byte = [0; 1];
                                        let n = stream.read(&mut byte).await.expect("read");
                                        assert_eq!(n, 0, "the server sends nothing");
                                        closed += 1;
                                    }
                                    closed
                                })
                            })
                            .collect();
                        let mut closed = 0;
                        for client in clients {
                            closed += client.await.expect("client task");
                        }
                        let accepted = server.await.expect("server task");
                        let elapsed = start.elapsed();
                        assert_eq!((closed, accepted), (conns, conns));
                        conns as f64 / elapsed.as_secs_f64()
                    })
                    .await
                    .expect("client task")
                })
            }

            /// In this (fresh) process: how many KiB the resident set grows by when `conns`
            /// connections to ourselves sit idle, each server side held by a task blocked in
            /// `read`, each client side held in a `Vec`. Returns (growth, baseline) in KiB.
            pub fn idle_rss(flavor: Flavor, conns: usize) -> std::io::Result<(u64, u64)> {
                /// Server tasks that have reached their `read` (a static, so the tasks
                /// capture nothing but their stream).
                static HELD: AtomicUsize = AtomicUsize::new(0);

                let rt = runtime(flavor);
                let measured = rt.block_on(async move {
                    spawn(async move {
                        let (listener, addr) = listen().await;
                        let baseline = corio_bench::rss_kib()?;
                        spawn(async move {
                            for _ in 0..conns {
                                let (mut stream, _) = listener.accept().await.expect("accept");
                                spawn(async move {
                                    let mut buf = [0; crate::IDLE_BUF];
                                    HELD.fetch_add(1, Ordering::Relaxed);
                                    let _ = stream.read(&mut buf).await;
                                });
                            }
                        });
                        let mut clients = Vec::with_capacity(conns);
                        for _ in 0..conns {
                            clients.push(TcpStream::connect(addr).await?);
                        }
                        while HELD.load(Ordering::Relaxed) < conns {
                            sleep(Duration::from_millis(1)).await;
                        }
                        let after = corio_bench::rss_kib()?;
                        Ok::<_, std::io::Error>((after.saturating_sub(baseline), baseline))
                    })
                    .await
                    .expect("client task")
                });
                // Tear-down is not measured; skip it.
                std::mem::forget(rt);
                measured
            }
        }
    };
}

workloads!(corio_side, corio, io_util, corio_bench::corio_runtime);
workloads!(
    corio_epoll_side,
    corio,
    io_util,
    corio_bench::corio_epoll_runtime
);
workloads!(tokio_side, tokio, io, corio_bench::tokio_runtime);

/// The two contenders of a timed workload: `$workload(&rt, args...)` on a fresh runtime of
/// `$flavor`, corio first; `$figure` turns the workload's result into the figure.
macro_rules! timed {
    ($flavor:expr, $figure:path, $workload:ident($($arg:expr),*)) => {
        [
            Contender::new(CORIO, || {
                let rt = corio_side::runtime($flavor);
                $figure(corio_side::$workload(&rt, $($arg),*))
            }),
            Contender::new("tokio", || {
                let rt = tokio_side::runtime($flavor);
                $figure(tokio_side::$workload(&rt, $($arg),*))
            }),
            Contender::new("corio-epoll", || {
                let rt = corio_epoll_side::runtime($flavor);
                $figure(corio_epoll_side::$workload(&rt, $($arg),*))
            }),
        ]
    };
}

/// MiB echoed (each way) by one `echo_64conn` round.
fn bulk_mib(sizes: &Sizes) -> f64 {
    (BULK_CONNS * sizes.bulk_msgs * BULK_MSG) as f64 / f64::from(1 << 20)
}

/// A rate, which is its own figure.
fn rate(per_second: f64) -> f64 {
    per_second
}

fn run_suite(opts: &Options) -> Result<(), String> {
    let sizes = if opts.quick { &QUICK } else { &FULL };
    let rounds = opts.rounds;
    println!(
        "# io suite: corio vs tokio over TCP on 127.0.0.1, {rounds} alternating rounds after \
         1 warm-up, medians{}",
        if opts.quick {
            " (--quick: smaller sizes)"
        } else {
            ""
        }
    );
    println!("{}", machine_comment());
    println!(
        "# runtimes: corio Builder::new_current_thread() / new_multi_thread().worker_threads(2) \
         on the default I/O driver ({:?} for ct, {:?} for mt2 here; corio-epoll: \
         .io_driver(IoDriverKind::Epoll)); tokio the same plus enable_all(); client and \
         server tasks on the same runtime, TCP_NODELAY on every echo connection",
        corio_side::runtime(corio_bench::Flavor::Ct)
            .handle()
            .io_driver(),
        corio_side::runtime(corio_bench::Flavor::Mt2)
            .handle()
            .io_driver()
    );
    println!(
        "# echo_rtt rps = {RTT_MSG}-byte round trips per second on one connection ({} per \
         round); echo_64conn time_us = time to echo {BULK_CONNS} connections x {} messages x \
         {BULK_MSG} bytes ({} MiB each way), one message in flight per connection; accept rps = \
         connections per second ({} per round, {CONNECTORS} clients connecting at once, the \
         server drops each on accept); idle_1k rss_kib = RSS growth of a fresh process holding \
         {} idle connections (both ends), median of {rounds} processes per peer",
        sizes.trips,
        sizes.bulk_msgs,
        bulk_mib(sizes),
        sizes.accepts,
        sizes.idle,
    );

    for flavor in Flavor::ALL {
        let suffix = flavor.suffix();

        let name = format!("io/echo_rtt/{suffix}");
        if opts.selects(&name) {
            compare(
                &name,
                Metric::Rps,
                rounds,
                &mut timed!(flavor, rate, echo_rtt(sizes.trips)),
            );
        }

        let name = format!("io/echo_64conn/{suffix}");
        if opts.selects(&name) {
            let medians = compare(
                &name,
                Metric::TimeUs,
                rounds,
                &mut timed!(flavor, micros, echo_64conn(BULK_CONNS, sizes.bulk_msgs)),
            );
            let mib = bulk_mib(sizes);
            let rates: Vec<String> = medians
                .iter()
                .map(|(peer, us)| format!("{peer}={:.0}", mib / (us / 1e6)))
                .collect();
            println!(
                "# {name} MiB/s echoed (from the medians): {}",
                rates.join(" ")
            );
        }

        let name = format!("io/accept/{suffix}");
        if opts.selects(&name) {
            compare(
                &name,
                Metric::Rps,
                rounds,
                &mut timed!(flavor, rate, accept(sizes.accepts)),
            );
        }
    }

    for flavor in Flavor::ALL {
        let name = format!("io/idle_1k/{}", flavor.suffix());
        if !opts.selects(&name) {
            continue;
        }
        let child = |peer: &str| {
            vec![
                "--rss-child".to_owned(),
                peer.to_owned(),
                flavor.suffix().to_owned(),
                sizes.idle.to_string(),
            ]
        };
        let medians = compare_children(
            &name,
            rounds,
            &[
                (CORIO, child(CORIO)),
                ("tokio", child("tokio")),
                ("corio-epoll", child("corio-epoll")),
            ],
        )?;
        let per_conn: Vec<String> = medians
            .iter()
            .map(|(peer, kib)| format!("{peer}={:.0}", kib * 1024.0 / sizes.idle as f64))
            .collect();
        println!(
            "# {name} bytes per idle connection, both ends ({} connections, median of \
             {rounds}): {}",
            sizes.idle,
            per_conn.join(" ")
        );
    }
    Ok(())
}

/// The child side of `idle_1k`: `--rss-child <peer> <ct|mt2> <conns>`.
fn rss_child(args: &[String]) -> Result<(), String> {
    let [peer, flavor, conns] = args else {
        return Err("usage: io --rss-child <corio|tokio|corio-epoll> <ct|mt2> <conns>".to_owned());
    };
    let flavor = Flavor::from_suffix(flavor)
        .ok_or_else(|| format!("--rss-child: unknown flavor `{flavor}`"))?;
    let conns: usize = conns
        .parse()
        .map_err(|_| format!("--rss-child: `{conns}` is not a number"))?;
    let measured = match peer.as_str() {
        "corio" => corio_side::idle_rss(flavor, conns),
        "tokio" => tokio_side::idle_rss(flavor, conns),
        "corio-epoll" => corio_epoll_side::idle_rss(flavor, conns),
        other => return Err(format!("--rss-child: unknown peer `{other}`")),
    };
    let (growth, baseline) = measured.map_err(|e| format!("measuring: {e}"))?;
    println!("rss_kib={growth} baseline_kib={baseline} conns={conns}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--rss-child") {
        rss_child(&args[1..])
    } else {
        match Options::parse(args) {
            Ok(opts) => run_suite(&opts),
            Err(err) => Err(format!("{err}\nusage: io {USAGE}")),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("io: {err}");
            ExitCode::FAILURE
        }
    }
}
