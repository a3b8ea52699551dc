//! `monitors` on PostgreSQL: every unknown id inserted in one statement,
//! every key read back in another, in one transaction; concurrent
//! registrations of one id by two instances agree on its key.

use std::collections::HashMap;

use watchkeeper_domain::MonitorId;

use super::PostgresStore;
use crate::error::StoreError;
use crate::monitors::MonitorRows;

impl MonitorRows for PostgresStore {
    async fn monitor_rows(&self) -> Result<Vec<(i64, String)>, StoreError> {
        sqlx::query_as("SELECT key::int8, id FROM monitors")
            .fetch_all(&self.pool)
            .await
            .map_err(|source| StoreError::Read {
                what: "monitors",
                source,
            })
    }

    async fn register(&self, ids: &[&MonitorId]) -> Result<Vec<(MonitorId, i64)>, StoreError> {
        let register_error = |source| StoreError::Register { source };
        let texts: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
        let mut tx = self.pool.begin().await.map_err(register_error)?;
        sqlx::query(
            "INSERT INTO monitors (id) SELECT id FROM UNNEST($1::text[]) AS id \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&texts)
        .execute(&mut *tx)
        .await
        .map_err(register_error)?;
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT key::int8, id FROM monitors WHERE id = ANY($1)")
                .bind(&texts)
                .fetch_all(&mut *tx)
                .await
                .map_err(register_error)?;
        tx.commit().await.map_err(register_error)?;
        let keys: HashMap<String, i64> = rows.into_iter().map(|(key, id)| (id, key)).collect();
        let mut registered = Vec::with_capacity(ids.len());
        for &id in ids {
            match keys.get(id.as_str()) {
                Some(&key) => registered.push((id.clone(), key)),
                None => {
                    return Err(StoreError::InvalidRow {
                        what: "monitors",
                        detail: format!("monitor {id} was registered but is not stored"),
                    });
                }
            }
        }
        Ok(registered)
    }
}
