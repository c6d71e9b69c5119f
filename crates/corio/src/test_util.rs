//! Helpers shared by the crate's unit tests that drive futures by hand, without a runtime:
//! a counting waker, a thread-parking `block_on`, drop-counted values, budget spending.
//!
//! Plain `std` types only: the loom models keep their own helpers, built on loom's threads
//! and atomics. The module is compiled under `--cfg loom` as well, because some test modules
//! that are not loom models (the time tests) are too. Everything here also runs under Miri.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};

use crate::scheduler::coop;

/// A waker that counts its wake-ups: `wake` and `wake_by_ref` count one each.
///
/// [`CountingWaker::new`] hands out the counter as an `Arc`, so a test can also check with
/// `Arc::strong_count` whether the code under test still holds (a clone of) the waker.
pub(crate) struct CountingWaker(AtomicUsize);

impl CountingWaker {
    /// A fresh counter and a waker that counts into it.
    pub(crate) fn new() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        (counter, waker)
    }

    /// How many wake-ups the waker (or any clone of it) has had.
    pub(crate) fn wakes(&self) -> usize {
        self.0.load(SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Polls `fut` on this plain thread, parking it between polls until a wake-up unparks it.
///
/// Unlike the runtime's `block_on`, no cooperative budget applies: each poll runs as the
/// test wrote it. A lost wake-up hangs the test.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);

    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            return out;
        }
        std::thread::park();
    }
}

/// Counts the drops of the [`Tracked`] values it hands out; clones share the count.
#[derive(Clone, Debug, Default)]
pub(crate) struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    /// A counter at zero.
    pub(crate) fn new() -> DropCounter {
        DropCounter::default()
    }

    /// A value that counts one drop here when it is dropped.
    pub(crate) fn tracked(&self) -> Tracked {
        Tracked(self.0.clone())
    }

    /// How many of the values handed out have been dropped.
    pub(crate) fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}

/// A value that counts its drop in the [`DropCounter`] that made it.
#[derive(Debug)]
pub(crate) struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Spends all but the last unit of this thread's cooperative budget, polling with `cx`. Call
/// it inside `coop::budget`: the next budgeted poll then spends the last unit.
pub(crate) fn spend_budget_but_one(cx: &mut Context<'_>) {
    for _ in 1..coop::INITIAL {
        match coop::poll_proceed(cx) {
            Poll::Ready(unit) => unit.made_progress(),
            Poll::Pending => panic!("budget left"),
        }
    }
}
