//! A runtime kept in a thread-local is dropped while the thread's thread-locals are being
//! destroyed, possibly after corio's own context: shutting it down there must not panic.

use std::cell::RefCell;

use corio::runtime::{Builder, Runtime};

thread_local! {
    static RUNTIME: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

#[test]
fn a_runtime_dropped_with_the_threads_locals_shuts_down_quietly() {
    for flavor in ["current_thread", "multi_thread"] {
        let worker = std::thread::spawn(move || {
            // First use registers this thread-local's destructor before corio's context
            // exists; destructors run in reverse order, so corio's context is gone first.
            RUNTIME.with(|slot| assert!(slot.borrow().is_none()));
            let runtime = match flavor {
                "current_thread" => Builder::new_current_thread().build(),
                _ => Builder::new_multi_thread().worker_threads(1).build(),
            }
            .unwrap();
            let answer = runtime.block_on(async {
                let pending = corio::spawn(std::future::pending::<()>());
                drop(pending);
                corio::spawn(async { 6 * 7 }).await.unwrap()
            });
            RUNTIME.with(|slot| *slot.borrow_mut() = Some(runtime));
            answer
        });
        assert_eq!(
            worker.join().expect("the thread exits without a panic"),
            42,
            "{flavor}"
        );
    }
}
