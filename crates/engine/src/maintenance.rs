//! Background upkeep of the store: per-minute rollups of raw results once a
//! minute can no longer receive results, and retention (raw results after
//! `raw_retention`, rollups after `rollup_retention`; state changes are kept
//! for ever).

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::clock::Clock;
use watchkeeper_store::Store;

use crate::metrics::Metrics;
use crate::recorder::UnwrittenSince;

const ROLLUP_EVERY: Duration = Duration::from_secs(30);
const PRUNE_EVERY_ROLLUPS: u32 = 20;

pub struct Maintenance {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// A minute is rolled up only once it ended this long ago, so results of
    /// probes that started in it (and are still running or buffered) are in.
    pub rollup_grace: Duration,
    /// While writes fail, rollups stop short of the oldest unwritten
    /// result, so it is counted once it lands.
    pub unwritten: UnwrittenSince,
    pub raw_retention: Duration,
    pub rollup_retention: Duration,
}

impl Maintenance {
    pub async fn run(self, cancel: CancellationToken) {
        let mut ticker = tokio::time::interval(ROLLUP_EVERY);
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
            runs = runs.wrapping_add(1);
        }
    }

    async fn roll_up(&self) {
        let until = rollup_until(self.clock.now(), self.rollup_grace, self.unwritten.get());
        match self.store.roll_up(until).await {
            Ok(rows) => self.metrics.rollup_rows(rows),
            Err(error) => {
                self.metrics.store_error();
                tracing::error!(error = %error, "rollup failed; will retry");
            }
        }
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
                self.metrics.pruned_rows(report.results + report.rollups);
                tracing::debug!(results = report.results, rollups = report.rollups, "pruned");
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

/// Minutes ending at or before this instant may be rolled up: they ended
/// `grace` ago, and no result that started in them is still unwritten.
fn rollup_until(now: Timestamp, grace: Duration, oldest_unwritten: Option<Timestamp>) -> Timestamp {
    let until = before(now, grace);
    oldest_unwritten.map_or(until, |oldest| until.min(oldest))
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

    #[test]
    fn rollups_wait_for_the_grace_period() {
        let until = rollup_until(ts("2026-01-01T10:00:00Z"), Duration::from_secs(16), None);
        assert_eq!(until, ts("2026-01-01T09:59:44Z"));
    }

    #[test]
    fn rollups_stop_short_of_results_the_recorder_could_not_write() {
        let oldest = ts("2026-01-01T09:52:30Z");
        let until = rollup_until(
            ts("2026-01-01T10:00:00Z"),
            Duration::from_secs(16),
            Some(oldest),
        );
        assert_eq!(until, oldest);
        // An unwritten result newer than the grace cut-off changes nothing.
        let recent = ts("2026-01-01T09:59:58Z");
        let until = rollup_until(
            ts("2026-01-01T10:00:00Z"),
            Duration::from_secs(16),
            Some(recent),
        );
        assert_eq!(until, ts("2026-01-01T09:59:44Z"));
    }
}
