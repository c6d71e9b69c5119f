//! The HTTP/1.1 server over real sockets: a server on its own runtime thread, and plain
//! blocking `std::net::TcpStream` clients that write raw bytes and check the raw answers.
//!
//! Timeouts here are generous (the suite must pass on a loaded 2-core machine); the only
//! timing assertions are in the tests of timeouts themselves, with wide margins.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use corio_web::body::BodyError;
use corio_web::http::StatusCode;
use corio_web::server::{Server, ServerConfig};
use corio_web::service::ConnectInfo;
use corio_web::{Body, Request, Response, Service, service_fn};

/// How long a client waits for any read before the test fails.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

struct TestServer {
    addr: SocketAddr,
    stop: Option<corio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

fn start(config: ServerConfig, service: impl Service) -> TestServer {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = corio::sync::oneshot::channel::<()>();
    let thread = thread::spawn(move || {
        corio::run(async move {
            let server = Server::bind("127.0.0.1:0").await?.config(config);
            addr_tx.send(server.local_addr()?).unwrap();
            server
                .serve(service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        })
    });
    let addr = addr_rx.recv().expect("the server failed to start");
    TestServer {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    }
}

impl TestServer {
    fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Signals a graceful shutdown and waits for `serve` to return.
    fn shut_down(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && !thread::panicking()
        {
            thread.join().unwrap().unwrap();
        }
    }
}

/// A raw HTTP/1.1 client over a blocking socket.
struct Client {
    stream: TcpStream,
    /// Bytes read but not yet used (the start of the next response).
    buf: Vec<u8>,
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads more bytes into the buffer; false at end of stream (or a reset).
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read failed: {e}"),
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(self.fill(), "connection closed in the middle of a response");
        }
        self.buf.drain(..n).collect()
    }

    fn take_line(&mut self) -> String {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.take(i + 2);
                return String::from_utf8(line[..i].to_vec()).unwrap();
            }
            assert!(self.fill(), "connection closed in the middle of a line");
        }
    }

    /// Reads one response to a request that was not `HEAD`.
    fn response(&mut self) -> Reply {
        self.read_response(false)
    }

    fn read_response(&mut self, head_request: bool) -> Reply {
        let status_line = self.take_line();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line:?}");
        let status: u16 = parts.next().unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let line = self.take_line();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(": ").expect("a header line");
            headers.push((name.to_string(), value.to_string()));
        }
        let mut reply = Reply {
            status,
            headers,
            body: Vec::new(),
        };
        if head_request || status < 200 || status == 204 || status == 304 {
            return reply;
        }
        if reply.header("transfer-encoding") == Some("chunked") {
            loop {
                let size = usize::from_str_radix(&self.take_line(), 16).unwrap();
                if size == 0 {
                    assert_eq!(self.take_line(), "", "no trailers expected");
                    break;
                }
                let chunk = self.take(size);
                reply.body.extend_from_slice(&chunk);
                assert_eq!(self.take_line(), "");
            }
        } else if let Some(len) = reply.header("content-length") {
            reply.body = self.take(len.parse().unwrap());
        } else {
            while self.fill() {}
            reply.body = std::mem::take(&mut self.buf);
        }
        reply
    }

    /// Whether the server closed the connection (reading hits the end of stream) with no
    /// more bytes coming.
    fn is_closed(&mut self) -> bool {
        self.buf.is_empty() && !self.fill()
    }

    /// Whether nothing arrives within `wait`.
    fn stays_silent(&mut self, wait: Duration) -> bool {
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut byte = [0u8; 1];
        let silent = match self.stream.read(&mut byte) {
            Err(e) => matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            Ok(n) => {
                self.buf.extend_from_slice(&byte[..n]);
                false
            }
        };
        self.stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        silent
    }
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

/// The service most tests use; the path picks the behaviour.
fn app() -> impl Service {
    service_fn(|request: Request| async move {
        let path = request.uri().path().to_string();
        match path.as_str() {
            "/echo" => match request.into_body().to_bytes(1 << 20).await {
                Ok(bytes) => Response::new(Body::from(bytes)),
                Err(err) => {
                    let mut response = Response::new(Body::from(err.to_string()));
                    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    response
                }
            },
            "/ignore" => Response::new(Body::from("ignored")),
            "/slow" => {
                corio::time::sleep(Duration::from_millis(200)).await;
                Response::new(Body::from("slow"))
            }
            "/stream" => {
                let parts: Vec<Result<Bytes, io::Error>> = ["hello", ", ", "streamed ", "world"]
                    .into_iter()
                    .map(|p| Ok(Bytes::from_static(p.as_bytes())))
                    .collect();
                Response::new(Body::from_stream(futures_util::stream::iter(parts)))
            }
            "/panic" => panic!("the handler blew up"),
            "/peer" => {
                let info = ConnectInfo::current().expect("the server sets the current connection");
                Response::new(Body::from(format!("{} {}", info.peer, info.local)))
            }
            "/close" => {
                let mut response = Response::new(Body::from("bye"));
                response
                    .headers_mut()
                    .insert("connection", "close".parse().unwrap());
                response
            }
            _ => Response::new(Body::from(path)),
        }
    })
}

fn default_server() -> TestServer {
    start(ServerConfig::default(), app())
}

#[test]
fn keep_alive_serves_requests_one_after_another_on_one_connection() {
    let server = default_server();
    let mut client = server.connect();
    for path in ["/a", "/b", "/c"] {
        client.send(&get(path));
        let reply = client.response();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.text(), path);
        assert_eq!(reply.header("content-length"), Some("2"));
        assert_eq!(reply.header("connection"), None);
        let date = reply.header("date").expect("a Date header");
        httpdate::parse_http_date(date).expect("an IMF-fixdate");
    }
}

#[test]
fn pipelined_requests_in_one_write_are_answered_in_order() {
    let server = default_server();
    let mut client = server.connect();
    // The slow one in the middle must not let the third overtake it.
    let mut requests = get("/first");
    requests.extend(get("/slow"));
    requests.extend(get("/third"));
    client.send(&requests);
    assert_eq!(client.response().text(), "/first");
    assert_eq!(client.response().text(), "slow");
    assert_eq!(client.response().text(), "/third");
    client.send(&get("/after"));
    assert_eq!(client.response().text(), "/after");
}

#[test]
fn content_length_and_chunked_request_bodies_reach_the_handler() {
    let server = default_server();
    let mut client = server.connect();
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello");
    thread::sleep(Duration::from_millis(20));
    client.send(b" world");
    assert_eq!(client.response().text(), "hello world");

    // Chunked, split across writes at awkward places, with extensions and a trailer,
    // then a pipelined request right behind it.
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    thread::sleep(Duration::from_millis(20));
    client.send(b"lo\r\n1;ext=1\r\n \r\n");
    thread::sleep(Duration::from_millis(20));
    let mut rest = b"5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n".to_vec();
    rest.extend(get("/next"));
    client.send(&rest);
    assert_eq!(client.response().text(), "hello world");
    assert_eq!(client.response().text(), "/next");
}

#[test]
fn a_body_the_handler_does_not_read_is_drained_before_the_next_request() {
    let server = default_server();
    let mut client = server.connect();
    let mut requests =
        b"POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789".to_vec();
    requests.extend(b"POST /ignore HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    requests.extend(get("/next"));
    client.send(&requests);
    assert_eq!(client.response().text(), "ignored");
    assert_eq!(client.response().text(), "ignored");
    assert_eq!(client.response().text(), "/next");
}

#[test]
fn an_unread_body_over_the_drain_limit_closes_the_connection() {
    let server = start(ServerConfig::default().max_drain_size(100), app());
    let mut client = server.connect();
    client.send(b"POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
    let reply = client.response();
    assert_eq!(reply.text(), "ignored");
    assert_eq!(reply.header("connection"), Some("close"));
    client.send(&[b'x'; 1000]);
    assert!(client.is_closed());
}

#[test]
fn streamed_responses_are_chunked_for_http_1_1() {
    let server = default_server();
    let mut client = server.connect();
    client.send(&get("/stream"));
    let reply = client.response();
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(reply.header("content-length"), None);
    assert_eq!(reply.text(), "hello, streamed world");
    // Still in step: the chunked body ended exactly.
    client.send(&get("/again"));
    assert_eq!(client.response().text(), "/again");
}

#[test]
fn http_1_0_clients_get_close_delimited_bodies_and_keep_alive_only_on_request() {
    let server = default_server();

    let mut client = server.connect();
    client.send(b"GET /stream HTTP/1.0\r\n\r\n");
    let reply = client.response();
    assert_eq!(reply.header("transfer-encoding"), None);
    assert_eq!(reply.header("content-length"), None);
    assert_eq!(reply.header("connection"), Some("close"));
    assert_eq!(reply.text(), "hello, streamed world");

    let mut client = server.connect();
    client.send(b"GET /plain HTTP/1.0\r\n\r\n");
    let reply = client.response();
    assert_eq!(reply.text(), "/plain");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.is_closed());

    let mut client = server.connect();
    client.send(b"GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let reply = client.response();
    assert_eq!(reply.text(), "/one");
    assert_eq!(reply.header("connection"), Some("keep-alive"));
    client.send(b"GET /two HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(client.response().text(), "/two");
}

#[test]
fn head_gets_the_get_headers_without_a_body() {
    let server = default_server();
    let mut client = server.connect();
    client.send(b"HEAD /hello-there HTTP/1.1\r\nHost: t\r\n\r\n");
    let reply = client.read_response(true);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-length"), Some("12"));
    client.send(b"HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    let reply = client.read_response(true);
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    // Had a body been sent, this would read its bytes as a status line.
    client.send(&get("/next"));
    assert_eq!(client.response().text(), "/next");
}

#[test]
fn connection_close_from_either_side_closes_after_the_response() {
    let server = default_server();
    let mut client = server.connect();
    // The request pipelined behind the closing one is not answered.
    let mut requests = b"GET /bye HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec();
    requests.extend(get("/never"));
    client.send(&requests);
    let reply = client.response();
    assert_eq!(reply.text(), "/bye");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.is_closed());

    let mut client = server.connect();
    client.send(&get("/close"));
    let reply = client.response();
    assert_eq!(reply.text(), "bye");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.is_closed());
}

#[test]
fn expect_100_continue_is_answered_only_when_the_body_is_read() {
    let server = default_server();

    // The handler reads: 100 first, then the body goes, then the answer.
    let mut client = server.connect();
    client.send(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = client.response();
    assert_eq!(interim.status, 100);
    client.send(b"hello");
    let reply = client.response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "hello");
    client.send(&get("/next"));
    assert_eq!(client.response().text(), "/next");

    // The handler answers without reading: no 100, and the connection closes (the client
    // may or may not send the body now).
    let mut client = server.connect();
    client.send(
        b"POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let reply = client.response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "ignored");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.is_closed());
}

#[test]
fn handlers_extract_connect_info_on_the_loop_on_the_pool_and_after_a_hand_off() {
    async fn on_loop(info: ConnectInfo) -> String {
        info.peer.to_string()
    }
    fn on_pool(info: ConnectInfo) -> String {
        info.peer.to_string()
    }
    // A task of its own is outside the connection: it sees the info only if the request
    // carries it in its extensions.
    async fn handed_off(mut request: Request) -> String {
        let carried = ConnectInfo::current().unwrap();
        let bare = corio::spawn(async { ConnectInfo::current() })
            .await
            .unwrap();
        request.extensions_mut().insert(carried);
        let seen = corio::spawn(async move {
            let (mut parts, _) = request.into_parts();
            <ConnectInfo as corio_web::extract::FromRequestParts<()>>::from_request_parts(
                &mut parts,
                &(),
            )
            .await
            .ok()
        })
        .await
        .unwrap();
        format!("{bare:?} {}", seen.unwrap().peer)
    }
    let app = corio_web::App::new()
        .get("/loop", on_loop)
        .get("/pool", on_pool)
        .get("/handoff", handed_off);
    let server = start(ServerConfig::default(), app);
    let mut client = server.connect();
    let me = client.stream.local_addr().unwrap().to_string();
    client.send(&get("/loop"));
    assert_eq!(client.response().text(), me);
    client.send(&get("/pool"));
    assert_eq!(client.response().text(), me);
    client.send(&get("/handoff"));
    assert_eq!(client.response().text(), format!("None {me}"));
}

#[test]
fn a_raw_service_sees_its_connection_as_the_current_one() {
    let server = default_server();
    let mut client = server.connect();
    client.send(&get("/peer"));
    let reply = client.response();
    let expected = format!(
        "{} {}",
        client.stream.local_addr().unwrap(),
        client.stream.peer_addr().unwrap()
    );
    assert_eq!(reply.text(), expected);
}

#[test]
fn a_head_over_the_limit_is_431() {
    let server = start(ServerConfig::default().max_head_size(1024), app());
    let mut client = server.connect();
    let big = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(2000)
    );
    client.send(big.as_bytes());
    let reply = client.response();
    assert_eq!(reply.status, 431);
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.is_closed());

    let server = start(ServerConfig::default().max_headers(4), app());
    let mut client = server.connect();
    client.send(b"GET / HTTP/1.1\r\nHost: t\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n");
    assert_eq!(client.response().status, 431);
}

#[test]
fn a_body_over_the_limit_is_413() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = {
        let calls = calls.clone();
        let app = Arc::new(app());
        service_fn(move |request: Request| {
            calls.fetch_add(1, Ordering::SeqCst);
            app.call(request)
        })
    };
    let server = start(ServerConfig::default().max_body_size(1000), counted);

    // A declared length over the limit: 413 at once, without calling the handler.
    let mut client = server.connect();
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n");
    client.send(&[b'x'; 500]);
    let reply = client.response();
    assert_eq!(reply.status, 413);
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.is_closed());
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // A chunked body that grows past it: the handler's read fails with TooLarge (it
    // answers 500 with the error), and the server answers 413 instead.
    let mut client = server.connect();
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..3 {
        client.send(b"190\r\n");
        client.send(&[b'y'; 400]);
        client.send(b"\r\n");
    }
    client.send(b"0\r\n\r\n");
    let reply = client.response();
    assert_eq!(reply.status, 413);
    assert!(client.is_closed());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn the_handler_sees_too_large_from_a_chunked_body() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let service = {
        let seen = seen.clone();
        service_fn(move |request: Request| {
            let seen = seen.clone();
            async move {
                let err = request.into_body().to_bytes(usize::MAX).await.unwrap_err();
                *seen.lock().unwrap() = Some(matches!(err, BodyError::TooLarge { limit: 10 }));
                Response::new(Body::from("whatever"))
            }
        })
    };
    let server = start(ServerConfig::default().max_body_size(10), service);
    let mut client = server.connect();
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
    assert_eq!(client.response().status, 413);
    assert_eq!(*seen.lock().unwrap(), Some(true));
}

#[test]
fn a_slow_head_is_408_within_the_header_timeout_even_when_trickled() {
    let timeout = Duration::from_millis(300);
    let server = start(ServerConfig::default().header_read_timeout(timeout), app());

    let mut client = server.connect();
    let started = Instant::now();
    client.send(b"GET / HTTP/1.1\r\nHost");
    let reply = client.response();
    assert_eq!(reply.status, 408);
    assert!(started.elapsed() >= timeout - Duration::from_millis(50));
    assert!(client.is_closed());

    // A byte every 50 ms keeps every single read fast; the timer covers the whole head.
    let mut client = server.connect();
    let started = Instant::now();
    let head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    client.send(head);
    let mut trickled = 0;
    while client.stays_silent(Duration::from_millis(50)) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no 408 after {trickled} trickled bytes"
        );
        if client.stream.write_all(b"a").is_err() {
            break;
        }
        trickled += 1;
    }
    assert_eq!(client.response().status, 408);
    // A connection that never sent a byte is closed quietly.
    let mut client = server.connect();
    assert!(client.is_closed());
    assert!(client.buf.is_empty());
}

#[test]
fn an_idle_keep_alive_connection_is_closed_quietly() {
    let server = start(
        ServerConfig::default().keep_alive_timeout(Duration::from_millis(200)),
        app(),
    );
    let mut client = server.connect();
    client.send(&get("/a"));
    assert_eq!(client.response().text(), "/a");
    let idle = Instant::now();
    assert!(client.is_closed(), "closed without another response");
    assert!(idle.elapsed() >= Duration::from_millis(150));
}

fn expect_400(server: &TestServer, request: &[u8]) {
    let mut client = server.connect();
    client.send(request);
    let reply = client.response();
    assert_eq!(
        reply.status,
        400,
        "for {:?}",
        String::from_utf8_lossy(request)
    );
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(
        client.is_closed(),
        "still open after {:?}",
        String::from_utf8_lossy(request)
    );
}

#[test]
fn malformed_requests_are_400_and_closed() {
    let server = default_server();
    expect_400(&server, b"GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n");
    expect_400(&server, b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
    expect_400(
        &server,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    );
    expect_400(&server, b"GET / HTTP/1.1\r\n\r\n");
}

#[test]
fn smuggling_shapes_are_400_and_closed() {
    let server = default_server();
    let post = |headers: &str, body: &str| {
        format!("POST /echo HTTP/1.1\r\nHost: t\r\n{headers}\r\n{body}").into_bytes()
    };
    expect_400(
        &server,
        &post(
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            "0\r\n\r\n",
        ),
    );
    expect_400(
        &server,
        &post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
    );
    expect_400(&server, &post("Content-Length: 5, 6\r\n", "hello!"));
    expect_400(&server, &post("Content-Length: +5\r\n", "hello"));
    expect_400(&server, &post("Content-Length: 0x5\r\n", "hello"));
    expect_400(&server, &post("Transfer-Encoding: gzip\r\n", "hello"));
    expect_400(
        &server,
        &post("Transfer-Encoding: chunked, identity\r\n", "hello"),
    );
    expect_400(
        &server,
        &post("Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n"),
    );
    expect_400(
        &server,
        &post(
            "Transfer-Encoding: chunked\r\n",
            "fffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        ),
    );
    expect_400(
        &server,
        &post("Transfer-Encoding: chunked\r\n", "5\r\nhelloXX0\r\n\r\n"),
    );
    expect_400(
        &server,
        &post("Transfer-Encoding: chunked\r\n", "5\nhello\r\n0\r\n\r\n"),
    );
    // Same length twice is fine.
    let mut client = server.connect();
    client.send(&post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"));
    assert_eq!(client.response().text(), "hello");
}

#[test]
fn a_panicking_handler_gets_500_and_the_connection_goes_on() {
    let server = default_server();
    let mut client = server.connect();
    client.send(&get("/panic"));
    let reply = client.response();
    assert_eq!(reply.status, 500);
    assert_eq!(reply.header("connection"), None);
    client.send(&get("/after"));
    assert_eq!(client.response().text(), "/after");
    // A panic before the future even exists is caught too.
    let server = start(
        ServerConfig::default(),
        PanicsOnCall {
            calls: AtomicUsize::new(0),
        },
    );
    let mut client = server.connect();
    client.send(&get("/x"));
    assert_eq!(client.response().status, 500);
    client.send(&get("/x"));
    assert_eq!(client.response().text(), "fine now");
}

/// A service whose `call` itself panics the first time.
struct PanicsOnCall {
    calls: AtomicUsize,
}

impl Service for PanicsOnCall {
    fn call(&self, _request: Request) -> corio_web::service::ResponseFuture {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("call panicked");
        }
        Box::pin(async { Response::new(Body::from("fine now")) })
    }
}

#[test]
fn at_max_connections_the_server_stops_accepting_until_one_closes() {
    let server = start(ServerConfig::default().max_connections(1), app());
    let mut first = server.connect();
    first.send(&get("/first"));
    assert_eq!(first.response().text(), "/first");

    // The kernel completes the handshake, but the server does not take the connection:
    // no answer while the first one is open.
    let mut second = server.connect();
    second.send(&get("/second"));
    assert!(second.stays_silent(Duration::from_millis(500)));
    first.send(&get("/first-again"));
    assert_eq!(first.response().text(), "/first-again");

    drop(first);
    assert_eq!(second.response().text(), "/second");
}

#[test]
fn graceful_shutdown_finishes_requests_in_flight_and_closes_idle_connections() {
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let started_tx = std::sync::Mutex::new(started_tx);
    let service = service_fn(move |request: Request| {
        let slow = request.uri().path() == "/slow";
        if slow {
            started_tx.lock().unwrap().send(()).unwrap();
        }
        async move {
            if slow {
                corio::time::sleep(Duration::from_millis(1000)).await;
            }
            Response::new(Body::from("done"))
        }
    });
    let server = start(ServerConfig::default(), service);
    let addr = server.addr;

    let mut idle = server.connect();
    idle.send(&get("/quick"));
    assert_eq!(idle.response().text(), "done");

    let mut busy = server.connect();
    busy.send(&get("/slow"));
    started_rx.recv_timeout(READ_TIMEOUT).unwrap();

    let stopping = thread::spawn(move || server.shut_down());
    let reply = busy.response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "done");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(busy.is_closed());
    assert!(idle.is_closed());
    stopping.join().unwrap().unwrap();
    // The listener is gone.
    match TcpStream::connect(addr) {
        Err(_) => {}
        Ok(stream) => {
            let mut client = Client {
                stream,
                buf: Vec::new(),
            };
            client.stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
            assert!(
                client.is_closed(),
                "a new connection was served after shutdown"
            );
        }
    }
}

#[test]
fn graceful_shutdown_gives_up_on_requests_past_its_timeout() {
    let service = service_fn(|_request: Request| async {
        corio::time::sleep(Duration::from_secs(3600)).await;
        Response::new(Body::from("never"))
    });
    let server = start(
        ServerConfig::default().shutdown_timeout(Duration::from_millis(200)),
        service,
    );
    let mut client = server.connect();
    client.send(&get("/forever"));
    // Let the request reach the handler (a later read would still find it in flight).
    assert!(client.stays_silent(Duration::from_millis(100)));
    let started = Instant::now();
    server.shut_down().unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(client.is_closed());
}

#[test]
fn large_bodies_stream_both_ways() {
    let server = start(
        ServerConfig::default().max_body_size(8 << 20),
        service_fn(|request: Request| async move {
            let bytes = request.into_body().to_bytes(8 << 20).await.unwrap();
            Response::new(Body::from(bytes))
        }),
    );
    let mut client = server.connect();
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut request = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    // Write from another thread, so a server that answered early could not deadlock us.
    let mut writer = client.stream.try_clone().unwrap();
    let sender = thread::spawn(move || writer.write_all(&request).unwrap());
    let reply = client.response();
    sender.join().unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), body.len());
    assert!(reply.body == body);
    // The connection is still in step after 3 MB each way.
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nnext");
    assert_eq!(client.response().text(), "next");
}

#[test]
fn a_request_body_can_stream_straight_into_the_response() {
    let server = start(
        ServerConfig::default(),
        service_fn(|request: Request| async move { Response::new(request.into_body()) }),
    );
    let mut client = server.connect();
    // A declared length goes back with that length, a chunked body chunked; either way the
    // read side comes home when the response ends, and the next request parses.
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nabc");
    thread::sleep(Duration::from_millis(20));
    client.send(b"def");
    let reply = client.response();
    assert_eq!(reply.header("content-length"), Some("6"));
    assert_eq!(reply.text(), "abcdef");
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    thread::sleep(Duration::from_millis(20));
    client.send(b"2\r\nde\r\n0\r\n\r\n");
    let reply = client.response();
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(reply.text(), "abcde");
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nlast");
    assert_eq!(client.response().text(), "last");
}

#[test]
fn a_body_read_later_by_another_task_keeps_the_connection_in_step() {
    let (read_tx, read_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let read_tx = std::sync::Mutex::new(read_tx);
    let service = service_fn(move |request: Request| {
        let read_tx = read_tx.lock().unwrap().clone();
        async move {
            if request.uri().path() == "/later" {
                let body = request.into_body();
                corio::spawn(async move {
                    corio::time::sleep(Duration::from_millis(100)).await;
                    let bytes = body.to_bytes(1024).await.unwrap();
                    read_tx.send(bytes.to_vec()).unwrap();
                });
                let mut response = Response::new(Body::from("accepted"));
                *response.status_mut() = StatusCode::ACCEPTED;
                return response;
            }
            Response::new(Body::from(request.uri().path().to_string()))
        }
    });
    let server = start(ServerConfig::default(), service);
    let mut client = server.connect();
    let mut requests =
        b"POST /later HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n\r\npayload".to_vec();
    requests.extend(get("/next"));
    client.send(&requests);
    assert_eq!(client.response().status, 202);
    assert_eq!(client.response().text(), "/next");
    assert_eq!(read_rx.recv_timeout(READ_TIMEOUT).unwrap(), b"payload");
}

#[test]
fn a_body_that_stops_coming_is_408() {
    let timeout = Duration::from_millis(300);
    let server = start(ServerConfig::default().body_read_timeout(timeout), app());
    let mut client = server.connect();
    let started = Instant::now();
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    let reply = client.response();
    assert_eq!(reply.status, 408);
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(started.elapsed() >= timeout - Duration::from_millis(50));
    assert!(client.is_closed());

    // Bytes that keep coming, each well within the timeout, are not a timeout, however long
    // the whole body takes.
    let timeout = Duration::from_millis(600);
    let server = start(ServerConfig::default().body_read_timeout(timeout), app());
    let mut client = server.connect();
    let started = Instant::now();
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n");
    for byte in b"abcdefghij" {
        thread::sleep(Duration::from_millis(100));
        client.send(&[*byte]);
    }
    assert_eq!(client.response().text(), "abcdefghij");
    assert!(started.elapsed() > timeout);
}

/// Reads a whole response within `wait`, or panics: for answers that must not wait for
/// anything else the server is doing.
fn response_within(client: &mut Client, wait: Duration) -> Reply {
    client.stream.set_read_timeout(Some(wait)).unwrap();
    let reply = client.response();
    client.stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    reply
}

#[test]
fn timeouts_of_duration_max_mean_never() {
    let never = Duration::MAX;
    let server = start(
        ServerConfig::default()
            .header_read_timeout(never)
            .body_read_timeout(never)
            .keep_alive_timeout(never)
            .write_timeout(never)
            .shutdown_timeout(never),
        app(),
    );
    let mut client = server.connect();
    // A body that has to be waited for, a second request on the kept-alive connection, and
    // an unread body to drain: every timer the connection sets.
    client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello");
    thread::sleep(Duration::from_millis(20));
    client.send(b"world");
    assert_eq!(client.response().text(), "helloworld");
    client.send(b"POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234");
    thread::sleep(Duration::from_millis(20));
    client.send(b"56789");
    client.send(&get("/next"));
    assert_eq!(client.response().text(), "ignored");
    assert_eq!(client.response().text(), "/next");
}

#[test]
fn the_response_goes_out_while_the_server_drains_an_unread_body() {
    // A long header timeout: the drain would wait that long for the rest of the body.
    let server = start(
        ServerConfig::default().header_read_timeout(Duration::from_secs(60)),
        app(),
    );
    let mut client = server.connect();
    // Half the body; a client may well wait for an early answer before sending the rest.
    client.send(b"POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234");
    let reply = response_within(&mut client, Duration::from_secs(5));
    assert_eq!(reply.text(), "ignored");
    assert_eq!(reply.header("connection"), None);
    // The rest is drained and the connection stays in step.
    client.send(b"56789");
    client.send(&get("/next"));
    assert_eq!(client.response().text(), "/next");
}

#[test]
fn the_response_goes_out_while_a_task_still_holds_the_request_body() {
    let (release, released) = corio::sync::oneshot::channel::<()>();
    let released = std::sync::Mutex::new(Some(released));
    let service = service_fn(move |request: Request| {
        let released = released.lock().unwrap().take();
        async move {
            if let Some(released) = released {
                // The task keeps the body until the test has seen the response.
                let body = request.into_body();
                corio::spawn(async move {
                    let _ = released.await;
                    body.to_bytes(1024).await.unwrap();
                });
                let mut response = Response::new(Body::from("accepted"));
                *response.status_mut() = StatusCode::ACCEPTED;
                return response;
            }
            Response::new(Body::from(request.uri().path().to_string()))
        }
    });
    let server = start(ServerConfig::default(), service);
    let mut client = server.connect();
    let mut requests =
        b"POST /later HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n\r\npayload".to_vec();
    requests.extend(get("/next"));
    client.send(&requests);
    assert_eq!(
        response_within(&mut client, Duration::from_secs(5)).status,
        202
    );
    release.send(()).unwrap();
    assert_eq!(client.response().text(), "/next");
}

#[test]
fn an_http_1_0_close_wins_over_keep_alive() {
    let server = default_server();
    let mut client = server.connect();
    client.send(b"GET /one HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
    let reply = client.response();
    assert_eq!(reply.text(), "/one");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.is_closed());
}

/// A service answering `/big` with `size` bytes from memory, `/endless` with a stream that
/// never ends (setting `dropped` once the server drops it), anything else with its path.
fn big_server(config: ServerConfig, size: usize, dropped: Arc<AtomicBool>) -> TestServer {
    let big = Bytes::from(vec![b'x'; size]);
    let service = service_fn(move |request: Request| {
        let big = big.clone();
        let dropped = dropped.clone();
        async move {
            match request.uri().path() {
                "/big" => Response::new(Body::from(big)),
                "/endless" => {
                    let chunks = futures_util::stream::repeat_with(move || {
                        Ok::<_, io::Error>(big.slice(..64 * 1024))
                    });
                    Response::new(Body::from_stream(SetOnDrop(chunks, dropped)))
                }
                path => Response::new(Body::from(path.to_string())),
            }
        }
    });
    start(config, service)
}

/// A stream that sets its flag when dropped.
struct SetOnDrop<S>(S, Arc<AtomicBool>);

impl<S: futures_util::Stream + Unpin> futures_util::Stream for SetOnDrop<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        std::pin::Pin::new(&mut self.0).poll_next(cx)
    }
}

impl<S> Drop for SetOnDrop<S> {
    fn drop(&mut self) {
        self.1.store(true, Ordering::SeqCst);
    }
}

/// Reads until the server closes; returns how many bytes came.
fn read_to_close(client: &mut Client) -> usize {
    while client.fill() {}
    client.buf.len()
}

#[test]
fn a_client_that_stops_reading_is_cut_off_after_the_write_timeout() {
    const SIZE: usize = 1 << 20;
    const REQUESTS: usize = 64;
    let config = ServerConfig::default()
        .max_connections(1)
        .write_timeout(Duration::from_millis(300));
    let server = big_server(config, SIZE, Arc::default());
    // 64 MiB asked for, far more than the socket buffers hold; never read.
    let mut stuck = server.connect();
    let requests: Vec<u8> = (0..REQUESTS).flat_map(|_| get("/big")).collect();
    stuck.send(&requests);
    // The only connection slot comes free once the server gives up on the stuck client.
    let mut next = server.connect();
    next.send(&get("/next"));
    assert_eq!(next.response().text(), "/next");
    let received = read_to_close(&mut stuck);
    assert!(received < SIZE * REQUESTS, "{received} bytes");
}

#[test]
fn a_stream_to_a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    let dropped = Arc::new(AtomicBool::new(false));
    let config = ServerConfig::default()
        .max_connections(1)
        .write_timeout(Duration::from_millis(300));
    let server = big_server(config, 1 << 20, dropped.clone());
    let mut stuck = server.connect();
    stuck.send(&get("/endless"));
    let mut next = server.connect();
    next.send(&get("/next"));
    assert_eq!(next.response().text(), "/next");
    // The connection ended (its slot is free) after dropping the response body.
    assert!(dropped.load(Ordering::SeqCst));
    read_to_close(&mut stuck);
}

#[test]
fn a_slow_but_steady_reader_gets_a_response_that_outlasts_the_write_timeout() {
    const SIZE: usize = 16 << 20;
    let write_timeout = Duration::from_secs(1);
    let server = big_server(
        ServerConfig::default().write_timeout(write_timeout),
        SIZE,
        Arc::default(),
    );
    let mut client = server.connect();
    client.send(&get("/big"));
    // Small reads with pauses: at least 512 of them, 5 ms apart, so well over a second in
    // all, while the server never waits long for the next one.
    let started = Instant::now();
    let mut chunk = [0u8; 32 * 1024];
    let mut received = Vec::with_capacity(SIZE + 1024);
    let head_and_body = loop {
        let n = client.stream.read(&mut chunk).unwrap();
        assert!(n > 0, "closed after {} bytes", received.len());
        received.extend_from_slice(&chunk[..n]);
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n")
            && received.len() >= end + 4 + SIZE
        {
            break end + 4 + SIZE;
        }
        thread::sleep(Duration::from_millis(5));
    };
    assert!(started.elapsed() > write_timeout);
    assert_eq!(received.len(), head_and_body);
    assert!(received.ends_with(&[b'x'; 1024]));
    // Still in step after it.
    client.send(&get("/after"));
    assert_eq!(client.response().text(), "/after");
}

#[test]
fn expect_100_continue_is_answered_for_a_body_read_after_the_handler_returns() {
    // The response streams the request body back: the body is read only after the handler
    // answered, and the client must be told to send it first.
    let server = start(
        ServerConfig::default(),
        service_fn(|request: Request| async move { Response::new(request.into_body()) }),
    );
    let mut client = server.connect();
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let interim = response_within(&mut client, Duration::from_secs(5));
    assert_eq!(interim.status, 100);
    client.send(b"hello");
    let reply = client.response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "hello");
    assert_eq!(reply.header("connection"), None);
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nnext");
    assert_eq!(client.response().text(), "next");
}
