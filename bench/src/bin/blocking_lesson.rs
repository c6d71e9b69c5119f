//! The blocking-I/O lesson, measured: what one kind of route does to everybody else's
//! requests. Four servers in turn, each a corio-web app on 2 workers with the same load —
//! 16 clients calling a route that takes 50 ms, while a prober pings `/ping` every 10 ms:
//!
//! - `async-awaits`: an `async fn` that awaits a timer (the right way for async work);
//! - `sync-pool`: a plain `fn` that sleeps its thread (the right way for blocking work: it
//!   runs on the blocking pool);
//! - `async-blocks`: an `async fn` that sleeps its thread (the mistake), with corio's
//!   slow-poll hand-off on (the default);
//! - `async-blocks-20ms`: the same, with the slow-poll threshold lowered from 100 ms to
//!   20 ms, so that hand-off starts on these 50 ms polls;
//! - `async-blocks-nohandoff`: the same mistake with hand-off off, as any other runtime.
//!
//! Prints `BENCH blocking/route rps ...` (the loaded route's requests/s),
//! `BENCH blocking/ping/p50 time_us ...` and `BENCH blocking/ping p99_us ...` (the prober's
//! latency). Clients and prober
//! are plain threads in this process, over keep-alive connections to 127.0.0.1.
//!
//!   blocking_lesson [SECONDS]     (default 3 per server)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use corio::runtime::Builder;
use corio_web::App;
use corio_web::server::Server;

const WORK: Duration = Duration::from_millis(50);
const CLIENTS: usize = 16;

async fn async_awaits() -> &'static str {
    corio::time::sleep(WORK).await;
    "done"
}

fn sync_pool() -> &'static str {
    std::thread::sleep(WORK);
    "done"
}

async fn async_blocks() -> &'static str {
    std::thread::sleep(WORK);
    "done"
}

async fn ping() -> &'static str {
    "pong"
}

/// A keep-alive HTTP/1.1 connection that sends GETs and reads `Content-Length` answers.
struct Client {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        }
    }

    /// One request; false if the connection failed.
    fn get(&mut self, path: &str) -> bool {
        if write!(self.stream, "GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").is_err() {
            return false;
        }
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).is_ok()
    }
}

struct Outcome {
    rps: f64,
    ping_p50: Duration,
    ping_p99: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Serves the route `kind` and loads it for `seconds`.
fn measure(kind: &'static str, seconds: u64) -> Outcome {
    let handoff = kind != "async-blocks-nohandoff";
    // The default threshold (100 ms) never sees a 50 ms poll; the `-20ms` variant lowers
    // it so that hand-off starts.
    let threshold = if kind == "async-blocks-20ms" { 20 } else { 100 };
    let runtime = Builder::new_multi_thread()
        .worker_threads(2)
        .max_extra_workers(if handoff { 2 } else { 0 })
        .slow_poll_threshold(Duration::from_millis(threshold))
        .build()
        .expect("runtime");
    let (addr_tx, addr_rx) = mpsc::channel();
    runtime.spawn(async move {
        let server = Server::bind("127.0.0.1:0").await.expect("bind");
        addr_tx.send(server.local_addr().unwrap()).unwrap();
        let app = App::new()
            .get("/async-awaits", async_awaits)
            .get("/sync-pool", sync_pool)
            .get("/async-blocks", async_blocks)
            .get("/async-blocks-nohandoff", async_blocks)
            .get("/async-blocks-20ms", async_blocks)
            .get("/ping", ping);
        let _ = server.serve(app).await;
    });
    let addr = addr_rx.recv().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let path = format!("/{kind}");
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (stop, done, path) = (stop.clone(), done.clone(), path.clone());
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                while !stop.load(Ordering::Relaxed) {
                    if !client.get(&path) {
                        break;
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Let the load settle, then count and probe.
    std::thread::sleep(Duration::from_millis(300));
    let mut prober = Client::connect(addr);
    let counted_from = done.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut pings = Vec::new();
    while start.elapsed() < Duration::from_secs(seconds) {
        let sent = Instant::now();
        assert!(prober.get("/ping"), "the prober's connection failed");
        pings.push(sent.elapsed());
        std::thread::sleep(Duration::from_millis(10));
    }
    let elapsed = start.elapsed();
    let counted = done.load(Ordering::Relaxed) - counted_from;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let _ = client.join();
    }
    runtime.shutdown_timeout(Duration::from_secs(2));
    pings.sort();
    Outcome {
        rps: counted as f64 / elapsed.as_secs_f64(),
        ping_p50: percentile(&pings, 0.50),
        ping_p99: percentile(&pings, 0.99),
    }
}

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.trim_end_matches('s').parse().ok())
        .unwrap_or(3);
    let kinds = [
        "async-awaits",
        "sync-pool",
        "async-blocks",
        "async-blocks-20ms",
        "async-blocks-nohandoff",
    ];
    let outcomes: Vec<(&str, Outcome)> = kinds
        .iter()
        .map(|kind| {
            eprintln!("# blocking_lesson: loading /{kind} for {seconds} s");
            (*kind, measure(kind, seconds))
        })
        .collect();
    let line = |value: &dyn Fn(&Outcome) -> String| {
        let values: Vec<String> = outcomes
            .iter()
            .map(|(kind, outcome)| format!("{kind}={}", value(outcome)))
            .collect();
        values.join(" ")
    };
    println!("# {CLIENTS} clients on a 50 ms route, 2 workers; /ping probed every 10 ms");
    println!(
        "BENCH blocking/route rps {}",
        line(&|o| format!("{:.0}", o.rps))
    );
    println!(
        "BENCH blocking/ping/p50 time_us {}",
        line(&|o| o.ping_p50.as_micros().to_string())
    );
    println!(
        "BENCH blocking/ping p99_us {}",
        line(&|o| o.ping_p99.as_micros().to_string())
    );
}
