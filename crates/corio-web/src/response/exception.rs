//! [`Exception`]: an application error answered by an exception handler, as FastAPI's
//! `raise SomeException(...)` is answered by `@app.exception_handler(SomeException)`.

use http::StatusCode;

use super::IntoResponse;
use crate::Response;

/// Carries an error of the application's own type to the handler registered for it with
/// [`App::exception_handler`](crate::App::exception_handler). Without one, the client gets
/// a plain `500 Internal Server Error`.
///
/// ```
/// use corio_web::response::Exception;
/// use corio_web::testing::TestClient;
/// use corio_web::{App, http::StatusCode};
///
/// #[derive(Clone)]
/// struct UnicornError { name: String }
///
/// async fn unicorn() -> Result<&'static str, Exception<UnicornError>> {
///     Err(Exception(UnicornError { name: "yolo".into() }))
/// }
///
/// let app = App::new()
///     .get("/unicorns/yolo", unicorn)
///     .exception_handler(|e: UnicornError| {
///         (StatusCode::IM_A_TEAPOT, format!("Oops! {} did something.", e.name))
///     });
/// corio::run(async move {
///     let response = TestClient::new(app).get("/unicorns/yolo").send().await;
///     assert_eq!(response.status(), 418);
///     assert_eq!(response.text(), "Oops! yolo did something.");
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Exception<E>(pub E);

impl<E: Clone + Send + Sync + 'static> IntoResponse for Exception<E> {
    fn into_response(self) -> Response {
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(self.0);
        response
    }
}
