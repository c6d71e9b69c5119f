//! [`PathRouter`]: every route of an application, in a radix tree.

use std::borrow::Cow;
use std::fmt;

use http::{HeaderValue, Method};

use super::MethodRoutes;

/// The routes of an application: path patterns, each with its endpoints by method.
///
/// Patterns use FastAPI's syntax: `{name}` matches one path segment, `{name:path}` (or
/// matchit's `{*name}`) the rest of the path, slashes included.
///
/// ```
/// use corio_web::http::Method;
/// use corio_web::routing::{PathRouter, RouteMatch};
///
/// let mut router = PathRouter::new();
/// router.route(Method::GET, "/items/{item_id}", "read_item").unwrap();
/// match router.lookup(&Method::GET, "/items/a%20b") {
///     RouteMatch::Found { endpoint, params, .. } => {
///         assert_eq!(*endpoint, "read_item");
///         assert_eq!(params, [("item_id", "a b".to_string())]);
///     }
///     _ => unreachable!(),
/// }
/// assert!(matches!(router.lookup(&Method::POST, "/items/1"), RouteMatch::MethodNotAllowed { .. }));
/// assert!(matches!(router.lookup(&Method::GET, "/items/1/"), RouteMatch::RedirectSlash { .. }));
/// assert!(matches!(router.lookup(&Method::GET, "/nothing"), RouteMatch::NotFound));
/// ```
pub struct PathRouter<E> {
    tree: matchit::Router<usize>,
    /// Indexed by the tree's values: the pattern as the user wrote it, and its endpoints.
    routes: Vec<(String, MethodRoutes<E>)>,
    redirect_slashes: bool,
}

/// Where a lookup ended.
#[derive(Debug)]
pub enum RouteMatch<'r, E> {
    /// The endpoint for this method and path.
    Found {
        /// The endpoint.
        endpoint: &'r E,
        /// The route's pattern, as registered (`/items/{item_id}`).
        pattern: &'r str,
        /// The path parameters, in pattern order, percent-decoded.
        params: Vec<(&'r str, String)>,
    },
    /// The path exists, but not for this method: answer 405 with this `Allow` header.
    MethodNotAllowed {
        /// The methods the path answers.
        allow: HeaderValue,
    },
    /// The path exists only with (or only without) a trailing slash: redirect there (307).
    RedirectSlash {
        /// The path to redirect to (the caller adds the query string back).
        path: String,
    },
    /// No route: 404.
    NotFound,
}

/// Why a route could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The pattern already has an endpoint for this method.
    Duplicate {
        /// The method.
        method: Method,
        /// The pattern.
        pattern: String,
    },
    /// The pattern is malformed or overlaps another one ambiguously.
    Invalid {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::Duplicate { method, pattern } => {
                write!(f, "route {method} {pattern} is registered twice")
            }
            RouteError::Invalid { pattern, reason } => {
                write!(f, "invalid route pattern {pattern:?}: {reason}")
            }
        }
    }
}

impl std::error::Error for RouteError {}

impl<E> Default for PathRouter<E> {
    fn default() -> PathRouter<E> {
        PathRouter::new()
    }
}

impl<E> PathRouter<E> {
    /// An empty router that redirects to the other trailing-slash form of a path, as
    /// FastAPI does.
    pub fn new() -> PathRouter<E> {
        PathRouter {
            tree: matchit::Router::new(),
            routes: Vec::new(),
            redirect_slashes: true,
        }
    }

    /// Turns the trailing-slash redirect on or off (FastAPI's `redirect_slashes`).
    pub fn set_redirect_slashes(&mut self, on: bool) {
        self.redirect_slashes = on;
    }

    /// Adds `endpoint` for `method` requests to paths matching `pattern`.
    pub fn route(&mut self, method: Method, pattern: &str, endpoint: E) -> Result<(), RouteError> {
        let invalid = |reason: String| RouteError::Invalid {
            pattern: pattern.to_string(),
            reason,
        };
        if !pattern.starts_with('/') {
            return Err(invalid("a pattern starts with '/'".to_string()));
        }
        let tree_pattern = to_matchit_syntax(pattern).map_err(invalid)?;
        let index = match self.tree.at(&tree_pattern) {
            // The same pattern (possibly written with other parameter names) exists.
            Ok(found) if self.routes[*found.value].0 == pattern => *found.value,
            _ => {
                let index = self.routes.len();
                self.tree
                    .insert(tree_pattern, index)
                    .map_err(|e| invalid(e.to_string()))?;
                self.routes
                    .push((pattern.to_string(), MethodRoutes::default()));
                index
            }
        };
        self.routes[index]
            .1
            .insert(method.clone(), endpoint)
            .map_err(|_| RouteError::Duplicate {
                method,
                pattern: pattern.to_string(),
            })
    }

    /// Finds the endpoint for `method` and `path` (the request path, still
    /// percent-encoded, without the query).
    pub fn lookup(&self, method: &Method, path: &str) -> RouteMatch<'_, E> {
        if let Ok(found) = self.tree.at(path) {
            let (pattern, routes) = &self.routes[*found.value];
            return match routes.get(method) {
                Some(endpoint) => RouteMatch::Found {
                    endpoint,
                    pattern,
                    params: found
                        .params
                        .iter()
                        .map(|(name, value)| (self.param_name(pattern, name), decode(value)))
                        .collect(),
                },
                None => RouteMatch::MethodNotAllowed {
                    allow: routes.allow(),
                },
            };
        }
        if self.redirect_slashes && path != "/" {
            let other = match path.strip_suffix('/') {
                Some(without) => without.to_string(),
                None => format!("{path}/"),
            };
            if self.tree.at(&other).is_ok() {
                return RouteMatch::RedirectSlash { path: other };
            }
        }
        RouteMatch::NotFound
    }

    /// Every route: its pattern and its endpoints, in registration order (for OpenAPI).
    pub fn routes(&self) -> impl Iterator<Item = (&str, &MethodRoutes<E>)> {
        self.routes.iter().map(|(p, r)| (p.as_str(), r))
    }

    /// The parameter's name as it appears in `pattern`, borrowed from the router (matchit
    /// hands back names borrowed from the lookup).
    fn param_name<'r>(&'r self, pattern: &'r str, name: &str) -> &'r str {
        // `{name}` or `{name:path}`: find it in the pattern to return a `'r` borrow.
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            let inner = &after[..close];
            let bare = inner
                .strip_suffix(":path")
                .unwrap_or(inner)
                .trim_start_matches('*');
            if bare == name {
                return bare;
            }
            rest = &after[close + 1..];
        }
        unreachable!("matchit only reports parameters of the matched pattern")
    }
}

/// FastAPI's `{name:path}` becomes matchit's `{*name}`; other converters are refused
/// (declare the type on the handler's `Path` instead).
fn to_matchit_syntax(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a '{' without its '}'".to_string())?;
        let inner = &after[..close];
        match inner.split_once(':') {
            None => {
                out.push('{');
                out.push_str(inner);
                out.push('}');
            }
            Some((name, "path")) => {
                out.push_str("{*");
                out.push_str(name);
                out.push('}');
            }
            Some((_, converter)) => {
                return Err(format!(
                    "unknown converter ':{converter}' (only ':path'; the handler's types \
                     check the rest)"
                ));
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Percent-decodes a path parameter (invalid UTF-8 is replaced, not refused: the
/// parameter's type decides whether the value is acceptable).
fn decode(raw: &str) -> String {
    match percent_encoding::percent_decode_str(raw).decode_utf8_lossy() {
        Cow::Borrowed(same) => same.to_string(),
        Cow::Owned(decoded) => decoded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found<'r>(m: RouteMatch<'r, &'static str>) -> (&'static str, Vec<(&'r str, String)>) {
        match m {
            RouteMatch::Found {
                endpoint, params, ..
            } => (*endpoint, params),
            other => panic!("expected a match, got {other:?}"),
        }
    }

    #[test]
    fn static_and_parameter_routes() {
        let mut router = PathRouter::new();
        router.route(Method::GET, "/", "root").unwrap();
        router.route(Method::GET, "/items/me", "me").unwrap();
        router
            .route(Method::GET, "/items/{item_id}", "item")
            .unwrap();
        router
            .route(Method::GET, "/users/{user_id}/items/{item_id}", "user_item")
            .unwrap();
        assert_eq!(found(router.lookup(&Method::GET, "/")).0, "root");
        assert_eq!(found(router.lookup(&Method::GET, "/items/me")).0, "me");
        assert_eq!(
            found(router.lookup(&Method::GET, "/items/42")),
            ("item", vec![("item_id", "42".to_string())])
        );
        assert_eq!(
            found(router.lookup(&Method::GET, "/users/7/items/x%2Fy")),
            (
                "user_item",
                vec![("user_id", "7".to_string()), ("item_id", "x/y".to_string())]
            )
        );
    }

    #[test]
    fn path_converter_takes_the_rest() {
        let mut router = PathRouter::new();
        router
            .route(Method::GET, "/files/{file_path:path}", "file")
            .unwrap();
        assert_eq!(
            found(router.lookup(&Method::GET, "/files/home/me/a.txt")),
            ("file", vec![("file_path", "home/me/a.txt".to_string())])
        );
        let err = router.route(Method::GET, "/x/{n:int}", "x").unwrap_err();
        assert!(err.to_string().contains("unknown converter"), "{err}");
    }

    #[test]
    fn method_not_allowed_lists_the_methods() {
        let mut router = PathRouter::new();
        router.route(Method::GET, "/items/{id}", "get").unwrap();
        router
            .route(Method::DELETE, "/items/{id}", "delete")
            .unwrap();
        match router.lookup(&Method::PUT, "/items/1") {
            RouteMatch::MethodNotAllowed { allow } => assert_eq!(allow, "GET, DELETE, HEAD"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            found(router.lookup(&Method::DELETE, "/items/1")).0,
            "delete"
        );
        assert_eq!(found(router.lookup(&Method::HEAD, "/items/1")).0, "get");
    }

    #[test]
    fn trailing_slash_redirects_both_ways() {
        let mut router = PathRouter::new();
        router.route(Method::GET, "/items", "items").unwrap();
        router.route(Method::GET, "/users/", "users").unwrap();
        match router.lookup(&Method::GET, "/items/") {
            RouteMatch::RedirectSlash { path } => assert_eq!(path, "/items"),
            other => panic!("{other:?}"),
        }
        match router.lookup(&Method::GET, "/users") {
            RouteMatch::RedirectSlash { path } => assert_eq!(path, "/users/"),
            other => panic!("{other:?}"),
        }
        router.set_redirect_slashes(false);
        assert!(matches!(
            router.lookup(&Method::GET, "/items/"),
            RouteMatch::NotFound
        ));
    }

    #[test]
    fn duplicates_and_bad_patterns_are_errors() {
        let mut router = PathRouter::new();
        router.route(Method::GET, "/a/{id}", "one").unwrap();
        router.route(Method::POST, "/a/{id}", "two").unwrap();
        assert_eq!(
            router.route(Method::GET, "/a/{id}", "three"),
            Err(RouteError::Duplicate {
                method: Method::GET,
                pattern: "/a/{id}".to_string()
            })
        );
        assert!(matches!(
            router.route(Method::GET, "/a/{other}", "conflict"),
            Err(RouteError::Invalid { .. })
        ));
        assert!(matches!(
            router.route(Method::GET, "no-slash", "x"),
            Err(RouteError::Invalid { .. })
        ));
        assert!(matches!(
            router.route(Method::GET, "/b/{open", "x"),
            Err(RouteError::Invalid { .. })
        ));
        assert_eq!(router.routes().count(), 1);
    }

    #[test]
    fn a_thousand_routes_all_resolve() {
        let mut router = PathRouter::new();
        for i in 0..1000 {
            router
                .route(Method::GET, &format!("/r{i}/items/{{id}}"), i)
                .unwrap();
        }
        for i in (0..1000).step_by(37) {
            match router.lookup(&Method::GET, &format!("/r{i}/items/5")) {
                RouteMatch::Found { endpoint, .. } => assert_eq!(*endpoint, i),
                other => panic!("{other:?}"),
            }
        }
    }
}
