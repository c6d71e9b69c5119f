//! Task labels: what a task is doing right now, in words, for slow-poll warnings and dumps.
//!
//! A task has a name for its whole life (set at spawn); a label can change at every step.
//! A server's connection task, for instance, labels itself with the route it is serving
//! (`GET /items/{item_id} → read_item`) and clears the label when the response is sent, so a
//! warning about a blocked poll says which handler blocked.
//!
//! Setting a label is one store into the task (no allocation, no lock): a label is a
//! `&'static Label`, made once (a `static`, or [`Label::leak`] at start-up for names built at
//! run time) and then set as often as needed.

use std::fmt;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::runtime::context;

/// A label for [`set_label`]: a `'static` piece of text, one pointer wide.
///
/// ```
/// use corio::task::{self, Label};
///
/// static FETCH: Label = Label::new("fetching the feed");
///
/// corio::run(async {
///     task::set_label(Some(&FETCH));
///     // ... work that a slow-poll warning or a task dump should describe ...
///     task::set_label(None);
/// });
/// ```
#[derive(PartialEq, Eq, Hash)]
pub struct Label {
    text: &'static str,
}

impl Label {
    /// A label with this text.
    pub const fn new(text: &'static str) -> Label {
        Label { text }
    }

    /// A label made at run time (a route table built at start-up, say). Its memory is never
    /// freed: make each label once and reuse it, not one per request.
    pub fn leak(text: impl Into<String>) -> &'static Label {
        let text: &'static str = Box::leak(text.into().into_boxed_str());
        Box::leak(Box::new(Label::new(text)))
    }

    /// The text.
    pub fn as_str(&self) -> &'static str {
        self.text
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.text, f)
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

/// Labels the task being polled on this thread (or clears its label with `None`); returns the
/// previous label. Does nothing outside a task (a `block_on` future has no label).
///
/// The label shows in slow-poll warnings and in [`Handle::dump`](crate::runtime::Handle::dump)
/// until it is changed. It costs one atomic store.
pub fn set_label(label: Option<&'static Label>) -> Option<&'static Label> {
    let new = label.map_or(std::ptr::null_mut(), |l| std::ptr::from_ref(l).cast_mut());
    context::with_current_task(|trailer| {
        let old = trailer.label.swap(new, Ordering::Release);
        // SAFETY: the slot only ever holds null or a pointer from a `&'static Label`.
        unsafe { old.as_ref() }
    })
    .flatten()
}

/// The label of the task being polled on this thread, if it has one.
pub fn label() -> Option<&'static Label> {
    context::with_current_task(|trailer| load(&trailer.label)).flatten()
}

/// Reads a task's label slot.
pub(crate) fn load(slot: &AtomicPtr<Label>) -> Option<&'static Label> {
    // SAFETY: the slot only ever holds null or a pointer from a `&'static Label`.
    unsafe { slot.load(Ordering::Acquire).as_ref() }
}
