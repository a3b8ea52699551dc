//! The incidents aggregate: incidents (`incidents`) with the components
//! they affect (`incident_components`), the alerts that joined them
//! (`incident_alerts`) and their timelines (`incident_entries`), and the
//! opener's cursor over alert events (in `meta`, `incident_cursor`). Here:
//! the incidents' records and rows, the row-level trait and the facade's
//! methods; `commit` holds what a commit writes, `entries` the timeline's
//! records; the SQL is in `sqlite/incidents.rs` and `postgres/incidents.rs`.
//!
//! Every write is one transaction: [`Store::commit_incidents`] moves the
//! cursor, opens incidents and changes others at once, so an opener that
//! crashes neither opens an incident twice nor forgets an alert event; on
//! PostgreSQL writes take an advisory lock, so entry ids grow in commit
//! order and a feed reading [`Store::entries_after`] misses none. Nothing
//! is deleted. The store decides nothing about an incident's life: what to
//! change is the caller's (`watchkeeper_domain::incident`), save that the
//! first acknowledgement is kept.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use watchkeeper_domain::incident::{Impact, IncidentStatus};

use crate::Store;
use crate::column::{millis, timestamp_from_millis};
use crate::error::StoreError;

mod commit;
mod entries;

pub(crate) use commit::{AlertWrite, ChangeWrite, CommitOutcome, CommitWrite, IncidentWrite};
pub use commit::{IncidentChange, IncidentCommit};
pub(crate) use entries::{EntryRow, EntryWrite, entry_columns};
pub use entries::{NewEntry, StoredEntry};

/// An alert of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentAlert {
    pub fingerprint: String,
    /// The alert's monitor id.
    pub monitor: String,
    pub joined_at: Timestamp,
    /// Firing now; `false` once it resolved.
    pub firing: bool,
}

/// An incident to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    pub title: String,
    pub severity: String,
    pub status: IncidentStatus,
    pub components: BTreeMap<String, Impact>,
    pub commander: Option<String>,
    /// Opened by an alert's policy rather than by a person.
    pub opened_by_alert: bool,
    pub started_at: Timestamp,
    /// Also its first `updated_at`.
    pub created_at: Timestamp,
    pub next_update_at: Option<Timestamp>,
    pub alerts: Vec<IncidentAlert>,
    /// Its first timeline entries.
    pub entries: Vec<NewEntry>,
}

/// A stored incident, with its components and alerts (its timeline is read
/// apart: [`Store::incident_entries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIncident {
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub status: IncidentStatus,
    pub components: BTreeMap<String, Impact>,
    pub commander: Option<String>,
    pub opened_by_alert: bool,
    pub started_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub next_update_at: Option<Timestamp>,
    pub last_reminder_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// By `joined_at`, then fingerprint.
    pub alerts: Vec<IncidentAlert>,
}

/// Which incidents [`Store::incidents`] reads: those that started in
/// `[since, until)` with an id below `before` (each bound only when
/// given), open ones only if asked, newest id first, at most `limit`. The
/// next page is the one `before` the last id read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentQuery {
    /// Only investigating, identified or monitoring ones.
    pub open_only: bool,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub before: Option<i64>,
    pub limit: u32,
}

impl Default for IncidentQuery {
    /// Every incident, the newest 50.
    fn default() -> IncidentQuery {
        IncidentQuery {
            open_only: false,
            since: None,
            until: None,
            before: None,
            limit: 50,
        }
    }
}

/// The columns of `incidents` as [`IncidentRow`] reads them.
macro_rules! incident_columns {
    () => {
        "id, title, severity, status, commander, opened_by_alert, started_at, acknowledged_at, \
         resolved_at, next_update_at, last_reminder_at, created_at, updated_at"
    };
}
pub(crate) use incident_columns;

/// The columns of `incident_components` as [`ComponentRow`] reads them.
macro_rules! component_columns {
    () => {
        "incident_id, component, impact"
    };
}
pub(crate) use component_columns;

/// The columns of `incident_alerts` as [`IncidentAlertRow`] reads them.
macro_rules! incident_alert_columns {
    () => {
        "incident_id, fingerprint, monitor, joined_at, firing"
    };
}
pub(crate) use incident_alert_columns;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct IncidentRow {
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub commander: Option<String>,
    pub opened_by_alert: bool,
    pub started_at: i64,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub next_update_at: Option<i64>,
    pub last_reminder_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ComponentRow {
    pub incident_id: i64,
    pub component: String,
    pub impact: String,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct IncidentAlertRow {
    pub incident_id: i64,
    pub fingerprint: String,
    pub monitor: String,
    pub joined_at: i64,
    pub firing: bool,
}

/// Incidents as an engine reads them, in the order wanted, with the
/// components and alerts of each (in any order), read in one snapshot.
#[derive(Debug, Default)]
pub(crate) struct IncidentParts {
    pub incidents: Vec<IncidentRow>,
    pub components: Vec<ComponentRow>,
    pub alerts: Vec<IncidentAlertRow>,
}

/// A query as the engines bind it.
#[derive(Debug)]
pub(crate) struct QueryWrite<'a> {
    /// The statuses wanted; `None`: any.
    pub statuses: Option<&'a [&'static str]>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub before: Option<i64>,
    pub limit: u32,
}

/// The statuses of an open incident, as stored.
fn open_statuses() -> Vec<&'static str> {
    IncidentStatus::ALL
        .into_iter()
        .filter(|status| status.is_open())
        .map(IncidentStatus::as_str)
        .collect()
}

fn unknown(what: &'static str, name: &str, text: &str) -> StoreError {
    StoreError::InvalidRow {
        what,
        detail: format!("unknown {name} {text:?}"),
    }
}

fn parse_status(what: &'static str, text: &str) -> Result<IncidentStatus, StoreError> {
    IncidentStatus::parse(text).ok_or_else(|| unknown(what, "incident status", text))
}

fn optional_time(what: &'static str, ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(|ms| timestamp_from_millis(what, ms)).transpose()
}

impl IncidentAlertRow {
    fn decode(self, what: &'static str) -> Result<IncidentAlert, StoreError> {
        Ok(IncidentAlert {
            joined_at: timestamp_from_millis(what, self.joined_at)?,
            fingerprint: self.fingerprint,
            monitor: self.monitor,
            firing: self.firing,
        })
    }
}

impl IncidentRow {
    fn decode(
        self,
        what: &'static str,
        components: BTreeMap<String, Impact>,
        alerts: Vec<IncidentAlert>,
    ) -> Result<StoredIncident, StoreError> {
        Ok(StoredIncident {
            id: self.id,
            status: parse_status(what, &self.status)?,
            started_at: timestamp_from_millis(what, self.started_at)?,
            acknowledged_at: optional_time(what, self.acknowledged_at)?,
            resolved_at: optional_time(what, self.resolved_at)?,
            next_update_at: optional_time(what, self.next_update_at)?,
            last_reminder_at: optional_time(what, self.last_reminder_at)?,
            created_at: timestamp_from_millis(what, self.created_at)?,
            updated_at: timestamp_from_millis(what, self.updated_at)?,
            title: self.title,
            severity: self.severity,
            commander: self.commander,
            opened_by_alert: self.opened_by_alert,
            components,
            alerts,
        })
    }
}

impl IncidentParts {
    /// The incidents in the order read, each with its components and its
    /// alerts by `joined_at` then fingerprint (sorted here, so the order of
    /// fingerprints is the same whatever an engine's collation).
    fn decode(self, what: &'static str) -> Result<Vec<StoredIncident>, StoreError> {
        let mut components: HashMap<i64, BTreeMap<String, Impact>> = HashMap::new();
        for row in self.components {
            let impact =
                Impact::parse(&row.impact).ok_or_else(|| unknown(what, "impact", &row.impact))?;
            components
                .entry(row.incident_id)
                .or_default()
                .insert(row.component, impact);
        }
        let mut alerts: HashMap<i64, Vec<IncidentAlert>> = HashMap::new();
        for row in self.alerts {
            let incident = row.incident_id;
            alerts.entry(incident).or_default().push(row.decode(what)?);
        }
        self.incidents
            .into_iter()
            .map(|row| {
                let mut its_alerts = alerts.remove(&row.id).unwrap_or_default();
                its_alerts.sort_by(|a, b| {
                    (a.joined_at, &a.fingerprint).cmp(&(b.joined_at, &b.fingerprint))
                });
                let its_components = components.remove(&row.id).unwrap_or_default();
                row.decode(what, its_components, its_alerts)
            })
            .collect()
    }
}

/// What every backend does for incidents, in SQL only.
pub(crate) trait IncidentRows {
    async fn incident_cursor(&self) -> Result<Option<i64>, sqlx::Error>;

    /// In one transaction (on PostgreSQL under
    /// `AdvisoryLock::Incidents`): the cursor when given, each incident
    /// inserted with its components, alerts and entries, each change
    /// applied; rolled back, and the unknown id named, when a change names
    /// no incident.
    async fn commit_incidents(&self, write: &CommitWrite<'_>)
    -> Result<CommitOutcome, sqlx::Error>;

    /// One change in its own transaction (the same lock), and the incident
    /// read back in it; `None` (nothing written) when no incident has the
    /// id.
    async fn change_incident(
        &self,
        change: &ChangeWrite<'_>,
    ) -> Result<Option<IncidentParts>, sqlx::Error>;

    /// Incidents as [`IncidentQuery`] says, newest id first.
    async fn incidents(&self, query: &QueryWrite<'_>) -> Result<IncidentParts, sqlx::Error>;

    /// The incident with this id, if any.
    async fn incident(&self, id: i64) -> Result<IncidentParts, sqlx::Error>;

    /// The newest incident (by id) holding the alert whose status is one
    /// of `statuses`, if any.
    async fn incident_of_alert(
        &self,
        fingerprint: &str,
        statuses: &[&'static str],
    ) -> Result<IncidentParts, sqlx::Error>;

    /// One incident's entries, by `at` then id.
    async fn incident_entries(&self, id: i64) -> Result<Vec<EntryRow>, sqlx::Error>;

    /// Up to `limit` entries with an id above `after`, by id.
    async fn entries_after(&self, after: i64, limit: u32) -> Result<Vec<EntryRow>, sqlx::Error>;
}

fn write_error(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Incidents { what, source }
}

fn read_error(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Read { what, source }
}

/// The one incident of `parts`, if any.
fn single(parts: IncidentParts, what: &'static str) -> Result<Option<StoredIncident>, StoreError> {
    Ok(parts.decode(what)?.into_iter().next())
}

impl Store {
    /// The id of the last alert event the incident opener accounted for
    /// (0: none yet).
    pub async fn incident_cursor(&self) -> Result<i64, StoreError> {
        backend!(self, engine => engine.incident_cursor().await)
            .map(|cursor| cursor.unwrap_or(0))
            .map_err(read_error("the incident cursor"))
    }

    /// Opens one incident (its components, alerts and first entries with
    /// it); its id.
    pub async fn open_incident(&self, incident: &NewIncident) -> Result<i64, StoreError> {
        let write = CommitWrite {
            cursor: None,
            open: vec![incident.encode()],
            changes: Vec::new(),
        };
        let ids = self.write_incidents(&write).await?;
        ids.into_iter()
            .next()
            .ok_or_else(|| StoreError::InvalidRow {
                what: "an opened incident",
                detail: "the commit returned no id".to_owned(),
            })
    }

    /// One transaction: the cursor (when `Some`), every incident to open,
    /// every change; the new incidents' ids, in order. A change naming an
    /// unknown id fails the whole commit with
    /// [`StoreError::UnknownIncident`]: nothing is written, the cursor
    /// stays where it was.
    pub async fn commit_incidents(&self, commit: &IncidentCommit) -> Result<Vec<i64>, StoreError> {
        self.write_incidents(&commit.encode()).await
    }

    async fn write_incidents(&self, write: &CommitWrite<'_>) -> Result<Vec<i64>, StoreError> {
        let outcome = backend!(self, engine => engine.commit_incidents(write).await)
            .map_err(write_error("incidents"))?;
        match outcome {
            CommitOutcome::Committed(ids) => Ok(ids),
            CommitOutcome::UnknownIncident(id) => Err(StoreError::UnknownIncident { id }),
        }
    }

    /// One change in its own transaction; the incident after it, `None`
    /// (nothing written) when no incident has the id.
    pub async fn change_incident(
        &self,
        change: &IncidentChange,
    ) -> Result<Option<StoredIncident>, StoreError> {
        const WHAT: &str = "a change to an incident";
        let write = change.encode();
        let parts = backend!(self, engine => engine.change_incident(&write).await)
            .map_err(write_error(WHAT))?;
        match parts {
            Some(parts) => single(parts, WHAT),
            None => Ok(None),
        }
    }

    /// Incidents as `query` says, newest id first.
    pub async fn incidents(
        &self,
        query: &IncidentQuery,
    ) -> Result<Vec<StoredIncident>, StoreError> {
        const WHAT: &str = "incidents";
        let open = open_statuses();
        let write = QueryWrite {
            statuses: query.open_only.then_some(open.as_slice()),
            since: query.since.map(millis),
            until: query.until.map(millis),
            before: query.before,
            limit: query.limit,
        };
        let parts =
            backend!(self, engine => engine.incidents(&write).await).map_err(read_error(WHAT))?;
        parts.decode(WHAT)
    }

    pub async fn incident(&self, id: i64) -> Result<Option<StoredIncident>, StoreError> {
        const WHAT: &str = "an incident";
        let parts =
            backend!(self, engine => engine.incident(id).await).map_err(read_error(WHAT))?;
        single(parts, WHAT)
    }

    /// The newest open (investigating, identified or monitoring) incident
    /// holding this alert.
    pub async fn incident_of_alert(
        &self,
        fingerprint: &str,
    ) -> Result<Option<StoredIncident>, StoreError> {
        const WHAT: &str = "the incident of an alert";
        let open = open_statuses();
        let parts = backend!(self, engine => engine.incident_of_alert(fingerprint, &open).await)
            .map_err(read_error(WHAT))?;
        single(parts, WHAT)
    }

    /// An incident's timeline, by `at` then id (empty for an unknown id).
    pub async fn incident_entries(&self, id: i64) -> Result<Vec<StoredEntry>, StoreError> {
        const WHAT: &str = "an incident's timeline";
        let rows = backend!(self, engine => engine.incident_entries(id).await)
            .map_err(read_error(WHAT))?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// Up to `limit` entries of any incident with an id above `after`, by
    /// id (for feeds and subscriptions: ids grow in commit order).
    pub async fn entries_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        const WHAT: &str = "timeline entries";
        let rows = backend!(self, engine => engine.entries_after(after, limit).await)
            .map_err(read_error(WHAT))?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_statuses_are_investigating_identified_and_monitoring() {
        assert_eq!(
            open_statuses(),
            ["investigating", "identified", "monitoring"]
        );
    }
}
