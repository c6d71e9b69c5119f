//! Writing an asset into `OUT_DIR`, with its ETag beside it.

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

/// Writes `bytes` to `out_dir/name`, and `out_dir/name.etag`: the first 128 bits of their
/// SHA-256 in hex (plenty to tell two versions of a file apart).
pub fn write_asset(out_dir: &Path, name: &str, bytes: &[u8]) {
    let digest = Sha256::digest(bytes);
    let mut etag = String::with_capacity(32);
    for byte in &digest[..16] {
        write!(etag, "{byte:02x}").expect("writing to a String");
    }
    write(&out_dir.join(name), bytes);
    write(&out_dir.join(format!("{name}.etag")), etag.as_bytes());
}

/// Writes a file only if its contents change, so that cargo does not see a new mtime (and
/// recompile corio-web) each time the build script runs.
pub fn write(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return;
    }
    if let Err(e) = std::fs::write(path, bytes) {
        panic!("cannot write {}: {e}", path.display());
    }
}
