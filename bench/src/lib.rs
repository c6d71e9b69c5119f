//! Shared pieces of the benchmark suites: options, side-by-side alternation, medians and the
//! `BENCH` / `ADV` lines of `shared/BENCHMARKS.md`.
//!
//! A suite binary describes each workload once per peer as a closure that runs one round and
//! returns its figure; [`compare`] runs a warm-up round, then the peers alternately
//! (A B A B ...) for the requested rounds, and prints the medians. A memory figure is best
//! taken in a fresh process per measurement: [`compare_children`] re-executes the suite binary
//! with the arguments a suite names and reads the `rss_kib=` it prints. Everything a suite
//! prints to stdout is either a protocol line or a `#` comment; progress goes to stderr.

use std::fmt::Write as _;
use std::time::Duration;

/// The peer whose advantage every `ADV` line states.
pub const CORIO: &str = "corio";

/// What a figure measures; decides its unit and which direction is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Wall time in microseconds; lower is better.
    TimeUs,
    /// Resident memory in KiB; lower is better.
    RssKib,
    /// Requests per second; higher is better.
    Rps,
    /// Server CPU time (user + system) per request, in microseconds; lower is better.
    CpuUsPerReq,
    /// 99th-percentile latency in microseconds; lower is better.
    P99Us,
}

impl Metric {
    /// The protocol's name for the metric.
    pub fn name(self) -> &'static str {
        match self {
            Metric::TimeUs => "time_us",
            Metric::RssKib => "rss_kib",
            Metric::Rps => "rps",
            Metric::CpuUsPerReq => "cpu_us_per_req",
            Metric::P99Us => "p99_us",
        }
    }

    fn lower_is_better(self) -> bool {
        match self {
            Metric::TimeUs | Metric::RssKib | Metric::CpuUsPerReq | Metric::P99Us => true,
            Metric::Rps => false,
        }
    }
}

/// Which scheduler a round runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Current-thread runtime.
    Ct,
    /// Multi-thread runtime with two workers.
    Mt2,
}

impl Flavor {
    /// Both, in the order the suites run them.
    pub const ALL: [Flavor; 2] = [Flavor::Ct, Flavor::Mt2];

    /// The last part of a workload's name: `ct` or `mt2`.
    pub fn suffix(self) -> &'static str {
        match self {
            Flavor::Ct => "ct",
            Flavor::Mt2 => "mt2",
        }
    }

    /// The flavor whose [`suffix`](Flavor::suffix) is `suffix`.
    pub fn from_suffix(suffix: &str) -> Option<Flavor> {
        Flavor::ALL.into_iter().find(|f| f.suffix() == suffix)
    }
}

/// A fresh corio runtime: `Builder::new_current_thread()` or
/// `new_multi_thread().worker_threads(2)`.
pub fn corio_runtime(flavor: Flavor) -> corio::runtime::Runtime {
    match flavor {
        Flavor::Ct => corio::runtime::Builder::new_current_thread().build(),
        Flavor::Mt2 => corio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build(),
    }
    .expect("build a corio runtime")
}

/// [`corio_runtime`] on the epoll reactor whatever the default (`corio-epoll` in the
/// suites: the io_uring driver's comparison).
pub fn corio_epoll_runtime(flavor: Flavor) -> corio::runtime::Runtime {
    corio_runtime_on(flavor, corio::runtime::IoDriverKind::Epoll)
}

/// [`corio_runtime`] on the I/O driver `driver`.
pub fn corio_runtime_on(
    flavor: Flavor,
    driver: corio::runtime::IoDriverKind,
) -> corio::runtime::Runtime {
    match flavor {
        Flavor::Ct => corio::runtime::Builder::new_current_thread(),
        Flavor::Mt2 => corio::runtime::Builder::new_multi_thread().worker_threads(2),
    }
    .io_driver(driver)
    .build()
    .expect("build a corio runtime")
}

/// A fresh tokio runtime shaped like [`corio_runtime`], with `enable_all()` (the IO and time
/// drivers, as `#[tokio::main]` has).
pub fn tokio_runtime(flavor: Flavor) -> tokio::runtime::Runtime {
    match flavor {
        Flavor::Ct => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Flavor::Mt2 => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
    }
    .expect("build a tokio runtime")
}

/// Command-line options common to every suite binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `--quick`: fewer rounds, smaller sizes; the whole suite in well under a minute.
    pub quick: bool,
    /// Measured rounds per workload (after one warm-up round).
    pub rounds: usize,
    /// `--only TEXT`: run only the workloads whose name contains `TEXT`.
    pub only: Option<String>,
}

/// Measured rounds of a full run: at least 5 by the protocol; odd, so the median is a round.
/// More than 5 because two shared cores are noisy: a tokio-against-tokio run showed single
/// workloads off by up to 25% at 7 rounds.
pub const FULL_ROUNDS: usize = 11;
/// Measured rounds of a `--quick` run.
pub const QUICK_ROUNDS: usize = 3;

/// What the options look like, for error messages.
pub const USAGE: &str = "[--quick] [--rounds N] [--only TEXT]";

impl Options {
    /// Parses [`USAGE`]; anything else is an error message.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, String> {
        let mut quick = false;
        let mut rounds = None;
        let mut only = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => quick = true,
                "--rounds" => {
                    let n = args.next().ok_or("--rounds needs a number")?;
                    match n.parse::<usize>() {
                        Ok(n) if n >= 1 => rounds = Some(n),
                        _ => return Err(format!("--rounds: `{n}` is not a positive number")),
                    }
                }
                "--only" => only = Some(args.next().ok_or("--only needs a workload name")?),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        let rounds = rounds.unwrap_or(if quick { QUICK_ROUNDS } else { FULL_ROUNDS });
        Ok(Options {
            quick,
            rounds,
            only,
        })
    }

    /// True if workload `name` is to run (see `--only`).
    pub fn selects(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|only| name.contains(only))
    }
}

/// The median; the mean of the middle two for an even count. `values` must not be empty.
pub fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "median of no values");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// A figure as the protocol prints it: whole units, one decimal below 100 µs, two decimals
/// for CPU time per request (a few µs).
pub fn format_value(metric: Metric, value: f64) -> String {
    match metric {
        Metric::CpuUsPerReq => format!("{value:.2}"),
        Metric::TimeUs | Metric::P99Us if value < 100.0 => format!("{value:.1}"),
        _ => format!("{value:.0}"),
    }
}

/// How many times better corio is than the peer (> 1 means corio wins).
pub fn advantage(metric: Metric, corio: f64, peer: f64) -> f64 {
    if metric.lower_is_better() {
        peer / corio
    } else {
        corio / peer
    }
}

/// `BENCH <name> <metric> corio=<v> <peer>=<v> ...`; `figures` starts with corio's.
pub fn bench_line(name: &str, metric: Metric, figures: &[(&str, f64)]) -> String {
    let mut line = format!("BENCH {name} {}", metric.name());
    for (peer, value) in figures {
        write!(line, " {peer}={}", format_value(metric, *value)).unwrap();
    }
    line
}

/// `ADV <name> vs <peer> = <x.xx>`.
pub fn adv_line(name: &str, metric: Metric, corio: f64, peer: &str, value: f64) -> String {
    format!(
        "ADV {name} vs {peer} = {:.2}",
        advantage(metric, corio, value)
    )
}

/// The protocol lines for one workload: the `BENCH` line, then one `ADV` per peer.
///
/// `figures` is corio's figure first, then each peer's.
pub fn report_lines(name: &str, metric: Metric, figures: &[(&str, f64)]) -> Vec<String> {
    let (corio_name, corio) = figures[0];
    assert_eq!(corio_name, CORIO, "corio's figure comes first");
    let mut lines = vec![bench_line(name, metric, figures)];
    for (peer, value) in &figures[1..] {
        lines.push(adv_line(name, metric, corio, peer, *value));
    }
    lines
}

/// One contender of a comparison: its name and a closure that runs one round.
pub struct Contender<'a> {
    /// The peer's name in the protocol (`corio`, `tokio`, ...).
    pub name: &'static str,
    /// Runs one round and returns its figure (in the comparison's metric).
    pub round: Box<dyn FnMut() -> f64 + 'a>,
}

impl<'a> Contender<'a> {
    /// A contender named `name` whose round is `round`.
    pub fn new(name: &'static str, round: impl FnMut() -> f64 + 'a) -> Contender<'a> {
        Contender {
            name,
            round: Box::new(round),
        }
    }
}

/// Runs `warmup` discarded rounds, then `rounds` measured ones; each round runs every
/// contender once, in order (A B A B ...). Returns each contender's measured figures.
pub fn alternate(contenders: &mut [Contender<'_>], warmup: usize, rounds: usize) -> Vec<Vec<f64>> {
    let mut figures = vec![Vec::with_capacity(rounds); contenders.len()];
    for round in 0..warmup + rounds {
        for (contender, figures) in contenders.iter_mut().zip(&mut figures) {
            let figure = (contender.round)();
            if round >= warmup {
                figures.push(figure);
            }
        }
    }
    figures
}

/// Compares the contenders (corio first) on workload `name` and prints the protocol lines,
/// plus a `#` line with each contender's spread; returns the medians, corio's first.
///
/// One warm-up round, then `rounds` alternating rounds; the medians are reported.
pub fn compare(
    name: &str,
    metric: Metric,
    rounds: usize,
    contenders: &mut [Contender<'_>],
) -> Vec<(&'static str, f64)> {
    eprintln!("running {name} ({rounds} rounds + 1 warm-up)");
    let figures = alternate(contenders, 1, rounds);
    let names: Vec<&'static str> = contenders.iter().map(|c| c.name).collect();
    report(name, metric, rounds, &names, &figures)
}

/// Prints the protocol lines for the medians of `figures` (one list per name in `names`,
/// corio's first) and a `#` line with each list's spread; returns the medians.
fn report(
    name: &str,
    metric: Metric,
    rounds: usize,
    names: &[&'static str],
    figures: &[Vec<f64>],
) -> Vec<(&'static str, f64)> {
    let medians: Vec<(&'static str, f64)> = names
        .iter()
        .zip(figures)
        .map(|(peer, f)| (*peer, median(f)))
        .collect();
    let spread: Vec<String> = names
        .iter()
        .zip(figures)
        .map(|(peer, f)| {
            let min = f.iter().copied().fold(f64::INFINITY, f64::min);
            let max = f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!(
                "{peer}=[{}..{}]",
                format_value(metric, min),
                format_value(metric, max)
            )
        })
        .collect();
    for line in report_lines(name, metric, &medians) {
        println!("{line}");
    }
    println!(
        "# {name} min..max over {rounds} rounds: {}",
        spread.join(" ")
    );
    medians
}

/// Compares the peers on the memory of workload `name`, each measurement a fresh child
/// process: this binary, re-executed with the peer's arguments, which prints
/// `rss_kib=<growth>` among the words of its stdout. `rounds` children per peer, alternating
/// (A B A B ...), no warm-up (every child starts cold). Prints the protocol lines (metric
/// `rss_kib`) and the spread; returns the medians, corio's first.
pub fn compare_children(
    name: &str,
    rounds: usize,
    peers: &[(&'static str, Vec<String>)],
) -> Result<Vec<(&'static str, f64)>, String> {
    eprintln!("running {name} ({rounds} rounds of fresh processes)");
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let failure = std::cell::RefCell::new(None::<String>);
    let mut contenders: Vec<Contender<'_>> = peers
        .iter()
        .map(|(peer, args)| {
            let (exe, failure) = (&exe, &failure);
            Contender::new(peer, move || match rss_of_child(exe, peer, args) {
                Ok(kib) => kib as f64,
                Err(err) => {
                    failure.borrow_mut().get_or_insert(err);
                    f64::NAN
                }
            })
        })
        .collect();
    let figures = alternate(&mut contenders, 0, rounds);
    if let Some(err) = failure.borrow_mut().take() {
        return Err(err);
    }
    let names: Vec<&'static str> = peers.iter().map(|(peer, _)| *peer).collect();
    Ok(report(name, Metric::RssKib, rounds, &names, &figures))
}

/// Runs `exe args...` and reads the `rss_kib=` figure it prints.
fn rss_of_child(exe: &std::path::Path, peer: &str, args: &[String]) -> Result<u64, String> {
    let out = std::process::Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| format!("cannot start the {peer} child: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the {peer} child failed ({}): {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    stdout
        .split_whitespace()
        .find_map(|word| word.strip_prefix("rss_kib="))
        .and_then(|kib| kib.parse().ok())
        .ok_or_else(|| format!("the {peer} child printed no rss_kib=: {stdout}"))
}

/// A duration in microseconds, as `time_us` figures are.
pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// This process's resident set size in KiB (`VmRSS` of `/proc/self/status`).
pub fn rss_kib() -> std::io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    parse_vm_rss(&status).ok_or_else(|| std::io::Error::other("no VmRSS in /proc/self/status"))
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let kib = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(kib)
}

/// A `#` line naming the machine: core count and CPU model.
pub fn machine_comment() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    format!("# machine: nproc={cores} cpu={cpu}")
}

/// A small deterministic generator (xorshift64*), so every peer gets the same "random"
/// inputs.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; zero is remapped).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }

    #[test]
    fn lines_match_the_protocol() {
        let lines = report_lines(
            "runtime/yield_many/mt2",
            Metric::TimeUs,
            &[("corio", 8123.4), ("tokio", 9050.0)],
        );
        assert_eq!(
            lines,
            [
                "BENCH runtime/yield_many/mt2 time_us corio=8123 tokio=9050",
                "ADV runtime/yield_many/mt2 vs tokio = 1.11",
            ]
        );
        assert_eq!(
            bench_line(
                "runtime/chained_spawn/ct",
                Metric::TimeUs,
                &[("corio", 42.25)]
            ),
            "BENCH runtime/chained_spawn/ct time_us corio=42.2"
        );
        assert_eq!(
            bench_line(
                "http/plaintext",
                Metric::CpuUsPerReq,
                &[("corio", 12.204), ("axum", 16.466)]
            ),
            "BENCH http/plaintext cpu_us_per_req corio=12.20 axum=16.47"
        );
        assert_eq!(
            bench_line(
                "http/json",
                Metric::P99Us,
                &[("corio", 1234.4), ("fastapi", 88.04)]
            ),
            "BENCH http/json p99_us corio=1234 fastapi=88.0"
        );
    }

    #[test]
    fn advantage_direction() {
        // Times and memory: peer / corio.
        assert_eq!(advantage(Metric::TimeUs, 100.0, 150.0), 1.5);
        assert_eq!(advantage(Metric::RssKib, 200.0, 100.0), 0.5);
        assert_eq!(advantage(Metric::CpuUsPerReq, 10.0, 13.0), 1.3);
        assert_eq!(advantage(Metric::P99Us, 400.0, 200.0), 0.5);
        // Rates: corio / peer.
        assert_eq!(advantage(Metric::Rps, 300.0, 100.0), 3.0);
    }

    #[test]
    fn alternation_order_and_warmup() {
        let log = std::cell::RefCell::new(Vec::new());
        let mut n = 0.0;
        let mut contenders = [
            Contender::new("corio", || {
                log.borrow_mut().push('A');
                n += 1.0;
                n
            }),
            Contender::new("tokio", || {
                log.borrow_mut().push('B');
                10.0
            }),
        ];
        let figures = alternate(&mut contenders, 1, 3);
        drop(contenders);
        assert_eq!(log.into_inner().iter().collect::<String>(), "ABABABAB");
        assert_eq!(figures, [vec![2.0, 3.0, 4.0], vec![10.0, 10.0, 10.0]]);
    }

    #[test]
    fn options() {
        let parse = |s: &str| Options::parse(s.split_whitespace().map(str::to_owned));
        assert_eq!(
            parse("").unwrap(),
            Options {
                quick: false,
                rounds: FULL_ROUNDS,
                only: None,
            }
        );
        assert_eq!(
            parse("--quick").unwrap(),
            Options {
                quick: true,
                rounds: QUICK_ROUNDS,
                only: None,
            }
        );
        assert_eq!(parse("--quick --rounds 9").unwrap().rounds, 9);
        assert!(parse("--rounds 0").is_err());
        assert!(parse("--rounds").is_err());
        assert!(parse("--fast").is_err());

        let only = parse("--only yield").unwrap();
        assert!(only.selects("runtime/yield_many/ct"));
        assert!(!only.selects("runtime/timers/ct"));
        assert!(parse("").unwrap().selects("anything"));
    }

    #[test]
    fn flavor_suffixes_round_trip() {
        for flavor in Flavor::ALL {
            assert_eq!(Flavor::from_suffix(flavor.suffix()), Some(flavor));
        }
        assert_eq!(Flavor::from_suffix("mt4"), None);
    }

    #[test]
    fn vm_rss() {
        let status = "Name:\tx\nVmPeak:\t  9 kB\nVmRSS:\t    1234 kB\nThreads: 1\n";
        assert_eq!(parse_vm_rss(status), Some(1234));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        assert!(rss_kib().unwrap() > 0);
    }

    #[test]
    fn rng_is_deterministic_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let x = a.range(1_000, 10_000);
            assert_eq!(x, b.range(1_000, 10_000));
            assert!((1_000..=10_000).contains(&x));
        }
    }
}
