//! [`Redirect`]: FastAPI's `RedirectResponse`.

use http::{HeaderValue, StatusCode, header};

use super::IntoResponse;
use crate::Response;

/// A redirect to another URL.
///
/// ```
/// use corio_web::response::{IntoResponse, Redirect};
///
/// let response = Redirect::to("/items/").into_response();
/// assert_eq!(response.status(), 307);
/// assert_eq!(response.headers()["location"], "/items/");
/// ```
#[derive(Debug, Clone)]
pub struct Redirect {
    status: StatusCode,
    location: HeaderValue,
}

impl Redirect {
    fn new(status: StatusCode, uri: &str) -> Redirect {
        Redirect {
            status,
            location: HeaderValue::from_str(uri).expect("a redirect target is valid header text"),
        }
    }

    /// `307 Temporary Redirect` (FastAPI's default): the client repeats the same method.
    ///
    /// # Panics
    ///
    /// If `uri` contains characters a header cannot hold (a programming error).
    pub fn to(uri: &str) -> Redirect {
        Redirect::new(StatusCode::TEMPORARY_REDIRECT, uri)
    }

    /// `308 Permanent Redirect`: the same method, and clients may remember it.
    ///
    /// # Panics
    ///
    /// As [`to`](Redirect::to).
    pub fn permanent(uri: &str) -> Redirect {
        Redirect::new(StatusCode::PERMANENT_REDIRECT, uri)
    }

    /// `303 See Other`: the client follows with a `GET` (after a form `POST`).
    ///
    /// # Panics
    ///
    /// As [`to`](Redirect::to).
    pub fn see_other(uri: &str) -> Redirect {
        Redirect::new(StatusCode::SEE_OTHER, uri)
    }
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response
            .headers_mut()
            .insert(header::LOCATION, self.location);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_status() {
        assert_eq!(Redirect::permanent("/a").into_response().status(), 308);
        let see_other = Redirect::see_other("/b?x=1").into_response();
        assert_eq!(see_other.status(), 303);
        assert_eq!(see_other.headers()[header::LOCATION], "/b?x=1");
    }
}
