//! Unix-domain sockets on the reactor: echo, pairs, half-close, datagrams, refusal, split.

mod common;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::runtimes;
use corio::io_util::{AsyncReadExt, AsyncWriteExt};
use corio::net::{UnixDatagram, UnixListener, UnixStream};

/// A fresh directory under the system temp dir, removed (with its sockets) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "corio-unix-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn echo_over_listener_on_both_flavors() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new();
        let path = dir.path("echo.sock");
        rt.block_on(async {
            let listener = UnixListener::bind(&path).await.unwrap();
            assert_eq!(
                listener.local_addr().unwrap().as_pathname(),
                Some(path.as_path())
            );
            corio::spawn(async move {
                loop {
                    let Ok((conn, _)) = listener.accept().await else {
                        return;
                    };
                    corio::spawn(common::echo(conn));
                }
            });
            let clients: Vec<_> = (0..8u32)
                .map(|id| {
                    let path = path.clone();
                    corio::spawn(async move {
                        let mut client = UnixStream::connect(&path).await.unwrap();
                        assert_eq!(client.peer_addr().unwrap().as_pathname(), Some(&*path));
                        for i in 0..50u32 {
                            let msg = format!("client {id} message {i}");
                            client.write_all(msg.as_bytes()).await.unwrap();
                            let mut back = vec![0; msg.len()];
                            client.read_exact(&mut back).await.unwrap();
                            assert_eq!(back, msg.as_bytes());
                        }
                    })
                })
                .collect();
            for client in clients {
                client
                    .await
                    .unwrap_or_else(|_| panic!("{flavor}: client failed"));
            }
        });
    }
}

#[test]
fn pair_round_trips() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (mut a, b) = UnixStream::pair().unwrap();
            let reader = corio::spawn(async move {
                let mut b = b;
                let mut got = vec![0; 64 * 1024];
                b.read_exact(&mut got).await.unwrap();
                // Reply through a shared reference.
                (&b).write_all(b"done").await.unwrap();
                got
            });
            let payload: Vec<u8> = (0..64 * 1024).map(|i| i as u8).collect();
            a.write_all(&payload).await.unwrap();
            let mut reply = [0; 4];
            a.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"done", "{flavor}");
            assert_eq!(reader.await.unwrap(), payload, "{flavor}");
        });
    }
}

#[test]
fn half_close_lets_peer_finish_and_reply() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let peer = corio::spawn(async move {
                let mut got = Vec::new();
                b.read_to_end(&mut got).await.unwrap();
                b.write_all(format!("got {} bytes", got.len()).as_bytes())
                    .await
                    .unwrap();
                got
            });
            a.write_all(b"request body").await.unwrap();
            a.shutdown(Shutdown::Write).unwrap();
            let mut reply = String::new();
            a.read_to_string(&mut reply).await.unwrap();
            assert_eq!(reply, "got 12 bytes", "{flavor}");
            assert_eq!(peer.await.unwrap(), b"request body", "{flavor}");
        });
    }
}

#[test]
fn close_on_write_half_sends_eof() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let (mut rd, mut wr) = a.into_split();
            wr.write_all(b"bye").await.unwrap();
            wr.close().await.unwrap();
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"bye", "{flavor}");
            b.write_all(b"ok").await.unwrap();
            drop(b);
            let mut reply = Vec::new();
            rd.read_to_end(&mut reply).await.unwrap();
            assert_eq!(reply, b"ok", "{flavor}");
        });
    }
}

#[test]
fn datagrams_between_bound_sockets_and_pairs() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new();
        let (pa, pb) = (dir.path("a.sock"), dir.path("b.sock"));
        rt.block_on(async {
            let a = UnixDatagram::bind(&pa).unwrap();
            let b = UnixDatagram::bind(&pb).unwrap();
            // The receiver waits first, so recv_from really parks.
            let receiver = corio::spawn(async move {
                let mut buf = [0; 64];
                let (n, from) = b.recv_from(&mut buf).await.unwrap();
                (buf[..n].to_vec(), from.as_pathname().map(PathBuf::from))
            });
            corio::task::yield_now().await;
            assert_eq!(a.send_to(b"hello", &pb).await.unwrap(), 5);
            let (got, from) = receiver.await.unwrap();
            assert_eq!(got, b"hello", "{flavor}");
            assert_eq!(from.as_deref(), Some(pa.as_path()), "{flavor}");

            // Connected: send/recv, and an unbound sender.
            let c = UnixDatagram::unbound().unwrap();
            c.connect(&pa).unwrap();
            assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(pa.as_path()));
            c.send(b"from unbound").await.unwrap();
            let mut buf = [0; 64];
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"from unbound", "{flavor}");
            assert!(from.as_pathname().is_none(), "{flavor}");

            let (x, y) = UnixDatagram::pair().unwrap();
            let echo = corio::spawn(async move {
                let mut buf = [0; 64];
                let n = y.recv(&mut buf).await.unwrap();
                y.send(&buf[..n]).await.unwrap();
            });
            x.send(b"ping").await.unwrap();
            let n = x.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping", "{flavor}");
            echo.await.unwrap();
        });
    }
}

#[test]
fn connect_to_missing_path_fails() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new();
        rt.block_on(async {
            let err = UnixStream::connect(dir.path("nobody.sock"))
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::NotFound | ErrorKind::ConnectionRefused
                ),
                "{flavor}: {err:?}"
            );

            // A socket file nobody listens on any more is refused.
            let path = dir.path("stale.sock");
            drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
            let err = UnixStream::connect(&path).await.unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::ConnectionRefused,
                "{flavor}: {err:?}"
            );
        });
    }
}

#[test]
fn into_split_and_reunite() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let (mut rd, mut wr) = a.into_split();
            let payload: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
            let expected = payload.clone();
            // Echo on the other side; write and read concurrently so nothing deadlocks.
            corio::spawn(async move {
                let mut buf = vec![0; 8192];
                loop {
                    match b.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => b.write_all(&buf[..n]).await.unwrap(),
                    }
                }
            });
            let writer = corio::spawn(async move {
                wr.write_all(&payload).await.unwrap();
                wr
            });
            let mut got = vec![0; expected.len()];
            rd.read_exact(&mut got).await.unwrap();
            assert!(got == expected, "{flavor}");
            let wr = writer.await.unwrap();
            assert!(rd.as_ref().peer_addr().is_ok());

            // Halves of different streams do not reunite.
            let (other, _keep) = UnixStream::pair().unwrap();
            let (other_rd, other_wr) = other.into_split();
            let (rd, other_wr) = rd.reunite(other_wr).unwrap_err();
            assert!(other_rd.reunite(other_wr).is_ok());
            let stream = rd.reunite(wr).unwrap();
            let std = stream.into_std().unwrap();
            let stream = UnixStream::from_std(std).unwrap();
            stream.shutdown(Shutdown::Both).unwrap();
        });
    }
}

#[test]
fn listener_std_round_trip() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new();
        let path = dir.path("std.sock");
        rt.block_on(async {
            let listener = UnixListener::bind(&path).await.unwrap();
            let listener = UnixListener::from_std(listener.into_std().unwrap()).unwrap();
            let client = UnixStream::connect(&path).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            assert!(client.take_error().unwrap().is_none(), "{flavor}");
            assert_eq!(
                server.local_addr().unwrap().as_pathname(),
                Some(path.as_path())
            );
        });
    }
}

#[test]
fn connect_waits_while_backlog_is_full() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new();
        let path = dir.path("backlog.sock");
        rt.block_on(async {
            // A backlog of one: the kernel turns further non-blocking connects away (EAGAIN)
            // until the listener accepts, and `connect` must keep waiting instead of failing.
            let socket =
                socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
            socket
                .bind(&socket2::SockAddr::unix(&path).unwrap())
                .unwrap();
            socket.listen(1).unwrap();
            let listener = UnixListener::from_std(socket.into()).unwrap();
            let clients: Vec<_> = (0..16)
                .map(|_| {
                    let path = path.clone();
                    corio::spawn(async move { UnixStream::connect(&path).await })
                })
                .collect();
            corio::time::sleep(std::time::Duration::from_millis(30)).await;
            let mut accepted = Vec::new();
            for _ in 0..16 {
                accepted.push(listener.accept().await.unwrap().0);
            }
            for client in clients {
                client
                    .await
                    .unwrap()
                    .unwrap_or_else(|e| panic!("{flavor}: {e}"));
            }
        });
    }
}
