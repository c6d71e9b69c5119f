//! `read_dir`: a directory's entries, fetched from the blocking pool in batches.
//!
//! `ReadDir` is either idle, holding the std iterator and the entries already fetched, or
//! waiting on one blocking call that reads the next batch of up to [`BATCH`] entries (and each
//! entry's file type, which on most platforms comes free with the entry). `next_entry` hands
//! out the fetched entries without a blocking call, so a directory of `n` entries costs about
//! `n / BATCH` trips to the pool. The state lives in the `ReadDir`, so a `next_entry` future
//! that is dropped loses nothing: the next call picks up the batch in flight.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::{FileType, Metadata, asyncify, join_error, ring, spawn_io};
use crate::task::JoinHandle;

/// Entries fetched per blocking call.
const BATCH: usize = 32;

/// Entries fetched and not yet handed out, and the iterator if the directory has more.
type Batch = (VecDeque<io::Result<DirEntry>>, Option<std::fs::ReadDir>);

/// Opens a directory for listing; see [`std::fs::read_dir`].
///
/// The entries come in no particular order and exclude `.` and `..`. An error opening the
/// directory (`NotFound`, `NotADirectory`, `PermissionDenied`, ...) is returned here; an
/// error reading one entry is returned by [`ReadDir::next_entry`] in its place, and listing
/// can go on after it.
///
/// ```
/// corio::run(async {
///     let mut entries = corio::fs::read_dir(".").await.unwrap();
///     let mut names = Vec::new();
///     while let Some(entry) = entries.next_entry().await.unwrap() {
///         names.push(entry.file_name());
///     }
///     assert!(names.iter().any(|name| name == "Cargo.toml"));
/// });
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let std = asyncify(move || std::fs::read_dir(path)).await?;
    Ok(ReadDir {
        state: State::Idle(VecDeque::new(), Some(std)),
    })
}

/// The entries of a directory, from [`read_dir`].
pub struct ReadDir {
    state: State,
}

enum State {
    /// Fetched entries, and the iterator unless the directory is exhausted.
    Idle(VecDeque<io::Result<DirEntry>>, Option<std::fs::ReadDir>),
    /// A blocking call is fetching the next batch.
    Fetching(JoinHandle<Batch>),
}

impl ReadDir {
    /// The next entry: `Ok(None)` once the directory is exhausted, `Err` for an entry that
    /// could not be read (the next call goes on with the entries after it).
    ///
    /// Cancel-safe: dropping the future loses no entry.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// The poll form of [`next_entry`](ReadDir::next_entry), for hand-written futures and
    /// streams.
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Idle(fetched, std) => {
                    if let Some(entry) = fetched.pop_front() {
                        return Poll::Ready(entry.map(Some));
                    }
                    let Some(std) = std.take() else {
                        return Poll::Ready(Ok(None));
                    };
                    let mut batch = std::mem::take(fetched);
                    let task = spawn_io(move || {
                        let more = fetch_batch(std, &mut batch);
                        (batch, more)
                    })?;
                    self.state = State::Fetching(task);
                }
                State::Fetching(task) => {
                    let (fetched, std) = match ready!(Pin::new(task).poll(cx)) {
                        Ok(batch) => batch,
                        // The iterator was lost with the task; report why, then end.
                        Err(err) => (VecDeque::from([Err(join_error(err))]), None),
                    };
                    self.state = State::Idle(fetched, std);
                }
            }
        }
    }
}

/// Moves up to [`BATCH`] entries from `std` into `batch`; returns the iterator unless it is
/// exhausted.
fn fetch_batch(
    mut std: std::fs::ReadDir,
    batch: &mut VecDeque<io::Result<DirEntry>>,
) -> Option<std::fs::ReadDir> {
    for _ in 0..BATCH {
        match std.next() {
            Some(entry) => batch.push_back(entry.map(DirEntry::new)),
            None => return None,
        }
    }
    Some(std)
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(fetched, Some(_)) => format!("idle, {} fetched", fetched.len()),
            State::Idle(fetched, None) => format!("exhausted, {} fetched", fetched.len()),
            State::Fetching(_) => "fetching".to_owned(),
        };
        f.debug_struct("ReadDir").field("state", &state).finish()
    }
}

/// One entry of a directory, from [`ReadDir::next_entry`]; see [`std::fs::DirEntry`].
///
/// `path` and `file_name` need no system call. `file_type` usually needs none either (the
/// type comes with the directory listing on most platforms); `metadata` always makes one
/// (on io_uring, a statx op on [`path`](DirEntry::path)).
#[derive(Clone)]
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
    /// The file type, if the listing provided it.
    file_type: Option<FileType>,
}

impl DirEntry {
    /// Wraps a std entry, noting its file type if it comes without a blocking call. On the
    /// platforms where it does not, this runs on the blocking pool anyway, so the call costs
    /// nothing on the event loop.
    fn new(std: std::fs::DirEntry) -> DirEntry {
        let file_type = std.file_type().ok().map(FileType::from);
        DirEntry {
            std: Arc::new(std),
            file_type,
        }
    }

    /// The full path: the directory given to [`read_dir`] joined with the file name.
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The bare file name, without the directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's metadata, not following a symbolic link; see
    /// [`std::fs::DirEntry::metadata`].
    pub async fn metadata(&self) -> io::Result<Metadata> {
        if let Some(ring) = ring::current(|ops| ops.statx) {
            return ring.statx_path(&self.path(), false).await;
        }
        let std = Arc::clone(&self.std);
        asyncify(move || std.metadata().map(Metadata::from)).await
    }

    /// The entry's type (file, directory, symbolic link, ...), not following a symbolic link;
    /// see [`std::fs::DirEntry::file_type`].
    pub async fn file_type(&self) -> io::Result<FileType> {
        if let Some(file_type) = self.file_type {
            return Ok(file_type);
        }
        let std = Arc::clone(&self.std);
        asyncify(move || std.file_type().map(FileType::from)).await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}
