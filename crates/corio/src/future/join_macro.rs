//! `join!` and `try_join!`: await a fixed number of futures of different types.
//!
//! # How the macros work
//!
//! Both first *normalize* their input (a tt-muncher, one step per future): each future is
//! paired with one `_` for every future before it. All futures live in one tuple, so those
//! `_`s pick the future's place in it: `let (_, _, future, ..) = &mut futures;` is the third.
//! `count(&["_", "_"])` turns the same markers into an index.
//!
//! The expansion then pins every future (wrapped in `MaybeDone`, which keeps the output once
//! it is ready) on the awaiting task's stack with `pin!`, and polls them all in a `poll_fn`
//! until each is done. The futures are polled in rotating order (starting one further each
//! time), so one that exhausts the task's cooperative budget does not starve the rest.

/// Waits for several futures, of any types, concurrently on the current task and returns all
/// their outputs as a tuple, in the order given.
///
/// Every future runs to completion; an `Err` output is just an output (see
/// [`try_join!`](crate::try_join!) to stop at the first error). Each poll polls every future
/// that has not finished; for many futures of one type, [`join_all`](crate::future::join_all)
/// polls only the woken ones. The futures run interleaved on one task, not in parallel; use
/// [`spawn`](crate::spawn) for parallelism.
///
/// Arguments may be anything that implements [`IntoFuture`](std::future::IntoFuture).
/// Must be used in an `async` context. `join!()` is `()`.
///
/// # Examples
///
/// ```
/// use corio::time::{sleep, Duration};
///
/// async fn fetch_name() -> &'static str {
///     sleep(Duration::from_millis(10)).await;
///     "corio"
/// }
///
/// async fn fetch_stars() -> u32 {
///     sleep(Duration::from_millis(5)).await;
///     42
/// }
///
/// corio::run(async {
///     let (name, stars) = corio::join!(fetch_name(), fetch_stars());
///     assert_eq!((name, stars), ("corio", 42));
/// });
/// ```
#[macro_export]
macro_rules! join {
    // All futures normalized: `( $all )` holds one `_` per future, and each future comes
    // with one `_` per future before it.
    (@expand ( $($all:tt)* ) $( ( $($skip:tt)* ) $future:expr, )* ) => {{
        let count = $crate::future::macro_support::count(&[$(::core::stringify!($all)),*]);
        let mut futures = ( $(
            $crate::future::macro_support::pin!($crate::future::macro_support::maybe_done(
                $crate::future::macro_support::IntoFuture::into_future($future),
            )),
        )* );
        // The future polled first; moves on by one every poll.
        let mut start: u32 = 0;
        $crate::future::macro_support::poll_fn(|cx| {
            let mut all_done = true;
            // Two passes: futures `start..` first, then `..start`.
            for first_pass in [true, false] {
                $({
                    let index =
                        $crate::future::macro_support::count(&[$(::core::stringify!($skip)),*]);
                    if (index >= start) == first_pass {
                        let ( $($skip,)* future, .. ) = &mut futures;
                        let polled =
                            $crate::future::macro_support::Future::poll(future.as_mut(), cx);
                        all_done &= polled.is_ready();
                    }
                })*
            }
            start = (start + 1) % count;
            if !all_done {
                return $crate::future::macro_support::Poll::Pending;
            }
            $crate::future::macro_support::Poll::Ready(( $({
                let ( $($skip,)* future, .. ) = &mut futures;
                future.as_mut().take_output().expect("a finished future keeps its output")
            },)* ))
        })
        .await
    }};

    // Normalize one future: record the `_`s before it, add one for it.
    (@normalize ( $($before:tt)* ) [ $($done:tt)* ] $future:expr, $($rest:tt)*) => {
        $crate::join!(
            @normalize ( $($before)* _ ) [ $($done)* ( $($before)* ) $future, ] $($rest)*
        )
    };
    (@normalize ( $($all:tt)* ) [ $($done:tt)* ]) => {
        $crate::join!(@expand ( $($all)* ) $($done)*)
    };

    () => { () };
    ( $($future:expr),+ $(,)? ) => {
        $crate::join!(@normalize () [] $($future,)+)
    };
}

/// Waits for several fallible futures, of any types but one error type, concurrently on the
/// current task: `Ok` with a tuple of all their values in the order given, or the first
/// `Err` as soon as any future fails.
///
/// On the first error the other futures are dropped (cancelled) at once. Otherwise as
/// [`join!`](crate::join!).
///
/// # Examples
///
/// ```
/// async fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
///     text.parse()
/// }
///
/// corio::run(async {
///     let both = corio::try_join!(parse("1"), parse("2"));
///     assert_eq!(both, Ok((1, 2)));
///
///     let forever = std::future::pending::<Result<u32, std::num::ParseIntError>>();
///     let failed = corio::try_join!(forever, parse("x"));
///     assert!(failed.is_err(), "the error ends the wait");
/// });
/// ```
#[macro_export]
macro_rules! try_join {
    // As `join!`, but each future is a `TryMaybeDone` and an `Err` returns at once.
    (@expand ( $($all:tt)* ) $( ( $($skip:tt)* ) $future:expr, )* ) => {{
        let count = $crate::future::macro_support::count(&[$(::core::stringify!($all)),*]);
        let mut futures = ( $(
            $crate::future::macro_support::pin!($crate::future::macro_support::try_maybe_done(
                $crate::future::macro_support::IntoFuture::into_future($future),
            )),
        )* );
        let mut start: u32 = 0;
        $crate::future::macro_support::poll_fn(|cx| {
            let mut all_done = true;
            for first_pass in [true, false] {
                $({
                    let index =
                        $crate::future::macro_support::count(&[$(::core::stringify!($skip)),*]);
                    if (index >= start) == first_pass {
                        let ( $($skip,)* future, .. ) = &mut futures;
                        let polled =
                            $crate::future::macro_support::Future::poll(future.as_mut(), cx);
                        match polled {
                            $crate::future::macro_support::Poll::Pending => all_done = false,
                            $crate::future::macro_support::Poll::Ready(result) => {
                                if let ::core::result::Result::Err(error) = result {
                                    return $crate::future::macro_support::Poll::Ready(
                                        ::core::result::Result::Err(error),
                                    );
                                }
                            }
                        }
                    }
                })*
            }
            start = (start + 1) % count;
            if !all_done {
                return $crate::future::macro_support::Poll::Pending;
            }
            $crate::future::macro_support::Poll::Ready(::core::result::Result::Ok(( $({
                let ( $($skip,)* future, .. ) = &mut futures;
                future.as_mut().take_output().expect("a finished future keeps its output")
            },)* )))
        })
        .await
    }};

    (@normalize ( $($before:tt)* ) [ $($done:tt)* ] $future:expr, $($rest:tt)*) => {
        $crate::try_join!(
            @normalize ( $($before)* _ ) [ $($done)* ( $($before)* ) $future, ] $($rest)*
        )
    };
    (@normalize ( $($all:tt)* ) [ $($done:tt)* ]) => {
        $crate::try_join!(@expand ( $($all)* ) $($done)*)
    };

    () => { ::core::result::Result::Ok(()) };
    ( $($future:expr),+ $(,)? ) => {
        $crate::try_join!(@normalize () [] $($future,)+)
    };
}
