//! The command line of the built binary: `--help`, `--version`, the exit code 2 of a bad
//! flag, the environment variables, and the exit code 1 of a server that cannot start.

mod common;

use std::process::Output;

use common::{DemoServer, TOKEN};
use serde_json::json;

fn demo(args: &[&str]) -> Output {
    common::demo_command()
        .args(args)
        .output()
        .expect("running corio-demo")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_and_version() {
    let help = demo(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let usage = text(&help.stdout);
    for needle in [
        "--host",
        "--port",
        "--db",
        "--token",
        "CORIO_DEMO_HOST",
        "CORIO_DEMO_PORT",
        "CORIO_DEMO_DB",
        "CORIO_DEMO_TOKEN",
        "./corio-demo.db",
        ":memory:",
    ] {
        assert!(usage.contains(needle), "--help mentions {needle}:\n{usage}");
    }
    let version = demo(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        text(&version.stdout).trim(),
        format!("corio-demo {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_bad_command_line_exits_with_2_and_says_why() {
    for (args, message) in [
        (&["--frobnicate"][..], "unknown option '--frobnicate'"),
        (&["--port", "eighty"][..], "invalid --port \"eighty\""),
        (&["--port"][..], "--port needs a value"),
        (&["--log-format", "xml"][..], "expected 'text' or 'json'"),
    ] {
        let output = demo(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stderr.contains("--help"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_server_that_cannot_start_exits_with_1() {
    let dir = tempfile::tempdir().unwrap();
    // A database path inside a directory that does not exist.
    let db = dir.path().join("missing").join("notes.db");
    let output = demo(&["--port", "0", "--db", db.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("cannot open the database"),
        "{}",
        text(&output.stderr)
    );

    // A port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = demo(&["--port", &port, "--db", ":memory:"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("cannot listen on"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn the_environment_configures_the_server_and_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-env.db");
    let env = [
        ("CORIO_DEMO_HOST", "127.0.0.1"),
        ("CORIO_DEMO_PORT", "0"),
        ("CORIO_DEMO_DB", db.to_str().unwrap()),
        ("CORIO_DEMO_TOKEN", "env-token"),
        ("CORIO_DEMO_LOG", "json"),
    ];
    let server = DemoServer::start_with_env(dir.path(), &[], &env);
    let post = server
        .request("POST", "/notes")
        .token("env-token")
        .json(&json!({"title": "env"}).to_string())
        .send();
    assert_eq!(post.status, 201, "{}", post.text());
    assert!(db.exists(), "CORIO_DEMO_DB chose the file");
    assert!(server.stop().success());

    // JSON lines, one object per event; the access log carries the request's fields.
    let logs = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    let events: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let access = events
        .iter()
        .find(|event| event["target"] == "corio_web::access")
        .unwrap_or_else(|| panic!("no access log in {logs}"));
    assert_eq!(access["method"], "POST");
    assert_eq!(access["path"], "/notes");
    assert_eq!(access["status"], 201);
    assert!(access["request_id"].is_string());
    assert!(!logs.contains("env-token"), "the token is not logged");

    // A flag wins over its variable.
    let server = DemoServer::start_with_env(dir.path(), &["--token", TOKEN, "--port", "0"], &env);
    assert_eq!(server.total(), 1, "the same file");
    let with_env_token = server
        .request("DELETE", "/notes/1")
        .token("env-token")
        .send();
    assert_eq!(with_env_token.status, 401);
    assert_eq!(server.delete("/notes/1").status, 204);
    assert!(server.stop().success());
}
