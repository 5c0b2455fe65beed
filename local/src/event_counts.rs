//! Counters of the asynchronous (Event) invocations the gateway accepted, for `lab local status`.

use std::sync::atomic::{AtomicU64, Ordering};

/// What became of an accepted event (or one more attempt at it).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tally {
    /// Queued with a 202.
    Accepted,
    /// Ran without a function error.
    Succeeded,
    /// Failed on every attempt Lambda makes.
    Failed,
    /// One more attempt is scheduled.
    Retry,
    /// Given up without a run (the function is gone, or the event grew too old).
    Dropped,
}

/// Counters of the events this gateway accepted.
#[derive(Default)]
pub(crate) struct Events {
    accepted: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
    dropped: AtomicU64,
}

impl Events {
    /// Counts one outcome.
    pub(crate) fn count(&self, tally: Tally) {
        let counter = match tally {
            Tally::Accepted => &self.accepted,
            Tally::Succeeded => &self.succeeded,
            Tally::Failed => &self.failed,
            Tally::Retry => &self.retries,
            Tally::Dropped => &self.dropped,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `{"accepted", "pending", "succeeded", "failed", "retries", "dropped"}`.
    pub(crate) fn status(&self) -> serde_json::Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let done = get(&self.succeeded) + get(&self.failed) + get(&self.dropped);
        serde_json::json!({
            "accepted": get(&self.accepted),
            "pending": get(&self.accepted).saturating_sub(done),
            "succeeded": get(&self.succeeded),
            "failed": get(&self.failed),
            "retries": get(&self.retries),
            "dropped": get(&self.dropped),
        })
    }
}
