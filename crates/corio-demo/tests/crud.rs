//! CRUD end to end: the built binary on a real socket, a database file in a fresh
//! directory, and a plain HTTP client.

mod common;

use common::{DemoServer, TOKEN};
use serde_json::{Value, json};

/// The titles of a page of notes, in order.
fn titles(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note["title"].as_str().unwrap())
        .collect()
}

#[test]
fn create_read_list_change_delete() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.db");
    let server = DemoServer::start(
        dir.path(),
        &["--db", db.to_str().unwrap(), "--token", TOKEN],
    );
    assert!(db.exists(), "the database file is created at start");

    // Create: 201, the note as stored.
    let created = server.write(
        "POST",
        "/notes",
        &json!({"title": "Buy milk", "body": "2 litres", "tags": ["home", "food", "home"]}),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.header("content-type"), Some("application/json"));
    assert!(
        created.header("x-request-id").is_some(),
        "request ids are on"
    );
    let milk = created.json();
    let id = milk["id"].as_i64().unwrap();
    assert_eq!(milk["title"], "Buy milk");
    assert_eq!(milk["body"], "2 litres");
    assert_eq!(milk["tags"], json!(["home", "food"]), "repeats dropped");
    assert_eq!(milk["done"], false);
    assert_eq!(milk["created_at"], milk["updated_at"]);

    // Read it back.
    let read = server.get(&format!("/notes/{id}"));
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), milk);

    // A few more, for paging, filters and search.
    let more = [
        json!({"title": "Fix bike", "body": "the chain squeaks", "tags": ["home", "repair"]}),
        json!({"title": "Write report", "tags": ["work"], "done": true}),
        json!({"title": "50% off sale", "body": "shoes"}),
        json!({"title": "Call Ada", "tags": ["work"]}),
    ];
    for note in &more {
        let reply = server.write("POST", "/notes", note);
        assert_eq!(reply.status, 201, "{}", reply.text());
    }

    // Newest first; limit and offset page through; total counts them all.
    let first = server.get("/notes?limit=2").json();
    assert_eq!(titles(&first), ["Call Ada", "50% off sale"]);
    assert_eq!(
        (&first["total"], &first["limit"], &first["offset"]),
        (&json!(5), &json!(2), &json!(0))
    );
    let second = server.get("/notes?limit=2&offset=2").json();
    assert_eq!(titles(&second), ["Write report", "Fix bike"]);
    let last = server.get("/notes?limit=2&offset=4").json();
    assert_eq!(titles(&last), ["Buy milk"]);
    let past = server.get("/notes?offset=99").json();
    assert_eq!(titles(&past), Vec::<&str>::new());
    assert_eq!(past["total"], 5);
    // The default page is 20 notes.
    assert_eq!(server.get("/notes").json()["limit"], 20);

    // Filters, alone and together.
    let home = server.get("/notes?tag=home").json();
    assert_eq!(titles(&home), ["Fix bike", "Buy milk"]);
    assert_eq!(home["total"], 2);
    let done = server.get("/notes?done=true").json();
    assert_eq!(titles(&done), ["Write report"]);
    let open_work = server.get("/notes?done=false&tag=work").json();
    assert_eq!(titles(&open_work), ["Call Ada"]);

    // Search: title or body, ASCII case ignored, `%` only matches itself.
    let chain = server.get("/notes?q=CHAIN").json();
    assert_eq!(titles(&chain), ["Fix bike"]);
    let percent = server.get("/notes?q=50%25").json();
    assert_eq!(titles(&percent), ["50% off sale"]);
    let wildcard = server.get("/notes?q=%25").json();
    assert_eq!(
        titles(&wildcard),
        ["50% off sale"],
        "a literal percent sign"
    );
    let none = server.get("/notes?q=nothing+like+this").json();
    assert_eq!(none["total"], 0);

    // PATCH changes only what it is given.
    let patched = server.write("PATCH", &format!("/notes/{id}"), &json!({"done": true}));
    assert_eq!(patched.status, 200, "{}", patched.text());
    let patched = patched.json();
    assert_eq!(patched["done"], true);
    assert_eq!(patched["title"], "Buy milk");
    assert_eq!(patched["tags"], json!(["home", "food"]));
    assert_eq!(patched["created_at"], milk["created_at"]);
    assert!(patched["updated_at"].as_str() >= milk["updated_at"].as_str());
    let retagged = server
        .write(
            "PATCH",
            &format!("/notes/{id}"),
            &json!({"tags": [], "title": "Buy oat milk"}),
        )
        .json();
    assert_eq!(retagged["tags"], json!([]));
    assert_eq!(retagged["title"], "Buy oat milk");
    assert_eq!(retagged["done"], true);

    // PUT replaces everything.
    let replaced = server.write(
        "PUT",
        &format!("/notes/{id}"),
        &json!({"title": "Milk", "tags": ["x"]}),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.text());
    let replaced = replaced.json();
    assert_eq!(
        (&replaced["title"], &replaced["body"], &replaced["done"]),
        (&json!("Milk"), &json!(""), &json!(false))
    );
    assert_eq!(server.get(&format!("/notes/{id}")).json(), replaced);

    // DELETE: 204, then 404 everywhere.
    let deleted = server.delete(&format!("/notes/{id}"));
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    assert!(deleted.body.is_empty());
    let gone = server.get(&format!("/notes/{id}"));
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json(), json!({"detail": "Note not found"}));
    assert_eq!(server.delete(&format!("/notes/{id}")).status, 404);
    let patch_gone = server.write("PATCH", &format!("/notes/{id}"), &json!({"done": false}));
    assert_eq!(patch_gone.status, 404);
    assert_eq!(server.total(), 4);
    assert_eq!(server.get("/notes/999999").status, 404);

    // The meta routes.
    let health = server.get("/health");
    assert_eq!(health.status, 200);
    let health = health.json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["notes"], 4);
    let welcome = server.get("/").json();
    assert_eq!(welcome["docs"], "/docs");

    // The docs are served.
    for page in ["/docs", "/redoc"] {
        let reply = server.get(page);
        assert_eq!(reply.status, 200, "{page}");
        assert!(reply.text().contains("<html"), "{page} is a page");
    }
    let document = server.get("/openapi.json").json();
    assert_eq!(document["info"]["title"], "corio-demo");
    assert!(document["paths"]["/notes/{id}"]["patch"].is_object());

    let status = server.stop();
    assert!(status.success(), "exit status {status}");
}

#[test]
fn an_in_memory_database_works_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = DemoServer::start(dir.path(), &["--db", ":memory:", "--token", TOKEN]);
    let created = server.write("POST", "/notes", &json!({"title": "fleeting"}));
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(server.total(), 1);
    server.terminate();
    assert!(server.wait().success());
    let nothing_left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name != "server.log")
        .collect();
    assert_eq!(
        nothing_left,
        Vec::<std::ffi::OsString>::new(),
        "no file written"
    );

    // A new server in memory starts empty.
    let server = DemoServer::start(dir.path(), &["--db", ":memory:", "--token", TOKEN]);
    assert_eq!(server.total(), 0);
    assert!(server.stop().success());
}

#[test]
fn without_a_token_one_is_generated_and_printed() {
    let dir = tempfile::tempdir().unwrap();
    let server = DemoServer::start(dir.path(), &["--db", ":memory:"]);
    // `corio-demo: no --token given; writes need `Authorization: Bearer <token>` (...)`
    let announced = server
        .printed
        .iter()
        .find_map(|line| line.split("Bearer ").nth(1))
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no token announced in {:?}", server.printed));
    assert_eq!(announced.len(), 32, "{announced}");

    let post = |token: &str| {
        server
            .request("POST", "/notes")
            .token(token)
            .json(r#"{"title": "t"}"#)
            .send()
    };
    assert_eq!(post(TOKEN).status, 401, "only the generated token works");
    assert_eq!(post(announced).status, 201);
    assert!(server.stop().success());
}
