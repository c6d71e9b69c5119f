//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use corio::runtime::{Builder, IoDriverKind, Runtime};

/// One runtime of each flavor: every behaviour test runs on both.
pub fn runtimes() -> Vec<(&'static str, Runtime)> {
    vec![
        (
            "current_thread",
            Builder::new_current_thread().build().unwrap(),
        ),
        (
            "multi_thread",
            Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        ),
    ]
}

/// Counts how many times values it hands out are dropped.
#[derive(Clone, Default)]
pub struct DropCount(Arc<AtomicUsize>);

pub struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl DropCount {
    pub fn guard(&self) -> Guard {
        Guard(self.0.clone())
    }
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// The message of a panic payload (`panic!` with a literal gives `&str`, with arguments `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>")
}

/// Echoes everything read from `conn` back to it until EOF or an error.
pub async fn echo<S>(mut conn: S)
where
    S: corio::io_util::AsyncRead + corio::io_util::AsyncWrite + Unpin,
{
    use corio::io_util::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0; 4096];
    loop {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if conn.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// CPU time (user + system) the whole process has used so far. Needs no file descriptor.
pub fn process_cpu_time() -> std::time::Duration {
    // SAFETY: a zeroed rusage is a valid out-parameter; getrusage only writes it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    std::time::Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// Every (flavor, driver) runtime this kernel can build: epoll and io_uring (skipped, with a
/// note, where the kernel refuses it), each current-thread and multi-thread (2 workers).
pub fn driver_runtimes() -> Vec<(String, Runtime)> {
    let mut out = Vec::new();
    for driver in [IoDriverKind::Epoll, IoDriverKind::Uring] {
        for multi in [false, true] {
            let builder = if multi {
                Builder::new_multi_thread().worker_threads(2)
            } else {
                Builder::new_current_thread()
            };
            match builder.io_driver(driver).build() {
                Ok(rt) => {
                    assert_eq!(rt.handle().io_driver(), driver);
                    let flavor = if multi {
                        "multi_thread"
                    } else {
                        "current_thread"
                    };
                    out.push((format!("{flavor}/{driver:?}"), rt));
                }
                Err(err) if driver == IoDriverKind::Uring => {
                    eprintln!("skipping io_uring runtimes: {err}");
                    break;
                }
                Err(err) => panic!("{err}"),
            }
        }
    }
    out
}
