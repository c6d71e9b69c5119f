//! The `runtime` suite: the scheduler and timer hot paths, corio against tokio.
//!
//! Each workload is written once, in the `workloads!` macro, and instantiated for each peer,
//! so both run exactly the same code against their own `spawn`, `yield_now`, `sleep` and
//! `oneshot`. Every workload runs on a current-thread runtime (`/ct`) and on a multi-thread
//! runtime with two workers (`/mt2`); each round builds a fresh runtime per peer, outside the
//! timed region, and the peers alternate round by round.
//!
//! `runtime/sleeping_tasks_1m` measures memory instead: each measurement is a fresh child
//! process (this binary, re-executed with `--rss-child <peer> <tasks>`) that parks a million
//! sleeping tasks on a current-thread runtime and reports how much its resident set grew.
//!
//! Usage: `runtime [--quick] [--rounds N] [--only TEXT]` (normally through
//! `bench/run runtime`); `--only` runs the workloads whose name contains TEXT.

use std::process::ExitCode;
use std::time::Duration;

use corio_bench::{
    CORIO, Contender, Flavor, Metric, Options, Rng, USAGE, compare, compare_children,
    machine_comment, micros,
};

/// Workload sizes of a full and of a `--quick` run.
struct Sizes {
    /// Tasks spawned by `spawn_many_local` and `spawn_many_remote`.
    spawn: usize,
    /// Tasks in `yield_many`...
    yield_tasks: usize,
    /// ...and how often each yields.
    yields: usize,
    /// Round trips in `ping_pong`.
    pings: usize,
    /// Depth of `chained_spawn`.
    chain: usize,
    /// Concurrent sleepers in `timers`.
    timers: usize,
    /// Sleeping tasks per `sleeping_tasks_1m` child.
    sleepers: usize,
    /// Measurements (child processes per peer) of `sleeping_tasks_1m`.
    rss_rounds: usize,
}

const FULL: Sizes = Sizes {
    spawn: 10_000,
    yield_tasks: 200,
    yields: 1_000,
    pings: 1_000,
    chain: 1_000,
    timers: 100_000,
    sleepers: 1_000_000,
    rss_rounds: 3,
};

const QUICK: Sizes = Sizes {
    spawn: 5_000,
    yield_tasks: 100,
    yields: 500,
    pings: 500,
    chain: 500,
    timers: 50_000,
    sleepers: 200_000,
    rss_rounds: 1,
};

/// Sleep lengths of `timers`: 1 to 10 ms, the same pseudo-random list for every peer.
fn timer_delays(n: usize) -> Vec<Duration> {
    let mut rng = Rng::new(0x5EED);
    (0..n)
        .map(|_| Duration::from_micros(rng.range(1_000, 10_000)))
        .collect()
}

/// tokio with only its time driver, a second reference: the gap to plain `tokio` shows what
/// the IO driver costs tokio on these shapes (corio always has its reactor).
fn build_tokio_time(flavor: Flavor) -> tokio::runtime::Runtime {
    match flavor {
        Flavor::Ct => tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build(),
        Flavor::Mt2 => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build(),
    }
    .expect("build a tokio runtime")
}

/// corio with slow-poll detection off (no poll stamps, no monitor thread, no hand-off): the
/// gap to plain `corio` is what detection costs.
fn build_corio_nodetect(flavor: Flavor) -> corio::runtime::Runtime {
    match flavor {
        Flavor::Ct => corio::runtime::Builder::new_current_thread(),
        Flavor::Mt2 => corio::runtime::Builder::new_multi_thread().worker_threads(2),
    }
    .slow_poll_detection(false)
    .build()
    .expect("build a corio runtime")
}

/// The workloads, once, for the runtime crate `$rt`, in module `$side`.
macro_rules! workloads {
    ($side:ident, $rt:ident, $build:path) => {
        // Not every peer runs every workload (tokio-timeonly skips the memory one).
        #[allow(dead_code)]
        mod $side {
            use std::sync::atomic::{AtomicUsize, Ordering};
            use std::sync::{Arc, Mutex};
            use std::time::{Duration, Instant};

            use ::$rt::runtime::Runtime;
            use ::$rt::spawn;
            use ::$rt::sync::oneshot;
            use ::$rt::task::yield_now;
            use ::$rt::time::sleep;

            use corio_bench::Flavor;

            pub fn runtime(flavor: Flavor) -> Runtime {
                $build(flavor)
            }

            /// Runs one trivial task to completion, so that the runtime's threads have
            /// started before the clock does: the workloads time the work, not thread
            /// start-up (which on 2 cores takes a core from a worker for tens of µs).
            pub fn warm(rt: &Runtime) {
                rt.block_on(async {
                    let _ = spawn(async {}).await;
                });
            }

            /// Counts completions down; the last one fires a oneshot the driver awaits.
            struct Countdown {
                left: AtomicUsize,
                done: Mutex<Option<oneshot::Sender<()>>>,
            }

            impl Countdown {
                fn new(n: usize) -> (Arc<Countdown>, oneshot::Receiver<()>) {
                    assert!(n > 0);
                    let (tx, rx) = oneshot::channel();
                    let countdown = Countdown {
                        left: AtomicUsize::new(n),
                        done: Mutex::new(Some(tx)),
                    };
                    (Arc::new(countdown), rx)
                }

                fn tick(&self) {
                    if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                        let tx = self.done.lock().unwrap().take();
                        let _ = tx.expect("fires once").send(());
                    }
                }
            }

            /// From inside a task, spawn `n` tasks that each only tick the countdown.
            pub fn spawn_many_local(rt: &Runtime, n: usize) -> Duration {
                let (countdown, done) = Countdown::new(n);
                let start = Instant::now();
                rt.block_on(async move {
                    spawn(async move {
                        for _ in 0..n {
                            let countdown = countdown.clone();
                            spawn(async move { countdown.tick() });
                        }
                    });
                    done.await.expect("every task ticked");
                });
                start.elapsed()
            }

            /// The same tasks, spawned from outside the runtime through its handle.
            pub fn spawn_many_remote(rt: &Runtime, n: usize) -> Duration {
                let (countdown, done) = Countdown::new(n);
                let start = Instant::now();
                for _ in 0..n {
                    let countdown = countdown.clone();
                    rt.spawn(async move { countdown.tick() });
                }
                rt.block_on(async move { done.await.expect("every task ticked") });
                start.elapsed()
            }

            /// `tasks` tasks, each yielding `yields` times.
            pub fn yield_many(rt: &Runtime, tasks: usize, yields: usize) -> Duration {
                let (countdown, done) = Countdown::new(tasks);
                let start = Instant::now();
                rt.block_on(async move {
                    for _ in 0..tasks {
                        let countdown = countdown.clone();
                        spawn(async move {
                            for _ in 0..yields {
                                yield_now().await;
                            }
                            countdown.tick();
                        });
                    }
                    done.await.expect("every task ticked");
                });
                start.elapsed()
            }

            /// A task spawns `pings` tasks; each spawns a ponger, pings it over a oneshot
            /// and awaits the pong over another.
            pub fn ping_pong(rt: &Runtime, pings: usize) -> Duration {
                let (countdown, done) = Countdown::new(pings);
                let start = Instant::now();
                rt.block_on(async move {
                    spawn(async move {
                        for _ in 0..pings {
                            let countdown = countdown.clone();
                            spawn(async move {
                                let (ping_tx, ping_rx) = oneshot::channel::<()>();
                                let (pong_tx, pong_rx) = oneshot::channel::<()>();
                                spawn(async move {
                                    ping_rx.await.expect("ping");
                                    pong_tx.send(()).expect("pong");
                                });
                                ping_tx.send(()).expect("ping");
                                pong_rx.await.expect("pong");
                                countdown.tick();
                            });
                        }
                    });
                    done.await.expect("every round trip finished");
                });
                start.elapsed()
            }

            /// A task that spawns a task that spawns ... `depth` tasks in all; the last
            /// one signals.
            pub fn chained_spawn(rt: &Runtime, depth: usize) -> Duration {
                fn link(left: usize, done: oneshot::Sender<()>) {
                    if left == 0 {
                        let _ = done.send(());
                    } else {
                        spawn(async move { link(left - 1, done) });
                    }
                }
                let (tx, done) = oneshot::channel();
                let start = Instant::now();
                rt.block_on(async move {
                    spawn(async move { link(depth - 1, tx) });
                    done.await.expect("the chain ended");
                });
                start.elapsed()
            }

            /// One task per delay, all sleeping at once; until the last one wakes.
            pub fn timers(rt: &Runtime, delays: &[Duration]) -> Duration {
                let (countdown, done) = Countdown::new(delays.len());
                let delays = delays.to_vec();
                let start = Instant::now();
                rt.block_on(async move {
                    for delay in delays {
                        let countdown = countdown.clone();
                        spawn(async move {
                            sleep(delay).await;
                            countdown.tick();
                        });
                    }
                    done.await.expect("every sleeper woke");
                });
                start.elapsed()
            }

            /// In this (fresh) process: how many KiB the resident set grows by when `n`
            /// tasks sleep for a minute on a current-thread runtime. Returns
            /// (growth, baseline) in KiB.
            pub fn sleeping_tasks_rss(n: usize) -> std::io::Result<(u64, u64)> {
                /// Tasks polled so far (a static, so the tasks capture nothing).
                static STARTED: AtomicUsize = AtomicUsize::new(0);

                let rt = runtime(Flavor::Ct);
                let baseline = corio_bench::rss_kib()?;
                rt.block_on(async move {
                    for _ in 0..n {
                        spawn(async {
                            STARTED.fetch_add(1, Ordering::Relaxed);
                            sleep(Duration::from_secs(60)).await;
                        });
                    }
                    // Every task has been polled once, so its timer is registered.
                    while STARTED.load(Ordering::Relaxed) < n {
                        sleep(Duration::from_millis(1)).await;
                    }
                });
                let after = corio_bench::rss_kib()?;
                // Tear-down (a million cancellations) is not measured; skip it.
                std::mem::forget(rt);
                Ok((after.saturating_sub(baseline), baseline))
            }
        }
    };
}

workloads!(corio_side, corio, corio_bench::corio_runtime);
workloads!(corio_nodetect_side, corio, crate::build_corio_nodetect);
workloads!(tokio_side, tokio, corio_bench::tokio_runtime);
workloads!(tokio_time_side, tokio, crate::build_tokio_time);

/// The contenders of a timed workload: `$workload(&rt, args...)` on a fresh runtime of
/// `$flavor`, corio first.
macro_rules! timed {
    ($flavor:expr, $workload:ident($($arg:expr),*)) => {
        [
            Contender::new(CORIO, || {
                let rt = corio_side::runtime($flavor);
                corio_side::warm(&rt);
                micros(corio_side::$workload(&rt, $($arg),*))
            }),
            Contender::new("tokio", || {
                let rt = tokio_side::runtime($flavor);
                tokio_side::warm(&rt);
                micros(tokio_side::$workload(&rt, $($arg),*))
            }),
            Contender::new("tokio-timeonly", || {
                let rt = tokio_time_side::runtime($flavor);
                tokio_time_side::warm(&rt);
                micros(tokio_time_side::$workload(&rt, $($arg),*))
            }),
            Contender::new("corio-nodetect", || {
                let rt = corio_nodetect_side::runtime($flavor);
                corio_nodetect_side::warm(&rt);
                micros(corio_nodetect_side::$workload(&rt, $($arg),*))
            }),
        ]
    };
}

fn run_suite(opts: &Options) -> Result<(), String> {
    let sizes = if opts.quick { &QUICK } else { &FULL };
    let rounds = opts.rounds;
    println!(
        "# runtime suite: corio vs tokio, {rounds} alternating rounds after 1 warm-up, \
         median time_us{}",
        if opts.quick {
            " (--quick: smaller sizes)"
        } else {
            ""
        }
    );
    println!("{}", machine_comment());
    println!(
        "# runtimes: corio Builder::new_current_thread() / new_multi_thread().worker_threads(2); \
         tokio the same plus enable_all() (IO and time drivers, as #[tokio::main] has); \
         tokio-timeonly with enable_time() only (a reference; corio always runs its reactor); \
         corio-nodetect: corio with slow_poll_detection(false) (what detection costs)"
    );
    println!(
        "# sizes: spawn={} yield={}x{} ping_pong={} chained_spawn={} timers={} \
         sleeping_tasks={}",
        sizes.spawn,
        sizes.yield_tasks,
        sizes.yields,
        sizes.pings,
        sizes.chain,
        sizes.timers,
        sizes.sleepers
    );

    let delays = timer_delays(sizes.timers);
    for flavor in Flavor::ALL {
        // `run!(workload(args))`: compare corio and tokio on `runtime/<workload>/<flavor>`.
        macro_rules! run {
            ($workload:ident($($arg:expr),*)) => {
                let name = format!("runtime/{}/{}", stringify!($workload), flavor.suffix());
                if opts.selects(&name) {
                    compare(
                        &name,
                        Metric::TimeUs,
                        rounds,
                        &mut timed!(flavor, $workload($($arg),*)),
                    );
                }
            };
        }
        run!(spawn_many_local(sizes.spawn));
        run!(spawn_many_remote(sizes.spawn));
        run!(yield_many(sizes.yield_tasks, sizes.yields));
        run!(ping_pong(sizes.pings));
        run!(chained_spawn(sizes.chain));
        run!(timers(&delays));
    }

    if !opts.selects(SLEEPING_TASKS) {
        return Ok(());
    }
    sleeping_tasks(sizes.sleepers, sizes.rss_rounds)
}

const SLEEPING_TASKS: &str = "runtime/sleeping_tasks_1m";

/// `runtime/sleeping_tasks_1m`: RSS growth per peer, each measurement in a fresh child.
fn sleeping_tasks(tasks: usize, rounds: usize) -> Result<(), String> {
    const NAME: &str = SLEEPING_TASKS;
    let child = |peer: &str| vec!["--rss-child".to_owned(), peer.to_owned(), tasks.to_string()];
    let medians = compare_children(
        NAME,
        rounds,
        &[(CORIO, child(CORIO)), ("tokio", child("tokio"))],
    )?;
    let per_task: Vec<String> = medians
        .iter()
        .map(|(peer, kib)| format!("{peer}={:.0}", kib * 1024.0 / tasks as f64))
        .collect();
    println!(
        "# {NAME} bytes per sleeping task ({tasks} tasks, median of {rounds}): {}",
        per_task.join(" ")
    );
    Ok(())
}

/// The child side of `sleeping_tasks_1m`: `--rss-child <peer> <tasks>`.
fn rss_child(args: &[String]) -> Result<(), String> {
    let [peer, tasks] = args else {
        return Err("usage: runtime --rss-child <corio|tokio> <tasks>".to_owned());
    };
    let tasks: usize = tasks
        .parse()
        .map_err(|_| format!("--rss-child: `{tasks}` is not a number"))?;
    let measured = match peer.as_str() {
        "corio" => corio_side::sleeping_tasks_rss(tasks),
        "tokio" => tokio_side::sleeping_tasks_rss(tasks),
        other => return Err(format!("--rss-child: unknown peer `{other}`")),
    };
    let (growth, baseline) = measured.map_err(|e| format!("reading VmRSS: {e}"))?;
    println!("rss_kib={growth} baseline_kib={baseline} tasks={tasks}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--rss-child") {
        rss_child(&args[1..])
    } else {
        match Options::parse(args) {
            Ok(opts) => run_suite(&opts),
            Err(err) => Err(format!("{err}\nusage: runtime {USAGE}")),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("runtime: {err}");
            ExitCode::FAILURE
        }
    }
}
