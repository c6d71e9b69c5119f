//! The corio demo service: a notes API that shows what corio and corio-web do together.
//!
//! - CRUD on notes with validation (FastAPI's 422 errors, byte for byte), pagination,
//!   filters and search, in SQLite (bundled: nothing to install);
//! - plain `fn` handlers for the SQLite calls, which run on the blocking pool, and
//!   `async fn` handlers elsewhere (FastAPI's `def`/`async def` rule; see `routes/`);
//! - bearer-token auth for writes, through a dependency;
//! - a background task (a sweeper purging deleted notes) started and stopped with the
//!   server;
//! - `/docs` (Swagger UI), `/redoc` and `/openapi.json`, written from the handlers' types;
//! - structured logs (an access-log line per request, with its request id) and a graceful
//!   shutdown on Ctrl-C or SIGTERM that loses nothing.
//!
//! ```text
//! cargo run --release -- --token s3cret        # at the repository root
//! # corio-demo: listening on http://127.0.0.1:8000 — docs at http://127.0.0.1:8000/docs
//!
//! curl -X POST 127.0.0.1:8000/notes -H 'authorization: Bearer s3cret' \
//!      -H 'content-type: application/json' \
//!      -d '{"title": "Buy milk", "tags": ["home"]}'
//! # 201 {"id":1,"title":"Buy milk","body":"","tags":["home"],"done":false,
//! #      "created_at":"2025-01-31T12:00:00.000Z","updated_at":"2025-01-31T12:00:00.000Z"}
//! curl '127.0.0.1:8000/notes?tag=home&q=milk&limit=10'
//! # {"items":[{"id":1,"title":"Buy milk",...}],"total":1,"limit":10,"offset":0}
//! curl -X PATCH 127.0.0.1:8000/notes/1 -H 'authorization: Bearer s3cret' \
//!      -H 'content-type: application/json' -d '{"done": true}'
//! # {"id":1,"title":"Buy milk",...,"done":true,...}
//! curl -X DELETE 127.0.0.1:8000/notes/1 -H 'authorization: Bearer s3cret'   # 204
//! curl 127.0.0.1:8000/notes/1
//! # 404 {"detail":"Note not found"}
//! curl -X POST 127.0.0.1:8000/notes -H 'content-type: application/json' -d '{"title": "x"}'
//! # 401 {"detail":"Not authenticated"}
//! curl -X POST 127.0.0.1:8000/notes -H 'authorization: Bearer s3cret' \
//!      -H 'content-type: application/json' -d '{"title": ""}'
//! # 422 {"detail":[{"type":"string_too_short","loc":["body","title"],
//! #      "msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}}]}
//! curl '127.0.0.1:8000/notes?limit=500'
//! # 422 {"detail":[{"type":"less_than_equal","loc":["query","limit"],...}]}
//! curl 127.0.0.1:8000/health
//! # {"status":"ok","uptime_seconds":42,"notes":0,"version":"0.1.0"}
//! ```
//!
//! `--help` lists the options (`--host`, `--port`, `--db`, `--token`, `--log-format`,
//! `--sweep-secs`) and their environment variables (`CORIO_DEMO_HOST`, ...). The database
//! defaults to `./corio-demo.db`, created on first run; `--db :memory:` keeps nothing.
//! Without `--token`, a random token is made and printed at start. `RUST_LOG` filters the
//! logs (`info` by default), which go to stderr.
//!
//! Exit codes: 0 after a graceful shutdown, 1 if the server could not start (or the
//! database could not be closed cleanly), 2 for a bad command line.

use std::process::ExitCode;

use corio_demo::config::{self, Command, USAGE};
use corio_demo::{logging, serve};

fn main() -> ExitCode {
    let args = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned());
    let config = match config::parse(args, |name| std::env::var(name).ok()) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("corio-demo {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("corio-demo: {error}\nTry 'corio-demo --help' for the options.");
            return ExitCode::from(2);
        }
    };
    logging::init(config.log_format);
    match serve::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("corio-demo: {error}");
            ExitCode::FAILURE
        }
    }
}
