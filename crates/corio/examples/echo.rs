//! A TCP echo server: one task per connection; whatever a client sends comes back.
//!
//! ```text
//! cargo run --example echo              # listens on 127.0.0.1:8007
//! cargo run --example echo 0.0.0.0:9000
//! nc 127.0.0.1 8007                     # type a line, get it back
//! ```

use std::io;

use corio::io_util::copy;
use corio::net::{TcpListener, TcpStream};

#[corio::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8007".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("echo: listening on {}", listener.local_addr()?);
    serve(listener).await
}

/// Accepts forever, echoing each connection on its own task.
async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((conn, peer)) => {
                corio::spawn(async move {
                    match echo(conn).await {
                        Ok(bytes) => println!("echo: {peer} done after {bytes} bytes"),
                        Err(err) => eprintln!("echo: {peer}: {err}"),
                    }
                });
            }
            // Out of file descriptors, or a connection reset before we took it: the listener
            // itself is fine, so keep serving (a pause avoids spinning on EMFILE).
            Err(err) => {
                eprintln!("echo: accept failed: {err}");
                corio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Copies the connection's input to its output until the client closes its side.
async fn echo(conn: TcpStream) -> io::Result<u64> {
    // `&TcpStream` reads and writes, so one stream can be both ends of the copy.
    let bytes = copy(&conn, &mut &conn).await?;
    conn.shutdown(std::net::Shutdown::Write)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use corio::io_util::{AsyncReadExt, AsyncWriteExt};

    async fn start() -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        corio::spawn(serve(listener));
        addr
    }

    #[corio::test(flavor = "current_thread")]
    async fn echoes_on_the_current_thread_loop() {
        echoes_each_client_and_closes_after_the_client_does().await;
    }

    #[corio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn echoes_on_the_multi_thread_runtime() {
        echoes_each_client_and_closes_after_the_client_does().await;
    }

    async fn echoes_each_client_and_closes_after_the_client_does() {
        let addr = start().await;
        let mut clients = Vec::new();
        for id in 0..8u8 {
            clients.push(corio::spawn(async move {
                let conn = TcpStream::connect(addr).await.unwrap();
                // Larger than a socket buffer, so the echo must stream, not buffer it all.
                let message: Vec<u8> = (0..300_000u32).map(|i| (i as u8) ^ id).collect();
                let (mut rd, mut wr) = conn.into_split();
                let writer = corio::spawn({
                    let message = message.clone();
                    async move {
                        wr.write_all(&message).await.unwrap();
                        wr.close().await.unwrap(); // half-close: "I am done sending"
                    }
                });
                let mut echoed = Vec::new();
                rd.read_to_end(&mut echoed).await.unwrap(); // ends when the server closes
                writer.await.unwrap();
                assert!(echoed == message, "client {id}: echo differs");
            }));
        }
        for client in clients {
            client.await.unwrap();
        }
    }
}
