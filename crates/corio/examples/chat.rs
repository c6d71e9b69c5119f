//! A broadcast chat server: every line a client sends reaches every other client.
//!
//! ```text
//! cargo run --example chat              # listens on 127.0.0.1:8008
//! nc 127.0.0.1 8008                     # in two or more terminals; type away
//! ```
//!
//! One task reads each client's lines into a broadcast channel (the room); another task per
//! client delivers the room's messages to it. A client too slow to keep up is told how many
//! messages it missed instead of holding everyone else back.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use corio::io_util::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use corio::net::{OwnedWriteHalf, TcpListener, TcpStream};
use corio::sync::broadcast::{self, RecvError};

/// How many messages the room keeps for clients that fall behind.
const ROOM_BACKLOG: usize = 256;
/// The longest line a client may send; longer ones end the session (bounded memory).
const MAX_LINE: u64 = 4096;

#[corio::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8008".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("chat: listening on {}", listener.local_addr()?);
    serve(listener).await
}

/// A line of the conversation, and who must not get it back.
#[derive(Clone, Debug)]
struct Message {
    from: SocketAddr,
    text: Arc<str>,
}

/// Accepts forever; every client joins the same room.
async fn serve(listener: TcpListener) -> io::Result<()> {
    let (room, _) = broadcast::channel::<Message>(ROOM_BACKLOG);
    loop {
        match listener.accept().await {
            Ok((conn, peer)) => {
                // Subscribe before announcing, so the client misses nothing said after it
                // arrived; both here, in accept order, so a client never hears of one that
                // was accepted before it (its session task may run later than the next one).
                let inbox = room.subscribe();
                announce(&room, peer, "joined");
                corio::spawn(session(conn, peer, room.clone(), inbox));
            }
            Err(err) => {
                eprintln!("chat: accept failed: {err}");
                corio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// One client: announce, relay its lines to the room, announce its departure.
async fn session(
    conn: TcpStream,
    peer: SocketAddr,
    room: broadcast::Sender<Message>,
    inbox: broadcast::Receiver<Message>,
) {
    let (reader, writer) = conn.into_split();
    let delivery = corio::spawn(deliver(inbox, writer, peer));

    let mut reader = BufReader::new(reader);
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut reader).take(MAX_LINE).read_line(&mut line).await {
            Ok(0) => break, // the client hung up
            Ok(_) if !line.ends_with('\n') && line.len() as u64 == MAX_LINE => {
                eprintln!("chat: {peer}: line too long, disconnecting");
                break;
            }
            Ok(_) => {
                let text = line.trim_end();
                if !text.is_empty() {
                    // Err only when nobody listens, which cannot be: our own inbox does.
                    let _ = room.send(Message {
                        from: peer,
                        text: format!("{peer}: {text}").into(),
                    });
                }
            }
            Err(err) => {
                eprintln!("chat: {peer}: {err}");
                break;
            }
        }
    }
    delivery.abort();
    announce(&room, peer, "left");
}

fn announce(room: &broadcast::Sender<Message>, peer: SocketAddr, what: &str) {
    let _ = room.send(Message {
        from: peer,
        text: format!("* {peer} {what}").into(),
    });
}

/// Writes the room's messages to one client, except its own.
async fn deliver(
    mut inbox: broadcast::Receiver<Message>,
    mut out: OwnedWriteHalf,
    me: SocketAddr,
) -> io::Result<()> {
    loop {
        let text = match inbox.recv().await {
            Ok(message) if message.from == me => continue,
            Ok(message) => format!("{}\n", message.text),
            Err(RecvError::Lagged(missed)) => format!("* you missed {missed} messages\n"),
            Err(RecvError::Closed) => return Ok(()),
        };
        out.write_all(text.as_bytes()).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corio::io_util::{AsyncBufReadExt, BufReader};
    use corio::net::OwnedReadHalf;
    use corio::time::timeout;
    use std::time::Duration;

    struct Client {
        addr: SocketAddr,
        lines: BufReader<OwnedReadHalf>,
        out: OwnedWriteHalf,
    }

    impl Client {
        async fn connect(server: SocketAddr) -> Client {
            let conn = TcpStream::connect(server).await.unwrap();
            let addr = conn.local_addr().unwrap();
            let (rd, out) = conn.into_split();
            Client {
                addr,
                lines: BufReader::new(rd),
                out,
            }
        }

        async fn say(&mut self, text: &str) {
            self.out
                .write_all(format!("{text}\n").as_bytes())
                .await
                .unwrap();
        }

        async fn hear(&mut self) -> String {
            let mut line = String::new();
            timeout(Duration::from_secs(10), self.lines.read_line(&mut line))
                .await
                .expect("no message arrived")
                .unwrap();
            line.trim_end().to_owned()
        }
    }

    async fn conversation() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        corio::spawn(serve(listener));

        let mut ann = Client::connect(server).await;
        let mut bob = Client::connect(server).await;
        assert_eq!(ann.hear().await, format!("* {} joined", bob.addr));
        let mut cat = Client::connect(server).await;
        assert_eq!(ann.hear().await, format!("* {} joined", cat.addr));
        assert_eq!(bob.hear().await, format!("* {} joined", cat.addr));

        ann.say("hello, room").await;
        let expected = format!("{}: hello, room", ann.addr);
        assert_eq!(bob.hear().await, expected);
        assert_eq!(cat.hear().await, expected);

        bob.say("hi ann").await;
        let expected = format!("{}: hi ann", bob.addr);
        // Ann gets Bob's line; her own line never came back to her, so this is next.
        assert_eq!(ann.hear().await, expected);
        assert_eq!(cat.hear().await, expected);

        let cat_addr = cat.addr;
        drop(cat);
        assert_eq!(ann.hear().await, format!("* {cat_addr} left"));
        assert_eq!(bob.hear().await, format!("* {cat_addr} left"));
    }

    #[corio::test(flavor = "current_thread")]
    async fn a_conversation_on_the_current_thread_loop() {
        conversation().await;
    }

    #[corio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_conversation_on_the_multi_thread_runtime() {
        conversation().await;
    }
}
