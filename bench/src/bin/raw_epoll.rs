//! The ceiling of the http suite: a minimal single-thread epoll loop that answers every
//! request it finds in a read with a canned `Hello, World!` (or JSON) response. No HTTP
//! parsing beyond counting `\r\n\r\n` terminators, no allocation per request: what is left is
//! the kernel's share of a request, which no readiness-based server can go below.
//!
//! `raw_epoll [ADDR] [plaintext|json]`

use std::io;
use std::net::TcpListener;
use std::os::fd::IntoRawFd;

const PLAINTEXT: &[u8] = b"HTTP/1.1 200 OK\r\nServer: raw\r\nDate: Mon, 23 Nov 2026 00:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
const JSON: &[u8] = b"HTTP/1.1 200 OK\r\nServer: raw\r\nDate: Mon, 23 Nov 2026 00:00:00 GMT\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"message\":\"Hello, World!\"}";

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Counts complete request heads in `buf`; returns (count, bytes consumed).
fn count_requests(buf: &[u8]) -> (usize, usize) {
    let mut count = 0;
    let mut consumed = 0;
    let mut i = 0;
    while i + 4 <= buf.len() {
        if &buf[i..i + 4] == b"\r\n\r\n" {
            count += 1;
            i += 4;
            consumed = i;
        } else {
            i += 1;
        }
    }
    (count, consumed)
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8088".into());
    let response = if args.next().as_deref() == Some("json") {
        JSON
    } else {
        PLAINTEXT
    };
    let listener = TcpListener::bind(&addr)?;
    listener.set_nonblocking(true)?;
    eprintln!("raw_epoll: listening on {}", listener.local_addr()?);
    let lfd = listener.into_raw_fd();
    // SAFETY: plain syscalls on descriptors this function owns; buffers outlive each call.
    unsafe {
        // std's bind listens with a backlog of 128; a second listen() raises it to the 1,024
        // the other servers use, so 1,000 clients connecting at once are not dropped.
        check(libc::listen(lfd, 1024))?;
        let ep = check(libc::epoll_create1(libc::EPOLL_CLOEXEC))?;
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: lfd as u64,
        };
        check(libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, lfd, &mut ev))?;
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
        // Per-connection leftover of a partial request head, indexed by fd.
        let mut partial: Vec<usize> = vec![0; 65536];
        let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); 65536];
        let mut out = Vec::with_capacity(64 * 1024);
        loop {
            let n = check(libc::epoll_wait(
                ep,
                events.as_mut_ptr(),
                events.len() as i32,
                -1,
            ))
            .or_else(|e| {
                if e.kind() == io::ErrorKind::Interrupted {
                    Ok(0)
                } else {
                    Err(e)
                }
            })?;
            for ev in &events[..n as usize] {
                let fd = ev.u64 as i32;
                if fd == lfd {
                    loop {
                        let c = libc::accept4(
                            lfd,
                            std::ptr::null_mut(),
                            std::ptr::null_mut(),
                            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                        );
                        if c < 0 {
                            break;
                        }
                        let one: libc::c_int = 1;
                        libc::setsockopt(
                            c,
                            libc::IPPROTO_TCP,
                            libc::TCP_NODELAY,
                            (&one as *const libc::c_int).cast(),
                            4,
                        );
                        let mut cev = libc::epoll_event {
                            events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32
                                | libc::EPOLLET as u32,
                            u64: c as u64,
                        };
                        libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, c, &mut cev);
                        let buf = &mut bufs[c as usize];
                        buf.resize(16 * 1024, 0);
                        partial[c as usize] = 0;
                    }
                    continue;
                }
                let buf = &mut bufs[fd as usize];
                let mut closed = false;
                loop {
                    let have = partial[fd as usize];
                    let r = libc::read(fd, buf[have..].as_mut_ptr().cast(), buf.len() - have);
                    if r == 0 {
                        closed = true;
                        break;
                    }
                    if r < 0 {
                        closed = io::Error::last_os_error().kind() != io::ErrorKind::WouldBlock;
                        break;
                    }
                    let filled = have + r as usize;
                    let (count, consumed) = count_requests(&buf[..filled]);
                    buf.copy_within(consumed..filled, 0);
                    partial[fd as usize] = filled - consumed;
                    if partial[fd as usize] == buf.len() {
                        closed = true;
                        break;
                    }
                    out.clear();
                    for _ in 0..count {
                        out.extend_from_slice(response);
                    }
                    if !out.is_empty()
                        && libc::write(fd, out.as_ptr().cast(), out.len()) != out.len() as isize
                    {
                        closed = true;
                        break;
                    }
                    if (r as usize) < buf.len() - have {
                        break;
                    }
                }
                if closed {
                    libc::close(fd);
                }
            }
        }
    }
}
