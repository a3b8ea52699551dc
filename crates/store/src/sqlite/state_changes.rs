//! `state_changes` on SQLite: the batch insert (part of a results batch's
//! transaction) and the reads.

use sqlx::SqliteConnection;

use super::{SqliteStore, json_rows};
use crate::state_changes::{StateChangeRow, StateChangeRows, StoredStateChange};

/// A batch of state changes in one statement, like the results; rows are
/// inserted in array order, so ids follow the order of the changes.
const INSERT_STATE_CHANGES: &str = "INSERT INTO state_changes (monitor, at, from_health, to_health, reason) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 \
     FROM json_each(?1) ORDER BY key";

/// Returns the id of the last row inserted (the highest: rows go in in
/// array order under one statement), `None` for no rows.
pub(super) async fn insert(
    connection: &mut SqliteConnection,
    rows: &[StateChangeRow<'_>],
) -> Result<Option<i64>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(None);
    }
    let inserted = sqlx::query(INSERT_STATE_CHANGES)
        .bind(json_rows(rows)?)
        .execute(connection)
        .await?;
    Ok(Some(inserted.last_insert_rowid()))
}

impl StateChangeRows for SqliteStore {
    async fn latest_state_changes(&self) -> Result<Vec<StoredStateChange>, sqlx::Error> {
        sqlx::query_as(
            "SELECT s.monitor, s.at, s.from_health, s.to_health, s.reason \
             FROM monitors m CROSS JOIN state_changes s ON s.id = \
             (SELECT id FROM state_changes WHERE monitor = m.key ORDER BY at DESC, id DESC LIMIT 1)",
        )
        .fetch_all(&self.reader)
        .await
    }

    async fn state_changes(
        &self,
        key: i64,
        from: i64,
        before: i64,
        limit: u32,
    ) -> Result<Vec<StoredStateChange>, sqlx::Error> {
        sqlx::query_as(
            "SELECT monitor, at, from_health, to_health, reason FROM state_changes \
             WHERE monitor = ?1 AND at >= ?2 AND at < ?3 ORDER BY at DESC, id DESC LIMIT ?4",
        )
        .bind(key)
        .bind(from)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
    }
}
