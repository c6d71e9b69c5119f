//! What `#[operation]` registers about a handler function: its doc comment and the
//! options it was given, found again by the function's type name when the route is
//! documented.
//!
//! A handler is a plain function, so nothing about it but its type reaches the router. The
//! attribute adds an [`OperationMeta`] to a link-time registry (the `inventory` crate) keyed
//! by the function's module path and name; `std::any::type_name` of the function's type
//! gives the same path, with the names of any functions it is nested in between the module
//! and the name (a handler written inside a test function), which the lookup allows for.
//! Such a nested function is matched by module and name only: annotate nested handlers
//! under names unique to their module (two annotated `create`s nested in two functions of
//! one module are ambiguous and documented by neither).

use super::OperationDoc;

/// A handler's documentation, as `#[operation]` records it. Not for direct use.
#[doc(hidden)]
pub struct OperationMeta {
    /// `module_path!()` where the function is defined.
    pub module_path: &'static str,
    /// The function's name.
    pub name: &'static str,
    /// The declared success status (FastAPI's `status_code`), which the route also answers
    /// with in place of a plain 200.
    pub status: Option<u16>,
    /// Writes the doc comment and the options into the operation.
    pub describe: fn(&mut OperationDoc<'_>),
}

inventory::collect!(OperationMeta);

/// `type_name` without generic arguments: `app::list<app::Item>` is `app::list`.
fn without_generics(type_name: &str) -> &str {
    type_name.split('<').next().unwrap_or(type_name)
}

/// The registered documentation of the function whose type is named `type_name`.
pub(crate) fn lookup(type_name: &str) -> Option<&'static OperationMeta> {
    let path = without_generics(type_name);
    let (_, name) = path.rsplit_once("::")?;
    let mut nested = None;
    let mut ambiguous = false;
    for meta in inventory::iter::<OperationMeta> {
        if meta.name != name {
            continue;
        }
        let Some(rest) = path.strip_prefix(meta.module_path) else {
            continue;
        };
        if rest.len() == name.len() + 2 {
            // `module::name`: exactly this function.
            return Some(meta);
        }
        if rest.starts_with("::") {
            // `module::outer_fn::name`: a function nested in another one. The registry
            // knows only the module, so two annotated functions of that name nested in
            // different functions of one module cannot be told apart: then neither is used.
            ambiguous |= nested.is_some();
            nested = Some(meta);
        }
    }
    if ambiguous { None } else { nested }
}

/// The function's name for an `operationId`, if `type_name` names a function (not a
/// closure).
pub(crate) fn function_name(type_name: &str) -> Option<&str> {
    let path = without_generics(type_name);
    let name = path.rsplit("::").next()?;
    let is_identifier = !name.is_empty()
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    is_identifier.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_item() {}

    #[test]
    fn function_names_come_from_type_names() {
        fn name_of<T>(_: &T) -> &'static str {
            std::any::type_name::<T>()
        }
        assert_eq!(function_name(name_of(&read_item)), Some("read_item"));
        let closure = || ();
        assert_eq!(function_name(name_of(&closure)), None);
        assert_eq!(function_name("app::list<app::Item>"), Some("list"));
    }
}
