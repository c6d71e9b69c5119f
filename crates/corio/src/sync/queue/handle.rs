//! The public API of the three queues, written once: each is a cloneable handle on a
//! [`Shared`](super::shared::Shared) state with its own [`Order`](super::shared::Order).

/// Defines a queue handle type `$name` over the order `$order<T>`.
macro_rules! queue_handle {
    (
        $(#[$attr:meta])*
        $name:ident<T $(: $bound:path)?>, $order:ident
    ) => {
        $(#[$attr])*
        pub struct $name<T> {
            pub(super) shared: $crate::loom::sync::Arc<$crate::sync::queue::shared::Shared<$order<T>>>,
        }

        impl<T $(: $bound)?> $name<T> {
            #[doc = concat!("Creates a queue that holds at most `maxsize` items: asyncio's `",
                stringify!($name), "(maxsize)`.")]
            ///
            /// `maxsize == 0` means no limit, as in asyncio (see also
            #[doc = concat!("[`", stringify!($name), "::unbounded`]).")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use corio::sync::queue::{", stringify!($name), ", PutNowaitError};")]
            ///
            #[doc = concat!("let queue = ", stringify!($name), "::new(1);")]
            /// assert_eq!(queue.maxsize(), 1);
            /// queue.put_nowait(1).unwrap();
            /// assert!(queue.full());
            /// assert_eq!(queue.put_nowait(2), Err(PutNowaitError::Full(2)));
            /// ```
            pub fn new(maxsize: usize) -> Self {
                $name {
                    shared: $crate::loom::sync::Arc::new(
                        $crate::sync::queue::shared::Shared::new(maxsize),
                    ),
                }
            }

            /// Creates a queue with no size limit: `put` never waits.
            pub fn unbounded() -> Self {
                Self::new(0)
            }

            /// The most items the queue holds; 0 means no limit.
            pub fn maxsize(&self) -> usize {
                self.shared.maxsize()
            }

            /// How many items the queue holds now.
            ///
            /// This counts items already promised to `get`s that were waiting and have not
            /// run yet: they leave the queue when those tasks take them.
            pub fn qsize(&self) -> usize {
                self.shared.qsize()
            }

            /// True if the queue holds no item (`qsize() == 0`).
            pub fn empty(&self) -> bool {
                self.qsize() == 0
            }

            /// True if the queue holds `maxsize` items (never, when `maxsize` is 0).
            pub fn full(&self) -> bool {
                let maxsize = self.maxsize();
                maxsize > 0 && self.qsize() >= maxsize
            }

            /// Puts `item` into the queue, waiting while it is full.
            ///
            /// Puts that wait are let in one at a time in the order they started waiting,
            /// and a new `put` does not overtake them.
            ///
            /// Fails, handing `item` back, once the queue is [shut
            #[doc = concat!("down](", stringify!($name), "::shutdown) (also if that happens while it waits).")]
            ///
            /// Cancellation-safe: if the future is dropped before it completes, the item
            /// was not put (it is dropped with the future), and a free slot set aside for
            /// it goes to the next `put` in line.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use corio::sync::queue::", stringify!($name), ";")]
            ///
            /// corio::run(async {
            #[doc = concat!("    let queue = ", stringify!($name), "::new(1);")]
            ///     queue.put(1).await.unwrap();
            ///     let producer = corio::spawn({
            ///         let queue = queue.clone();
            ///         // Waits until the consumer below makes room.
            ///         async move { queue.put(2).await }
            ///     });
            ///     assert_eq!(queue.get().await, Ok(1));
            ///     producer.await.unwrap().unwrap();
            ///     assert_eq!(queue.get().await, Ok(2));
            /// });
            /// ```
            pub async fn put(&self, item: T) -> Result<(), $crate::sync::queue::QueueShutDown<T>> {
                $crate::sync::queue::shared::Put::new(&self.shared, item).await
            }

            /// Puts `item` into the queue if there is room now, without waiting.
            ///
            /// Fails, handing `item` back, with
            /// [`Full`]($crate::sync::queue::PutNowaitError::Full) if the queue is full
            /// (free slots already promised to waiting `put`s count as taken), or
            /// [`ShutDown`]($crate::sync::queue::PutNowaitError::ShutDown) once it is shut
            /// down.
            pub fn put_nowait(&self, item: T) -> Result<(), $crate::sync::queue::PutNowaitError<T>> {
                self.shared.put_nowait(item)
            }

            /// Takes the next item out of the queue, waiting until there is one.
            ///
            /// Gets that wait are served in the order they started waiting, and a new `get`
            /// does not overtake them: each item put while some wait is promised to the
            /// first of them.
            ///
            #[doc = concat!("Once the queue is [shut down](", stringify!($name), "::shutdown),")]
            /// gets still receive the items left, then fail with
            /// [`QueueShutDown`]($crate::sync::queue::QueueShutDown); after an immediate
            /// shutdown they fail at once.
            ///
            /// Cancellation-safe: the item is taken out only when the future completes. If
            /// it is dropped first, even after an item was promised to it, the item stays in
            /// the queue and goes to the next `get` in line.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use corio::sync::queue::{", stringify!($name), ", QueueShutDown};")]
            ///
            /// corio::run(async {
            #[doc = concat!("    let queue = ", stringify!($name), "::unbounded();")]
            ///     let consumer = corio::spawn({
            ///         let queue = queue.clone();
            ///         async move { queue.get().await }
            ///     });
            ///     queue.put(7).await.unwrap();
            ///     assert_eq!(consumer.await.unwrap(), Ok(7));
            ///
            ///     queue.shutdown(false);
            ///     assert_eq!(queue.get().await, Err(QueueShutDown(())));
            /// });
            /// ```
            pub async fn get(&self) -> Result<T, $crate::sync::queue::QueueShutDown> {
                $crate::sync::queue::shared::Get::new(&self.shared).await
            }

            /// Takes the next item out of the queue if there is one for the taking now.
            ///
            /// Fails with [`Empty`]($crate::sync::queue::GetNowaitError::Empty) if there is
            /// none (items already promised to waiting `get`s are not for the taking), or
            /// [`ShutDown`]($crate::sync::queue::GetNowaitError::ShutDown) if the queue is
            /// shut down and empty.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use corio::sync::queue::{", stringify!($name), ", GetNowaitError};")]
            ///
            #[doc = concat!("let queue = ", stringify!($name), "::new(0);")]
            /// assert_eq!(queue.get_nowait(), Err(GetNowaitError::Empty));
            /// queue.put_nowait("job").unwrap();
            /// assert_eq!(queue.get_nowait(), Ok("job"));
            /// queue.shutdown(false);
            /// assert_eq!(queue.get_nowait(), Err(GetNowaitError::ShutDown));
            /// ```
            pub fn get_nowait(&self) -> Result<T, $crate::sync::queue::GetNowaitError> {
                self.shared.get_nowait()
            }

            /// Marks one item as processed, for [`join`](Self::join).
            ///
            /// Each item put counts as unfinished until a `task_done` call: a consumer calls
            /// it once per item it got, when it has finished with it. When the count
            /// reaches zero, every `join` waiting completes.
            ///
            /// Fails with [`TaskDoneError`]($crate::sync::queue::TaskDoneError) (and changes
            /// nothing) if it is called more times than items were put (asyncio raises
            /// `ValueError`).
            pub fn task_done(&self) -> Result<(), $crate::sync::queue::TaskDoneError> {
                self.shared.task_done()
            }

            /// Waits until every item put has been marked done with
            /// [`task_done`](Self::task_done).
            ///
            /// Completes at once if nothing is unfinished. Like asyncio's, it completes once
            /// the count has reached zero after it started waiting, even if more items are
            /// put before it runs again.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use corio::sync::queue::", stringify!($name), ";")]
            ///
            /// corio::run(async {
            #[doc = concat!("    let queue = ", stringify!($name), "::unbounded();")]
            ///     for n in 0..10 {
            ///         queue.put_nowait(n).unwrap();
            ///     }
            ///     let worker = corio::spawn({
            ///         let queue = queue.clone();
            ///         async move {
            ///             while let Ok(_item) = queue.get().await {
            ///                 queue.task_done().unwrap();
            ///             }
            ///         }
            ///     });
            ///     queue.join().await;
            ///     assert!(queue.empty());
            ///     assert!(queue.task_done().is_err(), "every item is done already");
            ///     queue.shutdown(false);
            ///     worker.await.unwrap();
            /// });
            /// ```
            pub async fn join(&self) {
                $crate::sync::queue::shared::Join::new(&self.shared).await
            }

            /// Shuts the queue down (Python 3.13's `shutdown`).
            ///
            /// From now on every `put` and `put_nowait` fails, including `put`s waiting
            /// now. `get`s receive the items left and then fail; `get`s waiting on an empty
            /// queue fail now.
            ///
            /// If `immediate`, the items left are dropped instead (each counted as done for
            /// [`join`](Self::join)), and every `get` fails at once. Items already taken
            /// still need their `task_done`.
            ///
            /// Calling it again is harmless (an immediate call still drains the queue).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use corio::sync::queue::{", stringify!($name), ", QueueShutDown};")]
            ///
            /// corio::run(async {
            #[doc = concat!("    let queue = ", stringify!($name), "::new(0);")]
            ///     queue.put(1).await.unwrap();
            ///     queue.shutdown(false);
            ///     assert_eq!(queue.put(2).await, Err(QueueShutDown(2)));
            ///     assert_eq!(queue.get().await, Ok(1));
            ///     assert_eq!(queue.get().await, Err(QueueShutDown(())));
            ///     queue.task_done().unwrap();
            ///     queue.join().await;
            /// });
            /// ```
            pub fn shutdown(&self, immediate: bool) {
                self.shared.shutdown(immediate)
            }

            #[doc = concat!("True once [`shutdown`](", stringify!($name), "::shutdown) was called.")]
            pub fn is_shut_down(&self) -> bool {
                self.shared.is_shut_down()
            }
        }

        impl<T> Clone for $name<T> {
            /// Another handle on the same queue.
            fn clone(&self) -> Self {
                $name {
                    shared: self.shared.clone(),
                }
            }
        }

        impl<T $(: $bound)?> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("maxsize", &self.maxsize())
                    .field("qsize", &self.qsize())
                    .finish_non_exhaustive()
            }
        }
    };
}

pub(super) use queue_handle;
