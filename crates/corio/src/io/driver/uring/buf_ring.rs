//! The provided-buffer ring that multishot recvs receive into.
//!
//! A multishot recv names no buffer: for each chunk of data the kernel takes the next free
//! buffer from this ring, fills it and reports its id in the CQE's flags. The buffer is then
//! checked out to whoever holds that completion (the socket reading it) until it is handed
//! back with [`BufRing::recycle`], which appends it to the ring again. So one pool of
//! [`ENTRIES`] buffers serves every connection of the runtime, instead of one recv buffer
//! per connection waiting for data.
//!
//! Memory: the ring of `io_uring_buf` entries (page-aligned, shared with the kernel) and the
//! buffers themselves, both allocated here and freed only when the ring is dropped — which
//! the driver does only once the kernel can no longer write into them (no op in flight), and
//! otherwise leaks (see `Shared::drop`).
//!
//! **Growth.** The buffers are one anonymous mapping of `ENTRIES * BUF_SIZE` bytes, but only
//! [`INITIAL`] of them are handed to the kernel at first; each time the kernel runs out
//! (`ENOBUFS`) [`grow`](BufRing::grow) hands over [`INITIAL`] more, up to `ENTRIES`. The
//! kernel cycles through the buffers it was given (the ring is FIFO), so a runtime serving
//! 50 connections touches 256 KiB of buffers, not 4 MiB: pages never handed over are never
//! resident.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::io;
use std::ptr;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;

/// Buffers in the ring (a power of two, at most 32,768).
pub(crate) const ENTRIES: u16 = 1024;
/// Bytes per buffer: one page, so a pool that is cycled through touches at most
/// `ENTRIES` pages (4 MiB) however many connections there are.
pub(crate) const BUF_SIZE: usize = 4096;
/// The buffer group id multishot recvs name.
pub(crate) const GROUP: u16 = 0;
/// Buffers handed to the kernel at first, and added by each [`BufRing::grow`].
pub(crate) const INITIAL: u16 = 64;

const PAGE: usize = 4096;

pub(crate) struct BufRing {
    /// `ENTRIES` ring entries; the kernel reads them up to the tail we publish.
    entries: NonNull<BufRingEntry>,
    /// `ENTRIES * BUF_SIZE` bytes; buffer `bid` is at `bid * BUF_SIZE`.
    buffers: NonNull<u8>,
    /// Our copy of the tail (the kernel only reads the published one).
    tail: u16,
    /// Buffers handed to the kernel so far (ids `0..provided`).
    provided: u16,
}

// SAFETY: the raw pointers are owned allocations; `BufRing` is only used behind a mutex.
unsafe impl Send for BufRing {}

impl BufRing {
    fn entries_layout() -> Layout {
        Layout::from_size_align(usize::from(ENTRIES) * size_of::<BufRingEntry>(), PAGE)
            .expect("a valid layout")
    }

    fn buffers_len() -> usize {
        usize::from(ENTRIES) * BUF_SIZE
    }

    /// Allocates the ring with every buffer in it (not yet registered).
    pub(crate) fn new() -> io::Result<BufRing> {
        // SAFETY: both layouts have a non-zero size.
        let entries = unsafe { alloc_zeroed(Self::entries_layout()) }.cast::<BufRingEntry>();
        let Some(entries) = NonNull::new(entries) else {
            return Err(io::ErrorKind::OutOfMemory.into());
        };
        // An anonymous mapping: zero-filled on first touch, so buffers the kernel never gets
        // cost address space only (an allocator's zeroed allocation of this alignment would
        // write every page).
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let buffers = unsafe {
            libc::mmap(
                ptr::null_mut(),
                Self::buffers_len(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if buffers == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            // SAFETY: allocated just above with this layout.
            unsafe { dealloc(entries.as_ptr().cast(), Self::entries_layout()) };
            return Err(err);
        }
        let mut ring = BufRing {
            entries,
            buffers: NonNull::new(buffers.cast()).expect("mmap succeeded"),
            tail: 0,
            provided: 0,
        };
        ring.grow();
        Ok(ring)
    }

    /// Hands the kernel [`INITIAL`] more buffers; false once all `ENTRIES` are in use.
    pub(crate) fn grow(&mut self) -> bool {
        if self.provided == ENTRIES {
            return false;
        }
        let more = INITIAL.min(ENTRIES - self.provided);
        for bid in self.provided..self.provided + more {
            self.write_entry(bid);
        }
        self.provided += more;
        self.publish();
        true
    }

    /// The address to register with `IORING_REGISTER_PBUF_RING`.
    pub(crate) fn ring_addr(&self) -> u64 {
        self.entries.as_ptr() as u64
    }

    /// Hands buffer `bid` back to the kernel.
    ///
    /// The caller must have checked it out (a CQE named it) and keep no slice of it.
    pub(crate) fn recycle(&mut self, bid: u16) {
        debug_assert!(bid < self.provided);
        self.write_entry(bid);
        self.publish();
    }

    /// Where the buffers start: buffer `bid` is `BUF_SIZE` bytes at `bid * BUF_SIZE`.
    /// Reading one is allowed only while a CQE has it checked out.
    pub(crate) fn base(&self) -> *const u8 {
        self.buffers.as_ptr()
    }

    fn write_entry(&mut self, bid: u16) {
        let index = usize::from(self.tail & (ENTRIES - 1));
        // SAFETY: `index < ENTRIES`. The kernel reads entries only up to the published tail,
        // and this one is past it until `publish`. The write goes through a raw pointer:
        // entry 0's last field doubles as the shared tail, which we do not touch here
        // (`set_*` write `addr`, `len` and `bid` only).
        let entry = unsafe { &mut *self.entries.as_ptr().add(index) };
        // SAFETY: `bid < ENTRIES`: inside the buffers' allocation.
        let addr = unsafe { self.buffers.as_ptr().add(usize::from(bid) * BUF_SIZE) };
        entry.set_addr(addr as u64);
        entry.set_len(BUF_SIZE as u32);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Publishes the tail: the kernel may use every entry written before it.
    fn publish(&self) {
        // SAFETY: the tail is the `resv` field of entry 0, a u16 inside our allocation,
        // aligned for an AtomicU16; the kernel reads it concurrently, hence the atomic store
        // (Release: the entries written before are visible first).
        let tail = unsafe { &*BufRingEntry::tail(self.entries.as_ptr()).cast::<AtomicU16>() };
        tail.store(self.tail, Ordering::Release);
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated (and mapped) in `new` with these sizes; the driver drops the
        // ring only when the kernel can no longer use it (it leaks the ring otherwise).
        unsafe {
            dealloc(self.entries.as_ptr().cast(), Self::entries_layout());
            libc::munmap(self.buffers.as_ptr().cast(), Self::buffers_len());
        }
    }
}

impl std::fmt::Debug for BufRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufRing").field("tail", &self.tail).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(ring: &BufRing) -> u16 {
        // SAFETY: reading our own allocation; no kernel involved in these tests.
        unsafe { *BufRingEntry::tail(ring.entries.as_ptr()) }
    }

    #[test]
    fn grows_in_steps_up_to_the_ring_size() {
        let mut ring = BufRing::new().unwrap();
        assert_eq!((ring.provided, published(&ring)), (INITIAL, INITIAL));
        let mut steps = 1;
        while ring.grow() {
            steps += 1;
        }
        assert_eq!(steps, ENTRIES / INITIAL);
        assert_eq!((ring.provided, published(&ring)), (ENTRIES, ENTRIES));
        // Every buffer was handed over once, each with its own id and address.
        for index in 0..usize::from(ENTRIES) {
            // SAFETY: as in `published`.
            let entry = unsafe { &*ring.entries.as_ptr().add(index) };
            assert_eq!(usize::from(entry.bid()), index);
            assert_eq!(entry.addr(), ring.base() as u64 + (index * BUF_SIZE) as u64);
        }
    }

    #[test]
    fn recycles_into_the_next_slot() {
        let mut ring = BufRing::new().unwrap();
        while ring.grow() {}
        ring.recycle(7);
        assert_eq!(published(&ring), ENTRIES.wrapping_add(1));
        // The recycled buffer went into the slot after the last one, i.e. index 0 again.
        // SAFETY: as in `published`.
        let entry = unsafe { &*ring.entries.as_ptr() };
        assert_eq!(entry.bid(), 7);
        assert_eq!(entry.len(), BUF_SIZE as u32);
        assert_eq!(entry.addr(), ring.base() as u64 + 7 * BUF_SIZE as u64);
    }
}
