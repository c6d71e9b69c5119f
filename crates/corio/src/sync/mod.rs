//! Synchronisation between tasks.

pub mod oneshot;
