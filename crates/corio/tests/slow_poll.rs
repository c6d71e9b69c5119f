//! Slow-poll detection, worker hand-off and task introspection (issue 7).
//!
//! The runtime's warnings are captured by a small `tracing` subscriber installed for the whole
//! test binary (the monitor warns from its own thread); each test finds its own events by the
//! names of its tasks, so the tests may run in parallel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc as std_mpsc};
use std::time::{Duration, Instant};

use corio::runtime::{Builder, Runtime};
use corio::task::{self, Label, TaskState};

/// One captured `corio::slow_poll` event.
#[derive(Clone, Debug)]
struct Captured {
    at: Instant,
    message: String,
    fields: HashMap<String, String>,
}

#[derive(Default)]
struct Capture {
    events: Mutex<Vec<Captured>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl tracing::Subscriber for Capture {
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
        let message = fields.remove("message").unwrap_or_default();
        self.events.lock().unwrap().push(Captured {
            at: Instant::now(),
            message,
            fields,
        });
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::default());
        tracing::subscriber::set_global_default(Forward(capture))
            .expect("no other subscriber in this test binary");
        capture
    })
}

/// The global subscriber: forwards to the leaked `Capture`.
struct Forward(&'static Capture);

impl tracing::Subscriber for Forward {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        self.0.enabled(metadata)
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        self.0.new_span(attrs)
    }
    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        self.0.record(span, values)
    }
    fn record_follows_from(&self, span: &tracing::span::Id, follows: &tracing::span::Id) {
        self.0.record_follows_from(span, follows)
    }
    fn event(&self, event: &tracing::Event<'_>) {
        self.0.event(event)
    }
    fn enter(&self, span: &tracing::span::Id) {
        self.0.enter(span)
    }
    fn exit(&self, span: &tracing::span::Id) {
        self.0.exit(span)
    }
}

/// The captured events about the task named `name`.
fn events_for(name: &str) -> Vec<Captured> {
    capture()
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.fields.get("task_name").map(String::as_str) == Some(name))
        .cloned()
        .collect()
}

/// Waits up to `limit` for `cond`.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    cond()
}

fn multi_thread(extra_workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_threshold(Duration::from_millis(100))
        .max_extra_workers(extra_workers)
        .build()
        .unwrap()
}

static HANDLER: Label = Label::new("GET /items/{item_id} → read_item");

/// Spawns a named task that labels itself and blocks its worker in `std::thread::sleep`.
/// Returns when it has started blocking, with the instant it started and the spawn line.
fn spawn_blocker(
    rt: &Runtime,
    name: &str,
    blocked: Duration,
    started: &Arc<AtomicUsize>,
) -> (corio::task::JoinHandle<()>, u32) {
    let started = started.clone();
    let blocker = async move {
        task::set_label(Some(&HANDLER));
        started.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(blocked);
        task::set_label(None);
    };
    let handle = task::Builder::new()
        .name(name)
        .spawn_on(blocker, rt.handle());
    let line = line!() - 1;
    (handle, line)
}

#[test]
fn a_blocking_task_is_named_within_250ms() {
    capture();
    let rt = multi_thread(2);
    let started = Arc::new(AtomicUsize::new(0));
    let (blocker, line) = spawn_blocker(&rt, "blocker-named", Duration::from_secs(1), &started);
    assert!(wait_for(Duration::from_secs(2), || started
        .load(Ordering::SeqCst)
        == 1));
    let blocking_since = Instant::now();

    assert!(
        wait_for(Duration::from_secs(2), || !events_for("blocker-named")
            .is_empty()),
        "no slow-poll warning"
    );
    let warning = events_for("blocker-named").remove(0);
    let delay = warning.at - blocking_since;
    assert!(
        delay < Duration::from_millis(250),
        "warned after {delay:?}: {warning:?}"
    );
    let location = format!("{}:{line}:", file!());
    assert!(
        warning.fields["task_location"].starts_with(&location),
        "{warning:?} does not point at {location}"
    );
    assert_eq!(warning.fields["task_label"], HANDLER.as_str());
    assert!(warning.message.contains("blocker-named"), "{warning:?}");
    assert!(warning.message.contains(HANDLER.as_str()), "{warning:?}");
    assert!(warning.message.contains(&location), "{warning:?}");
    let blocked_ms: u64 = warning.fields["blocked_ms"].parse().unwrap();
    assert!((100..250).contains(&blocked_ms), "{warning:?}");

    rt.block_on(blocker).unwrap();
    assert!(
        wait_for(Duration::from_secs(1), || events_for("blocker-named").len()
            == 2),
        "no event when the poll returned"
    );
    let returned = events_for("blocker-named").remove(1);
    let total_ms: u64 = returned.fields["total_ms"].parse().unwrap();
    assert!((900..2_000).contains(&total_ms), "{returned:?}");
    assert!(rt.handle().metrics().slow_polls >= 1);
}

/// Round trips to an echo task from a plain thread, every 10 ms, for `window`; returns the
/// longest one. The echo task runs on the runtime's workers, like a request handler.
fn longest_round_trip(rt: &Runtime, window: Duration) -> Duration {
    let (tx, mut rx) = corio::sync::mpsc::channel::<std_mpsc::SyncSender<()>>(16);
    rt.spawn(async move {
        while let Some(reply) = rx.recv().await {
            let _ = reply.send(());
        }
    });
    let deadline = Instant::now() + window;
    let mut longest = Duration::ZERO;
    while Instant::now() < deadline {
        let (reply_tx, reply_rx) = std_mpsc::sync_channel(1);
        let sent = Instant::now();
        tx.try_send(reply_tx).expect("the echo task keeps up");
        reply_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the echo task answers");
        longest = longest.max(sent.elapsed());
        std::thread::sleep(Duration::from_millis(10));
    }
    longest
}

/// Blocks both workers of a 2-worker runtime with two blocking tasks; returns the longest
/// round trip to an echo task from 250 ms into the blocked second (once the warnings are
/// out) to 900 ms, and the runtime's metrics afterwards.
fn block_every_worker(rt: &Runtime, prefix: &str) -> Duration {
    let started = Arc::new(AtomicUsize::new(0));
    let names = [format!("{prefix}-1"), format!("{prefix}-2")];
    let blockers: Vec<_> = names
        .iter()
        .map(|name| spawn_blocker(rt, name, Duration::from_secs(1), &started).0)
        .collect();
    assert!(
        wait_for(Duration::from_secs(2), || started.load(Ordering::SeqCst)
            == 2),
        "both blockers started"
    );
    let blocking_since = Instant::now();
    std::thread::sleep(Duration::from_millis(250).saturating_sub(blocking_since.elapsed()));
    let longest = longest_round_trip(rt, Duration::from_millis(650));
    for name in &names {
        assert!(!events_for(name).is_empty(), "{name} was not reported");
    }
    for blocker in blockers {
        rt.block_on(blocker).unwrap();
    }
    longest
}

#[test]
fn other_tasks_keep_running_while_every_worker_blocks() {
    capture();
    let rt = multi_thread(2);
    let longest = block_every_worker(&rt, "handoff");
    assert!(
        longest < Duration::from_millis(50),
        "a round trip took {longest:?} while both workers were blocked"
    );
    let metrics = rt.handle().metrics();
    assert!(metrics.hand_offs >= 2, "{metrics}");
    // The stuck polls returned: the replacement workers retire.
    assert!(
        wait_for(Duration::from_secs(2), || rt
            .handle()
            .metrics()
            .extra_workers
            == 0),
        "{}",
        rt.handle().metrics()
    );
    // And the runtime still runs.
    assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
}

/// An echo server on the runtime, a blocking client on a plain thread: one round trip of
/// `msg`, or the error.
fn echo_round_trip(client: &mut std::net::TcpStream, msg: &[u8]) -> std::io::Result<()> {
    use std::io::{Read, Write};
    client.write_all(msg)?;
    let mut back = vec![0; msg.len()];
    client.read_exact(&mut back)?;
    assert_eq!(back, msg);
    Ok(())
}

#[test]
fn sockets_keep_being_served_while_every_worker_blocks() {
    // On io_uring each worker has its own ring, and a connection's ops sit in the ring of
    // the worker that last polled it: the replacement for a stuck worker must take over its
    // ring, or that worker's connections stall with it. (On epoll: the shared reactor.)
    use corio::io_util::{AsyncReadExt, AsyncWriteExt};
    capture();
    let rt = multi_thread(3);
    let listener = rt
        .block_on(corio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            corio::spawn(async move {
                let mut buf = [0; 64];
                while let Ok(n @ 1..) = conn.read(&mut buf).await {
                    if conn.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    // Several connections, so both workers' rings hold some of them.
    let mut clients: Vec<_> = (0..8)
        .map(|_| {
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            client
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            echo_round_trip(&mut client, b"warm-up").unwrap();
            client
        })
        .collect();

    // Blockers one after another, each once the last one was handed off: a later blocker
    // may land on a replacement, whose own replacement must then take over the ring the
    // first stuck worker used (not its slot's).
    let rt_handle = rt.handle().clone();
    let started = Arc::new(AtomicUsize::new(0));
    let blocked = Duration::from_millis(2000);
    let mut blockers = Vec::new();
    let mut first_blocked = None;
    for (n, name) in ["io-blocker-1", "io-blocker-2", "io-blocker-3"]
        .iter()
        .enumerate()
    {
        blockers.push(spawn_blocker(&rt, name, blocked, &started).0);
        assert!(
            wait_for(Duration::from_secs(2), || {
                started.load(Ordering::SeqCst) == n + 1 && rt_handle.metrics().hand_offs > n as u64
            }),
            "blocker {n} started and was handed off"
        );
        first_blocked.get_or_insert_with(Instant::now);
    }
    let first_blocked = first_blocked.expect("three blockers");
    for round in 0..5 {
        for (i, client) in clients.iter_mut().enumerate() {
            let msg = format!("round {round} client {i}");
            echo_round_trip(client, msg.as_bytes()).unwrap();
        }
    }
    // Every blocker is still blocking (the first returns `blocked` after it started).
    let served_within = first_blocked.elapsed();
    assert!(
        served_within < blocked - Duration::from_millis(200),
        "the echoes took {served_within:?}: they waited for the blocked workers"
    );
    for blocker in blockers {
        rt.block_on(blocker).unwrap();
    }
    // And every connection still works once the workers are back.
    for client in &mut clients {
        echo_round_trip(client, b"after").unwrap();
    }
}

#[test]
fn without_hand_off_blocking_tasks_stall_the_runtime() {
    capture();
    let rt = multi_thread(0);
    let longest = block_every_worker(&rt, "no-handoff");
    assert!(
        longest > Duration::from_millis(300),
        "the runtime did not stall ({longest:?}): the test no longer shows what hand-off does"
    );
    let metrics = rt.handle().metrics();
    assert_eq!(metrics.hand_offs, 0, "{metrics}");
    assert!(metrics.slow_polls >= 2, "{metrics}");
}

#[test]
fn a_current_thread_runtime_warns() {
    capture();
    let rt = Builder::new_current_thread()
        .slow_poll_threshold(Duration::from_millis(50))
        .build()
        .unwrap();
    rt.block_on(async {
        task::Builder::new()
            .name("ct-blocker")
            .spawn(async { std::thread::sleep(Duration::from_millis(300)) })
            .await
            .unwrap();
    });
    assert!(
        wait_for(Duration::from_secs(1), || events_for("ct-blocker").len()
            == 2),
        "{:?}",
        events_for("ct-blocker")
    );
    assert_eq!(events_for("ct-blocker")[0].fields["handed_off"], "false");
    assert!(rt.handle().metrics().slow_polls >= 1);
}

#[test]
fn a_blocking_block_on_future_is_reported() {
    capture();
    let rt = Builder::new_current_thread()
        .thread_name("blocking-main")
        .slow_poll_threshold(Duration::from_millis(50))
        .build()
        .unwrap();
    rt.block_on(async { std::thread::sleep(Duration::from_millis(200)) });
    assert!(wait_for(Duration::from_secs(1), || {
        rt.handle().metrics().slow_polls >= 1
    }));
}

#[test]
fn detection_can_be_switched_off() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_detection(false)
        .build()
        .unwrap();
    rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(150)) }))
        .unwrap();
    let metrics = rt.handle().metrics();
    assert_eq!(metrics.slow_polls, 0);
    assert_eq!(metrics.polls, None);
    assert!(rt.handle().dump().tasks.iter().all(|t| t.busy.is_none()));
}

#[test]
fn the_dump_lists_a_named_task_with_its_spawn_location() {
    for rt in [
        Builder::new_current_thread().build().unwrap(),
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ] {
        let (tx, rx) = corio::sync::oneshot::channel::<()>();
        let line = line!() + 1;
        let ticker = task::Builder::new().name("ticker").spawn_on(
            async move {
                static WAITING: Label = Label::new("waiting for the signal");
                task::set_label(Some(&WAITING));
                let _ = rx.await;
            },
            rt.handle(),
        );
        // Let it run once (it labels itself), then look.
        assert!(wait_for(Duration::from_secs(2), || {
            let dump = rt.handle().dump();
            dump.tasks
                .iter()
                .any(|t| t.id == ticker.id() && t.polls >= 1 && t.state == TaskState::Idle)
                || {
                    // A current-thread runtime runs tasks only inside block_on.
                    rt.block_on(corio::task::yield_now());
                    false
                }
        }));
        let dump = rt.handle().dump();
        let info = dump.tasks.iter().find(|t| t.id == ticker.id()).unwrap();
        assert_eq!(info.name.as_deref(), Some("ticker"));
        assert_eq!(info.label, Some("waiting for the signal"));
        assert_eq!(info.location.file(), file!());
        assert_eq!(info.location.line(), line);
        assert_eq!(info.state, TaskState::Idle);
        assert!(!info.local);
        let printed = dump.to_string();
        assert!(printed.contains("\"ticker\""), "{printed}");
        assert!(
            printed.contains(&format!("{}:{line}:", file!())),
            "{printed}"
        );

        let metrics = rt.handle().metrics();
        assert!(metrics.tasks_alive >= 1, "{metrics}");
        assert!(metrics.tasks_spawned >= 1, "{metrics}");
        assert!(metrics.polls.unwrap() >= 1, "{metrics}");

        tx.send(()).unwrap();
        let id = ticker.id();
        rt.block_on(ticker).unwrap();
        // The join handle may see the output a moment before the task leaves the list.
        assert!(
            wait_for(Duration::from_secs(1), || {
                rt.handle().dump().tasks.iter().all(|t| t.id != id)
            }),
            "a finished task is not listed"
        );
    }
}

#[test]
fn set_label_outside_a_task_does_nothing() {
    static LABEL: Label = Label::new("nowhere");
    assert!(task::set_label(Some(&LABEL)).is_none());
    assert!(task::label().is_none());
    corio::run(async {
        assert!(task::label().is_none());
        corio::spawn(async {
            assert!(task::set_label(Some(&LABEL)).is_none());
            assert_eq!(task::label().map(Label::as_str), Some("nowhere"));
            let leaked = Label::leak(format!("request {}", 1));
            assert_eq!(task::set_label(Some(leaked)), Some(&LABEL));
            assert_eq!(task::label(), Some(leaked));
        })
        .await
        .unwrap();
    });
}
