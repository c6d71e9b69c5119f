//! Routing: from a request's method and path to the endpoint that answers it.
//!
//! [`PathRouter`] holds every route of an application, compiled into a radix tree
//! (`matchit`), so a lookup costs time in the length of the path, not in the number of
//! routes. Each path pattern (`/items/{item_id}`, `/files/{*path}`) has one
//! [`MethodRoutes`] entry with an endpoint per method. A lookup ends in one of FastAPI's
//! four outcomes ([`RouteMatch`]): the endpoint with its path parameters; `405 Method Not
//! Allowed` with an `Allow` header; a redirect to the same path with or without its
//! trailing slash (FastAPI's `redirect_slashes`); or `404 Not Found`.
//!
//! The router is generic over the endpoint type, so it knows nothing of handlers: the app
//! layer stores its boxed handlers here.

mod method_routes;
mod path_router;

pub use method_routes::MethodRoutes;
pub use path_router::{PathRouter, RouteError, RouteMatch};
