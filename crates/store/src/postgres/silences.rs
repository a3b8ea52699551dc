//! `silences` on PostgreSQL.

use super::PostgresStore;
use crate::silences::{SilenceRow, SilenceRows};

macro_rules! columns {
    () => {
        "id, matchers, starts_at, ends_at, created_by, comment, created_at"
    };
}

impl SilenceRows for PostgresStore {
    async fn insert_silence(&self, row: &SilenceRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&row.id)
        .bind(&row.matchers)
        .bind(row.starts_at)
        .bind(row.ends_at)
        .bind(&row.created_by)
        .bind(&row.comment)
        .bind(row.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn silences_ending_after(&self, after: i64) -> Result<Vec<SilenceRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM silences WHERE ends_at > $1 ORDER BY starts_at, id"
        ))
        .bind(after)
        .fetch_all(&self.pool)
        .await
    }

    async fn silence(&self, id: &str) -> Result<Option<SilenceRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM silences WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    async fn expire_silence(&self, id: &str, at: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE silences SET ends_at = $2 WHERE id = $1 AND ends_at > $2")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
