//! The state changes aggregate: one row per change of a monitor's health,
//! kept for ever, written in the same transaction as the results that
//! caused them (`results`). Here: the row encoding and decoding, and the
//! facade's `current_states` and `state_changes`.

use std::collections::HashMap;

use jiff::Timestamp;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::check::{MonitorStatus, StateChange};

use crate::Store;
use crate::column::{health_code, health_from_code, millis, timestamp_from_millis};
use crate::error::StoreError;

/// One row of `state_changes` as it is written: monitor key, at (ms), from,
/// to, reason.
pub(crate) type StateChangeRow<'a> = (i64, i64, Option<i64>, i64, Option<&'a str>);

pub(crate) fn state_change_row(key: i64, change: &StateChange) -> StateChangeRow<'_> {
    (
        key,
        millis(change.at),
        change.from.map(health_code),
        health_code(change.to),
        change.reason.as_deref(),
    )
}

/// One row of `state_changes`, as read back.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StoredStateChange {
    pub monitor: i64,
    pub at: i64,
    pub from_health: Option<i64>,
    pub to_health: i64,
    pub reason: Option<String>,
}

impl StoredStateChange {
    fn decode(self, what: &'static str, monitor: MonitorId) -> Result<StateChange, StoreError> {
        Ok(StateChange {
            monitor,
            from: self
                .from_health
                .map(|code| health_from_code(what, code))
                .transpose()?,
            to: health_from_code(what, self.to_health)?,
            at: timestamp_from_millis(what, self.at)?,
            reason: self.reason,
        })
    }
}

/// What every backend reads from `state_changes` (the insert is part of
/// [`crate::results::ResultRows::write_batch`]).
pub(crate) trait StateChangeRows {
    /// The latest change of every monitor that has one (latest by `at`,
    /// then by insertion order).
    async fn latest_state_changes(&self) -> Result<Vec<StoredStateChange>, sqlx::Error>;

    /// Up to `limit` changes of the monitor with `key` at `[from, before)`
    /// (ms), newest first.
    async fn state_changes(
        &self,
        key: i64,
        from: i64,
        before: i64,
        limit: u32,
    ) -> Result<Vec<StoredStateChange>, sqlx::Error>;
}

impl Store {
    /// The status left by each monitor's latest state change, so a restart
    /// neither repeats nor loses a change.
    pub async fn current_states(&self) -> Result<HashMap<MonitorId, MonitorStatus>, StoreError> {
        const WHAT: &str = "current states";
        let rows = backend!(self, engine => engine.latest_state_changes().await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        self.know_keys(WHAT, rows.iter().map(|row| row.monitor))
            .await?;
        let mut states = HashMap::with_capacity(rows.len());
        for row in rows {
            let id = self.known_id(WHAT, row.monitor)?;
            let change = row.decode(WHAT, id)?;
            states.insert(change.monitor.clone(), change.status_after());
        }
        Ok(states)
    }

    /// Up to `limit` state changes of one monitor, newest first.
    pub async fn state_changes(
        &self,
        id: &MonitorId,
        limit: u32,
    ) -> Result<Vec<StateChange>, StoreError> {
        self.state_changes_in(id, Timestamp::MIN, Timestamp::MAX, limit)
            .await
    }

    /// Up to `limit` state changes of one monitor at `[from, before)`,
    /// newest first: a page of them, the next one before the last's `at`
    /// (a monitor's changes come from its results, at most one a
    /// millisecond, so no two share an instant).
    pub async fn state_changes_in(
        &self,
        id: &MonitorId,
        from: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<StateChange>, StoreError> {
        const WHAT: &str = "state changes";
        let Some(key) = self.key_of(id).await? else {
            return Ok(Vec::new());
        };
        let (from, before) = (millis(from), millis(before));
        let rows = backend!(self, engine => engine.state_changes(key, from, before, limit).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter()
            .map(|row| row.decode(WHAT, id.clone()))
            .collect()
    }
}
