//! `meta` on PostgreSQL: one integer per key, read and upserted on whatever
//! connection (or transaction) the caller holds.

use sqlx::PgConnection;

use super::PostgresStore;
use crate::meta::{MetaKey, MetaRows};

pub(super) async fn select(
    connection: &mut PgConnection,
    key: MetaKey,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
        .bind(key.as_str())
        .fetch_optional(connection)
        .await
}

pub(super) async fn upsert(
    connection: &mut PgConnection,
    key: MetaKey,
    value: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key.as_str())
    .bind(value)
    .execute(connection)
    .await?;
    Ok(())
}

impl MetaRows for PostgresStore {
    async fn meta_value(&self, key: MetaKey) -> Result<Option<i64>, sqlx::Error> {
        let mut connection = self.pool.acquire().await?;
        select(&mut connection, key).await
    }
}
