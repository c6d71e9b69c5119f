//! `OpenOptions`: how to open a file, with an async `open`.
//!
//! The options are kept twice: in a `std::fs::OpenOptions` (for the blocking pool) and as
//! plain flags (for an `IORING_OP_OPENAT`, since std's builder cannot be read back). Options
//! converted from a std builder have no flags and always open on the blocking pool.

use std::io;
use std::path::Path;

use super::{File, asyncify, ring};

/// Options for opening a file: read, write, append, truncate, create; see
/// [`std::fs::OpenOptions`], whose builder this wraps. Only [`open`](OpenOptions::open) is
/// async.
///
/// ```
/// use corio::fs::OpenOptions;
/// use corio::io_util::AsyncWriteExt;
///
/// corio::run(async {
///     let path = std::env::temp_dir().join(format!("corio-open-doc-{}", std::process::id()));
///     let mut log = OpenOptions::new()
///         .append(true)
///         .create(true)
///         .open(&path)
///         .await
///         .unwrap();
///     log.write_all(b"started\n").await.unwrap();
///     log.flush().await.unwrap();
///     # corio::fs::remove_file(&path).await.unwrap();
/// });
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    std: std::fs::OpenOptions,
    /// The same options as flags; `None` if built from a std builder.
    flags: Option<Flags>,
}

/// The options as `open(2)` takes them apart; see [`Flags::to_open`].
#[derive(Clone, Copy, Debug, Default)]
struct Flags {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: Option<u32>,
    custom: i32,
}

impl Flags {
    /// The `open(2)` flags and mode, or std's `InvalidInput` error for a combination std
    /// refuses (the rules of std's Unix `OpenOptions`).
    fn to_open(self) -> io::Result<(i32, u32)> {
        let needs_write = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "creating or truncating a file requires write or append access",
            )
        };
        let access = match (self.read, self.write, self.append) {
            (true, false, false) => libc::O_RDONLY,
            (false, true, false) => libc::O_WRONLY,
            (true, true, false) => libc::O_RDWR,
            (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
            (true, _, true) => libc::O_RDWR | libc::O_APPEND,
            (false, false, false) if self.create || self.create_new || self.truncate => {
                return Err(needs_write());
            }
            (false, false, false) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "must specify at least one of read, write, or append access",
                ));
            }
        };
        match (self.write, self.append) {
            (false, false) if self.truncate || self.create || self.create_new => {
                return Err(needs_write());
            }
            (_, true) if self.truncate && !self.create_new => return Err(needs_write()),
            _ => {}
        }
        let creation = match (self.create, self.truncate, self.create_new) {
            (_, _, true) => libc::O_CREAT | libc::O_EXCL,
            (true, true, false) => libc::O_CREAT | libc::O_TRUNC,
            (true, false, false) => libc::O_CREAT,
            (false, true, false) => libc::O_TRUNC,
            (false, false, false) => 0,
        };
        let flags = access | creation | (self.custom & !libc::O_ACCMODE);
        Ok((flags, self.mode.unwrap_or(0o666)))
    }
}

impl OpenOptions {
    /// Options with every flag off; set at least one of `read`, `write` or `append`.
    pub fn new() -> OpenOptions {
        OpenOptions {
            std: std::fs::OpenOptions::new(),
            flags: Some(Flags::default()),
        }
    }

    /// Sets one option in both forms.
    fn set(
        &mut self,
        std: impl FnOnce(&mut std::fs::OpenOptions),
        flags: impl FnOnce(&mut Flags),
    ) -> &mut OpenOptions {
        std(&mut self.std);
        if let Some(mirror) = &mut self.flags {
            flags(mirror);
        }
        self
    }

    /// Opens for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.set(
            |o| {
                o.read(read);
            },
            |f| f.read = read,
        )
    }

    /// Opens for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.set(
            |o| {
                o.write(write);
            },
            |f| f.write = write,
        )
    }

    /// Opens for appending: every write goes to the current end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.set(
            |o| {
                o.append(append);
            },
            |f| f.append = append,
        )
    }

    /// Truncates an existing file to length 0 (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.set(
            |o| {
                o.truncate(truncate);
            },
            |f| f.truncate = truncate,
        )
    }

    /// Creates the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.set(
            |o| {
                o.create(create);
            },
            |f| f.create = create,
        )
    }

    /// Creates the file, failing with `AlreadyExists` if it exists (atomically).
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.set(
            |o| {
                o.create_new(create_new);
            },
            |f| f.create_new = create_new,
        )
    }

    /// The permission bits of a file this call creates (before the umask); Unix only.
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.set(
            |o| {
                std::os::unix::fs::OpenOptionsExt::mode(o, mode);
            },
            |f| f.mode = Some(mode),
        )
    }

    /// Extra `open(2)` flags, such as `libc::O_NOFOLLOW`; Unix only.
    #[cfg(unix)]
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.set(
            |o| {
                std::os::unix::fs::OpenOptionsExt::custom_flags(o, flags);
            },
            |f| f.custom = flags,
        )
    }

    /// Opens the file at `path` with these options: an `IORING_OP_OPENAT` on an io_uring
    /// runtime, the blocking pool otherwise.
    ///
    /// Errors are those of [`std::fs::OpenOptions::open`]: `NotFound`, `PermissionDenied`,
    /// `AlreadyExists` (with `create_new`), `IsADirectory` (a directory opened for writing),
    /// `InvalidInput` (an invalid combination of flags), ...
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        if let Some(flags) = self.flags
            && let Some(ring) = ring::current(|ops| ops.open)
        {
            let (flags, mode) = flags.to_open()?;
            let std = ring.open(path.as_ref(), flags, mode).await?;
            return Ok(File::from_std(std));
        }
        let options = self.std.clone();
        let path = path.as_ref().to_owned();
        let std = asyncify(move || options.open(path)).await?;
        Ok(File::from_std(std))
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

/// Options from a std builder (whose flags cannot be read back) always open on the
/// blocking pool.
impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(std: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions { std, flags: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of the six options: the ring's flags are refused exactly when std
    /// refuses the options, with std's message.
    #[test]
    #[cfg_attr(miri, ignore)] // opens files
    fn flags_are_refused_exactly_when_std_refuses() {
        let dir = std::env::temp_dir().join(format!("corio-openflags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        for bits in 0..64u32 {
            let bit = |i: u32| bits & (1 << i) != 0;
            let flags = Flags {
                read: bit(0),
                write: bit(1),
                append: bit(2),
                truncate: bit(3),
                create: bit(4),
                create_new: bit(5),
                ..Flags::default()
            };
            let _ = std::fs::remove_file(&path);
            let std = std::fs::OpenOptions::new()
                .read(flags.read)
                .write(flags.write)
                .append(flags.append)
                .truncate(flags.truncate)
                .create(flags.create)
                .create_new(flags.create_new)
                .open(&path);
            match (flags.to_open(), std) {
                (Ok((f, mode)), Ok(_)) => {
                    assert_eq!(mode, 0o666);
                    assert_eq!(f & libc::O_EXCL != 0, flags.create_new, "{flags:?}");
                }
                (Ok(_), Err(err)) => {
                    // Valid flags std could not open: only a missing file without create.
                    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{flags:?}");
                    assert!(!flags.create && !flags.create_new, "{flags:?}");
                }
                (Err(ours), Err(std)) => {
                    assert_eq!(ours.kind(), std.kind(), "{flags:?}");
                    assert_eq!(ours.to_string(), std.to_string(), "{flags:?}");
                }
                (Err(ours), Ok(_)) => panic!("{flags:?}: refused ({ours}) but std opened"),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
