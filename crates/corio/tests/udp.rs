//! UDP on the reactor: unconnected and connected exchanges, many datagrams, peeking.

mod common;

use common::runtimes;
use corio::net::UdpSocket;

#[test]
fn send_to_and_recv_from_many_datagrams() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let server_addr = server.local_addr().unwrap();
            // An echo task: every datagram goes back to its sender.
            corio::spawn(async move {
                let mut buf = [0; 1500];
                loop {
                    let (n, from) = server.recv_from(&mut buf).await.unwrap();
                    server.send_to(&buf[..n], from).await.unwrap();
                }
            });
            let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for i in 0..200u32 {
                let msg = i.to_be_bytes();
                client.send_to(&msg, server_addr).await.unwrap();
                let mut buf = [0; 16];
                let (n, from) = client.recv_from(&mut buf).await.unwrap();
                assert_eq!((&buf[..n], from), (&msg[..], server_addr), "{flavor}");
            }
        });
    }
}

#[test]
fn connected_send_recv_and_peek() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            a.connect(b.local_addr().unwrap()).await.unwrap();
            b.connect(a.local_addr().unwrap()).await.unwrap();
            assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());

            let sender = corio::spawn(async move {
                // Sent after the receiver is already waiting: the wake-up must arrive.
                corio::time::sleep(std::time::Duration::from_millis(10)).await;
                a.send(b"hello").await.unwrap();
                a
            });
            let mut buf = [0; 16];
            let (n, _) = b.peek_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hello", "{flavor}: peek");
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(
                &buf[..n],
                b"hello",
                "{flavor}: the peeked datagram is still there"
            );
            sender.await.unwrap();
        });
    }
}

#[test]
fn options_round_trip() {
    let rt = corio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        s.set_broadcast(true).unwrap();
        assert!(s.broadcast().unwrap());
        s.set_ttl(7).unwrap();
        assert_eq!(s.ttl().unwrap(), 7);
        assert!(s.take_error().unwrap().is_none());
        let std_socket = s.into_std().unwrap();
        assert!(std_socket.local_addr().unwrap().ip().is_loopback());
    });
}
