//! Handlers end to end through an `App` and the in-process client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::App;
use crate::extract::{Json, Path, Query, State};
use crate::response::HttpError;
use crate::testing::TestClient;

#[derive(Deserialize, schemars::JsonSchema)]
struct Paging {
    skip: u32,
    limit: u32,
}

async fn read_item(Path(item_id): Path<u32>, Query(page): Query<Paging>) -> String {
    format!("item {item_id} skip {} limit {}", page.skip, page.limit)
}

#[test]
fn every_invalid_value_of_the_request_is_in_one_422() {
    corio::run(async {
        let client = TestClient::new(App::new().get("/items/{item_id}", read_item));
        let ok = client.get("/items/5?skip=1&limit=2").send().await;
        assert_eq!(ok.text(), "item 5 skip 1 limit 2");

        let bad = client.get("/items/foo?skip=x").send().await;
        assert_eq!(bad.status(), 422);
        let body: Value = bad.json();
        let locs: Vec<&Value> = body["detail"]
            .as_array()
            .expect("a list of errors")
            .iter()
            .map(|e| &e["loc"])
            .collect();
        assert_eq!(
            locs,
            [
                &json!(["path", "item_id"]),
                &json!(["query", "skip"]),
                &json!(["query", "limit"])
            ],
            "{body}"
        );
        assert_eq!(body["detail"][0]["type"], "int_parsing");
        assert_eq!(body["detail"][2]["type"], "missing");
    });
}

#[derive(Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Item {
    name: String,
    price: f64,
}

#[test]
fn body_extractors_come_last_and_results_answer() {
    async fn create(
        Path(shop): Path<String>,
        Json(item): Json<Item>,
    ) -> Result<Json<Value>, HttpError> {
        if item.price < 0.0 {
            return Err(HttpError::new(400, "negative price"));
        }
        Ok(Json(
            json!({"shop": shop, "name": item.name, "price": item.price}),
        ))
    }
    corio::run(async {
        let client = TestClient::new(App::new().post("/shops/{shop}/items", create));
        let made: Value = client
            .post("/shops/corner/items")
            .json(&json!({"name": "Foo", "price": 2.5}))
            .send()
            .await
            .json();
        assert_eq!(made, json!({"shop": "corner", "name": "Foo", "price": 2.5}));

        let refused = client
            .post("/shops/corner/items")
            .json(&json!({"name": "Foo", "price": -1.0}))
            .send()
            .await;
        assert_eq!(refused.status(), 400);
        assert_eq!(refused.text(), r#"{"detail":"negative price"}"#);

        let invalid = client
            .post("/shops/corner/items")
            .json(&json!({"price": "cheap"}))
            .send()
            .await;
        assert_eq!(invalid.status(), 422);
        let body: Value = invalid.json();
        assert_eq!(body["detail"].as_array().unwrap().len(), 2, "{body}");
    });
}

#[test]
fn handlers_read_the_app_state() {
    struct Counter(AtomicUsize);
    async fn hit(State(counter): State<std::sync::Arc<Counter>>) -> String {
        (counter.0.fetch_add(1, Ordering::SeqCst) + 1).to_string()
    }
    corio::run(async {
        let app =
            App::with_state(std::sync::Arc::new(Counter(AtomicUsize::new(0)))).get("/hit", hit);
        let client = TestClient::new(app);
        assert_eq!(client.get("/hit").send().await.text(), "1");
        assert_eq!(client.get("/hit").send().await.text(), "2");
    });
}

#[test]
fn zero_argument_handlers_of_both_kinds() {
    async fn hello() -> &'static str {
        "hello"
    }
    fn blocking_hello() -> &'static str {
        "blocking hello"
    }
    corio::run(async {
        let client = TestClient::new(App::new().get("/a", hello).get("/b", blocking_hello));
        assert_eq!(client.get("/a").send().await.text(), "hello");
        assert_eq!(client.get("/b").send().await.text(), "blocking hello");
    });
}

/// FastAPI's rule: 50 concurrent requests to a sync handler that sleeps 100 ms finish far
/// sooner than 50 x 100 ms (they run on the blocking pool, side by side), and an async
/// route keeps answering meanwhile.
#[test]
fn blocking_handlers_run_on_the_pool_and_the_loop_keeps_answering() {
    fn sleepy() -> &'static str {
        std::thread::sleep(Duration::from_millis(100));
        "slept"
    }
    async fn ping() -> &'static str {
        "pong"
    }
    let rt = corio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = TestClient::new(App::new().get("/sleep", sleepy).get("/ping", ping));
        let start = Instant::now();
        let sleepers: Vec<_> = (0..50)
            .map(|_| {
                let client = client.clone();
                corio::spawn(async move { client.get("/sleep").send().await.text() })
            })
            .collect();
        // While the sleepers hold 50 pool threads, the loop (one thread) still answers.
        corio::time::sleep(Duration::from_millis(20)).await;
        let ping_start = Instant::now();
        assert_eq!(client.get("/ping").send().await.text(), "pong");
        let ping_took = ping_start.elapsed();
        for sleeper in sleepers {
            assert_eq!(sleeper.await.unwrap(), "slept");
        }
        let all_took = start.elapsed();
        assert!(
            all_took < Duration::from_millis(2500),
            "50 x 100 ms of blocking took {all_took:?}: not run side by side"
        );
        assert!(
            ping_took < Duration::from_millis(100),
            "the async route waited {ping_took:?} behind blocking handlers"
        );
    });
}

#[test]
fn a_panicking_blocking_handler_panics_into_the_server() {
    fn boom() -> &'static str {
        panic!("boom in a blocking handler")
    }
    let result = std::panic::catch_unwind(|| {
        corio::run(async {
            let client = TestClient::new(App::new().get("/boom", boom));
            client.get("/boom").send().await
        })
    });
    let payload = result.expect_err("the panic reaches the caller (the server answers 500)");
    let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
    assert_eq!(message, "boom in a blocking handler");
}
