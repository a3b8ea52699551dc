//! An incident's timeline entries: what one records (an update, a note, an
//! alert joining, …) as a caller gives it and as it is read back, and the
//! rows as the engines write and read them.

use jiff::Timestamp;
use watchkeeper_domain::incident::{EntryKind, IncidentStatus};

use super::{parse_status, unknown};
use crate::column::{millis, timestamp_from_millis};
use crate::error::StoreError;

/// One timeline entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub at: Timestamp,
    pub kind: EntryKind,
    /// Who wrote it; `None`: Watchkeeper itself.
    pub author: Option<String>,
    /// The status an update or a change announced.
    pub status: Option<IncidentStatus>,
    pub subject: Option<String>,
    pub body: String,
    /// The alert it is about.
    pub fingerprint: Option<String>,
    /// The id of the template an update was rendered from.
    pub template: Option<String>,
}

impl NewEntry {
    /// An entry of `kind` at `at`, by Watchkeeper, with an empty body and
    /// nothing else.
    pub fn new(at: Timestamp, kind: EntryKind) -> NewEntry {
        NewEntry {
            at,
            kind,
            author: None,
            status: None,
            subject: None,
            body: String::new(),
            fingerprint: None,
            template: None,
        }
    }
}

/// A stored entry of incident `incident`; ids grow in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub id: i64,
    pub incident: i64,
    pub at: Timestamp,
    pub kind: EntryKind,
    pub author: Option<String>,
    pub status: Option<IncidentStatus>,
    pub subject: Option<String>,
    pub body: String,
    pub fingerprint: Option<String>,
    pub template: Option<String>,
}

/// The columns of `incident_entries` as [`EntryRow`] reads them.
macro_rules! entry_columns {
    () => {
        "id, incident_id, at, kind, author, status, subject, body, fingerprint, template"
    };
}
pub(crate) use entry_columns;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EntryRow {
    pub id: i64,
    pub incident_id: i64,
    pub at: i64,
    pub kind: String,
    pub author: Option<String>,
    pub status: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub fingerprint: Option<String>,
    pub template: Option<String>,
}

/// An entry as the engines bind it; the incident is the one it is
/// written with.
#[derive(Debug)]
pub(crate) struct EntryWrite<'a> {
    pub at: i64,
    pub kind: &'static str,
    pub author: Option<&'a str>,
    pub status: Option<&'static str>,
    pub subject: Option<&'a str>,
    pub body: &'a str,
    pub fingerprint: Option<&'a str>,
    pub template: Option<&'a str>,
}

impl NewEntry {
    pub(super) fn encode(&self) -> EntryWrite<'_> {
        EntryWrite {
            at: millis(self.at),
            kind: self.kind.as_str(),
            author: self.author.as_deref(),
            status: self.status.map(IncidentStatus::as_str),
            subject: self.subject.as_deref(),
            body: &self.body,
            fingerprint: self.fingerprint.as_deref(),
            template: self.template.as_deref(),
        }
    }
}

impl EntryRow {
    pub(super) fn decode(self, what: &'static str) -> Result<StoredEntry, StoreError> {
        Ok(StoredEntry {
            id: self.id,
            incident: self.incident_id,
            at: timestamp_from_millis(what, self.at)?,
            kind: EntryKind::parse(&self.kind)
                .ok_or_else(|| unknown(what, "timeline entry kind", &self.kind))?,
            status: self
                .status
                .as_deref()
                .map(|status| parse_status(what, status))
                .transpose()?,
            author: self.author,
            subject: self.subject,
            body: self.body,
            fingerprint: self.fingerprint,
            template: self.template,
        })
    }
}
