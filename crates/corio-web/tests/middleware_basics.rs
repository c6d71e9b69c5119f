//! Middleware through the test client: function middleware, request ids, access logs, and
//! the order layers run in.

use std::sync::{Arc, Mutex};

use corio_web::http::{HeaderValue, StatusCode};
use corio_web::middleware::{AccessLog, Next, RequestId, RequestIdLayer, ServiceExt, from_fn};
use corio_web::testing::TestClient;
use corio_web::{App, Body, IntoResponse, Request, Response, Service, service_fn};

async fn hello() -> &'static str {
    "hello"
}

/// Echoes the request id a handler sees, or "none".
async fn whoami(id: Option<RequestId>) -> String {
    id.map_or_else(|| "none".to_string(), |id| id.to_string())
}

#[test]
fn function_middleware_can_change_the_request_and_the_response() {
    async fn tag(mut request: Request, next: Next) -> Response {
        request
            .headers_mut()
            .insert("x-seen-by", HeaderValue::from_static("tag"));
        let mut response = next.run(request).await;
        response
            .headers_mut()
            .insert("x-tagged", HeaderValue::from_static("yes"));
        response
    }
    let echo = service_fn(|request: Request| async move {
        let seen = request.headers().get("x-seen-by").cloned();
        let text = match seen {
            Some(value) => format!("seen by {}", value.to_str().unwrap()),
            None => "unseen".to_string(),
        };
        Response::new(Body::from(text))
    });
    corio::run(async move {
        let client = TestClient::new(echo.layer(from_fn(tag)));
        let response = client.get("/").send().await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text(), "seen by tag");
        assert_eq!(response.header("x-tagged"), Some("yes"));
    });
}

#[test]
fn function_middleware_can_answer_without_calling_the_app() {
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    let app = service_fn(move |_: Request| {
        *counted.lock().unwrap() += 1;
        async { Response::new(Body::from("inner")) }
    });
    let gate = from_fn(|request: Request, next: Next| async move {
        if request.uri().path() == "/blocked" {
            // Any IntoResponse works as the answer.
            return (StatusCode::FORBIDDEN, "go away").into_response();
        }
        next.run(request).await
    });
    corio::run(async move {
        let client = TestClient::new(app.layer(gate));
        let blocked = client.get("/blocked").send().await;
        assert_eq!(blocked.status(), StatusCode::FORBIDDEN);
        assert_eq!(blocked.text(), "go away");
        assert_eq!(
            blocked.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(*calls.lock().unwrap(), 0);
        assert_eq!(client.get("/open").send().await.text(), "inner");
        assert_eq!(*calls.lock().unwrap(), 1);
    });
}

#[test]
fn function_middleware_may_return_a_result() {
    let auth = from_fn(|request: Request, next: Next| async move {
        if request.headers().contains_key("authorization") {
            Ok(next.run(request).await)
        } else {
            Err(corio_web::HttpError::new(401, "Not authenticated"))
        }
    });
    corio::run(async move {
        let client = TestClient::new(App::new().get("/", hello).layer(auth));
        let refused = client.get("/").send().await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refused.text(), r#"{"detail":"Not authenticated"}"#);
        let allowed = client.get("/").header("authorization", "x").send().await;
        assert_eq!(allowed.text(), "hello");
    });
}

#[test]
fn the_last_layer_is_the_outermost() {
    /// Appends `name` to `x-trail` on the way in and on the way out.
    fn trail(name: &'static str) -> impl corio_web::middleware::Layer {
        from_fn(move |mut request: Request, next: Next| async move {
            let before = request
                .headers()
                .get("x-trail")
                .map_or(String::new(), |v| v.to_str().unwrap().to_string());
            let value = HeaderValue::from_str(&format!("{before}>{name}")).unwrap();
            request.headers_mut().insert("x-trail", value);
            let mut response = next.run(request).await;
            let before = response
                .headers()
                .get("x-trail")
                .map_or(String::new(), |v| v.to_str().unwrap().to_string());
            let value = HeaderValue::from_str(&format!("{before}<{name}")).unwrap();
            response.headers_mut().insert("x-trail", value);
            response
        })
    }
    let app = service_fn(|request: Request| async move {
        let trail = request.headers()["x-trail"].to_str().unwrap().to_string();
        let mut response = Response::new(Body::from(trail.clone()));
        response.headers_mut().insert(
            "x-trail",
            HeaderValue::from_str(&format!("{trail}|")).unwrap(),
        );
        response
    });
    corio::run(async move {
        let client = TestClient::new(app.layer(trail("a")).layer(trail("b")));
        let response = client.get("/").send().await;
        assert_eq!(response.text(), ">b>a");
        assert_eq!(response.header("x-trail"), Some(">b>a|<a<b"));
    });
}

#[test]
fn a_sane_incoming_request_id_is_kept_and_echoed() {
    corio::run(async {
        let app = App::new().get("/", whoami).layer(RequestIdLayer::new());
        let response = TestClient::new(app)
            .get("/")
            .header("x-request-id", "abc-123:XYZ")
            .send()
            .await;
        assert_eq!(response.text(), "abc-123:XYZ");
        assert_eq!(response.header("x-request-id"), Some("abc-123:XYZ"));
    });
}

#[test]
fn missing_or_insane_request_ids_are_replaced_with_fresh_ones() {
    corio::run(async {
        let client = TestClient::new(App::new().get("/", whoami).layer(RequestIdLayer::new()));
        let long = "a".repeat(129);
        let mut seen = Vec::new();
        for incoming in [None, Some("has space"), Some("x\"y"), Some(long.as_str())] {
            let mut request = client.get("/");
            if let Some(id) = incoming {
                request = request.header("x-request-id", id);
            }
            let response = request.send().await;
            let echoed = response.header("x-request-id").unwrap().to_string();
            assert_eq!(response.text(), echoed, "the handler sees the echoed id");
            assert_eq!(echoed.len(), 32, "{echoed}");
            assert!(echoed.bytes().all(|b| b.is_ascii_hexdigit()), "{echoed}");
            seen.push(echoed);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 4, "every request got its own id");
    });
}

#[test]
fn request_ids_can_ignore_the_client_and_use_another_header() {
    corio::run(async {
        let layer = RequestIdLayer::new()
            .header(corio_web::http::HeaderName::from_static("x-correlation-id"))
            .trust_incoming(false);
        let client = TestClient::new(App::new().get("/", whoami).layer(layer));
        let response = client
            .get("/")
            .header("x-correlation-id", "chosen-by-client")
            .send()
            .await;
        let id = response.header("x-correlation-id").unwrap();
        assert_ne!(id, "chosen-by-client");
        assert_eq!(id.len(), 32);
        assert_eq!(response.text(), id);
        assert_eq!(response.header("x-request-id"), None);
    });
}

#[test]
fn the_request_id_extractor_is_a_500_without_the_layer() {
    async fn needs_id(id: RequestId) -> String {
        id.to_string()
    }
    corio::run(async {
        let client = TestClient::new(App::new().get("/", needs_id).get("/opt", whoami));
        assert_eq!(client.get("/").send().await.status(), 500);
        assert_eq!(client.get("/opt").send().await.text(), "none");
    });
}

#[test]
fn an_application_set_request_id_header_is_left_alone() {
    let app = service_fn(|_: Request| async {
        let mut response = Response::new(Body::empty());
        response
            .headers_mut()
            .insert("x-request-id", HeaderValue::from_static("upstream-7"));
        response
    });
    corio::run(async move {
        let client = TestClient::new(app.layer(RequestIdLayer::new()));
        let response = client.get("/").header("x-request-id", "mine").send().await;
        assert_eq!(response.header("x-request-id"), Some("upstream-7"));
    });
}

// ---- access log: a subscriber that records events as text ----

mod capture {
    use std::fmt::{self, Write};
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// One event: its level, target and fields as `name=value` (Debug-formatted values).
    #[derive(Debug, Clone)]
    pub struct Logged {
        pub level: tracing::Level,
        pub target: String,
        pub fields: Vec<(String, String)>,
    }

    impl Logged {
        pub fn field(&self, name: &str) -> Option<&str> {
            self.fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    #[derive(Clone, Default)]
    pub struct Capture(pub Arc<Mutex<Vec<Logged>>>);

    struct Fields(Vec<(String, String)>);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            let mut text = String::new();
            write!(text, "{value:?}").unwrap();
            self.0.push((field.name().to_string(), text));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push((field.name().to_string(), value.to_string()));
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut fields = Fields(Vec::new());
            event.record(&mut fields);
            self.0.lock().unwrap().push(Logged {
                level: *event.metadata().level(),
                target: event.metadata().target().to_string(),
                fields: fields.0,
            });
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}

/// Runs `requests` against `service`, returning the access-log events.
fn access_events(
    service: impl Service,
    requests: impl AsyncFnOnce(TestClient),
) -> Vec<capture::Logged> {
    let capture = capture::Capture::default();
    let events = capture.0.clone();
    // The test client polls the service on the thread that runs corio::run's future,
    // so a thread-local subscriber sees the events.
    tracing::subscriber::with_default(capture, || {
        corio::run(async move { requests(TestClient::new(service)).await })
    });
    let events = events.lock().unwrap().clone();
    events
        .into_iter()
        .filter(|e| e.target == "corio_web::access")
        .collect()
}

#[test]
fn access_logs_have_one_event_per_request_with_the_request_id() {
    let app = App::new()
        .get("/items/{id}", hello)
        .layer(AccessLog::new())
        .layer(RequestIdLayer::new());
    let events = access_events(app, async |client| {
        let response = client
            .get("/items/5?token=secret")
            .header("x-request-id", "req-42")
            .send()
            .await;
        assert_eq!(response.text(), "hello");
        assert_eq!(client.post("/nowhere").send().await.status(), 404);
    });
    assert_eq!(events.len(), 2, "{events:?}");
    let first = &events[0];
    assert_eq!(first.level, tracing::Level::INFO);
    assert_eq!(first.field("message"), Some("GET /items/5 200"));
    assert_eq!(first.field("method"), Some("GET"));
    assert_eq!(first.field("path"), Some("/items/5"), "no query string");
    assert_eq!(first.field("status"), Some("200"));
    assert_eq!(first.field("request_id"), Some("req-42"));
    let duration: f64 = first.field("duration_ms").unwrap().parse().unwrap();
    assert!((0.0..60_000.0).contains(&duration), "{duration}");
    let second = &events[1];
    assert_eq!(second.field("message"), Some("POST /nowhere 404"));
    assert_eq!(second.field("status"), Some("404"));
    assert_eq!(second.field("request_id").map(str::len), Some(32));
}

#[test]
fn access_logs_read_the_id_from_the_response_when_the_id_layer_is_inside() {
    let app = App::new()
        .get("/", hello)
        .layer(RequestIdLayer::new())
        .layer(AccessLog::new());
    let events = access_events(app, async |client| {
        client
            .get("/")
            .header("x-request-id", "inner-1")
            .send()
            .await;
    });
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].field("request_id"), Some("inner-1"));
}

#[test]
fn access_logs_without_a_request_id_leave_the_field_out() {
    let events = access_events(
        App::new().get("/", hello).layer(AccessLog::new()),
        async |client| {
            client.head("/").send().await;
        },
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].field("message"), Some("HEAD / 200"));
    assert_eq!(events[0].field("request_id"), None);
}
