//! Telling connections that the server is shutting down.
//!
//! Each connection task has a [`ConnSignal`]: a state (running, draining, forced) and the
//! task's waker. The server keeps every live signal in a [`Registry`]; shutting down sets
//! them all and wakes the tasks.
//!
//! - **Draining** (graceful shutdown): a connection waiting for its next request closes at
//!   once; one in the middle of a request finishes it, answers with `Connection: close`,
//!   then closes.
//! - **Forced** (the graceful deadline passed): the connection task stops at its next poll,
//!   dropping whatever it was doing, and the socket closes.
//!
//! The connection registers its waker at the top of every poll of its task, so any wait
//! inside it is cut short by a signal without a future of its own per wait: the hot path
//! pays one uncontended atomic waker registration per poll.

use std::future::{Future, poll_fn};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;

use futures_util::task::AtomicWaker;

const RUNNING: u8 = 0;
const DRAINING: u8 = 1;
const FORCED: u8 = 2;

/// One connection's view of the server's shutdown. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct ConnSignal {
    state: AtomicU8,
    waker: AtomicWaker,
}

impl ConnSignal {
    fn new(state: u8) -> ConnSignal {
        ConnSignal {
            state: AtomicU8::new(state),
            waker: AtomicWaker::new(),
        }
    }

    /// Whether the server is shutting down (gracefully or not).
    pub(crate) fn is_draining(&self) -> bool {
        self.state.load(Ordering::Acquire) != RUNNING
    }

    fn raise(&self, state: u8) {
        self.state.fetch_max(state, Ordering::AcqRel);
        self.waker.wake();
    }

    /// Runs `conn` until it finishes or the shutdown is forced.
    pub(crate) async fn guard<F: Future<Output = ()>>(&self, conn: F) {
        let mut conn = std::pin::pin!(conn);
        poll_fn(|cx| {
            self.waker.register(cx.waker());
            if self.state.load(Ordering::Acquire) == FORCED {
                return Poll::Ready(());
            }
            conn.as_mut().poll(cx)
        })
        .await;
    }
}

/// Every live connection's signal. See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Registry {
    inner: Mutex<Slots>,
}

#[derive(Debug, Default)]
struct Slots {
    signals: Vec<Option<Arc<ConnSignal>>>,
    free: Vec<usize>,
    /// The state new connections start in: the server may shut down while one is being
    /// set up.
    state: u8,
}

/// A connection's place in the [`Registry`], given up when dropped.
#[derive(Debug)]
pub(crate) struct Registration {
    registry: Arc<Registry>,
    index: usize,
}

impl Registry {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        // Nothing panics while holding the lock; a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a connection: its signal, and the registration that removes it.
    pub(crate) fn register(self: &Arc<Self>) -> (Arc<ConnSignal>, Registration) {
        let mut slots = self.slots();
        let signal = Arc::new(ConnSignal::new(slots.state));
        let index = match slots.free.pop() {
            Some(index) => {
                slots.signals[index] = Some(signal.clone());
                index
            }
            None => {
                slots.signals.push(Some(signal.clone()));
                slots.signals.len() - 1
            }
        };
        let registration = Registration {
            registry: self.clone(),
            index,
        };
        (signal, registration)
    }

    /// Tells every connection to finish its request in flight and close.
    pub(crate) fn drain_all(&self) {
        self.raise_all(DRAINING);
    }

    /// Tells every connection to stop now.
    pub(crate) fn force_all(&self) {
        self.raise_all(FORCED);
    }

    /// How many connections are registered.
    pub(crate) fn len(&self) -> usize {
        let slots = self.slots();
        slots.signals.len() - slots.free.len()
    }

    fn raise_all(&self, state: u8) {
        let signals: Vec<Arc<ConnSignal>> = {
            let mut slots = self.slots();
            slots.state = slots.state.max(state);
            slots.signals.iter().flatten().cloned().collect()
        };
        // Wake outside the lock: a woken task may run (and deregister) on another thread.
        for signal in signals {
            signal.raise(state);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut slots = self.registry.slots();
        if let Some(slot) = slots.signals.get_mut(self.index) {
            *slot = None;
            slots.free.push(self.index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_reach_registered_connections_only() {
        let registry = Arc::new(Registry::default());
        let (a, reg_a) = registry.register();
        let (b, reg_b) = registry.register();
        assert_eq!(registry.len(), 2);
        drop(reg_a);
        assert_eq!(registry.len(), 1);
        registry.drain_all();
        assert!(!a.is_draining(), "a deregistered connection is not told");
        assert!(b.is_draining());
        // A connection set up during shutdown starts draining.
        let (c, _reg_c) = registry.register();
        assert!(c.is_draining());
        drop(reg_b);
        assert_eq!(registry.len(), 1);
    }

    #[test]
    fn forcing_stops_the_guarded_future() {
        let registry = Arc::new(Registry::default());
        let (signal, _reg) = registry.register();
        let mut guarded = Box::pin(signal.guard(std::future::pending::<()>()));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(guarded.as_mut().poll(&mut cx).is_pending());
        registry.drain_all();
        assert!(
            guarded.as_mut().poll(&mut cx).is_pending(),
            "draining is cooperative"
        );
        registry.force_all();
        assert!(guarded.as_mut().poll(&mut cx).is_ready());
    }
}
