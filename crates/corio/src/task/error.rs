//! Why a task produced no value.

use std::any::Any;
use std::fmt;

/// The reason a [`JoinHandle`](super::JoinHandle) resolved without the task's output.
///
/// ```
/// use corio::task::JoinError;
///
/// corio::run(async {
///     let task = corio::spawn(async { panic!("boom") });
///     match task.await {
///         Err(JoinError::Panic(payload)) => {
///             assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
///         }
///         other => panic!("unexpected: {other:?}"),
///     }
/// });
/// ```
pub enum JoinError {
    /// The task was aborted, or the runtime shut down, before it finished.
    Cancelled,
    /// The task panicked; this is the panic payload.
    Panic(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// True if the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panic(_))
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self {
            JoinError::Panic(payload) => Ok(payload),
            other => Err(other),
        }
    }

    /// The panic payload. Panics if the task was cancelled instead.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancelled task")
    }

    /// Resumes unwinding with the task's panic, so it propagates to the joiner.
    pub fn resume_panic(self) -> ! {
        match self {
            JoinError::Panic(payload) => std::panic::resume_unwind(payload),
            JoinError::Cancelled => panic!("the task was cancelled"),
        }
    }
}

/// The panic message, if the payload is a string.
fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panic(payload) => match panic_message(payload.as_ref()) {
                Some(msg) => write!(f, "task panicked with message {msg:?}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("JoinError::Cancelled"),
            JoinError::Panic(payload) => match panic_message(payload.as_ref()) {
                Some(msg) => write!(f, "JoinError::Panic({msg:?})"),
                None => f.write_str("JoinError::Panic(..)"),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err.to_string())
    }
}
