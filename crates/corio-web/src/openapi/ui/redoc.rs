//! The ReDoc page.

use super::assets::{FAVICON, REDOC_JS, REDOC_VERSION};
use super::html::escape;

/// The ReDoc page: `title`, showing the document at `openapi_url`, its files under
/// `assets`. If the build could not embed ReDoc, the page says so and links the document.
pub(super) fn page(title: &str, openapi_url: &str, assets: &str) -> String {
    let content = if REDOC_JS.is_embedded() {
        format!(
            r#"<redoc spec-url="{spec}"></redoc>
<script src="{js}"></script>"#,
            spec = escape(openapi_url),
            js = escape(&REDOC_JS.url(assets)),
        )
    } else {
        format!(
            r#"<p style="font-family: sans-serif; margin: 2em">ReDoc {REDOC_VERSION} is missing: this
server was built without it (its build could not download it). The OpenAPI document is at
<a href="{spec}">{spec}</a>.</p>"#,
            spec = escape(openapi_url),
        )
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{favicon}">
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
{content}
</body>
</html>
"#,
        title = escape(title),
        favicon = escape(&FAVICON.url(assets)),
    )
}
