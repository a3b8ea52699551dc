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

const ROLLUP_EVERY: Duration = Duration::from_secs(30);
const PRUNE_EVERY_ROLLUPS: u32 = 20;

pub struct Maintenance {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// A minute is rolled up only once it ended this long ago, so results of
    /// probes that started in it (and are still running or buffered) are in.
    pub rollup_grace: Duration,
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
        let until = before(self.clock.now(), self.rollup_grace);
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

fn before(now: Timestamp, ago: Duration) -> Timestamp {
    let ago = SignedDuration::try_from(ago).unwrap_or(SignedDuration::MAX);
    now.checked_sub(ago).unwrap_or(Timestamp::MIN)
}
