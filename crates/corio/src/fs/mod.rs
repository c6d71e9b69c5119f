//! Async file system access: `std::fs`, awaited.
//!
//! Every function here mirrors the `std::fs` function of the same name, takes the same
//! arguments (paths by `AsRef<Path>`, owned on the way in), and returns the same
//! `io::Result`, but as a future: the calling task waits without stalling its event loop.
//! Metadata comes as corio's own [`Metadata`] and [`FileType`] (std's cannot be built from
//! what io_uring returns), with std's methods.
//!
//! # Where the system calls run
//!
//! On an **epoll** runtime (the default), every call runs on the runtime's blocking pool
//! (see [`spawn_blocking`](crate::task::spawn_blocking)).
//!
//! On an **io_uring** runtime ([`IoDriverKind::Uring`](crate::runtime::IoDriverKind)), these
//! are operations on the runtime's ring instead, with no blocking-pool thread involved:
//!
//! | call | ring operation |
//! |---|---|
//! | [`File::open`], [`File::create`], [`File::create_new`], [`OpenOptions::open`] | `IORING_OP_OPENAT` |
//! | [`File`] reads and writes (`AsyncRead`, `AsyncWrite`) | `IORING_OP_READ` / `IORING_OP_WRITE` at the file position |
//! | [`File::sync_all`], [`File::sync_data`] | `IORING_OP_FSYNC` |
//! | [`File::metadata`], [`metadata`], [`symlink_metadata`], [`DirEntry::metadata`] | `IORING_OP_STATX` |
//! | [`read`], [`read_to_string`], [`write()`] | open, statx (size hint), reads / writes |
//!
//! Everything else (seeks, `set_len`, directories, renames, links, permissions, ...) stays on
//! the blocking pool, as does any of the above whose opcode the kernel's io_uring lacks
//! (probed once when the runtime starts). The results are the same either way. Dropping a
//! future (or a [`File`]) mid-operation is safe on both: the ring driver owns every buffer,
//! path and statx struct the kernel may write until the kernel is done with it.
//!
//! ```
//! use corio::fs;
//!
//! corio::run(async {
//!     let dir = std::env::temp_dir().join(format!("corio-fs-doc-{}", std::process::id()));
//!     fs::create_dir_all(&dir).await.unwrap();
//!
//!     let path = dir.join("greeting.txt");
//!     fs::write(&path, "hello, file").await.unwrap();
//!     assert_eq!(fs::read_to_string(&path).await.unwrap(), "hello, file");
//!     assert_eq!(fs::metadata(&path).await.unwrap().len(), 11);
//!
//!     let mut entries = fs::read_dir(&dir).await.unwrap();
//!     while let Some(entry) = entries.next_entry().await.unwrap() {
//!         assert_eq!(entry.file_name(), "greeting.txt");
//!     }
//!
//!     fs::remove_dir_all(&dir).await.unwrap();
//!     assert!(!fs::try_exists(&dir).await.unwrap());
//! });
//! ```
//!
//! # Files
//!
//! [`File`] is an open file that implements the [`io_util`](crate::io_util) traits
//! (`AsyncRead`, `AsyncWrite`, `AsyncSeek`), so `read_to_end`, `write_all`, `copy`,
//! `BufReader::lines` and friends all work on it. A `File` keeps one operation in flight at
//! a time and one reusable buffer of up to 64 KiB:
//!
//! - **Reads** fetch up to 64 KiB in one system call, then serve `poll_read` from that
//!   buffer until it is drained. Read-ahead never shows: a seek, write, `set_len` or
//!   `try_clone` first moves the OS cursor back over the bytes not yet consumed.
//! - **Writes** copy the bytes into the buffer and return `Ok(n)` at once; the write runs in
//!   the background. The next operation waits for it, and its error (if any) is
//!   reported by the next read, write, seek, `flush`, `close`, `sync_all`, `sync_data` or
//!   `set_len`. Call `flush` (or `sync_all`) to learn that the data reached the OS (or the
//!   disk).
//! - **Dropping** a `File` with a write in flight does not lose it: the blocking task (on
//!   io_uring, a small task of the runtime's) owns the buffer and a reference to the file, and
//!   finishes the write (and then closes the file) on its own. Its error, if any, is lost:
//!   flush first to see it. A write still queued when the runtime shuts down is cancelled,
//!   like any queued blocking task (on io_uring, a write already in the kernel completes).
//!
//! # Errors
//!
//! Failures are the `io::Error`s `std::fs` reports (`NotFound`, `PermissionDenied`, `IsADirectory`, ...).
//! A function called outside a corio runtime, or after it shut down, fails with an error of
//! kind `Other` rather than panicking; so does an operation whose blocking task was
//! cancelled by the runtime's shutdown (or whose ring op was, by the ring's).

mod file;
mod metadata;
mod open_options;
mod read_dir;
mod ring;

use std::fs::Permissions;
use std::io;
use std::path::{Path, PathBuf};

pub use file::File;
pub use metadata::{FileType, Metadata};
pub use open_options::OpenOptions;
pub use read_dir::{DirEntry, ReadDir, read_dir};

use crate::runtime::Handle;
use crate::task::{JoinError, JoinHandle};

// ----- The blocking seam -----------------------------------------------------------------
//
// Every file system call in this module that does not run on the ring goes through
// `spawn_io` (start it) or `asyncify` (start it and await it). The ring side is `ring.rs`:
// each call asks `ring::current` for the runtime's ring (if it has the opcodes the call
// needs) and falls back to these two otherwise.

/// Starts `op` on the current runtime's blocking pool. No runtime, or one that has shut down,
/// is an error rather than a panic.
fn spawn_io<T, F>(op: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let handle = Handle::try_current().map_err(|err| {
        io::Error::other(format!("corio::fs needs a running corio runtime: {err}"))
    })?;
    handle
        .try_spawn_blocking(op)
        .map_err(|err| io::Error::other(format!("corio::fs: {err}")))
}

/// The `io::Error` for a blocking file operation that produced no result.
fn join_error(err: JoinError) -> io::Error {
    io::Error::other(format!(
        "corio::fs: the blocking file operation failed: {err}"
    ))
}

/// Runs `op` on the blocking pool and waits for its result.
async fn asyncify<T, F>(op: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    spawn_io(op)?.await.map_err(join_error)?
}

// ----- std::fs, awaited --------------------------------------------------------------------

/// Reads a whole file into a byte vector; see [`std::fs::read`].
///
/// ```
/// corio::run(async {
///     let manifest = corio::fs::read("Cargo.toml").await.unwrap();
///     assert!(manifest.starts_with(b"[package]"));
/// });
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    if let Some(ring) = ring::current(|ops| ops.open && ops.read_write) {
        return ring.read_file(path.as_ref()).await;
    }
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read(path)).await
}

/// Reads a whole file into a string; see [`std::fs::read_to_string`]. Content that is not
/// UTF-8 is an `InvalidData` error.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    if let Some(ring) = ring::current(|ops| ops.open && ops.read_write) {
        let bytes = ring.read_file(path.as_ref()).await?;
        return String::from_utf8(bytes).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )
        });
    }
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_to_string(path)).await
}

/// Writes `contents` as the whole content of a file, creating or truncating it; see
/// [`std::fs::write`].
///
/// Dropping the future does not stop a write already started: it completes in the
/// background. (On io_uring, a future dropped while the open is still in flight may leave
/// the file created or truncated, but nothing written.)
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    if let Some(ring) = ring::current(|ops| ops.open && ops.read_write) {
        return ring.write_file(path.as_ref(), contents).await;
    }
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
}

/// Copies the content and permissions of one file to another, returning the number of bytes
/// copied; see [`std::fs::copy`].
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::copy(from, to)).await
}

/// Renames a file or directory, replacing `to` if it exists; see [`std::fs::rename`].
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::rename(from, to)).await
}

/// Removes a file; see [`std::fs::remove_file`].
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_file(path)).await
}

/// Removes an empty directory; see [`std::fs::remove_dir`].
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir(path)).await
}

/// Removes a directory and everything in it; see [`std::fs::remove_dir_all`].
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir_all(path)).await
}

/// Creates a directory whose parent exists; see [`std::fs::create_dir`].
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir(path)).await
}

/// Creates a directory and any missing parents; see [`std::fs::create_dir_all`].
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir_all(path)).await
}

/// The metadata of a file or directory, following symbolic links; see
/// [`std::fs::metadata`].
///
/// ```
/// corio::run(async {
///     let meta = corio::fs::metadata("src").await.unwrap();
///     assert!(meta.is_dir());
///     let err = corio::fs::metadata("no/such/path").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// });
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    if let Some(ring) = ring::current(|ops| ops.statx) {
        return ring.statx_path(path.as_ref(), true).await;
    }
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::metadata(path).map(Metadata::from)).await
}

/// The metadata of a path without following a final symbolic link; see
/// [`std::fs::symlink_metadata`].
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    if let Some(ring) = ring::current(|ops| ops.statx) {
        return ring.statx_path(path.as_ref(), false).await;
    }
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::symlink_metadata(path).map(Metadata::from)).await
}

/// The absolute form of a path with every link and `.`/`..` resolved; see
/// [`std::fs::canonicalize`].
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::canonicalize(path)).await
}

/// Creates a hard link `link` to the file `original`; see [`std::fs::hard_link`].
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::fs::hard_link(original, link)).await
}

/// The target of a symbolic link; see [`std::fs::read_link`].
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_link(path)).await
}

/// Changes the permissions of a file or directory; see [`std::fs::set_permissions`].
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::set_permissions(path, perm)).await
}

/// Whether a path exists: `Ok(false)` if it does not, an error if that cannot be told (for
/// example, a parent directory that may not be searched); see [`std::fs::exists`].
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::exists(path)).await
}
