//! asyncio's core moves, in corio: run, create_task, sleep, wait_for, a periodic tick,
//! and cancellation.
//!
//! Run with `cargo run -p corio --example asyncio_tour`.

use std::time::{Duration, Instant};

use corio::time::{interval, sleep, timeout};

#[corio::main]
async fn main() {
    let start = Instant::now();

    // asyncio.create_task: both run concurrently, so this takes ~50 ms, not 80.
    let slow = corio::spawn(async {
        sleep(Duration::from_millis(50)).await;
        "slow"
    });
    let fast = corio::spawn(async {
        sleep(Duration::from_millis(30)).await;
        "fast"
    });
    println!("{} then {}", fast.await.unwrap(), slow.await.unwrap());

    // asyncio.wait_for: the inner future is dropped when the deadline passes.
    match timeout(Duration::from_millis(10), sleep(Duration::from_secs(5))).await {
        Ok(()) => println!("finished in time"),
        Err(elapsed) => println!("timed out: {elapsed}"),
    }

    // A periodic job: three ticks, 10 ms apart (the first one is immediate).
    let mut ticker = interval(Duration::from_millis(10));
    for n in 0..3 {
        ticker.tick().await;
        println!("tick {n}");
    }

    // task.cancel(): the task's future is dropped and joining reports the cancellation.
    let forever = corio::spawn(std::future::pending::<()>());
    forever.abort();
    println!("cancelled: {}", forever.await.unwrap_err().is_cancelled());

    println!("all done in {:?}", start.elapsed());
}
