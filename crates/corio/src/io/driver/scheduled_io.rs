//! Per-source state shared by the driver thread and the tasks: readiness plus wakers.
//!
//! The driver records an event with one atomic read-modify-write of the readiness word, then
//! takes the waiter lock and removes the wakers that event concerns. A task looks at the
//! word; if it is not ready, it stores its waker *under the lock* and looks again before
//! returning `Pending`. Whichever of the two takes the lock second sees the other's write,
//! so a wake-up is never lost. Wakers are called (and old ones dropped) after the lock is
//! released, so a waker that re-enters the reactor cannot deadlock.
//!
//! The atomics and the lock come from `crate::loom`, so the loom models at the bottom
//! explore every interleaving of the protocol.

use std::sync::PoisonError;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};
use crate::loom::sync::{Mutex, MutexGuard};

use super::ready::{Direction, Observed, Ready, ReadyEvent, Word};

/// One slot per direction: at most one task waits to read and one to write.
#[derive(Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Waiters {
    fn slot(&mut self, direction: Direction) -> &mut Option<Waker> {
        match direction {
            Direction::Read => &mut self.reader,
            Direction::Write => &mut self.writer,
        }
    }
}

pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl ScheduledIo {
    pub(super) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(Word::INITIAL.into_raw()),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    pub(super) fn word(&self) -> Word {
        Word::from_raw(self.readiness.load(Acquire))
    }

    /// Applies `f` to the word atomically; `f` returning `None` leaves it untouched.
    fn update(&self, f: impl Fn(Word) -> Option<Word>) {
        let _ = self.readiness.fetch_update(AcqRel, Acquire, |raw| {
            f(Word::from_raw(raw)).map(Word::into_raw)
        });
    }

    fn lock(&self) -> MutexGuard<'_, Waiters> {
        // A panicking waker clone cannot leave two `Option<Waker>`s inconsistent.
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Driver side: records an event and wakes the tasks it concerns.
    pub(super) fn set_ready(&self, ready: Ready) {
        self.update(|word| Some(word.with_event(ready)));
        self.wake(ready);
    }

    /// Driver side: marks the source dead for good and wakes both directions.
    pub(super) fn shutdown(&self) {
        self.update(|word| Some(word.with_shutdown()));
        self.wake(Direction::Read.mask() | Direction::Write.mask());
    }

    fn wake(&self, ready: Ready) {
        let (reader, writer) = {
            let mut waiters = self.lock();
            let reader = if (ready & Direction::Read.mask()).is_empty() {
                None
            } else {
                waiters.reader.take()
            };
            let writer = if (ready & Direction::Write.mask()).is_empty() {
                None
            } else {
                waiters.writer.take()
            };
            (reader, writer)
        };
        for waker in [reader, writer].into_iter().flatten() {
            waker.wake();
        }
    }

    /// Task side: the readiness for `direction`, or `Pending` with the waker stored.
    /// `Ready(None)` means the driver has shut down.
    pub(super) fn poll_readiness(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<Option<ReadyEvent>> {
        match self.word().observe(direction) {
            Observed::Ready(event) => return Poll::Ready(Some(event)),
            Observed::Shutdown => return Poll::Ready(None),
            Observed::NotReady => {}
        }
        let replaced = {
            let mut waiters = self.lock();
            let slot = waiters.slot(direction);
            let replaced = match slot {
                Some(waker) if waker.will_wake(cx.waker()) => None,
                _ => slot.replace(cx.waker().clone()),
            };
            // Look again under the lock: an event recorded before the waker was stored
            // found no waker to wake, so it must be seen here.
            match self.word().observe(direction) {
                Observed::Ready(event) => return Poll::Ready(Some(event)),
                Observed::Shutdown => return Poll::Ready(None),
                Observed::NotReady => {}
            }
            replaced
        };
        drop(replaced);
        Poll::Pending
    }

    /// Task side: forget what `event` observed, unless a newer event arrived since.
    pub(super) fn clear_readiness(&self, event: ReadyEvent) {
        self.update(|word| word.cleared(event));
    }

    /// Drops any stored wakers (the source was deregistered; nobody can be waiting).
    pub(super) fn clear_wakers(&self) {
        let waiters = std::mem::take(&mut *self.lock());
        drop(waiters);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! The waker protocol without epoll: these run under Miri.

    use super::*;
    use crate::test_util::CountingWaker;
    use std::sync::Arc;

    #[test]
    fn pending_then_woken_then_ready() {
        let io = ScheduledIo::new();
        let (counter, waker) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        assert!(io.poll_readiness(&mut cx, Direction::Read).is_pending());

        io.set_ready(Ready::WRITABLE);
        assert_eq!(counter.wakes(), 0, "a write event does not wake a reader");
        io.set_ready(Ready::READABLE);
        assert_eq!(counter.wakes(), 1);
        match io.poll_readiness(&mut cx, Direction::Read) {
            Poll::Ready(Some(event)) => assert_eq!(event.ready(), Ready::READABLE),
            other => panic!("expected ready, got {other:?}"),
        }
    }

    #[test]
    fn each_direction_has_its_own_waker() {
        let io = ScheduledIo::new();
        let (reader, reader_waker) = CountingWaker::new();
        let (writer, writer_waker) = CountingWaker::new();
        let mut read_cx = Context::from_waker(&reader_waker);
        let mut write_cx = Context::from_waker(&writer_waker);
        assert!(
            io.poll_readiness(&mut read_cx, Direction::Read)
                .is_pending()
        );
        assert!(
            io.poll_readiness(&mut write_cx, Direction::Write)
                .is_pending()
        );

        io.set_ready(Ready::WRITABLE);
        assert_eq!((reader.wakes(), writer.wakes()), (0, 1));
        io.set_ready(Ready::READABLE);
        assert_eq!((reader.wakes(), writer.wakes()), (1, 1));
    }

    #[test]
    fn error_wakes_both_directions() {
        let io = ScheduledIo::new();
        let (reader, reader_waker) = CountingWaker::new();
        let (writer, writer_waker) = CountingWaker::new();
        assert!(
            io.poll_readiness(&mut Context::from_waker(&reader_waker), Direction::Read)
                .is_pending()
        );
        assert!(
            io.poll_readiness(&mut Context::from_waker(&writer_waker), Direction::Write)
                .is_pending()
        );
        io.set_ready(Ready::ERROR);
        assert_eq!((reader.wakes(), writer.wakes()), (1, 1));
    }

    #[test]
    fn newest_waker_wins_and_is_woken_once() {
        let io = ScheduledIo::new();
        let (first, first_waker) = CountingWaker::new();
        let (second, second_waker) = CountingWaker::new();
        assert!(
            io.poll_readiness(&mut Context::from_waker(&first_waker), Direction::Read)
                .is_pending()
        );
        assert!(
            io.poll_readiness(&mut Context::from_waker(&second_waker), Direction::Read)
                .is_pending()
        );
        io.set_ready(Ready::READABLE);
        io.set_ready(Ready::READABLE);
        assert_eq!((first.wakes(), second.wakes()), (0, 1));
    }

    #[test]
    fn clear_then_next_event() {
        let io = ScheduledIo::new();
        let (counter, waker) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        io.set_ready(Ready::READABLE);
        let Poll::Ready(Some(event)) = io.poll_readiness(&mut cx, Direction::Read) else {
            panic!("expected ready");
        };
        io.clear_readiness(event);
        assert!(io.poll_readiness(&mut cx, Direction::Read).is_pending());
        io.set_ready(Ready::READABLE);
        assert_eq!(counter.wakes(), 1);
        assert!(io.poll_readiness(&mut cx, Direction::Read).is_ready());
    }

    #[test]
    fn stale_clear_keeps_the_newer_event() {
        let io = ScheduledIo::new();
        let mut cx = Context::from_waker(Waker::noop());
        io.set_ready(Ready::READABLE);
        let Poll::Ready(Some(seen)) = io.poll_readiness(&mut cx, Direction::Read) else {
            panic!("expected ready");
        };
        io.set_ready(Ready::READABLE); // data arrived between the op and the clear
        io.clear_readiness(seen);
        assert!(io.poll_readiness(&mut cx, Direction::Read).is_ready());
    }

    #[test]
    fn shutdown_wakes_everyone_and_stays() {
        let io = ScheduledIo::new();
        let (reader, reader_waker) = CountingWaker::new();
        let (writer, writer_waker) = CountingWaker::new();
        let mut read_cx = Context::from_waker(&reader_waker);
        let mut write_cx = Context::from_waker(&writer_waker);
        assert!(
            io.poll_readiness(&mut read_cx, Direction::Read)
                .is_pending()
        );
        assert!(
            io.poll_readiness(&mut write_cx, Direction::Write)
                .is_pending()
        );
        io.shutdown();
        assert_eq!((reader.wakes(), writer.wakes()), (1, 1));
        io.set_ready(Ready::READABLE);
        assert_eq!(
            io.poll_readiness(&mut read_cx, Direction::Read),
            Poll::Ready(None)
        );
        assert_eq!(
            io.poll_readiness(&mut write_cx, Direction::Write),
            Poll::Ready(None)
        );
    }

    #[test]
    fn clear_wakers_releases_them() {
        let io = ScheduledIo::new();
        let (counter, waker) = CountingWaker::new();
        assert!(
            io.poll_readiness(&mut Context::from_waker(&waker), Direction::Read)
                .is_pending()
        );
        drop(waker);
        assert_eq!(Arc::strong_count(&counter), 2, "the slot holds a clone");
        io.clear_wakers();
        assert_eq!(Arc::strong_count(&counter), 1);
        io.set_ready(Ready::READABLE);
        assert_eq!(counter.wakes(), 0);
    }

    #[test]
    fn no_lost_wakeup_across_threads() {
        // A task polls while another thread records the event: however they interleave,
        // either the poll sees the readiness or the waker is woken.
        let rounds = if cfg!(miri) { 20 } else { 2_000 };
        for _ in 0..rounds {
            let io = Arc::new(ScheduledIo::new());
            let (counter, waker) = CountingWaker::new();
            let driver = {
                let io = io.clone();
                std::thread::spawn(move || io.set_ready(Ready::READABLE))
            };
            let polled = io.poll_readiness(&mut Context::from_waker(&waker), Direction::Read);
            driver.join().unwrap();
            assert!(
                polled.is_ready() || counter.wakes() == 1,
                "readiness missed and no wake-up"
            );
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model-checked races between the driver and a task
    //! (`RUSTFLAGS="--cfg loom" cargo test -p corio --release --lib io::driver::scheduled_io::loom`).
    //!
    //! `block_on` parks the loom thread on `Pending` and resumes only on a wake-up, so a lost
    //! wake-up shows up as a deadlock that loom reports.
    //!
    //! The driver threads are not joined: a waker may unpark a thread that already returned
    //! (a harmless spurious wake-up), and loom 0.7 then trips over that leftover token
    //! inside `JoinHandle::join`. `loom::model` still runs every thread to completion.

    use super::*;
    use crate::loom::sync::Arc;
    use loom::thread;
    use std::task::Wake;

    struct Unpark(thread::Thread);

    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }

    fn block_on<T>(mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>) -> T {
        let waker = Waker::from(std::sync::Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(out) = poll(&mut cx) {
                return out;
            }
            thread::park();
        }
    }

    #[test]
    fn poll_races_event() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            let io2 = io.clone();
            thread::spawn(move || io2.set_ready(Ready::READABLE));
            let event = block_on(|cx| io.poll_readiness(cx, Direction::Read));
            assert_eq!(event.map(ReadyEvent::ready), Some(Ready::READABLE));
        });
    }

    #[test]
    fn clear_races_new_edge() {
        // The task cleared after WouldBlock while the driver recorded a new edge: whichever
        // order they land in, the task must end up ready (not asleep with data pending).
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            io.set_ready(Ready::READABLE);
            let seen = block_on(|cx| io.poll_readiness(cx, Direction::Read)).unwrap();
            let io2 = io.clone();
            thread::spawn(move || io2.set_ready(Ready::READABLE));
            io.clear_readiness(seen);
            let event = block_on(|cx| io.poll_readiness(cx, Direction::Read));
            assert!(event.is_some());
        });
    }

    #[test]
    fn shutdown_races_poll() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            let io2 = io.clone();
            thread::spawn(move || io2.shutdown());
            assert_eq!(block_on(|cx| io.poll_readiness(cx, Direction::Write)), None);
        });
    }

    #[test]
    fn reader_and_writer_race_one_event() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            let reader = {
                let io = io.clone();
                thread::spawn(move || block_on(|cx| io.poll_readiness(cx, Direction::Read)))
            };
            io.set_ready(Ready::READABLE | Ready::WRITABLE);
            let written = block_on(|cx| io.poll_readiness(cx, Direction::Write));
            assert!(written.is_some());
            assert!(reader.join().unwrap().is_some());
        });
    }
}
