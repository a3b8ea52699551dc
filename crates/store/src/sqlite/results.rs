//! `results` on SQLite: a batch in one statement (falling back to row by
//! row when a millisecond is taken), reads by time, pruning from the front.

use sqlx::SqliteConnection;

use super::{SqliteStore, alerts, json_rows, state_changes};
use crate::alerts::AlertRow;
use crate::results::{MAX_NUDGE_MS, ResultRow, ResultRows, StoredResult, WriteFailure, Written};
use crate::state_changes::StateChangeRow;

/// One result, as the fallback of [`INSERT_RESULTS`] writes it.
const INSERT_RESULT: &str = "INSERT INTO results (monitor, started_at, lag_ms, latency_us, health, reason, \
     fallback_health, fallback_latency_us, fallback_reason) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
     ON CONFLICT (started_at, monitor) DO NOTHING";

/// A whole batch of results in one statement: the rows travel as one JSON
/// array of arrays (see [`ResultRow`]). Without `ON CONFLICT`: a millisecond
/// already taken fails the statement (and only the statement), and the
/// batch is then written row by row with [`INSERT_RESULT`].
const INSERT_RESULTS: &str = "INSERT INTO results (monitor, started_at, lag_ms, latency_us, health, reason, \
     fallback_health, fallback_latency_us, fallback_reason) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, value ->> 8 FROM json_each(?1)";

impl ResultRows for SqliteStore {
    async fn write_batch(
        &self,
        results: &[ResultRow<'_>],
        changes: &[StateChangeRow<'_>],
        alert_rows: &[AlertRow<'_>],
    ) -> Result<Written, WriteFailure> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        if !results.is_empty() {
            match sqlx::query(INSERT_RESULTS)
                .bind(json_rows(results)?)
                .execute(&mut *tx)
                .await
            {
                Ok(_) => {}
                // Some result's millisecond is taken (by an earlier batch or
                // within this one). The failed statement wrote nothing;
                // write the batch row by row, moving those results forward.
                Err(error) if is_unique_violation(&error) => {
                    for (index, row) in results.iter().enumerate() {
                        if !insert_nudged(&mut tx, row).await? {
                            return Err(WriteFailure::NoFreeMillisecond { row: index });
                        }
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        let state_change = state_changes::insert(&mut tx, changes).await?;
        let alert_event = alerts::insert(&mut tx, alert_rows).await?;
        tx.commit().await?;
        Ok(Written {
            state_change,
            alert_event,
        })
    }

    async fn results_between(
        &self,
        key: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<StoredResult>, sqlx::Error> {
        sqlx::query_as(
            "SELECT monitor, started_at, lag_ms, latency_us, health, reason, \
             fallback_health, fallback_latency_us, fallback_reason \
             FROM results WHERE started_at >= ?2 AND started_at < ?3 AND monitor = ?1 \
             ORDER BY started_at",
        )
        .bind(key)
        .bind(from)
        .bind(to)
        .fetch_all(&self.reader)
        .await
    }

    async fn results_page(
        &self,
        key: i64,
        from: i64,
        before: i64,
        limit: u32,
    ) -> Result<Vec<StoredResult>, sqlx::Error> {
        sqlx::query_as(
            "SELECT monitor, started_at, lag_ms, latency_us, health, reason, \
             fallback_health, fallback_latency_us, fallback_reason \
             FROM results WHERE started_at >= ?2 AND started_at < ?3 AND monitor = ?1 \
             ORDER BY started_at DESC LIMIT ?4",
        )
        .bind(key)
        .bind(from)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
    }

    async fn prune_results(&self, before: i64) -> Result<u64, sqlx::Error> {
        self.delete_in_chunks(
            "DELETE FROM results WHERE (started_at, monitor) IN \
             (SELECT started_at, monitor FROM results WHERE started_at < ?1 LIMIT ?2)",
            before,
        )
        .await
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|error| error.is_unique_violation())
}

/// Inserts one result at its millisecond or, if another result of the same
/// monitor holds it, up to [`MAX_NUDGE_MS`] later (its `due_at` unchanged:
/// the lag absorbs the shift). `false` when every millisecond was taken.
async fn insert_nudged(
    tx: &mut SqliteConnection,
    row: &ResultRow<'_>,
) -> Result<bool, sqlx::Error> {
    let &(
        key,
        first_free,
        lag,
        latency,
        health,
        reason,
        fallback_health,
        fallback_latency,
        fallback_reason,
    ) = row;
    let due_at = first_free - lag;
    for started_at in first_free..=first_free + MAX_NUDGE_MS {
        // The same statement text each time: sqlx prepares it once per
        // connection and reuses it.
        let inserted = sqlx::query(INSERT_RESULT)
            .bind(key)
            .bind(started_at)
            .bind(started_at - due_at)
            .bind(latency)
            .bind(health)
            .bind(reason)
            .bind(fallback_health)
            .bind(fallback_latency)
            .bind(fallback_reason)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 1 {
            return Ok(true);
        }
    }
    Ok(false)
}
