//! Bearer-token auth for writes: the [`WriteAccess`] dependency.
//!
//! Reads are open; every write (`POST`, `PUT`, `PATCH`, `DELETE`) takes
//! `Depends<WriteAccess>`, which reads `Authorization: Bearer <token>` with corio-web's
//! [`HttpBearer`] and compares the token with the server's. The token comes from
//! `--token` or `CORIO_DEMO_TOKEN`; without either, [`generate_token`] makes a random one
//! at start and the server prints it once (so a fresh checkout can still try writes from
//! `/docs`, and no fixed token works on every installation).
//!
//! Both failures are 401 with `WWW-Authenticate: Bearer`, as FastAPI's `HTTPBearer`
//! answers: no token (or another scheme) is `{"detail": "Not authenticated"}`, a wrong
//! one `{"detail": "Invalid token"}`.

use std::io::{self, Read};

use corio_web::HttpError;
use corio_web::depends::Dependency;
use corio_web::extract::FromRequestParts;
use corio_web::http::header::WWW_AUTHENTICATE;
use corio_web::http::request::Parts;
use corio_web::openapi::OperationDoc;
use corio_web::security::{BearerConfig, HttpBearer, constant_time_eq, describe_security};

use crate::app::AppState;

/// How the scheme shows in the OpenAPI document (Swagger UI's "Authorize" dialog).
pub struct DemoBearer;

impl BearerConfig for DemoBearer {
    const DESCRIPTION: Option<&'static str> = Some(
        "The token set with `--token` or `CORIO_DEMO_TOKEN`; without one, the server \
         generates a token at start and prints it.",
    );
}

/// The demo's bearer scheme.
pub type Bearer = HttpBearer<DemoBearer>;

/// Proof that the request carries the server's token. Write handlers take
/// `Depends<WriteAccess>`; reaching the handler means the check passed.
#[derive(Debug)]
pub struct WriteAccess;

impl Dependency<AppState> for WriteAccess {
    type Rejection = HttpError;

    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<WriteAccess, HttpError> {
        // No bearer token at all: the extractor's own 401, "Not authenticated".
        let bearer = Bearer::from_request_parts(parts, state).await?;
        // Constant time: how long the comparison takes says nothing about the token.
        if !constant_time_eq(bearer.credentials.as_bytes(), state.token.as_bytes()) {
            return Err(HttpError::new(401, "Invalid token")
                .with_header(WWW_AUTHENTICATE, Bearer::challenge()));
        }
        Ok(WriteAccess)
    }

    /// The routes that depend on it need the bearer scheme: the document says so, and
    /// Swagger UI sends the token for them.
    fn describe(operation: &mut OperationDoc<'_>) {
        describe_security::<Bearer>(operation);
    }
}

/// A random token: 128 bits from the kernel's generator, as 32 hex digits.
pub fn generate_token() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_hex_and_differ() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
