//! Async generators: a stream written as an `async` block that yields, like Python's
//! `async def` with `yield`.
//!
//! # How it works
//!
//! Stable Rust has no generators, so the body is an ordinary future that receives a
//! [`Yielder`]. `yielder.yield_(value)` is a future that, on its first poll, moves `value`
//! into a slot and returns `Pending`; the body's poll returns `Pending` too, and the
//! generator hands the value to the consumer. On the next `poll_next`, the body is polled
//! again, the yield future resolves, and the body runs on to its next yield.
//!
//! The slot is a local `Option<T>` in `poll_next`'s own frame, published to the yield future
//! through a thread-local pointer for the duration of one `poll` of the body: nothing is
//! allocated per item, or per generator. The pointer is tagged with the generator's id,
//! unique for the life of the process; a yield future writes the slot only if its yielder
//! carries the same id, which proves the slot is an `Option<T>` of its own generator, alive
//! on this thread's stack, and not touched by `poll_next` until the body's poll returns.
//! A yielder used anywhere else (moved into another task, or into a generator nested in the
//! body) finds no slot or another generator's, and panics.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_core::stream::FusedStream;

/// Creates a stream from an async body that yields values through a [`Yielder`].
///
/// `body` is called at once to make the body's future, but none of that future runs until
/// the stream is polled. Each [`yield_`](Yielder::yield_) suspends the body until the
/// consumer asks for the next item, so a generator computes no further ahead than it is
/// read. Dropping the stream drops the body, wherever it is suspended.
///
/// ```
/// use corio::stream::{StreamExt, generator};
///
/// corio::run(async {
///     let countdown = generator(|co| async move {
///         for i in (1..=3).rev() {
///             co.yield_(i).await;
///         }
///     });
///     assert_eq!(countdown.collect::<Vec<_>>().await, [3, 2, 1]);
/// });
/// ```
///
/// The Python it mirrors:
///
/// ```python
/// async def countdown():
///     for i in reversed(range(1, 4)):
///         yield i
/// ```
pub fn generator<T, F, Fut>(body: F) -> Generator<T, Fut>
where
    F: FnOnce(Yielder<T>) -> Fut,
    Fut: Future<Output = ()>,
{
    let yielder = Yielder::new();
    let id = yielder.id;
    Generator {
        body: Body {
            id,
            future: Some(body(yielder)),
            _item: PhantomData,
        },
    }
}

/// Creates a fallible stream: the body returns `Result<(), E>`, so `?` works inside it.
///
/// The stream yields `Ok(value)` for each value the body yields; if the body returns
/// `Err(e)`, the stream yields `Err(e)` and ends.
///
/// ```
/// use corio::stream::{StreamExt, try_generator};
///
/// corio::run(async {
///     let numbers = try_generator(|co| async move {
///         for text in ["1", "2", "x", "4"] {
///             co.yield_(text.parse::<u32>()?).await;
///         }
///         Ok::<_, std::num::ParseIntError>(())
///     });
///     let items: Vec<_> = numbers.collect().await;
///     assert_eq!(items.len(), 3);
///     assert_eq!(items[..2], [Ok(1), Ok(2)]);
///     assert!(items[2].is_err());
/// });
/// ```
pub fn try_generator<T, E, F, Fut>(body: F) -> TryGenerator<T, E, Fut>
where
    F: FnOnce(Yielder<T>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let yielder = Yielder::new();
    let id = yielder.id;
    TryGenerator {
        body: Body {
            id,
            future: Some(body(yielder)),
            _item: PhantomData,
        },
        error: None,
    }
}

/// The stream [`generator`] returns; `Fut` is the body's future.
#[must_use = "streams do nothing unless polled"]
pub struct Generator<T, Fut> {
    body: Body<T, Fut>,
}

/// The stream [`try_generator`] returns; `Fut` is the body's future.
#[must_use = "streams do nothing unless polled"]
pub struct TryGenerator<T, E, Fut> {
    body: Body<T, Fut>,
    /// The body's error, held back while a value yielded just before it is delivered.
    error: Option<E>,
}

/// The generator's handle for yielding values to its consumer, passed to the body.
///
/// It only works inside its own generator's body: a yield polled anywhere else panics.
pub struct Yielder<T> {
    id: u64,
    // `fn(T)`: a yielder holds no `T`, so it is `Send` and `Sync` whatever `T` is.
    _item: PhantomData<fn(T)>,
}

/// The future [`Yielder::yield_`] returns.
#[must_use = "a yield does nothing unless awaited"]
pub struct Yield<'a, T> {
    yielder: &'a Yielder<T>,
    /// The value, until it is handed over.
    value: Option<T>,
}

/// The body's future, its generator's id, and the work shared by both generator kinds.
struct Body<T, Fut> {
    id: u64,
    /// `None` once the body has finished.
    future: Option<Fut>,
    _item: PhantomData<fn() -> T>,
}

/// What one poll of the body produced.
enum Step<T, Out> {
    /// The body yielded this value and is suspended.
    Yielded(T),
    /// The body finished with this output; it may have yielded a last value first.
    Finished(Out, Option<T>),
}

/// The slot of the generator whose body this thread is polling now, if any.
#[derive(Clone, Copy)]
struct CurrentSlot {
    id: u64,
    /// Points to an `Option<T>` of that generator's item type.
    slot: *mut (),
}

thread_local! {
    static CURRENT: Cell<Option<CurrentSlot>> = const { Cell::new(None) };
}

impl<T> Yielder<T> {
    fn new() -> Yielder<T> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Yielder {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            _item: PhantomData,
        }
    }

    /// Hands `value` to the consumer and waits until the consumer asks for the next item.
    ///
    /// # Panics
    ///
    /// When polled outside its generator's body: from another task, or from a generator
    /// nested inside the body.
    pub fn yield_(&self, value: T) -> Yield<'_, T> {
        Yield {
            yielder: self,
            value: Some(value),
        }
    }
}

// Pinning a `Yield` pins nothing inside it: the value is only ever moved whole.
impl<T> Unpin for Yield<'_, T> {}

impl<T> Future for Yield<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(value) = self.value.take() else {
            // Handed over on an earlier poll: the consumer has asked for the next item.
            return Poll::Ready(());
        };
        let current = CURRENT
            .get()
            .filter(|current| current.id == self.yielder.id);
        let Some(current) = current else {
            panic!("Yielder::yield_ polled outside its generator's body");
        };
        let slot = current.slot.cast::<Option<T>>();
        // SAFETY: the id matches, so `slot` was published by this yielder's own generator,
        // whose item type is `T`, in a `poll_next` that is on this thread's stack now (the
        // pointer is withdrawn before that call returns). That call does not touch the slot
        // until the body's poll, which we are inside, returns; so this is the only access.
        let occupied = unsafe { (*slot).is_some() };
        if occupied {
            // Another yield in the same body (under a `join`, say) got there first this
            // round; this one goes in the next round.
            self.value = Some(value);
            cx.waker().wake_by_ref();
        } else {
            // SAFETY: as above.
            unsafe { *slot = Some(value) };
        }
        Poll::Pending
    }
}

impl<T, Fut: Future> Body<T, Fut> {
    /// Polls the body once, with its yield slot published.
    fn poll_step(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Step<T, Fut::Output>>> {
        // SAFETY: `future` is structurally pinned: it is never moved out (only dropped in
        // place, by `Pin::set`), and `Body` has no `Drop` impl and is not `Unpin` unless
        // `Fut` is. `id` is not pinned.
        let (id, mut future) = unsafe {
            let body = self.get_unchecked_mut();
            (body.id, Pin::new_unchecked(&mut body.future))
        };
        let Some(running) = future.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let mut slot: Option<T> = None;
        let polled = {
            let _published = Publish::new(CurrentSlot {
                id,
                slot: (&raw mut slot).cast(),
            });
            running.poll(cx)
        };
        match polled {
            Poll::Ready(output) => {
                future.set(None);
                Poll::Ready(Some(Step::Finished(output, slot)))
            }
            Poll::Pending => match slot {
                Some(value) => Poll::Ready(Some(Step::Yielded(value))),
                None => Poll::Pending,
            },
        }
    }
}

/// Publishes a slot for the duration of one poll, restoring the outer one (a generator
/// polled from inside another's body) even if the poll panics.
struct Publish {
    outer: Option<CurrentSlot>,
}

impl Publish {
    fn new(slot: CurrentSlot) -> Publish {
        Publish {
            outer: CURRENT.replace(Some(slot)),
        }
    }
}

impl Drop for Publish {
    fn drop(&mut self) {
        CURRENT.set(self.outer);
    }
}

impl<T, Fut: Future<Output = ()>> Stream for Generator<T, Fut> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // SAFETY: `body` is structurally pinned; `Generator` has no `Drop` impl and never
        // moves it.
        let body = unsafe { self.map_unchecked_mut(|generator| &mut generator.body) };
        body.poll_step(cx).map(|step| match step? {
            Step::Yielded(value) => Some(value),
            // A value yielded in the body's last poll (its yield future was dropped unawaited).
            Step::Finished((), last) => last,
        })
    }
}

impl<T, Fut: Future<Output = ()>> FusedStream for Generator<T, Fut> {
    fn is_terminated(&self) -> bool {
        self.body.is_finished()
    }
}

impl<T, E, Fut: Future<Output = Result<(), E>>> Stream for TryGenerator<T, E, Fut> {
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T, E>>> {
        // SAFETY: `body` is structurally pinned and `error` is not; `TryGenerator` has no
        // `Drop` impl and never moves `body`.
        let this = unsafe { self.get_unchecked_mut() };
        if let Some(err) = this.error.take() {
            return Poll::Ready(Some(Err(err)));
        }
        // SAFETY: as above.
        let body = unsafe { Pin::new_unchecked(&mut this.body) };
        body.poll_step(cx).map(|step| match step? {
            Step::Yielded(value) => Some(Ok(value)),
            Step::Finished(Ok(()), last) => last.map(Ok),
            Step::Finished(Err(err), None) => Some(Err(err)),
            Step::Finished(Err(err), Some(last)) => {
                this.error = Some(err);
                Some(Ok(last))
            }
        })
    }
}

impl<T, E, Fut: Future<Output = Result<(), E>>> FusedStream for TryGenerator<T, E, Fut> {
    fn is_terminated(&self) -> bool {
        self.body.is_finished() && self.error.is_none()
    }
}

impl<T> fmt::Debug for Yielder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Yielder").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Yield<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Yield").finish_non_exhaustive()
    }
}

impl<T, Fut> fmt::Debug for Generator<T, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("finished", &self.body.is_finished())
            .finish_non_exhaustive()
    }
}

impl<T, E, Fut> fmt::Debug for TryGenerator<T, E, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGenerator")
            .field("finished", &self.body.is_finished())
            .finish_non_exhaustive()
    }
}

impl<T, Fut> Body<T, Fut> {
    fn is_finished(&self) -> bool {
        self.future.is_none()
    }
}

#[cfg(test)]
mod tests {
    //! Polled by hand with a no-op waker, so they run under Miri
    //! (`cargo +nightly miri test -p corio --lib -- stream::generator`).
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn next<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
        Pin::new(stream).poll_next(&mut Context::from_waker(std::task::Waker::noop()))
    }

    /// A value that records its drop in a shared log.
    struct Noisy(&'static str, Rc<RefCell<Vec<&'static str>>>);

    impl Drop for Noisy {
        fn drop(&mut self) {
            self.1.borrow_mut().push(self.0);
        }
    }

    #[test]
    fn yields_in_order_then_ends() {
        let mut numbers = Box::pin(generator(|co| async move {
            for i in 0..3 {
                co.yield_(i).await;
            }
        }));
        assert_eq!(next(&mut numbers), Poll::Ready(Some(0)));
        assert_eq!(next(&mut numbers), Poll::Ready(Some(1)));
        assert_eq!(next(&mut numbers), Poll::Ready(Some(2)));
        assert!(!numbers.is_terminated());
        assert_eq!(next(&mut numbers), Poll::Ready(None));
        assert!(numbers.is_terminated());
        assert_eq!(next(&mut numbers), Poll::Ready(None));
    }

    #[test]
    fn body_runs_only_as_far_as_polled() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let body_log = log.clone();
        let mut lazy = Box::pin(generator(move |co| async move {
            body_log.borrow_mut().push("start");
            co.yield_(1).await;
            body_log.borrow_mut().push("after 1");
            co.yield_(2).await;
            body_log.borrow_mut().push("after 2");
        }));
        assert!(log.borrow().is_empty());
        assert_eq!(next(&mut lazy), Poll::Ready(Some(1)));
        assert_eq!(*log.borrow(), ["start"]);
        assert_eq!(next(&mut lazy), Poll::Ready(Some(2)));
        assert_eq!(*log.borrow(), ["start", "after 1"]);
    }

    #[test]
    fn dropping_the_stream_drops_the_body_and_unsent_values() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let body_log = log.clone();
        let mut stream = Box::pin(generator(move |co| async move {
            let _held = Noisy("body local", body_log.clone());
            co.yield_(Noisy("first", body_log.clone())).await;
            co.yield_(Noisy("second", body_log.clone())).await;
        }));
        let first = match next(&mut stream) {
            Poll::Ready(Some(first)) => first,
            _ => panic!("expected the first value"),
        };
        drop(stream);
        assert_eq!(*log.borrow(), ["body local"]);
        drop(first);
        assert_eq!(*log.borrow(), ["body local", "first"]);
    }

    #[test]
    fn pending_body_gives_pending_stream() {
        let mut waits = Box::pin(generator(|co| async move {
            let mut polled = false;
            std::future::poll_fn(|_| {
                if polled {
                    Poll::Ready(())
                } else {
                    polled = true;
                    Poll::Pending
                }
            })
            .await;
            co.yield_("after wait").await;
        }));
        assert_eq!(next(&mut waits), Poll::Pending);
        assert_eq!(next(&mut waits), Poll::Ready(Some("after wait")));
        assert_eq!(next(&mut waits), Poll::Ready(None));
    }

    #[test]
    fn concurrent_yields_take_turns() {
        use futures_util::future::join;
        let mut both = Box::pin(generator(|co| async move {
            join(co.yield_(1), co.yield_(2)).await;
            co.yield_(3).await;
        }));
        let mut seen = Vec::new();
        while let Poll::Ready(Some(value)) = next(&mut both) {
            seen.push(value);
        }
        assert_eq!(seen, [1, 2, 3]);
    }

    #[test]
    fn a_value_yielded_just_before_the_body_ends_is_delivered() {
        let mut last = Box::pin(generator(|co| async move {
            // Poll a yield once, then drop it: its value is already in the slot.
            let mut yield_once = co.yield_(7);
            let _ =
                Pin::new(&mut yield_once).poll(&mut Context::from_waker(std::task::Waker::noop()));
        }));
        assert_eq!(next(&mut last), Poll::Ready(Some(7)));
        assert_eq!(next(&mut last), Poll::Ready(None));
    }

    #[test]
    fn try_generator_ends_with_the_error() {
        let mut parsed = Box::pin(try_generator(|co| async move {
            co.yield_(1).await;
            Err::<(), _>("bad")?;
            co.yield_(2).await;
            Ok(())
        }));
        assert_eq!(next(&mut parsed), Poll::Ready(Some(Ok(1))));
        assert_eq!(next(&mut parsed), Poll::Ready(Some(Err("bad"))));
        assert!(parsed.is_terminated());
        assert_eq!(next(&mut parsed), Poll::Ready(None));
    }

    #[test]
    fn nested_generators_keep_their_own_slots() {
        let mut outer = Box::pin(generator(|co| async move {
            let mut inner = Box::pin(generator(|inner_co| async move {
                inner_co.yield_(10).await;
                inner_co.yield_(20).await;
            }));
            co.yield_(1).await;
            while let Some(value) = std::future::poll_fn(|cx| inner.as_mut().poll_next(cx)).await {
                co.yield_(value).await;
            }
            co.yield_(2).await;
        }));
        let mut seen = Vec::new();
        while let Poll::Ready(Some(value)) = next(&mut outer) {
            seen.push(value);
        }
        assert_eq!(seen, [1, 10, 20, 2]);
    }

    #[test]
    fn yielding_through_another_generators_yielder_panics() {
        let mut outer = Box::pin(generator(|co: Yielder<u8>| async move {
            let mut inner = Box::pin(generator(move |_inner_co: Yielder<u8>| async move {
                // The outer yielder, polled while the inner generator's slot is published.
                co.yield_(1).await;
            }));
            std::future::poll_fn(|cx| inner.as_mut().poll_next(cx)).await;
        }));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| next(&mut outer)));
        assert!(result.is_err());
        // The panic unwound through both polls: no slot is left published.
        assert!(CURRENT.get().is_none());
    }

    #[test]
    fn yielding_outside_any_generator_panics() {
        let yielder = Yielder::new();
        let mut yield_ = yielder.yield_(5u8);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Pin::new(&mut yield_).poll(&mut Context::from_waker(std::task::Waker::noop()))
        }));
        assert!(result.is_err());
    }
}
