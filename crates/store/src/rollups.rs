//! The rollups aggregate: one row per monitor and minute that had results,
//! written behind the roll-up watermark (`meta`) so each minute is rolled
//! up exactly once, by whichever process gets there first. Here: the roll-up
//! loop, building a minute's rollups from its raw results, decoding rows,
//! availability, and the facade's `roll_up`, `rollups`, `availability` and
//! `availability_all`.

use std::collections::HashMap;

use jiff::Timestamp;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::rollup::{Rollup, RollupBuilder};

use crate::Store;
use crate::column::{
    count_from_column, duration_from_micros, health_from_code, micros, millis, minute_floor,
    seconds_ceil, timestamp_from_seconds,
};
use crate::error::StoreError;
use crate::meta::{MetaKey, MetaRows as _};

/// Minutes with results rolled up per `roll_up` call; each is its own
/// transaction, so the writer waits at most one minute's upserts.
const MAX_MINUTES_PER_ROLL_UP: usize = 60;

/// One row of `rollups` as it is written (the minute is the statement's).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RollupRow<'a> {
    pub monitor: i64,
    pub count: i64,
    pub failures: i64,
    pub degraded: i64,
    pub latency_min_us: i64,
    pub latency_max_us: i64,
    pub latency_sum_us: i64,
    pub p50_us: i64,
    pub p95_us: i64,
    pub p99_us: i64,
    /// HDR histogram, V2 encoding.
    pub histogram: &'a [u8],
}

impl<'a> RollupRow<'a> {
    fn new(monitor: i64, rollup: &'a Rollup) -> Self {
        Self {
            monitor,
            count: i64::from(rollup.count),
            failures: i64::from(rollup.failures),
            degraded: i64::from(rollup.degraded),
            latency_min_us: micros(rollup.latency_min),
            latency_max_us: micros(rollup.latency_max),
            latency_sum_us: micros(rollup.latency_sum),
            p50_us: micros(rollup.p50),
            p95_us: micros(rollup.p95),
            p99_us: micros(rollup.p99),
            histogram: &rollup.histogram,
        }
    }
}

/// One row of `rollups`, as read back (without the monitor).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StoredRollup {
    pub minute: i64,
    pub count: i64,
    pub failures: i64,
    pub degraded: i64,
    pub latency_min_us: i64,
    pub latency_max_us: i64,
    pub latency_sum_us: i64,
    pub p50_us: i64,
    pub p95_us: i64,
    pub p99_us: i64,
    pub histogram: Vec<u8>,
}

impl StoredRollup {
    fn decode(self, what: &'static str) -> Result<Rollup, StoreError> {
        Ok(Rollup {
            minute: timestamp_from_seconds(what, self.minute)?,
            count: count_from_column(what, self.count)?,
            failures: count_from_column(what, self.failures)?,
            degraded: count_from_column(what, self.degraded)?,
            latency_min: duration_from_micros(what, self.latency_min_us)?,
            latency_max: duration_from_micros(what, self.latency_max_us)?,
            latency_sum: duration_from_micros(what, self.latency_sum_us)?,
            p50: duration_from_micros(what, self.p50_us)?,
            p95: duration_from_micros(what, self.p95_us)?,
            p99: duration_from_micros(what, self.p99_us)?,
            histogram: self.histogram,
        })
    }
}

/// What every backend does with rollups and the raw results they are made
/// of. Minutes are epoch seconds, instants milliseconds.
pub(crate) trait RollupRows {
    /// The earliest `started_at` at or after `from`, if any.
    async fn first_result_from(&self, from: i64) -> Result<Option<i64>, sqlx::Error>;

    /// `(monitor, health, latency_us)` of every result of the minute,
    /// ordered by monitor.
    async fn minute_results(&self, minute: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error>;

    /// In one transaction, if the watermark is still `expected`: upserts the
    /// minute's rollups and moves the watermark to the minute's end.
    /// `false`, writing nothing, when another roll-up moved it first.
    async fn write_minute(
        &self,
        expected: Option<i64>,
        minute: i64,
        rows: &[RollupRow<'_>],
    ) -> Result<bool, sqlx::Error>;

    /// Rollups of the monitor with `key` whose minute is in `[from, to)`,
    /// oldest first.
    async fn rollups(&self, key: i64, from: i64, to: i64)
    -> Result<Vec<StoredRollup>, sqlx::Error>;

    /// `(count, failures)` of one monitor since `since` (ms), as of one
    /// snapshot: rolled-up minutes starting at or after it plus the raw
    /// results past the watermark.
    async fn availability(&self, key: i64, since: i64) -> Result<(i64, i64), sqlx::Error>;

    /// The same for every monitor with data, as `(monitor, count,
    /// failures)`; a monitor may appear twice (rolled up and raw).
    async fn availability_all(&self, since: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error>;

    /// `(day, count, failures, degraded)` of the monitor with `key` per UTC
    /// day (days since the epoch) in `[from, to)` (ms), as of one snapshot:
    /// rolled-up minutes plus the raw results past the watermark; a day may
    /// appear twice (rolled up and raw).
    async fn daily_counts(
        &self,
        key: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, i64, i64, i64)>, sqlx::Error>;

    /// Deletes rollups of minutes before `before`, in chunks of
    /// [`crate::results::PRUNE_CHUNK`], each committed on its own.
    async fn prune_rollups(&self, before: i64) -> Result<u64, sqlx::Error>;
}

impl Store {
    /// Rolls up every whole minute that ends at or before `until` and is past
    /// the stored watermark, at most 60 minutes with results per call (call
    /// again while it returns more than zero to catch up). Minutes without
    /// results are skipped and produce no rows. Each minute is written with
    /// the watermark in its own short transaction, so a minute is never rolled
    /// twice; results that arrive for a minute already rolled up are not
    /// counted in rollups, so pass `until` a little behind the clock (the
    /// batch writer's flush interval). Returns the rollup rows written.
    pub async fn roll_up(&self, until: Timestamp) -> Result<u64, StoreError> {
        let roll_up_error = |source| StoreError::RollUp { source };
        // Minutes starting before `end` (epoch seconds) have ended by `until`.
        let end = minute_floor(millis(until));
        let mut watermark =
            backend!(self, engine => engine.meta_value(MetaKey::RollupWatermark).await)
                .map_err(roll_up_error)?;
        let mut written = 0;
        for _ in 0..MAX_MINUTES_PER_ROLL_UP {
            // Skip minutes without results: jump to the next result at or
            // after the watermark.
            let from = watermark.map_or(i64::MIN, |minute| minute.saturating_mul(1000));
            let next = backend!(self, engine => engine.first_result_from(from).await)
                .map_err(roll_up_error)?;
            let Some(next) = next else { break };
            let minute = minute_floor(next);
            if minute >= end {
                break;
            }
            // The minute has ended, so reading it outside the write
            // transaction keeps the writer free while rows are read.
            let rows = backend!(self, engine => engine.minute_results(minute).await)
                .map_err(roll_up_error)?;
            let rollups = build_rollups(minute, &rows)?;
            let rows: Vec<RollupRow<'_>> = rollups
                .iter()
                .map(|(key, rollup)| RollupRow::new(*key, rollup))
                .collect();
            let moved_on =
                backend!(self, engine => engine.write_minute(watermark, minute, &rows).await)
                    .map_err(roll_up_error)?;
            if !moved_on {
                // Another roll-up (another clone or process) got here first.
                tracing::debug!(minute, "the roll-up watermark moved meanwhile; stopping");
                break;
            }
            written += rows.len() as u64;
            watermark = Some(minute + 60);
        }
        Ok(written)
    }

    /// Rollups of one monitor whose minute starts in `[from, to)`, oldest
    /// first.
    pub async fn rollups(
        &self,
        id: &MonitorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Rollup>, StoreError> {
        const WHAT: &str = "rollups";
        let Some(key) = self.key_of(id).await? else {
            return Ok(Vec::new());
        };
        let (from, to) = (seconds_ceil(millis(from)), seconds_ceil(millis(to)));
        let rows = backend!(self, engine => engine.rollups(key, from, to).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// Fraction of checks since `since` that were not down (degraded counts
    /// as available): rolled-up minutes that start at or after `since` plus
    /// the raw results not rolled up yet. `None` when there is no data.
    pub async fn availability(
        &self,
        id: &MonitorId,
        since: Timestamp,
    ) -> Result<Option<f64>, StoreError> {
        let Some(key) = self.key_of(id).await? else {
            return Ok(None);
        };
        let (count, failures) =
            backend!(self, engine => engine.availability(key, millis(since)).await).map_err(
                |source| StoreError::Read {
                    what: "availability",
                    source,
                },
            )?;
        Ok(ratio(count, failures))
    }

    /// [`Store::availability`] of every monitor that has data since `since`.
    pub async fn availability_all(
        &self,
        since: Timestamp,
    ) -> Result<HashMap<MonitorId, f64>, StoreError> {
        const WHAT: &str = "availability of every monitor";
        let rows = backend!(self, engine => engine.availability_all(millis(since)).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        let mut totals: HashMap<i64, (i64, i64)> = HashMap::new();
        for (key, count, failures) in rows {
            let total = totals.entry(key).or_default();
            total.0 += count;
            total.1 += failures;
        }
        self.know_keys(WHAT, totals.keys().copied()).await?;
        let mut availability = HashMap::with_capacity(totals.len());
        for (key, (count, failures)) in totals {
            if let Some(ratio) = ratio(count, failures) {
                availability.insert(self.known_id(WHAT, key)?, ratio);
            }
        }
        Ok(availability)
    }
}

/// One monitor's probes on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    pub day: jiff::civil::Date,
    pub count: u64,
    pub failures: u64,
    pub degraded: u64,
}

impl Store {
    /// Per monitor of `monitors`, per UTC day with data in `[from, to)`:
    /// the rolled-up minutes plus the raw results not rolled up yet, days
    /// in order. One index range per monitor: meant for the few monitors of
    /// a status page's components, not for every monitor at once.
    pub async fn daily_counts(
        &self,
        monitors: &[MonitorId],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<HashMap<MonitorId, Vec<DayCount>>, StoreError> {
        const WHAT: &str = "daily counts";
        let invalid = |detail: String| StoreError::InvalidRow { what: WHAT, detail };
        let mut out = HashMap::new();
        for id in monitors {
            let Some(key) = self.key_of(id).await? else {
                continue;
            };
            let rows =
                backend!(self, engine => engine.daily_counts(key, millis(from), millis(to)).await)
                    .map_err(|source| StoreError::Read { what: WHAT, source })?;
            let mut days: std::collections::BTreeMap<i64, DayCount> = Default::default();
            for (day, count, failures, degraded) in rows {
                let date = jiff::Timestamp::from_second(day.saturating_mul(86_400))
                    .map_err(|error| invalid(format!("day {day}: {error}")))?
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .date();
                let number =
                    |n: i64| u64::try_from(n).map_err(|_| invalid(format!("a negative count {n}")));
                let entry = days.entry(day).or_insert(DayCount {
                    day: date,
                    count: 0,
                    failures: 0,
                    degraded: 0,
                });
                entry.count += number(count)?;
                entry.failures += number(failures)?;
                entry.degraded += number(degraded)?;
            }
            if !days.is_empty() {
                out.insert(id.clone(), days.into_values().collect());
            }
        }
        Ok(out)
    }
}

fn ratio(count: i64, failures: i64) -> Option<f64> {
    // Counts far below 2^53: the conversions are exact.
    #[allow(clippy::cast_precision_loss)]
    (count > 0).then(|| (count - failures) as f64 / count as f64)
}

/// One rollup per monitor from one minute's `(monitor, health, latency_us)`
/// rows, sorted by monitor.
fn build_rollups(minute: i64, rows: &[(i64, i64, i64)]) -> Result<Vec<(i64, Rollup)>, StoreError> {
    const WHAT: &str = "results to roll up";
    let start = timestamp_from_seconds(WHAT, minute)?;
    let histogram_error = |source| StoreError::RollUpHistogram {
        minute: start,
        source,
    };
    let mut rollups = Vec::new();
    let mut current: Option<(i64, RollupBuilder)> = None;
    for &(key, health, latency_us) in rows {
        let health = health_from_code(WHAT, health)?;
        let latency = duration_from_micros(WHAT, latency_us)?;
        match &mut current {
            Some((current_key, builder)) if *current_key == key => builder.add(health, latency),
            _ => {
                if let Some((done_key, builder)) = current.take() {
                    rollups.push((done_key, builder.finish().map_err(histogram_error)?));
                }
                let mut builder = RollupBuilder::new(start).map_err(histogram_error)?;
                builder.add(health, latency);
                current = Some((key, builder));
            }
        }
    }
    if let Some((key, builder)) = current {
        rollups.push((key, builder.finish().map_err(histogram_error)?));
    }
    Ok(rollups)
}

#[cfg(test)]
mod tests {
    use super::*;

    use watchkeeper_domain::Health;

    #[test]
    fn builds_one_rollup_per_monitor_in_key_order() {
        let up = i64::from(Health::Up.code());
        let down = i64::from(Health::Down.code());
        let rows = [(1, up, 1_000), (1, down, 3_000), (4, up, 2_000)];
        let rollups = build_rollups(120, &rows).unwrap();
        let summary: Vec<_> = rollups
            .iter()
            .map(|(key, rollup)| (*key, rollup.count, rollup.failures))
            .collect();
        assert_eq!(summary, vec![(1, 2, 1), (4, 1, 0)]);
        assert!(
            rollups
                .iter()
                .all(|(_, rollup)| rollup.minute == Timestamp::from_second(120).unwrap())
        );
    }

    #[test]
    fn an_unknown_health_code_is_an_invalid_row() {
        let error = build_rollups(0, &[(1, 9, 1_000)]).unwrap_err();
        assert!(
            error.to_string().contains("unknown health code 9"),
            "{error}"
        );
    }
}
