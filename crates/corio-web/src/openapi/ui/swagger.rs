//! The Swagger UI page and its OAuth2 redirect page.

use serde_json::{Map, Value, json};

use super::DocsConfig;
use super::assets::{FAVICON, OAUTH2_REDIRECT_JS, SWAGGER_UI_CSS, SWAGGER_UI_JS};
use super::html::{escape, script_json};

/// The Swagger UI page: `title`, showing the document at `openapi_url`, its files under
/// `assets`.
pub(super) fn page(config: &DocsConfig, title: &str, openapi_url: &str, assets: &str) -> String {
    let options = bundle_options(config, openapi_url);
    let init_oauth = match config.get_init_oauth() {
        Some(options) => format!("ui.initOAuth({});\n", script_json(options)),
        None => String::new(),
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" type="text/css" href="{css}">
<link rel="icon" type="image/png" href="{favicon}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{js}"></script>
<script>
"use strict";
const options = {options};
// The authorization server needs an absolute redirect URI; the page knows its origin.
if (typeof options.oauth2RedirectUrl === "string") {{
  options.oauth2RedirectUrl = new URL(options.oauth2RedirectUrl, window.location.href).href;
}}
options.presets = [SwaggerUIBundle.presets.apis];
const ui = SwaggerUIBundle(options);
window.ui = ui;
{init_oauth}</script>
</body>
</html>
"#,
        title = escape(title),
        css = escape(&SWAGGER_UI_CSS.url(assets)),
        favicon = escape(&FAVICON.url(assets)),
        js = escape(&SWAGGER_UI_JS.url(assets)),
        options = script_json(&Value::Object(options)),
    )
}

/// `SwaggerUIBundle`'s options: FastAPI's defaults (and no online validator), the document's URL and the OAuth2
/// redirect page's, then the application's parameters over them.
fn bundle_options(config: &DocsConfig, openapi_url: &str) -> Map<String, Value> {
    let mut options = json!({
        "url": openapi_url,
        "dom_id": "#swagger-ui",
        "layout": "BaseLayout",
        "deepLinking": true,
        "showExtensions": true,
        "showCommonExtensions": true,
        // Offline: no badge that sends the document's URL to swagger.io's validator.
        "validatorUrl": null,
    });
    let options = options.as_object_mut().expect("an object literal");
    if let Some(redirect) = config.get_oauth2_redirect_url() {
        options.insert("oauth2RedirectUrl".into(), redirect.into());
    }
    options.extend(config.get_swagger_ui_parameters().clone());
    std::mem::take(options)
}

/// The page an authorization server redirects the browser to after the user logged in:
/// Swagger UI's script hands the code or token to the window that opened it.
pub(super) fn oauth2_redirect_page(assets: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Swagger UI: OAuth2 redirect</title>
</head>
<body>
<script src="{js}"></script>
</body>
</html>
"#,
        js = escape(&OAUTH2_REDIRECT_JS.url(assets)),
    )
}
