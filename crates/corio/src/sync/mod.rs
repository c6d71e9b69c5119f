//! Synchronisation between tasks.

pub mod broadcast;
pub mod oneshot;
pub mod queue;
pub use queue::{LifoQueue, PriorityQueue, Queue};
pub mod condition;
pub mod mutex;
pub mod rwlock;
pub mod semaphore;
pub use condition::Condition;
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, OwnedMutexGuard};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
    TryLockError,
};
