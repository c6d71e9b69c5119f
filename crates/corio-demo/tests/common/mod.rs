//! What the socket tests share: the built `corio-demo` binary run as a child process on a
//! free port, and a tiny blocking HTTP/1.1 client (one request per connection).
//!
//! Timeouts are generous: the suite must pass on a loaded 2-core machine.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The token the tests start the server with.
pub const TOKEN: &str = "test-token-123";

/// How long anything may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running `corio-demo`, killed if the test ends without stopping it.
pub struct DemoServer {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its stderr (the logs), for failure messages.
    log: PathBuf,
    /// What it printed on stdout up to and including its URL.
    pub printed: Vec<String>,
    /// What it prints on stdout, line by line, as it comes.
    stdout: mpsc::Receiver<String>,
}

impl DemoServer {
    /// Starts the binary with `--port 0` and `args`, logs to `dir/server.log`, and waits
    /// for it to print its URL.
    pub fn start(dir: &Path, args: &[&str]) -> DemoServer {
        let mut all = vec!["--port", "0"];
        all.extend_from_slice(args);
        DemoServer::start_with_env(dir, &all, &[])
    }

    /// Starts the binary with exactly `args` and the environment variables `env` (the
    /// test's own `CORIO_DEMO_*` are removed first), and waits for it to print its URL.
    pub fn start_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> DemoServer {
        let log = dir.join("server.log");
        let stderr = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("creating the server log");
        let mut command = demo_command();
        command
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        if !env.iter().any(|(name, _)| *name == "RUST_LOG") {
            command.env("RUST_LOG", "info");
        }
        let mut child = command.spawn().expect("starting corio-demo");

        // A thread reads stdout for as long as the server lives, so the server never
        // blocks on (or fails to write to) a full or closed pipe.
        let (lines_tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });

        let mut server = DemoServer {
            child: Some(child),
            addr: "127.0.0.1:0".parse().unwrap(),
            log,
            printed: Vec::new(),
            stdout: lines,
        };
        let line = server.wait_for_line("listening on http://");
        // `corio-demo: listening on http://127.0.0.1:PORT — docs at http://.../docs`
        let url = line
            .split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        server.addr = url
            .parse()
            .unwrap_or_else(|_| panic!("bad address in {line:?}"));
        assert!(
            line.ends_with(&format!("docs at http://{url}/docs")),
            "the start-up line names /docs: {line:?}"
        );
        server
    }

    /// The next stdout line containing `needle`; every line read is kept in `printed`.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    self.printed.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "corio-demo never printed {needle:?}; its log:\n{}",
                    self.log()
                ),
            }
        }
    }

    /// The server's logs so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.pid()).unwrap();
        // SAFETY: kill(2) only sends a signal; it reads and writes no memory of ours. The
        // pid is our own child's, not yet waited for, so it cannot have been reused.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits for the process to exit (failing the test past the patience).
    pub fn wait(&mut self) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("corio-demo did not exit; its log:\n{}", self.log());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> ExitStatus {
        self.terminate();
        self.wait()
    }

    /// Sends a request and reads the whole answer.
    pub fn request(&self, method: &str, path: &str) -> RequestBuilder {
        RequestBuilder {
            addr: self.addr,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path).send()
    }

    /// `method path` with the test token and `body` as JSON.
    pub fn write(&self, method: &str, path: &str, body: &Value) -> Reply {
        self.request(method, path)
            .token(TOKEN)
            .json(&body.to_string())
            .send()
    }

    /// `DELETE path` with the test token.
    pub fn delete(&self, path: &str) -> Reply {
        self.request("DELETE", path).token(TOKEN).send()
    }

    /// How many notes `GET /notes` counts.
    pub fn total(&self) -> u64 {
        let reply = self.get("/notes");
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["total"].as_u64().unwrap()
    }
}

/// The built binary, without the `CORIO_DEMO_*` variables of the environment the tests
/// run in: only what a test sets counts.
pub fn demo_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_corio-demo"));
    for name in [
        "CORIO_DEMO_HOST",
        "CORIO_DEMO_PORT",
        "CORIO_DEMO_DB",
        "CORIO_DEMO_TOKEN",
        "CORIO_DEMO_LOG",
        "CORIO_DEMO_SWEEP_SECS",
    ] {
        command.env_remove(name);
    }
    command
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A request being put together.
pub struct RequestBuilder {
    addr: SocketAddr,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl RequestBuilder {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> RequestBuilder {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `Authorization: Bearer token`.
    pub fn token(self, token: &str) -> RequestBuilder {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// A JSON body, sent as it is (so it may be broken on purpose).
    pub fn json(self, text: &str) -> RequestBuilder {
        let mut request = self.header("content-type", "application/json");
        request.body = Some(text.as_bytes().to_vec());
        request
    }

    /// A body with no `content-type`.
    pub fn body(mut self, bytes: &[u8]) -> RequestBuilder {
        self.body = Some(bytes.to_vec());
        self
    }

    /// The request's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n",
            self.method, self.path, self.addr
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = self.body.clone().unwrap_or_default();
        if self.body.is_some() {
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&body);
        bytes
    }

    /// Sends it and reads the answer.
    pub fn send(self) -> Reply {
        send_raw(self.addr, &self.encode())
    }
}

/// Opens a connection to `addr`.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connecting to corio-demo");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Writes `bytes` on a new connection and reads the answer until the server closes it.
pub fn send_raw(addr: SocketAddr, bytes: &[u8]) -> Reply {
    let mut stream = connect(addr);
    stream.write_all(bytes).unwrap();
    read_reply(&mut stream)
}

/// Reads one answer from `stream`, until the server closes it.
pub fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("reading the answer");
    Reply::parse(&raw)
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let split = raw
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(raw)));
        let head = std::str::from_utf8(&raw[..split]).expect("a UTF-8 head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        let chunked = headers
            .iter()
            .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
        if chunked {
            body = dechunk(&body);
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("{error}: not JSON: {:?}", self.text()))
    }
}

/// A chunked body's data.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|window| window == b"\r\n")
            .expect("a chunk size line");
        let size_text = std::str::from_utf8(&body[..line_end]).unwrap();
        let size_text = size_text.split(';').next().unwrap().trim();
        let size = usize::from_str_radix(size_text, 16).expect("a hex chunk size");
        body = &body[line_end + 2..];
        if size == 0 {
            return data;
        }
        data.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}
