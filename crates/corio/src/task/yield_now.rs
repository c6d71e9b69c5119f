//! `yield_now`: let the other tasks run, as `await asyncio.sleep(0)` does.

use std::future::poll_fn;
use std::task::Poll;

/// Yields once to the scheduler: the current task goes to the back of the run queue.
///
/// ```
/// corio::run(async {
///     for _ in 0..3 {
///         corio::task::yield_now().await;
///     }
/// });
/// ```
pub async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        // Waking during the poll makes the harness requeue this task behind the others.
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}
