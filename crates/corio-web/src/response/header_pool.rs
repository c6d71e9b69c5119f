//! A per-thread pool of emptied header maps for responses.
//!
//! A `HeaderMap` allocates twice on its first insert and frees twice when dropped, and
//! nearly every response carries a header (its content type at least). So the server
//! hands back the map of each response it has written, emptied, and the framework's own
//! responses (text, JSON, errors, ...) start from one: a response then costs no
//! allocation for its headers. Maps that grew large are dropped instead of kept, and the
//! pool is bounded, so it holds at most a few kilobytes per thread.

use std::cell::RefCell;

use http::HeaderMap;

use crate::{Body, Response};

/// How many maps a thread keeps at most.
const MAX_POOLED: usize = 32;
/// Maps with room for more headers than this are not kept.
const MAX_CAPACITY: usize = 32;

thread_local! {
    static POOL: RefCell<Vec<HeaderMap>> = const { RefCell::new(Vec::new()) };
}

/// An empty map: a pooled one if the thread has one.
#[inline]
pub(crate) fn take() -> HeaderMap {
    POOL.try_with(|pool| pool.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Empties `map` and keeps it for a later [`take`], unless it is too large, holds no
/// memory, or the pool is full.
pub(crate) fn give(mut map: HeaderMap) {
    let capacity = map.capacity();
    if capacity == 0 || capacity > MAX_CAPACITY {
        return;
    }
    map.clear();
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < MAX_POOLED {
            pool.push(map);
        }
    });
}

/// A `200 OK` response with `body` and a pooled header map.
#[inline]
pub(crate) fn response(body: Body) -> Response {
    let mut response = Response::new(body);
    *response.headers_mut() = take();
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::CONTENT_TYPE;

    fn pooled() -> usize {
        POOL.with(|pool| pool.borrow().len())
    }

    #[test]
    fn maps_come_back_empty_and_keep_their_memory() {
        let mut map = take();
        map.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let capacity = map.capacity();
        let before = pooled();
        give(map);
        assert_eq!(pooled(), before + 1);
        let again = take();
        assert!(again.is_empty());
        assert_eq!(again.capacity(), capacity);
        assert_eq!(pooled(), before);
    }

    #[test]
    fn empty_and_large_maps_are_not_kept_and_the_pool_is_bounded() {
        let before = pooled();
        give(HeaderMap::new());
        assert_eq!(pooled(), before, "a map without memory saves nothing");
        let mut large = HeaderMap::new();
        for i in 0..100 {
            large.insert(
                http::HeaderName::from_bytes(format!("x-{i}").as_bytes()).unwrap(),
                HeaderValue::from_static("v"),
            );
        }
        give(large);
        assert_eq!(pooled(), before, "a large map is dropped");
        for _ in 0..MAX_POOLED + 5 {
            let mut map = HeaderMap::new();
            map.insert(CONTENT_TYPE, HeaderValue::from_static("a"));
            give(map);
        }
        assert_eq!(pooled(), MAX_POOLED);
    }
}
