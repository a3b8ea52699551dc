//! `state_changes` on PostgreSQL: the batch insert (part of a results
//! batch's transaction) and the reads.

use sqlx::PgConnection;

use super::PostgresStore;
use crate::state_changes::{StateChangeRow, StateChangeRows, StoredStateChange};

/// A batch of state changes, one array per column; inserted in array order
/// (`WITH ORDINALITY`), so ids follow the order of the changes.
/// Answers the highest id inserted.
const INSERT_STATE_CHANGES: &str = "WITH inserted AS (\
     INSERT INTO state_changes (monitor, at, from_health, to_health, reason) \
     SELECT monitor, at, from_health, to_health, reason \
     FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::text[]) WITH ORDINALITY \
     AS change (monitor, at, from_health, to_health, reason, position) ORDER BY position \
     RETURNING id) SELECT max(id)::int8 FROM inserted";

/// The columns of a state change as [`StoredStateChange`] reads them back.
macro_rules! state_change_columns {
    () => {
        "monitor::int8 AS monitor, at, from_health::int8 AS from_health, \
         to_health::int8 AS to_health, reason"
    };
}

/// Returns the id of the last row inserted (the highest of the batch),
/// `None` for no rows.
pub(super) async fn insert(
    connection: &mut PgConnection,
    rows: &[StateChangeRow<'_>],
) -> Result<Option<i64>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(None);
    }
    let monitor: Vec<i64> = rows.iter().map(|row| row.0).collect();
    let at: Vec<i64> = rows.iter().map(|row| row.1).collect();
    let from: Vec<Option<i64>> = rows.iter().map(|row| row.2).collect();
    let to: Vec<i64> = rows.iter().map(|row| row.3).collect();
    let reason: Vec<Option<&str>> = rows.iter().map(|row| row.4).collect();
    let (last,): (Option<i64>,) = sqlx::query_as(INSERT_STATE_CHANGES)
        .bind(&monitor)
        .bind(&at)
        .bind(&from)
        .bind(&to)
        .bind(&reason)
        .fetch_one(connection)
        .await?;
    Ok(last)
}

impl StateChangeRows for PostgresStore {
    async fn latest_state_changes(&self) -> Result<Vec<StoredStateChange>, sqlx::Error> {
        // One index search per monitor, however many changes are stored.
        sqlx::query_as(concat!(
            "SELECT ",
            state_change_columns!(),
            " FROM monitors m CROSS JOIN LATERAL (SELECT * FROM state_changes \
             WHERE monitor = m.key ORDER BY at DESC, id DESC LIMIT 1) s"
        ))
        .fetch_all(&self.pool)
        .await
    }

    async fn state_changes(
        &self,
        key: i64,
        from: i64,
        before: i64,
        limit: u32,
    ) -> Result<Vec<StoredStateChange>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            state_change_columns!(),
            " FROM state_changes WHERE monitor = $1 AND at >= $2 AND at < $3 \
             ORDER BY at DESC, id DESC LIMIT $4"
        ))
        .bind(key)
        .bind(from)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
    }
}
