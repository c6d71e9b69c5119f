//! Extractors for the rest of the request: method, URI, version, extensions, where it came
//! from, the whole request.

use std::any::type_name;
use std::convert::Infallible;

use http::request::Parts;
use http::{Extensions, Method, Uri, Version};

use super::{ExtractError, FromRequest, FromRequestParts, OptionalFromRequestParts, ViaRequest};
use crate::Request;
use crate::service::ConnectInfo;

macro_rules! cloned_part {
    ($($t:ty => $field:ident),*) => {$(
        impl<S: Send + Sync> FromRequestParts<S> for $t {
            type Rejection = Infallible;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
                Ok(parts.$field.clone())
            }
        }
    )*};
}
cloned_part!(Method => method, Uri => uri, Version => version, Extensions => extensions);

/// The whole request, body included.
impl<S: Send + Sync> FromRequest<S, ViaRequest> for Request {
    type Rejection = Infallible;

    async fn from_request(request: Request, _state: &S) -> Result<Request, Infallible> {
        Ok(request)
    }
}

/// Where the request came from: the one in its extensions, else the server's current
/// connection (see [`ConnectInfo`]); a 500 if neither is known (use `Option<ConnectInfo>`
/// to allow that).
impl<S: Send + Sync> FromRequestParts<S> for ConnectInfo {
    type Rejection = ExtractError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ExtractError> {
        connect_info(parts).ok_or_else(|| {
            ExtractError::internal(
                "no ConnectInfo: not in the request's extensions, no current connection",
            )
        })
    }
}

fn connect_info(parts: &Parts) -> Option<ConnectInfo> {
    parts
        .extensions
        .get::<ConnectInfo>()
        .copied()
        .or_else(ConnectInfo::current)
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for ConnectInfo {
    type Rejection = Infallible;

    async fn optional_from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Infallible> {
        Ok(connect_info(parts))
    }
}

/// A value the application (a middleware, the router) put in the request's extensions,
/// cloned; a 500 if it is not there (`Option<Extension<T>>` allows that).
///
/// ```
/// use corio_web::extract::{Extension, FromRequestParts};
/// use corio_web::{Body, http};
///
/// #[derive(Clone)]
/// struct UserId(u64);
///
/// corio::run(async {
///     let mut request = http::Request::new(Body::empty());
///     request.extensions_mut().insert(UserId(7));
///     let (mut parts, _) = request.into_parts();
///     let Extension(user) =
///         <Extension<UserId> as FromRequestParts<()>>::from_request_parts(&mut parts, &())
///             .await
///             .unwrap();
///     assert_eq!(user.0, 7);
/// });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extension<T>(pub T);

super::newtype_extractor!(Extension);

impl<S, T> FromRequestParts<S> for Extension<T>
where
    S: Send + Sync,
    T: Clone + Send + Sync + 'static,
{
    type Rejection = ExtractError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ExtractError> {
        match parts.extensions.get::<T>() {
            Some(value) => Ok(Extension(value.clone())),
            None => Err(ExtractError::internal(format_args!(
                "no {} in the request's extensions",
                type_name::<T>()
            ))),
        }
    }
}

impl<S, T> OptionalFromRequestParts<S> for Extension<T>
where
    S: Send + Sync,
    T: Clone + Send + Sync + 'static,
{
    type Rejection = Infallible;

    async fn optional_from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<T>().cloned().map(Extension))
    }
}
