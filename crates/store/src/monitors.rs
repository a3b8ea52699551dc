//! The monitors aggregate: each monitor id gets a small integer key, which
//! is what every other table stores. The facade keeps the table in memory
//! ([`MonitorKeys`]) and reads it again when it meets a key or an id it does
//! not know: several instances share one database (PostgreSQL), so another
//! process may have registered a monitor since this one last looked.

use watchkeeper_domain::MonitorId;

use crate::Store;
use crate::error::StoreError;

/// What every backend does with the monitors table.
pub(crate) trait MonitorRows {
    /// Every `(key, id)` stored.
    async fn monitor_rows(&self) -> Result<Vec<(i64, String)>, StoreError>;

    /// Inserts the ids not stored yet and returns the key of each id given,
    /// in one transaction.
    async fn register(&self, ids: &[&MonitorId]) -> Result<Vec<(MonitorId, i64)>, StoreError>;
}

impl Store {
    /// Gives each monitor id a small integer key (idempotent: a known id
    /// keeps its key, across restarts too). Results can only be written for
    /// monitors registered through this store (or known when it opened).
    pub async fn register_monitors(&self, ids: &[MonitorId]) -> Result<(), StoreError> {
        let unknown: Vec<&MonitorId> = ids
            .iter()
            .filter(|id| self.keys.key(id).is_none())
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let registered = backend!(self, engine => engine.register(&unknown).await)?;
        // Only after the commit: a key in memory always exists on disk.
        self.keys.insert(registered);
        Ok(())
    }

    /// Reads the whole monitors table into memory.
    pub(crate) async fn reload_monitor_keys(&self) -> Result<(), StoreError> {
        let rows = backend!(self, engine => engine.monitor_rows().await)?;
        let entries = rows
            .into_iter()
            .map(|(key, id)| {
                MonitorId::parse(&id)
                    .map(|id| (id, key))
                    .map_err(|error| StoreError::InvalidRow {
                        what: "monitors",
                        detail: error.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.keys.insert(entries);
        Ok(())
    }

    /// The key of `id`, reading the monitors table again if it is not known
    /// here; `None` when no process has registered it.
    pub(crate) async fn key_of(&self, id: &MonitorId) -> Result<Option<i64>, StoreError> {
        if let Some(key) = self.keys.key(id) {
            return Ok(Some(key));
        }
        self.reload_monitor_keys().await?;
        Ok(self.keys.key(id))
    }

    /// Makes sure every key in `keys` (read from a table that references
    /// `monitors`) is known here, reading the monitors table again once if
    /// one is not; a key still unknown then is an invalid row.
    pub(crate) async fn know_keys(
        &self,
        what: &'static str,
        keys: impl IntoIterator<Item = i64> + Clone,
    ) -> Result<(), StoreError> {
        if self.keys.first_unknown(keys.clone()).is_none() {
            return Ok(());
        }
        self.reload_monitor_keys().await?;
        match self.keys.first_unknown(keys) {
            None => Ok(()),
            Some(key) => Err(StoreError::InvalidRow {
                what,
                detail: format!("monitor key {key} is not in the monitors table"),
            }),
        }
    }

    /// The id of a key that [`Store::know_keys`] has made sure of.
    pub(crate) fn known_id(&self, what: &'static str, key: i64) -> Result<MonitorId, StoreError> {
        self.keys.id(key).ok_or_else(|| StoreError::InvalidRow {
            what,
            detail: format!("monitor key {key} is not in the monitors table"),
        })
    }
}
