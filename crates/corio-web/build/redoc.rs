//! ReDoc: `bundles/redoc.standalone.js` out of the `redoc` npm package, pinned to one
//! version and checked against the sha512 `integrity` npm publishes for it.
//!
//! Where the tarball comes from, first that works:
//! 1. `CORIO_WEB_REDOC_TARBALL`: a path to `redoc-<VERSION>.tgz`, for builds without
//!    network (vendored sources, sandboxes); it is checked like a download.
//! 2. The copy an earlier run of this script left in `OUT_DIR`.
//! 3. The npm registry, unless `CARGO_NET_OFFLINE=true`.
//!
//! If none does, the build goes on: a cargo warning says so, the embedded script is empty
//! and the `/redoc` page says that ReDoc is missing (Swagger UI at `/docs` is unaffected),
//! unless `CORIO_WEB_REQUIRE_REDOC` is set (for CI): then the build fails. A later build
//! does not try again by itself (it would recompile corio-web every time, offline);
//! `cargo clean -p corio-web` or the variables above make it.
//!
//! One change is made to the script: it does not fetch Redocly's logo from their CDN
//! ([`without_cdn_logo`]).

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha512};

use crate::{archive, out};

/// The ReDoc release: the last of major version 2, the one FastAPI's pages load (`redoc@2`),
/// a classic script that defines `<redoc>` and needs nothing else (its search worker is
/// inlined as a blob).
const VERSION: &str = "2.5.4";

/// `npm view redoc@2.5.4 dist.integrity`.
const INTEGRITY: &str = "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==";

/// The largest tarball accepted (this one is 2 MB).
const MAX_TARBALL: u64 = 32 << 20;

/// Writes `redoc.standalone.js` into `out_dir` (empty if ReDoc could not be had), appends
/// ReDoc's license to `licenses`, and tells rustc the version (`CORIO_WEB_REDOC_VERSION`).
pub fn fetch(out_dir: &Path, licenses: &mut String) {
    println!("cargo::rerun-if-env-changed=CORIO_WEB_REDOC_TARBALL");
    println!("cargo::rerun-if-env-changed=CARGO_NET_OFFLINE");
    println!("cargo::rerun-if-env-changed=CORIO_WEB_REQUIRE_REDOC");
    println!("cargo::rustc-env=CORIO_WEB_REDOC_VERSION={VERSION}");
    let cached = out_dir.join(format!("redoc-{VERSION}.tgz"));
    let script = tarball(&cached).and_then(|tgz| {
        out::write(&cached, &tgz);
        let tar = gunzip(&tgz)?;
        let script = archive::tar_file(&tar, "package/bundles/redoc.standalone.js")?;
        let license = archive::tar_file(&tar, "package/LICENSE")?;
        licenses.push_str(&format!("ReDoc {VERSION} (redoc.standalone.js)\n\n"));
        licenses.push_str(&String::from_utf8_lossy(license));
        licenses.push_str("\n\n");
        Ok(without_cdn_logo(script))
    });
    let script = script.unwrap_or_else(|e| {
        assert!(
            std::env::var_os("CORIO_WEB_REQUIRE_REDOC").is_none_or(|v| v.is_empty()),
            "ReDoc {VERSION} is not embedded and CORIO_WEB_REQUIRE_REDOC is set: {e}"
        );
        println!(
            "cargo::warning=corio-web: ReDoc {VERSION} is not embedded, /redoc will say it is \
             missing ({e}). Set CORIO_WEB_REDOC_TARBALL to a copy of redoc-{VERSION}.tgz, \
             or run `cargo clean -p corio-web` to try the download again."
        );
        Vec::new()
    });
    out::write_asset(out_dir, "redoc.standalone.js", &script);
}

/// ReDoc's side menu shows Redocly's logo from their CDN: a request to a third party on
/// every view, which no option turns off. With an empty `src` the browser requests nothing
/// and fires `error`, on which ReDoc drops the image; the "API docs by Redocly" link stays.
fn without_cdn_logo(script: &[u8]) -> Vec<u8> {
    const LOGO: &[u8] = b"\"https://cdn.redoc.ly/redoc/logo-mini.svg\"";
    let found: Vec<usize> = script
        .windows(LOGO.len())
        .enumerate()
        .filter_map(|(at, window)| (window == LOGO).then_some(at))
        .collect();
    let &[at] = found.as_slice() else {
        println!(
            "cargo::warning=corio-web: ReDoc {VERSION} does not load its logo as expected; \
             /redoc may request it from Redocly's CDN"
        );
        return script.to_vec();
    };
    [&script[..at], b"\"\"", &script[at + LOGO.len()..]].concat()
}

/// The checked tarball, from the first source that has one (see the module doc).
fn tarball(cached: &Path) -> Result<Vec<u8>, String> {
    if let Some(path) = std::env::var_os("CORIO_WEB_REDOC_TARBALL").filter(|p| !p.is_empty()) {
        let tgz = std::fs::read(&path)
            .map_err(|e| format!("CORIO_WEB_REDOC_TARBALL={}: {e}", path.to_string_lossy()))?;
        return checked(tgz);
    }
    if let Ok(tgz) = std::fs::read(cached)
        .map_err(|e| e.to_string())
        .and_then(checked)
    {
        return Ok(tgz);
    }
    if std::env::var("CARGO_NET_OFFLINE").is_ok_and(|v| v == "true") {
        return Err("CARGO_NET_OFFLINE=true".into());
    }
    // A few tries, so that a dropped connection does not cost the build its ReDoc.
    let mut tries = 1;
    loop {
        match download() {
            Ok(tgz) => return checked(tgz),
            Err(e) if tries == 3 => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_secs(2 * tries)),
        }
        tries += 1;
    }
}

fn download() -> Result<Vec<u8>, String> {
    let url = format!("https://registry.npmjs.org/redoc/-/redoc-{VERSION}.tgz");
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(root_certs())
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    agent
        .get(&url)
        .call()
        .and_then(|mut response| {
            response
                .body_mut()
                .with_config()
                .limit(MAX_TARBALL)
                .read_to_vec()
        })
        .map_err(|e| format!("downloading {url}: {e}"))
}

/// The machine's CA bundle (as curl and OpenSSL find it: `SSL_CERT_FILE`, then the usual
/// paths), so that a proxy whose CA the machine trusts works; Mozilla's roots, built into
/// ureq, where there is no bundle.
fn root_certs() -> ureq::tls::RootCerts {
    let candidates = std::env::var_os("SSL_CERT_FILE").into_iter().chain(
        [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/cert.pem",
        ]
        .map(Into::into),
    );
    for path in candidates {
        let Ok(pem) = std::fs::read(&path) else {
            continue;
        };
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                _ => None,
            })
            .collect();
        if !certs.is_empty() {
            return certs.into();
        }
    }
    ureq::tls::RootCerts::WebPki
}

/// `tgz` if its sha512 is the one npm published.
fn checked(tgz: Vec<u8>) -> Result<Vec<u8>, String> {
    let integrity = format!("sha512-{}", base64(&Sha512::digest(&tgz)));
    if integrity != INTEGRITY {
        return Err(format!(
            "the tarball's integrity is {integrity}, not {INTEGRITY}"
        ));
    }
    Ok(tgz)
}

fn gunzip(tgz: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(tgz)
        .read_to_end(&mut tar)
        .map_err(|e| format!("gunzip: {e}"))?;
    Ok(tar)
}

/// Standard base64 with padding, as npm writes integrity hashes.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk
            .iter()
            .enumerate()
            .fold(0u32, |group, (i, &b)| group | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                encoded.push(ALPHABET[(group >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}
