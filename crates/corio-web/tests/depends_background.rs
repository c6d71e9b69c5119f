//! `BackgroundTasks`: queued by handlers and dependencies, run after the response has been
//! sent — by the test client after it read the body, and by the real server once the
//! response is on the wire.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use corio_web::depends::{AfterResponse, BackgroundTasks, Dependency, Depends};
use corio_web::extract::State;
use corio_web::http::request::Parts;
use corio_web::response::HttpError;
use corio_web::server::Server;
use corio_web::testing::TestClient;
use corio_web::{App, Body, IntoResponse, Response};

/// What happened, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    fn snapshot(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A dependency that queues a task of its own when resolved.
struct Audit;

impl Dependency<Log> for Audit {
    type Rejection = Infallible;

    async fn resolve(parts: &mut Parts, log: &Log) -> Result<Self, Infallible> {
        let log = log.clone();
        BackgroundTasks::of(parts).add(async move { log.push("audit task") });
        Ok(Audit)
    }
}

/// A body that logs when the client reads it.
fn logged_body(log: &Log) -> Body {
    let log = log.clone();
    Body::from_stream(futures_util::stream::once(async move {
        log.push("body read");
        Ok::<_, Infallible>(Bytes::from_static(b"queued"))
    }))
}

async fn queue(_audit: Depends<Audit>, State(log): State<Log>, tasks: BackgroundTasks) -> Response {
    log.push("handler");
    let async_log = log.clone();
    tasks.add(async move {
        corio::task::yield_now().await;
        async_log.push("async task");
    });
    let blocking_log = log.clone();
    tasks.add_blocking(move || {
        thread::sleep(Duration::from_millis(5));
        blocking_log.push("blocking task");
    });
    Response::new(logged_body(&log))
}

async fn fails(State(log): State<Log>, tasks: BackgroundTasks) -> Result<&'static str, HttpError> {
    let log = log.clone();
    tasks.add(async move { log.push("task of a failed request") });
    Err(HttpError::new(409, "conflict"))
}

async fn panics(State(log): State<Log>, tasks: BackgroundTasks) -> &'static str {
    tasks.add(async move { log.push("task of a panicked request") });
    panic!("handler boom")
}

fn app(log: &Log) -> App<Log> {
    App::with_state(log.clone())
        .post("/queue", queue)
        .post("/fails", fails)
        .post("/panics", panics)
}

#[test]
fn tasks_run_after_the_body_was_read_in_the_order_they_were_added() {
    corio::run(async {
        let log = Log::default();
        let client = TestClient::new(app(&log));
        let response = client.post("/queue").send().await;
        assert_eq!(response.text(), "queued");
        assert_eq!(
            log.snapshot(),
            [
                "handler",
                "body read",
                "audit task",
                "async task",
                "blocking task"
            ]
        );
    });
}

#[test]
fn an_error_response_keeps_its_tasks_a_panic_drops_them() {
    let log = Log::default();
    let client = TestClient::new(app(&log));
    corio::run(async {
        assert_eq!(client.post("/fails").send().await.status(), 409);
    });
    assert_eq!(log.snapshot(), ["task of a failed request"]);

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        corio::run(async { client.post("/panics").send().await })
    }));
    assert!(result.is_err(), "the handler's panic reaches the caller");
    assert_eq!(log.snapshot(), ["task of a failed request"], "dropped");
}

#[test]
fn after_response_is_a_response_extension() {
    corio::run(async {
        let log = Log::default();
        let app = app(&log);
        let request = corio_web::http::Request::builder()
            .method("POST")
            .uri("/queue")
            .body(Body::empty())
            .unwrap();
        let mut response = corio_web::Service::call(&app, request).await;
        let after = AfterResponse::take(&mut response).expect("tasks queued");
        assert_eq!(after.len(), 3);
        assert!(AfterResponse::take(&mut response).is_none(), "taken once");
        assert_eq!(log.snapshot(), ["handler"], "nothing ran yet");
        after.run().await;
        assert_eq!(
            log.snapshot(),
            ["handler", "audit task", "async task", "blocking task"]
        );

        // A response without tasks carries nothing.
        let mut plain = "plain".into_response();
        assert!(AfterResponse::take(&mut plain).is_none());
    });
}

/// Reads one response whose body ends with `end`, from a kept-alive connection.
fn read_response(stream: &mut TcpStream, end: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0; 1024];
    while !got.ends_with(end.as_bytes()) {
        let n = stream.read(&mut buf).expect("the response arrives");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

/// The log, the client's go-ahead, and the task's "done".
type NotifyState = (Log, Arc<Mutex<mpsc::Receiver<()>>>, mpsc::Sender<()>);

#[test]
fn the_server_runs_tasks_once_the_response_is_on_the_wire() {
    let log = Log::default();
    // The task waits until the client has the response: were it run before the response
    // was sent, the client would wait for ever (and the test time out).
    let (release, released) = mpsc::channel::<()>();
    let (done, finished) = mpsc::channel::<()>();
    let released = Arc::new(Mutex::new(released));

    async fn notify(State(state): State<NotifyState>, tasks: BackgroundTasks) -> &'static str {
        let (log, released, done) = state;
        log.push("handler");
        tasks.add_blocking(move || {
            let waited = released
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(20));
            log.push(if waited.is_ok() {
                "task after the client had the response"
            } else {
                "task timed out waiting for the client"
            });
            let _ = done.send(());
        });
        "queued"
    }

    let state = (log.clone(), released, done);
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop, stopped) = corio::sync::oneshot::channel::<()>();
    let server = thread::spawn(move || {
        corio::run(async move {
            let server = Server::bind("127.0.0.1:0").await?;
            addr_tx.send(server.local_addr()?).unwrap();
            server
                .serve(App::with_state(state).post("/notify", notify))
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        })
    });
    let addr = addr_rx.recv().unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"POST /notify HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let response = read_response(&mut stream, "queued");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert_eq!(log.snapshot(), ["handler"], "the task waits for us");
    release.send(()).unwrap();
    finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the task ran");
    assert_eq!(
        log.snapshot(),
        ["handler", "task after the client had the response"]
    );

    // The connection serves the next request once the tasks are done.
    stream
        .write_all(b"POST /notify HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    read_response(&mut stream, "queued");
    release.send(()).unwrap();
    finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the second task ran");

    stop.send(()).unwrap();
    server.join().unwrap().unwrap();
}

#[test]
fn a_graceful_shutdown_waits_for_running_tasks() {
    async fn slow(State(log): State<Log>, tasks: BackgroundTasks) -> &'static str {
        tasks.add(async move {
            corio::time::sleep(Duration::from_millis(200)).await;
            log.push("slow task done");
        });
        "queued"
    }
    let log = Log::default();
    let app = App::with_state(log.clone()).post("/slow", slow);
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop, stopped) = corio::sync::oneshot::channel::<()>();
    let server = thread::spawn(move || {
        corio::run(async move {
            let server = Server::bind("127.0.0.1:0").await?;
            addr_tx.send(server.local_addr()?).unwrap();
            server
                .serve(app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        })
    });
    let mut stream = TcpStream::connect(addr_rx.recv().unwrap()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    read_response(&mut stream, "queued");
    assert!(log.snapshot().is_empty(), "still sleeping");
    stop.send(()).unwrap();
    server.join().unwrap().unwrap();
    assert_eq!(log.snapshot(), ["slow task done"]);
}

#[test]
fn tasks_travel_through_middleware_layers() {
    use corio_web::ServiceExt;
    use corio_web::middleware::{Cors, Gzip, from_fn};
    corio::run(async {
        let log = Log::default();
        let layered = app(&log)
            .layer(Gzip::new())
            .layer(Cors::new().allow_origins(["https://example.org"]))
            .layer(from_fn(
                |request, next: corio_web::middleware::Next| async move { next.run(request).await },
            ));
        let response = TestClient::new(layered)
            .post("/queue")
            .header("accept-encoding", "gzip")
            .send()
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            log.snapshot(),
            [
                "handler",
                "body read",
                "audit task",
                "async task",
                "blocking task"
            ]
        );
    });
}

/// A `BackgroundTasks` kept past the answer (moved into a task of the handler's own) and
/// used after the response was built: the task is not lost, it runs on its own.
#[test]
fn a_task_added_after_the_response_was_built_still_runs() {
    let log = Log::default();
    let seen = log.clone();
    let late = move |tasks: BackgroundTasks| {
        let log = seen.clone();
        async move {
            corio::spawn(async move {
                corio::time::sleep(Duration::from_millis(20)).await;
                tasks.add(async move { log.push("late task") });
            });
            "answered"
        }
    };
    corio::run(async {
        let client = TestClient::new(App::new().get("/late", late));
        assert_eq!(client.get("/late").send().await.text(), "answered");
        for _ in 0..200 {
            if !log.snapshot().is_empty() {
                break;
            }
            corio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    assert_eq!(log.snapshot(), ["late task"]);
}
