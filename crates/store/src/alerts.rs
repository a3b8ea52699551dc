//! The alerts aggregate: each alert's state now (`alerts`, by fingerprint)
//! and its changes of phase in order (`alert_events`), written in the same
//! transaction as the results that caused them (`results`), so a restart
//! finds every alert as the last committed result left it. Here: the row
//! encoding and decoding, and the facade's reads.

use watchkeeper_domain::MonitorId;
use watchkeeper_domain::alert::matcher::Labels;
use watchkeeper_domain::alert::{AlertChange, AlertPhase, AlertState, StoredAlert, Transition};

use crate::Store;
use crate::column::{millis, timestamp_from_millis};
use crate::error::StoreError;

/// One alert change as it is written: the `alerts` row after it and the
/// `alert_events` row of it.
#[derive(Debug)]
pub(crate) struct AlertRow<'a> {
    pub fingerprint: &'a str,
    pub rule: &'a str,
    pub monitor: &'a str,
    pub labels: String,
    pub phase: i64,
    pub active_since: Option<i64>,
    pub fired_at: Option<i64>,
    pub last_held: Option<i64>,
    pub resolved_at: Option<i64>,
    pub at: i64,
    pub transition: i64,
    pub reason: Option<&'a str>,
}

pub(crate) fn alert_rows(changes: &[AlertChange]) -> Result<Vec<AlertRow<'_>>, StoreError> {
    changes
        .iter()
        .map(|change| {
            let labels =
                serde_json::to_string(&change.labels).map_err(|error| StoreError::InvalidRow {
                    what: "alerts to write",
                    detail: format!("labels of alert {}: {error}", change.fingerprint),
                })?;
            Ok(AlertRow {
                fingerprint: &change.fingerprint,
                rule: &change.rule,
                monitor: change.monitor.as_str(),
                labels,
                phase: phase_code(change.state.phase),
                active_since: change.state.active_since.map(millis),
                fired_at: change.state.fired_at.map(millis),
                last_held: change.state.last_held.map(millis),
                resolved_at: change.state.resolved_at.map(millis),
                at: millis(change.at),
                transition: transition_code(change.transition),
                reason: change.reason.as_deref(),
            })
        })
        .collect()
}

fn phase_code(phase: AlertPhase) -> i64 {
    match phase {
        AlertPhase::Inactive => 0,
        AlertPhase::Pending => 1,
        AlertPhase::Firing => 2,
        AlertPhase::Resolved => 3,
    }
}

fn phase_from_code(what: &'static str, code: i64) -> Result<AlertPhase, StoreError> {
    Ok(match code {
        0 => AlertPhase::Inactive,
        1 => AlertPhase::Pending,
        2 => AlertPhase::Firing,
        3 => AlertPhase::Resolved,
        _ => {
            return Err(StoreError::InvalidRow {
                what,
                detail: format!("unknown alert phase {code}"),
            });
        }
    })
}

fn transition_code(transition: Transition) -> i64 {
    match transition {
        Transition::Pending => 0,
        Transition::PendingCleared => 1,
        Transition::Fired => 2,
        Transition::Resolved => 3,
    }
}

fn transition_from_code(what: &'static str, code: i64) -> Result<Transition, StoreError> {
    Ok(match code {
        0 => Transition::Pending,
        1 => Transition::PendingCleared,
        2 => Transition::Fired,
        3 => Transition::Resolved,
        _ => {
            return Err(StoreError::InvalidRow {
                what,
                detail: format!("unknown alert transition {code}"),
            });
        }
    })
}

/// One row of `alerts`, as read back.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StoredAlertRow {
    pub fingerprint: String,
    pub rule: String,
    pub monitor: String,
    pub labels: String,
    pub phase: i64,
    pub active_since: Option<i64>,
    pub fired_at: Option<i64>,
    pub last_held: Option<i64>,
    pub resolved_at: Option<i64>,
    pub updated_at: i64,
}

impl StoredAlertRow {
    fn decode(self, what: &'static str) -> Result<StoredAlert, StoreError> {
        let invalid = |detail: String| StoreError::InvalidRow { what, detail };
        let labels: Labels = serde_json::from_str(&self.labels)
            .map_err(|error| invalid(format!("labels of alert {}: {error}", self.fingerprint)))?;
        let monitor = MonitorId::parse(&self.monitor)
            .map_err(|error| invalid(format!("monitor of alert {}: {error}", self.fingerprint)))?;
        let at = |ms: Option<i64>| ms.map(|ms| timestamp_from_millis(what, ms)).transpose();
        Ok(StoredAlert {
            state: AlertState {
                phase: phase_from_code(what, self.phase)?,
                active_since: at(self.active_since)?,
                fired_at: at(self.fired_at)?,
                last_held: at(self.last_held)?,
                resolved_at: at(self.resolved_at)?,
            },
            updated_at: timestamp_from_millis(what, self.updated_at)?,
            fingerprint: self.fingerprint,
            rule: self.rule,
            monitor,
            labels,
        })
    }
}

/// One change of an alert, as its timeline shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    /// Grows in commit order: a reader that remembers the last id it saw
    /// reads every later event once.
    pub id: i64,
    pub fingerprint: String,
    pub at: jiff::Timestamp,
    pub transition: Transition,
    pub reason: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StoredEventRow {
    pub id: i64,
    pub fingerprint: String,
    pub at: i64,
    pub transition: i64,
    pub reason: Option<String>,
}

impl StoredEventRow {
    fn decode(self, what: &'static str) -> Result<AlertEvent, StoreError> {
        Ok(AlertEvent {
            id: self.id,
            at: timestamp_from_millis(what, self.at)?,
            transition: transition_from_code(what, self.transition)?,
            fingerprint: self.fingerprint,
            reason: self.reason,
        })
    }
}

/// What every backend reads of alerts (the writes are part of
/// [`crate::results::ResultRows::write_batch`]).
pub(crate) trait AlertRows {
    async fn alerts(&self) -> Result<Vec<StoredAlertRow>, sqlx::Error>;

    async fn alert(&self, fingerprint: &str) -> Result<Option<StoredAlertRow>, sqlx::Error>;

    /// Up to `limit` events of one alert, newest first.
    async fn alert_events(
        &self,
        fingerprint: &str,
        limit: u32,
    ) -> Result<Vec<StoredEventRow>, sqlx::Error>;

    /// Up to `limit` events of every alert with an id above `after`, oldest
    /// first.
    async fn alert_events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEventRow>, sqlx::Error>;
}

impl Store {
    /// Every stored alert with its state now, by fingerprint order.
    pub async fn alerts(&self) -> Result<Vec<StoredAlert>, StoreError> {
        const WHAT: &str = "alerts";
        let rows = backend!(self, engine => engine.alerts().await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// One stored alert, by fingerprint.
    pub async fn alert(&self, fingerprint: &str) -> Result<Option<StoredAlert>, StoreError> {
        const WHAT: &str = "an alert";
        let row = backend!(self, engine => engine.alert(fingerprint).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        row.map(|row| row.decode(WHAT)).transpose()
    }

    /// Up to `limit` changes of one alert, newest first.
    pub async fn alert_events(
        &self,
        fingerprint: &str,
        limit: u32,
    ) -> Result<Vec<AlertEvent>, StoreError> {
        const WHAT: &str = "alert events";
        let rows = backend!(self, engine => engine.alert_events(fingerprint, limit).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// Up to `limit` changes of any alert committed after the one with id
    /// `after` (0: from the first), oldest first: what a consumer of alert
    /// changes reads on each wake-up.
    pub async fn alert_events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AlertEvent>, StoreError> {
        const WHAT: &str = "alert events after an id";
        let rows = backend!(self, engine => engine.alert_events_after(after, limit).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }
}
