//! `rollups` on SQLite: the raw results a minute is made of, a minute's
//! rollups upserted with the watermark in one immediate transaction,
//! availability in one read transaction, pruning in chunks.

use super::{SqliteStore, json_rows, meta};
use crate::meta::MetaKey;
use crate::rollups::{RollupRow, RollupRows, StoredRollup};
use watchkeeper_domain::Health;

use crate::column::health_code;

/// One minute's rollups of every monitor in one statement, like the
/// results: ?1 is the minute, ?2 the rows (see [`SqliteRollupRow`]), the
/// histogram hex-encoded since JSON has no bytes. (`WHERE true` is SQLite's
/// way to tell an upsert's `ON CONFLICT` from a join.)
const UPSERT_ROLLUPS: &str = "INSERT INTO rollups (monitor, minute, count, failures, degraded, \
     latency_min_us, latency_max_us, latency_sum_us, p50_us, p95_us, p99_us, histogram) \
     SELECT value ->> 0, ?1, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, value ->> 8, value ->> 9, unhex(value ->> 10) \
     FROM json_each(?2) WHERE true \
     ON CONFLICT (monitor, minute) DO UPDATE SET \
     count = excluded.count, failures = excluded.failures, degraded = excluded.degraded, \
     latency_min_us = excluded.latency_min_us, latency_max_us = excluded.latency_max_us, \
     latency_sum_us = excluded.latency_sum_us, p50_us = excluded.p50_us, \
     p95_us = excluded.p95_us, p99_us = excluded.p99_us, histogram = excluded.histogram";

/// One row of `rollups` as [`UPSERT_ROLLUPS`] reads it: monitor key, count,
/// failures, degraded, latency min, max and sum, p50, p95, p99 (µs), and the
/// histogram in hex.
type SqliteRollupRow = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, String);

impl RollupRows for SqliteStore {
    async fn first_result_from(&self, from: i64) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT MIN(started_at) FROM results WHERE started_at >= ?1")
            .bind(from)
            .fetch_one(&self.reader)
            .await
    }

    async fn minute_results(&self, minute: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT monitor, health, latency_us FROM results \
             WHERE started_at >= ?1 AND started_at < ?2 ORDER BY monitor",
        )
        .bind(minute * 1000)
        .bind(minute * 1000 + 60_000)
        .fetch_all(&self.reader)
        .await
    }

    async fn write_minute(
        &self,
        expected: Option<i64>,
        minute: i64,
        rows: &[RollupRow<'_>],
    ) -> Result<bool, sqlx::Error> {
        // Immediate: the write lock is taken before the watermark is read,
        // so no other roll-up can move it between the check and the commit.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        if meta::select(&mut tx, MetaKey::RollupWatermark).await? != expected {
            return Ok(false);
        }
        if !rows.is_empty() {
            let rows: Vec<SqliteRollupRow> = rows
                .iter()
                .map(|row| {
                    (
                        row.monitor,
                        row.count,
                        row.failures,
                        row.degraded,
                        row.latency_min_us,
                        row.latency_max_us,
                        row.latency_sum_us,
                        row.p50_us,
                        row.p95_us,
                        row.p99_us,
                        hex(row.histogram),
                    )
                })
                .collect();
            sqlx::query(UPSERT_ROLLUPS)
                .bind(minute)
                .bind(json_rows(&rows)?)
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
            "SELECT minute, count, failures, degraded, latency_min_us, latency_max_us, \
             latency_sum_us, p50_us, p95_us, p99_us, histogram FROM rollups \
             WHERE monitor = ?1 AND minute >= ?2 AND minute < ?3 ORDER BY minute",
        )
        .bind(key)
        .bind(from)
        .bind(to)
        .fetch_all(&self.reader)
        .await
    }

    async fn availability(&self, key: i64, since: i64) -> Result<(i64, i64), sqlx::Error> {
        // One read transaction: both queries see the same watermark.
        let mut tx = self.reader.begin().await?;
        let (rolled, rolled_failures): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(count), 0), COALESCE(SUM(failures), 0) FROM rollups \
             WHERE monitor = ?1 AND minute >= ?2",
        )
        .bind(key)
        .bind(crate::column::seconds_ceil(since))
        .fetch_one(&mut *tx)
        .await?;
        let (raw, raw_failures): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(health = ?3), 0) FROM results \
             WHERE started_at >= MAX(?2, COALESCE( \
             (SELECT value FROM meta WHERE key = 'rollup_watermark') * 1000, ?2)) \
             AND monitor = ?1",
        )
        .bind(key)
        .bind(since)
        .bind(health_code(Health::Down))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((rolled + raw, rolled_failures + raw_failures))
    }

    async fn availability_all(&self, since: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
        let mut tx = self.reader.begin().await?;
        let mut rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT monitor, SUM(count), SUM(failures) FROM rollups \
             WHERE monitor IN (SELECT key FROM monitors) AND minute >= ?1 GROUP BY monitor",
        )
        .bind(crate::column::seconds_ceil(since))
        .fetch_all(&mut *tx)
        .await?;
        let raw: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT monitor, COUNT(*), SUM(health = ?2) FROM results \
             WHERE started_at >= MAX(?1, COALESCE( \
             (SELECT value FROM meta WHERE key = 'rollup_watermark') * 1000, ?1)) \
             GROUP BY monitor",
        )
        .bind(since)
        .bind(health_code(Health::Down))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.extend(raw);
        Ok(rows)
    }

    async fn daily_counts(
        &self,
        key: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, i64, i64, i64)>, sqlx::Error> {
        let mut tx = self.reader.begin().await?;
        let mut rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT minute / 86400, SUM(count), SUM(failures), SUM(degraded) FROM rollups \
             WHERE monitor = ?1 AND minute >= ?2 AND minute < ?3 GROUP BY minute / 86400",
        )
        .bind(key)
        .bind(crate::column::seconds_ceil(from))
        .bind(crate::column::seconds_ceil(to))
        .fetch_all(&mut *tx)
        .await?;
        let raw: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT started_at / 86400000, COUNT(*), SUM(health = ?4), SUM(health = ?5) FROM results \
             WHERE monitor = ?1 AND started_at < ?3 AND started_at >= MAX(?2, COALESCE( \
             (SELECT value FROM meta WHERE key = 'rollup_watermark') * 1000, ?2)) \
             GROUP BY started_at / 86400000",
        )
        .bind(key)
        .bind(from)
        .bind(to)
        .bind(health_code(Health::Down))
        .bind(health_code(Health::Degraded))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.extend(raw);
        Ok(rows)
    }

    async fn prune_rollups(&self, before: i64) -> Result<u64, sqlx::Error> {
        self.delete_in_chunks(
            "DELETE FROM rollups WHERE (monitor, minute) IN \
             (SELECT monitor, minute FROM rollups \
             WHERE monitor IN (SELECT key FROM monitors) AND minute < ?1 LIMIT ?2)",
            before,
        )
        .await
    }
}

/// Lower-case hex, as SQLite's `unhex` reads it.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(text, "{byte:02x}");
    }
    text
}
