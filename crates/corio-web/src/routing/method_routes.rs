//! [`MethodRoutes`]: the endpoints of one path, one per HTTP method.

use http::{HeaderValue, Method};

/// The endpoints registered for one path pattern, by method.
///
/// `HEAD` falls back to the `GET` endpoint (the server then sends no body), as in FastAPI
/// and Starlette.
#[derive(Debug, Clone)]
pub struct MethodRoutes<E> {
    /// Few methods per path: a vector beats a map.
    routes: Vec<(Method, E)>,
}

impl<E> Default for MethodRoutes<E> {
    fn default() -> MethodRoutes<E> {
        MethodRoutes { routes: Vec::new() }
    }
}

impl<E> MethodRoutes<E> {
    /// Adds `endpoint` for `method`. Returns the endpoint back if the method already has one.
    pub fn insert(&mut self, method: Method, endpoint: E) -> Result<(), E> {
        if self.routes.iter().any(|(m, _)| *m == method) {
            return Err(endpoint);
        }
        self.routes.push((method, endpoint));
        Ok(())
    }

    /// The endpoint for `method` (`GET`'s for `HEAD` if `HEAD` has none of its own).
    pub fn get(&self, method: &Method) -> Option<&E> {
        let find = |wanted: &Method| {
            self.routes
                .iter()
                .find(|(m, _)| m == wanted)
                .map(|(_, e)| e)
        };
        find(method).or_else(|| {
            if *method == Method::HEAD {
                find(&Method::GET)
            } else {
                None
            }
        })
    }

    /// The methods this path answers, as an `Allow` header value (`HEAD` included where
    /// `GET` is).
    pub fn allow(&self) -> HeaderValue {
        let mut names: Vec<&str> = self.routes.iter().map(|(m, _)| m.as_str()).collect();
        if names.contains(&"GET") && !names.contains(&"HEAD") {
            names.push("HEAD");
        }
        let joined = names.join(", ");
        HeaderValue::from_str(&joined).expect("method names are valid header text")
    }

    /// Every (method, endpoint) pair, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (&Method, &E)> {
        self.routes.iter().map(|(m, e)| (m, e))
    }

    /// True if no method is registered.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_falls_back_to_get_and_is_allowed() {
        let mut routes = MethodRoutes::default();
        routes.insert(Method::GET, "get").unwrap();
        routes.insert(Method::POST, "post").unwrap();
        assert_eq!(routes.get(&Method::HEAD), Some(&"get"));
        assert_eq!(routes.get(&Method::POST), Some(&"post"));
        assert_eq!(routes.get(&Method::PUT), None);
        assert_eq!(routes.allow(), "GET, POST, HEAD");
        assert_eq!(routes.insert(Method::GET, "again"), Err("again"));
    }

    #[test]
    fn an_explicit_head_wins() {
        let mut routes = MethodRoutes::default();
        routes.insert(Method::HEAD, "head").unwrap();
        routes.insert(Method::GET, "get").unwrap();
        assert_eq!(routes.get(&Method::HEAD), Some(&"head"));
        assert_eq!(routes.allow(), "HEAD, GET");
    }
}
