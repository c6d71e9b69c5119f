//! The may_minihttp peer of `hello_server` for the http suite: `GET /plaintext`, `GET /json`
//! and `GET /items/{item_id}?q=...` with the same bodies and content types, with may on one
//! worker (`may::config().set_workers(1)`), at the address given (default 127.0.0.1:8088).
//!
//! may_minihttp has no router and no extractors: like its own examples, the service matches
//! on the request path by hand, and here also splits off and decodes the query string and
//! parses the `item_id` segment itself (422 when it is not a u32), then writes the JSON with
//! serde_json from serde models.

use std::io;

use bytes::BufMut;
use may_minihttp::{HttpServer, HttpService, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Serialize)]
struct Item {
    item_id: u32,
    q: Option<String>,
}

/// The value of `name` in a query string, percent- and `+`-decoded; the first occurrence
/// wins. `None` when absent or when it does not decode to UTF-8.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key)? == name).then(|| decode(value)).flatten()
    })
}

fn decode(s: &str) -> Option<String> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[derive(Clone)]
struct Hello;

impl HttpService for Hello {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        if req.method() != "GET" {
            rsp.status_code(405, "Method Not Allowed");
            return Ok(());
        }
        let (path, query) = req.path().split_once('?').unwrap_or((req.path(), ""));
        match path {
            "/plaintext" => {
                rsp.header("Content-Type: text/plain; charset=utf-8")
                    .body("Hello, World!");
            }
            "/json" => {
                rsp.header("Content-Type: application/json");
                let message = Message {
                    message: "Hello, World!",
                };
                serde_json::to_writer(rsp.body_mut().writer(), &message)?;
            }
            _ => match path.strip_prefix("/items/") {
                Some(id) if !id.contains('/') => match id.parse::<u32>() {
                    Ok(item_id) => {
                        rsp.header("Content-Type: application/json");
                        let item = Item {
                            item_id,
                            q: query_param(query, "q"),
                        };
                        serde_json::to_writer(rsp.body_mut().writer(), &item)?;
                    }
                    Err(_) => {
                        rsp.status_code(422, "Unprocessable Entity")
                            .header("Content-Type: text/plain; charset=utf-8")
                            .body("item_id: not a valid u32");
                    }
                },
                _ => {
                    rsp.status_code(404, "Not Found");
                }
            },
        }
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8088".into());
    may::config().set_workers(1);
    let server = HttpServer(Hello).start(&addr)?;
    eprintln!("may_server: listening on {addr}");
    server
        .join()
        .map_err(|_| io::Error::other("may_server: the server coroutine panicked"))
}
