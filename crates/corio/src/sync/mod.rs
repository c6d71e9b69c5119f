//! Synchronisation between tasks.

pub mod broadcast;
pub mod oneshot;
pub mod queue;
pub use queue::{LifoQueue, PriorityQueue, Queue};
