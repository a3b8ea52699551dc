//! Acknowledgements: one per firing episode of an alert (the episode is
//! named by the alert's `fired_at` when it fired), how it was made, and
//! when it was taken back; the rows as the engines write and read them.

use jiff::Timestamp;

use super::optional_time;
use crate::column::timestamp_from_millis;
use crate::error::StoreError;

/// How an acknowledgement was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckVia {
    Cli,
    Api,
    /// An ack link in a notification.
    Link,
}

impl AckVia {
    pub const fn as_str(self) -> &'static str {
        match self {
            AckVia::Cli => "cli",
            AckVia::Api => "api",
            AckVia::Link => "link",
        }
    }

    fn parse(what: &'static str, text: &str) -> Result<AckVia, StoreError> {
        Ok(match text {
            "cli" => AckVia::Cli,
            "api" => AckVia::Api,
            "link" => AckVia::Link,
            _ => {
                return Err(StoreError::InvalidRow {
                    what,
                    detail: format!("unknown ack channel {text:?}"),
                });
            }
        })
    }
}

/// An acknowledgement to write: of the episode of alert `fingerprint` that
/// fired at `firing_since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAck {
    pub fingerprint: String,
    pub firing_since: Timestamp,
    pub at: Timestamp,
    pub actor: String,
    pub via: AckVia,
    pub comment: String,
}

/// A stored acknowledgement; `cleared_at` is when it was taken back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAck {
    pub id: i64,
    pub fingerprint: String,
    pub firing_since: Timestamp,
    pub at: Timestamp,
    pub actor: String,
    pub via: AckVia,
    pub comment: String,
    pub cleared_at: Option<Timestamp>,
    pub cleared_by: Option<String>,
}

/// What [`crate::Store::acknowledge`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    /// Stored, and the alert's escalation stopped.
    Acknowledged(StoredAck),
    /// That episode has a standing ack already; nothing written.
    AlreadyAcknowledged(StoredAck),
    /// The alert is not firing, or fires in another episode; nothing
    /// written.
    NotFiring,
}

/// The columns of `alert_acks` as [`AckRow`] reads them.
macro_rules! ack_columns {
    () => {
        "id, fingerprint, firing_since, acked_at, actor, via, comment, cleared_at, cleared_by"
    };
}
pub(crate) use ack_columns;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AckRow {
    pub id: i64,
    pub fingerprint: String,
    pub firing_since: i64,
    pub acked_at: i64,
    pub actor: String,
    pub via: String,
    pub comment: String,
    pub cleared_at: Option<i64>,
    pub cleared_by: Option<String>,
}

#[derive(Debug)]
pub(crate) struct AckWrite<'a> {
    pub fingerprint: &'a str,
    pub firing_since: i64,
    pub acked_at: i64,
    pub actor: &'a str,
    pub via: &'static str,
    pub comment: &'a str,
}

/// What an engine's ack transaction did.
#[derive(Debug)]
pub(crate) enum AckInsert {
    Inserted(AckRow),
    Already(AckRow),
    NotFiring,
}

impl AckRow {
    pub(super) fn decode(self, what: &'static str) -> Result<StoredAck, StoreError> {
        Ok(StoredAck {
            id: self.id,
            firing_since: timestamp_from_millis(what, self.firing_since)?,
            at: timestamp_from_millis(what, self.acked_at)?,
            via: AckVia::parse(what, &self.via)?,
            cleared_at: optional_time(what, self.cleared_at)?,
            fingerprint: self.fingerprint,
            actor: self.actor,
            comment: self.comment,
            cleared_by: self.cleared_by,
        })
    }
}
