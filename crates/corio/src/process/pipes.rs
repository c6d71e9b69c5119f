//! The parent's ends of a child's stdio pipes: `ChildStdin`, `ChildStdout`, `ChildStderr`.
//!
//! Each wraps one pipe end that was switched to non-blocking mode and registered with the
//! reactor, so a read of an empty pipe (or a write to a full one) parks the task instead of
//! the thread. Only the parent's end changes mode: the child's end is a separate open file
//! description and stays blocking.
//!
//! A pipe end handed on to another child (`Stdio::try_from(stdout)`) is deregistered and
//! switched back to blocking mode first, since the next program will share that description
//! and most programs expect blocking stdio.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::io::source::Source;

/// One registered, non-blocking pipe end.
#[derive(Debug)]
struct Pipe {
    source: Source<File>,
}

impl Pipe {
    /// Switches `fd` to non-blocking mode and registers it with the current runtime.
    fn new(fd: OwnedFd) -> io::Result<Pipe> {
        set_nonblocking(fd.as_fd(), true)?;
        Ok(Pipe {
            source: Source::new(File::from(fd))?,
        })
    }

    /// Deregisters the pipe end and switches it back to blocking mode.
    fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        let fd = OwnedFd::from(self.source.into_inner()?);
        set_nonblocking(fd.as_fd(), false)?;
        Ok(fd)
    }

    fn as_fd(&self) -> BorrowedFd<'_> {
        self.source.get_ref().as_fd()
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    // SAFETY: `F_GETFL` on an fd kept open by the borrow; no memory is passed.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let wanted = if nonblocking {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if wanted != flags {
        // SAFETY: `F_SETFL` with an int argument on an fd kept open by the borrow.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, wanted) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The writing end of a child's stdin: [`AsyncWrite`].
///
/// Closing it (`close().await`, or dropping it) gives the child end-of-file; writes after a
/// close fail with `BrokenPipe`. A write after the child closed its stdin (or exited) fails
/// with `BrokenPipe` too.
///
/// ```
/// use std::process::Stdio;
///
/// use corio::io_util::{AsyncReadExt, AsyncWriteExt};
/// use corio::process::Command;
///
/// corio::run(async {
///     let mut child = Command::new("cat")
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()
///         .unwrap();
///     let mut stdin = child.stdin.take().unwrap();
///     stdin.write_all(b"meow").await.unwrap();
///     stdin.close().await.unwrap(); // cat sees end-of-file and exits
///     let mut text = String::new();
///     child.stdout.take().unwrap().read_to_string(&mut text).await.unwrap();
///     assert_eq!(text, "meow");
///     assert!(child.wait().await.unwrap().success());
/// });
/// ```
#[derive(Debug)]
pub struct ChildStdin {
    /// `None` once closed.
    pipe: Option<Pipe>,
}

/// The reading end of a child's stdout: [`AsyncRead`]; end-of-file once the child (and
/// everything it shared the pipe with) closed it.
#[derive(Debug)]
pub struct ChildStdout {
    pipe: Pipe,
}

/// The reading end of a child's stderr: [`AsyncRead`], as [`ChildStdout`].
#[derive(Debug)]
pub struct ChildStderr {
    pipe: Pipe,
}

impl ChildStdin {
    /// Wraps std's pipe end, registering it with the current runtime (and switching it to
    /// non-blocking mode). Fails outside a runtime.
    pub fn from_std(stdin: std::process::ChildStdin) -> io::Result<ChildStdin> {
        Ok(ChildStdin {
            pipe: Some(Pipe::new(stdin.into())?),
        })
    }

    /// Unregisters the pipe end and returns it in blocking mode, for example to pass it to
    /// another process. Fails with `BrokenPipe` if it was closed.
    pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
        self.pipe.ok_or_else(closed)?.into_blocking_fd()
    }

    fn pipe(&self) -> io::Result<&Pipe> {
        self.pipe.as_ref().ok_or_else(closed)
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "corio: ChildStdin was closed")
}

macro_rules! impl_reader {
    ($ty:ident, $std:ty) => {
        impl $ty {
            /// Wraps std's pipe end, registering it with the current runtime (and switching
            /// it to non-blocking mode). Fails outside a runtime.
            pub fn from_std(pipe: $std) -> io::Result<$ty> {
                Ok($ty {
                    pipe: Pipe::new(pipe.into())?,
                })
            }

            /// Unregisters the pipe end and returns it in blocking mode, for example to pass
            /// it to another process.
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.pipe.into_blocking_fd()
            }
        }

        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.pipe.source.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [io::IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.pipe.source.poll_read_vectored(cx, bufs)
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.as_fd()
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.as_fd().as_raw_fd()
            }
        }

        impl TryFrom<$ty> for Stdio {
            type Error = io::Error;

            /// Hands the pipe end (in blocking mode) to another child as one of its stdio
            /// streams.
            fn try_from(pipe: $ty) -> io::Result<Stdio> {
                pipe.into_owned_fd().map(Stdio::from)
            }
        }
    };
}

impl_reader!(ChildStdout, std::process::ChildStdout);
impl_reader!(ChildStderr, std::process::ChildStderr);

impl TryFrom<ChildStdin> for Stdio {
    type Error = io::Error;

    /// Hands the pipe end (in blocking mode) to another child as one of its stdio streams.
    fn try_from(stdin: ChildStdin) -> io::Result<Stdio> {
        stdin.into_owned_fd().map(Stdio::from)
    }
}

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pipe()?.source.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.pipe()?.source.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight to the kernel: nothing is buffered here.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A pipe has no half-close: closing the fd is what gives the child end-of-file.
        drop(self.get_mut().pipe.take());
        Poll::Ready(Ok(()))
    }
}
