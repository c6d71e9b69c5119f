//! The `http` suite: corio-web side by side with the web frameworks a user would pick
//! instead, each a separate server process loaded by wrk (`bench/run http`).
//!
//! Servers (each with one worker, pinned to one core; wrk pinned to the other):
//!
//! - `corio`: `hello_server` (corio-web on corio's current-thread runtime);
//! - `axum`: `axum_server` (axum on tokio's current-thread runtime);
//! - `actix-web`: `actix_server` (`HttpServer::workers(1)`);
//! - `may_minihttp`: `may_server` (may with `set_workers(1)`);
//! - `fastapi`: `bench/fastapi/app.py` on uvicorn (`--workers 1 --loop uvloop --http
//!   httptools`), in a virtual environment this binary makes from
//!   `bench/fastapi/requirements.txt` (in `<target>/fastapi-venv`, reused while the
//!   requirements are unchanged);
//! - `raw-epoll`: `raw_epoll`, the ceiling (a single-thread epoll loop with canned responses).
//!
//! Workloads: `http/plaintext`, `http/json`, `http/plaintext/pipelined16` (16 requests per
//! write, `bench/wrk/pipeline.lua`), `http/validated` (`GET /items/{item_id}?q=...`: an integer
//! path parameter, a query parameter, a JSON answer; raw-epoll has no equivalent and sits it
//! out), `http/conn1000` (plaintext over 1,000 keep-alive connections).
//!
//! Every measurement starts a fresh server on a free port and waits until that process
//! listens on it, checks its answers (status, content type, body; 16 pipelined requests for
//! the pipelined workload; a 4xx for a non-integer `item_id` for `validated`), warms it up
//! with a discarded wrk run, then runs `wrk -t1 --latency` and reads the server's process tree
//! from /proc before and after: CPU µs per request = utime+stime delta ÷ requests completed,
//! peak RSS = VmHWM just before the server is killed. Within a round the servers alternate;
//! the figures are the medians over the rounds. A server that fails a check, or a run in which
//! wrk saw a non-2xx answer, is reported as FAILED and left out (the exit status is then 1).
//!
//! Usage: `http [--quick] [--rounds N] [--duration S] [--warmup S] [--only TEXT]
//! [--servers LIST] [--write | --no-write]` (normally through `bench/run http`).

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use corio_bench::{CORIO, Metric, adv_line, bench_line, format_value, machine_comment, median};

const USAGE: &str = "http [--quick] [--rounds N] [--duration S] [--warmup S] [--only TEXT] \
                     [--servers LIST] [--write | --no-write]";

/// Full run: measured rounds, seconds per measured run, seconds of warm-up per server.
const FULL: (usize, u32, u32) = (5, 3, 1);
/// `--quick`: one round of 1 s, no warm-up run (the checks' requests only).
const QUICK: (usize, u32, u32) = (1, 1, 0);

/// Requests per write in the pipelined workload.
const PIPELINE_DEPTH: usize = 16;
/// The `validated` request and its answer.
const VALIDATED_PATH: &str = "/items/12345?q=corio";
const VALIDATED_BODY: &str = r#"{"item_id":12345,"q":"corio"}"#;
/// A `validated` request the server must refuse (4xx): the path parameter is no integer.
const INVALID_PATH: &str = "/items/twelve?q=corio";
const PLAINTEXT_BODY: &str = "Hello, World!";
const JSON_BODY: &str = r#"{"message":"Hello, World!"}"#;

/// The markers around the section this suite owns in docs/BENCHMARKS.md.
const BEGIN_MARK: &str = "<!-- http-suite:begin";
const END_MARK: &str = "<!-- http-suite:end -->";

// ---------------------------------------------------------------------------------------
// Options

#[derive(Clone, Debug, PartialEq, Eq)]
struct Opts {
    quick: bool,
    rounds: usize,
    duration: u32,
    warmup: u32,
    only: Option<String>,
    servers: Option<Vec<String>>,
    /// `Some(true)` for `--write`, `Some(false)` for `--no-write`.
    write: Option<bool>,
    /// The arguments as given, for the record.
    args: Vec<String>,
}

impl Opts {
    fn parse(args: Vec<String>) -> Result<Opts, String> {
        let mut quick = false;
        let (mut rounds, mut duration, mut warmup) = (None, None, None);
        let (mut only, mut servers, mut write) = (None, None, None);
        let mut it = args.iter();
        fn number<T: std::str::FromStr + PartialOrd + Default>(
            flag: &str,
            value: Option<&String>,
            min: T,
        ) -> Result<T, String> {
            let value = value.ok_or(format!("{flag} needs a number"))?;
            match value.parse::<T>() {
                Ok(n) if n >= min => Ok(n),
                _ => Err(format!("{flag}: `{value}` is not a number in range")),
            }
        }
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--quick" => quick = true,
                "--rounds" => rounds = Some(number("--rounds", it.next(), 1usize)?),
                "--duration" => duration = Some(number("--duration", it.next(), 1u32)?),
                "--warmup" => warmup = Some(number("--warmup", it.next(), 0u32)?),
                "--only" => only = Some(it.next().ok_or("--only needs a workload name")?.clone()),
                "--servers" => {
                    let list = it.next().ok_or("--servers needs a list")?;
                    let mut names: Vec<String> = list.split(',').map(str::to_owned).collect();
                    for name in &names {
                        if !SERVERS.iter().any(|s| s.name == name) {
                            return Err(format!("--servers: unknown server `{name}`"));
                        }
                    }
                    if !names.iter().any(|n| n == CORIO) {
                        names.insert(0, CORIO.to_owned());
                    }
                    servers = Some(names);
                }
                "--write" => write = Some(true),
                "--no-write" => write = Some(false),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        let (r, d, w) = if quick { QUICK } else { FULL };
        Ok(Opts {
            quick,
            rounds: rounds.unwrap_or(r),
            duration: duration.unwrap_or(d),
            warmup: warmup.unwrap_or(w),
            only,
            servers,
            write,
            args,
        })
    }

    /// Whether to rewrite the suite's section of docs/BENCHMARKS.md: a full, unfiltered run
    /// does unless `--no-write`; `--quick`, `--only` and `--servers` runs only with `--write`.
    fn writes(&self) -> bool {
        self.write
            .unwrap_or(!self.quick && self.only.is_none() && self.servers.is_none())
    }

    fn selects_server(&self, name: &str) -> bool {
        self.servers
            .as_ref()
            .is_none_or(|list| list.iter().any(|n| n == name))
    }

    fn selects_workload(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|only| name.contains(only))
    }
}

// ---------------------------------------------------------------------------------------
// Servers and workloads

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// One of this crate's binaries, given the address to listen on, with these environment
    /// variables set.
    Bin(&'static str, &'static [(&'static str, &'static str)]),
    /// `raw_epoll ADDR plaintext|json`.
    RawEpoll,
    /// uvicorn in the virtual environment.
    FastApi,
}

struct ServerSpec {
    /// The protocol's peer name.
    name: &'static str,
    kind: Kind,
    about: &'static str,
}

const SERVERS: [ServerSpec; 7] = [
    ServerSpec {
        name: CORIO,
        kind: Kind::Bin("hello_server", &[]),
        about: "corio-web (`hello_server`) on corio's current-thread runtime, with the I/O driver \
                corio picks by default (io_uring where the kernel allows it; `CORIO_DRIVER` in \
                the harness's environment overrides it)",
    },
    ServerSpec {
        name: "corio-epoll",
        kind: Kind::Bin("hello_server", &[("CORIO_DRIVER", "epoll")]),
        about: "the same `hello_server` on corio's epoll reactor (`CORIO_DRIVER=epoll`)",
    },
    ServerSpec {
        name: "axum",
        kind: Kind::Bin("axum_server", &[]),
        about: "axum (`axum_server`) on tokio's current-thread runtime",
    },
    ServerSpec {
        name: "actix-web",
        kind: Kind::Bin("actix_server", &[]),
        about: "actix-web (`actix_server`), `HttpServer::workers(1)`",
    },
    ServerSpec {
        name: "may_minihttp",
        kind: Kind::Bin("may_server", &[]),
        about: "may_minihttp (`may_server`), `may::config().set_workers(1)`",
    },
    ServerSpec {
        name: "fastapi",
        kind: Kind::FastApi,
        about: "FastAPI (`bench/fastapi/app.py`) on uvicorn `--workers 1 --loop uvloop --http httptools`",
    },
    ServerSpec {
        name: "raw-epoll",
        kind: Kind::RawEpoll,
        about: "the ceiling (`raw_epoll`): one epoll loop, a canned response per request head",
    },
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Plaintext,
    Json(&'static str),
}

struct Workload {
    name: &'static str,
    path: &'static str,
    connections: u32,
    /// Requests per write (1: no pipelining).
    depth: usize,
    expect: Expect,
    /// Whether a server must refuse [`INVALID_PATH`] with a 4xx.
    validates: bool,
    about: &'static str,
}

const WORKLOADS: [Workload; 5] = [
    Workload {
        name: "http/plaintext",
        path: "/plaintext",
        connections: 50,
        depth: 1,
        expect: Expect::Plaintext,
        validates: false,
        about: "`GET /plaintext` → `Hello, World!` (text/plain), 50 connections",
    },
    Workload {
        name: "http/json",
        path: "/json",
        connections: 50,
        depth: 1,
        expect: Expect::Json(JSON_BODY),
        validates: false,
        about: "`GET /json` → `{\"message\":\"Hello, World!\"}` from a serialized model, 50 connections",
    },
    Workload {
        name: "http/plaintext/pipelined16",
        path: "/plaintext",
        connections: 50,
        depth: PIPELINE_DEPTH,
        expect: Expect::Plaintext,
        validates: false,
        about: "`GET /plaintext`, 16 requests per write (`bench/wrk/pipeline.lua`), 50 connections; \
                no latency figures (wrk 4.1 cannot give them with pipelining)",
    },
    Workload {
        name: "http/validated",
        path: VALIDATED_PATH,
        connections: 50,
        depth: 1,
        expect: Expect::Json(VALIDATED_BODY),
        validates: true,
        about: "`GET /items/12345?q=corio` → `{\"item_id\":12345,\"q\":\"corio\"}`: an integer path \
                parameter (a non-integer gets a 4xx), a query parameter, a JSON model; \
                50 connections; no raw-epoll (no equivalent)",
    },
    Workload {
        name: "http/conn1000",
        path: "/plaintext",
        connections: 1000,
        depth: 1,
        expect: Expect::Plaintext,
        validates: false,
        about: "`GET /plaintext` over 1,000 keep-alive connections",
    },
];

fn supports(server: &ServerSpec, workload: &Workload) -> bool {
    !(server.kind == Kind::RawEpoll && workload.validates)
}

// ---------------------------------------------------------------------------------------
// The environment: paths, cores, tools

struct Env {
    /// `bench/`.
    bench_dir: PathBuf,
    /// Where the server binaries are (this binary's directory).
    bin_dir: PathBuf,
    /// The venv's python, once made.
    python: Option<PathBuf>,
    logs: PathBuf,
    server_core: usize,
    load_core: usize,
    clk_tck: f64,
    /// The `# machine:` line, taken before this process pins itself to one core.
    machine: String,
}

impl Env {
    fn new() -> Result<Env, String> {
        let bench_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
        let bin_dir = exe
            .parent()
            .ok_or("this binary has no directory")?
            .to_owned();
        let target = bin_dir.parent().unwrap_or(&bin_dir).to_owned();
        let logs = target.join("http-logs");
        fs::create_dir_all(&logs).map_err(|e| format!("cannot make {}: {e}", logs.display()))?;
        let cores = allowed_cores()?;
        if cores.len() < 2 {
            return Err(format!(
                "needs two cores (one for the server, one for wrk); allowed: {cores:?}"
            ));
        }
        // SAFETY: sysconf has no preconditions.
        let clk_tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        Ok(Env {
            bench_dir,
            bin_dir,
            python: None,
            logs,
            server_core: cores[0],
            load_core: cores[1],
            clk_tck,
            machine: machine_comment(),
        })
    }

    fn target_dir(&self) -> PathBuf {
        self.bin_dir.parent().unwrap_or(&self.bin_dir).to_owned()
    }

    fn repo_dir(&self) -> PathBuf {
        self.bench_dir
            .parent()
            .unwrap_or(&self.bench_dir)
            .to_owned()
    }
}

/// The cores this process may run on.
fn allowed_cores() -> Result<Vec<usize>, String> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the size passed is its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Err(format!("sched_getaffinity: {}", io::Error::last_os_error()));
        }
        Ok((0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect())
    }
}

/// Pins the calling process to `core`.
fn pin_self(core: usize) -> io::Result<()> {
    // SAFETY: as in allowed_cores.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Makes the command's process run pinned to `core` (as `taskset -c <core>` would) and die
/// with this one; with `own_group`, in a process group of its own (killed as a whole).
fn pinned(cmd: &mut Command, core: usize, own_group: bool) {
    // SAFETY: the closure runs between fork and exec and only makes system calls
    // (sched_setaffinity, prctl) on a local, zero-initialized cpu_set_t.
    unsafe {
        cmd.pre_exec(move || {
            pin_self(core)?;
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    if own_group {
        cmd.process_group(0);
    }
}

/// Raises the soft limit on open files to the hard one (1,000 connections need more than the
/// common 1,024 in wrk, with its other descriptors). Returns the limit now in force.
fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return want.rlim_cur as u64;
            }
        }
        lim.rlim_cur as u64
    }
}

/// Runs `cmd`, its output going to stderr (stdout is for protocol lines).
fn run_to_stderr(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .stdin(Stdio::null())
        .stdout(io::stderr())
        .stderr(io::stderr())
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed: {status}"))
    }
}

/// Makes (or reuses) the FastAPI virtual environment; returns its python.
fn fastapi_venv(env: &Env) -> Result<PathBuf, String> {
    let fastapi = env.bench_dir.join("fastapi");
    let wanted = fs::read_to_string(fastapi.join("requirements.txt"))
        .map_err(|e| format!("cannot read bench/fastapi/requirements.txt: {e}"))?;
    let venv = env.target_dir().join("fastapi-venv");
    let python = venv.join("bin").join("python");
    let stamp = venv.join("installed-requirements.txt");
    if python.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    eprintln!(
        "http: making the FastAPI virtual environment {} with {base}",
        venv.display()
    );
    let version = Command::new(&base)
        .args([
            "-c",
            "import sys; print(sys.version_info >= (3, 10), sys.version.split()[0])",
        ])
        .output()
        .map_err(|e| format!("cannot run {base}: {e} (set PYTHON to a python3 >= 3.10)"))?;
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    if !version.starts_with("True") {
        return Err(format!(
            "{base} is {}; app.py needs python >= 3.10 (set PYTHON)",
            version.trim()
        ));
    }
    if venv.exists() {
        fs::remove_dir_all(&venv).map_err(|e| format!("cannot remove {}: {e}", venv.display()))?;
    }
    run_to_stderr(Command::new(&base).arg("-m").arg("venv").arg(&venv))?;
    run_to_stderr(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                "-r",
            ])
            .arg(fastapi.join("requirements.txt")),
    )?;
    fs::write(&stamp, &wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(python)
}

// ---------------------------------------------------------------------------------------
// /proc

/// `root` and all its descendants.
fn process_tree(root: i32) -> Vec<i32> {
    let mut parents = Vec::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            if let Some(ppid) = read_stat(pid).map(|s| s.ppid) {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|&&(_, ppid)| ppid == parent)
                .map(|&(pid, _)| pid),
        );
        i += 1;
    }
    tree
}

struct Stat {
    ppid: i32,
    /// utime + stime, in clock ticks.
    cpu_ticks: u64,
}

fn read_stat(pid: i32) -> Option<Stat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_stat(stat: &str) -> Option<Stat> {
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Stat {
        ppid,
        cpu_ticks: utime + stime,
    })
}

fn tree_cpu_ticks(pids: &[i32]) -> u64 {
    pids.iter()
        .filter_map(|&p| read_stat(p))
        .map(|s| s.cpu_ticks)
        .sum()
}

/// A `Name:   value kB` figure of /proc/<pid>/status.
fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// The peak resident set (VmHWM) of the processes, summed, in KiB.
fn tree_peak_rss_kib(pids: &[i32]) -> u64 {
    pids.iter()
        .filter_map(|p| fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|s| {
            status_field(&s, "VmHWM")?
                .strip_suffix("kB")?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// The inodes of the TCP sockets of 127.0.0.1:`port` in `state` ("0A" listen, "01"
/// established) from /proc/net/tcp, where the port is the local one.
fn local_sockets(port: u16, state: &str) -> Vec<u64> {
    let Ok(table) = fs::read_to_string("/proc/net/tcp") else {
        return Vec::new();
    };
    parse_net_tcp(&table, port, state)
}

fn parse_net_tcp(table: &str, port: u16, state: &str) -> Vec<u64> {
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.len() > 9 && f[1] == local && f[3] == state).then(|| f[9].parse().ok())?
        })
        .collect()
}

/// Whether one of `pids` holds a socket listening on 127.0.0.1:`port`.
fn listens(pids: &[i32], port: u16) -> bool {
    let inodes = local_sockets(port, "0A");
    if inodes.is_empty() {
        return false;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    pids.iter().any(|pid| {
        fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|dir| {
            dir.flatten().any(|fd| {
                fs::read_link(fd.path())
                    .is_ok_and(|link| wanted.iter().any(|w| link.as_os_str() == w.as_str()))
            })
        })
    })
}

/// The listen backlog of 127.0.0.1:`port` (`ss`'s Send-Q for a listener), if ss is there.
fn listen_backlog(port: u16) -> Option<u32> {
    let out = Command::new("ss")
        .args(["-Hltn", &format!("sport = :{port}")])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next()?.split_whitespace().nth(2)?.parse().ok()
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

// ---------------------------------------------------------------------------------------
// A running server

struct Running {
    child: Child,
    pid: i32,
    port: u16,
    log: PathBuf,
}

impl Running {
    fn start(
        env: &Env,
        server: &ServerSpec,
        workload: &Workload,
        deadline: Duration,
    ) -> Result<Running, String> {
        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = match server.kind {
            Kind::Bin(bin, vars) => {
                let mut c = Command::new(env.bin_dir.join(bin));
                c.arg(&addr).envs(vars.iter().copied());
                c
            }
            Kind::RawEpoll => {
                let mut c = Command::new(env.bin_dir.join("raw_epoll"));
                c.arg(&addr).arg(if workload.path == "/json" {
                    "json"
                } else {
                    "plaintext"
                });
                c
            }
            Kind::FastApi => {
                let python = env
                    .python
                    .as_ref()
                    .ok_or("no FastAPI virtual environment")?;
                let mut c = Command::new(python);
                c.current_dir(env.bench_dir.join("fastapi"))
                    .args(["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port"])
                    .arg(port.to_string())
                    .args(["--workers", "1", "--loop", "uvloop", "--http", "httptools"])
                    .args(["--no-access-log", "--log-level", "warning"]);
                c
            }
        };
        let log = env.logs.join(format!("{}.log", server.name));
        let out = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        pinned(&mut cmd, env.server_core, true);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        let pid = child.id() as i32;
        let mut running = Running {
            child,
            pid,
            port,
            log,
        };
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = running.child.try_wait() {
                return Err(format!(
                    "exited before listening ({status}); {}",
                    running.log_tail()
                ));
            }
            if listens(&process_tree(pid), port) {
                break;
            }
            if start.elapsed() > deadline {
                return Err(format!(
                    "not listening on {addr} after {deadline:?}; {}",
                    running.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The pinning took (threads started later inherit it).
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let cpus = status_field(&status, "Cpus_allowed_list").unwrap_or("?");
        if cpus != env.server_core.to_string() {
            return Err(format!(
                "runs on cores {cpus}, not {} alone",
                env.server_core
            ));
        }
        Ok(running)
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(8)..].join(" | ");
        format!("log {}: {tail}", self.log.display())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group this process made for the server.
        unsafe {
            libc::kill(-self.pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// A port free on 127.0.0.1 right now.
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

// ---------------------------------------------------------------------------------------
// Checking a server's answers

#[derive(Debug, PartialEq, Eq)]
struct Reply {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

/// Sends the requests for `paths` in one write on one connection and reads one reply each.
fn exchange(port: u16, paths: &[&str]) -> Result<Vec<Reply>, String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .map_err(|e| format!("cannot connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut request = String::new();
    for path in paths {
        write!(
            request,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
        )
        .unwrap();
    }
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send: {e}"))?;
    let mut buf = Vec::new();
    let mut replies = Vec::new();
    while replies.len() < paths.len() {
        match parse_reply(&buf)? {
            Some((reply, used)) => {
                buf.drain(..used);
                replies.push(reply);
            }
            None => {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).map_err(|e| {
                    format!(
                        "reading reply {} of {}: {e}",
                        replies.len() + 1,
                        paths.len()
                    )
                })?;
                if n == 0 {
                    return Err(format!(
                        "connection closed after {} of {} replies",
                        replies.len(),
                        paths.len()
                    ));
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
    Ok(replies)
}

/// One HTTP/1.1 reply from the front of `buf` and the bytes it used, or `None` if `buf`
/// does not hold all of it yet.
fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "reply head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line `{status_line}`"))?;
    let (mut length, mut chunked, mut content_type) = (None, false, String::new());
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "content-type" => content_type = value.to_owned(),
            _ => {}
        }
    }
    let body_start = head_end + 4;
    let rest = &buf[body_start..];
    if chunked {
        let mut body = Vec::new();
        let mut at = 0;
        loop {
            let Some(eol) = rest[at..].windows(2).position(|w| w == b"\r\n") else {
                return Ok(None);
            };
            let size_text = std::str::from_utf8(&rest[at..at + eol]).unwrap_or("");
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| format!("bad chunk size `{size_text}`"))?;
            let data = at + eol + 2;
            if rest.len() < data + size + 2 {
                return Ok(None);
            }
            if size == 0 {
                // No trailers expected: the final CRLF follows.
                let reply = Reply {
                    status,
                    content_type,
                    body,
                };
                return Ok(Some((reply, body_start + data + 2)));
            }
            body.extend_from_slice(&rest[data..data + size]);
            at = data + size + 2;
        }
    }
    let length = length.unwrap_or(0);
    if rest.len() < length {
        return Ok(None);
    }
    let reply = Reply {
        status,
        content_type,
        body: rest[..length].to_vec(),
    };
    Ok(Some((reply, body_start + length)))
}

/// Whether `reply` is the one `expect` describes; an error says how it is not.
fn verify(reply: &Reply, expect: Expect) -> Result<(), String> {
    let body = String::from_utf8_lossy(&reply.body);
    let (kind, want) = match expect {
        Expect::Plaintext => ("text/plain", PLAINTEXT_BODY),
        Expect::Json(want) => ("application/json", want),
    };
    let body_ok = match expect {
        Expect::Plaintext => body == want,
        // The same JSON value (not necessarily the same bytes).
        Expect::Json(want) => {
            serde_json::from_slice::<serde_json::Value>(&reply.body).ok()
                == serde_json::from_str::<serde_json::Value>(want).ok()
        }
    };
    if reply.status != 200 || !reply.content_type.starts_with(kind) || !body_ok {
        return Err(format!(
            "expected 200 {kind} `{want}`, got {} `{}` `{body}`",
            reply.status, reply.content_type
        ));
    }
    Ok(())
}

/// Checks the server answers the workload's request as expected (all of a pipelined batch,
/// for a pipelined workload) and, for `validated`, refuses a non-integer `item_id`.
fn check(port: u16, workload: &Workload) -> Result<(), String> {
    let paths = vec![workload.path; workload.depth];
    let replies = exchange(port, &paths).map_err(|e| format!("GET {}: {e}", workload.path))?;
    for (i, reply) in replies.iter().enumerate() {
        verify(reply, workload.expect).map_err(|e| {
            format!(
                "GET {} (reply {} of {}): {e}",
                workload.path,
                i + 1,
                replies.len()
            )
        })?;
    }
    if workload.validates {
        let reply = exchange(port, &[INVALID_PATH])
            .map_err(|e| format!("GET {INVALID_PATH}: {e}"))?
            .remove(0);
        if !(400..500).contains(&reply.status) {
            return Err(format!(
                "GET {INVALID_PATH}: expected a 4xx refusal, got {} `{}`",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// wrk

#[derive(Clone, Debug, Default, PartialEq)]
struct WrkOutput {
    requests: u64,
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    non_2xx: u64,
    /// connect, read, write, timeout.
    socket_errors: [u64; 4],
}

/// A wrk time (`620.00us`, `1.18ms`, `2.01s`, `1.50m`) in microseconds.
fn parse_wrk_time(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let value: f64 = text[..split].parse().ok()?;
    let scale = match &text[split..] {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(value * scale)
}

fn parse_wrk(out: &str) -> Result<WrkOutput, String> {
    let mut w = WrkOutput::default();
    let (mut have_requests, mut have_rps, mut have_p50, mut have_p99) =
        (false, false, false, false);
    for line in out.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [n, "requests", "in", ..] => {
                w.requests = n.parse().map_err(|_| format!("bad line `{line}`"))?;
                have_requests = true;
            }
            ["Requests/sec:", n] => {
                w.rps = n.parse().map_err(|_| format!("bad line `{line}`"))?;
                have_rps = true;
            }
            ["50%", t] => {
                w.p50_us = parse_wrk_time(t).ok_or(format!("bad line `{line}`"))?;
                have_p50 = true;
            }
            ["99%", t] => {
                w.p99_us = parse_wrk_time(t).ok_or(format!("bad line `{line}`"))?;
                have_p99 = true;
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => {
                w.non_2xx = n.parse().map_err(|_| format!("bad line `{line}`"))?;
            }
            ["Socket", "errors:", rest @ ..] => {
                // connect 0, read 0, write 0, timeout 0
                for (i, pair) in rest.chunks(2).enumerate().take(4) {
                    if let [_, n] = pair {
                        w.socket_errors[i] = n.trim_end_matches(',').parse().unwrap_or(0);
                    }
                }
            }
            _ => {}
        }
    }
    if !(have_requests && have_rps && have_p50 && have_p99) {
        return Err(format!("cannot read wrk's output: {out}"));
    }
    Ok(w)
}

/// Runs wrk against the server for `secs` seconds; with `count_connections`, also counts
/// the server's established connections half-way through.
fn run_wrk(
    env: &Env,
    port: u16,
    workload: &Workload,
    secs: u32,
    count_connections: bool,
) -> Result<(WrkOutput, Option<usize>), String> {
    let mut cmd = Command::new("wrk");
    cmd.arg("-t1")
        .arg(format!("-c{}", workload.connections))
        .arg(format!("-d{secs}s"))
        .arg("--latency");
    if workload.depth > 1 {
        cmd.arg("-s")
            .arg(env.bench_dir.join("wrk").join("pipeline.lua"));
    }
    cmd.arg(format!("http://127.0.0.1:{port}{}", workload.path));
    if workload.depth > 1 {
        cmd.arg("--").arg(workload.depth.to_string());
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    pinned(&mut cmd, env.load_core, false);
    let mut child = cmd.spawn().map_err(|e| format!("cannot run wrk: {e}"))?;
    let start = Instant::now();
    let mut established = None;
    if count_connections {
        std::thread::sleep(Duration::from_millis(u64::from(secs) * 500));
        established = Some(local_sockets(port, "01").len());
    }
    let deadline = Duration::from_secs(u64::from(secs) + 30);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("wrk still running after {deadline:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for wrk: {e}")),
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("reading wrk's output: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((parse_wrk(&stdout)?, established))
}

// ---------------------------------------------------------------------------------------
// One measurement

#[derive(Clone, Debug)]
struct Sample {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us_per_req: f64,
    rss_kib: f64,
    established: Option<usize>,
    backlog: Option<u32>,
    warnings: Vec<String>,
}

impl Sample {
    fn get(&self, figure: Figure) -> f64 {
        match figure {
            Figure::Rps => self.rps,
            Figure::P50 => self.p50_us,
            Figure::P99 => self.p99_us,
            Figure::Cpu => self.cpu_us_per_req,
            Figure::Rss => self.rss_kib,
        }
    }
}

/// The figures of a measurement, in the order of the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Figure {
    Rps,
    P50,
    P99,
    Cpu,
    Rss,
}

impl Figure {
    /// Whether the figure means something for `workload`: wrk 4.1's latency figures do not
    /// with pipelining. Its coordinated-omission correction (`stats_correct`) takes the
    /// interval between requests on a connection from the count of responses, 16 times too
    /// short when each write carries 16 requests, and adds synthetic samples below the
    /// measured minimum that its percentile walk never reaches: p99 comes out as 0 or as
    /// an artifact.
    fn applies(self, workload: &Workload) -> bool {
        workload.depth == 1 || !matches!(self, Figure::P50 | Figure::P99)
    }

    const ALL: [Figure; 5] = [
        Figure::Rps,
        Figure::P50,
        Figure::P99,
        Figure::Cpu,
        Figure::Rss,
    ];

    /// The protocol metric, where there is one (p50 goes to `#` lines and the table).
    fn metric(self) -> Option<Metric> {
        match self {
            Figure::Rps => Some(Metric::Rps),
            Figure::P50 => None,
            Figure::P99 => Some(Metric::P99Us),
            Figure::Cpu => Some(Metric::CpuUsPerReq),
            Figure::Rss => Some(Metric::RssKib),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Figure::P50 => "p50_us",
            f => f.metric().map_or("", Metric::name),
        }
    }

    fn format(self, value: f64) -> String {
        if value.is_nan() {
            return "-".to_owned();
        }
        format_value(self.metric().unwrap_or(Metric::P99Us), value)
    }
}

/// Starts the server, checks it, warms it up, measures one wrk run, and kills it.
fn measure(
    env: &Env,
    opts: &Opts,
    server: &ServerSpec,
    workload: &Workload,
) -> Result<Sample, String> {
    let mut running = Running::start(env, server, workload, Duration::from_secs(60))?;
    check(running.port, workload)?;
    let backlog = listen_backlog(running.port);
    if opts.warmup > 0 {
        run_wrk(env, running.port, workload, opts.warmup, false)
            .map_err(|e| format!("warm-up: {e}"))?;
    }
    let before = tree_cpu_ticks(&process_tree(running.pid));
    let (wrk, established) = run_wrk(env, running.port, workload, opts.duration, true)?;
    let tree = process_tree(running.pid);
    let after = tree_cpu_ticks(&tree);
    let rss_kib = tree_peak_rss_kib(&tree);
    if let Ok(Some(status)) = running.child.try_wait() {
        return Err(format!(
            "the server exited during the run ({status}); {}",
            running.log_tail()
        ));
    }
    drop(running);
    if wrk.requests == 0 {
        return Err("wrk completed no request".to_owned());
    }
    if wrk.non_2xx > 0 {
        return Err(format!(
            "wrk saw {} non-2xx/3xx answers out of {} requests",
            wrk.non_2xx, wrk.requests
        ));
    }
    let mut warnings = Vec::new();
    if workload.depth == 1 && (wrk.p50_us <= 0.0 || wrk.p99_us < wrk.p50_us) {
        warnings.push(format!(
            "wrk's latency percentiles make no sense: p50 {} µs, p99 {} µs",
            wrk.p50_us, wrk.p99_us
        ));
    }
    let [connect, read, write, timeout] = wrk.socket_errors;
    if connect + read + write + timeout > 0 {
        warnings.push(format!(
            "wrk socket errors: connect {connect}, read {read}, write {write}, timeout {timeout}"
        ));
    }
    if let Some(n) = established
        && n < workload.connections as usize
    {
        warnings.push(format!(
            "{n} of {} connections established half-way through the run",
            workload.connections
        ));
    }
    let latency = |us: f64| if workload.depth == 1 { us } else { f64::NAN };
    Ok(Sample {
        rps: wrk.rps,
        p50_us: latency(wrk.p50_us),
        p99_us: latency(wrk.p99_us),
        cpu_us_per_req: after.saturating_sub(before) as f64 * 1e6
            / env.clk_tck
            / wrk.requests as f64,
        rss_kib: rss_kib as f64,
        established,
        backlog,
        warnings,
    })
}

// ---------------------------------------------------------------------------------------
// The suite

/// What one workload produced: per server, its samples or why it failed.
struct Outcome {
    workload: &'static Workload,
    servers: Vec<(&'static ServerSpec, Vec<Sample>, Option<String>)>,
}

impl Outcome {
    /// The servers with figures, and the median of each figure.
    fn medians(&self) -> Vec<(&'static str, [f64; 5])> {
        self.servers
            .iter()
            .filter(|(_, samples, failure)| failure.is_none() && !samples.is_empty())
            .map(|(server, samples, _)| {
                let m = Figure::ALL
                    .map(|f| median(&samples.iter().map(|s| s.get(f)).collect::<Vec<_>>()));
                (server.name, m)
            })
            .collect()
    }
}

/// Stdout, kept for the record in docs/BENCHMARKS.md.
#[derive(Default)]
struct Out {
    kept: Vec<String>,
}

impl Out {
    /// Prints a line and keeps it for the record.
    fn line(&mut self, line: String) {
        println!("{line}");
        self.kept.push(line);
    }

    /// Prints a line the record leaves out (one round's figures).
    fn detail(&mut self, line: String) {
        println!("{line}");
    }
}

fn report(out: &mut Out, outcome: &Outcome, rounds: usize) {
    let name = outcome.workload.name;
    let medians = outcome.medians();
    let Some(corio) = medians.iter().find(|(n, _)| *n == CORIO).map(|(_, m)| *m) else {
        out.line(format!(
            "# {name}: no corio figures (see the FAILED line), so no BENCH/ADV lines"
        ));
        return;
    };
    for (i, figure) in Figure::ALL.iter().enumerate() {
        if !figure.applies(outcome.workload) {
            continue;
        }
        let values: Vec<(&str, f64)> = medians.iter().map(|(n, m)| (*n, m[i])).collect();
        match figure.metric() {
            Some(metric) => out.line(bench_line(name, metric, &values)),
            None => {
                let list: Vec<String> = values
                    .iter()
                    .map(|(n, v)| format!("{n}={}", figure.format(*v)))
                    .collect();
                out.line(format!("# {name} {} {}", figure.label(), list.join(" ")));
            }
        }
    }
    for (peer, m) in medians.iter().filter(|(n, _)| *n != CORIO) {
        for (i, figure) in Figure::ALL.iter().enumerate() {
            if let Some(metric) = figure.metric().filter(|_| figure.applies(outcome.workload)) {
                let adv_name = format!("{name}/{}", metric.name());
                out.line(adv_line(&adv_name, metric, corio[i], peer, m[i]));
            }
        }
    }
    if !Figure::P99.applies(outcome.workload) {
        out.line(format!(
            "# {name}: no latency figures (wrk 4.1's coordinated-omission correction assumes one \
             request per write and makes them meaningless with pipelining)"
        ));
    }
    for figure in Figure::ALL
        .into_iter()
        .filter(|f| f.applies(outcome.workload))
    {
        let spread: Vec<String> = outcome
            .servers
            .iter()
            .filter(|(_, s, f)| f.is_none() && !s.is_empty())
            .map(|(server, samples, _)| {
                let values: Vec<f64> = samples.iter().map(|s| s.get(figure)).collect();
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!(
                    "{}=[{}..{}]",
                    server.name,
                    figure.format(min),
                    figure.format(max)
                )
            })
            .collect();
        out.line(format!(
            "# {name} {} min..max over {rounds} rounds: {}",
            figure.label(),
            spread.join(" ")
        ));
    }
}

fn run(opts: &Opts) -> Result<bool, String> {
    let mut env = Env::new()?;
    Command::new("wrk")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("needs wrk (apt-get install -y wrk): {e}"))?;
    let nofile = raise_nofile();
    let workloads: Vec<&'static Workload> = WORKLOADS
        .iter()
        .filter(|w| opts.selects_workload(w.name))
        .collect();
    if workloads.is_empty() {
        return Err(format!(
            "--only {}: no workload matches",
            opts.only.as_deref().unwrap_or("")
        ));
    }
    if workloads.iter().any(|w| w.connections as u64 + 64 > nofile) {
        eprintln!("http: warning: the open-file limit is {nofile}; http/conn1000 needs more");
    }
    let mut out = Out::default();
    let mut skipped = Vec::new();
    if opts.selects_server("fastapi") {
        match fastapi_venv(&env) {
            Ok(python) => env.python = Some(python),
            Err(err) => {
                eprintln!("http: WARNING: FastAPI left out: {err}");
                skipped.push(format!("fastapi: {err}"));
            }
        }
    }
    let servers: Vec<&'static ServerSpec> = SERVERS
        .iter()
        .filter(|s| opts.selects_server(s.name))
        .filter(|s| s.kind != Kind::FastApi || env.python.is_some())
        .collect();
    // This process only waits while wrk runs: keep it off the server's core.
    pin_self(env.load_core).map_err(|e| format!("cannot pin to core {}: {e}", env.load_core))?;

    let started = Instant::now();
    let load_before = load_average();
    let runs: usize = workloads
        .iter()
        .map(|w| servers.iter().filter(|s| supports(s, w)).count())
        .sum::<usize>()
        * opts.rounds;
    let estimate = runs as u64 * (u64::from(opts.warmup + opts.duration) + 1);
    eprintln!(
        "http: {runs} runs of {}+{} s (about {} s)",
        opts.warmup, opts.duration, estimate
    );
    out.line(format!(
        "# http suite: each server a fresh process per run, one worker, pinned to core {}; \
         wrk -t1 --latency pinned to core {}; {} s warm-up (discarded) + {} s measured per run; \
         {} alternating rounds; medians",
        env.server_core, env.load_core, opts.warmup, opts.duration, opts.rounds
    ));
    out.line(env.machine.clone());
    out.line(format!(
        "# servers: {}",
        servers.iter().map(|s| s.name).collect::<Vec<_>>().join(" ")
    ));
    for s in &skipped {
        out.line(format!("# SKIPPED {s}"));
    }
    let mut outcomes = Vec::new();
    let mut failed = false;
    for workload in &workloads {
        let mut outcome = Outcome {
            workload,
            servers: servers
                .iter()
                .filter(|s| supports(s, workload))
                .map(|s| (*s, Vec::new(), None))
                .collect(),
        };
        for round in 1..=opts.rounds {
            for (server, samples, failure) in &mut outcome.servers {
                if failure.is_some() {
                    continue;
                }
                eprint!(
                    "http: {} round {round}/{} {} ... ",
                    workload.name, opts.rounds, server.name
                );
                match measure(&env, opts, server, workload) {
                    Ok(sample) => {
                        let text = format!(
                            "rps={:.0} p50_us={} p99_us={} cpu_us_per_req={:.2} rss_kib={:.0} conns={} backlog={}",
                            sample.rps,
                            Figure::P50.format(sample.p50_us),
                            Figure::P99.format(sample.p99_us),
                            sample.cpu_us_per_req,
                            sample.rss_kib,
                            sample.established.map_or("?".to_owned(), |n| n.to_string()),
                            sample.backlog.map_or("?".to_owned(), |n| n.to_string()),
                        );
                        eprintln!("{text}");
                        out.detail(format!(
                            "# {} round {round} {}: {text}",
                            workload.name, server.name
                        ));
                        for warning in &sample.warnings {
                            eprintln!(
                                "http: WARNING: {} {}: {warning}",
                                workload.name, server.name
                            );
                            out.line(format!(
                                "# WARNING {} round {round} {}: {warning}",
                                workload.name, server.name
                            ));
                        }
                        samples.push(sample);
                    }
                    Err(err) => {
                        eprintln!("FAILED: {err}");
                        out.line(format!(
                            "# FAILED {} round {round} {}: {err}",
                            workload.name, server.name
                        ));
                        *failure = Some(err);
                        failed = true;
                    }
                }
            }
        }
        report(&mut out, &outcome, opts.rounds);
        outcomes.push(outcome);
    }
    if let Some(driver) = corio_driver(&env) {
        out.line(format!(
            "# corio's I/O driver (hello_server's log): {driver}"
        ));
    }
    let load_after = load_average();
    out.line(format!(
        "# load average (1/5/15 min) at the start: {load_before}; at the end: {load_after}; {:.0} s in all",
        started.elapsed().as_secs_f64()
    ));
    if opts.writes() {
        let section = markdown(&env, opts, &outcomes, &out.kept, &load_before, &load_after);
        let path = env.repo_dir().join("docs").join("BENCHMARKS.md");
        let doc = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        fs::write(&path, splice(&doc, &section)).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("http: wrote the http-suite section of {}", path.display());
    } else {
        eprintln!(
            "http: docs/BENCHMARKS.md left alone (--quick, --only, --servers or --no-write; --write records anyway)"
        );
    }
    Ok(!failed)
}

/// The I/O driver the last `corio` server reported at start-up (`(io driver: Uring)`).
fn corio_driver(env: &Env) -> Option<String> {
    let log = fs::read_to_string(env.logs.join(format!("{CORIO}.log"))).ok()?;
    let (_, rest) = log.split_once("(io driver: ")?;
    Some(rest.split(')').next()?.to_owned())
}

// ---------------------------------------------------------------------------------------
// docs/BENCHMARKS.md

/// The version of `package` in bench/Cargo.lock.
fn locked_version(lock: &str, package: &str) -> String {
    let wanted = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == wanted
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return v.trim_end_matches('"').to_owned();
        }
    }
    "?".to_owned()
}

fn pinned_version(requirements: &str, package: &str) -> String {
    requirements
        .lines()
        .find_map(|l| l.strip_prefix(package)?.strip_prefix("=="))
        .unwrap_or("?")
        .trim()
        .to_owned()
}

fn command_output(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn markdown(
    env: &Env,
    opts: &Opts,
    outcomes: &[Outcome],
    kept: &[String],
    load_before: &str,
    load_after: &str,
) -> String {
    let repo = env.repo_dir();
    let date = command_output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]));
    let commit = command_output(Command::new("git").arg("-C").arg(&repo).args([
        "rev-parse",
        "--short",
        "HEAD",
    ]));
    let dirty = command_output(Command::new("git").arg("-C").arg(&repo).args([
        "status",
        "--porcelain",
        "--untracked-files=no",
    ]))
    .lines()
    .any(|l| !l.ends_with("docs/BENCHMARKS.md"));
    let lock = fs::read_to_string(env.bench_dir.join("Cargo.lock")).unwrap_or_default();
    let reqs =
        fs::read_to_string(env.bench_dir.join("fastapi/requirements.txt")).unwrap_or_default();
    let cpu = env.machine.clone();
    let mut command = String::from("bench/run http");
    for arg in &opts.args {
        command.push(' ');
        command.push_str(arg);
    }

    let machine = cpu.trim_start_matches("# machine: ");
    let python = env.python.as_ref().map_or("-".to_owned(), |p| {
        command_output(Command::new(p).args(["-c", "import sys; print(sys.version.split()[0])"]))
    });
    let mut s = String::new();
    writeln!(
        s,
        "{BEGIN_MARK} (written by `bench/run http`; a full run replaces this section) -->"
    )
    .unwrap();
    writeln!(s, "## http — {date}\n").unwrap();
    s += &wrap(
        "corio-web side by side with axum, actix-web, may_minihttp and FastAPI, and the \
         raw-epoll ceiling (the suite is described in `bench/README.md`). Read CPU µs/req and \
         the ratios first: on a shared 2-core machine requests/s and latency move with \
         whatever else runs (each figure's min..max over the rounds is in the protocol lines \
         below).",
        "",
        "",
    );
    s.push('\n');
    s += &wrap(&format!("Command: `{command}`"), "- ", "  ");
    s += &wrap(
        &format!(
            "Machine: {machine} (shared; load average {load_before} at the start, \
             {load_after} at the end)."
        ),
        "- ",
        "  ",
    );
    s += &wrap(
        &format!(
            "corio at `{commit}`{}.",
            if dirty {
                " with uncommitted changes"
            } else {
                ""
            }
        ),
        "- ",
        "  ",
    );
    s += &wrap(
        &format!(
            "Method: every run starts a fresh server (one worker, pinned to core {}), checks \
             its answers, {}, then measures a {} s `wrk -t1 --latency` run pinned to core {}; \
             the servers alternate within each of {} rounds and each figure is the median. p50/p99 are wrk's `--latency` \
             percentiles (wrk 4.1 corrects them for coordinated omission; none for the \
             pipelined workload, where that correction breaks them). CPU µs/req = \
             utime+stime of the server's process tree (/proc) over the measured run ÷ \
             requests completed; peak RSS = VmHWM just before the server is stopped.",
            env.server_core,
            if opts.warmup > 0 {
                format!("warms it up with a {} s wrk run (discarded)", opts.warmup)
            } else {
                "with no warm-up run".to_owned()
            },
            opts.duration,
            env.load_core,
            opts.rounds
        ),
        "- ",
        "  ",
    );
    s += &wrap(
        &format!(
            "Peers: axum {}, actix-web {}, may_minihttp {} (may {}), tokio {}; FastAPI {} on \
             uvicorn {} (uvloop {}, httptools {}), Python {python}; release profile as in \
             `bench/Cargo.toml`.",
            locked_version(&lock, "axum"),
            locked_version(&lock, "actix-web"),
            locked_version(&lock, "may_minihttp"),
            locked_version(&lock, "may"),
            locked_version(&lock, "tokio"),
            pinned_version(&reqs, "fastapi"),
            pinned_version(&reqs, "uvicorn"),
            pinned_version(&reqs, "uvloop"),
            pinned_version(&reqs, "httptools"),
        ),
        "- ",
        "  ",
    );
    for outcome in outcomes {
        let w = outcome.workload;
        writeln!(s, "\n### `{}`\n", w.name).unwrap();
        s += &wrap(&format!("{}.", w.about), "", "");
        writeln!(
            s,
            "\n| server | req/s | p50 µs | p99 µs | CPU µs/req | peak RSS KiB |"
        )
        .unwrap();
        writeln!(s, "|---|---:|---:|---:|---:|---:|").unwrap();
        let medians = outcome.medians();
        for (server, _, failure) in &outcome.servers {
            match (failure, medians.iter().find(|(n, _)| *n == server.name)) {
                (None, Some((_, m))) => {
                    let cells: Vec<String> = Figure::ALL
                        .iter()
                        .zip(m)
                        .map(|(f, v)| {
                            if f.applies(w) {
                                f.format(*v)
                            } else {
                                "-".to_owned()
                            }
                        })
                        .collect();
                    writeln!(s, "| {} | {} |", server.name, cells.join(" | ")).unwrap();
                }
                (Some(err), _) => {
                    let err = err.replace('|', "/");
                    writeln!(s, "| {} | FAILED: {err} | | | | |", server.name).unwrap();
                }
                (None, None) => {}
            }
        }
    }
    writeln!(s, "\nServers:\n").unwrap();
    for server in SERVERS.iter().filter(|server| {
        outcomes
            .iter()
            .any(|o| o.servers.iter().any(|(s, _, _)| s.name == server.name))
    }) {
        s += &wrap(&format!("`{}`: {}", server.name, server.about), "- ", "  ");
    }
    writeln!(
        s,
        "\nProtocol lines of the run (each round's figures are on stdout and left out here):\n"
    )
    .unwrap();
    writeln!(s, "```").unwrap();
    for line in kept {
        writeln!(s, "{line}").unwrap();
    }
    writeln!(s, "```").unwrap();
    writeln!(s, "{END_MARK}").unwrap();
    s
}

/// `text` as lines of at most 95 characters (longer words stay whole), the first starting
/// with `first`, the others with `rest`.
fn wrap(text: &str, first: &str, rest: &str) -> String {
    const WIDTH: usize = 95;
    let mut out = String::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_owned();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// `doc` with the suite's section replaced by `section`; without one, `section` goes
/// before the first `## http` heading (or at the end).
fn splice(doc: &str, section: &str) -> String {
    if let (Some(begin), Some(end)) = (doc.find(BEGIN_MARK), doc.find(END_MARK))
        && begin < end
    {
        let mut after = end + END_MARK.len();
        if doc[after..].starts_with('\n') {
            after += 1;
        }
        return format!("{}{section}{}", &doc[..begin], &doc[after..]);
    }
    let at = doc
        .match_indices("\n## http")
        .next()
        .map(|(i, _)| i + 1)
        .unwrap_or(doc.len());
    let (head, tail) = doc.split_at(at);
    let mut head = head.to_owned();
    if !head.is_empty() && !head.ends_with("\n\n") {
        head.push('\n');
    }
    let sep = if tail.is_empty() { "" } else { "\n" };
    format!("{head}{section}{sep}{tail}")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match Opts::parse(args) {
        Ok(opts) => opts,
        Err(err) => {
            eprintln!("http: {err}\nusage: {USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("http: some runs FAILED (see the `# FAILED` lines)");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("http: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "Running 1s test @ http://127.0.0.1:8088/plaintext
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   645.67us  146.37us   3.77ms   84.38%
    Req/Sec    77.43k     4.41k   80.71k    90.00%
  Latency Distribution
     50%  620.00us
     75%  676.00us
     90%  766.00us
     99%    1.18ms
  77033 requests in 1.00s, 9.04MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec:  76960.40
Transfer/sec:      8.99MB
";

    #[test]
    fn wrk_output() {
        let w = parse_wrk(WRK).unwrap();
        assert_eq!(w.requests, 77033);
        assert_eq!(w.rps, 76960.40);
        assert_eq!(w.p50_us, 620.0);
        assert_eq!(w.p99_us, 1180.0);
        assert_eq!(w.non_2xx, 5);
        assert_eq!(w.socket_errors, [1, 2, 3, 4]);
        let clean = WRK
            .lines()
            .filter(|l| !l.contains("errors") && !l.contains("Non-2xx"))
            .collect::<Vec<_>>()
            .join("\n");
        let w = parse_wrk(&clean).unwrap();
        assert_eq!((w.non_2xx, w.socket_errors), (0, [0; 4]));
        assert!(parse_wrk("unable to connect to 127.0.0.1:1").is_err());
    }

    #[test]
    fn wrk_times() {
        assert_eq!(parse_wrk_time("620.00us"), Some(620.0));
        assert_eq!(parse_wrk_time("1.18ms"), Some(1180.0));
        assert_eq!(parse_wrk_time("2.00s"), Some(2e6));
        assert_eq!(parse_wrk_time("1.50m"), Some(90e6));
        assert_eq!(parse_wrk_time("12"), None);
    }

    #[test]
    fn replies_plain_pipelined_and_chunked() {
        let two = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        let (first, used) = parse_reply(two).unwrap().unwrap();
        assert_eq!(first.status, 200);
        assert_eq!(first.body, b"Hello, World!");
        verify(&first, Expect::Plaintext).unwrap();
        let (second, rest) = parse_reply(&two[used..]).unwrap().unwrap();
        assert_eq!((second.status, rest), (404, two.len() - used));
        assert!(verify(&second, Expect::Plaintext).is_err());
        // Incomplete: no head end yet, or the body is short.
        assert_eq!(parse_reply(&two[..20]).unwrap(), None);
        assert_eq!(parse_reply(&two[..used - 1]).unwrap(), None);
        let chunked = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"me\r\n17\r\nssage\":\"Hello, World!\"}\r\n0\r\n\r\n";
        let (reply, used) = parse_reply(chunked).unwrap().unwrap();
        assert_eq!(used, chunked.len());
        verify(&reply, Expect::Json(JSON_BODY)).unwrap();
        assert!(verify(&reply, Expect::Json(VALIDATED_BODY)).is_err());
    }

    #[test]
    fn proc_parsing() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
        let s = parse_stat(stat).unwrap();
        assert_eq!((s.ppid, s.cpu_ticks), (1, 300));
        let status = "Name:\tx\nVmHWM:\t    5120 kB\nCpus_allowed_list:\t0\n";
        assert_eq!(status_field(status, "VmHWM"), Some("5120 kB"));
        assert_eq!(status_field(status, "Cpus_allowed_list"), Some("0"));
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F98 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0
   1: 0100007F:1F98 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1
   2: 0100007F:9C40 0100007F:1F98 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0 20 4 30 10 -1
";
        assert_eq!(parse_net_tcp(table, 8088, "0A"), [111]);
        assert_eq!(parse_net_tcp(table, 8088, "01"), [222]);
        assert_eq!(parse_net_tcp(table, 8089, "01"), Vec::<u64>::new());
        let tree = process_tree(std::process::id() as i32);
        assert_eq!(tree[0], std::process::id() as i32);
        assert!(tree_cpu_ticks(&tree) < u64::MAX);
        assert!(tree_peak_rss_kib(&tree) > 0);
    }

    #[test]
    fn splicing_the_section() {
        let section = format!("{BEGIN_MARK} x -->\nnew\n{END_MARK}\n");
        let doc = "# B\n\nintro\n\n## runtime\n\nr\n\n## http: old\n\nh\n";
        let once = splice(doc, &section);
        assert_eq!(
            once,
            format!("# B\n\nintro\n\n## runtime\n\nr\n\n{section}\n## http: old\n\nh\n")
        );
        let newer = format!("{BEGIN_MARK} y -->\nnewer\n{END_MARK}\n");
        assert_eq!(splice(&once, &newer), once.replace(&section, &newer));
        assert_eq!(splice("# B\n", &section), format!("# B\n\n{section}"));
    }

    #[test]
    fn wrapping() {
        let text = "word ".repeat(40);
        let wrapped = wrap(&text, "- ", "  ");
        assert!(wrapped.lines().all(|l| l.chars().count() <= 95));
        assert!(
            wrapped.starts_with("- word") && wrapped.lines().nth(1).unwrap().starts_with("  word")
        );
        assert_eq!(
            wrapped.split_whitespace().filter(|w| *w == "word").count(),
            40
        );
        assert_eq!(wrap("short", "", ""), "short\n");
    }

    #[test]
    fn options() {
        let parse = |s: &str| Opts::parse(s.split_whitespace().map(str::to_owned).collect());
        let full = parse("").unwrap();
        assert_eq!((full.rounds, full.duration, full.warmup), (5, 3, 1));
        assert!(full.writes());
        let quick = parse("--quick").unwrap();
        assert_eq!((quick.rounds, quick.duration, quick.warmup), (1, 1, 0));
        assert!(!quick.writes());
        assert!(parse("--quick --write").unwrap().writes());
        assert!(!parse("--no-write").unwrap().writes());
        assert!(!parse("--only json").unwrap().writes());
        let some = parse("--servers axum,fastapi --rounds 3 --duration 2").unwrap();
        assert_eq!(
            some.servers.as_deref().unwrap(),
            ["corio", "axum", "fastapi"]
        );
        assert!(!some.selects_server("actix-web"));
        assert_eq!((some.rounds, some.duration), (3, 2));
        assert!(parse("--servers nginx").is_err());
        assert!(parse("--rounds 0").is_err());
        assert!(parse("--duration").is_err());
        assert!(parse("--fast").is_err());
        assert!(
            parse("--only pipelined")
                .unwrap()
                .selects_workload("http/plaintext/pipelined16")
        );
    }
}
