//! [`Cors`]: Cross-Origin Resource Sharing, with the options and answers of Starlette's
//! (and so FastAPI's) `CORSMiddleware`.
//!
//! A request without `Origin` is not a CORS request and passes through untouched. An
//! `OPTIONS` request with `Origin` and `Access-Control-Request-Method` is a preflight: the
//! middleware answers it itself, `200 OK` when the origin, method and headers asked for are
//! all allowed and `400 Disallowed CORS origin, method, headers` (the failing parts) when
//! not, with the allow headers either way (the browser enforces the policy; the 400 is for
//! humans reading the network tab). Any other request with `Origin` goes to the
//! application and its response is marked with the allow headers.
//!
//! Unlike Starlette, a policy that lists origins (rather than allowing `*`) puts
//! `Vary: Origin` on every response, including those to refused origins and to requests
//! without `Origin`: each of them depends on the origin, and a shared cache that stored
//! one unmarked would serve it to the allowed origins too (the Fetch standard's "CORS
//! protocol and HTTP caches").

use std::sync::Arc;

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION, COOKIE, ORIGIN,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use regex::Regex;

use super::Layer;
use super::vary::add_vary;
use crate::response::IntoResponse;
use crate::service::ResponseFuture;
use crate::{Request, Response, Service};

/// What `allow_methods(["*"])` stands for.
const ALL_METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/// Request headers a browser may send cross-origin without asking; always allowed.
const SAFELISTED_HEADERS: [&str; 4] = [
    "Accept",
    "Accept-Language",
    "Content-Language",
    "Content-Type",
];

/// CORS middleware, configured as Starlette's `CORSMiddleware` is and answering as it does.
///
/// Defaults are Starlette's: no origin allowed, `GET` only, the safelisted headers only, no
/// credentials, nothing exposed, preflights cached for 600 seconds.
///
/// ```
/// use corio_web::App;
/// use corio_web::middleware::{Cors, ServiceExt};
/// use corio_web::testing::TestClient;
///
/// async fn items() -> &'static str {
///     "[]"
/// }
///
/// let cors = Cors::new()
///     .allow_origins(["https://app.example.org"])
///     .allow_methods(["GET", "POST"])
///     .allow_headers(["X-Token"])
///     .allow_credentials(true);
/// let app = App::new().get("/items", items).layer(cors);
/// corio::run(async move {
///     let client = TestClient::new(app);
///     let preflight = client
///         .options("/items")
///         .header("origin", "https://app.example.org")
///         .header("access-control-request-method", "POST")
///         .header("access-control-request-headers", "x-token")
///         .send()
///         .await;
///     assert_eq!((preflight.status().as_u16(), preflight.text()), (200, "OK".into()));
///     assert_eq!(preflight.header("access-control-allow-origin"), Some("https://app.example.org"));
///     assert_eq!(preflight.header("access-control-allow-methods"), Some("GET, POST"));
///
///     let denied = client
///         .options("/items")
///         .header("origin", "https://evil.example")
///         .header("access-control-request-method", "DELETE")
///         .send()
///         .await;
///     assert_eq!(denied.status(), 400);
///     assert_eq!(denied.text(), "Disallowed CORS origin, method");
///
///     let simple = client.get("/items").header("origin", "https://app.example.org").send().await;
///     assert_eq!(simple.text(), "[]");
///     assert_eq!(simple.header("access-control-allow-origin"), Some("https://app.example.org"));
///     assert_eq!(simple.header("access-control-allow-credentials"), Some("true"));
///     assert_eq!(simple.header("vary"), Some("Origin"));
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Cors {
    origins: Vec<String>,
    origin_regex: Option<Regex>,
    methods: Vec<String>,
    headers: Vec<String>,
    credentials: bool,
    expose: Vec<String>,
    max_age: u64,
}

impl Default for Cors {
    fn default() -> Cors {
        Cors::new()
    }
}

impl Cors {
    /// Starlette's defaults: nothing cross-origin is allowed until configured.
    pub fn new() -> Cors {
        Cors {
            origins: Vec::new(),
            origin_regex: None,
            methods: vec!["GET".to_string()],
            headers: Vec::new(),
            credentials: false,
            expose: Vec::new(),
            max_age: 600,
        }
    }

    /// The origins allowed (`https://example.org`, compared exactly); `"*"` among them
    /// allows any origin. Replaces any list set before.
    pub fn allow_origins<I>(mut self, origins: I) -> Cors
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Also allows origins that `pattern` matches in full (`https://.*\.example\.org`).
    ///
    /// # Panics
    ///
    /// If `pattern` is not a valid regular expression (a programming error, reported at
    /// start-up).
    pub fn allow_origin_regex(mut self, pattern: &str) -> Cors {
        // Anchored, as Python's `re.fullmatch` is: `https://a\.com` must not allow
        // `https://a.com.evil.net`.
        match Regex::new(&format!("^(?:{pattern})$")) {
            Ok(regex) => self.origin_regex = Some(regex),
            Err(e) => panic!("Cors::allow_origin_regex: invalid pattern {pattern:?}: {e}"),
        }
        self
    }

    /// The methods allowed in preflights (compared exactly, so in upper case: `"GET"`,
    /// `"POST"`); `"*"` among them allows the seven standard ones. Default: `GET`.
    ///
    /// # Panics
    ///
    /// If a method is not a valid method token.
    pub fn allow_methods<I>(mut self, methods: I) -> Cors
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let methods: Vec<String> = methods
            .into_iter()
            .map(|m| m.as_ref().to_string())
            .collect();
        self.methods = if methods.iter().any(|m| m == "*") {
            ALL_METHODS.iter().map(|m| m.to_string()).collect()
        } else {
            for method in &methods {
                assert!(
                    Method::from_bytes(method.as_bytes()).is_ok(),
                    "Cors::allow_methods: invalid method {method:?}"
                );
            }
            methods
        };
        self
    }

    /// The request headers allowed beyond the safelisted ones (`Accept`,
    /// `Accept-Language`, `Content-Language`, `Content-Type`), compared case-insensitively;
    /// `"*"` among them allows any (preflights then echo the headers asked for).
    ///
    /// # Panics
    ///
    /// If a name is not a valid header name.
    pub fn allow_headers<I>(mut self, headers: I) -> Cors
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.headers = header_names("allow_headers", headers);
        self
    }

    /// Whether cross-origin requests may carry credentials (cookies, `Authorization`):
    /// sends `Access-Control-Allow-Credentials: true`, and the origin itself rather than
    /// `*`. Default: `false`.
    pub fn allow_credentials(mut self, allow: bool) -> Cors {
        self.credentials = allow;
        self
    }

    /// The response headers the browser lets the page read
    /// (`Access-Control-Expose-Headers`).
    ///
    /// # Panics
    ///
    /// If a name is not a valid header name.
    pub fn expose_headers<I>(mut self, headers: I) -> Cors
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.expose = header_names("expose_headers", headers);
        self
    }

    /// How long, in seconds, browsers may cache a preflight's answer. Default: 600.
    pub fn max_age(mut self, seconds: u64) -> Cors {
        self.max_age = seconds;
        self
    }
}

/// The names in `names`, checked to be header names (or `*`), spelling kept.
fn header_names<I>(option: &str, names: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    names
        .into_iter()
        .map(|name| {
            let name = name.as_ref();
            assert!(
                name == "*" || HeaderName::from_bytes(name.as_bytes()).is_ok(),
                "Cors::{option}: invalid header name {name:?}"
            );
            name.to_string()
        })
        .collect()
}

/// `items` joined with `, ` as a header value. Every item was checked to be a token (a
/// method or header name), so the value is valid; an empty value is the fallback if not.
fn joined(items: &[String]) -> HeaderValue {
    HeaderValue::from_str(&items.join(", ")).unwrap_or(HeaderValue::from_static(""))
}

impl Layer for Cors {
    fn wrap(self, inner: Arc<dyn Service>) -> Arc<dyn Service> {
        Arc::new(CorsService {
            policy: Arc::new(Policy::new(self)),
            inner,
        })
    }
}

/// The configuration turned into the headers each kind of answer carries, computed once.
struct Policy {
    origins: Vec<String>,
    origin_regex: Option<Regex>,
    any_origin: bool,
    methods: Vec<String>,
    /// Allowed request headers in lower case (safelisted included), for preflight checks.
    headers_lower: Vec<String>,
    any_header: bool,
    credentials: bool,
    /// A preflight answers with the origin itself (and `Vary: Origin`) rather than `*`:
    /// when origins are listed, or when credentials forbid `*`.
    preflight_names_origin: bool,
    /// Every response depends on the request's origin (origins are listed, not `*`), so
    /// every response carries `Vary: Origin`.
    vary_always: bool,
    /// Set on every response to a CORS request that is not a preflight.
    simple_headers: Vec<(HeaderName, HeaderValue)>,
    /// Set on every preflight answer, allowed or not.
    preflight_headers: Vec<(HeaderName, HeaderValue)>,
}

impl Policy {
    fn new(cors: Cors) -> Policy {
        let any_origin = cors.origins.iter().any(|o| o == "*");
        let any_header = cors.headers.iter().any(|h| h == "*");
        let preflight_names_origin = !any_origin || cors.credentials;

        let mut simple_headers = Vec::new();
        if any_origin {
            simple_headers.push((ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")));
        }
        if cors.credentials {
            simple_headers.push((
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            ));
        }
        if !cors.expose.is_empty() {
            simple_headers.push((ACCESS_CONTROL_EXPOSE_HEADERS, joined(&cors.expose)));
        }

        // The safelisted headers and the configured ones, sorted as Starlette sorts them
        // (by code point); a name configured in another case than a safelisted one is
        // listed once.
        let mut allowed: Vec<String> = SAFELISTED_HEADERS.iter().map(|h| h.to_string()).collect();
        for header in &cors.headers {
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(header)) {
                allowed.push(header.clone());
            }
        }
        allowed.sort();

        let mut preflight_headers = Vec::new();
        if preflight_names_origin {
            preflight_headers.push((http::header::VARY, HeaderValue::from_static("Origin")));
        } else {
            preflight_headers.push((ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")));
        }
        preflight_headers.push((ACCESS_CONTROL_ALLOW_METHODS, joined(&cors.methods)));
        preflight_headers.push((ACCESS_CONTROL_MAX_AGE, HeaderValue::from(cors.max_age)));
        if !any_header {
            preflight_headers.push((ACCESS_CONTROL_ALLOW_HEADERS, joined(&allowed)));
        }
        if cors.credentials {
            preflight_headers.push((
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            ));
        }

        Policy {
            origins: cors.origins,
            origin_regex: cors.origin_regex,
            any_origin,
            methods: cors.methods,
            headers_lower: allowed.iter().map(|h| h.to_ascii_lowercase()).collect(),
            any_header,
            credentials: cors.credentials,
            preflight_names_origin,
            vary_always: !any_origin,
            simple_headers,
            preflight_headers,
        }
    }

    fn allows_origin(&self, origin: &HeaderValue) -> bool {
        if self.any_origin {
            return true;
        }
        // An origin that is not text matches nothing configured.
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        self.origin_regex
            .as_ref()
            .is_some_and(|regex| regex.is_match(origin))
            || self.origins.iter().any(|allowed| allowed == origin)
    }

    /// The answer to a preflight from `origin`.
    fn preflight(&self, request: &HeaderMap, origin: &HeaderValue) -> Response {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.preflight_headers {
            headers.insert(name.clone(), value.clone());
        }
        let mut failures = Vec::new();

        if self.allows_origin(origin) {
            if self.preflight_names_origin {
                headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            }
        } else {
            failures.push("origin");
        }

        let method = request
            .get(ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| m.to_str().ok());
        if !method.is_some_and(|method| self.methods.iter().any(|m| m == method)) {
            failures.push("method");
        }

        if let Some(requested) = request.get(ACCESS_CONTROL_REQUEST_HEADERS) {
            if self.any_header {
                // Allowing any header means echoing the ones asked for: `*` is not
                // honoured by browsers for credentialed requests.
                headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
            } else if !self.allows_headers(requested) {
                failures.push("headers");
            }
        }

        let mut response = if failures.is_empty() {
            "OK".into_response()
        } else {
            let text = format!("Disallowed CORS {}", failures.join(", "));
            (StatusCode::BAD_REQUEST, text).into_response()
        };
        response.headers_mut().extend(headers);
        response
    }

    /// Whether every header named in an `Access-Control-Request-Headers` value is allowed.
    fn allows_headers(&self, requested: &HeaderValue) -> bool {
        let Ok(requested) = requested.to_str() else {
            return false;
        };
        // Compared in place: no lower-cased copy of each name per preflight.
        requested.split(',').all(|name| {
            let name = name.trim();
            self.headers_lower
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(name))
        })
    }

    /// Marks the response to a non-preflight CORS request from `origin`.
    fn mark(
        &self,
        headers: &mut HeaderMap,
        origin: HeaderValue,
        cookie: bool,
        authorization: bool,
    ) {
        for (name, value) in &self.simple_headers {
            headers.insert(name.clone(), value.clone());
        }
        let name_origin = if self.any_origin {
            // `*` does not cover a request that carries credentials: name the origin.
            cookie || (self.credentials && authorization)
        } else {
            self.allows_origin(&origin)
        };
        if name_origin {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        if name_origin || self.vary_always {
            add_vary(headers, "Origin");
        }
    }
}

struct CorsService {
    policy: Arc<Policy>,
    inner: Arc<dyn Service>,
}

impl Service for CorsService {
    /// The application's start-up and shutdown hooks, through this middleware.
    fn lifespan(&self) -> Option<&dyn crate::service::Lifespan> {
        self.inner.lifespan()
    }

    fn call(&self, request: Request) -> ResponseFuture {
        let Some(origin) = request.headers().get(ORIGIN).cloned() else {
            if !self.policy.vary_always {
                return self.inner.call(request);
            }
            // Not CORS, but had it come with an allowed origin the answer would differ.
            let response = self.inner.call(request);
            return Box::pin(async move {
                let mut response = response.await;
                add_vary(response.headers_mut(), "Origin");
                response
            });
        };
        if request.method() == Method::OPTIONS
            && request
                .headers()
                .contains_key(ACCESS_CONTROL_REQUEST_METHOD)
        {
            let response = self.policy.preflight(request.headers(), &origin);
            return Box::pin(std::future::ready(response));
        }
        let cookie = request.headers().contains_key(COOKIE);
        let authorization = request.headers().contains_key(AUTHORIZATION);
        let policy = self.policy.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await;
            policy.mark(response.headers_mut(), origin, cookie, authorization);
            response
        })
    }
}
