//! [`Form<T>`]: an `application/x-www-form-urlencoded` body.

use http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::de::Shape;
use super::kv::{self, multi_object};
use super::{ExtractError, FromRequest, OptionalFromRequest, ViaRequest, body};
use crate::Request;

/// A URL-encoded form body deserialized into `T`, as FastAPI reads `Form()` parameters:
/// errors at `["body", name]`, a repeated field fills a `Vec`, and an empty value counts
/// as absent (FastAPI's rule for forms). A body of another content type has no fields, so
/// every required one is `missing`.
///
/// For `multipart/form-data` bodies (and files), use
/// [`MultipartForm<T>`](super::MultipartForm).
///
/// ```
/// use corio_web::extract::{Form, FromRequest};
/// use corio_web::{Body, http};
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, schemars::JsonSchema)]
/// struct Login { username: String, password: String }
///
/// corio::run(async {
///     let request = http::Request::builder()
///         .header("content-type", "application/x-www-form-urlencoded")
///         .body(Body::from("username=ann&password="))
///         .unwrap();
///     let error = <Form<Login> as FromRequest<()>>::from_request(request, &()).await.unwrap_err();
///     let errors = error.validation_error().unwrap();
///     assert_eq!(errors.errors()[0].type_, "missing");
///     assert_eq!(serde_json::to_value(&errors.errors()[0].loc).unwrap(),
///                serde_json::json!(["body", "password"]));
/// });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Form<T>(pub T);

super::newtype_extractor!(Form);

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

async fn extract<T: DeserializeOwned>(request: Request) -> Result<Form<T>, ExtractError> {
    let form = is_form(request.headers());
    let (_, bytes) = body::read(request).await?;
    // An empty value counts as absent (FastAPI's rule for forms).
    let fields = || form_urlencoded::parse(&bytes).filter(|(_, value)| !value.is_empty());
    let pairs: Vec<_> = if form { fields().collect() } else { Vec::new() };
    let object = || {
        if form {
            multi_object(fields())
        } else {
            Value::Object(Default::default())
        }
    };
    kv::extract_pairs(&pairs, object, "body", Shape::QUERY).map(Form)
}

impl<S, T> FromRequest<S, ViaRequest> for Form<T>
where
    S: Send + Sync,
    T: DeserializeOwned + schemars::JsonSchema + Send,
{
    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        operation.request_body::<T>("application/x-www-form-urlencoded");
    }

    type Rejection = ExtractError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ExtractError> {
        extract(request).await
    }
}

/// `None` when every required field is absent.
impl<S, T> OptionalFromRequest<S> for Form<T>
where
    S: Send + Sync,
    T: DeserializeOwned + schemars::JsonSchema + Send,
{
    fn describe(operation: &mut crate::openapi::OperationDoc<'_>) {
        operation.request_body::<T>("application/x-www-form-urlencoded");
    }

    type Rejection = ExtractError;

    async fn optional_from_request(
        request: Request,
        _state: &S,
    ) -> Result<Option<Self>, ExtractError> {
        kv::optional(extract(request).await)
    }
}
