//! The one place where results have effects: each result updates the
//! monitor's state (recording a state change exactly once per change of
//! health), its metrics and the board, and is buffered for a batched write.
//! A failed write is retried on the next flush; state changes are never
//! dropped, and raw results only past a hard cap with a loud error.
//! [`UnwrittenSince`] tells maintenance how far back the buffer reaches.

use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use watchkeeper_domain::check::{CheckResult, StateChange, transition};
use watchkeeper_domain::health::Health;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::schedule;
use watchkeeper_store::Store;

use crate::board::Board;
use crate::metrics::{Metrics, MonitorMetrics};
use crate::scheduler::Finished;

/// Past this many unwritten results (the store has been failing for a
/// while), the oldest raw results are dropped to bound memory.
const MAX_BUFFERED_RESULTS: usize = 200_000;
const MIN_RETRY_DELAY: Duration = Duration::from_secs(1);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// A state change is written this soon after it is recorded, not at the
/// next periodic flush: it is what notifications (and the detection time)
/// wait for. The short delay lets changes that arrive together, as at
/// start-up, share one write.
const CHANGE_FLUSH_DELAY: Duration = Duration::from_millis(20);

/// The start of the oldest result the recorder holds but has not written
/// yet (buffered until the next flush, or kept after a failed write), if any.
#[derive(Debug, Clone)]
pub struct UnwrittenSince(Arc<AtomicI64>);

impl Default for UnwrittenSince {
    fn default() -> Self {
        Self(Arc::new(AtomicI64::new(NOTHING_UNWRITTEN)))
    }
}

/// Nothing unwritten (0 is a valid millisecond, so zero cannot mean none).
const NOTHING_UNWRITTEN: i64 = i64::MAX;

impl UnwrittenSince {
    pub fn get(&self) -> Option<Timestamp> {
        match self.0.load(Ordering::Acquire) {
            NOTHING_UNWRITTEN => None,
            millis => Timestamp::from_millisecond(millis).ok(),
        }
    }

    fn set(&self, oldest: Option<Timestamp>) {
        let millis = oldest.map_or(NOTHING_UNWRITTEN, |at| at.as_millisecond());
        self.0.store(millis, Ordering::Release);
    }
}

pub struct Recorder {
    store: Store,
    unwritten: UnwrittenSince,
    board: Board,
    metrics: Metrics,
    monitor_metrics: Vec<MonitorMetrics>,
    batch_size: usize,
    flush_interval: Duration,
    results: Vec<CheckResult>,
    /// The oldest `started_at` in `results`, as published in `unwritten`.
    oldest_buffered: Option<Timestamp>,
    changes: Vec<StateChange>,
    /// When the oldest change in `changes` was recorded.
    changes_since: Option<Instant>,
    /// After a failed write, no write is tried before this instant, so a
    /// failing store is retried with backoff instead of once per result.
    retry_after: Option<Instant>,
    retry_delay: Duration,
}

impl Recorder {
    pub fn new(
        store: Store,
        unwritten: UnwrittenSince,
        board: Board,
        metrics: Metrics,
        monitors: &[Arc<MonitorSpec>],
        batch_size: usize,
        flush_interval: Duration,
    ) -> Self {
        let monitor_metrics: Vec<MonitorMetrics> =
            monitors.iter().map(|m| metrics.for_monitor(m)).collect();
        board.with_all(|views| {
            for (view, handles) in views.iter().zip(&monitor_metrics) {
                if let Some(status) = &view.status {
                    let last = view
                        .last()
                        .map(|last| (last.health != Health::Down, last.latency));
                    handles.restore(last, status.health);
                }
            }
        });
        Self {
            store,
            unwritten,
            board,
            metrics,
            monitor_metrics,
            batch_size: batch_size.max(1),
            flush_interval,
            results: Vec::new(),
            oldest_buffered: None,
            changes: Vec::new(),
            changes_since: None,
            retry_after: None,
            retry_delay: MIN_RETRY_DELAY,
        }
    }

    /// Runs until every sender is gone, then flushes what is left.
    pub async fn run(mut self, mut incoming: mpsc::Receiver<Finished>) {
        let mut ticker = tokio::time::interval(self.flush_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                received = incoming.recv() => match received {
                    Some(Finished { result, in_flight }) => {
                        self.record(result);
                        // Only now, with the result counted in `unwritten`,
                        // may maintenance stop waiting for the probe.
                        drop(in_flight);
                        if self.results.len() >= self.batch_size && self.may_write() {
                            self.flush().await;
                        }
                    }
                    None => break,
                },
                _ = ticker.tick() => {
                    if self.may_write() {
                        self.flush().await;
                    }
                }
                () = sleep_until(self.changes_due().unwrap_or_else(Instant::now)), if self.changes_due().is_some() => {
                    self.flush().await;
                }
            }
        }
        // Final flush; retry a few times so a momentary lock does not lose
        // the last results.
        for attempt in 1..=3u32 {
            if self.flush().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        tracing::error!(
            results = self.results.len(),
            state_changes = self.changes.len(),
            "could not write the last results at shutdown"
        );
    }

    /// When buffered state changes should be written: shortly after the
    /// first of them, but not before a backoff after a failed write ends.
    fn changes_due(&self) -> Option<Instant> {
        let due = self.changes_since? + CHANGE_FLUSH_DELAY;
        Some(self.retry_after.map_or(due, |retry| retry.max(due)))
    }

    /// False while backing off after a failed write.
    fn may_write(&self) -> bool {
        self.retry_after.is_none_or(|at| Instant::now() >= at)
    }

    fn record(&mut self, result: CheckResult) {
        let Some(position) = self.board.position(&result.monitor) else {
            tracing::warn!(monitor = %result.monitor, "result for an unknown monitor dropped");
            return;
        };
        self.metrics
            .observe_lag(schedule::lag(result.due_at, result.started_at));
        self.metrics.observe_evaluation(result.evaluation);

        let mut change = None;
        let mut health_after = result.health;
        self.board.update(position, |view| {
            change = transition(view.status.as_ref(), &result);
            if let Some(change) = &change {
                view.status = Some(change.status_after());
            }
            if let Some(status) = &view.status {
                health_after = status.health;
            }
            view.push(result.clone());
        });
        if let Some(metrics) = self.monitor_metrics.get(position) {
            metrics.record(result.health != Health::Down, health_after, result.latency);
        }
        if let Some(change) = change {
            log_change(&change);
            self.metrics.state_change();
            self.changes.push(change);
            self.changes_since.get_or_insert_with(Instant::now);
        }
        if self
            .oldest_buffered
            .is_none_or(|oldest| result.started_at < oldest)
        {
            self.oldest_buffered = Some(result.started_at);
            self.unwritten.set(self.oldest_buffered);
        }
        self.results.push(result);
    }

    /// Writes what is buffered; true when nothing is left to write.
    async fn flush(&mut self) -> bool {
        if self.results.is_empty() && self.changes.is_empty() {
            return true;
        }
        match self.store.write_batch(&self.results, &self.changes).await {
            Ok(()) => {
                self.metrics.results_written(self.results.len());
                self.results.clear();
                self.changes.clear();
                self.changes_since = None;
                self.retry_after = None;
                self.retry_delay = MIN_RETRY_DELAY;
                self.oldest_buffered = None;
                self.unwritten.set(None);
                true
            }
            Err(error) => {
                self.metrics.store_error();
                self.retry_after = Some(Instant::now() + self.retry_delay);
                self.retry_delay = (self.retry_delay * 2).min(MAX_RETRY_DELAY);
                tracing::error!(
                    error = %error,
                    buffered_results = self.results.len(),
                    buffered_state_changes = self.changes.len(),
                    "cannot write results; will retry with backoff"
                );
                if self.results.len() > MAX_BUFFERED_RESULTS {
                    let excess = self.results.len() - MAX_BUFFERED_RESULTS;
                    self.results.drain(..excess);
                    tracing::error!(dropped = excess, "dropped the oldest unwritten raw results");
                    // Dropped results will never be written: stop waiting.
                    self.oldest_buffered = self.results.iter().map(|r| r.started_at).min();
                    self.unwritten.set(self.oldest_buffered);
                }
                false
            }
        }
    }
}

fn log_change(change: &StateChange) {
    let from = change.from.map_or("unknown", |h| h.as_str());
    let reason = change.reason.as_deref().unwrap_or("");
    match change.to {
        Health::Up => tracing::info!(monitor = %change.monitor, from, to = "up", "monitor is up"),
        Health::Degraded => {
            tracing::warn!(monitor = %change.monitor, from, to = "degraded", reason, "monitor is degraded")
        }
        Health::Down => {
            tracing::warn!(monitor = %change.monitor, from, to = "down", reason, "monitor is down")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use watchkeeper_domain::check::MonitorStatus;
    use watchkeeper_domain::id::MonitorId;
    use watchkeeper_domain::monitor::{ProbeSpec, TcpSpec};

    use super::*;

    #[test]
    fn unwritten_since_round_trips_and_clears() {
        let unwritten = UnwrittenSince::default();
        assert_eq!(unwritten.get(), None);
        let at: Timestamp = "2026-01-01T09:52:30.123Z".parse().unwrap();
        unwritten.set(Some(at));
        assert_eq!(unwritten.get(), Some(at));
        unwritten.set(None);
        assert_eq!(unwritten.get(), None);
    }

    #[tokio::test]
    async fn gauges_start_from_the_state_loaded_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("watchkeeper.db"))
            .await
            .unwrap();
        let spec = Arc::new(MonitorSpec {
            id: MonitorId::parse("db").unwrap(),
            name: "db".to_owned(),
            component: None,
            interval: Duration::from_secs(3600),
            timeout: Duration::from_secs(5),
            probe: ProbeSpec::Tcp(TcpSpec {
                host: "127.0.0.1".to_owned(),
                port: 5432,
                send: None,
                expect: None,
            }),
            expect: Vec::new(),
            degraded_if: Vec::new(),
        });
        let mut states = HashMap::new();
        states.insert(
            spec.id.clone(),
            MonitorStatus {
                health: Health::Degraded,
                since: Timestamp::UNIX_EPOCH,
                reason: Some("slow".to_owned()),
            },
        );
        let board = Board::new(std::slice::from_ref(&spec), states, HashMap::new());
        let metrics = Metrics::new();
        let _recorder = Recorder::new(
            store,
            UnwrittenSince::default(),
            board,
            metrics.clone(),
            std::slice::from_ref(&spec),
            10,
            Duration::from_secs(1),
        );
        let text = metrics.encode().unwrap();
        assert!(
            text.contains("watchkeeper_monitor_up{monitor=\"db\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("watchkeeper_monitor_degraded{monitor=\"db\"} 1"),
            "{text}"
        );
    }
}
