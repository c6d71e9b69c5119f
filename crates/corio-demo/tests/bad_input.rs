//! Bad input over real sockets: each bad request gets its 422, 400 or 401, and nothing is
//! written (the total stays the same, and the note it aimed at is unchanged).
//!
//! Malformed JSON is a 422 `json_invalid`, as in FastAPI (corio-web follows it); a 400 is
//! for requests that are not valid HTTP.

mod common;

use common::{DemoServer, TOKEN};
use serde_json::{Value, json};

/// The `type`s of a 422's errors, in order.
fn error_types(body: &Value) -> Vec<&str> {
    body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("not a validation error: {body}"))
        .iter()
        .map(|error| error["type"].as_str().unwrap())
        .collect()
}

#[test]
fn bad_requests_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.db");
    let server = DemoServer::start(
        dir.path(),
        &["--db", db.to_str().unwrap(), "--token", TOKEN],
    );
    let existing = server
        .write(
            "POST",
            "/notes",
            &json!({"title": "original", "tags": ["keep"]}),
        )
        .json();
    let id = existing["id"].as_i64().unwrap();
    let note_path = format!("/notes/{id}");
    let before = server.total();
    assert_eq!(before, 1);

    // Invalid bodies for POST, PUT and PATCH: (body, the error types expected).
    let long_title = "t".repeat(201);
    let long_body = "b".repeat(10_001);
    let eleven_tags: Vec<String> = (0..11).map(|i| format!("tag{i}")).collect();
    let invalid: Vec<(Value, Vec<&str>)> = vec![
        (json!({"title": ""}), vec!["string_too_short"]),
        (json!({"title": "   "}), vec!["string_pattern_mismatch"]),
        (json!({"title": long_title}), vec!["string_too_long"]),
        (
            json!({"title": "ok", "body": long_body}),
            vec!["string_too_long"],
        ),
        (json!({"title": 42}), vec!["string_type"]),
        (
            json!({"title": "ok", "done": "maybe"}),
            vec!["bool_parsing"],
        ),
        (json!({"title": "ok", "tags": "home"}), vec!["list_type"]),
        (
            json!({"title": "ok", "tags": eleven_tags}),
            vec!["too_long"],
        ),
        (
            json!({"title": "ok", "tags": ["fine", "not fine"]}),
            vec!["string_pattern_mismatch"],
        ),
        (
            json!({"title": "ok", "tags": [""]}),
            vec!["string_too_short"],
        ),
        (json!({"body": "no title"}), vec!["missing"]),
        (json!(["a", "list"]), vec!["model_attributes_type"]),
        (
            json!({"title": "", "body": 7, "tags": [1]}),
            vec!["string_too_short", "string_type", "string_type"],
        ),
    ];
    for (body, expected) in &invalid {
        for (method, path) in [("POST", "/notes"), ("PUT", note_path.as_str())] {
            let reply = server.write(method, path, body);
            assert_eq!(reply.status, 422, "{method} {body}: {}", reply.text());
            assert_eq!(&error_types(&reply.json()), expected, "{method} {body}");
        }
    }
    // PATCH: every field optional, but each given one is checked.
    for (body, expected) in [
        (json!({"title": ""}), vec!["string_too_short"]),
        (json!({"done": "yes please"}), vec!["bool_parsing"]),
        (json!({"tags": ["a b"]}), vec!["string_pattern_mismatch"]),
        (json!({"body": "b".repeat(10_001)}), vec!["string_too_long"]),
    ] {
        let reply = server.write("PATCH", &note_path, &body);
        assert_eq!(reply.status, 422, "PATCH {body}: {}", reply.text());
        assert_eq!(error_types(&reply.json()), expected, "PATCH {body}");
    }
    // Where the error is, and what it says: FastAPI's shape.
    let located = server.write("POST", "/notes", &json!({"title": "ok", "tags": ["a", ""]}));
    assert_eq!(
        located.json(),
        json!({"detail": [{
            "type": "string_too_short",
            "loc": ["body", "tags", 1],
            "msg": "String should have at least 1 character",
            "input": "",
            "ctx": {"min_length": 1}
        }]})
    );

    // Malformed JSON, an empty body, a body that is not declared JSON.
    let broken = server
        .request("POST", "/notes")
        .token(TOKEN)
        .json(r#"{"title": "half"#)
        .send();
    assert_eq!(broken.status, 422, "{}", broken.text());
    assert_eq!(error_types(&broken.json()), ["json_invalid"]);
    let trailing = server
        .request("PATCH", &note_path)
        .token(TOKEN)
        .json(r#"{"title": "x",}"#)
        .send();
    assert_eq!(trailing.status, 422);
    assert_eq!(error_types(&trailing.json()), ["json_invalid"]);
    let empty = server
        .request("POST", "/notes")
        .token(TOKEN)
        .json("")
        .send();
    assert_eq!(empty.status, 422);
    assert_eq!(error_types(&empty.json()), ["missing"]);
    let untyped = server
        .request("POST", "/notes")
        .token(TOKEN)
        .body(br#"{"title": "text"}"#)
        .send();
    assert_eq!(untyped.status, 422, "{}", untyped.text());
    assert_eq!(error_types(&untyped.json()), ["model_attributes_type"]);

    // Bad query and path parameters.
    for (uri, expected) in [
        ("/notes?limit=101", "less_than_equal"),
        ("/notes?limit=0", "greater_than_equal"),
        ("/notes?limit=ten", "int_parsing"),
        ("/notes?offset=-1", "greater_than_equal"),
        ("/notes?done=perhaps", "bool_parsing"),
        ("/notes?tag=two%20words", "string_pattern_mismatch"),
        ("/notes?q=", "string_too_short"),
        ("/notes/abc", "int_parsing"),
    ] {
        let reply = server.get(uri);
        assert_eq!(reply.status, 422, "{uri}: {}", reply.text());
        assert_eq!(error_types(&reply.json()), [expected], "{uri}");
    }
    let limit_error = server.get("/notes?limit=500").json();
    assert_eq!(limit_error["detail"][0]["loc"], json!(["query", "limit"]));
    assert_eq!(limit_error["detail"][0]["ctx"], json!({"le": 100}));

    // No token, another scheme, a wrong token: 401, for every write, even a valid one.
    let valid = r#"{"title": "valid but unauthorized"}"#;
    for (method, path) in [
        ("POST", "/notes"),
        ("PUT", note_path.as_str()),
        ("PATCH", note_path.as_str()),
        ("DELETE", note_path.as_str()),
    ] {
        let none = server.request(method, path).json(valid).send();
        assert_eq!(none.status, 401, "{method} {path}");
        assert_eq!(none.header("www-authenticate"), Some("Bearer"));
        assert_eq!(none.json(), json!({"detail": "Not authenticated"}));

        let basic = server
            .request(method, path)
            .header("authorization", "Basic dXNlcjpwYXNz")
            .json(valid)
            .send();
        assert_eq!(basic.status, 401, "{method} {path}");

        let wrong = server
            .request(method, path)
            .token("not-the-token")
            .json(valid)
            .send();
        assert_eq!(wrong.status, 401, "{method} {path}");
        assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
        assert_eq!(wrong.json(), json!({"detail": "Invalid token"}));
    }
    // No token and a bad body: 401, since who asks is checked before what they send.
    let both = server
        .request("POST", "/notes")
        .json(r#"{"title": ""}"#)
        .send();
    assert_eq!(both.status, 401);

    // Requests that are not valid HTTP: 400, and the connection is closed.
    for raw in [
        // Two different lengths: a smuggling attempt.
        format!(
            "POST /notes HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\n\
             content-type: application/json\r\ncontent-length: 16\r\ncontent-length: 3\r\n\r\n\
             {{\"title\": \"x\"}}"
        ),
        format!(
            "POST /notes HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\n\
             content-type: application/json\r\ncontent-length: lots\r\n\r\n{{\"title\": \"x\"}}"
        ),
        "NOT HTTP AT ALL\r\n\r\n".to_owned(),
    ] {
        let reply = common::send_raw(server.addr, raw.as_bytes());
        assert_eq!(reply.status, 400, "{raw:?}: {}", reply.text());
    }

    // Nothing of the above was written.
    assert_eq!(server.total(), before);
    assert_eq!(server.get(&note_path).json(), existing);
    assert!(server.stop().success());
}
