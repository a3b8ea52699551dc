//! `recent_results` on PostgreSQL: the save replaced in one transaction
//! under the save's advisory lock, the load in one repeatable-read snapshot.

use futures_util::TryStreamExt as _;
use watchkeeper_domain::check::CheckResult;

use super::results::{ResultColumns, result_columns};
use super::{AdvisoryLock, PostgresStore, lock_for_transaction, meta};
use crate::error::StoreError;
use crate::meta::MetaKey;
use crate::monitor_keys::MonitorKeys;
use crate::recent::{RecentMerge, RecentRows};
use crate::results::{StoredResult, result_rows};

/// A chunk of the save, one array per column; a second result of one
/// monitor in one millisecond is dropped.
const INSERT_RECENT_RESULTS: &str = "INSERT INTO recent_results (monitor, started_at, lag_ms, \
     latency_us, health, reason, fallback_health, fallback_latency_us, fallback_reason) \
     SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::text[], \
     $7::int8[], $8::int8[], $9::text[]) \
     ON CONFLICT (monitor, started_at) DO NOTHING";

impl RecentRows for PostgresStore {
    async fn load_recent(&self, merge: &mut RecentMerge) -> Result<(), sqlx::Error> {
        // One snapshot for every statement: the save and the results after
        // it are seen as of one instant.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        let covered_until = meta::select(&mut tx, MetaKey::RecentCoveredUntil).await?;
        let mut newer = sqlx::query_as::<_, StoredResult>(concat!(
            "SELECT ",
            result_columns!(),
            " FROM results WHERE started_at >= $1 ORDER BY started_at DESC"
        ))
        .bind(covered_until.unwrap_or(i64::MIN))
        .fetch(&mut *tx);
        while let Some(row) = newer.try_next().await? {
            merge.newer(row);
        }
        drop(newer);
        let mut saved = sqlx::query_as::<_, StoredResult>(concat!(
            "SELECT ",
            result_columns!(),
            " FROM recent_results"
        ))
        .fetch(&mut *tx);
        while let Some(row) = saved.try_next().await? {
            merge.saved(row);
        }
        drop(saved);
        tx.commit().await
    }

    async fn save_recent<I>(
        &self,
        keys: &MonitorKeys,
        chunks: I,
        covered_until: i64,
    ) -> Result<usize, StoreError>
    where
        I: Iterator<Item = Vec<CheckResult>> + Send,
    {
        let save_error = |source| StoreError::SaveRecent { source };
        let mut tx = self.pool.begin().await.map_err(save_error)?;
        // Two instances' saves do not interleave: the second replaces the
        // first whole.
        lock_for_transaction(&mut tx, AdvisoryLock::SaveRecent)
            .await
            .map_err(save_error)?;
        sqlx::query("DELETE FROM recent_results")
            .execute(&mut *tx)
            .await
            .map_err(save_error)?;
        let mut saved = 0;
        for chunk in chunks {
            // An unknown monitor fails the save; the transaction rolls back
            // when dropped, so the previous save stays.
            let rows = result_rows(keys, &chunk)?;
            if rows.is_empty() {
                continue;
            }
            ResultColumns::new(&rows)
                .bind(sqlx::query(INSERT_RECENT_RESULTS))
                .execute(&mut *tx)
                .await
                .map_err(save_error)?;
            saved += rows.len();
        }
        meta::upsert(&mut tx, MetaKey::RecentCoveredUntil, covered_until)
            .await
            .map_err(save_error)?;
        tx.commit().await.map_err(save_error)?;
        Ok(saved)
    }
}
