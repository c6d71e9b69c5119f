//! The opt-in routes that show the runtime from inside the app: its live tasks (asyncio's
//! `all_tasks`) and its metrics, as JSON.

use http::Method;
use serde_json::{Value, json};

use super::App;
use crate::extract::Json;
use crate::response::IntoResponse;
use crate::{Request, service_fn};

/// A duration in milliseconds, to the microsecond.
fn millis(duration: std::time::Duration) -> f64 {
    (duration.as_micros() as f64) / 1000.0
}

/// The runtime's live tasks, as JSON.
fn tasks() -> Value {
    let dump = corio::runtime::Handle::current().dump();
    let tasks: Vec<Value> = dump
        .tasks
        .iter()
        .map(|task| {
            json!({
                "id": task.id.as_u64(),
                "name": task.name,
                "label": task.label,
                "state": task.state.as_str(),
                "location": format!("{}:{}:{}", task.location.file(), task.location.line(), task.location.column()),
                "local": task.local,
                "age_ms": millis(task.age),
                "polls": task.polls,
                "busy_ms": task.busy.map(millis),
            })
        })
        .collect();
    json!({ "tasks": tasks })
}

/// The runtime's metrics, as JSON.
fn metrics() -> Value {
    let m = corio::runtime::Handle::current().metrics();
    json!({
        "workers": m.workers,
        "extra_workers": m.extra_workers,
        "tasks_spawned": m.tasks_spawned,
        "tasks_alive": m.tasks_alive,
        "polls": m.polls,
        "steals": m.steals,
        "parks": m.parks,
        "blocking_threads": m.blocking_threads,
        "slow_polls": m.slow_polls,
        "hand_offs": m.hand_offs,
    })
}

impl<S: Send + Sync + 'static> App<S> {
    /// Serves the runtime's live tasks at `{prefix}/tasks` and its metrics at
    /// `{prefix}/metrics`, as JSON: what `corio::runtime::Handle::dump` and `metrics`
    /// report (id, name, route label, state, spawn location, age, polls and busy time of
    /// each task; tasks, polls, steals, parks, slow polls, hand-offs). Off unless called:
    /// it shows the program's inside, so mount it where only operators reach it. The
    /// routes are not in the OpenAPI document.
    ///
    /// ```
    /// use corio_web::App;
    /// use corio_web::testing::TestClient;
    ///
    /// let app = App::new().runtime_introspection("/_corio");
    /// corio::run(async move {
    ///     // A task waiting for something: the dump shows it by name.
    ///     let waiting = corio::task::Builder::new()
    ///         .name("ticker")
    ///         .spawn(std::future::pending::<()>());
    ///     let client = TestClient::new(app);
    ///     let metrics: serde_json::Value = client.get("/_corio/metrics").send().await.json();
    ///     assert!(metrics["tasks_alive"].as_u64().unwrap() >= 1);
    ///     let tasks: serde_json::Value = client.get("/_corio/tasks").send().await.json();
    ///     let ticker = tasks["tasks"].as_array().unwrap().iter().find(|t| t["name"] == "ticker").unwrap();
    ///     // Idle once it has run up to its wait; scheduled (or, for an instant, running)
    ///     // before that.
    ///     assert!(["idle", "scheduled", "running"].contains(&ticker["state"].as_str().unwrap()));
    ///     assert!(ticker["location"].as_str().unwrap().contains(".rs:"));
    ///     waiting.abort();
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// If `prefix` does not start with `/` or ends with one.
    pub fn runtime_introspection(self, prefix: &str) -> App<S> {
        assert!(
            prefix.starts_with('/') && !prefix.ends_with('/'),
            "an introspection prefix starts with '/' and does not end with one: {prefix:?}"
        );
        self.route_service(
            Method::GET,
            &format!("{prefix}/tasks"),
            service_fn(|_: Request| async { Json(tasks()).into_response() }),
        )
        .route_service(
            Method::GET,
            &format!("{prefix}/metrics"),
            service_fn(|_: Request| async { Json(metrics()).into_response() }),
        )
    }
}
