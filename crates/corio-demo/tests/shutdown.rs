//! Graceful shutdown and persistence: what was written before a SIGTERM is there after a
//! restart on the same file, the exit code is 0, and a request in flight when the signal
//! arrives is finished, not cut off.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{DemoServer, TOKEN};
use serde_json::json;

#[test]
fn notes_written_before_sigterm_are_there_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.db");
    let args = ["--db", db.to_str().unwrap(), "--token", TOKEN];

    let server = DemoServer::start(dir.path(), &args);
    let mut written = Vec::new();
    for i in 0..5 {
        let note = json!({"title": format!("note {i}"), "body": "é ✓", "tags": [format!("t{i}")]});
        let reply = server.write("POST", "/notes", &note);
        assert_eq!(reply.status, 201, "{}", reply.text());
        written.push(reply.json());
    }
    // One changed, one deleted: the changes persist too.
    let changed = server
        .write(
            "PATCH",
            &format!("/notes/{}", written[1]["id"]),
            &json!({"done": true}),
        )
        .json();
    written[1] = changed;
    assert_eq!(
        server
            .delete(&format!("/notes/{}", written[4]["id"]))
            .status,
        204
    );
    let deleted = written.pop().unwrap();

    let status = server.stop();
    assert_eq!(status.code(), Some(0), "a graceful shutdown exits with 0");
    // The WAL was checkpointed into the main file on close.
    let wal = dir.path().join("notes.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the WAL is empty after a clean shutdown"
    );

    let server = DemoServer::start(dir.path(), &args);
    for note in &written {
        let reply = server.get(&format!("/notes/{}", note["id"]));
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(&reply.json(), note);
    }
    assert_eq!(server.get(&format!("/notes/{}", deleted["id"])).status, 404);
    assert_eq!(server.total(), 4);
    // Ids go on from where they were.
    let next = server.write("POST", "/notes", &json!({"title": "after restart"}));
    assert!(next.json()["id"].as_i64() > deleted["id"].as_i64());

    let log = server.log();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("store: closed"), "{log}");
    assert!(server.stop().success());
}

#[test]
fn a_request_in_flight_at_sigterm_is_finished() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.db");
    let args = ["--db", db.to_str().unwrap(), "--token", TOKEN];
    let mut server = DemoServer::start(dir.path(), &args);

    // Send the head, asking to be told when the body is wanted: `100 Continue` proves
    // the server is inside the request (reading its body for the JSON extractor).
    let request = server
        .request("POST", "/notes")
        .token(TOKEN)
        .header("expect", "100-continue")
        .json(r#"{"title": "sent across a SIGTERM"}"#)
        .encode();
    let head_end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (head, body) = request.split_at(head_end);
    let mut stream = common::connect(server.addr);
    stream.write_all(head).unwrap();
    let interim = read_head(&mut stream);
    assert!(
        interim.starts_with("HTTP/1.1 100"),
        "expected 100 Continue, got {interim:?}"
    );

    // Signal, and send the body only once the server has stopped accepting.
    server.terminate();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(server.addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        thread::sleep(Duration::from_millis(20));
    }
    stream.write_all(body).unwrap();
    let reply = common::read_reply(&mut stream);
    assert_eq!(reply.status, 201, "{}", reply.text());
    let id = reply.json()["id"].as_i64().unwrap();
    assert_eq!(server.wait().code(), Some(0));

    let server = DemoServer::start(dir.path(), &args);
    let kept = server.get(&format!("/notes/{id}"));
    assert_eq!(kept.status, 200, "{}", kept.text());
    assert_eq!(kept.json()["title"], "sent across a SIGTERM");
    assert!(server.stop().success());
}

/// Reads one response head (up to its blank line), byte by byte so that nothing after it
/// is consumed.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("reading a response head");
        assert_eq!(
            n,
            1,
            "the connection closed after {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}
