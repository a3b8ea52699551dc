//! The read-only view of the store that handlers get. `AppState` holds a
//! [`Queries`], never the [`Store`] itself, so no handler can write, roll
//! up or prune: writing is the engine's recorder's alone, and an HTTP
//! request (which anyone reaching the port can make) cannot start it.
//! A route that needs another read adds one method here.

use std::collections::HashMap;

use jiff::Timestamp;
use watchkeeper_domain::check::{CheckResult, StateChange};
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::rollup::Rollup;
use watchkeeper_store::{Store, StoreError};

#[derive(Clone)]
pub struct Queries {
    store: Store,
}

impl Queries {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Up to `limit` state changes of one monitor, newest first.
    pub async fn state_changes(
        &self,
        id: &MonitorId,
        limit: u32,
    ) -> Result<Vec<StateChange>, StoreError> {
        self.store.state_changes(id, limit).await
    }

    /// Fraction of checks since `since` that were not down.
    pub async fn availability(
        &self,
        id: &MonitorId,
        since: Timestamp,
    ) -> Result<Option<f64>, StoreError> {
        self.store.availability(id, since).await
    }

    /// [`Queries::availability`] of every monitor with data since `since`.
    pub async fn availability_all(
        &self,
        since: Timestamp,
    ) -> Result<HashMap<MonitorId, f64>, StoreError> {
        self.store.availability_all(since).await
    }

    /// Per-minute rollups of one monitor in `[from, to)`, oldest first.
    pub async fn rollups(
        &self,
        id: &MonitorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Rollup>, StoreError> {
        self.store.rollups(id, from, to).await
    }

    /// Raw results of one monitor in `[from, to)`, oldest first.
    pub async fn results_between(
        &self,
        id: &MonitorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<CheckResult>, StoreError> {
        self.store.results_between(id, from, to).await
    }
}
