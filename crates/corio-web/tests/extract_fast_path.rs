//! Extraction through the public API, for measuring: `EXTRACT_BENCH_N` iterations of the
//! `http/validated` workload's extractors (a `u32` path parameter and an optional `q`),
//! so that running it under `valgrind --tool=callgrind` with N and with 0 gives the
//! instructions per extraction.

use corio_web::extract::{Path, PathParams, Query};
use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct ItemQuery {
    q: Option<String>,
}

#[test]
#[ignore = "a measurement, run by hand: EXTRACT_BENCH_N=100000 cargo test --release -- --ignored"]
fn bench_path_and_query() {
    let n: usize = std::env::var("EXTRACT_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let params = PathParams::from_pairs([("item_id", "42")]);
    let uri: http::Uri = "/items/42?q=somequery".parse().unwrap();
    let mut total = 0u64;
    for _ in 0..n {
        let Path(item_id) = Path::<u32>::try_from_params(std::hint::black_box(&params)).unwrap();
        let Query(query) = Query::<ItemQuery>::try_from_uri(std::hint::black_box(&uri)).unwrap();
        total += u64::from(item_id) + query.q.map_or(0, |q| q.len() as u64);
    }
    assert_eq!(total, n as u64 * 51);
}
