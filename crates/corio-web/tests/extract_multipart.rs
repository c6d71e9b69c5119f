//! `multipart/form-data` bodies: `MultipartForm<T>` (FastAPI's `File()`/`Form()`/`UploadFile`
//! and its 422s), `Multipart` (part by part), and how both answer bodies they cannot read.

use bytes::Bytes;
use corio_web::extract::{
    BodyLimit, FromRequest, Multipart, MultipartError, MultipartForm, Query, UploadFile,
};
use corio_web::middleware::{Next, from_fn};
use corio_web::testing::{MultipartBody, TestClient, TestResponse};
use corio_web::{App, Body, Request, Response, ServiceExt, http};
use futures_util::stream;
use serde::Deserialize;
use serde_json::{Value, json};

/// FastAPI's `create_file(token: str = Form(), count: int = Form(), file: UploadFile = File(),
/// notes: UploadFile | None = File(None), tags: list[str] = Form([]))`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Upload {
    token: String,
    count: i64,
    file: UploadFile,
    notes: Option<UploadFile>,
    #[serde(default)]
    tags: Vec<String>,
}

/// `files: list[UploadFile] = File()`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Files {
    files: Vec<UploadFile>,
}

fn describe(file: &UploadFile) -> Value {
    json!({
        "filename": file.filename(),
        "content_type": file.content_type(),
        "size": file.len(),
        "text": file.text().ok(),
    })
}

async fn create_file(MultipartForm(form): MultipartForm<Upload>) -> String {
    json!({
        "token": form.token,
        "count": form.count,
        "file": describe(&form.file),
        "notes": form.notes.as_ref().map(describe),
        "tags": form.tags,
    })
    .to_string()
}

async fn create_files(MultipartForm(form): MultipartForm<Files>) -> String {
    Value::Array(form.files.iter().map(describe).collect()).to_string()
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Page {
    limit: u32,
}

async fn with_query(Query(page): Query<Page>, MultipartForm(form): MultipartForm<Files>) -> String {
    format!("{} {}", page.limit, form.files.len())
}

/// Lists the parts as they arrive: name, filename and size.
async fn stream_parts(mut multipart: Multipart) -> Result<String, MultipartError> {
    let mut seen = Vec::new();
    while let Some(mut field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let mut size = 0;
        while let Some(chunk) = field.chunk().await? {
            assert!(!chunk.is_empty());
            size += chunk.len();
        }
        seen.push(json!([name, file_name, size]));
    }
    Ok(Value::Array(seen).to_string())
}

/// Sets a 256-byte body limit, for the routes under `/small/`.
async fn small_limit(mut request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/small/") {
        request.extensions_mut().insert(BodyLimit(256));
    }
    next.run(request).await
}

fn client() -> TestClient {
    let app = App::new()
        .post("/files/", create_file)
        .post("/many/", create_files)
        .post("/query/", with_query)
        .post("/stream/", stream_parts)
        .post("/small/files/", create_files)
        .post("/small/stream/", stream_parts)
        .layer(from_fn(small_limit));
    TestClient::new(app)
}

fn post(request: corio_web::testing::TestRequest) -> TestResponse {
    corio::run(request.send())
}

fn status_json(response: &TestResponse) -> (u16, Value) {
    (response.status().as_u16(), response.json())
}

fn raw(uri: &str, content_type: Option<&str>, body: impl Into<Body>) -> TestResponse {
    let mut request = client().post(uri).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    post(request)
}

const CT: &str = "multipart/form-data; boundary=xyz";

#[test]
fn a_file_and_text_fields_in_one_handler() {
    let body = MultipartBody::new()
        .text("token", "secret")
        .text("count", "42")
        .file("file", "a.txt", "text/plain", "hello")
        .text("tags", "x")
        .text("tags", "y");
    let response = post(client().post("/files/").multipart(body));
    assert_eq!(
        status_json(&response),
        (
            200,
            json!({
                "token": "secret",
                "count": 42,
                "file": {"filename": "a.txt", "content_type": "text/plain", "size": 5,
                         "text": "hello"},
                "notes": null,
                "tags": ["x", "y"],
            })
        )
    );
}

#[test]
fn an_optional_file_when_sent_and_headers_are_kept() {
    let body = concat!(
        "--xyz\r\n",
        "content-disposition: form-data; name=\"token\"\r\n\r\n",
        "t\r\n",
        "--xyz\r\n",
        "content-disposition: form-data; name=\"count\"\r\n\r\n",
        " -7 \r\n",
        "--xyz\r\n",
        "content-disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\n",
        "\r\n",
        "--xyz\r\n",
        "content-disposition: form-data; name=\"notes\"; filename=\"n.md\"\r\n",
        "content-type: text/markdown\r\n",
        "x-extra: 1\r\n\r\n",
        "# hi\r\n",
        "--xyz--\r\n",
    );
    let request = http::Request::builder()
        .method("POST")
        .header("content-type", CT)
        .body(Body::from(body))
        .unwrap();
    let MultipartForm(form) = corio::run(<MultipartForm<Upload> as FromRequest<()>>::from_request(
        request,
        &(),
    ))
    .unwrap();
    assert_eq!(form.count, -7, "read leniently, as Form<T> reads");
    // An empty filename is still a file (as Starlette has it), of no bytes, no type.
    assert_eq!(form.file.filename(), Some(""));
    assert!(form.file.is_empty() && form.file.content_type().is_none());
    let notes = form.notes.unwrap();
    assert_eq!(notes.text().unwrap(), "# hi");
    assert_eq!(notes.content_type(), Some("text/markdown"));
    assert_eq!(notes.headers()["x-extra"], "1");
}

#[test]
fn several_files_under_one_name() {
    let body = MultipartBody::new()
        .file("files", "a.txt", "text/plain", "aaa")
        .file(
            "files",
            "b.bin",
            "application/octet-stream",
            vec![0u8, 159, 146, 150],
        )
        .file("files", "c.txt", "text/plain", "");
    let response = post(client().post("/many/").multipart(body));
    assert_eq!(
        status_json(&response),
        (
            200,
            json!([
                {"filename": "a.txt", "content_type": "text/plain", "size": 3, "text": "aaa"},
                {"filename": "b.bin", "content_type": "application/octet-stream", "size": 4,
                 "text": null},
                {"filename": "c.txt", "content_type": "text/plain", "size": 0, "text": ""},
            ])
        )
    );
}

#[test]
fn missing_fields_and_files_are_fastapis_422() {
    let body = MultipartBody::new().text("token", "t");
    let response = post(client().post("/files/").multipart(body));
    assert_eq!(
        status_json(&response),
        (
            422,
            json!({"detail": [
                {"type": "missing", "loc": ["body", "count"], "msg": "Field required",
                 "input": null},
                {"type": "missing", "loc": ["body", "file"], "msg": "Field required",
                 "input": null},
            ]})
        )
    );
    // No files at all for `list[UploadFile] = File()`: missing, as in FastAPI.
    let response = post(client().post("/many/").multipart(MultipartBody::new()));
    assert_eq!(
        status_json(&response),
        (
            422,
            json!({"detail": [{"type": "missing", "loc": ["body", "files"],
                               "msg": "Field required", "input": null}]})
        )
    );
}

#[test]
fn invalid_values_are_all_reported() {
    let body = MultipartBody::new()
        .text("token", "t")
        .text("count", "forty-two")
        .text("file", "not a file")
        .text("notes", "")
        .file("tags", "t.txt", "text/plain", "x");
    let response = post(client().post("/files/").multipart(body));
    assert_eq!(
        status_json(&response),
        (
            422,
            json!({"detail": [
                {"type": "int_parsing", "loc": ["body", "count"],
                 "msg": "Input should be a valid integer, unable to parse string as an integer",
                 "input": "forty-two"},
                {"type": "value_error", "loc": ["body", "file"],
                 "msg": "Value error, Expected UploadFile, received: <class 'str'>",
                 "input": "not a file", "ctx": {"error": {}}},
                {"type": "string_type", "loc": ["body", "tags", 0],
                 "msg": "Input should be a valid string",
                 "input": {"filename": "t.txt", "content_type": "text/plain", "size": 1}},
            ]})
        ),
        "an empty text value counts as absent, so `notes` is None"
    );
    // A text value in a list of files: located at its index.
    let body = MultipartBody::new()
        .file("files", "a.txt", "text/plain", "a")
        .text("files", "b");
    let response = post(client().post("/many/").multipart(body));
    assert_eq!(
        status_json(&response),
        (
            422,
            json!({"detail": [{"type": "value_error", "loc": ["body", "files", 1],
                 "msg": "Value error, Expected UploadFile, received: <class 'str'>",
                 "input": "b", "ctx": {"error": {}}}]})
        )
    );
}

#[test]
fn errors_merge_with_the_other_extractors() {
    let response = post(
        client()
            .post("/query/?limit=x")
            .multipart(MultipartBody::new()),
    );
    assert_eq!(
        status_json(&response),
        (
            422,
            json!({"detail": [
                {"type": "int_parsing", "loc": ["query", "limit"],
                 "msg": "Input should be a valid integer, unable to parse string as an integer",
                 "input": "x"},
                {"type": "missing", "loc": ["body", "files"], "msg": "Field required",
                 "input": null},
            ]})
        )
    );
}

#[test]
fn text_that_is_not_utf8() {
    // A field `T` does not have may hold anything; one it reads must be text.
    let with = |name: &str| {
        let mut out = Vec::new();
        out.extend_from_slice(b"--b\r\ncontent-disposition: form-data; name=\"token\"\r\n\r\n");
        out.extend_from_slice(
            b"t\r\n--b\r\ncontent-disposition: form-data; name=\"count\"\r\n\r\n",
        );
        out.extend_from_slice(b"1\r\n--b\r\ncontent-disposition: form-data; name=\"file\"; ");
        out.extend_from_slice(
            b"filename=\"a\"\r\n\r\na\r\n--b\r\ncontent-disposition: form-data; ",
        );
        out.extend_from_slice(format!("name=\"{name}\"\r\n\r\n").as_bytes());
        out.extend_from_slice(b"caf\xe9\r\n--b--\r\n");
        out
    };
    let response = raw(
        "/files/",
        Some("multipart/form-data; boundary=b"),
        with("other"),
    );
    assert_eq!(response.status(), 200, "{}", response.text());
    let response = raw(
        "/files/",
        Some("multipart/form-data; boundary=b"),
        with("tags"),
    );
    assert_eq!(
        status_json(&response),
        (
            422,
            json!({"detail": [{"type": "string_unicode", "loc": ["body", "tags", 0],
                 "msg": "Input should be a valid string, unable to parse raw data as a unicode string",
                 "input": "caf\u{fffd}"}]})
        )
    );
}

#[test]
fn other_content_types_have_no_fields_but_urlencoded_is_read() {
    // As Starlette's `request.form()`: a JSON body has no form fields.
    let response = raw("/many/", Some("application/json"), r#"{"files": []}"#);
    assert_eq!(
        status_json(&response),
        (
            422,
            json!({"detail": [{"type": "missing", "loc": ["body", "files"],
                               "msg": "Field required", "input": null}]})
        )
    );
    let response = post(
        client()
            .post("/files/")
            .form(&[("token", "t"), ("count", "3")]),
    );
    assert_eq!(
        status_json(&response),
        (
            422,
            json!({"detail": [{"type": "missing", "loc": ["body", "file"],
                               "msg": "Field required", "input": null}]})
        )
    );
    // An empty multipart body has no parts either.
    let response = raw("/many/", Some(CT), "");
    assert_eq!(response.status(), 422);
    assert_eq!(raw("/stream/", Some(CT), "").text(), "[]");
}

#[test]
fn multipart_refuses_what_is_not_multipart() {
    for content_type in [
        None,
        Some("application/json"),
        Some("text/plain; boundary=xyz"),
    ] {
        let response = raw("/stream/", content_type, "{}");
        assert_eq!(
            status_json(&response),
            (
                415,
                json!({"detail": "Unsupported Media Type: expected multipart/form-data"})
            ),
            "{content_type:?}"
        );
    }
    for uri in ["/stream/", "/files/"] {
        for content_type in ["multipart/form-data", "multipart/form-data; charset=utf-8"] {
            let response = raw(uri, Some(content_type), "--\r\n");
            assert_eq!(
                status_json(&response),
                (400, json!({"detail": "Missing boundary in multipart."})),
                "{uri} {content_type}"
            );
        }
        let response = raw(uri, Some("multipart/form-data; boundary=\"\""), "--\r\n");
        assert_eq!(
            status_json(&response),
            (
                400,
                json!({"detail": "There was an error parsing the body: its Content-Type header cannot be parsed"})
            ),
        );
    }
}

#[test]
fn malformed_bodies_are_400_with_the_reason() {
    let cases: [(&str, &str); 4] = [
        (
            "no boundary at all",
            "There was an error parsing the body: the body ends before its closing boundary, or a boundary line is malformed",
        ),
        (
            "--xyz\r\ncontent-disposition: form-data; name=\"a\"\r\n\r\nno closing boundary",
            "There was an error parsing the body: part \"a\" ends before the boundary that should close it",
        ),
        (
            "--xyz\r\ncontent-disposition: form-data; name=\"a\"",
            "There was an error parsing the body: the body ends before its closing boundary, or a boundary line is malformed",
        ),
        (
            "--xyz\r\nbad header line\r\n\r\nx\r\n--xyz--\r\n",
            "There was an error parsing the body: the headers of a part are malformed",
        ),
    ];
    for (body, detail) in cases {
        for uri in ["/files/", "/stream/"] {
            let response = raw(uri, Some(CT), body);
            assert_eq!(
                status_json(&response),
                (400, json!({"detail": detail})),
                "{uri} {body:?}"
            );
        }
    }
    // MultipartForm needs every part named; Multipart leaves that to the handler.
    let unnamed = "--xyz\r\ncontent-disposition: form-data\r\n\r\nx\r\n--xyz--\r\n";
    let response = raw("/files/", Some(CT), unnamed);
    assert_eq!(response.status(), 400);
    assert!(
        response.text().contains("has no name"),
        "{}",
        response.text()
    );
    assert_eq!(
        raw("/stream/", Some(CT), unnamed).text(),
        r#"[["",null,1]]"#
    );
}

#[test]
fn over_the_body_limit_is_413() {
    let big = MultipartBody::new().file(
        "files",
        "big.bin",
        "application/octet-stream",
        vec![7u8; 300],
    );
    for uri in ["/small/files/", "/small/stream/"] {
        let response = post(client().post(uri).multipart(big.clone()));
        assert_eq!(
            status_json(&response),
            (413, json!({"detail": "Payload Too Large"})),
            "{uri}"
        );
        // Streamed, with no declared length: the parser stops at the limit.
        let (content_type, bytes) = big.encode();
        let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
            .chunks(16)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let response = raw(
            uri,
            Some(&content_type),
            Body::from_stream(stream::iter(chunks)),
        );
        assert_eq!(response.status(), 413, "{uri}");
    }
    // Within the limit, the same routes take it.
    let small = MultipartBody::new().file("files", "s", "text/plain", "ok");
    let response = post(client().post("/small/files/").multipart(small));
    assert_eq!(response.status(), 200);
}

#[test]
fn more_than_a_thousand_parts_is_400() {
    let mut body = MultipartBody::new();
    for _ in 0..1001 {
        body = body.text("t", "x");
    }
    for uri in ["/files/", "/stream/"] {
        let response = post(client().post(uri).multipart(body.clone()));
        assert_eq!(
            status_json(&response),
            (
                400,
                json!({"detail": "Too many parts. Maximum number of parts is 1000."})
            ),
            "{uri}"
        );
    }
}

#[test]
fn multipart_streams_the_parts_in_order_however_the_body_is_split() {
    let body = MultipartBody::new()
        .text("title", "Holiday")
        .file("photo", "beach.jpg", "image/jpeg", vec![b'-'; 300])
        .file(
            "photo",
            "sea.jpg",
            "image/jpeg",
            "\r\n--almost a boundary\r\n",
        )
        .text("empty", "");
    let expected = json!([
        ["title", null, 7],
        ["photo", "beach.jpg", 300],
        ["photo", "sea.jpg", 23],
        ["empty", null, 0],
    ]);
    let response = post(client().post("/stream/").multipart(body.clone()));
    assert_eq!(status_json(&response), (200, expected.clone()));
    let (content_type, bytes) = body.encode();
    for size in [1, 2, 7, 64] {
        let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
            .chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let response = raw(
            "/stream/",
            Some(&content_type),
            Body::from_stream(stream::iter(chunks)),
        );
        assert_eq!(
            status_json(&response),
            (200, expected.clone()),
            "chunks of {size}"
        );
    }
}

#[test]
fn fields_read_whole_as_bytes_or_text() {
    corio::run(async {
        let body = concat!(
            "--xyz\r\n",
            "content-disposition: form-data; name=\"a\"\r\n\r\n",
            "caf\u{e9}\r\n",
            "--xyz\r\n",
            "content-disposition: form-data; name=\"b\"\r\n",
            "content-type: application/octet-stream\r\n\r\n",
            "\u{1}\u{2}\r\n",
            "--xyz--\r\n",
        );
        let mut multipart = Multipart::new(CT, Body::from(body), BodyLimit::DEFAULT).unwrap();
        let field = multipart.next_field().await.unwrap().unwrap();
        assert_eq!(field.index(), 0);
        assert_eq!(field.text().await.unwrap(), "café");
        let field = multipart.next_field().await.unwrap().unwrap();
        assert_eq!(field.content_type(), Some("application/octet-stream"));
        assert_eq!(field.bytes().await.unwrap(), &b"\x01\x02"[..]);
        assert!(multipart.next_field().await.unwrap().is_none());
        assert!(multipart.next_field().await.unwrap().is_none());

        // Text that is not UTF-8: FastAPI's string_unicode, at the field.
        let body =
            b"--xyz\r\ncontent-disposition: form-data; name=\"a\"\r\n\r\n\xff\r\n--xyz--\r\n";
        let mut multipart = Multipart::new(CT, Body::from(&body[..]), BodyLimit::DEFAULT).unwrap();
        let field = multipart.next_field().await.unwrap().unwrap();
        let error = field.text().await.unwrap_err();
        assert_eq!(error.status(), 422);
        let response = corio_web::IntoResponse::into_response(error);
        let body = response.into_body().to_bytes(1 << 16).await.unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"detail": [{"type": "string_unicode", "loc": ["body", "a"],
                 "msg": "Input should be a valid string, unable to parse raw data as a unicode string",
                 "input": "\u{fffd}"}]})
        );

        // After an error, every read answers it again.
        let body = "--xyz\r\ncontent-disposition: form-data; name=\"a\"\r\n\r\ncut";
        let mut multipart = Multipart::new(CT, Body::from(body), BodyLimit::DEFAULT).unwrap();
        let mut field = multipart.next_field().await.unwrap().unwrap();
        let first = field.chunk().await;
        let first = match first {
            Ok(Some(chunk)) => {
                assert_eq!(chunk, "cut");
                field.chunk().await.unwrap_err()
            }
            Ok(None) => panic!("ended without its boundary"),
            Err(error) => error,
        };
        assert_eq!(first.status(), 400);
        drop(field);
        assert_eq!(
            multipart.next_field().await.unwrap_err().to_string(),
            first.to_string()
        );
    });
}

#[test]
fn optional_extractors() {
    corio::run(async {
        let request = |content_type: &str, body: &'static str| {
            http::Request::builder()
                .method("POST")
                .header("content-type", content_type)
                .body(Body::from(body))
                .unwrap()
        };
        let none = <Option<Multipart> as FromRequest<()>>::from_request(
            request("application/json", "{}"),
            &(),
        )
        .await
        .unwrap();
        assert!(none.is_none());
        let some = <Option<Multipart> as FromRequest<()>>::from_request(request(CT, ""), &())
            .await
            .unwrap();
        assert!(some.is_some());
        let error = <Option<Multipart> as FromRequest<()>>::from_request(
            request("multipart/form-data", ""),
            &(),
        )
        .await
        .unwrap_err();
        assert_eq!(error.status(), 400);

        let none =
            <Option<MultipartForm<Files>> as FromRequest<()>>::from_request(request(CT, ""), &())
                .await
                .unwrap();
        assert!(none.is_none());
        let body =
            "--xyz\r\ncontent-disposition: form-data; name=\"files\"\r\n\r\ntext\r\n--xyz--\r\n";
        let error =
            <Option<MultipartForm<Files>> as FromRequest<()>>::from_request(request(CT, body), &())
                .await
                .unwrap_err();
        assert_eq!(error.status(), 422);
    });
}

#[test]
fn upload_file_describes_itself_as_fastapi_does() {
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Form {
        file: UploadFile,
        files: Vec<UploadFile>,
        note: Option<String>,
    }
    let schema = serde_json::to_value(schemars::schema_for!(Form)).unwrap();
    assert_eq!(
        schema["properties"]["file"],
        json!({"type": "string", "format": "binary"})
    );
    assert_eq!(
        schema["properties"]["files"],
        json!({"type": "array", "items": {"type": "string", "format": "binary"}})
    );
    assert_eq!(schema["required"], json!(["file", "files"]));
}

#[test]
fn upload_file_outside_a_multipart_body_is_an_error() {
    // Declared in a JSON body, or read by serde directly, a file is never there.
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Doc {
        file: UploadFile,
    }
    let errors =
        corio_web::extract::Json::<Doc>::from_bytes(br#"{"file": {"\u0000corio:upload": 0}}"#)
            .unwrap_err();
    assert_eq!(
        errors.to_json(),
        json!({"detail": [{"type": "value_error", "loc": ["body", "file"],
             "msg": "Value error, Expected UploadFile, received: <class 'dict'>",
             "input": {}, "ctx": {"error": {}}}]})
    );
    let error = serde_json::from_str::<UploadFile>(r#""text""#).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("Value error, Expected UploadFile, received: <class 'str'>"),
        "{error}"
    );
}

#[test]
fn a_field_dropped_unread_is_skipped() {
    corio::run(async {
        let (content_type, bytes) = MultipartBody::new()
            .file(
                "big",
                "big.bin",
                "application/octet-stream",
                vec![b'x'; 10_000],
            )
            .text("after", "still here")
            .encode();
        let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
            .chunks(100)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let body = Body::from_stream(stream::iter(chunks));
        let mut multipart = Multipart::new(&content_type, body, BodyLimit::DEFAULT).unwrap();
        let mut field = multipart.next_field().await.unwrap().unwrap();
        assert_eq!(field.name(), Some("big"));
        assert!(field.chunk().await.unwrap().is_some());
        drop(field);
        let field = multipart.next_field().await.unwrap().unwrap();
        assert_eq!(field.name(), Some("after"));
        assert_eq!(field.text().await.unwrap(), "still here");
        assert!(multipart.next_field().await.unwrap().is_none());
    });
}
