//! corio-web's build script: puts the third-party files of the `/docs` (Swagger UI) and
//! `/redoc` pages into `OUT_DIR`, where `src/openapi/ui/assets.rs` embeds them.
//!
//! - Swagger UI comes from a crates.io crate (the release zip, vendored), so it is there
//!   whenever cargo can build at all: [`swagger`].
//! - ReDoc has no such crate: [`redoc`] downloads its npm tarball (pinned version, checked
//!   against npm's sha512). Without network the build still succeeds, with a warning, and
//!   `/redoc` says the script is missing.
//!
//! Each file is written with a `.etag` beside it (a hash of its bytes), so the server has
//! a strong `ETag` without hashing at run time.

mod archive;
mod out;
mod redoc;
mod swagger;

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut licenses = String::new();
    swagger::extract(&out_dir, &mut licenses);
    redoc::fetch(&out_dir, &mut licenses);
    out::write_asset(&out_dir, "THIRD-PARTY-LICENSES.txt", licenses.as_bytes());
}
