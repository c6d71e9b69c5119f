//! Unix signals as async events: `ctrl_c()`, one signal's stream, or several merged.
//!
//! ```no_run
//! use corio::signal::{SignalKind, signals};
//!
//! #[corio::main]
//! async fn main() -> std::io::Result<()> {
//!     // A service's shutdown loop: reload on SIGHUP, stop on SIGTERM or Ctrl-C.
//!     let mut incoming = signals([
//!         SignalKind::terminate(),
//!         SignalKind::interrupt(),
//!         SignalKind::hangup(),
//!     ])?;
//!     loop {
//!         match incoming.recv().await {
//!             kind if kind == SignalKind::hangup() => println!("reloading"),
//!             kind => {
//!                 println!("{kind}: shutting down");
//!                 return Ok(());
//!             }
//!         }
//!     }
//! }
//! ```
//!
//! Semantics, as with tokio and asyncio's `add_signal_handler`:
//! - Listening installs a process-wide handler for that signal, which stays for the rest of
//!   the process: once a program listens for `SIGINT`, Ctrl-C no longer kills it, even after
//!   the listener is dropped. Other handlers registered through `signal-hook` keep working.
//! - Each listener sees every delivery made after it was created; deliveries between two
//!   `recv`s coalesce into one.
//! - Listeners are not tied to a runtime: a dedicated thread (`corio-signal`, asleep unless
//!   a signal arrives) turns deliveries into wake-ups, because a signal handler itself may
//!   not wake tasks.
//! - `SIGKILL`, `SIGSTOP`, `SIGILL`, `SIGFPE` and `SIGSEGV` cannot be listened for: an
//!   error, not a panic.

mod kind;
mod registry;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use kind::SignalKind;
use registry::Listener;

/// Waits for the next Ctrl-C (`SIGINT`) delivered after the call.
///
/// ```no_run
/// #[corio::main]
/// async fn main() {
///     let server = corio::spawn(async { /* serve */ });
///     corio::signal::ctrl_c().await.expect("cannot listen for Ctrl-C");
///     server.abort();
/// }
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    interrupt.recv().await;
    Ok(())
}

/// Listens for one signal.
///
/// ```
/// use corio::signal::{SignalKind, signal};
///
/// corio::run(async {
///     let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
///     // SAFETY: kill(2) with our own pid and a signal we now handle.
///     unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
///     usr1.recv().await;
/// });
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    Ok(Signal {
        listener: Listener::new(kind)?,
    })
}

/// Listens for several signals through one stream that yields which one arrived.
///
/// Signals that arrive together are all reported, in turn; none starves the others.
pub fn signals(kinds: impl IntoIterator<Item = SignalKind>) -> io::Result<Signals> {
    let mut listeners = Vec::new();
    for kind in kinds {
        if listeners.iter().all(|l: &Listener| l.kind() != kind) {
            listeners.push(Listener::new(kind)?);
        }
    }
    if listeners.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "signals: no signal to listen for",
        ));
    }
    Ok(Signals {
        listeners,
        next_first: 0,
    })
}

/// Deliveries of one signal; see [`signal`]. Also a never-ending `Stream` of `()`.
#[derive(Debug)]
pub struct Signal {
    listener: Listener,
}

impl Signal {
    /// Waits for the next delivery (or returns at once if one came since the last `recv`).
    pub async fn recv(&mut self) {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for a delivery since the last one reported.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.listener.poll_recv(cx)
    }

    /// The signal listened for.
    pub fn kind(&self) -> SignalKind {
        self.listener.kind()
    }
}

impl futures_core::Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx).map(Some)
    }
}

/// Deliveries of several signals; see [`signals`]. Also a never-ending `Stream`.
#[derive(Debug)]
pub struct Signals {
    listeners: Vec<Listener>,
    /// Where the next poll starts looking, so a busy signal cannot hide the others.
    next_first: usize,
}

impl Signals {
    /// Waits for the next delivery of any of the signals and says which it was.
    pub async fn recv(&mut self) -> SignalKind {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for a delivery of any of the signals.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<SignalKind> {
        let count = self.listeners.len();
        for offset in 0..count {
            let index = (self.next_first + offset) % count;
            let listener = &mut self.listeners[index];
            if listener.poll_recv(cx).is_ready() {
                self.next_first = (index + 1) % count;
                return Poll::Ready(listener.kind());
            }
        }
        Poll::Pending
    }

    /// The signals listened for.
    pub fn kinds(&self) -> impl Iterator<Item = SignalKind> + '_ {
        self.listeners.iter().map(Listener::kind)
    }
}

impl futures_core::Stream for Signals {
    type Item = SignalKind;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SignalKind>> {
        self.get_mut().poll_recv(cx).map(Some)
    }
}
