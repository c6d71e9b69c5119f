//! [`ResponseModel<M>`]: FastAPI's `response_model` — a handler's value sent through the
//! model it declares, so fields outside the model never leave the server.

use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{HttpError, IntoResponse};
use crate::Response;
use crate::extract::Json;
use crate::openapi::OperationDoc;

/// A JSON response of model `M`, made from any serializable value: the value is read
/// into `M` (fields `M` does not have are dropped, as FastAPI drops them) and `M` is sent.
/// The OpenAPI document shows `M`.
///
/// A value that does not fit `M` (a field `M` requires is missing) is the server's error,
/// as FastAPI's `ResponseValidationError`: logged, and answered with a 500.
///
/// ```
/// use corio_web::App;
/// use corio_web::extract::Json;
/// use corio_web::response::ResponseModel;
/// use corio_web::testing::TestClient;
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, JsonSchema)]
/// struct UserIn { username: String, password: String }
///
/// /// What the API shows of a user: never the password.
/// #[derive(Serialize, Deserialize, JsonSchema)]
/// struct UserOut { username: String }
///
/// async fn create_user(Json(user): Json<UserIn>) -> ResponseModel<UserOut> {
///     // `UserIn` is not `Serialize` here; any serializable value would do.
///     ResponseModel::from_value(&serde_json::json!({
///         "username": user.username, "password": user.password,
///     }))
/// }
///
/// let app = App::new().post("/user", create_user);
/// let spec = app.openapi();
/// assert_eq!(
///     spec["paths"]["/user"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
///     "#/components/schemas/UserOut"
/// );
/// corio::run(async move {
///     let client = TestClient::new(app);
///     let response = client.post("/user").json(&serde_json::json!({"username": "ann", "password": "s3cret"})).send().await;
///     assert_eq!(response.text(), r#"{"username":"ann"}"#);
/// });
/// ```
pub struct ResponseModel<M> {
    /// The model, or why the value did not fit it.
    outcome: Result<M, String>,
    _model: PhantomData<fn() -> M>,
}

impl<M> ResponseModel<M> {
    /// The model itself.
    pub fn new(model: M) -> ResponseModel<M> {
        ResponseModel {
            outcome: Ok(model),
            _model: PhantomData,
        }
    }

    /// The model, or the error that will answer 500.
    pub fn into_result(self) -> Result<M, String> {
        self.outcome
    }
}

impl<M: DeserializeOwned> ResponseModel<M> {
    /// `value` read into `M`: what `M` does not have is left behind.
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> ResponseModel<M> {
        let outcome = serde_json::to_value(value)
            .and_then(serde_json::from_value::<M>)
            .map_err(|e| e.to_string());
        ResponseModel {
            outcome,
            _model: PhantomData,
        }
    }
}

impl<M: Serialize + JsonSchema> IntoResponse for ResponseModel<M> {
    fn into_response(self) -> Response {
        match self.outcome {
            Ok(model) => Json(model).into_response(),
            Err(why) => {
                tracing::error!(
                    model = std::any::type_name::<M>(),
                    "the response does not fit its response model: {why}"
                );
                HttpError::new(500, "Internal Server Error").into_response()
            }
        }
    }

    fn describe(operation: &mut OperationDoc<'_>) {
        operation.response_body::<M>("application/json");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq)]
    struct Out {
        name: String,
    }

    #[test]
    fn extra_fields_are_dropped_and_a_misfit_is_a_500() {
        let fits = ResponseModel::<Out>::from_value(&serde_json::json!({"name": "a", "secret": 1}));
        assert_eq!(fits.into_result(), Ok(Out { name: "a".into() }));
        let misfit = ResponseModel::<Out>::from_value(&serde_json::json!({"secret": 1}));
        assert_eq!(misfit.into_response().status(), 500);
        let direct = ResponseModel::new(Out { name: "b".into() }).into_response();
        assert_eq!(direct.status(), 200);
    }
}
