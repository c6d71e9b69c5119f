//! The `Date` header value, formatted at most once a second per thread.
//!
//! Every response carries a `Date` (RFC 9110, section 6.6.1), and formatting one costs
//! more than the rest of a small response head. A date only changes once a second, so each
//! worker thread keeps the last one it formatted and reuses it until the clock's second
//! moves on. A per-thread cache needs no lock and no shared cache line.

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const DATE_LEN: usize = 29;

thread_local! {
    /// The second the cached text is for (`u64::MAX`: none yet), and the text.
    static CACHE: Cell<(u64, [u8; DATE_LEN])> = const { Cell::new((u64::MAX, [0; DATE_LEN])) };
}

/// The current date as an HTTP header value.
pub fn now() -> [u8; DATE_LEN] {
    let second = unix_seconds();
    CACHE.with(|cache| {
        let (cached_second, text) = cache.get();
        if cached_second == second {
            return text;
        }
        let text = format(UNIX_EPOCH + Duration::from_secs(second));
        cache.set((second, text));
        text
    })
}

/// Whole seconds since the Unix epoch. On Linux from the coarse real-time clock: the time
/// of the kernel's last tick, read without reading the clock source (a few nanoseconds
/// instead of tens in a virtual machine, for every response). The date only shows whole
/// seconds; the tick (a few milliseconds) only delays the change of second by that much.
fn unix_seconds() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `clock_gettime` writes one `timespec` through the pointer, which points
        // to a live, writable one.
        if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) } == 0 {
            return u64::try_from(now.tv_sec).unwrap_or(0);
        }
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn format(time: SystemTime) -> [u8; DATE_LEN] {
    let formatted = httpdate::fmt_http_date(time);
    let mut text = [b' '; DATE_LEN];
    // Always 29 bytes for dates between 1970 and 9999; a clock outside that range gets a
    // truncated (still valid header) value rather than a panic.
    let len = formatted.len().min(DATE_LEN);
    text[..len].copy_from_slice(&formatted.as_bytes()[..len]);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_imf_fixdate() {
        let time = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(&format(time), b"Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn now_is_a_parsable_current_date() {
        let text = now();
        let parsed = httpdate::parse_http_date(std::str::from_utf8(&text).unwrap()).unwrap();
        let diff = SystemTime::now()
            .duration_since(parsed)
            .unwrap_or_else(|e| e.duration());
        assert!(diff < Duration::from_secs(60), "{diff:?}");
    }
}
