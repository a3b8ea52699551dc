//! Background upkeep of the store: per-minute rollups of raw results once a
//! minute can no longer receive results, retention (raw results after
//! `raw_retention`, rollups after `rollup_retention`; state changes are kept
//! for ever), and saving the board's recent results, so a restart shows them
//! without reading one monitor's results from the time-ordered table.
//!
//! A minute can no longer receive results once it ended a short grace ago,
//! no probe that started in it is still in flight, and the recorder holds no
//! unwritten result from it. A monitor with a long timeout therefore delays
//! rollups only while one of its probes is actually running.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::clock::Clock;
use watchkeeper_store::Store;

use crate::board::Board;
use crate::metrics::Metrics;
use crate::recorder::UnwrittenSince;
use crate::scheduler::ProbesInFlight;

const PRUNE_EVERY_ROLLUPS: u32 = 20;
/// With rollups every 30 s, the board's recent results are saved every
/// 5 minutes: a restart after a crash reads at most that much of the results
/// table (plus the oldest probe in flight at the save) to rebuild them.
const SAVE_RECENT_EVERY_ROLLUPS: u32 = 10;
/// Monitors copied from the board per statement of a save (up to 10,000
/// results, about 1.4 MB): a save of 10,000 monitors copied whole raised RSS
/// by about 30 MiB for good.
const SAVE_RECENT_MONITORS_PER_CHUNK: usize = 1_000;

#[derive(Clone)]
pub struct Maintenance {
    pub store: Store,
    pub board: Board,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// How often minutes are rolled up (pruning runs every 20th time).
    pub rollup_every: Duration,
    /// A minute is rolled up no sooner than this after it ended: a margin
    /// for a probe that is about to be marked in flight, not for how long
    /// probes run (`in_flight` covers that).
    pub rollup_grace: Duration,
    /// Rollups stop short of the oldest probe still in flight, so its
    /// result is counted in the minute it started in.
    pub in_flight: ProbesInFlight,
    /// …and short of the oldest result the recorder has not written yet
    /// (buffered, or kept while writes fail), so it is counted once it lands.
    pub unwritten: UnwrittenSince,
    pub raw_retention: Duration,
    pub rollup_retention: Duration,
}

impl Maintenance {
    pub async fn run(self, cancel: CancellationToken) {
        let mut ticker = tokio::time::interval(self.rollup_every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut runs: u32 = 0;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = cancel.cancelled() => return,
            }
            self.roll_up().await;
            if runs.is_multiple_of(PRUNE_EVERY_ROLLUPS) {
                self.prune().await;
            }
            if runs % SAVE_RECENT_EVERY_ROLLUPS == SAVE_RECENT_EVERY_ROLLUPS - 1 {
                self.save_recent().await;
            }
            runs = runs.wrapping_add(1);
        }
    }

    async fn roll_up(&self) {
        let now = self.clock.now();
        // In this order: the recorder counts a result as unwritten before it
        // releases the probe's in-flight mark, so reading the marks first
        // cannot miss a result moving from one to the other.
        let oldest_in_flight = self.in_flight.oldest();
        let oldest_unwritten = self.unwritten.get();
        let until = rollup_until(now, self.rollup_grace, oldest_in_flight, oldest_unwritten);
        match self.store.roll_up(until).await {
            Ok(rows) => self.metrics.rollup_rows(rows),
            Err(error) => {
                self.metrics.store_error();
                tracing::error!(error = %error, "rollup failed; will retry");
            }
        }
    }

    async fn save_recent(&self) {
        // The bound before the board: a result not on the board yet belongs
        // to a probe still in flight (the recorder puts it on the board
        // before releasing its mark) or about to start (the grace), so it
        // started at or after the bound and a restart reads it from results.
        let covered_until = rollup_until(
            self.clock.now(),
            self.rollup_grace,
            self.in_flight.oldest(),
            None,
        );
        save_recent(&self.store, &self.board, &self.metrics, covered_until).await;
    }

    async fn prune(&self) {
        let now = self.clock.now();
        match self
            .store
            .prune(
                before(now, self.raw_retention),
                before(now, self.rollup_retention),
            )
            .await
        {
            Ok(report) => {
                self.metrics
                    .pruned_rows(report.results + report.rollups + report.deliveries);
                tracing::debug!(
                    results = report.results,
                    rollups = report.rollups,
                    deliveries = report.deliveries,
                    "pruned"
                );
            }
            Err(error) => {
                self.metrics.store_error();
                tracing::error!(error = %error, "pruning failed; will retry");
            }
        }
        match self.store.size_bytes().await {
            Ok(bytes) => self.metrics.set_store_size(bytes),
            Err(error) => tracing::warn!(error = %error, "cannot read the database size"),
        }
    }
}

/// Saves every monitor's recent results from the board, accounting for all
/// results that started before `covered_until`. A failure is logged and
/// counted: the previous save stays, and a restart reads more of the results.
pub(crate) async fn save_recent(
    store: &Store,
    board: &Board,
    metrics: &Metrics,
    covered_until: Timestamp,
) {
    let chunks = board.recent_results_in_chunks(SAVE_RECENT_MONITORS_PER_CHUNK);
    match store.save_recent(chunks, covered_until).await {
        Ok(saved) => {
            metrics.recent_results_saved();
            tracing::debug!(results = saved, "saved recent results");
        }
        Err(error) => {
            metrics.store_error();
            tracing::error!(error = %error, "cannot save recent results; will retry");
        }
    }
}

/// Minutes ending at or before this instant may be rolled up: they ended
/// `grace` ago, no probe that started in them is still in flight, and no
/// result that started in them is still unwritten.
fn rollup_until(
    now: Timestamp,
    grace: Duration,
    oldest_in_flight: Option<Timestamp>,
    oldest_unwritten: Option<Timestamp>,
) -> Timestamp {
    [oldest_in_flight, oldest_unwritten]
        .into_iter()
        .flatten()
        .fold(before(now, grace), Timestamp::min)
}

fn before(now: Timestamp, ago: Duration) -> Timestamp {
    let ago = SignedDuration::try_from(ago).unwrap_or(SignedDuration::MAX);
    now.checked_sub(ago).unwrap_or(Timestamp::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    const NOW: &str = "2026-01-01T10:00:00Z";
    const GRACE: Duration = Duration::from_secs(6);

    #[test]
    fn rollups_wait_only_for_the_grace_period_when_nothing_is_pending() {
        let until = rollup_until(ts(NOW), GRACE, None, None);
        assert_eq!(until, ts("2026-01-01T09:59:54Z"));
    }

    #[test]
    fn rollups_stop_short_of_the_oldest_probe_in_flight() {
        // A command probe with a 1 h timeout that has been running for 7
        // minutes holds back its own minute, and no more.
        let started = ts("2026-01-01T09:53:10Z");
        assert_eq!(rollup_until(ts(NOW), GRACE, Some(started), None), started);
        // A probe that started after the grace cut-off changes nothing.
        let recent = ts("2026-01-01T09:59:58Z");
        assert_eq!(
            rollup_until(ts(NOW), GRACE, Some(recent), None),
            ts("2026-01-01T09:59:54Z")
        );
    }

    #[test]
    fn rollups_stop_short_of_results_the_recorder_has_not_written() {
        let oldest = ts("2026-01-01T09:52:30Z");
        assert_eq!(rollup_until(ts(NOW), GRACE, None, Some(oldest)), oldest);
        let recent = ts("2026-01-01T09:59:58Z");
        assert_eq!(
            rollup_until(ts(NOW), GRACE, None, Some(recent)),
            ts("2026-01-01T09:59:54Z")
        );
    }

    #[test]
    fn the_earliest_of_in_flight_and_unwritten_wins() {
        let in_flight = ts("2026-01-01T09:58:00Z");
        let unwritten = ts("2026-01-01T09:57:00Z");
        assert_eq!(
            rollup_until(ts(NOW), GRACE, Some(in_flight), Some(unwritten)),
            unwritten
        );
        assert_eq!(
            rollup_until(ts(NOW), GRACE, Some(unwritten), Some(in_flight)),
            unwritten
        );
    }
}
