//! Multipart bodies, through the public extractors: `MultipartForm<T>` and `Multipart` never
//! panic, answer only with the statuses they document, read no more than the body limit,
//! and give the same parts (or the same error) however the body is split into reads.
//!
//! The first byte picks the body limit and the size of the reads; the rest is the body,
//! sent as `multipart/form-data; boundary=b`. Each input runs on a corio runtime: one
//! current-thread runtime, built once (a `corio::run` per input builds a multi-thread
//! runtime each time, which costs more than the input).

#![no_main]

use bytes::Bytes;
use corio::runtime::{Builder, Runtime};
use corio_web::extract::{BodyLimit, FromRequest, Multipart, MultipartForm, UploadFile};
use corio_web::http::{self, StatusCode};
use corio_web::{Body, IntoResponse};
use futures_util::stream;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

thread_local! {
    /// Leaked: a runtime dropped as the thread's locals are destroyed (at exit) panics in
    /// its shutdown, which needs corio's own thread-local context, gone by then.
    static RUNTIME: &'static Runtime =
        Box::leak(Box::new(Builder::new_current_thread().build().expect("a corio runtime")));
}

const CONTENT_TYPE: &str = "multipart/form-data; boundary=b";

/// Text fields (required, lenient, repeated) and files (required-less: optional and lists).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Form {
    name: String,
    count: Option<i32>,
    flag: Option<bool>,
    file: Option<UploadFile>,
    #[serde(default)]
    files: Vec<UploadFile>,
    #[serde(default)]
    tags: Vec<String>,
}

/// The body whole, or streamed in reads of `split` bytes (its length declared, so the limit
/// is checked up front either way).
fn body(input: &[u8], split: Option<usize>) -> Body {
    match split {
        None => Body::from(input.to_vec()),
        Some(size) => {
            let chunks: Vec<Result<Bytes, std::io::Error>> = input
                .chunks(size)
                .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
                .collect();
            Body::from_stream_with_len(stream::iter(chunks), input.len() as u64)
        }
    }
}

/// What `Multipart` reads: each part's name, filename, content type and data, then how the
/// body ended (`None`: well; else the error's status and text).
type Parts = (Vec<(Option<String>, Option<String>, Option<String>, Vec<u8>)>, Option<(u16, String)>);

async fn stream_parts(input: &[u8], split: Option<usize>, limit: BodyLimit) -> Parts {
    let mut parts = Vec::new();
    let mut multipart = match Multipart::new(CONTENT_TYPE, body(input, split), limit) {
        Ok(multipart) => multipart,
        Err(error) => return (parts, Some((error.status().as_u16(), error.to_string()))),
    };
    let mut total = 0;
    let end = loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break None,
            Err(error) => break Some(error),
        };
        let name = field.name().map(str::to_owned);
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        let mut data = Vec::new();
        let error = loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    assert!(!chunk.is_empty(), "chunks are never empty");
                    data.extend_from_slice(&chunk);
                }
                Ok(None) => break None,
                Err(error) => break Some(error),
            }
        };
        total += data.len();
        parts.push((name, file_name, content_type, data));
        if let Some(error) = error {
            break Some(error);
        }
    };
    assert!(total <= limit.0, "read past the body limit");
    assert!(parts.len() <= corio_web::extract::multipart::MAX_PARTS);
    let Some(error) = end else {
        return (parts, None);
    };
    let status = error.status();
    assert!(
        matches!(status.as_u16(), 400 | 413),
        "Multipart answered {status} ({error})"
    );
    // After an error, the next read answers the same.
    match multipart.next_field().await {
        Err(again) => assert_eq!(again.to_string(), error.to_string()),
        Ok(_) => panic!("a read after an error succeeded"),
    }
    let end = Some((status.as_u16(), error.to_string()));
    let _ = error.into_response();
    (parts, end)
}

async fn typed(input: &[u8], split: Option<usize>, limit: BodyLimit) {
    let mut request = http::Request::builder()
        .method("POST")
        .header("content-type", CONTENT_TYPE)
        .body(body(input, split))
        .expect("a valid request");
    request.extensions_mut().insert(limit);
    match <MultipartForm<Form> as FromRequest<()>>::from_request(request, &()).await {
        Ok(MultipartForm(form)) => {
            let files = form.files.iter().chain(&form.file).map(UploadFile::len);
            assert!(files.sum::<usize>() <= limit.0);
        }
        Err(error) => {
            let status = error.status();
            assert!(
                matches!(status.as_u16(), 400 | 413 | 422),
                "MultipartForm answered {status}"
            );
            if status == StatusCode::UNPROCESSABLE_ENTITY {
                let errors = error.validation_error().expect("a 422 is validation errors");
                assert!(!errors.is_empty());
            }
            let response = error.into_response();
            assert_eq!(response.status(), status);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&knob, input)) = data.split_first() else {
        return;
    };
    let limit = BodyLimit(32 + usize::from(knob & 0x3f) * 64);
    let split = usize::from(knob >> 6) * 3 + 1;
    RUNTIME.with(|runtime| runtime.block_on(async {
        typed(input, None, limit).await;
        typed(input, Some(split), limit).await;
        let whole = stream_parts(input, None, limit).await;
        let pieces = stream_parts(input, Some(split), limit).await;
        assert_eq!(whole, pieces, "reads of {split} bytes");
    }));
});
