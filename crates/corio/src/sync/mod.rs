//! Synchronisation between tasks.

pub mod broadcast;
pub mod oneshot;
