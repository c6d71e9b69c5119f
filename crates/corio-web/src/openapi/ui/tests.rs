//! The pages and assets as a browser gets them: through an [`App`] and the test client.

use http::Method;
use serde_json::json;

use super::assets::{REDOC_JS, SWAGGER_UI_JS};
use super::{DocsConfig, ui_routes};
use crate::App;
use crate::testing::{TestClient, TestResponse};

const OPENAPI_URL: &str = "/openapi.json";

/// An app with the documentation routes `config` asks for as its own routes (its
/// built-in pages switched off, so that only these answer).
fn app_client(config: &DocsConfig) -> TestClient {
    let mut app = App::new().docs(DocsConfig::new().docs_url(None).redoc_url(None));
    for (path, endpoint) in ui_routes(config, OPENAPI_URL, "Items") {
        app = app.route_service(Method::GET, &path, endpoint);
    }
    TestClient::new(app)
}

fn get(client: &TestClient, uri: &str) -> TestResponse {
    corio::run(client.get(uri).send())
}

fn get_with(client: &TestClient, uri: &str, header: (&str, &str)) -> TestResponse {
    corio::run(client.get(uri).header(header.0, header.1).send())
}

/// The page at `uri`, checked to be HTML.
fn page(client: &TestClient, uri: &str) -> String {
    let response = get(client, uri);
    assert_eq!(response.status(), 200, "GET {uri}");
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    response.text()
}

/// The values of every `src="..."` and `href="..."` attribute of `html`, unescaped.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in [" src=\"", " href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            let value = &value[..value.find('"').unwrap()];
            found.push(value.replace("&amp;", "&"));
        }
    }
    found
}

/// The content type and smallest plausible size of an asset, from its file name.
fn expected(url: &str) -> (&'static str, usize) {
    let path = url.split('?').next().unwrap();
    match path.rsplit('.').next().unwrap() {
        "js" if path.ends_with("oauth2-redirect.js") => ("text/javascript; charset=utf-8", 500),
        "js" => ("text/javascript; charset=utf-8", 500_000),
        "css" => ("text/css; charset=utf-8", 50_000),
        "png" => ("image/png", 200),
        other => panic!("unexpected asset {url} ({other})"),
    }
}

/// Every URL `html` references is local and served, with its content type. Returns them,
/// less the OpenAPI document's (the app serves that, not these routes).
fn assert_references_served(client: &TestClient, html: &str) -> Vec<String> {
    let mut urls = references(html);
    urls.retain(|url| url != OPENAPI_URL);
    for url in &urls {
        assert!(url.starts_with('/'), "{url} is not a local URL");
        let response = get(client, url);
        assert_eq!(response.status(), 200, "GET {url}");
        let (content_type, min_size) = expected(url);
        assert_eq!(response.header("content-type"), Some(content_type), "{url}");
        assert!(response.bytes().len() >= min_size, "{url} is too small");
    }
    urls
}

#[test]
fn swagger_ui_page_loads_only_local_assets_that_are_served() {
    let client = app_client(&DocsConfig::new());
    let html = page(&client, "/docs");
    assert!(html.contains("<title>Items - Swagger UI</title>"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    let urls = assert_references_served(&client, &html);
    assert_eq!(urls.len(), 3, "stylesheet, icon, script: {urls:?}");
    assert!(urls.iter().all(|url| url.starts_with("/docs/assets/")));
    // The bundle is the one that defines what the page calls.
    let bundle = get(&client, &SWAGGER_UI_JS.url("/docs/assets"));
    assert!(bundle.text().contains("SwaggerUIBundle"));
    assert!(html.contains(r#""url":"/openapi.json""#));
    assert!(html.contains(r##""dom_id":"#swagger-ui""##));
    assert!(html.contains(r#""oauth2RedirectUrl":"/docs/oauth2-redirect""#));
    assert!(
        html.contains(r#""validatorUrl":null"#),
        "no online validator badge"
    );
    assert!(!html.contains("initOAuth"), "only when configured");
}

#[test]
fn oauth2_redirect_page_runs_swagger_uis_redirect_script() {
    let client = app_client(&DocsConfig::new());
    let html = page(&client, "/docs/oauth2-redirect");
    let urls = assert_references_served(&client, &html);
    assert_eq!(urls.len(), 1);
    let script = get(&client, &urls[0]).text();
    assert!(script.contains("swaggerUIRedirectOauth2"), "{script}");
}

#[test]
fn redoc_page_loads_only_local_assets_that_are_served() {
    let client = app_client(&DocsConfig::new());
    let html = page(&client, "/redoc");
    assert!(html.contains("<title>Items - ReDoc</title>"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    let urls = assert_references_served(&client, &html);
    if REDOC_JS.is_embedded() {
        assert!(html.contains(r#"<redoc spec-url="/openapi.json"></redoc>"#));
        assert_eq!(urls.len(), 2, "icon, script: {urls:?}");
        let script = get(&client, &REDOC_JS.url("/docs/assets")).text();
        assert!(script.contains("Redoc"));
        // The build took out the one file it loads from a CDN (Redocly's logo).
        assert!(!script.contains("cdn.redoc.ly"));
    } else {
        // Built without network: the page says so, and links the document.
        assert!(html.contains("is missing"), "{html}");
        assert!(html.contains(r#"<a href="/openapi.json">"#));
        assert_eq!(
            get(&client, "/docs/assets/redoc.standalone.js").status(),
            404
        );
    }
}

#[test]
fn licenses_of_the_embedded_files_are_served() {
    let client = app_client(&DocsConfig::new());
    let licenses = get(&client, "/docs/assets/THIRD-PARTY-LICENSES.txt");
    assert_eq!(
        licenses.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(licenses.text().contains("Apache License"));
    if REDOC_JS.is_embedded() {
        assert!(licenses.text().contains("ReDoc"));
    }
}

#[test]
fn assets_have_a_strong_etag_and_answer_304_when_it_matches() {
    let client = app_client(&DocsConfig::new());
    let url = SWAGGER_UI_JS.url("/docs/assets");
    let first = get(&client, &url);
    let etag = first.header("etag").unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
        "{etag}"
    );
    assert_eq!(
        first.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    let again = get_with(&client, &url, ("if-none-match", &etag));
    assert_eq!(again.status(), 304);
    assert!(again.bytes().is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    let weak_in_a_list = format!("\"other\", W/{etag}");
    let listed = get_with(&client, &url, ("if-none-match", &weak_in_a_list));
    assert_eq!(listed.status(), 304);

    let stale = get_with(&client, &url, ("if-none-match", "\"0123\""));
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.bytes(), first.bytes());

    // Without the page's version, a cache must ask again each time.
    let unversioned = get(&client, "/docs/assets/swagger-ui-bundle.js");
    assert_eq!(unversioned.status(), 200);
    assert_eq!(unversioned.header("cache-control"), Some("no-cache"));
    assert_eq!(unversioned.header("etag"), Some(etag.as_str()));
}

#[test]
fn a_page_switched_off_has_no_route() {
    let no_swagger = DocsConfig::new().docs_url(None);
    let paths: Vec<String> = ui_routes(&no_swagger, OPENAPI_URL, "Items")
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    assert!(
        !paths.iter().any(|path| path.starts_with("/docs")),
        "{paths:?}"
    );
    let client = app_client(&no_swagger);
    assert_eq!(get(&client, "/docs").status(), 404);
    assert_eq!(get(&client, "/docs/oauth2-redirect").status(), 404);
    // ReDoc carries on, with its assets under its own URL.
    let html = page(&client, "/redoc");
    let urls = assert_references_served(&client, &html);
    assert!(urls.iter().all(|url| url.starts_with("/redoc/assets/")));
    assert_eq!(
        get(&client, "/redoc/assets/swagger-ui-bundle.js").status(),
        404
    );

    let no_redoc = app_client(&DocsConfig::new().redoc_url(None));
    assert_eq!(get(&no_redoc, "/redoc").status(), 404);
    assert_eq!(
        get(&no_redoc, "/docs/assets/redoc.standalone.js").status(),
        404
    );
    assert_eq!(get(&no_redoc, "/docs").status(), 200);

    let no_redirect = app_client(&DocsConfig::new().oauth2_redirect_url(None));
    assert_eq!(get(&no_redirect, "/docs/oauth2-redirect").status(), 404);
    assert!(!page(&no_redirect, "/docs").contains("oauth2RedirectUrl\":"));

    let nothing = DocsConfig::new().docs_url(None).redoc_url(None);
    assert!(ui_routes(&nothing, OPENAPI_URL, "Items").is_empty());
}

#[test]
fn custom_urls_and_titles() {
    let config = DocsConfig::new()
        .docs_url(Some("/api/docs"))
        .redoc_url(Some("/api/reference"))
        .oauth2_redirect_url(Some("/api/docs/callback"))
        .swagger_ui_title("Try the Items API")
        .redoc_title("Items API reference");
    let client = app_client(&config);
    let swagger = page(&client, "/api/docs");
    assert!(swagger.contains("<title>Try the Items API</title>"));
    assert!(swagger.contains(r#""oauth2RedirectUrl":"/api/docs/callback""#));
    let urls = assert_references_served(&client, &swagger);
    assert!(urls.iter().all(|url| url.starts_with("/api/docs/assets/")));
    page(&client, "/api/docs/callback");
    let redoc = page(&client, "/api/reference");
    assert!(redoc.contains("<title>Items API reference</title>"));
    assert_references_served(&client, &redoc);
    assert_eq!(get(&client, "/docs").status(), 404);

    let shared = app_client(&DocsConfig::new().title("Same").assets_url("/static/docs/"));
    assert!(page(&shared, "/docs").contains("<title>Same</title>"));
    let redoc = page(&shared, "/redoc");
    assert!(redoc.contains("<title>Same</title>"));
    let urls = assert_references_served(&shared, &redoc);
    assert!(urls.iter().all(|url| url.starts_with("/static/docs/")));
}

#[test]
fn swagger_ui_parameters_merge_over_the_defaults_and_init_oauth_is_called() {
    let config = DocsConfig::new()
        .swagger_ui_parameters(json!({"deepLinking": false, "docExpansion": "none"}))
        .persist_authorization(true)
        .swagger_ui_parameters(json!({"docExpansion": "list"}))
        .init_oauth(json!({"clientId": "docs", "usePkceWithAuthorizationCodeGrant": true}));
    let html = page(&app_client(&config), "/docs");
    assert!(html.contains(r#""deepLinking":false"#), "{html}");
    assert!(!html.contains(r#""deepLinking":true"#));
    assert!(html.contains(r#""docExpansion":"list""#));
    assert!(html.contains(r#""persistAuthorization":true"#));
    assert!(
        html.contains(r#""showExtensions":true"#),
        "untouched defaults stay"
    );
    assert!(
        html.contains(
            r#"ui.initOAuth({"clientId":"docs","usePkceWithAuthorizationCodeGrant":true});"#
        ),
        "{html}"
    );
}

#[test]
fn titles_urls_and_parameters_are_escaped() {
    let evil = r#"</script><script>alert("x")</script> & 'quoted'"#;
    let config = DocsConfig::new()
        .title(evil)
        .swagger_ui_parameters(json!({"customSiteTitle": evil}));
    let mut app = App::new();
    for (path, endpoint) in ui_routes(&config, "/open\"api.json?a=1&b=</script>", "Items") {
        app = app.route_service(Method::GET, &path, endpoint);
    }
    let client = TestClient::new(app);
    for uri in ["/docs", "/redoc"] {
        let html = page(&client, uri);
        let escaped_title = "&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;";
        assert!(
            html.contains(&format!("<title>{escaped_title}</title>")),
            "{html}"
        );
        // Only the page's own script elements open and close.
        let scripts = html.matches("<script").count();
        assert_eq!(html.matches("</script>").count(), scripts, "{html}");
        assert!(!html.contains("alert(\"x\")"));
        assert!(!html.contains("b=</script>"));
    }
    let swagger = page(&client, "/docs");
    assert!(swagger.contains(r#""url":"/open\"api.json?a=1\u0026b=\u003c/script\u003e""#));
    assert!(swagger.contains(r#"\u003c/script\u003e\u003cscript\u003ealert(\"x\")"#));
    if REDOC_JS.is_embedded() {
        let redoc = page(&client, "/redoc");
        assert!(redoc.contains(r#"spec-url="/open&quot;api.json?a=1&amp;b=&lt;/script&gt;""#));
    }
}

#[test]
#[should_panic(expected = "must be a JSON object")]
fn swagger_ui_parameters_must_be_an_object() {
    let _ = DocsConfig::new().swagger_ui_parameters(json!(["deepLinking"]));
}
