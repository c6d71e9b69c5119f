//! Handlers: plain functions whose arguments are extractors and whose result is a response.
//!
//! FastAPI's rule is built in. An `async fn` handler runs on the event loop. A plain `fn`
//! handler is blocking code (SQLite, files, a sync SDK), so it runs on the blocking pool
//! automatically: its extractors run on the loop, then the function body runs in
//! [`corio::task::spawn_blocking`], and the loop keeps serving other requests meanwhile.
//!
//! ```
//! use corio_web::App;
//! use corio_web::extract::Path;
//! use corio_web::testing::TestClient;
//!
//! async fn read_item(Path(item_id): Path<u32>) -> String {
//!     format!("item {item_id}")
//! }
//!
//! fn slow_sum(Path((a, b)): Path<(i64, i64)>) -> String {
//!     std::thread::sleep(std::time::Duration::from_millis(1)); // blocking is fine here
//!     (a + b).to_string()
//! }
//!
//! let app = App::new()
//!     .get("/items/{item_id}", read_item)
//!     .get("/sum/{a}/{b}", slow_sum);
//! corio::run(async move {
//!     let client = TestClient::new(app);
//!     assert_eq!(client.get("/items/5").send().await.text(), "item 5");
//!     assert_eq!(client.get("/sum/2/3").send().await.text(), "5");
//!     assert_eq!(client.get("/items/foo").send().await.status(), 422);
//! });
//! ```
//!
//! Every extractor runs even when an earlier one failed, so the 422 lists every invalid
//! value of the request at once ([`Rejections`]); a rejection that is not about values (a
//! 413, say) is answered as it is, and the extractors after it are skipped.
//!
//! A handler with arguments runs in the request's [`RequestScope`]: the teardowns its
//! dependencies registered run once it has answered (see [`crate::depends`]).
//!
//! A handler is recognised by its signature: up to 12 arguments, the first ones
//! [`FromRequestParts`], the last one [`FromRequest`] (it may read the body). The marker
//! type `T` of [`Handler<T, S>`] only tells the implementations apart; users never name
//! it.

use std::future::Future;
use std::sync::Arc;

use crate::depends::RequestScope;
use crate::extract::{FromRequest, FromRequestParts, Rejections};
use crate::openapi::OperationDoc;
use crate::response::IntoResponse;
use crate::service::ResponseFuture;
use crate::{Request, Response};

/// A function that can answer requests, given the application state `S`.
pub trait Handler<T, S>: Clone + Send + Sync + 'static {
    /// Extracts the arguments from `request`, runs the function and turns its result into
    /// a response.
    fn call(self, request: Request, state: Arc<S>) -> ResponseFuture;

    /// Writes the route's OpenAPI operation: each argument's extractor describes what it
    /// reads, the return type its response.
    fn describe(operation: &mut OperationDoc<'_>) {
        let _ = operation;
    }
}

/// Marks handlers that are `async fn`s: they run on the event loop.
#[derive(Debug)]
pub enum OnLoop {}

/// Marks handlers that are plain `fn`s: they run on the blocking pool.
#[derive(Debug)]
pub enum OnBlockingPool {}

/// Runs `f` on the blocking pool and answers with its result. A panic in `f` is resumed
/// here, so the server turns it into a 500 as it does for async handlers.
async fn run_blocking<R>(f: impl FnOnce() -> R + Send + 'static) -> Response
where
    R: IntoResponse + Send + 'static,
{
    match corio::task::spawn_blocking(f).await {
        Ok(result) => result.into_response(),
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // The runtime is shutting down: nothing will run the handler.
        Err(_) => http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

impl<F, Fut, R, S> Handler<(OnLoop,), S> for F
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
    S: Send + Sync + 'static,
{
    fn call(self, _request: Request, _state: Arc<S>) -> ResponseFuture {
        Box::pin(async move { self().await.into_response() })
    }

    fn describe(operation: &mut OperationDoc<'_>) {
        R::describe(operation);
    }
}

impl<F, R, S> Handler<(OnBlockingPool,), S> for F
where
    F: Fn() -> R + Clone + Send + Sync + 'static,
    R: IntoResponse + Send + 'static,
    S: Send + Sync + 'static,
{
    fn call(self, _request: Request, _state: Arc<S>) -> ResponseFuture {
        Box::pin(run_blocking(self))
    }

    fn describe(operation: &mut OperationDoc<'_>) {
        R::describe(operation);
    }
}

/// The body both handler kinds share: enter the request scope, run every extractor
/// (collecting rejections into one answer), then `$finish` with the arguments bound to the
/// extractor type names.
macro_rules! handler_call {
    ($request:ident, $state:ident, [$($parts:ident),*], $last:ident, $finish:expr) => {{
        let (mut parts, body) = $request.into_parts();
        // Entered before extraction, which may register (the scope is created then; the
        // last extractor consumes the extensions, `run` still learns of it). App- and
        // router-level dependencies hand their validation errors down.
        let (scope, handed_down) = RequestScope::enter_taking(&mut parts.extensions);
        Box::pin(scope.run(async move {
            let mut rejections = Rejections::new();
            if let Some(errors) = handed_down {
                rejections.push(errors);
            }
            $(
                let $parts = if rejections.is_fatal() {
                    None
                } else {
                    rejections.take($parts::from_request_parts(&mut parts, &$state).await)
                };
            )*
            let $last = if rejections.is_fatal() {
                None
            } else {
                let request = Request::from_parts(parts, body);
                rejections.take($last::from_request(request, &$state).await)
            };
            if let Err(response) = rejections.finish() {
                return response;
            }
            let ($(Some($parts),)* Some($last)) = ($($parts,)* $last) else {
                unreachable!("no rejection, so every extractor produced its value");
            };
            $finish
        }))
    }};
}

/// Implements both handler kinds for one arity: `$parts` are the head extractors, `$last`
/// the one that may read the body.
macro_rules! handler_arity {
    ($($parts:ident),* ; $last:ident) => {
        #[allow(non_snake_case, unused_mut, unused_parens)]
        impl<F, Fut, R, S, M, $($parts,)* $last> Handler<(OnLoop, M, $($parts,)* $last,), S> for F
        where
            F: Fn($($parts,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoResponse,
            S: Send + Sync + 'static,
            M: 'static,
            $($parts: FromRequestParts<S> + Send + 'static,)*
            $last: FromRequest<S, M> + Send + 'static,
        {
            fn call(self, request: Request, state: Arc<S>) -> ResponseFuture {
                handler_call!(request, state, [$($parts),*], $last, {
                    self($($parts,)* $last).await.into_response()
                })
            }

            fn describe(operation: &mut OperationDoc<'_>) {
                $(<$parts as FromRequestParts<S>>::describe(operation);)*
                <$last as FromRequest<S, M>>::describe(operation);
                R::describe(operation);
            }
        }

        #[allow(non_snake_case, unused_mut, unused_parens)]
        impl<F, R, S, M, $($parts,)* $last> Handler<(OnBlockingPool, M, $($parts,)* $last,), S> for F
        where
            F: Fn($($parts,)* $last) -> R + Clone + Send + Sync + 'static,
            R: IntoResponse + Send + 'static,
            S: Send + Sync + 'static,
            M: 'static,
            $($parts: FromRequestParts<S> + Send + 'static,)*
            $last: FromRequest<S, M> + Send + 'static,
        {
            fn call(self, request: Request, state: Arc<S>) -> ResponseFuture {
                handler_call!(request, state, [$($parts),*], $last, {
                    run_blocking(move || self($($parts,)* $last)).await
                })
            }

            fn describe(operation: &mut OperationDoc<'_>) {
                $(<$parts as FromRequestParts<S>>::describe(operation);)*
                <$last as FromRequest<S, M>>::describe(operation);
                R::describe(operation);
            }
        }
    };
}

handler_arity!(; T1);
handler_arity!(T1; T2);
handler_arity!(T1, T2; T3);
handler_arity!(T1, T2, T3; T4);
handler_arity!(T1, T2, T3, T4; T5);
handler_arity!(T1, T2, T3, T4, T5; T6);
handler_arity!(T1, T2, T3, T4, T5, T6; T7);
handler_arity!(T1, T2, T3, T4, T5, T6, T7; T8);
handler_arity!(T1, T2, T3, T4, T5, T6, T7, T8; T9);
handler_arity!(T1, T2, T3, T4, T5, T6, T7, T8, T9; T10);
handler_arity!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10; T11);
handler_arity!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11; T12);

#[cfg(test)]
mod tests;
