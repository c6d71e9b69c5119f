//! Typed request extraction, with FastAPI's validation errors.
//!
//! A handler's arguments are extractors: types that read themselves out of a request.
//! Those that need only the head implement [`FromRequestParts`]; those that consume the
//! body implement [`FromRequest`] (every `FromRequestParts` type is also a `FromRequest`,
//! so the body reader can come last, or not at all).
//!
//! | extractor | reads | error location |
//! | --- | --- | --- |
//! | [`Path<T>`] | the route's parameters ([`PathParams`]): one value, a tuple or a struct | `["path", name]` |
//! | [`Query<T>`] | the query string; repeated keys fill a `Vec` | `["query", name]` |
//! | [`Header<T>`] | headers; field `x_token` reads `x-token` | `["header", "x-token"]` |
//! | [`Cookie<T>`], [`Cookies`] | the `Cookie` header | `["cookie", name]` |
//! | [`Json<T>`] | a JSON body | `["body", field, ...]` |
//! | [`Form<T>`] | an `application/x-www-form-urlencoded` body | `["body", name]` |
//! | [`MultipartForm<T>`] | a `multipart/form-data` body: fields, and files as [`UploadFile`] | `["body", name]` |
//! | [`Multipart`] | a `multipart/form-data` body, part by part ([`Field`]) | |
//! | `Bytes`, `String`, [`Body`](crate::Body) | the raw body (up to the [`BodyLimit`]) | |
//! | [`State<T>`], [`Extension<T>`], [`ConnectInfo`](crate::service::ConnectInfo), `Method`, `Uri`, `Version`, `HeaderMap`, [`Request`] | the rest | |
//!
//! `Option<E>` makes an extractor optional: `None` when what it reads is absent, still a
//! 422 when it is there but invalid. `Result<E, E::Rejection>` hands the rejection to the
//! handler.
//!
//! # Errors
//!
//! Invalid input is answered as FastAPI answers it: `422` with
//! `{"detail": [{"type", "loc", "msg", "input", "ctx"?}, ...]}` and pydantic's wording
//! ([`ValidationError`], [`ErrorKind`]). Every wrong value is reported, not just the first:
//! within one extractor (three bad query fields give three errors; see the `de` module for
//! how) and across a handler's extractors, which the handler layer merges with
//! [`Rejections`]. An extractor reports at most a thousand errors, so that a small
//! request cannot stand for millions of them.
//!
//! Values are read leniently, as pydantic's lax mode reads them: `"42"` is an integer,
//! `"yes"` a boolean. Constraints (`ge`, `max_length`, `pattern`, ...) are declared on the
//! type with [`Constrained`]; other checks go in a [`Validate`] impl.
//!
//! # Not yet
//!
//! A query as `Vec<(String, String)>` (use a `HashMap<String, Vec<String>>`).
//! `#[serde(flatten)]` and untagged enums are buffered by serde itself, which reads them
//! strictly: strings work, numbers from a query string do not, and an error inside them
//! ends the collection for that extractor (it is still reported, with the others found so
//! far).

mod body;
mod constraints;
mod cookie;
mod de;
mod form;
mod header;
mod json;
mod json_syntax;
mod kv;
pub mod multipart;
mod parts;
mod path;
mod query;
mod rejection;
mod state;
mod validation;

pub use body::BodyLimit;
pub use constraints::{
    Between, Constrainable, Constrained, Constraint, Constraints, Length, Validate, Validated,
    ValidationErrors, deserialize_checked, report_invalid,
};
pub use cookie::{Cookie, Cookies};
pub use form::Form;
pub use header::Header;
pub use json::Json;
pub use multipart::{Field, Multipart, MultipartError, MultipartForm, UploadFile};
pub use parts::Extension;
pub use path::{Path, PathDecodeError, PathParams};
pub use query::Query;
pub use rejection::{ExtractError, Rejection, Rejections};
pub use state::{FromRef, State};
pub use validation::{ErrorKind, Loc, LocPart, Number, RequestValidationError, ValidationError};

use std::convert::Infallible;
use std::future::Future;

use http::request::Parts;

use crate::Request;
use crate::openapi::OperationDoc;

/// An extractor that reads only the request's head (method, URI, headers, extensions).
///
/// `S` is the application state, for extractors like [`State`] that need it.
///
/// ```
/// use corio_web::extract::{FromRequestParts, Query};
/// use corio_web::{Body, http};
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, schemars::JsonSchema)]
/// struct Page { skip: u32, limit: u32 }
///
/// corio::run(async {
///     let request = http::Request::builder().uri("/items?skip=0&limit=10").body(Body::empty()).unwrap();
///     let (mut parts, _) = request.into_parts();
///     let Query(page) = <Query<Page> as FromRequestParts<()>>::from_request_parts(&mut parts, &())
///         .await
///         .unwrap();
///     assert_eq!((page.skip, page.limit), (0, 10));
/// });
/// ```
pub trait FromRequestParts<S>: Sized {
    /// What it answers when it cannot extract.
    type Rejection: Rejection;

    /// Extracts `Self` from `parts`.
    fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;

    /// Writes what it reads into the route's OpenAPI operation: parameters, a request
    /// body, a security requirement (see [`OperationDoc`]). Extractors that read nothing
    /// documented keep the default, which writes nothing.
    fn describe(operation: &mut OperationDoc<'_>) {
        let _ = operation;
    }
}

/// An extractor that consumes the whole request, body included; a handler has at most one,
/// as its last argument.
///
/// `M` tells the two kinds of implementations apart: [`ViaRequest`] for extractors that
/// read the body, [`ViaParts`] for the blanket implementation over every
/// [`FromRequestParts`] type. Handler code leaves it generic.
///
/// ```
/// use corio_web::extract::{FromRequest, Json};
/// use corio_web::{Body, http};
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, schemars::JsonSchema)]
/// struct Item { name: String, price: f64 }
///
/// corio::run(async {
///     let request = http::Request::builder()
///         .header("content-type", "application/json")
///         .body(Body::from(r#"{"name": "Foo", "price": 50.5}"#))
///         .unwrap();
///     let Json(item) = <Json<Item> as FromRequest<()>>::from_request(request, &()).await.unwrap();
///     assert_eq!((item.name.as_str(), item.price), ("Foo", 50.5));
/// });
/// ```
pub trait FromRequest<S, M = ViaRequest>: Sized {
    /// What it answers when it cannot extract.
    type Rejection: Rejection;

    /// Extracts `Self` from `request`.
    fn from_request(
        request: Request,
        state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;

    /// Writes what it reads into the route's OpenAPI operation: parameters, a request
    /// body, a security requirement (see [`OperationDoc`]). Extractors that read nothing
    /// documented keep the default, which writes nothing.
    fn describe(operation: &mut OperationDoc<'_>) {
        let _ = operation;
    }
}

/// Marks [`FromRequest`] implementations that read the body.
#[derive(Debug)]
pub enum ViaRequest {}

/// Marks the [`FromRequest`] implementation every [`FromRequestParts`] type gets.
#[derive(Debug)]
pub enum ViaParts {}

impl<S, T> FromRequest<S, ViaParts> for T
where
    S: Send + Sync,
    T: FromRequestParts<S>,
{
    type Rejection = T::Rejection;

    fn from_request(
        request: Request,
        state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        let (mut parts, _body) = request.into_parts();
        async move { T::from_request_parts(&mut parts, state).await }
    }

    fn describe(operation: &mut OperationDoc<'_>) {
        T::describe(operation);
    }
}

/// The `Option<Self>` form of a [`FromRequestParts`] extractor: `None` when what it reads
/// is absent; a rejection when it is there but invalid.
pub trait OptionalFromRequestParts<S>: Sized {
    /// What it answers when what it reads is there but invalid.
    type Rejection: Rejection;

    /// Extracts `Some(Self)`, or `None` if absent.
    fn optional_from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> impl Future<Output = Result<Option<Self>, Self::Rejection>> + Send;

    /// As [`FromRequestParts::describe`], written as if required: `Option<Self>` makes it
    /// optional.
    fn describe(operation: &mut OperationDoc<'_>) {
        let _ = operation;
    }
}

/// The `Option<Self>` form of a body extractor: `None` when there is no body.
pub trait OptionalFromRequest<S>: Sized {
    /// What it answers when the body is there but invalid.
    type Rejection: Rejection;

    /// Extracts `Some(Self)`, or `None` if absent.
    fn optional_from_request(
        request: Request,
        state: &S,
    ) -> impl Future<Output = Result<Option<Self>, Self::Rejection>> + Send;

    /// As [`FromRequest::describe`], written as if required: `Option<Self>` makes it
    /// optional.
    fn describe(operation: &mut OperationDoc<'_>) {
        let _ = operation;
    }
}

impl<S, T> FromRequestParts<S> for Option<T>
where
    S: Send + Sync,
    T: OptionalFromRequestParts<S>,
{
    type Rejection = T::Rejection;

    fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        T::optional_from_request_parts(parts, state)
    }

    fn describe(operation: &mut OperationDoc<'_>) {
        operation.optional(|operation| T::describe(operation));
    }
}

impl<S, T> FromRequest<S, ViaRequest> for Option<T>
where
    S: Send + Sync,
    T: OptionalFromRequest<S>,
{
    type Rejection = T::Rejection;

    fn from_request(
        request: Request,
        state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        T::optional_from_request(request, state)
    }

    fn describe(operation: &mut OperationDoc<'_>) {
        operation.optional(|operation| T::describe(operation));
    }
}

/// The extraction's outcome, rejection included, for the handler to deal with.
impl<S, T> FromRequestParts<S> for Result<T, T::Rejection>
where
    S: Send + Sync,
    T: FromRequestParts<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        Ok(T::from_request_parts(parts, state).await)
    }

    fn describe(operation: &mut OperationDoc<'_>) {
        T::describe(operation);
    }
}

/// The extraction's outcome, rejection included, for the handler to deal with.
impl<S, T> FromRequest<S, ViaRequest> for Result<T, <T as FromRequest<S, ViaRequest>>::Rejection>
where
    S: Send + Sync,
    T: FromRequest<S, ViaRequest>,
{
    type Rejection = Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Infallible> {
        Ok(T::from_request(request, state).await)
    }

    fn describe(operation: &mut OperationDoc<'_>) {
        T::describe(operation);
    }
}

/// Newtype extractors deref to what they hold.
macro_rules! newtype_extractor {
    ($($name:ident),*) => {$(
        impl<T> std::ops::Deref for $name<T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.0
            }
        }

        impl<T> std::ops::DerefMut for $name<T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.0
            }
        }

        impl<T> $name<T> {
            /// What it holds.
            pub fn into_inner(self) -> T {
                self.0
            }
        }
    )*};
}
use newtype_extractor;
