//! Errors of the time module.

use std::fmt;
use std::io;

/// The error of a [`Timeout`](super::Timeout) whose deadline passed before its future
/// completed. By then the future has been abandoned: it is dropped with the `Timeout`.
///
/// Converts into [`std::io::Error`] of kind [`TimedOut`](io::ErrorKind::TimedOut), so `?`
/// works in functions returning `io::Result`.
///
/// # Examples
///
/// ```
/// use corio::time::{error::Elapsed, timeout, Duration};
///
/// corio::run(async {
///     let result = timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
///     let err: Elapsed = result.unwrap_err();
///     assert_eq!(err.to_string(), "deadline has elapsed");
///     let io_err = std::io::Error::from(err);
///     assert_eq!(io_err.kind(), std::io::ErrorKind::TimedOut);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    pub(crate) fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(err: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_io_conversion() {
        let err = Elapsed::new();
        assert_eq!(err.to_string(), "deadline has elapsed");
        let io_err = io::Error::from(err);
        assert_eq!(io_err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(io_err.to_string(), "deadline has elapsed");
        assert!(io_err.get_ref().unwrap().is::<Elapsed>());
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
        assert!(boxed.source().is_none());
    }
}
