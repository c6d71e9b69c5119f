//! Child processes: feed `sort` through its stdin while reading its stdout, chain two
//! programs with a pipe, and collect a command's output in one call.
//!
//! Run with `cargo run -p corio --example subprocess`.

use std::io;
use std::process::{Output, Stdio};

use corio::io_util::{AsyncReadExt, AsyncWriteExt};
use corio::process::Command;

#[corio::main]
async fn main() -> io::Result<()> {
    let sorted = sort_lines(&["pear", "apple", "fig", "banana"]).await?;
    println!("sorted:");
    print!("{sorted}");

    let shouted = shout("shout").await?;
    print!("pipeline: {shouted}");

    let output = run_shell("echo to stdout; echo to stderr >&2; exit 2").await?;
    println!(
        "sh exited with code {:?}; stdout {:?}, stderr {:?}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    Ok(())
}

/// A conversation: write lines to `sort`, read them back sorted. The writer runs as its
/// own task, so however much we send, neither side waits on a full pipe forever.
async fn sort_lines(lines: &[&str]) -> io::Result<String> {
    let mut sort = Command::new("sort")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = sort.stdin.take().expect("stdin was piped");
    let input: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let writer = corio::spawn(async move {
        stdin.write_all(input.as_bytes()).await?;
        // Closing stdin is sort's cue that the input is complete.
        stdin.close().await
    });
    let mut sorted = String::new();
    let mut stdout = sort.stdout.take().expect("stdout was piped");
    stdout.read_to_string(&mut sorted).await?;
    writer.await??;
    let status = sort.wait().await?;
    if !status.success() {
        return Err(io::Error::other(format!("sort failed: {status}")));
    }
    Ok(sorted)
}

/// A pipeline, `printf ... | tr a-z A-Z`: one child's stdout is the next one's stdin.
async fn shout(word: &str) -> io::Result<String> {
    let mut printf = Command::new("printf")
        .arg(format!("{word}\\n"))
        .stdout(Stdio::piped())
        .spawn()?;
    let pipe = Stdio::try_from(printf.stdout.take().expect("stdout was piped"))?;
    let upper = Command::new("tr")
        .args(["a-z", "A-Z"])
        .stdin(pipe)
        .output()
        .await?;
    printf.wait().await?;
    Ok(String::from_utf8_lossy(&upper.stdout).into_owned())
}

/// The one-call form: stdout and stderr captured, the exit code reported.
async fn run_shell(script: &str) -> io::Result<Output> {
    Command::new("sh").args(["-c", script]).output().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[corio::test(flavor = "current_thread")]
    async fn sort_gets_its_input_and_answers_sorted() {
        let sorted = sort_lines(&["pear", "apple", "fig", "banana"])
            .await
            .unwrap();
        assert_eq!(sorted, "apple\nbanana\nfig\npear\n");
    }

    #[corio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pipe_connects_two_children() {
        assert_eq!(shout("quiet please").await.unwrap(), "QUIET PLEASE\n");
    }

    #[corio::test]
    async fn output_keeps_stdout_stderr_and_the_exit_code_apart() {
        let output = run_shell("echo to stdout; echo to stderr >&2; exit 2")
            .await
            .unwrap();
        assert_eq!(output.stdout, b"to stdout\n");
        assert_eq!(output.stderr, b"to stderr\n");
        assert_eq!(output.status.code(), Some(2));
    }
}
