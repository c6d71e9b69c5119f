//! Thread parking with a token: an `unpark` that arrives before `park` is not lost.
//!
//! Runtime loops sleep in the I/O reactor (`driver.rs`); this parker is for threads that only
//! wait for one future (`block_on` on a multi-thread runtime, a thread waiting for the
//! current-thread core). `Unpark` is the waking seam both share.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};

/// Something that can wake a parked runtime thread.
pub(crate) trait Unpark: Send + Sync + 'static {
    fn unpark(&self);
}

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

struct Inner {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

/// The parking side; owned by one thread at a time.
pub(crate) struct Parker {
    inner: Arc<Inner>,
}

/// The waking side; cloneable and usable from any thread.
#[derive(Clone)]
pub(crate) struct Unparker {
    inner: Arc<Inner>,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                mutex: Mutex::new(()),
                condvar: Condvar::new(),
            }),
        }
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Blocks until unparked (returns at once if a token is pending).
    pub(crate) fn park(&mut self) {
        self.inner.park();
    }
}

impl Inner {
    fn park(&self) {
        // Fast path: consume a pending token without touching the lock.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        let mut guard = self.mutex.lock().unwrap();
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(actual) => panic!("inconsistent park state: {actual}"),
        }
        loop {
            guard = self.condvar.wait(guard).unwrap();
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
            // Spurious wake-up: keep waiting.
        }
    }

    fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Taking the lock orders this notify after the parker's wait began.
                drop(self.mutex.lock().unwrap());
                self.condvar.notify_one();
            }
            actual => panic!("inconsistent park state: {actual}"),
        }
    }
}

impl Unparker {
    pub(crate) fn unpark(&self) {
        self.inner.unpark();
    }
}

impl Unpark for Unparker {
    fn unpark(&self) {
        self.inner.unpark();
    }
}

/// A waker that unparks `unparker`.
pub(crate) fn waker(unparker: Unparker) -> std::task::Waker {
    struct UnparkWaker(Unparker);
    impl std::task::Wake for UnparkWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    std::task::Waker::from(Arc::new(UnparkWaker(unparker)))
}

/// Polls `future` on this thread, parking between polls. Used where the tasks themselves run
/// elsewhere (multi-thread workers), so this thread only waits for its own future.
pub(crate) fn block_on_parked<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static PARKER: std::cell::RefCell<Option<(Parker, std::task::Waker)>> =
            const { std::cell::RefCell::new(None) };
    }
    let mut future = std::pin::pin!(future);
    // Reuse this thread's parker and waker across calls (`block_on` in a loop is common);
    // fall back to a fresh one when re-entered (a nested wait inside a poll).
    let cached = PARKER.with(|p| p.borrow_mut().take());
    let (mut parker, waker) = cached.unwrap_or_else(|| {
        let parker = Parker::new();
        let waker = waker(parker.unparker());
        (parker, waker)
    });
    let mut cx = std::task::Context::from_waker(&waker);
    let out = loop {
        let polled = crate::scheduler::coop::budget(|| future.as_mut().poll(&mut cx));
        if let std::task::Poll::Ready(out) = polled {
            break out;
        }
        parker.park();
    };
    PARKER.with(|p| *p.borrow_mut() = Some((parker, waker)));
    out
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn token_before_park_is_kept() {
        let mut parker = Parker::new();
        parker.unparker().unpark();
        parker.park(); // returns at once
    }

    #[test]
    fn unpark_from_other_thread_wakes() {
        let mut parker = Parker::new();
        let unparker = parker.unparker();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            unparker.unpark();
        });
        parker.park();
        t.join().unwrap();
    }
}
