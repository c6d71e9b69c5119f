//! [`Server`] and [`Serve`]: accepting connections under the connection limit, and the
//! graceful shutdown.
//!
//! The accept loop takes a connection slot (a semaphore permit) *before* it accepts, so at
//! the limit it simply stops accepting and new clients wait in the kernel's backlog; no
//! connection is accepted only to be dropped. Each connection runs as its own task, holding
//! its permit and its place in the shutdown [`Registry`] until it ends.
//!
//! Shutdown: when the signal fires the loop stops accepting and closes the listener, tells
//! every connection to drain (idle ones close at once, busy ones finish their request),
//! and waits until every permit is back. Past the shutdown timeout it forces the rest to
//! close, and returns.
//!
//! The service's [`Lifespan`](crate::service::Lifespan) hooks, if it has any, run before
//! the first accept and after the shutdown.

use std::fmt;
use std::future::{Future, IntoFuture, poll_fn};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use corio::net::TcpListener;
use corio::sync::Semaphore;
use corio::time::{sleep, timeout};
use futures_util::FutureExt;

use super::ServerConfig;
use super::conn::{Shared, serve_connection};
use super::shutdown::Registry;
use crate::Service;
use crate::service::ConnectInfo;

/// How long the accept loop pauses after an accept error it cannot do anything about
/// (typically running out of file descriptors), so that it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// How long a forced shutdown waits for the aborted connections to let go.
const FORCE_GRACE: Duration = Duration::from_secs(5);

type Signal = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// An HTTP/1.1 server on a corio [`TcpListener`].
///
/// See the [module docs](super) for an example.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    config: ServerConfig,
}

impl Server {
    /// Binds a listener to `addr` (port 0 picks a free port; see
    /// [`local_addr`](Server::local_addr)).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<Server> {
        Ok(Server::from_listener(TcpListener::bind(addr).await?))
    }

    /// A server accepting on `listener`.
    pub fn from_listener(listener: TcpListener) -> Server {
        Server {
            listener,
            config: ServerConfig::default(),
        }
    }

    /// Replaces the limits and timeouts.
    pub fn config(mut self, config: ServerConfig) -> Server {
        self.config = config;
        self
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `service` on every connection. Await the returned [`Serve`] to run the
    /// server; it runs until its shutdown signal fires (see
    /// [`with_graceful_shutdown`](Serve::with_graceful_shutdown)), or for ever. The
    /// service's [`Lifespan`](crate::service::Lifespan) hooks run before the first accept
    /// and after a graceful shutdown.
    pub fn serve<S: Service>(self, service: S) -> Serve<S> {
        Serve {
            server: self,
            service,
            shutdown: None,
        }
    }
}

/// A server about to serve: await it (it is [`IntoFuture`]) to run it.
///
/// Dropping the running future stops accepting; connections already open keep being
/// served by their own tasks until they close. Use a graceful shutdown to wait for them.
#[must_use = "a server does nothing until awaited"]
pub struct Serve<S> {
    server: Server,
    service: S,
    shutdown: Option<Signal>,
}

impl<S: Service> Serve<S> {
    /// Shuts down gracefully once `signal` completes: stop accepting, close idle
    /// connections, let requests in flight finish (for up to the configured
    /// [`shutdown_timeout`](ServerConfig::shutdown_timeout), after which their connections
    /// are closed), then resolve to `Ok(())`.
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> Serve<S>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.server.local_addr()
    }
}

impl<S> fmt::Debug for Serve<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("server", &self.server)
            .field("graceful_shutdown", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Service> IntoFuture for Serve<S> {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'static>>;

    fn into_future(self) -> Self::IntoFuture {
        let Serve {
            server,
            service,
            shutdown,
        } = self;
        let shutdown = shutdown.unwrap_or_else(|| Box::pin(std::future::pending()));
        Box::pin(run(server.listener, server.config, service, shutdown))
    }
}

async fn run<S: Service>(
    listener: TcpListener,
    config: ServerConfig,
    service: S,
    mut shutdown: Signal,
) -> io::Result<()> {
    let max = config.max_connections.min(Semaphore::MAX_PERMITS);
    let shutdown_timeout = config.shutdown_timeout;
    let slots = Arc::new(Semaphore::new(max));
    let registry = Arc::new(Registry::default());
    let shared = Arc::new(Shared { service, config });
    if let Some(lifespan) = shared.service.lifespan() {
        lifespan.startup().await.map_err(lifespan_error)?;
    }
    loop {
        let Some(Ok(permit)) = until(&mut shutdown, slots.clone().acquire_owned()).await else {
            break;
        };
        let Some(accepted) = until(&mut shutdown, listener.accept()).await else {
            break;
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                drop(permit);
                if is_transient(&err) {
                    continue;
                }
                tracing::warn!(error = %err, "corio-web: accept failed; retrying shortly");
                if until(&mut shutdown, sleep(ACCEPT_BACKOFF)).await.is_none() {
                    break;
                }
                continue;
            }
        };
        // Responses are written whole; waiting to coalesce them would only add latency.
        let _ = stream.set_nodelay(true);
        let Ok(local) = stream.local_addr() else {
            // The connection is already gone.
            continue;
        };
        let info = ConnectInfo { peer, local };
        let (signal, registration) = registry.register();
        let shared = shared.clone();
        corio::spawn(async move {
            let conn = signal.guard(serve_connection(stream, info, &shared, &signal));
            if let Err(panic) = AssertUnwindSafe(conn).catch_unwind().await {
                let message = crate::depends::scope::panic_message(&*panic);
                tracing::error!(%peer, panic = message, "corio-web: connection panicked");
            }
            drop(registration);
            drop(permit);
        });
    }

    drop(listener);
    registry.drain_all();
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if timeout(shutdown_timeout, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            open = registry.len(),
            "corio-web: graceful shutdown timed out; closing the remaining connections"
        );
        registry.force_all();
        let _ = timeout(FORCE_GRACE, slots.acquire_many(all)).await;
    }
    if let Some(lifespan) = shared.service.lifespan() {
        lifespan.shutdown().await.map_err(lifespan_error)?;
    }
    Ok(())
}

/// A lifespan hook's error, as `serve` returns it.
fn lifespan_error(error: crate::body::BoxError) -> io::Error {
    match error.downcast::<io::Error>() {
        Ok(error) => *error,
        Err(error) => io::Error::other(error),
    }
}

/// Runs `future` unless `shutdown` completes first (`None`). `shutdown` must not be used
/// again once it completed.
async fn until<F: Future>(shutdown: &mut Signal, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        if shutdown.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        future.as_mut().poll(cx).map(Some)
    })
    .await
}

/// Accept errors about one connection that went away before it was accepted.
fn is_transient(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}
