//! `corio::fs`: the std::fs mirrors, `File`'s buffered reads, background writes and seeks,
//! `read_dir`, and the errors bad input gives. Every test runs on both runtime flavors.

mod common;

use std::io::{ErrorKind, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::runtimes;
use corio::fs::{self, File, OpenOptions};
use corio::io_util::{self, AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader};
use futures_util::StreamExt;

/// A fresh directory under the system temp dir, removed (with its content) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str, flavor: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("corio-fs-{test}-{flavor}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Deterministic, non-repeating-looking content.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn write_then_read_back() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("roundtrip", flavor);
        rt.block_on(async {
            let bytes = dir.join("bytes.bin");
            fs::write(&bytes, [0u8, 1, 2, 255]).await.unwrap();
            assert_eq!(fs::read(&bytes).await.unwrap(), [0, 1, 2, 255], "{flavor}");

            let text = dir.join("text.txt");
            fs::write(&text, "héllo\nworld\n").await.unwrap();
            assert_eq!(
                fs::read_to_string(&text).await.unwrap(),
                "héllo\nworld\n",
                "{flavor}"
            );

            // Not UTF-8: an error, not a panic.
            let err = fs::read_to_string(&bytes).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData, "{flavor}");
        });
    }
}

#[test]
fn large_file_through_file_in_odd_chunks() {
    const LEN: usize = 5 * 1024 * 1024 + 3;
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("large", flavor);
        rt.block_on(async {
            let path = dir.join("large.bin");
            let data = pattern(LEN);

            let mut file = File::create(&path).await.unwrap();
            // Chunk sizes below, at and above the 64 KiB buffer, none aligned.
            let sizes = [1, 4093, 65_535, 65_536, 65_537, 200_003, 7];
            let mut offset = 0;
            for &size in sizes.iter().cycle() {
                if offset == LEN {
                    break;
                }
                let end = (offset + size).min(LEN);
                file.write_all(&data[offset..end]).await.unwrap();
                offset = end;
            }
            file.flush().await.unwrap();
            assert_eq!(file.metadata().await.unwrap().len(), LEN as u64, "{flavor}");
            drop(file);

            let mut file = File::open(&path).await.unwrap();
            let mut back = Vec::new();
            let n = file.read_to_end(&mut back).await.unwrap();
            assert_eq!(n, LEN, "{flavor}");
            assert!(back == data, "{flavor}: content differs");
            // At the end: more reads give 0.
            assert_eq!(file.read(&mut [0u8; 16]).await.unwrap(), 0, "{flavor}");
        });
    }
}

#[test]
fn seek_after_partial_read_accounts_for_read_ahead() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("seek", flavor);
        rt.block_on(async {
            let path = dir.join("digits.txt");
            let data = pattern(200_000);
            fs::write(&path, &data).await.unwrap();

            let mut file = File::open(&path).await.unwrap();
            let mut head = [0u8; 10];
            file.read_exact(&mut head).await.unwrap();
            assert_eq!(head, data[..10], "{flavor}");

            // The read fetched 64 KiB; the logical position is still 10.
            assert_eq!(file.stream_position().await.unwrap(), 10, "{flavor}");
            assert_eq!(
                file.seek(SeekFrom::Current(5)).await.unwrap(),
                15,
                "{flavor}"
            );
            let mut next = [0u8; 5];
            file.read_exact(&mut next).await.unwrap();
            assert_eq!(next, data[15..20], "{flavor}");

            // Backwards from the logical position.
            assert_eq!(
                file.seek(SeekFrom::Current(-12)).await.unwrap(),
                8,
                "{flavor}"
            );
            file.read_exact(&mut next).await.unwrap();
            assert_eq!(next, data[8..13], "{flavor}");

            // Absolute and from the end.
            file.seek(SeekFrom::Start(100_000)).await.unwrap();
            file.read_exact(&mut next).await.unwrap();
            assert_eq!(next, data[100_000..100_005], "{flavor}");
            let pos = file.seek(SeekFrom::End(-3)).await.unwrap();
            assert_eq!(pos, 199_997, "{flavor}");
            let mut tail = Vec::new();
            file.read_to_end(&mut tail).await.unwrap();
            assert_eq!(tail, data[199_997..], "{flavor}");

            // Seeking before the start is an error, not a panic.
            let err = file.seek(SeekFrom::Current(-1_000_000)).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{flavor}");
        });
    }
}

#[test]
fn write_after_partial_read_lands_at_the_logical_position() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("readwrite", flavor);
        rt.block_on(async {
            let path = dir.join("rw.txt");
            fs::write(&path, "aaaaaaaaaa").await.unwrap();

            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .await
                .unwrap();
            let mut two = [0u8; 2];
            file.read_exact(&mut two).await.unwrap();
            file.write_all(b"XY").await.unwrap();
            file.flush().await.unwrap();
            let mut rest = String::new();
            file.read_to_string(&mut rest).await.unwrap();
            assert_eq!(rest, "aaaaaa", "{flavor}");
            assert_eq!(
                fs::read_to_string(&path).await.unwrap(),
                "aaXYaaaaaa",
                "{flavor}"
            );
        });
    }
}

#[test]
fn flush_reports_the_background_write() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("flush", flavor);
        rt.block_on(async {
            let path = dir.join("f.txt");
            fs::write(&path, "original").await.unwrap();

            // Success: flush returns Ok once the bytes are with the OS.
            let mut file = File::create(&path).await.unwrap();
            file.write_all(b"new content").await.unwrap();
            file.flush().await.unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"new content", "{flavor}");

            // Failure: a file opened read-only accepts the bytes, the background write fails,
            // and flush reports it (once).
            let mut read_only = File::open(&path).await.unwrap();
            let accepted = read_only.write(b"nope").await.unwrap();
            assert_eq!(accepted, 4, "{flavor}");
            let err = read_only.flush().await.unwrap_err();
            assert_ne!(err.kind(), ErrorKind::Other, "{flavor}: {err}");
            read_only.flush().await.unwrap();

            // The error also surfaces on the next operation instead of a flush.
            read_only.write_all(b"nope").await.unwrap();
            assert!(read_only.read(&mut [0u8; 4]).await.is_err(), "{flavor}");
            read_only.write_all(b"nope").await.unwrap();
            assert!(read_only.sync_all().await.is_err(), "{flavor}");
            assert_eq!(std::fs::read(&path).unwrap(), b"new content", "{flavor}");
        });
    }
}

#[test]
fn dropping_a_file_with_a_write_in_flight_keeps_the_write() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("drop", flavor);
        rt.block_on(async {
            let path = dir.join("dropped.bin");
            let data = pattern(3 * 64 * 1024 + 17);
            let mut file = File::create(&path).await.unwrap();
            file.write_all(&data).await.unwrap();
            drop(file); // no flush

            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if std::fs::read(&path).unwrap() == data {
                    break;
                }
                assert!(Instant::now() < deadline, "{flavor}: the write was lost");
                corio::time::sleep(Duration::from_millis(5)).await;
            }
        });
    }
}

#[test]
fn read_dir_lists_created_files() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("readdir", flavor);
        rt.block_on(async {
            // More than one batch of entries.
            let mut expected: Vec<String> = (0..70).map(|i| format!("file-{i:02}")).collect();
            for name in &expected {
                fs::write(dir.join(name), name).await.unwrap();
            }
            fs::create_dir(dir.join("sub")).await.unwrap();
            expected.push("sub".to_owned());

            let mut entries = fs::read_dir(dir.path()).await.unwrap();
            let mut seen = Vec::new();
            while let Some(entry) = entries.next_entry().await.unwrap() {
                let name = entry.file_name().into_string().unwrap();
                assert_eq!(entry.path(), dir.join(&name), "{flavor}");
                let file_type = entry.file_type().await.unwrap();
                let metadata = entry.metadata().await.unwrap();
                if name == "sub" {
                    assert!(file_type.is_dir() && metadata.is_dir(), "{flavor}");
                } else {
                    assert!(file_type.is_file(), "{flavor}");
                    assert_eq!(metadata.len(), name.len() as u64, "{flavor}");
                }
                seen.push(name);
            }
            // Exhausted stays exhausted.
            assert!(entries.next_entry().await.unwrap().is_none(), "{flavor}");
            seen.sort();
            expected.sort();
            assert_eq!(seen, expected, "{flavor}");
        });
    }
}

#[test]
fn create_dir_all_and_remove_dir_all() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("dirs", flavor);
        rt.block_on(async {
            let deep = dir.join("a/b/c");
            fs::create_dir_all(&deep).await.unwrap();
            fs::create_dir_all(&deep).await.unwrap(); // already there: fine
            assert!(fs::metadata(&deep).await.unwrap().is_dir(), "{flavor}");
            fs::write(deep.join("leaf.txt"), "leaf").await.unwrap();

            // create_dir of an existing directory, remove_dir of a non-empty one: errors.
            let err = fs::create_dir(&deep).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{flavor}");
            assert!(fs::remove_dir(dir.join("a")).await.is_err(), "{flavor}");

            fs::remove_dir_all(dir.join("a")).await.unwrap();
            assert!(!fs::try_exists(dir.join("a")).await.unwrap(), "{flavor}");
            assert!(fs::try_exists(dir.path()).await.unwrap(), "{flavor}");

            fs::create_dir(dir.join("empty")).await.unwrap();
            fs::remove_dir(dir.join("empty")).await.unwrap();
            assert!(
                !fs::try_exists(dir.join("empty")).await.unwrap(),
                "{flavor}"
            );
        });
    }
}

#[test]
fn rename_links_and_metadata() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("rename", flavor);
        rt.block_on(async {
            let from = dir.join("from.txt");
            let to = dir.join("to.txt");
            fs::write(&from, "twelve bytes").await.unwrap();
            assert_eq!(fs::metadata(&from).await.unwrap().len(), 12, "{flavor}");

            fs::rename(&from, &to).await.unwrap();
            assert!(!fs::try_exists(&from).await.unwrap(), "{flavor}");
            assert_eq!(
                fs::read_to_string(&to).await.unwrap(),
                "twelve bytes",
                "{flavor}"
            );

            let hard = dir.join("hard.txt");
            fs::hard_link(&to, &hard).await.unwrap();
            assert_eq!(fs::read(&hard).await.unwrap(), b"twelve bytes", "{flavor}");

            #[cfg(unix)]
            {
                let link = dir.join("link.txt");
                std::os::unix::fs::symlink(&to, &link).unwrap();
                assert_eq!(fs::read_link(&link).await.unwrap(), to, "{flavor}");
                let meta = fs::symlink_metadata(&link).await.unwrap();
                assert!(meta.file_type().is_symlink(), "{flavor}");
                assert_eq!(
                    fs::canonicalize(&link).await.unwrap(),
                    fs::canonicalize(&to).await.unwrap(),
                    "{flavor}"
                );
            }

            let mut perms = fs::metadata(&to).await.unwrap().permissions();
            perms.set_readonly(true);
            fs::set_permissions(&to, perms).await.unwrap();
            assert!(
                fs::metadata(&to).await.unwrap().permissions().readonly(),
                "{flavor}"
            );

            fs::remove_file(&to).await.unwrap();
            fs::remove_file(&hard).await.unwrap();
            assert!(!fs::try_exists(&to).await.unwrap(), "{flavor}");
        });
    }
}

#[test]
fn missing_paths_give_not_found() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("missing", flavor);
        rt.block_on(async {
            let missing = dir.join("no-such-file");
            let kind = |result: std::io::Error| result.kind();
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
                kind(fs::remove_file(&missing).await.unwrap_err()),
                ErrorKind::NotFound
            );
            assert_eq!(
                kind(fs::read_dir(&missing).await.unwrap_err()),
                ErrorKind::NotFound
            );
            assert_eq!(
                kind(fs::rename(&missing, dir.join("x")).await.unwrap_err()),
                ErrorKind::NotFound
            );
            assert_eq!(
                kind(fs::copy(&missing, dir.join("x")).await.unwrap_err()),
                ErrorKind::NotFound
            );
            assert!(!fs::try_exists(&missing).await.unwrap(), "{flavor}");

            // create_new on an existing file.
            fs::write(dir.join("exists"), "").await.unwrap();
            assert_eq!(
                kind(File::create_new(dir.join("exists")).await.unwrap_err()),
                ErrorKind::AlreadyExists
            );
        });
    }
}

#[test]
fn directories_where_files_are_expected_give_errors() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("isdir", flavor);
        rt.block_on(async {
            // Opening a directory for writing fails.
            let err = File::create(dir.path()).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::IsADirectory, "{flavor}: {err}");
            let err = OpenOptions::new()
                .write(true)
                .open(dir.path())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::IsADirectory, "{flavor}: {err}");

            // Reading one fails at the read.
            assert!(fs::read(dir.path()).await.is_err(), "{flavor}");
            if let Ok(mut file) = File::open(dir.path()).await {
                let mut buf = Vec::new();
                assert!(file.read_to_end(&mut buf).await.is_err(), "{flavor}");
            }

            // A file where a directory is expected.
            let file = dir.join("plain");
            fs::write(&file, "x").await.unwrap();
            assert!(fs::read_dir(&file).await.is_err(), "{flavor}");
            assert!(
                fs::create_dir_all(file.join("below")).await.is_err(),
                "{flavor}"
            );

            // An invalid flag combination.
            let err = OpenOptions::new().open(dir.join("none")).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{flavor}: {err}");
        });
    }
}

#[test]
fn buf_reader_lines_over_a_file() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("lines", flavor);
        rt.block_on(async {
            let path = dir.join("lines.txt");
            // Enough lines to cross the 64 KiB read buffer and BufReader's own buffer.
            let expected: Vec<String> = (0..10_000).map(|i| format!("line number {i}")).collect();
            fs::write(&path, expected.join("\n") + "\n").await.unwrap();

            let file = File::open(&path).await.unwrap();
            let lines: Vec<String> = BufReader::new(file)
                .lines()
                .map(|line| line.unwrap())
                .collect()
                .await;
            assert_eq!(lines, expected, "{flavor}");
        });
    }
}

#[test]
fn copy_between_files() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("copy", flavor);
        rt.block_on(async {
            let src = dir.join("src.bin");
            let data = pattern(300_001);
            fs::write(&src, &data).await.unwrap();

            // fs::copy, the std call.
            let copied = fs::copy(&src, dir.join("copy1.bin")).await.unwrap();
            assert_eq!(copied, data.len() as u64, "{flavor}");
            assert!(
                fs::read(dir.join("copy1.bin")).await.unwrap() == data,
                "{flavor}"
            );

            // io_util::copy, File to File through the async traits.
            let mut reader = File::open(&src).await.unwrap();
            let mut writer = File::create(dir.join("copy2.bin")).await.unwrap();
            let copied = io_util::copy(&mut reader, &mut writer).await.unwrap();
            writer.flush().await.unwrap();
            assert_eq!(copied, data.len() as u64, "{flavor}");
            assert!(
                fs::read(dir.join("copy2.bin")).await.unwrap() == data,
                "{flavor}"
            );
        });
    }
}

#[test]
fn file_handle_operations() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("handle", flavor);
        rt.block_on(async {
            let path = dir.join("handle.bin");
            let mut file = File::create_new(&path).await.unwrap();
            file.write_all(b"0123456789").await.unwrap();
            // set_len and metadata wait for the write in flight.
            file.set_len(4).await.unwrap();
            assert_eq!(file.metadata().await.unwrap().len(), 4, "{flavor}");
            file.sync_all().await.unwrap();
            file.sync_data().await.unwrap();
            // The position is unchanged by set_len: writing extends with a hole of zeros.
            file.write_all(b"!").await.unwrap();
            file.flush().await.unwrap();
            assert_eq!(
                fs::read(&path).await.unwrap(),
                b"0123\0\0\0\0\0\0!",
                "{flavor}"
            );

            // try_clone shares the cursor, after giving back read-ahead.
            file.seek(SeekFrom::Start(1)).await.unwrap();
            let mut one = [0u8; 1];
            file.read_exact(&mut one).await.unwrap();
            let mut clone = file.try_clone().await.unwrap();
            let mut rest = Vec::new();
            clone.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"23\0\0\0\0\0\0!", "{flavor}");

            // into_std gives back read-ahead too.
            file.seek(SeekFrom::Start(2)).await.unwrap();
            file.read_exact(&mut one).await.unwrap();
            let mut std = file.into_std().await;
            let mut rest = Vec::new();
            std::io::Read::read_to_end(&mut std, &mut rest).unwrap();
            assert_eq!(rest, b"3\0\0\0\0\0\0!", "{flavor}");

            // from_std and the permissions of an open file.
            let file = File::from_std(std);
            let mut perms = file.metadata().await.unwrap().permissions();
            perms.set_readonly(true);
            file.set_permissions(perms).await.unwrap();
            assert!(
                fs::metadata(&path).await.unwrap().permissions().readonly(),
                "{flavor}"
            );

            // Append mode.
            let mut perms = fs::metadata(&path).await.unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            fs::set_permissions(&path, perms).await.unwrap();
            let mut log = File::options().append(true).open(&path).await.unwrap();
            log.write_all(b"+").await.unwrap();
            log.flush().await.unwrap();
            assert!(fs::read(&path).await.unwrap().ends_with(b"!+"), "{flavor}");
        });
    }
}

#[test]
fn a_cancelled_read_loses_no_data() {
    for (flavor, rt) in runtimes() {
        let dir = TempDir::new("cancel", flavor);
        rt.block_on(async {
            let path = dir.join("c.bin");
            let data = pattern(100_000);
            fs::write(&path, &data).await.unwrap();
            let mut file = File::open(&path).await.unwrap();
            // Start a read and drop it before it completes (the timeout fires first or not;
            // either way no byte may be lost or duplicated).
            let mut buf = [0u8; 10];
            let _ = corio::time::timeout(Duration::ZERO, file.read(&mut buf)).await;
            let mut all = Vec::new();
            file.seek(SeekFrom::Start(0)).await.unwrap();
            file.read_to_end(&mut all).await.unwrap();
            assert!(all == data, "{flavor}");
        });
    }
}

#[test]
fn outside_a_runtime_is_an_error_not_a_panic() {
    let dir = TempDir::new("outside", "none");
    let path = dir.join("o.txt");
    std::fs::write(&path, "abc").unwrap();
    let mut file = File::from_std(std::fs::File::open(&path).unwrap());
    // Poll by hand with a no-op waker: the read cannot start without a runtime.
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut buf = [0u8; 3];
    let mut read = std::pin::pin!(file.read(&mut buf));
    match read.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Err(err)) => {
            assert!(err.to_string().contains("runtime"), "{err}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<File>();
    send_sync::<fs::ReadDir>();
    send_sync::<fs::DirEntry>();
    send_sync::<OpenOptions>();
    let file = File::from_std(tempfile_std());
    send(&file.sync_all());
    send(&file.metadata());
    send(&fs::read("x"));

    fn tempfile_std() -> std::fs::File {
        std::fs::File::open(std::env::current_exe().unwrap()).unwrap()
    }
}
