//! [`WriteBuffer`]: the recorder's results, state changes and alert changes
//! on their way to the store, each batch in one transaction. At most one batch write is in flight at a time, and it runs
//! beside the recorder instead of inside it: while the store is slow, busy
//! or failing, results wait here and the recorder keeps taking new ones, so
//! probing, the board and the metrics go on.
//!
//! The buffer is bounded (`capacity`, counted over every result not written
//! yet, the batch in flight included; the recorder sets it again when a
//! reload changes the monitors). Past the bound:
//! - while the last write succeeded (the store is slow but making
//!   progress), the recorder stops taking results until the write in flight
//!   finishes: back-pressure reaches the scheduler as skipped slots;
//! - while writes are failing (the disk is full, or the store has been
//!   locked for longer than the busy timeout), the oldest buffered raw
//!   results are dropped — counted, logged, and shown by `/health` — so
//!   probing never stops. State changes and alert changes are never dropped.
//!
//! A failed write puts its batch back in front of the buffer and is retried
//! with backoff (1 s, doubling to 5 s); writing resumes by itself once the
//! store accepts writes again. After an outage the buffer is written in
//! transactions of up to 10,000 results.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;
use tokio::time::Instant;
use watchkeeper_domain::alert::AlertChange;
use watchkeeper_domain::check::{CheckResult, StateChange};
use watchkeeper_domain::clock::Clock;
use watchkeeper_store::{Batch, Committed, Store, StoreError};

use super::UnwrittenSince;
use crate::metrics::Metrics;
use crate::store_health::StoreHealth;

const MIN_RETRY_DELAY: Duration = Duration::from_secs(1);
/// Short, because past the bound every second without a write drops a
/// second of results (a thousand at 10,000 monitors every 10 s): a retry
/// on a full disk fails at once and costs nothing, and one on a locked
/// store waits out the busy timeout (5 s) anyway. With a 30 s cap,
/// `bench/write_buffer.py` (a 75 s lock) dropped 17,000 results after the
/// lock was gone, waiting for the next retry.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
/// While writes keep failing, every this many failures is logged (about
/// once a minute at the longest delay), besides the first.
const LOG_EVERY_FAILURES: u32 = 12;
/// A state change is written this soon after it is recorded, not at the
/// next periodic flush: it is what notifications (and the detection time)
/// wait for. The short delay lets changes that arrive together, as at
/// start-up, share one write.
const CHANGE_FLUSH_DELAY: Duration = Duration::from_millis(20);
/// Failed attempts in a row to write what is left at shutdown (200 ms,
/// then 400 ms apart) before giving up.
const FINAL_ATTEMPTS: u32 = 3;
/// The most results one write takes (or the batch size, if larger): after
/// an outage the buffer is written in several transactions, each holding
/// the writer briefly, and the rows and JSON a write builds beside its
/// batch (about 150 bytes a result) stay small.
const MAX_RESULTS_PER_WRITE: usize = 10_000;

/// What could not be written when the buffer was drained at shutdown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unwritten {
    pub results: usize,
    pub state_changes: usize,
    pub alert_changes: usize,
}

/// Everything a [`WriteBuffer`] shares with the rest of the engine.
pub(crate) struct Shared {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    pub health: StoreHealth,
    pub unwritten: UnwrittenSince,
    /// The id of the last state change committed, published after each
    /// batch that wrote any, so their consumers wake instead of polling.
    pub committed: watch::Sender<Option<i64>>,
    /// The same for alert events: the id of the last one committed.
    pub committed_alerts: watch::Sender<Option<i64>>,
}

pub(crate) struct WriteBuffer {
    shared: Shared,
    /// Results held (buffered plus in flight) before the bound applies.
    capacity: usize,
    /// A write starts as soon as this many results are buffered.
    batch_size: usize,
    /// Taken from probes, not in a write yet; oldest first.
    results: VecDeque<CheckResult>,
    /// No later than the oldest `started_at` in `results` (after dropping
    /// it may be earlier, until the next failed write recomputes it): what
    /// maintenance must not roll up past.
    oldest_buffered: Option<Timestamp>,
    changes: Vec<StateChange>,
    /// Written with the results and state changes, flushed as soon.
    alerts: Vec<AlertChange>,
    /// When the oldest change in `changes` or `alerts` was recorded.
    changes_since: Option<Instant>,
    /// The periodic flush came while results were buffered.
    flush_requested: bool,
    write: Option<Write>,
    /// After a failed write, no write is tried before this instant, so a
    /// failing store is retried with backoff instead of once per result.
    retry_after: Option<Instant>,
    retry_delay: Duration,
    /// Failed writes in a row; writes are failing while it is not zero.
    failures: u32,
    /// Dropped since the last log line about dropping.
    dropped_unlogged: usize,
}

/// The batch write in flight; it owns its batch and hands it back.
struct Write {
    future: Pin<Box<dyn Future<Output = Written> + Send>>,
    results: usize,
    oldest: Option<Timestamp>,
}

pub(crate) struct Written {
    results: Vec<CheckResult>,
    changes: Vec<StateChange>,
    alerts: Vec<AlertChange>,
    changes_since: Option<Instant>,
    outcome: Result<Committed, StoreError>,
}

impl WriteBuffer {
    pub(crate) fn new(shared: Shared, capacity: usize, batch_size: usize) -> Self {
        Self {
            shared,
            capacity: capacity.max(1),
            batch_size: batch_size.max(1),
            results: VecDeque::new(),
            oldest_buffered: None,
            changes: Vec::new(),
            alerts: Vec::new(),
            changes_since: None,
            flush_requested: false,
            write: None,
            retry_after: None,
            retry_delay: MIN_RETRY_DELAY,
            failures: 0,
            dropped_unlogged: 0,
        }
    }

    /// Buffers a result and counts it as unwritten (before the caller
    /// releases the probe's in-flight mark). While writes fail, a result
    /// past the bound pushes the oldest buffered one out.
    pub(crate) fn push_result(&mut self, result: CheckResult) {
        if self
            .oldest_buffered
            .is_none_or(|oldest| result.started_at < oldest)
        {
            self.oldest_buffered = Some(result.started_at);
        }
        self.results.push_back(result);
        self.drop_past_the_bound();
        self.publish();
    }

    pub(crate) fn push_change(&mut self, change: StateChange) {
        self.changes.push(change);
        self.changes_since.get_or_insert_with(Instant::now);
    }

    /// Buffers an alert change; written as soon as a state change is.
    pub(crate) fn push_alert(&mut self, change: AlertChange) {
        self.alerts.push(change);
        self.changes_since.get_or_insert_with(Instant::now);
    }

    /// Nothing but results is waiting.
    fn no_changes(&self) -> bool {
        self.changes.is_empty() && self.alerts.is_empty()
    }

    /// A new bound (after a reload), also shown by `/health`; true if it
    /// changed. A smaller one applies at once: while writes fail, the
    /// oldest results past it are dropped now.
    pub(crate) fn set_capacity(&mut self, capacity: usize) -> bool {
        let capacity = capacity.max(1);
        if capacity == self.capacity {
            return false;
        }
        self.capacity = capacity;
        self.shared.health.set_buffer_capacity(capacity);
        self.drop_past_the_bound();
        self.publish();
        true
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// State changes recorded and not in a write yet.
    #[cfg(test)]
    pub(crate) fn buffered_changes(&self) -> &[StateChange] {
        &self.changes
    }

    /// Results not written yet, the batch in flight included.
    fn unwritten(&self) -> usize {
        self.results.len() + self.write.as_ref().map_or(0, |write| write.results)
    }

    /// False only past the bound while the store is healthy but slow: then
    /// the recorder waits for the write in flight (back-pressure).
    pub(crate) fn accepting(&self) -> bool {
        self.unwritten() < self.capacity || self.failures > 0
    }

    pub(crate) fn is_writing(&self) -> bool {
        self.write.is_some()
    }

    /// The periodic flush: write what is buffered at the next chance.
    pub(crate) fn request_flush(&mut self) {
        if !self.results.is_empty() || !self.no_changes() {
            self.flush_requested = true;
        }
    }

    /// When the next write should start, if one is due at all: now for a
    /// full batch or a requested flush, shortly after a state change, never
    /// during a backoff, and not while a write is in flight.
    pub(crate) fn next_write_at(&self, now: Instant) -> Option<Instant> {
        if self.write.is_some() || (self.results.is_empty() && self.no_changes()) {
            return None;
        }
        let due = if self.results.len() >= self.batch_size || self.flush_requested {
            now
        } else {
            self.changes_since? + CHANGE_FLUSH_DELAY
        };
        Some(self.retry_after.map_or(due, |retry| retry.max(due)))
    }

    /// Starts writing the oldest buffered results (up to
    /// [`MAX_RESULTS_PER_WRITE`]) and every buffered state change as one
    /// batch.
    pub(crate) fn start_write(&mut self) {
        if self.write.is_some() {
            return;
        }
        let take = self
            .results
            .len()
            .min(MAX_RESULTS_PER_WRITE.max(self.batch_size));
        let results: Vec<CheckResult> = self.results.drain(..take).collect();
        let changes = std::mem::take(&mut self.changes);
        let alerts = std::mem::take(&mut self.alerts);
        let changes_since = self.changes_since.take();
        self.flush_requested = false;
        let store = self.shared.store.clone();
        let count = results.len();
        self.write = Some(Write {
            future: Box::pin(async move {
                let outcome = store
                    .write(Batch {
                        results: &results,
                        changes: &changes,
                        alerts: &alerts,
                    })
                    .await;
                Written {
                    results,
                    changes,
                    alerts,
                    changes_since,
                    outcome,
                }
            }),
            results: count,
            // The results left behind may be as old: both keep the mark.
            oldest: if self.results.is_empty() {
                self.oldest_buffered.take()
            } else {
                self.oldest_buffered
            },
        });
    }

    /// Completes when the write in flight does (never, without one).
    pub(crate) async fn written(&mut self) -> Written {
        match &mut self.write {
            Some(write) => write.future.as_mut().await,
            None => std::future::pending().await,
        }
    }

    /// Takes the outcome of the write that just finished: on success the
    /// batch is gone; on failure it goes back in front of the buffer.
    pub(crate) fn finish(&mut self, written: Written) {
        self.write = None;
        let Written {
            results,
            mut changes,
            mut alerts,
            changes_since,
            outcome,
        } = written;
        match outcome {
            Ok(committed) => {
                self.shared.metrics.results_written(results.len());
                advance(&self.shared.committed, committed.state_change);
                advance(&self.shared.committed_alerts, committed.alert_event);
                self.retry_after = None;
                self.retry_delay = MIN_RETRY_DELAY;
                self.failures = 0;
                if let Some(since) = self.shared.health.write_succeeded() {
                    tracing::info!(
                        failing_since = %since,
                        written = results.len(),
                        buffered_results = self.results.len(),
                        "writing to the store again"
                    );
                }
                self.log_dropped();
                // Give back what an outage made the buffer grow to.
                if self.results.capacity() > 4 * self.results.len().max(self.batch_size) {
                    self.results
                        .shrink_to(2 * self.results.len().max(self.batch_size));
                }
            }
            Err(error) => {
                self.shared.metrics.store_error();
                self.retry_after = Some(Instant::now() + self.retry_delay);
                self.retry_delay = (self.retry_delay * 2).min(MAX_RETRY_DELAY);
                // Back in front, oldest first, in the buffer's own storage.
                for result in results.into_iter().rev() {
                    self.results.push_front(result);
                }
                changes.append(&mut self.changes);
                self.changes = changes;
                alerts.append(&mut self.alerts);
                self.alerts = alerts;
                self.changes_since = changes_since.or(self.changes_since);
                self.shared
                    .health
                    .write_failed(self.shared.clock.now(), error.to_string());
                self.failures = self.failures.saturating_add(1);
                if self.failures == 1 || self.failures.is_multiple_of(LOG_EVERY_FAILURES) {
                    tracing::error!(
                        error = %error,
                        failed_writes = self.failures,
                        buffered_results = self.results.len(),
                        buffered_state_changes = self.changes.len(),
                        buffer_capacity = self.capacity,
                        "cannot write results; will retry with backoff"
                    );
                }
                self.drop_past_the_bound();
                self.log_dropped();
                // Once per failed write: exact again after any dropping.
                self.oldest_buffered = self.results.iter().map(|result| result.started_at).min();
            }
        }
        self.publish();
    }

    /// While writes are failing, drops the oldest buffered raw results past
    /// the bound. A batch in flight is not touched; it comes back here if
    /// it fails.
    fn drop_past_the_bound(&mut self) {
        if self.failures == 0 {
            return;
        }
        let excess = self.unwritten().saturating_sub(self.capacity);
        let dropped = excess.min(self.results.len());
        if dropped == 0 {
            return;
        }
        self.results.drain(..dropped);
        self.shared.metrics.results_dropped(dropped);
        self.shared.health.dropped(dropped);
        if self.dropped_unlogged == 0 {
            tracing::error!(
                buffer_capacity = self.capacity,
                "the store keeps failing and the write buffer is full: \
                 dropping the oldest unwritten raw results (state changes are kept)"
            );
        }
        self.dropped_unlogged += dropped;
    }

    fn log_dropped(&mut self) {
        if self.dropped_unlogged > 0 {
            tracing::error!(
                dropped = self.dropped_unlogged,
                "dropped unwritten raw results since the last attempt to write"
            );
            self.dropped_unlogged = 0;
        }
    }

    /// Publishes how far back the unwritten results reach and how many
    /// there are.
    fn publish(&self) {
        let in_flight = self.write.as_ref().and_then(|write| write.oldest);
        let oldest = match (self.oldest_buffered, in_flight) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.shared.unwritten.set(oldest);
        let unwritten = self.unwritten();
        self.shared.health.set_buffered(unwritten);
        self.shared.metrics.set_results_buffered(unwritten);
    }

    /// At shutdown: waits for the write in flight, then writes what is
    /// left, backoff or not, giving up after a few failed attempts in a row.
    /// Returns what is still unwritten.
    pub(crate) async fn drain(mut self) -> Unwritten {
        if self.write.is_some() {
            let written = self.written().await;
            self.finish(written);
        }
        let mut failures = 0;
        while !self.results.is_empty() || !self.no_changes() {
            self.start_write();
            let written = self.written().await;
            let failed = written.outcome.is_err();
            self.finish(written);
            if failed {
                failures += 1;
                if failures == FINAL_ATTEMPTS {
                    break;
                }
                // A moment for a lock held elsewhere to go.
                tokio::time::sleep(Duration::from_millis(200 * u64::from(failures))).await;
            }
        }
        let unwritten = Unwritten {
            results: self.results.len(),
            state_changes: self.changes.len(),
            alert_changes: self.alerts.len(),
        };
        if unwritten != Unwritten::default() {
            tracing::error!(
                results = unwritten.results,
                state_changes = unwritten.state_changes,
                alert_changes = unwritten.alert_changes,
                "could not write the last results at shutdown; they are lost"
            );
        }
        unwritten
    }
}

/// Publishes `id` as the last committed, only ever forward: ids grow with
/// every batch.
fn advance(sender: &watch::Sender<Option<i64>>, id: Option<i64>) {
    let Some(id) = id else { return };
    sender.send_if_modified(|committed| {
        let newer = committed.is_none_or(|previous| previous < id);
        if newer {
            *committed = Some(id);
        }
        newer
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figure docs/storage.md gives for a buffered result: its inline
    /// size in the buffer's `VecDeque` (the monitor id is a shared `Arc`,
    /// so a result adds no allocation of its own unless it has a reason).
    #[test]
    fn a_buffered_result_is_small() {
        let size = std::mem::size_of::<CheckResult>();
        println!("a buffered CheckResult takes {size} bytes inline");
        assert!(size <= 160, "CheckResult grew to {size} bytes");
    }
}
