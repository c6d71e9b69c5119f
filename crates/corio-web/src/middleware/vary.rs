//! Adding a field name to a response's `Vary` header without losing what is there.

use http::{HeaderMap, HeaderValue, header};

/// Adds `name` to `headers`' `Vary`, unless it (or `*`) is already listed. Several `Vary`
/// lines are merged into one, as caches read them as one list anyway.
pub(crate) fn add_vary(headers: &mut HeaderMap, name: &'static str) {
    // The common case, on every response CORS or gzip passes: nothing to merge with.
    if !headers.contains_key(header::VARY) {
        headers.insert(header::VARY, HeaderValue::from_static(name));
        return;
    }
    let existing: Vec<&str> = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .collect();
    if existing
        .iter()
        .any(|token| *token == "*" || token.eq_ignore_ascii_case(name))
    {
        return;
    }
    if existing.is_empty() {
        headers.insert(header::VARY, HeaderValue::from_static(name));
        return;
    }
    let joined = format!("{}, {name}", existing.join(", "));
    // Built from visible ASCII tokens and a static name, so it is a valid value; if an
    // odd existing value made it invalid, keep the old header and add ours on its own line.
    match HeaderValue::from_str(&joined) {
        Ok(value) => {
            headers.insert(header::VARY, value);
        }
        Err(_) => {
            headers.append(header::VARY, HeaderValue::from_static(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vary_after(existing: &[&'static str], name: &'static str) -> Vec<String> {
        let mut headers = HeaderMap::new();
        for value in existing {
            headers.append(header::VARY, HeaderValue::from_static(value));
        }
        add_vary(&mut headers, name);
        headers
            .get_all(header::VARY)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn names_are_added_once_and_merged() {
        assert_eq!(vary_after(&[], "Origin"), ["Origin"]);
        assert_eq!(
            vary_after(&["Accept-Encoding"], "Origin"),
            ["Accept-Encoding, Origin"]
        );
        assert_eq!(
            vary_after(&["cookie", "accept"], "Origin"),
            ["cookie, accept, Origin"]
        );
        assert_eq!(vary_after(&["origin"], "Origin"), ["origin"]);
        assert_eq!(vary_after(&["*"], "Origin"), ["*"]);
    }
}
