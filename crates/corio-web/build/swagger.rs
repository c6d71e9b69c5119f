//! Swagger UI: the files `/docs` needs, out of the release zip that the
//! `utoipa-swagger-ui-vendored` crate carries (pinned in Cargo.toml). Nothing is fetched:
//! the zip came with the crate, so this step cannot fail for want of network.

use std::path::Path;

use crate::archive;
use crate::out;

/// The files of the zip's `dist/` folder that the pages use.
const FILES: [&str; 4] = [
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "oauth2-redirect.js",
    "favicon-32x32.png",
];

/// Writes [`FILES`] into `out_dir`, appends Swagger UI's license to `licenses`, and tells
/// rustc the version (`CORIO_WEB_SWAGGER_UI_VERSION`).
///
/// # Panics
///
/// If the zip is not laid out as expected: the crate is pinned, so that is a bug here.
pub fn extract(out_dir: &Path, licenses: &mut String) {
    let zip = utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED;
    // The zip holds one folder, `swagger-ui-<version>/`.
    let names = archive::zip_names(zip).unwrap_or_else(|e| panic!("Swagger UI zip: {e}"));
    let root = names
        .iter()
        .find_map(|name| name.strip_suffix("dist/swagger-ui-bundle.js"))
        .expect("Swagger UI zip without dist/swagger-ui-bundle.js");
    let version = root
        .trim_end_matches('/')
        .strip_prefix("swagger-ui-")
        .expect("Swagger UI zip's folder is swagger-ui-<version>");
    let read = |name: &str| {
        archive::zip_file(zip, &format!("{root}{name}"))
            .unwrap_or_else(|e| panic!("Swagger UI zip: {e}"))
    };
    for name in FILES {
        out::write_asset(out_dir, name, &read(&format!("dist/{name}")));
    }
    println!("cargo::rustc-env=CORIO_WEB_SWAGGER_UI_VERSION={version}");
    licenses.push_str(&format!("Swagger UI {version} (swagger-ui-bundle.js, swagger-ui.css, oauth2-redirect.js, favicon-32x32.png)\n\n"));
    for name in ["NOTICE", "LICENSE"] {
        licenses.push_str(&String::from_utf8_lossy(&read(name)));
        licenses.push_str("\n\n");
    }
}
