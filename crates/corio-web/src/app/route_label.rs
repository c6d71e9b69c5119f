//! Each route's label for corio's slow-poll warnings and task dumps: while a request's
//! handler runs, the connection task carries `GET /items/{item_id} → read_item`, so a
//! handler that blocks the loop is named by its route, not only by the server's
//! connection task.

use corio::task::Label;
use http::Method;

use super::RouteDoc;
use crate::Request;
use crate::openapi::registry;
use crate::service::{ResponseFuture, Service};

/// The label of `method pattern` answered by the handler `doc` describes (made once per
/// route, at start-up: labels live as long as the program).
pub(crate) fn route_label(
    method: &Method,
    pattern: &str,
    doc: Option<&RouteDoc>,
) -> &'static Label {
    let handler =
        doc.map(|doc| registry::function_name(doc.handler_name).unwrap_or(doc.handler_name));
    match handler {
        Some(handler) => Label::leak(format!("{method} {pattern} → {handler}")),
        None => Label::leak(format!("{method} {pattern}")),
    }
}

/// An endpoint that labels the task polling it with its route. The server clears the
/// label before each request, so what runs before routing (middleware) is not blamed on
/// the previous request's route.
pub(crate) struct Labeled<E> {
    pub(crate) label: &'static Label,
    pub(crate) inner: E,
}

impl<E: Service> Service for Labeled<E> {
    #[inline]
    fn call(&self, request: Request) -> ResponseFuture {
        // One store into the task: cheap enough for every request.
        corio::task::set_label(Some(self.label));
        self.inner.call(request)
    }
}
