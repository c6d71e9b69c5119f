//! [`State<T>`]: the application state, or a part of it.

use std::convert::Infallible;

use http::request::Parts;

use super::FromRequestParts;

/// Takes a `Self` out of the application state `T`: the whole state (every `Clone` state
/// is its own `FromRef`) or a part of it, so a handler asks only for what it uses.
///
/// ```
/// use corio_web::extract::{FromRef, State};
///
/// #[derive(Clone)]
/// struct AppState { db: Db, name: &'static str }
/// #[derive(Clone)]
/// struct Db;
///
/// impl FromRef<AppState> for Db {
///     fn from_ref(state: &AppState) -> Db {
///         state.db.clone()
///     }
/// }
///
/// let state = AppState { db: Db, name: "app" };
/// let State(_db): State<Db> = State(Db::from_ref(&state));
/// ```
pub trait FromRef<T> {
    /// The part of `input`.
    fn from_ref(input: &T) -> Self;
}

impl<T: Clone> FromRef<T> for T {
    fn from_ref(input: &T) -> T {
        input.clone()
    }
}

/// The application state `S`, or the part `T` of it that implements [`FromRef<S>`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

super::newtype_extractor!(State);

impl<S, T> FromRequestParts<S> for State<T>
where
    S: Send + Sync,
    T: FromRef<S> + Send,
{
    type Rejection = Infallible;

    async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        Ok(State(T::from_ref(state)))
    }
}
