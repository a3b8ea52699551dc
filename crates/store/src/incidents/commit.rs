//! What a commit of the incidents aggregate writes: the opener's cursor,
//! new incidents ([`super::NewIncident`]) and changes to stored ones
//! ([`IncidentChange`]), as callers give them and as the engines bind them.

use std::collections::BTreeMap;

use jiff::Timestamp;
use watchkeeper_domain::incident::{Impact, IncidentStatus};

use super::entries::EntryWrite;
use super::{IncidentAlert, NewEntry, NewIncident};
use crate::column::millis;

/// A change to one incident; `None` and empty fields change nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentChange {
    pub id: i64,
    /// Becomes the incident's `updated_at`.
    pub at: Timestamp,
    pub title: Option<String>,
    pub severity: Option<String>,
    pub status: Option<IncidentStatus>,
    /// `Some(None)` clears the commander.
    pub commander: Option<Option<String>>,
    /// Upserted (the impact set); a component is never removed.
    pub components: BTreeMap<String, Impact>,
    /// Set only while the incident has none: the first ack wins.
    pub acknowledged_at: Option<Timestamp>,
    /// `Some(None)` clears it (a reopen).
    pub resolved_at: Option<Option<Timestamp>>,
    pub next_update_at: Option<Option<Timestamp>>,
    pub last_reminder_at: Option<Timestamp>,
    /// Inserted; an alert the incident holds already gets this one's
    /// `firing` and `monitor` (and keeps its `joined_at`).
    pub join_alerts: Vec<IncidentAlert>,
    /// `firing` of alerts the incident holds, by fingerprint; one it does
    /// not hold is left alone.
    pub alert_firing: Vec<(String, bool)>,
    /// Appended to its timeline.
    pub entries: Vec<NewEntry>,
}

impl IncidentChange {
    /// A change of incident `id` at `at` that changes nothing else.
    pub fn new(id: i64, at: Timestamp) -> IncidentChange {
        IncidentChange {
            id,
            at,
            title: None,
            severity: None,
            status: None,
            commander: None,
            components: BTreeMap::new(),
            acknowledged_at: None,
            resolved_at: None,
            next_update_at: None,
            last_reminder_at: None,
            join_alerts: Vec::new(),
            alert_firing: Vec::new(),
            entries: Vec::new(),
        }
    }
}

/// One transaction's worth: the opener's cursor (unchanged when `None`),
/// the incidents it opens and the changes it makes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentCommit {
    /// The id of the last alert event the opener accounted for.
    pub cursor: Option<i64>,
    pub open: Vec<NewIncident>,
    pub changes: Vec<IncidentChange>,
}

/// An alert of an incident as the engines bind it.
#[derive(Debug)]
pub(crate) struct AlertWrite<'a> {
    pub fingerprint: &'a str,
    pub monitor: &'a str,
    pub joined_at: i64,
    pub firing: bool,
}

/// A new incident as the engines bind it.
#[derive(Debug)]
pub(crate) struct IncidentWrite<'a> {
    pub title: &'a str,
    pub severity: &'a str,
    pub status: &'static str,
    pub commander: Option<&'a str>,
    pub opened_by_alert: bool,
    pub started_at: i64,
    pub created_at: i64,
    pub next_update_at: Option<i64>,
    /// Component and impact.
    pub components: Vec<(&'a str, &'static str)>,
    pub alerts: Vec<AlertWrite<'a>>,
    pub entries: Vec<EntryWrite<'a>>,
}

/// A change as the engines bind it: `Some` (and, for the double options,
/// `Some(None)`) is a value to write.
#[derive(Debug)]
pub(crate) struct ChangeWrite<'a> {
    pub id: i64,
    pub at: i64,
    pub title: Option<&'a str>,
    pub severity: Option<&'a str>,
    pub status: Option<&'static str>,
    pub commander: Option<Option<&'a str>>,
    pub components: Vec<(&'a str, &'static str)>,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<Option<i64>>,
    pub next_update_at: Option<Option<i64>>,
    pub last_reminder_at: Option<i64>,
    pub join_alerts: Vec<AlertWrite<'a>>,
    pub alert_firing: Vec<(&'a str, bool)>,
    pub entries: Vec<EntryWrite<'a>>,
}

#[derive(Debug)]
pub(crate) struct CommitWrite<'a> {
    pub cursor: Option<i64>,
    pub open: Vec<IncidentWrite<'a>>,
    pub changes: Vec<ChangeWrite<'a>>,
}

/// What an engine's commit did.
#[derive(Debug)]
pub(crate) enum CommitOutcome {
    /// The ids of the opened incidents, in order.
    Committed(Vec<i64>),
    /// A change named this id, which no incident has; nothing written.
    UnknownIncident(i64),
}

fn components(components: &BTreeMap<String, Impact>) -> Vec<(&str, &'static str)> {
    components
        .iter()
        .map(|(component, impact)| (component.as_str(), impact.as_str()))
        .collect()
}

fn alerts(alerts: &[IncidentAlert]) -> Vec<AlertWrite<'_>> {
    alerts
        .iter()
        .map(|alert| AlertWrite {
            fingerprint: &alert.fingerprint,
            monitor: &alert.monitor,
            joined_at: millis(alert.joined_at),
            firing: alert.firing,
        })
        .collect()
}

fn entries(entries: &[NewEntry]) -> Vec<EntryWrite<'_>> {
    entries.iter().map(NewEntry::encode).collect()
}

impl NewIncident {
    pub(super) fn encode(&self) -> IncidentWrite<'_> {
        IncidentWrite {
            title: &self.title,
            severity: &self.severity,
            status: self.status.as_str(),
            commander: self.commander.as_deref(),
            opened_by_alert: self.opened_by_alert,
            started_at: millis(self.started_at),
            created_at: millis(self.created_at),
            next_update_at: self.next_update_at.map(millis),
            components: components(&self.components),
            alerts: alerts(&self.alerts),
            entries: entries(&self.entries),
        }
    }
}

impl IncidentChange {
    pub(super) fn encode(&self) -> ChangeWrite<'_> {
        ChangeWrite {
            id: self.id,
            at: millis(self.at),
            title: self.title.as_deref(),
            severity: self.severity.as_deref(),
            status: self.status.map(IncidentStatus::as_str),
            commander: self.commander.as_ref().map(Option::as_deref),
            components: components(&self.components),
            acknowledged_at: self.acknowledged_at.map(millis),
            resolved_at: self.resolved_at.map(|at| at.map(millis)),
            next_update_at: self.next_update_at.map(|at| at.map(millis)),
            last_reminder_at: self.last_reminder_at.map(millis),
            join_alerts: alerts(&self.join_alerts),
            alert_firing: self
                .alert_firing
                .iter()
                .map(|(fingerprint, firing)| (fingerprint.as_str(), *firing))
                .collect(),
            entries: entries(&self.entries),
        }
    }
}

impl IncidentCommit {
    pub(super) fn encode(&self) -> CommitWrite<'_> {
        CommitWrite {
            cursor: self.cursor,
            open: self.open.iter().map(NewIncident::encode).collect(),
            changes: self.changes.iter().map(IncidentChange::encode).collect(),
        }
    }
}
