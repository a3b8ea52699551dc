//! `rollups` on PostgreSQL: the raw results a minute is made of, a minute's
//! rollups upserted with the watermark in one transaction under the roll-up
//! advisory lock, availability in one statement (one snapshot), pruning in
//! chunks with one index search per monitor.

use watchkeeper_domain::Health;

use super::{AdvisoryLock, PostgresStore, lock_for_transaction, meta};
use crate::column::{health_code, seconds_ceil};
use crate::meta::MetaKey;
use crate::rollups::{RollupRow, RollupRows, StoredRollup};

/// One minute's rollups of every monitor, one array per column; `$1` is the
/// minute.
const UPSERT_ROLLUPS: &str = "INSERT INTO rollups (monitor, minute, count, failures, degraded, \
     latency_min_us, latency_max_us, latency_sum_us, p50_us, p95_us, p99_us, histogram) \
     SELECT monitor, $1, count, failures, degraded, latency_min_us, latency_max_us, \
     latency_sum_us, p50_us, p95_us, p99_us, histogram \
     FROM UNNEST($2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], \
     $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::bytea[]) \
     AS rollup (monitor, count, failures, degraded, latency_min_us, latency_max_us, \
     latency_sum_us, p50_us, p95_us, p99_us, histogram) \
     ON CONFLICT (monitor, minute) DO UPDATE SET \
     count = excluded.count, failures = excluded.failures, degraded = excluded.degraded, \
     latency_min_us = excluded.latency_min_us, latency_max_us = excluded.latency_max_us, \
     latency_sum_us = excluded.latency_sum_us, p50_us = excluded.p50_us, \
     p95_us = excluded.p95_us, p99_us = excluded.p99_us, histogram = excluded.histogram";

/// Where raw results stop being rolled up: the later of `since` (`$2`, ms)
/// and the watermark.
macro_rules! raw_since {
    () => {
        "GREATEST($2, COALESCE((SELECT value FROM meta WHERE key = 'rollup_watermark') * 1000, $2))"
    };
}

impl RollupRows for PostgresStore {
    async fn first_result_from(&self, from: i64) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT MIN(started_at) FROM results WHERE started_at >= $1")
            .bind(from)
            .fetch_one(&self.pool)
            .await
    }

    async fn minute_results(&self, minute: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT monitor::int8, health::int8, latency_us FROM results \
             WHERE started_at >= $1 AND started_at < $2 ORDER BY monitor",
        )
        .bind(minute * 1000)
        .bind(minute * 1000 + 60_000)
        .fetch_all(&self.pool)
        .await
    }

    async fn write_minute(
        &self,
        expected: Option<i64>,
        minute: i64,
        rows: &[RollupRow<'_>],
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // Held until the commit: another instance's roll-up waits here, then
        // reads the watermark this one moved, and stops.
        lock_for_transaction(&mut tx, AdvisoryLock::RollUp).await?;
        if meta::select(&mut tx, MetaKey::RollupWatermark).await? != expected {
            return Ok(false);
        }
        if !rows.is_empty() {
            let column =
                |field: fn(&RollupRow<'_>) -> i64| -> Vec<i64> { rows.iter().map(field).collect() };
            let histograms: Vec<&[u8]> = rows.iter().map(|row| row.histogram).collect();
            sqlx::query(UPSERT_ROLLUPS)
                .bind(minute)
                .bind(column(|row| row.monitor))
                .bind(column(|row| row.count))
                .bind(column(|row| row.failures))
                .bind(column(|row| row.degraded))
                .bind(column(|row| row.latency_min_us))
                .bind(column(|row| row.latency_max_us))
                .bind(column(|row| row.latency_sum_us))
                .bind(column(|row| row.p50_us))
                .bind(column(|row| row.p95_us))
                .bind(column(|row| row.p99_us))
                .bind(histograms)
                .execute(&mut *tx)
                .await?;
        }
        meta::upsert(&mut tx, MetaKey::RollupWatermark, minute + 60).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn rollups(
        &self,
        key: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<StoredRollup>, sqlx::Error> {
        sqlx::query_as(
            "SELECT minute, count::int8 AS count, failures::int8 AS failures, \
             degraded::int8 AS degraded, latency_min_us, latency_max_us, latency_sum_us, \
             p50_us, p95_us, p99_us, histogram FROM rollups \
             WHERE monitor = $1 AND minute >= $2 AND minute < $3 ORDER BY minute",
        )
        .bind(key)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
    }

    async fn availability(&self, key: i64, since: i64) -> Result<(i64, i64), sqlx::Error> {
        // One statement, so one snapshot: the rollups and the raw tail are
        // split at the same watermark.
        sqlx::query_as(concat!(
            "SELECT rolled.count + raw.count, rolled.failures + raw.failures FROM \
             (SELECT COALESCE(SUM(count), 0)::int8 AS count, \
              COALESCE(SUM(failures), 0)::int8 AS failures \
              FROM rollups WHERE monitor = $1 AND minute >= $3) rolled, \
             (SELECT COUNT(*) AS count, COALESCE(SUM((health = $4)::int), 0)::int8 AS failures \
              FROM results WHERE started_at >= ",
            raw_since!(),
            " AND monitor = $1) raw"
        ))
        .bind(key)
        .bind(since)
        .bind(seconds_ceil(since))
        .bind(health_code(Health::Down))
        .fetch_one(&self.pool)
        .await
    }

    async fn availability_all(&self, since: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
        // Rollups by one index search per monitor (the table holds every
        // minute of the retention), the raw tail by time; one statement.
        sqlx::query_as(concat!(
            "SELECT m.key::int8, rolled.count, rolled.failures FROM monitors m CROSS JOIN LATERAL \
             (SELECT SUM(count)::int8 AS count, SUM(failures)::int8 AS failures FROM rollups \
              WHERE monitor = m.key AND minute >= $1) rolled WHERE rolled.count IS NOT NULL \
             UNION ALL \
             SELECT monitor::int8, COUNT(*), SUM((health = $3)::int)::int8 FROM results \
             WHERE started_at >= ",
            raw_since!(),
            " GROUP BY monitor"
        ))
        .bind(seconds_ceil(since))
        .bind(since)
        .bind(health_code(Health::Down))
        .fetch_all(&self.pool)
        .await
    }

    async fn daily_counts(
        &self,
        key: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, i64, i64, i64)>, sqlx::Error> {
        // One statement, so both halves see one snapshot of the watermark.
        sqlx::query_as(concat!(
            "SELECT (minute / 86400)::int8, SUM(count)::int8, SUM(failures)::int8, \
             SUM(degraded)::int8 FROM rollups \
             WHERE monitor = $1 AND minute >= $5 AND minute < $6 GROUP BY minute / 86400 \
             UNION ALL \
             SELECT (started_at / 86400000)::int8, COUNT(*), SUM((health = $3)::int)::int8, \
             SUM((health = $4)::int)::int8 FROM results \
             WHERE monitor = $1 AND started_at < $7 AND started_at >= ",
            raw_since!(),
            " GROUP BY started_at / 86400000"
        ))
        .bind(key)
        .bind(from)
        .bind(health_code(Health::Down))
        .bind(health_code(Health::Degraded))
        .bind(seconds_ceil(from))
        .bind(seconds_ceil(to))
        .bind(to)
        .fetch_all(&self.pool)
        .await
    }

    async fn prune_rollups(&self, before: i64) -> Result<u64, sqlx::Error> {
        self.delete_in_chunks(
            "DELETE FROM rollups WHERE (monitor, minute) IN \
             (SELECT old.monitor, old.minute FROM monitors m CROSS JOIN LATERAL \
              (SELECT monitor, minute FROM rollups WHERE monitor = m.key AND minute < $1 \
               ORDER BY minute LIMIT $2) old LIMIT $2)",
            before,
        )
        .await
    }
}
