//! `results` on PostgreSQL: a batch in one `UNNEST` statement (falling back
//! to row by row, in a fresh transaction, when a millisecond is taken),
//! reads by time, pruning from the front.

use sqlx::PgConnection;

use super::{PostgresStore, alerts, state_changes};
use crate::alerts::AlertRow;
use crate::results::{MAX_NUDGE_MS, ResultRow, ResultRows, StoredResult, WriteFailure, Written};
use crate::state_changes::StateChangeRow;

/// A batch of results, one array per column. `ON CONFLICT DO NOTHING`
/// skips a row whose millisecond is taken (by a stored result or one
/// earlier in the batch) without aborting the transaction; fewer rows
/// written than given sends the batch down the row-by-row path.
const INSERT_RESULTS: &str = "INSERT INTO results (monitor, started_at, lag_ms, latency_us, health, reason, \
     fallback_health, fallback_latency_us, fallback_reason) \
     SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::text[], \
     $7::int8[], $8::int8[], $9::text[]) \
     ON CONFLICT (started_at, monitor) DO NOTHING";

/// One result, as the row-by-row path writes it.
const INSERT_RESULT: &str = "INSERT INTO results (monitor, started_at, lag_ms, latency_us, health, reason, \
     fallback_health, fallback_latency_us, fallback_reason) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (started_at, monitor) DO NOTHING";

/// The columns of a result as [`StoredResult`] reads them back, from
/// `results` or `recent_results`.
macro_rules! result_columns {
    () => {
        "monitor::int8 AS monitor, started_at, lag_ms, latency_us, health::int8 AS health, \
         reason, fallback_health::int8 AS fallback_health, fallback_latency_us, fallback_reason"
    };
}
pub(super) use result_columns;

/// Stored rows (read from another database) as rows to write.
pub(super) fn result_columns_of(rows: &[StoredResult]) -> Vec<ResultRow<'_>> {
    rows.iter()
        .map(|row| {
            (
                row.monitor,
                row.started_at,
                row.lag_ms,
                row.latency_us,
                row.health,
                row.reason.as_deref(),
                row.fallback_health,
                row.fallback_latency_us,
                row.fallback_reason.as_deref(),
            )
        })
        .collect()
}

/// Rows as one array per column, in the order of [`ResultRow`].
pub(super) struct ResultColumns<'a> {
    monitor: Vec<i64>,
    started_at: Vec<i64>,
    lag_ms: Vec<i64>,
    latency_us: Vec<i64>,
    health: Vec<i64>,
    reason: Vec<Option<&'a str>>,
    fallback_health: Vec<Option<i64>>,
    fallback_latency_us: Vec<Option<i64>>,
    fallback_reason: Vec<Option<&'a str>>,
}

impl<'a> ResultColumns<'a> {
    pub(super) fn new(rows: &[ResultRow<'a>]) -> Self {
        let mut columns = ResultColumns {
            monitor: Vec::with_capacity(rows.len()),
            started_at: Vec::with_capacity(rows.len()),
            lag_ms: Vec::with_capacity(rows.len()),
            latency_us: Vec::with_capacity(rows.len()),
            health: Vec::with_capacity(rows.len()),
            reason: Vec::with_capacity(rows.len()),
            fallback_health: Vec::with_capacity(rows.len()),
            fallback_latency_us: Vec::with_capacity(rows.len()),
            fallback_reason: Vec::with_capacity(rows.len()),
        };
        for &(monitor, started_at, lag, latency, health, reason, f_health, f_latency, f_reason) in
            rows
        {
            columns.monitor.push(monitor);
            columns.started_at.push(started_at);
            columns.lag_ms.push(lag);
            columns.latency_us.push(latency);
            columns.health.push(health);
            columns.reason.push(reason);
            columns.fallback_health.push(f_health);
            columns.fallback_latency_us.push(f_latency);
            columns.fallback_reason.push(f_reason);
        }
        columns
    }

    /// Binds the columns, in order, to a statement whose `$1`…`$9` are
    /// arrays of them.
    pub(super) fn bind<'q>(
        &'q self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(&self.monitor)
            .bind(&self.started_at)
            .bind(&self.lag_ms)
            .bind(&self.latency_us)
            .bind(&self.health)
            .bind(&self.reason)
            .bind(&self.fallback_health)
            .bind(&self.fallback_latency_us)
            .bind(&self.fallback_reason)
    }
}

impl ResultRows for PostgresStore {
    async fn write_batch(
        &self,
        results: &[ResultRow<'_>],
        changes: &[StateChangeRow<'_>],
        alert_rows: &[AlertRow<'_>],
    ) -> Result<Written, WriteFailure> {
        let mut tx = self.pool.begin().await?;
        if !results.is_empty() {
            let columns = ResultColumns::new(results);
            let written = columns
                .bind(sqlx::query(INSERT_RESULTS))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if written != results.len() as u64 {
                // Some result's millisecond is taken. Start again and write
                // the batch row by row, moving those results forward.
                tx.rollback().await?;
                tx = self.pool.begin().await?;
                for (index, row) in results.iter().enumerate() {
                    if !insert_nudged(&mut tx, row).await? {
                        return Err(WriteFailure::NoFreeMillisecond { row: index });
                    }
                }
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
        sqlx::query_as(concat!(
            "SELECT ",
            result_columns!(),
            " FROM results WHERE started_at >= $2 AND started_at < $3 AND monitor = $1 \
             ORDER BY started_at"
        ))
        .bind(key)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
    }

    async fn results_page(
        &self,
        key: i64,
        from: i64,
        before: i64,
        limit: u32,
    ) -> Result<Vec<StoredResult>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            result_columns!(),
            " FROM results WHERE started_at >= $2 AND started_at < $3 AND monitor = $1 \
             ORDER BY started_at DESC LIMIT $4"
        ))
        .bind(key)
        .bind(from)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
    }

    async fn prune_results(&self, before: i64) -> Result<u64, sqlx::Error> {
        self.delete_in_chunks(
            "DELETE FROM results WHERE (started_at, monitor) IN \
             (SELECT started_at, monitor FROM results WHERE started_at < $1 \
             ORDER BY started_at LIMIT $2)",
            before,
        )
        .await
    }
}

/// Inserts one result at its millisecond or, if another result of the same
/// monitor holds it, up to [`MAX_NUDGE_MS`] later (its `due_at` unchanged:
/// the lag absorbs the shift). `false` when every millisecond was taken.
async fn insert_nudged(tx: &mut PgConnection, row: &ResultRow<'_>) -> Result<bool, sqlx::Error> {
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
