//! TEMPORARY stub until the timer wheel lands.
use crate::runtime::park::Unpark;
use std::sync::Arc;
use std::time::Instant;

pub(crate) struct TimeDriver {
    _unpark: Arc<dyn Unpark>,
}
impl TimeDriver {
    pub(crate) fn new(unpark: Arc<dyn Unpark>) -> TimeDriver {
        TimeDriver { _unpark: unpark }
    }
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        None
    }
    pub(crate) fn process(&self) {}
    pub(crate) fn shutdown(&self) {}
}
