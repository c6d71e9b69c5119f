//! The `fs` suite: `corio::fs` on io_uring (`corio`) against the same calls on corio's
//! blocking pool (`corio-epoll`, the epoll driver) and `tokio::fs` (tokio's blocking pool).
//!
//! Every workload runs `TASKS` tasks at once on one runtime, each doing the same call over
//! and over on files in a fresh directory under the system temp dir (on this machine's own
//! file system: tmpfs or disk, whatever `std::env::temp_dir()` is; the page cache is warm
//! after the warm-up round). The time of a round (`time_us`) is from the first call to the
//! last; runtimes and files are made outside it. Every call's result is checked.
//!
//! - `read4k`: `fs::read` of a 4 KiB file (open, size, read, read to the end, close).
//! - `write4k`: `fs::write` of 4 KiB, each task to its own file (open with truncate, write,
//!   close).
//! - `statx`: `fs::metadata` of a file.
//! - `file_1mib`: `File::open`, then `read` calls through the async read trait into one
//!   reused 64 KiB buffer until the end of a 1 MiB file (corio's `File` fetches 64 KiB per
//!   system call; tokio's as much as the caller asks for, here the same 64 KiB).
//!   (Not `read_to_end`: futures-util's zero-fills and regrows the `Vec`, and the page
//!   faults of that allocation churn swamped the reads themselves.)
//!
//! Usage: `fs [--quick] [--rounds N] [--only TEXT]` (normally through `bench/run fs`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corio::runtime::IoDriverKind;
use corio_bench::{
    CORIO, Contender, Flavor, Metric, Options, USAGE, compare, machine_comment, micros,
};

/// Tasks calling at once.
const TASKS: usize = 8;
const SMALL: usize = 4 * 1024;
const LARGE: usize = 1024 * 1024;
/// The buffer `file_1mib` reads into.
const CHUNK: usize = 64 * 1024;

/// Calls per task per round.
struct Sizes {
    read4k: usize,
    write4k: usize,
    statx: usize,
    file_1mib: usize,
}

const FULL: Sizes = Sizes {
    read4k: 1_000,
    write4k: 500,
    statx: 2_000,
    file_1mib: 25,
};

const QUICK: Sizes = Sizes {
    read4k: 200,
    write4k: 100,
    statx: 500,
    file_1mib: 5,
};

/// The files the workloads use, in a directory removed on drop.
struct Files {
    dir: PathBuf,
    small: PathBuf,
    large: PathBuf,
}

impl Files {
    fn new() -> Files {
        let dir = std::env::temp_dir().join(format!("corio-bench-fs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the bench directory");
        let small = dir.join("small.bin");
        let large = dir.join("large.bin");
        std::fs::write(&small, vec![1u8; SMALL]).expect("write small.bin");
        std::fs::write(&large, vec![2u8; LARGE]).expect("write large.bin");
        Files { dir, small, large }
    }

    /// The file task `task` writes to.
    fn output(&self, task: usize) -> PathBuf {
        self.dir.join(format!("out-{task}.bin"))
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One call of a workload, on corio or on tokio (the same call, each crate's own `fs`).
#[derive(Clone, Copy)]
enum Call {
    Read4k,
    Write4k,
    Statx,
    File1Mib,
}

/// The calls and the timed run, written once and instantiated for each runtime (as the io
/// suite's `workloads!`): `$fs` is the runtime's fs module, `$spawn` its spawn.
macro_rules! fs_workloads {
    ($fs:ident, $spawn:path, $runtime:ty) => {
        async fn call(call: Call, files: &Files, task: usize) {
            match call {
                Call::Read4k => {
                    let bytes = $fs::fs::read(&files.small).await.expect("read");
                    assert_eq!(bytes.len(), SMALL);
                }
                Call::Write4k => {
                    let data = [task as u8; SMALL];
                    $fs::fs::write(files.output(task), data)
                        .await
                        .expect("write");
                }
                Call::Statx => {
                    let meta = $fs::fs::metadata(&files.small).await.expect("metadata");
                    assert_eq!(meta.len(), SMALL as u64);
                }
                Call::File1Mib => {
                    let mut file = $fs::fs::File::open(&files.large).await.expect("open");
                    let mut buf = [0u8; CHUNK];
                    let mut total = 0;
                    loop {
                        match file.read(&mut buf).await.expect("read") {
                            0 => break,
                            n => total += n,
                        }
                    }
                    assert_eq!(total, LARGE);
                }
            }
        }

        /// `TASKS` tasks, each making `calls` calls; the time from the start to the last.
        pub fn run(rt: &$runtime, files: &Arc<Files>, what: Call, calls: usize) -> Duration {
            rt.block_on(async {
                let start = Instant::now();
                let tasks: Vec<_> = (0..TASKS)
                    .map(|task| {
                        let files = Arc::clone(files);
                        $spawn(async move {
                            for _ in 0..calls {
                                call(what, &files, task).await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("task");
                }
                start.elapsed()
            })
        }
    };
}

mod corio_side {
    use super::*;
    use corio::io_util::AsyncReadExt;

    fs_workloads!(corio, corio::spawn, corio::runtime::Runtime);
}

mod tokio_side {
    use super::*;
    use tokio::io::AsyncReadExt;

    fs_workloads!(tokio, tokio::spawn, tokio::runtime::Runtime);
}

/// Whether this kernel lets corio build an io_uring runtime: the suite compares against one.
fn uring_available() -> Result<(), String> {
    corio::runtime::Builder::new_current_thread()
        .io_driver(IoDriverKind::Uring)
        .build()
        .map(drop)
        .map_err(|err| {
            format!("the fs suite compares against io_uring, which is unavailable: {err}")
        })
}

fn run_suite(opts: &Options) -> Result<(), String> {
    uring_available()?;
    let sizes = if opts.quick { &QUICK } else { &FULL };
    let rounds = opts.rounds;
    let files = Arc::new(Files::new());
    println!(
        "# fs suite: corio::fs on io_uring (corio) vs on the blocking pool (corio-epoll) vs \
         tokio::fs, {rounds} alternating rounds after 1 warm-up, medians{}",
        if opts.quick {
            " (--quick: smaller sizes)"
        } else {
            ""
        }
    );
    println!("{}", machine_comment());
    println!(
        "# files in {} ({}); {TASKS} tasks calling at once; per task and round: read4k {} x \
         fs::read of 4 KiB, write4k {} x fs::write of 4 KiB, statx {} x fs::metadata, \
         file_1mib {} x File::open + 64 KiB reads to the end of 1 MiB; time_us = the round's wall time",
        files.dir.display(),
        file_system(&files.dir),
        sizes.read4k,
        sizes.write4k,
        sizes.statx,
        sizes.file_1mib,
    );
    let workloads = [
        ("read4k", Call::Read4k, sizes.read4k),
        ("write4k", Call::Write4k, sizes.write4k),
        ("statx", Call::Statx, sizes.statx),
        ("file_1mib", Call::File1Mib, sizes.file_1mib),
    ];
    for flavor in Flavor::ALL {
        for (workload, what, calls) in workloads {
            let name = format!("fs/{workload}/{}", flavor.suffix());
            if !opts.selects(&name) {
                continue;
            }
            let files = &files;
            compare(
                &name,
                Metric::TimeUs,
                rounds,
                &mut [
                    Contender::new(CORIO, || {
                        let rt = corio_bench::corio_runtime_on(flavor, IoDriverKind::Uring);
                        micros(corio_side::run(&rt, files, what, calls))
                    }),
                    Contender::new("corio-epoll", || {
                        let rt = corio_bench::corio_runtime_on(flavor, IoDriverKind::Epoll);
                        micros(corio_side::run(&rt, files, what, calls))
                    }),
                    Contender::new("tokio", || {
                        let rt = corio_bench::tokio_runtime(flavor);
                        micros(tokio_side::run(&rt, files, what, calls))
                    }),
                ],
            );
        }
    }
    Ok(())
}

/// The type of the file system holding `dir`, from /proc/mounts (longest matching mount).
fn file_system(dir: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, mount, fs) = (fields.next()?, fields.next()?, fields.next()?);
            dir.starts_with(mount).then(|| (mount.len(), fs.to_owned()))
        })
        .max()
        .map_or_else(|| "unknown file system".to_owned(), |(_, fs)| fs)
}

fn main() -> ExitCode {
    let result = match Options::parse(std::env::args().skip(1)) {
        Ok(opts) => run_suite(&opts),
        Err(err) => Err(format!("{err}\nusage: fs {USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fs: {err}");
            ExitCode::FAILURE
        }
    }
}
