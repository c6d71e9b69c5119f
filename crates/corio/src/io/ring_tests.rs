//! Ring sockets' multishot recv and accept, through the public types on an io_uring runtime:
//! every provided buffer goes back to the pool (read, dropped unread, or queued when a socket
//! closes), a reader that falls behind holds a bounded number of them, a drained pool falls
//! back to single-shot recvs without losing a byte, and connections a multishot accept queued
//! for a listener that is dropped are closed, not leaked.

use std::time::{Duration, Instant};

use crate::io::driver::uring::UringHandle;
use crate::io_util::{AsyncReadExt, AsyncWriteExt};
use crate::net::{TcpListener, TcpStream};
use crate::runtime::{Builder, IoDriverKind, Runtime};
use crate::time::sleep;

/// A current-thread runtime on io_uring with multishot ops, or `None` (skip) where the
/// kernel refuses them.
fn uring_runtime() -> Option<Runtime> {
    let rt = match Builder::new_current_thread()
        .io_driver(IoDriverKind::Uring)
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("skipping: io_uring unavailable: {err}");
            return None;
        }
    };
    let ring = rt.block_on(async { ring() });
    if !ring.multishot_recv() || !ring.multishot_accept() {
        eprintln!("skipping: no multishot ops (or CORIO_URING_SINGLESHOT is set)");
        return None;
    }
    Some(rt)
}

fn ring() -> UringHandle {
    crate::runtime::context::with_current(|h| h.driver().uring.clone())
        .ok()
        .flatten()
        .expect("an io_uring runtime")
}

/// Waits until the ring holds no provided buffer any more (the final CQEs of cancelled ops
/// arrive a loop turn or two after the cancel).
async fn all_buffers_back(ring: &UringHandle) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while ring.buffers_checked_out() != 0 {
        assert!(
            Instant::now() < deadline,
            "{} provided buffers never came back",
            ring.buffers_checked_out()
        );
        sleep(Duration::from_millis(5)).await;
    }
}

/// `len` bytes that differ per connection and per position.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

async fn connected_pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let addr = listener.local_addr().unwrap();
    let client = crate::spawn(async move { TcpStream::connect(addr).await });
    let (server, _) = listener.accept().await.unwrap();
    (client.await.unwrap().unwrap(), server)
}

#[test]
fn every_provided_buffer_comes_back() {
    let Some(rt) = uring_runtime() else { return };
    rt.block_on(async {
        let ring = ring();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        for seed in 0..20u8 {
            let (mut client, mut server) = connected_pair(&listener).await;
            let sent = pattern(seed, 10_000 + usize::from(seed) * 100);
            client.write_all(&sent).await.unwrap();
            client.shutdown(std::net::Shutdown::Write).unwrap();
            if seed % 2 == 0 {
                // Read everything: each drained buffer is recycled as it empties.
                let mut got = Vec::new();
                server.read_to_end(&mut got).await.unwrap();
                assert_eq!(got, sent, "connection {seed}");
            } else {
                // Read a little, let the rest queue, drop the socket unread.
                let mut first = [0u8; 10];
                server.read_exact(&mut first).await.unwrap();
                assert_eq!(first[..], sent[..10]);
                sleep(Duration::from_millis(20)).await;
                assert!(ring.buffers_checked_out() > 0, "the rest is queued");
                drop(server);
            }
        }
        all_buffers_back(&ring).await;
    });
}

#[test]
fn a_reader_that_falls_behind_holds_a_bounded_number_of_buffers() {
    let Some(rt) = uring_runtime() else { return };
    rt.block_on(async {
        let ring = ring();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut client, mut server) = connected_pair(&listener).await;
        let sent = pattern(7, 1 << 20);
        let writer = {
            let sent = sent.clone();
            crate::spawn(async move {
                client.write_all(&sent).await.unwrap();
                client.shutdown(std::net::Shutdown::Write).unwrap();
            })
        };
        // Arm the multishot recv, then stop reading for a while.
        let mut first = [0u8; 1];
        server.read_exact(&mut first).await.unwrap();
        sleep(Duration::from_millis(100)).await;
        let held = ring.buffers_checked_out();
        assert!(
            (1..=17).contains(&held),
            "{held} buffers held by one reader (the limit is 16 queued + 1 being read)"
        );
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.unwrap();
        writer.await.unwrap();
        assert_eq!(first[0], sent[0]);
        assert!(rest == sent[1..], "1 MiB arrives intact after the re-arms");
        all_buffers_back(&ring).await;
    });
}

#[test]
fn a_drained_pool_falls_back_to_single_shots_without_losing_bytes() {
    let Some(rt) = uring_runtime() else { return };
    rt.block_on(async {
        let ring = ring();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        // 80 readers that each queue up to 16 buffers want 1,280: more than the pool's 1,024.
        let mut pairs = Vec::new();
        for seed in 0..80u8 {
            let (mut client, mut server) = connected_pair(&listener).await;
            let sent = pattern(seed, 80 * 1024);
            client.write_all(&sent).await.unwrap();
            let mut first = [0u8; 1];
            server.read_exact(&mut first).await.unwrap();
            pairs.push((client, server, sent, first[0]));
        }
        sleep(Duration::from_millis(100)).await;
        assert!(
            ring.buffers_checked_out() > 900,
            "the pool is (nearly) drained"
        );
        for (seed, (client, mut server, sent, first)) in pairs.into_iter().enumerate() {
            drop(client);
            let mut rest = Vec::new();
            server.read_to_end(&mut rest).await.unwrap();
            assert_eq!(first, sent[0], "connection {seed}");
            assert!(
                rest == sent[1..],
                "connection {seed} lost or reordered bytes"
            );
        }
        all_buffers_back(&ring).await;
    });
}

#[test]
fn connections_queued_for_a_dropped_listener_are_closed() {
    let Some(rt) = uring_runtime() else { return };
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut clients = Vec::new();
        for _ in 0..10 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        // Taking one arms the multishot accept, which then queues the other nine.
        let (first, _) = listener.accept().await.unwrap();
        sleep(Duration::from_millis(50)).await;
        drop(listener);
        drop(first);
        for (i, mut client) in clients.into_iter().enumerate() {
            let mut byte = [0u8; 1];
            let read = crate::time::timeout(Duration::from_secs(5), client.read(&mut byte))
                .await
                .unwrap_or_else(|_| panic!("client {i} still open: its connection leaked"));
            // EOF, or a reset for a connection the kernel still had in its backlog.
            assert!(matches!(read, Ok(0) | Err(_)), "client {i}: {read:?}");
        }
    });
}

#[test]
fn a_listener_nobody_accepts_on_leaves_the_backlog_in_the_kernel() {
    let Some(rt) = uring_runtime() else { return };
    rt.block_on(async {
        let ring = ring();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let first = crate::spawn(async move { TcpStream::connect(addr).await });
        let (_server, _) = listener.accept().await.unwrap();
        let _first = first.await.unwrap().unwrap();
        let mut clients = Vec::new();
        for _ in 0..100 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        sleep(Duration::from_millis(50)).await;
        // The multishot accept stopped at its limit; accepting resumes from the backlog.
        for _ in 0..100 {
            let (mut server, _) = listener.accept().await.unwrap();
            server.write_all(b"x").await.unwrap();
        }
        for mut client in clients {
            let mut byte = [0u8; 1];
            client.read_exact(&mut byte).await.unwrap();
            assert_eq!(&byte, b"x");
        }
        assert_eq!(ring.buffers_checked_out(), 0);
    });
}

/// Two workers submitting at once: a socket dropped while the other worker keeps the SQ busy
/// must still close (its fd was once leaked when `flush` waited for an empty SQ, and the
/// echo task on the other end waited for EOF forever; this hung 3 runs in 4).
#[test]
fn sixty_four_echo_connections_on_two_workers() {
    let rt = match Builder::new_multi_thread()
        .worker_threads(2)
        .io_driver(IoDriverKind::Uring)
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("skipping: io_uring unavailable: {err}");
            return;
        }
    };
    const CONNS: usize = 64;
    const MSGS: usize = 50;
    const SIZE: usize = 4096;
    let done = rt.block_on(async {
        let echoes = crate::spawn(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = crate::spawn(async move {
                let mut echoes = Vec::new();
                for _ in 0..CONNS {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    echoes.push(crate::spawn(async move {
                        let mut buf = vec![0; SIZE];
                        let mut echoed = 0;
                        loop {
                            let n = stream.read(&mut buf).await.unwrap();
                            if n == 0 {
                                return echoed;
                            }
                            stream.write_all(&buf[..n]).await.unwrap();
                            echoed += n;
                        }
                    }));
                }
                let mut echoed = 0;
                for echo in echoes {
                    echoed += echo.await.unwrap();
                }
                echoed
            });
            let mut streams = Vec::new();
            for _ in 0..CONNS {
                streams.push(TcpStream::connect(addr).await.unwrap());
            }
            let clients: Vec<_> = streams
                .into_iter()
                .enumerate()
                .map(|(id, mut stream)| {
                    crate::spawn(async move {
                        let mut msg = vec![id as u8; SIZE];
                        let mut back = vec![0; SIZE];
                        for i in 0..MSGS {
                            msg[..8].copy_from_slice(&(i as u64).to_le_bytes());
                            stream.write_all(&msg).await.unwrap();
                            stream.read_exact(&mut back).await.unwrap();
                            assert!(back == msg, "connection {id} message {i}");
                        }
                        MSGS * SIZE
                    })
                })
                .collect();
            let mut sent = 0;
            for client in clients {
                sent += client.await.unwrap();
            }
            assert_eq!(server.await.unwrap(), sent);
            sent
        });
        crate::time::timeout(Duration::from_secs(30), echoes)
            .await
            .expect("hung: an echo task never saw its client close")
            .unwrap()
    });
    assert_eq!(done, CONNS * MSGS * SIZE);
}
