//! What the ring offers `corio::fs`: the file-system opcodes this kernel supports (probed
//! once when the driver starts), and the owned statx target an op keeps in the slab.
//!
//! Missing fs opcodes never fail the driver: `corio::fs` runs those calls on the blocking
//! pool instead. The SQEs themselves are built in `fs/ring.rs`.

use std::ffi::CString;

use io_uring::{IoUring, opcode};

/// The file-system ops the ring can run. All false: everything on the blocking pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FsOps {
    /// `IORING_OP_OPENAT`.
    pub(crate) open: bool,
    /// `IORING_OP_READ` and `IORING_OP_WRITE` at the file position (offset `-1`, which
    /// needs `IORING_FEAT_RW_CUR_POS`, 5.6).
    pub(crate) read_write: bool,
    /// `IORING_OP_FSYNC` (with `IORING_FSYNC_DATASYNC` for `sync_data`).
    pub(crate) fsync: bool,
    /// `IORING_OP_STATX`.
    pub(crate) statx: bool,
}

impl FsOps {
    /// What `ring` supports; all false if the kernel refuses the probe.
    pub(crate) fn probe(ring: &IoUring) -> FsOps {
        let mut probe = io_uring::Probe::new();
        if let Err(err) = ring.submitter().register_probe(&mut probe) {
            tracing::debug!(error = %err, "corio: no io_uring probe; fs stays on the blocking pool");
            return FsOps::default();
        }
        FsOps::from_probe(
            |code| probe.is_supported(code),
            ring.params().is_feature_rw_cur_pos(),
        )
    }

    /// The flags from a probe's answers (`supported(opcode)`) and the `RW_CUR_POS` feature.
    pub(crate) fn from_probe(supported: impl Fn(u8) -> bool, rw_cur_pos: bool) -> FsOps {
        FsOps {
            open: supported(opcode::OpenAt::CODE),
            read_write: rw_cur_pos
                && supported(opcode::Read::CODE)
                && supported(opcode::Write::CODE),
            fsync: supported(opcode::Fsync::CODE),
            statx: supported(opcode::Statx::CODE),
        }
    }
}

/// The kernel writes its whole `struct statx`, 256 bytes on every kernel so far (later
/// fields come out of its spare space): the buffer must be at least that big.
const KERNEL_STATX_SIZE: usize = 256;
const _: () = assert!(std::mem::size_of::<libc::statx>() >= KERNEL_STATX_SIZE);

/// The path a statx reads and the buffer it fills, boxed in the op's slot so neither moves
/// nor is freed while the kernel may use them.
pub(crate) struct StatxBuf {
    /// The path (`c""` with `AT_EMPTY_PATH` for an open file's fd).
    pub(crate) path: CString,
    pub(crate) statx: libc::statx,
}

impl StatxBuf {
    pub(crate) fn new(path: CString) -> Box<StatxBuf> {
        // SAFETY: `libc::statx` is plain integers (and padding): all zeroes is a valid value.
        let statx = unsafe { std::mem::zeroed::<libc::statx>() };
        Box::new(StatxBuf { path, statx })
    }
}

impl std::fmt::Debug for StatxBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatxBuf")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_follows_its_opcode() {
        let all = FsOps::from_probe(|_| true, true);
        assert!(all.open && all.read_write && all.fsync && all.statx);
        assert_eq!(FsOps::from_probe(|_| false, true), FsOps::default());

        // Reads and writes at the file position need the feature, not only the opcodes.
        let no_cur_pos = FsOps::from_probe(|_| true, false);
        assert!(!no_cur_pos.read_write && no_cur_pos.open && no_cur_pos.statx);

        let no_statx = FsOps::from_probe(|code| code != opcode::Statx::CODE, true);
        assert!(!no_statx.statx && no_statx.open && no_statx.read_write && no_statx.fsync);
        let no_write = FsOps::from_probe(|code| code != opcode::Write::CODE, true);
        assert!(!no_write.read_write && no_write.open);
    }
}
