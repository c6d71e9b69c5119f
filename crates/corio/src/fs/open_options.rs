//! `OpenOptions`: how to open a file, with an async `open`.

use std::io;
use std::path::Path;

use super::{File, asyncify};

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
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// Options with every flag off; set at least one of `read`, `write` or `append`.
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Opens for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Opens for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Opens for appending: every write goes to the current end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Truncates an existing file to length 0 (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Creates the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Creates the file, failing with `AlreadyExists` if it exists (atomically).
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits of a file this call creates (before the umask); Unix only.
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Extra `open(2)` flags, such as `libc::O_NOFOLLOW`; Unix only.
    #[cfg(unix)]
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.0, flags);
        self
    }

    /// Opens the file at `path` with these options.
    ///
    /// Errors are those of [`std::fs::OpenOptions::open`]: `NotFound`, `PermissionDenied`,
    /// `AlreadyExists` (with `create_new`), `IsADirectory` (a directory opened for writing),
    /// `InvalidInput` (an invalid combination of flags), ...
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let options = self.0.clone();
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

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(options)
    }
}
