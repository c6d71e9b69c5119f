//! Helpers shared by the time tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::TimeDriver;
use crate::runtime::park::Unpark;

/// Counts unpark calls.
#[derive(Default)]
pub(super) struct CountingUnpark(AtomicUsize);

impl CountingUnpark {
    pub(super) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Unpark for CountingUnpark {
    fn unpark(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A driver whose unparks are counted.
pub(super) fn driver() -> (Arc<TimeDriver>, Arc<CountingUnpark>) {
    let unpark = Arc::new(CountingUnpark::default());
    (Arc::new(TimeDriver::new(unpark.clone())), unpark)
}
