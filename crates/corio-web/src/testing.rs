//! [`TestClient`]: calls an application in-process, with no sockets, as FastAPI's
//! `TestClient` does.
//!
//! ```
//! use corio_web::testing::TestClient;
//! use corio_web::{Request, Response, Body, service_fn};
//!
//! corio::run(async {
//!     let app = service_fn(|request: Request| async move {
//!         Response::new(Body::from(format!("you asked for {}", request.uri())))
//!     });
//!     let client = TestClient::new(app);
//!     let response = client.get("/items/5?q=x").send().await;
//!     assert_eq!(response.status(), 200);
//!     assert_eq!(response.text(), "you asked for /items/5?q=x");
//! });
//! ```
//!
//! The request goes through the application exactly as the server would hand it over:
//! with a [`ConnectInfo`] (from `127.0.0.1:50000` to `127.0.0.1:80`) in its extensions and a
//! `content-length` header when the body has one. A `HEAD` response's body is dropped, as
//! the server does. A panic in the application is not caught: it fails the test.
//!
//! The response's background tasks ([`BackgroundTasks`](crate::depends::BackgroundTasks))
//! run after its body was read, before `send` returns, so a test sees what they did.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::body::BoxError;
use crate::depends::AfterResponse;
use crate::service::ConnectInfo;
use crate::{Body, Request, Service};

/// The largest response body a [`TestClient`] reads (64 MiB).
const MAX_TEST_BODY: usize = 64 << 20;

/// Sends requests to an application in-process. Cheap to clone.
#[derive(Clone)]
pub struct TestClient {
    service: Arc<dyn Service>,
}

impl TestClient {
    /// A client for `service` (an `App`, or any [`Service`]).
    pub fn new(service: impl Service) -> TestClient {
        TestClient {
            service: Arc::new(service),
        }
    }

    /// Runs the application's startup hooks ([`Lifespan`](crate::service::Lifespan)), as
    /// FastAPI's `with TestClient(app):` does on entry; nothing if it has none.
    pub async fn startup(&self) -> Result<(), BoxError> {
        match self.service.lifespan() {
            Some(lifespan) => lifespan.startup().await,
            None => Ok(()),
        }
    }

    /// Runs the application's shutdown hooks, as leaving FastAPI's
    /// `with TestClient(app):` does.
    pub async fn shutdown(&self) -> Result<(), BoxError> {
        match self.service.lifespan() {
            Some(lifespan) => lifespan.shutdown().await,
            None => Ok(()),
        }
    }

    /// Starts a request with `method` to `uri` (a path with an optional query).
    pub fn request(&self, method: Method, uri: &str) -> TestRequest {
        TestRequest {
            client: self.clone(),
            method,
            uri: uri.to_string(),
            headers: HeaderMap::new(),
            body: Body::empty(),
        }
    }

    /// Starts a `GET` request.
    pub fn get(&self, uri: &str) -> TestRequest {
        self.request(Method::GET, uri)
    }

    /// Starts a `POST` request.
    pub fn post(&self, uri: &str) -> TestRequest {
        self.request(Method::POST, uri)
    }

    /// Starts a `PUT` request.
    pub fn put(&self, uri: &str) -> TestRequest {
        self.request(Method::PUT, uri)
    }

    /// Starts a `PATCH` request.
    pub fn patch(&self, uri: &str) -> TestRequest {
        self.request(Method::PATCH, uri)
    }

    /// Starts a `DELETE` request.
    pub fn delete(&self, uri: &str) -> TestRequest {
        self.request(Method::DELETE, uri)
    }

    /// Starts a `HEAD` request.
    pub fn head(&self, uri: &str) -> TestRequest {
        self.request(Method::HEAD, uri)
    }

    /// Starts an `OPTIONS` request.
    pub fn options(&self, uri: &str) -> TestRequest {
        self.request(Method::OPTIONS, uri)
    }
}

/// A request being built; [`send`](TestRequest::send) it.
pub struct TestRequest {
    client: TestClient,
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Body,
}

impl TestRequest {
    /// Adds a header.
    ///
    /// # Panics
    ///
    /// If the name or value is not valid in a header (a test's mistake).
    pub fn header(mut self, name: &str, value: &str) -> TestRequest {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("invalid header name");
        let value = HeaderValue::from_str(value).expect("invalid header value");
        self.headers.append(name, value);
        self
    }

    /// Sets the body, leaving the content type to the caller.
    pub fn body(mut self, body: impl Into<Body>) -> TestRequest {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and `content-type: application/json`.
    ///
    /// # Panics
    ///
    /// If `value` cannot be serialized.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> TestRequest {
        let bytes = serde_json::to_vec(value).expect("the test's JSON body serializes");
        self.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self.body = Body::from(bytes);
        self
    }

    /// Sets a form body (`application/x-www-form-urlencoded`) from name/value pairs.
    pub fn form(mut self, fields: &[(&str, &str)]) -> TestRequest {
        let encoded = fields
            .iter()
            .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        self.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self.body = Body::from(encoded);
        self
    }

    /// Sets a `multipart/form-data` body (text fields and files) and its content type, as
    /// FastAPI's `TestClient(files=..., data=...)` does.
    ///
    /// ```
    /// use corio_web::App;
    /// use corio_web::extract::{MultipartForm, UploadFile};
    /// use corio_web::testing::{MultipartBody, TestClient};
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize, schemars::JsonSchema)]
    /// struct Upload { title: String, file: UploadFile }
    ///
    /// async fn upload(MultipartForm(form): MultipartForm<Upload>) -> String {
    ///     format!("{}: {} bytes", form.title, form.file.len())
    /// }
    ///
    /// corio::run(async {
    ///     let client = TestClient::new(App::new().post("/upload", upload));
    ///     let body = MultipartBody::new()
    ///         .text("title", "notes")
    ///         .file("file", "notes.txt", "text/plain", "hello");
    ///     let response = client.post("/upload").multipart(body).send().await;
    ///     assert_eq!(response.text(), "notes: 5 bytes");
    /// });
    /// ```
    pub fn multipart(mut self, body: MultipartBody) -> TestRequest {
        let (content_type, bytes) = body.encode();
        self.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&content_type).expect("the boundary is a valid header value"),
        );
        self.body = Body::from(bytes);
        self
    }

    /// Sends the request through the application, reads the whole response, then runs
    /// its background tasks.
    ///
    /// # Panics
    ///
    /// If the URI is invalid, or the response body cannot be read (a test's mistake or
    /// a broken stream).
    pub async fn send(self) -> TestResponse {
        let TestRequest {
            client,
            method,
            uri,
            mut headers,
            body,
        } = self;
        if let Some(len) = body.exact_len()
            && !headers.contains_key(header::CONTENT_LENGTH)
            && (len > 0 || method == Method::POST)
        {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        let mut request = Request::new(body);
        *request.method_mut() = method.clone();
        *request.uri_mut() = uri.parse().expect("invalid request URI");
        *request.headers_mut() = headers;
        request.extensions_mut().insert(ConnectInfo {
            peer: SocketAddr::from((Ipv4Addr::LOCALHOST, 50000)),
            local: SocketAddr::from((Ipv4Addr::LOCALHOST, 80)),
        });
        let mut response = client.service.call(request).await;
        let after = AfterResponse::take(&mut response);
        let (parts, body) = response.into_parts();
        let body = if method == Method::HEAD {
            Bytes::new()
        } else {
            body.to_bytes(MAX_TEST_BODY)
                .await
                .expect("the response body can be read")
        };
        if let Some(after) = after {
            after.run_then_resume().await;
        }
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

/// A `multipart/form-data` body for [`TestRequest::multipart`]: text fields and files, in
/// the order they are added.
#[derive(Clone, Debug, Default)]
pub struct MultipartBody {
    parts: Vec<MultipartPart>,
}

#[derive(Clone, Debug)]
struct MultipartPart {
    name: String,
    /// `(filename, content type)` for a file.
    file: Option<(String, String)>,
    data: Bytes,
}

impl MultipartBody {
    /// An empty body (no parts).
    pub fn new() -> MultipartBody {
        MultipartBody::default()
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> MultipartBody {
        self.parts.push(MultipartPart {
            name: name.to_owned(),
            file: None,
            data: Bytes::copy_from_slice(value.as_bytes()),
        });
        self
    }

    /// Adds a file: a part with a `filename` and a `Content-Type`.
    pub fn file(
        mut self,
        name: &str,
        filename: &str,
        content_type: &str,
        data: impl Into<Bytes>,
    ) -> MultipartBody {
        self.parts.push(MultipartPart {
            name: name.to_owned(),
            file: Some((filename.to_owned(), content_type.to_owned())),
            data: data.into(),
        });
        self
    }

    /// The `Content-Type` (with its boundary) and the encoded body. The boundary is one
    /// that no part's data contains.
    pub fn encode(&self) -> (String, Bytes) {
        let contains = |haystack: &[u8], needle: &[u8]| {
            haystack
                .windows(needle.len())
                .any(|window| window == needle)
        };
        let mut boundary = String::from("corio-test-boundary-a4c1f0");
        let mut n = 0u32;
        while self
            .parts
            .iter()
            .any(|part| contains(&part.data, boundary.as_bytes()))
        {
            n += 1;
            boundary = format!("corio-test-boundary-a4c1f0-{n}");
        }
        let mut out = Vec::new();
        for part in &self.parts {
            out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let mut disposition = format!(
                "Content-Disposition: form-data; name=\"{}\"",
                quote(&part.name)
            );
            if let Some((filename, _)) = &part.file {
                disposition.push_str(&format!("; filename=\"{}\"", quote(filename)));
            }
            out.extend_from_slice(disposition.as_bytes());
            out.extend_from_slice(b"\r\n");
            if let Some((_, content_type)) = &part.file {
                out.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&part.data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (
            format!("multipart/form-data; boundary={boundary}"),
            Bytes::from(out),
        )
    }
}

/// A name in a quoted `Content-Disposition` parameter, escaped as browsers escape it.
fn quote(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl TestResponse {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as text, if present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON into `T`.
    ///
    /// # Panics
    ///
    /// If the body is not JSON of that shape; the message shows the body.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(e) => panic!(
                "response body is not the JSON expected ({e}): {}",
                self.text()
            ),
        }
    }
}

/// Percent-encodes a form field as `application/x-www-form-urlencoded` does (space as `+`).
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The environment variable naming an OpenAPI validator command (`openapi-spec-validator`
/// from PyPI; `.ci/run` installs it) for [`assert_valid_openapi`].
pub const OPENAPI_VALIDATOR_ENV: &str = "CORIO_OPENAPI_VALIDATOR";

/// Asserts that `document` is a valid OpenAPI 3.1 document.
///
/// Always checks what JSON Schema cannot ([`openapi::check::problems`]: every `$ref`
/// resolves, path parameters are declared, operation ids are unique). When the
/// environment variable [`OPENAPI_VALIDATOR_ENV`] names a validator command, the document
/// is also written to a temporary file and validated with it, and a failure shows the
/// validator's report; `name` names the file.
///
/// [`openapi::check::problems`]: crate::openapi::check::problems
///
/// # Panics
///
/// If the document is invalid, or the validator cannot be run.
pub fn assert_valid_openapi(name: &str, document: &serde_json::Value) {
    let problems = crate::openapi::check::problems(document);
    assert!(
        problems.is_empty(),
        "the OpenAPI document of {name} is inconsistent:\n{}",
        problems.join("\n")
    );
    let Some(validator) = std::env::var_os(OPENAPI_VALIDATOR_ENV) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("corio-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating a temporary directory");
    let file = dir.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(document).expect("a JSON value serializes");
    std::fs::write(&file, text).expect("writing the document");
    let output = std::process::Command::new(&validator)
        .arg("--schema")
        .arg("3.1")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("running the OpenAPI validator {validator:?}: {e}"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the OpenAPI document of {name} ({}) is invalid:\n{report}",
        file.display()
    );
    let _ = std::fs::remove_file(&file);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Response, service_fn};

    /// Echoes the request back as JSON: method, uri, headers and body.
    fn echo() -> TestClient {
        TestClient::new(service_fn(|request: Request| async move {
            let (parts, body) = request.into_parts();
            let body = body.to_bytes(1 << 20).await.unwrap();
            let info = parts.extensions.get::<ConnectInfo>().copied();
            let value = serde_json::json!({
                "method": parts.method.as_str(),
                "uri": parts.uri.to_string(),
                "content_type": parts.headers.get("content-type").map(|v| v.to_str().unwrap()),
                "content_length": parts.headers.get("content-length").map(|v| v.to_str().unwrap()),
                "x_token": parts.headers.get("x-token").map(|v| v.to_str().unwrap()),
                "body": String::from_utf8_lossy(&body),
                "peer": info.map(|i| i.peer.to_string()),
            });
            let mut response = Response::new(Body::from(value.to_string()));
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            response
        }))
    }

    #[test]
    fn requests_arrive_as_the_server_would_hand_them_over() {
        corio::run(async {
            let response = echo()
                .post("/items/?q=1")
                .header("x-token", "secret")
                .json(&serde_json::json!({"name": "Foo"}))
                .send()
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.header("content-type"), Some("application/json"));
            let got: serde_json::Value = response.json();
            assert_eq!(
                got,
                serde_json::json!({
                    "method": "POST",
                    "uri": "/items/?q=1",
                    "content_type": "application/json",
                    "content_length": "14",
                    "x_token": "secret",
                    "body": "{\"name\":\"Foo\"}",
                    "peer": "127.0.0.1:50000",
                })
            );
        });
    }

    #[test]
    fn forms_are_url_encoded() {
        corio::run(async {
            let got: serde_json::Value = echo()
                .post("/login")
                .form(&[("username", "j doe"), ("password", "a&b=c")])
                .send()
                .await
                .json();
            assert_eq!(got["body"], "username=j+doe&password=a%26b%3Dc");
            assert_eq!(got["content_type"], "application/x-www-form-urlencoded");
        });
    }

    #[test]
    fn head_responses_have_no_body() {
        corio::run(async {
            let response = echo().head("/").send().await;
            assert_eq!(response.status(), StatusCode::OK);
            assert!(response.bytes().is_empty());
            let got: serde_json::Value = echo().get("/").send().await.json();
            assert_eq!(
                got["content_length"],
                serde_json::Value::Null,
                "no body, no length"
            );
        });
    }

    #[test]
    #[should_panic(expected = "not the JSON expected")]
    fn json_of_the_wrong_shape_panics_with_the_body() {
        corio::run(async {
            let response = echo().get("/").send().await;
            let _: Vec<u8> = response.json();
        });
    }
}
