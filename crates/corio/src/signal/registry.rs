//! The process-wide half of signal handling.
//!
//! A signal handler may only do async-signal-safe things, so ours does two: it marks its
//! signal pending and writes a byte to a self-pipe. A dispatcher thread, started the first
//! time anyone listens for a signal, sleeps in `read` on the other end of the pipe (no CPU
//! while nothing arrives), then bumps the generation of every pending signal and wakes its
//! listeners. Because wakers are runtime-agnostic, a listener works on any runtime — or
//! none — and keeps working when the runtime that created it shuts down.
//!
//! A listener remembers the generation it last saw; any number of deliveries between two
//! `recv`s coalesce into one, as the kernel itself coalesces standard signals.

use std::io::{self, Read as _};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use super::SignalKind;

/// Signal numbers run from 1 to `SIGRTMAX` (64 on Linux).
const SLOTS: usize = 65;

struct Slot {
    /// Whether our handler is installed; set once, and an error is remembered (it would
    /// only recur).
    installed: OnceLock<Result<(), String>>,
    /// Set by the handler, cleared by the dispatcher.
    pending: AtomicBool,
    /// Deliveries the dispatcher has seen; listeners compare it with their last look.
    generation: AtomicU64,
    waiters: Mutex<Vec<(u64, Waker)>>,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            installed: OnceLock::new(),
            pending: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            waiters: Mutex::new(Vec::new()),
        }
    }

    fn waiters(&self) -> MutexGuard<'_, Vec<(u64, Waker)>> {
        // Waker calls cannot leave the list half-updated; a poisoned lock is still usable.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake_all(&self) {
        for (_, waker) in self.waiters().iter() {
            waker.wake_by_ref();
        }
    }
}

struct Registry {
    slots: [Slot; SLOTS],
    /// The pipe end the handlers write to (non-blocking: a full pipe already guarantees a
    /// dispatcher wake-up). Lives as long as the process.
    pipe_write: UnixStream,
    next_listener_id: AtomicU64,
}

static REGISTRY: OnceLock<Registry> = OnceLock::new();
/// Serialises creating the registry, so a failure (say EMFILE) can be retried later.
static REGISTRY_INIT: Mutex<()> = Mutex::new(());

fn registry() -> io::Result<&'static Registry> {
    if let Some(registry) = REGISTRY.get() {
        return Ok(registry);
    }
    let _init = REGISTRY_INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(registry) = REGISTRY.get() {
        return Ok(registry);
    }
    let (pipe_read, pipe_write) = UnixStream::pair()?;
    pipe_write.set_nonblocking(true)?;
    let registry = REGISTRY.get_or_init(|| Registry {
        slots: [const { Slot::new() }; SLOTS],
        pipe_write,
        next_listener_id: AtomicU64::new(0),
    });
    std::thread::Builder::new()
        .name("corio-signal".into())
        .spawn(move || dispatch(registry, pipe_read))?;
    Ok(registry)
}

/// The dispatcher thread: one wake-up per batch of deliveries.
fn dispatch(registry: &'static Registry, pipe_read: UnixStream) {
    let mut buf = [0u8; 128];
    loop {
        match (&pipe_read).read(&mut buf) {
            Ok(0) => return, // unreachable: the write end is never closed
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                tracing::error!(error = %err, "corio: signal pipe failed; signals no longer delivered");
                return;
            }
        }
        for slot in &registry.slots {
            if slot.pending.swap(false, Ordering::SeqCst) {
                slot.generation.fetch_add(1, Ordering::SeqCst);
                slot.wake_all();
            }
        }
    }
}

/// Installs our handler for `signum` (once per process) and checks it can be caught.
fn install(registry: &'static Registry, signum: libc::c_int) -> io::Result<&'static Slot> {
    let kind = SignalKind::from_raw(signum);
    if signum <= 0 || signum as usize >= SLOTS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{kind} is not a signal number"),
        ));
    }
    if signal_hook_registry::FORBIDDEN.contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{kind} cannot be handled by a program"),
        ));
    }
    let slot = &registry.slots[signum as usize];
    let pipe: RawFd = registry.pipe_write.as_raw_fd();
    let installed = slot.installed.get_or_init(|| {
        let action = move || {
            slot.pending.store(true, Ordering::SeqCst);
            let byte = 1u8;
            // SAFETY: write(2) is async-signal-safe; `pipe` is the registry's write end,
            // open for the life of the process; `byte` outlives the call.
            let _ = unsafe { libc::write(pipe, (&raw const byte).cast(), 1) };
        };
        // SAFETY: the action only touches atomics and calls write(2), both
        // async-signal-safe; it never allocates, locks or panics. The signal is not in
        // FORBIDDEN (checked above), so `register` does not panic.
        unsafe { signal_hook_registry::register(signum, action) }
            .map(drop)
            .map_err(|err| format!("cannot handle {kind}: {err}"))
    });
    match installed {
        Ok(()) => Ok(slot),
        Err(message) => Err(io::Error::other(message.clone())),
    }
}

/// One task's interest in one signal: what it has seen, and its waker slot.
pub(super) struct Listener {
    slot: &'static Slot,
    kind: SignalKind,
    id: u64,
    seen: u64,
}

impl Listener {
    /// Starts listening: deliveries from now on are reported.
    pub(super) fn new(kind: SignalKind) -> io::Result<Listener> {
        let registry = registry()?;
        let slot = install(registry, kind.as_raw_value())?;
        Ok(Listener {
            slot,
            kind,
            id: registry.next_listener_id.fetch_add(1, Ordering::Relaxed),
            seen: slot.generation.load(Ordering::SeqCst),
        })
    }

    pub(super) fn kind(&self) -> SignalKind {
        self.kind
    }

    /// Ready once per batch of deliveries since the last `Ready`.
    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.take_delivery() {
            return Poll::Ready(());
        }
        {
            let mut waiters = self.slot.waiters();
            match waiters.iter_mut().find(|(id, _)| *id == self.id) {
                Some((_, waker)) => waker.clone_from(cx.waker()),
                None => waiters.push((self.id, cx.waker().clone())),
            }
        }
        // The dispatcher bumps the generation before it takes the waiter lock: either it
        // saw our waker, or we see its bump here.
        if self.take_delivery() {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    fn take_delivery(&mut self) -> bool {
        let generation = self.slot.generation.load(Ordering::SeqCst);
        let delivered = generation != self.seen;
        self.seen = generation;
        delivered
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.slot.waiters().retain(|(id, _)| *id != self.id);
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("kind", &self.kind)
            .field("seen", &self.seen)
            .finish()
    }
}
