//! `#[corio::main]` and `#[corio::test]` expand to working runtimes of the chosen flavor.

use corio::runtime::{Flavor, Handle};

#[corio::test]
async fn test_defaults_to_current_thread() {
    assert_eq!(Handle::current().flavor(), Flavor::CurrentThread);
    assert_eq!(corio::spawn(async { 1 }).await.unwrap(), 1);
}

#[corio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_multi_thread_flavor() {
    assert_eq!(Handle::current().flavor(), Flavor::MultiThread);
    let names: Vec<_> = (0..4)
        .map(|_| corio::spawn(async { std::thread::current().name().map(str::to_owned) }))
        .collect();
    for n in names {
        assert!(n.await.unwrap().unwrap().starts_with("corio-worker"));
    }
}

#[corio::test]
async fn test_with_result() -> Result<(), std::io::Error> {
    Ok(())
}

mod main_fn {
    #[corio::main(flavor = "current_thread")]
    pub async fn main() -> u32 {
        assert_eq!(
            corio::runtime::Handle::current().flavor(),
            corio::runtime::Flavor::CurrentThread
        );
        corio::spawn(async { 41 }).await.unwrap() + 1
    }
}

#[test]
fn main_macro_builds_runtime_and_returns_value() {
    assert_eq!(main_fn::main(), 42);
}
