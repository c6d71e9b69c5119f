//! [`CachePadded`]: keeps a hot field off its neighbours' cache lines.

use std::ops::{Deref, DerefMut};

/// Pads and aligns `T` to two cache lines (what the adjacent-line prefetcher pulls in), so
/// a field one thread writes often never shares a line with one another thread reads.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> Deref for CachePadded<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for CachePadded<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
