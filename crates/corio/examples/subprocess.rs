//! Child processes: feed `sort` through its stdin while reading its stdout, chain two
//! programs with a pipe, and collect a command's output in one call.
//!
//! Run with `cargo run -p corio --example subprocess`.

use std::process::Stdio;

use corio::io_util::{AsyncReadExt, AsyncWriteExt};
use corio::process::Command;

/// `pub` so that `tests/examples.rs` can run the program as a test.
#[corio::main]
pub async fn main() {
    // 1. A conversation: write lines to `sort`, read them back sorted. The writer runs as
    //    its own task, so however much we send, neither side waits on a full pipe forever.
    let mut sort = Command::new("sort")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sort");
    let mut stdin = sort.stdin.take().unwrap();
    let writer = corio::spawn(async move {
        for fruit in ["pear", "apple", "fig", "banana"] {
            stdin.write_all(format!("{fruit}\n").as_bytes()).await?;
        }
        // Closing stdin is sort's cue that the input is complete.
        stdin.close().await
    });
    let mut sorted = String::new();
    sort.stdout
        .take()
        .unwrap()
        .read_to_string(&mut sorted)
        .await
        .expect("read sort's output");
    writer.await.unwrap().expect("write to sort");
    let status = sort.wait().await.expect("wait for sort");
    println!("sort exited with {status}:");
    print!("{sorted}");

    // 2. A pipeline, `printf ... | tr a-z A-Z`: one child's stdout is the next one's stdin.
    let mut printf = Command::new("printf")
        .arg("shout\\n")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn printf");
    let pipe = Stdio::try_from(printf.stdout.take().unwrap()).expect("hand over the pipe");
    let upper = Command::new("tr")
        .args(["a-z", "A-Z"])
        .stdin(pipe)
        .output()
        .await
        .expect("run tr");
    printf.wait().await.expect("wait for printf");
    print!("pipeline: {}", String::from_utf8_lossy(&upper.stdout));

    // 3. The one-call form: stdout and stderr captured, the exit code reported.
    let output = Command::new("sh")
        .args(["-c", "echo to stdout; echo to stderr >&2; exit 2"])
        .output()
        .await
        .expect("run sh");
    println!(
        "sh exited with code {:?}; stdout {:?}, stderr {:?}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(sorted, "apple\nbanana\nfig\npear\n");
    assert_eq!(upper.stdout, b"SHOUT\n");
    assert_eq!(output.status.code(), Some(2));
}
