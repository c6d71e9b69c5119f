//! Synchronisation between tasks.

pub mod broadcast;
mod cancellation;
pub use cancellation::{
    CancellationToken, DropGuard, DropGuardRef, WaitForCancellationFuture,
    WaitForCancellationFutureOwned,
};
pub mod barrier;
pub mod event;
pub mod mpsc;
pub mod notify;
pub mod once_cell;
pub mod oneshot;
pub mod watch;
pub use barrier::{Barrier, BarrierWaitResult};
pub use event::Event;
pub use notify::{Notified, Notify, OwnedNotified};
pub use once_cell::{OnceCell, SetError};
pub mod queue;
pub use queue::{LifoQueue, PriorityQueue, Queue};
pub mod condition;
pub mod mutex;
pub mod rwlock;
pub mod semaphore;
pub use condition::Condition;
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError, TryLockError,
};
mod atomic_waker;
mod cache_padded;
mod wake_batch;
