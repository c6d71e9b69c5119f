//! `corio::fs` on both I/O drivers (epoll: the blocking pool; io_uring: ring ops), chosen
//! through the builder: the ring really runs the ops (a runtime whose only blocking thread
//! is taken still opens, reads, writes, syncs and stats files), futures and files dropped
//! mid-operation (on FIFOs, where the kernel waits for the other side) lose nothing and
//! leave nothing open, and errors and metadata match std's.
//!
//! Run under AddressSanitizer to check that no buffer the kernel may write is freed early:
//! `RUSTFLAGS="-Zsanitizer=address" cargo +nightly test -p corio --target
//! x86_64-unknown-linux-gnu --test fs_drivers`. On a kernel without io_uring the uring
//! runtimes are skipped (with a note on stderr).

mod common;

use std::ffi::CString;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::{Mutex, MutexGuard, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use corio::fs::{self, File, Metadata, OpenOptions};
use corio::io_util::{AsyncReadExt, AsyncWriteExt};
use corio::runtime::{Builder, IoDriverKind};
use corio::time::{sleep, timeout};

/// The tests run one at a time: some count this process's open fds.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn uring_builder(multi: bool) -> Builder {
    let builder = if multi {
        Builder::new_multi_thread().worker_threads(2)
    } else {
        Builder::new_current_thread()
    };
    builder.io_driver(IoDriverKind::Uring)
}

/// A fresh directory under the system temp dir, removed (with its content) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str, runtime: &str) -> TempDir {
        let name = format!(
            "corio-fsd-{test}-{}-{}",
            runtime.replace('/', "-"),
            std::process::id()
        );
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Opens a FIFO for writing without blocking: `Err(ENXIO)` while it has no reader.
fn fifo_writer_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Writes to a FIFO until the write fails with `BrokenPipe`: every read end (including one
/// held by an op in the kernel) was closed. Panics after 5 s. Async: on a current-thread
/// runtime the driver reaps (and closes what orphaned ops opened) only while we wait.
async fn wait_for_broken_pipe(writer: &mut std::fs::File, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match writer.write(b"x") {
            Err(err) if err.kind() == ErrorKind::BrokenPipe => return,
            // Still a reader; or the pipe is full (non-blocking writer).
            Ok(_) | Err(_) => {}
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the read end stayed open"
        );
        sleep(Duration::from_millis(5)).await;
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Waits (up to 5 s) until the process has no more open fds than `before`.
async fn wait_for_fds(before: usize, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds() > before {
        assert!(
            Instant::now() < deadline,
            "{name}: {} fds open, {before} before",
            open_fds()
        );
        sleep(Duration::from_millis(5)).await;
    }
}

/// Polls `future` once with a no-op waker (so its op is submitted), then drops it.
fn poll_once_and_drop<F: Future>(future: F) {
    let mut future = pin!(future);
    let _ = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
}

/// Deterministic, non-repeating-looking content.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn file_ops_run_on_the_ring_with_the_blocking_pool_taken() {
    let _serial = serial();
    for multi in [false, true] {
        let Ok(rt) = uring_builder(multi).max_blocking_threads(1).build() else {
            eprintln!("skipping: no io_uring");
            return;
        };
        let dir = TempDir::new("ring-only", if multi { "mt" } else { "ct" });
        // Take the pool's only thread until the test is done: anything sent to the blocking
        // pool now waits (and the timeout below fails the test).
        let (release, held) = mpsc::channel::<()>();
        let blocker = rt.handle().spawn_blocking(move || held.recv());
        rt.block_on(async {
            let path = dir.join("ring.txt");
            let work = async {
                let mut file = File::create(&path).await.unwrap();
                file.write_all(b"written on the ring").await.unwrap();
                file.flush().await.unwrap();
                file.sync_data().await.unwrap();
                file.sync_all().await.unwrap();
                assert_eq!(file.metadata().await.unwrap().len(), 19);
                drop(file);

                let mut file = File::open(&path).await.unwrap();
                let mut text = String::new();
                file.read_to_string(&mut text).await.unwrap();
                assert_eq!(text, "written on the ring");

                let mut log = OpenOptions::new().append(true).open(&path).await.unwrap();
                log.write_all(b"!").await.unwrap();
                log.flush().await.unwrap();

                fs::write(dir.join("whole.bin"), pattern(300_000))
                    .await
                    .unwrap();
                assert!(fs::read(dir.join("whole.bin")).await.unwrap() == pattern(300_000));
                assert_eq!(
                    fs::read_to_string(&path).await.unwrap(),
                    "written on the ring!"
                );
                assert!(fs::metadata(&dir.0).await.unwrap().is_dir());
                assert!(fs::symlink_metadata(&path).await.unwrap().is_file());
                let err = File::open(dir.join("missing")).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::NotFound);
            };
            timeout(Duration::from_secs(10), work)
                .await
                .expect("an fs op waited for the (taken) blocking pool");
        });
        assert_eq!(rt.handle().metrics().blocking_threads, 1);

        // The control: on the same runtime, a call that does use the blocking pool waits.
        rt.block_on(async {
            let copy = fs::copy(dir.join("whole.bin"), dir.join("copy.bin"));
            assert!(timeout(Duration::from_millis(100), copy).await.is_err());
        });
        release.send(()).unwrap();
        rt.block_on(blocker).unwrap().unwrap();
    }
}

#[test]
fn metadata_matches_std_on_every_driver() {
    let _serial = serial();
    for (name, rt) in common::driver_runtimes() {
        let dir = TempDir::new("meta", &name);
        rt.block_on(async {
            let path = dir.join("m.bin");
            fs::write(&path, pattern(12_345)).await.unwrap();
            let link = dir.join("link");
            std::os::unix::fs::symlink(&path, &link).unwrap();

            let std_meta = Metadata::from(std::fs::metadata(&path).unwrap());
            let ours = fs::metadata(&path).await.unwrap();
            let through_link = fs::metadata(&link).await.unwrap();
            let open = File::open(&path).await.unwrap().metadata().await.unwrap();
            for meta in [&ours, &through_link, &open] {
                assert!(
                    meta.is_file() && !meta.is_dir() && !meta.is_symlink(),
                    "{name}"
                );
                assert_eq!(meta.len(), 12_345, "{name}");
                assert_eq!(
                    (meta.dev(), meta.ino(), meta.mode(), meta.nlink()),
                    (
                        std_meta.dev(),
                        std_meta.ino(),
                        std_meta.mode(),
                        std_meta.nlink()
                    ),
                    "{name}"
                );
                assert_eq!((meta.uid(), meta.gid()), (std_meta.uid(), std_meta.gid()));
                assert_eq!(meta.blocks(), std_meta.blocks(), "{name}");
                assert_eq!(meta.modified().unwrap(), std_meta.modified().unwrap());
                assert_eq!(meta.created().ok(), std_meta.created().ok(), "{name}");
                assert_eq!(meta.permissions(), std_meta.permissions(), "{name}");
            }

            let link_meta = fs::symlink_metadata(&link).await.unwrap();
            let std_link = std::fs::symlink_metadata(&link).unwrap();
            assert!(link_meta.is_symlink() && link_meta.file_type().is_symlink());
            assert_eq!(link_meta.ino(), std_link.ino(), "{name}");
            assert_eq!(link_meta.len(), std_link.len(), "{name}");

            let dir_meta = fs::metadata(&dir.0).await.unwrap();
            assert!(dir_meta.is_dir() && dir_meta.file_type().is_dir(), "{name}");

            let mut entries = fs::read_dir(&dir.0).await.unwrap();
            while let Some(entry) = entries.next_entry().await.unwrap() {
                let meta = entry.metadata().await.unwrap();
                let file_type = entry.file_type().await.unwrap();
                assert_eq!(meta.file_type(), file_type, "{name}");
                assert_eq!(meta.is_symlink(), entry.file_name() == "link", "{name}");
            }
        });
    }
}

#[test]
fn errors_map_like_std() {
    let _serial = serial();
    for (name, rt) in common::driver_runtimes() {
        let dir = TempDir::new("errors", &name);
        rt.block_on(async {
            let missing = dir.join("missing");
            let kind = |err: std::io::Error| err.kind();
            assert_eq!(
                kind(File::open(&missing).await.unwrap_err()),
                ErrorKind::NotFound
            );
            assert_eq!(
                kind(fs::read(&missing).await.unwrap_err()),
                ErrorKind::NotFound
            );
            assert_eq!(
                kind(fs::metadata(&missing).await.unwrap_err()),
                ErrorKind::NotFound
            );
            assert_eq!(
                kind(fs::symlink_metadata(&missing).await.unwrap_err()),
                ErrorKind::NotFound
            );
            assert_eq!(
                kind(fs::write(dir.join("no/dir/x"), "x").await.unwrap_err()),
                ErrorKind::NotFound
            );

            // A directory: opening it for writing, reading it whole, reading it as a file.
            assert_eq!(
                kind(File::create(&dir.0).await.unwrap_err()),
                ErrorKind::IsADirectory,
                "{name}"
            );
            assert_eq!(
                kind(fs::read(&dir.0).await.unwrap_err()),
                ErrorKind::IsADirectory,
                "{name}"
            );
            let mut as_file = File::open(&dir.0).await.unwrap();
            let err = as_file.read(&mut [0; 8]).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::IsADirectory, "{name}");

            // A NUL in the path, an invalid flag combination: std's errors and messages.
            let nul = Path::new("a\0b");
            let std_err = std::fs::File::open(nul).unwrap_err();
            let err = File::open(nul).await.unwrap_err();
            assert_eq!(
                (err.kind(), err.to_string()),
                (std_err.kind(), std_err.to_string())
            );
            let err = fs::metadata(nul).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name}");
            let err = OpenOptions::new()
                .read(true)
                .truncate(true)
                .open(&missing)
                .await
                .unwrap_err();
            #[allow(clippy::nonsensical_open_options)] // the point: std's error for it
            let std_err = std::fs::OpenOptions::new()
                .read(true)
                .truncate(true)
                .open(&missing)
                .unwrap_err();
            assert_eq!(
                (err.kind(), err.to_string()),
                (std_err.kind(), std_err.to_string())
            );

            // Permission denied: a mode-0 file (root reads it anyway: then so must we), and a
            // read-only sysctl opened for writing (refused even to root).
            let locked = dir.join("locked");
            std::fs::write(&locked, "secret").unwrap();
            std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000))
                .unwrap();
            let std_kind = std::fs::File::open(&locked).map(drop).map_err(kind);
            let ours = File::open(&locked).await.map(drop).map_err(kind);
            assert_eq!(ours, std_kind, "{name}");
            let sysctl = Path::new("/proc/sys/kernel/osrelease");
            let std_kind = std::fs::OpenOptions::new()
                .write(true)
                .open(sysctl)
                .map(drop)
                .map_err(kind);
            let ours = OpenOptions::new()
                .write(true)
                .open(sysctl)
                .await
                .map(drop)
                .map_err(kind);
            assert_eq!(ours, std_kind, "{name}");
            if sysctl.exists() {
                assert_eq!(ours, Err(ErrorKind::PermissionDenied), "{name}");
            }

            // create_new on an existing file.
            assert_eq!(
                kind(File::create_new(&locked).await.unwrap_err()),
                ErrorKind::AlreadyExists
            );
        });
    }
}

/// A read on a FIFO waits in the kernel for a writer: dropping the read future leaves the
/// op with the file, and the next read returns the data; dropping the file cancels the
/// read and closes the read end.
#[test]
fn dropped_fifo_reads_lose_nothing_and_close_the_read_end() {
    let _serial = serial();
    for (name, rt) in common::driver_runtimes() {
        let dir = TempDir::new("fifo-read", &name);
        let fifo = dir.join("fifo");
        mkfifo(&fifo);
        let fds_before = open_fds();
        rt.block_on(async {
            // The open itself waits for a writer.
            let opening = corio::spawn({
                let fifo = fifo.clone();
                async move { File::open(fifo).await }
            });
            sleep(Duration::from_millis(20)).await;
            let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            let mut reader = opening.await.unwrap().unwrap();

            for round in 0..3 {
                let mut buf = [0u8; 16];
                let dropped = timeout(Duration::from_millis(20), reader.read(&mut buf)).await;
                assert!(dropped.is_err(), "{name}: nothing was written yet");
                let msg = format!("round {round}");
                writer.write_all(msg.as_bytes()).unwrap();
                let n = reader.read(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], msg.as_bytes(), "{name}");
            }

            // A read in flight, then the file goes.
            let mut buf = [0u8; 16];
            assert!(
                timeout(Duration::from_millis(20), reader.read(&mut buf))
                    .await
                    .is_err()
            );
            drop(reader);
            wait_for_broken_pipe(&mut writer, &name).await;
            drop(writer);
            wait_for_fds(fds_before, &name).await;
        });
    }
}

/// An open of a FIFO waits in the kernel for a writer. Dropped, it is cancelled; if the
/// kernel opens the file anyway, the driver closes the fd: either way no reader is left.
#[test]
fn dropped_fifo_opens_leave_no_reader_behind() {
    let _serial = serial();
    for (name, rt) in common::driver_runtimes() {
        let dir = TempDir::new("fifo-open", &name);
        let fifo = dir.join("fifo");
        mkfifo(&fifo);
        let fds_before = open_fds();
        rt.block_on(async {
            let dropped = timeout(Duration::from_millis(30), File::open(&fifo)).await;
            assert!(
                dropped.is_err(),
                "{name}: the open cannot finish without a writer"
            );
            // On the blocking pool the open still waits (counting as a reader) until a
            // writer comes; the ring cancels it, or closes the fd the open returns.
            match fifo_writer_nonblocking(&fifo) {
                Err(err) if err.raw_os_error() == Some(libc::ENXIO) => {}
                Ok(mut writer) => wait_for_broken_pipe(&mut writer, &name).await,
                Err(err) => panic!("{name}: {err}"),
            }
            wait_for_fds(fds_before, &name).await;
        });
    }
}

/// Writing more than a pipe holds blocks in the kernel until the reader drains it, and comes
/// back short. Dropping the file mid-way must still deliver every byte, then close.
#[test]
fn a_file_dropped_with_a_blocked_write_still_delivers_everything() {
    let _serial = serial();
    const LEN: usize = 1024 * 1024 + 7;
    for (name, rt) in common::driver_runtimes() {
        let dir = TempDir::new("fifo-write", &name);
        let fifo = dir.join("fifo");
        mkfifo(&fifo);
        let reader = std::thread::spawn({
            let fifo = fifo.clone();
            move || {
                let mut reader = std::fs::File::open(fifo).unwrap();
                // Let the writer fill the pipe and block first.
                std::thread::sleep(Duration::from_millis(50));
                let mut all = Vec::new();
                reader.read_to_end(&mut all).unwrap(); // to EOF: the writer closed
                all
            }
        });
        rt.block_on(async {
            let mut writer = OpenOptions::new().write(true).open(&fifo).await.unwrap();
            // Each write returns as soon as its bytes are handed over; the last is still
            // blocked in the kernel when the file is dropped.
            writer.write_all(&pattern(LEN)).await.unwrap();
            drop(writer);
            // The remainder is written by the runtime (a task on io_uring, a blocking thread
            // on epoll); keep the runtime running until the reader has everything.
            keep_running_until_finished(&reader, &name).await;
        });
        let all = reader.join().unwrap();
        assert_eq!(all.len(), LEN, "{name}");
        assert!(all == pattern(LEN), "{name}: content differs");
    }
}

/// Futures polled once (their op submitted) and dropped at once, many times: the ring's
/// buffers, paths and statx structs must outlive the kernel's use (ASan checks), and every
/// fd an orphaned open returns must be closed.
#[test]
fn futures_dropped_right_after_submission() {
    let _serial = serial();
    for (name, rt) in common::driver_runtimes() {
        let dir = TempDir::new("dropped", &name);
        let path = dir.join("data.bin");
        std::fs::write(&path, pattern(200_000)).unwrap();
        let fds_before = open_fds();
        rt.block_on(async {
            for _ in 0..100 {
                poll_once_and_drop(File::open(&path));
                poll_once_and_drop(fs::metadata(&path));
                poll_once_and_drop(fs::symlink_metadata(&path));
                poll_once_and_drop(fs::read(&path));
                poll_once_and_drop(fs::read_to_string(&path));

                // Dropped with a statx, then an fsync, in flight.
                let file = File::open(&path).await.unwrap();
                poll_once_and_drop(file.metadata());
                drop(file);
                let file = File::open(&path).await.unwrap();
                poll_once_and_drop(file.sync_all());
                drop(file);
                // Dropped with a read in flight.
                let mut file = File::open(&path).await.unwrap();
                let mut buf = vec![0u8; 100_000];
                poll_once_and_drop(file.read(&mut buf));
                drop(file);
                corio::task::yield_now().await;
            }
            // Everything still works, and the file is untouched.
            assert!(fs::read(&path).await.unwrap() == pattern(200_000), "{name}");
            wait_for_fds(fds_before, &name).await;
        });
    }
}

/// Writes handed over before a drop land, whether the future or the file is dropped.
#[test]
fn dropped_write_futures_still_write() {
    let _serial = serial();
    for (name, rt) in common::driver_runtimes() {
        let dir = TempDir::new("dropped-write", &name);
        rt.block_on(async {
            let path = dir.join("w.bin");
            let data = pattern(5 * 64 * 1024 + 3);
            let mut file = File::create(&path).await.unwrap();
            for chunk in data.chunks(64 * 1024) {
                file.flush().await.unwrap();
                // Idle, so `write_all` of one chunk completes in one poll: handed over.
                let mut write = pin!(file.write_all(chunk));
                let polled = write.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                assert!(matches!(polled, Poll::Ready(Ok(()))), "{name}");
                // A flush waiting for that write, dropped: the write goes on.
                poll_once_and_drop(file.flush());
            }
            file.flush().await.unwrap();
            assert!(std::fs::read(&path).unwrap() == data, "{name}");
        });
    }
}

/// `fs::write` to a FIFO blocks in the kernel once the pipe is full. Dropped then, the
/// write still completes: the reader gets every byte, then end of file.
#[test]
fn a_dropped_fs_write_still_delivers_everything() {
    let _serial = serial();
    const LEN: usize = 1024 * 1024 + 7;
    for (name, rt) in common::driver_runtimes() {
        let dir = TempDir::new("fs-write-drop", &name);
        let fifo = dir.join("fifo");
        mkfifo(&fifo);
        let (writing, write_started) = mpsc::channel();
        let reader = std::thread::spawn({
            let fifo = fifo.clone();
            move || {
                let mut reader = std::fs::File::open(fifo).unwrap();
                // Wait until the writer's bytes are in the pipe: its write is in flight.
                let mut queued: libc::c_int = 0;
                while queued == 0 {
                    // SAFETY: FIONREAD writes one c_int into `queued`, which outlives the call.
                    let rc = unsafe {
                        libc::ioctl(
                            std::os::fd::AsRawFd::as_raw_fd(&reader),
                            libc::FIONREAD,
                            &mut queued,
                        )
                    };
                    assert_eq!(rc, 0);
                    std::thread::sleep(Duration::from_millis(1));
                }
                writing.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(50));
                let mut all = Vec::new();
                reader.read_to_end(&mut all).unwrap();
                all
            }
        });
        rt.block_on(async {
            let mut write = Box::pin(fs::write(&fifo, pattern(LEN)));
            let deadline = Instant::now() + Duration::from_secs(5);
            while write_started.try_recv().is_err() {
                let polled = write.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                assert!(polled.is_pending(), "{name}: 1 MiB fit in a pipe?");
                assert!(Instant::now() < deadline, "{name}: the write never started");
                sleep(Duration::from_millis(1)).await;
            }
            drop(write);
            keep_running_until_finished(&reader, &name).await;
        });
        let all = reader.join().unwrap();
        assert_eq!(all.len(), LEN, "{name}");
        assert!(all == pattern(LEN), "{name}: content differs");
    }
}

/// A runtime dropped with file ops in the kernel (a FIFO read that never completes) shuts
/// down promptly and frees nothing early.
#[test]
fn runtime_drop_with_file_ops_in_flight() {
    let _serial = serial();
    for multi in [false, true] {
        let Ok(rt) = uring_builder(multi).build() else {
            return;
        };
        let dir = TempDir::new("rt-drop", if multi { "mt" } else { "ct" });
        let fifo = dir.join("fifo");
        mkfifo(&fifo);
        // Keep a writer so the reader's open completes, and never write.
        let opened = std::thread::spawn({
            let fifo = fifo.clone();
            move || std::fs::OpenOptions::new().write(true).open(fifo).unwrap()
        });
        let started = Instant::now();
        rt.block_on(async {
            let mut reader = File::open(&fifo).await.unwrap();
            corio::spawn(async move {
                let mut buf = [0u8; 8];
                let _ = reader.read(&mut buf).await;
            });
            sleep(Duration::from_millis(20)).await;
        });
        drop(rt);
        assert!(started.elapsed() < Duration::from_secs(3));
        drop(opened.join().unwrap());
    }
}

/// Keeps the runtime turning (a dropped write is finished by it) until the reader thread
/// has everything, for at most 10 s.
async fn keep_running_until_finished<T>(reader: &std::thread::JoinHandle<T>, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !reader.is_finished() {
        assert!(
            Instant::now() < deadline,
            "{name}: the write never finished"
        );
        sleep(Duration::from_millis(5)).await;
    }
}
