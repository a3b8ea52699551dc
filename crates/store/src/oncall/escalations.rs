//! Escalation ladders, one per alert, and the steps they took: the records
//! the dispatcher commits with its deliveries, as the engines write and read
//! them.

use jiff::Timestamp;

use super::optional_time;
use crate::column::{millis, timestamp_from_millis};
use crate::error::StoreError;

/// Where one alert is on its escalation policy's ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationRecord {
    pub fingerprint: String,
    pub policy: String,
    /// The episode the ladder belongs to.
    pub firing_since: Timestamp,
    /// The level paged last, from 0, and in which round, from 0.
    pub level: u32,
    pub round: u32,
    pub next_due: Option<Timestamp>,
    /// Acknowledged or resolved: nothing more is paged.
    pub stopped: bool,
    pub updated_at: Timestamp,
}

/// One step of an escalation to write: a level paged one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEscalationStep {
    pub fingerprint: String,
    pub firing_since: Timestamp,
    pub policy: String,
    pub level: u32,
    pub round: u32,
    pub at: Timestamp,
    /// As written in config: `schedule:primary`, `person:carol`,
    /// `team-slack`.
    pub target: String,
    /// Whom it paged, when it was a person (a schedule's included).
    pub person: Option<String>,
    pub notifier: Option<String>,
    /// The delivery it made, if any.
    pub delivery_id: Option<String>,
    /// What happened: `nobody is on call on schedule primary`.
    pub note: String,
}

/// A stored step; ids grow in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationStep {
    pub id: i64,
    pub fingerprint: String,
    pub firing_since: Timestamp,
    pub policy: String,
    pub level: u32,
    pub round: u32,
    pub at: Timestamp,
    pub target: String,
    pub person: Option<String>,
    pub notifier: Option<String>,
    pub delivery_id: Option<String>,
    pub note: String,
}

/// The columns of `escalations` as [`EscalationRow`] reads them.
macro_rules! escalation_columns {
    () => {
        "fingerprint, policy, firing_since, level, round, next_due, stopped, updated_at"
    };
}
pub(crate) use escalation_columns;

/// The columns of `escalation_steps` as [`StepRow`] reads them.
macro_rules! step_columns {
    () => {
        "id, fingerprint, firing_since, policy, level, round, at, target, person, notifier, \
         delivery_id, note"
    };
}
pub(crate) use step_columns;

/// One row of `escalations`, written and read alike.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EscalationRow {
    pub fingerprint: String,
    pub policy: String,
    pub firing_since: i64,
    pub level: i64,
    pub round: i64,
    pub next_due: Option<i64>,
    pub stopped: bool,
    pub updated_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StepRow {
    pub id: i64,
    pub fingerprint: String,
    pub firing_since: i64,
    pub policy: String,
    pub level: i64,
    pub round: i64,
    pub at: i64,
    pub target: String,
    pub person: Option<String>,
    pub notifier: Option<String>,
    pub delivery_id: Option<String>,
    pub note: String,
}

fn level_from_column(what: &'static str, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::InvalidRow {
        what,
        detail: format!("escalation level or round {value} out of range"),
    })
}

impl EscalationRecord {
    pub(crate) fn encode(&self) -> EscalationRow {
        EscalationRow {
            fingerprint: self.fingerprint.clone(),
            policy: self.policy.clone(),
            firing_since: millis(self.firing_since),
            level: i64::from(self.level),
            round: i64::from(self.round),
            next_due: self.next_due.map(millis),
            stopped: self.stopped,
            updated_at: millis(self.updated_at),
        }
    }
}

impl EscalationRow {
    pub(crate) fn decode(self, what: &'static str) -> Result<EscalationRecord, StoreError> {
        Ok(EscalationRecord {
            firing_since: timestamp_from_millis(what, self.firing_since)?,
            level: level_from_column(what, self.level)?,
            round: level_from_column(what, self.round)?,
            next_due: optional_time(what, self.next_due)?,
            updated_at: timestamp_from_millis(what, self.updated_at)?,
            stopped: self.stopped,
            fingerprint: self.fingerprint,
            policy: self.policy,
        })
    }
}

impl StepRow {
    pub(super) fn decode(self, what: &'static str) -> Result<EscalationStep, StoreError> {
        Ok(EscalationStep {
            id: self.id,
            firing_since: timestamp_from_millis(what, self.firing_since)?,
            level: level_from_column(what, self.level)?,
            round: level_from_column(what, self.round)?,
            at: timestamp_from_millis(what, self.at)?,
            fingerprint: self.fingerprint,
            policy: self.policy,
            target: self.target,
            person: self.person,
            notifier: self.notifier,
            delivery_id: self.delivery_id,
            note: self.note,
        })
    }
}
