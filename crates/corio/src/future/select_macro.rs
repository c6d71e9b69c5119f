//! `select!`: wait on several branches at once; the first to finish (and match) wins.
//!
//! # How the macro works
//!
//! 1. **Normalize** (a tt-muncher): each branch `<pattern> = <future>, if <enabled> =>
//!    <handler>` becomes `( _ _ ) [<pattern>] <future>, if (true && <enabled>) => <handler>;`,
//!    where the `_`s count the branches before it (as in `join!`), the pattern is kept as raw
//!    tokens (collected one token at a time up to the `=`), and a missing `if` leaves
//!    `(true)`. The `else` branch, or a panic when there is none, comes last.
//! 2. **Expand**: the preconditions are evaluated into a bit mask of disabled branches; all
//!    futures are created and pinned on the task's stack in one tuple; a `poll_fn` polls the
//!    enabled ones, starting at a random branch (or the first, with `biased;`). When one
//!    finishes, its branch is disabled and its output is tested against the pattern: a match
//!    is stored in the branch's output slot and the `poll_fn` returns; a mismatch is dropped
//!    and the others are polled on. Once every branch is disabled, the `poll_fn` returns with
//!    no output stored.
//! 3. The futures are dropped at the end of the polling block, so the handler runs with every
//!    loser already cancelled and can reuse whatever they borrowed. Then an `if let ... else`
//!    chain finds the stored output, binds the pattern by value and evaluates the handler
//!    (outside any closure or loop of ours, so `?`, `return`, `break` and `continue` in a
//!    handler act on the surrounding code); with no output stored it evaluates `else`.
//!
//! Testing the pattern inside the `poll_fn` matches it against a reference to the output,
//! where binding modifiers (`mut`, `ref`) and reference patterns (`&`) are not allowed, so
//! `__select_clean_pattern!` strips them first (bindings are not used by that test).

/// Waits on several futures at once and runs the handler of the first one to finish whose
/// output matches its pattern; the other futures are dropped (cancelled).
///
/// The syntax is tokio's:
///
/// ```text
/// corio::select! {
///     biased;                                   // optional: poll branches in order
///     <pattern> = <future> => <handler>,
///     <pattern> = <future>, if <condition> => <handler>,
///     else => <handler>,                        // optional
/// }
/// ```
///
/// - Each `<future>` is anything that implements `IntoFuture`. All of them are evaluated
///   first, in order, and run concurrently on the current task.
/// - A branch whose `if <condition>` is false is *disabled*: its future is still created, but
///   never polled.
/// - When a future finishes, its output is matched against its `<pattern>`. If it matches,
///   every other future is dropped and the handler runs with the pattern's bindings; the
///   `select!` evaluates to the handler's value. If not, the branch is disabled, the output is
///   dropped, and the `select!` goes on waiting for the others.
/// - If every branch is disabled, the `else` handler runs; with no `else`, `select!` panics.
/// - By default each poll starts at a random branch, so an always-ready branch cannot starve
///   the rest. With `biased;` branches are polled top to bottom, which is cheaper and lets
///   you give one priority (for example a shutdown signal).
/// - Handlers are ordinary code of the enclosing function: they may `.await`, `return`,
///   use `?`, and `break` or `continue` an enclosing loop.
/// - Up to 64 branches. Must be used in an `async` context.
///
/// To keep a future alive across `select!`s (typically in a loop), pin it outside and pass
/// `&mut fut`: only the reference is dropped. Cancel-safety matters there: a future dropped
/// when another branch wins must not lose data (corio's channel receives and lock acquires
/// are cancel-safe).
///
/// # Examples
///
/// The ready branch wins; the pending one is dropped:
///
/// ```
/// use corio::time::{sleep, Duration};
///
/// corio::run(async {
///     let winner = corio::select! {
///         _ = sleep(Duration::from_secs(60)) => "timer",
///         value = async { 7 } => if value == 7 { "value" } else { "other" },
///     };
///     assert_eq!(winner, "value");
/// });
/// ```
///
/// Patterns filter, preconditions disable, and `else` catches the rest. Here the first
/// branch finishes with `None`, which does not match, so the select waits for the second:
///
/// ```
/// use corio::time::{sleep, Duration};
///
/// corio::run(async {
///     let ask_cache = async { None::<u32> };
///     let ask_db = async {
///         sleep(Duration::from_millis(5)).await;
///         Some(42)
///     };
///     let use_db = true;
///     let found = corio::select! {
///         Some(hit) = ask_cache => hit,
///         Some(mut row) = ask_db, if use_db => { row += 1; row }
///         else => 0,
///     };
///     assert_eq!(found, 43);
/// });
/// ```
///
/// A loop that handles messages until a shutdown signal, checking the signal first:
///
/// ```
/// use corio::sync::oneshot;
/// use corio::time::{sleep, Duration};
///
/// corio::run(async {
///     let (stop_tx, stop_rx) = oneshot::channel::<()>();
///     let mut stop = std::pin::pin!(stop_rx);
///     corio::spawn(async move {
///         sleep(Duration::from_millis(20)).await;
///         let _ = stop_tx.send(());
///     });
///     let mut ticks = 0;
///     loop {
///         corio::select! {
///             biased;
///             _ = &mut stop => break,
///             _ = sleep(Duration::from_millis(1)) => ticks += 1,
///         }
///     }
///     println!("ticked {ticks} times before the stop");
/// });
/// ```
#[macro_export]
macro_rules! select {
    // ===== Expand the normalized branches =====
    (@expand
        biased = $biased:tt;
        count = ( $($all:tt)* );
        branches = [ $(
            ( $($skip:tt)* ) [ $($pattern:tt)+ ] $future:expr, if $enabled:expr => $handler:expr;
        )+ ];
        else = $else:expr;
    ) => {{
        const _: () = ::core::assert!(
            $crate::future::macro_support::count(&[$(::core::stringify!($all)),*]) <= 64,
            "select! supports at most 64 branches",
        );
        let branches = $crate::future::macro_support::count(&[$(::core::stringify!($all)),*]);
        // Bit `i` set: branch `i` is disabled (its precondition failed, or it finished).
        let mut disabled: u64 = 0;
        $(
            if !$enabled {
                let index = $crate::future::macro_support::count(&[$(::core::stringify!($skip)),*]);
                disabled |= 1 << index;
            }
        )+
        let mut outputs = {
            let mut futures = ( $(
                $crate::future::macro_support::pin!(
                    $crate::future::macro_support::IntoFuture::into_future($future)
                ),
            )+ );
            // Slot `i`: the output of branch `i`, if it won.
            let mut outputs = ( $({
                let ( $($skip,)* future, .. ) = &futures;
                $crate::future::macro_support::no_output(future)
            },)+ );
            $crate::future::macro_support::poll_fn(|cx| {
                if $crate::future::macro_support::poll_budget(cx).is_pending() {
                    return $crate::future::macro_support::Poll::Pending;
                }
                let start = if $biased {
                    0
                } else {
                    $crate::future::macro_support::random_below(branches)
                };
                let mut any_pending = false;
                // Two passes: branches `start..` first, then `..start`.
                for first_pass in [true, false] {
                    $({
                        let index =
                            $crate::future::macro_support::count(&[$(::core::stringify!($skip)),*]);
                        let bit = 1u64 << index;
                        if (index >= start) == first_pass && disabled & bit == 0 {
                            let ( $($skip,)* future, .. ) = &mut futures;
                            match $crate::future::macro_support::Future::poll(future.as_mut(), cx) {
                                $crate::future::macro_support::Poll::Pending => any_pending = true,
                                $crate::future::macro_support::Poll::Ready(output) => {
                                    disabled |= bit;
                                    #[allow(unreachable_patterns, unused_variables)]
                                    #[allow(non_shorthand_field_patterns)]
                                    let matched = match &output {
                                        $crate::__select_clean_pattern!([] [] $($pattern)+) => true,
                                        _ => false,
                                    };
                                    if matched {
                                        let ( $($skip,)* slot, .. ) = &mut outputs;
                                        *slot = ::core::option::Option::Some(output);
                                        return $crate::future::macro_support::Poll::Ready(());
                                    }
                                }
                            }
                        }
                    })+
                }
                if any_pending {
                    $crate::future::macro_support::Poll::Pending
                } else {
                    // Every branch is disabled: no output, so `else` runs.
                    $crate::future::macro_support::Poll::Ready(())
                }
            })
            .await;
            outputs
        };
        $(
            if let ( $($skip,)* ::core::option::Option::Some($($pattern)+), .. ) = outputs {
                $handler
            } else
        )+ {
            $else
        }
    }};

    // ===== Normalize =====
    //
    // State: `@ biased = <bool>; count = (<one _ per branch so far>); branches = [<normalized
    // branches>]; pattern = [<tokens of the current pattern so far>];` then the unread input.
    // One step per token tree of each pattern (the last one is read together with the future
    // and handler), so a select of 64 one-token patterns (`v = ...`) stays within the default
    // recursion limit.

    // Between branches: only `else` or the end may follow.
    (@ biased = $biased:tt; count = (); branches = []; pattern = []; else => $else:expr $(,)?) => {{
        $else
    }};
    (@ biased = $biased:tt; count = (); branches = []; pattern = [];) => {
        ::core::compile_error!("select! needs at least one branch")
    };
    (@ biased = $biased:tt; count = $all:tt; branches = $branches:tt; pattern = [];
        else => $else:expr $(,)?
    ) => {
        $crate::select!(@expand biased = $biased; count = $all; branches = $branches; else = $else;)
    };
    (@ biased = $biased:tt; count = $all:tt; branches = $branches:tt; pattern = [];) => {
        $crate::select!(@expand
            biased = $biased; count = $all; branches = $branches;
            else = ::core::panic!("all branches are disabled and there is no else branch");
        )
    };

    // The last token of a pattern and the `=` after it: then the future, the precondition if
    // any, and the handler, which is a block (the comma after it is optional) or an
    // expression. Record the branch, with one more `_` in the count, and start the next one.
    (@ biased = $biased:tt; count = ( $($all:tt)* ); branches = [ $($branches:tt)* ];
        pattern = [ $($pattern:tt)* ];
        $last:tt = $future:expr $(, if $enabled:expr)? => $handler:block, $($rest:tt)*
    ) => {
        $crate::select!(@ biased = $biased; count = ( $($all)* _ ); branches = [ $($branches)*
            ( $($all)* ) [ $($pattern)* $last ] $future, if (true $(&& $enabled)?) => $handler;
        ]; pattern = []; $($rest)*)
    };
    (@ biased = $biased:tt; count = ( $($all:tt)* ); branches = [ $($branches:tt)* ];
        pattern = [ $($pattern:tt)* ];
        $last:tt = $future:expr $(, if $enabled:expr)? => $handler:block $($rest:tt)*
    ) => {
        $crate::select!(@ biased = $biased; count = ( $($all)* _ ); branches = [ $($branches)*
            ( $($all)* ) [ $($pattern)* $last ] $future, if (true $(&& $enabled)?) => $handler;
        ]; pattern = []; $($rest)*)
    };
    (@ biased = $biased:tt; count = ( $($all:tt)* ); branches = [ $($branches:tt)* ];
        pattern = [ $($pattern:tt)* ];
        $last:tt = $future:expr $(, if $enabled:expr)? => $handler:expr $(, $($rest:tt)*)?
    ) => {
        $crate::select!(@ biased = $biased; count = ( $($all)* _ ); branches = [ $($branches)*
            ( $($all)* ) [ $($pattern)* $last ] $future, if (true $(&& $enabled)?) => $handler;
        ]; pattern = []; $($($rest)*)?)
    };

    // Another token of the pattern.
    (@ biased = $biased:tt; count = $all:tt; branches = $branches:tt; pattern = [ $($pattern:tt)* ];
        $next:tt $($rest:tt)*
    ) => {
        $crate::select!(@ biased = $biased; count = $all; branches = $branches;
            pattern = [ $($pattern)* $next ]; $($rest)*)
    };
    (@ $($invalid:tt)*) => {
        ::core::compile_error!("expected `<pattern> = <future> => <handler>,` in select!")
    };

    // ===== Entry =====
    (biased; $($branches:tt)*) => {
        $crate::select!(@ biased = true; count = (); branches = []; pattern = []; $($branches)*)
    };
    ($($branches:tt)*) => {
        $crate::select!(@ biased = false; count = (); branches = []; pattern = []; $($branches)*)
    };
}

/// Strips binding modifiers (`mut`, `ref`) and reference patterns (`&`, `&&`) from a pattern,
/// at every depth, so that it can be tested against a reference. Input: `[] [] <pattern>`.
/// The first `[..]` collects the output at the current depth; the second is a stack of the
/// enclosing groups, each `(kind [output before the group] [input after the group])`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_clean_pattern {
    // Done.
    ([ $($out:tt)* ] []) => { $($out)* };
    // The end of a group: wrap its output and resume the enclosing level.
    ([ $($inner:tt)* ] [ (paren [ $($out:tt)* ] [ $($rest:tt)* ]) $($stack:tt)* ]) => {
        $crate::__select_clean_pattern!([ $($out)* ( $($inner)* ) ] [ $($stack)* ] $($rest)*)
    };
    ([ $($inner:tt)* ] [ (bracket [ $($out:tt)* ] [ $($rest:tt)* ]) $($stack:tt)* ]) => {
        $crate::__select_clean_pattern!([ $($out)* [ $($inner)* ] ] [ $($stack)* ] $($rest)*)
    };
    ([ $($inner:tt)* ] [ (brace [ $($out:tt)* ] [ $($rest:tt)* ]) $($stack:tt)* ]) => {
        $crate::__select_clean_pattern!([ $($out)* { $($inner)* } ] [ $($stack)* ] $($rest)*)
    };
    // Dropped tokens.
    ([ $($out:tt)* ] $stack:tt ref $($rest:tt)*) => {
        $crate::__select_clean_pattern!([ $($out)* ] $stack $($rest)*)
    };
    ([ $($out:tt)* ] $stack:tt mut $($rest:tt)*) => {
        $crate::__select_clean_pattern!([ $($out)* ] $stack $($rest)*)
    };
    ([ $($out:tt)* ] $stack:tt & $($rest:tt)*) => {
        $crate::__select_clean_pattern!([ $($out)* ] $stack $($rest)*)
    };
    ([ $($out:tt)* ] $stack:tt && $($rest:tt)*) => {
        $crate::__select_clean_pattern!([ $($out)* ] $stack $($rest)*)
    };
    // A group: clean its contents first.
    ([ $($out:tt)* ] [ $($stack:tt)* ] ( $($group:tt)* ) $($rest:tt)*) => {
        $crate::__select_clean_pattern!(
            [] [ (paren [ $($out)* ] [ $($rest)* ]) $($stack)* ] $($group)*
        )
    };
    ([ $($out:tt)* ] [ $($stack:tt)* ] [ $($group:tt)* ] $($rest:tt)*) => {
        $crate::__select_clean_pattern!(
            [] [ (bracket [ $($out)* ] [ $($rest)* ]) $($stack)* ] $($group)*
        )
    };
    ([ $($out:tt)* ] [ $($stack:tt)* ] { $($group:tt)* } $($rest:tt)*) => {
        $crate::__select_clean_pattern!(
            [] [ (brace [ $($out)* ] [ $($rest)* ]) $($stack)* ] $($group)*
        )
    };
    // Anything else is kept.
    ([ $($out:tt)* ] $stack:tt $token:tt $($rest:tt)*) => {
        $crate::__select_clean_pattern!([ $($out)* $token ] $stack $($rest)*)
    };
}
