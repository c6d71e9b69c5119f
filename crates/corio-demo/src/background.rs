//! The background sweeper: a task that purges deleted notes every few seconds.
//!
//! `DELETE /notes/{id}` only marks a note (see [`crate::store`]); the sweeper removes the
//! marked notes and their tags in one transaction per tick. It is a plain corio task on
//! an interval, started by the app's startup hook and stopped by its shutdown hook,
//! after the server has drained its requests and before the store closes.
//!
//! The tick runs on the event loop; the purge, being SQLite, runs on the blocking pool
//! (`corio::to_thread`). Stopping cancels the wait for the next tick but lets a purge in
//! progress finish, so the store is never closed under it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use corio::sync::CancellationToken;
use corio::task::JoinHandle;
use corio::time::{Instant, MissedTickBehavior, interval_at};

use crate::store::Store;

/// The sweeper of a [`Store`]; idle until [`start`](Sweeper::start)ed.
#[derive(Debug)]
pub struct Sweeper {
    store: Arc<Store>,
    period: Duration,
    running: Mutex<Option<Running>>,
}

#[derive(Debug)]
struct Running {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Sweeper {
    /// A sweeper of `store` that runs every `period`.
    pub fn new(store: Arc<Store>, period: Duration) -> Sweeper {
        Sweeper {
            store,
            period,
            running: Mutex::new(None),
        }
    }

    /// Starts sweeping, on the current runtime; the first sweep is one period from now.
    /// Starting a running sweeper does nothing.
    pub fn start(&self) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.is_some() {
            return;
        }
        let stop = CancellationToken::new();
        let task = corio::spawn(sweep(self.store.clone(), self.period, stop.clone()));
        tracing::info!(period_secs = self.period.as_secs_f64(), "sweeper: started");
        *running = Some(Running { stop, task });
    }

    /// Stops sweeping and waits for the task to end (a purge in progress finishes
    /// first). Stopping a sweeper that is not running does nothing.
    pub async fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(Running { stop, task }) = running else {
            return;
        };
        stop.cancel();
        if let Err(error) = task.await {
            tracing::error!(%error, "sweeper: the task failed");
        }
        tracing::info!("sweeper: stopped");
    }
}

/// The sweeper's loop: purge on each tick until `stop` is cancelled.
async fn sweep(store: Arc<Store>, period: Duration, stop: CancellationToken) {
    let mut ticks = interval_at(Instant::now() + period, period);
    // After a stall, one sweep catches up with everything: no burst of sweeps.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while stop.run_until_cancelled(ticks.tick()).await.is_some() {
        let store = store.clone();
        match corio::to_thread(move || store.purge_deleted()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(purged)) => tracing::info!(purged, "sweeper: purged deleted notes"),
            Ok(Err(error)) => tracing::warn!(%error, "sweeper: purge failed"),
            Err(error) => tracing::error!(%error, "sweeper: purge panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NoteFields;

    #[test]
    fn sweeps_on_its_period_until_stopped() {
        corio::run(async {
            let store = Arc::new(Store::open_in_memory().unwrap());
            let fields = NoteFields {
                title: "gone soon".into(),
                ..NoteFields::default()
            };
            let note = store.create(&fields).unwrap();
            store.delete(note.id).unwrap();
            assert_eq!(store.count_deleted().unwrap(), 1);

            let sweeper = Sweeper::new(store.clone(), Duration::from_millis(20));
            sweeper.start();
            sweeper.start(); // no second task
            let deadline = Instant::now() + Duration::from_secs(10);
            while store.count_deleted().unwrap() > 0 {
                assert!(Instant::now() < deadline, "the sweeper never purged");
                corio::time::sleep(Duration::from_millis(10)).await;
            }
            sweeper.stop().await;
            sweeper.stop().await; // harmless

            // Stopped: a note deleted now stays marked.
            let note = store.create(&fields).unwrap();
            store.delete(note.id).unwrap();
            corio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(store.count_deleted().unwrap(), 1);
        });
    }
}
