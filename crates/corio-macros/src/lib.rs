//! `#[corio::main]` and `#[corio::test]`: run an `async fn` on a fresh corio runtime.
//!
//! Use these through the `corio` crate (`corio::main`, `corio::test`), not directly: the
//! generated code names `::corio::runtime::Builder`, so `corio` must be a dependency of the
//! crate that uses them.
//!
//! Both attributes turn
//!
//! ```ignore
//! #[corio::main]
//! async fn main() { body }
//! ```
//!
//! into a plain function that builds a runtime and blocks on the body:
//!
//! ```ignore
//! fn main() {
//!     let body = async move { body };
//!     ::corio::runtime::Builder::new_multi_thread()
//!         .build()
//!         .expect("corio: failed to build the runtime")
//!         .block_on(body)
//! }
//! ```
//!
//! The parsing and the expansion live in the private `entry` module and work on
//! `proc_macro2::TokenStream`, so they are unit-tested without invoking a compiler.

use proc_macro::TokenStream;

mod entry;
mod operation;

use entry::Kind;

/// Runs an `async fn` (usually `main`) to completion on a new corio runtime.
///
/// By default the runtime is the multi-thread one with one worker per CPU, as
/// `corio::run` uses. Options:
///
/// - `flavor = "multi_thread"` (the default) or `flavor = "current_thread"`: which scheduler
///   runs the tasks. `current_thread` runs everything on the thread that calls the function,
///   and is what `corio::spawn_local` needs.
/// - `worker_threads = N` (N ≥ 1, multi-thread flavor only): the number of worker threads.
///
/// The function keeps its attributes, its visibility and its return type, so `main` may
/// return `Result<(), E>` and use `?`. `fn main` itself takes no arguments; another function
/// marked `#[corio::main]` may, and its arguments move into the body.
///
/// # Examples
///
/// ```ignore
/// #[corio::main]
/// async fn main() {
///     let task = corio::spawn(async { 6 * 7 });
///     assert_eq!(task.await.unwrap(), 42);
/// }
/// ```
///
/// A fixed number of workers, and an error type:
///
/// ```ignore
/// #[corio::main(flavor = "multi_thread", worker_threads = 2)]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     corio::time::sleep(corio::time::Duration::from_millis(10)).await;
///     let n: u32 = "42".parse()?;
///     println!("{n}");
///     Ok(())
/// }
/// ```
///
/// A single-threaded runtime, where `!Send` futures may be spawned:
///
/// ```ignore
/// #[corio::main(flavor = "current_thread")]
/// async fn main() {
///     let shared = std::rc::Rc::new(5);
///     let local = corio::spawn_local(async move { *shared + 1 });
///     assert_eq!(local.await.unwrap(), 6);
/// }
/// ```
///
/// # Errors
///
/// The attribute refuses, with an error pointing at the offending tokens: a function without
/// `async`, an unknown option, a flavor other than the two above, `worker_threads = 0`,
/// `worker_threads` with the current-thread flavor, and arguments on `fn main`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` as a test, on a fresh corio runtime for each test.
///
/// Adds `#[test]` (do not add it yourself) and blocks on the body. By default the runtime is
/// the current-thread one: each test gets its own single thread, which keeps tests
/// deterministic and lets them use `corio::spawn_local`. The options are those of
/// [`macro@main`]: `flavor = "current_thread" | "multi_thread"` and, with `multi_thread`
/// only, `worker_threads = N`.
///
/// The test keeps its other attributes (`#[ignore]`, `#[should_panic]`, ...) and may return
/// `Result<(), E>` like any Rust test.
///
/// # Examples
///
/// ```ignore
/// #[corio::test]
/// async fn sleeps() {
///     let start = corio::time::Instant::now();
///     corio::time::sleep(corio::time::Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= corio::time::Duration::from_millis(5));
/// }
///
/// #[corio::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn on_two_workers() -> Result<(), corio::task::JoinError> {
///     let n = corio::spawn(async { 1 + 1 }).await?;
///     assert_eq!(n, 2);
///     Ok(())
/// }
/// ```
///
/// # Errors
///
/// As for [`macro@main`], plus: a test function takes no arguments, and a second `#[test]`
/// attribute is refused.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Test, args.into(), item.into()).into()
}

/// Documents a corio-web handler in the app's OpenAPI document: its doc comment becomes
/// the operation's summary (first paragraph) and description (the rest), and the options
/// are FastAPI's decorator arguments. Use it as `#[corio_web::operation]`.
///
/// - `status = 201`: the success status, documented and answered in place of a plain 200
///   (FastAPI's `status_code`);
/// - `tags("items", ...)`, `deprecated` (or the function's own `#[deprecated]`);
/// - `responses(404 = "Item not found", 409 = (Message, "Already taken"))`: further
///   responses, with a JSON body of the given type or none;
/// - `summary = "..."`, `description = "..."`, `response_description = "..."`,
///   `operation_id = "..."` to override the defaults.
///
/// The function itself is left as written.
#[proc_macro_attribute]
pub fn operation(args: TokenStream, item: TokenStream) -> TokenStream {
    operation::expand(args.into(), item.into()).into()
}
