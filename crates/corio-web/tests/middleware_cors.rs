//! CORS through the test client, checked against what Starlette's `CORSMiddleware`
//! answers for the same configuration and requests.

use corio_web::http::HeaderValue;
use corio_web::middleware::{Cors, ServiceExt};
use corio_web::testing::{TestClient, TestResponse};
use corio_web::{App, Body, Request, Response, service_fn};

async fn homepage() -> &'static str {
    "Homepage"
}

fn client(cors: Cors) -> TestClient {
    TestClient::new(App::new().get("/", homepage).layer(cors))
}

/// Every `access-control-*` and `vary` header, sorted, as `name: value` lines.
fn cors_headers(response: &TestResponse) -> Vec<String> {
    let mut lines: Vec<String> = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-") || *name == "vary")
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
        .collect();
    lines.sort();
    lines
}

async fn preflight(
    client: &TestClient,
    origin: &str,
    method: &str,
    headers: Option<&str>,
) -> TestResponse {
    let mut request = client
        .options("/")
        .header("origin", origin)
        .header("access-control-request-method", method);
    if let Some(headers) = headers {
        request = request.header("access-control-request-headers", headers);
    }
    request.send().await
}

fn allow_all(credentials: bool) -> Cors {
    Cors::new()
        .allow_origins(["*"])
        .allow_methods(["*"])
        .allow_headers(["*"])
        .expose_headers(["X-Status"])
        .allow_credentials(credentials)
}

#[test]
fn allow_all_with_credentials_names_the_origin_in_preflights() {
    corio::run(async {
        let client = client(allow_all(true));
        let response = preflight(&client, "https://example.org", "GET", Some("X-Example")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.text(), "OK");
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(
            cors_headers(&response),
            [
                "access-control-allow-credentials: true",
                "access-control-allow-headers: X-Example",
                "access-control-allow-methods: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
                "access-control-allow-origin: https://example.org",
                "access-control-max-age: 600",
                "vary: Origin",
            ]
        );
    });
}

#[test]
fn allow_all_with_credentials_uses_a_star_unless_the_request_carries_credentials() {
    corio::run(async {
        let client = client(allow_all(true));
        let plain = client
            .get("/")
            .header("origin", "https://example.org")
            .send()
            .await;
        assert_eq!(plain.text(), "Homepage");
        assert_eq!(
            cors_headers(&plain),
            [
                "access-control-allow-credentials: true",
                "access-control-allow-origin: *",
                "access-control-expose-headers: X-Status",
            ]
        );
        for (name, value) in [("cookie", "session=1"), ("authorization", "Bearer t")] {
            let carrying = client
                .get("/")
                .header("origin", "https://example.org")
                .header(name, value)
                .send()
                .await;
            assert_eq!(
                cors_headers(&carrying),
                [
                    "access-control-allow-credentials: true",
                    "access-control-allow-origin: https://example.org",
                    "access-control-expose-headers: X-Status",
                    "vary: Origin",
                ],
                "{name}"
            );
        }
        let not_cors = client.get("/").send().await;
        assert_eq!(not_cors.text(), "Homepage");
        assert!(cors_headers(&not_cors).is_empty());
    });
}

#[test]
fn allow_all_without_credentials_answers_with_a_star() {
    corio::run(async {
        let client = client(allow_all(false));
        let response = preflight(&client, "https://example.org", "PATCH", None).await;
        assert_eq!(
            (response.status().as_u16(), response.text()),
            (200, "OK".into())
        );
        assert_eq!(
            cors_headers(&response),
            [
                "access-control-allow-methods: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
                "access-control-allow-origin: *",
                "access-control-max-age: 600",
            ]
        );
        // An authorization header alone does not need the origin named without
        // credentials; a cookie always does (as in Starlette).
        let authorized = client
            .get("/")
            .header("origin", "https://example.org")
            .header("authorization", "Bearer t")
            .send()
            .await;
        assert_eq!(authorized.header("access-control-allow-origin"), Some("*"));
        let cookie = client
            .get("/")
            .header("origin", "https://example.org")
            .header("cookie", "a=b")
            .send()
            .await;
        assert_eq!(
            cookie.header("access-control-allow-origin"),
            Some("https://example.org")
        );
    });
}

fn specific() -> Cors {
    Cors::new()
        .allow_origins(["https://example.org"])
        .allow_headers(["X-Example", "Content-Type"])
        .max_age(1200)
}

#[test]
fn specific_origins_are_named_and_headers_listed_sorted() {
    corio::run(async {
        let client = client(specific());
        let response = preflight(
            &client,
            "https://example.org",
            "GET",
            Some("X-Example, content-type"),
        )
        .await;
        assert_eq!(
            (response.status().as_u16(), response.text()),
            (200, "OK".into())
        );
        assert_eq!(
            cors_headers(&response),
            [
                "access-control-allow-headers: Accept, Accept-Language, Content-Language, Content-Type, X-Example",
                "access-control-allow-methods: GET",
                "access-control-allow-origin: https://example.org",
                "access-control-max-age: 1200",
                "vary: Origin",
            ]
        );
        let simple = client
            .get("/")
            .header("origin", "https://example.org")
            .send()
            .await;
        assert_eq!(simple.text(), "Homepage");
        assert_eq!(
            cors_headers(&simple),
            [
                "access-control-allow-origin: https://example.org",
                "vary: Origin"
            ]
        );
    });
}

#[test]
fn disallowed_preflights_are_a_400_naming_what_failed() {
    corio::run(async {
        let client = client(specific());
        let all = preflight(&client, "https://another.org", "POST", Some("X-Nope")).await;
        assert_eq!(all.status(), 400);
        assert_eq!(all.text(), "Disallowed CORS origin, method, headers");
        assert_eq!(
            all.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(
            cors_headers(&all),
            [
                "access-control-allow-headers: Accept, Accept-Language, Content-Language, Content-Type, X-Example",
                "access-control-allow-methods: GET",
                "access-control-max-age: 1200",
                "vary: Origin",
            ],
            "no allow-origin for a refused origin"
        );
        let method = preflight(&client, "https://example.org", "get", None).await;
        assert_eq!(
            method.text(),
            "Disallowed CORS method",
            "methods compare exactly"
        );
        assert_eq!(
            method.header("access-control-allow-origin"),
            Some("https://example.org")
        );
        let headers = preflight(
            &client,
            "https://example.org",
            "GET",
            Some("x-example, x-other"),
        )
        .await;
        assert_eq!(headers.text(), "Disallowed CORS headers");
        let origin = preflight(&client, "https://example.org.evil.net", "GET", None).await;
        assert_eq!(origin.text(), "Disallowed CORS origin");
    });
}

#[test]
fn disallowed_simple_requests_reach_the_app_unmarked() {
    corio::run(async {
        let client = client(specific());
        let response = client
            .get("/")
            .header("origin", "https://another.org")
            .send()
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.text(), "Homepage");
        // No allow-origin; only the `Vary` every answer of a listed-origins policy has.
        assert_eq!(cors_headers(&response), ["vary: Origin"]);
    });
}

/// With origins listed, whether a response names its origin depends on the `Origin` the
/// request had, so every response says so (the Fetch standard's "CORS protocol and HTTP
/// caches"). Without it, a shared cache that stored the answer to a refused origin, or to
/// a request with no `Origin` at all (a navigation), hands that unmarked answer to the
/// allowed origin, whose requests then fail until the entry expires. Starlette adds
/// `Vary: Origin` only when it names the origin.
#[test]
fn responses_that_depend_on_the_origin_vary_on_it() {
    corio::run(async {
        let listed = client(specific());
        for origin in [None, Some("https://another.org")] {
            let mut request = listed.get("/");
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            let response = request.send().await;
            assert_eq!(response.text(), "Homepage");
            assert_eq!(cors_headers(&response), ["vary: Origin"], "{origin:?}");
        }
        // A `*` for everyone does not depend on the origin.
        let star = client(allow_all(false));
        assert!(cors_headers(&star.get("/").send().await).is_empty());
    });
}

#[test]
fn origin_regexes_must_match_the_whole_origin() {
    corio::run(async {
        let client = client(
            Cors::new()
                .allow_origin_regex(r"https://.*\.example\.org")
                .allow_origins(["https://listed.net"]),
        );
        for (origin, allowed) in [
            ("https://api.example.org", true),
            ("https://a.b.example.org", true),
            ("https://listed.net", true),
            ("https://example.org", false),
            ("https://api.example.org.evil.net", false),
            ("http://api.example.org", false),
        ] {
            let response = preflight(&client, origin, "GET", None).await;
            assert_eq!(
                response.status() == 200,
                allowed,
                "{origin}: {}",
                response.text()
            );
            let simple = client.get("/").header("origin", origin).send().await;
            let named = simple.header("access-control-allow-origin");
            assert_eq!(named, allowed.then_some(origin), "{origin}");
        }
    });
}

#[test]
fn vary_from_the_app_is_kept() {
    let app = service_fn(|_: Request| async {
        let mut response = Response::new(Body::from("x"));
        response
            .headers_mut()
            .insert("vary", HeaderValue::from_static("Accept-Encoding"));
        response
    });
    corio::run(async move {
        let client = TestClient::new(app.layer(specific()));
        let response = client
            .get("/")
            .header("origin", "https://example.org")
            .send()
            .await;
        assert_eq!(response.header("vary"), Some("Accept-Encoding, Origin"));
    });
}

#[test]
fn options_without_a_requested_method_go_to_the_app() {
    corio::run(async {
        let client = client(allow_all(false));
        // Not a preflight: the app answers (its 405 for a GET-only route).
        let response = client
            .options("/")
            .header("origin", "https://example.org")
            .send()
            .await;
        assert_eq!(response.status(), 405);
        assert_eq!(response.header("allow"), Some("GET, HEAD"));
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
        // Without Origin it is not CORS at all, even with the request-method header.
        let response = client
            .options("/")
            .header("access-control-request-method", "GET")
            .send()
            .await;
        assert_eq!(response.status(), 405);
        assert!(cors_headers(&response).is_empty());
    });
}

#[test]
fn the_defaults_allow_nothing_cross_origin() {
    corio::run(async {
        let client = client(Cors::new());
        let response = preflight(&client, "https://example.org", "GET", Some("Accept")).await;
        assert_eq!(response.text(), "Disallowed CORS origin");
        assert_eq!(
            cors_headers(&response),
            [
                "access-control-allow-headers: Accept, Accept-Language, Content-Language, Content-Type",
                "access-control-allow-methods: GET",
                "access-control-max-age: 600",
                "vary: Origin",
            ]
        );
    });
}

#[test]
fn non_text_origins_are_refused_not_a_panic() {
    corio::run(async {
        let mut request = Request::new(Body::empty());
        *request.method_mut() = corio_web::http::Method::OPTIONS;
        request.headers_mut().insert(
            "origin",
            HeaderValue::from_bytes(b"https://\xffexample.org").unwrap(),
        );
        request.headers_mut().insert(
            "access-control-request-method",
            HeaderValue::from_bytes(b"G\xffT").unwrap(),
        );
        // Through the service directly: the test client only sends text headers.
        let service = App::new().get("/", homepage).layer(specific());
        let response = corio_web::Service::call(&service, request).await;
        assert_eq!(response.status(), 400);
        let body = response.into_body().to_bytes(1024).await.unwrap();
        assert_eq!(body, "Disallowed CORS origin, method");
    });
}

#[test]
#[should_panic(expected = "invalid pattern")]
fn an_invalid_origin_regex_is_reported_at_start_up() {
    let _ = Cors::new().allow_origin_regex("https://(unclosed");
}

#[test]
#[should_panic(expected = "invalid header name")]
fn an_invalid_header_name_is_reported_at_start_up() {
    let _ = Cors::new().allow_headers(["X Bad"]);
}
