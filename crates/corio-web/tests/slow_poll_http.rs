//! Issue 7's proof at the HTTP level: an `async` handler that blocks its worker with
//! `std::thread::sleep` is named by corio's slow-poll warning (route and handler) within
//! 250 ms, and, with hand-off, other requests keep being answered in under 50 ms; with
//! hand-off off, the same load stalls them.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use corio::runtime::Builder;
use corio_web::App;
use corio_web::extract::Path;
use corio_web::server::Server;

/// A captured `corio::slow_poll` event: when, and its fields.
#[derive(Clone, Debug)]
struct Event {
    at: Instant,
    fields: HashMap<String, String>,
}

/// Collects the runtime's slow-poll events for the whole test binary.
#[derive(Default)]
struct Capture(Mutex<Vec<Event>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl tracing::Subscriber for &'static Capture {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "corio::slow_poll"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let at = Instant::now();
        self.0.lock().unwrap().push(Event { at, fields });
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::default());
        tracing::subscriber::set_global_default(capture).expect("the only subscriber");
        capture
    })
}

/// An `async` handler that blocks its worker: the mistake the warning is for.
async fn block(Path(ms): Path<u64>) -> &'static str {
    std::thread::sleep(Duration::from_millis(ms));
    "done"
}

async fn ping() -> &'static str {
    "pong"
}

/// One request on a new connection; the status line's code.
fn get(addr: SocketAddr, path: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// What a run saw: the ping latencies 250–900 ms into the blocked second, and the
/// slow-poll warning naming the route (when it came, after the requests were sent).
struct Run {
    pings: Vec<Duration>,
    warned_after: Option<Duration>,
    introspection: String,
}

/// Serves `prefix` routes on a 2-worker runtime, blocks both workers with two requests
/// of one second each, and pings the server meanwhile.
fn run(prefix: &'static str, max_extra_workers: usize) -> Run {
    let capture = capture();
    let runtime = Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_threshold(Duration::from_millis(100))
        .max_extra_workers(max_extra_workers)
        .build()
        .unwrap();
    let (addr_tx, addr_rx) = mpsc::channel();
    runtime.spawn(async move {
        let server = Server::bind("127.0.0.1:0").await.unwrap();
        addr_tx.send(server.local_addr().unwrap()).unwrap();
        let app = App::new()
            .get(&format!("{prefix}/block/{{ms}}"), block)
            .get(&format!("{prefix}/ping"), ping)
            .runtime_introspection(&format!("{prefix}/_corio"));
        let _ = server.serve(app).await;
    });
    let addr = addr_rx.recv().unwrap();
    assert_eq!(
        get(addr, &format!("{prefix}/ping")),
        200,
        "the server is up"
    );

    let start = Instant::now();
    let blockers: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(move || get(addr, &format!("{prefix}/block/1000"))))
        .collect();
    let mut pings = Vec::new();
    let mut introspection = String::new();
    while start.elapsed() < Duration::from_millis(900) {
        let sent = Instant::now();
        assert_eq!(get(addr, &format!("{prefix}/ping")), 200);
        if sent.duration_since(start) >= Duration::from_millis(250) {
            pings.push(sent.elapsed());
            if introspection.is_empty() && max_extra_workers > 0 {
                let mut stream = TcpStream::connect(addr).unwrap();
                write!(
                    stream,
                    "GET {prefix}/_corio/tasks HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                stream.read_to_string(&mut introspection).unwrap();
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for blocker in blockers {
        assert_eq!(blocker.join().unwrap(), 200);
    }
    let label = format!("GET {prefix}/block/{{ms}} → block");
    let warned_after = capture
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|e| e.fields.get("task_label") == Some(&label) && e.fields.contains_key("blocked_ms"))
        .map(|e| e.at.duration_since(start));
    runtime.shutdown_timeout(Duration::from_secs(2));
    Run {
        pings,
        warned_after,
        introspection,
    }
}

#[test]
fn a_blocking_handler_is_named_and_the_others_keep_answering() {
    let run = run("/handoff", 2);
    let warned = run
        .warned_after
        .expect("a slow-poll warning naming the route");
    assert!(
        warned < Duration::from_millis(250),
        "warned after {warned:?}"
    );
    assert!(!run.pings.is_empty());
    let slowest = run.pings.iter().max().unwrap();
    assert!(
        *slowest < Duration::from_millis(50),
        "pings during the blocked second: {:?}",
        run.pings
    );
    // The dump, served by the app itself meanwhile, shows the blocked route running.
    assert!(
        run.introspection
            .contains(r#""label":"GET /handoff/block/{ms} → block""#)
            && run.introspection.contains(r#""state":"running""#),
        "{}",
        run.introspection
    );
}

#[test]
fn without_hand_off_the_same_load_stalls_the_others() {
    let run = run("/stall", 0);
    assert!(run.warned_after.is_some(), "the warning comes all the same");
    let slowest = run
        .pings
        .iter()
        .max()
        .copied()
        .unwrap_or(Duration::from_secs(1));
    assert!(
        slowest > Duration::from_millis(300),
        "without hand-off a ping waits for a blocked worker: {:?}",
        run.pings
    );
}
