//! The routes every app gets for its documentation: the OpenAPI document and the pages
//! that show it (Swagger UI, ReDoc, their assets). They answer only paths the app's own
//! routes do not, so they cost the routed requests nothing, and they are not in the
//! document themselves (FastAPI's `include_in_schema=False`).

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;
use http::{Method, header};
use serde_json::Value;

use super::{App, Endpoint, RouteInfo};
use crate::openapi::ApiInfo;
use crate::openapi::document::{self, Describe};
use crate::openapi::ui::{self, DocsConfig};
use crate::response::{APPLICATION_JSON, IntoResponse};
use crate::service::ResponseFuture;
use crate::{Body, Request, Response};

/// An app's documentation settings, and its document once built.
pub(super) struct DocsRoutes {
    pub(super) info: ApiInfo,
    pub(super) openapi_url: Option<String>,
    /// The app-level dependencies' descriptions, applied to every operation.
    pub(super) dependencies: Vec<Describe>,
    /// The pages' settings.
    pub(super) ui: DocsConfig,
    /// The document, serialized on first request: the routes are all known by then.
    spec: OnceLock<Bytes>,
    /// The pages and their assets by path, made on first request.
    pages: OnceLock<HashMap<String, Endpoint>>,
}

impl Default for DocsRoutes {
    fn default() -> DocsRoutes {
        DocsRoutes {
            info: ApiInfo::default(),
            openapi_url: Some("/openapi.json".to_string()),
            dependencies: Vec::new(),
            ui: DocsConfig::new(),
            spec: OnceLock::new(),
            pages: OnceLock::new(),
        }
    }
}

impl DocsRoutes {
    /// The document of `routes`.
    pub(super) fn document(&self, routes: &[RouteInfo]) -> Value {
        document::build(&self.info, &self.dependencies, routes)
    }

    /// The answer to `request` if it asks for the documentation.
    pub(super) fn call(
        &self,
        routes: &[RouteInfo],
        request: &mut Request,
    ) -> Option<ResponseFuture> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return None;
        }
        let path = request.uri().path();
        if self.openapi_url.as_deref() == Some(path) {
            let spec = self.spec.get_or_init(|| {
                let document = self.document(routes);
                Bytes::from(serde_json::to_vec(&document).expect("a JSON value serializes"))
            });
            return Some(ready(json_response(spec.clone())));
        }
        // No document, no pages (FastAPI's `openapi_url=None` turns the docs off).
        let openapi_url = self.openapi_url.as_deref()?;
        let pages = self.pages.get_or_init(|| {
            ui::ui_routes(&self.ui, openapi_url, self.info.title())
                .into_iter()
                .collect()
        });
        let endpoint = pages.get(path)?;
        Some(endpoint.call(std::mem::take(request)))
    }
}

fn json_response(body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, APPLICATION_JSON);
    response
}

fn ready(response: impl IntoResponse) -> ResponseFuture {
    Box::pin(std::future::ready(response.into_response()))
}

impl<S: Send + Sync + 'static> App<S> {
    /// Sets the document's `info`, `servers` and `tags` (FastAPI's `title`, `version`,
    /// `description`, `openapi_tags`, ...).
    pub fn info(mut self, info: ApiInfo) -> App<S> {
        self.docs.info = info;
        self
    }

    /// Serves the OpenAPI document at `url` (`/openapi.json` by default); `None` serves
    /// none, and no documentation pages either, as FastAPI's `openapi_url=None`.
    ///
    /// # Panics
    ///
    /// If `url` does not start with `/`.
    pub fn openapi_url(mut self, url: Option<&str>) -> App<S> {
        if let Some(url) = url {
            assert!(
                url.starts_with('/'),
                "the OpenAPI URL starts with '/': {url:?}"
            );
        }
        self.docs.openapi_url = url.map(str::to_string);
        self
    }

    /// Sets where Swagger UI (`/docs`) and ReDoc (`/redoc`) are served, their titles and
    /// options, or switches them off (FastAPI's `docs_url`, `redoc_url`,
    /// `swagger_ui_parameters`, ...). They are served from assets built into the binary:
    /// no CDN is needed at run time.
    ///
    /// ```
    /// use corio_web::App;
    /// use corio_web::openapi::ui::DocsConfig;
    /// use corio_web::testing::TestClient;
    ///
    /// let app = App::new().docs(DocsConfig::new().docs_url(Some("/api-docs")).redoc_url(None));
    /// corio::run(async move {
    ///     let client = TestClient::new(app);
    ///     let page = client.get("/api-docs").send().await;
    ///     assert_eq!(page.status(), 200);
    ///     assert!(page.text().contains("swagger-ui"));
    ///     assert_eq!(client.get("/redoc").send().await.status(), 404);
    /// });
    /// ```
    pub fn docs(mut self, config: DocsConfig) -> App<S> {
        self.docs.ui = config;
        self
    }

    /// The app's OpenAPI 3.1 document, as served at `/openapi.json` (FastAPI's
    /// `app.openapi()`).
    pub fn openapi(&self) -> Value {
        self.docs.document(&self.route_info)
    }
}
