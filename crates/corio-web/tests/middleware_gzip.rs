//! Gzip through the test client: what is compressed, what is not, and the exact headers
//! either way; streamed bodies are compressed as they stream.

use std::io::Read;
use std::time::Duration;

use bytes::Bytes;
use corio_web::http::{HeaderValue, StatusCode, header};
use corio_web::middleware::{Cors, Gzip, ServiceExt};
use corio_web::testing::{TestClient, TestResponse};
use corio_web::{Body, Request, Response, Service, service_fn};
use futures_util::{StreamExt, stream};

/// Headers an app adds to its response.
type Extra = &'static [(&'static str, &'static str)];

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a valid gzip stream");
    out
}

/// Some text that compresses well but not trivially.
fn text(len: usize) -> String {
    let mut text = String::new();
    let mut n = 0u64;
    while text.len() < len {
        text.push_str(&format!("line {n}: the quick brown fox {}\n", n % 7));
        n += 1;
    }
    text.truncate(len);
    text
}

/// An app answering every request with `body` as `content_type`, plus `extra` headers.
fn answering(status: u16, content_type: &'static str, body: String, extra: Extra) -> impl Service {
    service_fn(move |_: Request| {
        let body = body.clone();
        async move {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            for (name, value) in extra {
                headers.insert(*name, HeaderValue::from_static(value));
            }
            response
        }
    })
}

async fn get(service: impl Service, accept: Option<&str>) -> TestResponse {
    let client = TestClient::new(service);
    let mut request = client.get("/");
    if let Some(accept) = accept {
        request = request.header("accept-encoding", accept);
    }
    request.send().await
}

#[test]
fn large_text_is_gzipped_for_clients_that_accept_it() {
    corio::run(async {
        let body = text(5000);
        let app = answering(
            200,
            "text/plain; charset=utf-8",
            body.clone(),
            &[("content-length", "5000")],
        );
        let response = get(app.layer(Gzip::new()), Some("gzip, deflate, br")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(response.header("vary"), Some("Accept-Encoding"));
        assert_eq!(
            response.header("content-length"),
            None,
            "the stale length is dropped"
        );
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(response.bytes().len() < 1000, "{}", response.bytes().len());
        assert_eq!(gunzip(response.bytes()), body.as_bytes());
    });
}

#[test]
fn clients_that_do_not_accept_gzip_get_identity_but_still_vary() {
    corio::run(async {
        let body = text(5000);
        for accept in [None, Some("identity"), Some("br;q=1, gzip;q=0")] {
            let app = answering(200, "application/json", body.clone(), &[]);
            let response = get(app.layer(Gzip::new()), accept).await;
            assert_eq!(response.header("content-encoding"), None, "{accept:?}");
            assert_eq!(
                response.header("vary"),
                Some("Accept-Encoding"),
                "{accept:?}"
            );
            assert_eq!(response.text(), body);
        }
    });
}

#[test]
fn the_minimum_size_is_inclusive_and_configurable() {
    corio::run(async {
        let at = get(
            answering(200, "text/html", text(500), &[]).layer(Gzip::new()),
            Some("gzip"),
        )
        .await;
        assert_eq!(at.header("content-encoding"), Some("gzip"));
        assert_eq!(gunzip(at.bytes()), text(500).as_bytes());

        let below = get(
            answering(200, "text/html", text(499), &[]).layer(Gzip::new()),
            Some("gzip"),
        )
        .await;
        assert_eq!(below.header("content-encoding"), None);
        assert_eq!(
            below.header("vary"),
            None,
            "too small to ever be compressed"
        );
        assert_eq!(below.text(), text(499));

        let small = Gzip::new().minimum_size(10);
        let response = get(
            answering(200, "text/html", text(20), &[]).layer(small),
            Some("gzip"),
        )
        .await;
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(gunzip(response.bytes()), text(20).as_bytes());
    });
}

#[test]
fn levels_change_the_output_not_the_content() {
    corio::run(async {
        let body = text(20_000);
        let mut sizes = Vec::new();
        for level in [0, 1, 9, 42] {
            let app = answering(200, "text/plain", body.clone(), &[]);
            let response = get(app.layer(Gzip::new().level(level)), Some("gzip")).await;
            assert_eq!(response.header("content-encoding"), Some("gzip"));
            assert_eq!(gunzip(response.bytes()), body.as_bytes());
            sizes.push(response.bytes().len());
        }
        assert!(sizes[0] > body.len(), "level 0 stores: {sizes:?}");
        assert!(sizes[1] < body.len() / 3, "{sizes:?}");
        assert!(sizes[2] <= sizes[1], "{sizes:?}");
        assert_eq!(sizes[3], sizes[2], "levels past 9 are 9");
    });
}

#[test]
fn responses_gzip_must_not_touch_are_left_alone() {
    corio::run(async {
        let body = text(5000);
        let cases: [(u16, &'static str, Extra); 7] = [
            (200, "image/png", &[]),
            (200, "text/event-stream", &[]),
            (200, "text/plain", &[("content-encoding", "br")]),
            (
                200,
                "text/plain",
                &[("cache-control", "public, No-Transform")],
            ),
            (206, "text/plain", &[("content-range", "bytes 0-4999/9000")]),
            (204, "text/plain", &[]),
            (304, "text/plain", &[]),
        ];
        for (status, content_type, extra) in cases {
            let app = answering(status, content_type, body.clone(), extra);
            let response = get(app.layer(Gzip::new()), Some("gzip")).await;
            let case = format!("{status} {content_type} {extra:?}");
            assert_eq!(response.status().as_u16(), status, "{case}");
            // A 304 says what the 200 would vary on (RFC 9110, section 15.4.5).
            let vary = (status == 304).then_some("Accept-Encoding");
            assert_eq!(response.header("vary"), vary, "{case}");
            let encoding = extra
                .iter()
                .find(|(n, _)| *n == "content-encoding")
                .map(|(_, v)| *v);
            assert_eq!(response.header("content-encoding"), encoding, "{case}");
            assert_eq!(response.text(), body, "{case}");
        }
        // No content type: unknown bytes are not guessed at.
        let untyped = service_fn(|_: Request| async { Response::new(Body::from(text(5000))) });
        let response = get(untyped.layer(Gzip::new()), Some("gzip")).await;
        assert_eq!(response.header("content-encoding"), None);
    });
}

#[test]
fn head_requests_are_not_compressed_but_vary_as_get_would() {
    corio::run(async {
        let app = answering(200, "text/plain", text(5000), &[]).layer(Gzip::new());
        let client = TestClient::new(app);
        let response = client
            .head("/")
            .header("accept-encoding", "gzip")
            .send()
            .await;
        assert_eq!(response.header("content-encoding"), None);
        // The same header fields a GET would get (RFC 9110, section 9.3.2), as far as
        // they can be known without compressing.
        assert_eq!(response.header("vary"), Some("Accept-Encoding"));
        // Not for a type gzip leaves alone.
        let image = answering(200, "image/png", text(5000), &[]).layer(Gzip::new());
        let response = TestClient::new(image).head("/").send().await;
        assert_eq!(response.header("vary"), None);
    });
}

#[test]
fn strong_etags_become_weak_and_vary_is_merged() {
    corio::run(async {
        let app = answering(
            200,
            "text/css",
            text(5000),
            &[("etag", "\"v1\""), ("vary", "Cookie")],
        );
        let response = get(app.layer(Gzip::new()), Some("gzip")).await;
        assert_eq!(response.header("etag"), Some("W/\"v1\""));
        assert_eq!(response.header("vary"), Some("Cookie, Accept-Encoding"));
        let weak = answering(200, "text/css", text(5000), &[("etag", "W/\"v2\"")]);
        let response = get(weak.layer(Gzip::new()), Some("gzip")).await;
        assert_eq!(response.header("etag"), Some("W/\"v2\""));
    });
}

#[test]
fn large_bodies_are_compressed_off_the_event_loop_with_the_same_result() {
    corio::run(async {
        let body = text(1 << 20);
        let app = answering(200, "application/json", body.clone(), &[]);
        let response = get(app.layer(Gzip::new()), Some("gzip")).await;
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(gunzip(response.bytes()), body.as_bytes());
    });
}

#[test]
fn cors_and_gzip_both_vary() {
    corio::run(async {
        let app = answering(200, "text/plain", text(5000), &[])
            .layer(Gzip::new())
            .layer(Cors::new().allow_origins(["https://example.org"]));
        let response = TestClient::new(app)
            .get("/")
            .header("origin", "https://example.org")
            .header("accept-encoding", "gzip")
            .send()
            .await;
        assert_eq!(response.header("vary"), Some("Accept-Encoding, Origin"));
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(gunzip(response.bytes()), text(5000).as_bytes());
    });
}

fn streaming(chunks: Vec<Bytes>, len: Option<u64>) -> impl Service {
    service_fn(move |_: Request| {
        let items: Vec<Result<Bytes, std::io::Error>> = chunks.iter().cloned().map(Ok).collect();
        async move {
            let body = match len {
                Some(len) => Body::from_stream_with_len(stream::iter(items), len),
                None => Body::from_stream(stream::iter(items)),
            };
            let mut response = Response::new(body);
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            response
        }
    })
}

#[test]
fn streamed_bodies_are_compressed_whole_in_the_end() {
    corio::run(async {
        let whole = text(300_000);
        let chunks: Vec<Bytes> = whole
            .as_bytes()
            .chunks(7_000)
            .map(Bytes::copy_from_slice)
            .collect();
        let response = get(streaming(chunks, None).layer(Gzip::new()), Some("gzip")).await;
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(response.header("vary"), Some("Accept-Encoding"));
        assert_eq!(gunzip(response.bytes()), whole.as_bytes());

        // Very compressible input that is always ready: the compressor yields to other
        // tasks now and then instead of swallowing it all in one poll; same result.
        let zeros: Vec<Bytes> = (0..64).map(|_| Bytes::from(vec![0u8; 64 << 10])).collect();
        let response = get(streaming(zeros, None).layer(Gzip::new()), Some("gzip")).await;
        assert_eq!(gunzip(response.bytes()), vec![0u8; 64 * (64 << 10)]);
        assert!(
            response.bytes().len() < 10_000,
            "{}",
            response.bytes().len()
        );

        // Short streams are compressed too when their length is unknown...
        let tiny = vec![Bytes::from_static(b"hi")];
        let response = get(
            streaming(tiny.clone(), None).layer(Gzip::new()),
            Some("gzip"),
        )
        .await;
        assert_eq!(gunzip(response.bytes()), b"hi");
        // ... but not when they declared a length under the minimum.
        let response = get(streaming(tiny, Some(2)).layer(Gzip::new()), Some("gzip")).await;
        assert_eq!(response.header("content-encoding"), None);
        assert_eq!(response.text(), "hi");
        // Empty streams end in a valid, empty gzip stream.
        let response = get(streaming(Vec::new(), None).layer(Gzip::new()), Some("gzip")).await;
        assert_eq!(gunzip(response.bytes()), b"");
    });
}

#[test]
fn a_slow_stream_is_sent_as_it_comes_not_held_in_the_compressor() {
    corio::run(async {
        let (tx, rx) = corio::sync::mpsc::unbounded_channel::<Bytes>();
        let rx = std::sync::Mutex::new(Some(rx));
        let app = service_fn(move |_: Request| {
            let rx = rx.lock().unwrap().take().expect("one request");
            async move {
                let chunks = stream::unfold(rx, |mut rx| async move {
                    rx.recv()
                        .await
                        .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
                });
                let mut response = Response::new(Body::from_stream(chunks));
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                response
            }
        })
        .layer(Gzip::new());

        let mut request = Request::new(Body::empty());
        request
            .headers_mut()
            .insert("accept-encoding", HeaderValue::from_static("gzip"));
        let response = app.call(request).await;
        assert_eq!(response.headers()["content-encoding"], "gzip");
        let mut body = response.into_body();

        // Each chunk comes out as soon as the producer pauses, decodable so far.
        let mut sent = Vec::new();
        let mut received = Vec::new();
        for part in ["first event\n", "second event\n"] {
            tx.send(Bytes::from_static(part.as_bytes())).unwrap();
            sent.extend_from_slice(part.as_bytes());
            let chunk = corio::time::timeout(Duration::from_secs(5), body.next())
                .await
                .expect("compressed output before the stream ended")
                .unwrap()
                .unwrap();
            received.extend_from_slice(&chunk);
            let mut so_far = Vec::new();
            // A sync-flushed prefix decodes fully; reading hits the missing trailer after.
            let _ = flate2::read::GzDecoder::new(&received[..]).read_to_end(&mut so_far);
            assert_eq!(so_far, sent);
        }
        drop(tx);
        while let Some(chunk) = body.next().await {
            received.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(gunzip(&received), sent);
    });
}
