//! `Metadata` and `FileType`: what `stat` says about a file, as one type on both I/O drivers.
//!
//! `std::fs::Metadata` cannot be built from a `statx` buffer, and on io_uring that buffer is
//! what the kernel hands back. So corio has its own pair of types, filled from `statx` on the
//! ring and from `std::fs::Metadata` on the blocking pool, with std's method names (the Unix
//! extension traits `MetadataExt` and `FileTypeExt` are implemented too).

use std::fmt;
use std::fs::Permissions;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::time::{Duration, SystemTime};

/// Metadata about a file or directory: its type, size, permissions and times; see
/// [`std::fs::Metadata`], whose methods this mirrors. Returned by [`metadata`](super::metadata),
/// [`symlink_metadata`](super::symlink_metadata), [`File::metadata`](super::File::metadata)
/// and [`DirEntry::metadata`](super::DirEntry::metadata).
///
/// The Unix fields (`ino`, `mode`, `uid`, `blocks`, ...) are read through
/// [`std::os::unix::fs::MetadataExt`], as with std.
///
/// ```
/// use std::os::unix::fs::MetadataExt;
///
/// corio::run(async {
///     let meta = corio::fs::metadata("Cargo.toml").await.unwrap();
///     assert!(meta.is_file() && !meta.is_dir());
///     assert_eq!(meta.len(), meta.size());
///     assert!(meta.len() > 0);
///     assert!(meta.modified().unwrap() <= std::time::SystemTime::now());
///     assert_eq!(meta.mode() & 0o170000, 0o100000); // S_IFREG
///     assert!(!meta.permissions().readonly() || meta.uid() != 0);
/// });
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Metadata {
    file_type: FileType,
    mode: u32,
    len: u64,
    dev: u64,
    ino: u64,
    nlink: u64,
    uid: u32,
    gid: u32,
    rdev: u64,
    blksize: u64,
    blocks: u64,
    accessed: Timestamp,
    modified: Timestamp,
    changed: Timestamp,
    /// `None` where the file system does not record a birth time.
    created: Option<Timestamp>,
}

/// Seconds and nanoseconds since the Unix epoch, as `stat` reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Timestamp {
    sec: i64,
    nsec: u32,
}

impl Timestamp {
    fn to_system_time(self) -> io::Result<SystemTime> {
        let time = if self.sec >= 0 {
            SystemTime::UNIX_EPOCH.checked_add(Duration::new(self.sec as u64, self.nsec))
        } else {
            SystemTime::UNIX_EPOCH
                .checked_sub(Duration::from_secs(self.sec.unsigned_abs()))
                .and_then(|t| t.checked_add(Duration::from_nanos(u64::from(self.nsec))))
        };
        time.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "timestamp out of range"))
    }

    fn from_system_time(time: SystemTime) -> Timestamp {
        match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => Timestamp {
                sec: after.as_secs() as i64,
                nsec: after.subsec_nanos(),
            },
            Err(before) => {
                // `before` is positive: count whole seconds down, nanoseconds back up.
                let before = before.duration();
                let (sec, nsec) = (before.as_secs() as i64, before.subsec_nanos());
                if nsec == 0 {
                    Timestamp { sec: -sec, nsec: 0 }
                } else {
                    Timestamp {
                        sec: -sec - 1,
                        nsec: 1_000_000_000 - nsec,
                    }
                }
            }
        }
    }

    fn from_statx(ts: &libc::statx_timestamp) -> Timestamp {
        Timestamp {
            sec: ts.tv_sec,
            nsec: ts.tv_nsec,
        }
    }
}

impl Metadata {
    /// From the buffer an `IORING_OP_STATX` filled (mask `STATX_BASIC_STATS | STATX_BTIME`):
    /// the fields std reads from the same call.
    pub(crate) fn from_statx(stx: &libc::statx) -> Metadata {
        let mode = u32::from(stx.stx_mode);
        Metadata {
            file_type: FileType::from_mode(mode),
            mode,
            len: stx.stx_size,
            dev: libc::makedev(stx.stx_dev_major, stx.stx_dev_minor),
            ino: stx.stx_ino,
            nlink: u64::from(stx.stx_nlink),
            uid: stx.stx_uid,
            gid: stx.stx_gid,
            rdev: libc::makedev(stx.stx_rdev_major, stx.stx_rdev_minor),
            blksize: u64::from(stx.stx_blksize),
            blocks: stx.stx_blocks,
            accessed: Timestamp::from_statx(&stx.stx_atime),
            modified: Timestamp::from_statx(&stx.stx_mtime),
            changed: Timestamp::from_statx(&stx.stx_ctime),
            created: (stx.stx_mask & libc::STATX_BTIME != 0)
                .then(|| Timestamp::from_statx(&stx.stx_btime)),
        }
    }

    /// The file's type.
    pub fn file_type(&self) -> FileType {
        self.file_type
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type.is_dir()
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.file_type.is_file()
    }

    /// Whether this is a symbolic link (only from [`symlink_metadata`](super::symlink_metadata)
    /// or [`DirEntry::metadata`](super::DirEntry::metadata), which do not follow links).
    pub fn is_symlink(&self) -> bool {
        self.file_type.is_symlink()
    }

    /// The size in bytes.
    #[allow(clippy::len_without_is_empty)] // as std's
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The permission bits, for [`set_permissions`](super::set_permissions).
    pub fn permissions(&self) -> Permissions {
        Permissions::from_mode(self.mode)
    }

    /// The last modification time.
    pub fn modified(&self) -> io::Result<SystemTime> {
        self.modified.to_system_time()
    }

    /// The last access time (as the file system records it: see `noatime`/`relatime`).
    pub fn accessed(&self) -> io::Result<SystemTime> {
        self.accessed.to_system_time()
    }

    /// The creation (birth) time; an `Unsupported` error where the file system does not
    /// record one.
    pub fn created(&self) -> io::Result<SystemTime> {
        match self.created {
            Some(created) => created.to_system_time(),
            None => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "creation time is not available for the filesystem",
            )),
        }
    }
}

impl From<std::fs::Metadata> for Metadata {
    fn from(std: std::fs::Metadata) -> Metadata {
        let timestamp = |sec: i64, nsec: i64| Timestamp {
            sec,
            nsec: nsec as u32,
        };
        Metadata {
            file_type: FileType::from(std.file_type()),
            mode: std.mode(),
            len: std.len(),
            dev: std.dev(),
            ino: std.ino(),
            nlink: std.nlink(),
            uid: std.uid(),
            gid: std.gid(),
            rdev: std.rdev(),
            blksize: std.blksize(),
            blocks: std.blocks(),
            accessed: timestamp(std.atime(), std.atime_nsec()),
            modified: timestamp(std.mtime(), std.mtime_nsec()),
            changed: timestamp(std.ctime(), std.ctime_nsec()),
            created: std.created().ok().map(Timestamp::from_system_time),
        }
    }
}

/// The Unix fields, as on [`std::fs::Metadata`].
impl MetadataExt for Metadata {
    fn dev(&self) -> u64 {
        self.dev
    }
    fn ino(&self) -> u64 {
        self.ino
    }
    fn mode(&self) -> u32 {
        self.mode
    }
    fn nlink(&self) -> u64 {
        self.nlink
    }
    fn uid(&self) -> u32 {
        self.uid
    }
    fn gid(&self) -> u32 {
        self.gid
    }
    fn rdev(&self) -> u64 {
        self.rdev
    }
    fn size(&self) -> u64 {
        self.len
    }
    fn atime(&self) -> i64 {
        self.accessed.sec
    }
    fn atime_nsec(&self) -> i64 {
        i64::from(self.accessed.nsec)
    }
    fn mtime(&self) -> i64 {
        self.modified.sec
    }
    fn mtime_nsec(&self) -> i64 {
        i64::from(self.modified.nsec)
    }
    fn ctime(&self) -> i64 {
        self.changed.sec
    }
    fn ctime_nsec(&self) -> i64 {
        i64::from(self.changed.nsec)
    }
    fn blksize(&self) -> u64 {
        self.blksize
    }
    fn blocks(&self) -> u64 {
        self.blocks
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("file_type", &self.file_type)
            .field("permissions", &self.permissions())
            .field("len", &self.len)
            .field("modified", &self.modified())
            .field("accessed", &self.accessed())
            .field("created", &self.created())
            .finish_non_exhaustive()
    }
}

/// The type of a file: regular file, directory, symbolic link, or (through
/// [`std::os::unix::fs::FileTypeExt`]) a device, FIFO or socket; see [`std::fs::FileType`].
///
/// ```
/// use std::os::unix::fs::FileTypeExt;
///
/// corio::run(async {
///     let file_type = corio::fs::metadata("/dev/null").await.unwrap().file_type();
///     assert!(file_type.is_char_device());
///     assert!(!file_type.is_file() && !file_type.is_dir() && !file_type.is_symlink());
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileType {
    /// The `S_IFMT` bits of the mode.
    format: u32,
}

impl FileType {
    fn from_mode(mode: u32) -> FileType {
        FileType {
            format: mode & libc::S_IFMT,
        }
    }

    fn is(&self, format: u32) -> bool {
        self.format == format
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.is(libc::S_IFDIR)
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.is(libc::S_IFREG)
    }

    /// Whether this is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.is(libc::S_IFLNK)
    }
}

impl From<std::fs::FileType> for FileType {
    fn from(std: std::fs::FileType) -> FileType {
        let format = [
            (std.is_file(), libc::S_IFREG),
            (std.is_dir(), libc::S_IFDIR),
            (std.is_symlink(), libc::S_IFLNK),
            (std.is_block_device(), libc::S_IFBLK),
            (std.is_char_device(), libc::S_IFCHR),
            (std.is_fifo(), libc::S_IFIFO),
            (std.is_socket(), libc::S_IFSOCK),
        ]
        .into_iter()
        .find_map(|(is, format)| is.then_some(format))
        .unwrap_or(0);
        FileType { format }
    }
}

/// Devices, FIFOs and sockets, as on [`std::fs::FileType`].
impl FileTypeExt for FileType {
    fn is_block_device(&self) -> bool {
        self.is(libc::S_IFBLK)
    }
    fn is_char_device(&self) -> bool {
        self.is(libc::S_IFCHR)
    }
    fn is_fifo(&self) -> bool {
        self.is(libc::S_IFIFO)
    }
    fn is_socket(&self) -> bool {
        self.is(libc::S_IFSOCK)
    }
}

impl fmt::Debug for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileType")
            .field("is_file", &self.is_file())
            .field("is_dir", &self.is_dir())
            .field("is_symlink", &self.is_symlink())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_system_time() {
        for (sec, nsec) in [(0, 0), (1_700_000_000, 123_456_789), (-1, 500), (-10, 0)] {
            let ts = Timestamp { sec, nsec };
            let back = Timestamp::from_system_time(ts.to_system_time().unwrap());
            assert_eq!(back, ts);
        }
    }

    #[test]
    #[cfg_attr(miri, ignore)] // stat
    fn from_std_keeps_every_field() {
        let std = std::fs::metadata("Cargo.toml").unwrap();
        let ours = Metadata::from(std.clone());
        assert!(ours.is_file());
        assert_eq!(ours.len(), std.len());
        assert_eq!(
            (ours.dev(), ours.ino(), ours.mode(), ours.nlink()),
            (std.dev(), std.ino(), std.mode(), std.nlink())
        );
        assert_eq!(ours.modified().unwrap(), std.modified().unwrap());
        assert_eq!(ours.accessed().unwrap(), std.accessed().unwrap());
        assert_eq!(ours.created().ok(), std.created().ok());
        assert_eq!(ours.permissions(), std.permissions());
    }

    #[test]
    #[cfg_attr(miri, ignore)] // stat
    fn file_types_from_std() {
        let dir = FileType::from(std::fs::metadata("/").unwrap().file_type());
        assert!(dir.is_dir() && !dir.is_file());
        let null = FileType::from(std::fs::metadata("/dev/null").unwrap().file_type());
        assert!(null.is_char_device() && !null.is_block_device() && !null.is_fifo());
    }
}
