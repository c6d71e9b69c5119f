//! The third-party files the pages load, embedded at build time (see `build/` and the
//! parent module), and the service that answers them.
//!
//! Pages reference each file with its hash in the query (`?v=<hash>`), so a new build's
//! file is a new URL and browsers may keep each one for a year (`immutable`). A request
//! without the current hash (an old page, a hand-typed URL) gets `no-cache` instead, so it
//! is revalidated. Either way the response has a strong `ETag` (the same hash), and a
//! matching `If-None-Match` is answered `304 Not Modified`.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::service::ResponseFuture;
use crate::{Body, Request, Response, Service};

/// One embedded file.
#[derive(Debug)]
pub(super) struct Asset {
    /// Its file name, the last segment of its URL.
    pub(super) name: &'static str,
    content_type: &'static str,
    /// Its bytes; empty if the build could not get the file (ReDoc without network).
    pub(super) bytes: &'static [u8],
    /// 32 hex digits of its SHA-256, written by the build script.
    hash: &'static str,
}

/// An [`Asset`] out of `OUT_DIR`, where the build script wrote it and its hash.
macro_rules! embedded {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!(env!("OUT_DIR"), "/", $name)),
            hash: include_str!(concat!(env!("OUT_DIR"), "/", $name, ".etag")),
        }
    };
}

/// The version of Swagger UI that `/docs` serves.
pub const SWAGGER_UI_VERSION: &str = env!("CORIO_WEB_SWAGGER_UI_VERSION");
/// The version of ReDoc that `/redoc` serves, if the build could download it (otherwise
/// the page says it is missing).
pub const REDOC_VERSION: &str = env!("CORIO_WEB_REDOC_VERSION");

pub(super) static SWAGGER_UI_JS: Asset =
    embedded!("swagger-ui-bundle.js", "text/javascript; charset=utf-8");
pub(super) static SWAGGER_UI_CSS: Asset = embedded!("swagger-ui.css", "text/css; charset=utf-8");
/// What the OAuth2 redirect page runs: hands the authorization server's answer back to the
/// Swagger UI window that opened it.
pub(super) static OAUTH2_REDIRECT_JS: Asset =
    embedded!("oauth2-redirect.js", "text/javascript; charset=utf-8");
pub(super) static REDOC_JS: Asset =
    embedded!("redoc.standalone.js", "text/javascript; charset=utf-8");
/// Swagger UI's, both pages use it.
pub(super) static FAVICON: Asset = embedded!("favicon-32x32.png", "image/png");
/// The licenses of the files above, which the binary redistributes.
pub(super) static LICENSES: Asset =
    embedded!("THIRD-PARTY-LICENSES.txt", "text/plain; charset=utf-8");

impl Asset {
    /// Whether the build embedded it.
    pub(super) fn is_embedded(&self) -> bool {
        !self.bytes.is_empty()
    }

    /// The path it is served at, under `base` (`/docs/assets`).
    pub(super) fn path(&self, base: &str) -> String {
        format!("{base}/{}", self.name)
    }

    /// The URL pages reference it by: its path and its hash.
    pub(super) fn url(&self, base: &str) -> String {
        format!("{base}/{}?v={}", self.name, self.hash)
    }

    /// The service that answers GETs of its path.
    pub(super) fn service(&'static self) -> AssetService {
        AssetService {
            asset: self,
            etag: HeaderValue::from_str(&format!("\"{}\"", self.hash))
                .expect("a hex hash is a valid header value"),
        }
    }
}

/// Answers one [`Asset`].
pub(super) struct AssetService {
    asset: &'static Asset,
    /// The hash, quoted: a strong entity tag.
    etag: HeaderValue,
}

impl Service for AssetService {
    fn call(&self, request: Request) -> ResponseFuture {
        Box::pin(std::future::ready(self.respond(&request)))
    }
}

impl AssetService {
    fn respond(&self, request: &Request) -> Response {
        let versioned = request.uri().query().is_some_and(|query| {
            form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "v" && v == self.asset.hash)
        });
        let cache_control = if versioned {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let mut response = if not_modified(request.headers(), &self.etag) {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            response
        } else {
            let mut response = Response::new(Body::from(Bytes::from_static(self.asset.bytes)));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.asset.content_type),
            );
            response
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        response
    }
}

/// Whether `If-None-Match` names `etag` (or is `*`). The comparison is the weak one RFC
/// 9110 prescribes for `If-None-Match`: a `W/` tag matches too.
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn if_none_match(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn if_none_match_lists_wildcards_and_weak_tags() {
        let etag = HeaderValue::from_static("\"abc\"");
        assert!(not_modified(&if_none_match(&["\"abc\""]), &etag));
        assert!(not_modified(&if_none_match(&["\"x\", W/\"abc\""]), &etag));
        assert!(not_modified(&if_none_match(&["\"x\"", "\"abc\""]), &etag));
        assert!(not_modified(&if_none_match(&["*"]), &etag));
        assert!(!not_modified(&if_none_match(&["\"abcd\""]), &etag));
        assert!(!not_modified(&if_none_match(&["abc"]), &etag), "unquoted");
        assert!(!not_modified(&HeaderMap::new(), &etag));
    }

    #[test]
    fn the_build_embedded_swagger_ui_and_hashes() {
        for asset in [
            &SWAGGER_UI_JS,
            &SWAGGER_UI_CSS,
            &OAUTH2_REDIRECT_JS,
            &FAVICON,
            &LICENSES,
        ] {
            assert!(asset.is_embedded(), "{} is empty", asset.name);
            assert_eq!(asset.hash.len(), 32);
            assert!(asset.hash.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert!(!SWAGGER_UI_VERSION.is_empty() && !REDOC_VERSION.is_empty());
        assert_eq!(&FAVICON.bytes[1..4], b"PNG");
    }
}
