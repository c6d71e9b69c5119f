//! Profiling aid: the raw_epoll ceiling's canned-response loop on corio's TcpListener and
//! streams, one task per connection. The gap between this and raw_epoll is the runtime's
//! share of a request; the gap between this and hello_server is corio-web's.
use corio::io_util::{AsyncReadExt, AsyncWriteExt};
use corio::net::TcpListener;

const PLAINTEXT: &[u8] = b"HTTP/1.1 200 OK\r\nServer: raw\r\nDate: Mon, 23 Nov 2026 00:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8088".into());
    let rt = corio::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        loop {
            let (mut stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            corio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut have = 0;
                let mut out = Vec::with_capacity(16 * 1024);
                loop {
                    let Ok(n) = stream.read(&mut buf[have..]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    let filled = have + n;
                    let mut consumed = 0;
                    let mut i = 0;
                    out.clear();
                    while i + 4 <= filled {
                        if &buf[i..i + 4] == b"\r\n\r\n" {
                            out.extend_from_slice(PLAINTEXT);
                            i += 4;
                            consumed = i;
                        } else {
                            i += 1;
                        }
                    }
                    buf.copy_within(consumed..filled, 0);
                    have = filled - consumed;
                    if stream.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}
