//! [`Exception`]: an application error answered by an exception handler, as FastAPI's
//! `raise SomeException(...)` is answered by `@app.exception_handler(SomeException)`.

use http::StatusCode;

use super::IntoResponse;
use crate::Response;

/// Carries an error of the application's own type to the handler registered for it with
/// [`App::exception_handler`](crate::App::exception_handler). Without one, the client gets
/// a plain `500 Internal Server Error`.
///
/// The handler may be a plain `Fn(E) -> R`, or, as in FastAPI's docs, an `async fn` that
/// also sees the request ([`RequestHead`](crate::RequestHead)); see
/// [`ExceptionHandler`](crate::app::ExceptionHandler) for the shapes and what each costs.
///
/// ```
/// use corio_web::response::Exception;
/// use corio_web::testing::TestClient;
/// use corio_web::{App, RequestHead, http::StatusCode};
///
/// #[derive(Clone)]
/// struct UnicornError { name: String }
///
/// async fn unicorn() -> Result<&'static str, Exception<UnicornError>> {
///     Err(Exception(UnicornError { name: "yolo".into() }))
/// }
///
/// /// FastAPI's `async def unicorn_exception_handler(request: Request, exc: UnicornException)`.
/// async fn unicorn_error(head: RequestHead, e: UnicornError) -> (StatusCode, String) {
///     (StatusCode::IM_A_TEAPOT, format!("Oops! {} did something at {}.", e.name, head.path()))
/// }
///
/// let app = App::new()
///     .get("/unicorns/yolo", unicorn)
///     .exception_handler(unicorn_error);
/// corio::run(async move {
///     let response = TestClient::new(app).get("/unicorns/yolo").send().await;
///     assert_eq!(response.status(), 418);
///     assert_eq!(response.text(), "Oops! yolo did something at /unicorns/yolo.");
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Exception<E>(pub E);

/// So `?` raises: in a handler returning `Result<T, Exception<E>>`, a `Result<_, E>`'s
/// error converts itself.
///
/// ```
/// use corio_web::response::Exception;
///
/// #[derive(Clone, Debug)]
/// struct OutOfStock;
///
/// fn reserve(left: u32) -> Result<u32, OutOfStock> {
///     left.checked_sub(1).ok_or(OutOfStock)
/// }
///
/// async fn buy() -> Result<String, Exception<OutOfStock>> {
///     let left = reserve(0)?;
///     Ok(format!("{left} left"))
/// }
/// # corio::run(async { assert!(buy().await.is_err()) });
/// ```
impl<E> From<E> for Exception<E> {
    fn from(error: E) -> Exception<E> {
        Exception(error)
    }
}

impl<E: Clone + Send + Sync + 'static> IntoResponse for Exception<E> {
    fn into_response(self) -> Response {
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(self.0);
        response
    }
}
