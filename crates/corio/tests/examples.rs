//! The examples, run as tests: each one's `main`, compiled from the example file itself,
//! must finish (without panicking) in a few seconds.

use std::time::{Duration, Instant};

#[path = "../examples/subprocess.rs"]
mod subprocess;

#[test]
fn subprocess_example_runs_and_exits_quickly() {
    let start = Instant::now();
    subprocess::main();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
}
