//! The state of one collecting pass: where we are, what went wrong, what earlier passes
//! learned.
//!
//! It lives in a thread-local because serde gives `Deserialize` impls no way to reach the
//! deserializer's state, and constrained types ([`Constrained`](crate::extract::Constrained),
//! [`Validated`](crate::extract::Validated)) must report their errors *and go on*, rather
//! than fail the whole deserialization. A pass is synchronous (no `.await` inside), so the
//! thread-local is only ever seen by the pass that installed it; a guard puts the previous
//! state back even if a `Deserialize` impl panics.
//!
//! Invariants: `frames` mirrors the value being deserialized (pushed before a child value is
//! handed to its `Deserialize`, popped after); an error is recorded at most once per value:
//! a frame that already holds an error silences constraint reports below it, because the
//! value there is a placeholder, not the client's.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::Shape;
use crate::extract::validation::{ErrorKind, Loc, LocPart, ValidationError};

/// A struct (its name and fields) or an enum (its name and variants), as serde names them.
pub(crate) type TypeKey = (&'static str, &'static [&'static str]);

/// What failed passes taught about the types being deserialized.
#[derive(Debug, Default)]
pub(crate) struct Hints {
    types: HashMap<TypeKey, TypeHints>,
}

#[derive(Debug, Default)]
struct TypeHints {
    /// Fields the derive reported missing: inject them (as missing) when absent.
    required: Vec<&'static str>,
    /// The struct denies unknown fields: report and skip them.
    deny_unknown: bool,
    /// The enum refuses unknown variants: check before handing one over.
    strict_enum: bool,
}

impl Hints {
    /// Learns from the error that ended a pass; `false` if it teaches nothing new (so
    /// another pass would end the same way).
    pub(crate) fn learn(&mut self, error: &super::DeError) -> bool {
        use super::DeError;
        use super::error::Owner;
        match error {
            DeError::MissingField {
                field,
                owner: Owner::Type(key),
                ..
            } => {
                let hints = self.types.entry(*key).or_default();
                if hints.required.contains(field) {
                    return false;
                }
                hints.required.push(field);
                true
            }
            DeError::UnknownField {
                owner: Owner::Type(key),
                ..
            } => !std::mem::replace(&mut self.types.entry(*key).or_default().deny_unknown, true),
            DeError::UnknownVariant {
                owner: Owner::Type(key),
                ..
            } => !std::mem::replace(&mut self.types.entry(*key).or_default().strict_enum, true),
            _ => false,
        }
    }
}

/// The most errors one extraction collects. Without a bound, a 2 MiB body of `[{},{},...]`
/// read as a list of structs with five required fields makes millions of errors (gigabytes
/// of memory, and a response as large); past this, the pass stops (see `DeError::TooMany`)
/// and the errors found so far are reported.
pub(crate) const MAX_ERRORS: usize = 1000;

struct Frame {
    part: LocPart,
    has_error: bool,
}

struct Ctx {
    frames: Vec<Frame>,
    errors: Vec<ValidationError>,
    hints: Hints,
    shape: Shape,
    /// Constrained values being deserialized, innermost last: each wants the input it is
    /// read from, to echo it as sent (`"11"`, not the `11.0` it became).
    captures: Vec<Capture>,
}

struct Capture {
    depth: usize,
    got: Option<(Value, Loc)>,
}

thread_local! {
    static CTX: RefCell<Option<Ctx>> = const { RefCell::new(None) };
}

/// Runs `f` as one pass with a fresh context rooted at `root`; returns its result, the
/// errors it recorded and the hints (handed back for the next pass).
pub(crate) fn run<R>(
    root: &Loc,
    shape: Shape,
    hints: Hints,
    f: impl FnOnce() -> R,
) -> (R, Vec<ValidationError>, Hints) {
    struct Restore(Option<Option<Ctx>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0.take() {
                CTX.with(|c| *c.borrow_mut() = previous);
            }
        }
    }
    let ctx = Ctx {
        frames: root
            .iter()
            .map(|part| Frame {
                part: part.clone(),
                has_error: false,
            })
            .collect(),
        errors: Vec::new(),
        hints,
        shape,
        captures: Vec::new(),
    };
    // Nested runs (a `Deserialize` impl that extracts again) keep the outer state aside.
    let previous = CTX.with(|c| c.borrow_mut().replace(ctx));
    let mut restore = Restore(Some(previous));
    let result = f();
    let ctx = CTX.with(|c| {
        let previous = restore.0.take().unwrap_or(None);
        std::mem::replace(&mut *c.borrow_mut(), previous)
    });
    match ctx {
        Some(ctx) => (result, ctx.errors, ctx.hints),
        None => (result, Vec::new(), Hints::default()),
    }
}

fn with<R>(f: impl FnOnce(&mut Ctx) -> R) -> Option<R> {
    CTX.with(|c| c.borrow_mut().as_mut().map(f))
}

/// Whether a pass is running on this thread.
pub(crate) fn active() -> bool {
    CTX.with(|c| c.borrow().is_some())
}

pub(crate) fn push(part: LocPart) {
    with(|ctx| {
        ctx.frames.push(Frame {
            part,
            has_error: false,
        })
    });
}

pub(crate) fn pop() {
    with(|ctx| ctx.frames.pop());
}

/// The current location.
pub(crate) fn loc() -> Loc {
    with(|ctx| ctx.frames.iter().map(|f| f.part.clone()).collect()).unwrap_or_default()
}

/// The shape of the source being read.
pub(crate) fn shape() -> Shape {
    with(|ctx| ctx.shape).unwrap_or(Shape::Json)
}

/// The name a field or key goes by in a location: headers are matched with `_` (so that
/// `x_token` fills from `x-token`) but reported with `-`, as FastAPI reports them.
pub(crate) fn key_part(key: &str, field: Option<&'static str>) -> LocPart {
    let header_root =
        with(|ctx| ctx.shape.header_names() && ctx.frames.len() == 1).unwrap_or(false);
    match field {
        _ if header_root => LocPart::from(key.replace('_', "-")),
        Some(field) => LocPart::from(field),
        None => LocPart::from(key.to_owned()),
    }
}

/// Records `kind` at the current location.
pub(crate) fn record(kind: ErrorKind, input: Value) {
    with(|ctx| {
        if ctx.errors.len() >= MAX_ERRORS {
            return;
        }
        let loc = ctx.frames.iter().map(|f| f.part.clone()).collect();
        if let Some(top) = ctx.frames.last_mut() {
            top.has_error = true;
        }
        ctx.errors.push(kind.at(loc, input));
    });
}

/// Records `kind` at the current location plus `parts` (a value that is skipped, or a
/// map's key, so never gets a frame of its own).
pub(crate) fn record_child(
    parts: impl IntoIterator<Item = LocPart>,
    kind: ErrorKind,
    input: Value,
) {
    with(|ctx| {
        if ctx.errors.len() >= MAX_ERRORS {
            return;
        }
        let mut loc: Loc = ctx.frames.iter().map(|f| f.part.clone()).collect();
        loc.extend(parts);
        ctx.errors.push(kind.at(loc, input));
    });
}

/// Reports a constraint violation from a `Deserialize` impl, at the current location plus
/// `relative`. Returns `false` if no pass is running (the caller should fail instead).
/// Silenced when the value or one that contains it already has an error.
pub(crate) fn report(relative: &[LocPart], kind: ErrorKind, input: Value) -> bool {
    with(|ctx| {
        if ctx.errors.len() >= MAX_ERRORS || ctx.frames.iter().any(|f| f.has_error) {
            return;
        }
        let input = if ctx.shape.strings() {
            stringify(input)
        } else {
            input
        };
        let mut loc: Loc = ctx.frames.iter().map(|f| f.part.clone()).collect();
        loc.extend(relative.iter().cloned());
        if relative.is_empty()
            && let Some(top) = ctx.frames.last_mut()
        {
            top.has_error = true;
        }
        ctx.errors.push(kind.at(loc, input));
    })
    .is_some()
}

/// Starts capturing the input of the value about to be deserialized (see [`offer`]).
pub(crate) fn capture_begin() {
    with(|ctx| {
        let depth = ctx.frames.len();
        ctx.captures.push(Capture { depth, got: None })
    });
}

/// Ends the capture [`capture_begin`] started: the input and its location, if the value
/// was read by the collecting deserializer.
pub(crate) fn capture_end() -> Option<(Value, Loc)> {
    with(|ctx| ctx.captures.pop().and_then(|c| c.got)).flatten()
}

/// Offers the input a value is read from to the innermost capture, which keeps the first
/// one at or below its depth (a single path parameter is one frame deeper than `Path`).
pub(crate) fn offer(value: &Value) {
    with(|ctx| {
        let depth = ctx.frames.len();
        if let Some(capture) = ctx.captures.last_mut()
            && capture.got.is_none()
            && depth >= capture.depth
        {
            let loc = ctx.frames.iter().map(|f| f.part.clone()).collect();
            capture.got = Some((value.clone(), loc));
        }
    });
}

/// Reports a constraint violation of the value read from `input` at `loc` (from
/// [`capture_end`]). Silenced when a value containing it already has an error. Returns
/// `false` if no pass is running.
pub(crate) fn report_captured(loc: Loc, kind: ErrorKind, input: Value) -> bool {
    with(|ctx| {
        if ctx.errors.len() >= MAX_ERRORS || ctx.frames.iter().any(|f| f.has_error) {
            return;
        }
        ctx.errors.push(kind.at(loc, input));
    })
    .is_some()
}

/// Echoes a typed value as the string it was sent as (query, path, form, headers and
/// cookies only carry strings).
fn stringify(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(stringify).collect()),
        other => other,
    }
}

/// Whether the pass has collected [`MAX_ERRORS`] and should stop.
pub(crate) fn full() -> bool {
    with(|ctx| ctx.errors.len() >= MAX_ERRORS).unwrap_or(false)
}

pub(crate) fn error_count() -> usize {
    with(|ctx| ctx.errors.len()).unwrap_or(0)
}

/// Orders the errors recorded since `start` inside the struct at the current depth by the
/// order its fields are declared in, as pydantic reports them; errors about fields it does
/// not have come last.
pub(crate) fn sort_struct_errors(start: usize, fields: &'static [&'static str]) {
    with(|ctx| {
        let depth = ctx.frames.len();
        let header_root = ctx.shape.header_names() && depth == 1;
        let Some(errors) = ctx.errors.get_mut(start..) else {
            return;
        };
        if errors.len() < 2 {
            return;
        }
        errors.sort_by_key(|error| match error.loc.get(depth) {
            Some(LocPart::Key(key)) => fields
                .iter()
                .position(|f| {
                    if header_root {
                        f.len() == key.len()
                            && f.bytes()
                                .zip(key.bytes())
                                .all(|(a, b)| a == b || (a == b'_' && b == b'-'))
                    } else {
                        *f == key
                    }
                })
                .unwrap_or(fields.len()),
            _ => 0,
        });
    });
}

/// What earlier passes learned about the struct `key`: whether it denies unknown fields,
/// and which required fields `object` lacks (to be injected as missing).
pub(crate) fn struct_hints(key: TypeKey, object: &Map<String, Value>) -> (bool, Vec<&'static str>) {
    with(|ctx| match ctx.hints.types.get(&key) {
        None => (false, Vec::new()),
        Some(hints) => (
            hints.deny_unknown,
            hints
                .required
                .iter()
                .copied()
                .filter(|field| !object.contains_key(*field))
                .collect(),
        ),
    })
    .unwrap_or_default()
}

/// Whether the enum `key` refuses unknown variants.
pub(crate) fn strict_enum(key: TypeKey) -> bool {
    with(|ctx| ctx.hints.types.get(&key).is_some_and(|h| h.strict_enum)).unwrap_or(false)
}
