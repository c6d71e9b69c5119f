//! What the request scope costs a request that never uses it: nothing it allocates.
//!
//! Allocations are counted per thread (the test's own, where a current-thread runtime
//! polls every request), so tests running alongside do not disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use corio_web::depends::{BackgroundTasks, Teardown};
use corio_web::http::{Method, Version};
use corio_web::{App, Body, Request, Service};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the count is a const-initialised thread local
// without a destructor, so touching it does not allocate (`try_with`: never panics).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Allocations per request to `path`, a request with empty extensions (as the server
/// makes them), averaged over `rounds` requests after a warm-up.
fn per_request(app: &App, path: &str, rounds: u64) -> f64 {
    corio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let request = || {
                let mut request = Request::new(Body::empty());
                *request.uri_mut() = path.parse().unwrap();
                request
            };
            for _ in 0..10 {
                assert_eq!(app.call(request()).await.status(), 200);
            }
            let mut total = 0;
            for _ in 0..rounds {
                let request = request();
                let before = allocations();
                let response = app.call(request).await;
                total += allocations() - before;
                assert_eq!(response.status(), 200);
            }
            total as f64 / rounds as f64
        })
}

fn app() -> App {
    async fn none() -> &'static str {
        "none"
    }
    async fn two(_method: Method, _version: Version) -> &'static str {
        "two"
    }
    async fn defers(_method: Method, teardown: Teardown) -> &'static str {
        teardown.defer(async {});
        "defers"
    }
    async fn queues(_method: Method, tasks: BackgroundTasks) -> &'static str {
        tasks.add(async {});
        "queues"
    }
    App::new()
        .get("/none", none)
        .get("/two", two)
        .get("/defers", defers)
        .get("/queues", queues)
}

/// A handler's extractors run in the request's scope; until something registers in it,
/// the scope allocates nothing: two extractors that allocate nothing cost what no
/// extractors do.
#[test]
fn an_unused_scope_allocates_nothing() {
    let app = app();
    let none = per_request(&app, "/none", 100);
    let two = per_request(&app, "/two", 100);
    assert_eq!(two, none, "the scope of an extractor handler allocated");
}

/// The numbers behind the test above, for a report:
/// `cargo test --release -p corio-web --test depends_cost -- --ignored --nocapture`.
/// `COST_PATHS` (comma-separated) and `COST_ROUNDS` pick the requests, for a profiler.
#[test]
#[ignore = "a measurement, not a check"]
fn print_allocations_per_request() {
    let app = app();
    let paths = std::env::var("COST_PATHS").unwrap_or("/none,/two,/defers,/queues".into());
    let rounds = std::env::var("COST_ROUNDS").map_or(100_000, |n| n.parse().unwrap());
    for path in paths.split(',') {
        let per = per_request(&app, path, rounds);
        println!("{path}: {per:.2} allocations per request");
    }
}
