//! TCP on both I/O drivers (epoll and io_uring), chosen through the builder: the driver is
//! reported, and dropping read, write, accept and connect futures mid-operation never loses
//! data, never leaves a socket open, and never lets the kernel write into freed memory (run
//! this binary under valgrind to check the last part: `.ci/run` does).
//!
//! On a kernel without io_uring the uring runtimes are skipped (with a note on stderr).

mod common;

use std::net::Shutdown;
use std::time::{Duration, Instant};

use corio::io_util::{AsyncReadExt, AsyncWriteExt};
use corio::net::{TcpListener, TcpStream};
use corio::runtime::{Builder, IoDriverKind};
use corio::time::{sleep, timeout};

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = corio::spawn(async move { TcpStream::connect(addr).await });
    let (server, _) = listener.accept().await.unwrap();
    (client.await.unwrap().unwrap(), server)
}

#[test]
fn auto_picks_a_concrete_driver() {
    let rt = Builder::new_current_thread()
        .io_driver(IoDriverKind::Auto)
        .build()
        .unwrap();
    assert_ne!(rt.handle().io_driver(), IoDriverKind::Auto);
}

#[test]
fn echo_on_every_driver() {
    for (name, rt) in common::driver_runtimes() {
        rt.block_on(async {
            let (mut a, mut b) = pair().await;
            for i in 0..50u32 {
                let msg = format!("ping {i}");
                a.write_all(msg.as_bytes()).await.unwrap();
                let mut got = vec![0; msg.len()];
                b.read_exact(&mut got).await.unwrap();
                b.write_all(&got).await.unwrap();
                let mut back = vec![0; msg.len()];
                a.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg.as_bytes(), "{name}");
            }
        });
    }
}

#[test]
fn dropped_read_futures_lose_nothing_and_the_socket_stays_usable() {
    for (name, rt) in common::driver_runtimes() {
        rt.block_on(async {
            let (mut a, mut b) = pair().await;
            let mut buf = [0u8; 64];
            // Several reads dropped while the recv is in the kernel.
            for _ in 0..5 {
                let read = timeout(Duration::from_millis(5), b.read(&mut buf)).await;
                assert!(read.is_err(), "{name}: nothing was sent yet");
            }
            a.write_all(b"after the drops").await.unwrap();
            a.flush().await.unwrap();
            let n = b.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"after the drops", "{name}");

            // Data that arrives while no read future exists is kept for the next one.
            let read = timeout(Duration::from_millis(5), b.read(&mut buf)).await;
            assert!(read.is_err());
            a.write_all(b"parked").await.unwrap();
            a.flush().await.unwrap();
            sleep(Duration::from_millis(20)).await;
            let n = b.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"parked", "{name}");
        });
    }
}

#[test]
fn dropping_a_stream_with_a_read_in_flight_closes_the_connection() {
    for (name, rt) in common::driver_runtimes() {
        rt.block_on(async {
            let (mut a, mut b) = pair().await;
            let mut buf = [0u8; 16];
            assert!(
                timeout(Duration::from_millis(5), b.read(&mut buf))
                    .await
                    .is_err()
            );
            drop(b);
            // The peer sees the close (EOF) instead of a connection kept open by the recv.
            let n = timeout(Duration::from_secs(5), a.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("{name}: the dropped stream's socket stayed open"))
                .unwrap();
            assert_eq!(n, 0, "{name}");
        });
    }
}

#[test]
fn writes_before_a_drop_or_shutdown_are_delivered() {
    for (name, rt) in common::driver_runtimes() {
        rt.block_on(async {
            let (mut a, mut b) = pair().await;
            let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
            let expected = data.clone();
            let reader = corio::spawn(async move {
                let mut got = Vec::new();
                b.read_to_end(&mut got).await.unwrap();
                got
            });
            a.write_all(&data).await.unwrap();
            a.shutdown(Shutdown::Write).unwrap(); // ordered after the last send
            let got = reader.await.unwrap();
            assert_eq!(got.len(), expected.len(), "{name}");
            assert!(got == expected, "{name}: the bytes differ");

            let (mut a, mut b) = pair().await;
            let reader = corio::spawn(async move {
                let mut got = Vec::new();
                b.read_to_end(&mut got).await.unwrap();
                got.len()
            });
            a.write_all(&data).await.unwrap();
            drop(a); // a send still in the kernel finishes; then the socket closes
            assert_eq!(reader.await.unwrap(), data.len(), "{name}");
        });
    }
}

#[test]
fn dropped_accept_futures_lose_no_connection() {
    for (name, rt) in common::driver_runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            for _ in 0..3 {
                assert!(
                    timeout(Duration::from_millis(5), listener.accept())
                        .await
                        .is_err()
                );
            }
            let mut client = TcpStream::connect(addr).await.unwrap();
            // A connection the kernel accepted for a dropped future is not lost.
            sleep(Duration::from_millis(10)).await;
            let (mut server, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap(), "{name}");
            client.write_all(b"hi").await.unwrap();
            let mut buf = [0; 2];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hi");
        });
    }
}

#[test]
fn dropping_a_listener_with_an_accept_in_flight_frees_the_port() {
    for (name, rt) in common::driver_runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            assert!(
                timeout(Duration::from_millis(5), listener.accept())
                    .await
                    .is_err()
            );
            drop(listener);
            // The accept held a reference to the listening socket; the cancel releases it.
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match TcpListener::bind(addr).await {
                    Ok(_) => break,
                    Err(err) if Instant::now() < deadline => {
                        let _ = err;
                        sleep(Duration::from_millis(5)).await;
                    }
                    Err(err) => panic!("{name}: the port stayed bound: {err}"),
                }
            }
        });
    }
}

#[test]
fn dropped_connect_futures_leave_the_runtime_healthy() {
    for (name, rt) in common::driver_runtimes() {
        rt.block_on(async {
            // A listener that never accepts, with its backlog full: the kernel drops further
            // SYNs, so a connect stays in flight until the timeout drops it.
            let full =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            full.bind(
                &"127.0.0.1:0"
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
                    .into(),
            )
            .unwrap();
            full.listen(0).unwrap();
            let addr = full.local_addr().unwrap().as_socket().unwrap();
            let mut held = Vec::new();
            for _ in 0..4 {
                if let Ok(Ok(stream)) =
                    timeout(Duration::from_millis(20), TcpStream::connect(addr)).await
                {
                    held.push(stream);
                }
            }
            for _ in 0..3 {
                let attempt = timeout(Duration::from_millis(20), TcpStream::connect(addr)).await;
                assert!(attempt.is_err(), "{name}: the backlog was full");
            }
            drop(held);
            drop(full);
            let (mut a, mut b) = pair().await;
            a.write_all(b"still fine").await.unwrap();
            let mut buf = [0; 10];
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"still fine", "{name}");
        });
    }
}

#[test]
fn runtime_drop_with_ops_in_flight_cancels_them() {
    for (name, rt) in common::driver_runtimes() {
        let (a, b) = rt.block_on(pair());
        let blocked = rt.spawn(async move {
            let mut b = b;
            let mut buf = [0u8; 8];
            b.read(&mut buf).await
        });
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        rt.spawn(async move {
            let _ = listener.accept().await;
        });
        rt.block_on(sleep(Duration::from_millis(10)));
        let start = Instant::now();
        drop(rt);
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{name}: shutdown waited for the ops"
        );
        drop(blocked);
        drop(a);
    }
}

/// A rough side-by-side of the drivers (not a benchmark: debug build, shared machine):
/// `cargo test -p corio --test tcp_drivers -- --ignored --nocapture`.
#[test]
#[ignore]
fn ping_pong_timing() {
    for (name, rt) in common::driver_runtimes() {
        let elapsed = rt.block_on(async {
            let (mut a, mut b) = pair().await;
            let echo = corio::spawn(async move {
                let mut buf = [0u8; 64];
                loop {
                    match b.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => b.write_all(&buf[..n]).await.unwrap(),
                    }
                }
            });
            let start = Instant::now();
            let mut buf = [0u8; 64];
            for _ in 0..5_000 {
                a.write_all(b"0123456789abcdef").await.unwrap();
                a.read_exact(&mut buf[..16]).await.unwrap();
            }
            let elapsed = start.elapsed();
            drop(a);
            echo.await.unwrap();
            elapsed
        });
        eprintln!("{name}: 5000 round trips in {elapsed:?}");
    }
}

#[test]
fn more_ops_in_one_turn_than_the_submission_queue_holds() {
    // 300 connections each park a read in the same loop turn: more SQEs than the ring's
    // 256-entry SQ, so pushes flush a full queue on the way.
    const CONNS: usize = 300;
    for (name, rt) in common::driver_runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = corio::spawn(async move {
                let mut conns = Vec::new();
                for _ in 0..CONNS {
                    conns.push(listener.accept().await.unwrap().0);
                }
                let tasks: Vec<_> = conns
                    .into_iter()
                    .map(|mut conn| {
                        corio::spawn(async move {
                            let mut buf = [0u8; 4];
                            conn.read_exact(&mut buf).await.unwrap();
                            conn.write_all(&buf).await.unwrap();
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            });
            let mut clients = Vec::new();
            for _ in 0..CONNS {
                clients.push(TcpStream::connect(addr).await.unwrap());
            }
            // Let every server task park its read before any data arrives.
            sleep(Duration::from_millis(20)).await;
            for (i, client) in clients.iter_mut().enumerate() {
                client.write_all(&(i as u32).to_le_bytes()).await.unwrap();
            }
            for (i, client) in clients.iter_mut().enumerate() {
                let mut buf = [0u8; 4];
                client.read_exact(&mut buf).await.unwrap();
                assert_eq!(u32::from_le_bytes(buf), i as u32, "{name}");
            }
            server.await.unwrap();
        });
    }
}
