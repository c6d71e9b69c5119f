//! Lifespan hooks: the server runs the app's startup hooks before it accepts a connection
//! and its shutdown hooks after a graceful shutdown, each in registration order.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use corio_web::extract::State;
use corio_web::server::Server;
use corio_web::testing::TestClient;
use corio_web::{App, Service};

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

    /// A hook that logs `event` after yielding to the loop.
    fn hook(
        &self,
        event: &'static str,
    ) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static
    {
        let log = self.clone();
        move || {
            let log = log.clone();
            Box::pin(async move {
                corio::time::sleep(Duration::from_millis(20)).await;
                log.push(event);
            })
        }
    }
}

async fn slow(State(log): State<Log>) -> &'static str {
    log.push("request");
    corio::time::sleep(Duration::from_millis(150)).await;
    log.push("request done");
    "slow"
}

/// Serves `app` on its own thread; returns its address, its stop switch and its thread.
fn serve(
    app: impl Service,
) -> (
    SocketAddr,
    corio::sync::oneshot::Sender<()>,
    thread::JoinHandle<io::Result<()>>,
) {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop, stopped) = corio::sync::oneshot::channel::<()>();
    let thread = thread::spawn(move || {
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
    let addr = addr_rx.recv().expect("the server bound");
    (addr, stop, thread)
}

fn get(stream: &mut TcpStream, path: &str) -> String {
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn hooks_run_in_order_around_serving() {
    let log = Log::default();
    let app = App::with_state(log.clone())
        .get("/slow", slow)
        .on_startup(log.hook("startup 1"))
        .on_startup(log.hook("startup 2"))
        .on_shutdown(log.hook("shutdown 1"))
        .on_shutdown(log.hook("shutdown 2"));
    let (addr, stop, server) = serve(app);

    // Connected while the startup hooks may still run: answered only after them.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let response = get(&mut stream, "/slow");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert_eq!(
        log.snapshot(),
        ["startup 1", "startup 2", "request", "request done"]
    );

    // Shut down while a request is in flight: the shutdown hooks wait for it.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let client = thread::spawn(move || get(&mut stream, "/slow"));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while log.snapshot().len() < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second request never arrived"
        );
        thread::sleep(Duration::from_millis(5));
    }
    stop.send(()).unwrap();
    server.join().unwrap().expect("a clean shutdown");
    assert!(client.join().unwrap().starts_with("HTTP/1.1 200 OK\r\n"));
    assert_eq!(
        log.snapshot(),
        [
            "startup 1",
            "startup 2",
            "request",
            "request done",
            "request",
            "request done",
            "shutdown 1",
            "shutdown 2"
        ]
    );
}

#[test]
fn a_failing_startup_hook_keeps_the_server_from_serving() {
    let log = Log::default();
    let failing = log.clone();
    let app = App::with_state(log.clone())
        .get("/slow", slow)
        .on_startup(log.hook("startup 1"))
        .on_startup(move || {
            let log = failing.clone();
            async move {
                log.push("startup 2 fails");
                Err::<(), _>(io::Error::new(io::ErrorKind::NotFound, "no database"))
            }
        })
        .on_startup(log.hook("startup 3"))
        .on_shutdown(log.hook("shutdown"));
    let (_addr, _stop, server) = serve(app);
    let error = server.join().unwrap().expect_err("startup failed");
    assert_eq!(
        error.kind(),
        io::ErrorKind::NotFound,
        "the hook's own error"
    );
    assert_eq!(error.to_string(), "no database");
    assert_eq!(log.snapshot(), ["startup 1", "startup 2 fails"]);
}

#[test]
fn every_shutdown_hook_runs_and_the_first_error_is_returned() {
    let log = Log::default();
    let app = App::with_state(log.clone())
        .on_shutdown(|| async { Err::<(), _>("flush failed") })
        .on_shutdown(log.hook("close pool"));
    let (_addr, stop, server) = serve(app);
    stop.send(()).unwrap();
    let error = server.join().unwrap().expect_err("a shutdown hook failed");
    assert_eq!(error.to_string(), "flush failed");
    assert_eq!(log.snapshot(), ["close pool"]);
}

#[test]
fn the_test_client_runs_hooks_when_asked_and_arcs_forward_them() {
    corio::run(async {
        let log = Log::default();
        let app = App::new()
            .on_startup(log.hook("up"))
            .on_shutdown(log.hook("down"));
        let client = TestClient::new(Arc::new(app));
        client.startup().await.unwrap();
        assert_eq!(log.snapshot(), ["up"]);
        client.shutdown().await.unwrap();
        assert_eq!(log.snapshot(), ["up", "down"]);

        // No hooks: nothing to run.
        let plain = TestClient::new(App::new());
        plain.startup().await.unwrap();
        plain.shutdown().await.unwrap();
        assert!(App::new().lifespan().is_none());
    });
}

/// Middleware passes the application's hooks through: a layered app still starts up.
#[test]
fn hooks_survive_middleware_layers() {
    use corio_web::ServiceExt;
    use corio_web::middleware::{AccessLog, Cors, Gzip, RequestIdLayer, from_fn};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let started = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let app = corio_web::App::new()
        .on_startup(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        })
        .layer(Gzip::new())
        .layer(Cors::new())
        .layer(RequestIdLayer::new())
        .layer(AccessLog::new())
        .layer(from_fn(
            |request, next: corio_web::middleware::Next| async move { next.run(request).await },
        ));
    let lifespan = corio_web::Service::lifespan(&app).expect("the app's hooks are visible");
    corio::run(async move {
        lifespan.startup().await.expect("startup");
    });
    assert_eq!(started.load(Ordering::SeqCst), 1);
}
