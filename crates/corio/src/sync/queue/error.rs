//! What the queue operations return when they cannot do what was asked: asyncio's
//! `QueueFull`, `QueueEmpty`, `QueueShutDown`, and the `ValueError` of a `task_done` too many.

use std::fmt;

/// The queue was shut down: asyncio's `QueueShutDown`.
///
/// Returned by `put` (carrying the item back, as `QueueShutDown<T>`) once the queue is shut
/// down, and by `get` (as `QueueShutDown`, that is `QueueShutDown<()>`) once it is shut
/// down *and* empty, or at once after an immediate shutdown.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> QueueShutDown<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("QueueShutDown").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue shut down")
    }
}

impl<T> std::error::Error for QueueShutDown<T> {}

/// Why `put_nowait` did not put the item; either way the item comes back.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PutNowaitError<T> {
    /// The queue holds `maxsize` items (asyncio's `QueueFull`). Slots already promised to
    /// `put`s that were waiting count as taken.
    Full(T),
    /// The queue was shut down (asyncio's `QueueShutDown`).
    ShutDown(T),
}

impl<T> PutNowaitError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutNowaitError::Full(item) | PutNowaitError::ShutDown(item) => item,
        }
    }

    /// True if the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, PutNowaitError::Full(_))
    }

    /// True if the queue was shut down.
    pub fn is_shut_down(&self) -> bool {
        matches!(self, PutNowaitError::ShutDown(_))
    }
}

impl<T> fmt::Debug for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(_) => f.debug_tuple("Full").finish_non_exhaustive(),
            PutNowaitError::ShutDown(_) => f.debug_tuple("ShutDown").finish_non_exhaustive(),
        }
    }
}

impl<T> fmt::Display for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(_) => f.write_str("queue full"),
            PutNowaitError::ShutDown(_) => f.write_str("queue shut down"),
        }
    }
}

impl<T> std::error::Error for PutNowaitError<T> {}

impl<T> From<QueueShutDown<T>> for PutNowaitError<T> {
    fn from(err: QueueShutDown<T>) -> PutNowaitError<T> {
        PutNowaitError::ShutDown(err.0)
    }
}

/// Why `get_nowait` returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetNowaitError {
    /// No item is there for the taking (asyncio's `QueueEmpty`). Items already promised to
    /// `get`s that were waiting are not: those getters come first.
    Empty,
    /// The queue was shut down and is empty (asyncio's `QueueShutDown`): no item will come.
    ShutDown,
}

impl fmt::Display for GetNowaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetNowaitError::Empty => f.write_str("queue empty"),
            GetNowaitError::ShutDown => f.write_str("queue shut down"),
        }
    }
}

impl std::error::Error for GetNowaitError {}

impl From<QueueShutDown> for GetNowaitError {
    fn from(_: QueueShutDown) -> GetNowaitError {
        GetNowaitError::ShutDown
    }
}

/// `task_done` was called more times than items were put (asyncio raises `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than items were put")
    }
}

impl std::error::Error for TaskDoneError {}
