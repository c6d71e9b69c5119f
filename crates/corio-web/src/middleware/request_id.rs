//! Request ids: [`RequestIdLayer`] gives each request a [`RequestId`], taken from the
//! client's `x-request-id` when it is sane, otherwise generated, and echoes it in the
//! response.
//!
//! Generated ids are 32 lowercase hex digits: a random per-process prefix and a counter
//! scrambled by a bijective mixer. The counter makes them unique within the process for
//! 2^64 requests without any locking or system call; the prefix makes two processes'
//! ids differ; the mixer keeps them from giving away how many requests came before.

use std::collections::hash_map::RandomState;
use std::convert::Infallible;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use http::request::Parts;
use http::{HeaderName, HeaderValue};

use super::Layer;
use crate::extract::{ExtractError, FromRequestParts, OptionalFromRequestParts};
use crate::service::ResponseFuture;
use crate::{Request, Service};

/// The longest client-supplied id accepted; longer ones are replaced (they end up in every
/// log line).
const MAX_LEN: usize = 128;

/// A request's id, in its extensions (put there by [`RequestIdLayer`]). Handlers take it
/// as an extractor (`id: RequestId`, or `Option<RequestId>` when the layer may be absent).
///
/// ```
/// use corio_web::App;
/// use corio_web::middleware::{RequestId, RequestIdLayer, ServiceExt};
/// use corio_web::testing::TestClient;
///
/// async fn whoami(id: RequestId) -> String {
///     format!("request {id}")
/// }
///
/// let app = App::new().get("/", whoami).layer(RequestIdLayer::new());
/// corio::run(async move {
///     let response = TestClient::new(app).get("/").header("x-request-id", "req-1").send().await;
///     assert_eq!(response.text(), "request req-1");
///     assert_eq!(response.header("x-request-id"), Some("req-1"));
/// });
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ids of visible ASCII are made (`is_sane`, `generate`), so this cannot fail;
        // an empty string is a harmless answer if it ever did.
        self.0.to_str().unwrap_or_default()
    }

    /// The id as a header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

/// The request's id; a 500 if no [`RequestIdLayer`] ran (a wiring mistake).
impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ExtractError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ExtractError> {
        parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .ok_or_else(|| ExtractError::internal("no RequestId: add RequestIdLayer"))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn optional_from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<RequestId>().cloned())
    }
}

/// Middleware giving each request a [`RequestId`]: the client's `x-request-id` if it is
/// sane (1 to 128 characters of `A-Z a-z 0-9 - _ . : + / = @ ~`), otherwise a generated
/// one. The id goes into the request's extensions and into the response's `x-request-id`
/// (unless the application set that header itself).
///
/// Add it after [`AccessLog`](super::AccessLog) (so it is outside) to have the id in the
/// log line.
#[derive(Clone, Debug)]
pub struct RequestIdLayer {
    header: HeaderName,
    trust_incoming: bool,
}

impl Default for RequestIdLayer {
    fn default() -> RequestIdLayer {
        RequestIdLayer::new()
    }
}

impl RequestIdLayer {
    /// Ids in `x-request-id`, incoming ones kept when sane.
    pub fn new() -> RequestIdLayer {
        RequestIdLayer {
            header: HeaderName::from_static("x-request-id"),
            trust_incoming: true,
        }
    }

    /// Reads and writes the id in `header` instead of `x-request-id`.
    pub fn header(mut self, header: HeaderName) -> RequestIdLayer {
        self.header = header;
        self
    }

    /// Whether to keep a sane id the client sent (default `true`); `false` always
    /// generates one, for servers facing clients that should not choose log keys.
    pub fn trust_incoming(mut self, trust: bool) -> RequestIdLayer {
        self.trust_incoming = trust;
        self
    }
}

impl Layer for RequestIdLayer {
    fn wrap(self, inner: Arc<dyn Service>) -> Arc<dyn Service> {
        Arc::new(RequestIdService {
            config: self,
            inner,
        })
    }
}

struct RequestIdService {
    config: RequestIdLayer,
    inner: Arc<dyn Service>,
}

impl Service for RequestIdService {
    /// The application's start-up and shutdown hooks, through this middleware.
    fn lifespan(&self) -> Option<&dyn crate::service::Lifespan> {
        self.inner.lifespan()
    }

    fn call(&self, mut request: Request) -> ResponseFuture {
        let incoming = self
            .config
            .trust_incoming
            .then(|| request.headers().get(&self.config.header))
            .flatten()
            .filter(|value| is_sane(value.as_bytes()))
            .cloned();
        let id = RequestId(incoming.unwrap_or_else(generate));
        request.extensions_mut().insert(id.clone());
        let header = self.config.header.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await;
            response.headers_mut().entry(header).or_insert(id.0);
            response
        })
    }
}

/// Whether a client's id is fit to copy into logs and responses.
fn is_sane(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_' | b'.' | b':' | b'+' | b'/' | b'=' | b'@' | b'~'
                )
        })
}

/// A new id: 16 hex digits of per-process randomness, 16 of the mixed counter.
fn generate() -> HeaderValue {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // std's RandomState is seeded from the OS once per process: randomness without a
    // dependency. Hashing a constant with it yields a random 64-bit value.
    let prefix = *PREFIX.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(0x636f_7269_6f2d_7765);
        hasher.finish()
    });
    // Relaxed: only uniqueness matters, and fetch_add gives that under any ordering.
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let text = format!("{prefix:016x}{:016x}", mix(n ^ prefix));
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("0"))
}

/// splitmix64's finalizer: a bijection on u64 (each step is invertible), so distinct
/// counters give distinct ids, while consecutive ones look unrelated.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_ids_are_distinct_hex() {
        let ids: Vec<HeaderValue> = (0..10_000).map(|_| generate()).collect();
        let distinct: HashSet<&HeaderValue> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            assert_eq!(id.len(), 32);
            assert!(id.as_bytes().iter().all(|b| b.is_ascii_hexdigit()));
            assert!(is_sane(id.as_bytes()));
        }
        // Same process, same prefix.
        assert_eq!(ids[0].as_bytes()[..16], ids[1].as_bytes()[..16]);
    }

    #[test]
    fn only_sane_ids_are_kept() {
        assert!(is_sane(b"abc-123_x.y:z+/=@~"));
        assert!(is_sane(&[b'a'; MAX_LEN]));
        assert!(!is_sane(&[b'a'; MAX_LEN + 1]));
        assert!(!is_sane(b""));
        assert!(!is_sane(b"has space"));
        assert!(!is_sane(b"new\nline"));
        assert!(!is_sane("caf\u{e9}".as_bytes()));
        assert!(!is_sane(b"a\"quote"));
    }
}
