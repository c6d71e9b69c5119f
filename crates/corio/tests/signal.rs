//! Signals: delivery, coalescing, several listeners, merged streams, ctrl_c, bad signals.
//!
//! Tests in one binary run in parallel and signals are process-wide, so every test owns a
//! different signal.

mod common;

use std::time::Duration;

use common::runtimes;
use corio::signal::{SignalKind, ctrl_c, signal, signals};
use corio::time::timeout;

fn raise(signum: libc::c_int) {
    // SAFETY: kill(2) on our own pid with a signal a listener has installed a handler for.
    let rc = unsafe { libc::kill(libc::getpid(), signum) };
    assert_eq!(rc, 0, "kill failed: {}", std::io::Error::last_os_error());
}

/// The next item of a stream (the `Stream` impl, not `recv`).
async fn next<S: futures_core::Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
}

const SETTLE: Duration = Duration::from_millis(100);
const PATIENCE: Duration = Duration::from_secs(10);

#[test]
fn a_delivered_signal_wakes_its_listener_on_both_runtimes() {
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
            assert_eq!(usr1.kind(), SignalKind::user_defined1());
            // The listener is parked before the signal arrives: the wake-up must come from
            // the dispatcher, not from a lucky first poll.
            let waiter = corio::spawn(async move {
                usr1.recv().await;
            });
            corio::time::sleep(Duration::from_millis(20)).await;
            raise(libc::SIGUSR1);
            timeout(PATIENCE, waiter)
                .await
                .unwrap_or_else(|_| panic!("{flavor}: SIGUSR1 never reached the listener"))
                .unwrap();
        });
    }
}

#[test]
fn deliveries_between_two_recvs_coalesce_into_one() {
    corio::run(async {
        let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
        for _ in 0..3 {
            raise(libc::SIGUSR2);
        }
        timeout(PATIENCE, usr2.recv()).await.expect("first recv");
        // Give the dispatcher time to report any straggler, then expect nothing more.
        corio::time::sleep(SETTLE).await;
        let _ = timeout(Duration::from_millis(1), usr2.recv()).await;
        assert!(
            timeout(SETTLE, usr2.recv()).await.is_err(),
            "three deliveries must not turn into more than two recvs"
        );
        // And the listener still works afterwards.
        raise(libc::SIGUSR2);
        timeout(PATIENCE, usr2.recv())
            .await
            .expect("recv after coalescing");
    });
}

#[test]
fn every_listener_of_a_signal_sees_each_delivery() {
    corio::run(async {
        let mut first = signal(SignalKind::window_change()).unwrap();
        let mut second = signal(SignalKind::window_change()).unwrap();
        raise(libc::SIGWINCH);
        timeout(PATIENCE, first.recv())
            .await
            .expect("first listener");
        timeout(PATIENCE, second.recv())
            .await
            .expect("second listener");
        // A listener created after a delivery does not see it.
        let mut late = signal(SignalKind::window_change()).unwrap();
        assert!(timeout(SETTLE, late.recv()).await.is_err());
    });
}

#[test]
fn a_merged_stream_says_which_signal_arrived() {
    corio::run(async {
        let mut incoming = signals([SignalKind::hangup(), SignalKind::terminate()]).unwrap();
        assert_eq!(
            incoming.kinds().collect::<Vec<_>>(),
            [SignalKind::hangup(), SignalKind::terminate()]
        );
        raise(libc::SIGTERM);
        let kind = timeout(PATIENCE, incoming.recv()).await.unwrap();
        assert_eq!(kind, SignalKind::terminate());
        raise(libc::SIGHUP);
        raise(libc::SIGTERM);
        // Both arrive; the stream reports each once, in some order.
        let mut got = vec![
            timeout(PATIENCE, next(&mut incoming))
                .await
                .unwrap()
                .unwrap(),
            timeout(PATIENCE, next(&mut incoming))
                .await
                .unwrap()
                .unwrap(),
        ];
        got.sort_by_key(|k| k.as_raw_value());
        assert_eq!(got, [SignalKind::hangup(), SignalKind::terminate()]);
    });
}

#[test]
fn ctrl_c_resolves_on_sigint() {
    corio::run(async {
        let waiter = corio::spawn(ctrl_c());
        // ctrl_c installs its handler when first polled; before that SIGINT would kill us.
        corio::time::sleep(Duration::from_millis(50)).await;
        raise(libc::SIGINT);
        timeout(PATIENCE, waiter).await.unwrap().unwrap().unwrap();
    });
}

#[test]
fn a_listener_outlives_the_runtime_that_created_it() {
    let rt = corio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut quit = rt.block_on(async { signal(SignalKind::quit()).unwrap() });
    drop(rt);
    corio::run(async move {
        raise(libc::SIGQUIT);
        timeout(PATIENCE, quit.recv())
            .await
            .expect("SIGQUIT after the runtime was dropped");
    });
}

#[test]
fn signals_that_cannot_be_handled_are_an_error() {
    for kind in [
        SignalKind::from_raw(libc::SIGKILL),
        SignalKind::from_raw(libc::SIGSTOP),
        SignalKind::from_raw(libc::SIGSEGV),
        SignalKind::from_raw(0),
        SignalKind::from_raw(1000),
    ] {
        let err = signal(kind).unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidInput,
            "{kind}: {err}"
        );
    }
    assert!(signals([]).is_err());
}
