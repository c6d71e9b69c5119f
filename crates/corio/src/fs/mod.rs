//! Async file system access: `std::fs`, awaited.
//!
//! Every function here mirrors the `std::fs` function of the same name, takes the same
//! arguments (paths by `AsRef<Path>`, owned on the way in), and returns the same
//! `io::Result`, but as a future: the system call runs on the runtime's blocking pool (see
//! [`spawn_blocking`](crate::task::spawn_blocking)) and the calling task waits without
//! stalling its event loop.
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
//! `BufReader::lines` and friends all work on it. A `File` keeps one blocking operation in
//! flight at a time and one reusable buffer of up to 64 KiB:
//!
//! - **Reads** fetch up to 64 KiB in one blocking call, then serve `poll_read` from that
//!   buffer until it is drained. Read-ahead never shows: a seek, write, `set_len` or
//!   `try_clone` first moves the OS cursor back over the bytes not yet consumed.
//! - **Writes** copy the bytes into the buffer and return `Ok(n)` at once; the blocking
//!   write runs in the background. The next operation waits for it, and its error (if any) is
//!   reported by the next read, write, seek, `flush`, `close`, `sync_all`, `sync_data` or
//!   `set_len`. Call `flush` (or `sync_all`) to learn that the data reached the OS (or the
//!   disk).
//! - **Dropping** a `File` with a write in flight does not lose it: the blocking task owns
//!   the buffer and a reference to the file, and finishes the write (and then closes the file)
//!   on its own. Its error, if any, is lost: flush first to see it. A write still queued when
//!   the runtime shuts down is cancelled, like any queued blocking task.
//!
//! # Errors
//!
//! Failures are the `io::Error`s `std::fs` reports (`NotFound`, `PermissionDenied`, `IsADirectory`, ...).
//! A function called outside a corio runtime, or after it shut down, fails with an error of
//! kind `Other` rather than panicking; so does an operation whose blocking task was
//! cancelled by the runtime's shutdown.

mod file;
mod open_options;
mod read_dir;

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{DirEntry, ReadDir, read_dir};

use crate::runtime::Handle;
use crate::task::{JoinError, JoinHandle};

// ----- The blocking seam -----------------------------------------------------------------
//
// Every file system call in this module goes through `spawn_io` (start it) or `asyncify`
// (start it and await it). A later step moves file I/O to io_uring behind the same API; these
// two functions are where that happens.

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
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read(path)).await
}

/// Reads a whole file into a string; see [`std::fs::read_to_string`]. Content that is not
/// UTF-8 is an `InvalidData` error.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_to_string(path)).await
}

/// Writes `contents` as the whole content of a file, creating or truncating it; see
/// [`std::fs::write`].
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
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
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::metadata(path)).await
}

/// The metadata of a path without following a final symbolic link; see
/// [`std::fs::symlink_metadata`].
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::symlink_metadata(path)).await
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
