//! The results aggregate: raw check results, written in batches together
//! with their state changes and alert changes, read back by time, pruned behind the roll-up
//! watermark. Here: the row encoding and decoding every engine shares, and
//! the facade's `write_batch`, `results_between` and `prune`.

use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::alert::AlertChange;
use watchkeeper_domain::check::{CheckResult, FallbackResult, StateChange};

use crate::Store;
use crate::alerts::{AlertRow, alert_rows};
use crate::column::{
    duration_from_micros, health_code, health_from_code, micros, millis, seconds_ceil,
    timestamp_from_millis,
};
use crate::error::StoreError;
use crate::meta::{MetaKey, MetaRows as _};
use crate::monitor_keys::MonitorKeys;
use crate::rollups::RollupRows as _;
use crate::state_changes::{StateChangeRow, state_change_row};

/// How far a result is moved forward, 1 ms at a time, when its millisecond is
/// already taken by another result of the same monitor.
pub(crate) const MAX_NUDGE_MS: i64 = 1_000;

/// Rows deleted per statement by `prune`; writers get the connection between
/// statements.
pub(crate) const PRUNE_CHUNK: i64 = 10_000;

/// What [`Store::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Raw results deleted.
    pub results: u64,
    /// Rollup rows deleted.
    pub rollups: u64,
    /// Finished deliveries deleted, with their attempts.
    pub deliveries: u64,
    /// Ack links' used marks deleted.
    pub used_links: u64,
}

/// One row of `results` (and of `recent_results`) as it is written: monitor
/// key, started_at (ms), lag (ms), latency (µs), health, reason, fallback
/// health, fallback latency (µs), fallback reason.
pub(crate) type ResultRow<'a> = (
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<&'a str>,
    Option<i64>,
    Option<i64>,
    Option<&'a str>,
);

/// A result as a row, for the monitor with `key`.
pub(crate) fn result_row(key: i64, result: &CheckResult) -> ResultRow<'_> {
    let fallback = result.fallback.as_ref();
    let started_at = millis(result.started_at);
    (
        key,
        started_at,
        started_at - millis(result.due_at),
        micros(result.latency),
        health_code(result.health),
        result.reason.as_deref(),
        fallback.map(|fallback| health_code(fallback.health)),
        fallback.map(|fallback| micros(fallback.latency)),
        fallback.and_then(|fallback| fallback.reason.as_deref()),
    )
}

/// The rows of results of registered monitors; an unregistered one is the
/// error.
pub(crate) fn result_rows<'a>(
    keys: &MonitorKeys,
    results: &'a [CheckResult],
) -> Result<Vec<ResultRow<'a>>, StoreError> {
    let keys = keys
        .keys(results.iter().map(|result| &result.monitor))
        .map_err(|monitor| StoreError::UnregisteredMonitor { monitor })?;
    Ok(keys
        .into_iter()
        .zip(results)
        .map(|(key, result)| result_row(key, result))
        .collect())
}

/// One row of `results` (or `recent_results`), as read back.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StoredResult {
    pub monitor: i64,
    pub started_at: i64,
    pub lag_ms: i64,
    pub latency_us: i64,
    pub health: i64,
    pub reason: Option<String>,
    pub fallback_health: Option<i64>,
    pub fallback_latency_us: Option<i64>,
    pub fallback_reason: Option<String>,
}

impl StoredResult {
    pub(crate) fn decode(
        self,
        what: &'static str,
        monitor: MonitorId,
    ) -> Result<CheckResult, StoreError> {
        let fallback = match (self.fallback_health, self.fallback_latency_us) {
            (Some(health), Some(latency_us)) => Some(FallbackResult {
                health: health_from_code(what, health)?,
                latency: duration_from_micros(what, latency_us)?,
                reason: self.fallback_reason,
            }),
            (None, None) => None,
            _ => {
                return Err(StoreError::InvalidRow {
                    what,
                    detail: "a fallback result has a health but no latency, or the reverse"
                        .to_owned(),
                });
            }
        };
        Ok(CheckResult {
            monitor,
            due_at: timestamp_from_millis(what, self.started_at.saturating_sub(self.lag_ms))?,
            started_at: timestamp_from_millis(what, self.started_at)?,
            latency: duration_from_micros(what, self.latency_us)?,
            evaluation: Duration::ZERO,
            health: health_from_code(what, self.health)?,
            reason: self.reason,
            fallback,
        })
    }
}

/// Why a backend could not write a batch.
#[derive(Debug)]
pub(crate) enum WriteFailure {
    Sql(sqlx::Error),
    /// The result at this index in the batch found no free millisecond
    /// within [`MAX_NUDGE_MS`] of its own.
    NoFreeMillisecond {
        row: usize,
    },
}

impl From<sqlx::Error> for WriteFailure {
    fn from(error: sqlx::Error) -> Self {
        WriteFailure::Sql(error)
    }
}

/// The ids of the last rows a batch inserted, `None` where it inserted none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Written {
    pub state_change: Option<i64>,
    pub alert_event: Option<i64>,
}

/// What every backend does with raw results.
pub(crate) trait ResultRows {
    /// Writes results, state changes and alert changes in one transaction:
    /// all or nothing. A result whose millisecond is taken by another of the
    /// same monitor (stored, or earlier in the batch) is moved forward 1 ms
    /// at a time, up to [`MAX_NUDGE_MS`], its lag growing with it; state
    /// changes and alert changes are inserted in the order given.
    async fn write_batch(
        &self,
        results: &[ResultRow<'_>],
        changes: &[StateChangeRow<'_>],
        alerts: &[AlertRow<'_>],
    ) -> Result<Written, WriteFailure>;

    /// Results of the monitor with `key` that started in `[from, to)` (ms),
    /// oldest first.
    async fn results_between(
        &self,
        key: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<StoredResult>, sqlx::Error>;

    /// Up to `limit` results of the monitor with `key` that started in
    /// `[from, before)` (ms), newest first.
    async fn results_page(
        &self,
        key: i64,
        from: i64,
        before: i64,
        limit: u32,
    ) -> Result<Vec<StoredResult>, sqlx::Error>;

    /// Deletes results that started before `before` (ms), [`PRUNE_CHUNK`]
    /// rows per statement, each committed on its own.
    async fn prune_results(&self, before: i64) -> Result<u64, sqlx::Error>;
}

/// What one transaction writes: results, the state changes they caused,
/// and the alert changes they caused.
#[derive(Debug, Clone, Copy, Default)]
pub struct Batch<'a> {
    pub results: &'a [CheckResult],
    pub changes: &'a [StateChange],
    pub alerts: &'a [AlertChange],
}

/// How far a batch committed: the id of the last state change and of the
/// last alert event it wrote (`None` where it wrote none). Ids grow in the
/// order rows are given, across batches, so a consumer that remembers the
/// last id it read waits for a higher one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Committed {
    pub state_change: Option<i64>,
    pub alert_event: Option<i64>,
}

impl Store {
    /// [`Store::write`] of results and state changes, without alert
    /// changes; returns the id of the last state change written.
    pub async fn write_batch(
        &self,
        results: &[CheckResult],
        changes: &[StateChange],
    ) -> Result<Option<i64>, StoreError> {
        let committed = self
            .write(Batch {
                results,
                changes,
                alerts: &[],
            })
            .await?;
        Ok(committed.state_change)
    }

    /// Writes results, state changes and alert changes in one transaction:
    /// all or nothing, so an alert's change is stored if and only if the
    /// result that caused it is. A result or change for an unregistered
    /// monitor fails the whole batch. Two results of one monitor that
    /// started in the same millisecond are both kept: the later is stored
    /// 1 ms later (its `due_at` unchanged). Timestamps are stored to the
    /// millisecond, latencies to the microsecond. Each alert change upserts
    /// its alert (by fingerprint) and appends an event. Returns how far
    /// state changes and alert events are committed, for whoever waits on
    /// them.
    pub async fn write(&self, batch: Batch<'_>) -> Result<Committed, StoreError> {
        let Batch {
            results,
            changes,
            alerts,
        } = batch;
        let result_rows = result_rows(&self.keys, results)?;
        let change_keys = self
            .keys
            .keys(changes.iter().map(|change| &change.monitor))
            .map_err(|monitor| StoreError::UnregisteredMonitor { monitor })?;
        if results.is_empty() && changes.is_empty() && alerts.is_empty() {
            return Ok(Committed::default());
        }
        let alert_rows = alert_rows(alerts)?;
        let change_rows: Vec<StateChangeRow<'_>> = change_keys
            .into_iter()
            .zip(changes)
            .map(|(key, change)| state_change_row(key, change))
            .collect();
        let written = backend!(self, engine => engine.write_batch(&result_rows, &change_rows, &alert_rows).await).map_err(
            |failure| match failure {
                WriteFailure::Sql(source) => StoreError::Write {
                    results: results.len(),
                    changes: changes.len() + alerts.len(),
                    source,
                },
                WriteFailure::NoFreeMillisecond { row } => match results.get(row) {
                    Some(result) => StoreError::NoFreeMillisecond {
                        monitor: result.monitor.clone(),
                        started_at: result.started_at,
                    },
                    None => StoreError::InvalidRow {
                        what: "results to write",
                        detail: format!("the backend named result {row} of {}", results.len()),
                    },
                },
            },
        )?;
        Ok(Committed {
            state_change: written.state_change,
            alert_event: written.alert_event,
        })
    }

    /// Results of one monitor that started in `[from, to)`, oldest first.
    /// Results are ordered by time, so this reads every result of the range:
    /// for short ranges, exports and tests.
    pub async fn results_between(
        &self,
        id: &MonitorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<CheckResult>, StoreError> {
        const WHAT: &str = "results between two instants";
        let Some(key) = self.key_of(id).await? else {
            return Ok(Vec::new());
        };
        let rows =
            backend!(self, engine => engine.results_between(key, millis(from), millis(to)).await)
                .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter()
            .map(|row| row.decode(WHAT, id.clone()))
            .collect()
    }

    /// Up to `limit` results of one monitor that started in `[from,
    /// before)`, newest first: a page of them, the next one before the
    /// last's `started_at` (a monitor's results are at distinct
    /// milliseconds, see [`MAX_NUDGE_MS`]). Raw results only: older ones
    /// live on as rollups.
    pub async fn results_page(
        &self,
        id: &MonitorId,
        from: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<CheckResult>, StoreError> {
        const WHAT: &str = "a page of results";
        let Some(key) = self.key_of(id).await? else {
            return Ok(Vec::new());
        };
        let (from, before) = (millis(from), millis(before));
        let rows = backend!(self, engine => engine.results_page(key, from, before, limit).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter()
            .map(|row| row.decode(WHAT, id.clone()))
            .collect()
    }

    /// Deletes raw results that started before `raw_before` and rollups of
    /// minutes that start before `rollups_before`, in bounded chunks so
    /// writers are not starved. Raw results not rolled up yet are kept
    /// whatever `raw_before` says, so no minute is lost from the rollups.
    /// Finished deliveries and used ack links go with the rollups. State
    /// changes are never deleted.
    pub async fn prune(
        &self,
        raw_before: Timestamp,
        rollups_before: Timestamp,
    ) -> Result<PruneReport, StoreError> {
        let prune_error = |source| StoreError::Prune { source };
        let watermark = backend!(self, engine => engine.meta_value(MetaKey::RollupWatermark).await)
            .map_err(prune_error)?;
        // Raw results not rolled up yet are kept, whatever `raw_before` says.
        let raw_bound = match watermark {
            Some(minute) => millis(raw_before).min(minute.saturating_mul(1000)),
            None => i64::MIN,
        };
        let results =
            backend!(self, engine => engine.prune_results(raw_bound).await).map_err(prune_error)?;
        let rollups_bound = seconds_ceil(millis(rollups_before));
        let rollups = backend!(self, engine => engine.prune_rollups(rollups_bound).await)
            .map_err(prune_error)?;
        // A finished delivery (delivered, failed, dropped) is kept as long
        // as rollups; a pending one is never pruned.
        let deliveries = backend!(self, engine => crate::outbox::OutboxRows::prune_deliveries(engine, millis(rollups_before)).await)
            .map_err(prune_error)?;
        // A used ack link's mark is kept as long too: a link must expire
        // well within the rollups' retention (a day at least), so no link
        // works again once its mark is gone.
        let used_links = backend!(self, engine => crate::oncall::OnCallRows::prune_used_links(engine, millis(rollups_before)).await)
            .map_err(prune_error)?;
        let report = PruneReport {
            results,
            rollups,
            deliveries,
            used_links,
        };
        tracing::debug!(
            results = report.results,
            rollups = report.rollups,
            deliveries = report.deliveries,
            used_links = report.used_links,
            "pruned old rows"
        );
        Ok(report)
    }
}
