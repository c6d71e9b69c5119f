//! TCP on the reactor: echo, half-close, resets, cancellation safety, options, refusal.

mod common;

use std::net::Shutdown;
use std::time::Duration;

use common::runtimes;
use corio::io_util::{AsyncReadExt, AsyncWriteExt};
use corio::net::{TcpListener, TcpStream};

async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    corio::spawn(async move {
        loop {
            let Ok((conn, _)) = listener.accept().await else {
                return;
            };
            corio::spawn(common::echo(conn));
        }
    });
    addr
}

#[test]
fn echo_round_trips_on_both_flavors() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let addr = echo_server().await;
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.set_nodelay(true).unwrap();
            assert!(client.nodelay().unwrap());
            for i in 0..100u32 {
                let msg = format!("message {i}");
                client.write_all(msg.as_bytes()).await.unwrap();
                let mut back = vec![0; msg.len()];
                client.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg.as_bytes(), "{flavor}");
            }
        });
    }
}

#[test]
fn large_transfer_with_many_connections() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let addr = echo_server().await;
            let clients: Vec<_> = (0..16u8)
                .map(|id| {
                    corio::spawn(async move {
                        let stream = TcpStream::connect(addr).await.unwrap();
                        let (mut rd, mut wr) = stream.into_split();
                        let payload: Vec<u8> = (0..256 * 1024)
                            .map(|i| (i as u8).wrapping_add(id))
                            .collect();
                        let expected = payload.clone();
                        // Write and read concurrently: a 256 KiB echo would deadlock otherwise.
                        let writer = corio::spawn(async move {
                            wr.write_all(&payload).await.unwrap();
                            wr
                        });
                        let mut got = vec![0; expected.len()];
                        rd.read_exact(&mut got).await.unwrap();
                        let wr = writer.await.unwrap();
                        assert!(rd.reunite(wr).is_ok());
                        got == expected
                    })
                })
                .collect();
            for c in clients {
                assert!(c.await.unwrap(), "{flavor}: echoed bytes differ");
            }
        });
    }
}

#[test]
fn half_close_lets_the_peer_finish_reading_and_reply() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = corio::spawn(async move {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut all = Vec::new();
                conn.read_to_end(&mut all).await.unwrap(); // ends at the client's FIN
                conn.write_all(format!("got {} bytes", all.len()).as_bytes())
                    .await
                    .unwrap();
            });
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.write_all(&[7; 1000]).await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let mut reply = String::new();
            client.read_to_string(&mut reply).await.unwrap();
            assert_eq!(reply, "got 1000 bytes", "{flavor}");
            server.await.unwrap();
        });
    }
}

#[test]
fn peer_reset_is_an_error_not_a_hang() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (server_side, _) = listener.accept().await.unwrap();
            // SO_LINGER 0 then close: the peer gets RST instead of FIN.
            let std_server = server_side.into_std().unwrap();
            socket2::SockRef::from(&std_server)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(std_server);
            let mut client = client;
            let mut buf = [0; 16];
            let res = corio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
                .await
                .expect("read after reset must not hang");
            match res {
                Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{flavor}"),
                Ok(n) => assert_eq!(n, 0, "{flavor}: reset surfaced as EOF"),
            }
        });
    }
}

#[test]
fn dropped_read_future_loses_nothing() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (mut server_side, _) = listener.accept().await.unwrap();
            // A read that times out (is dropped mid-operation) before data arrives...
            let mut buf = [0; 8];
            let timed_out =
                corio::time::timeout(Duration::from_millis(20), client.read(&mut buf)).await;
            assert!(timed_out.is_err());
            // ...then the data comes, and the next read gets all of it.
            server_side.write_all(b"payload!").await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"payload!", "{flavor}");
        });
    }
}

#[test]
fn vectored_write_and_peek() {
    use corio::io_util::AsyncWriteExt as _;
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (mut server_side, _) = listener.accept().await.unwrap();
            let bufs = [std::io::IoSlice::new(b"ab"), std::io::IoSlice::new(b"cd")];
            let n = client.write_vectored(&bufs).await.unwrap();
            assert_eq!(n, 4, "{flavor}");
            let mut peeked = [0; 4];
            let mut seen = 0;
            while seen < 4 {
                seen = server_side.peek(&mut peeked).await.unwrap();
            }
            assert_eq!(&peeked, b"abcd");
            let mut read = [0; 4];
            server_side.read_exact(&mut read).await.unwrap();
            assert_eq!(&read, b"abcd", "peek did not consume");
        });
    }
}

#[test]
fn connect_errors_are_reported() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // Bind then drop: nothing listens on that port any more.
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            };
            let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::ConnectionRefused,
                "{flavor}"
            );
        });
    }
}

#[test]
fn keepalive_and_ttl_options() {
    let rt = corio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = echo_server().await;
        let client = TcpStream::connect(addr).await.unwrap();
        client.set_keepalive(Some(Duration::from_secs(30))).unwrap();
        assert!(client.keepalive().unwrap());
        client.set_keepalive(None).unwrap();
        assert!(!client.keepalive().unwrap());
        client.set_ttl(42).unwrap();
        assert_eq!(client.ttl().unwrap(), 42);
    });
}

#[test]
fn accepted_and_connected_sockets_are_non_blocking_and_close_on_exec() {
    use std::os::fd::AsRawFd;
    let flags = |fd: i32| {
        // SAFETY: fcntl queries on a descriptor we own.
        unsafe {
            (
                libc::fcntl(fd, libc::F_GETFL),
                libc::fcntl(fd, libc::F_GETFD),
            )
        }
    };
    corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server_side, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        for stream in [client.into_std().unwrap(), server_side.into_std().unwrap()] {
            let (status, descriptor) = flags(stream.as_raw_fd());
            assert_ne!(status & libc::O_NONBLOCK, 0, "not non-blocking");
            assert_ne!(descriptor & libc::FD_CLOEXEC, 0, "not close-on-exec");
        }
    });
}
