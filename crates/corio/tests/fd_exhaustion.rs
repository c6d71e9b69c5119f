//! Running out of file descriptors while accepting: the error is reported by `accept`, and
//! `incoming()` logs, backs off without spinning, and resumes once descriptors are free.
//!
//! Lowers the process's fd limit, so it is the only test in this binary (own process).

mod common;

use std::time::Duration;

use corio::io_util::AsyncReadExt;
use corio::net::TcpListener;
use corio::time::timeout;
use futures_core::Stream;

/// The next connection from `incoming`.
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
}

/// Opens descriptors until the process limit is hit; they close when the Vec drops.
fn exhaust_fds() -> Vec<std::fs::File> {
    let mut fillers = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => fillers.push(file),
            Err(err) if err.raw_os_error() == Some(libc::EMFILE) => return fillers,
            Err(err) => panic!("unexpected error while exhausting fds: {err}"),
        }
    }
}

#[test]
fn accept_out_of_fds_backs_off_without_spinning_and_recovers() {
    // A low limit keeps the test quick; raised back at the end is unnecessary (own process).
    let limit = libc::rlimit {
        rlim_cur: 256,
        rlim_max: 256.max(current_hard_limit()),
    };
    // SAFETY: setrlimit with a valid rlimit struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);

    let rt = corio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Client sockets exist before the limit is reached; connecting needs no new fd.
        let clients: Vec<socket2::Socket> = (0..3)
            .map(|_| {
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap()
            })
            .collect();

        let fillers = exhaust_fds();
        for client in &clients {
            client.connect(&addr.into()).unwrap(); // completes in the kernel's backlog
        }

        // Plain accept reports the condition to the caller.
        let err = listener
            .accept()
            .await
            .expect_err("no fd is free to accept into");
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");

        // incoming() waits it out instead; meanwhile the loop stays (almost) idle.
        let mut incoming = listener.incoming();
        let cpu_before = common::process_cpu_time();
        assert!(
            timeout(Duration::from_millis(500), next(&mut incoming))
                .await
                .is_err(),
            "no connection can be accepted while fds are exhausted"
        );
        let cpu_used = common::process_cpu_time() - cpu_before;
        // A retry loop without back-off would burn the whole half second.
        assert!(
            cpu_used < Duration::from_millis(100),
            "backing off used {cpu_used:?} of CPU in 0.5 s"
        );

        // Free descriptors: every pending connection is accepted, and works.
        drop(fillers);
        let mut accepted = Vec::new();
        for _ in 0..clients.len() {
            let conn = timeout(Duration::from_secs(10), next(&mut incoming))
                .await
                .expect("accepting must resume once fds are free")
                .unwrap()
                .unwrap();
            accepted.push(conn);
        }
        // Each client says who it is; every accepted connection hears from one of them.
        for (id, client) in clients.iter().enumerate() {
            use std::io::Write;
            // A one-byte write into an empty socket buffer does not block.
            (&*client).write_all(&[id as u8]).unwrap();
        }
        let mut heard = Vec::new();
        for conn in &mut accepted {
            let mut id = [0; 1];
            conn.read_exact(&mut id).await.unwrap();
            heard.push(id[0]);
        }
        heard.sort();
        assert_eq!(heard, [0, 1, 2]);
    });
}

fn current_hard_limit() -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we pass.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit.rlim_max
}
