//! [`MonitorKeys`]: the in-memory copy of the monitors table, mapping text ids
//! to the small integer keys the result tables store, and back.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use watchkeeper_domain::MonitorId;

/// Shared by every clone of a store; never held across an `.await`.
#[derive(Debug, Clone, Default)]
pub(crate) struct MonitorKeys {
    inner: Arc<RwLock<KeyMaps>>,
}

#[derive(Debug, Default)]
struct KeyMaps {
    by_id: HashMap<MonitorId, i64>,
    by_key: HashMap<i64, MonitorId>,
}

impl MonitorKeys {
    pub(crate) fn key(&self, id: &MonitorId) -> Option<i64> {
        let maps = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        maps.by_id.get(id).copied()
    }

    pub(crate) fn id(&self, key: i64) -> Option<MonitorId> {
        let maps = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        maps.by_key.get(&key).cloned()
    }

    /// Keys for many ids under one lock; the first unknown id is the error.
    pub(crate) fn keys<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a MonitorId>,
    ) -> Result<Vec<i64>, MonitorId> {
        let maps = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        ids.into_iter()
            .map(|id| maps.by_id.get(id).copied().ok_or_else(|| id.clone()))
            .collect()
    }

    /// The first of `keys` that has no id here, if any, under one lock.
    pub(crate) fn first_unknown(&self, keys: impl IntoIterator<Item = i64>) -> Option<i64> {
        let maps = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        keys.into_iter().find(|key| !maps.by_key.contains_key(key))
    }

    pub(crate) fn insert(&self, entries: impl IntoIterator<Item = (MonitorId, i64)>) {
        let mut maps = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        for (id, key) in entries {
            maps.by_key.insert(key, id.clone());
            maps.by_id.insert(id, key);
        }
    }
}
