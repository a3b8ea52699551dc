//! `meta` on SQLite: one integer per key, read and upserted on whatever
//! connection (or transaction) the caller holds.

use sqlx::SqliteConnection;

use super::SqliteStore;
use crate::meta::{MetaKey, MetaRows};

pub(super) async fn select(
    connection: &mut SqliteConnection,
    key: MetaKey,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM meta WHERE key = ?1")
        .bind(key.as_str())
        .fetch_optional(connection)
        .await
}

pub(super) async fn upsert(
    connection: &mut SqliteConnection,
    key: MetaKey,
    value: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key.as_str())
    .bind(value)
    .execute(connection)
    .await?;
    Ok(())
}

impl MetaRows for SqliteStore {
    async fn meta_value(&self, key: MetaKey) -> Result<Option<i64>, sqlx::Error> {
        let mut connection = self.reader.acquire().await?;
        select(&mut connection, key).await
    }
}
