//! `monitors` on SQLite: registration in one immediate transaction.

use watchkeeper_domain::MonitorId;

use super::SqliteStore;
use crate::error::StoreError;
use crate::monitors::MonitorRows;

impl MonitorRows for SqliteStore {
    async fn monitor_rows(&self) -> Result<Vec<(i64, String)>, StoreError> {
        sqlx::query_as("SELECT key, id FROM monitors")
            .fetch_all(&self.reader)
            .await
            .map_err(|source| StoreError::Read {
                what: "monitors",
                source,
            })
    }

    async fn register(&self, ids: &[&MonitorId]) -> Result<Vec<(MonitorId, i64)>, StoreError> {
        let register_error = |source| StoreError::Register { source };
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(register_error)?;
        let mut registered = Vec::with_capacity(ids.len());
        for &id in ids {
            sqlx::query("INSERT INTO monitors (id) VALUES (?1) ON CONFLICT (id) DO NOTHING")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(register_error)?;
            let key: i64 = sqlx::query_scalar("SELECT key FROM monitors WHERE id = ?1")
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(register_error)?;
            registered.push((id.clone(), key));
        }
        tx.commit().await.map_err(register_error)?;
        Ok(registered)
    }
}
