//! `recent_results` on SQLite: the save replaced in one immediate
//! transaction, and the load in one read transaction.

use futures_util::TryStreamExt as _;
use watchkeeper_domain::check::CheckResult;

use super::{SqliteStore, json_rows, meta};
use crate::error::StoreError;
use crate::meta::MetaKey;
use crate::monitor_keys::MonitorKeys;
use crate::recent::{RecentMerge, RecentRows};
use crate::results::{StoredResult, result_rows};

/// The saved recent results, like a batch of results; a second result of
/// one monitor in one millisecond is dropped.
const INSERT_RECENT_RESULTS: &str = "INSERT INTO recent_results (monitor, started_at, lag_ms, \
     latency_us, health, reason, fallback_health, fallback_latency_us, fallback_reason) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, value ->> 8 FROM json_each(?1) WHERE true \
     ON CONFLICT (monitor, started_at) DO NOTHING";

impl RecentRows for SqliteStore {
    async fn load_recent(&self, merge: &mut RecentMerge) -> Result<(), sqlx::Error> {
        // One read transaction: the save and the results after it are seen
        // as of one instant.
        let mut tx = self.reader.begin().await?;
        let covered_until = meta::select(&mut tx, MetaKey::RecentCoveredUntil).await?;
        let mut newer = sqlx::query_as::<_, StoredResult>(
            "SELECT monitor, started_at, lag_ms, latency_us, health, reason, \
             fallback_health, fallback_latency_us, fallback_reason \
             FROM results WHERE started_at >= ?1 ORDER BY started_at DESC",
        )
        .bind(covered_until.unwrap_or(i64::MIN))
        .fetch(&mut *tx);
        while let Some(row) = newer.try_next().await? {
            merge.newer(row);
        }
        drop(newer);
        let mut saved = sqlx::query_as::<_, StoredResult>(
            "SELECT monitor, started_at, lag_ms, latency_us, health, reason, \
             fallback_health, fallback_latency_us, fallback_reason FROM recent_results",
        )
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
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
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
            sqlx::query(INSERT_RECENT_RESULTS)
                .bind(json_rows(&rows).map_err(save_error)?)
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
