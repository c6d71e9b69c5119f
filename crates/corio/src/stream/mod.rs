//! Streams: async generators (the `yield` style of coroutine) and stream helpers.
//!
//! A [`Stream`] is the async iterator: `while let Some(item) = stream.next().await` is
//! Python's `async for item in stream`. [`generator`] writes one as an `async` block that
//! yields, like an `async def` with `yield`; [`StreamExt`] and [`TryStreamExt`] (from
//! `futures-util`) add `next`, `map`, `filter`, `collect`, `take` and the rest.
//!
//! ```
//! use corio::stream::{StreamExt, generator};
//!
//! corio::run(async {
//!     let evens = generator(|co| async move {
//!         for i in 0.. {
//!             co.yield_(i * 2).await;
//!         }
//!     });
//!     let firsts: Vec<u32> = evens.skip(1).take(3).collect().await;
//!     assert_eq!(firsts, [2, 4, 6]);
//! });
//! ```

mod generator;

pub use futures_core::stream::{FusedStream, Stream};
pub use futures_util::stream::{StreamExt, TryStreamExt, iter};
pub use generator::{Generator, TryGenerator, Yield, Yielder, generator, try_generator};
