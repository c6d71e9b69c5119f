//! The documentation pages: Swagger UI at `/docs` and ReDoc at `/redoc`, FastAPI's two
//! views of the OpenAPI document, configured by [`DocsConfig`].
//!
//! # Offline
//!
//! The pages load nothing from a CDN: their scripts, stylesheet and icon are built into
//! corio-web and served next to the pages, under `/docs/assets/` by default
//! ([`DocsConfig::assets_url`]), so they work on machines and networks that cannot reach
//! the internet. The repository holds none of that third-party code; the build script
//! (`crates/corio-web/build/`) takes it from registry packages, at a pinned version:
//!
//! - **Swagger UI 5.32.6** comes from the crates.io crate `utoipa-swagger-ui-vendored`
//!   (`=0.2.0`), which carries Swagger UI's release zip and has no dependencies. It is an
//!   ordinary (build) dependency, so it is there whenever cargo can build at all, and
//!   `/docs` always works. (The crate `swagger-ui-dist` only exposes its files through
//!   axum or actix-web routes.)
//! - **ReDoc 2.5.4** has no crate that carries it: the build downloads the `redoc` npm
//!   tarball once, checks it against the sha512 npm publishes, and keeps a copy in
//!   `OUT_DIR`. Without network the build still succeeds with a cargo warning, and `/redoc`
//!   says that ReDoc is missing; `CORIO_WEB_REDOC_TARBALL=path/to/redoc-2.5.4.tgz` gives the
//!   build a local copy instead, and `CORIO_WEB_REQUIRE_REDOC=1` makes a missing ReDoc
//!   fail the build (for CI). ReDoc 2 is the major version FastAPI's page loads, and its
//!   standalone bundle needs no other file (its search worker is inlined). One string is
//!   changed in it: the URL of Redocly's logo, which it would otherwise load from their CDN.
//!
//! Only the files the pages use are embedded (about 2.8 MB): `swagger-ui-bundle.js`,
//! `swagger-ui.css`, `oauth2-redirect.js`, `redoc.standalone.js`, Swagger UI's 32×32 icon,
//! and `THIRD-PARTY-LICENSES.txt` with the licenses they come under.
//!
//! # Caching
//!
//! The pages reference each asset with its content hash (`swagger-ui.css?v=<hash>`), so
//! assets are served `Cache-Control: public, max-age=31536000, immutable` and an upgrade
//! changes the URLs. Every asset response also has a strong `ETag`, and a matching
//! `If-None-Match` gets `304 Not Modified`. The pages themselves are built once, when the
//! routes are made.
//!
//! # Authorization
//!
//! Swagger UI's "Authorize" dialog covers what the document's security schemes declare:
//! HTTP bearer and basic, API keys, and OAuth2. The OAuth2 password and client-credentials
//! flows talk to the token URL directly; the authorization-code and implicit flows send the
//! browser to the authorization server, which redirects it back to the OAuth2 redirect page
//! ([`DocsConfig::oauth2_redirect_url`]), whose absolute URL the page passes as
//! `oauth2RedirectUrl`. [`DocsConfig::init_oauth`] presets the client,
//! [`DocsConfig::persist_authorization`] keeps the credentials across reloads.

mod assets;
mod config;
mod html;
mod redoc;
mod swagger;
#[cfg(test)]
mod tests;

pub use assets::{REDOC_VERSION, SWAGGER_UI_VERSION};
pub use config::DocsConfig;

use std::sync::Arc;

use bytes::Bytes;

use crate::app::Endpoint;
use crate::response::{Html, IntoResponse};
use crate::service_fn;

use assets::Asset;

/// Every `GET` route the pages need, as `(path, endpoint)`: the Swagger UI page and its
/// OAuth2 redirect page, the ReDoc page, and their assets, leaving out what `config`
/// switches off. `openapi_url` is where the app serves its OpenAPI document (as the
/// browser must request it, a mount prefix included) and `api_title` its title, which
/// names the pages unless `config` does.
pub(crate) fn ui_routes(
    config: &DocsConfig,
    openapi_url: &str,
    api_title: &str,
) -> Vec<(String, Endpoint)> {
    let mut routes: Vec<(String, Endpoint)> = Vec::new();
    let Some(assets) = config.get_assets_url() else {
        return routes;
    };
    let mut serve = |asset: &'static Asset| {
        routes.push((asset.path(&assets), Arc::new(asset.service())));
    };
    if config.get_docs_url().is_some() {
        serve(&assets::SWAGGER_UI_JS);
        serve(&assets::SWAGGER_UI_CSS);
        if config.get_oauth2_redirect_url().is_some() {
            serve(&assets::OAUTH2_REDIRECT_JS);
        }
    }
    if config.get_redoc_url().is_some() && assets::REDOC_JS.is_embedded() {
        serve(&assets::REDOC_JS);
    }
    serve(&assets::FAVICON);
    serve(&assets::LICENSES);

    if let Some(url) = config.get_docs_url() {
        let title = config.swagger_ui_title_for(api_title);
        let page = swagger::page(config, &title, openapi_url, &assets);
        routes.push((url.into(), html_page(page)));
    }
    if let Some(url) = config.get_oauth2_redirect_url() {
        routes.push((
            url.into(),
            html_page(swagger::oauth2_redirect_page(&assets)),
        ));
    }
    if let Some(url) = config.get_redoc_url() {
        let title = config.redoc_title_for(api_title);
        routes.push((
            url.into(),
            html_page(redoc::page(&title, openapi_url, &assets)),
        ));
    }
    routes
}

/// An endpoint that answers with the same HTML page every time.
fn html_page(page: String) -> Endpoint {
    let page = Bytes::from(page);
    Arc::new(service_fn(move |_| {
        let page = page.clone();
        async move { Html(page).into_response() }
    }))
}
