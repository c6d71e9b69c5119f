//! [`DocsConfig`]: where the documentation pages are, what they are called, and how
//! Swagger UI starts.

use serde_json::{Map, Value};

/// The documentation pages of an application: Swagger UI (`/docs`), ReDoc (`/redoc`) and
/// Swagger UI's OAuth2 redirect page (`/docs/oauth2-redirect`), as FastAPI's `docs_url`,
/// `redoc_url`, `swagger_ui_oauth2_redirect_url`, `swagger_ui_parameters` and
/// `swagger_ui_init_oauth`.
///
/// A URL set to `None` switches that page off (and, with both pages off, their assets).
///
/// ```
/// use corio_web::openapi::ui::DocsConfig;
/// use serde_json::json;
///
/// let docs = DocsConfig::new()
///     .docs_url(Some("/api/docs"))
///     .redoc_url(None)
///     .title("Items - API reference")
///     .persist_authorization(true)
///     .swagger_ui_parameters(json!({"deepLinking": false, "tryItOutEnabled": true}))
///     .init_oauth(json!({"clientId": "docs", "usePkceWithAuthorizationCodeGrant": true}));
/// assert_eq!(docs.get_docs_url(), Some("/api/docs"));
/// assert_eq!(docs.get_redoc_url(), None);
/// assert_eq!(docs.get_assets_url().as_deref(), Some("/api/docs/assets"));
/// assert_eq!(docs.swagger_ui_title_for("Items"), "Items - API reference");
/// assert_eq!(docs.get_swagger_ui_parameters()["persistAuthorization"], true);
/// ```
#[derive(Clone, Debug)]
pub struct DocsConfig {
    swagger_ui_title: Option<String>,
    redoc_title: Option<String>,
    docs_url: Option<String>,
    redoc_url: Option<String>,
    oauth2_redirect_url: Option<String>,
    assets_url: Option<String>,
    swagger_ui_parameters: Map<String, Value>,
    init_oauth: Option<Value>,
}

impl Default for DocsConfig {
    fn default() -> DocsConfig {
        DocsConfig::new()
    }
}

impl DocsConfig {
    /// FastAPI's defaults: Swagger UI at `/docs`, ReDoc at `/redoc`, the OAuth2 redirect
    /// page at `/docs/oauth2-redirect`, titles from the API's title.
    pub fn new() -> DocsConfig {
        DocsConfig {
            swagger_ui_title: None,
            redoc_title: None,
            docs_url: Some("/docs".into()),
            redoc_url: Some("/redoc".into()),
            oauth2_redirect_url: Some("/docs/oauth2-redirect".into()),
            assets_url: None,
            swagger_ui_parameters: Map::new(),
            init_oauth: None,
        }
    }

    /// The title of both pages (the `<title>`, what a browser tab shows). By default each
    /// page is titled after the API: "Items - Swagger UI", "Items - ReDoc".
    pub fn title(self, title: &str) -> DocsConfig {
        self.swagger_ui_title(title).redoc_title(title)
    }

    /// The title of the Swagger UI page only (see [`title`](DocsConfig::title)).
    pub fn swagger_ui_title(mut self, title: &str) -> DocsConfig {
        self.swagger_ui_title = Some(title.into());
        self
    }

    /// The title of the ReDoc page only (see [`title`](DocsConfig::title)).
    pub fn redoc_title(mut self, title: &str) -> DocsConfig {
        self.redoc_title = Some(title.into());
        self
    }

    /// Where Swagger UI is served (`/docs` by default); `None` switches it off, and its
    /// OAuth2 redirect page with it.
    pub fn docs_url(mut self, url: Option<&str>) -> DocsConfig {
        self.docs_url = url.map(Into::into);
        self
    }

    /// Where ReDoc is served (`/redoc` by default); `None` switches it off.
    pub fn redoc_url(mut self, url: Option<&str>) -> DocsConfig {
        self.redoc_url = url.map(Into::into);
        self
    }

    /// Where Swagger UI's OAuth2 redirect page is served (`/docs/oauth2-redirect` by
    /// default), also what Swagger UI tells authorization servers to redirect to
    /// (`oauth2RedirectUrl`, made absolute by the page). `None` switches it off, for APIs
    /// without OAuth2 authorization-code or implicit flows.
    pub fn oauth2_redirect_url(mut self, url: Option<&str>) -> DocsConfig {
        self.oauth2_redirect_url = url.map(Into::into);
        self
    }

    /// Where the pages' scripts, stylesheet and icon are served: by default `assets/`
    /// under the Swagger UI page (`/docs/assets`), or under the ReDoc page when Swagger UI
    /// is off.
    pub fn assets_url(mut self, url: &str) -> DocsConfig {
        self.assets_url = Some(url.trim_end_matches('/').into());
        self
    }

    /// Options for `SwaggerUIBundle`, merged over corio-web's, as FastAPI's
    /// `swagger_ui_parameters`. The defaults are FastAPI's (`dom_id`, `layout:
    /// "BaseLayout"`, `deepLinking`, `showExtensions`, `showCommonExtensions`) and
    /// `validatorUrl: null` (no online validator). Later calls merge over earlier ones.
    /// Swagger UI's configuration lists the options, e.g. `{"syntaxHighlight": false}`,
    /// `{"docExpansion": "none"}`, `{"tryItOutEnabled": true}`.
    ///
    /// # Panics
    ///
    /// If `parameters` is not a JSON object.
    pub fn swagger_ui_parameters(mut self, parameters: Value) -> DocsConfig {
        let Value::Object(parameters) = parameters else {
            panic!("swagger_ui_parameters must be a JSON object, not {parameters}");
        };
        self.swagger_ui_parameters.extend(parameters);
        self
    }

    /// Whether Swagger UI keeps what was entered with "Authorize" across reloads (in the
    /// browser's local storage); off by default. The same as the `persistAuthorization`
    /// parameter.
    pub fn persist_authorization(self, on: bool) -> DocsConfig {
        self.swagger_ui_parameters(serde_json::json!({ "persistAuthorization": on }))
    }

    /// The argument of Swagger UI's `initOAuth` (FastAPI's `swagger_ui_init_oauth`): the
    /// OAuth2 client the "Authorize" dialog uses, e.g. `{"clientId": "docs",
    /// "usePkceWithAuthorizationCodeGrant": true}`. Not called unless set.
    ///
    /// # Panics
    ///
    /// If `options` is not a JSON object.
    pub fn init_oauth(mut self, options: Value) -> DocsConfig {
        assert!(
            options.is_object(),
            "init_oauth must be a JSON object, not {options}"
        );
        self.init_oauth = Some(options);
        self
    }

    /// Where Swagger UI is served, if it is.
    pub fn get_docs_url(&self) -> Option<&str> {
        self.docs_url.as_deref()
    }

    /// Where ReDoc is served, if it is.
    pub fn get_redoc_url(&self) -> Option<&str> {
        self.redoc_url.as_deref()
    }

    /// Where the OAuth2 redirect page is served: nowhere if it is off or Swagger UI is.
    pub fn get_oauth2_redirect_url(&self) -> Option<&str> {
        self.docs_url.as_ref()?;
        self.oauth2_redirect_url.as_deref()
    }

    /// Where the pages' assets are served (see [`assets_url`](DocsConfig::assets_url));
    /// `None` when both pages are off.
    pub fn get_assets_url(&self) -> Option<String> {
        if let Some(url) = &self.assets_url {
            return Some(url.clone());
        }
        let page = self.docs_url.as_ref().or(self.redoc_url.as_ref())?;
        Some(format!("{}/assets", page.trim_end_matches('/')))
    }

    /// The options given to [`swagger_ui_parameters`](DocsConfig::swagger_ui_parameters)
    /// (and [`persist_authorization`](DocsConfig::persist_authorization)).
    pub fn get_swagger_ui_parameters(&self) -> &Map<String, Value> {
        &self.swagger_ui_parameters
    }

    /// The argument of `initOAuth`, if set.
    pub fn get_init_oauth(&self) -> Option<&Value> {
        self.init_oauth.as_ref()
    }

    /// The Swagger UI page's title for an API titled `api_title`.
    pub fn swagger_ui_title_for(&self, api_title: &str) -> String {
        match &self.swagger_ui_title {
            Some(title) => title.clone(),
            None => format!("{api_title} - Swagger UI"),
        }
    }

    /// The ReDoc page's title for an API titled `api_title`.
    pub fn redoc_title_for(&self, api_title: &str) -> String {
        match &self.redoc_title {
            Some(title) => title.clone(),
            None => format!("{api_title} - ReDoc"),
        }
    }
}
