//! The `sync` suite: channels and locks between tasks, corio against tokio.
//!
//! Each workload is written once, in the `workloads!` macro, and instantiated for each peer,
//! so both run exactly the same code against their own `mpsc`, `oneshot`, `broadcast`,
//! `Semaphore`, `Mutex`, `spawn` and `yield_now` (the APIs match). The shapes follow tokio's
//! own `benches/sync_*.rs`. The driving future only spawns one task and awaits it, so on
//! `/mt2` all the work runs on the two workers; the timed region is inside that task. Every
//! workload runs on a current-thread runtime (`/ct`) and on a multi-thread runtime with two
//! workers (`/mt2`); each round builds a fresh runtime per peer, outside the timed region,
//! and the peers alternate round by round. Every round checks that the work was done: counts,
//! sums, per-sender order, mutual exclusion.
//!
//! - `mpsc_bounded/uncontended`: one sender task sends N values through `channel(1024)`, the
//!   receiving task takes them all.
//! - `mpsc_bounded/contended`: the same N values from 8 sender tasks at once.
//! - `mpsc_unbounded/uncontended`, `mpsc_unbounded/contended`: the same through
//!   `unbounded_channel()`.
//! - `oneshot_reply`: a client task makes N requests one after another, each through an mpsc
//!   (`channel(10)`) to a server task that answers through the oneshot the request carries.
//! - `semaphore_contended`: 100 tasks each acquire a `Semaphore` of 5 permits M times,
//!   yielding once while they hold the permit.
//! - `mutex_contended`: 100 tasks each increment a counter behind a `Mutex` M times, reading
//!   it, yielding, and writing it back while they hold the lock (a lost update would show).
//! - `broadcast/10rx`, `broadcast/100rx`: one sender task sends N values through a broadcast
//!   channel, yielding after each, to 10 or 100 receiver tasks; the ring holds all N values,
//!   so no receiver can lag (a lag fails the round).
//!
//! Usage: `sync [--quick] [--rounds N] [--only TEXT]` (normally through `bench/run sync`);
//! `--only` runs the workloads whose name contains TEXT.

use std::process::ExitCode;

use corio_bench::{
    CORIO, Contender, Flavor, Metric, Options, USAGE, compare, machine_comment, micros,
};

/// Capacity of the bounded channel of `mpsc_bounded`.
const MPSC_CAPACITY: usize = 1024;
/// Sender tasks of the `contended` mpsc workloads.
const MPSC_SENDERS: usize = 8;
/// Capacity of the request channel of `oneshot_reply` (tokio's `request_reply` shape).
const REQUEST_CAPACITY: usize = 10;
/// Tasks of `semaphore_contended` and `mutex_contended`.
const LOCK_TASKS: usize = 100;
/// Permits of the semaphore of `semaphore_contended`.
const PERMITS: usize = 5;

/// Workload sizes of a full and of a `--quick` run.
struct Sizes {
    /// Values through the channel per `mpsc_*` round (split among the senders when
    /// contended).
    mpsc_msgs: usize,
    /// Requests per `oneshot_reply` round.
    requests: usize,
    /// Acquisitions per task per `semaphore_contended` and `mutex_contended` round.
    lock_iters: usize,
    /// Values sent per `broadcast/10rx` round...
    broadcast_10: usize,
    /// ...and per `broadcast/100rx` round (the same number of receives in all).
    broadcast_100: usize,
}

const FULL: Sizes = Sizes {
    mpsc_msgs: 400_000,
    requests: 40_000,
    lock_iters: 400,
    broadcast_10: 20_000,
    broadcast_100: 2_000,
};

const QUICK: Sizes = Sizes {
    mpsc_msgs: 80_000,
    requests: 8_000,
    lock_iters: 80,
    broadcast_10: 4_000,
    broadcast_100: 400,
};

/// The workloads, once, for the runtime crate `$rt` (whose broadcast `RecvError` is
/// `$rt::sync::$recv_error`), in module `$side`.
macro_rules! workloads {
    ($side:ident, $rt:ident, $($recv_error:ident)::+, $build:path) => {
        mod $side {
            use std::future::Future;
            use std::sync::Arc;
            use std::sync::atomic::{AtomicUsize, Ordering};
            use std::time::{Duration, Instant};

            use ::$rt::runtime::Runtime;
            use ::$rt::spawn;
            use ::$rt::sync::$($recv_error)::+ as RecvError;
            use ::$rt::sync::{Mutex, Semaphore, broadcast, mpsc, oneshot};
            use ::$rt::task::yield_now;

            use corio_bench::Flavor;

            pub fn runtime(flavor: Flavor) -> Runtime {
                $build(flavor)
            }

            /// Runs `work` in a task of `rt` (so on `/mt2` it runs on a worker, not on the
            /// thread in `block_on`) and returns what it returns: the time it measured.
            fn in_task<F>(rt: &Runtime, work: F) -> Duration
            where
                F: Future<Output = Duration> + Send + 'static,
            {
                rt.block_on(async move { spawn(work).await.expect("driver task") })
            }

            /// Checks what a receiver got from `senders` senders that each sent
            /// `(id, 0..per_sender)`: `next[id]` is the next index expected from sender `id`.
            struct Tally {
                next: Vec<usize>,
                received: usize,
            }

            impl Tally {
                fn new(senders: usize) -> Tally {
                    Tally {
                        next: vec![0; senders],
                        received: 0,
                    }
                }

                fn take(&mut self, (id, i): (usize, usize)) {
                    assert_eq!(self.next[id], i, "sender {id}'s values out of order");
                    self.next[id] += 1;
                    self.received += 1;
                }

                fn check(&self, per_sender: usize) {
                    assert!(
                        self.next.iter().all(|&n| n == per_sender),
                        "a sender's values went missing"
                    );
                    assert_eq!(self.received, self.next.len() * per_sender);
                }
            }

            /// `senders` tasks each send `(id, 0..per_sender)` through `channel(capacity)`;
            /// the driver receives until every sender is gone.
            pub fn mpsc_bounded(
                rt: &Runtime,
                capacity: usize,
                senders: usize,
                per_sender: usize,
            ) -> Duration {
                in_task(rt, async move {
                    let start = Instant::now();
                    let (tx, mut rx) = mpsc::channel(capacity);
                    for id in 0..senders {
                        let tx = tx.clone();
                        spawn(async move {
                            for i in 0..per_sender {
                                tx.send((id, i)).await.expect("receiver alive");
                            }
                        });
                    }
                    drop(tx);
                    let mut tally = Tally::new(senders);
                    while let Some(value) = rx.recv().await {
                        tally.take(value);
                    }
                    let elapsed = start.elapsed();
                    tally.check(per_sender);
                    elapsed
                })
            }

            /// [`mpsc_bounded`] through `unbounded_channel()`.
            pub fn mpsc_unbounded(rt: &Runtime, senders: usize, per_sender: usize) -> Duration {
                in_task(rt, async move {
                    let start = Instant::now();
                    let (tx, mut rx) = mpsc::unbounded_channel();
                    for id in 0..senders {
                        let tx = tx.clone();
                        spawn(async move {
                            for i in 0..per_sender {
                                tx.send((id, i)).expect("receiver alive");
                            }
                        });
                    }
                    drop(tx);
                    let mut tally = Tally::new(senders);
                    while let Some(value) = rx.recv().await {
                        tally.take(value);
                    }
                    let elapsed = start.elapsed();
                    tally.check(per_sender);
                    elapsed
                })
            }

            /// A client makes `requests` requests one after another: each goes through an
            /// mpsc to a server task with a oneshot for the reply, `n + 1`.
            pub fn oneshot_reply(rt: &Runtime, requests: usize) -> Duration {
                in_task(rt, async move {
                    let start = Instant::now();
                    let (tx, mut rx) =
                        mpsc::channel::<(usize, oneshot::Sender<usize>)>(crate::REQUEST_CAPACITY);
                    let server = spawn(async move {
                        let mut served = 0;
                        while let Some((n, reply)) = rx.recv().await {
                            reply.send(n + 1).expect("client waits for the reply");
                            served += 1;
                        }
                        served
                    });
                    let mut sum = 0;
                    for n in 0..requests {
                        let (reply_tx, reply_rx) = oneshot::channel();
                        tx.send((n, reply_tx)).await.expect("server alive");
                        sum += reply_rx.await.expect("server replied");
                    }
                    drop(tx);
                    let served = server.await.expect("server task");
                    let elapsed = start.elapsed();
                    assert_eq!(served, requests);
                    assert_eq!(sum, requests * (requests + 1) / 2);
                    elapsed
                })
            }

            /// `tasks` tasks each acquire one of `permits` permits `iters` times, yielding
            /// once while holding it.
            pub fn semaphore_contended(
                rt: &Runtime,
                tasks: usize,
                permits: usize,
                iters: usize,
            ) -> Duration {
                in_task(rt, async move {
                    let start = Instant::now();
                    let semaphore = Arc::new(Semaphore::new(permits));
                    let holders = Arc::new(AtomicUsize::new(0));
                    let most = Arc::new(AtomicUsize::new(0));
                    let workers: Vec<_> = (0..tasks)
                        .map(|_| {
                            let (semaphore, holders, most) =
                                (semaphore.clone(), holders.clone(), most.clone());
                            spawn(async move {
                                for _ in 0..iters {
                                    let permit = semaphore.acquire().await.expect("open");
                                    let now = holders.fetch_add(1, Ordering::Relaxed) + 1;
                                    most.fetch_max(now, Ordering::Relaxed);
                                    yield_now().await;
                                    holders.fetch_sub(1, Ordering::Relaxed);
                                    drop(permit);
                                }
                                iters
                            })
                        })
                        .collect();
                    let mut acquired = 0;
                    for worker in workers {
                        acquired += worker.await.expect("worker task");
                    }
                    let elapsed = start.elapsed();
                    assert_eq!(acquired, tasks * iters);
                    assert_eq!(semaphore.available_permits(), permits);
                    let most = most.load(Ordering::Relaxed);
                    assert!(most <= permits, "{most} holders of {permits} permits");
                    elapsed
                })
            }

            /// `tasks` tasks each increment a counter behind a `Mutex` `iters` times: read,
            /// yield, write back, all under the lock.
            pub fn mutex_contended(rt: &Runtime, tasks: usize, iters: usize) -> Duration {
                in_task(rt, async move {
                    let start = Instant::now();
                    let counter = Arc::new(Mutex::new(0usize));
                    let workers: Vec<_> = (0..tasks)
                        .map(|_| {
                            let counter = counter.clone();
                            spawn(async move {
                                for _ in 0..iters {
                                    let mut count = counter.lock().await;
                                    let seen = *count;
                                    yield_now().await;
                                    *count = seen + 1;
                                }
                            })
                        })
                        .collect();
                    for worker in workers {
                        worker.await.expect("worker task");
                    }
                    let elapsed = start.elapsed();
                    assert_eq!(*counter.lock().await, tasks * iters, "an increment was lost");
                    elapsed
                })
            }

            /// One sender sends `0..msgs`, yielding after each value, to `receivers` receiver
            /// tasks; the ring holds every value, so nobody lags.
            pub fn broadcast(rt: &Runtime, receivers: usize, msgs: usize) -> Duration {
                in_task(rt, async move {
                    let start = Instant::now();
                    let (tx, first) = broadcast::channel::<usize>(msgs.next_power_of_two());
                    let mut rxs = vec![first];
                    rxs.extend((1..receivers).map(|_| tx.subscribe()));
                    let readers: Vec<_> = rxs
                        .into_iter()
                        .map(|mut rx| {
                            spawn(async move {
                                let (mut count, mut sum) = (0, 0);
                                loop {
                                    match rx.recv().await {
                                        Ok(value) => {
                                            assert_eq!(value, count, "values out of order");
                                            count += 1;
                                            sum += value;
                                        }
                                        Err(RecvError::Closed) => return (count, sum),
                                        Err(RecvError::Lagged(n)) => {
                                            panic!("a receiver lagged by {n}")
                                        }
                                    }
                                }
                            })
                        })
                        .collect();
                    for value in 0..msgs {
                        assert_eq!(tx.send(value).expect("receivers alive"), receivers);
                        yield_now().await;
                    }
                    drop(tx);
                    let mut results = Vec::with_capacity(receivers);
                    for reader in readers {
                        results.push(reader.await.expect("receiver task"));
                    }
                    let elapsed = start.elapsed();
                    let expected = (msgs, msgs * msgs.saturating_sub(1) / 2);
                    assert!(
                        results.iter().all(|&r| r == expected),
                        "a receiver missed values"
                    );
                    elapsed
                })
            }
        }
    };
}

workloads!(
    corio_side,
    corio,
    broadcast::RecvError,
    corio_bench::corio_runtime
);
workloads!(
    tokio_side,
    tokio,
    broadcast::error::RecvError,
    corio_bench::tokio_runtime
);

/// The two contenders of a timed workload: `$workload(&rt, args...)` on a fresh runtime of
/// `$flavor`, corio first.
macro_rules! timed {
    ($flavor:expr, $workload:ident($($arg:expr),*)) => {
        [
            Contender::new(CORIO, || {
                let rt = corio_side::runtime($flavor);
                micros(corio_side::$workload(&rt, $($arg),*))
            }),
            Contender::new("tokio", || {
                let rt = tokio_side::runtime($flavor);
                micros(tokio_side::$workload(&rt, $($arg),*))
            }),
        ]
    };
}

fn run_suite(opts: &Options) -> Result<(), String> {
    let sizes = if opts.quick { &QUICK } else { &FULL };
    let rounds = opts.rounds;
    println!(
        "# sync suite: corio vs tokio, {rounds} alternating rounds after 1 warm-up, \
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
         tokio the same plus enable_all(); the timed work runs in a spawned task"
    );
    println!(
        "# sizes: mpsc {} values (contended: {MPSC_SENDERS} senders x {}), bounded capacity \
         {MPSC_CAPACITY}; oneshot_reply {} requests (request channel {REQUEST_CAPACITY}); \
         semaphore_contended {LOCK_TASKS} tasks x {} acquires of {PERMITS} permits; \
         mutex_contended {LOCK_TASKS} tasks x {} increments; broadcast 10 receivers x {} \
         values, 100 receivers x {} values",
        sizes.mpsc_msgs,
        sizes.mpsc_msgs / MPSC_SENDERS,
        sizes.requests,
        sizes.lock_iters,
        sizes.lock_iters,
        sizes.broadcast_10,
        sizes.broadcast_100,
    );

    let contended = sizes.mpsc_msgs / MPSC_SENDERS;
    for flavor in Flavor::ALL {
        // `run!("name", workload(args))`: compare corio and tokio on
        // `sync/<name>/<flavor>`.
        macro_rules! run {
            ($name:expr, $workload:ident($($arg:expr),*)) => {
                let name = format!("sync/{}/{}", $name, flavor.suffix());
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
        run!(
            "mpsc_bounded/uncontended",
            mpsc_bounded(MPSC_CAPACITY, 1, sizes.mpsc_msgs)
        );
        run!(
            "mpsc_bounded/contended",
            mpsc_bounded(MPSC_CAPACITY, MPSC_SENDERS, contended)
        );
        run!(
            "mpsc_unbounded/uncontended",
            mpsc_unbounded(1, sizes.mpsc_msgs)
        );
        run!(
            "mpsc_unbounded/contended",
            mpsc_unbounded(MPSC_SENDERS, contended)
        );
        run!("oneshot_reply", oneshot_reply(sizes.requests));
        run!(
            "semaphore_contended",
            semaphore_contended(LOCK_TASKS, PERMITS, sizes.lock_iters)
        );
        run!(
            "mutex_contended",
            mutex_contended(LOCK_TASKS, sizes.lock_iters)
        );
        run!("broadcast/10rx", broadcast(10, sizes.broadcast_10));
        run!("broadcast/100rx", broadcast(100, sizes.broadcast_100));
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = match Options::parse(std::env::args().skip(1)) {
        Ok(opts) => run_suite(&opts),
        Err(err) => Err(format!("{err}\nusage: sync {USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sync: {err}");
            ExitCode::FAILURE
        }
    }
}
