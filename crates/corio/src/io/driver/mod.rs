//! The I/O reactor: edge-triggered epoll, one registration per source.
//!
//! A source (socket, pipe, eventfd; already non-blocking) is registered once, for reading,
//! writing or both, and stays registered until its [`Registration`] is deregistered or
//! dropped. The thread that parks owns the [`IoDriver`] and calls [`IoDriver::turn`]: one
//! `epoll_wait`, then the readiness of every reported source is recorded and its waiting
//! tasks are woken. Any thread holding an [`IoHandle`] can register sources and unpark the
//! driver.
//!
//! The io_uring completion driver lives in `uring/`, beside this reactor: a runtime built for
//! it keeps this reactor too (for sources not ported to the ring, and for unparking).
//!
//! Files, one job each: `epoll` (the syscalls and the wake-up eventfd), `ready` (readiness
//! bits and the packed word; pure), `slab` (slots and tokens; pure), `scheduled_io`
//! (per-source word plus waker slots), `registration` (what a source owner calls), and this
//! file (the driver and its handle).
//!
//! # Readiness word
//!
//! Each source has one `AtomicUsize`:
//!
//! ```text
//! bit  0      READABLE
//! bit  1      WRITABLE
//! bit  2      READ_CLOSED    peer shut down writing / hang-up  (sticky)
//! bit  3      WRITE_CLOSED   hang-up                           (sticky)
//! bit  4      ERROR          EPOLLERR: the next operation reports the error
//! bit  5      SHUTDOWN       the driver shut down: polls return Err (terminal)
//! bits 6..16  zero
//! bits 16..   tick: +1 (wrapping) for every event the driver records
//! ```
//!
//! The driver only adds bits, and bumps the tick each time. A task clears bits only after
//! an operation returned `WouldBlock`, and only the bits it observed, and only if the tick
//! is still the one it observed (a compare-and-swap on the whole word). So if data arrives
//! between the failed read and the clear, the driver's new event has moved the tick and the
//! clear does nothing: the new edge is not lost, which matters because edge-triggered epoll
//! would never report that data again. Closed bits are never cleared: a closed direction
//! stays ready, and the operation keeps returning EOF or an error instead of hanging.
//!
//! # Tokens
//!
//! Sources live in a slab of `Arc<ScheduledIo>`. The epoll token of a source is
//! `generation << 32 | slot index`; freeing a slot bumps its generation. An event can name
//! a source that is already gone (it was in the batch `epoll_wait` returned while another
//! thread deregistered, or the fd was `dup`ed so epoll still watches it after the close);
//! its token then fails the generation check and the event is dropped instead of waking
//! whichever source reuses the slot. The eventfd uses `u64::MAX`, which no slot produces.
//!
//! # Wake protocol
//!
//! Each source has a `Mutex` with one reader and one writer waker slot.
//! - Driver: atomically OR the event into the word (tick + 1); then, under the lock, take
//!   the wakers of the directions the event concerns; release the lock; wake them.
//! - Task: read the word; if ready, done. Otherwise, under the lock, store the waker and
//!   read the word *again*; return `Pending` only if it is still not ready.
//!
//! If the driver takes the lock after the task, it finds the waker; if before, its word
//! update happened before the task's second read. Either way the task is not left asleep
//! on a ready source. The lock is never held while a waker runs.
//!
//! Shutdown sets `SHUTDOWN` on every source and wakes both directions; polls then return an
//! error, and new registrations are refused. Dropping the driver shuts it down too.

mod epoll;
mod ready;
mod registration;
mod scheduled_io;
mod slab;
#[cfg(all(test, not(loom)))]
mod tests;

pub(crate) mod uring;

use std::io;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub(crate) use epoll::Interest;
use epoll::{Events, Poller};
#[allow(unused_imports)] // the API of `Registration`; its users (net/) are wired in next
pub(crate) use ready::{Direction, Ready, ReadyEvent};
pub(crate) use registration::Registration;
use scheduled_io::ScheduledIo;
use slab::Slab;

/// Events handled per `epoll_wait`; more stay queued in the kernel for the next turn.
const EVENTS_CAPACITY: usize = 1024;

/// The reactor, owned by the thread that parks.
pub(crate) struct IoDriver {
    shared: Arc<Shared>,
    events: Events,
    /// Sources reported by the current turn, woken once the slab lock is released.
    woken: Vec<(Arc<ScheduledIo>, Ready)>,
    /// Events dropped because their token was stale (tests check the generation scheme).
    #[cfg(test)]
    stale_events: usize,
}

/// The shareable side of the reactor: register sources and unpark, from any thread.
#[derive(Clone)]
pub(crate) struct IoHandle {
    shared: Arc<Shared>,
}

struct Shared {
    poller: Poller,
    sources: Mutex<Sources>,
}

struct Sources {
    slab: Slab<Arc<ScheduledIo>>,
    is_shutdown: bool,
}

impl Shared {
    fn sources(&self) -> MutexGuard<'_, Sources> {
        // The slab is only changed by code that cannot panic halfway.
        self.sources.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl IoDriver {
    pub(crate) fn new() -> io::Result<(IoDriver, IoHandle)> {
        let shared = Arc::new(Shared {
            poller: Poller::new()?,
            sources: Mutex::new(Sources {
                slab: Slab::new(),
                is_shutdown: false,
            }),
        });
        let driver = IoDriver {
            shared: shared.clone(),
            events: Events::with_capacity(EVENTS_CAPACITY),
            woken: Vec::new(),
            #[cfg(test)]
            stale_events: 0,
        };
        Ok((driver, IoHandle { shared }))
    }

    /// The epoll fd, which the io_uring driver keeps a poll on. Valid as long as `self`.
    pub(crate) fn epoll_fd(&self) -> RawFd {
        self.shared.poller.epoll_fd()
    }

    /// `epoll_wait` with `timeout` (`None` = block until an event or an unpark), then set
    /// readiness and wake the waiters of every ready source.
    ///
    /// Returns after an event, an unpark, the timeout (never before it), or a signal; the
    /// caller cannot tell which and should not need to.
    #[cfg(test)] // the runtime calls the halves itself
    pub(crate) fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.wait(timeout)?;
        self.dispatch();
        Ok(())
    }

    /// The first half of [`turn`](Self::turn): waits for events and keeps them, waking no
    /// one yet. The runtime marks itself awake between the halves, so the wake-ups of
    /// `dispatch` need no eventfd write.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.shared.poller.wait(&mut self.events, timeout)
    }

    /// The second half of [`turn`](Self::turn): records the events of the last wait and
    /// wakes their tasks.
    pub(crate) fn dispatch(&mut self) {
        {
            let sources = self.shared.sources();
            for event in self.events.iter() {
                let ready = Ready::from_event(event);
                match sources.slab.get(event.token()) {
                    Some(io) if !ready.is_empty() => self.woken.push((io.clone(), ready)),
                    Some(_) => {}
                    // A deregistered source, or a reused slot: the generation moved on.
                    None => {
                        #[cfg(test)]
                        {
                            self.stale_events += 1;
                        }
                    }
                }
            }
        }
        for (io, ready) in self.woken.drain(..) {
            io.set_ready(ready);
        }
    }

    /// Wakes every waiter with an error state (runtime shutdown) and refuses new
    /// registrations. Idempotent. Registrations stay valid objects: their polls return an
    /// error, and dropping them still deregisters.
    pub(crate) fn shutdown(&mut self) {
        let sources: Vec<Arc<ScheduledIo>> = {
            let mut sources = self.shared.sources();
            sources.is_shutdown = true;
            sources.slab.iter().cloned().collect()
        };
        for io in sources {
            io.shutdown();
        }
    }
}

impl Drop for IoDriver {
    fn drop(&mut self) {
        // Nobody will turn the reactor again: waiting tasks must learn it now.
        self.shutdown();
    }
}

impl IoHandle {
    /// Makes a blocked `turn()` return, or the next one return at once. Unparks are not
    /// counted: several before a turn are consumed by that one turn.
    pub(crate) fn unpark(&self) {
        let result = self.shared.poller.wake();
        // Only EBADF/EINVAL could fail it, and the eventfd lives as long as `shared`.
        debug_assert!(result.is_ok(), "corio: eventfd write failed: {result:?}");
    }

    /// Registers `fd` (which must be non-blocking) edge-triggered for `interest`.
    ///
    /// Fails if the driver has shut down or `epoll_ctl` refuses the fd (for example a
    /// regular file: `EPERM`, or an fd already registered with this driver: `EEXIST`).
    pub(crate) fn register(&self, fd: RawFd, interest: Interest) -> io::Result<Registration> {
        let io = Arc::new(ScheduledIo::new());
        let token = {
            let mut sources = self.shared.sources();
            if sources.is_shutdown {
                return Err(shutdown_error());
            }
            sources.slab.insert(io.clone()).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    "corio: too many I/O registrations",
                )
            })?
        };
        if let Err(err) = self.shared.poller.add(fd, token, interest) {
            self.shared.sources().slab.remove(token);
            return Err(err);
        }
        Ok(Registration::new(self.clone(), io, fd, token, interest))
    }

    /// `EPOLL_CTL_DEL`, then frees the slot (whatever the syscall said).
    fn deregister(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let result = self.shared.poller.delete(fd);
        self.release(token);
        result
    }

    /// Frees the slot only; for an fd about to be closed, which takes it out of the epoll
    /// set by itself. Should the file outlive the fd (a `dup` elsewhere), its later events
    /// carry this token, whose generation no longer matches: they are ignored.
    fn release(&self, token: u64) {
        let io = self.shared.sources().slab.remove(token);
        drop(io);
    }
}

impl std::fmt::Debug for IoHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sources = self.shared.sources();
        f.debug_struct("IoHandle")
            .field("registrations", &sources.slab.len())
            .field("is_shutdown", &sources.is_shutdown)
            .finish()
    }
}

impl std::fmt::Debug for IoDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoDriver")
            .field(
                "handle",
                &IoHandle {
                    shared: self.shared.clone(),
                },
            )
            .field("events_capacity", &self.events.capacity())
            .finish()
    }
}

fn shutdown_error() -> io::Error {
    io::Error::other("corio: the I/O driver has shut down")
}
